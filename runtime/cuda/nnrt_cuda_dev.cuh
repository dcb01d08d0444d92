/*
 * nnrt_cuda_dev.cuh - the device side of the CUDA runtime, for the .cu
 * files of the runtime and for generated .cu code.
 *
 * The same source compiles two ways:
 *   nvcc                  CUDA proper (cuda_runtime.h, cublas_v2.h)
 *   g++ / clang++ -x c++  the host emulation (cuda_emu.h), for tests
 *                         without a GPU; compile with -ffp-contract=off.
 *
 * Conventions of every kernel (the runtime's and generated ones):
 *   - extern "C", __launch_bounds__(NNRT_BLOCK) and launched with
 *     NNRT_BLOCK threads (the block reductions below assume it);
 *   - grid-stride loops (NNRT_FOR_GRID), so any grid size is correct and
 *     the grid can be capped (nnrt_grid);
 *   - every __syncthreads reached by all threads of the block: never under
 *     a condition that depends on threadIdx (the emulation reports it);
 *   - launched with NNRT_LAUNCH, which counts the launch in the context's
 *     statistics and uses the context's stream;
 *   - indices read from data are checked: a bad one is recorded with
 *     nnrt_dev_range_error (first one wins) and its element skipped.
 */
#ifndef NNRT_CUDA_DEV_CUH
#define NNRT_CUDA_DEV_CUH

#ifdef __CUDACC__
#include <cublas_v2.h>
#include <cuda_runtime.h>
#define NNRT_KLAUNCH(kernel, grid, block, shmem, stream, ...) \
    kernel<<<(grid), (block), (shmem), (stream)>>>(__VA_ARGS__)
#define NNRT_DYN_SHARED(T, name) extern __shared__ T name[]
#else
#include "cuda_emu.h"
#endif

#include "nnrt_cuda.h"

#define NNRT_BLOCK 256   /* threads per block of every kernel */
#define NNRT_MAX_GRID 4096 /* blocks of a grid-stride launch at most */

/* i over [0, n) split across the whole grid */
#define NNRT_FOR_GRID(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)
/* r over [0, n) one block per value (for row kernels) */
#define NNRT_FOR_BLOCKS(r, n) for (int64_t r = blockIdx.x; r < (n); r += gridDim.x)

/* Blocks for n items of per_block each (at least 1, at most NNRT_MAX_GRID). */
static inline unsigned nnrt_grid(int64_t n, int64_t per_block) {
    int64_t b = (n + per_block - 1) / per_block;
    return (unsigned)(b < 1 ? 1 : b > NNRT_MAX_GRID ? NNRT_MAX_GRID : b);
}

/* The error word of a context, on the device: the range error of the
 * first kernel that met one, and of its elements the one with the lowest
 * position (so the report does not depend on which thread ran first). */
typedef struct nnrt_dev_status {
    int code;               /* 0, or the kernel's NNRT_DEV_* number */
    int pad;
    unsigned long long key; /* position << 32 | (uint32) index; all ones: none */
    long long bound;        /* the index's bound */
} nnrt_dev_status;

enum { NNRT_DEV_GATHER = 1, NNRT_DEV_SCATTER = 2, NNRT_DEV_LABEL = 3, NNRT_DEV_SGD_IDS = 4, NNRT_DEV_APPROX = 5,
       NNRT_DEV_INDEX = 6 /* a row at a per-example index (check_index): the position is the example */,
       NNRT_DEV_NOISE = 7 /* sampled's target of noise probability 0 (the bound is not used) */ };

/* index value, the pos-th of the kernel's list, is not in [0, bound).
 * The bound is written by the thread whose key took the minimum: a later
 * kernel of the same kind whose key is larger (two gathers failing in one
 * call) leaves the pair as it was. (Within a kernel the bound is the same
 * for every thread, or one thread checks: check_index.) */
__device__ static inline void nnrt_dev_range_error(nnrt_dev_status *st, int what, long long pos, long long value,
                                                   long long bound) {
    int old = atomicCAS(&st->code, 0, what);
    if (old == 0 || old == what) {
        unsigned long long key = (unsigned long long)pos << 32 | (unsigned)(int)value;
        if (key < atomicMin(&st->key, key))
            st->bound = bound;
    }
}

struct nnrt_cuda_ctx {
    cudaStream_t stream;
    cublasHandle_t blas;
    char *arena;             /* arena_bytes, then the error word */
    size_t arena_bytes;
    nnrt_dev_status *status; /* on the device, after the arena */
    unsigned char *staging;  /* pinned host memory */
    size_t staging_bytes, staged;
    nnrt_cuda_stats stats;
};

/* Launches kernel on ctx's stream, counting it. */
#define NNRT_LAUNCH(ctx, kernel, grid, block, shmem, ...)                                 \
    do {                                                                                  \
        (ctx)->stats.launches++;                                                          \
        NNRT_KLAUNCH(kernel, grid, block, shmem, (ctx)->stream, __VA_ARGS__);             \
    } while (0)

/* NNRT_OK, or NNRT_ERR_DEVICE "WHAT: <CUDA's message>" (clears CUDA's last error) */
int nnrt_cuda_check(cudaError_t e, const char *what);
/* after launches: the launch error, if any, as nnrt_cuda_check */
int nnrt_cuda_check_launch(const char *what);

/* ---------------------------------------------------------------- block reductions */

/* op(v of every thread) over the block's NNRT_BLOCK threads, returned to
 * every thread, by a tree in shared memory sh (NNRT_BLOCK of T, free
 * again on return). Every thread of the block must call it. */
template <class T, class Op> __device__ static inline T nnrt_block_reduce(T v, T *sh, Op op) {
    unsigned t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (unsigned s = NNRT_BLOCK / 2; s > 0; s >>= 1) {
        if (t < s)
            sh[t] = op(sh[t], sh[t + s]);
        __syncthreads();
    }
    T r = sh[0];
    __syncthreads();
    return r;
}

/* max that lets NaN win (any NaN in a row gives NaN, as runtime/softmax.c) */
__device__ static inline float nnrt_max_nan(float m, float v) { return (v > m || v != v) ? v : m; }

struct nnrt_op_add {
    template <class T> __device__ T operator()(T a, T b) const { return a + b; }
};
struct nnrt_op_max {
    __device__ float operator()(float a, float b) const { return nnrt_max_nan(a, b); }
};

__device__ static inline float nnrt_block_sum(float v, float *sh) { return nnrt_block_reduce(v, sh, nnrt_op_add()); }

/* The block as NNRT_GROUPS groups of 32 threads (group g: threads 32g to
 * 32g + 31, lane: threadIdx.x % 32), for generated kernels with a group
 * per result (reads of a row coalesced) or a lane per column. Both take
 * shared memory sh of NNRT_BLOCK floats (free again on return), and every
 * thread of the block must call them. */
#define NNRT_GROUPS (NNRT_BLOCK / 32)
/* v summed over each group, by a tree; right in the group's lane 0 */
__device__ static inline float nnrt_group_sum(float v, float *sh) {
    unsigned t = threadIdx.x, lane = t % 32;
    sh[t] = v;
    __syncthreads();
    for (unsigned h = 16; h > 0; h >>= 1) {
        if (lane < h)
            sh[t] += sh[t + h];
        __syncthreads();
    }
    float r = sh[t];
    __syncthreads();
    return r;
}
/* v summed over the groups, lane by lane, in group order; right in group 0 */
__device__ static inline float nnrt_lane_sum(float v, float *sh) {
    unsigned t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    float r = 0.0f;
    if (t < 32)
        for (unsigned g = 0; g < NNRT_GROUPS; g++)
            r += sh[g * 32 + t];
    __syncthreads();
    return r;
}
__device__ static inline float nnrt_block_max(float v, float *sh) { return nnrt_block_reduce(v, sh, nnrt_op_max()); }

/* The inclusive prefix sum of v in thread order (thread t gets the sum of
 * threads 0 to t), and the block's total in *total, by doubling
 * (Hillis and Steele) in shared memory sh (NNRT_BLOCK ints, free again on
 * return). Every thread of the block must call it. */
__device__ static inline int nnrt_block_scan(int v, int *sh, int *total) {
    unsigned t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (unsigned s = 1; s < NNRT_BLOCK; s <<= 1) {
        int a = t >= s ? sh[t - s] : 0;
        __syncthreads();
        sh[t] += a;
        __syncthreads();
    }
    int r = sh[t];
    *total = sh[NNRT_BLOCK - 1];
    __syncthreads();
    return r;
}

#endif /* NNRT_CUDA_DEV_CUH */
