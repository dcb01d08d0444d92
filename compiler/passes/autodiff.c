/*
 * autodiff.c - reverse-mode automatic differentiation, written as IR.
 *
 * The pass appends to the graph the computation of d loss / d param for
 * every non-frozen param (g->grads). It runs first on the train graph T,
 * so that every later pass (hoist, batch, dce, fuse) optimizes the forward
 * and the backward code together.
 *
 * Method. Each forward value x gets an *adjoint* dx = d loss / d x, a node
 * of x's shape. The top block is walked backwards from the loss (dloss = 1);
 * at each node x with an adjoint, the op's rule (grad_rule below, one case
 * per op) adds its contribution to the adjoints of x's operands. A value
 * used several times receives several contributions: they are summed (ADD).
 * Only *active* values get adjoints: those that depend on a non-frozen
 * param (computed once up front, with a fixpoint through loop carries).
 *
 * Loops (backpropagation through time). A forward loop L (a scan) is
 * differentiated by a reverse loop R over the same range, built where the
 * walk meets L's node (after the adjoints of its results are known):
 *   - R carries the adjoint of each carry the loss reads (AD.read):
 *     its initial value is the adjoint of L's final carry (or zeros); in
 *     the body, it is the adjoint of L's next value; R's next value is the
 *     adjoint of L's CARRY node; R's final value is the adjoint of the
 *     carry's initial value;
 *   - the adjoint of a stacked result gives row t - lo to the stacked
 *     value; the adjoint of a summed result goes to the summed value in
 *     every iteration;
 *   - L's body is walked backwards inside R's body, recursively (inner
 *     loops give inner reverse loops);
 *   - contributions to values defined outside L (params, values of
 *     enclosing loops) are per-iteration values in R's body: they become
 *     summed results of R, added to those values' adjoints outside. An
 *     outer product (dW += dy_t x_t^T) or a scatter (dE += rows at ids)
 *     gets a sum of its own, so that the batch pass can make it one GEMM
 *     (DY^T X) or one scatter of all rows.
 * Forward values that a rule needs in R's body (tanh's output, a softmax's
 * logits) are *saved*: L gets a stacked result of the value (the LOOPOUT
 * numbering puts stacks before sums, so sum LOOPOUTs are renumbered; the
 * new LOOPOUT goes next to L's others, where batch looks for them), and R
 * reads row t - lo of it. Int values (ids, index arithmetic) cannot be
 * stacked and rows of tensors defined outside L (xs[i], E[ids[t]]) are
 * cheaper to copy than to stack: both are recomputed in R's body.
 *
 * Cross-entropy is differentiated as it stands (softmax(z) - onehot(y)),
 * without running pass_softmax first: the backward's softmax(z) and the
 * forward's logsumexp(z) are separate nodes. Ops with a softmax
 * approximation other than `full` have no gradient rule yet: they are
 * reported ("no gradient for ...").
 *
 * The pass runs cse on the forward graph first, so that a subexpression
 * written several times (skip-gram's four `Wc @ e`) is one value with one
 * adjoint and one saved stack.
 *
 * Requires: a verified graph straight from the front end (params in the
 * top block, no FUSED nodes). Uses Node.mark (active flags; cleared).
 */
#include "nngc.h"

#include <string.h>

/* ---------------------------------------------------------------- maps */

/* A map node -> node: keys and values in insertion order, found by a
 * hashed index (a graph of 100k nodes has as many adjoints). Scope.outer
 * is a plain list of the same shape (one key may repeat there). */
typedef struct Map {
    Node **key, **val;
    int n, cap, capv;
    NodeIndex ix; /* key -> position */
} Map;

static Node *map_get(const Map *m, const Node *k) {
    int i = node_index_get(&m->ix, k);
    return i >= 0 ? m->val[i] : NULL;
}

static void map_set(Map *m, Node *k, Node *v) {
    int i = node_index_get(&m->ix, k);
    if (i >= 0) {
        m->val[i] = v;
        return;
    }
    node_index_put(&m->ix, k, m->n);
    int n = m->n;
    VEC_PUSH(m->key, m->n, m->cap, k);
    VEC_PUSH(m->val, n, m->capv, v);
}

/* ---------------------------------------------------------------- state */

typedef struct AD {
    Graph *g;
    Diag *d;
    int errors;
    bool too_deep; /* reported (once: every value saved there says the same) */
    NodeIndex read; /* the CARRY nodes the loss reads (dce's liveness from it): only
                       their adjoints are carried. Another carry's is zero all along,
                       and a rule multiplying that zero by an infinite derivative
                       (softplus of an overflowed value accumulated into a carry
                       nothing reads: sem_diff seed 54000, program 14) made NaN. */
} AD;

/* One block being differentiated: the top block, or a loop body. */
typedef struct Scope Scope;
struct Scope {
    AD *ad;
    Block *fwd;    /* forward block walked backwards */
    Block *bwd;    /* where the backward nodes go (== fwd for the top block) */
    Scope *up;     /* enclosing scope; NULL for the top block */
    Loop *floop;   /* the forward loop whose body fwd is (NULL at the top) */
    Loop *rloop;   /* its reverse loop, whose body bwd is */
    Map adj;       /* adjoints of fwd's values */
    Map outer;     /* per-iteration contributions to values outside fwd */
    Map saved;     /* fwd's values as seen in bwd (rows of stacks, recomputed ints) */
    Node *rel;     /* rloop's index - lo, once needed */
    LoopSpan fspan; /* floop's span in its block (floop_span) */
    int fnfirst;    /* its block's nfirst when fspan.pos was right */
};

static bool active(const Node *n) { return n->mark == 1; }

/* ---------------------------------------------------------------- builders */

/* A node typed and appended to the scope's backward block (the builder's
 * policy: an ill-typed node is a bug of this pass). */
static Node *emit(Scope *S, Node *n) {
    Builder b = build_at(S->ad->g, S->bwd, -1, BUILD_ASSERT, "autodiff");
    return build_put(&b, n, n->loc);
}

static Node *op1(Scope *S, Op op, Node *a, Loc loc) { return emit(S, ir_new_node(op, 1, &a, loc)); }

static Node *op2(Scope *S, Op op, Node *a, Node *b, Loc loc) {
    return emit(S, ir_new_node(op, 2, (Node *[]){a, b}, loc));
}

/* A gradient op whose result shape the builder gives (BROADCAST, EXPAND,
 * SUMTO, SLICE, SCATTERADD, PICKGRAD); index/size are its attributes. */
static Node *preset(Scope *S, Op op, Node *a, Node *b, const Shape *s, int index, Size size, Loc loc) {
    Node *n = ir_new_node(op, b ? 2 : 1, (Node *[]){a, b}, loc);
    n->shape = *s;
    n->index = index;
    n->size = size;
    return emit(S, n);
}

static Node *matprod(Scope *S, Op op, Node *a, Node *b, bool ta, bool tb, Loc loc) {
    Node *n = ir_new_node(op, 2, (Node *[]){a, b}, loc);
    n->ta = ta;
    n->tb = tb;
    return emit(S, n);
}

/* Leaves go to the head of the top block, visible from every loop. */
static Node *top_leaf(AD *ad, Node *n) {
    Builder b = build_at(ad->g, &ad->g->top, -1, BUILD_ASSERT, "autodiff");
    return build_leaf(&b, n, true);
}

static Node *fconst(AD *ad, double v, Loc loc) { return top_leaf(ad, ir_const(v, loc)); }

static Node *fill(AD *ad, const Shape *s, double v, Loc loc) { return top_leaf(ad, ir_fill(s, v, loc)); }

static bool is_const_one(const Node *n) { return n->op == OP_CONST && n->f == 1.0; }

/* a * b, skipping a multiplication by the scalar constant 1. */
static Node *mul(Scope *S, Node *a, Node *b, Loc loc) {
    if (is_const_one(a) && b->shape.rank >= a->shape.rank)
        return b;
    if (is_const_one(b) && a->shape.rank >= b->shape.rank)
        return a;
    return op2(S, OP_MUL, a, b, loc);
}

/* d summed down to shape s (the adjoint of a broadcast operand). */
static Node *sumto(Scope *S, Node *d, const Shape *s, Loc loc) {
    if (shape_eq(&d->shape, s))
        return d;
    return preset(S, OP_SUMTO, d, NULL, s, 0, size_const(0), loc);
}

/* d (shape s without its last axis) repeated along that axis: the adjoint
 * flowing back through a reduction over the last axis. */
static Node *expand_last(Scope *S, Node *d, const Shape *s, Loc loc) {
    return preset(S, OP_EXPAND, d, NULL, s, s->rank - 1, size_const(0), loc);
}

/* d * factor(s): the product with a per-row adjoint d of a last-axis
 * reduction; d == 1 needs no product. */
static Node *times_expanded(Scope *S, Node *x, Node *d, Loc loc) {
    if (is_const_one(d))
        return x;
    return op2(S, OP_MUL, x, expand_last(S, d, &x->shape, loc), loc);
}

/* softmax(z) = exp(z - logsumexp(z)), from the normalizer lse that the
 * forward pass computed anyway: one elementwise pass over z (which the
 * fuse pass makes one loop with the rest of the gradient), instead of the
 * max, sum and scaling passes of a softmax. */
static Node *softmax_from_lse(Scope *S, Node *z, Node *lse, Loc loc) {
    return op1(S, OP_EXP, op2(S, OP_SUB, z, expand_last(S, lse, &z->shape, loc), loc), loc);
}

/* d / (number of elements of s): a product with a constant when s is
 * static, else a division by sum(ones(s)) computed at run time. */
static Node *count_inverse_times(Scope *S, Node *d, const Shape *s, Loc loc) {
    bool stat = true;
    double count = 1;
    for (int i = 0; i < s->rank; i++) {
        stat = stat && size_is_const(s->d[i]);
        count *= (double)s->d[i].c;
    }
    if (stat)
        return mul(S, d, fconst(S->ad, 1.0 / count, loc), loc);
    Node *ones = fill(S->ad, s, 1.0, loc);
    return op2(S, OP_DIV, d, op1(S, OP_SUM, ones, loc), loc);
}

/* ---------------------------------------------------------------- saved forward values */

/* rloop's index - lo: the row of a stack for this iteration. */
static Node *rel_index(Scope *S) {
    if (S->rel)
        return S->rel;
    Loop *l = S->rloop;
    if (size_is_const(l->lo) && l->lo.c == 0)
        return S->rel = l->index;
    Node *lo = top_leaf(S->ad, ir_size_node(l->lo, l->node->loc)); /* as fold would write it */
    return S->rel = op2(S, OP_ISUB, l->index, lo, l->node->loc);
}

/* The backward pass needs x's value of every iteration of its loop, and
 * a tensor of them would have more axes than a tensor may. */
static void too_deep(AD *ad, const Node *x) {
    ad->errors++;
    NN_ASSERT(ad->d);
    if (ad->too_deep)
        return;
    ad->too_deep = true;
    char t[300];
    diag_error(ad->d, x->loc,
               "cannot differentiate through these nested loops: the gradient needs every iteration's %s%s%s%s, "
               "a tensor of %d axes (at most %d)",
               x->name ? "'" : "value ", x->name ? x->name : "", x->name ? "' " : "",
               ir_type_str(ad->g, x->dtype, &x->shape, t, sizeof t), x->shape.rank + 1, NN_MAXRANK);
}

/* floop's span for ir_loop_stack_of: saved values add LOOPOUTs after it,
 * and the leaves put at the head of the top block move it on by as many
 * (a walk of the block per saved value made loops in a row quadratic). */
static LoopSpan *floop_span(Scope *S) {
    Block *ob = S->floop->node->parent;
    S->fspan.pos = ir_block_find(ob, S->floop->node, S->fspan.pos + (ob->nfirst - S->fnfirst));
    S->fnfirst = ob->nfirst;
    NN_ASSERT(S->fspan.pos >= 0);
    return &S->fspan;
}

/* The value of forward node x as seen in S's backward block. */
static Node *fwd(Scope *S, Node *x) {
    if (!S->up)
        return x;
    if (x->parent != S->fwd)
        return fwd(S->up, x);
    Node *v = map_get(&S->saved, x);
    if (v)
        return v;
    if (x == S->floop->index) {
        v = S->rloop->index;
    } else if (x->dtype == DT_I32 || ((x->op == OP_ROW || x->op == OP_GATHER) && x->in[0]->parent != S->fwd)) {
        /* recompute: index arithmetic, id lookups, and rows of tensors
         * defined outside the loop (xs[i], E[ids[t]]): a row copy is
         * cheaper than a stack, and the batch pass turns it into a gather */
        Node *in[8];
        NN_ASSERT(x->nin <= 8);
        for (int i = 0; i < x->nin; i++)
            in[i] = fwd(S, x->in[i]);
        Node *c = ir_new_node(x->op, x->nin, in, x->loc);
        c->i = x->i;
        c->f = x->f; /* a sample's power */
        c->index = x->index;
        c->size = x->size;
        c->shape = x->shape;
        c->name = x->name;
        v = emit(S, c);
    } else if (x->shape.rank + 1 > NN_MAXRANK) {
        /* a stack over this loop would have one axis too many (x is an
         * inner loop's stack already, or a matrix in loops nested deep) */
        too_deep(S->ad, x);
        v = fill(S->ad, &x->shape, 0.0, x->loc); /* goes on for the other errors, never emitted */
    } else {
        /* the new LOOPOUT goes next to L's others, where batch looks for them */
        Node *st = ir_loop_stack_of(S->floop, x, -1, floop_span(S), NULL);
        v = op2(S, OP_ROW, fwd(S->up, st), rel_index(S), x->loc);
        v->name = x->name;
    }
    map_set(&S->saved, x, v);
    return v;
}

/* ---------------------------------------------------------------- adjoints */

static bool solo(const Node *d) { return d->op == OP_OUTER || d->op == OP_SCATTERADD; }

/* adj(x) += d. Values outside the scope's block collect per-iteration
 * contributions (summed by the reverse loop). */
static void add_adj(Scope *S, Node *x, Node *d) {
    if (!d || !active(x))
        return;
    if (d->dtype != DT_F32 || !shape_eq(&d->shape, &x->shape)) {
        char a[200], b[200];
        fprintf(stderr, "nngc: autodiff: adjoint %s for a value %s (%s)\n", shape_str(S->ad->g, &d->shape, a, sizeof a),
                shape_str(S->ad->g, &x->shape, b, sizeof b), op_name[x->op]);
        NN_ASSERT(0);
    }
    if (x->parent == S->fwd) {
        Node *old = map_get(&S->adj, x);
        map_set(&S->adj, x, old ? op2(S, OP_ADD, old, d, x->loc) : d);
        return;
    }
    /* A value outside the loop: the reverse loop sums the contributions.
     * An outer product or a scatter gets a sum of its own, so that the
     * batch pass can make it one GEMM (sum_t dy_t x_t^T = DY^T X) or one
     * scatter; other contributions are added up in the body. */
    Map *m = &S->outer;
    if (!solo(d))
        for (int i = 0; i < m->n; i++)
            if (m->key[i] == x && !solo(m->val[i])) {
                m->val[i] = op2(S, OP_ADD, m->val[i], d, x->loc);
                return;
            }
    int n = m->n;
    VEC_PUSH(m->key, m->n, m->cap, x);
    VEC_PUSH(m->val, n, m->capv, d);
}

static void no_gradient(AD *ad, const Node *x) {
    ad->errors++;
    const char *how = x->approx.kind != APPROX_FULL ? approx_name[x->approx.kind] : NULL;
    NN_ASSERT(ad->d); /* autodiff(g, NULL) is for graphs that have every rule */
    if (how)
        diag_error(ad->d, x->loc, "no gradient for %s with %s", op_name[x->op], how);
    else
        diag_error(ad->d, x->loc, "no gradient for %s", op_name[x->op]);
}

/* ---------------------------------------------------------------- rules */

static void reverse_loop(Scope *S, Loop *L, int pos, Node **outs, int nouts);

/* Adds the contributions of x (adjoint dy) to its operands' adjoints.
 * Returns false when x's op has no rule. */
static bool grad_rule(Scope *S, Node *x, Node *dy) {
    AD *ad = S->ad;
    Loc at = x->loc;
    Node *a = x->nin > 0 ? x->in[0] : NULL, *b = x->nin > 1 ? x->in[1] : NULL;
    bool da = a && active(a), db = b && active(b);
    if (op_flags[x->op] & OPF_SOFTMAX && x->approx.kind != APPROX_FULL)
        return false;

    switch (x->op) {
    /* leaves and loop plumbing: nothing flows further (loops: reverse_loop) */
    case OP_CONST: case OP_ICONST: case OP_PARAM: case OP_INPUT: case OP_DIM: case OP_INDEX:
    case OP_CARRY: case OP_FILL: case OP_RANGE: case OP_LOOPOUT:
    case OP_IADD: case OP_ISUB: case OP_IMUL: case OP_CHECKIDX: case OP_SAMPLE:
    case OP_HIERPATH: case OP_HIERLABEL: case OP_CLASSIDS: case OP_BINCODE: case OP_BINSLOT:
        return true;

    case OP_ADD:
        if (da) add_adj(S, a, sumto(S, dy, &a->shape, at));
        if (db) add_adj(S, b, sumto(S, dy, &b->shape, at));
        return true;
    case OP_SUB:
        if (da) add_adj(S, a, sumto(S, dy, &a->shape, at));
        if (db) add_adj(S, b, op1(S, OP_NEG, sumto(S, dy, &b->shape, at), at));
        return true;
    case OP_MUL:
        if (da) add_adj(S, a, sumto(S, mul(S, dy, fwd(S, b), at), &a->shape, at));
        if (db) add_adj(S, b, sumto(S, mul(S, dy, fwd(S, a), at), &b->shape, at));
        return true;
    case OP_DIV: /* y = a / b: da = dy / b, db = -dy * y / b */
        if (da) add_adj(S, a, sumto(S, op2(S, OP_DIV, dy, fwd(S, b), at), &a->shape, at));
        if (db) {
            Node *yb = op2(S, OP_DIV, fwd(S, x), fwd(S, b), at);
            add_adj(S, b, sumto(S, op1(S, OP_NEG, mul(S, dy, yb, at), at), &b->shape, at));
        }
        return true;
    case OP_NEG:
        add_adj(S, a, op1(S, OP_NEG, dy, at));
        return true;
    case OP_TANH: { /* 1 - y^2 */
        Node *y = fwd(S, x);
        Node *d = op2(S, OP_SUB, fconst(ad, 1.0, at), op2(S, OP_MUL, y, y, at), at);
        add_adj(S, a, mul(S, dy, d, at));
        return true;
    }
    case OP_RELU:
        add_adj(S, a, mul(S, dy, op1(S, OP_STEP, fwd(S, x), at), at));
        return true;
    case OP_SIGMOID: { /* s (1 - s) */
        Node *s = fwd(S, x);
        Node *d = op2(S, OP_MUL, s, op2(S, OP_SUB, fconst(ad, 1.0, at), s, at), at);
        add_adj(S, a, mul(S, dy, d, at));
        return true;
    }
    case OP_EXP:
        add_adj(S, a, mul(S, dy, fwd(S, x), at));
        return true;
    case OP_LOG:
        add_adj(S, a, op2(S, OP_DIV, dy, fwd(S, a), at));
        return true;
    case OP_SQRT: /* 0.5 / y */
        add_adj(S, a, op2(S, OP_DIV, mul(S, dy, fconst(ad, 0.5, at), at), fwd(S, x), at));
        return true;
    case OP_ABS:
        add_adj(S, a, mul(S, dy, op1(S, OP_SIGN, fwd(S, a), at), at));
        return true;
    case OP_LOGSIGMOID: /* 1 - sigmoid(a) = sigmoid(-a) */
        add_adj(S, a, mul(S, dy, op1(S, OP_SIGMOID, op1(S, OP_NEG, fwd(S, a), at), at), at));
        return true;

    case OP_MATVEC: /* y = op(A) x: dA = dy x^T (x dy^T when A is stored transposed), dx = op(A)^T dy */
        if (da) {
            Node *xv = fwd(S, b);
            add_adj(S, a, x->ta ? op2(S, OP_OUTER, xv, dy, at) : op2(S, OP_OUTER, dy, xv, at));
        }
        if (db) {
            Node *n = ir_new_node(OP_MATVEC, 2, (Node *[]){fwd(S, a), dy}, at);
            n->ta = !x->ta;
            add_adj(S, b, emit(S, n));
        }
        if (x->nin == 3 && active(x->in[2]))
            add_adj(S, x->in[2], sumto(S, dy, &x->in[2]->shape, at));
        return true;
    case OP_MATMUL: /* Y = op(A) op(B): dop(A) = dY op(B)^T, dop(B) = op(A)^T dY */
        if (da)
            add_adj(S, a, x->ta ? matprod(S, OP_MATMUL, fwd(S, b), dy, x->tb, true, at)
                                : matprod(S, OP_MATMUL, dy, fwd(S, b), false, !x->tb, at));
        if (db)
            add_adj(S, b, x->tb ? matprod(S, OP_MATMUL, dy, fwd(S, a), true, x->ta, at)
                                : matprod(S, OP_MATMUL, fwd(S, a), dy, !x->ta, false, at));
        if (x->nin == 3 && active(x->in[2]))
            add_adj(S, x->in[2], sumto(S, dy, &x->in[2]->shape, at));
        return true;
    case OP_BMM: /* as MATMUL, product by product; an operand shared by all: the sum over them */
        if (da)
            add_adj(S, a, sumto(S, x->ta ? matprod(S, OP_BMM, fwd(S, b), dy, x->tb, true, at)
                                         : matprod(S, OP_BMM, dy, fwd(S, b), false, !x->tb, at), &a->shape, at));
        if (db)
            add_adj(S, b, sumto(S, x->tb ? matprod(S, OP_BMM, dy, fwd(S, a), true, x->ta, at)
                                         : matprod(S, OP_BMM, fwd(S, a), dy, !x->ta, false, at), &b->shape, at));
        return true;
    case OP_TRANSPOSE:
        add_adj(S, a, op1(S, OP_TRANSPOSE, dy, at));
        return true;
    case OP_DOT: /* da = dy b, db = dy a */
        if (da) add_adj(S, a, times_expanded(S, fwd(S, b), dy, at));
        if (db) add_adj(S, b, times_expanded(S, fwd(S, a), dy, at));
        return true;

    case OP_ROW: /* a[i]: dy into row i */
    case OP_GATHER: /* a[ids]: dy's rows into rows ids (repeats add up) */
        if (da) add_adj(S, a, preset(S, OP_SCATTERADD, dy, fwd(S, b), &a->shape, 0, size_const(0), at));
        return true;
    case OP_SUM:
        if (is_const_one(dy))
            add_adj(S, a, fill(ad, &a->shape, 1.0, at));
        else
            add_adj(S, a, preset(S, OP_BROADCAST, dy, NULL, &a->shape, 0, size_const(0), at));
        return true;
    case OP_MEAN:
        add_adj(S, a, preset(S, OP_BROADCAST, count_inverse_times(S, dy, &a->shape, at), NULL, &a->shape, 0,
                             size_const(0), at));
        return true;
    case OP_SUMAXIS:
    case OP_MEANAXIS: {
        Node *d = dy;
        if (x->op == OP_MEANAXIS) {
            Shape one = {.rank = 1, .d = {a->shape.d[x->index]}};
            d = count_inverse_times(S, dy, &one, at);
        }
        add_adj(S, a, preset(S, OP_EXPAND, d, NULL, &a->shape, x->index, size_const(0), at));
        return true;
    }
    case OP_EXPAND: /* axis inserted (vectorize.c lifts ranks with it): sum it away */
        add_adj(S, a, preset(S, OP_SUMAXIS, dy, NULL, &a->shape, x->index, size_const(0), at));
        return true;
    case OP_RESHAPE: /* vectorize.c's rows of a time-major value: back to its shape */
        add_adj(S, a, preset(S, OP_RESHAPE, dy, NULL, &a->shape, 0, size_const(0), at));
        return true;
    case OP_BROADCAST: /* vectorize.c's per-batch values broadcast to the batch */
        add_adj(S, a, sumto(S, dy, &a->shape, at));
        return true;
    case OP_CONCAT:
        if (da) add_adj(S, a, preset(S, OP_SLICE, dy, NULL, &a->shape, 0, size_const(0), at));
        if (db) add_adj(S, b, preset(S, OP_SLICE, dy, NULL, &b->shape, 0, a->shape.d[0], at));
        return true;

    case OP_SOFTMAX:
        add_adj(S, a, op2(S, OP_SOFTMAXGRAD, fwd(S, x), dy, at));
        return true;
    case OP_LOGSOFTMAX:
        add_adj(S, a, op2(S, OP_LOGSOFTMAXGRAD, fwd(S, x), dy, at));
        return true;
    case OP_XENT: { /* logsumexp(z) - z[y]: (softmax(z) - onehot(y)) dy */
        Node *z = fwd(S, a);
        /* the softmax pass splits the forward cross_entropy into
         * logsumexp(z) - pick(z, y), and cse merges that logsumexp with
         * this one */
        Node *p = times_expanded(S, softmax_from_lse(S, z, op1(S, OP_LOGSUMEXP, z, at), at), dy, at);
        Node *hot = preset(S, OP_PICKGRAD, dy, fwd(S, b), &a->shape, 0, size_const(0), at);
        add_adj(S, a, op2(S, OP_SUB, p, hot, at));
        return true;
    }
    case OP_LOGSUMEXP:
        add_adj(S, a, times_expanded(S, softmax_from_lse(S, fwd(S, a), fwd(S, x), at), dy, at));
        return true;
    case OP_PICK:
        if (da) add_adj(S, a, preset(S, OP_PICKGRAD, dy, fwd(S, b), &a->shape, 0, size_const(0), at));
        return true;
    case OP_BXENT: { /* sum -t log s(z) - (1-t) log(1-s(z)): dz = (s(z) - t) dy, dt = -z dy */
        Node *z = fwd(S, a);
        if (da) {
            Node *r = op2(S, OP_SUB, op1(S, OP_SIGMOID, z, at), fwd(S, b), at);
            add_adj(S, a, times_expanded(S, r, dy, at));
        }
        if (db) add_adj(S, b, times_expanded(S, op1(S, OP_NEG, z, at), dy, at));
        return true;
    }
    case OP_NEGLOSS: /* dz = dy (sigmoid(z) - [j = 0]), 0 at skipped samples (passes/approx.c) */
    case OP_NCELOSS: /* the same with the noise correction, no skip */
    case OP_SAMPLEDLOSS: /* dz = dy (softmax(z - log q) - [j = o]) on the segment */
    case OP_LOGISTICLOSS: { /* dz = dy (sigmoid(z) - t), 0 where t < 0 */
        Op gop = x->op == OP_NEGLOSS ? OP_NEGLOSSGRAD : x->op == OP_NCELOSS ? OP_NCEGRAD
               : x->op == OP_SAMPLEDLOSS ? OP_SAMPLEDGRAD : OP_LOGISTICGRAD;
        Node *g = ir_new_node(gop, 3,
                              (Node *[]){fwd(S, a), fwd(S, b), dy}, at);
        g->index = x->index; /* neg: the segment of the target and its samples */
        g->i = x->i;
        if (da) add_adj(S, a, emit(S, g));
        return true;
    }
    case OP_CLASSLOSS: /* dz = dy (softmax - onehot) on the level's part (passes/approx.c) */
    case OP_VMFLOSS: { /* do only: the target's embedding is frozen */
        Node *g = ir_new_node(x->op == OP_CLASSLOSS ? OP_CLASSGRAD : OP_VMFGRAD, 3, (Node *[]){fwd(S, a), fwd(S, b), dy}, at);
        g->index = x->index;
        g->size = x->size;
        g->approx = x->approx; /* vmf: the lambdas */
        if (da) add_adj(S, a, emit(S, g));
        return true;
    }
    default:
        return false; /* FUSED, ARG, the gradient ops themselves */
    }
}

/* Walks S's forward block backwards, applying the rules. */
static void backprop(Scope *S) {
    Block *b = S->fwd;
    int n = b->n, nfirst = b->nfirst;
    /* a snapshot: the walk adds leaves at the head of the top block and
     * LOOPOUTs (saved values) at the end of forward blocks */
    Node **snap = xalloc(sizeof(Node *) * (size_t)(n + 1));
    memcpy(snap, b->nodes, sizeof(Node *) * (size_t)n);
    /* each loop's LOOPOUTs in block order (a loop gets none until its
     * reverse loop saves values): the snapshot's positions of a loop's
     * first one (first) and of the next one of each (next) */
    NodeIndex first = {0};
    int *next = xalloc(sizeof(int) * (size_t)(n + 1));
    for (int i = n - 1; i >= 0; i--)
        if (snap[i]->op == OP_LOOPOUT) {
            next[i] = node_index_get(&first, snap[i]->in[0]);
            node_index_put(&first, snap[i]->in[0], i);
        }
    for (int i = n - 1; i >= 0; i--) {
        Node *x = snap[i];
        if (x->op == OP_LOOP) {
            Node **outs = NULL;
            int nouts = 0, cap = 0;
            for (int k = node_index_get(&first, x); k >= 0; k = next[k])
                VEC_PUSH(outs, nouts, cap, snap[k]);
            reverse_loop(S, x->loop, i + (b->nfirst - nfirst), outs, nouts);
            continue;
        }
        Node *dy = map_get(&S->adj, x);
        if (dy && !grad_rule(S, x, dy))
            no_gradient(S->ad, x);
    }
}

/* The reverse loop of L (see the header comment), in S's backward block.
 * L's node is at position pos of its block or after it; outs[0..nouts):
 * its LOOPOUTs, in block order. */
static void reverse_loop(Scope *S, Loop *L, int pos, Node **outs, int nouts) {
    AD *ad = S->ad;
    int nc = L->ncarry, ns = L->nstack, nu = L->nsum;
    /* adjoints of L's results, by kind (saving values adds stacks later) */
    Node **dres = xalloc(sizeof(Node *) * (size_t)(nc + ns + nu + 1));
    bool any = false;
    for (int i = 0; i < nouts; i++) {
        Node *o = outs[i];
        if (o->index >= nc + ns + nu)
            continue;
        Node *d = map_get(&S->adj, o);
        if (!d)
            continue;
        Node *old = dres[o->index];
        dres[o->index] = old ? op2(S, OP_ADD, old, d, o->loc) : d;
        any = true;
    }
    if (!any)
        return;

    Loop *R = ir_new_loop(S->bwd, L->var, L->lo, L->hi, L->node->loc);
    R->reverse = true;
    Scope C = {.ad = ad, .fwd = &L->body, .bwd = &R->body, .up = S, .floop = L, .rloop = R};
    C.fspan = (LoopSpan){.pos = pos, .nouts = nouts};
    C.fnfirst = L->node->parent->nfirst;

    /* carries: the adjoint of each active carry the loss reads (its
     * result has an adjoint, or its CARRY node is in ad->read) */
    int *rc = xalloc(sizeof(int) * (size_t)(nc + 1));
    for (int r = 0; r < nc; r++) {
        rc[r] = -1;
        Node *c = L->carry[r];
        if (!active(c) || (!dres[r] && node_index_get(&ad->read, c) < 0))
            continue;
        Node *init = dres[r] ? dres[r] : fill(ad, &c->shape, 0.0, c->loc);
        rc[r] = R->ncarry;
        ir_loop_add_carry(R, init, c->name ? xsprintf("d%s", c->name) : NULL);
    }
    for (int r = 0; r < nc; r++)
        if (rc[r] >= 0)
            add_adj(&C, L->next[r], R->carry[rc[r]]);
    for (int s = 0; s < ns; s++)
        if (dres[nc + s])
            add_adj(&C, L->stack[s], op2(&C, OP_ROW, dres[nc + s], rel_index(&C), L->node->loc));
    for (int s = 0; s < nu; s++)
        if (dres[nc + ns + s])
            add_adj(&C, L->sum[s], dres[nc + ns + s]);

    backprop(&C);

    for (int r = 0; r < nc; r++) {
        if (rc[r] < 0)
            continue;
        Node *d = map_get(&C.adj, L->carry[r]);
        R->next[rc[r]] = d ? d : fill(ad, &L->carry[r]->shape, 0.0, L->carry[r]->loc);
    }
    int first_sum = R->ncarry;
    for (int i = 0; i < C.outer.n; i++)
        ir_loop_add_sum(R, C.outer.val[i]);

    emit(S, R->node);
    for (int r = 0; r < nc; r++)
        if (rc[r] >= 0)
            add_adj(S, L->node->in[r], ir_loop_result(R, rc[r], R->carry[rc[r]]->name));
    for (int i = 0; i < C.outer.n; i++)
        add_adj(S, C.outer.key[i], ir_loop_result(R, first_sum + i, NULL));
}

/* ---------------------------------------------------------------- activity */

/* Marks (Node.mark = 1) the values that depend on a non-frozen param;
 * returns whether a mark was added. Loop bodies are walked to a fixpoint
 * (a carry is active when its initial or its next value is). */
static bool mark_active(Graph *g, Block *b) {
    bool changed = false;
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        bool act = false;
        if (n->op == OP_LOOP) {
            while (mark_active(g, &n->loop->body))
                changed = true;
            continue;
        }
        if (n->mark || n->dtype == DT_I32)
            continue;
        switch (n->op) {
        case OP_PARAM:
            act = !g->params[n->index].frozen;
            break;
        case OP_CARRY:
            act = active(n->loop->node->in[n->index]) || active(n->loop->next[n->index]);
            break;
        case OP_LOOPOUT: {
            Loop *l = n->in[0]->loop;
            int r = n->index;
            if (r < l->ncarry)
                act = active(l->carry[r]) || active(l->next[r]);
            else if (r < l->ncarry + l->nstack)
                act = active(l->stack[r - l->ncarry]);
            else
                act = active(l->sum[r - l->ncarry - l->nstack]);
            break;
        }
        default:
            for (int k = 0; k < n->nin; k++)
                act = act || active(n->in[k]);
            break;
        }
        if (act) {
            n->mark = 1;
            changed = true;
        }
    }
    return changed;
}

/* The marked (live) CARRY nodes of the loops in b, into read. */
static void read_carries(NodeIndex *read, const Block *b) {
    for (int i = 0; i < b->n; i++) {
        const Loop *l = b->nodes[i]->op == OP_LOOP ? b->nodes[i]->loop : NULL;
        for (int r = 0; l && r < l->ncarry; r++)
            if (l->carry[r]->mark)
                node_index_put(read, l->carry[r], 1);
        if (l)
            read_carries(read, &l->body);
    }
}

/* ---------------------------------------------------------------- entry points */

bool autodiff(Graph *g, Diag *d) {
    AD ad = {.g = g, .d = d};
    g->grads = NULL;
    if (!g->loss)
        return true;
    /* merge repeated subexpressions first (skip-gram writes Wc @ e four
     * times): one value, one adjoint, one saved stack */
    pass_cse(&(PassCtx){.g = g, .diag = d});
    dce_mark_from(g, g->loss);
    read_carries(&ad.read, &g->top);
    ir_clear_marks(&g->top);
    while (mark_active(g, &g->top))
        ;
    Node **grads = xalloc(sizeof(Node *) * (size_t)(g->nparams + 1));
    if (active(g->loss)) {
        Scope top = {.ad = &ad, .fwd = &g->top, .bwd = &g->top};
        int n = g->top.n;
        Node **snap = xalloc(sizeof(Node *) * (size_t)(n + 1));
        memcpy(snap, g->top.nodes, sizeof(Node *) * (size_t)n);
        map_set(&top.adj, g->loss, fconst(&ad, 1.0, g->loss->loc));
        backprop(&top);
        for (int i = 0; i < n; i++) {
            Node *p = snap[i];
            Node *dp = p->op == OP_PARAM ? map_get(&top.adj, p) : NULL;
            if (!dp)
                continue;
            Node *old = grads[p->index];
            grads[p->index] = old ? op2(&top, OP_ADD, old, dp, p->loc) : dp;
        }
    }
    ir_clear_marks(&g->top);
    if (ad.errors)
        return false;
    g->grads = grads;
    return true;
}
