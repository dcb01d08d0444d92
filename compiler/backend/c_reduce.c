/*
 * c_reduce.c - C for reductions (sum, mean, per axis), softmax and
 * log-softmax and their gradients, cross-entropy, logsumexp, picks.
 */
#include "backend.h"

/* The label of row r in the int value y (an int scalar is a plain
 * variable, not an array). */
char *label_c(const Node *y)
{
    return ir_is_int_scalar(y) ? xsprintf("(int64_t)%s", vname(y)) : xsprintf("(int64_t)%s[r]", vname(y));
}

/* for each row r of a label op: y = its int label (b[r], or b when b is a
 * scalar), checked against [0, len), then `body` (which reads r and y;
 * NULL: the check alone) */
void emit_label_rows(Ctx *x, const Node *n, const char *rows, const Node *b, const char *len,
                            const char *body)
{
    cline(x, "for (int64_t r = 0; r < %s; r++) {", rows);
    x->indent++;
    cline(x, "const int64_t y = %s;", label_c(b));
    emit_index_check(x, n, "y", len);
    if (body)
        cline(x, "%s", body);
    x->indent--;
    cline(x, "}");
}

/* The reductions, softmax and losses ops (c_target.c's switch sends them here). */

/* The C extents of a's rows along its last axis: *len elements per row,
 * *rows rows (every other axis); a scalar is one row of one. */
void last_axis_rows(Ctx *x, const Node *a, char **len, char **rows)
{
    *len = a->shape.rank ? size_c(x, a->shape.d[a->shape.rank - 1]) : xstrdup("1");
    Shape lead = a->shape;
    lead.rank = a->shape.rank ? a->shape.rank - 1 : 0;
    *rows = count_c(x, &lead, 0);
}

void c_emit_reduce(Ctx *x, Node *n, const char *v)
{
    Graph *g = x->g;
    const Node *a = n->nin > 0 ? n->in[0] : NULL, *b = n->nin > 1 ? n->in[1] : NULL;
    const char *va = a ? vname(a) : NULL, *vb = b ? vname(b) : NULL;
    (void)g, (void)va, (void)vb;
    switch (n->op) {
    case OP_SUM:
    case OP_MEAN: {
        /* double accumulator: float sums of long vectors drift */
        char *cnt = count_c(x, &a->shape, 0);
        cline(x, "{");
        x->indent++;
        cline(x, "double acc = 0.0;");
        cline(x, "for (int64_t i = 0; i < %s; i++)", cnt);
        cline(x, "    acc += (double)%s[i];", va);
        if (n->op == OP_SUM)
            cline(x, "%s[0] = (float)acc;", v);
        else
            cline(x, "%s[0] = (float)(acc / (double)%s);", v, cnt);
        x->indent--;
        cline(x, "}");
        break;
    }
    case OP_SUMAXIS:
    case OP_MEANAXIS: {
        int k = n->index;
        NN_ASSERT(k >= 0 && k < a->shape.rank);
        Shape outer = a->shape;
        outer.rank = k;
        char *no = count_c(x, &outer, 0), *len = size_c(x, a->shape.d[k]), *ni = count_c(x, &a->shape, k + 1);
        Shape inner = a->shape;
        memmove(&inner.d[0], &inner.d[k + 1], sizeof(Size) * (size_t)(a->shape.rank - k - 1));
        inner.rank = a->shape.rank - k - 1;
        int64_t inner_count;
        if (count_hi(x->g, &inner, &inner_count) && inner_count == 1 && shape_max_count(x->g, &inner) == 1) {
            /* a reduction along the last axis: one double accumulator per row */
            cline(x, "for (int64_t o = 0; o < %s; o++) {", no);
            cline(x, "    double acc = 0.0;");
            cline(x, "    for (int64_t l = 0; l < %s; l++)", len);
            cline(x, "        acc += (double)%s[o * %s + l];", va, len);
            if (n->op == OP_SUMAXIS)
                cline(x, "    %s[o] = (float)acc;", v);
            else
                cline(x, "    %s[o] = (float)(acc / (double)%s);", v, len);
            cline(x, "}");
            break;
        }
        /* rows added into the output row, which vectorizes over j (the
         * same float additions, in the same order, as a loop over l of
         * row adds would do) */
        cline(x, "for (int64_t o = 0; o < %s; o++) {", no);
        x->indent++;
        cline(x, "float *dst = %s + o * %s;", v, ni);
        cline(x, "for (int64_t j = 0; j < %s; j++)", ni);
        cline(x, "    dst[j] = 0.0f;");
        cline(x, "for (int64_t l = 0; l < %s; l++) {", len);
        x->indent++;
        cline(x, "const float *src = %s + (o * %s + l) * %s;", va, len, ni);
        cline(x, "for (int64_t j = 0; j < %s; j++)", ni);
        cline(x, "    dst[j] += src[j];");
        x->indent--;
        cline(x, "}");
        if (n->op == OP_MEANAXIS) {
            cline(x, "for (int64_t j = 0; j < %s; j++)", ni);
            cline(x, "    dst[j] = (float)((double)dst[j] / (double)%s);", len);
        }
        x->indent--;
        cline(x, "}");
        break;
    }
    case OP_SOFTMAX:
    case OP_LOGSOFTMAX: {
        char *len, *rows;
        last_axis_rows(x, a, &len, &rows);
        cline(x, "for (int64_t r = 0; r < %s; r++)", rows);
        cline(x, "    %s(%s + r * %s, %s + r * %s, %s);", n->op == OP_SOFTMAX ? "nnrt_softmax" : "nnrt_log_softmax",
              va, len, v, len, len);
        break;
    }
    case OP_XENT: {
        /* -log softmax(z)[y] = logsumexp(z) - z[y], one row per label */
        NN_ASSERT(a->shape.rank >= 1 && b->dtype == DT_I32);
        char *len = size_c(x, a->shape.d[a->shape.rank - 1]);
        emit_label_rows(x, n, count_c(x, &n->shape, 0), b, len,
                        xsprintf("%s[r] = nn_lse(%s + r * %s, %s) - %s[r * %s + y];", v, va, len, len, va, len));
        break;
    }
    case OP_LINEARLSE: {
        /* nnrt_linear_lse: a block of columns of X W^T at a time, running max and sum per row */
        const Node *X = a, *W = b;
        cline(x, "nnrt_linear_lse(%s, %s, %s, %s, %s, %s, %s, %s, %s);", size_c(x, X->shape.d[0]),
              size_c(x, W->shape.d[0]), size_c(x, X->shape.d[1]), va, ld_c(x, X->shape.d[1]), vb,
              ld_c(x, W->shape.d[1]), n->nin == 3 ? vname(n->in[2]) : "NULL", v);
        break;
    }
    case OP_LINEARPICK: {
        /* the logit z[r, y] = X[r] . W[y] (+ b[y]) */
        char *k = size_c(x, a->shape.d[1]);
        emit_label_rows(x, n, count_c(x, &n->shape, 0), n->in[2], size_c(x, b->shape.d[0]),
                        xsprintf("%s[r] = nnrt_dot(%s, %s + r * %s, %s + y * %s)%s;", v, k, va, k, vb, k,
                                 n->nin == 4 ? xsprintf(" + %s[y]", vname(n->in[3])) : ""));
        break;
    }
    case OP_LOGSUMEXP: {
        char *len = size_c(x, a->shape.d[a->shape.rank - 1]);
        cline(x, "for (int64_t r = 0; r < %s; r++)", count_c(x, &n->shape, 0));
        /* inline (nnrt_abi.h) rather than a call: it vectorizes for the CPU the model is compiled for */
        cline(x, "    %s[r] = nn_lse(%s + r * %s, %s);", v, va, len, len);
        break;
    }
    case OP_PICK: {
        char *len = size_c(x, a->shape.d[a->shape.rank - 1]);
        emit_label_rows(x, n, count_c(x, &n->shape, 0), b, len, xsprintf("%s[r] = %s[r * %s + y];", v, va, len));
        break;
    }
    case OP_BXENT:
        /* stable form of -t log s(z) - (1-t) log(1-s(z)) */
        cline(x, "{");
        x->indent++;
        cline(x, "double acc = 0.0;");
        cline(x, "for (int64_t i = 0; i < %s; i++) {", count_c(x, &a->shape, 0));
        cline(x, "    const double z = (double)%s[i], t = (double)%s[i];", va, vb);
        cline(x, "    acc += (z > 0.0 ? z : 0.0) - z * t + log1p(exp(-fabs(z)));");
        cline(x, "}");
        cline(x, "%s[0] = (float)acc;", v);
        x->indent--;
        cline(x, "}");
        break;
    case OP_SOFTMAXGRAD:
    case OP_LOGSOFTMAXGRAD: {
        /* per row of the last axis; a = the softmax output y, b = d */
        char *len, *rows;
        last_axis_rows(x, a, &len, &rows);
        cline(x, "for (int64_t r = 0; r < %s; r++) {", rows);
        x->indent++;
        cline(x, "const float *y = %s + r * %s, *d = %s + r * %s;", va, len, vb, len);
        cline(x, "float *o = %s + r * %s;", v, len);
        cline(x, "double acc = 0.0;");
        cline(x, "for (int64_t j = 0; j < %s; j++)", len);
        if (n->op == OP_SOFTMAXGRAD) {
            cline(x, "    acc += (double)d[j] * (double)y[j];");
            cline(x, "for (int64_t j = 0; j < %s; j++)", len);
            cline(x, "    o[j] = y[j] * (d[j] - (float)acc);");
        } else {
            cline(x, "    acc += (double)d[j];");
            cline(x, "for (int64_t j = 0; j < %s; j++)", len);
            cline(x, "    o[j] = d[j] - expf(y[j]) * (float)acc;");
        }
        x->indent--;
        cline(x, "}");
        break;
    }
    default:
        NN_ASSERT(!"not a reduce op");
    }
}
