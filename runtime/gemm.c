/*
 * gemm.c - the runtime's own single-precision matrix product for x86-64
 * with AVX2 and FMA: a 6 x 16 register-blocked micro-kernel under the
 * usual three levels of cache blocking (Goto's algorithm, as in BLIS),
 * and a 12 x 32 one with AVX-512 where the CPU has it (chosen at run
 * time; NNRT_GEMM=avx2 keeps the first).
 *
 * Why not always OpenBLAS: the products of the models nngc compiles are
 * skinny (a few dozen rows of activations times a vocabulary-sized weight
 * matrix), where OpenBLAS spends about a third of its time repacking the
 * big operand into its own layout before each call. Here A is read in
 * place (either orientation: the kernel broadcasts single elements; the
 * AVX-512 tile copies a transposed A's block into row slivers first), and
 * B is repacked a few 16- or 32-column panels at a time into a buffer that
 * stays in L1/L2, right before they are used: a transpose when B is stored
 * [N, K], a copy otherwise (reading B's rows in place was slower: with a
 * power-of-two row stride, a panel's rows fall into few L1 sets).
 *
 * nnrt_gemm (blas.c) calls nnrt_gemm_own first; it returns 0 (and does
 * nothing) where it does not apply: no AVX2/FMA on this CPU, an empty or
 * tiny product, NNRT_GEMM=blas in the environment (for comparisons), and,
 * with the AVX2 tile and an OpenBLAS that runs its own AVX2 kernels, a
 * product that is not skinny (both M and N over 256, where OpenBLAS's
 * kernels are as fast or faster, and may use threads) or a big product
 * (2^24 multiply-adds or more) whose M and N are both over 64. A runtime
 * built without a BLAS (no -DNNRT_HAVE_CBLAS: a GPU machine's bare image,
 * scripts/gpu-check.sh) takes every product of 4096 multiply-adds or more
 * here.
 *
 * nnrt_gemv_own, the matrix-vector product with AVX2 and FMA, stands in
 * for OpenBLAS's sgemv where OpenBLAS runs its generic kernels.
 *
 * C[M,N] = alpha * op(A) op(B) + beta * C, row-major, as nnrt_gemm.
 * beta == 0 never reads C.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rt_internal.h"

/* OpenBLAS's thread count (an OpenBLAS extension, looked up weakly so
 * that another CBLAS links too: then 1). */
#ifdef NNRT_HAVE_CBLAS
extern int openblas_get_num_threads(void) __attribute__((weak));
int nnrt_blas_threads(void) { return openblas_get_num_threads ? openblas_get_num_threads() : 1; }
#else
int nnrt_blas_threads(void) { return 1; }
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* MR x NR: the AVX2 tile (12 ymm accumulators); MRZ x NRZ: the AVX-512
 * one (24 zmm accumulators, of 32 registers) */
/* MC, MCZ: rows of A per block (A is read in place: with AVX-512, 48 rows
 * x KC stay in L1 beside a B panel, 1.7x on [1120, 128] x [128, 10000]
 * against 120 rows; the AVX2 tile was tuned at 120 on Zen 3) */
enum { MR = 6, NR = 16, MRZ = 12, NRZ = 32, KC = 256, MC = 120, MCZ = 48, NC = 1024 };

/* a(i, k) = A[i * ai + k * ak]; bp: kc rows of NR floats (row stride
 * bs); c: the mr x nr corner of C. acc = sum_k a(i, k) b(k, j); then
 * C = alpha * acc + beta * C (beta == 0: C not read). */
#define TARGET __attribute__((target("avx2,fma"))) /* the kernel only: FMA */

static inline TARGET __attribute__((always_inline)) void
kernel(const int mr, int nr, int64_t kc, const float *a, int64_t ai, int64_t ak, const float *bp,
       int64_t bs, float *c, int64_t ldc, float alpha, float beta) {
    /* named accumulators, not arrays: compilers keep them in registers */
    __m256 z = _mm256_setzero_ps();
    __m256 c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z,
           c41 = z, c50 = z, c51 = z;
    for (int64_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(bp + k * bs), b1 = _mm256_loadu_ps(bp + k * bs + 8);
        const float *p = a + k * ak;
        __m256 x;
#define ROW(i)                                                                                     \
    if (mr > i) {                                                                                  \
        x = _mm256_broadcast_ss(p + i * ai);                                                       \
        c##i##0 = _mm256_fmadd_ps(x, b0, c##i##0);                                                 \
        c##i##1 = _mm256_fmadd_ps(x, b1, c##i##1);                                                 \
    }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    float t[NR];
#define OUT(i)                                                                                     \
    if (mr > i) {                                                                                  \
        float *ci = c + i * ldc;                                                                   \
        __m256 r0 = _mm256_mul_ps(va, c##i##0), r1 = _mm256_mul_ps(va, c##i##1);                   \
        if (nr == NR) {                                                                            \
            if (beta != 0.0f) {                                                                    \
                r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0);                                 \
                r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), r1);                             \
            }                                                                                      \
            _mm256_storeu_ps(ci, r0);                                                              \
            _mm256_storeu_ps(ci + 8, r1);                                                          \
        } else {                                                                                   \
            _mm256_storeu_ps(t, r0);                                                               \
            _mm256_storeu_ps(t + 8, r1);                                                           \
            for (int j = 0; j < nr; j++)                                                           \
                ci[j] = beta != 0.0f ? t[j] + beta * ci[j] : t[j];                                 \
        }                                                                                          \
    }
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5)
#undef OUT
}

/* one specialisation per row count, so the loops over i unroll */
#define KERNEL_N(n)                                                                                \
    static TARGET void kernel##n(int nr, int64_t kc, const float *a, int64_t ai, int64_t ak,      \
                                 const float *bp, int64_t bs, float *c, int64_t ldc, float alpha,  \
                                 float beta) {                                                     \
        kernel(n, nr, kc, a, ai, ak, bp, bs, c, ldc, alpha, beta);                                 \
    }
KERNEL_N(1)
KERNEL_N(2)
KERNEL_N(3)
KERNEL_N(4)
KERNEL_N(5)
KERNEL_N(6)
typedef void kernel_fn(int, int64_t, const float *, int64_t, int64_t, const float *, int64_t,
                       float *, int64_t, float, float);
static kernel_fn *const kernels[MR + 1] = {0, kernel1, kernel2, kernel3, kernel4, kernel5, kernel6};

/* The same with AVX-512: a 12 x 32 tile, two zmm per row; the columns
 * past nr of a last panel are masked off at the store. */
#define TARGETZ __attribute__((target("avx512f,avx2,fma")))

static inline TARGETZ __attribute__((always_inline)) void
kernelz(const int mr, int nr, int64_t kc, const float *a, int64_t ai, int64_t ak, const float *bp,
        float *c, int64_t ldc, float alpha, float beta) {
    __m512 z = _mm512_setzero_ps();
    __m512 c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z,
           c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z, c80 = z, c81 = z,
           c90 = z, c91 = z, cA0 = z, cA1 = z, cB0 = z, cB1 = z;
    for (int64_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(bp + k * NRZ), b1 = _mm512_loadu_ps(bp + k * NRZ + 16);
        const float *p = a + k * ak;
        __m512 x;
#define ROW(i, n)                                                                                  \
    if (mr > n) {                                                                                  \
        x = _mm512_set1_ps(p[n * ai]);                                                             \
        c##i##0 = _mm512_fmadd_ps(x, b0, c##i##0);                                                 \
        c##i##1 = _mm512_fmadd_ps(x, b1, c##i##1);                                                 \
    }
        ROW(0, 0) ROW(1, 1) ROW(2, 2) ROW(3, 3) ROW(4, 4) ROW(5, 5)
        ROW(6, 6) ROW(7, 7) ROW(8, 8) ROW(9, 9) ROW(A, 10) ROW(B, 11)
#undef ROW
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1),
              m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
#define OUT(i, n)                                                                                  \
    if (mr > n) {                                                                                  \
        float *ci = c + n * ldc;                                                                   \
        __m512 r0 = _mm512_mul_ps(va, c##i##0), r1 = _mm512_mul_ps(va, c##i##1);                   \
        if (beta != 0.0f) {                                                                        \
            r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r0);                           \
            r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), r1);                      \
        }                                                                                          \
        _mm512_mask_storeu_ps(ci, m0, r0);                                                         \
        _mm512_mask_storeu_ps(ci + 16, m1, r1);                                                    \
    }
    OUT(0, 0) OUT(1, 1) OUT(2, 2) OUT(3, 3) OUT(4, 4) OUT(5, 5)
    OUT(6, 6) OUT(7, 7) OUT(8, 8) OUT(9, 9) OUT(A, 10) OUT(B, 11)
#undef OUT
}

#define KERNELZ_N(n)                                                                               \
    static TARGETZ void kernelz##n(int nr, int64_t kc, const float *a, int64_t ai, int64_t ak,    \
                                   const float *bp, int64_t bs, float *c, int64_t ldc, float alpha, \
                                   float beta) {                                                   \
        (void)bs;                                                                                  \
        kernelz(n, nr, kc, a, ai, ak, bp, c, ldc, alpha, beta);                                    \
    }
KERNELZ_N(1)
KERNELZ_N(2)
KERNELZ_N(3)
KERNELZ_N(4)
KERNELZ_N(5)
KERNELZ_N(6)
KERNELZ_N(7)
KERNELZ_N(8)
KERNELZ_N(9)
KERNELZ_N(10)
KERNELZ_N(11)
KERNELZ_N(12)
static kernel_fn *const kernelsz[MRZ + 1] = {0,         kernelz1,  kernelz2, kernelz3, kernelz4,
                                             kernelz5,  kernelz6,  kernelz7, kernelz8, kernelz9,
                                             kernelz10, kernelz11, kernelz12};

/* Packs columns j0 .. j0+nc of op(B), rows k0 .. k0+kc, into panels of w
 * columns (w a multiple of 8: NR = 16 for the AVX2 kernel, NRZ = 32 for
 * the AVX-512 one): panel p holds kc rows of w floats (zero-padded past
 * nc). */
static TARGET void pack_b(int w, int transb, const float *B, int64_t ldb, int64_t k0, int64_t kc,
                          int64_t j0, int64_t nc, float *bp) {
    for (int64_t p = 0; p < nc; p += w) {
        int64_t nr = nc - p < w ? nc - p : w;
        float *dst = bp + p * kc;
        if (!transb) {
            for (int64_t k = 0; k < kc; k++) {
                const float *src = B + (k0 + k) * ldb + j0 + p;
                float *d = dst + k * w;
                int64_t j = 0;
                for (; j < nr; j++)
                    d[j] = src[j];
                for (; j < w; j++)
                    d[j] = 0.0f;
            }
            continue;
        }
        /* B stored [N, K]: column j of op(B) is row j of B. 8 x 8 blocks are
         * transposed in registers; the rest element by element. */
        int64_t k = 0;
        if (nr == w) {
            for (; k + 8 <= kc; k += 8)
                for (int h = 0; h < w / 8; h++) {
                    const float *s = B + (j0 + p + 8 * h) * ldb + k0 + k;
                    /* B comes from memory or L3: fetch the same rows of
                     * the next panel early (one line per row, on every
                     * other step of 8 floats = 32 bytes) */
                    if (!(k & 8))
                        for (int r = 0; r < 8; r++)
                            _mm_prefetch((const char *)(s + (w + r) * ldb), _MM_HINT_T0);
                    __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ldb),
                           r2 = _mm256_loadu_ps(s + 2 * ldb), r3 = _mm256_loadu_ps(s + 3 * ldb),
                           r4 = _mm256_loadu_ps(s + 4 * ldb), r5 = _mm256_loadu_ps(s + 5 * ldb),
                           r6 = _mm256_loadu_ps(s + 6 * ldb), r7 = _mm256_loadu_ps(s + 7 * ldb);
                    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1),
                           t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3),
                           t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                           t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
                    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
                           u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
                           u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
                           u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
                    float *d = dst + k * w + 8 * h;
                    _mm256_storeu_ps(d + 0 * w, _mm256_permute2f128_ps(u0, u4, 0x20));
                    _mm256_storeu_ps(d + 1 * w, _mm256_permute2f128_ps(u1, u5, 0x20));
                    _mm256_storeu_ps(d + 2 * w, _mm256_permute2f128_ps(u2, u6, 0x20));
                    _mm256_storeu_ps(d + 3 * w, _mm256_permute2f128_ps(u3, u7, 0x20));
                    _mm256_storeu_ps(d + 4 * w, _mm256_permute2f128_ps(u0, u4, 0x31));
                    _mm256_storeu_ps(d + 5 * w, _mm256_permute2f128_ps(u1, u5, 0x31));
                    _mm256_storeu_ps(d + 6 * w, _mm256_permute2f128_ps(u2, u6, 0x31));
                    _mm256_storeu_ps(d + 7 * w, _mm256_permute2f128_ps(u3, u7, 0x31));
                }
        }
        for (; k < kc; k++) {
            float *d = dst + k * w;
            int64_t j = 0;
            for (; j < nr; j++)
                d[j] = B[(j0 + p + j) * ldb + k0 + k];
            for (; j < w; j++)
                d[j] = 0.0f;
        }
    }
}

/* Copies rows i0 .. i0+mc of op(A), columns k0 .. k0+kc, stored transposed
 * (a(i, k) = A[k * lda + i]), into slivers of mr rows: sliver s holds kc
 * columns of mr floats, so the kernel reads one short contiguous run per k
 * instead of one line of A per k (the weight gradient dZ^T H of a batched
 * LM, 1.3x). */
static void pack_at(const float *A, int64_t lda, int64_t i0, int64_t mc, int64_t k0, int64_t kc, int mr,
                    float *ap) {
    for (int64_t s = 0; s < mc; s += mr) {
        int64_t rows = mc - s < mr ? mc - s : mr;
        float *d = ap + s * kc;
        for (int64_t k = 0; k < kc; k++) {
            const float *src = A + (k0 + k) * lda + i0 + s;
            for (int64_t r = 0; r < rows; r++)
                d[k * mr + r] = src[r];
        }
    }
}

/* B panels: KC x NC floats (1 MiB), then KC x MCZ floats for a block of
 * A (pack_a), one buffer per thread, kept for the
 * thread's life (no mmap and page faults per call) and freed when the
 * thread exits (a pthread key's destructor). */
static pthread_key_t panel_key;
static pthread_once_t panel_once = PTHREAD_ONCE_INIT;
static int panel_key_ok;

static void make_panel_key(void) { panel_key_ok = pthread_key_create(&panel_key, free) == 0; }

static float *panel_buffer(void) {
    pthread_once(&panel_once, make_panel_key);
    if (!panel_key_ok)
        return NULL;
    float *bp = pthread_getspecific(panel_key);
    if (!bp) {
        bp = aligned_alloc(64, sizeof(float) * (KC * NC + KC * MCZ));
        if (bp && pthread_setspecific(panel_key, bp) != 0) {
            free(bp);
            bp = NULL;
        }
    }
    return bp;
}

/* NNRT_GEMM: "blas" sends every product to the BLAS, "own" every product
 * the kernel can take (4096 multiply-adds or more) to the kernel; unset,
 * the kernel takes the skinny ones (own_mode 1). 0 also without AVX2 and
 * FMA. */
static int compute_own_mode(void) {
    const char *e = getenv("NNRT_GEMM");
    __builtin_cpu_init();
    return !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 0
           : !e || !*e                                                       ? 1
           : strcmp(e, "blas") == 0                                          ? 0
           : strcmp(e, "own") == 0                                           ? 2
                                                                             : 1;
}

static int own_mode(void) {
    static atomic_int cached = -1;
    return nnrt_once_int(&cached, compute_own_mode);
}

/* The AVX-512 kernel where the CPU has it, unless NNRT_GEMM=avx2 (or a
 * test, nnrt_gemm_set_avx2_only) asks for the AVX2 one. */
static atomic_int avx2_only;

int nnrt_gemm_set_avx2_only(int on) { return atomic_exchange(&avx2_only, on != 0); }

static int compute_zmm(void) {
    const char *e = getenv("NNRT_GEMM");
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && !(e && strcmp(e, "avx2") == 0);
}

static int use_zmm(void) {
    static atomic_int cached = -1;
    return nnrt_once_int(&cached, compute_zmm) && !atomic_load_explicit(&avx2_only, memory_order_relaxed);
}

#ifdef NNRT_HAVE_CBLAS
/* Whether OpenBLAS runs AVX2 (or AVX-512) kernels here. With DYNAMIC_ARCH
 * it picks its kernels by the CPU's model number, and a CPU it does not
 * know (a new one, or a virtual machine's "Intel Xeon Processor" with
 * AVX-512) gets its generic SSE3 ones ("Prescott"): about 3x slower than
 * the kernel here on every shape (PERFORMANCE.md, 2026-12-04), so then
 * the kernel takes the big products too. OPENBLAS_CORETYPE=Haswell (or
 * SkylakeX, Zen) makes OpenBLAS pick them again. Another CBLAS (no
 * openblas_get_corename): trusted. */
extern char *openblas_get_corename(void) __attribute__((weak));
static int compute_blas_vectorized(void) {
    static const char *const fast[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"};
    const char *name = openblas_get_corename ? openblas_get_corename() : NULL;
    int c = !name;
    for (size_t i = 0; name && !c && i < sizeof fast / sizeof fast[0]; i++)
        c = strcasecmp(name, fast[i]) == 0;
    return c;
}

static int blas_vectorized(void) {
    static atomic_int cached = -1;
    return nnrt_once_int(&cached, compute_blas_vectorized);
}

#endif

static char kernels_text[320];
static void describe_kernels(void) {
    int mode = own_mode(), zmm = use_zmm();
    const char *isa = zmm ? "AVX-512" : "AVX2";
#ifdef NNRT_HAVE_CBLAS
    const char *core = openblas_get_corename ? openblas_get_corename() : NULL;
    char blas[64];
    snprintf(blas, sizeof blas, core ? "OpenBLAS (%s)" : "the BLAS", core);
    char more[128] = ""; /* with OpenBLAS's threads, and matrix-vector products */
    if (mode == 1)
        snprintf(more, sizeof more, "; with %s OpenBLAS threads, OpenBLAS from 2^%d multiply-adds",
                 blas_vectorized() ? "several" : zmm ? "over 4" : "over 2", blas_vectorized() ? 18 : 24);
    if (mode == 2 || (mode == 1 && !blas_vectorized()))
        snprintf(more + strlen(more), sizeof more - strlen(more), "; matrix-vector: own AVX2 kernel");
    if (!mode)
        snprintf(kernels_text, sizeof kernels_text, "%s", blas);
    else if (mode == 2 || zmm || !blas_vectorized())
        snprintf(kernels_text, sizeof kernels_text, "own %s kernel, %s below 4096 multiply-adds%s", isa, blas, more);
    else
        snprintf(kernels_text, sizeof kernels_text, "own %s kernel for skinny products, %s otherwise%s", isa, blas,
                 more);
#else
    snprintf(kernels_text, sizeof kernels_text, mode ? "own %s kernel, loops below 4096 multiply-adds" : "portable loops", isa);
#endif
}

const char *nnrt_gemm_kernels(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, describe_kernels);
    return kernels_text;
}

static char hint_text[200];
static void make_hint(void) {
#ifdef NNRT_HAVE_CBLAS
    const char *core = openblas_get_corename ? openblas_get_corename() : NULL;
    if (!core || blas_vectorized() || !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return;
    const char *want = __builtin_cpu_supports("avx512f") ? "SkylakeX" : "Haswell";
    snprintf(hint_text, sizeof hint_text,
             "OpenBLAS runs its generic kernels (%s) on this CPU; OPENBLAS_CORETYPE=%s in the "
             "environment selects its %s ones (%s)",
             core, want, want[0] == 'S' ? "AVX-512" : "AVX2",
             use_zmm() ? "for the big products, with several OpenBLAS threads" : "faster on big products");
#endif
}

const char *nnrt_blas_hint(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_hint);
    return hint_text[0] ? hint_text : NULL;
}

int nnrt_gemm_own(int transa, int transb, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                  int64_t ldc) {
    double mnk = (double)M * (double)N * (double)K;
    int mode = own_mode(), zmm = use_zmm();
#ifdef NNRT_HAVE_CBLAS
    /* big with no side of a few dozen (nngc --batch=32's output layer over T x 32 rows):
     * OpenBLAS's AVX2 kernels as fast or faster than the AVX2 tile here (Zen 3,
     * PERFORMANCE.md); the AVX-512 tile matches OpenBLAS's AVX-512 kernels
     * on those (0.9-1.1x) and is faster on the skinny ones */
    int blas_better = mode == 1 && !zmm && blas_vectorized() &&
                      ((M > 256 && N > 256) || (mnk >= 16777216.0 && M > 64 && N > 64));
    /* OpenBLAS with several threads: it takes the products it splits
     * (2^18 multiply-adds or more; below, its SMP threshold keeps one
     * thread), unless it runs its generic kernels, 2.5x (AVX2 tile) to
     * 4.5x (AVX-512 tile) slower per core than the kernel here: then only
     * the big ones (2^24), with more threads than that */
    int threads = mode == 1 ? nnrt_blas_threads() : 1;
    if (threads > 1 && mnk >= 262144.0)
        blas_better |= blas_vectorized() || (mnk >= 16777216.0 && threads > (zmm ? 4 : 2));
#else
    int blas_better = 0; /* the portable loops are the alternative: an RNN LM trained 4.8x slower on them */
#endif
    if (M <= 0 || N <= 0 || K <= 0 || alpha == 0.0f || mnk < 4096.0 || blas_better || !mode)
        return 0;
    float *bp = panel_buffer();
    if (!bp)
        return 0;
    int w = zmm ? NRZ : NR, mr_max = zmm ? MRZ : MR, mc_max = zmm ? MCZ : MC;
    kernel_fn *const *kern = zmm ? kernelsz : kernels;
    /* A stored transposed, and wide (its rows past a few cache lines):
     * copied a block at a time into slivers, read as a(i, k) = ap[i * kc +
     * k * mr_max] (a whole sliver) from the block's first row */
    int packa = zmm && transa && lda >= 64;
    float *ap = bp + KC * NC;
    int64_t ai = packa ? 1 : transa ? 1 : lda, ak = packa ? mr_max : transa ? lda : 1;
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
        int64_t kc = K - k0 < KC ? K - k0 : KC;
        float be = k0 == 0 ? beta : 1.0f; /* later K blocks add to C */
        /* with one block of rows, a few panels at a time: packed and used
         * while they are in L1 */
        int64_t ncmax = M <= mc_max ? 4 * w : NC;
        for (int64_t j0 = 0; j0 < N; j0 += ncmax) {
            int64_t nc = N - j0 < ncmax ? N - j0 : ncmax;
            pack_b(w, transb, B, ldb, k0, kc, j0, nc, bp);
            for (int64_t i0 = 0; i0 < M; i0 += mc_max) {
                int64_t mc = M - i0 < mc_max ? M - i0 : mc_max;
                if (packa)
                    pack_at(A, lda, i0, mc, k0, kc, mr_max, ap);
                for (int64_t p = 0; p < nc; p += w) {
                    int nr = (int)(nc - p < w ? nc - p : w);
                    for (int64_t i = i0; i < i0 + mc; i += mr_max) {
                        int mr = (int)(i0 + mc - i < mr_max ? i0 + mc - i : mr_max);
                        const float *a = packa ? ap + (i - i0) * kc : A + i * ai + k0 * ak;
                        kern[mr](nr, kc, a, ai, ak, bp + p * kc, w, C + i * ldc + j0 + p, ldc, alpha, be);
                    }
                }
            }
        }
    }
    return 1;
}

/* y = alpha op(A) x + beta y (beta == 0: y not read), AVX2 + FMA: where
 * OpenBLAS runs its generic kernels (its sgemv was 6-14% of an RNN's
 * steps here, PERFORMANCE.md), or NNRT_GEMM=own. Rows of A are read once,
 * in place: op(A) = A takes 4 rows at a time against x, op(A) = A^T adds
 * x[i] A[i, j..j+32) into 4 accumulators per block of 32 columns. */
static TARGET void gemv_rows(int64_t M, int64_t N, float alpha, const float *A, int64_t lda, const float *x,
                             float beta, float *y) {
    int64_t i = 0;
    for (; i < M; i += 4) {
        int rows = M - i < 4 ? (int)(M - i) : 4;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        float tail[4] = {0, 0, 0, 0};
        int64_t j = 0;
        for (; j + 8 <= N; j += 8) {
            __m256 xv = _mm256_loadu_ps(x + j);
            for (int r = 0; r < rows; r++)
                acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(A + (i + r) * lda + j), xv, acc[r]);
        }
        for (; j < N; j++)
            for (int r = 0; r < rows; r++)
                tail[r] += A[(i + r) * lda + j] * x[j];
        for (int r = 0; r < rows; r++) {
            float l[8];
            _mm256_storeu_ps(l, acc[r]);
            float d = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])) + tail[r];
            y[i + r] = beta != 0.0f ? alpha * d + beta * y[i + r] : alpha * d;
        }
    }
}

static TARGET void gemv_cols(int64_t M, int64_t N, float alpha, const float *A, int64_t lda, const float *x,
                             float beta, float *y) {
    int64_t j = 0;
    for (; j + 32 <= N; j += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t i = 0; i < M; i++) {
            const float *row = A + i * lda + j;
            __m256 xi = _mm256_set1_ps(x[i]);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row), xi, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + 8), xi, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(row + 16), xi, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(row + 24), xi, a3);
        }
        __m256 acc[4] = {a0, a1, a2, a3}, va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
        for (int q = 0; q < 4; q++) {
            __m256 r = _mm256_mul_ps(va, acc[q]);
            if (beta != 0.0f)
                r = _mm256_add_ps(r, _mm256_mul_ps(vb, _mm256_loadu_ps(y + j + 8 * q)));
            _mm256_storeu_ps(y + j + 8 * q, r);
        }
    }
    for (; j < N; j++) {
        float d = 0.0f;
        for (int64_t i = 0; i < M; i++)
            d += A[i * lda + j] * x[i];
        y[j] = beta != 0.0f ? alpha * d + beta * y[j] : alpha * d;
    }
}

int nnrt_gemv_own(int transa, int64_t M, int64_t N, float alpha, const float *A, int64_t lda, const float *x,
                  float beta, float *y) {
    int mode = own_mode();
#ifdef NNRT_HAVE_CBLAS
    int blas_better = mode == 1 && blas_vectorized();
#else
    int blas_better = 0;
#endif
    if (!mode || blas_better || M <= 0 || N <= 0 || (double)M * (double)N < 1024.0 || alpha == 0.0f)
        return 0;
    if (transa)
        gemv_cols(M, N, alpha, A, lda, x, beta, y);
    else
        gemv_rows(M, N, alpha, A, lda, x, beta, y);
    return 1;
}

#else

int nnrt_gemm_set_avx2_only(int on) { return on * 0; }

int nnrt_gemv_own(int transa, int64_t M, int64_t N, float alpha, const float *A, int64_t lda, const float *x,
                  float beta, float *y) {
    (void)transa, (void)M, (void)N, (void)alpha, (void)A, (void)lda, (void)x, (void)beta, (void)y;
    return 0;
}

const char *nnrt_blas_hint(void) { return NULL; }

const char *nnrt_gemm_kernels(void) {
#ifdef NNRT_HAVE_CBLAS
    return "the BLAS";
#else
    return "portable loops";
#endif
}

int nnrt_gemm_own(int transa, int transb, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                  int64_t ldc) {
    (void)transa, (void)transb, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda;
    (void)B, (void)ldb, (void)beta, (void)C, (void)ldc;
    return 0;
}

#endif
