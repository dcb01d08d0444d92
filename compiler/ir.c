/*
 * ir.c - the graph IR: op tables, sizes and shapes, builders, the typing
 * rules (ir_infer), the text and Graphviz dumps, and the verifier.
 *
 * The IR itself is described in docs/IR.md; its types are in nngc.h. This
 * file is the only one that knows an op's typing rule: the front end calls
 * ir_infer() to type a node it builds (and turns a failure into a
 * diagnostic), and the verifier calls it again after every pass to check
 * that the pass left every node with the type its operands give it.
 *
 * Nothing here allocates except through the compilation arena (xalloc), and
 * nothing here aborts on a malformed graph: the printer and the verifier are
 * what one reaches for when a graph is broken, so they must survive it.
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

/* Name of an op that may be out of range (broken graphs are printed too). */
static const char *opname(int op) {
    return op >= 0 && op < OP_COUNT ? op_name[op] : "?";
}

/* ================================================================ sizes */

/* Sizes wrap around instead of overflowing (signed overflow is undefined
 * behaviour); the front end rejects sizes that large before they matter. */
static int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static int64_t wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static int64_t wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

Size size_const(int64_t c) {
    return (Size){.c = c};
}

Size size_dyn(int dyn) {
    NN_ASSERT(dyn >= 0 && dyn < NN_MAXDYN);
    Size s = {0};
    s.k[dyn] = 1;
    return s;
}

Size size_add(Size a, Size b) {
    Size r = {.c = wrap_add(a.c, b.c)};
    for (int i = 0; i < NN_MAXDYN; i++)
        r.k[i] = wrap_add(a.k[i], b.k[i]);
    return r;
}

Size size_sub(Size a, Size b) {
    Size r = {.c = wrap_sub(a.c, b.c)};
    for (int i = 0; i < NN_MAXDYN; i++)
        r.k[i] = wrap_sub(a.k[i], b.k[i]);
    return r;
}

/* Multiplies every term of a by the constant c. */
static Size size_scale(Size a, int64_t c) {
    Size r = {.c = wrap_mul(a.c, c)};
    for (int i = 0; i < NN_MAXDYN; i++)
        r.k[i] = wrap_mul(a.k[i], c);
    return r;
}

bool size_mul(Size a, Size b, Size *out) {
    if (size_is_const(a)) {
        *out = size_scale(b, a.c);
        return true;
    }
    if (size_is_const(b)) {
        *out = size_scale(a, b.c);
        return true;
    }
    return false; /* (k*T + c) * (m*S + d) has a T*S term: not affine */
}

bool size_eq(Size a, Size b) {
    if (a.c != b.c)
        return false;
    for (int i = 0; i < NN_MAXDYN; i++)
        if (a.k[i] != b.k[i])
            return false;
    return true;
}

bool size_is_const(Size a) {
    for (int i = 0; i < NN_MAXDYN; i++)
        if (a.k[i] != 0)
            return false;
    return true;
}

/* The declaration of dynamic dim number dyn, or NULL. */
static const DimDecl *dyn_decl(const Graph *g, int dyn) {
    if (!g)
        return NULL;
    for (int i = 0; i < g->ndims; i++)
        if (g->dims[i].dynamic && g->dims[i].dyn == dyn)
            return &g->dims[i];
    return NULL;
}

/* A size is affine, so over the box 1 <= dyn_i <= max_i its extremes sit at
 * the corners: each term on its own is largest at max_i when k > 0 and at 1
 * when k < 0. For the usual sizes (k >= 0) the maximum is simply the value
 * with every dim at its max. */
int64_t size_max(const Graph *g, Size a, int64_t *min) {
    int64_t hi = a.c, lo = a.c;
    for (int i = 0; i < NN_MAXDYN; i++) {
        if (a.k[i] == 0)
            continue;
        const DimDecl *d = dyn_decl(g, i);
        NN_ASSERT(d != NULL); /* a size names a dynamic dim the graph lacks */
        int64_t at1 = a.k[i], atmax = wrap_mul(a.k[i], d->value);
        hi = wrap_add(hi, at1 > atmax ? at1 : atmax);
        lo = wrap_add(lo, at1 < atmax ? at1 : atmax);
    }
    if (min)
        *min = lo;
    return hi;
}

/* snprintf that appends at *pos and never runs past n (output is cut). */
static void bufcat(char *buf, size_t n, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void bufcat(char *buf, size_t n, size_t *pos, const char *fmt, ...) {
    if (*pos >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *pos, n - *pos, fmt, ap);
    va_end(ap);
    if (k > 0)
        *pos += (size_t)k;
    if (*pos >= n)
        *pos = n; /* truncated; buf is still NUL-terminated by vsnprintf */
}

/* |v| as an unsigned number, correct for INT64_MIN too. */
static uint64_t uabs64(int64_t v) {
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* Terms in dynamic-dim order, then the constant: "2*T + S - 1". A dim the
 * graph does not declare prints as "dyn<i>" so a broken graph still prints. */
char *size_str(const Graph *g, Size a, char *buf, size_t n) {
    size_t pos = 0;
    if (n == 0)
        return buf;
    buf[0] = '\0';
    bool first = true;
    for (int i = 0; i < NN_MAXDYN; i++) {
        int64_t k = a.k[i];
        if (k == 0)
            continue;
        const DimDecl *d = dyn_decl(g, i);
        char dname[16];
        snprintf(dname, sizeof dname, "dyn%d", i);
        if (first)
            bufcat(buf, n, &pos, "%s", k < 0 ? "-" : "");
        else
            bufcat(buf, n, &pos, " %c ", k < 0 ? '-' : '+');
        if (uabs64(k) != 1)
            bufcat(buf, n, &pos, "%" PRIu64 "*", uabs64(k));
        bufcat(buf, n, &pos, "%s", d ? d->name : dname);
        first = false;
    }
    if (first)
        bufcat(buf, n, &pos, "%" PRId64, a.c);
    else if (a.c != 0)
        bufcat(buf, n, &pos, " %c %" PRIu64, a.c < 0 ? '-' : '+', uabs64(a.c));
    return buf;
}

/* ================================================================ shapes */

bool shape_eq(const Shape *a, const Shape *b) {
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (!size_eq(a->d[i], b->d[i]))
            return false;
    return true;
}

char *shape_str(const Graph *g, const Shape *s, char *buf, size_t n) {
    size_t pos = 0;
    if (n == 0)
        return buf;
    buf[0] = '\0';
    bufcat(buf, n, &pos, "[");
    int rank = s->rank < 0 ? 0 : s->rank > NN_MAXRANK ? NN_MAXRANK : s->rank;
    for (int i = 0; i < rank; i++) {
        char one[96];
        bufcat(buf, n, &pos, "%s%s", i ? ", " : "", size_str(g, s->d[i], one, sizeof one));
    }
    bufcat(buf, n, &pos, "]");
    return buf;
}

int64_t shape_max_count(const Graph *g, const Shape *s) {
    int64_t count = 1;
    for (int i = 0; i < s->rank; i++)
        count = wrap_mul(count, size_max(g, s->d[i], NULL));
    return count;
}

/* "f32[128, 64]", "i32[T + 1]"; a scalar is just "f32" or "i32". */
static char *type_str(const Graph *g, DType dt, const Shape *s, char *buf, size_t n) {
    char sh[256];
    snprintf(buf, n, "%s%s", dt == DT_I32 ? "i32" : "f32", s->rank == 0 ? "" : shape_str(g, s, sh, sizeof sh));
    return buf;
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
    VEC_PUSH(b->nodes, b->n, b->cap, n);
}

void ir_insert(Block *b, int pos, Node *n) {
    NN_ASSERT(pos >= 0 && pos <= b->n);
    n->parent = b;
    VEC_PUSH(b->nodes, b->n, b->cap, n); /* grow by one, then shift */
    memmove(&b->nodes[pos + 1], &b->nodes[pos], sizeof(Node *) * (size_t)(b->n - 1 - pos));
    b->nodes[pos] = n;
}

/* Types a node the builders create themselves; their inputs were typed by
 * the caller, so a failure here is a compiler bug. */
static void infer_or_die(const Graph *g, Node *n) {
    char err[256];
    bool ok = ir_infer(g, n, err, sizeof err);
    if (!ok)
        fprintf(stderr, "nngc: %s\n", err);
    NN_ASSERT(ok);
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
    infer_or_die(NULL, c);

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
    infer_or_die(NULL, n);
    ir_append(l->body.outer, n);
    return n;
}

static void replace_in_block(Block *b, Node *old, Node *new_) {
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == old)
                n->in[j] = new_;
        if (n->op != OP_LOOP)
            continue;
        Loop *l = n->loop;
        for (int r = 0; r < l->ncarry; r++)
            if (l->next[r] == old)
                l->next[r] = new_;
        for (int s = 0; s < l->nstack; s++)
            if (l->stack[s] == old)
                l->stack[s] = new_;
        for (int s = 0; s < l->nsum; s++)
            if (l->sum[s] == old)
                l->sum[s] = new_;
        replace_in_block(&l->body, old, new_);
    }
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

void ir_replace_uses(Graph *g, Node *old, Node *new_) {
    replace_in_block(&g->top, old, new_);
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i].value == old)
            g->outputs[i].value = new_;
    if (g->loss == old)
        g->loss = new_;
    for (int i = 0; g->grads && i < g->nparams; i++)
        if (g->grads[i] == old)
            g->grads[i] = new_;
}

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
    return type_str(I->g, x->dtype, &x->shape, b, sizeof bufs[0]);
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
static bool infer_broadcast(Infer *I, const Node *a, const Node *b) {
    if (!need_f32(I, a) || !need_f32(I, b))
        return false;
    const Shape *x = &a->shape, *y = &b->shape;
    Shape r = {.rank = x->rank > y->rank ? x->rank : y->rank};
    for (int i = 1; i <= r.rank; i++) {
        bool hx = i <= x->rank, hy = i <= y->rank;
        Size sx = hx ? x->d[x->rank - i] : size_const(1);
        Size sy = hy ? y->d[y->rank - i] : size_const(1);
        Size *out = &r.d[r.rank - i];
        if (!hy || size_eq(sx, sy) || is_one(sy))
            *out = sx;
        else if (!hx || is_one(sx))
            *out = sy;
        else
            return fail(I, "shape mismatch in '%s': %s %s %s (sizes %s and %s cannot be broadcast)",
                        op_symbol(I->n->op), shp(I, x), op_symbol(I->n->op), shp(I, y), sz(I, sx), sz(I, sy));
    }
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

static bool infer_matmul(Infer *I, const Node *a, const Node *b) {
    Node *n = I->n;
    if (!need_f32(I, a) || !need_f32(I, b))
        return false;
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

static bool infer_concat(Infer *I, const Node *a, const Node *b) {
    const Shape *x = &a->shape, *y = &b->shape;
    if (a->dtype != b->dtype)
        return fail(I, "'concat' needs two tensors of one element type, got %s and %s", typ(I, a), typ(I, b));
    if (x->rank < 1 || x->rank != y->rank)
        return fail(I, "shape mismatch in 'concat': %s and %s (expected two tensors of the same rank >= 1)",
                    shp(I, x), shp(I, y));
    for (int i = 1; i < x->rank; i++)
        if (!size_eq(x->d[i], y->d[i]))
            return fail(I, "shape mismatch in 'concat': %s and %s (axis %d: sizes %s and %s differ)", shp(I, x),
                        shp(I, y), i, sz(I, x->d[i]), sz(I, y->d[i]));
    Shape r = *x;
    r.d[0] = size_add(x->d[0], y->d[0]);
    set(I, a->dtype, &r);
    return true;
}

/* Int arithmetic: on scalars (index expressions), and, once the batch pass
 * has turned a loop index into a RANGE, on an [n] vector with a scalar or
 * with another [n] vector (either order). */
static bool infer_int_arith(Infer *I, const Node *a, const Node *b) {
    const char *sym = op_symbol(I->n->op);
    if (a->dtype != DT_I32 || b->dtype != DT_I32 || a->shape.rank > 1 || b->shape.rank > 1)
        return fail(I, "'%s' needs int scalars or int vectors, got %s and %s", sym, typ(I, a), typ(I, b));
    if (a->shape.rank == 1 && b->shape.rank == 1 && !size_eq(a->shape.d[0], b->shape.d[0]))
        return fail(I, "shape mismatch in '%s': %s %s %s (sizes %s and %s differ)", sym, shp(I, &a->shape), sym,
                    shp(I, &b->shape), sz(I, a->shape.d[0]), sz(I, b->shape.d[0]));
    set(I, DT_I32, a->shape.rank == 1 ? &a->shape : &b->shape);
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
        return fail(I, "'loopout' reads a %s node, not a loop", opname(ln->op));
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
    case OP_SCATTERADD: {
        /* b an int scalar: a is one row; b int [k]: a is k rows */
        if (s->rank < 1 || b->dtype != DT_I32 || b->shape.rank > 1)
            return fail(I, "'scatter_add' needs a result of rank >= 1 and int ids, got %s and %s", shp(I, s),
                        typ(I, b));
        Shape want = drop_axis(s, 0);
        if (b->shape.rank == 1) {
            if (want.rank + 1 > NN_MAXRANK)
                return fail(I, "'scatter_add' result %s has too many axes", shp(I, s));
            for (int i = want.rank; i > 0; i--)
                want.d[i] = want.d[i - 1];
            want.d[0] = b->shape.d[0];
            want.rank++;
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
    case OP_RANGE: /* like FILL: the builder set the shape [n] */
        if (n->shape.rank != 1)
            return fail(&I, "'range' must have rank 1, has rank %d", n->shape.rank);
        n->dtype = DT_I32;
        return true;
    case OP_IADD:
    case OP_ISUB:
    case OP_IMUL:
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
    case OP_TRANSPOSE: {
        if (!need_f32(&I, a) || !need_rank(&I, a, 2, 2, "a matrix"))
            return false;
        Shape s = {.rank = 2, .d = {a->shape.d[1], a->shape.d[0]}};
        set(&I, DT_F32, &s);
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
        if (b->dtype != DT_I32 || b->shape.rank != 1)
            return fail(&I, "indexing with a vector needs an int vector of ids, got %s", typ(&I, b));
        Shape s = a->shape; /* [n, a.shape[1:]...]: same rank as a */
        s.d[0] = b->shape.d[0];
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
    case OP_SOFTMAXGRAD:
    case OP_LOGSOFTMAXGRAD:
        if (!need_f32(&I, a) || !need_f32(&I, b) || !need_rank(&I, a, 1, NN_MAXRANK, "a tensor of rank >= 1"))
            return false;
        if (!shape_eq(&a->shape, &b->shape))
            return fail(&I, "shape mismatch in '%s': %s and %s (expected one shape)", op_name[n->op],
                        shp(&I, &a->shape), shp(&I, &b->shape));
        set(&I, DT_F32, &a->shape);
        return true;
    case OP_LOOP: /* no value: only LOOPOUT reads it */
        set_scalar(&I, DT_F32);
        return true;
    case OP_LOOPOUT:
        return infer_loopout(&I, a);
    default:
        break;
    }
    return fail(&I, "no typing rule for '%s'", op_name[n->op]);
}

/* ================================================================ numbering */

/* Deep enough for any program the parser accepts (NN_MAX_NESTING); a deeper
 * structure can only be a cycle in a broken graph. */
#define MAX_LOOP_DEPTH (2 * NN_MAX_NESTING)

static void number_block(Block *b, int *next, int depth) {
    if (depth > MAX_LOOP_DEPTH)
        return;
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (!n)
            continue;
        n->id = (*next)++;
        if (n->op == OP_LOOP && n->loop)
            number_block(&n->loop->body, next, depth + 1);
        if (n->op == OP_FUSED && n->fused)
            number_block(n->fused, next, depth + 1);
    }
}

void ir_number(Graph *g) {
    int next = 0;
    number_block(&g->top, &next, 0);
}

/* ================================================================ text form */

#define LOC_COLUMN 48 /* where "@line:col" starts, when the line is shorter */

/* A FILE plus the current column, so that location markers line up. */
typedef struct Printer {
    FILE *out;
    const Graph *g;
    int col;
} Printer;

static void pr(Printer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pr(Printer *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vfprintf(p->out, fmt, ap);
    va_end(ap);
    if (k > 0)
        p->col += k;
}

static void pr_newline(Printer *p) {
    fputc('\n', p->out);
    p->col = 0;
}

static void pr_ref(Printer *p, const Node *x) {
    if (x)
        pr(p, "%%%d", x->id);
    else
        pr(p, "%%?");
}

static void pr_size(Printer *p, Size s) {
    char buf[96];
    pr(p, "%s", size_str(p->g, s, buf, sizeof buf));
}

static void pr_type(Printer *p, DType dt, const Shape *s) {
    char buf[300];
    pr(p, "%s", type_str(p->g, dt, s, buf, sizeof buf));
}

static void pr_loc(Printer *p, Loc loc) {
    if (loc.line <= 0)
        return;
    pr(p, "%*s", p->col < LOC_COLUMN ? LOC_COLUMN - p->col : 1, "");
    pr(p, "@%d:%d", loc.line, loc.col);
}

static void pr_approx(Printer *p, const Approx *a) {
    if (a->kind == APPROX_FULL && !a->share_batch)
        return;
    const char *name = (unsigned)a->kind <= APPROX_EMBED ? approx_name[a->kind] : "?";
    pr(p, " with %s", name);
    const char *sep = "(";
    switch (a->kind) {
    case APPROX_SAMPLED: case APPROX_NCE: case APPROX_NEG:
        pr(p, "%sk=%" PRId64, sep, a->k), sep = ", ";
        break;
    case APPROX_CLASS:
        pr(p, "%sc=%" PRId64, sep, a->k), sep = ", ";
        break;
    case APPROX_BINARY:
        if (a->k > 0)
            pr(p, "%secc=%" PRId64, sep, a->k), sep = ", ";
        break;
    default:
        break;
    }
    if (a->share_batch)
        pr(p, "%sshare=batch", sep), sep = ", ";
    if (sep[0] == ',')
        pr(p, ")");
}

static void pr_indent(Printer *p, int depth) {
    pr(p, "%*s", 2 * depth, "");
}

static void print_block(Printer *p, const Block *b, int depth);

/* One node: "%id = op operands attributes : type "name"   @line:col". */
static void print_node(Printer *p, const Node *n, int depth) {
    const Graph *g = p->g;
    pr_indent(p, depth);
    pr(p, "%%%d = %s", n->id, opname(n->op));
    switch (n->op) { /* leaf attributes come first, like operands */
    case OP_CONST:
    case OP_FILL:
        pr(p, " %g", n->f);
        break;
    case OP_ICONST:
        pr(p, " %" PRId64, n->i);
        break;
    case OP_PARAM:
        if (g && n->index >= 0 && n->index < g->nparams)
            pr(p, " %s", g->params[n->index].name);
        else
            pr(p, " #%d", n->index);
        break;
    case OP_INPUT:
        if (g && n->index >= 0 && n->index < g->ninputs)
            pr(p, " %s", g->inputs[n->index].name);
        else
            pr(p, " #%d", n->index);
        break;
    case OP_DIM:
    case OP_RANGE: /* the first value */
        pr(p, " ");
        pr_size(p, n->size);
        break;
    case OP_INDEX:
        pr(p, " %s", n->loop && n->loop->var ? n->loop->var : "?");
        break;
    case OP_CARRY:
        pr(p, " %d", n->index);
        break;
    case OP_ARG:
        pr(p, " %d%s", n->index, n->ta ? " row" : "");
        break;
    default:
        break;
    }
    if (n->op == OP_LOOPOUT) {
        pr(p, " ");
        pr_ref(p, n->nin > 0 && n->in ? n->in[0] : NULL);
        pr(p, ".%d", n->index);
    } else if (n->op != OP_LOOP) {
        for (int i = 0; i < n->nin; i++) {
            pr(p, i ? ", " : " ");
            pr_ref(p, n->in ? n->in[i] : NULL);
        }
    }
    if ((n->op == OP_MATVEC || n->op == OP_MATMUL) && n->ta)
        pr(p, " ta");
    if (n->op == OP_MATMUL && n->tb)
        pr(p, " tb");
    if (n->op == OP_SUMAXIS || n->op == OP_MEANAXIS || n->op == OP_EXPAND)
        pr(p, " axis=%d", n->index);
    if (n->op == OP_SLICE) {
        pr(p, " from=");
        pr_size(p, n->size);
    }
    if (n->op >= 0 && n->op < OP_COUNT && (op_flags[n->op] & OPF_SOFTMAX))
        pr_approx(p, &n->approx);

    if (n->op == OP_LOOP) {
        Loop *l = n->loop;
        if (!l) {
            pr(p, " <no loop>");
            pr_newline(p);
            return;
        }
        pr(p, " %s in ", l->var ? l->var : "?");
        pr_size(p, l->lo);
        pr(p, "..");
        pr_size(p, l->hi);
        if (l->reverse)
            pr(p, " reverse");
        if (n->nin > 0) {
            pr(p, " carry(");
            for (int i = 0; i < n->nin; i++) {
                pr(p, i ? ", " : "");
                pr_ref(p, n->in ? n->in[i] : NULL);
            }
            pr(p, ")");
        }
        pr(p, " {");
        pr_loc(p, n->loc);
        pr_newline(p);
        print_block(p, &l->body, depth + 1);
        for (int r = 0; r < l->ncarry; r++) {
            pr_indent(p, depth + 1);
            pr(p, "next ");
            pr_ref(p, l->carry[r]);
            pr(p, " <- ");
            pr_ref(p, l->next[r]);
            pr_newline(p);
        }
        for (int s = 0; s < l->nstack; s++) {
            pr_indent(p, depth + 1);
            pr(p, "stack ");
            pr_ref(p, l->stack[s]);
            pr_newline(p);
        }
        for (int s = 0; s < l->nsum; s++) {
            pr_indent(p, depth + 1);
            pr(p, "sum ");
            pr_ref(p, l->sum[s]);
            pr_newline(p);
        }
        pr_indent(p, depth);
        pr(p, "}");
        pr_newline(p);
        return;
    }

    pr(p, " : ");
    pr_type(p, n->dtype, &n->shape);
    if (n->name)
        pr(p, " \"%s\"", n->name);
    if (n->op == OP_FUSED && n->fused) {
        pr(p, " {");
        pr_loc(p, n->loc);
        pr_newline(p);
        print_block(p, n->fused, depth + 1);
        pr_indent(p, depth);
        pr(p, "}");
        pr_newline(p);
        return;
    }
    pr_loc(p, n->loc);
    pr_newline(p);
}

static void print_block(Printer *p, const Block *b, int depth) {
    if (depth > MAX_LOOP_DEPTH) {
        pr_indent(p, depth);
        pr(p, "; ... nested too deep");
        pr_newline(p);
        return;
    }
    for (int i = 0; i < b->n; i++) {
        if (b->nodes[i]) {
            print_node(p, b->nodes[i], depth);
        } else {
            pr_indent(p, depth);
            pr(p, "; <null node>");
            pr_newline(p);
        }
    }
}

static const char *init_text(const ParamDecl *pd, char *buf, size_t n) {
    switch (pd->init) {
    case INIT_DEFAULT: return "default";
    case INIT_ZEROS: return "zeros";
    case INIT_ONES: return "ones";
    case INIT_GLOROT: return "glorot";
    case INIT_UNIFORM: snprintf(buf, n, "uniform(%g, %g)", pd->a, pd->b); return buf;
    case INIT_NORMAL: snprintf(buf, n, "normal(%g, %g)", pd->a, pd->b); return buf;
    }
    return "?";
}

/* The declarations: what the graph's leaves and results refer to. */
static void print_decls(Printer *p, const Graph *g) {
    pr(p, "model %s", g->model ? g->model : "?");
    pr_newline(p);
    for (int i = 0; i < g->ndims; i++) {
        const DimDecl *d = &g->dims[i];
        pr(p, "dim %s %s %" PRId64, d->name, d->dynamic ? "max" : "=", d->value);
        pr_newline(p);
    }
    for (int i = 0; i < g->nparams; i++) {
        const ParamDecl *pd = &g->params[i];
        char buf[96];
        pr(p, "param %s : ", pd->name);
        pr_type(p, DT_F32, &pd->shape);
        pr(p, " init %s%s", init_text(pd, buf, sizeof buf), pd->frozen ? " frozen" : "");
        pr_newline(p);
    }
    for (int i = 0; i < g->ninputs; i++) {
        const InputDecl *in = &g->inputs[i];
        pr(p, "input %s : ", in->name);
        pr_type(p, in->dtype, &in->shape);
        pr_newline(p);
    }
    for (int i = 0; i < g->noutputs; i++) {
        pr(p, "output %s = ", g->outputs[i].name);
        pr_ref(p, g->outputs[i].value);
        pr_newline(p);
    }
    if (g->loss) {
        pr(p, "loss = ");
        pr_ref(p, g->loss);
        pr_newline(p);
    }
    for (int i = 0; g->grads && i < g->nparams; i++) {
        if (!g->grads[i])
            continue;
        pr(p, "grad %s = ", g->params[i].name);
        pr_ref(p, g->grads[i]);
        pr_newline(p);
    }
    const OptimizerDecl *o = &g->opt;
    switch (o->kind) {
    case OPT_NONE:
        break;
    case OPT_SGD:
        pr(p, "optimizer sgd lr=%g", o->lr);
        pr_newline(p);
        break;
    case OPT_ADAM:
        pr(p, "optimizer adam lr=%g beta1=%g beta2=%g eps=%g", o->lr, o->beta1, o->beta2, o->eps);
        pr_newline(p);
        break;
    case OPT_ADAGRAD:
        pr(p, "optimizer adagrad lr=%g eps=%g", o->lr, o->eps);
        pr_newline(p);
        break;
    }
}

void ir_print(Graph *g, FILE *out, const char *header) {
    ir_number(g);
    Printer p = {out, g, 0};
    pr(&p, "; ---- IR dump %s ----", header ? header : "");
    pr_newline(&p);
    print_decls(&p, g);
    pr_newline(&p);
    print_block(&p, &g->top, 0);
}

/* ================================================================ Graphviz */

/* Writes s as the inside of a DOT string (quotes and backslashes escaped). */
static void dot_escaped(FILE *out, const char *s) {
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s == '\n' ? ' ' : *s, out);
    }
}

static void dot_block(FILE *out, const Graph *g, const Block *b, int depth) {
    if (depth > MAX_LOOP_DEPTH)
        return;
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        if (!n)
            continue;
        char ty[300];
        fprintf(out, "%*sn%d [label=\"%%%d %s ", 2 * depth + 2, "", n->id, n->id, opname(n->op));
        dot_escaped(out, type_str(g, n->dtype, &n->shape, ty, sizeof ty));
        fprintf(out, "\"];\n");
        if (n->op != OP_LOOP || !n->loop)
            continue;
        const Loop *l = n->loop;
        char lo[96], hi[96];
        fprintf(out, "%*ssubgraph cluster_n%d {\n", 2 * depth + 2, "", n->id);
        fprintf(out, "%*slabel=\"", 2 * depth + 4, "");
        dot_escaped(out, l->var ? l->var : "?");
        fprintf(out, " in %s..%s%s\";\n", size_str(g, l->lo, lo, sizeof lo), size_str(g, l->hi, hi, sizeof hi),
                l->reverse ? " reverse" : "");
        dot_block(out, g, &l->body, depth + 1);
        fprintf(out, "%*s}\n", 2 * depth + 2, "");
    }
}

/* Data edges operand -> user; a loop's results as dashed edges into the
 * carry they feed (next) or into the LOOP node (stack, sum). */
static void dot_edges(FILE *out, const Block *b, int depth) {
    if (depth > MAX_LOOP_DEPTH)
        return;
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        if (!n)
            continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in && n->in[j])
                fprintf(out, "  n%d -> n%d;\n", n->in[j]->id, n->id);
        if (n->op != OP_LOOP || !n->loop)
            continue;
        const Loop *l = n->loop;
        dot_edges(out, &l->body, depth + 1);
        for (int r = 0; r < l->ncarry; r++)
            if (l->next[r] && l->carry[r])
                fprintf(out, "  n%d -> n%d [style=dashed, label=\"next\"];\n", l->next[r]->id, l->carry[r]->id);
        for (int s = 0; s < l->nstack; s++)
            if (l->stack[s])
                fprintf(out, "  n%d -> n%d [style=dashed, label=\"stack\"];\n", l->stack[s]->id, n->id);
        for (int s = 0; s < l->nsum; s++)
            if (l->sum[s])
                fprintf(out, "  n%d -> n%d [style=dashed, label=\"sum\"];\n", l->sum[s]->id, n->id);
    }
}

void ir_dot(Graph *g, FILE *out) {
    ir_number(g);
    fprintf(out, "digraph \"");
    dot_escaped(out, g->model ? g->model : "model");
    fprintf(out, "\" {\n  node [shape=box, fontname=\"monospace\"];\n");
    dot_block(out, g, &g->top, 0);
    dot_edges(out, &g->top, 0);
    for (int i = 0; i < g->noutputs; i++) {
        if (!g->outputs[i].value)
            continue;
        fprintf(out, "  out%d [shape=ellipse, label=\"output ", i);
        dot_escaped(out, g->outputs[i].name ? g->outputs[i].name : "?");
        fprintf(out, "\"];\n  n%d -> out%d;\n", g->outputs[i].value->id, i);
    }
    if (g->loss)
        fprintf(out, "  loss [shape=ellipse, label=\"loss\"];\n  n%d -> loss;\n", g->loss->id);
    fprintf(out, "}\n");
}

/* ================================================================ verifier */

/* Scope states kept in Node.mark during the walk (old marks are restored). */
enum { V_UNSEEN, V_LIVE, V_DEAD };

typedef struct Verifier {
    Graph *g;
    const char *after;
    FILE *err;
    Node **all; /* every node held by a block, sorted by address */
    int nall, capall;
} Verifier;

/* Reports the first problem found; always returns false. */
static bool vfail(Verifier *V, const Node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool vfail(Verifier *V, const Node *n, const char *fmt, ...) {
    fprintf(V->err, "nngc: internal error: IR verifier (after %s): ", V->after ? V->after : "?");
    if (n)
        fprintf(V->err, "%%%d %s: ", n->id, opname(n->op));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(V->err, fmt, ap);
    va_end(ap);
    fputc('\n', V->err);
    return false;
}

/* Compares pointers as integers: relational operators on pointers into
 * different objects are undefined. */
static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (Node *const *)a, y = (uintptr_t) * (Node *const *)b;
    return x < y ? -1 : x > y;
}

static bool in_graph(const Verifier *V, const Node *n) {
    return bsearch(&n, V->all, (size_t)V->nall, sizeof(Node *), cmp_ptr) != NULL;
}

/* Phase 1: every block's nodes point back at it and loops are well formed
 * enough to walk; collects all nodes. */
static bool collect(Verifier *V, Block *b, int depth) {
    if (depth > MAX_LOOP_DEPTH)
        return vfail(V, NULL, "loops nested more than %d deep (a cycle of blocks?)", MAX_LOOP_DEPTH);
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (!n)
            return vfail(V, NULL, "a block holds a NULL node at position %d", i);
        if (n->op < 0 || n->op >= OP_COUNT)
            return vfail(V, n, "unknown op %d", (int)n->op);
        if (n->parent != b)
            return vfail(V, n, "its parent is not the block that holds it");
        VEC_PUSH(V->all, V->nall, V->capall, n);
        if (n->op != OP_LOOP)
            continue;
        Loop *l = n->loop;
        if (!l)
            return vfail(V, n, "has no Loop");
        if (l->node != n)
            return vfail(V, n, "its Loop belongs to another node");
        if (l->body.outer != b || l->body.loop != l)
            return vfail(V, n, "its body is not linked to the block holding the loop");
        if (!collect(V, &l->body, depth + 1))
            return false;
    }
    return true;
}

/* Whether operand x (of n, number i) is in scope at n. */
static bool check_operand(Verifier *V, const Node *n, int i, const Node *x) {
    if (!x)
        return vfail(V, n, "operand %d is missing", i);
    if (!in_graph(V, x))
        return vfail(V, n, "operand %d (%%%d %s) is not in the graph", i, x->id, opname(x->op));
    if (x->mark == V_UNSEEN)
        return vfail(V, n, "operand %d (%%%d %s) is used before its definition", i, x->id, opname(x->op));
    if (x->mark == V_DEAD)
        return vfail(V, n, "operand %d (%%%d %s) is defined inside a loop body this node is not in", i, x->id,
                     opname(x->op));
    return true;
}

/* Loop results may be body values or outer values defined before the loop:
 * exactly the LIVE nodes at the end of the body. */
static bool check_result(Verifier *V, const Node *ln, const char *kind, int k, const Node *v) {
    if (!v)
        return vfail(V, ln, "%s %d has no value", kind, k);
    if (!in_graph(V, v))
        return vfail(V, ln, "%s %d (%%%d %s) is not in the graph", kind, k, v->id, opname(v->op));
    if (v->mark != V_LIVE)
        return vfail(V, ln, "%s %d (%%%d %s) is not in scope at the end of the body", kind, k, v->id,
                     opname(v->op));
    if (v->op == OP_LOOP)
        return vfail(V, ln, "%s %d is a loop, which has no value", kind, k);
    return true;
}

static bool check_node(Verifier *V, Node *n) {
    const Graph *g = V->g;
    int arity = op_arity[n->op];
    if (n->nin < 0 || (arity >= 0 && n->nin != arity))
        return vfail(V, n, "has %d operands, its op takes %d", n->nin, arity);
    if (n->nin > 0 && !n->in)
        return vfail(V, n, "has no operand array");
    for (int i = 0; i < n->nin; i++) {
        if (!check_operand(V, n, i, n->in[i]))
            return false;
        if (n->in[i]->op == OP_LOOP && n->op != OP_LOOPOUT)
            return vfail(V, n, "operand %d (%%%d) is a loop, which has no value", i, n->in[i]->id);
    }

    switch (n->op) {
    case OP_INDEX:
    case OP_CARRY: {
        Loop *l = n->loop;
        if (!l || n->parent != &l->body)
            return vfail(V, n, "is not in the body of its own loop");
        if (n->op == OP_INDEX && l->index != n)
            return vfail(V, n, "is not its loop's index node");
        if (n->op == OP_CARRY && (n->index < 0 || n->index >= l->ncarry || l->carry[n->index] != n))
            return vfail(V, n, "is not carry %d of its loop", n->index);
        break;
    }
    case OP_LOOP: {
        Loop *l = n->loop;
        if (n->nin != l->ncarry)
            return vfail(V, n, "has %d initial values for %d carries", n->nin, l->ncarry);
        if (!l->index)
            return vfail(V, n, "has no index node");
        for (int r = 0; r < l->ncarry; r++)
            if (!l->carry[r])
                return vfail(V, n, "carry %d has no CARRY node", r);
        break;
    }
    case OP_FUSED: {
        /* the body: ARG k has operand k's type; the others are elementwise
         * ops on earlier body nodes */
        const Block *fb = n->fused;
        if (!fb || fb->n == 0)
            return vfail(V, n, "has no body");
        for (int i = 0; i < fb->n; i++) {
            const Node *b = fb->nodes[i];
            if (b->op == OP_ARG) {
                if (b->index < 0 || b->index >= n->nin)
                    return vfail(V, n, "body node %%%d reads operand %d of %d", b->id, b->index, n->nin);
                if (!shape_eq(&b->shape, &n->in[b->index]->shape) || b->dtype != n->in[b->index]->dtype)
                    return vfail(V, n, "body node %%%d has another type than operand %d", b->id, b->index);
                if (!b->ta && b->dtype != DT_F32)
                    return vfail(V, n, "body node %%%d: an element ARG must be f32", b->id);
                continue;
            }
            /* row ops (expand, pick_grad) read row ARGs, elementwise ops
             * never do */
            bool row = b->op == OP_PICKGRAD || b->op == OP_EXPAND;
            if (!row && !(op_flags[b->op] & OPF_ELEMWISE))
                return vfail(V, n, "body node %%%d %s is not elementwise", b->id, opname(b->op));
            if (row && !ir_row_op(b, &n->shape))
                return vfail(V, n, "body node %%%d %s is not a row op of the fused shape", b->id, opname(b->op));
            for (int k = 0; k < b->nin; k++) {
                bool earlier = false;
                for (int j = 0; j < i && !earlier; j++)
                    earlier = fb->nodes[j] == b->in[k];
                if (!earlier)
                    return vfail(V, n, "body node %%%d reads a value defined after it or outside the body", b->id);
                if ((b->in[k]->op == OP_ARG && b->in[k]->ta) != row)
                    return vfail(V, n, "body node %%%d: %s reads %s", b->id, opname(b->op),
                                 row ? "a value that is not a row ARG" : "a row ARG");
            }
        }
        break;
    }
    case OP_LOOPOUT: {
        const Node *ln = n->in[0];
        if (ln->op != OP_LOOP)
            return vfail(V, n, "reads %%%d %s, not a loop", ln->id, opname(ln->op));
        int nres = ln->loop->ncarry + ln->loop->nstack + ln->loop->nsum;
        if (n->index < 0 || n->index >= nres)
            return vfail(V, n, "result %d out of range: %%%d has %d results", n->index, ln->id, nres);
        break;
    }
    default:
        break;
    }

    /* The stored type must be the one its operands give it. */
    Node copy = *n;
    char err[512], t1[300], t2[300];
    if (!ir_infer(g, &copy, err, sizeof err))
        return vfail(V, n, "does not type-check: %s", err);
    if (copy.dtype != n->dtype || !shape_eq(&copy.shape, &n->shape))
        return vfail(V, n, "stored type %s, but its operands give %s", type_str(g, n->dtype, &n->shape, t1, sizeof t1),
                     type_str(g, copy.dtype, &copy.shape, t2, sizeof t2));
    return true;
}

static void kill_block(Block *b) {
    for (int i = 0; i < b->n; i++)
        b->nodes[i]->mark = V_DEAD;
}

/* Phase 2: walk in order; a node is LIVE from its definition to the end of
 * its block, and DEAD once the loop body holding it has ended. */
static bool walk(Verifier *V, Block *b) {
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (!check_node(V, n))
            return false;
        if (n->op == OP_LOOP) {
            Loop *l = n->loop;
            if (!walk(V, &l->body))
                return false;
            char t1[300], t2[300];
            for (int r = 0; r < l->ncarry; r++) {
                if (!check_result(V, n, "next value", r, l->next[r]))
                    return false;
                const Node *c = l->carry[r], *x = l->next[r];
                if (c->dtype != x->dtype || !shape_eq(&c->shape, &x->shape))
                    return vfail(V, n, "next value %d (%%%d) is %s, but the carry is %s", r, x->id,
                                 type_str(V->g, x->dtype, &x->shape, t1, sizeof t1),
                                 type_str(V->g, c->dtype, &c->shape, t2, sizeof t2));
            }
            for (int s = 0; s < l->nstack; s++)
                if (!check_result(V, n, "stacked value", s, l->stack[s]))
                    return false;
            for (int s = 0; s < l->nsum; s++)
                if (!check_result(V, n, "summed value", s, l->sum[s]))
                    return false;
            kill_block(&l->body);
        }
        /* A LOOP becomes usable (by LOOPOUT) only after its body. */
        n->mark = V_LIVE;
    }
    return true;
}

static bool check_results(Verifier *V) {
    Graph *g = V->g;
    for (int i = 0; i < g->noutputs; i++) {
        const Node *v = g->outputs[i].value;
        const char *name = g->outputs[i].name ? g->outputs[i].name : "?";
        if (!v)
            return vfail(V, NULL, "output '%s' has no value", name);
        if (!in_graph(V, v) || v->parent != &g->top)
            return vfail(V, v, "is output '%s' but is not in the top block", name);
        if (v->op == OP_LOOP)
            return vfail(V, v, "is output '%s' but a loop has no value", name);
    }
    for (int i = 0; g->grads && i < g->nparams; i++) {
        const Node *v = g->grads[i];
        if (!v)
            continue;
        if (!in_graph(V, v) || v->parent != &g->top)
            return vfail(V, v, "is the gradient of param '%s' but is not in the top block", g->params[i].name);
        if (v->dtype != DT_F32 || !shape_eq(&v->shape, &g->params[i].shape)) {
            char t1[300], t2[300];
            return vfail(V, v, "is the gradient of param '%s' %s but is %s", g->params[i].name,
                         type_str(g, DT_F32, &g->params[i].shape, t1, sizeof t1),
                         type_str(g, v->dtype, &v->shape, t2, sizeof t2));
        }
    }
    if (g->loss) {
        const Node *v = g->loss;
        if (!in_graph(V, v) || v->parent != &g->top)
            return vfail(V, v, "is the loss but is not in the top block");
        if (v->op == OP_LOOP || v->dtype != DT_F32 || v->shape.rank != 0) {
            char t[300];
            return vfail(V, v, "is the loss but is %s, not a float scalar",
                         type_str(g, v->dtype, &v->shape, t, sizeof t));
        }
    }
    return true;
}

bool ir_verify(Graph *g, const char *after, FILE *err) {
    ir_number(g); /* so that messages name nodes as a dump would */
    Verifier V = {.g = g, .after = after, .err = err ? err : stderr};
    if (!collect(&V, &g->top, 0))
        return false;
    qsort(V.all, (size_t)V.nall, sizeof(Node *), cmp_ptr);
    for (int i = 1; i < V.nall; i++)
        if (V.all[i] == V.all[i - 1])
            return vfail(&V, V.all[i], "appears more than once in the graph");

    /* Node.mark is scratch space for passes: borrow it and give it back. */
    int *saved = xalloc(sizeof(int) * (size_t)(V.nall + 1));
    for (int i = 0; i < V.nall; i++) {
        saved[i] = V.all[i]->mark;
        V.all[i]->mark = V_UNSEEN;
    }
    bool ok = walk(&V, &g->top) && check_results(&V);
    for (int i = 0; i < V.nall; i++)
        V.all[i]->mark = saved[i];
    return ok;
}
