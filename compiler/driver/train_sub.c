/*
 * train_sub.c - `nngc train --sample t`: word2vec's subsampling of frequent
 * words (Mikolov et al. 2013, word2vec.c's `-sample`, fastText's `-t`).
 * Each occurrence of word w is kept with probability
 *
 *     keep(w) = min(1, (sqrt(f / t) + 1) t / f),   f = count(w) / total,
 *
 * word2vec.c's formula (`ran = (sqrt(cn / (sample * train_words)) + 1) *
 * (sample * train_words) / cn`, kept when ran >= a uniform draw). The
 * counts are those of the training file itself, every id (<unk> too; <s>
 * is never in a line), total = its tokens. Dropping happens where a line
 * becomes words (dataset_get), before the model's layout pads it, so the
 * windows of a skip-gram model span the kept words, as in word2vec.
 *
 * The draws of line i in epoch e come from nnrt_rng_stream(seed', e, i):
 * a function of (seed, epoch, line) alone, so the kept words do not depend
 * on the order, the thread or the rank that reads the line, and a run is
 * reproducible from --seed. Only the training set is subsampled: the
 * validation set and `nngc eval` read every word.
 */
#include "train.h"

#include <math.h>

#include "nnrt_approx.h"

/* keeps the streams apart from the softmax samples' (same seed) */
#define SUB_SALT 0x5ab5a3b1e5d0c0deull

double subsample_keep(int64_t c, int64_t total, double t) {
    if (c <= 0 || total <= 0)
        return 1;
    double f = (double)c / (double)total, k = (sqrt(f / t) + 1) * t / f;
    return k < 1 ? k : 1;
}

bool subsample_init(Dataset *ds, double t, uint64_t seed) {
    const nnrt_corpus *c = &ds->corpus;
    int64_t V = 0, total = c->start[c->n];
    for (int64_t j = 0; j < total; j++)
        V = c->id[j] >= V ? c->id[j] + 1 : V;
    int64_t *count = xalloc(sizeof(int64_t) * (size_t)(V + 1));
    for (int64_t j = 0; j < total; j++)
        count[c->id[j]]++;
    Subsample *s = xalloc(sizeof *s);
    *s = (Subsample){.t = t, .seed = seed ^ SUB_SALT, .nkeep = V, .keep = xalloc(sizeof(double) * (size_t)(V + 1))};
    for (int64_t w = 0; w < V; w++)
        s->keep[w] = (float)subsample_keep(count[w], total, t);
    ds->sub = s;
    ds->kept = xalloc(sizeof(int32_t) * (size_t)(ds->ts.tmax + 1));
    return true;
}

void subsample_epoch(Dataset *ds, long epoch) {
    if (ds->sub)
        ds->sub->epoch = epoch, ds->sub->kept = ds->sub->words = 0;
}

const char *subsample_report(const Dataset *ds) {
    const Subsample *s = ds->sub;
    if (!s)
        return NULL;
    return xsprintf("kept %lld of %lld words (%.2f%%)", (long long)s->kept, (long long)s->words,
                    s->words ? 100.0 * (double)s->kept / (double)s->words : 0.0);
}

int64_t subsample_line(Subsample *s, int64_t i, const int32_t *ids, int64_t n, int32_t *out) {
    nnrt_rng r;
    nnrt_rng_stream(&r, s->seed, (uint64_t)s->epoch, (uint64_t)i);
    int64_t m = 0;
    for (int64_t j = 0; j < n; j++) {
        double k = ids[j] < s->nkeep ? s->keep[ids[j]] : 1;
        /* one draw per word, kept or not, so that word j's draw is fixed */
        double u = nnrt_rng_double(&r);
        if (k >= 1 || u < k)
            out[m++] = ids[j];
    }
    __atomic_fetch_add(&s->kept, m, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->words, n, __ATOMIC_RELAXED);
    return m;
}
