/*
 * test_clone.c - unit tests of compiler/ir/clone.c (ir_clone).
 *
 * A clone must print exactly as its original, pass the verifier, and share
 * no Node, Block or Loop with it: every such pointer reachable from the
 * clone is checked against the set reachable from the original, and
 * changing the clone (running the -O2 pipeline on it) must leave the
 * original's dump as it was. Graphs come from the real front end, then
 * autodiff and the passes, so that loops, reverse loops, gradients and
 * fused bodies are all copied.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nngc.h"
#include "passes/pipeline.h"

static const char *const rnnlm = "model rnnlm\n"
                                 "dim V = 50\ndim E = 8\ndim H = 6\ndim T max 10\n"
                                 "param emb : [V, E]\nparam Wx : [H, E]\nparam Wh : [H, H]\n"
                                 "param bh : [H] init zeros\nparam Wo : [V, H]\nparam bo : [V] init zeros\n"
                                 "input words : int[T + 1]\n"
                                 "optimizer adam(lr = 0.001)\n"
                                 "output hs\n"
                                 "h = zeros([H])\n"
                                 "for t in 0..T {\n"
                                 "  h = tanh(Wx @ emb[words[t]] + Wh @ h + bh)\n"
                                 "  hs[t] = h\n"
                                 "  loss += cross_entropy(Wo @ h + bo, words[t + 1])\n"
                                 "}\n";

static Graph *lower_src(const char *src) {
    Diag d;
    diag_init(&d, stderr);
    int file = diag_add_file(&d, "t.nn", xstrdup(src), strlen(src));
    AstList prog = {0};
    LowerOptions lo = {.stdlib_dir = "stdlib"};
    Graph *g = parse_file(&d, file, &prog) ? lower_program(&d, file, &prog, &lo) : NULL;
    assert_non_null(g);
    return g;
}

static char *dump(Graph *g) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ir_number(g);
    ir_print(g, f, "test");
    fclose(f);
    char *s = xstrdup(buf);
    free(buf);
    return s;
}

static void run_o2(Graph *g) {
    PipelineOptions po = {.opt_level = 2};
    assert_true(run_pipeline(g, &po));
}

/* ---------------------------------------------------------------- pointer sets */

typedef struct Ptrs {
    const void **v;
    int n, cap;
} Ptrs;

static void add(Ptrs *p, const void *x) {
    if (x)
        VEC_PUSH(p->v, p->n, p->cap, x);
}

static void collect_block(Ptrs *p, const Block *b);

static void collect_node(Ptrs *p, const Node *n) {
    add(p, n);
    if (n->op == OP_LOOP) {
        add(p, n->loop);
        collect_block(p, &n->loop->body);
    }
    if (n->fused)
        collect_block(p, n->fused);
}

static void collect_block(Ptrs *p, const Block *b) {
    add(p, b);
    for (int i = 0; i < b->n; i++)
        collect_node(p, b->nodes[i]);
}

static bool member(const Ptrs *p, const void *x) {
    for (int i = 0; i < p->n; i++)
        if (p->v[i] == x)
            return true;
    return false;
}

/* No node, block or loop of c is one of o's; c's outputs, loss and
 * gradients are its own nodes; the declaration tables are copies. */
static void check_disjoint(const Graph *o, const Graph *c) {
    Ptrs po = {0}, pc = {0};
    collect_block(&po, &o->top);
    collect_block(&pc, &c->top);
    assert_int_equal(po.n, pc.n);
    for (int i = 0; i < pc.n; i++)
        assert_false(member(&po, pc.v[i]));
    for (int k = 0; k < c->noutputs; k++)
        assert_true(member(&pc, c->outputs[k].value));
    if (c->loss)
        assert_true(member(&pc, c->loss));
    for (int k = 0; c->grads && k < c->nparams; k++)
        assert_true(!c->grads[k] || member(&pc, c->grads[k]));
    assert_true(c->dims != o->dims && c->params != o->params && c->inputs != o->inputs);
    assert_true(c->outputs != o->outputs);
}

/* Every operand, parent, loop and fused pointer of b's nodes is in the set. */
static void check_links(const Ptrs *p, const Block *b) {
    assert_true(member(p, b));
    assert_true(!b->outer || member(p, b->outer));
    assert_true(!b->loop || member(p, b->loop));
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        assert_true(member(p, n->parent));
        for (int k = 0; k < n->nin; k++)
            assert_true(member(p, n->in[k]));
        if (n->loop)
            assert_true(member(p, n->loop));
        if (n->op == OP_LOOP) {
            const Loop *l = n->loop;
            assert_ptr_equal(l->node, n);
            assert_true(member(p, l->index));
            for (int r = 0; r < l->ncarry; r++)
                assert_true(member(p, l->carry[r]) && member(p, l->next[r]));
            for (int r = 0; r < l->nstack; r++)
                assert_true(member(p, l->stack[r]));
            for (int r = 0; r < l->nsum; r++)
                assert_true(member(p, l->sum[r]));
            check_links(p, &l->body);
        }
        if (n->fused)
            check_links(p, n->fused);
    }
}

static void check_clone(Graph *g) {
    char *before = dump(g);
    Graph *c = ir_clone(g);
    assert_string_equal(dump(c), before);
    assert_true(ir_verify(c, "clone", stderr));
    check_disjoint(g, c);
    Ptrs pc = {0};
    collect_block(&pc, &c->top);
    check_links(&pc, &c->top);
    /* changing the clone leaves the original as it was */
    run_o2(c);
    assert_string_equal(dump(g), before);
    assert_true(ir_verify(g, "original", stderr));
}

/* ---------------------------------------------------------------- tests */

/* The forward graph as lowered: loops with carries, a stacked row write. */
static void test_clone_lowered(void **state) {
    (void)state;
    check_clone(lower_src(rnnlm));
}

/* After autodiff: reverse loops and gradients; after -O2: batched
 * products and fused bodies (FUSED nodes with their own blocks). */
static void test_clone_trained_and_optimized(void **state) {
    (void)state;
    Graph *t = lower_src(rnnlm);
    Diag d;
    diag_init(&d, stderr);
    assert_true(autodiff(t, &d));
    assert_non_null(t->grads);
    check_clone(t);
    run_o2(t);
    bool fused = false;
    for (int i = 0; i < t->top.n; i++)
        fused |= t->top.nodes[i]->op == OP_FUSED;
    assert_true(fused); /* the test means to copy a fused body */
    check_clone(t);
}

/* The clone's pointers can be told apart: a mutation through the clone's
 * node never shows in the original (the check above would pass for a
 * shallow copy whose dumps coincide, so change a constant directly). */
static void test_clone_is_deep(void **state) {
    (void)state;
    Graph *g = lower_src("model c\ndim D = 3\ninput x : [D]\noutput y\ny = x * 2.5\n");
    Graph *c = ir_clone(g);
    for (int i = 0; i < c->top.n; i++)
        if (c->top.nodes[i]->op == OP_CONST)
            c->top.nodes[i]->f = 7;
    assert_non_null(strstr(dump(g), "2.5"));
    assert_null(strstr(dump(g), "const 7"));
    assert_non_null(strstr(dump(c), "7"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clone_lowered),
        cmocka_unit_test(test_clone_trained_and_optimized),
        cmocka_unit_test(test_clone_is_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
