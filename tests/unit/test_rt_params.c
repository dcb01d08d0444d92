/*
 * test_rt_params.c - nnrt_save_params / nnrt_load_params over a model
 * descriptor written by hand here (as nngc would generate it), loading the
 * independent fixture tests/data/safetensors/ref.safetensors (W [3, 4],
 * b [3], s [], "embé" [2, 2]; values restated as formulas below).
 */
#include "rt_testutil.h"

#include "nngrt.h"

typedef struct Toy {
    float W[12], b[3], s[1], e[4], extra[2];
} Toy;

/* Finds a param's storage by name, so one function serves every
 * descriptor variant below. */
static const nnrt_model_desc *current;
static float *toy_param(void *m, int i) {
    Toy *t = m;
    const char *n = current->params[i].name;
    return !strcmp(n, "W") ? t->W : !strcmp(n, "b") ? t->b : !strcmp(n, "s") ? t->s
         : !strcmp(n, "extra") ? t->extra : t->e;
}

#define P1(name, a) {name, NNRT_F32, 1, {{a, {0}}}, "[" #a "]"}
#define P2(name, a, b) {name, NNRT_F32, 2, {{a, {0}}, {b, {0}}}, "[" #a ", " #b "]"}
#define P0(name) {name, NNRT_F32, 0, {{0, {0}}}, "[]"}

static const nnrt_tensor_desc full[] = {P2("W", 3, 4), P1("b", 3), P0("s"), P2("emb\xc3\xa9", 2, 2)};
static const nnrt_tensor_desc with_extra[] = {P2("W", 3, 4), P1("b", 3), P0("s"),
                                              P2("emb\xc3\xa9", 2, 2), P1("extra", 2)};
static const nnrt_tensor_desc no_s[] = {P2("W", 3, 4), P1("b", 3), P2("emb\xc3\xa9", 2, 2)};
static const nnrt_tensor_desc w_transposed[] = {P2("W", 4, 3), P1("b", 3), P0("s"),
                                                P2("emb\xc3\xa9", 2, 2)};

static nnrt_model_desc desc(const nnrt_tensor_desc *params, int n) {
    nnrt_model_desc d = {.name = "toy", .nparams = n, .params = params, .param_data = toy_param};
    return d;
}

static void fill(Toy *t, float v) {
    float *f = (float *)t;
    for (size_t i = 0; i < sizeof *t / sizeof(float); i++)
        f[i] = v;
}

/* Ensure the fixture loads into the matching model with exact values. */
static void test_load_reference(void **state) {
    (void)state;
    nnrt_model_desc d = desc(full, 4);
    current = &d;
    Toy t;
    fill(&t, 99.0f);
    int n = -1;
    assert_int_equal(nnrt_load_params(&d, &t, data_path("safetensors/ref.safetensors"), 1, &n),
                     NNRT_OK);
    assert_int_equal(n, 4);
    for (int i = 0; i < 12; i++)
        assert_true(t.W[i] == i * 0.25f);
    assert_true(t.b[0] == 1.5f && t.b[1] == -2.0f && t.b[2] == 3.0f);
    assert_true(t.s[0] == 7.0f);
    for (int i = 0; i < 4; i++)
        assert_true(t.e[i] == (float)-i);
    assert_true(t.extra[0] == 99.0f);
}

/* Ensure a param missing from the file is an error only with require_all,
 * and names the param. */
static void test_load_missing(void **state) {
    (void)state;
    nnrt_model_desc d = desc(with_extra, 5);
    current = &d;
    Toy t;
    fill(&t, 99.0f);
    int n = -1;
    const char *ref = data_path("safetensors/ref.safetensors");
    assert_int_equal(nnrt_load_params(&d, &t, ref, 1, &n), NNRT_ERR_ARG);
    assert_error_contains("param 'extra' of model toy is missing");
    assert_int_equal(n, 0);
    assert_true(t.W[1] == 99.0f); /* nothing copied on failure */
    assert_int_equal(nnrt_load_params(&d, &t, ref, 0, &n), NNRT_OK);
    assert_int_equal(n, 4);
    assert_true(t.W[1] == 0.25f && t.extra[1] == 99.0f);
}

/* Ensure a tensor the model lacks, or of the wrong shape, is an error
 * naming it, and leaves every param untouched. */
static void test_load_mismatch(void **state) {
    (void)state;
    const char *ref = data_path("safetensors/ref.safetensors");
    Toy t;
    fill(&t, 99.0f);
    nnrt_model_desc d = desc(no_s, 3);
    current = &d;
    assert_int_equal(nnrt_load_params(&d, &t, ref, 0, NULL), NNRT_ERR_ARG);
    assert_error_contains("tensor 's' is not a param of model toy");

    d = desc(w_transposed, 4);
    current = &d;
    assert_int_equal(nnrt_load_params(&d, &t, ref, 0, NULL), NNRT_ERR_SHAPE);
    assert_error_contains("tensor 'W' has shape [3, 4] but param 'W' of model toy has shape [4, 3]");
    float *f = (float *)&t;
    for (size_t i = 0; i < sizeof t / sizeof(float); i++)
        assert_true(f[i] == 99.0f);

    d = desc(full, 4);
    current = &d;
    assert_int_equal(nnrt_load_params(&d, &t, "no/such/file.safetensors", 0, NULL), NNRT_ERR_IO);
    assert_int_equal(nnrt_load_params(NULL, &t, ref, 0, NULL), NNRT_ERR_ARG);
    assert_int_equal(nnrt_load_params(&d, NULL, ref, 0, NULL), NNRT_ERR_ARG);
}

/* Ensure save then load restores every param exactly. */
static void test_save_load(void **state) {
    (void)state;
    char dir[512], path[600];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/p.safetensors", dir);
    nnrt_model_desc d = desc(with_extra, 5);
    current = &d;
    Toy a, b;
    float *f = (float *)&a;
    for (size_t i = 0; i < sizeof a / sizeof(float); i++)
        f[i] = (float)i * 1.25f - 3.0f;
    fill(&b, 0.0f);
    assert_int_equal(nnrt_save_params(&d, &a, path), NNRT_OK);
    int n = 0;
    assert_int_equal(nnrt_load_params(&d, &b, path, 1, &n), NNRT_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(&a, &b, sizeof a);

    nnrt_safetensors st;
    assert_int_equal(nnrt_st_read(path, &st), NNRT_OK);
    assert_int_equal(st.n, 5);
    assert_non_null(nnrt_st_find(&st, "extra"));
    assert_int_equal(nnrt_st_find(&st, "s")->rank, 0);
    nnrt_st_free(&st);
    remove_tmpdir(dir);
}

/* Ensure np.savez's file (tests/data/npz/ref.npz: the same arrays as
 * ref.safetensors, b in float64) loads exactly like the safetensors one,
 * with the missing params reported; a .npy is refused, named as one. */
static void test_load_npz(void **state) {
    (void)state;
    nnrt_model_desc d = desc(with_extra, 5);
    current = &d;
    Toy t;
    fill(&t, 99.0f);
    unsigned char missing[5] = {9, 9, 9, 9, 9};
    int n = -1;
    assert_int_equal(nnrt_load_params_report(&d, &t, data_path("npz/ref.npz"), missing, &n), NNRT_OK);
    assert_int_equal(n, 4);
    for (int i = 0; i < 12; i++)
        assert_true(t.W[i] == i * 0.25f);
    assert_true(t.b[0] == 1.5f && t.b[1] == -2.0f && t.b[2] == 3.0f && t.s[0] == 7.0f);
    for (int i = 0; i < 4; i++)
        assert_true(t.e[i] == (float)-i);
    assert_true(t.extra[0] == 99.0f && t.extra[1] == 99.0f);
    const unsigned char want[5] = {0, 0, 0, 0, 1}; /* extra */
    assert_memory_equal(missing, want, 5);

    fill(&t, 99.0f);
    assert_int_equal(nnrt_load_params(&d, &t, data_path("npy/f32_2d.npy"), 0, NULL), NNRT_ERR_FORMAT);
    assert_error_contains("npy/f32_2d.npy is a .npy file, not safetensors");
    assert_int_equal(nnrt_load_params(&d, &t, data_path("npz/ids.npz"), 0, NULL), NNRT_ERR_SHAPE);
    assert_error_contains("member 'ids.npy' holds int32 data");
    assert_true(t.W[0] == 99.0f);
}

/* Ensure a frozen param missing from the file is an error even without
 * require_all (nothing is copied), while a missing trainable one is not. */
static void test_load_missing_frozen(void **state) {
    (void)state;
    const unsigned char frozen_extra[5] = {0, 0, 0, 0, 1}, frozen_W[5] = {1, 0, 0, 0, 0};
    nnrt_model_desc d = desc(with_extra, 5);
    d.frozen = frozen_extra;
    current = &d;
    Toy t;
    fill(&t, 99.0f);
    const char *ref = data_path("safetensors/ref.safetensors");
    unsigned char missing[5];
    assert_int_equal(nnrt_load_params_report(&d, &t, ref, missing, NULL), NNRT_ERR_ARG);
    assert_error_contains("frozen param 'extra' of model toy is missing from the file");
    assert_true(t.W[1] == 99.0f);
    assert_int_equal(nnrt_load_params(&d, &t, ref, 0, NULL), NNRT_ERR_ARG);
    d.frozen = frozen_W; /* W is in the file: fine */
    assert_int_equal(nnrt_load_params_report(&d, &t, ref, missing, NULL), NNRT_OK);
    assert_true(t.W[1] == 0.25f && missing[4] == 1 && missing[0] == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_reference),
        cmocka_unit_test(test_load_missing),
        cmocka_unit_test(test_load_mismatch),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_load_npz),
        cmocka_unit_test(test_load_missing_frozen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
