/*
 * bench/mpi_rows.c - where sending a table gradient as its touched rows
 * (nngc train --mpi-sparse=rows, compiler/driver/train_mpi.c) beats the
 * dense MPI_Allreduce: for a [ROWS, COLS] gradient with a fraction f of
 * its rows nonzero on each rank (random rows), the time of
 *
 *   dense: MPI_Allreduce of ROWS x COLS floats, in place;
 *   rows:  train_mpi.c's way: scan for nonzero rows, MPI_Allgather of the
 *          counts, MPI_Allgatherv of (row id, row) pairs, the rows added
 *          in rank order into zeroed rows.
 *
 * Each timing is the minimum over REPS tries, each after an MPI_Barrier
 * (so a rank descheduled by other work on the machine does not count).
 *
 *   mpicc -O2 -o mpi_rows bench/mpi_rows.c && mpirun -np 2 ./mpi_rows [ROWS COLS REPS]
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rows = 10000, cols = 64, reps = 30, rank, ranks;

static void fill(float *g, double f, unsigned seed)
{
    memset(g, 0, sizeof(float) * (size_t)rows * (size_t)cols);
    srand(seed);
    for (int r = 0; r < rows; r++)
        if (rand() < f * RAND_MAX)
            for (int j = 0; j < cols; j++)
                g[(size_t)r * cols + j] = 0.5f + (float)j;
}

static void by_rows(float *g, float *send, float *recv, long long *counts, int *bytes, int *displ)
{
    int w = cols + 1;
    long long k = 0, total = 0;
    for (int r = 0; r < rows; r++) {
        const float *x = g + (size_t)r * cols;
        uint32_t any = 0;
        for (int j = 0; j < cols; j++) {
            uint32_t b;
            memcpy(&b, &x[j], sizeof b);
            any |= b;
        }
        if (!any)
            continue;
        int32_t id = r;
        memcpy(&send[k * w], &id, sizeof id);
        memcpy(&send[k * w + 1], x, sizeof(float) * (size_t)cols);
        k++;
    }
    MPI_Allgather(&k, 1, MPI_LONG_LONG, counts, 1, MPI_LONG_LONG, MPI_COMM_WORLD);
    for (int q = 0, at = 0; q < ranks; q++) {
        total += counts[q];
        bytes[q] = (int)(counts[q] * w * 4), displ[q] = at;
        at += bytes[q];
    }
    MPI_Allgatherv(send, (int)(k * w * 4), MPI_BYTE, recv, bytes, displ, MPI_BYTE, MPI_COMM_WORLD);
    for (long long e = 0; e < k; e++) {
        int32_t id;
        memcpy(&id, &send[e * w], sizeof id);
        memset(g + (size_t)id * cols, 0, sizeof(float) * (size_t)cols);
    }
    for (long long e = 0; e < total; e++) {
        int32_t id;
        memcpy(&id, &recv[e * w], sizeof id);
        for (int j = 0; j < cols; j++)
            g[(size_t)id * cols + j] += recv[e * w + 1 + j];
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    if (argc > 3)
        rows = atoi(argv[1]), cols = atoi(argv[2]), reps = atoi(argv[3]);
    size_t n = (size_t)rows * (size_t)cols;
    float *g = malloc(n * sizeof(float)), *send = malloc((size_t)rows * (cols + 1) * sizeof(float));
    float *recv = malloc((size_t)ranks * rows * (cols + 1) * sizeof(float));
    long long *counts = malloc(sizeof(long long) * (size_t)ranks);
    int *bytes = malloc(sizeof(int) * (size_t)ranks), *displ = malloc(sizeof(int) * (size_t)ranks);
    static const double fs[] = {0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0};
    if (rank == 0)
        printf("# [%d, %d] gradient, %d ranks; min of %d tries, us\n%-6s %10s %10s %8s %s\n", rows, cols, ranks, reps,
               "f", "dense", "rows", "dense/rows", "(all ranks' rows / dense floats)");
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
        double best[2] = {1e30, 1e30};
        for (int t = 0; t < reps; t++)
            for (int way = 0; way < 2; way++) {
                fill(g, fs[i], 1000u * (unsigned)rank + (unsigned)t);
                MPI_Barrier(MPI_COMM_WORLD);
                double t0 = MPI_Wtime();
                if (way == 0)
                    MPI_Allreduce(MPI_IN_PLACE, g, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
                else
                    by_rows(g, send, recv, counts, bytes, displ);
                double dt = (MPI_Wtime() - t0) * 1e6, worst;
                MPI_Allreduce(&dt, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
                if (worst < best[way])
                    best[way] = worst;
            }
        if (rank == 0)
            printf("%-6.2f %10.1f %10.1f %7.2fx (%.2f)\n", fs[i], best[0], best[1], best[0] / best[1],
                   ranks * fs[i] * (cols + 1) / cols);
    }
    MPI_Finalize();
    return 0;
}
