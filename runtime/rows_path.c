/*
 * rows_path.c - the rows ops on hier's paths (compiler/backend/c_gather.c
 * calls these where the ids are hier_path's): each group of n ids is one
 * target's path in the Huffman tree, its inner nodes first, then the pad
 * id up to n (docs/APPROX.md, "hier_path"). The pad id (the table's last
 * row, V - 1, never an inner node) stands for nothing: its entries'
 * labels are -1, so their logits are not read and their gradients are 0.
 * These loops stop a group at its first pad id, so a path costs its own
 * length, not the longest one's (PTB's tree: 9.4 nodes on average, 21 at
 * most). Otherwise they are runtime/rows.c's loops: the same sums in the
 * same order, so the results equal those of the padded ops and of the
 * gathers they replace (a pad entry adds 0 there).
 *
 * class's ranges (pad NNRT_PAD_RANGE) go the same way: a word's class is
 * a range of ids padded to 4 V / c with its first id, and a group ends
 * where that id comes again (a range's ids are distinct). The class loss
 * reads only the range's logits and gives the pad entries gradient 0.
 *
 * nnrt_path_scatter also lists the rows it adds into for the sparse
 * update, each once: a row is listed when it was all zero bits before its
 * add. Rows not listed by the last call are zero (the generated code
 * clears the listed ones first), so a row's first add in a call always
 * lists it; a later add lists it again only if the sums so far came to
 * +0 exactly (a harmless repeat: the update finds zeros). The root, on
 * every path, was listed once per path.
 */
#include <stdint.h>
#include <string.h>

#include "nnrt_abi.h"
#include "nnrt_approx.h"
#include "rt_internal.h"

/* nnrt_prefetch_row (rt_internal.h) of the id AHEAD places later in ids,
 * unless it is the pad. */
enum { AHEAD = NNRT_ROWS_AHEAD };

static inline void prefetch_ahead(const float *W, int64_t H, const int32_t *ids, int64_t at, int64_t N, int32_t pad,
                                  int write)
{
    if (at + AHEAD < N && ids[at + AHEAD] != pad)
        nnrt_prefetch_row(W + (int64_t)ids[at + AHEAD] * H, H, write);
}

/* The number of real ids of a group: those before its first pad (pad
 * NNRT_PAD_RANGE: before the first repeat of its first id). */
static inline int64_t path_len(const int32_t *ids, int64_t n, int32_t pad)
{
    int64_t j = 0;
    if (pad == NNRT_PAD_RANGE) {
        j = n > 0;
        while (j < n && ids[j] != ids[0])
            j++;
        return j;
    }
    while (j < n && ids[j] != pad)
        j++;
    return j;
}

NNRT_WIDE_CLONES void nnrt_path_dot(const float *W, int64_t H, const int32_t *ids, int64_t N, int64_t n,
                                    int32_t pad, const float *h, float *out)
{
    for (int64_t p = 0; p < N / n; p++) {
        const int32_t *ip = ids + p * n;
        const int64_t len = path_len(ip, n, pad);
        const float *hp = h + p * H;
        int64_t j = 0;
        for (; j + 4 <= len; j += 4) { /* four rows side by side (the same sums) */
            for (int q = 0; q < 4; q++)
                prefetch_ahead(W, H, ids, p * n + j + q, N, pad, 0);
            nnrt_dot16x4(W, H, ip + j, hp, out + p * n + j);
        }
        if (j < len) /* the last one to three */
            nnrt_dot16_some(W, H, ip + j, len - j, hp, out + p * n + j);
        for (int64_t j = len; j < n; j++)
            out[p * n + j] = 0.0f; /* not read: its label is -1 */
    }
}

NNRT_WIDE_CLONES void nnrt_path_wsum(const float *W, int64_t H, const int32_t *ids, int64_t N, int64_t n,
                                     int32_t pad, const float *g, float *out)
{
    for (int64_t p = 0; p < N / n; p++) {
        const int32_t *ip = ids + p * n;
        const int64_t len = path_len(ip, n, pad);
        float *restrict o = out + p * H;
        memset(o, 0, (size_t)H * sizeof *o);
        int64_t j = 0;
        for (; j + 4 <= len; j += 4) { /* four rows per pass over o (each element's adds in order) */
            for (int q = 0; q < 4; q++)
                prefetch_ahead(W, H, ids, p * n + j + q, N, pad, 0);
            nnrt_wsum4(o, H, W, ip + j, g + p * n + j);
        }
        for (; j < len; j++) {
            prefetch_ahead(W, H, ids, p * n + j, N, pad, 0);
            const float s = g[p * n + j], *restrict w = W + (int64_t)ip[j] * H;
            for (int64_t k = 0; k < H; k++)
                o[k] += w[k] * s;
        }
    }
}

NNRT_WIDE_CLONES void nnrt_path_scatter_m(float *dst, int64_t H, const int32_t *ids, int64_t N, int64_t n,
                                          int32_t pad, int64_t m, const float *const *g, const float *const *h,
                                          int32_t *touched, int64_t *ntouched)
{
    int64_t nt = *ntouched;
    for (int64_t p = 0; p < N / n; p++) {
        const int32_t *ip = ids + p * n;
        const int64_t len = path_len(ip, n, pad);
        for (int64_t j = 0; j < len; j++) {
            prefetch_ahead(dst, H, ids, p * n + j, N, pad, 1);
            float *restrict d = dst + (int64_t)ip[j] * H;
            uint32_t bits = 0; /* the row's bits before the first add, read in that add's pass */
            for (int64_t q = 0; q < m; q++) {
                const float s = g[q][p * n + j], *restrict hp = h[q] + p * H;
                if (q == 0)
                    for (int64_t k = 0; k < H; k++) {
                        uint32_t b;
                        memcpy(&b, &d[k], sizeof b);
                        bits |= b;
                        d[k] += s * hp[k];
                    }
                else
                    for (int64_t k = 0; k < H; k++)
                        d[k] += s * hp[k];
            }
            if (touched && bits == 0)
                touched[nt++] = ip[j];
        }
    }
    *ntouched = nt;
}

void nnrt_path_scatter(float *dst, int64_t H, const int32_t *ids, int64_t N, int64_t n, int32_t pad, const float *g,
                       const float *h, int32_t *touched, int64_t *ntouched)
{
    nnrt_path_scatter_m(dst, H, ids, N, n, pad, 1, &g, &h, touched, ntouched);
}

void nnrt_path_count(const int32_t *ids, int64_t N, int64_t n, int32_t pad, int32_t *left)
{
    for (int64_t p = 0; p < N / n; p++) {
        const int32_t *ip = ids + p * n;
        const int64_t len = path_len(ip, n, pad);
        for (int64_t j = 0; j < len; j++)
            left[ip[j]]++;
    }
}

/* nnrt_sgd_row (rt_internal.h) for the m products s[q] h[q] of one row
 * in turn, in one pass over the row: each element's sum goes through
 * the same adds in the same order, but stays in a register between them
 * (m calls stored and loaded the gradient row m times); *left counts the
 * row's visits (of m products each), not its products. */
static inline __attribute__((always_inline)) void sgd_row_m(float *restrict w, float *restrict gr, int64_t H,
                                                            int64_t m, const float *s, const float *const *h,
                                                            int32_t *left, float lr)
{
    const int32_t c = *left;
    const int first = c > 0;                     /* the row's first visit: its gradient row is zero */
    const int64_t rest = (first ? c : -c) - 1;  /* visits of the row still to come after this one */
    const int last = rest == 0;
    int64_t k = 0;
    for (; k + 128 <= H; k += 128) { /* eight vectors side by side: eight independent chains of adds */
        nnrt_v16 v[8];
        for (int b = 0; b < 8; b++)
            v[b] = first ? (nnrt_v16){0} : *(const nnrt_v16 *)(gr + k + 16 * b);
        for (int64_t q = 0; q < m; q++) {
            const float sq = s[q], *hq = h[q] + k;
            for (int b = 0; b < 8; b++)
                v[b] += sq * *(const nnrt_v16 *)(hq + 16 * b);
        }
        for (int b = 0; b < 8; b++) {
            if (last) {
                *(nnrt_v16 *)(w + k + 16 * b) -= lr * v[b];
                if (!first)
                    *(nnrt_v16 *)(gr + k + 16 * b) = (nnrt_v16){0};
            } else {
                *(nnrt_v16 *)(gr + k + 16 * b) = v[b];
            }
        }
    }
    for (; k + 16 <= H; k += 16) {
        nnrt_v16 v = first ? (nnrt_v16){0} : *(const nnrt_v16 *)(gr + k);
        for (int64_t q = 0; q < m; q++)
            v += s[q] * *(const nnrt_v16 *)(h[q] + k);
        if (last) {
            *(nnrt_v16 *)(w + k) -= lr * v;
            if (!first)
                *(nnrt_v16 *)(gr + k) = (nnrt_v16){0};
        } else {
            *(nnrt_v16 *)(gr + k) = v;
        }
    }
    for (; k < H; k++) {
        float v = first ? 0.0f : gr[k];
        for (int64_t q = 0; q < m; q++)
            v += s[q] * h[q][k];
        if (last) {
            w[k] -= lr * v;
            if (!first)
                gr[k] = 0.0f;
        } else {
            gr[k] = v;
        }
    }
    *left = last ? 0 : (int32_t)-rest;
}

NNRT_WIDE_CLONES void nnrt_path_scatter_sgd_m(float *W, float *g, int64_t H, const int32_t *ids, int64_t N,
                                              int64_t n, int32_t pad, int64_t m, const float *const *gs,
                                              const float *const *h, int32_t *left, float lr)
{
    for (int64_t p = 0; p < N / n; p++) {
        const int32_t *ip = ids + p * n;
        const int64_t len = path_len(ip, n, pad);
        for (int64_t j = 0; j < len; j++) {
            prefetch_ahead(W, H, ids, p * n + j, N, pad, 1);
            const int32_t id = ip[j];
            if (m == 1) { /* one product: nnrt_sgd_row (sgd_row_m here: 5% slower on hier) */
                nnrt_sgd_row(W + (int64_t)id * H, g + (int64_t)id * H, H, gs[0][p * n + j], h[0] + p * H, &left[id],
                             lr);
                continue;
            }
            float s[NNRT_PATH_SEG_MAX];
            const float *hp[NNRT_PATH_SEG_MAX];
            for (int64_t q = 0; q < m; q++)
                s[q] = gs[q][p * n + j], hp[q] = h[q] + p * H;
            sgd_row_m(W + (int64_t)id * H, g + (int64_t)id * H, H, m, s, hp, &left[id], lr);
        }
    }
}

void nnrt_path_scatter_sgd(float *W, float *g, int64_t H, const int32_t *ids, int64_t N, int64_t n, int32_t pad,
                           const float *gs, const float *h, int32_t *left, float lr)
{
    nnrt_path_scatter_sgd_m(W, g, H, ids, N, n, pad, 1, &gs, &h, left, lr);
}

void nnrt_hier_fill(const nnrt_huffman *t, int64_t y, int32_t *p, int64_t n, int32_t pad, int labels)
{
    const int64_t o = t->off[y], len = t->off[y + 1] - o;
    if (labels) {
        const uint8_t *restrict c = t->code + o;
        for (int64_t j = 0; j < len; j++)
            p[j] = 1 - (int32_t)c[j];
    } else {
        memcpy(p, t->point + o, (size_t)len * sizeof *p);
    }
    for (int64_t j = len; j < n; j++)
        p[j] = pad;
}
