/*
 * ir.c - the graph IR: op tables and the builders (graphs, nodes, loops and
 * their results, use replacement). Sizes are in size.c, typing in infer.c,
 * the dumps in print.c, the verifier in verify.c.
 *
 * The IR itself is described in docs/IR.md; its types are in nngc.h.
 * Nothing in ir/ allocates except through the compilation arena (xalloc).
 */
#include "nngc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ================================================================ op tables */

const char *const op_name[OP_COUNT] = {
#define X(name, text, arity, flags) text,
    NN_OPS(X)
#undef X
};

const int op_arity[OP_COUNT] = {
#define X(name, text, arity, flags) arity,
    NN_OPS(X)
#undef X
};

const unsigned op_flags[OP_COUNT] = {
#define X(name, text, arity, flags) flags,
    NN_OPS(X)
#undef X
};

/* The method names of LANGUAGE.md's `with` clause, indexed by ApproxKind. */
const char *const approx_name[] = {
    [APPROX_FULL] = "full",   [APPROX_SAMPLED] = "sampled", [APPROX_NCE] = "nce",
    [APPROX_NEG] = "neg",     [APPROX_CLASS] = "class",     [APPROX_HIER] = "hier",
    [APPROX_BINARY] = "binary", [APPROX_EMBED] = "embed",
};

bool ir_is_int_scalar(const Node *n) { return n && n->dtype == DT_I32 && n->shape.rank == 0; }

bool ir_same_attrs(const Node *a, const Node *b) {
    if (a->op != b->op || a->dtype != b->dtype || a->nin != b->nin || !shape_eq(&a->shape, &b->shape))
        return false;
    /* compare bit patterns of f so that -0.0 and 0.0 differ */
    if (memcmp(&a->f, &b->f, sizeof a->f) != 0 || a->i != b->i || a->index != b->index)
        return false;
    if (!size_eq(a->size, b->size) || a->ta != b->ta || a->tb != b->tb)
        return false;
    return a->approx.kind == b->approx.kind && a->approx.k == b->approx.k &&
           a->approx.share_batch == b->approx.share_batch && a->approx.lambda1 == b->approx.lambda1 &&
           a->approx.lambda2 == b->approx.lambda2;
}

const char *ir_opname(int op) {
    return op >= 0 && op < OP_COUNT ? op_name[op] : "?";
}

/* ================================================================ building */

Graph *ir_new_graph(void) {
    Graph *g = xalloc(sizeof *g);
    g->opt.kind = OPT_NONE;
    g->top.outer = NULL;
    g->top.loop = NULL;
    return g;
}

Node *ir_new_node(Op op, int nin, Node *const *in, Loc loc) {
    NN_ASSERT(op >= 0 && op < OP_COUNT);
    NN_ASSERT(nin >= 0);
    Node *n = xalloc(sizeof *n);
    n->op = op;
    n->loc = loc;
    n->id = -1;
    n->place = PLACE_HOST;
    n->nin = nin;
    if (nin > 0) {
        n->in = xalloc(sizeof(Node *) * (size_t)nin);
        for (int i = 0; i < nin; i++)
            n->in[i] = in[i];
    }
    return n;
}

void ir_append(Block *b, Node *n) {
    n->parent = b;
    if (b->n == b->cap)
        b->head = 0; /* VEC_PUSH moves the nodes to a new array */
    VEC_PUSH(b->nodes, b->n, b->cap, n);
}

/* A node put before the first: the passes put every leaf they make at the
 * head of the top block, which would shift the whole block each time (a
 * trained program of 100k statements makes as many constants). The array
 * keeps free slots before its first node instead, as many as it holds
 * nodes when it runs out of them. */
static void insert_first(Block *b, Node *n) {
    if (b->head == 0) {
        int head = b->n > 16 ? b->n : 16;
        Node **a = xalloc(sizeof(Node *) * ((size_t)head + (size_t)b->cap));
        if (b->n > 0)
            memcpy(a + head, b->nodes, sizeof(Node *) * (size_t)b->n);
        b->nodes = a + head;
        b->head = head;
    }
    b->nodes--;
    b->head--;
    b->nfirst++;
    b->cap++;
    b->n++;
    b->nodes[0] = n;
}

void ir_insert(Block *b, int pos, Node *n) {
    NN_ASSERT(pos >= 0 && pos <= b->n);
    n->parent = b;
    if (pos == 0) {
        insert_first(b, n);
        return;
    }
    ir_append(b, n); /* grow by one, then shift */
    memmove(&b->nodes[pos + 1], &b->nodes[pos], sizeof(Node *) * (size_t)(b->n - 1 - pos));
    b->nodes[pos] = n;
}

/* Types a node the builders create themselves; their inputs were typed by
 * the caller, so a failure here is a compiler bug. */
static void infer_or_die(Node *n) {
    Builder b = build_at(NULL, &(Block){0}, -1, BUILD_ASSERT, "the IR builder");
    build_type(&b, n, n->loc);
}

Loop *ir_new_loop(Block *outer, const char *var, Size lo, Size hi, Loc loc) {
    Loop *l = xalloc(sizeof *l);
    l->var = var;
    l->lo = lo;
    l->hi = hi;
    l->body.outer = outer;
    l->body.loop = l;
    l->node = ir_new_node(OP_LOOP, 0, NULL, loc);
    l->node->loop = l;
    l->node->dtype = DT_F32; /* a LOOP has no value; see ir_infer */
    l->index = ir_new_node(OP_INDEX, 0, NULL, loc);
    l->index->loop = l;
    l->index->name = var;
    l->index->dtype = DT_I32;
    ir_append(&l->body, l->index);
    return l;
}

Node *ir_loop_add_carry(Loop *l, Node *init, const char *name) {
    NN_ASSERT(init != NULL);
    int r = l->ncarry;
    /* The LOOP node's operands are the initial values, one per carry. */
    Node *ln = l->node;
    NN_ASSERT(ln->nin == r);
    ln->in = xrealloc(ln->in, sizeof(Node *) * (size_t)r, sizeof(Node *) * (size_t)(r + 1));
    ln->in[r] = init;
    ln->nin = r + 1;

    Node *c = ir_new_node(OP_CARRY, 0, NULL, init->loc);
    c->loop = l;
    c->index = r;
    c->name = name;
    infer_or_die(c);

    /* carry and next grow together (capcarry counts both) */
    if (l->ncarry == l->capcarry) {
        int nc = l->capcarry ? 2 * l->capcarry : 4;
        l->carry = xrealloc(l->carry, sizeof(Node *) * (size_t)l->capcarry, sizeof(Node *) * (size_t)nc);
        l->next = xrealloc(l->next, sizeof(Node *) * (size_t)l->capcarry, sizeof(Node *) * (size_t)nc);
        l->capcarry = nc;
    }
    l->carry[r] = c;
    l->next[r] = NULL; /* the caller sets it once the body is built */
    l->ncarry = r + 1;

    /* The CARRY node goes at the head of the body, after the INDEX node and
     * the earlier carries, so that it precedes every body node that reads it
     * even when the carry is found after the body was started. */
    int pos = 0;
    while (pos < l->body.n && (l->body.nodes[pos]->op == OP_INDEX || l->body.nodes[pos]->op == OP_CARRY) &&
           l->body.nodes[pos]->loop == l)
        pos++;
    ir_insert(&l->body, pos, c);
    return c;
}

/* Result numbers: carries, then stacks, then sums (nngc.h, Loop). A stack's
 * number is final once every carry exists; a sum's once every stack does. */
int ir_loop_add_stack(Loop *l, Node *v) {
    NN_ASSERT(v != NULL);
    VEC_PUSH(l->stack, l->nstack, l->capstack, v);
    return l->ncarry + l->nstack - 1;
}

int ir_loop_add_sum(Loop *l, Node *v) {
    NN_ASSERT(v != NULL);
    VEC_PUSH(l->sum, l->nsum, l->capsum, v);
    return l->ncarry + l->nstack + l->nsum - 1;
}

Node *ir_loop_result(Loop *l, int r, const char *name) {
    NN_ASSERT(r >= 0 && r < l->ncarry + l->nstack + l->nsum);
    /* The result follows the LOOP node, so that must be in its block. */
    NN_ASSERT(l->node->parent == l->body.outer);
    Node *n = ir_new_node(OP_LOOPOUT, 1, (Node *[]){l->node}, l->node->loc);
    n->index = r;
    n->name = name;
    infer_or_die(n);
    ir_append(l->body.outer, n);
    return n;
}

/* The pairs (old, new) being applied: old -> its number k in which, new
 * news[k] (which NULL: the one pair old1 -> new1). */
typedef struct {
    const NodeIndex *which;
    Node *const *news;
    Node *old1, *new1;
} Subst;

static inline void subst(const Subst *m, Node **p) {
    if (!m->which) {
        if (*p == m->old1)
            *p = m->new1;
        return;
    }
    int k = *p ? node_index_get(m->which, *p) : -1;
    if (k >= 0)
        *p = m->news[k];
}

static void replace_in_block(Block *b, const Subst *m);

/* A loop's next, stacked and summed values and its body. */
static void replace_in_loop(Loop *l, const Subst *m) {
    for (int r = 0; r < l->ncarry; r++)
        subst(m, &l->next[r]);
    for (int s = 0; s < l->nstack; s++)
        subst(m, &l->stack[s]);
    for (int s = 0; s < l->nsum; s++)
        subst(m, &l->sum[s]);
    replace_in_block(&l->body, m);
}

static void replace_in_block(Block *b, const Subst *m) {
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        for (int j = 0; j < n->nin; j++)
            subst(m, &n->in[j]);
        if (n->op == OP_LOOP)
            replace_in_loop(n->loop, m);
    }
}

static void replace_all(Graph *g, const Subst *m) {
    replace_in_block(&g->top, m);
    for (int i = 0; i < g->noutputs; i++)
        subst(m, &g->outputs[i].value);
    subst(m, &g->loss);
    for (int i = 0; g->grads && i < g->nparams; i++)
        subst(m, &g->grads[i]);
}

void ir_repl_add(Replacements *r, Node *old, Node *new_) {
    if (node_index_get(&r->which, old) >= 0)
        return; /* the first stays: once it is applied, the graph holds no old */
    node_index_put(&r->which, old, r->n);
    VEC_PUSH(r->olds, r->n, r->cap, old);
    VEC_PUSH(r->news, r->nnews, r->capnews, new_);
}

/* Is a new one also an old? Then one walk is not enough. */
static bool chained(const Replacements *r) {
    for (int k = 0; k < r->n; k++)
        if (node_index_get(&r->which, r->news[k]) >= 0)
            return true;
    return false;
}

void ir_repl_apply(Graph *g, const Replacements *r) {
    if (r->n == 0)
        return;
    if (chained(r)) { /* pair by pair, in order */
        for (int k = 0; k < r->n; k++)
            ir_replace_uses(g, r->olds[k], r->news[k]);
        return;
    }
    replace_all(g, &(Subst){&r->which, r->news, NULL, NULL});
}

void ir_repl_apply_loop(const Replacements *r, Loop *l) {
    if (r->n == 0)
        return;
    Subst m = {&r->which, r->news, NULL, NULL};
    for (int i = 0; i < l->node->nin; i++)
        subst(&m, &l->node->in[i]);
    replace_in_loop(l, &m);
}

void ir_replace_uses_many(Graph *g, Node *const *olds, Node *const *news, int n) {
    if (n == 1) {
        replace_all(g, &(Subst){NULL, NULL, olds[0], news[0]});
        return;
    }
    Replacements r = {0};
    bool twice = false;
    for (int k = 0; k < n; k++) {
        twice |= node_index_get(&r.which, olds[k]) >= 0;
        ir_repl_add(&r, olds[k], news[k]);
    }
    if (twice) { /* an old is there twice: pair by pair, in order */
        for (int k = 0; k < n; k++)
            ir_replace_uses(g, olds[k], news[k]);
        return;
    }
    ir_repl_apply(g, &r);
}

void ir_replace_uses(Graph *g, Node *old, Node *new_) {
    ir_replace_uses_many(g, (Node *[]){old}, (Node *[]){new_}, old == new_ ? 0 : 1);
}

/* Does x hold one value per row of s (s less its last axis)? */
static bool row_shaped(const Node *x, const Shape *s) {
    if (s->rank < 1 || x->shape.rank != s->rank - 1)
        return false;
    for (int k = 0; k < x->shape.rank; k++)
        if (!size_eq(x->shape.d[k], s->d[k]))
            return false;
    return true;
}

/* Is c the shape s with its last axis 1, one value per row of s (and not
 * s itself)? A fused chain reads such an operand at the row. */
bool ir_column_of(const Shape *c, const Shape *s) {
    if (s->rank < 1 || c->rank != s->rank || !size_is_const(c->d[s->rank - 1]) || c->d[s->rank - 1].c != 1 ||
        (size_is_const(s->d[s->rank - 1]) && s->d[s->rank - 1].c == 1))
        return false;
    for (int k = 0; k + 1 < s->rank; k++)
        if (!size_eq(c->d[k], s->d[k]))
            return false;
    return true;
}

bool ir_row_op(const Node *x, const Shape *s) {
    if (s->rank < 1 || !shape_eq(&x->shape, s))
        return false;
    if (x->op == OP_EXPAND)
        return x->index == s->rank - 1 && x->in[0]->dtype == DT_F32 && row_shaped(x->in[0], s);
    if (x->op == OP_PICKGRAD)
        return x->in[0]->dtype == DT_F32 && row_shaped(x->in[0], s) && x->in[1]->dtype == DT_I32 &&
               row_shaped(x->in[1], s);
    return false;
}

void ir_rewrite(Node *n, Op op, int nin, Node *const *in) {
    n->op = op;
    n->nin = nin;
    n->in = xalloc(sizeof(Node *) * (size_t)nin);
    memcpy(n->in, in, sizeof(Node *) * (size_t)nin);
    n->ta = n->tb = false;
    n->index = 0;
}


