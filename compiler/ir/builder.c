/*
 * builder.c - the one node builder: every stage that makes nodes (the
 * front end, autodiff, softmax, batch, fuse) goes through it.
 *
 * As Lua's parser calls the narrow luaK_* functions instead of encoding
 * instructions itself, a stage here says what node it wants (op, operands,
 * attributes) and the builder does the rest the same way for everyone:
 *   - typing, by ir_infer (the one typing rule of each op);
 *   - placement, at an insertion point (a block and a position that moves
 *     past each node put there), or among the leaves of the top block;
 *   - the error policy when the typing rule rejects the node: a diagnostic
 *     at a source location (the front end: the user wrote it), NULL without
 *     a word (a pass trying a rewrite that may not apply), or an internal
 *     error naming the stage (a pass that built a node its own invariants
 *     say is well typed).
 */
#include "nngc.h"

#include <stdlib.h>

Builder build_at(Graph *g, Block *b, int pos, BuildPolicy on_error, const char *stage) {
    NN_ASSERT(pos >= -1 && pos <= b->n);
    return (Builder){.g = g, .block = b, .pos = pos, .on_error = on_error, .stage = stage};
}

Node *build_new(Op op, int nin, Node *const *in, Loc loc) {
    for (int i = 0; i < nin; i++)
        if (!in[i])
            return NULL;
    return ir_new_node(op, nin, in, loc);
}

bool build_type(Builder *b, Node *n, Loc err_loc) {
    char err[512];
    if (ir_infer(b->g, n, err, sizeof err))
        return true;
    switch (b->on_error) {
    case BUILD_DIAG:
        NN_ASSERT(b->diag);
        diag_error(b->diag, err_loc, "%s", err);
        return false;
    case BUILD_TRY:
        return false;
    case BUILD_ASSERT:
        break;
    }
    fprintf(stderr, "nngc: %s built an ill-typed '%s': %s\n", b->stage ? b->stage : "a pass", ir_opname(n->op), err);
    nn_internal_error(__FILE__, __LINE__, "a node built by a pass is well typed");
}

void build_place(Builder *b, Node *n) {
    if (b->pos < 0) {
        ir_append(b->block, n);
        return;
    }
    ir_insert(b->block, b->pos++, n);
}

Node *build_put(Builder *b, Node *n, Loc err_loc) {
    if (!n || !build_type(b, n, err_loc))
        return NULL;
    build_place(b, n);
    return n;
}

Node *build_op(Builder *b, Op op, int nin, Node *const *in, Loc loc) {
    return build_put(b, build_new(op, nin, in, loc), loc);
}

Node *build_op1(Builder *b, Op op, Node *x, Loc loc) { return build_op(b, op, 1, (Node *[]){x}, loc); }

Node *build_op2(Builder *b, Op op, Node *x, Node *y, Loc loc) {
    return build_op(b, op, 2, (Node *[]){x, y}, loc);
}

Node *build_leaf(Builder *b, Node *n, bool at_head) {
    char err[256];
    bool ok = ir_infer(b->g, n, err, sizeof err);
    if (!ok)
        fprintf(stderr, "nngc: %s\n", err);
    NN_ASSERT(ok); /* a leaf's type is its attributes: nothing to reject */
    if (at_head)
        ir_insert(&b->g->top, 0, n);
    else
        ir_append(&b->g->top, n);
    /* the insertion point moves with what it points at */
    if (at_head && b->block == &b->g->top && b->pos >= 0)
        b->pos++;
    return n;
}

/* ---------------------------------------------------------------- leaves */

Node *ir_const(double v, Loc loc) {
    Node *n = ir_new_node(OP_CONST, 0, NULL, loc);
    n->f = v;
    return n;
}

Node *ir_iconst(int64_t v, Loc loc) {
    Node *n = ir_new_node(OP_ICONST, 0, NULL, loc);
    n->i = v;
    return n;
}

Node *ir_fill(const Shape *s, double v, Loc loc) {
    Node *n = ir_new_node(OP_FILL, 0, NULL, loc);
    n->shape = *s;
    n->f = v;
    return n;
}

Node *ir_dim(Size s, Loc loc) {
    Node *n = ir_new_node(OP_DIM, 0, NULL, loc);
    n->size = s;
    return n;
}

Node *ir_size_node(Size s, Loc loc) { return size_is_const(s) ? ir_iconst(s.c, loc) : ir_dim(s, loc); }
