/*
 * cse.c - common subexpression elimination by hashed value numbering.
 *
 * Two nodes with the same op, attributes and operands compute the same
 * value (every op is pure), so a later one is replaced by the earlier one
 * when the earlier one is visible there: in the same block before it, or
 * in an enclosing block. Loop-defined nodes (INDEX, CARRY, LOOP, LOOPOUT)
 * and fused nodes are never merged.
 *
 * Method (as GCC's and LLVM's value numbering): the available nodes are in
 * a hash table keyed by op, attributes, type and operands. Blocks are
 * walked in order, nested loop bodies where their LOOP node stands; what a
 * body makes available is taken out of the table when the body ends (the
 * table is a stack of entries with chained buckets, so leaving a block pops
 * its entries). A replaced node records its replacement in Node.aux, and
 * every node's operands are rewritten through it when the walk reaches the
 * node (operands come first), loop results after their body, the graph's
 * outputs at the end: one walk, linear in the graph.
 *
 * Requires: a verified graph. The replaced nodes are removed. Uses
 * Node.aux (cleared).
 */
#include "nngc.h"

#include <string.h>

typedef struct Entry {
    Node *n;
    uint64_t hash;
    int next; /* next entry of the bucket, -1 at the end */
} Entry;

typedef struct Table {
    Entry *e;      /* a stack: the newest entries last */
    int n, cap;
    int *head;     /* bucket -> newest entry, -1 when empty */
    int nbuckets;  /* a power of two */
} Table;

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

static uint64_t mix_size(uint64_t h, Size s) {
    h = mix(h, (uint64_t)s.c);
    for (int i = 0; i < NN_MAXDYN; i++)
        h = mix(h, (uint64_t)s.k[i]);
    return h;
}

static uint64_t hash_node(const Node *n) {
    uint64_t h = mix(0, (uint64_t)n->op);
    h = mix(h, (uint64_t)n->dtype);
    h = mix(h, (uint64_t)n->nin);
    for (int i = 0; i < n->nin; i++)
        h = mix(h, (uint64_t)(uintptr_t)n->in[i]);
    uint64_t fbits;
    memcpy(&fbits, &n->f, sizeof fbits);
    h = mix(h, fbits);
    h = mix(h, (uint64_t)n->i);
    h = mix(h, (uint64_t)n->index);
    h = mix_size(h, n->size);
    h = mix(h, (uint64_t)n->ta | (uint64_t)n->tb << 1 | (uint64_t)n->approx.share_batch << 2);
    h = mix(h, (uint64_t)n->approx.kind);
    h = mix(h, (uint64_t)n->approx.k);
    h = mix(h, (uint64_t)n->shape.rank);
    for (int i = 0; i < n->shape.rank; i++)
        h = mix_size(h, n->shape.d[i]);
    h ^= h >> 33; /* murmur3's finalizer: every bit reaches the bucket bits */
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

static bool same_node(const Node *a, const Node *b) {
    if (!ir_same_attrs(a, b))
        return false;
    for (int i = 0; i < a->nin; i++)
        if (a->in[i] != b->in[i])
            return false;
    return true;
}

static bool mergeable(const Node *n) {
    if (op_flags[n->op] & OPF_RANDOM) /* two draws are two values */
        return false;
    return n->op != OP_LOOP && n->op != OP_LOOPOUT && n->op != OP_INDEX && n->op != OP_CARRY &&
           n->op != OP_FUSED && n->op != OP_ARG; /* fused bodies are not compared */
}

static void rehash(Table *t, int nbuckets) {
    t->head = xrealloc(t->head, sizeof(int) * (size_t)t->nbuckets, sizeof(int) * (size_t)nbuckets);
    t->nbuckets = nbuckets;
    for (int b = 0; b < nbuckets; b++)
        t->head[b] = -1;
    for (int i = 0; i < t->n; i++) { /* oldest first: chains stay newest first */
        int b = (int)(t->e[i].hash & (uint64_t)(nbuckets - 1));
        t->e[i].next = t->head[b];
        t->head[b] = i;
    }
}

static Node *find(const Table *t, const Node *n, uint64_t h) {
    if (t->nbuckets == 0)
        return NULL;
    for (int i = t->head[h & (uint64_t)(t->nbuckets - 1)]; i >= 0; i = t->e[i].next)
        if (t->e[i].hash == h && same_node(t->e[i].n, n))
            return t->e[i].n;
    return NULL;
}

static void push(Table *t, Node *n, uint64_t h) {
    Entry e = {.n = n, .hash = h};
    VEC_PUSH(t->e, t->n, t->cap, e);
    if (2 * t->n > t->nbuckets) {
        rehash(t, t->nbuckets ? 2 * t->nbuckets : 256);
        return;
    }
    int b = (int)(h & (uint64_t)(t->nbuckets - 1));
    t->e[t->n - 1].next = t->head[b];
    t->head[b] = t->n - 1;
}

/* Takes the entries after the first `mark` out (LIFO: each is the head of
 * its bucket when its turn comes). */
static void pop_to(Table *t, int mark) {
    while (t->n > mark) {
        Entry *e = &t->e[--t->n];
        int b = (int)(e->hash & (uint64_t)(t->nbuckets - 1));
        NN_ASSERT(t->head[b] == t->n);
        t->head[b] = e->next;
    }
}

/* The node that stands for x now (x itself unless x was replaced). */
static Node *current(Node *x) {
    while (x && x->aux)
        x = x->aux;
    return x;
}

static int cse_block(Block *b, Table *t) {
    int removed = 0;
    int mark = t->n;
    int keep = 0;
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        for (int k = 0; k < n->nin; k++)
            n->in[k] = current(n->in[k]);
        if (n->op == OP_LOOP) {
            Loop *l = n->loop;
            removed += cse_block(&l->body, t);
            for (int r = 0; r < l->ncarry; r++)
                l->next[r] = current(l->next[r]);
            for (int s = 0; s < l->nstack; s++)
                l->stack[s] = current(l->stack[s]);
            for (int s = 0; s < l->nsum; s++)
                l->sum[s] = current(l->sum[s]);
        }
        if (mergeable(n)) {
            uint64_t h = hash_node(n);
            Node *same = find(t, n, h);
            if (same) {
                n->aux = same;
                removed++;
                continue;
            }
            push(t, n, h);
        }
        b->nodes[keep++] = n;
    }
    b->n = keep;
    pop_to(t, mark); /* what this block defined is not visible outside it */
    return removed;
}

void pass_cse(PassCtx *pc) {
    Graph *g = pc->g;
    Table t = {0};
    ir_clear_aux(&g->top);
    cse_block(&g->top, &t);
    for (int i = 0; i < g->noutputs; i++)
        g->outputs[i].value = current(g->outputs[i].value);
    g->loss = current(g->loss);
    for (int i = 0; g->grads && i < g->nparams; i++)
        g->grads[i] = current(g->grads[i]);
    /* the removed nodes are out of every block; the kept ones never got aux */
}
