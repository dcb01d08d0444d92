/*
 * pipeline.h - the optimization pipeline's interface: the pass table
 * (passes/pipeline.c) and what the driver asks of it. Split from nngc.h,
 * which every module includes; only the driver and tests need this.
 */
#ifndef NNGC_PIPELINE_H
#define NNGC_PIPELINE_H

#include "nngc.h"

/* One optimization pass: `void pass_NAME(PassCtx *pc)` in passes/NAME.c. It
 * runs at -O<min_level> and above. */
typedef struct Pass {
    const char *name;
    void (*run)(PassCtx *pc);
    int min_level;
    bool reports; /* writes to pc->report (--report=NAME accepts it) */
} Pass;

/* What the pipeline runs and where it dumps. */
typedef struct PipelineOptions {
    int opt_level;               /* 0..2: a table pass runs when opt_level >= min_level */
    const char *const *only;     /* --passes=a,b: exactly these, in this order, at any level */
    int nonly;                   /* (only == NULL: the pass table, filtered by level) */
    const char *const *disabled; /* --disable-pass=NAME, never run */
    int ndisabled;
    const char *start;           /* the graph's state before the first pass, for dumps,
                                    --stats and the verifier: NULL means "lower" (F);
                                    "autodiff" for the train graph T */
    const char *dump;            /* NULL: no dump; the start name (the IR before any pass),
                                    a pass name, "all" (after every step), or "" (after the last) */
    FILE *dump_out;              /* stdout when NULL */
    FILE *err;                   /* verifier messages, --stats, reports; stderr when NULL */
    bool stats;                  /* --stats: one line of counts after lower and after each pass */
    const char *report;          /* --report=PASS: that pass explains what it did and did not do */
    const char *dump_diff;       /* --dump-ir-diff=PASS: unified diff of the IR around PASS */
    const char *target;          /* --target=NAME (NULL: c), given to the passes (PassCtx.target) */
} PipelineOptions;

/* The pass with this name, or NULL. */
const Pass *pass_lookup(const char *name);
/* Comma-separated names of every pass ("none yet" when the table is empty). */
const char *pass_names(void);
/* Checks every name in po against the table (the start name and "all"
 * also valid for dump); on an unknown one writes a message listing the
 * valid names into err and returns false. */
bool pipeline_check(const PipelineOptions *po, char *err, size_t errlen);
/* Verifies the lowered graph, then runs each enabled pass in order, runs
 * ir_verify after each (naming the pass that broke the graph), and dumps
 * where po asks with the header "; ---- IR dump after NAME ----". Returns
 * false if the verifier rejected the graph. */
bool run_pipeline(Graph *g, const PipelineOptions *po);

#endif /* NNGC_PIPELINE_H */
