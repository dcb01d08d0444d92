/*
 * neg_test.c - the compiled neg(k) lowering (tests/approx_e2e/neg.nn) against
 * the runtime's float64 reference (nnrt_ref_neg, nnrt_ref_logits,
 * nnrt_ref_backprop) with the samples the model drew, read back through
 * the NNGC_SAMPLE_HOOK test hook (hook.h, compiled into model.c only).
 *
 * Checks, one "ok - " / "not ok - " line each:
 *   - loss and the gradients of E, W, b equal the reference's on the ids
 *     the forward pass drew (relative 1e-4), for two noise tables (the
 *     fixture counts of tests/approx/, and counts that make the target
 *     drawn often, so the "sample equal to the target is skipped" rule
 *     is exercised);
 *   - the backward pass recomputes the same ids as the forward pass;
 *   - central finite differences of the compiled loss (same seed: same
 *     draws) agree with the compiled gradient;
 *   - same seed, same draws; the next call draws others;
 *   - the forward function (evaluation) is the exact cross entropy.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "negt.h"
#include "nnrt_approx.h"

#define NV 12
#define ND 5
#define NT 4
#define K 3
#define MAXREC 64

static int nrec;
static int32_t rec[MAXREC][K + 1];

void test_sample_hook(int site, const int32_t *ids, int64_t n)
{
    (void)site;
    if (n == K + 1 && nrec < MAXREC)
        memcpy(rec[nrec], ids, sizeof rec[0]);
    nrec++;
}

static int fails;

static void check(int ok, const char *what)
{
    printf("%s - %s\n", ok ? "ok" : "not ok", what);
    fails += !ok;
}

static double relerr(double a, double b) { return fabs(a - b) / (fabs(b) > 1.0 ? fabs(b) : 1.0); }

static const int32_t xs[NT] = {1, 5, 2, 7}, ys[NT] = {3, 0, 11, 3};

/* Reference loss and gradients (float64) on the recorded forward draws. */
static double reference(negt *m, double *gE, double *gW, double *gb, int *skipped)
{
    const float *E = negt_param(m, "E"), *W = negt_param(m, "W"), *b = negt_param(m, "b");
    double Wd[NV * ND], bd[NV], h[ND], z[NV], gz[NV], gWt[NV * ND], gh[ND], loss = 0;
    for (int i = 0; i < NV * ND; i++)
        Wd[i] = W[i];
    for (int i = 0; i < NV; i++)
        bd[i] = b[i];
    memset(gE, 0, sizeof(double) * NV * ND);
    memset(gW, 0, sizeof(double) * NV * ND);
    memset(gb, 0, sizeof(double) * NV);
    for (int t = 0; t < NT; t++) {
        const int32_t *ids = rec[t];
        for (int j = 0; j < ND; j++)
            h[j] = E[xs[t] * ND + j];
        nnrt_ref_logits(NV, ND, Wd, bd, h, z);
        loss += nnrt_ref_neg(NV, z, ys[t], K, ids + 1, gz);
        nnrt_ref_backprop(NV, ND, Wd, h, gz, gWt, gh);
        for (int i = 0; i < NV * ND; i++)
            gW[i] += gWt[i];
        for (int i = 0; i < NV; i++)
            gb[i] += gz[i];
        for (int j = 0; j < ND; j++)
            gE[xs[t] * ND + j] += gh[j];
        for (int j = 1; j <= K; j++)
            *skipped += ids[j] == ys[t];
    }
    return loss;
}

static double maxrel(const float *got, const double *want, int n)
{
    double e = 0;
    for (int i = 0; i < n; i++)
        if (relerr(got[i], want[i]) > e)
            e = relerr(got[i], want[i]);
    return e;
}

static float run_grad(negt_ctx *c, const negt_inputs *in, uint64_t seed)
{
    negt_outputs out;
    negt_ctx_seed(c, seed);
    nrec = 0;
    if (negt_ctx_grad(c, in, &out) != NNRT_OK) {
        fprintf(stderr, "negt_ctx_grad: %s\n", nnrt_last_error());
        exit(1);
    }
    return out.loss;
}

static void against_reference(negt *m, negt_ctx *c, const negt_inputs *in, const char *what, int want_skips)
{
    char name[160];
    float loss = run_grad(c, in, 42);
    int32_t fwd[NT][K + 1];
    memcpy(fwd, rec, sizeof fwd);
    int same = nrec == 2 * NT;
    for (int t = 0; t < NT && same; t++) /* the backward loop runs t = NT-1 .. 0 */
        same = memcmp(rec[2 * NT - 1 - t], fwd[t], sizeof fwd[t]) == 0;
    snprintf(name, sizeof name, "%s: the backward pass recomputes the forward draws (%d draws)", what, nrec);
    check(same, name);
    int targets_ok = 1;
    for (int t = 0; t < NT; t++)
        targets_ok &= fwd[t][0] == ys[t];
    check(targets_ok, "sample's first id is the target");

    double gE[NV * ND], gW[NV * ND], gb[NV];
    int skipped = 0;
    double ref = reference(m, gE, gW, gb, &skipped);
    snprintf(name, sizeof name, "%s: loss %.6f vs reference %.6f", what, loss, ref);
    check(relerr(loss, ref) < 1e-4, name);
    double eE = maxrel(negt_ctx_grad_data(c, 0), gE, NV * ND), eW = maxrel(negt_ctx_grad_data(c, 1), gW, NV * ND),
           eb = maxrel(negt_ctx_grad_data(c, 2), gb, NV);
    snprintf(name, sizeof name, "%s: grads of E, W, b vs reference (max rel err %.2g %.2g %.2g)", what, eE, eW, eb);
    check(eE < 1e-4 && eW < 1e-4 && eb < 1e-4, name);
    if (want_skips) {
        snprintf(name, sizeof name, "%s: some samples equal their target (%d skipped)", what, skipped);
        check(skipped > 0, name);
    }
}

int main(void)
{
    negt *m = negt_create(3);
    negt_ctx *c = negt_ctx_create(m);
    if (!m || !c)
        return 1;
    negt_inputs in = {.T = NT, .x = xs, .y = ys};

    /* the fixture counts of tests/approx/gen_fixtures.py */
    const int64_t counts[NV] = {50, 3, 40, 30, 20, 12, 9, 6, 4, 3, 2, 1};
    check(negt_set_counts(m, counts, NV) == NNRT_OK, "set_counts");
    check(negt_set_counts(m, counts, NV + 1) != NNRT_OK, "set_counts with more counts than words is an error");
    against_reference(m, c, &in, "fixture counts", 0);

    /* determinism: same seed, same draws; the next call draws others */
    int32_t a[NT][K + 1], bb[NT][K + 1];
    run_grad(c, &in, 7);
    memcpy(a, rec, sizeof a);
    run_grad(c, &in, 7);
    memcpy(bb, rec, sizeof bb);
    check(memcmp(a, bb, sizeof a) == 0, "the same seed draws the same samples");
    negt_outputs out;
    nrec = 0;
    negt_ctx_grad(c, &in, &out);
    check(memcmp(a, rec, sizeof a) != 0, "the next grad call draws other samples");

    /* finite differences of the compiled loss at a fixed seed */
    float *P[3] = {negt_param(m, "E"), negt_param(m, "W"), negt_param(m, "b")};
    int sizes[3] = {NV * ND, NV * ND, NV};
    run_grad(c, &in, 11);
    double worst = 0;
    for (int p = 0; p < 3; p++) {
        const float *g = negt_ctx_grad_data(c, p);
        float gcopy[NV * ND];
        memcpy(gcopy, g, sizeof(float) * (size_t)sizes[p]);
        for (int i = 0; i < sizes[p]; i++) {
            const float eps = 1e-2f, keep = P[p][i];
            P[p][i] = keep + eps;
            double lp = run_grad(c, &in, 11);
            P[p][i] = keep - eps;
            double lm = run_grad(c, &in, 11);
            P[p][i] = keep;
            double fd = (lp - lm) / (2 * eps), e = fabs(fd - gcopy[i]) / (fabs(fd) > 1 ? fabs(fd) : 1);
            if (e > worst)
                worst = e;
        }
    }
    char name[120];
    snprintf(name, sizeof name, "finite differences of every param entry (max err %.2g)", worst);
    check(worst < 5e-3, name);

    /* a noise table that draws the targets 3 and 0 often: skipped samples */
    const int64_t skew[NV] = {400, 1, 1, 1000, 1, 1, 1, 1, 1, 1, 1, 1};
    negt_set_counts(m, skew, NV);
    against_reference(m, c, &in, "skewed counts", 1);

    /* evaluation: the forward function keeps the exact softmax */
    {
        const float *E = P[0], *W = P[1], *b = P[2];
        double Wd[NV * ND], bd[NV], h[ND], z[NV], g[NV], ref = 0;
        for (int i = 0; i < NV * ND; i++)
            Wd[i] = W[i];
        for (int i = 0; i < NV; i++)
            bd[i] = b[i];
        for (int t = 0; t < NT; t++) {
            for (int j = 0; j < ND; j++)
                h[j] = E[xs[t] * ND + j];
            nnrt_ref_logits(NV, ND, Wd, bd, h, z);
            ref += nnrt_ref_full(NV, z, ys[t], g);
        }
        negt_ctx_forward(c, &in, &out);
        snprintf(name, sizeof name, "forward is the exact cross entropy (%.6f vs %.6f)", out.loss, ref);
        check(relerr(out.loss, ref) < 1e-5, name);
    }
    negt_ctx_destroy(c);
    negt_destroy(m);
    return fails != 0;
}
