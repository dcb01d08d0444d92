/*
 * test_rt_approx.c - the float64 reference losses of runtime/approx.c
 * against the NumPy fixtures of tests/approx/gen_fixtures.py (loss, the
 * gradient w.r.t. the logits, the output rows and the hidden vector), their
 * gradients against central finite differences, `full` against the cross
 * entropy written out directly, class and hierarchical probabilities
 * summing to 1, and the float32 steps nnrt_neg_step / nnrt_hier_step
 * against the float64 references.
 */
#include "approx_fixture.h"

enum { V = 12, H = 5, P = 4, K = 4 };

/* The fixed problem: z = W h + b per position, the samples and the noise. */
static struct {
    double *W, *b, *h, *logq, *Wc, *Wn, *Ws, *Wb, *E, *Wo;
    int32_t *y, *s;
    int64_t counts[V];
    nnrt_classes cl;
    nnrt_huffman tr;
    nnrt_bincode bc;
} F;

static int load_all(void **state) {
    (void)state;
    struct {
        const char *name;
        double **to;
    } in[] = {{"W", &F.W},   {"b", &F.b},   {"h", &F.h},   {"logq", &F.logq}, {"Wc", &F.Wc},
              {"Wn", &F.Wn}, {"Ws", &F.Ws}, {"Wb", &F.Wb}, {"E", &F.E},       {"Wo", &F.Wo}};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++)
        *in[i].to = fix_load(in[i].name, NULL, NULL);
    F.y = fix_load_int("y", NULL, NULL);
    F.s = fix_load_int("samples", NULL, NULL);
    double *c = fix_load("counts", NULL, NULL);
    for (int i = 0; i < V; i++)
        F.counts[i] = (int64_t)c[i];
    free(c);
    assert_int_equal(nnrt_classes_build(&F.cl, F.counts, V, 4, 1), NNRT_OK);
    assert_int_equal(nnrt_huffman_build(&F.tr, F.counts, V), NNRT_OK);
    assert_int_equal(nnrt_bincode_init(&F.bc, V, 3), NNRT_OK);
    return 0;
}

static int free_all(void **state) {
    (void)state;
    double *d[] = {F.W, F.b, F.h, F.logq, F.Wc, F.Wn, F.Ws, F.Wb, F.E, F.Wo};
    for (size_t i = 0; i < sizeof d / sizeof *d; i++)
        free(d[i]);
    free(F.y);
    free(F.s);
    nnrt_classes_free(&F.cl);
    nnrt_huffman_free(&F.tr);
    return 0;
}

/* Compares n values with the fixture NAME row `row` (rows of n). */
static void check_fixture(const char *name, int row, int64_t n, const double *got) {
    int64_t count;
    double *want = fix_load(name, &count, NULL);
    assert_true(count >= (row + 1) * n);
    for (int64_t i = 0; i < n; i++)
        assert_close_rel(name, row * n + i, got[i], want[row * n + i]);
    free(want);
}

/* rows = M x H matrix times h (no bias) */
static void matvec(int64_t M, const double *A, const double *h, double *out) {
    nnrt_ref_logits(M, H, A, NULL, h, out);
}

typedef enum { M_FULL, M_SAMPLED, M_NCE, M_NEG } Flat;
static const char *flat_name[] = {"full", "sampled", "nce", "neg"};

static double flat_loss(Flat m, int p, const double *z, double *g) {
    const int32_t *s = F.s + p * K;
    switch (m) {
    case M_FULL: return nnrt_ref_full(V, z, F.y[p], g);
    case M_SAMPLED: return nnrt_ref_sampled(V, z, F.y[p], K, s, F.logq, g);
    case M_NCE: return nnrt_ref_nce(V, z, F.y[p], K, s, F.logq, g);
    default: return nnrt_ref_neg(V, z, F.y[p], K, s, g);
    }
}

/* Ensure the methods over one vector of logits (full, sampled, nce, neg)
 * give the fixture's loss and gradients w.r.t. the logits, the rows and h. */
static void test_flat_fixtures(void **state) {
    (void)state;
    for (Flat m = M_FULL; m <= M_NEG; m++) {
        char name[64];
        for (int p = 0; p < P; p++) {
            double z[V], g[V], gW[V * H], gh[H];
            nnrt_ref_logits(V, H, F.W, F.b, F.h + p * H, z);
            double loss = flat_loss(m, p, z, g);
            snprintf(name, sizeof name, "loss_%s", flat_name[m]);
            check_fixture(name, p, 1, &loss);
            snprintf(name, sizeof name, "gz_%s", flat_name[m]);
            check_fixture(name, p, V, g);
            nnrt_ref_backprop(V, H, F.W, F.h + p * H, g, gW, gh);
            snprintf(name, sizeof name, "gW_%s", flat_name[m]);
            check_fixture(name, p, V * H, gW);
            snprintf(name, sizeof name, "gh_%s", flat_name[m]);
            check_fixture(name, p, H, gh);
        }
    }
}

/* Central differences of f on x[0..n) against the gradient g. */
typedef double (*LossFn)(const double *x, void *ctx);
static void check_fd(const char *what, int64_t n, double *x, const double *g, LossFn f, void *ctx) {
    const double eps = 1e-5;
    for (int64_t i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + eps;
        double up = f(x, ctx);
        x[i] = x0 - eps;
        double down = f(x, ctx);
        x[i] = x0;
        assert_close_abs(what, i, g[i], (up - down) / (2 * eps), 1e-7);
    }
}

typedef struct {
    Flat m;
    int p;
} FlatCtx;

static double flat_fd(const double *z, void *ctx) {
    FlatCtx *c = ctx;
    double g[V];
    return flat_loss(c->m, c->p, z, g);
}

/* Ensure each flat method's gradient is the derivative of its loss. */
static void test_flat_finite_differences(void **state) {
    (void)state;
    for (Flat m = M_FULL; m <= M_NEG; m++)
        for (int p = 0; p < P; p++) {
            double z[V], g[V];
            nnrt_ref_logits(V, H, F.W, F.b, F.h + p * H, z);
            flat_loss(m, p, z, g);
            FlatCtx c = {m, p};
            check_fd(flat_name[m], V, z, g, flat_fd, &c);
        }
}

/* Ensure `full` is the cross entropy -log(exp(z_y) / sum exp(z)) written
 * out in long double, on logits up to 30 in size. */
static void test_full_is_cross_entropy(void **state) {
    (void)state;
    nnrt_rng r;
    nnrt_rng_seed(&r, 7);
    for (int t = 0; t < 100; t++) {
        double z[V], g[V];
        long double s = 0;
        for (int i = 0; i < V; i++) {
            z[i] = 60.0 * nnrt_rng_double(&r) - 30.0;
            s += expl((long double)z[i]);
        }
        int32_t y = (int32_t)(t % V);
        double want = (double)-logl(expl((long double)z[y]) / s);
        assert_close_abs("full", t, nnrt_ref_full(V, z, y, g), want, 1e-12 * (fabs(want) + 1));
        for (int i = 0; i < V; i++)
            assert_close_abs("full grad", i, g[i], (double)(expl((long double)z[i]) / s) - (i == y), 1e-14);
    }
}

/* Two-level logits of the class-based softmax: zc = Wc h, zw = W h + b. */
static double class_at(const double *h, int32_t y, double *gc, double *gw) {
    double zc[V], zw[V];
    matvec(F.cl.C, F.Wc, h, zc);
    nnrt_ref_logits(V, H, F.W, F.b, h, zw);
    return nnrt_ref_class(&F.cl, zc, zw, y, gc, gw);
}

/* Ensure class-based, hierarchical and binary losses give the fixture's
 * loss and gradients (logits of each level and h). */
static void test_factored_fixtures(void **state) {
    (void)state;
    for (int p = 0; p < P; p++) {
        const double *h = F.h + p * H;
        double gc[V], gw[V], gh[H], t[H], loss;
        /* class */
        loss = class_at(h, F.y[p], gc, gw);
        check_fixture("loss_class", p, 1, &loss);
        check_fixture("gc_class", p, F.cl.C, gc);
        check_fixture("gw_class", p, V, gw);
        double gW[V * H];
        nnrt_ref_backprop(F.cl.C, H, F.Wc, h, gc, gW, gh);
        nnrt_ref_backprop(V, H, F.W, h, gw, gW, t);
        for (int j = 0; j < H; j++)
            gh[j] += t[j];
        check_fixture("gh_class", p, H, gh);
        /* hier */
        double x[V], gx[V];
        matvec(V - 1, F.Wn, h, x);
        loss = nnrt_ref_hier(&F.tr, x, F.y[p], gx);
        check_fixture("loss_hier", p, 1, &loss);
        check_fixture("gx_hier", p, V - 1, gx);
        nnrt_ref_backprop(V - 1, H, F.Wn, h, gx, gW, gh);
        check_fixture("gh_hier", p, H, gh);
        /* binary with hybrid = 3 */
        int nb = F.bc.bits, ns = (int)F.bc.hybrid + 1;
        double zs[V], gs[V], xb[V], gxb[V];
        matvec(ns, F.Ws, h, zs);
        matvec(nb, F.Wb, h, xb);
        loss = nnrt_ref_binary(&F.bc, zs, xb, F.y[p], gs, gxb);
        check_fixture("loss_binary", p, 1, &loss);
        check_fixture("gs_binary", p, ns, gs);
        check_fixture("gx_binary", p, nb, gxb);
        nnrt_ref_backprop(ns, H, F.Ws, h, gs, gW, gh);
        nnrt_ref_backprop(nb, H, F.Wb, h, gxb, gW, t);
        for (int j = 0; j < H; j++)
            gh[j] += t[j];
        check_fixture("gh_binary", p, H, gh);
        /* vMF: o = Wo h against the frozen E[y] */
        double o[H], go[H];
        matvec(H, F.Wo, h, o);
        loss = nnrt_ref_vmf(H, o, F.E + F.y[p] * H, 0.02, 0.5, go);
        check_fixture("loss_vmf", p, 1, &loss);
        check_fixture("go_vmf", p, H, go);
    }
}

/* Finite differences for the factored methods, with respect to h: the loss
 * through the logits of every level. */
static double class_fd(const double *h, void *ctx) {
    double gc[V], gw[V];
    return class_at(h, *(int32_t *)ctx, gc, gw);
}

static double hier_fd(const double *h, void *ctx) {
    double x[V], g[V];
    matvec(V - 1, F.Wn, h, x);
    return nnrt_ref_hier(&F.tr, x, *(int32_t *)ctx, g);
}

static double binary_fd(const double *h, void *ctx) {
    double zs[V], xb[V], gs[V], gx[V];
    matvec(F.bc.hybrid + 1, F.Ws, h, zs);
    matvec(F.bc.bits, F.Wb, h, xb);
    return nnrt_ref_binary(&F.bc, zs, xb, *(int32_t *)ctx, gs, gx);
}

static double vmf_fd(const double *o, void *ctx) {
    double g[H];
    return nnrt_ref_vmf(H, o, F.E + *(int32_t *)ctx * H, 0.02, 0.5, g);
}

/* Ensure the factored methods' gradients w.r.t. h (and vMF's w.r.t. its
 * output vector) are the derivatives of their losses. */
static void test_factored_finite_differences(void **state) {
    (void)state;
    for (int p = 0; p < P; p++) {
        double h[H], gh[H], t[H], gW[V * H], o[H], go[H];
        int32_t y = F.y[p];
        memcpy(h, F.h + p * H, sizeof h);
        double gc[V], gw[V];
        class_at(h, y, gc, gw);
        nnrt_ref_backprop(F.cl.C, H, F.Wc, h, gc, gW, gh);
        nnrt_ref_backprop(V, H, F.W, h, gw, gW, t);
        for (int j = 0; j < H; j++)
            gh[j] += t[j];
        check_fd("class dL/dh", H, h, gh, class_fd, &y);

        double x[V], gx[V];
        matvec(V - 1, F.Wn, h, x);
        nnrt_ref_hier(&F.tr, x, y, gx);
        nnrt_ref_backprop(V - 1, H, F.Wn, h, gx, gW, gh);
        check_fd("hier dL/dh", H, h, gh, hier_fd, &y);

        double zs[V], xb[V], gs[V], gxb[V];
        matvec(F.bc.hybrid + 1, F.Ws, h, zs);
        matvec(F.bc.bits, F.Wb, h, xb);
        nnrt_ref_binary(&F.bc, zs, xb, y, gs, gxb);
        nnrt_ref_backprop(F.bc.hybrid + 1, H, F.Ws, h, gs, gW, gh);
        nnrt_ref_backprop(F.bc.bits, H, F.Wb, h, gxb, gW, t);
        for (int j = 0; j < H; j++)
            gh[j] += t[j];
        check_fd("binary dL/dh", H, h, gh, binary_fd, &y);

        matvec(H, F.Wo, h, o);
        nnrt_ref_vmf(H, o, F.E + y * H, 0.02, 0.5, go);
        check_fd("vmf dL/do", H, o, go, vmf_fd, &y);
    }
}

/* Ensure p(w) of the class-based and hierarchical softmaxes sums to 1 over
 * the vocabulary (to 1e-13) for 100 random hidden vectors, and that each
 * p(y) is exp(-loss) of the reference loss. */
static void test_probabilities_sum_to_one(void **state) {
    (void)state;
    nnrt_rng r;
    nnrt_rng_seed(&r, 2024);
    for (int t = 0; t < 100; t++) {
        double h[H], zc[V], zw[V], x[V], p[V], g1[V], g2[V], sum = 0;
        for (int j = 0; j < H; j++)
            h[j] = 6.0 * nnrt_rng_double(&r) - 3.0;
        matvec(F.cl.C, F.Wc, h, zc);
        nnrt_ref_logits(V, H, F.W, F.b, h, zw);
        nnrt_class_probs(&F.cl, zc, zw, p);
        for (int w = 0; w < V; w++) {
            sum += p[w];
            assert_close_abs("class p(w)", w, p[w], exp(-nnrt_ref_class(&F.cl, zc, zw, w, g1, g2)), 1e-15);
        }
        assert_close_abs("class sum", t, sum, 1.0, 1e-13);
        matvec(V - 1, F.Wn, h, x);
        nnrt_hier_probs(&F.tr, x, p);
        sum = 0;
        for (int w = 0; w < V; w++) {
            sum += p[w];
            assert_close_abs("hier p(w)", w, p[w], exp(-nnrt_ref_hier(&F.tr, x, w, g1)), 1e-15);
        }
        assert_close_abs("hier sum", t, sum, 1.0, 1e-13);
    }
}

/* The float32 rows and hidden vector of the fixture. */
static void to_float(int64_t n, const double *x, float *out) {
    for (int64_t i = 0; i < n; i++)
        out[i] = (float)x[i];
}

/* Ensure nnrt_neg_step's gh, row updates and loss are the float64
 * reference's (neg) on the fixture: row 0 draws its target (skipped), row 3
 * has distinct samples. */
static void test_neg_step(void **state) {
    (void)state;
    const float lr = 0.1f;
    for (int p = 0; p < P; p += 3) {
        float W[V * H], h[H], gh[H] = {0}, loss;
        double z[V], g[V], gW[V * H], ghd[H];
        to_float(V * H, F.W, W);
        to_float(H, F.h + p * H, h);
        nnrt_ref_logits(V, H, F.W, NULL, F.h + p * H, z); /* word2vec rows: no bias */
        double want = nnrt_ref_neg(V, z, F.y[p], K, F.s + p * K, g);
        nnrt_ref_backprop(V, H, F.W, F.h + p * H, g, gW, ghd);
        nnrt_neg_step(H, h, W, H, F.y[p], K, F.s + p * K, lr, gh, &loss);
        assert_close_abs("neg loss", p, loss, want, 1e-5 * want);
        for (int j = 0; j < H; j++)
            assert_close_abs("neg gh", j, gh[j], ghd[j], 1e-5);
        for (int i = 0; i < V * H; i++)
            assert_close_abs("neg W", i, W[i], F.W[i] - lr * gW[i], 1e-6);
    }
}

/* Ensure nnrt_hier_step is the float64 hierarchical reference on every
 * position (a path visits each inner node once). */
static void test_hier_step(void **state) {
    (void)state;
    const float lr = 0.25f;
    for (int p = 0; p < P; p++) {
        float Wn[V * H], h[H], gh[H] = {0}, loss;
        double x[V], g[V], gW[V * H], ghd[H];
        to_float((V - 1) * H, F.Wn, Wn);
        to_float(H, F.h + p * H, h);
        matvec(V - 1, F.Wn, F.h + p * H, x);
        double want = nnrt_ref_hier(&F.tr, x, F.y[p], g);
        nnrt_ref_backprop(V - 1, H, F.Wn, F.h + p * H, g, gW, ghd);
        nnrt_hier_step(H, h, Wn, H, &F.tr, F.y[p], lr, gh, &loss);
        assert_close_abs("hier loss", p, loss, want, 1e-5 * want);
        for (int j = 0; j < H; j++)
            assert_close_abs("hier gh", j, gh[j], ghd[j], 1e-5);
        for (int i = 0; i < (V - 1) * H; i++)
            assert_close_abs("hier W", i, Wn[i], F.Wn[i] - lr * gW[i], 1e-6);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_fixtures),
        cmocka_unit_test(test_flat_finite_differences),
        cmocka_unit_test(test_full_is_cross_entropy),
        cmocka_unit_test(test_factored_fixtures),
        cmocka_unit_test(test_factored_finite_differences),
        cmocka_unit_test(test_probabilities_sum_to_one),
        cmocka_unit_test(test_neg_step),
        cmocka_unit_test(test_hier_step),
    };
    return cmocka_run_group_tests(tests, load_all, free_all);
}
