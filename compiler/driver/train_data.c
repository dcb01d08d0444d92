/*
 * train_data.c - the data layer of `nngc train` and `nngc eval`: which
 * input of a model a text line feeds and how (the convention of
 * docs/TRAIN.md, keyed on the input's declared type), the vocabulary
 * checks against the model's dims, datasets of text lines or of .npy rows,
 * evaluation (loss per word, perplexity, accuracy), loading the compiled
 * model, and --export.
 */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void data_arg_add(DataArg *a, const char *v) {
    const char *eq = strchr(v, '=');
    DataItem it = {eq ? xstrndup(v, (size_t)(eq - v)) : NULL, eq ? eq + 1 : v};
    VEC_PUSH(a->items, a->n, a->cap, it);
}

bool data_args_ok(const DataArg *data, const DataArg *valid) {
    bool text = data->items[0].name == NULL;
    int nv = valid ? valid->n : 0;
    for (int i = 0; i < data->n + nv; i++) {
        const DataItem *it = i < data->n ? &data->items[i] : &valid->items[i - data->n];
        if ((it->name == NULL) != text) {
            driver_error("%s %s: the data are %s: give %s", i < data->n ? "--data" : "--valid", it->file,
                         text ? "a text file" : ".npy files, one per input",
                         text ? xsprintf("--data FILE%s", valid ? " and --valid FILE" : "")
                              : xsprintf("--data NAME=FILE.npy%s", valid ? " and --valid NAME=FILE.npy" : ""));
            return false;
        }
    }
    if (text && (data->n > 1 || nv > 1)) {
        driver_error("text data is one file: give --data FILE%s once", valid ? " (and --valid FILE)" : "");
        return false;
    }
    return true;
}

void vocab_check_params(const char *vocab, const nnrt_vocab *words, const char *params) {
    const char *own = params ? vocab_path(params) : NULL;
    if (!own || access(own, F_OK) != 0 || driver_same_file(vocab, own))
        return;
    nnrt_vocab w, l;
    nnrt_vocab_init(&w);
    nnrt_vocab_init(&l);
    if (nnrt_vocab_load(own, &w, &l) == NNRT_OK) {
        int32_t i = 0;
        while (i < w.n && i < words->n && strcmp(w.word[i], words->word[i]) == 0)
            i++;
        if (i < w.n || i < words->n)
            fprintf(stderr,
                    "nngc: warning: the vocabulary %s is not the one %s was trained with (%s): %s; the ids name "
                    "other words\n",
                    vocab, params, own,
                    i < w.n && i < words->n ? xsprintf("id %d is '%s' here, '%s' there", (int)i, words->word[i], w.word[i])
                                            : xsprintf("%d words here, %d there", (int)words->n, (int)w.n));
    }
    nnrt_vocab_free(&w);
    nnrt_vocab_free(&l);
}

static const char *type_of(const nnrt_tensor_desc *t) {
    return xsprintf("%s%s", t->dtype == NNRT_I32 ? "int" : "float", t->rank ? t->shape_text : "");
}

const char *vocab_path(const char *ckpt) {
    return xsprintf("%s.vocab", ckpt);
}

/* --layout's names, in the order of nnrt_layout (NNRT_LAYOUT_PLAIN, _LM, _WINDOW) */
static const char *const layout_names[] = {"plain", "lm", "window"};

/* the nnrt_layout named layout, or -1 after the error */
static int layout_of(const char *layout) {
    for (int i = 0; i < (int)(sizeof layout_names / sizeof *layout_names); i++)
        if (strcmp(layout, layout_names[i]) == 0)
            return i;
    driver_error("--layout %s: expected %s, %s or %s", layout, layout_names[0], layout_names[1], layout_names[2]);
    return -1;
}

bool layout_ok(const char *layout) { return layout_of(layout) >= 0; }

/* ---------------------------------------------------------------- the text convention */

bool text_spec(const nnrt_model_desc *d, const char *layout, TextSpec *ts) {
    memset(ts, 0, sizeof *ts);
    ts->text = ts->label = -1;
    for (int i = 0; i < d->ninputs; i++) {
        const nnrt_tensor_desc *t = &d->inputs[i];
        if (t->dtype == NNRT_I32 && t->rank == 0 && ts->label < 0) {
            ts->label = i;
            continue;
        }
        if (t->dtype == NNRT_I32 && t->rank == 1 && ts->text < 0) {
            ts->text = i;
            continue;
        }
        driver_error("model %s: input %s : %s is not text (a text model has one input int[T + k] and at most one "
                     "int label, docs/TRAIN.md): give its data as --data %s=FILE.npy", d->name, t->name, type_of(t),
                     t->name);
        return false;
    }
    if (ts->text < 0) {
        driver_error("model %s has no input int[T + k] to read text into: give its data as .npy files "
                     "(--data NAME=FILE.npy)", d->name);
        return false;
    }
    const nnrt_tensor_desc *t = &d->inputs[ts->text];
    const nnrt_size *s = &t->shape[0];
    ts->tdyn = -1;
    for (int j = 0; j < d->ndyn; j++) {
        if (s->k[j] == 1 && ts->tdyn < 0)
            ts->tdyn = j;
        else if (s->k[j] != 0)
            ts->tdyn = -2;
    }
    if (ts->tdyn < 0 || s->c < 0 || d->ndyn != 1) {
        driver_error("model %s: input %s : %s is not of the form int[T + k] with T its only dynamic dim "
                     "(k >= 0), which text data needs (docs/TRAIN.md)", d->name, t->name, type_of(t));
        return false;
    }
    ts->k = s->c;
    for (int j = 0; j < d->ndims; j++)
        if (d->dims[j].dyn_index == ts->tdyn)
            ts->tmax = d->dims[j].value;
    int named = layout ? layout_of(layout) : 0;
    if (named < 0)
        return false;
    if (!layout)
        ts->layout = ts->k == 0 ? NNRT_LAYOUT_PLAIN : ts->k % 2 ? NNRT_LAYOUT_LM : NNRT_LAYOUT_WINDOW;
    else
        ts->layout = (nnrt_layout)named;
    if (nnrt_layout_T(ts->layout, ts->k, 1) < 0) {
        static const char *const need[] = {"k = 0", "k >= 1", "an even k"};
        driver_error("--layout %s needs %s, but input %s : %s has k = %lld", layout, need[ts->layout], t->name,
                     type_of(t), (long long)ts->k);
        return false;
    }
    ts->max_words = ts->layout == NNRT_LAYOUT_LM ? ts->tmax - 1 : ts->tmax;
    if (ts->max_words < 1) {
        driver_error("model %s: T max %lld leaves no room for a word in the lm layout (T = words + 1)", d->name,
                     (long long)ts->tmax);
        return false;
    }
    return true;
}

int prediction_output(const nnrt_model_desc *d) {
    for (int i = 0; i < d->noutputs; i++)
        if (d->outputs[i].rank == 1)
            return i;
    return -1;
}

static int64_t static_size(const nnrt_size *s) {
    int64_t zero[NNRT_MAXDYN] = {0};
    return nnrt_size_eval(s, zero);
}

bool vocab_fits(const nnrt_model_desc *d, const DataOptions *o, const nnrt_vocab *words, const nnrt_vocab *labels,
                const TextSpec *ts) {
    const char *name = o->vocab_dim ? o->vocab_dim : "V";
    const nnrt_dim_desc *dim = NULL;
    for (int j = 0; j < d->ndims; j++)
        if (strcmp(d->dims[j].name, name) == 0 && !d->dims[j].dynamic)
            dim = &d->dims[j];
    if (!dim && o->vocab_dim) {
        driver_error("--vocab-dim %s: model %s has no static dim %s", name, d->name, name);
        return false;
    }
    if (dim && words->n > dim->value) {
        driver_error("the vocabulary has %d words (<s> and <unk> included), more than dim %s = %lld of model %s: "
                     "cut it with --max-vocab %lld, or make %s larger in the model", (int)words->n, name,
                     (long long)dim->value, d->name, (long long)dim->value, name);
        return false;
    }
    int p = prediction_output(d);
    if (ts->label >= 0 && p >= 0 && labels->n > static_size(&d->outputs[p].shape[0])) {
        driver_error("the data has %d labels, more than the %lld classes of output %s of model %s", (int)labels->n,
                     (long long)static_size(&d->outputs[p].shape[0]), d->outputs[p].name, d->name);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- datasets */

bool dataset_open_text(Dataset *ds, const nnrt_model_desc *d, const TextSpec *ts, const char *path,
                       const nnrt_vocab *words, const nnrt_vocab *labels, bool quiet) {
    memset(ds, 0, sizeof *ds);
    ds->d = d, ds->path = path, ds->text = true, ds->ts = *ts;
    if (nnrt_corpus_read(path, words, ts->label >= 0 ? labels : NULL, ts->max_words, &ds->corpus) != NNRT_OK) {
        driver_error("%s", nnrt_last_error());
        return false;
    }
    nnrt_corpus *c = &ds->corpus;
    if (!quiet && (c->empty || c->too_long))
        fprintf(stderr, "nngc: %s: skipped %lld empty line%s and %lld line%s over %lld words%s\n", path,
                (long long)c->empty, c->empty == 1 ? "" : "s", (long long)c->too_long, c->too_long == 1 ? "" : "s",
                (long long)ts->max_words,
                c->first_too_long ? xsprintf(" (the first: %s:%lld)", path, (long long)c->first_too_long) : "");
    if (c->n == 0) {
        driver_error("%s: no example in it", path);
        return false;
    }
    ds->n = c->n;
    ds->ids = xalloc(sizeof(int32_t) * (size_t)(ts->tmax + ts->k + 1));
    ds->in = xalloc(sizeof(void *) * (size_t)d->ninputs);
    for (int64_t i = 0; i < c->n; i++) {
        int64_t n = c->start[i + 1] - c->start[i];
        ds->words += n;
        ds->units += ts->label >= 0 ? 1 : (double)nnrt_layout_T(ts->layout, ts->k, n);
    }
    return true;
}

static bool check_npy(const nnrt_model_desc *d, const nnrt_tensor_desc *t, const char *file, const nnrt_array *a) {
    if (a->dtype != t->dtype || a->rank != t->rank + 1) {
        driver_error("%s: expected %s data of rank %d (examples, then the axes of input %s : %s), got %s of rank %d",
                     file, t->dtype == NNRT_I32 ? "int" : "float", t->rank + 1, t->name, type_of(t),
                     a->dtype == NNRT_I32 ? "int" : "float", a->rank);
        return false;
    }
    int64_t maxdyn[NNRT_MAXDYN] = {0};
    for (int j = 0; j < d->ndims; j++)
        if (d->dims[j].dynamic)
            maxdyn[d->dims[j].dyn_index] = d->dims[j].value;
    for (int ax = 0; ax < t->rank; ax++)
        if (a->shape[ax + 1] != nnrt_size_eval(&t->shape[ax], maxdyn)) {
            driver_error("%s: axis %d has %lld elements; input %s : %s needs %lld (its size at the max of every "
                         "dynamic dim: pad shorter examples)", file, ax + 1, (long long)a->shape[ax + 1], t->name,
                         type_of(t), (long long)nnrt_size_eval(&t->shape[ax], maxdyn));
            return false;
        }
    return true;
}

bool dataset_open_npy(Dataset *ds, const nnrt_model_desc *d, const DataArg *a, const char *lengths) {
    memset(ds, 0, sizeof *ds);
    ds->d = d;
    ds->arr = xalloc(sizeof(nnrt_array) * (size_t)(d->ninputs + 1));
    ds->buf = xalloc(sizeof(void *) * (size_t)(d->ninputs + 1));
    ds->in = xalloc(sizeof(void *) * (size_t)(d->ninputs + 1));
    bool *given = xalloc(sizeof(bool) * (size_t)(d->ninputs + 1));
    ds->n = -1;
    for (int k = 0; k < a->n; k++) {
        int i = 0;
        if (!a->items[k].name) {
            driver_error("--data %s: this model's data are .npy files, one per input: --data NAME=FILE.npy",
                         a->items[k].file);
            return false;
        }
        while (i < d->ninputs && strcmp(d->inputs[i].name, a->items[k].name) != 0)
            i++;
        if (i == d->ninputs || given[i]) {
            driver_error("--data %s=%s: %s", a->items[k].name, a->items[k].file,
                         i == d->ninputs ? xsprintf("model %s has no input %s", d->name, a->items[k].name) : "given twice");
            return false;
        }
        given[i] = true;
        if (!ds->path)
            ds->path = a->items[k].file;
        if (nnrt_npy_read(a->items[k].file, &ds->arr[i]) != NNRT_OK) {
            driver_error("%s", nnrt_last_error());
            return false;
        }
        if (!check_npy(d, &d->inputs[i], a->items[k].file, &ds->arr[i]))
            return false;
        if (ds->n >= 0 && ds->arr[i].shape[0] != ds->n) {
            driver_error("%s has %lld examples, %s %lld", a->items[k].file, (long long)ds->arr[i].shape[0], ds->path,
                         (long long)ds->n);
            return false;
        }
        ds->n = ds->arr[i].shape[0];
        size_t bytes = 4;
        for (int ax = 1; ax < ds->arr[i].rank; ax++)
            bytes *= (size_t)ds->arr[i].shape[ax];
        ds->buf[i] = xalloc(bytes);
    }
    for (int i = 0; i < d->ninputs; i++)
        if (!given[i]) {
            driver_error("no data for input %s : %s: give --data %s=FILE.npy", d->inputs[i].name,
                         type_of(&d->inputs[i]), d->inputs[i].name);
            return false;
        }
    if (ds->n < 1) {
        driver_error("%s: no example in it", ds->path ? ds->path : "--data");
        return false;
    }
    if (d->ndyn > 0) {
        if (!lengths) {
            driver_error("model %s has dynamic dims: give each example's sizes with --lengths FILE.npy (int, "
                         "[examples] or [examples, %d])", d->name, d->ndyn);
            return false;
        }
        nnrt_array *l = &ds->lengths;
        if (nnrt_npy_read(lengths, l) != NNRT_OK) {
            driver_error("%s", nnrt_last_error());
            return false;
        }
        bool shape_ok = l->dtype == NNRT_I32 && l->shape[0] == ds->n &&
                        ((l->rank == 1 && d->ndyn == 1) || (l->rank == 2 && l->shape[1] == d->ndyn));
        if (!shape_ok) {
            driver_error("%s: expected int lengths of shape [%lld]%s", lengths, (long long)ds->n,
                         d->ndyn > 1 ? xsprintf(" or [%lld, %d]", (long long)ds->n, d->ndyn) : "");
            return false;
        }
    }
    for (int64_t i = 0; i < ds->n; i++)
        ds->units += 1;
    return true;
}

void copy_block(char *dst, const int64_t *dshape, const char *src, const int64_t *sshape, const int64_t *n, int rank) {
    if (rank == 0) {
        memcpy(dst, src, 4);
        return;
    }
    size_t sd = 4, ss = 4;
    for (int ax = 1; ax < rank; ax++)
        sd *= (size_t)dshape[ax], ss *= (size_t)sshape[ax];
    for (int64_t i = 0; i < n[0]; i++)
        copy_block(dst + (size_t)i * sd, dshape + 1, src + (size_t)i * ss, sshape + 1, n + 1, rank - 1);
}

static bool npy_get(Dataset *ds, int64_t i, Example *ex) {
    const nnrt_model_desc *d = ds->d;
    for (int j = 0; j < d->ndyn; j++) {
        ex->dyn[j] = ((const int32_t *)ds->lengths.data)[i * d->ndyn + j];
        for (int k = 0; k < d->ndims; k++)
            if (d->dims[k].dyn_index == j && (ex->dyn[j] < 1 || ex->dyn[j] > d->dims[k].value)) {
                driver_error("%s: example %lld: %s = %lld is outside 1..%lld", ds->path, (long long)i,
                             d->dims[k].name, (long long)ex->dyn[j], (long long)d->dims[k].value);
                return false;
            }
    }
    for (int k = 0; k < d->ninputs; k++) {
        const nnrt_array *a = &ds->arr[k];
        const nnrt_tensor_desc *t = &d->inputs[k];
        int64_t want[NNRT_MAXRANK], per = 1;
        bool same = true;
        for (int ax = 0; ax < t->rank; ax++) {
            want[ax] = nnrt_size_eval(&t->shape[ax], ex->dyn);
            same = same && want[ax] == a->shape[ax + 1];
            per *= a->shape[ax + 1];
        }
        const char *row = (const char *)a->data + (size_t)(i * per) * 4;
        if (same) {
            ds->in[k] = row;
        } else {
            copy_block(ds->buf[k], want, row, a->shape + 1, want, t->rank);
            ds->in[k] = ds->buf[k];
        }
        if (t->rank == 0 && t->dtype == NNRT_I32)
            ex->label = *(const int32_t *)row;
    }
    ex->in = ds->in;
    ex->units = 1;
    return true;
}

bool dataset_get(Dataset *ds, int64_t i, Example *ex) {
    memset(ex, 0, sizeof *ex);
    ex->label = -1;
    if (!ds->text)
        return npy_get(ds, i, ex);
    const nnrt_corpus *c = &ds->corpus;
    int64_t n = c->start[i + 1] - c->start[i], kept = n;
    const int32_t *words = c->id + c->start[i];
    if (ds->sub && (kept = subsample_line(ds->sub, i, words, n, ds->kept)) < n && kept > 0)
        words = ds->kept;
    ex->dropped = kept == 0;
    int64_t T = nnrt_layout_fill(ds->ts.layout, ds->ts.k, words, kept ? kept : n, ds->ids);
    ex->dyn[ds->ts.tdyn] = T;
    ds->in[ds->ts.text] = ds->ids;
    if (ds->ts.label >= 0) {
        ds->label = c->label[i];
        ds->in[ds->ts.label] = &ds->label;
        ex->label = ds->label;
    }
    ex->in = ds->in;
    ex->units = ex->dropped ? 0 : ds->ts.label >= 0 ? 1 : (double)T;
    ex->words = n;
    return true;
}

void dataset_view(Dataset *v, const Dataset *ds) {
    const nnrt_model_desc *d = ds->d;
    *v = *ds;
    v->in = xalloc(sizeof(void *) * (size_t)(d->ninputs + 1));
    if (ds->text) {
        v->ids = xalloc(sizeof(int32_t) * (size_t)(ds->ts.tmax + ds->ts.k + 1));
        v->kept = ds->sub ? xalloc(sizeof(int32_t) * (size_t)(ds->ts.tmax + 1)) : NULL;
        return;
    }
    v->buf = xalloc(sizeof(void *) * (size_t)(d->ninputs + 1));
    for (int i = 0; i < d->ninputs; i++) {
        size_t bytes = 4;
        for (int ax = 1; ax < ds->arr[i].rank; ax++)
            bytes *= (size_t)ds->arr[i].shape[ax];
        v->buf[i] = xalloc(bytes);
    }
}

int64_t dataset_len(const Dataset *ds, int64_t i) {
    if (ds->text)
        return ds->corpus.start[i + 1] - ds->corpus.start[i];
    return ds->d->ndyn > 0 ? ((const int32_t *)ds->lengths.data)[i * ds->d->ndyn] : 0;
}

const char *dataset_where(const Dataset *ds, int64_t i) {
    if (ds->text)
        return xsprintf("%s:%lld", ds->path, (long long)ds->corpus.line[i]);
    return xsprintf("%s example %lld", ds->path, (long long)i);
}

void dataset_close(Dataset *ds) {
    nnrt_corpus_free(&ds->corpus);
    for (int i = 0; ds->arr && i < ds->d->ninputs; i++)
        nnrt_array_free(&ds->arr[i]);
    nnrt_array_free(&ds->lengths);
}

/* ---------------------------------------------------------------- evaluation */

/* Example ex's loss and outputs (out: the prediction output's row) into s. */
static void score_one(Score *s, double units, int32_t label, const float *out, int64_t n, float loss) {
    s->loss += loss;
    s->units += units;
    s->examples++;
    if (label >= 0 && out) {
        int64_t best = 0;
        for (int64_t j = 1; j < n; j++)
            if (out[j] > out[best])
                best = j;
        s->correct += best == label;
        s->have_acc = true;
    }
}

/* The full batches of ds in file order through bat->bd; returns how many
 * examples that covered, -1 after an error message. */
static int64_t evaluate_batches(const Batched *bat, void *m, Dataset *ds, Score *s) {
    const nnrt_model_desc *bd = bat->bd;
    int p = prediction_output(bat->d1);
    const float **outputs = xalloc(sizeof(float *) * (size_t)(bd->noutputs + 1));
    int64_t B = bat->B, *idx = xalloc(sizeof(int64_t) * (size_t)B), done = 0;
    Pack pk;
    batched_sync(bd, bat->bm, bat->d1, m, false);
    pack_init(&pk, bat, ds);
    for (; done + B <= ds->n; done += B) {
        float loss = 0;
        for (int64_t b = 0; b < B; b++)
            idx[b] = done + b;
        if (!pack_batch(&pk, idx))
            return -1;
        if (bd->forward(bat->bm, pk.dyn, pk.in, &loss, outputs) != NNRT_OK) {
            char msg[600];
            int64_t bad = idx[0];
            if (!batch_locate(&pk, idx, &bad, msg, sizeof msg))
                snprintf(msg, sizeof msg, "%s (in a batch of %lld examples)", nnrt_last_error(), (long long)B);
            driver_error("%s: %s", dataset_where(ds, bad), msg);
            return -1;
        }
        /* the batch's loss, spread over its examples only for the sums */
        int64_t n = p >= 0 ? nnrt_size_eval(&bd->outputs[p].shape[1], pk.dyn) : 0;
        for (int64_t b = 0; b < B; b++)
            score_one(s, 0, pk.label[b], p >= 0 ? outputs[p] + b * n : NULL, n, 0);
        s->loss += loss;
        s->units += pk.units;
    }
    return done;
}

bool evaluate(const nnrt_model_desc *d, void *m, Dataset *ds, const Batched *bat, Score *s) {
    memset(s, 0, sizeof *s);
    int p = prediction_output(d);
    const float **outputs = xalloc(sizeof(float *) * (size_t)(d->noutputs + 1));
    s->per_word = ds->text && ds->ts.label < 0;
    int64_t first = bat ? evaluate_batches(bat, m, ds, s) : 0;
    if (first < 0)
        return false;
    for (int64_t i = first; i < ds->n; i++) {
        Example ex;
        float loss = 0;
        if (!dataset_get(ds, i, &ex))
            return false;
        if (d->forward(m, ex.dyn, ex.in, &loss, outputs) != NNRT_OK) {
            driver_error("%s: %s", dataset_where(ds, i), nnrt_last_error());
            return false;
        }
        int64_t n = p >= 0 ? nnrt_size_eval(&d->outputs[p].shape[0], ex.dyn) : 0;
        score_one(s, ex.units, ex.label, p >= 0 ? outputs[p] : NULL, n, loss);
    }
    return true;
}

const char *score_text(const Score *s) {
    double l = s->units > 0 ? s->loss / s->units : NAN;
    const char *t = xsprintf("loss %.4f", l);
    if (s->per_word)
        t = xsprintf("%s ppl %.2f", t, exp(l));
    if (s->have_acc)
        t = xsprintf("%s acc %.2f%%", t, 100.0 * (double)s->correct / (double)s->examples);
    return t;
}

/* ---------------------------------------------------------------- the model */

/* diags: where the compiler's diagnostics go */
static const nnrt_model_desc *load(const char *model, CompileOptions *co, bool train, double *opt_lr, FILE *diags) {
    Paths paths;
    driver_locate(&paths);
    co->train_required = train;
    DriverPipelines pl;
    if (!driver_pipeline_options(co, &pl))
        return NULL;
    Diag diag;
    diag_init(&diag, diags);
    diag.hold = true;
    Graph *t = NULL;
    Graph *g = driver_compile_to_tmp(&diag, model, co, &paths, &pl, train, &t);
    if (!g)
        return NULL;
    if (train && !t) {
        driver_error("model %s cannot be trained: %s", g->model,
                     co->no_train ? "--no-train was given" : !g->loss ? "it has no loss" : "every param is frozen");
        return NULL;
    }
    /* A model without an optimizer trains with sgd(lr = 0.01) (docs/API.md). */
    *opt_lr = g->opt.kind == OPT_NONE ? 0.01 : g->opt.lr;
    void *handle;
    return driver_build_and_load(g, co, &paths, &handle);
}

const nnrt_model_desc *load_model(const char *model, CompileOptions *co, bool train, double *opt_lr) {
    return load(model, co, train, opt_lr, stderr);
}

const nnrt_model_desc *load_model_quiet(const char *model, CompileOptions *co, bool train, double *opt_lr,
                                        const char **why) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        *why = "out of memory";
        return NULL;
    }
    const nnrt_model_desc *d = load(model, co, train, opt_lr, f);
    fclose(f);
    *why = text && len ? xstrndup(text, strcspn(text, "\n")) : "it did not build (see above)";
    free(text);
    return d;
}

/* The index of d's param called name, or -1 after "OPT: model M has no
 * param NAME" (--export, --init-unigram). */
static int param_named(const nnrt_model_desc *d, const char *name, const char *opt) {
    Guess g = guess_start(name);
    for (int i = 0; i < d->nparams; i++) {
        if (strcmp(d->params[i].name, name) == 0)
            return i;
        guess_consider(&g, d->params[i].name);
    }
    if (g.best)
        driver_error("%s: model %s has no param %s; did you mean %s?", opt, d->name, name, g.best);
    else
        driver_error("%s: model %s has no param %s", opt, d->name, name);
    return -1;
}

bool export_spec_ok(const char *spec) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1]) {
        driver_error("--export expects PARAM=FILE, got '%s'", spec);
        return false;
    }
    return true;
}

static bool is_npy(const char *file) {
    size_t len = strlen(file);
    return len >= 4 && strcmp(file + len - 4, ".npy") == 0;
}

/* The param an --export spec writes, checked: it exists, and the word2vec
 * text format has a matrix and a vocabulary (words: text data); -1 after
 * the error. */
static int export_target(const nnrt_model_desc *d, const char *spec, bool words) {
    if (!export_spec_ok(spec))
        return -1;
    const char *eq = strchr(spec, '=');
    char *name = xstrndup(spec, (size_t)(eq - spec));
    int i = param_named(d, name, xsprintf("--export %s", spec));
    if (i < 0)
        return -1;
    const nnrt_tensor_desc *p = &d->params[i];
    if (!is_npy(eq + 1) && (p->rank != 2 || !words)) {
        driver_error("--export %s: the word2vec text format needs a [rows, columns] param and a vocabulary "
                     "(text data)%s", spec, p->rank != 2 ? xsprintf("; %s is %s", name, p->shape_text) : "");
        return -1;
    }
    return i;
}

bool export_check(const nnrt_model_desc *d, const char *spec, bool words) {
    return export_target(d, spec, words) >= 0 && driver_check_writable("--export", strchr(spec, '=') + 1);
}

bool export_param(const nnrt_model_desc *d, void *m, const char *spec, const nnrt_vocab *words) {
    int i = export_target(d, spec, words != NULL);
    if (i < 0)
        return false;
    const char *file = strchr(spec, '=') + 1;
    if (!driver_check_output(file))
        return false;
    const nnrt_tensor_desc *p = &d->params[i];
    int64_t shape[NNRT_MAXRANK];
    for (int ax = 0; ax < p->rank; ax++)
        shape[ax] = static_size(&p->shape[ax]);
    int rc;
    if (is_npy(file))
        rc = nnrt_npy_write(file, NNRT_F32, p->rank, shape, d->param_data(m, i));
    else
        rc = nnrt_vocab_write_vectors(file, words, d->param_data(m, i), shape[0], shape[1]);
    if (rc != NNRT_OK) {
        driver_error("--export %s: %s", spec, nnrt_last_error());
        return false;
    }
    return true;
}

/* --init-unigram PARAM: a [n] param (n >= the vocabulary) set to the log
 * of each word's unigram frequency, count / total, the ids the file never
 * has (count 0, or past the vocabulary) at half a count: an output bias
 * that starts where the unigram model is (docs/TRAIN.md). */
bool unigram_init(const nnrt_model_desc *d, void *m, const char *name, const nnrt_vocab *words) {
    int i = param_named(d, name, xsprintf("--init-unigram %s", name));
    if (i < 0)
        return false;
    const nnrt_tensor_desc *p = &d->params[i];
    int64_t n = p->rank == 1 ? static_size(&p->shape[0]) : 0;
    if (!words || words->n == 0 || n < words->n) {
        driver_error("--init-unigram %s: needs text data and a vector of at least the vocabulary's %lld words; %s "
                     "is %s",
                     name, words ? (long long)words->n : 0LL, name, p->shape_text);
        return false;
    }
    double total = 0;
    for (int32_t w = 0; w < words->n; w++)
        total += (double)words->count[w];
    float *x = d->param_data(m, i);
    for (int64_t w = 0; w < n; w++) {
        double c = w < words->n ? (double)words->count[w] : 0.0;
        x[w] = (float)log((c > 0 ? c : 0.5) / (total > 0 ? total : 1.0));
    }
    return true;
}
