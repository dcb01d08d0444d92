/*
 * driver.h - what the two command-line front doors of nngc share.
 *
 * `nngc MODEL.nn` (main.c) and `nngc run MODEL.nn` (run.c) take the same
 * compiler options, locate the runtime the same way, run the same stages
 * and call the same backend C compiler. The shared pieces live in
 * options.c (the command line), compile.c (the stages), files.c (output
 * files, the temporary directory, processes), not in main.c, because the
 * Makefile links every compiler object except main.o into the unit tests:
 * code that lives in main.c cannot be called from anywhere else.
 *
 * Internal to the driver; nothing here is part of the compiler's IR API
 * (nngc.h) or of the runtime (nngrt.h).
 */
#ifndef NNGC_DRIVER_H
#define NNGC_DRIVER_H

#include "nngc.h"
#include "passes/pipeline.h"
#include "backend/emit.h"

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
    const char *counts;        /* --counts=FILE.npy or NULL: built into the model (docs/APPROX.md) */
    const int64_t *vocab_counts; /* nngc train's and eval's vocabulary counts (no --counts): they size */
    int64_t nvocab_counts;       /* hier's paths (passes/approx.c); the model gets them by set_counts */
    const char *cc;            /* --cc=PATH or NULL */
    bool no_line;              /* --no-line */
    DiagWarnings warnings;     /* -w, -Werror */
    bool stats;                /* --stats */
    const char *report;        /* --report=PASS */
    const char *dump_diff;     /* --dump-ir-diff=PASS */
    /* --dump-ir[=X]: dump_ir is X as written ("" without =X); it names a
     * point of F (dump_forward: "lower", "all", a pass, "" after the last)
     * or, as train:X / train / autodiff, of the train graph T
     * (dump_train: "autodiff", "all", a pass, "" after the last) */
    const char *dump_ir;
    const char *dump_forward;
    const char *dump_train;
    /* training */
    bool have_opt;             /* --optimizer=SPEC given: opt replaces the program's */
    OptimizerDecl opt;
    bool no_train;             /* --no-train: no train graph, no training API */
    bool train_required;       /* a missing gradient rule is an error (nngc run --train/--grads,
                                  or the command line names an optimizer) */
    int64_t batch;             /* --batch=B: the program over B examples (0 or 1: as written) */
    bool batch_mean;           /* --batch-mean: the loss is the mean over the batch, not the sum */
    const char *target;        /* --target=NAME: "c" (NULL: c) or "cuda" */
    DimBind *dims;             /* --dim NAME=N (and nngc train's vocabulary): sizes of open dims */
    int ndims, capdims;
    bool dims_dynamic_ok;      /* nngc run: --dim may give a dynamic dim's value */
} CompileOptions;

/* Adds a size for dim name (origin: for messages). False after an error
 * (a second, different size for the same name). */
bool compile_options_bind_dim(CompileOptions *o, const char *name, int64_t value, bool if_open, const char *origin);

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

/* The most examples per call that --batch takes (the compiler's --batch=B,
 * and the --batch B of nngc train and nngc eval). */
#define DRIVER_BATCH_MAX 1000000

/* v as a whole number from lo to hi (decimal digits, an optional '-'; no
 * overflow) into *out; otherwise false after "OPT: expected ..., got 'v'". */
bool driver_parse_range(const char *opt, const char *v, long lo, long hi, long *out);

/* nngc's usage (its compiler options), which nngc run, train and eval take too. */
void nngc_usage(FILE *out);
/* Reports an unknown option arg of a command ("nngc train": "" for
 * nngc itself) with the nearest option named in its usage (and in nngc's,
 * whose compiler options every command takes): "unknown option '--epoch';
 * did you mean '--epochs'? (see nngc train --help)". */
void driver_unknown_option(const char *arg, const char *command, void (*usage)(FILE *));
/* Reports argv[i], a second model file after first (an argument before
 * argv[i]); when either is the word after --dump-ir or --dot, whose value
 * is optional and so must follow '=', says so. */
void driver_two_models(char **argv, int i, const char *first);

/* Parses an optimizer spec "adam:lr=0.001,beta1=0.9" (--optimizer):
 * sgd:lr=X (lr required), adam[:lr,beta1,beta2,eps], adagrad[:lr,eps],
 * PyTorch's defaults for what is not given. */
bool optimizer_parse(const char *spec, OptimizerDecl *out, char *err, size_t errlen);

/* The pass pipelines of the two graphs: F's has the dumps of F, --stats,
 * --report and --dump-ir-diff; T's the same passes and T's dumps. */
typedef struct DriverPipelines {
    PipelineOptions forward;
    PipelineOptions train;
} DriverPipelines;

/* Checks the pass names and dump points of o against the pass table and
 * fills *pl. Reports a usage error and returns false on a bad one. */
bool driver_pipeline_options(const CompileOptions *o, DriverPipelines *pl);

/* Where the emit stage writes, or NULL for no files (dumps only). */
typedef struct EmitTarget {
    const char *c_path, *h_path;
    const char *header_name; /* what the C source #includes */
    const char *source_name; /* the model's path, for #line */
    bool train_api;          /* emit the training API when the model can train */
} EmitTarget;

/* The whole compilation (compile.c): parse, lower the forward graph F,
 * clone it into the train graph T, the objective's lowerings on T,
 * autodiff on T, the pass pipelines on F and T, device placement, emit to
 * out. Returns F (NULL on any error, reported through d or driver_error).
 * T is made when the model has a loss and a non-frozen param, and
 * out->train_api, o->train_required or a dump of T asks for it, and not
 * o->no_train; *train (if train != NULL) is T or NULL. An op without a
 * gradient rule is an error when training is required (o->train_required,
 * a dump of T, or the program declares an optimizer); otherwise T is
 * dropped and F compiles alone. --optimizer (o->opt) replaces the
 * program's optimizer. The model and its imports are noted as inputs
 * (driver_note_input) before anything is written. */
Graph *driver_compile(Diag *d, const char *path, const CompileOptions *o, const Paths *paths,
                      const DriverPipelines *pl, const EmitTarget *out, Graph **train);

/* The backend compiler: --cc, else $NNGC_CC, else clang if it is on PATH,
 * else cc. */
const char *driver_backend_cc(const CompileOptions *o);
/* The start of every command line of the backend compiler, into argv:
 * CC -std=c11 -O2 -fno-trapping-math -fPIC -I<include dir> (-O3 where CC
 * is GCC), then the words of $NNGC_CFLAGS (at most BACKEND_MAX_CFLAGS);
 * returns how many (at most BACKEND_ARGC), or -1 with an error said. */
enum { BACKEND_MAX_CFLAGS = 16, BACKEND_ARGC = 6 + BACKEND_MAX_CFLAGS };
int driver_backend_argv(const CompileOptions *o, const Paths *paths, const char **argv);

/* Runs argv (argv[0] looked up on PATH, NULL-terminated) and waits.
 * Returns true when it exited with status 0; otherwise prints
 * "nngc: error: ..." naming the command and returns false. */
bool driver_spawn(char *const argv[]);
/* mkdir -p DIR; false when it is not a directory after (an error printed unless quiet) */
bool driver_make_dirs(const char *dir, bool quiet);
/* path of a program: itself if it has a slash, else the first on PATH; NULL if none */
const char *driver_find_program(const char *prog);
/* $name, unless it is unset or empty: then dflt */
const char *driver_env(const char *name, const char *dflt);
/* cache.c: the build cache (docs/CLI.md "The build cache"). A key is an
 * FNV-1a hash, begun by cache_key_begin (nngc itself and the runtime's
 * headers) and added to by cache_hash_*: a string, a file's bytes, a
 * program (its name and the file it runs: path, size, time, inode), this
 * CPU (model name and flags), every header and source (.h .cuh .cu .cpp)
 * of a directory, names and bytes. An entry is DIR/KEY-NAME (cache_path). */
uint64_t cache_key_begin(const Paths *paths);
uint64_t cache_hash_str(uint64_t h, const char *s);
uint64_t cache_hash_file(uint64_t h, const char *path);
uint64_t cache_hash_program(uint64_t h, const char *prog);
uint64_t cache_hash_cpu(uint64_t h);
uint64_t cache_hash_sources(uint64_t h, const char *dir);
/* the directory ($NNGC_CACHE_DIR, "off" for none; else $XDG_CACHE_HOME/nngc,
 * else ~/.cache/nngc), made if missing; NULL when there is none to write */
const char *cache_dir(void);
const char *cache_path(const char *dir, uint64_t key, const char *name);
/* is the entry there (then marked used: trimming drops the least recently used)? */
bool cache_has(const char *entry);
/* cache_has, then a copy of the entry to dst */
bool cache_fetch(const char *entry, const char *dst);
/* Adding an entry: written in full under cache_tmp(entry), then
 * cache_commit renames it (false, the file removed, if it cannot) and
 * trims the cache. cache_store copies src in that way (nothing on failure). */
const char *cache_tmp(const char *entry);
bool cache_commit(const char *tmp, const char *entry);
void cache_store(const char *src, const char *entry);
/* run_cuda.c: --target=cuda's MODEL.cu into a shared object (NNGC_CUDA_EMULATE=1:
 * the host emulation; else nvcc, or "no CUDA device" / "nvcc not found") */
bool driver_build_cuda(const char *cu_path, const char *so_path, const Paths *paths);
bool driver_cuda_emulated(void);
/* adds to a build cache key what builds the .cu (emulation or nvcc, the compiler, NNGC_CUDA_ARCHS, a driver there
 * or not, the CUDA runtime's sources) */
uint64_t driver_cuda_key(uint64_t key, const Paths *paths);
/* --stats after a call: the copies, launches and GEMMs it executed (NAME_cuda_stats) */
void driver_cuda_stats(void *handle, const char *model, const void *m, const char *what);
/* -c (object) or --shared with --target=cuda: nvcc for NNGC_CUDA_ARCHS (no
 * GPU needed), or c++ on the emulation; "nvcc not found" without one */
typedef enum { CUDA_OBJECT, CUDA_SHARED, CUDA_LOADED } CudaBinary; /* -c, --shared, for nngc run */
bool driver_cuda_binary(const char *cu_path, const char *bin, CudaBinary kind, const Paths *paths);

/* The emit stage: g's C source to out->c_path and its header to
 * out->h_path (the header first), both written in full before either
 * replaces its file. train (may be NULL) adds the training API. What the
 * backend rejects is reported through d. */
bool driver_emit(Diag *d, Graph *g, Graph *train, const EmitTarget *out, const CompileOptions *o);

/* Inputs and outputs (files.c). driver_note_input records a file the run
 * reads (by device and inode); driver_check_output refuses, with a
 * message, an output that is one of them (tmp_open checks every output
 * the driver writes; call it before the runtime writes one). */
void driver_note_input(const char *path);
bool driver_check_output(const char *path);
/* Can path be written later (a --save or --export after a long training)?
 * Its directory exists and is writable, and path is not a directory;
 * otherwise false after "OPT PATH: why". */
bool driver_check_writable(const char *opt, const char *path);
/* Are a and b the same existing file (device and inode)? */
bool driver_same_file(const char *a, const char *b);

/* An output file written atomically: the data goes to a temporary file
 * next to `path`, which tmp_close renames onto it. A path that exists and
 * is not a regular file (/dev/null, a FIFO) is written in place. */
typedef struct AtomicFile {
    FILE *f;
    char *tmp;        /* the temporary file's name; NULL when written in place */
    const char *path; /* the final name */
    int err;          /* errno of the first write that failed, 0 if none */
} AtomicFile;

bool tmp_open(AtomicFile *t, const char *path);
/* fwrite with the error recorded in t->err. */
bool tmp_write(AtomicFile *t, const void *data, size_t len);
/* Flushes t (no message; the error is kept in t->err). */
bool tmp_flush(AtomicFile *t);
/* Closes t; renames it onto its final name when ok, else removes it.
 * Returns false (after "cannot write 'PATH': REASON" when ok) if
 * anything failed. */
bool tmp_close(AtomicFile *t, bool ok);
/* Two files written atomically, both in full before either is renamed. */
bool driver_write_pair(const char *path1, const void *data1, size_t len1, const char *path2, const void *data2,
                       size_t len2);

/* A fresh directory under $TMPDIR (default /tmp), made on the first call
 * and removed at exit with the files named by driver_tmp_path (at most 8).
 * NULL after an error message. */
const char *driver_tmpdir(void);
const char *driver_tmp_path(const char *name);

/* Copies a file atomically (temporary + rename). */
bool driver_copy_file(const char *from, const char *to);

/* Flushes stdout (dumps, results); false after "cannot write the standard
 * output: REASON" if any write to it failed. */
bool driver_flush_stdout(void);
/* Flushes the lines printed so far (progress, each epoch's scores), keeping
 * a failure's reason for driver_flush_stdout to report at the end. */
void driver_flush_lines(void);

/* "nngc: error: ..." on stderr. */
void driver_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `nngc run ...`: argv[0] is "run". Returns the exit status. */
int nngc_run(int argc, char **argv);

/* For `nngc run`, `nngc train` and `nngc eval` (run.c): driver_compile
 * with the C emitted into the temporary directory (model.c, model.h;
 * train_api as in EmitTarget); then driver_build_and_load compiles that C
 * into a shared object there, loads it, and returns its descriptor (the
 * handle in *handle); NULL after an error message. */
struct nnrt_model_desc;
Graph *driver_compile_to_tmp(Diag *d, const char *model, const CompileOptions *co, const Paths *paths,
                             const DriverPipelines *pl, bool train_api, Graph **train);
const struct nnrt_model_desc *driver_build_and_load(Graph *g, const CompileOptions *co, const Paths *paths,
                                                    void **handle);

/* `nngc train ...` and `nngc eval ...` (train.c, eval.c): argv[0] is the
 * command. Return the exit status. */
int nngc_train(int argc, char **argv);
int nngc_eval(int argc, char **argv);

#endif /* NNGC_DRIVER_H */
