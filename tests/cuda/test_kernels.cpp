/*
 * test_kernels.cpp - the CUDA runtime's kernels and GEMM wrappers against
 * the CPU runtime (runtime/softmax.c, optim.c, blas.c) and hand-computed
 * values, through the public ABI of nnrt_cuda.h only.
 *
 * Built two ways: as C++ against the host emulation (tests/cuda/run.sh,
 * every make test) and by nvcc for a real GPU (scripts/gpu-check.sh).
 * Prints "ok - ..." / "not ok - ..." lines; exits 1 if a check failed.
 */
#include <stdlib.h>

#include "../../runtime/cuda/nnrt_cuda.h"
#include "../../runtime/nnrt_abi.h" /* the CPU references */
#include "check.h"

static nnrt_cuda_ctx *ctx;
static char *arena;
static size_t arena_used;
enum { ARENA = 8 << 20, STAGING = 4 << 20 };

/* a region of the arena, as the compiler's plan would give (256-aligned) */
static void *dev(size_t bytes) {
    size_t at = (arena_used + 255) & ~(size_t)255;
    if (at + bytes > ARENA) {
        fprintf(stderr, "test_kernels: arena too small\n");
        exit(1);
    }
    arena_used = at + bytes;
    return arena + at;
}

static nnrt_rng rng;

static void randn(float *x, long n, float std) {
    for (long i = 0; i < n; i++)
        x[i] = nnrt_rng_normal(&rng, 0.0f, std);
}

/* one call: upload src (bytes) to d, run f, download n results */
static int up(void *d, const void *src, size_t bytes) { return nnrt_cuda_upload(ctx, d, src, bytes); }

static float *falloc(long n) { return (float *)calloc((size_t)(n > 0 ? n : 1), sizeof(float)); }

/* |got - want| <= rel |want| for each element (NaN/inf must match); -1 or the first index that is not */
static long first_rel(const float *got, const float *want, long n, float rel) {
    for (long i = 0; i < n; i++) {
        float a = got[i], b = want[i];
        if (a != a || b != b || isinf(a) || isinf(b)) {
            if (!((a != a && b != b) || a == b))
                return i;
        } else if (fabsf(a - b) > rel * fabsf(b) + 1e-30f)
            return i;
    }
    return -1;
}

/* ---------------------------------------------------------------- rows */

static void test_rows(long rows, long n) {
    long cnt = rows * n;
    float *z = falloc(cnt), *sm = falloc(cnt), *lsm = falloc(cnt), *lse = falloc(rows);
    float *rsm = falloc(cnt), *rlsm = falloc(cnt), *rlse = falloc(rows);
    randn(z, cnt, 3.0f);
    if (rows >= 4 && n >= 2) { /* the edge rows of softmax.c */
        z[1 * n + 1] = INFINITY;
        for (long j = 0; j < n; j++)
            z[2 * n + j] = -INFINITY;
        z[3 * n + n - 1] = NAN;
    }
    arena_used = 0;
    float *dz = (float *)dev(cnt * 4), *dsm = (float *)dev(cnt * 4), *dlsm = (float *)dev(cnt * 4),
          *dlse = (float *)dev(rows * 4);
    nnrt_cuda_begin(ctx);
    int rc = up(dz, z, cnt * 4);
    rc = rc ? rc : nnrt_cuda_softmax_rows(ctx, dz, dsm, rows, n);
    rc = rc ? rc : nnrt_cuda_log_softmax_rows(ctx, dz, dlsm, rows, n);
    rc = rc ? rc : nnrt_cuda_logsumexp_rows(ctx, dz, dlse, rows, n);
    nnrt_cuda_xfer out[3] = {{sm, dsm, (size_t)cnt * 4}, {lsm, dlsm, (size_t)cnt * 4}, {lse, dlse, (size_t)rows * 4}};
    rc = rc ? rc : nnrt_cuda_end(ctx, out, 3);
    CHECK(rc == NNRT_OK, "rows %ldx%ld: softmax, log-softmax, logsumexp run", rows, n);
    if (rc)
        NOTE("%s", nnrt_last_error());
    nnrt_cuda_stats s = nnrt_cuda_get_stats(ctx);
    CHECK(s.h2d_copies == 1 && s.h2d_bytes == cnt * 4 && s.d2h_copies == 4 && s.launches == 3 && s.gemms == 0,
          "rows %ldx%ld: one upload, three results and the error word down, three launches", rows, n);
    for (long r = 0; r < rows; r++) {
        nnrt_softmax(z + r * n, rsm + r * n, n);
        nnrt_log_softmax(z + r * n, rlsm + r * n, n);
        rlse[r] = nnrt_logsumexp(z + r * n, n);
    }
    long i = first_rel(sm, rsm, cnt, 1e-5f);
    CHECK(i < 0, "rows %ldx%ld: softmax matches nnrt_softmax (rel 1e-5)", rows, n);
    if (i >= 0)
        NOTE("[%ld] %.9g, CPU %.9g", i, sm[i], rsm[i]);
    i = first_far(lsm, rlsm, cnt, 1e-5f);
    CHECK(i < 0, "rows %ldx%ld: log-softmax matches nnrt_log_softmax", rows, n);
    if (i >= 0)
        NOTE("[%ld] %.9g, CPU %.9g", i, lsm[i], rlsm[i]);
    i = first_far(lse, rlse, rows, 1e-6f);
    CHECK(i < 0, "rows %ldx%ld: logsumexp matches nnrt_logsumexp", rows, n);
    if (i >= 0)
        NOTE("[%ld] %.9g, CPU %.9g", i, lse[i], rlse[i]);
    free(z), free(sm), free(lsm), free(lse), free(rsm), free(rlsm), free(rlse);
}

/* ---------------------------------------------------------------- cross-entropy */

static void test_xent(void) {
    enum { R = 5, N = 37 };
    float z[R * N], loss[R], dz1[R * N], dz2[R * N], dl[R] = {1.0f, 0.5f, -2.0f, 0.25f, 3.0f}, scalar = 0.75f;
    int32_t y[R] = {0, 36, 5, 5, 17};
    randn(z, R * N, 2.0f);
    arena_used = 0;
    float *dz = (float *)dev(sizeof z), *dloss = (float *)dev(sizeof loss), *ddl = (float *)dev(sizeof dl),
          *dsc = (float *)dev(4), *dg1 = (float *)dev(sizeof z), *dg2 = (float *)dev(sizeof z);
    int32_t *dy = (int32_t *)dev(sizeof y);
    nnrt_cuda_begin(ctx);
    int rc = up(dz, z, sizeof z);
    rc = rc ? rc : up(dy, y, sizeof y);
    rc = rc ? rc : up(ddl, dl, sizeof dl);
    rc = rc ? rc : up(dsc, &scalar, 4);
    rc = rc ? rc : nnrt_cuda_xent_rows(ctx, dz, dy, dloss, R, N);
    rc = rc ? rc : nnrt_cuda_xent_grad_rows(ctx, dz, dy, ddl, 1, dg1, R, N);
    rc = rc ? rc : nnrt_cuda_xent_grad_rows(ctx, dz, dy, dsc, 0, dg2, R, N);
    nnrt_cuda_xfer out[3] = {{loss, dloss, sizeof loss}, {dz1, dg1, sizeof dz1}, {dz2, dg2, sizeof dz2}};
    rc = rc ? rc : nnrt_cuda_end(ctx, out, 3);
    CHECK(rc == NNRT_OK, "cross-entropy and its gradient run");
    int lok = 1, gok = 1;
    for (int r = 0; r < R; r++) {
        float p[N];
        nnrt_softmax(z + r * N, p, N);
        lok &= close_to(loss[r], nnrt_logsumexp(z + r * N, N) - z[r * N + y[r]], 1e-5f);
        for (int j = 0; j < N; j++) {
            float want = p[j] - (j == y[r] ? 1.0f : 0.0f);
            gok &= close_to(dz1[r * N + j], want * dl[r], 1e-5f) && close_to(dz2[r * N + j], want * scalar, 1e-5f);
        }
    }
    CHECK(lok, "cross-entropy = logsumexp - z[y] of each row");
    CHECK(gok, "cross-entropy gradient = (softmax - onehot(y)) * dl, per row and scalar dl");

    int32_t bad[R] = {0, 1, 2, 37, 3};
    nnrt_cuda_begin(ctx);
    rc = up(dy, bad, sizeof bad);
    rc = rc ? rc : nnrt_cuda_xent_rows(ctx, dz, dy, dloss, R, N);
    nnrt_cuda_xfer o1 = {loss, dloss, sizeof loss};
    rc = rc ? rc : nnrt_cuda_end(ctx, &o1, 1);
    CHECK(rc == NNRT_ERR_RANGE && strstr(nnrt_last_error(), "label 37 out of range [0, 37)"),
          "a label out of range is a range error naming it");
    if (rc != NNRT_ERR_RANGE)
        NOTE("rc %d: %s", rc, nnrt_last_error());
    nnrt_cuda_begin(ctx);
    rc = up(dy, y, sizeof y);
    rc = rc ? rc : nnrt_cuda_xent_rows(ctx, dz, dy, dloss, R, N);
    rc = rc ? rc : nnrt_cuda_end(ctx, &o1, 1);
    CHECK(rc == NNRT_OK, "the next call after a range error runs clean");
}

/* ---------------------------------------------------------------- gather / scatter */

static void test_gather_scatter(void) {
    enum { V = 10, D = 3 };
    float table[V * D], got[4 * D];
    for (int i = 0; i < V; i++)
        for (int j = 0; j < D; j++)
            table[i * D + j] = (float)(i * 10 + j);
    int32_t ids[4] = {3, 0, 3, 9};
    arena_used = 0;
    float *dt = (float *)dev(sizeof table), *dout = (float *)dev(sizeof got);
    int32_t *dids = (int32_t *)dev(sizeof ids);
    nnrt_cuda_begin(ctx);
    int rc = up(dt, table, sizeof table);
    rc = rc ? rc : up(dids, ids, sizeof ids);
    rc = rc ? rc : nnrt_cuda_gather_rows(ctx, dt, V, D, dids, 4, dout);
    nnrt_cuda_xfer o = {got, dout, sizeof got};
    rc = rc ? rc : nnrt_cuda_end(ctx, &o, 1);
    const float want[4 * D] = {30, 31, 32, 0, 1, 2, 30, 31, 32, 90, 91, 92};
    CHECK(rc == NNRT_OK && memcmp(got, want, sizeof want) == 0, "gather rows {3, 0, 3, 9} of a 10x3 table");

    int32_t bad[4] = {3, -1, 10, 2};
    nnrt_cuda_begin(ctx);
    rc = up(dids, bad, sizeof bad);
    rc = rc ? rc : nnrt_cuda_gather_rows(ctx, dt, V, D, dids, 4, dout);
    rc = rc ? rc : nnrt_cuda_end(ctx, &o, 1);
    CHECK(rc == NNRT_ERR_RANGE && strstr(nnrt_last_error(), "gather: row id") &&
              strstr(nnrt_last_error(), "out of range [0, 10)"),
          "gather: an id out of range is a range error (%s)", nnrt_last_error());
    /* two kernels of the same kind fail in one call: the error names the
     * lowest position's id with its own table's bound (the second, a
     * 4-row view, fails at position 2 with id 7; it once left its bound
     * 4 beside the first one's id -1) */
    int32_t bad2[4] = {0, 0, 7, 0};
    int32_t *dids2 = (int32_t *)dev(sizeof bad2);
    nnrt_cuda_begin(ctx);
    rc = up(dids, bad, sizeof bad);
    rc = rc ? rc : up(dids2, bad2, sizeof bad2);
    rc = rc ? rc : nnrt_cuda_gather_rows(ctx, dt, V, D, dids, 4, dout);
    rc = rc ? rc : nnrt_cuda_gather_rows(ctx, dt, 4, D, dids2, 4, dout);
    rc = rc ? rc : nnrt_cuda_end(ctx, &o, 1);
    CHECK(rc == NNRT_ERR_RANGE && strstr(nnrt_last_error(), "gather: row id -1 out of range [0, 10) (element 1)"),
          "gather: two kernels out of range, the error's id and bound are one kernel's (%s)", nnrt_last_error());

    /* scatter-add by hand: rows 1 and 3 listed (1 twice), zeroed first; the others keep 7 */
    enum { V2 = 5, D2 = 2 };
    float dst[V2 * D2], src[3 * D2] = {1, 2, 3, 4, 5, 6};
    int32_t sids[3] = {1, 3, 1};
    for (int i = 0; i < V2 * D2; i++)
        dst[i] = 7.0f;
    float *dd = (float *)dev(sizeof dst), *ds = (float *)dev(sizeof src);
    int32_t *dsids = (int32_t *)dev(sizeof sids);
    nnrt_cuda_begin(ctx);
    rc = up(dd, dst, sizeof dst);
    rc = rc ? rc : up(ds, src, sizeof src);
    rc = rc ? rc : up(dsids, sids, sizeof sids);
    rc = rc ? rc : nnrt_cuda_scatter_add_rows(ctx, dd, V2, D2, dsids, 3, ds, 1);
    nnrt_cuda_xfer o2 = {dst, dd, sizeof dst};
    rc = rc ? rc : nnrt_cuda_end(ctx, &o2, 1);
    const float want2[V2 * D2] = {7, 7, 6, 8, 7, 7, 3, 4, 7, 7};
    CHECK(rc == NNRT_OK && memcmp(dst, want2, sizeof want2) == 0, "scatter-add rows {1, 3, 1}, zeroed first");

    /* random, many duplicates: the CPU's sums in the CPU's order, bit for
     * bit; 200 rows (one chunk of the kernel's, 300 columns: two column
     * tiles), and 700 rows whose first 300 list row 7 (a chunk all hits,
     * an id's rows over three chunks) */
    enum { V3 = 50, D3 = 300, N3 = 700 };
    const int64_t cases[2][2] = {{200, 300}, {700, 130}}; /* rows, columns */
    for (int t = 0; t < 2; t++) {
        int64_t nr = cases[t][0], nc = cases[t][1];
        float *g = falloc(V3 * D3), *cpu = falloc(V3 * D3), *rows = falloc(N3 * D3);
        int32_t rid[N3];
        randn(g, V3 * nc, 1.0f);
        randn(rows, nr * nc, 1.0f);
        memcpy(cpu, g, sizeof(float) * V3 * nc);
        for (int64_t r = 0; r < nr; r++)
            rid[r] = t == 1 && r < 300 ? 7 : (int32_t)(nnrt_rng_next(&rng) % V3);
        for (int64_t r = 0; r < nr; r++)
            for (int64_t j = 0; j < nc; j++)
                cpu[rid[r] * nc + j] += rows[r * nc + j];
        arena_used = 0;
        float *dg = (float *)dev(sizeof(float) * V3 * nc), *dr = (float *)dev(sizeof(float) * nr * nc);
        int32_t *drid = (int32_t *)dev(sizeof(int32_t) * nr);
        nnrt_cuda_begin(ctx);
        rc = up(dg, g, sizeof(float) * V3 * nc);
        rc = rc ? rc : up(dr, rows, sizeof(float) * nr * nc);
        rc = rc ? rc : up(drid, rid, sizeof(int32_t) * nr);
        rc = rc ? rc : nnrt_cuda_scatter_add_rows(ctx, dg, V3, nc, drid, nr, dr, 0);
        nnrt_cuda_xfer o3 = {g, dg, sizeof(float) * V3 * nc};
        rc = rc ? rc : nnrt_cuda_end(ctx, &o3, 1);
        CHECK(rc == NNRT_OK && first_diff(g, cpu, V3 * nc) < 0,
              "scatter-add of %lld random rows of %lld into 50%s: the CPU loop's sums bit for bit", (long long)nr,
              (long long)nc, t ? ", the first 300 into row 7" : "");
        free(g), free(cpu), free(rows);
    }
}

/* ---------------------------------------------------------------- optimizers */

static void test_optim(void) {
    enum { N = 1000, COLS = 7, VR = 40 };
    float *w = falloc(N), *g = falloc(N), *m = falloc(N), *v = falloc(N), *cw = falloc(N), *cm = falloc(N),
          *cv = falloc(N);
    randn(w, N, 1.0f);
    memcpy(cw, w, sizeof(float) * N);
    arena_used = 0;
    float *dw = (float *)dev(N * 4), *dg = (float *)dev(N * 4), *dm = (float *)dev(N * 4), *dv = (float *)dev(N * 4);
    /* SGD */
    randn(g, N, 0.1f);
    nnrt_sgd_update(cw, g, N, 0.05f);
    nnrt_cuda_begin(ctx);
    int rc = up(dw, w, N * 4);
    rc = rc ? rc : up(dg, g, N * 4);
    rc = rc ? rc : nnrt_cuda_sgd_update(ctx, dw, dg, N, 0.05f);
    nnrt_cuda_xfer o = {w, dw, N * 4};
    rc = rc ? rc : nnrt_cuda_end(ctx, &o, 1);
    CHECK(rc == NNRT_OK && first_diff(w, cw, N) < 0, "SGD: nnrt_sgd_update bit for bit");

    /* sparse SGD on listed rows, duplicates updated once */
    int32_t ids[6] = {5, 1, 5, 39, 0, 1}, cids[6];
    memcpy(cids, ids, sizeof ids);
    randn(w, VR * COLS, 1.0f);
    memcpy(cw, w, sizeof(float) * VR * COLS);
    randn(g, VR * COLS, 0.1f);
    nnrt_sgd_update_ids(cw, g, COLS, cids, 6, 0.5f);
    int32_t *dids = (int32_t *)dev(sizeof ids);
    nnrt_cuda_begin(ctx);
    rc = up(dw, w, VR * COLS * 4);
    rc = rc ? rc : up(dg, g, VR * COLS * 4);
    rc = rc ? rc : up(dids, ids, sizeof ids);
    rc = rc ? rc : nnrt_cuda_sgd_update_ids(ctx, dw, dg, VR, COLS, dids, 6, 0.5f);
    nnrt_cuda_xfer o2 = {w, dw, VR * COLS * 4};
    rc = rc ? rc : nnrt_cuda_end(ctx, &o2, 1);
    CHECK(rc == NNRT_OK && first_diff(w, cw, VR * COLS) < 0,
          "sparse SGD on rows {5, 1, 5, 39, 0, 1}: nnrt_sgd_update_ids bit for bit");
    int32_t bad[3] = {2, 40, 3};
    nnrt_cuda_begin(ctx);
    rc = up(dids, bad, sizeof bad);
    rc = rc ? rc : nnrt_cuda_sgd_update_ids(ctx, dw, dg, VR, COLS, dids, 3, 0.5f);
    rc = rc ? rc : nnrt_cuda_end(ctx, NULL, 0);
    CHECK(rc == NNRT_ERR_RANGE && strstr(nnrt_last_error(), "sparse SGD: row id 40 out of range [0, 40)"),
          "sparse SGD: a row id out of range is a range error (%s)", nnrt_last_error());

    /* Adam, 5 steps; then Adagrad, 5 steps: w and the state bit for bit */
    randn(w, N, 1.0f);
    memcpy(cw, w, sizeof(float) * N);
    memset(m, 0, sizeof(float) * N), memset(v, 0, sizeof(float) * N);
    memset(cm, 0, sizeof(float) * N), memset(cv, 0, sizeof(float) * N);
    nnrt_cuda_begin(ctx);
    rc = up(dw, w, N * 4);
    rc = rc ? rc : up(dm, m, N * 4);
    rc = rc ? rc : up(dv, v, N * 4);
    nnrt_cuda_end(ctx, NULL, 0);
    for (int step = 1; step <= 5 && rc == NNRT_OK; step++) {
        randn(g, N, step == 3 ? 10.0f : 0.01f);
        nnrt_adam_update(cw, g, cm, cv, N, 1e-3, 0.9, 0.999, 1e-8, step);
        nnrt_cuda_begin(ctx);
        rc = up(dg, g, N * 4);
        rc = rc ? rc : nnrt_cuda_adam_update(ctx, dw, dg, dm, dv, N, 1e-3, 0.9, 0.999, 1e-8, step);
        rc = rc ? rc : nnrt_cuda_end(ctx, NULL, 0);
    }
    nnrt_cuda_xfer o3[3] = {{w, dw, N * 4}, {m, dm, N * 4}, {v, dv, N * 4}};
    nnrt_cuda_begin(ctx);
    rc = rc ? rc : nnrt_cuda_end(ctx, o3, 3);
    long iw = first_diff(w, cw, N), im = first_diff(m, cm, N), iv = first_diff(v, cv, N);
    CHECK(rc == NNRT_OK && iw < 0 && im < 0 && iv < 0, "Adam, 5 steps: w, m and v as nnrt_adam_update, bit for bit");
    if (iw >= 0)
        NOTE("w[%ld] %.9g, CPU %.9g", iw, w[iw], cw[iw]);

    randn(w, N, 1.0f);
    memcpy(cw, w, sizeof(float) * N);
    memset(m, 0, sizeof(float) * N), memset(cm, 0, sizeof(float) * N);
    nnrt_cuda_begin(ctx);
    rc = up(dw, w, N * 4);
    rc = rc ? rc : up(dm, m, N * 4);
    rc = rc ? rc : nnrt_cuda_end(ctx, NULL, 0);
    for (int step = 1; step <= 5 && rc == NNRT_OK; step++) {
        randn(g, N, 0.3f);
        nnrt_adagrad_update(cw, g, cm, N, 0.01, 1e-10);
        nnrt_cuda_begin(ctx);
        rc = up(dg, g, N * 4);
        rc = rc ? rc : nnrt_cuda_adagrad_update(ctx, dw, dg, dm, N, 0.01, 1e-10);
        rc = rc ? rc : nnrt_cuda_end(ctx, NULL, 0);
    }
    nnrt_cuda_begin(ctx);
    rc = rc ? rc : nnrt_cuda_end(ctx, o3, 2);
    CHECK(rc == NNRT_OK && first_diff(w, cw, N) < 0 && first_diff(m, cm, N) < 0,
          "Adagrad, 5 steps: w and sum as nnrt_adagrad_update, bit for bit");
    free(w), free(g), free(m), free(v), free(cw), free(cm), free(cv);
}

/* The optimizers on a sparse gradient's rows: a list of 600 ids over 40
 * rows (every row many times, entries beyond the first 256: the blocks'
 * scans of earlier entries take several strides), against the CPU's
 * nnrt_sgd_update_ids_clear and nnrt_adagrad_update_ids bit for bit; a row
 * updated twice, or one left out, shows as a difference. Then the zeroing
 * of listed rows, and its counts. */
static void test_sparse_rows(void) {
    enum { VR = 40, COLS = 9, NIDS = 600, NW = VR * COLS };
    float w[NW], g[NW], s[NW], cw[NW], cg[NW], cs[NW];
    int32_t ids[NIDS], cids[NIDS];
    for (int k = 0; k < NIDS; k++)
        ids[k] = (int32_t)((k * 7 + k / 13) % (VR - 3)); /* rows 37..39 never listed */
    arena_used = 0;
    float *dw = (float *)dev(sizeof w), *dg = (float *)dev(sizeof g), *ds = (float *)dev(sizeof s);
    int32_t *dids = (int32_t *)dev(sizeof ids);
    randn(w, NW, 1.0f), randn(g, NW, 0.1f);
    memcpy(cw, w, sizeof w), memcpy(cg, g, sizeof g), memcpy(cids, ids, sizeof ids);
    nnrt_sgd_update_ids_clear(cw, cg, COLS, cids, NIDS, 0.5f);
    nnrt_cuda_begin(ctx);
    int rc = up(dw, w, sizeof w);
    rc = rc ? rc : up(dg, g, sizeof g);
    rc = rc ? rc : up(dids, ids, sizeof ids);
    rc = rc ? rc : nnrt_cuda_sgd_update_ids_clear(ctx, dw, dg, VR, COLS, dids, NIDS, 0.5f);
    nnrt_cuda_xfer o[3] = {{w, dw, sizeof w}, {g, dg, sizeof g}, {s, ds, sizeof s}};
    rc = rc ? rc : nnrt_cuda_end(ctx, o, 2);
    long iw = first_diff(w, cw, NW);
    CHECK(rc == NNRT_OK && iw < 0 && first_diff(g, cg, NW) < 0,
          "sparse SGD with clearing, 600 ids over 37 rows: w and g as nnrt_sgd_update_ids_clear, bit for bit");
    if (iw >= 0)
        NOTE("w[%ld] (row %ld) %.9g, CPU %.9g", iw, iw / COLS, w[iw], cw[iw]);

    /* Adagrad on the listed rows, 3 steps, the state starting at zero */
    memset(s, 0, sizeof s), memset(cs, 0, sizeof cs);
    randn(w, NW, 1.0f);
    memcpy(cw, w, sizeof w);
    nnrt_cuda_begin(ctx);
    rc = up(dw, w, sizeof w);
    rc = rc ? rc : up(ds, s, sizeof s);
    rc = rc ? rc : nnrt_cuda_end(ctx, NULL, 0);
    for (int step = 0; step < 3 && rc == NNRT_OK; step++) {
        randn(g, NW, 0.3f);
        for (int j = 37 * COLS; j < NW; j++) /* the rows no id lists are zero, as in a sparse gradient */
            g[j] = 0.0f;
        nnrt_adagrad_update_ids(cw, g, cs, COLS, cids, NIDS, 0.01, 1e-10);
        nnrt_cuda_begin(ctx);
        rc = up(dg, g, sizeof g);
        rc = rc ? rc : nnrt_cuda_adagrad_update_ids(ctx, dw, dg, ds, VR, COLS, dids, NIDS, 0.01, 1e-10);
        rc = rc ? rc : nnrt_cuda_end(ctx, NULL, 0);
    }
    nnrt_cuda_begin(ctx);
    o[1] = o[2];
    rc = rc ? rc : nnrt_cuda_end(ctx, o, 2);
    CHECK(rc == NNRT_OK && first_diff(w, cw, NW) < 0 && first_diff(s, cs, NW) < 0,
          "sparse Adagrad, 3 steps on 600 ids: w and sum as nnrt_adagrad_update_ids, bit for bit");

    /* zero the rows of 5 ids (one repeated): those rows, nothing else */
    int32_t zids[5] = {3, 0, 3, 39, 12};
    randn(g, NW, 1.0f);
    memcpy(cg, g, sizeof g);
    for (int k = 0; k < 5; k++)
        memset(cg + zids[k] * COLS, 0, COLS * sizeof(float));
    nnrt_cuda_begin(ctx);
    rc = up(dg, g, sizeof g);
    rc = rc ? rc : up(dids, zids, sizeof zids);
    rc = rc ? rc : nnrt_cuda_zero_rows(ctx, dg, VR, COLS, dids, 5);
    nnrt_cuda_xfer og = {g, dg, sizeof g};
    rc = rc ? rc : nnrt_cuda_end(ctx, &og, 1);
    nnrt_cuda_stats st = nnrt_cuda_get_stats(ctx);
    CHECK(rc == NNRT_OK && first_diff(g, cg, NW) < 0, "zero rows {3, 0, 3, 39, 12}: those rows, the others kept");
    CHECK(st.memsets == 1 && st.zero_bytes == 5 * COLS * 4 && st.launches == 0,
          "zero rows: one zero fill of 5 rows' bytes (%lld), no launch counted", (long long)st.zero_bytes);
    nnrt_cuda_begin(ctx);
    rc = nnrt_cuda_zero_rows(ctx, dg, VR, COLS, dids, -1);
    rc = rc ? rc : nnrt_cuda_end(ctx, &og, 1);
    st = nnrt_cuda_get_stats(ctx);
    memset(cg, 0, sizeof cg);
    CHECK(rc == NNRT_OK && first_diff(g, cg, NW) < 0 && st.memsets == 1 && st.zero_bytes == NW * 4,
          "zero rows, n = -1: the whole table, one zero fill of its bytes");
}

/* ---------------------------------------------------------------- GEMM */

/* C = alpha op(A) op(B) + beta C with padded strides, against nnrt_gemm */
static void test_gemm_case(int ta, int tb, long M, long N, long K, float alpha, float beta, long batch) {
    long ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    long lda = ac + 2, ldb = bc + 1, ldc = N + 3;
    long sa = ar * lda + 5, sb = br * ldb + 1, sc = M * ldc + 2;
    float *A = falloc(sa * batch), *B = falloc(sb * batch), *C = falloc(sc * batch), *R = falloc(sc * batch);
    randn(A, sa * batch, 1.0f);
    randn(B, sb * batch, 1.0f);
    randn(C, sc * batch, 1.0f);
    if (beta == 0.0f) /* never read */
        for (long i = 0; i < sc * batch; i++)
            C[i] = NAN;
    memcpy(R, C, sizeof(float) * (size_t)(sc * batch));
    for (long b = 0; b < batch; b++)
        nnrt_gemm(ta, tb, M, N, K, alpha, A + b * sa, lda, B + b * sb, ldb, beta, R + b * sc, ldc);
    for (long b = 0; b < batch; b++) /* padding stays as it was: compare it as 0 */
        for (long i = 0; i < sc; i++)
            if (i >= M * ldc || i % ldc >= N)
                R[b * sc + i] = C[b * sc + i] = 0.0f;
    arena_used = 0;
    float *dA = (float *)dev(sa * batch * 4), *dB = (float *)dev(sb * batch * 4), *dC = (float *)dev(sc * batch * 4);
    nnrt_cuda_begin(ctx);
    int rc = up(dA, A, sa * batch * 4);
    rc = rc ? rc : up(dB, B, sb * batch * 4);
    rc = rc ? rc : up(dC, C, sc * batch * 4);
    if (batch == 1)
        rc = rc ? rc : nnrt_cuda_gemm(ctx, ta, tb, M, N, K, alpha, dA, lda, dB, ldb, beta, dC, ldc);
    else
        rc = rc ? rc
                : nnrt_cuda_gemm_batched(ctx, ta, tb, M, N, K, alpha, dA, lda, sa, dB, ldb, sb, beta, dC, ldc, sc,
                                         batch);
    nnrt_cuda_xfer o = {C, dC, (size_t)(sc * batch) * 4};
    rc = rc ? rc : nnrt_cuda_end(ctx, &o, 1);
    long i = first_far(C, R, sc * batch, 1e-5f * (K > 1 ? K : 1));
    CHECK(rc == NNRT_OK && i < 0, "GEMM%s %c%c M=%ld N=%ld K=%ld alpha=%g beta=%g, padded strides: as nnrt_gemm",
          batch > 1 ? " batched" : "", ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, (double)alpha, (double)beta);
    if (rc)
        NOTE("%s", nnrt_last_error());
    else if (i >= 0)
        NOTE("[%ld] %.9g, nnrt_gemm %.9g", i, C[i], R[i]);
    free(A), free(B), free(C), free(R);
}

static void test_gemm(void) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            test_gemm_case(ta, tb, 5, 7, 3, 0.5f, 0.0f, 1);
            test_gemm_case(ta, tb, 33, 65, 17, 1.0f, 2.0f, 1);
        }
    test_gemm_case(0, 1, 4, 6, 0, 1.0f, 0.5f, 1); /* K = 0: C = beta C */
    test_gemm_case(1, 0, 6, 5, 4, 1.0f, 0.0f, 3);
    test_gemm_case(0, 0, 3, 9, 10, -1.0f, 1.0f, 4);
    float *d = (float *)dev(64);
    nnrt_cuda_begin(ctx);
    int rc = nnrt_cuda_gemm(ctx, 0, 0, 2, 4, 3, 1.0f, d, 2, d, 4, 0.0f, d, 4);
    nnrt_cuda_end(ctx, NULL, 0);
    CHECK(rc == NNRT_ERR_ARG && strstr(nnrt_last_error(), "lda=2"), "GEMM: lda shorter than a row is an argument error");

    /* one product, one batched: two GEMM calls, no kernel of ours */
    nnrt_cuda_begin(ctx);
    rc = nnrt_cuda_gemm(ctx, 0, 0, 2, 2, 2, 1.0f, d, 2, d, 2, 0.0f, d + 4, 2);
    rc = rc ? rc : nnrt_cuda_gemm_batched(ctx, 0, 0, 1, 2, 2, 1.0f, d, 2, 2, d, 2, 0, 0.0f, d + 8, 2, 2, 2);
    rc = rc ? rc : nnrt_cuda_end(ctx, NULL, 0);
    nnrt_cuda_stats s = nnrt_cuda_get_stats(ctx);
    CHECK(rc == NNRT_OK && s.gemms == 2 && s.launches == 0 && s.h2d_copies == 0 && s.d2h_copies == 1,
          "statistics: 2 GEMMs, no launch, no upload, the error word down");
}

static void test_copy_zero(void) {
    float a[6] = {1, 2, 3, 4, 5, 6}, got[8];
    arena_used = 0;
    float *da = (float *)dev(sizeof a), *db = (float *)dev(sizeof got);
    nnrt_cuda_begin(ctx);
    int rc = up(da, a, sizeof a);
    rc = rc ? rc : nnrt_cuda_zero(ctx, db, sizeof got);
    rc = rc ? rc : nnrt_cuda_copy(ctx, db + 1, da + 2, 3 * sizeof(float));
    nnrt_cuda_xfer o = {got, db, sizeof got};
    rc = rc ? rc : nnrt_cuda_end(ctx, &o, 1);
    const float want[8] = {0, 3, 4, 5, 0, 0, 0, 0};
    nnrt_cuda_stats s = nnrt_cuda_get_stats(ctx);
    CHECK(rc == NNRT_OK && memcmp(got, want, sizeof want) == 0, "device copy of 3 floats into a zeroed buffer");
    CHECK(s.d2d_copies == 1 && s.d2d_bytes == 12 && s.memsets == 1 && s.launches == 0,
          "statistics: one device copy of 12 bytes, one zero fill");
}

static void test_staging(void) {
    size_t big = STAGING + 64;
    char *h = (char *)calloc(big, 1);
    arena_used = 0;
    void *d = dev(big);
    nnrt_cuda_begin(ctx);
    int rc = nnrt_cuda_upload(ctx, d, h, STAGING / 2);
    int rc2 = nnrt_cuda_upload(ctx, d, h, STAGING / 2 + 64);
    nnrt_cuda_end(ctx, NULL, 0);
    CHECK(rc == NNRT_OK && rc2 == NNRT_ERR_ARG && strstr(nnrt_last_error(), "staging buffer"),
          "inputs beyond the staging buffer are an argument error: %s", nnrt_last_error());
    nnrt_cuda_xfer o = {h, d, big};
    nnrt_cuda_begin(ctx);
    rc = nnrt_cuda_end(ctx, &o, 1);
    CHECK(rc == NNRT_ERR_ARG, "results beyond the staging buffer are an argument error");
    free(h);
}

int main(void) {
    nnrt_rng_seed(&rng, 2024);
    int rc = nnrt_cuda_probe();
    CHECK(rc == NNRT_OK, "a CUDA device: %s", rc ? nnrt_last_error() : nnrt_cuda_device_name());
    if (rc)
        return 1;
    rc = nnrt_cuda_ctx_create(&ctx, ARENA, STAGING);
    CHECK(rc == NNRT_OK, "a context with an 8 MiB arena");
    if (rc) {
        NOTE("%s", nnrt_last_error());
        return 1;
    }
    arena = (char *)nnrt_cuda_arena(ctx);
    test_rows(6, 5);
    test_rows(5, 300);
    test_rows(4, 1000);
    test_rows(1, 10000);
    test_rows(3, 1);
    test_xent();
    test_gather_scatter();
    test_optim();
    test_sparse_rows();
    test_gemm();
    test_copy_zero();
    test_staging();
    nnrt_cuda_ctx_destroy(ctx);
    return checks_failed ? 1 : 0;
}
