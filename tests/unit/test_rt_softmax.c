/*
 * test_rt_softmax.c - nnrt_softmax, nnrt_log_softmax and nnrt_logsumexp
 * against values worked out by hand, including inputs (1000, 1001) whose
 * naive exp overflows float.
 */
#include "rt_testutil.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nngrt.h"
#include "nnrt_abi.h"

#define assert_close(got, want, tol)                                            \
    do {                                                                        \
        double g_ = (got), w_ = (want);                                         \
        if (!(fabs(g_ - w_) <= (tol)))                                          \
            fail_msg("%s = %.9g, want %.9g", #got, g_, w_);                     \
    } while (0)

/* Ensure z = [0, ln 3] gives softmax [1/4, 3/4] and logsumexp ln 4. */
static void test_softmax_hand(void **state) {
    (void)state;
    const float z[2] = {0.0f, (float)log(3.0)};
    float p[2], lp[2];
    nnrt_softmax(z, p, 2);
    assert_close(p[0], 0.25, 1e-7);
    assert_close(p[1], 0.75, 1e-7);
    assert_close(nnrt_logsumexp(z, 2), log(4.0), 1e-6);
    nnrt_log_softmax(z, lp, 2);
    assert_close(lp[0], -log(4.0), 1e-6);
    assert_close(lp[1], log(3.0) - log(4.0), 1e-6);
}

/* Ensure (1000, 1001) does not overflow: softmax is (1/(1+e), e/(1+e)) and
 * logsumexp = 1001 + ln(1 + 1/e); likewise far below zero. */
static void test_softmax_large(void **state) {
    (void)state;
    const float z[2] = {1000.0f, 1001.0f};
    float p[2], lp[2];
    double e = exp(1.0);
    nnrt_softmax(z, p, 2);
    assert_close(p[0], 1 / (1 + e), 1e-7);
    assert_close(p[1], e / (1 + e), 1e-7);
    assert_close(nnrt_logsumexp(z, 2), 1001 + log(1 + 1 / e), 1e-4);
    nnrt_log_softmax(z, lp, 2);
    assert_close(lp[0], -1 - log(1 + 1 / e), 1e-4);
    assert_close(lp[1], -log(1 + 1 / e), 1e-4);

    const float m[2] = {-1000.0f, -1000.0f};
    nnrt_softmax(m, p, 2);
    assert_close(p[0], 0.5, 1e-7);
    assert_close(p[1], 0.5, 1e-7);
    assert_close(nnrt_logsumexp(m, 2), -1000 + log(2.0), 1e-4);
}

/* Ensure edge cases: one element, -inf entries, n == 0, a long uniform row,
 * and in-place use (out == z). */
static void test_softmax_edges(void **state) {
    (void)state;
    float one[1] = {-7.5f}, p[2];
    nnrt_softmax(one, p, 1);
    assert_true(p[0] == 1.0f);
    assert_true(nnrt_logsumexp(one, 1) == -7.5f);

    const float masked[2] = {-INFINITY, 0.0f};
    nnrt_softmax(masked, p, 2);
    assert_true(p[0] == 0.0f && p[1] == 1.0f);
    assert_true(nnrt_logsumexp(masked, 2) == 0.0f);

    assert_true(isinf(nnrt_logsumexp(one, 0)) && nnrt_logsumexp(one, 0) < 0);

    enum { N = 100000 };
    static float row[N];
    nnrt_softmax(row, row, N); /* all zeros -> 1/N each, in place */
    for (int i = 0; i < N; i++)
        assert_close(row[i], 1e-5, 1e-12);
    for (int i = 0; i < N; i++)
        row[i] = 0.0f;
    assert_close(nnrt_logsumexp(row, N), log((double)N), 1e-5);
    nnrt_log_softmax(row, row, N);
    assert_close(row[N - 1], -log((double)N), 1e-5);
}

/* Ensure the fast exp behind logsumexp/softmax is accurate over the whole
 * range: random rows against a double-precision reference computed here. */
static void test_softmax_vs_double(void **state) {
    (void)state;
    enum { N = 1003 }; /* not a multiple of 8: the tail loop runs too */
    static float z[N], p[N];
    uint64_t x = 88172645463325252ull;
    for (int scale = 1; scale <= 100; scale *= 10) {
        for (int i = 0; i < N; i++) { /* xorshift: uniform in [-scale, scale) */
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            z[i] = (float)(((double)(x >> 11) / 9007199254740992.0 * 2 - 1) * scale);
        }
        double m = z[0];
        for (int i = 1; i < N; i++)
            m = z[i] > m ? z[i] : m;
        double sum = 0;
        for (int i = 0; i < N; i++)
            sum += exp((double)z[i] - m);
        double lse = m + log(sum);
        assert_close(nnrt_logsumexp(z, N), lse, 1e-6 * fabs(lse) + 1e-6);
        nnrt_softmax(z, p, N);
        for (int i = 0; i < N; i++) {
            double want = exp((double)z[i] - lse);
            assert_close(p[i], want, 1e-6 * want + 1e-12);
        }
    }
}

/* Ensure nnrt_linear_lse equals the logsumexp of the logits X W^T + b
 * worked out in double, for sizes that span several row blocks (64) and
 * column blocks (480), with and without a bias; that large logits stay
 * finite (the running max); and that NaN, +inf and all -inf rows give
 * what nnrt_logsumexp gives, row by row. */
static void test_linear_lse(void **state) {
    (void)state;
    static const int sizes[][3] = {{1, 1, 1}, {3, 1000, 7}, {70, 50, 5}, {65, 961, 3}};
    static float X[70 * 7], W[1000 * 7], b[1000], out[70];
    uint32_t seed = 5;
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        int M = sizes[c][0], N = sizes[c][1], K = sizes[c][2];
        for (int i = 0; i < M * K; i++)
            seed = seed * 1664525u + 1013904223u, X[i] = (float)(seed >> 8) / (1 << 24) * 4 - 2;
        for (int i = 0; i < N * K; i++)
            seed = seed * 1664525u + 1013904223u, W[i] = (float)(seed >> 8) / (1 << 24) * 4 - 2;
        for (int j = 0; j < N; j++)
            b[j] = (float)j / N * 30; /* the max moves from block to block */
        for (int withb = 0; withb < 2; withb++) {
            nnrt_linear_lse(M, N, K, X, K, W, K, withb ? b : NULL, out);
            for (int i = 0; i < M; i++) {
                double mx = -INFINITY, s = 0, z[1000];
                for (int j = 0; j < N; j++) {
                    z[j] = withb ? b[j] : 0;
                    for (int k = 0; k < K; k++)
                        z[j] += (double)X[i * K + k] * W[j * K + k];
                    mx = z[j] > mx ? z[j] : mx;
                }
                for (int j = 0; j < N; j++)
                    s += exp(z[j] - mx);
                assert_close(out[i], mx + log(s), 1e-5 * (1 + fabs(mx)));
            }
        }
    }
    /* large logits: 1000 + small, no overflow */
    const float X1[2] = {1, 0}, W1[6] = {1000, 0, 999, 0, 998, 0};
    nnrt_linear_lse(1, 3, 2, X1, 2, W1, 2, NULL, out);
    assert_close(out[0], 1000 + log(1 + exp(-1.0) + exp(-2.0)), 1e-3);
    /* row 0: a +inf logit; row 1: NaN input; row 2: every logit -inf */
    const float X3[3] = {1, NAN, 1}, W3[2] = {1, 1};
    const float b3a[2] = {INFINITY, 0}, b3b[2] = {-INFINITY, -INFINITY};
    nnrt_linear_lse(2, 2, 1, X3, 1, W3, 1, b3a, out);
    assert_true(out[0] == INFINITY && isnan(out[1]));
    nnrt_linear_lse(1, 2, 1, X3 + 2, 1, W3, 1, b3b, out);
    assert_true(out[0] == -INFINITY);
}

/* Ensure nnrt_row_max finds the max wherever it is in rows of every
 * length around the 8-wide vector loop, that one NaN anywhere makes the
 * result NaN, that -inf rows give -inf and +inf wins. */
static void test_row_max(void **state) {
    (void)state;
    float z[40];
    for (int n = 1; n <= 40; n++)
        for (int at = 0; at < n; at++) {
            for (int i = 0; i < n; i++)
                z[i] = -(float)((i * 7) % 13) - 1.0f; /* all in [-13, -1] */
            z[at] = 0.5f;
            assert_true(nnrt_row_max(z, n) == 0.5f);
            z[at] = NAN;
            assert_true(isnan(nnrt_row_max(z, n)));
            z[at] = INFINITY;
            assert_true(nnrt_row_max(z, n) == INFINITY);
        }
    for (int i = 0; i < 40; i++)
        z[i] = -INFINITY;
    assert_true(nnrt_row_max(z, 40) == -INFINITY && nnrt_row_max(z, 3) == -INFINITY);
}

/* Ensure nnrt_lse_row (generated code's one-pass logsumexp, in chunks of
 * 1024 with a running max) matches log sum exp in double for rows of
 * lengths around the chunk size, whose max rises chunk after chunk (every
 * rescale taken), falls, or sits in the first or last element; and its
 * special values: NaN in any chunk (also after a +inf), +inf, -inf rows
 * and leading -inf chunks, n = 0. */
static void test_lse_row(void **state) {
    (void)state;
    static float z[5000];
    const int lens[] = {1, 7, 8, 1023, 1024, 1025, 2048, 3001, 5000};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (int shape = 0; shape < 4; shape++) {
            const int n = lens[li];
            for (int i = 0; i < n; i++) {
                double u = (double)((i * 7919) % 1000) / 1000.0; /* in [0, 1) */
                z[i] = (float)(shape == 0   ? 0.01 * i + u        /* rising: a new max per chunk */
                               : shape == 1 ? -0.01 * i + u       /* falling */
                               : shape == 2 ? 30.0 * u - 15.0     /* spread */
                                            : (i == n - 1 ? 80.0 : u)); /* max in the last element */
            }
            double mx = -INFINITY, s = 0.0;
            for (int i = 0; i < n; i++)
                mx = z[i] > mx ? z[i] : mx;
            for (int i = 0; i < n; i++)
                s += exp((double)z[i] - mx);
            const double want = mx + log(s);
            assert_close(nnrt_lse_row(z, n), want, 2e-6 * fabs(want) + 2e-6);
        }
    for (int i = 0; i < 3000; i++)
        z[i] = (float)(i % 17) * 0.25f;
    z[100] = INFINITY;
    assert_true(nnrt_lse_row(z, 3000) == INFINITY);
    z[2500] = NAN; /* after the +inf, in a later chunk */
    assert_true(isnan(nnrt_lse_row(z, 3000)));
    z[100] = 1.0f;
    assert_true(isnan(nnrt_lse_row(z, 3000)) && !isnan(nnrt_lse_row(z, 2048)));
    for (int i = 0; i < 3000; i++)
        z[i] = -INFINITY;
    assert_true(nnrt_lse_row(z, 3000) == -INFINITY && nnrt_lse_row(z, 0) == -INFINITY);
    z[2999] = 2.0f; /* two chunks of -inf, then one finite logit */
    assert_close(nnrt_lse_row(z, 3000), 2.0, 1e-6);
}

/* Ensure the vectorizable tanh, sigmoid and exp of nngrt.h match libm in
 * double over a sweep of [-40, 40] (and their special values). */
static void test_fast_elementwise(void **state) {
    (void)state;
    for (int i = -400000; i <= 400000; i++) {
        float x = (float)i * 1e-4f;
        double t = tanh((double)x), s = 1.0 / (1.0 + exp(-(double)x));
        assert_close(nnrt_tanhf(x), t, 1e-6 * fabs(t) + 1e-9);
        assert_close(nnrt_sigmoidf(x), s, 1e-6 * s + 1e-30);
        if (x <= 0)
            assert_close(nnrt_exp_le0(x), exp((double)x), 1e-6 * exp((double)x) + 1e-37);
    }
    assert_true(nnrt_tanhf(1e-30f) == 1e-30f);
    assert_true(nnrt_tanhf(INFINITY) == 1.0f && nnrt_tanhf(-INFINITY) == -1.0f);
    assert_true(nnrt_sigmoidf(-INFINITY) == 0.0f && nnrt_sigmoidf(INFINITY) == 1.0f);
    assert_true(nnrt_exp_le0(-INFINITY) == 0.0f && nnrt_exp_le0(0.0f) == 1.0f);
    assert_true(isnan(nnrt_tanhf(NAN)) && isnan(nnrt_sigmoidf(NAN)) && isnan(nnrt_exp_le0(NAN)));
    /* nnrt_expf (the `exp` of generated code): every x from -87 to float's
     * largest exp in steps of about 1e-3, and the ends */
    for (float x = -87.0f; x <= 88.72f; x += 0.000977f) {
        double e = exp((double)x);
        assert_close(nnrt_expf(x), e, 1e-6 * e);
    }
    assert_close(nnrt_expf(88.72f), exp((double)88.72f), 1e-6 * exp((double)88.72f));
    assert_true(nnrt_expf(0.0f) == 1.0f && nnrt_expf(-87.5f) == 0.0f && nnrt_expf(-INFINITY) == 0.0f);
    assert_true(isinf(nnrt_expf(88.8f)) && isinf(nnrt_expf(INFINITY)) && isnan(nnrt_expf(NAN)));
}

/* Ensure nnrt_logsumexp and nnrt_linear_lse (whose sum of exps has an
 * AVX-512 copy, picked at run time) give the scalar definition's float
 * bit for bit: m + log of the 8 lane sums of nnrt_exp_le0(z - m) (the
 * header's nnrt_sum_exp, compiled here without AVX-512), on rows of every
 * length up to 70 and longer ones, with terms below exp's range, -inf
 * and NaN. */
static void test_sum_exp_bits(void **state) {
    (void)state;
    static float z[1100];
    uint32_t x = 12345;
    for (int n = 1; n <= 1100; n += n < 70 ? 1 : 103) {
        for (int kind = 0; kind < 4; kind++) {
            for (int i = 0; i < n; i++) {
                x = x * 1664525u + 1013904223u;
                /* [-100, 20); kind 3: [-2, 2), terms alike, so an order of
                 * the adds other than the scalar one shows in the bits */
                z[i] = kind == 3 ? (float)((x >> 8) % 4000) / 1000.0f - 2.0f
                                 : (float)((x >> 8) % 12000) / 100.0f - 100.0f;
            }
            if (kind == 1)
                z[n / 2] = -INFINITY;
            if (kind == 2)
                z[n - 1] = NAN;
            float m = nnrt_row_max(z, n);
            float want = m - m == 0.0f ? (float)(m + log(nnrt_sum_exp(z, n, m))) : m;
            if (kind == 3) { /* the row less its logsumexp: one near 0, whose float shows the sum's last bits */
                for (int i = 0; i < n; i++)
                    z[i] -= want;
                m = nnrt_row_max(z, n);
                want = (float)(m + log(nnrt_sum_exp(z, n, m)));
            }
            float got = nnrt_logsumexp(z, n);
            if (memcmp(&got, &want, sizeof got) != 0 && !(got != got && want != want))
                fail_msg("n = %d, kind %d: logsumexp %.9g, want %.9g bit for bit", n, kind, got, want);
            /* one row through the blocked product: X = [1], W = z as a column */
            float one = 1.0f, lse;
            nnrt_linear_lse(1, n, 1, &one, 1, z, 1, NULL, &lse);
            if ((kind == 0 || kind == 3) && n <= 480 && memcmp(&lse, &want, sizeof lse) != 0)
                fail_msg("n = %d: linear_lse %.9g, want %.9g bit for bit", n, lse, want);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_hand),
        cmocka_unit_test(test_softmax_large),
        cmocka_unit_test(test_softmax_edges),
        cmocka_unit_test(test_softmax_vs_double),
        cmocka_unit_test(test_row_max),
        cmocka_unit_test(test_lse_row),
        cmocka_unit_test(test_sum_exp_bits),
        cmocka_unit_test(test_linear_lse),
        cmocka_unit_test(test_fast_elementwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
