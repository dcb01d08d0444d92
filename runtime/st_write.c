/*
 * st_write.c - writing safetensors files (the format is described in
 * safetensors.c): the header built as the reference writer builds it (F32
 * tensors, names checked to be unique UTF-8, data 8-byte aligned), then the
 * data, through the atomic writer.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

/* ---------------------------------------------------------------- writer */

/* A growing byte buffer; `failed` latches on OOM so appends need no
 * individual checks. */
typedef struct Buf {
    char *s;
    size_t len, cap;
    int failed;
} Buf;

static void buf_add(Buf *b, const char *s, size_t n) {
    if (b->failed || !nnrt_grow((void **)&b->s, &b->cap, b->len + n + 1, 1)) {
        b->failed = 1;
        return;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void buf_str(Buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_printf(Buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void buf_printf(Buf *b, const char *fmt, ...) {
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    NNRT_ASSERT(n >= 0 && (size_t)n < sizeof tmp); /* only used for numbers */
    buf_add(b, tmp, (size_t)n);
}

/* A JSON string literal; the name has already been checked to be UTF-8. */
static void buf_json_string(Buf *b, const char *s) {
    buf_str(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            buf_add(b, esc, 2);
        } else if (*p < 0x20) {
            buf_printf(b, "\\u%04x", *p);
        } else {
            buf_add(b, (const char *)p, 1);
        }
    }
    buf_str(b, "\"");
}

static int valid_utf8(const char *s) {
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    while (p < end) {
        int n = nnrt_utf8_len(p, end);
        if (!n)
            return 0;
        p += n;
    }
    return 1;
}

/* Checks the arguments of nnrt_st_write and builds the padded header. */
static int st_build_header(const char *path, int n, const char *const *names, const int *ranks,
                           const int64_t (*shapes)[NNRT_MAXRANK], const float *const *data,
                           Buf *b) {
    char nbuf[80];
    if (n < 0 || (n > 0 && (!names || !ranks || !shapes || !data)))
        return nnrt_error(NNRT_ERR_ARG, "%s: nnrt_st_write: bad arguments", path);
    nnrt_key *keys = malloc((n ? (size_t)n : 1) * sizeof *keys);
    if (!keys)
        return nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);
    int64_t offset = 0;
    int rc = NNRT_OK;
    buf_str(b, "{");
    for (int i = 0; i < n && !rc; i++) {
        int64_t count, nbytes, next = 0;
        if (!names[i] || !valid_utf8(names[i]) || strcmp(names[i], "__metadata__") == 0)
            rc = nnrt_error(NNRT_ERR_ARG, "%s: tensor %d has a NULL, non-UTF-8 or reserved name",
                            path, i);
        else if (ranks[i] < 0 || ranks[i] > NNRT_MAXRANK ||
                 !nnrt_shape_count(ranks[i], shapes[i], &count) ||
                 !nnrt_mul_size(count, 4, &nbytes) || !nnrt_add_size(offset, nbytes, &next))
            rc = nnrt_error(NNRT_ERR_ARG, "%s: tensor '%s' has a bad rank or shape", path,
                            nnrt_printable(nbuf, sizeof nbuf, names[i]));
        else if (count > 0 && !data[i])
            rc = nnrt_error(NNRT_ERR_ARG, "%s: tensor '%s' has NULL data", path,
                            nnrt_printable(nbuf, sizeof nbuf, names[i]));
        if (rc)
            break;
        keys[i] = (nnrt_key){names[i], strlen(names[i])};
        if (i)
            buf_str(b, ",");
        buf_json_string(b, names[i]);
        buf_str(b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < ranks[i]; d++)
            buf_printf(b, "%s%" PRId64, d ? "," : "", shapes[i][d]);
        buf_printf(b, "],\"data_offsets\":[%" PRId64 ",", offset);
        offset = next;
        buf_printf(b, "%" PRId64 "]}", offset);
    }
    buf_str(b, "}");
    ptrdiff_t dup = rc ? -1 : nnrt_find_duplicate(keys, (size_t)n);
    if (dup >= 0)
        rc = nnrt_error(NNRT_ERR_ARG, "%s: tensor name '%s' given twice", path,
                        nnrt_printable(nbuf, sizeof nbuf, keys[dup].s));
    free(keys);
    /* Pad with spaces so the data starts 8-byte aligned, as the format's
     * reference writer does. */
    while (!rc && b->len % 8 != 0)
        buf_str(b, " ");
    if (!rc && b->failed)
        rc = nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);
    return rc;
}

int nnrt_st_write(const char *path, int n, const char *const *names, const int *ranks,
                  const int64_t (*shapes)[NNRT_MAXRANK], const float *const *data) {
    if (!path)
        return nnrt_error(NNRT_ERR_ARG, "nnrt_st_write: NULL path");
    Buf b = {0};
    int rc = st_build_header(path, n, names, ranks, shapes, data, &b);
    if (rc) {
        free(b.s);
        return rc;
    }
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((uint64_t)b.len >> (8 * i));

    nnrt_atomic_file af;
    if ((rc = nnrt_atomic_open(&af, path))) {
        free(b.s);
        return rc;
    }
    nnrt_atomic_write(&af, len, 8);
    nnrt_atomic_write(&af, b.s, b.len);
    free(b.s);
    for (int i = 0; i < n; i++) {
        int64_t count;
        nnrt_shape_count(ranks[i], shapes[i], &count); /* validated above */
        if (count > 0)
            nnrt_atomic_write(&af, data[i], (size_t)count * sizeof(float));
    }
    return nnrt_atomic_commit(&af); /* reports the first failed write */
}
