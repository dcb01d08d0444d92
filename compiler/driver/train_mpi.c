/*
 * train_mpi.c - the ranks of `mpirun -np P nngc train ...` (docs/TRAIN.md,
 * "Several machines: MPI"). Built with MPI when the Makefile found mpicc
 * (NNGC_HAVE_MPI); otherwise every function says MPI is not there.
 *
 * What the ranks do (train_par.c does the steps): every rank reads the
 * whole data set and draws the same order; in each global batch rank r
 * takes its share; the ranks' gradients are summed over the ranks (a
 * ParReduce, below: MPI_Iallreduce in buckets as the backward pass
 * finishes them, table gradients as their touched rows), and every rank
 * applies the same update. Rank 0
 * prints and writes the checkpoints; an error on any rank ends the whole
 * job with MPI_Abort (never a hang).
 */
#include "train_par.h"

#include <stdlib.h>
#include <string.h>

/* Launched by mpirun? (Open MPI, MPICH/Hydra, Slurm's PMI) */
static bool under_mpirun(void) {
    const char *v = getenv("OMPI_COMM_WORLD_SIZE");
    if (!v)
        v = getenv("PMI_SIZE");
    return v != NULL;
}

#ifdef NNGC_HAVE_MPI
#include <mpi.h>

/* --mpi-sparse=auto sends a gradient as rows when all ranks' rows (with
 * their ids) are at most this fraction of the dense gradient's floats:
 * bench/mpi_rows.c, 2 ranks on one machine, a [10000, 64] gradient: rows
 * took 0.81x the dense allreduce's time at 0.02 of the floats, 0.88x at
 * 0.10, 1.04x at 0.20, 1.36x at 0.41 (the scan of the whole gradient and
 * two collectives instead of one set a floor) */
#define PAR_ROWS_FRACTION 0.15

static bool started;
/* for the report at the end (rank 0): time in MPI_Allreduce of gradients,
 * and from MPI_Init to MPI_Finalize */
static double reduce_us, start_us;
static long long reduces;

bool par_mpi_available(void) {
    return true;
}

bool par_mpi_init(ParOptions *po, bool required) {
    po->rank = 0, po->ranks = 1;
    if (!required && !under_mpirun())
        return true;
    int provided;
    /* one thread (the first) calls MPI; the others never do */
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        driver_error("MPI_Init failed");
        return false;
    }
    started = true;
    start_us = nnrt_now_us();
    MPI_Comm_rank(MPI_COMM_WORLD, &po->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &po->ranks);
    return true;
}

bool par_mpi_agree(const ParOptions *po, uint64_t hash, const char *what) {
    if (po->ranks <= 1)
        return true;
    unsigned long long mine = hash, *all = xalloc(sizeof(unsigned long long) * (size_t)po->ranks);
    if (MPI_Allgather(&mine, 1, MPI_UNSIGNED_LONG_LONG, all, 1, MPI_UNSIGNED_LONG_LONG, MPI_COMM_WORLD) !=
        MPI_SUCCESS) {
        driver_error("MPI_Allgather failed");
        return false;
    }
    for (int r = 1; r < po->ranks; r++)
        if (all[r] != all[0]) {
            /* every rank sees the same table: all stop, rank 0 says why */
            if (po->rank == 0)
                driver_error("MPI rank %d of %d has another %s than rank 0 (hash %016llx, rank 0: %016llx): every "
                             "rank must run the same command on the same files", r, po->ranks, what, all[r], all[0]);
            return false;
        }
    return true;
}

/* ---------------------------------------------------------------- gradients */

/*
 * ParReduce: a rank's gradients summed over the ranks, param by param as
 * the backward pass finishes them (par_reduce_ready is the generated
 * code's grad-ready hook, docs/API.md). A param of at least a bucket is
 * sent in place, in MPI_Iallreduce calls of a bucket each; smaller ones
 * are copied one after the other into a staging buffer, sent a bucket at
 * a time, and copied back by par_reduce_finish, which waits for every
 * call. Each hook call also tests the calls in flight, which is what
 * moves them on (Open MPI has no progress thread). Every rank makes the
 * same calls in the same order (the hook's order is fixed by the model).
 *
 * A gradient with rows (a rank-2 param: an embedding table's is zero but
 * for the rows the batch's ids touched) can go as its touched rows
 * instead (sum_rows): the ranks exchange their counts, then, unless that
 * is more than PAR_ROWS_FRACTION of the dense floats (--mpi-sparse=auto;
 * rows: always; a gradient whose rows the ranks mostly touched is a weight
 * matrix's, dense from then on),
 * every rank's (row id, row) pairs with MPI_Allgatherv, and every rank
 * adds them in rank order into zeroed rows: the same sum on every rank.
 */
struct ParReduce {
    const ParOptions *po;
    const nnrt_model_desc *d;
    void *ctx;
    int n;
    int64_t *size, *rows; /* per param: floats, and rows (0: not sent as rows) */
    int64_t bucket;       /* floats per call; 0: a blocking MPI_Allreduce per param */
    float *stage;         /* small gradients, back to back */
    int64_t stage_end, stage_sent;
    int *staged, nstaged; /* their params, in order */
    int64_t *staged_off;
    MPI_Request *req;
    int nreq, capreq;
    float *send, *recv; /* sum_rows's buffers */
    int64_t send_cap, recv_cap;
    long long *counts; /* per rank: rows */
    int *bytes, *displ;
    bool ok;
};

static bool reserve(float **p, int64_t *cap, int64_t n) {
    if (n <= *cap)
        return true;
    free(*p);
    *p = malloc(sizeof(float) * (size_t)n);
    *cap = *p ? n : 0;
    return *p != NULL;
}

ParReduce *par_reduce_new(const ParOptions *po, const nnrt_model_desc *d, void *ctx) {
    ParReduce *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    int64_t zero[NNRT_MAXDYN] = {0}, small = 0;
    r->po = po, r->d = d, r->ctx = ctx, r->n = d->nparams, r->ok = true;
    r->bucket = (int64_t)(po->bucket_mb * (1 << 20) / sizeof(float));
    r->size = calloc((size_t)r->n + 1, sizeof(int64_t));
    r->rows = calloc((size_t)r->n + 1, sizeof(int64_t));
    r->staged = calloc((size_t)r->n + 1, sizeof(int));
    r->staged_off = calloc((size_t)r->n + 1, sizeof(int64_t));
    r->capreq = r->n + 1;
    r->counts = calloc((size_t)po->ranks, sizeof(long long));
    r->bytes = calloc((size_t)po->ranks, sizeof(int));
    r->displ = calloc((size_t)po->ranks, sizeof(int));
    for (int i = 0; i < r->n && r->size && r->rows; i++) {
        int64_t size = 1;
        for (int ax = 0; ax < d->params[i].rank; ax++)
            size *= nnrt_size_eval(&d->params[i].shape[ax], zero);
        r->size[i] = size;
        if (d->params[i].rank == 2 && po->sparse != SPARSE_DENSE)
            r->rows[i] = nnrt_size_eval(&d->params[i].shape[0], zero);
        if (size < r->bucket)
            small += size;
        else if (r->bucket > 0)
            r->capreq += (int)((size + r->bucket - 1) / r->bucket);
    }
    r->stage = malloc(sizeof(float) * (size_t)(small + 1));
    r->req = malloc(sizeof(MPI_Request) * (size_t)r->capreq);
    if (!r->size || !r->rows || !r->staged || !r->staged_off || !r->stage || !r->req || !r->counts || !r->bytes ||
        !r->displ) {
        par_reduce_free(r);
        return NULL;
    }
    return r;
}

void par_reduce_free(ParReduce *r) {
    if (!r)
        return;
    free(r->size), free(r->rows), free(r->staged), free(r->staged_off), free(r->stage), free(r->req);
    free(r->send), free(r->recv), free(r->counts), free(r->bytes), free(r->displ);
    free(r);
}

/* The staged gradients not sent yet: one call. */
static void flush(ParReduce *r) {
    int64_t c = r->stage_end - r->stage_sent;
    if (c <= 0)
        return;
    NN_ASSERT(r->nreq < r->capreq);
    if (MPI_Iallreduce(MPI_IN_PLACE, r->stage + r->stage_sent, (int)c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                       &r->req[r->nreq++]) != MPI_SUCCESS)
        r->ok = false;
    r->stage_sent = r->stage_end;
}

/* Param i's n floats at g, dense. */
static void sum_dense(ParReduce *r, int i, float *g, int64_t n) {
    if (r->bucket == 0) { /* blocking, in calls of at most 4 MiB */
        for (int64_t o = 0; o < n && r->ok; o += 1 << 20) {
            int c = (int)(n - o < (1 << 20) ? n - o : (1 << 20));
            r->ok = MPI_Allreduce(MPI_IN_PLACE, g + o, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) == MPI_SUCCESS;
        }
    } else if (n >= r->bucket) {
        flush(r);
        for (int64_t o = 0; o < n && r->ok; o += r->bucket) {
            int c = (int)(n - o < r->bucket ? n - o : r->bucket);
            NN_ASSERT(r->nreq < r->capreq);
            r->ok = MPI_Iallreduce(MPI_IN_PLACE, g + o, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r->req[r->nreq++]) ==
                    MPI_SUCCESS;
        }
    } else {
        memcpy(r->stage + r->stage_end, g, sizeof(float) * (size_t)n);
        r->staged[r->nstaged] = i, r->staged_off[r->nstaged++] = r->stage_end;
        r->stage_end += n;
        if (r->stage_end - r->stage_sent >= r->bucket)
            flush(r);
    }
}

/* Param i's gradient, rows x cols at g, as its nonzero rows (see above);
 * false: dense is cheaper (--mpi-sparse=auto), nothing sent. */
static bool sum_rows(ParReduce *r, int i, float *g, int64_t rows, int64_t cols) {
    const ParOptions *po = r->po;
    int64_t w = cols + 1; /* a row id (an int32's bits), then the row */
    if (!reserve(&r->send, &r->send_cap, rows * w)) {
        r->ok = false;
        return true;
    }
    long long k = 0, *counts = r->counts, total = 0;
    for (int64_t row = 0; row < rows; row++) {
        const float *x = g + row * cols;
        uint32_t any = 0; /* the bits of the row ORed: no branch per float (-0.0 counts as nonzero) */
        for (int64_t j = 0; j < cols; j++) {
            uint32_t b;
            memcpy(&b, &x[j], sizeof b);
            any |= b;
        }
        if (!any)
            continue;
        int32_t id = (int32_t)row;
        memcpy(&r->send[k * w], &id, sizeof id);
        memcpy(&r->send[k * w + 1], x, sizeof(float) * (size_t)cols);
        k++;
    }
    if (MPI_Allgather(&k, 1, MPI_LONG_LONG, counts, 1, MPI_LONG_LONG, MPI_COMM_WORLD) != MPI_SUCCESS) {
        r->ok = false;
        return true;
    }
    for (int q = 0; q < po->ranks; q++)
        total += counts[q];
    /* a weight matrix, not a table (the ranks touched most of its rows):
     * dense from now on, without the scan and this blocking exchange in
     * the middle of the backward pass (the same decision on every rank) */
    if (po->sparse == SPARSE_AUTO && 2 * total > (long long)rows * po->ranks)
        r->rows[i] = 0;
    /* all ranks decide alike, from the same counts */
    if ((po->sparse == SPARSE_AUTO && (double)total * (double)w > PAR_ROWS_FRACTION * (double)(rows * cols)) ||
        (double)total * (double)w * sizeof(float) > 2e9)
        return false;
    int *bytes = r->bytes, *displ = r->displ;
    for (int q = 0, at = 0; q < po->ranks; q++) {
        bytes[q] = (int)(counts[q] * w * (long long)sizeof(float)), displ[q] = at;
        at += bytes[q];
    }
    if (!reserve(&r->recv, &r->recv_cap, total * w + 1) ||
        MPI_Allgatherv(r->send, (int)(k * w * (long long)sizeof(float)), MPI_BYTE, r->recv, bytes, displ, MPI_BYTE,
                       MPI_COMM_WORLD) != MPI_SUCCESS) {
        r->ok = false;
        return true;
    }
    for (long long e = 0; e < k; e++) { /* this rank's rows: zeros, then every rank's in rank order */
        int32_t id;
        memcpy(&id, &r->send[e * w], sizeof id);
        memset(g + (int64_t)id * cols, 0, sizeof(float) * (size_t)cols);
    }
    for (long long e = 0; e < total; e++) {
        int32_t id;
        memcpy(&id, &r->recv[e * w], sizeof id);
        float *dst = g + (int64_t)id * cols;
        const float *src = &r->recv[e * w + 1];
        for (int64_t j = 0; j < cols; j++)
            dst[j] += src[j];
    }
    return true;
}

void par_reduce_ready(void *arg, int i) {
    ParReduce *r = arg;
    double t0 = nnrt_now_us();
    float *g = r->ok ? r->d->ctx_grad_data(r->ctx, i) : NULL;
    if (!g) {
        r->ok = false;
        return;
    }
    if (!(r->rows[i] > 1 && sum_rows(r, i, g, r->rows[i], r->size[i] / r->rows[i])))
        sum_dense(r, i, g, r->size[i]);
    int done;
    if (r->nreq > 0 && MPI_Testall(r->nreq, r->req, &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
        r->ok = false;
    reduce_us += nnrt_now_us() - t0;
}

bool par_reduce_finish(ParReduce *r) {
    double t0 = nnrt_now_us();
    flush(r);
    if (r->nreq > 0 && MPI_Waitall(r->nreq, r->req, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
        r->ok = false;
    for (int k = 0; k < r->nstaged; k++) {
        int i = r->staged[k];
        memcpy(r->d->ctx_grad_data(r->ctx, i), r->stage + r->staged_off[k], sizeof(float) * (size_t)r->size[i]);
    }
    r->nreq = r->nstaged = 0;
    r->stage_end = r->stage_sent = 0;
    reduce_us += nnrt_now_us() - t0;
    reduces++;
    return r->ok;
}

bool par_mpi_sum_doubles(const ParOptions *po, double *x, int n) {
    (void)po;
    return MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) == MPI_SUCCESS;
}

bool par_mpi_bcast_int(const ParOptions *po, int *v) {
    (void)po;
    return MPI_Bcast(v, 1, MPI_INT, 0, MPI_COMM_WORLD) == MPI_SUCCESS;
}

void par_mpi_finish(const ParOptions *po, bool ok, bool report) {
    if (!started)
        return;
    if (ok && report && po->rank == 0 && po->ranks > 1 && reduces > 0) {
        double all = nnrt_now_us() - start_us;
        fprintf(stderr, "nngc: MPI: %d ranks, %lld gradient allreduces took %.2f s of %.2f s (%.1f%%)\n", po->ranks,
                reduces, reduce_us * 1e-6, all * 1e-6, all > 0 ? 100.0 * reduce_us / all : 0.0);
    }
    fflush(stdout);
    fflush(stderr);
    if (!ok && po->ranks > 1)
        MPI_Abort(MPI_COMM_WORLD, 1); /* the other ranks may be waiting in a collective */
    MPI_Finalize();
    started = false;
}

#else /* no MPI */

bool par_mpi_available(void) {
    return false;
}

bool par_mpi_init(ParOptions *po, bool required) {
    po->rank = 0, po->ranks = 1;
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    if (!size)
        size = getenv("PMI_SIZE");
    if (required || (under_mpirun() && atoi(size) > 1)) {
        driver_error("this nngc was built without MPI (nngc --version says so): install Open MPI (libopenmpi-dev) "
                     "and rebuild to train with mpirun");
        return false;
    }
    return true;
}

bool par_mpi_agree(const ParOptions *po, uint64_t hash, const char *what) {
    (void)po, (void)hash, (void)what;
    return true;
}

ParReduce *par_reduce_new(const ParOptions *po, const nnrt_model_desc *d, void *ctx) {
    (void)po, (void)d, (void)ctx;
    return NULL;
}

void par_reduce_ready(void *r, int i) {
    (void)r, (void)i;
}

bool par_reduce_finish(ParReduce *r) {
    (void)r;
    return false;
}

void par_reduce_free(ParReduce *r) {
    (void)r;
}

bool par_mpi_sum_doubles(const ParOptions *po, double *x, int n) {
    (void)po, (void)x, (void)n;
    return false;
}

bool par_mpi_bcast_int(const ParOptions *po, int *v) {
    (void)po, (void)v;
    return true;
}

void par_mpi_finish(const ParOptions *po, bool ok, bool report) {
    (void)report;
    (void)po, (void)ok;
}

#endif
