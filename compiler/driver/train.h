/*
 * train.h - what `nngc train` (train.c), `nngc eval` (eval.c) and their
 * data layer (train_data.c) share. docs/TRAIN.md is the user's view.
 *
 * The unit of data is the *example*: what one call of the model's forward
 * or train_step takes (one line of a text file, or one row of .npy arrays).
 * A Dataset hands out examples by index; the trainer asks for them in a
 * shuffled order and runs one step per example, or per batch: a Pack
 * (train_batch.c) puts B examples of a Dataset into the slots of the
 * compiler's batched program.
 */
#ifndef NNGC_TRAIN_H
#define NNGC_TRAIN_H

#include "driver.h"
#include "nngrt.h"
#include "nnrt_data.h"

typedef struct Batched Batched; /* train_batch.c */

/* One example, ready for d->forward / d->train_step. */
typedef struct Example {
    const void **in; /* in[i]: data of input i (valid until the next dataset_get of the slot) */
    int64_t dyn[NNRT_MAXDYN];
    double units;    /* what the loss is divided by: predicted words, or 1 per example */
    int64_t words;   /* words of the line (0 for .npy data) */
    int32_t label;   /* -1 without a label input */
    bool dropped;    /* --sample dropped every word of the line: no step (train_sub.c) */
} Example;

/* How a text line maps onto the model's inputs (docs/TRAIN.md). */
typedef struct TextSpec {
    int text;         /* the input `int[T + k]` */
    int label;        /* the scalar int input, -1 if none */
    int tdyn;         /* T's position in dyn[] */
    int64_t k, tmax;
    nnrt_layout layout;
    int64_t max_words; /* longest line that fits T's max */
} TextSpec;

typedef struct Dataset {
    const nnrt_model_desc *d;
    const char *path; /* the text file, or the first .npy, for messages */
    int64_t n;        /* examples */
    double units;     /* sum over the examples */
    int64_t words;
    bool text;
    /* text */
    TextSpec ts;
    nnrt_corpus corpus;
    int32_t *ids;     /* T + k ids of the current example */
    int32_t label;
    /* .npy: arr[i] holds input i, examples on axis 0; lengths [n, ndyn] */
    nnrt_array *arr;
    nnrt_array lengths;
    void **buf;       /* per input: the current example, packed */
    const void **in;
    struct Subsample *sub; /* --sample (train_sub.c), shared by the views; NULL: every word */
    int32_t *kept;         /* the current line's kept words (a view's own) */
} Dataset;

/* Options shared by train and eval. */
typedef struct DataOptions {
    const char *layout;    /* --layout KIND or NULL: by the input's type */
    const char *vocab_dim; /* --vocab-dim NAME (default V when the model has it) */
    const char *vocab;     /* --vocab FILE: use this vocabulary */
    const char *lengths;   /* --lengths FILE.npy */
    const char *valid_lengths;
} DataOptions;

/* A data argument: a text file, or NAME=FILE.npy for an input. */
typedef struct DataItem {
    const char *name; /* NULL for a text file */
    const char *file;
} DataItem;

typedef struct DataArg {
    DataItem *items;
    int n, cap;
} DataArg;

void data_arg_add(DataArg *a, const char *v);
/* The data (data->n > 0) and the validation data (valid may be NULL) are
 * one kind, a text file (once) or .npy files (NAME=FILE.npy); false after
 * the error (a usage error: before anything is compiled or read). */
bool data_args_ok(const DataArg *data, const DataArg *valid);
/* A warning when params has a CKPT.vocab beside it (nngc train --save)
 * whose words are not those of words, loaded from the file vocab. */
void vocab_check_params(const char *vocab, const nnrt_vocab *words, const char *params);

/* train_data.c */
bool text_spec(const nnrt_model_desc *d, const char *layout, TextSpec *ts);
/* Is layout a --layout KIND (plain, lm, window)? false after the error. */
bool layout_ok(const char *layout);
/* Checks the vocabulary against the model's V (docs/TRAIN.md). */
bool vocab_fits(const nnrt_model_desc *d, const DataOptions *o, const nnrt_vocab *words, const nnrt_vocab *labels,
                const TextSpec *ts);
bool dataset_open_text(Dataset *ds, const nnrt_model_desc *d, const TextSpec *ts, const char *path,
                       const nnrt_vocab *words, const nnrt_vocab *labels, bool quiet);
bool dataset_open_npy(Dataset *ds, const nnrt_model_desc *d, const DataArg *a, const char *lengths);
bool dataset_get(Dataset *ds, int64_t i, Example *ex);
/* The length of example i: its words (text), its first dynamic dim
 * (.npy), 0 without one. */
int64_t dataset_len(const Dataset *ds, int64_t i);
/* "FILE:LINE" (text) or "FILE example I" (.npy) of example i. */
const char *dataset_where(const Dataset *ds, int64_t i);
void dataset_close(Dataset *ds);

/* The rank-1 output whose argmax is a classifier's prediction: -1 if none. */
int prediction_output(const nnrt_model_desc *d);

typedef struct Score {
    double loss, units;
    int64_t examples, correct;
    bool have_acc;   /* a label input and a prediction output */
    bool per_word;   /* units are words: perplexity means something */
} Score;

/* Forward over every example of ds; false after an error message. With
 * bat (may be NULL), full batches go through bat->bd (m's params copied
 * to bat->bm first), the rest one at a time through d and m. */
bool evaluate(const nnrt_model_desc *d, void *m, Dataset *ds, const Batched *bat, Score *s);
/* "loss 4.1234 (ppl 61.8)" or "loss 0.3 acc 91.2%" */
const char *score_text(const Score *s);

/* The model compiled and loaded; *opt_lr is the optimizer's lr (0 when the
 * model has none). NULL after an error message. */
const nnrt_model_desc *load_model(const char *model, CompileOptions *co, bool train, double *opt_lr);

/* --export NAME=FILE: a word2vec text file (.txt, .vec) or .npy. */
bool export_param(const nnrt_model_desc *d, void *m, const char *spec, const nnrt_vocab *words);
/* Before any training or evaluation: the param of --export spec exists
 * and fits its format (words: the data is text, with a vocabulary). */
bool export_check(const nnrt_model_desc *d, const char *spec, bool words);
/* Is spec PARAM=FILE, both named? Else false after saying so. */
bool export_spec_ok(const char *spec);
/* --init-unigram PARAM: the log unigram frequencies of the vocabulary into
 * a vector param (train_data.c); false after an error. */
bool unigram_init(const nnrt_model_desc *d, void *m, const char *name, const nnrt_vocab *words);

/* What CKPT.train holds: where training stands at the end of an epoch. */
typedef struct TrainState {
    long epoch;       /* epochs done */
    double lr_scale;  /* plateau decay so far */
    double best;      /* best validation loss per unit (INFINITY: none yet) */
    long bad;         /* epochs since it improved */
    uint64_t seed;
} TrainState;

/* train_ckpt.c: CKPT, CKPT.vocab (words non-NULL) and CKPT.train, each
 * atomically; CKPT.train records co's open dims' sizes. */
bool save_checkpoint(const nnrt_model_desc *d, void *m, const char *path, const nnrt_vocab *words,
                     const nnrt_vocab *labels, const TrainState *st, const CompileOptions *co);
/* Reads CKPT.train; false after an error (a missing file is not one:
 * *found is false then). */
bool load_state(const char *ckpt, TrainState *st, bool *found);
/* FNV-1a of a file's bytes; false after an error message. */
bool file_hash(const char *path, uint64_t *h);

/* The sizes of open dims (docs/LANGUAGE.md, "Open dims") that CKPT.train
 * recorded, as bindings of co; false after an error (none is no error). */
bool ckpt_bind_dims(CompileOptions *co, const char *ckpt);
/* The vocabulary's size for the open dim --vocab-dim (default V). */
bool vocab_bind_dim(CompileOptions *co, const DataOptions *o, const nnrt_vocab *words, const char *from);

/* CKPT.vocab next to a checkpoint */
const char *vocab_path(const char *ckpt);
/* Whether path is checkpoint ckpt or its .vocab or .train file (by name or by identity). */
bool ckpt_file(const char *ckpt, const char *path);

/* load_model with the compiler's diagnostics kept: NULL and *why (their
 * first line) when the model does not compile with these options. */
const nnrt_model_desc *load_model_quiet(const char *model, CompileOptions *co, bool train, double *opt_lr,
                                        const char **why);
/* A view of ds with buffers of its own: dataset_get on it writes only
 * those, so that each thread may have one. */
void dataset_view(Dataset *v, const Dataset *ds);
/* Copies n (rank axes) from a block of shape sshape into one of shape
 * dshape, both row-major. */
void copy_block(char *dst, const int64_t *dshape, const char *src, const int64_t *sshape, const int64_t *n, int rank);

/* train_batch.c: the compiler's batched program (nngc --batch=B) next to
 * the program as written; see the comment at its top. */
struct Batched {
    const nnrt_model_desc *d1, *bd; /* one example per call; B per call */
    void *m1, *bm;                  /* m1 is the model of record; bm gets its params for a run of batches */
    int64_t B;
    unsigned char *tmajor;          /* per input: 1 time-major [s0, B, ...], 0 batch-major [B, ...] */
    int len_input;                  /* bd's first input DIM_len (one per dynamic dim), -1 without one */
};

/* Compiles model with --batch=B and checks its API against d1's; false
 * with *why (one line) when the compiler cannot batch it. */
bool batched_load(Batched *b, const char *model, const CompileOptions *co, bool train, const nnrt_model_desc *d1,
                  int64_t B, const char **why);
/* The batched program for `--batch batch` shared by per threads x ranks
 * (b->d1 set by the caller): b->bd stays NULL, after a one-line note on
 * stderr unless quiet, when the share is one example, batch is not a
 * multiple of per, or the compiler cannot batch the model. False only
 * after an error message. */
bool batched_setup(Batched *b, const char *model, const CompileOptions *co, bool train, void *m1, long batch,
                   long per, bool quiet);
/* --bucket k: perm's full batches of B, k at a time, sorted by length
 * (dataset_len), then shuffled as wholes from (seed, epoch); the partial
 * batch stays last. Nothing when k is 0. */
void batch_order(int64_t *perm, int64_t n, int64_t B, long k, const Dataset *ds, uint64_t seed, long epoch);
/* dst's params (and optimizer state) := src's. */
void batched_sync(const nnrt_model_desc *dd, void *dm, const nnrt_model_desc *sd, void *sm, bool state);

/* One batch packed for b->bd: buffers of its own (one Pack per thread). */
typedef struct Pack {
    const Batched *b;
    Dataset ds;                  /* a view (dataset_view) */
    void **buf;                  /* per input of bd */
    size_t *bytes;
    const void **in;             /* = buf, for bd's calls */
    int64_t dyn[NNRT_MAXDYN];    /* the longest example's */
    int32_t *label;              /* per example, -1 without a label */
    double units;
    int64_t words;
} Pack;

void pack_init(Pack *p, const Batched *b, const Dataset *ds);
/* The B examples idx[0..B) into p; false after an error message. */
bool pack_batch(Pack *p, const int64_t *idx);
/* After a batch failed: the first of its examples that fails alone on
 * b->m1 (*bad, its message in msg); false when none does. */
bool batch_locate(Pack *p, const int64_t *idx, int64_t *bad, char *msg, size_t len);

/* train_sub.c: word2vec's subsampling of frequent words (--sample t). */
typedef struct Subsample {
    double t;
    uint64_t seed;
    long epoch;   /* set by subsample_epoch */
    double *keep; /* per word id: the probability of keeping an occurrence */
    int64_t nkeep;
    int64_t kept, words; /* this epoch's, all threads (atomic adds) */
} Subsample;

/* Counts every id in ds's text and turns on subsampling with threshold t
 * (> 0); draws come from (seed, epoch, line). False after a message. */
bool subsample_init(Dataset *ds, double t, uint64_t seed);
void subsample_epoch(Dataset *ds, long epoch);
/* "kept N of M words (P%)" for the epoch that ended, NULL without --sample */
const char *subsample_report(const Dataset *ds);
/* The kept words of line i (ids[0..n)) into out; returns how many. */
int64_t subsample_line(Subsample *s, int64_t i, const int32_t *ids, int64_t n, int32_t *out);
/* The probability that word2vec keeps an occurrence of a word with
 * count c out of total words: min(1, (sqrt(f / t) + 1) t / f), f = c / total. */
double subsample_keep(int64_t c, int64_t total, double t);

#endif /* NNGC_TRAIN_H */
