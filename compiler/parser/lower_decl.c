/*
 * lower_decl.c - declarations (dims, params, inputs, the optimizer, defs),
 * imports, and the dim expressions that become Sizes and Shapes.
 */
#include "lower.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

/* ---------------------------------------------------------------- sizes */

/* Checked 64-bit size arithmetic: overflow is a user error. */
bool sz_add(Size a, Size b, bool sub, Size *out) {
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
bool lower_size(Lower *L, const Ast *a, Size *out) {
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
                diag_error(L->d, a->loc, "'%s' is %s, not a dim", a->name, sym_kind_a(s->kind));
            else
                report_undefined(L, a->loc, "dim", a->name);
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
bool check_size_min(Lower *L, Size s, int64_t min_ok, Loc loc, const char *what) {
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
bool lower_shape(Lower *L, const AstList *dims, Loc loc, bool allow_dynamic, Shape *out) {
    memset(out, 0, sizeof *out);
    if (dims->n > NN_TENSOR_MAXRANK) {
        diag_error(L->d, loc, "a tensor has at most %d axes, this one has %d", NN_TENSOR_MAXRANK, dims->n);
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


/* The standard library's modules (their import names, "nn"), a NULL at
 * the end; none without a stdlib directory. */
static const char **stdlib_modules(Lower *L) {
    const char **v = NULL;
    int n = 0, cap = 0;
    DIR *dir = L->opt->stdlib_dir ? opendir(L->opt->stdlib_dir) : NULL;
    for (struct dirent *e; dir && (e = readdir(dir));) {
        size_t len = strlen(e->d_name);
        if (len >= 4 && strcmp(e->d_name + len - 3, ".nn") == 0)
            VEC_PUSH(v, n, cap, xstrndup(e->d_name, len - 3));
    }
    if (dir)
        closedir(dir);
    VEC_PUSH(v, n, cap, NULL);
    return v;
}

/* The standard library module that has a line starting "def NAME(", or
 * NULL: the hint for an undefined function. */
const char *stdlib_defining(Lower *L, const char *name) {
    const char *want = xsprintf("def %s(", name);
    for (const char **m = stdlib_modules(L); *m; m++) {
        FILE *f = fopen(xsprintf("%s/%s.nn", L->opt->stdlib_dir, *m), "r");
        bool found = false;
        char line[512];
        while (f && !found && fgets(line, sizeof line, f))
            found = strncmp(line, want, strlen(want)) == 0;
        if (f)
            fclose(f);
        if (found)
            return *m;
    }
    return NULL;
}

/* The standard library module whose name is nearest a missing import's
 * ("nnn" for "nn"), or NULL. */
static const char *stdlib_nearest(Lower *L, const char *name) {
    if (strchr(name, '/'))
        return NULL;
    size_t len = strlen(name);
    Guess g = guess_start(len > 3 && strcmp(name + len - 3, ".nn") == 0 ? xstrndup(name, len - 3) : name);
    for (const char **m = stdlib_modules(L); *m; m++)
        guess_consider(&g, *m);
    return g.best;
}

static void do_import(Lower *L, const Ast *a, int from_file) {
    char path[2048];
    if (!resolve_import(L, a->name, from_file, path, sizeof path)) {
        const char *near = stdlib_nearest(L, a->name);
        diag_error(L->d, decl_loc(L->d, a), "cannot find import \"%s\" (searched -I dirs, the importing file's dir and the stdlib)%s",
                   a->name, near ? xsprintf("; did you mean \"%s\"?", near) : "");
        L->import_failed = true;
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
    AstList items = {0};
    if (f < 0 || !parse_file(L->d, f, &items)) {
        L->import_failed = true;
        return;
    }
    declare_items(L, &items, f, true);
}

/* The size given for dim name from outside (--dim, the vocabulary), or NULL. */
static DimBind *dim_bind(Lower *L, const char *name, bool open) {
    DimBind *found = NULL;
    for (int i = 0; i < L->opt->ndims; i++)
        if (strcmp(L->opt->dims[i].name, name) == 0 && (open || !L->opt->dims[i].if_open))
            found = found && !found->if_open ? found : &L->opt->dims[i]; /* --dim before the vocabulary */
    return found;
}

/* `dim V`: its size comes from outside (docs/LANGUAGE.md, "Open dims"). */
static int64_t open_dim(Lower *L, const Ast *a) {
    DimBind *b = dim_bind(L, a->name, true);
    if (!b) {
        diag_error(L->d, a->loc,
                   "dim %s has no size: give it on the command line with --dim %s=N (nngc train sets it to the "
                   "vocabulary's size when it is the --vocab-dim, default V)",
                   a->name, a->name);
        return 1;
    }
    b->used = true;
    return b->value;
}

/* A size given from outside for a dim that has one: the same, or an error. */
static void check_bind(Lower *L, const Ast *a, const DimDecl *dd) {
    DimBind *b = dim_bind(L, a->name, false);
    if (!b)
        return;
    if (dd->dynamic && !L->opt->dims_dynamic_ok)
        diag_error(L->d, a->loc, "%s: dim %s is dynamic (max %lld): its value comes with each example, not with "
                   "the compilation", b->origin, a->name, (long long)dd->value);
    else if (!dd->dynamic && b->value != dd->value)
        diag_error(L->d, a->loc, "%s disagrees with the model: dim %s is %lld here, %lld there", b->origin,
                   a->name, (long long)dd->value, (long long)b->value);
}

/* Every --dim names a dim of the program (its imports included). */
void check_dim_binds(Lower *L) {
    for (int i = 0; i < L->opt->ndims; i++) {
        const DimBind *b = &L->opt->dims[i];
        Sym *s = find_sym(L, b->name);
        if (!b->if_open && (!s || s->kind != SYM_DIM))
            diag_error(L->d, NO_LOC, "%s: the model has no dim named '%s'%s", b->origin, b->name,
                       s ? xsprintf(" (it is %s)", sym_kind_a(s->kind)) : "");
    }
}

/* A def's parameter may shadow a param or an input, not a dim: inside the
 * body the name would be the argument in expressions and the dim's size in
 * shapes (zeros([D])). After every declaration: a dim may come after the
 * def. Only the defs of the program's own file: an imported library's
 * parameter names are not the user's to change (they shadow there). */
void check_def_params(Lower *L, int file) {
    for (int i = 0; i < L->nsyms; i++) {
        const Sym *s = &L->syms[i];
        for (int j = 0; s->kind == SYM_DEF && s->file == file && j < s->def->args.n; j++) {
            const Ast *p = s->def->args.v[j];
            const Sym *d = find_sym(L, p->name);
            if (d && d->kind == SYM_DIM) {
                diag_error(L->d, p->loc, "parameter '%s' of def '%s' has the name of a dim: in the body it would "
                           "be the argument in expressions and the dim in shapes; rename it", p->name, s->name);
                diag_note(L->d, d->loc, "dim %s is declared here", d->name);
            }
        }
    }
}

static void declare_dim(Lower *L, const Ast *a) {
    DimDecl dd = {.name = a->name, .loc = a->loc, .dyn = -1};
    Size s;
    if (!a->a) {
        dd.value = open_dim(L, a);
        dd.open = true;
        goto add;
    }
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
    check_bind(L, a, &dd);
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
    bool shape_ok = lower_shape(L, &t->args, t->loc, false, &p.shape);
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
    s->broken = !shape_ok;
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
    bool shape_ok = lower_shape(L, &t->args, t->loc, true, &in.shape);
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
    s->broken = !shape_ok;
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
    o->loc = a->loc;
    if (!optim_start(o, a->name, strlen(a->name))) {
        diag_error(L->d, decl_loc(L->d, a), "unknown optimizer '%s' (expected sgd, adam or adagrad)", a->name);
        return;
    }
    const char *const *names = optim_args(o->kind);
    int nnames = 0;
    while (names[nnames])
        nnames++;
    bool positional_ok = true;
    unsigned given = 0;
    bool bad_name = false; /* an argument not set: the check would blame its absence */
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
                bad_name = true;
                continue;
            }
        } else {
            if (!positional_ok || i >= nnames) {
                diag_error(L->d, kw->loc, "too many positional arguments for optimizer %s", a->name);
                bad_name = true;
                continue;
            }
            slot = i;
        }
        if (given & (1u << slot)) {
            diag_error(L->d, kw->loc, "optimizer %s: argument '%s' given twice", a->name, names[slot]);
            continue;
        }
        given |= 1u << slot;
        /* a value that is no number is reported here, and stands in as 0
         * (valid for every argument): else sgd's lr would look missing too */
        double v = 0;
        const_number(L, kw->a, &v);
        *optim_arg(o, slot) = v;
    }
    /* after a bad argument (sgd(lrq = 0.1)), not also "sgd needs a learning rate" */
    char err[200];
    if (!bad_name && !optim_check(o, err, sizeof err))
        diag_error(L->d, a->loc, "%s", err);
}

void declare_items(Lower *L, const AstList *items, int file, bool imported) {
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
            if (!L->have_model) {
                L->g->model = a->name;
                L->g->model_loc = a->loc;
            }
            L->have_model = true;
            break;
        case AST_IMPORT: do_import(L, a, file); break;
        case AST_DIM: declare_dim(L, a); break;
        case AST_PARAM: declare_param(L, a); break;
        case AST_INPUT: declare_input(L, a); break;
        case AST_OPTIMIZER: declare_optimizer(L, a); break;
        case AST_DEF: {
            for (int j = 1; j < a->args.n; j++) /* def f(a, a): the second would win silently */
                for (int k = 0; k < j; k++)
                    if (strcmp(a->args.v[k]->name, a->args.v[j]->name) == 0) {
                        diag_error(L->d, a->args.v[j]->loc, "duplicate parameter '%s' of def '%s'",
                                   a->args.v[j]->name, a->name);
                        diag_note(L->d, a->args.v[k]->loc, "the first '%s' is here", a->args.v[k]->name);
                        break;
                    }
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
