/*
 * misc.c - small runtime pieces with no better home: affine sizes, the
 * clock, message formatting helpers and the atomic file writer used by the
 * .npy and safetensors writers.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rt_internal.h"

int64_t nnrt_size_eval(const nnrt_size *s, const int64_t *dyn) {
    /* Unsigned arithmetic: a nonsense descriptor wraps instead of being
     * undefined behaviour; the callers range-check the result. */
    uint64_t v = (uint64_t)s->c;
    if (dyn)
        for (int i = 0; i < NNRT_MAXDYN; i++)
            v += (uint64_t)s->k[i] * (uint64_t)dyn[i];
    return (int64_t)v;
}

double nnrt_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

const char *nnrt_printable(char *buf, size_t size, const char *name) {
    NNRT_ASSERT(size >= 8);
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        /* Room for the longest item (\xHH) plus "..." and the NUL. */
        if (o + 4 + 4 > size) {
            memcpy(buf + o, "...", 4);
            return buf;
        }
        if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
            buf[o++] = (char)*p;
        } else {
            snprintf(buf + o, 5, "\\x%02x", *p);
            o += 4;
        }
    }
    buf[o] = '\0';
    return buf;
}

const char *nnrt_shape_str(char *buf, size_t size, int rank, const int64_t *shape) {
    size_t o = 0;
    buf[0] = '\0';
    o += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < rank && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (o < size)
        snprintf(buf + o, size - o, "]");
    return buf;
}

int nnrt_shape_count(int rank, const int64_t *shape, int64_t *count) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0)
            return 0;
        if (shape[i] != 0 && n > INT64_MAX / shape[i])
            return 0;
        n *= shape[i];
    }
    *count = n;
    return 1;
}

/* ------------------------------------------------------- atomic file write */

int nnrt_atomic_open(nnrt_atomic_file *af, const char *path) {
    af->f = NULL;
    af->path = path;
    af->tmp = NULL;
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
    if (fd < 0) {
        int e = errno;
        nnrt_error(NNRT_ERR_IO, "%s: cannot create temporary file %s: %s", path, tmp,
                   strerror(e));
        free(tmp);
        return NNRT_ERR_IO;
    }
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return nnrt_error(NNRT_ERR_IO, "%s: cannot open temporary file: %s", path,
                          strerror(e));
    }
    af->tmp = tmp;
    return NNRT_OK;
}

void nnrt_atomic_abort(nnrt_atomic_file *af) {
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
    }
    if (af->tmp) {
        unlink(af->tmp);
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
    NNRT_ASSERT(af->f && af->tmp);
    const char *what = NULL;
    int e = 0;
    if (ferror(af->f))
        what = "write", e = EIO;
    else if (fflush(af->f) != 0)
        what = "write", e = errno;
    else if (fsync(fileno(af->f)) != 0)
        what = "fsync", e = errno;
    /* fclose can report a deferred write error too, so check it as well. */
    int closed = fclose(af->f);
    af->f = NULL;
    if (!what && closed != 0)
        what = "close", e = errno;
    if (!what && rename(af->tmp, af->path) != 0)
        what = "rename", e = errno;
    if (what) {
        nnrt_error(NNRT_ERR_IO, "%s: %s failed: %s", af->path, what, strerror(e));
        nnrt_atomic_abort(af);
        return NNRT_ERR_IO;
    }
    free(af->tmp);
    af->tmp = NULL;
    sync_parent_dir(af->path);
    return NNRT_OK;
}
