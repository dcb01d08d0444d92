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

typedef struct Batcher {
    Graph *g;
    Loop *l;
    Block *body, *outer;
    Size n;           /* trip count */
    int after;        /* insertion cursor after the loop's node */
    FILE *report;
    bool summed;      /* set by rule(): its result is the sum over iterations */
} Batcher;

static int pos_of(Block *b, Node *n) {
    for (int i = 0; i < b->n; i++)
        if (b->nodes[i] == n)
            return i;
    NN_ASSERT(0);
}

/* A typed node, or NULL when its typing rule rejects the batched operands
 * (then the original stays in the loop). */
static Node *mk(Batcher *bt, Op op, int nin, Node **in, const Node *like) {
    Node *n = ir_new_node(op, nin, in, like->loc);
    n->name = like->name;
    n->approx = like->approx;
    char err[256];
    if (!ir_infer(bt->g, n, err, sizeof err))
        return NULL;
    return n;
}

static void put_before(Batcher *bt, Node *n) {
    ir_insert(bt->outer, pos_of(bt->outer, bt->l->node), n);
    n->parent = bt->outer;
    bt->after++; /* the cursor moved with the loop node */
}

static void put_after(Batcher *bt, Node *n) {
    ir_insert(bt->outer, bt->after++, n);
    n->parent = bt->outer;
}

/* Is x defined outside the loop body (so the same in every iteration)? */
static bool invariant(Batcher *bt, Node *x) { return x->parent != bt->body; }

/* B(x) for an operand: batched value, or NULL if x is invariant or has none. */
static Node *bval(Node *x) { return x->aux; }

/* Places a batched node: before the loop, or after it (fission). */
static Node *place(Batcher *bt, Node *n, bool after) {
    if (n)
        after ? put_after(bt, n) : put_before(bt, n);
    return n;
}

/* A node with one attribute set after creation, then typed. */
static Node *mk_axis(Batcher *bt, Op op, Node *x, int axis, const Node *like) {
    Node *n = ir_new_node(op, 1, (Node *[]){x}, like->loc);
    n->index = axis;
    n->name = like->name;
    char err[256];
    return ir_infer(bt->g, n, err, sizeof err) ? n : NULL;
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
    char err[256];
    return ir_infer(bt->g, n, err, sizeof err) ? n : NULL;
}

/* B(x) for a float operand, an invariant one broadcast to [n, x's shape]. */
static Node *lift(Batcher *bt, Node *x, bool after) {
    if (bval(x))
        return bval(x);
    return place(bt, mk_preset(bt, OP_BROADCAST, 1, &x, x, 0), after);
}

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

static bool used_in_block(const Block *b, const Node *v) {
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] == v)
                return true;
        if (n->op != OP_LOOP)
            continue;
        const Loop *l = n->loop;
        for (int r = 0; r < l->ncarry; r++)
            if (l->next[r] == v)
                return true;
        for (int s = 0; s < l->nstack; s++)
            if (l->stack[s] == v)
                return true;
        for (int s = 0; s < l->nsum; s++)
            if (l->sum[s] == v)
                return true;
        if (used_in_block(&l->body, v))
            return true;
    }
    return false;
}

/* Is v used only as summed results of the loop? */
static bool only_summed(Batcher *bt, const Node *v) {
    Loop *l = bt->l;
    bool summed = false;
    for (int s = 0; s < l->nsum; s++)
        summed |= l->sum[s] == v;
    for (int r = 0; r < l->ncarry; r++)
        if (l->next[r] == v)
            return false;
    for (int s = 0; s < l->nstack; s++)
        if (l->stack[s] == v)
            return false;
    return summed && !used_in_block(bt->body, v);
}

/* The batching rule of v's op. Operands are invariant or batched (the
 * caller checked). Returns B(v), placed before or after the loop, or NULL
 * with *why set. */
static Node *rule(Batcher *bt, Node *v, bool after, const char **why) {
    Node *a = v->nin > 0 ? v->in[0] : NULL, *b = v->nin > 1 ? v->in[1] : NULL;
    Node *ba = a ? bval(a) : NULL, *bb = b ? bval(b) : NULL;
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
        return place(bt, mk(bt, v->op, v->nin, x, v), after);
    }
    switch (v->op) {
    case OP_IADD:
    case OP_ISUB:
    case OP_IMUL:
        return place(bt, mk(bt, v->op, 2, x, v), after);
    case OP_MATVEC: {
        if (ba) {
            *why = "the matrix of '@' varies with the loop index";
            return NULL;
        }
        /* y_t = op(W) x_t for every t: Y = X op(W)^T */
        Node *n = ir_new_node(OP_MATMUL, 2, (Node *[]){bb, a}, v->loc);
        n->tb = !v->ta;
        n->name = v->name;
        char err[256];
        return place(bt, ir_infer(bt->g, n, err, sizeof err) ? n : NULL, after);
    }
    case OP_DOT:
        if (ba && bb) { /* row-wise dots: sum over the last axis of the product */
            Node *m = place(bt, mk(bt, OP_MUL, 2, (Node *[]){ba, bb}, v), after);
            return m ? place(bt, mk_axis(bt, OP_SUMAXIS, m, 1, v), after) : NULL;
        }
        return place(bt, mk(bt, OP_MATVEC, 2, ba ? (Node *[]){ba, b} : (Node *[]){bb, a}, v), after);
    case OP_ROW:
        if (ba) {
            *why = "a row of a tensor that varies with the loop index";
            return NULL;
        }
        if (is_row_index(bt, b) && size_eq(a->shape.d[0], bt->n))
            return a; /* row t - lo of a stack, for every t: the stack itself */
        return place(bt, mk(bt, OP_GATHER, 2, (Node *[]){a, bb}, v), after);
    /* gradient ops (autodiff's reverse loops) */
    case OP_OUTER:
        /* sum_t a_t b_t^T = A^T B: only when nothing else reads the
         * per-iteration [M, N] product */
        if (!only_summed(bt, v) || (!ba && !bb)) {
            *why = "an outer product per iteration (batched only when it is only summed)";
            return NULL;
        }
        bt->summed = true;
        if (ba && bb) {
            Node *n = ir_new_node(OP_MATMUL, 2, (Node *[]){ba, bb}, v->loc);
            n->ta = true;
            n->name = v->name;
            char err[256];
            return place(bt, ir_infer(bt->g, n, err, sizeof err) ? n : NULL, after);
        }
        {
            Node *s = place(bt, mk_axis(bt, OP_SUMAXIS, ba ? ba : bb, 0, v), after);
            return s ? place(bt, mk(bt, OP_OUTER, 2, ba ? (Node *[]){s, b} : (Node *[]){a, s}, v), after) : NULL;
        }
    case OP_SCATTERADD: {
        /* sum_t of rows a_t at ids i_t: all rows at all ids, one scatter */
        if (!only_summed(bt, v) || !ba || b->shape.rank != 0) {
            *why = "a scatter per iteration (batched only when it is only summed, with one id per iteration)";
            return NULL;
        }
        bt->summed = true;
        Node *rows = bb ? ba : place(bt, mk_axis(bt, OP_SUMAXIS, ba, 0, v), after);
        if (!rows)
            return NULL;
        Node *n = ir_new_node(OP_SCATTERADD, 2, (Node *[]){rows, bb ? bb : b}, v->loc);
        n->shape = v->shape;
        n->name = v->name;
        char err[256];
        return place(bt, ir_infer(bt->g, n, err, sizeof err) ? n : NULL, after);
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
    case OP_BROADCAST:
        if (a->shape.rank != v->shape.rank) {
            *why = "a broadcast or sum_to that changes the rank";
            return NULL;
        }
        return place(bt, mk_preset(bt, v->op, 1, &ba, v, 0), after);
    case OP_SOFTMAXGRAD:
    case OP_LOGSOFTMAXGRAD: {
        Node *av = lift(bt, a, after), *bv = av ? lift(bt, b, after) : NULL;
        return bv ? place(bt, mk(bt, v->op, 2, (Node *[]){av, bv}, v), after) : NULL;
    }
    case OP_SUM:
    case OP_MEAN:
        if (a->shape.rank == 0)
            return ba; /* the sum of a scalar is itself */
        if (a->shape.rank == 1)
            return place(bt, mk_axis(bt, v->op == OP_SUM ? OP_SUMAXIS : OP_MEANAXIS, ba, 1, v), after);
        *why = "sum/mean of a matrix in each iteration";
        return NULL;
    case OP_SUMAXIS:
    case OP_MEANAXIS:
        return place(bt, mk_axis(bt, v->op, ba, v->index + 1, v), after);
    case OP_SOFTMAX:
    case OP_LOGSOFTMAX:
    case OP_LOGSUMEXP:
        return place(bt, mk(bt, v->op, 1, x, v), after);
    case OP_PICK:
    case OP_XENT:
        if (!ba || !bb) {
            *why = "cross_entropy with only one of logits and label varying";
            return NULL;
        }
        return place(bt, mk(bt, v->op, 2, x, v), after);
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

/* Renumbers the LOOPOUTs of sums before a stack is added (stacks come
 * before sums in the result numbering). */
static Node *stack_of(Batcher *bt, Node *v) {
    Loop *l = bt->l;
    for (int s = 0; s < l->nstack; s++)
        if (l->stack[s] == v) {
            for (int i = 0; i < bt->outer->n; i++) {
                Node *o = bt->outer->nodes[i];
                if (o->op == OP_LOOPOUT && o->in[0] == l->node && o->index == l->ncarry + s)
                    return o;
            }
        }
    for (int i = 0; i < bt->outer->n; i++) {
        Node *o = bt->outer->nodes[i];
        if (o->op == OP_LOOPOUT && o->in[0] == l->node && o->index >= l->ncarry + l->nstack)
            o->index++;
    }
    ir_loop_add_stack(l, v);
    Node *out = ir_loop_result(l, l->ncarry + l->nstack - 1, v->name);
    /* ir_loop_result appended it at the end: move it to the cursor */
    NN_ASSERT(bt->outer->nodes[bt->outer->n - 1] == out);
    bt->outer->n--;
    put_after(bt, out);
    return out;
}

static int batch_loop(Graph *g, Loop *l, FILE *report);

/* Uses of x as a result (next, stacked or summed value) of loop l. */
static int results_using(const Loop *l, const Node *x) {
    int n = 0;
    for (int r = 0; r < l->ncarry; r++)
        n += l->next[r] == x;
    for (int s = 0; s < l->nstack; s++)
        n += l->stack[s] == x;
    for (int s = 0; s < l->nsum; s++)
        n += l->sum[s] == x;
    return n;
}

/* Uses of x in block b and the blocks nested in it (operands and the
 * results of nested loops). */
static int uses_in(const Block *b, const Node *x) {
    int n = 0;
    for (int i = 0; i < b->n; i++) {
        const Node *v = b->nodes[i];
        for (int k = 0; k < v->nin; k++)
            n += v->in[k] == x;
        if (v->op == OP_LOOP)
            n += uses_in(&v->loop->body, x) + results_using(v->loop, x);
    }
    return n;
}

/* Moves n (the last node of b) to just after `after`. */
static void move_after(Block *b, Node *n, Node *after) {
    NN_ASSERT(b->n > 0 && b->nodes[b->n - 1] == n);
    b->n--;
    ir_insert(b, pos_of(b, after) + 1, n);
    n->parent = b;
}

/* A carry whose only use is its own next value carry + e is a sum written
 * as a rebinding (`h = h + emb[words[t]]`): its final value is
 * init + sum over t of e, a summed result, which batching then turns into
 * one reduction instead of a loop. Returns how many carries it rewrote;
 * the carries themselves are left for dce. */
static int carries_to_sums(Graph *g, Loop *l) {
    int changed = 0;
    Block *outer = l->node->parent;
    for (int r = 0; r < l->ncarry; r++) {
        Node *c = l->carry[r], *nx = l->next[r];
        if (nx->op != OP_ADD || nx->parent != &l->body)
            continue;
        Node *e = nx->in[0] == c ? nx->in[1] : nx->in[1] == c ? nx->in[0] : NULL;
        if (!e || e == c || uses_in(&l->body, c) != 1 || uses_in(&l->body, nx) != 0 || results_using(l, nx) != 1 ||
            results_using(l, c) != 0)
            continue;
        Node *out = NULL;
        for (int i = 0; i < outer->n && !out; i++)
            if (outer->nodes[i]->op == OP_LOOPOUT && outer->nodes[i]->in[0] == l->node &&
                outer->nodes[i]->index == r)
                out = outer->nodes[i];
        ir_loop_add_sum(l, e);
        Node *sum = ir_loop_result(l, l->ncarry + l->nstack + l->nsum - 1, c->name);
        move_after(outer, sum, l->node);
        Node *fin = ir_new_node(OP_ADD, 2, (Node *[]){l->node->in[r], sum}, nx->loc);
        fin->name = c->name;
        char err[256];
        bool ok = ir_infer(g, fin, err, sizeof err);
        NN_ASSERT(ok && shape_eq(&fin->shape, &c->shape));
        ir_append(outer, fin);
        move_after(outer, fin, sum);
        if (out)
            ir_replace_uses(g, out, fin);
        l->next[r] = c; /* the carry is now unused: dce removes it */
        changed++;
    }
    return changed;
}

static int batch_block(Graph *g, Block *b, FILE *report) {
    int changed = 0;
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op != OP_LOOP)
            continue;
        int before = b->n;
        changed += batch_loop(g, n->loop, report);
        /* the loop may have moved (nodes inserted before it) or vanished
         * later (dce); continue after it */
        int p = -1;
        for (int k = 0; k < b->n; k++)
            if (b->nodes[k] == n)
                p = k;
        i = p >= 0 ? p : i + (b->n - before);
    }
    return changed;
}

static int batch_loop(Graph *g, Loop *l, FILE *report) {
    int changed = batch_block(g, &l->body, report);
    changed += carries_to_sums(g, l);
    if (changed)
        pass_dce(&(PassCtx){.g = g}); /* inner loops emptied by batching, carries made sums: gone before classifying */
    Batcher bt = {.g = g, .l = l, .body = &l->body, .outer = l->node->parent, .report = report};
    bt.n = size_sub(l->hi, l->lo);
    bt.after = pos_of(bt.outer, l->node) + 1;
    while (bt.after < bt.outer->n && bt.outer->nodes[bt.after]->op == OP_LOOPOUT &&
           bt.outer->nodes[bt.after]->in[0] == l->node)
        bt.after++;
    classify(&bt);

    /* the index, batched: RANGE(lo, n), a leaf (dce drops it if unused) */
    Node *range = ir_new_node(OP_RANGE, 0, NULL, l->node->loc);
    range->size = l->lo;
    range->shape = (Shape){.rank = 1};
    range->shape.d[0] = bt.n;
    range->name = l->var;
    char err[256];
    bool ok = ir_infer(g, range, err, sizeof err);
    NN_ASSERT(ok);
    ir_insert(&g->top, 0, range);
    range->parent = &g->top;
    if (bt.outer == &g->top)
        bt.after++;

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
        if (all_inv && !(op_flags[v->op] & OPF_CHECKED)) {
            /* the same value in every iteration: hoist it */
            memmove(&bt.body->nodes[i], &bt.body->nodes[i + 1], sizeof(Node *) * (size_t)(bt.body->n - i - 1));
            bt.body->n--;
            i--;
            put_before(&bt, v);
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

    /* stacked and summed results of batched values */
    for (int s = 0; s < l->nstack; s++) {
        Node *v = l->stack[s];
        if (!v->aux || v->parent != bt.body)
            continue;
        for (int i = 0; i < bt.outer->n; i++) {
            Node *o = bt.outer->nodes[i];
            if (o->op == OP_LOOPOUT && o->in[0] == l->node && o->index == l->ncarry + s)
                ir_replace_uses(g, o, v->aux);
        }
    }
    for (int s = 0; s < l->nsum; s++) {
        Node *v = l->sum[s];
        if (!v->aux || v->parent != bt.body)
            continue;
        for (int i = 0; i < bt.outer->n; i++) {
            Node *o = bt.outer->nodes[i];
            if (o->op != OP_LOOPOUT || o->in[0] != l->node || o->index != l->ncarry + l->nstack + s)
                continue;
            if (v->mark & SUMMED) { /* the rule computed the sum itself */
                ir_replace_uses(g, o, v->aux);
                break;
            }
            Node *sum = ir_new_node(OP_SUMAXIS, 1, (Node *[]){v->aux}, o->loc);
            sum->index = 0;
            sum->name = o->name;
            bool oks = ir_infer(g, sum, err, sizeof err);
            NN_ASSERT(oks);
            put_after(&bt, sum);
            ir_replace_uses(g, o, sum);
            break;
        }
    }
    /* inside the loop, batched-before values are rows of B(v) */
    Node *idx = l->index;
    if (nbefore > 0 && !(size_is_const(l->lo) && l->lo.c == 0)) {
        Node *lo = ir_new_node(OP_DIM, 0, NULL, l->node->loc);
        lo->size = l->lo;
        ok = ir_infer(g, lo, err, sizeof err);
        NN_ASSERT(ok);
        ir_insert(&g->top, 0, lo);
        lo->parent = &g->top;
        idx = ir_new_node(OP_ISUB, 2, (Node *[]){l->index, lo}, l->node->loc);
        ok = ir_infer(g, idx, err, sizeof err);
        NN_ASSERT(ok);
        ir_insert(bt.body, pos_of(bt.body, l->index) + 1, idx);
        idx->parent = bt.body;
    }
    for (int i = 0; i < nbefore; i++) {
        Node *v = before_list[i];
        Node *row = ir_new_node(OP_ROW, 2, (Node *[]){v->aux, idx}, v->loc);
        row->name = v->name;
        ok = ir_infer(g, row, err, sizeof err);
        NN_ASSERT(ok);
        ir_insert(bt.body, pos_of(bt.body, v) + 1, row);
        row->parent = bt.body;
        v->aux = NULL;
        ir_replace_uses(g, v, row);
    }
    for (int i = 0; i < bt.body->n; i++) {
        bt.body->nodes[i]->aux = NULL;
        bt.body->nodes[i]->mark = 0;
    }
    return changed;
}

void pass_batch(PassCtx *pc) {
    Graph *g = pc->g;
    pass_dce(pc);  /* what earlier passes bypassed is not worth batching */
    ir_number(g); /* ids for the report */
    batch_block(g, &g->top, pc->report);
    /* values that were computed apart in two loops now sit side by side:
     * a train graph's forward logsumexp(z) and the one of its reverse loop
     * (autodiff's softmax = exp(z - lse)) become one */
    pass_cse(pc);
    pass_dce(pc);
}
