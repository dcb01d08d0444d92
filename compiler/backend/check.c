/*
 * check.c - what the C backend rejects, found before a byte is written:
 * names that cannot be C identifiers (names.c), ops the target lacks,
 * shapes that do not broadcast, tensors too large for memory.
 */
#include "backend.h"

/* Can operand a be broadcast to shape out (NumPy rules, sizes symbolic)? */
bool broadcasts_to(const Shape *a, const Shape *out)
{
    if (a->rank > out->rank)
        return false;
    for (int i = 0; i < a->rank; i++) {
        Size d = a->d[i], o = out->d[i + out->rank - a->rank];
        if (!size_eq(d, o) && !size_is_one(d))
            return false;
    }
    return true;
}

/* Rejects, with a message, what this backend cannot compile; bounds every
 * buffer. Runs before anything is written. */
void check_graph(Ctx *x)
{
    Graph *g = x->g;
    check_model_name(x, g->model, g->model_loc.line > 0 ? g->model_loc : NO_LOC);
    for (int i = 0; i < g->ndims; i++)
        if (g->dims[i].dynamic)
            check_name(x, "dim", g->dims[i].name, g->dims[i].loc);
    for (int i = 0; i < g->ninputs; i++)
        check_name(x, "input", g->inputs[i].name, g->inputs[i].loc);
    for (int i = 0; i < g->noutputs; i++) {
        OutputDecl *o = &g->outputs[i];
        check_name(x, "output", o->name, o->loc);
        if (g->loss && o->name && strcmp(o->name, "loss") == 0)
            emit_error(x, o->loc, "an output named 'loss' clashes with the program's loss");
        NN_ASSERT(o->value && o->value->parent == &g->top);
        if (o->value->dtype != DT_F32)
            emit_error(x, o->loc, "output '%s' is an int value; target '%s' returns float outputs only",
                       o->name, x->target->name);
    }
    if (g->loss) {
        NN_ASSERT(g->loss->parent == &g->top);
        NN_ASSERT(g->loss->dtype == DT_F32 && g->loss->shape.rank == 0);
    }
    if (x->target->hook && g->grads && g->opt.kind == OPT_ADAM && g->opt.lazy) /* device update is dense */
        emit_error(x, g->opt.loc, "target '%s' does not support adam(lazy = 1) (its optimizer updates every row)",
                   x->target->name);
    if (g->ndyn > NN_MAXDYN)
        emit_error(x, NO_LOC, "more than %d dynamic dims", NN_MAXDYN);

    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        NN_ASSERT(n->op != OP_PARAM || (n->index >= 0 && n->index < g->nparams));
        NN_ASSERT(n->op != OP_INPUT || (n->index >= 0 && n->index < g->ninputs));
        NN_ASSERT((n->op != OP_LOOP && n->op != OP_INDEX && n->op != OP_CARRY) || n->loop);
        int64_t cnt;
        if (n->op != OP_LOOP && !count_hi(g, &n->shape, &cnt)) {
            emit_error(x, n->loc, "a tensor of this size does not fit in memory");
            continue;
        }
        char why[160];
        if (!x->target->supports_op(g, n, why, sizeof why)) {
            emit_error(x, n->loc, "target '%s' does not support %s (%s)", x->target->name, op_name[n->op], why);
            continue;
        }
        if ((op_flags[n->op] & OPF_ELEMWISE) && n->nin == 2 &&
            (!broadcasts_to(&n->in[0]->shape, &n->shape) || !broadcasts_to(&n->in[1]->shape, &n->shape)))
            emit_error(x, n->loc, "%s: operand shapes do not broadcast to the result", op_name[n->op]);
        if (n->op == OP_BROADCAST && !broadcasts_to(&n->in[0]->shape, &n->shape))
            emit_error(x, n->loc, "broadcast: the operand does not broadcast to the result");
        if (n->op == OP_SUMTO && !broadcasts_to(&n->shape, &n->in[0]->shape))
            emit_error(x, n->loc, "sum_to: the result does not broadcast to the operand");
        if (n->op == OP_BXENT && !shape_eq(&n->in[0]->shape, &n->in[1]->shape))
            emit_error(x, n->loc, "binary_cross_entropy of operands of different shapes");
        if (n->op == OP_LOOP) {
            Loop *l = n->loop;
            for (int r = 0; r < l->nstack; r++)
                if (l->stack[r]->shape.rank >= NN_MAXRANK)
                    emit_error(x, l->stack[r]->loc, "stacking this value would give a tensor of rank %d (at most %d)",
                               l->stack[r]->shape.rank + 1, NN_MAXRANK);
        }
    }
}

