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
#include "lower.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

Loc name_loc(const Ast *a) {
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
Loc decl_loc(const Diag *d, const Ast *a) {
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

Loc best_loc(const Ast *a) {
    if (a->kind == AST_BINOP || a->kind == AST_ACCUM)
        return a->op_loc.file >= 0 && a->op_loc.len > 0 ? a->op_loc : a->loc;
    if (a->kind == AST_CALL)
        return name_loc(a);
    return a->loc;
}

/* ---------------------------------------------------------------- name index */

struct NameSlot {
    const char *name;
    int val;
};

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct NameSlot *name_slot(const NameIndex *ix, const char *name) {
    uint64_t mask = (uint64_t)ix->cap - 1;
    for (uint64_t i = name_hash(name) & mask;; i = (i + 1) & mask)
        if (!ix->slot[i].name || strcmp(ix->slot[i].name, name) == 0)
            return &ix->slot[i];
}

int name_get(const NameIndex *ix, const char *name) {
    if (ix->cap == 0)
        return -1;
    struct NameSlot *s = name_slot(ix, name);
    return s->name ? s->val : -1;
}

void name_put(NameIndex *ix, const char *name, int val) {
    if (2 * (ix->n + 1) > ix->cap) {
        NameIndex bigger = {.cap = ix->cap ? 2 * ix->cap : 16};
        bigger.slot = xalloc(sizeof(struct NameSlot) * (size_t)bigger.cap);
        for (int i = 0; i < ix->cap; i++)
            if (ix->slot[i].name)
                *name_slot(&bigger, ix->slot[i].name) = ix->slot[i];
        bigger.n = ix->n;
        *ix = bigger; /* the old slots stay in the arena */
    }
    struct NameSlot *s = name_slot(ix, name);
    if (!s->name) {
        s->name = name;
        ix->n++;
    }
    s->val = val;
}

Sym *find_sym(Lower *L, const char *name) {
    int i = name_get(&L->symix, name);
    return i >= 0 ? &L->syms[i] : NULL;
}

const char *sym_kind_name(SymKind k) {
    switch (k) {
    case SYM_DIM: return "dim";
    case SYM_PARAM: return "param";
    case SYM_INPUT: return "input";
    case SYM_DEF: return "def";
    }
    return "?";
}

/* The kind with its article, for messages: "an input", "a dim". */
const char *sym_kind_a(SymKind k) {
    return k == SYM_INPUT ? "an input" : xsprintf("a %s", sym_kind_name(k));
}

static const char *const builtin_names[] = {
    "tanh", "relu", "sigmoid", "exp", "log", "sqrt", "abs", "sum", "mean",
    "dot", "concat", "zeros", "ones", "softmax", "log_softmax", "cross_entropy",
    "binary_cross_entropy", "transpose", NULL};

bool is_builtin(const char *name) {
    for (int i = 0; builtin_names[i]; i++)
        if (strcmp(builtin_names[i], name) == 0)
            return true;
    return false;
}

/* Declares a global name; reports a duplicate. */
Sym *add_sym(Lower *L, const char *name, SymKind kind, Loc loc) {
    Sym *old = find_sym(L, name);
    if (old) {
        diag_error(L->d, loc, "duplicate declaration of '%s'", name);
        diag_note(L->d, old->loc, "'%s' was first declared here as %s", name,
                  sym_kind_a(old->kind));
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
    name_put(&L->symix, name, L->nsyms);
    VEC_PUSH(L->syms, L->nsyms, L->capsyms, s);
    return &L->syms[L->nsyms - 1];
}

/* A new node in the current block, typed (an ill-typed one is reported at
 * err_loc). Any NULL operand makes it NULL silently. */
static Node *emit(Lower *L, Op op, int nin, Node **in, Loc loc, Loc err_loc) {
    return build_put(&L->b, build_new(op, nin, in, loc), err_loc);
}

Node *emit1(Lower *L, Op op, Node *a, Loc loc) {
    return emit(L, op, 1, (Node *[]){a}, loc, loc);
}

Node *emit2(Lower *L, Op op, Node *a, Node *b, Loc loc, Loc err_loc) {
    return emit(L, op, 2, (Node *[]){a, b}, loc, err_loc);
}

/* Leaves (no operands) all go to the end of the top block: they are then
 * defined before any loop that uses them. */
Node *finish_leaf(Lower *L, Node *n) { return build_leaf(&L->b, n, false); }

Node *fconst(Lower *L, double v, Loc loc) { return finish_leaf(L, ir_const(v, loc)); }

Node *iconst(Lower *L, int64_t v, Loc loc) { return finish_leaf(L, ir_iconst(v, loc)); }

Node *fill(Lower *L, Shape shape, double v, Loc loc) { return finish_leaf(L, ir_fill(&shape, v, loc)); }

char *type_str(Lower *L, const Node *n, char *buf, size_t len) {
    char sh[160];
    snprintf(buf, len, "%s%s", n->dtype == DT_I32 ? "i32" : "f32",
             shape_str(L->g, &n->shape, sh, sizeof sh));
    return buf;
}

/* Converts an integer literal to a float constant in a float context;
 * any other int value there is an error. */
Node *as_float(Lower *L, Node *n, const Ast *where, const char *what) {
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

/* ---------------------------------------------------------------- scopes */

/* Was name bound in a loop that has ended (lower_name's note explains)? */
static bool was_dropped(const Lower *L, const char *name) {
    for (int i = 0; i < L->ndropped; i++)
        if (strcmp(L->dropped[i].name, name) == 0)
            return true;
    return false;
}

/* The visible name closest to a misspelt one (what: "name", "function" or
 * "dim"), or NULL (guess_start's rule). */
static const char *closest_name(Lower *L, const char *what, const char *name) {
    Guess g = guess_start(name);
    bool fn = strcmp(what, "function") == 0, dim = strcmp(what, "dim") == 0;
    if (!fn && !dim) {
        for (Scope *s = L->scope; s; s = s->up) {
            for (int i = 0; i < s->n; i++)
                if (s->v[i].val && strcmp(s->v[i].name, "loss") != 0)
                    guess_consider(&g, s->v[i].name);
            if (s->barrier)
                break;
        }
    }
    for (int i = 0; i < L->nsyms; i++) {
        SymKind k = L->syms[i].kind;
        if (fn ? k == SYM_DEF : dim ? k == SYM_DIM : k != SYM_DEF)
            guess_consider(&g, L->syms[i].name);
    }
    for (int i = 0; fn && builtin_names[i]; i++)
        guess_consider(&g, builtin_names[i]);
    return g.best;
}

bool report_undefined(Lower *L, Loc at, const char *what, const char *name) {
    const char *key = xsprintf("%s %s", what, name);
    if (name_get(&L->undefined, key) >= 0)
        return false;
    name_put(&L->undefined, key, 1);
    const char *lib = strcmp(what, "function") == 0 ? stdlib_defining(L, name) : NULL, *guess;
    if (lib)
        diag_error(L->d, at, "undefined function '%s' (the standard library's %s.nn defines it: add 'import \"%s\"')",
                   name, lib, lib);
    else if ((guess = closest_name(L, what, name)) && !was_dropped(L, name))
        diag_error(L->d, at, "undefined %s '%s'; did you mean '%s'?", what, name, guess);
    else
        diag_error(L->d, at, "undefined %s '%s'", what, name);
    return true;
}

void push_scope(Lower *L, bool barrier) {
    Scope *s = xalloc(sizeof *s);
    s->up = L->scope;
    s->barrier = barrier;
    L->scope = s;
}

void pop_scope(Lower *L) { L->scope = L->scope->up; }

Binding *lookup_in(Scope *s, const char *name) {
    int i = name_get(&s->ix, name);
    return i >= 0 ? &s->v[i] : NULL;
}

/* Innermost binding of name, and the scope holding it. */
Binding *lookup(Lower *L, const char *name, Scope **where) {
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

Binding *bind(Scope *s, const char *name, Node *val, Loc loc) {
    Binding *b = lookup_in(s, name);
    if (!b) {
        Binding nb = {.name = name};
        name_put(&s->ix, name, s->n);
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
            if (v->shape.rank > NN_TENSOR_MAXRANK) { /* (a value inside a call may have more: a gather's) */
                char t[200];
                diag_error(L->d, nm->loc, "output '%s' is %s, %d axes; an output has at most %d", nm->name,
                           ir_type_str(L->g, v->dtype, &v->shape, t, sizeof t), v->shape.rank, NN_TENSOR_MAXRANK);
                continue;
            }
            OutputDecl o = {.name = nm->name, .loc = nm->loc, .value = v};
            VEC_PUSH(L->g->outputs, L->g->noutputs, L->g->capoutputs, o);
        }
    }
}

/* A param or input that no output and not the loss needs: never named, or
 * only in values that go nowhere (often a typo, or a term left out of the
 * loss). Its gradient is 0, so training leaves a param as it was. */
static void warn_unused(Lower *L) {
    dce_mark_live(L->g);
    for (int i = 0; i < L->nsyms; i++) {
        const Sym *s = &L->syms[i];
        if ((s->kind != SYM_PARAM && s->kind != SYM_INPUT) || s->broken)
            continue;
        const char *what = s->kind == SYM_PARAM ? "param" : "input";
        if (!s->leaf)
            diag_warning(L->d, s->loc, "%s '%s' is never used", what, s->name);
        else if (!s->leaf->mark)
            diag_warning(L->d, s->loc, "%s '%s' does not affect any output or the loss", what, s->name);
    }
    for (int i = 0; i < L->nbound; i++) {
        const struct Bound *b = &L->bound[i];
        if (!b->val->mark && !b->read)
            diag_warning(L->d, b->loc, "the value bound to '%s' here is never used", b->name);
    }
    ir_clear_marks(&L->g->top);
}

Graph *lower_program(Diag *d, int file, const AstList *prog, const LowerOptions *opt) {
    static const LowerOptions no_options;
    Lower L = {.d = d, .opt = opt ? opt : &no_options, .main_file = file};
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
    if (L.import_failed)
        return NULL; /* what it would have defined is missing: no follow-on errors */
    check_dim_binds(&L);
    check_def_params(&L, file);
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
    else if (d->nerrors == errors_before)
        warn_unused(&L);
    if (d->nerrors > errors_before)
        return NULL;
    return L.g;
}
