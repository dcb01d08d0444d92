/*
 * memplan.c - the memory plan: the params' offsets in m->params and every
 * buffer's offset in the arena, reusing the regions of dead buffers.
 *
 * Liveness is over the emission order (Ctx.all, loop bodies right after
 * their LOOP node): a buffer is live from the node that writes it to its
 * last reader. Refinements, each on the safe side:
 *   - a reader inside a loop that does not hold the value reads it at every
 *     iteration: the use counts at the end of that loop (its last body node);
 *   - a buffer written inside a loop body is live for the whole of its
 *     outermost loop (iterations and the end-of-iteration copies read it);
 *   - reading a view (row, carry, loop result) reads the memory it points
 *     into; reading a scatter_rows (never stored) reads its operands;
 *   - the loss, outputs and gradients copied into m->grads are read at the
 *     end of the function.
 * Exclusive regions, never shared with anything: the graph's outputs (the
 * caller reads them after the call) and every loop's carries, their
 * temporaries, stacks and sums.
 *
 * Allocation walks the buffers in order of their first write: the regions
 * of buffers dead by then go back to a free list (merged with free
 * neighbours), and a new buffer takes the smallest free region that fits
 * (the rest stays free), or else grows the arena (from a free region at
 * its top when there is one). plan_verify() then checks that no two
 * buffers live at the same time share a byte.
 */
#include "backend.h"

/* Most floats the arena or the params may hold: their byte sizes must fit
 * in a size_t and an int64 anywhere the generated code computes them. */
#define MAX_FLOATS (INT64_MAX / 64)

/* Floats of a region for a value of shape s at its largest (dynamic dims at
 * their max), rounded up to ALIGN_FLOATS; a scalar still takes one aligned
 * slot. -1 after reporting a size that does not fit (once). */
static int64_t region_len(Ctx *x, const Shape *s, Loc loc)
{
    int64_t cnt = 0;
    if (!count_hi(x->g, s, &cnt) || cnt > MAX_FLOATS - ALIGN_FLOATS) {
        if (x->ok)
            emit_error(x, loc, "the model needs more memory than a C program can address");
        return -1;
    }
    int64_t len = (cnt + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    return len ? len : ALIGN_FLOATS;
}

/* Adds len floats to *total (false after reporting an overflow). */
static bool grow(Ctx *x, int64_t *total, int64_t len, Loc loc)
{
    if (len < 0 || len > MAX_FLOATS - *total) {
        if (x->ok && len >= 0)
            emit_error(x, loc, "the model needs more memory than a C program can address");
        x->ok = false;
        return false;
    }
    *total += len;
    return true;
}

/* ---------------------------------------------------------------- liveness */

/* The outermost loop holding block b, NULL at the top. */
static Loop *outermost_loop(const Block *b)
{
    Loop *l = NULL;
    for (; b; b = b->outer)
        if (b->loop)
            l = b->loop;
    return l;
}

/* The buffer whose memory node n's value is in, or NULL (a view of a param,
 * input or loop buffer, an int scalar, a scatter_rows, a gradient in
 * m->grads). */
static MemBuf *buf_of(const Node *n)
{
    return info(view_root(n))->buf;
}

/* Value v is read at position p by a node of block where. */
static void use(Ctx *x, const Node *v, int p, const Block *where)
{
    for (const Block *b = where; b; b = b->outer)
        if (b->loop && !ir_block_in_loop(v->parent, b->loop) && info(b->loop->node)->loop_end > p)
            p = info(b->loop->node)->loop_end;
    const Node *r = view_root(v);
    if (info(r)->in_addend) { /* a product in its addend's memory (place_addends) */
        use(x, r->in[2], p, where);
        return;
    }
    if (r->op == OP_SCATTERROWS) {
        /* not stored: whoever reads it reads its operands */
        for (int j = 0; j < r->nin; j++)
            use(x, r->in[j], p, where);
        return;
    }
    MemBuf *b = buf_of(r);
    if (b && b->end < p)
        b->end = p;
}

/* A new buffer of shape s live from start to end; its offset goes to *off. */
static MemBuf *add_buf(Ctx *x, MemPlan *mp, const Shape *s, Loc loc, int start, int end, bool exclusive,
                       int64_t *dst)
{
    MemBuf b = {region_len(x, s, loc), 0, start, end, exclusive, dst};
    if (b.len < 0)
        x->ok = false;
    VEC_PUSH(mp->bufs, mp->nbufs, mp->capbufs, b);
    return &mp->bufs[mp->nbufs - 1];
}

/* The stack of body value v over the iterations of l: [hi - lo, ...v's shape]. */
static Shape stacked(const Loop *l, const Node *v)
{
    Shape s = v->shape;
    NN_ASSERT(s.rank < NN_MAXRANK);
    memmove(&s.d[1], &s.d[0], sizeof(Size) * (size_t)s.rank);
    s.d[0] = size_sub(l->hi, l->lo);
    s.rank++;
    return s;
}

/* Every buffer with its live range. Buffer pointers in NodeInfo.buf are
 * set once all buffers exist (the array may move while it grows). */
static void collect_bufs(Ctx *x, MemPlan *mp)
{
    Graph *g = x->g;
    int fin = x->nall; /* "the end of the function" */
    /* positions, and the last body position of each loop */
    for (int i = 0; i < x->nall; i++)
        info(x->all[i])->pos = i;
    for (int i = x->nall - 1; i >= 0; i--) {
        Node *n = x->all[i];
        if (n->op != OP_LOOP)
            continue;
        int end = i;
        for (int k = i + 1; k < x->nall && ir_block_in_loop(x->all[k]->parent, n->loop); k++)
            end = k;
        info(n)->loop_end = end;
    }
    int *owner = xalloc(sizeof(int) * (size_t)(x->nall + 1)); /* node -> buffer index, -1 */
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        NodeInfo *ni = info(n);
        owner[i] = -1;
        if (has_buffer(n) && ni->grad_of < 0 && !ni->slot_loop && !ni->in_addend) { /* (a stack's row, an addend's) */
            Loop *l = outermost_loop(n->parent);
            int start = l ? info(l->node)->pos : i, end = l ? info(l->node)->loop_end : i;
            bool out = is_output(g, n);
            owner[i] = mp->nbufs;
            add_buf(x, mp, &n->shape, n->loc, start, out ? fin : end, out, &ni->off);
            if (ni->pingpong) /* the other iterations' buffer (place_loops), live as long */
                add_buf(x, mp, &n->shape, n->loc, start, end, false, &ni->pp_off);
        }
        if (n->op != OP_LOOP)
            continue;
        Loop *l = n->loop;
        ni->carry_off = xalloc(sizeof(int64_t) * (size_t)(l->ncarry + 1));
        ni->tmp_off = xalloc(sizeof(int64_t) * (size_t)(l->ncarry + 1));
        ni->stack_off = xalloc(sizeof(int64_t) * (size_t)(l->nstack + 1));
        ni->sum_off = xalloc(sizeof(int64_t) * (size_t)(l->nsum + 1));
        for (int r = 0; r < l->ncarry; r++) {
            add_buf(x, mp, &l->carry[r]->shape, n->loc, i, fin, true, &ni->carry_off[r]);
            /* A next value that reads a carry buffer of this loop would be
             * overwritten before it is copied: it goes through a temporary. */
            const Node *root = view_root(l->next[r]);
            ni->tmp_off[r] = -1;
            if (root->op == OP_CARRY && root->loop == l && l->next[r] != l->carry[r])
                add_buf(x, mp, &l->carry[r]->shape, n->loc, i, fin, true, &ni->tmp_off[r]);
        }
        for (int r = 0; r < l->nstack; r++) {
            ni->stack_off[r] = -1;
            if (ni->stack_alias && ni->stack_alias[r] >= 0)
                continue; /* another stack's rows (place_loops) */
            Shape s = stacked(l, l->stack[r]);
            if (stack_holds_carry(n, r)) /* one row more, for the last next value */
                s.d[0] = size_add(s.d[0], size_const(1));
            add_buf(x, mp, &s, n->loc, i, fin, true, &ni->stack_off[r]);
        }
        for (int r = 0; r < l->nsum; r++) {
            ni->sum_off[r] = -1;
            if (!ni->sum_grad_of || ni->sum_grad_of[r] < 0) /* else it is in m->grads */
                add_buf(x, mp, &l->sum[r]->shape, n->loc, i, fin, true, &ni->sum_off[r]);
        }
    }
    for (int i = 0; i < x->nall; i++)
        info(x->all[i])->buf = owner[i] >= 0 ? &mp->bufs[owner[i]] : NULL;

    /* the readers */
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        for (int j = 0; j < n->nin; j++)
            use(x, n->in[j], i, n->parent);
        if (n->op == OP_LOOP) {
            Loop *l = n->loop;
            int end = info(n)->loop_end;
            for (int r = 0; r < l->ncarry; r++)
                use(x, l->next[r], end, &l->body);
            for (int r = 0; r < l->nstack; r++)
                use(x, l->stack[r], end, &l->body);
            for (int r = 0; r < l->nsum; r++)
                use(x, l->sum[r], end, &l->body);
        }
    }
    /* two loops at the same time (pass par): every buffer live anywhere
     * from the first one's start to the second one's end is live all
     * along, so no two buffers of the pair share memory */
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        if (n->op != OP_LOOP || !n->loop->beside || n->parent->outer)
            continue;
        int from = i, to = info(n)->loop_end + 1;
        NN_ASSERT(to < x->nall && x->all[to]->op == OP_LOOP);
        to = info(x->all[to])->loop_end;
        for (int k = 0; k < mp->nbufs; k++) {
            MemBuf *b = &mp->bufs[k];
            if (b->start <= to && b->end >= from) {
                b->start = b->start < from ? b->start : from;
                b->end = b->end > to ? b->end : to;
            }
        }
    }
    if (g->loss)
        use(x, g->loss, fin, &g->top);
    for (int i = 0; i < g->noutputs; i++)
        use(x, g->outputs[i].value, fin, &g->top);
    for (int i = 0; g->grads && i < g->nparams; i++)
        if (g->grads[i])
            use(x, g->grads[i], fin, &g->top);
}

/* ---------------------------------------------------------------- allocation */

typedef struct Hole {
    int64_t off, len;
} Hole;

typedef struct FreeList {
    Hole *v; /* sorted by offset, never adjacent (merged) */
    int n, cap;
} FreeList;

static void hole_free(FreeList *f, int64_t off, int64_t len)
{
    int k = 0;
    while (k < f->n && f->v[k].off < off)
        k++;
    Hole h = {off, len};
    VEC_PUSH(f->v, f->n, f->cap, h); /* grow, then shift into place */
    memmove(&f->v[k + 1], &f->v[k], sizeof(Hole) * (size_t)(f->n - 1 - k));
    f->v[k] = h;
    if (k + 1 < f->n && f->v[k].off + f->v[k].len == f->v[k + 1].off) { /* merge with the next */
        f->v[k].len += f->v[k + 1].len;
        memmove(&f->v[k + 1], &f->v[k + 2], sizeof(Hole) * (size_t)(f->n - k - 2));
        f->n--;
    }
    if (k > 0 && f->v[k - 1].off + f->v[k - 1].len == f->v[k].off) { /* and with the previous */
        f->v[k - 1].len += f->v[k].len;
        memmove(&f->v[k], &f->v[k + 1], sizeof(Hole) * (size_t)(f->n - k - 1));
        f->n--;
    }
}

/* The offset of a new region of len floats: the smallest hole that fits,
 * else the top of the arena (starting in a hole that ends there). */
static int64_t hole_take(Ctx *x, FreeList *f, int64_t *total, int64_t len)
{
    int best = -1;
    for (int k = 0; k < f->n; k++)
        if (f->v[k].len >= len && (best < 0 || f->v[k].len < f->v[best].len))
            best = k;
    if (best >= 0) {
        int64_t off = f->v[best].off;
        f->v[best].off += len;
        f->v[best].len -= len;
        if (!f->v[best].len) {
            memmove(&f->v[best], &f->v[best + 1], sizeof(Hole) * (size_t)(f->n - best - 1));
            f->n--;
        }
        return off;
    }
    if (f->n && f->v[f->n - 1].off + f->v[f->n - 1].len == *total) { /* extend the top hole */
        Hole top = f->v[--f->n];
        if (!grow(x, total, len - top.len, NO_LOC))
            return 0;
        return top.off;
    }
    int64_t off = *total;
    grow(x, total, len, NO_LOC);
    return off;
}

static int by_start(const void *a, const void *b)
{
    const MemBuf *p = *(MemBuf *const *)a, *q = *(MemBuf *const *)b;
    return p->start != q->start ? (p->start > q->start) - (p->start < q->start) : (p > q) - (p < q);
}

/* The live buffers of a walk in order of start, as a binary heap by end:
 * the dead ones leave from its top (a trained program keeps thousands of
 * forward values live until the backward pass reads them). */
typedef struct Live {
    MemBuf **v;
    int n;
} Live;

static void live_push(Live *h, MemBuf *b)
{
    int i = h->n++;
    for (; i > 0 && h->v[(i - 1) / 2]->end > b->end; i = (i - 1) / 2)
        h->v[i] = h->v[(i - 1) / 2];
    h->v[i] = b;
}

/* The live buffer that ends first, taken out of the heap; NULL when none
 * ends before position p. */
static MemBuf *live_pop_before(Live *h, int p)
{
    if (h->n == 0 || h->v[0]->end >= p)
        return NULL;
    MemBuf *top = h->v[0], *last = h->v[--h->n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->v[c + 1]->end < h->v[c]->end)
            c++;
        if (h->v[c]->end >= last->end)
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    h->v[i] = last;
    return top;
}

static int by_int64(const void *a, const void *b)
{
    int64_t p = *(const int64_t *)a, q = *(const int64_t *)b;
    return (p > q) - (p < q);
}

/* The arena cut at every buffer's two ends into k - 1 pieces (cut[0..k)),
 * with a tree over them: how many live buffers cover each piece (a range
 * add, a range maximum). */
typedef struct Cover {
    int64_t *cut;
    int k;
    int *max, *add; /* per tree node: the maximum below it, an add pending for all of it */
} Cover;

static int cut_at(const Cover *c, int64_t off)
{
    const int64_t *p = bsearch(&off, c->cut, (size_t)c->k, sizeof(int64_t), by_int64);
    NN_ASSERT(p);
    return (int)(p - c->cut);
}

/* Adds v over pieces [a, b) (v == 0: no add); returns the largest count in
 * [a, b) before the add. Node t covers pieces [lo, hi). */
static int cover_add(Cover *c, int t, int lo, int hi, int a, int b, int v)
{
    if (b <= lo || hi <= a)
        return 0;
    if (a <= lo && hi <= b) {
        int was = c->max[t];
        c->max[t] += v;
        c->add[t] += v;
        return was;
    }
    int mid = lo + (hi - lo) / 2;
    int l = cover_add(c, 2 * t, lo, mid, a, b, v), r = cover_add(c, 2 * t + 1, mid, hi, a, b, v);
    c->max[t] = c->add[t] + (c->max[2 * t] > c->max[2 * t + 1] ? c->max[2 * t] : c->max[2 * t + 1]);
    return c->add[t] + (l > r ? l : r);
}

/* b's region added to the live ones (v = 1) or taken out (v = -1); for an
 * add, false if it overlaps one of them. */
static bool cover(Cover *c, const MemBuf *b, int v)
{
    if (b->len == 0)
        return true;
    return cover_add(c, 1, 0, c->k - 1, cut_at(c, b->off), cut_at(c, b->off + b->len), v) == 0 || v < 0;
}

/* Is the plan sound: no two buffers live at the same time share a float?
 * A sweep over the buffers in order of their start: each must fit in the
 * arena and find its region covered by no live buffer (in n log n, where
 * comparing with every live buffer made long trained programs slow). */
static bool plan_verify(const MemPlan *mp, int64_t arena)
{
    if (mp->nbufs == 0)
        return true;
    MemBuf **s = xalloc(sizeof(MemBuf *) * (size_t)mp->nbufs);
    Cover c = {xalloc(sizeof(int64_t) * 2 * (size_t)mp->nbufs), 0, NULL, NULL};
    for (int i = 0; i < mp->nbufs; i++) {
        s[i] = &mp->bufs[i];
        c.cut[c.k++] = mp->bufs[i].off;
        c.cut[c.k++] = mp->bufs[i].off + mp->bufs[i].len;
    }
    qsort(s, (size_t)mp->nbufs, sizeof(MemBuf *), by_start);
    qsort(c.cut, (size_t)c.k, sizeof(int64_t), by_int64);
    int k = 1;
    for (int i = 1; i < c.k; i++)
        if (c.cut[i] != c.cut[k - 1])
            c.cut[k++] = c.cut[i];
    c.k = k;
    c.max = xalloc(sizeof(int) * 4 * (size_t)c.k);
    c.add = xalloc(sizeof(int) * 4 * (size_t)c.k);
    Live live = {xalloc(sizeof(MemBuf *) * (size_t)mp->nbufs), 0};
    for (int i = 0; i < mp->nbufs; i++) {
        MemBuf *b = s[i], *dead;
        if (b->off < 0 || b->off + b->len > arena)
            return false;
        while ((dead = live_pop_before(&live, b->start)))
            cover(&c, dead, -1);
        if (!cover(&c, b, 1))
            return false;
        live_push(&live, b);
    }
    return true;
}

/* Gives every param its offset in m->params and every buffer its offset in
 * the arena (Ctx.arena_floats the arena's size); fills x->plan. */
void plan_memory(Ctx *x)
{
    Graph *g = x->g;
    MemPlan *mp = &x->plan;
    x->param_off = xalloc(sizeof(int64_t) * (size_t)(g->nparams + 1));
    for (int i = 0; i < g->nparams; i++) {
        x->param_off[i] = x->params_floats;
        grow(x, &x->params_floats, region_len(x, &g->params[i].shape, g->params[i].loc), g->params[i].loc);
    }
    collect_bufs(x, mp);
    if (!x->ok)
        return;
    MemBuf **order = xalloc(sizeof(MemBuf *) * (size_t)(mp->nbufs + 1));
    for (int i = 0; i < mp->nbufs; i++)
        order[i] = &mp->bufs[i];
    qsort(order, (size_t)mp->nbufs, sizeof *order, by_start);
    /* the live shared buffers (their regions go back to the free list, in
     * any order: the list merges neighbours) */
    Live live = {xalloc(sizeof(MemBuf *) * (size_t)(mp->nbufs + 1)), 0};
    FreeList fl = {0};
    for (int i = 0; i < mp->nbufs && x->ok; i++) {
        MemBuf *b = order[i], *dead;
        while ((dead = live_pop_before(&live, b->start)))
            hole_free(&fl, dead->off, dead->len);
        if (b->exclusive) {
            b->off = x->arena_floats;
            grow(x, &x->arena_floats, b->len, NO_LOC);
        } else {
            b->off = hole_take(x, &fl, &x->arena_floats, b->len);
            live_push(&live, b);
        }
        *b->dst = b->off;
    }
    if (!x->ok)
        return;
    NN_ASSERT(plan_verify(mp, x->arena_floats));
    /* statistics: without reuse, and the most floats live at one time */
    int64_t *at = xalloc(sizeof(int64_t) * (size_t)(x->nall + 2));
    for (int i = 0; i < mp->nbufs; i++) {
        const MemBuf *b = &mp->bufs[i];
        mp->unshared_floats += b->len;
        at[b->start] += b->len;
        at[b->end + 1] -= b->len;
    }
    int64_t cur = 0;
    for (int i = 0; i <= x->nall; i++) {
        cur += at[i];
        if (cur > mp->peak_floats)
            mp->peak_floats = cur;
    }
}

/* --stats: the plan of one graph, in bytes. */
void plan_report(Ctx *x, FILE *out, const char *what)
{
    const MemPlan *mp = &x->plan;
    fprintf(out,
            "nngc: memory (%s): params %" PRId64 " B, scratch %" PRId64 " B in %d buffers (without reuse %" PRId64
            " B), peak live %" PRId64 " B\n",
            what, x->params_floats * (int64_t)sizeof(float), x->arena_floats * (int64_t)sizeof(float), mp->nbufs,
            mp->unshared_floats * (int64_t)sizeof(float), mp->peak_floats * (int64_t)sizeof(float));
}
