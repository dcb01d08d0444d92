/*
 * test_emu.cpp - the host emulation itself (runtime/cuda/cuda_emu.h): that
 * it runs correct kernels right in both thread orders, and that it catches
 * the kernel bugs it exists for: a shared-memory reduction without its
 * __syncthreads (wrong in one order, reported as order-dependent), a
 * __syncthreads under `if (threadIdx.x < 16)` and barriers at different
 * places (reported as divergent, naming the kernel), a block reading what
 * another wrote and blocks adding into one element without an atomic
 * (reported as order-dependent: the blocks' order); plus its memory
 * checks, cuBLAS's column-major SGEMM, and the "no CUDA device" path.
 * Emulation only (it provokes faults on purpose).
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../runtime/cuda/nnrt_cuda_dev.cuh"
#include "check.h"

/* ---------------------------------------------------------------- kernels under test */

/* right: the runtime's block reduction */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK) good_sum(const float *x, float *out) {
    __shared__ float sh[NNRT_BLOCK];
    float s = nnrt_block_sum(x[blockIdx.x * NNRT_BLOCK + threadIdx.x], sh);
    if (threadIdx.x == 0)
        out[blockIdx.x] = s;
}

/* wrong: the same tree without its barriers */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK) missing_barrier(const float *x, float *out) {
    __shared__ float sh[NNRT_BLOCK];
    unsigned t = threadIdx.x;
    sh[t] = x[blockIdx.x * NNRT_BLOCK + t];
    for (unsigned s = NNRT_BLOCK / 2; s > 0; s >>= 1)
        if (t < s)
            sh[t] += sh[t + s];
    if (t == 0)
        out[blockIdx.x] = sh[0];
}

/* wrong: only the first 16 threads reach the barrier */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK) divergent_barrier(float *out) {
    __shared__ float sh[NNRT_BLOCK];
    sh[threadIdx.x] = (float)threadIdx.x;
    if (threadIdx.x < 16)
        __syncthreads();
    out[threadIdx.x] = sh[(threadIdx.x + 1) % NNRT_BLOCK];
}

/* wrong: every thread reaches one barrier, but not the same one */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK) split_barrier(float *out) {
    if (threadIdx.x % 2)
        __syncthreads();
    else
        __syncthreads();
    out[threadIdx.x] = 1.0f;
}

/* a 2-D grid-stride loop writing each index once */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK) iota(float *out, int64_t n) {
    int64_t start = ((int64_t)blockIdx.y * gridDim.x + blockIdx.x) * blockDim.x + threadIdx.x;
    for (int64_t i = start; i < n; i += (int64_t)gridDim.x * gridDim.y * blockDim.x)
        out[i] += (float)i + 1.0f;
}

/* dynamic shared memory: reverse a block's values through it */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK) reverse_block(const float *x, float *out) {
    NNRT_DYN_SHARED(float, sh);
    sh[threadIdx.x] = x[threadIdx.x];
    __syncthreads();
    out[threadIdx.x] = sh[blockDim.x - 1 - threadIdx.x];
}

/* wrong: 80 KiB of locals, more than an emulated thread's stack */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK) big_locals(float *out) {
    volatile float a[20480];
    for (int i = 0; i < 20480; i++)
        a[i] = (float)i;
    out[threadIdx.x] = a[threadIdx.x * 100];
}

/* wrong: the last thread writes one element past the end */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK) past_end(float *out, int n) {
    if ((int)threadIdx.x <= n)
        out[threadIdx.x] = 1.0f;
}

/* wrong: block b reads what block b - 1 wrote (no order between blocks) */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK) chained_blocks(float *out) {
    if (threadIdx.x == 0)
        out[blockIdx.x + 1] = out[blockIdx.x] + 1.0f;
}

/* wrong: every block adds its value into one element, without an atomic */
extern "C" __global__ void __launch_bounds__(NNRT_BLOCK) blocks_add(const float *x, float *out) {
    if (threadIdx.x == 0)
        out[0] += x[blockIdx.x];
}

/* ---------------------------------------------------------------- tests */

static float *dalloc(size_t n) {
    void *p = NULL;
    if (cudaMalloc(&p, n * sizeof(float)) != cudaSuccess) {
        fprintf(stderr, "test_emu: cudaMalloc failed\n");
        exit(1);
    }
    return (float *)p;
}

/* launches kernel in order o, returns the error and the two sums in out */
template <class K>
static cudaError_t sums(K kernel, const char *name, nnrt_emu_order o, const float *dx, float *dout, float got[2]) {
    nnrt_emu_set_order(o);
    cudaError_t e = nnrt_emu_launch_kernel(name, kernel, dim3(2), dim3(NNRT_BLOCK), 0, (cudaStream_t)0, dx, dout);
    nnrt_emu_set_order(NNRT_EMU_BOTH);
    cudaMemcpy(got, dout, 2 * sizeof(float), cudaMemcpyDeviceToHost);
    return e;
}

static void test_reductions(void) {
    float x[2 * NNRT_BLOCK], got[2];
    for (int i = 0; i < 2 * NNRT_BLOCK; i++)
        x[i] = (float)(i % NNRT_BLOCK);
    const float want = NNRT_BLOCK * (NNRT_BLOCK - 1) / 2.0f; /* 0 + 1 + ... + 255, exact in float */
    float *dx = dalloc(2 * NNRT_BLOCK), *dout = dalloc(2);
    cudaMemcpy(dx, x, sizeof x, cudaMemcpyHostToDevice);
    static const char *names[3] = {"both orders", "forward order", "reverse order"};
    for (int o = 0; o < 3; o++) {
        cudaError_t e = sums(good_sum, "good_sum", (nnrt_emu_order)o, dx, dout, got);
        CHECK(e == cudaSuccess && got[0] == want && got[1] == want, "block sum with barriers, %s: %g %g (want %g)",
              names[o], (double)got[0], (double)got[1], (double)want);
    }
    /* without barriers: wrong in at least one order */
    float fw[2], rv[2];
    cudaError_t e1 = sums(missing_barrier, "missing_barrier", NNRT_EMU_FORWARD, dx, dout, fw);
    cudaError_t e2 = sums(missing_barrier, "missing_barrier", NNRT_EMU_REVERSE, dx, dout, rv);
    CHECK(e1 == cudaSuccess && e2 == cudaSuccess && (fw[0] != want || rv[0] != want),
          "reduction without __syncthreads: forward order gives %g, reverse %g (want %g): wrong in one", (double)fw[0],
          (double)rv[0], (double)want);
    /* the default (both orders) reports it, naming the kernel */
    cudaError_t e = sums(missing_barrier, "missing_barrier", NNRT_EMU_BOTH, dx, dout, got);
    CHECK(e == cudaErrorLaunchFailure && strstr(nnrt_emu_fault(), "kernel missing_barrier") &&
              strstr(nnrt_emu_fault(), "order of the threads"),
          "reduction without __syncthreads is reported: %s", nnrt_emu_fault());
    CHECK(cudaGetLastError() == cudaErrorLaunchFailure && cudaDeviceSynchronize() == cudaErrorLaunchFailure,
          "the failed launch is a sticky error");
    e = sums(good_sum, "good_sum", NNRT_EMU_BOTH, dx, dout, got);
    CHECK(e == cudaErrorLaunchFailure, "later launches fail too until the error is cleared");
    nnrt_emu_clear_fault();
    cudaFree(dx), cudaFree(dout);
}

/* Blocks run in no order on a GPU: a kernel that depends on theirs is
 * reported (the second run goes from the last block to the first). */
static void test_block_order(void) {
    float z[5] = {0, 0, 0, 0, 0}, x[3] = {1e8f, -1e8f, 1.0f}; /* 1 added first or last: 0 or 1 */
    float *dout = dalloc(5), *dx = dalloc(3);
    cudaMemcpy(dout, z, sizeof z, cudaMemcpyHostToDevice);
    cudaMemcpy(dx, x, sizeof x, cudaMemcpyHostToDevice);
    cudaError_t e = NNRT_KLAUNCH(chained_blocks, 4, NNRT_BLOCK, 0, (cudaStream_t)0, dout);
    CHECK(e == cudaErrorLaunchFailure && strstr(nnrt_emu_fault(), "kernel chained_blocks") &&
              strstr(nnrt_emu_fault(), "of the blocks"),
          "a block reading what the block before it wrote is reported: %s", nnrt_emu_fault());
    nnrt_emu_clear_fault();
    cudaMemcpy(dout, z, sizeof z, cudaMemcpyHostToDevice);
    e = NNRT_KLAUNCH(blocks_add, 3, NNRT_BLOCK, 0, (cudaStream_t)0, dx, dout);
    CHECK(e == cudaErrorLaunchFailure && strstr(nnrt_emu_fault(), "kernel blocks_add"),
          "blocks adding into one element without an atomic are reported: %s", nnrt_emu_fault());
    nnrt_emu_clear_fault();
    /* one block each, in either order, is fine */
    cudaMemcpy(dout, z, sizeof z, cudaMemcpyHostToDevice);
    e = NNRT_KLAUNCH(blocks_add, 1, NNRT_BLOCK, 0, (cudaStream_t)0, dx, dout);
    float got = 0;
    cudaMemcpy(&got, dout, sizeof got, cudaMemcpyDeviceToHost);
    CHECK(e == cudaSuccess && got == 1e8f, "one block adding into an element runs: %g", (double)got);
    cudaFree(dout), cudaFree(dx);
}

static void test_divergence(void) {
    float *dout = dalloc(NNRT_BLOCK);
    cudaError_t e = NNRT_KLAUNCH(divergent_barrier, 1, NNRT_BLOCK, 0, (cudaStream_t)0, dout);
    CHECK(e == cudaErrorLaunchFailure && strstr(nnrt_emu_fault(), "kernel divergent_barrier") &&
              strstr(nnrt_emu_fault(), "divergent __syncthreads") && strstr(nnrt_emu_fault(), "thread (16,0,0)"),
          "__syncthreads under if (threadIdx.x < 16) is reported: %s", nnrt_emu_fault());
    nnrt_emu_clear_fault();
    e = NNRT_KLAUNCH(split_barrier, 1, 64, 0, (cudaStream_t)0, dout);
    CHECK(e == cudaErrorLaunchFailure && strstr(nnrt_emu_fault(), "kernel split_barrier") &&
              strstr(nnrt_emu_fault(), "divergent __syncthreads"),
          "two threads at different __syncthreads are reported: %s", nnrt_emu_fault());
    nnrt_emu_clear_fault();
    e = NNRT_KLAUNCH(divergent_barrier, 1, 2048, 0, (cudaStream_t)0, dout);
    CHECK(e == cudaErrorInvalidConfiguration && strstr(cudaGetErrorString(e), "divergent_barrier"),
          "a block of 2048 threads is an invalid configuration: %s", cudaGetErrorString(e));
    nnrt_emu_clear_fault();
    cudaFree(dout);
}

static void test_indices(void) {
    enum { N = 1000 };
    float *d = dalloc(N), h[N];
    cudaMemset(d, 0, sizeof h);
    cudaError_t e = NNRT_KLAUNCH(iota, dim3(2, 2), 64, 0, (cudaStream_t)0, d, (int64_t)N);
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    int okv = e == cudaSuccess;
    for (int i = 0; i < N; i++)
        okv &= h[i] == (float)i + 1.0f;
    CHECK(okv, "a 2x2 grid of 64 threads covers 1000 elements once each (blockIdx, gridDim, blockDim)");

    float x[100], r[100];
    for (int i = 0; i < 100; i++)
        x[i] = (float)i;
    float *dx = dalloc(100), *dr = dalloc(100);
    cudaMemcpy(dx, x, sizeof x, cudaMemcpyHostToDevice);
    e = NNRT_KLAUNCH(reverse_block, 1, 100, 100 * sizeof(float), (cudaStream_t)0, dx, dr);
    cudaMemcpy(r, dr, sizeof r, cudaMemcpyDeviceToHost);
    okv = e == cudaSuccess;
    for (int i = 0; i < 100; i++)
        okv &= r[i] == (float)(99 - i);
    CHECK(okv, "dynamic shared memory: a block of 100 reverses its values");
    cudaFree(d), cudaFree(dx), cudaFree(dr);
}

/* runs launch() in a child process; its stderr into msg; its wait status */
template <class F> static int in_child(F launch, char *msg, size_t len) {
    int fd[2];
    memset(msg, 0, len);
    if (pipe(fd) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        launch();
        _exit(0);
    }
    close(fd[1]);
    ssize_t n = read(fd[0], msg, len - 1);
    (void)n;
    close(fd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    return st;
}

static void test_bounds(void) {
    float *d = dalloc(10);
    cudaError_t e = NNRT_KLAUNCH(past_end, 1, 32, 0, (cudaStream_t)0, d, 10);
    CHECK(e == cudaErrorLaunchFailure && strstr(nnrt_emu_fault(), "kernel past_end wrote past the end of a 40-byte"),
          "a write just past the end of an allocation is reported: %s", nnrt_emu_fault());
    nnrt_emu_clear_fault();
    cudaFree(d);
    float *g = dalloc(64); /* 256 bytes: no slack, the guard page follows */
    char msg[512];
    int st = in_child([&] { NNRT_KLAUNCH(past_end, 1, 128, 0, (cudaStream_t)0, g, 64); }, msg, sizeof msg);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && strstr(msg, "kernel past_end: thread (64,0,0)") &&
              strstr(msg, "0 bytes past the end of a 256-byte allocation"),
          "an access into the page after an allocation faults, named: %.*s", (int)strcspn(msg, "\n"), msg);
    cudaFree(g);
}

static void test_stack_guard(void) {
    float *d = dalloc(NNRT_BLOCK);
    char msg[512];
    int st = in_child([&] { NNRT_KLAUNCH(big_locals, 1, 4, 0, (cudaStream_t)0, d); }, msg, sizeof msg);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && strstr(msg, "kernel big_locals: thread (0,0,0)") &&
              strstr(msg, "overflowed its 64 KiB stack"),
          "a kernel whose locals outgrow a thread's stack stops in the guard, named: %.*s", (int)strcspn(msg, "\n"),
          msg);
    cudaFree(d);
}

static void test_memory(void) {
    float h[4] = {1, 2, 3, 4}, *d = dalloc(4), back[4];
    CHECK(cudaMemcpy(back, d, sizeof back, cudaMemcpyDeviceToHost) == cudaSuccess && back[0] != back[0],
          "fresh device memory reads as NaN");
    cudaError_t e = cudaMemcpy(d + 1, h, sizeof h, cudaMemcpyHostToDevice);
    CHECK(e == cudaErrorInvalidValue && strstr(cudaGetErrorString(e), "not inside a device allocation"),
          "a copy past the end of an allocation is refused: %s", cudaGetErrorString(e));
    nnrt_emu_clear_fault();
    e = cudaMemcpy(back, h, sizeof h, cudaMemcpyDeviceToHost);
    CHECK(e == cudaErrorInvalidValue, "a host pointer as the device side of a copy is refused");
    nnrt_emu_clear_fault();
    cudaFree(d);
}

static void test_cublas(void) {
    /* column-major A (2x3) = [[1 3 5] [2 4 6]], B (3x2) = [[1 4] [2 5] [3 6]]: A B = [[22 49] [28 64]] */
    float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 2, 3, 4, 5, 6}, C[4], alpha = 1.0f, beta = 0.0f;
    float *dA = dalloc(6), *dB = dalloc(6), *dC = dalloc(4);
    cudaMemcpy(dA, A, sizeof A, cudaMemcpyHostToDevice);
    cudaMemcpy(dB, B, sizeof B, cudaMemcpyHostToDevice);
    cublasHandle_t h;
    cublasCreate(&h);
    cublasStatus_t s = cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &alpha, dA, 2, dB, 3, &beta, dC, 2);
    cudaMemcpy(C, dC, sizeof C, cudaMemcpyDeviceToHost);
    CHECK(s == CUBLAS_STATUS_SUCCESS && C[0] == 22 && C[1] == 28 && C[2] == 49 && C[3] == 64,
          "cublasSgemm is column-major: [[22 49] [28 64]] stored as %g %g %g %g", (double)C[0], (double)C[1],
          (double)C[2], (double)C[3]);
    /* A^T (3x2) x B^T (2x3), lda 2, ldb 3: C = (B A)^T, 3x3 */
    float C3[9];
    float *dC3 = dalloc(9);
    s = cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_T, 3, 3, 2, &alpha, dA, 2, dB, 3, &beta, dC3, 3);
    cudaMemcpy(C3, dC3, sizeof C3, cudaMemcpyDeviceToHost);
    /* (A^T B^T)[i][j] = sum_k A[k][i] B[j][k]; A[k][i] = A[k + 2 i], B[j][k] = B[j + 3 k] */
    int okv = s == CUBLAS_STATUS_SUCCESS;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            float w = 0;
            for (int k = 0; k < 2; k++)
                w += A[k + 2 * i] * B[j + 3 * k];
            okv &= C3[i + 3 * j] == w;
        }
    CHECK(okv, "cublasSgemm with both operands transposed");
    CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &alpha, dA, 1, dB, 3, &beta, dC, 2) ==
              CUBLAS_STATUS_INVALID_VALUE,
          "cublasSgemm: lda < m is CUBLAS_STATUS_INVALID_VALUE");
    cublasDestroy(h);
    cudaFree(dA), cudaFree(dB), cudaFree(dC), cudaFree(dC3);
}

static void test_no_device(void) {
    setenv("NNRT_EMU_NO_DEVICE", "1", 1);
    int rc = nnrt_cuda_probe();
    CHECK(rc == NNRT_ERR_DEVICE && strstr(nnrt_last_error(), "no CUDA device") &&
              strcmp(nnrt_strerror(rc), "device error") == 0,
          "no device: nnrt_cuda_probe says so (%s)", nnrt_last_error());
    nnrt_cuda_ctx *c = (nnrt_cuda_ctx *)1;
    rc = nnrt_cuda_ctx_create(&c, 1024, 1024);
    CHECK(rc == NNRT_ERR_DEVICE && c == NULL, "no device: nnrt_cuda_ctx_create fails cleanly");
    void *p = (void *)1;
    rc = nnrt_cuda_alloc(&p, 16);
    CHECK(rc == NNRT_ERR_DEVICE && p == NULL, "no device: nnrt_cuda_alloc fails cleanly");
    unsetenv("NNRT_EMU_NO_DEVICE");
    CHECK(nnrt_cuda_probe() == NNRT_OK, "the device is back");
}

int main(void) {
    test_reductions();
    test_block_order();
    test_divergence();
    test_indices();
    test_memory();
    test_stack_guard();
    test_bounds();
    test_cublas();
    test_no_device();
    return checks_failed ? 1 : 0;
}
