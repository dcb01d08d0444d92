/*
 * test_rt_optim.c - the optimizers' update rules (runtime/optim.c) against
 * values printed by PyTorch 1.13 (torch.optim.SGD, Adam, Adagrad with lr 0.1,
 * two steps on w = [1, -2, 0.5, 3] with the gradients G1 then G2 below),
 * and optimizer state in checkpoints (nnrt_save_params/nnrt_load_params).
 */
#include "rt_testutil.h"

#include <math.h>

#include "nngrt.h"
#include "nnrt_abi.h"

static const float W0[4] = {1.0f, -2.0f, 0.5f, 3.0f};
static const float G1[4] = {0.1f, -0.3f, 0.0f, 2.0f};
static const float G2[4] = {0.2f, 0.1f, 0.0f, -1.0f};

static void assert_close(const float *got, const double *want, int n, double tol) {
    for (int i = 0; i < n; i++) {
        if (fabs((double)got[i] - want[i]) > tol * (1.0 + fabs(want[i])))
            fail_msg("element %d: got %.9g, want %.9g", i, (double)got[i], want[i]);
    }
}

/* Ensure SGD is w -= lr g, as torch.optim.SGD. */
static void test_sgd(void **state) {
    (void)state;
    float w[4];
    memcpy(w, W0, sizeof w);
    nnrt_sgd_update(w, G1, 4, 0.1f);
    nnrt_sgd_update(w, G2, 4, 0.1f);
    const double want[4] = {0.970000029, -1.98000002, 0.5, 2.89999986};
    assert_close(w, want, 4, 1e-6);
}

/* Ensure the sparse SGD leaves rows with an all-zero gradient bit for bit
 * as they were (even -0.0 and NaN), and updates the others like SGD. */
static void test_sgd_rows(void **state) {
    (void)state;
    float w[6] = {-0.0f, NAN, 1.0f, 2.0f, 3.0f, 4.0f};
    const float g[6] = {0, 0, 1, 0, 0, 0};
    float before[6];
    memcpy(before, w, sizeof w);
    nnrt_sgd_update_rows(w, g, 3, 2, 0.5f);
    assert_memory_equal(w, before, 2 * sizeof(float)); /* row 0 untouched */
    assert_true(w[2] == 0.5f && w[3] == 2.0f);
    assert_memory_equal(w + 4, before + 4, 2 * sizeof(float));
}

/* Ensure the listed-rows SGD updates each listed row once however often
 * and in whatever order it is listed (w - 0.5 g, worked out by hand),
 * leaves unlisted rows bit-identical (even NaN and -0), and takes an empty
 * list. */
static void test_sgd_ids(void **state) {
    (void)state;
    float w[8] = {-0.0f, NAN, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
    const float g[8] = {9, 9, 1, 2, 9, 9, 4, -2};
    float before[8];
    memcpy(before, w, sizeof w);
    int32_t ids[5] = {3, 1, 3, 1, 3}; /* rows 3 and 1 of a [4, 2] table */
    nnrt_sgd_update_ids(w, g, 2, ids, 5, 0.5f);
    assert_memory_equal(w, before, 2 * sizeof(float)); /* row 0 */
    assert_true(w[2] == 0.5f && w[3] == 1.0f);         /* row 1: once */
    assert_memory_equal(w + 4, before + 4, 2 * sizeof(float));
    assert_true(w[6] == 3.0f && w[7] == 7.0f); /* row 3: once */
    nnrt_sgd_update_ids(w, g, 2, ids, 0, 0.5f);
    assert_true(w[6] == 3.0f);
    /* the same again: the rows done are forgotten between calls */
    nnrt_sgd_update_ids(w, g, 2, ids, 5, 0.5f);
    assert_true(w[2] == 0.0f && w[3] == 0.0f && w[6] == 1.0f && w[7] == 8.0f);
    /* rows past the bitmap of rows done (65536): the sorted path */
    enum { BIG = 70000 };
    float *wb = calloc(BIG, sizeof *wb), *gb = calloc(BIG, sizeof *gb);
    assert_non_null(wb);
    assert_non_null(gb);
    gb[5] = 2.0f, gb[BIG - 1] = 4.0f;
    int32_t big[4] = {BIG - 1, 5, BIG - 1, 5};
    nnrt_sgd_update_ids(wb, gb, 1, big, 4, 0.5f);
    assert_true(wb[5] == -1.0f && wb[BIG - 1] == -2.0f && wb[6] == 0.0f);
    free(wb);
    free(gb);
}

/* Ensure the clearing variant moves each listed row once (w - 0.5 g, by
 * hand, as nnrt_sgd_update_ids), zeroes exactly the listed gradient rows,
 * leaves the rest bit-identical, and needs no sort past 65536 rows. */
static void test_sgd_ids_clear(void **state) {
    (void)state;
    float w[8] = {-0.0f, NAN, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
    float g[8] = {9, 9, 1, 2, 9, 9, 4, -2}, before[8];
    memcpy(before, w, sizeof w);
    const int32_t ids[5] = {3, 1, 3, 1, 3};
    nnrt_sgd_update_ids_clear(w, g, 2, ids, 5, 0.5f);
    assert_memory_equal(w, before, 2 * sizeof(float));
    assert_true(w[2] == 0.5f && w[3] == 1.0f && w[6] == 3.0f && w[7] == 7.0f); /* once each */
    assert_memory_equal(w + 4, before + 4, 2 * sizeof(float));
    assert_true(g[0] == 9 && g[1] == 9 && g[4] == 9 && g[5] == 9); /* unlisted: kept */
    assert_true(g[2] == 0 && g[3] == 0 && g[6] == 0 && g[7] == 0);  /* listed: cleared */
    enum { BIG = 70000 };
    float *wb = calloc(BIG, sizeof *wb), *gb = calloc(BIG, sizeof *gb);
    assert_non_null(wb);
    assert_non_null(gb);
    gb[5] = 2.0f, gb[BIG - 1] = 4.0f;
    const int32_t big[4] = {BIG - 1, 5, BIG - 1, 5};
    nnrt_sgd_update_ids_clear(wb, gb, 1, big, 4, 0.5f);
    assert_true(wb[5] == -1.0f && wb[BIG - 1] == -2.0f && wb[6] == 0.0f && gb[5] == 0.0f && gb[BIG - 1] == 0.0f);
    free(wb);
    free(gb);
}

/* Ensure nnrt_rows_scatter_sgd leaves W, the gradient and its counts as
 * nnrt_rows_scatter (or a scatter_add of whole rows) into a zero gradient,
 * then nnrt_sgd_update_ids_clear on the ids, would: bit for bit, with ids
 * that come once and ids that come two, three and four times, scales and
 * rows of every sign and size (so that lr (g h) and (lr g) h differ). */
static void test_rows_scatter_sgd(void **state) {
    (void)state;
    enum { V = 16, H = 11, N = 24, n = 6 };
    const int32_t ids[N] = {3, 7, 3, 9, 0, 15, 7, 3, 12, 1, 5, 6, 2, 3, 8, 13, 11, 4, 10, 14, 9, 7, 2, 1};
    static float W1[V * H], W2[V * H], g1[V * H], g2[V * H], gs[N], h[N * H];
    int32_t left[V] = {0};
    uint64_t x = 12345;
    for (int i = 0; i < V * H; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        W1[i] = W2[i] = (float)((int64_t)(x >> 33) % 20001 - 10000) / 3777.0f;
    }
    for (int i = 0; i < N * H; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        h[i] = (float)((int64_t)(x >> 33) % 20001 - 10000) / 1234.5f;
    }
    for (int r = 0; r < N; r++)
        gs[r] = (float)(r % 5 - 2) * 0.37f + 0.011f * (float)r;
    for (int form = 0; form < 2; form++) { /* gs[r] h[r / n]; then rows h[r] (gs NULL) */
        const float lr = form ? 0.0731f : 0.1f;
        nnrt_rows_scatter_sgd(W1, g1, H, ids, N, form ? 1 : n, form ? NULL : gs, h, left, lr);
        if (form) {
            for (int r = 0; r < N; r++)
                for (int k = 0; k < H; k++)
                    g2[ids[r] * H + k] += h[r * H + k];
        } else {
            nnrt_rows_scatter(g2, H, ids, N, n, gs, h);
        }
        nnrt_sgd_update_ids_clear(W2, g2, H, ids, N, lr);
        assert_memory_equal(W1, W2, sizeof W1);
        assert_memory_equal(g1, g2, sizeof g1); /* all zero */
        for (int i = 0; i < V; i++)
            assert_int_equal(left[i], 0);
    }
    int moved = 0; /* and the rows did move */
    uint64_t y = 12345;
    for (int i = 0; i < V * H; i++) {
        y = y * 6364136223846793005u + 1442695040888963407u;
        moved += W1[i] != (float)((int64_t)(y >> 33) % 20001 - 10000) / 3777.0f;
    }
    assert_true(moved > V * H / 2);
}

/* Ensure Adam matches torch.optim.Adam (bias-corrected; a zero gradient
 * with zero state leaves the weight alone), state included. */
static void test_adam(void **state) {
    (void)state;
    float w[4], m[4] = {0}, v[4] = {0};
    memcpy(w, W0, sizeof w);
    nnrt_adam_update(w, G1, m, v, 4, 0.1f, 0.9f, 0.999f, 1e-8f, 1);
    nnrt_adam_update(w, G2, m, v, 4, 0.1f, 0.9f, 0.999f, 1e-8f, 2);
    const double want[4] = {0.803481758, -1.85997808, 0.5, 2.87336636};
    const double want_m[4] = {0.029000001028180122, -0.017000000923871994, 0.0, 0.07999999076128006};
    const double want_v[4] = {4.999000157113187e-05, 9.991001570597291e-05, 0.0, 0.004996000323444605};
    assert_close(w, want, 4, 1e-6);
    assert_close(m, want_m, 4, 1e-6);
    assert_close(v, want_v, 4, 1e-6);
}

/* Ensure Adagrad matches torch.optim.Adagrad (accumulator from 0, eps
 * added after the square root). */
static void test_adagrad(void **state) {
    (void)state;
    float w[4], s[4] = {0};
    memcpy(w, W0, sizeof w);
    nnrt_adagrad_update(w, G1, s, 4, 0.1f, 1e-10f);
    nnrt_adagrad_update(w, G2, s, 4, 0.1f, 1e-10f);
    const double want[4] = {0.810557246, -1.93162274, 0.5, 2.94472146};
    assert_close(w, want, 4, 1e-6);
}

/* A model with one param w [4] and Adam state m, v, step, the way nngc
 * generates its descriptor. */
typedef struct Adamish {
    float w[4], m[4], v[4], step;
} Adamish;

static float *am_param(void *p, int i) {
    return i == 0 ? ((Adamish *)p)->w : NULL;
}
static float *am_state(void *p, int i) {
    Adamish *a = p;
    return i == 0 ? a->m : i == 1 ? a->v : &a->step;
}

static const nnrt_tensor_desc am_params[] = {{"w", NNRT_F32, 1, {{4, {0}}}, "[4]"}};
static const nnrt_tensor_desc am_states[] = {{"__opt__/w/m", NNRT_F32, 1, {{4, {0}}}, "[4]"},
                                             {"__opt__/w/v", NNRT_F32, 1, {{4, {0}}}, "[4]"},
                                             {"__opt__/step", NNRT_F32, 0, {{0, {0}}}, "[]"}};

/* Ensure the state is saved under its reserved names and restored exactly;
 * that a model without state (SGD) loads such a file and ignores it; and
 * that a file without state leaves the state alone. */
static void test_state_checkpoint(void **state) {
    (void)state;
    char dir[256], path[300], path2[300];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/adam.safetensors", dir);
    snprintf(path2, sizeof path2, "%s/sgd.safetensors", dir);
    nnrt_model_desc adam = {.name = "am", .nparams = 1, .params = am_params, .param_data = am_param,
                            .nstate = 3, .state = am_states, .state_data = am_state};
    nnrt_model_desc sgd = {.name = "am", .nparams = 1, .params = am_params, .param_data = am_param};
    Adamish a = {{1, 2, 3, 4}, {0}, {0}, 0};
    nnrt_adam_update(a.w, G1, a.m, a.v, 4, 0.1f, 0.9f, 0.999f, 1e-8f, 1);
    a.step = 1;
    assert_int_equal(nnrt_save_params(&adam, &a, path), NNRT_OK);

    nnrt_safetensors st;
    assert_int_equal(nnrt_st_read(path, &st), NNRT_OK);
    assert_int_equal(st.n, 4);
    assert_non_null(nnrt_st_find(&st, "__opt__/w/v"));
    assert_true(nnrt_st_find(&st, "__opt__/step")->data[0] == 1.0f);
    nnrt_st_free(&st);

    Adamish b = {{0}, {9, 9, 9, 9}, {9, 9, 9, 9}, 9};
    int n = -1;
    assert_int_equal(nnrt_load_params(&adam, &b, path, 1, &n), NNRT_OK);
    assert_int_equal(n, 1); /* params counted, not state */
    assert_memory_equal(&a, &b, sizeof a);

    Adamish c = {{0}, {7, 7, 7, 7}, {0}, 0};
    assert_int_equal(nnrt_load_params(&sgd, &c, path, 1, NULL), NNRT_OK);
    assert_memory_equal(c.w, a.w, sizeof a.w);
    assert_true(c.m[0] == 7.0f); /* not the model's: untouched */

    assert_int_equal(nnrt_save_params(&sgd, &a, path2), NNRT_OK);
    Adamish d = b;
    d.step = 5;
    assert_int_equal(nnrt_load_params(&adam, &d, path2, 1, NULL), NNRT_OK);
    assert_true(d.step == 5.0f && d.m[1] == b.m[1]);
    remove_tmpdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd),
        cmocka_unit_test(test_sgd_rows),
        cmocka_unit_test(test_sgd_ids),
        cmocka_unit_test(test_sgd_ids_clear),
        cmocka_unit_test(test_rows_scatter_sgd),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_adagrad),
        cmocka_unit_test(test_state_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
