/*
 * rows.c - rows of a table read and written in place: the gathered rows of
 * the sampling methods, hier's paths and any other `gather W, ids` whose
 * rows only meet a vector in products (docs/IR.md, "Rows read in place").
 *
 * A skip-gram with negative sampling gathers the [T, k+1, H] rows of the
 * output table, multiplies them with the hidden vectors, multiplies the
 * logits' gradient back into them, stores the [T, k+1, H] outer products
 * and scatters them into the table's gradient: five passes over the rows
 * where word2vec makes one. After this pass none of the rows is copied and
 * no product is stored:
 *
 *   sum_axis(mul(gather(W, ids), expand(h, r-1)), r)   -> rows_dot(W, ids, h)
 *   matvec(gather(W, ids), h)                          -> rows_dot(W, ids, h)
 *       logits[..., j] = W[ids[..., j]] . h[...]  (ids of rank r)
 *   sum_axis(mul(gather(W, ids), expand(g, r)), r-1)   -> rows_wsum(W, ids, g)
 *   matvec(gather(W, ids), g) ta                       -> rows_wsum(W, ids, g)
 *       gh[...] = sum_j g[..., j] W[ids[..., j]]  (the rows' gradient product)
 *   scatter_add(mul(expand(g, r), expand(h, r-1)), ids) -> scatter_add(g, ids, h)
 *   scatter_add(outer(g, h), ids)                      -> scatter_add(g, ids, h)
 *   scatter_add(concat(P1, P2), ids), P1, P2 products  -> scatter_add(concat(g1, g2), ids,
 *                                                                      concat(h1, h2))
 *   scatter_add(concat(P1, P2), concat(i1, i2))        -> scatter_add(g1, i1, h1, g2, i2, h2)
 *   scatter_add(add(P1, P2), ids)                      -> scatter_add(g1, ids, h1, g2, ids, h2)
 *   scatter_add(concat(R1, R2), concat(i1, i2)), R1 and R2 plain rows
 *                                                      -> scatter_add(1, i1, R1, 1, i2, R2)
 *       gW[ids[..., j]] += g[..., j] h[...]: the outer products are added
 *       row by row as they are computed (repeated ids add up, as before).
 *
 * The sums become the new op in place (their users need no rewrite); the
 * gathers and products left without readers go in the dce pass that
 * follows. select then makes the scatter sparse or a loop's scatter_rows
 * as it would the plain one. The rows are read where the gather read them,
 * so a bad id is still a range error at the gather's line.
 *
 * Requires: a verified graph; runs after batch (whose row-wise products it
 * matches) and before dce, fuse and select (whose mul_sum and fused nodes
 * would hide the pattern). C target only: --target=cuda keeps the gathers.
 * Uses Node.mark (use counts); cleared.
 */
#include "nngc.h"

#include <string.h>


/* The gather of a float table of rank 2 by int ids of rank >= 1, or NULL. */
static Node *row_gather(Node *x)
{
    if (x->op != OP_GATHER || x->dtype != DT_F32 || x->in[0]->shape.rank != 2)
        return NULL;
    Node *ids = x->in[1];
    return ids->dtype == DT_I32 && ids->shape.rank >= 1 ? x : NULL;
}

/* x = expand(v, axis): v, or NULL. */
static Node *expanded(Node *x, int axis)
{
    return x->op == OP_EXPAND && x->index == axis ? x->in[0] : NULL;
}

/* expanded(x, axis), or, for x = row(expand(V, axis + 1), i) (a loop's
 * row of a stacked expand that hoist took out of the loop, as the RNN LM's
 * backward loop reads h), row(V, i) built at b. */
static Node *expanded_at(Builder *b, Node *x, int axis)
{
    Node *v = expanded(x, axis);
    if (v || x->op != OP_ROW || x->nin != 2 || x->in[0]->op != OP_EXPAND || x->in[0]->index != axis + 1)
        return v;
    return build_put(b, build_new(OP_ROW, 2, (Node *[]){x->in[0]->in[0], x->in[1]}, x->loc), x->loc);
}

/* n, rewritten in place, typed again: its shape must not change. */
static void retype(Graph *g, Node *n, const Shape *before)
{
    char err[256];
    bool ok = ir_infer(g, n, err, sizeof err);
    NN_ASSERT(ok && shape_eq(before, &n->shape));
}

/* n becomes op(in[0..nin)) in place, typed (its shape does not change). */
static void rewrite(Graph *g, Node *n, Op op, int nin, Node *const *in)
{
    Shape before = n->shape;
    ir_rewrite(n, op, nin, in);
    retype(g, n, &before);
}

/* sum_axis(mul(G, X), axis) with G a row gather: rows_dot or rows_wsum. */
static bool rows_sum(Graph *g, Node *n)
{
    if (n->op != OP_SUMAXIS || n->in[0]->op != OP_MUL || n->in[0]->mark != 1)
        return false;
    Node *m = n->in[0];
    for (int k = 0; k < 2; k++) {
        Node *G = row_gather(m->in[k]), *X = m->in[1 - k];
        if (!G || !shape_eq(&m->shape, &G->shape))
            continue;
        Node *W = G->in[0], *ids = G->in[1], *v;
        int r = ids->shape.rank; /* G is [P..., n, H]: axis r is H, r - 1 is n */
        Shape hs = ids->shape;   /* rows_dot's h: [P..., H] */
        hs.d[r - 1] = G->shape.d[r];
        /* (X of G's rank: an X broadcast from the right, [B, 1] against
         * [T, B, H], scales G's rows, it is no h of theirs) */
        if (n->index == r && (v = expanded(X, r - 1)) != NULL && shape_eq(&v->shape, &hs)) {
            rewrite(g, n, OP_ROWSDOT, 3, (Node *[]){W, ids, v});
        } else if (n->index == r - 1 && (v = expanded(X, r)) != NULL && shape_eq(&v->shape, &ids->shape)) {
            rewrite(g, n, OP_ROWSWSUM, 3, (Node *[]){W, ids, v});
        } else {
            continue;
        }
        n->loc = G->loc; /* its index check is the gather's */
        return true;
    }
    return false;
}

/* matvec(G, x) (ta: G^T x) with G a row gather of one vector of ids. */
static bool rows_matvec(Graph *g, Node *n)
{
    Node *G = n->op == OP_MATVEC && n->nin == 2 ? row_gather(n->in[0]) : NULL;
    if (!G || G->in[1]->shape.rank != 1)
        return false;
    rewrite(g, n, n->ta ? OP_ROWSWSUM : OP_ROWSDOT, 3, (Node *[]){G->in[0], G->in[1], n->in[1]});
    n->loc = G->loc;
    return true;
}

/* Rows R = outer products g[..., j] h[...] of shape [P..., n, H]: *gp = g,
 * *hp = h (built at b for a concat of two such), or false. */
static bool outer_parts(Builder *b, Node *R, Node **gp, Node **hp)
{
    int q = R->shape.rank;
    if (R->op == OP_OUTER && q == 2) {
        *gp = R->in[0], *hp = R->in[1];
        return true;
    }
    if (R->op == OP_MUL && q >= 2)
        for (int k = 0; k < 2; k++) {
            Node *gv = expanded(R->in[k], q - 1), *hv = gv ? expanded_at(b, R->in[1 - k], q - 2) : NULL;
            if (gv && hv) {
                Shape gs = R->shape, hs = R->shape;
                gs.rank--;                    /* [P..., n] */
                hs.d[q - 2] = hs.d[q - 1];    /* [P..., H] */
                hs.rank--;
                if (shape_eq(&gv->shape, &gs) && shape_eq(&hv->shape, &hs)) {
                    *gp = gv, *hp = hv;
                    return true;
                }
            }
        }
    Node *g1, *h1, *g2, *h2;
    if (R->op != OP_CONCAT || R->index != 0 || !outer_parts(b, R->in[0], &g1, &h1) ||
        !outer_parts(b, R->in[1], &g2, &h2))
        return false;
    if (q == 2 && h1 != h2)
        return false; /* rows of two vectors h along one axis n: no single h */
    Node *c = build_new(OP_CONCAT, 2, (Node *[]){g1, g2}, R->loc);
    c->index = 0;
    *gp = build_put(b, c, R->loc);
    if (q == 2) {
        *hp = h1;
    } else {
        c = build_new(OP_CONCAT, 2, (Node *[]){h1, h2}, R->loc);
        c->index = 0;
        *hp = build_put(b, c, R->loc);
    }
    return *gp && *hp;
}

static int pos_of(const Block *b, const Node *n)
{
    for (int i = 0; i < b->n; i++)
        if (b->nodes[i] == n)
            return i;
    NN_ASSERT(!"node not in its block");
    return -1;
}

enum { MAXSEG = 64 };

/* The segments (g, ids, h) of scatter_add(R, ids) into in[*nin..]: where
 * R and ids are concats along axis 0 split alike (batch's join of the
 * contexts' scatters: concat(concat(R1, R2), R3) with the ids likewise),
 * one segment per part, so that no rows, scales nor ids are copied into a
 * concat; where R is a sum of same-shaped terms (autodiff's sum of the
 * products of rows that several losses read: word2vec's skip-gram, whose
 * contexts share the centre's path), one segment per term, all with ids;
 * else one segment of outer_parts. */
static bool scatter_segs(Builder *b, Node *R, Node *ids, Node **in, int *nin, bool part)
{
    if (R->op == OP_CONCAT && ids->op == OP_CONCAT && R->index == 0 && ids->index == 0 &&
        size_eq(R->in[0]->shape.d[0], ids->in[0]->shape.d[0]))
        return scatter_segs(b, R->in[0], ids->in[0], in, nin, true) &&
               scatter_segs(b, R->in[1], ids->in[1], in, nin, true);
    if (R->op == OP_ADD && shape_eq(&R->in[0]->shape, &R->shape) && shape_eq(&R->in[1]->shape, &R->shape))
        return scatter_segs(b, R->in[0], ids, in, nin, false) && scatter_segs(b, R->in[1], ids, in, nin, false);
    if (*nin + 3 > 3 * MAXSEG || ids->dtype != DT_I32 || ids->shape.rank < 1)
        return false;
    Node *gv, *hv;
    if (outer_parts(b, R, &gv, &hv) && shape_eq(&gv->shape, &ids->shape)) {
        in[(*nin)++] = gv, in[(*nin)++] = ids, in[(*nin)++] = hv;
        return true;
    }
    /* a part of plain rows R [P..., n, H] (word2vec's skip-gram: the
     * gradients of the contexts' lookups): the segment (1, ids, R), each
     * row its own h; a lone one stays a scatter of rows */
    Shape lead = R->shape;
    lead.rank--;
    if (!part || R->dtype != DT_F32 || R->shape.rank != ids->shape.rank + 1 || !shape_eq(&lead, &ids->shape))
        return false;
    Node *one = NULL; /* the ones of an earlier segment of this shape */
    for (int k = 0; k < *nin && !one; k += 3)
        if (in[k]->op == OP_FILL && in[k]->f == 1.0 && shape_eq(&in[k]->shape, &ids->shape))
            one = in[k];
    in[(*nin)++] = one ? one : build_leaf(b, ir_fill(&ids->shape, 1.0, R->loc), true);
    in[(*nin)++] = ids, in[(*nin)++] = R;
    return true;
}

/* A block's node list, to put back what a failed match built in it. */
typedef struct Saved {
    Block *b;
    int n;
    Node **nodes;
} Saved;

static Saved block_save(Block *b)
{
    Saved s = {.b = b, .n = b->n, .nodes = xalloc(sizeof(Node *) * (size_t)(b->n + 1))};
    memcpy(s.nodes, b->nodes, sizeof(Node *) * (size_t)b->n);
    return s;
}

static void block_restore(Saved *s)
{
    NN_ASSERT(s->b->n >= s->n); /* nodes were only inserted */
    memcpy(s->b->nodes, s->nodes, sizeof(Node *) * (size_t)s->n);
    s->b->n = s->n;
}

/* scatter_add(R, ids) of outer products R into a [V, H] table. The match
 * builds as it goes (the ones of a part of plain rows at the top block's
 * head, concats and rows before n) and can fail after that (a part of
 * plain rows, then a sum of them: their terms are no part); then the
 * blocks are put back as they were: a failed match leaves no node behind
 * (left, they moved n on, and rows_block met it again, for ever). */
static bool rows_scatter(Graph *g, Node *n)
{
    if (n->op != OP_SCATTERADD || n->nin != 2 || n->shape.rank != 2)
        return false;
    Node *in[3 * MAXSEG];
    int nin = 0;
    Saved top = block_save(&g->top), here = block_save(n->parent);
    Builder b = build_at(g, n->parent, pos_of(n->parent, n), BUILD_ASSERT, "rows");
    bool ok = scatter_segs(&b, n->in[0], n->in[1], in, &nin, false);
    if (ok)
        rewrite(g, n, OP_SCATTERADD, nin, in);
    else
        block_restore(&here), block_restore(&top); /* (the same block twice: the same list) */
    return ok;
}

/* ---------------------------------------------------------------- segments
 *
 * The batched contexts of a skip-gram share one [T, c (k+1)] row of
 * logits; each context's neg_loss_grad writes a full [T, c (k+1)] row,
 * zero but for its k+1 entries, and the adds sum c such rows:
 *
 *   add(add(neg_loss_grad(z, ids, d1) at=o len=L, ...), neg_loss_grad(z, ids, dm) at=o' len=L)
 *       -> neg_loss_grad(z, ids, d1, ..., dm) at=o len=L
 *
 * when the segments tile [o, o + m L) (in any order of the adds) and
 * every add and gradient has this one reader: each entry is its own
 * segment's value (x + 0 == x; a -0 comes out as -0 instead of +0). */

typedef struct Segs {
    Node *z, *ids; /* of every gradient */
    int64_t len;
    int n, at[MAXSEG]; /* segment k: at[k] .. at[k] + len, gradient d[k] */
    Node *d[MAXSEG];
    int nadd; /* adds walked: more than MAXSEG means more leaves than segments */
    Loc loc;
} Segs;

/* The segments of the neg_loss_grad leaves of the add tree at x (each
 * node read once; a leaf merged already brings its several), of one z,
 * ids and len; false if x is anything else. A tree of more than MAXSEG
 * adds is given up at once: the chain of a gradient summed over 100k
 * statements would be walked (recursively) from each of its adds. */
static bool seg_leaves(Node *x, Segs *S)
{
    if (x->mark != 1)
        return false;
    if (x->op == OP_ADD)
        return ++S->nadd <= MAXSEG && shape_eq(&x->shape, &x->in[0]->shape) && shape_eq(&x->shape, &x->in[1]->shape) &&
               seg_leaves(x->in[0], S) && seg_leaves(x->in[1], S);
    if (x->op != OP_NEGLOSSGRAD || S->n + x->nin - 2 > MAXSEG)
        return false;
    if (S->n == 0)
        S->z = x->in[0], S->ids = x->in[1], S->len = x->i, S->loc = x->loc;
    else if (x->in[0] != S->z || x->in[1] != S->ids || x->i != S->len)
        return false;
    for (int j = 2; j < x->nin; j++) {
        S->at[S->n] = x->index + (j - 2) * (int)x->i;
        S->d[S->n++] = x->in[j];
    }
    return true;
}

static bool neg_segments(Graph *g, Node *n)
{
    Segs S = {.n = 0};
    Node *in[MAXSEG + 2];
    if (n->op != OP_ADD || !seg_leaves(n->in[0], &S) || !seg_leaves(n->in[1], &S) || !shape_eq(&n->shape, &S.z->shape))
        return false;
    int o = S.at[0];
    for (int k = 1; k < S.n; k++)
        o = S.at[k] < o ? S.at[k] : o;
    in[0] = S.z, in[1] = S.ids;
    for (int s = 0; s < S.n; s++) { /* segment s is o + s len: exactly one of them */
        int found = -1;
        for (int k = 0; k < S.n; k++)
            if (S.at[k] == o + s * S.len)
                found = found < 0 ? k : S.n;
        if (found < 0 || found == S.n)
            return false;
        in[2 + s] = S.d[found];
    }
    Shape before = n->shape;
    ir_rewrite(n, OP_NEGLOSSGRAD, S.n + 2, in);
    n->index = o, n->i = S.len;
    n->loc = S.loc;
    retype(g, n, &before); /* (after index and i: ir_rewrite resets them) */
    return true;
}

/* Each node of b once: a rewrite that built nodes before n (or a leaf at
 * the top block's head, before the loop holding n) moved n on, and the
 * walk goes on after it. */
static void rows_block(Graph *g, Block *b)
{
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        int len = b->n;
        if (n->op == OP_LOOP)
            rows_block(g, &n->loop->body);
        else if (!rows_sum(g, n) && !rows_matvec(g, n) && !neg_segments(g, n))
            rows_scatter(g, n);
        if (b->n != len)
            i = pos_of(b, n);
    }
}

/* The train graph's top-level scatters that are a param's whole gradient
 * and that nothing reads (use count 1: the gradient), moved to the end of
 * the top block in their order: where the graph ends with them,
 * NAME_train_step applies SGD in them (c_gather.c, fused_from). Word2vec's
 * skip-gram left the concat of Ww's rows after Wc's scatter. */
static void sink_grad_scatters(Graph *g)
{
    Block *top = &g->top;
    if (!g->grads || top->n == 0)
        return;
    ir_count_uses(g);
    Node **tail = xalloc(sizeof *tail * (size_t)top->n);
    int k = 0, nt = 0;
    for (int i = 0; i < top->n; i++) {
        Node *n = top->nodes[i];
        bool grad = false;
        if (n->op == OP_SCATTERADD && n->mark == 1) /* read by nothing but the gradient list */
            for (int j = 0; j < g->nparams; j++)
                grad |= g->grads[j] == n;
        if (grad)
            tail[nt++] = n;
        else
            top->nodes[k++] = n;
    }
    for (int i = 0; i < nt; i++)
        top->nodes[k++] = tail[i];
}

void pass_rows(PassCtx *pc)
{
    if (pc->target) /* the CUDA target keeps its gathers and products */
        return;
    ir_count_uses(pc->g);
    rows_block(pc->g, &pc->g->top);
    sink_grad_scatters(pc->g);
    ir_clear_marks(&pc->g->top);
}
