/*
 * nnrt_approx.h - the runtime side of the softmax approximations (issue #10):
 * noise distributions and their samplers, the word structures (frequency
 * classes, Huffman tree, binary and convolutional codes), float64 reference
 * losses and gradients of every method, and float32 fast steps for negative
 * sampling and hierarchical softmax. docs/APPROX.md defines each method.
 *
 * Vocabulary counts are in id order as `nngc train` makes them (nnrt_data.h:
 * 0 = <s>, 1 = <unk>, then by descending count). Nothing here allocates per
 * call except the *_build functions; every *_build has a *_free, and a
 * failed build leaves nothing to free (error code, nnrt_last_error()).
 */
#ifndef NNRT_APPROX_H
#define NNRT_APPROX_H

#include <stdint.h>

#include "nngrt.h"
#include "nnrt_hd.h" /* the algorithms the CUDA runtime runs on the device too */

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- sample.c */

/* A noise (proposal) distribution q over [0, n) as a Walker/Vose alias
 * table: slot i keeps i with probability prob[i], else gives alias[i].
 * q(w) = count[w]^power / sum_v count[v]^power; a word with count 0 has
 * q = 0 and is never drawn. counts NULL: uniform, q = 1/n. */
typedef struct nnrt_alias {
    int64_t n;
    double *prob;   /* [n] in [0, 1] */
    int32_t *alias; /* [n] */
    double *logq;   /* [n] log q(w), -inf where q(w) = 0 */
} nnrt_alias;

#define NNRT_NOISE_POWER 0.75 /* word2vec's unigram^0.75 */

int nnrt_alias_build(nnrt_alias *a, const int64_t *counts, int64_t n, double power);
void nnrt_alias_free(nnrt_alias *a);

/* One draw: one 64-bit random number, O(1). */
static inline int32_t nnrt_alias_draw(const nnrt_alias *a, nnrt_rng *r) {
    return nnrt_hd_alias_pick(a->prob, a->alias, a->n, nnrt_hd_next(r->s));
}

/* The random stream of one context: seeded from (seed, step, pos) alone, so
 * the draws of a position do not depend on which thread or in which order
 * the positions run. step counts updates, pos is the position in the batch
 * (NNRT_SHARED_POS for the batch's shared set). */
#define NNRT_SHARED_POS UINT64_MAX
void nnrt_rng_stream(nnrt_rng *r, uint64_t seed, uint64_t step, uint64_t pos);

/* Draws k words from q into out[0..k). exclude < 0: plain draws (duplicates
 * and the positive possible). exclude >= 0: a draw equal to it is redrawn;
 * an error if q(exclude) = 1 (nothing else can be drawn). */
int nnrt_sample_k(const nnrt_alias *a, nnrt_rng *r, int64_t k, int32_t exclude, int32_t *out);

/* The samples of a batch of npos positions for update `step`: share = 0
 * gives each position p its own k draws out[p * k ..] from stream
 * (seed, step, p), excluding targets[p] if exclude is set (targets may be
 * NULL otherwise); share = 1 draws one set out[0..k) from stream
 * (seed, step, NNRT_SHARED_POS) for the whole batch (never excluding). */
int nnrt_sample_batch(const nnrt_alias *a, uint64_t seed, uint64_t step, int64_t npos, int64_t k,
                      int share, int exclude, const int32_t *targets, int32_t *out);

/* Word counts (one per id) from a .npy vector (nngc's --counts): int32 or
 * int64, or float32/float64 holding whole numbers (above 2^24 a float32 is
 * not exact: use integers); each >= 0. *counts is malloc'd (free it), *n
 * its length. An error names the file and the problem (rank, a negative or
 * fractional value and its id). */
int nnrt_counts_read(const char *path, int64_t **counts, int64_t *n);

/* ---------------------------------------------------------------- codes.c */

/* Classes by frequency binning (Mikolov's RNNLM toolkit): words in id order
 * (by descending count), the running share of the total cut into c equal
 * parts. sqrt_counts = 1 bins sqrt(count) (RNNLM's default), 0 plain counts
 * (RNNLM's -old-classes). Class k holds the id range [start[k], start[k+1]).
 * C (<= the c asked) is the number of classes that got words. */
typedef struct nnrt_classes {
    int64_t V, C;
    int32_t *word_class; /* [V] */
    int32_t *word_index; /* [V] index of the word within its class */
    int32_t *start;      /* [C + 1] */
} nnrt_classes;

int nnrt_classes_build(nnrt_classes *cl, const int64_t *counts, int64_t V, int64_t c, int sqrt_counts);
void nnrt_classes_free(nnrt_classes *cl);

/* Huffman tree from counts, built as word2vec's CreateBinaryTree (two
 * queues over the words sorted by descending count, ties by id; on equal
 * counts the inner node is taken first). V - 1 inner nodes numbered
 * 0..V-2, the root is V-2. Word w's path: inner nodes point[off[w] ..
 * off[w+1]) root first, and the bit taken at each, code[...] (0 or 1). */
typedef struct nnrt_huffman {
    int64_t V;
    int max_len;
    int64_t *off;   /* [V + 1] */
    int32_t *point; /* [off[V]] */
    uint8_t *code;  /* [off[V]] */
} nnrt_huffman;

int nnrt_huffman_build(nnrt_huffman *t, const int64_t *counts, int64_t V);
/* Word y's path in p[0..n): its inner nodes (labels != 0: its labels,
 * 1 - code, the generated code's hier_labels), then pad up to n
 * (runtime/rows_path.c). y is in range; n >= its path's length. */
void nnrt_hier_fill(const nnrt_huffman *t, int64_t y, int32_t *p, int64_t n, int32_t pad, int labels);
void nnrt_huffman_free(nnrt_huffman *t);

/* Binary codes (Oda et al. 2017): the first `hybrid` ids (the most frequent
 * words: nngc's ids are by descending count) get softmax slots 0..hybrid-1,
 * slot `hybrid` stands for "a coded word", and id w >= hybrid gets the code
 * w - hybrid in bits = ceil(log2(V - hybrid)) bits (at least 1), most
 * significant bit first. hybrid = 0: every word is coded. */
typedef struct nnrt_bincode {
    int64_t V, hybrid, ncoded; /* ncoded = V - hybrid */
    int bits;
} nnrt_bincode;

int nnrt_bincode_init(nnrt_bincode *b, int64_t V, int64_t hybrid);
/* The bits of coded word w (w >= hybrid) into out[0..bits). */
void nnrt_bincode_encode(const nnrt_bincode *b, int32_t w, uint8_t *out);
/* The coded word whose bits are most likely under independent bit
 * probabilities p1[i] = P(bit i = 1), among the valid codes [0, ncoded)
 * only: hard bits that spell a valid code give that word; a code past the
 * vocabulary gives the nearest valid one. O(bits^2). */
int32_t nnrt_bincode_decode(const nnrt_bincode *b, const double *p1);

/* The convolutional code of the `ecc` option: rate 1/2, constraint length
 * 7, generators 171 and 133 (octal; the CCSDS/NASA standard, free distance
 * 10), the register flushed with 6 zero bits: n message bits give
 * 2 * (n + 6) coded bits. Its minimum distance is 10, so maximum-likelihood
 * decoding corrects any 4 flipped bits. */
/* (NNRT_ECC_K, NNRT_ECC_G0, NNRT_ECC_G1 and nnrt_ecc_len are in nnrt_hd.h.) */
void nnrt_ecc_encode(int nbits, const uint8_t *msg, uint8_t *out);
/* Viterbi decoding with soft decisions (branch metric log p / log(1 - p)
 * of the coded bits' probabilities p1), restricted to messages whose value
 * (MSB first) is below limit: the most likely valid word. Returns it, or -1
 * if nbits > 30. No allocation (the trellis is on the stack, nbits <= 30). */
int32_t nnrt_ecc_decode(int nbits, const double *p1, int64_t limit);
/* The normalizer of binary's distribution over the vocabulary: log of the
 * sum, over the valid messages v < limit of nbits bits, of the probability
 * of v's predicted bits under their logits x[0..n) (bit = 1 with
 * probability sigmoid(x)). n = nbits: the plain code, bit i of v; n >
 * nbits: bit j is bit j * total / n of v's convolutional code (total =
 * nnrt_ecc_len(nbits), punctured as nngc's bin_code). 0 when every code is
 * valid (plain, limit = 2^nbits). NAN for bad arguments. */
double nnrt_code_logz(int nbits, const float *x, int n, int64_t limit);

/* ---------------------------------------------------------------- approx.c */

/* float64 reference losses and gradients of one position (docs/APPROX.md).
 * Each returns the loss -log p (or the method's surrogate) and writes the
 * gradient with respect to the logits it was given; g has the shape of the
 * logits and is overwritten. They are the yardstick for the compiler's
 * lowering and for the float32 steps below, not fast. */

/* full softmax: z[V], loss = logsumexp(z) - z[y]. */
double nnrt_ref_full(int64_t V, const double *z, int32_t y, double *g);
/* sampled softmax (Jean et al. 2015): candidates y, s[0..k); logits
 * corrected by -log q; samples equal to y are kept. g is dense [V].
 * k <= 1023 (its candidates are on the stack). */
/* A sampled softmax's target that the noise never draws (q(y) = 0, a
 * count of 0) has the correction -log q(y) = +inf and no finite loss: the
 * call fails with this message (a printf format of the word, long long),
 * after its file:line:col in the C target's code and before the position
 * on the CUDA target. */
#define NNRT_SAMPLED_Q0_FMT \
    "sampled softmax: target word %lld has probability 0 under the noise distribution (a count of 0)"
double nnrt_ref_sampled(int64_t V, const double *z, int32_t y, int64_t k, const int32_t *s,
                        const double *logq, double *g);
/* NCE with log Z = 0 (Mnih & Teh 2012): delta(w) = z[w] - log(k q(w)). */
double nnrt_ref_nce(int64_t V, const double *z, int32_t y, int64_t k, const int32_t *s,
                    const double *logq, double *g);
/* negative sampling (word2vec): a sample equal to y is skipped. */
double nnrt_ref_neg(int64_t V, const double *z, int32_t y, int64_t k, const int32_t *s, double *g);
/* class-based: zc[C] class logits, zw[V] word logits (only y's class range
 * is read); gc[C], gw[V]. */
double nnrt_ref_class(const nnrt_classes *cl, const double *zc, const double *zw, int32_t y,
                      double *gc, double *gw);
/* p(w) for every w into p[V] (sums to 1). */
void nnrt_class_probs(const nnrt_classes *cl, const double *zc, const double *zw, double *p);
/* hierarchical: x[V-1] inner-node logits; P(bit 0 at node n) = sigmoid(x[n]). */
double nnrt_ref_hier(const nnrt_huffman *t, const double *x, int32_t y, double *g);
void nnrt_hier_probs(const nnrt_huffman *t, const double *x, double *p);
/* bits: sigmoid per bit against target bits t[0..nb), x[nb] logits. */
double nnrt_ref_bits(int nb, const double *x, const uint8_t *t, double *g);
/* binary with hybrid softmax: zs[hybrid + 1] softmax logits, x[bits]. */
double nnrt_ref_binary(const nnrt_bincode *b, const double *zs, const double *x, int32_t y,
                       double *gs, double *gx);
/* von Mises-Fisher (Kumar & Tsvetkov 2019): o[m] the output vector, e[m]
 * the frozen unit-norm embedding of y; loss = -log C_m(|o|) - lambda2 o.e
 * + lambda1 |o|, with the paper's approximation of -log C_m. */
double nnrt_ref_vmf(int64_t m, const double *o, const double *e, double lambda1, double lambda2,
                    double *g);
/* logits z = W h + b (W is V x H, b may be NULL) and the chain rule back
 * from the logits' gradient gz: gW = gz h^T (into gW[V x H]), gh = W^T gz. */
void nnrt_ref_logits(int64_t V, int64_t H, const double *W, const double *b, const double *h, double *z);
void nnrt_ref_backprop(int64_t V, int64_t H, const double *W, const double *h, const double *gz,
                       double *gW, double *gh);

/* float32 steps of one position, word2vec's inner loop: f = h . W[t],
 * gr = sigmoid(f) - label, gh += gr * W[t], W[t] -= lr * gr * h (the
 * row update after reading it for gh). Rows are ld floats apart; gh
 * (H floats) accumulates and is not zeroed. *loss (if not NULL) gets the
 * position's loss in float. neg: target then the k samples, a sample equal
 * to the target skipped (a sample drawn twice is stepped twice, the second
 * time on the updated row, as in word2vec). hier: the inner-node rows
 * W[point], label 1 - code. h and gh must not overlap W or each other. */
void nnrt_neg_step(int64_t H, const float *h, float *W, int64_t ld, int32_t target, int64_t k,
                   const int32_t *s, float lr, float *gh, float *loss);
void nnrt_hier_step(int64_t H, const float *h, float *W, int64_t ld, const nnrt_huffman *t,
                    int32_t target, float lr, float *gh, float *loss);

/* ---------------------------------------------------------------- decode.c */

/* Decoding at inference (docs/APPROX.md, "Decoding"): the most likely word
 * of one position under the method's own distribution (the one whose
 * log p(y) the forward graph gives), from the hidden vector h[H] and the
 * method's rows, float32 with H floats per row as the model keeps them; a
 * bias may be NULL. Each returns the word (ties: the smaller id), or -1 for
 * bad arguments, and writes its log-probability to *logp (may be NULL).
 * Exact, in double, allocating nothing; each costs the scores of all the
 * method's rows, O(V H). */
/* full softmax (and the sampling methods, evaluated exactly): argmax W h + b. */
int32_t nnrt_decode_full(int64_t V, int64_t H, const float *W, const float *b, const float *h, double *logp);
/* the same from logits z[V] computed whole: argmax z, log softmax(z) there. */
int32_t nnrt_decode_logits(int64_t V, const float *z, double *logp);
/* class: Wc, bc the class rows [cl->C, H] and biases, W, b the words'. */
int32_t nnrt_decode_class(const nnrt_classes *cl, int64_t H, const float *Wc, const float *bc, const float *W,
                          const float *b, const float *h, double *logp);
/* hier: W, b the inner nodes' rows (word2vec's syn1, V - 1 of them); every
 * word's path is scored (lb: scratch of 2 (V - 1) doubles, the nodes' bits'
 * log-probabilities). */
int32_t nnrt_decode_hier(const nnrt_huffman *t, int64_t H, const float *W, const float *b, const float *h, double *lb,
                         double *logp);
/* binary: W's rows as nngc lays them out (hybrid = N > 0: N + 1 softmax
 * slots first), then n bit rows: n = bits the plain code (decoded by
 * nnrt_bincode_decode), n > bits the convolutional code punctured to n
 * bits (nnrt_ecc_decode, a punctured bit at probability 1/2). *logp is
 * renormalized over V, as nngc's forward graph. */
int32_t nnrt_decode_binary(const nnrt_bincode *bc, int n, int64_t H, const float *W, const float *b, const float *h,
                           double *logp);
/* embed: the row of W (V x H) nearest to h by cosine; *cosine gets it. */
int32_t nnrt_decode_embed(int64_t V, int64_t H, const float *W, const float *h, double *cosine);

#ifdef __cplusplus
}
#endif
#endif /* NNRT_APPROX_H */
