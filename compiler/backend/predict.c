/*
 * predict.c - NAME_predict and NAME_ctx_predict (docs/API.md, "Prediction"):
 * the most likely word of every position the program's cross_entropy
 * predicts, under the node's softmax method (runtime/decode.c).
 *
 * Decoding needs the position's hidden vector h and the method's rows,
 * params all, so nothing new is computed into the graph: in the forward
 * graph, after the pipeline, the method's op (the root: cross_entropy,
 * linear_logsumexp, class_loss, hier's logistic_loss, bin_logz, vmf_loss)
 * leads to a node that reads h itself (the reader: the product of h with
 * the method's rows), and NAME_ctx_forward, when the context asks for it
 * (m->pred, set by NAME_ctx_predict), calls the decoder right after that
 * node, on every row of h, while h is certainly live. An exact softmax
 * whose logits are computed whole is decoded from them (argmax z).
 *
 * One site (one cross_entropy term) is supported: its words come in the
 * order of h's rows, which is the loop's order at every -O; where the
 * passes took the term out of loops that still sum it (hoist), one per
 * step all the same, each row's word repeated (site_repeats). A model with
 * more, or whose site does not match (logits that are not W @ h + b of
 * params, a reader inside a parallel task), gets NAME_predict all the same,
 * returning an error that says why. The CUDA target's does too.
 */
#include "backend.h"

typedef enum { SITE_LOGITS, SITE_FULL, SITE_CLASS, SITE_HIER, SITE_BINARY, SITE_EMBED } SiteKind;

typedef struct Site {
    SiteKind kind;
    const Node *root;   /* the method's op */
    const Node *reader; /* decode right after it */
    const Node *h;      /* [..., H] hidden vectors, or [..., V] logits (SITE_LOGITS) */
    int W, b, Wc, bc;   /* param indexes, -1: none */
    const Node *Wn, *bn; /* SITE_FULL: the rows and bias (params or computed values) */
    int64_t V, hybrid, n; /* binary: V, its hybrid N, predicted bits n */
    const Loop *via;    /* the root reads row i of the reader's value in this loop (i its index), or NULL */
    const Node *bcast;  /* the logits broadcast to steps of a loop the batch pass took them out of, or NULL */
    char *words;        /* C: the positions of one pass of the reader, when not h's rows (site_repeats) */
    char *inner;        /* C, with words: how many times each row's word comes in a row */
} Site;

/* What predict_find learnt, for the header, the forward pass and the API
 * (the context's x->pred). */
typedef struct Predict {
    int nroots;        /* method ops in the forward graph */
    bool ok;           /* one root, matched */
    const char *why;   /* else: why NAME_predict fails */
    Site s;
    bool emitted;      /* the forward pass decodes (the reader was reached) */
    const Target *inner; /* the target's emit_node, wrapped */
    Target wrapped;    /* the same with emit_node_decoding */
} Predict;

/* The param a value reads its rows from: the param itself, or its rows
 * gathered, sliced or broadcast (W[ids], W[y], a range of W; a loop's row
 * of those gathered before the loop; W[y] of a y the same at every step
 * broadcast to the steps, where -O2 takes the term out of its loop). -1
 * if none. */
static int param_of(const Node *v)
{
    while (v && (v->op == OP_GATHER || v->op == OP_ROW || v->op == OP_SLICE || v->op == OP_BROADCAST))
        v = v->in[0];
    return v && v->op == OP_PARAM ? v->index : -1;
}

/* The loop whose step i picks a row, i or i +- c (c not i), or NULL. */
static const Loop *step_of(const Node *i)
{
    for (int d = 0; d < 8 && (i->op == OP_IADD || i->op == OP_ISUB); d++)
        i = i->in[1]->op == OP_INDEX || i->in[1]->op == OP_IADD || i->in[1]->op == OP_ISUB ? i->in[1] : i->in[0];
    return i->op == OP_INDEX ? i->loop : NULL;
}

/* z = (rows of W) @ h [+ rows of b]: the dot part and the bias, in the
 * forms the passes leave (matvec of W or its gathered rows, matmul of
 * stacked h by W^T, rows_dot; the bias added, or matvec's/matmul's c; one
 * step's row of those, s->via: batch computes every step's before the
 * loop and leaves the loss of one in it). */
static bool match_dot(Site *s, const Node *z, int *W, int *b)
{
    const Node *bias = NULL;
    if (z->op == OP_BROADCAST) /* the batch pass's logits the same at every step, broadcast to the steps */
        z = (s->bcast = z)->in[0];
    if (z->op == OP_ROW && (s->via = step_of(z->in[1])) != NULL)
        z = z->in[0];
    if (z->op == OP_ADD) {
        bias = z->in[1];
        z = z->in[0];
    }
    const Node *rows;
    if (z->op == OP_MATVEC && !z->ta) {
        rows = z->in[0];
        s->h = z->in[1];
    } else if (z->op == OP_MATMUL && !z->ta && z->tb) {
        rows = z->in[1];
        s->h = z->in[0];
    } else if (z->op == OP_ROWSDOT) {
        rows = z->in[0];
        s->h = z->in[2];
    } else if (z->op == OP_MULSUM && z->in[1]->shape.rank == 1 && z->index == z->in[0]->shape.rank - 1) {
        rows = z->in[0]; /* batch's per-step W[path] @ h of one h: gathered rows [..., n, H] times h [H] */
        s->h = z->in[1];
    } else {
        return false;
    }
    if ((z->op == OP_MATVEC || z->op == OP_MATMUL) && z->nin > 2) {
        if (bias)
            return false;
        bias = z->in[2];
    }
    s->reader = z;
    *W = param_of(rows);
    *b = bias ? param_of(bias) : -1;
    return *W >= 0 && (!bias || *b >= 0);
}

/* The targets of a term: v, or the whole vector when v is one row of it
 * (batch takes class's words level or binary's slots out of the loop, with
 * every step's target, and leaves the rest, of one, in it). */
static const Node *whole(const Node *v)
{
    return v->op == OP_ROW ? v->in[0] : v;
}

/* The picks of the target from the logits whose log-sum-exp v is (the
 * select pass's split of a cross_entropy: logsumexp and pick of z, or
 * linear_logsumexp and linear_pick of h, W, b): how many (one per
 * cross_entropy term: cse merged their log-sum-exps), 0 for the hybrid
 * softmax of binary, which bin_logz's site covers. A pick from a row of
 * the logits is one too: batch takes the logits and their log-sum-exp of
 * every step out of the loop, and a target that is not per step (y) leaves
 * the pick of row t in it. */
static int picks_of(Ctx *x, const Node *v)
{
    int n = 0;
    for (int i = 0; i < x->nall; i++) {
        const Node *u = x->all[i];
        bool linear = v->op == OP_LINEARLSE && u->op == OP_LINEARPICK && u->in[1] == v->in[1];
        bool pick = v->op == OP_LOGSUMEXP && u->op == OP_PICK;
        if (!linear && !pick)
            continue;
        const Node *row = u->in[0]->op == OP_ROW ? u->in[0]->in[0] : NULL;
        if (u->in[0] == v->in[0] || (pick && row == v->in[0])) {
            if (whole(u->in[linear ? 2 : 1])->op == OP_BINSLOT)
                return 0;
            n++;
        }
    }
    return n;
}

/* Are targets a (class's words level) and c (its classes level) the same
 * term's: one vector, or rows of it; or, for a target that is a loop's
 * own index (log_softmax(z)[t]), the range of every step's index that
 * the batch pass took the words level out of the loop with, and the
 * index itself? */
static bool same_target(const Node *a, const Node *c)
{
    if (whole(a) == whole(c))
        return true;
    if (a->op != OP_RANGE || c->op != OP_INDEX)
        return false;
    const Loop *l = c->loop;
    return size_eq(a->size, l->lo) && size_eq(a->shape.d[0], size_sub(l->hi, l->lo));
}

/* How many cross_entropy terms end in v (0: v is no method's op). */
static int roots_at(Ctx *x, const Node *v)
{
    switch (v->op) {
    case OP_XENT:
        return whole(v->in[1])->op != OP_BINSLOT;
    case OP_LINEARLSE:
    case OP_LOGSUMEXP:
        return picks_of(x, v);
    case OP_CLASSLOSS:
        return v->index == 0;
    case OP_LOGISTICLOSS:
        return whole(v->in[1])->op == OP_HIERLABEL;
    case OP_BINLOGZ:
    case OP_VMFLOSS:
        return 1;
    default:
        return 0;
    }
}

/* The site of root v, or false with pr->why. */
static bool match_site(Ctx *x, const Node *v, Site *s)
{
    *s = (Site){.root = v, .W = -1, .b = -1, .Wc = -1, .bc = -1};
    switch (v->op) {
    case OP_XENT:
    case OP_LOGSUMEXP:
        s->kind = SITE_LOGITS;
        s->h = v->in[0];
        s->reader = v;
        return true;
    case OP_LINEARLSE: /* (rows that are a product, Wo @ W, are a value there as a param is) */
        s->kind = SITE_FULL;
        s->h = v->in[0];
        s->reader = v;
        s->Wn = v->in[1];
        s->bn = v->nin > 2 ? v->in[2] : NULL;
        return size_is_const(s->Wn->shape.d[0]);
    case OP_CLASSLOSS: { /* the class rows here, the words' at level 1 of the same target (same_target) and h */
        s->kind = SITE_CLASS;
        if (!match_dot(s, v->in[0], &s->Wc, &s->bc) || x->g->params[s->Wc].shape.d[0].c < 1)
            return false;
        const Node *reader = s->reader, *h = s->h;
        const Loop *via = s->via;
        for (int i = 0; i < x->nall; i++) {
            const Node *u = x->all[i];
            if (u->op == OP_CLASSLOSS && u->index == 1 && same_target(u->in[1], v->in[1])) {
                bool ok = match_dot(s, u->in[0], &s->W, &s->b) && (s->h == h || (s->h->op == OP_ROW && s->h->in[0] == h));
                s->reader = reader; /* the first: the class rows, h live there */
                s->h = h;
                s->via = via;
                if (ok) /* (else another term's: a target's other row, another h) */
                    return (s->b >= 0) == (s->bc >= 0);
            }
        }
        return false;
    }
    case OP_LOGISTICLOSS:
        s->kind = SITE_HIER;
        return match_dot(s, v->in[0], &s->W, &s->b);
    case OP_BINLOGZ:
        s->kind = SITE_BINARY;
        s->V = v->size.c;
        s->hybrid = v->index;
        s->n = v->i;
        return match_dot(s, v->in[0], &s->W, &s->b);
    case OP_VMFLOSS:
        s->kind = SITE_EMBED;
        s->h = v->in[0];
        s->reader = v;
        s->W = param_of(v->in[1]);
        return s->W >= 0;
    default:
        return false;
    }
}

/* The loops that repeat a term (site_repeats): their product n (C), the
 * loops themselves, and the loops that read their own row of it (a row's
 * word comes once per step of those, in their order). */
typedef struct Repeats {
    char *n;
    const Loop *loop[16], *row[4];
    int nloop, nrow;
    Size sz[NN_PRED_FACTORS]; /* n's factors (nsz past the room: too many to say) */
    int nsz;
} Repeats;

static void factor(Repeats *r, Size s)
{
    if (r->nsz < NN_PRED_FACTORS)
        r->sz[r->nsz] = s;
    r->nsz++;
}

/* Multiplies r->n (C text) by the trip counts of the loops from block b
 * out to block top (not top's own, nor skip), noting them and skip in r;
 * false when top does not hold b (or past r's room). */
static bool times_loops(Ctx *x, const Block *b, const Block *top, const Loop *skip, Repeats *r)
{
    if (skip && r->nrow < 4)
        r->row[r->nrow++] = skip;
    for (; b != top; b = b->outer) {
        if (!b || !b->loop || r->nloop == 16)
            return false;
        if (b->loop != skip) {
            r->n = xsprintf("%s * (int64_t)(%s)", r->n, size_c(x, size_sub(b->loop->hi, b->loop->lo)));
            r->loop[r->nloop++] = b->loop;
            factor(r, size_sub(b->loop->hi, b->loop->lo));
        }
    }
    return true;
}

/* Is loop l in the body of loop outer (at any depth)? */
static bool nested_in(const Loop *l, const Loop *outer)
{
    for (const Block *b = l->body.outer; b; b = b->outer)
        if (b->loop == outer)
            return true;
    return false;
}

/* C text of the product of dims d[0..rank) of shape sh. */
static char *dims_c(Ctx *x, const Shape *sh, int rank)
{
    char *n = xsprintf("(int64_t)1");
    for (int k = 0; k < rank; k++)
        n = xsprintf("%s * (int64_t)(%s)", n, size_c(x, sh->d[k]));
    return n;
}

/* The loops of the program as written (x->g->pred_at) that the walk in
 * site_repeats did not meet: the batch pass made their steps an axis of a
 * value the term is read into (`for u in 0..T { loss += dot(x[u] *
 * sum(cross_entropy(Z, y)), v) }`: the term computed once, its product
 * with x every u's at once, [T, D]). Each repeats the term's words as a
 * block, as its steps do at -O0. Only where the walk's factors and the
 * reader's loops are some of the program's and no loop reads its own row
 * of the term. */
static void unbatched_loops(Ctx *x, const Node *reader, Repeats *r)
{
    const Graph *g = x->g;
    Repeats all = *r; /* and the loops the reader runs in: each run decodes */
    for (const Block *b = reader->parent; b && b->loop; b = b->outer)
        factor(&all, size_sub(b->loop->hi, b->loop->lo));
    if (!g->pred_known || r->nrow || all.nsz > NN_PRED_FACTORS || all.nsz >= g->npred_at)
        return;
    bool used[NN_PRED_FACTORS] = {0};
    for (int i = 0; i < all.nsz; i++) {
        int j = 0;
        while (j < g->npred_at && (used[j] || !size_eq(g->pred_at[j], all.sz[i])))
            j++;
        if (j == g->npred_at)
            return; /* not one of the program's: the shapes say something else */
        used[j] = true;
    }
    for (int j = 0; j < g->npred_at; j++)
        if (!used[j])
            r->n = xsprintf("%s * (int64_t)(%s)", r->n, size_c(x, g->pred_at[j]));
}

/* The positions of one pass of the reader, as -O0 counts them (one per
 * evaluation of the term), when the passes moved the term's parts out of
 * loops that still sum it: s->words, NULL when they are h's rows. The
 * root's terms (its shape: one per row of h, or all of one h when h is
 * one vector, as batch's W[path] @ h leaves hier), times every loop the
 * root runs in and the reader does not (bin_logz of a hoisted product),
 * times every loop the term is summed in or read in and was not computed
 * in (hoist: `for t { loss += cross_entropy(Wo @ h, y) }` computes the
 * term once, and the loop adds it T times: T positions), but for a loop
 * that reads its own row of the term (batch: row t). Decoded once and
 * repeated (emit_decode). False: the shapes do not say. */
static bool site_repeats(Ctx *x, Site *s)
{
    const Shape *hs = &s->h->shape, *ts = &s->root->shape;
    int lead = hs->rank - 1 - (s->via != NULL); /* h's dims for one root */
    bool one = lead == 0, same = lead == ts->rank;
    for (int k = 0; same && k < ts->rank; k++)
        same = size_eq(hs->d[k + (s->via != NULL)], ts->d[k]);
    if (!one && !same)
        return false;
    char *rows = dims_c(x, hs, hs->rank - 1);
    Repeats rp = {.n = s->via ? rows : dims_c(x, ts, ts->rank)};
    for (int k = 0; k < (s->via ? hs->rank - 1 : ts->rank); k++)
        factor(&rp, s->via ? hs->d[k] : ts->d[k]);
    if (!times_loops(x, s->root->parent, s->reader->parent, s->via, &rp))
        return false;
    /* one row's logits broadcast to the steps of a loop inside the row's
     * (for t { for s { loss += cross_entropy(z[t], y[s]) } }: z[t] the
     * same at every s): each row's word that many times in a row */
    char *inner = xsprintf("(int64_t)1");
    if (s->via && s->bcast) {
        int k = s->bcast->shape.rank - s->bcast->in[0]->shape.rank;
        for (int d = 0; d < k; d++)
            factor(&rp, s->bcast->shape.d[d]);
        inner = dims_c(x, &s->bcast->shape, k);
        rp.n = xsprintf("%s * %s", rp.n, inner);
    }
    /* the term's way to the loss: each value's first user, a loop summing it
     * counted as a user, and after the loop its result */
    NodeIndex user = {0};
    for (int i = 0; i < x->nall; i++) {
        const Node *u = x->all[i];
        for (int j = 0; j < u->nin; j++)
            if (node_index_get(&user, u->in[j]) < 0)
                node_index_put(&user, u->in[j], i);
        for (int j = 0; u->op == OP_LOOP && j < u->loop->nsum; j++)
            if (node_index_get(&user, u->loop->sum[j]) < 0)
                node_index_put(&user, u->loop->sum[j], i);
    }
    /* A loop reading its own row of a value on the way is one whose steps
     * the batch pass made an axis of the term: as many as the term has
     * axes more than as written. Past those (the term hoisted out of the
     * loop whole, and its product with each step's row computed for every
     * step at once: `for u { h = x[u] * sum(cross_entropy(Z, y)) }`),
     * the loop repeats the term as -O0's steps do. */
    int nrows = x->g->pred_known ? ts->rank - x->g->pred_rank : (int)(sizeof rp.row / sizeof rp.row[0]);
    const Node *v = s->root;
    int i;
    while (v != x->g->loss && (i = node_index_get(&user, v)) >= 0) {
        const Node *u = x->all[i];
        if (u->op == OP_LOOP) {
            const Loop *l = u->loop;
            int r = 0;
            while (r < l->nsum && l->sum[r] != v)
                r++;
            if (r == l->nsum) /* a carry's first value */
                break;
            if (!times_loops(x, &l->body, v->parent, NULL, &rp))
                return false;
            r += l->ncarry + l->nstack;
            while (++i < x->nall && !(x->all[i]->op == OP_LOOPOUT && x->all[i]->in[0] == u && x->all[i]->index == r))
                ;
            if (i == x->nall)
                break;
            v = x->all[i];
            continue;
        }
        const Loop *row = u->op == OP_ROW && nrows > 0 ? step_of(u->in[1]) : NULL;
        nrows -= row != NULL;
        if (!times_loops(x, u->parent, v->parent, row, &rp))
            break; /* (out of a loop other than by its sum: as -O0 counts) */
        v = u;
    }
    unbatched_loops(x, s->reader, &rp);
    s->words = strcmp(rp.n, rows) ? rp.n : NULL;
    /* A repeating loop in the body of a loop that reads the rows one by
     * one runs for each row: -O0's positions give each row's word that
     * many times in a row (for t { for s { loss += cross_entropy(z[t],
     * y[s]) } }); the other loops repeat the rows' words as a block. */
    for (int i = 0; i < rp.nloop; i++)
        for (int j = 0; j < rp.nrow; j++)
            if (nested_in(rp.loop[i], rp.row[j])) {
                inner = xsprintf("%s * (int64_t)(%s)", inner, size_c(x, size_sub(rp.loop[i]->hi, rp.loop[i]->lo)));
                break;
            }
    s->inner = inner;
    return true;
}

/* The live cross_entropy nodes of b (and the blocks in it): how many, and
 * the last one. */
static void live_xents(const Block *b, const Node **root, int *n)
{
    for (int i = 0; i < b->n; i++) {
        const Node *v = b->nodes[i];
        if (v->op == OP_LOOP)
            live_xents(&v->loop->body, root, n);
        else if (v->op == OP_XENT && v->mark)
            *root = v, ++*n;
    }
}

/* The positions of the program as written (-O0's: one per row of the
 * cross_entropy's result, in every step of the loops around it), noted
 * before the passes move it: g->pred_at, when the forward graph has one
 * live cross_entropy (unbatched_loops checks site_repeats's count against
 * them). */
void predict_note(Graph *g)
{
    g->pred_known = false;
    const Node *root = NULL;
    int n = 0;
    dce_mark_live(g);
    live_xents(&g->top, &root, &n);
    ir_clear_marks(&g->top);
    if (n != 1)
        return;
    int k = 0;
    for (int d = 0; d < root->shape.rank; d++) /* (rank <= NN_MAXRANK < NN_PRED_FACTORS) */
        g->pred_at[k++] = root->shape.d[d];
    g->pred_rank = k;
    for (const Block *b = root->parent; b && b->loop; b = b->outer) {
        if (k == NN_PRED_FACTORS)
            return;
        g->pred_at[k++] = size_sub(b->loop->hi, b->loop->lo);
    }
    g->npred_at = k;
    g->pred_known = true;
}

/* Finds the forward graph's site (x is the forward graph's context, its
 * nodes collected). Run before the header is written. */
void predict_find(Ctx *x)
{
    Predict *pr = x->pred = xalloc(sizeof *x->pred);
    memset(pr, 0, sizeof *pr);
    const Node *root = NULL;
    dce_mark_live(x->g); /* (a term nothing reads: -O0 computes it, dce drops it at -O1) */
    for (int i = 0; i < x->nall; i++) {
        int k = x->all[i]->mark ? roots_at(x, x->all[i]) : 0;
        pr->nroots += k;
        if (k && !root)
            root = x->all[i];
    }
    ir_clear_marks(&x->g->top);
    if (!pr->nroots)
        return;
    if (x->target->hook) {
        pr->why = xsprintf("not supported on the %s target yet", x->target->name);
    } else if (pr->nroots > 1) {
        pr->why = xsprintf("supports one cross_entropy term; this model has %d", pr->nroots);
    } else if (!match_site(x, root, &pr->s)) {
        pr->why = xsprintf("%s: the logits are not W @ h + b of params", loc_fmt(x, root->loc));
    } else {
        /* (h's size may be dynamic: logits over a sequence's positions, or
         * rows that a product with one makes, Wo @ transpose(xs) at -O2's
         * linear_logsumexp; sem_diff seed 58000, program 63) */
        pr->ok = pr->s.h->shape.rank >= 1 && pr->s.h->dtype == DT_F32;
        if (!pr->ok)
            pr->why = xsprintf("%s: the hidden vector is not a float vector", loc_fmt(x, root->loc));
        else if (!(pr->ok = site_repeats(x, &pr->s)))
            pr->why = xsprintf("%s: the positions are not the rows of the hidden vectors", loc_fmt(x, root->loc));
    }
}

/* Does the forward pass call the decoders (nnrt_approx.h)? */
bool predict_decodes(Ctx *x)
{
    Predict *pr = x->pred;
    return pr->ok;
}

/* ================================================================ the forward pass */

/* After the reader: every row of h decoded into m->pred (counted past the
 * room, which NAME_ctx_predict reports). */
static void emit_decode(Ctx *x)
{
    Predict *pr = x->pred;
    const Site *s = &pr->s;
    const Shape *hs = &s->h->shape;
    char *H = xsprintf("(int64_t)(%s)", size_c(x, hs->d[hs->rank - 1])); /* (a dim's value where dynamic) */
    char *rows = xsprintf("(int64_t)1");
    for (int k = 0; k + 1 < hs->rank; k++)
        rows = xsprintf("%s * (int64_t)(%s)", rows, size_c(x, hs->d[k]));
    char *W = xsprintf("m->params + %" PRId64, s->W >= 0 ? x->param_off[s->W] : 0);
    char *b = s->b >= 0 ? xsprintf("m->params + %" PRId64, x->param_off[s->b]) : "NULL";
    char *hr = xsprintf("%s + r_ * %s", vname(s->h), H), *call;
    switch (s->kind) {
    case SITE_LOGITS:
        call = xsprintf("nnrt_decode_logits(%s, %s, NULL)", H, hr);
        break;
    case SITE_FULL:
        call = xsprintf("nnrt_decode_full(%" PRId64 ", %s, %s, %s, %s, NULL)", s->Wn->shape.d[0].c, H,
                        vname(s->Wn), s->bn ? vname(s->bn) : "NULL", hr); /* (a param's leaf is its pointer into m->params) */
        break;
    case SITE_CLASS:
        call = xsprintf("nnrt_decode_class(&m->model->classes, %s, m->params + %" PRId64 ", %s, %s, %s, %s, NULL)",
                        H, x->param_off[s->Wc], s->bc >= 0 ? xsprintf("m->params + %" PRId64, x->param_off[s->bc]) : "NULL",
                        W, b, hr);
        break;
    case SITE_HIER:
        call = xsprintf("nnrt_decode_hier(&m->model->tree, %s, %s, %s, %s, m->pred_scratch, NULL)", H, W, b, hr);
        break;
    case SITE_BINARY:
        call = xsprintf("nnrt_decode_binary(&bc_, %d, %s, %s, %s, %s, NULL)", (int)s->n, H, W, b, hr);
        break;
    case SITE_EMBED:
    default:
        call = xsprintf("nnrt_decode_embed(%" PRId64 ", %s, %s, %s, NULL)", x->g->params[s->W].shape.d[0].c, H,
                        W, hr);
        break;
    }
    cline(x, "if (m->pred) { /* %s_ctx_predict: the most likely words here (predict.c) */", x->g->model);
    x->indent++;
    cline(x, "const int64_t rows_ = %s;", rows);
    if (s->kind == SITE_BINARY) {
        cline(x, "nnrt_bincode bc_;");
        cline(x, "(void)nnrt_bincode_init(&bc_, %" PRId64 ", %" PRId64 ");", s->V, s->hybrid);
    }
    cline(x, "for (int64_t r_ = 0; r_ < rows_ && m->npred + r_ < m->pred_cap; r_++)");
    cline(x, "    m->pred[m->npred + r_] = %s;", call);
    if (s->words) { /* (site_repeats) */
        cline(x, "const int64_t words_ = %s, inner_ = %s;", s->words, s->inner);
        cline(x, "/* the positions: each row's word inner_ times in a row, the rows as a block repeated; from");
        cline(x, " * the last, position k_'s row (k_ / inner_) %% rows_ <= k_ is read before it is written */");
        cline(x, "for (int64_t k_ = (words_ < m->pred_cap - m->npred ? words_ : m->pred_cap - m->npred) - 1; k_ >= 0; k_--)");
        cline(x, "    m->pred[m->npred + k_] = m->pred[m->npred + k_ / inner_ %% rows_];");
    }
    cline(x, "m->npred += %s;", s->words ? "words_" : "rows_");
    x->indent--;
    cline(x, "}");
}

static void emit_node_decoding(Ctx *x, Node *n)
{
    Predict *pr = x->pred;
    pr->inner->emit_node(x, n);
    if (n == pr->s.reader) {
        emit_decode(x);
        pr->emitted = true;
    }
}

/* Around NAME_ctx_forward's nodes: the target's emit_node, and the decoding
 * after the reader. */
void predict_wrap(Ctx *x, bool on)
{
    Predict *pr = x->pred;
    if (!pr->ok)
        return;
    if (on) {
        pr->inner = x->target;
        pr->wrapped = *x->target;
        pr->wrapped.emit_node = emit_node_decoding;
        x->target = &pr->wrapped;
    } else {
        x->target = pr->inner;
    }
}

/* ================================================================ the API */

void predict_struct_fields(Ctx *x)
{
    Predict *pr = x->pred;
    if (pr->nroots)
        craw(x, "    int32_t *pred; int64_t npred, pred_cap; double *pred_scratch; /* %s_ctx_predict */\n",
             x->g->model);
}

void predict_decls(Ctx *x)
{
    Predict *pr = x->pred;
    const char *M = x->g->model;
    if (!pr->nroots)
        return;
    hline(x, "/* prediction (docs/API.md): the most likely word of each predicted position, in words[0..cap);\n"
             " * *n (may be NULL) gets the number of positions */\n");
    hline(x, "int %s_predict(%s *m, const %s_inputs *in, int32_t *words, int64_t cap, int64_t *n);\n", M, M, M);
    hline(x, "int %s_ctx_predict(%s_ctx *ctx, const %s_inputs *in, int32_t *words, int64_t cap, int64_t *n);\n", M, M,
          M);
}

void predict_api(Ctx *x)
{
    Predict *pr = x->pred;
    const char *M = x->g->model;
    if (!pr->nroots)
        return;
    craw(x, "int %s_ctx_predict(%s_ctx *m, const %s_inputs *in, int32_t *words, int64_t cap, int64_t *n)\n{\n", M, M, M);
    x->indent = 1;
    cline(x, "if (n)");
    cline(x, "    *n = 0;");
    cline(x, "if (!m || !in || (!words && cap > 0) || cap < 0)");
    cline(x, "    return nnrt_error(NNRT_ERR_ARG, \"%s_ctx_predict: NULL argument or cap < 0\");", M);
    if (!pr->ok || !pr->emitted) {
        cline(x, "(void)words;");
        cline(x, "return nnrt_error(NNRT_ERR_ARG, \"%s_ctx_predict: %s\");", M,
              c_escape(pr->why ? pr->why : "the decoding point runs in a parallel task", true));
        x->indent = 0;
        craw(x, "}\n/* end function %s_ctx_predict */\n\n", M);
    } else {
        const Site *s = &pr->s;
        if (s->kind == SITE_HIER) {
            cline(x, "m->pred_scratch = (double *)malloc(sizeof(double) * 2 * (size_t)(m->model->tree.V > 1 ? m->model->tree.V : 1));");
            cline(x, "if (!m->pred_scratch)");
            cline(x, "    return nnrt_error(NNRT_ERR_NOMEM, \"%s_ctx_predict: out of memory\");", M);
        }
        cline(x, "%s_outputs out;", M);
        cline(x, "m->pred = words ? words : (int32_t *)(void *)&m->npred; /* cap 0: count only */");
        cline(x, "m->pred_cap = cap;");
        cline(x, "m->npred = 0;");
        cline(x, "int rc = %s_ctx_forward(m, in, &out);", M);
        cline(x, "int64_t got = m->npred;");
        cline(x, "m->pred = NULL;");
        cline(x, "free(m->pred_scratch);");
        cline(x, "m->pred_scratch = NULL;");
        cline(x, "if (rc != NNRT_OK)");
        cline(x, "    return rc;");
        cline(x, "if (n)");
        cline(x, "    *n = got;");
        cline(x, "if (got > cap)");
        cline(x, "    return nnrt_error(NNRT_ERR_RANGE, \"%s_ctx_predict: %%lld positions, room for %%lld\", (long long)got, (long long)cap);",
              M);
        cline(x, "for (int64_t i = 0; i < got; i++)");
        cline(x, "    if (words[i] < 0)");
        cline(x, "        return nnrt_error(NNRT_ERR_ARG, \"%s_ctx_predict: position %%lld could not be decoded\", (long long)i);",
              M);
        end_function_ok(x, "ctx_predict");
    }
    craw(x, "int %s_predict(%s *m, const %s_inputs *in, int32_t *words, int64_t cap, int64_t *n)\n{\n", M, M, M);
    craw(x, "    if (!m)\n        return nnrt_error(NNRT_ERR_ARG, \"%s_predict: NULL model\");\n", M);
    craw(x, "    return %s_ctx_predict(m->ctx, in, words, cap, n);\n}\n/* end function %s_predict */\n\n", M, M);
}

/* NAME_predict_any: the descriptor's calling convention (dyn[], inputs[]
 * through NAME_unpack), for `nngc run --predict`, which finds it by
 * name (the descriptor itself stays as it is). After NAME_unpack. */
void predict_generic(Ctx *x)
{
    Predict *pr = x->pred;
    const char *M = x->g->model;
    if (!pr->nroots)
        return;
    craw(x, "/* %s_predict with the descriptor's arguments (nngc run --predict) */\n", M);
    craw(x, "int %s_predict_any(void *m, const int64_t *dyn, const void *const *inputs, int32_t *words, int64_t cap, "
            "int64_t *n);\n", M);
    craw(x, "int %s_predict_any(void *m, const int64_t *dyn, const void *const *inputs, int32_t *words, int64_t cap, "
            "int64_t *n)\n{\n", M);
    craw(x, "    %s_inputs in;\n    int rc = %s_unpack(&in, dyn, inputs);\n", M, M);
    craw(x, "    return rc != NNRT_OK ? rc : %s_predict((%s *)m, &in, words, cap, n);\n}\n\n", M, M);
}
