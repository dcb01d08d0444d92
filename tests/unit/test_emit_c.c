/*
 * test_emit_c.c - tests of the C backend (compiler/backend/).
 *
 * Each test builds a small IR graph by hand with ir.c's builders, emits
 * model.c and model.h into a temporary directory, compiles them together
 * with a small driver program (clang with -Wall -Wextra -Werror; gcc too for
 * one model) against the runtime library, runs the program and compares
 * what it prints with values computed by hand (written next to each test).
 *
 * Paths, relative to the repository root where `make unit-test` runs the
 * tests: runtime/ (nngrt.h, nnrt_abi.h) and build/libnngrt.a. NNGC_TEST_LIBNNGRT and
 * NNGC_TEST_LIBS override the library and the extra link flags,
 * NNGC_TEST_CC the compiler (clang) of all tests but the first;
 * NNGC_TEST_KEEP=1 keeps the temporary directories to read the code in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nngc.h"
#include "backend/emit.h"

/* ================================================================ building graphs */

static Loc at(int line, int col)
{
    return (Loc){0, line, col, 0, 1};
}

static Size S(int64_t c)
{
    return size_const(c);
}

/* c + k * dyn_i */
static Size D(int dyn, int64_t k, int64_t c)
{
    Size s = size_const(c);
    s.k[dyn] = k;
    return s;
}

static Shape shape(int rank, ...)
{
    Shape s = {.rank = rank};
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++)
        s.d[i] = va_arg(ap, Size);
    va_end(ap);
    return s;
}

static Graph *new_graph(const char *model)
{
    Graph *g = ir_new_graph();
    g->model = model;
    g->source_path = "t.nn";
    return g;
}

static void add_dim(Graph *g, const char *name, int64_t value, bool dynamic)
{
    DimDecl d = {.name = name, .loc = at(2, 1), .dynamic = dynamic, .value = value, .dyn = -1};
    if (dynamic)
        d.dyn = g->ndyn++;
    VEC_PUSH(g->dims, g->ndims, g->capdims, d);
}

static int add_param(Graph *g, const char *name, Shape s, InitKind init)
{
    ParamDecl p = {.name = name, .loc = at(3, 1), .shape = s, .init = init};
    VEC_PUSH(g->params, g->nparams, g->capparams, p);
    return g->nparams - 1;
}

static int add_input(Graph *g, const char *name, DType dt, Shape s)
{
    InputDecl in = {.name = name, .loc = at(4, 1), .dtype = dt, .shape = s};
    char buf[128];
    in.shape_text = xstrdup(shape_str(g, &s, buf, sizeof buf));
    VEC_PUSH(g->inputs, g->ninputs, g->capinputs, in);
    return g->ninputs - 1;
}

static void add_output(Graph *g, const char *name, Node *v)
{
    OutputDecl o = {.name = name, .loc = at(5, 1), .value = v};
    VEC_PUSH(g->outputs, g->noutputs, g->capoutputs, o);
}

/* Types n (its attributes already set) and appends it to b. */
static Node *add(Graph *g, Block *b, Node *n)
{
    char err[256];
    if (!ir_infer(g, n, err, sizeof err))
        fail_msg("ir_infer: %s", err);
    ir_append(b, n);
    return n;
}

static Node *op1(Graph *g, Block *b, Op op, Node *x, int line)
{
    return add(g, b, ir_new_node(op, 1, (Node *[]){x}, at(line, 5)));
}

static Node *op2(Graph *g, Block *b, Op op, Node *x, Node *y, int line)
{
    return add(g, b, ir_new_node(op, 2, (Node *[]){x, y}, at(line, 9)));
}

/* PARAM or INPUT number index */
static Node *leaf(Graph *g, Block *b, Op op, int index)
{
    Node *n = ir_new_node(op, 0, NULL, at(6, 1));
    n->index = index;
    return add(g, b, n);
}

static Node *fconst(Graph *g, Block *b, double f)
{
    Node *n = ir_new_node(OP_CONST, 0, NULL, at(6, 1));
    n->f = f;
    return add(g, b, n);
}

static Node *fill(Graph *g, Block *b, Shape s, double f)
{
    Node *n = ir_new_node(OP_FILL, 0, NULL, at(6, 1));
    n->shape = s;
    n->f = f;
    return add(g, b, n);
}

/* ================================================================ compiling and running */

static const char *rt_lib(void)
{
    const char *s = getenv("NNGC_TEST_LIBNNGRT");
    return s ? s : "build/libnngrt.a";
}

static const char *extra_libs(void)
{
    const char *s = getenv("NNGC_TEST_LIBS");
    return s ? s : "-lopenblas -lm -lpthread";
}

/* The compiler of most tests (test_matvec_bias_tanh runs clang and gcc). */
static const char *test_cc(void)
{
    const char *s = getenv("NNGC_TEST_CC");
    return s ? s : "clang";
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return xstrdup(buf);
}

/* What one build-and-run produced. */
typedef struct Result {
    char dir[64];
    char *model_c, *model_h; /* the generated files */
    char *out;               /* the driver's stdout */
} Result;

/* Emits g, builds it with driver (a C program including "model.h") using
 * cc, and runs it. Fails the test on any emit, compile or run error. */
static Result build_and_run(Graph *g, const char *driver, const char *cc)
{
    Result r = {{0}, NULL, NULL, NULL};
    strcpy(r.dir, "/tmp/nngc_emit_XXXXXX");
    if (!mkdtemp(r.dir))
        fail_msg("mkdtemp failed");
    char *cpath = xsprintf("%s/model.c", r.dir), *hpath = xsprintf("%s/model.h", r.dir);
    FILE *c = fopen(cpath, "w"), *h = fopen(hpath, "w");
    assert_non_null(c);
    assert_non_null(h);
    EmitOptions opt = {.source_name = "t.nn", .line_markers = true};
    Diag diag;
    diag_init(&diag, stderr);
    bool ok = backend_emit(&diag, g, NULL, c, h, "model.h", &opt);
    fclose(c);
    fclose(h);
    assert_true(ok);
    r.model_c = slurp(cpath);
    r.model_h = slurp(hpath);

    FILE *d = fopen(xsprintf("%s/main.c", r.dir), "w");
    assert_non_null(d);
    fputs(driver, d);
    fclose(d);
    char *cmd = xsprintf("%s -std=c11 -Wall -Wextra -Werror -O1 -I%s -Iruntime -o %s/prog %s/main.c %s/model.c %s %s "
                         "> %s/cc.log 2>&1",
                         cc, r.dir, r.dir, r.dir, r.dir, rt_lib(), extra_libs(), r.dir);
    if (system(cmd) != 0) {
        print_error("%s\n---- compiler output:\n%s\n---- model.c:\n%s\n", cmd, slurp(xsprintf("%s/cc.log", r.dir)),
                    r.model_c);
        fail_msg("the generated code did not compile with %s", cc);
    }
    if (system(xsprintf("%s/prog > %s/out.txt 2>&1", r.dir, r.dir)) != 0)
        fail_msg("the driver program failed:\n%s", slurp(xsprintf("%s/out.txt", r.dir)));
    r.out = slurp(xsprintf("%s/out.txt", r.dir));
    assert_non_null(r.out);
    if (getenv("NNGC_TEST_KEEP")) /* to read the generated code */
        print_message("kept %s\n", r.dir);
    else if (system(xsprintf("rm -rf %s", r.dir)) != 0)
        print_error("could not remove %s\n", r.dir);
    return r;
}

/* The line of out that starts with "key ", after the key. */
static const char *find_line(const char *out, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, key, n) == 0 && p[n] == ' ')
            return p + n + 1;
    fail_msg("no line '%s' in the output:\n%s", key, out);
    return NULL;
}

/* Checks that line `key` holds exactly the n numbers want, within tol. */
static void expect_values(const char *out, const char *key, const double *want, int n, double tol)
{
    const char *p = find_line(out, key);
    for (int i = 0; i < n; i++) {
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            fail_msg("%s: value %d missing in: %s", key, i, out);
        if (!(fabs(v - want[i]) <= tol))
            fail_msg("%s[%d] = %.9g, expected %.9g", key, i, v, want[i]);
        p = end;
    }
    while (*p == ' ')
        p++;
    if (*p != '\n' && *p != 0)
        fail_msg("%s: more values than the %d expected: %s", key, n, p);
}

static void expect_text(const char *out, const char *key, const char *want)
{
    const char *p = find_line(out, key);
    if (strncmp(p, want, strlen(want)) != 0)
        fail_msg("%s: got '%.*s', expected '%s'", key, (int)strcspn(p, "\n"), p, want);
}

/* ================================================================ tests */

/* Ensure h = tanh(W @ x + b) computes the hand-computed values (clang and
 * gcc, -Werror), and params get their init: glorot in bounds, ones. */
static void test_matvec_bias_tanh(void **state)
{
    (void)state;
    Graph *g = new_graph("mv");
    add_dim(g, "H", 3, false);
    add_dim(g, "E", 2, false);
    int W = add_param(g, "W", shape(2, S(3), S(2)), INIT_GLOROT);
    int b = add_param(g, "b", shape(1, S(3)), INIT_ONES);
    int x = add_input(g, "x", DT_F32, shape(1, S(2)));
    Block *top = &g->top;
    Node *nw = leaf(g, top, OP_PARAM, W), *nb = leaf(g, top, OP_PARAM, b), *nx = leaf(g, top, OP_INPUT, x);
    Node *mv = op2(g, top, OP_MATVEC, nw, nx, 7);
    Node *sum = op2(g, top, OP_ADD, mv, nb, 7);
    Node *h = op1(g, top, OP_TANH, sum, 7);
    h->name = "h";
    add_output(g, "h", h);

    const char *driver =
        "#include <math.h>\n#include <stdio.h>\n#include \"model.h\"\n"
        "int main(void)\n{\n"
        "    mv *m = mv_create(7);\n"
        "    if (!m)\n        return 1;\n"
        "    float *W = mv_param(m, \"W\"), *b = mv_param(m, \"b\");\n"
        "    if (!W || !b || mv_param(m, \"nope\"))\n        return 2;\n"
        "    float lim = sqrtf(6.0f / 5.0f), wmax = 0.0f;\n"
        "    for (int i = 0; i < 6; i++)\n"
        "        wmax = fabsf(W[i]) > wmax ? fabsf(W[i]) : wmax;\n"
        "    printf(\"glorot_ok %d\\n\", wmax > 0.0f && wmax <= lim);\n"
        "    printf(\"b_init %g %g %g\\n\", b[0], b[1], b[2]);\n"
        "    for (int i = 0; i < 6; i++)\n"
        "        W[i] = 0.1f * (float)(i + 1);\n"
        "    b[0] = 0.1f; b[1] = 0.2f; b[2] = 0.3f;\n"
        "    const float x[2] = {1.0f, -1.0f};\n"
        "    mv_inputs in = {.x = x};\n"
        "    mv_outputs out;\n"
        "    int rc = mv_forward(m, &in, &out);\n"
        "    printf(\"rc %d\\n\", rc);\n"
        "    printf(\"h %.9g %.9g %.9g\\n\", out.h[0], out.h[1], out.h[2]);\n"
        "    mv_destroy(m);\n"
        "    return 0;\n}\n";
    /* W @ x = [0.1 - 0.2, 0.3 - 0.4, 0.5 - 0.6] = -0.1 each; + b = [0, 0.1, 0.2] */
    const double want[3] = {0.0, tanh(0.1), tanh(0.2)};
    const char *ccs[2] = {"clang", "gcc"};
    for (int i = 0; i < 2; i++) {
        Result r = build_and_run(g, driver, ccs[i]);
        expect_text(r.out, "glorot_ok", "1");
        expect_values(r.out, "b_init", (double[]){1, 1, 1}, 3, 0);
        expect_text(r.out, "rc", "0");
        expect_values(r.out, "h", want, 3, 1e-6);
        /* readable output: source markers, IR comments, function ends */
        assert_non_null(strstr(r.model_c, "#line 7 \"t.nn\""));
        assert_non_null(strstr(r.model_c, "= tanh %"));
        assert_non_null(strstr(r.model_c, "/* end function mv_forward */"));
        assert_non_null(strstr(r.model_h, "const float *x;"));
        assert_non_null(strstr(r.model_h, "const float *h;"));
        assert_non_null(strstr(r.model_h, "extern const nnrt_model_desc mv_desc;"));
        /* the header is the application API only; model.c adds the runtime ABI */
        assert_non_null(strstr(r.model_h, "#include \"nngrt.h\""));
        assert_null(strstr(r.model_h, "nnrt_abi.h"));
        assert_non_null(strstr(r.model_c, "#include \"nnrt_abi.h\""));
    }
}

/* The loop of the carry tests: T max 5, xs : [T, 2],
 *   h = zeros([2]); for t in 0..T { h = h * 0.5 + xs[t]; loss += sum(h); hs[t] = h }
 * with outputs h (final) and hs (stacked). */
static Graph *carry_graph(void)
{
    Graph *g = new_graph("scan");
    add_dim(g, "T", 5, true);
    add_dim(g, "D", 2, false);
    int xs = add_input(g, "xs", DT_F32, shape(2, D(0, 1, 0), S(2)));
    Block *top = &g->top;
    Node *nxs = leaf(g, top, OP_INPUT, xs);
    Node *h0 = fill(g, top, shape(1, S(2)), 0.0);
    Loop *l = ir_new_loop(top, "t", S(0), D(0, 1, 0), at(8, 1));
    Block *body = &l->body;
    Node *h = ir_loop_add_carry(l, h0, "h");
    Node *row = op2(g, body, OP_ROW, nxs, l->index, 9);
    Node *half = fconst(g, body, 0.5);
    Node *hh = op2(g, body, OP_MUL, h, half, 9);
    Node *next = op2(g, body, OP_ADD, hh, row, 9);
    Node *s = op1(g, body, OP_SUM, next, 10);
    l->next[0] = next;
    int rh = ir_loop_add_stack(l, next); /* stacks before sums: result numbers */
    int rs = ir_loop_add_sum(l, s);
    ir_append(top, l->node);
    Node *hfin = ir_loop_result(l, 0, "h");
    g->loss = ir_loop_result(l, rs, "loss");
    Node *hs = ir_loop_result(l, rh, "hs");
    add_output(g, "h", hfin);
    add_output(g, "hs", hs);
    return g;
}

/* Ensure a loop with a carry, a sum and a stack gives the hand-computed
 * recurrence, through the typed API and through the descriptor. */
static void test_loop_carry_sum_stack(void **state)
{
    (void)state;
    const char *driver =
        "#include <stdio.h>\n#include \"model.h\"\n"
        "int main(void)\n{\n"
        "    scan *m = scan_create(1);\n"
        "    if (!m)\n        return 1;\n"
        "    const float xs[6] = {1, 2, 3, 4, 5, 6};\n"
        "    scan_inputs in = {.T = 3, .xs = xs};\n"
        "    scan_outputs out;\n"
        "    printf(\"rc %d\\n\", scan_forward(m, &in, &out));\n"
        "    printf(\"loss %.9g\\n\", out.loss);\n"
        "    printf(\"h %.9g %.9g\\n\", out.h[0], out.h[1]);\n"
        "    printf(\"hs\");\n"
        "    for (int i = 0; i < 6; i++)\n        printf(\" %.9g\", out.hs[i]);\n"
        "    printf(\"\\n\");\n"
        "    /* the same through the descriptor, with T = 2 */\n"
        "    const nnrt_model_desc *d = &scan_desc;\n"
        "    printf(\"desc %d %d %d %d %d %lld %lld\\n\", d->ndims, d->ndyn, d->ninputs, d->noutputs, d->has_loss,\n"
        "           (long long)d->inputs[0].shape[0].k[0], (long long)d->inputs[0].shape[1].c);\n"
        "    void *g = d->create(1);\n"
        "    const int64_t dyn[1] = {2};\n"
        "    const void *ins[1] = {xs};\n"
        "    const float *outs[2];\n"
        "    float loss = -1.0f;\n"
        "    printf(\"grc %d\\n\", d->forward(g, dyn, ins, &loss, outs));\n"
        "    printf(\"gloss %.9g\\n\", loss);\n"
        "    printf(\"gh %.9g %.9g\\n\", outs[0][0], outs[0][1]);\n"
        "    d->destroy(g);\n"
        "    scan_destroy(m);\n"
        "    return 0;\n}\n";
    Result r = build_and_run(carry_graph(), driver, test_cc());
    /* h1 = [1, 2]; h2 = h1/2 + [3, 4] = [3.5, 5]; h3 = h2/2 + [5, 6] = [6.75, 8.5];
     * loss = 3 + 8.5 + 15.25 */
    expect_text(r.out, "rc", "0");
    expect_values(r.out, "loss", (double[]){26.75}, 1, 1e-5);
    expect_values(r.out, "h", (double[]){6.75, 8.5}, 2, 1e-6);
    expect_values(r.out, "hs", (double[]){1, 2, 3.5, 5, 6.75, 8.5}, 6, 1e-6);
    expect_values(r.out, "desc", (double[]){2, 1, 1, 2, 1, 1, 2}, 7, 0);
    expect_text(r.out, "grc", "0");
    expect_values(r.out, "gloss", (double[]){11.5}, 1, 1e-5);
    expect_values(r.out, "gh", (double[]){3.5, 5}, 2, 1e-6);
}

/* Ensure carries whose next values read each other (a' = a + b, b' = a)
 * use the values of the previous iteration: Fibonacci numbers, stacked. */
static void test_loop_swapped_carries(void **state)
{
    (void)state;
    Graph *g = new_graph("fib");
    add_dim(g, "N", 6, false);
    Block *top = &g->top;
    Node *a0 = fconst(g, top, 0.0), *b0 = fconst(g, top, 1.0);
    Loop *l = ir_new_loop(top, "i", S(0), S(6), at(8, 1));
    Node *a = ir_loop_add_carry(l, a0, "a");
    Node *b = ir_loop_add_carry(l, b0, "b");
    Node *ab = op2(g, &l->body, OP_ADD, a, b, 9);
    l->next[0] = ab;
    l->next[1] = a; /* the carry a itself: updating a first must not change it */
    int rs = ir_loop_add_stack(l, a);
    ir_append(top, l->node);
    add_output(g, "fa", ir_loop_result(l, rs, "fa"));
    add_output(g, "b", ir_loop_result(l, 1, "b"));
    const char *driver =
        "#include <stdio.h>\n#include \"model.h\"\n"
        "int main(void)\n{\n"
        "    fib *m = fib_create(1);\n"
        "    fib_inputs in = {0};\n"
        "    fib_outputs out;\n"
        "    if (!m || fib_forward(m, &in, &out) != NNRT_OK)\n        return 1;\n"
        "    printf(\"fa\");\n"
        "    for (int i = 0; i < 6; i++)\n        printf(\" %g\", out.fa[i]);\n"
        "    printf(\"\\nb %g\\n\", out.b[0]);\n"
        "    fib_destroy(m);\n"
        "    return 0;\n}\n";
    Result r = build_and_run(g, driver, test_cc());
    expect_values(r.out, "fa", (double[]){0, 1, 1, 2, 3, 5}, 6, 0);
    expect_values(r.out, "b", (double[]){5}, 1, 0); /* a after 5 steps */
}

/* Ensure cross_entropy(z, y) = logsumexp(z) - z[y] and that y out of range
 * is NNRT_ERR_RANGE naming the source location. */
static void test_xent(void **state)
{
    (void)state;
    Graph *g = new_graph("xe");
    add_dim(g, "V", 3, false);
    int z = add_input(g, "z", DT_F32, shape(1, S(3)));
    int y = add_input(g, "y", DT_I32, shape(0));
    Block *top = &g->top;
    g->loss = op2(g, top, OP_XENT, leaf(g, top, OP_INPUT, z), leaf(g, top, OP_INPUT, y), 12);
    const char *driver =
        "#include <stdio.h>\n#include \"model.h\"\n"
        "int main(void)\n{\n"
        "    xe *m = xe_create(1);\n"
        "    const float z[3] = {1, 2, 3};\n"
        "    xe_outputs out;\n"
        "    for (int y = 0; y <= 3; y++) {\n"
        "        xe_inputs in = {.z = z, .y = y};\n"
        "        int rc = xe_forward(m, &in, &out);\n"
        "        printf(\"y%d %d %.9g\\n\", y, rc, rc ? 0.0f : out.loss);\n"
        "        if (rc)\n            printf(\"msg %s\\n\", nnrt_last_error());\n"
        "    }\n"
        "    xe_inputs bad = {.z = z, .y = -1};\n"
        "    printf(\"neg %d\\n\", xe_forward(m, &bad, &out));\n"
        "    xe_destroy(m);\n"
        "    return 0;\n}\n";
    Result r = build_and_run(g, driver, test_cc());
    /* log(e + e^2 + e^3) = 3.40760596444 */
    double lse = log(exp(1.0) + exp(2.0) + exp(3.0));
    expect_values(r.out, "y0", (double[]){0, lse - 1}, 2, 1e-5);
    expect_values(r.out, "y1", (double[]){0, lse - 2}, 2, 1e-5);
    expect_values(r.out, "y2", (double[]){0, lse - 3}, 2, 1e-5);
    expect_values(r.out, "y3", (double[]){4, 0}, 2, 0); /* NNRT_ERR_RANGE */
    expect_text(r.out, "msg", "t.nn:12:9: index 3 out of range [0, 3)");
    expect_text(r.out, "neg", "4");
}

/* Ensure a bad id in E[ids[t]] and a dim out of 1..max are NNRT_ERR_RANGE
 * with their messages, and a good call after them still works. */
static void test_range_checks(void **state)
{
    (void)state;
    Graph *g = new_graph("emb");
    add_dim(g, "T", 4, true);
    int E = add_param(g, "E", shape(2, S(5), S(2)), INIT_ZEROS);
    int ids = add_input(g, "ids", DT_I32, shape(1, D(0, 1, 0)));
    Block *top = &g->top;
    Node *ne = leaf(g, top, OP_PARAM, E), *nids = leaf(g, top, OP_INPUT, ids);
    Loop *l = ir_new_loop(top, "t", S(0), D(0, 1, 0), at(8, 1));
    Node *id = op2(g, &l->body, OP_ROW, nids, l->index, 9);
    Node *e = op2(g, &l->body, OP_ROW, ne, id, 10);
    int rs = ir_loop_add_sum(l, op1(g, &l->body, OP_SUM, e, 11));
    ir_append(top, l->node);
    g->loss = ir_loop_result(l, rs, "loss");
    const char *driver =
        "#include <stdio.h>\n#include \"model.h\"\n"
        "int main(void)\n{\n"
        "    emb *m = emb_create(1);\n"
        "    float *E = emb_param(m, \"E\");\n"
        "    for (int i = 0; i < 10; i++)\n        E[i] = (float)i;\n"
        "    const int32_t ids[4] = {4, 0, 7, 1};\n"
        "    emb_outputs out;\n"
        "    emb_inputs in = {.T = 2, .ids = ids};\n"
        "    int rc = emb_forward(m, &in, &out);\n"
        "    printf(\"ok %d %g\\n\", rc, out.loss);\n"
        "    in.T = 3;\n"
        "    printf(\"bad %d\\nmsg1 %s\\n\", emb_forward(m, &in, &out), nnrt_last_error());\n"
        "    in.T = 0;\n"
        "    printf(\"t0 %d\\nmsg2 %s\\n\", emb_forward(m, &in, &out), nnrt_last_error());\n"
        "    in.T = 5;\n"
        "    printf(\"t5 %d\\nmsg3 %s\\n\", emb_forward(m, &in, &out), nnrt_last_error());\n"
        "    emb_destroy(m);\n"
        "    return 0;\n}\n";
    Result r = build_and_run(g, driver, test_cc());
    /* E[4] = [8, 9], E[0] = [0, 1]: 17 + 1 */
    expect_values(r.out, "ok", (double[]){0, 18}, 2, 1e-6);
    expect_text(r.out, "bad", "4");
    expect_text(r.out, "msg1", "t.nn:10:9: index 7 out of range [0, 5)");
    expect_text(r.out, "t0", "4");
    expect_text(r.out, "msg2", "emb: dim T = 0 out of range [1, 4]");
    expect_text(r.out, "t5", "4");
    expect_text(r.out, "msg3", "emb: dim T = 5 out of range [1, 4]");
}

/* Ensure NumPy broadcasting ([2,3] + [2,1], [2,3] * [3]), a transposed
 * matmul and softmax rows match hand-computed values. */
static void test_broadcast_matmul_softmax(void **state)
{
    (void)state;
    Graph *g = new_graph("bc");
    int a = add_input(g, "a", DT_F32, shape(2, S(2), S(3)));
    int c = add_input(g, "c", DT_F32, shape(2, S(2), S(1)));
    int r = add_input(g, "r", DT_F32, shape(1, S(3)));
    int bm = add_input(g, "bm", DT_F32, shape(2, S(2), S(2)));
    Block *top = &g->top;
    Node *na = leaf(g, top, OP_INPUT, a), *nc = leaf(g, top, OP_INPUT, c), *nr = leaf(g, top, OP_INPUT, r);
    Node *nbm = leaf(g, top, OP_INPUT, bm);
    add_output(g, "col", op2(g, top, OP_ADD, na, nc, 13));
    add_output(g, "row", op2(g, top, OP_MUL, na, nr, 14));
    Node *mm = ir_new_node(OP_MATMUL, 2, (Node *[]){na, nbm}, at(15, 3));
    mm->ta = true; /* a^T [3,2] @ bm [2,2] */
    add_output(g, "mm", add(g, top, mm));
    add_output(g, "sm", op1(g, top, OP_SOFTMAX, na, 16));
    Node *sa = ir_new_node(OP_SUMAXIS, 1, (Node *[]){na}, at(17, 3));
    sa->index = 0;
    add_output(g, "sa", add(g, top, sa));
    const char *driver =
        "#include <stdio.h>\n#include \"model.h\"\n"
        "static void show(const char *k, const float *v, int n)\n{\n"
        "    printf(\"%s\", k);\n"
        "    for (int i = 0; i < n; i++)\n        printf(\" %.9g\", v[i]);\n"
        "    printf(\"\\n\");\n}\n"
        "int main(void)\n{\n"
        "    bc *m = bc_create(1);\n"
        "    const float a[6] = {1, 2, 3, 4, 5, 6}, c[2] = {10, 20}, r[3] = {1, 10, 100};\n"
        "    const float bm[4] = {1, 2, 3, 4};\n"
        "    bc_inputs in = {.a = a, .c = c, .r = r, .bm = bm};\n"
        "    bc_outputs out;\n"
        "    if (!m || bc_forward(m, &in, &out) != NNRT_OK)\n        return 1;\n"
        "    show(\"col\", out.col, 6);\n    show(\"row\", out.row, 6);\n    show(\"mm\", out.mm, 6);\n"
        "    show(\"sm\", out.sm, 6);\n    show(\"sa\", out.sa, 3);\n"
        "    bc_destroy(m);\n"
        "    return 0;\n}\n";
    Result res = build_and_run(g, driver, test_cc());
    expect_values(res.out, "col", (double[]){11, 12, 13, 24, 25, 26}, 6, 0);
    expect_values(res.out, "row", (double[]){1, 20, 300, 4, 50, 600}, 6, 0);
    /* a^T = [[1, 4], [2, 5], [3, 6]] times [[1, 2], [3, 4]] */
    expect_values(res.out, "mm", (double[]){13, 18, 17, 24, 21, 30}, 6, 1e-5);
    /* each row is [x, x + 1, x + 2]: softmax [1, e, e^2] / (1 + e + e^2) */
    double s = 1 + exp(1.0) + exp(2.0);
    expect_values(res.out, "sm", (double[]){1 / s, exp(1.0) / s, exp(2.0) / s, 1 / s, exp(1.0) / s, exp(2.0) / s}, 6,
                  1e-6);
    expect_values(res.out, "sa", (double[]){5, 7, 9}, 3, 0);
}

/* Ensure gather, transpose, transposed matvec, concat, mean, sum over an
 * axis, int arithmetic on dims, the unary ops, binary_cross_entropy and a
 * nested loop (the slow-impl example) give hand-computed values, and that a
 * size that is negative for the given dims (T - 2 with T = 1) is an error. */
static void test_misc_ops(void **state)
{
    (void)state;
    Graph *g = new_graph("misc");
    add_dim(g, "T", 4, true);
    int E = add_param(g, "E", shape(2, S(3), S(2)), INIT_ZEROS);
    int W = add_param(g, "W", shape(2, S(2), S(2)), INIT_ZEROS);
    int ids = add_input(g, "ids", DT_I32, shape(1, D(0, 1, 0)));
    int u = add_input(g, "u", DT_F32, shape(1, S(2)));
    int xs = add_input(g, "xs", DT_F32, shape(2, S(2), S(2)));
    int tz = add_input(g, "tz", DT_F32, shape(1, S(2)));
    Block *top = &g->top;
    Node *ne = leaf(g, top, OP_PARAM, E), *nw = leaf(g, top, OP_PARAM, W);
    Node *nids = leaf(g, top, OP_INPUT, ids), *nu = leaf(g, top, OP_INPUT, u);
    Node *nxs = leaf(g, top, OP_INPUT, xs), *ntz = leaf(g, top, OP_INPUT, tz);
    Node *G = op2(g, top, OP_GATHER, ne, nids, 20);
    add_output(g, "G", G);
    Node *tr = op1(g, top, OP_TRANSPOSE, G, 21);
    add_output(g, "tr", tr);
    Node *ones = fill(g, top, shape(1, D(0, 1, 0)), 1.0);
    add_output(g, "mvn", op2(g, top, OP_MATVEC, tr, ones, 22)); /* a leading dim of T */
    Node *mvt = ir_new_node(OP_MATVEC, 2, (Node *[]){G, ones}, at(22, 1));
    mvt->ta = true;
    add_output(g, "mvt", add(g, top, mvt));
    add_output(g, "mean", op1(g, top, OP_MEAN, op2(g, top, OP_CONCAT, G, ne, 23), 23));
    Node *dim = ir_new_node(OP_DIM, 0, NULL, at(24, 1));
    dim->size = D(0, 1, 0);
    add(g, top, dim);
    Node *one = ir_new_node(OP_ICONST, 0, NULL, at(24, 1));
    one->i = 1;
    add(g, top, one);
    add_output(g, "last", op2(g, top, OP_ROW, G, op2(g, top, OP_ISUB, dim, one, 24), 24));
    Node *sa = ir_new_node(OP_SUMAXIS, 1, (Node *[]){G}, at(25, 1));
    sa->index = 1;
    add_output(g, "sa", add(g, top, sa));
    static const Op unary[] = {OP_RELU, OP_SIGMOID, OP_NEG, OP_EXP, OP_ABS};
    static const char *const unary_names[] = {"relu", "sigmoid", "neg", "exp", "abs"};
    for (int i = 0; i < 5; i++)
        add_output(g, unary_names[i], op1(g, top, unary[i], nu, 26));
    Node *au = op1(g, top, OP_ABS, nu, 27);
    add_output(g, "sqrt", op1(g, top, OP_SQRT, au, 27));
    add_output(g, "log", op1(g, top, OP_LOG, au, 27));
    add_output(g, "div", op2(g, top, OP_DIV, nu, au, 27));
    add_output(g, "bx", op2(g, top, OP_BXENT, nu, ntz, 28));
    fill(g, top, shape(1, D(0, 1, -2)), 0.0); /* unused; only its size matters */

    /* for i in 0..2 { for j in 0..2 { loss += dot(W @ xs[i], xs[j]) } } */
    Loop *li = ir_new_loop(top, "i", S(0), S(2), at(30, 1));
    Node *wx = op2(g, &li->body, OP_MATVEC, nw, op2(g, &li->body, OP_ROW, nxs, li->index, 31), 31);
    Loop *lj = ir_new_loop(&li->body, "j", S(0), S(2), at(32, 1));
    Node *d = op2(g, &lj->body, OP_DOT, wx, op2(g, &lj->body, OP_ROW, nxs, lj->index, 33), 33);
    int rj = ir_loop_add_sum(lj, d);
    ir_append(&li->body, lj->node);
    int ri = ir_loop_add_sum(li, ir_loop_result(lj, rj, NULL));
    ir_append(top, li->node);
    g->loss = ir_loop_result(li, ri, "loss");

    const char *driver =
        "#include <stdio.h>\n#include \"model.h\"\n"
        "static void show(const char *k, const float *v, int n)\n{\n"
        "    printf(\"%s\", k);\n"
        "    for (int i = 0; i < n; i++)\n        printf(\" %.9g\", v[i]);\n"
        "    printf(\"\\n\");\n}\n"
        "int main(void)\n{\n"
        "    misc *m = misc_create(1);\n"
        "    float *E = misc_param(m, \"E\"), *W = misc_param(m, \"W\");\n"
        "    for (int i = 0; i < 6; i++)\n        E[i] = (float)i;\n"
        "    W[0] = 1; W[1] = 0; W[2] = 0; W[3] = 2;\n"
        "    const int32_t ids[3] = {2, 0, 1};\n"
        "    const float u[2] = {-1, 4}, xs[4] = {1, 1, 1, 2}, tz[2] = {1, 0};\n"
        "    misc_inputs in = {.T = 3, .ids = ids, .u = u, .xs = xs, .tz = tz};\n"
        "    misc_outputs o;\n"
        "    printf(\"rc %d\\n\", misc_forward(m, &in, &o));\n"
        "    show(\"G\", o.G, 6); show(\"tr\", o.tr, 6); show(\"mvt\", o.mvt, 2); show(\"mvn\", o.mvn, 2); show(\"mean\", o.mean, 1);\n"
        "    show(\"last\", o.last, 2); show(\"sa\", o.sa, 3);\n"
        "    show(\"relu\", o.relu, 2); show(\"sigmoid\", o.sigmoid, 2); show(\"neg\", o.neg, 2);\n"
        "    show(\"exp\", o.exp, 2); show(\"abs\", o.abs, 2); show(\"sqrt\", o.sqrt, 2); show(\"log\", o.log, 2);\n"
        "    show(\"div\", o.div, 2); show(\"bx\", o.bx, 1); printf(\"loss %.9g\\n\", o.loss);\n"
        "    in.T = 1;\n"
        "    printf(\"t1 %d\\nmsg %s\\n\", misc_forward(m, &in, &o), nnrt_last_error());\n"
        "    misc_destroy(m);\n"
        "    return 0;\n}\n";
    Result r = build_and_run(g, driver, test_cc());
    expect_text(r.out, "rc", "0");
    /* E = [[0, 1], [2, 3], [4, 5]], ids = [2, 0, 1] */
    expect_values(r.out, "G", (double[]){4, 5, 0, 1, 2, 3}, 6, 0);
    expect_values(r.out, "tr", (double[]){4, 0, 2, 5, 1, 3}, 6, 0);
    expect_values(r.out, "mvt", (double[]){6, 9}, 2, 1e-6);
    expect_values(r.out, "mvn", (double[]){6, 9}, 2, 1e-6);
    expect_values(r.out, "mean", (double[]){30.0 / 12}, 1, 1e-6);
    expect_values(r.out, "last", (double[]){2, 3}, 2, 0);
    expect_values(r.out, "sa", (double[]){9, 1, 5}, 3, 1e-6);
    expect_values(r.out, "relu", (double[]){0, 4}, 2, 0);
    expect_values(r.out, "sigmoid", (double[]){1 / (1 + exp(1.0)), 1 / (1 + exp(-4.0))}, 2, 1e-6);
    expect_values(r.out, "neg", (double[]){1, -4}, 2, 0);
    expect_values(r.out, "exp", (double[]){exp(-1.0), exp(4.0)}, 2, 1e-4);
    expect_values(r.out, "abs", (double[]){1, 4}, 2, 0);
    expect_values(r.out, "sqrt", (double[]){1, 2}, 2, 1e-6);
    expect_values(r.out, "log", (double[]){0, log(4.0)}, 2, 1e-6);
    expect_values(r.out, "div", (double[]){-1, 1}, 2, 1e-6);
    /* z = -1, t = 1: 0 + 1 + log1p(e^-1); z = 4, t = 0: 4 + log1p(e^-4) */
    expect_values(r.out, "bx", (double[]){1 + log1p(exp(-1.0)) + 4 + log1p(exp(-4.0))}, 1, 1e-5);
    /* W @ xs[0] = [1, 2], W @ xs[1] = [1, 4]; dots with [1, 1], [1, 2]: 3 + 5 + 5 + 9 */
    expect_values(r.out, "loss", (double[]){22}, 1, 1e-5);
    expect_text(r.out, "t1", "4");
    expect_text(r.out, "msg", "t.nn:6:1: size T - 2 = -1 is negative");
}

/* The text of t.nn as the backend's diagnostics see it (Loc file 0): the
 * locations of at() have offset 0, so each message quotes its first line. */
static const char src_text[] = "model t\n";

/* Runs backend_emit on g, expecting it to fail with exactly the diagnostics
 * want (through the Diag, with t.nn's first line and a caret) and to write
 * nothing. */
static void expect_emit_error_opt(Graph *g, const char *target, const char *want)
{
    char cbuf[256] = "", hbuf[256] = "", ebuf[2048] = "";
    FILE *c = fmemopen(cbuf, sizeof cbuf, "w"), *h = fmemopen(hbuf, sizeof hbuf, "w");
    FILE *e = fmemopen(ebuf, sizeof ebuf, "w");
    assert_non_null(c);
    assert_non_null(h);
    assert_non_null(e);
    Diag d;
    diag_init(&d, e);
    assert_int_equal(diag_add_file(&d, "t.nn", src_text, sizeof src_text - 1), 0);
    EmitOptions opt = {.source_name = "t.nn", .line_markers = true, .target = target};
    bool ok = backend_emit(&d, g, NULL, c, h, "model.h", &opt);
    fclose(c);
    fclose(h);
    fclose(e);
    assert_false(ok);
    assert_true(d.nerrors > 0);
    assert_string_equal(ebuf, want);
    assert_string_equal(cbuf, "");
    assert_string_equal(hbuf, "");
}

static void expect_emit_error(Graph *g, const char *want)
{
    expect_emit_error_opt(g, NULL, want);
}

/* Ensure a target nngc does not have is an error naming the ones it has. */
static void test_unknown_target(void **state)
{
    (void)state;
    Graph *g = new_graph("ut");
    add_input(g, "x", DT_F32, shape(1, S(3)));
    expect_emit_error_opt(g, "metal", "nngc: error: unknown target 'metal' (targets: c, cuda)\n");
}

/* Ensure a softmax approximation the C backend lacks is an error with the
 * location, and nothing is emitted. */
static void test_approx_not_implemented(void **state)
{
    (void)state;
    Graph *g = new_graph("ap");
    int z = add_input(g, "z", DT_F32, shape(1, S(3)));
    int y = add_input(g, "y", DT_I32, shape(0));
    Block *top = &g->top;
    Node *n = ir_new_node(OP_XENT, 2, (Node *[]){leaf(g, top, OP_INPUT, z), leaf(g, top, OP_INPUT, y)}, at(21, 11));
    n->approx.kind = APPROX_EMBED;
    g->loss = add(g, top, n);
    expect_emit_error(g, "t.nn:21:11: error: target 'c' does not support cross_entropy (softmax approximation "
                         "'embed' is not implemented yet)\nmodel t\n^\n");
}

/* Ensure a name that is a C keyword and a param too large to allocate are
 * errors, not generated code that does not compile or overflows. */
static void test_bad_names_and_sizes(void **state)
{
    (void)state;
    Graph *g = new_graph("kw");
    add_input(g, "float", DT_F32, shape(1, S(3)));
    expect_emit_error(g, "t.nn:4:1: error: input name 'float' cannot be used in C (a keyword or not an "
                         "identifier)\nmodel t\n^\n");

    /* a model named like a macro, a type or a library function would be a
     * type of that name in model.c: rejected, not C that fails to compile */
    static const char *const models[][2] = {
        {"NULL", "is a macro or type of the C headers the generated code (or its caller: stdio.h) includes; "
                 "rename it"},
        {"SIZE_MAX", "is a macro or type of the C headers the generated code (or its caller: stdio.h) includes; "
                     "rename it"},
        {"INT64_MAX", "is a macro or type of the C headers the generated code (or its caller: stdio.h) includes; "
                      "rename it"},
        {"int64_t", "ends in '_t', the names of types (int64_t, size_t: the C headers the generated code "
                    "includes define some, POSIX reserves the rest); rename it"},
        {"index_from_t", "ends in '_t', the names of types (int64_t, size_t: the C headers the generated code "
                         "includes define some, POSIX reserves the rest); rename it"},
        {"EOF", "is a macro or type of the C headers the generated code (or its caller: stdio.h) includes; "
                "rename it"},
        {"__func__", "is reserved for the C implementation (it starts with '__'); rename it"},
        {"malloc", "is reserved in the generated C (a library function or a name of the generated code); choose "
                   "another"},
        {"expf", "is reserved in the generated C (a library function or a name of the generated code); choose "
                 "another"},
    };
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        g = new_graph(models[i][0]);
        add_input(g, "x", DT_F32, shape(1, S(3)));
        expect_emit_error(g, xsprintf("nngc: error: model name '%s' %s\n", models[i][0], models[i][1]));
    }

    g = new_graph("big");
    add_param(g, "W", shape(2, S(INT64_C(1) << 40), S(INT64_C(1) << 40)), INIT_ZEROS);
    expect_emit_error(g, "t.nn:3:1: error: the model needs more memory than a C program can address\nmodel t\n^\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matvec_bias_tanh),
        cmocka_unit_test(test_loop_carry_sum_stack),
        cmocka_unit_test(test_loop_swapped_carries),
        cmocka_unit_test(test_xent),
        cmocka_unit_test(test_range_checks),
        cmocka_unit_test(test_broadcast_matmul_softmax),
        cmocka_unit_test(test_misc_ops),
        cmocka_unit_test(test_approx_not_implemented),
        cmocka_unit_test(test_bad_names_and_sizes),
        cmocka_unit_test(test_unknown_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
