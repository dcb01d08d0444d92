/*
 * walk.c - the emission order, use counts and where gradients are
 * computed (m->grads).
 */
#include "backend.h"

void collect_block(Ctx *x, Block *b)
{
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        n->aux = xalloc(sizeof(NodeInfo));
        info(n)->off = -1;
        info(n)->grad_of = -1;
        VEC_PUSH(x->all, x->nall, x->capall, n);
        if (n->op == OP_LOOP) {
            NN_ASSERT(n->loop && n->loop->node == n);
            collect_block(x, &n->loop->body);
        }
    }
}

void count_uses(Ctx *x)
{
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        for (int j = 0; j < n->nin; j++)
            info(n->in[j])->uses++;
        if (n->op == OP_LOOP) {
            Loop *l = n->loop;
            for (int r = 0; r < l->ncarry; r++)
                if (l->next[r] != l->carry[r]) /* c = c: nothing is copied, nothing read */
                    info(l->next[r])->uses++;
            for (int r = 0; r < l->nstack; r++)
                info(l->stack[r])->uses++;
            for (int r = 0; r < l->nsum; r++)
                info(l->sum[r])->uses++;
        }
    }
    for (int i = 0; i < x->g->noutputs; i++)
        info(x->g->outputs[i].value)->uses++;
    if (x->g->loss)
        info(x->g->loss)->uses++;
    for (int i = 0; x->g->grads && i < x->g->nparams; i++)
        if (x->g->grads[i])
            info(x->g->grads[i])->uses++;
}

/* In the train graph, a gradient that has a buffer of its own (or is the
 * sum of a loop) is computed right into the param's slot of m->grads,
 * instead of the arena and a copy. Not when the value is also the loss or
 * an output (those must outlive the call as they are), nor for the second
 * param of two with the same gradient node. */
void place_grads(Ctx *x)
{
    Graph *g = x->g;
    for (int i = 0; g->grads && i < g->nparams; i++) {
        Node *v = g->grads[i];
        if (!v || v == g->loss || info(v)->grad_of >= 0)
            continue;
        bool out = false;
        for (int k = 0; k < g->noutputs; k++)
            out = out || g->outputs[k].value == v;
        if (out)
            continue;
        if (has_buffer(v) && v->dtype == DT_F32) {
            info(v)->grad_of = i;
        } else if (v->op == OP_LOOPOUT) {
            Loop *l = v->in[0]->loop;
            int r = v->index - l->ncarry - l->nstack;
            if (r < 0)
                continue;
            NodeInfo *li = info(v->in[0]);
            if (!li->sum_grad_of) {
                li->sum_grad_of = xalloc(sizeof(int) * (size_t)(l->nsum + 1));
                for (int k = 0; k < l->nsum; k++)
                    li->sum_grad_of[k] = -1;
            }
            if (li->sum_grad_of[r] < 0) {
                li->sum_grad_of[r] = i;
                info(v)->grad_of = i;
            }
        }
    }
}

/* The scatter_rows a top-level loop sums into param i's gradient (computed
 * in place in m->grads: place_grads), or NULL: an RNN LM's output rows
 * under hier or neg, a batched skip-gram's context rows, where the rows
 * of every iteration add into the gradient. */
const Node *loop_sparse_scatter(Ctx *t, int i)
{
    const Node *v = t->g->grads ? t->g->grads[i] : NULL;
    if (!v || t->target->hook || v->op != OP_LOOPOUT || info(v)->grad_of != i)
        return NULL;
    const Loop *l = v->in[0]->loop;
    int r = v->index - l->ncarry - l->nstack;
    if (r < 0 || l->node->parent != &t->g->top)
        return NULL;
    const Node *s = l->sum[r];
    return s->op == OP_SCATTERROWS && s->parent == &l->body && s->in[1]->dtype == DT_I32 ? s : NULL;
}

/* Is param i's gradient (in train context t) a sparse_scatter_add (the
 * select pass) computed in place in m->grads, or a loop's sum of
 * scatter_rows (loop_sparse_scatter)? Then the model
 * keeps the list of rows it touched (touchedI, ntouchedI): the next call
 * zeroes only those, and SGD updates only those, as PyTorch's sparse
 * embedding gradients do, instead of a pass over the whole table. */
bool sparse_grad(Ctx *t, int i)
{
    const Node *v = t->g->grads ? t->g->grads[i] : NULL;
    if (t->target->hook) /* a device target: dense on the device (cu_target.c) */
        return false;
    return v && ((v->op == OP_SPARSESCATTER && info(v)->grad_of == i) || loop_sparse_scatter(t, i));
}

/* The most rows sparse gradient i's scatter may touch per call. */
int64_t sparse_grad_cap(Ctx *t, int i)
{
    const Node *s = loop_sparse_scatter(t, i), *sc = s ? s : t->g->grads[i];
    int64_t per = 0;
    for (int k = 1; k < sc->nin; k += sc->nin == 2 ? 2 : 3) { /* every segment's ids (the rows pass's segments) */
        const Node *ids = sc->in[k];
        per += ir_is_int_scalar(ids) ? 1 : shape_max_count(t->g, &ids->shape);
    }
    if (s) { /* every iteration's rows */
        const Loop *l = s->parent->loop;
        Shape trip = {.rank = 1, .d = {size_sub(l->hi, l->lo)}};
        per *= shape_max_count(t->g, &trip);
    }
    return per;
}

