/*
 * cu_approx.c - the softmax approximations on --target=cuda: the ops of
 * c_approx.c (sample, the sampling losses, hier's path and labels, the
 * logistic loss, class's ids and losses, the binary codes, embed's vMF
 * loss) as calls of runtime/cuda/approx.cu's kernels, and the model's
 * device copy of the structures built from the word counts.
 *
 * The structures (the noise's alias table, the Huffman tree, the classes)
 * are built on the host as the C target builds them (c_approx.c: at
 * NAME_create and NAME_set_counts), then uploaded once into m->dapx by
 * the first call after (m->dapx_ok), resident until NAME_destroy. The
 * draws of sample come from the C target's stream (seed, step, key), so
 * the device draws the C target's ids.
 *
 * An int operand is a host scalar (a kernel argument, checked on the host
 * before the launch, as the C target checks it) or a device tensor of one
 * per row (checked by the kernel: a range error at the end of the call).
 */
#include "backend.h"

#include <math.h>

/* Does a node of op appear in x's or its train graph's code? */
static bool has_op(const Ctx *x, Op op)
{
    for (const Ctx *c = x; c; c = c == x ? x->train : NULL)
        for (int i = 0; i < c->nall; i++)
            if (c->all[i]->op == op)
                return true;
    return false;
}

/* The model's fields, its upload (in NAME_params_dev) and its free. */
void cu_approx_api(Ctx *x, int what)
{
    if (!c_approx_includes(x))
        return;
    switch (what) {
    case 0:
        craw(x, "    nnrt_cuda_apx dapx; /* the structures from counts on the device (cu_approx.c) */\n");
        craw(x, "    int dapx_ok;        /* dapx holds the current ones (NAME_set_counts clears it) */\n");
        break;
    case 1:
        craw(x, "    if (!m->dapx_ok) { /* after create or NAME_set_counts: once */\n");
        craw(x, "        int rc = nnrt_cuda_apx_put(&m->dapx, %s, %s, %s);\n", c_uses_samples(x) ? "&m->noise" : "NULL",
             has_op(x, OP_HIERPATH) ? "&m->tree" : "NULL", has_op(x, OP_CLASSIDS) ? "&m->classes" : "NULL");
        craw(x, "        if (rc != NNRT_OK)\n            return rc;\n        m->dapx_ok = 1;\n    }\n");
        break;
    default:
        craw(x, "    nnrt_cuda_apx_free(&m->dapx);\n");
        break;
    }
}

/* An int operand: a host scalar for every row, or a device value per row. */
static char *ints_c(const Node *a)
{
    return ir_is_int_scalar(a) ? xsprintf("nnrt_cuda_ints_host(%s)", vname(a)) : xsprintf("nnrt_cuda_ints_dev(%s)", vname(a));
}

/* a host scalar id is checked here, as the C target does */
static void host_check(Ctx *x, const Node *n, const Node *y, int64_t bound)
{
    if (ir_is_int_scalar(y))
        emit_index_check(x, n, vname(y), int_lit(bound));
}

/* rows of a node whose operand a has them on its leading axis when its rank is `batched` */
static char *rows_of(Ctx *x, const Node *a, int batched)
{
    if (a->shape.rank < batched)
        return "1";
    Shape lead = a->shape; /* the axes before the last batched - 1 ([T, n, k+1]: T n rows) */
    lead.rank = a->shape.rank - batched + 1;
    return count_c(x, &lead, 0);
}

static char *last_dim(Ctx *x, const Node *a)
{
    return size_c(x, a->shape.d[a->shape.rank - 1]);
}

/* the incoming gradient: its pointer and row stride */
static char *grad_in(const Node *n)
{
    if (n->nin < 3)
        return "NULL, 0";
    return xsprintf("%s, %d", vname(n->in[2]), n->in[2]->shape.rank ? 1 : 0);
}

static int code_bits(const Node *n)
{
    int bits = 1;
    while (((int64_t)1 << bits) < n->size.c - n->index)
        bits++;
    return bits;
}

static void emit_sample(Ctx *x, Node *n, const char *v)
{
    cline(x, "{");
    x->indent++;
    char *ops = "";
    for (int j = 0; j < n->nin; j++)
        ops = xsprintf("%s%s%s", ops, j ? ", " : "", ints_c(n->in[j]));
    cline(x, "const nnrt_cuda_ints ops[%d] = {%s};", n->nin, ops);
    cu_call(x, "nnrt_cuda_sample(m->cu, &m->model->dapx, m->seed, m->step, %d, ops, %d, %s, %" PRId64 ", %s)", n->index,
            n->nin, rows_of(x, n, 2), n->i, v);
    craw(x, "#ifdef NNGC_SAMPLE_HOOK\n"); /* a test sees every draw, as the C target's (c_approx.c) */
    cline(x, "for (int64_t t = 0; t < %s; t++) {", rows_of(x, n, 2));
    cline(x, "    int32_t hk[%" PRId64 "];", n->i + 1);
    cline(x, "    if ((rc = nnrt_cuda_get_now(m->cu, hk, %s + t * %" PRId64 ", sizeof hk)) != NNRT_OK)", v, n->i + 1);
    cline(x, "        return rc;");
    cline(x, "    NNGC_SAMPLE_HOOK(%d, hk, %" PRId64 ");", n->index, n->i + 1);
    cline(x, "}");
    craw(x, "#endif\n");
    x->indent--;
    cline(x, "}");
}

static void emit_segment(Ctx *x, Node *n, const char *v)
{
    const Node *z = n->in[0];
    const char *method = "NNRT_APX_LOGISTIC";
    double lognk = 0.0;
    switch (n->op) {
    case OP_NEGLOSS: case OP_NEGLOSSGRAD: method = "NNRT_APX_NEG"; break;
    case OP_NCELOSS: case OP_NCEGRAD: method = "NNRT_APX_NCE"; lognk = log((double)(n->i - 1)); break;
    case OP_SAMPLEDLOSS: case OP_SAMPLEDGRAD: method = "NNRT_APX_SAMPLED"; break;
    default: break;
    }
    cu_call(x, "nnrt_cuda_apx_segment(m->cu, %s, %s, %s, %s, %s, %s, %s, %d, %" PRId64 ", %s, %s)", method, vname(z),
            vname(n->in[1]), grad_in(n), v, rows_of(x, z, 2), last_dim(x, z), n->index, n->i,
            n->op == OP_LOGISTICLOSS || n->op == OP_LOGISTICGRAD ? "NULL" : "&m->model->dapx", double_lit(lognk));
}

void cu_emit_approx(Ctx *x, Node *n, const char *v)
{
    const Node *a = n->in[0], *b = n->nin > 1 ? n->in[1] : NULL;
    switch (n->op) {
    case OP_SAMPLE:
        emit_sample(x, n, v);
        break;
    case OP_HIERPATH: case OP_HIERLABEL:
        host_check(x, n, a, n->size.c);
        cu_call(x, "nnrt_cuda_hier(m->cu, &m->model->dapx, %d, %s, %s, %" PRId64 ", %s)", n->op == OP_HIERLABEL,
                ints_c(a), rows_of(x, a, 1), n->i, v);
        break;
    case OP_CLASSIDS:
        host_check(x, n, a, n->size.c);
        cu_call(x, "nnrt_cuda_class_ids(m->cu, &m->model->dapx, %s, %s, %" PRId64 ", %s)", ints_c(a),
                rows_of(x, a, 1), n->i, v);
        break;
    case OP_CLASSLOSS: case OP_CLASSGRAD:
        host_check(x, n, b, n->size.c);
        cu_call(x, "nnrt_cuda_class(m->cu, &m->model->dapx, %d, %s, %s, %s, %s, %s, %s)", n->index, vname(a), ints_c(b),
                grad_in(n), v, rows_of(x, a, 2), last_dim(x, a));
        break;
    case OP_BINSLOT:
        if (ir_is_int_scalar(n)) { /* a host id: on the host, as the C target */
            c_emit_approx(x, n, v);
            break;
        }
        /* fall through */
    case OP_BINCODE:
        host_check(x, n, a, n->size.c);
        cu_call(x, "nnrt_cuda_bincode(m->cu, %s, %" PRId64 ", %d, %d, %" PRId64 ", %s, %s)", ints_c(a), n->size.c,
                n->index, code_bits(n), n->op == OP_BINSLOT ? 0 : n->i, rows_of(x, a, 1), v);
        break;
    case OP_BINLOGZ:
        host_check(x, n, b, n->size.c);
        cu_call(x, "nnrt_cuda_bin_logz(m->cu, %s, %s, %" PRId64 ", %d, %d, %d, %s, %s, %s)", vname(a), ints_c(b),
                n->size.c, n->index, code_bits(n), (int)n->i, rows_of(x, a, 2), last_dim(x, a), v);
        break;
    case OP_VMFLOSS: case OP_VMFGRAD:
        cu_call(x, "nnrt_cuda_vmf(m->cu, %s, %s, %s, %s, %s, %s, %s, %s)", vname(a), vname(b), grad_in(n), v,
                rows_of(x, a, 2), last_dim(x, a), double_lit(n->approx.lambda1), double_lit(n->approx.lambda2));
        break;
    default:
        emit_segment(x, n, v);
        break;
    }
}
