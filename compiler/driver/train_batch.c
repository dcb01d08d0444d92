/*
 * train_batch.c - `nngc train --batch B` and `nngc eval --batch B` on the
 * compiler's batched program (nngc --batch=B, passes/vectorize.c): B
 * examples per call instead of B calls. docs/TRAIN.md, "Batches", is the
 * user's view; docs/API.md, "Batches", the generated API this drives.
 *
 * Two compiled programs of the same model live side by side: the program
 * as written (one example per call: d1, m1) and the batched one (bd, bm).
 * m1 is the model of record: checkpoints, resume, --export, validation of
 * a partial batch all go through it as before. An epoch copies m1's params
 * and optimizer state into bm (batched_sync), runs every full batch of B
 * examples through bm, copies them back, and runs the last, partial batch
 * (n mod B examples) on m1 as the one-example path does (gradients summed,
 * one update): the batched program has a fixed B, and padding the batch
 * with empty examples would add their loss for a model whose loss is not
 * all inside the loop over time (a classifier of the final state). Copies
 * cost two memcpy of the params and state per epoch.
 *
 * Why two copies and not one shared buffer: the generated API cannot make
 * a model over memory it did not allocate. NAME_create allocates the params
 * and the optimizer state (and Adam's step count is a field of the model,
 * not of that block); every context, the built-in one included, keeps the
 * params pointer it was created with (struct NAME_ctx's `params`), and the
 * two programs are two C types with their own create/destroy. Pointing bm
 * at m1's buffers would mean writing into the structs past the API and
 * freeing the buffers twice. A `NAME_create_shared(params, opt)` in the
 * generated API (backend/api.c) would allow it; the copies it would save
 * are small (rnnlm.nn with Adam: 5.9 M floats, 23 MB each way, a memcpy of
 * 4 ms of CPU on the 2-core test machine, twice an epoch of minutes).
 *
 * Packing a batch (pack_batch): each input gets the batch axis where the
 * batched program has it, found by comparing the two programs' input
 * shapes (batched_layout): batch-major [B, ...] or time-major [T + k, B,
 * ...] for a sequence the program reads a row at a time. Each dynamic dim is
 * the longest example's, `T_len` (the batched program's inputs after the
 * model's: one per dynamic dim, T_len, S_len ...) holds each example's own,
 * and the padding is zeros (ids 0 past an example's
 * end are never used, floats 0 are finite, as the API asks).
 */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool same_size(const nnrt_size *a, const nnrt_size *b, int ndyn) {
    if (a->c != b->c)
        return false;
    for (int j = 0; j < ndyn; j++)
        if (a->k[j] != b->k[j])
            return false;
    return true;
}

static bool is_const(const nnrt_size *s, int64_t v, int ndyn) {
    nnrt_size c = {.c = v};
    return same_size(s, &c, ndyn);
}

/* Whether input x of the batched program is input t with the batch axis
 * at position ax. */
static bool axis_at(const nnrt_tensor_desc *x, const nnrt_tensor_desc *t, int ax, int64_t B, int ndyn) {
    if (x->rank != t->rank + 1 || x->dtype != t->dtype || ax > t->rank || !is_const(&x->shape[ax], B, ndyn))
        return false;
    for (int k = 0; k < t->rank; k++)
        if (!same_size(&x->shape[k < ax ? k : k + 1], &t->shape[k], ndyn))
            return false;
    return true;
}

static bool size_static(const nnrt_size *s, int ndyn) {
    for (int j = 0; j < ndyn; j++)
        if (s->k[j] != 0)
            return false;
    return true;
}

static int64_t tensor_size(const nnrt_tensor_desc *t, const int64_t *dyn) {
    int64_t n = 1;
    for (int ax = 0; ax < t->rank; ax++)
        n *= nnrt_size_eval(&t->shape[ax], dyn);
    return n;
}

/* Where each input's batch axis is; NULL when the two programs fit, else why not. */
static const char *batched_layout(Batched *b) {
    const nnrt_model_desc *d1 = b->d1, *bd = b->bd;
    int nd = d1->ndyn;
    if (bd->ndyn != nd || bd->nparams != d1->nparams || bd->nstate != d1->nstate)
        return "its batched API does not match the one-example API";
    b->len_input = nd ? d1->ninputs : -1;
    bool lens = bd->ninputs == d1->ninputs + nd;
    for (int j = 0; lens && j < nd; j++)
        lens = bd->inputs[d1->ninputs + j].dtype == NNRT_I32 && bd->inputs[d1->ninputs + j].rank == 1;
    if (!lens)
        return "its batched API does not have the inputs expected (the inputs, then the lengths)";
    int64_t zero[NNRT_MAXDYN] = {0};
    for (int i = 0; i < d1->nparams; i++)
        if (tensor_size(&bd->params[i], zero) != tensor_size(&d1->params[i], zero) ||
            strcmp(bd->params[i].name, d1->params[i].name) != 0)
            return "its batched API has other params";
    for (int i = 0; i < d1->nstate; i++)
        if (tensor_size(&bd->state[i], zero) != tensor_size(&d1->state[i], zero))
            return "its batched API has another optimizer state";
    b->tmajor = xalloc((size_t)d1->ninputs + 1);
    for (int i = 0; i < d1->ninputs; i++) {
        const nnrt_tensor_desc *x = &bd->inputs[i], *t = &d1->inputs[i];
        bool bm = axis_at(x, t, 0, b->B, nd), tm = axis_at(x, t, 1, b->B, nd);
        if (bm == tm)
            return xsprintf("the batch axis of input %s : %s is %s", t->name, x->shape_text,
                            bm ? "ambiguous (its first axis has B elements too)" : "not where expected");
        for (int ax = 1; tm && ax < t->rank; ax++)
            if (!size_static(&t->shape[ax], nd))
                return xsprintf("input %s is a sequence whose rows have a dynamic size", t->name);
        b->tmajor[i] = tm;
    }
    for (int i = 0; i < d1->noutputs; i++)
        if (bd->outputs[i].rank != d1->outputs[i].rank + 1)
            return "its batched outputs do not have the batch axis";
    return NULL;
}

bool batched_load(Batched *b, const char *model, const CompileOptions *co, bool train, const nnrt_model_desc *d1,
                  int64_t B, const char **why) {
    memset(b, 0, sizeof *b);
    b->d1 = d1, b->B = B;
    CompileOptions bco = *co;
    bco.batch = B;
    bco.batch_mean = false;
    double lr;
    b->bd = load_model_quiet(model, &bco, train, &lr, why);
    if (!b->bd)
        return false;
    if ((*why = batched_layout(b)) != NULL) {
        b->bd = NULL;
        return false;
    }
    return true;
}

void batched_sync(const nnrt_model_desc *dd, void *dm, const nnrt_model_desc *sd, void *sm, bool state) {
    int64_t zero[NNRT_MAXDYN] = {0};
    for (int i = 0; i < dd->nparams; i++)
        memcpy(dd->param_data(dm, i), sd->param_data(sm, i), sizeof(float) * (size_t)tensor_size(&dd->params[i], zero));
    for (int i = 0; state && i < dd->nstate; i++)
        memcpy(dd->state_data(dm, i), sd->state_data(sm, i), sizeof(float) * (size_t)tensor_size(&dd->state[i], zero));
}

/* ---------------------------------------------------------------- packing */

void pack_init(Pack *p, const Batched *b, const Dataset *ds) {
    const nnrt_model_desc *bd = b->bd, *d1 = b->d1;
    memset(p, 0, sizeof *p);
    p->b = b;
    dataset_view(&p->ds, ds);
    int64_t maxdyn[NNRT_MAXDYN] = {0};
    for (int j = 0; j < d1->ndims; j++)
        if (d1->dims[j].dynamic)
            maxdyn[d1->dims[j].dyn_index] = d1->dims[j].value;
    p->buf = xalloc(sizeof(void *) * (size_t)(bd->ninputs + 1));
    p->bytes = xalloc(sizeof(size_t) * (size_t)(bd->ninputs + 1));
    p->in = xalloc(sizeof(void *) * (size_t)(bd->ninputs + 1));
    for (int i = 0; i < bd->ninputs; i++) {
        p->bytes[i] = 4 * (size_t)tensor_size(&bd->inputs[i], maxdyn);
        p->buf[i] = xalloc(p->bytes[i]);
        p->in[i] = p->buf[i];
    }
    p->label = xalloc(sizeof(int32_t) * (size_t)b->B);
}

/* Example ex (one-example shapes at its dyn) into slot s of the batch
 * (shapes at p->dyn): zeros were put everywhere before. */
static void pack_one(Pack *p, const Example *ex, int64_t s) {
    const nnrt_model_desc *d1 = p->b->d1;
    int64_t B = p->b->B;
    for (int i = 0; i < d1->ninputs; i++) {
        const nnrt_tensor_desc *t = &d1->inputs[i];
        int64_t want[NNRT_MAXRANK], have[NNRT_MAXRANK], row = 1;
        for (int ax = 0; ax < t->rank; ax++) {
            want[ax] = nnrt_size_eval(&t->shape[ax], ex->dyn);
            have[ax] = nnrt_size_eval(&t->shape[ax], p->dyn);
            if (ax > 0)
                row *= have[ax];
        }
        char *dst = p->buf[i];
        const char *src = ex->in[i];
        if (p->b->tmajor[i]) { /* [s0, B, rest]: the rows of the example, a stride of B rows apart */
            for (int64_t r = 0; r < want[0]; r++)
                memcpy(dst + 4 * (size_t)((r * B + s) * row), src + 4 * (size_t)(r * row), 4 * (size_t)row);
        } else { /* [B, shape]: the example's block in slot s, its corner when shorter */
            int64_t slot = 1;
            for (int ax = 0; ax < t->rank; ax++)
                slot *= have[ax];
            copy_block(dst + 4 * (size_t)(s * slot), have, src, want, want, t->rank);
        }
    }
}

bool pack_batch(Pack *p, const int64_t *idx) {
    const Batched *b = p->b;
    const nnrt_model_desc *d1 = b->d1;
    Example ex;
    memset(p->dyn, 0, sizeof p->dyn);
    p->units = 0, p->words = 0;
    for (int64_t s = 0; s < b->B; s++) { /* the longest example: the batch's dims */
        if (!dataset_get(&p->ds, idx[s], &ex))
            return false;
        for (int j = 0; j < d1->ndyn; j++)
            p->dyn[j] = ex.dyn[j] > p->dyn[j] ? ex.dyn[j] : p->dyn[j];
    }
    for (int i = 0; i < d1->ninputs; i++)
        memset(p->buf[i], 0, (size_t)(4 * tensor_size(&b->bd->inputs[i], p->dyn)));
    for (int64_t s = 0; s < b->B; s++) {
        if (!dataset_get(&p->ds, idx[s], &ex))
            return false;
        pack_one(p, &ex, s);
        for (int j = 0; b->len_input >= 0 && j < d1->ndyn; j++) /* T_len, S_len ...: each dim's */
            ((int32_t *)p->buf[b->len_input + j])[s] = (int32_t)ex.dyn[j];
        p->label[s] = ex.label;
        p->units += ex.units;
        p->words += ex.words;
    }
    return true;
}

bool batch_locate(Pack *p, const int64_t *idx, int64_t *bad, char *msg, size_t len) {
    const nnrt_model_desc *d1 = p->b->d1;
    void *ctx = d1->ctx_create(p->b->m1);
    /* a model with outputs refuses NULL outputs, an error that is no example's; malloc, not xalloc: this
     * runs on the training threads too (train_par.c) */
    const float **outputs = calloc((size_t)d1->noutputs + 1, sizeof *outputs);
    bool found = false;
    for (int64_t s = 0; ctx && outputs && s < p->b->B && !found; s++) {
        Example ex;
        float loss;
        if (!dataset_get(&p->ds, idx[s], &ex))
            break;
        if (d1->ctx_forward(ctx, ex.dyn, ex.in, &loss, outputs) != NNRT_OK) {
            *bad = idx[s];
            snprintf(msg, len, "%s", nnrt_last_error());
            found = true;
        }
    }
    if (ctx)
        d1->ctx_destroy(ctx);
    free(outputs);
    return found;
}

/* ---------------------------------------------------------------- the order */

/* --bucket K: the full batches of the shuffled order, K at a time, sorted
 * by length (a batch runs to its longest example: similar lengths waste
 * less), then the full batches shuffled as wholes; the partial batch
 * stays last. Still a function of (seed, epoch) alone. */
typedef struct LenKey {
    int64_t len, pos, ex;
} LenKey;

static int by_len(const void *a, const void *b) {
    const LenKey *x = a, *y = b;
    return x->len != y->len ? (x->len < y->len ? -1 : 1) : (x->pos > y->pos) - (x->pos < y->pos);
}

void batch_order(int64_t *perm, int64_t n, int64_t B, long k, const Dataset *ds, uint64_t seed, long epoch) {
    int64_t nb = n / B, w = (int64_t)k * B;
    if (k <= 0 || B <= 1 || nb < 2)
        return;
    LenKey *key = malloc(sizeof(LenKey) * (size_t)w);
    int64_t *tmp = malloc(sizeof(int64_t) * (size_t)(nb * B));
    int64_t *order = malloc(sizeof(int64_t) * (size_t)nb);
    if (!key || !tmp || !order) {
        free(key), free(tmp), free(order);
        return; /* the order stays shuffled: slower batches, not wrong ones */
    }
    for (int64_t lo = 0; lo < nb * B; lo += w) {
        int64_t m = nb * B - lo < w ? nb * B - lo : w;
        for (int64_t i = 0; i < m; i++)
            key[i] = (LenKey){dataset_len(ds, perm[lo + i]), i, perm[lo + i]};
        qsort(key, (size_t)m, sizeof *key, by_len);
        for (int64_t i = 0; i < m; i++)
            perm[lo + i] = key[i].ex;
    }
    nnrt_rng r;
    nnrt_rng_seed(&r, seed * 0x9e3779b97f4a7c15ull + (uint64_t)epoch * 0x100000001b3ull + 0x5bd1e995u);
    for (int64_t i = 0; i < nb; i++)
        order[i] = i;
    for (int64_t i = nb - 1; i > 0; i--) {
        int64_t j = (int64_t)(nnrt_rng_next(&r) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    for (int64_t i = 0; i < nb; i++)
        memcpy(tmp + i * B, perm + order[i] * B, sizeof(int64_t) * (size_t)B);
    memcpy(perm, tmp, sizeof(int64_t) * (size_t)(nb * B));
    free(key), free(tmp), free(order);
}

/* ---------------------------------------------------------------- setup */

bool batched_setup(Batched *b, const char *model, const CompileOptions *co, bool train, void *m1, long batch,
                   long per, bool quiet) {
    const nnrt_model_desc *d1 = b->d1;
    memset(b, 0, sizeof *b);
    b->d1 = d1;
    if (batch <= per) /* one example per thread: nothing to batch */
        return true;
    const char *why = NULL;
    if (batch % per != 0)
        why = xsprintf("it is not a multiple of the %ld threads x ranks that share it", per);
    else if (!batched_load(b, model, co, train, d1, batch / per, &why))
        why = xsprintf("the compiler cannot batch model %s: %s", d1->name, why);
    if (why) {
        if (!quiet)
            fprintf(stderr, "nngc: note: --batch %ld: %s; so each example runs on its own (the program as "
                    "written)%s\n", batch, why, train ? " and their gradients are summed" : "");
        b->bd = NULL;
        return true;
    }
    b->m1 = m1;
    b->bm = b->bd->create(1);
    if (!b->bm) {
        /* cuda: no device; out of memory: a batch too large for it */
        driver_error("creating model %s (batched, %lld examples per call: --batch %ld): %s", d1->name,
                     (long long)b->B, batch, nnrt_last_error());
        return false;
    }
    if (!quiet)
        fprintf(stderr, "nngc: --batch %ld: %lld examples per call of the batched program%s\n", batch,
                (long long)b->B, per > 1 ? xsprintf(" on each of %ld threads x ranks", per) : "");
    return true;
}
