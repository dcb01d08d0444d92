/*
 * train.c - `nngc train MODEL.nn --data FILE`: the training loop of
 * fastText / word2vec / a PyTorch script, around a compiled model.
 *
 *   1. parse the command line (a bad one exits 2 before any work);
 *   2. compile the model with its training API and load it (train_data.c
 *      load_model, through the driver as `nngc run` does);
 *   3. the vocabulary: from --vocab, from the checkpoint being resumed
 *      (CKPT.vocab), or counted from the training file;
 *   4. the datasets (train, --valid) as examples;
 *   5. epochs: a shuffled order, one train step per example (with --batch,
 *      per batch: the compiler's batched program, train_batch.c, or the
 *      summed one-example gradients, train_par.c), the lr schedule,
 *      progress; validation, the best checkpoint, early stopping;
 *   6. --export.
 *
 * Checkpoints (CKPT, CKPT.vocab, CKPT.train) are train_ckpt.c's.
 *
 * Resuming gives the same parameters as an uninterrupted run because
 * everything that changes from step to step is a function of (seed, epoch,
 * step) or is saved with the checkpoint: the order of epoch e is a
 * permutation drawn from an RNG seeded by (seed, e) alone; the linear lr
 * is base * (1 - step / total); the optimizer state is in the safetensors
 * file (__opt__/...); the plateau scale, the best validation loss and the
 * epoch count are in CKPT.train. Checkpoints are taken at epoch ends.
 */
#include "train.h"
#include "train_par.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { DECAY_NONE, DECAY_LINEAR, DECAY_PLATEAU } Decay;

typedef struct TrainArgs {
    const char *model;
    DataArg data, valid;
    DataOptions dopt;
    long epochs;
    double lr; /* 0: the model's optimizer's */
    Decay decay;
    double factor; /* plateau: lr *= factor */
    uint64_t seed;
    bool have_seed;
    const char *save, *params;
    long min_count, max_vocab, patience, stop_after;
    const char **exports;
    int nexports, capexports;
    double progress_s;
    bool quiet;
    CompileOptions co;
    ParOptions par; /* --threads, --parallel, --batch; the MPI ranks (train_par.h) */
    bool mpi;       /* --mpi: MPI even when not started by mpirun */
    bool one_example; /* --one-example: --batch sums one-example gradients, not the batched program */
    long bucket;      /* --bucket K: sort K batches at a time by length (0: off; default 5, docs/TRAIN.md) */
    const char *dump_order; /* --dump-order FILE: each epoch's order, one example index a line */
    double sample;    /* --sample t: subsampling of frequent words (train_sub.c), 0: off */
    const char *init_unigram; /* --init-unigram PARAM: its log unigram frequencies (not when resuming) */
} TrainArgs;


static void train_usage(FILE *out) {
    fputs("usage: nngc train MODEL.nn --data FILE [options]\n"
          "Trains MODEL.nn on a text file (one example per line) or on .npy arrays.\n"
          "  --data FILE | NAME=FILE.npy   training data (text, or one .npy per input)\n"
          "  --valid FILE | NAME=FILE.npy  validation data: loss (and perplexity) every epoch\n"
          "  --lengths FILE.npy, --valid-lengths FILE.npy   dynamic dims per .npy example\n"
          "  --epochs N (5)        --lr X (the model's)      --optimizer=SPEC\n"
          "  --decay none|linear|plateau[:F]   lr schedule (none; plateau halves, or *F)\n"
          "  --seed N (1)          init and shuffling\n"
          "  --sample T (0: off)   drop frequent words as word2vec's -sample T (e.g. 1e-4)\n"
          "  --batch B (1)         examples per update: the batched program (nngc --batch=B) when the\n"
          "                        compiler can batch the model, else their gradients summed\n"
          "  --one-example         with --batch: always sum one-example gradients\n"
          "  --bucket K (5)        with --batch: sort K batches at a time by length (0: no sorting)\n"
          "  --threads N (1)       --parallel=hogwild|sync (hogwild for --batch 1, else sync)\n"
          "  --mpi                 MPI even without mpirun (mpirun -np P nngc train ... needs no flag)\n"
          "  --mpi-bucket MB (1)   MPI: gradients sent in MB MiB pieces as the backward pass ends them (0: after)\n"
          "  --mpi-sparse=auto|rows|dense   MPI: table gradients as their touched rows (auto: when fewer)\n"
          "  --save FILE           checkpoint: the best epoch (with --valid), else the last;\n"
          "                        FILE.vocab and FILE.train are written next to it\n"
          "  --params CKPT         resume from a checkpoint (params, optimizer, vocabulary, epoch)\n"
          "  --patience N          stop after N epochs without a better validation loss\n"
          "  --clip X              scale the gradients to L2 norm X when over it (clip_grad_norm_)\n"
          "  --vocab FILE          use this vocabulary     --min-count N (1)  --max-vocab N\n"
          "  --vocab-dim NAME (V)  the model dim the vocabulary sizes (`dim V` open) or must fit\n"
          "  --dim NAME=N          the size of an open dim (over the vocabulary's)\n"
          "  --layout plain|lm|window   how a line fills the model's int[T + k] input\n"
          "  --export PARAM=FILE   write a param: word2vec text (.txt/.vec) or .npy\n"
          "  --progress SECONDS (5)   --stop-after N (epochs, then stop)   -q\n"
          "  --dump-order FILE     write each epoch's order of examples to FILE (epoch 1 starts it)\n"
          "  --init-unigram PARAM  start the vector PARAM (an output bias) at the log unigram frequencies\n"
          "  and the compiler options of nngc (-O, --softmax=, --cc=, ...)\n"
          "Compiled models are kept in $NNGC_CACHE_DIR (default ~/.cache/nngc; off: no cache).\n"
          "See docs/TRAIN.md.\n",
          out);
}

static bool parse_long(const char *opt, const char *s, long lo, long *out) {
    return driver_parse_range(opt, s, lo, LONG_MAX, out);
}

static bool parse_pos_double(const char *opt, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v > 0) || !isfinite(v)) {
        driver_error("%s: expected a positive number, got '%s'", opt, s);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_decay(TrainArgs *a, const char *v) {
    a->factor = 0.5;
    if (strcmp(v, "none") == 0)
        a->decay = DECAY_NONE;
    else if (strcmp(v, "linear") == 0)
        a->decay = DECAY_LINEAR;
    else if (strncmp(v, "plateau", 7) == 0 && (!v[7] || v[7] == ':')) {
        a->decay = DECAY_PLATEAU;
        if (v[7] && (!parse_pos_double("--decay plateau:F", v + 8, &a->factor) || a->factor >= 1)) {
            driver_error("--decay plateau:F needs 0 < F < 1");
            return false;
        }
    } else {
        driver_error("--decay %s: expected none, linear or plateau[:F]", v);
        return false;
    }
    return true;
}

/* Returns 0 on success, else the exit status. */
static int parse_train_args(TrainArgs *a, int argc, char **argv) {
    compile_options_init(&a->co);
    a->par.threads = a->par.batch = 1;
    a->epochs = 5, a->seed = 1, a->min_count = 1, a->progress_s = 5, a->factor = 0.5, a->bucket = 5;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v;
        long n = 0;
        int r;
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            train_usage(stdout);
            exit(0);
        }
        /* --batch here is the trainer's (examples per update), not the
         * compiler's --batch=B: the trainer compiles the one-example program,
         * and the batched one itself (train_batch.c) */
        if (strncmp(s, "--batch", 7) != 0 && (r = compile_options_parse(&a->co, argc, argv, &i)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
#define VALUE(name) ((r = match_value_option(name, argc, argv, &i, &v)) != 0)
        if (strcmp(s, "--mpi") == 0 || strcmp(s, "--one-example") == 0) {
            *(s[2] == 'm' ? &a->mpi : &a->one_example) = true;
            continue;
        }
        if (strcmp(s, "-q") == 0 || strcmp(s, "--quiet") == 0) {
            a->quiet = true;
            continue;
        }
        if (s[0] != '-') {
            if (a->model) {
                driver_two_models(argv, i, a->model);
                return EXIT_USAGE;
            }
            a->model = s;
            continue;
        }
        bool ok = true;
        if (VALUE("--data")) {
            if (r > 0) data_arg_add(&a->data, v);
        } else if (VALUE("--valid")) {
            if (r > 0) data_arg_add(&a->valid, v);
        } else if (VALUE("--lengths")) {
            a->dopt.lengths = v;
        } else if (VALUE("--valid-lengths")) {
            a->dopt.valid_lengths = v;
        } else if (VALUE("--epochs")) {
            ok = r > 0 && parse_long(s, v, 1, &a->epochs);
        } else if (VALUE("--lr")) {
            ok = r > 0 && parse_pos_double(s, v, &a->lr);
        } else if (VALUE("--decay")) {
            ok = r > 0 && parse_decay(a, v);
        } else if (VALUE("--init-unigram")) {
            ok = r > 0 && (a->init_unigram = v) != NULL;
        } else if (VALUE("--sample")) {
            ok = r > 0 && (strcmp(v, "0") == 0 || parse_pos_double(s, v, &a->sample));
        } else if (VALUE("--seed")) {
            ok = r > 0 && parse_long(s, v, 0, &n);
            a->seed = (uint64_t)n, a->have_seed = true;
        } else if (VALUE("--batch")) {
            ok = r > 0 && driver_parse_range(s, v, 1, DRIVER_BATCH_MAX, &a->par.batch);
        } else if (VALUE("--bucket")) {
            ok = r > 0 && parse_long(s, v, 0, &a->bucket);
        } else if (VALUE("--threads")) {
            ok = r > 0 && parse_long(s, v, 1, &a->par.threads);
            if (ok && a->par.threads > 256) {
                driver_error("--threads %ld: at most 256", a->par.threads);
                ok = false;
            }
        } else if (VALUE("--parallel")) {
            ok = r > 0 && par_parse_mode(&a->par, v);
        } else if (VALUE("--mpi-bucket") || VALUE("--mpi-sparse")) {
            ok = r > 0 && par_parse_mpi(&a->par, s, v);
        } else if (VALUE("--clip")) {
            ok = r > 0 && parse_pos_double(s, v, &a->par.clip);
        } else if (VALUE("--save")) {
            a->save = v;
        } else if (VALUE("--params")) {
            a->params = v;
        } else if (VALUE("--vocab")) {
            a->dopt.vocab = v;
        } else if (VALUE("--vocab-dim")) {
            a->dopt.vocab_dim = v;
        } else if (VALUE("--dump-order")) {
            a->dump_order = v;
        } else if (VALUE("--layout")) {
            ok = r > 0 && layout_ok(v);
            a->dopt.layout = v;
        } else if (VALUE("--min-count")) {
            ok = r > 0 && parse_long(s, v, 1, &a->min_count);
        } else if (VALUE("--max-vocab")) {
            ok = r > 0 && parse_long(s, v, 2, &a->max_vocab);
        } else if (VALUE("--patience")) {
            ok = r > 0 && parse_long(s, v, 1, &a->patience);
        } else if (VALUE("--stop-after")) {
            ok = r > 0 && parse_long(s, v, 1, &a->stop_after);
        } else if (VALUE("--progress")) {
            ok = r > 0 && parse_pos_double(s, v, &a->progress_s);
        } else if (VALUE("--export")) {
            if ((ok = r > 0 && export_spec_ok(v))) /* before the training, not after it */
                VEC_PUSH(a->exports, a->nexports, a->capexports, v);
        } else {
            driver_unknown_option(s, "nngc train", train_usage);
            return EXIT_USAGE;
        }
#undef VALUE
        if (r < 0 || !ok)
            return EXIT_USAGE;
    }
    const char *missing = !a->model ? "no model file" : a->data.n == 0 ? "no training data: give --data FILE" : NULL;
    if (missing) {
        driver_error("%s (see nngc train --help)", missing);
        return EXIT_USAGE;
    }
    if ((a->patience || a->decay == DECAY_PLATEAU) && a->valid.n == 0) {
        driver_error("%s needs validation data: give --valid FILE", a->patience ? "--patience" : "--decay plateau");
        return EXIT_USAGE;
    }
    if (!data_args_ok(&a->data, &a->valid))
        return EXIT_USAGE;
    return 0;
}

/* ---------------------------------------------------------------- progress */

typedef struct Progress {
    bool tty, quiet, text; /* text data: words/s */
    double interval_us, start_us, last_us;
    int64_t todo, done; /* examples this run */
    int64_t words;
    long epoch, epochs; /* for par_progress */
} Progress;

/* s seconds as 1h02m03s, into buf (a line a second for days: not the
 * compiler's arena, which is never freed) */
static const char *hms(double s, char *buf, size_t len) {
    long t = s > 0 && s < 1e9 ? (long)s : 0;
    snprintf(buf, len, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
    return buf;
}

static void progress_show(Progress *p, long epoch, long epochs, double frac, double lr, double loss, bool force) {
    double now = nnrt_now_us();
    if (p->quiet || (!force && now - p->last_us < p->interval_us))
        return;
    p->last_us = now;
    double secs = (now - p->start_us) / 1e6;
    double exs = secs > 0 ? (double)p->done / secs : 0;
    char wps[48] = "", eta[48]; /* .npy examples have no words */
    if (p->text)
        snprintf(wps, sizeof wps, "words/s %.0f  ", secs > 0 ? (double)p->words / secs : 0);
    fprintf(stderr, "%sepoch %ld/%ld %5.1f%%  %sex/s %.0f  lr %.6f  loss %.4f  ETA %s%s", p->tty ? "\r" : "", epoch,
            epochs, 100 * frac, wps, exs, lr, loss, hms(exs > 0 ? (double)(p->todo - p->done) / exs : 0, eta, sizeof eta),
            p->tty ? "  " : "\n");
    fflush(stderr);
}

/* ---------------------------------------------------------------- the loop */

/* The order of epoch e: a Fisher-Yates permutation from (seed, e) alone. */
static void shuffle(int64_t *perm, int64_t n, uint64_t seed, long epoch) {
    nnrt_rng r;
    nnrt_rng_seed(&r, seed * 0x9e3779b97f4a7c15ull + (uint64_t)epoch + 1);
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(nnrt_rng_next(&r) % (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
}

typedef struct Trainer {
    TrainArgs *a;
    const nnrt_model_desc *d;
    void *m;
    Dataset train, valid;
    bool have_valid;
    nnrt_vocab words, labels;
    bool text;
    bool vocab_given; /* read from a file (--vocab, CKPT.vocab), not counted */
    bool recount;     /* counted again, `__label__x` a word: the model has no label input */
    double base_lr;
    TrainState st;
    bool saved_best;
    Batched bat; /* bat.bd: the batched program, NULL when not used (train_batch.c) */
    void *ctx;           /* --clip, one example at a time: the context the gradient is clipped in */
    const float **outs;  /* its outputs */
} Trainer;

static double lr_at(const Trainer *t, int64_t step, int64_t total) {
    double lr = t->base_lr * t->st.lr_scale;
    if (t->a->decay == DECAY_LINEAR)
        lr *= fmax(1e-4, 1.0 - (double)step / (double)total);
    return lr;
}

/* One update from one example: NAME_train_step, adding its loss to *loss. */
static bool train_step(Trainer *t, const Example *ex, int64_t idx, double *loss) {
    float l = 0;
    const nnrt_model_desc *d = t->d;
    if (t->a->par.clip > 0 && !t->ctx) { /* NAME_grad, clip, NAME_update */
        t->ctx = d->ctx_create(t->m);
        t->outs = xalloc(sizeof(float *) * (size_t)(d->noutputs + 1));
        if (!t->ctx) {
            driver_error("--clip: out of memory for a context");
            return false;
        }
    }
    int rc = !t->ctx ? d->train_step(t->m, ex->dyn, ex->in, &l) : d->ctx_grad(t->ctx, ex->dyn, ex->in, &l, t->outs);
    if (rc == NNRT_OK && t->ctx) {
        par_clip(d, t->ctx, t->a->par.clip);
        rc = d->update(t->m, t->ctx);
    }
    if (rc != NNRT_OK) {
        driver_error("%s: %s", dataset_where(&t->train, idx), nnrt_last_error());
        return false;
    }
    if (!isfinite(l)) {
        driver_error("%s: the loss is %g: training diverged (try a smaller --lr)", dataset_where(&t->train, idx), l);
        return false;
    }
    *loss += l;
    return true;
}

/* train_par.c's progress: what the first thread has seen. */
static void par_progress(void *arg, int64_t dex, int64_t dwords, double frac, double lr, double loss) {
    Progress *p = arg;
    p->done += dex, p->words += dwords;
    progress_show(p, p->epoch, p->epochs, frac, lr, loss, false);
}

/* --dump-order FILE: the epoch's order appended, one example index (the
 * data's examples counted from 0, skipped lines not counted) a line, after
 * a line "epoch E" (bench/rnnlm_torch_train.py --order replays it). */
static bool dump_order(const char *path, const int64_t *perm, int64_t n, long epoch) {
    FILE *f = fopen(path, epoch ? "a" : "w");
    if (!f) {
        driver_error("cannot write '%s': %s", path, strerror(errno));
        return false;
    }
    fprintf(f, "epoch %ld\n", epoch + 1);
    for (int64_t i = 0; i < n; i++)
        fprintf(f, "%lld\n", (long long)perm[i]);
    if (fclose(f) != 0) {
        driver_error("cannot write '%s'", path);
        return false;
    }
    return true;
}

/* One epoch over t->train; *loss and *units sum it. */
static bool run_epoch(Trainer *t, Progress *p, int64_t *perm, double *loss, double *units) {
    const nnrt_model_desc *d = t->d;
    Dataset *ds = &t->train;
    long e = t->st.epoch;
    int64_t n = ds->n, total = n * t->a->epochs;
    shuffle(perm, n, t->st.seed, e);
    subsample_epoch(ds, e);
    if (t->a->par.mode == PAR_SYNC)
        batch_order(perm, n, t->a->par.batch, t->a->bucket, ds, t->st.seed, e);
    if (t->a->dump_order && t->a->par.rank == 0 && !dump_order(t->a->dump_order, perm, n, e)) /* same on every rank */
        return false;
    p->epoch = e + 1, p->epochs = t->a->epochs;
    double last_lr = -1, lr = 0;
    *loss = *units = 0;
    if (par_active(&t->a->par)) {
        ParEpoch pe = {.po = &t->a->par, .d = d, .m = t->m, .ds = ds, .perm = perm, .seed = t->st.seed, .epoch = e,
                       .lr0 = t->base_lr * t->st.lr_scale, .linear = t->a->decay == DECAY_LINEAR, .step0 = e * n,
                       .total = total, .work_epoch = ds->text ? ds->words : n, .progress = par_progress,
                       .progress_arg = p};
        if (t->bat.bd) {
            /* the full batches on the batched program, the last partial
             * one as before (train_batch.c) */
            ParEpoch full = pe;
            double l = 0, u = 0;
            full.d = t->bat.bd, full.m = t->bat.bm, full.bat = &t->bat;
            full.end = n / t->a->par.batch * t->a->par.batch;
            pe.first = full.end;
            batched_sync(full.d, full.m, d, t->m, true);
            bool ok = full.end == 0 || par_epoch(&full, &l, &u);
            batched_sync(d, t->m, full.d, full.m, true);
            if (!ok)
                return false;
            *loss += l, *units += u;
        }
        double l = 0, u = 0;
        if (pe.first < n && !par_epoch(&pe, &l, &u))
            return false;
        *loss += l, *units += u;
        lr = lr_at(t, e * n + n - 1, total);
    }
    for (int64_t i = 0; i < n && !par_active(&t->a->par); i++) {
        Example ex;
        if (!dataset_get(ds, perm[i], &ex))
            return false;
        if (ex.dropped) { /* --sample left no word */
            p->done++, p->words += ex.words;
            continue;
        }
        lr = lr_at(t, e * n + i, total);
        if (lr != last_lr)
            d->set_lr(t->m, (float)lr);
        last_lr = lr;
        if (!train_step(t, &ex, perm[i], loss))
            return false;
        *units += ex.units;
        p->done++, p->words += ex.words;
        progress_show(p, e + 1, t->a->epochs, (double)(i + 1) / (double)n, lr, *loss / *units, false);
    }
    progress_show(p, e + 1, t->a->epochs, 1.0, lr, *units > 0 ? *loss / *units : 0, true);
    if (p->tty && !p->quiet)
        fputc('\n', stderr);
    return true;
}

/* The vocabulary: --vocab, else CKPT.vocab of --params, else counted
 * (labels apart when want_labels); *from (may be NULL) names where it came
 * from. Made before the model is compiled: it may size an open dim. */
static bool make_vocab(Trainer *t, bool want_labels, const char **from_out) {
    const TrainArgs *a = t->a;
    const char *from = a->dopt.vocab;
    if (!from && a->params && access(vocab_path(a->params), F_OK) == 0)
        from = vocab_path(a->params);
    if (from_out)
        *from_out = from ? from : a->data.items[0].file;
    if (from) {
        if (nnrt_vocab_load(from, &t->words, &t->labels) != NNRT_OK) {
            driver_error("%s", nnrt_last_error());
            return false;
        }
        if (a->dopt.vocab)
            vocab_check_params(from, &t->words, a->params);
        return true;
    }
    nnrt_vocab raw, labels;
    nnrt_vocab_init(&raw);
    nnrt_vocab_init(&labels);
    nnrt_text_stats st;
    const char *path = a->data.items[0].file;
    bool ok = nnrt_text_count(path, &raw, want_labels ? &labels : NULL, &st) == NNRT_OK &&
              nnrt_vocab_finish(&raw, a->min_count, a->max_vocab, 1, &t->words) == NNRT_OK &&
              nnrt_vocab_finish(&labels, 1, 0, 0, &t->labels) == NNRT_OK;
    if (!ok)
        driver_error("%s", nnrt_last_error());
    else if (!a->quiet)
        fprintf(stderr, "nngc: %s: %lld lines, %lld words, vocabulary %d (of %d distinct, min count %ld)%s%s\n", path,
                (long long)st.lines, (long long)st.tokens, (int)t->words.n, (int)raw.n - 2, a->min_count,
                t->labels.n > 0 ? xsprintf(", %d labels", (int)t->labels.n) : "",
                t->recount ? "; counted again with the __label__ tokens as words: the model has no label input" : "");
    nnrt_vocab_free(&raw);
    nnrt_vocab_free(&labels);
    return ok;
}

static bool open_data(Trainer *t) {
    const TrainArgs *a = t->a;
    const nnrt_model_desc *d = t->d;
    t->text = a->data.items[0].name == NULL; /* one kind, text once: data_args_ok */
    if (!t->text)
        return dataset_open_npy(&t->train, d, &a->data, a->dopt.lengths) &&
               (!t->have_valid || dataset_open_npy(&t->valid, d, &a->valid, a->dopt.valid_lengths));
    TextSpec ts;
    if (!text_spec(d, a->dopt.layout, &ts))
        return false;
    t->train.ts = ts;
    if (ts.label < 0 && t->labels.n > 0 && !t->vocab_given) {
        /* counted with labels apart, for a model without a label input:
         * `__label__x` is an ordinary word after all */
        int64_t n = t->words.n;
        nnrt_vocab_free(&t->words);
        nnrt_vocab_free(&t->labels);
        t->recount = true;
        if (!make_vocab(t, false, NULL))
            return false;
        bool again = t->a->co.vocab_counts != NULL; /* the counts sized hier's paths: again */
        if (again)
            t->a->co.vocab_counts = t->words.count, t->a->co.nvocab_counts = t->words.n;
        for (int i = 0; i < t->a->co.ndims && n != t->words.n; i++)
            if (t->a->co.dims[i].used && t->a->co.dims[i].if_open) /* the vocabulary sized a dim: again */
                t->a->co.dims[i].value = t->words.n, again = true;
        if (again) {
            double lr;
            if (!(d = t->d = load_model(a->model, &t->a->co, true, &lr)))
                return false;
            if (!text_spec(d, a->dopt.layout, &ts))
                return false;
        }
    }
    return vocab_fits(d, &a->dopt, &t->words, &t->labels, &ts) &&
           dataset_open_text(&t->train, d, &ts, a->data.items[0].file, &t->words, &t->labels, a->quiet) &&
           (!t->have_valid ||
            dataset_open_text(&t->valid, d, &ts, a->valid.items[0].file, &t->words, &t->labels, a->quiet));
}

/* Restores --params CKPT: params, optimizer state, and where training stood. */
static bool resume(Trainer *t) {
    const TrainArgs *a = t->a;
    if (nnrt_load_params(t->d, t->m, a->params, 1, NULL) != NNRT_OK) {
        driver_error("%s", nnrt_last_error());
        return false;
    }
    bool found;
    TrainState st = t->st;
    if (!load_state(a->params, &st, &found))
        return false;
    if (found) {
        if (a->have_seed && st.seed != a->seed && !a->quiet)
            fprintf(stderr, "nngc: note: %s was trained with --seed %llu; continuing with --seed %llu\n", a->params,
                    (unsigned long long)st.seed, (unsigned long long)a->seed);
        if (a->have_seed)
            st.seed = a->seed;
        t->st = st;
    }
    return true;
}

static bool validate(Trainer *t, Score *s) {
    return evaluate(t->d, t->m, &t->valid, t->bat.bd ? &t->bat : NULL, s);
}

static int train_run(TrainArgs *ap);

static uint64_t fnv(uint64_t x, const void *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        x = (x ^ ((const unsigned char *)p)[i]) * 0x100000001b3ull;
    return x;
}

/* The ranks of an MPI job (train_mpi.c): the same command on the same
 * files everywhere (hashes compared: an error, not a hang), dense table
 * gradients (the select pass off: a sparse gradient's list of touched rows
 * cannot be summed over ranks), rank 0 alone prints and writes. */
static int train_mpi_setup(TrainArgs *a, int argc, char **argv) {
    uint64_t h = 0xcbf29ce484222325ull, fh;
    bool ok = file_hash(a->model, &fh);
    h = fnv(h, &fh, sizeof fh);
    for (int i = 0; ok && i < a->data.n; i++)
        if ((ok = file_hash(a->data.items[i].file, &fh)))
            h = fnv(h, &fh, sizeof fh);
    for (int i = 1; i < argc; i++)
        h = fnv(h, argv[i], strlen(argv[i]) + 1);
    if (!ok)
        h = (uint64_t)a->par.rank + 1; /* differs from the others': all stop */
    if (!par_mpi_agree(&a->par, h, "model, data or command line"))
        return EXIT_ERROR;
    VEC_PUSH(a->co.disabled, a->co.ndisabled, a->co.capdisabled, "select");
    if (a->par.rank > 0) {
        a->quiet = true;
        a->save = NULL;
        a->nexports = 0;
        if (!freopen("/dev/null", "w", stdout))
            return EXIT_ERROR;
    }
    return 0;
}

/* Every rank ends with the same params: checked, not assumed. */
static bool params_agree(const TrainArgs *a, const nnrt_model_desc *d, void *m) {
    uint64_t h = 0xcbf29ce484222325ull;
    int64_t zero[NNRT_MAXDYN] = {0};
    for (int i = 0; i < d->nparams; i++) {
        int64_t size = 1;
        for (int ax = 0; ax < d->params[i].rank; ax++)
            size *= nnrt_size_eval(&d->params[i].shape[ax], zero);
        h = fnv(h, d->param_data(m, i), sizeof(float) * (size_t)size);
    }
    return par_mpi_agree(&a->par, h, "params after training");
}

int nngc_train(int argc, char **argv) {
    TrainArgs a = {0};
    int rc = parse_train_args(&a, argc, argv);
    if (rc)
        return rc;
    if (!par_mpi_init(&a.par, a.mpi))
        return EXIT_ERROR;
    if (a.par.ranks > 1 && !(rc = train_mpi_setup(&a, argc, argv)))
        rc = train_run(&a);
    else if (a.par.ranks <= 1)
        rc = train_run(&a);
    par_mpi_finish(&a.par, rc == 0, !a.quiet);
    return rc;
}

static int train_run(TrainArgs *ap) {
    TrainArgs a = *ap;
    int rc;
    if (!par_check(&a.par, a.quiet))
        return EXIT_USAGE;
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE"); /* ranks on this machine */
    int here = a.par.ranks > 1 && local ? atoi(local) : 1, blas = par_blas_threads(a.par.threads, here);
    if (blas > 0 && !a.quiet)
        fprintf(stderr, "nngc: OpenBLAS set to %d thread%s: %ld training thread%s x %d process%s on %ld cores\n", blas,
                blas == 1 ? "" : "s", a.par.threads, a.par.threads == 1 ? "" : "s", here, here == 1 ? "" : "es",
                sysconf(_SC_NPROCESSORS_ONLN));
    if (!a.quiet && !a.co.target && nnrt_blas_hint() && (a.par.ranks <= 1 || a.par.rank == 0)) /* (cuda: cuBLAS) */
        fprintf(stderr, "nngc: note: %s\n", nnrt_blas_hint());
    /* no output may be an input (files.c); --save may update its --params */
    driver_note_input(a.model);
    for (int i = 0; i < a.data.n; i++)
        driver_note_input(a.data.items[i].file);
    for (int i = 0; i < a.valid.n; i++)
        driver_note_input(a.valid.items[i].file);
    if (a.params && !(a.save && driver_same_file(a.params, a.save)))
        driver_note_input(a.params);
    if (a.save && (!driver_check_output(a.save) || !driver_check_output(vocab_path(a.save))))
        return EXIT_USAGE;
    /* before the training, not after it; CKPT.vocab and CKPT.train are
     * written beside CKPT (which may be a device, written in place) */
    if (a.save && (!driver_check_writable("--save", a.save) || !driver_check_writable("--save", vocab_path(a.save))))
        return EXIT_ERROR;
    for (int i = 0; i < a.nexports && a.save; i++) { /* written after the last save: it would replace it */
        const char *eq = strchr(a.exports[i], '=');
        if (eq && ckpt_file(a.save, eq + 1)) {
            driver_error("--export %s would overwrite the checkpoint --save %s (or its .vocab or .train)",
                         a.exports[i], a.save);
            return EXIT_USAGE;
        }
    }
    Trainer t = {.a = &a, .have_valid = a.valid.n > 0};
    t.st = (TrainState){.lr_scale = 1, .best = INFINITY, .seed = a.seed};
    nnrt_vocab_init(&t.words);
    nnrt_vocab_init(&t.labels);
    double opt_lr;
    rc = EXIT_ERROR;
    t.text = a.data.items[0].name == NULL;
    /* the sizes of open dims: the checkpoint resumed, the vocabulary (docs/LANGUAGE.md, "Open dims") */
    const char *vfrom;
    if (a.params && !ckpt_bind_dims(&a.co, a.params))
        goto out;
    if (t.text && (!make_vocab(&t, true, &vfrom) || !vocab_bind_dim(&a.co, &a.dopt, &t.words, vfrom)))
        goto out;
    if (t.text) /* they size hier's paths (APPROX.md), as set_counts gets them below */
        a.co.vocab_counts = t.words.count, a.co.nvocab_counts = t.words.n;
    t.vocab_given = t.text && vfrom != a.data.items[0].file;
    t.d = load_model(a.model, &a.co, true, &opt_lr);
    if (!t.d)
        goto out;
    t.base_lr = a.lr > 0 ? a.lr : opt_lr;
    if (!open_data(&t))
        goto out;
    const nnrt_model_desc *d = t.d; /* open_data may have compiled it again */
    for (int i = 0; i < a.nexports; i++) /* an hour's training, then a typo in --export: no */
        if (!export_check(d, a.exports[i], t.text))
            goto out;
    t.m = d->create(t.st.seed);
    if (!t.m) {
        driver_error("creating model %s: %s", d->name, a.co.target ? nnrt_last_error() : "out of memory"); /* cuda: no device */
        goto out;
    }
    if (a.params && !resume(&t))
        goto out;
    if (a.init_unigram && !a.params && !unigram_init(d, t.m, a.init_unigram, t.text ? &t.words : NULL))
        goto out;
    if (a.sample > 0 && (a.par.batch > 1 || !t.text)) {
        driver_error("--sample: %s", !t.text ? "subsampling drops words of text lines, not of .npy data"
                                             : "not with --batch (yet): a batch has no slot for a line it empties");
        goto out;
    }
    if (a.sample > 0 && !subsample_init(&t.train, a.sample, t.st.seed))
        goto out;
    t.bat.d1 = d;
    if (!a.one_example && a.par.mode == PAR_SYNC &&
        !batched_setup(&t.bat, a.model, &a.co, true, t.m, a.par.batch, a.par.threads * a.par.ranks, a.quiet))
        goto out;
    /* the softmax approximations' noise: the vocabulary's counts (APPROX.md),
     * unless --counts built others into the model */
    for (int k = 0; k < 2 && !a.co.counts && t.text && t.words.n > 0; k++) {
        const nnrt_model_desc *dk = k ? t.bat.bd : d;
        if (dk && dk->set_counts && dk->set_counts(k ? t.bat.bm : t.m, t.words.count, t.words.n) != NNRT_OK) {
            driver_error("%s: the vocabulary's counts: %s", a.model, nnrt_last_error());
            goto out;
        }
    }

    Progress p = {.tty = isatty(2), .quiet = a.quiet, .text = t.text, .interval_us = a.progress_s * 1e6};
    if (p.tty)
        p.interval_us = fmin(p.interval_us, 2.5e5);
    long first = t.st.epoch;
    long last = a.stop_after ? (first + a.stop_after < a.epochs ? first + a.stop_after : a.epochs) : a.epochs;
    p.todo = t.train.n * (last > first ? last - first : 0);
    p.start_us = p.last_us = nnrt_now_us();
    int64_t *perm = xalloc(sizeof(int64_t) * (size_t)t.train.n);
    Score vs;
    double initial = NAN; /* the valid loss per unit before this run's first epoch */
    bool warned = false;
    if (t.have_valid && first < last) {
        if (!validate(&t, &vs))
            goto out;
        initial = vs.loss / vs.units;
        printf("epoch %ld/%ld: valid %s%s\n", first, a.epochs, score_text(&vs), first ? " (resumed)" : " (initial)");
        driver_flush_lines();
        p.start_us = p.last_us = nnrt_now_us(); /* words/s and ETA: of training */
    }
    if (first >= a.epochs && !a.quiet)
        fprintf(stderr, "nngc: %s has been trained for %ld epochs already (--epochs %ld)\n", a.params, first,
                a.epochs);
    bool stopped = false;
    while (t.st.epoch < last && !stopped) {
        double t0 = nnrt_now_us(), loss, units;
        int64_t words0 = p.words;
        if (!run_epoch(&t, &p, perm, &loss, &units))
            goto out;
        double secs = (nnrt_now_us() - t0) / 1e6;
        double end_lr = lr_at(&t, (t.st.epoch + 1) * t.train.n - 1, t.train.n * a.epochs);
        t.st.epoch++;
        Score ts = {.loss = loss, .units = units, .per_word = t.text && t.train.ts.label < 0};
        const char *line = xsprintf("epoch %ld/%ld: train %s", t.st.epoch, a.epochs, score_text(&ts));
        if (subsample_report(&t.train)) /* --sample */
            line = xsprintf("%s (%s)", line, subsample_report(&t.train));
        bool save = true;
        if (t.have_valid) {
            if (!validate(&t, &vs))
                goto out;
            double v = vs.loss / vs.units;
            line = xsprintf("%s | valid %s", line, score_text(&vs));
            save = v < t.st.best;
            /* "(best)" is among the epochs: one worse than the params
             * before training (a diverging run: its first epoch is still
             * its best) is said once */
            if (!warned && !isnan(initial) && !(v <= initial)) {
                warned = true;
                fprintf(stderr, "nngc: warning: epoch %ld: valid loss %.4f, worse than before training (%.4f): "
                        "diverging or overfitting (a smaller --lr?)\n", t.st.epoch, v, initial);
            }
            if (save) {
                t.st.best = v, t.st.bad = 0;
                line = xsprintf("%s (best)", line);
            } else {
                t.st.bad++;
                if (a.decay == DECAY_PLATEAU)
                    t.st.lr_scale *= a.factor;
                if (a.patience && t.st.bad >= a.patience)
                    stopped = true;
            }
        }
        double done = (double)(t.text ? p.words - words0 : t.train.n);
        /* under MPI each rank counted its share of the words: the job's rate is their sum */
        if (t.text && a.par.ranks > 1 && !par_mpi_sum_doubles(&a.par, &done, 1)) {
            driver_error("MPI: summing the ranks' word counts failed");
            goto out;
        }
        double rate = secs > 0 ? done / secs : 0;
        printf("%s | lr %.6g | %.0f %s/s | %.1f s\n", line, end_lr, rate, t.text ? "words" : "ex", secs);
        driver_flush_lines();
        if (save && a.save) {
            if (!save_checkpoint(d, t.m, a.save, t.text ? &t.words : NULL, &t.labels, &t.st, &a.co))
                goto out;
            t.saved_best = t.have_valid;
        }
        if (stopped && !a.quiet)
            fprintf(stderr, "nngc: early stop: no better validation loss for %ld epochs (--patience %ld)\n", t.st.bad,
                    a.patience);
    }
    /* The exports are of the best params when those were saved. */
    if (a.nexports && t.saved_best && nnrt_load_params(d, t.m, a.save, 1, NULL) != NNRT_OK) {
        driver_error("%s", nnrt_last_error());
        goto out;
    }
    for (int i = 0; i < a.nexports; i++)
        if (!export_param(d, t.m, a.exports[i], t.text ? &t.words : NULL))
            goto out;
    if (a.par.ranks > 1 && !params_agree(&a, d, t.m))
        goto out;
    rc = 0;
out:
    if (t.ctx)
        t.d->ctx_destroy(t.ctx);
    if (t.m)
        t.d->destroy(t.m);
    if (t.bat.bm)
        t.bat.bd->destroy(t.bat.bm);
    dataset_close(&t.train);
    if (t.have_valid)
        dataset_close(&t.valid);
    nnrt_vocab_free(&t.words);
    nnrt_vocab_free(&t.labels);
    xfree_all();
    if (!driver_flush_stdout() && rc == 0)
        rc = EXIT_ERROR;
    return rc;
}
