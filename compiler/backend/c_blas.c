/*
 * c_blas.c - C for matrix products (nnrt_gemv/nnrt_gemm, with a fused
 * addend), transpose, dot and outer.
 */
#include "backend.h"

/* The third operand c of a matrix product (fuse pass): out = c, broadcast,
 * before the BLAS call accumulates into it. */
static void emit_addend(Ctx *x, const Node *n, const char *out)
{
    if (n->nin != 3 || info(n)->in_addend) /* (in place: out is the addend's memory) */
        return;
    const Node *c = n->in[2];
    if (c->shape.rank == 0 || shape_eq(&c->shape, &n->shape)) {
        cline(x, "for (int64_t i = 0; i < %s; i++)", count_c(x, &n->shape, 0));
        cline(x, "    %s[i] = %s[%s];", out, vname(c), suffix_index(x, c, n));
        return;
    }
    /* a bias row (a trailing part of the output): one copy per row, no
     * division per element */
    char *cc = count_c(x, &c->shape, 0);
    cline(x, "for (int64_t r = 0; (%s) > 0 && r < (%s) / (%s); r++)", cc, count_c(x, &n->shape, 0), cc);
    cline(x, "    memcpy(%s + r * (%s), %s, (size_t)(%s) * sizeof(float));", out, cc, vname(c), cc);
}

/* The matrix products (BLAS) ops (c_target.c's switch sends them here). */
void c_emit_blas(Ctx *x, Node *n, const char *v)
{
    Graph *g = x->g;
    const Node *a = n->nin > 0 ? n->in[0] : NULL, *b = n->nin > 1 ? n->in[1] : NULL;
    const char *va = a ? vname(a) : NULL, *vb = b ? vname(b) : NULL;
    (void)g, (void)va, (void)vb;
    switch (n->op) {
    case OP_MATVEC:
        /* a is stored [rows, cols]; with ta it is used transposed. A third
         * operand (fuse pass) is added: the output starts as it and the
         * product accumulates (beta = 1). */
        NN_ASSERT(a->shape.rank == 2);
        emit_addend(x, n, v);
        cline(x, "nnrt_gemv(%d, %s, %s, 1.0f, %s, %s, %s, %s, %s);", n->ta ? 1 : 0, size_c(x, a->shape.d[0]),
              size_c(x, a->shape.d[1]), va, ld_c(x, a->shape.d[1]), vb, n->nin == 3 ? "1.0f" : "0.0f", v);
        break;
    case OP_MATMUL:
        if (a->shape.rank > 2 && n->ta) { /* A^T B of two stacks of rows (ir/infer.c): K = the rows */
            const Shape *sa = &a->shape, *sb = &b->shape;
            char *m = size_c(x, sa->d[sa->rank - 1]), *nn = size_c(x, sb->d[sb->rank - 1]);
            emit_addend(x, n, v);
            cline(x, "nnrt_gemm(1, 0, %s, %s, (%s) / %s, 1.0f, %s, %s, %s, %s, %s, %s, %s);", m, nn, count_c(x, sa, 0),
                  ld_c(x, sa->d[sa->rank - 1]), va, ld_c(x, sa->d[sa->rank - 1]), vb, ld_c(x, sb->d[sb->rank - 1]),
                  n->nin == 3 ? "1.0f" : "0.0f", v, ld_c(x, sb->d[sb->rank - 1]));
            break;
        }
        if (a->shape.rank > 2) { /* stacked rows (ir/infer.c): a as [rows, K], never transposed */
            const Shape *sa = &a->shape;
            NN_ASSERT(!n->ta && b->shape.rank == 2);
            char *k = size_c(x, sa->d[sa->rank - 1]), *nn = size_c(x, n->shape.d[n->shape.rank - 1]);
            emit_addend(x, n, v);
            cline(x, "nnrt_gemm(0, %d, (%s) / %s, %s, %s, 1.0f, %s, %s, %s, %s, %s, %s, %s);", n->tb ? 1 : 0,
                  count_c(x, sa, 0), ld_c(x, sa->d[sa->rank - 1]), nn, k, va, ld_c(x, sa->d[sa->rank - 1]), vb,
                  ld_c(x, b->shape.d[1]), n->nin == 3 ? "1.0f" : "0.0f", v, ld_c(x, n->shape.d[n->shape.rank - 1]));
            break;
        }
        NN_ASSERT(a->shape.rank == 2 && b->shape.rank == 2 && n->shape.rank == 2);
        /* M, N from the result; K from a as it is used (stored [K, M] with ta) */
        emit_addend(x, n, v);
        cline(x, "nnrt_gemm(%d, %d, %s, %s, %s, 1.0f, %s, %s, %s, %s, %s, %s, %s);", n->ta ? 1 : 0,
              n->tb ? 1 : 0, size_c(x, n->shape.d[0]), size_c(x, n->shape.d[1]),
              size_c(x, n->ta ? a->shape.d[0] : a->shape.d[1]), va, ld_c(x, a->shape.d[1]), vb,
              ld_c(x, b->shape.d[1]), n->nin == 3 ? "1.0f" : "0.0f", v, ld_c(x, n->shape.d[1]));
        break;
    case OP_BMM: { /* a product per leading index (an operand of rank 2: the same for all) */
        const Shape *sa = &a->shape, *sb = &b->shape;
        char *ld_a = ld_c(x, sa->d[sa->rank - 1]), *ld_b = ld_c(x, sb->d[sb->rank - 1]);
        cline(x, "nnrt_gemm_batched(%d, %d, %s, %s, %s, 1.0f, %s, %s, %s, %s, %s, %s, 0.0f, %s, %s, %s, %s);",
              n->ta ? 1 : 0, n->tb ? 1 : 0, size_c(x, n->shape.d[1]), size_c(x, n->shape.d[2]),
              size_c(x, sa->d[sa->rank - (n->ta ? 2 : 1)]), va, ld_a, sa->rank == 3 ? count_c(x, sa, 1) : "0", vb,
              ld_b, sb->rank == 3 ? count_c(x, sb, 1) : "0", v, ld_c(x, n->shape.d[2]), count_c(x, &n->shape, 1),
              size_c(x, n->shape.d[0]));
        break;
    }
    case OP_TRANSPOSE: { /* each matrix of the leading axes (--batch: [B, M, N]) */
        const Shape *s = &a->shape;
        char *rows = size_c(x, s->d[s->rank - 2]), *cols = size_c(x, s->d[s->rank - 1]);
        Shape lead = *s;
        lead.rank -= 2;
        char *mat = count_c(x, s, s->rank - 2);
        cline(x, "for (int64_t e = 0; e < %s; e++)", count_c(x, &lead, 0));
        cline(x, "    for (int64_t i = 0; i < %s; i++)", rows);
        cline(x, "        for (int64_t j = 0; j < %s; j++)", cols);
        cline(x, "            %s[e * %s + j * %s + i] = %s[e * %s + i * %s + j];", v, mat, rows, va, mat, cols);
        break;
    }
    case OP_DOT:
        cline(x, "%s[0] = nnrt_dot(%s, %s, %s);", v, count_c(x, &a->shape, 0), va, vb);
        break;
    case OP_OUTER: {
        char *cols = count_c(x, &b->shape, 0);
        cline(x, "for (int64_t i = 0; i < %s; i++)", count_c(x, &a->shape, 0));
        cline(x, "    for (int64_t j = 0; j < %s; j++)", cols);
        cline(x, "        %s[i * %s + j] = %s[i] * %s[j];", v, cols, va, vb);
        break;
    }
    default:
        NN_ASSERT(!"not a blas op");
    }
}
