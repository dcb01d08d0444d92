/*
 * vocab.c - vocabularies (nnrt_data.h): a word list with counts and a hash
 * table from word to id, the final id order (specials, then by count), the
 * vocabulary file, and word2vec's text format for trained vectors.
 *
 * The hash table is open addressing with linear probing over a power-of-two
 * number of slots, kept under half full; a slot holds id + 1 (0: empty).
 * The hash is FNV-1a over the word's bytes.
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "nnrt_data.h"
#include "rt_internal.h"

#define VOCAB_MAX INT32_MAX / 2 /* ids stay int32, slots a power of two */

void nnrt_vocab_init(nnrt_vocab *v) {
    memset(v, 0, sizeof *v);
}

void nnrt_vocab_free(nnrt_vocab *v) {
    for (int32_t i = 0; i < v->n; i++)
        free(v->word[i]);
    free(v->word);
    free(v->count);
    free(v->slot);
    nnrt_vocab_init(v);
}

static uint64_t hash_bytes(const char *w, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)w[i]) * 0x100000001b3ull;
    return h;
}

/* The slot that holds w, or the empty slot where it would go. */
static int64_t find_slot(const nnrt_vocab *v, const char *w, size_t len) {
    int64_t mask = v->nslot - 1;
    for (int64_t s = (int64_t)(hash_bytes(w, len) & (uint64_t)mask);; s = (s + 1) & mask) {
        int32_t id = v->slot[s] - 1;
        if (id < 0)
            return s;
        if (strncmp(v->word[id], w, len) == 0 && v->word[id][len] == 0)
            return s;
    }
}

int32_t nnrt_vocab_find(const nnrt_vocab *v, const char *w, size_t len) {
    if (v->nslot == 0)
        return -1;
    return v->slot[find_slot(v, w, len)] - 1;
}

static int rehash(nnrt_vocab *v, int64_t nslot) {
    int32_t *slot = calloc((size_t)nslot, sizeof *slot);
    if (!slot)
        return nnrt_error(NNRT_ERR_NOMEM, "vocabulary: out of memory");
    free(v->slot);
    v->slot = slot;
    v->nslot = nslot;
    for (int32_t id = 0; id < v->n; id++)
        v->slot[find_slot(v, v->word[id], strlen(v->word[id]))] = id + 1;
    return NNRT_OK;
}

int32_t nnrt_vocab_add(nnrt_vocab *v, const char *w, size_t len, int64_t count) {
    if (v->nslot) {
        int32_t id = v->slot[find_slot(v, w, len)] - 1;
        if (id >= 0) {
            v->count[id] += count;
            return id;
        }
    }
    if (v->n >= VOCAB_MAX) {
        nnrt_error(NNRT_ERR_RANGE, "vocabulary: more than %d distinct words", VOCAB_MAX);
        return -1;
    }
    if (v->n == v->cap) {
        int32_t cap = v->cap ? v->cap * 2 : 64;
        char **word = realloc(v->word, sizeof *word * (size_t)cap);
        if (word)
            v->word = word;
        int64_t *cnt = realloc(v->count, sizeof *cnt * (size_t)cap);
        if (cnt)
            v->count = cnt;
        if (!word || !cnt) {
            nnrt_error(NNRT_ERR_NOMEM, "vocabulary: out of memory");
            return -1;
        }
        v->cap = cap;
    }
    if (2 * ((int64_t)v->n + 1) >= v->nslot && rehash(v, v->nslot ? v->nslot * 2 : 256) != NNRT_OK)
        return -1;
    char *copy = malloc(len + 1);
    if (!copy) {
        nnrt_error(NNRT_ERR_NOMEM, "vocabulary: out of memory");
        return -1;
    }
    memcpy(copy, w, len);
    copy[len] = 0;
    int32_t id = v->n++;
    v->word[id] = copy;
    v->count[id] = count;
    v->slot[find_slot(v, w, len)] = id + 1;
    return id;
}

/* A raw entry to sort: descending count, then ascending raw id (first
 * occurrence), so that the order is the same on every platform. */
typedef struct Ranked {
    int64_t count;
    int32_t id;
} Ranked;

static int by_count(const void *a, const void *b) {
    const Ranked *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int nnrt_vocab_finish(const nnrt_vocab *raw, int64_t min_count, int64_t max_size, int specials,
                      nnrt_vocab *out) {
    nnrt_vocab_init(out);
    int32_t first = specials ? 2 : 0;
    if (specials && (raw->n < 2 || strcmp(raw->word[NNRT_BOS], "<s>") != 0 ||
                     strcmp(raw->word[NNRT_UNK], "<unk>") != 0))
        return nnrt_error(NNRT_ERR_ARG, "vocabulary: the raw counts do not start with <s> and <unk>");
    if (specials && max_size > 0 && max_size < 2)
        return nnrt_error(NNRT_ERR_ARG, "vocabulary: a size of %" PRId64 " leaves no room for <s> and <unk>",
                          max_size);
    Ranked *order = malloc(sizeof *order * (size_t)(raw->n ? raw->n : 1));
    if (!order)
        return nnrt_error(NNRT_ERR_NOMEM, "vocabulary: out of memory");
    int32_t m = 0;
    for (int32_t i = first; i < raw->n; i++)
        order[m++] = (Ranked){raw->count[i], i};
    qsort(order, (size_t)m, sizeof *order, by_count);
    int rc = NNRT_OK;
    int64_t unk = 0;
    for (int32_t i = 0; i < first && rc == NNRT_OK; i++)
        if (nnrt_vocab_add(out, raw->word[i], strlen(raw->word[i]), raw->count[i]) < 0)
            rc = NNRT_ERR_NOMEM;
    for (int32_t j = 0; j < m && rc == NNRT_OK; j++) {
        int32_t i = order[j].id;
        bool keep = raw->count[i] >= min_count && (max_size <= 0 || out->n < max_size);
        if (!keep)
            unk += raw->count[i];
        else if (nnrt_vocab_add(out, raw->word[i], strlen(raw->word[i]), raw->count[i]) < 0)
            rc = NNRT_ERR_NOMEM;
    }
    if (specials && rc == NNRT_OK)
        out->count[NNRT_UNK] += unk;
    free(order);
    if (rc != NNRT_OK)
        nnrt_vocab_free(out);
    return rc;
}

/* ---------------------------------------------------------------- files */

static void write_entries(nnrt_atomic_file *af, const nnrt_vocab *v) {
    for (int32_t i = 0; v && i < v->n; i++)
        nnrt_atomic_printf(af, "%s\t%" PRId64 "\n", v->word[i], v->count[i]);
}

int nnrt_vocab_save(const char *path, const nnrt_vocab *words, const nnrt_vocab *labels) {
    nnrt_atomic_file af;
    int rc = nnrt_atomic_open(&af, path);
    if (rc)
        return rc;
    nnrt_atomic_printf(&af, "nngc-vocab 1 words %" PRId32 " labels %" PRId32 "\n", words->n, labels ? labels->n : 0);
    write_entries(&af, words);
    write_entries(&af, labels);
    return nnrt_atomic_commit(&af);
}

/* Reads one line into *buf (grown as needed); its length, -1 at the end.
 * A line ends at "\n" or "\r\n" (both dropped) or at the end of the file;
 * *crlf_eof is set when the file ends in a lone "\r" (dropped too, but
 * not a line end: the caller rejects it). */
static int64_t read_line(FILE *f, char **buf, size_t *cap, bool *cr_eof) {
    errno = 0;
    ssize_t n = getline(buf, cap, f);
    *cr_eof = false;
    if (n < 0)
        return -1;
    bool nl = n > 0 && (*buf)[n - 1] == '\n';
    if (nl)
        (*buf)[--n] = 0;
    if (n > 0 && (*buf)[n - 1] == '\r') {
        (*buf)[--n] = 0;
        *cr_eof = !nl;
    }
    return n;
}

/* After read_line found no line at line lineno: a read error (a directory,
 * an I/O error) said as such, else what the caller makes of the end. */
static int read_error(FILE *f, const char *path, int64_t lineno) {
    if (ferror(f))
        return nnrt_error(NNRT_ERR_IO, "%s:%" PRId64 ": %s", path, lineno, strerror(errno ? errno : EIO));
    return NNRT_OK;
}

/* Reads the decimal digits at s[*i..len) (no sign, no space) into *out;
 * 0 if there are none, -1 if they make a number over max, else 1. */
static int read_digits(const char *s, int64_t len, int64_t *i, int64_t max, int64_t *out) {
    int64_t v = 0, start = *i;
    for (; *i < len && s[*i] >= '0' && s[*i] <= '9'; ++*i) {
        int d = s[*i] - '0';
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return *i > start;
}

#define VOCAB_HEADER "'nngc-vocab 1 words N labels M' (single spaces, N >= 2 and M >= 0 in decimal digits, " \
                     "no leading zero)"

/* Line 1, s[0..len), after its byte order mark: exactly "nngc-vocab 1
 * words N labels M". */
static int parse_header_text(const char *path, const char *s, int64_t len, int64_t *nw, int64_t *nl) {
    static const char magic[] = "nngc-vocab ";
    if (len < (int64_t)strlen(magic) || memcmp(s, magic, strlen(magic)) != 0)
        return nnrt_error(NNRT_ERR_FORMAT, "%s:1: not a vocabulary file (expected a first line " VOCAB_HEADER ")",
                          path);
    int64_t ver, v = (int64_t)strlen(magic);
    if (read_digits(s, len, &v, INT32_MAX, &ver) > 0 && ver != 1 && v < len && s[v] == ' ')
        return nnrt_error(NNRT_ERR_FORMAT, "%s:1:%zu: a vocabulary file of version %" PRId64 " (this nngc reads "
                          "version 1)", path, strlen(magic) + 1, ver);
    static const char *const lit[] = {"nngc-vocab 1 words ", " labels "};
    int64_t *num[] = {nw, nl}, i = 0;
    for (int k = 0; k < 2; k++) {
        size_t l = strlen(lit[k]), j = 0;
        while (j < l && i < len && s[i] == lit[k][j])
            i++, j++;
        if (j < l)
            return nnrt_error(NNRT_ERR_FORMAT, "%s:1:%" PRId64 ": bad vocabulary header: expected " VOCAB_HEADER,
                              path, i + 1);
        int64_t at = i;
        int d = read_digits(s, len, &i, VOCAB_MAX, num[k]);
        if (d < 0)
            return nnrt_error(NNRT_ERR_FORMAT, "%s:1:%" PRId64 ": %s count over %d", path, at + 1,
                              k ? "the label" : "the word", VOCAB_MAX);
        if (d == 0)
            return nnrt_error(NNRT_ERR_FORMAT, "%s:1:%" PRId64 ": bad vocabulary header: expected " VOCAB_HEADER,
                              path, i + 1);
        if (s[at] == '0' && i - at > 1) /* one spelling per header: nngc writes none */
            return nnrt_error(NNRT_ERR_FORMAT, "%s:1:%" PRId64 ": bad vocabulary header: %s count with a leading "
                              "zero", path, at + 1, k ? "the label" : "the word");
        if (k == 0 && *nw < 2)
            return nnrt_error(NNRT_ERR_FORMAT, "%s:1:%" PRId64 ": %" PRId64 " words: a vocabulary has at least "
                              "<s> and <unk>", path, at + 1, *nw);
    }
    if (i != len) /* nothing may follow, a NUL byte included */
        return nnrt_error(NNRT_ERR_FORMAT, "%s:1:%" PRId64 ": bad vocabulary header: expected " VOCAB_HEADER
                          " and nothing after it", path, i + 1);
    return NNRT_OK;
}

/* Line 1, s[0..len): the header, after one UTF-8 byte order mark if there
 * is one (columns then count from after it, as the message says). */
static int parse_header(const char *path, const char *s, int64_t len, int64_t *nw, int64_t *nl) {
    if (len < 3 || memcmp(s, NNRT_UTF8_BOM, 3) != 0)
        return parse_header_text(path, s, len, nw, nl);
    int rc = parse_header_text(path, s + 3, len - 3, nw, nl);
    if (rc != NNRT_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", nnrt_last_error());
        nnrt_error(rc, "%s (columns counted after the byte order mark)", msg);
    }
    return rc;
}

/* Reads n "WORD\tCOUNT" lines into v; *lineno counts the lines read. */
static int load_entries(FILE *f, const char *path, int64_t n, nnrt_vocab *v, int64_t *lineno, char **buf,
                        size_t *cap) {
    for (int64_t i = 0; i < n; i++) {
        bool cr_eof;
        int64_t len = read_line(f, buf, cap, &cr_eof);
        ++*lineno;
        if (len < 0 && read_error(f, path, *lineno) != NNRT_OK)
            return NNRT_ERR_IO;
        if (len < 0)
            return nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ": the file ends after %" PRId64 " of %" PRId64
                              " entries", path, *lineno, i, n);
        if (cr_eof)
            return nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ":%" PRId64 ": a carriage return without a line feed "
                              "(lines end in \"\\n\" or \"\\r\\n\")", path, *lineno, len + 1);
        const char *line = *buf;
        const char *tab = memchr(line, '\t', (size_t)len);
        if (!tab || tab == line)
            return nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ": expected WORD<tab>COUNT", path, *lineno);
        size_t wlen = (size_t)(tab - line);
        for (size_t j = 0; j < wlen; j++)
            if (line[j] && strchr(" \t\r\v\f", line[j]))
                return nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ":%zu: a word with white space in it", path,
                                  *lineno, j + 1);
        int64_t bad = nnrt_utf8_invalid(line, wlen);
        if (bad >= 0)
            return nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ":%" PRId64 ": not UTF-8", path, *lineno, bad + 1);
        /* the count is all of the rest of the line: digits only, so no
         * sign, no space, and no NUL byte with something after it */
        int64_t at = (int64_t)wlen + 1, j = at, c;
        int d = read_digits(line, len, &j, INT64_MAX, &c);
        if (d < 0)
            return nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ":%" PRId64 ": the count is over %" PRId64, path,
                              *lineno, at + 1, INT64_MAX);
        if (d == 0 || j != len)
            return nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ":%" PRId64 ": the count is not a number >= 0 "
                              "(expected decimal digits, then the end of the line)", path, *lineno, j + 1);
        if (nnrt_vocab_find(v, line, wlen) >= 0)
            return nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ": '%.*s' is listed twice", path, *lineno,
                              (int)(wlen > 64 ? 64 : wlen), line);
        if (nnrt_vocab_add(v, line, wlen, c) < 0)
            return NNRT_ERR_NOMEM;
    }
    return NNRT_OK;
}

int nnrt_vocab_load(const char *path, nnrt_vocab *words, nnrt_vocab *labels) {
    nnrt_vocab_init(words);
    nnrt_vocab_init(labels);
    FILE *f = fopen(path, "rb");
    if (!f)
        return nnrt_error(NNRT_ERR_IO, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0;
    int64_t lineno = 1, nw = 0, nl = 0;
    bool cr_eof;
    int64_t len = read_line(f, &buf, &cap, &cr_eof);
    int rc = len >= 0 ? parse_header(path, buf, len, &nw, &nl) : read_error(f, path, 1);
    if (len < 0 && rc == NNRT_OK)
        rc = nnrt_error(NNRT_ERR_FORMAT, "%s:1: not a vocabulary file (it is empty)", path);
    if (rc == NNRT_OK)
        rc = load_entries(f, path, nw, words, &lineno, &buf, &cap);
    if (rc == NNRT_OK && strcmp(words->word[NNRT_BOS], "<s>") != 0)
        rc = nnrt_error(NNRT_ERR_FORMAT, "%s:2: word 0 is '%.64s': words 0 and 1 must be <s> and <unk>", path,
                        words->word[NNRT_BOS]);
    if (rc == NNRT_OK && strcmp(words->word[NNRT_UNK], "<unk>") != 0)
        rc = nnrt_error(NNRT_ERR_FORMAT, "%s:3: word 1 is '%.64s': words 0 and 1 must be <s> and <unk>", path,
                        words->word[NNRT_UNK]);
    if (rc == NNRT_OK)
        rc = load_entries(f, path, nl, labels, &lineno, &buf, &cap);
    if (rc == NNRT_OK && read_line(f, &buf, &cap, &cr_eof) >= 0)
        rc = nnrt_error(NNRT_ERR_FORMAT, "%s:%" PRId64 ": more lines than the header announces", path, lineno + 1);
    if (rc == NNRT_OK)
        rc = read_error(f, path, lineno + 1);
    free(buf);
    fclose(f);
    if (rc != NNRT_OK) {
        nnrt_vocab_free(words);
        nnrt_vocab_free(labels);
    }
    return rc;
}

int nnrt_vocab_write_vectors(const char *path, const nnrt_vocab *v, const float *table, int64_t rows,
                             int64_t cols) {
    if (rows < v->n)
        return nnrt_error(NNRT_ERR_SHAPE, "%s: the table has %" PRId64 " rows, fewer than the %" PRId32
                          " words of the vocabulary", path, rows, v->n);
    nnrt_atomic_file af;
    int rc = nnrt_atomic_open(&af, path);
    if (rc)
        return rc;
    nnrt_atomic_printf(&af, "%" PRId32 " %" PRId64 "\n", v->n, cols);
    for (int32_t i = 0; i < v->n; i++) {
        nnrt_atomic_printf(&af, "%s", v->word[i]);
        for (int64_t j = 0; j < cols; j++)
            nnrt_atomic_printf(&af, " %.9g", table[(int64_t)i * cols + j]);
        nnrt_atomic_printf(&af, "\n");
    }
    return nnrt_atomic_commit(&af);
}
