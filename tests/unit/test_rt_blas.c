/*
 * test_rt_blas.c - nnrt_gemm, nnrt_gemv and nnrt_dot, on both the CBLAS
 * path and the portable loops; built again as test_rt_blas_noblas
 * (-DTEST_NO_BLAS, the runtime's blas.c and gemm.c without CBLAS), where
 * the own AVX2 kernel takes every product that is not tiny.
 *
 * References: small products worked out by hand, and naive loops written
 * here in double precision straight from the definition in nngrt.h. Output
 * buffers are padded beyond each row (ld > N) with a sentinel that must
 * survive, and beta == 0 runs start from NaN to check the old C is not read.
 */
#include "rt_testutil.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include "nngrt.h"
#include "nnrt_abi.h"

#define SENTINEL 12345.0f

/* A small LCG, independent of nnrt_rng: values in [-1, 1). */
static uint32_t lcg_state = 1;
static float lcg(void) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (float)(lcg_state >> 8) / (float)(1u << 23) - 1.0f;
}

/* C = alpha op(A) op(B) + beta C by the definition, in double. */
static void naive_gemm(int ta, int tb, int M, int N, int K, double alpha, const float *A, int lda,
                       const float *B, int ldb, double beta, const float *C0, double *C,
                       int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[k * lda + i] : A[i * lda + k];
                double b = tb ? B[j * ldb + k] : B[k * ldb + j];
                s += a * b;
            }
            C[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * C0[i * ldc + j]);
        }
}

/* Runs one gemm case on the current path and checks it against naive_gemm. */
static void check_gemm(int ta, int tb, int M, int N, int K, float alpha, float beta) {
    /* Row strides larger than the rows, so a stride bug shows. */
    int arows = ta ? K : M, acols = ta ? M : K, lda = acols + 3;
    int brows = tb ? N : K, bcols = tb ? K : N, ldb = bcols + 2;
    int ldc = N + 5;
    float *A = malloc(sizeof(float) * (size_t)(arows * lda + 1));
    float *B = malloc(sizeof(float) * (size_t)(brows * ldb + 1));
    float *C = malloc(sizeof(float) * (size_t)(M * ldc + 1));
    float *C0 = malloc(sizeof(float) * (size_t)(M * ldc + 1));
    double *R = malloc(sizeof(double) * (size_t)(M * ldc + 1));
    for (int i = 0; i < arows * lda; i++)
        A[i] = lcg();
    for (int i = 0; i < brows * ldb; i++)
        B[i] = lcg();
    for (int i = 0; i < M * ldc; i++)
        C0[i] = (i % ldc) >= N ? SENTINEL : beta == 0 ? NAN : lcg();
    memcpy(C, C0, sizeof(float) * (size_t)(M * ldc));
    naive_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C0, R, ldc);
    nnrt_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            float got = C[i * ldc + j];
            if (j >= N) {
                assert_true(got == SENTINEL);
                continue;
            }
            double want = R[i * ldc + j];
            /* float accumulation of K products of values below 1 */
            if (!(fabs(got - want) <= 1e-5 * (K + 1) * (1 + fabs(want))))
                fail_msg("%s gemm ta=%d tb=%d M=%d N=%d K=%d: C[%d,%d] = %g, want %g",
                         nnrt_blas_name(), ta, tb, M, N, K, i, j, got, want);
        }
    free(A);
    free(B);
    free(C);
    free(C0);
    free(R);
}

/* check_gemm on every transpose combination, size (M, N, K) and (alpha,
 * beta) pair given */
static void check_gemm_grid(const int (*sizes)[3], size_t nsizes, const float (*ab)[2], size_t nab) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t s = 0; s < nsizes; s++)
                for (size_t a = 0; a < nab; a++)
                    check_gemm(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], ab[a][0], ab[a][1]);
}

/* Ensure gemm matches the naive loops for all transposes, strides and
 * sizes, on both paths, with alpha/beta of several kinds. */
static void test_gemm_vs_naive(void **state) {
    (void)state;
    static const int sizes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 9, 33}, {64, 65, 63}, {2, 1, 40}};
    static const float ab[][2] = {{1, 0}, {0.75f, -0.5f}, {-2, 1}};
    for (int portable = 0; portable < 2; portable++) {
        nnrt_blas_set_portable(portable);
        check_gemm_grid(sizes, sizeof sizes / sizeof sizes[0], ab, sizeof ab / sizeof ab[0]);
    }
    nnrt_blas_set_portable(0);
}

/* runtime/gemm.c, internal (rt_internal.h): the own AVX2 kernel */
#ifndef TEST_NO_BLAS
extern char *openblas_get_corename(void) __attribute__((weak));
extern void openblas_set_num_threads(int n) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));
#endif
int nnrt_gemm_own(int transa, int transb, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                  int64_t ldc);
int nnrt_gemm_set_avx2_only(int on);

/* Ensure the own kernel's blocking is right at every edge, for both tiles:
 * row counts 1 to 6 past a multiple of the 6-row micro-tile (1 to 12 past
 * one of 12), partial 16- and 32-column panels, inner sizes over one
 * 256-deep block, more than one 120-row (48-row) block with column blocks
 * of 1024, a transposed A wide enough to be packed, and the skinny shapes of the language models
 * (50 x 10000 x 64 and its two gradient products), and a square one
 * (OpenBLAS's; without a BLAS, the own kernel's); and that it takes the
 * skinny products and leaves the square ones to BLAS where there is one. */
static void test_gemm_own_blocks(void **state) {
    (void)state;
    static const int sizes[][3] = {{7, 37, 530},  {12, 16, 257}, {13, 33, 256}, {130, 1040, 9},
                                   {241, 20, 70}, {50, 2000, 64}, {50, 64, 2000}, {2000, 64, 50},
                                   {300, 290, 70}, {25, 47, 300}, {61, 95, 24}};
    static const float ab[][2] = {{1, 0}, {0.5f, 2}};
    /* the AVX-512 tile (12 x 32, 48-row blocks, A packed when transposed)
     * where the CPU has it, then the AVX2 one (6 x 16) */
    for (int avx2_only = 0; avx2_only < 2; avx2_only++) {
        nnrt_gemm_set_avx2_only(avx2_only);
        check_gemm_grid(sizes, sizeof sizes / sizeof sizes[0], ab, sizeof ab / sizeof ab[0]);
    }
    nnrt_gemm_set_avx2_only(0);
    static float A[300 * 300], B[300 * 300], C[300 * 300];
    __builtin_cpu_init();
    const char *e = getenv("NNRT_GEMM"); /* =blas turns the kernel off */
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               !(e && strcmp(e, "blas") == 0);
    assert_int_equal(nnrt_gemm_own(0, 1, 50, 300, 64, 1.0f, A, 64, B, 64, 0.0f, C, 300), avx2);
    /* square: OpenBLAS's, unless the runtime is built without a BLAS, or
     * OpenBLAS runs its generic SSE3 kernels here (a CPU it does not know:
     * "Prescott", 3x slower than the own kernel), or the own kernel has its
     * AVX-512 tile (as fast as OpenBLAS's there); NNRT_GEMM=own takes it */
#ifdef TEST_NO_BLAS
    int square = avx2;
#else
    const char *core = openblas_get_corename ? openblas_get_corename() : "";
    int zmm = __builtin_cpu_supports("avx512f") && !(e && strcmp(e, "avx2") == 0);
    int square = avx2 && (strcasecmp(core, "Prescott") == 0 || (e && strcmp(e, "own") == 0) || zmm);
    if (strcasecmp(core, "Prescott") != 0 && strcasecmp(core, "Haswell") != 0 &&
        strcasecmp(core, "Zen") != 0 && strcasecmp(core, "SkylakeX") != 0 && !(e && *e) && !zmm)
        square = -1; /* another family: not asserted */
#endif
    if (square >= 0)
        assert_int_equal(nnrt_gemm_own(0, 0, 300, 300, 300, 1.0f, A, 300, B, 300, 0.0f, C, 300), square);
#ifndef TEST_NO_BLAS
    /* OpenBLAS with several threads takes the products it would split
     * (2^18 multiply-adds or more), unless its kernels are the generic
     * ones: then only those of 2^24 or more, with over 4 threads (AVX-512
     * tile) or over 2 (AVX2 tile) */
    int generic = strcasecmp(core, "Prescott") == 0, fast = square >= 0 && !generic;
    if (openblas_set_num_threads && openblas_get_num_threads && avx2 && !(e && *e) && (generic || fast)) {
        int was = openblas_get_num_threads();
        openblas_set_num_threads(2);
        assert_int_equal(nnrt_gemm_own(0, 0, 20, 20, 64, 1.0f, A, 64, B, 20, 0.0f, C, 20), 1);
        assert_int_equal(nnrt_gemm_own(0, 1, 50, 300, 64, 1.0f, A, 64, B, 64, 0.0f, C, 300), generic);
        openblas_set_num_threads(3);
        assert_int_equal(nnrt_gemm_own(0, 0, 300, 300, 300, 1.0f, A, 300, B, 300, 0.0f, C, 300), generic && zmm);
        openblas_set_num_threads(8);
        assert_int_equal(nnrt_gemm_own(0, 0, 300, 300, 300, 1.0f, A, 300, B, 300, 0.0f, C, 300), 0);
        openblas_set_num_threads(was);
    }
#endif
    assert_string_not_equal(nnrt_gemm_kernels(), "");
    assert_int_equal(nnrt_gemm_own(0, 0, 2, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2), 0);
}

/* Ensure the four transpose combinations give the hand-computed products
 * of A = [[1,2],[3,4]] and B = [[5,6],[7,8]]. */
static void test_gemm_hand(void **state) {
    (void)state;
    const float A[4] = {1, 2, 3, 4}, B[4] = {5, 6, 7, 8};
    static const float want[2][2][4] = {
        {{19, 22, 43, 50}, /* A B */ {17, 23, 39, 53}},   /* A B^T */
        {{26, 30, 38, 44}, /* A^T B */ {23, 31, 34, 46}}, /* A^T B^T */
    };
    for (int portable = 0; portable < 2; portable++) {
        nnrt_blas_set_portable(portable);
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                float C[4] = {1, 1, 1, 1};
                /* C = 2 op(A) op(B) - C */
                nnrt_gemm(ta, tb, 2, 2, 2, 2.0f, A, 2, B, 2, -1.0f, C, 2);
                for (int i = 0; i < 4; i++)
                    assert_true(C[i] == 2 * want[ta][tb][i] - 1);
            }
    }
    nnrt_blas_set_portable(0);
}

/* Ensure nnrt_gemm_batched multiplies product by product, a stride of 0
 * reading one matrix for all: A_0 = [[1,2],[3,4]], A_1 = [[0,1],[1,0]]
 * (a swap of rows) times B = [[5,6],[7,8]] shared, and the same with B^T;
 * by hand. */
static void test_gemm_batched_hand(void **state) {
    (void)state;
    const float A[8] = {1, 2, 3, 4, 0, 1, 1, 0}, B[4] = {5, 6, 7, 8};
    static const float want[2][8] = {
        {19, 22, 43, 50, 7, 8, 5, 6},   /* A_i B */
        {17, 23, 39, 53, 6, 8, 5, 7},   /* A_i B^T */
    };
    for (int portable = 0; portable < 2; portable++) {
        nnrt_blas_set_portable(portable);
        for (int tb = 0; tb < 2; tb++) {
            float C[8] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
            nnrt_gemm_batched(0, tb, 2, 2, 2, 1.0f, A, 2, 4, B, 2, 0, 0.0f, C, 2, 4, 2);
            for (int i = 0; i < 8; i++)
                assert_true(C[i] == want[tb][i]);
        }
    }
    nnrt_blas_set_portable(0);
}

/* Ensure empty products: M or N == 0 touch nothing, K == 0 gives beta*C
 * (zeros when beta == 0, even over NaN). */
static void test_gemm_empty(void **state) {
    (void)state;
    for (int portable = 0; portable < 2; portable++) {
        nnrt_blas_set_portable(portable);
        float C[4] = {1, 2, 3, 4};
        const float A[1] = {NAN};
        nnrt_gemm(0, 0, 0, 2, 2, 1.0f, A, 2, A, 2, 0.0f, C, 2);
        nnrt_gemm(0, 0, 2, 0, 2, 1.0f, A, 2, A, 2, 0.0f, C, 2);
        assert_true(C[0] == 1 && C[3] == 4);
        nnrt_gemm(0, 0, 2, 2, 0, 1.0f, A, 1, A, 2, 3.0f, C, 2);
        assert_true(C[0] == 3 && C[1] == 6 && C[2] == 9 && C[3] == 12);
        float D[4] = {NAN, NAN, NAN, NAN};
        nnrt_gemm(1, 1, 2, 2, 0, 1.0f, A, 2, A, 1, 0.0f, D, 2);
        for (int i = 0; i < 4; i++)
            assert_true(D[i] == 0.0f);
    }
    nnrt_blas_set_portable(0);
}

/* Ensure gemv computes A x and A^T y as worked out by hand, with a row
 * stride larger than the row. */
static void test_gemv_hand(void **state) {
    (void)state;
    /* A = [[1,2,3],[4,5,6]] stored with row stride 4 (the 99s are padding). */
    const float A[8] = {1, 2, 3, 99, 4, 5, 6, 99};
    const float x[3] = {1, 0, -1}, x2[2] = {1, 2};
    for (int portable = 0; portable < 2; portable++) {
        nnrt_blas_set_portable(portable);
        /* y = A x + 0.5 y = [-2, -2] + [5, 10] */
        float y[2] = {10, 20};
        nnrt_gemv(0, 2, 3, 1.0f, A, 4, x, 0.5f, y);
        assert_true(y[0] == 3 && y[1] == 8);
        /* z = 2 A^T [1, 2] = 2 [9, 12, 15]; beta 0 ignores the NaN */
        float z[3] = {NAN, NAN, NAN};
        nnrt_gemv(1, 2, 3, 2.0f, A, 4, x2, 0.0f, z);
        assert_true(z[0] == 18 && z[1] == 24 && z[2] == 30);
        /* an empty inner dim: y = beta y */
        float w[2] = {1, 2};
        nnrt_gemv(0, 2, 0, 1.0f, A, 4, x, 3.0f, w);
        assert_true(w[0] == 3 && w[1] == 6);
    }
    nnrt_blas_set_portable(0);
}

/* Ensure gemv matches a naive double loop on larger random cases, both
 * ways and on both paths. */
static void test_gemv_vs_naive(void **state) {
    (void)state;
    enum { M = 37, N = 53, LDA = 60 };
    static float A[M * LDA], x[N > M ? N : M], y0[N > M ? N : M], y[N > M ? N : M];
    for (int i = 0; i < M * LDA; i++)
        A[i] = lcg();
    for (int i = 0; i < (N > M ? N : M); i++)
        x[i] = lcg(), y0[i] = lcg();
    for (int portable = 0; portable < 2; portable++) {
        nnrt_blas_set_portable(portable);
        for (int t = 0; t < 4; t++) { /* t & 1: transposed; t & 2: beta 0 on a NaN y, never read */
            int ny = t & 1 ? N : M, nx = t & 1 ? M : N;
            float beta = t & 2 ? 0.0f : -0.25f;
            memcpy(y, y0, sizeof y);
            if (t & 2)
                for (int i = 0; i < ny; i++)
                    y[i] = NAN;
            nnrt_gemv(t & 1, M, N, 1.5f, A, LDA, x, beta, y);
            for (int i = 0; i < ny; i++) {
                double s = 0;
                for (int k = 0; k < nx; k++)
                    s += (double)(t & 1 ? A[k * LDA + i] : A[i * LDA + k]) * x[k];
                double want = 1.5 * s + (t & 2 ? 0.0 : -0.25 * y0[i]);
                if (!(fabs(y[i] - want) <= 1e-4 * (1 + fabs(want))))
                    fail_msg("%s gemv t=%d: y[%d] = %g, want %g", nnrt_blas_name(), t, i, y[i],
                             want);
            }
        }
    }
    nnrt_blas_set_portable(0);
}

/* Ensure dot gives hand-computed values, 0 for n == 0, and agrees between
 * the paths on a long vector. */
static void test_dot(void **state) {
    (void)state;
    const float a[3] = {1, 2, 3}, b[3] = {4, 5, 6};
    static float u[1000], v[1000];
    double want = 0;
    for (int i = 0; i < 1000; i++) {
        u[i] = lcg(), v[i] = lcg();
        want += (double)u[i] * v[i];
    }
    for (int portable = 0; portable < 2; portable++) {
        nnrt_blas_set_portable(portable);
        assert_true(nnrt_dot(3, a, b) == 32.0f);
        assert_true(nnrt_dot(0, a, b) == 0.0f);
        assert_true(fabs(nnrt_dot(1000, u, v) - want) < 1e-3);
    }
    nnrt_blas_set_portable(0);
}

/* Ensure strides CBLAS would refuse (it prints an error and computes
 * nothing) still work: a one-row A or C needs no row stride, so generated
 * code may pass 0. */
static void test_degenerate_strides(void **state) {
    (void)state;
    const float A[3] = {1, 2, 3}, B[6] = {1, 0, 0, 1, 1, 1}; /* B: 3 x 2 */
    for (int portable = 0; portable < 2; portable++) {
        nnrt_blas_set_portable(portable);
        /* [1 2 3] B, with each stride 0 in turn */
        float C[2] = {NAN, NAN};
        nnrt_gemm(0, 0, 1, 2, 3, 1.0f, A, 0, B, 2, 0.0f, C, 2);
        assert_true(C[0] == 4 && C[1] == 5);
        C[0] = C[1] = NAN;
        nnrt_gemm(0, 0, 1, 2, 3, 1.0f, A, 3, B, 2, 0.0f, C, 0);
        assert_true(C[0] == 4 && C[1] == 5);
        float y[1] = {NAN};
        nnrt_gemv(0, 1, 3, 1.0f, A, 0, A, 0.0f, y); /* [1 2 3] . [1 2 3] */
        assert_true(y[0] == 14);
    }
    nnrt_blas_set_portable(0);
}

/* Ensure the path switch reports its old setting and the name follows. */
static void test_blas_switch(void **state) {
    (void)state;
    assert_int_equal(nnrt_blas_set_portable(1), 0);
    assert_string_equal(nnrt_blas_name(), "portable");
    assert_int_equal(nnrt_blas_set_portable(0), 1);
#ifdef TEST_NO_BLAS /* blas.c and gemm.c built without NNRT_HAVE_CBLAS */
    assert_string_equal(nnrt_blas_name(), "portable");
#else /* libnngrt is built with OpenBLAS by the Makefile */
    assert_string_equal(nnrt_blas_name(), "openblas");
#endif
}

/* OpenBLAS extension, weak: nnrt_gemm uses the own kernel only while
 * OpenBLAS runs on one thread, so the tests pin it to one */
void openblas_set_num_threads(int n) __attribute__((weak));

int main(void) {
    if (openblas_set_num_threads)
        openblas_set_num_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_vs_naive), cmocka_unit_test(test_gemm_own_blocks),
        cmocka_unit_test(test_gemm_hand),     cmocka_unit_test(test_gemm_batched_hand),
        cmocka_unit_test(test_gemm_empty),    cmocka_unit_test(test_gemv_hand),
        cmocka_unit_test(test_gemv_vs_naive), cmocka_unit_test(test_dot),
        cmocka_unit_test(test_degenerate_strides), cmocka_unit_test(test_blas_switch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
