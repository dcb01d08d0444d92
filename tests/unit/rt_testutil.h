/*
 * rt_testutil.h - helpers shared by the runtime's unit tests (test_rt_*.c):
 * a scratch directory per test, whole-file read/write, and the path of the
 * checked-in fixtures. Tests run from the repository root (as `make
 * unit-test` does); NNGC_TEST_DATA overrides the fixture directory.
 */
#ifndef RT_TESTUTIL_H
#define RT_TESTUTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Path of fixture `name` under tests/data/, in a static buffer. */
static inline const char *data_path(const char *name) {
    static char buf[4096];
    const char *dir = getenv("NNGC_TEST_DATA");
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "tests/data", name);
    return buf;
}

/* Creates an empty scratch directory; its path is written into dir. */
static inline void make_tmpdir(char *dir, size_t size) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, size, "%s/nngrt-test.XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
}

/* Removes the scratch directory and the plain files in it. */
static inline void remove_tmpdir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0)
            rmdir(path); /* a subdirectory made by a test: must be empty */
    }
    closedir(d);
    rmdir(dir);
}

/* Number of entries in dir, "." and ".." excluded. */
static inline int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static inline void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Reads a whole file into a malloc'd buffer; *n gets its size. */
static inline unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 16, len = 0, got;
    unsigned char *buf = malloc(cap);
    assert_non_null(buf);
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    *n = len;
    return buf;
}

/* Asserts that the last error message contains needle. */
#define assert_error_contains(needle)                                           \
    do {                                                                        \
        if (!strstr(nnrt_last_error(), (needle)))                               \
            fail_msg("error message \"%s\" lacks \"%s\"", nnrt_last_error(),    \
                     (needle));                                                 \
    } while (0)

/* One scratch directory per test: cmocka_unit_test_setup_teardown(test,
 * tmp_setup, tmp_teardown) creates and removes it, tmp_dir() is its path
 * and tmp_path(name) a file in it (static buffer). */
static inline char *tmp_dir(void) {
    static char dir[512];
    return dir;
}

static inline int tmp_setup(void **state) {
    (void)state;
    make_tmpdir(tmp_dir(), 512);
    return 0;
}

static inline int tmp_teardown(void **state) {
    (void)state;
    remove_tmpdir(tmp_dir());
    return 0;
}

static inline const char *tmp_path(const char *name) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", tmp_dir(), name);
    return buf;
}

#endif /* RT_TESTUTIL_H */
