/*
 * mknpy.c - .npy datasets for tests/traincli/run.sh.
 *
 *   mknpy clf DIR        x.npy [200, 32] f32, y.npy [200] i32 (train) and
 *                        vx.npy, vy.npy [100, ...] (valid): x uniform in
 *                        [-1, 1), y = argmax_c sum_j sin(7c + 3j) x_j over
 *                        10 classes (a linear rule examples/classifier.nn
 *                        can learn)
 *   mknpy lm VOCAB TEXT TMAX DIR
 *                        words.npy [N, TMAX + 1] i32: each line of TEXT as
 *                        <s> w1 ... wn <s> (the lm layout), padded with
 *                        -1; lengths.npy [N] i32: T = n + 1
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnrt_data.h"

static int fail(void) {
    fprintf(stderr, "mknpy: %s\n", nnrt_last_error());
    return 1;
}

static int clf(const char *dir) {
    nnrt_rng r;
    nnrt_rng_seed(&r, 7);
    static float x[300 * 32];
    static int32_t y[300];
    for (int i = 0; i < 300; i++) {
        double best = -1e30;
        for (int j = 0; j < 32; j++)
            x[i * 32 + j] = nnrt_rng_uniform(&r, -1, 1);
        for (int c = 0; c < 10; c++) {
            double s = 0;
            for (int j = 0; j < 32; j++)
                s += sin(7.0 * c + 3.0 * j) * x[i * 32 + j];
            if (s > best)
                best = s, y[i] = c;
        }
    }
    char p[4096];
    int64_t sx[2] = {200, 32}, sy[1] = {200}, vx[2] = {100, 32}, vy[1] = {100};
    snprintf(p, sizeof p, "%s/x.npy", dir);
    if (nnrt_npy_write(p, NNRT_F32, 2, sx, x))
        return fail();
    snprintf(p, sizeof p, "%s/y.npy", dir);
    if (nnrt_npy_write(p, NNRT_I32, 1, sy, y))
        return fail();
    snprintf(p, sizeof p, "%s/vx.npy", dir);
    if (nnrt_npy_write(p, NNRT_F32, 2, vx, x + 200 * 32))
        return fail();
    snprintf(p, sizeof p, "%s/vy.npy", dir);
    if (nnrt_npy_write(p, NNRT_I32, 1, vy, y + 200))
        return fail();
    return 0;
}

static int lm(const char *vocab, const char *text, long tmax, const char *dir) {
    nnrt_vocab w, l;
    nnrt_corpus c;
    if (nnrt_vocab_load(vocab, &w, &l) || nnrt_corpus_read(text, &w, NULL, tmax - 1, &c))
        return fail();
    int32_t *words = malloc(sizeof(int32_t) * (size_t)(c.n * (tmax + 1))), *len = malloc(sizeof(int32_t) * (size_t)c.n);
    for (int64_t i = 0; i < c.n; i++) {
        int32_t *row = words + i * (tmax + 1);
        for (long j = 0; j <= tmax; j++)
            row[j] = -1;
        len[i] = (int32_t)nnrt_layout_fill(NNRT_LAYOUT_LM, 1, c.id + c.start[i], c.start[i + 1] - c.start[i], row);
    }
    char p[4096];
    int64_t sw[2] = {c.n, tmax + 1}, sl[1] = {c.n};
    snprintf(p, sizeof p, "%s/words.npy", dir);
    if (nnrt_npy_write(p, NNRT_I32, 2, sw, words))
        return fail();
    snprintf(p, sizeof p, "%s/lengths.npy", dir);
    int rc = nnrt_npy_write(p, NNRT_I32, 1, sl, len) ? fail() : 0;
    free(words);
    free(len);
    nnrt_corpus_free(&c);
    nnrt_vocab_free(&w);
    nnrt_vocab_free(&l);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "clf") == 0)
        return clf(argv[2]);
    if (argc == 6 && strcmp(argv[1], "lm") == 0)
        return lm(argv[2], argv[3], atol(argv[4]), argv[5]);
    fprintf(stderr, "usage: mknpy clf DIR | mknpy lm VOCAB TEXT TMAX DIR\n");
    return 2;
}
