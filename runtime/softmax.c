/*
 * softmax.c - softmax, log-softmax and log-sum-exp over one row.
 *
 * All three subtract the row maximum m before exponentiating:
 * exp(z_i - m) <= 1 cannot overflow, and at least one term is exactly 1, so
 * the sum cannot underflow to 0 either. logsumexp(z) = m + log(sum exp(z_i - m)).
 * The rows are vocabulary-sized and this is the hot loop of a full
 * softmax, so exp is a branch-free polynomial (exp_le0 below, relative
 * error under 2e-7 on [-87, 0], exactly 0 below) that the compiler vectorizes, and the sum
 * runs in 8 float lanes (each sums at most n/8 terms <= 1) combined in
 * double.
 *
 * Edge cases: n <= 0 gives logsumexp = -inf and writes nothing; a row that
 * is all -inf gives logsumexp = -inf and NaN probabilities (there is no
 * distribution to normalise); a NaN anywhere gives NaN. `out` may be `z`.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* max with NaN winning (any NaN in the row gives NaN) */
static inline float max_nan(float m, float v) { return (v > m || v != v) ? v : m; }

float nnrt_row_max(const float *z, int64_t n) {
    float m = z[0];
    int64_t i = 1;
#ifdef __SSE2__
    /* It reads every logit of a softmax: 8 at a time with SSE's maxps,
     * whose NaN rule (it returns the second operand) is not ours, so NaNs
     * are collected apart. */
    if (n >= 8) {
        __m128 m0 = _mm_loadu_ps(z), m1 = _mm_loadu_ps(z + 4);
        __m128 nan = _mm_or_ps(_mm_cmpunord_ps(m0, m0), _mm_cmpunord_ps(m1, m1));
        for (i = 8; i + 8 <= n; i += 8) {
            __m128 v0 = _mm_loadu_ps(z + i), v1 = _mm_loadu_ps(z + i + 4);
            nan = _mm_or_ps(nan, _mm_or_ps(_mm_cmpunord_ps(v0, v0), _mm_cmpunord_ps(v1, v1)));
            m0 = _mm_max_ps(m0, v0);
            m1 = _mm_max_ps(m1, v1);
        }
        if (_mm_movemask_ps(nan))
            return NAN;
        float lane[8];
        _mm_storeu_ps(lane, m0);
        _mm_storeu_ps(lane + 4, m1);
        m = lane[0];
        for (int j = 1; j < 8; j++)
            m = max_nan(m, lane[j]);
    }
#endif
    for (; i < n; i++)
        m = max_nan(m, z[i]);
    return m;
}

/* the row loops are nngrt.h's inline helpers, shared with generated code */
#define exp_le0 nnrt_exp_le0
#define row_max nnrt_row_max
#define sum_exp nnrt_sum_exp

/* sum of exp(z - m) over a row, m >= every z (finite), 8 exps at a time
 * where the CPU has AVX2 (NNRT_AVX2_CLONES, rt_internal.h) */
static NNRT_AVX2_CLONES double row_sum_exp(const float *z, int64_t n, float m) { return sum_exp(z, n, m); }

float nnrt_logsumexp(const float *z, int64_t n) {
    if (n <= 0)
        return -INFINITY;
    float m = row_max(z, n);
    if (isinf(m) || isnan(m))
        return m; /* +inf dominates; -inf means every term is exp(-inf) = 0 */
    return (float)(m + log(row_sum_exp(z, n, m)));
}


enum { LSE_MB = 64, LSE_NB = 480 }; /* a block of logits: 120 KiB, in L2 (under malloc's mmap threshold) */

void nnrt_linear_lse(int64_t M, int64_t N, int64_t K, const float *X, int64_t ldx, const float *W,
                     int64_t ldw, const float *bias, float *out) {
    /* out of memory for the block: narrower blocks on the stack, slower
     * but the same result (no error path for generated code to handle) */
    float small[LSE_MB * 16];
    float *heap = malloc(sizeof(float) * LSE_MB * LSE_NB), *blk = heap ? heap : small;
    const int64_t NB = heap ? LSE_NB : 16;
    for (int64_t i0 = 0; i0 < M; i0 += LSE_MB) {
        int64_t mb = M - i0 < LSE_MB ? M - i0 : LSE_MB;
        float m[LSE_MB];
        double s[LSE_MB];
        for (int64_t i = 0; i < mb; i++)
            m[i] = -INFINITY, s[i] = 0.0;
        for (int64_t j0 = 0; j0 < N; j0 += NB) {
            int64_t nb = N - j0 < NB ? N - j0 : NB;
            if (bias)
                for (int64_t i = 0; i < mb; i++)
                    memcpy(blk + i * nb, bias + j0, sizeof(float) * (size_t)nb);
            nnrt_gemm(0, 1, mb, nb, K, 1.0f, X + i0 * ldx, ldx, W + j0 * ldw, ldw, bias ? 1.0f : 0.0f, blk, nb);
            for (int64_t i = 0; i < mb; i++) {
                const float *z = blk + i * nb;
                float bm = row_max(z, nb);
                if (m[i] != m[i] || bm != bm) { /* NaN wins */
                    m[i] = NAN;
                    continue;
                }
                if (bm > m[i]) {
                    /* rescale what was summed against the old max (-inf
                     * before the first block: nothing to rescale) */
                    s[i] = m[i] == -INFINITY ? 0.0 : s[i] * exp((double)m[i] - (double)bm);
                    m[i] = bm;
                }
                if (m[i] - m[i] == 0.0f) /* finite: add this block's terms */
                    s[i] += row_sum_exp(z, nb, m[i]);
            }
        }
        for (int64_t i = 0; i < mb; i++)
            out[i0 + i] = m[i] - m[i] == 0.0f ? (float)(m[i] + log(s[i])) : m[i];
    }
    free(heap);
}

/* out = exp(z - m) / sum(exp(z - m)), m the row's (finite) max; 8 exps at
 * a time where the CPU has AVX2 (NNRT_AVX2_CLONES) */
static NNRT_AVX2_CLONES void softmax_row(const float *z, float *out, int64_t n, float m) {
    for (int64_t i = 0; i < n; i++)
        out[i] = exp_le0(z[i] - m);
    float lane[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            lane[j] += out[i + j];
    double s = 0.0;
    for (int j = 0; j < 8; j++)
        s += lane[j];
    for (; i < n; i++)
        s += out[i];
    /* exp(z_i - m) is at most 1 and equals 1 at the max, so 1 <= s <= n. */
    float inv = (float)(1.0 / s);
    for (i = 0; i < n; i++)
        out[i] *= inv;
}

void nnrt_softmax(const float *z, float *out, int64_t n) {
    if (n <= 0)
        return;
    float m = row_max(z, n);
    if (isinf(m) || isnan(m)) { /* no distribution to normalise: as exp would give */
        for (int64_t i = 0; i < n; i++)
            out[i] = (float)(exp((double)z[i] - m) / (double)n * NAN);
        return;
    }
    softmax_row(z, out, n, m);
}

void nnrt_log_softmax(const float *z, float *out, int64_t n) {
    float lse = nnrt_logsumexp(z, n);
    for (int64_t i = 0; i < n; i++)
        out[i] = z[i] - lse;
}
