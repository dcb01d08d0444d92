/*
 * c_target.c - the C target: one thin switch from a node to the file of
 * its op family (c_*.c), and the C helpers model.c may need.
 */
#include "backend.h"

/* Does some logsumexp or cross-entropy of either graph use the inline
 * nn_lse? An unused static function is a warning. */
static bool ctx_uses_nn_lse(Ctx *x)
{
    for (int i = 0; i < x->nall; i++) {
        const Node *n = x->all[i];
        if (n->op == OP_XENT || n->op == OP_LOGSUMEXP)
            return true;
    }
    return false;
}

static bool uses_nn_lse(Ctx *x) { return ctx_uses_nn_lse(x) || (x->train && ctx_uses_nn_lse(x->train)); }

/* Does some BLAS call of the graph have a dynamic leading dimension (nn_ld)? */
static bool ctx_uses_nn_ld(Ctx *x)
{
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        if (n->op == OP_MATVEC && !size_is_const(n->in[0]->shape.d[1]))
            return true;
        if (n->op == OP_MATMUL || n->op == OP_BMM) /* the leading dims: the last axes (rank > 2: stacked rows) */
            for (int k = 0; k < 3; k++) {
                const Shape *s = k == 2 ? &n->shape : &n->in[k]->shape;
                if (!size_is_const(s->d[s->rank - 1]))
                    return true;
            }
        if (n->op == OP_LINEARLSE && (!size_is_const(n->in[0]->shape.d[1]) || !size_is_const(n->in[1]->shape.d[1])))
            return true;
    }
    return false;
}

static bool uses_nn_ld(Ctx *x) { return ctx_uses_nn_ld(x) || (x->train && ctx_uses_nn_ld(x->train)); }

/* The C code of each op, by family (c_*.c); NULL: the C target has none
 * (ARG only appears inside a fused body, which c_elem.c writes whole). */
typedef void (*EmitFn)(Ctx *x, Node *n, const char *v);
static const EmitFn c_family[OP_COUNT] = {
    [OP_CONST] = c_emit_elem, [OP_FILL] = c_emit_elem, [OP_BROADCAST] = c_emit_elem, [OP_EXPAND] = c_emit_elem,
    [OP_SUMTO] = c_emit_elem, [OP_FUSED] = c_emit_elem,
    [OP_ADD] = c_emit_elem, [OP_SUB] = c_emit_elem, [OP_MUL] = c_emit_elem, [OP_DIV] = c_emit_elem,
    [OP_NEG] = c_emit_elem, [OP_TANH] = c_emit_elem, [OP_RELU] = c_emit_elem, [OP_SIGMOID] = c_emit_elem,
    [OP_EXP] = c_emit_elem, [OP_LOG] = c_emit_elem, [OP_SQRT] = c_emit_elem, [OP_ABS] = c_emit_elem,
    [OP_LOGSIGMOID] = c_emit_elem,
    [OP_SIGN] = c_emit_elem, [OP_STEP] = c_emit_elem, [OP_MULSUM] = c_emit_elem,
    [OP_MATVEC] = c_emit_blas, [OP_MATMUL] = c_emit_blas, [OP_TRANSPOSE] = c_emit_blas, [OP_DOT] = c_emit_blas,
    [OP_OUTER] = c_emit_blas, [OP_BMM] = c_emit_blas,
    [OP_SUM] = c_emit_reduce, [OP_MEAN] = c_emit_reduce, [OP_SUMAXIS] = c_emit_reduce,
    [OP_MEANAXIS] = c_emit_reduce, [OP_SOFTMAX] = c_emit_reduce, [OP_LOGSOFTMAX] = c_emit_reduce,
    [OP_XENT] = c_emit_reduce, [OP_LOGSUMEXP] = c_emit_reduce, [OP_PICK] = c_emit_reduce,
    [OP_BXENT] = c_emit_reduce, [OP_SOFTMAXGRAD] = c_emit_reduce, [OP_LOGSOFTMAXGRAD] = c_emit_reduce,
    [OP_ROW] = c_emit_gather, [OP_GATHER] = c_emit_gather, [OP_SCATTERADD] = c_emit_gather,
    [OP_PICKGRAD] = c_emit_gather, [OP_CONCAT] = c_emit_gather, [OP_SLICE] = c_emit_gather, [OP_RESHAPE] = c_emit_gather,
    [OP_GATHERSUM] = c_emit_gather, [OP_GATHERMEAN] = c_emit_gather, [OP_SCATTERROWS] = c_emit_gather,
    [OP_SPARSESCATTER] = c_emit_gather, [OP_ROWSDOT] = c_emit_gather, [OP_ROWSWSUM] = c_emit_gather,
    [OP_LINEARLSE] = c_emit_reduce, [OP_LINEARPICK] = c_emit_reduce,
    [OP_ICONST] = c_emit_leaf, [OP_PARAM] = c_emit_leaf, [OP_INPUT] = c_emit_leaf, [OP_DIM] = c_emit_leaf,
    [OP_INDEX] = c_emit_leaf, [OP_IADD] = c_emit_leaf, [OP_ISUB] = c_emit_leaf, [OP_IMUL] = c_emit_leaf,
    [OP_CHECKIDX] = c_emit_leaf, [OP_RANGE] = c_emit_leaf,
    APPROX_OPS(c_emit_approx),
    [OP_LOOP] = c_emit_loop, [OP_CARRY] = c_emit_loop, [OP_LOOPOUT] = c_emit_loop,
};

/* Operand positions that take an int value. */
static bool int_operand_ok(const Node *n, int j)
{
    switch (n->op) {
    case OP_IADD: case OP_ISUB: case OP_IMUL: case OP_CHECKIDX:
        return true;
    case OP_ROW: case OP_GATHER:
        return true; /* rows of int tensors are int; the index is int */
    case OP_CONCAT:
        return true; /* two int tensors make one */
    case OP_RESHAPE:
        return true; /* the same ints, another shape */
    case OP_SAMPLE:
        return true; /* the target and the loop indexes */
    case OP_HIERPATH: case OP_HIERLABEL: case OP_CLASSIDS: case OP_BINCODE: case OP_BINSLOT:
        return true; /* the target */
    case OP_CLASSLOSS: case OP_CLASSGRAD: case OP_BINLOGZ:
        return j == 1;
    case OP_NEGLOSS: case OP_NEGLOSSGRAD: case OP_LOGISTICLOSS: case OP_LOGISTICGRAD:
    case OP_NCELOSS: case OP_NCEGRAD: case OP_SAMPLEDLOSS: case OP_SAMPLEDGRAD:
        return j == 1;
    case OP_SCATTERADD: case OP_SCATTERROWS: case OP_SPARSESCATTER:
        return j % 3 == 1; /* the ids (of each segment g, ids, h) */
    case OP_XENT: case OP_PICK: case OP_PICKGRAD: case OP_GATHERSUM: case OP_GATHERMEAN: case OP_ROWSDOT:
    case OP_ROWSWSUM:
        return j == 1;
    case OP_LINEARPICK:
        return j == 2;
    case OP_LOOPOUT:
        return true; /* its operand is the LOOP node */
    case OP_FUSED:
        return true; /* labels of pick_grad members (the verifier checks) */
    default:
        return false;
    }
}

/* A LOOPOUT of a stacked result (int rows of a loop: the mask tables of
 * nngc --batch). */
static bool stacked_result(const Node *n)
{
    if (n->op != OP_LOOPOUT)
        return false;
    const Loop *l = n->in[0]->loop;
    return n->index >= l->ncarry && n->index < l->ncarry + l->nstack;
}

/* Target.supports_op: the ops with C code, and the dtypes that code handles
 * (int values are scalars, or the int tensors of inputs, rows, gathers and
 * index arithmetic). */
static bool c_supports_op(const Graph *g, const Node *n, char *why, size_t len)
{
    (void)g;
    if (n->op < 0 || n->op >= OP_COUNT || !c_family[n->op]) {
        snprintf(why, len, "no C code for this op");
        return false;
    }
    if ((op_flags[n->op] & OPF_SOFTMAX) && n->approx.kind != APPROX_FULL) {
        snprintf(why, len, "softmax approximation '%s' is not implemented yet", approx_name[n->approx.kind]);
        return false;
    }
    for (int j = 0; j < n->nin; j++)
        if (n->in[j]->dtype == DT_I32 && !int_operand_ok(n, j)) {
            snprintf(why, len, "an int operand");
            return false;
        }
    if (n->dtype == DT_I32 && !ir_is_int_scalar(n) && n->op != OP_INPUT && n->op != OP_ROW && n->op != OP_GATHER &&
        n->op != OP_LOOPOUT &&
        n->op != OP_RANGE && n->op != OP_RESHAPE && n->op != OP_CONCAT && n->op != OP_SAMPLE && n->op != OP_HIERPATH &&
        n->op != OP_HIERLABEL && n->op != OP_CLASSIDS && n->op != OP_BINCODE && n->op != OP_BINSLOT &&
        !(op_flags[n->op] & OPF_INT)) {
        snprintf(why, len, "an int tensor as its result");
        return false;
    }
    if ((n->op == OP_CARRY || n->op == OP_LOOPOUT) && n->dtype == DT_I32 && !stacked_result(n)) {
        snprintf(why, len, "an int value carried or summed by a loop");
        return false;
    }
    if (n->op == OP_LOOP) { /* int values are stacked (4 bytes, as floats), not summed */
        Loop *l = n->loop;
        for (int r = 0; r < l->nsum; r++)
            if (l->sum[r]->dtype != DT_F32) {
                snprintf(why, len, "summing an int value");
                return false;
            }
    }
    return true;
}

/* The variable of n, which has a buffer: where in the arena (or m->grads)
 * its value is. */
void c_decl_buffer(Ctx *x, const Node *n)
{
    const char *v = vname(n);
    if (n->dtype == DT_I32)
        cline(x, "int32_t *%s = (int32_t *)(void *)(%s);", v, value_ptr_c(x, n, "m->arena"));
    else if (info(n)->grad_of >= 0)
        cline(x, "float *%s = m->grads + %" PRId64 "; /* d loss / d %s */", v, x->param_off[info(n)->grad_of],
              x->g->params[info(n)->grad_of].name);
    else
        cline(x, "float *%s = %s;", v, value_ptr_c(x, n, "m->arena"));
}

/* Target.emit_node: one statement group, the node's variable and the code
 * computing it. */
static void c_emit_node(Ctx *x, Node *n)
{
    const char *v = vname(n);
    node_header(x, n);
    if (n->op == OP_SCATTERROWS) {
        cline(x, "/* rows added into the loop's sum at the end of the iteration */");
        return;
    }
    if (has_buffer(n))
        c_decl_buffer(x, n);
    NN_ASSERT(n->op >= 0 && n->op < OP_COUNT && c_family[n->op]); /* supports_op said yes */
    c_family[n->op](x, n, v);
    /* a value nobody reads would be an unused-variable warning */
    if (info(n)->uses == 0 && n->op != OP_LOOP && n->op != OP_INDEX && !has_buffer(n))
        cline(x, "(void)%s;", v);
}

/* Target.emit_prelude: the static helpers model.c's functions call, each
 * only when used (an unused static function is a warning). */
static void c_emit_prelude(Ctx *x)
{
    c_approx_prelude(x);
    if (uses_nn_lse(x)) {
        craw(x, "/* log sum exp of a row (finite or not), with nnrt_abi.h's inline one-pass row loop */\n");
        craw(x, "static inline float nn_lse(const float *z, int64_t n)\n{\n    return nnrt_lse_row(z, n);\n}\n\n");
    }
    if (uses_nn_ld(x)) {
        craw(x, "/* Leading dimension for BLAS: at least 1, even for an empty matrix. */\n");
        craw(x, "static inline int64_t nn_ld(int64_t n)\n{\n    return n > 1 ? n : 1;\n}\n\n");
    }
}

const Target target_c = {
    .name = "c",
    .abi_header = "nnrt_abi.h",
    .supports_op = c_supports_op,
    .emit_node = c_emit_node,
    .emit_prelude = c_emit_prelude,
};

void emit_block(Ctx *x, Block *b)
{
    for (int i = 0; i < b->n; i++)
        x->target->emit_node(x, b->nodes[i]);
}
