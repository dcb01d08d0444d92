/*
 * hoist.c - loop-invariant code motion.
 *
 * A node in a loop body whose operands are all defined outside the body
 * computes the same value in every iteration: it moves out, just before the
 * loop node. Inner loops are processed first, so a node leaves as many
 * nested loops as it can (it moves one level per enclosing loop, and each
 * loop is processed after the loops it contains).
 *
 * Kept in place: the loop's own INDEX and CARRY nodes, LOOP/LOOPOUT nodes,
 * and ops that check their operands at run time (OPF_CHECKED: an index out
 * of range) when the loop may run zero times, since hoisting them would
 * report an error the unoptimized program never reaches.
 *
 * Requires: a verified graph. Keeps: operand order (a hoisted node goes
 * before the loop, after every outer definition it uses).
 */
#include "nngc.h"

static bool movable(const Node *n, const Block *body, bool may_skip) {
    if (op_flags[n->op] & OPF_RANDOM) /* each iteration draws anew */
        return false;
    if (n->op == OP_INDEX || n->op == OP_CARRY || n->op == OP_LOOP || n->op == OP_LOOPOUT)
        return false;
    if ((op_flags[n->op] & OPF_CHECKED) && may_skip)
        return false;
    for (int i = 0; i < n->nin; i++)
        if (n->in[i]->parent == body)
            return false;
    return true;
}

static int hoist_block(const Graph *g, Block *b);

/* Moves the invariant nodes of loop l's body before l's node; returns how
 * many moved. */
static int hoist_loop(const Graph *g, Loop *l) {
    int moved = hoist_block(g, &l->body);
    Block *body = &l->body;
    Block *outer = l->node->parent;
    int64_t min_trip;
    size_max(g, size_sub(l->hi, l->lo), &min_trip);
    bool may_skip = min_trip < 1;
    int keep = 0;
    for (int i = 0; i < body->n; i++) {
        Node *n = body->nodes[i];
        if (!movable(n, body, may_skip)) {
            body->nodes[keep++] = n;
            continue;
        }
        int pos = 0;
        while (outer->nodes[pos] != l->node)
            pos++;
        ir_insert(outer, pos, n);
        n->parent = outer;
        moved++;
    }
    body->n = keep;
    return moved;
}

static int hoist_block(const Graph *g, Block *b) {
    int moved = 0;
    /* hoisting inserts nodes before the loop: walk by node, not by index */
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op != OP_LOOP)
            continue;
        int before = b->n;
        moved += hoist_loop(g, n->loop);
        i += b->n - before; /* skip what was inserted before this loop */
    }
    return moved;
}

void pass_hoist(PassCtx *pc) { hoist_block(pc->g, &pc->g->top); }
