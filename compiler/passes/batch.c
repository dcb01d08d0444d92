/*
 * batch.c - turn per-iteration work into whole-tensor work (batching and
 * loop fission), the "vmap" rules of docs/IR.md.
 *
 * For a loop with index t in lo..hi (n = hi - lo iterations), a body node v
 * gets a *batched* value B(v) of shape [n, v's shape...] whose row t - lo
 * is v's value in iteration t. Each op has a batching rule (below), written
 * in terms of its operands, each of which is either
 *   - invariant: defined outside the body, the same in every iteration;
 *   - batched: B(operand) is known.
 * Two places to put B(v):
 *   - before the loop, when v does not depend on a carried value: the loop
 *     index becomes RANGE(lo, n), and v's uses inside the loop read row
 *     t - lo of B(v) (a view, no copy). This is how the per-word W @ x_t
 *     become one matrix product;
 *   - after the loop (fission), when v depends on carried values but is not
 *     needed by the recurrence itself (it only feeds stacked or summed
 *     results): the carry-dependent values it reads are stacked by the loop
 *     and B(v) is computed from the stacks. This moves the output layer of
 *     an RNN out of the recurrence.
 * A stacked result whose value has B(v) is B(v); a summed result is
 * SUMAXIS(B(v), 0). A carry that is only ever incremented (h = h + e_t) is
 * first rewritten as init + a summed result (carries_to_sums). dce then removes what the loop no longer needs; a loop
 * left with no result disappears. Nodes with only invariant operands are
 * hoisted on the way.
 *
 * With --report=batch, every body node is listed: batched (before the loop,
 * or after it by fission) or kept in the loop, with the reason (the
 * dependence or the op without a rule). Node numbers are those of the graph
 * after a first dce, numbered as a dump would.
 *
 * Ends with cse and dce: batching makes values computed apart in different
 * loops neighbours, and leaves what the loops no longer need.
 *
 * Requires: a verified graph. Inner loops are batched first. Uses
 * Node.aux (batched value) and Node.mark (classification); both cleared.
 */
#include "nngc.h"

#include <string.h>

/* Node.mark bits: DEP_CARRY and IN_REC classify body nodes (classify());
 * SUMMED says that Node.aux is not B(v) but the sum of v over the
 * iterations (the rules for OUTER and SCATTERADD values that are only
 * summed: sum_t dy_t x_t^T = DY^T X, one GEMM). */
enum { DEP_CARRY = 1, IN_REC = 2, SUMMED = 4 };

/* What the batching of one graph carries from loop to loop. */
typedef struct BatchPass {
    Graph *g;
    FILE *report;
    Replacements later; /* uses of loops' results, replaced later (put_off) */
    NodeIndex nouts;    /* LOOP node -> how many LOOPOUTs read it (count_outs) */
} BatchPass;

typedef struct Batcher {
    BatchPass *bp;
    Graph *g;
    Loop *l;
    Block *body, *outer;
    Size n;           /* trip count */
    int after;        /* insertion cursor after the loop's node */
    int at;           /* where the loop's node was last seen in outer (put) */
    NodeIndex uses;   /* uses of the body's values in the body (ir_block_use_counts) */
    LoopSpan span;    /* the loop's, for stack_of */
    NodeIndex results; /* the loop's result values -> RES_SUMMED | RES_KEPT (index_results) */
    FILE *report;
    bool summed;      /* set by rule(): its result is the sum over iterations */
} Batcher;

static int pos_of(Block *b, Node *n, int hint) {
    int i = ir_block_find(b, n, hint);
    NN_ASSERT(i >= 0);
    return i;
}

/* Counts the LOOPOUTs of each loop of b and the blocks in it, into nouts:
 * with it, a loop's LOOPOUTs are found by a walk that stops at the last
 * (ir_loop_outs_at). */
static void count_outs(const Block *b, NodeIndex *nouts) {
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        if (n->op == OP_LOOPOUT)
            node_index_put(nouts, n->in[0], ir_use_count(nouts, n->in[0]) + 1);
        if (n->op == OP_LOOP)
            count_outs(&n->loop->body, nouts);
    }
}

/* l's LOOPOUTs, by result number; l's node is at position pos. */
static Node **outs_of(BatchPass *bp, Loop *l, int pos) {
    return ir_loop_outs_at(l, pos, ir_use_count(&bp->nouts, l->node));
}

static void one_more_out(BatchPass *bp, Loop *l) {
    node_index_put(&bp->nouts, l->node, ir_use_count(&bp->nouts, l->node) + 1);
}

/* The nodes of a rule are made untyped (mk, mk_axis, mk_preset) and
 * typed where they are placed (place): a NULL there means the typing rule
 * rejects the batched operands, and the original stays in the loop. */
static Node *mk(Op op, int nin, Node **in, const Node *like) {
    Node *n = ir_new_node(op, nin, in, like->loc);
    n->name = like->name;
    n->approx = like->approx;
    return n;
}

/* Puts n before the loop node (after = false) or at the cursor after it.
 * The loop node is looked for where it was last (a search of the block
 * for each value put made a long body quadratic). */
static void put(Batcher *bt, Node *n, bool after) {
    if (!after && (bt->at >= bt->outer->n || bt->outer->nodes[bt->at] != bt->l->node))
        bt->at = pos_of(bt->outer, bt->l->node, bt->at);
    Builder b = build_at(bt->g, bt->outer, after ? bt->after : bt->at, BUILD_TRY, "batch");
    build_place(&b, n);
    bt->after++; /* either way the cursor moves: past n, or with the loop node */
    if (!after)
        bt->at++;
}

/* Is x defined outside the loop body (so the same in every iteration)? */
static bool invariant(Batcher *bt, Node *x) { return x->parent != bt->body; }

/* B(x) for an operand: batched value, or NULL if x is invariant or has none. */
static Node *bval(Node *x) { return x->aux; }

/* Types and places a batched node: before the loop, or after it (fission);
 * NULL when n is NULL or ill-typed. */
static Node *place(Batcher *bt, Node *n, bool after) {
    Builder b = build_at(bt->g, bt->outer, -1, BUILD_TRY, "batch");
    if (!n || !build_type(&b, n, n->loc))
        return NULL;
    put(bt, n, after);
    return n;
}

/* A node with an axis attribute. */
static Node *mk_axis(Op op, Node *x, int axis, const Node *like) {
    Node *n = ir_new_node(op, 1, (Node *[]){x}, like->loc);
    n->index = axis;
    n->name = like->name;
    return n;
}

/* A gradient op with a preset shape: [n, like's shape...]. */
static Node *mk_preset(Batcher *bt, Op op, int nin, Node **in, const Node *like, int index) {
    if (like->shape.rank + 1 > NN_MAXRANK)
        return NULL;
    Node *n = ir_new_node(op, nin, in, like->loc);
    n->shape.rank = like->shape.rank + 1;
    n->shape.d[0] = bt->n;
    for (int i = 0; i < like->shape.rank; i++)
        n->shape.d[i + 1] = like->shape.d[i];
    n->index = index;
    n->size = like->size;
    n->name = like->name;
    return n;
}

/* B(x) for a float operand, an invariant one broadcast to [n, x's shape]. */
static Node *lift(Batcher *bt, Node *x, bool after) {
    if (bval(x))
        return bval(x);
    return place(bt, mk_preset(bt, OP_BROADCAST, 1, &x, x, 0), after);
}

/* x with a new axis of size 1 at axis (an EXPAND), so that a per-row
 * vector broadcasts against the rows of a batched matrix. */
static Node *unsqueeze(Batcher *bt, Node *x, int axis, bool after) {
    if (!x || x->shape.rank + 1 > NN_MAXRANK)
        return NULL;
    Node *n = ir_new_node(OP_EXPAND, 1, &x, x->loc);
    n->shape.rank = x->shape.rank + 1;
    for (int i = 0, k = 0; i < n->shape.rank; i++)
        n->shape.d[i] = i == axis ? size_const(1) : x->shape.d[k++];
    n->index = axis;
    n->name = x->name;
    return place(bt, n, after);
}

/* sum over axis of a * b (broadcasting): a batched matvec or outer
 * product, one product of the rows per iteration, as whole-tensor ops. */
static Node *mul_sum(Batcher *bt, Node *a, Node *b, int axis, const Node *like, bool after) {
    Node *m = a && b ? place(bt, mk(OP_MUL, 2, (Node *[]){a, b}, like), after) : NULL;
    return m && axis >= 0 ? place(bt, mk_axis(OP_SUMAXIS, m, axis, like), after) : m;
}

/* The batched form of v (a sample, a sampling loss or its gradient) with
 * v's attributes: site, k, vocabulary, segment. */
static Node *mk_same(Op op, int nin, Node **in, const Node *v) {
    Node *n = mk(op, nin, in, v);
    n->index = v->index;
    n->i = v->i;
    n->f = v->f;
    n->size = v->size;
    return n;
}

/* A leaf at the head of the top block (the cursor moves with the loop). */
static Node *leaf(Batcher *bt, Node *n) {
    Builder top = build_at(bt->g, &bt->g->top, -1, BUILD_ASSERT, "batch");
    build_leaf(&top, n, true);
    if (bt->outer == &bt->g->top) {
        bt->after++;
        bt->at++;
    }
    return n;
}

/* The rows' numbers as a column, 0 .. n - 1 of shape [n, 1]; the int 0. */
static Node *column_range(Batcher *bt) {
    Node *r = ir_new_node(OP_RANGE, 0, NULL, bt->l->node->loc);
    r->shape = (Shape){.rank = 2, .d = {bt->n, size_const(1)}};
    return leaf(bt, r);
}

static Node *int_zero(Batcher *bt) { return leaf(bt, ir_iconst(0, bt->l->node->loc)); }

/* Is i the loop's index minus lo (row t - lo of a stack)? */
static bool is_row_index(Batcher *bt, const Node *i) {
    Loop *l = bt->l;
    if (i == l->index)
        return size_is_const(l->lo) && l->lo.c == 0;
    if (i->op != OP_ISUB || i->in[0] != l->index)
        return false;
    const Node *lo = i->in[1];
    return (lo->op == OP_DIM && size_eq(lo->size, l->lo)) ||
           (lo->op == OP_ICONST && size_is_const(l->lo) && lo->i == l->lo.c);
}

/* Batcher.results: a summed value; a next or stacked value. */
enum { RES_SUMMED = 1, RES_KEPT = 2 };

static void add_result(Batcher *bt, const Node *v, int bits) {
    int old = node_index_get(&bt->results, v);
    node_index_put(&bt->results, v, (old > 0 ? old : 0) | bits);
}

/* Batcher.results for the loop's results as they are (stack_of adds its
 * stacks): a search of the results per value made a loop of thousands of
 * results quadratic. */
static void index_results(Batcher *bt) {
    Loop *l = bt->l;
    for (int s = 0; s < l->nsum; s++)
        add_result(bt, l->sum[s], RES_SUMMED);
    for (int r = 0; r < l->ncarry; r++)
        add_result(bt, l->next[r], RES_KEPT);
    for (int s = 0; s < l->nstack; s++)
        add_result(bt, l->stack[s], RES_KEPT);
}

/* Is v used only as summed results of the loop? */
static bool only_summed(Batcher *bt, const Node *v) {
    int bits = node_index_get(&bt->results, v);
    return bits == RES_SUMMED && ir_use_count(&bt->uses, v) == 0;
}

/* A softmax method's loss or gradient of one row of logits (embed: of h)
 * at one target per row: batched, an invariant operand 0 is broadcast to
 * the rows (--batch's logits W @ v of params, the same for every example,
 * at each example's target). */
static bool row_loss(Op op) {
    switch (op) {
    case OP_BINLOGZ: case OP_CLASSLOSS: case OP_VMFLOSS: case OP_CLASSGRAD: case OP_VMFGRAD:
    case OP_NEGLOSS: case OP_NCELOSS: case OP_SAMPLEDLOSS: case OP_LOGISTICLOSS:
    case OP_NEGLOSSGRAD: case OP_NCEGRAD: case OP_SAMPLEDGRAD: case OP_LOGISTICGRAD:
        return true;
    default:
        return false;
    }
}

/* The batching rule of v's op. Operands are invariant or batched (the
 * caller checked). Returns B(v), placed before or after the loop, or NULL
 * with *why set. */
static Node *rule(Batcher *bt, Node *v, bool after, const char **why) {
    Node *a = v->nin > 0 ? v->in[0] : NULL, *b = v->nin > 1 ? v->in[1] : NULL;
    Node *ba = a ? bval(a) : NULL, *bb = b ? bval(b) : NULL;
    if (!ba && bb && row_loss(v->op)) /* logits (embed: h) the same in every iteration, the targets not */
        ba = lift(bt, a, after);
    Node *x[2] = {ba ? ba : a, bb ? bb : b};
    *why = "no batching rule for this op";
    if (op_flags[v->op] & OPF_ELEMWISE) {
        /* a batched operand must have the result's rank so that its new
         * leading axis lines up with the result's */
        for (int i = 0; i < v->nin; i++)
            if (bval(v->in[i]) && v->in[i]->shape.rank != v->shape.rank) {
                *why = "a broadcast operand varies with the loop index";
                return NULL;
            }
        return place(bt, mk(v->op, v->nin, x, v), after);
    }
    switch (v->op) {
    case OP_IADD:
    case OP_ISUB:
    case OP_IMUL:
    case OP_CHECKIDX: /* its bound per example: [B], against [n, B] */
        /* an int scalar per iteration (t) against ids per example ([B]:
         * nngc --batch's T_len - 1 - t): its column [n, 1], so that the
         * two broadcast to [n, B] */
        for (int i = 0; i < 2; i++) {
            if (bval(v->in[i]) && v->in[i]->shape.rank == 0 && v->shape.rank == 1 &&
                !(x[i] = place(bt, mk(OP_GATHER, 2, (Node *[]){x[i], column_range(bt)}, v), after)))
                return NULL;
            /* any other batched operand must line up with the result's
             * axes: [B] against [S, B] would pair step t's row with row t
             * of the other (a nested loop's ids under --batch) */
            if (bval(v->in[i]) && x[i]->shape.rank != v->shape.rank + 1) {
                *why = "a broadcast operand varies with the loop index";
                return NULL;
            }
        }
        return place(bt, mk(v->op, 2, x, v), after);
    case OP_MATVEC: {
        if (ba && v->nin == 2) {
            /* a matrix per iteration (rows gathered by ids that vary, as
             * neg's): y_t = M_t x_t is a row-wise product and sum, over the
             * last axis of M_t (or, transposed, over its rows) */
            int red = v->ta ? 1 : 2;
            Node *xb = bb ? unsqueeze(bt, bb, red == 2 ? 1 : 2, after) : v->ta ? unsqueeze(bt, b, 1, after) : b;
            return mul_sum(bt, ba, xb, red, v, after);
        }
        if (ba) {
            *why = "the matrix of '@' varies with the loop index";
            return NULL;
        }
        /* y_t = op(W) x_t for every t: Y = X op(W)^T */
        Node *n = mk(OP_MATMUL, 2, (Node *[]){bb, a}, v);
        n->tb = !v->ta;
        return place(bt, n, after);
    }
    case OP_MATMUL: /* (vectorize.c's batches) rows X_t of every t at once: one GEMM of the stacked rows */
        if (ba && !bb && !v->ta && (v->nin == 2 || !bval(v->in[2]))) {
            Node *n = mk(OP_MATMUL, v->nin, (Node *[]){ba, b, v->nin == 3 ? v->in[2] : NULL}, v);
            n->tb = v->tb;
            return place(bt, n, after);
        }
        if (ba && bb && v->ta && !v->tb && v->nin == 2 && only_summed(bt, v)) {
            /* sum_t A_t^T B_t: one GEMM over the rows of every iteration */
            bt->summed = true;
            Node *n = mk(OP_MATMUL, 2, (Node *[]){ba, bb}, v);
            n->ta = true;
            return place(bt, n, after);
        }
        *why = "a matrix product per iteration (batched: rows times a fixed matrix, or A_t^T B_t only summed)";
        return NULL;
    case OP_DOT:
        if (ba && bb) { /* row-wise dots: sum over the last axis of the product */
            Node *m = place(bt, mk(OP_MUL, 2, (Node *[]){ba, bb}, v), after);
            return m ? place(bt, mk_axis(OP_SUMAXIS, m, 1, v), after) : NULL;
        }
        return place(bt, mk(OP_MATVEC, 2, ba ? (Node *[]){ba, b} : (Node *[]){bb, a}, v), after);
    case OP_GATHER: /* rows at ids that vary (neg's samples): one gather of all rows */
        if (ba || !bb) {
            *why = "a gather from a tensor that varies with the loop index";
            return NULL;
        }
        return place(bt, mk(OP_GATHER, 2, (Node *[]){a, bb}, v), after);
    case OP_CONCAT: /* the iterations' vectors joined: rows joined along axis 1 */
        if (!ba || !bb) {
            *why = "a concat of a value that does not vary with the loop index";
            return NULL;
        }
        {
            Node *n = mk(OP_CONCAT, 2, x, v);
            n->index = v->index + 1;
            return place(bt, n, after);
        }
    case OP_SAMPLE: {
        /* every iteration's draws at once, before the loop: row t comes
         * from the stream of iteration t's key (site, loop indexes), so it
         * holds the ids the loop would have drawn there, whatever the order
         * of the draws (c_approx.c) */
        Node *in[1 + MAX_LOOP_DEPTH], *rows = NULL;
        if (v->nin > 1 + MAX_LOOP_DEPTH)
            return NULL;
        if (!bval(v->in[0])) { /* (the rows would be the targets', not the loop's steps) */
            *why = "draws for targets that do not vary with the loop index (their keys do)";
            return NULL;
        }
        for (int k = 0; k < v->nin; k++) {
            Node *o = v->in[k];
            in[k] = bval(o) ? bval(o) : o;
            if (!rows || in[k]->shape.rank > rows->shape.rank)
                rows = in[k];
        }
        /* targets [n, B] (the examples of a batch, [B] per iteration): the
         * other operands as [n, B] too, one key per row */
        Node *zero = NULL; /* the targets times 0: [n, B] zeros to broadcast against */
        for (int k = 0; rows->shape.rank == 2 && k < v->nin; k++) {
            if (in[k]->shape.rank == 0 || shape_eq(&in[k]->shape, &rows->shape))
                continue;
            Node *o = in[k];
            if (bval(v->in[k])) /* one per iteration, [n]: its column [n, 1] */
                o = place(bt, mk(OP_GATHER, 2, (Node *[]){o, column_range(bt)}, v), after);
            if (!zero)
                zero = place(bt, mk(OP_IMUL, 2, (Node *[]){rows, int_zero(bt)}, v), after);
            in[k] = o && zero ? place(bt, mk(OP_IADD, 2, (Node *[]){zero, o}, v), after) : NULL;
            if (!in[k] || !shape_eq(&in[k]->shape, &rows->shape))
                return NULL;
        }
        return place(bt, mk_same(OP_SAMPLE, v->nin, in, v), after);
    }
    case OP_HIERPATH:
    case OP_HIERLABEL: /* hier: the paths of every iteration's target, [n, L] */
        if (!ba) {
            *why = "a hier path of a target that does not vary with the loop index";
            return NULL;
        }
        return place(bt, mk_same(v->op, 1, &ba, v), after);
    case OP_CLASSIDS:
    case OP_BINCODE:
    case OP_BINSLOT: /* class's ranges, binary's codes and slots of every iteration's target: [n, L], [n] */
        if (!ba) {
            *why = "a class range or binary code of a target that does not vary with the loop index";
            return NULL;
        }
        return place(bt, mk_same(v->op, 1, &ba, v), after);
    case OP_BINLOGZ:
    case OP_CLASSLOSS:
    case OP_VMFLOSS: /* one loss per row of [n, L] logits (class) or [n, m] vectors (embed), one target each */
        if (!ba || (v->op != OP_VMFLOSS && !bb)) {
            *why = "a class or vMF loss whose logits or target do not vary with the loop index";
            return NULL;
        }
        return place(bt, mk_same(v->op, 2, (Node *[]){ba, v->op == OP_VMFLOSS ? lift(bt, b, after) : bb}, v), after);
    case OP_CLASSGRAD:
    case OP_VMFGRAD: /* a gradient row per row; d one per row or a constant */
        if (!ba || (v->op == OP_CLASSGRAD && !bb)) {
            *why = "a class or vMF gradient whose logits or target do not vary with the loop index";
            return NULL;
        }
        return place(bt, mk_same(v->op, 3, (Node *[]){ba, v->op == OP_VMFGRAD ? lift(bt, b, after) : bb,
                                                      bval(v->in[2]) ? bval(v->in[2]) : v->in[2]}, v), after);
    case OP_NEGLOSS:
    case OP_NCELOSS:
    case OP_SAMPLEDLOSS:
    case OP_LOGISTICLOSS: /* one loss per row of [n, k+1] logits and ids (hier: labels) */
        if (!ba || !bb) {
            *why = "a sampling loss whose logits or ids do not vary with the loop index";
            return NULL;
        }
        return place(bt, mk_same(v->op, 2, x, v), after);
    case OP_NEGLOSSGRAD:
    case OP_NCEGRAD:
    case OP_SAMPLEDGRAD:
    case OP_LOGISTICGRAD: /* one gradient row per row; d one per row or a constant */
        if (!ba || !bb || v->nin != 3) { /* (several segments: the rows pass's, after batch) */
            *why = "a sampling loss whose logits or ids do not vary with the loop index";
            return NULL;
        }
        return place(bt, mk_same(v->op, 3, (Node *[]){ba, bb, bval(v->in[2]) ? bval(v->in[2]) : v->in[2]}, v),
                     after);
    case OP_ROW:
        if (ba) {
            *why = "a row of a tensor that varies with the loop index";
            return NULL;
        }
        if (is_row_index(bt, b) && size_eq(a->shape.d[0], bt->n))
            return a; /* row t - lo of a stack, for every t: the stack itself */
        return place(bt, mk(OP_GATHER, 2, (Node *[]){a, bb}, v), after);
    /* gradient ops (autodiff's reverse loops) */
    case OP_OUTER:
        if (!only_summed(bt, v) && (ba || bb)) {
            /* read by something else (neg's rows' gradient, scattered): the
             * [n, M, N] products, a_t[i] b_t[j] by broadcasting */
            Node *ea = ba ? unsqueeze(bt, ba, 2, after) : unsqueeze(bt, a, 1, after);
            return mul_sum(bt, ea, bb ? unsqueeze(bt, bb, 1, after) : b, -1, v, after);
        }
        /* sum_t a_t b_t^T = A^T B: only when nothing else reads the
         * per-iteration [M, N] product */
        if (!only_summed(bt, v) || (!ba && !bb)) {
            *why = "an outer product per iteration (batched only when it is only summed)";
            return NULL;
        }
        bt->summed = true;
        if (ba && bb) {
            Node *n = mk(OP_MATMUL, 2, (Node *[]){ba, bb}, v);
            n->ta = true;
            return place(bt, n, after);
        }
        {
            Node *s = place(bt, mk_axis(OP_SUMAXIS, ba ? ba : bb, 0, v), after);
            return s ? place(bt, mk(OP_OUTER, 2, ba ? (Node *[]){s, b} : (Node *[]){a, s}, v), after) : NULL;
        }
    case OP_SCATTERADD: {
        /* sum_t of rows a_t at ids i_t: all rows at all ids, one scatter
         * (a row from before the loop at ids that vary: the row broadcast) */
        if (!only_summed(bt, v) || (!ba && !bb)) {
            *why = "a scatter per iteration (batched only when it is only summed)";
            return NULL;
        }
        bt->summed = true;
        if (ba && is_row_index(bt, b) && size_eq(v->shape.d[0], bt->n) && shape_eq(&ba->shape, &v->shape))
            return ba; /* row a_t at row t - lo, for every t: the rows themselves */
        Node *rows = bb ? (ba ? ba : lift(bt, a, after)) : place(bt, mk_axis(OP_SUMAXIS, ba, 0, v), after);
        if (!rows)
            return NULL;
        Node *n = mk(OP_SCATTERADD, 2, (Node *[]){rows, bb ? bb : b}, v);
        n->shape = v->shape;
        return place(bt, n, after);
    }
    case OP_PICKGRAD:
        if (!bb) {
            *why = "pick_grad with ids that do not vary with the loop index";
            return NULL;
        }
        {
            Node *av = lift(bt, a, after);
            return av ? place(bt, mk_preset(bt, OP_PICKGRAD, 2, (Node *[]){av, bb}, v, 0), after) : NULL;
        }
    case OP_EXPAND:
        return place(bt, mk_preset(bt, OP_EXPAND, 1, &ba, v, v->index + 1), after);
    case OP_SUMTO:
        if (a->shape.rank != v->shape.rank && only_summed(bt, v)) { /* sum_t sum_to(x_t): sum_to(B(x)) */
            bt->summed = true;
            Node *n = mk(OP_SUMTO, 1, &ba, v);
            n->shape = v->shape;
            return place(bt, n, after);
        }
        /* fallthrough */
    case OP_BROADCAST:
        if (a->shape.rank != v->shape.rank) {
            *why = "a broadcast or sum_to that changes the rank";
            return NULL;
        }
        return place(bt, mk_preset(bt, v->op, 1, &ba, v, 0), after);
    case OP_SOFTMAXGRAD:
    case OP_LOGSOFTMAXGRAD: {
        Node *av = lift(bt, a, after), *bv = av ? lift(bt, b, after) : NULL;
        return bv ? place(bt, mk(v->op, 2, (Node *[]){av, bv}, v), after) : NULL;
    }
    case OP_SUM:
    case OP_MEAN:
        if (a->shape.rank == 0)
            return ba; /* the sum of a scalar is itself */
        if (a->shape.rank == 1)
            return place(bt, mk_axis(v->op == OP_SUM ? OP_SUMAXIS : OP_MEANAXIS, ba, 1, v), after);
        *why = "sum/mean of a matrix in each iteration";
        return NULL;
    case OP_SUMAXIS:
    case OP_MEANAXIS:
        return place(bt, mk_axis(v->op, ba, v->index + 1, v), after);
    case OP_SOFTMAX:
    case OP_LOGSOFTMAX:
    case OP_LOGSUMEXP:
        return place(bt, mk(v->op, 1, x, v), after);
    case OP_PICK:
    case OP_XENT:
        if (!ba || !bb) {
            *why = "cross_entropy with only one of logits and label varying";
            return NULL;
        }
        return place(bt, mk(v->op, 2, x, v), after);
    default:
        return NULL;
    }
}

/* Marks DEP_CARRY (depends on a carry or an inner loop) and IN_REC
 * (needed to compute a carry's next value). */
static void classify(Batcher *bt) {
    Loop *l = bt->l;
    for (int i = 0; i < bt->body->n; i++) {
        Node *v = bt->body->nodes[i];
        v->mark = 0;
        v->aux = NULL;
        if (v->op == OP_CARRY || v->op == OP_LOOP || v->op == OP_LOOPOUT)
            v->mark |= DEP_CARRY;
        for (int k = 0; k < v->nin; k++)
            if (v->in[k]->parent == bt->body && (v->in[k]->mark & DEP_CARRY))
                v->mark |= DEP_CARRY;
    }
    for (int r = 0; r < l->ncarry; r++)
        if (l->next[r]->parent == bt->body)
            l->next[r]->mark |= IN_REC;
    for (int i = bt->body->n - 1; i >= 0; i--) {
        Node *v = bt->body->nodes[i];
        if (!(v->mark & IN_REC))
            continue;
        for (int k = 0; k < v->nin; k++)
            if (v->in[k]->parent == bt->body)
                v->in[k]->mark |= IN_REC;
        if (v->op == OP_LOOP) /* an inner loop reads its carries' inits */
            for (int k = 0; k < v->nin; k++)
                if (v->in[k]->parent == bt->body)
                    v->in[k]->mark |= IN_REC;
    }
}

/* The stacked result of v, for code after the loop; a new one goes at
 * the cursor. */
static Node *stack_of(Batcher *bt, Node *v) {
    bool added;
    bt->at = pos_of(bt->outer, bt->l->node, bt->at);
    bt->span.pos = bt->at;
    Node *out = ir_loop_stack_of(bt->l, v, bt->after, &bt->span, &added);
    if (added) {
        bt->after++;
        one_more_out(bt->bp, bt->l);
        add_result(bt, v, RES_KEPT);
    }
    return out;
}

static int batch_loop(BatchPass *bp, Loop *l, int pos);

/* The uses of a loop's result old (a LOOPOUT, read anywhere after the
 * loop) become new_ later: once per pass (pass_batch), or before a dce
 * (batch_loop), instead of a walk of the graph per loop; each loop first
 * gets the pairs so far (ir_repl_apply_loop), so that it reads no
 * replaced value. new_ is never an old itself, so that one walk is enough. */
static void put_off(Replacements *later, Node *old, Node *new_) {
    NN_ASSERT(old->op == OP_LOOPOUT && node_index_get(&later->which, new_) < 0);
    ir_repl_add(later, old, new_);
}

/* A carry whose only use is its own next value carry + e is a sum written
 * as a rebinding (`h = h + emb[words[t]]`): its final value is
 * init + sum over t of e, a summed result, which batching then turns into
 * one reduction instead of a loop. Returns how many carries it rewrote;
 * the carries themselves are left for dce. */
static int carries_to_sums(BatchPass *bp, Loop *l, int pos) {
    int changed = 0;
    Block *outer = l->node->parent;
    NodeIndex uses = {0}; /* the body's uses and the carries' results, counted once */
    ir_block_use_counts(&l->body, &uses);
    Node **outs = outs_of(bp, l, pos);
    for (int r = 0; r < l->ncarry; r++) {
        Node *c = l->carry[r], *nx = l->next[r];
        if (nx->op != OP_ADD || nx->parent != &l->body)
            continue;
        Node *e = nx->in[0] == c ? nx->in[1] : nx->in[1] == c ? nx->in[0] : NULL;
        if (!e || e == c || ir_use_count(&uses, c) != 1 || ir_use_count(&uses, nx) != 0 || ir_result_uses(l, nx) != 1 ||
            ir_result_uses(l, c) != 0)
            continue;
        Node *sum = ir_loop_sum_of(l, e, c->name); /* right after l's node: pos stays */
        one_more_out(bp, l);
        /* after every result of the loop: right after the new sum it would end
         * the run of LOOPOUTs that fission's values are placed after */
        Builder at = build_at(bp->g, outer, ir_loop_results_end(l, pos), BUILD_ASSERT, "batch");
        Node *fin = build_op2(&at, OP_ADD, l->node->in[r], sum, nx->loc);
        fin->name = c->name;
        NN_ASSERT(shape_eq(&fin->shape, &c->shape));
        if (outs[r])
            put_off(&bp->later, outs[r], fin);
        l->next[r] = c; /* the carry is now unused: dce removes it */
        changed++;
    }
    return changed;
}

/* A carry whose next value is itself never changes: in every iteration
 * and after the loop it is its initial value (autodiff's reverse loop of
 * a value that does not depend on the step: its gradient carried as is).
 * Its uses become the initial value's, so that a stack of it is a stack
 * of a value from before the loop (below: a broadcast); the carry is left
 * for dce. Returns how many it rewrote. */
static int unchanged_carries(BatchPass *bp, Loop *l, int pos) {
    int changed = 0;
    NodeIndex uses = {0};
    ir_block_use_counts(&l->body, &uses);
    Node **outs = outs_of(bp, l, pos);
    Replacements rp = {0}; /* the carries, replaced in the loop at the end, in one walk */
    bool *set_back = xalloc(sizeof(bool) * (size_t)(l->ncarry + 1));
    for (int r = 0; r < l->ncarry; r++) {
        Node *c = l->carry[r], *init = l->node->in[r], *out = outs[r];
        if (l->next[r] != c || (ir_use_count(&uses, c) == 0 && ir_result_uses(l, c) == 1 && !out))
            continue;
        ir_repl_add(&rp, c, init); /* the body's reads, the stacks (and next: set back) */
        set_back[r] = true;
        if (out)
            put_off(&bp->later, out, init);
        changed++;
    }
    ir_repl_apply_loop(&rp, l);
    for (int r = 0; r < l->ncarry; r++)
        if (set_back[r])
            l->next[r] = l->carry[r];
    return changed;
}

static int batch_block(BatchPass *bp, Block *b) {
    int changed = 0;
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op != OP_LOOP)
            continue;
        int before = b->n;
        changed += batch_loop(bp, n->loop, i);
        /* the loop may have moved (nodes inserted before it) or vanished
         * later (dce); continue after it */
        int p = ir_block_find(b, n, i);
        i = p >= 0 ? p : i + (b->n - before);
    }
    return changed;
}

/* Each of vs[0..n) (body values batched before the loop) gets its row of
 * B(v) right after it, to be read instead of it (pairs added to rp). The
 * body is rebuilt in one walk: a search and an insertion per value made a
 * long body quadratic. */
static void rows_after(Batcher *bt, Node **vs, int n, Node *idx, Replacements *rp) {
    Builder b = build_at(bt->g, bt->body, -1, BUILD_ASSERT, "batch");
    NodeIndex which = {0};
    Node **rows = xalloc(sizeof(Node *) * (size_t)n);
    for (int i = 0; i < n; i++) {
        Node *v = vs[i];
        rows[i] = build_new(OP_ROW, 2, (Node *[]){v->aux, idx}, v->loc);
        build_type(&b, rows[i], v->loc);
        rows[i]->name = v->name;
        v->aux = NULL;
        ir_repl_add(rp, v, rows[i]);
        node_index_put(&which, v, i);
    }
    Node **old = bt->body->nodes;
    int nold = bt->body->n;
    *bt->body = (Block){.outer = bt->body->outer, .loop = bt->body->loop};
    for (int i = 0; i < nold; i++) {
        ir_append(bt->body, old[i]);
        int k = node_index_get(&which, old[i]);
        if (k >= 0)
            ir_append(bt->body, rows[k]);
    }
}

/* Batches loop l, whose node is at position pos of its block (or after it:
 * leaves put at the head of the top block move it on). */
static int batch_loop(BatchPass *bp, Loop *l, int pos) {
    Graph *g = bp->g;
    FILE *report = bp->report;
    int changed = batch_block(bp, &l->body);
    ir_repl_apply_loop(&bp->later, l); /* the results of the loops batched so far, as l reads them */
    if (changed && report) ir_number(g); /* the report names nodes the inner loops made (id -1 until now) */
    pos = pos_of(l->node->parent, l->node, pos);
    changed += carries_to_sums(bp, l, pos);
    changed += unchanged_carries(bp, l, pos);
    if (changed) { /* inner loops emptied by batching, carries made sums: gone before classifying */
        ir_repl_apply(g, &bp->later); /* dce must see what reads what */
        bp->later = (Replacements){0};
        pass_dce(&(PassCtx){.g = g});
        bp->nouts = (NodeIndex){0};
        count_outs(&g->top, &bp->nouts);
        pos = ir_block_find(l->node->parent, l->node, 0);
        if (pos < 0) /* dce took l: nothing of it was used (its only carry never changed) */
            return changed;
    }
    Batcher bt = {.bp = bp, .g = g, .l = l, .body = &l->body, .outer = l->node->parent, .report = report};
    bt.n = size_sub(l->hi, l->lo);
    bt.after = ir_loop_results_end(l, pos);
    bt.at = pos;
    bt.span = (LoopSpan){.pos = pos, .nouts = ir_use_count(&bp->nouts, l->node)};
    classify(&bt);
    ir_block_use_counts(bt.body, &bt.uses);
    index_results(&bt);

    /* the index, batched: RANGE(lo, n), a leaf (dce drops it if unused) */
    Node *range = ir_new_node(OP_RANGE, 0, NULL, l->node->loc);
    range->size = l->lo;
    range->shape = (Shape){.rank = 1};
    range->shape.d[0] = bt.n;
    range->name = l->var;
    leaf(&bt, range);

    Node **before_list = NULL;
    int nbefore = 0, capbefore = 0;
    for (int i = 0; i < bt.body->n; i++) {
        Node *v = bt.body->nodes[i];
        if (v == l->index) {
            v->aux = range;
            continue;
        }
        bool dep = v->mark & DEP_CARRY, rec = v->mark & IN_REC;
        const char *why = NULL;
        if (v->op == OP_CARRY || v->op == OP_LOOP || v->op == OP_LOOPOUT) {
            why = v->op == OP_CARRY ? "a carried value" : "an inner loop";
            goto kept;
        }
        if (dep && rec) {
            why = "part of the recurrence through a carried value";
            goto kept;
        }
        /* operands: invariant, batched, or (after the loop) stacked */
        bool all_inv = true, ready = true;
        for (int k = 0; k < v->nin; k++) {
            Node *o = v->in[k];
            if (invariant(&bt, o))
                continue;
            all_inv = false;
            if (!bval(o) && !(dep && (o->mark & IN_REC)))
                ready = false;
        }
        if (all_inv && (op_flags[v->op] & OPF_CHECKED)) {
            /* (the rules batch what varies: a "batched" check of these
             * would lack the loop's axis) */
            why = "a check of values that do not vary with the loop index (the loop may not run)";
            goto kept;
        }
        if (all_inv) {
            /* the same value in every iteration: hoist it */
            memmove(&bt.body->nodes[i], &bt.body->nodes[i + 1], sizeof(Node *) * (size_t)(bt.body->n - i - 1));
            bt.body->n--;
            i--;
            put(&bt, v, false);
            if (report)
                fprintf(report, "batch: loop %s: hoisted %%%d %s (the same in every iteration)\n", l->var, v->id,
                        op_name[v->op]);
            changed++;
            continue;
        }
        if (!ready) {
            why = "an operand stays in the loop";
            goto kept;
        }
        {
            /* after the loop, values of the recurrence come from stacks */
            Node *stacked[8] = {0};
            for (int k = 0; dep && k < v->nin && k < 8; k++) {
                Node *o = v->in[k];
                if (!invariant(&bt, o) && !bval(o)) {
                    stacked[k] = o;
                    o->aux = stack_of(&bt, o);
                }
            }
            bt.summed = false;
            Node *bv = rule(&bt, v, dep, &why);
            for (int k = 0; k < 8 && k < v->nin; k++)
                if (stacked[k])
                    stacked[k]->aux = NULL; /* the stacks serve only code after the loop */
            if (bv) {
                v->aux = bv;
                if (report)
                    fprintf(report, "batch: loop %s: batched %%%d %s into %s %s the loop%s\n", l->var, v->id,
                            op_name[v->op], op_name[bv->op], dep ? "after" : "before",
                            dep ? " (fission: reads the recurrence's stacked values)" : "");
                if (bt.summed)
                    v->mark |= SUMMED; /* stays in the loop for its sum's LOOPOUT only */
                else if (!dep)
                    VEC_PUSH(before_list, nbefore, capbefore, v);
                changed++;
                continue;
            }
        }
    kept:
        if (report)
            fprintf(report, "batch: loop %s: kept %%%d %s in the loop: %s\n", l->var, v->id, op_name[v->op], why);
    }

    /* The uses replaced below: of the results, put off (put_off); of the
     * body's values, in one walk of the loop at the end (a walk each made a
     * body of thousands of values quadratic) */
    Replacements rp = {0};
    Node **outs = outs_of(bp, l, pos_of(bt.outer, l->node, bt.at));
    /* stacked and summed results of batched values; a stack of a value
     * from before the loop is that value broadcast, once per iteration */
    for (int s = 0; s < l->nstack; s++) {
        Node *v = l->stack[s];
        Node *o = outs[l->ncarry + s];
        if (o && invariant(&bt, v)) {
            Node *bv = place(&bt, mk_preset(&bt, OP_BROADCAST, 1, &v, v, 0), false);
            if (bv) {
                put_off(&bp->later, o, bv);
                changed++;
                if (report)
                    fprintf(report, "batch: loop %s: a stack of %%%d (from before the loop) is its broadcast\n",
                            l->var, v->id);
            }
            continue;
        }
        if (!v->aux || v->parent != bt.body)
            continue;
        if (o)
            put_off(&bp->later, o, v->aux);
    }
    for (int s = 0; s < l->nsum; s++) {
        Node *v = l->sum[s];
        if (!v->aux || v->parent != bt.body)
            continue;
        Node *o = outs[l->ncarry + l->nstack + s];
        if (!o)
            continue;
        if (v->mark & SUMMED) { /* the rule computed the sum itself */
            put_off(&bp->later, o, v->aux);
            continue;
        }
        Node *sum = mk_axis(OP_SUMAXIS, v->aux, 0, o);
        Builder at = build_at(g, bt.outer, bt.after++, BUILD_ASSERT, "batch");
        put_off(&bp->later, o, build_put(&at, sum, o->loc));
    }
    /* inside the loop, batched-before values are rows of B(v) */
    Node *idx = l->index;
    if (nbefore > 0 && !(size_is_const(l->lo) && l->lo.c == 0)) {
        Node *lo = leaf(&bt, ir_dim(l->lo, l->node->loc));
        Builder at = build_at(g, bt.body, pos_of(bt.body, l->index, 0) + 1, BUILD_ASSERT, "batch");
        idx = build_op2(&at, OP_ISUB, l->index, lo, l->node->loc);
    }
    if (nbefore > 0)
        rows_after(&bt, before_list, nbefore, idx, &rp);
    ir_repl_apply_loop(&rp, l);
    for (int i = 0; i < bt.body->n; i++) {
        bt.body->nodes[i]->aux = NULL;
        bt.body->nodes[i]->mark = 0;
    }
    return changed;
}

/* Two samples of one site with the same operands draw the same ids (the
 * stream is a function of the site and the operands: c_approx.c). cse
 * never merges draws; here the forward loop's batched samples and those
 * the reverse loop recomputed (autodiff) become one, so the ids are drawn
 * once per call and the rows gathered at them once. Top block only: the
 * batched samples. Returns how many it merged. */
static int merge_samples(Graph *g) {
    int merged = 0;
    Block *b = &g->top;
    for (int i = 0; i < b->n; i++) {
        Node *s = b->nodes[i];
        if (s->op != OP_SAMPLE)
            continue;
        for (int j = i + 1; j < b->n; j++) {
            Node *t = b->nodes[j];
            bool same = t->op == OP_SAMPLE && t->index == s->index && t->i == s->i && t->f == s->f &&
                        size_eq(t->size, s->size) &&
                        t->nin == s->nin;
            for (int k = 0; same && k < s->nin; k++)
                same = t->in[k] == s->in[k];
            if (same) {
                ir_replace_uses(g, t, s);
                merged++;
            }
        }
    }
    return merged;
}

/* A sum of two scatters of rows into one table, each read by nothing
 * else, is one scatter of both sets of rows (joined along axis 0): after
 * batching, hier's four contexts of a skip-gram word each scatter their
 * path rows into W's gradient; as one scatter_add the gradient can be
 * sparse (select.c). Top block; ids of rank >= 1. Returns how many sums
 * it rewrote (the scatters are left to dce). */
static int merge_scatters(Graph *g) {
    int merged = 0;
    Block *b = &g->top;
    ir_count_uses(g);
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i], *p = n->nin == 2 ? n->in[0] : NULL, *q = n->nin == 2 ? n->in[1] : NULL;
        if (n->op != OP_ADD || p->op != OP_SCATTERADD || q->op != OP_SCATTERADD || p == q || p->mark != 1 ||
            q->mark != 1 || !shape_eq(&p->shape, &q->shape) || !shape_eq(&n->shape, &p->shape) ||
            p->in[1]->shape.rank == 0 || q->in[1]->shape.rank == 0)
            continue;
        Builder at = build_at(g, b, i, BUILD_TRY, "batch");
        Node *rows = build_op2(&at, OP_CONCAT, p->in[0], q->in[0], n->loc);
        Node *ids = rows ? build_op2(&at, OP_CONCAT, p->in[1], q->in[1], n->loc) : NULL;
        if (!ids) {
            i = at.pos; /* n, after what was built (dead: dce removes it) */
            continue;   /* ids of other shapes: left as a sum */
        }
        i = at.pos;
        n->op = OP_SCATTERADD;
        n->in = xalloc(sizeof(Node *) * 2);
        n->in[0] = rows;
        n->in[1] = ids;
        n->mark = 1;
        merged++;
    }
    ir_clear_marks(&g->top);
    return merged;
}

void pass_batch(PassCtx *pc) {
    Graph *g = pc->g;
    pass_dce(pc);  /* what earlier passes bypassed is not worth batching */
    ir_number(g); /* ids for the report */
    BatchPass bp = {.g = g, .report = pc->report};
    count_outs(&g->top, &bp.nouts);
    batch_block(&bp, &g->top);
    ir_repl_apply(g, &bp.later);
    /* values that were computed apart in two loops now sit side by side:
     * a train graph's forward logsumexp(z) and the one of its reverse loop
     * (autodiff's softmax = exp(z - lse)) become one */
    pass_cse(pc);
    if (merge_samples(g))
        pass_cse(pc); /* the gathers at the merged samples' ids */
    merge_scatters(g);
    pass_dce(pc);
}
