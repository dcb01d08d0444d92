/*
 * hoisted_test.c - NAME_predict where the passes take a cross_entropy's
 * parts out of its loop (hoisted.nn, hoisted_term.nn, hoisted_short.nn,
 * model hoisted, compiled with --softmax=METHOD at -O0, -O1 and -O2 by
 * run.sh). Their logits are the same at every step, so every position's
 * word is the argmax over w of log p(w), found another way: with every
 * word of the input w, the forward graph's loss is N (-log p(w)) and
 * nothing else (words[t] or words[0] the target of each of the N steps;
 * embed: the vMF loss, whose only term in w is -h . e_w / |e_w|), so the
 * word is the argmin over w of the loss, one forward call per candidate.
 * The forward graph of the same method is the reference, not the decoder;
 * the count must be N, one word per step, as at -O0.
 *
 *   hoisted_test V T N     (V words, inputs of T words, N positions)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoisted.h"

#define MAXV 64
#define MAXT 8

int main(int argc, char **argv) {
    int V = argc > 3 ? atoi(argv[1]) : 0, T = argc > 3 ? atoi(argv[2]) : 0, N = argc > 3 ? atoi(argv[3]) : -1;
    if (V < 2 || V > MAXV || T < 1 || T > MAXT || N < 0) {
        fprintf(stderr, "usage: hoisted_test V T N\n");
        return 2;
    }
    int64_t counts[MAXV];
    for (int w = 0; w < V; w++)
        counts[w] = 100 / (w + 1) + 1;
    int failures = 0, near = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        hoisted *m = hoisted_create(seed);
        hoisted_ctx *c = hoisted_ctx_create(m);
        if (!m || !c)
            return 1;
        if (seed % 2 && hoisted_desc.set_counts && hoisted_desc.set_counts(m, counts, V) != NNRT_OK) {
            printf("not ok - set_counts: %s\n", nnrt_last_error());
            return 1;
        }
        int32_t words[MAXT], got[MAXT + 1];
        for (int i = 0; i < T; i++)
            words[i] = (int32_t)((seed * 7 + (uint64_t)i * 5) % (uint64_t)V);
        hoisted_inputs in = {.T = T, .words = words};
        int64_t n = -1;
        if (hoisted_predict(m, &in, got, MAXT + 1, &n) != NNRT_OK) {
            printf("not ok - seed %d: predict: %s\n", (int)seed, nnrt_last_error());
            return 1;
        }
        /* the reference: argmin over w of the loss with every word w */
        int32_t best = -1, same[MAXT];
        double b1 = INFINITY, b2 = INFINITY;
        for (int32_t w = 0; w < V; w++) {
            for (int i = 0; i < T; i++)
                same[i] = w;
            hoisted_inputs inw = {.T = T, .words = same};
            hoisted_outputs out;
            if (hoisted_ctx_forward(c, &inw, &out) != NNRT_OK) {
                printf("not ok - forward: %s\n", nnrt_last_error());
                return 1;
            }
            if (out.loss < b1) {
                b2 = b1, b1 = out.loss, best = w;
            } else if (out.loss < b2) {
                b2 = out.loss;
            }
        }
        int wrong = n != N;
        for (int64_t k = 0; k < n && k < N; k++)
            wrong += got[k] != best;
        if (wrong && b2 - b1 < 1e-4 * N) { /* float32 losses: a tie within rounding */
            near++;
        } else if (wrong) {
            printf("# seed %d: %lld words:", (int)seed, (long long)n);
            for (int64_t k = 0; k < n && k <= MAXT; k++)
                printf(" %d", got[k]);
            printf("; want %d words %d (the loss's argmin, gap %g)\n", N, best, b2 - b1);
            failures++;
        }
        hoisted_ctx_destroy(c);
        hoisted_destroy(m);
    }
    printf("%s - %d words per call, each the forward graph's argmax (4 seeds, %d near-ties)\n",
           failures || near > 1 ? "not ok" : "ok", N, near);
    return failures || near > 1;
}
