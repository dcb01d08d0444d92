/*
 * test_rt_rows_path.c - the rows ops on hier's paths (runtime/rows_path.c)
 * against values worked by hand: each group of ids is one path, ended by
 * the pad id; the pad row holds NaN and the pad entries' weights are not
 * 0, so a loop that reads a pad entry gives NaN or a wrong sum. The
 * scatter lists each row it adds into once, in the order first added.
 * Class ranges (NNRT_PAD_RANGE) likewise.
 */
#include "rt_testutil.h"

#include <math.h>

#include "nnrt_abi.h"

enum { H = 3, N = 8, n = 4, PAD = 5 };

/* rows 0..4 inner nodes (4 the root), row 5 the pad row */
static float W[6 * H] = {1, 2, 3, 0, 1, -1, 2, 0, 1, -1, 1, 1, 1, 1, 1, 0, 0, 0};
static const int32_t ids[N] = {4, 1, PAD, PAD, 4, 2, 0, PAD}; /* paths of 2 and 3 nodes */
static const float h[2 * H] = {1, 1, 1, 1, 0, 2};
static const float g[N] = {1, 2, 9, 9, 0.5f, -1, 1, 9}; /* 9: on the pads, never used */

static void pad_row_nan(void) {
    for (int k = 0; k < H; k++)
        W[PAD * H + k] = NAN;
}

/* Ensure the dot products of a path's nodes are computed, and 0 is written
 * on its pad entries (the NaN row is not read). */
static void test_path_dot(void **state) {
    (void)state;
    pad_row_nan();
    float out[N];
    for (int r = 0; r < N; r++)
        out[r] = -7;
    nnrt_path_dot(W, H, ids, N, n, PAD, h, out);
    const float want[N] = {3, 0, 0, 0, 3, 4, 7, 0};
    for (int r = 0; r < N; r++)
        assert_true(out[r] == want[r]);
}

/* Ensure each path's weighted sum of rows stops at its pad. */
static void test_path_wsum(void **state) {
    (void)state;
    pad_row_nan();
    float out[2 * H];
    nnrt_path_wsum(W, H, ids, N, n, PAD, g, out);
    const float want[2 * H] = {1, 3, -1, -0.5f, 2.5f, 2.5f}; /* W4 + 2 W1; 0.5 W4 - W2 + W0 */
    for (int k = 0; k < 2 * H; k++)
        assert_true(out[k] == want[k]);
}

/* Ensure the outer products reach the path's rows only (the pad row stays
 * 0), and the rows are listed once each after what the list held. */
static void test_path_scatter(void **state) {
    (void)state;
    float dst[6 * H] = {0};
    dst[3 * H] = 5; /* row 3: listed by an earlier op; not added into here */
    int32_t touched[N + 1] = {3};
    int64_t nt = 1;
    nnrt_path_scatter(dst, H, ids, N, n, PAD, g, h, touched, &nt);
    const float want[6 * H] = {1, 0, 2, 2, 2, 2, -1, 0, -2, 5, 0, 0, 1.5f, 1, 2, 0, 0, 0};
    for (int k = 0; k < 6 * H; k++)
        assert_true(dst[k] == want[k]);
    assert_int_equal(nt, 5);
    const int32_t list[5] = {3, 4, 1, 2, 0}; /* the root once */
    for (int k = 0; k < 5; k++)
        assert_int_equal(touched[k], list[k]);

    /* without a list: the same sums, the count left alone */
    float dst2[6 * H] = {0};
    dst2[3 * H] = 5;
    int64_t none = 0;
    nnrt_path_scatter(dst2, H, ids, N, n, PAD, g, h, NULL, &none);
    assert_int_equal(none, 0);
    assert_memory_equal(dst2, want, sizeof want);
}

/* Ensure a path without a pad (as long as the group) is read whole, and a
 * group that is all pad reads nothing. */
static void test_full_and_empty(void **state) {
    (void)state;
    pad_row_nan();
    const int32_t both[4] = {4, 1, PAD, PAD}; /* n = 2: {4, 1} whole, then {PAD, PAD} */
    float out[4];
    nnrt_path_dot(W, H, both, 4, 2, PAD, h, out);
    assert_true(out[0] == 3 && out[1] == 0 && out[2] == 0 && out[3] == 0);
    float o[2 * H];
    nnrt_path_wsum(W, H, both, 4, 2, PAD, g, o);
    const float want[2 * H] = {1, 3, -1, 0, 0, 0};
    for (int k = 0; k < 2 * H; k++)
        assert_true(o[k] == want[k]);
}

/* Ensure class ranges (NNRT_PAD_RANGE: distinct ids padded with the
 * first) end where the first id comes again: a range of 3 and one of 1;
 * the weights on the pads (9) would change every sum if read. */
static void test_ranges(void **state) {
    (void)state;
    static const float Wr[6 * H] = {1, 2, 3, 0, 1, -1, 2, 0, 1, -1, 1, 1, 1, 1, 1, 0, 0, 0};
    const int32_t r[N] = {2, 3, 4, 2, 1, 1, 1, 1};
    const float gr[N] = {1, 2, -1, 9, 0.5f, 9, 9, 9};
    float out[N];
    nnrt_path_dot(Wr, H, r, N, n, NNRT_PAD_RANGE, h, out);
    const float dot[N] = {3, 1, 3, 0, -2, 0, 0, 0};
    for (int k = 0; k < N; k++)
        assert_true(out[k] == dot[k]);
    float o[2 * H];
    nnrt_path_wsum(Wr, H, r, N, n, NNRT_PAD_RANGE, gr, o);
    const float wsum[2 * H] = {-1, 1, 2, 0, 0.5f, -0.5f}; /* W2 + 2 W3 - W4; 0.5 W1 */
    for (int k = 0; k < 2 * H; k++)
        assert_true(o[k] == wsum[k]);
    float dst[6 * H] = {0};
    int32_t touched[N];
    int64_t nt = 0;
    nnrt_path_scatter(dst, H, r, N, n, NNRT_PAD_RANGE, gr, h, touched, &nt);
    const float want[6 * H] = {0, 0, 0, 0.5f, 0, 1, 1, 1, 1, 2, 2, 2, -1, -1, -1, 0, 0, 0};
    assert_memory_equal(dst, want, sizeof want);
    assert_int_equal(nt, 4);
    const int32_t list[4] = {2, 3, 4, 1};
    for (int k = 0; k < 4; k++)
        assert_int_equal(touched[k], list[k]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_dot),
        cmocka_unit_test(test_path_wsum),
        cmocka_unit_test(test_path_scatter),
        cmocka_unit_test(test_full_and_empty),
        cmocka_unit_test(test_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
