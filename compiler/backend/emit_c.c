/*
 * emit_c.c - the C backend: writes model.c and model.h from the final IR.
 *
 * The generated API is the one of docs/API.md. model.c holds, in order:
 *
 *   struct NAME { float *params; float *arena; }
 *   the descriptor tables (dims, params, inputs, outputs)
 *   NAME_forward: checks (dims, negative sizes, NULL inputs), then one
 *                 statement group per IR node, in the IR's order
 *   NAME_grad:    with a train graph (emit_c's `train`, the program with
 *                 its backward pass appended by autodiff): the same walk
 *                 over that graph, then each gradient copied to m->grads
 *   NAME_create/destroy/init_params/save/load/param
 *   NAME_train_step/set_lr/grad_data: NAME_grad, then the optimizer's update
 *                 per param through runtime/optim.c (state in m->opt, saved
 *                 with the params under "__opt__/..." names)
 *   the generic wrappers and NAME_desc
 *
 * The two graphs are emitted each with its own context (walk, uses, memory
 * plan) and share the params' layout and one arena, sized for the larger.
 *
 * Values. Every IR value becomes one C local named after its number, v<id>:
 *   - int scalars (ICONST, DIM, INDEX, IADD/ISUB/IMUL, an int scalar input,
 *     ROW of an int vector) are `int64_t`;
 *   - int tensors (int inputs, their ROWs and GATHERs) are `const int32_t *`;
 *   - float values of any rank, scalars included, are pointers to floats,
 *     so every op has one code path whatever the rank.
 * PARAM, INPUT, ROW, CARRY and LOOPOUT are views: pointers into memory that
 * already holds the value, never copies. Every other float value gets its own
 * region of one arena, allocated by NAME_create with every dynamic dim at its
 * maximum, so NAME_forward never allocates. plan_memory() is the one place
 * that assigns arena offsets (no reuse yet; a planner can replace it).
 *
 * Sizes are affine in the dynamic dims (Size in nngc.h). They are printed as
 * C expressions over the locals d_<dim> that NAME_forward reads from its
 * inputs after checking them, so extents are computed at run time and
 * buffers are sized for the worst case.
 *
 * Errors. Everything the backend cannot handle is found by check_graph()
 * before a byte is written, and reported as "nngc: error: FILE:L:C: ...";
 * compiler bugs are NN_ASSERTs.
 */
#include "nngc.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Arena regions start on 64-byte boundaries (16 floats): cache lines, and
 * what SIMD loads in BLAS like best. */
#define ALIGN_FLOATS 16

/* ================================================================ context */

/* What the emitter knows about one node, kept in Node.aux while it runs. */
typedef struct NodeInfo {
    int uses;    /* operand, loop result, output and loss references */
    int64_t off; /* arena offset in floats of the node's own buffer, -1 if none */
    /* LOOP nodes: arena offsets of the loop's buffers, one per carry (and a
     * temporary per carry, -1 if the carry needs none), stack and sum */
    int64_t *carry_off, *tmp_off, *stack_off, *sum_off;
    /* not stored; its one reader computes from its operands (count_uses):
     * a SCATTERADD whose one use is a sum of its loop (its rows are added
     * straight into the sum's buffer at the end of each iteration: a
     * [V, D] table per iteration would cost O(V D) where the rows touched
     * cost O(n D)); a GATHER read only by a sum over its rows (the sum
     * reads the table in place); a MATMUL of logits read only by one
     * logsumexp and picks (nnrt_linear_lse, one dot product per pick) */
    bool direct;
    int lse_reads, pick_reads; /* MATMUL: logsumexps and picks reading it as logits */
    /* train graph: the param whose gradient this value is, computed straight
     * into m->grads (for LOOP nodes: per sum, -1 where none) */
    int grad_of;
    int *sum_grad_of;
} NodeInfo;

typedef struct Ctx {
    Graph *g;
    FILE *c, *h;
    const char *src_name;    /* the .nn file, for #line and messages */
    const char *c_name;      /* the .c file, for the #line that ends a function */
    const char *header_name; /* what model.c #includes */
    bool line_markers;
    int c_lines; /* lines written to c so far, for #line "model.c" */
    int indent;
    bool ok;
    Node **all; /* every node, in emission order (loop bodies after their LOOP) */
    int nall, capall;
    int64_t arena_floats;   /* size of the arena */
    int64_t *param_off;     /* offset of each param in m->params, in floats */
    int64_t params_floats;  /* size of m->params */
    struct Ctx *train;      /* the train graph's context (forward + backward), or NULL */
} Ctx;

static NodeInfo *info(const Node *n)
{
    NN_ASSERT(n->aux);
    return n->aux;
}

/* ================================================================ output */

/* vsprintf into the compilation arena. */
static char *vfmt(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    NN_ASSERT(len >= 0);
    char *s = xalloc((size_t)len + 1);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    return s;
}

/* Writes s to the C file, counting lines so a #line can point back at it. */
static void cput(Ctx *x, const char *s)
{
    for (const char *p = s; *p; p++)
        if (*p == '\n')
            x->c_lines++;
    fputs(s, x->c);
}

/* printf to the C file, as is. */
__attribute__((format(printf, 2, 3))) static void craw(Ctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cput(x, vfmt(fmt, ap));
    va_end(ap);
}

/* One line of C at the current indentation (the newline is added). */
__attribute__((format(printf, 2, 3))) static void cline(Ctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vfmt(fmt, ap);
    va_end(ap);
    craw(x, "%*s%s\n", 4 * x->indent, "", s);
}

#define hline(x, ...) fprintf((x)->h, __VA_ARGS__)

/* "nngc: error: FILE:L:C: msg" on stderr; marks the emission as failed. */
__attribute__((format(printf, 3, 4))) static void emit_error(Ctx *x, Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nngc: error: ");
    if (loc.line > 0)
        fprintf(stderr, "%s:%d:%d: ", x->src_name, loc.line, loc.col);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    x->ok = false;
}

/* s as the inside of a C string literal; with for_format, '%' is doubled
 * so the result can be part of a printf format. */
static char *c_escape(const char *s, bool for_format)
{
    size_t n = strlen(s);
    char *out = xalloc(4 * n + 1), *p = out;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            *p++ = '\\';
            *p++ = (char)ch;
        } else if (ch == '%' && for_format) {
            *p++ = '%';
            *p++ = '%';
        } else if (ch < 32 || ch >= 127 || ch == '?') {
            /* '?' too: "??/" would be a trigraph in some compilers' modes */
            p += sprintf(p, "\\%03o", ch);
        } else {
            *p++ = (char)ch;
        }
    }
    *p = 0;
    return out;
}

/* s, safe inside a C comment. */
static char *comment_safe(const char *s)
{
    char *out = xstrdup(s);
    for (char *p = out; *p; p++)
        if (p[0] == '*' && p[1] == '/')
            p[1] = '|';
    return out;
}

/* "file.nn:12:20" as part of a printf format string in generated code. */
static char *loc_fmt(Ctx *x, Loc loc)
{
    if (loc.line <= 0)
        return c_escape(x->src_name, true);
    return xsprintf("%s:%d:%d", c_escape(x->src_name, true), loc.line, loc.col);
}

/* ================================================================ sizes */

/* Largest and smallest value of a size over all legal dims (1 <= d <= max).
 * Kept here rather than using size_max(): a size may decrease with a dim
 * (N - T), and buffers must fit the largest value. */
static int64_t size_hi(const Graph *g, Size s)
{
    int64_t v = s.c;
    for (int i = 0; i < g->ndims; i++) {
        const DimDecl *d = &g->dims[i];
        if (d->dyn >= 0 && d->dyn < NN_MAXDYN && s.k[d->dyn])
            v += s.k[d->dyn] > 0 ? s.k[d->dyn] * d->value : s.k[d->dyn];
    }
    return v;
}

static int64_t size_lo(const Graph *g, Size s)
{
    int64_t v = s.c;
    for (int i = 0; i < g->ndims; i++) {
        const DimDecl *d = &g->dims[i];
        if (d->dyn >= 0 && d->dyn < NN_MAXDYN && s.k[d->dyn])
            v += s.k[d->dyn] > 0 ? s.k[d->dyn] : s.k[d->dyn] * d->value;
    }
    return v;
}

static bool size_is_one(Size s)
{
    return size_is_const(s) && s.c == 1;
}

static const char *dyn_name(const Graph *g, int dyn)
{
    for (int i = 0; i < g->ndims; i++)
        if (g->dims[i].dynamic && g->dims[i].dyn == dyn)
            return g->dims[i].name;
    NN_ASSERT(!"size refers to an undeclared dynamic dim");
    return NULL;
}

/* An int64 literal; INT64_C() where an int would not hold it. */
static char *int_lit(int64_t v)
{
    if (v >= -2147483647 && v <= 2147483647)
        return xsprintf("%" PRId64, v);
    return xsprintf("INT64_C(%" PRId64 ")", v);
}

/* A size as a C expression over the d_<dim> locals: "128", "d_T",
 * "(d_T + 1)", "(2 * d_T - 1)". */
static char *size_c(Ctx *x, Size s)
{
    char *e = NULL;
    int terms = 0;
    for (int i = 0; i < NN_MAXDYN; i++) {
        if (!s.k[i])
            continue;
        const char *name = dyn_name(x->g, i);
        int64_t k = s.k[i];
        char *t = (k == 1 || k == -1) ? xsprintf("d_%s", name)
                                      : xsprintf("%s * d_%s", int_lit(k < 0 ? -k : k), name);
        if (!e)
            e = k < 0 ? xsprintf("-%s", t) : t;
        else
            e = xsprintf("%s %c %s", e, k < 0 ? '-' : '+', t);
        terms++;
    }
    if (!e)
        return s.c < 0 ? xsprintf("(%s)", int_lit(s.c)) : int_lit(s.c);
    if (s.c) {
        e = xsprintf("%s %c %s", e, s.c < 0 ? '-' : '+', int_lit(s.c < 0 ? -s.c : s.c));
        terms++;
    }
    /* parenthesized unless a single name: it may follow a cast or a '/' */
    if (terms > 1 || e[0] == '-' || strchr(e, '*'))
        e = xsprintf("(%s)", e);
    return e;
}

/* Product of the shape's axes [from, rank) as a C expression; constant
 * axes are multiplied here, dynamic ones at run time. */
static char *count_c(Ctx *x, const Shape *s, int from)
{
    int64_t c = 1;
    char *dyn = NULL;
    for (int i = from; i < s->rank; i++) {
        if (size_is_const(s->d[i])) {
            c *= s->d[i].c; /* fits: check_graph bounded every shape */
        } else {
            char *t = size_c(x, s->d[i]);
            dyn = dyn ? xsprintf("%s * %s", dyn, t) : t;
        }
    }
    if (!dyn)
        return int_lit(c);
    if (c != 1)
        dyn = xsprintf("%s * %s", int_lit(c), dyn);
    /* a product is parenthesized: it may follow a cast or a '/' */
    return strstr(dyn, " * ") ? xsprintf("(%s)", dyn) : dyn;
}

/* Upper bound of the element count; false if it does not fit in int64. */
static bool count_hi(const Graph *g, const Shape *s, int64_t *out)
{
    int64_t c = 1;
    for (int i = 0; i < s->rank; i++) {
        int64_t d = size_hi(g, s->d[i]);
        if (d < 0)
            d = 0;
        if (__builtin_mul_overflow(c, d, &c))
            return false;
    }
    *out = c;
    return true;
}

/* A BLAS leading dimension: BLAS wants at least 1 even for an empty
 * matrix, so a dynamic one goes through nn_ld() (defined in model.c when
 * some product needs it, see uses_nn_ld). */
static char *ld_c(Ctx *x, Size s)
{
    if (size_is_const(s))
        return int_lit(s.c > 1 ? s.c : 1);
    return xsprintf("nn_ld(%s)", size_c(x, s));
}

/* Is a the logits of a logsumexp/pick that are not stored (count_uses)? */
static bool unstored_logits(const Node *a) { return a->op == OP_MATMUL && info(a)->direct; }

/* Does some logsumexp or cross-entropy of either graph use the inline
 * nn_lse (not nnrt_linear_lse)? An unused static function is a warning. */
static bool ctx_uses_nn_lse(Ctx *x)
{
    for (int i = 0; i < x->nall; i++) {
        const Node *n = x->all[i];
        if (n->op == OP_XENT || (n->op == OP_LOGSUMEXP && !unstored_logits(n->in[0])))
            return true;
    }
    return false;
}

static bool uses_nn_lse(Ctx *x) { return ctx_uses_nn_lse(x) || (x->train && ctx_uses_nn_lse(x->train)); }

static bool uses_nn_ld(Ctx *x)
{
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        if (n->op == OP_MATVEC && !size_is_const(n->in[0]->shape.d[1]))
            return true;
        if (n->op == OP_MATMUL && (!size_is_const(n->in[0]->shape.d[1]) || !size_is_const(n->in[1]->shape.d[1]) ||
                                   !size_is_const(n->shape.d[1])))
            return true;
    }
    return false;
}

/* ================================================================ node kinds */

static bool is_int_scalar(const Node *n)
{
    return n->dtype == DT_I32 && n->shape.rank == 0;
}

static bool is_int_tensor(const Node *n)
{
    return n->dtype == DT_I32 && n->shape.rank > 0;
}

/* Views point into memory that holds the value already; see the header. */
static bool is_view(const Node *n)
{
    switch (n->op) {
    case OP_PARAM: case OP_INPUT: case OP_ROW: case OP_CARRY: case OP_LOOPOUT:
        return true;
    default:
        return false;
    }
}

/* Nodes that get a region of the arena. */
static bool has_buffer(const Node *n)
{
    if (is_view(n) || n->op == OP_LOOP || n->op == OP_INDEX || is_int_scalar(n))
        return false;
    /* int scalars are C locals; int vectors (iadd of a range) need memory */
    return !(op_flags[n->op] & OPF_INT) || n->shape.rank > 0;
}

static const char *vname(const Node *n)
{
    return xsprintf("v%d", n->id);
}

/* The node whose memory a view reads: follows ROW to its operand. */
static const Node *view_root(const Node *n)
{
    while (n->op == OP_ROW)
        n = n->in[0];
    return n;
}

/* ================================================================ walking */

static void collect_block(Ctx *x, Block *b)
{
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        n->aux = xalloc(sizeof(NodeInfo));
        info(n)->off = -1;
        info(n)->grad_of = -1;
        VEC_PUSH(x->all, x->nall, x->capall, n);
        if (n->op == OP_LOOP) {
            NN_ASSERT(n->loop && n->loop->node == n);
            collect_block(x, &n->loop->body);
        }
    }
}

static void count_uses(Ctx *x)
{
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        for (int j = 0; j < n->nin; j++)
            info(n->in[j])->uses++;
        if (n->op == OP_LOOP) {
            Loop *l = n->loop;
            for (int r = 0; r < l->ncarry; r++)
                info(l->next[r])->uses++;
            for (int r = 0; r < l->nstack; r++)
                info(l->stack[r])->uses++;
            for (int r = 0; r < l->nsum; r++)
                info(l->sum[r])->uses++;
        }
    }
    for (int i = 0; i < x->g->noutputs; i++)
        info(x->g->outputs[i].value)->uses++;
    if (x->g->loss)
        info(x->g->loss)->uses++;
    for (int i = 0; x->g->grads && i < x->g->nparams; i++)
        if (x->g->grads[i])
            info(x->g->grads[i])->uses++;
    /* scatter-adds summed by their loop and read by nothing else */
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        if (n->op != OP_LOOP)
            continue;
        Loop *l = n->loop;
        for (int r = 0; r < l->nsum; r++) {
            Node *v = l->sum[r];
            if (v->op == OP_SCATTERADD && v->parent == &l->body && info(v)->uses == 1)
                info(v)->direct = true;
        }
    }
    /* logits read only by one logsumexp and by picks (inference with a
     * cross-entropy or a log-probability): z = X W^T [+ b] is never
     * stored; the logsumexp is nnrt_linear_lse, a block of columns at a
     * time, and a pick is one dot product (emit_lse_pick) */
    for (int i = 0; i < x->nall; i++) {
        Node *u = x->all[i], *z = u->nin > 0 ? u->in[0] : NULL;
        if ((u->op == OP_LOGSUMEXP || u->op == OP_PICK) && z->op == OP_MATMUL && z->parent == u->parent) {
            info(z)->lse_reads += u->op == OP_LOGSUMEXP;
            info(z)->pick_reads += u->op == OP_PICK;
        }
    }
    for (int i = 0; i < x->nall; i++) {
        Node *z = x->all[i];
        NodeInfo *zi = info(z);
        if (z->op == OP_MATMUL && !z->ta && z->tb && zi->grad_of < 0 && zi->lse_reads == 1 &&
            zi->lse_reads + zi->pick_reads == zi->uses &&
            (z->nin == 2 || (z->in[2]->shape.rank == 1 && size_eq(z->in[2]->shape.d[0], z->shape.d[1]))))
            zi->direct = true;
    }
    /* gathers read only by a sum over their rows (a bag of embeddings,
     * sum_axis(E[ids], 0)): the sum reads the rows in place, no copy */
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i], *a = n->nin > 0 ? n->in[0] : NULL;
        if ((n->op == OP_SUMAXIS || n->op == OP_MEANAXIS) && n->index == 0 && a->op == OP_GATHER &&
            a->dtype == DT_F32 && a->parent == n->parent && info(a)->uses == 1 && info(a)->grad_of < 0)
            info(a)->direct = true;
    }
}

/* Does n get its own region of the arena? */
static bool owns_buffer(const Node *n)
{
    return has_buffer(n) && !info(n)->direct;
}

/* In the train graph, a gradient that has a buffer of its own (or is the
 * sum of a loop) is computed right into the param's slot of m->grads,
 * instead of the arena and a copy. Not when the value is also the loss or
 * an output (those must outlive the call as they are), nor for the second
 * param of two with the same gradient node. */
static void place_grads(Ctx *x)
{
    Graph *g = x->g;
    for (int i = 0; g->grads && i < g->nparams; i++) {
        Node *v = g->grads[i];
        if (!v || v == g->loss || info(v)->grad_of >= 0)
            continue;
        bool out = false;
        for (int k = 0; k < g->noutputs; k++)
            out = out || g->outputs[k].value == v;
        if (out)
            continue;
        if (owns_buffer(v) && v->dtype == DT_F32) {
            info(v)->grad_of = i;
        } else if (v->op == OP_LOOPOUT) {
            Loop *l = v->in[0]->loop;
            int r = v->index - l->ncarry - l->nstack;
            if (r < 0)
                continue;
            NodeInfo *li = info(v->in[0]);
            if (!li->sum_grad_of) {
                li->sum_grad_of = xalloc(sizeof(int) * (size_t)(l->nsum + 1));
                for (int k = 0; k < l->nsum; k++)
                    li->sum_grad_of[k] = -1;
            }
            if (li->sum_grad_of[r] < 0) {
                li->sum_grad_of[r] = i;
                info(v)->grad_of = i;
            }
        }
    }
}

/* ================================================================ checks */

static const char *const c_keywords[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double",
    "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
    "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
    "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Alignas",
    "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn",
    "_Static_assert", "_Thread_local", "bool", "true", "false", "asm", NULL,
};

/* The model's name is also a type name in model.c, next to these
 * parameters, locals and library functions: it must differ from them. */
static const char *const model_reserved[] = {
    "m", "in", "out", "rng", "seed", "path", "name", "i", "dyn", "inputs", "outputs", "loss", "rc",
    "calloc", "free", "memcpy", "memset", "aligned_alloc", "strcmp", "tanhf", "expf", "logf", "sqrtf",
    "fabsf", "fabs", "exp", "log1p", "nn_ld", "nn_lse", NULL,
};

/* Names become C identifiers (struct fields, symbols): they must be valid
 * ones, and not keywords. */
static void check_name(Ctx *x, const char *what, const char *name, Loc loc)
{
    bool ok = name && (name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z') ||
                       (name[0] >= 'A' && name[0] <= 'Z'));
    for (const char *p = name; ok && *p; p++)
        ok = *p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
             (*p >= '0' && *p <= '9');
    for (int i = 0; ok && c_keywords[i]; i++)
        ok = strcmp(name, c_keywords[i]) != 0;
    if (!ok)
        emit_error(x, loc, "%s name '%s' cannot be used in C (a keyword or not an identifier)",
                   what, name ? name : "(null)");
}

/* Operand positions that take an int value. */
static bool int_operand_ok(const Node *n, int j)
{
    switch (n->op) {
    case OP_IADD: case OP_ISUB: case OP_IMUL:
        return true;
    case OP_ROW: case OP_GATHER:
        return true; /* rows of int tensors are int; the index is int */
    case OP_CONCAT:
        return true; /* two int tensors make one */
    case OP_XENT:
    case OP_PICK:
    case OP_SCATTERADD:
    case OP_PICKGRAD:
        return j == 1;
    case OP_LOOPOUT:
        return true; /* its operand is the LOOP node */
    case OP_FUSED:
        return true; /* labels of pick_grad members (the verifier checks) */
    default:
        return false;
    }
}

/* Can operand a be broadcast to shape out (NumPy rules, sizes symbolic)? */
static bool broadcasts_to(const Shape *a, const Shape *out)
{
    if (a->rank > out->rank)
        return false;
    for (int i = 0; i < a->rank; i++) {
        Size d = a->d[i], o = out->d[i + out->rank - a->rank];
        if (!size_eq(d, o) && !size_is_one(d))
            return false;
    }
    return true;
}

/* Rejects, with a message, what this backend cannot compile; bounds every
 * buffer. Runs before anything is written. */
static void check_graph(Ctx *x)
{
    Graph *g = x->g;
    check_name(x, "model", g->model, NO_LOC);
    for (int i = 0; x->ok && model_reserved[i]; i++)
        if (strcmp(g->model, model_reserved[i]) == 0 || strncmp(g->model, "nnrt_", 5) == 0)
            emit_error(x, NO_LOC, "model name '%s' is reserved in the generated C; choose another", g->model);
    for (int i = 0; i < g->ndims; i++)
        if (g->dims[i].dynamic)
            check_name(x, "dim", g->dims[i].name, g->dims[i].loc);
    for (int i = 0; i < g->ninputs; i++)
        check_name(x, "input", g->inputs[i].name, g->inputs[i].loc);
    for (int i = 0; i < g->noutputs; i++) {
        OutputDecl *o = &g->outputs[i];
        check_name(x, "output", o->name, o->loc);
        if (g->loss && o->name && strcmp(o->name, "loss") == 0)
            emit_error(x, o->loc, "an output named 'loss' clashes with the program's loss");
        NN_ASSERT(o->value && o->value->parent == &g->top);
        if (o->value->dtype != DT_F32)
            emit_error(x, o->loc, "output '%s' is an int value; the C backend returns float outputs only",
                       o->name);
    }
    if (g->loss) {
        NN_ASSERT(g->loss->parent == &g->top);
        NN_ASSERT(g->loss->dtype == DT_F32 && g->loss->shape.rank == 0);
    }
    if (g->ndyn > NN_MAXDYN)
        emit_error(x, NO_LOC, "more than %d dynamic dims", NN_MAXDYN);

    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        NN_ASSERT(n->op != OP_PARAM || (n->index >= 0 && n->index < g->nparams));
        NN_ASSERT(n->op != OP_INPUT || (n->index >= 0 && n->index < g->ninputs));
        NN_ASSERT((n->op != OP_LOOP && n->op != OP_INDEX && n->op != OP_CARRY) || n->loop);
        int64_t cnt;
        if (n->op != OP_LOOP && !count_hi(g, &n->shape, &cnt)) {
            emit_error(x, n->loc, "a tensor of this size does not fit in memory");
            continue;
        }
        if ((op_flags[n->op] & OPF_SOFTMAX) && n->approx.kind != APPROX_FULL) {
            emit_error(x, n->loc, "softmax approximation '%s' is not implemented by the C backend yet",
                       approx_name[n->approx.kind]);
            continue;
        }
        for (int j = 0; j < n->nin; j++)
            if (n->in[j]->dtype == DT_I32 && !int_operand_ok(n, j))
                emit_error(x, n->loc, "%s of an int value is not supported by the C backend",
                           op_name[n->op]);
        if ((op_flags[n->op] & OPF_ELEMWISE) && n->nin == 2 &&
            (!broadcasts_to(&n->in[0]->shape, &n->shape) || !broadcasts_to(&n->in[1]->shape, &n->shape)))
            emit_error(x, n->loc, "%s: operand shapes do not broadcast to the result", op_name[n->op]);
        if (n->dtype == DT_I32 && !is_int_scalar(n) && n->op != OP_INPUT && n->op != OP_ROW &&
            n->op != OP_GATHER && n->op != OP_RANGE && n->op != OP_CONCAT && !(op_flags[n->op] & OPF_INT))
            emit_error(x, n->loc, "%s producing an int tensor is not supported by the C backend",
                       op_name[n->op]);
        if ((n->op == OP_CARRY || n->op == OP_LOOPOUT) && n->dtype == DT_I32)
            emit_error(x, n->loc, "an int value carried or collected by a loop is not supported by the C backend");
        if (n->op == OP_BROADCAST && !broadcasts_to(&n->in[0]->shape, &n->shape))
            emit_error(x, n->loc, "broadcast: the operand does not broadcast to the result");
        if (n->op == OP_SUMTO && !broadcasts_to(&n->shape, &n->in[0]->shape))
            emit_error(x, n->loc, "sum_to: the result does not broadcast to the operand");
        if (n->op == OP_BXENT && !shape_eq(&n->in[0]->shape, &n->in[1]->shape))
            emit_error(x, n->loc, "binary_cross_entropy of operands of different shapes");
        if (n->op == OP_LOOP) {
            Loop *l = n->loop;
            for (int r = 0; r < l->nstack; r++) {
                if (l->stack[r]->dtype != DT_F32)
                    emit_error(x, l->stack[r]->loc, "stacking an int value is not supported by the C backend");
                if (l->stack[r]->shape.rank >= NN_MAXRANK)
                    emit_error(x, l->stack[r]->loc, "stacking this value would give a tensor of rank %d (at most %d)",
                               l->stack[r]->shape.rank + 1, NN_MAXRANK);
            }
            for (int r = 0; r < l->nsum; r++)
                if (l->sum[r]->dtype != DT_F32)
                    emit_error(x, l->sum[r]->loc, "summing an int value is not supported by the C backend");
        }
    }
}

/* ================================================================ memory */

/* Most floats the arena or the params may hold: their byte sizes must fit
 * in a size_t and an int64 anywhere the generated code computes them. */
#define MAX_FLOATS (INT64_MAX / 64)

/* Appends a region of s's largest size to *total; returns its offset. A
 * model too large for memory is reported (once) instead. */
static int64_t take(Ctx *x, int64_t *total, const Shape *s, Loc loc)
{
    int64_t cnt = 0, off = *total;
    if (!count_hi(x->g, s, &cnt) || cnt > MAX_FLOATS - *total - ALIGN_FLOATS) {
        if (x->ok)
            emit_error(x, loc, "the model needs more memory than a C program can address");
        return 0;
    }
    /* round up; a scalar still takes one aligned slot */
    int64_t len = (cnt + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    *total += len ? len : ALIGN_FLOATS;
    return off;
}

/* Gives every buffer its arena offset: one region per non-view node, and
 * per loop one per carry, per carry that needs a temporary, per stack and
 * per sum. No reuse: the memory planner (a later pass) replaces this. */
static void plan_memory(Ctx *x)
{
    Graph *g = x->g;
    x->param_off = xalloc(sizeof(int64_t) * (size_t)(g->nparams + 1));
    for (int i = 0; i < g->nparams; i++)
        x->param_off[i] = take(x, &x->params_floats, &g->params[i].shape, g->params[i].loc);
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        NodeInfo *ni = info(n);
        if (owns_buffer(n))
            ni->off = take(x, &x->arena_floats, &n->shape, n->loc);
        if (n->op != OP_LOOP)
            continue;
        Loop *l = n->loop;
        ni->carry_off = xalloc(sizeof(int64_t) * (size_t)(l->ncarry + 1));
        ni->tmp_off = xalloc(sizeof(int64_t) * (size_t)(l->ncarry + 1));
        ni->stack_off = xalloc(sizeof(int64_t) * (size_t)(l->nstack + 1));
        ni->sum_off = xalloc(sizeof(int64_t) * (size_t)(l->nsum + 1));
        for (int r = 0; r < l->ncarry; r++) {
            ni->carry_off[r] = take(x, &x->arena_floats, &l->carry[r]->shape, n->loc);
            /* A next value that reads a carry buffer of this loop would be
             * overwritten before it is copied: it goes through a temporary. */
            const Node *root = view_root(l->next[r]);
            bool aliases = root->op == OP_CARRY && root->loop == l && l->next[r] != l->carry[r];
            ni->tmp_off[r] = aliases ? take(x, &x->arena_floats, &l->carry[r]->shape, n->loc) : -1;
        }
        for (int r = 0; r < l->nstack; r++) {
            Shape s = l->stack[r]->shape;
            NN_ASSERT(s.rank < NN_MAXRANK);
            memmove(&s.d[1], &s.d[0], sizeof(Size) * (size_t)s.rank);
            s.d[0] = size_sub(l->hi, l->lo);
            s.rank++;
            ni->stack_off[r] = take(x, &x->arena_floats, &s, n->loc);
        }
        for (int r = 0; r < l->nsum; r++)
            ni->sum_off[r] = take(x, &x->arena_floats, &l->sum[r]->shape, n->loc);
    }
}

/* ================================================================ node text */

/* The node as one line of IR text (the form ir_print writes, docs/IR.md),
 * for the comment above its code. */
static char *node_text(Ctx *x, const Node *n)
{
    char buf[256];
    char *s = xsprintf("%%%d = %s", n->id, op_name[n->op]);
    switch (n->op) { /* leaf attributes first, like operands */
    case OP_CONST: case OP_FILL: s = xsprintf("%s %g", s, n->f); break;
    case OP_ICONST: s = xsprintf("%s %" PRId64, s, n->i); break;
    case OP_PARAM: s = xsprintf("%s %s", s, x->g->params[n->index].name); break;
    case OP_INPUT: s = xsprintf("%s %s", s, x->g->inputs[n->index].name); break;
    case OP_DIM: s = xsprintf("%s %s", s, size_str(x->g, n->size, buf, sizeof buf)); break;
    case OP_INDEX: s = xsprintf("%s %s", s, n->loop->var ? n->loop->var : "?"); break;
    case OP_CARRY: s = xsprintf("%s %d", s, n->index); break;
    default: break;
    }
    if (n->op == OP_LOOPOUT) {
        s = xsprintf("%s %%%d.%d", s, n->in[0]->id, n->index);
    } else if (n->op == OP_LOOP) {
        Loop *l = n->loop;
        char lo[64], hi[64];
        s = xsprintf("%s %s in %s..%s", s, l->var ? l->var : "?", size_str(x->g, l->lo, lo, sizeof lo),
                     size_str(x->g, l->hi, hi, sizeof hi));
        for (int j = 0; j < n->nin; j++)
            s = xsprintf("%s%s%%%d", s, j ? ", " : " carry(", n->in[j]->id);
        return comment_safe(n->nin ? xsprintf("%s)", s) : s);
    } else {
        for (int j = 0; j < n->nin; j++)
            s = xsprintf("%s%s%%%d", s, j ? ", " : " ", n->in[j]->id);
    }
    if ((n->op == OP_MATVEC || n->op == OP_MATMUL) && n->ta)
        s = xsprintf("%s ta", s);
    if (n->op == OP_MATMUL && n->tb)
        s = xsprintf("%s tb", s);
    if (n->op == OP_SUMAXIS || n->op == OP_MEANAXIS || n->op == OP_EXPAND)
        s = xsprintf("%s axis=%d", s, n->index);
    if (n->op == OP_SLICE)
        s = xsprintf("%s from=%s", s, size_str(x->g, n->size, buf, sizeof buf));
    s = xsprintf("%s : %s%s", s, n->dtype == DT_I32 ? "i32" : "f32",
                 n->shape.rank ? shape_str(x->g, &n->shape, buf, sizeof buf) : "");
    if (n->name)
        s = xsprintf("%s \"%s\"", s, n->name);
    return comment_safe(s);
}

/* #line and the IR text before a node's code. */
static void node_header(Ctx *x, const Node *n)
{
    if (x->line_markers && n->loc.line > 0)
        craw(x, "#line %d \"%s\"\n", n->loc.line, c_escape(x->src_name, false));
    cline(x, "/* %s */", node_text(x, n));
}

/* Back to model.c's own line numbers after a run of #line "model.nn". */
static void line_reset(Ctx *x)
{
    if (x->line_markers)
        craw(x, "#line %d \"%s\"\n", x->c_lines + 2, c_escape(x->c_name, false));
}

/* ================================================================ ops */

/* A float constant: exact (hex) with its decimal value alongside. */
static char *float_lit(double v)
{
    float f = (float)v;
    if (isnan(f))
        return xstrdup("NAN");
    if (isinf(f))
        return xstrdup(f > 0 ? "INFINITY" : "-INFINITY");
    if (f == truncf(f) && fabsf(f) < 16777216.0f) /* an integer: exact in decimal */
        return xsprintf("%.1ff", (double)f);
    return xsprintf("%af /* %.9g */", (double)f, (double)f);
}

static char *elem_expr(Op op, const char *a, const char *b)
{
    switch (op) {
    case OP_ADD: return xsprintf("%s + %s", a, b);
    case OP_SUB: return xsprintf("%s - %s", a, b);
    case OP_MUL: return xsprintf("%s * %s", a, b);
    case OP_DIV: return xsprintf("%s / %s", a, b);
    case OP_NEG: return xsprintf("-%s", a);
    case OP_TANH: return xsprintf("nnrt_tanhf(%s)", a); /* nngrt.h: vectorizes, unlike libm */
    case OP_RELU: return xsprintf("%s > 0.0f ? %s : 0.0f", a, a);
    case OP_SIGMOID: return xsprintf("nnrt_sigmoidf(%s)", a);
    case OP_EXP: return xsprintf("nnrt_expf(%s)", a); /* nngrt.h: vectorizes */
    case OP_LOG: return xsprintf("logf(%s)", a);
    case OP_SQRT: return xsprintf("sqrtf(%s)", a);
    case OP_ABS: return xsprintf("fabsf(%s)", a);
    case OP_SIGN: return xsprintf("(float)((%s > 0.0f) - (%s < 0.0f))", a, a);
    case OP_STEP: return xsprintf("%s > 0.0f ? 1.0f : 0.0f", a);
    default: NN_ASSERT(!"not an elementwise op"); return NULL;
    }
}

/* The index into operand a (broadcast to out) for the loop counters i0..:
 * axes a lacks, or has as a 1 against a larger axis, have stride 0. */
static char *bcast_index(Ctx *x, const Shape *a, const Shape *out)
{
    char *e = NULL;
    int skip = out->rank - a->rank;
    for (int k = skip; k < out->rank; k++) {
        int ka = k - skip;
        if (size_is_one(a->d[ka]) && !size_eq(a->d[ka], out->d[k]))
            continue;
        char *stride = count_c(x, a, ka + 1);
        char *t = strcmp(stride, "1") == 0 ? xsprintf("i%d", k) : xsprintf("i%d * %s", k, stride);
        e = e ? xsprintf("%s + %s", e, t) : t;
    }
    return e ? e : xstrdup("0");
}

static void emit_elementwise(Ctx *x, const Node *n, const char *out)
{
    const Shape *s = &n->shape;
    char *cnt = count_c(x, s, 0);
    const char *a = vname(n->in[0]);
    if (n->nin == 1) {
        cline(x, "for (int64_t i = 0; i < %s; i++)", cnt);
        cline(x, "    %s[i] = %s;", out, elem_expr(n->op, xsprintf("%s[i]", a), NULL));
        return;
    }
    const Node *na = n->in[0], *nb = n->in[1];
    const char *b = vname(nb);
    bool a_full = shape_eq(&na->shape, s), b_full = shape_eq(&nb->shape, s);
    const char *ia = NULL, *ib = NULL;
    if (a_full && b_full)
        ia = ib = "i";
    else if (a_full && nb->shape.rank == 0)
        ia = "i", ib = "0";
    else if (b_full && na->shape.rank == 0)
        ia = "0", ib = "i";
    if (ia) {
        /* fast path: same shapes, or one side a scalar */
        cline(x, "for (int64_t i = 0; i < %s; i++)", cnt);
        cline(x, "    %s[i] = %s;", out,
              elem_expr(n->op, xsprintf("%s[%s]", a, ia), xsprintf("%s[%s]", b, ib)));
        return;
    }
    /* NumPy broadcasting: one loop per axis of the result, operand offsets
     * from per-axis strides (0 along broadcast axes). */
    cline(x, "{");
    x->indent++;
    cline(x, "int64_t o = 0;");
    for (int k = 0; k < s->rank; k++)
        cline(x, "%*sfor (int64_t i%d = 0; i%d < %s; i%d++)", 4 * k, "", k, k, size_c(x, s->d[k]), k);
    cline(x, "%*s%s[o++] = %s;", 4 * s->rank, "", out,
          elem_expr(n->op, xsprintf("%s[%s]", a, bcast_index(x, &na->shape, s)),
                    xsprintf("%s[%s]", b, bcast_index(x, &nb->shape, s))));
    x->indent--;
    cline(x, "}");
}

/* How element i of the result reads operand x of the same, scalar or
 * trailing shape (checked by the fuse pass): x[i], x[0] or x[i % n]. */
static char *suffix_index(Ctx *x, const Node *op, const Node *res)
{
    if (shape_eq(&op->shape, &res->shape))
        return xstrdup("i");
    if (op->shape.rank == 0)
        return xstrdup("0");
    return xsprintf("i %% %s", count_c(x, &op->shape, 0));
}

/* The third operand c of a matrix product (fuse pass): out = c, broadcast,
 * before the BLAS call accumulates into it. */
static void emit_addend(Ctx *x, const Node *n, const char *out)
{
    if (n->nin != 3)
        return;
    const Node *c = n->in[2];
    if (c->shape.rank == 0 || shape_eq(&c->shape, &n->shape)) {
        cline(x, "for (int64_t i = 0; i < %s; i++)", count_c(x, &n->shape, 0));
        cline(x, "    %s[i] = %s[%s];", out, vname(c), suffix_index(x, c, n));
        return;
    }
    /* a bias row (a trailing part of the output): one copy per row, no
     * division per element */
    char *cc = count_c(x, &c->shape, 0);
    cline(x, "for (int64_t r = 0; (%s) > 0 && r < (%s) / (%s); r++)", cc, count_c(x, &n->shape, 0), cc);
    cline(x, "    memcpy(%s + r * (%s), %s, (size_t)(%s) * sizeof(float));", out, cc, vname(c), cc);
}

static void emit_index_check(Ctx *x, const Node *n, const char *idx, const char *bound);

/* The label of row r in the int value y (an int scalar is a plain
 * variable, not an array). */
static char *label_c(const Node *y)
{
    return is_int_scalar(y) ? xsprintf("(int64_t)%s", vname(y)) : xsprintf("(int64_t)%s[r]", vname(y));
}

static void emit_label_rows(Ctx *x, const Node *n, const char *rows, const Node *b, const char *len,
                            const char *body);

/* An elementwise chain (fuse pass) as one loop: each body node is a scalar
 * local of the iteration, no intermediate buffers. With row ops (expand
 * along the last axis, pick_grad) the loop is a nest over rows r and
 * columns j (i = r * cols + j), and row ARGs are read at r; pick_grad's
 * labels are checked before the loop. */
static void emit_fused(Ctx *x, const Node *n, const char *out)
{
    const Block *fb = n->fused;
    bool rows = false;
    for (int k = 0; k < fb->n; k++)
        rows = rows || (fb->nodes[k]->op == OP_ARG && fb->nodes[k]->ta);
    char *cols = NULL, *nrows = NULL;
    if (rows) {
        Shape rs = n->shape;
        rs.rank--;
        nrows = count_c(x, &rs, 0);
        cols = size_c(x, n->shape.d[n->shape.rank - 1]);
        for (int k = 0; k < fb->n; k++)
            if (fb->nodes[k]->op == OP_PICKGRAD)
                emit_label_rows(x, fb->nodes[k], nrows, n->in[fb->nodes[k]->in[1]->index], cols, NULL);
        cline(x, "for (int64_t r = 0; r < %s; r++) {", nrows);
        x->indent++;
        /* the row ops' operands, read once per row into locals (so that
         * the column loop has no loads that might alias its store, and
         * vectorizes) */
        for (int k = 0; k < fb->n; k++) {
            const Node *b = fb->nodes[k];
            if (b->op == OP_EXPAND)
                cline(x, "const float f%d = %s[r]; /* expand */", b->id, vname(n->in[b->in[0]->index]));
            else if (b->op == OP_PICKGRAD)
                cline(x, "const int64_t y%d = %s; const float d%d = %s[r];", b->id,
                      label_c(n->in[b->in[1]->index]), b->id, vname(n->in[b->in[0]->index]));
        }
        cline(x, "for (int64_t j = 0; j < %s; j++) {", cols);
        x->indent++;
        cline(x, "const int64_t i = r * %s + j;", cols);
    } else {
        cline(x, "for (int64_t i = 0; i < %s; i++) {", count_c(x, &n->shape, 0));
        x->indent++;
    }
    for (int k = 0; k < fb->n; k++) {
        const Node *b = fb->nodes[k];
        char *e;
        if ((b->op == OP_ARG && b->ta) || b->op == OP_EXPAND) {
            continue; /* read per row, before the column loop */
        } else if (b->op == OP_ARG) {
            const Node *op = n->in[b->index];
            e = xsprintf("%s[%s]", vname(op), suffix_index(x, op, n));
        } else if (b->op == OP_PICKGRAD) {
            e = xsprintf("j == y%d ? d%d : 0.0f", b->id, b->id);
        } else {
            e = elem_expr(b->op, xsprintf("f%d", b->in[0]->id), b->nin > 1 ? xsprintf("f%d", b->in[1]->id) : NULL);
        }
        cline(x, "const float f%d = %s; /* %s */", b->id, e, op_name[b->op]);
    }
    cline(x, "%s[i] = f%d;", out, fb->nodes[fb->n - 1]->id);
    if (rows) {
        x->indent--;
        cline(x, "}");
    }
    x->indent--;
    cline(x, "}");
}

/* Is idx surely in [0, rows)? True for the counter of a loop whose range
 * lies inside [0, rows) for every legal dim (xs[t] with t in 0..T): such a
 * check could never fail, and would only clutter the code. */
static bool index_in_range(const Graph *g, const Node *idx, Size rows)
{
    if (idx->op != OP_INDEX || !idx->loop)
        return false;
    Size over = size_sub(idx->loop->hi, rows); /* hi - rows <= 0 is needed */
    return size_lo(g, idx->loop->lo) >= 0 && size_is_const(over) && over.c <= 0;
}

/* return nnrt_error(RANGE, "file:l:c: index %lld out of range [0, %lld)") if !(0 <= idx < bound) */
static void emit_index_check(Ctx *x, const Node *n, const char *idx, const char *bound)
{
    cline(x, "if (%s < 0 || %s >= %s)", idx, idx, bound);
    cline(x, "    return nnrt_error(NNRT_ERR_RANGE, \"%s: index %%lld out of range [0, %%lld)\",",
          loc_fmt(x, n->loc));
    cline(x, "                      (long long)%s, (long long)%s);", idx, bound);
}

/* Is param i's gradient (in train context t) one scatter of rows at the
 * top of the train graph, computed in place in m->grads? Then the model
 * keeps the list of rows it touched (touchedI, ntouchedI): the next call
 * zeroes only those, and SGD updates only those, as PyTorch's sparse
 * embedding gradients do, instead of a pass over the whole table. */
static bool sparse_grad(Ctx *t, int i)
{
    const Node *v = t->g->grads ? t->g->grads[i] : NULL;
    return v && v->op == OP_SCATTERADD && v->parent == &t->g->top && info(v)->grad_of == i &&
           v->in[1]->dtype == DT_I32;
}

/* The most rows sparse gradient i's scatter may touch per call. */
static int64_t sparse_grad_cap(Ctx *t, int i)
{
    const Node *ids = t->g->grads[i]->in[1];
    return is_int_scalar(ids) ? 1 : shape_max_count(t->g, &ids->shape);
}

/* SCATTERADD n's rows added into dst (n's shape [V, ...]): row r of
 * operand a goes to row ids[r], each id checked. */
static void emit_scatter_rows(Ctx *x, const Node *n, const char *dst, bool zero_first)
{
    const Node *a = n->in[0], *b = n->in[1];
    NN_ASSERT(n->shape.rank >= 1 && b->dtype == DT_I32);
    char *rowc = count_c(x, &n->shape, 1);
    int sparse = info(n)->grad_of >= 0 && sparse_grad(x, info(n)->grad_of) ? info(n)->grad_of : -1;
    if (sparse >= 0) {
        /* d loss / d table in m->grads: zero only the rows the last call
         * touched (the rest is zero already), and list this call's rows
         * (after their check) for the next call and the sparse update */
        cline(x, "for (int64_t k = 0; k < m->ntouched%d; k++)", sparse);
        cline(x, "    memset(%s + m->touched%d[k] * %s, 0, (size_t)%s * sizeof(float));", dst, sparse, rowc, rowc);
        cline(x, "m->ntouched%d = 0;", sparse);
    } else if (zero_first) {
        cline(x, "memset(%s, 0, (size_t)%s * sizeof(float));", dst, count_c(x, &n->shape, 0));
    }
    cline(x, "for (int64_t r = 0; r < %s; r++) {", is_int_scalar(b) ? "1" : count_c(x, &b->shape, 0));
    x->indent++;
    cline(x, "const int64_t id = %s;", is_int_scalar(b) ? vname(b) : xsprintf("%s[r]", vname(b)));
    emit_index_check(x, n, "id", size_c(x, n->shape.d[0]));
    if (sparse >= 0)
        cline(x, "m->touched%d[m->ntouched%d++] = (int32_t)id;", sparse, sparse);
    cline(x, "for (int64_t j = 0; j < %s; j++)", rowc);
    cline(x, "    %s[id * %s + j] += %s[r * %s + j];", dst, rowc, vname(a), rowc);
    x->indent--;
    cline(x, "}");
}

/* A loop nest over shape out whose body writes out[o++] = EXPR, where
 * EXPR reads operand a broadcast (bcast_index) to out. */
static void emit_bcast_copy(Ctx *x, const Node *a, const Shape *out, const char *v)
{
    cline(x, "{");
    x->indent++;
    cline(x, "int64_t o = 0;");
    for (int k = 0; k < out->rank; k++)
        cline(x, "%*sfor (int64_t i%d = 0; i%d < %s; i%d++)", 4 * k, "", k, k, size_c(x, out->d[k]), k);
    cline(x, "%*s%s[o++] = %s[%s];", 4 * out->rank, "", v, vname(a), bcast_index(x, &a->shape, out));
    x->indent--;
    cline(x, "}");
}

/* for each row r of a label op: y = its int label (b[r], or b when b is a
 * scalar), checked against [0, len), then `body` (which reads r and y;
 * NULL: the check alone) */
static void emit_label_rows(Ctx *x, const Node *n, const char *rows, const Node *b, const char *len,
                            const char *body)
{
    cline(x, "for (int64_t r = 0; r < %s; r++) {", rows);
    x->indent++;
    cline(x, "const int64_t y = %s;", label_c(b));
    emit_index_check(x, n, "y", len);
    if (body)
        cline(x, "%s", body);
    x->indent--;
    cline(x, "}");
}

static void emit_block(Ctx *x, Block *b);

static void emit_loop(Ctx *x, Node *n)
{
    Loop *l = n->loop;
    NodeInfo *ni = info(n);
    int id = n->id;
    NN_ASSERT(l && l->index && l->index->op == OP_INDEX);
    NN_ASSERT(n->nin == l->ncarry);
    /* the loop's buffers live in the scope that holds the loop */
    for (int r = 0; r < l->ncarry; r++) {
        const Node *c = l->carry[r];
        cline(x, "float *c%d_%d = m->arena + %" PRId64 "; /* carry #%d%s%s */", id, r, ni->carry_off[r], r,
              c->name ? " " : "", c->name ? c->name : "");
        cline(x, "memcpy(c%d_%d, %s, (size_t)%s * sizeof(float));", id, r, vname(n->in[r]),
              count_c(x, &c->shape, 0));
    }
    for (int r = 0; r < l->nstack; r++)
        cline(x, "float *s%d_%d = m->arena + %" PRId64 "; /* stack of %%%d */", id, r, ni->stack_off[r],
              l->stack[r]->id);
    for (int r = 0; r < l->nsum; r++) {
        if (ni->sum_grad_of && ni->sum_grad_of[r] >= 0)
            cline(x, "float *u%d_%d = m->grads + %" PRId64 "; /* sum of %%%d: d loss / d %s */", id, r,
                  x->param_off[ni->sum_grad_of[r]], l->sum[r]->id, x->g->params[ni->sum_grad_of[r]].name);
        else
            cline(x, "float *u%d_%d = m->arena + %" PRId64 "; /* sum of %%%d */", id, r, ni->sum_off[r],
                  l->sum[r]->id);
        cline(x, "memset(u%d_%d, 0, (size_t)%s * sizeof(float));", id, r, count_c(x, &l->sum[r]->shape, 0));
    }
    const char *t = vname(l->index), *lo = size_c(x, l->lo);
    if (l->reverse) /* a backward scan: the iterations in reverse order */
        cline(x, "for (int64_t %s = %s - 1; %s >= %s; %s--) {", t, size_c(x, l->hi), t, lo, t);
    else
        cline(x, "for (int64_t %s = %s; %s < %s; %s++) {", t, lo, t, size_c(x, l->hi), t);
    x->indent++;
    emit_block(x, &l->body);
    cline(x, "/* end of iteration: stacks, sums, then carries */");
    char *iter = size_is_const(l->lo) && l->lo.c == 0 ? xstrdup(t) : xsprintf("(%s - %s)", t, lo);
    for (int r = 0; r < l->nstack; r++) {
        char *rowc = count_c(x, &l->stack[r]->shape, 0);
        cline(x, "memcpy(s%d_%d + %s * %s, %s, (size_t)%s * sizeof(float));", id, r, iter, rowc,
              vname(l->stack[r]), rowc);
    }
    for (int r = 0; r < l->nsum; r++) {
        const Node *sv = l->sum[r];
        if (info(sv)->direct) {
            emit_scatter_rows(x, sv, xsprintf("u%d_%d", id, r), false);
            continue;
        }
        cline(x, "for (int64_t i = 0; i < %s; i++)", count_c(x, &sv->shape, 0));
        cline(x, "    u%d_%d[i] += %s[i];", id, r, vname(sv));
    }
    /* next values that read a carry buffer go through temporaries first */
    for (int r = 0; r < l->ncarry; r++)
        if (ni->tmp_off[r] >= 0)
            cline(x, "float *x%d_%d = memcpy(m->arena + %" PRId64 ", %s, (size_t)%s * sizeof(float));", id, r,
                  ni->tmp_off[r], vname(l->next[r]), count_c(x, &l->carry[r]->shape, 0));
    for (int r = 0; r < l->ncarry; r++) {
        if (l->next[r] == l->carry[r])
            continue; /* unchanged */
        const char *src = ni->tmp_off[r] >= 0 ? xsprintf("x%d_%d", id, r) : vname(l->next[r]);
        cline(x, "memcpy(c%d_%d, %s, (size_t)%s * sizeof(float));", id, r, src,
              count_c(x, &l->carry[r]->shape, 0));
    }
    x->indent--;
    cline(x, "} /* end loop %%%d */", id);
}

/* One statement group: the node's variable and the code computing it. */
static void emit_node(Ctx *x, Node *n)
{
    Graph *g = x->g;
    const char *v = vname(n);
    node_header(x, n);
    if (info(n)->direct) {
        cline(x, n->op == OP_GATHER   ? "/* rows read in place by the sum over them */"
                 : n->op == OP_MATMUL ? "/* not stored: its logsumexp and picks read the operands */"
                                      : "/* rows added into the loop's sum at the end of the iteration */");
        return;
    }
    if (has_buffer(n)) {
        if (n->dtype == DT_I32)
            cline(x, "int32_t *%s = (int32_t *)(void *)(m->arena + %" PRId64 ");", v, info(n)->off);
        else
            if (info(n)->grad_of >= 0)
                cline(x, "float *%s = m->grads + %" PRId64 "; /* d loss / d %s */", v,
                      x->param_off[info(n)->grad_of], g->params[info(n)->grad_of].name);
            else
                cline(x, "float *%s = m->arena + %" PRId64 ";", v, info(n)->off);
    }
    const Node *a = n->nin > 0 ? n->in[0] : NULL, *b = n->nin > 1 ? n->in[1] : NULL;
    const char *va = a ? vname(a) : NULL, *vb = b ? vname(b) : NULL;
    if (op_flags[n->op] & OPF_ELEMWISE) {
        emit_elementwise(x, n, v);
        goto done;
    }
    switch (n->op) {
    case OP_CONST:
        cline(x, "%s[0] = %s;", v, float_lit(n->f));
        break;
    case OP_FILL:
        cline(x, "for (int64_t i = 0; i < %s; i++)", count_c(x, &n->shape, 0));
        cline(x, "    %s[i] = %s;", v, float_lit(n->f));
        break;
    case OP_ICONST:
        cline(x, "const int64_t %s = %s;", v, int_lit(n->i));
        break;
    case OP_PARAM:
        NN_ASSERT(n->index >= 0 && n->index < g->nparams);
        cline(x, "const float *%s = m->params + %" PRId64 "; /* %s */", v, x->param_off[n->index],
              g->params[n->index].name);
        break;
    case OP_INPUT: {
        NN_ASSERT(n->index >= 0 && n->index < g->ninputs);
        const char *name = g->inputs[n->index].name;
        if (is_int_scalar(n))
            cline(x, "const int64_t %s = in->%s;", v, name);
        else if (n->dtype == DT_I32)
            cline(x, "const int32_t *%s = in->%s;", v, name);
        else if (n->shape.rank == 0)
            cline(x, "const float *%s = &in->%s;", v, name);
        else
            cline(x, "const float *%s = in->%s;", v, name);
        break;
    }
    case OP_DIM:
        cline(x, "const int64_t %s = %s;", v, size_c(x, n->size));
        break;
    case OP_INDEX:
        break; /* the loop's counter: declared by the for of emit_loop */
    case OP_CARRY: {
        Loop *l = n->loop;
        NN_ASSERT(l && n->index >= 0 && n->index < l->ncarry);
        cline(x, "const float *%s = c%d_%d;", v, l->node->id, n->index);
        break;
    }
    case OP_IADD:
    case OP_ISUB:
    case OP_IMUL: {
        const char *op = n->op == OP_IADD ? "+" : n->op == OP_ISUB ? "-" : "*";
        if (is_int_scalar(n)) {
            cline(x, "const int64_t %s = %s %s %s;", v, va, op, vb);
            break;
        }
        /* int vectors (batched index arithmetic): a scalar operand broadcasts */
        cline(x, "for (int64_t i = 0; i < %s; i++)", count_c(x, &n->shape, 0));
        cline(x, "    %s[i] = (int32_t)((int64_t)%s%s %s (int64_t)%s%s);", v, va, is_int_scalar(a) ? "" : "[i]", op,
              vb, is_int_scalar(b) ? "" : "[i]");
        break;
    }
    case OP_RANGE:
        cline(x, "for (int64_t i = 0; i < %s; i++)", count_c(x, &n->shape, 0));
        cline(x, "    %s[i] = (int32_t)(%s + i);", v, size_c(x, n->size));
        break;
    case OP_MATVEC:
        /* a is stored [rows, cols]; with ta it is used transposed. A third
         * operand (fuse pass) is added: the output starts as it and the
         * product accumulates (beta = 1). */
        NN_ASSERT(a->shape.rank == 2);
        emit_addend(x, n, v);
        cline(x, "nnrt_gemv(%d, %s, %s, 1.0f, %s, %s, %s, %s, %s);", n->ta ? 1 : 0, size_c(x, a->shape.d[0]),
              size_c(x, a->shape.d[1]), va, ld_c(x, a->shape.d[1]), vb, n->nin == 3 ? "1.0f" : "0.0f", v);
        break;
    case OP_MATMUL:
        NN_ASSERT(a->shape.rank == 2 && b->shape.rank == 2 && n->shape.rank == 2);
        /* M, N from the result; K from a as it is used (stored [K, M] with ta) */
        emit_addend(x, n, v);
        cline(x, "nnrt_gemm(%d, %d, %s, %s, %s, 1.0f, %s, %s, %s, %s, %s, %s, %s);", n->ta ? 1 : 0,
              n->tb ? 1 : 0, size_c(x, n->shape.d[0]), size_c(x, n->shape.d[1]),
              size_c(x, n->ta ? a->shape.d[0] : a->shape.d[1]), va, ld_c(x, a->shape.d[1]), vb,
              ld_c(x, b->shape.d[1]), n->nin == 3 ? "1.0f" : "0.0f", v, ld_c(x, n->shape.d[1]));
        break;
    case OP_TRANSPOSE: {
        NN_ASSERT(a->shape.rank == 2);
        char *rows = size_c(x, a->shape.d[0]), *cols = size_c(x, a->shape.d[1]);
        cline(x, "for (int64_t i = 0; i < %s; i++)", rows);
        cline(x, "    for (int64_t j = 0; j < %s; j++)", cols);
        cline(x, "        %s[j * %s + i] = %s[i * %s + j];", v, rows, va, cols);
        break;
    }
    case OP_DOT:
        cline(x, "%s[0] = nnrt_dot(%s, %s, %s);", v, count_c(x, &a->shape, 0), va, vb);
        break;
    case OP_ROW: {
        NN_ASSERT(a->shape.rank >= 1 && is_int_scalar(b));
        if (!index_in_range(g, b, a->shape.d[0]))
            emit_index_check(x, n, vb, size_c(x, a->shape.d[0]));
        char *rowc = count_c(x, &a->shape, 1);
        if (is_int_scalar(n))
            cline(x, "const int64_t %s = %s[%s];", v, va, vb);
        else if (n->dtype == DT_I32)
            cline(x, "const int32_t *%s = %s + %s * %s;", v, va, vb, rowc);
        else
            cline(x, "const float *%s = %s + %s * %s;", v, va, vb, rowc);
        break;
    }
    case OP_GATHER: {
        NN_ASSERT(a->shape.rank >= 1 && is_int_tensor(b));
        char *rowc = count_c(x, &a->shape, 1);
        const char *ty = n->dtype == DT_I32 ? "int32_t" : "float";
        cline(x, "for (int64_t r = 0; r < %s; r++) {", count_c(x, &b->shape, 0));
        x->indent++;
        cline(x, "const int64_t id = %s[r];", vb);
        emit_index_check(x, n, "id", size_c(x, a->shape.d[0]));
        cline(x, "memcpy(%s + r * %s, %s + id * %s, (size_t)%s * sizeof(%s));", v, rowc, va, rowc, rowc, ty);
        x->indent--;
        cline(x, "}");
        break;
    }
    case OP_SUM:
    case OP_MEAN: {
        /* double accumulator: float sums of long vectors drift */
        char *cnt = count_c(x, &a->shape, 0);
        cline(x, "{");
        x->indent++;
        cline(x, "double acc = 0.0;");
        cline(x, "for (int64_t i = 0; i < %s; i++)", cnt);
        cline(x, "    acc += (double)%s[i];", va);
        if (n->op == OP_SUM)
            cline(x, "%s[0] = (float)acc;", v);
        else
            cline(x, "%s[0] = (float)(acc / (double)%s);", v, cnt);
        x->indent--;
        cline(x, "}");
        break;
    }
    case OP_SUMAXIS:
    case OP_MEANAXIS: {
        int k = n->index;
        NN_ASSERT(k >= 0 && k < a->shape.rank);
        Shape outer = a->shape;
        outer.rank = k;
        char *no = count_c(x, &outer, 0), *len = size_c(x, a->shape.d[k]), *ni = count_c(x, &a->shape, k + 1);
        Shape inner = a->shape;
        memmove(&inner.d[0], &inner.d[k + 1], sizeof(Size) * (size_t)(a->shape.rank - k - 1));
        inner.rank = a->shape.rank - k - 1;
        int64_t inner_count;
        if (count_hi(x->g, &inner, &inner_count) && inner_count == 1 && shape_max_count(x->g, &inner) == 1) {
            /* a reduction along the last axis: one double accumulator per row */
            cline(x, "for (int64_t o = 0; o < %s; o++) {", no);
            cline(x, "    double acc = 0.0;");
            cline(x, "    for (int64_t l = 0; l < %s; l++)", len);
            cline(x, "        acc += (double)%s[o * %s + l];", va, len);
            if (n->op == OP_SUMAXIS)
                cline(x, "    %s[o] = (float)acc;", v);
            else
                cline(x, "    %s[o] = (float)(acc / (double)%s);", v, len);
            cline(x, "}");
            break;
        }
        /* rows added into the output row, which vectorizes over j (the
         * same float additions, in the same order, as a loop over l of
         * row adds would do). A bag of embeddings (a gather read only by
         * this sum, not materialized) adds the table's rows in place, each
         * id checked. */
        bool bag = a->op == OP_GATHER && info(a)->direct;
        cline(x, "for (int64_t o = 0; o < %s; o++) {", bag ? "1" : no);
        x->indent++;
        cline(x, "float *dst = %s + o * %s;", v, ni);
        cline(x, "for (int64_t j = 0; j < %s; j++)", ni);
        cline(x, "    dst[j] = 0.0f;");
        cline(x, "for (int64_t l = 0; l < %s; l++) {", len);
        x->indent++;
        if (bag) {
            cline(x, "const int64_t id = %s[l];", vname(a->in[1]));
            emit_index_check(x, a, "id", size_c(x, a->in[0]->shape.d[0]));
            cline(x, "const float *src = %s + id * %s;", vname(a->in[0]), ni);
        } else {
            cline(x, "const float *src = %s + (o * %s + l) * %s;", va, len, ni);
        }
        cline(x, "for (int64_t j = 0; j < %s; j++)", ni);
        cline(x, "    dst[j] += src[j];");
        x->indent--;
        cline(x, "}");
        if (n->op == OP_MEANAXIS) {
            cline(x, "for (int64_t j = 0; j < %s; j++)", ni);
            cline(x, "    dst[j] = (float)((double)dst[j] / (double)%s);", len);
        }
        x->indent--;
        cline(x, "}");
        break;
    }
    case OP_CONCAT: {
        char *na = count_c(x, &a->shape, 0);
        const char *elem = n->dtype == DT_I32 ? "int32_t" : "float"; /* any element type */
        cline(x, "memcpy(%s, %s, (size_t)%s * sizeof(%s));", v, va, na, elem);
        cline(x, "memcpy(%s + %s, %s, (size_t)%s * sizeof(%s));", v, na, vb, count_c(x, &b->shape, 0), elem);
        break;
    }
    case OP_SOFTMAX:
    case OP_LOGSOFTMAX: {
        /* rows are all axes but the last; a scalar is one row of one */
        char *len = a->shape.rank ? size_c(x, a->shape.d[a->shape.rank - 1]) : xstrdup("1");
        Shape lead = a->shape;
        lead.rank = a->shape.rank ? a->shape.rank - 1 : 0;
        char *rows = count_c(x, &lead, 0);
        cline(x, "for (int64_t r = 0; r < %s; r++)", rows);
        cline(x, "    %s(%s + r * %s, %s + r * %s, %s);", n->op == OP_SOFTMAX ? "nnrt_softmax" : "nnrt_log_softmax",
              va, len, v, len, len);
        break;
    }
    case OP_XENT: {
        /* -log softmax(z)[y] = logsumexp(z) - z[y], one row per label */
        NN_ASSERT(a->shape.rank >= 1 && b->dtype == DT_I32);
        char *len = size_c(x, a->shape.d[a->shape.rank - 1]);
        emit_label_rows(x, n, count_c(x, &n->shape, 0), b, len,
                        xsprintf("%s[r] = nn_lse(%s + r * %s, %s) - %s[r * %s + y];", v, va, len, len, va, len));
        break;
    }
    case OP_LOGSUMEXP: {
        if (unstored_logits(a)) {
            const Node *X = a->in[0], *W = a->in[1];
            cline(x, "nnrt_linear_lse(%s, %s, %s, %s, %s, %s, %s, %s, %s);", size_c(x, a->shape.d[0]),
                  size_c(x, a->shape.d[1]), size_c(x, X->shape.d[1]), vname(X), ld_c(x, X->shape.d[1]), vname(W),
                  ld_c(x, W->shape.d[1]), a->nin == 3 ? vname(a->in[2]) : "NULL", v);
            break;
        }
        char *len = size_c(x, a->shape.d[a->shape.rank - 1]);
        cline(x, "for (int64_t r = 0; r < %s; r++)", count_c(x, &n->shape, 0));
        /* inline (nngrt.h) rather than a call: it vectorizes for the CPU the model is compiled for */
        cline(x, "    %s[r] = nn_lse(%s + r * %s, %s);", v, va, len, len);
        break;
    }
    case OP_PICK: {
        if (unstored_logits(a)) {
            /* the logit z[r, y] = X[r] . W[y] (+ b[y]) */
            const Node *X = a->in[0], *W = a->in[1];
            char *k = size_c(x, X->shape.d[1]);
            emit_label_rows(x, n, count_c(x, &n->shape, 0), b, size_c(x, a->shape.d[1]),
                            xsprintf("%s[r] = nnrt_dot(%s, %s + r * %s, %s + y * %s)%s;", v, k, vname(X), k,
                                     vname(W), k, a->nin == 3 ? xsprintf(" + %s[y]", vname(a->in[2])) : ""));
            break;
        }
        char *len = size_c(x, a->shape.d[a->shape.rank - 1]);
        emit_label_rows(x, n, count_c(x, &n->shape, 0), b, len, xsprintf("%s[r] = %s[r * %s + y];", v, va, len));
        break;
    }
    case OP_BXENT:
        /* stable form of -t log s(z) - (1-t) log(1-s(z)) */
        cline(x, "{");
        x->indent++;
        cline(x, "double acc = 0.0;");
        cline(x, "for (int64_t i = 0; i < %s; i++) {", count_c(x, &a->shape, 0));
        cline(x, "    const double z = (double)%s[i], t = (double)%s[i];", va, vb);
        cline(x, "    acc += (z > 0.0 ? z : 0.0) - z * t + log1p(exp(-fabs(z)));");
        cline(x, "}");
        cline(x, "%s[0] = (float)acc;", v);
        x->indent--;
        cline(x, "}");
        break;
    /* ---- gradient ops (autodiff) */
    case OP_OUTER: {
        char *cols = count_c(x, &b->shape, 0);
        cline(x, "for (int64_t i = 0; i < %s; i++)", count_c(x, &a->shape, 0));
        cline(x, "    for (int64_t j = 0; j < %s; j++)", cols);
        cline(x, "        %s[i * %s + j] = %s[i] * %s[j];", v, cols, va, vb);
        break;
    }
    case OP_BROADCAST:
        NN_ASSERT(broadcasts_to(&a->shape, &n->shape));
        emit_bcast_copy(x, a, &n->shape, v);
        break;
    case OP_EXPAND: {
        /* out[o, l, j] = a[o, j]: axis k of the result is the new one */
        int k = n->index;
        NN_ASSERT(k >= 0 && k < n->shape.rank);
        Shape outer = n->shape;
        outer.rank = k;
        char *no = count_c(x, &outer, 0), *len = size_c(x, n->shape.d[k]), *ni = count_c(x, &n->shape, k + 1);
        cline(x, "for (int64_t o = 0; o < %s; o++)", no);
        cline(x, "    for (int64_t l = 0; l < %s; l++)", len);
        cline(x, "        for (int64_t j = 0; j < %s; j++)", ni);
        cline(x, "            %s[(o * %s + l) * %s + j] = %s[o * %s + j];", v, len, ni, va, ni);
        break;
    }
    case OP_SUMTO: {
        /* the result broadcasts to a: add each element of a into the
         * element of the result it was broadcast from */
        NN_ASSERT(broadcasts_to(&n->shape, &a->shape));
        const Shape *s = &a->shape;
        cline(x, "memset(%s, 0, (size_t)%s * sizeof(float));", v, count_c(x, &n->shape, 0));
        cline(x, "{");
        x->indent++;
        cline(x, "int64_t o = 0;");
        for (int k = 0; k < s->rank; k++)
            cline(x, "%*sfor (int64_t i%d = 0; i%d < %s; i%d++)", 4 * k, "", k, k, size_c(x, s->d[k]), k);
        cline(x, "%*s%s[%s] += %s[o++];", 4 * s->rank, "", v, bcast_index(x, &n->shape, s), va);
        x->indent--;
        cline(x, "}");
        break;
    }
    case OP_SLICE: {
        char *rowc = count_c(x, &a->shape, 1);
        cline(x, "memcpy(%s, %s + %s * %s, (size_t)%s * sizeof(float));", v, va, size_c(x, n->size), rowc,
              count_c(x, &n->shape, 0));
        break;
    }
    case OP_SCATTERADD:
        emit_scatter_rows(x, n, v, true);
        break;
    case OP_PICKGRAD: {
        NN_ASSERT(n->shape.rank >= 1);
        char *len = size_c(x, n->shape.d[n->shape.rank - 1]);
        cline(x, "memset(%s, 0, (size_t)%s * sizeof(float));", v, count_c(x, &n->shape, 0));
        emit_label_rows(x, n, count_c(x, &a->shape, 0), b, len, xsprintf("%s[r * %s + y] = %s[r];", v, len, va));
        break;
    }
    case OP_SOFTMAXGRAD:
    case OP_LOGSOFTMAXGRAD: {
        /* per row of the last axis; a = the softmax output y, b = d */
        char *len = a->shape.rank ? size_c(x, a->shape.d[a->shape.rank - 1]) : xstrdup("1");
        Shape lead = a->shape;
        lead.rank = a->shape.rank ? a->shape.rank - 1 : 0;
        cline(x, "for (int64_t r = 0; r < %s; r++) {", count_c(x, &lead, 0));
        x->indent++;
        cline(x, "const float *y = %s + r * %s, *d = %s + r * %s;", va, len, vb, len);
        cline(x, "float *o = %s + r * %s;", v, len);
        cline(x, "double acc = 0.0;");
        cline(x, "for (int64_t j = 0; j < %s; j++)", len);
        if (n->op == OP_SOFTMAXGRAD) {
            cline(x, "    acc += (double)d[j] * (double)y[j];");
            cline(x, "for (int64_t j = 0; j < %s; j++)", len);
            cline(x, "    o[j] = y[j] * (d[j] - (float)acc);");
        } else {
            cline(x, "    acc += (double)d[j];");
            cline(x, "for (int64_t j = 0; j < %s; j++)", len);
            cline(x, "    o[j] = d[j] - expf(y[j]) * (float)acc;");
        }
        x->indent--;
        cline(x, "}");
        break;
    }
    case OP_FUSED:
        emit_fused(x, n, v);
        break;
    case OP_LOOP:
        emit_loop(x, n);
        break;
    case OP_LOOPOUT: {
        NN_ASSERT(a && a->op == OP_LOOP);
        Loop *l = a->loop;
        int r = n->index, id = a->id;
        if (r < l->ncarry)
            cline(x, "const float *%s = c%d_%d;", v, id, r);
        else if (r < l->ncarry + l->nstack)
            cline(x, "const float *%s = s%d_%d;", v, id, r - l->ncarry);
        else {
            NN_ASSERT(r < l->ncarry + l->nstack + l->nsum);
            cline(x, "const float *%s = u%d_%d;", v, id, r - l->ncarry - l->nstack);
        }
        break;
    }
    default:
        NN_ASSERT(!"op without C code");
    }
done:
    /* a value nobody reads would be an unused-variable warning */
    if (info(n)->uses == 0 && n->op != OP_LOOP && n->op != OP_INDEX && !has_buffer(n))
        cline(x, "(void)%s;", v);
}

static void emit_block(Ctx *x, Block *b)
{
    for (int i = 0; i < b->n; i++)
        emit_node(x, b->nodes[i]);
}

/* ================================================================ training */

static void emit_tensor_desc(Ctx *x, const char *name, DType dt, const Shape *s, const char *text);
static void emit_train_wrappers(Ctx *x);

/* The optimizer as text for comments: "adam(lr = 0.001, beta1 = 0.9, ...)".
 * A program without `optimizer` trains with sgd(lr = 0.01). */
static char *opt_text(const OptimizerDecl *o)
{
    switch (o->kind) {
    case OPT_ADAM:
        return xsprintf("adam(lr = %g, beta1 = %g, beta2 = %g, eps = %g)", o->lr, o->beta1, o->beta2, o->eps);
    case OPT_ADAGRAD:
        return xsprintf("adagrad(lr = %g, eps = %g)", o->lr, o->eps);
    case OPT_SGD:
        return xsprintf("sgd(lr = %g)", o->lr);
    case OPT_NONE:
        break;
    }
    return xstrdup("sgd(lr = 0.01), the default");
}

/* A double constant, exactly (hex), with its decimal value alongside: the
 * optimizers' betas and eps, which PyTorch keeps as Python floats. */
static char *double_lit(double v)
{
    char *dec = xsprintf("%.15g", v);
    if (strtod(dec, NULL) != v) /* the shortest of 15 and 17 digits that reads back */
        dec = xsprintf("%.17g", v);
    return xsprintf("%a /* %s */", v, dec);
}

static double opt_lr(const OptimizerDecl *o)
{
    return o->kind == OPT_NONE ? 0.01 : o->lr;
}

/* Does the optimizer update param i (trainable, and the loss depends on it)? */
static bool updated(const Graph *t, int i)
{
    return !t->params[i].frozen && t->grads && t->grads[i];
}

/* Is param i read by rows (E[id], E[ids]): a lookup table, whose SGD update
 * skips the rows no id touched? */
static bool is_table(Ctx *t, int i)
{
    for (int k = 0; k < t->nall; k++) {
        Node *n = t->all[k];
        if ((n->op == OP_ROW || n->op == OP_GATHER) && n->in[0]->op == OP_PARAM && n->in[0]->index == i)
            return t->g->params[i].shape.rank >= 2;
    }
    return false;
}

/* Optimizer state tensors: per updated param "m" and "v" (Adam) or "sum"
 * (Adagrad) at offsets into m->opt (Adam: m in [0, P), v in [P, 2P), P the
 * params' size), then Adam's "__opt__/step" (offset -1: the field
 * m->opt_step). */
typedef struct StateTensor {
    char *name;
    int param;   /* its param, -1 for the step */
    int64_t off; /* in m->opt */
} StateTensor;

static int state_tensors(Ctx *x, StateTensor **out)
{
    Graph *t = x->train->g;
    StateTensor *v = NULL;
    int n = 0, cap = 0;
    static const char *const adam[] = {"m", "v", NULL}, *const adagrad[] = {"sum", NULL};
    const char *const *kinds = t->opt.kind == OPT_ADAM ? adam : t->opt.kind == OPT_ADAGRAD ? adagrad : NULL;
    for (int k = 0; kinds && kinds[k]; k++)
        for (int i = 0; i < t->nparams; i++)
            if (updated(t, i)) {
                StateTensor st = {xsprintf("__opt__/%s/%s", t->params[i].name, kinds[k]), i,
                                  k * x->params_floats + x->param_off[i]};
                VEC_PUSH(v, n, cap, st);
            }
    if (t->opt.kind == OPT_ADAM) {
        StateTensor st = {xstrdup("__opt__/step"), -1, -1};
        VEC_PUSH(v, n, cap, st);
    }
    *out = v;
    return n;
}

static void emit_state_tables(Ctx *x)
{
    Graph *g = x->g;
    const char *M = g->model;
    char buf[256];
    StateTensor *st;
    int n = state_tensors(x, &st);
    if (!n)
        return;
    craw(x, "/* Optimizer state, saved with the params under reserved names. */\n");
    craw(x, "static const nnrt_tensor_desc %s_state[%d] = {\n", M, n);
    x->indent++;
    for (int i = 0; i < n; i++) {
        Shape sc = {0};
        const Shape *s = st[i].param >= 0 ? &g->params[st[i].param].shape : &sc;
        emit_tensor_desc(x, st[i].name, DT_F32, s, shape_str(g, s, buf, sizeof buf));
    }
    x->indent--;
    craw(x, "};\n");
    craw(x, "static const int64_t %s_state_off[%d] = {", M, n);
    for (int i = 0; i < n; i++)
        craw(x, "%s%" PRId64, i ? ", " : "", st[i].off);
    craw(x, "};\n\n");
}

/* NAME_train_step, NAME_set_lr, NAME_grad_data. */
static void emit_train_api(Ctx *x)
{
    Graph *g = x->g, *t = x->train->g;
    const char *M = g->model;
    const OptimizerDecl *o = &t->opt;
    craw(x, "/* One step of %s on the gradient of the loss at the current params. */\n", comment_safe(opt_text(o)));
    craw(x, "int %s_train_step(%s *m, const %s_inputs *in, float *loss)\n{\n", M, M, M);
    x->indent = 1;
    cline(x, "%s_outputs out;", M);
    cline(x, "int rc = %s_grad(m, in, &out);", M);
    cline(x, "if (rc != NNRT_OK)");
    cline(x, "    return rc;");
    cline(x, "if (loss)");
    cline(x, "    *loss = out.loss;");
    if (o->kind == OPT_ADAM)
        cline(x, "m->opt_step += 1.0f;");
    for (int i = 0; i < g->nparams; i++) {
        if (!updated(t, i))
            continue;
        const ParamDecl *p = &g->params[i];
        int64_t off = x->param_off[i], cnt = shape_max_count(g, &p->shape);
        char *w = xsprintf("m->params + %" PRId64, off), *gr = xsprintf("m->grads + %" PRId64, off);
        switch (o->kind) {
        case OPT_ADAM:
            cline(x, "nnrt_adam_update(%s, %s, m->opt + %" PRId64 ", m->opt + %" PRId64 ", %s, m->lr, %s, %s, %s, "
                     "(int64_t)m->opt_step); /* %s */",
                  w, gr, off, x->params_floats + off, int_lit(cnt), double_lit(o->beta1), double_lit(o->beta2),
                  double_lit(o->eps), p->name);
            break;
        case OPT_ADAGRAD:
            cline(x, "nnrt_adagrad_update(%s, %s, m->opt + %" PRId64 ", %s, m->lr, %s); /* %s */", w, gr, off,
                  int_lit(cnt), double_lit(o->eps), p->name);
            break;
        case OPT_SGD:
        case OPT_NONE: {
            int64_t rows = p->shape.rank ? p->shape.d[0].c : 1;
            char *cols = int_lit(cnt / (rows ? rows : 1));
            if (sparse_grad(x->train, i)) {
                cline(x, "nnrt_sgd_update_ids(%s, %s, %s, m->touched%d, m->ntouched%d, (float)m->lr); /* %s: the "
                         "rows this step touched */",
                      w, gr, cols, i, i, p->name);
            } else if (is_table(x->train, i)) {
                cline(x, "nnrt_sgd_update_rows(%s, %s, %s, %s, (float)m->lr); /* %s: only the rows ids touched */", w, gr,
                      int_lit(rows), cols, p->name);
            } else {
                cline(x, "nnrt_sgd_update(%s, %s, %s, (float)m->lr); /* %s */", w, gr, int_lit(cnt), p->name);
            }
            break;
        }
        }
    }
    cline(x, "return NNRT_OK;");
    x->indent = 0;
    craw(x, "}\n/* end function %s_train_step */\n\n", M);

    craw(x, "void %s_set_lr(%s *m, float lr)\n{\n    if (m)\n        m->lr = lr;\n}\n/* end function %s_set_lr */\n\n",
         M, M, M);
    craw(x, "float *%s_grad_data(%s *m, int i)\n{\n", M, M);
    if (g->nparams) {
        craw(x, "    if (!m || i < 0 || i >= %d)\n        return NULL;\n", g->nparams);
        craw(x, "    return m->grads + %s_param_off[i];\n}\n", M);
    } else {
        craw(x, "    (void)m;\n    (void)i;\n    return NULL;\n}\n");
    }
    craw(x, "/* end function %s_grad_data */\n\n", M);
}

/* ================================================================ header */

static void emit_header(Ctx *x)
{
    Graph *g = x->g;
    const char *M = g->model;
    char buf[256];
    char *guard = xsprintf("NNGC_MODEL_%s_H", M);
    for (char *p = guard; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    hline(x, "/*\n * %s - generated by nngc %s from %s; do not edit.\n", x->header_name, NNGC_VERSION,
          comment_safe(x->src_name));
    hline(x, " * The API is described in nngc's docs/API.md.\n */\n");
    hline(x, "#ifndef %s\n#define %s\n\n#include <stdint.h>\n\n#include \"nngrt.h\"\n\n", guard, guard);
    hline(x, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    hline(x, "typedef struct %s %s; /* opaque: params, buffers */\n\n", M, M);

    hline(x, "typedef struct %s_inputs {\n", M);
    int fields = 0;
    for (int i = 0; i < g->ndims; i++) {
        DimDecl *d = &g->dims[i];
        if (!d->dynamic)
            continue;
        hline(x, "    int64_t %s; /* 1 <= %s <= %" PRId64 " */\n", d->name, d->name, d->value);
        fields++;
    }
    for (int i = 0; i < g->ninputs; i++) {
        InputDecl *in = &g->inputs[i];
        const char *text = in->shape_text ? in->shape_text : shape_str(g, &in->shape, buf, sizeof buf);
        const char *ty = in->dtype == DT_I32 ? "int32_t" : "float";
        if (in->shape.rank == 0)
            hline(x, "    %s %s; /* input %s : %s */\n", ty, in->name, in->name,
                  in->dtype == DT_I32 ? "int" : "float");
        else
            hline(x, "    const %s *%s; /* input %s : %s%s */\n", ty, in->name, in->name,
                  in->dtype == DT_I32 ? "int" : "", comment_safe(text));
        fields++;
    }
    if (!fields)
        hline(x, "    char unused_; /* the model has no inputs; C has no empty structs */\n");
    hline(x, "} %s_inputs;\n\n", M);

    hline(x, "typedef struct %s_outputs {\n", M);
    fields = 0;
    if (g->loss) {
        hline(x, "    float loss; /* the training objective */\n");
        fields++;
    }
    for (int i = 0; i < g->noutputs; i++) {
        OutputDecl *o = &g->outputs[i];
        hline(x, "    const float *%s; /* output %s : %s; model-owned, valid until the next call */\n", o->name,
              o->name, comment_safe(shape_str(g, &o->value->shape, buf, sizeof buf)));
        fields++;
    }
    if (!fields)
        hline(x, "    char unused_; /* the model has no outputs; C has no empty structs */\n");
    hline(x, "} %s_outputs;\n\n", M);

    hline(x, "%s *%s_create(uint64_t seed); /* params initialised per `init`; NULL on OOM */\n", M, M);
    hline(x, "void %s_destroy(%s *m);\n", M, M);
    hline(x, "int %s_init_params(%s *m, uint64_t seed);\n", M, M);
    hline(x, "int %s_forward(%s *m, const %s_inputs *in, %s_outputs *out);\n", M, M, M, M);
    hline(x, "int %s_save(%s *m, const char *path); /* safetensors, atomic */\n", M, M);
    hline(x, "int %s_load(%s *m, const char *path); /* every param must be present */\n", M, M);
    hline(x, "float *%s_param(%s *m, const char *name); /* NULL if no such param */\n", M, M);
    if (x->train) {
        hline(x, "/* training (docs/API.md): forward + backward; d loss / d param i in %s_grad_data(m, i) */\n", M);
        hline(x, "int %s_grad(%s *m, const %s_inputs *in, %s_outputs *out);\n", M, M, M, M);
        hline(x, "/* %s_grad, then the optimizer's update (%s); *loss (may be NULL) before the update */\n", M,
              opt_text(&x->train->g->opt));
        hline(x, "int %s_train_step(%s *m, const %s_inputs *in, float *loss);\n", M, M, M);
        hline(x, "void %s_set_lr(%s *m, float lr);\n", M, M);
        hline(x, "float *%s_grad_data(%s *m, int i); /* param i's gradient (declaration order), NULL if no such */\n",
              M, M);
    }
    hline(x, "extern const nnrt_model_desc %s_desc; /* reflective descriptor */\n\n", M);
    hline(x, "#ifdef __cplusplus\n}\n#endif\n#endif /* %s */\n", guard);
}

/* ================================================================ tables */

static char *nnrt_size_init(Size s)
{
    return xsprintf("{%" PRId64 ", {%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "}}", s.c, s.k[0], s.k[1],
                    s.k[2], s.k[3]);
}

/* One nnrt_tensor_desc initializer, every field written out (so that
 * -Wmissing-field-initializers stays quiet). */
static void emit_tensor_desc(Ctx *x, const char *name, DType dt, const Shape *s, const char *text)
{
    char *shape = NULL;
    for (int i = 0; i < NN_MAXRANK; i++) {
        char *t = nnrt_size_init(i < s->rank ? s->d[i] : size_const(0));
        shape = shape ? xsprintf("%s, %s", shape, t) : t;
    }
    cline(x, "{\"%s\", %s, %d, {%s}, \"%s\"},", name, dt == DT_I32 ? "NNRT_I32" : "NNRT_F32", s->rank, shape,
          c_escape(text, false));
}

static void emit_tables(Ctx *x)
{
    Graph *g = x->g;
    const char *M = g->model;
    char buf[256];
    if (g->nparams) {
        craw(x, "/* Offsets of the params in m->params, in floats. */\n");
        craw(x, "static const int64_t %s_param_off[%d] = {", M, g->nparams);
        for (int i = 0; i < g->nparams; i++)
            craw(x, "%s%" PRId64, i ? ", " : "", x->param_off[i]);
        craw(x, "};\n");
    }
    craw(x, "#define %s_PARAMS_BYTES ((size_t)%" PRId64 " * sizeof(float))\n", M,
         x->params_floats ? x->params_floats : ALIGN_FLOATS);
    craw(x, "/* Every value of forward, each dynamic dim at its max; 64-byte aligned regions. */\n");
    craw(x, "#define %s_ARENA_BYTES ((size_t)%" PRId64 " * sizeof(float))\n\n", M,
         x->arena_floats ? x->arena_floats : ALIGN_FLOATS);

    if (g->ndims) {
        craw(x, "static const nnrt_dim_desc %s_dims[%d] = {\n", M, g->ndims);
        x->indent++;
        for (int i = 0; i < g->ndims; i++) {
            DimDecl *d = &g->dims[i];
            cline(x, "{\"%s\", %d, %" PRId64 ", %d},", c_escape(d->name, false), d->dynamic ? 1 : 0, d->value,
                  d->dynamic ? d->dyn : -1);
        }
        x->indent--;
        craw(x, "};\n\n");
    }
    if (g->nparams) {
        craw(x, "static const nnrt_tensor_desc %s_params[%d] = {\n", M, g->nparams);
        x->indent++;
        for (int i = 0; i < g->nparams; i++)
            emit_tensor_desc(x, g->params[i].name, DT_F32, &g->params[i].shape,
                             shape_str(g, &g->params[i].shape, buf, sizeof buf));
        x->indent--;
        craw(x, "};\n\n");
    }
    if (g->ninputs) {
        craw(x, "static const nnrt_tensor_desc %s_inputs_desc[%d] = {\n", M, g->ninputs);
        x->indent++;
        for (int i = 0; i < g->ninputs; i++) {
            InputDecl *in = &g->inputs[i];
            emit_tensor_desc(x, in->name, in->dtype, &in->shape,
                             in->shape_text ? in->shape_text : shape_str(g, &in->shape, buf, sizeof buf));
        }
        x->indent--;
        craw(x, "};\n\n");
    }
    if (g->noutputs) {
        craw(x, "static const nnrt_tensor_desc %s_outputs_desc[%d] = {\n", M, g->noutputs);
        x->indent++;
        for (int i = 0; i < g->noutputs; i++) {
            Node *v = g->outputs[i].value;
            emit_tensor_desc(x, g->outputs[i].name, DT_F32, &v->shape, shape_str(g, &v->shape, buf, sizeof buf));
        }
        x->indent--;
        craw(x, "};\n\n");
    }
}

/* ================================================================ forward */

/* Sizes that can be negative for some legal dims (T - 3 with T = 1) are
 * checked before anything runs: a negative extent would be a huge memcpy. */
static void emit_size_checks(Ctx *x)
{
    Size *seen = NULL;
    int nseen = 0, capseen = 0;
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        Shape s = n->shape;
        if (n->op == OP_LOOP)
            continue;
        for (int k = 0; k < s.rank; k++) {
            Size d = s.d[k];
            if (size_lo(x->g, d) >= 0)
                continue;
            bool dup = false;
            for (int j = 0; j < nseen && !dup; j++)
                dup = size_eq(seen[j], d);
            if (dup)
                continue;
            VEC_PUSH(seen, nseen, capseen, d);
            char buf[128];
            char *e = size_c(x, d);
            cline(x, "if (%s < 0)", e);
            cline(x, "    return nnrt_error(NNRT_ERR_RANGE, \"%s: size %s = %%lld is negative\", (long long)%s);",
                  loc_fmt(x, n->loc), c_escape(size_str(x->g, d, buf, sizeof buf), true), e);
        }
    }
}

/* NAME_forward from the forward graph, or NAME_grad from the train graph
 * (which ends by copying each gradient into m->grads). */
static void emit_forward(Ctx *x, bool grad)
{
    Graph *g = x->g;
    const char *M = g->model, *fn = grad ? "grad" : "forward";
    craw(x, "int %s_%s(%s *m, const %s_inputs *in, %s_outputs *out)\n{\n", M, fn, M, M, M);
    x->indent = 1;
    cline(x, "if (!m || !in || !out)");
    cline(x, "    return nnrt_error(NNRT_ERR_ARG, \"%s_%s: NULL argument\");", M, fn);
    for (int i = 0; i < g->ndims; i++) {
        DimDecl *d = &g->dims[i];
        if (!d->dynamic)
            continue;
        cline(x, "const int64_t d_%s = in->%s;", d->name, d->name);
        cline(x, "if (d_%s < 1 || d_%s > %" PRId64 ")", d->name, d->name, d->value);
        cline(x, "    return nnrt_error(NNRT_ERR_RANGE, \"%s: dim %s = %%lld out of range [1, %" PRId64 "]\", (long long)d_%s);",
              M, d->name, d->value, d->name);
    }
    for (int i = 0; i < g->ninputs; i++) {
        InputDecl *in = &g->inputs[i];
        if (in->shape.rank == 0)
            continue;
        cline(x, "if (!in->%s)", in->name);
        cline(x, "    return nnrt_error(NNRT_ERR_ARG, \"%s: input %s is NULL\");", M, in->name);
    }
    emit_size_checks(x);
    craw(x, "\n");
    emit_block(x, &g->top);
    line_reset(x);
    craw(x, "\n");
    if (g->loss)
        cline(x, "out->loss = %s[0];", vname(g->loss));
    for (int i = 0; i < g->noutputs; i++)
        cline(x, "out->%s = %s;", g->outputs[i].name, vname(g->outputs[i].value));
    if (grad) {
        cline(x, "/* d loss / d param, one buffer per param (zeros: frozen, or not used by the loss) */");
        for (int i = 0; i < g->nparams; i++) {
            char *cnt = int_lit(shape_max_count(g, &g->params[i].shape));
            if (g->grads && g->grads[i] && info(g->grads[i])->grad_of == i)
                cline(x, "(void)%s; /* %s: computed in place */", vname(g->grads[i]), g->params[i].name);
            else if (g->grads && g->grads[i])
                cline(x, "memcpy(m->grads + %" PRId64 ", %s, (size_t)%s * sizeof(float)); /* %s */", x->param_off[i],
                      vname(g->grads[i]), cnt, g->params[i].name);
            else
                cline(x, "memset(m->grads + %" PRId64 ", 0, (size_t)%s * sizeof(float)); /* %s */", x->param_off[i],
                      cnt, g->params[i].name);
        }
    }
    cline(x, "return NNRT_OK;");
    x->indent = 0;
    craw(x, "}\n/* end function %s_%s */\n\n", M, fn);
}

/* ================================================================ the rest of the API */

/* NAME_unpack: the descriptor's dyn[] and inputs[] into NAME_inputs, for
 * every generic entry point (forward, grad, train step). */
static void emit_unpack(Ctx *x)
{
    Graph *g = x->g;
    const char *M = g->model;
    craw(x, "/* inputs[] and dyn[] of the descriptor's calls into %s_inputs */\n", M);
    craw(x, "static int %s_unpack(%s_inputs *in, const int64_t *dyn, const void *const *inputs)\n{\n", M, M);
    craw(x, "    memset(in, 0, sizeof *in);\n");
    if (g->ndyn)
        craw(x, "    if (!dyn)\n        return nnrt_error(NNRT_ERR_ARG, \"%s: NULL dims\");\n", M);
    else
        craw(x, "    (void)dyn;\n");
    if (g->ninputs)
        craw(x, "    if (!inputs)\n        return nnrt_error(NNRT_ERR_ARG, \"%s: NULL inputs\");\n", M);
    else
        craw(x, "    (void)inputs;\n");
    for (int i = 0; i < g->ndims; i++)
        if (g->dims[i].dynamic)
            craw(x, "    in->%s = dyn[%d];\n", g->dims[i].name, g->dims[i].dyn);
    for (int i = 0; i < g->ninputs; i++) {
        InputDecl *in = &g->inputs[i];
        const char *ty = in->dtype == DT_I32 ? "int32_t" : "float";
        if (in->shape.rank == 0) {
            craw(x, "    if (!inputs[%d])\n        return nnrt_error(NNRT_ERR_ARG, \"%s: input %s is NULL\");\n", i,
                 M, in->name);
            craw(x, "    in->%s = *(const %s *)inputs[%d];\n", in->name, ty, i);
        } else {
            craw(x, "    in->%s = (const %s *)inputs[%d];\n", in->name, ty, i);
        }
    }
    craw(x, "    return NNRT_OK;\n}\n\n");
}

static void emit_init_params(Ctx *x)
{
    Graph *g = x->g;
    const char *M = g->model;
    char buf[256];
    craw(x, "int %s_init_params(%s *m, uint64_t seed)\n{\n", M, M);
    x->indent = 1;
    cline(x, "if (!m)");
    cline(x, "    return nnrt_error(NNRT_ERR_ARG, \"%s_init_params: NULL model\");", M);
    cline(x, "nnrt_rng rng;");
    cline(x, "nnrt_rng_seed(&rng, seed);");
    cline(x, "/* one stream, params in declaration order */");
    for (int i = 0; i < g->nparams; i++) {
        ParamDecl *p = &g->params[i];
        int64_t cnt;
        bool ok = count_hi(g, &p->shape, &cnt);
        NN_ASSERT(ok);
        char *dst = xsprintf("m->params + %" PRId64, x->param_off[i]);
        InitKind k = p->init;
        if (k == INIT_DEFAULT) /* lowering resolves it; same rule here */
            k = p->shape.rank == 2 ? INIT_GLOROT : INIT_ZEROS;
        cline(x, "/* param %s : %s */", p->name, comment_safe(shape_str(g, &p->shape, buf, sizeof buf)));
        switch (k) {
        case INIT_ZEROS:
        case INIT_DEFAULT:
            cline(x, "nnrt_init_fill(%s, %s, 0.0f);", dst, int_lit(cnt));
            break;
        case INIT_ONES:
            cline(x, "nnrt_init_fill(%s, %s, 1.0f);", dst, int_lit(cnt));
            break;
        case INIT_UNIFORM:
            cline(x, "nnrt_init_uniform(&rng, %s, %s, %s, %s);", dst, int_lit(cnt), float_lit(p->a), float_lit(p->b));
            break;
        case INIT_NORMAL:
            cline(x, "nnrt_init_normal(&rng, %s, %s, %s, %s);", dst, int_lit(cnt), float_lit(p->a), float_lit(p->b));
            break;
        case INIT_GLOROT: {
            /* fan_out = shape[0], fan_in = the product of the other axes */
            int64_t fan_out = p->shape.rank ? p->shape.d[0].c : 1, fan_in = 1;
            for (int k2 = 1; k2 < p->shape.rank; k2++)
                fan_in *= p->shape.d[k2].c;
            cline(x, "nnrt_init_glorot(&rng, %s, %s, %s);", dst, int_lit(fan_out), int_lit(fan_in));
            break;
        }
        }
    }
    if (x->train) {
        cline(x, "/* a fresh start for training too: no gradient, no optimizer state */");
        cline(x, "memset(m->grads, 0, %s_PARAMS_BYTES);", M);
        for (int i = 0; i < g->nparams; i++)
            if (sparse_grad(x->train, i))
                cline(x, "m->ntouched%d = 0;", i);
        cline(x, "memset(m->opt, 0, %s_OPT_BYTES);", M);
        cline(x, "m->opt_step = 0.0f;");
    }
    cline(x, "return NNRT_OK;");
    x->indent = 0;
    craw(x, "}\n/* end function %s_init_params */\n\n", M);
}

static void emit_api(Ctx *x)
{
    Graph *g = x->g;
    const char *M = g->model;

    craw(x, "%s *%s_create(uint64_t seed)\n{\n", M, M);
    craw(x, "    %s *m = calloc(1, sizeof *m);\n", M);
    craw(x, "    if (m) {\n");
    craw(x, "        m->params = aligned_alloc(64, %s_PARAMS_BYTES);\n", M);
    craw(x, "        m->arena = aligned_alloc(64, %s_ARENA_BYTES);\n", M);
    if (x->train) {
        craw(x, "        m->grads = aligned_alloc(64, %s_PARAMS_BYTES);\n", M);
        craw(x, "        m->opt = aligned_alloc(64, %s_OPT_BYTES);\n", M);
        craw(x, "        m->lr = %s; /* %s */\n", double_lit(opt_lr(&x->train->g->opt)),
             comment_safe(opt_text(&x->train->g->opt)));
    }
    craw(x, "    }\n");
    craw(x, "    if (!m || !m->params || !m->arena%s) {\n", x->train ? " || !m->grads || !m->opt" : "");
    craw(x, "        %s_destroy(m);\n", M);
    craw(x, "        nnrt_error(NNRT_ERR_NOMEM, \"%s_create: out of memory\");\n", M);
    craw(x, "        return NULL;\n    }\n");
    craw(x, "    %s_init_params(m, seed);\n    return m;\n}\n/* end function %s_create */\n\n", M, M);

    craw(x, "void %s_destroy(%s *m)\n{\n    if (!m)\n        return;\n", M, M);
    if (x->train)
        craw(x, "    free(m->grads);\n    free(m->opt);\n");
    craw(x, "    free(m->params);\n    free(m->arena);\n    free(m);\n}\n/* end function %s_destroy */\n\n", M);

    emit_init_params(x);

    craw(x, "int %s_save(%s *m, const char *path)\n{\n", M, M);
    craw(x, "    if (!m || !path)\n        return nnrt_error(NNRT_ERR_ARG, \"%s_save: NULL argument\");\n", M);
    craw(x, "    return nnrt_save_params(&%s_desc, m, path);\n}\n/* end function %s_save */\n\n", M, M);

    craw(x, "int %s_load(%s *m, const char *path)\n{\n", M, M);
    craw(x, "    if (!m || !path)\n        return nnrt_error(NNRT_ERR_ARG, \"%s_load: NULL argument\");\n", M);
    craw(x, "    return nnrt_load_params(&%s_desc, m, path, 1, NULL);\n}\n/* end function %s_load */\n\n", M, M);

    craw(x, "float *%s_param(%s *m, const char *name)\n{\n", M, M);
    if (g->nparams) {
        craw(x, "    if (!m || !name)\n        return NULL;\n");
        craw(x, "    for (int i = 0; i < %d; i++)\n", g->nparams);
        craw(x, "        if (strcmp(%s_params[i].name, name) == 0)\n", M);
        craw(x, "            return m->params + %s_param_off[i];\n", M);
    } else {
        craw(x, "    (void)m;\n    (void)name;\n");
    }
    craw(x, "    return NULL;\n}\n/* end function %s_param */\n\n", M);
    if (x->train)
        emit_train_api(x);

    /* the descriptor's entry points: typed functions behind void * */
    craw(x, "static void *%s_create_any(uint64_t seed)\n{\n    return %s_create(seed);\n}\n\n", M, M);
    craw(x, "static void %s_destroy_any(void *m)\n{\n    %s_destroy(m);\n}\n\n", M, M);
    craw(x, "static float *%s_param_data_any(void *m, int i)\n{\n", M);
    if (g->nparams) {
        craw(x, "    if (!m || i < 0 || i >= %d)\n        return NULL;\n", g->nparams);
        craw(x, "    return ((%s *)m)->params + %s_param_off[i];\n}\n\n", M, M);
    } else {
        craw(x, "    (void)m;\n    (void)i;\n    return NULL;\n}\n\n");
    }
    emit_unpack(x);
    craw(x, "static int %s_forward_any(void *m, const int64_t *dyn, const void *const *inputs, float *loss,\n", M);
    craw(x, "                          const float **outputs)\n{\n");
    craw(x, "    %s_inputs in;\n    %s_outputs out;\n", M, M);
    if (g->noutputs)
        craw(x, "    if (!outputs)\n        return nnrt_error(NNRT_ERR_ARG, \"%s: NULL outputs\");\n", M);
    else
        craw(x, "    (void)outputs;\n");
    craw(x, "    int rc = %s_unpack(&in, dyn, inputs);\n    if (rc != NNRT_OK)\n        return rc;\n", M);
    craw(x, "    rc = %s_forward(m, &in, &out);\n    if (rc != NNRT_OK)\n        return rc;\n", M);
    if (g->loss)
        craw(x, "    if (loss)\n        *loss = out.loss;\n");
    else
        craw(x, "    (void)loss;\n");
    for (int i = 0; i < g->noutputs; i++)
        craw(x, "    outputs[%d] = out.%s;\n", i, g->outputs[i].name);
    craw(x, "    return NNRT_OK;\n}\n\n");

    if (x->train)
        emit_train_wrappers(x);

    craw(x, "const nnrt_model_desc %s_desc = {\n", M);
    craw(x, "    \"%s\",\n", M);
    craw(x, "    %d, %s, /* dims */\n", g->ndims, g->ndims ? xsprintf("%s_dims", M) : "NULL");
    craw(x, "    %d, /* dynamic dims */\n", g->ndyn);
    craw(x, "    %d, %s, /* params */\n", g->nparams, g->nparams ? xsprintf("%s_params", M) : "NULL");
    craw(x, "    %d, %s, /* inputs */\n", g->ninputs, g->ninputs ? xsprintf("%s_inputs_desc", M) : "NULL");
    craw(x, "    %d, %s, /* outputs */\n", g->noutputs, g->noutputs ? xsprintf("%s_outputs_desc", M) : "NULL");
    craw(x, "    %d, /* has_loss */\n", g->loss ? 1 : 0);
    craw(x, "    %s_create_any,\n    %s_destroy_any,\n    %s_param_data_any,\n    %s_forward_any,\n", M, M, M, M);
    if (x->train) {
        StateTensor *st;
        int nst = state_tensors(x, &st);
        craw(x, "    %s_grad_any,\n    %s_train_step_any,\n    %s_grad_data_any,\n    %s_set_lr_any,\n", M, M, M, M);
        craw(x, "    %d, %s, %s_state_data_any, /* optimizer state */\n", nst, nst ? xsprintf("%s_state", M) : "NULL", M);
    } else {
        craw(x, "    NULL, NULL, NULL, NULL, /* no training */\n    0, NULL, NULL,\n");
    }
    craw(x, "};\n");
}

/* The descriptor's training entry points. */
static void emit_train_wrappers(Ctx *x)
{
    Graph *g = x->g;
    const char *M = g->model;
    craw(x, "static int %s_grad_any(void *m, const int64_t *dyn, const void *const *inputs, float *loss,\n", M);
    craw(x, "                       const float **outputs)\n{\n");
    craw(x, "    %s_inputs in;\n    %s_outputs out;\n", M, M);
    if (g->noutputs)
        craw(x, "    if (!outputs)\n        return nnrt_error(NNRT_ERR_ARG, \"%s: NULL outputs\");\n", M);
    else
        craw(x, "    (void)outputs;\n");
    craw(x, "    int rc = %s_unpack(&in, dyn, inputs);\n    if (rc == NNRT_OK)\n        rc = %s_grad(m, &in, &out);\n", M, M);
    craw(x, "    if (rc != NNRT_OK)\n        return rc;\n");
    craw(x, "    if (loss)\n        *loss = out.loss;\n");
    for (int i = 0; i < g->noutputs; i++)
        craw(x, "    outputs[%d] = out.%s;\n", i, g->outputs[i].name);
    craw(x, "    return NNRT_OK;\n}\n\n");

    craw(x, "static int %s_train_step_any(void *m, const int64_t *dyn, const void *const *inputs, float *loss)\n{\n", M);
    craw(x, "    %s_inputs in;\n", M);
    craw(x, "    int rc = %s_unpack(&in, dyn, inputs);\n", M);
    craw(x, "    return rc != NNRT_OK ? rc : %s_train_step(m, &in, loss);\n}\n\n", M);
    craw(x, "static float *%s_grad_data_any(void *m, int i)\n{\n    return m ? %s_grad_data(m, i) : NULL;\n}\n\n", M, M);
    craw(x, "static void %s_set_lr_any(void *m, float lr)\n{\n    %s_set_lr(m, lr);\n}\n\n", M, M);

    StateTensor *st;
    int nst = state_tensors(x, &st);
    craw(x, "static float *%s_state_data_any(void *m, int i)\n{\n", M);
    if (nst) {
        craw(x, "    if (!m || i < 0 || i >= %d)\n        return NULL;\n", nst);
        craw(x, "    if (%s_state_off[i] < 0)\n        return &((%s *)m)->opt_step;\n", M, M);
        craw(x, "    return ((%s *)m)->opt + %s_state_off[i];\n}\n\n", M, M);
    } else {
        craw(x, "    (void)m;\n    (void)i;\n    return NULL;\n}\n\n");
    }
}

/* ================================================================ entry */

static char *c_name_of(const char *header_name)
{
    size_t n = strlen(header_name);
    if (n > 2 && strcmp(header_name + n - 2, ".h") == 0)
        return xsprintf("%.*s.c", (int)(n - 2), header_name);
    return xsprintf("%s.c", header_name);
}

bool emit_c(Graph *g, Graph *train, FILE *c_out, FILE *h_out, const char *header_name, const EmitOptions *opt)
{
    NN_ASSERT(g && c_out && h_out && header_name);
    Ctx ctx = {0}, tctx = {0}, *x = &ctx, *t = NULL;
    x->g = g;
    x->c = c_out;
    x->h = h_out;
    x->ok = true;
    x->header_name = header_name;
    x->c_name = c_name_of(header_name);
    x->src_name = opt && opt->source_name ? opt->source_name : g->source_path ? g->source_path : "model.nn";
    x->line_markers = opt ? opt->line_markers : true;

    ir_number(g);
    collect_block(x, &g->top);
    count_uses(x);
    check_graph(x);
    if (train) {
        /* the train graph: its own walk and memory plan, the same params */
        NN_ASSERT(train != g && train->nparams == g->nparams && train->grads);
        tctx = ctx;
        t = &tctx;
        t->g = train;
        t->all = NULL;
        t->nall = t->capall = 0;
        x->train = t;
        ir_number(train);
        collect_block(t, &train->top);
        count_uses(t);
        check_graph(t);
        x->ok = x->ok && t->ok;
    }
    if (!x->ok)
        goto out;
    plan_memory(x);
    if (t) {
        plan_memory(t);
        place_grads(t);
        x->ok = x->ok && t->ok;
        for (int i = 0; i < g->nparams; i++)
            NN_ASSERT(t->param_off[i] == x->param_off[i]);
        /* one arena serves both entry points */
        if (t->arena_floats > x->arena_floats)
            x->arena_floats = t->arena_floats;
    }
    if (!x->ok)
        goto out;

    emit_header(x);

    craw(x, "/*\n * %s - generated by nngc %s from %s; do not edit.\n */\n", comment_safe(x->c_name), NNGC_VERSION,
         comment_safe(x->src_name));
    craw(x, "#include \"%s\"\n\n#include <math.h>\n#include <stdlib.h>\n#include <string.h>\n\n",
         c_escape(header_name, false));
    craw(x, "struct %s {\n    float *params; /* every param, 64-byte aligned each */\n", g->model);
    craw(x, "    float *arena;  /* every value of forward (and grad), at offsets fixed by nngc */\n");
    if (t) {
        craw(x, "    float *grads;  /* d loss / d param, at the params' offsets */\n");
        craw(x, "    float *opt;    /* optimizer state: %s */\n", comment_safe(opt_text(&train->opt)));
        craw(x, "    double lr;     /* learning rate (NAME_set_lr) */\n");
        craw(x, "    float opt_step; /* Adam's step count */\n");
        for (int i = 0; i < g->nparams; i++)
            if (sparse_grad(t, i))
                craw(x, "    int64_t ntouched%d; int32_t touched%d[%s]; /* rows of grad %s set by the last call */\n", i,
                     i, int_lit(sparse_grad_cap(t, i)), g->params[i].name);
    }
    craw(x, "};\n\n");
    if (uses_nn_lse(x)) {
        craw(x, "/* log sum exp of a row (finite or not), with nngrt.h's inline row loop */\n");
        craw(x, "static inline float nn_lse(const float *z, int64_t n)\n{\n");
        craw(x, "    if (n <= 0)\n        return -INFINITY;\n");
        craw(x, "    const float m = nnrt_row_max(z, n);\n");
        craw(x, "    return m - m == 0.0f ? m + (float)log(nnrt_sum_exp(z, n, m)) : m; /* inf, NaN: m */\n}\n\n");
    }
    if (uses_nn_ld(x)) { /* an unused static function would be a warning */
        craw(x, "/* Leading dimension for BLAS: at least 1, even for an empty matrix. */\n");
        craw(x, "static inline int64_t nn_ld(int64_t n)\n{\n    return n > 1 ? n : 1;\n}\n\n");
    }
    emit_tables(x);
    if (t) {
        int kinds = train->opt.kind == OPT_ADAM ? 2 : train->opt.kind == OPT_ADAGRAD ? 1 : 0;
        craw(x, "#define %s_OPT_BYTES ((size_t)%" PRId64 " * sizeof(float))\n\n", g->model,
             kinds && x->params_floats ? kinds * x->params_floats : ALIGN_FLOATS);
        emit_state_tables(x);
    }
    emit_forward(x, false);
    if (t) {
        t->c_lines = x->c_lines;
        emit_forward(t, true);
        x->c_lines = t->c_lines;
        x->ok = x->ok && t->ok;
    }
    emit_api(x);

    fflush(c_out);
    fflush(h_out);
    if (ferror(c_out) || ferror(h_out)) {
        emit_error(x, NO_LOC, "cannot write the generated C files");
    }
out:
    for (int i = 0; i < x->nall; i++)
        x->all[i]->aux = NULL;
    for (int i = 0; t && i < t->nall; i++)
        t->all[i]->aux = NULL;
    return x->ok;
}
