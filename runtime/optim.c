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
 * and the sparse forms (_rows, _ids) that visit only the rows a gradient
 * touched: SGD and Adagrad give the dense numbers there (a zero row
 * changes nothing); lazy Adam is torch.optim.SparseAdam.
 *
 * Scalars (bias corrections, step sizes) are computed in double and used as
 * float, as PyTorch does for a float32 tensor.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "rt_internal.h"

/* ---------------------------------------------------------------- sparse rows
 *
 * A sparse update visits the rows a gradient touched, each once: either the
 * rows whose gradient is not all zero (a lookup table's dense gradient,
 * the _rows forms), or the rows a sparse gradient lists (the _ids forms).
 * The other rows are not read, and stay bit for bit as they were. */

typedef struct RowUpdate RowUpdate;
typedef void row_fn(const RowUpdate *u, int64_t r);
struct RowUpdate {
    row_fn *fn;
    float *w, *m, *v;
    const float *g;
    int64_t cols;
    float lr, b1, b2, a1, a2, step, eps;
};

static bool row_is_zero(const float *g, int64_t cols) {
    for (int64_t j = 0; j < cols; j++)
        if (g[j] != 0.0f)
            return false;
    return true;
}

static void each_nonzero_row(const RowUpdate *u, int64_t rows) {
    for (int64_t r = 0; r < rows; r++)
        if (!row_is_zero(u->g + r * u->cols, u->cols))
            u->fn(u, r);
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

void nnrt_each_row(int32_t *ids, int64_t n, void (*fn)(void *user, int64_t row), void *user) {
    /* one call per row: a bitmap of the rows done (skip-gram with
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
            fn(user, r);
        }
        for (int64_t k = 0; k < n; k++) /* clear only the words set */
            done[ids[k] >> 6] = 0;
        return;
    }
    if (n > 1)
        qsort(ids, (size_t)n, sizeof *ids, cmp_i32);
    for (int64_t k = 0; k < n; k++)
        if (k == 0 || ids[k] != ids[k - 1])
            fn(user, ids[k]);
}

static void update_row(void *u, int64_t r) {
    const RowUpdate *ru = u;
    ru->fn(ru, r);
}

static void each_id(const RowUpdate *u, int32_t *ids, int64_t n) { nnrt_each_row(ids, n, update_row, (void *)u); }

static void sgd_loop(float *restrict w, const float *restrict g, int64_t n, float lr) {
    for (int64_t j = 0; j < n; j++)
        w[j] -= lr * g[j];
}

void nnrt_sgd_update(float *restrict w, const float *restrict g, int64_t n, float lr) { sgd_loop(w, g, n, lr); }

static void sgd_row(const RowUpdate *u, int64_t r) { sgd_loop(u->w + r * u->cols, u->g + r * u->cols, u->cols, u->lr); }

void nnrt_sgd_update_rows(float *w, const float *g, int64_t rows, int64_t cols, float lr) {
    RowUpdate u = {.fn = sgd_row, .w = w, .g = g, .cols = cols, .lr = lr};
    each_nonzero_row(&u, rows);
}

void nnrt_sgd_update_ids(float *w, const float *g, int64_t cols, int32_t *ids, int64_t n, float lr) {
    RowUpdate u = {.fn = sgd_row, .w = w, .g = g, .cols = cols, .lr = lr};
    each_id(&u, ids, n);
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

static void adagrad_loop(float *restrict w, const float *restrict g, float *restrict sum, int64_t n, float neg_lr,
                         float e) {
    for (int64_t i = 0; i < n; i++) {
        sum[i] = sum[i] + g[i] * g[i];
        float std = sqrtf(sum[i]) + e;
        w[i] = w[i] + neg_lr * g[i] / std;
    }
}

void nnrt_adagrad_update(float *restrict w, const float *restrict g, float *restrict sum, int64_t n, double lr,
                         double eps) {
    /* as torch.optim.Adagrad: sum.addcmul_(g, g, value=1), std = sqrt(sum) + eps,
     * w.addcdiv_(g, std, value=-lr) */
    adagrad_loop(w, g, sum, n, (float)-lr, (float)eps);
}

/* Adagrad on a row whose gradient is zero changes nothing (sum += 0,
 * w += 0), so the sparse forms give the dense update's numbers. */
static void adagrad_row(const RowUpdate *u, int64_t r) {
    int64_t o = r * u->cols;
    adagrad_loop(u->w + o, u->g + o, u->m + o, u->cols, -u->lr, u->eps);
}

void nnrt_adagrad_update_rows(float *w, const float *g, float *sum, int64_t rows, int64_t cols, double lr,
                              double eps) {
    RowUpdate u = {.fn = adagrad_row, .w = w, .g = g, .m = sum, .cols = cols, .lr = (float)lr, .eps = (float)eps};
    each_nonzero_row(&u, rows);
}

void nnrt_adagrad_update_ids(float *w, const float *g, float *sum, int64_t cols, int32_t *ids, int64_t n, double lr,
                             double eps) {
    RowUpdate u = {.fn = adagrad_row, .w = w, .g = g, .m = sum, .cols = cols, .lr = (float)lr, .eps = (float)eps};
    each_id(&u, ids, n);
}

/* Lazy Adam, as torch.optim.SparseAdam: only the touched rows' moments and
 * values change (the others' moments do not decay), with
 *   m += (1 - b1) (g - m);  v += (1 - b2) (g^2 - v)
 *   w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
 * (eps is added to sqrt(v) before the bias correction, as SparseAdam does;
 * t is the model's step count). */
static void lazy_adam_loop(float *restrict w, const float *restrict g, float *restrict m, float *restrict v,
                           int64_t n, float a1, float a2, float step, float e) {
    for (int64_t j = 0; j < n; j++) {
        m[j] = m[j] + (g[j] - m[j]) * a1;
        v[j] = v[j] + (g[j] * g[j] - v[j]) * a2;
        w[j] = w[j] + -step * (m[j] / (sqrtf(v[j]) + e));
    }
}

static void lazy_adam_row(const RowUpdate *u, int64_t r) {
    int64_t o = r * u->cols;
    lazy_adam_loop(u->w + o, u->g + o, u->m + o, u->v + o, u->cols, u->a1, u->a2, u->step, u->eps);
}

static RowUpdate lazy_adam(float *w, const float *g, float *m, float *v, int64_t cols, double lr, double beta1,
                           double beta2, double eps, int64_t step) {
    double bc1 = 1.0 - pow(beta1, (double)step), bc2 = 1.0 - pow(beta2, (double)step);
    return (RowUpdate){.fn = lazy_adam_row, .w = w, .g = g, .m = m, .v = v, .cols = cols,
                       .a1 = (float)(1.0 - beta1), .a2 = (float)(1.0 - beta2),
                       .step = (float)(lr * sqrt(bc2) / bc1), .eps = (float)eps};
}

void nnrt_adam_lazy_update_rows(float *w, const float *g, float *m, float *v, int64_t rows, int64_t cols, double lr,
                                double beta1, double beta2, double eps, int64_t step) {
    RowUpdate u = lazy_adam(w, g, m, v, cols, lr, beta1, beta2, eps, step);
    each_nonzero_row(&u, rows);
}

void nnrt_adam_lazy_update_ids(float *w, const float *g, float *m, float *v, int64_t cols, int32_t *ids, int64_t n,
                               double lr, double beta1, double beta2, double eps, int64_t step) {
    RowUpdate u = lazy_adam(w, g, m, v, cols, lr, beta1, beta2, eps, step);
    each_id(&u, ids, n);
}
