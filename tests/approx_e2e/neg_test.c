/*
 * neg_test.c - the compiled neg(k) lowering (tests/approx_e2e/neg.nn) against
 * the runtime's float64 reference (nnrt_ref_neg, nnrt_ref_logits,
 * nnrt_ref_backprop) with the samples the model drew, read back through
 * the NNGC_SAMPLE_HOOK test hook (hook.h, compiled into model.c only).
 * With -DMETHOD=1 or 2, the same for nce (nnrt_ref_nce) and sampled
 * (nnrt_ref_sampled) on neg.nn with its method replaced (run.sh; -DMETHOD=4:
 * nce with its default lnz = ln V, the reference on z - ln V); their
 * log q from an alias table built here from the same counts. -DMETHOD=3:
 * neg(k = 3, share = batch), checked also to draw one set of noise words
 * per site for all the positions of a call.
 *
 * Two targets per position share the rows (approx.c's group: one gather,
 * one neg_loss per segment). Checks, one "ok - " / "not ok - " line each:
 *   - loss and the gradients of E, W, b equal the reference's on the ids
 *     the forward pass drew (relative 1e-4), for two noise tables (the
 *     fixture counts of tests/approx/, and counts that make the target
 *     drawn often, so the "sample equal to the target is skipped" rule
 *     is exercised);
 *   - the backward pass recomputes the same ids as the forward pass (or,
 *     batched at -O2, shares them: one draw per site and position);
 *   - central finite differences of the compiled loss (same seed: same
 *     draws) agree with the compiled gradient;
 *   - same seed, same draws; the next call draws others;
 *   - the forward function (evaluation) is the exact cross entropy;
 *   - rows repeat within a position (their gradient rows must add: at -O2
 *     the rows pass scatters them in place), and the gradients of seed 42
 *     are printed ("# grad") for run.sh to compare -O2 with -O0 and with
 *     -O2 --disable-pass=rows.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "negt.h"
#include "common.h"
#include "nnrt_approx.h"

#define NV 12
#define ND 5
#define NT 4
#define K 3
#define NG 2 /* targets per position: y, u */
#ifndef METHOD
#define METHOD 0 /* 0 neg, 1 nce, 2 sampled, 3 neg share = batch (run.sh: neg.nn with the method replaced) */
#endif
#define REF (METHOD >= 4 ? 1 : METHOD % 3) /* the reference: 0 neg, 1 nce (4, 5 too), 2 sampled */
static const char *const method_name[] = {"neg", "nce", "sampled", "neg share=batch", "nce lnz=ln V", "nce power=1"};
/* the weight of the second target's loss: -DW1=2 for neg_w2.nn (run.sh:
 * `loss += 2.0 * cross_entropy(...)`, so that the rows pass's merged
 * neg_loss_grad has a different gradient per segment) */
#ifndef W1
#define W1 1.0
#endif

/* nce's fixed log normalizer: the model's score is z - LNZ (METHOD 4: nce
 * without lnz, whose default is ln V; METHOD 1: nce(k = 3, lnz = 0)) */
#define LNZ (METHOD == 4 ? log((double)NV) : 0.0)
/* the noise's power: METHOD 5 is nce(k = 3, lnz = 0, power = 1) */
#define POWER (METHOD == 5 ? 1.0 : NNRT_NOISE_POWER)

/* the noise table's counts now (for the reference's log q) */
static const int64_t *cur_counts;
#define MAXREC 64

/* every draw: its site and ids (forward: position t's sites in order) */
static int nrec;
static int recsite[MAXREC];
static int32_t rec[MAXREC][K + 1];

void test_sample_hook(int site, const int32_t *ids, int64_t n)
{
    if (n == K + 1 && nrec < MAXREC) {
        memcpy(rec[nrec], ids, sizeof rec[0]);
        recsite[nrec] = site;
    }
    nrec++;
}

static const int32_t xs[NT] = {1, 5, 2, 7}, ys[NT][NG] = {{3, 4}, {0, 0}, {11, 1}, {3, 9}};
static int32_t yin[NT], uin[NT];

static int repeats; /* pairs of rows one position reads twice, counted by reference() */

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
    nnrt_alias noise;
    if (nnrt_alias_build(&noise, cur_counts, NV, POWER) != NNRT_OK)
        exit(1);
    for (int r = 0; r < NT * NG; r++) {
        const int t = r / NG, y = ys[t][r % NG];
        const int32_t *ids = rec[r];
        for (int j = 0; j < ND; j++)
            h[j] = E[xs[t] * ND + j];
        nnrt_ref_logits(NV, ND, Wd, bd, h, z);
        for (int v = 0; v < NV; v++)
            z[v] -= LNZ;
        const double w = r % NG == 1 ? W1 : 1.0; /* the second target's weight */
        double l;
        if (REF == 0)
            l = nnrt_ref_neg(NV, z, y, K, ids + 1, gz);
        else if (REF == 1)
            l = nnrt_ref_nce(NV, z, y, K, ids + 1, noise.logq, gz);
        else
            l = nnrt_ref_sampled(NV, z, y, K, ids + 1, noise.logq, gz);
        loss += w * l;
        for (int v = 0; v < NV; v++)
            gz[v] *= w;
        nnrt_ref_backprop(NV, ND, Wd, h, gz, gWt, gh);
        for (int i = 0; i < NV * ND; i++)
            gW[i] += gWt[i];
        for (int i = 0; i < NV; i++)
            gb[i] += gz[i];
        for (int j = 0; j < ND; j++)
            gE[xs[t] * ND + j] += gh[j];
        for (int j = 1; j <= K; j++)
            *skipped += ids[j] == y;
    }
    /* rows that one position reads twice (two equal samples, or a sample
     * of one target equal to the other target or its sample): their
     * gradient rows must add up (passes/rows.c scatters them in place) */
    repeats = 0;
    for (int t = 0; t < NT; t++)
        for (int a = 0; a < NG * (K + 1); a++)
            for (int c = a + 1; c < NG * (K + 1); c++) {
                const int32_t *ra = rec[t * NG + a / (K + 1)], *rc = rec[t * NG + c / (K + 1)];
                int ja = a % (K + 1), jc = c % (K + 1);
                repeats += ra[ja] == rc[jc] && !(ja > 0 && ra[ja] == ra[0]) && !(jc > 0 && rc[jc] == rc[0]);
            }
    nnrt_alias_free(&noise);
    return loss;
}

/* The forward draws in (position, site) order, whatever order they came
 * in: the loop (-O0) draws position by position, the batched samples
 * (-O2, passes/batch.c) site by site, each site's positions in order.
 * Draw t of site s among the first NT * NG records is position t's. */
static void order_forward(void)
{
    int32_t by[NT * NG][K + 1];
    int seen[NG] = {0}, ok = nrec >= NT * NG;
    for (int r = 0; r < NT * NG && ok; r++) {
        const int s = recsite[r];
        ok = s >= 0 && s < NG && seen[s] < NT;
        if (ok)
            memcpy(by[seen[s]++ * NG + s], rec[r], sizeof by[0]);
    }
    if (!ok)
        return; /* left as drawn: the checks below fail */
    memcpy(rec, by, sizeof by);
    for (int r = 0; r < NT * NG; r++)
        recsite[r] = r % NG;
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
    order_forward();
    return out.loss;
}

static void against_reference(negt *m, negt_ctx *c, const negt_inputs *in, const char *what, int want_skips)
{
    char name[160];
    float loss = run_grad(c, in, 42);
    /* each backward draw (the second half) is a forward draw of its site;
     * at -O2 the batch pass draws once for both (no second half) */
    int same = nrec == 2 * NT * NG || nrec == NT * NG;
    for (int r = NT * NG; r < nrec && same; r++) {
        int found = 0;
        for (int f = 0; f < NT * NG; f++)
            found |= recsite[f] == recsite[r] && memcmp(rec[f], rec[r], sizeof rec[r]) == 0;
        same = found;
    }
    snprintf(name, sizeof name, "%s: the backward pass recomputes the forward draws or shares them (%d draws)", what,
             nrec);
    check(same, name);
    int targets_ok = 1;
    for (int r = 0; r < NT * NG; r++)
        targets_ok &= rec[r][0] == ys[r / NG][r % NG] && recsite[r] == r % NG;
    check(targets_ok, "each sample's first id is its target, one site per target");
    if (METHOD == 3) { /* share = batch: position 0's noise words at every position, per site */
        int shared = 1;
        for (int r = NG; r < NT * NG; r++)
            shared &= memcmp(rec[r] + 1, rec[r % NG] + 1, sizeof(int32_t) * K) == 0;
        snprintf(name, sizeof name, "%s: share = batch: one set of noise words per site for the call", what);
        check(shared, name);
    }

    double gE[NV * ND], gW[NV * ND], gb[NV];
    int skipped = 0;
    double ref = reference(m, gE, gW, gb, &skipped);
    snprintf(name, sizeof name, "%s: loss %.6f vs reference %.6f", what, loss, ref);
    check(relerr(loss, ref) < 1e-4, name);
    double eE = maxrel(negt_ctx_grad_data(c, 0), gE, NV * ND), eW = maxrel(negt_ctx_grad_data(c, 1), gW, NV * ND),
           eb = maxrel(negt_ctx_grad_data(c, 2), gb, NV);
    snprintf(name, sizeof name, "%s: grads of E, W, b vs reference (max rel err %.2g %.2g %.2g)", what, eE, eW, eb);
    check(eE < 1e-4 && eW < 1e-4 && eb < 1e-4, name);
    snprintf(name, sizeof name, "%s: rows repeat within a position (%d pairs), their gradients added", what,
             repeats);
    check(repeats > 0, name);
    if (want_skips) {
        snprintf(name, sizeof name, "%s: some samples equal their target (%d skipped)", what, skipped);
        check(skipped > 0, name);
    }
    /* the SGD step (lr 0.1) from these gradients: every entry moves by
     * -lr times the reference's gradient, the rows no id touched not at
     * all (at -O2 the gradients of W, b and E are sparse: the update
     * visits only the rows listed); then the params are put back */
    float *P[3] = {negt_param(m, "E"), negt_param(m, "W"), negt_param(m, "b")};
    const double *G[3] = {gE, gW, gb};
    static float keep[3][NV * ND];
    const int sizes[3] = {NV * ND, NV * ND, NV};
    for (int p = 0; p < 3; p++)
        memcpy(keep[p], P[p], sizeof(float) * (size_t)sizes[p]);
    check(negt_update(m, c) == NNRT_OK, "update");
    double worst = 0;
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < sizes[p]; i++) {
            double e = relerr(P[p][i], keep[p][i] - 0.1 * G[p][i]);
            worst = e > worst ? e : worst;
        }
    snprintf(name, sizeof name, "%s: the SGD update is params - 0.1 x the reference gradient (max err %.2g)", what,
             worst);
    check(worst < 1e-5, name);
    for (int p = 0; p < 3; p++)
        memcpy(P[p], keep[p], sizeof(float) * (size_t)sizes[p]);
}

static negt_ctx *fd_ctx;
static const negt_inputs *fd_in;
static double fd_loss(void) { return run_grad(fd_ctx, fd_in, 11); }
static const float *fd_grad(int p) { return negt_ctx_grad_data(fd_ctx, p); }

int main(void)
{
    negt *m = negt_create(3);
    negt_ctx *c = negt_ctx_create(m);
    if (!m || !c)
        return 1;
    for (int t = 0; t < NT; t++)
        yin[t] = ys[t][0], uin[t] = ys[t][1];
    negt_inputs in = {.T = NT, .x = xs, .y = yin, .u = uin};

    /* the fixture counts of tests/approx/gen_fixtures.py */
    const int64_t counts[NV] = {50, 3, 40, 30, 20, 12, 9, 6, 4, 3, 2, 1};
    cur_counts = counts;
    printf("# method %s\n", method_name[METHOD]);
    check(negt_set_counts(m, counts, NV) == NNRT_OK, "set_counts");
    check(negt_set_counts(m, counts, NV + 1) != NNRT_OK, "set_counts with more counts than words is an error");
    against_reference(m, c, &in, "fixture counts", 0);

    /* the draws of seed 42 as a hash, for run.sh to compare across -O
     * levels: the batched samples (-O2) draw the ids the loop (-O0) does */
    {
        run_grad(c, &in, 42);
        uint64_t h = 1469598103934665603u;
        for (int r = 0; r < NT * NG; r++)
            for (int j = 0; j <= K; j++)
                h = (h ^ (uint64_t)(uint32_t)rec[r][j]) * 1099511628211u;
        printf("# draws %016llx\n", (unsigned long long)h);
        /* and the gradients, for run.sh to compare the program with and
         * without the rows pass (--disable-pass=rows) and -O0 */
        for (int p = 0; p < 3; p++)
            for (int i = 0; i < (p < 2 ? NV * ND : NV); i++)
                printf("# grad %d %d %.9g\n", p, i, negt_ctx_grad_data(c, p)[i]);
    }

    /* determinism: same seed, same draws; the next call draws others */
    int32_t a[NT * NG][K + 1], bb[NT * NG][K + 1];
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
    char name[120];
    if (!fd_skipped("every param entry")) {
        fd_ctx = c;
        fd_in = &in;
        int sizes[3] = {NV * ND, NV * ND, NV};
        double worst = fd_worst(P, sizes, 3, fd_loss, fd_grad);
        snprintf(name, sizeof name, "finite differences of every param entry (max err %.2g)", worst);
        check(worst < 5e-3, name);
    }

    /* a noise table that draws the targets 3 and 0 often: skipped samples */
    const int64_t skew[NV] = {400, 1, 1, 1000, 1, 1, 1, 1, 1, 1, 1, 1};
    negt_set_counts(m, skew, NV);
    cur_counts = skew;
    against_reference(m, c, &in, "skewed counts", 1);

    /* evaluation: the forward function keeps the exact softmax */
    {
        const float *E = P[0], *W = P[1], *b = P[2];
        double Wd[NV * ND], bd[NV], h[ND], z[NV], g[NV], ref = 0;
        for (int i = 0; i < NV * ND; i++)
            Wd[i] = W[i];
        for (int i = 0; i < NV; i++)
            bd[i] = b[i];
        for (int r = 0; r < NT * NG; r++) {
            for (int j = 0; j < ND; j++)
                h[j] = E[xs[r / NG] * ND + j];
            nnrt_ref_logits(NV, ND, Wd, bd, h, z);
            ref += (r % NG == 1 ? W1 : 1.0) * nnrt_ref_full(NV, z, ys[r / NG][r % NG], g);
        }
        negt_ctx_forward(c, &in, &out);
        snprintf(name, sizeof name, "forward is the exact cross entropy (%.6f vs %.6f)", out.loss, ref);
        check(relerr(out.loss, ref) < 1e-5, name);
    }
    /* a target the noise never draws (a count of 0, as a word of counts
     * from another corpus): sampled's correction -log q(y) is +inf, its
     * loss would be NaN, so the call fails and says why; nce's d(y) is
     * +inf, a loss of 0 for that target, and neg does not read q */
    {
        int64_t zero[NV];
        memcpy(zero, counts, sizeof zero);
        zero[ys[2][0]] = 0;
        check(negt_set_counts(m, zero, NV) == NNRT_OK, "set_counts with a target word's count 0");
        negt_ctx_seed(c, 5);
        int rc = negt_ctx_grad(c, &in, &out);
        char want[80];
        snprintf(want, sizeof want, "target word %d has probability 0 under the noise distribution", ys[2][0]);
        if (REF == 2) {
            snprintf(name, sizeof name, "sampled, a target of count 0: an error naming the word (%s)",
                     rc ? nnrt_last_error() : "returned NNRT_OK");
            check(rc == NNRT_ERR_RANGE && strstr(nnrt_last_error(), want), name);
        } else {
            snprintf(name, sizeof name, "%s, a target of count 0: a finite loss (%g)", method_name[METHOD],
                     rc ? NAN : (double)out.loss);
            check(rc == NNRT_OK && isfinite(out.loss), name);
        }
        negt_set_counts(m, counts, NV);
    }
    negt_ctx_destroy(c);
    negt_destroy(m);
    return fails != 0;
}
