/*
 * nodevice.c - the smallest program of the CUDA runtime, in C: creates a
 * context and multiplies two 2x2 matrices through cuBLAS. Without a CUDA
 * driver or device it must print the runtime's clean error and exit 1
 * (tests/cuda/run.sh runs it here, where there is no GPU).
 */
#include <stdio.h>

#include "nnrt_cuda.h"

int main(void) {
    nnrt_cuda_ctx *c;
    if (nnrt_cuda_ctx_create(&c, 1 << 20, 1 << 16) != NNRT_OK) {
        fprintf(stderr, "nodevice: error: %s\n", nnrt_last_error());
        return 1;
    }
    float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, r[4];
    float *d = (float *)nnrt_cuda_arena(c);
    nnrt_cuda_begin(c);
    int rc = nnrt_cuda_upload(c, d, a, sizeof a);
    rc = rc ? rc : nnrt_cuda_upload(c, d + 4, b, sizeof b);
    rc = rc ? rc : nnrt_cuda_gemm(c, 0, 0, 2, 2, 2, 1.0f, d, 2, d + 4, 2, 0.0f, d + 8, 2);
    nnrt_cuda_xfer out = {r, d + 8, sizeof r};
    rc = rc ? rc : nnrt_cuda_end(c, &out, 1);
    if (rc != NNRT_OK) {
        fprintf(stderr, "nodevice: error: %s\n", nnrt_last_error());
        nnrt_cuda_ctx_destroy(c);
        return 1;
    }
    printf("device: %s\n[[1 2] [3 4]] [[5 6] [7 8]] = [[%g %g] [%g %g]]\n", nnrt_cuda_device_name(), r[0], r[1], r[2],
           r[3]);
    nnrt_cuda_ctx_destroy(c);
    return r[0] == 19 && r[1] == 22 && r[2] == 43 && r[3] == 50 ? 0 : 1;
}
