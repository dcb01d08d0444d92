/*
 * hier_test.c - the compiled hier lowering (tests/approx_e2e/hier.nn)
 * against the runtime's float64 reference (nnrt_ref_hier on a Huffman tree
 * built by nnrt_huffman_build from the same counts), one "ok - " line per
 * check:
 *   - loss and the gradients of E, W, b equal the reference's (relative
 *     1e-4), for uniform counts (the model's default tree; with BAKED
 *     defined, the fixture counts the model was compiled with by
 *     --counts) and the fixture
 *     counts of tests/approx/ (set by hiert_set_counts);
 *   - central finite differences of the compiled loss agree with the
 *     compiled gradient;
 *   - the forward function is -log p(y) with p from nnrt_hier_probs (a
 *     distribution summing to 1 over the words);
 *   - the paths' compiled length (LEN: 11 = V - 1 without counts, 7 with
 *     the fixture counts, the longest path of their tree, worked by hand
 *     in run.sh; DEEP: V = 48, 40 = NN_HIER_MAX_PATH) holds a tree whose
 *     longest path is LEN exactly, a target on such a path included (the
 *     same checks), and NAME_set_counts refuses counts whose tree is one
 *     node deeper (NNRT_ERR_SHAPE, the message naming both lengths),
 *     leaving the tree it had.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hiert.h"
#include "common.h"
#include "fd.h"
#include "nnrt_approx.h"

FD_MODEL(hiert)

#define ND 5
#define NT 4
#ifdef DEEP /* hier.nn with V = 48, compiled without counts */
#define NV 48
#define LEN 40
static const int32_t xs[NT] = {1, 5, 2, 7}, ys[NT] = {47, 0, 40, 44};
#else
#define NV 12
#ifdef BAKED
#define LEN 7
#else
#define LEN 11
#endif
static const int32_t xs[NT] = {1, 5, 2, 7}, ys[NT] = {3, 0, 11, 6};
#endif

/* Inner-node logits of position t: W[n] . h + b[n], n < V - 1. */
static void node_logits(hiert *m, int t, double *h, double *z)
{
    const float *E = hiert_param(m, "E"), *W = hiert_param(m, "W"), *b = hiert_param(m, "b");
    for (int j = 0; j < ND; j++)
        h[j] = E[xs[t] * ND + j];
    for (int n = 0; n < NV - 1; n++) {
        z[n] = b[n];
        for (int j = 0; j < ND; j++)
            z[n] += (double)W[n * ND + j] * h[j];
    }
}

static double reference(hiert *m, const nnrt_huffman *tr, double *gE, double *gW, double *gb, double *logp)
{
    const float *W = hiert_param(m, "W");
    double h[ND], z[NV], g[NV], loss = 0, p[NV];
    memset(gE, 0, sizeof(double) * NV * ND);
    memset(gW, 0, sizeof(double) * NV * ND);
    memset(gb, 0, sizeof(double) * NV);
    *logp = 0;
    for (int t = 0; t < NT; t++) {
        node_logits(m, t, h, z);
        loss += nnrt_ref_hier(tr, z, ys[t], g);
        nnrt_hier_probs(tr, z, p);
        *logp += log(p[ys[t]]);
        for (int n = 0; n < NV - 1; n++) {
            gb[n] += g[n];
            for (int j = 0; j < ND; j++) {
                gW[n * ND + j] += g[n] * h[j];
                gE[xs[t] * ND + j] += g[n] * W[n * ND + j];
            }
        }
    }
    return loss;
}

static void against_reference(hiert *m, hiert_ctx *c, const hiert_inputs *in, const int64_t *counts,
                              const char *what)
{
    char name[200];
    nnrt_huffman tr;
    if (nnrt_huffman_build(&tr, counts, NV) != NNRT_OK)
        exit(1);
    float loss = run_grad(c, in);
    double gE[NV * ND], gW[NV * ND], gb[NV], logp;
    double ref = reference(m, &tr, gE, gW, gb, &logp);
    snprintf(name, sizeof name, "%s: loss %.6f vs reference %.6f", what, loss, ref);
    check(relerr(loss, ref) < 1e-4, name);
    double eE = maxrel(hiert_ctx_grad_data(c, 0), gE, NV * ND), eW = maxrel(hiert_ctx_grad_data(c, 1), gW, NV * ND),
           eb = maxrel(hiert_ctx_grad_data(c, 2), gb, NV);
    snprintf(name, sizeof name, "%s: grads of E, W, b vs reference (max rel err %.2g %.2g %.2g)", what, eE, eW, eb);
    check(eE < 1e-4 && eW < 1e-4 && eb < 1e-4, name);
    hiert_outputs out;
    hiert_ctx_forward(c, in, &out);
    snprintf(name, sizeof name, "%s: forward is -log p(y) under the tree (%.6f vs %.6f)", what, out.loss, -logp);
    check(relerr(out.loss, -logp) < 1e-4, name);
    nnrt_huffman_free(&tr);
}

#ifdef PADNAN
/* -O2 (run.sh): the rows ops stop each path at its pad id, W's last row
 * (V - 1), which is no inner node. With NaN in that row and in b's, the
 * loss and gradients still equal the reference's (which never reads
 * them) and are all finite (maxrel alone would pass a NaN), the pad
 * rows' gradients 0: a loop that reads a pad entry, even times 0, fails
 * here. (-O0's gathers read the pad row times 0, as any gather does.) */
static void pad_row_nan(hiert *m, hiert_ctx *c, const hiert_inputs *in, const int64_t *counts)
{
    float *W = hiert_param(m, "W"), *b = hiert_param(m, "b");
    float keep[ND + 1];
    memcpy(keep, W + (NV - 1) * ND, sizeof(float) * ND);
    keep[ND] = b[NV - 1];
    for (int j = 0; j < ND; j++)
        W[(NV - 1) * ND + j] = NAN;
    b[NV - 1] = NAN;
    against_reference(m, c, in, counts, "NaN in the pad rows (W's and b's last)");
    int finite = isfinite(run_grad(c, in));
    const int sizes[3] = {NV * ND, NV * ND, NV};
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < sizes[p]; i++)
            finite &= isfinite(hiert_ctx_grad_data(c, p)[i]);
    const float *gW = hiert_ctx_grad_data(c, 1), *gb = hiert_ctx_grad_data(c, 2);
    int zero = gb[NV - 1] == 0.0f;
    for (int j = 0; j < ND; j++)
        zero &= gW[(NV - 1) * ND + j] == 0.0f;
    check(finite && zero, "NaN in the pad rows: loss and every gradient finite, the pad rows' gradients 0");
    memcpy(W + (NV - 1) * ND, keep, sizeof(float) * ND);
    b[NV - 1] = keep[ND];
}
#else
#define pad_row_nan(m, c, in, counts) ((void)0)
#endif

/* Counts whose Huffman tree has b words of count 1 at the bottom (a
 * subtree of depth ceil(log2 b)) under a chain of the other NV - b words
 * (counts b, 2b, 4b, ...: each merges with the tree so far): its longest
 * path is ceil(log2 b) + NV - b nodes. */
static void chain_counts(int64_t *c, int b)
{
    for (int i = 0; i < NV; i++)
        c[i] = i < NV - b ? (int64_t)b << (NV - b - 1 - i) : 1;
}

/* The tree of chain_counts whose longest path is len nodes (b found by
 * search, the length by the runtime's builder); 0 if there is none. */
static int chain_of_length(int64_t *c, int len, nnrt_huffman *tr)
{
    for (int b = 1; b <= NV; b++) {
        chain_counts(c, b);
        if (nnrt_huffman_build(tr, c, NV) != NNRT_OK)
            exit(1);
        if (tr->max_len == len)
            return b;
        nnrt_huffman_free(tr);
    }
    return 0;
}

/* A tree exactly as deep as the compiled paths trains as the reference
 * says (a target on a longest path: no node cut off); one a node deeper
 * is refused, and the model keeps its tree (then: counts). Ends with the
 * tree as deep as the paths. */
static void depth_limits(hiert *m, hiert_ctx *c, const hiert_inputs *in, const int64_t *counts)
{
    char name[300];
    int64_t exact[NV], deeper[NV];
    nnrt_huffman tr;
    int b = chain_of_length(exact, LEN, &tr);
    int longest = 0;
    for (int t = 0; b && t < NT; t++)
        longest |= tr.off[ys[t] + 1] - tr.off[ys[t]] == LEN;
    snprintf(name, sizeof name, "counts with a tree %d deep (b = %d), a target on a longest path", LEN, b);
    check(b && longest, name);
    if (b)
        nnrt_huffman_free(&tr);
    check(hiert_set_counts(m, exact, NV) == NNRT_OK, "set_counts of a tree as deep as the compiled paths");
    against_reference(m, c, in, exact, "a tree as deep as the compiled paths");
    b = chain_of_length(deeper, LEN + 1, &tr);
    if (!b) { /* LEN = V - 1: no tree is deeper */
        check(LEN == NV - 1, "no tree deeper than V - 1 nodes");
    } else {
        nnrt_huffman_free(&tr);
        check(hiert_set_counts(m, counts, NV) == NNRT_OK, "set_counts (fixture counts again)");
        int rc = hiert_set_counts(m, deeper, NV);
        char want[80];
        snprintf(want, sizeof want, "a Huffman path of %d nodes, over the %d hier's paths were compiled for",
                 LEN + 1, LEN);
        snprintf(name, sizeof name, "set_counts of a tree a node deeper: NNRT_ERR_SHAPE, '%s' (%s)", want,
                 nnrt_last_error());
        check(rc == NNRT_ERR_SHAPE && strstr(nnrt_last_error(), want), name);
        against_reference(m, c, in, counts, "the tree kept after the refused counts");
    }
    check(hiert_set_counts(m, exact, NV) == NNRT_OK, "set_counts (the tree as deep as the paths, for what follows)");
}

int main(void)
{
    hiert *m = hiert_create(5);
    hiert_ctx *c = hiert_ctx_create(m);
    if (!m || !c)
        return 1;
    hiert_inputs in = {.T = NT, .x = xs, .y = ys};
    int64_t ones[NV];
    for (int i = 0; i < NV; i++)
        ones[i] = 1;
#ifdef DEEP /* V = 48: the fixture counts for 12 words, then 1s */
    int64_t counts[NV];
    for (int i = 0; i < NV; i++)
        counts[i] = 1;
    memcpy(counts, (int64_t[]){50, 3, 40, 30, 20, 12, 9, 6, 4, 3, 2, 1}, 12 * sizeof(int64_t));
    against_reference(m, c, &in, ones, "uniform tree (default)");
    check(hiert_set_counts(m, counts, NV) == NNRT_OK, "set_counts");
    against_reference(m, c, &in, counts, "fixture counts");
    pad_row_nan(m, c, &in, counts);
    depth_limits(m, c, &in, counts);
#else
    const int64_t counts[NV] = {50, 3, 40, 30, 20, 12, 9, 6, 4, 3, 2, 1};
#ifdef BAKED /* compiled with --counts=tests/approx/fixtures/counts.npy: those are the start */
    against_reference(m, c, &in, counts, "--counts's tree (default)");
    check(hiert_set_counts(m, ones, NV) == NNRT_OK, "set_counts (uniform)");
    against_reference(m, c, &in, ones, "uniform tree after set_counts");
#else
    against_reference(m, c, &in, ones, "uniform tree (default)");
#endif
    check(hiert_set_counts(m, counts, NV) == NNRT_OK, "set_counts");
    against_reference(m, c, &in, counts, "fixture counts");
    pad_row_nan(m, c, &in, counts);

    /* fewer counts than words (a vocabulary smaller than V): the ids past
     * n count 0 for the noise, 1 for the tree (c_approx.c's emit_build) */
    const int64_t first6[NV] = {50, 3, 40, 30, 20, 12, 1, 1, 1, 1, 1, 1};
    check(hiert_set_counts(m, counts, 6) == NNRT_OK, "set_counts with 6 counts for 12 words");
    against_reference(m, c, &in, first6, "6 counts (the rest as 1)");
    check(hiert_set_counts(m, counts, NV) == NNRT_OK, "set_counts (fixture counts again)");
    depth_limits(m, c, &in, counts);
#endif

    /* finite differences of the compiled loss (the tree as deep as the paths) */
    float *P[3] = {hiert_param(m, "E"), hiert_param(m, "W"), hiert_param(m, "b")};
    int sizes[3] = {NV * ND, NV * ND, NV};
    fd_check(c, &in, P, sizes, 3, "every param entry");

    hiert_ctx_destroy(c);
    hiert_destroy(m);
    return fails != 0;
}
