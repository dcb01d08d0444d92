/*
 * test_diag.c - unit tests of compiler/diag.c (message format, caret
 * lines, error limit, file loading) and compiler/util.c (arena, strings,
 * internal errors).
 *
 * Expected outputs are written out in full by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nngc.h"

typedef struct Capture {
    Diag d;
    FILE *out;
    char *text;
    size_t len;
} Capture;

static void cap_open(Capture *c) {
    c->text = NULL;
    c->out = open_memstream(&c->text, &c->len);
    diag_init(&c->d, c->out);
}

/* Everything printed so far (the stream stays usable). */
static const char *cap_text(Capture *c) {
    fflush(c->out);
    return c->text;
}

static void cap_close(Capture *c) {
    fclose(c->out);
    free(c->text);
}

static Loc at(int file, int line, int col, int off, int len) { return (Loc){file, line, col, off, len}; }

/* file:line:col: error: msg, the source line, and carets over the span. */
static void test_error_format(void **state) {
    (void)state;
    Capture c;
    cap_open(&c);
    const char *src = "model m\nh = tanh(x + y)\n";
    int f = diag_add_file(&c.d, "a.nn", src, strlen(src));
    assert_int_equal(f, 0);
    diag_error(&c.d, at(f, 2, 10, 17, 5), "bad %s %d", "thing", 42);
    assert_string_equal(cap_text(&c), "a.nn:2:10: error: bad thing 42\n"
                                      "h = tanh(x + y)\n"
                                      "         ^^^^^\n");
    assert_int_equal(c.d.nerrors, 1);
    assert_int_equal(c.d.nwarnings, 0);
    cap_close(&c);
}

/* Tabs before the span are kept so the caret lines up; an empty span gets
 * one caret; a span is cut at the end of its line; CRLF is not shown. */
static void test_caret_line(void **state) {
    (void)state;
    Capture c;
    cap_open(&c);
    const char *src = "\tx =\t1\r\nabc\n";
    int f = diag_add_file(&c.d, "t.nn", src, strlen(src));
    diag_error(&c.d, at(f, 1, 6, 5, 1), "one");
    diag_warning(&c.d, at(f, 1, 5, 4, 0), "empty");
    diag_error(&c.d, at(f, 2, 2, 9, 40), "long");
    assert_string_equal(cap_text(&c), "t.nn:1:6: error: one\n"
                                      "\tx =\t1\n"
                                      "\t   \t^\n"
                                      "t.nn:1:5: warning: empty\n"
                                      "\tx =\t1\n"
                                      "\t   ^\n"
                                      "t.nn:2:2: error: long\n"
                                      "abc\n"
                                      " ^^\n");
    assert_int_equal(c.d.nerrors, 2);
    assert_int_equal(c.d.nwarnings, 1);
    cap_close(&c);
}

/* NO_LOC (or a bad file index) prints "nngc: error: msg"; notes do not count. */
static void test_no_loc_and_notes(void **state) {
    (void)state;
    Capture c;
    cap_open(&c);
    const char *src = "dim V = 10\ndim V = 20\n";
    int f = diag_add_file(&c.d, "m.nn", src, strlen(src));
    diag_error(&c.d, NO_LOC, "cannot write %s", "out.c");
    diag_error(&c.d, at(7, 1, 1, 0, 1), "bad file index");
    diag_error(&c.d, at(f, 2, 5, 15, 1), "duplicate dim 'V'");
    diag_note(&c.d, at(f, 1, 5, 4, 1), "the first one is here");
    assert_string_equal(cap_text(&c), "nngc: error: cannot write out.c\n"
                                      "nngc: error: bad file index\n"
                                      "m.nn:2:5: error: duplicate dim 'V'\n"
                                      "dim V = 20\n"
                                      "    ^\n"
                                      "m.nn:1:5: note: the first one is here\n"
                                      "dim V = 10\n"
                                      "    ^\n");
    assert_int_equal(c.d.nerrors, 3);
    cap_close(&c);
}

/* A location at the very end of the text (no final newline) still works. */
static void test_end_of_text(void **state) {
    (void)state;
    Capture c;
    cap_open(&c);
    const char *src = "x = (";
    int f = diag_add_file(&c.d, "e.nn", src, strlen(src));
    diag_error(&c.d, at(f, 1, 6, 5, 0), "eof");
    diag_error(&c.d, at(f, 1, 1, 999, 1), "offset out of range"); /* header only */
    assert_string_equal(cap_text(&c), "e.nn:1:6: error: eof\n"
                                      "x = (\n"
                                      "     ^\n"
                                      "e.nn:1:1: error: offset out of range\n");
    cap_close(&c);
}

/* After max_errors, one "too many errors" line; later errors, their notes
 * and warnings are counted but not shown. */
static void test_max_errors(void **state) {
    (void)state;
    Capture c;
    cap_open(&c);
    c.d.max_errors = 2;
    diag_error(&c.d, NO_LOC, "e1");
    diag_error(&c.d, NO_LOC, "e2");
    diag_note(&c.d, NO_LOC, "n2");
    diag_error(&c.d, NO_LOC, "e3");
    diag_note(&c.d, NO_LOC, "n3");
    diag_warning(&c.d, NO_LOC, "w");
    diag_error(&c.d, NO_LOC, "e4");
    assert_string_equal(cap_text(&c), "nngc: error: e1\n"
                                      "nngc: error: e2\n"
                                      "nngc: note: n2\n"
                                      "nngc: too many errors (more than 2); not showing the rest\n");
    assert_int_equal(c.d.nerrors, 4);
    assert_int_equal(c.d.nwarnings, 1);
    cap_close(&c);
}

/* Held diagnostics come out of diag_flush in source order (file, then
 * offset; no location first), each with its notes, whatever order they
 * were reported in; the error limit counts in that order. */
static void test_hold_sorts(void **state) {
    (void)state;
    Capture c;
    cap_open(&c);
    c.d.hold = true;
    const char *a = "x\ny\nz\n", *b = "q\n";
    int fa = diag_add_file(&c.d, "a.nn", a, strlen(a));
    int fb = diag_add_file(&c.d, "b.nn", b, strlen(b));
    diag_error(&c.d, at(fb, 1, 1, 0, 1), "in b");
    diag_error(&c.d, at(fa, 3, 1, 4, 1), "third");
    diag_note(&c.d, at(fa, 1, 1, 0, 1), "note of third");
    diag_warning(&c.d, at(fa, 2, 1, 2, 1), "second");
    diag_error(&c.d, NO_LOC, "no place");
    diag_error(&c.d, at(fa, 1, 1, 0, 1), "first");
    assert_string_equal(cap_text(&c), ""); /* nothing before the flush */
    assert_int_equal(c.d.nerrors, 4);
    diag_flush(&c.d);
    assert_string_equal(cap_text(&c), "nngc: error: no place\n"
                                      "a.nn:1:1: error: first\nx\n^\n"
                                      "a.nn:2:1: warning: second\ny\n^\n"
                                      "a.nn:3:1: error: third\nz\n^\n"
                                      "a.nn:1:1: note: note of third\nx\n^\n"
                                      "b.nn:1:1: error: in b\nq\n^\n");
    diag_flush(&c.d); /* nothing held any more */
    c.d.max_errors = 5;
    diag_error(&c.d, at(fa, 2, 1, 2, 1), "e5");
    diag_error(&c.d, at(fa, 1, 1, 0, 1), "e6");
    diag_flush(&c.d);
    assert_string_equal(cap_text(&c) + strlen("nngc: error: no place\n"
                                              "a.nn:1:1: error: first\nx\n^\n"
                                              "a.nn:2:1: warning: second\ny\n^\n"
                                              "a.nn:3:1: error: third\nz\n^\n"
                                              "a.nn:1:1: note: note of third\nx\n^\n"
                                              "b.nn:1:1: error: in b\nq\n^\n"),
                        "a.nn:1:1: error: e6\nx\n^\n"
                        "nngc: too many errors (more than 5); not showing the rest\n");
    cap_close(&c);
}

/* diag_init with NULL means stderr. */
static void test_default_out(void **state) {
    (void)state;
    Diag d;
    diag_init(&d, NULL);
    assert_ptr_equal(d.out, stderr);
    assert_int_equal(d.max_errors, 0);
    assert_int_equal(d.nfiles, 0);
}

/* Loading: a missing file, a directory, a binary file, a good file. */
static void test_load_file(void **state) {
    (void)state;
    char dir[] = "/tmp/nngc_diag_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char good[64], bin[64], missing[64];
    snprintf(good, sizeof good, "%s/good.nn", dir);
    snprintf(bin, sizeof bin, "%s/bin.nn", dir);
    snprintf(missing, sizeof missing, "%s/missing.nn", dir);
    FILE *f = fopen(good, "w");
    fputs("model m\n", f);
    fclose(f);
    f = fopen(bin, "wb");
    fwrite("ab\0cd", 1, 5, f);
    fclose(f);

    Capture c;
    cap_open(&c);
    const char *src = "import \"x\"\n";
    int main_file = diag_add_file(&c.d, "main.nn", src, strlen(src));
    assert_int_equal(diag_load_file(&c.d, missing, NO_LOC), -1);
    assert_int_equal(diag_load_file(&c.d, dir, NO_LOC), -1);
    assert_int_equal(diag_load_file(&c.d, bin, at(main_file, 1, 8, 7, 3)), -1);
    int g = diag_load_file(&c.d, good, NO_LOC);
    assert_int_equal(g, 1);
    assert_int_equal(c.d.nfiles, 2);
    assert_string_equal(c.d.files[g].text, "model m\n");
    assert_int_equal(c.d.files[g].len, 8);
    assert_string_equal(c.d.files[g].path, good);

    char *want = xsprintf("nngc: error: cannot read %s: No such file or directory\n"
                          "nngc: error: cannot read %s: Is a directory\n"
                          "main.nn:1:8: error: %s: binary file (contains NUL bytes)\n"
                          "import \"x\"\n"
                          "       ^^^\n",
                          missing, dir, bin);
    assert_string_equal(cap_text(&c), want);
    assert_int_equal(c.d.nerrors, 3);
    cap_close(&c);
    remove(good);
    remove(bin);
    rmdir(dir);
}

/* loc_merge covers both spans, whichever comes first; NO_LOC is neutral. */
static void test_loc_merge(void **state) {
    (void)state;
    Loc a = at(0, 2, 3, 10, 4), b = at(0, 3, 1, 20, 5);
    Loc m = loc_merge(a, b);
    assert_int_equal(m.line, 2);
    assert_int_equal(m.col, 3);
    assert_int_equal(m.off, 10);
    assert_int_equal(m.len, 15);
    m = loc_merge(b, a);
    assert_int_equal(m.off, 10);
    assert_int_equal(m.len, 15);
    m = loc_merge(at(0, 1, 1, 0, 10), at(0, 1, 3, 2, 2)); /* inside */
    assert_int_equal(m.off, 0);
    assert_int_equal(m.len, 10);
    m = loc_merge(NO_LOC, b);
    assert_int_equal(m.off, 20);
    m = loc_merge(a, NO_LOC);
    assert_int_equal(m.off, 10);
    assert_int_equal(m.len, 4);
    m = loc_merge(a, at(1, 1, 1, 0, 3)); /* other file: the first is kept */
    assert_int_equal(m.file, 0);
    assert_int_equal(m.len, 4);
}

/* The arena zeroes memory and xrealloc keeps old contents, zeroes the rest. */
static void test_arena(void **state) {
    (void)state;
    int *v = NULL;
    int n = 0, cap = 0;
    for (int i = 0; i < 100000; i++)
        VEC_PUSH(v, n, cap, i * 3);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(v[i], i * 3);
    unsigned char *p = xalloc(1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(p[i], 0);
    memset(p, 7, 1000);
    unsigned char *q = xrealloc(p, 1000, 300000); /* big: a chunk of its own */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(q[i], 7);
    for (int i = 1000; i < 300000; i++)
        assert_int_equal(q[i], 0);
    char *s = xalloc(3);
    memcpy(s, "ab", 3);
    char *t = xrealloc(s, 3, 64); /* the newest small block grows in place */
    assert_string_equal(t, "ab");
    for (int i = 3; i < 64; i++)
        assert_int_equal(t[i], 0);
    xfree_all();
    p = xalloc(16); /* usable again after xfree_all */
    assert_int_equal(p[15], 0);
    xfree_all();
}

/* String helpers. */
static void test_strings(void **state) {
    (void)state;
    assert_string_equal(xstrdup("hello"), "hello");
    assert_string_equal(xstrndup("hello", 3), "hel");
    assert_string_equal(xstrndup("hi", 10), "hi");
    assert_string_equal(xsprintf("%s=%d %.2f", "k", 3, 0.5), "k=3 0.50");
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *s = xsprintf("<%s>", big);
    assert_int_equal(strlen(s), 5001);
    assert_int_equal(s[5000], '>');
    xfree_all();
}

/* NN_ASSERT names the compiler, the place, and aborts (in a child process). */
static void test_internal_error(void **state) {
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        signal(SIGABRT, SIG_DFL); /* cmocka's handler would catch the abort */
        NN_ASSERT(1 + 1 == 3);
        _exit(0); /* not reached */
    }
    close(fds[1]);
    char buf[512] = {0};
    size_t n = 0;
    ssize_t got;
    while (n < sizeof buf - 1 && (got = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)got;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_non_null(strstr(buf, "nngc: internal error at tests/unit/test_diag.c:"));
    assert_non_null(strstr(buf, ": 1 + 1 == 3 (this is a compiler bug)\n"));
}

/* read_file: contents and length; NULL with errno for a missing file. */
static void test_read_file(void **state) {
    (void)state;
    char path[] = "/tmp/nngc_read_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    /* larger than read_file's first buffer, with a NUL inside */
    enum { N = 70000 };
    char *data = malloc(N);
    for (int i = 0; i < N; i++)
        data[i] = (char)(i % 251);
    assert_int_equal(write(fd, data, N), N);
    close(fd);
    size_t len = 0;
    char *text = read_file(path, &len);
    assert_non_null(text);
    assert_int_equal(len, N);
    assert_memory_equal(text, data, N);
    assert_int_equal(text[N], '\0');
    remove(path);
    errno = 0;
    assert_null(read_file(path, &len));
    assert_int_equal(errno, ENOENT);
    free(data);
    xfree_all();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_format),
        cmocka_unit_test(test_caret_line),
        cmocka_unit_test(test_no_loc_and_notes),
        cmocka_unit_test(test_end_of_text),
        cmocka_unit_test(test_max_errors),
        cmocka_unit_test(test_hold_sorts),
        cmocka_unit_test(test_default_out),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_loc_merge),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_internal_error),
        cmocka_unit_test(test_read_file),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xfree_all();
    return rc;
}
