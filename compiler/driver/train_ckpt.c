/*
 * train_ckpt.c - nngc train's checkpoints (docs/TRAIN.md, "Checkpoints"):
 * CKPT (the params and optimizer state, NAME_save's safetensors), CKPT.vocab
 * and CKPT.train (where training stands, tied to CKPT by a hash, and the
 * sizes of the open dims the run gave: docs/LANGUAGE.md "Open dims").
 */
#include "train.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *state_path(const char *ckpt) {
    return xsprintf("%s.train", ckpt);
}

bool ckpt_file(const char *ckpt, const char *path) {
    const char *files[3] = {ckpt, vocab_path(ckpt), state_path(ckpt)};
    for (int i = 0; i < 3; i++)
        if (strcmp(files[i], path) == 0 || driver_same_file(files[i], path))
            return true;
    return false;
}

/* FNV-1a of a file's bytes: ties CKPT.train to the params it was written
 * with, so that a crash between the two writes is noticed on resume. */
bool file_hash(const char *path, uint64_t *h) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        driver_error("cannot read '%s': %s", path, strerror(errno));
        return false;
    }
    uint64_t x = 0xcbf29ce484222325ull;
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < n; i++)
            x = (x ^ buf[i]) * 0x100000001b3ull;
    bool ok = !ferror(f);
    fclose(f);
    if (!ok)
        driver_error("cannot read '%s'", path);
    *h = x;
    return ok;
}

bool save_checkpoint(const nnrt_model_desc *d, void *m, const char *path, const nnrt_vocab *words,
                            const nnrt_vocab *labels, const TrainState *st, const CompileOptions *co) {
    uint64_t h;
    if (nnrt_save_params(d, m, path) != NNRT_OK) {
        driver_error("%s", nnrt_last_error());
        return false;
    }
    if (words && nnrt_vocab_save(vocab_path(path), words, labels) != NNRT_OK) {
        driver_error("%s", nnrt_last_error());
        return false;
    }
    if (!file_hash(path, &h))
        return false;
    AtomicFile f;
    if (!tmp_open(&f, state_path(path)))
        return false;
    fprintf(f.f, "nngc-train 1\nepoch %ld\nlr_scale %.17g\nbest %.17g\nbad %ld\nseed %llu\nparams %016llx\n",
            st->epoch, st->lr_scale, st->best, st->bad, (unsigned long long)st->seed, (unsigned long long)h);
    for (int i = 0; i < co->ndims; i++) /* the sizes of the open dims: eval and resume compile with them */
        if (co->dims[i].used)
            fprintf(f.f, "dim %s %lld\n", co->dims[i].name, (long long)co->dims[i].value);
    return tmp_close(&f, true);
}

bool ckpt_bind_dims(CompileOptions *co, const char *ckpt) {
    const char *path = state_path(ckpt);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? true : (driver_error("cannot read '%s': %s", path, strerror(errno)), false);
    char line[512], name[256];
    long long n;
    bool ok = true;
    while (ok && fgets(line, sizeof line, f))
        if (sscanf(line, "dim %255s %lld", name, &n) == 2)
            ok = compile_options_bind_dim(co, xstrdup(name), n, true, xsprintf("%s (dim %s %lld)", path, name, n));
    fclose(f);
    return ok;
}

bool vocab_bind_dim(CompileOptions *co, const DataOptions *o, const nnrt_vocab *words, const char *from) {
    const char *name = o->vocab_dim ? o->vocab_dim : "V";
    return compile_options_bind_dim(co, name, words->n, true,
                                    xsprintf("the vocabulary of %s (%lld ids)", from, (long long)words->n));
}

/* Reads CKPT.train; false after an error (a missing file is not one:
 * *found is false then). */
bool load_state(const char *ckpt, TrainState *st, bool *found) {
    const char *path = state_path(ckpt);
    FILE *f = fopen(path, "r");
    *found = f != NULL;
    if (!f)
        return errno == ENOENT ? true : (driver_error("cannot read '%s': %s", path, strerror(errno)), false);
    unsigned long long seed, h;
    char best[64], *end = best;
    int got = fscanf(f, "nngc-train 1 epoch %ld lr_scale %lf best %63s bad %ld seed %llu params %llx", &st->epoch,
                     &st->lr_scale, best, &st->bad, &seed, &h);
    fclose(f);
    if (got == 6) /* else best may never have been written */
        st->best = strtod(best, &end);
    if (got != 6 || *end || st->epoch < 0 || !(st->lr_scale > 0)) {
        driver_error("%s: not a training state file (nngc-train 1)", path);
        return false;
    }
    st->seed = seed;
    uint64_t have;
    if (!file_hash(ckpt, &have))
        return false;
    if (have != h) {
        driver_error("%s does not belong to %s (was saving interrupted?): remove it to start the epochs anew",
                     path, ckpt);
        return false;
    }
    return true;
}

