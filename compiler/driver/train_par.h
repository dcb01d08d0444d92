/*
 * train_par.h - parallel training for `nngc train` (docs/TRAIN.md,
 * "Parallel training"): --threads N with --parallel=hogwild|sync, the
 * trainer-level --batch B (B examples' gradients summed, one update), and
 * the ranks of an MPI job (train_mpi.c).
 *
 * train.c runs one epoch through par_epoch when par_active() says so; the
 * plain one-thread --batch 1 loop (NAME_train_step per example) stays as it
 * was.
 */
#ifndef NNGC_TRAIN_PAR_H
#define NNGC_TRAIN_PAR_H

#include "train.h"

typedef enum { PAR_AUTO, PAR_HOGWILD, PAR_SYNC } ParMode;
/* How a gradient with rows (a rank-2 param) is summed over MPI ranks: auto
 * (the touched rows when few enough, else dense), always the touched rows,
 * always dense (train_mpi.c). */
typedef enum { SPARSE_AUTO, SPARSE_ROWS, SPARSE_DENSE } ParSparse;

typedef struct ParOptions {
    long threads; /* --threads N (1) */
    ParMode mode; /* --parallel=hogwild|sync (auto: hogwild for --batch 1, else sync) */
    long batch;   /* --batch B (1): the global batch, whatever threads and ranks */
    int rank, ranks; /* MPI: this process's rank and the job's size (0 and 1 without MPI) */
    /* --mpi-bucket MB (1): gradients summed over the ranks in MPI_Iallreduce
     * calls of about MB MiB, started as the backward pass finishes them; 0:
     * after the backward pass, a blocking MPI_Allreduce per param */
    double bucket_mb;
    bool bucket_given;
    ParSparse sparse; /* --mpi-sparse=auto|rows|dense: table gradients over the ranks */
    double clip;      /* --clip X: the gradients' global L2 norm at most X before each update (0: off) */
} ParOptions;

/* --clip: scales every gradient of ctx by max_norm / (norm + 1e-6) when
 * their global L2 norm (over all params, as torch.nn.utils.clip_grad_norm_)
 * is over max_norm. Returns whether it scaled. */
bool par_clip(const nnrt_model_desc *d, void *ctx, double max_norm);

/* Parses the value of --parallel; false after an error message. */
bool par_parse_mode(ParOptions *po, const char *v);
/* --mpi-bucket MB, --mpi-sparse=auto|rows|dense (opt names which); false
 * after an error message. */
bool par_parse_mpi(ParOptions *po, const char *opt, const char *v);
/* Resolves PAR_AUTO and checks the combination; false after a message. */
bool par_check(ParOptions *po, bool quiet);
/* Whether epochs go through par_epoch. */
bool par_active(const ParOptions *po);
/* The rule that keeps OpenBLAS's threads and ours within the cores:
 * with N > 1 threads, OpenBLAS gets max(1, cores / N) (at most what
 * OPENBLAS_NUM_THREADS asked for). Returns the count set, 0 when unchanged. */
int par_blas_threads(long threads, int ranks_here);

/* Called by the first thread now and then: examples and words done since
 * the last call, the fraction of the epoch done, the lr, the mean loss per
 * unit so far (of the examples that thread saw). */
typedef void (*ParProgress)(void *arg, int64_t dexamples, int64_t dwords, double frac, double lr, double loss);

typedef struct ParEpoch {
    const ParOptions *po;
    const nnrt_model_desc *d;
    void *m;
    Dataset *ds;
    const int64_t *perm; /* sync: the epoch's order (the same on every rank) */
    uint64_t seed;
    long epoch;
    /* lr at global step s: lr0 * (linear ? max(1e-4, 1 - s / total) : 1) */
    double lr0;
    bool linear;
    int64_t step0, total; /* steps (examples) before this epoch, in all epochs */
    int64_t work_epoch;   /* hogwild's lr: words of one epoch (text), else examples */
    ParProgress progress;
    void *progress_arg;
    /* sync: the global batches of perm[first, end) (end 0: to the end);
     * with bat, each full and every share of bat->B examples is one call
     * of the batched program (d and m are then bat->bd and bat->bm) */
    int64_t first, end;
    const Batched *bat;
} ParEpoch;

/* One epoch; *loss and *units sum it over all threads (and ranks). False
 * after an error message naming the example. */
bool par_epoch(const ParEpoch *pe, double *loss, double *units);

/* train_mpi.c: MPI when nngc was built with it (NNGC_HAVE_MPI), else stubs. */
bool par_mpi_available(void);
/* Starts MPI when the process was started by mpirun (or --mpi was given):
 * fills po->rank, po->ranks. False after a message. */
bool par_mpi_init(ParOptions *po, bool required);
/* Every rank has the same 64-bit hash (of the model source and the
 * options); false after a message naming the first rank that differs. */
bool par_mpi_agree(const ParOptions *po, uint64_t hash, const char *what);
/* The gradients of one context summed over the ranks, in place, param by
 * param as they are ready: par_reduce_ready(r, i) for every param once per
 * step (the generated code's grad-ready hook, or the caller after the
 * backward pass), then par_reduce_finish, which waits for all. The sums
 * are the same on every rank. NULL from par_reduce_new without MPI. */
typedef struct ParReduce ParReduce;
ParReduce *par_reduce_new(const ParOptions *po, const nnrt_model_desc *d, void *ctx);
void par_reduce_ready(void *r, int i);
bool par_reduce_finish(ParReduce *r);
void par_reduce_free(ParReduce *r);
/* Sums a few doubles in place over the ranks. */
bool par_mpi_sum_doubles(const ParOptions *po, double *x, int n);
/* Every rank gets rank 0's int (a status: go on or stop). */
bool par_mpi_bcast_int(const ParOptions *po, int *v);
/* MPI_Finalize (MPI_Abort after a failure); with report, rank 0 prints the
 * share of the run spent in the gradient allreduces (stderr). */
void par_mpi_finish(const ParOptions *po, bool ok, bool report);

#endif /* NNGC_TRAIN_PAR_H */
