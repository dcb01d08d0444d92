/*
 * train_mpi.c - the ranks of `mpirun -np P nngc train ...` (docs/TRAIN.md,
 * "Several machines: MPI"). Built with MPI when the Makefile found mpicc
 * (NNGC_HAVE_MPI); otherwise every function says MPI is not there.
 *
 * What the ranks do (train_par.c does the steps): every rank reads the
 * whole data set and draws the same order; in each global batch rank r
 * takes its share; after the threads of each rank have summed their
 * gradients, MPI_Allreduce sums them over the ranks (in place, in buckets
 * of at most PAR_BUCKET floats: the network carries the size of the
 * gradients per step), and every rank applies the same update. Rank 0
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

#define PAR_BUCKET (1 << 20) /* floats per MPI_Allreduce: 4 MiB */

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

bool par_mpi_sum_floats(const ParOptions *po, float *x, int64_t n) {
    double t0 = nnrt_now_us();
    for (int64_t i = 0; i < n; i += PAR_BUCKET) {
        int c = (int)(n - i < PAR_BUCKET ? n - i : PAR_BUCKET);
        if (MPI_Allreduce(MPI_IN_PLACE, x + i, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
            return false;
    }
    reduce_us += nnrt_now_us() - t0;
    reduces++;
    (void)po;
    return true;
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

bool par_mpi_sum_floats(const ParOptions *po, float *x, int64_t n) {
    (void)po, (void)x, (void)n;
    return false;
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
