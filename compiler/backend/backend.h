/*
 * backend.h - the backend's internal header: what its files share.
 *
 * The C backend writes model.c and model.h from the final IR.
 *
 * The generated API is the one of docs/API.md. model.c holds, in order:
 *
 *   struct NAME { params, optimizer state, NAME_ctx *ctx }: what threads
 *                 share, and the built-in context
 *   struct NAME_ctx { model, params, arena, grads, touched rows }: one
 *                 caller's scratch (context.c)
 *   the descriptor tables (dims, params, inputs, outputs)
 *   NAME_ctx_forward: checks (dims, negative sizes, NULL inputs), then one
 *                 statement group per IR node, in the IR's order
 *   NAME_ctx_grad: with a train graph (emit_c's `train`, the program with
 *                 its backward pass appended by autodiff): the same walk
 *                 over that graph, then each gradient copied to m->grads
 *                 In both, the context is called `m`: the node code reads
 *                 m->params and writes m->arena, m->grads, m->touchedI.
 *   NAME_ctx_create/destroy, NAME_forward/grad (in the built-in context),
 *                 grad_data, grad_accumulate (context.c)
 *   NAME_create/destroy/init_params/save/load/param
 *   NAME_update/train_step/set_lr: the optimizer's update per param from a
 *                 context's gradients through runtime/optim.c (state in
 *                 m->opt, saved with the params under "__opt__/..." names);
 *                 train_step is NAME_grad, then NAME_update
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
 * region of one arena, allocated by NAME_ctx_create with every dynamic dim at its
 * maximum, so NAME_forward never allocates. plan_memory() (memplan.c) is
 * the one place that assigns arena offsets, reusing dead values' regions.
 *
 * Sizes are affine in the dynamic dims (Size in nngc.h). They are printed as
 * C expressions over the locals d_<dim> that NAME_forward reads from its
 * inputs after checking them, so extents are computed at run time and
 * buffers are sized for the worst case.
 *
 * Errors. Everything the backend cannot handle is found by check_graph()
 * (asking the target's supports_op) before a byte is written, and reported
 * through the Diag ("file:line:col: error: ..." with the source line);
 * compiler bugs are NN_ASSERTs.
 *
 * Files, one concern each:
 *   emit_c.c    the entry point: walk, checks, plan, then the files in order
 *   walk.c      emission order, use counts, gradients' placement in
 *               m->grads, sparse table gradients
 *   check.c     what the C backend rejects (ops, shapes, sizes), asking the target
 *   names.c     which user names may appear in the generated C
 *   memplan.c   arena offsets of every buffer, by liveness with reuse
 *   text.c      writing C: lines, literals, sizes as C expressions, node kinds
 *   forward.c   NAME_forward / NAME_grad (checks, then one group per node)
 *   api.c       model.h, the descriptor tables, create/destroy/init/save/
 *               load/param and the descriptor's generic entry points
 *   context.c   contexts: struct NAME_ctx's functions, NAME_forward/grad in
 *               the built-in one, grad_data, grad_accumulate, the generic
 *               forward/grad and context entry points of the descriptor
 *   predict.c   NAME_predict: where the forward pass decodes the most likely
 *               words (runtime/decode.c), and the entry points
 *   train.c     NAME_update / train_step / set_lr, optimizer state tables
 *   c_target.c  the per-node dispatch into the op families below
 *   c_elem.c    elementwise ops, fused chains, broadcast/expand/sum_to, fill
 *   c_blas.c    matvec, matmul (BLAS), transpose, dot, outer
 *   c_reduce.c  sums, means, softmax, log-softmax, cross-entropy, logsumexp,
 *               picks, linear_logsumexp, linear_pick
 *   c_gather.c  row, gather, gather_sum/mean, scatter_add (and its rows and
 *               sparse forms), pick_grad, concat, slice, index checks
 *   c_leaf.c    constants, params, inputs, dims, int arithmetic
 *   c_loop.c    loops, carries and loop results
 *   c_task.c    two loops at the same time (pass par): their tasks, nnrt_par2
 *   cu_*.c      the CUDA target (--target=cuda): cu_target.c its Target and
 *               per-node code, cu_kernels.c the kernels it generates,
 *               cu_loop.c loops, cu_api.c its hooks into the API above
 *   place.c     the placement stage of --target=cuda (called by the driver)
 */
#ifndef NNGC_BACKEND_H
#define NNGC_BACKEND_H

#include "emit.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Arena regions start on 64-byte boundaries (16 floats): cache lines, and
 * what SIMD loads in BLAS like best. */
#define ALIGN_FLOATS 16

/* ================================================================ context */

/* One arena region of the memory plan (memplan.c). Positions are indices
 * into Ctx.all; x->nall stands for the end of the function. */
typedef struct MemBuf {
    int64_t len;    /* floats, a multiple of ALIGN_FLOATS */
    int64_t off;    /* arena offset, in floats */
    int start, end; /* live from its first write (start) to its last read (end) */
    bool exclusive; /* never shares its region: outputs, loop buffers */
    int64_t *dst;   /* where the offset goes (NodeInfo.off, a loop's carry_off[r], ...) */
} MemBuf;

typedef struct MemPlan {
    MemBuf *bufs;
    int nbufs, capbufs;
    int64_t unshared_floats; /* the arena without reuse: every buffer's length */
    int64_t peak_floats;     /* the most floats live at one time (a lower bound of the arena) */
} MemPlan;

/* What the emitter knows about one node, kept in Node.aux while it runs. */
typedef struct NodeInfo {
    int uses;    /* operand, loop result, output and loss references */
    int64_t off; /* arena offset in floats of the node's own buffer, -1 if none */
    /* LOOP nodes: arena offsets of the loop's buffers, one per carry (and a
     * temporary per carry, -1 if the carry needs none), stack and sum */
    int64_t *carry_off, *tmp_off, *stack_off, *sum_off;
    /* train graph: the param whose gradient this value is, computed straight
     * into m->grads (for LOOP nodes: per sum, -1 where none) */
    int grad_of;
    int *sum_grad_of;
    /* memory plan: position in Ctx.all; LOOP nodes: position of the last
     * node of the body; the node's buffer (NULL: none in the arena) */
    int pos, loop_end;
    MemBuf *buf;
    /* A body value computed in place in its row of its loop's stack
     * slot_stack (place_loops): row t - lo, or the next iteration's when
     * the stack holds a carry (walk.c, value_ptr_c). No buffer of its own,
     * no copy at the end of the iteration. slot_loop NULL: not in a stack. */
    const Node *slot_loop;
    int slot_stack;
    /* A matrix product whose third operand (the addend it starts from) is
     * a row of a buffer read by nothing else: the product accumulates in
     * that row, with no buffer of its own and no copy of the addend. */
    bool in_addend;
    /* A next value in two buffers, off and pp_off, one per parity of the
     * iteration: its carry points at the one the last iteration wrote,
     * instead of a copy. */
    bool pingpong;
    int64_t pp_off;
    /* LOOP nodes, per carry: carry_ptr[r], the carry is a pointer set to
     * its next value's memory at the end of each iteration (no copy);
     * carry_stack[r], the stack that holds the carry (its rows are the
     * carries: the next value goes into the row after), -1 if none. */
    bool *carry_ptr;
    int *carry_stack;
    /* LOOP nodes, per stack: the stack of a carry whose next value this
     * stack stacks (the same rows, one further on: no memory of its own),
     * -1 if none */
    int *stack_alias;
} NodeInfo;

typedef struct Ctx {
    Graph *g;
    FILE *c, *h;
    const char *src_name;    /* the .nn file, for #line and messages */
    const char *c_name;      /* the .c file, for the #line that ends a function */
    const char *header_name; /* what model.c #includes */
    bool line_markers;
    const int64_t *counts;   /* EmitOptions' --counts (c_approx.c), or NULL */
    int64_t ncounts;
    const char *counts_path;
    int c_lines; /* lines written to c so far, for #line "model.c" */
    int indent;
    bool ok;
    Node **all; /* every node, in emission order (loop bodies after their LOOP) */
    int nall, capall;
    NodeIndex sumto;        /* c_elem.c: fused node -> position in all of the sum_to it folds */
    Node **sumto_of;        /* the all (and nall) that sumto was made from */
    int sumto_n;
    int64_t arena_floats;   /* size of the arena */
    int64_t *param_off;     /* offset of each param in m->params, in floats */
    int64_t params_floats;  /* size of m->params */
    MemPlan plan;           /* the arena's buffers (memplan.c) */
    struct Ctx *train;      /* the train graph's context (forward + backward), or NULL */
    struct Predict *pred;   /* predict.c's findings (predict_find), NULL before */
    const struct Target *target; /* what writes each node's code */
    const char *fn;         /* the function being written: "ctx_forward", "ctx_grad" */
    Diag *diag;             /* where errors go */
    FILE *stats;            /* --stats: where a target reports what a call runs (NULL: not asked) */
} Ctx;

static inline NodeInfo *info(const Node *n)
{
    NN_ASSERT(n->aux);
    return n->aux;
}

/* A code generation target. The shared parts of the backend (walk, checks,
 * memory plan, API, training) call it for what differs by target: which ops
 * it compiles, each node's code, and the helpers its code needs. A target
 * keeps its per-op code in small files by op family (the C target's are
 * c_*.c, reached from one table in c_target.c). */
/* Where a device target adds code to the shared API (Target.hook): the
 * C target has none. */
typedef enum {
    HOOK_MODEL_FIELDS, /* struct NAME: more fields */
    HOOK_CTX_FIELDS,   /* struct NAME_ctx: more fields */
    HOOK_CTX_CREATE,   /* NAME_ctx_create, after the host allocations (c may be NULL) */
    HOOK_CTX_DESTROY,  /* NAME_ctx_destroy, before the host memory is freed */
    HOOK_DESTROY,      /* NAME_destroy, before the host memory is freed */
    HOOK_PARAMS_SET,   /* NAME_init_params: the host params are about to be written */
    HOOK_PARAMS_HOST,  /* before the host params are handed out (void *m; returns NULL on failure) */
    HOOK_CTX_CLEAR,    /* NAME_ctx_clear: the host gradients were zeroed */
    HOOK_GRADS_HOST,   /* before a context's host gradients are handed out (c; returns NULL on failure) */
    HOOK_ACCUMULATE,   /* NAME_grad_accumulate, before it adds dst's and src's host gradients */
    HOOK_CALL_BEGIN,   /* NAME_ctx_forward/grad: after the checks, before the first node */
    HOOK_CALL_END,     /* after the last node, before the outputs are set */
} Hook;

typedef struct Target {
    const char *name;       /* for messages: "target 'c' does not support ..." */
    const char *abi_header; /* the runtime header the generated code includes */
    /* Can the target compile n? If not, a short reason in why[0..len). */
    bool (*supports_op)(const Graph *g, const Node *n, char *why, size_t len);
    /* The code of node n (its variable, then the statements computing it). */
    void (*emit_node)(Ctx *x, Node *n);
    /* Definitions the generated functions need, before the first of them. */
    void (*emit_prelude)(Ctx *x);
    /* A device target: values and gradients live in device memory; the
     * hooks add its code to the shared API, emit_update writes NAME_update.
     * NULL for the C target. */
    void (*hook)(Ctx *x, Hook where);
    void (*emit_update)(Ctx *x);
} Target;

extern const Target target_c;
extern const Target target_cuda; /* cu_target.c */

/* The target's code at a hook, if it has any. */
static inline void target_hook(Ctx *x, Hook where)
{
    if (x->target->hook)
        x->target->hook(x, where);
}

#define hline(x, ...) fprintf((x)->h, __VA_ARGS__)

/* Optimizer state tensors: per updated param "m" and "v" (Adam) or "sum"
 * (Adagrad) at offsets into m->opt (Adam: m in [0, P), v in [P, 2P), P the
 * params' size), then Adam's "__opt__/step" (offset -1: the field
 * m->opt_step). */
typedef struct StateTensor {
    char *name;
    int param;   /* its param, -1 for the step */
    int64_t off; /* in m->opt */
} StateTensor;


/* Emits every node of b in order. */
void emit_block(Ctx *x, Block *b);
/* predict.c: NAME_predict (find the site, decode in the forward pass, the API) */
void predict_find(Ctx *x);
bool predict_decodes(Ctx *x);
void predict_wrap(Ctx *x, bool on);
void predict_struct_fields(Ctx *x);
void predict_decls(Ctx *x);
void predict_api(Ctx *x);
void predict_generic(Ctx *x);
/* The op families (c_*.c): the code of node n, whose variable is v. */
void c_emit_elem(Ctx *x, Node *n, const char *v);
void c_emit_blas(Ctx *x, Node *n, const char *v);
void c_emit_reduce(Ctx *x, Node *n, const char *v);
void c_emit_gather(Ctx *x, Node *n, const char *v);
void c_emit_leaf(Ctx *x, Node *n, const char *v);
void c_emit_loop(Ctx *x, Node *n, const char *v);

/* ---- api.c */
void emit_header(Ctx *x);
void emit_model_struct(Ctx *x);
void emit_tensor_desc(Ctx *x, const char *name, DType dt, const Shape *s, const char *text);
void emit_tables(Ctx *x);
void emit_api(Ctx *x);

/* ---- context.c */
int64_t touched_cap(Ctx *t, int i);
void emit_ctx_api(Ctx *x);
void emit_ctx_wrappers(Ctx *x);
void emit_ctx_desc(Ctx *x);

/* ---- c_elem.c */
char *suffix_index(Ctx *x, const Node *op, const Node *res);
char *elem_code(Op op, const char *a, const char *b, bool device);
char *bcast_expr(Ctx *x, const Shape *a, const Shape *out, bool flat);
char *int_operand_at(Ctx *x, const Node *o, const Node *n);

/* ---- c_gather.c */
void emit_index_check(Ctx *x, const Node *n, const char *idx, const char *bound);
void emit_index_check_of(Ctx *x, const Node *n, const char *idx, const char *bound, const char *example);
void emit_scatter_rows(Ctx *x, const Node *n, const char *dst, bool zero_first, int list);
void emit_zero_touched(Ctx *x, const char *dst, int i, const char *rowc);
/* Does NAME_train_step apply param i's SGD step in its gradient's scatter
 * (m->sgd_fused, m->left<i>)? */
bool sgd_in_scatter(Ctx *t, int i);

/* ---- c_loop.c */
void emit_loop(Ctx *x, Node *n);
void emit_loop_bufs(Ctx *x, Node *n, bool init);
/* c_target.c: the variable of a node with a buffer, pointed at it */
void c_decl_buffer(Ctx *x, const Node *n);
/* c_task.c: loops marked beside (pass par) as two tasks of nnrt_par2 */
void emit_tasks(Ctx *x, const char *fn);
bool l_beside_partner(const Node *n);
void emit_loop_pair(Ctx *x, Node *n);

/* ---- c_reduce.c */
char *label_c(const Node *y);
/* a's rows along its last axis: *len elements each, *rows of them (a scalar: one of one) */
void last_axis_rows(Ctx *x, const Node *a, char **len, char **rows);
void emit_label_rows(Ctx *x, const Node *n, const char *rows, const Node *b, const char *len, const char *body);

/* ---- c_approx.c: the softmax approximations' ops and model state */
void c_emit_approx(Ctx *x, Node *n, const char *v);
/* The entries of a target's table of ops (c_family, cu_family) that send
 * every op of the softmax approximations to fn: one list for both. */
#define APPROX_OPS(fn)                                                                                            \
    [OP_SAMPLE] = fn, [OP_NEGLOSS] = fn, [OP_NEGLOSSGRAD] = fn, [OP_HIERPATH] = fn, [OP_HIERLABEL] = fn,         \
    [OP_LOGISTICLOSS] = fn, [OP_LOGISTICGRAD] = fn, [OP_NCELOSS] = fn, [OP_NCEGRAD] = fn, [OP_SAMPLEDLOSS] = fn, \
    [OP_SAMPLEDGRAD] = fn, [OP_CLASSIDS] = fn, [OP_CLASSLOSS] = fn, [OP_CLASSGRAD] = fn, [OP_BINCODE] = fn,      \
    [OP_BINSLOT] = fn, [OP_VMFLOSS] = fn, [OP_VMFGRAD] = fn, [OP_BINLOGZ] = fn
int64_t c_path_pad(const Node *ids); /* hier paths' pad id, C_PAD_RANGE (class ranges), or -1 */
#define C_PAD_RANGE (-2)              /* the runtime's NNRT_PAD_RANGE */
const char *c_pad_text(int64_t pad);  /* pad as the generated C writes it */
bool c_uses_samples(const Ctx *x);
bool c_approx_includes(const Ctx *x); /* the model has structures from word counts */
bool c_approx_header(const Ctx *x);   /* its C includes nnrt_approx.h */
void c_approx_check(Ctx *x);
void c_approx_struct(Ctx *x, bool ctx);
void c_approx_prelude(Ctx *x);
void c_approx_create(Ctx *x, int what); /* 0: NAME_create, 1: NAME_ctx_create, 2: NAME_destroy */
void c_approx_api(Ctx *x, bool header);

/* ---- the CUDA target (cu_*.c; docs/CUDA.md) */
/* cu_target.c: `if ((rc = CALL) != NNRT_OK) return rc;` */
__attribute__((format(printf, 2, 3))) void cu_call(Ctx *x, const char *fmt, ...);
void cu_count_bytes(Ctx *x, int64_t bytes); /* --stats: the bytes of the zero fill just counted */
bool cu_sparse_grad(Ctx *t, int i);         /* cu_api.c: param i's gradient sparse on the device */
/* cu_kernels.c: the kernel generated for a node, its name and launch arguments */
bool cu_has_kernel(const Node *n);
char *cu_kernel_grid(Ctx *x, const Node *n);
char *cu_kernel_name(Ctx *x, const Node *n);
bool cu_kernel_checks(const Node *n);
bool cu_mulsum_gemm(const Node *n, const Node **x, const Node **w, bool *batched);
char *cu_kernel_args(Ctx *x, const Node *n);
void cu_emit_kernel(Ctx *x, Node *n);
/* cu_loop.c */
void cu_emit_loop(Ctx *x, Node *n);
void cu_loop_prelude(Ctx *x);
/* cu_approx.c: the softmax approximations' ops (cu_target.c's table says
 * which); the model's device structures (what 0: its fields, 1: their
 * upload in NAME_params_dev, 2: their free) */
void cu_emit_approx(Ctx *x, Node *n, const char *v);
void cu_approx_api(Ctx *x, int what);
/* cu_target.c: --stats' static counts of a call (cu_count_*), as the code
 * is written: each runtime call and launch once, outside any loop or per
 * iteration of its innermost loop */
void cu_count_begin(Ctx *x);                /* a call's code begins */
void cu_count_call(Ctx *x, const char *call); /* "nnrt_cuda_copy(...", "NNRT_LAUNCH(..." */
void cu_count_loop(Ctx *x, int loop_id);    /* the body of loop %loop_id begins; -1: it ended */
void cu_count_report(Ctx *x, int downloads);  /* the call's code ends: one line to x->stats */
/* cu_api.c: Target.hook, Target.emit_update and the helpers they call */
void cu_hook(Ctx *x, Hook where);
void cu_emit_update(Ctx *x);
void cu_api_prelude(Ctx *x);

/* ---- names.c */
void check_name(Ctx *x, const char *what, const char *name, Loc loc);
void check_model_name(Ctx *x, const char *name, Loc loc);

/* ---- check.c */
bool broadcasts_to(const Shape *a, const Shape *out);
void check_graph(Ctx *x);

/* ---- forward.c */
void emit_forward(Ctx *x, bool grad);

/* ---- memplan.c */
void plan_memory(Ctx *x);
void plan_report(Ctx *x, FILE *out, const char *what);

/* ---- text.c */
__attribute__((format(printf, 2, 3))) void craw(Ctx *x, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void cline(Ctx *x, const char *fmt, ...);
__attribute__((format(printf, 3, 4))) void emit_error(Ctx *x, Loc loc, const char *fmt, ...);
char *c_escape(const char *s, bool for_format);
char *comment_safe(const char *s);
char *loc_fmt(Ctx *x, Loc loc);
int64_t size_lo(const Graph *g, Size s);
bool size_is_one(Size s);
char *int_lit(int64_t v);
char *size_c(Ctx *x, Size s);
char *count_c(Ctx *x, const Shape *s, int from);
/* `return NNRT_OK;`, the closing brace and the end marker of NAME_fn. */
void end_function_ok(Ctx *x, const char *fn);
bool count_hi(const Graph *g, const Shape *s, int64_t *out);
char *ld_c(Ctx *x, Size s);
bool is_int_tensor(const Node *n);
bool has_buffer(const Node *n);
const char *vname(const Node *n);
const Node *view_root(const Node *n);
void node_header(Ctx *x, const Node *n);
void line_reset(Ctx *x);
char *float_lit(double v);

/* ---- train.c */
char *opt_text(const OptimizerDecl *o);
char *double_lit(double v);
double opt_lr(const OptimizerDecl *o);
int state_tensors(Ctx *x, StateTensor **out);
void emit_state_tables(Ctx *x);
void emit_train_api(Ctx *x);
void emit_lr_check(Ctx *x);
void emit_train_wrappers(Ctx *x);
/* NAME_ctx_set_grad_ready (train.c): the context's fields, the header's
 * declaration, the function; NAME_ctx_grad's nodes with the gradients as
 * they finish, and the rest at its end. */
void emit_grad_ready_fields(Ctx *x);
void emit_grad_ready_decl(Ctx *x);
void emit_grad_ready_api(Ctx *x);
void emit_grad_nodes(Ctx *x);
void emit_grad_rest(Ctx *x);

/* ---- walk.c */
void collect_block(Ctx *x, Block *b);
void count_uses(Ctx *x);
bool is_output(const Graph *g, const Node *v);
bool output_is_scalar_input(const Ctx *x);
void place_grads(Ctx *x);
void place_loops(Ctx *x);
char *loop_iter_c(Ctx *x, const Loop *l);
char *value_ptr_c(Ctx *x, const Node *v, const char *base);
int carry_stack(const Node *n, int r);
bool stack_holds_carry(const Node *n, int r);
bool stack_in_place(const Node *n, int r);
char *stack_ptr_c(Ctx *x, const Node *n, int r, const char *base);
char *carry_start_c(Ctx *x, const Node *n, int r);
bool sparse_grad(Ctx *t, int i);
const Node *loop_sparse_scatter(Ctx *t, int i);
int64_t sparse_grad_cap(Ctx *t, int i);

#endif /* NNGC_BACKEND_H */
