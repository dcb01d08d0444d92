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
 * on targets that hit the softmax slots and the coded words, the forward
 * function's loss (the method's own -log p: the same), and central finite
 * differences of every param entry.
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

static double reference(binaryt *m, double *gE, double *gW, double *gb)
{
    const float *E = binaryt_param(m, "E"), *W = binaryt_param(m, "W"), *b = binaryt_param(m, "b");
    double loss = 0;
    memset(gE, 0, sizeof(double) * NV * ND);
    memset(gW, 0, sizeof(double) * NV * ND);
    memset(gb, 0, sizeof(double) * NV);
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
        for (int w = 0; w < NV; w++) {
            gb[w] += g[w];
            for (int j = 0; j < ND; j++) {
                gW[w * ND + j] += g[w] * h[j];
                gE[xs[t] * ND + j] += g[w] * W[w * ND + j];
            }
        }
    }
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
    double ref = reference(m, gE, gW, gb);
    snprintf(name, sizeof name, "loss %.6f vs reference %.6f (%d softmax slots, %d bits)", loss, ref, HYB ? HYB + 1 : 0,
             NLAB);
    check(relerr(loss, ref) < 1e-4, name);
    double eE = maxrel(binaryt_ctx_grad_data(c, 0), gE, NV * ND), eW = maxrel(binaryt_ctx_grad_data(c, 1), gW, NV * ND),
           eb = maxrel(binaryt_ctx_grad_data(c, 2), gb, NV);
    snprintf(name, sizeof name, "grads of E, W, b vs reference (max rel err %.2g %.2g %.2g)", eE, eW, eb);
    check(eE < 1e-4 && eW < 1e-4 && eb < 1e-4, name);
    binaryt_outputs out;
    binaryt_ctx_forward(c, &in, &out);
    snprintf(name, sizeof name, "forward is the method's -log p(y) (%.6f vs %.6f)", out.loss, ref);
    check(relerr(out.loss, ref) < 1e-4, name);

    float *P[3] = {binaryt_param(m, "E"), binaryt_param(m, "W"), binaryt_param(m, "b")};
    int sizes[3] = {NV * ND, NV * ND, NV};
    fd_check(c, &in, P, sizes, 3, "every param entry");

    binaryt_ctx_destroy(c);
    binaryt_destroy(m);
    return fails != 0;
}
