/*
 * vectorize.c - the program over one example becomes a program over B
 * examples (nngc --batch=B): DyNet's autobatching, done once at compile
 * time on the whole program instead of on every step's graph.
 *
 * Runs on the forward graph F right after lowering, before F is cloned into
 * the train graph T, so autodiff differentiates the batched program.
 *
 *   - every input gets a leading batch axis: [B, ...] (a scalar input [B]);
 *   - params, constants and whatever depends only on them stay as they are
 *     (computed once per batch, not B times);
 *   - every node with a batched operand gets the batch axis by its op's
 *     batching rule (below): W @ x becomes one GEMM X W^T, E[id] a gather
 *     E[ids], elementwise ops broadcast, reductions skip axis 0;
 *   - outputs are [B, ...]; the loss is the sum of the examples' losses
 *     (--batch-mean: their mean), a term that depends only on params counted
 *     once per example, as B one-example calls would count it.
 *
 *   - along the dynamic dims of a sequence read whole, sums and means are
 *     weighted by a padding mask, softmaxes (and cross_entropy whose
 *     classes are the positions, its label checked) see -1e30 at the
 *     padding, and a per-example matrix's products (x @ q, transpose(x)
 *     @ a) are products summed along an axis (attention over a sentence),
 *     its products with another matrix batch_matmuls (self-attention);
 *   - each dynamic dim's value T is each example's own (T_len[b]; one
 *     lengths input per dynamic dim, a size k T + j S + c at T_len[b],
 *     S_len[b]: size_at_len), and a row
 *     of a time-major value at a per-example index (xs[T - 1 - t]) is one
 *     gather of its [T B, ...] rows, a row of a batch-major one (read
 *     whole somewhere) at any index one gather of its [B T, ...] rows
 *     (row_per_example);
 *   - a loop nested in a loop to the longest example reads its masks (a
 *     loop to the longest example their product: batch_loop);
 *   - a loop whose start depends on a dynamic dim (for t in T - 1..T)
 *     runs its steps from each example's own start (shift_start: a fixed
 *     number, or one that grows with the dim, for t in T..2 T, to the
 *     longest example's, masked); its stack, joined by lower to the zero
 *     rows before the start, is a concat along the dynamic dim of the
 *     stack's batch-major view (batch_concat_dyn: each example's zeros,
 *     then its steps, then padding); a stack read whole by a loop (a
 *     carry, a sum) is its batch-major view (loop_whole);
 *   - a cross entropy's label the same for every example is each
 *     example's (same_int); p[y] of a per-example (log-)softmax is the
 *     IR's pick of each example's entry (pick_per_example), which a
 *     softmax method lowers as the one-example program's row.
 *
 * Preconditions: the lowered graph (no fused nodes, no gradient ops). Not
 * batched yet (an error naming the op): an op along a dynamic axis
 * without a padding mask (more than NN_MAXSEQ sizes: it would read the
 * padding), a cross entropy whose labels (a vector) are the same for
 * every example, a loop whose start depends on a dynamic dim and whose
 * end does not grow with it, an input or output of NN_TENSOR_MAXRANK
 * axes per example. With a report sink (--report=batch), one line per
 * node of the program: batched or not, and why.
 */
#include "../nngc.h"

#include <string.h>

#define NN_MAXSEQ 8 /* distinct sizes of sequences read whole */
#define NN_MAXBM 64 /* stacks read whole */

typedef struct Vec {
    Graph *g;
    Diag *diag;
    FILE *report;
    int64_t B;
    Builder b; /* inserts before the node being batched */
    bool failed;
    Node *len[NN_MAXDYN]; /* the lengths input (i32 [B]) of each dynamic dim (T_len, S_len ...) */
    Node *mask;  /* in a loop to the longest example: f32 [B], 1 where the step is the example's */
    Node *imask; /* the same, i32 */
    Loop *loop;  /* the loop to the longest example being batched, or NULL */
    /* the padding masks of the sequences read whole, one per size (seq_masks) */
    struct SeqMask {
        Size s;
        Node *f, *i; /* f32, i32 [B, s] */
    } seq[NN_MAXSEQ];
    int nseq;
    bool seq_done; /* seq_masks has run (at the top block's first non-leaf) */
    Node *anchor;  /* that node: the padding masks go before it (make_seq_mask) */
    struct BatchMajor {
        Node *tm, *bm; /* a stack read whole [S, B, ...], its view [B, S, ...] (batch_major) */
    } bm[NN_MAXBM];
    int nbm;
} Vec;

/* n->mark: 1 when n has the batch axis as axis 0; 2 for a time-major
 * input (the batch axis second: [T + 1, B, ...]), only read by rows. */
static bool batched(const Node *n) { return n && n->mark == 1; }

static void refuse(Vec *v, Node *n, const char *why) {
    diag_error(v->diag, n->loc, "--batch: cannot batch '%s' %s", op_name[n->op], why);
    v->failed = true;
}

/* Whether a per-example value of shape s has room for the batch axis;
 * else n refused: a tensor has at most NN_MAXRANK axes (the runtime's
 * tensors, NNRT_MAXRANK). */
static bool room_for_batch(Vec *v, Node *n, const Shape *s) {
    if (s->rank < NN_MAXRANK)
        return true;
    char why[160];
    snprintf(why, sizeof why, "of a value with %d axes per example (batched: %d; a tensor has at most %d)", s->rank,
             s->rank + 1, NN_MAXRANK);
    refuse(v, n, why);
    return false;
}

static void retype(Vec *v, Node *n) {
    char err[256];
    if (!ir_infer(v->g, n, err, sizeof err)) {
        fprintf(stderr, "nngc: internal error: vectorize: %s\n", err);
        NN_ASSERT(!"vectorize produced an ill-typed node");
    }
    n->mark = 1;
}

/* A node with a preset shape (expand, broadcast) before the current node. */
static Node *preset(Vec *v, Op op, Node *x, const Shape *s, int index, Loc loc) {
    Node *n = build_new(op, 1, (Node *[]){x}, loc);
    n->shape = *s;
    n->index = index;
    n = build_put(&v->b, n, loc);
    n->mark = 1;
    return n;
}

/* x (batched, per-example rank r0) with size-1 axes after the batch axis up
 * to per-example rank r, so that it broadcasts as the example did. */
static Node *lift_rank(Vec *v, Node *x, int r, Loc loc) {
    while (x->shape.rank - 1 < r) {
        Shape s = x->shape;
        for (int k = s.rank; k > 1; k--)
            s.d[k] = s.d[k - 1];
        s.d[1] = size_const(1);
        s.rank++;
        x = preset(v, OP_EXPAND, x, &s, 1, loc);
    }
    return x;
}

/* An unbatched float x broadcast to [B, x.shape...]. */
static Node *to_batch(Vec *v, Node *x, Loc loc) {
    if (batched(x))
        return x;
    Shape s = {.rank = x->shape.rank + 1, .d = {size_const(v->B)}};
    for (int k = 0; k < x->shape.rank; k++)
        s.d[k + 1] = x->shape.d[k];
    return preset(v, OP_BROADCAST, x, &s, 0, loc);
}

/* Turns n into x summed (or averaged) over every axis but the batch axis
 * (n keeps its identity: its users and name stay). x has rank >= 2. */
static void become_reduce(Vec *v, Node *n, Node *x, Op op) {
    while (x->shape.rank > 2) {
        Node *r = build_new(op, 1, (Node *[]){x}, n->loc);
        r->index = x->shape.rank - 1;
        x = build_put(&v->b, r, n->loc);
    }
    n->op = op;
    n->nin = 1;
    n->in[0] = x;
    n->index = 1;
    retype(v, n);
}

static void batch_elemwise(Vec *v, Node *n) {
    int r = n->shape.rank; /* per example */
    for (int k = 0; k < n->nin; k++)
        if (batched(n->in[k]))
            n->in[k] = lift_rank(v, n->in[k], r, n->loc);
    retype(v, n);
}

/* binary_cross_entropy(z, t) = sum(relu(z) - z t + log(1 + exp(-|z|))), the
 * sum per example: the same definition as the runtime's (LANGUAGE.md).
 * relu(z) is written (z + |z|) / 2, the same value: autodiff takes relu' and
 * |z|' to be 0 at z = 0, which left the gradient there -t instead of
 * s(0) - t = 0.5 - t; with (z + |z|) / 2 the two kinks' halves add up to it. */
static Node *bxent_terms(Vec *v, Node *n) {
    Node *z = to_batch(v, n->in[0], n->loc), *t = to_batch(v, n->in[1], n->loc);
    Builder *b = &v->b;
    Loc l = n->loc;
    Node *one = build_leaf(b, ir_const(1.0, l), true), *half = build_leaf(b, ir_const(0.5, l), true);
    Node *az = build_op1(b, OP_ABS, z, l);
    Node *sp = build_op2(b, OP_ADD, one, build_op1(b, OP_EXP, build_op1(b, OP_NEG, az, l), l), l);
    Node *relu = build_op2(b, OP_MUL, half, build_op2(b, OP_ADD, z, az, l), l);
    return build_op2(b, OP_ADD, build_op2(b, OP_SUB, relu, build_op2(b, OP_MUL, z, t, l), l),
                     build_op1(b, OP_LOG, sp, l), l);
}

/* Whether axis k of a batched value is the dynamic dim: a sequence read
 * whole, [B, T, ...], padded past each example's length. */
static bool dynamic_axis(const Node *x, int k) {
    return batched(x) && k >= 1 && k < x->shape.rank && !size_is_const(x->shape.d[k]);
}

/* Whether n, an op with a batching rule, would mix the padding of a
 * sequence read whole into an example's values (sum(xs), mean(xs, 0), a
 * softmax over the dynamic axis): the padding is never to be used.
 * Elementwise ops leave it in its own positions; the ops along the last
 * axis (softmax, cross_entropy, W @ x) and a sum over one axis read it
 * only where that axis is the dynamic one; the full reductions always. */
static bool reads_padding(const Node *n) {
    if (op_flags[n->op] & (OPF_ELEMWISE | OPF_INT))
        return false;
    for (int k = 0; k < n->nin; k++) {
        const Node *x = n->in[k];
        switch (n->op) {
        case OP_SOFTMAX:
        case OP_LOGSOFTMAX:
        case OP_LOGSUMEXP:
        case OP_XENT:
        case OP_PICK:
        case OP_MATVEC:
            if (n->op == OP_MATVEC && batched(n->in[0])) /* batch_matvec_rows masks its own sum */
                return false;
            if ((n->op == OP_XENT || n->op == OP_PICK) && k == 1) /* a label per position (0 past the end) */
                break;
            if (dynamic_axis(x, x->shape.rank - 1))
                return true;
            break;
        case OP_SUMAXIS:
        case OP_MEANAXIS:
            if (dynamic_axis(x, n->index + 1))
                return true;
            break;
        case OP_SUM:
        case OP_MEAN:
        case OP_DOT:
        case OP_BXENT:
            for (int a = 1; a < x->shape.rank; a++)
                if (dynamic_axis(x, a))
                    return true;
            break;
        default: /* no batching rule: refused as such */
            break;
        }
    }
    return false;
}

/* ------------------------------------------------------- mask tables */

/* n, put by this pass, already batched: batch_block does not visit it again. */
static Node *mark1(Node *n) {
    n->mark = 1;
    return n;
}

static Node *range_leaf(Builder *b, Size n, Loc loc);

/* i32 [n] zeros: a range times zero, the int 0 (there is no int fill). */
static Node *int_zeros(Builder *b, Size n, Node *zero, Loc loc) {
    return mark1(build_op2(b, OP_IMUL, range_leaf(b, n, loc), zero, loc));
}

/* The table [0 ... 0 1 ... 1] (zeros, then ones) as f32, and as i32 into
 * *itab when asked (int_zeros, plus 1 for the ones). A mask
 * gathers it at an index that reaches the ones where a step or a position
 * is the example's. Built through b (its leaves at the top block's head). */
static Node *zero_one_table(Builder *b, Size zeros, Size ones, Node **itab, Loc loc) {
    Shape sz = {.rank = 1, .d = {zeros}}, so = {.rank = 1, .d = {ones}};
    Node *ftab = mark1(build_op2(b, OP_CONCAT, build_leaf(b, ir_fill(&sz, 0.0, loc), true),
                                 build_leaf(b, ir_fill(&so, 1.0, loc), true), loc));
    if (itab) {
        Node *izero = build_leaf(b, ir_iconst(0, loc), true);
        Node *iz = int_zeros(b, zeros, izero, loc);
        Node *io = mark1(build_op2(b, OP_IADD, int_zeros(b, ones, izero, loc), build_leaf(b, ir_iconst(1, loc), true),
                                   loc));
        *itab = mark1(build_op2(b, OP_CONCAT, iz, io, loc));
    }
    return ftab;
}

/* i32 [B]: the int scalar x (the same for every example) for each example. */
static Node *same_int(Vec *v, Node *x, Loc loc) {
    Node *zero = build_leaf(&v->b, ir_iconst(0, loc), true);
    return mark1(build_op2(&v->b, OP_IADD, int_zeros(&v->b, size_const(v->B), zero, loc), x, loc));
}

/* Whether a size grows with the dynamic dims: k T + c (or k T + j S + c)
 * with no k below 0 and one at least 1. */
static bool grows(Size s) {
    bool any = false;
    for (int j = 0; j < NN_MAXDYN; j++) {
        if (s.k[j] < 0)
            return false;
        any |= s.k[j] >= 1;
    }
    return any;
}

static Node *mask_at(Builder *b, Node *m, int k, int r, Loc loc);

/* s(len): the size s = c + k T + ... (a dynamic dim's coefficients) at each
 * example's lengths: i32 [B], or a column [B, 1] (col: the lengths seen as
 * one, mask_at). */
static Node *size_at_len(Vec *v, Builder *b, Size s, bool col, Loc loc) {
    Node *sum = NULL;
    for (int j = 0; j < NN_MAXDYN; j++) {
        if (s.k[j] == 0)
            continue;
        Node *len = v->len[j];
        NN_ASSERT(len);
        if (col)
            len = mask_at(b, len, 0, 2, loc);
        if (s.k[j] != 1)
            len = mark1(build_op2(b, OP_IMUL, len, build_leaf(b, ir_iconst(s.k[j], loc), true), loc));
        sum = sum ? mark1(build_op2(b, OP_IADD, sum, len, loc)) : len;
    }
    NN_ASSERT(sum);
    if (s.c != 0)
        sum = mark1(build_op2(b, OP_IADD, sum, build_leaf(b, ir_iconst(s.c, loc), true), loc));
    return sum;
}

/* ------------------------------------------- sequences read whole, masked */

/* x with size-1 axes appended up to rank r (a [B, s] mask against a
 * [B, s, ...] value), built through b. */
static Node *expand_tail(Builder *b, Node *x, int r, Loc loc) {
    while (x->shape.rank < r) {
        Shape e = x->shape;
        e.d[e.rank++] = size_const(1);
        Node *n = build_new(OP_EXPAND, 1, (Node *[]){x}, loc);
        n->shape = e;
        n->index = e.rank - 1;
        x = build_put(b, n, loc);
        x->mark = 1;
    }
    return x;
}

static struct SeqMask *seq_mask(Vec *v, Size s) {
    for (int i = 0; i < v->nseq; i++)
        if (size_eq(v->seq[i].s, s))
            return &v->seq[i];
    return NULL;
}

/* Where the table [0 ... 0 1 ... 1] of s zeros reads 1 exactly when
 * position r < l: at l - r + s - 1 (r the positions [s], l a column [B, 1]
 * or a scalar). */
static Node *below_index(Builder *b, Node *r, Node *l, Size s, Loc loc) {
    Node *idx = mark1(build_op2(b, OP_ISUB, l, r, loc));
    return mark1(build_op2(b, OP_IADD, idx, build_leaf(b, ir_size_node(size_sub(s, size_const(1)), loc), true), loc));
}

/* The padding masks of a sequence axis of size s = k T + c read whole
 * (batch-major: [B, s, ...]): f32 and i32 [B, s], 1 where position p is
 * example b's, p < s(len[b]). Read from the tables [0 ... 0 1 ... 1] (s(T)
 * of each) at s(len[b]) - p + s(T) - 1: the positions as a row [s] against
 * the examples' s(len) as a column [B, 1]; the tables' index check
 * rejects a length outside 0..T. Built once per call, before the top
 * block's first node that is not a leaf (v->anchor), whoever asks first:
 * so before every user, wherever a later one is (a stack's view goes
 * right after the stack, earlier than the node that asked). b, the
 * caller's builder, and v->b go on past what went before them. */
static void make_seq_mask(Vec *v, Builder *b, Size s, Loc loc) {
    if (seq_mask(v, s) || v->nseq == NN_MAXSEQ || !grows(s))
        return;
    Block *top = &v->g->top;
    int at = 0, n0 = top->n;
    while (top->nodes[at] != v->anchor)
        at++;
    Builder mb = build_at(v->g, top, at, BUILD_ASSERT, "vectorize");
    Node *itab, *ftab = zero_one_table(&mb, s, s, &itab, loc);
    Node *idx = below_index(&mb, range_leaf(&mb, s, loc), size_at_len(v, &mb, s, true, loc), s, loc);
    struct SeqMask *m = &v->seq[v->nseq++];
    m->s = s;
    m->f = mark1(build_op2(&mb, OP_GATHER, ftab, idx, loc));
    m->i = mark1(build_op2(&mb, OP_GATHER, itab, idx, loc));
    m->f->name = "pad_mask";
    int added = top->n - n0; /* (all of them at or before the anchor) */
    if (b->block == top && b->pos >= at)
        b->pos += added;
    if (&v->b != b && v->b.block == top && v->b.pos >= at)
        v->b.pos += added;
}

/* A mask m (f32 or i32) against a batched value of rank r: m [B, s] seen
 * as [B, 1, ..., s, 1, ...], s at axis k (a padding mask against that
 * axis), m [B] as [B, 1, ..., 1] (a step's mask against a row). A
 * reshape: the same elements in the same order. */
static Node *mask_at(Builder *b, Node *m, int k, int r, Loc loc) {
    if (m->shape.rank == r)
        return m;
    Node *n = build_new(OP_RESHAPE, 1, (Node *[]){m}, loc);
    n->shape = (Shape){.rank = r};
    for (int j = 0; j < r; j++)
        n->shape.d[j] = j == 0 ? m->shape.d[0] : j == k && m->shape.rank == 2 ? m->shape.d[1] : size_const(1);
    return mark1(build_put(b, n, loc));
}

/* Before the top block's first non-leaf node (at pos): each input read
 * whole with a dynamic dim ([B, s, ...], [B, D, s]) is read as 0 past an
 * example's end along it, never as its padding: an id there would fail
 * its range check, a float overflow in an exp; a reduction over the
 * axis (masked_reduce) then leaves those positions out. */
static void seq_prepare(Vec *v, int pos) {
    Graph *g = v->g;
    v->anchor = g->top.nodes[pos];
    Builder b = build_at(g, &g->top, pos, BUILD_ASSERT, "vectorize");
    for (int i = 0; i < g->top.n; i++) { /* (the leaves put at the head move an input on: seen again, with its aux) */
        Node *n = g->top.nodes[i];
        if (n->op != OP_INPUT || n->aux || n->mark != 1 || n->shape.rank < 2)
            continue;
        Node *x = n;
        for (int k = 1; k < n->shape.rank; k++) {
            if (size_is_const(n->shape.d[k]))
                continue;
            make_seq_mask(v, &b, n->shape.d[k], n->loc);
            struct SeqMask *m = seq_mask(v, n->shape.d[k]);
            if (!m)
                continue;
            int at = 0; /* after the input (the top block's leaves are not all at its head) and the masks */
            while (g->top.nodes[at] != x)
                at++;
            Builder after = at < b.pos ? b : build_at(g, &g->top, at + 1, BUILD_ASSERT, "vectorize");
            bool ids = n->dtype == DT_I32;
            x = mark1(build_op2(&after, ids ? OP_IMUL : OP_MUL, x,
                                mask_at(&after, ids ? m->i : m->f, k, n->shape.rank, n->loc), n->loc));
            if (at < b.pos)
                b = after;
        }
        if (x != n)
            n->aux = x;
    }
}

/* n, a sum or mean along dynamic dims of sequences read whole (x: [B, s,
 * ...], [B, D, s], [B, s, s]: inputs are 0 past each example's end,
 * seq_prepare): x times the masks of the axes it sums (sum_axis: its axis;
 * sum, mean, dot and binary_cross_entropy: all of them), a mean divided
 * by the count (the example's own s(len[b]) of each dynamic axis, times
 * the static axes' sizes); dot(a, b) as the sum of a * b masked,
 * binary_cross_entropy as the sum of its terms (bxent_terms) masked.
 * False when n is not one of those, sums no dynamic axis, or an axis has
 * no mask (reads_padding decides then). */
static Node *has_rows(Vec *v, Builder *b, Size s, Loc loc);

static bool masked_reduce(Vec *v, Node *n) {
    Node *x = n->in[0];
    bool axis = n->op == OP_SUMAXIS || n->op == OP_MEANAXIS;
    bool full = n->op == OP_SUM || n->op == OP_MEAN || n->op == OP_DOT || n->op == OP_BXENT;
    bool mean = n->op == OP_MEAN || n->op == OP_MEANAXIS;
    if (!axis && !full)
        return false;
    if ((n->op == OP_DOT || n->op == OP_BXENT) && !batched(x))
        x = n->in[1];
    if (!batched(x))
        return false;
    int lo = axis ? n->index + 1 : 1, hi = axis ? n->index + 2 : x->shape.rank, nmask = 0;
    struct SeqMask *m[NN_MAXRANK];
    int64_t rest = 1; /* the static axes' sizes (a mean's count) */
    for (int k = lo; k < hi; k++) {
        Size s = x->shape.d[k];
        if (size_is_const(s)) {
            rest *= s.c;
            continue;
        }
        if (!(m[k] = seq_mask(v, s)))
            return false;
        nmask++;
    }
    if (nmask == 0)
        return false;
    Loc loc = n->loc;
    Builder *b = &v->b;
    if (n->op == OP_DOT)
        x = mark1(build_op2(b, OP_MUL, to_batch(v, n->in[0], loc), to_batch(v, n->in[1], loc), loc));
    if (n->op == OP_BXENT)
        x = mark1(bxent_terms(v, n));
    Node *cnt = NULL; /* f32 [B]: a mean's count */
    for (int k = lo; mean && k < hi; k++) {
        if (size_is_const(x->shape.d[k]))
            continue;
        Node *c = build_new(OP_SUMAXIS, 1, (Node *[]){m[k]->f}, loc);
        c->index = 1;
        c = mark1(build_put(b, c, loc));
        Size s = x->shape.d[k];
        if (s.c <= 0) /* an example without positions (length 0): its mean is 0 (count 1), not 0 / 0 */
            c = mark1(build_op2(b, OP_SUB, mark1(build_op2(b, OP_ADD, c, build_leaf(b, ir_const(1.0, loc), true), loc)),
                                has_rows(v, b, s, loc), loc));
        cnt = cnt ? mark1(build_op2(b, OP_MUL, cnt, c, loc)) : c;
    }
    if (cnt && rest != 1)
        cnt = mark1(build_op2(b, OP_MUL, cnt, build_leaf(b, ir_const((double)rest, loc), true), loc));
    for (int k = lo; k < hi; k++) {
        if (size_is_const(x->shape.d[k]))
            continue;
        Node *w = m[k]->f;
        if (cnt) { /* the first mask divided by the count */
            w = mark1(build_op2(b, OP_DIV, w, expand_tail(b, cnt, 2, loc), loc));
            cnt = NULL;
        }
        x = mark1(build_op2(b, OP_MUL, x, mask_at(b, w, k, x->shape.rank, loc), loc));
    }
    if (axis) {
        n->op = OP_SUMAXIS;
        n->in[0] = x;
        n->index++;
        retype(v, n);
    } else {
        become_reduce(v, n, x, OP_SUMAXIS);
    }
    return true;
}

static Node *first_row(Vec *v, Node *a, Loc loc);

/* A dim node of size s (a leaf: the batch's own T, not an example's). */
static Node *size_leaf(Builder *b, Size s, Loc loc) { return build_leaf(b, ir_size_node(s, loc), true); }

/* a [d0, d1, ...] (batch-major [B, m, ...] or time-major [S, B, ...]) as
 * its rows [d0 d1, ...]: a reshape, built through b. */
static Node *rows_view(Builder *b, Node *a, Loc loc) {
    Shape vs = a->shape;
    bool affine = size_mul(vs.d[0], vs.d[1], &vs.d[0]);
    NN_ASSERT(affine);
    for (int k = 1; k + 1 < vs.rank; k++)
        vs.d[k] = vs.d[k + 1];
    vs.rank--;
    Node *view = build_new(OP_RESHAPE, 1, (Node *[]){a}, loc);
    view->shape = vs;
    view = build_put(b, view, loc);
    view->mark = 1;
    return view;
}

/* The leaf 0, 1, ... n - 1 (i32 [n]). */
static Node *range_leaf(Builder *b, Size n, Loc loc) {
    Node *r = ir_new_node(OP_RANGE, 0, NULL, loc);
    r->shape = (Shape){.rank = 1, .d = {n}};
    return build_leaf(b, r, true);
}

/* Is a computed in l's body (or a loop nested in it)? */
static bool inside(const Node *a, const Loop *l) {
    for (const Block *b = a->parent; b; b = b->outer)
        if (b == &l->body)
            return true;
    return false;
}

/* A builder before the loop to the longest example being batched (v->loop),
 * else v->b: for what is the same at every step of it, made of a (a value
 * computed in that loop's body, a stack of a nested loop: at v->b). */
static Builder *before_loop(Vec *v, const Node *a, Builder *ob) {
    if (!v->loop || inside(a, v->loop))
        return &v->b;
    Block *outer = v->loop->node->parent;
    int at = 0;
    while (outer->nodes[at] != v->loop->node)
        at++;
    *ob = build_at(v->g, outer, at, BUILD_ASSERT, "vectorize");
    return ob;
}

/* id x (i32, per example or one for all) in a loop to the longest
 * example: 0 past the example's end, where a computed index (T - 1 - t)
 * is out of its range; x itself where it is masked already (an id read
 * from an input) or there is no such loop. */
static Node *masked_id(Vec *v, Node *x, Loc loc) {
    if (!v->imask || (x->op == OP_IMUL && (x->in[0] == v->imask || x->in[1] == v->imask)))
        return x;
    return mark1(build_op2(&v->b, OP_IMUL, x, v->imask, loc));
}

/* Index i (masked_id) checked against each example's own rows of an axis
 * of size s, S(len[b]), as a one-example call checks it against S(T): the
 * range error names i, that bound and the example (check_index). Past the
 * example's end, where i is 0, the bound is S(len[b]) + 1, so that row 0
 * passes even for an example without rows. */
static Node *checked_row(Vec *v, Node *i, Size s, Loc loc) {
    Builder *b = &v->b;
    Node *rows = grows(s) ? size_at_len(v, b, s, false, loc) : size_leaf(b, s, loc);
    if (v->imask) {
        i = masked_id(v, i, loc);
        rows = mark1(build_op2(b, OP_ISUB, rows, v->imask, loc));
        rows = mark1(build_op2(b, OP_IADD, rows, build_leaf(b, ir_iconst(1, loc), true), loc));
    }
    Node *c = build_op2(b, OP_CHECKIDX, i, rows, loc);
    c->mark = c->shape.rank > 0; /* one index per example, or the same for all of them */
    return c;
}

/* xs[i] of a time-major a ([S, B, ...]: an input read by rows, a stack) at
 * a per-example index i (i32 [B]: T - 1 - t, ids[t]): row i[b] B + b of a
 * seen as [S B, ...], one gather; the view put before the loop, once per
 * call. Of a batch-major a ([B, S, ...]: an input read whole somewhere,
 * a per-example matrix) at any index i (t or per example): row b S(T) +
 * i[b] of a seen as [B S, ...]. A step past an example's end reads its
 * row 0 (an id there: 0, as for xs[t]). An i outside the example's own
 * rows is a range error as in a one-example call (checked_row). */
static void row_per_example(Vec *v, Node *n, bool batch_major) {
    Node *a = n->in[0], *i = n->in[1];
    Loc loc = n->loc;
    Builder *b = &v->b;
    Size s = a->shape.d[batch_major ? 1 : 0];
    i = checked_row(v, i, s, loc);
    Node *ex = range_leaf(b, size_const(v->B), loc), *flat;
    if (batch_major)
        flat = mark1(build_op2(b, OP_IADD, mark1(build_op2(b, OP_IMUL, ex, size_leaf(b, s, loc), loc)), i, loc));
    else
        flat = mark1(build_op2(b, OP_IADD, mark1(build_op2(b, OP_IMUL, i, build_leaf(b, ir_iconst(v->B, loc), true),
                                                               loc)), ex, loc));
    Builder outer, *ob = before_loop(v, a, &outer);
    Node *view = rows_view(ob, a, loc);
    n->op = OP_GATHER;
    n->in[0] = view;
    n->in[1] = flat;
    retype(v, n);
    if (n->dtype == DT_I32 && v->imask) { /* (a row of ids [B, n]: the mask as a column) */
        Node *m = mask_at(&v->b, v->imask, 0, n->shape.rank, loc);
        Builder at = build_at(v->g, v->b.block, v->b.pos + 1, BUILD_ASSERT, "vectorize");
        n->aux = mark1(build_op2(&at, OP_IMUL, n, m, loc));
    }
}

/* Is a (log_)softmax(z), or log(softmax(z)): a distribution whose entry
 * y is one word's (log-)probability, which a softmax method approximates
 * (passes/approx.c's lower_picks)? */
static bool of_softmax(const Node *a) {
    if (a->op == OP_LOG)
        a = a->in[0];
    return a->op == OP_SOFTMAX || a->op == OP_LOGSOFTMAX;
}

/* p[y] of a per-example distribution p (of_softmax: [B, V]) at y (per
 * example or one for all): the IR's pick, p[b, y[b]] -> [B], as the
 * one-example program's row, so that --softmax lowers each example's
 * log-probability of y as it does there (a gather of the rows would
 * leave the distribution whole: exact). y is checked as any row's. */
static void pick_per_example(Vec *v, Node *n) {
    Node *y = checked_row(v, n->in[1], n->in[0]->shape.d[1], n->loc);
    n->op = OP_PICK;
    n->in[1] = batched(y) ? y : same_int(v, y, n->loc);
    retype(v, n);
}

static void make_seq_mask(Vec *v, Builder *b, Size s, Loc loc);

/* A stack of per-example values (mark 2: [S, B, ...], time-major, a loop's
 * stack hs[t] = h) read whole by an op or as an output: its batch-major
 * view [B, S, ...], one gather of its [S B, ...] rows (row s B + b at
 * [b, s]) right after it, times the padding mask of S when S grows with
 * a dynamic dim (in a loop to the longest example the rows past an
 * example's end hold steps that were not its own: zeros now, as any
 * value past an example's end). One per stack (v->bm), NULL when refused. */
static Node *batch_major(Vec *v, Node *x, Node *user) {
    for (int i = 0; i < v->nbm; i++)
        if (v->bm[i].tm == x)
            return v->bm[i].bm;
    Size s = x->shape.d[0];
    if (v->nbm == NN_MAXBM || (!size_is_const(s) && !grows(s))) {
        refuse(v, user, "reading a stack of per-example values whole (not batched yet: its rows, hs[t], are)");
        return NULL;
    }
    Loc loc = x->loc;
    int at = 0;
    while (x->parent->nodes[at] != x)
        at++;
    Builder cb = build_at(v->g, x->parent, at + 1, BUILD_ASSERT, "vectorize"), *b = &cb;
    struct SeqMask *m = NULL;
    if (!size_is_const(s)) {
        make_seq_mask(v, b, s, loc);
        if (!(m = seq_mask(v, s))) {
            refuse(v, user, "reading a stack of per-example values whole along a ninth size of dynamic axes");
            return NULL;
        }
    }
    Node *flat = rows_view(b, x, loc); /* [S B, ...] */
    Node *col = mask_at(b, range_leaf(b, size_const(v->B), loc), 0, 2, loc); /* [B, 1] */
    Node *ids = mark1(build_op2(b, OP_IMUL, range_leaf(b, s, loc), build_leaf(b, ir_iconst(v->B, loc), true), loc));
    ids = mark1(build_op2(b, OP_IADD, col, ids, loc)); /* [B, S]: s B + b */
    Node *r = mark1(build_op2(b, OP_GATHER, flat, ids, loc));
    if (m) /* (a stack is float: lower_stmt's as_float) */
        r = mark1(build_op2(b, OP_MUL, r, mask_at(b, m->f, 1, r->shape.rank, loc), loc));
    r->name = x->name;
    v->bm[v->nbm++] = (struct BatchMajor){.tm = x, .bm = r};
    if (v->b.pos >= 0 && user->parent == v->b.block) { /* v->b (before user): past what went before it */
        int p = 0;
        while (v->b.block->nodes[p] != user)
            p++;
        v->b.pos = p;
    }
    return r;
}

/* x as a loop reads it whole (its carry's first or next value, a sum, a
 * stack): a stack of per-example values (mark 2: [steps, B, ...], the
 * batch axis second) its batch-major view (batch_major); NULL when
 * refused. A time-major input never gets here: it is time-major because
 * only rows read it. */
static Node *loop_whole(Vec *v, Node *x, Node *user) { return x->mark == 2 ? batch_major(v, x, user) : x; }

/* int 0/1 [B, s] (or [s] when l is a scalar): 1 where position r < l[b],
 * for the positions r of a row [s] and l a column [B, 1] of at most lmax:
 * the table [0 ... 0 1 ... 1] (s zeros, lmax ones) at l - r + s - 1 (its
 * index check rejects an l outside 0..lmax). */
static Node *below(Builder *b, Node *r, Node *l, Size s, Size lmax, Loc loc) {
    Node *itab;
    zero_one_table(b, s, lmax, &itab, loc);
    return mark1(build_op2(b, OP_GATHER, itab, below_index(b, r, l, s, loc), loc));
}

/* concat(a, b) along a dynamic dim (a [B, m, ...], b [B, n, ...], m or n
 * a size that grows with the dynamic dims): example b's rows are a's
 * first m(len[b]), then b's first n(len[b]), then padding (zeros), so
 * that the result is an example's like any value of size m + n. One
 * gather from a's rows, b's rows and a zero row (A = B m, Z = A + B n):
 * position r of example b reads
 *     b m + r             while r < m(len[b]),
 *     A + b n + r - m(len[b])   while r < (m + n)(len[b]),
 *     Z                   after:
 * Z + [r < m(len)] (i_a - i_b) + [r < (m + n)(len)] (i_b - Z), the
 * comparisons read from tables as the masks are. */
static void batch_concat_dyn(Vec *v, Node *n, Node *e[2]) {
    Loc loc = n->loc;
    Builder *b = &v->b;
    Size m = e[0]->shape.d[1], sn = e[1]->shape.d[1], out = size_add(m, sn);
    Node *col = mask_at(b, range_leaf(b, size_const(v->B), loc), 0, 2, loc); /* the examples [B, 1] */
    Node *r = range_leaf(b, out, loc);                                          /* the positions [m + n] */
    Node *rows[2], *at[2];
    Size start = size_const(0);
    for (int k = 0; k < 2; k++) {
        rows[k] = rows_view(b, e[k], loc);
        Node *first = mark1(build_op2(b, OP_IMUL, col, build_leaf(b, ir_size_node(e[k]->shape.d[1], loc), true), loc));
        at[k] = mark1(build_op2(b, OP_IADD, first, r, loc));
        if (!size_is_const(start) || start.c != 0)
            at[k] = mark1(build_op2(b, OP_IADD, at[k], build_leaf(b, ir_size_node(start, loc), true), loc));
        start = size_add(start, rows[k]->shape.d[0]);
    }
    Node *lm = size_is_const(m) ? build_leaf(b, ir_iconst(m.c, loc), true) : size_at_len(v, b, m, true, loc);
    at[1] = mark1(build_op2(b, OP_ISUB, at[1], lm, loc));
    Node *zero; /* Z: a row of zeros of the values' type */
    Shape zs = rows[0]->shape;
    zs.d[0] = size_const(1);
    if (n->dtype == DT_F32) {
        zero = build_leaf(b, ir_fill(&zs, 0.0, loc), true);
    } else { /* no int fill: a's first row ([1, ...], a gather at [0]) times 0 */
        Node *izero = build_leaf(b, ir_iconst(0, loc), true);
        Node *first = mark1(build_op2(b, OP_IMUL, range_leaf(b, size_const(1), loc), izero, loc));
        zero = mark1(build_op2(b, OP_IMUL, mark1(build_op2(b, OP_GATHER, rows[0], first, loc)), izero, loc));
    }
    Node *all = mark1(build_op2(b, OP_CONCAT, rows[0], rows[1], loc));
    all = mark1(build_op2(b, OP_CONCAT, all, zero, loc));
    Node *z = build_leaf(b, ir_size_node(start, loc), true);
    make_seq_mask(v, b, out, loc); /* for what reads the result along m + n */
    Node *in_a = below(b, r, lm, out, m, loc), *in_ab = below(b, r, size_at_len(v, b, out, true, loc), out, out, loc);
    Node *ids = mark1(build_op2(b, OP_IMUL, in_a, mark1(build_op2(b, OP_ISUB, at[0], at[1], loc)), loc));
    ids = mark1(build_op2(b, OP_IADD, ids, mark1(build_op2(b, OP_IMUL, in_ab,
                                                                  mark1(build_op2(b, OP_ISUB, at[1], z, loc)), loc)), loc));
    ids = mark1(build_op2(b, OP_IADD, ids, z, loc));
    n->op = OP_GATHER;
    n->in[0] = all;
    n->in[1] = ids;
    retype(v, n);
}

/* concat(a, b) of per-example values ([B, m, ...] and [B, n, ...]; one
 * that is the same for every example broadcast to the batch): the
 * examples' rows, [B m, ...] and [B n, ...], joined into one table and
 * gathered in each example's order, row b m + i of a for i < m, then row
 * B m + b n + j of b: one gather (its gradient a scatter back). Along a
 * dynamic dim, batch_concat_dyn (an example's padding after its rows). */
static void batch_concat(Vec *v, Node *n) {
    Loc loc = n->loc;
    Builder *b = &v->b;
    Node *e[2];
    for (int k = 0; k < 2; k++) {
        e[k] = n->dtype == DT_F32 ? to_batch(v, n->in[k], loc) : n->in[k];
        Size m = e[k]->shape.d[1];
        if (!batched(e[k]))
            return refuse(v, n, "of an int value the same for every example (not batched yet)");
        if (!size_is_const(m) && !grows(m))
            return refuse(v, n, "along a dynamic dim that does not grow with it (not batched yet)");
    }
    if (!size_is_const(e[0]->shape.d[1]) || !size_is_const(e[1]->shape.d[1]))
        return batch_concat_dyn(v, n, e);
    Node *x[2], *ids[2], *col = mask_at(b, range_leaf(b, size_const(v->B), loc), 0, 2, loc); /* the examples [B, 1] */
    int64_t start = 0; /* b's rows follow a's B m */
    for (int k = 0; k < 2; k++) {
        Size m = e[k]->shape.d[1];
        x[k] = rows_view(b, e[k], loc);
        ids[k] = mark1(build_op2(b, OP_IADD, mark1(build_op2(b, OP_IMUL, col, build_leaf(b, ir_iconst(m.c, loc), true),
                                                                 loc)), range_leaf(b, m, loc), loc));
        if (start)
            ids[k] = mark1(build_op2(b, OP_IADD, ids[k], build_leaf(b, ir_iconst(start, loc), true), loc));
        start = v->B * m.c;
    }
    Node *all = mark1(build_op2(b, OP_CONCAT, x[0], x[1], loc)), *at = build_new(OP_CONCAT, 2, ids, loc);
    at->index = 1;
    at = mark1(build_put(b, at, loc));
    n->op = OP_GATHER;
    n->in[0] = all;
    n->in[1] = at;
    retype(v, n);
}

/* op(A) @ x of a per-example matrix A ([B, M, K], ta: [B, K, M]) and a
 * vector x (per example, [B, K], or not, [K]): the products summed over
 * the K axis; where K is a sequence's dynamic dim (a per-example x^T over
 * positions: attention's context), weighted by its padding mask. */
static void batch_matvec_rows(Vec *v, Node *n) {
    Node *a = n->in[0], *x = n->in[1];
    Loc loc = n->loc;
    Builder *b = &v->b;
    int kax = n->ta ? 1 : 2;
    if (n->nin != 2 || a->shape.rank != 3)
        return refuse(v, n, "whose matrix depends on the example (with an addend)");
    struct SeqMask *m = NULL;
    if (!size_is_const(a->shape.d[kax]) && !(m = seq_mask(v, a->shape.d[kax])))
        return refuse(v, n, "whose matrix depends on the example, along a dynamic dim not of a sequence read whole");
    /* x against A's K axis: [B, 1, K] (ta: [B, K, 1]); unbatched [K] (ta: [K, 1]) */
    Node *xe = x;
    if (batched(x) || n->ta) {
        Shape s = x->shape;
        int at = batched(x) ? (n->ta ? 2 : 1) : 1;
        for (int k = s.rank; k > at; k--)
            s.d[k] = s.d[k - 1];
        s.d[at] = size_const(1);
        s.rank++;
        xe = build_new(OP_EXPAND, 1, (Node *[]){x}, loc);
        xe->shape = s;
        xe->index = at;
        xe = build_put(b, xe, loc);
        xe->mark = batched(x);
    }
    Node *p = mark1(build_op2(b, OP_MUL, a, xe, loc));
    if (m) {
        Node *w = m->f; /* [B, K] to [B, 1, K] (ta: [B, K, 1]) */
        w = n->ta ? expand_tail(b, w, 3, loc) : lift_rank(v, w, 2, loc);
        p = mark1(build_op2(b, OP_MUL, p, w, loc));
    }
    n->op = OP_SUMAXIS;
    n->nin = 1;
    n->in[0] = p;
    n->index = kax;
    n->ta = n->tb = false;
    retype(v, n);
}

/* op(A) @ op(W) of per-example matrices ([B, M, K], ta: [B, K, M]) or a
 * per-example one and a shared one. A @ op(W), W shared: the IR's product
 * of stacked rows, [B, M, K] @ op(W) -> [B, M, N], one GEMM of the
 * batch's rows [B M, K] (docs/IR.md). Otherwise (self-attention's x @
 * transpose(x), W @ x): batch_matmul, a product per example (one
 * strided-batched GEMM on the GPU), a shared operand the same matrix in
 * each. Where K is a sequence's dynamic dim, a per-example operand's K
 * axis is weighted by its padding mask: the padding never enters the
 * sums. A padding row or column of the result (M or N a dynamic dim) is
 * left out by whatever reads it along that axis, as a sequence's is. */
static void batch_matmul(Vec *v, Node *n) {
    Node *a = n->in[0], *c = n->in[1];
    Loc loc = n->loc;
    if (n->nin != 2)
        return refuse(v, n, "of a per-example value with an addend");
    if (batched(a) && !batched(c) && !n->ta)
        return retype(v, n);
    bool on_a = batched(a); /* the operand masked along K, and where K is in it */
    Node *x = on_a ? a : c;
    bool k_last = on_a ? !n->ta : n->tb;
    Size k = x->shape.d[k_last ? 2 : 1];
    if (!size_is_const(k)) {
        struct SeqMask *m = seq_mask(v, k);
        if (!m)
            return refuse(v, n, "of per-example matrices along a dynamic dim not of a sequence read whole");
        n->in[on_a ? 0 : 1] = mark1(build_op2(&v->b, OP_MUL, x, mask_at(&v->b, m->f, k_last ? 2 : 1, 3, loc), loc));
    }
    n->op = OP_BMM;
    retype(v, n);
}

/* softmax, log_softmax, logsumexp, cross_entropy or pick along a
 * sequence's dynamic dim (the last axis of z, [B, ..., T]): past an
 * example's end z - 1e30 there (z + (mask - 1) 1e30: z exactly at its
 * positions), so exp gives 0 and the padding never counts; an example
 * without positions gets a finite uniform row. The label of cross_entropy
 * or pick (the classes are the positions: a pointer) is one per example,
 * checked against the example's own positions as a one-example call
 * checks it against its T (checked_row). False where no
 * mask of that size is known, or the labels are not one per example. */
static bool masked_softmax(Vec *v, Node *n) {
    bool xent = n->op == OP_XENT || n->op == OP_PICK;
    if (n->op != OP_SOFTMAX && n->op != OP_LOGSOFTMAX && n->op != OP_LOGSUMEXP && !xent)
        return false;
    Node *z = n->in[0];
    Size s = z->shape.d[z->shape.rank - 1];
    struct SeqMask *m = dynamic_axis(z, z->shape.rank - 1) ? seq_mask(v, s) : NULL;
    if (!m || (xent && (!batched(z) || !batched(n->in[1]) || n->in[1]->shape.rank != 1)))
        return false;
    Loc loc = n->loc;
    Builder *b = &v->b;
    Node *off = mark1(build_op2(b, OP_SUB, m->f, build_leaf(b, ir_const(1.0, loc), true), loc));
    off = mark1(build_op2(b, OP_MUL, off, build_leaf(b, ir_const(1e30, loc), true), loc));
    n->in[0] = mark1(build_op2(b, OP_ADD, z, lift_rank(v, off, z->shape.rank - 1, loc), loc));
    if (xent)
        n->in[1] = checked_row(v, n->in[1], s, loc);
    retype(v, n);
    return true;
}

static void batch_node(Vec *v, Node *n) {
    for (int k = 0; k < n->nin; k++) /* read the safe ids instead of the raw ones */
        if (n->in[k]->aux)
            n->in[k] = n->in[k]->aux;
    Node *a = n->nin > 0 ? n->in[0] : NULL, *c = n->nin > 1 ? n->in[1] : NULL;
    if (n->op == OP_INPUT) {
        if (n->mark == 0)
            retype(v, n);
        return;
    }
    if (n->op == OP_DIM && !size_is_const(n->size)) { /* T - 1 - t: each example's own T */
        Builder at = build_at(v->g, v->b.block, v->b.pos + 1, BUILD_ASSERT, "vectorize");
        n->aux = size_at_len(v, &at, n->size, false, n->loc);
        return;
    }
    if (n->op == OP_LOOPOUT) {
        bool b = batched(ir_loop_value(a->loop, n->index)) || (n->index < a->loop->ncarry && batched(a->loop->carry[n->index]));
        if (b) {
            retype(v, n);
            /* a stack of per-example rows: [steps, B, ...], time-major as a
             * sequence input is, and read the same way (rows only) */
            if (n->index >= a->loop->ncarry && n->index < a->loop->ncarry + a->loop->nstack)
                n->mark = 2;
        }
        return;
    }
    if (n->op == OP_CONCAT && n->index == 0 && n->dtype == DT_F32 && (a->mark == 2 || c->mark == 2) &&
        !batched(a) && !batched(c) && size_is_const(a->shape.d[0])) {
        /* the rows before a loop's start (zeros: for t in 1..T { hs[t] =
         * ... }) joined to its stack: a stack too, [S, B, ...], read as
         * one is (the zeros broadcast to every example). Only where the
         * first operand's rows are as many for every example: after a
         * stack of T rows, another's rows follow each example's own T
         * (batch_concat_dyn, of the stack's batch-major view) */
        for (int k = 0; k < 2; k++) {
            Node *x = n->in[k];
            if (x->mark == 2)
                continue;
            Shape e = x->shape;
            for (int j = e.rank; j > 1; j--)
                e.d[j] = e.d[j - 1];
            e.d[1] = size_const(1);
            e.rank++;
            x = preset(v, OP_EXPAND, x, &e, 1, n->loc);
            e.d[1] = size_const(v->B);
            n->in[k] = preset(v, OP_BROADCAST, x, &e, 0, n->loc);
        }
        retype(v, n);
        n->mark = 2;
        return;
    }
    for (int k = 0; k < n->nin; k++) /* a stack read whole: its batch-major view */
        if (!(n->op == OP_ROW && k == 0) && n->in[k]->mark == 2 && !(n->in[k] = batch_major(v, n->in[k], n)))
            return;
    a = n->nin > 0 ? n->in[0] : NULL, c = n->nin > 1 ? n->in[1] : NULL;
    if (n->op == OP_ROW && a->mark == 2) { /* xs[t] of a time-major input: one row of B */
        if (batched(c))
            return row_per_example(v, n, false);
        retype(v, n);
        /* past an example's end, never the padding: a step there is
         * computed all the same (its carries and sums masked after), and
         * on the padding, finite as it is, a step's exp or log can
         * overflow: the mask's inf * 0 is nan in the example's values.
         * An id reads 0 there. A float row reads the example's first row
         * (0 for an example without steps): its own data, where the body
         * was finite, forward and backward; zeros were not (cosine of a
         * zero row, log of one). m x + (1 - m) x0 is x exactly where
         * m = 1, x0 exactly where m = 0. */
        if (n->dtype == DT_I32 && v->imask) { /* (a row of ids [B, n]: the mask as a column) */
            Node *m = mask_at(&v->b, v->imask, 0, n->shape.rank, n->loc);
            Builder at = build_at(v->g, v->b.block, v->b.pos + 1, BUILD_ASSERT, "vectorize");
            Node *safe = build_op2(&at, OP_IMUL, n, m, n->loc);
            safe->mark = 1;
            n->aux = safe;
        } else if (n->dtype == DT_F32 && v->mask && !inside(a, v->loop)) { /* (a stack of this step's: its own) */
            Loc loc = n->loc;
            Node *x0 = first_row(v, a, loc), *m = lift_rank(v, v->mask, n->shape.rank - 1, loc);
            Builder at = build_at(v->g, v->b.block, v->b.pos + 1, BUILD_ASSERT, "vectorize");
            Node *safe = build_op2(&at, OP_MUL, n, m, loc);
            if (x0) {
                Node *off = build_op2(&at, OP_SUB, build_leaf(&at, ir_const(1.0, loc), true), m, loc);
                safe = build_op2(&at, OP_ADD, safe, build_op2(&at, OP_MUL, off, x0, loc), loc);
            }
            for (int i = v->b.pos + 1; i < at.pos; i++) /* already batched: not again */
                at.block->nodes[i]->mark = 1;
            n->aux = safe;
        }
        return;
    }
    bool any = false;
    for (int k = 0; k < n->nin; k++)
        any |= batched(n->in[k]);
    if (!any || !room_for_batch(v, n, &n->shape))
        return;
    /* an index or label of each example's own (T - 1 - t, computed, not
     * read from an input: those are masked where they are read) used by
     * a checked op in a loop to the longest example: 0 past the example's
     * end, as ids read there are (T - 1 - t is negative there) */
    if (op_flags[n->op] & OPF_CHECKED)
        for (int k = 0; k < n->nin; k++)
            if (n->in[k]->dtype == DT_I32 && batched(n->in[k]) && n->in[k]->shape.rank == 1)
                n->in[k] = masked_id(v, n->in[k], n->loc);
    if (masked_reduce(v, n) || masked_softmax(v, n))
        return;
    if (reads_padding(n))
        return refuse(v, n, "over a sequence's dynamic dim outside a loop (it would read the padding; not batched yet)");
    if (op_flags[n->op] & (OPF_ELEMWISE | OPF_INT)) {
        if ((op_flags[n->op] & OPF_INT) && n->shape.rank > 0)
            return refuse(v, n, "of int vectors per example");
        return batch_elemwise(v, n);
    }
    switch (n->op) {
    case OP_MATVEC: /* W @ x -> X W^T: one GEMM for the batch */
        if (batched(a))
            return batch_matvec_rows(v, n);
        n->op = OP_MATMUL;
        n->in[0] = c;
        n->in[1] = a;
        n->tb = !n->ta;
        n->ta = false;
        return retype(v, n);
    case OP_MATMUL: /* one GEMM of the batch's rows, or a product per example */
        return batch_matmul(v, n);
    case OP_SUM:
    case OP_MEAN:
        if (a->shape.rank < 2)
            return refuse(v, n, "of a scalar");
        return become_reduce(v, n, a, n->op == OP_SUM ? OP_SUMAXIS : OP_MEANAXIS);
    case OP_SUMAXIS:
    case OP_MEANAXIS:
        n->index++;
        return retype(v, n);
    case OP_SOFTMAX:
    case OP_LOGSOFTMAX:
    case OP_LOGSUMEXP: /* over the last axis, one row per example */
        return retype(v, n);
    case OP_XENT:
    case OP_PICK: /* a label the same for every example (a prior toward class 0, the step t): every example's */
        if (!batched(c) && c->shape.rank > 0)
            return refuse(v, n, "with the same labels for every example (not batched yet)");
        if (!batched(c))
            n->in[1] = same_int(v, c, n->loc);
        n->in[0] = to_batch(v, a, n->loc);
        return retype(v, n);
    case OP_BXENT:
        return become_reduce(v, n, bxent_terms(v, n), OP_SUMAXIS);
    case OP_TRANSPOSE: /* each example's matrix: [B, M, N] -> [B, N, M] */
        return retype(v, n);
    case OP_CONCAT:
        return batch_concat(v, n);
    case OP_DOT: {
        Node *m = build_op2(&v->b, OP_MUL, to_batch(v, a, n->loc), to_batch(v, c, n->loc), n->loc);
        m->mark = 1;
        return become_reduce(v, n, m, OP_SUMAXIS);
    }
    case OP_GATHER: /* E[ids] of per-example ids [B, n, ...] -> [B, n, ..., ...] (past an example's end: id 0) */
        if (batched(a))
            return refuse(v, n, "of a per-example tensor (not batched yet)");
        return retype(v, n);
    case OP_ROW: /* E[id] -> E[ids]; a row of a per-example tensor: one gather of the batch's rows */
        if (batched(a) && a->shape.rank == 2 && of_softmax(a))
            return pick_per_example(v, n);
        if (batched(a))
            return row_per_example(v, n, true);
        n->op = OP_GATHER;
        return retype(v, n);
    default:
        return refuse(v, n, "of a per-example value (no batching rule yet)");
    }
}

static void report_node(Vec *v, const Node *n, const char *before) {
    char t[96];
    if (n->op == OP_PARAM || n->op == OP_CONST || n->op == OP_ICONST || n->op == OP_FILL || n->op == OP_DIM)
        return;
    if (n->mark == 2)
        fprintf(v->report, "vectorize: %%%d input %s: batched, time-major (only rows are read: a step's rows "
                "are contiguous)\n", n->id, ir_type_str(v->g, n->dtype, &n->shape, t, sizeof t));
    else if (batched(n))
        fprintf(v->report, "vectorize: %%%d %s -> %s %s: batched\n", n->id, before, op_name[n->op],
                ir_type_str(v->g, n->dtype, &n->shape, t, sizeof t));
    else
        fprintf(v->report, "vectorize: %%%d %s: not batched (depends on no input: computed once per batch)\n",
                n->id, op_name[n->op]);
}

static bool batch_block(Vec *v, Block *blk);

/* A node put at the end of the body (the loop's new results). */
static Node *body_op2(Vec *v, Op op, Node *x, Node *y, Loc loc) {
    Node *n = build_op2(&v->b, op, x, y, loc);
    n->mark = batched(x) || batched(y);
    return n;
}

static Node *leaf(Vec *v, Node *n) {
    Builder top = build_at(v->g, &v->g->top, -1, BUILD_ASSERT, "vectorize");
    return build_leaf(&top, n, true);
}

/* f32 [B]: 1 where example b has a row of an axis of size s = k T + c
 * (k >= 1, c <= 0), s(len[b]) >= 1, else 0: the table [0 ... 0 1 ... 1]
 * (1 - c zeros, s(T) ones) at k len[b], as the masks are read. */
static Node *has_rows(Vec *v, Builder *b, Size s, Loc loc) {
    NN_ASSERT(grows(s) && s.c <= 0);
    Node *tab = zero_one_table(b, size_const(1 - s.c), s, NULL, loc);
    Size ks = s;
    ks.c = 0;
    return mark1(build_op2(b, OP_GATHER, tab, size_at_len(v, b, ks, false, loc), loc));
}

/* Row 0 of the time-major input a ([S, B, ...]) for every example that has
 * one, 0 for one that has none: f32 [B, ...], built once before the loop
 * to the longest example (v->loop). Example b has S(len[b]) rows: with S =
 * k T + c (k >= 1, c <= 0), a row 0 when k len[b] >= 1 - c, read from the
 * table [0 ... 0 1 ... 1] (1 - c zeros, S(T) ones) at k len[b], as the
 * masks are. NULL where no row 0 is known to be the example's (S
 * decreasing in T, or no T in it and empty). */
static Node *first_row(Vec *v, Node *a, Loc loc) {
    Size s = a->shape.d[0];
    bool always = s.c >= 1 && (grows(s) || size_is_const(s)); /* S >= 1 for every length */
    if (!always && (!grows(s) || s.c > 0))
        return NULL;
    Builder ob, *b = before_loop(v, a, &ob);
    Block *outer = b->block;
    Node *row0 = build_op2(b, OP_ROW, a, build_leaf(b, ir_iconst(0, loc), true), loc), *x0 = row0;
    if (!always)
        x0 = build_op2(b, OP_MUL, x0, expand_tail(b, has_rows(v, b, s, loc), x0->shape.rank, loc), loc);
    int at = 0; /* the leaves went to the head of the top block */
    while (outer->nodes[at] != row0)
        at++;
    for (int i = at; outer->nodes[i] != v->loop->node; i++) /* already batched: not again */
        outer->nodes[i]->mark = 1;
    return x0;
}

/* The masks of a loop `for t in lo..hi` whose hi grows with the dynamic dim
 * T: step t is example b's when t < hi(len[b]). Both masks are read from a
 * table, [0 ... 0 1 ... 1] (hi(T) - hi(1) + 1 zeros, hi(T) - lo ones), at
 * hi(len[b]) - t + hi(T) - hi(1): the table's index check also rejects a
 * length outside 0..T. Every step's at once, before l (the steps lo..hi-1
 * as a column [hi - lo, 1] against the lengths [B]: [hi - lo, B] tensors,
 * built once per call, no loop); l's body reads its step's row. So the
 * masks are a slice of a loop-invariant tensor, like the time-major
 * inputs, and the batch pass can take whatever reads them (the output
 * layer, its loss and gradients) out of l as whole-tensor work. */
static void make_masks(Vec *v, Loop *l) {
    Graph *g = v->g;
    Loc loc = l->node->loc;
    Size one = size_const(0);
    one.c = l->hi.c; /* hi(1): every dynamic dim at 1 */
    for (int j = 0; j < NN_MAXDYN; j++)
        one.c += l->hi.k[j];
    Size zeros = size_add(size_sub(l->hi, one), size_const(1)), ones = size_sub(l->hi, l->lo);
    Block *outer = l->node->parent;
    int at = 0;
    while (outer->nodes[at] != l->node)
        at++;
    Builder ob = build_at(g, outer, at, BUILD_ASSERT, "vectorize"), *b = &ob;
    /* leaves through ob: it keeps pointing before l */
    Node *itab, *ftab = zero_one_table(b, zeros, ones, &itab, loc);
    Node *hib = size_at_len(v, b, l->hi, false, loc);
    /* every step at once: the steps lo..hi-1 as a column [hi - lo, 1]
     * against the lengths [B] give the [hi - lo, B] indexes */
    Node *steps = ir_new_node(OP_RANGE, 0, NULL, loc);
    steps->size = l->lo;
    steps->shape = (Shape){.rank = 2, .d = {ones, size_const(1)}};
    steps->name = l->var;
    Node *idx = build_op2(b, OP_ISUB, hib, build_leaf(b, steps, true), loc);
    idx = build_op2(b, OP_IADD, idx, build_leaf(b, ir_size_node(size_sub(zeros, size_const(1)), loc), true), loc);
    Node *ftable = build_op2(b, OP_GATHER, ftab, idx, loc), *itable = build_op2(b, OP_GATHER, itab, idx, loc);
    ftable->name = "mask";
    at = 0; /* the leaves went to the head of the top block */
    while (outer->nodes[at] != ftab) /* the first node put at ob */
        at++;
    for (int i = at; outer->nodes[i] != l->node; i++) /* already batched: not again */
        outer->nodes[i]->mark = 1;

    int pos = 0;
    while (l->body.nodes[pos] != l->index)
        pos++;
    v->b = build_at(g, &l->body, pos + 1, BUILD_ASSERT, "vectorize");
    Node *step = l->index; /* the row of step t: t - lo */
    if (l->lo.c != 0)
        step = build_op2(&v->b, OP_ISUB, step, leaf(v, ir_iconst(l->lo.c, loc)), loc);
    v->mask = build_op2(&v->b, OP_ROW, ftable, step, loc);
    v->imask = build_op2(&v->b, OP_ROW, itable, step, loc);
    v->mask->name = "mask";
    for (int i = pos + 1; i < v->b.pos; i++) /* already batched: not again */
        l->body.nodes[i]->mark = 1;
}

/* A loop whose start depends on a dynamic dim, lo..hi with hi - lo = n
 * steps whatever the lengths (`for t in T - 1..T`, the last step): every
 * example runs n steps, from its own start lo(len[b]). The loop becomes
 * 0..n and its index t, in the body, the per-example lo(len[b]) + t (an
 * i32 [B], computed before the loop), so that xs[t] reads each example's
 * rows as xs[T - 1 - t] does (row_per_example: a row outside the
 * example's is the range error of a one-example call; its stack's
 * concat with the zero rows before the start, batch_concat_dyn, checks
 * the start against 0 the same way). Where n grows with the lengths too
 * (`for t in T..2 T`, the line again after itself), the loop 0..n runs
 * to the longest example's n, masked past each example's own
 * (batch_loop's masks of a loop to the longest example). False (refused)
 * when the end does not grow, or n shrinks as the lengths grow. */
static bool shift_start(Vec *v, Loop *l) {
    Node *ln = l->node;
    Size n = size_sub(l->hi, l->lo);
    if ((!size_is_const(n) && !grows(n)) || !grows(l->hi) || l->reverse) {
        refuse(v, ln, size_is_const(n) || !grows(l->hi)
                          ? "whose start depends on a dynamic dim and does not grow with it (not batched yet)"
                          : "whose number of steps shrinks as a dynamic dim grows (not batched yet)");
        return false;
    }
    Node *start = size_at_len(v, &v->b, l->lo, false, ln->loc); /* before the loop: i32 [B] */
    l->lo = size_const(0);
    l->hi = !size_is_const(n) || n.c > 0 ? n : size_const(0);
    int pos = 0;
    while (l->body.nodes[pos] != l->index)
        pos++;
    Builder bb = build_at(v->g, &l->body, pos + 1, BUILD_ASSERT, "vectorize");
    Node *t = mark1(build_op2(&bb, OP_IADD, l->index, start, ln->loc));
    t->name = l->var;
    ir_replace_uses(v->g, l->index, t);
    t->in[0] = l->index;
    return true;
}

/* A loop: every float carry gets the batch axis (each example's carry is
 * its own); in a loop to the longest example (hi grows with the dynamic
 * dim) a step past an example's end leaves its carries as they were and
 * adds nothing to its sums. A loop nested in such a loop reads its masks
 * (a step past the example's end there is one in the inner loop too): a
 * static inner loop the outer loop's, an inner loop to the longest
 * example their product; the outer loop's come back after it. */
static void batch_loop(Vec *v, Node *ln) {
    Loop *l = ln->loop;
    Node *omask = v->mask, *oimask = v->imask;
    Loop *oloop = v->loop;
    bool shifted = !size_is_const(l->lo);
    if (shifted && !shift_start(v, l))
        return;
    bool masked = !size_is_const(l->hi);
    if (!(grows(l->hi) || size_is_const(l->hi)) || l->reverse)
        return refuse(v, ln, "whose end shrinks as a dynamic dim grows (not batched yet)");
    for (int r = 0; r < l->ncarry; r++) {
        if (l->carry[r]->dtype != DT_F32)
            return refuse(v, ln, "carrying an int value");
        if (!room_for_batch(v, ln, &l->carry[r]->shape))
            return;
        if (ln->in[r]->aux)
            ln->in[r] = ln->in[r]->aux;
        if (!(ln->in[r] = loop_whole(v, ln->in[r], ln)))
            return;
        ln->in[r] = to_batch(v, ln->in[r], ln->loc);
        retype(v, l->carry[r]);
    }
    if (masked) {
        make_masks(v, l);
        v->loop = l;
        if (omask) { /* the step is the example's in both loops */
            v->mask = mark1(build_op2(&v->b, OP_MUL, v->mask, omask, ln->loc));
            v->imask = mark1(build_op2(&v->b, OP_IMUL, v->imask, oimask, ln->loc));
        }
    }
    if (!batch_block(v, &l->body))
        return;
    v->b = build_at(v->g, &l->body, -1, BUILD_ASSERT, "vectorize");
    Loc loc = ln->loc;
    for (int r = 0; r < l->ncarry; r++) {
        Node *next = l->next[r]->aux ? l->next[r]->aux : l->next[r], *h = l->carry[r];
        if (!(next = loop_whole(v, next, ln)))
            return;
        next = to_batch(v, next, loc);
        if (masked) /* h + m (next - h): h where the example has ended */
            next = body_op2(v, OP_ADD, h, body_op2(v, OP_MUL, lift_rank(v, v->mask, h->shape.rank - 1, loc),
                                                   body_op2(v, OP_SUB, next, h, loc), loc), loc);
        l->next[r] = next;
    }
    for (int s = 0; s < l->nsum; s++) {
        Node *x = l->sum[s]->aux ? l->sum[s]->aux : l->sum[s];
        if (!(x = loop_whole(v, x, ln)))
            return;
        if (masked)
            x = body_op2(v, OP_MUL, lift_rank(v, v->mask, x->shape.rank - batched(x), loc), x, loc);
        l->sum[s] = x;
    }
    for (int s = 0; s < l->nstack; s++) { /* a step past an example's end stacks its value as computed */
        if (l->stack[s]->aux)
            l->stack[s] = l->stack[s]->aux;
        if (!(l->stack[s] = loop_whole(v, l->stack[s], ln)))
            return;
        /* in a loop to the longest example even a value the same for every
         * example (hs[t] = V) makes a stack of each example's: its rows
         * past an example's end are not the example's (batch_major masks
         * them); so does a loop from each example's own start (its rows
         * come after each example's zero rows, batch_concat_dyn) */
        if ((masked || shifted) && !batched(l->stack[s]))
            l->stack[s] = to_batch(v, l->stack[s], loc);
    }
    v->mask = omask, v->imask = oimask;
    v->loop = oloop;
}

/* Batches the nodes of blk in order (the nodes put before one are already
 * batched; so is the safe id put after a row). */
static bool batch_block(Vec *v, Block *blk) {
    for (int i = 0; i < blk->n && !v->failed; i++) {
        Node *n = blk->nodes[i];
        const char *before = op_name[n->op];
        if (n->mark == 1 && n->op != OP_INPUT)
            continue; /* put here by this pass (masks, leaves) */
        if (blk == &v->g->top && !v->seq_done && !(op_flags[n->op] & OPF_LEAF)) {
            v->seq_done = true; /* after the leaves: its own go to the head, never visited */
            seq_prepare(v, i);
            while (blk->nodes[i] != n)
                i++;
        }
        v->b = build_at(v->g, blk, i, BUILD_ASSERT, "vectorize");
        if (n->op == OP_LOOP)
            batch_loop(v, n);
        else
            batch_node(v, n);
        while (blk->nodes[i] != n)
            i++;
        if (n->aux && i + 1 < blk->n && blk->nodes[i + 1] == n->aux)
            i++;
        if (v->report && !v->failed && n->op != OP_LOOP)
            report_node(v, n, before);
    }
    return !v->failed;
}

static void use_whole(const Node *n, bool *whole) {
    if (n && n->op == OP_INPUT)
        whole[n->index] = true;
}

/* The layout of each input: time-major ([T + 1, B, ...], mark 2) when every
 * use is a row xs[i] (a sequence read one step at a time: each step's rows
 * are contiguous), else batch-major ([B, ...]). A use is also a loop's
 * result (h = x in a body: x is the next carry) or, in vectorize, an
 * output or the loss: all read the whole input. */
static void input_uses(Block *b, bool *whole) {
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op == OP_LOOP) {
            Loop *l = n->loop;
            input_uses(&l->body, whole);
            for (int r = 0; r < l->ncarry; r++)
                use_whole(l->next[r], whole);
            for (int s = 0; s < l->nstack; s++)
                use_whole(l->stack[s], whole);
            for (int s = 0; s < l->nsum; s++)
                use_whole(l->sum[s], whole);
        }
        for (int k = 0; k < n->nin; k++)
            if (!(n->op == OP_ROW && k == 0))
                use_whole(n->in[k], whole);
    }
}

/* transpose(y) @ x as y @ x with the flag flipped (MATVEC's ta; MATMUL's
 * ta, tb), in every block: a per-example y (attention's context,
 * transpose(x) @ a; its scores x @ transpose(x)) is then a product along
 * an axis of y as it is, not of y's elements gathered in the other order
 * (a transpose of each example's matrix: the one that something else
 * reads). */
static void fold_transposes(Block *b) {
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op == OP_LOOP)
            fold_transposes(&n->loop->body);
        if ((n->op == OP_MATVEC || n->op == OP_MATMUL) && n->in[0]->op == OP_TRANSPOSE) {
            n->in[0] = n->in[0]->in[0];
            n->ta = !n->ta;
        }
        if (n->op == OP_MATMUL && n->in[1]->op == OP_TRANSPOSE) {
            n->in[1] = n->in[1]->in[0];
            n->tb = !n->tb;
        }
    }
}

bool vectorize(Graph *g, int64_t batch, bool mean, Diag *d, FILE *report) {
    Vec v = {.g = g, .diag = d, .report = report, .B = batch};
    NN_ASSERT(batch >= 1);
    fold_transposes(&g->top);
    ir_number(g);
    ir_clear_marks(&g->top);
    ir_clear_aux(&g->top);
    bool *whole = xalloc(sizeof(bool) * (size_t)(g->ninputs + 1));
    input_uses(&g->top, whole);
    for (int i = 0; i < g->noutputs; i++)
        use_whole(g->outputs[i].value, whole);
    use_whole(g->loss, whole);
    int ninputs = g->ninputs;
    for (int i = 0; i < ninputs; i++)
        if (g->inputs[i].shape.rank >= NN_TENSOR_MAXRANK) {
            diag_error(d, g->inputs[i].loc, "--batch: the input '%s' has %d axes; batched it would have %d (an input "
                       "has at most %d)", g->inputs[i].name, g->inputs[i].shape.rank, g->inputs[i].shape.rank + 1,
                       NN_TENSOR_MAXRANK);
            return false;
        }
    for (int i = 0; i < ninputs; i++) {
        InputDecl *in = &g->inputs[i];
        int ax = whole[i] || in->shape.rank == 0 ? 0 : 1;
        for (int k = in->shape.rank; k > ax; k--)
            in->shape.d[k] = in->shape.d[k - 1];
        in->shape.d[ax] = size_const(batch);
        in->shape.rank++;
        char buf[128];
        in->shape_text = xstrdup(shape_str(g, &in->shape, buf, sizeof buf));
    }
    for (int i = 0; i < g->top.n; i++) /* the inputs' nodes, typed now */
        if (g->top.nodes[i]->op == OP_INPUT) {
            Node *n = g->top.nodes[i];
            retype(&v, n);
            n->mark = whole[n->index] || g->inputs[n->index].shape.rank == 1 ? 1 : 2;
        }
    for (int j = 0; j < g->ndyn; j++) { /* the examples' lengths: input T_len : int[B], one per dynamic dim */
        const DimDecl *dd = NULL;
        for (int i = 0; i < g->ndims; i++)
            if (g->dims[i].dynamic && g->dims[i].dyn == j)
                dd = &g->dims[i];
        NN_ASSERT(dd);
        InputDecl in = {.name = xsprintf("%s_len", dd->name), .loc = dd->loc, .dtype = DT_I32,
                        .shape = {.rank = 1, .d = {size_const(batch)}}};
        in.shape_text = xsprintf("[%lld]", (long long)batch);
        for (int i = 0; i < g->ninputs; i++)
            if (strcmp(g->inputs[i].name, in.name) == 0) {
                diag_error(d, g->inputs[i].loc, "--batch: the input '%s' has the name of the lengths of '%s'",
                           in.name, dd->name);
                return false;
            }
        VEC_PUSH(g->inputs, g->ninputs, g->capinputs, in);
        Node *ln = ir_new_node(OP_INPUT, 0, NULL, dd->loc);
        ln->index = g->ninputs - 1;
        ln->name = g->inputs[ln->index].name;
        v.len[j] = leaf(&v, ln);
        v.len[j]->mark = 1;
        ir_number(g);
    }
    if (!batch_block(&v, &g->top))
        return false;
    v.b = build_at(g, &g->top, -1, BUILD_ASSERT, "vectorize");
    for (int i = 0; i < g->noutputs; i++) {
        OutputDecl *o = &g->outputs[i];
        if (o->value->mark == 2 && !(o->value = batch_major(&v, o->value, o->value))) /* [B, S, ...] */
            return false;
        int r = o->value->shape.rank - batched(o->value); /* axes per example */
        if (r >= NN_TENSOR_MAXRANK) {
            diag_error(d, o->loc, "--batch: the output '%s' has %d axes; batched it would have %d (an output has "
                       "at most %d)", o->name, r, r + 1, NN_TENSOR_MAXRANK);
            return false;
        }
        if (!batched(o->value)) {
            o->value = to_batch(&v, o->value, o->loc);
            if (report)
                fprintf(report, "vectorize: output %s: the same for every example, broadcast to the batch\n",
                        o->name);
        }
    }
    if (g->loss) {
        Node *l = g->loss;
        Loc loc = l->loc;
        if (batched(l)) {
            l = build_op1(&v.b, mean ? OP_MEAN : OP_SUM, l, loc);
        } else if (!mean) { /* a term of the params alone, once per example */
            l = build_op2(&v.b, OP_MUL, l, build_leaf(&v.b, ir_const((double)batch, loc), true), loc);
        }
        l->name = "loss";
        g->loss = l;
        if (report)
            fprintf(report, "vectorize: loss: the %s of the %lld examples' losses\n", mean ? "mean" : "sum",
                    (long long)batch);
    }
    return true;
}
