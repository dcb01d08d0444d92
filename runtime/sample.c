/*
 * sample.c - noise distributions for sampled losses (sampled softmax, NCE,
 * negative sampling): unigram^power as a Walker/Vose alias table, O(1) per
 * draw, and the per-context random streams that make the draws of a
 * position independent of thread and order.
 *
 * Vose's construction (M. D. Vose, "A linear algorithm for generating
 * random numbers with a given distribution", IEEE TSE 1991): scale q to
 * mean 1, pair each slot below 1 with one above 1 from two worklists. It is
 * done in double, so the table's probabilities are q to about 1e-15.
 */
#include <math.h>
#include <stdlib.h>

#include "nnrt_approx.h"
#include "rt_internal.h"

void nnrt_alias_free(nnrt_alias *a) {
    free(a->prob);
    free(a->alias);
    free(a->logq);
    a->prob = a->logq = NULL;
    a->alias = NULL;
    a->n = 0;
}

int nnrt_alias_build(nnrt_alias *a, const int64_t *counts, int64_t n, double power) {
    a->n = 0;
    a->prob = a->logq = NULL;
    a->alias = NULL;
    if (n <= 0 || n > INT32_MAX)
        return nnrt_error(NNRT_ERR_ARG, "noise distribution: %lld words (want 1 to 2^31 - 1)", (long long)n);
    if (!(power >= 0.0) || power > 16.0)
        return nnrt_error(NNRT_ERR_ARG, "noise distribution: power %g (want 0 to 16)", power);
    double *w = malloc((size_t)n * sizeof *w);
    int32_t *work = malloc((size_t)n * sizeof *work);
    a->prob = malloc((size_t)n * sizeof *a->prob);
    a->alias = malloc((size_t)n * sizeof *a->alias);
    a->logq = malloc((size_t)n * sizeof *a->logq);
    if (!w || !work || !a->prob || !a->alias || !a->logq) {
        free(w);
        free(work);
        nnrt_alias_free(a);
        return nnrt_error(NNRT_ERR_NOMEM, "noise distribution: out of memory for %lld words", (long long)n);
    }
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (counts && counts[i] < 0) {
            free(w);
            free(work);
            nnrt_alias_free(a);
            return nnrt_error(NNRT_ERR_ARG, "noise distribution: count[%lld] = %lld is negative",
                              (long long)i, (long long)counts[i]);
        }
        /* 0^power is 0 even for power 0: an unseen word is never noise */
        w[i] = !counts ? 1.0 : counts[i] == 0 ? 0.0 : pow((double)counts[i], power);
        total += w[i];
    }
    if (!(total > 0.0) || !isfinite(total)) {
        free(w);
        free(work);
        nnrt_alias_free(a);
        return nnrt_error(NNRT_ERR_ARG, "noise distribution: the counts sum to %g (want a positive finite sum)",
                          total);
    }
    a->n = n;
    for (int64_t i = 0; i < n; i++) {
        a->logq[i] = w[i] > 0.0 ? log(w[i] / total) : -INFINITY;
        w[i] *= (double)n / total; /* mean 1 */
    }
    /* work holds the small slots from the front and the large from the back */
    int64_t ns = 0, nl = n;
    for (int64_t i = 0; i < n; i++) {
        if (w[i] < 1.0)
            work[ns++] = (int32_t)i;
        else
            work[--nl] = (int32_t)i;
    }
    int64_t s = 0, l = nl;
    while (s < ns && l < n) {
        int32_t small = work[s++], large = work[l];
        a->prob[small] = w[small];
        a->alias[small] = large;
        w[large] -= 1.0 - w[small];
        if (w[large] < 1.0) { /* it becomes a small slot: reuse its cell */
            l++;
            work[--s] = large;
        }
    }
    /* what is left is 1 up to rounding */
    for (; s < ns; s++)
        a->prob[work[s]] = 1.0, a->alias[work[s]] = work[s];
    for (; l < n; l++)
        a->prob[work[l]] = 1.0, a->alias[work[l]] = work[l];
    free(w);
    free(work);
    return NNRT_OK;
}

void nnrt_rng_stream(nnrt_rng *r, uint64_t seed, uint64_t step, uint64_t pos) { nnrt_hd_stream(r->s, seed, step, pos); }

int nnrt_sample_k(const nnrt_alias *a, nnrt_rng *r, int64_t k, int32_t exclude, int32_t *out) {
    if (exclude >= 0 && exclude < a->n && a->logq[exclude] == 0.0 && k > 0)
        return nnrt_error(NNRT_ERR_ARG, "sampling: word %d has all the noise probability, nothing else can be drawn",
                          (int)exclude);
    for (int64_t i = 0; i < k; i++) {
        int32_t w;
        do
            w = nnrt_alias_draw(a, r);
        while (w == exclude);
        out[i] = w;
    }
    return NNRT_OK;
}

int nnrt_sample_batch(const nnrt_alias *a, uint64_t seed, uint64_t step, int64_t npos, int64_t k,
                      int share, int exclude, const int32_t *targets, int32_t *out) {
    nnrt_rng r;
    if (k < 0 || npos < 0)
        return nnrt_error(NNRT_ERR_ARG, "sampling: %lld samples for %lld positions", (long long)k,
                          (long long)npos);
    if (share) {
        nnrt_rng_stream(&r, seed, step, NNRT_SHARED_POS);
        return nnrt_sample_k(a, &r, k, -1, out);
    }
    if (exclude && !targets)
        return nnrt_error(NNRT_ERR_ARG, "sampling: excluding the targets needs the targets");
    for (int64_t p = 0; p < npos; p++) {
        nnrt_rng_stream(&r, seed, step, (uint64_t)p);
        int rc = nnrt_sample_k(a, &r, k, exclude ? targets[p] : -1, out + p * k);
        if (rc)
            return rc;
    }
    return NNRT_OK;
}

/* ---------------------------------------------------------------- counts from a file */

int nnrt_counts_read(const char *path, int64_t **counts, int64_t *n) {
    *counts = NULL;
    *n = 0;
    nnrt_array a;
    int rc = nnrt_npy_read(path, &a);
    if (rc)
        return rc;
    if (a.rank != 1 || a.count < 1) {
        int rank = a.rank;
        nnrt_array_free(&a);
        return nnrt_error(NNRT_ERR_SHAPE, "%s: word counts must be a vector, one count per word id (not empty), "
                                          "not an array of rank %d", path, rank);
    }
    int64_t *c = malloc((size_t)a.count * sizeof *c);
    if (!c) {
        nnrt_array_free(&a);
        return nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory for %lld counts", path, (long long)a.count);
    }
    for (int64_t i = 0; i < a.count; i++) {
        double v = a.dtype == NNRT_I32 ? (double)((const int32_t *)a.data)[i] : (double)((const float *)a.data)[i];
        if (!(v >= 0.0) || v != floor(v) || v >= 0x1p63) { /* NaN fails v >= 0; 2^63 and inf fit no int64 */
            rc = nnrt_error(NNRT_ERR_RANGE, "%s: the count of word id %lld is %g: counts must be whole numbers >= 0"
                            " (and below 2^63)", path, (long long)i, v);
            free(c);
            nnrt_array_free(&a);
            return rc;
        }
        c[i] = (int64_t)v;
    }
    *n = a.count;
    *counts = c;
    nnrt_array_free(&a);
    return NNRT_OK;
}
