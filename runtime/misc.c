/*
 * misc.c - small runtime pieces with no better home: affine sizes, the
 * clock, message formatting helpers, checked size arithmetic. The atomic
 * file writer is in atomic.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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
    for (int i = 0; i < rank; i++)
        if (!nnrt_mul_size(n, shape[i], &n))
            return 0;
    *count = n;
    return 1;
}

int nnrt_open_regular(const char *path, FILE **f, int64_t *size) {
    *f = fopen(path, "rb");
    if (!*f)
        return nnrt_error(NNRT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = NNRT_OK;
    if (fstat(fileno(*f), &st) != 0)
        rc = nnrt_error(NNRT_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = nnrt_error(NNRT_ERR_IO, "%s: not a regular file", path);
    if (rc) {
        fclose(*f);
        *f = NULL;
        return rc;
    }
    *size = (int64_t)st.st_size;
    return NNRT_OK;
}
