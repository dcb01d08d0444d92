/*
 * uses.c - questions about a graph that several passes ask: who uses a
 * value, which result of a loop holds a body value, and the reset of the
 * passes' scratch fields (Node.mark, Node.aux).
 */
#include "nngc.h"

#include <limits.h>

void ir_clear_marks(Block *b) {
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        n->mark = 0;
        if (n->op == OP_LOOP)
            ir_clear_marks(&n->loop->body);
    }
}

void ir_clear_aux(Block *b) {
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        n->aux = NULL;
        if (n->op == OP_FUSED)
            ir_clear_aux(n->fused);
        if (n->op == OP_LOOP)
            ir_clear_aux(&n->loop->body);
    }
}

/* ---------------------------------------------------------------- uses */

int ir_result_uses(const Loop *l, const Node *x) {
    int n = 0;
    for (int r = 0; r < l->ncarry; r++)
        n += l->next[r] == x;
    for (int s = 0; s < l->nstack; s++)
        n += l->stack[s] == x;
    for (int s = 0; s < l->nsum; s++)
        n += l->sum[s] == x;
    return n;
}

int ir_block_uses(const Block *b, const Node *x) {
    int n = 0;
    for (int i = 0; i < b->n; i++) {
        const Node *v = b->nodes[i];
        for (int k = 0; k < v->nin; k++)
            n += v->in[k] == x;
        if (v->op == OP_LOOP)
            n += ir_block_uses(&v->loop->body, x) + ir_result_uses(v->loop, x);
    }
    return n;
}

static void count_one(NodeIndex *counts, const Node *x) {
    if (x)
        node_index_put(counts, x, ir_use_count(counts, x) + 1);
}

void ir_block_use_counts(const Block *b, NodeIndex *counts) {
    for (int i = 0; i < b->n; i++) {
        const Node *v = b->nodes[i];
        for (int k = 0; k < v->nin; k++)
            count_one(counts, v->in[k]);
        if (v->op != OP_LOOP)
            continue;
        const Loop *l = v->loop;
        ir_block_use_counts(&l->body, counts);
        for (int r = 0; r < l->ncarry + l->nstack + l->nsum; r++)
            count_one(counts, ir_loop_value(l, r));
    }
}

int ir_use_count(const NodeIndex *counts, const Node *x) {
    int n = node_index_get(counts, x);
    return n > 0 ? n : 0;
}

static void use(Node *n) {
    if (n)
        n->mark++;
}

static void count_block(Block *b) {
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        for (int k = 0; k < n->nin; k++)
            use(n->in[k]);
        if (n->op == OP_LOOP) {
            Loop *l = n->loop;
            count_block(&l->body);
            for (int r = 0; r < l->ncarry; r++)
                use(l->next[r]);
            for (int s = 0; s < l->nstack; s++)
                use(l->stack[s]);
            for (int s = 0; s < l->nsum; s++)
                use(l->sum[s]);
        }
    }
}

void ir_count_uses(Graph *g) {
    ir_clear_marks(&g->top);
    count_block(&g->top);
    for (int i = 0; i < g->noutputs; i++)
        use(g->outputs[i].value);
    use(g->loss);
    for (int i = 0; g->grads && i < g->nparams; i++)
        use(g->grads[i]);
}

/* ---------------------------------------------------------------- loop results */

Node *ir_loop_value(const Loop *l, int r) {
    NN_ASSERT(r >= 0 && r < l->ncarry + l->nstack + l->nsum);
    if (r < l->ncarry)
        return l->next[r];
    if (r < l->ncarry + l->nstack)
        return l->stack[r - l->ncarry];
    return l->sum[r - l->ncarry - l->nstack];
}

/* The first LOOPOUT of result r of l in its block from position from on,
 * where count LOOPOUTs of l are. */
static Node *find_result(const Loop *l, int r, int from, int count) {
    const Block *b = l->node->parent;
    for (int i = from; i < b->n && count > 0; i++) {
        Node *n = b->nodes[i];
        if (n->op == OP_LOOPOUT && n->in[0] == l->node) {
            if (n->index == r)
                return n;
            count--;
        }
    }
    return NULL;
}

Node *ir_loop_find_result(const Loop *l, int r) { return find_result(l, r, 0, INT_MAX); }

/* Files o under its result number in outs (the first where there are
 * several) when it is a LOOPOUT of l; says whether it is one. */
static bool file_out(Node **outs, const Loop *l, Node *o) {
    if (o->op != OP_LOOPOUT || o->in[0] != l->node)
        return false;
    if (o->index >= 0 && o->index < l->ncarry + l->nstack + l->nsum && !outs[o->index])
        outs[o->index] = o;
    return true;
}

static Node **new_outs(const Loop *l) {
    return xalloc(sizeof(Node *) * (size_t)(l->ncarry + l->nstack + l->nsum + 1));
}

Node **ir_loop_outs_at(const Loop *l, int pos, int count) {
    Node **outs = new_outs(l);
    const Block *b = l->node->parent;
    for (int i = pos; i < b->n && count > 0; i++)
        count -= file_out(outs, l, b->nodes[i]);
    return outs;
}

Node **ir_loop_outs(const Loop *l) { return ir_loop_outs_at(l, 0, INT_MAX); }

Node ***ir_block_loop_outs(const Block *b, NodeIndex *loops) {
    Node ***outs = xalloc(sizeof(Node **) * (size_t)(b->n + 1));
    int nl = 0;
    for (int i = 0; i < b->n; i++)
        if (b->nodes[i]->op == OP_LOOP) {
            node_index_put(loops, b->nodes[i], nl);
            outs[nl++] = new_outs(b->nodes[i]->loop);
        }
    for (int i = 0; i < b->n; i++) {
        Node *o = b->nodes[i];
        int k = o->op == OP_LOOPOUT ? node_index_get(loops, o->in[0]) : -1;
        if (k >= 0)
            file_out(outs[k], o->in[0]->loop, o);
    }
    return outs;
}

int ir_loop_results_end(const Loop *l, int pos) {
    const Block *b = l->node->parent;
    if (pos < 0 || pos >= b->n || b->nodes[pos] != l->node)
        for (pos = 0; b->nodes[pos] != l->node; pos++)
            ;
    pos++;
    while (pos < b->n && b->nodes[pos]->op == OP_LOOPOUT && b->nodes[pos]->in[0] == l->node)
        pos++;
    return pos;
}

/* Moves the last node of b to position pos. */
static void move_last_to(Block *b, int pos) {
    Node *n = b->nodes[b->n - 1];
    b->n--;
    ir_insert(b, pos, n);
}

/* The sums' LOOPOUTs of l (result numbers from ncarry + nstack on), listed
 * once into span: a stack added later numbers before them. */
static void list_sums(const Loop *l, LoopSpan *span) {
    const Block *b = l->node->parent;
    for (int i = span->pos, count = span->nouts; i < b->n && count > 0; i++) {
        Node *o = b->nodes[i];
        if (o->op == OP_LOOPOUT && o->in[0] == l->node) {
            if (o->index >= l->ncarry + l->nstack)
                VEC_PUSH(span->sums, span->nsums, span->capsums, o);
            count--;
        }
    }
    span->sums_listed = true;
}

Node *ir_loop_stack_of(Loop *l, Node *v, int pos, LoopSpan *span, bool *added) {
    LoopSpan all = {.pos = 0, .nouts = INT_MAX};
    bool kept = span != NULL;
    if (!kept)
        span = &all;
    if (added)
        *added = false;
    int s0 = 0; /* the first stack that may hold v */
    if (kept) {
        for (; span->nstacked < l->nstack; span->nstacked++)
            if (node_index_get(&span->stacked, l->stack[span->nstacked]) < 0)
                node_index_put(&span->stacked, l->stack[span->nstacked], span->nstacked);
        s0 = node_index_get(&span->stacked, v);
        if (s0 < 0)
            s0 = l->nstack;
    }
    for (int s = s0; s < l->nstack; s++)
        if (l->stack[s] == v) {
            Node *o = find_result(l, l->ncarry + s, span->pos, span->nouts);
            if (o)
                return o;
        }
    /* stacks come before sums in the numbering: shift the sums' LOOPOUTs */
    if (!span->sums_listed)
        list_sums(l, span);
    for (int i = 0; i < span->nsums; i++)
        span->sums[i]->index++;
    Block *outer = l->node->parent;
    int r = ir_loop_add_stack(l, v);
    bool at_end = pos < 0; /* of the LOOPOUTs right after l's node */
    if (at_end && kept && span->run > 0)
        pos = span->pos + span->run;
    else if (at_end)
        pos = ir_loop_results_end(l, kept ? span->pos : -1);
    ir_loop_result(l, r, v->name); /* appended to outer */
    move_last_to(outer, pos);
    if (kept) {
        span->nouts++;
        span->run = at_end ? pos + 1 - span->pos : 0; /* one more right after the node, or not known */
    }
    if (added)
        *added = true;
    return outer->nodes[pos];
}

Node *ir_loop_sum_of(Loop *l, Node *v, const char *name) {
    int r = ir_loop_add_sum(l, v);
    Block *outer = l->node->parent;
    ir_loop_result(l, r, name);
    int pos = 0;
    while (outer->nodes[pos] != l->node)
        pos++;
    move_last_to(outer, pos + 1);
    return outer->nodes[pos + 1];
}

/* ---------------------------------------------------------------- node index */

struct NodeSlot {
    const Node *key;
    int val;
};

static struct NodeSlot *node_slot(const NodeIndex *ix, const Node *n) {
    uint64_t h = (uint64_t)(uintptr_t)n;
    h ^= h >> 33; /* murmur3's finalizer: pointers differ in their middle bits */
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    uint64_t mask = (uint64_t)ix->cap - 1;
    for (uint64_t i = h & mask;; i = (i + 1) & mask)
        if (!ix->slot[i].key || ix->slot[i].key == n)
            return &ix->slot[i];
}

int node_index_get(const NodeIndex *ix, const Node *n) {
    if (ix->cap == 0)
        return -1;
    struct NodeSlot *s = node_slot(ix, n);
    return s->key ? s->val : -1;
}

void node_index_put(NodeIndex *ix, const Node *n, int val) {
    if (2 * (ix->n + 1) > ix->cap) {
        NodeIndex bigger = {.cap = ix->cap ? 2 * ix->cap : 16};
        bigger.slot = xalloc(sizeof(struct NodeSlot) * (size_t)bigger.cap);
        for (int i = 0; i < ix->cap; i++)
            if (ix->slot[i].key)
                *node_slot(&bigger, ix->slot[i].key) = ix->slot[i];
        bigger.n = ix->n;
        *ix = bigger; /* the old slots stay in the arena */
    }
    struct NodeSlot *s = node_slot(ix, n);
    if (!s->key) {
        s->key = n;
        ix->n++;
    }
    s->val = val;
}

int ir_block_find(const Block *b, const Node *n, int hint) {
    for (int i = hint > 0 ? hint : 0; i < b->n; i++)
        if (b->nodes[i] == n)
            return i;
    for (int i = 0; i < hint && i < b->n; i++)
        if (b->nodes[i] == n)
            return i;
    return -1;
}

bool ir_block_in_loop(const Block *b, const Loop *l)
{
    for (; b; b = b->outer)
        if (b->loop == l)
            return true;
    return false;
}
