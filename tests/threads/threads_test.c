/*
 * threads_test.c - contexts of one model on two threads (docs/API.md,
 * "Threads"), through the descriptor only, for any model.
 *
 *   cc -DDESC=rnnlm_desc threads_test.c rnnlm.c -lnngrt ... -lpthread
 *   threads_test LABEL MAXID T
 *
 * A model without a train API (nngc --no-train) gets checks 1 and 2 for
 * forward alone, and a check that the descriptor's training context
 * entries are NULL.
 *
 * Examples: NEX random inputs, every dynamic dim T (short sentences), ids
 * in [0, MAXID), floats in [-1, 1). Checks, each printed "ok - ..." or
 * "not ok - ...":
 *
 *   1. one thread: the built-in context (forward, grad) and a new context
 *      (ctx_forward, ctx_grad) give the same loss, outputs and gradients,
 *      bit for bit: the references of 2.
 *   2. two threads, each with its own context of one model, run forward
 *      and grad on every example ROUNDS times, in opposite orders, at the
 *      same time: every loss, output and gradient equals the reference bit
 *      for bit (each context computes the same thing as one thread did).
 *   3. ctx_grad + update == train_step, bit for bit (params after two
 *      steps; optimizer state too), on two models made with one seed.
 *   4. grad_accumulate: ctx1 holds the gradient of example A, ctx2 that of
 *      B; after accumulate, ctx1 holds gA + gB (float sums, computed here);
 *      for SGD models (nstate == 0), update then gives w - lr * (gA + gB)
 *      computed here, bit for bit, over every param (so a row only B
 *      touched is updated too); and a later ctx_grad in ctx1 gives the
 *      reference gradient again (the rows of both lists were cleared).
 *   6. the grad-ready hook (ctx_set_grad_ready): during ctx_grad, every
 *      param is reported once, and what ctx_grad_data holds at that moment
 *      is already the final gradient (the reference of 1, bit for bit);
 *      where the model has params Wo and emb (the RNN LM), the output
 *      layer's comes before the embedding's (the backward pass finishes it
 *      first); with the hook unset, no call.
 *   7. ctx_grad_rows: a dense gradient gives -1; a sparse one lists every
 *      row where its gradient is nonzero, after one ctx_grad and (each
 *      row once) after grad_accumulate.
 *   5. with nnrt_set_op_threads(1), the loops that the pass par runs at
 *      the same time (birnn) run one after the other: the references of 1,
 *      computed with 2 op threads (the worker runs one loop), bit for bit.
 *
 * Built with -fsanitize=thread too (tests/threads/run.sh): check 2 is then
 * also a data race check of the generated code and the runtime.
 */
#define _POSIX_C_SOURCE 200809L /* pthread barriers under -std=c11 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nngrt.h"

#ifndef DESC
#error "compile with -DDESC=NAME_desc"
#endif
extern const nnrt_model_desc DESC;
static const nnrt_model_desc *d = &DESC;

#define NEX 3
#define ROUNDS 3
#define MAXIN 8
#define MAXOUT 8

static int failures;
static int ngrad; /* 2 with a train API (forward and grad), else 1 */
static const char *label; /* names the model and how it was compiled */

static void check(int cond, const char *what)
{
    printf("%s - %s: %s\n", cond ? "ok" : "not ok", label, what);
    failures += !cond;
}

static void die(const char *what)
{
    printf("not ok - %s: %s: %s\n", label, what, nnrt_last_error());
    exit(1);
}

typedef struct Example {
    int64_t dyn[8];
    void *data[MAXIN];
    const void *in[MAXIN];
} Example;

/* What one call computes: loss, outputs, gradients (all copied). */
typedef struct Result {
    float loss;
    float *out[MAXOUT];
    float *grad[64];
} Result;

static Example ex[NEX];
static Result ref_fwd[NEX], ref_grad[NEX];

/* Frees what run() copied into r (its loss stays). */
static void result_free(Result *r)
{
    for (int i = 0; i < MAXOUT; i++)
        free(r->out[i]), r->out[i] = NULL;
    for (int i = 0; i < 64; i++)
        free(r->grad[i]), r->grad[i] = NULL;
}

static int64_t count(const nnrt_tensor_desc *t, const int64_t *dyn)
{
    int64_t n = 1;
    for (int k = 0; k < t->rank; k++)
        n *= nnrt_size_eval(&t->shape[k], dyn);
    return n;
}

static uint64_t rng_state = 12345;
static uint32_t next_rand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

static void make_example(Example *e, int64_t maxid, int64_t T)
{
    for (int i = 0; i < d->ndyn; i++)
        e->dyn[i] = T;
    for (int i = 0; i < d->ninputs; i++) {
        const nnrt_tensor_desc *t = &d->inputs[i];
        int64_t n = count(t, e->dyn);
        if (t->dtype == NNRT_I32) {
            int32_t *v = malloc(sizeof *v * (size_t)n);
            for (int64_t k = 0; k < n; k++)
                v[k] = (int32_t)(next_rand() % (uint32_t)maxid);
            e->data[i] = v;
        } else {
            float *v = malloc(sizeof *v * (size_t)n);
            for (int64_t k = 0; k < n; k++)
                v[k] = (float)(next_rand() % 2000) / 1000.0f - 1.0f;
            e->data[i] = v;
        }
        e->in[i] = e->data[i];
    }
}

static int64_t grad_count(int i)
{
    return count(&d->params[i], NULL);
}

/* Runs forward (grad == 0) or grad in context c (or, when m is given, the
 * model's built-in entry points) and copies what it computed into r. */
static int run(void *m, void *c, const Example *e, int grad, Result *r)
{
    const float *outs[MAXOUT];
    int rc = m ? (grad ? d->grad : d->forward)(m, e->dyn, e->in, &r->loss, outs)
               : (grad ? d->ctx_grad : d->ctx_forward)(c, e->dyn, e->in, &r->loss, outs);
    if (rc != NNRT_OK)
        return rc;
    for (int i = 0; i < d->noutputs; i++) {
        size_t n = (size_t)count(&d->outputs[i], e->dyn);
        r->out[i] = realloc(r->out[i], n * sizeof(float));
        memcpy(r->out[i], outs[i], n * sizeof(float));
    }
    for (int i = 0; grad && i < d->nparams; i++) {
        size_t n = (size_t)grad_count(i);
        const float *g = m ? d->grad_data(m, i) : d->ctx_grad_data(c, i);
        r->grad[i] = realloc(r->grad[i], n * sizeof(float));
        memcpy(r->grad[i], g, n * sizeof(float));
    }
    return NNRT_OK;
}

/* Are a and b the same, bit for bit? */
static int same(const Result *a, const Result *b, const Example *e, int grad)
{
    if (memcmp(&a->loss, &b->loss, sizeof a->loss) != 0)
        return 0;
    for (int i = 0; i < d->noutputs; i++)
        if (memcmp(a->out[i], b->out[i], (size_t)count(&d->outputs[i], e->dyn) * sizeof(float)) != 0)
            return 0;
    for (int i = 0; grad && i < d->nparams; i++)
        if (memcmp(a->grad[i], b->grad[i], (size_t)grad_count(i) * sizeof(float)) != 0)
            return 0;
    return 1;
}

typedef struct Worker {
    void *ctx;
    int reverse;
    pthread_barrier_t *start;
    int mismatches, errors;
} Worker;

static void *work(void *arg)
{
    Worker *w = arg;
    Result r = {0};
    pthread_barrier_wait(w->start);
    for (int round = 0; round < ROUNDS; round++)
        for (int k = 0; k < NEX; k++) {
            int i = w->reverse ? NEX - 1 - k : k;
            for (int grad = 0; grad < ngrad; grad++) {
                if (run(NULL, w->ctx, &ex[i], grad, &r) != NNRT_OK)
                    w->errors++;
                else if (!same(&r, grad ? &ref_grad[i] : &ref_fwd[i], &ex[i], grad))
                    w->mismatches++;
            }
        }
    result_free(&r);
    return NULL;
}

/* Copies every param of m (and the optimizer state) into one buffer. */
static float *snapshot(void *m, int64_t *n)
{
    int64_t total = 0;
    for (int i = 0; i < d->nparams; i++)
        total += grad_count(i);
    for (int i = 0; i < d->nstate; i++)
        total += count(&d->state[i], NULL);
    float *v = malloc(sizeof *v * (size_t)total), *p = v;
    for (int i = 0; i < d->nparams; i++, p += grad_count(i - 1))
        memcpy(p, d->param_data(m, i), sizeof *p * (size_t)grad_count(i));
    for (int i = 0; i < d->nstate; i++, p += count(&d->state[i - 1], NULL))
        memcpy(p, d->state_data(m, i), sizeof *p * (size_t)count(&d->state[i], NULL));
    *n = total;
    return v;
}

static void test_threads(void *m)
{
    void *c0 = d->ctx_create(m);
    if (!c0)
        die("ctx_create");
    /* 1. references, and the built-in context against them; two op
     * threads whatever the machine, so that check 5 compares the worker
     * thread's run of a pair of loops (pass par) with one thread's */
    nnrt_set_op_threads(2);
    int builtin_same = 1;
    for (int i = 0; i < NEX; i++) {
        Result r = {0};
        for (int grad = 0; grad < ngrad; grad++) {
            Result *ref = grad ? &ref_grad[i] : &ref_fwd[i];
            if (run(NULL, c0, &ex[i], grad, ref) != NNRT_OK)
                die("ctx_forward/ctx_grad");
            if (run(m, NULL, &ex[i], grad, &r) != NNRT_OK || !same(&r, ref, &ex[i], grad))
                builtin_same = 0;
        }
        result_free(&r);
    }
    check(builtin_same, "forward/grad (built-in context) == ctx_forward/ctx_grad, bit for bit");

    /* 5. one op thread: loops the pass par runs at the same time (two
     * tasks of nnrt_par2) one after the other give the references */
    int seq_same = 1;
    nnrt_set_op_threads(1);
    for (int i = 0; i < NEX; i++) {
        Result r = {0};
        for (int grad = 0; grad < ngrad; grad++)
            if (run(NULL, c0, &ex[i], grad, &r) != NNRT_OK || !same(&r, grad ? &ref_grad[i] : &ref_fwd[i], &ex[i], grad))
                seq_same = 0;
        result_free(&r);
    }
    nnrt_set_op_threads(2);
    check(seq_same, "1 op thread == 2 op threads (nnrt_set_op_threads), bit for bit");
    d->ctx_destroy(c0);

    /* 2. two contexts, two threads */
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    Worker w[2] = {{d->ctx_create(m), 0, &start, 0, 0}, {d->ctx_create(m), 1, &start, 0, 0}};
    pthread_t th[2];
    if (!w[0].ctx || !w[1].ctx)
        die("ctx_create");
    for (int k = 0; k < 2; k++)
        pthread_create(&th[k], NULL, work, &w[k]);
    for (int k = 0; k < 2; k++)
        pthread_join(th[k], NULL);
    pthread_barrier_destroy(&start);
    char what[160];
    snprintf(what, sizeof what,
             "2 threads x %d rounds x %d examples: forward and grad equal one thread's, bit for bit "
             "(%d + %d mismatches, %d + %d errors)",
             ROUNDS, NEX, w[0].mismatches, w[1].mismatches, w[0].errors, w[1].errors);
    check(!w[0].mismatches && !w[1].mismatches && !w[0].errors && !w[1].errors, what);
    d->ctx_destroy(w[0].ctx);
    d->ctx_destroy(w[1].ctx);
}

static void test_update(void)
{
    /* 3. grad + update == train_step */
    void *m1 = d->create(7), *m2 = d->create(7), *c = m2 ? d->ctx_create(m2) : NULL;
    if (!m1 || !c)
        die("create");
    int ok = 1;
    for (int step = 0; step < 2 && ok; step++) {
        Result r = {0};
        float loss;
        ok = d->train_step(m1, ex[step].dyn, ex[step].in, &loss) == NNRT_OK &&
             run(NULL, c, &ex[step], 1, &r) == NNRT_OK && d->update(m2, c) == NNRT_OK &&
             memcmp(&loss, &r.loss, sizeof loss) == 0;
        result_free(&r);
    }
    int64_t n1, n2;
    float *s1 = snapshot(m1, &n1), *s2 = snapshot(m2, &n2);
    check(ok && n1 == n2 && memcmp(s1, s2, sizeof *s1 * (size_t)n1) == 0,
          "ctx_grad + update == train_step, 2 steps, params and optimizer state bit for bit");
    free(s1);
    free(s2);
    check(d->update(m1, c) != NNRT_OK, "update(m, a context of another model) is an error");
    d->ctx_destroy(c);
    d->destroy(m1);
    d->destroy(m2);
}

/* 7. ctx_grad_rows: -1 for a dense gradient; for a sparse one every
 * nonzero row of the gradient is listed (with unique: each row once, as
 * after grad_accumulate). Counts the sparse params in *nsparse. */
static int rows_cover(void *c, int unique, int *nsparse)
{
    int ok = 1;
    for (int i = 0; i < d->nparams; i++) {
        const int32_t *rows = (const int32_t *)1;
        int64_t n = d->ctx_grad_rows(c, i, &rows), nr = d->params[i].rank ? count(&d->params[i], NULL) : 0;
        if (n < 0) {
            ok = ok && rows == NULL;
            continue;
        }
        (*nsparse)++;
        int64_t R = nnrt_size_eval(&d->params[i].shape[0], NULL), cols = nr / R;
        char *listed = calloc((size_t)R, 1);
        const float *g = d->ctx_grad_data(c, i);
        for (int64_t k = 0; k < n; k++) {
            ok = ok && rows[k] >= 0 && rows[k] < R && !(unique && listed[rows[k]]);
            if (rows[k] >= 0 && rows[k] < R)
                listed[rows[k]] = 1;
        }
        for (int64_t r = 0; r < R; r++)
            for (int64_t j = 0; j < cols && !listed[r]; j++)
                ok = ok && g[r * cols + j] == 0.0f;
        free(listed);
    }
    ok = ok && d->ctx_grad_rows(c, d->nparams, NULL) == -1 && d->ctx_grad_rows(NULL, 0, NULL) == -1;
    return ok;
}

static void test_accumulate(void)
{
    /* 4. gA + gB, then (SGD) one update by hand */
    void *m = d->create(3), *c1 = m ? d->ctx_create(m) : NULL, *c2 = m ? d->ctx_create(m) : NULL;
    if (!c1 || !c2)
        die("create");
    Result a = {0}, b = {0}, r = {0};
    const float lr = 0.25f;
    d->set_lr(m, lr);
    /* c1 computes B first, so its list of touched rows must be cleared by A */
    if (run(NULL, c1, &ex[1], 1, &r) != NNRT_OK || run(NULL, c1, &ex[0], 1, &a) != NNRT_OK ||
        run(NULL, c2, &ex[1], 1, &b) != NNRT_OK)
        die("ctx_grad");
    int64_t np;
    float *w0 = snapshot(m, &np);
    int nsparse = 0, covered = rows_cover(c1, 0, &nsparse);
    check(d->grad_accumulate(c1, c1) != NNRT_OK, "grad_accumulate(ctx, the same ctx) is an error");
    if (d->grad_accumulate(c1, c2) != NNRT_OK)
        die("grad_accumulate");
    nsparse = 0;
    covered = rows_cover(c1, 1, &nsparse) && covered;
    check(covered, "ctx_grad_rows: a sparse gradient lists every nonzero row (after accumulate each once), "
                   "a dense one -1");
    printf("# %d sparse gradients\n", nsparse);
    int sum_ok = 1, upd_ok = 1;
    for (int i = 0; i < d->nparams; i++) {
        const float *g = d->ctx_grad_data(c1, i);
        for (int64_t k = 0; k < grad_count(i); k++) {
            float s = a.grad[i][k] + b.grad[i][k];
            sum_ok = sum_ok && memcmp(&g[k], &s, sizeof s) == 0;
        }
    }
    check(sum_ok, "grad_accumulate: ctx1 holds gA + gB, bit for bit");
    /* a rate the program could not declare (optim_check) fails the update
     * before any param or optimizer state changes */
    const float bad_lr[] = {NAN, INFINITY, -0.5f};
    for (int k = 0; k < 3; k++) {
        d->set_lr(m, bad_lr[k]);
        int rc = d->update(m, c1);
        int64_t nb;
        float *wb = snapshot(m, &nb);
        char what[96];
        snprintf(what, sizeof what, "set_lr(%g): update fails (\"learning rate\"), params and state unchanged",
                 (double)bad_lr[k]);
        check(rc == NNRT_ERR_ARG && strstr(nnrt_last_error(), "learning rate") && nb == np &&
                  memcmp(wb, w0, sizeof *wb * (size_t)nb) == 0,
              what);
        free(wb);
    }
    d->set_lr(m, lr);
    if (d->nstate == 0) {
        if (d->update(m, c1) != NNRT_OK)
            die("update");
        const float *p = w0;
        for (int i = 0; i < d->nparams; i++) {
            const float *w = d->param_data(m, i);
            int frozen = d->frozen && d->frozen[i];
            for (int64_t k = 0; k < grad_count(i); k++, p++) {
                float want = frozen ? *p : *p - lr * (a.grad[i][k] + b.grad[i][k]);
                upd_ok = upd_ok && memcmp(&w[k], &want, sizeof want) == 0;
            }
        }
        check(upd_ok, "SGD update from the sum == w - lr * (gA + gB), every param, bit for bit");
    }
    /* the union of both lists is cleared by the next gradient: c1 and c2
     * (whose gradients were those of A + B and of B) compute C's alike */
    int again = run(NULL, c1, &ex[2], 1, &r) == NNRT_OK && run(NULL, c2, &ex[2], 1, &b) == NNRT_OK &&
                same(&r, &b, &ex[2], 1);
    check(again, "after grad_accumulate, the next ctx_grad in ctx1 starts from zero (== ctx2's)");
    free(w0);
    result_free(&a);
    result_free(&b);
    result_free(&r);
    d->ctx_destroy(c1);
    d->ctx_destroy(c2);
    d->destroy(m);
}

/* 6. what the hook saw: the order, and each gradient at its call */
typedef struct Seen {
    void *ctx;
    int n, order[64], calls[64];
    float *at[64];
} Seen;

static void on_ready(void *user, int i)
{
    Seen *s = user;
    if (i < 0 || i >= d->nparams || s->n >= 64)
        return;
    s->order[s->n++] = i;
    s->calls[i]++;
    size_t n = (size_t)grad_count(i);
    s->at[i] = realloc(s->at[i], n * sizeof(float));
    memcpy(s->at[i], d->ctx_grad_data(s->ctx, i), n * sizeof(float));
}

static int param_index(const char *name)
{
    for (int i = 0; i < d->nparams; i++)
        if (strcmp(d->params[i].name, name) == 0)
            return i;
    return -1;
}

static void test_grad_ready(void)
{
    void *m = d->create(1), *c = m ? d->ctx_create(m) : NULL;
    if (!c)
        die("create");
    Seen s = {.ctx = c};
    Result r = {0};
    d->ctx_set_grad_ready(c, on_ready, &s);
    if (run(NULL, c, &ex[0], 1, &r) != NNRT_OK)
        die("ctx_grad");
    int once = s.n == d->nparams, final = 1;
    for (int i = 0; i < d->nparams; i++) {
        once = once && s.calls[i] == 1;
        final = final && s.at[i] && memcmp(s.at[i], ref_grad[0].grad[i], (size_t)grad_count(i) * sizeof(float)) == 0;
    }
    check(once, "grad-ready hook: every param reported once per ctx_grad");
    check(final, "grad-ready hook: each gradient is final when reported (== the reference, bit for bit)");
    int wo = param_index("Wo"), emb = param_index("emb"), pwo = -1, pemb = -1;
    for (int k = 0; k < s.n; k++) {
        if (s.order[k] == wo)
            pwo = k;
        if (s.order[k] == emb)
            pemb = k;
    }
    if (wo >= 0 && emb >= 0)
        check(pwo >= 0 && pwo < pemb, "grad-ready hook: Wo (the output layer) before emb");
    d->ctx_set_grad_ready(c, NULL, NULL);
    s.n = 0;
    if (run(NULL, c, &ex[1], 1, &r) != NNRT_OK)
        die("ctx_grad");
    check(s.n == 0, "grad-ready hook unset: no call");
    for (int i = 0; i < d->nparams; i++)
        free(s.at[i]);
    result_free(&r);
    d->ctx_destroy(c);
    d->destroy(m);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: threads_test LABEL MAXID T\n");
        return 2;
    }
    label = argv[1];
    int64_t maxid = atoll(argv[2]), T = atoll(argv[3]);
    if (!d->ctx_create || !d->ctx_forward || d->ninputs > MAXIN || d->noutputs > MAXOUT || d->nparams > 64 ||
        d->ndyn > 8) {
        printf("not ok - %s: a model with contexts and at most %d inputs, %d outputs, 64 params\n", label, MAXIN,
               MAXOUT);
        return 1;
    }
    ngrad = d->grad ? 2 : 1;
    if (!d->grad)
        check(!d->ctx_grad && !d->ctx_grad_data && !d->update && !d->grad_accumulate && !d->ctx_set_grad_ready,
              "no train API: the descriptor's ctx_grad, ctx_grad_data, update, grad_accumulate, "
              "ctx_set_grad_ready are NULL");
    for (int i = 0; i < NEX; i++)
        make_example(&ex[i], maxid, T + i);
    void *m = d->create(1);
    if (!m)
        die("create");
    test_threads(m);
    d->destroy(m);
    if (d->grad) {
        test_update();
        test_accumulate();
        test_grad_ready();
    }
    return failures ? 1 : 0;
}
