/*
 * kernels.cu - the runtime's kernels and their host wrappers: softmax,
 * log-softmax, logsumexp and cross-entropy over rows; gather and
 * scatter-add of rows (embedding lookup and its sparse gradient); the
 * SGD, Adam and Adagrad updates (dense, and on the rows a sparse gradient
 * lists), the zeroing of a sparse gradient's rows. See nnrt_cuda.h for what each computes
 * and nnrt_cuda_dev.cuh for the conventions every kernel follows.
 */
#include <math.h>

#include "nnrt_cuda_dev.cuh"

/* ---------------------------------------------------------------- rows */

/* Max m and sum s = sum exp(z - m) of a row, to every thread of the block
 * (s = 0 when m is not finite: there is no distribution). */
__device__ static inline void row_stats(const float *zr, int64_t n, float *sh, float *m_out, float *s_out) {
    float m = -INFINITY;
    for (int64_t j = threadIdx.x; j < n; j += NNRT_BLOCK)
        m = nnrt_max_nan(m, zr[j]);
    m = nnrt_block_max(m, sh);
    float s = 0.0f;
    if (m - m == 0.0f) /* finite; the same for every thread */
        for (int64_t j = threadIdx.x; j < n; j += NNRT_BLOCK)
            s += expf(zr[j] - m);
    *s_out = nnrt_block_sum(s, sh);
    *m_out = m;
}

/* log-sum-exp from row_stats: +inf, -inf or NaN maxima stand for themselves */
__device__ static inline float stats_lse(float m, float s) { return m - m == 0.0f ? m + logf(s) : m; }

enum { ROW_SOFTMAX = 0, ROW_LOG_SOFTMAX = 1, ROW_LSE = 2 };

extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_rows(const float *z, float *out, int64_t rows, int64_t n, int mode) {
    __shared__ float sh[NNRT_BLOCK];
    NNRT_FOR_BLOCKS(r, rows) {
        const float *zr = z + r * n;
        float m, s;
        row_stats(zr, n, sh, &m, &s);
        if (mode == ROW_LSE) {
            if (threadIdx.x == 0)
                out[r] = stats_lse(m, s);
        } else if (mode == ROW_LOG_SOFTMAX) {
            float lse = stats_lse(m, s);
            for (int64_t j = threadIdx.x; j < n; j += NNRT_BLOCK)
                out[r * n + j] = zr[j] - lse;
        } else {
            float inv = m - m == 0.0f ? 1.0f / s : NAN;
            for (int64_t j = threadIdx.x; j < n; j += NNRT_BLOCK)
                out[r * n + j] = expf(zr[j] - m) * inv;
        }
    }
}

/* loss[r] = lse(z[r]) - z[r, y[r]]  (grad == NULL), or
 * dz[r, j] = (softmax(z[r])[j] - (j == y[r])) * dl[r * dl_stride] */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_xent(const float *z, const int32_t *y, float *loss, const float *dl, int64_t dl_stride, float *dz,
                int64_t rows, int64_t n, nnrt_dev_status *st) {
    __shared__ float sh[NNRT_BLOCK];
    NNRT_FOR_BLOCKS(r, rows) {
        const float *zr = z + r * n;
        float m, s;
        row_stats(zr, n, sh, &m, &s);
        int64_t label = y[r];
        bool ok = label >= 0 && label < n;
        if (!ok && threadIdx.x == 0)
            nnrt_dev_range_error(st, NNRT_DEV_LABEL, r, label, n);
        if (!dz) {
            if (threadIdx.x == 0)
                loss[r] = ok ? stats_lse(m, s) - zr[label] : NAN;
            continue;
        }
        float g = dl[r * dl_stride], inv = m - m == 0.0f ? 1.0f / s : NAN;
        for (int64_t j = threadIdx.x; j < n; j += NNRT_BLOCK)
            dz[r * n + j] = (expf(zr[j] - m) * inv - (j == label ? 1.0f : 0.0f)) * g;
    }
}

static int rows_launch(nnrt_cuda_ctx *c, const float *dz, float *dout, int64_t rows, int64_t n, int mode,
                       const char *what) {
    if (rows <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_rows, nnrt_grid(rows, 1), NNRT_BLOCK, 0, dz, dout, rows, n, mode);
    return nnrt_cuda_check_launch(what);
}

int nnrt_cuda_softmax_rows(nnrt_cuda_ctx *c, const float *dz, float *dout, int64_t rows, int64_t n) {
    return rows_launch(c, dz, dout, rows, n, ROW_SOFTMAX, "softmax");
}

int nnrt_cuda_log_softmax_rows(nnrt_cuda_ctx *c, const float *dz, float *dout, int64_t rows, int64_t n) {
    return rows_launch(c, dz, dout, rows, n, ROW_LOG_SOFTMAX, "log-softmax");
}

int nnrt_cuda_logsumexp_rows(nnrt_cuda_ctx *c, const float *dz, float *dout, int64_t rows, int64_t n) {
    return rows_launch(c, dz, dout, rows, n, ROW_LSE, "logsumexp");
}

int nnrt_cuda_xent_rows(nnrt_cuda_ctx *c, const float *dz, const int32_t *dy, float *dloss, int64_t rows,
                        int64_t n) {
    if (rows <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_xent, nnrt_grid(rows, 1), NNRT_BLOCK, 0, dz, dy, dloss, (const float *)NULL, (int64_t)0,
                (float *)NULL, rows, n, c->status);
    return nnrt_cuda_check_launch("cross-entropy");
}

int nnrt_cuda_xent_grad_rows(nnrt_cuda_ctx *c, const float *dz, const int32_t *dy, const float *ddl,
                             int64_t dl_stride, float *ddz, int64_t rows, int64_t n) {
    if (rows <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_xent, nnrt_grid(rows, 1), NNRT_BLOCK, 0, dz, dy, (float *)NULL, ddl, dl_stride, ddz, rows,
                n, c->status);
    return nnrt_cuda_check_launch("cross-entropy gradient");
}

/* ---------------------------------------------------------------- gather / scatter */

extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_gather(const float *table, int64_t vrows, int64_t cols, const int32_t *ids, int64_t n, float *out,
                  nnrt_dev_status *st) {
    NNRT_FOR_GRID(i, n * cols) {
        int64_t r = i / cols, j = i - r * cols, id = ids[r];
        if (id < 0 || id >= vrows) {
            if (j == 0)
                nnrt_dev_range_error(st, NNRT_DEV_GATHER, r, id, vrows);
            continue;
        }
        out[i] = table[id * cols + j];
    }
}

/* The row the block of entry k of an id list works on: ids[k], or -1 when
 * an earlier entry lists the same id (its block has the row; the block's
 * threads scan ids[0..k) together) or the id is out of range (reported
 * as error `what`). Every thread gets the answer (a block reduction: call
 * it from all of them). */
__device__ static int64_t first_listed(const int32_t *ids, int64_t k, int64_t vrows, int what, nnrt_dev_status *st,
                                       float *sh) {
    int64_t id = ids[k];
    float seen = 0.0f;
    for (int64_t p = threadIdx.x; p < k; p += NNRT_BLOCK)
        seen = ids[p] == id ? 1.0f : seen;
    seen = nnrt_block_max(seen, sh);
    if (id < 0 || id >= vrows) {
        if (threadIdx.x == 0)
            nnrt_dev_range_error(st, what, k, id, vrows);
        return -1;
    }
    return seen != 0.0f ? -1 : id;
}

/* s + src[hits[0] * cols] + src[hits[1] * cols] + ..., added in that
 * order, the loads eight at a time: a row listed thousands of times (the
 * root that pads batched hier's paths: 4000 of its 6400 nodes) was a chain
 * of dependent load-and-adds, each waiting for its load. */
__device__ static inline float add_rows_in_order(float s, const float *src, int64_t cols, const int64_t *hits,
                                                 int nhits) {
    int q = 0;
    for (; q + 8 <= nhits; q += 8) {
        float a[8];
        for (int u = 0; u < 8; u++)
            a[u] = src[hits[q + u] * cols];
        for (int u = 0; u < 8; u++)
            s += a[u];
    }
    for (; q < nhits; q++)
        s += src[hits[q] * cols];
    return s;
}

/* A block per entry k of the list whose id no earlier entry has: it adds
 * every row r >= k listing that id into the id's row, in the order of r,
 * so each row's sums are the CPU's, rounded alike, and no two blocks write
 * one row (no atomics). The blocks of later entries of an id find it
 * earlier in the list (first_listed) and stop. The block reads the rest
 * of the list NNRT_BLOCK entries at a time, a thread an entry, and lists
 * a chunk's rows of the id in order in shared memory (a prefix sum of the
 * hits), then each thread adds them to its columns of the row, once per
 * chunk (a list is read once, however wide the rows). Before (until
 * 2026-12-04), each column's thread read the whole rest of the list
 * itself: batched hier's 6400 path nodes took 1.2 ms per scatter on an
 * H200; before that, a thread per column added all n rows. */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_scatter_add(float *dst, int64_t vrows, int64_t cols, const int32_t *ids, int64_t n, const float *src,
                       int zero_first, nnrt_dev_status *st) {
    __shared__ float sh[NNRT_BLOCK];
    __shared__ int scan[NNRT_BLOCK];
    __shared__ int64_t hits[NNRT_BLOCK]; /* the rows of one chunk that list the id, in order */
    NNRT_FOR_BLOCKS(k, n) {
        int64_t id = first_listed(ids, k, vrows, NNRT_DEV_SCATTER, st, sh);
        if (id < 0)
            continue;
        float *d = dst + id * cols; /* each thread's columns j are its own across the chunks */
        for (int64_t j = threadIdx.x; zero_first && j < cols; j += NNRT_BLOCK)
            d[j] = 0.0f;
        for (int64_t c = k; c < n; c += NNRT_BLOCK) {
            int64_t r = c + threadIdx.x;
            int hit = r < n && ids[r] == id, nhits;
            int at = nnrt_block_scan(hit, scan, &nhits);
            if (hit)
                hits[at - 1] = r;
            __syncthreads();
            /* (the next chunk's scan syncs before hits is rewritten) */
            for (int64_t j = threadIdx.x; j < cols; j += NNRT_BLOCK)
                d[j] = add_rows_in_order(d[j], src + j, cols, hits, nhits);
        }
    }
}

int nnrt_cuda_gather_rows(nnrt_cuda_ctx *c, const float *dtable, int64_t vrows, int64_t cols, const int32_t *dids,
                          int64_t n, float *dout) {
    if (n <= 0 || cols <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_gather, nnrt_grid(n * cols, NNRT_BLOCK), NNRT_BLOCK, 0, dtable, vrows, cols, dids, n, dout,
                c->status);
    return nnrt_cuda_check_launch("gather");
}

int nnrt_cuda_scatter_add_rows(nnrt_cuda_ctx *c, float *ddst, int64_t vrows, int64_t cols, const int32_t *dids,
                               int64_t n, const float *dsrc, int zero_first) {
    if (n <= 0 || cols <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_scatter_add, nnrt_grid(n, 1), NNRT_BLOCK, 0, ddst, vrows, cols, dids, n, dsrc,
                zero_first, c->status);
    return nnrt_cuda_check_launch("scatter-add");
}

/* ---------------------------------------------------------------- optimizers */

/* The operations of runtime/optim.c one by one, each rounded, none fused. */

extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_sgd(float *w, const float *g, int64_t n, float lr) {
    NNRT_FOR_GRID(i, n)
        w[i] = __fsub_rn(w[i], __fmul_rn(lr, g[i]));
}

/* Adagrad on one element, as runtime/optim.c's adagrad_loop */
__device__ static inline void adagrad_elem(float *w, const float *g, float *sum, int64_t i, float neg_lr, float e) {
    float gi = g[i];
    float si = __fadd_rn(sum[i], __fmul_rn(gi, gi));
    float sd = __fadd_rn(__fsqrt_rn(si), e);
    sum[i] = si;
    w[i] = __fadd_rn(w[i], __fdiv_rn(__fmul_rn(neg_lr, gi), sd));
}

enum { IDS_SGD = 0, IDS_SGD_CLEAR = 1, IDS_ADAGRAD = 2 };

/* The optimizer on the rows a sparse gradient lists, one block per entry
 * of the list. Duplicate ids: a row is updated once, by the block of its
 * first entry; the block of a later entry finds the same id earlier in
 * the list (first_listed) and skips it, so no two blocks write one row and no atomics are needed.
 * IDS_SGD_CLEAR also zeroes the gradient row it applied (the C target's
 * nnrt_sgd_update_ids_clear): the next call has no row to zero. One
 * kernel per mode (a template: a mode as an argument made ptxas spill). */
template <int MODE>
__global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_update_ids(float *w, float *g, float *sum, int64_t vrows, int64_t cols, const int32_t *ids, int64_t n,
                      float lr, float e, nnrt_dev_status *st) {
    __shared__ float sh[NNRT_BLOCK];
    NNRT_FOR_BLOCKS(k, n) {
        int64_t id = first_listed(ids, k, vrows, NNRT_DEV_SGD_IDS, st, sh);
        if (id < 0)
            continue;
        float *wr = w + id * cols, *gr = g + id * cols;
        for (int64_t j = threadIdx.x; j < cols; j += NNRT_BLOCK) {
            if (MODE == IDS_ADAGRAD) {
                adagrad_elem(wr, gr, sum + id * cols, j, lr, e);
                continue;
            }
            wr[j] = __fsub_rn(wr[j], __fmul_rn(lr, gr[j]));
            if (MODE == IDS_SGD_CLEAR)
                gr[j] = 0.0f;
        }
    }
}

/* zero rows ids[0..n) of a table (a repeated id writes its zeros twice; an
 * id out of range was reported by the scatter that listed it: skipped) */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_zero_rows(float *d, int64_t vrows, int64_t cols, const int32_t *ids, int64_t n) {
    NNRT_FOR_GRID(i, n * cols) {
        int64_t r = i / cols, id = ids[r];
        if (id >= 0 && id < vrows)
            d[id * cols + (i - r * cols)] = 0.0f;
    }
}

extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_adam(float *w, const float *g, float *m, float *v, int64_t n, float b1, float b2, float a1, float a2,
                float neg_step, float bc2_sqrt, float e) {
    NNRT_FOR_GRID(i, n) {
        float gi = g[i];
        float mi = __fadd_rn(__fmul_rn(m[i], b1), __fmul_rn(a1, gi));
        float vi = __fadd_rn(__fmul_rn(v[i], b2), __fmul_rn(__fmul_rn(a2, gi), gi));
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2_sqrt), e);
        m[i] = mi, v[i] = vi;
        w[i] = __fadd_rn(w[i], __fdiv_rn(__fmul_rn(neg_step, mi), denom));
    }
}

extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_adagrad(float *w, const float *g, float *sum, int64_t n, float neg_lr, float e) {
    NNRT_FOR_GRID(i, n)
        adagrad_elem(w, g, sum, i, neg_lr, e);
}

int nnrt_cuda_sgd_update(nnrt_cuda_ctx *c, float *dw, const float *dg, int64_t n, float lr) {
    if (n <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_sgd, nnrt_grid(n, NNRT_BLOCK), NNRT_BLOCK, 0, dw, dg, n, lr);
    return nnrt_cuda_check_launch("SGD update");
}

static int update_ids(nnrt_cuda_ctx *c, float *dw, float *dg, float *dsum, int64_t vrows, int64_t cols,
                      const int32_t *dids, int64_t n, float lr, float e, int mode, const char *what) {
    if (n <= 0 || cols <= 0)
        return NNRT_OK;
    if (mode == IDS_ADAGRAD)
        NNRT_LAUNCH(c, nnrt_k_update_ids<IDS_ADAGRAD>, nnrt_grid(n, 1), NNRT_BLOCK, 0, dw, dg, dsum, vrows, cols, dids,
                    n, lr, e, c->status);
    else if (mode == IDS_SGD_CLEAR)
        NNRT_LAUNCH(c, nnrt_k_update_ids<IDS_SGD_CLEAR>, nnrt_grid(n, 1), NNRT_BLOCK, 0, dw, dg, dsum, vrows, cols,
                    dids, n, lr, e, c->status);
    else
        NNRT_LAUNCH(c, nnrt_k_update_ids<IDS_SGD>, nnrt_grid(n, 1), NNRT_BLOCK, 0, dw, dg, dsum, vrows, cols, dids, n,
                    lr, e, c->status);
    return nnrt_cuda_check_launch(what);
}

int nnrt_cuda_sgd_update_ids(nnrt_cuda_ctx *c, float *dw, const float *dg, int64_t vrows, int64_t cols,
                             const int32_t *dids, int64_t n, float lr) {
    return update_ids(c, dw, (float *)dg, NULL, vrows, cols, dids, n, lr, 0.0f, IDS_SGD, "sparse SGD update");
}

int nnrt_cuda_sgd_update_ids_clear(nnrt_cuda_ctx *c, float *dw, float *dg, int64_t vrows, int64_t cols,
                                   const int32_t *dids, int64_t n, float lr) {
    return update_ids(c, dw, dg, NULL, vrows, cols, dids, n, lr, 0.0f, IDS_SGD_CLEAR, "sparse SGD update");
}

int nnrt_cuda_adagrad_update_ids(nnrt_cuda_ctx *c, float *dw, const float *dg, float *dsum, int64_t vrows,
                                 int64_t cols, const int32_t *dids, int64_t n, double lr, double eps) {
    return update_ids(c, dw, (float *)dg, dsum, vrows, cols, dids, n, (float)-lr, (float)eps, IDS_ADAGRAD,
                      "sparse Adagrad update");
}

int nnrt_cuda_zero_rows(nnrt_cuda_ctx *c, float *ddst, int64_t vrows, int64_t cols, const int32_t *dids, int64_t n) {
    if (n < 0) /* every row */
        return nnrt_cuda_zero(c, ddst, (size_t)(vrows * cols) * sizeof(float));
    if (vrows <= 0 || cols <= 0)
        return NNRT_OK;
    c->stats.memsets++, c->stats.zero_bytes += n * cols * (int64_t)sizeof(float); /* counted with no row too */
    if (n == 0)
        return NNRT_OK;
    NNRT_KLAUNCH(nnrt_k_zero_rows, nnrt_grid(n * cols, NNRT_BLOCK), NNRT_BLOCK, 0, c->stream, ddst, vrows, cols, dids,
                 n);
    return nnrt_cuda_check_launch("zero rows");
}

int nnrt_cuda_adam_update(nnrt_cuda_ctx *c, float *dw, const float *dg, float *dm, float *dv, int64_t n, double lr,
                          double beta1, double beta2, double eps, int64_t step) {
    if (n <= 0)
        return NNRT_OK;
    /* the scalars exactly as nnrt_adam_update computes them */
    double bc1 = 1.0 - pow(beta1, (double)step);
    double bc2 = 1.0 - pow(beta2, (double)step);
    const float b1 = (float)beta1, b2 = (float)beta2, a1 = (float)(1.0 - beta1), a2 = (float)(1.0 - beta2);
    const float neg_step = (float)(-(lr / bc1)), bc2_sqrt = (float)sqrt(bc2), e = (float)eps;
    NNRT_LAUNCH(c, nnrt_k_adam, nnrt_grid(n, NNRT_BLOCK), NNRT_BLOCK, 0, dw, dg, dm, dv, n, b1, b2, a1, a2, neg_step,
                bc2_sqrt, e);
    return nnrt_cuda_check_launch("Adam update");
}

int nnrt_cuda_adagrad_update(nnrt_cuda_ctx *c, float *dw, const float *dg, float *dsum, int64_t n, double lr,
                             double eps) {
    if (n <= 0)
        return NNRT_OK;
    NNRT_LAUNCH(c, nnrt_k_adagrad, nnrt_grid(n, NNRT_BLOCK), NNRT_BLOCK, 0, dw, dg, dsum, n, (float)-lr, (float)eps);
    return nnrt_cuda_check_launch("Adagrad update");
}
