/*
 * nnrt_hd.h - the algorithms that the CPU runtime and the CUDA runtime's
 * device code both run, written once: the random stream behind sampling
 * (splitmix64, xoshiro256**, the per-position streams, the alias draw) and
 * the binary codes' convolutional code and normalizer.
 *
 * Everything is `static inline`, marked NNRT_HD: `__host__ __device__`
 * under nvcc, nothing in plain C and under the host emulation of CUDA
 * (runtime/cuda/cuda_emu.h). rng.c, sample.c and codes.c call these; so does
 * runtime/cuda/approx.cu, so the device draws and normalizes exactly as the
 * CPU does (bit for bit). Only integer and double arithmetic in a fixed
 * order; no allocation, no globals, no function pointers (the device has
 * none of the CPU runtime's functions).
 */
#ifndef NNRT_HD_H
#define NNRT_HD_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define NNRT_HD __host__ __device__
#else
#define NNRT_HD
#endif

/* ---------------------------------------------------------------- random numbers */

/* The splitmix64 finalizer: a bijection of 64-bit words that mixes well. */
NNRT_HD static inline uint64_t nnrt_hd_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* xoshiro256**'s state s[4] from any 64-bit seed through splitmix64, as its
 * authors recommend (0 included gives a well-mixed non-zero state). */
NNRT_HD static inline void nnrt_hd_seed(uint64_t s[4], uint64_t seed) {
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15ull;
        s[i] = nnrt_hd_mix64(seed);
    }
}

NNRT_HD static inline uint64_t nnrt_hd_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** (Blackman & Vigna, https://prng.di.unimi.it/): the next word. */
NNRT_HD static inline uint64_t nnrt_hd_next(uint64_t s[4]) {
    uint64_t result = nnrt_hd_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = nnrt_hd_rotl(s[3], 45);
    return result;
}

/* The stream of (seed, step, pos) (nnrt_rng_stream, runtime/sample.c). */
NNRT_HD static inline void nnrt_hd_stream(uint64_t s[4], uint64_t seed, uint64_t step, uint64_t pos) {
    uint64_t h = nnrt_hd_mix64(seed + 0x9e3779b97f4a7c15ull);
    h = nnrt_hd_mix64(h ^ (step + 0x632be59bd9b4e019ull));
    h = nnrt_hd_mix64(h ^ (pos + 0x85157af5ull));
    nnrt_hd_seed(s, h);
}

/* One draw from a Walker/Vose alias table of n slots (nnrt_alias_draw,
 * nnrt_approx.h) given one random word u: its top 53 bits pick the slot
 * and the coin. */
NNRT_HD static inline int32_t nnrt_hd_alias_pick(const double *prob, const int32_t *alias, int64_t n, uint64_t u) {
    double x = (double)(u >> 11) * 0x1.0p-53 * (double)n;
    int64_t i = (int64_t)x;
    if (i >= n) /* x rounded up to n */
        i = n - 1;
    return x - (double)i < prob[i] ? (int32_t)i : alias[i];
}

/* ---------------------------------------------------------------- the convolutional code */

/* Rate 1/2, constraint length 7, generators 171 and 133 (octal), the
 * register flushed with 6 zero bits (nnrt_approx.h, docs/APPROX.md). */
#define NNRT_ECC_K 7
#define NNRT_ECC_G0 0171
#define NNRT_ECC_G1 0133
#define NNRT_ECC_STATES 128 /* 6 register bits x "still equal to the limit's prefix" */
#define NNRT_ECC_MAXBITS 30
#define NNRT_ECC_MAXSTEPS (NNRT_ECC_MAXBITS + NNRT_ECC_K - 1)

NNRT_HD static inline int nnrt_ecc_len(int nbits) { return 2 * (nbits + NNRT_ECC_K - 1); }

NNRT_HD static inline int nnrt_hd_parity7(unsigned x) {
    x &= 0x7fu;
    x ^= x >> 4;
    x ^= x >> 2;
    x ^= x >> 1;
    return (int)(x & 1u);
}

/* log(exp(a) + exp(b)), -inf safe. */
NNRT_HD static inline double nnrt_hd_lse2(double a, double b) {
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/* log sigmoid(+-x): the log-probability of bit value `bit` from its logit. */
NNRT_HD static inline double nnrt_hd_log_bit(double x, int bit) {
    double s = bit ? -x : x; /* -log p = softplus(s) */
    return -(s > 0 ? s + log1p(exp(-s)) : log1p(exp(s)));
}

/* log P(bit) from p1 = P(bit = 1), at least log 1e-300. */
NNRT_HD static inline double nnrt_hd_log_p(double p1, int bit) {
    const double eps = 1e-300;
    double p = bit ? p1 : 1.0 - p1;
    return log(p > eps ? p : eps);
}

/* The largest valid message value: limit - 1, at most nbits ones. */
NNRT_HD static inline int64_t nnrt_hd_ecc_largest(int nbits, int64_t limit) {
    int64_t L = limit - 1;
    return L >= ((int64_t)1 << nbits) ? ((int64_t)1 << nbits) - 1 : L;
}

/* Step t of the trellis of the convolutional code over the messages <= L:
 * a state is the register's last 6 bits (bits 1..6) and whether the
 * message so far equals L's prefix (bit 0: "tight"); a walk starts at
 * m[1] = 0 (register 0, tight; the rest -inf) and ends flushed to register
 * 0 (states 0 and 1). bm[c0][c1] is the log-probability of the step's two
 * code bits. m holds the scores before the step, next gets those after:
 * with max, Viterbi's best path (pred, if not NULL, gets each state's best
 * predecessor), else the log-sum-exp over the paths. One step for
 * nnrt_ecc_decode and the normalizer below. */
NNRT_HD static inline void nnrt_hd_trellis_step(int nbits, int64_t L, int t, const double bm[2][2], const double *m,
                                                double *next, int max, uint8_t *pred) {
    int lb = t < nbits ? (int)((L >> (nbits - 1 - t)) & 1) : 0;
    for (int s = 0; s < NNRT_ECC_STATES; s++)
        next[s] = -INFINITY;
    for (int s = 0; s < NNRT_ECC_STATES; s++) {
        if (m[s] == -INFINITY)
            continue;
        unsigned reg = (unsigned)s >> 1;
        int tight = s & 1;
        for (int bit = 0; bit < (t < nbits ? 2 : 1); bit++) {
            if (tight && bit > lb)
                continue; /* the value would pass L */
            unsigned full = ((reg << 1) | (unsigned)bit) & 0x7f;
            int ns = (int)((full & 0x3f) << 1) | (tight && bit == lb);
            double v = m[s] + bm[nnrt_hd_parity7(full & NNRT_ECC_G0)][nnrt_hd_parity7(full & NNRT_ECC_G1)];
            if (!max) {
                next[ns] = nnrt_hd_lse2(next[ns], v);
            } else if (v > next[ns]) {
                next[ns] = v;
                if (pred)
                    pred[ns] = (uint8_t)s;
            }
        }
    }
}

/* The plain code: the codes < limit are, for each bit i where limit has a
 * 1, limit's bits before i, a 0 at i and anything after (whose free bits
 * sum to 1). */
NNRT_HD static inline double nnrt_hd_logz_plain(int nbits, const float *x, int64_t limit) {
    if (limit >= ((int64_t)1 << nbits))
        return 0.0; /* every code is a word */
    double z = -INFINITY, prefix = 0.0;
    for (int i = 0; i < nbits; i++) {
        int li = (int)((limit >> (nbits - 1 - i)) & 1);
        if (li)
            z = nnrt_hd_lse2(z, prefix + nnrt_hd_log_bit(x[i], 0));
        prefix += nnrt_hd_log_bit(x[i], li);
    }
    return z;
}

/* The logit that predicts code bit c of `total` when n are kept, punctured
 * evenly (logit j predicts code bit j * total / n): -1 if none. */
NNRT_HD static inline int nnrt_hd_ecc_who(int c, int total, int n) {
    int j = (int)(((int64_t)c * n + total - 1) / total); /* the least j with j * total / n >= c */
    return j < n && (int64_t)j * total / n == c ? j : -1;
}

/* The walk over the trellis from register 0, tight, to the end: with p1
 * (the 2 (nbits + 6) coded bits' probabilities of being 1) Viterbi's
 * (nnrt_ecc_decode; pred[t] gets step t's best predecessors, if not
 * NULL), else with x (the logits of n code bits, punctured evenly) the
 * log-sum-exp over the paths (the normalizer: a code bit nobody predicts
 * weighs 1 either way). m gets the final scores. */
NNRT_HD static inline void nnrt_hd_trellis_walk(int nbits, int64_t L, const double *p1, const float *x, int n,
                                                uint8_t (*pred)[NNRT_ECC_STATES], double *m) {
    int total = nnrt_ecc_len(nbits), steps = nbits + NNRT_ECC_K - 1;
    double next[NNRT_ECC_STATES];
    for (int s = 0; s < NNRT_ECC_STATES; s++)
        m[s] = -INFINITY;
    m[1] = 0.0; /* register 0, tight */
    for (int t = 0; t < steps; t++) {
        double bm[2][2];
        int w0 = p1 ? -1 : nnrt_hd_ecc_who(2 * t, total, n), w1 = p1 ? -1 : nnrt_hd_ecc_who(2 * t + 1, total, n);
        for (int c0 = 0; c0 < 2; c0++)
            for (int c1 = 0; c1 < 2; c1++)
                bm[c0][c1] = p1 ? nnrt_hd_log_p(p1[2 * t], c0) + nnrt_hd_log_p(p1[2 * t + 1], c1)
                                : (w0 >= 0 ? nnrt_hd_log_bit(x[w0], c0) : 0.0) +
                                      (w1 >= 0 ? nnrt_hd_log_bit(x[w1], c1) : 0.0);
        nnrt_hd_trellis_step(nbits, L, t, (const double(*)[2])bm, m, next, p1 != 0, pred ? pred[t] : (uint8_t *)0);
        for (int s = 0; s < NNRT_ECC_STATES; s++)
            m[s] = next[s];
    }
}

/* nnrt_code_logz (nnrt_approx.h): binary's normalizer, NAN for bad
 * arguments. */
NNRT_HD static inline double nnrt_hd_code_logz(int nbits, const float *x, int n, int64_t limit) {
    if (nbits < 1 || nbits > NNRT_ECC_MAXBITS || limit <= 0 || n < nbits || n > nnrt_ecc_len(nbits))
        return NAN;
    if (n == nbits)
        return nnrt_hd_logz_plain(nbits, x, limit);
    double m[NNRT_ECC_STATES]; /* the convolutional code: the sum over nnrt_ecc_decode's trellis */
    nnrt_hd_trellis_walk(nbits, nnrt_hd_ecc_largest(nbits, limit), (const double *)0, x, n, 0, m);
    return nnrt_hd_lse2(m[0], m[1]);
}

#endif /* NNRT_HD_H */
