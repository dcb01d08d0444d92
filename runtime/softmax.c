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
static NNRT_AVX2_CLONES double row_sum_exp_c(const float *z, int64_t n, float m) { return sum_exp(z, n, m); }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TARGETZ __attribute__((target("avx512f")))

/* nnrt_exp_le0 of 16 floats: its operations one for one (no FMA), so
 * every lane rounds as the scalar and AVX2 copies do, bit for bit */
static inline TARGETZ __attribute__((always_inline)) __m512 exp_le0_z(__m512 x0) {
    const __m512 lo = _mm512_set1_ps(-87.0f);
    __mmask16 ge = _mm512_cmp_ps_mask(x0, lo, _CMP_GE_OQ);   /* false for NaN */
    __mmask16 below = _mm512_cmp_ps_mask(x0, lo, _CMP_LT_OQ); /* false for NaN */
    __mmask16 nan = _mm512_cmp_ps_mask(x0, x0, _CMP_UNORD_Q);
    __m512 x = _mm512_mask_blend_ps(ge, lo, x0);
    __m512 t = _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _mm512_set1_ps(12582912.0f));
    __m512i k = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000));
    __m512 kf = _mm512_cvtepi32_ps(k);
    __m512 r = _mm512_sub_ps(_mm512_sub_ps(x, _mm512_mul_ps(kf, _mm512_set1_ps(0.693145751953125f))),
                             _mm512_mul_ps(kf, _mm512_set1_ps(1.428606765330187e-06f)));
    __m512 p = _mm512_add_ps(_mm512_set1_ps(1.0f / 120), _mm512_mul_ps(r, _mm512_set1_ps(1.0f / 720)));
    p = _mm512_add_ps(_mm512_set1_ps(1.0f / 24), _mm512_mul_ps(r, p));
    p = _mm512_add_ps(_mm512_set1_ps(1.0f / 6), _mm512_mul_ps(r, p));
    p = _mm512_add_ps(_mm512_set1_ps(0.5f), _mm512_mul_ps(r, p));
    p = _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_mul_ps(r, p));
    p = _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_mul_ps(r, p));
    __mmask16 top = _mm512_cmp_epi32_mask(k, _mm512_set1_epi32(127), _MM_CMPINT_GT);
    __m512i kk = _mm512_mask_sub_epi32(k, top, k, _mm512_set1_epi32(1));
    __m512 u = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(kk, _mm512_set1_epi32(127)), 23));
    __m512 e = _mm512_mul_ps(_mm512_mul_ps(p, u), _mm512_mask_blend_ps(top, _mm512_set1_ps(1.0f), _mm512_set1_ps(2.0f)));
    e = _mm512_mask_blend_ps(below, e, _mm512_setzero_ps());
    return _mm512_mask_blend_ps(nan, e, x0);
}

/* nnrt_sum_exp with 16 exps at a time: the same 8 lane sums, each adding
 * its terms in the same order (the low half of 16 before the high half),
 * so the same result bit for bit; 1.6x faster than the AVX2 copy on a
 * row of logits (PERFORMANCE.md) */
static TARGETZ double row_sum_exp_z(const float *z, int64_t n, float m) {
    const int64_t n8 = n > 0 ? n - n % 8 : 0;
    const __m512 vm = _mm512_set1_ps(m);
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n8; i += 16) {
        __m512 e = exp_le0_z(_mm512_sub_ps(_mm512_loadu_ps(z + i), vm));
        acc = _mm256_add_ps(acc, _mm512_castps512_ps256(e));
        acc = _mm256_add_ps(acc, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1)));
    }
    if (i < n8) { /* one block of 8 left */
        __m512 e = exp_le0_z(_mm512_sub_ps(_mm512_maskz_loadu_ps(0xFF, z + i), vm));
        acc = _mm256_add_ps(acc, _mm512_castps512_ps256(e));
    }
    float lane[8];
    _mm256_storeu_ps(lane, acc);
    double s = 0.0;
    for (int j = 0; j < 8; j++)
        s += lane[j];
    for (i = n8; i < n; i++)
        s += exp_le0(z[i] - m);
    return s;
}

static int has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

static double row_sum_exp(const float *z, int64_t n, float m) {
    static atomic_int z512 = -1;
    return nnrt_once_int(&z512, has_avx512) ? row_sum_exp_z(z, n, m) : row_sum_exp_c(z, n, m);
}
#else
#define row_sum_exp row_sum_exp_c
#endif

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
