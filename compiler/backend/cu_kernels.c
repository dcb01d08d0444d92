/*
 * cu_kernels.c - the kernels --target=cuda generates, one per node that
 * needs one: elementwise ops and fused chains, fill, broadcast, expand,
 * sum_to, sums, sums along an axis, picks, binary cross-entropy, the
 * softmax gradients, transpose, and the addend of a matrix product.
 *
 * Every kernel has the same parameters, taken from its node alone: out
 * (the node's buffer), then a0, a1, ... (the operands: const float *,
 * const int32_t * for int tensors, int64_t for int scalars), then d_NAME
 * for each dynamic dim, so that sizes print as the C target prints them
 * (size_c). cu_target.c launches them with the node's variables in that
 * order. They follow runtime/cuda/nnrt_cuda_dev.cuh's conventions:
 * extern "C", __launch_bounds__(NNRT_BLOCK), grid-stride loops, block
 * reductions reached by every thread of the block.
 */
#include "backend.h"

/* The kernel of node n: M_k<f|t><id> (f: the forward graph, t: the train graph). */
char *cu_kernel_name(Ctx *x, const Node *n)
{
    return xsprintf("%s_k%c%d", x->g->model, x->g->grads ? 't' : 'f', n->id);
}

static const char *param_type(const Node *a)
{
    return ir_is_int_scalar(a) ? "int64_t" : a->dtype == DT_I32 ? "const int32_t *" : "const float *";
}

/* Does n's kernel read ids or labels from device memory (checked there,
 * a bad one recorded in the context's error word, nnrt_dev_range_error)? */
bool cu_kernel_checks(const Node *n)
{
    for (int j = 0; j < n->nin; j++)
        if (n->in[j]->dtype == DT_I32 && !ir_is_int_scalar(n->in[j]) && n->op != OP_IADD && n->op != OP_ISUB &&
            n->op != OP_IMUL)
            return true;
    return false;
}

/* The launch arguments after the grid: the variables in kernel order. */
char *cu_kernel_args(Ctx *x, const Node *n)
{
    char *s = xstrdup(vname(n));
    for (int j = 0; j < n->nin; j++)
        s = xsprintf("%s, %s", s, vname(n->in[j]));
    for (int i = 0; i < x->g->ndims; i++)
        if (x->g->dims[i].dynamic)
            s = xsprintf("%s, d_%s", s, x->g->dims[i].name);
    return cu_kernel_checks(n) ? xsprintf("%s, m->cu->status", s) : s;
}

static void kernel_open(Ctx *x, const Node *n, const char *what)
{
    craw(x, "/* %%%d %s: %s */\n", n->id, op_name[n->op], what);
    craw(x, "extern \"C\" __global__ void __launch_bounds__(NNRT_BLOCK)\n    %s(%s *out", cu_kernel_name(x, n),
         n->dtype == DT_I32 ? "int32_t" : "float");
    for (int j = 0; j < n->nin; j++) {
        const char *t = param_type(n->in[j]);
        craw(x, ", %s%sa%d", t, t[strlen(t) - 1] == '*' ? "" : " ", j);
    }
    for (int i = 0; i < x->g->ndims; i++)
        if (x->g->dims[i].dynamic)
            craw(x, ", int64_t d_%s", x->g->dims[i].name);
    if (cu_kernel_checks(n))
        craw(x, ", nnrt_dev_status *st");
    craw(x, ")\n{\n");
    for (int j = 0; j < n->nin; j++)
        craw(x, "    (void)a%d;\n", j);
    for (int i = 0; i < x->g->ndims; i++)
        if (x->g->dims[i].dynamic)
            craw(x, "    (void)d_%s;\n", x->g->dims[i].name);
    if (cu_kernel_checks(n))
        craw(x, "    (void)st;\n");
}

static void kernel_close(Ctx *x) { craw(x, "}\n\n"); }

/* The index into operand shape a, broadcast (NumPy rules) to out, of the
 * element at flat position i of out. */
static char *bcast_at(Ctx *x, const Shape *a, const Shape *out)
{
    return shape_eq(a, out) ? xstrdup("i") : bcast_expr(x, a, out, true);
}

/* out[i] = EXPR over every element of n */
static void grid_loop(Ctx *x, const Node *n, const char *expr)
{
    craw(x, "    NNRT_FOR_GRID(i, %s)\n        out[i] = %s;\n", count_c(x, &n->shape, 0), expr);
}

/* A fused chain: one scalar local per body node, per element i; with row
 * ops, i = r * cols + j and row operands are read at r. */
static void fused_body(Ctx *x, const Node *n)
{
    const Block *fb = n->fused;
    bool rows = false;
    for (int k = 0; k < fb->n; k++)
        rows = rows || (fb->nodes[k]->op == OP_ARG && fb->nodes[k]->ta);
    craw(x, "    NNRT_FOR_GRID(i, %s) {\n", count_c(x, &n->shape, 0));
    if (rows) {
        char *cols = size_c(x, n->shape.d[n->shape.rank - 1]);
        craw(x, "        const int64_t r = i / (%s), j = i %% (%s);\n", cols, cols);
        craw(x, "        (void)r;\n        (void)j;\n");
    }
    for (int k = 0; k < fb->n; k++) {
        const Node *b = fb->nodes[k];
        const Node *op = b->op == OP_ARG ? n->in[b->index] : NULL;
        char *e;
        if (b->op == OP_ARG && op->dtype == DT_I32)
            continue; /* a label: read where pick_grad uses it */
        if (b->op == OP_ARG && b->ta)
            e = xsprintf("a%d[r]", b->index);
        else if (b->op == OP_ARG)
            e = xsprintf("a%d[%s]", b->index, bcast_at(x, &op->shape, &n->shape));
        else if (b->op == OP_EXPAND)
            e = xsprintf("f%d", b->in[0]->id);
        else if (b->op == OP_PICKGRAD && ir_is_int_scalar(n->in[b->in[1]->index]))
            e = xsprintf("j == (int64_t)a%d ? f%d : 0.0f", b->in[1]->index, b->in[0]->id);
        else if (b->op == OP_PICKGRAD) { /* a label per row, checked here */
            int y = b->in[1]->index;
            char *len = size_c(x, n->shape.d[n->shape.rank - 1]);
            craw(x, "        if (j == 0 && (a%d[r] < 0 || a%d[r] >= %s))\n", y, y, len);
            craw(x, "            nnrt_dev_range_error(st, NNRT_DEV_LABEL, r, a%d[r], %s);\n", y, len);
            e = xsprintf("j == (int64_t)a%d[r] ? f%d : 0.0f", y, b->in[0]->id);
        }
        else
            e = elem_code(b->op, xsprintf("f%d", b->in[0]->id), b->nin > 1 ? xsprintf("f%d", b->in[1]->id) : NULL, true);
        craw(x, "        const float f%d = %s; /* %s */\n", b->id, e, op_name[b->op]);
    }
    craw(x, "        out[i] = f%d;\n    }\n", fb->nodes[fb->n - 1]->id);
}

/* One block sums term(i) over i < count into out[0] (scaled by scale). */
static void block_sum(Ctx *x, const char *count, const char *term, const char *scale)
{
    craw(x, "    __shared__ float sh[NNRT_BLOCK];\n");
    craw(x, "    float s = 0.0f;\n");
    craw(x, "    for (int64_t i = threadIdx.x; i < %s; i += NNRT_BLOCK)\n        s += %s;\n", count, term);
    craw(x, "    s = nnrt_block_sum(s, sh);\n");
    craw(x, "    if (threadIdx.x == 0)\n        out[0] = s%s;\n", scale);
}

/* The grid loop of a kernel that reads an index per element i: y = IDX,
 * checked against [0, BOUND) (a bad one recorded as the POS-th of the
 * kernel's list, then BAD and the element skipped). Leaves the loop open. */
static void emit_checked_rows(Ctx *x, const Node *n, const char *what, const char *idx, const char *bound,
                              const char *pos, const char *bad)
{
    craw(x, "    NNRT_FOR_GRID(i, %s) {\n        const int64_t y = %s;\n", count_c(x, &n->shape, 0), idx);
    craw(x, "        if (y < 0 || y >= %s) {\n", bound);
    craw(x, "            nnrt_dev_range_error(st, %s, %s, y, %s);\n", what, pos, bound);
    craw(x, "            %scontinue;\n        }\n", *bad ? xsprintf("%s\n            ", bad) : "");
}

/* the shape of mul_sum n's product a * b (broadcast) */
static Shape mulsum_product(const Node *n)
{
    const Node *a = n->in[0], *b = n->in[1];
    Shape s = {.rank = a->shape.rank > b->shape.rank ? a->shape.rank : b->shape.rank};
    for (int k = 1; k <= s.rank; k++) {
        const Shape *p = k <= a->shape.rank && !size_is_one(a->shape.d[a->shape.rank - k]) ? &a->shape : &b->shape;
        s.d[s.rank - k] = k <= p->rank ? p->d[p->rank - k] : size_const(1);
    }
    return s;
}

/* Is mul_sum n's kernel a group of 32 threads per result (row-wise dots:
 * the summed axis the product's last, not known to be under 32 long)? */
static bool mulsum_rows(const Node *n)
{
    Shape s = mulsum_product(n);
    int axis = n->index;
    return n->op == OP_MULSUM && n->nin == 2 && axis == s.rank - 1 &&
           !(size_is_const(s.d[axis]) && s.d[axis].c < 32);
}

/* mul_sum over the product's last axis (row-wise dots, as skip-gram's
 * pairs): a group of 32 threads per result (NNRT_GROUPS per block), each
 * thread adding every 32nd product of the two rows (reads coalesced), the
 * group's sums then added by nnrt_group_sum. The result loop's bound is
 * the same for the whole block, so all its threads reach the barriers. */
static void emit_mul_sum_rows(Ctx *x, const Node *n, const Shape *s)
{
    char *len = size_c(x, s->d[n->index]), *cnt = count_c(x, &n->shape, 0);
    craw(x, "    __shared__ float sh[NNRT_BLOCK];\n");
    craw(x, "    const int64_t lane = threadIdx.x %% 32;\n");
    craw(x, "    for (int64_t o0 = (int64_t)blockIdx.x * NNRT_GROUPS; o0 < %s; o0 += (int64_t)gridDim.x * NNRT_GROUPS) {\n",
         cnt);
    craw(x, "        const int64_t o = o0 + threadIdx.x / 32;\n        float t = 0.0f;\n");
    craw(x, "        if (o < %s)\n            for (int64_t l = lane; l < %s; l += 32) {\n", cnt, len);
    craw(x, "                const int64_t i = o * (%s) + l;\n", len);
    craw(x, "                t += a0[%s] * a1[%s];\n            }\n", bcast_at(x, &n->in[0]->shape, s),
         bcast_at(x, &n->in[1]->shape, s));
    craw(x, "        t = nnrt_group_sum(t, sh);\n");
    craw(x, "        if (lane == 0 && o < %s)\n            out[o] = t;\n    }\n", cnt);
}

/* mul_sum: a thread per result element o, the product's elements along
 * the axis (length L, ni after it) added in order; row-wise dots above. */
static void emit_mul_sum(Ctx *x, const Node *n)
{
    const Node *a = n->in[0], *b = n->in[1];
    Shape s = mulsum_product(n);
    if (mulsum_rows(n)) {
        emit_mul_sum_rows(x, n, &s);
        return;
    }
    int axis = n->index;
    char *len = size_c(x, s.d[axis]), *ni = count_c(x, &s, axis + 1);
    craw(x, "    NNRT_FOR_GRID(o, %s) {\n        float t = 0.0f;\n", count_c(x, &n->shape, 0));
    craw(x, "        for (int64_t l = 0; l < %s; l++) {\n", len);
    craw(x, "            const int64_t i = ((o / (%s)) * (%s) + l) * (%s) + o %% (%s);\n", ni, len, ni, ni);
    craw(x, "            t += a0[%s] * a1[%s];\n        }\n", bcast_at(x, &a->shape, &s), bcast_at(x, &b->shape, &s));
    craw(x, "        out[o] = t;\n    }\n");
}

/* sum_to over any axes: a thread per result element o, adding the R
 * elements of a that broadcast from it, r over the summed axes (those the
 * result lacks or has as 1); a's index is o's coordinates on the kept
 * axes and r's on the summed ones. */
static void emit_sum_to(Ctx *x, const Node *n)
{
    const Shape *a = &n->in[0]->shape, *o = &n->shape;
    int skip = a->rank - o->rank;
    char *idx = NULL, *rstride = xstrdup("1"), *ostride = xstrdup("1");
    for (int k = a->rank - 1; k >= 0; k--) {
        char *ext = size_c(x, a->d[k]), *c;
        bool summed = k < skip || (size_is_one(o->d[k - skip]) && !size_is_one(a->d[k]));
        if (summed) {
            c = xsprintf("((r / (%s)) %% (%s))", rstride, ext);
            rstride = xsprintf("%s * (%s)", rstride, ext);
        } else {
            c = xsprintf("((o / (%s)) %% (%s))", ostride, ext);
            ostride = xsprintf("%s * (%s)", ostride, size_c(x, o->d[k - skip]));
        }
        char *t = xsprintf("%s * (%s)", c, count_c(x, a, k + 1));
        idx = idx ? xsprintf("%s + %s", t, idx) : t;
    }
    craw(x, "    NNRT_FOR_GRID(o, %s) {\n        float s = 0.0f;\n", count_c(x, o, 0));
    craw(x, "        for (int64_t r = 0; r < %s; r++)\n            s += a0[%s];\n", rstride, idx ? idx : "0");
    craw(x, "        out[o] = s;\n    }\n");
}

/* mul_sum over the last axis that is a product cuBLAS does (the batch
 * pass's per-row dots): x [R..., D] with w [D] (a GEMV: one GEMM of
 * N = 1), or x [B, M, D] with y [B, 1, D] (B products [M, D] [D]: one
 * strided-batched GEMM). *x, *w: the operands in that order. */
bool cu_mulsum_gemm(const Node *n, const Node **x, const Node **w, bool *batched)
{
    if (n->op != OP_MULSUM || n->nin != 2)
        return false;
    for (int k = 0; k < 2; k++) {
        const Node *a = n->in[k], *b = n->in[1 - k];
        const Shape *sa = &a->shape, *sb = &b->shape;
        if (sa->rank < 2 || n->index != sa->rank - 1)
            continue;
        bool gemv = sb->rank == 1 && size_eq(sb->d[0], sa->d[sa->rank - 1]);
        bool bat = sa->rank == 3 && sb->rank == 3 && size_eq(sb->d[0], sa->d[0]) && size_is_one(sb->d[1]) &&
                   !size_is_one(sa->d[1]) && size_eq(sb->d[2], sa->d[2]);
        if (gemv || bat) {
            *x = a, *w = b, *batched = bat;
            return true;
        }
    }
    return false;
}

/* Does node n get a generated kernel? */
bool cu_has_kernel(const Node *n)
{
    switch (n->op) {
    case OP_FILL: case OP_CONST: case OP_BROADCAST: case OP_EXPAND: case OP_SUMTO: case OP_FUSED:
    case OP_SUM: case OP_MEAN: case OP_SUMAXIS: case OP_MEANAXIS: case OP_PICK: case OP_BXENT:
    case OP_SOFTMAXGRAD: case OP_LOGSOFTMAXGRAD: case OP_TRANSPOSE: case OP_PICKGRAD: case OP_RANGE:
    case OP_GATHERSUM: case OP_GATHERMEAN:
        return true;
    case OP_MULSUM: { /* unless cuBLAS does it */
        const Node *x, *w;
        bool b;
        return n->nin < 2 || !cu_mulsum_gemm(n, &x, &w, &b);
    }
    case OP_SCATTERADD: case OP_SPARSESCATTER: /* an int scalar id; ids of several rows: the runtime's scatter */
        return n->nin < 2 || ir_is_int_scalar(n->in[1]);
    case OP_XENT: /* a scalar label; labels of several rows: the runtime's */
        return n->nin < 2 || ir_is_int_scalar(n->in[1]);
    case OP_IADD: case OP_ISUB: case OP_IMUL: case OP_CHECKIDX: /* int tensors: batched index arithmetic */
        return n->dtype == DT_I32 && n->shape.rank > 0;
    case OP_GATHER: /* rows of an int tensor (floats: the runtime's gather) */
        return n->dtype == DT_I32;
    case OP_CONCAT: /* along a later axis (axis 0: two device copies) */
        return n->index > 0;
    case OP_MATVEC: case OP_MATMUL:
        return n->nin == 3; /* the addend, before the product accumulates */
    default:
        return (op_flags[n->op] & OPF_ELEMWISE) != 0;
    }
}

/* sum_to n's kernel: a sum of everything (one block), sums over the
 * leading axes (n's shape a suffix of its operand's, e.g. a bias
 * gradient: a lane of threads per column), or a thread per result */
typedef enum { SUMTO_ALL, SUMTO_ROWS, SUMTO_ANY } SumToKind;

static SumToKind sumto_kind(const Graph *g, const Node *n)
{
    const Shape *a = &n->in[0]->shape, *s = &n->shape;
    if (s->rank <= 1 && shape_max_count(g, s) == 1)
        return SUMTO_ALL;
    if (s->rank > a->rank)
        return SUMTO_ANY;
    for (int k = 0; k < s->rank; k++)
        if (!size_eq(s->d[k], a->d[a->rank - s->rank + k]))
            return SUMTO_ANY;
    return SUMTO_ROWS;
}

/* The grid node n's kernel is launched with (NNRT_BLOCK threads a block):
 * one block, a block per row, NNRT_GROUPS results or 32 columns a block,
 * or a thread per result element. */
char *cu_kernel_grid(Ctx *x, const Node *n)
{
    char *cnt = count_c(x, &n->shape, 0), *len, *rows;
    switch (n->op) {
    case OP_SUM: case OP_MEAN: case OP_BXENT:
        return xstrdup("1");
    case OP_SUMTO:
        if (sumto_kind(x->g, n) != SUMTO_ANY)
            return sumto_kind(x->g, n) == SUMTO_ALL ? xstrdup("1") : xsprintf("nnrt_grid(%s, 32)", cnt);
        break;
    case OP_SOFTMAXGRAD: case OP_LOGSOFTMAXGRAD:
        last_axis_rows(x, n->in[0], &len, &rows);
        return xsprintf("nnrt_grid(%s, 1)", rows);
    case OP_MULSUM:
        if (mulsum_rows(n))
            return xsprintf("nnrt_grid(%s, NNRT_GROUPS)", cnt);
        break;
    default:
        break;
    }
    return xsprintf("nnrt_grid(%s, NNRT_BLOCK)", cnt);
}

void cu_emit_kernel(Ctx *x, Node *n)
{
    const Node *a = n->nin > 0 ? n->in[0] : NULL;
    char *len, *rows;
    switch (n->op) {
    case OP_FILL:
    case OP_CONST:
        kernel_open(x, n, "fill");
        grid_loop(x, n, float_lit(n->f));
        break;
    case OP_BROADCAST:
        kernel_open(x, n, "broadcast");
        grid_loop(x, n, xsprintf("a0[%s]", bcast_at(x, &a->shape, &n->shape)));
        break;
    case OP_EXPAND: {
        int k = n->index;
        char *ni = count_c(x, &n->shape, k + 1), *len2 = size_c(x, n->shape.d[k]);
        kernel_open(x, n, "expand");
        grid_loop(x, n, xsprintf("a0[(i / ((%s) * (%s))) * (%s) + i %% (%s)]", len2, ni, ni, ni));
        break;
    }
    case OP_SUMTO:
        kernel_open(x, n, "sum_to");
        if (sumto_kind(x->g, n) == SUMTO_ALL) {
            block_sum(x, count_c(x, &a->shape, 0), "a0[i]", "");
        } else if (sumto_kind(x->g, n) == SUMTO_ROWS) {
            /* sums over the leading rows (a bias gradient over T * B rows):
             * a block per 32 columns, each group of 32 threads (reads
             * coalesced) adding every NNRT_GROUPS-th row, the groups' sums
             * then added by nnrt_lane_sum in a fixed order. The column
             * loop's bound is the same for the whole block, so all its
             * threads reach the barriers. */
            char *cnt = count_c(x, &n->shape, 0);
            craw(x, "    __shared__ float sh[NNRT_BLOCK];\n");
            craw(x, "    for (int64_t c0 = (int64_t)blockIdx.x * 32; c0 < %s; c0 += (int64_t)gridDim.x * 32) {\n", cnt);
            craw(x, "        const int64_t i = c0 + threadIdx.x %% 32;\n        float s = 0.0f;\n");
            craw(x, "        if (i < %s)\n", cnt);
            craw(x, "            for (int64_t k = i + threadIdx.x / 32 * (%s); k < %s; k += NNRT_GROUPS * (%s))\n", cnt,
                 count_c(x, &a->shape, 0), cnt);
            craw(x, "                s += a0[k];\n        s = nnrt_lane_sum(s, sh);\n");
            craw(x, "        if (threadIdx.x < 32 && i < %s)\n            out[i] = s;\n    }\n", cnt);
        } else {
            emit_sum_to(x, n);
        }
        break;
    case OP_SUM:
    case OP_MEAN: {
        char *cnt = count_c(x, &a->shape, 0);
        kernel_open(x, n, "one block");
        block_sum(x, cnt, "a0[i]", n->op == OP_MEAN ? xsprintf(" / (float)(%s)", cnt) : "");
        break;
    }
    case OP_SUMAXIS:
    case OP_MEANAXIS: {
        int k = n->index;
        char *l = size_c(x, a->shape.d[k]), *ni = count_c(x, &a->shape, k + 1);
        kernel_open(x, n, "a thread per result");
        craw(x, "    NNRT_FOR_GRID(i, %s) {\n        float s = 0.0f;\n", count_c(x, &n->shape, 0));
        craw(x, "        for (int64_t l = 0; l < %s; l++)\n", l);
        craw(x, "            s += a0[((i / (%s)) * (%s) + l) * (%s) + i %% (%s)];\n", ni, l, ni, ni);
        craw(x, "        out[i] = s%s;\n    }\n", n->op == OP_MEANAXIS ? xsprintf(" / (float)(%s)", l) : "");
        break;
    }
    case OP_PICK:
        if (ir_is_int_scalar(n->in[1])) {
            kernel_open(x, n, "z[y], the label checked on the host");
            grid_loop(x, n, "a0[a1]");
            break;
        }
        kernel_open(x, n, "z[r, y[r]], a label per row, checked here");
        emit_checked_rows(x, n, "NNRT_DEV_LABEL", "a1[i]", size_c(x, a->shape.d[a->shape.rank - 1]), "i", "out[i] = NAN;");
        craw(x, "        out[i] = a0[i * (%s) + y];\n    }\n", size_c(x, a->shape.d[a->shape.rank - 1]));
        break;
    case OP_PICKGRAD:
        if (ir_is_int_scalar(n->in[1])) { /* a scalar label: a scalar a at [y] of [V] */
            kernel_open(x, n, "zeros but a at [y], the label checked on the host");
            grid_loop(x, n, "i == a1 ? a0[0] : 0.0f");
            break;
        }
        len = size_c(x, n->shape.d[n->shape.rank - 1]);
        kernel_open(x, n, "zeros but a[r] at [r, y[r]], a label per row, checked here");
        craw(x, "    NNRT_FOR_GRID(i, %s) {\n", count_c(x, &n->shape, 0));
        craw(x, "        const int64_t r = i / (%s), j = i %% (%s), y = a1[r];\n", len, len);
        craw(x, "        if (j == 0 && (y < 0 || y >= %s))\n", len);
        craw(x, "            nnrt_dev_range_error(st, NNRT_DEV_LABEL, r, y, %s);\n", len);
        craw(x, "        out[i] = j == y ? a0[r] : 0.0f;\n    }\n");
        break;
    case OP_RANGE:
        kernel_open(x, n, "lo, lo + 1, ...");
        grid_loop(x, n, xsprintf("(int32_t)(%s + i)", size_c(x, n->size)));
        break;
    case OP_IADD: case OP_ISUB: case OP_IMUL: {
        const char *op = n->op == OP_IADD ? "+" : n->op == OP_ISUB ? "-" : "*";
        kernel_open(x, n, "int index arithmetic, broadcast");
        grid_loop(x, n, xsprintf("(int32_t)((int64_t)a0%s %s (int64_t)a1%s)", int_operand_at(x, a, n), op,
                                 int_operand_at(x, n->in[1], n)));
        break;
    }
    case OP_CHECKIDX: { /* one thread checks, in order: the first bad index and its own bound */
        char *count = count_c(x, &n->shape, 0);
        kernel_open(x, n, "int indexes, each checked against its bound (the last axis: the example)");
        grid_loop(x, n, xsprintf("(int32_t)a0%s", int_operand_at(x, a, n)));
        craw(x, "    if (blockIdx.x == 0 && threadIdx.x == 0)\n        for (int64_t i = 0; i < %s; i++) {\n", count);
        craw(x, "            const int64_t y = a0%s, hi = a1%s;\n", int_operand_at(x, a, n), int_operand_at(x, n->in[1], n));
        craw(x, "            if (y < 0 || y >= hi) {\n");
        craw(x, "                nnrt_dev_range_error(st, NNRT_DEV_INDEX, i %% (%s), y, hi);\n",
             size_c(x, n->shape.d[n->shape.rank - 1]));
        craw(x, "                break;\n            }\n        }\n");
        break;
    }
    case OP_GATHER: { /* rows of an int table */
        char *cols = count_c(x, &a->shape, 1);
        kernel_open(x, n, "rows of an int tensor, each id checked");
        emit_checked_rows(x, n, "NNRT_DEV_GATHER", xsprintf("a1[i / (%s)]", cols), size_c(x, a->shape.d[0]),
                          xsprintf("i / (%s)", cols), "");
        craw(x, "        out[i] = a0[y * (%s) + i %% (%s)];\n    }\n", cols, cols);
        break;
    }
    case OP_GATHERSUM:
    case OP_GATHERMEAN: { /* a thread per column, the rows in order as the C target adds them */
        char *cols = count_c(x, &a->shape, 1), *ids = count_c(x, &n->in[1]->shape, 0), *rows = size_c(x, a->shape.d[0]);
        kernel_open(x, n, "a bag of rows, each id checked");
        craw(x, "    NNRT_FOR_GRID(j, %s) {\n        float s = 0.0f;\n", cols);
        craw(x, "        for (int64_t l = 0; l < %s; l++) {\n            const int64_t y = a1[l];\n", ids);
        craw(x, "            if (y < 0 || y >= %s) {\n                if (j == 0)\n", rows);
        craw(x, "                    nnrt_dev_range_error(st, NNRT_DEV_GATHER, l, y, %s);\n", rows);
        craw(x, "                continue;\n            }\n            s += a0[y * (%s) + j];\n        }\n", cols);
        craw(x, "        out[j] = %s;\n    }\n",
             n->op == OP_GATHERMEAN ? xsprintf("(float)((double)s / (double)(%s))", ids) : "s");
        break;
    }
    case OP_CONCAT: { /* along axis k > 0: blocks of a and b alternate */
        char *ca = count_c(x, &a->shape, n->index), *cb = count_c(x, &n->in[1]->shape, n->index);
        kernel_open(x, n, "concat along a later axis");
        craw(x, "    NNRT_FOR_GRID(i, %s) {\n", count_c(x, &n->shape, 0));
        craw(x, "        const int64_t r = i / ((%s) + (%s)), k = i %% ((%s) + (%s));\n", ca, cb, ca, cb);
        craw(x, "        out[i] = k < (%s) ? a0[r * (%s) + k] : a1[r * (%s) + k - (%s)];\n    }\n", ca, ca, cb, ca);
        break;
    }
    case OP_MULSUM:
        kernel_open(x, n, mulsum_rows(n) ? "row-wise dots, 32 threads per result"
                                            : "sum over one axis of a * b, a thread per result");
        emit_mul_sum(x, n);
        break;
    case OP_SCATTERADD:
    case OP_SPARSESCATTER: { /* a scalar id: row a at row y, zeros elsewhere (dense here: cu_sparse_grad) */
        char *rowc = count_c(x, &n->shape, 1);
        kernel_open(x, n, "zeros but row a at row id, the id checked on the host");
        grid_loop(x, n, xsprintf("i / (%s) == a1 ? a0[i %% (%s)] : 0.0f", rowc, rowc));
        break;
    }
    case OP_XENT: /* a scalar label (labels of rows: the runtime's nnrt_cuda_xent_rows) */
        kernel_open(x, n, "logsumexp (already in out) - z[y]");
        grid_loop(x, n, "out[i] - a0[a1]");
        break;
    case OP_BXENT:
        kernel_open(x, n, "one block, the stable form of -t log s(z) - (1-t) log(1-s(z))");
        block_sum(x, count_c(x, &a->shape, 0),
                  "(a0[i] > 0.0f ? a0[i] : 0.0f) - a0[i] * a1[i] + log1pf(expf(-fabsf(a0[i])))", "");
        break;
    case OP_SOFTMAXGRAD:
    case OP_LOGSOFTMAXGRAD: {
        /* a0 = y (softmax or log_softmax of z), a1 = d; a block per row */
        last_axis_rows(x, a, &len, &rows);
        bool lsm = n->op == OP_LOGSOFTMAXGRAD;
        kernel_open(x, n, lsm ? "d - exp(y) rowsum(d), a block per row" : "y (d - rowsum(d y)), a block per row");
        craw(x, "    __shared__ float sh[NNRT_BLOCK];\n");
        craw(x, "    NNRT_FOR_BLOCKS(r, %s) {\n", rows);
        craw(x, "        const float *y = a0 + r * (%s), *d = a1 + r * (%s);\n", len, len);
        craw(x, "        float s = 0.0f;\n");
        craw(x, "        for (int64_t j = threadIdx.x; j < %s; j += NNRT_BLOCK)\n            s += %s;\n", len,
             lsm ? "d[j]" : "d[j] * y[j]");
        craw(x, "        s = nnrt_block_sum(s, sh);\n");
        craw(x, "        for (int64_t j = threadIdx.x; j < %s; j += NNRT_BLOCK)\n", len);
        craw(x, "            out[r * (%s) + j] = %s;\n    }\n", len, lsm ? "d[j] - expf(y[j]) * s" : "y[j] * (d[j] - s)");
        break;
    }
    case OP_TRANSPOSE: { /* each matrix of the leading axes (--batch: [B, M, N]) */
        const Shape *s = &a->shape;
        char *r = size_c(x, s->d[s->rank - 2]), *c = size_c(x, s->d[s->rank - 1]), *mat = count_c(x, s, s->rank - 2);
        kernel_open(x, n, "transpose");
        if (s->rank == 2)
            grid_loop(x, n, xsprintf("a0[(i %% (%s)) * (%s) + i / (%s)]", r, c, r));
        else
            grid_loop(x, n, xsprintf("a0[i / (%s) * (%s) + (i %% (%s)) %% (%s) * (%s) + i %% (%s) / (%s)]", mat, mat,
                                     mat, r, c, mat, r));
        break;
    }
    case OP_MATVEC:
    case OP_MATMUL:
        kernel_open(x, n, "the addend, broadcast: the product accumulates into it");
        grid_loop(x, n, xsprintf("a2[%s]", bcast_at(x, &n->in[2]->shape, &n->shape)));
        break;
    case OP_FUSED:
        kernel_open(x, n, "a fused elementwise chain");
        fused_body(x, n);
        break;
    default:
        NN_ASSERT(op_flags[n->op] & OPF_ELEMWISE);
        kernel_open(x, n, "elementwise");
        grid_loop(x, n,
                  elem_code(n->op, xsprintf("a0[%s]", bcast_at(x, &a->shape, &n->shape)),
                            n->nin > 1 ? xsprintf("a1[%s]", bcast_at(x, &n->in[1]->shape, &n->shape)) : NULL, true));
    }
    kernel_close(x);
}
