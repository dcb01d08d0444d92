/*
 * test_rnnlm.cpp - examples/rnnlm.nn's forward pass and its output layer's
 * gradient, written by hand the way --target=cuda is meant to emit them
 * (runtime calls plus small generated-style kernels, one call = begin /
 * upload / kernels / end), against the C that nngc generates for the same
 * model with the same params (rnnlm.c, linked in).
 *
 * A template for the compiler's CUDA target as much as a test: the params
 * are uploaded once (as NAME_load/init would), the per-call traffic is one
 * upload of the words and one download of the results.
 */
#include <stdlib.h>

#include "nnrt_cuda_dev.cuh"
#include "check.h"
#include "rnnlm.h"

enum { V = 10000, E = 64, H = 128, T = 20 };

/* ---------------------------------------------------------------- generated-style kernels */

/* h[j] = tanh(xw[j] + hw[j] + b[j]) */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    k_tanh3(const float *xw, const float *hw, const float *b, float *h, int64_t n) {
    NNRT_FOR_GRID(j, n)
        h[j] = tanhf(xw[j] + hw[j] + b[j]);
}

/* z[r, j] += b[j] over rows x n */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    k_add_row_bias(float *z, const float *b, int64_t rows, int64_t n) {
    NNRT_FOR_GRID(i, rows * n)
        z[i] += b[i % n];
}

/* out[0] = sum of x[0..n), one block */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK) k_sum(const float *x, int64_t n, float *out) {
    __shared__ float sh[NNRT_BLOCK];
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += NNRT_BLOCK)
        s += x[i];
    s = nnrt_block_sum(s, sh);
    if (threadIdx.x == 0)
        out[0] = s;
}

/* out[j] = sum over rows of z[r, j] (the gradient of a broadcast bias) */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    k_col_sum(const float *z, int64_t rows, int64_t n, float *out) {
    NNRT_FOR_GRID(j, n) {
        float s = 0.0f;
        for (int64_t r = 0; r < rows; r++)
            s += z[r * n + j];
        out[j] = s;
    }
}

/* ---------------------------------------------------------------- the model */

struct Params {
    float *emb, *Wx, *Wh, *bh, *Wo, *bo; /* device */
};

static nnrt_rng rng;

static int fail_rc(const char *what) {
    CHECK(0, "%s: %s", what, nnrt_last_error());
    return 1;
}

int main(void) {
    nnrt_rng_seed(&rng, 7);
    rnnlm *m = rnnlm_create(11);
    if (!m)
        return fail_rc("rnnlm_create");
    /* biases are zero at init: make them not, so that they are tested */
    for (int i = 0; i < H; i++)
        rnnlm_param(m, "bh")[i] = nnrt_rng_normal(&rng, 0.0f, 0.5f);
    for (int i = 0; i < V; i++)
        rnnlm_param(m, "bo")[i] = nnrt_rng_normal(&rng, 0.0f, 0.5f);
    int32_t words[T + 1];
    for (int t = 0; t <= T; t++)
        words[t] = (int32_t)(nnrt_rng_next(&rng) % V);

    /* the CPU: nngc's C */
    rnnlm_inputs in = {T, words};
    rnnlm_outputs out;
    if (rnnlm_grad(m, &in, &out) != NNRT_OK)
        return fail_rc("rnnlm_grad");
    const float *gWo = rnnlm_grad_data(m, 4), *gbo = rnnlm_grad_data(m, 5);

    /* params on the device, once (NAME_load / NAME_init_params) */
    if (nnrt_cuda_probe() != NNRT_OK)
        return fail_rc("a CUDA device");
    static const char *names[6] = {"emb", "Wx", "Wh", "bh", "Wo", "bo"};
    static const size_t sizes[6] = {V * E, H * E, H * H, H, V * H, V};
    size_t total = 0;
    for (int i = 0; i < 6; i++)
        total += sizes[i];
    float *dparams;
    if (nnrt_cuda_alloc((void **)&dparams, total * sizeof(float)) != NNRT_OK)
        return fail_rc("nnrt_cuda_alloc");
    float *p = dparams, *dp[6];
    for (int i = 0; i < 6; i++) {
        dp[i] = p;
        if (nnrt_cuda_put(p, rnnlm_param(m, names[i]), sizes[i] * sizeof(float)) != NNRT_OK)
            return fail_rc("nnrt_cuda_put");
        p += sizes[i];
    }
    Params P = {dp[0], dp[1], dp[2], dp[3], dp[4], dp[5]};

    /* the arena, as a memory plan would lay it out (no reuse) */
    size_t off = 0;
    auto region = [&](size_t floats) {
        size_t at = off;
        off += (floats + 63) / 64 * 64;
        return at;
    };
    size_t o_words = region(T + 1), o_x = region(T * E), o_xw = region(T * H), o_hs = region((T + 1) * H),
           o_hw = region(H), o_z = region((size_t)T * V), o_loss = region(T), o_sum = region(1), o_one = region(1),
           o_dz = region((size_t)T * V), o_gwo = region((size_t)V * H), o_gbo = region(V);
    nnrt_cuda_ctx *c;
    if (nnrt_cuda_ctx_create(&c, off * sizeof(float), (size_t)(V * H + V) * sizeof(float) + 4096) != NNRT_OK)
        return fail_rc("nnrt_cuda_ctx_create");
    float *A = (float *)nnrt_cuda_arena(c);
    int32_t *dwords = (int32_t *)(A + o_words);
    float *X = A + o_x, *XW = A + o_xw, *Hs = A + o_hs, *HW = A + o_hw, *Z = A + o_z, *L = A + o_loss,
          *S = A + o_sum, *ONE = A + o_one, *DZ = A + o_dz, *GWO = A + o_gwo, *GBO = A + o_gbo;
    const float one = 1.0f; /* d loss / d loss: a constant, put once like the params */
    if (nnrt_cuda_put(ONE, &one, sizeof one) != NNRT_OK)
        return fail_rc("nnrt_cuda_put");

    /* one call: the forward pass, then the output layer's gradient */
    nnrt_cuda_begin(c);
    int rc = nnrt_cuda_upload(c, dwords, words, sizeof words);
    /* every step's input projection at once: X = emb[words[0..T)], XW = X Wx^T */
    rc = rc ? rc : nnrt_cuda_gather_rows(c, P.emb, V, E, dwords, T, X);
    rc = rc ? rc : nnrt_cuda_gemm(c, 0, 1, T, H, E, 1.0f, X, E, P.Wx, E, 0.0f, XW, H);
    /* the recurrence: Hs row 0 is h = 0, row t + 1 is h after step t */
    rc = rc ? rc : nnrt_cuda_zero(c, Hs, H * sizeof(float));
    for (int t = 0; t < T && rc == NNRT_OK; t++) {
        rc = nnrt_cuda_gemm(c, 0, 1, 1, H, H, 1.0f, Hs + t * H, H, P.Wh, H, 0.0f, HW, H);
        NNRT_LAUNCH(c, k_tanh3, nnrt_grid(H, NNRT_BLOCK), NNRT_BLOCK, 0, XW + t * H, HW, P.bh, Hs + (t + 1) * H,
                    (int64_t)H);
        rc = rc ? rc : nnrt_cuda_check_launch("tanh");
    }
    /* logits of every step at once, then the loss */
    rc = rc ? rc : nnrt_cuda_gemm(c, 0, 1, T, V, H, 1.0f, Hs + H, H, P.Wo, H, 0.0f, Z, V);
    NNRT_LAUNCH(c, k_add_row_bias, nnrt_grid((int64_t)T * V, NNRT_BLOCK), NNRT_BLOCK, 0, Z, P.bo, (int64_t)T,
                (int64_t)V);
    rc = rc ? rc : nnrt_cuda_xent_rows(c, Z, dwords + 1, L, T, V);
    NNRT_LAUNCH(c, k_sum, 1, NNRT_BLOCK, 0, L, (int64_t)T, S);
    rc = rc ? rc : nnrt_cuda_check_launch("loss");
    /* d loss / d Z, then d loss / d Wo = dZ^T Hs[1..T] and d loss / d bo = column sums of dZ */
    rc = rc ? rc : nnrt_cuda_xent_grad_rows(c, Z, dwords + 1, ONE, 0, DZ, T, V);
    rc = rc ? rc : nnrt_cuda_gemm(c, 1, 0, V, H, T, 1.0f, DZ, V, Hs + H, H, 0.0f, GWO, H);
    NNRT_LAUNCH(c, k_col_sum, nnrt_grid(V, NNRT_BLOCK), NNRT_BLOCK, 0, DZ, (int64_t)T, (int64_t)V, GBO);
    rc = rc ? rc : nnrt_cuda_check_launch("bias gradient");
    float loss = 0.0f;
    float *gwo = (float *)malloc(sizeof(float) * V * H), *gbo_h = (float *)malloc(sizeof(float) * V);
    nnrt_cuda_xfer res[3] = {{&loss, S, sizeof loss}, {gwo, GWO, sizeof(float) * V * H}, {gbo_h, GBO, sizeof(float) * V}};
    rc = rc ? rc : nnrt_cuda_end(c, res, 3);
    nnrt_cuda_stats st = nnrt_cuda_get_stats(c);
    CHECK(rc == NNRT_OK && close_to(loss, out.loss, 1e-5f), "rnnlm forward, T=%d: loss %.7g, nngc's C %.7g", T,
          (double)loss, (double)out.loss);
    if (rc)
        NOTE("%s", nnrt_last_error());
    long i = first_far(gwo, gWo, (long)V * H, 2e-5f);
    CHECK(rc == NNRT_OK && i < 0, "rnnlm d loss / d Wo [%d, %d] as nngc's rnnlm_grad", V, H);
    if (i >= 0)
        NOTE("[%ld] %.9g, nngc %.9g", i, (double)gwo[i], (double)gWo[i]);
    i = first_far(gbo_h, gbo, V, 2e-5f);
    CHECK(rc == NNRT_OK && i < 0, "rnnlm d loss / d bo [%d] as nngc's rnnlm_grad", V);
    CHECK(st.h2d_copies == 1 && st.d2h_copies == 4 && st.gemms == T + 3 && st.launches == T + 6 && st.memsets == 1,
          "one upload, three results and the error word down, %d GEMMs, %d launches (%lld, %lld, %lld, %lld)",
          T + 3, T + 6, (long long)st.h2d_copies, (long long)st.d2h_copies, (long long)st.gemms,
          (long long)st.launches);
    free(gwo), free(gbo_h);
    nnrt_cuda_ctx_destroy(c);
    nnrt_cuda_free(dparams);
    rnnlm_destroy(m);
    return checks_failed ? 1 : 0;
}
