/*
 * dce.c - dead code elimination, loops included.
 *
 * Live values are found by a worklist from the roots (outputs, loss, grads):
 * a live node makes its operands live; a live LOOPOUT makes its loop node
 * and the body value behind it (carry's next value, stacked or summed
 * value) live; a live CARRY node makes its carry's next value and initial
 * value live. Then dead nodes are removed, and each loop drops the carries,
 * stacks and sums nobody needs (renumbering CARRY and LOOPOUT indices). A
 * loop left without results disappears with its body.
 *
 * Requires: a verified graph. Uses Node.mark (cleared here).
 */
#include "nngc.h"

#include <string.h>

typedef struct Work {
    Node **v;
    int n, cap;
} Work;

static void mark(Work *w, Node *n) {
    if (!n || n->mark)
        return;
    n->mark = 1;
    VEC_PUSH(w->v, w->n, w->cap, n);
}

static void propagate(Work *w) {
    while (w->n > 0) {
        Node *n = w->v[--w->n];
        /* a loop's operands are its carries' initial values: live only
         * with their carry (below) */
        for (int i = 0; n->op != OP_LOOP && i < n->nin; i++)
            mark(w, n->in[i]);
        if (n->op == OP_LOOPOUT) {
            Loop *l = n->in[0]->loop;
            mark(w, l->node);
            mark(w, ir_loop_value(l, n->index));
            if (n->index < l->ncarry)
                mark(w, l->carry[n->index]);
        } else if (n->op == OP_CARRY) {
            mark(w, n->loop->next[n->index]);
            mark(w, n->loop->node->in[n->index]);
        } else if (n->op == OP_LOOP) {
            mark(w, n->loop->index);
        }
    }
}

/* Drops the unneeded results of a live loop (LOOPOUTs outs[r], NULL where
 * none) and renumbers the rest. */
static void shrink_loop(Loop *l, Node **outs) {
    int nr = 0;
    /* carries: keep if the carry node (inside) or its result (outside) is live */
    int nc = 0;
    for (int r = 0; r < l->ncarry; r++) {
        bool live = l->carry[r]->mark || (outs[r] && outs[r]->mark);
        if (!live)
            continue;
        l->carry[nc] = l->carry[r];
        l->next[nc] = l->next[r];
        l->node->in[nc] = l->node->in[r];
        l->carry[nc]->index = nc;
        if (outs[r])
            outs[r]->index = nr;
        nc++, nr++;
    }
    int ns = 0;
    for (int s = 0; s < l->nstack; s++) {
        Node *o = outs[l->ncarry + s];
        if (!o || !o->mark)
            continue;
        l->stack[ns++] = l->stack[s];
        o->index = nr++;
    }
    int nu = 0;
    for (int s = 0; s < l->nsum; s++) {
        Node *o = outs[l->ncarry + l->nstack + s];
        if (!o || !o->mark)
            continue;
        l->sum[nu++] = l->sum[s];
        o->index = nr++;
    }
    l->ncarry = nc;
    l->node->nin = nc;
    l->nstack = ns;
    l->nsum = nu;
}

static void sweep(Block *b) {
    NodeIndex loops = {0};
    Node ***outs = ir_block_loop_outs(b, &loops); /* one walk of b: a walk per loop made loops in a row quadratic */
    int keep = 0;
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (!n->mark)
            continue;
        if (n->op == OP_LOOP) {
            shrink_loop(n->loop, outs[node_index_get(&loops, n)]);
            sweep(&n->loop->body);
        }
        b->nodes[keep++] = n;
    }
    b->n = keep;
}

void dce_mark_live(Graph *g) {
    ir_clear_marks(&g->top);
    Work w = {0};
    for (int i = 0; i < g->noutputs; i++)
        mark(&w, g->outputs[i].value);
    mark(&w, g->loss);
    for (int i = 0; g->grads && i < g->nparams; i++)
        mark(&w, g->grads[i]); /* the train graph's gradients are results too */
    propagate(&w);
}

void dce_mark_from(Graph *g, Node *root) {
    ir_clear_marks(&g->top);
    Work w = {0};
    mark(&w, root);
    propagate(&w);
}

void pass_dce(PassCtx *pc) {
    Graph *g = pc->g;
    dce_mark_live(g);
    sweep(&g->top);
    ir_clear_marks(&g->top);
}
