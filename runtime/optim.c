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

void nnrt_adam_update(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, int64_t n,
                      float lr, float beta1, float beta2, float eps, int64_t step) {
    double b1 = beta1, b2 = beta2;
    double bc1 = 1.0 - pow(b1, (double)step);
    double bc2 = 1.0 - pow(b2, (double)step);
    float step_size = (float)((double)lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float a1 = (float)(1.0 - b1), a2 = (float)(1.0 - b2);
    for (int64_t i = 0; i < n; i++) {
        m[i] = m[i] * beta1 + a1 * g[i];
        v[i] = v[i] * beta2 + a2 * (g[i] * g[i]);
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        w[i] += -step_size * (m[i] / denom);
    }
}

void nnrt_adagrad_update(float *restrict w, const float *restrict g, float *restrict sum, int64_t n, float lr,
                         float eps) {
    for (int64_t i = 0; i < n; i++) {
        sum[i] += g[i] * g[i];
        float std = sqrtf(sum[i]) + eps;
        w[i] += -lr * (g[i] / std);
    }
}
