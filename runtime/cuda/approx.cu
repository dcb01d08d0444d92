/*
 * approx.cu - the softmax approximations on the device: their structures
 * (the noise's alias table, hier's Huffman tree, class's classes) resident
 * in device memory, and the ops of compiler/backend/c_approx.c as kernels
 * with the same semantics and the same float and double arithmetic (see
 * nnrt_cuda.h). Most ops are one thread per position (row): the rows are
 * short (k + 1 samples, a path, a code) and the per-row loops are the C
 * target's, in its order, so the results are the C target's. Class's
 * softmaxes and embed's loss have a block per row (rows of up to C or a
 * class's size, and of the embedding's length): their sums add in
 * another order, within rounding of the C target's.
 *
 * Sampling: the C target's stream, nnrt_rng_stream(seed, step, key) and
 * xoshiro256**, and nnrt_alias_draw's draws: the CPU runtime runs them
 * from ../nnrt_hd.h, whose functions are __host__ __device__, and so does
 * this file. Likewise the binary codes' normalizer (nnrt_code_logz, plain
 * and convolutional); the encoder is nnrt_ecc_encode's, a bit at a time.
 */
#include <math.h>
#include <string.h>

#include "nnrt_approx.h"
#include "nnrt_cuda_dev.cuh"

/* ---------------------------------------------------------------- the structures */

template <class T> static int put_array(T **d, const T *src, int64_t n) {
    *d = NULL;
    if (!src || n <= 0)
        return NNRT_OK;
    int rc = nnrt_cuda_alloc((void **)d, (size_t)n * sizeof(T));
    return rc ? rc : nnrt_cuda_put(*d, src, (size_t)n * sizeof(T));
}

void nnrt_cuda_apx_free(nnrt_cuda_apx *d) {
    nnrt_cuda_free(d->prob);
    nnrt_cuda_free(d->logq);
    nnrt_cuda_free(d->alias);
    nnrt_cuda_free(d->off);
    nnrt_cuda_free(d->point);
    nnrt_cuda_free(d->code);
    nnrt_cuda_free(d->word_class);
    nnrt_cuda_free(d->word_index);
    nnrt_cuda_free(d->start);
    memset(d, 0, sizeof *d);
}

int nnrt_cuda_apx_put(nnrt_cuda_apx *d, const nnrt_alias *noise, const nnrt_huffman *tree, const nnrt_classes *cl) {
    nnrt_cuda_apx_free(d);
    int rc = NNRT_OK;
    if (noise) {
        d->n = noise->n;
        if ((rc = put_array(&d->prob, noise->prob, noise->n)) || (rc = put_array(&d->logq, noise->logq, noise->n)) ||
            (rc = put_array(&d->alias, noise->alias, noise->n)))
            goto fail;
    }
    if (tree) {
        d->V = tree->V;
        if ((rc = put_array(&d->off, tree->off, tree->V + 1)) ||
            (rc = put_array(&d->point, tree->point, tree->off[tree->V])) ||
            (rc = put_array(&d->code, tree->code, tree->off[tree->V])))
            goto fail;
    }
    if (cl) {
        d->C = cl->C;
        d->cV = cl->V;
        if ((rc = put_array(&d->word_class, cl->word_class, cl->V)) ||
            (rc = put_array(&d->word_index, cl->word_index, cl->V)) ||
            (rc = put_array(&d->start, cl->start, cl->C + 1)))
            goto fail;
    }
    return NNRT_OK;
fail:
    nnrt_cuda_apx_free(d);
    return rc;
}

/* ---------------------------------------------------------------- device helpers */

__device__ static inline int64_t int_at(nnrt_cuda_ints v, int64_t r) { return v.d ? (int64_t)v.d[r] : v.h; }

/* y in [0, bound), else the range error (position r) */
__device__ static inline bool id_ok(nnrt_dev_status *st, int64_t r, int64_t y, int64_t bound) {
    if (y >= 0 && y < bound)
        return true;
    nnrt_dev_range_error(st, NNRT_DEV_APPROX, r, y, bound);
    return false;
}

struct sample_ops {
    nnrt_cuda_ints v[NNRT_CUDA_MAXOPS];
};

extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_sample(const double *prob, const int32_t *alias, int64_t n, uint64_t seed, uint64_t step, int64_t site,
                  sample_ops ops, int nops, int64_t rows, int64_t k, int32_t *out) {
    NNRT_FOR_GRID(t, rows) {
        int32_t *s = out + t * (k + 1);
        uint64_t key = (uint64_t)site;
        s[0] = (int32_t)int_at(ops.v[0], t);
        for (int j = 1; j < nops; j++)
            key = key * 1000003u + (uint64_t)int_at(ops.v[j], t);
        uint64_t r[4]; /* nnrt_rng_stream's, nnrt_alias_draw's draws */
        nnrt_hd_stream(r, seed, step, key);
        for (int64_t j = 1; j <= k; j++)
            s[j] = nnrt_hd_alias_pick(prob, alias, n, nnrt_hd_next(r));
    }
}

int nnrt_cuda_sample(nnrt_cuda_ctx *c, const nnrt_cuda_apx *a, uint64_t seed, uint64_t step, int64_t site,
                     const nnrt_cuda_ints *ops, int nops, int64_t rows, int64_t k, int32_t *dout) {
    if (nops < 1 || nops > NNRT_CUDA_MAXOPS || !a->prob)
        return nnrt_error(NNRT_ERR_ARG, "sample: %d operands (1 to %d), noise %s", nops, NNRT_CUDA_MAXOPS,
                          a->prob ? "on the device" : "missing");
    if (rows <= 0)
        return NNRT_OK;
    sample_ops o;
    memset(&o, 0, sizeof o);
    for (int j = 0; j < nops; j++)
        o.v[j] = ops[j];
    NNRT_LAUNCH(c, nnrt_k_sample, nnrt_grid(rows, NNRT_BLOCK), NNRT_BLOCK, 0, a->prob, a->alias, a->n, seed, step,
                site, o, nops, rows, k, dout);
    return nnrt_cuda_check_launch("sample");
}

int nnrt_cuda_get_now(nnrt_cuda_ctx *c, void *dst, const void *dsrc, size_t bytes) {
    int rc = nnrt_cuda_check(cudaStreamSynchronize(c->stream), "a kernel failed");
    return rc ? rc : nnrt_cuda_get(dst, dsrc, bytes);
}

/* ---------------------------------------------------------------- segment losses */

/* c_approx.c's nn_softplus and nn_sigmoid (float) */
__device__ static inline float softplus_f(float x) { return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x)); }
__device__ static inline float sigmoid_f(float x) { return 1.0f / (1.0f + expf(-x)); }

/* nce's and sampled's corrected logit of segment place j (c_approx.c's emit_corrected) */
__device__ static inline double corrected(const float *z, const int32_t *ids, const double *lq, int64_t j, bool nce,
                                          double lognk) {
    double c = (double)z[j] - lq[ids[j]];
    return nce ? c - lognk : c;
}

__device__ static void segment_row(int method, const float *z, const int32_t *ids, const float *d, float *v, int64_t rl,
                                   int64_t o, int64_t len, const double *lq, double lognk, nnrt_dev_status *st,
                                   int64_t r) {
    if (d && method != NNRT_APX_LOGISTIC && len < rl)
        for (int64_t j = 0; j < rl; j++)
            v[j] = 0.0f;
    switch (method) {
    case NNRT_APX_NEG: /* a sample equal to the target is skipped (word2vec) */
        if (d) {
            v[o] = d[0] * (sigmoid_f(z[o]) - 1.0f);
            for (int64_t j = o + 1; j < o + len; j++)
                v[j] = ids[j] != ids[o] ? d[0] * sigmoid_f(z[j]) : 0.0f;
        } else {
            float l = softplus_f(-z[o]);
            for (int64_t j = o + 1; j < o + len; j++)
                if (ids[j] != ids[o])
                    l += softplus_f(z[j]);
            v[0] = l;
        }
        return;
    case NNRT_APX_LOGISTIC: /* ids: the labels, -1 skipped */
        if (d) {
            for (int64_t j = 0; j < rl; j++)
                v[j] = ids[j] >= 0 ? d[0] * (sigmoid_f(z[j]) - (float)ids[j]) : 0.0f;
        } else {
            float l = 0.0f;
            for (int64_t j = 0; j < rl; j++)
                if (ids[j] >= 0)
                    l += softplus_f(ids[j] ? -z[j] : z[j]);
            v[0] = l;
        }
        return;
    case NNRT_APX_NCE:
        if (d) {
            for (int64_t j = 0; j < len; j++)
                v[o + j] = d[0] * (float)(1.0 / (1.0 + exp(-corrected(z, ids, lq, o + j, true, lognk))) - (j == 0));
        } else {
            double c0 = corrected(z, ids, lq, o, true, lognk);
            double l = log1p(exp(-fabs(c0))) + (c0 < 0 ? -c0 : 0.0);
            for (int64_t j = 1; j < len; j++) {
                double cj = corrected(z, ids, lq, o + j, true, lognk);
                l += log1p(exp(-fabs(cj))) + (cj > 0 ? cj : 0.0);
            }
            v[0] = (float)l;
        }
        return;
    default: { /* sampled */
        if (lq[ids[o]] == -INFINITY) { /* q(y) = 0: the C target's error (c_approx.c's emit_corrected) */
            nnrt_dev_range_error(st, NNRT_DEV_NOISE, r, ids[o], 0);
            return;
        }
        double mx = corrected(z, ids, lq, o, false, 0.0), s = 0.0;
        for (int64_t j = 1; j < len; j++) {
            double cj = corrected(z, ids, lq, o + j, false, 0.0);
            mx = cj > mx ? cj : mx;
        }
        for (int64_t j = 0; j < len; j++)
            s += exp(corrected(z, ids, lq, o + j, false, 0.0) - mx);
        if (d)
            for (int64_t j = 0; j < len; j++)
                v[o + j] = d[0] * (float)(exp(corrected(z, ids, lq, o + j, false, 0.0) - mx) / s - (j == 0));
        else
            v[0] = (float)(mx + log(s) - corrected(z, ids, lq, o, false, 0.0));
        return;
    }
    }
}

extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_segment(int method, const float *z, const int32_t *ids, const float *dd, int64_t dd_stride, float *out,
                   int64_t rows, int64_t rl, int64_t o, int64_t len, const double *lq, double lognk,
                   nnrt_dev_status *st) {
    NNRT_FOR_GRID(r, rows)
        segment_row(method, z + r * rl, ids + r * rl, dd ? dd + r * dd_stride : NULL, dd ? out + r * rl : out + r, rl,
                    o, len, lq, lognk, st, r);
}

int nnrt_cuda_apx_segment(nnrt_cuda_ctx *c, int method, const float *dz, const int32_t *dids, const float *ddd,
                          int64_t dd_stride, float *dout, int64_t rows, int64_t rl, int64_t o, int64_t len,
                          const nnrt_cuda_apx *a, double lognk) {
    bool corr = method == NNRT_APX_NCE || method == NNRT_APX_SAMPLED;
    if (corr && (!a || !a->logq))
        return nnrt_error(NNRT_ERR_ARG, "nce/sampled loss: no noise on the device");
    if (rows <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_segment, nnrt_grid(rows, NNRT_BLOCK), NNRT_BLOCK, 0, method, dz, dids, ddd, dd_stride, dout,
                rows, rl, o, len, corr ? a->logq : NULL, lognk, c->status);
    return nnrt_cuda_check_launch("sampling loss");
}

/* ---------------------------------------------------------------- hier and class */

extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_hier(const int64_t *off, const int32_t *point, const uint8_t *code, int64_t V, int labels,
                nnrt_cuda_ints y, int64_t rows, int64_t len, int32_t *out, nnrt_dev_status *st) {
    NNRT_FOR_GRID(t, rows) {
        int64_t w = int_at(y, t);
        if (!id_ok(st, t, w, V))
            continue;
        int64_t o = off[w], n = off[w + 1] - o;
        int32_t *p = out + t * len;
        for (int64_t j = 0; j < len; j++) /* the root first, padded with the root (label -1) */
            p[j] = labels ? (j < n ? 1 - (int32_t)code[o + j] : -1) : (j < n ? point[o + j] : (int32_t)(V - 2));
    }
}

int nnrt_cuda_hier(nnrt_cuda_ctx *c, const nnrt_cuda_apx *a, int labels, nnrt_cuda_ints y, int64_t rows, int64_t len,
                   int32_t *dout) {
    if (!a->off)
        return nnrt_error(NNRT_ERR_ARG, "hier: no Huffman tree on the device");
    if (rows <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_hier, nnrt_grid(rows, NNRT_BLOCK), NNRT_BLOCK, 0, a->off, a->point, a->code, a->V, labels, y,
                rows, len, dout, c->status);
    return nnrt_cuda_check_launch("hier path");
}

extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_class_ids(const int32_t *word_class, const int32_t *start, int64_t V, nnrt_cuda_ints y, int64_t rows,
                     int64_t len, int32_t *out, nnrt_dev_status *st) {
    NNRT_FOR_GRID(t, rows) {
        int64_t w = int_at(y, t);
        if (!id_ok(st, t, w, V))
            continue;
        const int32_t s = start[word_class[w]], n = start[word_class[w] + 1] - s;
        for (int32_t j = 0; j < len; j++) /* y's class range, padded with its first id */
            out[t * len + j] = j < n ? s + j : s;
    }
}

int nnrt_cuda_class_ids(nnrt_cuda_ctx *c, const nnrt_cuda_apx *a, nnrt_cuda_ints y, int64_t rows, int64_t len,
                        int32_t *dout) {
    if (!a->start)
        return nnrt_error(NNRT_ERR_ARG, "class: no classes on the device");
    if (rows <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_class_ids, nnrt_grid(rows, NNRT_BLOCK), NNRT_BLOCK, 0, a->word_class, a->start,
                a->cV, y, rows, len, dout, c->status);
    return nnrt_cuda_check_launch("class ids");
}

/* class_loss / class_grad: a softmax over the level's part of z (the
 * classes, or y's class range), in double; t the target's place. A block
 * per row: the max and the sum by block reductions, the gradient's row
 * written by consecutive threads (a level's row is up to C or a class's
 * size long; a thread per row read and wrote rows zl floats apart) */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_class(const int32_t *word_class, const int32_t *word_index, const int32_t *start, int64_t V, int64_t C,
                 int level, const float *z, nnrt_cuda_ints y, const float *dd, int64_t dd_stride, float *out,
                 int64_t rows, int64_t zl, nnrt_dev_status *st) {
    __shared__ float shf[NNRT_BLOCK];
    __shared__ double sh[NNRT_BLOCK];
    NNRT_FOR_BLOCKS(r, rows) {
        int64_t w = int_at(y, r);
        const float *zr = z + r * zl;
        if (!id_ok(st, r, w, V)) /* the same for every thread */
            continue;
        int64_t k = word_class[w];
        const int64_t n = level == 0 ? C : start[k + 1] - start[k], t = level == 0 ? k : word_index[w];
        float m = -INFINITY;
        for (int64_t j = threadIdx.x; j < n; j += NNRT_BLOCK)
            m = nnrt_max_nan(m, zr[j]);
        const double mx = nnrt_block_max(m, shf);
        double s = 0.0;
        for (int64_t j = threadIdx.x; j < n; j += NNRT_BLOCK)
            s += exp(zr[j] - mx);
        s = nnrt_block_reduce(s, sh, nnrt_op_add());
        if (!dd) {
            if (threadIdx.x == 0)
                out[r] = (float)(mx + log(s) - zr[t]);
            continue;
        }
        const float d = dd[r * dd_stride];
        for (int64_t j = threadIdx.x; j < zl; j += NNRT_BLOCK)
            out[r * zl + j] = j < n ? d * (float)(exp(zr[j] - mx) / s - (j == t)) : 0.0f;
    }
}

int nnrt_cuda_class(nnrt_cuda_ctx *c, const nnrt_cuda_apx *a, int level, const float *dz, nnrt_cuda_ints y,
                    const float *ddd, int64_t dd_stride, float *dout, int64_t rows, int64_t zl) {
    if (!a->start)
        return nnrt_error(NNRT_ERR_ARG, "class: no classes on the device");
    if (rows <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_class, nnrt_grid(rows, 1), NNRT_BLOCK, 0, a->word_class, a->word_index, a->start,
                a->cV, a->C, level, dz, y, ddd, dd_stride, dout, rows, zl, c->status);
    return nnrt_cuda_check_launch("class loss");
}

/* ---------------------------------------------------------------- binary codes */

/* runtime/codes.c's convolutional code and normalizer are nnrt_hd.h's */

extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_bincode(nnrt_cuda_ints y, int64_t V, int64_t N, int bits, int64_t len, int64_t rows, int32_t *out,
                   nnrt_dev_status *st) {
    NNRT_FOR_GRID(r, rows) {
        int64_t w = int_at(y, r);
        if (!id_ok(st, r, w, V))
            continue;
        if (len == 0) { /* bin_slot */
            out[r] = (int32_t)(w < N ? w : N);
            continue;
        }
        int32_t *v = out + r * len;
        const int64_t c = w - N;
        if (w < N) {
            for (int64_t j = 0; j < len; j++)
                v[j] = -1;
        } else if (len == bits) { /* most significant bit first */
            for (int64_t j = 0; j < bits; j++)
                v[j] = (int32_t)((c >> (bits - 1 - j)) & 1);
        } else { /* nnrt_ecc_encode, punctured evenly: code bit j * total / len */
            const int64_t total = nnrt_ecc_len(bits);
            for (int64_t j = 0; j < len; j++) {
                int64_t b = j * total / len, t = b / 2;
                unsigned reg = 0;
                for (int64_t u = 0; u <= t; u++)
                    reg = ((reg << 1) | (u < bits ? (unsigned)((c >> (bits - 1 - u)) & 1) : 0u)) & 0x7fu;
                v[j] = nnrt_hd_parity7(reg & (b % 2 ? NNRT_ECC_G1 : NNRT_ECC_G0));
            }
        }
    }
}

int nnrt_cuda_bincode(nnrt_cuda_ctx *c, nnrt_cuda_ints y, int64_t V, int64_t N, int bits, int64_t len, int64_t rows,
                      int32_t *dout) {
    if (rows <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_bincode, nnrt_grid(rows, NNRT_BLOCK), NNRT_BLOCK, 0, y, V, N, bits, len, rows, dout,
                c->status);
    return nnrt_cuda_check_launch(len ? "bin code" : "bin slot");
}

extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_bin_logz(const float *z, nnrt_cuda_ints y, int64_t V, int64_t N, int bits, int n, int64_t rows,
                    int64_t zl, float *out, nnrt_dev_status *st) {
    NNRT_FOR_GRID(r, rows) {
        int64_t w = int_at(y, r);
        if (!id_ok(st, r, w, V))
            continue;
        const float *zr = z + r * zl;
        out[r] = w < N ? 0.0f : (float)nnrt_hd_code_logz(bits, zr, n, V - N);
    }
}

int nnrt_cuda_bin_logz(nnrt_cuda_ctx *c, const float *dz, nnrt_cuda_ints y, int64_t V, int64_t N, int bits, int n,
                       int64_t rows, int64_t zl, float *dout) {
    if (rows <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_bin_logz, nnrt_grid(rows, NNRT_BLOCK), NNRT_BLOCK, 0, dz, y, V, N, bits, n, rows, zl, dout,
                c->status);
    return nnrt_cuda_check_launch("bin logz");
}

/* ---------------------------------------------------------------- embed (von Mises-Fisher) */

/* A block per row: the three dot products by block reductions, the
 * gradient's row written by consecutive threads */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_vmf(const float *o, const float *e, const float *dd, int64_t dd_stride, float *out, int64_t rows,
               int64_t dim, double l1, double l2) {
    __shared__ double sh[NNRT_BLOCK];
    NNRT_FOR_BLOCKS(r, rows) {
        const float *orow = o + r * dim, *er = e + r * dim;
        double kk = 0.0, ee = 0.0, oe = 0.0;
        for (int64_t j = threadIdx.x; j < dim; j += NNRT_BLOCK) {
            kk += (double)orow[j] * orow[j];
            ee += (double)er[j] * er[j];
            oe += (double)orow[j] * er[j];
        }
        kk = nnrt_block_reduce(kk, sh, nnrt_op_add());
        ee = nnrt_block_reduce(ee, sh, nnrt_op_add());
        oe = nnrt_block_reduce(oe, sh, nnrt_op_add());
        const double ne = ee > 0.0 ? sqrt(ee) : 1.0, nu = (double)dim / 2.0 - 1.0,
                     rr = sqrt((nu + 1.0) * (nu + 1.0) + kk);
        if (!dd) {
            if (threadIdx.x == 0)
                out[r] = (float)(rr - (nu - 1.0) * log(nu - 1.0 + rr) - l2 * oe / ne + l1 * sqrt(kk));
            continue;
        }
        const double r1 = kk > 0.0 ? l1 / sqrt(kk) : 0.0;
        const float d = dd[r * dd_stride];
        for (int64_t j = threadIdx.x; j < dim; j += NNRT_BLOCK)
            out[r * dim + j] = d * (float)(orow[j] / (nu - 1.0 + rr) + r1 * orow[j] - l2 * er[j] / ne);
    }
}

int nnrt_cuda_vmf(nnrt_cuda_ctx *c, const float *dto, const float *dte, const float *ddd, int64_t dd_stride,
                  float *dout, int64_t rows, int64_t dim, double lambda1, double lambda2) {
    if (rows <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_vmf, nnrt_grid(rows, 1), NNRT_BLOCK, 0, dto, dte, ddd, dd_stride, dout, rows, dim,
                lambda1, lambda2);
    return nnrt_cuda_check_launch("vmf loss");
}
