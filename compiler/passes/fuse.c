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
 *    shape, be a scalar, or be a trailing part of it (a bias row), so that
 *    the loop can read it as x[i], x[0] or x[i % n]. Two non-elementwise
 *    ops join too, as "row ops" whose operands hold one value per row of
 *    the root (its shape less the last axis): expand along the last axis
 *    (x[r] for every element of row r) and pick_grad (d[r] where the
 *    column is y[r], else 0). The loop then runs over rows and columns, and
 *    the gradient of a cross-entropy, exp(z - lse) * d - pick_grad(d, y),
 *    is one pass over the logits with no [T, V] temporaries.
 *
 * Requires: a verified graph; runs after batch (which only knows the plain
 * ops). Uses Node.mark (use counts); cleared.
 */
#include "nngc.h"

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

static int pos_of(Block *b, Node *n) {
    for (int i = 0; i < b->n; i++)
        if (b->nodes[i] == n)
            return i;
    return -1;
}

static void remove_at(Block *b, int i) {
    memmove(&b->nodes[i], &b->nodes[i + 1], sizeof(Node *) * (size_t)(b->n - i - 1));
    b->n--;
}

/* ------------------------------------------------------------ bias into GEMM */

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
            Node **in = xalloc(sizeof(Node *) * 3);
            in[0] = p->in[0], in[1] = p->in[1], in[2] = c;
            p->in = in;
            p->nin = 3;
            Builder fb = build_at(g, b, -1, BUILD_ASSERT, "fuse");
            build_type(&fb, p, p->loc);
            /* p now reads c, which may be defined after p: p takes n's place */
            int pp = pos_of(b, p);
            b->nodes[i] = p;
            remove_at(b, pp);
            i--;
            if (!p->name)
                p->name = n->name;
            p->loc = n->loc;
            ir_replace_uses(g, n, p);
            p->mark = n->mark;
            changed++;
            break;
        }
    }
    return changed;
}

/* ------------------------------------------------------------ elementwise chains */

typedef struct Chain {
    Node **nodes; /* members, collected root first */
    int n, cap;
    Node **args;  /* outside operands, in first-use order */
    int nargs, capargs;
} Chain;

static bool arg_ok(const Node *x, const Node *root) {
    return x->dtype == DT_F32 && (x->shape.rank == 0 || is_suffix(&x->shape, &root->shape));
}

static bool member(const Chain *c, const Node *x) {
    for (int i = 0; i < c->n; i++)
        if (c->nodes[i] == x)
            return true;
    return false;
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
            VEC_PUSH(c->nodes, c->n, c->cap, o);
            if (!is_row_op(o, root)) /* a row op's operands are row ARGs */
                grow(c, o, root);
        }
    }
}

/* The ARG node for operand x: an element ARG (read at the loop's element)
 * or, with row, a row ARG (read once per row by a row op; marked ta). */
static Node *arg_node(Chain *c, Node *x, Block *body, bool row) {
    int k = 0;
    while (k < c->nargs && c->args[k] != x)
        k++;
    if (k == c->nargs)
        VEC_PUSH(c->args, c->nargs, c->capargs, x);
    /* one ARG node per operand and kind */
    for (int i = 0; i < body->n; i++)
        if (body->nodes[i]->op == OP_ARG && body->nodes[i]->index == k && body->nodes[i]->ta == row)
            return body->nodes[i];
    Node *a = ir_new_node(OP_ARG, 0, NULL, x->loc);
    a->index = k;
    a->ta = row;
    a->shape = x->shape;
    a->dtype = x->dtype;
    a->name = x->name;
    Builder ab = build_at(NULL, body, -1, BUILD_ASSERT, "fuse");
    return build_put(&ab, a, x->loc);
}

static int fuse_chains(Graph *g, Block *b) {
    int changed = 0;
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
        VEC_PUSH(c.nodes, c.n, c.cap, r);
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
        int no = 0;
        for (int j = 0; j <= i; j++)
            if (member(&c, b->nodes[j]))
                order[no++] = b->nodes[j];
        NN_ASSERT(no == c.n);
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
        Node *f = ir_new_node(OP_FUSED, c.nargs, c.args, r->loc);
        f->fused = body;
        f->name = r->name;
        Builder fb = build_at(g, b, -1, BUILD_ASSERT, "fuse");
        build_type(&fb, f, f->loc);
        f->mark = r->mark;
        /* f takes the root's place; the other members leave the block */
        b->nodes[i] = f;
        f->parent = b;
        ir_replace_uses(g, r, f);
        for (int j = i - 1; j >= 0; j--)
            if (member(&c, b->nodes[j])) {
                remove_at(b, j);
                i--;
            }
        changed++;
    }
    return changed;
}

void pass_fuse(PassCtx *pc) {
    Graph *g = pc->g;
    ir_count_uses(g);
    fuse_bias(g, &g->top);
    ir_count_uses(g);
    fuse_chains(g, &g->top);
    ir_clear_aux(&g->top);
    ir_clear_marks(&g->top);
}
