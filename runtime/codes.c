/*
 * codes.c - the word structures behind the factored softmaxes: frequency
 * classes (class-based softmax), the Huffman tree (hierarchical softmax),
 * binary codes with a hybrid softmax head and the convolutional code with
 * its Viterbi decoder (Oda et al. 2017). docs/APPROX.md has the formulas.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nnrt_approx.h"
#include "rt_internal.h"

static int check_counts(const char *what, const int64_t *counts, int64_t V) {
    if (V <= 0 || V > INT32_MAX)
        return nnrt_error(NNRT_ERR_ARG, "%s: %lld words (want 1 to 2^31 - 1)", what, (long long)V);
    int64_t total = 0; /* the tree's root counts them all */
    for (int64_t i = 0; i < V; i++) {
        if (counts[i] < 0)
            return nnrt_error(NNRT_ERR_ARG, "%s: count[%lld] = %lld is negative", what, (long long)i,
                              (long long)counts[i]);
        if (counts[i] > INT64_MAX - total)
            return nnrt_error(NNRT_ERR_ARG, "%s: the counts add up to more than 2^63 - 1 (at count[%lld] = %lld)",
                              what, (long long)i, (long long)counts[i]);
        total += counts[i];
    }
    return NNRT_OK;
}

/* ---------------------------------------------------------------- classes */

void nnrt_classes_free(nnrt_classes *cl) {
    free(cl->word_class);
    free(cl->word_index);
    free(cl->start);
    memset(cl, 0, sizeof *cl);
}

/* rnnlm.cpp's class assignment, in id order: the running share df of the
 * total (of sqrt(count / total) with sqrt_counts) puts word i in class a,
 * and a moves on (by one at most per word) once df passes (a + 1) / c. */
int nnrt_classes_build(nnrt_classes *cl, const int64_t *counts, int64_t V, int64_t c, int sqrt_counts) {
    memset(cl, 0, sizeof *cl);
    int rc = check_counts("classes", counts, V);
    if (rc)
        return rc;
    if (c < 1 || c > V)
        return nnrt_error(NNRT_ERR_ARG, "classes: %lld classes for %lld words (want 1 to %lld)", (long long)c,
                          (long long)V, (long long)V);
    double b = 0.0, dd = 0.0, df = 0.0;
    for (int64_t i = 0; i < V; i++)
        b += (double)counts[i];
    if (!(b > 0.0))
        return nnrt_error(NNRT_ERR_ARG, "classes: every count is 0");
    for (int64_t i = 0; i < V; i++)
        dd += sqrt((double)counts[i] / b);
    cl->word_class = malloc((size_t)V * sizeof *cl->word_class);
    cl->word_index = malloc((size_t)V * sizeof *cl->word_index);
    cl->start = malloc((size_t)(c + 1) * sizeof *cl->start);
    if (!cl->word_class || !cl->word_index || !cl->start) {
        nnrt_classes_free(cl);
        return nnrt_error(NNRT_ERR_NOMEM, "classes: out of memory for %lld words", (long long)V);
    }
    int64_t a = 0;
    for (int64_t i = 0; i < V; i++) {
        df += sqrt_counts ? sqrt((double)counts[i] / b) / dd : (double)counts[i] / b;
        if (df > 1.0)
            df = 1.0;
        cl->word_class[i] = (int32_t)a;
        if (df > (double)(a + 1) / (double)c && a < c - 1)
            a++;
    }
    cl->V = V;
    cl->C = cl->word_class[V - 1] + 1;
    for (int64_t i = 0, k = -1; i < V; i++) {
        while (k < cl->word_class[i])
            cl->start[++k] = (int32_t)i;
        cl->word_index[i] = (int32_t)(i - cl->start[k]);
    }
    cl->start[cl->C] = (int32_t)V;
    return NNRT_OK;
}

/* ---------------------------------------------------------------- Huffman */

void nnrt_huffman_free(nnrt_huffman *t) {
    free(t->off);
    free(t->point);
    free(t->code);
    memset(t, 0, sizeof *t);
}

typedef struct {
    int64_t count;
    int32_t id;
} Ranked;

static int by_count_desc(const void *pa, const void *pb) {
    const Ranked *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

int nnrt_huffman_build(nnrt_huffman *t, const int64_t *counts, int64_t V) {
    memset(t, 0, sizeof *t);
    int rc = check_counts("huffman tree", counts, V);
    if (rc)
        return rc;
    int64_t nn = 2 * V - 1; /* V leaves (by rank), then inner nodes V.. */
    Ranked *r = malloc((size_t)V * sizeof *r);
    int64_t *cnt = malloc((size_t)nn * sizeof *cnt);
    int64_t *parent = malloc((size_t)nn * sizeof *parent);
    uint8_t *bit = calloc((size_t)nn, 1);
    int32_t *depth = malloc((size_t)V * sizeof *depth);
    t->off = malloc((size_t)(V + 1) * sizeof *t->off);
    if (!r || !cnt || !parent || !bit || !depth || !t->off) {
        rc = nnrt_error(NNRT_ERR_NOMEM, "huffman tree: out of memory for %lld words", (long long)V);
        goto done;
    }
    for (int64_t i = 0; i < V; i++)
        r[i] = (Ranked){counts[i], (int32_t)i};
    qsort(r, (size_t)V, sizeof *r, by_count_desc);
    for (int64_t i = 0; i < V; i++)
        cnt[i] = r[i].count;
    /* word2vec's CreateBinaryTree: pos1 walks the leaves from the rarest
     * up, pos2 the inner nodes in order of creation (their counts grow);
     * the smaller is taken, the inner node on a tie. */
    int64_t pos1 = V - 1, pos2 = V;
    for (int64_t a = 0; a < V - 1; a++) {
        int64_t m[2];
        for (int j = 0; j < 2; j++) {
            if (pos1 >= 0 && (pos2 >= V + a || cnt[pos1] < cnt[pos2]))
                m[j] = pos1--;
            else
                m[j] = pos2++;
        }
        cnt[V + a] = cnt[m[0]] + cnt[m[1]];
        parent[m[0]] = parent[m[1]] = V + a;
        bit[m[1]] = 1;
    }
    int64_t root = nn - 1, total = 0;
    for (int64_t i = 0; i < V; i++) {
        int32_t d = 0;
        for (int64_t b = i; b != root; b = parent[b])
            d++;
        depth[i] = d;
        total += d;
        if (d > t->max_len)
            t->max_len = d;
    }
    t->point = malloc((size_t)(total > 0 ? total : 1) * sizeof *t->point);
    t->code = malloc((size_t)(total > 0 ? total : 1));
    if (!t->point || !t->code) {
        rc = nnrt_error(NNRT_ERR_NOMEM, "huffman tree: out of memory for %lld path nodes", (long long)total);
        goto done;
    }
    /* off[] is by word id; the path is written leaf to root from the end */
    t->off[0] = 0;
    for (int64_t i = 0; i < V; i++)
        t->off[r[i].id + 1] = depth[i];
    for (int64_t w = 0; w < V; w++)
        t->off[w + 1] += t->off[w];
    for (int64_t i = 0; i < V; i++) {
        int64_t j = t->off[r[i].id] + depth[i];
        for (int64_t b = i; b != root; b = parent[b]) {
            j--;
            t->code[j] = bit[b];
            t->point[j] = (int32_t)(parent[b] - V);
        }
    }
    t->V = V;
done:
    free(r);
    free(cnt);
    free(parent);
    free(bit);
    free(depth);
    if (rc)
        nnrt_huffman_free(t);
    return rc;
}

/* ---------------------------------------------------------------- binary codes */

int nnrt_bincode_init(nnrt_bincode *b, int64_t V, int64_t hybrid) {
    memset(b, 0, sizeof *b);
    if (V < 1 || V > INT32_MAX || hybrid < 0 || hybrid >= V)
        return nnrt_error(NNRT_ERR_ARG, "binary codes: hybrid = %lld for %lld words (want 0 <= hybrid < V)",
                          (long long)hybrid, (long long)V);
    b->V = V;
    b->hybrid = hybrid;
    b->ncoded = V - hybrid;
    b->bits = 1;
    while (((int64_t)1 << b->bits) < b->ncoded)
        b->bits++;
    return NNRT_OK;
}

void nnrt_bincode_encode(const nnrt_bincode *b, int32_t w, uint8_t *out) {
    NNRT_ASSERT(w >= b->hybrid && w < b->V);
    int64_t c = w - b->hybrid;
    for (int i = 0; i < b->bits; i++)
        out[i] = (uint8_t)((c >> (b->bits - 1 - i)) & 1);
}

/* The codes <= L = ncoded - 1 are L itself and, for each bit i where L has
 * a 1, L's bits before i, a 0 at i, anything after: the best of each family
 * takes the likelier value of every free bit. */
int32_t nnrt_bincode_decode(const nnrt_bincode *b, const double *p1) {
    int n = b->bits;
    int64_t L = b->ncoded - 1;
    double free_best[64 + 1]; /* free_best[i]: best score of bits i.. */
    free_best[n] = 0.0;
    for (int i = n - 1; i >= 0; i--) {
        double s0 = nnrt_hd_log_p(p1[i], 0), s1 = nnrt_hd_log_p(p1[i], 1);
        free_best[i] = free_best[i + 1] + (s1 > s0 ? s1 : s0);
    }
    double prefix = 0.0, best = -INFINITY;
    int64_t code = L;
    for (int i = 0; i < n; i++) {
        int li = (int)((L >> (n - 1 - i)) & 1);
        if (li) {
            double s = prefix + nnrt_hd_log_p(p1[i], 0) + free_best[i + 1];
            if (s > best) {
                best = s;
                int64_t c = (L >> (n - i)) << (n - i); /* L's bits before i, 0 at i */
                for (int j = i + 1; j < n; j++)
                    if (nnrt_hd_log_p(p1[j], 1) > nnrt_hd_log_p(p1[j], 0))
                        c |= (int64_t)1 << (n - 1 - j);
                code = c;
            }
        }
        prefix += nnrt_hd_log_p(p1[i], li);
    }
    if (prefix >= best)
        code = L;
    return (int32_t)(b->hybrid + code);
}

/* ---------------------------------------------------------------- convolutional code */

/* reg: the last 7 input bits, the newest in bit 0 */
void nnrt_ecc_encode(int nbits, const uint8_t *msg, uint8_t *out) {
    unsigned reg = 0;
    for (int t = 0; t < nbits + NNRT_ECC_K - 1; t++) {
        reg = ((reg << 1) | (t < nbits ? (msg[t] & 1u) : 0u)) & 0x7f;
        out[2 * t] = (uint8_t)nnrt_hd_parity7(reg & NNRT_ECC_G0);
        out[2 * t + 1] = (uint8_t)nnrt_hd_parity7(reg & NNRT_ECC_G1);
    }
}

/* Viterbi over nnrt_hd.h's trellis, which the normalizer nnrt_code_logz
 * walks with log-sum-exp instead of max. */
int32_t nnrt_ecc_decode(int nbits, const double *p1, int64_t limit) {
    if (nbits < 1 || nbits > NNRT_ECC_MAXBITS || limit <= 0)
        return -1;
    int steps = nbits + NNRT_ECC_K - 1;
    uint8_t pred[NNRT_ECC_MAXSTEPS][NNRT_ECC_STATES];
    double m[NNRT_ECC_STATES];
    nnrt_hd_trellis_walk(nbits, nnrt_hd_ecc_largest(nbits, limit), p1, NULL, 0, pred, m);
    int s = m[0] >= m[1] ? 0 : 1; /* register flushed to 0 */
    if (m[s] == -INFINITY)
        return -1;
    int64_t value = 0;
    for (int t = steps - 1; t >= 0; t--) {
        if (t < nbits)
            value |= (int64_t)((s >> 1) & 1) << (nbits - 1 - t);
        s = pred[t][s];
    }
    return (int32_t)value;
}

/* The plain code and the convolutional one: nnrt_hd.h, run on the device
 * too. */
double nnrt_code_logz(int nbits, const float *x, int n, int64_t limit) { return nnrt_hd_code_logz(nbits, x, n, limit); }
