/*
 * corpus.c - text files as examples (nnrt_data.h): UTF-8 checking, the line
 * and token reader that counting (nnrt_text_count) and conversion
 * (nnrt_corpus_read) share, and the layouts that put boundary and padding
 * ids around an example's words.
 *
 * A file is read a line at a time with getline(), so a line may be of any
 * length; each line is checked as UTF-8 as a whole before it is split into
 * tokens at ASCII white space (space, tab, CR, VT, FF).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnrt_data.h"
#include "rt_internal.h"

#define LABEL_PREFIX "__label__"
#define LABEL_PREFIX_LEN 9

int64_t nnrt_utf8_invalid(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = u[i];
        if (c >= 0x01 && c < 0x80) {
            i++;
            continue;
        }
        int n;             /* continuation bytes */
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF)
            n = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            if (c == 0xF4)
                hi = 0x8F; /* over U+10FFFF */
        } else
            return (int64_t)i; /* NUL, a stray continuation byte, C0/C1, F5..FF */
        if (i + (size_t)n >= len)
            return (int64_t)i; /* cut short by the end of the line */
        if (u[i + 1] < lo || u[i + 1] > hi)
            return (int64_t)i;
        for (int k = 2; k <= n; k++)
            if (u[i + (size_t)k] < 0x80 || u[i + (size_t)k] > 0xBF)
                return (int64_t)i;
        i += (size_t)n + 1;
    }
    return -1;
}

/* ---------------------------------------------------------------- reader */

typedef struct Reader {
    FILE *f;
    const char *path;
    char *buf;
    size_t cap;
    int64_t len;    /* of the current line, without its '\n' */
    int64_t lineno; /* 1-based */
    int64_t pos;    /* next byte to tokenize */
} Reader;

static int reader_open(Reader *r, const char *path) {
    memset(r, 0, sizeof *r);
    r->path = path;
    r->f = fopen(path, "rb");
    if (!r->f)
        return nnrt_error(NNRT_ERR_IO, "%s: %s", path, strerror(errno));
    return NNRT_OK;
}

static void reader_close(Reader *r) {
    if (r->f)
        fclose(r->f);
    free(r->buf);
    r->f = NULL;
    r->buf = NULL;
}

/* The next line: 1 when there is one, 0 at the end of the file, or a
 * negative NNRT code after an error (a read error, invalid UTF-8). */
static int reader_line(Reader *r) {
    errno = 0;
    ssize_t n = getline(&r->buf, &r->cap, r->f);
    if (n < 0) {
        if (ferror(r->f))
            return -nnrt_error(NNRT_ERR_IO, "%s:%" PRId64 ": %s", r->path, r->lineno + 1,
                               strerror(errno ? errno : EIO));
        if (errno == ENOMEM)
            return -nnrt_error(NNRT_ERR_NOMEM, "%s:%" PRId64 ": out of memory", r->path, r->lineno + 1);
        return 0;
    }
    r->lineno++;
    if (n > 0 && r->buf[n - 1] == '\n')
        n--;
    r->len = n;
    /* a UTF-8 byte order mark (Windows editors write one) starts the file,
     * not its first word; columns still count it */
    r->pos = r->lineno == 1 && n >= 3 && memcmp(r->buf, NNRT_UTF8_BOM, 3) == 0 ? 3 : 0;
    int64_t bad = nnrt_utf8_invalid(r->buf, (size_t)n);
    if (bad >= 0)
        return -nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ":%" PRId64 ": byte 0x%02x is not valid UTF-8 here",
                           r->path, r->lineno, bad + 1, (unsigned char)r->buf[bad]);
    return 1;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The next token of the current line into (*tok, *len); false at its end. */
static bool reader_token(Reader *r, const char **tok, size_t *len) {
    while (r->pos < r->len && is_space(r->buf[r->pos]))
        r->pos++;
    if (r->pos >= r->len)
        return false;
    int64_t s = r->pos;
    while (r->pos < r->len && !is_space(r->buf[r->pos]))
        r->pos++;
    *tok = r->buf + s;
    *len = (size_t)(r->pos - s);
    return true;
}

static bool is_label(const char *tok, size_t len) {
    return len >= LABEL_PREFIX_LEN && memcmp(tok, LABEL_PREFIX, LABEL_PREFIX_LEN) == 0;
}

/* A token in an error message: at most 40 bytes of it. */
#define TOKEN_FMT "'%.*s%s'"
#define TOKEN_ARGS(tok, len) (int)((len) > 40 ? 40 : (len)), (tok), (len) > 40 ? "..." : ""

/* ---------------------------------------------------------------- counting */

int nnrt_text_count(const char *path, nnrt_vocab *raw, nnrt_vocab *labels, nnrt_text_stats *st) {
    if (raw->n == 0 && (nnrt_vocab_add(raw, "<s>", 3, 0) < 0 || nnrt_vocab_add(raw, "<unk>", 5, 0) < 0))
        return NNRT_ERR_NOMEM;
    Reader r;
    int rc = reader_open(&r, path);
    if (rc)
        return rc;
    nnrt_text_stats s = {0};
    int more;
    while ((more = reader_line(&r)) > 0) {
        const char *tok;
        size_t len;
        int64_t words = 0;
        while (reader_token(&r, &tok, &len)) {
            if (labels && is_label(tok, len)) {
                if (len == LABEL_PREFIX_LEN) {
                    more = -nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ": a label with no name ('" LABEL_PREFIX "')",
                                       path, r.lineno);
                    goto out;
                }
                if (nnrt_vocab_add(labels, tok + LABEL_PREFIX_LEN, len - LABEL_PREFIX_LEN, 1) < 0)
                    goto nomem;
                continue;
            }
            if (nnrt_vocab_add(raw, tok, len, 1) < 0)
                goto nomem;
            words++;
        }
        s.tokens += words;
        if (words > 0)
            raw->count[NNRT_BOS]++;
    }
    goto out;
nomem:
    more = -NNRT_ERR_NOMEM;
out:
    s.lines = r.lineno;
    reader_close(&r);
    if (st)
        *st = s;
    return more < 0 ? -more : NNRT_OK;
}

/* ---------------------------------------------------------------- examples */

/* Grows *p (of *cap elements of size) to hold at least need. */
static bool grow(void **p, int64_t *cap, int64_t need, size_t size) {
    if (need <= *cap)
        return true;
    int64_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, (size_t)c * size);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

void nnrt_corpus_free(nnrt_corpus *c) {
    free(c->start);
    free(c->id);
    free(c->label);
    free(c->line);
    memset(c, 0, sizeof *c);
}

/* The one label of the current line (after its words were read), into
 * *label; an error naming path:line when there is none, more than one, or
 * one that labels does not have. */
static int line_label(Reader *r, const nnrt_vocab *labels, int32_t *label) {
    const char *tok, *first = NULL;
    size_t len, flen = 0;
    r->pos = 0;
    while (reader_token(r, &tok, &len)) {
        if (!is_label(tok, len))
            continue;
        if (first)
            return nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ": two labels, " TOKEN_FMT " and " TOKEN_FMT
                              " (one label per line)", r->path, r->lineno, TOKEN_ARGS(first, flen), TOKEN_ARGS(tok, len));
        first = tok, flen = len;
    }
    if (!first)
        return nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ": no label (the model needs one " LABEL_PREFIX
                          "NAME per line)", r->path, r->lineno);
    *label = nnrt_vocab_find(labels, first + LABEL_PREFIX_LEN, flen - LABEL_PREFIX_LEN);
    if (*label < 0)
        return nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ": label " TOKEN_FMT " is not one of the %" PRId32
                          " labels of the training data", r->path, r->lineno, TOKEN_ARGS(first, flen), labels->n);
    return NNRT_OK;
}

int nnrt_corpus_read(const char *path, const nnrt_vocab *words, const nnrt_vocab *labels, int64_t max_words,
                     nnrt_corpus *out) {
    memset(out, 0, sizeof *out);
    Reader r;
    int rc = reader_open(&r, path);
    if (rc)
        return rc;
    nnrt_corpus c = {0};
    int64_t cap_id = 0, cap_ex = 0, cap_line = 0, cap_label = 0, nid = 0;
    int more;
    if (!grow((void **)&c.start, &cap_ex, 1, sizeof *c.start))
        goto nomem;
    c.start[0] = 0;
    while ((more = reader_line(&r)) > 0) {
        const char *tok;
        size_t len;
        int64_t n = 0;
        while (reader_token(&r, &tok, &len)) {
            if (labels && is_label(tok, len))
                continue;
            if (!grow((void **)&c.id, &cap_id, nid + n + 1, sizeof *c.id))
                goto nomem;
            int32_t id = nnrt_vocab_find(words, tok, len);
            if (id < 0 || id == NNRT_UNK) {
                id = NNRT_UNK;
                c.unknown++;
            }
            c.id[nid + n++] = id;
        }
        if (n == 0) {
            c.empty++;
            continue;
        }
        if (max_words > 0 && n > max_words) {
            if (!c.first_too_long)
                c.first_too_long = r.lineno;
            c.too_long++;
            continue;
        }
        int32_t label = 0;
        if (labels && (rc = line_label(&r, labels, &label)) != NNRT_OK) {
            more = -rc;
            break;
        }
        int64_t need = c.n + 2;
        if (!grow((void **)&c.start, &cap_ex, need, sizeof *c.start) ||
            !grow((void **)&c.line, &cap_line, need, sizeof *c.line) ||
            (labels && !grow((void **)&c.label, &cap_label, need, sizeof *c.label)))
            goto nomem;
        nid += n;
        c.line[c.n] = r.lineno;
        if (labels)
            c.label[c.n] = label;
        c.start[++c.n] = nid;
    }
    goto out;
nomem:
    more = -nnrt_error(NNRT_ERR_NOMEM, "%s:%" PRId64 ": out of memory", path, r.lineno);
out:
    reader_close(&r);
    if (more < 0) {
        nnrt_corpus_free(&c);
        return -more;
    }
    *out = c;
    return NNRT_OK;
}

/* ---------------------------------------------------------------- layouts */

int64_t nnrt_layout_T(nnrt_layout kind, int64_t k, int64_t n) {
    switch (kind) {
    case NNRT_LAYOUT_PLAIN: return k == 0 ? n : -1;
    case NNRT_LAYOUT_LM: return k >= 1 ? n + 1 : -1;
    case NNRT_LAYOUT_WINDOW: return k >= 0 && k % 2 == 0 ? n : -1;
    }
    return -1;
}

int64_t nnrt_layout_fill(nnrt_layout kind, int64_t k, const int32_t *ids, int64_t n, int32_t *out) {
    int64_t T = nnrt_layout_T(kind, k, n);
    if (T < 0)
        return -1;
    int64_t before = kind == NNRT_LAYOUT_WINDOW ? k / 2 : k;
    int64_t after = T + k - before - n; /* LM: 1, WINDOW: k / 2, PLAIN: 0 */
    for (int64_t i = 0; i < before; i++)
        *out++ = NNRT_BOS;
    memcpy(out, ids, sizeof *ids * (size_t)n);
    out += n;
    for (int64_t i = 0; i < after; i++)
        *out++ = NNRT_BOS;
    return T;
}
