/*
 * test_rt_npz.c - the .npz reader, on files written by real NumPy
 * (tests/data/make_npz_fixtures.py states each array's formula, repeated
 * here) and on broken copies of them made here.
 */
#include "rt_testutil.h"

#include "nngrt.h"

static const nnrt_array *find(const nnrt_npz *z, const char *name) {
    for (int i = 0; i < z->n; i++)
        if (strcmp(z->names[i], name) == 0)
            return &z->arrays[i];
    return NULL;
}

/* Ensure np.savez's file reads: names without ".npy", float64 narrowed to
 * float32, a 0-d array, a non-ASCII name, exact values. */
static void test_read_reference(void **state) {
    (void)state;
    nnrt_npz z;
    assert_int_equal(nnrt_npz_read(data_path("npz/ref.npz"), &z), NNRT_OK);
    assert_int_equal(z.n, 4);
    const nnrt_array *W = find(&z, "W"), *b = find(&z, "b"), *s = find(&z, "s"),
                     *e = find(&z, "emb\xc3\xa9");
    assert_true(W && b && s && e);
    assert_true(W->dtype == NNRT_F32 && W->rank == 2 && W->shape[0] == 3 && W->shape[1] == 4);
    for (int i = 0; i < 12; i++) /* arange(12) * 0.25 */
        assert_true(((float *)W->data)[i] == i * 0.25f);
    assert_true(b->dtype == NNRT_F32 && b->rank == 1 && b->shape[0] == 3);
    const float *bv = b->data;
    assert_true(bv[0] == 1.5f && bv[1] == -2.0f && bv[2] == 3.0f);
    assert_true(s->rank == 0 && s->count == 1 && ((float *)s->data)[0] == 7.0f);
    for (int i = 0; i < 4; i++) /* -arange(4) */
        assert_true(((float *)e->data)[i] == (float)-i);
    nnrt_npz_free(&z);

    assert_int_equal(nnrt_npz_read(data_path("npz/ids.npz"), &z), NNRT_OK);
    assert_int_equal(z.n, 1);
    const int32_t ids[3] = {3, 1, 4};
    assert_int_equal(z.arrays[0].dtype, NNRT_I32);
    assert_memory_equal(z.arrays[0].data, ids, sizeof ids);
    nnrt_npz_free(&z);

    assert_int_equal(nnrt_npz_read(data_path("npz/empty.npz"), &z), NNRT_OK);
    assert_int_equal(z.n, 0);
    nnrt_npz_free(&z);

    assert_int_equal(nnrt_npz_read(data_path("npz/with_state.npz"), &z), NNRT_OK);
    assert_int_equal(z.n, 3);
    assert_non_null(find(&z, "__opt__/W/m"));
    assert_true(((float *)find(&z, "__opt__/step")->data)[0] == 2.0f);
    nnrt_npz_free(&z);
}

/* Ensure np.savez_compressed's file is refused with a message saying what
 * to do, and a .npy is not taken for a zip. */
static void test_rejects(void **state) {
    (void)state;
    nnrt_npz z;
    assert_int_equal(nnrt_npz_read(data_path("npz/compressed.npz"), &z), NNRT_ERR_FORMAT);
    assert_error_contains("npz/compressed.npz: member ");
    assert_error_contains("is compressed (np.savez_compressed); save with np.savez");
    assert_int_equal(z.n, 0);
    assert_int_equal(nnrt_npz_read(data_path("npy/f32_2d.npy"), &z), NNRT_ERR_FORMAT);
    assert_error_contains("no end of central directory record");
}

/* Ensure every truncation of the reference file, and every single flipped
 * byte in it, gives an error or (for bytes no reader needs: timestamps,
 * version fields; or a member's name) the same values; never a crash (the sanitizer builds
 * check the "never"). A flipped data byte is a CRC mismatch. */
static void test_broken_copies(void **state) {
    (void)state;
    size_t n;
    unsigned char *ref = read_bytes(data_path("npz/ref.npz"), &n);
    const char *path = tmp_path("broken.npz");
    nnrt_npz z;
    for (size_t len = 0; len < n; len++) {
        write_bytes(path, ref, len);
        assert_int_not_equal(nnrt_npz_read(path, &z), NNRT_OK);
        assert_int_equal(z.n, 0);
        assert_error_contains(path);
    }
    int crc_errors = 0;
    for (size_t i = 0; i < n; i++) {
        ref[i] ^= 0x41;
        write_bytes(path, ref, n);
        int rc = nnrt_npz_read(path, &z);
        if (rc == NNRT_OK) { /* a changed name is still a valid file */
            assert_int_equal(z.n, 4);
            assert_true(!find(&z, "s") || ((float *)find(&z, "s")->data)[0] == 7.0f);
        }
        crc_errors += strstr(nnrt_last_error(), "CRC mismatch") != NULL;
        nnrt_npz_free(&z);
        ref[i] ^= 0x41;
    }
    assert_true(crc_errors > 100);
    free(ref);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_reference),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test_setup_teardown(test_broken_copies, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
