/*
 * sparse_check.c - the sparse gradient of a lookup table (tests/train).
 *
 * Built against tests/train/models/skipgram.nn compiled at -O2, where the
 * gradient of Ww is one scatter of rows: each call zeroes only the rows
 * the previous call touched and lists its own, and SGD updates only the
 * listed rows, once each. Checked here against references that never
 * take that shortcut:
 *
 *   1. grad after a call on other words == grad of a fresh model (same
 *      params) on the same words: no stale row survives, bit for bit;
 *   2. every row of Ww's gradient that no word of the call touched is 0;
 *   3. a train step (words repeated within the sentence) changes Ww by
 *      exactly -lr * grad on the touched rows, once, and leaves every other
 *      row bit-identical; Wc (dense) by -lr * grad everywhere.
 *
 * Built too with -DSAMPLES against the model with --softmax=neg:k=3 (rows
 * ops; both tables sparse, the train step's SGD applied in the scatters,
 * nnrt_rows_scatter_sgd, with rows that come once and rows that repeat):
 * 2 and 3, where 3 also checks Wc's sparse step, bit for bit, and
 * train_step's loss. With -DREV as well, against skipgram_rev.nn renamed
 * skipgram (the contexts' vectors predict the centre word: the rows of Ww
 * a call touches are the context words).
 *
 * Prints "ok" and exits 0, or says what differs and exits 1.
 */
#include <stdio.h>
#include <string.h>

#include "skipgram.h"

enum { V = 12, D = 5, T = 6 };

/* Does the call on sentence s read row r of Ww: a centre word, or with
 * -DREV a context word? */
static int touched(const int32_t *s, int r) {
    int used = 0;
    for (int t = 2; t < T + 2; t++)
#ifdef REV
        used |= s[t - 2] == r || s[t - 1] == r || s[t + 1] == r || s[t + 2] == r;
#else
        used |= s[t] == r;
#endif
    return used;
}

static int fail(const char *what) {
    printf("FAIL: %s\n", what);
    return 1;
}

int main(void) {
    /* sentences of T + 4 ids; b repeats word 3 and shares none of a's
     * centre words (positions 2 .. T+1) */
    const int32_t a[T + 4] = {0, 0, 1, 2, 4, 5, 6, 7, 0, 0};
    const int32_t b[T + 4] = {0, 0, 3, 8, 3, 9, 3, 10, 0, 0};
    skipgram *m1 = skipgram_create(7), *m2 = skipgram_create(7);
    if (!m1 || !m2)
        return fail("create");
    skipgram_inputs ia = {.T = T, .sent = a}, ib = {.T = T, .sent = b};
    skipgram_outputs out;
    static float g1[V * D], g2[V * D], w0[V * D], c0[V * D], gw[V * D], gc[V * D];

    /* 1, 2: stale rows */
    if (skipgram_grad(m1, &ia, &out) || skipgram_grad(m1, &ib, &out) || skipgram_grad(m2, &ib, &out))
        return fail("grad");
    memcpy(g1, skipgram_grad_data(m1, 0), sizeof g1);
    memcpy(g2, skipgram_grad_data(m2, 0), sizeof g2);
#ifndef SAMPLES /* (m2's first call draws other samples than m1's second) */
    if (memcmp(g1, g2, sizeof g1) != 0)
        return fail("grad of Ww after a call on other words differs from a fresh model's");
#endif
    for (int r = 0; r < V; r++) {
        int used = touched(b, r);
        for (int j = 0; j < D && !used; j++)
            if (g1[r * D + j] != 0.0f)
                return fail("a row no word touched has a non-zero gradient");
    }

    /* 3: one SGD step = w - lr * g on the touched rows, once each; g
     * from m2, whose third call draws the samples m1's third draws */
    memcpy(w0, skipgram_param(m1, "Ww"), sizeof w0);
    memcpy(c0, skipgram_param(m1, "Wc"), sizeof c0);
    float loss;
    if (skipgram_grad(m2, &ia, &out) || skipgram_grad(m2, &ib, &out))
        return fail("grad");
    memcpy(gw, skipgram_grad_data(m2, 0), sizeof gw);
    memcpy(gc, skipgram_grad_data(m2, 1), sizeof gc);
    if (skipgram_train_step(m1, &ib, &loss))
        return fail("train_step");
    if (loss != out.loss)
        return fail("train_step's loss differs from grad's");
    const float lr = 0.1f, *w1 = skipgram_param(m1, "Ww"), *c1 = skipgram_param(m1, "Wc");
    for (int r = 0; r < V; r++) {
        int used = touched(b, r);
        for (int j = 0; j < D; j++) {
            int i = r * D + j;
            float want = used ? w0[i] - lr * gw[i] : w0[i];
            if (w1[i] != want) {
                printf("Ww[%d, %d] = %.9g, want %.9g (row %s)\n", r, j, w1[i], want, used ? "touched" : "untouched");
                return fail("sparse SGD step");
            }
            if (c1[i] != c0[i] - lr * gc[i]) /* dense, or sparse (neg): gc 0 on the rows left alone */
                return fail("SGD step of Wc");
        }
    }
    skipgram_destroy(m1);
    skipgram_destroy(m2);
    printf("ok\n");
    return 0;
}
