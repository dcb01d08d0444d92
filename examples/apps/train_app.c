/*
 * train_app.c - training a model compiled by nngc, from C.
 *
 * The Elman RNN language model of examples/rnnlm.nn, compiled with
 * `nngc ../rnnlm.nn -o rnnlm.c` (its loss and `optimizer adam(...)` give it
 * the training API, docs/API.md), trained on a small corpus:
 *
 *   1. read the corpus (one sentence per line) and give every word an id
 *      (0 is the boundary <s>, then words in order of first appearance);
 *   2. evaluate: the average loss per predicted word with rnnlm_forward;
 *   3. train: rnnlm_train_step once per sentence, for a few epochs, with
 *      the learning rate lowered by rnnlm_set_lr after the first epoch;
 *   4. save the params and Adam's state (rnnlm_save), load them into a new
 *      model (rnnlm_load), and check it scores the corpus as the trained
 *      model does;
 *   5. score the corpus again on two threads, each with its own context of
 *      the one model (rnnlm_ctx_create, rnnlm_ctx_forward: docs/API.md,
 *      "Threads"), and check the loss is the one of step 2, bit for bit.
 *
 * Usage: train_app corpus.txt checkpoint.safetensors [sentences [epochs]]
 * Exits 0 when training lowered the loss and the reloaded model agrees.
 * The losses it prints are on the training sentences themselves (a check
 * that the steps descend), not a held-out evaluation: for that, see
 * rnnlm_app -t, which the demo runs on separate training and held-out files.
 */
#define _POSIX_C_SOURCE 200809L /* pthreads */

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnnlm.h"

#define MAXWORDS 4096
#define MAXSENT 1000

static char *vocab[MAXWORDS];
static int nvocab = 1; /* id 0: <s> */

static int word_id(const char *w, int64_t V) {
    for (int i = 1; i < nvocab; i++)
        if (strcmp(vocab[i], w) == 0)
            return i;
    if (nvocab >= MAXWORDS || nvocab >= V)
        return (int)(V - 1); /* out of room: one shared id */
    vocab[nvocab] = malloc(strlen(w) + 1); /* strdup is not C11 */
    strcpy(vocab[nvocab], w);
    return nvocab++;
}

typedef struct Sentence {
    int32_t *ids; /* <s> w1 ... wn <s> */
    int64_t n;    /* ids: n + 1 entries, so T = n */
} Sentence;

/* Average loss per predicted word over the sentences. */
static double evaluate(rnnlm *m, const Sentence *s, int ns) {
    double total = 0;
    int64_t words = 0;
    for (int i = 0; i < ns; i++) {
        rnnlm_inputs in = {.T = s[i].n, .words = s[i].ids};
        rnnlm_outputs out;
        if (rnnlm_forward(m, &in, &out) != NNRT_OK) {
            fprintf(stderr, "forward: %s\n", nnrt_last_error());
            exit(1);
        }
        total += out.loss;
        words += s[i].n;
    }
    return total / (double)words;
}

/* One thread's share of evaluate_threads: every other sentence, from
 * first, scored in its own context; the losses go to loss[i]. */
typedef struct Share {
    rnnlm_ctx *ctx;
    const Sentence *s;
    int ns, first;
    double *loss;
    int rc;
} Share;

static void *score_share(void *arg) {
    Share *sh = arg;
    for (int i = sh->first; i < sh->ns && sh->rc == NNRT_OK; i += 2) {
        rnnlm_inputs in = {.T = sh->s[i].n, .words = sh->s[i].ids};
        rnnlm_outputs out; /* out.loss lives in sh->ctx */
        sh->rc = rnnlm_ctx_forward(sh->ctx, &in, &out);
        sh->loss[i] = out.loss;
    }
    return NULL;
}

/* evaluate() on two threads: one model (its params are shared, read only),
 * one context per thread. The losses are added in sentence order, as
 * evaluate() adds them, so the two agree bit for bit. */
static double evaluate_threads(rnnlm *m, const Sentence *s, int ns) {
    double *loss = calloc((size_t)ns, sizeof *loss), total = 0;
    Share sh[2];
    pthread_t th[2];
    for (int k = 0; k < 2; k++) {
        sh[k] = (Share){rnnlm_ctx_create(m), s, ns, k, loss, NNRT_OK};
        if (!loss || !sh[k].ctx || pthread_create(&th[k], NULL, score_share, &sh[k]) != 0) {
            fprintf(stderr, "evaluate_threads: %s\n", nnrt_last_error());
            exit(1);
        }
    }
    for (int k = 0; k < 2; k++) {
        pthread_join(th[k], NULL);
        if (sh[k].rc != NNRT_OK) {
            fprintf(stderr, "forward: %s\n", nnrt_last_error());
            exit(1);
        }
        rnnlm_ctx_destroy(sh[k].ctx);
    }
    int64_t words = 0;
    for (int i = 0; i < ns; i++) {
        total += loss[i];
        words += s[i].n;
    }
    free(loss);
    return total / (double)words;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: train_app corpus.txt checkpoint.safetensors [sentences [epochs]]\n");
        return 2;
    }
    int maxsent = argc > 3 ? atoi(argv[3]) : 40, epochs = argc > 4 ? atoi(argv[4]) : 3;
    /* V and T's max from the descriptor: nothing hard-coded */
    int64_t V = rnnlm_desc.params[0].shape[0].c, Tmax = 0;
    for (int i = 0; i < rnnlm_desc.ndims; i++)
        if (rnnlm_desc.dims[i].dynamic)
            Tmax = rnnlm_desc.dims[i].value;

    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    static Sentence sent[MAXSENT];
    int ns = 0;
    char line[8192];
    while (ns < maxsent && ns < MAXSENT && fgets(line, sizeof line, f)) {
        int32_t *ids = malloc(sizeof(int32_t) * (size_t)(Tmax + 1));
        int64_t n = 0;
        ids[n++] = 0;
        for (char *w = strtok(line, " \t\n"); w && n < Tmax; w = strtok(NULL, " \t\n"))
            ids[n++] = word_id(w, V);
        ids[n] = 0;
        if (n < 2) {
            free(ids);
            continue;
        }
        sent[ns].ids = ids;
        sent[ns].n = n; /* predicts ids[1..n] */
        ns++;
    }
    fclose(f);

    rnnlm *m = rnnlm_create(1);
    if (!m) {
        fprintf(stderr, "%s\n", nnrt_last_error());
        return 1;
    }
    double before = evaluate(m, sent, ns);
    printf("%d sentences, %d words in the vocabulary; loss per word on them before training: %.4f\n", ns, nvocab, before);
    for (int e = 0; e < epochs; e++) {
        double total = 0;
        for (int i = 0; i < ns; i++) {
            rnnlm_inputs in = {.T = sent[i].n, .words = sent[i].ids};
            float loss;
            if (rnnlm_train_step(m, &in, &loss) != NNRT_OK) {
                fprintf(stderr, "train step: %s\n", nnrt_last_error());
                return 1;
            }
            total += loss;
        }
        printf("epoch %d: mean loss %.4f\n", e + 1, total / ns);
        if (e == 0)
            rnnlm_set_lr(m, 0.005f); /* a smaller step after the first epoch */
    }
    double after = evaluate(m, sent, ns);
    printf("loss per word on the training sentences after training: %.4f\n", after);

    if (rnnlm_save(m, argv[2]) != NNRT_OK) {
        fprintf(stderr, "%s\n", nnrt_last_error());
        return 1;
    }
    rnnlm *m2 = rnnlm_create(7); /* other random params, replaced by the file's */
    if (!m2 || rnnlm_load(m2, argv[2]) != NNRT_OK) {
        fprintf(stderr, "%s\n", nnrt_last_error());
        return 1;
    }
    double reloaded = evaluate(m2, sent, ns);
    printf("reloaded from %s: %.4f\n", argv[2], reloaded);
    double threaded = evaluate_threads(m, sent, ns);
    printf("on two threads, one context each: %.4f\n", threaded);
    int ok = after < before && reloaded == after && threaded == after;
    rnnlm_destroy(m);
    rnnlm_destroy(m2);
    for (int i = 0; i < ns; i++)
        free(sent[i].ids);
    for (int i = 1; i < nvocab; i++)
        free(vocab[i]);
    return ok ? 0 : 1;
}
