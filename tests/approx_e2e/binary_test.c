/*
 * binary_test.c - the compiled binary lowering (tests/approx_e2e/binary.nn,
 * with `binary(...)` as METHOD says) against the runtime's float64
 * references, one "ok - " line per check:
 *   METHOD 0: binary: 5 bits (V = 24) on W's rows 0..4, nnrt_ref_bits on
 *             nnrt_bincode_encode's bits;
 *   METHOD 1: binary(hybrid = 3): a softmax over rows 0..3, the 5 bits of
 *             y - 3 on rows 4..8, nnrt_ref_binary;
 *   METHOD 2: binary(ecc = 4): 9 of the 22 bits of the convolutional code
 *             of y's 5 bits (nnrt_ecc_encode; bits j * 22 / 9 kept);
 *   METHOD 3: binary(ecc = 17): all 22 of them.
 * Loss and the gradients of E, W, b against the reference (relative 1e-4)
 * on targets that hit the softmax slots and the coded words; the forward
 * function's loss, the method's -log p renormalized over V (the training
 * loss + the log of the sum over the valid codes, here by brute force),
 * p(w) summing to 1 over V; central finite differences of every param
 * entry.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binaryt.h"
#include "common.h"
#include "fd.h"
#include "nnrt_approx.h"

FD_MODEL(binaryt)

#define NV 24
#define ND 5
#define NT 4

#if METHOD == 1
#define HYB 3
#else
#define HYB 0
#endif
#define NBITS 5 /* ceil(log2(24 - HYB)) for HYB 0 and 3 */
#if METHOD == 2
#define NLAB 9
#elif METHOD == 3
#define NLAB 22
#else
#define NLAB NBITS
#endif
#define FIRST (HYB ? HYB + 1 : 0) /* the first bit row */

static const int32_t xs[NT] = {1, 5, 2, 7}, ys[NT] = {3, 0, 23, 6};

/* The target bits of coded word y (NLAB of them). */
static void target_bits(int32_t y, uint8_t *t)
{
    nnrt_bincode bc;
    uint8_t msg[NBITS], code[2 * (NBITS + 6)];
    if (nnrt_bincode_init(&bc, NV, HYB) != NNRT_OK || bc.bits != NBITS)
        exit(1);
    nnrt_bincode_encode(&bc, y, msg);
    if (NLAB == NBITS) {
        memcpy(t, msg, NBITS);
        return;
    }
    nnrt_ecc_encode(NBITS, msg, code);
    for (int j = 0; j < NLAB; j++)
        t[j] = code[j * nnrt_ecc_len(NBITS) / NLAB];
}

/* log sigmoid((2 bit - 1) x), in double */
static double log_sig(double x, int bit) { return -log1p(exp(bit ? -x : x)); }

/* Brute force: log of the sum over every coded word v (HYB <= v < NV) of
 * the probability of its NLAB target bits under the bit logits zb: the
 * normalizer of the forward graph's distribution over V. */
static double brute_logz(const double *zb)
{
    double s = 0;
    for (int32_t v = HYB; v < NV; v++) {
        uint8_t tb[NLAB];
        double lp = 0;
        target_bits(v, tb);
        for (int j = 0; j < NLAB; j++)
            lp += log_sig(zb[j], tb[j]);
        s += exp(lp);
    }
    return log(s);
}

/* The training loss (unnormalized: the bits' -log p, as Oda et al. train
 * it) and its gradients; *fwd the forward graph's loss, renormalized over
 * V: + brute_logz for each coded target. */
static double reference(binaryt *m, double *gE, double *gW, double *gb, double *fwd)
{
    const float *E = binaryt_param(m, "E"), *W = binaryt_param(m, "W"), *b = binaryt_param(m, "b");
    double loss = 0;
    memset(gE, 0, sizeof(double) * NV * ND);
    memset(gW, 0, sizeof(double) * NV * ND);
    memset(gb, 0, sizeof(double) * NV);
    *fwd = 0;
    for (int t = 0; t < NT; t++) {
        double h[ND], z[NV], g[NV] = {0};
        for (int j = 0; j < ND; j++)
            h[j] = E[xs[t] * ND + j];
        for (int w = 0; w < NV; w++) {
            z[w] = b[w];
            for (int j = 0; j < ND; j++)
                z[w] += (double)W[w * ND + j] * h[j];
        }
        if (HYB) {
            nnrt_bincode bc;
            nnrt_bincode_init(&bc, NV, HYB);
            loss += nnrt_ref_binary(&bc, z, z + FIRST, ys[t], g, g + FIRST);
        } else {
            uint8_t bits[NLAB];
            target_bits(ys[t], bits);
            loss += nnrt_ref_bits(NLAB, z + FIRST, bits, g + FIRST);
        }
        if (ys[t] >= HYB)
            *fwd += brute_logz(z + FIRST);
        for (int w = 0; w < NV; w++) {
            gb[w] += g[w];
            for (int j = 0; j < ND; j++) {
                gW[w * ND + j] += g[w] * h[j];
                gE[xs[t] * ND + j] += g[w] * W[w * ND + j];
            }
        }
    }
    *fwd += loss;
    return loss;
}

int main(void)
{
    binaryt *m = binaryt_create(5);
    binaryt_ctx *c = binaryt_ctx_create(m);
    if (!m || !c)
        return 1;
    binaryt_inputs in = {.T = NT, .x = xs, .y = ys};
    char name[240];
    float loss = run_grad(c, &in);
    double gE[NV * ND], gW[NV * ND], gb[NV];
    double fwd, ref = reference(m, gE, gW, gb, &fwd);
    snprintf(name, sizeof name, "loss %.6f vs reference %.6f (%d softmax slots, %d bits)", loss, ref, HYB ? HYB + 1 : 0,
             NLAB);
    check(relerr(loss, ref) < 1e-4, name);
    double eE = maxrel(binaryt_ctx_grad_data(c, 0), gE, NV * ND), eW = maxrel(binaryt_ctx_grad_data(c, 1), gW, NV * ND),
           eb = maxrel(binaryt_ctx_grad_data(c, 2), gb, NV);
    snprintf(name, sizeof name, "grads of E, W, b vs reference (max rel err %.2g %.2g %.2g)", eE, eW, eb);
    check(eE < 1e-4 && eW < 1e-4 && eb < 1e-4, name);
    binaryt_outputs out;
    binaryt_ctx_forward(c, &in, &out);
    snprintf(name, sizeof name, "forward is -log p(y) renormalized over V (%.6f vs %.6f; unnormalized %.6f)", out.loss,
             fwd, ref);
    check(relerr(out.loss, fwd) < 1e-4, name);
    /* the forward graph's p(w | x) sums to 1 over the vocabulary, for each x */
    double worst = 0;
    for (int t = 0; t < NT; t++) {
        double sum = 0;
        for (int32_t w = 0; w < NV; w++) {
            binaryt_inputs one = {.T = 1, .x = &xs[t], .y = &w};
            if (binaryt_ctx_forward(c, &one, &out) != NNRT_OK)
                exit(1);
            sum += exp(-(double)out.loss);
        }
        worst = fmax(worst, fabs(sum - 1));
    }
    snprintf(name, sizeof name, "forward: p(w) sums to 1 over the %d words (worst error %.2g)", NV, worst);
    check(worst < 1e-5, name);

    float *P[3] = {binaryt_param(m, "E"), binaryt_param(m, "W"), binaryt_param(m, "b")};
    int sizes[3] = {NV * ND, NV * ND, NV};
    fd_check(c, &in, P, sizes, 3, "every param entry");

    binaryt_ctx_destroy(c);
    binaryt_destroy(m);
    return fails != 0;
}
