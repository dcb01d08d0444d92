/*
 * infer.c - the typing rules of every op (ir_infer): the one place where an op's result type is derived from its operands and attributes. The front end turns a failure into a diagnostic; the verifier, into an internal error.
 */
#include "nngc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ================================================================ typing */

/* The operator of a binary arithmetic op, as the user wrote it. */
static const char *op_symbol(Op op) {
    switch (op) {
    case OP_ADD: case OP_IADD: return "+";
    case OP_SUB: case OP_ISUB: return "-";
    case OP_MUL: case OP_IMUL: return "*";
    case OP_DIV: return "/";
    default: return op_name[op];
    }
}

/* State shared by the rule helpers below: the node and where to complain. */
typedef struct Infer {
    const Graph *g;
    Node *n;
    char *err;
    size_t errlen;
} Infer;

static bool fail(Infer *I, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(Infer *I, const char *fmt, ...) {
    if (I->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(I->err, I->errlen, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* Short-lived text of a shape or a type; four rotating buffers so that one
 * message can name several. */
static const char *shp(Infer *I, const Shape *s) {
    static char bufs[4][256];
    static int next;
    char *b = bufs[next++ & 3];
    return shape_str(I->g, s, b, sizeof bufs[0]);
}

static const char *typ(Infer *I, const Node *x) {
    static char bufs[4][300];
    static int next;
    char *b = bufs[next++ & 3];
    return ir_type_str(I->g, x->dtype, &x->shape, b, sizeof bufs[0]);
}

static const char *sz(Infer *I, Size s) {
    static char bufs[4][96];
    static int next;
    char *b = bufs[next++ & 3];
    return size_str(I->g, s, b, sizeof bufs[0]);
}

static bool need_f32(Infer *I, const Node *x) {
    return x->dtype == DT_F32 ? true : fail(I, "expected a float tensor, got %s", typ(I, x));
}

static bool need_int_scalar(Infer *I, const Node *x) {
    return x->dtype == DT_I32 && x->shape.rank == 0 ? true : fail(I, "expected an int scalar, got %s", typ(I, x));
}

static bool need_rank(Infer *I, const Node *x, int lo, int hi, const char *what) {
    if (x->shape.rank >= lo && x->shape.rank <= hi)
        return true;
    return fail(I, "'%s' expects %s, got %s", op_name[I->n->op], what, typ(I, x));
}

static void set(Infer *I, DType dt, const Shape *s) {
    I->n->dtype = dt;
    I->n->shape = *s;
}

static void set_scalar(Infer *I, DType dt) {
    I->n->dtype = dt;
    I->n->shape = (Shape){0};
}

static Shape drop_axis(const Shape *s, int axis);

/* A loss op's float scalar, or its gradient op's logits shape (operand 0's;
 * operand 2 the scalar gradient of the loss): the approximations' ops.
 * rows (batch pass): operand 0 has leading axes of positions, one loss
 * per row (its shape less the last axis) and a gradient per row or one
 * for all. */
static bool loss_or_grad(Infer *I, Node *n, bool is_loss, bool rows) {
    Shape per = rows ? drop_axis(&n->in[0]->shape, n->in[0]->shape.rank - 1) : (Shape){0};
    if (is_loss) {
        set(I, DT_F32, &per);
        return true;
    }
    const Node *d = n->in[2];
    if (!need_f32(I, d) || (d->shape.rank != 0 && !shape_eq(&d->shape, &per)))
        return fail(I, "'%s' needs a float scalar gradient (or one per row), got %s", op_name[n->op], typ(I, d));
    set(I, DT_F32, &n->in[0]->shape);
    return true;
}

/* An int target: a scalar, or (batch pass) [n] or [T, n] targets. */
static bool need_targets(Infer *I, const Node *x) {
    return x->dtype == DT_I32 && x->shape.rank >= 1 && x->shape.rank < NN_MAXRANK ? true : need_int_scalar(I, x);
}

/* s (a rank-1 shape) with the axes of the targets y (batch pass) in front. */
static Shape per_target(const Node *y, Shape s) {
    Shape r = y->shape;
    r.d[r.rank++] = s.d[0];
    return r;
}

/* s without axis `axis`. */
static Shape drop_axis(const Shape *s, int axis) {
    Shape r = {.rank = s->rank - 1};
    for (int i = 0, j = 0; i < s->rank; i++)
        if (i != axis)
            r.d[j++] = s->d[i];
    return r;
}

static bool is_one(Size s) {
    return size_is_const(s) && s.c == 1;
}

/* NumPy broadcasting: align the shapes on their last axes; each pair of
 * sizes must be equal or one of them 1 (then the other wins); the longer
 * shape supplies the missing leading axes. */
/* NumPy's broadcast of a's and b's shapes into *r (false after reporting
 * two sizes that do not broadcast). */
static bool broadcast_shape(Infer *I, const Node *a, const Node *b, Shape *r) {
    const Shape *x = &a->shape, *y = &b->shape;
    *r = (Shape){.rank = x->rank > y->rank ? x->rank : y->rank};
    for (int i = 1; i <= r->rank; i++) {
        bool hx = i <= x->rank, hy = i <= y->rank;
        Size sx = hx ? x->d[x->rank - i] : size_const(1);
        Size sy = hy ? y->d[y->rank - i] : size_const(1);
        Size *out = &r->d[r->rank - i];
        if (!hy || size_eq(sx, sy) || is_one(sy))
            *out = sx;
        else if (!hx || is_one(sx))
            *out = sy;
        else
            return fail(I, "shape mismatch in '%s': %s %s %s (sizes %s and %s cannot be broadcast)",
                        op_symbol(I->n->op), shp(I, x), op_symbol(I->n->op), shp(I, y), sz(I, sx), sz(I, sy));
    }
    return true;
}

static bool infer_broadcast(Infer *I, const Node *a, const Node *b) {
    Shape r;
    if (!need_f32(I, a) || !need_f32(I, b) || !broadcast_shape(I, a, b, &r))
        return false;
    set(I, DT_F32, &r);
    return true;
}

/* Shape text of a matrix operand, with "^T" when it is used transposed. */
static const char *mat_text(Infer *I, const Node *x, bool t) {
    static char bufs[2][300];
    static int next;
    char *b = bufs[next++ & 1];
    snprintf(b, sizeof bufs[0], "%s%s", shp(I, &x->shape), t ? "^T" : "");
    return b;
}

static bool infer_matvec(Infer *I, const Node *a, const Node *x) {
    Node *n = I->n;
    if (!need_f32(I, a) || !need_f32(I, x))
        return false;
    if (a->shape.rank != 2 || x->shape.rank != 1)
        return fail(I, "shape mismatch in '@': %s @ %s (expected a matrix and a vector)", mat_text(I, a, n->ta),
                    shp(I, &x->shape));
    Size m = a->shape.d[n->ta ? 1 : 0], k = a->shape.d[n->ta ? 0 : 1];
    if (!size_eq(k, x->shape.d[0]))
        return fail(I, "shape mismatch in '@': %s @ %s (inner sizes %s and %s differ)", mat_text(I, a, n->ta),
                    shp(I, &x->shape), sz(I, k), sz(I, x->shape.d[0]));
    set(I, DT_F32, &(Shape){.rank = 1, .d = {m}});
    return true;
}

/* A matrix product whose a has rank > 2 (the batch pass's stacks of
 * vectorize.c's rows): its axes but the last are rows, [..., K] @ op(B)
 * -> [..., N], B a matrix. */
static bool infer_matmul_rows(Infer *I, const Node *a, const Node *b) {
    Node *n = I->n;
    const Shape *x = &a->shape, *y = &b->shape;
    if (n->ta || y->rank != 2 || !size_eq(x->d[x->rank - 1], y->d[n->tb ? 1 : 0]))
        return fail(I, "shape mismatch in '@' of stacked rows: %s @ %s%s%s", shp(I, x), shp(I, y), n->ta ? " ta" : "",
                    n->tb ? " tb" : "");
    Shape r = *x;
    r.d[r.rank - 1] = y->d[n->tb ? 0 : 1];
    set(I, DT_F32, &r);
    return true;
}

/* a ta, b: two stacks of rows [..., M] and [..., N] with the same leading
 * axes -> [M, N], the sum of a_r^T b_r over every leading position r (one
 * GEMM of the flattened rows: the batch pass's sum_t A_t^T B_t). */
static bool infer_matmul_rows_t(Infer *I, const Node *a, const Node *b) {
    Node *n = I->n;
    const Shape *x = &a->shape, *y = &b->shape;
    bool ok = !n->tb && x->rank == y->rank;
    for (int k = 0; ok && k < x->rank - 1; k++)
        ok = size_eq(x->d[k], y->d[k]);
    if (!ok)
        return fail(I, "shape mismatch in '@' of stacked rows: %s ta @ %s%s (expected the same leading axes)",
                    shp(I, x), shp(I, y), n->tb ? " tb" : "");
    set(I, DT_F32, &(Shape){.rank = 2, .d = {x->d[x->rank - 1], y->d[y->rank - 1]}});
    return true;
}

static bool infer_matmul(Infer *I, const Node *a, const Node *b) {
    Node *n = I->n;
    if (!need_f32(I, a) || !need_f32(I, b))
        return false;
    int ra = a->shape.rank, rb = b->shape.rank;
    if (ra > 2 && rb == 2) /* the batch pass's stacked rows (docs/IR.md) */
        return infer_matmul_rows(I, a, b);
    if (ra > 2 && n->ta) /* and its sum over the iterations of A_t^T B_t */
        return infer_matmul_rows_t(I, a, b);
    if (a->shape.rank != 2 || b->shape.rank != 2)
        return fail(I, "shape mismatch in '@': %s @ %s (expected two matrices)", mat_text(I, a, n->ta),
                    mat_text(I, b, n->tb));
    Size m = a->shape.d[n->ta ? 1 : 0], ka = a->shape.d[n->ta ? 0 : 1];
    Size kb = b->shape.d[n->tb ? 1 : 0], nn = b->shape.d[n->tb ? 0 : 1];
    if (!size_eq(ka, kb))
        return fail(I, "shape mismatch in '@': %s @ %s (inner sizes %s and %s differ)", mat_text(I, a, n->ta),
                    mat_text(I, b, n->tb), sz(I, ka), sz(I, kb));
    set(I, DT_F32, &(Shape){.rank = 2, .d = {m, nn}});
    return true;
}

/* a product per leading index (--batch: two per-example matrices): a
 * [B, M, K] (ta: [B, K, M]) or one matrix [M, K] for every i, b likewise
 * [B, K, N] (tb: [B, N, K]) or [K, N]; at least one has the B axis, both
 * the same B -> [B, M, N]. */
static bool infer_bmm(Infer *I, const Node *a, const Node *b) {
    Node *n = I->n;
    if (!need_f32(I, a) || !need_f32(I, b))
        return false;
    int ra = a->shape.rank, rb = b->shape.rank;
    if (ra < 2 || ra > 3 || rb < 2 || rb > 3 || (ra == 2 && rb == 2) ||
        (ra == 3 && rb == 3 && !size_eq(a->shape.d[0], b->shape.d[0])))
        return fail(I, "shape mismatch in 'batch_matmul': %s @ %s (expected [B, M, K] or [M, K] and [B, K, N] or "
                    "[K, N], one B at least)", shp(I, &a->shape), shp(I, &b->shape));
    const Size *x = a->shape.d + ra - 2, *y = b->shape.d + rb - 2;
    Size m = x[n->ta ? 1 : 0], ka = x[n->ta ? 0 : 1], kb = y[n->tb ? 1 : 0], nn = y[n->tb ? 0 : 1];
    if (!size_eq(ka, kb))
        return fail(I, "shape mismatch in 'batch_matmul': %s%s @ %s%s (inner sizes %s and %s differ)",
                    shp(I, &a->shape), n->ta ? " ta" : "", shp(I, &b->shape), n->tb ? " tb" : "", sz(I, ka), sz(I, kb));
    set(I, DT_F32, &(Shape){.rank = 3, .d = {ra == 3 ? a->shape.d[0] : b->shape.d[0], m, nn}});
    return true;
}

static bool infer_concat(Infer *I, const Node *a, const Node *b) {
    const Shape *x = &a->shape, *y = &b->shape;
    if (a->dtype != b->dtype)
        return fail(I, "'concat' needs two tensors of one element type, got %s and %s", typ(I, a), typ(I, b));
    const int axis = I->n->index; /* 0, or 1 for the batch pass's rows of per-iteration concats */
    if (x->rank < 1 || x->rank != y->rank || axis < 0 || axis >= x->rank)
        return fail(I, "shape mismatch in 'concat': %s and %s (expected two tensors of the same rank > axis %d)",
                    shp(I, x), shp(I, y), axis);
    for (int i = 0; i < x->rank; i++)
        if (i != axis && !size_eq(x->d[i], y->d[i]))
            return fail(I, "shape mismatch in 'concat': %s and %s (axis %d: sizes %s and %s differ)", shp(I, x),
                        shp(I, y), i, sz(I, x->d[i]), sz(I, y->d[i]));
    Shape r = *x;
    r.d[axis] = size_add(x->d[axis], y->d[axis]);
    set(I, a->dtype, &r);
    return true;
}

/* Int arithmetic: on scalars (index expressions), and, once the batch pass
 * has turned a loop index into a RANGE, on int tensors, broadcast as
 * NumPy does (a scalar, [n] with [n], --batch's lengths [B] with steps
 * [n, 1]). */
static bool infer_int_arith(Infer *I, const Node *a, const Node *b) {
    const char *sym = op_symbol(I->n->op);
    if (a->dtype != DT_I32 || b->dtype != DT_I32)
        return fail(I, "'%s' needs int scalars or int vectors, got %s and %s", sym, typ(I, a), typ(I, b));
    /* NumPy's broadcasting (batched index tables: [T, B]; --batch's masks,
     * lengths [B] against steps [T, 1]) */
    Shape r;
    if (!broadcast_shape(I, a, b, &r))
        return false;
    set(I, DT_I32, &r);
    return true;
}

/* The value of a CARRY node: that of the carry's initial value. */
static bool infer_carry(Infer *I) {
    Node *n = I->n;
    Loop *l = n->loop;
    if (!l || !l->node || n->index < 0 || n->index >= l->node->nin || !l->node->in || !l->node->in[n->index])
        return fail(I, "carry %d has no initial value", n->index);
    Node *init = l->node->in[n->index];
    set(I, init->dtype, &init->shape);
    return true;
}

/* A LOOPOUT: carry r -> the carry's type; stack -> one more leading axis of
 * the trip count; sum -> the summed value's type. */
static bool infer_loopout(Infer *I, const Node *ln) {
    Node *n = I->n;
    if (ln->op != OP_LOOP || !ln->loop)
        return fail(I, "'loopout' reads a %s node, not a loop", ir_opname(ln->op));
    Loop *l = ln->loop;
    int r = n->index;
    if (r < 0 || r >= l->ncarry + l->nstack + l->nsum)
        return fail(I, "loop result %d out of range (the loop has %d)", r, l->ncarry + l->nstack + l->nsum);
    if (r < l->ncarry) {
        if (r >= ln->nin || !ln->in || !ln->in[r])
            return fail(I, "carry %d has no initial value", r);
        set(I, ln->in[r]->dtype, &ln->in[r]->shape);
        return true;
    }
    r -= l->ncarry;
    if (r < l->nstack) {
        const Node *v = l->stack[r];
        if (!v)
            return fail(I, "stacked result %d has no value", r);
        if (v->shape.rank + 1 > NN_MAXRANK)
            return fail(I, "cannot stack %s over a loop: the result would have rank %d (at most %d)", typ(I, v),
                        v->shape.rank + 1, NN_MAXRANK);
        Shape s = {.rank = v->shape.rank + 1};
        s.d[0] = size_sub(l->hi, l->lo);
        for (int i = 0; i < v->shape.rank; i++)
            s.d[i + 1] = v->shape.d[i];
        set(I, v->dtype, &s);
        return true;
    }
    r -= l->nstack;
    const Node *v = l->sum[r];
    if (!v)
        return fail(I, "summed result %d has no value", r);
    set(I, v->dtype, &v->shape);
    return true;
}

/* Can `from` broadcast to `to` (NumPy rules: aligned on the last axes, each
 * size equal or 1 in `from`, `from` no longer than `to`)? */
static bool broadcasts_to(const Shape *from, const Shape *to) {
    if (from->rank > to->rank)
        return false;
    for (int i = 1; i <= from->rank; i++) {
        Size f = from->d[from->rank - i], t = to->d[to->rank - i];
        if (!size_eq(f, t) && !is_one(f))
            return false;
    }
    return true;
}

/* The gradient ops whose result shape the builder presets (like FILL):
 * the rule checks the operands against it and sets the dtype. */
/* rows_dot W, ids, h; rows_wsum W, ids, g; scatter_add g, ids, h (the
 * rows pass, docs/IR.md): a table [V, H] (scatter: the preset shape), ids
 * int [P..., n], h [P..., H], g [P..., n]. */
/* rows_dot(W, ids, h), rows_wsum(W, ids, g), and the scatters of rows
 * g[..., j] h[...] into the result at ids: (g, ids, h), or several such
 * segments one after the other (the rows pass's join of a sum of
 * scatters: each segment's rows added in turn, no concat). */
static bool infer_rows(Infer *I) {
    Node *n = I->n;
    bool dot = n->op == OP_ROWSDOT, wsum = n->op == OP_ROWSWSUM;
    const Shape *tab = dot || wsum ? &n->in[0]->shape : &n->shape;
    for (int k = 0; k + 2 < n->nin; k += 3) {
        const Node *ids = n->in[k + 1];
        if (tab->rank != 2 || ((dot || wsum) && n->in[0]->dtype != DT_F32) || ids->dtype != DT_I32 ||
            ids->shape.rank < 1)
            return fail(I, "'%s' needs a float table of rank 2 and int ids, got %s and %s", op_name[n->op],
                        shp(I, tab), typ(I, ids));
        Shape gs = ids->shape, hs = ids->shape; /* [P..., n], [P..., H] */
        hs.d[hs.rank - 1] = tab->d[1];
        const Node *g = wsum ? n->in[2] : dot ? NULL : n->in[k], *h = wsum ? NULL : n->in[k + 2];
        bool bad_g = g && (g->dtype != DT_F32 || !shape_eq(&g->shape, &gs));
        if (!dot && h && ids->shape.rank < NN_MAXRANK && h->shape.rank == ids->shape.rank + 1) {
            hs = ids->shape; /* a scatter's rows of their own: [P..., n, H] (c_rows_per_entry) */
            hs.d[hs.rank++] = tab->d[1];
        }
        if (bad_g || (h && (h->dtype != DT_F32 || !shape_eq(&h->shape, &hs))))
            return fail(I, "'%s' at ids %s needs f32%s scales and f32%s rows", op_name[n->op], typ(I, ids),
                        shp(I, &gs), shp(I, &hs));
        if (dot || wsum)
            set(I, DT_F32, dot ? &gs : &hs);
    }
    return true;
}

static bool infer_preset(Infer *I, const Node *a, const Node *b) {
    Node *n = I->n;
    const Shape *s = &n->shape;
    if (s->rank < 0 || s->rank > NN_MAXRANK)
        return fail(I, "'%s' has rank %d (at most %d)", op_name[n->op], s->rank, NN_MAXRANK);
    if (!need_f32(I, a))
        return false;
    switch (n->op) {
    case OP_BROADCAST:
        if (!broadcasts_to(&a->shape, s))
            return fail(I, "'broadcast' cannot broadcast %s to %s", shp(I, &a->shape), shp(I, s));
        break;
    case OP_SUMTO:
        if (!broadcasts_to(s, &a->shape))
            return fail(I, "'sum_to' cannot sum %s down to %s", shp(I, &a->shape), shp(I, s));
        break;
    case OP_EXPAND: {
        if (n->index < 0 || n->index >= s->rank)
            return fail(I, "'expand' axis %d out of range for %s", n->index, shp(I, s));
        Shape want = drop_axis(s, n->index);
        if (!shape_eq(&want, &a->shape))
            return fail(I, "'expand' of %s at axis %d cannot give %s", shp(I, &a->shape), n->index, shp(I, s));
        break;
    }
    case OP_SLICE: {
        bool ok = s->rank >= 1 && s->rank == a->shape.rank;
        for (int i = 1; ok && i < s->rank; i++)
            ok = size_eq(s->d[i], a->shape.d[i]);
        if (ok && size_is_const(s->d[0]) && size_is_const(a->shape.d[0]) && size_is_const(n->size))
            ok = n->size.c >= 0 && n->size.c + s->d[0].c <= a->shape.d[0].c;
        if (!ok)
            return fail(I, "'slice' of %s rows %s.. cannot give %s", shp(I, &a->shape), sz(I, n->size), shp(I, s));
        break;
    }
    case OP_SCATTERADD:
    case OP_SCATTERROWS:
    case OP_SPARSESCATTER: {
        if (n->nin >= 3)
            return infer_rows(I);
        /* b an int scalar: a is one row; b int [k...]: a is k... rows (the
         * batch pass's [T, k] ids of a loop's scatters) */
        if (s->rank < 1 || b->dtype != DT_I32)
            return fail(I, "'scatter_add' needs a result of rank >= 1 and int ids, got %s and %s", shp(I, s),
                        typ(I, b));
        Shape want = drop_axis(s, 0);
        if (b->shape.rank >= 1) {
            int nb = b->shape.rank;
            if (want.rank + nb > NN_MAXRANK)
                return fail(I, "'scatter_add' result %s has too many axes", shp(I, s));
            for (int i = want.rank - 1; i >= 0; i--)
                want.d[i + nb] = want.d[i];
            for (int i = 0; i < nb; i++)
                want.d[i] = b->shape.d[i];
            want.rank += nb;
        }
        if (!shape_eq(&want, &a->shape))
            return fail(I, "'scatter_add' of rows %s at ids %s cannot give %s", shp(I, &a->shape), typ(I, b),
                        shp(I, s));
        break;
    }
    case OP_PICKGRAD: {
        if (s->rank < 1)
            return fail(I, "'pick_grad' needs a result of rank >= 1");
        Shape want = drop_axis(s, s->rank - 1);
        if (!shape_eq(&want, &a->shape) || b->dtype != DT_I32 || !shape_eq(&want, &b->shape))
            return fail(I, "'pick_grad' to %s needs values and int indices of shape %s, got %s and %s", shp(I, s),
                        shp(I, &want), typ(I, a), typ(I, b));
        break;
    }
    default:
        NN_ASSERT(0);
    }
    n->dtype = DT_F32;
    return true;
}

/* linear_logsumexp (X, W [, b]) and linear_pick (X, W, y [, b]): the
 * logits X W^T + b of shape [M, N], of which one value per row is the
 * result [M] (y one int label per row). */
static bool infer_linear(Infer *I) {
    Node *n = I->n;
    bool pick = n->op == OP_LINEARPICK;
    int base = pick ? 3 : 2;
    if (n->nin != base && n->nin != base + 1)
        return fail(I, "'%s' has %d operands, expected %d or %d", op_name[n->op], n->nin, base, base + 1);
    const Node *x = n->in[0], *w = n->in[1], *b = n->nin > base ? n->in[base] : NULL;
    if (!need_f32(I, x) || !need_f32(I, w) || (b && !need_f32(I, b)))
        return false;
    if (x->shape.rank != 2 || w->shape.rank != 2 || !size_eq(x->shape.d[1], w->shape.d[1]))
        return fail(I, "shape mismatch in '%s': %s and %s (expected [M, K] and [N, K])", op_name[n->op],
                    shp(I, &x->shape), shp(I, &w->shape));
    if (b && (b->shape.rank != 1 || !size_eq(b->shape.d[0], w->shape.d[0])))
        return fail(I, "'%s': bias %s does not match %s rows of weights", op_name[n->op], shp(I, &b->shape),
                    sz(I, w->shape.d[0]));
    Shape r = {.rank = 1, .d = {x->shape.d[0]}};
    if (pick && (n->in[2]->dtype != DT_I32 || !shape_eq(&n->in[2]->shape, &r)))
        return fail(I, "'linear_pick' needs int labels %s, got %s", shp(I, &r), typ(I, n->in[2]));
    set(I, DT_F32, &r);
    return true;
}

bool ir_infer(const Graph *g, Node *n, char *err, size_t errlen) {
    Infer I = {g, n, err, errlen};
    if (errlen > 0)
        err[0] = '\0';
    if (n->op < 0 || n->op >= OP_COUNT)
        return fail(&I, "unknown op %d", (int)n->op);
    /* Structural sanity first, so a broken graph cannot crash the rules. */
    int arity = op_arity[n->op];
    if (arity >= 0 && n->nin != arity)
        return fail(&I, "'%s' has %d operands, expected %d", op_name[n->op], n->nin, arity);
    if (n->nin > 0 && !n->in)
        return fail(&I, "'%s' has no operand array", op_name[n->op]);
    for (int i = 0; i < n->nin; i++) {
        if (!n->in[i])
            return fail(&I, "operand %d of '%s' is missing", i, op_name[n->op]);
        if (n->in[i]->op == OP_LOOP && n->op != OP_LOOPOUT)
            return fail(&I, "operand %d of '%s' is a loop, which has no value", i, op_name[n->op]);
    }
    Node *a = n->nin > 0 ? n->in[0] : NULL, *b = n->nin > 1 ? n->in[1] : NULL;
    if ((n->op == OP_SCATTERADD || n->op == OP_SCATTERROWS || n->op == OP_SPARSESCATTER) &&
        n->nin != 2 && (n->nin < 3 || n->nin % 3 != 0))
        return fail(&I, "'%s' has %d operands, expected 2 or 3 (or segments of 3)", op_name[n->op], n->nin);
    if (n->op == OP_NEGLOSSGRAD && n->nin < 3)
        return fail(&I, "'%s' has %d operands, expected 3 or more", op_name[n->op], n->nin);

    if (op_flags[n->op] & OPF_ELEMWISE) {
        if (arity == 2)
            return infer_broadcast(&I, a, b);
        if (!need_f32(&I, a))
            return false;
        set(&I, DT_F32, &a->shape);
        return true;
    }

    switch (n->op) {
    case OP_CONST:
        set_scalar(&I, DT_F32);
        return true;
    case OP_ICONST:
    case OP_DIM:
    case OP_INDEX:
        set_scalar(&I, DT_I32);
        return true;
    case OP_PARAM:
        if (!g || n->index < 0 || n->index >= g->nparams)
            return fail(&I, "param number %d does not exist", n->index);
        set(&I, DT_F32, &g->params[n->index].shape);
        return true;
    case OP_INPUT:
        if (!g || n->index < 0 || n->index >= g->ninputs)
            return fail(&I, "input number %d does not exist", n->index);
        set(&I, g->inputs[n->index].dtype, &g->inputs[n->index].shape);
        return true;
    case OP_FILL: /* the builder set the shape */
        if (n->shape.rank < 0 || n->shape.rank > NN_MAXRANK)
            return fail(&I, "'fill' has rank %d (at most %d)", n->shape.rank, NN_MAXRANK);
        n->dtype = DT_F32;
        return true;
    case OP_CARRY:
        return infer_carry(&I);
    case OP_RANGE: /* like FILL: the builder set the shape [n] (or [n, 1], a column) */
        if (n->shape.rank != 1 && !(n->shape.rank == 2 && is_one(n->shape.d[1])))
            return fail(&I, "'range' must have shape [n] or [n, 1], has rank %d", n->shape.rank);
        n->dtype = DT_I32;
        return true;
    case OP_IADD:
    case OP_ISUB:
    case OP_IMUL:
    case OP_CHECKIDX: /* i and hi broadcast */
        return infer_int_arith(&I, a, b);
    case OP_MATVEC:
    case OP_MATMUL: {
        if (n->nin != 2 && n->nin != 3)
            return fail(&I, "'%s' has %d operands, expected 2 or 3", op_name[n->op], n->nin);
        if (!(n->op == OP_MATVEC ? infer_matvec(&I, a, b) : infer_matmul(&I, a, b)))
            return false;
        if (n->nin == 3) { /* + c, broadcast from the right */
            Node *c = n->in[2];
            if (!need_f32(&I, c))
                return false;
            bool ok = c->shape.rank <= n->shape.rank;
            for (int k = 0; ok && k < c->shape.rank; k++)
                ok = size_eq(c->shape.d[k], n->shape.d[n->shape.rank - c->shape.rank + k]);
            if (!ok)
                return fail(&I, "the added operand %s of '%s' does not broadcast to %s", shp(&I, &c->shape),
                            op_name[n->op], shp(&I, &n->shape));
        }
        return true;
    }
    case OP_BMM:
        return infer_bmm(&I, a, b);
    case OP_ARG: /* like FILL: the fuse pass set the operand's type (and dtype) */
        return true;
    case OP_FUSED: {
        if (!n->fused || n->fused->n == 0)
            return fail(&I, "'fused' has no body");
        /* f32 operands, and i32 labels of pick_grad members (the verifier
         * checks who reads what) */
        const Node *r = n->fused->nodes[n->fused->n - 1];
        set(&I, r->dtype, &r->shape);
        return true;
    }
    case OP_TRANSPOSE: { /* [M, N] -> [N, M]; [B, M, N] -> [B, N, M] (--batch: each example's matrix) */
        if (!need_f32(&I, a) || !need_rank(&I, a, 2, 3, "a matrix"))
            return false;
        Shape s = a->shape;
        s.d[s.rank - 2] = a->shape.d[s.rank - 1];
        s.d[s.rank - 1] = a->shape.d[s.rank - 2];
        set(&I, DT_F32, &s);
        return true;
    }
    case OP_SAMPLE: { /* the target, then k draws among size words */
        if (n->nin < 1)
            return fail(&I, "'%s' needs a target", op_name[n->op]);
        /* the target, the loop indexes: int scalars, or (batch pass)
         * tensors of one shape ([n] or [T, n]), one row of draws per
         * element */
        const Node *rows = NULL;
        for (int j = 0; j < n->nin; j++) {
            const Node *o = n->in[j];
            if (o->dtype == DT_I32 && o->shape.rank >= 1 && o->shape.rank < NN_MAXRANK &&
                (!rows || shape_eq(&rows->shape, &o->shape)))
                rows = rows ? rows : o;
            else if (!need_int_scalar(&I, o))
                return false;
        }
        if (n->i < 1 || !size_is_const(n->size) || n->size.c < 1)
            return fail(&I, "'%s' needs k >= 1 draws among a static vocabulary (k = %" PRId64 ")", op_name[n->op],
                        n->i);
        Shape s = rows ? rows->shape : (Shape){0};
        s.d[s.rank++] = size_const(n->i + 1);
        set(&I, DT_I32, &s);
        return true;
    }
    case OP_HIERPATH:
    case OP_HIERLABEL: /* a target's path in a tree over size words, at most i nodes; (batch pass)
                          targets [n] or [T, n]: one path per target, along a new last axis */
        if (!(a->dtype == DT_I32 && a->shape.rank >= 1 && a->shape.rank < NN_MAXRANK) && !need_int_scalar(&I, a))
            return false;
        if (n->i < 1 || !size_is_const(n->size) || n->size.c < 2)
            return fail(&I, "'%s' needs a path length >= 1 and a static vocabulary of 2 words or more", op_name[n->op]);
        {
            Shape s = a->shape;
            s.d[s.rank++] = size_const(n->i);
            set(&I, DT_I32, &s);
        }
        return true;
    case OP_CLASSIDS:
    case OP_BINCODE: /* i ids or bits of a target among size words; (batch pass) targets [n]: one row each */
        if (!need_targets(&I, a))
            return false;
        if (n->i < 1 || !size_is_const(n->size) || n->size.c < 1)
            return fail(&I, "'%s' needs a length >= 1 and a static vocabulary", op_name[n->op]);
        {
            Shape s = per_target(a, (Shape){.rank = 1, .d = {size_const(n->i)}});
            set(&I, DT_I32, &s);
        }
        return true;
    case OP_BINSLOT:
        if (!need_targets(&I, a))
            return false;
        set(&I, DT_I32, &a->shape);
        return true;
    case OP_BINLOGZ:
    case OP_CLASSLOSS:
    case OP_CLASSGRAD: { /* logits [n] of the classes or of a class range, the target; (batch pass)
                            [T, n] and [T] (or [T, B, n] and [T, B]) */
        Shape lead = a->shape.rank >= 2 ? drop_axis(&a->shape, a->shape.rank - 1) : (Shape){0};
        bool rows = a->shape.rank >= 2 && b->dtype == DT_I32 && shape_eq(&b->shape, &lead);
        if (!need_f32(&I, a) || (a->shape.rank != 1 && !rows) || !size_is_const(a->shape.d[a->shape.rank - 1]) ||
            (!rows && !ir_is_int_scalar(b)))
            return fail(&I, "'%s' needs a static f32 vector of logits and an int target, got %s and %s",
                        op_name[n->op], typ(&I, a), typ(&I, b));
        return loss_or_grad(&I, n, n->op != OP_CLASSGRAD, rows);
    }
    case OP_VMFLOSS:
    case OP_VMFGRAD: { /* the output vector and the target's embedding, [m] each, m > 2; (batch pass) [T, m]
                          or [T, B, m] */
        bool rows = a->shape.rank >= 2;
        if (!need_f32(&I, a) || !need_f32(&I, b) || (a->shape.rank != 1 && !rows) || !shape_eq(&a->shape, &b->shape) ||
            !size_is_const(a->shape.d[a->shape.rank - 1]) || a->shape.d[a->shape.rank - 1].c <= 2)
            return fail(&I, "'%s' needs two f32 vectors of one static size over 2, got %s and %s", op_name[n->op],
                        typ(&I, a), typ(&I, b));
        return loss_or_grad(&I, n, n->op == OP_VMFLOSS, rows);
    }
    case OP_LOGISTICLOSS:
    case OP_LOGISTICGRAD:
    case OP_NCELOSS:
    case OP_NCEGRAD:
    case OP_SAMPLEDLOSS:
    case OP_SAMPLEDGRAD:
    case OP_NEGLOSS:
    case OP_NEGLOSSGRAD: { /* logits [k+1] of the target and its samples, their ids [k+1]; or (batch pass)
                            [n, k+1] of n positions (or [T, n, k+1]), one loss each */
        bool rows = a->shape.rank >= 2 && size_is_const(a->shape.d[a->shape.rank - 1]);
        if (!need_f32(&I, a) || (a->shape.rank != 1 && !rows) || b->dtype != DT_I32 || !shape_eq(&a->shape, &b->shape))
            return fail(&I, "shape mismatch in '%s': logits %s and ids %s (expected f32 and i32 vectors of one size)",
                        op_name[n->op], typ(&I, a), typ(&I, b));
        const Size len = a->shape.d[a->shape.rank - 1];
        const int64_t nseg = n->op == OP_NEGLOSSGRAD ? n->nin - 2 : 1; /* neg_loss_grad: one d per segment */
        if (n->op != OP_LOGISTICLOSS && n->op != OP_LOGISTICGRAD &&
            (n->index < 0 || n->i < 1 || !size_is_const(len) || n->index + nseg * n->i > len.c))
            return fail(&I, "'%s': segment [%d, %d + %" PRId64 ") out of %s", op_name[n->op], n->index, n->index,
                        nseg * n->i, typ(&I, a));
        const Shape per = drop_axis(&a->shape, a->shape.rank - 1); /* one loss per row */
        if (n->op == OP_NEGLOSS || n->op == OP_LOGISTICLOSS || n->op == OP_NCELOSS || n->op == OP_SAMPLEDLOSS) {
            set(&I, DT_F32, &per);
            return true;
        }
        for (int k = 2; k < n->nin; k++) {
            const Node *d = n->in[k];
            if (!need_f32(&I, d) || (d->shape.rank != 0 && !shape_eq(&d->shape, &per)))
                return fail(&I, "'%s' needs a float scalar gradient (or one per row), got %s", op_name[n->op],
                            typ(&I, d));
        }
        set(&I, DT_F32, &a->shape);
        return true;
    }
    case OP_DOT:
    case OP_BXENT: /* two float vectors of one size -> a scalar */
        if (!need_f32(&I, a) || !need_f32(&I, b))
            return false;
        if (a->shape.rank != 1 || b->shape.rank != 1 || !size_eq(a->shape.d[0], b->shape.d[0]))
            return fail(&I, "shape mismatch in '%s': %s and %s (expected two vectors of one size)", op_name[n->op],
                        shp(&I, &a->shape), shp(&I, &b->shape));
        set_scalar(&I, DT_F32);
        return true;
    case OP_ROW: {
        if (!need_rank(&I, a, 1, NN_MAXRANK, "a tensor of rank >= 1 to index") || !need_int_scalar(&I, b))
            return false;
        Shape s = drop_axis(&a->shape, 0);
        set(&I, a->dtype, &s);
        return true;
    }
    case OP_GATHER: {
        if (!need_rank(&I, a, 1, NN_MAXRANK, "a tensor of rank >= 1 to index"))
            return false;
        if (b->dtype != DT_I32 || b->shape.rank < 1)
            return fail(&I, "indexing with a vector needs an int vector of ids, got %s", typ(&I, b));
        if (b->shape.rank + a->shape.rank - 1 > NN_MAXRANK)
            return fail(&I, "indexing %s with ids %s gives too many axes", typ(&I, a), typ(&I, b));
        /* [ids' shape..., a.shape[1:]...] (NumPy's a[ids]); ids of rank 2
         * come from the batch pass (a loop's gathers as one) */
        Shape s = {.rank = b->shape.rank + a->shape.rank - 1};
        for (int i = 0; i < b->shape.rank; i++)
            s.d[i] = b->shape.d[i];
        for (int i = 1; i < a->shape.rank; i++)
            s.d[b->shape.rank + i - 1] = a->shape.d[i];
        set(&I, a->dtype, &s);
        return true;
    }
    case OP_SUM:
    case OP_MEAN:
        if (!need_f32(&I, a))
            return false;
        set_scalar(&I, DT_F32);
        return true;
    case OP_SUMAXIS:
    case OP_MEANAXIS: {
        if (!need_f32(&I, a))
            return false;
        if (n->index < 0 || n->index >= a->shape.rank)
            return fail(&I, "axis %d out of range in %s of %s (rank %d)", n->index,
                        n->op == OP_SUMAXIS ? "'sum'" : "'mean'",
                        typ(&I, a), a->shape.rank);
        Shape s = drop_axis(&a->shape, n->index);
        set(&I, DT_F32, &s);
        return true;
    }
    case OP_CONCAT:
        return infer_concat(&I, a, b);
    case OP_SOFTMAX:
    case OP_LOGSOFTMAX:
        if (!need_f32(&I, a) || !need_rank(&I, a, 1, NN_MAXRANK, "a tensor of rank >= 1"))
            return false;
        set(&I, DT_F32, &a->shape);
        return true;
    case OP_XENT:
    case OP_PICK: {
        /* z [..., V] and one int label per row: [...] */
        if (!need_f32(&I, a) || !need_rank(&I, a, 1, NN_MAXRANK, "logits of rank >= 1"))
            return false;
        Shape want = drop_axis(&a->shape, a->shape.rank - 1);
        if (b->dtype != DT_I32 || !shape_eq(&b->shape, &want))
            return fail(&I, "shape mismatch in '%s': logits %s need int targets %s, got %s", op_name[n->op],
                        shp(&I, &a->shape), shp(&I, &want), typ(&I, b));
        set(&I, DT_F32, &b->shape);
        return true;
    }
    case OP_LOGSUMEXP:
        if (!need_f32(&I, a) || !need_rank(&I, a, 1, NN_MAXRANK, "an operand of rank >= 1"))
            return false;
        {
            Shape r = drop_axis(&a->shape, a->shape.rank - 1);
            set(&I, DT_F32, &r);
        }
        return true;
    case OP_OUTER:
        if (!need_f32(&I, a) || !need_f32(&I, b))
            return false;
        if (a->shape.rank != 1 || b->shape.rank != 1)
            return fail(&I, "'outer' expects two vectors, got %s and %s", typ(&I, a), typ(&I, b));
        set(&I, DT_F32, &(Shape){.rank = 2, .d = {a->shape.d[0], b->shape.d[0]}});
        return true;
    case OP_BROADCAST:
    case OP_SUMTO:
    case OP_EXPAND:
    case OP_SLICE:
    case OP_SCATTERADD:
    case OP_PICKGRAD:
        return infer_preset(&I, a, b);
    case OP_RESHAPE: { /* vectorize.c's view of a time-major [S, B, ...] as rows [S B, ...] */
        const Shape *s = &n->shape;
        Size ca = size_const(1), cn = size_const(1);
        bool ok = s->rank >= 1 && s->rank <= NN_MAXRANK && a->shape.rank >= 1; /* a tensor's view, not a scalar */
        for (int k = 0; ok && k < a->shape.rank; k++)
            ok = size_mul(ca, a->shape.d[k], &ca);
        for (int k = 0; ok && k < s->rank; k++)
            ok = size_mul(cn, s->d[k], &cn);
        if (!ok || !size_eq(ca, cn))
            return fail(&I, "'reshape' of %s cannot give %s", typ(&I, a), shp(&I, s));
        n->dtype = a->dtype;
        return true;
    }
    case OP_SOFTMAXGRAD:
    case OP_LOGSOFTMAXGRAD:
        if (!need_f32(&I, a) || !need_f32(&I, b) || !need_rank(&I, a, 1, NN_MAXRANK, "a tensor of rank >= 1"))
            return false;
        if (!shape_eq(&a->shape, &b->shape))
            return fail(&I, "shape mismatch in '%s': %s and %s (expected one shape)", op_name[n->op],
                        shp(&I, &a->shape), shp(&I, &b->shape));
        set(&I, DT_F32, &a->shape);
        return true;
    case OP_LINEARLSE:
    case OP_LINEARPICK:
        return infer_linear(&I);
    case OP_GATHERSUM:
    case OP_GATHERMEAN: { /* a [V, ...], ids int [n] -> [...] */
        if (!need_f32(&I, a) || !need_rank(&I, a, 1, NN_MAXRANK, "a tensor of rank >= 1 to index"))
            return false;
        if (b->dtype != DT_I32 || b->shape.rank != 1)
            return fail(&I, "'%s' needs an int vector of ids, got %s", op_name[n->op], typ(&I, b));
        Shape s = drop_axis(&a->shape, 0);
        set(&I, DT_F32, &s);
        return true;
    }
    case OP_SCATTERROWS:
    case OP_SPARSESCATTER:
        return infer_preset(&I, a, b);
    case OP_ROWSDOT:
    case OP_ROWSWSUM:
        return infer_rows(&I);
    case OP_MULSUM: { /* the product's shape (broadcasting), less the summed axis */
        if (!infer_broadcast(&I, a, b))
            return false;
        if (n->index < 0 || n->index >= n->shape.rank)
            return fail(&I, "axis %d out of range in 'mul_sum' of %s", n->index, shp(&I, &n->shape));
        Shape s = drop_axis(&n->shape, n->index);
        set(&I, DT_F32, &s);
        return true;
    }
    case OP_LOOP: /* no value: only LOOPOUT reads it */
        set_scalar(&I, DT_F32);
        return true;
    case OP_LOOPOUT:
        return infer_loopout(&I, a);
    case OP_TODEVICE:
    case OP_TOHOST: /* the same value, somewhere else */
        set(&I, a->dtype, &a->shape);
        return true;
    default:
        break;
    }
    return fail(&I, "no typing rule for '%s'", op_name[n->op]);
}

