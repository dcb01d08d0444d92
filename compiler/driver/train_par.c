/*
 * train_par.c - one epoch of `nngc train` on several threads (and the
 * trainer-level batch), through the generated API's contexts (docs/API.md,
 * "Threads"). docs/TRAIN.md, "Parallel training", is the user's view.
 *
 * sync (--parallel=sync, the default for --batch B > 1): the epoch's order
 * (one permutation, as for one thread) is cut into global batches of B
 * examples. Within a batch, rank r of P takes its share (the examples of
 * the batch split in P contiguous parts, the first ones one longer), and
 * thread k of N takes its share of the rank's part the same way. A thread
 * runs ctx_grad on each of its examples: the first into its accumulator
 * context, the others into a helper context added to the accumulator with
 * grad_accumulate. After a barrier the first thread sums the accumulators
 * by a fixed binary tree (acc[i] += acc[i + s] for s = 1, 2, 4, ...,
 * i a multiple of 2s), the ranks sum theirs with MPI_Allreduce, and one
 * NAME_update applies the batch. The update runs while no thread runs
 * ctx_grad (the API's contract holds, ThreadSanitizer sees no race), and
 * the sums are in a fixed order: the same run gives the same bits, and N
 * threads give one thread's params up to the order of float additions.
 *
 * hogwild (--parallel=hogwild, the default for --batch 1): thread k of N
 * takes the k-th contiguous N-th of the examples (file order), shuffles it
 * with its own RNG seeded by (seed, epoch, k), and for each example runs
 * ctx_grad in its own context and NAME_update on the shared model without
 * any lock: an update writes the params while other threads read them in
 * ctx_grad (word2vec's and fastText's race, by design; a reader may see a
 * row half updated, never memory outside the params). The lr follows the
 * global progress: an atomic counter of the words (examples, for .npy data)
 * processed by all threads. In a ThreadSanitizer build (__SANITIZE_THREAD__)
 * a read-write lock makes update exclusive against ctx_grad, so that TSan
 * checks everything else (contexts, data views, counters) without
 * reporting the race that is there on purpose.
 */
#include "train_par.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define PAR_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PAR_TSAN 1
#endif
#endif

/* ---------------------------------------------------------------- options */

bool par_parse_mode(ParOptions *po, const char *v) {
    if (strcmp(v, "hogwild") == 0)
        po->mode = PAR_HOGWILD;
    else if (strcmp(v, "sync") == 0)
        po->mode = PAR_SYNC;
    else {
        driver_error("--parallel %s: expected hogwild or sync", v);
        return false;
    }
    return true;
}

bool par_check(ParOptions *po, bool quiet) {
    if (po->threads < 1)
        po->threads = 1;
    if (po->batch < 1)
        po->batch = 1;
    if (po->ranks < 1)
        po->ranks = 1;
    if (!po->bucket_given)
        po->bucket_mb = 1;
    if (po->mode == PAR_AUTO)
        po->mode = po->batch > 1 || po->ranks > 1 ? PAR_SYNC : PAR_HOGWILD;
    if (po->mode == PAR_HOGWILD && po->batch > 1) {
        driver_error("--parallel=hogwild updates the model after every example: it takes --batch 1, not %ld "
                     "(use --parallel=sync for a batch)", po->batch);
        return false;
    }
    if (po->mode == PAR_HOGWILD && po->ranks > 1) {
        driver_error("--parallel=hogwild is for the threads of one process; the %d ranks of an MPI job train with "
                     "--parallel=sync", po->ranks);
        return false;
    }
    if (po->mode == PAR_SYNC && po->batch < po->threads * po->ranks && !quiet && po->rank == 0)
        fprintf(stderr, "nngc: note: --batch %ld is less than %ld threads x %d rank%s: some stay idle each step\n",
                po->batch, po->threads, po->ranks, po->ranks == 1 ? "" : "s");
    return true;
}

bool par_active(const ParOptions *po) {
    return po->threads > 1 || po->batch > 1 || po->ranks > 1;
}

extern void openblas_set_num_threads(int n) __attribute__((weak));

int par_blas_threads(long threads, int ranks_here) {
    long per = threads * (ranks_here > 0 ? ranks_here : 1);
    if (per <= 1)
        return 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* the examples' threads (or ranks) take the cores: no second thread
     * for two loops of one call either (pass par, nnrt_par2) */
    if (per >= cores)
        nnrt_set_op_threads(1);
    long want = cores / per > 1 ? cores / per : 1;
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    long asked = env ? strtol(env, NULL, 10) : 0;
    if (asked > 0 && asked < want)
        want = asked;
    if (!openblas_set_num_threads)
        return 0; /* another BLAS: its own variable decides (docs/TRAIN.md) */
    openblas_set_num_threads((int)want);
    return (int)want;
}

bool par_parse_mpi(ParOptions *po, const char *opt, const char *v) {
    if (strncmp(opt, "--mpi-bucket", 12) == 0) {
        char *end;
        errno = 0;
        po->bucket_mb = strtod(v, &end);
        if (errno || end == v || *end || !(po->bucket_mb >= 0 && po->bucket_mb <= 1024)) {
            driver_error("--mpi-bucket %s: expected MiB from 0 (no overlap) to 1024", v);
            return false;
        }
        po->bucket_given = true;
    } else if (strcmp(v, "auto") == 0 || strcmp(v, "rows") == 0 || strcmp(v, "dense") == 0) {
        po->sparse = v[0] == 'a' ? SPARSE_AUTO : v[0] == 'r' ? SPARSE_ROWS : SPARSE_DENSE;
    } else {
        driver_error("--mpi-sparse %s: expected auto, rows or dense", v);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- workers */

typedef struct Par Par;

typedef struct Worker {
    Par *par;
    int k;
    pthread_t thread;
    void *acc, *tmp; /* contexts: the thread's gradient sum, and one example's */
    bool has;        /* acc holds this step's gradient */
    bool dropped;    /* grad_one's example had no word left (--sample) */
    Dataset ds;      /* a view of the dataset with buffers of its own */
    Pack pack;       /* with the batched program: the thread's share, packed */
    const float **outs; /* the model's outputs (ctx_grad wants somewhere to put them) */
    double loss, units;
    int64_t err_idx; /* the example that failed, -1 */
    char err[600];
} Worker;

struct Par {
    const ParEpoch *pe;
    int n;
    Worker *w;
    pthread_barrier_t barrier;
    atomic_bool failed; /* read by every thread at every example: on a line nothing else writes */
    /* written by every thread: a cache line of their own */
    _Alignas(64) atomic_llong examples, words; /* done, all threads */
    atomic_llong work;                         /* hogwild's progress: words (text), else examples */
    _Alignas(64) char after[1];
    pthread_mutex_t mu;           /* the start: threads wait for go */
    pthread_cond_t cv;
    bool go, abort; /* abort: a thread did not start, so none may wait at the barrier */
    int64_t shown_ex, shown_words;
    ParReduce *red; /* MPI: the sum over the ranks of the first thread's acc */
    bool hooked;    /* red's par_reduce_ready is acc's grad-ready hook */
#ifdef PAR_TSAN
    pthread_rwlock_t lock;
#endif
};

static void fail(Worker *w, int64_t idx, const char *msg) {
    w->err_idx = idx;
    snprintf(w->err, sizeof w->err, "%s", msg);
    atomic_store(&w->par->failed, true);
}

/* ctx_grad of example idx into ctx, its loss added to the worker's. */
static bool grad_one(Worker *w, void *ctx, int64_t idx, int64_t *words) {
    const ParEpoch *pe = w->par->pe;
    Example ex;
    float l = 0;
    if (!dataset_get(&w->ds, idx, &ex)) {
        fail(w, idx, "");
        return false;
    }
    *words = ex.words;
    if ((w->dropped = ex.dropped)) /* --sample left no word: no gradient */
        return true;
#ifdef PAR_TSAN
    pthread_rwlock_rdlock(&w->par->lock);
#endif
    int rc = pe->d->ctx_grad(ctx, ex.dyn, ex.in, &l, w->outs);
#ifdef PAR_TSAN
    pthread_rwlock_unlock(&w->par->lock);
#endif
    if (rc != NNRT_OK) {
        fail(w, idx, nnrt_last_error());
        return false;
    }
    if (!isfinite(l)) {
        char msg[100];
        snprintf(msg, sizeof msg, "the loss is %g: training diverged (try a smaller --lr)", l);
        fail(w, idx, msg);
        return false;
    }
    w->loss += l;
    w->units += ex.units;
    return true;
}

/* The batched program on the share idx[0..B) into ctx. */
static bool grad_batch(Worker *w, void *ctx, const int64_t *idx, int64_t *words) {
    const ParEpoch *pe = w->par->pe;
    Pack *pk = &w->pack;
    float l = 0;
    if (!pack_batch(pk, idx)) {
        fail(w, idx[0], "");
        return false;
    }
    if (pe->d->ctx_grad(ctx, pk->dyn, pk->in, &l, w->outs) != NNRT_OK) {
        int64_t bad = idx[0];
        char msg[sizeof w->err];
        if (!batch_locate(pk, idx, &bad, msg, sizeof msg))
            snprintf(msg, sizeof msg, "%s (in a batch of %lld examples)", nnrt_last_error(), (long long)pe->bat->B);
        fail(w, bad, msg);
        return false;
    }
    if (!isfinite(l)) {
        char msg[160];
        snprintf(msg, sizeof msg, "the loss of a batch of %lld examples is %g: training diverged (try a smaller --lr)",
                 (long long)pe->bat->B, l);
        fail(w, idx[0], msg);
        return false;
    }
    w->loss += l;
    w->units += pk->units;
    *words = pk->words;
    return true;
}

static double lr_at(const ParEpoch *pe, double done, double total) {
    return pe->linear ? pe->lr0 * fmax(1e-4, 1.0 - done / total) : pe->lr0;
}

/* The first thread shows progress from the global counters. */
static void show(Par *p, Worker *w, double lr) {
    const ParEpoch *pe = p->pe;
    if (!pe->progress)
        return;
    int64_t ex = atomic_load(&p->examples), words = atomic_load(&p->words);
    pe->progress(pe->progress_arg, ex - p->shown_ex, words - p->shown_words,
                 (double)(pe->first + ex * pe->po->ranks) / (double)pe->ds->n, lr, w->units > 0 ? w->loss / w->units : 0);
    p->shown_ex = ex, p->shown_words = words;
}

/* [*lo, *lo + return) of n items split in parts, part k: the first n % parts
 * parts one longer. */
static int64_t share(int64_t n, int64_t parts, int64_t k, int64_t *lo) {
    int64_t q = n / parts, r = n % parts;
    *lo = k * q + (k < r ? k : r);
    return q + (k < r);
}

static int64_t param_size(const nnrt_model_desc *d, int i) {
    int64_t zero[NNRT_MAXDYN] = {0}, size = 1;
    for (int ax = 0; ax < d->params[i].rank; ax++)
        size *= nnrt_size_eval(&d->params[i].shape[ax], zero);
    return size;
}

/* --clip's visit of a span of floats of one gradient: their squares added
 * to *sq (sq non-NULL), or each scaled by s. */
typedef struct ClipRows {
    float *g;
    int64_t cols;
    float s;
    double *sq;
} ClipRows;

static void clip_span(const ClipRows *c, float *x, int64_t n) {
    for (int64_t j = 0; j < n; j++)
        if (c->sq)
            *c->sq += (double)x[j] * x[j];
        else
            x[j] *= c->s;
}

static void clip_row(void *user, int64_t r) {
    const ClipRows *c = user;
    clip_span(c, c->g + r * c->cols, c->cols);
}

/* Every gradient of ctx through clip_span: a sparse table's listed rows,
 * each once (nnrt_each_row on a copy of the list in *scratch; its other
 * rows are zero), so a [V, H] table costs the rows touched, not V x H;
 * a dense gradient (or no memory for the copy) whole. */
static void clip_walk(const nnrt_model_desc *d, void *ctx, float s, double *sq, int32_t **scratch) {
    for (int i = 0; i < d->nparams; i++) {
        ClipRows c = {.g = d->ctx_grad_data(ctx, i), .cols = param_size(d, i), .s = s, .sq = sq};
        const int32_t *list = NULL;
        int64_t n = d->ctx_grad_rows ? d->ctx_grad_rows(ctx, i, &list) : -1;
        if (!c.g)
            continue;
        bool rows = n >= 0 && list && d->params[i].rank >= 1;
        int32_t *r = rows ? realloc(*scratch, sizeof(int32_t) * (size_t)(n + 1)) : NULL;
        if (!r) {
            clip_span(&c, c.g, c.cols);
            continue;
        }
        int64_t zero[NNRT_MAXDYN] = {0};
        *scratch = r;
        memcpy(r, list, sizeof(int32_t) * (size_t)n);
        c.cols /= nnrt_size_eval(&d->params[i].shape[0], zero);
        nnrt_each_row(r, n, clip_row, &c);
    }
}

bool par_clip(const nnrt_model_desc *d, void *ctx, double max_norm) {
    double sq = 0;
    int32_t *rows = NULL;
    clip_walk(d, ctx, 1.0f, &sq, &rows);
    double norm = sqrt(sq);
    bool over = norm > max_norm;
    if (over)
        clip_walk(d, ctx, (float)(max_norm / (norm + 1e-6)), NULL, &rows);
    free(rows);
    return over;
}

/* One global batch per step; see the header comment. */
static void sync_worker(Worker *w) {
    Par *p = w->par;
    const ParEpoch *pe = p->pe;
    const ParOptions *po = pe->po;
    int64_t n = pe->end > 0 ? pe->end : pe->ds->n, B = po->batch;
    double last_lr = -1;
    for (int64_t lo = pe->first; lo < n; lo += B) {
        int64_t nb = n - lo < B ? n - lo : B, rlo, tlo;
        int64_t rn = share(nb, po->ranks, po->rank, &rlo);
        int64_t tn = share(rn, p->n, w->k, &tlo);
        w->has = false;
        if (pe->bat && tn > 0) { /* the share is one call: train.c makes every share bat->B long */
            int64_t words = 0;
            NN_ASSERT(tn == pe->bat->B);
            if (grad_batch(w, w->acc, pe->perm + lo + rlo + tlo, &words)) {
                w->has = true;
                atomic_fetch_add(&p->examples, tn);
                atomic_fetch_add(&p->words, words);
            }
        }
        for (int64_t j = 0; j < tn && !pe->bat && !atomic_load_explicit(&p->failed, memory_order_relaxed); j++) {
            int64_t idx = pe->perm[lo + rlo + tlo + j], words = 0;
            if (!grad_one(w, w->has ? w->tmp : w->acc, idx, &words))
                break;
            atomic_fetch_add(&p->words, words);
            atomic_fetch_add(&p->examples, 1);
            if (w->dropped)
                continue;
            if (w->has)
                pe->d->grad_accumulate(w->acc, w->tmp);
            w->has = true;
        }
        pthread_barrier_wait(&p->barrier);
        if (w->k == 0 && !atomic_load(&p->failed)) {
            /* the fixed tree; the threads with examples are the first ones */
            for (int s = 1; s < p->n; s *= 2)
                for (int i = 0; i + s < p->n; i += 2 * s)
                    if (p->w[i + s].has)
                        pe->d->grad_accumulate(p->w[i].acc, p->w[i + s].acc);
            bool ok = true;
            if (p->red) {
                /* the hook sent each gradient as the backward pass
                 * finished it (p->hooked); else all go now, a rank
                 * without examples this step adding zeros (its gradients
                 * are dense under MPI: train.c) */
                for (int i = 0; i < pe->d->nparams && !(p->hooked && w->has); i++) {
                    if (!w->has)
                        memset(pe->d->ctx_grad_data(w->acc, i), 0, sizeof(float) * (size_t)param_size(pe->d, i));
                    par_reduce_ready(p->red, i);
                }
                ok = par_reduce_finish(p->red);
            }
            if (!ok) {
                fail(w, -1, "MPI_Allreduce failed");
            } else if (w->has || po->ranks > 1) {
                double lr = lr_at(pe, (double)(pe->step0 + lo), (double)pe->total);
                if (lr != last_lr)
                    pe->d->set_lr(pe->m, (float)lr);
                last_lr = lr;
                if (po->clip > 0)
                    par_clip(pe->d, w->acc, po->clip);
                if (pe->d->update(pe->m, w->acc) != NNRT_OK)
                    fail(w, -1, nnrt_last_error());
                show(p, w, lr);
            }
        }
        pthread_barrier_wait(&p->barrier);
        if (atomic_load(&p->failed))
            return;
    }
}

/* ctx_grad, then update without a lock: see the header comment. */
static void hogwild_worker(Worker *w) {
    Par *p = w->par;
    const ParEpoch *pe = p->pe;
    int64_t n = pe->ds->n, lo, cnt = share(n, p->n, w->k, &lo);
    int64_t *order = malloc(sizeof(int64_t) * (size_t)(cnt > 0 ? cnt : 1));
    if (!order) {
        fail(w, -1, "out of memory");
        return;
    }
    nnrt_rng r;
    nnrt_rng_seed(&r, pe->seed * 0x9e3779b97f4a7c15ull + (uint64_t)pe->epoch * 0x100000001b3ull + (uint64_t)w->k + 1);
    for (int64_t i = 0; i < cnt; i++)
        order[i] = lo + i;
    for (int64_t i = cnt - 1; i > 0; i--) {
        int64_t j = (int64_t)(nnrt_rng_next(&r) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    double epochs = (double)pe->total / (double)n, work0 = (double)pe->epoch * (double)pe->work_epoch;
    /* the shared counters and the model's lr are touched once per `every`
     * units of work (word2vec's and fastText's way: every thread writing
     * them at every example made the cache lines travel between cores);
     * the lr is the global progress's at the last flush */
    int64_t every = pe->work_epoch / 1000, pend_work = 0, pend_ex = 0, pend_words = 0;
    every = every < 1 ? 1 : every > 1000 ? 1000 : every;
    double lr = lr_at(pe, work0 + (double)atomic_load(&p->work), epochs * (double)pe->work_epoch), set = -1;
    for (int64_t i = 0; i < cnt && !atomic_load_explicit(&p->failed, memory_order_relaxed); i++) {
        int64_t words = 0;
        if (!grad_one(w, w->tmp, order[i], &words))
            break;
        pend_work += pe->ds->text ? words : 1, pend_ex++, pend_words += words;
        if (pend_work >= every || i == cnt - 1) {
            double done = work0 + (double)(atomic_fetch_add(&p->work, pend_work) + pend_work);
            atomic_fetch_add(&p->examples, pend_ex);
            atomic_fetch_add(&p->words, pend_words);
            pend_work = pend_ex = pend_words = 0;
            lr = lr_at(pe, done, epochs * (double)pe->work_epoch);
            if (w->k == 0)
                show(p, w, lr);
        }
        if (w->dropped) /* a line subsampling emptied: no gradient */
            continue;
#ifdef PAR_TSAN
        pthread_rwlock_wrlock(&p->lock);
#endif
        if (lr != set) /* a write to the shared model only when it changes */
            pe->d->set_lr(pe->m, (float)lr);
        set = lr;
        if (pe->po->clip > 0)
            par_clip(pe->d, w->tmp, pe->po->clip);
        int rc = pe->d->update(pe->m, w->tmp);
#ifdef PAR_TSAN
        pthread_rwlock_unlock(&p->lock);
#endif
        if (rc != NNRT_OK) {
            fail(w, order[i], nnrt_last_error());
            break;
        }
    }
    free(order);
}

static void *worker_main(void *arg) {
    Worker *w = arg;
    Par *p = w->par;
    pthread_mutex_lock(&p->mu);
    while (!p->go)
        pthread_cond_wait(&p->cv, &p->mu);
    bool abort = p->abort;
    pthread_mutex_unlock(&p->mu);
    /* not p->failed: a thread that woke late would then leave the others
     * waiting at the barrier for it after the first one's error */
    if (abort)
        return NULL;
    if (w->par->pe->po->mode == PAR_SYNC)
        sync_worker(w);
    else
        hogwild_worker(w);
    return NULL;
}

bool par_epoch(const ParEpoch *pe, double *loss, double *units) {
    const nnrt_model_desc *d = pe->d;
    Par p = {.pe = pe, .n = (int)pe->po->threads};
    p.w = xalloc(sizeof(Worker) * (size_t)p.n);
    *loss = *units = 0;
    bool ok = true;
    for (int k = 0; k < p.n && ok; k++) {
        Worker *w = &p.w[k];
        w->par = &p, w->k = k, w->err_idx = -1;
        w->acc = d->ctx_create(pe->m);
        w->tmp = pe->bat ? NULL : d->ctx_create(pe->m);
        ok = w->acc && (w->tmp || pe->bat);
        dataset_view(&w->ds, pe->ds);
        w->outs = xalloc(sizeof(float *) * (size_t)(d->noutputs + 1));
        if (pe->bat)
            pack_init(&w->pack, pe->bat, pe->ds);
    }
    if (!ok) {
        driver_error("out of memory creating %d contexts of model %s", 2 * p.n, d->name);
        goto out;
    }
    if (pe->po->ranks > 1 && pe->po->mode == PAR_SYNC) {
        p.red = par_reduce_new(pe->po, d, p.w[0].acc);
        if (!p.red) {
            driver_error("out of memory for the MPI gradient buffers of model %s", d->name);
            ok = false;
            goto out;
        }
        /* one thread, one call per share: the acc's gradients are the
         * rank's as the backward pass finishes them */
        p.hooked = p.n == 1 && pe->bat && pe->po->bucket_mb > 0 && d->ctx_set_grad_ready;
        if (p.hooked)
            d->ctx_set_grad_ready(p.w[0].acc, par_reduce_ready, p.red);
    }
    pthread_barrier_init(&p.barrier, NULL, (unsigned)p.n);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
#ifdef PAR_TSAN
    pthread_rwlock_init(&p.lock, NULL);
#endif
    int started = 1;
    for (int k = 1; k < p.n; k++, started++) {
        int e = pthread_create(&p.w[k].thread, NULL, worker_main, &p.w[k]);
        if (e != 0) {
            /* the barrier counts every thread: the started ones stop at go */
            driver_error("cannot start thread %d of %d: %s", k + 1, p.n, strerror(e));
            atomic_store(&p.failed, true);
            p.abort = true;
            break;
        }
    }
    pthread_mutex_lock(&p.mu);
    p.go = true;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    worker_main(&p.w[0]);
    for (int k = 1; k < started; k++)
        pthread_join(p.w[k].thread, NULL);
    pthread_barrier_destroy(&p.barrier);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
#ifdef PAR_TSAN
    pthread_rwlock_destroy(&p.lock);
#endif
    for (int k = 0; k < p.n; k++) {
        Worker *w = &p.w[k];
        *loss += w->loss, *units += w->units;
        if (w->err_idx >= 0 || w->err[0]) {
            ok = false;
            if (w->err[0] && w->err_idx >= 0)
                driver_error("%s: %s", dataset_where(pe->ds, w->err_idx), w->err);
            else if (w->err[0])
                driver_error("%s", w->err);
        }
    }
    if (atomic_load(&p.failed))
        ok = false;
    if (ok && pe->po->ranks > 1) {
        double s[2] = {*loss, *units};
        ok = par_mpi_sum_doubles(pe->po, s, 2);
        *loss = s[0], *units = s[1];
    }
out:
    par_reduce_free(p.red);
    for (int k = 0; k < p.n; k++) {
        if (p.w[k].acc)
            d->ctx_destroy(p.w[k].acc);
        if (p.w[k].tmp)
            d->ctx_destroy(p.w[k].tmp);
    }
    return ok;
}
