/*
 * memplan.c - the memory plan: arena offsets of every buffer, params' offsets.
 */
#include "backend.h"


/* Most floats the arena or the params may hold: their byte sizes must fit
 * in a size_t and an int64 anywhere the generated code computes them. */
#define MAX_FLOATS (INT64_MAX / 64)

/* Appends a region of s's largest size to *total; returns its offset. A
 * model too large for memory is reported (once) instead. */
static int64_t take(Ctx *x, int64_t *total, const Shape *s, Loc loc)
{
    int64_t cnt = 0, off = *total;
    if (!count_hi(x->g, s, &cnt) || cnt > MAX_FLOATS - *total - ALIGN_FLOATS) {
        if (x->ok)
            emit_error(x, loc, "the model needs more memory than a C program can address");
        return 0;
    }
    /* round up; a scalar still takes one aligned slot */
    int64_t len = (cnt + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    *total += len ? len : ALIGN_FLOATS;
    return off;
}

/* Gives every buffer its arena offset: one region per non-view node, and
 * per loop one per carry, per carry that needs a temporary, per stack and
 * per sum. No reuse: the memory planner (a later pass) replaces this. */
void plan_memory(Ctx *x)
{
    Graph *g = x->g;
    x->param_off = xalloc(sizeof(int64_t) * (size_t)(g->nparams + 1));
    for (int i = 0; i < g->nparams; i++)
        x->param_off[i] = take(x, &x->params_floats, &g->params[i].shape, g->params[i].loc);
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        NodeInfo *ni = info(n);
        if (owns_buffer(n))
            ni->off = take(x, &x->arena_floats, &n->shape, n->loc);
        if (n->op != OP_LOOP)
            continue;
        Loop *l = n->loop;
        ni->carry_off = xalloc(sizeof(int64_t) * (size_t)(l->ncarry + 1));
        ni->tmp_off = xalloc(sizeof(int64_t) * (size_t)(l->ncarry + 1));
        ni->stack_off = xalloc(sizeof(int64_t) * (size_t)(l->nstack + 1));
        ni->sum_off = xalloc(sizeof(int64_t) * (size_t)(l->nsum + 1));
        for (int r = 0; r < l->ncarry; r++) {
            ni->carry_off[r] = take(x, &x->arena_floats, &l->carry[r]->shape, n->loc);
            /* A next value that reads a carry buffer of this loop would be
             * overwritten before it is copied: it goes through a temporary. */
            const Node *root = view_root(l->next[r]);
            bool aliases = root->op == OP_CARRY && root->loop == l && l->next[r] != l->carry[r];
            ni->tmp_off[r] = aliases ? take(x, &x->arena_floats, &l->carry[r]->shape, n->loc) : -1;
        }
        for (int r = 0; r < l->nstack; r++) {
            Shape s = l->stack[r]->shape;
            NN_ASSERT(s.rank < NN_MAXRANK);
            memmove(&s.d[1], &s.d[0], sizeof(Size) * (size_t)s.rank);
            s.d[0] = size_sub(l->hi, l->lo);
            s.rank++;
            ni->stack_off[r] = take(x, &x->arena_floats, &s, n->loc);
        }
        for (int r = 0; r < l->nsum; r++)
            ni->sum_off[r] = take(x, &x->arena_floats, &l->sum[r]->shape, n->loc);
    }
}

