/*
 * cse.c - common subexpression elimination.
 *
 * Two nodes with the same op, attributes and operands compute the same
 * value (every op is pure), so a later one is replaced by the earlier one
 * when the earlier one is visible there: in the same block before it, or
 * in an enclosing block. Loop-defined nodes (INDEX, CARRY, LOOP, LOOPOUT)
 * are never merged.
 *
 * Requires: a verified graph. The replaced nodes are removed.
 */
#include "nngc.h"

#include <string.h>

typedef struct Avail {
    Node **v;
    int n, cap;
} Avail;

static bool same_size(Size a, Size b) { return size_eq(a, b); }

static bool same_node(const Node *a, const Node *b) {
    if (a->op != b->op || a->dtype != b->dtype || a->nin != b->nin)
        return false;
    if (!shape_eq(&a->shape, &b->shape))
        return false;
    for (int i = 0; i < a->nin; i++)
        if (a->in[i] != b->in[i])
            return false;
    /* attributes: compare bit patterns of f so that -0.0 and 0.0 differ */
    if (memcmp(&a->f, &b->f, sizeof a->f) != 0 || a->i != b->i || a->index != b->index)
        return false;
    if (!same_size(a->size, b->size) || a->ta != b->ta || a->tb != b->tb)
        return false;
    if (a->approx.kind != b->approx.kind || a->approx.k != b->approx.k ||
        a->approx.share_batch != b->approx.share_batch)
        return false;
    return true;
}

static bool mergeable(const Node *n) {
    return n->op != OP_LOOP && n->op != OP_LOOPOUT && n->op != OP_INDEX && n->op != OP_CARRY &&
           n->op != OP_FUSED && n->op != OP_ARG; /* fused bodies are not compared */
}

static int cse_block(Graph *g, Block *b, Avail *av) {
    int removed = 0;
    int mark = av->n;
    int keep = 0;
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op == OP_LOOP)
            removed += cse_block(g, &n->loop->body, av);
        Node *same = NULL;
        if (mergeable(n))
            for (int j = av->n - 1; j >= 0 && !same; j--)
                if (same_node(av->v[j], n))
                    same = av->v[j];
        if (same) {
            ir_replace_uses(g, n, same);
            removed++;
            continue;
        }
        if (mergeable(n))
            VEC_PUSH(av->v, av->n, av->cap, n);
        b->nodes[keep++] = n;
    }
    b->n = keep;
    av->n = mark; /* what this block defined is not visible outside it */
    return removed;
}

void pass_cse(PassCtx *pc) {
    Graph *g = pc->g;
    Avail av = {0};
    cse_block(g, &g->top, &av);
}
