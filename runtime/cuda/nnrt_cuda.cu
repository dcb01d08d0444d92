/*
 * nnrt_cuda.cu - the host side of the CUDA runtime: the device probe,
 * buffers, contexts (stream, cuBLAS handle, arena, pinned staging), the
 * copies of a call with their counters, and GEMM through cuBLAS with
 * nnrt_gemm's row-major semantics. See nnrt_cuda.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnrt_approx.h"
#include "nnrt_cuda_dev.cuh"

int nnrt_cuda_check(cudaError_t e, const char *what) {
    if (e == cudaSuccess)
        return NNRT_OK;
    cudaGetLastError(); /* clear it, unless it is sticky */
    return nnrt_error(NNRT_ERR_DEVICE, "%s: %s", what, cudaGetErrorString(e));
}

int nnrt_cuda_check_launch(const char *what) { return nnrt_cuda_check(cudaGetLastError(), what); }

/* ---------------------------------------------------------------- devices */

static char device_name[300];

int nnrt_cuda_probe(void) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        cudaGetLastError();
        return nnrt_error(NNRT_ERR_DEVICE,
                          "no CUDA device: %s (cudaGetDeviceCount: %s); this program was compiled for "
                          "--target=cuda and needs an NVIDIA GPU with its driver",
                          e == cudaSuccess ? "the driver reports none" : cudaGetErrorString(e),
                          e == cudaSuccess ? "0 devices" : cudaGetErrorName(e));
    }
    cudaDeviceProp p;
    e = cudaGetDeviceProperties(&p, 0);
    if (e != cudaSuccess)
        return nnrt_cuda_check(e, "no CUDA device: cudaGetDeviceProperties");
    snprintf(device_name, sizeof device_name, "%s (sm_%d%d, %zu MiB)", p.name, p.major, p.minor,
             p.totalGlobalMem >> 20);
    return nnrt_cuda_check(cudaSetDevice(0), "cudaSetDevice");
}

const char *nnrt_cuda_device_name(void) { return device_name; }

/* ---------------------------------------------------------------- buffers */

int nnrt_cuda_alloc(void **dptr, size_t bytes) {
    *dptr = NULL;
    int rc = nnrt_cuda_probe();
    if (rc != NNRT_OK)
        return rc;
    cudaError_t e = cudaMalloc(dptr, bytes ? bytes : 1);
    if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        return nnrt_error(NNRT_ERR_NOMEM, "out of device memory for %zu bytes", bytes);
    }
    return nnrt_cuda_check(e, "cudaMalloc");
}

void nnrt_cuda_free(void *dptr) {
    if (dptr)
        cudaFree(dptr);
}

int nnrt_cuda_put(void *ddst, const void *src, size_t bytes) {
    return nnrt_cuda_check(cudaMemcpy(ddst, src, bytes, cudaMemcpyHostToDevice), "copy to the device");
}

int nnrt_cuda_get(void *dst, const void *dsrc, size_t bytes) {
    return nnrt_cuda_check(cudaMemcpy(dst, dsrc, bytes, cudaMemcpyDeviceToHost), "copy from the device");
}

/* ---------------------------------------------------------------- contexts */

enum { STATUS_ALIGN = 256 };

static int clear_status(nnrt_cuda_ctx *c) {
    nnrt_dev_status none;
    memset(&none, 0, sizeof none);
    none.key = ~0ULL;
    return nnrt_cuda_put(c->status, &none, sizeof none);
}

int nnrt_cuda_ctx_create(nnrt_cuda_ctx **out, size_t arena_bytes, size_t staging_bytes) {
    *out = NULL;
    int rc = nnrt_cuda_probe();
    if (rc != NNRT_OK)
        return rc;
    nnrt_cuda_ctx *c = (nnrt_cuda_ctx *)calloc(1, sizeof *c);
    if (!c)
        return nnrt_error(NNRT_ERR_NOMEM, "out of memory for a CUDA context");
    size_t abytes = (arena_bytes + STATUS_ALIGN - 1) / STATUS_ALIGN * STATUS_ALIGN;
    c->arena_bytes = arena_bytes;
    c->staging_bytes = staging_bytes + ((sizeof(nnrt_dev_status) + 15) & ~(size_t)15); /* the error word, 16-aligned */
    /* one cudaMalloc: the arena, then the error word */
    if ((rc = nnrt_cuda_check(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), "cudaStreamCreate")) ||
        (rc = nnrt_cuda_alloc((void **)&c->arena, abytes + sizeof(nnrt_dev_status))) ||
        (rc = nnrt_cuda_check(cudaMallocHost((void **)&c->staging, c->staging_bytes), "cudaMallocHost")))
        goto fail;
    c->status = (nnrt_dev_status *)(c->arena + abytes);
    if ((rc = clear_status(c)))
        goto fail;
    if (cublasCreate(&c->blas) != CUBLAS_STATUS_SUCCESS) {
        c->blas = NULL;
        rc = nnrt_error(NNRT_ERR_DEVICE, "cublasCreate failed");
        goto fail;
    }
    cublasSetStream(c->blas, c->stream);
    /* no TF32: products round as float32, like the CPU runtime */
    cublasSetMathMode(c->blas, CUBLAS_PEDANTIC_MATH);
    *out = c;
    return NNRT_OK;
fail:
    nnrt_cuda_ctx_destroy(c);
    return rc;
}

void nnrt_cuda_ctx_destroy(nnrt_cuda_ctx *c) {
    if (!c)
        return;
    if (c->stream)
        cudaStreamSynchronize(c->stream);
    if (c->blas)
        cublasDestroy(c->blas);
    if (c->staging)
        cudaFreeHost(c->staging);
    nnrt_cuda_free(c->arena);
    if (c->stream)
        cudaStreamDestroy(c->stream);
    free(c);
}

void *nnrt_cuda_arena(nnrt_cuda_ctx *c) { return c->arena; }
void *nnrt_cuda_stream(nnrt_cuda_ctx *c) { return (void *)c->stream; }
nnrt_cuda_stats nnrt_cuda_get_stats(const nnrt_cuda_ctx *c) { return c->stats; }

void nnrt_cuda_begin(nnrt_cuda_ctx *c) {
    memset(&c->stats, 0, sizeof c->stats);
    c->staged = 0;
}

/* room for bytes more in the staging buffer (16-byte aligned pieces), or NULL */
static unsigned char *stage(nnrt_cuda_ctx *c, size_t bytes) {
    size_t at = (c->staged + 15) & ~(size_t)15;
    if (at > c->staging_bytes || bytes > c->staging_bytes - at)
        return NULL;
    c->staged = at + bytes;
    return c->staging + at;
}

int nnrt_cuda_upload(nnrt_cuda_ctx *c, void *ddst, const void *src, size_t bytes) {
    unsigned char *p = stage(c, bytes);
    if (!p)
        return nnrt_error(NNRT_ERR_ARG, "inputs of %zu bytes more do not fit the %zu-byte staging buffer", bytes,
                          c->staging_bytes);
    /* the stream may still read the staging buffer of the last call's
     * results: nnrt_cuda_end waited for it, so it is free */
    memcpy(p, src, bytes);
    c->stats.h2d_copies++, c->stats.h2d_bytes += (int64_t)bytes;
    return nnrt_cuda_check(cudaMemcpyAsync(ddst, p, bytes, cudaMemcpyHostToDevice, c->stream), "upload");
}

int nnrt_cuda_copy(nnrt_cuda_ctx *c, void *ddst, const void *dsrc, size_t bytes) {
    if (bytes == 0)
        return NNRT_OK;
    c->stats.d2d_copies++, c->stats.d2d_bytes += (int64_t)bytes;
    return nnrt_cuda_check(cudaMemcpyAsync(ddst, dsrc, bytes, cudaMemcpyDeviceToDevice, c->stream), "device copy");
}

int nnrt_cuda_zero(nnrt_cuda_ctx *c, void *ddst, size_t bytes) {
    if (bytes == 0)
        return NNRT_OK;
    c->stats.memsets++, c->stats.zero_bytes += (int64_t)bytes;
    return nnrt_cuda_check(cudaMemsetAsync(ddst, 0, bytes, c->stream), "device zero fill");
}

static const char *range_what(int code) {
    switch (code) {
    case NNRT_DEV_GATHER: return "gather: row id";
    case NNRT_DEV_SCATTER: return "scatter-add: row id";
    case NNRT_DEV_LABEL: return "cross-entropy: label";
    case NNRT_DEV_SGD_IDS: return "sparse SGD: row id";
    case NNRT_DEV_APPROX: return "softmax approximation: word id";
    case NNRT_DEV_INDEX: return "row index";
    }
    return "index";
}

int nnrt_cuda_end(nnrt_cuda_ctx *c, const nnrt_cuda_xfer *results, int n) {
    /* the staging buffer is reused from its start: the uploads that read
     * it come before these downloads on the stream. The error word first,
     * then the results in order (the same walk finds them again below). */
    c->staged = 0;
    unsigned char *st = stage(c, sizeof(nnrt_dev_status));
    int rc = st ? NNRT_OK : nnrt_error(NNRT_ERR_ARG, "no room in the staging buffer for the error word");
    for (int i = 0; i < n && rc == NNRT_OK; i++) {
        unsigned char *p = stage(c, results[i].bytes);
        if (!p)
            rc = nnrt_error(NNRT_ERR_ARG, "results of %zu bytes more do not fit the %zu-byte staging buffer",
                            results[i].bytes, c->staging_bytes);
        else {
            c->stats.d2h_copies++, c->stats.d2h_bytes += (int64_t)results[i].bytes;
            rc = nnrt_cuda_check(cudaMemcpyAsync(p, results[i].dev, results[i].bytes, cudaMemcpyDeviceToHost,
                                                 c->stream),
                                 "download");
        }
    }
    if (rc == NNRT_OK) {
        c->stats.d2h_copies++, c->stats.d2h_bytes += (int64_t)sizeof(nnrt_dev_status);
        rc = nnrt_cuda_check(cudaMemcpyAsync(st, c->status, sizeof(nnrt_dev_status), cudaMemcpyDeviceToHost,
                                             c->stream),
                             "download");
    }
    int rc2 = nnrt_cuda_check(cudaStreamSynchronize(c->stream), "a kernel failed");
    rc = rc ? rc : rc2;
    if (rc == NNRT_OK) {
        nnrt_dev_status s;
        memcpy(&s, st, sizeof s);
        if (s.code) {
            /* clear it for the next call (synchronously: errors are rare) */
            clear_status(c);
            int id = (int)(int32_t)(uint32_t)(s.key & 0xffffffffu);
            if (s.code == NNRT_DEV_NOISE)
                rc = nnrt_error(NNRT_ERR_RANGE, NNRT_SAMPLED_Q0_FMT " (element %llu)", (long long)id, s.key >> 32);
            else
                rc = nnrt_error(NNRT_ERR_RANGE, "%s %d out of range [0, %lld) (%s %llu)", range_what(s.code), id,
                                s.bound, s.code == NNRT_DEV_INDEX ? "example" : "element", s.key >> 32);
        }
    }
    if (rc == NNRT_OK) {
        c->staged = 0;
        stage(c, sizeof(nnrt_dev_status));
        for (int i = 0; i < n; i++)
            memcpy(results[i].host, stage(c, results[i].bytes), results[i].bytes);
    }
    return rc;
}

/* ---------------------------------------------------------------- GEMM */

static int fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }
static int64_t max1(int64_t v) { return v > 1 ? v : 1; }

extern "C" __global__ void __launch_bounds__(NNRT_BLOCK)
    nnrt_k_scale_rows(float *C, int64_t M, int64_t N, int64_t ldc, float beta) {
    NNRT_FOR_GRID(i, M * N) {
        float *p = C + i / N * ldc + i % N;
        *p = beta == 0.0f ? 0.0f : *p * beta;
    }
}

int nnrt_cuda_gemm_batched(nnrt_cuda_ctx *c, int transa, int transb, int64_t M, int64_t N, int64_t K, float alpha,
                           const float *dA, int64_t lda, int64_t sa, const float *dB, int64_t ldb, int64_t sb,
                           float beta, float *dC, int64_t ldc, int64_t sc, int64_t batch) {
    if (M <= 0 || N <= 0 || batch <= 0)
        return NNRT_OK;
    int64_t acols = transa ? M : K, bcols = transb ? K : N;
    if (!fits_int(M) || !fits_int(N) || !fits_int(K) || !fits_int(lda) || !fits_int(ldb) || !fits_int(ldc) ||
        !fits_int(batch) || lda < max1(acols) || ldb < max1(bcols) || ldc < max1(N))
        return nnrt_error(NNRT_ERR_ARG,
                          "GEMM M=%lld N=%lld K=%lld lda=%lld ldb=%lld ldc=%lld: a size beyond int or a "
                          "stride shorter than a row",
                          (long long)M, (long long)N, (long long)K, (long long)lda, (long long)ldb, (long long)ldc);
    if (K == 0 || alpha == 0.0f) {
        /* C = beta C (cuBLAS's k == 0 is not documented the same everywhere) */
        for (int64_t i = 0; i < batch; i++)
            NNRT_LAUNCH(c, nnrt_k_scale_rows, nnrt_grid(M * N, NNRT_BLOCK), NNRT_BLOCK, 0, dC + i * sc, M, N, ldc,
                        beta);
        return nnrt_cuda_check_launch("GEMM (scale)");
    }
    /* row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T:
     * the same memory, operands swapped, M and N swapped */
    cublasOperation_t ta = transa ? CUBLAS_OP_T : CUBLAS_OP_N, tb = transb ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasStatus_t s;
    c->stats.gemms++;
    if (batch == 1)
        s = cublasSgemm(c->blas, tb, ta, (int)N, (int)M, (int)K, &alpha, dB, (int)ldb, dA, (int)lda, &beta, dC,
                        (int)ldc);
    else
        s = cublasSgemmStridedBatched(c->blas, tb, ta, (int)N, (int)M, (int)K, &alpha, dB, (int)ldb, sb, dA,
                                      (int)lda, sa, &beta, dC, (int)ldc, sc, (int)batch);
    if (s != CUBLAS_STATUS_SUCCESS)
        return nnrt_error(NNRT_ERR_DEVICE, "cuBLAS SGEMM (M=%lld N=%lld K=%lld): %s", (long long)M, (long long)N,
                          (long long)K, cublasGetStatusString(s));
    return NNRT_OK;
}

int nnrt_cuda_gemm(nnrt_cuda_ctx *c, int transa, int transb, int64_t M, int64_t N, int64_t K, float alpha,
                   const float *dA, int64_t lda, const float *dB, int64_t ldb, float beta, float *dC, int64_t ldc) {
    return nnrt_cuda_gemm_batched(c, transa, transb, M, N, K, alpha, dA, lda, 0, dB, ldb, 0, beta, dC, ldc, 0, 1);
}
