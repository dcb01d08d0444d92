/*
 * bench.c - words/s of training examples/rnnlm.nn on token ids, one
 * sentence per step (BATCH 1: the program as written) or BATCH sentences
 * per step (nngc --batch=BATCH). Built and run by tests/batch/bench.sh.
 *
 *   bench IDS.bin SECONDS     IDS.bin: int32 count n, then n sentences as
 *                             (int32 T, T + 1 int32 ids)
 * Batches of BATCH sentences of similar lengths (bucketing: the file's
 * sentences sorted by length, cut into batches, the batches in a fixed
 * shuffled order), so that padding to the longest wastes little.
 * Prints "BATCH words_per_s steps loss_per_word words_per_cpu_s".
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include "rnnlm.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef BATCH
#define BATCH 1
#endif

static double clock_s(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
/* this process's CPU time: on a machine shared with other jobs, words per
 * CPU second move less with the load than words per wall second */
static double cpu(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

static const int32_t *g_len;
static int by_length(const void *a, const void *b) {
    int32_t x = g_len[*(const int *)a], y = g_len[*(const int *)b];
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 3)
        return fprintf(stderr, "usage: bench IDS.bin SECONDS\n"), 2;
    FILE *f = fopen(argv[1], "rb");
    int32_t n;
    if (!f || fread(&n, 4, 1, f) != 1)
        return perror(argv[1]), 1;
    int32_t **sent = malloc(sizeof *sent * (size_t)n), *len = malloc(sizeof *len * (size_t)n);
    for (int i = 0; i < n; i++) {
        if (fread(&len[i], 4, 1, f) != 1 || !(sent[i] = malloc(4 * (size_t)(len[i] + 1))) ||
            fread(sent[i], 4, (size_t)len[i] + 1, f) != (size_t)len[i] + 1)
            return fprintf(stderr, "%s: short file\n", argv[1]), 1;
    }
    fclose(f);
    int *order = malloc(sizeof *order * (size_t)n); /* sentence indices by length */
    for (int i = 0; i < n; i++)
        order[i] = i;
    g_len = len;
    qsort(order, (size_t)n, sizeof *order, by_length);
    int nb = n / BATCH, *border = malloc(sizeof *border * (size_t)nb);
    uint64_t r = 88172645463325252ull;
    for (int i = 0; i < nb; i++)
        border[i] = i;
    for (int i = nb - 1; i > 0; i--) { /* xorshift shuffle of the batches */
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        int j = (int)(r % (uint64_t)(i + 1)), x = border[i];
        border[i] = border[j], border[j] = x;
    }
    double budget = atof(argv[2]), words = 0, loss = 0, t0 = now(), c0 = cpu();
    rnnlm *m = rnnlm_create(1);
    static int32_t ids[101 * BATCH], lens[BATCH];
    long steps = 0;
    for (int k = 0; now() - t0 < budget; k = (k + 1) % nb) {
        const int *s = order + (size_t)border[k] * BATCH;
        int64_t T = 0;
        for (int b = 0; b < BATCH; b++)
            T = len[s[b]] > T ? len[s[b]] : T;
        for (int b = 0; b < BATCH; b++) { /* time-major, padded with id 0 */
            for (int t = 0; t <= T; t++)
                ids[t * BATCH + b] = t <= len[s[b]] ? sent[s[b]][t] : 0;
            lens[b] = len[s[b]];
            words += len[s[b]];
        }
#if BATCH > 1
        rnnlm_inputs in = {.T = T, .words = ids, .T_len = lens};
#else
        rnnlm_inputs in = {.T = T, .words = ids};
#endif
        float l;
        if (rnnlm_train_step(m, &in, &l) != NNRT_OK)
            return fprintf(stderr, "%s\n", nnrt_last_error()), 1;
        loss += l;
        steps++;
    }
    double dt = now() - t0, dc = cpu() - c0;
    printf("%d %.0f %ld %.4f %.0f\n", BATCH, words / dt, steps, loss / words, words / dc);
    rnnlm_destroy(m);
    return 0;
}
