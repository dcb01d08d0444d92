/*
 * bound.c - the parts of an examples/rnnlm.nn training step that set the
 * bound on `nngc --batch=B` against one sentence per step (tests/batch/
 * bench.sh), timed alone in one program with this process's CPU time:
 *
 *   fwd  logits = h Wo^T           nnrt_gemm(0, 1, M, V, H)
 *   dh   dlogits Wo                nnrt_gemm(0, 0, M, H, V)
 *   dWo  dlogits^T h               nnrt_gemm(1, 0, V, H, M)
 *   rows the softmax of each row as generated code does it: its
 *        logsumexp (nn_lse), then dlogits = exp(z - lse) - onehot in one
 *        loop (the train graph's fused op) with the bias gradient added
 *        up in it: work per word, which no batch size shrinks
 *   adam nnrt_adam_update over all of rnnlm's params (once per step)
 *
 * for M = T (one sentence of T words, as the program as written runs its
 * output layer after the batch pass hoisted it) and M = T x B (a batch).
 * The products go through nnrt_gemm, so they take the path generated code
 * takes (the runtime's own kernel for skinny products, OpenBLAS for the
 * rest; NNRT_GEMM=blas: OpenBLAS for all). Prints microseconds per word
 * (per row of the output layer) for each part and M.
 *
 *   bound [T (25)] [B (32)] [SECONDS per measurement (1)]
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include "nnrt_abi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { V = 10000, H = 128, NPARAMS = 1954704 }; /* examples/rnnlm.nn */

static double cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *randn(size_t n, uint64_t *r) {
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!p)
        exit((fprintf(stderr, "out of memory\n"), 1));
    for (size_t i = 0; i < n; i++) {
        *r ^= *r << 13, *r ^= *r >> 7, *r ^= *r << 17;
        p[i] = (float)((double)(*r >> 11) / 9007199254740992.0 - 0.5) * 0.1f;
    }
    return p;
}

/* the rows part: logsumexp per row, then the softmax gradient (label
 * y = row % V) into dz and its column sums into db */
static void softmax_rows(int64_t M, const float *z, float *dz, float *db) {
    memset(db, 0, sizeof(float) * V);
    for (int64_t r = 0; r < M; r++) {
        const float lse = nnrt_lse_row(z + r * V, V);
        const int64_t y = r % V;
        for (int64_t j = 0; j < V; j++) {
            const float d = nnrt_expf(z[r * V + j] - lse) - (j == y ? 1.0f : 0.0f);
            dz[r * V + j] = d;
            db[j] += d;
        }
    }
}

/* CPU seconds per call of part `what` with M rows, over about `secs` */
static double time_part(int what, int64_t M, double secs, float *h, float *wo, float *z, float *dz, float *dh,
                        float *dwo, float *w, float *g, float *m, float *v) {
    long calls = 0;
    double c0 = cpu(), c;
    do {
        switch (what) {
        case 0: nnrt_gemm(0, 1, M, V, H, 1.0f, h, H, wo, H, 0.0f, z, V); break;
        case 1: nnrt_gemm(0, 0, M, H, V, 1.0f, z, V, wo, H, 0.0f, dh, H); break;
        case 2: nnrt_gemm(1, 0, V, H, M, 1.0f, z, V, h, H, 0.0f, dwo, H); break;
        case 3: softmax_rows(M, z, dz, dh); break;
        default: nnrt_adam_update(w, g, m, v, NPARAMS, 1e-3, 0.9, 0.999, 1e-8, calls + 1);
        }
        calls++;
    } while ((c = cpu() - c0) < secs);
    return c / (double)calls;
}

int main(int argc, char **argv) {
    int64_t T = argc > 1 ? atoll(argv[1]) : 25, B = argc > 2 ? atoll(argv[2]) : 32;
    double secs = argc > 3 ? atof(argv[3]) : 1.0;
    if (T < 1 || T > 100 || B < 1 || B > 64 || !(secs > 0))
        return fprintf(stderr, "usage: bound [T (1..100)] [B (1..64)] [SECONDS]\n"), 2;
    uint64_t r = 88172645463325252ull;
    float *h = randn((size_t)(T * B * H), &r), *wo = randn((size_t)V * H, &r), *z = randn((size_t)(T * B * V), &r);
    float *dz = randn((size_t)(T * B * V), &r), *dh = randn((size_t)(T * B * H + V), &r);
    float *dwo = randn((size_t)V * H, &r);
    float *w = randn(NPARAMS, &r), *g = randn(NPARAMS, &r), *m = randn(NPARAMS, &r), *v = randn(NPARAMS, &r);
    for (size_t i = 0; i < NPARAMS; i++)
        v[i] = v[i] * v[i]; /* Adam's second moment is >= 0 */
    static const char *name[] = {"fwd h Wo^T", "dh = G Wo", "dWo = G^T h", "softmax rows", "adam (per step)"};
    double tot[2] = {0, 0};
    printf("T = %lld, B = %lld: microseconds per word (CPU time)\n", (long long)T, (long long)B);
    printf("%-16s %12s %12s %8s\n", "part", "M = T", "M = T x B", "ratio");
    for (int what = 0; what < 5; what++) {
        double us[2];
        for (int k = 0; k < 2; k++) {
            int64_t M = k ? T * B : T;
            us[k] = 1e6 * time_part(what, M, secs, h, wo, z, dz, dh, dwo, w, g, m, v) / (double)M;
            tot[k] += us[k];
        }
        printf("%-16s %12.2f %12.2f %7.2fx\n", name[what], us[0], us[1], us[0] / us[1]);
    }
    printf("%-16s %12.2f %12.2f %7.2fx\n", "sum", tot[0], tot[1], tot[0] / tot[1]);
    return 0;
}
