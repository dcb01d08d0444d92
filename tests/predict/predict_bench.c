/*
 * predict_bench.c - the CPU time of NAME_predict against NAME_forward on
 * examples/rnnlm.nn (V = 10000, H = 128), one sentence of 100 words, Zipf
 * counts (class's classes, hier's tree). Not run by the tests:
 *
 *   for s in full class:c=100 hier binary binary:hybrid=1000,ecc=8 embed; do
 *     build/nngc -O2 --softmax=$s examples/rnnlm.nn -o /tmp/rnnlm.c &&
 *     cc -O2 -Iruntime -I/tmp tests/predict/predict_bench.c /tmp/rnnlm.c build/libnngrt.a \
 *        -lopenblas -lm -lpthread -o /tmp/pb && OPENBLAS_NUM_THREADS=1 /tmp/pb $s; done
 */
#include <stdio.h>
#include <time.h>

#include "rnnlm.h"

static double cpu_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    enum { V = 10000, T = 100, N = 20 };
    static int64_t counts[V];
    static int32_t words[T + 1], got[T];
    for (int i = 0; i < V; i++)
        counts[i] = 1000000 / (i + 1) + 1;
    for (int i = 0; i <= T; i++)
        words[i] = (int32_t)((i * 7919) % V);
    rnnlm *m = rnnlm_create(1);
    if (!m || (rnnlm_desc.set_counts && rnnlm_desc.set_counts(m, counts, V) != NNRT_OK))
        return 1;
    rnnlm_inputs in = {.T = T, .words = words};
    rnnlm_outputs out;
    int64_t n;
    double f = 0, p = 0;
    for (int r = 0; r <= N; r++) { /* the first of each: warm-up */
        double t0 = cpu_ms();
        if (rnnlm_forward(m, &in, &out) != NNRT_OK)
            return 1;
        double t1 = cpu_ms();
        if (rnnlm_predict(m, &in, got, T, &n) != NNRT_OK) {
            fprintf(stderr, "%s\n", nnrt_last_error());
            return 1;
        }
        double t2 = cpu_ms();
        if (r) {
            f += t1 - t0;
            p += t2 - t1;
        }
    }
    printf("%-26s forward %8.3f ms  predict %8.3f ms  (x%.2f; %.1f us per position more)\n", argc > 1 ? argv[1] : "",
           f / N, p / N, p / f, (p - f) / N / T * 1e3);
    rnnlm_destroy(m);
    return 0;
}
