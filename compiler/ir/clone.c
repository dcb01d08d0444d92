/*
 * clone.c - a deep copy of a Graph (ir_clone).
 *
 * The driver lowers a program once, into the forward graph F, and makes
 * the training graph T as a copy of F: autodiff and the passes then
 * change T without touching F. The copy shares no Node, Block or Loop
 * with the original; strings (names, shape texts) and the declaration
 * tables' contents are immutable after lowering and are shared.
 *
 * Two walks over every block (the top block, loop bodies, fused bodies):
 * the first allocates a copy of every node, loop and block and records
 * old -> new in a pointer map; the second fills each copy's pointers
 * through the map. So the order in which blocks are visited never
 * matters (a body may read a node of an outer block, a LOOPOUT reads its
 * LOOP, grads and outputs point anywhere).
 */
#include "nngc.h"

#include <string.h>

/* Open addressing, keys are pointers of the original graph. */
typedef struct PtrMap {
    const void **key;
    void **val;
    size_t cap; /* a power of two */
    size_t n;
} PtrMap;

static size_t hash_ptr(const void *p, size_t cap) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

static void map_put(PtrMap *m, const void *k, void *v);

static void map_grow(PtrMap *m) {
    PtrMap old = *m;
    m->cap = old.cap ? 2 * old.cap : 256;
    m->key = xalloc(sizeof(void *) * m->cap);
    m->val = xalloc(sizeof(void *) * m->cap);
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.key[i])
            map_put(m, old.key[i], old.val[i]);
}

static void map_put(PtrMap *m, const void *k, void *v) {
    if (2 * (m->n + 1) > m->cap)
        map_grow(m);
    size_t i = hash_ptr(k, m->cap);
    while (m->key[i] && m->key[i] != k)
        i = (i + 1) & (m->cap - 1);
    if (!m->key[i])
        m->n++;
    m->key[i] = k;
    m->val[i] = v;
}

/* The copy of k; NULL stays NULL. Anything else must have been copied. */
static void *map_get(const PtrMap *m, const void *k) {
    if (!k)
        return NULL;
    if (m->cap) {
        size_t i = hash_ptr(k, m->cap);
        while (m->key[i]) {
            if (m->key[i] == k)
                return m->val[i];
            i = (i + 1) & (m->cap - 1);
        }
    }
    nn_internal_error(__FILE__, __LINE__, "ir_clone: a pointer outside the graph");
}

/* Node *array[n] of copies (NULL entries kept), cap slots allocated. */
static Node **map_array(const PtrMap *m, Node *const *a, int n, int cap) {
    if (!a)
        return NULL;
    Node **r = xalloc(sizeof(Node *) * (size_t)(cap > n ? cap : n > 0 ? n : 1));
    for (int i = 0; i < n; i++)
        r[i] = map_get(m, a[i]);
    return r;
}

/* ---------------------------------------------------------------- walk 1: allocate */

static void alloc_block(PtrMap *m, const Block *b, Block *copy);

static void alloc_node(PtrMap *m, const Node *n) {
    Node *c = xalloc(sizeof *c);
    *c = *n;
    map_put(m, n, c);
    if (n->op == OP_LOOP && n->loop) {
        Loop *l = xalloc(sizeof *l);
        *l = *n->loop;
        map_put(m, n->loop, l);
        alloc_block(m, &n->loop->body, &l->body);
    }
    if (n->fused) {
        Block *fb = xalloc(sizeof *fb);
        alloc_block(m, n->fused, fb);
    }
}

static void alloc_block(PtrMap *m, const Block *b, Block *copy) {
    *copy = *b;
    map_put(m, b, copy);
    for (int i = 0; i < b->n; i++)
        alloc_node(m, b->nodes[i]);
}

/* ---------------------------------------------------------------- walk 2: link */

static void link_block(const PtrMap *m, const Block *b);

static void link_node(const PtrMap *m, const Node *n) {
    Node *c = map_get(m, n);
    c->in = map_array(m, n->in, n->nin, n->nin);
    c->parent = map_get(m, n->parent);
    c->loop = map_get(m, n->loop);
    c->fused = map_get(m, n->fused);
    c->aux = NULL; /* scratch; would point into the original */
    if (n->op == OP_LOOP && n->loop) {
        const Loop *l = n->loop;
        Loop *lc = c->loop;
        lc->node = map_get(m, l->node);
        lc->index = map_get(m, l->index);
        lc->carry = map_array(m, l->carry, l->ncarry, l->capcarry);
        lc->next = map_array(m, l->next, l->ncarry, l->capcarry);
        lc->stack = map_array(m, l->stack, l->nstack, l->capstack);
        lc->sum = map_array(m, l->sum, l->nsum, l->capsum);
        link_block(m, &l->body);
    }
    if (n->fused)
        link_block(m, n->fused);
}

static void link_block(const PtrMap *m, const Block *b) {
    Block *c = map_get(m, b);
    c->nodes = map_array(m, b->nodes, b->n, b->cap);
    c->head = 0; /* a new array, without b's free slots before its nodes */
    c->outer = map_get(m, b->outer);
    c->loop = map_get(m, b->loop);
    for (int i = 0; i < b->n; i++)
        link_node(m, b->nodes[i]);
}

/* A copy of n elements of size each (cap slots), or NULL. */
static void *copy_table(const void *a, int n, int cap, size_t size) {
    if (!a)
        return NULL;
    size_t slots = (size_t)(cap > n ? cap : n > 0 ? n : 1);
    void *r = xalloc(size * slots);
    memcpy(r, a, size * (size_t)(n > 0 ? n : 0));
    return r;
}

Graph *ir_clone(const Graph *g) {
    PtrMap m = {0};
    Graph *c = xalloc(sizeof *c);
    *c = *g;
    alloc_block(&m, &g->top, &c->top);
    link_block(&m, &g->top);
    c->dims = copy_table(g->dims, g->ndims, g->capdims, sizeof *g->dims);
    c->params = copy_table(g->params, g->nparams, g->capparams, sizeof *g->params);
    c->inputs = copy_table(g->inputs, g->ninputs, g->capinputs, sizeof *g->inputs);
    c->outputs = copy_table(g->outputs, g->noutputs, g->capoutputs, sizeof *g->outputs);
    for (int i = 0; i < g->noutputs; i++)
        c->outputs[i].value = map_get(&m, g->outputs[i].value);
    c->loss = map_get(&m, g->loss);
    c->grads = map_array(&m, g->grads, g->grads ? g->nparams : 0, g->grads ? g->nparams + 1 : 0);
    return c;
}
