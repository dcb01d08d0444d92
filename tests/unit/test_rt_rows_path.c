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
#include "nnrt_approx.h"

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

/* ---------------------------------------------------------------- longer paths
 *
 * Rows of 37 floats (two blocks of 16 and a tail of 5) and paths of 9, 4
 * and 7 nodes: the loops that take four rows at a time (two fours and
 * one more; one four; a four and three more) against float64 sums, and
 * bit for bit against the one-row order (16 lanes, then the tree of
 * pairs, then the tail: rows_path.c's promise that the results equal
 * the padded ops'). */
enum { LH = 37, LV = 16, LN = 36, Ln = 12, LPAD = LV - 1 };

static float LW[LV * LH], Lh[3 * LH], Lg[LN];
static const int32_t Lids[LN] = {14, 3, 7, 0, 9, 3 + 8, 2, 13, 5, LPAD, LPAD, LPAD,
                                 14, 6, 1, 12, LPAD, LPAD, LPAD, LPAD, LPAD, LPAD, LPAD, LPAD,
                                 4, 10, 1, 6, 12, 2, 8, LPAD, LPAD, LPAD, LPAD, LPAD};

static void long_setup(void) {
    uint32_t s = 12345;
    for (int k = 0; k < LV * LH; k++) {
        s = s * 1664525u + 1013904223u;
        LW[k] = (float)((int)(s >> 9) % 2001 - 1000) / 997.0f;
    }
    for (int k = 0; k < LH; k++)
        LW[LPAD * LH + k] = NAN;
    for (int k = 0; k < 3 * LH; k++)
        Lh[k] = (float)((k * 7) % 11 - 5) / 3.0f;
    for (int k = 0; k < LN; k++)
        Lg[k] = Lids[k] == LPAD ? NAN : (float)(k % 5 - 2) / 4.0f;
}

/* Is entry e of ids (groups of n) at or past its group's first pad id, so
 * that the path loops never reach it? */
static int past_end(const int32_t *ids, int n, int e, int32_t pad) {
    int gone = 0;
    for (int j = e - e % n; j <= e; j++)
        gone |= ids[j] == pad;
    return gone;
}

/* x . y in the one-row order (16 lanes, the tree of pairs, the tail), in float */
static float dot_lanes(const float *x, const float *y) {
    float l[16] = {0};
    for (int i = 0; i + 16 <= LH; i += 16)
        for (int j = 0; j < 16; j++)
            l[j] += x[i + j] * y[i + j];
    float s = (((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))) +
              (((l[8] + l[9]) + (l[10] + l[11])) + ((l[12] + l[13]) + (l[14] + l[15])));
    for (int i = LH - LH % 16; i < LH; i++)
        s += x[i] * y[i];
    return s;
}

/* Ensure path_dot's four-at-a-time rows equal the one-row order bit for
 * bit and the float64 sums to rounding. */
static void test_long_dot(void **state) {
    (void)state;
    long_setup();
    float out[LN];
    nnrt_path_dot(LW, LH, Lids, LN, Ln, LPAD, Lh, out);
    for (int r = 0; r < LN; r++) {
        const float *hp = Lh + (r / Ln) * LH;
        if (Lids[r] == LPAD) {
            assert_true(out[r] == 0.0f);
            continue;
        }
        double ref = 0;
        for (int k = 0; k < LH; k++)
            ref += (double)LW[Lids[r] * LH + k] * hp[k];
        assert_true(fabs(out[r] - ref) < 1e-5);
        assert_true(out[r] == dot_lanes(LW + Lids[r] * LH, hp));
    }
}

/* Ensure path_wsum's four rows per pass add each element's terms in the
 * path's order (bit for bit the one-row loop) and match float64. */
static void test_long_wsum(void **state) {
    (void)state;
    long_setup();
    float out[3 * LH];
    nnrt_path_wsum(LW, LH, Lids, LN, Ln, LPAD, Lg, out);
    for (int p = 0; p < 3; p++)
        for (int k = 0; k < LH; k++) {
            float f = 0.0f;
            double ref = 0;
            for (int j = 0; j < Ln && Lids[p * Ln + j] != LPAD; j++) {
                f += LW[Lids[p * Ln + j] * LH + k] * Lg[p * Ln + j];
                ref += (double)LW[Lids[p * Ln + j] * LH + k] * Lg[p * Ln + j];
            }
            assert_true(out[p * LH + k] == f);
            assert_true(fabs(out[p * LH + k] - ref) < 1e-5);
        }
}

/* Ensure the SGD in the scatter on paths (path_count over every segment,
 * then path_scatter_sgd segment by segment) leaves what path_scatter into
 * a zero gradient, then the clearing SGD over the listed rows, leaves:
 * the params bit for bit, the gradient and the counts all zero. Two
 * segments that share rows (14 is in three paths, 3 in two): a row's
 * count spans both. Against float64 too: W - lr sum g h. */
static void test_path_scatter_sgd(void **state) {
    (void)state;
    long_setup();
    for (int k = 0; k < LH; k++)
        LW[LPAD * LH + k] = 0.0f; /* the pad row: never written */
    const int32_t seg2[Ln] = {14, 3, 8, LPAD, LPAD, LPAD, LPAD, LPAD, LPAD, LPAD, LPAD, LPAD};
    const float g2[Ln] = {0.25f, -1.5f, 2.0f, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    const float lr = 0.1f;
    static float Wa[LV * LH], Wb[LV * LH], ga[LV * LH], gb[LV * LH];
    memcpy(Wa, LW, sizeof Wa);
    memcpy(Wb, LW, sizeof Wb);
    memset(ga, 0, sizeof ga);
    memset(gb, 0, sizeof gb);

    int32_t touched[LN + Ln];
    int64_t nt = 0;
    nnrt_path_scatter(ga, LH, Lids, LN, Ln, LPAD, Lg, Lh, touched, &nt);
    nnrt_path_scatter(ga, LH, seg2, Ln, Ln, LPAD, g2, Lh + LH, touched, &nt);
    nnrt_sgd_update_ids_clear(Wa, ga, LH, touched, nt, lr);

    int32_t left[LV] = {0};
    nnrt_path_count(Lids, LN, Ln, LPAD, left);
    nnrt_path_count(seg2, Ln, Ln, LPAD, left);
    assert_int_equal(left[14], 3);
    assert_int_equal(left[3], 2);
    assert_int_equal(left[LPAD], 0);
    nnrt_path_scatter_sgd(Wb, gb, LH, Lids, LN, Ln, LPAD, Lg, Lh, left, lr);
    nnrt_path_scatter_sgd(Wb, gb, LH, seg2, Ln, Ln, LPAD, g2, Lh + LH, left, lr);

    assert_memory_equal(Wb, Wa, sizeof Wa);
    for (int k = 0; k < LV * LH; k++)
        assert_true(gb[k] == 0.0f);
    for (int v = 0; v < LV; v++)
        assert_int_equal(left[v], 0);
    for (int v = 0; v < LV; v++) /* float64: W - lr sum over the paths' entries of g h */
        for (int k = 0; k < LH; k++) {
            double sum = 0;
            for (int r = 0; r < LN + Ln; r++) {
                const int32_t *ids = r < LN ? Lids : seg2;
                int rr = r < LN ? r : r - LN, p = r < LN ? rr / Ln : 1;
                const int gone = past_end(ids, Ln, rr, LPAD);
                if (!gone && ids[rr] == v)
                    sum += (double)(r < LN ? Lg[rr] : g2[rr]) * Lh[p * LH + k];
            }
            assert_true(fabs(Wb[v * LH + k] - (LW[v * LH + k] - lr * sum)) < 1e-5);
        }
}

/* Ensure the scatters of m segments that share their paths (word2vec's
 * skip-gram: the contexts predict one centre word) add, at each path row,
 * the segments' products in turn, bit for bit that order in float and
 * float64's sums to rounding; list each row once; and that the SGD form
 * (path_count once, then path_scatter_sgd_m) leaves what the
 * scatter into a zero gradient and the clearing SGD leave, bit for bit,
 * with the gradient and the counts zero again. */
static void test_path_scatter_m(void **state) {
    (void)state;
    long_setup();
    for (int k = 0; k < LH; k++)
        LW[LPAD * LH + k] = 0.0f;
    static float h2[3 * LH], g2[LN], ga[LV * LH], gb[LV * LH], want[LV * LH], Wa[LV * LH], Wb[LV * LH];
    for (int k = 0; k < 3 * LH; k++)
        h2[k] = (float)((k * 5) % 13 - 6) / 7.0f;
    for (int k = 0; k < LN; k++)
        g2[k] = Lids[k] == LPAD ? NAN : (float)(k % 7 - 3) / 8.0f;
    const float *gs[2] = {Lg, g2}, *hs[2] = {Lh, h2};
    memset(ga, 0, sizeof ga);
    memset(want, 0, sizeof want);
    int32_t touched[LN];
    int64_t nt = 0;
    nnrt_path_scatter_m(ga, LH, Lids, LN, Ln, LPAD, 2, gs, hs, touched, &nt);
    int listed[LV] = {0};
    for (int64_t t = 0; t < nt; t++)
        listed[touched[t]]++;
    for (int r = 0; r < LN; r++) { /* the order: row by row, the two segments' products in turn */
        const int p = r / Ln;
        const int gone = past_end(Lids, Ln, r, LPAD);
        if (gone)
            continue;
        for (int k = 0; k < LH; k++) {
            want[Lids[r] * LH + k] += Lg[r] * Lh[p * LH + k];
            want[Lids[r] * LH + k] += g2[r] * h2[p * LH + k];
        }
    }
    assert_memory_equal(ga, want, sizeof ga);
    for (int v = 0; v < LV; v++) {
        int used = 0;
        for (int r = 0; r < LN; r++)
            used |= Lids[r] == v && v != LPAD;
        assert_int_equal(listed[v], used);
        for (int k = 0; k < LH; k++) {
            double sum = 0;
            for (int r = 0; r < LN; r++) {
                const int gone = past_end(Lids, Ln, r, LPAD);
                if (!gone && Lids[r] == v)
                    sum += (double)Lg[r] * Lh[(r / Ln) * LH + k] + (double)g2[r] * h2[(r / Ln) * LH + k];
            }
            assert_true(fabs(ga[v * LH + k] - sum) < 1e-5);
        }
    }
    const float lr = 0.1f;
    memcpy(Wa, LW, sizeof Wa);
    memcpy(Wb, LW, sizeof Wb);
    memset(gb, 0, sizeof gb);
    nnrt_sgd_update_ids_clear(Wa, ga, LH, touched, nt, lr);
    int32_t left[LV] = {0};
    nnrt_path_count(Lids, LN, Ln, LPAD, left); /* (once: the rows' visits) */
    nnrt_path_scatter_sgd_m(Wb, gb, LH, Lids, LN, Ln, LPAD, 2, gs, hs, left, lr);
    assert_memory_equal(Wb, Wa, sizeof Wa);
    for (int k = 0; k < LV * LH; k++)
        assert_true(gb[k] == 0.0f);
    for (int v = 0; v < LV; v++)
        assert_int_equal(left[v], 0);
}

/* Ensure path_scatter_sgd_m on rows of 149 floats (the kernel's blocks of
 * 128 and of 16, then a tail of 5) leaves what path_scatter_m and the
 * clearing SGD leave, bit for bit, and W - lr sum g h to rounding: row 6
 * in all three paths (a first, a middle and a last visit), row 2 in two,
 * the rest in one; three segments. */
static void test_path_scatter_m_wide(void **state) {
    (void)state;
    enum { H = 149, V = 8, n = 4, N = 12, PAD = V - 1, M = 3 };
    static const int32_t ids[N] = {6, 2, 5, PAD, 6, 3, PAD, PAD, 6, 2, 1, 4};
    static float W[V * H], Wa[V * H], Wb[V * H], ga[V * H], gb[V * H], hh[M][3 * H], gg[M][N];
    uint32_t r = 777;
    for (int k = 0; k < V * H; k++) {
        r = r * 1664525u + 1013904223u;
        W[k] = (float)((int)(r >> 9) % 2001 - 1000) / 1003.0f;
    }
    for (int q = 0; q < M; q++) {
        for (int k = 0; k < 3 * H; k++) {
            r = r * 1664525u + 1013904223u;
            hh[q][k] = (float)((int)(r >> 9) % 2001 - 1000) / 997.0f;
        }
        for (int k = 0; k < N; k++)
            gg[q][k] = ids[k] == PAD ? NAN : (float)((k * 3 + q) % 7 - 3) / 5.0f;
    }
    const float *gs[M] = {gg[0], gg[1], gg[2]}, *hs[M] = {hh[0], hh[1], hh[2]}, lr = 0.05f;
    memcpy(Wa, W, sizeof W);
    memcpy(Wb, W, sizeof W);
    memset(ga, 0, sizeof ga);
    memset(gb, 0, sizeof gb);
    int32_t touched[N], left[V] = {0};
    int64_t nt = 0;
    nnrt_path_scatter_m(ga, H, ids, N, n, PAD, M, gs, hs, touched, &nt);
    nnrt_sgd_update_ids_clear(Wa, ga, H, touched, nt, lr);
    nnrt_path_count(ids, N, n, PAD, left);
    assert_int_equal(left[6], 3);
    assert_int_equal(left[2], 2);
    nnrt_path_scatter_sgd_m(Wb, gb, H, ids, N, n, PAD, M, gs, hs, left, lr);
    assert_memory_equal(Wb, Wa, sizeof Wa);
    for (int k = 0; k < V * H; k++)
        assert_true(gb[k] == 0.0f);
    for (int v = 0; v < V; v++) {
        assert_int_equal(left[v], 0);
        for (int k = 0; k < H; k++) {
            double sum = 0;
            for (int e = 0; e < N; e++) {
                const int gone = past_end(ids, n, e, PAD);
                for (int q = 0; q < M && !gone && ids[e] == v; q++)
                    sum += (double)gg[q][e] * hh[q][(e / n) * H + k];
            }
            assert_true(fabs(Wb[v * H + k] - (W[v * H + k] - lr * sum)) < 1e-5);
        }
    }
}

/* Ensure hier_fill writes a word's path (or its labels, 1 - code) root
 * first, then pad to n: the tree of counts {5, 3, 1, 1} by hand. */
static void test_hier_fill(void **state) {
    (void)state;
    const int64_t counts[4] = {5, 3, 1, 1};
    nnrt_huffman t;
    assert_int_equal(nnrt_huffman_build(&t, counts, 4), 0);
    for (int64_t y = 0; y < 4; y++) {
        int32_t p[6], l[6];
        nnrt_hier_fill(&t, y, p, 6, 3, 0);
        nnrt_hier_fill(&t, y, l, 6, -1, 1);
        const int64_t o = t.off[y], len = t.off[y + 1] - o;
        assert_true(len >= 1 && len <= 3);
        for (int64_t j = 0; j < 6; j++) {
            assert_int_equal(p[j], j < len ? t.point[o + j] : 3);
            assert_int_equal(l[j], j < len ? 1 - t.code[o + j] : -1);
        }
        assert_int_equal(p[0], 2); /* the root: inner node V - 2 */
    }
    /* word 0 (count 5): one node, the root; words 2 and 3: three nodes */
    assert_int_equal(t.off[1] - t.off[0], 1);
    assert_int_equal(t.off[3] - t.off[2], 3);
    nnrt_huffman_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_dot),
        cmocka_unit_test(test_path_wsum),
        cmocka_unit_test(test_path_scatter),
        cmocka_unit_test(test_full_and_empty),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_long_dot),
        cmocka_unit_test(test_long_wsum),
        cmocka_unit_test(test_path_scatter_sgd),
        cmocka_unit_test(test_path_scatter_m),
        cmocka_unit_test(test_path_scatter_m_wide),
        cmocka_unit_test(test_hier_fill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
