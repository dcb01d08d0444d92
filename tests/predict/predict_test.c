/*
 * predict_test.c - NAME_predict (compiler/backend/predict.c) on the RNN
 * language model of tests/approx_e2e/rnn.nn compiled with --softmax=METHOD
 * (run.sh): the word predicted at each position of a sentence must be the
 * argmax of the forward graph's own log p(w | the words before), found
 * another way: for every candidate w, NAME_ctx_forward on the prefix and w
 * gives a loss whose only term that depends on w is -log p(w | prefix)
 * (embed: the vMF loss, whose only term in w is -h . e_w / |e_w|). So the
 * forward graph of the same method, not the decoder, is the reference.
 * Also: the count (cap 0), too small a cap, NULL arguments, and a second
 * context giving the same words. With a SEED argument it prints the words
 * of one sentence instead (run.sh compares them with `nngc run --predict`).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnnt.h"

#define NV 24
#define NT 6

static int failures;

static void check(int cond, const char *what) {
    printf("%s - %s\n", cond ? "ok" : "not ok", what);
    failures += !cond;
}

/* The argmax over w of -loss(prefix words[0..t], w), and the gap to the
 * second best (how close a tie is). */
static int32_t reference(rnnt_ctx *c, const int32_t *words, int t, double *gap) {
    int32_t seq[NT + 1], best = -1;
    double b1 = -INFINITY, b2 = -INFINITY;
    memcpy(seq, words, sizeof(int32_t) * (size_t)(t + 1));
    for (int32_t w = 0; w < NV; w++) {
        seq[t + 1] = w;
        rnnt_inputs in = {.T = t + 1, .words = seq};
        rnnt_outputs out;
        if (rnnt_ctx_forward(c, &in, &out) != NNRT_OK) {
            fprintf(stderr, "forward: %s\n", nnrt_last_error());
            exit(1);
        }
        double s = -(double)out.loss;
        if (s > b1) {
            b2 = b1, b1 = s, best = w;
        } else if (s > b2) {
            b2 = s;
        }
    }
    *gap = b1 - b2;
    return best;
}

/* predict_test SEED: the words NAME_predict gives the sentence of nngc
 * run's test (run.sh) with the model of that seed, as `nngc run
 * --predict` prints them. */
static int print_words(uint64_t seed) {
    rnnt *m = rnnt_create(seed);
    const int32_t words[NT + 1] = {0, 5, 2, 23, 7, 1, 12};
    rnnt_inputs in = {.T = NT, .words = words};
    int32_t got[NT];
    int64_t n = 0;
    if (!m || rnnt_predict(m, &in, got, NT, &n) != NNRT_OK)
        return 1;
    printf("predict [%lld] =", (long long)n);
    for (int64_t i = 0; i < n; i++)
        printf(" %d", got[i]);
    printf("\n");
    rnnt_destroy(m);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1)
        return print_words(strtoull(argv[1], NULL, 10));
    const int64_t counts[NV] = {90, 60, 50, 40, 30, 25, 20, 18, 16, 14, 12, 10, 9, 8, 7, 6, 5, 4, 3, 3, 2, 2, 1, 1};
    int agree = 0, near = 0, total = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        rnnt *m = rnnt_create(seed);
        rnnt_ctx *c = rnnt_ctx_create(m);
        if (!m || !c)
            return 1;
        if (seed % 2 && rnnt_desc.set_counts) /* skewed classes and tree on odd seeds, uniform on even */
            check(rnnt_desc.set_counts(m, counts, NV) == NNRT_OK, "set_counts");
        float *Wo = rnnt_param(m, "Wo");
        for (int i = 0; i < NV * 6; i++) /* larger output rows: words far apart, fewer near-ties */
            Wo[i] *= 3.0f;
        int32_t words[NT + 1];
        for (int i = 0; i <= NT; i++)
            words[i] = (int32_t)((seed * 7 + (uint64_t)i * 5) % NV);
        rnnt_inputs in = {.T = NT, .words = words};
        int32_t got[NT], again[NT];
        int64_t n = -1;
        if (rnnt_predict(m, &in, got, NT, &n) != NNRT_OK) {
            printf("not ok - predict: %s\n", nnrt_last_error());
            return 1;
        }
        check(n == NT, "predict: one word per position");
        for (int t = 0; t < NT; t++) {
            double gap;
            int32_t want = reference(c, words, t, &gap);
            total++;
            if (got[t] == want) {
                agree++;
            } else if (gap < 1e-4) { /* float32 losses: a tie within rounding */
                near++;
            } else {
                printf("# seed %d position %d: predicted %d, the forward graph's argmax is %d (gap %g)\n", (int)seed, t,
                       got[t], want, gap);
            }
        }
        /* a second context, the same words */
        check(rnnt_ctx_predict(c, &in, again, NT, NULL) == NNRT_OK && memcmp(got, again, sizeof got) == 0,
              "ctx_predict: the same words");
        if (seed == 1) {
            check(rnnt_predict(m, &in, NULL, 0, &n) == NNRT_ERR_RANGE && n == NT, "cap 0: counts the positions");
            check(rnnt_predict(m, &in, again, NT - 1, &n) == NNRT_ERR_RANGE && strstr(nnrt_last_error(), "room for 5"),
                  "too small a cap: an error");
            check(rnnt_predict(NULL, &in, again, NT, &n) == NNRT_ERR_ARG, "NULL model: an error");
            check(rnnt_predict(m, NULL, again, NT, &n) == NNRT_ERR_ARG, "NULL inputs: an error");
            rnnt_outputs out;
            check(rnnt_forward(m, &in, &out) == NNRT_OK, "forward after predict");
        }
        rnnt_ctx_destroy(c);
        rnnt_destroy(m);
    }
    printf("# %d of %d positions agree, %d near-ties\n", agree, total, near);
    check(agree + near == total && near <= total / 20, "every predicted word is the forward graph's argmax");
    return failures != 0;
}
