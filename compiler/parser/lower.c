/*
 * lower.c - semantic analysis: from the AST of a program to the graph IR.
 *
 * This is where the program is checked: names are resolved, `def`s are
 * inlined, imports are read, dim expressions become affine Sizes, and every
 * node is typed by ir_infer() (the one place that knows each op's shape
 * rule) so a mismatch becomes a diagnostic at the offending token.
 *
 * Method. Declarations are processed first (in source order), then the
 * statements, then the outputs. Statements are lowered with a stack of
 * scopes mapping names to IR values; rebinding a name makes a new value.
 * A `for` becomes a scan (docs/IR.md): before lowering its body we scan it
 * for names it assigns that are bound outside it. Such a name becomes
 *   - an accumulator when every assignment is `x += e` and the body never
 *     reads x: the per-iteration increments become a *summed* result;
 *   - a carried value otherwise: the body sees an OP_CARRY node, and the
 *     value at the end of the body is the carry's next value.
 * `hs[t] = e` directly in the body of `for t` makes a *stacked* result,
 * bound to hs after the loop. Names first bound inside a loop are local to
 * one iteration.
 *
 * Error recovery: a failed expression lowers to NULL; a NULL operand makes
 * its user NULL without a second message, and a name bound to NULL is
 * "poisoned" so that later uses stay quiet.
 */
#include "nngc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_INLINE_DEPTH 64

/* ---------------------------------------------------------------- tables */

typedef enum { SYM_DIM, SYM_PARAM, SYM_INPUT, SYM_DEF } SymKind;

/* A global name: dims, params, inputs and defs share one namespace. */
typedef struct Sym {
    const char *name;
    SymKind kind;
    int index;  /* dims/params/inputs: declaration number */
    Ast *def;   /* SYM_DEF */
    int file;   /* SYM_DEF: file that declared it */
    Loc loc;
    Node *leaf; /* PARAM/INPUT/DIM leaf, created on first use */
} Sym;

typedef struct Binding {
    const char *name;
    Node *val;     /* NULL: poisoned (error reported), or zero accumulator */
    bool zero;     /* an accumulator with no increment yet: the value 0 */
    Loc loc;       /* where it was (last) bound */
} Binding;

typedef struct LoopCtx LoopCtx;

typedef struct Scope {
    Binding *v;
    int n, cap;
    struct Scope *up;
    bool barrier;  /* a def body: lookups skip to the globals */
    LoopCtx *loop; /* set on a loop body's scope */
} Scope;

typedef struct StackWrite {
    const char *name;
    Node *val;
    Loc loc;
} StackWrite;

struct LoopCtx {
    Loop *loop;
    Scope *scope; /* the body's scope */
    const char **carry_names;
    int ncarry, capcarry;
    const char **acc_names;
    int nacc, capacc;
    StackWrite *stacks;
    int nstack, capstack;
    LoopCtx *up;
};

/* A name bound inside a loop and dropped when it ended: used to explain
 * "undefined name" after the loop. */
typedef struct Dropped {
    const char *name;
    Loc loc;
    bool stack_pending; /* hs[t] being built: readable only after the loop */
} Dropped;

typedef struct Lower {
    Diag *d;
    const LowerOptions *opt;
    Graph *g;
    Sym *syms;
    int nsyms, capsyms;
    Scope *scope;  /* innermost */
    Builder b;     /* where new non-leaf nodes go (b.block), with diagnostics for ill-typed ones */
    LoopCtx *loop; /* innermost loop being lowered */
    Ast **inline_stack;
    int ninline;
    Dropped *dropped;
    int ndropped, capdropped;
    const char **imported; /* resolved paths already imported */
    int nimported, capimported;
    int nloss_acc;         /* number of `loss +=` seen */
    bool have_model;
} Lower;

/* ---------------------------------------------------------------- helpers */

static Loc name_loc(const Ast *a) {
    Loc l = a->loc;
    if (a->name && l.file >= 0) {
        int n = (int)strlen(a->name);
        if (n < l.len || l.len == 0)
            l.len = n;
    }
    return l;
}

/* The location of a declaration's name: the construct starts at its
 * keyword (`dim`, `param`, `def`, ...), the name is the first identifier
 * of that name after it (or the string of an import). */
static Loc decl_loc(const Diag *d, const Ast *a) {
    Loc l = a->loc;
    if (l.file < 0 || l.file >= d->nfiles || !a->name)
        return l;
    const SourceFile *f = &d->files[l.file];
    size_t n = strlen(a->name);
    size_t end = (size_t)l.off + (size_t)(l.len > 0 ? l.len : 0);
    if (end > f->len)
        end = f->len;
    for (size_t i = (size_t)l.off + 1; i + n <= end; i++) {
        const char *p = f->text + i;
        bool before = !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        bool after = i + n >= f->len || !(isalnum((unsigned char)p[n]) || p[n] == '_');
        if (a->kind == AST_IMPORT ? p[-1] == '"' : (before && after && memcmp(p, a->name, n) == 0)) {
            if (a->kind == AST_IMPORT)
                i--, n += 2; /* the string, quotes included */
            Loc r = l;
            for (size_t j = (size_t)l.off; j < i; j++) {
                if (f->text[j] == '\n')
                    r.line++, r.col = 1;
                else
                    r.col++;
            }
            r.off = (int)i;
            r.len = (int)n;
            return r;
        }
    }
    return l;
}

static Loc best_loc(const Ast *a) {
    if (a->kind == AST_BINOP || a->kind == AST_ACCUM)
        return a->op_loc.file >= 0 && a->op_loc.len > 0 ? a->op_loc : a->loc;
    if (a->kind == AST_CALL)
        return name_loc(a);
    return a->loc;
}

static Sym *find_sym(Lower *L, const char *name) {
    for (int i = 0; i < L->nsyms; i++)
        if (strcmp(L->syms[i].name, name) == 0)
            return &L->syms[i];
    return NULL;
}

static const char *sym_kind_name(SymKind k) {
    switch (k) {
    case SYM_DIM: return "dim";
    case SYM_PARAM: return "param";
    case SYM_INPUT: return "input";
    case SYM_DEF: return "def";
    }
    return "?";
}

static const char *const builtin_names[] = {
    "tanh", "relu", "sigmoid", "exp", "log", "sqrt", "abs", "sum", "mean",
    "dot", "concat", "zeros", "ones", "softmax", "log_softmax", "cross_entropy",
    "binary_cross_entropy", "transpose", NULL};

static bool is_builtin(const char *name) {
    for (int i = 0; builtin_names[i]; i++)
        if (strcmp(builtin_names[i], name) == 0)
            return true;
    return false;
}

/* Declares a global name; reports a duplicate. */
static Sym *add_sym(Lower *L, const char *name, SymKind kind, Loc loc) {
    Sym *old = find_sym(L, name);
    if (old) {
        diag_error(L->d, loc, "duplicate declaration of '%s'", name);
        diag_note(L->d, old->loc, "'%s' was first declared here as a %s", name,
                  sym_kind_name(old->kind));
        return NULL;
    }
    if (strcmp(name, "loss") == 0) {
        diag_error(L->d, loc, "'loss' is reserved for the training objective");
        return NULL;
    }
    if (kind == SYM_DEF && is_builtin(name)) {
        diag_error(L->d, loc, "def '%s' would hide the builtin of that name", name);
        return NULL;
    }
    Sym s = {.name = name, .kind = kind, .loc = loc, .index = -1};
    VEC_PUSH(L->syms, L->nsyms, L->capsyms, s);
    return &L->syms[L->nsyms - 1];
}

/* A new node in the current block, typed (an ill-typed one is reported at
 * err_loc). Any NULL operand makes it NULL silently. */
static Node *emit(Lower *L, Op op, int nin, Node **in, Loc loc, Loc err_loc) {
    return build_put(&L->b, build_new(op, nin, in, loc), err_loc);
}

static Node *emit1(Lower *L, Op op, Node *a, Loc loc) {
    return emit(L, op, 1, (Node *[]){a}, loc, loc);
}

static Node *emit2(Lower *L, Op op, Node *a, Node *b, Loc loc, Loc err_loc) {
    return emit(L, op, 2, (Node *[]){a, b}, loc, err_loc);
}

/* Leaves (no operands) all go to the end of the top block: they are then
 * defined before any loop that uses them. */
static Node *finish_leaf(Lower *L, Node *n) { return build_leaf(&L->b, n, false); }

static Node *fconst(Lower *L, double v, Loc loc) { return finish_leaf(L, ir_const(v, loc)); }

static Node *iconst(Lower *L, int64_t v, Loc loc) { return finish_leaf(L, ir_iconst(v, loc)); }

static Node *fill(Lower *L, Shape shape, double v, Loc loc) { return finish_leaf(L, ir_fill(&shape, v, loc)); }

static bool is_int_scalar(const Node *n) {
    return n && n->dtype == DT_I32 && n->shape.rank == 0;
}

static char *type_str(Lower *L, const Node *n, char *buf, size_t len) {
    char sh[160];
    snprintf(buf, len, "%s%s", n->dtype == DT_I32 ? "i32" : "f32",
             shape_str(L->g, &n->shape, sh, sizeof sh));
    return buf;
}

/* Converts an integer literal to a float constant in a float context;
 * any other int value there is an error. */
static Node *as_float(Lower *L, Node *n, const Ast *where, const char *what) {
    if (!n)
        return NULL;
    if (n->dtype == DT_F32)
        return n;
    if (n->op == OP_ICONST)
        return fconst(L, (double)n->i, n->loc);
    char t[200];
    diag_error(L->d, where->loc, "%s must be a float tensor, got an int value (%s)", what,
               type_str(L, n, t, sizeof t));
    return NULL;
}

/* ---------------------------------------------------------------- sizes */

/* Checked 64-bit size arithmetic: overflow is a user error. */
static bool sz_add(Size a, Size b, bool sub, Size *out) {
    for (int i = 0; i < NN_MAXDYN; i++) {
        if (sub ? __builtin_sub_overflow(a.k[i], b.k[i], &out->k[i])
                : __builtin_add_overflow(a.k[i], b.k[i], &out->k[i]))
            return false;
    }
    return !(sub ? __builtin_sub_overflow(a.c, b.c, &out->c)
                 : __builtin_add_overflow(a.c, b.c, &out->c));
}

static bool sz_mulc(Size a, int64_t m, Size *out) {
    for (int i = 0; i < NN_MAXDYN; i++)
        if (__builtin_mul_overflow(a.k[i], m, &out->k[i]))
            return false;
    return !__builtin_mul_overflow(a.c, m, &out->c);
}

/* A dim expression (names, integers, + - *, parentheses) as a Size. */
static bool lower_size(Lower *L, const Ast *a, Size *out) {
    switch (a->kind) {
    case AST_NUM:
        if (!a->is_int) {
            diag_error(L->d, a->loc, "a size must be an integer, got %g", a->num);
            return false;
        }
        *out = size_const(a->ival);
        return true;
    case AST_NAME: {
        Sym *s = find_sym(L, a->name);
        if (!s || s->kind != SYM_DIM) {
            if (s)
                diag_error(L->d, a->loc, "'%s' is a %s, not a dim", a->name, sym_kind_name(s->kind));
            else
                diag_error(L->d, a->loc, "undefined dim '%s'", a->name);
            return false;
        }
        const DimDecl *dd = &L->g->dims[s->index];
        *out = dd->dynamic ? size_dyn(dd->dyn) : size_const(dd->value);
        return true;
    }
    case AST_NEG: {
        Size x;
        if (!lower_size(L, a->a, &x))
            return false;
        if (!sz_mulc(x, -1, out)) {
            diag_error(L->d, a->loc, "integer overflow in size");
            return false;
        }
        return true;
    }
    case AST_BINOP: {
        Size x, y;
        bool okx = lower_size(L, a->a, &x); /* both sides: report every error */
        bool oky = lower_size(L, a->b, &y);
        if (!okx || !oky)
            return false;
        bool ok;
        if (a->op == '+' || a->op == '-') {
            ok = sz_add(x, y, a->op == '-', out);
        } else if (a->op == '*') {
            if (!size_is_const(x) && !size_is_const(y)) {
                diag_error(L->d, a->op_loc,
                           "a size must be affine in the dynamic dims: a product of two dynamic dims is not supported");
                return false;
            }
            ok = size_is_const(x) ? sz_mulc(y, x.c, out) : sz_mulc(x, y.c, out);
        } else {
            diag_error(L->d, a->op_loc, "'%c' is not allowed in a size (only + - *)", a->op);
            return false;
        }
        if (!ok)
            diag_error(L->d, a->op_loc, "integer overflow in size");
        return ok;
    }
    default:
        diag_error(L->d, a->loc, "expected a size (dims, integers, + - *)");
        return false;
    }
}

/* Smallest value of s over all legal dim values must be >= min_ok. */
static bool check_size_min(Lower *L, Size s, int64_t min_ok, Loc loc, const char *what) {
    int64_t lo;
    int64_t hi = size_max(L->g, s, &lo);
    char buf[128];
    if (lo < min_ok) {
        diag_error(L->d, loc, "%s %s can be %lld (it must be at least %lld)", what,
                   size_str(L->g, s, buf, sizeof buf), (long long)lo, (long long)min_ok);
        return false;
    }
    if (hi > ((int64_t)1 << 40)) {
        diag_error(L->d, loc, "%s %s is too large (%lld)", what, size_str(L->g, s, buf, sizeof buf),
                   (long long)hi);
        return false;
    }
    return true;
}

/* A shape from a type's dims or a shape literal's elements. */
static bool lower_shape(Lower *L, const AstList *dims, Loc loc, bool allow_dynamic, Shape *out) {
    memset(out, 0, sizeof *out);
    if (dims->n > NN_MAXRANK) {
        diag_error(L->d, loc, "a tensor has at most %d axes, this one has %d", NN_MAXRANK, dims->n);
        return false;
    }
    bool ok = true;
    for (int i = 0; i < dims->n; i++) {
        Size s;
        if (!lower_size(L, dims->v[i], &s)) {
            ok = false;
            continue;
        }
        if (!allow_dynamic && !size_is_const(s)) {
            diag_error(L->d, dims->v[i]->loc, "a param's shape must be static (it uses a dynamic dim)");
            ok = false;
            continue;
        }
        if (!check_size_min(L, s, 1, dims->v[i]->loc, "size"))
            ok = false;
        out->d[i] = s;
    }
    out->rank = dims->n;
    if (ok && shape_max_count(L->g, out) > ((int64_t)1 << 34)) {
        diag_error(L->d, loc, "tensor too large (more than 2^34 elements)");
        ok = false;
    }
    return ok;
}

/* A constant number (with optional unary minus), for init and optimizer args. */
static bool const_number(Lower *L, const Ast *a, double *out) {
    if (a->kind == AST_NUM) {
        *out = a->num;
        return true;
    }
    if (a->kind == AST_NEG && a->a->kind == AST_NUM) {
        *out = -a->a->num;
        return true;
    }
    diag_error(L->d, a->loc, "expected a number");
    return false;
}

/* ---------------------------------------------------------------- declarations */

static bool resolve_import(Lower *L, const char *name, int from_file, char *out, size_t n) {
    char file[1024];
    size_t len = strlen(name);
    snprintf(file, sizeof file, "%s%s", name,
             len > 3 && strcmp(name + len - 3, ".nn") == 0 ? "" : ".nn");
    if (file[0] == '/') {
        snprintf(out, n, "%s", file);
        return access(out, R_OK) == 0;
    }
    for (int i = 0; i < L->opt->ninclude; i++) {
        snprintf(out, n, "%s/%s", L->opt->include_dirs[i], file);
        if (access(out, R_OK) == 0)
            return true;
    }
    /* next to the importing file */
    const char *path = L->d->files[from_file].path;
    const char *slash = strrchr(path, '/');
    if (slash) {
        snprintf(out, n, "%.*s/%s", (int)(slash - path), path, file);
        if (access(out, R_OK) == 0)
            return true;
    } else if (access(file, R_OK) == 0) {
        snprintf(out, n, "%s", file);
        return true;
    }
    if (L->opt->stdlib_dir) {
        snprintf(out, n, "%s/%s", L->opt->stdlib_dir, file);
        if (access(out, R_OK) == 0)
            return true;
    }
    return false;
}

static void declare_items(Lower *L, const AstList *items, int file, bool imported);

static void do_import(Lower *L, const Ast *a, int from_file) {
    char path[2048];
    if (!resolve_import(L, a->name, from_file, path, sizeof path)) {
        diag_error(L->d, decl_loc(L->d, a), "cannot find import \"%s\" (searched -I dirs, the importing file's dir and the stdlib)",
                   a->name);
        return;
    }
    char *real = realpath(path, NULL);
    const char *key = real ? xstrdup(real) : xstrdup(path);
    free(real);
    for (int i = 0; i < L->nimported; i++)
        if (strcmp(L->imported[i], key) == 0)
            return; /* imported once, also breaks cycles */
    VEC_PUSH(L->imported, L->nimported, L->capimported, key);
    int f = diag_load_file(L->d, path, a->loc);
    if (f < 0)
        return;
    AstList items = {0};
    if (!parse_file(L->d, f, &items))
        return;
    declare_items(L, &items, f, true);
}

static void declare_dim(Lower *L, const Ast *a) {
    DimDecl dd = {.name = a->name, .loc = a->loc, .dyn = -1};
    Size s;
    if (!lower_size(L, a->a, &s))
        goto add;
    if (!size_is_const(s)) {
        diag_error(L->d, a->a->loc, "a dim's value must be static (it uses a dynamic dim)");
        goto add;
    }
    if (s.c < 1) {
        diag_error(L->d, a->a->loc, "dim %s must be at least 1, got %lld", a->name, (long long)s.c);
        goto add;
    }
    if (s.c > ((int64_t)1 << 34)) {
        diag_error(L->d, a->a->loc, "dim %s = %lld is too large", a->name, (long long)s.c);
        goto add;
    }
    dd.value = s.c;
    if (a->is_max) {
        if (L->g->ndyn >= NN_MAXDYN) {
            diag_error(L->d, a->loc, "at most %d dynamic dims are supported", NN_MAXDYN);
            goto add;
        }
        dd.dynamic = true;
        dd.dyn = L->g->ndyn++;
    }
add:
    if (dd.value == 0)
        dd.value = 1; /* keep going after an error */
    Sym *sym = add_sym(L, a->name, SYM_DIM, decl_loc(L->d, a));
    if (!sym)
        return;
    sym->index = L->g->ndims;
    VEC_PUSH(L->g->dims, L->g->ndims, L->g->capdims, dd);
}

static void declare_param(Lower *L, const Ast *a) {
    ParamDecl p = {.name = a->name, .loc = a->loc, .frozen = a->frozen};
    const Ast *t = a->type;
    if (t->is_int)
        diag_error(L->d, t->loc, "params are float32 tensors");
    lower_shape(L, &t->args, t->loc, false, &p.shape);
    p.init = INIT_DEFAULT;
    const Ast *in = a->a;
    if (in) {
        const char *n = in->name;
        int nargs = in->kind == AST_CALL ? in->args.n : 0;
        int want = -1;
        if (strcmp(n, "zeros") == 0) p.init = INIT_ZEROS, want = 0;
        else if (strcmp(n, "ones") == 0) p.init = INIT_ONES, want = 0;
        else if (strcmp(n, "glorot") == 0) p.init = INIT_GLOROT, want = 0;
        else if (strcmp(n, "uniform") == 0) p.init = INIT_UNIFORM, want = 2;
        else if (strcmp(n, "normal") == 0) p.init = INIT_NORMAL, want = 2;
        else
            diag_error(L->d, name_loc(in),
                       "unknown init '%s' (expected zeros, ones, glorot, uniform(a, b) or normal(mean, std))", n);
        if (want >= 0 && nargs != want) {
            diag_error(L->d, in->loc, "init %s takes %d argument%s, got %d", n, want, want == 1 ? "" : "s", nargs);
        } else if (want == 2) {
            const_number(L, in->args.v[0], &p.a);
            const_number(L, in->args.v[1], &p.b);
            if (p.init == INIT_UNIFORM && !(p.a < p.b))
                diag_error(L->d, in->loc, "uniform(a, b) needs a < b");
            if (p.init == INIT_NORMAL && !(p.b >= 0))
                diag_error(L->d, in->loc, "normal(mean, std) needs std >= 0");
        }
        if (p.init == INIT_GLOROT && p.shape.rank < 2)
            diag_error(L->d, in->loc, "glorot needs a param with at least 2 axes");
    }
    if (p.init == INIT_DEFAULT)
        p.init = p.shape.rank >= 2 ? INIT_GLOROT : INIT_ZEROS;
    Sym *s = add_sym(L, a->name, SYM_PARAM, decl_loc(L->d, a));
    if (!s)
        return;
    s->index = L->g->nparams;
    VEC_PUSH(L->g->params, L->g->nparams, L->g->capparams, p);
}

/* "[T + 1]" as the user wrote it, from the source text. */
static const char *source_text(Lower *L, Loc loc) {
    if (loc.file < 0 || loc.file >= L->d->nfiles)
        return "";
    const SourceFile *f = &L->d->files[loc.file];
    if (loc.off < 0 || (size_t)loc.off + (size_t)loc.len > f->len)
        return "";
    return xstrndup(f->text + loc.off, (size_t)loc.len);
}

static void declare_input(Lower *L, const Ast *a) {
    InputDecl in = {.name = a->name, .loc = a->loc};
    const Ast *t = a->type;
    in.dtype = t->is_int ? DT_I32 : DT_F32;
    lower_shape(L, &t->args, t->loc, true, &in.shape);
    char buf[256];
    in.shape_text = t->has_shape ? xstrdup(source_text(L, t->loc)) : "[]";
    if (t->has_shape) {
        /* keep only the [..] part */
        const char *br = strchr(in.shape_text, '[');
        if (br)
            in.shape_text = br;
    } else {
        in.shape_text = xstrdup(shape_str(L->g, &in.shape, buf, sizeof buf));
    }
    Sym *s = add_sym(L, a->name, SYM_INPUT, decl_loc(L->d, a));
    if (!s)
        return;
    s->index = L->g->ninputs;
    VEC_PUSH(L->g->inputs, L->g->ninputs, L->g->capinputs, in);
}

static void declare_optimizer(Lower *L, const Ast *a) {
    OptimizerDecl *o = &L->g->opt;
    if (o->kind != OPT_NONE) {
        diag_error(L->d, a->loc, "duplicate optimizer declaration");
        diag_note(L->d, o->loc, "the first one is here");
        return;
    }
    const char *const *names;
    static const char *const sgd[] = {"lr", NULL};
    static const char *const adam[] = {"lr", "beta1", "beta2", "eps", NULL};
    static const char *const adagrad[] = {"lr", "eps", NULL};
    double *slots[4];
    o->loc = a->loc;
    if (strcmp(a->name, "sgd") == 0) {
        o->kind = OPT_SGD, names = sgd, o->lr = -1;
        slots[0] = &o->lr;
    } else if (strcmp(a->name, "adam") == 0) {
        o->kind = OPT_ADAM, names = adam;
        o->lr = 0.001, o->beta1 = 0.9, o->beta2 = 0.999, o->eps = 1e-8;
        slots[0] = &o->lr, slots[1] = &o->beta1, slots[2] = &o->beta2, slots[3] = &o->eps;
    } else if (strcmp(a->name, "adagrad") == 0) {
        o->kind = OPT_ADAGRAD, names = adagrad;
        o->lr = 0.01, o->eps = 1e-10;
        slots[0] = &o->lr, slots[1] = &o->eps;
    } else {
        diag_error(L->d, decl_loc(L->d, a), "unknown optimizer '%s' (expected sgd, adam or adagrad)", a->name);
        return;
    }
    int nnames = 0;
    while (names[nnames])
        nnames++;
    bool positional_ok = true;
    for (int i = 0; i < a->args.n; i++) {
        const Ast *kw = a->args.v[i];
        int slot = -1;
        if (kw->name) {
            positional_ok = false;
            for (int j = 0; j < nnames; j++)
                if (strcmp(names[j], kw->name) == 0)
                    slot = j;
            if (slot < 0) {
                diag_error(L->d, kw->loc, "optimizer %s has no argument '%s'", a->name, kw->name);
                continue;
            }
        } else {
            if (!positional_ok || i >= nnames) {
                diag_error(L->d, kw->loc, "too many positional arguments for optimizer %s", a->name);
                continue;
            }
            slot = i;
        }
        double v;
        if (const_number(L, kw->a, &v))
            *slots[slot] = v;
    }
    if (o->kind == OPT_SGD && o->lr < 0) {
        diag_error(L->d, a->loc, "sgd needs a learning rate: sgd(lr = 0.1)");
        o->lr = 0.1;
    }
    if (!(o->lr > 0))
        diag_error(L->d, a->loc, "the learning rate must be positive");
}

static void declare_items(Lower *L, const AstList *items, int file, bool imported) {
    for (int i = 0; i < items->n; i++) {
        Ast *a = items->v[i];
        if (imported && a->kind != AST_DEF && a->kind != AST_IMPORT) {
            diag_error(L->d, a->loc, "an imported file may only contain def and import");
            continue;
        }
        switch (a->kind) {
        case AST_MODEL:
            if (L->have_model) {
                diag_error(L->d, a->loc, "duplicate model declaration");
            } else if (i != 0) {
                diag_error(L->d, a->loc, "'model NAME' must be the first line of the program");
            }
            if (!L->have_model)
                L->g->model = a->name;
            L->have_model = true;
            break;
        case AST_IMPORT: do_import(L, a, file); break;
        case AST_DIM: declare_dim(L, a); break;
        case AST_PARAM: declare_param(L, a); break;
        case AST_INPUT: declare_input(L, a); break;
        case AST_OPTIMIZER: declare_optimizer(L, a); break;
        case AST_DEF: {
            Sym *s = add_sym(L, a->name, SYM_DEF, decl_loc(L->d, a));
            if (s) {
                s->def = a;
                s->file = file;
            }
            break;
        }
        default: break; /* statements and outputs come later */
        }
    }
}

/* ---------------------------------------------------------------- scopes */

static void push_scope(Lower *L, bool barrier) {
    Scope *s = xalloc(sizeof *s);
    s->up = L->scope;
    s->barrier = barrier;
    L->scope = s;
}

static void pop_scope(Lower *L) { L->scope = L->scope->up; }

static Binding *lookup_in(Scope *s, const char *name) {
    for (int i = s->n - 1; i >= 0; i--)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}

/* Innermost binding of name, and the scope holding it. */
static Binding *lookup(Lower *L, const char *name, Scope **where) {
    for (Scope *s = L->scope; s; s = s->up) {
        Binding *b = lookup_in(s, name);
        if (b) {
            if (where)
                *where = s;
            return b;
        }
        if (s->barrier)
            break;
    }
    return NULL;
}

static Binding *bind(Scope *s, const char *name, Node *val, Loc loc) {
    Binding *b = lookup_in(s, name);
    if (!b) {
        Binding nb = {.name = name};
        VEC_PUSH(s->v, s->n, s->cap, nb);
        b = &s->v[s->n - 1];
    }
    b->val = val;
    b->zero = false;
    b->loc = loc;
    if (val && !val->name)
        val->name = name;
    return b;
}

/* ---------------------------------------------------------------- expressions */

static Node *lower_expr(Lower *L, Ast *a);

static Node *sym_value(Lower *L, Sym *s, const Ast *a) {
    if (s->leaf)
        return s->leaf;
    Node *n;
    switch (s->kind) {
    case SYM_PARAM:
        n = ir_new_node(OP_PARAM, 0, NULL, L->g->params[s->index].loc);
        n->index = s->index;
        break;
    case SYM_INPUT:
        n = ir_new_node(OP_INPUT, 0, NULL, L->g->inputs[s->index].loc);
        n->index = s->index;
        break;
    case SYM_DIM: {
        const DimDecl *dd = &L->g->dims[s->index];
        n = ir_new_node(OP_DIM, 0, NULL, dd->loc);
        n->size = dd->dynamic ? size_dyn(dd->dyn) : size_const(dd->value);
        break;
    }
    default:
        diag_error(L->d, a->loc, "'%s' is a def; call it: %s(...)", s->name, s->name);
        return NULL;
    }
    n->name = s->name;
    s->leaf = finish_leaf(L, n);
    return s->leaf;
}

static Node *lower_name(Lower *L, Ast *a) {
    Binding *b = lookup(L, a->name, NULL);
    if (b) {
        if (b->val)
            return b->val;
        if (b->zero) /* `loss` read before any `+=` */
            return fconst(L, 0.0, a->loc);
        return NULL; /* poisoned */
    }
    Sym *s = find_sym(L, a->name);
    if (s)
        return sym_value(L, s, a);
    diag_error(L->d, a->loc, "undefined name '%s'", a->name);
    for (int i = L->ndropped - 1; i >= 0; i--) {
        if (strcmp(L->dropped[i].name, a->name) == 0) {
            if (L->dropped[i].stack_pending)
                diag_note(L->d, L->dropped[i].loc,
                          "'%s' is written row by row by this loop; it can be read after the loop "
                          "(use a carried value for a recurrence)", a->name);
            else
                diag_note(L->d, L->dropped[i].loc,
                          "'%s' was bound here, inside a loop: names first bound in a loop are local to it",
                          a->name);
            break;
        }
    }
    /* poison it so that later uses stay quiet */
    bind(L->scope, a->name, NULL, a->loc);
    return NULL;
}

static Node *lower_binop(Lower *L, Ast *a) {
    Node *x = lower_expr(L, a->a);
    Node *y = lower_expr(L, a->b);
    if (!x || !y)
        return NULL;
    Loc at = best_loc(a);
    char tx[200], ty[200];
    bool xi = x->dtype == DT_I32, yi = y->dtype == DT_I32;
    if (a->op != '@' && a->op != '/' && is_int_scalar(x) && is_int_scalar(y)) {
        if (x->op == OP_ICONST && y->op == OP_ICONST) {
            int64_t r;
            bool ovf = a->op == '+' ? __builtin_add_overflow(x->i, y->i, &r)
                     : a->op == '-' ? __builtin_sub_overflow(x->i, y->i, &r)
                                    : __builtin_mul_overflow(x->i, y->i, &r);
            if (ovf || r > INT32_MAX || r < INT32_MIN) {
                diag_error(L->d, at, "integer overflow in constant expression");
                return NULL;
            }
            return iconst(L, r, a->loc);
        }
        Op op = a->op == '+' ? OP_IADD : a->op == '-' ? OP_ISUB : OP_IMUL;
        return emit2(L, op, x, y, a->loc, at);
    }
    if ((xi && x->shape.rank > 0) || (yi && y->shape.rank > 0)) {
        diag_error(L->d, at, "arithmetic on int tensors is not supported (%s %c %s)",
                   type_str(L, x, tx, sizeof tx), a->op, type_str(L, y, ty, sizeof ty));
        return NULL;
    }
    /* mixed: an integer literal adapts to float; other ints are an error */
    if (xi && x->op == OP_ICONST)
        x = fconst(L, (double)x->i, x->loc), xi = false;
    if (yi && y->op == OP_ICONST)
        y = fconst(L, (double)y->i, y->loc), yi = false;
    if (xi || yi) {
        diag_error(L->d, at, "int/float mismatch in '%c': %s %c %s (int values are ids and indices)", a->op,
                   type_str(L, x, tx, sizeof tx), a->op, type_str(L, y, ty, sizeof ty));
        return NULL;
    }
    switch (a->op) {
    case '+': return emit2(L, OP_ADD, x, y, a->loc, at);
    case '-': return emit2(L, OP_SUB, x, y, a->loc, at);
    case '*': return emit2(L, OP_MUL, x, y, a->loc, at);
    case '/': return emit2(L, OP_DIV, x, y, a->loc, at);
    case '@': {
        int rx = x->shape.rank, ry = y->shape.rank;
        if (rx == 2 && ry == 1)
            return emit2(L, OP_MATVEC, x, y, a->loc, at);
        if (rx == 2 && ry == 2)
            return emit2(L, OP_MATMUL, x, y, a->loc, at);
        if (rx == 1 && ry == 2) { /* x @ B = B^T x */
            Node *n = ir_new_node(OP_MATVEC, 2, (Node *[]){y, x}, a->loc);
            n->ta = true;
            if (!build_put(&L->b, n, at)) {
                diag_note(L->d, at, "for a vector on the left, x @ B is B^T x");
                return NULL;
            }
            return n;
        }
        if (rx == 1 && ry == 1)
            return emit2(L, OP_DOT, x, y, a->loc, at);
        diag_error(L->d, at, "'@' needs matrices or vectors, got %s @ %s", type_str(L, x, tx, sizeof tx),
                   type_str(L, y, ty, sizeof ty));
        return NULL;
    }
    }
    NN_ASSERT(0);
}

static Node *lower_index(Lower *L, Ast *a) {
    Node *x = lower_expr(L, a->a);
    Node *i = lower_expr(L, a->b);
    if (!x || !i)
        return NULL;
    Loc at = a->b->loc;
    char t[200];
    if (x->shape.rank == 0) {
        diag_error(L->d, a->op_loc.len > 0 ? a->op_loc : a->a->loc, "cannot index a scalar (%s)",
                   type_str(L, x, t, sizeof t));
        return NULL;
    }
    if (i->dtype != DT_I32) {
        diag_error(L->d, at, "an index must be an int (an id or index expression), got %s",
                   type_str(L, i, t, sizeof t));
        return NULL;
    }
    if (i->shape.rank == 0)
        return emit2(L, OP_ROW, x, i, a->loc, at);
    if (i->shape.rank == 1)
        return emit2(L, OP_GATHER, x, i, a->loc, at);
    diag_error(L->d, at, "ids for a lookup must be a vector, got %s", type_str(L, i, t, sizeof t));
    return NULL;
}

static bool lower_approx(Lower *L, const Ast *ap, Approx *out);

static Node *inline_def(Lower *L, Sym *s, Ast *call, Node **args);

/* Builtin calls. Arity is checked here, types by ir_infer. */
static Node *lower_call(Lower *L, Ast *a) {
    const char *f = a->name;
    Loc at = name_loc(a);
    int n = a->args.n;
    Sym *s = find_sym(L, f);
    bool softmaxy = strcmp(f, "softmax") == 0 || strcmp(f, "log_softmax") == 0 ||
                    strcmp(f, "cross_entropy") == 0;
    if (a->approx && !softmaxy) {
        diag_error(L->d, at,
                   "'with' chooses a softmax approximation: it applies to softmax, log_softmax and "
                   "cross_entropy, not to %s", f);
        return NULL;
    }
    if (strcmp(f, "zeros") == 0 || strcmp(f, "ones") == 0) {
        if (n != 1 || a->args.v[0]->kind != AST_SHAPE) {
            diag_error(L->d, at, "%s takes one shape, e.g. %s([H])", f, f);
            return NULL;
        }
        Shape sh;
        if (!lower_shape(L, &a->args.v[0]->args, a->args.v[0]->loc, true, &sh))
            return NULL;
        return fill(L, sh, f[0] == 'o' ? 1.0 : 0.0, a->loc);
    }
    if (!s && !is_builtin(f)) {
        diag_error(L->d, at, "undefined function '%s'", f);
        return NULL;
    }
    /* evaluate the arguments (none of the builtins takes a shape) */
    Node *args[16];
    if (n > 16) {
        diag_error(L->d, at, "too many arguments (%d)", n);
        return NULL;
    }
    bool ok = true;
    for (int i = 0; i < n; i++) {
        Ast *arg = a->args.v[i];
        if (arg->kind == AST_SHAPE) {
            diag_error(L->d, arg->loc, "a shape [..] is only allowed in zeros([..]) and ones([..])");
            ok = false;
            args[i] = NULL;
            continue;
        }
        /* sum(x, axis) / mean(x, axis): axis is a literal, kept as ICONST */
        args[i] = lower_expr(L, arg);
        if (!args[i])
            ok = false;
    }
    if (s && s->kind == SYM_DEF)
        return ok ? inline_def(L, s, a, args) : NULL;
    if (s) {
        diag_error(L->d, at, "'%s' is a %s, not a function", f, sym_kind_name(s->kind));
        return NULL;
    }
    struct { const char *name; Op op; int nargs; } unary[] = {
        {"tanh", OP_TANH, 1}, {"relu", OP_RELU, 1}, {"sigmoid", OP_SIGMOID, 1},
        {"exp", OP_EXP, 1}, {"log", OP_LOG, 1}, {"sqrt", OP_SQRT, 1}, {"abs", OP_ABS, 1},
        {"transpose", OP_TRANSPOSE, 1}, {"softmax", OP_SOFTMAX, 1}, {"log_softmax", OP_LOGSOFTMAX, 1},
        {"dot", OP_DOT, 2}, {"concat", OP_CONCAT, 2}, {"cross_entropy", OP_XENT, 2},
        {"binary_cross_entropy", OP_BXENT, 2},
    };
    if (strcmp(f, "sum") == 0 || strcmp(f, "mean") == 0) {
        if (n != 1 && n != 2) {
            diag_error(L->d, at, "%s takes 1 or 2 arguments (x, axis), got %d", f, n);
            return NULL;
        }
        if (!ok)
            return NULL;
        Node *x = as_float(L, args[0], a->args.v[0], "the argument of sum/mean");
        if (!x)
            return NULL;
        if (n == 1)
            return emit1(L, f[0] == 's' ? OP_SUM : OP_MEAN, x, at);
        Node *ax = args[1];
        if (ax->op != OP_ICONST) {
            diag_error(L->d, a->args.v[1]->loc, "the axis of %s must be an integer literal", f);
            return NULL;
        }
        int64_t axis = ax->i;
        if (axis < 0)
            axis += x->shape.rank;
        if (axis < 0 || axis >= x->shape.rank) {
            char t[200];
            diag_error(L->d, a->args.v[1]->loc, "axis %lld out of range for %s", (long long)ax->i,
                       type_str(L, x, t, sizeof t));
            return NULL;
        }
        Node *r = ir_new_node(f[0] == 's' ? OP_SUMAXIS : OP_MEANAXIS, 1, (Node *[]){x}, a->loc);
        r->index = (int)axis;
        return build_put(&L->b, r, at);
    }
    for (size_t k = 0; k < sizeof unary / sizeof unary[0]; k++) {
        if (strcmp(unary[k].name, f) != 0)
            continue;
        if (n != unary[k].nargs) {
            diag_error(L->d, at, "%s takes %d argument%s, got %d", f, unary[k].nargs,
                       unary[k].nargs == 1 ? "" : "s", n);
            return NULL;
        }
        if (!ok)
            return NULL;
        Op op = unary[k].op;
        /* float operands; cross_entropy's label stays int */
        for (int i = 0; i < n; i++) {
            if (op == OP_XENT && i == 1) {
                if (args[1]->dtype != DT_I32) {
                    char t[200];
                    diag_error(L->d, a->args.v[1]->loc,
                               "the label of cross_entropy must be an int id, got %s",
                               type_str(L, args[1], t, sizeof t));
                    return NULL;
                }
                continue;
            }
            args[i] = as_float(L, args[i], a->args.v[i], "this argument");
            if (!args[i])
                return NULL;
        }
        Node *r = ir_new_node(op, n, args, a->loc);
        if (op_flags[op] & OPF_SOFTMAX) {
            if (a->approx) {
                if (!lower_approx(L, a->approx, &r->approx))
                    return NULL;
            } else if (L->opt->have_default_approx) {
                r->approx = L->opt->default_approx;
            }
        }
        return build_put(&L->b, r, at);
    }
    NN_ASSERT(0); /* is_builtin() and the tables above disagree */
}

static Node *lower_expr(Lower *L, Ast *a) {
    switch (a->kind) {
    case AST_NUM:
        if (a->is_int) {
            if (a->ival > INT32_MAX || a->ival < INT32_MIN) {
                diag_error(L->d, a->loc, "integer literal %lld does not fit in int32", (long long)a->ival);
                return NULL;
            }
            return iconst(L, a->ival, a->loc);
        }
        return fconst(L, a->num, a->loc);
    case AST_NAME: return lower_name(L, a);
    case AST_BINOP: return lower_binop(L, a);
    case AST_NEG: {
        Node *x = lower_expr(L, a->a);
        if (!x)
            return NULL;
        if (x->op == OP_ICONST)
            return iconst(L, -x->i, a->loc);
        if (x->op == OP_CONST)
            return fconst(L, -x->f, a->loc);
        if (is_int_scalar(x))
            return emit2(L, OP_ISUB, iconst(L, 0, a->loc), x, a->loc, a->loc);
        if (x->dtype == DT_I32) {
            diag_error(L->d, a->loc, "unary minus on an int tensor is not supported");
            return NULL;
        }
        return emit1(L, OP_NEG, x, a->loc);
    }
    case AST_INDEX: return lower_index(L, a);
    case AST_CALL: return lower_call(L, a);
    case AST_SHAPE:
        diag_error(L->d, a->loc, "a shape [..] is only allowed in zeros([..]) and ones([..])");
        return NULL;
    default:
        diag_error(L->d, a->loc, "expected an expression");
        return NULL;
    }
}

/* ---------------------------------------------------------------- softmax methods */

static const struct {
    const char *name;
    ApproxKind kind;
    const char *karg; /* name of the integer argument, or NULL */
    int64_t kdefault;
} approx_table[] = {
    {"full", APPROX_FULL, NULL, 0},     {"sampled", APPROX_SAMPLED, "k", 5},
    {"nce", APPROX_NCE, "k", 5},        {"neg", APPROX_NEG, "k", 5},
    {"class", APPROX_CLASS, "c", 0},    {"hier", APPROX_HIER, NULL, 0},
    {"binary", APPROX_BINARY, "ecc", 0}, {"embed", APPROX_EMBED, NULL, 0},
};

static int find_approx(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof approx_table / sizeof approx_table[0]; i++)
        if (strlen(approx_table[i].name) == len && strncmp(approx_table[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* Applies one argument; err gets a message on failure. */
static bool approx_arg(Approx *ap, int m, const char *key, const char *val, bool val_is_int, int64_t ival,
                       char *err, size_t errlen) {
    bool sampling = ap->kind == APPROX_SAMPLED || ap->kind == APPROX_NCE || ap->kind == APPROX_NEG;
    if (key && strcmp(key, "share") == 0) {
        if (!sampling || !val || strcmp(val, "batch") != 0) {
            snprintf(err, errlen, sampling ? "share must be 'batch'" : "%s has no argument 'share'",
                     approx_table[m].name);
            return false;
        }
        ap->share_batch = true;
        return true;
    }
    const char *karg = approx_table[m].karg;
    if (!karg || (key && strcmp(key, karg) != 0)) {
        snprintf(err, errlen, "softmax method %s has no argument '%s'", approx_table[m].name, key ? key : "(positional)");
        return false;
    }
    if (!val_is_int || ival < (ap->kind == APPROX_BINARY ? 0 : 1) || ival > 1000000) {
        snprintf(err, errlen, "%s must be a %s integer", karg, ap->kind == APPROX_BINARY ? "non-negative" : "positive");
        return false;
    }
    ap->k = ival;
    return true;
}

static bool lower_approx(Lower *L, const Ast *ap, Approx *out) {
    int m = find_approx(ap->name, strlen(ap->name));
    if (m < 0) {
        diag_error(L->d, name_loc(ap),
                   "unknown softmax method '%s' (expected full, sampled, nce, neg, class, hier, binary or embed)",
                   ap->name);
        return false;
    }
    memset(out, 0, sizeof *out);
    out->kind = approx_table[m].kind;
    out->k = approx_table[m].kdefault;
    out->loc = ap->loc;
    for (int i = 0; i < ap->args.n; i++) {
        const Ast *kw = ap->args.v[i];
        char err[200];
        const Ast *v = kw->a;
        bool is_int = v->kind == AST_NUM && v->is_int;
        if (!approx_arg(out, m, kw->name, v->kind == AST_NAME ? v->name : NULL, is_int, is_int ? v->ival : 0, err,
                        sizeof err)) {
            diag_error(L->d, kw->loc, "%s", err);
            return false;
        }
    }
    return true;
}

bool approx_parse(const char *spec, Approx *out, char *err, size_t errlen) {
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    int m = find_approx(spec, len);
    if (m < 0) {
        snprintf(err, errlen, "unknown softmax method '%.*s' (expected full, sampled, nce, neg, class, hier, binary or embed)",
                 (int)len, spec);
        return false;
    }
    memset(out, 0, sizeof *out);
    out->kind = approx_table[m].kind;
    out->k = approx_table[m].kdefault;
    out->loc = NO_LOC;
    const char *p = colon ? colon + 1 : NULL;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char item[128];
        if (n >= sizeof item) {
            snprintf(err, errlen, "argument too long");
            return false;
        }
        memcpy(item, p, n);
        item[n] = 0;
        char *eq = strchr(item, '=');
        const char *key = NULL, *val = item;
        if (eq) {
            *eq = 0;
            key = item;
            val = eq + 1;
        }
        char *end;
        errno = 0;
        long long iv = strtoll(val, &end, 10);
        bool is_int = *val && *end == 0 && errno == 0;
        if (!approx_arg(out, m, key, val, is_int, iv, err, errlen))
            return false;
        p = comma ? comma + 1 : NULL;
    }
    return true;
}

/* ---------------------------------------------------------------- statements */

static void lower_stmts(Lower *L, AstList *body);

static Node *inline_def(Lower *L, Sym *s, Ast *call, Node **args) {
    Ast *def = s->def;
    Loc at = name_loc(call);
    for (int i = 0; i < L->ninline; i++) {
        if (L->inline_stack[i] == def) {
            diag_error(L->d, at, "recursive def '%s': defs are inlined, so they cannot call themselves", s->name);
            for (int j = i; j < L->ninline; j++)
                diag_note(L->d, L->inline_stack[j]->loc, "'%s' is being inlined here", L->inline_stack[j]->name);
            return NULL;
        }
    }
    if (L->ninline >= MAX_INLINE_DEPTH) {
        diag_error(L->d, at, "defs nested more than %d deep", MAX_INLINE_DEPTH);
        return NULL;
    }
    if (call->args.n != def->args.n) {
        diag_error(L->d, at, "%s takes %d argument%s, got %d", s->name, def->args.n, def->args.n == 1 ? "" : "s",
                   call->args.n);
        diag_note(L->d, def->loc, "'%s' is defined here", s->name);
        return NULL;
    }
    Ast **stack = xalloc(sizeof(Ast *) * (size_t)(L->ninline + 1));
    if (L->ninline)
        memcpy(stack, L->inline_stack, sizeof(Ast *) * (size_t)L->ninline);
    stack[L->ninline] = def;
    Ast **saved = L->inline_stack;
    L->inline_stack = stack;
    L->ninline++;
    push_scope(L, true);
    for (int i = 0; i < def->args.n; i++) {
        Binding *b = bind(L->scope, def->args.v[i]->name, args[i], def->args.v[i]->loc);
        (void)b;
    }
    Node *result = NULL;
    bool returned = false;
    for (int i = 0; i < def->body.n; i++) {
        Ast *st = def->body.v[i];
        if (returned) {
            diag_error(L->d, st->loc, "statement after return");
            break;
        }
        if (st->kind == AST_RETURN) {
            result = lower_expr(L, st->a);
            returned = true;
        } else if (st->kind == AST_BIND) {
            AstList one = {.v = &def->body.v[i], .n = 1, .cap = 1};
            lower_stmts(L, &one);
        } else {
            diag_error(L->d, st->loc, "a def body may only bind names and return a value");
        }
    }
    if (!returned)
        diag_error(L->d, def->loc, "def '%s' has no return", s->name);
    pop_scope(L);
    L->ninline--;
    L->inline_stack = saved;
    return result;
}

/* Names a loop body assigns (bind or +=, at any depth) and names it reads. */
typedef struct NameUse {
    const char *name;
    bool assigned, plain_assign, read;
    Loc loc;
} NameUse;

typedef struct NameUses {
    NameUse *v;
    int n, cap;
} NameUses;

static NameUse *use_of(NameUses *u, const char *name, Loc loc) {
    for (int i = 0; i < u->n; i++)
        if (strcmp(u->v[i].name, name) == 0)
            return &u->v[i];
    NameUse nu = {.name = name, .loc = loc};
    VEC_PUSH(u->v, u->n, u->cap, nu);
    return &u->v[u->n - 1];
}

static void scan_expr(NameUses *u, const Ast *a) {
    if (!a)
        return;
    if (a->kind == AST_NAME)
        use_of(u, a->name, a->loc)->read = true;
    scan_expr(u, a->a);
    scan_expr(u, a->b);
    if (a->kind == AST_CALL || a->kind == AST_SHAPE)
        for (int i = 0; i < a->args.n; i++)
            scan_expr(u, a->args.v[i]);
}

static void scan_body(NameUses *u, const AstList *body) {
    for (int i = 0; i < body->n; i++) {
        const Ast *st = body->v[i];
        switch (st->kind) {
        case AST_BIND:
            scan_expr(u, st->a);
            use_of(u, st->name, st->loc)->assigned = true;
            use_of(u, st->name, st->loc)->plain_assign = true;
            break;
        case AST_ACCUM:
            scan_expr(u, st->a);
            use_of(u, st->name, st->loc)->assigned = true;
            break;
        case AST_SETROW:
            scan_expr(u, st->a);
            scan_expr(u, st->b);
            break;
        case AST_FOR:
            scan_expr(u, st->a);
            scan_expr(u, st->b);
            scan_body(u, &st->body);
            break;
        default: break;
        }
    }
}

static void drop_locals(Lower *L, Scope *s) {
    for (int i = 0; i < s->n; i++) {
        Dropped d = {.name = s->v[i].name, .loc = s->v[i].loc};
        VEC_PUSH(L->dropped, L->ndropped, L->capdropped, d);
    }
}

static void lower_for(Lower *L, Ast *st) {
    Size lo, hi;
    bool ok = lower_size(L, st->a, &lo);
    ok = lower_size(L, st->b, &hi) && ok;
    if (!ok)
        return;
    Size trip;
    if (!sz_add(hi, lo, true, &trip)) {
        diag_error(L->d, st->loc, "integer overflow in loop range");
        return;
    }
    if (!check_size_min(L, trip, 0, loc_merge(st->a->loc, st->b->loc), "the trip count"))
        return;
    if (lookup(L, st->name, NULL) || find_sym(L, st->name)) {
        diag_error(L->d, st->op_loc.file >= 0 ? st->op_loc : st->loc,
                   "loop variable '%s' hides another name of that name", st->name);
        return;
    }
    Loop *loop = ir_new_loop(L->b.block, st->name, lo, hi, st->loc);
    LoopCtx ctx = {.loop = loop, .up = L->loop};
    push_scope(L, false);
    Scope *body_scope = L->scope;
    body_scope->loop = &ctx;
    ctx.scope = body_scope;
    bind(body_scope, st->name, loop->index, st->loc);
    loop->index->name = st->name;

    /* carried values and accumulators */
    NameUses u = {0};
    scan_body(&u, &st->body);
    Scope *saved_scope = L->scope;
    L->scope = body_scope->up; /* resolve names as seen before the loop */
    for (int i = 0; i < u.n; i++) {
        NameUse *nu = &u.v[i];
        if (!nu->assigned)
            continue;
        Binding *outer = lookup(L, nu->name, NULL);
        if (!outer)
            continue; /* first bound inside: local to the loop */
        if (!nu->plain_assign && !nu->read) {
            Binding *b = bind(body_scope, nu->name, NULL, outer->loc);
            b->zero = true;
            VEC_PUSH(ctx.acc_names, ctx.nacc, ctx.capacc, nu->name);
            continue;
        }
        Node *init = outer->val;
        if (!init && outer->zero)
            init = fconst(L, 0.0, outer->loc);
        if (!init) { /* poisoned */
            bind(body_scope, nu->name, NULL, outer->loc);
            continue;
        }
        if (init->dtype == DT_I32) {
            diag_error(L->d, nu->loc, "'%s' is an int value re-bound in a loop: loop-carried int values are not supported",
                       nu->name);
            bind(body_scope, nu->name, NULL, outer->loc);
            continue;
        }
        Node *c = ir_loop_add_carry(loop, init, nu->name);
        c->loc = outer->loc;
        bind(body_scope, nu->name, c, outer->loc);
        VEC_PUSH(ctx.carry_names, ctx.ncarry, ctx.capcarry, nu->name);
    }
    L->scope = saved_scope;

    Builder saved_b = L->b;
    LoopCtx *saved_loop = L->loop;
    L->b.block = &loop->body;
    L->loop = &ctx;
    lower_stmts(L, &st->body);
    L->b = saved_b;
    L->loop = saved_loop;

    /* next values of the carries */
    for (int r = 0; r < ctx.ncarry; r++) {
        Binding *b = lookup_in(body_scope, ctx.carry_names[r]);
        Node *c = loop->carry[r];
        Node *next = b->val ? b->val : c;
        if (!shape_eq(&next->shape, &c->shape) || next->dtype != c->dtype) {
            char t1[200], t2[200];
            diag_error(L->d, b->loc,
                       "'%s' is carried across loop iterations with type %s, but is re-bound to %s here "
                       "(a loop-carried value keeps its shape)",
                       ctx.carry_names[r], type_str(L, c, t1, sizeof t1), type_str(L, next, t2, sizeof t2));
            next = c;
        }
        loop->next[r] = next;
    }
    /* summed and stacked results: LOOPOUT r = ncarry + stack s, then
     * ncarry + nstack + sum s (the order of the add calls) */
    const char **sum_names = xalloc(sizeof(char *) * (size_t)(ctx.nacc + 1));
    int nsums = 0;
    for (int i = 0; i < ctx.nacc; i++) {
        Binding *b = lookup_in(body_scope, ctx.acc_names[i]);
        if (!b->val)
            continue; /* never incremented (or poisoned) */
        ir_loop_add_sum(loop, b->val);
        sum_names[nsums++] = ctx.acc_names[i];
    }
    for (int i = 0; i < ctx.nstack; i++)
        ir_loop_add_stack(loop, ctx.stacks[i].val);

    pop_scope(L);
    drop_locals(L, body_scope);

    /* the loop node and its results, after the body */
    Builder at = build_at(L->g, L->b.block, -1, BUILD_ASSERT, "lower");
    build_put(&at, loop->node, loop->node->loc); /* a LOOP has no type to reject */
    for (int r = 0; r < ctx.ncarry; r++) {
        Scope *where = NULL;
        Binding *outer = lookup(L, ctx.carry_names[r], &where);
        NN_ASSERT(outer);
        bind(where, ctx.carry_names[r], ir_loop_result(loop, r, ctx.carry_names[r]), outer->loc);
    }
    for (int i = 0; i < ctx.nstack; i++) {
        StackWrite *sw = &ctx.stacks[i];
        Node *out = ir_loop_result(loop, loop->ncarry + i, sw->name);
        if (!size_is_const(lo) || lo.c != 0) {
            /* rows before the range start are zero: hs[t] is row t */
            Shape pad = out->shape;
            pad.d[0] = lo;
            out = emit2(L, OP_CONCAT, fill(L, pad, 0.0, sw->loc), out, sw->loc, sw->loc);
        }
        bind(L->scope, sw->name, out, sw->loc);
    }
    for (int i = 0; i < nsums; i++) {
        Scope *where = NULL;
        Binding *outer = lookup(L, sum_names[i], &where);
        NN_ASSERT(outer);
        Node *sum = ir_loop_result(loop, loop->ncarry + loop->nstack + i, sum_names[i]);
        Node *v = sum;
        if (!outer->zero) {
            v = outer->val ? emit2(L, OP_ADD, outer->val, sum, st->loc, st->loc) : NULL;
            if (v && !shape_eq(&v->shape, &outer->val->shape)) {
                char t1[200], t2[200];
                diag_error(L->d, st->loc, "accumulating into '%s' in this loop would change its shape from %s to %s",
                           sum_names[i], type_str(L, outer->val, t1, sizeof t1), type_str(L, v, t2, sizeof t2));
                v = NULL;
            }
        }
        bind(where, sum_names[i], v, outer->loc);
    }
}

static void lower_stmts(Lower *L, AstList *body) {
    for (int i = 0; i < body->n; i++) {
        Ast *st = body->v[i];
        switch (st->kind) {
        case AST_BIND: {
            Scope *where = NULL;
            Binding *b = lookup(L, st->name, &where);
            Sym *s = find_sym(L, st->name);
            if (!b && s) {
                diag_error(L->d, name_loc(st), "cannot assign to %s '%s'", sym_kind_name(s->kind), st->name);
                continue;
            }
            if (b && L->loop && b->val && b->val->op == OP_INDEX && where && where->loop &&
                b->val == where->loop->loop->index) {
                diag_error(L->d, name_loc(st), "cannot assign to the loop variable '%s'", st->name);
                continue;
            }
            if (strcmp(st->name, "loss") == 0) {
                diag_error(L->d, name_loc(st), "'loss' can only be accumulated: loss += expr");
                continue;
            }
            Node *v = lower_expr(L, st->a);
            /* rebinding: in the scope that holds it (carry/accumulator
             * bindings live in the loop body's scope), else here */
            bind(b ? where : L->scope, st->name, v, st->loc);
            break;
        }
        case AST_ACCUM: {
            Scope *where = NULL;
            Binding *b = lookup(L, st->name, &where);
            Loc at = best_loc(st);
            if (!b) {
                Sym *s = find_sym(L, st->name);
                if (s)
                    diag_error(L->d, name_loc(st), "cannot assign to %s '%s'", sym_kind_name(s->kind), st->name);
                else
                    diag_error(L->d, name_loc(st), "undefined name '%s' ('%s += e' needs a previous value)",
                               st->name, st->name);
                continue;
            }
            Node *e = lower_expr(L, st->a);
            if (!e) {
                continue;
            }
            e = as_float(L, e, st->a, "an accumulated value");
            if (!e)
                continue;
            bool is_loss = strcmp(st->name, "loss") == 0;
            if (is_loss && e->shape.rank != 0) {
                char t[200];
                diag_error(L->d, at, "loss must be a scalar, got %s (use sum(...))",
                           type_str(L, e, t, sizeof t));
                continue;
            }
            if (is_loss)
                L->nloss_acc++;
            Node *nv;
            if (b->zero) { /* the first increment: the accumulator takes e's shape */
                nv = e;
            } else if (!b->val) {
                continue; /* poisoned */
            } else {
                nv = emit2(L, OP_ADD, b->val, e, st->loc, at);
                if (nv && !shape_eq(&nv->shape, &b->val->shape)) {
                    char t1[200], t2[200];
                    diag_error(L->d, at, "'%s += e' would change the shape of %s from %s to %s", st->name, st->name,
                               type_str(L, b->val, t1, sizeof t1), type_str(L, nv, t2, sizeof t2));
                    nv = NULL;
                }
            }
            bind(where, st->name, nv, st->loc);
            break;
        }
        case AST_SETROW: {
            LoopCtx *lc = L->loop;
            if (!lc || st->b->kind != AST_NAME || strcmp(st->b->name, lc->loop->var) != 0) {
                diag_error(L->d, st->b->loc,
                           "'%s[i] = e' must be written directly in the body of 'for i', with i that loop's variable",
                           st->name);
                if (!lookup(L, st->name, NULL))
                    bind(L->scope, st->name, NULL, st->loc); /* poisoned: later uses stay quiet */
                continue;
            }
            if (lookup(L, st->name, NULL) || find_sym(L, st->name)) {
                diag_error(L->d, name_loc(st), "'%s' is already bound: an indexed write '%s[%s] = e' builds a new tensor",
                           st->name, st->name, st->b->name);
                continue;
            }
            bool dup = false;
            for (int k = 0; k < lc->nstack; k++)
                if (strcmp(lc->stacks[k].name, st->name) == 0)
                    dup = true;
            if (dup) {
                diag_error(L->d, name_loc(st), "'%s' is written twice in one iteration", st->name);
                continue;
            }
            Node *v = lower_expr(L, st->a);
            if (v)
                v = as_float(L, v, st->a, "a stacked value");
            if (v && v->shape.rank + 1 > NN_MAXRANK) {
                diag_error(L->d, st->a->loc, "stacking would make a tensor with more than %d axes", NN_MAXRANK);
                v = NULL;
            }
            if (!v)
                continue;
            StackWrite sw = {.name = st->name, .val = v, .loc = st->loc};
            VEC_PUSH(lc->stacks, lc->nstack, lc->capstack, sw);
            Dropped d = {.name = st->name, .loc = st->loc, .stack_pending = true};
            VEC_PUSH(L->dropped, L->ndropped, L->capdropped, d);
            break;
        }
        case AST_FOR: lower_for(L, st); break;
        case AST_RETURN: diag_error(L->d, st->loc, "return outside a def"); break;
        case AST_OUTPUT:
        case AST_MODEL:
        case AST_IMPORT:
        case AST_DIM:
        case AST_PARAM:
        case AST_INPUT:
        case AST_OPTIMIZER:
        case AST_DEF:
            if (L->loop || L->ninline)
                diag_error(L->d, st->loc, "declarations are only allowed at the top level");
            break;
        default:
            diag_error(L->d, st->loc, "expected a statement");
            break;
        }
    }
}

/* ---------------------------------------------------------------- program */

static void lower_outputs(Lower *L, const AstList *prog) {
    for (int i = 0; i < prog->n; i++) {
        const Ast *a = prog->v[i];
        if (a->kind != AST_OUTPUT)
            continue;
        for (int j = 0; j < a->args.n; j++) {
            const Ast *nm = a->args.v[j];
            bool dup = false;
            for (int k = 0; k < L->g->noutputs; k++)
                if (strcmp(L->g->outputs[k].name, nm->name) == 0)
                    dup = true;
            if (dup) {
                diag_error(L->d, nm->loc, "duplicate output '%s'", nm->name);
                continue;
            }
            if (strcmp(nm->name, "loss") == 0) {
                diag_error(L->d, nm->loc, "loss is always a result of the forward pass; don't list it as an output");
                continue;
            }
            Node *v = lower_name(L, (Ast *)nm);
            if (!v)
                continue;
            if (v->dtype != DT_F32) {
                diag_error(L->d, nm->loc, "output '%s' is an int value; outputs must be float tensors", nm->name);
                continue;
            }
            OutputDecl o = {.name = nm->name, .loc = nm->loc, .value = v};
            VEC_PUSH(L->g->outputs, L->g->noutputs, L->g->capoutputs, o);
        }
    }
}

Graph *lower_program(Diag *d, int file, const AstList *prog, const LowerOptions *opt) {
    static const LowerOptions no_options;
    Lower L = {.d = d, .opt = opt ? opt : &no_options};
    int errors_before = d->nerrors;
    L.g = ir_new_graph();
    L.g->source_path = d->files[file].path;
    L.g->model = "model";
    if (prog->n == 0) {
        Loc at = {file, 1, 1, 0, 0};
        diag_error(d, at, "empty program: a program starts with 'model NAME'");
        return NULL;
    }
    declare_items(&L, prog, file, false);
    if (!L.have_model)
        diag_error(d, prog->v[0]->loc, "missing 'model NAME' as the first line of the program");

    push_scope(&L, false);
    Binding *loss = bind(L.scope, "loss", NULL, NO_LOC);
    loss->zero = true;
    L.b = build_at(L.g, &L.g->top, -1, BUILD_DIAG, NULL);
    L.b.diag = d;

    AstList stmts = {0};
    for (int i = 0; i < prog->n; i++) {
        AstKind k = prog->v[i]->kind;
        if (k == AST_BIND || k == AST_ACCUM || k == AST_SETROW || k == AST_FOR || k == AST_RETURN)
            ast_push(&stmts, prog->v[i]);
    }
    lower_stmts(&L, &stmts);
    lower_outputs(&L, prog);

    Binding *lb = lookup_in(L.scope, "loss");
    if (lb && lb->val && !lb->zero)
        L.g->loss = lb->val;
    if (L.g->noutputs == 0 && !L.g->loss && d->nerrors == errors_before)
        diag_warning(d, prog->v[0]->loc, "the program has no output and no loss: nothing to compute");
    if (d->nerrors > errors_before)
        return NULL;
    return L.g;
}
