/*
 * optim.c - the optimizers' update rules, called by the generated
 * NAME_train_step once per param after the gradient is computed.
 *
 * Each one follows the definition (and the float32 arithmetic) of PyTorch's
 * torch.optim implementation with no weight decay, momentum, lr decay or
 * amsgrad, so that a model trained by nngc and the same model trained by
 * PyTorch agree step by step (tests/train/ checks it):
 *
 *   SGD      w -= lr * g
 *   Adam     m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *            w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *   Adagrad  s += g^2;  w -= lr * g / (sqrt(s) + eps)   (s starts at 0)
 *
 * Scalars (bias corrections, step sizes) are computed in double and used as
 * float, as PyTorch does for a float32 tensor.
 */
#include <math.h>
#include <stdlib.h>

#include "rt_internal.h"

void nnrt_sgd_update(float *restrict w, const float *restrict g, int64_t n, float lr) {
    for (int64_t i = 0; i < n; i++)
        w[i] -= lr * g[i];
}

void nnrt_sgd_update_rows(float *w, const float *g, int64_t rows, int64_t cols, float lr) {
    for (int64_t r = 0; r < rows; r++) {
        const float *gr = g + r * cols;
        int64_t j = 0;
        while (j < cols && gr[j] == 0.0f)
            j++;
        if (j == cols)
            continue; /* a row no id touched: left exactly as it is */
        float *wr = w + r * cols;
        for (j = 0; j < cols; j++)
            wr[j] -= lr * gr[j];
    }
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void sgd_row(float *restrict wr, const float *restrict gr, int64_t cols, float lr) {
    for (int64_t j = 0; j < cols; j++)
        wr[j] -= lr * gr[j];
}

void nnrt_sgd_update_ids(float *w, const float *g, int64_t cols, int32_t *ids, int64_t n, float lr) {
    /* one update per row: a bitmap of the rows done (skip-gram with
     * negative sampling lists about a thousand rows per call, with
     * repeats; sorting them cost more than the updates); a list of rows
     * past the bitmap's room is sorted instead */
    enum { ROOM = 1 << 16 };
    static _Thread_local uint64_t done[ROOM / 64];
    int32_t hi = 0;
    for (int64_t k = 0; k < n; k++)
        hi = ids[k] > hi ? ids[k] : hi;
    if (hi < ROOM) {
        for (int64_t k = 0; k < n; k++) {
            const int32_t r = ids[k];
            if (done[r >> 6] >> (r & 63) & 1)
                continue;
            done[r >> 6] |= (uint64_t)1 << (r & 63);
            sgd_row(w + (int64_t)r * cols, g + (int64_t)r * cols, cols, lr);
        }
        for (int64_t k = 0; k < n; k++) /* clear only the words set */
            done[ids[k] >> 6] = 0;
        return;
    }
    if (n > 1)
        qsort(ids, (size_t)n, sizeof *ids, cmp_i32);
    for (int64_t k = 0; k < n; k++) {
        if (k > 0 && ids[k] == ids[k - 1])
            continue; /* one update per row */
        sgd_row(w + (int64_t)ids[k] * cols, g + (int64_t)ids[k] * cols, cols, lr);
    }
}

/* The Adam loop is bound by sqrt and division: 8 wide where the CPU has
 * AVX2 (NNRT_AVX2_CLONES, rt_internal.h). */
static NNRT_AVX2_CLONES void adam_loop(float *restrict w, const float *restrict g, float *restrict m,
                                       float *restrict v, int64_t n, float b1, float b2, float a1, float a2,
                                       float neg_step, float bc2_sqrt, float e) {
    for (int64_t i = 0; i < n; i++) {
        m[i] = m[i] * b1 + a1 * g[i];
        v[i] = v[i] * b2 + a2 * g[i] * g[i];
        float denom = sqrtf(v[i]) / bc2_sqrt + e;
        w[i] = w[i] + neg_step * m[i] / denom;
    }
}

void nnrt_adam_update(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, int64_t n,
                      double lr, double beta1, double beta2, double eps, int64_t step) {
    /* as torch.optim.Adam (single-tensor path): exp_avg.mul_(beta1).add_(g, alpha=1-beta1),
     * exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1-beta2), denom = sqrt(v) / sqrt(bc2) + eps,
     * w.addcdiv_(m, denom, value=-lr/bc1); each scalar rounded to float as the kernels do */
    double bc1 = 1.0 - pow(beta1, (double)step);
    double bc2 = 1.0 - pow(beta2, (double)step);
    const float b1 = (float)beta1, b2 = (float)beta2, a1 = (float)(1.0 - beta1), a2 = (float)(1.0 - beta2);
    const float neg_step = (float)(-(lr / bc1)), bc2_sqrt = (float)sqrt(bc2), e = (float)eps;
    adam_loop(w, g, m, v, n, b1, b2, a1, a2, neg_step, bc2_sqrt, e);
}

void nnrt_adagrad_update(float *restrict w, const float *restrict g, float *restrict sum, int64_t n, double lr,
                         double eps) {
    /* as torch.optim.Adagrad: sum.addcmul_(g, g, value=1), std = sqrt(sum) + eps,
     * w.addcdiv_(g, std, value=-lr) */
    const float neg_lr = (float)-lr, e = (float)eps;
    for (int64_t i = 0; i < n; i++) {
        sum[i] = sum[i] + g[i] * g[i];
        float std = sqrtf(sum[i]) + e;
        w[i] = w[i] + neg_lr * g[i] / std;
    }
}
