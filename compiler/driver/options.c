/*
 * options.c - what `nngc` and `nngc run` share on the command line: the
 * compiler options (-I, -O, --passes, --dump-ir, --softmax, --optimizer,
 * ...), the two pipelines' options built from them, where the runtime and
 * the stdlib are, and which backend C compiler runs.
 */
#include "driver.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void driver_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("nngc: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static bool file_exists(const char *path) {
    return access(path, F_OK) == 0;
}

void driver_locate(Paths *p) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    const char *dir = ".";
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            dir = exe[0] ? exe : "/";
        }
    }
    char *lib = xsprintf("%s/libnngrt.a", dir);
    char *hdr = xsprintf("%s/../runtime/nngrt.h", dir);
    if (file_exists(lib) && file_exists(hdr)) {
        p->include_dir = xsprintf("%s/../runtime", dir);
        p->libnngrt = lib;
        p->stdlib_dir = xsprintf("%s/../stdlib", dir);
    } else {
        p->include_dir = xsprintf("%s/../include", dir);
        p->libnngrt = xsprintf("%s/../lib/libnngrt.a", dir);
        p->stdlib_dir = xsprintf("%s/../share/nngc/stdlib", dir);
    }
    /* "/usr/local/share/nngc/stdlib/nn.nn" in messages, not
     * "/usr/local/bin/../share/nngc/stdlib/nn.nn" */
    char **dirs[] = {&p->include_dir, &p->libnngrt, &p->stdlib_dir};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char *real = realpath(*dirs[i], NULL);
        if (real)
            *dirs[i] = xstrdup(real);
        free(real);
    }
    const char *env = getenv("NNGC_INCLUDE");
    if (env && *env)
        p->include_dir = xstrdup(env);
    env = getenv("NNGC_STDLIB");
    if (env && *env)
        p->stdlib_dir = xstrdup(env);
}

void nngc_usage(FILE *out) {
    fputs("usage: nngc [options] MODEL.nn\n"
          "       nngc run MODEL.nn [--params P.safetensors] [--input NAME=FILE.npy]... (see nngc run --help)\n"
          "\n"
          "Compiles a model to C: MODEL.c and its header MODEL.h.\n"
          "\n"
          "  -o FILE              output file (default MODEL.c, MODEL.o with -c, MODEL.so with --shared);\n"
          "                       the header is written next to it (model.c -> model.h)\n"
          "  -c                   compile to an object file with the backend C compiler\n"
          "  --shared             build a shared library with the runtime and BLAS linked in\n"
          "  -I DIR               add DIR to the import search path (repeatable)\n"
          "  -O0 -O1 -O2          optimization level (default -O2): -O1 softmax, fold, cse, hoist,\n"
          "                       dce; -O2 adds batch and fuse (docs/OPTIMIZATIONS.md)\n"
          "  --passes=a,b         run exactly these passes, in this order\n"
          "  --disable-pass=NAME  never run pass NAME\n"
          "  --dump-ir[=PASS|all] print the IR after PASS (default: after the last pass; `lower`\n"
          "                       is the IR as lowered; `all` after every pass), then stop unless\n"
          "                       -o was given; train:PASS, train:all, train (after the last pass)\n"
          "                       and autodiff (= train:autodiff) show the training graph\n"
          "  --dump-ir-diff=PASS  print a unified diff of the IR before and after PASS (stops like --dump-ir)\n"
          "  --stats              per pass, print counts to stderr: nodes, loops, GEMM/GEMV, executed ops\n"
          "  --report=batch       say what the batch pass left in loops, and why\n"
          "  --dot[=FILE]         write the graph as Graphviz to stdout or FILE (stops like --dump-ir)\n"
          "  --softmax=SPEC       default softmax approximation (full, neg:k=3, hier, binary, ...)\n"
          "  --counts=FILE.npy    word counts (one per id) the model's approximations start from\n"
          "  --optimizer=SPEC     replace the program's optimizer: sgd:lr=0.1, adam:lr=0.001,beta1=0.9,\n"
          "                       adam:lazy=1 (SparseAdam on lookup tables), adagrad:lr=0.01\n"
          "                       (PyTorch's defaults for what is not given)\n"
          "  --no-train           no training API (only NAME_forward), even if the model has a loss\n"
          "  --cc=PATH            backend C compiler (default $NNGC_CC, else clang, else cc);\n"
          "                       $NNGC_CFLAGS: more flags for it, after nngc's\n"
          "  --no-line            no #line markers in the generated C\n"
          "  -w, -Werror          no warnings; warnings are errors\n"
          "  --target=c|cuda      what to emit: C (default) or CUDA (MODEL.cu, docs/CUDA.md)\n"
          "  --help, --version\n"
          "\n"
          "See docs/CLI.md.\n",
          out);
}

/* Considers each option ("-x", "--name", up to a '=' or a '[') named in
 * the text usage prints. */
static void guess_in_usage(Guess *g, void (*usage)(FILE *)) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return;
    usage(f);
    if (fclose(f) != 0) {
        free(text);
        return;
    }
    for (char *p = text; (p = strchr(p, '-')) != NULL;) {
        /* an option starts a word: after a space, '[', '(', '|' or ',' */
        bool starts = p == text || strchr(" [(|,", p[-1]);
        size_t n = strspn(p, "-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        if (starts && n > 1 && p[1] != ' ')
            guess_consider(g, xstrndup(p, n));
        p += n ? n : 1;
    }
    free(text);
}

void driver_unknown_option(const char *arg, const char *command, void (*usage)(FILE *)) {
    const char *eq = strchr(arg, '=');
    Guess g = guess_start(eq ? xstrndup(arg, (size_t)(eq - arg)) : arg);
    guess_in_usage(&g, usage);
    if (usage != nngc_usage)
        guess_in_usage(&g, nngc_usage);
    const char *see = *command ? xsprintf(" (see %s --help)", command) : "";
    if (g.best)
        driver_error("unknown option '%s'; did you mean '%s'?%s", arg, g.best, see);
    else
        driver_error("unknown option '%s'%s", arg, see);
}

void driver_two_models(char **argv, int i, const char *first) {
    const char *hint = "";
    for (int j = 1; j <= i; j++) {
        const char *o = argv[j - 1];
        if ((argv[j] == first || j == i) && (strcmp(o, "--dump-ir") == 0 || strcmp(o, "--dot") == 0)) {
            hint = xsprintf(" (%s takes its value after '=': %s=%s)", o, o, argv[j]);
            break;
        }
    }
    driver_error("more than one model file: '%s' and '%s'%s", first, argv[i], hint);
}

void compile_options_init(CompileOptions *o) {
    memset(o, 0, sizeof *o);
    o->opt_level = 2;
}

int match_value_option(const char *name, int argc, char **argv, int *i, const char **val) {
    const char *a = argv[*i];
    size_t len = strlen(name);
    if (strncmp(a, name, len) != 0)
        return 0;
    if (a[len] == '=') {
        *val = a + len + 1;
    } else if (a[len] != 0) {
        return 0; /* a longer option that starts with the same letters */
    } else if (*i + 1 >= argc) {
        driver_error("option '%s' needs a value", name);
        return -1;
    } else {
        *val = argv[++*i];
    }
    /* an empty value (--save '', --data=): a file name, a number, a spec
     * left out, not one; --passes= alone means something (no passes) */
    if (**val == 0 && strcmp(name, "--passes") != 0) {
        driver_error("option '%s' needs a value, got an empty one", name);
        return -1;
    }
    return 1;
}

bool driver_parse_range(const char *opt, const char *v, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < lo || n > hi) {
        if (hi == LONG_MAX)
            driver_error("%s: expected a whole number >= %ld, got '%s'", opt, lo, v);
        else
            driver_error("%s: expected a whole number from %ld to %ld, got '%s'", opt, lo, hi, v);
        return false;
    }
    *out = n;
    return true;
}

/* Appends each comma-separated name of list to (arr, n, cap). */
static void push_names(const char ***arr, int *n, int *cap, const char *list) {
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0)
            VEC_PUSH(*arr, *n, *cap, xstrndup(p, len));
        if (!comma)
            break;
        p = comma + 1;
    }
}

bool compile_options_bind_dim(CompileOptions *o, const char *name, int64_t value, bool if_open, const char *origin) {
    for (int k = 0; k < o->ndims; k++)
        if (strcmp(o->dims[k].name, name) == 0 && o->dims[k].if_open == if_open) {
            if (o->dims[k].value == value)
                return true;
            driver_error("%s and %s: two sizes for dim %s", o->dims[k].origin, origin, name);
            return false;
        }
    DimBind b = {.name = name, .value = value, .if_open = if_open, .origin = origin};
    VEC_PUSH(o->dims, o->ndims, o->capdims, b);
    return true;
}

int compile_options_parse(CompileOptions *o, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    const char *v;
    int r;
    if (strncmp(a, "-I", 2) == 0) {
        if (a[2]) {
            v = a + 2;
        } else if (*i + 1 < argc) {
            v = argv[++*i];
        } else {
            driver_error("option '-I' needs a directory");
            return -1;
        }
        VEC_PUSH(o->include_dirs, o->ninclude, o->capinclude, v);
        return 1;
    }
    if (strncmp(a, "-O", 2) == 0) {
        if (a[2] >= '0' && a[2] <= '2' && a[3] == 0) {
            o->opt_level = a[2] - '0';
            return 1;
        }
        driver_error("unknown optimization level '%s' (use -O0, -O1 or -O2)", a);
        return -1;
    }
    if (strcmp(a, "--no-line") == 0) {
        o->no_line = true;
        return 1;
    }
    if (strcmp(a, "-w") == 0 || strcmp(a, "-Werror") == 0) {
        o->warnings = a[1] == 'w' ? DIAG_WARN_OFF : DIAG_WARN_ERROR;
        return 1;
    }
    if (strcmp(a, "--dump-ir") == 0 || strncmp(a, "--dump-ir=", 10) == 0) {
        /* F's dump points, or the train graph's: train:PASS, train:all,
         * train (after its last pass); autodiff is train:autodiff */
        const char *p = a[9] ? a + 10 : "";
        o->dump_ir = p;
        o->dump_forward = o->dump_train = NULL;
        if (strcmp(p, "autodiff") == 0)
            o->dump_train = p;
        else if (strcmp(p, "train") == 0)
            o->dump_train = "";
        else if (strncmp(p, "train:", 6) == 0)
            o->dump_train = p + 6;
        else
            o->dump_forward = p;
        return 1;
    }
    if (strcmp(a, "--stats") == 0) {
        o->stats = true;
        return 1;
    }
    if ((r = match_value_option("--report", argc, argv, i, &v)) != 0) {
        if (r < 0)
            return -1;
        o->report = v;
        return 1;
    }
    if ((r = match_value_option("--batch", argc, argv, i, &v)) != 0) {
        long b;
        if (r < 0 || !driver_parse_range("--batch", v, 1, DRIVER_BATCH_MAX, &b))
            return -1;
        o->batch = b;
        return 1;
    }
    if ((r = match_value_option("--dim", argc, argv, i, &v)) != 0) {
        const char *eq = r > 0 ? strchr(v, '=') : NULL;
        char *end;
        long long n = eq ? strtoll(eq + 1, &end, 10) : 0;
        if (r < 0 || !eq || eq == v || !eq[1] || *end || n < 1 || n > ((long long)1 << 34)) {
            if (r > 0)
                driver_error("--dim %s: expected NAME=N, N a whole number from 1 to %lld", v, (long long)1 << 34);
            return -1;
        }
        return compile_options_bind_dim(o, xstrndup(v, (size_t)(eq - v)), n, false, xsprintf("--dim %s", v)) ? 1
                                                                                                           : -1;
    }
    if (strcmp(a, "--batch-mean") == 0) {
        o->batch_mean = true;
        return 1;
    }
    if ((r = match_value_option("--target", argc, argv, i, &v)) != 0) {
        if (r < 0)
            return -1;
        if (strcmp(v, "c") != 0 && strcmp(v, "cuda") != 0) {
            driver_error("unknown target '%s' in --target (targets: c, cuda)", v);
            return -1;
        }
        o->target = strcmp(v, "c") == 0 ? NULL : v;
        return 1;
    }
    if ((r = match_value_option("--dump-ir-diff", argc, argv, i, &v)) != 0) {
        if (r < 0)
            return -1;
        o->dump_diff = v;
        return 1;
    }
    if ((r = match_value_option("--passes", argc, argv, i, &v)) != 0) {
        if (r < 0)
            return -1;
        o->have_passes = true;
        push_names(&o->passes, &o->npasses, &o->cappasses, v);
        return 1;
    }
    if ((r = match_value_option("--disable-pass", argc, argv, i, &v)) != 0) {
        if (r < 0)
            return -1;
        push_names(&o->disabled, &o->ndisabled, &o->capdisabled, v);
        return 1;
    }
    if ((r = match_value_option("--softmax", argc, argv, i, &v)) != 0) {
        if (r < 0)
            return -1;
        Approx ap;
        char err[256];
        if (!approx_parse(v, &ap, err, sizeof err)) {
            driver_error("--softmax=%s: %s", v, err);
            return -1;
        }
        o->softmax = v;
        return 1;
    }
    if ((r = match_value_option("--counts", argc, argv, i, &v)) != 0) {
        if (r < 0)
            return -1;
        o->counts = v;
        return 1;
    }
    if ((r = match_value_option("--optimizer", argc, argv, i, &v)) != 0) {
        if (r < 0)
            return -1;
        char err[256];
        if (!optimizer_parse(v, &o->opt, err, sizeof err)) {
            driver_error("--optimizer=%s: %s", v, err);
            return -1;
        }
        o->have_opt = true;
        return 1;
    }
    if (strcmp(a, "--no-train") == 0) {
        o->no_train = true;
        return 1;
    }
    if ((r = match_value_option("--cc", argc, argv, i, &v)) != 0) {
        if (r < 0)
            return -1;
        if (!*v) {
            driver_error("--cc needs a compiler");
            return -1;
        }
        o->cc = v;
        return 1;
    }
    return 0;
}

bool optimizer_parse(const char *spec, OptimizerDecl *out, char *err, size_t errlen) {
    OptimizerDecl o = {.loc = NO_LOC};
    const char *colon = strchr(spec, ':');
    size_t klen = colon ? (size_t)(colon - spec) : strlen(spec);
    if (!optim_start(&o, spec, klen)) {
        snprintf(err, errlen, "unknown optimizer '%.*s' (expected sgd, adam or adagrad)", (int)klen, spec);
        return false;
    }
    unsigned given = 0;
    for (const char *p = colon ? colon + 1 : NULL; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        int slot = eq ? optim_arg_index(o.kind, p, (size_t)(eq - p)) : -1;
        if (slot < 0) {
            snprintf(err, errlen, "expected NAME=VALUE with NAME one of the optimizer's arguments, got '%.*s'",
                     (int)len, p);
            return false;
        }
        if (given & (1u << slot)) {
            snprintf(err, errlen, "argument '%.*s' given twice", (int)(eq - p), p);
            return false;
        }
        given |= 1u << slot;
        char *num = xstrndup(eq + 1, len - (size_t)(eq + 1 - p)), *end;
        /* strtod's ERANGE is ignored: an underflow to a denormal or to 0
         * is a valid value (Python's float() takes 1e-320), an overflow is
         * inf and optim_check rejects it */
        double v = strtod(num, &end);
        if (!*num || *end || isnan(v)) {
            snprintf(err, errlen, "'%s' is not a number", num);
            return false;
        }
        *optim_arg(&o, slot) = v;
        p = comma ? comma + 1 : NULL;
    }
    if (!optim_check(&o, err, errlen))
        return false;
    *out = o;
    return true;
}

/* Fills one pipeline's options from o (pipeline_check runs later). */
static void pipeline_from(const CompileOptions *o, PipelineOptions *po) {
    memset(po, 0, sizeof *po);
    po->opt_level = o->opt_level;
    if (o->have_passes) {
        /* --passes= (empty) means "run no pass": only must not be NULL. */
        static const char *const none[1] = {NULL};
        po->only = o->npasses ? o->passes : none;
        po->nonly = o->npasses;
    }
    po->disabled = o->disabled;
    po->ndisabled = o->ndisabled;
}

bool driver_pipeline_options(const CompileOptions *o, DriverPipelines *pl) {
    for (int i = 0; i < o->npasses; i++)
        if (strcmp(o->passes[i], "autodiff") == 0) {
            driver_error("--passes=autodiff: autodiff is a stage of its own, not a pass: it always runs first "
                         "on the train graph (see it with --dump-ir=train:all)");
            return false;
        }
    /* F: the dumps, --stats, --report, --dump-ir-diff */
    PipelineOptions *po = &pl->forward;
    pipeline_from(o, po);
    po->dump = o->dump_forward;
    po->stats = o->stats;
    po->report = o->report;
    po->dump_diff = o->dump_diff;
    /* T: the same passes; it starts as the graph after autodiff */
    PipelineOptions *pt = &pl->train;
    pipeline_from(o, pt);
    pt->start = "autodiff";
    pt->dump = o->dump_train;
    char err[1024];
    if (!pipeline_check(po, err, sizeof err) || !pipeline_check(pt, err, sizeof err)) {
        driver_error("%s", err);
        return false;
    }
    return true;
}

const char *driver_backend_cc(const CompileOptions *o) {
    if (o->cc)
        return o->cc;
    return driver_env("NNGC_CC", driver_find_program("clang") ? "clang" : "cc");
}

static bool base_has(const char *path, const char *s) {
    const char *slash = strrchr(path, '/');
    return strstr(slash ? slash + 1 : path, s) != NULL;
}

/* The optimization level for backend compiler cc: -O3 where cc is GCC (its
 * name, or the name of the file it links to, has "gcc" in it: cc on
 * Debian is /usr/bin/x86_64-linux-gnu-gcc-12, ccache's gcc a link to
 * ccache), -O2 otherwise. GCC's -O2 vectorizes only loops it needs no
 * scalar remainder for (its "very cheap" cost model), not the generated
 * row loops over a run-time length (logsumexp over the vocabulary): an
 * RNN LM trained 1.7x slower built with gcc -O2 than with clang -O2, 1.1x
 * with gcc -O3. */
static const char *backend_opt(const char *cc) {
    const char *p = driver_find_program(cc);
    char *real = p ? realpath(p, NULL) : NULL;
    bool gcc = base_has(cc, "gcc") || (real && base_has(real, "gcc"));
    free(real);
    return gcc ? "-O3" : "-O2";
}

/* -fno-trapping-math: clang's default; GCC's is -ftrapping-math, under
 * which it will not turn the selects of nnrt_abi.h's exp and tanh into
 * blends and leaves every loop around them scalar (an RNN LM trained 2.3x
 * slower built by GCC); nothing in generated code reads FP exception
 * flags. */
int driver_backend_argv(const CompileOptions *o, const Paths *paths, const char **argv) {
    const char *cc = driver_backend_cc(o);
    int n = 0;
    argv[n++] = cc;
    argv[n++] = "-std=c11";
    argv[n++] = backend_opt(cc);
    argv[n++] = "-fno-trapping-math";
    argv[n++] = "-fPIC";
    argv[n++] = xsprintf("-I%s", paths->include_dir);
    /* $NNGC_CFLAGS: words split at blanks (no shell quoting), after
     * nngc's own, so that a later -O or -march is the one cc takes */
    const char *env = getenv("NNGC_CFLAGS");
    int extra = 0;
    for (const char *p = env ? env : ""; *p;) {
        size_t k = strcspn(p, " \t\n");
        if (k == 0) {
            p++;
            continue;
        }
        if (extra == BACKEND_MAX_CFLAGS) {
            driver_error("NNGC_CFLAGS: more than %d words", BACKEND_MAX_CFLAGS);
            return -1;
        }
        argv[n++] = xstrndup(p, k);
        extra++;
        p += k;
    }
    return n;
}

