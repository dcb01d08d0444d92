/*
 * files.c - the driver's files and processes: output files written
 * atomically (temporary file + rename), the check that no output is one
 * of the run's inputs, the temporary directory of -c, --shared and
 * `nngc run`, and running the backend C compiler.
 *
 * Every failure names the path and the reason (the errno of the call that
 * failed).
 */
#include "driver.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

bool driver_spawn(char *const argv[]) {
    /* stdout must not interleave with what we printed before the child
     * started (stdout is a pipe under the tests). */
    fflush(stdout);
    fflush(stderr);
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (err != 0) {
        driver_error("cannot run the backend compiler '%s': %s (set it with --cc or $NNGC_CC)", argv[0],
                     strerror(err));
        return false;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            driver_error("waiting for '%s': %s", argv[0], strerror(errno));
            return false;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (WIFEXITED(status))
        driver_error("the backend compiler '%s' failed (exit status %d)", argv[0], WEXITSTATUS(status));
    else
        driver_error("the backend compiler '%s' was killed by signal %d", argv[0],
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return false;
}

/* path of prog: itself if it has a slash, else the first on PATH (an
 * empty entry: the current directory, as for posix_spawnp); NULL if none */
const char *driver_find_program(const char *prog) {
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0 ? prog : NULL;
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t n = strcspn(path, ":");
        const char *p = xsprintf("%.*s/%s", (int)n, n ? path : ".", prog);
        if (access(p, X_OK) == 0)
            return p;
        path += n + (path[n] == ':');
    }
    return NULL;
}

const char *driver_env(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* mkdir -p dir; false (and, unless quiet, an error) when dir is not a
 * directory at the end */
bool driver_make_dirs(const char *dir, bool quiet) {
    char *p = xstrdup(dir);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != 0)
            continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            if (!quiet)
                driver_error("cannot create directory '%s': %s", p, strerror(errno));
            return false;
        }
        *s = c;
        if (!c)
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (!quiet)
            driver_error("'%s' is not a directory", dir);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- inputs and outputs */

/* Every file this run reads (the model, its imports, params, inputs), by
 * identity: an output that is one of them is refused, as gcc refuses
 * `gcc m.c -o m.c`. */
typedef struct InputFile {
    char *path;
    dev_t dev;
    ino_t ino;
} InputFile;

/* malloc'd, not the arena: the list outlives xfree_all (unit tests) */
static InputFile *inputs;
static int ninputs, capinputs;

void driver_note_input(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0)
        return; /* reading it fails, with its own message */
    for (int i = 0; i < ninputs; i++)
        if (inputs[i].dev == st.st_dev && inputs[i].ino == st.st_ino)
            return;
    if (ninputs == capinputs) {
        int cap = capinputs ? 2 * capinputs : 8;
        InputFile *v = realloc(inputs, sizeof *v * (size_t)cap);
        if (!v)
            return; /* out of memory: no check, as if the file were not noted */
        inputs = v, capinputs = cap;
    }
    char *p = strdup(path);
    if (p)
        inputs[ninputs++] = (InputFile){p, st.st_dev, st.st_ino};
}

bool driver_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool driver_check_writable(const char *opt, const char *path) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        driver_error("%s %s: that is a directory: name a file in it", opt, path);
        return false;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return true; /* /dev/null, a FIFO: written in place, no temporary file beside it */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
    const char *why = NULL;
    if (stat(dir, &st) != 0)
        why = errno == ENOENT ? "it does not exist" : strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        why = "it is not a directory";
    else if (access(dir, W_OK | X_OK) != 0)
        why = strerror(errno);
    if (why)
        driver_error("%s %s: cannot write in the directory '%s': %s", opt, path, dir, why);
    return !why;
}

bool driver_check_output(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0)
        return true; /* a new file cannot be an input */
    for (int i = 0; i < ninputs; i++)
        if (inputs[i].dev == st.st_dev && inputs[i].ino == st.st_ino) {
            if (strcmp(inputs[i].path, path) == 0)
                driver_error("output '%s' is also an input: refusing to overwrite it", path);
            else
                driver_error("output '%s' is the same file as the input '%s': refusing to overwrite it", path,
                             inputs[i].path);
            return false;
        }
    return true;
}

/* errno of the first failed driver_flush_lines */
static int stdout_errno;

void driver_flush_lines(void) {
    errno = 0;
    if (fflush(stdout) != 0 && !stdout_errno)
        stdout_errno = errno ? errno : EIO;
}

bool driver_flush_stdout(void) {
    /* The reason is this fflush's; or that of the driver_flush_lines that
     * failed first; or errno as it was, that of a write of stdio's own
     * that failed (the dumps: no failing call after them) */
    int before = errno;
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return true;
    int e = errno ? errno : stdout_errno ? stdout_errno : before ? before : EIO;
    driver_error("cannot write the standard output: %s", strerror(e));
    return false;
}

/* ---------------------------------------------------------------- atomic output files */

/* "cannot write 'PATH': REASON" with the errno of the call that failed. */
static void write_error(const char *path, int err) {
    driver_error("cannot write '%s': %s", path, strerror(err ? err : EIO));
}

bool tmp_open(AtomicFile *t, const char *path) {
    t->path = path;
    t->tmp = NULL;
    t->f = NULL;
    t->err = 0;
    if (!driver_check_output(path))
        return false;
    /* Not a regular file (/dev/null, /dev/full, a FIFO): write it in place,
     * as gcc -o /dev/null does; renaming over it would replace the device. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        t->f = fopen(path, "w");
        if (!t->f) {
            write_error(path, errno);
            return false;
        }
        return true;
    }
    t->tmp = xsprintf("%s.tmpXXXXXX", path);
    int fd = mkstemp(t->tmp);
    if (fd < 0) {
        write_error(path, errno);
        return false;
    }
    /* mkstemp makes the file 0600; a compiler's output should have the
     * usual permissions. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    t->f = fdopen(fd, "w");
    if (!t->f) {
        write_error(path, errno);
        close(fd);
        unlink(t->tmp);
        return false;
    }
    return true;
}

bool tmp_write(AtomicFile *t, const void *data, size_t len) {
    if (!t->f || t->err)
        return false;
    if (len > 0 && fwrite(data, 1, len, t->f) != len) {
        t->err = errno ? errno : EIO;
        return false;
    }
    return true;
}

bool tmp_close(AtomicFile *t, bool ok) {
    if (!t->f)
        return false;
    /* the errno of the first call that failed: a later one may clobber it */
    int err = t->err;
    if (!err && ferror(t->f))
        err = errno ? errno : EIO;
    if (fflush(t->f) != 0 && !err)
        err = errno;
    if (fclose(t->f) != 0 && !err)
        err = errno;
    t->f = NULL;
    if (ok && err)
        write_error(t->path, err);
    if (ok && !err && t->tmp && rename(t->tmp, t->path) != 0) {
        err = errno;
        write_error(t->path, err);
    }
    if ((!ok || err) && t->tmp)
        unlink(t->tmp);
    return ok && !err;
}

bool tmp_flush(AtomicFile *t) {
    if (!t->f)
        return false;
    if (!t->err && ferror(t->f))
        t->err = errno ? errno : EIO;
    if (!t->err && fflush(t->f) != 0)
        t->err = errno ? errno : EIO;
    return !t->err;
}

bool driver_write_pair(const char *path1, const void *data1, size_t len1, const char *path2, const void *data2,
                       size_t len2) {
    AtomicFile a, b;
    if (!tmp_open(&a, path1))
        return false;
    if (!tmp_open(&b, path2)) {
        tmp_close(&a, false);
        return false;
    }
    tmp_write(&a, data1, len1);
    tmp_write(&b, data2, len2);
    /* both written in full before either is renamed into place */
    bool oka = tmp_flush(&a), okb = tmp_flush(&b);
    if (!oka)
        write_error(a.path, a.err);
    if (!okb)
        write_error(b.path, b.err);
    bool ok = tmp_close(&a, oka && okb) && oka && okb;
    return tmp_close(&b, ok) && ok;
}

bool driver_copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    if (!in) {
        driver_error("cannot read '%s': %s", from, strerror(errno));
        return false;
    }
    AtomicFile t;
    if (!tmp_open(&t, to)) {
        fclose(in);
        return false;
    }
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0 && tmp_write(&t, buf, n))
        ;
    bool ok = !ferror(in);
    if (!ok)
        driver_error("cannot read '%s': %s", from, strerror(errno));
    fclose(in);
    return tmp_close(&t, ok);
}

/* The temporary directory and the files in it, removed at exit whatever
 * path the program leaves by. Static storage, not the arena: the arena is
 * freed before the atexit handler runs. */
static char tmpdir[PATH_MAX];
static char tmpfiles[8][PATH_MAX + 64];
static int ntmpfiles;

static void remove_tmpdir(void) {
    if (!tmpdir[0])
        return;
    for (int i = 0; i < ntmpfiles; i++)
        unlink(tmpfiles[i]);
    rmdir(tmpdir);
    tmpdir[0] = 0;
}

/* Ctrl-C during the backend compiler: remove the directory too (unlink and
 * rmdir are async-signal-safe), then die of the signal as usual. */
static void remove_tmpdir_on_signal(int sig) {
    remove_tmpdir();
    signal(sig, SIG_DFL);
    raise(sig);
}

const char *driver_tmpdir(void) {
    if (tmpdir[0])
        return tmpdir;
    const char *env = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/nngc-XXXXXX", env && *env ? env : "/tmp");
    if (!mkdtemp(tmpdir)) {
        driver_error("cannot create a temporary directory '%s': %s", tmpdir, strerror(errno));
        tmpdir[0] = 0;
        return NULL;
    }
    atexit(remove_tmpdir);
    signal(SIGINT, remove_tmpdir_on_signal);
    signal(SIGTERM, remove_tmpdir_on_signal);
    signal(SIGHUP, remove_tmpdir_on_signal);
    return tmpdir;
}

const char *driver_tmp_path(const char *name) {
    NN_ASSERT(tmpdir[0] && ntmpfiles < (int)(sizeof tmpfiles / sizeof tmpfiles[0]));
    char *p = tmpfiles[ntmpfiles++];
    snprintf(p, sizeof tmpfiles[0], "%s/%s", tmpdir, name);
    return p;
}
