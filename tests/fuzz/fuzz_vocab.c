/* fuzz_vocab.c - libFuzzer target: nnrt_vocab_load, the vocabulary file of
 * nngc train (--vocab FILE, CKPT.vocab; the format is in nnrt_data.h). A
 * failure must leave both vocabularies empty. A success must be the file:
 * one entry per line after the header, each line's word and count read
 * from the whole line (nothing after them ignored; a line ends in "\n"
 * or "\r\n"; a UTF-8 byte order mark may start the file), the header
 * exactly "nngc-vocab 1 words N labels M" and each count decimal digits
 * (no sign, no space), <s> and <unk> first,
 * every word valid UTF-8 without white space and found at its id; and it
 * must come back unchanged through nnrt_vocab_save and a second load. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz_file.h"
#include "nnrt_data.h"

/* The lines of data[0..size): the next one from *pos into (*line, *len);
 * false after the last. */
static bool next_line(const uint8_t *data, size_t size, size_t *pos, const char **line, size_t *len) {
    if (*pos >= size)
        return false;
    const uint8_t *nl = memchr(data + *pos, '\n', size - *pos);
    *line = (const char *)data + *pos;
    *len = nl ? (size_t)(nl - (data + *pos)) : size - *pos;
    *pos += *len + 1;
    if (nl && *len > 0 && (*line)[*len - 1] == '\r')
        --*len;
    return true;
}

/* The entry line of word w: "WORD\tCOUNT", the count all of the rest. */
static void check_entry(const nnrt_vocab *v, int32_t id, const char *line, size_t len) {
    const char *w = v->word[id];
    size_t wlen = strlen(w);
    FUZZ_REQUIRE(wlen > 0 && len > wlen && memcmp(line, w, wlen) == 0 && line[wlen] == '\t');
    FUZZ_REQUIRE(nnrt_utf8_invalid(w, wlen) < 0 && strpbrk(w, " \t\r\v\f\n") == NULL);
    FUZZ_REQUIRE(nnrt_vocab_find(v, w, wlen) == id && v->count[id] >= 0);
    size_t nlen = len - wlen - 1;
    char *num = calloc(1, nlen + 1), *end;
    FUZZ_REQUIRE(num);
    memcpy(num, line + wlen + 1, nlen);
    FUZZ_REQUIRE(nlen > 0 && strspn(num, "0123456789") == nlen);
    FUZZ_REQUIRE(strtoll(num, &end, 10) == v->count[id] && end == num + nlen);
    free(num);
}

static void check_entries(const nnrt_vocab *v, const uint8_t *data, size_t size, size_t *pos) {
    const char *line;
    size_t len;
    for (int32_t id = 0; id < v->n; id++) {
        FUZZ_REQUIRE(next_line(data, size, pos, &line, &len));
        check_entry(v, id, line, len);
    }
}

static void check_same(const nnrt_vocab *a, const nnrt_vocab *b) {
    FUZZ_REQUIRE(a->n == b->n);
    for (int32_t id = 0; id < a->n; id++)
        FUZZ_REQUIRE(strcmp(a->word[id], b->word[id]) == 0 && a->count[id] == b->count[id]);
}

/* A path to save to, in a directory of its own (the save is atomic: a
 * temporary file renamed), removed at exit. */
static char dir[64], saved[80];
static void remove_saved(void) {
    unlink(saved);
    rmdir(dir);
}
static const char *save_path(void) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_vocab.XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            abort();
        }
        snprintf(saved, sizeof saved, "%s/v.vocab", dir);
        atexit(remove_saved);
    }
    return saved;
}

static void round_trip(const nnrt_vocab *words, const nnrt_vocab *labels) {
    nnrt_vocab w2, l2;
    FUZZ_REQUIRE(nnrt_vocab_save(save_path(), words, labels) == NNRT_OK);
    FUZZ_REQUIRE(nnrt_vocab_load(save_path(), &w2, &l2) == NNRT_OK);
    check_same(words, &w2);
    check_same(labels, &l2);
    nnrt_vocab_free(&w2);
    nnrt_vocab_free(&l2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nnrt_vocab words, labels;
    if (nnrt_vocab_load(fuzz_file(data, size), &words, &labels) != NNRT_OK) {
        FUZZ_REQUIRE(words.n == 0 && !words.word && labels.n == 0 && !labels.word);
        return 0;
    }
    size_t pos = size >= 3 && memcmp(data, NNRT_UTF8_BOM, 3) == 0 ? 3 : 0, len; /* a byte order mark */
    const char *line;
    FUZZ_REQUIRE(next_line(data, size, &pos, &line, &len) && !memchr(line, 0, len));
    char header[80];
    int hlen = snprintf(header, sizeof header, "nngc-vocab 1 words %" PRId32 " labels %" PRId32, words.n, labels.n);
    FUZZ_REQUIRE(hlen > 0 && (size_t)hlen == len && memcmp(line, header, len) == 0);
    FUZZ_REQUIRE(words.n >= 2 && strcmp(words.word[NNRT_BOS], "<s>") == 0 &&
                 strcmp(words.word[NNRT_UNK], "<unk>") == 0);
    check_entries(&words, data, size, &pos);
    check_entries(&labels, data, size, &pos);
    FUZZ_REQUIRE(!next_line(data, size, &pos, &line, &len));
    round_trip(&words, &labels);
    nnrt_vocab_free(&words);
    nnrt_vocab_free(&labels);
    return 0;
}
