/*
 * pipeline.c - the pass manager: which optimization passes run, in what
 * order, with the verifier and the IR dumps between them.
 *
 * The order of the passes is the order of the table below, read top to
 * bottom (QBE's main.c keeps its pipeline as straight-line calls for the
 * same reason: the order is visible at a glance). Each entry names the pass
 * for --passes, --disable-pass and --dump-ir, and gives the lowest -O level
 * that runs it.
 *
 * "lower" is not a pass: it is the name of the IR as the front end produced
 * it, the first point where --dump-ir can look. The train graph runs the
 * same pipeline; its first point is "autodiff" (PipelineOptions.start):
 * autodiff is a stage of the driver, before the pipeline, not a pass.
 */
#include "passes/pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The pass table, in pipeline order. -O1 runs the cheap cleanups and
 * hoisting; -O2 adds batching (which also splits recurrences). dce runs
 * last so that every pass may leave dead nodes behind. The {NULL} entry
 * ends the table. */
static const Pass passes[] = {
    {"softmax", pass_softmax, 1, false},
    {"fold", pass_fold, 1, false},
    {"cse", pass_cse, 1, false},
    {"hoist", pass_hoist, 1, false},
    {"batch", pass_batch, 2, true},
    {"rows", pass_rows, 1, false},     /* gathered rows read and written in place (rows_dot, ...) */
    {"dce", pass_dce, 1, false},
    {"fuse", pass_fuse, 2, false},
    {"select", pass_select, 0, false}, /* at every level: the backend's choices as ops */
    {"par", pass_par, 2, true},        /* independent loops side by side: reorders the top block only */
    {NULL, NULL, 0, false},
};

#define NPASSES ((int)(sizeof passes / sizeof passes[0]) - 1)

/* Most steps one pipeline runs (--passes may repeat a pass); a fixed cap
 * keeps the plan off the heap. */
#define MAX_PLAN 256

static int make_plan(const PipelineOptions *po, const Pass **plan, int cap);

const Pass *pass_lookup(const char *name) {
    for (int i = 0; i < NPASSES; i++)
        if (strcmp(passes[i].name, name) == 0)
            return &passes[i];
    return NULL;
}

const char *pass_names(void) {
    if (NPASSES == 0)
        return "none yet";
    static char buf[1024];
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < NPASSES && len < sizeof buf; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? ", " : "", passes[i].name);
    return buf;
}

/* Does pass name run in po's plan? */
static bool plan_runs(const PipelineOptions *po, const char *name) {
    const Pass *plan[MAX_PLAN] = {0};
    int n = make_plan(po, plan, MAX_PLAN);
    for (int i = 0; i < n; i++)
        if (strcmp(plan[i]->name, name) == 0)
            return true;
    return false;
}

bool pipeline_check(const PipelineOptions *po, char *err, size_t errlen) {
    if (po->nonly > MAX_PLAN) {
        snprintf(err, errlen, "--passes lists %d passes; at most %d can run", po->nonly, MAX_PLAN);
        return false;
    }
    for (int i = 0; i < po->nonly; i++)
        if (!pass_lookup(po->only[i])) {
            snprintf(err, errlen, "unknown pass '%s' in --passes (valid passes: %s)", po->only[i], pass_names());
            return false;
        }
    for (int i = 0; i < po->ndisabled; i++)
        if (!pass_lookup(po->disabled[i])) {
            snprintf(err, errlen, "unknown pass '%s' in --disable-pass (valid passes: %s)", po->disabled[i],
                     pass_names());
            return false;
        }
    const char *d = po->dump, *start = po->start ? po->start : "lower";
    if (d && *d && strcmp(d, start) != 0 && strcmp(d, "all") != 0 && !pass_lookup(d)) {
        snprintf(err, errlen, "unknown dump point '%s' in --dump-ir%s (valid: %s, all, or a pass: %s)", d,
                 po->start ? " for the train graph" : "", start, pass_names());
        return false;
    }
    const char *r = po->report;
    if (r && !pass_lookup(r)) { /* the valid names are the passes with a report, not every pass */
        snprintf(err, errlen, "unknown pass '%s' in --report (passes with a report: batch, par)", r);
        return false;
    }
    if (r && !pass_lookup(r)->reports) {
        snprintf(err, errlen, "pass '%s' has no report (passes with one: batch, par)", r);
        return false;
    }
    if (po->dump_diff && !pass_lookup(po->dump_diff)) {
        snprintf(err, errlen, "unknown pass '%s' in --dump-ir-diff (valid passes: %s)", po->dump_diff, pass_names());
        return false;
    }
    /* a dump or a diff around a pass that does not run would print nothing */
    if (d && pass_lookup(d) && !plan_runs(po, d)) {
        snprintf(err, errlen, "--dump-ir=%s%s: pass '%s' does not run with these options (-O%d, --passes, --disable-pass)",
                 po->start ? "train:" : "", d, d, po->opt_level);
        return false;
    }
    if (po->dump_diff && !plan_runs(po, po->dump_diff)) {
        snprintf(err, errlen, "--dump-ir-diff=%s: pass '%s' does not run with these options (-O%d, --passes, --disable-pass)",
                 po->dump_diff, po->dump_diff, po->opt_level);
        return false;
    }
    return true;
}

static bool is_disabled(const PipelineOptions *po, const char *name) {
    for (int i = 0; i < po->ndisabled; i++)
        if (strcmp(po->disabled[i], name) == 0)
            return true;
    return false;
}

/* The passes that will run, in order, into plan (at most cap). */
static int make_plan(const PipelineOptions *po, const Pass **plan, int cap) {
    int n = 0;
    if (po->only) {
        for (int i = 0; i < po->nonly && n < cap; i++) {
            const Pass *p = pass_lookup(po->only[i]);
            NN_ASSERT(p); /* pipeline_check ran first */
            if (!is_disabled(po, p->name))
                plan[n++] = p;
        }
        return n;
    }
    for (int i = 0; i < NPASSES && n < cap; i++)
        if (po->opt_level >= passes[i].min_level && !is_disabled(po, passes[i].name))
            plan[n++] = &passes[i];
    return n;
}

/* The IR dump as a string (for --dump-ir-diff). */
static char *print_to_string(Graph *g, const char *pass) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return xstrdup("");
    ir_number(g);
    ir_print(g, f, xsprintf("around %s", pass));
    fclose(f);
    char *s = xstrdup(buf ? buf : "");
    free(buf);
    return s;
}

/* Writes s to a temporary file; returns its name (arena) or NULL. */
static char *temp_with(const char *s) {
    char tmpl[] = "/tmp/nngc-diff-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmpl);
        return NULL;
    }
    fputs(s, f);
    fclose(f);
    return xstrdup(tmpl);
}

/* A unified diff of the IR before and after a pass, by diff(1). Node
 * numbers are assigned afresh in each dump, so renumbered lines show up as
 * changed: read the diff for structure. */
static void print_diff(FILE *out, const char *before, const char *after, const char *pass) {
    char *a = temp_with(before), *b = temp_with(after);
    fprintf(out, "; ---- IR diff around %s ----\n", pass);
    fflush(out);
    if (a && b) {
        char *cmd = xsprintf("diff -u --label before-%s --label after-%s %s %s", pass, pass, a, b);
        FILE *p = popen(cmd, "r");
        if (p) {
            char line[4096];
            /* skip diff's own two-line header: ours is above */
            int skip = 2;
            while (fgets(line, sizeof line, p))
                if (skip > 0)
                    skip--;
                else
                    fputs(line, out);
            pclose(p);
        }
    }
    if (a)
        unlink(a);
    if (b)
        unlink(b);
}

static void dump(Graph *g, const PipelineOptions *po, const char *after) {
    FILE *out = po->dump_out ? po->dump_out : stdout;
    ir_number(g);
    /* ir_print writes the header line itself. */
    ir_print(g, out, xsprintf("after %s", after));
}

/* Dump after `after` (the step at position `step` of nsteps, where step 0
 * is "lower")? */
static bool wants_dump(const PipelineOptions *po, const char *after, int step, int nsteps) {
    if (!po->dump)
        return false;
    if (strcmp(po->dump, "all") == 0)
        return true;
    if (po->dump[0] == 0)
        return step == nsteps - 1;
    return strcmp(po->dump, after) == 0;
}

bool run_pipeline(Graph *g, const PipelineOptions *po) {
    FILE *err = po->err ? po->err : stderr;
    const Pass *plan[MAX_PLAN] = {0};
    int n = make_plan(po, plan, MAX_PLAN);

    /* The front end's output is checked too: a lowering bug should be
     * reported as one, not as a failure of the first pass. */
    const char *start = po->start ? po->start : "lower";
    if (!ir_verify(g, start, err))
        return false;
    if (wants_dump(po, start, 0, n + 1))
        dump(g, po, start);
    if (po->stats)
        ir_stats(g, err, start);

    for (int i = 0; i < n; i++) {
        const Pass *p = plan[i];
        bool diff = po->dump_diff && strcmp(po->dump_diff, p->name) == 0;
        char *before = diff ? print_to_string(g, p->name) : NULL;
        PassCtx pc = {.g = g, .report = po->report && strcmp(po->report, p->name) == 0 ? err : NULL,
                      .target = po->target};
        p->run(&pc);
        if (!ir_verify(g, p->name, err))
            return false;
        if (po->stats)
            ir_stats(g, err, p->name);
        if (diff)
            print_diff(po->dump_out ? po->dump_out : stdout, before, print_to_string(g, p->name), p->name);
        if (wants_dump(po, plan[i]->name, i + 1, n + 1))
            dump(g, po, plan[i]->name);
    }
    return true;
}
