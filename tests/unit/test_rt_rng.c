/*
 * test_rt_rng.c - the xoshiro256** generator and the init helpers.
 *
 * The fixed stream values come from an independent Python implementation,
 * tests/data/rng_reference.py; the distribution checks use sample
 * statistics with tolerances of about 6 standard errors.
 */
#include "rt_testutil.h"

#include <math.h>

#include "nngrt.h"

/* Printed by tests/data/rng_reference.py. */
static const struct {
    uint64_t seed;
    uint64_t first[4];
} reference[] = {
    {0x0000000000000000ull, {0x99ec5f36cb75f2b4ull, 0xbf6e1f784956452aull, 0x1a5f849d4933e6e0ull, 0x6aa594f1262d2d2cull}},
    {0x0000000000000001ull, {0xb3f2af6d0fc710c5ull, 0x853b559647364ceaull, 0x92f89756082a4514ull, 0x642e1c7bc266a3a7ull}},
    {0x000000000000002aull, {0x15780b2e0c2ec716ull, 0x6104d9866d113a7eull, 0xae17533239e499a1ull, 0xecb8ad4703b360a1ull}},
    {0xffffffffffffffffull, {0x8f5520d52a7ead08ull, 0xc476a018caa1802dull, 0x81de31c0d260469eull, 0xbf658d7e065f3c2full}},
};

/* Ensure the first outputs for several seeds match the Python reference. */
static void test_rng_reference(void **state) {
    (void)state;
    for (size_t s = 0; s < sizeof reference / sizeof reference[0]; s++) {
        nnrt_rng r;
        nnrt_rng_seed(&r, reference[s].seed);
        for (int i = 0; i < 4; i++)
            assert_int_equal(nnrt_rng_next(&r), reference[s].first[i]);
    }
    nnrt_rng r;
    nnrt_rng_seed(&r, 42);
    assert_true(nnrt_rng_double(&r) == 0.083862971059882163);
}

/* Ensure a seed always gives the same stream, and other seeds others. */
static void test_rng_determinism(void **state) {
    (void)state;
    nnrt_rng a, b, c;
    nnrt_rng_seed(&a, 7);
    nnrt_rng_seed(&b, 7);
    nnrt_rng_seed(&c, 8);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = nnrt_rng_next(&a);
        assert_int_equal(x, nnrt_rng_next(&b));
        differ += x != nnrt_rng_next(&c);
    }
    assert_true(differ > 990);
    float p[16], q[16];
    nnrt_rng_seed(&a, 3);
    nnrt_rng_seed(&b, 3);
    nnrt_init_normal(&a, p, 16, 0.0f, 1.0f);
    nnrt_init_normal(&b, q, 16, 0.0f, 1.0f);
    assert_memory_equal(p, q, sizeof p);
}

/* Ensure uniform draws stay in [a, b) with the right mean, and doubles in
 * [0, 1). */
static void test_rng_uniform(void **state) {
    (void)state;
    nnrt_rng r;
    nnrt_rng_seed(&r, 1);
    enum { N = 100000 };
    double sum = 0, lo = 1e9, hi = -1e9;
    for (int i = 0; i < N; i++) {
        float x = nnrt_rng_uniform(&r, -2.0f, 3.0f);
        assert_true(x >= -2.0f && x < 3.0f);
        sum += x;
        lo = fmin(lo, x), hi = fmax(hi, x);
        double d = nnrt_rng_double(&r);
        assert_true(d >= 0.0 && d < 1.0);
    }
    /* mean 0.5, standard error 5/sqrt(12 N) ~ 0.0046 */
    assert_true(fabs(sum / N - 0.5) < 0.03);
    assert_true(lo < -1.99 && hi > 2.99);
    assert_true(nnrt_rng_uniform(&r, 1.0f, 1.0f) == 1.0f);
}

/* Ensure normal draws have the requested mean and standard deviation. */
static void test_rng_normal(void **state) {
    (void)state;
    nnrt_rng r;
    nnrt_rng_seed(&r, 2);
    enum { N = 100000 };
    static float x[N];
    nnrt_init_normal(&r, x, N, 2.0f, 0.5f);
    double s = 0, s2 = 0;
    int beyond3 = 0;
    for (int i = 0; i < N; i++) {
        assert_true(isfinite(x[i]));
        s += x[i];
        s2 += (double)x[i] * x[i];
        beyond3 += fabs(x[i] - 2.0) > 1.5;
    }
    double mean = s / N, sd = sqrt(s2 / N - mean * mean);
    assert_true(fabs(mean - 2.0) < 0.01); /* standard error 0.0016 */
    assert_true(fabs(sd - 0.5) < 0.01);   /* standard error 0.0011 */
    /* P(|z| > 3) = 0.0027: about 270 of 100000 */
    assert_true(beyond3 > 150 && beyond3 < 400);
}

/* Ensure glorot fills fan_out * fan_in values within
 * +-sqrt(6 / (fan_in + fan_out)) = +-sqrt(6 / 100) here, using the whole
 * range; and fill writes exactly n values. */
static void test_init(void **state) {
    (void)state;
    nnrt_rng r;
    nnrt_rng_seed(&r, 5);
    enum { FO = 30, FI = 70 };
    static float w[FO * FI + 1];
    w[FO * FI] = 42.0f;
    nnrt_init_glorot(&r, w, FO, FI);
    double limit = sqrt(6.0 / 100.0), hi = 0, sum = 0;
    for (int i = 0; i < FO * FI; i++) {
        assert_true(fabs(w[i]) <= limit);
        hi = fmax(hi, fabs(w[i]));
        sum += w[i];
    }
    assert_true(hi > 0.99 * limit);
    assert_true(fabs(sum / (FO * FI)) < 0.02);
    assert_true(w[FO * FI] == 42.0f);

    float f[4] = {0, 0, 0, 9};
    nnrt_init_fill(f, 3, 1.5f);
    assert_true(f[0] == 1.5f && f[2] == 1.5f && f[3] == 9.0f);
    nnrt_init_glorot(&r, f, 0, 3); /* empty: must not write */
    assert_true(f[0] == 1.5f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_reference), cmocka_unit_test(test_rng_determinism),
        cmocka_unit_test(test_rng_uniform),   cmocka_unit_test(test_rng_normal),
        cmocka_unit_test(test_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
