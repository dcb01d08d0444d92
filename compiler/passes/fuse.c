/*
 * fuse.c - fewer passes over memory: bias adds into matrix products, and
 * chains of elementwise ops into one loop.
 *
 * 1. Bias into GEMM. add(P, c) where P is a matrix product used only here
 *    becomes P with a third operand c: the backend starts the product's
 *    output from c (broadcast over rows) and lets the BLAS call accumulate
 *    (beta = 1). `Wx @ x + Wh @ h` is one GEMV accumulating into the other's
 *    result; `X @ W^T + b` one GEMM over a pre-filled output.
 *
 * 2. Elementwise chains. Starting from the last op of a chain (its root:
 *    used by a non-elementwise op, used twice, or a result), operands that
 *    are elementwise, in the same block, used only by the chain, and of the
 *    root's shape join it. The chain becomes one FUSED node: one loop over
 *    the root's elements computing every op as a scalar expression, with no
 *    intermediate buffers. The chain's outside operands are the fused
 *    node's operands (ARG nodes in its body); each must have the root's
 *    shape, be a scalar, be a trailing part of it (a bias row), so that
 *    the loop can read it as x[i], x[0] or x[i % n], or be a column, the
 *    root's shape with a last axis of 1 (one value per row, read at the
 *    row: --batch's mask of a recurrence's update). Two non-elementwise
 *    ops join too, as "row ops" whose operands hold one value per row of
 *    the root (its shape less the last axis): expand along the last axis
 *    (x[r] for every element of row r) and pick_grad (d[r] where the
 *    column is y[r], else 0). The loop then runs over rows and columns, and
 *    the gradient of a cross-entropy, exp(z - lse) * d - pick_grad(d, y),
 *    is one pass over the logits with no [T, V] temporaries.
 *
 * Both rewrite in place: the add's node becomes the biased product, the
 * chain root's node becomes the fused node, so their users need no
 * rewrite (a walk over the graph per fusion made long programs quadratic).
 *
 * Requires: a verified graph; runs after batch (which only knows the plain
 * ops). Uses Node.mark (use counts) and Node.aux (taken members); cleared.
 */
#include "nngc.h"

#include <stdlib.h>
#include <string.h>

/* Is s a trailing part of full (so s repeats every count(s) elements)? */
static bool is_suffix(const Shape *s, const Shape *full) {
    if (s->rank > full->rank)
        return false;
    for (int k = 0; k < s->rank; k++)
        if (!size_eq(s->d[k], full->d[full->rank - s->rank + k]))
            return false;
    return true;
}

/* ------------------------------------------------------------ bias into GEMM */

/* Drops the nodes of b that a rewrite left behind (Node.aux == gone). */
static void compact(Block *b, const void *gone) {
    int keep = 0;
    for (int i = 0; i < b->n; i++)
        if (b->nodes[i]->aux != gone)
            b->nodes[keep++] = b->nodes[i];
    b->n = keep;
}

static char bias_gone; /* Node.aux of a product absorbed by its add */

static int fuse_bias(Graph *g, Block *b) {
    int changed = 0;
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op == OP_LOOP) {
            changed += fuse_bias(g, &n->loop->body);
            continue;
        }
        if (n->op != OP_ADD)
            continue;
        for (int k = 0; k < 2; k++) {
            Node *p = n->in[k], *c = n->in[1 - k];
            if ((p->op != OP_MATVEC && p->op != OP_MATMUL) || p->nin != 2 || p->mark != 1 || p->parent != b ||
                !shape_eq(&p->shape, &n->shape) || !is_suffix(&c->shape, &p->shape) || c == p)
                continue;
            /* the add becomes the product with a third operand (c may be
             * defined after p: the product takes the add's place), so the
             * add's users need no rewrite; p, used only here, goes */
            Node add = *n;
            *n = *p;
            n->in = xalloc(sizeof(Node *) * 3);
            n->in[0] = p->in[0], n->in[1] = p->in[1], n->in[2] = c;
            n->nin = 3;
            n->name = p->name ? p->name : add.name;
            n->loc = add.loc;
            n->id = add.id;
            n->parent = add.parent;
            n->mark = add.mark;
            n->aux = NULL;
            Builder fb = build_at(g, b, -1, BUILD_ASSERT, "fuse");
            build_type(&fb, n, n->loc);
            p->aux = &bias_gone;
            changed++;
            break;
        }
    }
    compact(b, &bias_gone);
    return changed;
}

/* ------------------------------------------------------------ elementwise chains */

typedef struct Chain {
    Node **nodes; /* members, collected root first */
    int n, cap;
    Node **args;  /* outside operands, in first-use order */
    int nargs, capargs;
    /* hashed: a chain can be long (a gradient summed over 10k uses is one
     * chain of adds) */
    NodeIndex members;   /* member -> 1 */
    NodeIndex argix;     /* outside operand -> its index in args */
    NodeIndex argnode[2]; /* outside operand -> ARG position in the body: element [0], row [1] */
} Chain;

static bool arg_ok(const Node *x, const Node *root) {
    return x->dtype == DT_F32 &&
           (x->shape.rank == 0 || is_suffix(&x->shape, &root->shape) || ir_column_of(&x->shape, &root->shape));
}

static bool member(const Chain *c, const Node *x) { return node_index_get(&c->members, x) >= 0; }

static void add_member(Chain *c, Node *x) {
    node_index_put(&c->members, x, 1);
    VEC_PUSH(c->nodes, c->n, c->cap, x);
}

/* Row ops (ir_row_op: expand along the last axis, pick_grad) join a chain
 * as members that read their operands once per row (row ARGs); pick_grad
 * becomes a compare in the loop instead of a tensor of zeros and a
 * scatter. */
static bool is_row_op(const Node *x, const Node *root) { return ir_row_op(x, &root->shape); }

static bool can_join(const Node *x, const Node *root) {
    if (is_row_op(x, root))
        return x->parent == root->parent && x->mark == 1 && !x->aux;
    if (!(op_flags[x->op] & OPF_ELEMWISE) || x->parent != root->parent || x->mark != 1 ||
        !shape_eq(&x->shape, &root->shape) || x->aux)
        return false;
    for (int k = 0; k < x->nin; k++)
        if (!(op_flags[x->in[k]->op] & OPF_ELEMWISE) && !arg_ok(x->in[k], root))
            return false;
    return true;
}

/* Adds x's joinable operands (recursively) to the chain. */
static void grow(Chain *c, Node *x, Node *root) {
    for (int k = 0; k < x->nin; k++) {
        Node *o = x->in[k];
        if (member(c, o))
            continue;
        if (can_join(o, root)) {
            add_member(c, o);
            if (!is_row_op(o, root)) /* a row op's operands are row ARGs */
                grow(c, o, root);
        }
    }
}

/* The ARG node for operand x: an element ARG (read at the loop's element)
 * or, with row, a row ARG (read once per row by a row op; marked ta). */
static Node *arg_node(Chain *c, Node *x, Block *body, bool row) {
    int k = node_index_get(&c->argix, x);
    if (k < 0) {
        k = c->nargs;
        node_index_put(&c->argix, x, k);
        VEC_PUSH(c->args, c->nargs, c->capargs, x);
    }
    /* one ARG node per operand and kind */
    int at = node_index_get(&c->argnode[row], x);
    if (at >= 0)
        return body->nodes[at];
    node_index_put(&c->argnode[row], x, body->n);
    Node *a = ir_new_node(OP_ARG, 0, NULL, x->loc);
    a->index = k;
    a->ta = row;
    a->shape = x->shape;
    a->dtype = x->dtype;
    a->name = x->name;
    Builder ab = build_at(NULL, body, -1, BUILD_ASSERT, "fuse");
    return build_put(&ab, a, x->loc);
}

/* Block positions (NodeIndex) of the chain members, for sorting them. */
static const NodeIndex *order_pos;

static int by_pos(const void *x, const void *y) {
    int a = node_index_get(order_pos, *(Node *const *)x), b = node_index_get(order_pos, *(Node *const *)y);
    return (a > b) - (a < b);
}

static int fuse_chains(Graph *g, Block *b) {
    int changed = 0;
    /* members leave the block at the end (compact), so positions hold */
    NodeIndex pos = {0};
    for (int i = 0; i < b->n; i++)
        node_index_put(&pos, b->nodes[i], i);
    for (int i = b->n - 1; i >= 0; i--) {
        Node *r = b->nodes[i];
        if (r->op == OP_LOOP) {
            changed += fuse_chains(g, &r->loop->body);
            continue;
        }
        if (!(op_flags[r->op] & OPF_ELEMWISE) || r->aux)
            continue;
        bool root_ok = true;
        for (int k = 0; k < r->nin; k++)
            if (!(op_flags[r->in[k]->op] & OPF_ELEMWISE) && !arg_ok(r->in[k], r))
                root_ok = false;
        if (!root_ok)
            continue;
        Chain c = {0};
        add_member(&c, r);
        grow(&c, r, r);
        /* an operand that could not join must still be readable as an arg */
        bool ok = true;
        for (int m = 0; m < c.n && ok; m++)
            for (int k = 0; k < c.nodes[m]->nin && !is_row_op(c.nodes[m], r); k++) {
                Node *o = c.nodes[m]->in[k];
                if (!member(&c, o) && !arg_ok(o, r))
                    ok = false;
            }
        if (!ok || c.n < 2)
            continue;
        /* the body, in block order; outside operands become ARGs */
        Block *body = xalloc(sizeof *body);
        Node **order = xalloc(sizeof(Node *) * (size_t)c.n);
        int no = c.n;
        memcpy(order, c.nodes, sizeof(Node *) * (size_t)no);
        order_pos = &pos;
        qsort(order, (size_t)no, sizeof(Node *), by_pos);
        NN_ASSERT(order[no - 1] == r);
        for (int m = 0; m < no; m++) {
            Node *x = order[m];
            Node **in = xalloc(sizeof(Node *) * (size_t)(x->nin + 1));
            for (int k = 0; k < x->nin; k++)
                in[k] = member(&c, x->in[k]) ? x->in[k] : arg_node(&c, x->in[k], body, is_row_op(x, r));
            x->in = in;
        }
        for (int m = 0; m < no; m++) {
            ir_append(body, order[m]);
            order[m]->aux = body; /* taken */
        }
        /* the root's node becomes the fused node (its users need no
         * rewrite), a copy of it the body's last node; the other members
         * leave the block at the end (their aux is their body) */
        Node *last = xalloc(sizeof *last);
        *last = *r;
        body->nodes[body->n - 1] = last;
        Node *f = ir_new_node(OP_FUSED, c.nargs, c.args, r->loc);
        f->fused = body;
        f->name = r->name;
        f->id = r->id;
        f->parent = b;
        f->mark = r->mark;
        *r = *f;
        Builder fb = build_at(g, b, -1, BUILD_ASSERT, "fuse");
        build_type(&fb, r, r->loc);
        changed++;
    }
    int keep = 0; /* the members taken into bodies leave */
    for (int i = 0; i < b->n; i++)
        if (!b->nodes[i]->aux)
            b->nodes[keep++] = b->nodes[i];
    b->n = keep;
    return changed;
}

/* ------------------------------------------------------------ shared leaves of chains */

/* The readers in a block of each value, in block order, each with how
 * many of its operands are the value: one walk of the block, where a walk
 * of the rest of it for each value with a few readers was quadratic (a
 * trained program's forward values are read far away, by the backward
 * pass). Entries of one value are linked by next (-1: the last). */
typedef struct Reader {
    Node *u;
    int times, next;
} Reader;

typedef struct Readers {
    NodeIndex first, last; /* value -> its first, last entry */
    Reader *v;
    int n, cap;
} Readers;

static void readers_of_block(Readers *rd, const Block *b) {
    for (int j = 0; j < b->n; j++) {
        Node *u = b->nodes[j];
        for (int k = 0; k < u->nin; k++) {
            int last = node_index_get(&rd->last, u->in[k]);
            if (last >= 0 && rd->v[last].u == u) {
                rd->v[last].times++;
                continue;
            }
            Reader e = {u, 1, -1};
            VEC_PUSH(rd->v, rd->n, rd->cap, e);
            if (last >= 0)
                rd->v[last].next = rd->n - 1;
            else
                node_index_put(&rd->first, u->in[k], rd->n - 1);
            node_index_put(&rd->last, u->in[k], rd->n - 1);
        }
    }
}

/* An elementwise op read by two to four elementwise ops of its block and
 * by nothing else, whose own operands a chain reads as arguments (a
 * carry, a row, a column: none of them elementwise), is computed again in
 * each reader: every reader's chain takes its copy, instead of a buffer
 * written once and read by each (a pass over memory, and a kernel launch
 * on a GPU). autodiff's backward step of --batch's masked update reads
 * `m * dh` twice. Same values, the op is the same on the same operands. */
static int split_shared(Graph *g, Block *b) {
    int changed = 0;
    Readers rd = {0}; /* (the copies made below read values already passed) */
    readers_of_block(&rd, b);
    for (int i = 0; i < b->n; i++) {
        Node *x = b->nodes[i];
        if (x->op == OP_LOOP) {
            changed += split_shared(g, &x->loop->body);
            continue;
        }
        if (!(op_flags[x->op] & OPF_ELEMWISE) || x->dtype != DT_F32 || x->mark < 2 || x->mark > 4)
            continue;
        bool ok = true;
        for (int k = 0; k < x->nin && ok; k++) /* (a row op would join a chain: it stays x's) */
            ok = !(op_flags[x->in[k]->op] & OPF_ELEMWISE) && !is_row_op(x->in[k], x) && arg_ok(x->in[k], x);
        Node *users[4];
        int nu = 0, reads = 0;
        for (int e = node_index_get(&rd.first, x); e >= 0 && ok; e = rd.v[e].next) {
            Node *u = rd.v[e].u;
            int r = rd.v[e].times;
            reads += r;
            ok = r == 1 && (op_flags[u->op] & OPF_ELEMWISE) && shape_eq(&u->shape, &x->shape) && nu < 4;
            if (ok)
                users[nu++] = u;
        }
        if (!ok || reads != x->mark) /* read elsewhere too: a loop's result, an output, another block */
            continue;
        for (int k = 1; k < nu; k++) { /* the first reader keeps x */
            int at = i + 1; /* users[k] reads x: it comes after it */
            while (b->nodes[at] != users[k])
                at++;
            Builder bb = build_at(g, b, at, BUILD_ASSERT, "fuse");
            Node *c = build_op(&bb, x->op, x->nin, x->in, x->loc);
            c->name = x->name;
            c->mark = 1;
            for (int m = 0; m < x->nin; m++) /* its operands have one reader more */
                x->in[m]->mark++;
            for (int m = 0; m < users[k]->nin; m++)
                if (users[k]->in[m] == x)
                    users[k]->in[m] = c;
            x->mark--;
            changed++;
        }
    }
    return changed;
}

void pass_fuse(PassCtx *pc) {
    Graph *g = pc->g;
    ir_count_uses(g);
    fuse_bias(g, &g->top);
    ir_count_uses(g);
    split_shared(g, &g->top);
    ir_clear_aux(&g->top);
    fuse_chains(g, &g->top);
    ir_clear_aux(&g->top);
    ir_clear_marks(&g->top);
}
