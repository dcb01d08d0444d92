/*
 * cuda_emu.h - CUDA on the host, for testing kernels without a GPU.
 *
 * The same .cu source that nvcc compiles for the GPU compiles as C++
 * (g++ or clang++, C++17) against this header instead of cuda_runtime.h
 * and cublas_v2.h (nnrt_cuda_dev.cuh picks one or the other on
 * __CUDACC__). Nothing here is fast; everything is meant to find bugs:
 *
 *   - __global__, __device__, __host__, __launch_bounds__ go away;
 *     __shared__ becomes `static` (the threads of a block are fibers of one
 *     OS thread and blocks run one after another, so one copy is the
 *     block's shared memory), in a linker section of its own that is
 *     filled with 0xff bytes (NaN floats) before every block, so a kernel
 *     that reads shared memory no thread of its block wrote gets NaN, not
 *     what happened to be left there. Dynamic shared memory: NNRT_DYN_SHARED.
 *   - threadIdx, blockIdx, blockDim, gridDim read the running fiber's
 *     indices.
 *   - A launch (NNRT_KLAUNCH, what nnrt_cuda_dev.cuh's NNRT_LAUNCH uses)
 *     runs every block in turn; each thread of a block is a fiber
 *     (ucontext, a 64 KiB stack above a 64 KiB guard) that runs until its
 *     next __syncthreads() or its end. A
 *     round ends when every thread has; then either all wait at the same
 *     __syncthreads (same file and line, same count) and the next round
 *     starts, or all have ended. Anything else is a divergent barrier: the
 *     launch fails, naming the kernel, the block, the threads and where
 *     they stopped.
 *   - Thread order (nnrt_emu_set_order): NNRT_EMU_BOTH (the default) runs
 *     each launch twice from the same device memory, the blocks and the
 *     threads of each round in forward and then in reverse order, and
 *     fails the launch if any byte of device memory differs: a kernel that
 *     is right only because of the order its threads or blocks happen to
 *     run in (a missing __syncthreads, two threads writing one element, a
 *     block reading what another wrote, blocks adding into one element
 *     without an atomic) is reported, naming the kernel.
 *     NNRT_EMU_FORWARD / NNRT_EMU_REVERSE run once.
 *   - A failed launch is a sticky error, returned by cudaGetLastError and
 *     the synchronising calls; cudaGetErrorString of it is the message
 *     (nnrt_emu_fault() too).
 *   - Device memory is host memory, tracked: cudaMalloc fills it with
 *     0xff bytes (NaN floats) so that reading what was never written shows;
 *     cudaMemcpy checks that the device side of a copy lies inside one
 *     allocation; a kernel writing just past an allocation's end fails its
 *     launch, one reaching the page after it dies naming the kernel. Streams and events are synchronous. cuBLAS SGEMM runs on
 *     the CPU runtime's nnrt_gemm.
 *   - NNRT_EMU_NO_DEVICE=1 in the environment: no device (cudaGetDeviceCount
 *     fails with cudaErrorNoDevice), to test that path.
 *
 * Not emulated: warp-level intrinsics (__shfl*, __ballot*: no lockstep
 * warps here), cooperative groups, textures, graphs.
 */
#ifndef NNRT_CUDA_EMU_H
#define NNRT_CUDA_EMU_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <tuple>

#define NNRT_CUDA_EMU 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
/* static shared memory: one linker section, which the scheduler fills
 * with 0xff bytes (NaN floats) before each block, as a new block's shared
 * memory holds garbage on a GPU (never what the last block left) */
#define __shared__ static __attribute__((section("nnrt_emu_shared")))
#define __launch_bounds__(...)
#define __restrict__ __restrict

/* ---------------------------------------------------------------- indices */

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

/* the running thread's indices (set by the scheduler before it resumes a fiber) */
struct nnrt_emu_index {
    dim3 tid, bid, bdim, gdim;
};
extern nnrt_emu_index *nnrt_emu_cur;

#define threadIdx (nnrt_emu_cur->tid)
#define blockIdx (nnrt_emu_cur->bid)
#define blockDim (nnrt_emu_cur->bdim)
#define gridDim (nnrt_emu_cur->gdim)

void nnrt_emu_syncthreads(const char *file, int line);
#define __syncthreads() nnrt_emu_syncthreads(__FILE__, __LINE__)

/* dynamic shared memory of the running launch (its shmem bytes, 0xff-filled per block) */
void *nnrt_emu_dyn_shared(void);
#define NNRT_DYN_SHARED(T, name) T *name = (T *)nnrt_emu_dyn_shared()

/* ---------------------------------------------------------------- errors */

typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorInsufficientDriver = 35,
    cudaErrorNoDevice = 100,
    cudaErrorLaunchFailure = 719,
} cudaError_t;

const char *cudaGetErrorString(cudaError_t e);
const char *cudaGetErrorName(cudaError_t e);
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);

/* ---------------------------------------------------------------- devices, memory, streams */

typedef enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
} cudaMemcpyKind;

typedef struct nnrt_emu_stream *cudaStream_t;
typedef struct nnrt_emu_event *cudaEvent_t;

struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem;
    int major, minor, multiProcessorCount, maxThreadsPerBlock;
};

cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaSetDevice(int dev);
cudaError_t cudaGetDevice(int *dev);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaMalloc(void **p, size_t bytes);
cudaError_t cudaFree(void *p);
cudaError_t cudaMallocHost(void **p, size_t bytes);
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s = 0);
cudaError_t cudaMemset(void *p, int v, size_t bytes);
cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t s = 0);
cudaError_t cudaStreamCreate(cudaStream_t *s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaEventCreate(cudaEvent_t *e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = 0);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b);
#define cudaStreamNonBlocking 0x01

/* ---------------------------------------------------------------- device functions */

static inline float atomicAdd(float *p, float v) { float o = *p; *p = o + v; return o; }
static inline int atomicAdd(int *p, int v) { int o = *p; *p = o + v; return o; }
static inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v) {
    unsigned long long o = *p;
    *p = o + v;
    return o;
}
static inline int atomicCAS(int *p, int cmp, int v) { int o = *p; if (o == cmp) *p = v; return o; }
static inline int atomicExch(int *p, int v) { int o = *p; *p = v; return o; }
static inline int atomicMax(int *p, int v) { int o = *p; if (v > o) *p = v; return o; }
static inline unsigned long long atomicMin(unsigned long long *p, unsigned long long v) {
    unsigned long long o = *p;
    if (v < o)
        *p = v;
    return o;
}

/* Rounded float arithmetic that nvcc never contracts into an FMA; the host
 * build is compiled with -ffp-contract=off so the plain operators agree. */
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __fsqrt_rn(float a) { return sqrtf(a); }
static inline float __int_as_float(int i) { float f; memcpy(&f, &i, sizeof f); return f; }
static inline int __float_as_int(float f) { int i; memcpy(&i, &f, sizeof i); return i; }

/* ---------------------------------------------------------------- launches */

/* Runs body(arg) as every thread of grid x block (see the top). Returns
 * cudaSuccess or the (sticky) error of a failed launch. */
cudaError_t nnrt_emu_launch(const char *name, dim3 grid, dim3 block, size_t shmem, cudaStream_t s,
                            void (*body)(void *), void *arg);

/* The arguments are converted to the kernel's parameter types once, as a
 * launch does, and every thread calls the kernel with that copy. */
template <class... P, class... A>
cudaError_t nnrt_emu_launch_kernel(const char *name, void (*kernel)(P...), dim3 grid, dim3 block, size_t shmem,
                                   cudaStream_t s, A &&...a) {
    struct Call {
        void (*k)(P...);
        std::tuple<P...> args;
        static void run(void *p) {
            Call *c = (Call *)p;
            std::apply(c->k, c->args);
        }
    } call{kernel, std::tuple<P...>(static_cast<P>(a)...)};
    return nnrt_emu_launch(name, grid, block, shmem, s, &Call::run, &call);
}

#define NNRT_KLAUNCH(kernel, grid, block, shmem, stream, ...) \
    nnrt_emu_launch_kernel(#kernel, kernel, dim3(grid), dim3(block), (shmem), (stream), __VA_ARGS__)

typedef enum { NNRT_EMU_BOTH = 0, NNRT_EMU_FORWARD = 1, NNRT_EMU_REVERSE = 2 } nnrt_emu_order;
/* sets the order of the threads of each round; returns the old one */
nnrt_emu_order nnrt_emu_set_order(nnrt_emu_order o);
/* the message of the sticky error ("" if none) */
const char *nnrt_emu_fault(void);
/* clears the sticky error (tests that provoke one on purpose) */
void nnrt_emu_clear_fault(void);
/* launches run so far */
long nnrt_emu_launches(void);

/* ---------------------------------------------------------------- cuBLAS */

typedef struct nnrt_emu_blas *cublasHandle_t;
typedef enum {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
} cublasStatus_t;
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
typedef enum { CUBLAS_DEFAULT_MATH = 0, CUBLAS_PEDANTIC_MATH = 2 } cublasMath_t;

cublasStatus_t cublasCreate(cublasHandle_t *h);
cublasStatus_t cublasDestroy(cublasHandle_t h);
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s);
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m);
const char *cublasGetStatusString(cublasStatus_t s);
/* column-major, as cuBLAS */
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta,
                           float *C, int ldc);
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                         int k, const float *alpha, const float *A, int lda, long long sa,
                                         const float *B, int ldb, long long sb, const float *beta, float *C, int ldc,
                                         long long sc, int batch);

#endif /* NNRT_CUDA_EMU_H */
