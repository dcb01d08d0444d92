/*
 * test_rt_npy.c - the .npy reader and writer.
 *
 * Readers are checked on files written by real NumPy
 * (tests/data/make_npy_fixtures.py; each array's values are a formula
 * stated again here), the writer by comparing its bytes with np.save's for
 * the same array, and the reader's defences with broken files built here.
 */
#include "rt_testutil.h"

#include <float.h>
#include <math.h>

#include "nngrt.h"


/* Ensure NumPy's f32 2-D, 4-D, 0-d, empty, v2.0 and v3.0 files read with
 * the right shapes and exact values. */
static void test_read_f32(void **state) {
    (void)state;
    nnrt_array a;
    assert_int_equal(nnrt_npy_read(data_path("npy/f32_2d.npy"), &a), NNRT_OK);
    assert_int_equal(a.dtype, NNRT_F32);
    assert_int_equal(a.rank, 2);
    assert_int_equal(a.shape[0], 3);
    assert_int_equal(a.shape[1], 4);
    assert_int_equal(a.count, 12);
    for (int i = 0; i < 12; i++) /* arange(12) * 0.5 - 1 */
        assert_true(((float *)a.data)[i] == i * 0.5f - 1.0f);
    nnrt_array_free(&a);

    assert_int_equal(nnrt_npy_read(data_path("npy/f32_4d.npy"), &a), NNRT_OK);
    assert_int_equal(a.rank, 4);
    assert_true(a.shape[0] == 2 && a.shape[1] == 1 && a.shape[2] == 3 && a.shape[3] == 2);
    for (int i = 0; i < 12; i++)
        assert_true(((float *)a.data)[i] == (float)i);
    nnrt_array_free(&a);

    assert_int_equal(nnrt_npy_read(data_path("npy/f32_0d.npy"), &a), NNRT_OK);
    assert_int_equal(a.rank, 0);
    assert_int_equal(a.count, 1);
    assert_true(((float *)a.data)[0] == 3.25f);
    nnrt_array_free(&a);

    assert_int_equal(nnrt_npy_read(data_path("npy/f32_empty.npy"), &a), NNRT_OK);
    assert_int_equal(a.rank, 2);
    assert_true(a.shape[0] == 0 && a.shape[1] == 3 && a.count == 0);
    nnrt_array_free(&a);

    const char *versions[] = {"npy/f32_v2.npy", "npy/f32_v3.npy"};
    for (int v = 0; v < 2; v++) {
        assert_int_equal(nnrt_npy_read(data_path(versions[v]), &a), NNRT_OK);
        assert_true(a.rank == 2 && a.shape[0] == 2 && a.shape[1] == 3);
        for (int i = 0; i < 6; i++) /* arange(6) + 0.5 */
            assert_true(((float *)a.data)[i] == i + 0.5f);
        nnrt_array_free(&a);
    }
}

/* Ensure '<i4' reads as is and '<i8' is narrowed to int32, extremes kept. */
static void test_read_int(void **state) {
    (void)state;
    nnrt_array a;
    const int32_t i4[5] = {3, -1, 0, INT32_MAX, INT32_MIN};
    assert_int_equal(nnrt_npy_read(data_path("npy/i4_1d.npy"), &a), NNRT_OK);
    assert_int_equal(a.dtype, NNRT_I32);
    assert_true(a.rank == 1 && a.shape[0] == 5);
    assert_memory_equal(a.data, i4, sizeof i4);
    nnrt_array_free(&a);

    const int32_t i8[5] = {1, -2, 30000, INT32_MIN, INT32_MAX};
    assert_int_equal(nnrt_npy_read(data_path("npy/i8_1d.npy"), &a), NNRT_OK);
    assert_int_equal(a.dtype, NNRT_I32);
    assert_true(a.rank == 1 && a.shape[0] == 5);
    assert_memory_equal(a.data, i8, sizeof i8);
    nnrt_array_free(&a);
}

/* Ensure '<f8' (NumPy's default dtype) reads as float32: NumPy's own file
 * [1.0, 2.0], then hand-built bytes with values that round (0.1 to the
 * float nearest 0.1), stay special (NaN, +-inf), underflow (1e-50 to 0) or
 * are float32's largest; a finite value beyond float32 is an error naming
 * the file and the element. */
static void test_read_f8(void **state) {
    (void)state;
    nnrt_array a;
    assert_int_equal(nnrt_npy_read(data_path("npy/f8.npy"), &a), NNRT_OK);
    assert_int_equal(a.dtype, NNRT_F32);
    assert_true(a.rank == 1 && a.shape[0] == 2);
    assert_true(((float *)a.data)[0] == 1.0f && ((float *)a.data)[1] == 2.0f);
    nnrt_array_free(&a);

    const char *hdr = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    double v[6] = {0.1, -2.5, NAN, INFINITY, -INFINITY, 1e-50};
    unsigned char b[10 + 64 + sizeof v];
    memset(b, ' ', sizeof b);
    memcpy(b, "\x93NUMPY\x01\x00\x40\x00", 10);
    memcpy(b + 10, hdr, strlen(hdr));
    b[10 + 63] = '\n';
    memcpy(b + 74, v, sizeof v); /* the host is little-endian, as the runtime requires */
    const char *path = tmp_path("f8.npy");
    write_bytes(path, b, sizeof b);
    assert_int_equal(nnrt_npy_read(path, &a), NNRT_OK);
    const float *x = a.data;
    assert_true(a.rank == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.count == 6);
    assert_true(x[0] == 0.1f && x[1] == -2.5f && isnan(x[2]));
    assert_true(isinf(x[3]) && x[3] > 0 && isinf(x[4]) && x[4] < 0 && x[5] == 0.0f);
    nnrt_array_free(&a);

    v[1] = FLT_MAX;
    v[4] = -3.5e38;
    memcpy(b + 74, v, sizeof v);
    write_bytes(path, b, sizeof b);
    assert_int_equal(nnrt_npy_read(path, &a), NNRT_ERR_RANGE);
    assert_null(a.data);
    assert_error_contains(path);
    assert_error_contains("element 4 (-3.5e+38) is beyond float32's range");
}

/* Ensure NumPy files we do not take are refused with a message naming the
 * file and the problem. */
static void test_read_rejects_fixtures(void **state) {
    (void)state;
    static const struct {
        const char *file;
        int code;
        const char *msg;
    } cases[] = {
        {"npy/i8_big.npy", NNRT_ERR_RANGE, "value 2147483648 at index 2"},
        {"npy/f32_be.npy", NNRT_ERR_FORMAT, "'>f4'"},
        {"npy/b1.npy", NNRT_ERR_FORMAT, "'|b1'"},
        {"npy/fortran.npy", NNRT_ERR_FORMAT, "Fortran"},
        {"npy/f32_5d.npy", NNRT_ERR_FORMAT, "more than 4 dims"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nnrt_array a;
        assert_int_equal(nnrt_npy_read(data_path(cases[i].file), &a), cases[i].code);
        assert_null(a.data);
        assert_error_contains(cases[i].file);
        assert_error_contains(cases[i].msg);
    }
}

/* Builds a v1.0 .npy file from a header text and ndata bytes of zeros. */
static void write_npy_raw(const char *path, const char *header, size_t ndata) {
    size_t hl = strlen(header), n = 10 + hl + ndata;
    unsigned char *b = calloc(1, n);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)(hl & 0xff);
    b[9] = (unsigned char)(hl >> 8);
    memcpy(b + 10, header, hl);
    write_bytes(path, b, n);
    free(b);
}

/* Ensure broken headers and short files are refused cleanly. */
static void test_read_hostile(void **state) {
    (void)state;
    static const struct {
        const char *header;
        size_t ndata;
        const char *msg;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 7, "truncated"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 9, "unexpected bytes"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,) \n", 8, "expected ','"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (2,), }\n", 8, "expected ','"},
        {"{'descr': '<f4', 'shape': (2,), }\n", 8, "missing key 'fortran_order'"},
        {"{'fortran_order': False, 'shape': (2,), }\n", 8, "missing key 'descr'"},
        {"{'descr': '<f4', 'fortran_order': False, }\n", 8, "missing key 'shape'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8,
         "duplicate key"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n", 8, "unknown key"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }\n", 8, "True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2), }\n", 8, "not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }\n", 8, "negative"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n", 0,
         "too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n", 0,
         "too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2305843009213693952,), }\n", 0,
         "too large"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }\n", 8, "expected ','"},
        {"{'descr': '<f\\4', 'fortran_order': False, 'shape': (2,), }\n", 8, "unexpected character"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n garbage", 8, "garbage"},
        {"", 0, "expected '{'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
         "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
         "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1), }\n",
         4, "more than 4 dims"},
    };
    const char *path = tmp_path("bad.npy");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_npy_raw(path, cases[i].header, cases[i].ndata);
        nnrt_array a;
        int rc = nnrt_npy_read(path, &a);
        if (rc != NNRT_ERR_FORMAT)
            fail_msg("case %zu: rc %d (%s), want format error", i, rc, nnrt_last_error());
        assert_null(a.data);
        assert_error_contains(path);
        assert_error_contains(cases[i].msg);
    }

    /* Broken prefixes: short magic, wrong magic, unknown version, header
     * length past the end of the file (v1 and v2). */
    static const struct {
        const char *bytes;
        size_t n;
        const char *msg;
    } raw[] = {
        {"\x93NUM", 4, "not a .npy file"},
        {"\x93NUMPX\x01\x00\x10\x00{}", 12, "bad magic"},
        {"\x93NUMPY\x09\x00\x02\x00{}", 12, "version 9.0"},
        {"\x93NUMPY\x01\x00\xff\xff{}", 12, "truncated"},
        {"\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14, "truncated"},
        {"\x93NUMPY\x02\x00\x02", 10, "truncated"}, /* 10 bytes: the NUL too */
        {"", 0, "not a .npy file"},
    };
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        write_bytes(path, raw[i].bytes, raw[i].n);
        nnrt_array a;
        int rc = nnrt_npy_read(path, &a);
        if (rc != NNRT_ERR_FORMAT)
            fail_msg("raw case %zu: rc %d (%s), want format error", i, rc, nnrt_last_error());
        assert_error_contains(raw[i].msg);
    }

    nnrt_array a;
    assert_int_equal(nnrt_npy_read(tmp_path("no-such-file.npy"), &a), NNRT_ERR_IO);
    assert_error_contains("no-such-file.npy");
    assert_int_equal(nnrt_npy_read(tmp_dir(), &a), NNRT_ERR_IO);
    assert_int_equal(nnrt_npy_read(NULL, &a), NNRT_ERR_ARG);
}

/* Ensure the writer produces exactly np.save's bytes (header, padding and
 * data) for the arrays of the fixtures. */
static void test_write_matches_numpy(void **state) {
    (void)state;
    float f2[12], f4[12], f0 = 3.25f;
    for (int i = 0; i < 12; i++)
        f2[i] = i * 0.5f - 1.0f, f4[i] = (float)i;
    const int32_t i4[5] = {3, -1, 0, INT32_MAX, INT32_MIN};
    static const struct {
        const char *fixture;
        nnrt_dtype dtype;
        int rank;
        int64_t shape[4];
    } cases[] = {
        {"npy/f32_2d.npy", NNRT_F32, 2, {3, 4}},
        {"npy/f32_4d.npy", NNRT_F32, 4, {2, 1, 3, 2}},
        {"npy/f32_0d.npy", NNRT_F32, 0, {0}},
        {"npy/f32_empty.npy", NNRT_F32, 2, {0, 3}},
        {"npy/i4_1d.npy", NNRT_I32, 1, {5}},
    };
    const void *data[] = {f2, f4, &f0, f2, i4};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *out = tmp_path("out.npy");
        assert_int_equal(
            nnrt_npy_write(out, cases[i].dtype, cases[i].rank, cases[i].shape, data[i]),
            NNRT_OK);
        size_t n1, n2;
        unsigned char *got = read_bytes(out, &n1);
        unsigned char *want = read_bytes(data_path(cases[i].fixture), &n2);
        if (n1 != n2 || memcmp(got, want, n1) != 0)
            fail_msg("%s: written file differs from NumPy's (%zu vs %zu bytes)",
                     cases[i].fixture, n1, n2);
        free(got);
        free(want);
    }
    assert_int_equal(count_entries(tmp_dir()), 1); /* out.npy only: no temp left */
}

/* Ensure a write/read round trip keeps shape and values, and bad arguments
 * are refused without creating a file. */
static void test_write_roundtrip(void **state) {
    (void)state;
    const char *p = tmp_path("rt.npy");
    float x[2 * 3 * 4];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i / 7.0f - 1.5f;
    const int64_t shape[3] = {2, 3, 4};
    assert_int_equal(nnrt_npy_write(p, NNRT_F32, 3, shape, x), NNRT_OK);
    nnrt_array a;
    assert_int_equal(nnrt_npy_read(p, &a), NNRT_OK);
    assert_true(a.dtype == NNRT_F32 && a.rank == 3 && a.count == 24);
    assert_true(a.shape[0] == 2 && a.shape[1] == 3 && a.shape[2] == 4);
    assert_memory_equal(a.data, x, sizeof x);
    nnrt_array_free(&a);
    nnrt_array_free(&a); /* idempotent */

    const int64_t big[1] = {100000};
    int32_t *ids = malloc(100000 * sizeof *ids);
    for (int i = 0; i < 100000; i++)
        ids[i] = i * 3 - 7;
    assert_int_equal(nnrt_npy_write(p, NNRT_I32, 1, big, ids), NNRT_OK);
    assert_int_equal(nnrt_npy_read(p, &a), NNRT_OK);
    assert_true(a.dtype == NNRT_I32 && a.count == 100000);
    assert_memory_equal(a.data, ids, 100000 * sizeof *ids);
    nnrt_array_free(&a);
    free(ids);

    const int64_t neg[1] = {-1};
    assert_int_equal(nnrt_npy_write(tmp_path("x.npy"), NNRT_F32, 1, neg, x), NNRT_ERR_ARG);
    assert_int_equal(nnrt_npy_write(tmp_path("x.npy"), NNRT_F32, 5, shape, x), NNRT_ERR_ARG);
    assert_int_equal(nnrt_npy_write(tmp_path("x.npy"), (nnrt_dtype)7, 1, shape, x), NNRT_ERR_ARG);
    assert_int_equal(nnrt_npy_write(tmp_path("x.npy"), NNRT_F32, 1, shape, NULL), NNRT_ERR_ARG);
    assert_int_equal(count_entries(tmp_dir()), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_f32),
        cmocka_unit_test(test_read_int),
        cmocka_unit_test_setup_teardown(test_read_f8, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_read_rejects_fixtures),
        cmocka_unit_test_setup_teardown(test_read_hostile, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_write_matches_numpy, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_write_roundtrip, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
