/*
 * bench.cu - times the CUDA runtime on the shapes of the RNN LM benchmark
 * (examples/rnnlm.nn, bench/models/rnnlm256.nn: V = 10000, H = 128 and
 * 256, T = 35 and 100): each kernel, and GEMM through nnrt_cuda_gemm
 * against a plain cublasSgemm of the same shapes, with CUDA events.
 * Last, a call's fixed cost by the host's clock (an upload, 1 or 100
 * small launches, a download and the wait).
 * Prints one table; scripts/gpu-check.sh runs it on a GPU. Under the host
 * emulation it runs too (ITERS=1), which only shows that it works.
 *
 *   bench [ITERS]      default 50 timed calls per row, after 5 warm-up calls
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nnrt_cuda_dev.cuh"

static nnrt_cuda_ctx *ctx;
static cudaEvent_t ev0, ev1;
static int iters = 50;

#define TRY(x)                                                                   \
    do {                                                                         \
        if ((x) != NNRT_OK) {                                                    \
            fprintf(stderr, "bench: error: %s: %s\n", #x, nnrt_last_error());   \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

/* mean microseconds per call of what f does, by events on the stream */
template <class F> static double time_us(F f) {
    for (int i = 0; i < (iters < 5 ? iters : 5); i++)
        f();
    cudaEventRecord(ev0, ctx->stream);
    for (int i = 0; i < iters; i++)
        f();
    cudaEventRecord(ev1, ctx->stream);
    cudaEventSynchronize(ev1);
    float ms = 0;
    cudaEventElapsedTime(&ms, ev0, ev1);
    TRY(nnrt_cuda_check_launch("bench"));
    return 1000.0 * ms / iters;
}

static double wall_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void row(const char *what, const char *shape, double us, double flops, double bytes) {
    printf("%-28s %-22s %10.1f", what, shape, us);
    if (flops > 0)
        printf(" %10.1f GFLOP/s", flops / us / 1e3);
    else if (bytes > 0)
        printf(" %10.1f GB/s    ", bytes / us / 1e3);
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc > 1)
        iters = atoi(argv[1]) > 0 ? atoi(argv[1]) : 1;
#ifdef NNRT_CUDA_EMU
    nnrt_emu_set_order(NNRT_EMU_FORWARD); /* only timing here: no copies of the arena per launch */
#endif
    TRY(nnrt_cuda_ctx_create(&ctx, (size_t)64 << 20, 1 << 20));
    cudaEventCreate(&ev0);
    cudaEventCreate(&ev1);
    printf("device: %s; %d timed calls per row\n\n", nnrt_cuda_device_name(), iters);
    printf("%-28s %-22s %10s %18s\n", "kernel", "shape", "us/call", "rate");
    const int64_t V = 10000;
    float *a = (float *)nnrt_cuda_arena(ctx);
    /* the arena: W [V,H] 256 floats max wide, logits [T,V], h [T,H], ids */
    float *W = a, *W2 = W + V * 256, *M1 = W2 + V * 256, *M2 = M1 + V * 256, *Z = M2 + V * 256, *G = Z + 100 * V,
          *X = G + 100 * V, *Y = X + 100 * 256, *L = Y + 100 * 256;
    int32_t *ids = (int32_t *)(L + 128);
    cudaMemset(a, 0, (size_t)(((char *)(ids + 128)) - (char *)a));
    for (int H = 128; H <= 256; H *= 2)
        for (int T = 35; T <= 100; T += 65) {
            char s[64];
            const float one = 1.0f, zero = 0.0f;
            double fl = 2.0 * T * H * (double)V;
            /* forward logits Z[T,V] = X[T,H] W^T (W stored [V,H]) */
            snprintf(s, sizeof s, "[%d,%d]x[%d,%lld]", T, H, H, (long long)V);
            row("gemm nnrt_cuda_gemm", s,
                time_us([&] { nnrt_cuda_gemm(ctx, 0, 1, T, V, H, 1.0f, X, H, W, H, 0.0f, Z, V); }), fl, 0);
            row("gemm cublasSgemm", s, time_us([&] {
                    cublasSgemm(ctx->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)V, T, H, &one, W, H, X, H, &zero, Z, (int)V);
                }), fl, 0);
            /* backward: dW[V,H] = dZ^T X, dX[T,H] = dZ W */
            snprintf(s, sizeof s, "[%lld,%d]x[%d,%d]", (long long)V, T, T, H);
            row("gemm dW nnrt_cuda_gemm", s,
                time_us([&] { nnrt_cuda_gemm(ctx, 1, 0, V, H, T, 1.0f, G, V, X, H, 0.0f, W2, H); }), fl, 0);
            row("gemm dW cublasSgemm", s, time_us([&] {
                    cublasSgemm(ctx->blas, CUBLAS_OP_N, CUBLAS_OP_T, H, (int)V, T, &one, X, H, G, (int)V, &zero, W2, H);
                }), fl, 0);
            snprintf(s, sizeof s, "[%d,%lld]x[%lld,%d]", T, (long long)V, (long long)V, H);
            row("gemm dX nnrt_cuda_gemm", s,
                time_us([&] { nnrt_cuda_gemm(ctx, 0, 0, T, H, V, 1.0f, G, V, W, H, 0.0f, Y, H); }), fl, 0);
            row("gemm dX cublasSgemm", s, time_us([&] {
                    cublasSgemm(ctx->blas, CUBLAS_OP_N, CUBLAS_OP_N, H, T, (int)V, &one, W, H, G, (int)V, &zero, Y, H);
                }), fl, 0);
            if (H == 256)
                continue; /* the row kernels do not depend on H */
            snprintf(s, sizeof s, "[%d,%lld]", T, (long long)V);
            double zb = 4.0 * T * V;
            row("softmax rows", s, time_us([&] { nnrt_cuda_softmax_rows(ctx, Z, G, T, V); }), 0, 2 * zb);
            row("logsumexp rows", s, time_us([&] { nnrt_cuda_logsumexp_rows(ctx, Z, L, T, V); }), 0, zb);
            row("cross-entropy grad rows", s,
                time_us([&] { nnrt_cuda_xent_grad_rows(ctx, Z, ids, L, 0, G, T, V); }), 0, 2 * zb);
            snprintf(s, sizeof s, "%d rows of [%lld,%d]", T, (long long)V, H);
            double rb = 4.0 * T * H;
            row("gather rows", s, time_us([&] { nnrt_cuda_gather_rows(ctx, W, V, H, ids, T, Y); }), 0, 2 * rb);
            row("scatter-add rows", s,
                time_us([&] { nnrt_cuda_scatter_add_rows(ctx, W2, V, H, ids, T, Y, 0); }), 0, 3 * rb);
            row("sgd rows (ids)", s, time_us([&] { nnrt_cuda_sgd_update_ids(ctx, W, W2, V, H, ids, T, 1e-9f); }), 0,
                3 * rb);
        }
    /* batched hier's scatter (examples/rnnlm.nn --batch=32 --softmax=hier,
     * T = 5): 160 paths of 40 nodes into [V, 128], each path padded past
     * its 14th node with the root's id, so 4160 of the 6400 entries name
     * one row, and the others spread */
    {
        enum { NE = 6400, PL = 40 };
        static int32_t hid[NE];
        for (int e = 0; e < NE; e++)
            hid[e] = e % PL < 14 ? (int32_t)(((int64_t)e * 7919 + (e % PL) * 104729) % (V - 2)) : (int32_t)(V - 2);
        int32_t *dh = ids + 128;
        float *S = (float *)(dh + NE);
        cudaMemset(S, 0, sizeof(float) * NE * 128);
        cudaMemcpy(dh, hid, sizeof hid, cudaMemcpyHostToDevice);
        row("scatter-add rows (hier)", "6400 rows, 4160 of one", time_us([&] {
                nnrt_cuda_scatter_add_rows(ctx, W2, V, 128, dh, NE, S, 0);
            }), 0, 4.0 * NE * 128);
    }
    /* a call's fixed cost, by the host's clock: one upload of 64 bytes, a
     * one-row gather, the download of 4 bytes and the error word, the wait;
     * then the same with 100 gathers, for the host's cost of a launch */
    for (int nk = 1; nk <= 100; nk += 99) {
        float hin[16] = {0}, hout = 0;
        nnrt_cuda_xfer o = {&hout, Y, sizeof hout};
        double t0 = wall_us();
        for (int i = 0; i < iters; i++) {
            nnrt_cuda_begin(ctx);
            TRY(nnrt_cuda_upload(ctx, X, hin, sizeof hin));
            for (int k = 0; k < nk; k++)
                TRY(nnrt_cuda_gather_rows(ctx, W, V, 1, ids, 1, Y));
            TRY(nnrt_cuda_end(ctx, &o, 1));
        }
        row(nk == 1 ? "call: up, 1 launch, down" : "call: up, 100 launches, down", "host clock",
            (wall_us() - t0) / iters, 0, 0);
    }
    char s[64];
    snprintf(s, sizeof s, "[%lld,%d]", (long long)V, 256);
    double wb = 4.0 * V * 256;
    row("sgd dense", s, time_us([&] { nnrt_cuda_sgd_update(ctx, W, W2, V * 256, 1e-9f); }), 0, 3 * wb);
    int step = 1;
    row("adam", s, time_us([&] { nnrt_cuda_adam_update(ctx, W, W2, M1, M2, V * 256, 1e-9, 0.9, 0.999, 1e-8, step++); }),
        0, 7 * wb);
    row("adagrad", s, time_us([&] { nnrt_cuda_adagrad_update(ctx, W, W2, M1, V * 256, 1e-9, 1e-10); }), 0, 5 * wb);
    nnrt_cuda_ctx_destroy(ctx);
    return 0;
}
