/*
 * safetensors.c - reading parameter files in the safetensors
 * format (https://github.com/huggingface/safetensors), F32 tensors only;
 * st_write.c writes them.
 *
 * Layout:
 *
 *     N        8 bytes, little-endian unsigned: length of the header
 *     header   N bytes of UTF-8 JSON, possibly padded with spaces:
 *              {"W": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]},
 *               "__metadata__": {"key": "value"}}
 *     data     the rest of the file; offsets are relative to its start
 *
 * The file is untrusted input, so the header parser is strict and bounded:
 *
 *  - It is schema-directed, not a general JSON parser: at each point it
 *    accepts only what may appear there (the top object, a tensor entry, a
 *    shape array, metadata strings). Nesting is therefore at most 3 deep by
 *    construction and there is no recursion for a "[[[[..." bomb to exhaust.
 *  - Everything else about JSON is checked: string escapes (\uXXXX with
 *    surrogate pairs), UTF-8, no raw control characters, integer syntax,
 *    no trailing commas, nothing but whitespace after the top object.
 *  - Duplicate keys are errors at every level (JSON leaves them undefined,
 *    so two readers could disagree on which tensor a name means).
 *  - Sizes are checked before use: N against the file size and a 100 MB cap;
 *    every tensor's offsets against the data section, its byte length
 *    against its shape, and tensors may not overlap. Allocations are thus
 *    bounded by the size of the file.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt_internal.h"

#define ST_MAX_HEADER (100u * 1024 * 1024)

/* ------------------------------------------------------------ JSON lexing */

typedef struct Json {
    const char *path;
    const unsigned char *start, *p, *end;
} Json;

static int json_error(Json *j, const char *what) {
    return nnrt_error(NNRT_ERR_FORMAT, "%s: bad safetensors header: %s at header byte %td",
                      j->path, what, j->p - j->start);
}

static void json_ws(Json *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* Skips whitespace, then consumes c if it is next. */
static int json_accept(Json *j, unsigned char c) {
    json_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return 1;
    }
    return 0;
}

static int json_expect(Json *j, unsigned char c, const char *what) {
    return json_accept(j, c) ? NNRT_OK : json_error(j, what);
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0 if there is none. */
int nnrt_utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0];
    int n;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the 2nd byte */
    if (c < 0x80)
        return 1;
    else if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        if (c == 0xed)
            hi = 0x9f; /* UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else
        return 0;
    if (end - p < n || p[1] < lo || p[1] > hi)
        return 0;
    for (int i = 2; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

static int hex4(const unsigned char *p, const unsigned char *end, unsigned *out) {
    if (end - p < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        unsigned d = c >= '0' && c <= '9'   ? c - '0'
                     : c >= 'a' && c <= 'f' ? c - 'a' + 10
                     : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                            : 16;
        if (d == 16)
            return 0;
        v = v * 16 + d;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(unsigned char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    } else if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    } else if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* string = '"' (utf8-char | escape)* '"'
 * Decodes into a malloc'd NUL-terminated buffer (*out, *len; the bytes may
 * contain NUL from \u0000, which is why the length is returned), or only
 * validates when out is NULL. A decoded string is never longer than its
 * JSON form, which sizes the buffer. */
static int json_string(Json *j, char **out, size_t *len) {
    json_ws(j);
    if (j->p >= j->end || *j->p != '"')
        return json_error(j, "expected a string");
    j->p++;
    const unsigned char *q = j->p;
    while (q < j->end && *q != '"')
        q += (*q == '\\' && q + 1 < j->end) ? 2 : 1;
    if (q >= j->end)
        return json_error(j, "unterminated string");
    unsigned char *buf = NULL, *o = NULL;
    if (out) {
        buf = malloc((size_t)(q - j->p) + 1);
        if (!buf)
            return nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", j->path);
        o = buf;
    }
    unsigned char tmp[4];
    int rc = NNRT_OK;
    while (*j->p != '"') {
        unsigned char c = *j->p;
        size_t n;
        if (c == '\\') {
            unsigned char e = j->p[1];
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                static const char decoded[] = "\"\\/\b\f\n\r\t";
                tmp[0] = (unsigned char)decoded[simple - "\"\\/bfnrt"];
                n = 1;
                j->p += 2;
            } else if (e == 'u') {
                unsigned cp, lo;
                if (!hex4(j->p + 2, j->end, &cp)) {
                    rc = json_error(j, "bad \\u escape");
                    break;
                }
                j->p += 6;
                if (cp >= 0xdc00 && cp <= 0xdfff) {
                    rc = json_error(j, "unpaired UTF-16 surrogate");
                    break;
                }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
                        !hex4(j->p + 2, j->end, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                        rc = json_error(j, "unpaired UTF-16 surrogate");
                        break;
                    }
                    j->p += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                n = put_utf8(tmp, cp);
            } else {
                rc = json_error(j, "bad escape in string");
                break;
            }
        } else if (c < 0x20) {
            rc = json_error(j, "control character in string");
            break;
        } else {
            int u = nnrt_utf8_len(j->p, j->end);
            if (!u) {
                rc = json_error(j, "invalid UTF-8 in string");
                break;
            }
            memcpy(tmp, j->p, (size_t)u);
            n = (size_t)u;
            j->p += u;
        }
        if (o) {
            memcpy(o, tmp, n);
            o += n;
        }
    }
    if (rc) {
        free(buf);
        return rc;
    }
    j->p++; /* closing quote */
    if (out) {
        *o = '\0';
        *out = (char *)buf;
        *len = (size_t)(o - buf);
    }
    return NNRT_OK;
}

/* A non-negative JSON integer: "0" or [1-9][0-9]*, at most INT64_MAX.
 * Fractions and exponents are valid JSON but not a size, so they are
 * rejected too. */
static int json_uint(Json *j, int64_t *out, const char *what) {
    char msg[64];
    json_ws(j);
    if (j->p < j->end && *j->p == '-') {
        snprintf(msg, sizeof msg, "negative %s", what);
        return json_error(j, msg);
    }
    if (j->p >= j->end || *j->p < '0' || *j->p > '9') {
        snprintf(msg, sizeof msg, "expected an integer %s", what);
        return json_error(j, msg);
    }
    int leading_zero = *j->p == '0';
    int64_t v = 0;
    int digits = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        int d = *j->p - '0';
        if (v > (INT64_MAX - d) / 10) {
            snprintf(msg, sizeof msg, "%s too large", what);
            return json_error(j, msg);
        }
        v = v * 10 + d;
        j->p++;
        digits++;
    }
    if (leading_zero && digits > 1)
        return json_error(j, "number with a leading zero");
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E')) {
        snprintf(msg, sizeof msg, "%s is not an integer", what);
        return json_error(j, msg);
    }
    *out = v;
    return NNRT_OK;
}

/* -------------------------------------------------- duplicate detection */

static int key_cmp(const void *a, const void *b) {
    const nnrt_key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Index in keys of a key that occurs twice, or -1. Sorts keys in place:
 * O(n log n), so a header with millions of names is still quick. */
ptrdiff_t nnrt_find_duplicate(nnrt_key *keys, size_t n) {
    if (n < 2)
        return -1; /* and keys may be NULL, which qsort must not get */
    qsort(keys, n, sizeof *keys, key_cmp);
    for (size_t i = 1; i < n; i++)
        if (key_cmp(&keys[i - 1], &keys[i]) == 0)
            return (ptrdiff_t)i;
    return -1;
}

/* Grows *arr (of *cap elements of size sz) to hold at least need. */
int nnrt_grow(void **arr, size_t *cap, size_t need, size_t sz) {
    if (need <= *cap)
        return 1;
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2 / sz)
            return 0;
        c *= 2;
    }
    void *p = realloc(*arr, c * sz);
    if (!p)
        return 0;
    *arr = p;
    *cap = c;
    return 1;
}

/* ----------------------------------------------------------- header parse */

/* What the header says about one tensor, before its data is read. */
typedef struct TensorInfo {
    char *name;
    int rank;
    int64_t shape[NNRT_MAXRANK];
    int64_t begin, end;
} TensorInfo;

typedef struct Header {
    TensorInfo *t;
    size_t n, cap;
} Header;

static void header_free(Header *h) {
    for (size_t i = 0; i < h->n; i++)
        free(h->t[i].name);
    free(h->t);
    h->t = NULL;
    h->n = h->cap = 0;
}

/* metadata = "{" (string ":" string ("," string ":" string)*)? "}"
 * Validated, duplicate keys rejected, contents ignored. */
static int parse_metadata(Json *j) {
    nnrt_key *keys = NULL;
    size_t n = 0, cap = 0;
    int rc = json_expect(j, '{', "expected '{' after \"__metadata__\"");
    if (!rc && !json_accept(j, '}')) {
        do {
            nnrt_key k;
            json_ws(j);
            k.s = (const char *)j->p; /* raw form: see the note below */
            if ((rc = json_string(j, NULL, NULL)))
                break;
            k.len = (size_t)((const char *)j->p - k.s);
            if (!nnrt_grow((void **)&keys, &cap, n + 1, sizeof *keys)) {
                rc = nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", j->path);
                break;
            }
            keys[n++] = k;
            if ((rc = json_expect(j, ':', "expected ':' in \"__metadata__\"")) ||
                (rc = json_string(j, NULL, NULL)))
                break;
        } while (json_accept(j, ','));
        if (!rc)
            rc = json_expect(j, '}', "expected ',' or '}' in \"__metadata__\"");
    }
    /* Metadata keys are compared in their raw JSON form: "a" and "\u0061"
     * slip through as different. Harmless, since we ignore the values. */
    if (!rc && nnrt_find_duplicate(keys, n) >= 0)
        rc = json_error(j, "duplicate key in \"__metadata__\"");
    free(keys);
    return rc;
}

/* shape = "[" (uint ("," uint)*)? "]" with at most NNRT_MAXRANK dims */
static int parse_shape(Json *j, TensorInfo *t) {
    int rc = json_expect(j, '[', "expected '[' for \"shape\"");
    if (rc || json_accept(j, ']'))
        return rc;
    do {
        int64_t d = 0;
        if ((rc = json_uint(j, &d, "dim")))
            return rc;
        if (t->rank == NNRT_MAXRANK)
            return json_error(j, "shape has more than 4 dims");
        t->shape[t->rank++] = d;
    } while (json_accept(j, ','));
    return json_expect(j, ']', "expected ',' or ']' in \"shape\"");
}

/* offsets = "[" uint "," uint "]" */
static int parse_offsets(Json *j, TensorInfo *t) {
    int rc;
    if ((rc = json_expect(j, '[', "expected '[' for \"data_offsets\"")) ||
        (rc = json_uint(j, &t->begin, "offset")) ||
        (rc = json_expect(j, ',', "expected ',' in \"data_offsets\"")) ||
        (rc = json_uint(j, &t->end, "offset")))
        return rc;
    return json_expect(j, ']', "expected ']' after two \"data_offsets\"");
}

/* tensor = "{" member ("," member)* "}", with each of "dtype", "shape" and
 * "data_offsets" exactly once and nothing else. */
static int parse_tensor(Json *j, TensorInfo *t) {
    int seen_dtype = 0, seen_shape = 0, seen_offsets = 0;
    char nbuf[80];
    int rc = json_expect(j, '{', "expected '{' for a tensor entry");
    if (rc)
        return rc;
    do {
        char *key;
        size_t klen;
        if ((rc = json_string(j, &key, &klen)))
            return rc;
        /* strlen(key) != klen: a \u0000 inside, so no key we know */
        int which = strlen(key) != klen ? -1
                    : strcmp(key, "dtype") == 0 ? 0
                    : strcmp(key, "shape") == 0 ? 1
                    : strcmp(key, "data_offsets") == 0 ? 2 : -1;
        free(key);
        if (which < 0)
            return json_error(j, "unknown key in a tensor entry");
        if ((rc = json_expect(j, ':', "expected ':' in a tensor entry")))
            return rc;
        if (which == 0) {
            char *dtype;
            size_t dlen;
            if (seen_dtype++)
                return json_error(j, "duplicate key \"dtype\"");
            if ((rc = json_string(j, &dtype, &dlen)))
                return rc;
            int ok = strcmp(dtype, "F32") == 0 && dlen == 3;
            if (!ok) {
                char dbuf[40];
                nnrt_error(NNRT_ERR_FORMAT,
                           "%s: tensor '%s' has dtype '%s'; only F32 is supported "
                           "(NumPy: .astype(np.float32))",
                           j->path,
                           nnrt_printable(nbuf, sizeof nbuf, t->name),
                           nnrt_printable(dbuf, sizeof dbuf, dtype));
            }
            free(dtype);
            if (!ok)
                return NNRT_ERR_FORMAT;
        } else if (which == 1) {
            if (seen_shape++)
                return json_error(j, "duplicate key \"shape\"");
            if ((rc = parse_shape(j, t)))
                return rc;
        } else {
            if (seen_offsets++)
                return json_error(j, "duplicate key \"data_offsets\"");
            if ((rc = parse_offsets(j, t)))
                return rc;
        }
    } while (json_accept(j, ','));
    if ((rc = json_expect(j, '}', "expected ',' or '}' in a tensor entry")))
        return rc;
    if (!seen_dtype || !seen_shape || !seen_offsets)
        return nnrt_error(NNRT_ERR_FORMAT, "%s: tensor '%s' lacks \"%s\"", j->path,
                          nnrt_printable(nbuf, sizeof nbuf, t->name),
                          !seen_dtype ? "dtype" : !seen_shape ? "shape" : "data_offsets");
    return NNRT_OK;
}

/* header = ws "{" (entry ("," entry)*)? "}" ws
 * entry  = string ":" (tensor | metadata) */
static int parse_header(Json *j, Header *h) {
    int seen_meta = 0, rc;
    if ((rc = json_expect(j, '{', "the header is not a JSON object")))
        return rc;
    if (!json_accept(j, '}')) {
        do {
            char *name;
            size_t len;
            if ((rc = json_string(j, &name, &len)))
                return rc;
            if ((rc = json_expect(j, ':', "expected ':' after a tensor name"))) {
                free(name);
                return rc;
            }
            if (strcmp(name, "__metadata__") == 0 && len == strlen(name)) {
                free(name);
                if (seen_meta++)
                    return json_error(j, "duplicate key \"__metadata__\"");
                if ((rc = parse_metadata(j)))
                    return rc;
                continue;
            }
            if (strlen(name) != len) {
                free(name);
                return json_error(j, "tensor name contains \\u0000");
            }
            if (!nnrt_grow((void **)&h->t, &h->cap, h->n + 1, sizeof *h->t)) {
                free(name);
                return nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", j->path);
            }
            TensorInfo *t = &h->t[h->n++];
            memset(t, 0, sizeof *t);
            t->name = name; /* owned by h from here on */
            if ((rc = parse_tensor(j, t)))
                return rc;
        } while (json_accept(j, ','));
        if ((rc = json_expect(j, '}', "expected ',' or '}' after a tensor entry")))
            return rc;
    }
    json_ws(j);
    if (j->p != j->end)
        return json_error(j, "garbage after the header object");
    return NNRT_OK;
}

static int begin_cmp(const void *a, const void *b) {
    const TensorInfo *x = *(TensorInfo *const *)a, *y = *(TensorInfo *const *)b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

/* Checks each tensor's extent against its shape and the data section, and
 * that names are unique and extents disjoint. */
static int check_tensors(const char *path, Header *h, int64_t data_len) {
    char nbuf[80], nbuf2[80];
    for (size_t i = 0; i < h->n; i++) {
        TensorInfo *t = &h->t[i];
        const char *name = nnrt_printable(nbuf, sizeof nbuf, t->name);
        int64_t count, nbytes;
        if (!nnrt_shape_count(t->rank, t->shape, &count) || !nnrt_mul_size(count, 4, &nbytes))
            return nnrt_error(NNRT_ERR_FORMAT, "%s: tensor '%s': shape is too large", path, name);
        if (t->end < t->begin)
            return nnrt_error(NNRT_ERR_FORMAT,
                              "%s: tensor '%s': data_offsets end %" PRId64 " < begin %" PRId64,
                              path, name, t->end, t->begin);
        if (t->end > data_len)
            return nnrt_error(NNRT_ERR_FORMAT,
                              "%s: truncated: tensor '%s' needs bytes %" PRId64 "..%" PRId64
                              " but data has %" PRId64,
                              path, name, t->begin, t->end, data_len);
        if (t->end - t->begin != nbytes)
            return nnrt_error(NNRT_ERR_FORMAT,
                              "%s: tensor '%s': %" PRId64 " data bytes for %" PRId64
                              " F32 elements (want %" PRId64 ")",
                              path, name, t->end - t->begin, count, nbytes);
    }

    nnrt_key *keys = malloc((h->n ? h->n : 1) * sizeof *keys);
    if (!keys)
        return nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < h->n; i++)
        keys[i] = (nnrt_key){h->t[i].name, strlen(h->t[i].name)};
    ptrdiff_t dup = nnrt_find_duplicate(keys, h->n);
    int rc = NNRT_OK;
    if (dup >= 0)
        rc = nnrt_error(NNRT_ERR_FORMAT, "%s: tensor '%s' appears twice", path,
                        nnrt_printable(nbuf, sizeof nbuf, keys[dup].s));
    free(keys);
    if (rc)
        return rc;

    /* Sort by begin offset: then only neighbours can overlap. Empty tensors
     * occupy no bytes and overlap nothing. */
    TensorInfo **by = malloc((h->n ? h->n : 1) * sizeof *by);
    if (!by)
        return nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);
    size_t m = 0;
    for (size_t i = 0; i < h->n; i++)
        if (h->t[i].end > h->t[i].begin)
            by[m++] = &h->t[i];
    if (m > 1)
        qsort(by, m, sizeof *by, begin_cmp);
    for (size_t i = 1; i < m && !rc; i++)
        if (by[i]->begin < by[i - 1]->end)
            rc = nnrt_error(NNRT_ERR_FORMAT,
                            "%s: tensors '%s' and '%s' overlap in the data section", path,
                            nnrt_printable(nbuf, sizeof nbuf, by[i - 1]->name),
                            nnrt_printable(nbuf2, sizeof nbuf2, by[i]->name));
    free(by);
    return rc;
}

/* ---------------------------------------------------------------- reader */

void nnrt_st_free(nnrt_safetensors *st) {
    if (!st)
        return;
    for (int i = 0; i < st->n; i++) {
        free(st->t[i].name);
        free(st->t[i].data);
    }
    free(st->t);
    st->t = NULL;
    st->n = 0;
}

const nnrt_st_tensor *nnrt_st_find(const nnrt_safetensors *st, const char *name) {
    if (!st || !name)
        return NULL;
    for (int i = 0; i < st->n; i++)
        if (strcmp(st->t[i].name, name) == 0)
            return &st->t[i];
    return NULL;
}

static int read_exact(FILE *f, const char *path, void *buf, size_t n) {
    if (n && fread(buf, 1, n, f) != n)
        return nnrt_error(NNRT_ERR_IO, "%s: read failed: %s", path,
                          ferror(f) ? strerror(errno) : "unexpected end of file");
    return NNRT_OK;
}

/* Parses and checks the header, then reads every tensor's data. On error
 * out may hold a partial result; the caller frees it. */
static int st_read_file(FILE *f, const char *path, int64_t fsize, nnrt_safetensors *out) {
    unsigned char b[8];
    if (fsize < 8)
        return nnrt_error(NNRT_ERR_FORMAT, "%s: not a safetensors file (only %" PRId64 " bytes)",
                          path, fsize);
    int rc = read_exact(f, path, b, 8);
    if (rc)
        return rc;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | b[i];
    /* Compare as uint64 first: n may be anything up to 2^64 - 1. A length
     * past the end whose header would not start a JSON object (white space
     * or '{') is some other file (a vocabulary, a program), not a cut one */
    int c = n > (uint64_t)(fsize - 8) && fsize > 8 ? fgetc(f) : '{';
    if (!strchr("{ \t\r\n", c) || c == 0)
        return nnrt_error(NNRT_ERR_FORMAT, "%s: not a safetensors file (no JSON header after its first 8 bytes)",
                          path);
    if (n > (uint64_t)(fsize - 8))
        return nnrt_error(NNRT_ERR_FORMAT,
                          "%s: truncated: header length %" PRIu64 " but the file has %" PRId64
                          " bytes after it",
                          path, n, fsize - 8);
    if (n > ST_MAX_HEADER)
        return nnrt_error(NNRT_ERR_FORMAT, "%s: header of %" PRIu64 " bytes exceeds %u", path, n,
                          ST_MAX_HEADER);

    unsigned char *text = malloc(n ? (size_t)n : 1);
    if (!text)
        return nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);
    Header h = {0};
    if (!(rc = read_exact(f, path, text, (size_t)n))) {
        Json j = {path, text, text, text + n};
        rc = parse_header(&j, &h);
    }
    free(text);
    int64_t data_start = 8 + (int64_t)n, data_len = fsize - data_start;
    if (!rc)
        rc = check_tensors(path, &h, data_len);
    if (!rc && h.n > INT32_MAX)
        rc = nnrt_error(NNRT_ERR_FORMAT, "%s: too many tensors", path);
    if (!rc && !(out->t = calloc(h.n ? h.n : 1, sizeof *out->t)))
        rc = nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);

    for (size_t i = 0; !rc && i < h.n; i++) {
        TensorInfo *t = &h.t[i];
        nnrt_st_tensor *o = &out->t[out->n++];
        o->name = t->name;
        t->name = NULL; /* moved */
        o->rank = t->rank;
        memcpy(o->shape, t->shape, sizeof o->shape);
        o->count = (t->end - t->begin) / 4;
        /* Bounded by the file size: check_tensors put end within it. */
        o->data = malloc(o->count ? (size_t)o->count * sizeof(float) : 1);
        if (!o->data)
            rc = nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);
        else if (fseeko(f, (off_t)(data_start + t->begin), SEEK_SET) != 0)
            rc = nnrt_error(NNRT_ERR_IO, "%s: seek failed: %s", path, strerror(errno));
        else
            rc = read_exact(f, path, o->data, (size_t)o->count * sizeof(float));
    }
    header_free(&h);
    return rc;
}

int nnrt_st_read(const char *path, nnrt_safetensors *out) {
    if (!path || !out)
        return nnrt_error(NNRT_ERR_ARG, "nnrt_st_read: NULL argument");
    out->n = 0;
    out->t = NULL;
    FILE *f;
    int64_t size;
    int rc = nnrt_open_regular(path, &f, &size);
    if (rc)
        return rc;
    rc = st_read_file(f, path, size, out);
    fclose(f);
    if (rc)
        nnrt_st_free(out);
    return rc;
}
