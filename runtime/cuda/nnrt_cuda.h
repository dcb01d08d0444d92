/*
 * nnrt_cuda.h - the CUDA runtime of nngc: what code generated for
 * --target=cuda calls, and what an application sees of it: the CUDA
 * target's ABI header, the counterpart of nnrt_abi.h for the CPU, next to
 * the same nngrt.h (errors, descriptor, files). Plain C; the device side
 * (kernels, NNRT_LAUNCH, block reductions) is in nnrt_cuda_dev.cuh.
 *
 * The model of memory (docs/CUDA.md):
 *
 *   params   one device buffer per model (nnrt_cuda_buf), written from the
 *            host at load/init (nnrt_cuda_put) and read back at save
 *            (nnrt_cuda_get); between, they live on the device and only
 *            kernels touch them. Optimizer state likewise.
 *   context  per caller (nnrt_cuda_ctx): one stream, one cuBLAS handle,
 *            one device arena (a single cudaMalloc, sized by the
 *            compiler's liveness plan, so nothing is allocated per call),
 *            and one pinned host staging buffer for inputs and results.
 *   a call   nnrt_cuda_begin (resets the counters), one nnrt_cuda_upload
 *            per input (staged through pinned memory, cudaMemcpyAsync on
 *            the context's stream), the kernels and GEMMs, then
 *            nnrt_cuda_end with every result: all are downloaded into the
 *            pinned buffer with the device error word, the stream is
 *            synchronised once, errors are checked, the results copied
 *            out. nnrt_cuda_stats says what the call did.
 *
 * Errors as in nngrt.h: a code (NNRT_OK == 0) and nnrt_last_error(). No
 * CUDA driver or device is NNRT_ERR_DEVICE with a message that says so,
 * never a crash. An index out of range in a kernel (gather, scatter, a
 * label) is recorded in the context's device error word and reported by
 * nnrt_cuda_end as NNRT_ERR_RANGE, naming the operation.
 *
 * Pointers named d* are device pointers; the others are host pointers.
 */
#ifndef NNRT_CUDA_H
#define NNRT_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "nngrt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- devices */

/* NNRT_OK if a CUDA device can be used (the first one), else
 * NNRT_ERR_DEVICE: "no CUDA device: ..." with the driver's reason. */
int nnrt_cuda_probe(void);
/* "NAME (sm_XY, N MiB)" of the device, or "" before a successful probe */
const char *nnrt_cuda_device_name(void);

/* ---------------------------------------------------------------- buffers */

/* A device buffer that outlives calls: a model's params, optimizer state. */
int nnrt_cuda_alloc(void **dptr, size_t bytes);
void nnrt_cuda_free(void *dptr);
/* Synchronous whole-buffer copies, for load, init and save (not per call). */
int nnrt_cuda_put(void *dst, const void *src, size_t bytes);
int nnrt_cuda_get(void *dst, const void *dsrc, size_t bytes);

/* ---------------------------------------------------------------- contexts */

typedef struct nnrt_cuda_ctx nnrt_cuda_ctx;

/* What one call did (since nnrt_cuda_begin). */
typedef struct nnrt_cuda_stats {
    int64_t h2d_copies, h2d_bytes; /* host to device */
    int64_t d2h_copies, d2h_bytes; /* device to host */
    int64_t d2d_copies, d2d_bytes; /* device to device (nnrt_cuda_copy) */
    int64_t memsets;               /* nnrt_cuda_zero */
    int64_t launches;              /* kernels launched through NNRT_LAUNCH */
    int64_t gemms;                 /* GEMM calls (cuBLAS), a batched one counts once */
    int64_t zero_bytes;            /* bytes the zero fills wrote (nnrt_cuda_zero, _zero_rows) */
} nnrt_cuda_stats;

/* A context with an arena of arena_bytes on the device and a pinned
 * staging buffer of staging_bytes: at least the larger of the inputs of a
 * call together and its results together, each size rounded up to a
 * multiple of 16 (the error word's room is added here). NNRT_ERR_DEVICE
 * without a device. */
int nnrt_cuda_ctx_create(nnrt_cuda_ctx **out, size_t arena_bytes, size_t staging_bytes);
void nnrt_cuda_ctx_destroy(nnrt_cuda_ctx *c);
/* the arena (device memory, 256-byte aligned) */
void *nnrt_cuda_arena(nnrt_cuda_ctx *c);
/* the context's stream, as a cudaStream_t */
void *nnrt_cuda_stream(nnrt_cuda_ctx *c);
nnrt_cuda_stats nnrt_cuda_get_stats(const nnrt_cuda_ctx *c);

/* One copy of a call: host memory and device memory of bytes bytes. */
typedef struct nnrt_cuda_xfer {
    void *host;
    void *dev;
    size_t bytes;
} nnrt_cuda_xfer;

/* Starts a call: counters to zero, the staging buffer empty. */
void nnrt_cuda_begin(nnrt_cuda_ctx *c);
/* Copies an input to the device: into the staging buffer, then
 * cudaMemcpyAsync on the stream (no wait). */
int nnrt_cuda_upload(nnrt_cuda_ctx *c, void *ddst, const void *src, size_t bytes);
/* Ends a call: downloads the n results and the error word, waits for the
 * stream once, reports a kernel's range error or a CUDA failure, and
 * copies the results to their host memory. */
int nnrt_cuda_end(nnrt_cuda_ctx *c, const nnrt_cuda_xfer *results, int n);

/* Device-to-device copy and zero fill on the context's stream (no wait),
 * counted: what concat, slice and a zeroed gradient buffer need. */
int nnrt_cuda_copy(nnrt_cuda_ctx *c, void *ddst, const void *dsrc, size_t bytes);
int nnrt_cuda_zero(nnrt_cuda_ctx *c, void *ddst, size_t bytes);
/* Zero fill of rows ids[0..n) of a table of vrows rows of cols floats
 * (a sparse gradient's rows of the last call; repeats allowed, an id out
 * of range skipped); n < 0: the whole table. Counted as one zero fill of
 * n rows' bytes, n = 0 included (what nngc --stats counts). */
int nnrt_cuda_zero_rows(nnrt_cuda_ctx *c, float *ddst, int64_t vrows, int64_t cols, const int32_t *dids, int64_t n);

/* ---------------------------------------------------------------- math */

/* Row-major C[M,N] = alpha op(A) op(B) + beta C, op(X) = X or X^T, row
 * strides lda/ldb/ldc: nnrt_gemm's semantics (nngrt.h), on device
 * matrices, through cuBLAS (the transpose identity: a row-major product is
 * the column-major product of the transposes, operands swapped). beta == 0
 * never reads C. A size or stride beyond cuBLAS's int, or a stride shorter
 * than a row, is NNRT_ERR_ARG. */
int nnrt_cuda_gemm(nnrt_cuda_ctx *c, int transa, int transb, int64_t M, int64_t N, int64_t K, float alpha,
                   const float *dA, int64_t lda, const float *dB, int64_t ldb, float beta, float *dC, int64_t ldc);
/* batch products, the i-th of A + i*sa, B + i*sb, C + i*sc (strides in floats) */
int nnrt_cuda_gemm_batched(nnrt_cuda_ctx *c, int transa, int transb, int64_t M, int64_t N, int64_t K, float alpha,
                           const float *dA, int64_t lda, int64_t sa, const float *dB, int64_t ldb, int64_t sb,
                           float beta, float *dC, int64_t ldc, int64_t sc, int64_t batch);

/* Row kernels over rows x n (rows n floats apart), one block per row:
 * softmax and log-softmax (out may be z), logsumexp (out: rows floats).
 * Same edge cases as runtime/softmax.c: a row with an infinite or NaN
 * maximum gives NaN probabilities and logsumexp = that maximum. */
int nnrt_cuda_softmax_rows(nnrt_cuda_ctx *c, const float *dz, float *dout, int64_t rows, int64_t n);
int nnrt_cuda_log_softmax_rows(nnrt_cuda_ctx *c, const float *dz, float *dout, int64_t rows, int64_t n);
int nnrt_cuda_logsumexp_rows(nnrt_cuda_ctx *c, const float *dz, float *dout, int64_t rows, int64_t n);
/* Cross-entropy of each row against its label: loss[r] = logsumexp(z[r])
 * - z[r, y[r]]; and its gradient with respect to the logits, scaled by the
 * gradient dl of the loss (dl[r * dl_stride]; dl_stride 0 for one scalar):
 * dz[r, j] = (softmax(z[r])[j] - (j == y[r])) * dl. A label outside [0, n)
 * is a range error at nnrt_cuda_end. */
int nnrt_cuda_xent_rows(nnrt_cuda_ctx *c, const float *dz, const int32_t *dy, float *dloss, int64_t rows,
                        int64_t n);
int nnrt_cuda_xent_grad_rows(nnrt_cuda_ctx *c, const float *dz, const int32_t *dy, const float *ddl,
                             int64_t dl_stride, float *ddz, int64_t rows, int64_t n);

/* Embedding lookup: out[r, :] = table[ids[r], :] for r < n (table has
 * vrows rows of cols floats). An id outside [0, vrows) is a range error at
 * nnrt_cuda_end; its row is not read. */
int nnrt_cuda_gather_rows(nnrt_cuda_ctx *c, const float *dtable, int64_t vrows, int64_t cols, const int32_t *dids,
                          int64_t n, float *dout);
/* Its sparse gradient: dst[ids[r], :] += src[r, :] for r = 0, 1, ..., n-1,
 * in that order for each row (the same sums, rounded alike, as the CPU
 * code; a block per distinct id, no atomics). zero_first: the rows listed are zeroed first. */
int nnrt_cuda_scatter_add_rows(nnrt_cuda_ctx *c, float *ddst, int64_t vrows, int64_t cols, const int32_t *dids,
                               int64_t n, const float *dsrc, int zero_first);

/* The optimizers of runtime/optim.c (PyTorch's rules), on device arrays,
 * bit for bit the same floats as the CPU code: the scalars are computed on
 * the host exactly as there, and the kernels use unfused, rounded float
 * operations. The _ids forms update rows ids[0..n) of a table of vrows
 * rows once each however often they are listed (the first entry of a row
 * does it; ids are not reordered; one outside [0, vrows) is a range error
 * at nnrt_cuda_end): a sparse gradient's rows. _ids_clear also zeroes the
 * gradient rows it applied, as nnrt_sgd_update_ids_clear. */
int nnrt_cuda_sgd_update(nnrt_cuda_ctx *c, float *dw, const float *dg, int64_t n, float lr);
int nnrt_cuda_sgd_update_ids(nnrt_cuda_ctx *c, float *dw, const float *dg, int64_t vrows, int64_t cols,
                             const int32_t *dids, int64_t n, float lr);
int nnrt_cuda_sgd_update_ids_clear(nnrt_cuda_ctx *c, float *dw, float *dg, int64_t vrows, int64_t cols,
                                   const int32_t *dids, int64_t n, float lr);
int nnrt_cuda_adagrad_update_ids(nnrt_cuda_ctx *c, float *dw, const float *dg, float *dsum, int64_t vrows,
                                 int64_t cols, const int32_t *dids, int64_t n, double lr, double eps);
int nnrt_cuda_adam_update(nnrt_cuda_ctx *c, float *dw, const float *dg, float *dm, float *dv, int64_t n, double lr,
                          double beta1, double beta2, double eps, int64_t step);
int nnrt_cuda_adagrad_update(nnrt_cuda_ctx *c, float *dw, const float *dg, float *dsum, int64_t n, double lr,
                             double eps);

/* ---------------------------------------------------------------- softmax approximations */

/* The structures of nnrt_approx.h (built on the host from the word counts)
 * on the device, resident: the noise's alias table, hier's Huffman tree,
 * class's classes. A NULL pointer: the model has no such structure. */
typedef struct nnrt_cuda_apx {
    int64_t n;            /* noise: the vocabulary (0: none) */
    double *prob, *logq;  /* [n] */
    int32_t *alias;       /* [n] */
    int64_t V;            /* tree: the vocabulary (0: none) */
    int64_t *off;         /* [V + 1] */
    int32_t *point;       /* [off[V]] */
    uint8_t *code;        /* [off[V]] */
    int64_t C, cV;        /* classes: their number (0: none), the vocabulary */
    int32_t *word_class, *word_index, *start; /* [cV], [cV], [C + 1] */
} nnrt_cuda_apx;

struct nnrt_alias;
struct nnrt_huffman;
struct nnrt_classes;
/* Uploads the structures given (NULL: none), replacing d's (freed first;
 * synchronous: at the first call after create or NAME_set_counts). */
int nnrt_cuda_apx_put(nnrt_cuda_apx *d, const struct nnrt_alias *noise, const struct nnrt_huffman *tree,
                      const struct nnrt_classes *cl);
void nnrt_cuda_apx_free(nnrt_cuda_apx *d);

/* An int of each row: d[r] on the device, or (d NULL) the host value h for
 * every row (a kernel argument). */
typedef struct nnrt_cuda_ints {
    const int32_t *d;
    int64_t h;
} nnrt_cuda_ints;
static inline nnrt_cuda_ints nnrt_cuda_ints_dev(const int32_t *d) {
    nnrt_cuda_ints v = {d, 0};
    return v;
}
static inline nnrt_cuda_ints nnrt_cuda_ints_host(int64_t h) {
    nnrt_cuda_ints v = {NULL, h};
    return v;
}

/* The ops of compiler/backend/c_approx.c, with its semantics and its
 * float and double arithmetic, on rows rows (a position each; an unbatched
 * op is one row), one thread per row. A word id out of range is a range
 * error at nnrt_cuda_end (the host checks a host value before the launch). */

/* sample: row r of out ([rows, k + 1]) is ops[0] then k draws of the noise
 * from the stream nnrt_rng_stream(seed, step, key), key = site, then
 * key * 1000003 + ops[j] for j = 1 .. nops - 1 (nops <= NNRT_CUDA_MAXOPS):
 * the C target's draws, id for id. */
#define NNRT_CUDA_MAXOPS 8
int nnrt_cuda_sample(nnrt_cuda_ctx *c, const nnrt_cuda_apx *a, uint64_t seed, uint64_t step, int64_t site,
                     const nnrt_cuda_ints *ops, int nops, int64_t rows, int64_t k, int32_t *dout);
/* Waits for c's stream, then nnrt_cuda_get: a test's look at a value in
 * the middle of a call (NNGC_SAMPLE_HOOK), not for production code. */
int nnrt_cuda_get_now(nnrt_cuda_ctx *c, void *dst, const void *dsrc, size_t bytes);
/* A segment loss (dd NULL: out[r] = the loss) or its gradient (out row r of
 * rl floats = dd[r * dd_stride] d loss / d z row r) of z's and ids' rows of
 * rl, the segment [o, o + len): NNRT_APX_NEG, NCE, SAMPLED (logq: the
 * noise's; lognk = log(len - 1) for nce) or LOGISTIC (the whole row, ids
 * the labels, -1 skipped). */
enum { NNRT_APX_NEG = 0, NNRT_APX_NCE = 1, NNRT_APX_SAMPLED = 2, NNRT_APX_LOGISTIC = 3 };
int nnrt_cuda_apx_segment(nnrt_cuda_ctx *c, int method, const float *dz, const int32_t *dids, const float *ddd,
                          int64_t dd_stride, float *dout, int64_t rows, int64_t rl, int64_t o, int64_t len,
                          const nnrt_cuda_apx *a, double lognk);
/* hier_path (labels 0) or hier_labels (labels 1) of y: out [rows, len] */
int nnrt_cuda_hier(nnrt_cuda_ctx *c, const nnrt_cuda_apx *a, int labels, nnrt_cuda_ints y, int64_t rows, int64_t len,
                   int32_t *dout);
/* class_ids of y: out [rows, len] */
int nnrt_cuda_class_ids(nnrt_cuda_ctx *c, const nnrt_cuda_apx *a, nnrt_cuda_ints y, int64_t rows, int64_t len,
                        int32_t *dout);
/* class_loss / class_grad (dd not NULL) of level 0 (classes) or 1 (words) */
int nnrt_cuda_class(nnrt_cuda_ctx *c, const nnrt_cuda_apx *a, int level, const float *dz, nnrt_cuda_ints y,
                    const float *ddd, int64_t dd_stride, float *dout, int64_t rows, int64_t zl);
/* bin_code (of `bits` bits, hybrid ids below N; len > bits: the ecc code
 * punctured to len), bin_slot (len 0: out[r] = min(y, N)) */
int nnrt_cuda_bincode(nnrt_cuda_ctx *c, nnrt_cuda_ints y, int64_t V, int64_t N, int bits, int64_t len, int64_t rows,
                      int32_t *dout);
/* bin_logz: out[r] = y < N ? 0 : nnrt_code_logz(bits, z row r (of zl), n, V - N) */
int nnrt_cuda_bin_logz(nnrt_cuda_ctx *c, const float *dz, nnrt_cuda_ints y, int64_t V, int64_t N, int bits, int n,
                       int64_t rows, int64_t zl, float *dout);
/* vmf_loss / vmf_grad (dd not NULL) of o and e rows of dim */
int nnrt_cuda_vmf(nnrt_cuda_ctx *c, const float *dto, const float *dte, const float *ddd, int64_t dd_stride,
                  float *dout, int64_t rows, int64_t dim, double lambda1, double lambda2);

#ifdef __cplusplus
}
#endif
#endif /* NNRT_CUDA_H */
