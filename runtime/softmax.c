/*
 * softmax.c - softmax, log-softmax and log-sum-exp over one row.
 *
 * All three subtract the row maximum m before exponentiating:
 * exp(z_i - m) <= 1 cannot overflow, and at least one term is exactly 1, so
 * the sum cannot underflow to 0 either. logsumexp(z) = m + log(sum exp(z_i - m)).
 * The sum is accumulated in double; the rows are vocabulary-sized, and
 * float accumulation would lose digits for large n.
 *
 * Edge cases: n <= 0 gives logsumexp = -inf and writes nothing; a row that
 * is all -inf gives logsumexp = -inf and NaN probabilities (there is no
 * distribution to normalise); a NaN anywhere gives NaN. `out` may be `z`.
 */
#include <math.h>

#include "rt_internal.h"

static float row_max(const float *z, int64_t n) {
    float m = z[0];
    for (int64_t i = 1; i < n; i++)
        if (z[i] > m || isnan(z[i]))
            m = z[i];
    return m;
}

float nnrt_logsumexp(const float *z, int64_t n) {
    if (n <= 0)
        return -INFINITY;
    float m = row_max(z, n);
    if (isinf(m) || isnan(m))
        return m; /* +inf dominates; -inf means every term is exp(-inf) = 0 */
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        s += exp((double)z[i] - m);
    return (float)(m + log(s));
}

void nnrt_softmax(const float *z, float *out, int64_t n) {
    if (n <= 0)
        return;
    float m = row_max(z, n);
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double e = exp((double)z[i] - m);
        out[i] = (float)e;
        s += e;
    }
    /* exp(z_i - m) is at most 1 and equals 1 at the max, so 1 <= s <= n. */
    double inv = 1.0 / s;
    for (int64_t i = 0; i < n; i++)
        out[i] = (float)(out[i] * inv);
}

void nnrt_log_softmax(const float *z, float *out, int64_t n) {
    float lse = nnrt_logsumexp(z, n);
    for (int64_t i = 0; i < n; i++)
        out[i] = z[i] - lse;
}
