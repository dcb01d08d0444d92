/*
 * nngc.h - the one internal header of the nngc compiler.
 *
 * The compiler is a pipeline of stages, one per file, each handing one whole
 * data structure to the next:
 *
 *   source text --(parser/lexer.l, parser/parser.y)--> AST
 *   AST --(parser/lower*.c: scopes, def inlining, imports, shape checks)--> IR
 *   IR --(passes/NAME.c)--> IR --(backend/)--> model.c + model.h
 *
 * One section per file below, as in chibicc's chibicc.h. Memory: everything
 * is allocated from one per-compilation arena (util.c) and freed at once.
 * User errors are diagnostics (diag.c) that carry a location; compiler bugs
 * are NN_ASSERT failures that name the compiler.
 */
#ifndef NNGC_H
#define NNGC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NNGC_VERSION "0.2.0"

/* ================================================================ util.c */

/* Zeroed memory from the compilation arena; dies on OOM. */
void *xalloc(size_t size);
/* Grows an arena block (old contents kept, new part zeroed). */
void *xrealloc(void *p, size_t old_size, size_t new_size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xsprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvsprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Frees everything xalloc returned. */
void xfree_all(void);

/* Edit distance of a and b, a swap of two neighbours counting as one edit
 * ("tahn" for "tanh"); past max it returns max + 1. */
int edit_distance(const char *a, const char *b, int max);
/* "Did you mean": guess_consider each candidate; best is the nearest one
 * edit away from name (two for names of 6 characters or more), with fewer
 * edits than name has characters ('x' gets no guess), or NULL. */
typedef struct Guess {
    const char *name;
    const char *best;
    int dist;
} Guess;
Guess guess_start(const char *name);
void guess_consider(Guess *g, const char *cand);

/* Appends x to a growable array (arr, n, cap), e.g. VEC_PUSH(b->nodes, b->n, b->cap, node). */
#define VEC_PUSH(arr, n, cap, x)                                                  \
    do {                                                                          \
        if ((n) == (cap)) {                                                       \
            int nc_ = (cap) ? 2 * (cap) : 8;                                      \
            (arr) = xrealloc((arr), sizeof(*(arr)) * (size_t)(cap),               \
                             sizeof(*(arr)) * (size_t)nc_);                       \
            (cap) = nc_;                                                          \
        }                                                                         \
        (arr)[(n)++] = (x);                                                       \
    } while (0)

/* Internal invariant: a compiler bug, never a user error. */
#define NN_ASSERT(c)                                                              \
    do {                                                                          \
        if (!(c))                                                                 \
            nn_internal_error(__FILE__, __LINE__, #c);                            \
    } while (0)
_Noreturn void nn_internal_error(const char *file, int line, const char *what);

/* Reads a whole file into the arena (NUL-terminated); NULL + errno on
 * failure (EFBIG past NN_MAX_SOURCE bytes: no program is that long). */
#define NN_MAX_SOURCE ((size_t)16 << 20)
char *read_file(const char *path, size_t *len);

/* ================================================================ diag.c */

typedef struct SourceFile {
    const char *path; /* as given on the command line / resolved import */
    const char *text; /* NUL-terminated */
    size_t len;
} SourceFile;

/* A source span: 1-based line and column of its first byte, byte offset and length. */
typedef struct Loc {
    int file; /* index into Diag.files; -1 for "no location" */
    int line, col;
    int off, len;
} Loc;

#define NO_LOC ((Loc){-1, 0, 0, 0, 0})

typedef struct DiagMsg DiagMsg; /* diag.c: one held diagnostic with its notes */

typedef enum { DIAG_WARN_SHOW, DIAG_WARN_OFF, DIAG_WARN_ERROR } DiagWarnings;

typedef struct Diag {
    SourceFile *files;
    int nfiles, capfiles;
    int nerrors;
    int nwarnings;
    int max_errors; /* stop reporting after this many (0 = 100) */
    DiagWarnings warnings; /* -w: none shown; -Werror: each one an error */
    bool quiet_notes;      /* the notes of a warning -w dropped */
    FILE *out;      /* where diagnostics go (stderr by default) */
    /* hold: collect diagnostics instead of printing them; diag_flush prints
     * them in source order (the driver holds, so that a stage that finds
     * errors walking backwards still reports them top to bottom) */
    bool hold;
    DiagMsg *held;
    int nheld, capheld;
    int nshown; /* errors diag_flush has printed */
} Diag;

void diag_init(Diag *d, FILE *out);
/* Prints the held diagnostics sorted by (file, offset), those without a
 * location first, each with its notes; the error limit applies in that
 * order. Nothing to do when none are held. */
void diag_flush(Diag *d);
/* Registers a source text; returns its file index. */
int diag_add_file(Diag *d, const char *path, const char *text, size_t len);
/* Reads path (rejecting binary files: NUL bytes or invalid control bytes)
 * and registers it; -1 (with an error reported) on failure. `from` is where
 * the file was asked for (an import), or NO_LOC. */
int diag_load_file(Diag *d, const char *path, Loc from);
/* "file:line:col: error: msg", the source line, and a caret under the span. */
void diag_error(Diag *d, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(Diag *d, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An indented "note:" attached to the previous diagnostic. */
void diag_note(Diag *d, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_verror(Diag *d, const char *kind, Loc loc, const char *fmt, va_list ap);
/* Merges two spans of the same file into one that covers both. */
Loc loc_merge(Loc a, Loc b);

/* ================================================================ AST (parser/) */

typedef enum {
    /* expressions */
    AST_NUM,    /* number literal: num, is_int (no '.', no exponent), ival */
    AST_NAME,   /* identifier: name */
    AST_BINOP,  /* a op b: op is '+', '-', '*', '/', '@'; a, b */
    AST_NEG,    /* -a */
    AST_INDEX,  /* a[b] */
    AST_CALL,   /* name(args...) [with approx]: name, args; approx (AST_APPROX) or NULL */
    AST_SHAPE,  /* [d1, d2, ...] shape literal (zeros([H])): args are dim exprs */
    AST_APPROX, /* softmax method after `with`: name, args are AST_KWARG */
    AST_KWARG,  /* name = a (name NULL for a positional argument); a is AST_NUM or AST_NAME */
    /* statements */
    AST_BIND,   /* name = a */
    AST_ACCUM,  /* name += a */
    AST_SETROW, /* name[b] = a */
    AST_FOR,    /* for name in a..b { body } */
    AST_RETURN, /* return a */
    /* declarations */
    AST_MODEL,     /* model name */
    AST_IMPORT,    /* import "name": name is the string without quotes */
    AST_DIM,       /* dim name = a | dim name max a (is_max) | dim name (open: a is NULL) */
    AST_PARAM,     /* param name : type [init a] [frozen]: type; a = init (AST_NAME/AST_CALL) or NULL; frozen */
    AST_INPUT,     /* input name : type */
    AST_OUTPUT,    /* output name */
    AST_OPTIMIZER, /* optimizer name(kwargs): args are AST_KWARG */
    AST_DEF,       /* def name(params) { body }: params are AST_NAME in args; body */
    AST_TYPE,      /* [float|int] [ '[' dims ']' ]: is_int; has_shape; args are dim exprs */
} AstKind;

typedef struct Ast Ast;

typedef struct AstList {
    Ast **v;
    int n, cap;
} AstList;

struct Ast {
    AstKind kind;
    Loc loc;          /* the whole construct; for binops, the operator token is op_loc */
    Loc op_loc;       /* AST_BINOP, AST_ACCUM, AST_INDEX: the operator token; AST_FOR: the `for` */
    const char *name; /* see AstKind */
    double num;       /* AST_NUM */
    int64_t ival;     /* AST_NUM when is_int */
    bool is_int;      /* AST_NUM: integer literal; AST_TYPE: int tensor */
    bool is_max;      /* AST_DIM: `max` form */
    bool has_shape;   /* AST_TYPE: a [..] part was written */
    bool frozen;      /* AST_PARAM */
    int op;           /* AST_BINOP */
    Ast *a, *b;       /* operands, see AstKind */
    Ast *type;        /* AST_PARAM, AST_INPUT: an AST_TYPE */
    Ast *approx;      /* AST_CALL: AST_APPROX or NULL */
    AstList args;     /* AST_CALL, AST_SHAPE, AST_APPROX, AST_OPTIMIZER, AST_DEF (params), AST_TYPE, AST_OUTPUT (AST_NAMEs) */
    AstList body;     /* AST_FOR, AST_DEF: statements */
};

Ast *ast_new(AstKind kind, Loc loc);
void ast_push(AstList *l, Ast *x);
/* Writes the items of l to out, one S-expression a line, e.g.
 * (bind h (call tanh (+ (@ Wx x) b))); for tests and debugging. */
void ast_print(const AstList *l, FILE *out);

/* parser/parser.y: parses one registered file. Returns the list of
 * top-level items (declarations and statements, in source order) as an
 * AstList in *out. Syntax errors are reported through d (all of them,
 * with recovery at statement boundaries); returns false if any. Nesting
 * deeper than NN_MAX_NESTING is an error, not a stack overflow. */
#define NN_MAX_NESTING 200
bool parse_file(Diag *d, int file, AstList *out);

/* ================================================================ IR (ir/) */

/* The axes of a tensor: NN_TENSOR_MAXRANK for what a program declares
 * and the runtime holds (params, inputs, outputs; == NNRT_MAXRANK), up to
 * NN_MAXRANK for the values a pass makes inside a call (the batch axis on
 * a value of 4, a nested loop's gradient stacks: [T, T, B, T, D]). */
#define NN_TENSOR_MAXRANK 4
#define NN_MAXRANK 6
/* the factors of NAME_predict's count of positions a graph notes (its
 * cross_entropy's axes and loops; Graph.pred_at) */
#define NN_PRED_FACTORS 32
#define NN_MAXDYN 4  /* == NNRT_MAXDYN */

/* A size: c + sum_i k[i] * dyn_i, where dyn_i is the i-th dynamic dim.
 * Sizes are affine in the dynamic dims; a product of two dynamic dims is
 * rejected by the front end. */
typedef struct Size {
    int64_t c;
    int64_t k[NN_MAXDYN];
} Size;

typedef struct Shape {
    int rank; /* 0 = scalar */
    Size d[NN_MAXRANK];
} Shape;

typedef enum { DT_F32, DT_I32 } DType;

/* Op flags */
#define OPF_ELEMWISE 1u /* elementwise (unary or broadcasting binary) on floats */
#define OPF_LEAF 2u     /* no operands */
#define OPF_SOFTMAX 4u  /* a softmax node: carries an Approx */
#define OPF_INT 8u      /* integer scalar arithmetic */
#define OPF_CHECKED 16u /* may fail at run time (index range): emitter emits a check */
#define OPF_RANDOM 32u  /* a random draw: cse never merges two, hoist never moves one out
                           of its loop, fold never evaluates one (docs/APPROX.md) */

/* The op table: X(NAME, "text", arity (-1 = variadic), flags). One line per
 * op; the enum, the names and the flags below are all built from it. */
#define NN_OPS(X)                                                                  \
    X(CONST, "const", 0, OPF_LEAF)                 /* float scalar constant f */     \
    X(ICONST, "iconst", 0, OPF_LEAF | OPF_INT)     /* int scalar constant i */       \
    X(PARAM, "param", 0, OPF_LEAF)                 /* param g->params[index] */      \
    X(INPUT, "input", 0, OPF_LEAF)                 /* input g->inputs[index] */      \
    X(DIM, "dim", 0, OPF_LEAF | OPF_INT)           /* int scalar, value size */      \
    X(INDEX, "index", 0, OPF_LEAF | OPF_INT)       /* loop index of loop */          \
    X(CARRY, "carry", 0, OPF_LEAF)                 /* carried value index of loop, at iteration start */ \
    X(FILL, "fill", 0, OPF_LEAF)                   /* tensor of shape filled with f */ \
    X(RANGE, "range", 0, OPF_LEAF)                 /* i32 [n]: size, size+1, ..., size+n-1 */ \
    X(IADD, "iadd", 2, OPF_INT)  /* int a + b: scalars, or an [n] vector and a scalar or [n] vector */ \
    X(ISUB, "isub", 2, OPF_INT)                    /* int a - b, as iadd */          \
    X(IMUL, "imul", 2, OPF_INT)                    /* int a * b, as iadd */          \
    X(CHECKIDX, "check_index", 2, OPF_INT | OPF_CHECKED) /* i, hi int, broadcast (as iadd) -> i: a \
                                    range error unless 0 <= i < hi, naming i, hi and the last axis's \
                                    position (--batch's example: a row at a per-example index) */ \
    X(ADD, "add", 2, OPF_ELEMWISE)                 /* a + b, broadcasting */         \
    X(SUB, "sub", 2, OPF_ELEMWISE)                                                   \
    X(MUL, "mul", 2, OPF_ELEMWISE)                                                   \
    X(DIV, "div", 2, OPF_ELEMWISE)                                                   \
    X(NEG, "neg", 1, OPF_ELEMWISE)                                                   \
    X(TANH, "tanh", 1, OPF_ELEMWISE)                                                 \
    X(RELU, "relu", 1, OPF_ELEMWISE)                                                 \
    X(SIGMOID, "sigmoid", 1, OPF_ELEMWISE)                                           \
    X(EXP, "exp", 1, OPF_ELEMWISE)                                                   \
    X(LOG, "log", 1, OPF_ELEMWISE)                                                   \
    X(SQRT, "sqrt", 1, OPF_ELEMWISE)                                                 \
    X(ABS, "abs", 1, OPF_ELEMWISE)                                                   \
    X(LOGSIGMOID, "log_sigmoid", 1, OPF_ELEMWISE) /* log(sigmoid(x)), finite for finite x: \
                                    the front end's form of log(sigmoid(x)), log(1 - sigmoid(x)) \
                                    and log(1 + exp(x)) (parser/lower_expr.c) */       \
    X(MATVEC, "matvec", -1, 0)   /* op(a) @ x [+ c]; a [M,K] (ta: a is [K,M]), x [K] -> [M] */ \
    X(MATMUL, "matmul", -1, 0)   /* op(a) @ op(b) [+ c] -> [M,N]; ta, tb transpose flags */ \
    X(BMM, "batch_matmul", 2, 0) /* a product per leading index: op(a_i) @ op(b_i) -> [B,M,N], a [B,M,K] \
                                    (ta: [B,K,M]) or one matrix for all, b [B,K,N] (tb: [B,N,K]) or one \
                                    (--batch's products of two per-example matrices) */ \
    X(TRANSPOSE, "transpose", 1, 0) /* [M,N] -> [N,M] */                             \
    X(DOT, "dot", 2, 0)          /* [D].[D] -> [] */                                 \
    X(ROW, "row", 2, OPF_CHECKED) /* a[i]: a [N,...] (f32 or i32), i int scalar -> [...] */ \
    X(GATHER, "gather", 2, OPF_CHECKED) /* a[ids]: a [V,...], ids int [n] -> [n,...] */ \
    X(SUM, "sum", 1, 0)          /* sum of all elements -> [] */                     \
    X(MEAN, "mean", 1, 0)        /* mean of all elements -> [] */                    \
    X(SUMAXIS, "sum_axis", 1, 0) /* sum over axis index */                           \
    X(MEANAXIS, "mean_axis", 1, 0) /* mean over axis index */                        \
    X(CONCAT, "concat", 2, 0)    /* join along axis 0 */                             \
    X(SOFTMAX, "softmax", 1, OPF_SOFTMAX)         /* over the last axis */          \
    X(LOGSOFTMAX, "log_softmax", 1, OPF_SOFTMAX)  /* over the last axis */          \
    X(XENT, "cross_entropy", 2, OPF_SOFTMAX | OPF_CHECKED) /* z [...,V], y int [...] -> [...] */ \
    X(BXENT, "binary_cross_entropy", 2, 0)        /* z [n], t [n] -> [] */          \
    X(SAMPLE, "sample", -1, OPF_RANDOM) /* y, i1.. int [] -> i32[k+1]: y, then k draws (k in i) from \
                                    the noise table over size words, from the stream of (the context's \
                                    seed and step, site index, loop indexes i1..): recomputing it in the \
                                    backward loop draws the same ids (passes/approx.c) */ \
    X(NEGLOSS, "neg_loss", 2, 0) /* z [n], ids i32 [n] -> []: on the segment o = index, len = i:   \
                                    softplus(-z[o]) + sum over o < j < o + len with ids[j] != ids[o] \
                                    of softplus(z[j]) (word2vec's loss) */ \
    X(NEGLOSSGRAD, "neg_loss_grad", -1, 0) /* z, ids, d [] -> [n]: d (sigmoid(z) - [j = o]) on the \
                                    segment, 0 at skipped samples and outside; z, ids, d1..dm: m \
                                    segments of len i from o, the s-th with d_s (passes/rows.c) */ \
    X(NCELOSS, "nce_loss", 2, 0) /* as neg_loss with d(w) = z - log(k q(w)) (q: the noise table), \
                                    k = len - 1: softplus(-d(ids[o])) + sum_j softplus(d(ids[j])); \
                                    no sample skipped (Mnih & Teh, log Z = 0) */ \
    X(NCEGRAD, "nce_grad", 3, 0) /* z, ids, d [] -> [n]: d (sigmoid(d(w)) - [j = o]) on the segment */ \
    X(SAMPLEDLOSS, "sampled_loss", 2, 0) /* as neg_loss with o = z - log q(ids): logsumexp(o) - o[o] \
                                    over the segment (Jean et al.; no sample skipped) */ \
    X(SAMPLEDGRAD, "sampled_grad", 3, 0) /* z, ids, d [] -> [n]: d (softmax(o) - [j = o]) on the segment */ \
    X(HIERPATH, "hier_path", 1, 0) /* y int [] -> i32[L]: the inner nodes of y's path in the       \
                                    model's Huffman tree over size words, root first, padded with \
                                    size - 1 (no inner node); L = i, the longest path allowed */ \
    X(HIERLABEL, "hier_labels", 1, 0) /* y int [] -> i32[L]: 1 - the bit taken at each node of the \
                                    path, -1 past its end */ \
    X(LOGISTICLOSS, "logistic_loss", 2, 0) /* z [n], t i32 [n] -> []: sum over t >= 0 of       \
                                    softplus(z) - t z (t = 1: softplus(-z)); t < 0 skipped */ \
    X(LOGISTICGRAD, "logistic_grad", 3, 0) /* z, t, d [] -> [n]: d (sigmoid(z) - t), 0 where t < 0 */ \
    X(CLASSIDS, "class_ids", 1, OPF_CHECKED) /* y int [] -> i32[L]: the ids of y's class (the model's \
                                    classes over size words, c = index of them), padded with its first \
                                    id; L = i, the largest class allowed */ \
    X(CLASSLOSS, "class_loss", 2, OPF_CHECKED) /* z [n], y int [] -> []: index 0: logsumexp of the \
                                    C class logits z[0..C) - z[class(y)]; index 1: logsumexp of the \
                                    class range's logits z[0..len) - z[y's place in it] */ \
    X(CLASSGRAD, "class_grad", 3, 0) /* z, y, d [] -> [n]: d (softmax - onehot) on the part read, 0 past it */ \
    X(BINCODE, "bin_code", 1, OPF_CHECKED) /* y int [] -> i32[n]: y's binary code (Oda et al.; code  \
                                    y - hybrid, hybrid = index, ids < hybrid: -1s), n = i bits; n > the \
                                    code's bits: its convolutional code punctured to n bits */ \
    X(BINSLOT, "bin_slot", 1, OPF_CHECKED) /* y int [] -> i32 []: y < hybrid (index) ? y : hybrid */ \
    X(BINLOGZ, "bin_logz", 2, OPF_CHECKED) /* z [n], y int [] -> []: binary's normalizer over the   \
                                    vocabulary (forward graph only): y < hybrid (index) ? 0 : log of \
                                    the sum over the valid codes of their n bits' probability under \
                                    logits z (nnrt_code_logz; size words); (batch) [T, n], [T] -> [T] */ \
    X(VMFLOSS, "vmf_loss", 2, 0) /* o [m], e [m] -> []: -log C_m(|o|) - o . e / |e| (von Mises-Fisher, \
                                    Kumar & Tsvetkov's approximation of C_m; e not differentiated) */ \
    X(VMFGRAD, "vmf_grad", 3, 0) /* o, e, d [] -> [m]: d (o / (v - 1 + sqrt((v+1)^2 + |o|^2)) - e / |e|) */ \
    X(LOGSUMEXP, "logsumexp", 1, 0)  /* log sum exp over the last axis: [..., V] -> [...] */ \
    X(PICK, "pick", 2, OPF_CHECKED)  /* z[..., y]: z [..., V], y int [...] -> [...] */ \
    /* gradient ops: built by autodiff (passes/autodiff.c) */                      \
    X(SIGN, "sign", 1, OPF_ELEMWISE)   /* -1, 0 or 1 (abs') */                       \
    X(STEP, "step", 1, OPF_ELEMWISE)   /* x > 0 ? 1 : 0 (relu') */                   \
    X(OUTER, "outer", 2, 0)      /* a [M], b [N] -> [M, N]: a_i b_j */               \
    X(BROADCAST, "broadcast", 1, 0) /* a to the node's preset shape, NumPy rules */  \
    X(EXPAND, "expand", 1, 0)    /* a with axis index inserted, to the preset shape */ \
    X(SUMTO, "sum_to", 1, 0)     /* a summed down to the preset shape (inverse of broadcast) */ \
    X(SLICE, "slice", 1, 0)      /* rows size .. size + shape.d[0] of a (axis 0), preset shape */ \
    X(RESHAPE, "reshape", 1, 0)  /* a's elements in order, f32 or i32, with the preset shape (as many) */ \
    X(SCATTERADD, "scatter_add", -1, OPF_CHECKED) /* zeros of the preset shape [V, ...] plus     \
                                    rows a at ids b (b int [] or [n]; repeats add up); with a third \
                                    operand h (passes/rows.c): row r is a[r] h[r / n], a of b's shape \
                                    [..., n], h [..., H], the outer products never stored */ \
    X(PICKGRAD, "pick_grad", 2, OPF_CHECKED) /* zeros of the preset shape [..., V] with a at    \
                                    [..., b] (b int, a's shape) */                   \
    X(SOFTMAXGRAD, "softmax_grad", 2, 0)   /* y = softmax(z), d: y * (d - rowsum(d * y)) */ \
    X(LOGSOFTMAXGRAD, "log_softmax_grad", 2, 0) /* y = log_softmax(z), d: d - exp(y) * rowsum(d) */ \
    /* the backend's choices, made visible by passes/select.c (docs/IR.md) */      \
    X(LINEARLSE, "linear_logsumexp", -1, 0) /* X [M,K], W [N,K] [, b [N]] -> [M]: logsumexp of   \
                                    the rows of X W^T + b, the logits never stored */ \
    X(LINEARPICK, "linear_pick", -1, OPF_CHECKED) /* X [M,K], W [N,K], y int [M] [, b [N]] -> [M]: \
                                    X[r] . W[y[r]] + b[y[r]], the logit of label y[r] */ \
    X(GATHERSUM, "gather_sum", 2, OPF_CHECKED)   /* sum_axis(gather(a, ids), 0), rows read in place */ \
    X(GATHERMEAN, "gather_mean", 2, OPF_CHECKED) /* mean_axis(gather(a, ids), 0), the same */ \
    X(MULSUM, "mul_sum", 2, 0) /* sum_axis(a * b, index), broadcasting, the product never stored */ \
    X(ROWSDOT, "rows_dot", 3, OPF_CHECKED) /* W [V, H], ids int [..., n], h [..., H] -> [..., n]:   \
                                    W[ids[..., j]] . h[...], the rows read in place (passes/rows.c) */ \
    X(ROWSWSUM, "rows_wsum", 3, OPF_CHECKED) /* W [V, H], ids int [..., n], g [..., n] -> [..., H]: \
                                    sum over j of g[..., j] W[ids[..., j]], the rows read in place */ \
    X(SCATTERROWS, "scatter_rows", -1, OPF_CHECKED) /* scatter_add never stored: only a sum of   \
                                    its loop reads it, adding rows a at ids b into the sum */ \
    X(SPARSESCATTER, "sparse_scatter_add", -1, OPF_CHECKED) /* scatter_add that lists the rows it \
                                    wrote (a param's gradient: rows not listed are zero) */ \
    X(FUSED, "fused", -1, 0)     /* elementwise chain in one loop: body in fused, ARG k = operand k */ \
    X(ARG, "arg", 0, OPF_LEAF)   /* in a fused body: operand index of the fused node */ \
    X(LOOP, "loop", -1, 0)       /* a scan; operands are the carries' initial values */ \
    X(LOOPOUT, "loopout", 1, 0)  /* result index of loop a (see Loop) */ \
    /* the placement stage's copies (--target=cuda; backend/place.c) */               \
    X(TODEVICE, "to_device", 1, 0) /* a host value a copied to the device, once per call */ \
    X(TOHOST, "to_host", 1, 0)   /* a device value a copied back to the host, at the end of a call */

typedef enum {
#define X(name, text, arity, flags) OP_##name,
    NN_OPS(X)
#undef X
        OP_COUNT
} Op;

extern const char *const op_name[OP_COUNT];
extern const int op_arity[OP_COUNT];
extern const unsigned op_flags[OP_COUNT];

/* Softmax approximation attached to softmax nodes (LANGUAGE.md `with`). */
typedef enum {
    APPROX_FULL, APPROX_SAMPLED, APPROX_NCE, APPROX_NEG, APPROX_CLASS,
    APPROX_HIER, APPROX_BINARY, APPROX_EMBED
} ApproxKind;

typedef struct Approx {
    ApproxKind kind;
    int64_t k;        /* sampled, nce, neg: samples; class: classes; binary: ecc bits */
    int64_t hybrid;   /* binary: the most frequent words kept in a softmax (0: none) */
    bool share_batch; /* share = batch */
    double lambda1, lambda2; /* embed: the vMF loss's regularizers (0 and 1 by default); also on vmf_loss/vmf_grad */
    double lnz;       /* nce(lnz = c): the fixed log normalizer subtracted from the scores in training */
    bool lnz_set;     /* lnz given; else ln V (the normalizer of all-zero scores, faster-rnnlm's 9 at V = 8k) */
    double power;     /* sampled, nce, neg: the noise is counts^power (power_set; else 0.75, NNRT_NOISE_POWER) */
    bool power_set;
    Loc loc;          /* where it was chosen (NO_LOC if from --softmax) */
} Approx;

extern const char *const approx_name[]; /* indexed by ApproxKind */

typedef enum { PLACE_HOST, PLACE_DEVICE } Place;

typedef struct Node Node;
typedef struct Block Block;
typedef struct Loop Loop;
typedef struct Graph Graph;

struct Node {
    Op op;
    DType dtype;
    Shape shape;
    int id;           /* number for printing (%id); set by ir_number() */
    Loc loc;          /* source location it came from */
    const char *name; /* user variable it was bound to, for readability; may be NULL */
    int nin;
    Node **in;        /* operands */
    Block *parent;    /* the block that holds this node */
    Place place;      /* where the value lives (host until the CUDA backend) */
    /* attributes, by op (a field means nothing for the ops not listed;
     * builders leave it zero there, and cse compares every field) */
    double f;         /* CONST, FILL: the value; SAMPLE: the noise's power */
    int64_t i;        /* ICONST: the value */
    int index;        /* one small integer, whose meaning depends on the op:
                         PARAM, INPUT: declaration number (g->params, g->inputs);
                         CARRY, LOOPOUT: result number (Loop);
                         SUMAXIS, MEANAXIS, EXPAND: the axis;
                         ARG: the operand of the fused node it stands for */
    Size size;        /* DIM: the value; RANGE: the first value; SLICE: the first row */
    bool ta, tb;      /* MATVEC (ta), MATMUL and BMM (ta, tb): operand used transposed;
                         ARG (ta): a row ARG, read once per row of the fused loop */
    Loop *loop;       /* LOOP, INDEX, CARRY: the loop */
    Block *fused;     /* FUSED: the elementwise body in order, its last node the
                         result (a MATVEC/MATMUL bias c is its third operand in[2]) */
    Approx approx;    /* OPF_SOFTMAX ops */
    /* scratch of the pass that runs (meaningless between passes; each pass
     * clears what it uses, e.g. with ir_clear_marks / ir_clear_aux):
     * mark: dce live flags, autodiff active flags, fuse use counts
     * (ir_count_uses), batch classification bits; aux: batch's batched
     * value, cse's replacement, fuse's "taken into a body" */
    int mark;
    void *aux;
};

/* An ordered list of nodes; operands come before their users. */
struct Block {
    Node **nodes;
    int n, cap;
    int head;     /* free slots before nodes[0] in its array: ir_insert at 0 takes one (ir.c) */
    int nfirst;   /* nodes put before the first so far (ir_insert at 0): what moved the others on */
    Block *outer; /* enclosing block (NULL for the graph's top block) */
    Loop *loop;   /* the loop whose body this is (NULL for the top block) */
};

/* A loop as a scan (docs/IR.md). The index runs lo, lo+1, ..., hi-1.
 * Results (LOOPOUT index r of the LOOP node):
 *   r in [0, ncarry):                 final value of carry r
 *   r in [ncarry, ncarry+nstack):     stack s = r-ncarry: [hi-lo, ...] tensor
 *                                     of body value stack[s], one row per iteration
 *   r in [ncarry+nstack, +nsum):      sum of body value sum[s] over iterations
 * A carry's initial value is node->in[r]; in the body, carry[r] (an OP_CARRY
 * node) is its value at the start of an iteration, next[r] the value for the
 * next one. Body nodes may use any value of the enclosing blocks directly. */
struct Loop {
    Node *node;        /* the OP_LOOP node in the outer block */
    const char *var;   /* the index variable's name */
    Size lo, hi;
    bool reverse;      /* the index runs hi-1 down to lo (backward scans, autodiff) */
    bool beside;       /* a top-level loop that runs at the same time as the next
                          node, another loop, on a second thread (pass par) */
    Block body;
    Node *index;       /* the OP_INDEX node of this loop (in body) */
    int ncarry, capcarry;
    Node **carry;      /* OP_CARRY nodes */
    Node **next;       /* body values */
    int nstack, capstack;
    Node **stack;      /* body values */
    int nsum, capsum;
    Node **sum;        /* body values */
};

typedef struct DimDecl {
    const char *name;
    Loc loc;
    bool dynamic;
    int64_t value; /* the size, or the max when dynamic */
    int dyn;       /* index among dynamic dims, -1 when static */
    bool open;     /* `dim V`: value came from a DimBind (--dim, the vocabulary) */
} DimDecl;

typedef enum { INIT_DEFAULT, INIT_ZEROS, INIT_ONES, INIT_UNIFORM, INIT_NORMAL, INIT_GLOROT } InitKind;

typedef struct ParamDecl {
    const char *name;
    Loc loc;
    Shape shape; /* static */
    InitKind init; /* never INIT_DEFAULT after lowering: glorot for rank 2, zeros otherwise */
    double a, b;   /* uniform(a, b), normal(mean a, std b) */
    bool frozen;
} ParamDecl;

typedef struct InputDecl {
    const char *name;
    Loc loc;
    DType dtype;
    Shape shape;
    const char *shape_text; /* "[T + 1]" as written, for headers and messages */
} InputDecl;

typedef struct OutputDecl {
    const char *name;
    Loc loc;
    Node *value;
} OutputDecl;

typedef enum { OPT_NONE, OPT_SGD, OPT_ADAM, OPT_ADAGRAD } OptKind;

typedef struct OptimizerDecl {
    OptKind kind;
    double lr, beta1, beta2, eps; /* PyTorch's defaults where not given */
    double lazy;                  /* adam(lazy = 1): torch.optim.SparseAdam's update on tables' touched rows */
    Loc loc;
} OptimizerDecl;

/* ir/optim.c: what `optimizer NAME(...)` and --optimizer=NAME:... share.
 * optim_start: kind and PyTorch's defaults for the optimizer called
 * name[0..len) (sgd's lr NAN: required); false for an unknown name.
 * optim_args: its argument names in positional order (NULL-terminated);
 * optim_arg_index: the position of argument name[0..len), or -1;
 * optim_arg: the value of the argument at position i.
 * optim_check: the values as PyTorch checks them (lr >= 0, eps >= 0,
 * 0 <= beta < 1, all finite; sgd's lr given; lazy 0 or 1); false with a
 * message. */
bool optim_start(OptimizerDecl *o, const char *name, size_t len);
const char *const *optim_args(OptKind k);
int optim_arg_index(OptKind k, const char *name, size_t len);
double *optim_arg(OptimizerDecl *o, int i);
bool optim_check(const OptimizerDecl *o, char *err, size_t errlen);

struct Graph {
    const char *model; /* model name: prefix of generated symbols */
    Loc model_loc;     /* its `model NAME` line (line 0 when built by hand) */
    const char *source_path;
    DimDecl *dims;
    int ndims, capdims;
    int ndyn;
    ParamDecl *params;
    int nparams, capparams;
    InputDecl *inputs;
    int ninputs, capinputs;
    OutputDecl *outputs;
    int noutputs, capoutputs;
    Node *loss; /* scalar training objective, or NULL */
    /* after autodiff: grads[i] = d loss / d param i (param i's shape), in
     * the top block; NULL for a frozen param or one the loss does not
     * depend on (its gradient is zero). NULL array before autodiff. */
    Node **grads;
    OptimizerDecl opt;
    Block top;
    /* the positions NAME_predict gives, as the program as written counts
     * them (predict_note, before the passes): the product of pred_at[0
     * .. npred_at), the one cross_entropy's result and its loops' trip
     * counts (the first pred_rank of them its axes); pred_known false
     * when there is no such single term */
    bool pred_known;
    int npred_at, pred_rank;
    Size pred_at[NN_PRED_FACTORS];
};

/* Sizes */
Size size_const(int64_t c);
Size size_dyn(int dyn);
Size size_add(Size a, Size b);
Size size_sub(Size a, Size b);
/* a * b; false if both depend on dynamic dims (not affine). */
bool size_mul(Size a, Size b, Size *out);
bool size_eq(Size a, Size b);
bool size_is_const(Size a);
/* Value with every dynamic dim at its max (for buffer sizes); the minimum
 * over all legal dim values (1..max) in *min if min != NULL. */
int64_t size_max(const Graph *g, Size a, int64_t *min);
/* Text form using dim names: "T + 1", "2*T", "10". Returns buf. */
char *size_str(const Graph *g, Size a, char *buf, size_t n);
bool shape_eq(const Shape *a, const Shape *b);
/* "[T + 1, 64]" or "[]" */
char *shape_str(const Graph *g, const Shape *s, char *buf, size_t n);
/* Element count with dynamic dims at max. */
int64_t shape_max_count(const Graph *g, const Shape *s);
/* "f32[T, 64]", "i32[]" (buf of n bytes; returns buf). */
char *ir_type_str(const Graph *g, DType dt, const Shape *s, char *buf, size_t n);
/* An int scalar (i32, rank 0)? False for NULL. */
bool ir_is_int_scalar(const Node *n);
/* a and b are the same op with the same attributes, type and number of
 * operands (the operands not compared: cse's equality, less them). */
bool ir_same_attrs(const Node *a, const Node *b);
/* op_name[op], or "?" for an out-of-range op (broken graphs are printed too). */
const char *ir_opname(int op);

/* Building */
Graph *ir_new_graph(void);
/* A node with operands copied from in[0..nin); attributes zero; shape unset. */
Node *ir_new_node(Op op, int nin, Node *const *in, Loc loc);
/* Computes n->dtype and n->shape from its operands and attributes (the one
 * place where each op's typing rule lives). On a mismatch returns false and
 * writes a message naming both shapes into err (the front end turns it
 * into a diagnostic at n->loc; the verifier into an internal error). */
bool ir_infer(const Graph *g, Node *n, char *err, size_t errlen);
void ir_append(Block *b, Node *n);
/* Inserts n before position pos of b. */
void ir_insert(Block *b, int pos, Node *n);
/* A new loop with its LOOP node (not yet appended) and OP_INDEX node (in body). */
Loop *ir_new_loop(Block *outer, const char *var, Size lo, Size hi, Loc loc);
/* Adds a carry with initial value init; returns the OP_CARRY node (in body).
 * Set loop->next[r] before the loop is finished. */
Node *ir_loop_add_carry(Loop *l, Node *init, const char *name);
/* Adds a stacked/summed result for body value v; returns its result number. */
int ir_loop_add_stack(Loop *l, Node *v);
int ir_loop_add_sum(Loop *l, Node *v);
/* The LOOPOUT node for result r (created, typed and appended to the block
 * holding the loop node). */
Node *ir_loop_result(Loop *l, int r, const char *name);
/* clone.c: a deep copy of g that shares no Node, Block or Loop with it
 * (names and shape texts are shared: they never change). */
Graph *ir_clone(const Graph *g);
/* Replaces every use of old by new in g (operands, loop results, outputs, loss). */
void ir_replace_uses(Graph *g, Node *old, Node *new_);
/* The same for the pairs (olds[k], news[k]), k < n, in one walk of g (a
 * new one that is also an old, or an old twice: pair by pair, in order). */
void ir_replace_uses_many(Graph *g, Node *const *olds, Node *const *news, int n);
/* A hashed map from nodes to small integers (indices into an array held
 * elsewhere), for passes that must not search lists (compile time stays
 * linear in the graph). Zero-initialized = empty. uses.c. */
typedef struct NodeIndex {
    struct NodeSlot *slot;
    int n, cap;
} NodeIndex;
/* Pairs collected for one ir_replace_uses_many at the end of a pass;
 * which: old -> its pair's number. Zero-initialized = empty. */
typedef struct Replacements {
    Node **olds, **news;
    int n, cap, nnews, capnews;
    NodeIndex which;
} Replacements;
/* Adds the pair (old, new); an old already there keeps its first new one
 * (as pair by pair in order would: once that is applied, no old is left). */
void ir_repl_add(Replacements *r, Node *old, Node *new_);
void ir_repl_apply(Graph *g, const Replacements *r);
/* The pairs applied to loop l only: its node's operands (the carries'
 * initial values), its body and its next, stacked and summed values. For
 * pairs none of whose new ones is an old, and olds l cannot use elsewhere
 * (its body's values) or pairs whose rest of the graph is walked later
 * (batch.c puts off the replacement of each loop's results). */
void ir_repl_apply_loop(const Replacements *r, Loop *l);
/* n becomes op with operands in[0..nin), in place (its users keep it);
 * ta, tb and index cleared, its type left for the caller to check. */
void ir_rewrite(Node *n, Op op, int nin, Node *const *in);
/* Is x a row op of a fused loop over shape s (fuse.c, docs/IR.md): expand
 * along s's last axis, or pick_grad, of shape s, whose operands hold one
 * value per row of s (s less its last axis; f32, pick_grad's labels i32)? */
bool ir_column_of(const Shape *c, const Shape *s);
bool ir_row_op(const Node *x, const Shape *s);

/* ---- builder.c: the one node builder (every stage that makes nodes) */

/* What happens when ir_infer rejects a node being built. */
typedef enum {
    BUILD_ASSERT, /* a pass's own invariant: internal error naming the stage */
    BUILD_DIAG,   /* the front end: a diagnostic at the given source location */
    BUILD_TRY,    /* a pass trying a rewrite: NULL, nothing said */
} BuildPolicy;

/* An insertion point (block, position) with a typing error policy. */
typedef struct Builder {
    Graph *g;
    Block *block;
    int pos;               /* next node goes before this position (then pos++); -1: at the end */
    BuildPolicy on_error;
    Diag *diag;            /* BUILD_DIAG */
    const char *stage;     /* BUILD_ASSERT: named in the internal error ("autodiff") */
} Builder;

Builder build_at(Graph *g, Block *b, int pos, BuildPolicy on_error, const char *stage);
/* A node with operands in[0..nin), untyped and unplaced (set attributes,
 * then build_put); NULL when an operand is NULL (an earlier error). */
Node *build_new(Op op, int nin, Node *const *in, Loc loc);
/* Types n by ir_infer; on a rejection applies b's policy (err_loc is
 * where a BUILD_DIAG diagnostic points) and returns false. */
bool build_type(Builder *b, Node *n, Loc err_loc);
/* Puts an already typed n at b's insertion point. */
void build_place(Builder *b, Node *n);
/* build_type + build_place; NULL (n NULL, or rejected) or n. */
Node *build_put(Builder *b, Node *n, Loc err_loc);
/* build_new + build_put, the error at loc. */
Node *build_op(Builder *b, Op op, int nin, Node *const *in, Loc loc);
Node *build_op1(Builder *b, Op op, Node *x, Loc loc);
Node *build_op2(Builder *b, Op op, Node *x, Node *y, Loc loc);
/* A leaf (no operands) typed and put in the top block, at its end or at
 * its head, where every loop can see it. */
Node *build_leaf(Builder *b, Node *n, bool at_head);
/* Leaves, untyped and unplaced (build_leaf them). */
Node *ir_const(double v, Loc loc);
Node *ir_iconst(int64_t v, Loc loc);
Node *ir_fill(const Shape *s, double v, Loc loc);
Node *ir_dim(Size s, Loc loc);
/* An ICONST when s is static, else a DIM. */
Node *ir_size_node(Size s, Loc loc);

/* ---- uses.c: uses, loop results, scratch fields */

/* Node.mark = 0 (Node.aux = NULL) for every node of b and the blocks in it. */
void ir_clear_marks(Block *b);
void ir_clear_aux(Block *b);
/* Uses of x as a result (next, stacked or summed value) of loop l. */
int ir_result_uses(const Loop *l, const Node *x);
/* Uses of x in b and the blocks nested in it (operands and nested loops' results). */
int ir_block_uses(const Block *b, const Node *x);
/* The position of n in b, or -1; looked for from hint on first (where it
 * was last seen, or a position it can only have moved on from as nodes
 * went in before it: no walk of the block per lookup). */
int ir_block_find(const Block *b, const Node *n, int hint);
/* Is block b the body of loop l, or a block inside it? */
bool ir_block_in_loop(const Block *b, const Loop *l);
/* Node.mark = the number of uses of each node (operands, loop results,
 * outputs, loss, grads). */
void ir_count_uses(Graph *g);
/* The body value behind result r of l (next, stacked or summed value). */
Node *ir_loop_value(const Loop *l, int r);
/* The LOOPOUT of result r of l in the block holding l, or NULL. */
Node *ir_loop_find_result(const Loop *l, int r);
/* ir_loop_find_result of every result of l, indexed by result number, in
 * one walk of l's block. */
Node **ir_loop_outs(const Loop *l);
/* The same from position pos of l's block on (at most l's node's position),
 * when it holds count LOOPOUTs of l: the walk stops after the last one
 * (many loops in a row: a walk of the block each was quadratic). */
Node **ir_loop_outs_at(const Loop *l, int pos, int count);
/* ir_loop_outs of every loop of b, in one walk of b: loops maps each LOOP
 * node of b to its row of the result. */
Node ***ir_block_loop_outs(const Block *b, NodeIndex *loops);
/* The position just after l's node and the LOOPOUTs that follow it; pos:
 * where l's node is, if known (else -1: searched). */
int ir_loop_results_end(const Loop *l, int pos);
/* What ir_loop_stack_of keeps of one loop from call to call, so that a
 * call costs about what it adds, not a walk of the loop's block or of its
 * results (a walk each made loops in a row, and bodies of thousands of
 * saved values, quadratic). Zero-initialized, then pos and nouts set; the
 * caller keeps pos right as nodes go in before the loop's node. */
typedef struct LoopSpan {
    int pos, nouts;    /* the loop's node's position in its block; its LOOPOUTs there */
    int run;           /* 1 + the number of LOOPOUTs right after its node (0: not known) */
    NodeIndex stacked; /* stack value -> its first stack number, for the first nstacked */
    int nstacked;
    Node **sums;       /* the sums' LOOPOUTs, once listed */
    int nsums, capsums;
    bool sums_listed;
} LoopSpan;
/* The LOOPOUT of a stacked result of body value v, added when there is
 * none (the sums' LOOPOUTs renumbered) at position pos of l's block (-1:
 * just after l's other results); *added (if not NULL) says which. span:
 * l's, if kept (else NULL: the block is walked). */
Node *ir_loop_stack_of(Loop *l, Node *v, int pos, LoopSpan *span, bool *added);
/* Adds a summed result of v; its LOOPOUT goes right after l's node. */
Node *ir_loop_sum_of(Loop *l, Node *v, const char *name);
/* NodeIndex (above, with Replacements): the value stored for n, or -1. */
int node_index_get(const NodeIndex *ix, const Node *n);
void node_index_put(NodeIndex *ix, const Node *n, int val);
/* Adds to counts (node -> number) the uses of each value in b and the blocks
 * nested in it, as ir_block_uses counts them: one walk for a pass that
 * would ask ir_block_uses about every value of a loop body. */
void ir_block_use_counts(const Block *b, NodeIndex *counts);
/* x's number in counts (0 when it has none). */
int ir_use_count(const NodeIndex *counts, const Node *x);

/* Printing and checking */
/* Deep enough for any program the parser accepts (NN_MAX_NESTING); a deeper
 * structure can only be a cycle in a broken graph. */
#define MAX_LOOP_DEPTH (2 * NN_MAX_NESTING)
void ir_number(Graph *g);
/* The text form of docs/IR.md, preceded by "; ---- IR dump <header> ----"
 * (header is e.g. "after lower"). */
void ir_print(Graph *g, FILE *out, const char *header);
void ir_dot(Graph *g, FILE *out);
/* Checks structure, operand order/scoping and typing; on failure prints
 * "nngc: internal error: IR verifier (after PASS): %id ..." to err and
 * returns false. */
bool ir_verify(Graph *g, const char *after, FILE *err);

/* ================================================================ parser/lower*.c */

/* A size for a dim from outside the program: `--dim NAME=N`, or nngc
 * train's vocabulary (docs/LANGUAGE.md, "Open dims"). */
typedef struct DimBind {
    const char *name;
    int64_t value;
    bool if_open;       /* the vocabulary's: sizes an open dim only, else ignored */
    const char *origin; /* for messages: "--dim V=5", "the vocabulary", ... */
    bool used;          /* set by lowering: it gave an open dim its size */
} DimBind;

typedef struct LowerOptions {
    DimBind *dims;                   /* the sizes of open dims (and checks of the others) */
    int ndims;
    bool dims_dynamic_ok;            /* a DimBind may name a dynamic dim (nngc run's value of it) */
    const char *const *include_dirs; /* -I paths, searched first */
    int ninclude;
    const char *stdlib_dir;          /* searched last */
    Approx default_approx;           /* --softmax */
    bool have_default_approx;
} LowerOptions;

/* Checks the program and builds its IR. Reports every error it finds
 * through d; returns NULL if there were any. */
Graph *lower_program(Diag *d, int file, const AstList *prog, const LowerOptions *opt);

/* Parses a method spec like "neg:k=3" or "binary:ecc=2" (for --softmax). */
bool approx_parse(const char *spec, Approx *out, char *err, size_t errlen);

/* ================================================================ passes/ */

/* What every pass gets (Lua's FuncState is the model: one context handed
 * down instead of a growing parameter list). */
typedef struct PassCtx {
    Graph *g;
    Diag *diag;         /* user-facing diagnostics; NULL: to stderr without source lines */
    FILE *report;       /* --report=NAME sink for the pass named; NULL when not asked */
    const char *target; /* --target=NAME; NULL = C (par runs only for C) */
} PassCtx;

/* Each pass states its preconditions at the top of its file. */
void pass_hoist(PassCtx *pc); /* hoist.c: loop-invariant code motion */
void pass_cse(PassCtx *pc);   /* cse.c: common subexpressions */
void pass_dce(PassCtx *pc);   /* dce.c: dead code, unused loop results */
/* dce.c: sets Node.mark on every value the outputs, the loss or the
 * gradients need (what dce keeps), 0 on the rest. */
void dce_mark_live(Graph *g);
/* The same from one root alone (autodiff: what the loss reads). */
void dce_mark_from(Graph *g, Node *root);
void pass_fuse(PassCtx *pc);  /* fuse.c: bias adds into GEMM, elementwise chains into one loop */
void pass_fold(PassCtx *pc);  /* fold.c: constant folding */
void pass_softmax(PassCtx *pc); /* softmax.c: lowers softmax nodes (full: logsumexp - pick) */
/* batch.c: batching and loop fission; with pc->report, lists what stays in
 * loops and why */
void pass_batch(PassCtx *pc);
/* rows.c: gathered rows read in place (rows_dot, rows_wsum) and outer
 * products scattered without being stored (scatter_add's third operand) */
void pass_rows(PassCtx *pc);
void pass_select(PassCtx *pc); /* select.c: the backend's choices as IR ops (linear_logsumexp, ...) */
/* par.c: two independent top-level loops made neighbours, the first marked
 * `beside` (run at the same time); with pc->report, the pairs and why not */
void pass_par(PassCtx *pc);
/* autodiff.c: reverse-mode autodiff. Appends the backward graph of g->loss
 * to g's top block and sets g->grads (one entry per param; NULL for frozen
 * params and params the loss does not depend on). Run it first on the
 * train graph T, before any other pass (the driver's autodiff stage).
 * Returns false, after reporting "file:line:col: error: no gradient for
 * OP" through d, when an op on the path from a param to the loss has no
 * gradient rule; g->grads is then NULL. */
bool autodiff(Graph *g, Diag *d);
/* approx.c: the objective stage's lowerings of the softmax approximations.
 * train (T, before autodiff): each cross_entropy with a method it
 * implements (neg) becomes that method's loss. !train (F): a sampling
 * method's cross_entropy becomes the exact one. A method without a
 * lowering is an error through d (on F only when report); flag is
 * --softmax's text for the message. counts[ncounts] (NULL: unknown): the
 * word counts known at compile time; hier's paths get their tree's
 * longest length. False after an error. */
bool approx_lower(Graph *g, Diag *d, const char *flag, const int64_t *counts, int64_t ncounts, bool train,
                  bool report);
/* hier: the longest path in a Huffman tree a model accepts when its counts
 * come at run time only (NAME_set_counts; word2vec's MAX_CODE_LENGTH) */
#define NN_HIER_MAX_PATH 40
/* binary(ecc = n): the convolutional code's flush bits (nnrt_approx.h's
 * NNRT_ECC_K - 1): b code bits become 2 (b + NN_ECC_FLUSH) */
#define NN_ECC_FLUSH 6
/* sampled, nce, neg: the noise distribution's default power (== the
 * runtime's NNRT_NOISE_POWER, word2vec's unigram^0.75) */
#define NN_NOISE_POWER 0.75
/* vectorize.c: the program over one example becomes one over `batch`
 * examples (--batch=B; docs/IR.md): inputs get a leading axis, each op its
 * batching rule, the loss is the sum over the batch (mean: the mean). Run
 * on F right after lowering, before autodiff. Reports what it cannot batch
 * through d and returns false; with report, one line per node. */
bool vectorize(Graph *g, int64_t batch, bool mean, Diag *d, FILE *report);
/* backend/predict.c: notes in g (pred_at) how many positions the program
 * as written predicts, before the passes move its cross_entropy. */
void predict_note(Graph *g);
/* stats.c: one line of counts (nodes, loops, GEMM/GEMV, executed ops) */
void ir_stats(const Graph *g, FILE *out, const char *after);

#endif /* NNGC_H */
