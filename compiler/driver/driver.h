/*
 * driver.h - what the two command-line front doors of nngc share.
 *
 * `nngc MODEL.nn` (main.c) and `nngc run MODEL.nn` (run.c) take the same
 * compiler options, locate the runtime the same way, run the same front end
 * and pass pipeline, and call the same backend C compiler. Those shared
 * pieces are implemented in run.c, not main.c, because the Makefile links
 * every compiler object except main.o into the unit tests: code that lives
 * in main.c cannot be called from anywhere else.
 *
 * Internal to the driver; nothing here is part of the compiler's IR API
 * (nngc.h) or of the runtime (nngrt.h).
 */
#ifndef NNGC_DRIVER_H
#define NNGC_DRIVER_H

#include "nngc.h"

/* Exit statuses: 1 for errors in the model or its inputs, 2 for a bad
 * command line (as grep and diff do). */
enum { EXIT_ERROR = 1, EXIT_USAGE = 2 };

/* Where the runtime header, the runtime library and the stdlib are. */
typedef struct Paths {
    char *include_dir; /* holds nngrt.h */
    char *libnngrt;    /* libnngrt.a (built -fPIC) */
    char *stdlib_dir;  /* holds nn.nn, ... */
} Paths;

/* Finds them from /proc/self/exe's directory D:
 *   build layout   (D/libnngrt.a and D/../runtime/nngrt.h exist):
 *                  D/../runtime, D/libnngrt.a, D/../stdlib
 *   install layout (otherwise):
 *                  D/../include, D/../lib/libnngrt.a, D/../share/nngc/stdlib
 * $NNGC_INCLUDE and $NNGC_STDLIB override the include and stdlib dirs.
 * Strings are arena-allocated. Never fails: a missing file shows up later,
 * when the backend compiler or an import cannot find it. */
void driver_locate(Paths *p);

/* Options that `nngc` and `nngc run` both accept. */
typedef struct CompileOptions {
    const char **include_dirs; /* -I, in order */
    int ninclude, capinclude;
    int opt_level;             /* -O0..-O2, default 2 */
    const char **passes;       /* --passes=a,b (NULL: the pass table) */
    int npasses, cappasses;
    bool have_passes;
    const char **disabled;     /* --disable-pass=NAME */
    int ndisabled, capdisabled;
    const char *softmax;       /* --softmax=SPEC or NULL */
    const char *cc;            /* --cc=PATH or NULL */
    bool no_line;              /* --no-line */
    bool stats;                /* --stats */
    const char *report;        /* --report=PASS */
    const char *dump_diff;     /* --dump-ir-diff=PASS */
    /* training */
    bool have_opt;             /* --optimizer=SPEC given: opt replaces the program's */
    OptimizerDecl opt;
    bool no_train;             /* --no-train: no train graph, no training API */
    bool dump_autodiff;        /* --dump-ir=autodiff: print the train graph after autodiff */
    bool train_required;       /* a missing gradient rule is an error (nngc run --train/--grads,
                                  or the program or command line names an optimizer) */
} CompileOptions;

void compile_options_init(CompileOptions *o);

/* Tries to consume argv[*i] (and its value, which may be the next word) as
 * one of the shared options. Returns 1 when it did (advancing *i past what
 * it used), 0 when argv[*i] is not a shared option, -1 after printing a
 * usage error (the caller exits with EXIT_USAGE). */
int compile_options_parse(CompileOptions *o, int argc, char **argv, int *i);

/* Matches argv[*i] against a value option `name`, written either as
 * "name=VALUE" or as "name VALUE" (two words). Returns 1 and sets *val
 * (advancing *i to the value's word when it was separate), 0 when argv[*i]
 * is another option, -1 after reporting a missing value. */
int match_value_option(const char *name, int argc, char **argv, int *i, const char **val);

/* Parses an optimizer spec "adam:lr=0.001,beta1=0.9" (--optimizer):
 * sgd:lr=X (lr required), adam[:lr,beta1,beta2,eps], adagrad[:lr,eps],
 * PyTorch's defaults for what is not given. */
bool optimizer_parse(const char *spec, OptimizerDecl *out, char *err, size_t errlen);

/* Checks the pass names of o (and dump_after, if not NULL) against the pass
 * table and fills *po. Reports a usage error and returns false on an
 * unknown name. dump_after "autodiff" is not a pipeline dump: the caller
 * sets o->dump_autodiff instead (driver_compile prints the train graph). */
bool driver_pipeline_options(const CompileOptions *o, const char *dump_after, PipelineOptions *po);

/* The front end and the pass pipeline: reads path (diag_load_file), parses,
 * lowers with -I dirs / stdlib / --softmax, and runs the pipeline po on the
 * forward graph F, which it returns. Diagnostics go through d. Returns NULL
 * on any error.
 * With train != NULL, also the train graph T (*train, or NULL when there is
 * none): when the program has a loss and a non-frozen param, and not
 * o->no_train, the program is lowered again, autodiff() appends the
 * backward graph, and the same pipeline runs (without dumps). When autodiff
 * finds an op without a gradient rule, that is an error only with
 * o->train_required; otherwise *train is NULL (F compiles regardless).
 * --optimizer (o->opt) replaces the program's optimizer in both graphs. */
Graph *driver_compile(Diag *d, const char *path, const CompileOptions *o, const Paths *paths,
                      const PipelineOptions *po, Graph **train);

/* The backend compiler: --cc, else $NNGC_CC, else clang if it is on PATH,
 * else cc. */
const char *driver_backend_cc(const CompileOptions *o);

/* Runs argv (argv[0] looked up on PATH, NULL-terminated) and waits.
 * Returns true when it exited with status 0; otherwise prints
 * "nngc: error: ..." naming the command and returns false. */
bool driver_spawn(char *const argv[]);

/* Writes g's C source to c_path and its header to h_path, each through a
 * temporary file in the same directory and rename(), so a reader never sees
 * a half-written file. header_name is what the C source #includes. train
 * (may be NULL) adds the training API (emit_c). */
bool driver_emit(Graph *g, Graph *train, const char *c_path, const char *h_path, const char *header_name,
                 const CompileOptions *o, const char *source_name);

/* An output file written atomically: the data goes to a temporary file
 * next to `path`, which tmp_close renames onto it. */
typedef struct AtomicFile {
    FILE *f;
    char *tmp;        /* the temporary file's name */
    const char *path; /* the final name */
} AtomicFile;

bool tmp_open(AtomicFile *t, const char *path);
/* Closes t; renames it onto its final name when ok, else removes it.
 * Returns false (after an error message) if anything failed. */
bool tmp_close(AtomicFile *t, bool ok);

/* A fresh directory under $TMPDIR (default /tmp), made on the first call
 * and removed at exit with the files named by driver_tmp_path (at most 4).
 * NULL after an error message. */
const char *driver_tmpdir(void);
const char *driver_tmp_path(const char *name);

/* Copies a file atomically (temporary + rename). */
bool driver_copy_file(const char *from, const char *to);

/* "nngc: error: ..." on stderr. */
void driver_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `nngc run ...`: argv[0] is "run". Returns the exit status. */
int nngc_run(int argc, char **argv);

/* Compiles g (and train, may be NULL) into a shared object in the
 * temporary directory, loads it, and returns its descriptor (the handle in
 * *handle); NULL after an error message. Options co, model path for
 * messages. (run.c; used by train.c.) */
struct nnrt_model_desc;
const struct nnrt_model_desc *driver_build_and_load(Graph *g, Graph *train, const CompileOptions *co,
                                                    const char *model, const Paths *paths, void **handle);

/* `nngc train ...` and `nngc eval ...` (train.c, eval.c): argv[0] is the
 * command. Return the exit status. */
int nngc_train(int argc, char **argv);
int nngc_eval(int argc, char **argv);

#endif /* NNGC_DRIVER_H */
