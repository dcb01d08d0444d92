/*
 * class_test.c - the compiled class lowering (tests/approx_e2e/class.nn)
 * against the runtime's float64 reference (nnrt_ref_class on classes built
 * by nnrt_classes_build from the same counts, RNNLM's sqrt binning), one
 * "ok - " line per check:
 *   - loss and the gradients of E, W, b, W.class, W.class_bias equal the
 *     reference's (relative 1e-4), for uniform counts (the model's default
 *     classes; with BAKED defined, the fixture counts the model was compiled
 *     with by --counts), the fixture counts of tests/approx/ (classt_set_counts) and
 *     counts that give fewer classes than asked;
 *   - central finite differences of the compiled loss agree with the
 *     compiled gradient;
 *   - the forward function is -log p(y) with p from nnrt_class_probs (a
 *     distribution over the words: checked to sum to 1 here too).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classt.h"
#include "common.h"
#include "fd.h"
#include "nnrt_approx.h"

FD_MODEL(classt)

#define NV 12
#define ND 5
#define NT 4
#define NC 4

static const int32_t xs[NT] = {1, 5, 2, 7}, ys[NT] = {3, 0, 11, 6};

/* The logits of position t: zw = W h + b, zc = W.class h + W.class_bias. */
static void logits(classt *m, int t, double *h, double *zc, double *zw)
{
    const float *E = classt_param(m, "E"), *W = classt_param(m, "W"), *b = classt_param(m, "b"),
                *Wc = classt_param(m, "W.class"), *bc = classt_param(m, "W.class_bias");
    for (int j = 0; j < ND; j++)
        h[j] = E[xs[t] * ND + j];
    for (int w = 0; w < NV; w++) {
        zw[w] = b[w];
        for (int j = 0; j < ND; j++)
            zw[w] += (double)W[w * ND + j] * h[j];
    }
    for (int c = 0; c < NC; c++) {
        zc[c] = bc[c];
        for (int j = 0; j < ND; j++)
            zc[c] += (double)Wc[c * ND + j] * h[j];
    }
}

/* Loss, gradients (g[0..4]: E, W, b, W.class, W.class_bias), sum of log p(y)
 * and the worst |sum_w p(w) - 1| over the positions. */
static double reference(classt *m, const nnrt_classes *cl, double *const *g, double *logp, double *sum_err)
{
    const float *W = classt_param(m, "W"), *Wc = classt_param(m, "W.class");
    double h[ND], zc[NC], zw[NV], gc[NC], gw[NV], p[NV], loss = 0;
    memset(g[0], 0, sizeof(double) * NV * ND);
    memset(g[1], 0, sizeof(double) * NV * ND);
    memset(g[2], 0, sizeof(double) * NV);
    memset(g[3], 0, sizeof(double) * NC * ND);
    memset(g[4], 0, sizeof(double) * NC);
    *logp = *sum_err = 0;
    for (int t = 0; t < NT; t++) {
        logits(m, t, h, zc, zw);
        loss += nnrt_ref_class(cl, zc, zw, ys[t], gc, gw);
        nnrt_class_probs(cl, zc, zw, p);
        double s = 0;
        for (int w = 0; w < NV; w++)
            s += p[w];
        *sum_err = fmax(*sum_err, fabs(s - 1));
        *logp += log(p[ys[t]]);
        for (int w = 0; w < NV; w++) {
            g[2][w] += gw[w];
            for (int j = 0; j < ND; j++) {
                g[1][w * ND + j] += gw[w] * h[j];
                g[0][xs[t] * ND + j] += gw[w] * W[w * ND + j];
            }
        }
        for (int c = 0; c < cl->C; c++) {
            g[4][c] += gc[c];
            for (int j = 0; j < ND; j++) {
                g[3][c * ND + j] += gc[c] * h[j];
                g[0][xs[t] * ND + j] += gc[c] * Wc[c * ND + j];
            }
        }
    }
    return loss;
}

static const int sizes[5] = {NV * ND, NV * ND, NV, NC * ND, NC};

static void against_reference(classt *m, classt_ctx *c, const classt_inputs *in, const int64_t *counts,
                              const char *what)
{
    char name[240];
    nnrt_classes cl;
    if (nnrt_classes_build(&cl, counts, NV, NC, 1) != NNRT_OK)
        exit(1);
    float loss = run_grad(c, in);
    double g0[NV * ND], g1[NV * ND], g2[NV], g3[NC * ND], g4[NC], logp, sum_err;
    double *g[5] = {g0, g1, g2, g3, g4};
    double ref = reference(m, &cl, g, &logp, &sum_err);
    snprintf(name, sizeof name, "%s (%lld classes): loss %.6f vs reference %.6f", what, (long long)cl.C, loss, ref);
    check(relerr(loss, ref) < 1e-4, name);
    double e[5], worst = 0;
    for (int p = 0; p < 5; p++) {
        e[p] = maxrel(classt_ctx_grad_data(c, p), g[p], sizes[p]);
        worst = fmax(worst, e[p]);
    }
    snprintf(name, sizeof name, "%s: grads of E, W, b, W.class, W.class_bias vs reference (max rel err %.2g %.2g %.2g %.2g %.2g)",
             what, e[0], e[1], e[2], e[3], e[4]);
    check(worst < 1e-4, name);
    classt_outputs out;
    classt_ctx_forward(c, in, &out);
    snprintf(name, sizeof name, "%s: forward is -log p(y) under the classes (%.6f vs %.6f; p sums to 1 within %.1g)",
             what, out.loss, -logp, sum_err);
    check(relerr(out.loss, -logp) < 1e-4 && sum_err < 1e-12, name);
    nnrt_classes_free(&cl);
}

int main(void)
{
    classt *m = classt_create(5);
    classt_ctx *c = classt_ctx_create(m);
    if (!m || !c)
        return 1;
    /* the class rows start at zero bias and glorot weights: give the bias
     * values, so that a gradient lost on the way shows */
    float *bc = classt_param(m, "W.class_bias");
    for (int k = 0; k < NC; k++)
        bc[k] = 0.3f * (float)(k - 1);
    classt_inputs in = {.T = NT, .x = xs, .y = ys};
    int64_t ones[NV];
    for (int i = 0; i < NV; i++)
        ones[i] = 1;
    const int64_t counts[NV] = {50, 3, 40, 30, 20, 12, 9, 6, 4, 3, 2, 1};
#ifdef BAKED /* compiled with --counts=tests/approx/fixtures/counts.npy: those are the start */
    against_reference(m, c, &in, counts, "--counts's classes (default)");
    check(classt_set_counts(m, ones, NV) == NNRT_OK, "set_counts (uniform)");
    against_reference(m, c, &in, ones, "uniform classes after set_counts");
#else
    against_reference(m, c, &in, ones, "uniform classes (default)");
#endif
    check(classt_set_counts(m, counts, NV) == NNRT_OK, "set_counts");
    against_reference(m, c, &in, counts, "fixture counts");

    /* fewer counts than words (a vocabulary smaller than V): the ids past
     * n count 0 for the noise, 1 for the classes (c_approx.c's emit_build) */
    const int64_t first6[NV] = {50, 3, 40, 30, 20, 12, 1, 1, 1, 1, 1, 1};
    check(classt_set_counts(m, counts, 6) == NNRT_OK, "set_counts with 6 counts for 12 words");
    against_reference(m, c, &in, first6, "6 counts (the rest as 1)");
    check(classt_set_counts(m, counts, NV) == NNRT_OK, "set_counts (fixture counts again)");

    /* counts in id order need not fall: 11 rare words then a frequent one
     * give 2 classes of the 4 asked (the class level's softmax runs over 2) */
    const int64_t skewed[NV] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1000};
    check(classt_set_counts(m, skewed, NV) == NNRT_OK, "set_counts (skewed)");
    against_reference(m, c, &in, skewed, "skewed counts");

    float *P[5] = {classt_param(m, "E"), classt_param(m, "W"), classt_param(m, "b"), classt_param(m, "W.class"), bc};
    fd_check(c, &in, P, sizes, 5, "every param entry");

    classt_ctx_destroy(c);
    classt_destroy(m);
    return fails != 0;
}
