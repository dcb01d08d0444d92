/*
 * embed_test.c - the compiled embed lowering (tests/approx_e2e/embed.nn)
 * against the runtime's float64 reference nnrt_ref_vmf (lambda1 = 0,
 * lambda2 = 1; METHOD 1: 0.02 and 0.5) on o = tanh(A E[x]) and e = W[y] / |W[y]|, one "ok - " line
 * per check: the loss, the gradients of E and A (the chain through tanh
 * written out here) against the reference's (relative 1e-4), W's gradient
 * zero (frozen), the forward function's loss (the same vMF loss), and
 * central finite differences of every entry of E and A.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedt.h"
#include "common.h"
#include "fd.h"
#include "nnrt_approx.h"

FD_MODEL(embedt)

#define NV 12
#define ND 6
#define NT 4

/* METHOD 1: embed(lambda1 = 0.02, lambda2 = 0.5) (run.sh's embed_l), the
 * regularizers of Kumar & Tsvetkov's NLLvMF; 0: the plain loss */
#if METHOD == 1
#define LAMBDA1 0.02
#define LAMBDA2 0.5
#else
#define LAMBDA1 0.0
#define LAMBDA2 1.0
#endif

static const int32_t xs[NT] = {1, 5, 2, 7}, ys[NT] = {3, 0, 11, 6};

static double reference(embedt *m, double *gE, double *gA)
{
    const float *E = embedt_param(m, "E"), *A = embedt_param(m, "A"), *W = embedt_param(m, "W");
    double loss = 0;
    memset(gE, 0, sizeof(double) * NV * ND);
    memset(gA, 0, sizeof(double) * ND * ND);
    for (int t = 0; t < NT; t++) {
        double o[ND], e[ND], g[ND], ne = 0;
        for (int i = 0; i < ND; i++) {
            double s = 0;
            for (int j = 0; j < ND; j++)
                s += (double)A[i * ND + j] * E[xs[t] * ND + j];
            o[i] = tanh(s);
            ne += (double)W[ys[t] * ND + i] * W[ys[t] * ND + i];
        }
        for (int i = 0; i < ND; i++)
            e[i] = W[ys[t] * ND + i] / sqrt(ne);
        loss += nnrt_ref_vmf(ND, o, e, LAMBDA1, LAMBDA2, g);
        for (int i = 0; i < ND; i++) {
            double gu = g[i] * (1 - o[i] * o[i]);
            for (int j = 0; j < ND; j++) {
                gA[i * ND + j] += gu * E[xs[t] * ND + j];
                gE[xs[t] * ND + j] += gu * A[i * ND + j];
            }
        }
    }
    return loss;
}

int main(void)
{
    embedt *m = embedt_create(5);
    embedt_ctx *c = embedt_ctx_create(m);
    if (!m || !c)
        return 1;
    embedt_inputs in = {.T = NT, .x = xs, .y = ys};
    char name[240];
    float loss = run_grad(c, &in);
    double gE[NV * ND], gA[ND * ND];
    double ref = reference(m, gE, gA);
    snprintf(name, sizeof name, "loss %.6f vs reference %.6f", loss, ref);
    check(relerr(loss, ref) < 1e-4, name);
    double eE = maxrel(embedt_ctx_grad_data(c, 0), gE, NV * ND), eA = maxrel(embedt_ctx_grad_data(c, 1), gA, ND * ND);
    snprintf(name, sizeof name, "grads of E, A vs reference (max rel err %.2g %.2g)", eE, eA);
    check(eE < 1e-4 && eA < 1e-4, name);
    const float *gW = embedt_ctx_grad_data(c, 2);
    int nonzero = 0;
    for (int i = 0; gW && i < NV * ND; i++)
        nonzero += gW[i] != 0.0f;
    snprintf(name, sizeof name, "W (frozen, the output embeddings) gets no gradient (%d nonzero entries)", nonzero);
    check(nonzero == 0, name);
    embedt_outputs out;
    embedt_ctx_forward(c, &in, &out);
    snprintf(name, sizeof name, "forward is the vMF loss (%.6f vs %.6f)", out.loss, ref);
    check(relerr(out.loss, ref) < 1e-4, name);

    float *P[2] = {embedt_param(m, "E"), embedt_param(m, "A")};
    int sizes[2] = {NV * ND, ND * ND};
    fd_check(c, &in, P, sizes, 2, "every entry of E and A");

    embedt_ctx_destroy(c);
    embedt_destroy(m);
    return fails != 0;
}
