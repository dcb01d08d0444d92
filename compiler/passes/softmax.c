/*
 * softmax.c - lowering of the softmax nodes.
 *
 * A full cross_entropy(z, y) is logsumexp(z) - z[y]. Written that way the
 * normalizer logsumexp(z) is a node of its own: when several losses share
 * the logits (the four context words of skip-gram share Wc @ e), cse
 * merges the normalizers and hoist/batch move them like any other node,
 * so the expensive part over the vocabulary is computed once.
 *
 * Approximations (neg, nce, hier, ...) are chosen per node by `with` or
 * --softmax; their lowering belongs here too and comes with the softmax
 * approximations issue. Nodes with an approximation are left as they are
 * (the backend reports them).
 *
 * Requires: a verified graph. The expanded XENT node is bypassed (dce
 * removes it).
 */
#include "nngc.h"

/* The uses of each expanded XENT node are replaced in one walk of the
 * graph at the end (a walk per node: n cross_entropy terms took n walks). */
static int lower_block(Graph *g, Block *b, Replacements *rp) {
    int changed = 0;
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op == OP_LOOP) {
            changed += lower_block(g, &n->loop->body, rp);
            continue;
        }
        if (n->op != OP_XENT || n->approx.kind != APPROX_FULL)
            continue;
        Builder at = build_at(g, b, i + 1, BUILD_ASSERT, "softmax");
        Node *lse = build_op1(&at, OP_LOGSUMEXP, n->in[0], n->loc);
        Node *pick = build_op2(&at, OP_PICK, n->in[0], n->in[1], n->loc);
        Node *sub = build_op2(&at, OP_SUB, lse, pick, n->loc);
        sub->name = n->name;
        ir_repl_add(rp, n, sub);
        i += 3;
        changed++;
    }
    return changed;
}

void pass_softmax(PassCtx *pc) {
    Replacements rp = {0};
    lower_block(pc->g, &pc->g->top, &rp);
    ir_repl_apply(pc->g, &rp);
}
