/*
 * blas.c - matrix products for generated code: CBLAS (OpenBLAS) when built
 * with -DNNRT_HAVE_CBLAS, portable loops otherwise.
 *
 * All matrices are row-major with an explicit row stride ("ld"), as in the
 * comments of nngrt.h. The portable loops are also the fallback for calls
 * CBLAS cannot take: sizes beyond its int, strides it would reject (it
 * prints an error and computes nothing), and empty products, where BLAS
 * implementations differ on whether y/C still get scaled by beta.
 *
 * BLAS semantics kept by both paths: when beta == 0 the old C (or y) is
 * never read, so uninitialised or NaN output buffers are fine; when
 * alpha == 0, A and B are not read.
 */
#include <limits.h>
#include <stdatomic.h>

#include "rt_internal.h"

#ifdef NNRT_HAVE_CBLAS
#include <cblas.h>
#endif

/* Set by tests to compare the two paths; atomic so that flipping it while
 * another thread multiplies is not a data race (that thread just picks
 * either path). */
static atomic_int use_portable;

int nnrt_blas_set_portable(int on) { return atomic_exchange(&use_portable, on != 0); }

const char *nnrt_blas_name(void) {
#ifdef NNRT_HAVE_CBLAS
    if (!atomic_load(&use_portable))
        return "openblas";
#endif
    return "portable";
}

#ifdef NNRT_HAVE_CBLAS
static int fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }
static int64_t max1(int64_t v) { return v > 1 ? v : 1; }
#endif

/* C[i, :] = beta * C[i, :] for every row, with beta == 0 meaning "set to
 * zero" so garbage in C never leaks into the result. */
static void scale_rows(int64_t M, int64_t N, float beta, float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f)
            for (int64_t j = 0; j < N; j++)
                c[j] = 0.0f;
        else if (beta != 1.0f)
            for (int64_t j = 0; j < N; j++)
                c[j] *= beta;
    }
}

static void gemm_portable(int transa, int transb, int64_t M, int64_t N, int64_t K,
                          float alpha, const float *A, int64_t lda, const float *B,
                          int64_t ldb, float beta, float *C, int64_t ldc) {
    scale_rows(M, N, beta, C, ldc);
    if (alpha == 0.0f || K == 0)
        return;
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (!transb) {
            /* B rows are contiguous: C[i, :] += alpha * A'[i, k] * B[k, :],
             * streaming through B row by row. */
            for (int64_t k = 0; k < K; k++) {
                float a = alpha * (transa ? A[k * lda + i] : A[i * lda + k]);
                const float *b = B + k * ldb;
                for (int64_t j = 0; j < N; j++)
                    c[j] += a * b[j];
            }
        } else {
            /* B is stored N x K: C[i, j] is a dot of op(A) row i with the
             * contiguous B row j. */
            for (int64_t j = 0; j < N; j++) {
                const float *b = B + j * ldb;
                float s = 0.0f;
                for (int64_t k = 0; k < K; k++)
                    s += (transa ? A[k * lda + i] : A[i * lda + k]) * b[k];
                c[j] += alpha * s;
            }
        }
    }
}

void nnrt_gemm(int transa, int transb, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
               float *C, int64_t ldc) {
    if (M <= 0 || N <= 0)
        return;
    /* the runtime's own kernel first: it declines where OpenBLAS is faster */
    if (!atomic_load(&use_portable) &&
        nnrt_gemm_own(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc))
        return;
#ifdef NNRT_HAVE_CBLAS
    /* Stored shapes: A is M x K (K x M if transposed), B is K x N (N x K). */
    int64_t acols = transa ? M : K, bcols = transb ? K : N;
    if (!atomic_load(&use_portable) && K > 0 && fits_int(M) && fits_int(N) && fits_int(K) &&
        fits_int(lda) && fits_int(ldb) && fits_int(ldc) && lda >= max1(acols) &&
        ldb >= max1(bcols) && ldc >= max1(N)) {
        cblas_sgemm(CblasRowMajor, transa ? CblasTrans : CblasNoTrans,
                    transb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A,
                    (int)lda, B, (int)ldb, beta, C, (int)ldc);
        return;
    }
#endif
    gemm_portable(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void nnrt_gemm_batched(int transa, int transb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                       int64_t lda, int64_t sa, const float *B, int64_t ldb, int64_t sb, float beta, float *C,
                       int64_t ldc, int64_t sc, int64_t batch) {
    for (int64_t i = 0; i < batch; i++)
        nnrt_gemm(transa, transb, M, N, K, alpha, A + i * sa, lda, B + i * sb, ldb, beta, C + i * sc, ldc);
}

static void gemv_portable(int transa, int64_t M, int64_t N, float alpha, const float *A,
                          int64_t lda, const float *x, float beta, float *y) {
    int64_t ny = transa ? N : M, nx = transa ? M : N;
    scale_rows(1, ny, beta, y, 0);
    if (alpha == 0.0f || nx == 0)
        return;
    if (!transa) {
        for (int64_t i = 0; i < M; i++) {
            const float *a = A + i * lda;
            float s = 0.0f;
            for (int64_t j = 0; j < N; j++)
                s += a[j] * x[j];
            y[i] += alpha * s;
        }
    } else {
        /* y += alpha * sum_i x[i] * A[i, :]: walk A by rows, not columns. */
        for (int64_t i = 0; i < M; i++) {
            const float *a = A + i * lda;
            float xi = alpha * x[i];
            for (int64_t j = 0; j < N; j++)
                y[j] += xi * a[j];
        }
    }
}

void nnrt_gemv(int transa, int64_t M, int64_t N, float alpha, const float *A, int64_t lda,
               const float *x, float beta, float *y) {
    if (M < 0 || N < 0)
        return;
    if (!atomic_load(&use_portable) && nnrt_gemv_own(transa, M, N, alpha, A, lda, x, beta, y))
        return;
#ifdef NNRT_HAVE_CBLAS
    if (!atomic_load(&use_portable) && M > 0 && N > 0 && fits_int(M) && fits_int(N) &&
        fits_int(lda) && lda >= max1(N)) {
        cblas_sgemv(CblasRowMajor, transa ? CblasTrans : CblasNoTrans, (int)M, (int)N, alpha,
                    A, (int)lda, x, 1, beta, y, 1);
        return;
    }
#endif
    gemv_portable(transa, M, N, alpha, A, lda, x, beta, y);
}

float nnrt_dot(int64_t n, const float *x, const float *y) {
    if (n <= 0)
        return 0.0f;
#ifdef NNRT_HAVE_CBLAS
    if (!atomic_load(&use_portable) && fits_int(n))
        return cblas_sdot((int)n, x, 1, y, 1);
#endif
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}
