/*
 * main.c - the nngc command line: `nngc [options] MODEL.nn` and the
 * dispatch to `nngc run` (run.c).
 *
 * In order:
 *   1. parse the command line (a bad one exits 2, before any work), and
 *      settle the output names (an output that is the model exits 2 too);
 *   2. the compilation (driver_compile, compile.c: parse, lower, the train
 *      graph, autodiff, the passes with the verifier after each step and
 *      --dump-ir, emit); with -c / --shared the C is emitted into a
 *      temporary directory;
 *   3. --dot;
 *   4. -c / --shared: the backend C compiler turns the C into model.o /
 *      model.so, copied next to model.h.
 * Every output file appears atomically (temporary file + rename), so a
 * failed or interrupted run never leaves a truncated model.c behind.
 */
#include "driver.h"
#include "nngrt.h"
#include "train_par.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum { OUT_C, OUT_OBJECT, OUT_SHARED } OutKind;

typedef struct Args {
    const char *input;
    const char *output;   /* -o, or NULL */
    OutKind kind;         /* -c, --shared */
    bool dot;             /* --dot[=FILE] */
    const char *dot_file; /* NULL: stdout */
    CompileOptions co;
} Args;

static int usage_error(void) {
    fputs("usage: nngc [options] MODEL.nn (see nngc --help)\n", stderr);
    return EXIT_USAGE;
}

/* Returns 0 on success, else the exit status. */
static int parse_args(Args *a, int argc, char **argv) {
    compile_options_init(&a->co);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int r;
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            nngc_usage(stdout);
            exit(0);
        }
        if (strcmp(s, "--version") == 0) {
            printf("nngc %s (runtime %s, BLAS: %s, MPI: %s)\nmatrix products: %s\n", NNGC_VERSION, NNRT_VERSION,
                   nnrt_blas_name(), par_mpi_available() ? "yes" : "no", nnrt_gemm_kernels());
            if (nnrt_blas_hint())
                printf("note: %s\n", nnrt_blas_hint());
            exit(0);
        }
        if ((r = compile_options_parse(&a->co, argc, argv, &i)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        if (strncmp(s, "-o", 2) == 0) {
            if (s[2])
                a->output = s + 2;
            else if (i + 1 < argc)
                a->output = argv[++i];
            else {
                driver_error("option '-o' needs a file name");
                return EXIT_USAGE;
            }
            if (!*a->output) {
                driver_error("option '-o' needs a file name");
                return EXIT_USAGE;
            }
        } else if (strcmp(s, "-c") == 0 || strcmp(s, "--shared") == 0) {
            OutKind k = s[1] == 'c' ? OUT_OBJECT : OUT_SHARED;
            if (a->kind != OUT_C && a->kind != k) {
                driver_error("-c and --shared cannot be combined");
                return EXIT_USAGE;
            }
            a->kind = k;
        } else if (strcmp(s, "--dot") == 0) {
            a->dot = true;
        } else if (strncmp(s, "--dot=", 6) == 0) {
            a->dot = true;
            a->dot_file = s + 6;
            if (!*a->dot_file) {
                driver_error("--dot= needs a file name");
                return EXIT_USAGE;
            }
        } else if (s[0] == '-' && s[1]) {
            driver_unknown_option(s, "", nngc_usage);
            return usage_error();
        } else if (a->input) {
            driver_two_models(argv, i, a->input);
            return usage_error();
        } else {
            a->input = s;
        }
    }
    if (!a->input) {
        driver_error("no model file");
        return usage_error();
    }
    return 0;
}

/* path with its extension (the part after the last '.' of the last path
 * component) replaced by ext, or ext appended if it has none. */
static char *replace_ext(const char *path, const char *ext) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - path) : strlen(path);
    return xsprintf("%.*s%s", (int)stem, path, ext);
}

static const char *basename_of(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static bool write_dot(Graph *g, const char *path) {
    if (!path) {
        ir_dot(g, stdout);
        fflush(stdout);
        return true;
    }
    AtomicFile f;
    if (!tmp_open(&f, path))
        return false;
    ir_dot(g, f.f);
    return tmp_close(&f, true);
}

/* -c / --shared: the C source and header went to the temporary
 * directory (tmp); the backend compiler writes its result there, and the
 * result and the header are then copied next to each other at their final
 * names. */
static bool build_binary(const EmitTarget *tmp, const Args *a, const Paths *paths, const char *output,
                         const char *header_path) {
    const char *bin = driver_tmp_path(a->kind == OUT_OBJECT ? "out.o" : "out.so");
    const char *argv[BACKEND_ARGC + 16];
    if (a->co.target) { /* --target=cuda: nvcc (run_cuda.c) */
        if (!driver_cuda_binary(tmp->c_path, bin, a->kind == OUT_OBJECT ? CUDA_OBJECT : CUDA_SHARED, paths))
            return false;
    } else if (a->kind == OUT_OBJECT) {
        int n = driver_backend_argv(&a->co, paths, argv);
        if (n < 0)
            return false;
        const char *rest[] = {"-c", tmp->c_path, "-o", bin, NULL};
        memcpy(argv + n, rest, sizeof rest);
        if (!driver_spawn((char *const *)argv))
            return false;
    } else {
        if (access(paths->libnngrt, R_OK) != 0) {
            driver_error("cannot find the runtime library '%s': %s", paths->libnngrt, strerror(errno));
            return false;
        }
        /* The runtime objects are built -fPIC, so the static archive can
         * go into a shared object; only the members the model uses come in. */
        int n = driver_backend_argv(&a->co, paths, argv);
        if (n < 0)
            return false;
        const char *rest[] = {"-shared", tmp->c_path, paths->libnngrt, "-lopenblas", "-lm", "-o", bin, NULL};
        memcpy(argv + n, rest, sizeof rest);
        if (!driver_spawn((char *const *)argv))
            return false;
    }
    /* a compiler that exits 0 without writing its result: nothing is
     * copied (not the header alone) */
    if (access(bin, R_OK) != 0) {
        driver_error("the %s compiler exited with status 0 but wrote no %s: nothing written to '%s'",
                     a->co.target ? "CUDA" : "C", a->kind == OUT_OBJECT ? "object file" : "shared library", output);
        return false;
    }
    return driver_copy_file(tmp->h_path, header_path) && driver_copy_file(bin, output);
}

int main(int argc, char **argv) {
    /* A file past `ulimit -f` is then a write error (EFBIG) with a message
     * and the temporary files removed, not a silent death by SIGXFSZ. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return nngc_run(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "train") == 0 || strcmp(argv[1], "eval") == 0))
        return (argv[1][0] == 't' ? nngc_train : nngc_eval)(argc - 1, argv + 1);

    Args a = {0};
    int rc = parse_args(&a, argc, argv);
    if (rc)
        return rc;
    a.co.train_required = a.co.have_opt;
    DriverPipelines pl;
    if (!driver_pipeline_options(&a.co, &pl))
        return EXIT_USAGE;

    /* Output names are settled before compiling, so a bad one costs no work. */
    static const char *const ext[] = {".c", ".o", ".so"};
    const char *output = a.output ? a.output : replace_ext(a.input, a.co.target && a.kind == OUT_C ? ".cu" : ext[a.kind]);
    const char *header = replace_ext(output, ".h");
    if (strcmp(output, header) == 0) {
        driver_error("output '%s' would be overwritten by its header: give it another extension", output);
        return EXIT_USAGE;
    }
    /* -o /dev/null (a device, a FIFO): the header goes where the code does
     * not, nowhere, as cc -o /dev/null writes no file beside the device */
    struct stat ost;
    if (stat(output, &ost) == 0 && !S_ISREG(ost.st_mode) && !S_ISDIR(ost.st_mode))
        header = "/dev/null";
    if (a.dot_file && a.output && strcmp(a.dot_file, output) == 0) {
        driver_error("--dot=%s and -o %s name the same file", a.dot_file, output);
        return EXIT_USAGE;
    }
    /* --dump-ir, --dump-ir-diff, --dot, --stats and --report are for
     * looking at the compiler's work: they write no output files unless -o
     * asks for them. */
    bool looking = a.co.dump_ir || a.co.dump_diff || a.dot || a.co.stats || a.co.report;
    bool write = a.output || !looking;
    /* An output that is the model: a usage error, before any work (an
     * import is found by tmp_open, once the imports are known). */
    driver_note_input(a.input);
    if ((write && (!driver_check_output(output) || !driver_check_output(header))) ||
        (a.dot_file && !driver_check_output(a.dot_file)))
        return EXIT_USAGE;
    /* a directory that is not there is said of the file asked for (was:
     * "cannot write 'nodir/x.h'" for -o nodir/x.c), before the compile */
    if (write && (!driver_check_writable(a.output ? "-o" : "output", output) ||
                  !driver_check_writable(a.output ? "-o" : "output", header)))
        return EXIT_ERROR;

    Paths paths;
    driver_locate(&paths);
    Diag diag;
    diag_init(&diag, stderr);
    diag.hold = true;
    EmitTarget out = {.c_path = output, .h_path = header, .header_name = basename_of(header),
                      .source_name = a.input, .train_api = true};
    if (write && a.kind != OUT_C) {
        if (!driver_tmpdir())
            return EXIT_ERROR;
        out.c_path = driver_tmp_path(replace_ext(out.header_name, a.co.target ? ".cu" : ".c"));
        out.h_path = driver_tmp_path(out.header_name);
    }
    rc = EXIT_ERROR;
    Graph *g = driver_compile(&diag, a.input, &a.co, &paths, &pl, write ? &out : NULL, NULL);
    if (!g)
        goto out;
    if (a.dot && !write_dot(g, a.dot_file))
        goto out;
    if (write && a.kind != OUT_C && !build_binary(&out, &a, &paths, output, header))
        goto out;
    if (diag.nerrors == 0)
        rc = 0;
out:
    if (!driver_flush_stdout())
        rc = EXIT_ERROR;
    xfree_all();
    return rc;
}
