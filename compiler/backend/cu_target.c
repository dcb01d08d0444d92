/*
 * cu_target.c - the CUDA target (--target=cuda): model.cu, with the same
 * model.h as the C target, on the runtime of runtime/cuda/ (docs/CUDA.md).
 *
 * The shared backend does the walk, checks, memory plan and API; this
 * file says which ops the target compiles (supports_op) and writes each
 * node's code (emit_node): runtime calls (cuBLAS GEMM, the row kernels,
 * gather, the copies of a call) or a launch of the node's generated kernel
 * (cu_kernels.c). The prelude holds those kernels and the API's helpers
 * (cu_api.c). Values of the placement stage (backend/place.c):
 *
 *   device   params: m->model->dparams + offset; every other float value:
 *            m->darena + its offset of the memory plan (the device arena);
 *            a gradient computed in place: m->dgrads + its param's offset
 *   host     inputs and int scalars (kernel arguments, as in C); a
 *            to_host copy: m->arena + its offset (the host arena, where
 *            the outputs are returned)
 *
 * A call is nnrt_cuda_begin, the uploads (to_device), the kernels, then
 * nnrt_cuda_end with every to_host copy: one synchronisation per call.
 */
#include "backend.h"

#include <stdarg.h>
#include <string.h>


/* The code of an op that is not only a launch of its generated kernel. */
typedef void (*CuEmitFn)(Ctx *x, Node *n, const char *v);
static const CuEmitFn cu_family[OP_COUNT];

/* The ops with CUDA code: an entry of cu_family (below), or a generated
 * kernel (cu_kernels.c); the rest is a diagnostic naming the op. */
static bool cu_op(Op op)
{
    return cu_family[op] || cu_has_kernel(&(Node){.op = op});
}

static bool cu_supports_op(const Graph *g, const Node *n, char *why, size_t len)
{
    if (n->op >= 0 && n->op < OP_COUNT && cu_family[n->op] == cu_emit_approx)
        return true; /* ids and labels on the host or per row on the device (cu_approx.c) */
    if (n->op < 0 || n->op >= OP_COUNT || !cu_op(n->op)) {
        snprintf(why, len, "no CUDA code for this op yet");
        return false;
    }
    if ((op_flags[n->op] & OPF_SOFTMAX) && n->approx.kind != APPROX_FULL) {
        snprintf(why, len, "softmax approximation '%s' is not implemented for the device", approx_name[n->approx.kind]);
        return false;
    }
    /* a stack of int values is rows copied as the floats' are; not a carry or a sum */
    if ((n->op == OP_CARRY || n->op == OP_LOOPOUT) && n->dtype == DT_I32 &&
        (n->op == OP_CARRY || n->index < n->in[0]->loop->ncarry ||
         n->index >= n->in[0]->loop->ncarry + n->in[0]->loop->nstack)) {
        snprintf(why, len, "an int value carried or summed by a loop");
        return false;
    }
    for (int r = 0; n->op == OP_LOOP && r < n->loop->nsum; r++)
        if (n->loop->sum[r]->dtype != DT_F32) {
            snprintf(why, len, "summing an int value");
            return false;
        }
    for (int r = 0; n->op == OP_LOOP && r < n->loop->ncarry; r++)
        if (n->loop->carry[r]->dtype != DT_F32) {
            snprintf(why, len, "carrying an int value");
            return false;
        }
    if (n->dtype == DT_I32 && !ir_is_int_scalar(n) && n->op != OP_INPUT && n->op != OP_TODEVICE &&
        n->op != OP_CONCAT && n->op != OP_RESHAPE && n->op != OP_LOOPOUT && n->op != OP_ROW && !cu_has_kernel(n)) {
        snprintf(why, len, "an int tensor computed on the device");
        return false;
    }
    for (int j = 0; j < n->nin; j++) {
        const Node *a = n->in[j];
        if (a->dtype != DT_I32)
            continue;
        bool ok = (op_flags[n->op] & OPF_INT) || n->op == OP_TODEVICE || n->op == OP_TOHOST || n->op == OP_LOOPOUT ||
                  n->op == OP_RESHAPE;
        if (n->op == OP_PICK || n->op == OP_XENT || n->op == OP_FUSED || n->op == OP_PICKGRAD ||
            n->op == OP_SCATTERADD || n->op == OP_SPARSESCATTER)
            ok = true; /* a label or an id: on the host, or per row on the device (checked there) */
        if (n->op == OP_SCATTERROWS)
            ok = j == 1; /* an index on the host, or ids on the device (cu_loop.c) */
        if (n->op == OP_CONCAT)
            ok = !ir_is_int_scalar(a);
        if (n->op == OP_ROW)
            ok = j == 0 ? (a->op == OP_INPUT && ir_is_int_scalar(n)) /* words[t]: a host int from a host input */
                              || (a->op != OP_INPUT && !ir_is_int_scalar(n)) /* a view of a device tensor */
                        : ir_is_int_scalar(a);
        if (n->op == OP_GATHER || n->op == OP_GATHERSUM || n->op == OP_GATHERMEAN)
            ok = j == 1 ? !ir_is_int_scalar(a) : n->dtype == DT_I32;
        if (!ok) {
            snprintf(why, len, n->op == OP_ROW ? "a row of an int tensor on the device"
                               : ir_is_int_scalar(a) ? "an int operand"
                                                     : "int labels of several rows");
            return false;
        }
    }
    return true;
}

/* ---------------------------------------------------------------- --stats */

/* What a call runs on the device: one entry for the call itself (outside
 * any loop) and one per loop (per iteration of its body, its inner loops
 * apart), counted as the code is written. nnrt_cuda_get_stats counts the
 * same things as the code runs (docs/CUDA.md). */
typedef struct {
    int loop; /* the LOOP node's id; -1: the call */
    int uploads, launches, gemms, copies, zeros;
    int64_t zero_bytes; /* what the zero fills write at most */
} CuCount;

static struct {
    CuCount *e; /* e[0]: the call */
    int n, cap;
    int open[64], depth; /* the entries of the loops being written; open[0] = 0 */
} counts;

void cu_count_begin(Ctx *x)
{
    counts.n = counts.depth = 0;
    VEC_PUSH(counts.e, counts.n, counts.cap, ((CuCount){.loop = -1}));
    counts.open[0] = 0;
}

void cu_count_loop(Ctx *x, int loop_id)
{
    if (loop_id < 0) {
        NN_ASSERT(counts.depth > 0);
        counts.depth--;
        return;
    }
    NN_ASSERT(counts.n > 0 && counts.depth + 1 < (int)(sizeof counts.open / sizeof counts.open[0]));
    VEC_PUSH(counts.e, counts.n, counts.cap, ((CuCount){.loop = loop_id}));
    counts.open[++counts.depth] = counts.n - 1;
}

/* call: the generated statement, from the function's name on */
void cu_count_call(Ctx *x, const char *call)
{
    if (counts.n == 0)
        return; /* not inside a call (NAME_update) */
    CuCount *c = &counts.e[counts.open[counts.depth]];
    size_t len = strcspn(call, "(");
    if (strncmp(call, "nnrt_cuda_upload", len) == 0 && len == strlen("nnrt_cuda_upload"))
        c->uploads++;
    else if (strncmp(call, "nnrt_cuda_copy", len) == 0 && len == strlen("nnrt_cuda_copy"))
        c->copies++;
    else if (strncmp(call, "nnrt_cuda_zero", 14) == 0) /* nnrt_cuda_zero, _zero_rows (cu_count_bytes: their bytes) */
        c->zeros++;
    else if (strncmp(call, "nnrt_cuda_gemm", 14) == 0) /* nnrt_cuda_gemm, _gemm_batched */
        c->gemms++;
    else if (strncmp(call, "NNRT_LAUNCH", len) == 0 || strncmp(call, "nnrt_cuda_", 10) == 0)
        c->launches++; /* the runtime's row kernels, gathers, scatters, approximations: one launch each */
}

/* the bytes of the zero fill just counted, at most (the dims at their largest) */
void cu_count_bytes(Ctx *x, int64_t bytes)
{
    if (counts.n > 0)
        counts.e[counts.open[counts.depth]].zero_bytes += bytes;
}

static char *count_text(const CuCount *c)
{
    return xsprintf("%d kernel launches, %d GEMMs, %d device copies, %d zero fills (%" PRId64 " bytes at most)",
                    c->launches, c->gemms, c->copies, c->zeros, c->zero_bytes);
}

void cu_count_report(Ctx *x, int downloads)
{
    NN_ASSERT(counts.n > 0 && counts.depth == 0);
    if (x->stats) {
        fprintf(x->stats, "device code (%s): per call: %d uploads, %d downloads (the error word's included), %s",
                x->g->grads ? "train" : "forward", counts.e[0].uploads, downloads, count_text(&counts.e[0]));
        for (int i = 1; i < counts.n; i++)
            fprintf(x->stats, "; per iteration of loop %%%d: %s", counts.e[i].loop, count_text(&counts.e[i]));
        fprintf(x->stats, "\n");
    }
    counts.n = 0;
}

/* `if ((rc = CALL) != NNRT_OK) return rc;` */
void cu_call(Ctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    NN_ASSERT(s);
    cu_count_call(x, s);
    cline(x, "if ((rc = %s) != NNRT_OK)", s);
    cline(x, "    return rc;");
    free(s);
}

static void launch(Ctx *x, Node *n, const char *grid)
{
    cu_count_call(x, "NNRT_LAUNCH");
    cline(x, "NNRT_LAUNCH(m->cu, %s, %s, NNRT_BLOCK, 0, %s);", cu_kernel_name(x, n), grid, cu_kernel_args(x, n));
}

/* matrix products on cuBLAS (nnrt_cuda_gemm's row-major semantics, as nnrt_gemm) */
static void emit_product(Ctx *x, Node *n, const char *v)
{
    const Node *a = n->in[0], *b = n->in[1];
    const char *va = vname(a), *vb = vname(b), *beta = n->nin == 3 ? "1.0f" : "0.0f";
    const Shape *sa = &a->shape;
    switch (n->op) {
    case OP_MATVEC: /* a stored [r, c]; op(a) x: [r] (or [c] with ta) */
        cu_call(x, "nnrt_cuda_gemm(m->cu, %d, 0, %s, 1, %s, 1.0f, %s, %s, %s, 1, %s, %s, 1)", n->ta ? 1 : 0,
             size_c(x, sa->d[n->ta ? 1 : 0]), size_c(x, sa->d[n->ta ? 0 : 1]), va, ld_c(x, sa->d[1]), vb, beta, v);
        break;
    case OP_MATMUL:
        if (sa->rank > 2 && n->ta) { /* A^T B of two stacks of rows (ir/infer.c): K = the rows */
            const Shape *sb = &b->shape;
            cu_call(x, "nnrt_cuda_gemm(m->cu, 1, 0, %s, %s, (%s) / %s, 1.0f, %s, %s, %s, %s, %s, %s, %s)",
                    size_c(x, sa->d[sa->rank - 1]), size_c(x, sb->d[sb->rank - 1]), count_c(x, sa, 0),
                    ld_c(x, sa->d[sa->rank - 1]), va, ld_c(x, sa->d[sa->rank - 1]), vb, ld_c(x, sb->d[sb->rank - 1]),
                    beta, v, ld_c(x, sb->d[sb->rank - 1]));
            break;
        }
        if (sa->rank > 2) { /* stacked rows: a as [rows, K] */
            char *k = size_c(x, sa->d[sa->rank - 1]), *nn = size_c(x, n->shape.d[n->shape.rank - 1]);
            cu_call(x, "nnrt_cuda_gemm(m->cu, 0, %d, (%s) / %s, %s, %s, 1.0f, %s, %s, %s, %s, %s, %s, %s)", n->tb ? 1 : 0,
                 count_c(x, sa, 0), ld_c(x, sa->d[sa->rank - 1]), nn, k, va, ld_c(x, sa->d[sa->rank - 1]), vb,
                 ld_c(x, b->shape.d[1]), beta, v, ld_c(x, n->shape.d[n->shape.rank - 1]));
            break;
        }
        cu_call(x, "nnrt_cuda_gemm(m->cu, %d, %d, %s, %s, %s, 1.0f, %s, %s, %s, %s, %s, %s, %s)", n->ta ? 1 : 0,
             n->tb ? 1 : 0, size_c(x, n->shape.d[0]), size_c(x, n->shape.d[1]), size_c(x, sa->d[n->ta ? 0 : 1]), va,
             ld_c(x, sa->d[1]), vb, ld_c(x, b->shape.d[1]), beta, v, ld_c(x, n->shape.d[1]));
        break;
    case OP_BMM: { /* strided-batched: a product per leading index (a rank-2 operand: stride 0) */
        const Shape *sb = &b->shape;
        cu_call(x, "nnrt_cuda_gemm_batched(m->cu, %d, %d, %s, %s, %s, 1.0f, %s, %s, %s, %s, %s, %s, 0.0f, %s, %s, %s, %s)",
                n->ta ? 1 : 0, n->tb ? 1 : 0, size_c(x, n->shape.d[1]), size_c(x, n->shape.d[2]),
                size_c(x, sa->d[sa->rank - (n->ta ? 2 : 1)]), va, ld_c(x, sa->d[sa->rank - 1]),
                sa->rank == 3 ? count_c(x, sa, 1) : "0", vb, ld_c(x, sb->d[sb->rank - 1]),
                sb->rank == 3 ? count_c(x, sb, 1) : "0", v, ld_c(x, n->shape.d[2]), count_c(x, &n->shape, 1),
                size_c(x, n->shape.d[0]));
        break;
    }
    case OP_OUTER: { /* [M] x [N]: a product with K = 1 */
        char *cols = count_c(x, &b->shape, 0);
        cu_call(x, "nnrt_cuda_gemm(m->cu, 0, 0, %s, %s, 1, 1.0f, %s, 1, %s, nn_ld(%s), 0.0f, %s, nn_ld(%s))",
             count_c(x, sa, 0), cols, va, vb, cols, v, cols);
        break;
    }
    case OP_DOT: {
        char *d = count_c(x, sa, 0);
        cu_call(x, "nnrt_cuda_gemm(m->cu, 0, 0, 1, 1, %s, 1.0f, %s, nn_ld(%s), %s, 1, 0.0f, %s, 1)", d, va, d, vb, v);
        break;
    }
    default:
        NN_ASSERT(!"not a product");
    }
}

/* Labels read by a kernel are host scalars: checked before the launch. */
static void emit_label_checks(Ctx *x, Node *n)
{
    if ((n->op == OP_PICK || n->op == OP_XENT || n->op == OP_PICKGRAD) && ir_is_int_scalar(n->in[1])) {
        const Shape *z = n->op == OP_PICKGRAD ? &n->shape : &n->in[0]->shape; /* [..., V] */
        emit_index_check(x, n, vname(n->in[1]), size_c(x, z->d[z->rank - 1]));
        return;
    }
    if ((n->op == OP_SCATTERADD || n->op == OP_SPARSESCATTER) && ir_is_int_scalar(n->in[1])) {
        emit_index_check(x, n, vname(n->in[1]), size_c(x, n->shape.d[0]));
        return;
    }
    for (int k = 0; n->op == OP_FUSED && k < n->fused->n; k++) {
        const Node *b = n->fused->nodes[k];
        if (b->op == OP_PICKGRAD && ir_is_int_scalar(n->in[b->in[1]->index]))
            emit_index_check(x, n, vname(n->in[b->in[1]->index]), size_c(x, n->shape.d[n->shape.rank - 1]));
    }
}

static void emit_kernel_node(Ctx *x, Node *n, const char *v)
{
    char *len, *rows;
    emit_label_checks(x, n);
    if (n->op == OP_XENT) { /* logsumexp into out first */
        last_axis_rows(x, n->in[0], &len, &rows);
        cu_call(x, "nnrt_cuda_logsumexp_rows(m->cu, %s, %s, %s, %s)", vname(n->in[0]), v, rows, len);
    }
    launch(x, n, cu_kernel_grid(x, n));
    if (n->op == OP_MATVEC || n->op == OP_MATMUL)
        emit_product(x, n, v);
}

/* the host arena: nnrt_cuda_end copies the value there (cu_api.c) */
static void emit_to_host(Ctx *x, Node *n, const char *v)
{
    cline(x, "float *%s = m->arena + %" PRId64 "; /* filled at the end of the call */", v, info(n)->off);
}

static void emit_to_device(Ctx *x, Node *n, const char *v)
{
    cu_call(x, "nnrt_cuda_upload(m->cu, %s, %s, (size_t)(%s) * 4)", v, vname(n->in[0]), count_c(x, &n->in[0]->shape, 0));
}

static void emit_int(Ctx *x, Node *n, const char *v)
{
    if (cu_has_kernel(n))
        emit_kernel_node(x, n, v); /* int tensors, on the device */
    else
        c_emit_leaf(x, n, v);
}

static void emit_param(Ctx *x, Node *n, const char *v)
{
    cline(x, "const float *%s = m->model->dparams + %" PRId64 "; /* %s, on the device */", v, x->param_off[n->index],
          x->g->params[n->index].name);
}

static void emit_products(Ctx *x, Node *n, const char *v)
{
    if (n->nin == 3 && !info(n)->in_addend) /* (in place: v is the addend's memory) */
        emit_kernel_node(x, n, v); /* the addend, then the product */
    else
        emit_product(x, n, v);
}

static void emit_rows(Ctx *x, Node *n, const char *v)
{
    char *len, *rows;
    last_axis_rows(x, n->in[0], &len, &rows);
    cu_call(x, "nnrt_cuda_%s_rows(m->cu, %s, %s, %s, %s)",
            n->op == OP_SOFTMAX ? "softmax" : n->op == OP_LOGSOFTMAX ? "log_softmax" : "logsumexp", vname(n->in[0]), v,
            rows, len);
}

static void emit_row(Ctx *x, Node *n, const char *v)
{
    const Node *a = n->in[0];
    if (ir_is_int_scalar(n)) { /* words[t]: on the host */
        c_emit_gather(x, n, v);
        return;
    }
    /* a view of a device tensor at a host index */
    emit_index_check(x, n, vname(n->in[1]), size_c(x, a->shape.d[0]));
    cline(x, "const %s *%s = %s + %s * %s;", n->dtype == DT_I32 ? "int32_t" : "float", v, vname(a), vname(n->in[1]),
          count_c(x, &a->shape, 1));
}

static void emit_device_loop(Ctx *x, Node *n, const char *v) { cu_emit_loop(x, n); }

/* views of the loop's buffers (cu_loop.c); a sum computed in place into a
 * gradient is never read (nvcc: "set but never used", whatever (void) says) */
static void emit_loop_value(Ctx *x, Node *n, const char *v)
{
    const Loop *l = n->op == OP_CARRY ? n->loop : n->in[0]->loop;
    int id = l->node->id, r = n->index;
    char kind = n->op == OP_CARRY || r < l->ncarry ? 'c' : r < l->ncarry + l->nstack ? 's' : 'u';
    r -= kind == 'c' || n->op == OP_CARRY ? 0 : kind == 's' ? l->ncarry : l->ncarry + l->nstack;
    if (n->op == OP_CARRY && info(l->node)->carry_ptr[r]) /* where the last iteration put it (place_loops) */
        kind = 'p';
    if (n->dtype == DT_I32) /* a stack of ints */
        cline(x, "[[maybe_unused]] const int32_t *%s = (const int32_t *)(const void *)%c%d_%d;", v, kind, id, r);
    else
        cline(x, "[[maybe_unused]] const float *%s = %c%d_%d;", v, kind, id, r);
}

static void emit_nothing(Ctx *x, Node *n, const char *v) {} /* index: the host counter of the loop's for */

static void emit_loop_rows(Ctx *x, Node *n, const char *v)
{
    cline(x, "/* rows added into the loop's sum at the end of the iteration */");
}

static void emit_concat(Ctx *x, Node *n, const char *v)
{
    if (n->index > 0) {
        emit_kernel_node(x, n, v);
        return;
    }
    /* along axis 0: two copies on the stream (floats or ints) */
    const Node *a = n->in[0];
    char *na = count_c(x, &a->shape, 0);
    cu_call(x, "nnrt_cuda_copy(m->cu, %s, %s, (size_t)(%s) * 4)", v, vname(a), na);
    cu_call(x, "nnrt_cuda_copy(m->cu, %s + %s, %s, (size_t)(%s) * 4)", v, na, vname(n->in[1]),
            count_c(x, &n->in[1]->shape, 0));
}

static void emit_slice(Ctx *x, Node *n, const char *v)
{
    const Node *a = n->in[0];
    cu_call(x, "nnrt_cuda_copy(m->cu, %s, %s + %s * %s, (size_t)(%s) * 4)", v, vname(a), size_c(x, n->size),
            count_c(x, &a->shape, 1), count_c(x, &n->shape, 0));
}

static void emit_reshape(Ctx *x, Node *n, const char *v) /* f32 or i32 */
{
    cu_call(x, "nnrt_cuda_copy(m->cu, %s, %s, (size_t)(%s) * 4)", v, vname(n->in[0]), count_c(x, &n->shape, 0));
}

static void emit_gather(Ctx *x, Node *n, const char *v) /* a bad id: a range error at the end of the call */
{
    const Node *a = n->in[0];
    if (n->dtype == DT_I32) {
        emit_kernel_node(x, n, v);
        return;
    }
    cu_call(x, "nnrt_cuda_gather_rows(m->cu, %s, %s, %s, %s, %s, %s)", vname(a), size_c(x, a->shape.d[0]),
            count_c(x, &a->shape, 1), vname(n->in[1]), count_c(x, &n->in[1]->shape, 0), v);
}

static void emit_mulsum(Ctx *x, Node *n, const char *v)
{
    const Node *xx, *w;
    bool bat;
    if (!cu_mulsum_gemm(n, &xx, &w, &bat)) {
        emit_kernel_node(x, n, v);
        return;
    }
    const Shape *s = &xx->shape;
    char *d = size_c(x, s->d[s->rank - 1]);
    if (bat) /* B products x_b [M, D] y_b [D]: strided-batched GEMM */
        cu_call(x, "nnrt_cuda_gemm_batched(m->cu, 0, 0, %s, 1, %s, 1.0f, %s, nn_ld(%s), %s * %s, %s, 1, %s, 0.0f, %s, "
                   "1, %s, %s)",
                size_c(x, s->d[1]), d, vname(xx), d, size_c(x, s->d[1]), d, vname(w), d, v, size_c(x, s->d[1]),
                size_c(x, s->d[0]));
    else /* x [R, D] w [D]: a GEMM of N = 1 */
        cu_call(x, "nnrt_cuda_gemm(m->cu, 0, 0, (%s) / nn_ld(%s), 1, %s, 1.0f, %s, nn_ld(%s), %s, 1, 0.0f, %s, 1)",
                count_c(x, s, 0), d, d, vname(xx), d, vname(w), v);
}

static void emit_xent(Ctx *x, Node *n, const char *v)
{
    if (ir_is_int_scalar(n->in[1])) {
        emit_kernel_node(x, n, v);
        return;
    }
    char *len, *rows; /* a label per row */
    last_axis_rows(x, n->in[0], &len, &rows);
    cu_call(x, "nnrt_cuda_xent_rows(m->cu, %s, %s, %s, %s, %s)", vname(n->in[0]), vname(n->in[1]), v, rows, len);
}

static void emit_scatter(Ctx *x, Node *n, const char *v)
{
    if (ir_is_int_scalar(n->in[1])) {
        emit_kernel_node(x, n, v);
        return;
    }
    int i = n->op == OP_SPARSESCATTER ? info(n)->grad_of : -1;
    if (i >= 0 && cu_sparse_grad(x, i)) { /* a sparse gradient (cu_api.c): the last call's rows to zero */
        char *nids = count_c(x, &n->in[1]->shape, 0);
        cu_call(x, "nnrt_cuda_zero_rows(m->cu, %s, %s, %s, m->dtouched%d, m->ntouched%d)", v, size_c(x, n->shape.d[0]),
                count_c(x, &n->shape, 1), i, i);
        cu_count_bytes(x, shape_max_count(x->g, &n->in[1]->shape) * shape_max_count(x->g, &n->shape) /
                              n->shape.d[0].c * 4);
        cu_call(x, "nnrt_cuda_copy(m->cu, m->dtouched%d, %s, (size_t)(%s) * 4)", i, vname(n->in[1]), nids);
        cline(x, "m->ntouched%d = %s; /* this call's rows */", i, nids);
    } else { /* rows at ids: zeros, then the runtime's scatter (in order, no atomics) */
        cu_call(x, "nnrt_cuda_zero(m->cu, %s, (size_t)(%s) * 4)", v, count_c(x, &n->shape, 0));
        cu_count_bytes(x, shape_max_count(x->g, &n->shape) * 4);
    }
    cu_call(x, "nnrt_cuda_scatter_add_rows(m->cu, %s, %s, %s, %s, %s, %s, 0)", v, size_c(x, n->shape.d[0]),
            count_c(x, &n->shape, 1), vname(n->in[1]), count_c(x, &n->in[1]->shape, 0), vname(n->in[0]));
}

/* The CUDA code of each op that is more than a launch of its generated
 * kernel (cu_kernels.c), as c_target.c's c_family: one dispatch. */
static const CuEmitFn cu_family[OP_COUNT] = {
    [OP_ICONST] = c_emit_leaf, [OP_DIM] = c_emit_leaf, [OP_INPUT] = c_emit_leaf,
    [OP_IADD] = emit_int, [OP_ISUB] = emit_int, [OP_IMUL] = emit_int, [OP_CHECKIDX] = emit_int, [OP_PARAM] = emit_param,
    [OP_TODEVICE] = emit_to_device, [OP_TOHOST] = emit_to_host,
    [OP_MATVEC] = emit_products, [OP_MATMUL] = emit_products, [OP_BMM] = emit_products, [OP_OUTER] = emit_products,
    [OP_DOT] = emit_products,
    [OP_SOFTMAX] = emit_rows, [OP_LOGSOFTMAX] = emit_rows, [OP_LOGSUMEXP] = emit_rows, [OP_ROW] = emit_row,
    [OP_LOOP] = emit_device_loop, [OP_CARRY] = emit_loop_value, [OP_LOOPOUT] = emit_loop_value, [OP_INDEX] = emit_nothing,
    [OP_SCATTERROWS] = emit_loop_rows, [OP_CONCAT] = emit_concat, [OP_SLICE] = emit_slice, [OP_RESHAPE] = emit_reshape,
    [OP_GATHER] = emit_gather, [OP_MULSUM] = emit_mulsum, [OP_XENT] = emit_xent,
    [OP_SCATTERADD] = emit_scatter, [OP_SPARSESCATTER] = emit_scatter,
    /* the softmax approximations (cu_approx.c) */
    APPROX_OPS(cu_emit_approx),
};

/* Ops whose code declares nothing that could go unused, or declares it
 * [[maybe_unused]] itself. */
static bool quiet(Op op)
{
    return op == OP_TOHOST || op == OP_LOOP || op == OP_INDEX || op == OP_CARRY || op == OP_LOOPOUT ||
           op == OP_SCATTERROWS;
}

static void cu_emit_node(Ctx *x, Node *n)
{
    Graph *g = x->g;
    const char *v = vname(n);
    node_header(x, n);
    if (n->op != OP_TOHOST && has_buffer(n)) {
        if (n->dtype == DT_I32)
            cline(x, "int32_t *%s = (int32_t *)(void *)(%s);", v, value_ptr_c(x, n, "m->darena"));
        else if (info(n)->grad_of >= 0)
            cline(x, "float *%s = m->dgrads + %" PRId64 "; /* d loss / d %s */", v, x->param_off[info(n)->grad_of],
                  g->params[info(n)->grad_of].name);
        else
            cline(x, "float *%s = %s;", v, value_ptr_c(x, n, "m->darena"));
    }
    NN_ASSERT(cu_op(n->op)); /* supports_op said yes */
    (cu_family[n->op] ? cu_family[n->op] : emit_kernel_node)(x, n, v);
    if (info(n)->uses == 0 && !has_buffer(n) && !quiet(n->op))
        cline(x, "(void)%s;", v);
}

/* Does a node of the softmax approximations appear in x's or its train
 * graph's code? */
static bool uses_approx(const Ctx *x)
{
    for (const Ctx *c = x; c; c = c == x ? x->train : NULL)
        for (int i = 0; i < c->nall; i++)
            if (cu_family[c->all[i]->op] == cu_emit_approx)
                return true;
    return false;
}

/* The generated kernels of one graph's nodes. */
static void kernels_of(Ctx *x)
{
    for (int i = 0; i < x->nall; i++)
        if (cu_has_kernel(x->all[i]))
            cu_emit_kernel(x, x->all[i]);
}

static void cu_emit_prelude(Ctx *x)
{
    if (uses_approx(x)) /* nngc run (driver/run_cuda.c) compiles runtime/cuda/approx.cu only then */
        craw(x, "#define NNGC_APPROX_CU 1 /* calls runtime/cuda/approx.cu */\n\n");
    craw(x, "/* Leading dimension for cuBLAS: at least 1, even for an empty matrix. */\n");
    craw(x, "__attribute__((unused)) static inline int64_t nn_ld(int64_t n)\n{\n    return n > 1 ? n : 1;\n}\n\n");
    kernels_of(x);
    if (x->train)
        kernels_of(x->train);
    cu_loop_prelude(x);
    cu_api_prelude(x);
}

const Target target_cuda = {
    .name = "cuda",
    .abi_header = "nnrt_cuda_dev.cuh",
    .supports_op = cu_supports_op,
    .emit_node = cu_emit_node,
    .emit_prelude = cu_emit_prelude,
    .hook = cu_hook,
    .emit_update = cu_emit_update,
};
