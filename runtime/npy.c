/*
 * npy.c - NumPy .npy files: a strict reader and a writer.
 *
 * Format (numpy/lib/format.py, NEP 1):
 *
 *     "\x93NUMPY" major minor    6 + 2 bytes
 *     header length              uint16 LE (v1.0) or uint32 LE (v2.0, v3.0)
 *     header                     a Python dict literal, padded with spaces
 *                                and ended by '\n', e.g.
 *                                {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 *     data                       count * itemsize bytes, C order
 *
 * The header is parsed as the small fixed grammar NumPy writes, not as
 * Python: exactly the keys 'descr', 'fortran_order' and 'shape', once each.
 * Every size read from the file is checked against the file's real size
 * before anything is allocated, so a hostile file can make us allocate at
 * most about its own size.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt_internal.h"

/* NumPy itself refuses headers over 10000 bytes by default; allow more, but
 * keep a bound so a bogus length cannot make us read a huge "header". */
#define NPY_MAX_HEADER (1 << 20)

/* NumPy pads a header's first axis for in-place growth (numpy >= 1.24
 * GROWTH_AXIS_MAX_DIGITS); we pad the same way so files match np.save's. */
#define NPY_GROWTH_DIGITS 21

/* ------------------------------------------------------- header parser */

typedef struct NpyParser {
    const char *path;
    const char *start, *p, *end;
} NpyParser;

/* Reports a header syntax error with the byte offset where it was seen. */
static int bad_header(NpyParser *ps, const char *what) {
    return nnrt_error(NNRT_ERR_FORMAT, "%s: bad .npy header: %s at header byte %td", ps->path,
                      what, ps->p - ps->start);
}

static void skip_ws(NpyParser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

static int accept(NpyParser *ps, char c) {
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return 1;
    }
    return 0;
}

/* string = "'" chars "'" | '"' chars '"', with no escapes (NumPy never
 * writes any in these fields); copied to buf, NUL-terminated. */
static int parse_string(NpyParser *ps, char *buf, size_t size) {
    skip_ws(ps);
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
        return bad_header(ps, "expected a quoted string");
    char quote = *ps->p++;
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != quote) {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20 || c == '\\' || c >= 0x7f)
            return bad_header(ps, "unexpected character in string");
        if (n + 1 >= size)
            return bad_header(ps, "string too long");
        buf[n++] = (char)c;
        ps->p++;
    }
    if (ps->p >= ps->end)
        return bad_header(ps, "unterminated string");
    ps->p++;
    buf[n] = '\0';
    return NNRT_OK;
}

/* A Python int as NumPy writes a dim: decimal digits, no sign, no leading
 * zero, at most INT64_MAX. */
static int parse_dim(NpyParser *ps, int64_t *out) {
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '-')
        return bad_header(ps, "negative dim in 'shape'");
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
        return bad_header(ps, "expected a dim in 'shape'");
    if (*ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' && ps->p[1] <= '9')
        return bad_header(ps, "dim with a leading zero in 'shape'");
    int64_t v = 0;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        int d = *ps->p - '0';
        if (v > (INT64_MAX - d) / 10)
            return bad_header(ps, "dim too large in 'shape'");
        v = v * 10 + d;
        ps->p++;
    }
    *out = v;
    return NNRT_OK;
}

/* shape = "(" ")" | "(" dim "," ")" | "(" dim ("," dim)+ ","? ")"
 * A one-element tuple needs its comma: "(5)" is the int 5 in Python. */
static int parse_shape(NpyParser *ps, int *rank, int64_t *shape) {
    if (!accept(ps, '('))
        return bad_header(ps, "'shape' is not a tuple");
    int n = 0, commas = 0;
    if (accept(ps, ')')) {
        *rank = 0;
        return NNRT_OK;
    }
    for (;;) {
        int64_t d = 0;
        int rc = parse_dim(ps, &d);
        if (rc)
            return rc;
        if (n == NNRT_MAXRANK)
            return bad_header(ps, "'shape' has more than 4 dims");
        shape[n++] = d;
        if (accept(ps, ')'))
            break;
        if (!accept(ps, ','))
            return bad_header(ps, "expected ',' or ')' in 'shape'");
        commas++;
        if (accept(ps, ')'))
            break;
    }
    if (n == 1 && commas == 0)
        return bad_header(ps, "'shape' is not a tuple");
    *rank = n;
    return NNRT_OK;
}

typedef struct NpyHeader {
    char descr[16];
    int fortran;
    int rank;
    int64_t shape[NNRT_MAXRANK];
} NpyHeader;

/* dict = "{" (key ":" value ",")* (key ":" value)? "}" ws* */
static int parse_header(NpyParser *ps, NpyHeader *h) {
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    if (!accept(ps, '{'))
        return bad_header(ps, "expected '{'");
    while (!accept(ps, '}')) {
        char key[32];
        int rc = parse_string(ps, key, sizeof key);
        if (rc)
            return rc;
        if (!accept(ps, ':'))
            return bad_header(ps, "expected ':' after a key");
        if (strcmp(key, "descr") == 0) {
            if (have_descr++)
                return bad_header(ps, "duplicate key 'descr'");
            if ((rc = parse_string(ps, h->descr, sizeof h->descr)))
                return rc;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (have_fortran++)
                return bad_header(ps, "duplicate key 'fortran_order'");
            skip_ws(ps);
            if (ps->end - ps->p >= 4 && memcmp(ps->p, "True", 4) == 0)
                h->fortran = 1, ps->p += 4;
            else if (ps->end - ps->p >= 5 && memcmp(ps->p, "False", 5) == 0)
                h->fortran = 0, ps->p += 5;
            else
                return bad_header(ps, "'fortran_order' is not True or False");
        } else if (strcmp(key, "shape") == 0) {
            if (have_shape++)
                return bad_header(ps, "duplicate key 'shape'");
            if ((rc = parse_shape(ps, &h->rank, h->shape)))
                return rc;
        } else {
            return bad_header(ps, "unknown key");
        }
        if (accept(ps, '}'))
            break;
        if (!accept(ps, ','))
            return bad_header(ps, "expected ',' or '}'");
    }
    /* NumPy pads with spaces and ends with '\n'. */
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
    if (ps->p != ps->end)
        return bad_header(ps, "garbage after the dict");
    if (!have_descr)
        return bad_header(ps, "missing key 'descr'");
    if (!have_fortran)
        return bad_header(ps, "missing key 'fortran_order'");
    if (!have_shape)
        return bad_header(ps, "missing key 'shape'");
    return NNRT_OK;
}

/* ---------------------------------------------------------------- reader */

void nnrt_array_free(nnrt_array *a) {
    if (!a)
        return;
    free(a->data);
    a->data = NULL;
    a->count = 0;
}

static uint32_t le32(const unsigned char *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Reads exactly n bytes; the caller has checked n against the file size, so
 * a short read means a read error or a file changing under us. */
static int read_exact(FILE *f, const char *path, void *buf, size_t n) {
    if (n && fread(buf, 1, n, f) != n)
        return nnrt_error(NNRT_ERR_IO, "%s: read failed: %s", path,
                          ferror(f) ? strerror(errno) : "unexpected end of file");
    return NNRT_OK;
}

/* Reads count 8-byte values and narrows them to 4 bytes, in chunks so the
 * wide data never needs a second full-size buffer: '<i8' to int32 (values
 * outside int32 are an error), '<f8' to float32 (NaN and infinities kept,
 * finite values beyond float32's range an error; the rest rounded to
 * nearest). */
static int read_narrowed(FILE *f, const char *path, int is_float, void *out, int64_t count) {
    union { int64_t i[1024]; double d[1024]; } buf;
    for (int64_t done = 0; done < count;) {
        size_t n = count - done < 1024 ? (size_t)(count - done) : 1024;
        int rc = read_exact(f, path, &buf, n * 8);
        if (rc)
            return rc;
        for (size_t i = 0; i < n; i++) {
            int64_t at = done + (int64_t)i;
            if (is_float) {
                double v = buf.d[i];
                float x = (float)v;
                if (isinf(x) && isfinite(v))
                    return nnrt_error(NNRT_ERR_RANGE,
                                      "%s: element %" PRId64 " (%g) is beyond float32's range", path,
                                      at, v);
                ((float *)out)[at] = x;
            } else {
                if (buf.i[i] < INT32_MIN || buf.i[i] > INT32_MAX)
                    return nnrt_error(NNRT_ERR_RANGE,
                                      "%s: value %" PRId64 " at index %" PRId64
                                      " does not fit in int32",
                                      path, buf.i[i], at);
                ((int32_t *)out)[at] = (int32_t)buf.i[i];
            }
        }
        done += (int64_t)n;
    }
    return NNRT_OK;
}

int nnrt_npy_read_stream(FILE *f, const char *path, int64_t fsize, nnrt_array *out) {
    unsigned char pre[12];
    if (fsize < 10)
        return nnrt_error(NNRT_ERR_FORMAT, "%s: not a .npy file (only %" PRId64 " bytes)", path,
                          fsize);
    int rc = read_exact(f, path, pre, 10);
    if (rc)
        return rc;
    if (memcmp(pre, "\x93NUMPY", 6) != 0)
        return nnrt_error(NNRT_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
    int major = pre[6], minor = pre[7];
    int64_t hlen, prefix;
    if (major == 1 && minor == 0) {
        hlen = pre[8] | pre[9] << 8;
        prefix = 10;
    } else if ((major == 2 || major == 3) && minor == 0) {
        if (fsize < 12)
            return nnrt_error(NNRT_ERR_FORMAT, "%s: truncated .npy header", path);
        if ((rc = read_exact(f, path, pre + 10, 2)))
            return rc;
        hlen = le32(pre + 8);
        prefix = 12;
    } else {
        return nnrt_error(NNRT_ERR_FORMAT, "%s: unsupported .npy format version %d.%d", path,
                          major, minor);
    }
    if (hlen > fsize - prefix)
        return nnrt_error(NNRT_ERR_FORMAT,
                          "%s: truncated: header needs %" PRId64 " bytes but the file has %" PRId64
                          " after the prefix",
                          path, hlen, fsize - prefix);
    if (hlen > NPY_MAX_HEADER)
        return nnrt_error(NNRT_ERR_FORMAT, "%s: .npy header of %" PRId64 " bytes is too long",
                          path, hlen);

    char *text = malloc((size_t)hlen + 1);
    if (!text)
        return nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);
    if ((rc = read_exact(f, path, text, (size_t)hlen))) {
        free(text);
        return rc;
    }
    NpyParser ps = {path, text, text, text + hlen};
    NpyHeader h = {0};
    rc = parse_header(&ps, &h);
    free(text);
    if (rc)
        return rc;

    int64_t itemsize;
    nnrt_dtype dtype;
    if (strcmp(h.descr, "<f4") == 0)
        dtype = NNRT_F32, itemsize = 4;
    else if (strcmp(h.descr, "<f8") == 0)
        dtype = NNRT_F32, itemsize = 8;
    else if (strcmp(h.descr, "<i4") == 0)
        dtype = NNRT_I32, itemsize = 4;
    else if (strcmp(h.descr, "<i8") == 0)
        dtype = NNRT_I32, itemsize = 8;
    else
        return nnrt_error(NNRT_ERR_FORMAT,
                          "%s: dtype '%s' is not supported (want '<f4', '<f8', '<i4' or '<i8')",
                          path, h.descr);
    if (h.fortran)
        return nnrt_error(NNRT_ERR_FORMAT,
                          "%s: Fortran-order arrays are not supported; save a C-order copy", path);
    int64_t count, nbytes, have = fsize - prefix - hlen;
    if (!nnrt_shape_count(h.rank, h.shape, &count) || !nnrt_mul_size(count, itemsize, &nbytes))
        return nnrt_error(NNRT_ERR_FORMAT, "%s: shape is too large", path);
    if (nbytes > have)
        return nnrt_error(NNRT_ERR_FORMAT,
                          "%s: truncated: data needs %" PRId64 " bytes but the file has %" PRId64,
                          path, nbytes, have);
    if (nbytes < have)
        return nnrt_error(NNRT_ERR_FORMAT, "%s: %" PRId64 " unexpected bytes after the data",
                          path, have - nbytes);

    /* count * 4 <= file size, so this allocation is bounded by the file. */
    void *data = malloc(count ? (size_t)count * 4 : 1);
    if (!data)
        return nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory for %" PRId64 " elements", path,
                          count);
    rc = itemsize == 8 ? read_narrowed(f, path, dtype == NNRT_F32, data, count)
                       : read_exact(f, path, data, (size_t)count * 4);
    if (rc) {
        free(data);
        return rc;
    }
    out->dtype = dtype;
    out->rank = h.rank;
    for (int i = 0; i < NNRT_MAXRANK; i++)
        out->shape[i] = i < h.rank ? h.shape[i] : 0;
    out->count = count;
    out->data = data;
    return NNRT_OK;
}

int nnrt_npy_read(const char *path, nnrt_array *out) {
    if (!path || !out)
        return nnrt_error(NNRT_ERR_ARG, "nnrt_npy_read: NULL argument");
    memset(out, 0, sizeof *out);
    FILE *f;
    int64_t size;
    int rc = nnrt_open_regular(path, &f, &size);
    if (rc)
        return rc;
    rc = nnrt_npy_read_stream(f, path, size, out);
    fclose(f);
    return rc;
}

/* ---------------------------------------------------------------- writer */

int nnrt_npy_write(const char *path, nnrt_dtype dtype, int rank, const int64_t *shape,
                   const void *data) {
    if (!path)
        return nnrt_error(NNRT_ERR_ARG, "nnrt_npy_write: NULL path");
    if (dtype != NNRT_F32 && dtype != NNRT_I32)
        return nnrt_error(NNRT_ERR_ARG, "%s: unknown dtype %d", path, (int)dtype);
    if (rank < 0 || rank > NNRT_MAXRANK || (rank > 0 && !shape))
        return nnrt_error(NNRT_ERR_ARG, "%s: bad rank %d", path, rank);
    int64_t count;
    if (!nnrt_shape_count(rank, shape, &count) || count > INT64_MAX / 4)
        return nnrt_error(NNRT_ERR_ARG, "%s: bad shape", path);
    if (count > 0 && !data)
        return nnrt_error(NNRT_ERR_ARG, "%s: NULL data", path);

    /* The dict exactly as np.save writes it (keys sorted, repr'd values,
     * "(5,)" for one dim, "()" for a scalar). */
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     dtype == NNRT_F32 ? "<f4" : "<i4");
    for (int i = 0; i < rank; i++)
        n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%s%" PRId64, i ? ", " : "", shape[i]);
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%s), }", rank == 1 ? "," : "");
    if (rank > 0) {
        int digits = snprintf(NULL, 0, "%" PRId64, shape[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS; i++)
            hdr[n++] = ' ';
    }
    /* Pad with spaces so that 10-byte prefix + header + '\n' is a multiple
     * of 64. Like NumPy, an already aligned header would get 64 more; with
     * the growth padding above that needs about 35 digits of dims, so it
     * only happens for shapes NumPy itself cannot create. */
    int pad = 64 - (10 + n + 1) % 64;
    for (int i = 0; i < pad; i++)
        hdr[n++] = ' ';
    hdr[n++] = '\n';
    NNRT_ASSERT(n < (int)sizeof hdr && (10 + n) % 64 == 0);

    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xff),
                             (unsigned char)(n >> 8)};
    nnrt_atomic_file af;
    int rc = nnrt_atomic_open(&af, path);
    if (rc)
        return rc;
    nnrt_atomic_write(&af, pre, sizeof pre);
    nnrt_atomic_write(&af, hdr, (size_t)n);
    if (count > 0)
        nnrt_atomic_write(&af, data, (size_t)count * 4);
    return nnrt_atomic_commit(&af); /* reports the first failed write */
}
