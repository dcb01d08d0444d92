/*
 * stats.c - the numbers behind --stats: how much work the graph does.
 *
 * Counts nodes, nodes inside loops, and matrix products, both as written
 * (static counts) and as executed with every dynamic dim at its max (each
 * node counted once per iteration of the loops around it). A batching pass
 * shows up as GEMV calls turning into a few GEMM calls.
 */
#include "nngc.h"

typedef struct Stats {
    int64_t nodes, in_loops, loops;
    int64_t gemm, gemv;           /* static */
    double run_gemm, run_gemv;    /* executed, dims at max */
    double run_ops;               /* executed non-leaf nodes */
} Stats;

static void count(const Graph *g, const Block *b, double trips, int depth, Stats *st) {
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        st->nodes++;
        if (depth > 0)
            st->in_loops++;
        if (!(op_flags[n->op] & OPF_LEAF))
            st->run_ops += trips;
        if (n->op == OP_MATMUL || n->op == OP_BMM)
            st->gemm++, st->run_gemm += trips;
        if (n->op == OP_MATVEC)
            st->gemv++, st->run_gemv += trips;
        if (n->op == OP_LOOP) {
            st->loops++;
            int64_t t = size_max(g, size_sub(n->loop->hi, n->loop->lo), NULL);
            count(g, &n->loop->body, trips * (double)(t > 0 ? t : 0), depth + 1, st);
        }
    }
}

void ir_stats(const Graph *g, FILE *out, const char *after) {
    Stats st = {0};
    count(g, &g->top, 1.0, 0, &st);
    fprintf(out,
            "stats after %-8s nodes %4lld  loops %2lld  in loops %4lld  gemm %2lld gemv %2lld  "
            "executed (dims at max): ops %.0f gemm %.0f gemv %.0f\n",
            after, (long long)st.nodes, (long long)st.loops, (long long)st.in_loops, (long long)st.gemm,
            (long long)st.gemv, st.run_ops, st.run_gemm, st.run_gemv);
}
