/*
 * test_autodiff.c - unit tests of compiler/passes/autodiff.c (and of the
 * gradient ops' typing rules in ir.c and their batching rules in batch.c).
 *
 * Programs go through the real front end (parse_file + lower_program),
 * then autodiff. Two kinds of checks:
 *   - structure: the backward graph has the expected ops, shapes and
 *     reverse loops, and the verifier accepts it after autodiff and after
 *     the -O2 pipeline;
 *   - numbers: a small float64 interpreter of the IR (below) evaluates the
 *     train graph; every gradient element is compared with the central
 *     finite difference (L(p + h) - L(p - h)) / 2h of the interpreted loss,
 *     h = 1e-6, tolerance 1e-6 * max(1, |g|); and the gradients of the
 *     optimized graph (-O2 passes but fuse, which the interpreter does not
 *     know) must equal those of the unoptimized one to 1e-9.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nngc.h"
#include "passes/pipeline.h"

/* ---------------------------------------------------------------- front end */

static char *diag_text;
static size_t diag_len;

/* The program's graph (NULL with the diagnostics in diag_text on error). */
static Graph *lower_src(const char *src, bool approx_neg) {
    static Diag d;
    free(diag_text); /* the previous call's */
    diag_text = NULL;
    FILE *out = open_memstream(&diag_text, &diag_len);
    diag_init(&d, out);
    int file = diag_add_file(&d, "t.nn", xstrdup(src), strlen(src));
    AstList prog = {0};
    Graph *g = NULL;
    LowerOptions lo = {.stdlib_dir = "stdlib"}; /* tests run from the repository root */
    if (approx_neg) {
        char err[200];
        lo.have_default_approx = approx_parse("neg:k=3", &lo.default_approx, err, sizeof err);
    }
    if (parse_file(&d, file, &prog))
        g = lower_program(&d, file, &prog, &lo);
    fclose(out);
    if (!g)
        fail_msg("front end failed:\n%s", diag_text);
    return g;
}

/* A rewrite of the lowered graph before autodiff (NULL: none). */
static void (*prepare)(Graph *g);

/* Lowers src and differentiates it; the verifier must accept the result. */
static Graph *train_graph(const char *src) {
    Graph *g = lower_src(src, false);
    assert_true(ir_verify(g, "lower", stderr));
    if (prepare) {
        prepare(g);
        assert_true(ir_verify(g, "prepare", stderr));
    }
    assert_true(autodiff(g, NULL));
    if (!ir_verify(g, "autodiff", stderr)) {
        ir_print(g, stderr, "broken");
        fail_msg("verifier rejected the autodiff graph");
    }
    return g;
}

static void clear_aux(Block *b);

/* the graph test_verify_row_ops checks */
static Graph *verify_graph;

/* The -O2 pipeline without fuse (the interpreter has no FUSED nodes). */
static void optimize(Graph *g) {
    clear_aux(&g->top);
    static const char *const passes[] = {"softmax", "fold", "cse", "hoist", "batch", "dce"};
    PipelineOptions po = {.opt_level = 2, .only = passes, .nonly = 6};
    assert_true(run_pipeline(g, &po));
}

static int count_ops(const Block *b, Op op, bool in_loops) {
    int n = 0;
    for (int i = 0; i < b->n; i++) {
        n += b->nodes[i]->op == op;
        if (b->nodes[i]->op == OP_LOOP && in_loops)
            n += count_ops(&b->nodes[i]->loop->body, op, true);
    }
    return n;
}

static int count_reverse_loops(const Block *b) {
    int n = 0;
    for (int i = 0; i < b->n; i++)
        if (b->nodes[i]->op == OP_LOOP) {
            n += b->nodes[i]->loop->reverse;
            n += count_reverse_loops(&b->nodes[i]->loop->body);
        }
    return n;
}

static int param_index(const Graph *g, const char *name) {
    for (int i = 0; i < g->nparams; i++)
        if (strcmp(g->params[i].name, name) == 0)
            return i;
    fail_msg("no param %s", name);
    return -1;
}

/* ---------------------------------------------------------------- interpreter */

/* A float64 tensor (int tensors hold their ids as doubles). */
typedef struct Ten {
    int rank;
    int64_t d[NN_MAXRANK];
    int64_t n;
    double *v;
} Ten;

static int64_t dynval[NN_MAXDYN];

static int64_t size_val(Size s) {
    int64_t v = s.c;
    for (int i = 0; i < NN_MAXDYN; i++)
        v += s.k[i] * dynval[i];
    return v;
}

static Ten *ten_new(int rank, const int64_t *d) {
    Ten *t = calloc(1, sizeof *t);
    t->rank = rank;
    t->n = 1;
    for (int i = 0; i < rank; i++) {
        t->d[i] = d[i];
        t->n *= d[i];
    }
    t->v = calloc((size_t)(t->n > 0 ? t->n : 1), sizeof(double));
    return t;
}

static Ten *ten_shape(const Shape *s) {
    int64_t d[NN_MAXRANK];
    for (int i = 0; i < s->rank; i++)
        d[i] = size_val(s->d[i]);
    return ten_new(s->rank, d);
}

static Ten *scalar(double v) {
    Ten *t = ten_new(0, NULL);
    t->v[0] = v;
    return t;
}

static Ten *V(Node *n) {
    NN_ASSERT(n->aux);
    return n->aux;
}

/* Offset into t (aligned on the right with an index of rank `rank`, NumPy
 * broadcasting: size-1 axes repeat). */
static int64_t bcast_off(const Ten *t, const int64_t *idx, int rank) {
    int64_t off = 0;
    for (int i = 0; i < t->rank; i++) {
        int64_t k = idx[rank - t->rank + i];
        off = off * t->d[i] + (t->d[i] == 1 ? 0 : k);
    }
    return off;
}

static void unflat(const Ten *t, int64_t f, int64_t *idx) {
    for (int i = t->rank - 1; i >= 0; i--) {
        idx[i] = f % t->d[i];
        f /= t->d[i];
    }
}

static double ew(Op op, double a, double b) {
    switch (op) {
    case OP_ADD: case OP_IADD: return a + b;
    case OP_SUB: case OP_ISUB: return a - b;
    case OP_MUL: case OP_IMUL: return a * b;
    case OP_DIV: return a / b;
    case OP_NEG: return -a;
    case OP_TANH: return tanh(a);
    case OP_RELU: return a > 0 ? a : 0;
    case OP_SIGMOID: return 1 / (1 + exp(-a));
    case OP_EXP: return exp(a);
    case OP_LOG: return log(a);
    case OP_SQRT: return sqrt(a);
    case OP_ABS: return fabs(a);
    case OP_LOGSIGMOID: return a < 0 ? a - log1p(exp(a)) : -log1p(exp(-a));
    case OP_SIGN: return a > 0 ? 1 : a < 0 ? -1 : 0;
    case OP_STEP: return a > 0 ? 1 : 0;
    default: NN_ASSERT(0);
    }
}

static void eval_block(Graph *g, Block *b, Ten **params, Ten **inputs);

/* Rows of the last axis: softmax-like ops work per row of length V. */
static void eval_loop(Graph *g, Node *n, Ten **params, Ten **inputs) {
    Loop *l = n->loop;
    int64_t lo = size_val(l->lo), hi = size_val(l->hi);
    int nres = l->ncarry + l->nstack + l->nsum;
    Ten **res = calloc((size_t)nres + 1, sizeof(Ten *));
    Ten **cur = calloc((size_t)l->ncarry + 1, sizeof(Ten *));
    for (int r = 0; r < l->ncarry; r++)
        cur[r] = V(n->in[r]);
    bool first = true;
    for (int64_t k = 0; k < hi - lo; k++) {
        int64_t t = l->reverse ? hi - 1 - k : lo + k;
        l->index->aux = scalar((double)t);
        for (int r = 0; r < l->ncarry; r++)
            l->carry[r]->aux = cur[r];
        eval_block(g, &l->body, params, inputs);
        for (int r = 0; r < l->ncarry; r++)
            cur[r] = V(l->next[r]);
        for (int s = 0; s < l->nstack; s++) {
            Ten *v = V(l->stack[s]);
            if (first) {
                int64_t d[NN_MAXRANK] = {hi - lo};
                for (int i = 0; i < v->rank; i++)
                    d[i + 1] = v->d[i];
                res[l->ncarry + s] = ten_new(v->rank + 1, d);
            }
            memcpy(res[l->ncarry + s]->v + (t - lo) * v->n, v->v, sizeof(double) * (size_t)v->n);
        }
        for (int s = 0; s < l->nsum; s++) {
            Ten *v = V(l->sum[s]), **acc = &res[l->ncarry + l->nstack + s];
            if (first)
                *acc = ten_new(v->rank, v->d);
            for (int64_t i = 0; i < v->n; i++)
                (*acc)->v[i] += v->v[i];
        }
        first = false;
    }
    for (int r = 0; r < l->ncarry; r++)
        res[r] = cur[r];
    /* zero trips: empty stacks, zero sums */
    for (int s = 0; first && s < l->nstack + l->nsum; s++) {
        Node *v = s < l->nstack ? l->stack[s] : l->sum[s - l->nstack];
        Shape sh = v->shape;
        if (s < l->nstack) {
            for (int i = sh.rank; i > 0; i--)
                sh.d[i] = sh.d[i - 1];
            sh.d[0] = size_const(0);
            sh.rank++;
        }
        res[l->ncarry + s] = ten_shape(&sh);
    }
    n->aux = res;
}

static void eval_node(Graph *g, Node *n, Ten **params, Ten **inputs) {
    Node *a = n->nin > 0 ? n->in[0] : NULL, *b = n->nin > 1 ? n->in[1] : NULL;
    Ten *r = NULL;
    int64_t idx[NN_MAXRANK + 1];
    if ((op_flags[n->op] & OPF_ELEMWISE) || n->op == OP_IADD || n->op == OP_ISUB || n->op == OP_IMUL) {
        r = ten_shape(&n->shape);
        for (int64_t f = 0; f < r->n; f++) {
            unflat(r, f, idx);
            double x = V(a)->v[bcast_off(V(a), idx, r->rank)];
            double y = b ? V(b)->v[bcast_off(V(b), idx, r->rank)] : 0;
            r->v[f] = ew(n->op, x, y);
        }
        n->aux = r;
        return;
    }
    switch (n->op) {
    case OP_CONST: r = scalar(n->f); break;
    case OP_ICONST: r = scalar((double)n->i); break;
    case OP_DIM: r = scalar((double)size_val(n->size)); break;
    case OP_PARAM: r = params[n->index]; break;
    case OP_INPUT: r = inputs[n->index]; break;
    case OP_FILL:
        r = ten_shape(&n->shape);
        for (int64_t i = 0; i < r->n; i++)
            r->v[i] = n->f;
        break;
    case OP_RANGE:
        r = ten_shape(&n->shape);
        for (int64_t i = 0; i < r->n; i++)
            r->v[i] = (double)(size_val(n->size) + i);
        break;
    case OP_INDEX: case OP_CARRY: return; /* set by the loop */
    case OP_LOOP: eval_loop(g, n, params, inputs); return;
    case OP_LOOPOUT: r = ((Ten **)a->aux)[n->index]; break;
    case OP_MATVEC:
    case OP_MATMUL: {
        r = ten_shape(&n->shape);
        Ten *A = V(a), *B = V(b);
        /* operands of rank > 2 (the batch pass's stacked rows) as matrices
         * of their rows: [every leading axis, the last axis] */
        int64_t ac = A->d[A->rank - 1], bc = B->d[B->rank - 1];
        int64_t N = n->op == OP_MATMUL ? r->d[r->rank - 1] : 1, M = r->n / N;
        int64_t K = n->ta ? A->n / ac : ac;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++) {
                    double x = n->ta ? A->v[k * ac + i] : A->v[i * ac + k];
                    double y = n->op == OP_MATVEC ? B->v[k] : n->tb ? B->v[j * bc + k] : B->v[k * bc + j];
                    s += x * y;
                }
                r->v[i * N + j] = s;
            }
        if (n->nin == 3)
            for (int64_t f = 0; f < r->n; f++) {
                unflat(r, f, idx);
                r->v[f] += V(n->in[2])->v[bcast_off(V(n->in[2]), idx, r->rank)];
            }
        break;
    }
    case OP_TRANSPOSE:
        r = ten_shape(&n->shape);
        for (int64_t i = 0; i < r->d[0]; i++)
            for (int64_t j = 0; j < r->d[1]; j++)
                r->v[i * r->d[1] + j] = V(a)->v[j * r->d[0] + i];
        break;
    case OP_DOT:
        r = scalar(0);
        for (int64_t i = 0; i < V(a)->n; i++)
            r->v[0] += V(a)->v[i] * V(b)->v[i];
        break;
    case OP_OUTER:
        r = ten_shape(&n->shape);
        for (int64_t i = 0; i < r->d[0]; i++)
            for (int64_t j = 0; j < r->d[1]; j++)
                r->v[i * r->d[1] + j] = V(a)->v[i] * V(b)->v[j];
        break;
    case OP_ROW:
    case OP_GATHER: {
        r = ten_shape(&n->shape);
        Ten *A = V(a), *I = V(b);
        int64_t row = A->n / (A->d[0] ? A->d[0] : 1);
        for (int64_t k = 0; k < I->n; k++) {
            int64_t id = (int64_t)I->v[k];
            assert_true(id >= 0 && id < A->d[0]);
            memcpy(r->v + k * row, A->v + id * row, sizeof(double) * (size_t)row);
        }
        break;
    }
    case OP_SCATTERADD: {
        r = ten_shape(&n->shape);
        Ten *A = V(a), *I = V(b);
        int64_t row = r->n / r->d[0];
        for (int64_t k = 0; k < I->n; k++) {
            int64_t id = (int64_t)I->v[k];
            assert_true(id >= 0 && id < r->d[0]);
            for (int64_t j = 0; j < row; j++)
                r->v[id * row + j] += A->v[k * row + j];
        }
        break;
    }
    case OP_SUM:
    case OP_MEAN:
        r = scalar(0);
        for (int64_t i = 0; i < V(a)->n; i++)
            r->v[0] += V(a)->v[i];
        if (n->op == OP_MEAN)
            r->v[0] /= (double)V(a)->n;
        break;
    case OP_SUMAXIS:
    case OP_MEANAXIS:
    case OP_EXPAND:
    case OP_BROADCAST:
    case OP_SUMTO: {
        /* "big" is the operand (reductions) or the result (expansions) */
        bool reduce = n->op == OP_SUMAXIS || n->op == OP_MEANAXIS || n->op == OP_SUMTO;
        r = ten_shape(&n->shape);
        Ten *big = reduce ? V(a) : r, *small = reduce ? r : V(a);
        for (int64_t f = 0; f < big->n; f++) {
            unflat(big, f, idx);
            int64_t off;
            if (n->op == OP_SUMTO || n->op == OP_BROADCAST) {
                off = bcast_off(small, idx, big->rank);
            } else {
                int64_t j[NN_MAXRANK];
                for (int i = 0, k = 0; i < big->rank; i++)
                    if (i != n->index)
                        j[k++] = idx[i];
                off = 0;
                for (int i = 0; i < small->rank; i++)
                    off = off * small->d[i] + j[i];
            }
            if (reduce)
                r->v[off] += big->v[f] / (n->op == OP_MEANAXIS ? (double)big->d[n->index] : 1.0);
            else
                r->v[f] = small->v[off];
        }
        break;
    }
    case OP_CONCAT:
        r = ten_shape(&n->shape);
        memcpy(r->v, V(a)->v, sizeof(double) * (size_t)V(a)->n);
        memcpy(r->v + V(a)->n, V(b)->v, sizeof(double) * (size_t)V(b)->n);
        break;
    case OP_SLICE: {
        r = ten_shape(&n->shape);
        int64_t row = V(a)->n / V(a)->d[0];
        memcpy(r->v, V(a)->v + size_val(n->size) * row, sizeof(double) * (size_t)r->n);
        break;
    }
    case OP_SOFTMAX: case OP_LOGSOFTMAX: case OP_LOGSUMEXP: case OP_XENT: case OP_PICK:
    case OP_PICKGRAD: case OP_SOFTMAXGRAD: case OP_LOGSOFTMAXGRAD: {
        bool row_out = n->op == OP_LOGSUMEXP || n->op == OP_XENT || n->op == OP_PICK;
        r = ten_shape(&n->shape);
        Ten *Z = n->op == OP_PICKGRAD ? r : V(a);
        int64_t Vn = Z->d[Z->rank - 1], rows = Z->n / Vn;
        for (int64_t i = 0; i < rows; i++) {
            double *z = Z->v + i * Vn, mx = -INFINITY, s = 0;
            if (n->op == OP_PICKGRAD) {
                int64_t y = (int64_t)V(b)->v[i];
                assert_true(y >= 0 && y < Vn);
                r->v[i * Vn + y] += V(a)->v[i];
                continue;
            }
            if (n->op == OP_PICK) {
                r->v[i] = z[(int64_t)V(b)->v[i]];
                continue;
            }
            if (n->op == OP_SOFTMAXGRAD || n->op == OP_LOGSOFTMAXGRAD) {
                double *d = V(b)->v + i * Vn, dot = 0;
                for (int64_t j = 0; j < Vn; j++)
                    dot += n->op == OP_SOFTMAXGRAD ? d[j] * z[j] : d[j];
                for (int64_t j = 0; j < Vn; j++)
                    r->v[i * Vn + j] = n->op == OP_SOFTMAXGRAD ? z[j] * (d[j] - dot) : d[j] - exp(z[j]) * dot;
                continue;
            }
            for (int64_t j = 0; j < Vn; j++)
                mx = z[j] > mx ? z[j] : mx;
            for (int64_t j = 0; j < Vn; j++)
                s += exp(z[j] - mx);
            double lse = mx + log(s);
            if (row_out) {
                r->v[i] = n->op == OP_LOGSUMEXP ? lse : lse - z[(int64_t)V(b)->v[i]];
                continue;
            }
            for (int64_t j = 0; j < Vn; j++)
                r->v[i * Vn + j] = n->op == OP_SOFTMAX ? exp(z[j] - lse) : z[j] - lse;
        }
        break;
    }
    case OP_BXENT:
        r = scalar(0);
        for (int64_t i = 0; i < V(a)->n; i++) {
            double z = V(a)->v[i], t = V(b)->v[i], s = 1 / (1 + exp(-z));
            r->v[0] += -t * log(s) - (1 - t) * log(1 - s);
        }
        break;
    default:
        fail_msg("interpreter: no rule for %s", op_name[n->op]);
    }
    n->aux = r;
}

static void eval_block(Graph *g, Block *b, Ten **params, Ten **inputs) {
    for (int i = 0; i < b->n; i++)
        eval_node(g, b->nodes[i], params, inputs);
}

static double eval_loss(Graph *g, Ten **params, Ten **inputs) {
    eval_block(g, &g->top, params, inputs);
    return V(g->loss)->v[0];
}

/* ---------------------------------------------------------------- gradient checks */

static uint64_t rng_state = 88172645463325252ull;
static double urand(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Random params in [-scale, scale]; float inputs in [0.1, 1.1) (positive:
 * log/sqrt models); int inputs: ids below id_bound. */
typedef struct Case {
    Ten **params, **inputs;
} Case;

static Case make_case(Graph *g, double scale, int64_t id_bound) {
    Case c = {calloc((size_t)g->nparams + 1, sizeof(Ten *)), calloc((size_t)g->ninputs + 1, sizeof(Ten *))};
    for (int i = 0; i < g->nparams; i++) {
        c.params[i] = ten_shape(&g->params[i].shape);
        for (int64_t k = 0; k < c.params[i]->n; k++)
            c.params[i]->v[k] = (2 * urand() - 1) * scale;
    }
    for (int i = 0; i < g->ninputs; i++) {
        c.inputs[i] = ten_shape(&g->inputs[i].shape);
        for (int64_t k = 0; k < c.inputs[i]->n; k++)
            c.inputs[i]->v[k] = g->inputs[i].dtype == DT_I32 ? (double)(int64_t)(urand() * (double)id_bound)
                                                           : 0.1 + urand();
    }
    return c;
}

/* Node.aux is the passes' scratch: leave it NULL after interpreting. */
static void clear_aux(Block *b) {
    for (int i = 0; i < b->n; i++) {
        b->nodes[i]->aux = NULL;
        if (b->nodes[i]->op == OP_LOOP)
            clear_aux(&b->nodes[i]->loop->body);
    }
}

/* Copies of the gradients the graph computes at c. */
static Ten **grads_at(Graph *g, Case c) {
    eval_loss(g, c.params, c.inputs);
    Ten **out = calloc((size_t)g->nparams + 1, sizeof(Ten *));
    for (int i = 0; i < g->nparams; i++)
        if (g->grads[i]) {
            Ten *t = V(g->grads[i]);
            out[i] = ten_new(t->rank, t->d);
            memcpy(out[i]->v, t->v, sizeof(double) * (size_t)t->n);
        }
    clear_aux(&g->top);
    return out;
}

/* Every gradient element of src's model against central differences, and
 * the -O2 graph's gradients against the unoptimized ones. Returns the
 * number of elements checked. */
static int check_gradients(const char *src, const int64_t *dyn, double scale, int64_t id_bound) {
    memset(dynval, 0, sizeof dynval);
    for (int i = 0; dyn && dyn[i] > 0; i++)
        dynval[i] = dyn[i];
    Graph *g = train_graph(src);
    Case c = make_case(g, scale, id_bound);
    Ten **grads = grads_at(g, c);
    int checked = 0;
    const double h = 1e-6;
    for (int i = 0; i < g->nparams; i++) {
        Ten *p = c.params[i];
        for (int64_t k = 0; k < p->n; k++) {
            double old = p->v[k];
            p->v[k] = old + h;
            double lp = eval_loss(g, c.params, c.inputs);
            p->v[k] = old - h;
            double lm = eval_loss(g, c.params, c.inputs);
            p->v[k] = old;
            double fd = (lp - lm) / (2 * h);
            double an = grads[i] ? grads[i]->v[k] : 0.0;
            if (g->params[i].frozen)
                continue;
            double tol = 1e-6 * fmax(1.0, fabs(fd));
            if (fabs(fd - an) > tol)
                fail_msg("param %s element %lld: autodiff %.10g, finite difference %.10g", g->params[i].name,
                         (long long)k, an, fd);
            checked++;
        }
    }
    /* the optimized train graph computes the same gradients */
    optimize(g);
    Ten **opt = grads_at(g, c);
    for (int i = 0; i < g->nparams; i++) {
        if (!grads[i])
            continue;
        assert_non_null(opt[i]);
        for (int64_t k = 0; k < grads[i]->n; k++)
            if (fabs(grads[i]->v[k] - opt[i]->v[k]) > 1e-9 * fmax(1.0, fabs(grads[i]->v[k])))
                fail_msg("param %s element %lld: %.12g at -O0, %.12g after the -O2 passes", g->params[i].name,
                         (long long)k, grads[i]->v[k], opt[i]->v[k]);
    }
    return checked;
}

/* ---------------------------------------------------------------- numeric tests */

/* matvec + bias + tanh + cross_entropy (an MLP classifier). */
static void test_grad_mlp(void **state) {
    (void)state;
    int n = check_gradients("model mlp\n"
                            "dim I = 4\ndim H = 5\ndim C = 3\n"
                            "param W1 : [H, I]\nparam b1 : [H] init zeros\n"
                            "param W2 : [C, H]\nparam b2 : [C]\n"
                            "input x : [I]\ninput y : int\n"
                            "h = tanh(W1 @ x + b1)\n"
                            "loss += cross_entropy(W2 @ h + b2, y)\n",
                            NULL, 0.8, 3);
    assert_int_equal(n, 20 + 5 + 15 + 3);
}

/* relu, sigmoid, exp, log, sqrt, abs, neg, div, dot, transpose, bxent. */
static void test_grad_elementwise_builtins(void **state) {
    (void)state;
    check_gradients("model ew\n"
                    "dim D = 4\n"
                    "param a : [D]\nparam b : [D]\nparam M : [D, D]\n"
                    "input x : [D]\ninput t : [D]\n"
                    "u = relu(a * x + 0.1) + sigmoid(b) / (exp(a) + 2)\n"
                    "v = log(x + sigmoid(a)) - sqrt(exp(b) + 1) + abs(a - 0.05)\n"
                    "loss += dot(u, v) + sum(transpose(M) @ u) - mean(-v)\n"
                    "loss += binary_cross_entropy(M @ v, t)\n"
                    /* the front end's log_sigmoid, three ways */
                    "loss += sum(log(sigmoid(a * x))) + sum(log(1 - sigmoid(b))) - sum(log(1 + exp(a - b)))\n",
                    NULL, 0.9, 2);
}

/* lookups E[i] and E[ids], sums and means over axes. */
static void test_grad_lookup_and_axis_reductions(void **state) {
    (void)state;
    check_gradients("model lk\n"
                    "dim V = 7\ndim D = 3\ndim N = 4\n"
                    "param E : [V, D]\nparam w : [D]\n"
                    "input ids : int[N]\ninput i : int\n"
                    "X = E[ids]\n"
                    "loss += sum(tanh(sum(X, 0) * w)) + mean(mean(X * X, 1))\n"
                    "loss += dot(E[i], w) + sum(mean(X, 0))\n",
                    NULL, 0.7, 7);
}

/* broadcasting adds and products: [4,3] + [3], [4,3] * [4,1], scalar. */
static void test_grad_broadcasting(void **state) {
    (void)state;
    check_gradients("model bc\n"
                    "dim R = 4\ndim K = 3\n"
                    "param A : [R, K]\nparam b : [K]\nparam c : [R, 1]\nparam s : [1]\n"
                    "input X : [R, K]\n"
                    "Y = tanh(A + b) * c - X / (c * c + 1) + s\n"
                    "loss += sum(Y * Y) + sum(b - s)\n",
                    NULL, 0.9, 2);
}

/* concat, softmax, log_softmax, logsumexp through cross_entropy. */
static void test_grad_concat_softmax(void **state) {
    (void)state;
    check_gradients("model cs\n"
                    "dim A = 3\ndim B = 2\n"
                    "param p : [A]\nparam q : [B]\nparam W : [A + B, A + B]\n"
                    "input y : int\n"
                    "z = concat(p, q * 2)\n"
                    "s = softmax(W @ z)\n"
                    "ls = log_softmax(z + s)\n"
                    "loss += sum(ls * s) + cross_entropy(W @ s, y)\n"
                    "loss += sum(softmax(W) * log_softmax(transpose(W)))\n",
                    NULL, 0.9, 5);
}

static const char *rnn_src =
    "model rnnlm\n"
    "dim V = 6\ndim E = 3\ndim H = 4\ndim T max 5\n"
    "param emb : [V, E]\nparam Wx : [H, E]\nparam Wh : [H, H]\n"
    "param bh : [H] init zeros\nparam Wo : [V, H]\nparam bo : [V] init zeros\n"
    "input words : int[T + 1]\n"
    "optimizer adam(lr = 0.001)\n"
    "h = zeros([H])\n"
    "for t in 0..T {\n"
    "  h = tanh(Wx @ emb[words[t]] + Wh @ h + bh)\n"
    "  loss += cross_entropy(Wo @ h + bo, words[t + 1])\n"
    "}\n";

/* The Elman RNN: a carry, saved values, summed param gradients (BPTT). */
static void test_grad_rnn(void **state) {
    (void)state;
    int64_t dyn[] = {4, 0};
    int n = check_gradients(rnn_src, dyn, 0.9, 6);
    assert_int_equal(n, 18 + 12 + 16 + 4 + 24 + 6);
}

/* An RNN whose hidden states are also stacked and read after the loop,
 * with the final state in the loss too. */
static void test_grad_rnn_stack_and_final_state(void **state) {
    (void)state;
    int64_t dyn[] = {3, 0};
    check_gradients("model rs\n"
                    "dim H = 3\ndim T max 4\n"
                    "param Wh : [H, H]\nparam h0 : [H]\nparam v : [H]\n"
                    "input xs : [T, H]\n"
                    "h = h0\n"
                    "for t in 0..T {\n"
                    "  h = tanh(Wh @ h + xs[t])\n"
                    "  hs[t] = h * v\n"
                    "}\n"
                    "loss += sum(hs * hs) + dot(h, v)\n",
                    dyn, 0.9, 2);
}

/* skip-gram: a loop from 2 (stacks and rows at t - lo), four losses sharing
 * one lookup and one projection. */
static void test_grad_skipgram(void **state) {
    (void)state;
    int64_t dyn[] = {3, 0};
    check_gradients("model skipgram\n"
                    "dim V = 8\ndim D = 3\ndim T max 6\n"
                    "param Ww : [V, D]\nparam Wc : [V, D]\n"
                    "input sent : int[T + 4]\n"
                    "for i in 2..T + 2 {\n"
                    "  e = Ww[sent[i]]\n"
                    "  loss += cross_entropy(Wc @ e, sent[i - 2])\n"
                    "  loss += cross_entropy(Wc @ e, sent[i - 1])\n"
                    "  loss += cross_entropy(Wc @ e, sent[i + 1])\n"
                    "  loss += cross_entropy(Wc @ e, sent[i + 2])\n"
                    "}\n",
                    dyn, 0.9, 8);
}

/* Weighted losses in a loop: adjoints other than 1 (expand, broadcast),
 * log_softmax, batched by -O2. */
static void test_grad_weighted_losses_in_loop(void **state) {
    (void)state;
    int64_t dyn[] = {4, 0};
    check_gradients("model wl\n"
                    "dim V = 5\ndim D = 3\ndim T max 6\n"
                    "param E : [V, D]\nparam W : [V, D]\nparam b : [V]\n"
                    "input ids : int[T + 1]\n"
                    "for t in 0..T {\n"
                    "  z = W @ tanh(E[ids[t]]) + b\n"
                    "  loss += 0.5 * cross_entropy(z, ids[t + 1]) + sum(z * z) * 0.1\n"
                    "  loss += mean(log_softmax(z) * softmax(z * 2.0))\n"
                    "}\n",
                    dyn, 0.9, 5);
}

/* A loop that runs zero times: the carry's adjoint passes straight to
 * its initial value, the loop's params get zero. */
static void test_grad_zero_trip_loop(void **state) {
    (void)state;
    check_gradients("model zt\n"
                    "dim H = 3\n"
                    "param W : [H, H]\nparam c : [H]\n"
                    "h = c\n"
                    "for t in 1..1 {\n"
                    "  h = tanh(W @ h)\n"
                    "  loss += sum(h)\n"
                    "}\n"
                    "loss += sum(h * c)\n",
                    NULL, 0.9, 2);
}

/* slow-impl: nested loops, a sum over both. */
static void test_grad_slowimpl(void **state) {
    (void)state;
    check_gradients("model slowimpl\n"
                    "dim N = 3\ndim D = 4\n"
                    "param W : [D, D]\n"
                    "input xs : [N, D]\ninput ys : [N, D]\n"
                    "for i in 0..N {\n"
                    "  for j in 0..N {\n"
                    "    loss += dot(W @ xs[i], ys[j])\n"
                    "  }\n"
                    "}\n",
                    NULL, 0.9, 2);
}

/* Nested loops with carries at both levels: the inner carry starts from
 * the outer one, and an outer value is read inside. */
static void test_grad_nested_carries(void **state) {
    (void)state;
    int64_t dyn[] = {3, 0};
    check_gradients("model nest\n"
                    "dim H = 3\ndim S = 2\ndim T max 4\n"
                    "param A : [H, H]\nparam B : [H, H]\nparam c : [H]\n"
                    "input xs : [T, H]\n"
                    "h = c\n"
                    "for t in 0..T {\n"
                    "  g = h\n"
                    "  for s in 0..S {\n"
                    "    g = tanh(B @ g + h * xs[t])\n"
                    "    loss += sum(g * c)\n"
                    "  }\n"
                    "  h = tanh(A @ h + g)\n"
                    "}\n"
                    "loss += sum(h)\n",
                    dyn, 0.8, 2);
}

/* Folds transpose(X) operands of matvec/matmul into their ta/tb flags
 * (the front end never sets them; batch does). */
static void fold_transposes(Graph *g) {
    for (int i = 0; i < g->top.n; i++) {
        Node *n = g->top.nodes[i];
        if (n->op != OP_MATVEC && n->op != OP_MATMUL)
            continue;
        for (int k = 0; k < 2; k++) {
            if (n->in[k]->op != OP_TRANSPOSE || (n->op == OP_MATVEC && k == 1))
                continue;
            n->in[k] = n->in[k]->in[0];
            if (k == 0)
                n->ta = !n->ta;
            else
                n->tb = !n->tb;
        }
    }
}

/* matmul with every ta/tb combination, matvec with ta. */
static void test_grad_transposed_products(void **state) {
    (void)state;
    prepare = fold_transposes;
    check_gradients("model tt\n"
                    "dim M = 3\ndim K = 4\ndim N = 2\n"
                    "param A : [K, M]\nparam B : [N, K]\nparam C : [M, K]\nparam D : [K, N]\nparam w : [K]\n"
                    "input x : [M]\n"
                    "P = transpose(A) @ transpose(B)\n"
                    "Q = C @ transpose(B)\n"
                    "R = transpose(A) @ D\n"
                    "S = C @ D\n"
                    "u = transpose(A) @ w\n"
                    "loss += sum(tanh(P + Q * R + S)) + dot(u, x)\n",
                    NULL, 0.9, 2);
    prepare = NULL;
}

static void lower_softmax(Graph *g) { pass_softmax(&(PassCtx){.g = g}); }

/* cross_entropy through the softmax pass: the logsumexp and pick rules;
 * cross_entropy of a matrix of logits with a vector of labels. */
static void test_grad_logsumexp_pick(void **state) {
    (void)state;
    const char *src = "model lp\n"
                      "dim V = 5\ndim D = 3\ndim N = 4\n"
                      "param E : [V, D]\nparam W : [V, D]\n"
                      "input ids : int[N]\ninput ys : int[N]\n"
                      "Z = E[ids] @ transpose(W)\n"
                      "loss += sum(cross_entropy(Z, ys)) + cross_entropy(W @ E[ids[0]], ys[1])\n";
    check_gradients(src, NULL, 0.9, 4);
    prepare = lower_softmax;
    check_gradients(src, NULL, 0.9, 4);
    prepare = NULL;
}

/* mean and mean over an axis of a tensor with a dynamic size (the count
 * is computed at run time). */
static void test_grad_dynamic_means(void **state) {
    (void)state;
    int64_t dyn[] = {3, 0};
    check_gradients("model dm\n"
                    "dim H = 2\ndim T max 4\n"
                    "param W : [H, H]\n"
                    "input xs : [T, H]\n"
                    "for t in 0..T {\n"
                    "  hs[t] = tanh(W @ xs[t])\n"
                    "}\n"
                    "loss += mean(hs) + sum(mean(hs, 0) * mean(hs * hs, 1)[0])\n",
                    dyn, 0.9, 2);
}

/* The other examples, small: mlp (import "nn", defs, an l2 penalty),
 * classifier (relu), logreg (binary cross-entropy of a [1] logit). */
static void test_grad_examples(void **state) {
    (void)state;
    check_gradients("model mlp\n"
                    "import \"nn\"\n"
                    "dim I = 5\ndim H = 4\ndim C = 3\n"
                    "param W1 : [H, I]\nparam b1 : [H] init zeros\nparam W2 : [C, H]\nparam b2 : [C] init zeros\n"
                    "input x : [I]\ninput label : int\n"
                    "output probs\n"
                    "z = mlp2(W1, b1, W2, b2, x)\n"
                    "probs = softmax(z)\n"
                    "loss += cross_entropy(z, label)\n"
                    "loss += 0.0001 * (l2(W1) + l2(W2))\n",
                    NULL, 0.9, 3);
    check_gradients("model classifier\n"
                    "dim I = 4\ndim H = 5\ndim C = 3\n"
                    "param W1 : [H, I]\nparam b1 : [H]\nparam W2 : [C, H]\nparam b2 : [C]\n"
                    "input x : [I]\ninput y : int\n"
                    "output probs\n"
                    "def affine(W, b, v) { return W @ v + b }\n"
                    "h = relu(affine(W1, b1, x))\n"
                    "z = affine(W2, b2, h)\n"
                    "probs = softmax(z)\n"
                    "loss += cross_entropy(z, y)\n",
                    NULL, 0.9, 3);
    check_gradients("model logreg\n"
                    "dim F = 6\n"
                    "param w : [F]\nparam b : [1]\n"
                    "input x : [F]\ninput label : [1]\n"
                    "output p\n"
                    "z = w * x\n"
                    "s = sum(z) + b\n"
                    "p = sigmoid(s)\n"
                    "loss += binary_cross_entropy(s, label)\n",
                    NULL, 0.9, 2);
}

/* A frozen param gets no gradient; the others still do. */
static void test_frozen_param(void **state) {
    (void)state;
    Graph *g = train_graph("model fz\n"
                           "dim D = 3\n"
                           "param E : [D, D] frozen\nparam w : [D]\n"
                           "input x : [D]\n"
                           "loss += dot(w, E @ x)\n");
    assert_null(g->grads[param_index(g, "E")]);
    assert_non_null(g->grads[param_index(g, "w")]);
    check_gradients("model fz\n"
                    "dim D = 3\n"
                    "param E : [D, D] frozen\nparam w : [D]\n"
                    "input x : [D]\n"
                    "loss += dot(w, tanh(E @ x))\n",
                    NULL, 0.9, 2);
}

/* ---------------------------------------------------------------- structure */

/* The RNN's backward is one reverse loop that carries dh, reads saved rows
 * of the forward, and sums per-iteration param gradients (outer products,
 * a scatter-add into emb). */
static void test_rnn_structure(void **state) {
    (void)state;
    Graph *g = train_graph(rnn_src);
    assert_int_equal(count_reverse_loops(&g->top), 1);
    Loop *R = NULL;
    for (int i = 0; i < g->top.n; i++)
        if (g->top.nodes[i]->op == OP_LOOP && g->top.nodes[i]->loop->reverse)
            R = g->top.nodes[i]->loop;
    assert_non_null(R);
    assert_int_equal(R->ncarry, 1);
    assert_int_equal(R->nsum, 6); /* one per param */
    assert_int_equal(count_ops(&R->body, OP_OUTER, false), 3);
    assert_int_equal(count_ops(&R->body, OP_SCATTERADD, false), 1);
    assert_int_equal(count_ops(&R->body, OP_PICKGRAD, false), 1);
    for (int i = 0; i < g->nparams; i++) {
        assert_non_null(g->grads[i]);
        assert_true(shape_eq(&g->grads[i]->shape, &g->params[i].shape));
    }
    /* the forward loop saves what the backward reads */
    Loop *F = NULL;
    for (int i = 0; i < g->top.n; i++)
        if (g->top.nodes[i]->op == OP_LOOP && !g->top.nodes[i]->loop->reverse)
            F = g->top.nodes[i]->loop;
    assert_true(F->nstack >= 2);
    /* the dump marks the reverse loop */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ir_print(g, f, "after autodiff");
    fclose(f);
    assert_non_null(strstr(buf, "= loop t in 0..T reverse carry("));
    assert_non_null(strstr(buf, "grad emb = %"));
    free(buf);
}

/* After batch, the RNN's per-iteration outer products are GEMMs
 * (dW = dY^T X, matmul ... ta) and the embedding gradient is one
 * scatter-add; only the recurrence through dh stays in the reverse loop. */
static void test_rnn_batched_gradients(void **state) {
    (void)state;
    Graph *g = train_graph(rnn_src);
    static const char *const passes[] = {"softmax", "fold", "cse", "hoist", "batch", "dce", "fuse"};
    PipelineOptions po = {.opt_level = 2, .only = passes, .nonly = 7};
    assert_true(run_pipeline(g, &po));
    Loop *R = NULL;
    for (int i = 0; i < g->top.n; i++)
        if (g->top.nodes[i]->op == OP_LOOP && g->top.nodes[i]->loop->reverse)
            R = g->top.nodes[i]->loop;
    assert_non_null(R);
    assert_int_equal(count_ops(&R->body, OP_OUTER, true), 0);
    assert_int_equal(count_ops(&R->body, OP_SCATTERADD, true), 0);
    int gemm_ta = 0;
    for (int i = 0; i < g->top.n; i++)
        gemm_ta += g->top.nodes[i]->op == OP_MATMUL && g->top.nodes[i]->ta;
    assert_int_equal(gemm_ta, 3); /* dWo, dWh, dWx */
    assert_int_equal(count_ops(&g->top, OP_SCATTERADD, false), 1);
}

/* The -O0 and -O1 pipelines accept the train graph too. */
static void test_pipelines_verify(void **state) {
    (void)state;
    for (int level = 0; level <= 2; level++) {
        Graph *g = train_graph(rnn_src);
        PipelineOptions po = {.opt_level = level};
        assert_true(run_pipeline(g, &po));
        for (int i = 0; i < g->nparams; i++)
            assert_non_null(g->grads[i]);
    }
}

/* The fused node of a batched cross-entropy gradient (fuse's row ops):
 * the verifier accepts it as fuse leaves it, and rejects an elementwise op
 * reading a row ARG, a row op reading an element value, and an expand
 * along an axis other than the last. */
static Node *xent_grad_fused(void) {
    Graph *g = train_graph("model xg\ndim V = 7\ndim D = 3\ndim T max 6\nparam W : [V, D]\n"
                           "input x : [T, D]\ninput y : int[T]\nfor t in 0..T {\n"
                           "  loss += cross_entropy(W @ x[t], y[t])\n}\n");
    PipelineOptions po = {.opt_level = 2};
    assert_true(run_pipeline(g, &po));
    for (int i = 0; i < g->top.n; i++) {
        Node *n = g->top.nodes[i];
        for (int k = 0; n->op == OP_FUSED && k < n->fused->n; k++)
            if (n->fused->nodes[k]->op == OP_PICKGRAD) {
                verify_graph = g;
                return n;
            }
    }
    fail_msg("no fused node with a pick_grad");
    return NULL;
}

static Node *body_op(Node *f, Op op) {
    for (int k = 0; k < f->fused->n; k++)
        if (f->fused->nodes[k]->op == op)
            return f->fused->nodes[k];
    fail_msg("no %s in the fused body", op_name[op]);
    return NULL;
}

static void expect_verify_error(const char *what) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_false(ir_verify(verify_graph, "test", out));
    fclose(out);
    if (!strstr(buf, what))
        fail_msg("verifier said \"%s\", expected \"%s\"", buf, what);
    free(buf);
}

static void test_verify_row_ops(void **state) {
    (void)state;
    Node *f = xent_grad_fused();
    assert_true(ir_verify(verify_graph, "fuse", stderr));
    Node *ex = body_op(f, OP_EXPAND), *sub = body_op(f, OP_SUB), *row_arg = ex->in[0];
    Node *old = sub->in[1];
    sub->in[1] = row_arg; /* an elementwise op reading a row ARG */
    expect_verify_error("sub reads a row ARG");
    sub->in[1] = old;
    f = xent_grad_fused();
    ex = body_op(f, OP_EXPAND);
    ex->index = 0; /* not the last axis */
    expect_verify_error("expand is not a row op of the fused shape");
    f = xent_grad_fused();
    Node *pg = body_op(f, OP_PICKGRAD);
    for (int k = 0; k < f->fused->n; k++)
        if (f->fused->nodes[k]->op == OP_ARG && !f->fused->nodes[k]->ta && f->fused->nodes[k] != pg)
            pg->in[0] = f->fused->nodes[k]; /* an element ARG where a row ARG belongs */
    expect_verify_error("pick_grad is not a row op of the fused shape");
}

/* No loss: nothing to differentiate, no gradients, no error. */
static void test_no_loss(void **state) {
    (void)state;
    Graph *g = lower_src("model nl\ndim D = 2\nparam w : [D]\ninput x : [D]\nh = w * x\noutput h\n", false);
    assert_true(autodiff(g, NULL));
    assert_null(g->grads);
}

/* A softmax approximation has no gradient rule yet: an error at the node. */
static void test_no_gradient_error(void **state) {
    (void)state;
    Graph *g = lower_src("model ng\ndim V = 5\ndim D = 2\nparam W : [V, D]\ninput x : [D]\ninput y : int\n"
                         "loss += cross_entropy(W @ x, y)\n",
                         true);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    Diag d;
    diag_init(&d, out);
    const char *src = "model ng\ndim V = 5\ndim D = 2\nparam W : [V, D]\ninput x : [D]\ninput y : int\n"
                      "loss += cross_entropy(W @ x, y)\n";
    diag_add_file(&d, "t.nn", src, strlen(src));
    assert_false(autodiff(g, &d));
    fclose(out);
    assert_non_null(strstr(buf, "t.nn:7:9: error: no gradient for cross_entropy with neg"));
    assert_null(g->grads);
    free(buf);
}

/* The dump shows the gradient ops with their attributes, and the
 * gradients as declarations. */
static void test_dump_of_gradient_ops(void **state) {
    (void)state;
    Graph *g = train_graph("model dp\n"
                           "dim A = 2\ndim B = 3\n"
                           "param p : [A]\nparam q : [B]\nparam M : [A, B]\nparam c : [B]\n"
                           "z = concat(p, q)\n"
                           "loss += sum(z * z) + sum(sum(M, 0) * c) + sum(M + c) + sum(relu(q) + abs(q))\n");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ir_print(g, f, "after autodiff");
    fclose(f);
    const char *want[] = {"= slice %", "from=0 : f32[2]", "from=2 : f32[3]", "= expand %", "axis=0 : f32[2, 3]",
                          "= sum_to %", "= step %", "= sign %", "grad p = %", "grad M = %", "grad c = %"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(buf, want[i]))
            fail_msg("no \"%s\" in:\n%s", want[i], buf);
    free(buf);
}

/* The gradient ops' typing rules reject mismatched operands. */
static void test_gradient_op_typing(void **state) {
    (void)state;
    Graph *g = ir_new_graph();
    char err[256];
    Node *v = ir_new_node(OP_FILL, 0, NULL, NO_LOC);
    v->shape = (Shape){.rank = 1, .d = {size_const(3)}};
    assert_true(ir_infer(g, v, err, sizeof err));
    Node *m = ir_new_node(OP_FILL, 0, NULL, NO_LOC);
    m->shape = (Shape){.rank = 2, .d = {size_const(4), size_const(3)}};
    assert_true(ir_infer(g, m, err, sizeof err));
    Node *o = ir_new_node(OP_OUTER, 2, (Node *[]){v, v}, NO_LOC);
    assert_true(ir_infer(g, o, err, sizeof err));
    assert_int_equal(o->shape.rank, 2);
    Node *st = ir_new_node(OP_SUMTO, 1, &m, NO_LOC);
    st->shape = v->shape;
    assert_true(ir_infer(g, st, err, sizeof err));
    st->shape = (Shape){.rank = 1, .d = {size_const(4)}};
    assert_false(ir_infer(g, st, err, sizeof err));
    Node *ex = ir_new_node(OP_EXPAND, 1, &v, NO_LOC);
    ex->shape = m->shape;
    ex->index = 0;
    assert_true(ir_infer(g, ex, err, sizeof err));
    ex->index = 1;
    assert_false(ir_infer(g, ex, err, sizeof err));
    Node *sl = ir_new_node(OP_SLICE, 1, &m, NO_LOC);
    sl->shape = (Shape){.rank = 2, .d = {size_const(2), size_const(3)}};
    sl->size = size_const(2);
    assert_true(ir_infer(g, sl, err, sizeof err));
    sl->size = size_const(3);
    assert_false(ir_infer(g, sl, err, sizeof err));
    Node *sm = ir_new_node(OP_SOFTMAXGRAD, 2, (Node *[]){m, v}, NO_LOC);
    assert_false(ir_infer(g, sm, err, sizeof err));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_mlp),
        cmocka_unit_test(test_grad_elementwise_builtins),
        cmocka_unit_test(test_grad_lookup_and_axis_reductions),
        cmocka_unit_test(test_grad_broadcasting),
        cmocka_unit_test(test_grad_concat_softmax),
        cmocka_unit_test(test_grad_rnn),
        cmocka_unit_test(test_grad_rnn_stack_and_final_state),
        cmocka_unit_test(test_grad_skipgram),
        cmocka_unit_test(test_grad_weighted_losses_in_loop),
        cmocka_unit_test(test_grad_zero_trip_loop),
        cmocka_unit_test(test_grad_slowimpl),
        cmocka_unit_test(test_grad_nested_carries),
        cmocka_unit_test(test_grad_transposed_products),
        cmocka_unit_test(test_grad_logsumexp_pick),
        cmocka_unit_test(test_grad_dynamic_means),
        cmocka_unit_test(test_grad_examples),
        cmocka_unit_test(test_frozen_param),
        cmocka_unit_test(test_rnn_structure),
        cmocka_unit_test(test_rnn_batched_gradients),
        cmocka_unit_test(test_pipelines_verify),
        cmocka_unit_test(test_verify_row_ops),
        cmocka_unit_test(test_no_loss),
        cmocka_unit_test(test_no_gradient_error),
        cmocka_unit_test(test_dump_of_gradient_ops),
        cmocka_unit_test(test_gradient_op_typing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
