/*
 * c_approx.c - the C code of the softmax approximations' ops (passes/approx.c,
 * docs/APPROX.md): sample, neg_loss, neg_loss_grad, and what the model
 * needs for them (the noise table in struct NAME, the samples' stream in
 * struct NAME_ctx, NAME_set_counts, NAME_ctx_seed).
 *
 * A sample's draws come from the stream nnrt_rng_stream(seed, step, key):
 * seed is the context's (NAME_ctx_seed; by default the model's seed and
 * the context's creation number), step counts its NAME_ctx_grad calls, key
 * mixes the sample's site and its loop indexes. So a draw is a function of
 * where it is, and autodiff's recomputation of a sample in the backward
 * loop draws the same ids. A test may define NNGC_SAMPLE_HOOK(site, ids, n)
 * when compiling model.c to see every draw.
 */
#include "backend.h"
#include "nnrt_approx.h"

#include <math.h>

static bool block_has(const Block *b, Op op)
{
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        if (n->op == op || (n->op == OP_LOOP && block_has(&n->loop->body, op)))
            return true;
    }
    return false;
}

/* The graph that may draw: the train graph (x is the forward graph's
 * context, or the train graph's own). */
static const Block *train_top(const Ctx *x)
{
    return x->train ? &x->train->g->top : &x->g->top;
}

/* Does the train graph draw samples? Then the model has a noise table. */
bool c_uses_samples(const Ctx *x)
{
    return block_has(train_top(x), OP_SAMPLE);
}

/* Does either graph walk a Huffman tree? Then the model has one. */
static bool uses_tree(const Ctx *x)
{
    return block_has(&x->g->top, OP_HIERPATH) || block_has(train_top(x), OP_HIERPATH);
}

/* Does either graph use RNNLM classes? Then the model has them. */
static bool uses_classes(const Ctx *x)
{
    return block_has(&x->g->top, OP_CLASSIDS) || block_has(train_top(x), OP_CLASSIDS);
}

/* The first node of op in b (and its loops), or NULL. */
static const Node *find_op(const Block *b, Op op)
{
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        if (n->op == op)
            return n;
        if (n->op == OP_LOOP) {
            const Node *r = find_op(&n->loop->body, op);
            if (r)
                return r;
        }
    }
    return NULL;
}

/* The node that sizes the model's structure op (the first one; check_block
 * rejects a model whose nodes disagree). */
static const Node *first_of(const Ctx *x, Op op)
{
    const Node *n = find_op(train_top(x), op);
    return n ? n : find_op(&x->g->top, op);
}

static void check_block(Ctx *x, const Block *b, const Node *first)
{
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        if (n->op == first->op && (n->size.c != first->size.c || (n->op != OP_SAMPLE && n->i != first->i) ||
                                   (n->op == OP_CLASSIDS && n->index != first->index)))
            emit_error(x, n->loc, "the softmax approximations of one model must share one vocabulary (%" PRId64
                       " and %" PRId64 " words)%s", first->size.c, n->size.c,
                       n->op == OP_CLASSIDS ? " and one number of classes" : "");
        if (n->op == OP_LOOP)
            check_block(x, &n->loop->body, first);
    }
}

/* --counts: the structures NAME_create will build from them, built here
 * once, so that what NAME_set_counts would reject (a class or a Huffman
 * path over the static length) is a compile-time error. */
static void check_counts(Ctx *x)
{
    const Node *h = first_of(x, OP_HIERPATH), *c = first_of(x, OP_CLASSIDS);
    int64_t *counts1 = xalloc(sizeof(int64_t) * (size_t)x->ncounts); /* as emit_build: 0 counts 1 */
    for (int64_t i = 0; i < x->ncounts; i++)
        counts1[i] = x->counts[i] > 0 ? x->counts[i] : 1;
    if (h) {
        nnrt_huffman t;
        if (nnrt_huffman_build(&t, counts1, h->size.c) != NNRT_OK) {
            emit_error(x, NO_LOC, "--counts: %s: %s", x->counts_path, nnrt_last_error());
            return;
        }
        if (t.max_len > h->i)
            emit_error(x, NO_LOC, "--counts: %s: a Huffman path of %d nodes, over the %" PRId64 " nngc allows",
                       x->counts_path, t.max_len, h->i);
        nnrt_huffman_free(&t);
    }
    if (c) {
        nnrt_classes cl;
        if (nnrt_classes_build(&cl, counts1, c->size.c, c->index, 1) != NNRT_OK) {
            emit_error(x, NO_LOC, "--counts: %s: %s", x->counts_path, nnrt_last_error());
            return;
        }
        for (int64_t k = 0; k < cl.C; k++)
            if (cl.start[k + 1] - cl.start[k] > c->i) {
                emit_error(x, NO_LOC, "--counts: %s: class %" PRId64 " has %d words, over the %" PRId64
                           " nngc allows for class(c = %d) (4 V / c); use more classes", x->counts_path, k,
                           cl.start[k + 1] - cl.start[k], c->i, c->index);
                break;
            }
        nnrt_classes_free(&cl);
    }
}

/* The vocabulary of the structures built from counts (0: none). */
static int64_t counts_vocab(const Ctx *x)
{
    const Node *s = first_of(x, OP_SAMPLE), *h = first_of(x, OP_HIERPATH), *c = first_of(x, OP_CLASSIDS);
    return s ? s->size.c : h ? h->size.c : c ? c->size.c : 0;
}

void c_approx_check(Ctx *x)
{
    if (x->counts && !c_approx_includes(x))
        emit_error(x, NO_LOC, "--counts: %s: model %s uses no word counts (they shape the samples of neg, nce "
                   "and sampled, hier's tree and class's classes)", x->counts_path, x->g->model);
    else if (x->counts && x->ncounts != counts_vocab(x))
        emit_error(x, NO_LOC, "--counts: %s: %" PRId64 " counts for a vocabulary of %" PRId64 " words (one count per word id)",
                   x->counts_path, x->ncounts, counts_vocab(x));
    else if (x->counts)
        check_counts(x);
    static const Op ops[] = {OP_SAMPLE, OP_HIERPATH, OP_CLASSIDS};
    for (int k = 0; k < 3; k++) {
        const Node *first = first_of(x, ops[k]);
        if (!first)
            continue;
        check_block(x, &x->g->top, first);
        if (x->train)
            check_block(x, &x->train->g->top, first);
    }
}

void c_approx_struct(Ctx *x, bool ctx)
{
    if (ctx) {
        if (c_uses_samples(x))
            craw(x, "    uint64_t seed, step; /* the samples' stream: NAME_ctx_seed, NAME_ctx_grad calls */\n");
        return;
    }
    if (c_uses_samples(x))
        craw(x, "    nnrt_alias noise; /* the samples' noise distribution (NAME_set_counts) */\n"
                "    uint64_t seed, nctx; /* create's seed, contexts created */\n");
    if (uses_tree(x))
        craw(x, "    nnrt_huffman tree; /* hier's Huffman tree (NAME_set_counts) */\n");
    if (uses_classes(x))
        craw(x, "    nnrt_classes classes; /* class's word classes (NAME_set_counts) */\n");
}

/* Does the model have structures built from word counts (NAME_set_counts)? */
bool c_approx_includes(const Ctx *x)
{
    return c_uses_samples(x) || uses_tree(x) || uses_classes(x);
}

/* Does the generated C call the runtime's approximation functions? */
bool c_approx_header(const Ctx *x)
{
    const Block *t = train_top(x), *f = &x->g->top;
    return c_approx_includes(x) || block_has(t, OP_BINCODE) || block_has(f, OP_BINCODE);
}

/* Does either graph have one of the two ops? */
static bool uses_either(const Ctx *x, Op a, Op b)
{
    const Block *t = train_top(x), *f = &x->g->top;
    return block_has(t, a) || block_has(t, b) || block_has(f, a) || block_has(f, b);
}

/* The helpers, each only when used (clang warns of an unused static one). */
void c_approx_prelude(Ctx *x)
{
    if (uses_either(x, OP_NEGLOSS, OP_NEGLOSS)) { /* (logistic_loss: one log per row) */
        /* log1p(t) as log(1 + t) times t / ((1 + t) - 1), which corrects
         * the rounding of 1 + t (Goldberg 1991; a few ulps): logf is
         * much cheaper than log1pf */
        craw(x, "static inline float nn_softplus(float x)\n{\n");
        craw(x, "    const float t = expf(-fabsf(x)), u = 1.0f + t;\n");
        craw(x, "    return (x > 0.0f ? x : 0.0f) + (u == 1.0f ? t : logf(u) * (t / (u - 1.0f)));\n}\n\n");
    }
    if (uses_either(x, OP_NEGLOSSGRAD, OP_LOGISTICGRAD))
        craw(x, "static inline float nn_sigmoid(float x)\n{\n    return 1.0f / (1.0f + expf(-x));\n}\n\n");
}

/* The structures from counts (NULL: uniform), into m: the noise from
 * counts, the tree and the classes from tcounts (the same with 0 counted
 * as 1: every id, seen or not, gets a place of its size; else the unseen
 * ids past the vocabulary make one chain of a tree, one huge class); the
 * tree and the classes checked against their static lengths. In
 * NAME_create and NAME_set_counts. */
static void emit_build(Ctx *x, const char *counts, const char *tcounts, const char *fail)
{
    const Node *s = first_of(x, OP_SAMPLE), *h = first_of(x, OP_HIERPATH), *c = first_of(x, OP_CLASSIDS);
    if (x->target->hook) /* C++17: nvcc's "set but never used" does not count (void) */
        craw(x, "    [[maybe_unused]] int rc = NNRT_OK;\n");
    else
        craw(x, "    int rc = NNRT_OK;\n    (void)rc;\n");
    if (s) {
        craw(x, "    nnrt_alias a;\n");
        craw(x, "    if ((rc = nnrt_alias_build(&a, %s, %" PRId64 ", %s)) != NNRT_OK) {\n%s    }\n", counts, s->size.c,
             s->f == NN_NOISE_POWER ? "NNRT_NOISE_POWER" : double_lit(s->f), fail);
    }
    if (h) {
        craw(x, "    nnrt_huffman t;\n");
        craw(x, "    if ((rc = nnrt_huffman_build(&t, %s, %" PRId64 ")) != NNRT_OK) {\n%s%s    }\n", tcounts, h->size.c,
             s ? "        nnrt_alias_free(&a);\n" : "", fail);
        craw(x, "    if (t.max_len > %" PRId64 ") {\n", h->i);
        craw(x, "        rc = nnrt_error(NNRT_ERR_SHAPE, \"%s: these counts make a Huffman path of %%d nodes, over the %"
                PRId64 " hier's paths were compiled for (the longest path of the counts known to nngc, else %d): "
                "compile with --counts=FILE.npy of these counts\", t.max_len);\n", x->g->model, h->i, NN_HIER_MAX_PATH);
        craw(x, "        nnrt_huffman_free(&t);\n%s%s    }\n", s ? "        nnrt_alias_free(&a);\n" : "", fail);
    }
    if (c) {
        const char *rest = xsprintf("%s%s", s ? "        nnrt_alias_free(&a);\n" : "", h ? "        nnrt_huffman_free(&t);\n" : "");
        craw(x, "    nnrt_classes cl;\n");
        craw(x, "    if ((rc = nnrt_classes_build(&cl, %s, %" PRId64 ", %d, 1)) != NNRT_OK) {\n%s%s    }\n", tcounts,
             c->size.c, c->index, rest, fail);
        craw(x, "    for (int64_t k = 0; k < cl.C && rc == NNRT_OK; k++)\n");
        craw(x, "        if (cl.start[k + 1] - cl.start[k] > %" PRId64 ")\n", c->i);
        craw(x, "            rc = nnrt_error(NNRT_ERR_SHAPE, \"%s: class %%lld has %%lld words, over the %" PRId64
                " nngc allows for class(c = %d) (4 V / c); use more classes\", (long long)k, "
                "(long long)(cl.start[k + 1] - cl.start[k]));\n", x->g->model, c->i, c->index);
        craw(x, "    if (rc != NNRT_OK) {\n        nnrt_classes_free(&cl);\n%s%s    }\n", rest, fail);
    }
    if (s)
        craw(x, "    nnrt_alias_free(&m->noise);\n    m->noise = a;\n");
    if (h)
        craw(x, "    nnrt_huffman_free(&m->tree);\n    m->tree = t;\n");
    if (c)
        craw(x, "    nnrt_classes_free(&m->classes);\n    m->classes = cl;\n");
    if (x->target->hook) /* a device target: its copies are stale (cu_approx.c) */
        craw(x, "    m->dapx_ok = 0;\n");
}

/* NAME_create's and NAME_ctx_create's parts (after the allocation, before
 * the check of it), NAME_destroy's. */
void c_approx_create(Ctx *x, int what)
{
    if (!c_approx_includes(x))
        return;
    const Node *h = first_of(x, OP_HIERPATH), *c = first_of(x, OP_CLASSIDS), *hc = h ? h : c;
    switch (what) {
    case 0: /* model: --counts's structures, else uniform ones, until NAME_set_counts */
        if (x->counts) {
            for (int pass = 0; pass < 2; pass++) {
                if (pass ? !hc : !c_uses_samples(x)) /* the noise's, the tree's and classes' */
                    continue;
                craw(x, "    static const int64_t counts%s[%" PRId64 "] = { /* --counts=%s%s */", pass ? "1" : "",
                     x->ncounts, comment_safe(x->counts_path), pass ? ", 0 as 1" : "");
                for (int64_t i = 0; i < x->ncounts; i++)
                    craw(x, "%s%" PRId64 ",", i % 12 ? " " : "\n        ",
                         pass && x->counts[i] == 0 ? 1 : x->counts[i]);
                craw(x, "\n    };\n");
            }
        } else if (hc) {
            craw(x, "    static int64_t ones[%" PRId64 "];\n", hc->size.c);
            craw(x, "    for (int64_t i = 0; i < %" PRId64 "; i++)\n        ones[i] = 1;\n", hc->size.c);
        }
        craw(x, "    if (m) {\n");
        if (c_uses_samples(x))
            craw(x, "    m->seed = seed;\n");
        emit_build(x, x->counts ? "counts" : hc ? "ones" : "NULL", x->counts ? "counts1" : "ones", "        free(m);\n        m = NULL;\n        goto built;\n");
        craw(x, "    }\nbuilt:\n");
        break;
    case 1: /* context */
        if (c_uses_samples(x))
            craw(x, "    if (c)\n        c->seed = m->seed + 0x9E3779B97F4A7C15u * ++m->nctx;\n");
        break;
    default: /* destroy */
        if (c_uses_samples(x))
            craw(x, "    nnrt_alias_free(&m->noise);\n");
        if (h)
            craw(x, "    nnrt_huffman_free(&m->tree);\n");
        if (c)
            craw(x, "    nnrt_classes_free(&m->classes);\n");
        break;
    }
}

void c_approx_api(Ctx *x, bool header)
{
    if (!c_approx_includes(x))
        return;
    const char *M = x->g->model;
    const Node *s = first_of(x, OP_SAMPLE), *h = first_of(x, OP_HIERPATH), *c = first_of(x, OP_CLASSIDS);
    int64_t V = counts_vocab(x);
    if (header) {
        hline(x, "/* The softmax approximations' structures from word counts[n] in id order (n <= %" PRId64 ";\n", V);
        hline(x, " * ids past n count 0):%s%s%s. Uniform until set. Exclusive: nothing else may run on m. */\n",
              s ? " the samples' noise, counts^0.75" : "", h ? " hier's Huffman tree" : "",
              c ? " class's frequency classes" : "");
        hline(x, "int %s_set_counts(%s *m, const int64_t *counts, int64_t n);\n", M, M);
        if (s) {
            hline(x, "/* Restarts a context's sample stream: the draws of its grad calls depend on\n");
            hline(x, " * (seed, the calls since) alone. */\n");
            hline(x, "void %s_ctx_seed(%s_ctx *ctx, uint64_t seed);\n", M, M);
        }
        hline(x, "\n");
        return;
    }
    craw(x, "int %s_set_counts(%s *m, const int64_t *counts, int64_t n)\n{\n", M, M);
    craw(x, "    if (!m || !counts)\n        return nnrt_error(NNRT_ERR_ARG, \"%s_set_counts: NULL argument\");\n", M);
    craw(x, "    if (n < 1 || n > %" PRId64 ")\n", V);
    craw(x, "        return nnrt_error(NNRT_ERR_SHAPE, \"%s_set_counts: %%lld counts for %" PRId64 " words\", (long long)n);\n",
         M, V);
    craw(x, "    int64_t *all = (int64_t *)calloc(%" PRId64 ", sizeof *all); /* ids past n: count 0 */\n", V);
    craw(x, "    if (!all)\n        return nnrt_error(NNRT_ERR_NOMEM, \"%s_set_counts: out of memory\");\n", M);
    craw(x, "    memcpy(all, counts, (size_t)n * sizeof *all);\n");
    if (h || c) {
        craw(x, "    int64_t *all1 = (int64_t *)malloc(%" PRId64 " * sizeof *all1); /* a count of 0 counts 1 */\n", V);
        craw(x, "    if (!all1) {\n        free(all);\n");
        craw(x, "        return nnrt_error(NNRT_ERR_NOMEM, \"%s_set_counts: out of memory\");\n    }\n", M);
        craw(x, "    for (int64_t i = 0; i < %" PRId64 "; i++)\n        all1[i] = all[i] > 0 ? all[i] : 1;\n", V);
    }
    const char *frees = h || c ? "    free(all);\n    free(all1);\n" : "    free(all);\n";
    emit_build(x, "all", h || c ? "all1" : "all",
               h || c ? "        free(all);\n        free(all1);\n        return rc;\n" : "        free(all);\n        return rc;\n");
    craw(x, "%s    return NNRT_OK;\n}\n\n", frees);
    craw(x, "static int %s_set_counts_any(void *m, const int64_t *counts, int64_t n)\n{\n", M);
    craw(x, "    return %s_set_counts((%s *)m, counts, n);\n}\n\n", M, M);
    if (!s)
        return;
    craw(x, "void %s_ctx_seed(%s_ctx *c, uint64_t seed)\n{\n", M, M);
    craw(x, "    if (c) {\n        c->seed = seed;\n        c->step = 0;\n    }\n}\n\n");
}

/* nce and sampled: the segment's logits corrected by the noise, in
 * double (logq is), then the loss or its gradient; no sample skipped. */
static void emit_corrected(Ctx *x, const Node *n, const char *v, const char *z, const char *ids, const char *d)
{
    const int o = n->index;
    const int64_t len = n->i;
    bool nce = n->op == OP_NCELOSS || n->op == OP_NCEGRAD, grad = n->op == OP_NCEGRAD || n->op == OP_SAMPLEDGRAD;
    cline(x, "{");
    x->indent++;
    cline(x, "const double *lq = m->model->noise.logq;");
    if (!nce) {
        /* q(y) = 0 (a count of 0) makes o_0 = +inf and the loss NaN: an
         * error instead (nce's d(y) = +inf is a loss of 0, well defined) */
        cline(x, "if (lq[%s[%d]] == -INFINITY)", ids, o);
        cline(x, "    return nnrt_error(NNRT_ERR_RANGE, \"%s: %s\",", loc_fmt(x, n->loc), NNRT_SAMPLED_Q0_FMT);
        cline(x, "                      (long long)%s[%d]);", ids, o);
    }
    cline(x, "double c[%" PRId64 "];", len);
    cline(x, "for (int64_t j = 0; j < %" PRId64 "; j++) /* %s */", len,
          nce ? "d(w) = z - log(k q(w))" : "o = z - log q(w)");
    cline(x, "    c[j] = (double)%s[%d + j] - lq[%s[%d + j]]%s;", z, o, ids, o,
          nce ? xsprintf(" - %s", double_lit(log((double)(len - 1)))) : "");
    const int64_t row = n->in[0]->shape.d[n->in[0]->shape.rank - 1].c;
    if (grad && n->i < row)
        cline(x, "memset(%s, 0, %s * sizeof(float));", v, int_lit(row));
    if (nce) {
        if (grad) {
            cline(x, "for (int64_t j = 0; j < %" PRId64 "; j++)", len);
            cline(x, "    %s[%d + j] = %s[0] * (float)(1.0 / (1.0 + exp(-c[j])) - (j == 0));", v, o, d);
        } else {
            cline(x, "double l = log1p(exp(-fabs(c[0]))) + (c[0] < 0 ? -c[0] : 0.0);");
            cline(x, "for (int64_t j = 1; j < %" PRId64 "; j++)", len);
            cline(x, "    l += log1p(exp(-fabs(c[j]))) + (c[j] > 0 ? c[j] : 0.0);");
            cline(x, "%s[0] = (float)l;", v);
        }
    } else {
        cline(x, "double mx = c[0], s = 0.0;");
        cline(x, "for (int64_t j = 1; j < %" PRId64 "; j++)", len);
        cline(x, "    mx = c[j] > mx ? c[j] : mx;");
        cline(x, "for (int64_t j = 0; j < %" PRId64 "; j++)", len);
        cline(x, "    s += exp(c[j] - mx);");
        if (grad) {
            cline(x, "for (int64_t j = 0; j < %" PRId64 "; j++)", len);
            cline(x, "    %s[%d + j] = %s[0] * (float)(exp(c[j] - mx) / s - (j == 0));", v, o, d);
        } else {
            cline(x, "%s[0] = (float)(mx + log(s) - c[0]);", v);
        }
    }
    x->indent--;
    cline(x, "}");
}

/* class_loss and class_grad on one position: a softmax over the level's
 * part z[0..n) (the classes, or y's class range), in double; t the
 * target's place. v the loss (or gradient row), z the logits, y the
 * target (an int expression), d the incoming gradient (a one-float array). */
static void emit_class(Ctx *x, const Node *n, const char *v, const char *z, const char *y, const char *d)
{
    cline(x, "{");
    x->indent++;
    emit_index_check(x, n, y, int_lit(n->size.c));
    cline(x, "const nnrt_classes *cl = &m->model->classes;");
    if (n->index == 0)
        cline(x, "const int64_t n = cl->C, t = cl->word_class[%s];", y);
    else
        cline(x, "const int64_t n = cl->start[cl->word_class[%s] + 1] - cl->start[cl->word_class[%s]], t = cl->word_index[%s];",
              y, y, y);
    cline(x, "double mx = %s[0], s = 0.0;", z);
    cline(x, "for (int64_t j = 1; j < n; j++)");
    cline(x, "    mx = %s[j] > mx ? %s[j] : mx;", z, z);
    cline(x, "for (int64_t j = 0; j < n; j++)");
    cline(x, "    s += exp(%s[j] - mx);", z);
    if (n->op == OP_CLASSLOSS) {
        cline(x, "%s[0] = (float)(mx + log(s) - %s[t]);", v, z);
    } else {
        const Node *zn = n->in[0];
        cline(x, "for (int64_t j = 0; j < %s; j++)", int_lit(zn->shape.d[zn->shape.rank - 1].c));
        cline(x, "    %s[j] = j < n ? %s[0] * (float)(exp(%s[j] - mx) / s - (j == t)) : 0.0f;", v, d, z);
    }
    x->indent--;
    cline(x, "}");
}

/* class_ids on one position: y's class range, padded with its first id. */
static void emit_class_ids(Ctx *x, const Node *n, const char *v, const char *y)
{
    cline(x, "{");
    x->indent++;
    emit_index_check(x, n, y, int_lit(n->size.c));
    cline(x, "const nnrt_classes *cl = &m->model->classes;");
    cline(x, "const int32_t s = cl->start[cl->word_class[%s]], len = cl->start[cl->word_class[%s] + 1] - s;", y, y);
    cline(x, "for (int32_t j = 0; j < %" PRId64 "; j++)", n->i);
    cline(x, "    %s[j] = j < len ? s + j : s;", v);
    x->indent--;
    cline(x, "}");
}

/* bin_code on one position: the bits of y - hybrid, most significant
 * first (as nnrt_bincode_encode), or their convolutional code
 * (nnrt_ecc_encode) punctured to n bits: code bits j * total / n, j < n;
 * -1s for y < hybrid. */
static void emit_bincode(Ctx *x, const Node *n, const char *v, const char *y)
{
    int64_t N = n->index, V = n->size.c, bits = 1, len = n->i;
    while (((int64_t)1 << bits) < V - N)
        bits++;
    cline(x, "{");
    x->indent++;
    emit_index_check(x, n, y, int_lit(V));
    if (N > 0) {
        cline(x, "if (%s < %" PRId64 ") {", y, N);
        cline(x, "    for (int64_t j = 0; j < %" PRId64 "; j++)", len);
        cline(x, "        %s[j] = -1;", v);
        cline(x, "} else {");
    } else {
        cline(x, "{");
    }
    x->indent++;
    cline(x, "const int64_t c = %s - %" PRId64 ";", y, N);
    if (len == bits) {
        cline(x, "for (int64_t j = 0; j < %" PRId64 "; j++)", bits);
        cline(x, "    %s[j] = (int32_t)((c >> (%" PRId64 " - j)) & 1);", v, bits - 1);
    } else {
        int64_t total = 2 * (bits + NN_ECC_FLUSH);
        cline(x, "uint8_t msg[%" PRId64 "], code[%" PRId64 "];", bits, total);
        cline(x, "for (int64_t j = 0; j < %" PRId64 "; j++)", bits);
        cline(x, "    msg[j] = (uint8_t)((c >> (%" PRId64 " - j)) & 1);", bits - 1);
        cline(x, "nnrt_ecc_encode(%" PRId64 ", msg, code);", bits);
        cline(x, "for (int64_t j = 0; j < %" PRId64 "; j++) /* punctured evenly */", len);
        cline(x, "    %s[j] = code[j * %" PRId64 " / %" PRId64 "];", v, total, len);
    }
    x->indent--;
    cline(x, "}");
    x->indent--;
    cline(x, "}");
}

/* vmf_loss and vmf_grad on one position, in double: kappa = |o|,
 * nu = m/2 - 1, r = sqrt((nu+1)^2 + kappa^2); loss
 * r - (nu-1) log(nu-1+r) - o.e/|e|, gradient o / (nu-1+r) - e/|e|
 * (d/dkappa of the first terms is kappa / (nu-1+r); docs/APPROX.md). */
static void emit_vmf(Ctx *x, const Node *n, const char *v, const char *o, const char *e, const char *d)
{
    int64_t dim = n->in[0]->shape.d[n->in[0]->shape.rank - 1].c;
    cline(x, "{");
    x->indent++;
    bool loss = n->op == OP_VMFLOSS;
    cline(x, "double kk = 0.0, ee = 0.0%s;", loss ? ", oe = 0.0" : "");
    cline(x, "for (int64_t j = 0; j < %" PRId64 "; j++) {", dim);
    cline(x, "    kk += (double)%s[j] * %s[j];", o, o);
    cline(x, "    ee += (double)%s[j] * %s[j];", e, e);
    if (loss)
        cline(x, "    oe += (double)%s[j] * %s[j];", o, e);
    cline(x, "}");
    cline(x, "const double ne = ee > 0.0 ? sqrt(ee) : 1.0, nu = %s, rr = sqrt((nu + 1.0) * (nu + 1.0) + kk);",
          double_lit((double)dim / 2.0 - 1.0));
    const char *l1 = double_lit(n->approx.lambda1), *l2 = double_lit(n->approx.lambda2);
    if (loss) {
        cline(x, "%s[0] = (float)(rr - (nu - 1.0) * log(nu - 1.0 + rr) - %s * oe / ne + %s * sqrt(kk));", v, l2, l1);
    } else { /* d/do of lambda1 |o|: lambda1 o / |o| (0 at o = 0) */
        cline(x, "const double r1 = kk > 0.0 ? %s / sqrt(kk) : 0.0;", l1);
        cline(x, "for (int64_t j = 0; j < %" PRId64 "; j++)", dim);
        cline(x, "    %s[j] = %s[0] * (float)(%s[j] / (nu - 1.0 + rr) + r1 * %s[j] - %s * %s[j] / ne);", v, d, o, o, l2, e);
    }
    x->indent--;
    cline(x, "}");
}

/* bin_logz on one position: binary's normalizer over the vocabulary, 0
 * for the words of the hybrid softmax (nnrt_code_logz). */
static void emit_logz(Ctx *x, const Node *n, const char *v, const char *z, const char *y)
{
    int64_t N = n->index, V = n->size.c, bits = 1;
    while (((int64_t)1 << bits) < V - N)
        bits++;
    emit_index_check(x, n, y, int_lit(V));
    cline(x, "%s[0] = %s < %" PRId64 " ? 0.0f : (float)nnrt_code_logz(%" PRId64 ", %s, %" PRId64 ", %" PRId64 ");", v, y, N,
          bits, z, n->i, V - N);
}

/* class, binary and embed's ops: one position, or (batch pass) one per
 * row of their batched operands (the leading axis of the targets or of
 * the logits), each row as one position. */
static void emit_per_target(Ctx *x, const Node *n, const char *v)
{
    const Node *a = n->in[0];
    const bool ids = n->op == OP_CLASSIDS || n->op == OP_BINCODE || n->op == OP_BINSLOT;
    bool rows = ids ? a->shape.rank >= 1 : a->shape.rank >= 2; /* targets [n] or [T, n]: T n rows */
    const char *d = n->nin > 2 ? vname(n->in[2]) : NULL;
    const char *va = vname(a), *vb = n->nin > 1 ? vname(n->in[1]) : NULL;
    if (!rows) {
        switch (n->op) {
        case OP_CLASSIDS: emit_class_ids(x, n, v, va); break;
        case OP_BINCODE: emit_bincode(x, n, v, va); break;
        case OP_BINSLOT:
            emit_index_check(x, n, va, int_lit(n->size.c));
            cline(x, "const int64_t %s = %s < %d ? %s : %d;", v, va, n->index, va, n->index);
            break;
        case OP_CLASSLOSS: case OP_CLASSGRAD: emit_class(x, n, v, va, vb, d); break;
        case OP_BINLOGZ: emit_logz(x, n, v, va, vb); break;
        default: emit_vmf(x, n, v, va, vb, d); break;
        }
        return;
    }
    const char *len = int_lit(n->op == OP_CLASSIDS || n->op == OP_BINCODE ? n->i : a->shape.d[a->shape.rank - 1].c);
    bool per_row = n->shape.rank > (ids ? a->shape.rank : a->shape.rank - 1); /* a row of results per position */
    Shape lead = a->shape; /* the rows: every target (ids), every axis but the logits' (the rest) */
    lead.rank -= ids ? 0 : 1;
    cline(x, "for (int64_t r = 0; r < %s; r++) {", count_c(x, &lead, 0));
    x->indent++;
    if (d)
        cline(x, "const float *dr = %s%s;", d, n->in[2]->shape.rank ? " + r" : "");
    switch (n->op) {
    case OP_CLASSIDS:
    case OP_BINCODE:
        cline(x, "const int64_t yr = %s[r];", va);
        cline(x, "int32_t *vr = %s + r * %s;", v, len);
        if (n->op == OP_CLASSIDS)
            emit_class_ids(x, n, "vr", "yr");
        else
            emit_bincode(x, n, "vr", "yr");
        break;
    case OP_BINSLOT:
        emit_index_check(x, n, xsprintf("%s[r]", va), int_lit(n->size.c));
        cline(x, "%s[r] = %s[r] < %d ? %s[r] : %d;", v, va, n->index, va, n->index);
        break;
    case OP_BINLOGZ:
        cline(x, "const int64_t yr = %s[r];", vb);
        cline(x, "const float *zr = %s + r * %s;", va, len);
        emit_logz(x, n, xsprintf("(%s + r)", v), "zr", "yr");
        break;
    case OP_CLASSLOSS:
    case OP_CLASSGRAD:
        cline(x, "const int64_t yr = %s[r];", vb);
        cline(x, "const float *zr = %s + r * %s;", va, len);
        cline(x, "float *vr = %s + r%s;", v, per_row ? xsprintf(" * %s", len) : "");
        emit_class(x, n, "vr", "zr", "yr", d ? "dr" : NULL);
        break;
    default:
        cline(x, "const float *or = %s + r * %s, *er = %s + r * %s;", va, len, vb, len);
        cline(x, "float *vr = %s + r%s;", v, per_row ? xsprintf(" * %s", len) : "");
        emit_vmf(x, n, "vr", "or", "er", d ? "dr" : NULL);
        break;
    }
    x->indent--;
    cline(x, "}");
}

/* neg_loss_grad on one row: each of its segments (passes/rows.c: one per
 * operand after ids, at index + s len) with its gradient, d the first's
 * name ("d" or "dr" gets the segment's number appended when there are
 * several: emit_sampling_loss), zeros elsewhere. */
static void emit_neg_grad(Ctx *x, const Node *n, const char *v, const char *z, const char *ids, const char *d)
{
    const int64_t row = n->in[0]->shape.d[n->in[0]->shape.rank - 1].c, nseg = n->nin - 2;
    if (nseg * n->i < row)
        cline(x, "memset(%s, 0, %s * sizeof(float));", v, int_lit(row));
    for (int s = 0; s < nseg; s++) {
        const int64_t o = n->index + s * n->i;
        const char *ds = nseg > 1 ? xsprintf("%s%d", d, s) : d;
        cline(x, "%s[%" PRId64 "] = %s[0] * (nn_sigmoid(%s[%" PRId64 "]) - 1.0f);", v, o, ds, z, o);
        cline(x, "for (int64_t j = %" PRId64 "; j < %" PRId64 "; j++)", o + 1, o + n->i);
        cline(x, "    %s[j] = %s[j] != %s[%" PRId64 "] ? %s[0] * nn_sigmoid(%s[j]) : 0.0f;", v, ids, ids, o, ds, z);
    }
}

/* The loss or gradient ops of the sampling methods (and hier's logistic
 * loss) on one segment of one row: v (the loss, or the gradient row), z
 * and ids the row's logits and ids (hier: labels), d the incoming
 * gradient (a one-float array). */
static void emit_segment(Ctx *x, const Node *n, const char *v, const char *z, const char *ids, const char *d)
{
    if (n->op == OP_NEGLOSSGRAD) {
        emit_neg_grad(x, n, v, z, ids, d);
        return;
    }
    const int o = n->index;
    const int64_t row = n->in[0]->shape.d[n->in[0]->shape.rank - 1].c;
    const bool path = n->in[1]->op == OP_HIERLABEL; /* its -1s only after the path */
    switch (n->op) {
    case OP_NEGLOSS: /* a sample equal to the target is skipped (word2vec) */
        cline(x, "{");
        x->indent++;
        cline(x, "float l = nn_softplus(-%s[%d]);", z, o);
        cline(x, "for (int64_t j = %d; j < %" PRId64 "; j++)", o + 1, o + n->i);
        cline(x, "    if (%s[j] != %s[%d])", ids, ids, o);
        cline(x, "        l += nn_softplus(%s[j]);", z);
        cline(x, "%s[0] = l;", v);
        x->indent--;
        cline(x, "}");
        break;
    case OP_LOGISTICLOSS: /* ids: the labels, -1 skipped (hier's: a path ends at its first -1) */
        cline(x, "{");
        x->indent++;
        /* sum softplus(s) = sum max(s, 0) + log prod (1 + exp(-|s|)):
         * one log per row, not one log1p per entry (in double; the
         * product, of factors in (1, 2], is taken out before 2^1000) */
        cline(x, "double l = 0.0, p = 1.0;");
        cline(x, "for (int64_t j = 0; j < %" PRId64 "%s; j++)", row, path ? xsprintf(" && %s[j] >= 0", ids) : "");
        cline(x, "    if (%s[j] >= 0) {", ids);
        cline(x, "        const float s = %s[j] ? -%s[j] : %s[j];", ids, z, z);
        cline(x, "        l += s > 0.0f ? s : 0.0f;");
        cline(x, "        p *= 1.0 + (double)expf(-fabsf(s));");
        if (row > 1000)
            cline(x, "        if (p > 0x1p1000) { l += log(p); p = 1.0; }");
        cline(x, "    }");
        cline(x, "%s[0] = (float)(l + log(p));", v);
        x->indent--;
        cline(x, "}");
        break;
    case OP_LOGISTICGRAD:
        if (path) { /* to the path's end, then zeros */
            cline(x, "{");
            cline(x, "    int64_t j = 0;");
            cline(x, "    for (; j < %" PRId64 " && %s[j] >= 0; j++)", row, ids);
            cline(x, "        %s[j] = %s[0] * (nn_sigmoid(%s[j]) - (float)%s[j]);", v, d, z, ids);
            cline(x, "    for (; j < %" PRId64 "; j++)", row);
            cline(x, "        %s[j] = 0.0f;", v);
            cline(x, "}");
            break;
        }
        cline(x, "for (int64_t j = 0; j < %" PRId64 "; j++)", row);
        cline(x, "    %s[j] = %s[j] >= 0 ? %s[0] * (nn_sigmoid(%s[j]) - (float)%s[j]) : 0.0f;", v, ids, d, z, ids);
        break;
    default:
        emit_corrected(x, n, v, z, ids, d);
        break;
    }
}

/* A sampling method's loss or gradient: one position, or (batch pass) one
 * per row of [n, k+1] logits and ids ([T, n, k+1]: T n rows), each row as
 * one position. */
static void emit_sampling_loss(Ctx *x, const Node *n, const char *v)
{
    const Node *z = n->in[0];
    const char *d = n->nin > 2 ? vname(n->in[2]) : NULL;
    if (z->shape.rank == 1) {
        if (n->nin <= 3) {
            emit_segment(x, n, v, vname(z), vname(n->in[1]), d);
            return;
        }
        cline(x, "{"); /* several segments: d0, d1, ... */
        x->indent++;
        for (int s = 0; s < n->nin - 2; s++)
            cline(x, "const float *d%d = %s;", s, vname(n->in[2 + s]));
        emit_segment(x, n, v, vname(z), vname(n->in[1]), "d");
        x->indent--;
        cline(x, "}");
        return;
    }
    bool grad = n->nin > 2;
    char *len, *rows;
    last_axis_rows(x, z, &len, &rows);
    cline(x, "for (int64_t r = 0; r < %s; r++) {", rows);
    x->indent++;
    cline(x, "const float *zr = %s + r * %s;", vname(z), len);
    cline(x, "const int32_t *ir = %s + r * %s;", vname(n->in[1]), len);
    cline(x, "float *vr = %s + r%s;", v, grad ? xsprintf(" * %s", len) : "");
    for (int s = 0; grad && s < n->nin - 2; s++) /* dr, or several: dr0, dr1, ... */
        cline(x, "const float *dr%s = %s%s;", n->nin > 3 ? xsprintf("%d", s) : "", vname(n->in[2 + s]),
              n->in[2 + s]->shape.rank ? " + r" : "");
    emit_segment(x, n, "vr", "zr", "ir", grad ? "dr" : NULL);
    x->indent--;
    cline(x, "}");
}

/* The pad id of hier's paths: the table's last row, V - 1, which is no
 * inner node (those are 0 .. V - 2): a valid row for the ops that read
 * paths as plain ids (gather, scatter_add), and a mark for the rows ops,
 * which stop a path at it (c_gather.c, runtime/rows_path.c);
 * NNRT_PAD_RANGE for class's ranges (class_ids: distinct ids padded with
 * the first). -1 when ids are not paths or ranges one per group of their
 * last axis: hier_path, class_ids, or a concat of such along an earlier
 * axis. */
int64_t c_path_pad(const Node *ids)
{
    if (ids->op == OP_HIERPATH)
        return ids->size.c - 1;
    if (ids->op == OP_CLASSIDS) /* ranges padded with their first id (emit_class_ids) */
        return C_PAD_RANGE;
    if (ids->op != OP_CONCAT || ids->index >= ids->shape.rank - 1)
        return -1;
    int64_t a = c_path_pad(ids->in[0]), b = c_path_pad(ids->in[1]);
    return a != -1 && a == b ? a : -1;
}

const char *c_pad_text(int64_t pad)
{
    return pad == C_PAD_RANGE ? "NNRT_PAD_RANGE" : int_lit(pad);
}

void c_emit_approx(Ctx *x, Node *n, const char *v)
{
    switch (n->op) {
    case OP_SAMPLE: {
        /* [n, k+1] or [T, n, k+1] (batch pass): row t is what the sample
         * drew in iteration t, from the stream of the same key (its
         * operands' row t) */
        bool rows = n->shape.rank >= 2;
        const char *row = rows ? "s" : v;
        if (rows) {
            cline(x, "for (int64_t t = 0; t < %s; t++) {", count_c(x, &n->in[0]->shape, 0)); /* the targets */
            x->indent++;
            cline(x, "int32_t *s = %s + t * %" PRId64 ";", v, n->i + 1);
        } else {
            cline(x, "{");
            x->indent++;
        }
        cline(x, "uint64_t key = %d;", n->index);
        for (int j = 0; j < n->nin; j++) {
            const char *o = n->in[j]->shape.rank ? xsprintf("%s[t]", vname(n->in[j])) : vname(n->in[j]);
            if (j == 0)
                cline(x, "%s[0] = (int32_t)%s;", row, o);
            else
                cline(x, "key = key * 1000003u + (uint64_t)%s;", o);
        }
        cline(x, "nnrt_rng r;");
        cline(x, "nnrt_rng_stream(&r, m->seed, m->step, key);");
        cline(x, "for (int64_t j = 1; j <= %" PRId64 "; j++)", n->i);
        cline(x, "    %s[j] = nnrt_alias_draw(&m->model->noise, &r);", row);
        craw(x, "#ifdef NNGC_SAMPLE_HOOK\n");
        cline(x, "NNGC_SAMPLE_HOOK(%d, %s, %" PRId64 ");", n->index, row, n->i + 1);
        craw(x, "#endif\n");
        x->indent--;
        cline(x, "}");
        break;
    }
    case OP_NEGLOSS:
    case OP_NEGLOSSGRAD:
    case OP_NCELOSS:
    case OP_NCEGRAD:
    case OP_SAMPLEDLOSS:
    case OP_SAMPLEDGRAD:
        emit_sampling_loss(x, n, v);
        break;
    case OP_HIERPATH:
    case OP_HIERLABEL: { /* the path root first, padded with c_path_pad (label -1); (batch pass) one per target */
        bool rows = n->shape.rank >= 2;
        const char *y = rows ? "y" : vname(n->in[0]), *p = rows ? "p" : v;
        if (rows) {
            cline(x, "for (int64_t t = 0; t < %s; t++) {", count_c(x, &n->in[0]->shape, 0));
            x->indent++;
            cline(x, "const int64_t y = %s[t];", vname(n->in[0]));
            cline(x, "int32_t *p = %s + t * %" PRId64 ";", v, n->i);
        } else {
            cline(x, "{");
            x->indent++;
        }
        emit_index_check(x, n, y, int_lit(n->size.c));
        cline(x, "nnrt_hier_fill(&m->model->tree, %s, %s, %" PRId64 ", %" PRId64 ", %d);", y, p, n->i,
              n->op == OP_HIERPATH ? c_path_pad(n) : -1, n->op == OP_HIERLABEL);
        x->indent--;
        cline(x, "}");
        break;
    }
    case OP_LOGISTICLOSS:
    case OP_LOGISTICGRAD:
        emit_sampling_loss(x, n, v);
        break;
    case OP_CLASSIDS:
    case OP_CLASSLOSS:
    case OP_CLASSGRAD:
    case OP_BINCODE:
    case OP_BINSLOT:
    case OP_VMFLOSS:
    case OP_VMFGRAD:
    case OP_BINLOGZ:
        emit_per_target(x, n, v);
        break;
    default:
        NN_ASSERT(!"an approximation op");
    }
}
