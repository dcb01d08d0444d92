/*
 * decode.c - decoding at inference (docs/APPROX.md, "Decoding"): the most
 * likely word of one position under each softmax approximation's own
 * distribution, the one the forward graph's log p(y) is taken from.
 *
 * Every decoder reads the position's hidden vector h [H] and the method's
 * rows (float32, H floats per row, as the model keeps them), computes the
 * scores in double and returns the word; *logp (may be NULL) gets that
 * word's log-probability under the method (embed: the cosine). Ties go to
 * the smaller id. Each is exact (no beam): the cost is the scores of every
 * row the method has, O(V H), plus for hier the sum over every word's path
 * and for binary the codes' decoders (codes.c). Nothing here allocates.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "nnrt_approx.h"

/* In double, four sums at a time (the compiler keeps a double sum's order,
 * so one sum would be one dependent add after another). */
static double row_dot(int64_t H, const float *w, const float *h) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t j = 0;
    for (; j + 4 <= H; j += 4) {
        s0 += (double)w[j] * (double)h[j];
        s1 += (double)w[j + 1] * (double)h[j + 1];
        s2 += (double)w[j + 2] * (double)h[j + 2];
        s3 += (double)w[j + 3] * (double)h[j + 3];
    }
    for (; j < H; j++)
        s0 += (double)w[j] * (double)h[j];
    return (s0 + s1) + (s2 + s3);
}

/* Row r's logit: W[r] . h (+ b[r]). */
static double logit(int64_t H, const float *W, const float *b, int64_t r, const float *h) {
    return row_dot(H, W + r * H, h) + (b ? (double)b[r] : 0.0);
}

/* A running softmax over logits given one at a time: its log-normalizer
 * (lse: the maximum m and the sum s of exp(z - m)) and its argmax (the
 * first of equal logits: ties to the smaller id). */
typedef struct Top {
    double m, s, best;
    int32_t arg;
} Top;

static Top top_start(int32_t first) { return (Top){-INFINITY, 0.0, -INFINITY, first}; }

/* z into the normalizer; a candidate for the argmax when pick */
static void top_add(Top *t, double z, int32_t w, bool pick) {
    if (pick && z > t->best) {
        t->best = z;
        t->arg = w;
    }
    if (z == -INFINITY) /* adds nothing (and -inf - -inf is no number) */
        return;
    if (z <= t->m) {
        t->s += exp(z - t->m);
    } else {
        t->s = t->s * exp(t->m - z) + 1.0;
        t->m = z;
    }
}

static double top_lse(const Top *t) { return t->m + log(t->s); }

/* log sigmoid(x) for bit 1, log sigmoid(-x) for bit 0. */
static double log_bit(double x, int bit) {
    double t = bit ? -x : x; /* -log sigmoid(-t) = softplus(t) */
    return -((t > 0 ? t : 0.0) + log1p(exp(-fabs(t))));
}

/* ---------------------------------------------------------------- full softmax */

int32_t nnrt_decode_full(int64_t V, int64_t H, const float *W, const float *b, const float *h, double *logp) {
    if (V < 1 || H < 0 || !W || !h)
        return -1;
    Top t = top_start(0);
    for (int64_t w = 0; w < V; w++)
        top_add(&t, logit(H, W, b, w, h), (int32_t)w, true);
    if (logp)
        *logp = t.best - top_lse(&t);
    return t.arg;
}

/* Logits computed whole (a cross_entropy of any z): argmax z. */
int32_t nnrt_decode_logits(int64_t V, const float *z, double *logp) {
    if (V < 1 || !z)
        return -1;
    Top t = top_start(0);
    for (int64_t w = 0; w < V; w++)
        top_add(&t, z[w], (int32_t)w, true);
    if (logp)
        *logp = t.best - top_lse(&t);
    return t.arg;
}

/* ---------------------------------------------------------------- class */

/* log p(w) = zc[c] - lse(zc) + zw[w] - lse(zw over c's range): within a
 * class the best word is the one with the largest logit, so one pass per
 * class gives its best word and its normalizer, and the best word overall
 * is the best class's score, compared over the C classes. */
int32_t nnrt_decode_class(const nnrt_classes *cl, int64_t H, const float *Wc, const float *bc, const float *W,
                          const float *b, const float *h, double *logp) {
    if (!cl || cl->C < 1 || H < 0 || !Wc || !W || !h)
        return -1;
    Top classes = top_start(0);
    double best = -INFINITY;
    int32_t arg = 0;
    for (int64_t c = 0; c < cl->C; c++) {
        double zc = logit(H, Wc, bc, c, h);
        top_add(&classes, zc, (int32_t)c, false);
        Top words = top_start(cl->start[c]);
        for (int32_t w = cl->start[c]; w < cl->start[c + 1]; w++)
            top_add(&words, logit(H, W, b, w, h), w, true);
        double score = zc + words.best - top_lse(&words); /* + the class normalizer, the same for all */
        if (score > best) {
            best = score;
            arg = words.arg;
        }
    }
    if (logp)
        *logp = best - top_lse(&classes);
    return arg;
}

/* ---------------------------------------------------------------- hier */

/* Every inner node's logit x = W[n] . h + b[n], kept as the log-
 * probabilities of its two bits, lb[2 n + bit] (bit 0: log sigmoid(x)),
 * then every word's path: log p(w) = the sum of its bits' lb. */
int32_t nnrt_decode_hier(const nnrt_huffman *t, int64_t H, const float *W, const float *b, const float *h, double *lb,
                         double *logp) {
    if (!t || t->V < 1 || H < 0 || !W || !h || (t->V > 1 && !lb))
        return -1;
    for (int64_t n = 0; n < t->V - 1; n++) {
        double x = logit(H, W, b, n, h);
        lb[2 * n] = log_bit(x, 1); /* log sigmoid(x) */
        lb[2 * n + 1] = log_bit(x, 0);
    }
    double best = -INFINITY;
    int32_t arg = 0;
    for (int64_t w = 0; w < t->V; w++) {
        double lp = 0.0;
        for (int64_t i = t->off[w]; i < t->off[w + 1]; i++)
            lp += lb[2 * (int64_t)t->point[i] + t->code[i]];
        if (lp > best) {
            best = lp;
            arg = (int32_t)w;
        }
    }
    if (logp)
        *logp = best;
    return arg;
}

/* ---------------------------------------------------------------- binary */

/* The log-probability of coded message v's n predicted bits (plain: its
 * bits; n > bits: the convolutional code punctured as nngc's bin_code,
 * logit j predicting code bit j * total / n). */
static double code_logp(int bits, int n, const double *x, int64_t v) {
    uint8_t msg[NNRT_ECC_MAXBITS], code[2 * NNRT_ECC_MAXSTEPS];
    for (int i = 0; i < bits; i++)
        msg[i] = (uint8_t)((v >> (bits - 1 - i)) & 1);
    if (n == bits) {
        double s = 0.0;
        for (int i = 0; i < bits; i++)
            s += log_bit(x[i], msg[i]);
        return s;
    }
    int total = nnrt_ecc_len(bits);
    nnrt_ecc_encode(bits, msg, code);
    double s = 0.0;
    for (int j = 0; j < n; j++)
        s += log_bit(x[j], code[(int64_t)j * total / n]);
    return s;
}

/* W's rows: hybrid = N > 0 first has N + 1 softmax slots (the N most
 * frequent words, then "a coded word"), then the n bit rows (n = bits: the
 * plain code; n > bits: bits + ecc of the convolutional code). The best
 * coded word is the decoder's (nnrt_bincode_decode, or Viterbi with a
 * punctured bit at probability 1/2): the renormalization over V divides
 * every coded word by the same Z, so it does not change which is best.
 * With hybrid, it is compared with the best softmax word. */
int32_t nnrt_decode_binary(const nnrt_bincode *bc, int n, int64_t H, const float *W, const float *b, const float *h,
                           double *logp) {
    if (!bc || !W || !h || H < 0 || bc->bits > NNRT_ECC_MAXBITS || n < bc->bits ||
        (n > bc->bits && n > nnrt_ecc_len(bc->bits)))
        return -1;
    int64_t N = bc->hybrid, first = N > 0 ? N + 1 : 0;
    double x[2 * NNRT_ECC_MAXSTEPS], p1[2 * NNRT_ECC_MAXSTEPS];
    float xf[2 * NNRT_ECC_MAXSTEPS];
    for (int j = 0; j < n; j++) {
        x[j] = logit(H, W, b, first + j, h);
        xf[j] = (float)x[j];
    }
    int64_t v;
    if (n == bc->bits) {
        for (int j = 0; j < n; j++)
            p1[j] = 1.0 / (1.0 + exp(-x[j]));
        v = nnrt_bincode_decode(bc, p1) - N;
    } else {
        int total = nnrt_ecc_len(bc->bits);
        for (int c = 0; c < total; c++)
            p1[c] = 0.5; /* a punctured bit: either value */
        for (int j = 0; j < n; j++)
            p1[(int64_t)j * total / n] = 1.0 / (1.0 + exp(-x[j]));
        v = nnrt_ecc_decode(bc->bits, p1, bc->ncoded);
        if (v < 0)
            return -1;
    }
    double coded = code_logp(bc->bits, n, x, v) - nnrt_code_logz(bc->bits, xf, n, bc->ncoded);
    int32_t arg = (int32_t)(N + v);
    if (N > 0) {
        Top t = top_start(0);
        for (int64_t w = 0; w <= N; w++) /* slot N (a coded word) in the normalizer only */
            top_add(&t, logit(H, W, b, w, h), (int32_t)w, w < N);
        double lse = top_lse(&t), zn = logit(H, W, b, N, h);
        coded += zn - lse;
        if (t.best - lse >= coded) { /* a tie: the smaller id, a softmax word */
            coded = t.best - lse;
            arg = t.arg;
        }
    }
    if (logp)
        *logp = coded;
    return arg;
}

/* ---------------------------------------------------------------- embed */

/* The row of W nearest to h by cosine: argmax W[w] . h / |W[w]| (|h| is
 * the same for every row; a zero row has cosine 0). */
int32_t nnrt_decode_embed(int64_t V, int64_t H, const float *W, const float *h, double *cosine) {
    if (V < 1 || H < 0 || !W || !h)
        return -1;
    double hn = sqrt(row_dot(H, h, h)), best = -INFINITY;
    int32_t arg = 0;
    for (int64_t w = 0; w < V; w++) {
        double wn = sqrt(row_dot(H, W + w * H, W + w * H));
        double c = wn > 0 && hn > 0 ? row_dot(H, W + w * H, h) / (wn * hn) : 0.0;
        if (c > best) {
            best = c;
            arg = (int32_t)w;
        }
    }
    if (cosine)
        *cosine = best;
    return arg;
}
