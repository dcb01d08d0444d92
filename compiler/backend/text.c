/*
 * text.c - writing C: lines and indentation, escapes, literals, sizes and
 * element counts as C expressions, the kinds of values, node comments.
 */
#include "backend.h"

#include <math.h>

/* ================================================================ output */


/* Writes s to the C file, counting lines so a #line can point back at it. */
static void cput(Ctx *x, const char *s)
{
    for (const char *p = s; *p; p++)
        if (*p == '\n')
            x->c_lines++;
    fputs(s, x->c);
}

/* printf to the C file, as is. */
__attribute__((format(printf, 2, 3))) void craw(Ctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cput(x, xvsprintf(fmt, ap));
    va_end(ap);
}

/* One line of C at the current indentation (the newline is added). */
__attribute__((format(printf, 2, 3))) void cline(Ctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvsprintf(fmt, ap);
    va_end(ap);
    craw(x, "%*s%s\n", 4 * x->indent, "", s);
}

#define hline(x, ...) fprintf((x)->h, __VA_ARGS__)

/* "FILE:L:C: error: msg", the source line and a caret (diag.c); marks the
 * emission as failed. */
__attribute__((format(printf, 3, 4))) void emit_error(Ctx *x, Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_verror(x->diag, "error", loc, fmt, ap);
    va_end(ap);
    x->ok = false;
}

/* s as the inside of a C string literal; with for_format, '%' is doubled
 * so the result can be part of a printf format. */
char *c_escape(const char *s, bool for_format)
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
char *comment_safe(const char *s)
{
    char *out = xstrdup(s);
    for (char *p = out; *p; p++)
        if (p[0] == '*' && p[1] == '/')
            p[1] = '|';
    return out;
}

/* "file.nn:12:20" as part of a printf format string in generated code. */
char *loc_fmt(Ctx *x, Loc loc)
{
    if (loc.line <= 0)
        return c_escape(x->src_name, true);
    return xsprintf("%s:%d:%d", c_escape(x->src_name, true), loc.line, loc.col);
}

/* ================================================================ sizes */

/* Smallest value of a size over all legal dims (1 <= d <= max); the
 * largest is size_max() of the IR. */
int64_t size_lo(const Graph *g, Size s)
{
    int64_t lo;
    size_max(g, s, &lo);
    return lo;
}

bool size_is_one(Size s)
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
char *int_lit(int64_t v)
{
    if (v >= -2147483647 && v <= 2147483647)
        return xsprintf("%" PRId64, v);
    return xsprintf("INT64_C(%" PRId64 ")", v);
}

/* A size as a C expression over the d_<dim> locals: "128", "d_T",
 * "(d_T + 1)", "(2 * d_T - 1)". */
char *size_c(Ctx *x, Size s)
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
char *count_c(Ctx *x, const Shape *s, int from)
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
bool count_hi(const Graph *g, const Shape *s, int64_t *out)
{
    int64_t c = 1;
    for (int i = 0; i < s->rank; i++) {
        int64_t d = size_max(g, s->d[i], NULL);
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
char *ld_c(Ctx *x, Size s)
{
    if (size_is_const(s))
        return int_lit(s.c > 1 ? s.c : 1);
    return xsprintf("nn_ld(%s)", size_c(x, s));
}


/* ================================================================ node kinds */

bool is_int_tensor(const Node *n)
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
bool has_buffer(const Node *n)
{
    if (is_view(n) || n->op == OP_LOOP || n->op == OP_INDEX || n->op == OP_SCATTERROWS || ir_is_int_scalar(n))
        return false;
    /* int scalars are C locals; int vectors (iadd of a range) need memory */
    return !(op_flags[n->op] & OPF_INT) || n->shape.rank > 0;
}

const char *vname(const Node *n)
{
    return xsprintf("v%d", n->id);
}

/* The node whose memory a view reads: follows ROW to its operand. */
const Node *view_root(const Node *n)
{
    while (n->op == OP_ROW)
        n = n->in[0];
    return n;
}

/* ================================================================ node text */

/* first, then the operands' ids separated by ", ", in one buffer: a
 * fused node or a loop may have thousands of operands. */
static char *operand_ids(const Node *n, const char *first)
{
    size_t cap = strlen(first) + 14 * (size_t)n->nin + 1, len = 0; /* ", %" and an int: 14 */
    char *s = xalloc(cap);
    for (int j = 0; j < n->nin; j++)
        len += (size_t)snprintf(s + len, cap - len, "%s%%%d", j ? ", " : first, n->in[j]->id);
    return s;
}

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
        return comment_safe(n->nin ? xsprintf("%s%s)", s, operand_ids(n, " carry(")) : s);
    } else {
        s = xsprintf("%s%s", s, operand_ids(n, " "));
    }
    if ((n->op == OP_MATVEC || n->op == OP_MATMUL || n->op == OP_BMM) && n->ta)
        s = xsprintf("%s ta", s);
    if ((n->op == OP_MATMUL || n->op == OP_BMM) && n->tb)
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
void node_header(Ctx *x, const Node *n)
{
    if (x->line_markers && n->loc.line > 0)
        craw(x, "#line %d \"%s\"\n", n->loc.line, c_escape(x->src_name, false));
    cline(x, "/* %s */", node_text(x, n));
}

/* Back to model.c's own line numbers after a run of #line "model.nn". */
void line_reset(Ctx *x)
{
    if (x->line_markers)
        craw(x, "#line %d \"%s\"\n", x->c_lines + 2, c_escape(x->c_name, false));
}
/* A float constant: exact (hex) with its decimal value alongside. */
char *float_lit(double v)
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


/* Closes a generated function that returns an error code: `return NNRT_OK;`,
 * the brace, and the end marker naming NAME_fn. */
void end_function_ok(Ctx *x, const char *fn)
{
    cline(x, "return NNRT_OK;");
    x->indent = 0;
    craw(x, "}\n/* end function %s_%s */\n\n", x->g->model, fn);
}
