/*
 * c_elem.c - C for elementwise ops (broadcasting), fused elementwise
 * chains, broadcast, expand, sum_to, const and fill.
 */
#include "backend.h"

/* The expression of an elementwise op on a and b; device: CUDA's float
 * functions (cu_kernels.c) instead of nnrt_abi.h's inline ones. */
char *elem_code(Op op, const char *a, const char *b, bool device)
{
    if (device && (op == OP_TANH || op == OP_EXP))
        return xsprintf("%s(%s)", op == OP_TANH ? "tanhf" : "expf", a);
    if (device && op == OP_SIGMOID)
        return xsprintf("1.0f / (1.0f + expf(-%s))", a);
    if (device && op == OP_LOGSIGMOID)
        return xsprintf("(fminf(%s, 0.0f) - log1pf(expf(-fabsf(%s))))", a, a);
    switch (op) {
    case OP_ADD: return xsprintf("%s + %s", a, b);
    case OP_SUB: return xsprintf("%s - %s", a, b);
    case OP_MUL: return xsprintf("%s * %s", a, b);
    case OP_DIV: return xsprintf("%s / %s", a, b);
    case OP_NEG: return xsprintf("-%s", a);
    case OP_TANH: return xsprintf("nnrt_tanhf(%s)", a); /* nnrt_abi.h: vectorizes, unlike libm */
    case OP_RELU: return xsprintf("%s > 0.0f ? %s : 0.0f", a, a);
    case OP_SIGMOID: return xsprintf("nnrt_sigmoidf(%s)", a);
    case OP_EXP: return xsprintf("nnrt_expf(%s)", a); /* nnrt_abi.h: vectorizes */
    case OP_LOG: return xsprintf("logf(%s)", a);
    case OP_SQRT: return xsprintf("sqrtf(%s)", a);
    case OP_ABS: return xsprintf("fabsf(%s)", a);
    case OP_LOGSIGMOID: return xsprintf("nnrt_log_sigmoidf(%s)", a);
    case OP_SIGN: return xsprintf("(float)((%s > 0.0f) - (%s < 0.0f))", a, a);
    case OP_STEP: return xsprintf("%s > 0.0f ? 1.0f : 0.0f", a);
    default: NN_ASSERT(!"not an elementwise op"); return NULL;
    }
}

static char *elem_expr(Op op, const char *a, const char *b) { return elem_code(op, a, b, false); }

/* The index into operand a (broadcast to out): axes a lacks, or has as a
 * 1 against a larger axis, have stride 0. flat: of the element at flat
 * position i of out (axis k's counter is (i / stride) % extent: a CUDA
 * kernel's grid loop); else for the loop counters i0, i1, ... */
char *bcast_expr(Ctx *x, const Shape *a, const Shape *out, bool flat)
{
    char *e = NULL;
    int skip = out->rank - a->rank;
    for (int k = skip; k < out->rank; k++) {
        int ka = k - skip;
        if (size_is_one(a->d[ka]) && !size_eq(a->d[ka], out->d[k]))
            continue;
        char *stride = count_c(x, a, ka + 1);
        char *ik = flat ? xsprintf("((i / (%s)) %% (%s))", count_c(x, out, k + 1), size_c(x, out->d[k]))
                        : xsprintf("i%d", k);
        char *t = strcmp(stride, "1") == 0 ? ik : xsprintf("%s * %s", ik, stride);
        e = e ? xsprintf("%s + %s", e, t) : t;
    }
    return e ? e : xstrdup("0");
}

static char *bcast_index(Ctx *x, const Shape *a, const Shape *out) { return bcast_expr(x, a, out, false); }

static void emit_elementwise(Ctx *x, const Node *n, const char *out)
{
    const Shape *s = &n->shape;
    char *cnt = count_c(x, s, 0);
    const char *a = vname(n->in[0]);
    if (n->nin == 1) {
        cline(x, "for (int64_t i = 0; i < %s; i++)", cnt);
        cline(x, "    %s[i] = %s;", out, elem_expr(n->op, xsprintf("%s[i]", a), NULL));
        return;
    }
    const Node *na = n->in[0], *nb = n->in[1];
    const char *b = vname(nb);
    bool a_full = shape_eq(&na->shape, s), b_full = shape_eq(&nb->shape, s);
    const char *ia = NULL, *ib = NULL;
    if (a_full && b_full)
        ia = ib = "i";
    else if (a_full && nb->shape.rank == 0)
        ia = "i", ib = "0";
    else if (b_full && na->shape.rank == 0)
        ia = "0", ib = "i";
    if (ia) {
        /* fast path: same shapes, or one side a scalar */
        cline(x, "for (int64_t i = 0; i < %s; i++)", cnt);
        cline(x, "    %s[i] = %s;", out,
              elem_expr(n->op, xsprintf("%s[%s]", a, ia), xsprintf("%s[%s]", b, ib)));
        return;
    }
    /* NumPy broadcasting: one loop per axis of the result, operand offsets
     * from per-axis strides (0 along broadcast axes). */
    cline(x, "{");
    x->indent++;
    cline(x, "int64_t o = 0;");
    for (int k = 0; k < s->rank; k++)
        cline(x, "%*sfor (int64_t i%d = 0; i%d < %s; i%d++)", 4 * k, "", k, k, size_c(x, s->d[k]), k);
    cline(x, "%*s%s[o++] = %s;", 4 * s->rank, "", out,
          elem_expr(n->op, xsprintf("%s[%s]", a, bcast_index(x, &na->shape, s)),
                    xsprintf("%s[%s]", b, bcast_index(x, &nb->shape, s))));
    x->indent--;
    cline(x, "}");
}

/* How element i of the result reads operand x of the same, scalar or
 * trailing shape (checked by the fuse pass): x[i], x[0] or x[i % n]. */
char *suffix_index(Ctx *x, const Node *op, const Node *res)
{
    if (shape_eq(&op->shape, &res->shape))
        return xstrdup("i");
    if (op->shape.rank == 0)
        return xstrdup("0");
    return xsprintf("i %% %s", count_c(x, &op->shape, 0));
}

/* The sum_to of fused node n over all of n's leading axes (a bias's
 * gradient, e.g. dbo = sum_to of the softmax gradient [T, B, V]) that
 * n's loop adds up while each row is in registers: then it saves the
 * sum_to's pass over n, a whole extra read of it. Only a sum_to in the
 * same block whose result is a param's gradient (m->grads, which no
 * other node writes or reads before it: written early, it clobbers
 * nothing in the arena's shared regions); NULL when none. The terms are
 * added in the sum_to's own order (row by row), so the sum is the same
 * bit for bit. */
static const Node *fused_sumto(Ctx *x, const Node *n)
{
    if (n->op != OP_FUSED || n->dtype != DT_F32 || n->shape.rank < 2 || !n->parent)
        return NULL;
    if (x->sumto_of != x->all || x->sumto_n != x->nall) {
        /* every fused node's first such sum_to in its block, in one walk
         * (a search of the block per fused node was quadratic) */
        x->sumto = (NodeIndex){0};
        x->sumto_of = x->all;
        x->sumto_n = x->nall;
        for (int i = 0; i < x->nall; i++) {
            const Node *s = x->all[i], *f = s->nin > 0 ? s->in[0] : NULL;
            if (s->op == OP_SUMTO && f->parent == s->parent && s->aux && info(s)->grad_of >= 0 &&
                s->shape.rank == 1 && f->shape.rank >= 1 && size_eq(s->shape.d[0], f->shape.d[f->shape.rank - 1]) &&
                node_index_get(&x->sumto, f) < 0)
                node_index_put(&x->sumto, f, i);
        }
    }
    int i = node_index_get(&x->sumto, n);
    return i >= 0 && x->target == &target_c ? x->all[i] : NULL;
}

/* Is body node b of fused node n an ARG read once per row: a row ARG (a
 * row op's operand), or a column (the fuse pass's [..., 1] operands)? */
static bool arg_per_row(const Node *n, const Node *b)
{
    return b->op == OP_ARG && (b->ta || ir_column_of(&n->in[b->index]->shape, &n->shape));
}

/* An elementwise chain (fuse pass) as one loop: each body node is a scalar
 * local of the iteration, no intermediate buffers. With row ops (expand
 * along the last axis, pick_grad) the loop is a nest over rows r and
 * columns j (i = r * cols + j), and row ARGs are read at r; pick_grad's
 * labels are checked before the loop. With a sum_to folded in
 * (fused_sumto), also a nest over rows, adding each row into the sum. */
static void emit_fused(Ctx *x, const Node *n, const char *out)
{
    const Block *fb = n->fused;
    const Node *st = fused_sumto(x, n);
    bool rows = st != NULL;
    for (int k = 0; k < fb->n; k++)
        rows = rows || arg_per_row(n, fb->nodes[k]);
    char *cols = NULL, *nrows = NULL;
    if (rows) {
        Shape rs = n->shape;
        rs.rank--;
        nrows = count_c(x, &rs, 0);
        cols = size_c(x, n->shape.d[n->shape.rank - 1]);
        for (int k = 0; k < fb->n; k++)
            if (fb->nodes[k]->op == OP_PICKGRAD)
                emit_label_rows(x, fb->nodes[k], nrows, n->in[fb->nodes[k]->in[1]->index], cols, NULL);
        if (st) /* the sum_to's result, m->grads + its offset (declared where it is emitted) */
            cline(x, "float *const st%d = m->grads + %" PRId64 "; /* %%%d, summed here */", st->id,
                  x->param_off[info(st)->grad_of], st->id);
        if (st)
            cline(x, "memset(st%d, 0, (size_t)%s * sizeof(float));", st->id, cols);
        cline(x, "for (int64_t r = 0; r < %s; r++) {", nrows);
        x->indent++;
        /* the row ops' operands, read once per row into locals (so that
         * the column loop has no loads that might alias its store, and
         * vectorizes) */
        for (int k = 0; k < fb->n; k++) {
            const Node *b = fb->nodes[k];
            if (b->op == OP_EXPAND)
                cline(x, "const float f%d = %s[r]; /* expand */", b->id, vname(n->in[b->in[0]->index]));
            else if (arg_per_row(n, b) && !b->ta) /* (a row ARG: read by its row op, above) */
                cline(x, "const float f%d = %s[r]; /* arg, one per row */", b->id, vname(n->in[b->index]));
            else if (b->op == OP_PICKGRAD)
                cline(x, "const int64_t y%d = %s; const float d%d = %s[r];", b->id,
                      label_c(n->in[b->in[1]->index]), b->id, vname(n->in[b->in[0]->index]));
        }
        cline(x, "for (int64_t j = 0; j < %s; j++) {", cols);
        x->indent++;
        cline(x, "const int64_t i = r * %s + j;", cols);
    } else {
        cline(x, "for (int64_t i = 0; i < %s; i++) {", count_c(x, &n->shape, 0));
        x->indent++;
    }
    for (int k = 0; k < fb->n; k++) {
        const Node *b = fb->nodes[k];
        char *e;
        if (arg_per_row(n, b) || b->op == OP_EXPAND) {
            continue; /* read per row, before the column loop */
        } else if (b->op == OP_ARG) {
            const Node *op = n->in[b->index];
            e = xsprintf("%s[%s]", vname(op), suffix_index(x, op, n));
        } else if (b->op == OP_PICKGRAD) {
            e = xsprintf("j == y%d ? d%d : 0.0f", b->id, b->id);
        } else {
            e = elem_expr(b->op, xsprintf("f%d", b->in[0]->id), b->nin > 1 ? xsprintf("f%d", b->in[1]->id) : NULL);
        }
        cline(x, "const float f%d = %s; /* %s */", b->id, e, op_name[b->op]);
    }
    cline(x, "%s[i] = f%d;", out, fb->nodes[fb->n - 1]->id);
    if (st)
        cline(x, "st%d[j] += f%d;", st->id, fb->nodes[fb->n - 1]->id);
    if (rows) {
        x->indent--;
        cline(x, "}");
    }
    x->indent--;
    cline(x, "}");
}

/* A loop nest over shape out whose body writes out[o++] = EXPR, where
 * EXPR reads operand a broadcast (bcast_index) to out. */
static void emit_bcast_copy(Ctx *x, const Node *a, const Shape *out, const char *v)
{
    cline(x, "{");
    x->indent++;
    cline(x, "int64_t o = 0;");
    for (int k = 0; k < out->rank; k++)
        cline(x, "%*sfor (int64_t i%d = 0; i%d < %s; i%d++)", 4 * k, "", k, k, size_c(x, out->d[k]), k);
    cline(x, "%*s%s[o++] = %s[%s];", 4 * out->rank, "", v, vname(a), bcast_index(x, &a->shape, out));
    x->indent--;
    cline(x, "}");
}

/* The elementwise, fused, broadcast and fill ops (c_target.c's switch sends them here). */
/* mul_sum (select.c): sum over one axis of a * b, broadcasting, without
 * storing the product. Over the last axis, a dot per result element in
 * sixteen float lanes (which vectorize; their order is fixed); over another
 * axis, the products added into the zeroed result along its rows. */
static void emit_mul_sum(Ctx *x, const Node *n, const char *out)
{
    const Node *a = n->in[0], *b = n->in[1];
    Shape s = {.rank = a->shape.rank > b->shape.rank ? a->shape.rank : b->shape.rank}, o1;
    for (int k = 1; k <= s.rank; k++) { /* the product's shape */
        const Shape *p = k <= a->shape.rank && !size_is_one(a->shape.d[a->shape.rank - k]) ? &a->shape : &b->shape;
        s.d[s.rank - k] = k <= p->rank ? p->d[p->rank - k] : size_const(1);
    }
    const int axis = n->index, last = s.rank - 1, loops = axis == last ? last : s.rank;
    o1 = s;
    o1.d[axis] = size_const(1); /* the result, as a shape the product broadcasts over */
    const char *va = vname(a), *vb = vname(b);
    char *ia = bcast_index(x, &a->shape, &s), *ib = bcast_index(x, &b->shape, &s), *io = bcast_index(x, &o1, &s);
    if (axis == last) { /* the result is stored after the loop over the last axis, whose counter is then past
                         * its end: its index leaves that axis out (of size 1, bcast_index would count it) */
        Shape ol = o1, sl = s;
        ol.rank--;
        sl.rank--;
        io = bcast_index(x, &ol, &sl);
    }
    cline(x, "{");
    x->indent++;
    if (axis != last)
        cline(x, "memset(%s, 0, (size_t)%s * sizeof(float));", out, count_c(x, &n->shape, 0));
    for (int k = 0; k < loops; k++)
        cline(x, "%*sfor (int64_t i%d = 0; i%d < %s; i%d++)%s", 4 * k, "", k, k, size_c(x, s.d[k]), k,
              axis == last && k == loops - 1 ? " {" : "");
    const int d = 4 * loops;
    if (axis != last) {
        cline(x, "%*s%s[%s] += %s[%s] * %s[%s];", d, "", out, io, va, ia, vb, ib);
    } else {
        /* operands along the summed axis: stride 1, or 0 where broadcast */
        bool fa = a->shape.rank && size_eq(a->shape.d[a->shape.rank - 1], s.d[last]);
        bool fb = b->shape.rank && size_eq(b->shape.d[b->shape.rank - 1], s.d[last]);
        char *len = size_c(x, s.d[last]);
        const int e = loops ? d : 4; /* the body's indent; its braces one level out */
        if (!loops)
            cline(x, "{");
        cline(x, "%*sfloat acc[16] = {0}, t;", e, "");
        cline(x, "%*sint64_t i%d = 0;", e, "", last);
        cline(x, "%*sfor (; i%d + 16 <= %s; i%d += 16)", e, "", last, len, last);
        cline(x, "%*s    for (int u = 0; u < 16; u++)", e, "");
        cline(x, "%*s        acc[u] += %s[%s%s] * %s[%s%s];", e, "", va, ia, fa ? " + u" : "", vb, ib,
              fb ? " + u" : "");
        cline(x, "%*st = (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))) +", e, "");
        cline(x, "%*s    (((acc[8] + acc[9]) + (acc[10] + acc[11])) + ((acc[12] + acc[13]) + (acc[14] + acc[15])));", e, "");
        cline(x, "%*sfor (; i%d < %s; i%d++)", e, "", last, len, last);
        cline(x, "%*s    t += %s[%s] * %s[%s];", e, "", va, ia, vb, ib);
        cline(x, "%*s%s[%s] = t;", e, "", out, io);
        cline(x, "%*s}", e - 4, "");
    }
    x->indent--;
    cline(x, "}");
}

void c_emit_elem(Ctx *x, Node *n, const char *v)
{
    Graph *g = x->g;
    const Node *a = n->nin > 0 ? n->in[0] : NULL, *b = n->nin > 1 ? n->in[1] : NULL;
    const char *va = a ? vname(a) : NULL, *vb = b ? vname(b) : NULL;
    (void)g, (void)va, (void)vb;
    switch (n->op) {
    case OP_CONST:
        cline(x, "%s[0] = %s;", v, float_lit(n->f));
        break;
    case OP_MULSUM:
        emit_mul_sum(x, n, v);
        break;
    case OP_FILL:
        cline(x, "for (int64_t i = 0; i < %s; i++)", count_c(x, &n->shape, 0));
        cline(x, "    %s[i] = %s;", v, float_lit(n->f));
        break;
    case OP_BROADCAST:
        NN_ASSERT(broadcasts_to(&a->shape, &n->shape));
        emit_bcast_copy(x, a, &n->shape, v);
        break;
    case OP_EXPAND: {
        /* out[o, l, j] = a[o, j]: axis k of the result is the new one */
        int k = n->index;
        NN_ASSERT(k >= 0 && k < n->shape.rank);
        Shape outer = n->shape;
        outer.rank = k;
        char *no = count_c(x, &outer, 0), *len = size_c(x, n->shape.d[k]), *ni = count_c(x, &n->shape, k + 1);
        cline(x, "for (int64_t o = 0; o < %s; o++)", no);
        cline(x, "    for (int64_t l = 0; l < %s; l++)", len);
        cline(x, "        for (int64_t j = 0; j < %s; j++)", ni);
        cline(x, "            %s[(o * %s + l) * %s + j] = %s[o * %s + j];", v, len, ni, va, ni);
        break;
    }
    case OP_SUMTO: {
        /* the result broadcasts to a: add each element of a into the
         * element of the result it was broadcast from */
        NN_ASSERT(broadcasts_to(&n->shape, &a->shape));
        if (fused_sumto(x, a) == n) {
            cline(x, "/* added up by %%%d's loop */", a->id);
            break;
        }
        const Shape *s = &a->shape;
        cline(x, "memset(%s, 0, (size_t)%s * sizeof(float));", v, count_c(x, &n->shape, 0));
        cline(x, "{");
        x->indent++;
        cline(x, "int64_t o = 0;");
        for (int k = 0; k < s->rank; k++)
            cline(x, "%*sfor (int64_t i%d = 0; i%d < %s; i%d++)", 4 * k, "", k, k, size_c(x, s->d[k]), k);
        cline(x, "%*s%s[%s] += %s[o++];", 4 * s->rank, "", v, bcast_index(x, &n->shape, s), va);
        x->indent--;
        cline(x, "}");
        break;
    }
    case OP_FUSED:
        emit_fused(x, n, v);
        break;
    default:
        NN_ASSERT(op_flags[n->op] & OPF_ELEMWISE);
        emit_elementwise(x, n, v);
    }
}
