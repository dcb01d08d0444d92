/* fuzz_text.c - libFuzzer target: the text-file readers as nngc train uses
 * them (docs/TRAIN.md): nnrt_text_count, nnrt_vocab_finish of the words and
 * the labels, nnrt_corpus_read of the same file with that vocabulary, and
 * every layout of each example. The input's first byte chooses the options
 * (see Options), the rest is the text file.
 *
 * Any step may fail but a crash, a sanitizer report or a leak; what they
 * give must agree: the counts are the file's (lines, tokens), the finished
 * vocabulary is the raw one cut by min count and size (what is cut goes to
 * <unk>), every id of the corpus is inside the vocabulary and each word's
 * count is its number of occurrences, a max_words read is the full read
 * less the long lines, and a layout is the words with its <s> around. */
#include <stdbool.h>
#include <string.h>

#include "fuzz_file.h"
#include "nnrt_data.h"

typedef struct Options {
    bool labels;       /* bit 0: __label__ tokens are labels */
    int64_t min_count; /* bits 1-2: 1..4 */
    int64_t max_size;  /* bits 3-5: 0..7 (0: no limit; 1 must fail) */
    int64_t max_words; /* bits 6-7: 0..3 (0: no limit) */
} Options;

static Options options(uint8_t b) {
    return (Options){b & 1, 1 + ((b >> 1) & 3), (b >> 3) & 7, (b >> 6) & 3};
}

static int64_t line_count(const uint8_t *text, size_t size) {
    int64_t n = 0;
    for (size_t i = 0; i < size; i++)
        n += text[i] == '\n';
    return n + (size && text[size - 1] != '\n');
}

static int64_t total(const nnrt_vocab *v) {
    int64_t s = 0;
    for (int32_t id = 0; id < v->n; id++)
        s += v->count[id];
    return s;
}

/* Every word non-empty, without white space, found at its id. */
static void check_words(const nnrt_vocab *v, bool labels_apart) {
    for (int32_t id = 0; id < v->n; id++) {
        const char *w = v->word[id];
        size_t len = strlen(w);
        FUZZ_REQUIRE(len > 0 && strpbrk(w, " \t\r\v\f\n") == NULL && nnrt_utf8_invalid(w, len) < 0);
        FUZZ_REQUIRE(nnrt_vocab_find(v, w, len) == id && v->count[id] >= 0);
        FUZZ_REQUIRE(!labels_apart || strncmp(w, "__label__", 9) != 0);
    }
}

static void check_counted(const nnrt_vocab *raw, const nnrt_vocab *rawl, const Options *o, const nnrt_text_stats *st,
                          const uint8_t *text, size_t size) {
    FUZZ_REQUIRE(raw->n >= 2 && strcmp(raw->word[NNRT_BOS], "<s>") == 0 && strcmp(raw->word[NNRT_UNK], "<unk>") == 0);
    FUZZ_REQUIRE(st->lines == line_count(text, size) && st->tokens >= 0);
    check_words(raw, o->labels);
    check_words(rawl, false);
    for (int32_t id = 0; id < rawl->n; id++)
        FUZZ_REQUIRE(rawl->count[id] >= 1);
}

/* By descending count from id first on. */
static void check_order(const nnrt_vocab *v, int32_t first) {
    for (int32_t id = first + 1; id < v->n; id++)
        FUZZ_REQUIRE(v->count[id - 1] >= v->count[id]);
}

/* words is raw cut by min count and size, the rest counted as <unk>. */
static void check_finished(const nnrt_vocab *raw, const nnrt_vocab *words, const Options *o) {
    FUZZ_REQUIRE(words->n >= 2 && (o->max_size == 0 || words->n <= o->max_size));
    FUZZ_REQUIRE(strcmp(words->word[NNRT_BOS], "<s>") == 0 && strcmp(words->word[NNRT_UNK], "<unk>") == 0);
    FUZZ_REQUIRE(words->count[NNRT_BOS] == raw->count[NNRT_BOS] && total(words) == total(raw));
    check_order(words, 2);
    int64_t frequent = 0;
    for (int32_t id = 2; id < raw->n; id++)
        frequent += raw->count[id] >= o->min_count;
    FUZZ_REQUIRE(words->n - 2 == (o->max_size && frequent > o->max_size - 2 ? o->max_size - 2 : frequent));
    for (int32_t id = 2; id < words->n; id++) {
        int32_t r = nnrt_vocab_find(raw, words->word[id], strlen(words->word[id]));
        FUZZ_REQUIRE(r >= 2 && raw->count[r] == words->count[id] && words->count[id] >= o->min_count);
    }
}

/* Examples [start[i], start[i + 1]) of at least one id each, on increasing
 * lines; every id and label inside its vocabulary. */
static void check_examples(const nnrt_corpus *c, const nnrt_vocab *words, const nnrt_vocab *labels, int64_t lines) {
    FUZZ_REQUIRE(c->n >= 0 && c->start && c->start[0] == 0 && (labels ? c->n == 0 || c->label : !c->label));
    for (int64_t i = 0; i < c->n; i++) {
        FUZZ_REQUIRE(c->start[i + 1] > c->start[i] && c->line[i] >= 1 && c->line[i] <= lines);
        FUZZ_REQUIRE(i == 0 || c->line[i] > c->line[i - 1]);
        FUZZ_REQUIRE(!labels || (c->label[i] >= 0 && c->label[i] < labels->n));
    }
    for (int64_t j = 0; j < c->start[c->n]; j++)
        FUZZ_REQUIRE(c->id[j] >= 0 && c->id[j] < words->n);
}

/* The full read (no max_words): every line an example or empty, every
 * word's count its occurrences (<s>: one more per line), every label's
 * count at least its lines. */
static void check_full(const nnrt_corpus *c, const nnrt_vocab *words, const nnrt_vocab *labels,
                       const nnrt_text_stats *st) {
    FUZZ_REQUIRE(c->n + c->empty == st->lines && c->too_long == 0 && c->first_too_long == 0);
    FUZZ_REQUIRE(c->start[c->n] == st->tokens);
    int64_t *occ = calloc((size_t)words->n + (labels ? (size_t)labels->n : 0), sizeof *occ);
    FUZZ_REQUIRE(occ);
    for (int64_t j = 0; j < c->start[c->n]; j++)
        occ[c->id[j]]++;
    for (int64_t i = 0; labels && i < c->n; i++)
        occ[words->n + c->label[i]]++;
    FUZZ_REQUIRE(occ[NNRT_UNK] == c->unknown && occ[NNRT_BOS] + c->n == words->count[NNRT_BOS]);
    for (int32_t id = 1; id < words->n; id++)
        FUZZ_REQUIRE(occ[id] == words->count[id]);
    for (int32_t l = 0; labels && l < labels->n; l++)
        FUZZ_REQUIRE(occ[words->n + l] <= labels->count[l]);
    free(occ);
}

static int64_t length(const nnrt_corpus *c, int64_t i) {
    return c->start[i + 1] - c->start[i];
}

/* A read with max_words: the full read c less its examples over max. */
static void check_cut(const nnrt_corpus *c, const nnrt_corpus *cut, int64_t max) {
    FUZZ_REQUIRE(cut->n + cut->too_long == c->n && cut->empty == c->empty && cut->unknown <= c->unknown);
    int64_t k = 0, first = 0;
    for (int64_t i = 0; i < c->n; i++) {
        int64_t n = length(c, i);
        if (n > max) {
            first = first ? first : c->line[i];
            continue;
        }
        FUZZ_REQUIRE(k < cut->n && length(cut, k) == n && cut->line[k] == c->line[i]);
        FUZZ_REQUIRE(memcmp(cut->id + cut->start[k], c->id + c->start[i], sizeof *c->id * (size_t)n) == 0);
        FUZZ_REQUIRE(!c->label || cut->label[k] == c->label[i]);
        k++;
    }
    FUZZ_REQUIRE(k == cut->n && cut->first_too_long == first);
}

/* docs/TRAIN.md's table: PLAIN k = 0, T = n; LM k >= 1, T = n + 1 (k x <s>
 * before, one after); WINDOW k even, T = n (k / 2 x <s> on each side). */
static void check_layout(nnrt_layout kind, int64_t k, const int32_t *ids, int64_t n) {
    bool takes = kind == NNRT_LAYOUT_PLAIN ? k == 0 : kind == NNRT_LAYOUT_LM ? k >= 1 : k % 2 == 0;
    int64_t T = nnrt_layout_T(kind, k, n);
    FUZZ_REQUIRE(T == (!takes ? -1 : kind == NNRT_LAYOUT_LM ? n + 1 : n));
    if (T < 0)
        return;
    int32_t *out = malloc(sizeof *out * (size_t)(T + k)); /* exactly T + k: ASan sees a write past it */
    FUZZ_REQUIRE(out && nnrt_layout_fill(kind, k, ids, n, out) == T);
    int64_t before = kind == NNRT_LAYOUT_WINDOW ? k / 2 : k;
    for (int64_t i = 0; i < T + k; i++)
        FUZZ_REQUIRE(out[i] == (i >= before && i < before + n ? ids[i - before] : NNRT_BOS));
    free(out);
}

static void check_layouts(const nnrt_corpus *c) {
    for (int64_t i = 0; i < c->n; i++)
        for (int kind = NNRT_LAYOUT_PLAIN; kind <= NNRT_LAYOUT_WINDOW; kind++)
            for (int64_t k = 0; k <= 4; k++)
                check_layout((nnrt_layout)kind, k, c->id + c->start[i], length(c, i));
}

/* A failed read leaves out empty. */
static bool read_ok(const char *path, const nnrt_vocab *words, const nnrt_vocab *labels, int64_t max,
                    nnrt_corpus *out) {
    if (nnrt_corpus_read(path, words, labels, max, out) == NNRT_OK)
        return true;
    FUZZ_REQUIRE(out->n == 0 && !out->start && !out->id && !out->label && !out->line);
    return false;
}

/* The corpus with its vocabulary: the full read, and one with max_words. */
static void check_corpus(const char *path, const nnrt_vocab *words, const nnrt_vocab *labels, const Options *o,
                         const nnrt_text_stats *st) {
    nnrt_corpus c, cut;
    if (!read_ok(path, words, labels, 0, &c)) {
        FUZZ_REQUIRE(labels); /* only a label can be wrong in a counted file */
        return;
    }
    check_examples(&c, words, labels, st->lines);
    check_full(&c, words, labels, st);
    check_layouts(&c);
    if (o->max_words) {
        FUZZ_REQUIRE(read_ok(path, words, labels, o->max_words, &cut)); /* labels as in the full read */
        check_examples(&cut, words, labels, st->lines);
        check_cut(&c, &cut, o->max_words);
        nnrt_corpus_free(&cut);
    }
    nnrt_corpus_free(&c);
}

static void finish_and_read(const char *path, const nnrt_vocab *raw, const nnrt_vocab *rawl, const Options *o,
                            const nnrt_text_stats *st) {
    nnrt_vocab words, labels;
    int rc = nnrt_vocab_finish(raw, o->min_count, o->max_size, 1, &words);
    FUZZ_REQUIRE((rc == NNRT_OK) == (o->max_size != 1));
    if (rc != NNRT_OK)
        return;
    FUZZ_REQUIRE(nnrt_vocab_finish(rawl, 1, 0, 0, &labels) == NNRT_OK);
    check_finished(raw, &words, o);
    FUZZ_REQUIRE(labels.n == rawl->n && total(&labels) == total(rawl));
    check_order(&labels, 0);
    check_corpus(path, &words, o->labels ? &labels : NULL, o, st);
    nnrt_vocab_free(&words);
    nnrt_vocab_free(&labels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    Options o = options(data[0]);
    const uint8_t *text = data + 1;
    size_t tsize = size - 1;
    const char *path = fuzz_file(text, tsize);
    nnrt_vocab raw, rawl;
    nnrt_vocab_init(&raw);
    nnrt_vocab_init(&rawl);
    nnrt_text_stats st;
    if (nnrt_text_count(path, &raw, o.labels ? &rawl : NULL, &st) == NNRT_OK) {
        check_counted(&raw, &rawl, &o, &st, text, tsize);
        finish_and_read(path, &raw, &rawl, &o, &st);
    }
    nnrt_vocab_free(&raw);
    nnrt_vocab_free(&rawl);
    return 0;
}
