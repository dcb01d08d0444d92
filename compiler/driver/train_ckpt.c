/*
 * train_ckpt.c - nngc train's checkpoints (docs/TRAIN.md, "Checkpoints"):
 * CKPT (the params and optimizer state, NAME_save's safetensors), CKPT.vocab
 * and CKPT.train (where training stands, tied to CKPT by a hash, and the
 * sizes of the open dims the run gave: docs/LANGUAGE.md "Open dims").
 */
#include "train.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
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

/* ---------------------------------------------------------------- CKPT.train */

/* CKPT.train as save_checkpoint writes it, read strictly (docs/TRAIN.md,
 * "Checkpoints"): the lines below in this order, each "KEY VALUE" with one
 * space, then any number of "dim NAME N"; a line ends in "\n" or "\r\n".
 * A hand-edited or damaged file is an error at its line, not a state read
 * in part (a sign, an overflow, a NaN, a line that is no field). */
typedef struct StateField {
    const char *key;
    char kind;        /* 'v' the version 1, 'n' a long >= 0, 'u' a uint64, 'x' 16 hex digits,
                       * 'p' a finite double > 0, 'f' a double that is not NaN (inf: no best yet) */
    const char *want; /* for the message */
} StateField;

static const StateField state_fields[] = {
    {"nngc-train", 'v', "'nngc-train 1'"},
    {"epoch", 'n', "'epoch N', N a whole number >= 0"},
    {"lr_scale", 'p', "'lr_scale X', X a finite number > 0"},
    {"best", 'f', "'best X', X a number or inf"},
    {"bad", 'n', "'bad N', N a whole number >= 0"},
    {"seed", 'u', "'seed N', N a whole number from 0 to 2^64 - 1"},
    {"params", 'x', "'params H', H the checkpoint's hash in 16 hex digits"},
};

/* Decimal digits only (no sign, no space) into *out, at most max. */
static bool state_digits(const char *v, unsigned long long max, unsigned long long *out) {
    unsigned long long n = 0;
    if (!*v)
        return false;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || n > (max - (unsigned)(*v - '0')) / 10)
            return false;
        n = n * 10 + (unsigned)(*v - '0');
    }
    *out = n;
    return true;
}

static bool state_value(const StateField *k, const char *v, TrainState *st, uint64_t *hash) {
    unsigned long long n;
    char *end;
    double x;
    switch (k->kind) {
    case 'v':
        return strcmp(v, "1") == 0;
    case 'n':
        if (!state_digits(v, LONG_MAX, &n))
            return false;
        *(k->key[0] == 'e' ? &st->epoch : &st->bad) = (long)n;
        return true;
    case 'u':
        return state_digits(v, ULLONG_MAX, &n) && (st->seed = n, true);
    case 'x':
        if (strlen(v) != 16 || strspn(v, "0123456789abcdef") != 16)
            return false;
        *hash = strtoull(v, NULL, 16);
        return true;
    default: /* 'p', 'f' */
        errno = 0;
        x = strtod(v, &end);
        if (!*v || *end || *v == ' ' || isnan(x) || (k->kind == 'p' && !(x > 0 && isfinite(x))))
            return false;
        *(k->kind == 'p' ? &st->lr_scale : &st->best) = x;
        return true;
    }
}

/* Reads path (CKPT.train): the state into *st and the params' hash, and,
 * with co, binds its open dims; false after a message with path:line. */
static bool read_state(const char *path, FILE *f, TrainState *st, uint64_t *hash, CompileOptions *co) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, nfields = (int)(sizeof state_fields / sizeof *state_fields);
    bool ok = true;
    while (ok && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = 0;
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = 0;
        const char *sp = strchr(line, ' ');
        if (lineno <= nfields) {
            const StateField *k = &state_fields[lineno - 1];
            size_t kl = strlen(k->key);
            ok = (size_t)len == strlen(line) && sp && (size_t)(sp - line) == kl && strncmp(line, k->key, kl) == 0 &&
                 state_value(k, sp + 1, st, hash);
            if (!ok)
                driver_error("%s:%d: expected %s, got '%.80s'", path, lineno, k->want, line);
            continue;
        }
        unsigned long long n;
        const char *name = sp ? sp + 1 : NULL, *sp2 = name ? strchr(name, ' ') : NULL;
        ok = (size_t)len == strlen(line) && sp && sp2 && sp - line == 3 && strncmp(line, "dim", 3) == 0 &&
             sp2 > name && state_digits(sp2 + 1, (unsigned long long)1 << 34, &n) && n >= 1;
        if (!ok)
            driver_error("%s:%d: expected 'dim NAME N', N a whole number from 1 to 2^34, got '%.80s'", path,
                         lineno, line);
        else if (co)
            ok = compile_options_bind_dim(co, xstrndup(name, (size_t)(sp2 - name)), (int64_t)n, true,
                                          xsprintf("%s (%s)", path, line));
    }
    if (ok && ferror(f)) {
        driver_error("cannot read '%s': %s", path, strerror(errno));
        ok = false;
    }
    if (ok && lineno < nfields) {
        driver_error("%s:%d: the file ends here: expected %s (not a training state file, nngc-train 1)", path,
                     lineno + 1, state_fields[lineno].want);
        ok = false;
    }
    free(line);
    return ok;
}

bool ckpt_bind_dims(CompileOptions *co, const char *ckpt) {
    const char *path = state_path(ckpt);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? true : (driver_error("cannot read '%s': %s", path, strerror(errno)), false);
    TrainState st;
    uint64_t h;
    bool ok = read_state(path, f, &st, &h, co);
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
    uint64_t h;
    TrainState got = *st;
    bool ok = read_state(path, f, &got, &h, NULL);
    fclose(f);
    if (!ok)
        return false;
    *st = got;
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

