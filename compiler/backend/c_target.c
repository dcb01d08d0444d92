/*
 * c_target.c - the C target: one thin switch from a node to the file of
 * its op family (c_*.c), and the C helpers model.c may need.
 */
#include "backend.h"

/* Is a the logits of a logsumexp/pick that are not stored (count_uses)? */
bool unstored_logits(const Node *a) { return a->op == OP_MATMUL && info(a)->direct; }

/* Does some logsumexp or cross-entropy of either graph use the inline
 * nn_lse (not nnrt_linear_lse)? An unused static function is a warning. */
static bool ctx_uses_nn_lse(Ctx *x)
{
    for (int i = 0; i < x->nall; i++) {
        const Node *n = x->all[i];
        if (n->op == OP_XENT || (n->op == OP_LOGSUMEXP && !unstored_logits(n->in[0])))
            return true;
    }
    return false;
}

bool uses_nn_lse(Ctx *x) { return ctx_uses_nn_lse(x) || (x->train && ctx_uses_nn_lse(x->train)); }

bool uses_nn_ld(Ctx *x)
{
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        if (n->op == OP_MATVEC && !size_is_const(n->in[0]->shape.d[1]))
            return true;
        if (n->op == OP_MATMUL && (!size_is_const(n->in[0]->shape.d[1]) || !size_is_const(n->in[1]->shape.d[1]) ||
                                   !size_is_const(n->shape.d[1])))
            return true;
    }
    return false;
}

/* One statement group: the node's variable and the code computing it. */
static void emit_node(Ctx *x, Node *n)
{
    Graph *g = x->g;
    const char *v = vname(n);
    node_header(x, n);
    if (info(n)->direct) {
        cline(x, n->op == OP_GATHER   ? "/* rows read in place by the sum over them */"
                 : n->op == OP_MATMUL ? "/* not stored: its logsumexp and picks read the operands */"
                                      : "/* rows added into the loop's sum at the end of the iteration */");
        return;
    }
    if (has_buffer(n)) {
        if (n->dtype == DT_I32)
            cline(x, "int32_t *%s = (int32_t *)(void *)(m->arena + %" PRId64 ");", v, info(n)->off);
        else
            if (info(n)->grad_of >= 0)
                cline(x, "float *%s = m->grads + %" PRId64 "; /* d loss / d %s */", v,
                      x->param_off[info(n)->grad_of], g->params[info(n)->grad_of].name);
            else
                cline(x, "float *%s = m->arena + %" PRId64 ";", v, info(n)->off);
    }
    if (op_flags[n->op] & OPF_ELEMWISE) {
        emit_elementwise(x, n, v);
        goto done;
    }
    switch (n->op) {
    case OP_CONST: case OP_FILL: case OP_BROADCAST: case OP_EXPAND: case OP_SUMTO: case OP_FUSED:
        c_emit_elem(x, n, v);
        break;
    case OP_MATVEC: case OP_MATMUL: case OP_TRANSPOSE: case OP_DOT: case OP_OUTER:
        c_emit_blas(x, n, v);
        break;
    case OP_SUM: case OP_MEAN: case OP_SUMAXIS: case OP_MEANAXIS: case OP_SOFTMAX: case OP_LOGSOFTMAX:
    case OP_XENT: case OP_LOGSUMEXP: case OP_PICK: case OP_BXENT: case OP_SOFTMAXGRAD: case OP_LOGSOFTMAXGRAD:
        c_emit_reduce(x, n, v);
        break;
    case OP_ROW: case OP_GATHER: case OP_SCATTERADD: case OP_PICKGRAD: case OP_CONCAT: case OP_SLICE:
        c_emit_gather(x, n, v);
        break;
    case OP_ICONST: case OP_PARAM: case OP_INPUT: case OP_DIM: case OP_INDEX: case OP_IADD: case OP_ISUB:
    case OP_IMUL: case OP_RANGE:
        c_emit_leaf(x, n, v);
        break;
    case OP_LOOP: case OP_CARRY: case OP_LOOPOUT:
        c_emit_loop(x, n, v);
        break;
    default:
        NN_ASSERT(!"op without C code");
    }
done:
    /* a value nobody reads would be an unused-variable warning */
    if (info(n)->uses == 0 && n->op != OP_LOOP && n->op != OP_INDEX && !has_buffer(n))
        cline(x, "(void)%s;", v);
}

void emit_block(Ctx *x, Block *b)
{
    for (int i = 0; i < b->n; i++)
        emit_node(x, b->nodes[i]);
}
