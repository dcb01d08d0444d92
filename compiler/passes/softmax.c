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

static Node *typed(Graph *g, Node *n) {
    char err[256];
    bool ok = ir_infer(g, n, err, sizeof err);
    NN_ASSERT(ok);
    return n;
}

static int lower_block(Graph *g, Block *b) {
    int changed = 0;
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op == OP_LOOP) {
            changed += lower_block(g, &n->loop->body);
            continue;
        }
        if (n->op != OP_XENT || n->approx.kind != APPROX_FULL)
            continue;
        Node *lse = typed(g, ir_new_node(OP_LOGSUMEXP, 1, (Node *[]){n->in[0]}, n->loc));
        Node *pick = typed(g, ir_new_node(OP_PICK, 2, (Node *[]){n->in[0], n->in[1]}, n->loc));
        Node *sub = typed(g, ir_new_node(OP_SUB, 2, (Node *[]){lse, pick}, n->loc));
        sub->name = n->name;
        ir_insert(b, i + 1, lse);
        ir_insert(b, i + 2, pick);
        ir_insert(b, i + 3, sub);
        ir_replace_uses(g, n, sub);
        i += 3;
        changed++;
    }
    return changed;
}

void pass_softmax(PassCtx *pc) { lower_block(pc->g, &pc->g->top); }
