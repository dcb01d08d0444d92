/*
 * test_ir.c - unit tests of the IR module (compiler/ir/): size arithmetic
 * and printing, the typing rule of every op (ir_infer), the builders, the
 * text dump of a hand-built RNN graph, and the verifier on a good graph and
 * on hand-broken ones.
 *
 * Every expected value here is written by hand from the rules in
 * LANGUAGE.md, nngc.h and docs/IR.md, never copied from the code's output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nngc.h"

/* ---------------------------------------------------------------- helpers */

#define C(n) size_const(n)

static Loc at(int line, int col) {
    return (Loc){0, line, col, 0, 1};
}

/* A graph with "dim T max 100" (dynamic dim 0) and "dim S max 7" (dim 1). */
static Graph *dims_graph(void) {
    Graph *g = ir_new_graph();
    g->model = "m";
    DimDecl t = {.name = "T", .loc = NO_LOC, .dynamic = true, .value = 100, .dyn = 0};
    DimDecl s = {.name = "S", .loc = NO_LOC, .dynamic = true, .value = 7, .dyn = 1};
    DimDecl h = {.name = "H", .loc = NO_LOC, .dynamic = false, .value = 128, .dyn = -1};
    VEC_PUSH(g->dims, g->ndims, g->capdims, h);
    VEC_PUSH(g->dims, g->ndims, g->capdims, t);
    VEC_PUSH(g->dims, g->ndims, g->capdims, s);
    g->ndyn = 2;
    return g;
}

static Size T_(void) { return size_dyn(0); }
static Size S_(void) { return size_dyn(1); }

/* k*T + c */
static Size kT(int64_t k, int64_t c) {
    Size r = size_const(c);
    r.k[0] = k;
    return r;
}

/* A value of the given type to use as an operand (ir_infer reads only the
 * operands' dtype and shape). */
static Node *val(DType dt, int rank, ...) {
    Node *n = ir_new_node(OP_FILL, 0, NULL, NO_LOC);
    n->dtype = dt;
    n->shape.rank = rank;
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++)
        n->shape.d[i] = va_arg(ap, Size);
    va_end(ap);
    return n;
}

#define F32(...) val(DT_F32, __VA_ARGS__)
#define I32(...) val(DT_I32, __VA_ARGS__)

static char errbuf[512];

/* Types op(a[, b]) and returns the node, asserting success. */
static Node *ok_node(Graph *g, Op op, int nin, Node *a, Node *b) {
    Node *n = ir_new_node(op, nin, (Node *[]){a, b}, NO_LOC);
    bool ok = ir_infer(g, n, errbuf, sizeof errbuf);
    if (!ok)
        print_error("unexpected typing error: %s\n", errbuf);
    assert_true(ok);
    return n;
}

/* Types op(a[, b]) expecting a failure; returns the message. */
static const char *bad_node(Graph *g, Op op, int nin, Node *a, Node *b) {
    Node *n = ir_new_node(op, nin, (Node *[]){a, b}, NO_LOC);
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));
    return errbuf;
}

static void assert_type(Graph *g, const Node *n, DType dt, const char *shape) {
    char buf[256];
    assert_int_equal(n->dtype, dt);
    assert_string_equal(shape_str(g, &n->shape, buf, sizeof buf), shape);
}

static void assert_contains(const char *haystack, const char *needle) {
    if (!strstr(haystack, needle)) {
        print_error("expected to find \"%s\" in:\n%s\n", needle, haystack);
        fail();
    }
}

/* ---------------------------------------------------------------- sizes */

/* Ensure Size arithmetic is affine arithmetic on (c, k[]). */
static void test_size_arith(void **state) {
    (void)state;
    Size a = size_add(kT(2, 0), C(3)); /* 2T + 3 */
    assert_int_equal(a.c, 3);
    assert_int_equal(a.k[0], 2);
    assert_false(size_is_const(a));
    assert_true(size_is_const(C(5)));
    assert_true(size_eq(size_sub(a, T_()), kT(1, 3)));
    assert_false(size_eq(a, kT(2, 4)));
    assert_false(size_eq(T_(), S_()));

    Size m;
    assert_true(size_mul(C(3), kT(1, 1), &m)); /* 3(T+1) = 3T + 3 */
    assert_true(size_eq(m, kT(3, 3)));
    assert_true(size_mul(kT(1, -1), C(2), &m));
    assert_true(size_eq(m, kT(2, -2)));
    assert_false(size_mul(T_(), S_(), &m)); /* T*S is not affine */
    assert_false(size_mul(T_(), kT(1, 1), &m));
}

/* Ensure size_max gives the largest and smallest value over 1 <= T <= 100, 1 <= S <= 7. */
static void test_size_max(void **state) {
    (void)state;
    Graph *g = dims_graph();
    int64_t lo;
    assert_int_equal(size_max(g, C(10), &lo), 10);
    assert_int_equal(lo, 10);
    assert_int_equal(size_max(g, kT(2, 3), &lo), 203);
    assert_int_equal(lo, 5);
    assert_int_equal(size_max(g, kT(1, -1), &lo), 99);
    assert_int_equal(lo, 0);
    assert_int_equal(size_max(g, size_add(T_(), S_()), &lo), 107);
    assert_int_equal(lo, 2);
    /* 5 - T: largest at T = 1 */
    assert_int_equal(size_max(g, kT(-1, 5), &lo), 4);
    assert_int_equal(lo, -95);
    assert_int_equal(size_max(g, kT(1, 0), NULL), 100);

    Shape s = {.rank = 2, .d = {kT(1, 1), C(64)}};
    assert_int_equal(shape_max_count(g, &s), 101 * 64);
    Shape sc = {0};
    assert_int_equal(shape_max_count(g, &sc), 1);
}

/* Ensure size_str prints sizes with dim names, as users write them. */
static void test_size_str(void **state) {
    (void)state;
    Graph *g = dims_graph();
    char buf[64];
    assert_string_equal(size_str(g, kT(1, 1), buf, sizeof buf), "T + 1");
    assert_string_equal(size_str(g, kT(2, 3), buf, sizeof buf), "2*T + 3");
    assert_string_equal(size_str(g, C(10), buf, sizeof buf), "10");
    assert_string_equal(size_str(g, C(0), buf, sizeof buf), "0");
    assert_string_equal(size_str(g, C(-4), buf, sizeof buf), "-4");
    assert_string_equal(size_str(g, kT(1, -1), buf, sizeof buf), "T - 1");
    assert_string_equal(size_str(g, size_add(T_(), S_()), buf, sizeof buf), "T + S");
    assert_string_equal(size_str(g, kT(-1, 5), buf, sizeof buf), "-T + 5");
    assert_string_equal(size_str(g, kT(1, 0), buf, sizeof buf), "T");
    Size x3;
    assert_true(size_mul(C(3), S_(), &x3));
    Size x = size_sub(x3, kT(2, 0)); /* 3S - 2T */
    assert_string_equal(size_str(g, x, buf, sizeof buf), "-2*T + 3*S");
    /* a dim the graph does not declare still prints */
    assert_string_equal(size_str(g, size_dyn(3), buf, sizeof buf), "dyn3");
    /* a short buffer is cut, never overrun */
    char small[4];
    size_str(g, kT(2, 3), small, sizeof small);
    assert_string_equal(small, "2*T");
}

/* Ensure shape_str and shape_eq. */
static void test_shapes(void **state) {
    (void)state;
    Graph *g = dims_graph();
    char buf[64];
    Shape a = {.rank = 2, .d = {kT(1, 1), C(64)}};
    Shape b = {.rank = 2, .d = {kT(1, 1), C(64)}};
    Shape c = {.rank = 2, .d = {kT(1, 0), C(64)}};
    Shape s = {0};
    assert_string_equal(shape_str(g, &a, buf, sizeof buf), "[T + 1, 64]");
    assert_string_equal(shape_str(g, &s, buf, sizeof buf), "[]");
    assert_true(shape_eq(&a, &b));
    assert_false(shape_eq(&a, &c));
    assert_false(shape_eq(&a, &s));
}

/* Ensure the op tables come from the X-macro in order. */
static void test_op_tables(void **state) {
    (void)state;
    assert_string_equal(op_name[OP_CONST], "const");
    assert_string_equal(op_name[OP_XENT], "cross_entropy");
    assert_string_equal(op_name[OP_LOOPOUT], "loopout");
    assert_int_equal(op_arity[OP_MATVEC], -1); /* 2, or 3 with an added operand */
    assert_int_equal(op_arity[OP_LOOP], -1);
    assert_int_equal(op_arity[OP_TANH], 1);
    assert_true(op_flags[OP_ADD] & OPF_ELEMWISE);
    assert_true(op_flags[OP_PARAM] & OPF_LEAF);
    assert_true(op_flags[OP_XENT] & OPF_CHECKED);
    assert_false(op_flags[OP_MATVEC] & OPF_ELEMWISE);
    assert_string_equal(approx_name[APPROX_NEG], "neg");
    assert_string_equal(approx_name[APPROX_EMBED], "embed");
}

/* ---------------------------------------------------------------- typing */

/* Ensure NumPy broadcasting over trailing axes, and its failures. */
static void test_broadcast(void **state) {
    (void)state;
    Graph *g = dims_graph();
    assert_type(g, ok_node(g, OP_ADD, 2, F32(1, C(128)), F32(1, C(128))), DT_F32, "[128]");
    assert_type(g, ok_node(g, OP_MUL, 2, F32(2, C(4), C(3)), F32(1, C(3))), DT_F32, "[4, 3]");
    assert_type(g, ok_node(g, OP_SUB, 2, F32(1, C(3)), F32(2, C(4), C(3))), DT_F32, "[4, 3]");
    assert_type(g, ok_node(g, OP_DIV, 2, F32(2, C(4), C(1)), F32(1, C(3))), DT_F32, "[4, 3]");
    assert_type(g, ok_node(g, OP_ADD, 2, F32(2, T_(), C(1)), F32(2, C(1), C(5))), DT_F32, "[T, 5]");
    assert_type(g, ok_node(g, OP_ADD, 2, F32(0), F32(1, kT(1, 1))), DT_F32, "[T + 1]");
    assert_type(g, ok_node(g, OP_ADD, 2, F32(1, C(1)), F32(1, T_())), DT_F32, "[T]");
    assert_type(g, ok_node(g, OP_ADD, 2, F32(0), F32(0)), DT_F32, "[]");

    const char *m = bad_node(g, OP_ADD, 2, F32(2, C(4), C(3)), F32(1, C(4)));
    assert_contains(m, "'+'");
    assert_contains(m, "[4, 3]");
    assert_contains(m, "[4]");
    m = bad_node(g, OP_MUL, 2, F32(1, T_()), F32(1, kT(1, 1)));
    assert_contains(m, "[T]");
    assert_contains(m, "[T + 1]");
    m = bad_node(g, OP_ADD, 2, F32(1, C(3)), I32(1, kT(1, 1)));
    assert_string_equal(m, "expected a float tensor, got i32[T + 1]");
}

/* Ensure unary elementwise ops keep the shape and need floats. */
static void test_unary(void **state) {
    (void)state;
    Graph *g = dims_graph();
    Op ops[] = {OP_NEG, OP_TANH, OP_RELU, OP_SIGMOID, OP_EXP, OP_LOG, OP_SQRT, OP_ABS};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        assert_type(g, ok_node(g, ops[i], 1, F32(2, T_(), C(3)), NULL), DT_F32, "[T, 3]");
    assert_string_equal(bad_node(g, OP_TANH, 1, I32(0), NULL), "expected a float tensor, got i32");
}

/* Ensure leaves: constants, dims, params and inputs from the declarations. */
static void test_leaves(void **state) {
    (void)state;
    Graph *g = dims_graph();
    ParamDecl p = {.name = "W", .shape = {.rank = 2, .d = {C(128), C(64)}}, .init = INIT_GLOROT};
    VEC_PUSH(g->params, g->nparams, g->capparams, p);
    InputDecl in = {.name = "words", .dtype = DT_I32, .shape = {.rank = 1, .d = {kT(1, 1)}}};
    VEC_PUSH(g->inputs, g->ninputs, g->capinputs, in);

    assert_type(g, ok_node(g, OP_CONST, 0, NULL, NULL), DT_F32, "[]");
    assert_type(g, ok_node(g, OP_ICONST, 0, NULL, NULL), DT_I32, "[]");
    assert_type(g, ok_node(g, OP_DIM, 0, NULL, NULL), DT_I32, "[]");

    Node *n = ir_new_node(OP_PARAM, 0, NULL, NO_LOC);
    assert_true(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_type(g, n, DT_F32, "[128, 64]");
    n = ir_new_node(OP_INPUT, 0, NULL, NO_LOC);
    assert_true(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_type(g, n, DT_I32, "[T + 1]");
    n->index = 1; /* no such input */
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));

    n = ir_new_node(OP_FILL, 0, NULL, NO_LOC);
    n->shape = (Shape){.rank = 2, .d = {T_(), C(8)}};
    n->dtype = DT_I32; /* a fill is always float */
    assert_true(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_type(g, n, DT_F32, "[T, 8]");

    assert_type(g, ok_node(g, OP_IADD, 2, I32(0), I32(0)), DT_I32, "[]");
    assert_type(g, ok_node(g, OP_IMUL, 2, I32(0), I32(0)), DT_I32, "[]");
    assert_string_equal(bad_node(g, OP_ISUB, 2, I32(0), F32(0)), "'-' needs int scalars or int vectors, got i32 and f32");
    /* after batching, an index may be a vector of ids (RANGE) */
    assert_type(g, ok_node(g, OP_IADD, 2, I32(1, T_()), I32(0)), DT_I32, "[T]");
    assert_type(g, ok_node(g, OP_ISUB, 2, I32(0), I32(1, T_())), DT_I32, "[T]");
    assert_type(g, ok_node(g, OP_IMUL, 2, I32(1, T_()), I32(1, T_())), DT_I32, "[T]");
    const char *m = bad_node(g, OP_IADD, 2, I32(1, T_()), I32(1, kT(1, 1)));
    assert_contains(m, "[T]");
    assert_contains(m, "[T + 1]");
    /* vectorize's index tables: [T, B] ints with a scalar or their own shape */
    assert_type(g, ok_node(g, OP_IADD, 2, I32(2, C(2), C(3)), I32(0)), DT_I32, "[2, 3]");
    assert_type(g, ok_node(g, OP_IMUL, 2, I32(2, C(2), C(3)), I32(2, C(2), C(3))), DT_I32, "[2, 3]");
    m = bad_node(g, OP_IADD, 2, I32(2, C(2), C(3)), I32(2, C(3), C(2)));
    assert_contains(m, "[2, 3]");
    assert_contains(m, "[3, 2]");
    /* --batch's masks: lengths [B] against the steps as a column [T, 1] */
    assert_type(g, ok_node(g, OP_ISUB, 2, I32(1, C(3)), I32(2, T_(), C(1))), DT_I32, "[T, 3]");
    assert_type(g, ok_node(g, OP_IADD, 2, I32(2, T_(), C(1)), I32(2, C(1), C(3))), DT_I32, "[T, 3]");
    m = bad_node(g, OP_ISUB, 2, I32(1, C(3)), I32(2, T_(), C(2)));
    assert_contains(m, "cannot be broadcast");

    n = ir_new_node(OP_RANGE, 0, NULL, NO_LOC);
    n->size = C(2);
    n->shape = (Shape){.rank = 1, .d = {T_()}};
    assert_true(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_type(g, n, DT_I32, "[T]");
    n->shape.rank = 2;
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));
    n->shape.d[1] = C(1); /* a column: [T, 1] */
    assert_true(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_type(g, n, DT_I32, "[T, 1]");
    n->shape.d[1] = C(2);
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));
}

/* Ensure the products: matvec, matmul (with transpose flags), transpose, dot. */
static void test_products(void **state) {
    (void)state;
    Graph *g = dims_graph();
    assert_type(g, ok_node(g, OP_MATVEC, 2, F32(2, C(128), C(64)), F32(1, C(64))), DT_F32, "[128]");
    const char *m = bad_node(g, OP_MATVEC, 2, F32(2, C(128), C(64)), F32(1, C(100)));
    assert_string_equal(m, "shape mismatch in '@': [128, 64] @ [100] (inner sizes 64 and 100 differ)");
    assert_contains(bad_node(g, OP_MATVEC, 2, F32(1, C(3)), F32(1, C(3))), "[3] @ [3]");

    Node *a = F32(2, C(64), C(128)), *x = F32(1, C(64));
    Node *n = ir_new_node(OP_MATVEC, 2, (Node *[]){a, x}, NO_LOC);
    n->ta = true; /* a^T @ x: a is stored [K, M] */
    assert_true(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_type(g, n, DT_F32, "[128]");

    assert_type(g, ok_node(g, OP_MATMUL, 2, F32(2, T_(), C(64)), F32(2, C(64), C(32))), DT_F32, "[T, 32]");
    n = ir_new_node(OP_MATMUL, 2, (Node *[]){F32(2, C(64), T_()), F32(2, C(32), C(64))}, NO_LOC);
    n->ta = n->tb = true; /* [64, T]^T @ [32, 64]^T = [T, 64] @ [64, 32] */
    assert_true(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_type(g, n, DT_F32, "[T, 32]");
    n->tb = false; /* [T, 64] @ [32, 64]: inner 64 vs 32 */
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_contains(errbuf, "[64, T]");
    assert_contains(errbuf, "[32, 64]");

    /* batch_matmul: a product per leading index, a rank-2 operand shared */
    assert_type(g, ok_node(g, OP_BMM, 2, F32(3, C(4), T_(), C(8)), F32(3, C(4), C(8), C(3))), DT_F32, "[4, T, 3]");
    n = ir_new_node(OP_BMM, 2, (Node *[]){F32(3, C(4), T_(), C(8)), F32(3, C(4), T_(), C(8))}, NO_LOC);
    n->tb = true; /* x @ x^T per example: [4, T, T] */
    assert_true(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_type(g, n, DT_F32, "[4, T, T]");
    n = ir_new_node(OP_BMM, 2, (Node *[]){F32(2, C(5), C(8)), F32(3, C(4), T_(), C(8))}, NO_LOC);
    n->tb = true; /* a shared [5, 8] times each [T, 8]^T */
    assert_true(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_type(g, n, DT_F32, "[4, 5, T]");
    n->ta = true; /* [5, 8]^T @ [8, T]: inner 5 vs 8 */
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_contains(errbuf, "inner sizes 5 and 8 differ");
    assert_contains(bad_node(g, OP_BMM, 2, F32(3, C(4), C(2), C(8)), F32(3, C(3), C(8), C(2))), "one B at least");
    assert_contains(bad_node(g, OP_BMM, 2, F32(2, C(2), C(8)), F32(2, C(8), C(2))), "[2, 8] @ [8, 2]");

    assert_type(g, ok_node(g, OP_TRANSPOSE, 1, F32(2, T_(), C(5)), NULL), DT_F32, "[5, T]");
    assert_type(g, ok_node(g, OP_TRANSPOSE, 1, F32(3, C(4), T_(), C(5)), NULL), DT_F32, "[4, 5, T]");
    assert_false(ir_infer(g, ir_new_node(OP_TRANSPOSE, 1, (Node *[]){F32(1, C(5))}, NO_LOC), errbuf,
                          sizeof errbuf));

    assert_type(g, ok_node(g, OP_DOT, 2, F32(1, C(100)), F32(1, C(100))), DT_F32, "[]");
    m = bad_node(g, OP_DOT, 2, F32(1, C(100)), F32(1, C(99)));
    assert_contains(m, "[100]");
    assert_contains(m, "[99]");
}

/* Ensure indexing: a row of a tensor, and a gather of rows. */
static void test_indexing(void **state) {
    (void)state;
    Graph *g = dims_graph();
    assert_type(g, ok_node(g, OP_ROW, 2, F32(2, C(10000), C(64)), I32(0)), DT_F32, "[64]");
    assert_type(g, ok_node(g, OP_ROW, 2, I32(1, kT(1, 1)), I32(0)), DT_I32, "[]");
    assert_false(ir_infer(g, ir_new_node(OP_ROW, 2, (Node *[]){F32(0), I32(0)}, NO_LOC), errbuf, sizeof errbuf));
    assert_string_equal(bad_node(g, OP_ROW, 2, F32(1, C(4)), F32(0)), "expected an int scalar, got f32");

    assert_type(g, ok_node(g, OP_GATHER, 2, F32(2, C(10000), C(64)), I32(1, T_())), DT_F32, "[T, 64]");
    assert_type(g, ok_node(g, OP_GATHER, 2, I32(1, C(50)), I32(1, C(3))), DT_I32, "[3]");
    assert_contains(bad_node(g, OP_GATHER, 2, F32(2, C(10), C(4)), F32(1, C(3))), "f32[3]");

    /* reshape: a tensor's elements in order, f32 or i32, as many; never a
     * scalar (the backends copy a tensor's buffer) */
    Node *n = ir_new_node(OP_RESHAPE, 1, (Node *[]){I32(2, C(4), T_())}, NO_LOC);
    n->shape = (Shape){.rank = 1, .d = {kT(4, 0)}};
    assert_true(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_type(g, n, DT_I32, "[4*T]");
    n->shape.d[0] = kT(4, 1);
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_contains(errbuf, "'reshape' of i32[4, T] cannot give [4*T + 1]");
    n = ir_new_node(OP_RESHAPE, 1, (Node *[]){I32(0)}, NO_LOC);
    n->shape = (Shape){.rank = 1, .d = {C(1)}};
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_contains(errbuf, "'reshape' of i32 cannot give [1]");
}

/* Ensure reductions and concat. */
static void test_reductions(void **state) {
    (void)state;
    Graph *g = dims_graph();
    assert_type(g, ok_node(g, OP_SUM, 1, F32(3, C(2), C(3), C(4)), NULL), DT_F32, "[]");
    assert_type(g, ok_node(g, OP_MEAN, 1, F32(1, T_()), NULL), DT_F32, "[]");

    Node *n = ir_new_node(OP_SUMAXIS, 1, (Node *[]){F32(3, C(2), T_(), C(4))}, NO_LOC);
    n->index = 1;
    assert_true(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_type(g, n, DT_F32, "[2, 4]");
    n->op = OP_MEANAXIS;
    n->index = 0;
    assert_true(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_type(g, n, DT_F32, "[T, 4]");
    n->index = 3; /* rank 3: axes 0..2 */
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));
    assert_contains(errbuf, "[2, T, 4]");

    assert_type(g, ok_node(g, OP_CONCAT, 2, F32(2, C(2), C(5)), F32(2, T_(), C(5))), DT_F32, "[T + 2, 5]");
    assert_type(g, ok_node(g, OP_CONCAT, 2, I32(1, C(2)), I32(1, C(3))), DT_I32, "[5]");
    const char *m = bad_node(g, OP_CONCAT, 2, F32(2, C(2), C(5)), F32(2, C(2), C(6)));
    assert_contains(m, "[2, 5]");
    assert_contains(m, "[2, 6]");
    assert_false(ir_infer(g, ir_new_node(OP_CONCAT, 2, (Node *[]){F32(1, C(2)), I32(1, C(2))}, NO_LOC), errbuf,
                          sizeof errbuf));
    assert_false(ir_infer(g, ir_new_node(OP_CONCAT, 2, (Node *[]){F32(0), F32(0)}, NO_LOC), errbuf, sizeof errbuf));
}

/* Ensure the softmax family and the binary cross-entropy. */
static void test_softmax_ops(void **state) {
    (void)state;
    Graph *g = dims_graph();
    assert_type(g, ok_node(g, OP_SOFTMAX, 1, F32(1, C(10000)), NULL), DT_F32, "[10000]");
    assert_type(g, ok_node(g, OP_LOGSOFTMAX, 1, F32(2, T_(), C(10)), NULL), DT_F32, "[T, 10]");
    assert_false(ir_infer(g, ir_new_node(OP_SOFTMAX, 1, (Node *[]){F32(0)}, NO_LOC), errbuf, sizeof errbuf));

    assert_type(g, ok_node(g, OP_XENT, 2, F32(1, C(10000)), I32(0)), DT_F32, "[]");
    assert_type(g, ok_node(g, OP_XENT, 2, F32(2, T_(), C(10000)), I32(1, T_())), DT_F32, "[T]");
    const char *m = bad_node(g, OP_XENT, 2, F32(2, T_(), C(10000)), I32(1, kT(1, 1)));
    assert_contains(m, "[T, 10000]");
    assert_contains(m, "[T + 1]");
    assert_false(ir_infer(g, ir_new_node(OP_XENT, 2, (Node *[]){F32(1, C(5)), F32(0)}, NO_LOC), errbuf,
                          sizeof errbuf));

    assert_type(g, ok_node(g, OP_BXENT, 2, F32(1, C(8)), F32(1, C(8))), DT_F32, "[]");
    m = bad_node(g, OP_BXENT, 2, F32(1, C(8)), F32(1, C(9)));
    assert_contains(m, "[8]");
    assert_contains(m, "[9]");
}

/* Ensure malformed nodes are refused, not crashed on. */
static void test_infer_malformed(void **state) {
    (void)state;
    Graph *g = dims_graph();
    Node *n = ir_new_node(OP_ADD, 2, (Node *[]){F32(0), NULL}, NO_LOC);
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));
    n = ir_new_node(OP_ADD, 1, (Node *[]){F32(0)}, NO_LOC);
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));
    n = ir_new_node(OP_PARAM, 0, NULL, NO_LOC); /* no params declared */
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));
    n = ir_new_node(OP_CARRY, 0, NULL, NO_LOC); /* no loop */
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));
    n = ir_new_node(OP_LOOPOUT, 1, (Node *[]){F32(0)}, NO_LOC); /* not a loop */
    assert_false(ir_infer(g, n, errbuf, sizeof errbuf));
    char tiny[1];
    n = ir_new_node(OP_TANH, 1, (Node *[]){I32(0)}, NO_LOC);
    assert_false(ir_infer(g, n, tiny, sizeof tiny));
    assert_string_equal(tiny, "");
}

/* ---------------------------------------------------------------- the RNN */

/* The Elman RNN of LANGUAGE.md, built by hand as the front end would:
 * h carried, h stacked as hs, the per-step cross-entropy summed. */
typedef struct Rnn {
    Graph *g;
    Loop *l;
    Node *emb, *Wx, *Wh, *bh, *Wo, *bo, *words, *h0, *one;
    Node *t, *h, *w, *e, *ax, *ah, *s1, *s2, *hn, *t1, *y, *z, *z2, *xent;
    Node *out_h, *out_hs, *loss;
} Rnn;

static Node *add_node(Graph *g, Block *b, Op op, int nin, Node *a, Node *c, Loc loc, const char *name) {
    Node *n = ir_new_node(op, nin, (Node *[]){a, c}, loc);
    n->name = name;
    bool ok = ir_infer(g, n, errbuf, sizeof errbuf);
    if (!ok)
        print_error("%s\n", errbuf);
    assert_true(ok);
    ir_append(b, n);
    return n;
}

static Node *add_param(Graph *g, const char *name, int rank, Size d0, Size d1, InitKind init) {
    ParamDecl p = {.name = name, .loc = NO_LOC, .shape = {.rank = rank, .d = {d0, d1}}, .init = init};
    VEC_PUSH(g->params, g->nparams, g->capparams, p);
    Node *n = ir_new_node(OP_PARAM, 0, NULL, NO_LOC);
    n->index = g->nparams - 1;
    assert_true(ir_infer(g, n, errbuf, sizeof errbuf));
    ir_append(&g->top, n);
    return n;
}

static void build_rnn(Rnn *r) {
    memset(r, 0, sizeof *r);
    Graph *g = r->g = ir_new_graph();
    g->model = "rnnlm";
    const char *names[] = {"V", "E", "H"};
    int64_t sizes[] = {10000, 64, 128};
    for (int i = 0; i < 3; i++) {
        DimDecl d = {.name = names[i], .loc = NO_LOC, .dynamic = false, .value = sizes[i], .dyn = -1};
        VEC_PUSH(g->dims, g->ndims, g->capdims, d);
    }
    DimDecl t = {.name = "T", .loc = NO_LOC, .dynamic = true, .value = 100, .dyn = 0};
    VEC_PUSH(g->dims, g->ndims, g->capdims, t);
    g->ndyn = 1;
    g->opt = (OptimizerDecl){.kind = OPT_ADAM, .lr = 0.001, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .loc = NO_LOC};

    r->emb = add_param(g, "emb", 2, C(10000), C(64), INIT_GLOROT);
    r->Wx = add_param(g, "Wx", 2, C(128), C(64), INIT_GLOROT);
    r->Wh = add_param(g, "Wh", 2, C(128), C(128), INIT_GLOROT);
    r->bh = add_param(g, "bh", 1, C(128), C(0), INIT_ZEROS);
    r->Wo = add_param(g, "Wo", 2, C(10000), C(128), INIT_GLOROT);
    r->bo = add_param(g, "bo", 1, C(10000), C(0), INIT_ZEROS);
    InputDecl in = {.name = "words", .loc = NO_LOC, .dtype = DT_I32, .shape = {.rank = 1, .d = {kT(1, 1)}}};
    VEC_PUSH(g->inputs, g->ninputs, g->capinputs, in);
    r->words = ir_new_node(OP_INPUT, 0, NULL, NO_LOC);
    assert_true(ir_infer(g, r->words, errbuf, sizeof errbuf));
    ir_append(&g->top, r->words);

    r->h0 = ir_new_node(OP_FILL, 0, NULL, at(15, 5));
    r->h0->shape = (Shape){.rank = 1, .d = {C(128)}};
    r->h0->name = "h";
    assert_true(ir_infer(g, r->h0, errbuf, sizeof errbuf));
    ir_append(&g->top, r->h0);
    r->one = ir_new_node(OP_ICONST, 0, NULL, at(18, 43));
    r->one->i = 1;
    assert_true(ir_infer(g, r->one, errbuf, sizeof errbuf));
    ir_append(&g->top, r->one);

    Loop *l = r->l = ir_new_loop(&g->top, "t", C(0), T_(), at(16, 1));
    r->t = l->index;
    r->h = ir_loop_add_carry(l, r->h0, "h");
    Block *b = &l->body;
    r->w = add_node(g, b, OP_ROW, 2, r->words, r->t, at(17, 29), NULL);
    r->e = add_node(g, b, OP_ROW, 2, r->emb, r->w, at(17, 25), NULL);
    r->ax = add_node(g, b, OP_MATVEC, 2, r->Wx, r->e, at(17, 15), NULL);
    r->ah = add_node(g, b, OP_MATVEC, 2, r->Wh, r->h, at(17, 38), NULL);
    r->s1 = add_node(g, b, OP_ADD, 2, r->ax, r->ah, at(17, 34), NULL);
    r->s2 = add_node(g, b, OP_ADD, 2, r->s1, r->bh, at(17, 43), NULL);
    r->hn = add_node(g, b, OP_TANH, 1, r->s2, NULL, at(17, 7), "h");
    r->t1 = add_node(g, b, OP_IADD, 2, r->t, r->one, at(18, 41), NULL);
    r->y = add_node(g, b, OP_ROW, 2, r->words, r->t1, at(18, 36), NULL);
    r->z = add_node(g, b, OP_MATVEC, 2, r->Wo, r->hn, at(18, 27), NULL);
    r->z2 = add_node(g, b, OP_ADD, 2, r->z, r->bo, at(18, 32), NULL);
    Node *x = ir_new_node(OP_XENT, 2, (Node *[]){r->z2, r->y}, at(18, 11));
    x->approx = (Approx){.kind = APPROX_NEG, .k = 3, .loc = NO_LOC};
    assert_true(ir_infer(g, x, errbuf, sizeof errbuf));
    ir_append(b, x);
    r->xent = x;
    l->next[0] = r->hn;
    assert_int_equal(ir_loop_add_stack(l, r->hn), 1);
    assert_int_equal(ir_loop_add_sum(l, r->xent), 2);

    assert_true(ir_infer(g, l->node, errbuf, sizeof errbuf));
    ir_append(&g->top, l->node);
    r->out_h = ir_loop_result(l, 0, "h");
    r->out_hs = ir_loop_result(l, 1, "hs");
    r->loss = ir_loop_result(l, 2, "loss");
    OutputDecl o1 = {.name = "h", .loc = NO_LOC, .value = r->out_h};
    OutputDecl o2 = {.name = "hs", .loc = NO_LOC, .value = r->out_hs};
    VEC_PUSH(g->outputs, g->noutputs, g->capoutputs, o1);
    VEC_PUSH(g->outputs, g->noutputs, g->capoutputs, o2);
    g->loss = r->loss;
}

/* Runs f(g, out) into a string. */
static char *capture_print(Graph *g, const char *header) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    ir_print(g, f, header);
    fclose(f);
    return text;
}

/* Runs the verifier; returns its message ("" when it accepts). */
static char *verify_msg(Graph *g, bool *ok) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    *ok = ir_verify(g, "test", f);
    fclose(f);
    return text;
}

/* The dump of the RNN, written by hand from docs/IR.md. */
static const char rnn_expected[] =
    "; ---- IR dump after lower ----\n"
    "model rnnlm\n"
    "dim V = 10000\n"
    "dim E = 64\n"
    "dim H = 128\n"
    "dim T max 100\n"
    "param emb : f32[10000, 64] init glorot\n"
    "param Wx : f32[128, 64] init glorot\n"
    "param Wh : f32[128, 128] init glorot\n"
    "param bh : f32[128] init zeros\n"
    "param Wo : f32[10000, 128] init glorot\n"
    "param bo : f32[10000] init zeros\n"
    "input words : i32[T + 1]\n"
    "output h = %24\n"
    "output hs = %25\n"
    "loss = %26\n"
    "optimizer adam lr=0.001 beta1=0.9 beta2=0.999 eps=1e-08\n"
    "\n"
    "%0 = param emb : f32[10000, 64]\n"
    "%1 = param Wx : f32[128, 64]\n"
    "%2 = param Wh : f32[128, 128]\n"
    "%3 = param bh : f32[128]\n"
    "%4 = param Wo : f32[10000, 128]\n"
    "%5 = param bo : f32[10000]\n"
    "%6 = input words : i32[T + 1]\n"
    "%7 = fill 0 : f32[128] \"h\"                      @15:5\n"
    "%8 = iconst 1 : i32                             @18:43\n"
    "%9 = loop t in 0..T carry(%7) {                 @16:1\n"
    "  %10 = index t : i32 \"t\"                       @16:1\n"
    "  %11 = carry 0 : f32[128] \"h\"                  @15:5\n"
    "  %12 = row %6, %10 : i32                       @17:29\n"
    "  %13 = row %0, %12 : f32[64]                   @17:25\n"
    "  %14 = matvec %1, %13 : f32[128]               @17:15\n"
    "  %15 = matvec %2, %11 : f32[128]               @17:38\n"
    "  %16 = add %14, %15 : f32[128]                 @17:34\n"
    "  %17 = add %16, %3 : f32[128]                  @17:43\n"
    "  %18 = tanh %17 : f32[128] \"h\"                 @17:7\n"
    "  %19 = iadd %10, %8 : i32                      @18:41\n"
    "  %20 = row %6, %19 : i32                       @18:36\n"
    "  %21 = matvec %4, %18 : f32[10000]             @18:27\n"
    "  %22 = add %21, %5 : f32[10000]                @18:32\n"
    "  %23 = cross_entropy %22, %20 with neg(k=3) : f32 @18:11\n"
    "  next %11 <- %18\n"
    "  stack %18\n"
    "  sum %23\n"
    "}\n"
    "%24 = loopout %9.0 : f32[128] \"h\"               @16:1\n"
    "%25 = loopout %9.1 : f32[T, 128] \"hs\"           @16:1\n"
    "%26 = loopout %9.2 : f32 \"loss\"                 @16:1\n";

/* Ensure the builders give the RNN its types, and the dump is the documented text. */
static void test_rnn_print(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    Graph *g = r.g;
    /* builders */
    assert_ptr_equal(r.l->body.nodes[0], r.t);
    assert_ptr_equal(r.l->body.nodes[1], r.h);
    assert_ptr_equal(r.h->parent, &r.l->body);
    assert_int_equal(r.l->node->nin, 1);
    assert_ptr_equal(r.l->node->in[0], r.h0);
    assert_type(g, r.h, DT_F32, "[128]");
    assert_type(g, r.out_h, DT_F32, "[128]");
    assert_type(g, r.out_hs, DT_F32, "[T, 128]");
    assert_type(g, r.loss, DT_F32, "[]");
    assert_ptr_equal(r.out_h->parent, &g->top);

    char *text = capture_print(g, "after lower");
    if (strcmp(text, rnn_expected) != 0)
        print_error("got:\n%s\n", text);
    assert_string_equal(text, rnn_expected);
    free(text);
}

/* Ensure the printer shows each op's attributes (docs/IR.md). */
static void test_print_attributes(void **state) {
    (void)state;
    Graph *g = dims_graph();
    g->model = "attrs";
    g->opt = (OptimizerDecl){.kind = OPT_SGD, .lr = 0.1};
    Block *b = &g->top;
    Node *r = ir_new_node(OP_RANGE, 0, NULL, NO_LOC);
    r->size = C(2);
    r->shape = (Shape){.rank = 1, .d = {T_()}};
    r->name = "i";
    assert_true(ir_infer(g, r, errbuf, sizeof errbuf));
    ir_append(b, r);
    Node *d = ir_new_node(OP_DIM, 0, NULL, NO_LOC);
    d->size = kT(1, 4);
    assert_true(ir_infer(g, d, errbuf, sizeof errbuf));
    ir_append(b, d);
    Node *k = ir_new_node(OP_CONST, 0, NULL, NO_LOC);
    k->f = -0.25;
    assert_true(ir_infer(g, k, errbuf, sizeof errbuf));
    ir_append(b, k);
    Node *f = ir_new_node(OP_FILL, 0, NULL, at(3, 7));
    f->shape = (Shape){.rank = 2, .d = {C(5), T_()}};
    f->f = 1;
    assert_true(ir_infer(g, f, errbuf, sizeof errbuf));
    ir_append(b, f);
    Node *mm = ir_new_node(OP_MATMUL, 2, (Node *[]){f, f}, NO_LOC);
    mm->ta = true; /* [5, T]^T @ [5, T] = [T, T] */
    assert_true(ir_infer(g, mm, errbuf, sizeof errbuf));
    ir_append(b, mm);
    Node *ax = ir_new_node(OP_MEANAXIS, 1, (Node *[]){mm}, NO_LOC);
    ax->index = 1;
    assert_true(ir_infer(g, ax, errbuf, sizeof errbuf));
    ir_append(b, ax);
    Node *sm = ir_new_node(OP_LOGSOFTMAX, 1, (Node *[]){ax}, NO_LOC);
    sm->approx = (Approx){.kind = APPROX_SAMPLED, .k = 64, .share_batch = true};
    assert_true(ir_infer(g, sm, errbuf, sizeof errbuf));
    ir_append(b, sm);
    Node *sm2 = ir_new_node(OP_SOFTMAX, 1, (Node *[]){ax}, NO_LOC);
    sm2->approx = (Approx){.kind = APPROX_HIER};
    assert_true(ir_infer(g, sm2, errbuf, sizeof errbuf));
    ir_append(b, sm2);
    Node *sm3 = ir_new_node(OP_SOFTMAX, 1, (Node *[]){ax}, NO_LOC); /* full: no `with` */
    assert_true(ir_infer(g, sm3, errbuf, sizeof errbuf));
    ir_append(b, sm3);

    const char *expected =
        "; ---- IR dump after x ----\n"
        "model attrs\n"
        "dim H = 128\n"
        "dim T max 100\n"
        "dim S max 7\n"
        "optimizer sgd lr=0.1\n"
        "\n"
        "%0 = range 2 : i32[T] \"i\"\n"
        "%1 = dim T + 4 : i32\n"
        "%2 = const -0.25 : f32\n"
        "%3 = fill 1 : f32[5, T]                         @3:7\n"
        "%4 = matmul %3, %3 ta : f32[T, T]\n"
        "%5 = mean_axis %4 axis=1 : f32[T]\n"
        "%6 = log_softmax %5 with sampled(k=64, share=batch) : f32[T]\n"
        "%7 = softmax %5 with hier : f32[T]\n"
        "%8 = softmax %5 : f32[T]\n";
    char *text = capture_print(g, "after x");
    assert_string_equal(text, expected);
    free(text);
}

/* Ensure the Graphviz dump has one cluster for the loop and the data edges. */
static void test_rnn_dot(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ir_dot(r.g, f);
    fclose(f);
    assert_contains(text, "digraph \"rnnlm\" {");
    assert_contains(text, "subgraph cluster_n9 {");
    assert_contains(text, "label=\"t in 0..T\"");
    assert_contains(text, "n18 [label=\"%18 tanh f32[128]\"];");
    assert_contains(text, "n17 -> n18;");
    assert_contains(text, "n18 -> n11 [style=dashed, label=\"next\"];");
    assert_contains(text, "n9 -> n26;");
    assert_int_equal(text[strlen(text) - 2], '}');
    free(text);
}

/* The verifier accepts g (its message is shown otherwise). */
static void expect_verified(Graph *g) {
    bool ok;
    char *msg = verify_msg(g, &ok);
    if (!ok)
        print_error("%s", msg);
    assert_true(ok);
    free(msg);
}

/* Ensure the verifier accepts the RNN and leaves the nodes' marks alone. */
static void test_verify_ok(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    r.hn->mark = 42;
    bool ok;
    char *msg = verify_msg(r.g, &ok);
    if (!ok)
        print_error("%s", msg);
    assert_true(ok);
    assert_string_equal(msg, "");
    assert_int_equal(r.hn->mark, 42);
    free(msg);
}

/* qsort of this test binary (it takes the place of libc's for the code
 * under test): counts calls with no elements, where the verifier would
 * pass a NULL array (undefined behaviour, issue #14), and sorts the rest
 * by insertion. */
static int qsort_empty_calls;

void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
    if (n == 0) {
        qsort_empty_calls++;
        return;
    }
    char *b = base, tmp[64];
    assert_true(size <= sizeof tmp);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && cmp(b + (j - 1) * size, b + j * size) > 0; j--) {
            memcpy(tmp, b + j * size, size);
            memcpy(b + j * size, b + (j - 1) * size, size);
            memcpy(b + (j - 1) * size, tmp, size);
        }
}

/* Ensure the verifier accepts an empty graph (a model without outputs)
 * without sorting an empty (NULL) list of nodes. */
static void test_verify_empty(void **state) {
    (void)state;
    Graph *g = ir_new_graph();
    qsort_empty_calls = 0;
    bool ok;
    char *msg = verify_msg(g, &ok);
    assert_true(ok);
    assert_string_equal(msg, "");
    assert_int_equal(qsort_empty_calls, 0);
    free(msg);
}

/* Verifies a broken graph: it must be rejected with a message that names
 * node n (by "%id op") and contains `what`. */
static void expect_rejected(Rnn *r, const Node *n, const char *what) {
    bool ok;
    char *msg = verify_msg(r->g, &ok);
    assert_false(ok);
    assert_contains(msg, "nngc: internal error: IR verifier (after test): ");
    if (n) {
        char name[64];
        snprintf(name, sizeof name, "%%%d %s: ", n->id, op_name[n->op]);
        assert_contains(msg, name);
    }
    assert_contains(msg, what);
    free(msg);
}

/* Ensure an operand used before its definition is rejected. */
static void test_verify_use_before_def(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    /* swap "add %14, %15" and "add %16, %3" in the body */
    Block *b = &r.l->body;
    int i = 0;
    while (b->nodes[i] != r.s1)
        i++;
    b->nodes[i] = r.s2;
    b->nodes[i + 1] = r.s1;
    expect_rejected(&r, r.s2, "used before its definition");
}

/* Ensure a body value used after its loop is rejected. */
static void test_verify_escape_from_loop(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    Node *n = ir_new_node(OP_NEG, 1, (Node *[]){r.hn}, NO_LOC);
    assert_true(ir_infer(r.g, n, errbuf, sizeof errbuf));
    ir_append(&r.g->top, n);
    expect_rejected(&r, n, "inside a loop body");
}

/* Ensure a stored shape that its operands do not give is rejected. */
static void test_verify_wrong_shape(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    r.ax->shape.d[0] = C(64);
    /* %16 = add %14, %15 would be caught too, but %14 comes first */
    expect_rejected(&r, r.ax, "stored type f32[64], but its operands give f32[128]");
}

/* Ensure a LOOP node whose operands do not match its carries is rejected. */
static void test_verify_carry_count(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    r.l->node->nin = 0;
    expect_rejected(&r, r.l->node, "0 initial values for 1 carries");
}

/* Ensure a LOOPOUT of a result the loop does not have is rejected. */
static void test_verify_loopout_range(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    r.out_hs->index = 3;
    expect_rejected(&r, r.out_hs, "result 3 out of range");
}

/* Ensure a CARRY node outside its loop's body is rejected. */
static void test_verify_carry_outside(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    /* move the carry from the body to the top block, before the loop */
    Block *b = &r.l->body;
    memmove(&b->nodes[1], &b->nodes[2], sizeof(Node *) * (size_t)(b->n - 2));
    b->n--;
    ir_insert(&r.g->top, 9, r.h);
    expect_rejected(&r, r.h, "not in the body of its own loop");
}

/* Ensure a node whose parent pointer is wrong, or that appears twice, is rejected. */
static void test_verify_structure(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    r.e->parent = &r.g->top;
    expect_rejected(&r, r.e, "parent is not the block");

    build_rnn(&r);
    ir_append(&r.g->top, r.words); /* a second time */
    expect_rejected(&r, r.words, "appears more than once");
}

/* Ensure wrong arity, bad loss/output and next-value type are rejected. */
static void test_verify_misc(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    r.s1->nin = 1;
    expect_rejected(&r, r.s1, "has 1 operands, its op takes 2");

    build_rnn(&r);
    r.g->loss = r.out_h; /* f32[128] */
    expect_rejected(&r, r.out_h, "not a float scalar");

    build_rnn(&r);
    r.g->outputs[0].value = r.hn; /* a body value */
    expect_rejected(&r, r.hn, "not in the top block");

    build_rnn(&r);
    r.l->next[0] = r.z2; /* f32[10000] for a f32[128] carry */
    expect_rejected(&r, r.l->node, "next value 0");

    build_rnn(&r);
    r.l->next[0] = r.out_h; /* defined after the loop */
    expect_rejected(&r, r.l->node, "not in scope at the end of the body");

    build_rnn(&r);
    Node *stray = F32(1, C(128)); /* typed, but in no block */
    r.ah->in[1] = stray;
    expect_rejected(&r, r.ah, "is not in the graph");

    build_rnn(&r);
    r.e->in[0] = r.l->node; /* a loop used as a value */
    expect_rejected(&r, r.e, "loop");
}

/* Ensure ir_replace_uses reaches operands, loop results, outputs and the loss. */
static void test_replace_uses(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    Node *h2 = ir_new_node(OP_RELU, 1, (Node *[]){r.s2}, NO_LOC);
    assert_true(ir_infer(r.g, h2, errbuf, sizeof errbuf));
    Block *b = &r.l->body;
    int i = 0;
    while (b->nodes[i] != r.hn)
        i++;
    ir_insert(b, i + 1, h2);
    ir_replace_uses(r.g, r.hn, h2);
    assert_ptr_equal(r.z->in[1], h2);
    assert_ptr_equal(r.l->next[0], h2);
    assert_ptr_equal(r.l->stack[0], h2);
    ir_replace_uses(r.g, r.loss, r.out_h);
    assert_ptr_equal(r.g->loss, r.out_h);
    ir_replace_uses(r.g, r.out_hs, r.out_h);
    assert_ptr_equal(r.g->outputs[1].value, r.out_h);

    build_rnn(&r);
    Node *h3 = ir_new_node(OP_RELU, 1, (Node *[]){r.s2}, NO_LOC);
    assert_true(ir_infer(r.g, h3, errbuf, sizeof errbuf));
    ir_insert(&r.l->body, 9, h3); /* right after tanh */
    ir_replace_uses(r.g, r.hn, h3);
    bool ok;
    char *msg = verify_msg(r.g, &ok);
    if (!ok)
        print_error("%s", msg);
    assert_true(ok);
    free(msg);
}

/* Ensure the builder types and places nodes at its insertion point, and
 * applies its error policy to a node its typing rule rejects. */
static void test_builder(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    Graph *g = r.g;
    Block *b = &r.l->body;
    /* two nodes put before s1: in that order, typed, s1 after them */
    int pos = 0;
    while (b->nodes[pos] != r.s1)
        pos++;
    Builder at_s1 = build_at(g, b, pos, BUILD_ASSERT, "test");
    Node *n1 = build_op1(&at_s1, OP_TANH, r.ax, at(3, 4));
    Node *n2 = build_op2(&at_s1, OP_MUL, n1, r.ah, at(3, 9));
    assert_ptr_equal(b->nodes[pos], n1);
    assert_ptr_equal(b->nodes[pos + 1], n2);
    assert_ptr_equal(b->nodes[pos + 2], r.s1);
    assert_int_equal(n2->dtype, DT_F32);
    assert_int_equal(n2->shape.rank, 1);
    assert_true(size_eq(n2->shape.d[0], C(128)));
    assert_ptr_equal(n2->parent, b);
    /* a rejected node: NULL and nothing placed (BUILD_TRY) */
    Builder try_ = build_at(g, b, -1, BUILD_TRY, "test");
    int before = b->n;
    assert_null(build_op2(&try_, OP_ADD, r.ax, r.e, at(4, 1))); /* [128] + [64] */
    assert_int_equal(b->n, before);
    /* a NULL operand (an earlier error): NULL, quietly */
    assert_null(build_op2(&try_, OP_ADD, r.ax, NULL, at(4, 1)));
    /* BUILD_DIAG: a diagnostic at the location given */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    Diag d;
    diag_init(&d, f);
    diag_add_file(&d, "m.nn", "model m\ny = a + b\n", 18);
    Builder fe = build_at(g, b, -1, BUILD_DIAG, NULL);
    fe.diag = &d;
    assert_null(build_op2(&fe, OP_ADD, r.ax, r.e, (Loc){0, 2, 7, 14, 1}));
    fclose(f);
    assert_int_equal(d.nerrors, 1);
    assert_contains(text, "m.nn:2:7: error: ");
    assert_contains(text, "[128]");
    assert_contains(text, "[64]");
    free(text);
    /* leaves: at the head of the top block, or at its end */
    Node *c = build_leaf(&try_, ir_const(2.5, at(5, 1)), true);
    assert_ptr_equal(g->top.nodes[0], c);
    assert_int_equal(c->dtype, DT_F32);
    assert_int_equal(c->shape.rank, 0);
    Node *k = build_leaf(&try_, ir_size_node(size_dyn(0), at(5, 2)), false);
    assert_ptr_equal(g->top.nodes[g->top.n - 1], k);
    assert_int_equal(k->op, OP_DIM);
    assert_int_equal(ir_size_node(C(7), at(5, 3))->op, OP_ICONST);
}

/* Ensure the shared questions of uses.c: use counts, the value behind a
 * loop result, its LOOPOUT, and a stacked result added with the sums
 * renumbered. */
static void test_uses(void **state) {
    (void)state;
    Rnn r;
    build_rnn(&r);
    Graph *g = r.g;
    Loop *l = r.l;
    /* hn: tanh used by z (operand), next value and stacked value */
    assert_int_equal(ir_result_uses(l, r.hn), 2);
    assert_int_equal(ir_block_uses(&g->top, r.hn), 3);
    assert_int_equal(ir_block_uses(&g->top, r.words), 2);
    ir_count_uses(g);
    assert_int_equal(r.hn->mark, 3);
    assert_int_equal(r.out_h->mark, 1); /* an output */
    assert_int_equal(r.loss->mark, 1);  /* the loss */
    ir_clear_marks(&g->top);
    assert_int_equal(r.hn->mark, 0);
    assert_ptr_equal(ir_loop_value(l, 0), r.hn);
    assert_ptr_equal(ir_loop_value(l, 2), r.xent);
    assert_ptr_equal(ir_loop_find_result(l, 2), r.loss);
    /* the existing stack of hn is found; a new one for s2 is added
     * between the stacks and the sums (the loss's LOOPOUT becomes 3) */
    bool added;
    assert_ptr_equal(ir_loop_stack_of(l, r.hn, -1, NULL, &added), r.out_hs);
    assert_false(added);
    Node *st = ir_loop_stack_of(l, r.s2, -1, NULL, &added);
    assert_true(added);
    assert_int_equal(st->index, 2);
    assert_int_equal(r.loss->index, 3);
    assert_ptr_equal(ir_loop_value(l, 3), r.xent);
    /* right after the loop's other results */
    int p = 0;
    while (g->top.nodes[p] != l->node)
        p++;
    assert_ptr_equal(g->top.nodes[p + 4], st);
    assert_int_equal(ir_loop_results_end(l, -1), p + 5); /* searched */
    assert_int_equal(ir_loop_results_end(l, p), p + 5);  /* from where the loop is */
    expect_verified(g);
    /* NodeIndex */
    NodeIndex ix = {0};
    assert_int_equal(node_index_get(&ix, r.hn), -1);
    for (int i = 0; i < g->top.n; i++)
        node_index_put(&ix, g->top.nodes[i], i);
    for (int i = 0; i < g->top.n; i++)
        assert_int_equal(node_index_get(&ix, g->top.nodes[i]), i);
    assert_int_equal(node_index_get(&ix, r.hn), -1);
}

/* Ensure a carry found late is placed before the body nodes that may read it. */
static void test_late_carry(void **state) {
    (void)state;
    Graph *g = dims_graph();
    Node *a = ir_new_node(OP_CONST, 0, NULL, NO_LOC);
    assert_true(ir_infer(g, a, errbuf, sizeof errbuf));
    ir_append(&g->top, a);
    Loop *l = ir_new_loop(&g->top, "i", C(2), kT(1, 2), NO_LOC);
    Node *x = ir_new_node(OP_NEG, 1, (Node *[]){a}, NO_LOC);
    assert_true(ir_infer(g, x, errbuf, sizeof errbuf));
    ir_append(&l->body, x);
    Node *c0 = ir_loop_add_carry(l, a, "u");
    Node *c1 = ir_loop_add_carry(l, a, "v");
    assert_ptr_equal(l->body.nodes[0], l->index);
    assert_ptr_equal(l->body.nodes[1], c0);
    assert_ptr_equal(l->body.nodes[2], c1);
    assert_ptr_equal(l->body.nodes[3], x);
    assert_int_equal(c1->index, 1);
    l->next[0] = x;
    l->next[1] = c1;
    assert_int_equal(ir_loop_add_stack(l, x), 2);
    assert_true(ir_infer(g, l->node, errbuf, sizeof errbuf));
    ir_append(&g->top, l->node);
    Node *st = ir_loop_result(l, 2, "xs");
    assert_type(g, st, DT_F32, "[T]"); /* (T + 2) - 2 rows */
    expect_verified(g);
}

/* The approximations' ops on targets of one position (a scalar), of a
 * loop's positions ([T]) and of a batch's examples at every step ([T, B]):
 * one row of results per target (docs/IR.md). */
static Node *approx_node(Graph *g, Op op, int nin, Node *const *in, int64_t i, int64_t size, int index, bool ok) {
    Node *n = ir_new_node(op, nin, in, NO_LOC);
    n->i = i;
    n->size = C(size);
    n->index = index;
    bool typed = ir_infer(g, n, errbuf, sizeof errbuf);
    if (typed != ok)
        print_error("%s: %s\n", op_name[op], typed ? "typed, expected an error" : errbuf);
    assert_int_equal(typed, ok);
    return n;
}

static void test_approx_rows(void **state) {
    (void)state;
    Graph *g = dims_graph();
    /* hier's path of 12 nodes among 100 words: [12] per target */
    assert_type(g, approx_node(g, OP_HIERPATH, 1, (Node *[]){I32(0)}, 12, 100, 0, true), DT_I32, "[12]");
    assert_type(g, approx_node(g, OP_HIERLABEL, 1, (Node *[]){I32(1, T_())}, 12, 100, 0, true), DT_I32, "[T, 12]");
    assert_type(g, approx_node(g, OP_HIERPATH, 1, (Node *[]){I32(2, T_(), C(3))}, 12, 100, 0, true), DT_I32,
                "[T, 3, 12]");
    approx_node(g, OP_HIERPATH, 1, (Node *[]){F32(1, T_())}, 12, 100, 0, false);
    approx_node(g, OP_HIERPATH, 1, (Node *[]){I32(6, T_(), C(3), C(2), C(2), C(2), C(2))}, 12, 100, 0, false); /* paths of rank 7 */
    /* class ranges of 4 ids, binary codes */
    assert_type(g, approx_node(g, OP_CLASSIDS, 1, (Node *[]){I32(2, T_(), C(3))}, 4, 100, 0, true), DT_I32, "[T, 3, 4]");
    assert_type(g, approx_node(g, OP_BINSLOT, 1, (Node *[]){I32(2, T_(), C(3))}, 4, 100, 50, true), DT_I32, "[T, 3]");
    /* 5 draws: the target and the loop indexes, scalars or one shape */
    assert_type(g, approx_node(g, OP_SAMPLE, 2, (Node *[]){I32(0), I32(0)}, 5, 100, 0, true), DT_I32, "[6]");
    assert_type(g, approx_node(g, OP_SAMPLE, 3, (Node *[]){I32(2, T_(), C(3)), I32(0), I32(2, T_(), C(3))}, 5, 100, 0,
                               true),
                DT_I32, "[T, 3, 6]");
    approx_node(g, OP_SAMPLE, 2, (Node *[]){I32(2, T_(), C(3)), I32(1, T_())}, 5, 100, 0, false); /* [T] is not [T, 3] */
    /* a loss per row of logits, with the target (class) or the ids (neg) of that row */
    assert_type(g, approx_node(g, OP_CLASSLOSS, 2, (Node *[]){F32(3, T_(), C(3), C(8)), I32(2, T_(), C(3))}, 0, 100, 0,
                               true),
                DT_F32, "[T, 3]");
    approx_node(g, OP_CLASSLOSS, 2, (Node *[]){F32(3, T_(), C(3), C(8)), I32(1, T_())}, 0, 100, 0, false);
    assert_type(g, approx_node(g, OP_CLASSGRAD, 3,
                               (Node *[]){F32(3, T_(), C(3), C(8)), I32(2, T_(), C(3)), F32(2, T_(), C(3))}, 0, 100, 0,
                               true),
                DT_F32, "[T, 3, 8]");
    assert_type(g, approx_node(g, OP_NEGLOSS, 2, (Node *[]){F32(3, T_(), C(3), C(6)), I32(3, T_(), C(3), C(6))}, 5, 100,
                               0, true),
                DT_F32, "[T, 3]");
    approx_node(g, OP_NEGLOSS, 2, (Node *[]){F32(3, T_(), C(3), C(6)), I32(2, T_(), C(6))}, 5, 100, 0, false);
    assert_type(g, approx_node(g, OP_LOGISTICGRAD, 3,
                               (Node *[]){F32(3, T_(), C(3), C(6)), I32(3, T_(), C(3), C(6)), F32(2, T_(), C(3))}, 0,
                               100, 0, true),
                DT_F32, "[T, 3, 6]");
    approx_node(g, OP_LOGISTICGRAD, 3, (Node *[]){F32(3, T_(), C(3), C(6)), I32(3, T_(), C(3), C(6)), F32(1, T_())},
                0, 100, 0, false); /* a gradient per row: [T, 3] */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_arith),
        cmocka_unit_test(test_size_max),
        cmocka_unit_test(test_size_str),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_op_tables),
        cmocka_unit_test(test_broadcast),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_leaves),
        cmocka_unit_test(test_products),
        cmocka_unit_test(test_indexing),
        cmocka_unit_test(test_reductions),
        cmocka_unit_test(test_softmax_ops),
        cmocka_unit_test(test_approx_rows),
        cmocka_unit_test(test_infer_malformed),
        cmocka_unit_test(test_rnn_print),
        cmocka_unit_test(test_print_attributes),
        cmocka_unit_test(test_rnn_dot),
        cmocka_unit_test(test_verify_ok),
        cmocka_unit_test(test_verify_empty),
        cmocka_unit_test(test_verify_use_before_def),
        cmocka_unit_test(test_verify_escape_from_loop),
        cmocka_unit_test(test_verify_wrong_shape),
        cmocka_unit_test(test_verify_carry_count),
        cmocka_unit_test(test_verify_loopout_range),
        cmocka_unit_test(test_verify_carry_outside),
        cmocka_unit_test(test_verify_structure),
        cmocka_unit_test(test_verify_misc),
        cmocka_unit_test(test_replace_uses),
        cmocka_unit_test(test_late_carry),
        cmocka_unit_test(test_builder),
        cmocka_unit_test(test_uses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
