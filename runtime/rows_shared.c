/*
 * rows_shared.c - the rows pass's ops (runtime/rows.c) when some columns
 * of the ids are the same at every position: `share = batch` draws one
 * set of noise words per call (docs/APPROX.md), so the k noise ids of
 * each sampling site are column-constant over the [P, n] ids of a batched
 * program. Those columns' rows are then scored with one matrix product
 * (Zoph et al. 2015), as a GEMM against the positions' vectors:
 *
 *   rows_dot     Z[P, s]  = h[P, H] Wn[s, H]^T      (the noise logits)
 *   rows_wsum    out[P, H] += G[P, s] Wn[s, H]       (their share of dh)
 *   rows_scatter R[s, H]  = G[P, s]^T h[P, H]; dst[noise c] += R[c]
 *
 * with Wn the s shared rows copied once. The other columns (each
 * position's target) go row by row as in rows.c. The sums are a GEMM's,
 * so they round differently from rows.c's loops (tests compare with the
 * float64 references, not bit for bit). Each function returns 0, having
 * done nothing, when too few positions or columns share (or on no
 * memory): rows.c's loops run then.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nnrt_abi.h"
#include "rt_internal.h"

/* At least this many positions and shared columns, or rows.c's loops:
 * below, a product's set-up costs more than the rows it saves. */
enum { MIN_POSITIONS = 4, MIN_SHARED = 2 };

typedef struct Shared {
    int64_t P, s;   /* positions, shared columns */
    int64_t *col;   /* the shared columns, ascending */
    char *is;       /* n flags: column j shared */
    float *Wn;      /* [s, H]: their rows (rows_dot, rows_wsum) */
    float *G;       /* [P, s]: g at them (rows_wsum, rows_scatter) */
} Shared;

static void shared_free(Shared *sh)
{
    free(sh->col);
    free(sh->is);
    free(sh->Wn);
    free(sh->G);
}

/* Is column j of ids [P, n] the same id at every position? */
static bool col_shared(const int32_t *ids, int64_t P, int64_t n, int64_t j)
{
    int64_t p = 1;
    while (p < P && ids[p * n + j] == ids[j])
        p++;
    return p == P;
}

/* The columns of ids [N / n, n] equal at every position; false (nothing
 * held) when too few. rows: copy those rows of W into Wn; g: gather g's
 * entries at them into G. */
static bool shared_find(Shared *sh, const int32_t *ids, int64_t N, int64_t n, const float *W, int64_t H,
                        const float *g)
{
    memset(sh, 0, sizeof *sh);
    sh->P = n > 0 ? N / n : 0;
    if (sh->P < MIN_POSITIONS || n < MIN_SHARED)
        return false;
    /* counted before anything is allocated: every rows op of a call
     * without sharing comes here first, and leaves at its first column
     * that differs between the first two positions */
    int64_t shared = 0;
    for (int64_t j = 0; j < n && shared + (n - j) >= MIN_SHARED; j++)
        shared += col_shared(ids, sh->P, n, j);
    if (shared < MIN_SHARED)
        return false;
    sh->col = malloc(sizeof(int64_t) * (size_t)n);
    sh->is = calloc((size_t)n, 1);
    if (!sh->col || !sh->is) {
        shared_free(sh);
        return false;
    }
    for (int64_t j = 0; j < n; j++)
        if (col_shared(ids, sh->P, n, j))
            sh->is[j] = 1, sh->col[sh->s++] = j;
    if (W) {
        sh->Wn = malloc(sizeof(float) * (size_t)(sh->s * H));
        for (int64_t c = 0; sh->Wn && c < sh->s; c++)
            memcpy(sh->Wn + c * H, W + (int64_t)ids[sh->col[c]] * H, sizeof(float) * (size_t)H);
    }
    if (g) {
        sh->G = malloc(sizeof(float) * (size_t)(sh->P * sh->s));
        for (int64_t p = 0; sh->G && p < sh->P; p++)
            for (int64_t c = 0; c < sh->s; c++)
                sh->G[p * sh->s + c] = g[p * n + sh->col[c]];
    }
    if ((W && !sh->Wn) || (g && !sh->G)) {
        shared_free(sh);
        return false;
    }
    return true;
}

int nnrt_rows_dot_shared(const float *W, int64_t H, const int32_t *ids, int64_t N, int64_t n, const float *h,
                         float *out)
{
    Shared sh;
    if (!shared_find(&sh, ids, N, n, W, H, NULL))
        return 0;
    float *Z = malloc(sizeof(float) * (size_t)(sh.P * sh.s));
    if (!Z) {
        shared_free(&sh);
        return 0;
    }
    nnrt_gemm(0, 1, sh.P, sh.s, H, 1.0f, h, H, sh.Wn, H, 0.0f, Z, sh.s);
    for (int64_t p = 0; p < sh.P; p++) {
        for (int64_t c = 0; c < sh.s; c++)
            out[p * n + sh.col[c]] = Z[p * sh.s + c];
        for (int64_t j = 0; j < n; j++)
            if (!sh.is[j])
                out[p * n + j] = nnrt_dot16(H, W + (int64_t)ids[p * n + j] * H, h + p * H);
    }
    free(Z);
    shared_free(&sh);
    return 1;
}

int nnrt_rows_wsum_shared(const float *W, int64_t H, const int32_t *ids, int64_t N, int64_t n, const float *g,
                          float *out)
{
    Shared sh;
    if (!shared_find(&sh, ids, N, n, W, H, g))
        return 0;
    for (int64_t p = 0; p < sh.P; p++) {
        float *restrict o = out + p * H;
        memset(o, 0, sizeof(float) * (size_t)H);
        for (int64_t j = 0; j < n; j++) {
            if (sh.is[j])
                continue;
            const float s = g[p * n + j], *restrict w = W + (int64_t)ids[p * n + j] * H;
            for (int64_t k = 0; k < H; k++)
                o[k] += w[k] * s;
        }
    }
    nnrt_gemm(0, 0, sh.P, H, sh.s, 1.0f, sh.G, sh.s, sh.Wn, H, 1.0f, out, H);
    shared_free(&sh);
    return 1;
}

int nnrt_rows_scatter_shared(float *dst, int64_t H, const int32_t *ids, int64_t N, int64_t n, const float *g,
                             const float *h)
{
    Shared sh;
    if (!shared_find(&sh, ids, N, n, NULL, H, g))
        return 0;
    float *R = malloc(sizeof(float) * (size_t)(sh.s * H));
    if (!R) {
        shared_free(&sh);
        return 0;
    }
    for (int64_t p = 0; p < sh.P; p++)
        for (int64_t j = 0; j < n; j++) {
            if (sh.is[j])
                continue;
            const float s = g[p * n + j], *restrict hr = h + p * H;
            float *restrict d = dst + (int64_t)ids[p * n + j] * H;
            for (int64_t k = 0; k < H; k++)
                d[k] += s * hr[k];
        }
    nnrt_gemm(1, 0, sh.s, H, sh.P, 1.0f, sh.G, sh.s, h, H, 0.0f, R, H);
    for (int64_t c = 0; c < sh.s; c++) {
        float *restrict d = dst + (int64_t)ids[sh.col[c]] * H;
        for (int64_t k = 0; k < H; k++)
            d[k] += R[c * H + k];
    }
    free(R);
    shared_free(&sh);
    return 1;
}
