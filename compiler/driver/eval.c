/*
 * eval.c - `nngc eval MODEL.nn --params CKPT --data FILE`: the loss per
 * word and the perplexity of a trained model on a text file (or .npy
 * arrays), and a classifier's accuracy. The vocabulary is the one saved
 * with the checkpoint (CKPT.vocab) unless --vocab names another; without
 * --params the params are the seeded init (--seed), which scores about
 * ln(V) per word: a baseline.
 */
#include "train.h"

#include <errno.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void eval_usage(FILE *out) {
    fputs("usage: nngc eval MODEL.nn [--params CKPT] --data FILE [options]\n"
          "Prints the loss per word and the perplexity of MODEL.nn on FILE (and the accuracy of a\n"
          "classifier), with the params and vocabulary of CKPT (CKPT.vocab).\n"
          "  --data FILE | NAME=FILE.npy   text, or one .npy per input (--lengths FILE.npy)\n"
          "  --params CKPT         trained params (default: the init from --seed N, default 1)\n"
          "  --vocab FILE          the vocabulary (default CKPT.vocab)\n"
          "  --batch B (1)         B examples per call of the batched program (nngc --batch=B) when\n"
          "                        the compiler can batch the model; --one-example: never\n"
          "  --layout plain|lm|window, --vocab-dim NAME, --dim NAME=N, --export PARAM=FILE: as for nngc train\n"
          "  and the compiler options of nngc (-O, --softmax=, --cc=, ...)\n"
          "Compiled models are kept in $NNGC_CACHE_DIR (default ~/.cache/nngc; off: no cache).\n"
          "See docs/TRAIN.md.\n",
          out);
}

int nngc_eval(int argc, char **argv) {
    const char *model = NULL, *params = NULL;
    DataArg data = {0};
    DataOptions dopt = {0};
    const char **exports = NULL;
    int nexports = 0, capexports = 0;
    uint64_t seed = 1;
    long batch = 1;
    bool one_example = false;
    CompileOptions co;
    compile_options_init(&co);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v;
        int r;
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            eval_usage(stdout);
            exit(0);
        }
        /* --batch B is ours (as for nngc train), not the compiler's --batch=B */
        if (strncmp(s, "--batch", 7) != 0 && (r = compile_options_parse(&co, argc, argv, &i)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        if (s[0] != '-') {
            if (model) {
                driver_two_models(argv, i, model);
                return EXIT_USAGE;
            }
            model = s;
        } else if ((r = match_value_option("--data", argc, argv, &i, &v)) != 0) {
            if (r > 0)
                data_arg_add(&data, v);
        } else if ((r = match_value_option("--params", argc, argv, &i, &v)) != 0) {
            params = v;
        } else if ((r = match_value_option("--vocab", argc, argv, &i, &v)) != 0) {
            dopt.vocab = v;
        } else if ((r = match_value_option("--vocab-dim", argc, argv, &i, &v)) != 0) {
            dopt.vocab_dim = v;
        } else if ((r = match_value_option("--layout", argc, argv, &i, &v)) != 0) {
            if (r > 0 && !layout_ok(v))
                return EXIT_USAGE;
            dopt.layout = v;
        } else if ((r = match_value_option("--lengths", argc, argv, &i, &v)) != 0) {
            dopt.lengths = v;
        } else if ((r = match_value_option("--export", argc, argv, &i, &v)) != 0) {
            if (r > 0 && !export_spec_ok(v))
                return EXIT_USAGE;
            if (r > 0)
                VEC_PUSH(exports, nexports, capexports, v);
        } else if (strcmp(s, "--one-example") == 0) {
            one_example = true;
        } else if ((r = match_value_option("--batch", argc, argv, &i, &v)) != 0) {
            if (r > 0 && !driver_parse_range("--batch", v, 1, DRIVER_BATCH_MAX, &batch))
                return EXIT_USAGE;
        } else if ((r = match_value_option("--seed", argc, argv, &i, &v)) != 0) {
            char *end;
            errno = 0;
            if (r > 0)
                seed = strtoull(v, &end, 10);
            if (r > 0 && (!*v || *end || errno || !(*v >= '0' && *v <= '9'))) {
                driver_error("--seed: expected a whole number >= 0, got '%s'", v);
                return EXIT_USAGE;
            }
        } else {
            driver_unknown_option(s, "nngc eval", eval_usage);
            return EXIT_USAGE;
        }
        if (r < 0)
            return EXIT_USAGE;
    }
    if (!model || data.n == 0) {
        driver_error("%s (see nngc eval --help)", !model ? "no model file" : "no data: give --data FILE");
        return EXIT_USAGE;
    }
    if (!data_args_ok(&data, NULL))
        return EXIT_USAGE;
    bool text = data.items[0].name == NULL;
    if (text && !dopt.vocab) {
        if (!params) {
            driver_error("text data needs a vocabulary: give --params CKPT (with CKPT.vocab next to it) or --vocab FILE");
            return EXIT_USAGE;
        }
        dopt.vocab = vocab_path(params);
    }
    bool vocab_of_params = text && params && strcmp(dopt.vocab, vocab_path(params)) == 0;
    /* no --export may replace an input (files.c) */
    for (int i = 0; i < data.n; i++)
        driver_note_input(data.items[i].file);
    if (params)
        driver_note_input(params);
    if (dopt.vocab)
        driver_note_input(dopt.vocab);

    int rc = EXIT_ERROR;
    nnrt_vocab words, labels;
    nnrt_vocab_init(&words);
    nnrt_vocab_init(&labels);
    /* the sizes of open dims: recorded with the checkpoint, or the
     * vocabulary's (docs/LANGUAGE.md, "Open dims") */
    if (params && !ckpt_bind_dims(&co, params))
        return EXIT_ERROR;
    if (text && nnrt_vocab_load(dopt.vocab, &words, &labels) != NNRT_OK) {
        if (vocab_of_params && access(dopt.vocab, F_OK) != 0) /* params saved by nngc run or NAME_save */
            driver_error("%s: text data is read with the vocabulary the params were trained with: the "
                         "CKPT.vocab that nngc train --save writes next to CKPT, or --vocab FILE", nnrt_last_error());
        else
            driver_error("%s", nnrt_last_error());
        return EXIT_ERROR;
    }
    if (text) /* (says nothing of CKPT.vocab itself) */
        vocab_check_params(dopt.vocab, &words, params);
    if (text && !vocab_bind_dim(&co, &dopt, &words, dopt.vocab))
        return EXIT_ERROR;
    if (text) /* they size hier's paths, as in training (APPROX.md) */
        co.vocab_counts = words.count, co.nvocab_counts = words.n;
    double lr;
    const nnrt_model_desc *d = load_model(model, &co, false, &lr);
    if (!d)
        return EXIT_ERROR;
    Dataset ds = {0};
    Batched bat = {.d1 = d};
    for (int i = 0; i < nexports; i++)
        if (!export_check(d, exports[i], text))
            return EXIT_ERROR;
    void *m = d->create(seed);
    if (!m) {
        driver_error("creating model %s: %s", d->name, nnrt_last_error()); /* --target=cuda: no device */
        goto out;
    }
    if (params && nnrt_load_params(d, m, params, 1, NULL) != NNRT_OK) {
        driver_error("%s", nnrt_last_error());
        goto out;
    }
    if (text) {
        TextSpec ts;
        if (!text_spec(d, dopt.layout, &ts))
            goto out;
        if (!vocab_fits(d, &dopt, &words, &labels, &ts) ||
            !dataset_open_text(&ds, d, &ts, data.items[0].file, &words, &labels, false))
            goto out;
        /* hier's tree from the vocabulary's counts, as in training (APPROX.md);
         * --counts's, built into the model, when given */
        if (!co.counts && d->set_counts && words.n > 0 && d->set_counts(m, words.count, words.n) != NNRT_OK) {
            driver_error("%s: the vocabulary's counts: %s", dopt.vocab, nnrt_last_error());
            goto out;
        }
    } else if (!dataset_open_npy(&ds, d, &data, dopt.lengths)) {
        goto out;
    }
    if (!one_example && !batched_setup(&bat, model, &co, false, m, batch, 1, false))
        goto out;
    if (bat.bd && text && words.n > 0 && bat.bd->set_counts &&
        bat.bd->set_counts(bat.bm, words.count, words.n) != NNRT_OK) {
        driver_error("%s: the vocabulary's counts: %s", dopt.vocab, nnrt_last_error());
        goto out;
    }
    Score s;
    if (!evaluate(d, m, &ds, bat.bd ? &bat : NULL, &s))
        goto out;
    double l = s.loss / s.units;
    printf("%s: %lld examples", ds.path, (long long)s.examples);
    if (text)
        printf(", %lld words", (long long)ds.words);
    if (s.per_word)
        printf(", %.0f predicted\nloss per word %.6f, perplexity %.4f\n", s.units, l, exp(l));
    else
        printf("\nloss per example %.6f\n", l);
    if (s.have_acc)
        printf("accuracy %.4f (%lld of %lld)\n", (double)s.correct / (double)s.examples, (long long)s.correct,
               (long long)s.examples);
    for (int i = 0; i < nexports; i++)
        if (!export_param(d, m, exports[i], text ? &words : NULL))
            goto out;
    rc = 0;
out:
    if (m)
        d->destroy(m);
    if (bat.bm)
        bat.bd->destroy(bat.bm);
    dataset_close(&ds);
    nnrt_vocab_free(&words);
    nnrt_vocab_free(&labels);
    xfree_all();
    if (!driver_flush_stdout() && rc == 0)
        rc = EXIT_ERROR;
    return rc;
}
