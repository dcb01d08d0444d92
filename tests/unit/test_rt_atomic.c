/*
 * test_rt_atomic.c - the writers' all-or-nothing file replacement: failed
 * writes leave no temporary files behind, successful ones replace an old
 * file whole, devices and FIFOs are written in place, and new files get
 * the usual permissions.
 */
#include "rt_testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "nngrt.h"
#include "rt_internal.h"


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

/* Ensure a path that is not a regular file is written in place, never
 * renamed over: a symbolic link to /dev/null stays a link (once it became
 * a regular file: as root, --export W=/dev/null replaced /dev/null
 * itself), and a FIFO stays a FIFO and gets the bytes. Links in the temp
 * directory, so that a regression replaces them, not the devices. */
static void test_not_regular(void **state) {
    (void)state;
    char path[700];
    struct stat sb;
    snprintf(path, sizeof path, "%s/null", tmp_dir());
    assert_int_equal(symlink("/dev/null", path), 0);
    assert_int_equal(nnrt_npy_write(path, NNRT_F32, 1, shape4, x), NNRT_OK);
    assert_int_equal(write_st(path), NNRT_OK);
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    snprintf(path, sizeof path, "%s/fifo", tmp_dir());
    assert_int_equal(mkfifo(path, 0644), 0);
    int fd = open(path, O_RDONLY | O_NONBLOCK); /* a reader, so that the writer's open does not wait */
    assert_true(fd >= 0);
    assert_int_equal(nnrt_npy_write(path, NNRT_F32, 1, shape4, x), NNRT_OK);
    char got[256];
    ssize_t n = read(fd, got, sizeof got);
    close(fd);
    assert_int_equal(n, 128 + sizeof x); /* the header, then the floats */
    assert_memory_equal(got, "\x93NUMPY", 6);
    assert_memory_equal(got + 128, x, sizeof x);
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    assert_int_equal(count_entries(tmp_dir()), 2); /* no temp file left */
}

/* Ensure a failing write reports the path and the write's own errno, not
 * a generic EIO: the temp file's stream is swapped for /dev/full, which
 * fails every write with ENOSPC ("No space left on device"). */
static void test_disk_full(void **state) {
    (void)state;
    const char *path = tmp_path("full.safetensors");
    nnrt_atomic_file af;
    assert_int_equal(nnrt_atomic_open(&af, path), NNRT_OK);
    fclose(af.f);
    af.f = fopen("/dev/full", "wb");
    assert_non_null(af.f);
    static char block[1 << 20];
    nnrt_atomic_write(&af, block, sizeof block);
    assert_int_equal(nnrt_atomic_commit(&af), NNRT_ERR_IO);
    assert_error_contains(path);
    assert_error_contains("write failed: No space left on device");
    assert_int_equal(count_entries(tmp_dir()), 0);

    /* the same through the buffered tail of a small write: flush fails */
    assert_int_equal(nnrt_atomic_open(&af, path), NNRT_OK);
    fclose(af.f);
    af.f = fopen("/dev/full", "wb");
    nnrt_atomic_write(&af, block, 10);
    assert_int_equal(nnrt_atomic_commit(&af), NNRT_ERR_IO);
    assert_error_contains("No space left on device");
    assert_int_equal(count_entries(tmp_dir()), 0);
}

/* Ensure a save past `ulimit -f` fails as a write error naming the path
 * and "File too large" (EFBIG) instead of the process dying of SIGXFSZ,
 * and leaves no temp file. In a child, which gets the limit. */
static void test_file_too_large(void **state) {
    (void)state;
    const char *path = tmp_path("big.safetensors");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {4096, 4096};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(10);
        static float big[1 << 18]; /* 1 MiB */
        const char *names[1] = {"big"};
        const int ranks[1] = {1};
        const int64_t shapes[1][NNRT_MAXRANK] = {{1 << 18}};
        const float *data[1] = {big};
        int rc = nnrt_st_write(path, 1, names, ranks, shapes, data);
        fprintf(stderr, "child: %s\n", nnrt_last_error());
        if (rc != NNRT_ERR_IO)
            _exit(11);
        if (!strstr(nnrt_last_error(), path) || !strstr(nnrt_last_error(), "File too large"))
            _exit(12);
        int64_t n = 1 << 18;
        rc = nnrt_npy_write(path, NNRT_F32, 1, &n, big);
        if (rc != NNRT_ERR_IO || !strstr(nnrt_last_error(), "File too large"))
            _exit(13);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st))
        fail_msg("the save died of signal %d", WTERMSIG(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(count_entries(tmp_dir()), 0);
}

/* The temp file of a save in progress in dir, or 0 if none. */
static int has_temp_file(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)))
        found |= strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return found;
}

static volatile sig_atomic_t got_signal;
static void note_signal(int sig) { got_signal = sig; }
static void reraise(int sig) {
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A child saves 128 MB; the parent sends sig as soon as the temp file
 * shows. handler: 0 the default action, 1 an application handler that
 * re-raises with the default action (like nngc's own), 2 one that returns
 * (the save must then go on and succeed). */
static void interrupted_save(int sig, int handler) {
    const char *path = tmp_path("ckpt.safetensors");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* handler 0: the default action, whatever the test inherited
         * (under nohup SIGHUP is ignored, and an ignored signal is left
         * alone by the save: the child would not die) */
        signal(sig, handler == 0 ? SIG_DFL : handler == 1 ? reraise : note_signal);
        int64_t n = (int64_t)1 << 25;
        float *big = calloc((size_t)n, sizeof *big);
        if (!big)
            _exit(20);
        const char *names[1] = {"W"};
        const int ranks[1] = {1};
        const int64_t shapes[1][NNRT_MAXRANK] = {{n}};
        const float *data[1] = {big};
        int rc = nnrt_st_write(path, 1, names, ranks, shapes, data);
        for (int i = 0; i < 1000 && !got_signal; i++)
            usleep(10000);
        _exit(rc == NNRT_OK && got_signal == sig ? 0 : 21);
    }
    int seen = 0, st = 0;
    for (int i = 0; i < 200000 && !seen; i++) {
        seen = has_temp_file(tmp_dir());
        if (!seen && waitpid(pid, &st, WNOHANG) == pid)
            fail_msg("the save ended before the signal could be sent");
    }
    assert_true(seen);
    assert_int_equal(kill(pid, sig), 0);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (handler == 2) {
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_int_equal(count_entries(tmp_dir()), 1); /* the checkpoint, whole */
        return;
    }
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), sig);
    if (count_entries(tmp_dir()) != 0)
        fail_msg("signal %d, handler %d: a file is left: temp file %s", sig, handler,
                 has_temp_file(tmp_dir()) ? "yes" : "no");
}

/* Ensure SIGINT, SIGTERM and SIGHUP during a save leave no temp file, with
 * the default action and under a handler that re-raises; a handler that
 * returns does not spoil the save. */
static void test_signal_cleanup(void **state) {
    (void)state;
    int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        interrupted_save(sigs[i], 0);
        interrupted_save(sigs[i], 1);
    }
    interrupted_save(SIGINT, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_dir, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_failed_rename, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_replace, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_not_regular, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_file_too_large, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_signal_cleanup, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
