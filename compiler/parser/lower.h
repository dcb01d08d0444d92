/*
 * lower.h - the front end's private header: the state of lowering shared by
 * lower.c (names, scopes, the program), lower_decl.c (sizes, declarations,
 * imports), lower_expr.c (expressions, softmax methods) and lower_stmt.c
 * (statements, loops, def inlining).
 */
#ifndef LOWER_H
#define LOWER_H

#include "nngc.h"

#define MAX_INLINE_DEPTH 64
/* Def-body statements inlined in one program, at most: a def that calls
 * another twice, 20 levels deep, asks for 2^20 copies. */
#define MAX_INLINED_STATEMENTS 200000

/* ---------------------------------------------------------------- tables */

/* A hashed map from names to small integers (indices into an array held
 * elsewhere): scopes, the global names and a loop body's name uses are
 * looked up by it, so that lowering stays linear in the program's length. */
typedef struct NameIndex {
    struct NameSlot *slot; /* open addressing; a NULL name is a free slot */
    int n, cap;            /* cap a power of two (0 before the first put) */
} NameIndex;

/* The value stored for name, or -1. */
int name_get(const NameIndex *ix, const char *name);
/* Sets name's value (adds the name or replaces its value). */
void name_put(NameIndex *ix, const char *name, int val);

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
    bool broken; /* PARAM/INPUT whose shape had an error: uses are quiet NULLs */
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
    NameIndex ix;  /* name -> index in v */
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
    NameIndex symix; /* name -> index in syms */
    Scope *scope;  /* innermost */
    Builder b;     /* where new non-leaf nodes go (b.block), with diagnostics for ill-typed ones */
    LoopCtx *loop; /* innermost loop being lowered */
    Ast **inline_stack;
    int ninline;
    /* calls already inlined: a def applied to the same argument nodes
     * gives the same value (def bodies are pure and see only their
     * parameters and the globals), so the value is reused where visible */
    struct InlineMemo *memo;
    int nmemo, capmemo;
    int *memoslot;         /* hash of (def, args) -> memo index + 1; 0 = free */
    int nmemoslot;         /* a power of two */
    int64_t inlined;       /* def-body statements lowered so far (the growth budget) */
    bool over_budget;      /* reported once; later calls lower to NULL quietly */
    Dropped *dropped;
    int ndropped, capdropped;
    const char **imported; /* resolved paths already imported */
    int nimported, capimported;
    int nloss_acc;         /* number of `loss +=` seen */
    bool have_model;
    bool import_failed; /* the statements are not lowered: their errors would be follow-ons */
    NameIndex undefined;     /* names reported as undefined (a name, a dim): once each */
    int main_file;           /* the model's file (not an import's) */
    /* `name = expr` of the model's file, outside defs: a value no output
     * and not the loss needs gets a warning (lower.c, warn_unused) */
    struct Bound {
        const char *name;
        Loc loc;
        Node *val;
        bool read; /* read through its parts (stable_log), so live though val is not */
    } *bound;
    int nbound, capbound;
} Lower;

/* Reports "undefined WHAT 'name'" the first time for a name (true), and
 * nothing after (false): each use of a missing declaration is the same
 * mistake. An undefined function that the standard library defines gets
 * the import to add. */
bool report_undefined(Lower *L, Loc at, const char *what, const char *name);

/* lower.c: locations, global names, node helpers, scopes */
/* The span of a construct's name; of a declaration's name; where to
 * point for an expression (a binop's operator, a call's name). */
Loc name_loc(const Ast *a);
Loc decl_loc(const Diag *d, const Ast *a);
Loc best_loc(const Ast *a);
Sym *find_sym(Lower *L, const char *name);
/* lower_decl.c: every --dim names a dim of the program. */
void check_dim_binds(Lower *L);
void check_def_params(Lower *L, int file);
const char *stdlib_defining(Lower *L, const char *name);
const char *sym_kind_name(SymKind k);
const char *sym_kind_a(SymKind k);
bool is_builtin(const char *name);
/* Declares a global name; reports a duplicate (NULL). */
Sym *add_sym(Lower *L, const char *name, SymKind kind, Loc loc);
/* Typed nodes in the current block (L->b); NULL operand -> NULL quietly. */
Node *emit1(Lower *L, Op op, Node *a, Loc loc);
Node *emit2(Lower *L, Op op, Node *a, Node *b, Loc loc, Loc err_loc);
/* Leaves, typed and appended to the top block. */
Node *finish_leaf(Lower *L, Node *n);
Node *fconst(Lower *L, double v, Loc loc);
Node *iconst(Lower *L, int64_t v, Loc loc);
Node *fill(Lower *L, Shape shape, double v, Loc loc);
char *type_str(Lower *L, const Node *n, char *buf, size_t len);
/* An int literal turned float; any other int value is an error (what). */
Node *as_float(Lower *L, Node *n, const Ast *where, const char *what);
void push_scope(Lower *L, bool barrier);
void pop_scope(Lower *L);
Binding *lookup_in(Scope *s, const char *name);
/* Innermost binding of name (stopping at a def's barrier), and its scope. */
Binding *lookup(Lower *L, const char *name, Scope **where);
/* Binds (or rebinds) name in s. */
Binding *bind(Scope *s, const char *name, Node *val, Loc loc);

/* lower_decl.c: sizes (overflow-checked), shapes, declarations */
bool sz_add(Size a, Size b, bool sub, Size *out);
bool lower_size(Lower *L, const Ast *a, Size *out);
bool check_size_min(Lower *L, Size s, int64_t min_ok, Loc loc, const char *what);
bool lower_shape(Lower *L, const AstList *dims, Loc loc, bool allow_dynamic, Shape *out);
void declare_items(Lower *L, const AstList *items, int file, bool imported);

/* lower_expr.c: expressions (NULL after a reported error) */
Node *lower_name(Lower *L, Ast *a);
Node *lower_expr(Lower *L, Ast *a);

/* lower_stmt.c: statements and def inlining */
Node *inline_def(Lower *L, Sym *s, Ast *call, Node **args);
void lower_stmts(Lower *L, AstList *body);

#endif /* LOWER_H */
