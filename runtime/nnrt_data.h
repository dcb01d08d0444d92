/*
 * nnrt_data.h - text data for training: vocabularies, and text files turned
 * into examples of word ids. Part of libnngrt; `nngc train` and `nngc eval`
 * are written on it, and applications can use it the same way.
 *
 *     nnrt_vocab raw, words, labels;
 *     nnrt_vocab_init(&raw); nnrt_vocab_init(&labels);
 *     nnrt_text_count("train.txt", &raw, NULL, NULL);   // NULL: no labels
 *     nnrt_vocab_finish(&raw, 1, 10000, 1, &words);      // min count 1, at most 10000 ids
 *     nnrt_corpus c;
 *     nnrt_corpus_read("train.txt", &words, NULL, 99, &c);
 *     int32_t buf[101];
 *     int64_t T = nnrt_layout_fill(NNRT_LAYOUT_LM, 1, c.id + c.start[0],
 *                                  c.start[1] - c.start[0], buf);
 *     // buf = <s> w1 ... wn <s>: T + 1 ids, T = n + 1 (rnnlm's `words`)
 *
 * Text files: UTF-8 (anything else is an error naming file:line:col), one
 * example per line, tokens separated by ASCII white space. A token that
 * starts with "__label__" is a label (fastText's convention) when the
 * caller asks for labels, else an ordinary word.
 *
 * Word ids: 0 is "<s>" (the sentence boundary: the start and end marker of
 * a language model's sentence, and the padding of a skip-gram window), 1 is
 * "<unk>" (every word not in the vocabulary), then the words by descending
 * count, ties in order of first occurrence in the training file. A token
 * "<s>" or "<unk>" in a file means that id.
 *
 * Every function that can fail returns an NNRT_* code with a message in
 * nnrt_last_error(), as the rest of the runtime does.
 */
#ifndef NNRT_DATA_H
#define NNRT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "nngrt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NNRT_BOS 0 /* "<s>" */
#define NNRT_UNK 1 /* "<unk>" */

/* ---------------------------------------------------------------- vocabulary */

/* Words with ids 0..n-1 and their counts. The fields after count are the
 * hash table (private). */
typedef struct nnrt_vocab {
    int32_t n;
    char **word;    /* word[id]: NUL-terminated UTF-8 */
    int64_t *count; /* count[id] in the training file */
    int32_t cap;
    int32_t *slot;  /* open addressing: id + 1, 0 for empty */
    int64_t nslot;  /* a power of two, > 2 * n */
} nnrt_vocab;

void nnrt_vocab_init(nnrt_vocab *v);
void nnrt_vocab_free(nnrt_vocab *v);
/* The id of the word w[0..len), -1 if it is not there. */
int32_t nnrt_vocab_find(const nnrt_vocab *v, const char *w, size_t len);
/* Adds count to w's count, appending w with a new id if it is not there.
 * Returns the id, or -1 after an error (out of memory, too many words). */
int32_t nnrt_vocab_add(nnrt_vocab *v, const char *w, size_t len, int64_t count);

/* Lines of a text file, as nnrt_text_count saw them. */
typedef struct nnrt_text_stats {
    int64_t lines;  /* every line, empty ones included */
    int64_t tokens; /* words, labels not included */
} nnrt_text_stats;

/* Counts the tokens of a text file into raw (which should be empty: it is
 * given "<s>" and "<unk>" first, then every word in order of first
 * occurrence; "<s>" counts one per line that has a word), and the labels
 * into labels (NULL: labels are ordinary words). st may be NULL. */
int nnrt_text_count(const char *path, nnrt_vocab *raw, nnrt_vocab *labels, nnrt_text_stats *st);

/* The final vocabulary from raw counts in first-occurrence order, into out
 * (initialised here). With specials (for words: raw starts with "<s>",
 * "<unk>" as nnrt_text_count makes it): ids 0 and 1 stay, then the other
 * words with count >= min_count by descending count (ties: raw order),
 * cut so that out has at most max_size ids (0: no limit); the counts of the
 * words left out go to "<unk>". Without specials (labels): every entry,
 * by descending count, ties in raw order. */
int nnrt_vocab_finish(const nnrt_vocab *raw, int64_t min_count, int64_t max_size, int specials,
                      nnrt_vocab *out);

/* The vocabulary file (UTF-8 text, atomic write):
 *     nngc-vocab 1 words N labels M
 *     <s>\t400          N lines "WORD\tCOUNT", line k + 2 is word id k
 *     ...
 *     pos\t10           M lines of labels, in id order
 * labels may be NULL (M = 0); load initialises both (labels empty when
 * M = 0). Load is strict (docs/TRAIN.md "Where the vocabulary is kept"):
 * the header exactly as above (single spaces, N >= 2, digits only, no
 * leading zero), a count of decimal digits only, lines ending in "\n" or
 * "\r\n"; any other text is NNRT_ERR_FORMAT with "path:line[:col]: what
 * is wrong". */
int nnrt_vocab_save(const char *path, const nnrt_vocab *words, const nnrt_vocab *labels);
int nnrt_vocab_load(const char *path, nnrt_vocab *words, nnrt_vocab *labels);

/* Writes rows [0, v->n) of a [rows, cols] float table in word2vec's text
 * format: a line "N COLS", then "WORD x1 ... xCOLS" per id (%.9g). Needs
 * rows >= v->n. Atomic. */
int nnrt_vocab_write_vectors(const char *path, const nnrt_vocab *v, const float *table, int64_t rows,
                             int64_t cols);

/* The UTF-8 byte order mark (U+FEFF): skipped at the start of a text data
 * file or a vocabulary file. */
#define NNRT_UTF8_BOM "\xEF\xBB\xBF"

/* The offset of the first byte of s[0..len) that is not part of valid
 * UTF-8 (overlong forms, surrogates, code points over U+10FFFF and NUL
 * count as invalid), or -1 if there is none. */
int64_t nnrt_utf8_invalid(const char *s, size_t len);

/* ---------------------------------------------------------------- examples */

/* A text file as examples: example i is the line line[i], its word ids
 * id[start[i] .. start[i + 1]) and, when read with labels, its label
 * label[i]. Lines with no word, and lines with more than max_words words,
 * are skipped and counted. */
typedef struct nnrt_corpus {
    int64_t n;
    int64_t *start; /* n + 1 offsets into id */
    int32_t *id;
    int32_t *label; /* NULL without labels */
    int64_t *line;  /* 1-based line numbers */
    int64_t empty;          /* lines skipped: no word */
    int64_t too_long;       /* lines skipped: over max_words */
    int64_t first_too_long; /* the first of those (0: none) */
    int64_t unknown;        /* words read as <unk> (the token "<unk>" included) */
} nnrt_corpus;

/* Reads path with the vocabulary words. With labels != NULL every line
 * that has a word must have exactly one label, and that label must be in
 * labels: a missing, doubled or unknown label is an error naming
 * path:line. A word not in words is <unk>. max_words <= 0: no limit. */
int nnrt_corpus_read(const char *path, const nnrt_vocab *words, const nnrt_vocab *labels, int64_t max_words,
                     nnrt_corpus *out);
void nnrt_corpus_free(nnrt_corpus *c);

/* How the n word ids of an example become a model's `int[T + k]` input
 * (docs/TRAIN.md):
 *   PLAIN   k = 0: the words;                              T = n
 *   LM      k >= 1: k x <s>, the words, one <s>;           T = n + 1
 *   WINDOW  k even: k/2 x <s>, the words, k/2 x <s>;       T = n */
typedef enum { NNRT_LAYOUT_PLAIN = 0, NNRT_LAYOUT_LM = 1, NNRT_LAYOUT_WINDOW = 2 } nnrt_layout;

/* T for n words; -1 when the layout does not take k. */
int64_t nnrt_layout_T(nnrt_layout kind, int64_t k, int64_t n);
/* Writes the T + k ids into out and returns T (-1 as nnrt_layout_T). */
int64_t nnrt_layout_fill(nnrt_layout kind, int64_t k, const int32_t *ids, int64_t n, int32_t *out);

#ifdef __cplusplus
}
#endif
#endif /* NNRT_DATA_H */
