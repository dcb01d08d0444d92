/*
 * atomic.c - the all-or-nothing file writer behind nnrt_npy_write,
 * nnrt_st_write and nnrt_save_params, and the cleanup of its temporary
 * files when a signal ends the process.
 *
 * A writer creates PATH.tmp.XXXXXX beside PATH, writes it, then fsyncs and
 * renames it over PATH (a PATH that is a device, FIFO or socket is written
 * in place instead). Three things can leave the temporary file behind,
 * and each is handled here:
 *
 *  - a failed write (disk full, file too large, I/O error): the first
 *    failing write's errno is kept and reported with the path, and the
 *    temporary file is removed;
 *  - SIGINT, SIGTERM or SIGHUP during the save: every live temporary file
 *    is listed in a fixed table of atomic pointers, and a handler (made
 *    sure of at each save) unlinks them (unlink is async-signal-safe) before the
 *    signal does what it did before: the default action (die), or the
 *    handler that was installed before ours (called, then the files go if
 *    that handler left the signal pending with the default action, as a
 *    "clean up and re-raise" handler does; one that returns lets the save
 *    go on, so its file stays);
 *  - SIGXFSZ (the file exceeds `ulimit -f`): its default action kills the
 *    process without a word, so when it is still the default it is ignored
 *    instead; the write then fails with EFBIG, which is reported like any
 *    other write error.
 *
 * SIGKILL cannot be caught: it can leave a PATH.tmp.XXXXXX file (never a
 * half-written PATH). docs/API.md says how to spot and remove one.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_internal.h"

/* ------------------------------------------------ live temporary files */

/* Saves in progress at once, over all threads; a save beyond that still
 * works, only without cleanup on a signal. */
#define MAX_LIVE 64

static _Atomic(char *) live[MAX_LIVE];

static void live_add(char *tmp) {
    for (int i = 0; i < MAX_LIVE; i++) {
        char *expected = NULL;
        if (atomic_compare_exchange_strong(&live[i], &expected, tmp))
            return;
    }
}

static void live_remove(const char *tmp) {
    for (int i = 0; i < MAX_LIVE; i++) {
        char *expected = (char *)tmp;
        if (atomic_compare_exchange_strong(&live[i], &expected, NULL))
            return;
    }
}

static void unlink_live(void) {
    for (int i = 0; i < MAX_LIVE; i++) {
        char *p = atomic_load(&live[i]);
        if (p)
            unlink(p);
    }
}

/* ------------------------------------------------------ signal handlers */

static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NSIGNALS ((int)(sizeof cleanup_signals / sizeof cleanup_signals[0]))
static struct sigaction previous[NSIGNALS];

static void on_signal(int sig, siginfo_t *info, void *ctx) {
    int saved_errno = errno;
    int k = 0;
    while (k < NSIGNALS - 1 && cleanup_signals[k] != sig)
        k++;
    const struct sigaction *old = &previous[k];
    if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler == SIG_DFL) {
        unlink_live();
        signal(sig, SIG_DFL);
        raise(sig); /* blocked until we return, then fatal */
    } else {
        if (old->sa_flags & SA_SIGINFO)
            old->sa_sigaction(sig, info, ctx);
        else
            old->sa_handler(sig);
        /* Did that handler arrange to die of the signal? */
        struct sigaction now;
        sigset_t pending;
        if (sigaction(sig, NULL, &now) == 0 && !(now.sa_flags & SA_SIGINFO) &&
            now.sa_handler == SIG_DFL && sigpending(&pending) == 0 && sigismember(&pending, sig))
            unlink_live();
    }
    errno = saved_errno;
}

/* Run at each save: our handler for each cleanup signal whose action is
 * not "ignore" (chained to the action it replaces: an application may set
 * its own handler after an earlier save), and "ignore" for SIGXFSZ if it
 * has its default action. Under a lock, for saves on several threads. */
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

static void install_handlers(void) {
    pthread_mutex_lock(&install_lock);
    for (int k = 0; k < NSIGNALS; k++) {
        struct sigaction old;
        if (sigaction(cleanup_signals[k], NULL, &old) != 0)
            continue;
        int info = (old.sa_flags & SA_SIGINFO) != 0;
        if ((info && old.sa_sigaction == on_signal) || (!info && old.sa_handler == SIG_IGN))
            continue;
        previous[k] = old;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_signal;
        sa.sa_mask = old.sa_mask;
        sa.sa_flags = SA_SIGINFO | (old.sa_flags & SA_RESTART);
        sigaction(cleanup_signals[k], &sa, NULL);
    }
    struct sigaction xfsz;
    if (sigaction(SIGXFSZ, NULL, &xfsz) == 0 && !(xfsz.sa_flags & SA_SIGINFO) &&
        xfsz.sa_handler == SIG_DFL)
        signal(SIGXFSZ, SIG_IGN);
    pthread_mutex_unlock(&install_lock);
}

/* ----------------------------------------------------------- the writer */

int nnrt_atomic_open(nnrt_atomic_file *af, const char *path) {
    af->f = NULL;
    af->path = path;
    af->tmp = NULL;
    af->err = 0;
    /* A device, FIFO or socket (/dev/null, /dev/full, a pipe): written in
     * place, as the compiler's outputs are (docs/CLI.md); a rename would
     * replace the device node itself (as root, /dev/null with a file). A
     * directory goes on to fail at the rename. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        af->f = fopen(path, "wb");
        if (!af->f)
            return nnrt_error(NNRT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NNRT_OK;
    }
    install_handlers();
    size_t len = strlen(path);
    char *tmp = malloc(len + sizeof ".tmp.XXXXXX");
    if (!tmp)
        return nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);

    /* Not mkstemp(): it creates the file with mode 0600, while a saved
     * parameter file should get the usual 0666 & ~umask like any other
     * file the user writes. So pick the suffix ourselves and let O_EXCL
     * refuse names that are taken. */
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t x = (uint64_t)nnrt_now_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)af;
    int fd = -1;
    /* The cleanup signals wait while the file is made and listed, so that
     * none finds it unlisted (or a half-written name listed). */
    sigset_t block, old_mask;
    sigemptyset(&block);
    for (int k = 0; k < NSIGNALS; k++)
        sigaddset(&block, cleanup_signals[k]);
    pthread_sigmask(SIG_BLOCK, &block, &old_mask);
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        memcpy(tmp, path, len);
        memcpy(tmp + len, ".tmp.", 5);
        for (int i = 0; i < 6; i++) {
            /* splitmix64 step: scrambles the seed into well-spread digits */
            x += 0x9e3779b97f4a7c15ull;
            uint64_t z = x;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            z ^= z >> 31;
            tmp[len + 5 + i] = digits[z % (sizeof digits - 1)];
        }
        tmp[len + 11] = '\0';
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    int e = errno;
    if (fd >= 0)
        live_add(tmp);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    if (fd < 0) {
        nnrt_error(NNRT_ERR_IO, "%s: cannot create temporary file %s: %s", path, tmp,
                   strerror(e));
        free(tmp);
        return NNRT_ERR_IO;
    }
    af->tmp = tmp;
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        e = errno;
        close(fd);
        nnrt_atomic_abort(af);
        return nnrt_error(NNRT_ERR_IO, "%s: cannot open temporary file: %s", path,
                          strerror(e));
    }
    return NNRT_OK;
}

void nnrt_atomic_write(nnrt_atomic_file *af, const void *data, size_t n) {
    if (af->err || n == 0)
        return;
    errno = 0;
    if (fwrite(data, 1, n, af->f) != n)
        af->err = errno ? errno : EIO;
}

void nnrt_atomic_printf(nnrt_atomic_file *af, const char *fmt, ...) {
    if (af->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    errno = 0;
    if (vfprintf(af->f, fmt, ap) < 0)
        af->err = errno ? errno : EIO;
    va_end(ap);
}

void nnrt_atomic_abort(nnrt_atomic_file *af) {
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
    }
    if (af->tmp) {
        unlink(af->tmp);
        live_remove(af->tmp);
        free(af->tmp);
        af->tmp = NULL;
    }
}

/* fsync the directory holding path, so the rename itself survives a crash.
 * Best effort: some file systems refuse fsync on directories. */
static void sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int nnrt_atomic_commit(nnrt_atomic_file *af) {
    NNRT_ASSERT(af->f);
    const char *what = NULL;
    int e = af->err;
    if (e)
        what = "write";
    else if (ferror(af->f))
        what = "write", e = EIO; /* a write not made through nnrt_atomic_write */
    else if (fflush(af->f) != 0)
        what = "write", e = errno;
    else if (af->tmp && fsync(fileno(af->f)) != 0) /* (no fsync for a device or a pipe: EINVAL) */
        what = "fsync", e = errno;
    /* fclose can report a deferred write error too, so check it as well. */
    int closed = fclose(af->f);
    af->f = NULL;
    if (!what && closed != 0)
        what = "close", e = errno;
    if (!what && af->tmp && rename(af->tmp, af->path) != 0)
        what = "rename", e = errno;
    if (what) {
        nnrt_error(NNRT_ERR_IO, "%s: %s failed: %s", af->path, what, strerror(e));
        nnrt_atomic_abort(af);
        return NNRT_ERR_IO;
    }
    if (!af->tmp) /* written in place */
        return NNRT_OK;
    live_remove(af->tmp);
    free(af->tmp);
    af->tmp = NULL;
    sync_parent_dir(af->path);
    return NNRT_OK;
}
