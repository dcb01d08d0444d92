/*
 * test_driver.c - unit tests of the driver's files (compiler/driver/files.c):
 * errors name the path and the real reason, and no output may be an input.
 *
 * The messages go to stderr (driver_error); each test points fd 2 at a
 * file for the duration and reads it back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/driver.h"

static char dir[] = "/tmp/nngc-test-driver-XXXXXX";
static char errpath[256];
static int saved_fd = -1;

static const char *path(const char *name) { return xsprintf("%s/%s", dir, name); }

/* /dev/full through a symbolic link in dir: should the driver ever rename
 * a temporary file onto its output again, it replaces the link, not the
 * device (the tests run as root in CI). NULL when there is no /dev/full. */
static const char *full(void) {
    const char *p = path("full");
    if (access("/dev/full", W_OK) != 0)
        return NULL;
    unlink(p);
    return symlink("/dev/full", p) == 0 ? p : NULL;
}

/* stderr -> dir/err until stop_capture, which returns what was written. */
static void capture(void) {
    fflush(stderr);
    snprintf(errpath, sizeof errpath, "%s/err", dir);
    saved_fd = dup(2);
    FILE *f = freopen(errpath, "w", stderr);
    assert_non_null(f);
}

static char *stop_capture(void) {
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    FILE *f = fopen(errpath, "r");
    assert_non_null(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void write_text(const char *p, const char *text) {
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state) {
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char *cmd = xsprintf("rm -rf '%s'", dir);
    int rc = system(cmd);
    xfree_all();
    return rc == 0 ? 0 : -1;
}

/* A full disk: the message names the file and says why (ENOSPC), and the
 * other file of the pair is not replaced. */
static void test_write_pair_full_disk(void **state) {
    (void)state;
    const char *dev = full();
    if (!dev)
        skip();
    const char *h = path("m.h");
    write_text(h, "old header\n");
    capture();
    bool ok = driver_write_pair(h, "new header\n", 11, dev, "int x;\n", 7);
    char *err = stop_capture();
    assert_false(ok);
    assert_non_null(strstr(err, xsprintf("cannot write '%s': No space left on device", dev)));
    FILE *f = fopen(h, "r");
    char line[64] = {0};
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, "old header\n");
    /* and no temporary file stays behind */
    char *cmd = xsprintf("ls '%s' | grep -q tmp", dir);
    assert_int_not_equal(system(cmd), 0);
}

/* driver_copy_file onto /dev/full: the same message. */
static void test_copy_full_disk(void **state) {
    (void)state;
    const char *dev = full();
    if (!dev)
        skip();
    const char *from = path("from");
    char big[20000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    write_text(from, big);
    capture();
    bool ok = driver_copy_file(from, dev);
    char *err = stop_capture();
    assert_false(ok);
    assert_non_null(strstr(err, xsprintf("cannot write '%s': No space left on device", dev)));
}

/* An output that is an input by another name (hard link, symbolic link)
 * is refused; a new file and another file are not. */
static void test_output_is_input(void **state) {
    (void)state;
    const char *model = path("m.nn"), *hard = path("hard.nn"), *sym = path("sym.nn");
    write_text(model, "model m\n");
    assert_int_equal(link(model, hard), 0);
    assert_int_equal(symlink(model, sym), 0);
    driver_note_input(model);
    capture();
    bool ok_hard = driver_check_output(hard);
    bool ok_sym = driver_check_output(sym);
    bool ok_same = driver_check_output(model);
    AtomicFile t;
    bool ok_open = tmp_open(&t, hard);
    char *err = stop_capture();
    assert_false(ok_hard);
    assert_false(ok_sym);
    assert_false(ok_same);
    assert_false(ok_open);
    assert_non_null(strstr(err, "is the same file as the input"));
    assert_non_null(strstr(err, "is also an input"));
    write_text(path("other.c"), "x");
    assert_true(driver_check_output(path("other.c")));
    assert_true(driver_check_output(path("new.c")));
    assert_true(driver_same_file(model, hard));
    assert_false(driver_same_file(model, path("other.c")));
    /* the model is untouched */
    FILE *f = fopen(model, "r");
    char line[64] = {0};
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, "model m\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_pair_full_disk),
        cmocka_unit_test(test_copy_full_disk),
        cmocka_unit_test(test_output_is_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
