/*
 * approx_bench.c - ns per position of the softmax approximations' float32
 * steps against the full softmax step, one thread, in one process:
 *
 *   neg    5 alias draws + nnrt_neg_step (6 rows: dot, gh, row update)
 *   hier   nnrt_hier_step along the word's Huffman path
 *   full   z = W h (nnrt_gemv), log-softmax, g = p - onehot, gh = W^T g,
 *          W -= lr g h^T (rank-1 nnrt_gemm): the dense step at V words
 *
 * The vocabulary has Zipf counts (count(r) = 10^6 / r), targets are drawn
 * from the unigram distribution, hidden vectors are random. Times are the
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID). Build and run
 * from the repository root after `make`:
 *
 *   cc -O2 -Iruntime bench/approx_bench.c build/libnngrt.a \
 *      $(pkg-config --libs openblas) -lm -o build/approx_bench
 *   OPENBLAS_NUM_THREADS=1 build/approx_bench [V [H]]     # default 10000 100
 *   build/approx_bench sg FILE [H [EPOCHS]]               # default 100 1
 *   build/approx_bench sg-hs FILE [H [EPOCHS]]            # hierarchical softmax
 *
 * `sg` trains skip-gram with negative sampling on a text file the way
 * fastText's `skipgram -minn 0 -maxn 0 -bucket 0 -thread 1` does (min count
 * 5, window 5 shrunk at random, 5 negatives from unigram^0.5 redrawn when
 * equal to the target, subsampling t = 1e-4, lr 0.05 decaying linearly,
 * input rows U(-1/H, 1/H), output rows 0), one nnrt_neg_step per (word,
 * context) pair, and prints words/s (every token read, as fastText counts)
 * and the mean loss, to compare with fastText's "words/sec/thread". sg-hs
 * is the same with nnrt_hier_step (fastText's `-loss hs`).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nngrt.h"
#include "nnrt_approx.h"
#include "nnrt_data.h"

enum { NH = 1024, K = 5 };

/* CPU time of this thread in microseconds: on a shared, loaded machine it
 * counts only the time the bench ran, not the time it waited for a core. */
static double cpu_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static void die(const char *what) {
    fprintf(stderr, "approx_bench: %s: %s\n", what, nnrt_last_error());
    exit(1);
}

/* Skip-gram over FILE, fastText's recipe: negative sampling, or with hier
 * its hierarchical softmax (`-loss hs`) on the Huffman tree of the counts. */
static int skipgram(const char *path, int64_t H, int epochs, int hier) {
    nnrt_vocab raw, words;
    nnrt_vocab_init(&raw);
    nnrt_corpus c;
    if (nnrt_text_count(path, &raw, NULL, NULL) || nnrt_vocab_finish(&raw, 5, 0, 1, &words) ||
        nnrt_corpus_read(path, &words, NULL, 0, &c))
        die("reading the text");
    nnrt_vocab_free(&raw);
    int64_t V = words.n, ntok = c.start[c.n];
    nnrt_alias noise;
    nnrt_huffman tree;
    if (nnrt_alias_build(&noise, words.count, V, 0.5))
        die("noise table");
    if (nnrt_huffman_build(&tree, words.count, V))
        die("huffman tree");
    float *U = malloc((size_t)(V * H) * sizeof *U), *W = calloc((size_t)(V * H), sizeof *W);
    float *gh = malloc((size_t)H * sizeof *gh);
    double *keep = malloc((size_t)V * sizeof *keep);
    int32_t *line = malloc((size_t)ntok * sizeof *line), s[K];
    nnrt_rng r;
    nnrt_rng_seed(&r, 1);
    nnrt_init_uniform(&r, U, V * H, -1.0f / (float)H, 1.0f / (float)H);
    for (int64_t w = 0; w < V; w++) { /* fastText's pdiscard, t = 1e-4 */
        double f = (double)words.count[w] / (double)ntok;
        keep[w] = f > 0 ? sqrt(1e-4 / f) + 1e-4 / f : 1.0;
    }
    const float lr0 = 0.05f;
    double loss_sum = 0, t0 = nnrt_now_us(), c0 = cpu_us();
    int64_t pairs = 0, seen = 0, total = ntok * epochs;
    for (int e = 0; e < epochs; e++)
        for (int64_t i = 0; i < c.n; i++) {
            int64_t n = 0;
            for (int64_t j = c.start[i]; j < c.start[i + 1]; j++)
                if (nnrt_rng_double(&r) <= keep[c.id[j]])
                    line[n++] = c.id[j];
            float lr = lr0 * (1.0f - (float)seen / (float)total);
            seen += c.start[i + 1] - c.start[i];
            for (int64_t w = 0; w < n; w++) {
                int64_t b = 1 + (int64_t)(nnrt_rng_next(&r) % 5);
                float *u = U + line[w] * H;
                for (int64_t t = w - b; t <= w + b; t++) {
                    if (t < 0 || t >= n || t == w)
                        continue;
                    float loss;
                    for (int64_t j = 0; j < H; j++)
                        gh[j] = 0.0f;
                    if (hier) {
                        nnrt_hier_step(H, u, W, H, &tree, line[t], lr, gh, &loss);
                    } else {
                        nnrt_sample_k(&noise, &r, K, line[t], s);
                        nnrt_neg_step(H, u, W, H, line[t], K, s, lr, gh, &loss);
                    }
                    for (int64_t j = 0; j < H; j++)
                        u[j] -= lr * gh[j];
                    loss_sum += loss;
                    pairs++;
                }
            }
        }
    double secs = (nnrt_now_us() - t0) * 1e-6, cpu = (cpu_us() - c0) * 1e-6;
    printf("skip-gram (%s) on %s: V = %lld, %lld tokens x %d epochs, H = %lld\n", hier ? "hier" : "neg, k = 5",
           path, (long long)V, (long long)ntok, epochs, (long long)H);
    printf("%.0f words/s wall, %.0f words/s cpu, %lld pairs, mean loss %.4f\n", (double)total / secs,
           (double)total / cpu, (long long)pairs, loss_sum / (double)(pairs ? pairs : 1));
    nnrt_alias_free(&noise);
    nnrt_huffman_free(&tree);
    nnrt_corpus_free(&c);
    nnrt_vocab_free(&words);
    free(U);
    free(W);
    free(gh);
    free(keep);
    free(line);
    return 0;
}

int main(int argc, char **argv) {
    int sg = argc > 2 ? (strcmp(argv[1], "sg") == 0 ? 1 : strcmp(argv[1], "sg-hs") == 0 ? 2 : 0) : 0;
    if (sg) {
        int64_t H = argc > 3 ? atoll(argv[3]) : 100;
        int epochs = argc > 4 ? atoi(argv[4]) : 1;
        if (H < 1 || epochs < 1) {
            fprintf(stderr, "usage: approx_bench sg FILE [H >= 1 [EPOCHS >= 1]]\n");
            return 2;
        }
        return skipgram(argv[2], H, epochs, sg == 2);
    }
    int64_t V = argc > 1 ? atoll(argv[1]) : 10000, H = argc > 2 ? atoll(argv[2]) : 100;
    if (V < 2 || H < 1) {
        fprintf(stderr, "usage: approx_bench [V >= 2 [H >= 1]]\n");
        return 2;
    }
    int64_t *counts = malloc((size_t)V * sizeof *counts);
    float *W = malloc((size_t)(V * H) * sizeof *W), *hs = malloc((size_t)(NH * H) * sizeof *hs);
    float *z = malloc((size_t)V * sizeof *z), *gh = calloc((size_t)H, sizeof *gh);
    int32_t *tgt = malloc(NH * sizeof *tgt), s[K];
    for (int64_t r = 0; r < V; r++)
        counts[r] = 1000000 / (r + 1) + 1;
    nnrt_alias uni, noise;
    nnrt_huffman tree;
    if (nnrt_alias_build(&uni, counts, V, 1.0) || nnrt_alias_build(&noise, counts, V, 0.75))
        die("noise table");
    if (nnrt_huffman_build(&tree, counts, V))
        die("huffman tree");
    nnrt_rng r;
    nnrt_rng_seed(&r, 1);
    nnrt_init_uniform(&r, W, V * H, -0.05f, 0.05f);
    nnrt_init_uniform(&r, hs, NH * H, -0.5f, 0.5f);
    for (int i = 0; i < NH; i++)
        tgt[i] = nnrt_alias_draw(&uni, &r);
    const float lr = 0.025f;
    float sum = 0; /* the steps run without their loss (NULL), as word2vec */

    double t0 = cpu_us();
    const int64_t n_draw = 10000000;
    int64_t acc = 0;
    for (int64_t i = 0; i < n_draw; i++)
        acc += nnrt_alias_draw(&noise, &r);
    double ns_draw = (cpu_us() - t0) * 1e3 / (double)n_draw;

    const int64_t n_neg = 2000000;
    t0 = cpu_us();
    for (int64_t i = 0; i < n_neg; i++) {
        nnrt_sample_k(&noise, &r, K, -1, s);
        nnrt_neg_step(H, hs + (i % NH) * H, W, H, tgt[i % NH], K, s, lr, gh, NULL);
    }
    double ns_neg = (cpu_us() - t0) * 1e3 / (double)n_neg;

    t0 = cpu_us();
    double pathlen = 0;
    for (int64_t i = 0; i < n_neg; i++) {
        nnrt_hier_step(H, hs + (i % NH) * H, W, H, &tree, tgt[i % NH], lr, gh, NULL);
        pathlen += (double)(tree.off[tgt[i % NH] + 1] - tree.off[tgt[i % NH]]);
    }
    double ns_hier = (cpu_us() - t0) * 1e3 / (double)n_neg;

    const int64_t n_full = 2000;
    t0 = cpu_us();
    for (int64_t i = 0; i < n_full; i++) {
        const float *h = hs + (i % NH) * H;
        nnrt_gemv(0, V, H, 1.0f, W, H, h, 0.0f, z);
        nnrt_log_softmax(z, z, V);
        sum -= z[tgt[i % NH]];
        for (int64_t v = 0; v < V; v++)
            z[v] = expf(z[v]);
        z[tgt[i % NH]] -= 1.0f;
        nnrt_gemv(1, V, H, 1.0f, W, H, z, 1.0f, gh);
        nnrt_gemm(0, 0, V, H, 1, -lr, z, 1, h, H, 1.0f, W, H);
    }
    double ns_full = (cpu_us() - t0) * 1e3 / (double)n_full;

    printf("V = %lld, H = %lld, one position = one (hidden vector, target word), blas %s\n", (long long)V,
           (long long)H, nnrt_blas_name());
    printf("alias draw       %10.1f ns\n", ns_draw);
    printf("neg (k = %d)      %10.1f ns  (5 draws + 6 rows)\n", K, ns_neg);
    printf("hier             %10.1f ns  (mean path %.1f nodes)\n", ns_hier, pathlen / (double)n_neg);
    printf("full softmax     %10.1f ns  (%.0fx neg)\n", ns_full, ns_full / ns_neg);
    printf("(checksum %g %lld)\n", (double)sum, (long long)acc);
    nnrt_alias_free(&uni);
    nnrt_alias_free(&noise);
    nnrt_huffman_free(&tree);
    free(counts);
    free(W);
    free(hs);
    free(z);
    free(gh);
    free(tgt);
    return 0;
}
