/*
 * rows.c - the loops of the rows pass's ops (compiler/passes/rows.c):
 * products of a table's rows with vectors, reading the rows where they lie
 * and adding outer products straight into a gradient's rows. nnrt_abi.h
 * states each. The inner loops run over a row's H floats and vectorize
 * (built -O3; 8 lanes where the CPU has AVX2). And SGD on a sparse
 * gradient's listed rows that clears them as it goes.
 *
 * The sums are in the order of the ops they replace (the C target's
 * mul_sum: 8 lanes, then the pairs, then the tail; the scatter's rows in
 * order), so that the program with and without the pass agree to rounding.
 */
#include <string.h>

#include "nnrt_abi.h"
#include "rt_internal.h"

enum { AHEAD = NNRT_ROWS_AHEAD }; /* rt_internal.h */

NNRT_WIDE_CLONES void nnrt_rows_dot(const float *W, int64_t H, const int32_t *ids, int64_t N, int64_t n,
                                    const float *h, float *out)
{
    if (nnrt_rows_dot_shared(W, H, ids, N, n, h, out)) /* share = batch: rows_shared.c */
        return;
    for (int64_t r = 0; r < N;) { /* rows of one h: four side by side, then the last one to three (the same sums) */
        const int64_t m = n - r % n < 4 ? n - r % n : 4;
        for (int64_t q = r + AHEAD; q < r + AHEAD + m && q < N; q++)
            nnrt_prefetch_row(W + (int64_t)ids[q] * H, H, 0);
        if (m == 4)
            nnrt_dot16x4(W, H, ids + r, h + (r / n) * H, out + r);
        else
            nnrt_dot16_some(W, H, ids + r, m, h + (r / n) * H, out + r);
        r += m;
    }
}

NNRT_WIDE_CLONES void nnrt_rows_wsum(const float *W, int64_t H, const int32_t *ids, int64_t N, int64_t n,
                                     const float *g, float *out)
{
    if (nnrt_rows_wsum_shared(W, H, ids, N, n, g, out)) /* share = batch: rows_shared.c */
        return;
    for (int64_t p = 0; p < N / n; p++) {
        float *restrict o = out + p * H;
        memset(o, 0, (size_t)H * sizeof *o);
        int64_t j = 0;
        for (; j + 4 <= n; j += 4) { /* four rows per pass over o (each element's adds in order) */
            for (int64_t q = p * n + j + AHEAD; q < p * n + j + AHEAD + 4 && q < N; q++)
                nnrt_prefetch_row(W + (int64_t)ids[q] * H, H, 0);
            nnrt_wsum4(o, H, W, ids + p * n + j, g + p * n + j);
        }
        for (; j < n; j++) {
            if (p * n + j + AHEAD < N)
                nnrt_prefetch_row(W + (int64_t)ids[p * n + j + AHEAD] * H, H, 0);
            const float s = g[p * n + j], *restrict w = W + (int64_t)ids[p * n + j] * H;
            for (int64_t k = 0; k < H; k++)
                o[k] += w[k] * s;
        }
    }
}

NNRT_WIDE_CLONES void nnrt_rows_scatter(float *dst, int64_t H, const int32_t *ids, int64_t N, int64_t n,
                                        const float *g, const float *h)
{
    if (nnrt_rows_scatter_shared(dst, H, ids, N, n, g, h)) /* share = batch: rows_shared.c */
        return;
    for (int64_t r = 0; r < N; r++) {
        if (r + AHEAD < N)
            nnrt_prefetch_row(dst + (int64_t)ids[r + AHEAD] * H, H, 1);
        const float s = g[r], *restrict hr = h + (r / n) * H;
        float *restrict d = dst + (int64_t)ids[r] * H;
        for (int64_t k = 0; k < H; k++)
            d[k] += s * hr[k];
    }
}

/* w -= lr g on each listed row, then the row of g is zeroed: a repeated id
 * finds zeros (w - lr * 0 == w, exactly), so every row moves once. */
NNRT_WIDE_CLONES void nnrt_sgd_update_ids_clear(float *w, float *g, int64_t cols, const int32_t *ids, int64_t n,
                                                float lr)
{
    for (int64_t k = 0; k < n; k++) {
        if (k + AHEAD < n) {
            nnrt_prefetch_row(w + (int64_t)ids[k + AHEAD] * cols, cols, 1);
            nnrt_prefetch_row(g + (int64_t)ids[k + AHEAD] * cols, cols, 1);
        }
        float *restrict wr = w + (int64_t)ids[k] * cols, *restrict gr = g + (int64_t)ids[k] * cols;
        for (int64_t j = 0; j < cols; j++) {
            wr[j] -= lr * gr[j];
            gr[j] = 0.0f;
        }
    }
}

/* Row r of the scatter is s h[r / n]: s = gs[r], or 1 when gs is NULL
 * (1 h is h, bit for bit). The three cases write what the scatter, then
 * the clearing SGD, would have left. */
NNRT_WIDE_CLONES void nnrt_rows_scatter_sgd(float *W, float *g, int64_t H, const int32_t *ids, int64_t N, int64_t n,
                                            const float *gs, const float *h, int32_t *left, float lr)
{
    /* share = batch's noise columns (rows_shared.c): the GEMM's sums into
     * the gradient rows, then the clearing SGD, as grad + update do */
    if (gs && nnrt_rows_scatter_shared(g, H, ids, N, n, gs, h)) {
        nnrt_sgd_update_ids_clear(W, g, H, ids, N, lr);
        return;
    }
    for (int64_t r = 0; r < N; r++) /* how many times each row comes */
        left[ids[r]]++;
    for (int64_t r = 0; r < N; r++) {
        if (r + AHEAD < N)
            nnrt_prefetch_row(W + (int64_t)ids[r + AHEAD] * H, H, 1);
        const int32_t id = ids[r];
        nnrt_sgd_row(W + (int64_t)id * H, g + (int64_t)id * H, H, gs ? gs[r] : 1.0f, h + (r / n) * H, &left[id], lr);
    }
}
