/*
 * test_memplan.c - unit tests of the backend's memory planner
 * (compiler/backend/memplan.c, through backend_plan).
 *
 * Programs go through the real front end and pass pipeline (and autodiff
 * for the train graph), then backend_plan gives every arena region with
 * its live range. Checks:
 *   - on every example and bench model, at -O0 and -O2, forward and train
 *     graph: no two regions live at the same time share a byte, and every
 *     region lies inside the arena (checked pair by pair here, not by the
 *     planner's own check);
 *   - on a chain of five same-sized values the arena holds three regions,
 *     the count worked out by hand below;
 *   - on the RNN language model the arena is smaller than the sum of its
 *     buffers (regions are reused).
 * Whether the live ranges themselves are right is what the e2e, opt and
 * train suites check with numbers: a buffer reused too early changes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "nngc.h"
#include "backend/emit.h"
#include "passes/pipeline.h"

typedef struct Plans {
    MemStats fwd, trn;
    bool has_train;
} Plans;

/* Lowers src (named path), runs the pipeline at level, differentiates a
 * second lowering when the program has a loss, and plans both graphs. */
static Plans plan_src(const char *path, const char *src, int level)
{
    Diag d;
    diag_init(&d, stderr);
    int file = diag_add_file(&d, path, src, strlen(src));
    AstList prog = {0};
    LowerOptions lo = {.stdlib_dir = "stdlib"}; /* tests run from the repository root */
    if (!parse_file(&d, file, &prog))
        fail_msg("%s: parse failed", path);
    Graph *g = lower_program(&d, file, &prog, &lo);
    if (!g)
        fail_msg("%s: lowering failed", path);
    PipelineOptions po = {.opt_level = level};
    assert_true(run_pipeline(g, &po));
    Graph *t = NULL;
    if (g->loss) {
        t = lower_program(&d, file, &prog, &lo);
        assert_non_null(t);
        if (autodiff(t, NULL) && t->grads)
            assert_true(run_pipeline(t, &po));
        else
            t = NULL;
    }
    Plans p = {.has_train = t != NULL};
    if (!backend_plan(&d, g, t, &p.fwd, &p.trn))
        fail_msg("%s: backend_plan failed", path);
    return p;
}

/* No two regions live at the same time overlap; all lie in the arena. */
static void check_sound(const char *what, const MemStats *s)
{
    for (int i = 0; i < s->nregions; i++) {
        const MemRegion *a = &s->regions[i];
        if (a->off < 0 || a->len <= 0 || a->off + a->len > s->scratch_bytes)
            fail_msg("%s: region %d [%lld, %lld) outside the arena of %lld bytes", what, i, (long long)a->off,
                     (long long)(a->off + a->len), (long long)s->scratch_bytes);
        if (a->start > a->end)
            fail_msg("%s: region %d dies (%d) before it is written (%d)", what, i, a->end, a->start);
        for (int j = i + 1; j < s->nregions; j++) {
            const MemRegion *b = &s->regions[j];
            if (a->off < b->off + b->len && b->off < a->off + a->len && a->start <= b->end && b->start <= a->end)
                fail_msg("%s: regions %d and %d share bytes while both live ([%d, %d] and [%d, %d])", what, i, j,
                         a->start, a->end, b->start, b->end);
        }
    }
    assert_true(s->scratch_bytes <= s->unshared_bytes);
    assert_true(s->peak_bytes <= s->scratch_bytes);
}

/* Ensure every example and bench model, at -O0 and -O2, forward and train
 * graph, has a sound plan. */
static void test_every_model_sound(void **state)
{
    (void)state;
    int models = 0;
    static const char *const patterns[] = {"examples/*.nn", "bench/models/*.nn", "tests/e2e/cases/*/model.nn"};
    for (int k = 0; k < 3; k++) {
        glob_t gl;
        if (glob(patterns[k], 0, NULL, &gl) != 0)
            continue;
        for (size_t i = 0; i < gl.gl_pathc; i++) {
            const char *path = gl.gl_pathv[i];
            char *src = read_file(path, NULL);
            assert_non_null(src);
            for (int level = 0; level <= 2; level += 2) {
                Plans p = plan_src(path, src, level);
                check_sound(xsprintf("%s -O%d forward", path, level), &p.fwd);
                if (p.has_train)
                    check_sound(xsprintf("%s -O%d train", path, level), &p.trn);
            }
            models++;
        }
        globfree(&gl);
    }
    assert_true(models >= 8); /* the globs found the models */
}

/* Ensure dead buffers are reused: in the chain a..e of five [64] tanh
 * values, each read only by the next, a and b are dead once c and d are
 * written (a's last read is b's write, and a buffer is not reused by the
 * node that reads it), so c takes a's region and d b's; e is the output,
 * which never shares. Three regions of 256 bytes where five would be
 * needed without reuse. */
static void test_chain_reuses(void **state)
{
    (void)state;
    const char *src = "model chain\n"
                      "dim N = 64\n"
                      "input x : [N]\n"
                      "output e\n"
                      "a = tanh(x)\n"
                      "b = tanh(a)\n"
                      "c = tanh(b)\n"
                      "d = tanh(c)\n"
                      "e = tanh(d)\n";
    Plans p = plan_src("chain.nn", src, 0);
    check_sound("chain", &p.fwd);
    assert_int_equal(p.fwd.nregions, 5);
    assert_int_equal(p.fwd.unshared_bytes, 5 * 256);
    assert_int_equal(p.fwd.scratch_bytes, 3 * 256);
    /* at most two values are live at once (the one being written and its
     * operand): the output's own region is what the arena pays over that */
    assert_int_equal(p.fwd.peak_bytes, 2 * 256);
}

/* Ensure the RNN language model's arena is smaller than its buffers' sum,
 * forward and train graph, at -O2. */
static void test_rnn_reuses(void **state)
{
    (void)state;
    char *src = read_file("examples/rnnlm.nn", NULL);
    assert_non_null(src);
    Plans p = plan_src("examples/rnnlm.nn", src, 2);
    assert_true(p.has_train);
    assert_true(p.fwd.scratch_bytes < p.fwd.unshared_bytes);
    assert_true(p.trn.scratch_bytes < p.trn.unshared_bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_reuses),
        cmocka_unit_test(test_rnn_reuses),
        cmocka_unit_test(test_every_model_sound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
