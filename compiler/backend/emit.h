/*
 * emit.h - what the driver and tests ask of the code generators
 * (backend/): emission, memory plans, device placement. Split from nngc.h,
 * which every module includes; backend.h has the generators' internals.
 */
#ifndef NNGC_EMIT_H
#define NNGC_EMIT_H

#include "nngc.h"

typedef struct EmitOptions {
    const char *source_name; /* for #line markers */
    bool line_markers;       /* emit #line (default on) */
    const char *target;      /* the code generation target: NULL or "c" (the only one yet) */
    bool stats;              /* print the memory plan (bytes of params, scratch, peak) to stats_out */
    FILE *stats_out;         /* stderr when NULL */
    const int64_t *counts;   /* --counts: word counts the structures start from (NULL: uniform) */
    int64_t ncounts;
    const char *counts_path; /* for messages */
} EmitOptions;

/* Writes the C source and header of g. header_name is what model.c
 * #includes. What the target cannot compile (an op it lacks, a name that
 * is not C, a model too large) is reported through d ("file:line:col:
 * error: ..." with the source line) before anything is written; returns
 * false then, or when the files cannot be written.
 * train: the forward + backward graph (after autodiff) of the same program,
 * or NULL: without it no training API is emitted (NAME_grad, NAME_train_step,
 * NAME_set_lr, NAME_grad_data; NULL in the descriptor). */
bool backend_emit(Diag *d, Graph *g, Graph *train, FILE *c_out, FILE *h_out, const char *header_name,
                  const EmitOptions *opt);

/* One region of the memory plan: bytes [off, off + len) of the arena, live
 * from position start to position end of the emission order. */
typedef struct MemRegion {
    int64_t off, len;
    int start, end;
} MemRegion;

/* The memory plan of one graph, in bytes. */
typedef struct MemStats {
    int64_t params_bytes;   /* every param */
    int64_t scratch_bytes;  /* the arena (values of the function) */
    int64_t unshared_bytes; /* the arena if no buffer reused another's region */
    int64_t peak_bytes;     /* the most bytes live at one time */
    MemRegion *regions;     /* every buffer (in the compilation arena) */
    int nregions;
} MemStats;

/* place.c, --target=cuda's placement stage (driver/compile.c): marks each
 * value of g host or device (Node.place) and makes the copies IR ops:
 * to_device after each input a device op reads (once per call, before any
 * loop), to_host of the loss and of each output at the end. With stats,
 * one line: the copies per call and their bytes; what names the graph. */
void place_device(Graph *g, FILE *stats, const char *what);

/* The memory plans backend_emit would use for g (into *fwd) and train (may
 * be NULL; into *trn), without writing code: for --stats and tests. False
 * after reporting an error through d. */
bool backend_plan(Diag *d, Graph *g, Graph *train, MemStats *fwd, MemStats *trn);

#endif /* NNGC_EMIT_H */
