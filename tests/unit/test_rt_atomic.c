/*
 * test_rt_atomic.c - the writers' all-or-nothing file replacement: failed
 * writes leave no temporary files behind, successful ones replace an old
 * file whole, and new files get the usual permissions.
 */
#include "rt_testutil.h"

#include <sys/stat.h>

#include "nngrt.h"


static const float x[4] = {1, 2, 3, 4};
static const int64_t shape4[1] = {4};

static int write_st(const char *path) {
    const char *names[1] = {"x"};
    const int ranks[1] = {1};
    const int64_t shapes[1][NNRT_MAXRANK] = {{4}};
    const float *data[1] = {x};
    return nnrt_st_write(path, 1, names, ranks, shapes, data);
}

/* Ensure writing into a directory that does not exist fails as an I/O
 * error naming the path, creating nothing. */
static void test_missing_dir(void **state) {
    (void)state;
    char path[700];
    snprintf(path, sizeof path, "%s/nope/x.npy", tmp_dir());
    assert_int_equal(nnrt_npy_write(path, NNRT_F32, 1, shape4, x), NNRT_ERR_IO);
    assert_error_contains(path);
    snprintf(path, sizeof path, "%s/nope/x.safetensors", tmp_dir());
    assert_int_equal(write_st(path), NNRT_ERR_IO);
    assert_int_equal(count_entries(tmp_dir()), 0);
}

/* Ensure a failure after the temp file exists (rename onto a directory)
 * removes the temp file. */
static void test_failed_rename(void **state) {
    (void)state;
    char path[700];
    snprintf(path, sizeof path, "%s/taken", tmp_dir());
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(nnrt_npy_write(path, NNRT_F32, 1, shape4, x), NNRT_ERR_IO);
    assert_error_contains("rename");
    assert_int_equal(write_st(path), NNRT_ERR_IO);
    assert_int_equal(count_entries(tmp_dir()), 1); /* just the directory */
}

/* Ensure an existing, longer file is replaced whole, and new files get
 * 0666 & ~umask like any other. */
static void test_replace(void **state) {
    (void)state;
    char path[700];
    static char junk[10000];
    memset(junk, 'J', sizeof junk);
    mode_t old = umask(022);
    const char *names[2] = {"x.npy", "x.safetensors"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp_dir(), names[i]);
        write_bytes(path, junk, sizeof junk);
        assert_int_equal(i ? write_st(path) : nnrt_npy_write(path, NNRT_F32, 1, shape4, x),
                         NNRT_OK);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        /* .npy: 64-byte aligned header + 16 bytes; safetensors: 8 + header + 16 */
        assert_true(sb.st_size < 200);
        assert_int_equal(sb.st_mode & 0777, 0644);
    }
    nnrt_array a;
    snprintf(path, sizeof path, "%s/x.npy", tmp_dir());
    assert_int_equal(nnrt_npy_read(path, &a), NNRT_OK);
    assert_memory_equal(a.data, x, sizeof x);
    nnrt_array_free(&a);
    nnrt_safetensors st;
    snprintf(path, sizeof path, "%s/x.safetensors", tmp_dir());
    assert_int_equal(nnrt_st_read(path, &st), NNRT_OK);
    assert_memory_equal(nnrt_st_find(&st, "x")->data, x, sizeof x);
    nnrt_st_free(&st);
    assert_int_equal(count_entries(tmp_dir()), 2);
    umask(old);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_dir, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_failed_rename, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_replace, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
