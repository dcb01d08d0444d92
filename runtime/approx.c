/*
 * approx.c - the softmax approximations' losses and gradients for one
 * position: float64 references (what the compiler's lowering must match;
 * checked against tests/approx/gen_fixtures.py and finite differences) and
 * float32 fast steps for negative sampling and hierarchical softmax
 * (word2vec's inner loop). docs/APPROX.md states each formula.
 */
#include <math.h>
#include <string.h>

#include "nnrt_approx.h"
#include "rt_internal.h"

/* log(1 + exp(x)) without overflow: -log sigmoid(-x) */
static double softplus(double x) { return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x))); }

static double sigmoid(double x) {
    double e = exp(-fabs(x));
    return x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/* logsumexp of z[0..n) and, if p is not NULL, softmax(z) into p. */
static double lse_softmax(int64_t n, const double *z, double *p) {
    double m = -INFINITY, s = 0.0;
    for (int64_t i = 0; i < n; i++)
        if (z[i] > m)
            m = z[i];
    for (int64_t i = 0; i < n; i++)
        s += exp(z[i] - m);
    double lse = m + log(s);
    if (p)
        for (int64_t i = 0; i < n; i++)
            p[i] = exp(z[i] - lse);
    return lse;
}

double nnrt_ref_full(int64_t V, const double *z, int32_t y, double *g) {
    double lse = lse_softmax(V, z, g);
    g[y] -= 1.0;
    return lse - z[y];
}

/* The candidates of the sampled losses: slot 0 is y, slot j > 0 is s[j-1]. */
static int32_t cand(int32_t y, const int32_t *s, int64_t j) { return j == 0 ? y : s[j - 1]; }

double nnrt_ref_sampled(int64_t V, const double *z, int32_t y, int64_t k, const int32_t *s,
                        const double *logq, double *g) {
    enum { MAXK = 1024 };
    NNRT_ASSERT(k + 1 <= MAXK);
    double o[MAXK] = {0}, p[MAXK]; /* zeroed: gcc cannot see that k + 1 are set */
    for (int64_t j = 0; j <= k; j++) {
        int32_t w = cand(y, s, j);
        o[j] = z[w] - logq[w];
    }
    double lse = lse_softmax(k + 1, o, p);
    memset(g, 0, (size_t)V * sizeof *g);
    for (int64_t j = 0; j <= k; j++)
        g[cand(y, s, j)] += p[j];
    g[y] -= 1.0;
    return lse - o[0];
}

double nnrt_ref_nce(int64_t V, const double *z, int32_t y, int64_t k, const int32_t *s,
                    const double *logq, double *g) {
    double logk = log((double)k), loss = 0.0;
    memset(g, 0, (size_t)V * sizeof *g);
    for (int64_t j = 0; j <= k; j++) {
        int32_t w = cand(y, s, j);
        double delta = z[w] - logk - logq[w];
        if (j == 0) {
            loss += softplus(-delta); /* -log sigmoid(delta): y is data */
            g[w] += sigmoid(delta) - 1.0;
        } else {
            loss += softplus(delta); /* -log(1 - sigmoid(delta)): noise */
            g[w] += sigmoid(delta);
        }
    }
    return loss;
}

double nnrt_ref_neg(int64_t V, const double *z, int32_t y, int64_t k, const int32_t *s, double *g) {
    memset(g, 0, (size_t)V * sizeof *g);
    double loss = softplus(-z[y]);
    g[y] = sigmoid(z[y]) - 1.0;
    for (int64_t j = 0; j < k; j++) {
        if (s[j] == y)
            continue; /* word2vec: `if (target == word) continue;` */
        loss += softplus(z[s[j]]);
        g[s[j]] += sigmoid(z[s[j]]);
    }
    return loss;
}

double nnrt_ref_class(const nnrt_classes *cl, const double *zc, const double *zw, int32_t y,
                      double *gc, double *gw) {
    int32_t c = cl->word_class[y], a = cl->start[c], b = cl->start[c + 1];
    double loss = lse_softmax(cl->C, zc, gc) - zc[c];
    gc[c] -= 1.0;
    memset(gw, 0, (size_t)cl->V * sizeof *gw);
    loss += lse_softmax(b - a, zw + a, gw + a) - zw[y];
    gw[y] -= 1.0;
    return loss;
}

void nnrt_class_probs(const nnrt_classes *cl, const double *zc, const double *zw, double *p) {
    double lc = lse_softmax(cl->C, zc, NULL);
    for (int64_t c = 0; c < cl->C; c++) {
        int32_t a = cl->start[c], b = cl->start[c + 1];
        double lw = lse_softmax(b - a, zw + a, NULL);
        for (int32_t w = a; w < b; w++)
            p[w] = exp(zc[c] - lc + zw[w] - lw);
    }
}

double nnrt_ref_hier(const nnrt_huffman *t, const double *x, int32_t y, double *g) {
    double loss = 0.0;
    if (t->V > 1)
        memset(g, 0, (size_t)(t->V - 1) * sizeof *g);
    for (int64_t i = t->off[y]; i < t->off[y + 1]; i++) {
        double xi = x[t->point[i]];
        int label = 1 - t->code[i]; /* bit 0 has probability sigmoid(x) */
        loss += softplus(label ? -xi : xi);
        g[t->point[i]] += sigmoid(xi) - label;
    }
    return loss;
}

void nnrt_hier_probs(const nnrt_huffman *t, const double *x, double *p) {
    for (int64_t w = 0; w < t->V; w++) {
        double lp = 0.0;
        for (int64_t i = t->off[w]; i < t->off[w + 1]; i++)
            lp -= softplus(t->code[i] ? x[t->point[i]] : -x[t->point[i]]);
        p[w] = exp(lp);
    }
}

double nnrt_ref_bits(int nb, const double *x, const uint8_t *t, double *g) {
    double loss = 0.0;
    for (int i = 0; i < nb; i++) {
        loss += softplus(t[i] ? -x[i] : x[i]);
        g[i] = sigmoid(x[i]) - t[i];
    }
    return loss;
}

double nnrt_ref_binary(const nnrt_bincode *b, const double *zs, const double *x, int32_t y,
                       double *gs, double *gx) {
    int64_t slot = y < b->hybrid ? y : b->hybrid;
    double loss = lse_softmax(b->hybrid + 1, zs, gs) - zs[slot];
    gs[slot] -= 1.0;
    if (y < b->hybrid) {
        memset(gx, 0, (size_t)b->bits * sizeof *gx);
        return loss;
    }
    uint8_t t[64];
    nnrt_bincode_encode(b, y, t);
    return loss + nnrt_ref_bits(b->bits, x, t, gx);
}

/* -log C_m(kappa) as Kumar & Tsvetkov (2019, appendix) approximate it,
 * v = m/2 - 1: sqrt((v+1)^2 + k^2) - (v-1) log(v - 1 + sqrt((v+1)^2 + k^2));
 * *d gets its derivative in kappa, k / (v - 1 + sqrt((v+1)^2 + k^2)). */
static double vmf_neg_log_cm(int64_t m, double kappa, double *d) {
    double v = (double)m / 2.0 - 1.0, r = sqrt((v + 1) * (v + 1) + kappa * kappa);
    *d = kappa / (v - 1.0 + r);
    return r - (v - 1.0) * log(v - 1.0 + r);
}

double nnrt_ref_vmf(int64_t m, const double *o, const double *e, double lambda1, double lambda2,
                    double *g) {
    NNRT_ASSERT(m > 2); /* v - 1 + r > 0 needs m > 2 */
    double kappa = 0.0, dot = 0.0, d;
    for (int64_t i = 0; i < m; i++) {
        kappa += o[i] * o[i];
        dot += o[i] * e[i];
    }
    kappa = sqrt(kappa);
    double loss = vmf_neg_log_cm(m, kappa, &d) - lambda2 * dot + lambda1 * kappa;
    double s = kappa > 0.0 ? (d + lambda1) / kappa : 0.0; /* d(kappa)/do = o / kappa */
    for (int64_t i = 0; i < m; i++)
        g[i] = s * o[i] - lambda2 * e[i];
    return loss;
}

void nnrt_ref_logits(int64_t V, int64_t H, const double *W, const double *b, const double *h, double *z) {
    for (int64_t v = 0; v < V; v++) {
        double s = b ? b[v] : 0.0;
        for (int64_t j = 0; j < H; j++)
            s += W[v * H + j] * h[j];
        z[v] = s;
    }
}

void nnrt_ref_backprop(int64_t V, int64_t H, const double *W, const double *h, const double *gz,
                       double *gW, double *gh) {
    for (int64_t j = 0; j < H; j++)
        gh[j] = 0.0;
    for (int64_t v = 0; v < V; v++)
        for (int64_t j = 0; j < H; j++) {
            gW[v * H + j] = gz[v] * h[j];
            gh[j] += gz[v] * W[v * H + j];
        }
}

/* ---------------------------------------------------------------- float32 steps */

/* One output row against h: gh += gr * w, then w -= lr * gr * h. h, w and
 * gh do not overlap (the caller's contract), which lets the loop vectorize. */
static inline float row_step(int64_t H, const float *restrict h, float *restrict w, int label, float lr,
                             float *restrict gh, float *loss) {
    float f = nnrt_dot16(H, h, w);
    float gr = nnrt_sigmoidf(f) - (float)label;
    float step = lr * gr;
    for (int64_t j = 0; j < H; j++) {
        gh[j] += gr * w[j];
        w[j] -= step * h[j];
    }
    if (loss) {
        float x = label ? -f : f; /* -log sigmoid(-x) = softplus(x) */
        *loss += (x > 0 ? x : 0.0f) + log1pf(nnrt_exp_le0(-fabsf(x)));
    }
    return f;
}

void nnrt_neg_step(int64_t H, const float *h, float *W, int64_t ld, int32_t target, int64_t k,
                   const int32_t *s, float lr, float *gh, float *loss) {
    if (loss)
        *loss = 0.0f;
    row_step(H, h, W + (int64_t)target * ld, 1, lr, gh, loss);
    for (int64_t j = 0; j < k; j++)
        if (s[j] != target)
            row_step(H, h, W + (int64_t)s[j] * ld, 0, lr, gh, loss);
}

void nnrt_hier_step(int64_t H, const float *h, float *W, int64_t ld, const nnrt_huffman *t,
                    int32_t target, float lr, float *gh, float *loss) {
    if (loss)
        *loss = 0.0f;
    for (int64_t i = t->off[target]; i < t->off[target + 1]; i++)
        row_step(H, h, W + (int64_t)t->point[i] * ld, 1 - t->code[i], lr, gh, loss);
}
