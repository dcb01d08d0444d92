/*
 * test_rt_approx_codes.c - the structures behind the softmax
 * approximations: the alias-table noise sampler (exact table, chi-square on
 * 10^6 draws, streams, exclusion), RNNLM frequency classes and word2vec's
 * Huffman tree against tests/approx/gen_fixtures.py and hand-worked
 * examples, binary codes (bijective, nearest valid word) and the
 * convolutional code (encoder against the fixture, Viterbi against
 * brute-force maximum likelihood, every pattern of up to 4 flipped bits
 * corrected).
 */
#include "approx_fixture.h"

static const int64_t counts12[12] = {50, 3, 40, 30, 20, 12, 9, 6, 4, 3, 2, 1};

/* ------------------------------------------------------------ sampler */

/* Ensure the alias table holds q exactly (to 1e-15): slot i gives i with
 * prob[i] and alias[i] otherwise, each slot 1/n; a zero count gets q = 0. */
static void test_alias_table_exact(void **state) {
    (void)state;
    int64_t c[6] = {10, 0, 1, 5, 5, 100};
    nnrt_alias a;
    assert_int_equal(nnrt_alias_build(&a, c, 6, 0.75), NNRT_OK);
    double mass[6] = {0}, total = 0;
    for (int i = 0; i < 6; i++)
        total += c[i] ? pow((double)c[i], 0.75) : 0.0;
    for (int i = 0; i < 6; i++) {
        mass[i] += a.prob[i] / 6;
        mass[a.alias[i]] += (1 - a.prob[i]) / 6;
    }
    for (int i = 0; i < 6; i++) {
        double q = c[i] ? pow((double)c[i], 0.75) / total : 0.0;
        assert_close_abs("alias mass", i, mass[i], q, 1e-15);
        assert_close_abs("logq", i, c[i] ? a.logq[i] : 0.0, c[i] ? log(q) : 0.0, 1e-13);
    }
    assert_true(isinf(a.logq[1]) && a.logq[1] < 0);
    nnrt_alias_free(&a);
    /* uniform */
    assert_int_equal(nnrt_alias_build(&a, NULL, 7, 0.75), NNRT_OK);
    for (int i = 0; i < 7; i++)
        assert_close_abs("uniform logq", i, a.logq[i], -log(7.0), 1e-15);
    nnrt_alias_free(&a);
}

/* Ensure 10^6 draws (fixed seed) fit counts^0.75 by a chi-square test:
 * 11 degrees of freedom, below 31.26 (p = 0.001); a zero-count word is
 * never drawn. Also that the power-0.5 table does NOT fit 0.75's q. */
static void test_alias_chi_square(void **state) {
    (void)state;
    int64_t c[13];
    memcpy(c, counts12, sizeof counts12);
    c[12] = 0;
    for (int pass = 0; pass < 2; pass++) {
        nnrt_alias a;
        assert_int_equal(nnrt_alias_build(&a, c, 13, pass == 0 ? 0.75 : 0.5), NNRT_OK);
        nnrt_rng r;
        nnrt_rng_seed(&r, 12345);
        int64_t hist[13] = {0};
        const int64_t n = 1000000;
        for (int64_t i = 0; i < n; i++)
            hist[nnrt_alias_draw(&a, &r)]++;
        assert_int_equal(hist[12], 0);
        double total = 0, chi2 = 0;
        for (int i = 0; i < 12; i++)
            total += pow((double)c[i], 0.75);
        for (int i = 0; i < 12; i++) {
            double e = (double)n * pow((double)c[i], 0.75) / total;
            chi2 += (hist[i] - e) * (hist[i] - e) / e;
        }
        if (pass == 0 && !(chi2 < 31.26))
            fail_msg("chi-square %g >= 31.26 for counts^0.75", chi2);
        if (pass == 1 && !(chi2 > 1000))
            fail_msg("chi-square %g: a counts^0.5 table should not fit counts^0.75", chi2);
        nnrt_alias_free(&a);
    }
}

/* Ensure the draws of a position depend on (seed, step, pos) only: two
 * batches agree, a position's draws equal a stream made by hand, other
 * positions and steps differ, share=1 gives one set, and exclusion keeps
 * the target out. */
static void test_sample_streams(void **state) {
    (void)state;
    nnrt_alias a;
    assert_int_equal(nnrt_alias_build(&a, counts12, 12, 0.75), NNRT_OK);
    enum { NP = 6, KS = 20 };
    int32_t t[NP] = {2, 3, 2, 0, 11, 5}, o1[NP * KS], o2[NP * KS], hand[KS];
    assert_int_equal(nnrt_sample_batch(&a, 99, 7, NP, KS, 0, 0, NULL, o1), NNRT_OK);
    assert_int_equal(nnrt_sample_batch(&a, 99, 7, NP, KS, 0, 0, NULL, o2), NNRT_OK);
    assert_memory_equal(o1, o2, sizeof o1);
    nnrt_rng r;
    nnrt_rng_stream(&r, 99, 7, 4);
    assert_int_equal(nnrt_sample_k(&a, &r, KS, -1, hand), NNRT_OK);
    assert_memory_equal(hand, o1 + 4 * KS, sizeof hand);
    assert_true(memcmp(o1, o1 + KS, KS * sizeof *o1) != 0);
    assert_int_equal(nnrt_sample_batch(&a, 99, 8, NP, KS, 0, 0, NULL, o2), NNRT_OK);
    assert_true(memcmp(o1, o2, sizeof o1) != 0);
    /* exclusion: 2 (q about 0.2) would appear among 120 draws */
    int seen = 0;
    for (int i = 0; i < NP * KS; i++)
        seen += o1[i] == t[i / KS];
    assert_true(seen > 0);
    assert_int_equal(nnrt_sample_batch(&a, 99, 7, NP, KS, 0, 1, t, o2), NNRT_OK);
    for (int i = 0; i < NP * KS; i++)
        assert_int_not_equal(o2[i], t[i / KS]);
    /* shared: out[0..k) from the NNRT_SHARED_POS stream */
    assert_int_equal(nnrt_sample_batch(&a, 99, 7, NP, KS, 1, 0, NULL, o2), NNRT_OK);
    nnrt_rng_stream(&r, 99, 7, NNRT_SHARED_POS);
    assert_int_equal(nnrt_sample_k(&a, &r, KS, -1, hand), NNRT_OK);
    assert_memory_equal(hand, o2, sizeof hand);
    nnrt_alias_free(&a);
}

/* Ensure bad counts, powers and an impossible exclusion are errors. */
static void test_sampler_errors(void **state) {
    (void)state;
    nnrt_alias a;
    int64_t neg[3] = {1, -2, 3}, zero[3] = {0, 0, 0}, one[3] = {0, 4, 0};
    assert_int_equal(nnrt_alias_build(&a, neg, 3, 0.75), NNRT_ERR_ARG);
    assert_error_contains("count[1] = -2 is negative");
    assert_int_equal(nnrt_alias_build(&a, zero, 3, 0.75), NNRT_ERR_ARG);
    assert_error_contains("sum to 0");
    assert_int_equal(nnrt_alias_build(&a, one, 0, 0.75), NNRT_ERR_ARG);
    assert_int_equal(nnrt_alias_build(&a, one, 3, -1.0), NNRT_ERR_ARG);
    assert_int_equal(nnrt_alias_build(&a, one, 3, 0.75), NNRT_OK);
    nnrt_rng r;
    nnrt_rng_seed(&r, 1);
    int32_t out[4];
    assert_int_equal(nnrt_sample_k(&a, &r, 4, 1, out), NNRT_ERR_ARG);
    assert_error_contains("word 1 has all the noise probability");
    nnrt_alias_free(&a);
}

/* ------------------------------------------------------------ classes */

/* Ensure both binning modes give the fixture's word -> class, and that the
 * ranges and in-class indices are consistent with it. */
static void test_classes_fixture(void **state) {
    (void)state;
    for (int sq = 0; sq < 2; sq++) {
        char name[32];
        snprintf(name, sizeof name, "classes_sqrt%d", sq);
        int64_t n;
        int32_t *want = fix_load_int(name, &n, NULL);
        assert_int_equal(n, 12);
        nnrt_classes cl;
        assert_int_equal(nnrt_classes_build(&cl, counts12, 12, 4, sq), NNRT_OK);
        assert_int_equal(cl.C, want[11] + 1);
        for (int w = 0; w < 12; w++) {
            assert_int_equal(cl.word_class[w], want[w]);
            int32_t c = cl.word_class[w];
            assert_true(cl.start[c] <= w && w < cl.start[c + 1]);
            assert_int_equal(cl.word_index[w], w - cl.start[c]);
        }
        free(want);
        nnrt_classes_free(&cl);
    }
}

/* Ensure a hand-worked binning: counts 6, 2, 1, 1 (total 10) in 2 classes
 * by plain share: 0.6 passes 1/2 at word 0, so word 0 alone is class 0. By
 * sqrt share (sqrt .6, .2, .1, .1 = .775, .447, .316, .316, normalised
 * .418, .241, .171, .171) word 0 has .418 < 1/2 and word 1 brings .659:
 * words 0, 1 are class 0. */
static void test_classes_hand(void **state) {
    (void)state;
    const int64_t c[4] = {6, 2, 1, 1};
    nnrt_classes cl;
    assert_int_equal(nnrt_classes_build(&cl, c, 4, 2, 0), NNRT_OK);
    assert_int_equal(cl.C, 2);
    assert_int_equal(cl.start[1], 1);
    nnrt_classes_free(&cl);
    assert_int_equal(nnrt_classes_build(&cl, c, 4, 2, 1), NNRT_OK);
    assert_int_equal(cl.start[1], 2);
    assert_int_equal(cl.start[2], 4);
    nnrt_classes_free(&cl);
    assert_int_equal(nnrt_classes_build(&cl, c, 4, 5, 1), NNRT_ERR_ARG);
    /* RNNLM's test is strict: counts 1, 1 in 2 classes reach exactly 1/2
     * at word 0, which stays in class 0 with word 1: one class only */
    const int64_t even[2] = {1, 1};
    assert_int_equal(nnrt_classes_build(&cl, even, 2, 2, 0), NNRT_OK);
    assert_int_equal(cl.C, 1);
    assert_int_equal(cl.start[1], 2);
    nnrt_classes_free(&cl);
}

/* ------------------------------------------------------------ Huffman */

/* Kraft sum of the code lengths, and no code a prefix of another. */
static void check_prefix_free(const nnrt_huffman *t) {
    double kraft = 0;
    for (int64_t w = 0; w < t->V; w++) {
        int64_t lw = t->off[w + 1] - t->off[w];
        kraft += ldexp(1.0, -(int)lw);
        for (int64_t u = 0; u < t->V; u++) {
            int64_t lu = t->off[u + 1] - t->off[u];
            if (u == w || lu < lw)
                continue;
            if (memcmp(t->code + t->off[w], t->code + t->off[u], (size_t)lw) == 0)
                fail_msg("code of %lld is a prefix of the code of %lld", (long long)w, (long long)u);
        }
    }
    assert_close_abs("kraft", t->V, kraft, 1.0, 0.0);
}

/* Ensure counts 5, 3, 2, 1, 1 give the tree worked out by hand following
 * word2vec: merges (1,1) -> n0, (n0, 2) -> n1, (3, n1) -> n2, (5, n2) ->
 * root n3; the second of each pair takes bit 1. Lengths 1, 2, 3, 4, 4. The
 * same counts shuffled over the ids give the same lengths per count. */
static void test_huffman_hand(void **state) {
    (void)state;
    const int64_t c[5] = {5, 3, 2, 1, 1};
    nnrt_huffman t;
    assert_int_equal(nnrt_huffman_build(&t, c, 5), NNRT_OK);
    const int len[5] = {1, 2, 3, 4, 4};
    const int32_t pt[5][4] = {{3}, {3, 2}, {3, 2, 1}, {3, 2, 1, 0}, {3, 2, 1, 0}};
    const uint8_t cd[5][4] = {{0}, {1, 0}, {1, 1, 1}, {1, 1, 0, 1}, {1, 1, 0, 0}};
    for (int w = 0; w < 5; w++) {
        assert_int_equal(t.off[w + 1] - t.off[w], len[w]);
        assert_memory_equal(t.point + t.off[w], pt[w], len[w] * sizeof(int32_t));
        assert_memory_equal(t.code + t.off[w], cd[w], (size_t)len[w]);
    }
    assert_int_equal(t.max_len, 4);
    check_prefix_free(&t);
    nnrt_huffman_free(&t);
    const int64_t shuffled[5] = {1, 5, 1, 2, 3};
    const int want[5] = {4, 1, 4, 3, 2};
    assert_int_equal(nnrt_huffman_build(&t, shuffled, 5), NNRT_OK);
    for (int w = 0; w < 5; w++)
        assert_int_equal(t.off[w + 1] - t.off[w], want[w]);
    nnrt_huffman_free(&t);
}

/* Ensure the fixture's tree (gen_fixtures.py's word2vec construction) and
 * prefix-freeness and Kraft equality on 300 random counts. */
static void test_huffman_fixture_and_random(void **state) {
    (void)state;
    int64_t shape[NNRT_MAXRANK];
    int32_t *pt = fix_load_int("huff_point", NULL, shape);
    int32_t *cd = fix_load_int("huff_code", NULL, NULL);
    nnrt_huffman t;
    assert_int_equal(nnrt_huffman_build(&t, counts12, 12), NNRT_OK);
    assert_int_equal(t.max_len, shape[1]);
    for (int w = 0; w < 12; w++)
        for (int i = 0; i < shape[1]; i++) {
            int64_t len = t.off[w + 1] - t.off[w];
            if (i >= len) {
                assert_int_equal(pt[w * shape[1] + i], -1);
                continue;
            }
            assert_int_equal(t.point[t.off[w] + i], pt[w * shape[1] + i]);
            assert_int_equal(t.code[t.off[w] + i], cd[w * shape[1] + i]);
        }
    check_prefix_free(&t);
    nnrt_huffman_free(&t);
    free(pt);
    free(cd);
    int64_t c[300];
    nnrt_rng r;
    nnrt_rng_seed(&r, 3);
    for (int i = 0; i < 300; i++)
        c[i] = (int64_t)(nnrt_rng_next(&r) % 1000);
    assert_int_equal(nnrt_huffman_build(&t, c, 300), NNRT_OK);
    check_prefix_free(&t);
    for (int w = 0; w < 300; w++)
        assert_int_equal(t.point[t.off[w]], 298); /* the root first */
    nnrt_huffman_free(&t);
}

/* Ensure the small and bad cases: one word has an empty path (p = 1), two
 * words one inner node each side of it; negative counts, counts whose
 * sum is past int64 and zero words are errors naming the problem. */
static void test_huffman_edges(void **state) {
    (void)state;
    nnrt_huffman t;
    const int64_t one[1] = {7}, two[2] = {1, 4}, bad[3] = {1, -1, 2};
    assert_int_equal(nnrt_huffman_build(&t, one, 1), NNRT_OK);
    assert_int_equal(t.off[1], 0);
    assert_int_equal(t.max_len, 0);
    double p[2];
    nnrt_hier_probs(&t, NULL, p);
    assert_close_abs("p", 0, p[0], 1.0, 0.0);
    nnrt_huffman_free(&t);
    assert_int_equal(nnrt_huffman_build(&t, two, 2), NNRT_OK);
    /* word 1 (count 4) is taken second: bit 1; word 0 bit 0; node 0 */
    assert_int_equal(t.off[1], 1);
    assert_int_equal(t.off[2], 2);
    assert_int_equal(t.code[0], 0);
    assert_int_equal(t.code[1], 1);
    assert_int_equal(t.point[0], 0);
    nnrt_huffman_free(&t);
    assert_int_equal(nnrt_huffman_build(&t, bad, 3), NNRT_ERR_ARG);
    assert_error_contains("count[1] = -1 is negative");
    /* each count fits, the root's sum would not (signed overflow) */
    const int64_t big[3] = {INT64_MAX / 2 + 1, 1, INT64_MAX / 2 + 1};
    assert_int_equal(nnrt_huffman_build(&t, big, 3), NNRT_ERR_ARG);
    assert_error_contains("the counts add up to more than 2^63 - 1 (at count[2]");
    assert_int_equal(nnrt_huffman_build(&t, one, 0), NNRT_ERR_ARG);
    nnrt_classes cl;
    assert_int_equal(nnrt_classes_build(&cl, bad, 3, 2, 1), NNRT_ERR_ARG);
    assert_error_contains("classes: count[1]");
}

/* ------------------------------------------------------------ binary codes */

/* Ensure the codes are the fixture's, bijective on [hybrid, V), and that
 * confident bits decode back to the word. */
static void test_bincode_bijective(void **state) {
    (void)state;
    nnrt_bincode b;
    assert_int_equal(nnrt_bincode_init(&b, 12, 3), NNRT_OK);
    assert_int_equal(b.bits, 4);
    int32_t *want = fix_load_int("bincode", NULL, NULL);
    int seen[16] = {0};
    for (int32_t w = 3; w < 12; w++) {
        uint8_t bits[4];
        double p[4];
        nnrt_bincode_encode(&b, w, bits);
        int v = 0;
        for (int i = 0; i < 4; i++) {
            assert_int_equal(bits[i], want[(w - 3) * 4 + i]);
            v = 2 * v + bits[i];
            p[i] = bits[i] ? 0.8 : 0.3;
        }
        assert_int_equal(seen[v]++, 0);
        assert_int_equal(nnrt_bincode_decode(&b, p), w);
    }
    free(want);
    for (int64_t V = 1; V <= 70; V++) { /* bits = ceil(log2 V), at least 1 */
        assert_int_equal(nnrt_bincode_init(&b, V, 0), NNRT_OK);
        assert_true(b.bits >= 1 && (1 << b.bits) >= V && (b.bits == 1 || (1 << (b.bits - 1)) < V));
    }
    assert_int_equal(nnrt_bincode_init(&b, 12, 12), NNRT_ERR_ARG);
}

/* Ensure a code past the vocabulary decodes to the nearest valid word:
 * 9 coded words (codes 0..8 = 0000..1000); bits 1111 at p = 0.9 are
 * nearest to 0111 (one bit away; 1000 is three away): word 3 + 7. And the
 * decoder equals brute-force maximum likelihood on 200 random soft inputs. */
static void test_bincode_nearest(void **state) {
    (void)state;
    nnrt_bincode b;
    assert_int_equal(nnrt_bincode_init(&b, 12, 3), NNRT_OK);
    double p[4] = {0.9, 0.9, 0.9, 0.9};
    assert_int_equal(nnrt_bincode_decode(&b, p), 10);
    nnrt_rng r;
    nnrt_rng_seed(&r, 11);
    for (int t = 0; t < 200; t++) {
        for (int i = 0; i < 4; i++)
            p[i] = nnrt_rng_double(&r);
        double best = -INFINITY;
        int arg = -1;
        for (int c = 0; c < 9; c++) {
            double s = 0;
            for (int i = 0; i < 4; i++)
                s += log(((c >> (3 - i)) & 1) ? p[i] : 1 - p[i]);
            if (s > best)
                best = s, arg = c;
        }
        assert_int_equal(nnrt_bincode_decode(&b, p), 3 + arg);
    }
}

/* ------------------------------------------------------------ convolutional code */

static void to_probs(int n, const uint8_t *bits, double *p) {
    for (int i = 0; i < n; i++)
        p[i] = bits[i] ? 0.9 : 0.1;
}

/* The 4 message bits of v, MSB first. */
static void msg4(int v, uint8_t *m) {
    for (int i = 0; i < 4; i++)
        m[i] = (uint8_t)((v >> (3 - i)) & 1);
}

/* Ensure the encoder gives the fixture's code words, the minimum distance
 * between the 16 code words of 4 message bits is 10, and noise-free
 * decoding is the identity. */
static void test_ecc_encode_decode(void **state) {
    (void)state;
    int32_t *want = fix_load_int("ecc", NULL, NULL);
    int n = nnrt_ecc_len(4);
    assert_int_equal(n, 20);
    uint8_t cw[16][20];
    for (int v = 0; v < 16; v++) {
        uint8_t m[4];
        double p[20];
        msg4(v, m);
        nnrt_ecc_encode(4, m, cw[v]);
        if (v < 9)
            for (int i = 0; i < n; i++)
                assert_int_equal(cw[v][i], want[v * n + i]);
        to_probs(n, cw[v], p);
        assert_int_equal(nnrt_ecc_decode(4, p, 16), v);
    }
    free(want);
    int dmin = 99;
    for (int a = 0; a < 16; a++)
        for (int b = 0; b < a; b++) {
            int d = 0;
            for (int i = 0; i < n; i++)
                d += cw[a][i] != cw[b][i];
            dmin = d < dmin ? d : dmin;
        }
    assert_int_equal(dmin, 10);
}

/* Ensure every pattern of 1 to 4 flipped bits (6195 patterns over 20 bits)
 * on the hand-picked word 0110, and every single flip on each of the 9
 * valid words, is corrected. */
static void test_ecc_corrects_four(void **state) {
    (void)state;
    uint8_t m[4], cw[20];
    double p[20];
    msg4(6, m);
    nnrt_ecc_encode(4, m, cw);
    int patterns = 0;
    for (uint32_t mask = 1; mask < (1u << 20); mask++) {
        if (__builtin_popcount(mask) > 4)
            continue;
        uint8_t noisy[20];
        for (int i = 0; i < 20; i++)
            noisy[i] = cw[i] ^ ((mask >> i) & 1);
        to_probs(20, noisy, p);
        assert_int_equal(nnrt_ecc_decode(4, p, 9), 6);
        patterns++;
    }
    assert_int_equal(patterns, 20 + 190 + 1140 + 4845);
    for (int v = 0; v < 9; v++) {
        msg4(v, m);
        nnrt_ecc_encode(4, m, cw);
        for (int i = 0; i < 20; i++) {
            to_probs(20, cw, p);
            p[i] = 1 - p[i];
            assert_int_equal(nnrt_ecc_decode(4, p, 9), v);
        }
    }
}

/* Ensure soft Viterbi restricted to values < limit equals brute-force
 * maximum likelihood over the valid messages, on 300 random inputs. */
static void test_ecc_viterbi_is_ml(void **state) {
    (void)state;
    uint8_t cw[16][20], m[4];
    for (int v = 0; v < 16; v++) {
        msg4(v, m);
        nnrt_ecc_encode(4, m, cw[v]);
    }
    nnrt_rng r;
    nnrt_rng_seed(&r, 5);
    for (int t = 0; t < 300; t++) {
        double p[20];
        for (int i = 0; i < 20; i++)
            p[i] = 0.02 + 0.96 * nnrt_rng_double(&r);
        int limit = 1 + t % 16;
        double best = -INFINITY;
        int arg = -1;
        for (int v = 0; v < limit; v++) {
            double s = 0;
            for (int i = 0; i < 20; i++)
                s += log(cw[v][i] ? p[i] : 1 - p[i]);
            if (s > best)
                best = s, arg = v;
        }
        assert_int_equal(nnrt_ecc_decode(4, p, limit), arg);
    }
    assert_int_equal(nnrt_ecc_decode(31, NULL, 5), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alias_table_exact),
        cmocka_unit_test(test_alias_chi_square),
        cmocka_unit_test(test_sample_streams),
        cmocka_unit_test(test_sampler_errors),
        cmocka_unit_test(test_classes_fixture),
        cmocka_unit_test(test_classes_hand),
        cmocka_unit_test(test_huffman_hand),
        cmocka_unit_test(test_huffman_fixture_and_random),
        cmocka_unit_test(test_huffman_edges),
        cmocka_unit_test(test_bincode_bijective),
        cmocka_unit_test(test_bincode_nearest),
        cmocka_unit_test(test_ecc_encode_decode),
        cmocka_unit_test(test_ecc_corrects_four),
        cmocka_unit_test(test_ecc_viterbi_is_ml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
