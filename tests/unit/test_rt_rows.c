/*
 * test_rt_rows.c - the rows pass's kernels (runtime/rows.c) and their
 * share = batch path (runtime/rows_shared.c: the columns of ids every
 * position shares scored by one GEMM), against loops written here in
 * double precision from nnrt_abi.h's definitions:
 *
 *   rows_dot     out[r] = W[ids[r]] . h[r / n]
 *   rows_wsum    out[p] = sum_j g[p n + j] W[ids[p n + j]]
 *   rows_scatter dst[ids[r]] += g[r] h[r / n]   (repeats add up)
 *
 * on ids with no shared column, with shared columns (two of them the same
 * row; with V = 40 ids, per-position ids meet shared ones), with too few
 * positions for the product (rows.c's loops), each on the CBLAS path and
 * the portable loops.
 */
#include "rt_testutil.h"

#include <math.h>

#include "nngrt.h"
#include "nnrt_abi.h"

enum { V = 40, H = 19 };

static uint32_t lcg_state = 7;
static uint32_t lcg_u(void) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state >> 8;
}
static float lcg(void) { return (float)lcg_u() / (float)(1u << 23) - 1.0f; }

/* ids [P, n]: column j shared when shared[j] (the same id at every
 * position), else drawn per position. */
static void make_ids(int32_t *ids, int P, int n, const int *shared) {
    for (int j = 0; j < n; j++) {
        int32_t s = (int32_t)(lcg_u() % V);
        for (int p = 0; p < P; p++)
            ids[p * n + j] = shared[j] ? s : (int32_t)(lcg_u() % V);
    }
}

static void check_case(int P, int n, const int *shared) {
    int N = P * n;
    float *W = malloc(sizeof(float) * V * H), *h = malloc(sizeof(float) * (size_t)(P * H));
    float *g = malloc(sizeof(float) * (size_t)N), *out = malloc(sizeof(float) * (size_t)N);
    float *ws = malloc(sizeof(float) * (size_t)(P * H)), *dst = malloc(sizeof(float) * V * H);
    double *ref = malloc(sizeof(double) * V * H);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)N);
    assert_non_null(ref);
    make_ids(ids, P, n, shared);
    if (shared[n - 1] && shared[n - 2])
        ids[n - 1] = ids[n - 2]; /* two shared columns, one row */
    for (int i = 0; i < V * H; i++)
        W[i] = lcg(), dst[i] = lcg();
    for (int i = 0; i < P * H; i++)
        h[i] = lcg();
    for (int i = 0; i < N; i++)
        g[i] = lcg();

    int any = 0; /* no shared column: rows.c's loops, whose float sums are in a fixed order */
    for (int j = 0; j < n; j++)
        any |= shared[j];
    nnrt_rows_dot(W, H, ids, N, n, h, out);
    for (int r = 0; r < N; r++) {
        double s = 0;
        for (int k = 0; k < H; k++)
            s += (double)W[ids[r] * H + k] * h[(r / n) * H + k];
        assert_true(fabs(out[r] - s) <= 1e-5 * (1 + fabs(s)));
        /* the C target's mul_sum order (16 lanes, the tree of pairs, the
         * tail), bit for bit, however many rows the loop takes at a time */
        float l[16] = {0}, f;
        for (int k = 0; k + 16 <= H; k += 16)
            for (int j = 0; j < 16; j++)
                l[j] += W[ids[r] * H + k + j] * h[(r / n) * H + k + j];
        f = (((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))) +
            (((l[8] + l[9]) + (l[10] + l[11])) + ((l[12] + l[13]) + (l[14] + l[15])));
        for (int k = H - H % 16; k < H; k++)
            f += W[ids[r] * H + k] * h[(r / n) * H + k];
        assert_true(any || out[r] == f);
    }
    nnrt_rows_wsum(W, H, ids, N, n, g, ws);
    for (int p = 0; p < P; p++)
        for (int k = 0; k < H; k++) {
            double s = 0;
            float f = 0.0f; /* the rows in order, bit for bit */
            for (int j = 0; j < n; j++) {
                s += (double)g[p * n + j] * W[ids[p * n + j] * H + k];
                f += W[ids[p * n + j] * H + k] * g[p * n + j];
            }
            assert_true(fabs(ws[p * H + k] - s) <= 1e-5 * (1 + fabs(s)));
            assert_true(any || ws[p * H + k] == f);
        }
    for (int i = 0; i < V * H; i++)
        ref[i] = dst[i];
    for (int r = 0; r < N; r++)
        for (int k = 0; k < H; k++)
            ref[ids[r] * H + k] += (double)g[r] * h[(r / n) * H + k];
    nnrt_rows_scatter(dst, H, ids, N, n, g, h);
    for (int i = 0; i < V * H; i++)
        assert_true(fabs(dst[i] - ref[i]) <= 1e-5 * (1 + fabs(ref[i])));
    free(W), free(h), free(g), free(out), free(ws), free(dst), free(ref), free(ids);
}

static void cases(void) {
    int none[6] = {0}, some[6] = {0, 0, 1, 1, 1, 1}, all[6] = {1, 1, 1, 1, 1, 1};
    check_case(16, 6, none);
    check_case(16, 6, some);  /* the product for 4 columns, loops for 2 */
    check_case(33, 6, all);   /* every column shared */
    check_case(3, 6, some);   /* too few positions: rows.c's loops */
    check_case(1, 6, all);
}

static void test_rows_blas(void **state) {
    (void)state;
    int old = nnrt_blas_set_portable(0);
    cases();
    nnrt_blas_set_portable(old);
}

static void test_rows_portable(void **state) {
    (void)state;
    int old = nnrt_blas_set_portable(1);
    cases();
    nnrt_blas_set_portable(old);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_blas),
        cmocka_unit_test(test_rows_portable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
