/*
 * test_rt_decode.c - decoding at inference (runtime/decode.c): for each
 * method, on random small problems, the decoded word is the argmax of the
 * method's distribution computed another way (approx.c's float64
 * references: nnrt_ref_full, nnrt_class_probs, nnrt_hier_probs,
 * nnrt_ref_bits over every word with a brute-force normalizer; the cosine
 * written out), and its log-probability matches; hand-made convolutional
 * codes with up to 4 flipped bits decode to the word sent.
 */
#include "approx_fixture.h"

static const int64_t counts12[12] = {50, 3, 40, 30, 20, 12, 9, 6, 4, 3, 2, 1};

enum { MAXV = 32, MAXH = 24, TRIALS = 300 };

/* A fixed pseudo-random stream in [-scale, scale). */
static uint64_t seed_;
static float urand(float scale) {
    seed_ = seed_ * 6364136223846793005ull + 1442695040888963407ull;
    return scale * (float)((double)(seed_ >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static void fill(float *a, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++)
        a[i] = urand(scale);
}

/* z[r] = W[r] . h + b[r] in double, through the reference. */
static void logits(int64_t rows, int64_t H, const float *W, const float *b, const float *h, double *z) {
    double Wd[MAXV * MAXH], bd[MAXV], hd[MAXH];
    for (int64_t i = 0; i < rows * H; i++)
        Wd[i] = W[i];
    for (int64_t i = 0; i < rows; i++)
        bd[i] = b ? b[i] : 0.0;
    for (int64_t i = 0; i < H; i++)
        hd[i] = h[i];
    nnrt_ref_logits(rows, H, Wd, bd, hd, z);
}

/* The first index of the largest of p[0..n). */
static int32_t argmax(const double *p, int64_t n) {
    int32_t a = 0;
    for (int64_t i = 1; i < n; i++)
        if (p[i] > p[a])
            a = (int32_t)i;
    return a;
}

/* Ensure the full softmax's decoder gives argmax z and log softmax(z) there. */
static void test_decode_full(void **state) {
    (void)state;
    const int64_t V = 13, H = 5;
    float W[13 * 5], b[13], h[5];
    double z[13], g[13];
    seed_ = 1;
    for (int t = 0; t < TRIALS; t++) {
        fill(W, V * H, 1.0f), fill(b, V, 0.5f), fill(h, H, 1.0f);
        logits(V, H, W, t % 2 ? b : NULL, h, z);
        int32_t want = argmax(z, V);
        double lp;
        assert_int_equal(nnrt_decode_full(V, H, W, t % 2 ? b : NULL, h, &lp), want);
        assert_close_abs("full logp", t, lp, -nnrt_ref_full(V, z, want, g), 1e-9);
    }
    assert_int_equal(nnrt_decode_full(0, H, W, b, h, NULL), -1);
}

/* Ensure class's decoder gives the argmax of p(class) p(word | class)
 * (nnrt_class_probs) over every word, not the best word of the best class:
 * count the trials where those two differ, so the test shows it. */
static void test_decode_class(void **state) {
    (void)state;
    nnrt_classes cl;
    assert_int_equal(nnrt_classes_build(&cl, counts12, 12, 4, 1), NNRT_OK);
    const int64_t V = 12, H = 4, C = cl.C;
    float W[12 * 4], b[12], Wc[4 * 4], bc[4], h[4];
    double zc[4], zw[12], p[12];
    int greedy_wrong = 0;
    seed_ = 2;
    for (int t = 0; t < TRIALS; t++) {
        fill(W, V * H, 1.5f), fill(b, V, 0.5f), fill(Wc, C * H, 1.0f), fill(bc, C, 0.5f), fill(h, H, 1.0f);
        logits(C, H, Wc, bc, h, zc);
        logits(V, H, W, b, h, zw);
        nnrt_class_probs(&cl, zc, zw, p);
        int32_t want = argmax(p, V);
        double lp;
        assert_int_equal(nnrt_decode_class(&cl, H, Wc, bc, W, b, h, &lp), want);
        assert_close_abs("class logp", t, lp, log(p[want]), 1e-9);
        int32_t c = argmax(zc, C), g = cl.start[c];
        for (int32_t w = cl.start[c]; w < cl.start[c + 1]; w++)
            if (zw[w] > zw[g])
                g = w;
        greedy_wrong += g != want;
    }
    assert_true(greedy_wrong > 0);
    nnrt_classes_free(&cl);
}

/* Ensure hier's decoder gives the argmax of nnrt_hier_probs, for the
 * fixture's counts and for 20 words of random counts (deeper paths). */
static void test_decode_hier(void **state) {
    (void)state;
    int64_t c20[20];
    seed_ = 3;
    for (int i = 0; i < 20; i++)
        c20[i] = 1 + (int64_t)(50.0f + urand(49.0f)) / (i + 1);
    for (int k = 0; k < 2; k++) {
        const int64_t V = k ? 20 : 12, H = 6;
        nnrt_huffman tr;
        assert_int_equal(nnrt_huffman_build(&tr, k ? c20 : counts12, V), NNRT_OK);
        float W[20 * 6], b[20], h[6];
        double x[20], p[20], scratch[40];
        for (int t = 0; t < TRIALS; t++) {
            fill(W, (V - 1) * H, 1.5f), fill(b, V - 1, 0.5f), fill(h, H, 1.0f);
            logits(V - 1, H, W, b, h, x);
            nnrt_hier_probs(&tr, x, p);
            int32_t want = argmax(p, V);
            double lp;
            assert_int_equal(nnrt_decode_hier(&tr, H, W, b, h, scratch, &lp), want);
            assert_close_abs("hier logp", t, lp, log(p[want]), 1e-9);
        }
        nnrt_huffman_free(&tr);
    }
}

/* The binary distribution over V written out: word w < N from the softmax
 * slots, coded word v = w - N from its n predicted bits (nnrt_ref_bits on
 * the bits or on the punctured convolutional code), normalized by the sum
 * over every valid code. */
static void binary_ref(const nnrt_bincode *bc, int n, const double *zs, const double *x, double *lp) {
    int64_t N = bc->hybrid, total = nnrt_ecc_len(bc->bits);
    double g[80], coded[MAXV], zmax = -INFINITY, z = 0;
    for (int64_t v = 0; v < bc->ncoded; v++) {
        uint8_t msg[32], code[80], t[80];
        for (int i = 0; i < bc->bits; i++)
            msg[i] = (uint8_t)((v >> (bc->bits - 1 - i)) & 1);
        if (n == bc->bits) {
            memcpy(t, msg, (size_t)n);
        } else {
            nnrt_ecc_encode(bc->bits, msg, code);
            for (int j = 0; j < n; j++)
                t[j] = code[(int64_t)j * total / n];
        }
        coded[v] = -nnrt_ref_bits(n, x, t, g);
        zmax = coded[v] > zmax ? coded[v] : zmax;
    }
    for (int64_t v = 0; v < bc->ncoded; v++)
        z += exp(coded[v] - zmax);
    double logz = zmax + log(z), lse = 0;
    if (N > 0) {
        double gs[MAXV];
        lse = nnrt_ref_full(N + 1, zs, 0, gs) + zs[0]; /* logsumexp of the N + 1 slots */
    }
    for (int64_t w = 0; w < bc->V; w++)
        lp[w] = w < N ? zs[w] - lse : (N > 0 ? zs[N] - lse : 0.0) + coded[w - N] - logz;
}

/* Ensure binary's decoder (plain, hybrid, ecc whole and punctured, with
 * and without hybrid) gives the argmax of binary_ref and its log p. */
static void test_decode_binary(void **state) {
    (void)state;
    struct {
        int64_t V, N, ecc;
    } cs[] = {{16, 0, 0}, {13, 0, 0}, {13, 3, 0}, {24, 0, 17 /* the whole code */}, {24, 0, 4}, {24, 5, 12}, {30, 6, 2}};
    seed_ = 4;
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        nnrt_bincode bc;
        assert_int_equal(nnrt_bincode_init(&bc, cs[k].V, cs[k].N), NNRT_OK);
        int n = bc.bits + (int)cs[k].ecc;
        int64_t first = cs[k].N ? cs[k].N + 1 : 0, rows = first + n, H = 5;
        assert_true(rows <= cs[k].V);
        float W[MAXV * 5], b[MAXV], h[5];
        double z[MAXV], lp[MAXV];
        int hybrid_won = 0;
        for (int t = 0; t < TRIALS; t++) {
            fill(W, rows * H, 1.5f), fill(b, rows, 0.5f), fill(h, H, 1.0f);
            logits(rows, H, W, b, h, z);
            binary_ref(&bc, n, z, z + first, lp);
            int32_t want = argmax(lp, cs[k].V);
            double got_lp;
            int32_t got = nnrt_decode_binary(&bc, n, H, W, b, h, &got_lp);
            if (got != want)
                fail_msg("case %zu trial %d: decoded %d, the argmax is %d", k, t, got, want);
            assert_close_abs("binary logp", t, got_lp, lp[want], 1e-6);
            hybrid_won += want < cs[k].N;
        }
        if (cs[k].N)
            assert_true(hybrid_won > 0 && hybrid_won < TRIALS); /* both sides of the comparison seen */
    }
    nnrt_bincode bc;
    assert_int_equal(nnrt_bincode_init(&bc, 24, 0), NNRT_OK);
    float W[24 * 5] = {0}, h[5] = {0};
    assert_int_equal(nnrt_decode_binary(&bc, bc.bits - 1, 5, W, NULL, h, NULL), -1);
    assert_int_equal(nnrt_decode_binary(&bc, nnrt_ecc_len(bc.bits) + 1, 5, W, NULL, h, NULL), -1);
}

/* Ensure hand-made codes decode: the logits spell word w's convolutional
 * code (+-3, through identity rows: x = h), with every single flip and
 * 200 patterns of 2 to 4 flipped bits, give w back; the same code
 * punctured to bits + 4 bits without flips gives every word back; plain
 * hard bits spelling a code past the vocabulary give the likeliest valid
 * word. */
static void test_decode_ecc_flips(void **state) {
    (void)state;
    nnrt_bincode bc;
    assert_int_equal(nnrt_bincode_init(&bc, 24, 0), NNRT_OK); /* 5 bits */
    int total = nnrt_ecc_len(bc.bits);                          /* 22 */
    float I[22 * 22] = {0}, h[22];
    for (int i = 0; i < 22; i++)
        I[i * 22 + i] = 1.0f;
    seed_ = 5;
    for (int32_t w = 0; w < 24; w++) {
        uint8_t msg[5], code[22];
        nnrt_bincode_encode(&bc, w, msg);
        nnrt_ecc_encode(bc.bits, msg, code);
        for (int pattern = -1; pattern < 222; pattern++) {
            for (int i = 0; i < total; i++)
                h[i] = code[i] ? 3.0f : -3.0f;
            if (pattern >= 0 && pattern < total) {
                h[pattern] = -h[pattern];
            } else if (pattern >= total) { /* 2 to 4 distinct flips */
                int nf = 2 + pattern % 3, at[4];
                for (int f = 0; f < nf; f++) {
                    int dup;
                    do {
                        at[f] = (int)((urand(1.0f) + 1.0f) * 0.5f * (float)total) % total;
                        dup = 0;
                        for (int e = 0; e < f; e++)
                            dup |= at[e] == at[f];
                    } while (dup);
                    h[at[f]] = -h[at[f]];
                }
            }
            if (nnrt_decode_binary(&bc, total, total, I, NULL, h, NULL) != w)
                fail_msg("word %d, flip pattern %d: not corrected", w, pattern);
        }
        /* punctured to bits + 4 = 9 logits, no flips */
        int n = bc.bits + 4;
        float In[9 * 9] = {0};
        for (int j = 0; j < n; j++) {
            In[j * n + j] = 1.0f;
            h[j] = code[(int64_t)j * total / n] ? 3.0f : -3.0f;
        }
        assert_int_equal(nnrt_decode_binary(&bc, n, n, In, NULL, h, NULL), w);
    }
    /* plain, V = 13: 4 bits, codes 0..12; hard bits 1111 (15) are past the
     * vocabulary. Flipping a bit of logit x costs x: 0111 (7) costs h[0],
     * 1011 (11) h[1], 1100 (12) h[2] + h[3] (1101, 1110 are past 12) */
    assert_int_equal(nnrt_bincode_init(&bc, 13, 0), NNRT_OK);
    float hard[3][4] = {{3, 2, 1, 0.5f}, {3, 2, 1.5f, 1}, {1, 2, 1.5f, 1}};
    int32_t nearest[3] = {12, 11, 7};
    float I4[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    for (int k = 0; k < 3; k++)
        assert_int_equal(nnrt_decode_binary(&bc, 4, 4, I4, NULL, hard[k], NULL), nearest[k]);
}

/* Ensure embed's decoder gives the row nearest by cosine, not by dot
 * product (count the trials where those differ: rows of random norms). */
static void test_decode_embed(void **state) {
    (void)state;
    const int64_t V = 12, H = 6;
    float W[12 * 6], h[6];
    int dot_wrong = 0;
    seed_ = 6;
    for (int t = 0; t < TRIALS; t++) {
        fill(W, V * H, 1.0f), fill(h, H, 1.0f);
        for (int64_t w = 0; w < V; w++) /* norms from 0.1 to 3 */
            for (int64_t j = 0; j < H; j++)
                W[w * H + j] *= 0.1f + 2.9f * (float)w / (float)(V - 1);
        double cosv[12], dotv[12], hn = 0;
        for (int64_t j = 0; j < H; j++)
            hn += (double)h[j] * h[j];
        for (int64_t w = 0; w < V; w++) {
            double d = 0, n = 0;
            for (int64_t j = 0; j < H; j++)
                d += (double)W[w * H + j] * h[j], n += (double)W[w * H + j] * W[w * H + j];
            dotv[w] = d;
            cosv[w] = d / sqrt(n * hn);
        }
        int32_t want = argmax(cosv, V);
        double c;
        assert_int_equal(nnrt_decode_embed(V, H, W, h, &c), want);
        assert_close_abs("embed cosine", t, c, cosv[want], 1e-12);
        dot_wrong += argmax(dotv, V) != want;
    }
    assert_true(dot_wrong > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_full),      cmocka_unit_test(test_decode_class),
        cmocka_unit_test(test_decode_hier),      cmocka_unit_test(test_decode_binary),
        cmocka_unit_test(test_decode_ecc_flips), cmocka_unit_test(test_decode_embed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
