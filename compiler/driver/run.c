/*
 * run.c - `nngc run`: compile a model, load it into this process and run
 * its forward pass on .npy inputs. Also the driver pieces that main.c
 * shares (see driver.h for why they live here).
 *
 * How a model gets into the process: the generated C is compiled into a
 * shared object WITHOUT the runtime, and dlopen'd. Its nnrt_* references
 * then resolve against the nngc executable itself, which links the whole
 * runtime and exports it (-rdynamic). So there is one copy of the runtime
 * and one thread-local error buffer: nnrt_last_error() read here is the
 * message the model's forward left. The model is then driven only through
 * its descriptor, NAME_desc (nnrt_model_desc), so this file knows nothing
 * about any particular model.
 */
#include "driver.h"
#include "nngrt.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ================================================================ shared driver pieces */

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
    const char *env = getenv("NNGC_INCLUDE");
    if (env && *env)
        p->include_dir = xstrdup(env);
    env = getenv("NNGC_STDLIB");
    if (env && *env)
        p->stdlib_dir = xstrdup(env);
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
        return 1;
    }
    if (a[len] != 0)
        return 0; /* a longer option that starts with the same letters */
    if (*i + 1 >= argc) {
        driver_error("option '%s' needs a value", name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
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
    OptimizerDecl o = {0};
    o.loc = NO_LOC;
    const char *colon = strchr(spec, ':');
    size_t klen = colon ? (size_t)(colon - spec) : strlen(spec);
    static const char *const sgd[] = {"lr", NULL}, *const adam[] = {"lr", "beta1", "beta2", "eps", NULL},
                             *const adagrad[] = {"lr", "eps", NULL};
    const char *const *names;
    double *slots[4];
    if (klen == 3 && strncmp(spec, "sgd", 3) == 0) {
        o.kind = OPT_SGD, names = sgd, o.lr = -1;
        slots[0] = &o.lr;
    } else if (klen == 4 && strncmp(spec, "adam", 4) == 0) {
        o.kind = OPT_ADAM, names = adam;
        o.lr = 0.001, o.beta1 = 0.9, o.beta2 = 0.999, o.eps = 1e-8;
        slots[0] = &o.lr, slots[1] = &o.beta1, slots[2] = &o.beta2, slots[3] = &o.eps;
    } else if (klen == 7 && strncmp(spec, "adagrad", 7) == 0) {
        o.kind = OPT_ADAGRAD, names = adagrad;
        o.lr = 0.01, o.eps = 1e-10;
        slots[0] = &o.lr, slots[1] = &o.eps;
    } else {
        snprintf(err, errlen, "unknown optimizer '%.*s' (expected sgd, adam or adagrad)", (int)klen, spec);
        return false;
    }
    for (const char *p = colon ? colon + 1 : NULL; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        int slot = -1;
        for (int j = 0; eq && names[j]; j++)
            if (strlen(names[j]) == (size_t)(eq - p) && strncmp(names[j], p, (size_t)(eq - p)) == 0)
                slot = j;
        if (slot < 0) {
            snprintf(err, errlen, "expected NAME=VALUE with NAME one of the optimizer's arguments, got '%.*s'",
                     (int)len, p);
            return false;
        }
        char *num = xstrndup(eq + 1, len - (size_t)(eq + 1 - p)), *end;
        errno = 0;
        double v = strtod(num, &end);
        if (!*num || *end || errno || !isfinite(v)) {
            snprintf(err, errlen, "'%s' is not a number", num);
            return false;
        }
        *slots[slot] = v;
        p = comma ? comma + 1 : NULL;
    }
    if (o.kind == OPT_SGD && o.lr < 0) {
        snprintf(err, errlen, "sgd needs a learning rate: sgd:lr=0.1");
        return false;
    }
    if (!(o.lr > 0)) {
        snprintf(err, errlen, "the learning rate must be positive");
        return false;
    }
    *out = o;
    return true;
}

bool driver_pipeline_options(const CompileOptions *o, const char *dump_after, PipelineOptions *po) {
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
    po->dump = dump_after;
    po->stats = o->stats;
    po->report = o->report;
    po->dump_diff = o->dump_diff;
    char err[1024];
    if (!pipeline_check(po, err, sizeof err)) {
        driver_error("%s", err);
        return false;
    }
    return true;
}

/* The autodiff pass may not be linked into every build of the driver
 * (the unit tests link run.o alone): a weak reference is NULL then. */
#pragma weak autodiff

static bool has_trainable_param(const Graph *g) {
    for (int i = 0; i < g->nparams; i++)
        if (!g->params[i].frozen)
            return true;
    return false;
}

/* T: the program lowered again, autodiff, then the pipeline without dumps.
 * NULL with *failed false when there is nothing to train or the gradient
 * is not asked for; *failed after an error. */
static Graph *build_train(Diag *d, int file, const AstList *prog, const LowerOptions *lo, const CompileOptions *o,
                          const PipelineOptions *po, bool *failed) {
    *failed = false;
    /* Lowering again reports what the first lowering reported: silence it. */
    FILE *devnull = fopen("/dev/null", "w");
    FILE *saved = d->out;
    int nerr = d->nerrors, nwarn = d->nwarnings;
    if (devnull)
        d->out = devnull;
    Graph *t = lower_program(d, file, prog, lo);
    d->out = saved;
    if (devnull)
        fclose(devnull);
    d->nerrors = nerr, d->nwarnings = nwarn;
    if (!t)
        return NULL;
    if (o->have_opt)
        t->opt = o->opt;
    if (!autodiff) {
        if (o->train_required || o->dump_autodiff) {
            driver_error("this nngc was built without the autodiff pass: it cannot train");
            *failed = true;
        }
        return NULL;
    }
    bool ok;
    if (o->train_required || o->dump_autodiff) {
        ok = autodiff(t, d);
    } else {
        /* not asked for: a model without gradient rules still compiles */
        devnull = fopen("/dev/null", "w");
        if (devnull)
            d->out = devnull;
        ok = autodiff(t, d);
        d->out = saved;
        if (devnull)
            fclose(devnull);
        d->nerrors = nerr, d->nwarnings = nwarn;
        if (!ok)
            return NULL;
    }
    if (!ok || !t->grads) {
        *failed = true;
        return NULL;
    }
    if (o->dump_autodiff) {
        ir_print(t, stdout, "after autodiff");
        fflush(stdout);
    }
    PipelineOptions pt = *po;
    pt.dump = NULL;
    pt.dump_diff = NULL;
    pt.stats = false;
    pt.report = NULL;
    /* --passes=autodiff,...: autodiff has run already */
    const char **only = NULL;
    int nonly = 0, caponly = 0;
    for (int i = 0; i < po->nonly; i++)
        if (strcmp(po->only[i], "autodiff") != 0)
            VEC_PUSH(only, nonly, caponly, po->only[i]);
    if (po->only) {
        static const char *const none[1] = {NULL};
        pt.only = nonly ? only : none;
        pt.nonly = nonly;
    }
    if (!run_pipeline(t, &pt)) {
        *failed = true;
        return NULL;
    }
    return t;
}

/* The Diag of the last driver_compile, whose files the backend's errors point into. */
static Diag *compile_diag;

Graph *driver_compile(Diag *d, const char *path, const CompileOptions *o, const Paths *paths,
                      const PipelineOptions *po, Graph **train) {
    compile_diag = d;
    if (train)
        *train = NULL;
    int file = diag_load_file(d, path, NO_LOC);
    if (file < 0)
        return NULL;
    AstList prog = {0};
    if (!parse_file(d, file, &prog))
        return NULL;
    LowerOptions lo = {
        .include_dirs = o->include_dirs,
        .ninclude = o->ninclude,
        .stdlib_dir = paths->stdlib_dir,
    };
    if (o->softmax) {
        char err[256];
        /* Checked while parsing the command line, so this cannot fail. */
        bool ok = approx_parse(o->softmax, &lo.default_approx, err, sizeof err);
        NN_ASSERT(ok);
        lo.have_default_approx = true;
    }
    Graph *g = lower_program(d, file, &prog, &lo);
    if (!g || d->nerrors > 0)
        return NULL;
    if (o->have_opt)
        g->opt = o->opt;
    /* T first: it lowers the same AST again, before F's passes run */
    Graph *t = NULL;
    bool want = (train || o->dump_autodiff) && !o->no_train && g->loss && has_trainable_param(g);
    if (o->dump_autodiff && !want) {
        driver_error("--dump-ir=autodiff: %s", o->no_train ? "--no-train was given"
                                              : !g->loss ? "the model has no loss to differentiate"
                                                         : "every param of the model is frozen");
        return NULL;
    }
    if (want) {
        bool failed;
        CompileOptions oc = *o;
        if (g->opt.kind != OPT_NONE) /* the program names an optimizer: it means to train */
            oc.train_required = true;
        t = build_train(d, file, &prog, &lo, &oc, po, &failed);
        if (failed)
            return NULL;
    }
    if (!run_pipeline(g, po))
        return NULL;
    if (train)
        *train = t;
    return g;
}

static bool on_path(const char *prog) {
    const char *path = getenv("PATH");
    if (!path)
        return false;
    for (const char *p = path;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        char *full = xsprintf("%.*s/%s", (int)len, len ? p : ".", prog);
        if (access(full, X_OK) == 0)
            return true;
        if (!colon)
            return false;
        p = colon + 1;
    }
}

const char *driver_backend_cc(const CompileOptions *o) {
    if (o->cc)
        return o->cc;
    const char *env = getenv("NNGC_CC");
    if (env && *env)
        return env;
    return on_path("clang") ? "clang" : "cc";
}

bool driver_spawn(char *const argv[]) {
    /* stdout must not interleave with what we printed before the child
     * started (stdout is a pipe under the tests). */
    fflush(stdout);
    fflush(stderr);
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (err != 0) {
        driver_error("cannot run the backend compiler '%s': %s (set it with --cc or $NNGC_CC)", argv[0],
                     strerror(err));
        return false;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            driver_error("waiting for '%s': %s", argv[0], strerror(errno));
            return false;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (WIFEXITED(status))
        driver_error("the backend compiler '%s' failed (exit status %d)", argv[0], WEXITSTATUS(status));
    else
        driver_error("the backend compiler '%s' was killed by signal %d", argv[0],
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return false;
}

bool tmp_open(AtomicFile *t, const char *path) {
    t->path = path;
    t->tmp = xsprintf("%s.tmpXXXXXX", path);
    t->f = NULL;
    int fd = mkstemp(t->tmp);
    if (fd < 0) {
        driver_error("cannot write '%s': %s", path, strerror(errno));
        return false;
    }
    /* mkstemp makes the file 0600; a compiler's output should have the
     * usual permissions. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    t->f = fdopen(fd, "w");
    if (!t->f) {
        driver_error("cannot write '%s': %s", path, strerror(errno));
        close(fd);
        unlink(t->tmp);
        return false;
    }
    return true;
}

bool tmp_close(AtomicFile *t, bool ok) {
    if (!t->f)
        return false;
    bool werr = ferror(t->f) != 0;
    if (fclose(t->f) != 0)
        werr = true;
    t->f = NULL;
    if (ok && werr)
        driver_error("cannot write '%s': %s", t->path, strerror(errno ? errno : EIO));
    if (ok && !werr && rename(t->tmp, t->path) != 0) {
        driver_error("cannot write '%s': %s", t->path, strerror(errno));
        werr = true;
    }
    if (!ok || werr)
        unlink(t->tmp);
    return ok && !werr;
}

bool driver_emit(Graph *g, Graph *train, const char *c_path, const char *h_path, const char *header_name,
                 const CompileOptions *o, const char *source_name) {
    AtomicFile c = {0}, h = {0};
    if (!tmp_open(&c, c_path))
        return false;
    if (!tmp_open(&h, h_path)) {
        tmp_close(&c, false);
        return false;
    }
    EmitOptions eo = {.source_name = source_name, .line_markers = !o->no_line, .stats = o->stats};
    Diag fallback;
    if (!compile_diag)
        diag_init(&fallback, stderr);
    bool ok = backend_emit(compile_diag ? compile_diag : &fallback, g, train, c.f, h.f, header_name, &eo);
    /* Header first: a build that sees the new .c finds the new .h. */
    bool okh = tmp_close(&h, ok);
    bool okc = tmp_close(&c, ok && okh);
    return ok && okh && okc;
}

bool driver_copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    if (!in) {
        driver_error("cannot read '%s': %s", from, strerror(errno));
        return false;
    }
    AtomicFile t;
    if (!tmp_open(&t, to)) {
        fclose(in);
        return false;
    }
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, t.f);
    bool ok = !ferror(in);
    if (!ok)
        driver_error("cannot read '%s': %s", from, strerror(errno));
    fclose(in);
    return tmp_close(&t, ok);
}

/* The temporary directory and the files in it, removed at exit whatever
 * path the program leaves by. Static storage, not the arena: the arena is
 * freed before the atexit handler runs. */
static char tmpdir[PATH_MAX];
static char tmpfiles[4][PATH_MAX + 64];
static int ntmpfiles;

static void remove_tmpdir(void) {
    if (!tmpdir[0])
        return;
    for (int i = 0; i < ntmpfiles; i++)
        unlink(tmpfiles[i]);
    rmdir(tmpdir);
    tmpdir[0] = 0;
}

/* Ctrl-C during the backend compiler: remove the directory too (unlink and
 * rmdir are async-signal-safe), then die of the signal as usual. */
static void remove_tmpdir_on_signal(int sig) {
    remove_tmpdir();
    signal(sig, SIG_DFL);
    raise(sig);
}

const char *driver_tmpdir(void) {
    if (tmpdir[0])
        return tmpdir;
    const char *env = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/nngc-XXXXXX", env && *env ? env : "/tmp");
    if (!mkdtemp(tmpdir)) {
        driver_error("cannot create a temporary directory '%s': %s", tmpdir, strerror(errno));
        tmpdir[0] = 0;
        return NULL;
    }
    atexit(remove_tmpdir);
    signal(SIGINT, remove_tmpdir_on_signal);
    signal(SIGTERM, remove_tmpdir_on_signal);
    signal(SIGHUP, remove_tmpdir_on_signal);
    return tmpdir;
}

const char *driver_tmp_path(const char *name) {
    NN_ASSERT(tmpdir[0] && ntmpfiles < (int)(sizeof tmpfiles / sizeof tmpfiles[0]));
    char *p = tmpfiles[ntmpfiles++];
    snprintf(p, sizeof tmpfiles[0], "%s/%s", tmpdir, name);
    return p;
}

/* ================================================================ nngc run */

static void run_usage(FILE *out) {
    fputs("usage: nngc run MODEL.nn [--params P.safetensors] [--input NAME=FILE.npy]...\n"
          "                [--out DIR] [--seed N] [--repeat N] [--dim NAME=N]... [-v]\n"
          "                [--grads DIR] [--train N] [--save FILE] [--optimizer=SPEC] [--no-train]\n"
          "                [-I DIR] [-O0|-O1|-O2] [--softmax=SPEC] [--cc=PATH]\n"
          "                [--passes=a,b] [--disable-pass=NAME] [--dump-ir[=PASS|all]]\n"
          "                [--dump-ir-diff=PASS] [--stats] [--report=batch] [--no-line]\n"
          "Compiles MODEL.nn, runs its forward pass once on the inputs and prints the\n"
          "loss and outputs (or writes DIR/NAME.npy and DIR/loss.npy with --out).\n"
          "--grads DIR writes DIR/PARAM.npy, d loss / d PARAM at the loaded params;\n"
          "--train N runs N train steps first (--repeat then times train steps);\n"
          "--save FILE writes the params and optimizer state afterwards.\n"
          "See docs/CLI.md.\n",
          out);
}

/* One --input or --dim argument: NAME=VALUE. */
typedef struct NamedArg {
    const char *name;
    const char *value;
} NamedArg;

typedef struct RunArgs {
    const char *model;
    const char *params;
    const char *out_dir;
    uint64_t seed;
    long repeat; /* 0: no timing */
    const char *grads_dir; /* --grads DIR */
    long train;            /* --train N: train steps before the forward pass */
    const char *save;      /* --save FILE: params (and optimizer state) after training */
    const char *dump_ir;   /* --dump-ir[=PASS|all]: as for nngc, printed before the run */
    bool verbose;
    NamedArg *inputs;
    int ninputs, capinputs;
    NamedArg *dims;
    int ndims, capdims;
    CompileOptions co;
} RunArgs;

static bool split_named(const char *opt, const char *v, NamedArg *out) {
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || !eq[1]) {
        driver_error("%s expects NAME=VALUE, got '%s'", opt, v);
        return false;
    }
    out->name = xstrndup(v, (size_t)(eq - v));
    out->value = eq + 1;
    return true;
}

/* A whole decimal integer in [lo, hi]. */
static bool parse_int(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Returns 0 on success, else the exit status. */
static int parse_run_args(RunArgs *ra, int argc, char **argv) {
    compile_options_init(&ra->co);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int r;
        long long n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            run_usage(stdout);
            exit(0);
        }
        if ((r = compile_options_parse(&ra->co, argc, argv, &i)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            ra->verbose = true;
        } else if (strcmp(a, "--dump-ir") == 0) {
            ra->dump_ir = "";
        } else if (strncmp(a, "--dump-ir=", 10) == 0) {
            ra->dump_ir = a + 10;
        } else if ((r = match_value_option("--params", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            ra->params = v;
        } else if ((r = match_value_option("--out", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            ra->out_dir = v;
        } else if ((r = match_value_option("--seed", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (!*v || *end || errno || v[0] == '-') {
                driver_error("--seed expects a non-negative integer, got '%s'", v);
                return EXIT_USAGE;
            }
            ra->seed = s;
        } else if ((r = match_value_option("--repeat", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            if (!parse_int(v, 1, 1000000, &n)) {
                driver_error("--repeat expects a count from 1 to 1000000, got '%s'", v);
                return EXIT_USAGE;
            }
            ra->repeat = (long)n;
        } else if ((r = match_value_option("--train", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            if (!parse_int(v, 0, 100000000, &n)) {
                driver_error("--train expects a step count from 0 to 100000000, got '%s'", v);
                return EXIT_USAGE;
            }
            ra->train = (long)n;
            ra->co.train_required = true;
        } else if ((r = match_value_option("--grads", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            ra->grads_dir = v;
            ra->co.train_required = true;
        } else if ((r = match_value_option("--save", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            ra->save = v;
        } else if ((r = match_value_option("--input", argc, argv, &i, &v)) != 0) {
            NamedArg na;
            if (r < 0 || !split_named("--input", v, &na))
                return EXIT_USAGE;
            VEC_PUSH(ra->inputs, ra->ninputs, ra->capinputs, na);
        } else if ((r = match_value_option("--dim", argc, argv, &i, &v)) != 0) {
            NamedArg na;
            if (r < 0 || !split_named("--dim", v, &na))
                return EXIT_USAGE;
            VEC_PUSH(ra->dims, ra->ndims, ra->capdims, na);
        } else if (a[0] == '-' && a[1]) {
            driver_error("unknown option '%s' for nngc run (see nngc run --help)", a);
            return EXIT_USAGE;
        } else if (ra->model) {
            driver_error("more than one model file: '%s' and '%s'", ra->model, a);
            return EXIT_USAGE;
        } else {
            ra->model = a;
        }
    }
    if (!ra->model) {
        driver_error("nngc run needs a model file");
        run_usage(stderr);
        return EXIT_USAGE;
    }
    return 0;
}

static const char *dtype_name(nnrt_dtype t) {
    return t == NNRT_I32 ? "int32" : "float32";
}

/* "(3, 4)" as NumPy prints a shape. */
static const char *array_shape_str(const nnrt_array *a) {
    char buf[256];
    size_t len = 0;
    buf[len++] = '(';
    for (int i = 0; i < a->rank && len < sizeof buf; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", i ? ", " : "", (long long)a->shape[i]);
    if (a->rank == 1 && len < sizeof buf)
        len += (size_t)snprintf(buf + len, sizeof buf - len, ",");
    snprintf(buf + (len < sizeof buf ? len : sizeof buf - 1), sizeof buf - (len < sizeof buf ? len : sizeof buf - 1),
             ")");
    return xstrdup(buf);
}

/* The type as declared: "int[T + 1]", "[D]", "int", "float". */
static const char *type_text(const nnrt_tensor_desc *t) {
    const char *shape = t->rank && t->shape_text ? t->shape_text : "";
    if (t->dtype == NNRT_I32)
        return xsprintf("int%s", shape);
    return t->rank ? shape : "float";
}

/* Name of dynamic dim j. */
static const char *dyn_name(const nnrt_model_desc *d, int j) {
    for (int i = 0; i < d->ndims; i++)
        if (d->dims[i].dynamic && d->dims[i].dyn_index == j)
            return d->dims[i].name;
    return "?";
}

static int64_t dyn_max(const nnrt_model_desc *d, int j) {
    for (int i = 0; i < d->ndims; i++)
        if (d->dims[i].dynamic && d->dims[i].dyn_index == j)
            return d->dims[i].value;
    return 0;
}

static const char *list_names(const nnrt_tensor_desc *t, int n) {
    if (n == 0)
        return "(none)";
    char *s = "";
    for (int i = 0; i < n; i++)
        s = xsprintf("%s%s%s", s, i ? ", " : "", t[i].name);
    return s;
}

/* Sets the dynamic dims from --dim. Returns false after an error. */
static bool dims_from_args(const nnrt_model_desc *d, const RunArgs *ra, int64_t *dyn, bool *known) {
    for (int a = 0; a < ra->ndims; a++) {
        const nnrt_dim_desc *dd = NULL;
        for (int i = 0; i < d->ndims; i++)
            if (strcmp(d->dims[i].name, ra->dims[a].name) == 0)
                dd = &d->dims[i];
        if (!dd || !dd->dynamic) {
            char *names = "";
            for (int i = 0; i < d->ndims; i++)
                if (d->dims[i].dynamic)
                    names = xsprintf("%s%s%s", names, *names ? ", " : "", d->dims[i].name);
            driver_error("--dim %s: %s '%s' (the dynamic dims of model %s: %s)", ra->dims[a].name,
                         dd ? "cannot set the static dim" : "no dim named", ra->dims[a].name, d->name,
                         *names ? names : "none");
            return false;
        }
        NN_ASSERT(dd->dyn_index >= 0 && dd->dyn_index < d->ndyn);
        long long v;
        if (!parse_int(ra->dims[a].value, 1, dd->value, &v)) {
            driver_error("--dim %s=%s: %s must be an integer from 1 to %lld", dd->name, ra->dims[a].value, dd->name,
                         (long long)dd->value);
            return false;
        }
        if (known[dd->dyn_index] && dyn[dd->dyn_index] != v) {
            driver_error("--dim %s given twice with different values", dd->name);
            return false;
        }
        dyn[dd->dyn_index] = v;
        known[dd->dyn_index] = true;
    }
    return true;
}

/* Infers the dynamic dims from the input shapes. Each axis is
 * c + sum_j k_j * dyn_j elements; an axis with exactly one unknown dyn
 * determines it. Solving one may make another axis solvable, so sweep
 * until nothing changes, then check every axis against its size. */
static bool infer_dims(const nnrt_model_desc *d, nnrt_array *arr, int64_t *dyn, bool *known) {
    bool progress = true;
    while (progress) {
        progress = false;
        for (int i = 0; i < d->ninputs; i++) {
            const nnrt_tensor_desc *t = &d->inputs[i];
            for (int ax = 0; ax < t->rank; ax++) {
                const nnrt_size *s = &t->shape[ax];
                int unknown = -1, nunknown = 0;
                int64_t rest = arr[i].shape[ax] - s->c;
                for (int j = 0; j < d->ndyn; j++) {
                    if (s->k[j] == 0)
                        continue;
                    if (known[j])
                        rest -= s->k[j] * dyn[j];
                    else
                        unknown = j, nunknown++;
                }
                if (nunknown != 1)
                    continue;
                int64_t k = s->k[unknown], max = dyn_max(d, unknown);
                const char *dn = dyn_name(d, unknown);
                if (rest % k != 0) {
                    driver_error("%s: axis %d has %lld elements, which no whole %s fits (%s is %s)", t->name, ax,
                                 (long long)arr[i].shape[ax], dn, t->name, t->shape_text ? t->shape_text : "");
                    return false;
                }
                int64_t v = rest / k;
                if (v < 1 || v > max) {
                    driver_error("%s: axis %d has %lld elements, so %s = %lld, %s", t->name, ax,
                                 (long long)arr[i].shape[ax], dn, (long long)v,
                                 v < 1 ? "but it must be at least 1" : xsprintf("over its max %lld", (long long)max));
                    return false;
                }
                dyn[unknown] = v;
                known[unknown] = true;
                progress = true;
            }
        }
    }
    for (int j = 0; j < d->ndyn; j++)
        if (!known[j]) {
            driver_error("the inputs do not determine dim %s: give it with --dim %s=N", dyn_name(d, j),
                         dyn_name(d, j));
            return false;
        }
    for (int i = 0; i < d->ninputs; i++) {
        const nnrt_tensor_desc *t = &d->inputs[i];
        for (int ax = 0; ax < t->rank; ax++) {
            int64_t want = nnrt_size_eval(&t->shape[ax], dyn);
            if (arr[i].shape[ax] != want) {
                char *dims = "";
                for (int j = 0; j < d->ndyn; j++)
                    dims = xsprintf("%s, %s = %lld", dims, dyn_name(d, j), (long long)dyn[j]);
                driver_error("%s: axis %d has %lld elements, expected %lld (%s is %s%s)", t->name, ax,
                             (long long)arr[i].shape[ax], (long long)want, t->name,
                             t->shape_text ? t->shape_text : "", dims);
                return false;
            }
        }
    }
    return true;
}

/* Reads every --input and matches it to the model's inputs (arr[i] is
 * input i). Returns false after reporting every problem it found. */
static bool read_inputs(const nnrt_model_desc *d, const RunArgs *ra, nnrt_array *arr) {
    bool ok = true;
    const char **given = xalloc(sizeof(char *) * (size_t)(d->ninputs ? d->ninputs : 1));
    for (int a = 0; a < ra->ninputs; a++) {
        const NamedArg *na = &ra->inputs[a];
        int i = 0;
        while (i < d->ninputs && strcmp(d->inputs[i].name, na->name) != 0)
            i++;
        if (i == d->ninputs) {
            driver_error("model %s has no input '%s' (its inputs: %s)", d->name, na->name,
                         list_names(d->inputs, d->ninputs));
            ok = false;
            continue;
        }
        if (given[i]) {
            driver_error("input '%s' given twice (%s and %s)", na->name, given[i], na->value);
            ok = false;
            continue;
        }
        given[i] = na->value;
        const nnrt_tensor_desc *t = &d->inputs[i];
        if (nnrt_npy_read(na->value, &arr[i]) != NNRT_OK) {
            driver_error("input '%s': %s", na->name, nnrt_last_error());
            ok = false;
            continue;
        }
        if (arr[i].dtype != t->dtype) {
            driver_error("input '%s': %s holds %s data, but %s is %s (input %s : %s)", na->name, na->value,
                         dtype_name(arr[i].dtype), na->name, dtype_name(t->dtype), t->name, type_text(t));
            ok = false;
        } else if (arr[i].rank != t->rank) {
            driver_error("input '%s': %s has rank %d (shape %s), but %s has rank %d (%s)", na->name, na->value,
                         arr[i].rank, array_shape_str(&arr[i]), na->name, t->rank, t->rank ? type_text(t) : "a scalar");
            ok = false;
        }
    }
    for (int i = 0; i < d->ninputs; i++)
        if (!given[i]) {
            driver_error("missing input '%s' (input %s : %s): give it with --input %s=FILE.npy", d->inputs[i].name,
                         d->inputs[i].name, type_text(&d->inputs[i]), d->inputs[i].name);
            ok = false;
        }
    return ok;
}

static int64_t out_shape(const nnrt_tensor_desc *t, const int64_t *dyn, int64_t *shape) {
    int64_t count = 1;
    for (int ax = 0; ax < t->rank; ax++) {
        shape[ax] = nnrt_size_eval(&t->shape[ax], dyn);
        count *= shape[ax];
    }
    return count;
}

/* mkdir -p */
static bool make_dirs(const char *dir) {
    char *p = xstrdup(dir);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != 0)
            continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            driver_error("cannot create directory '%s': %s", p, strerror(errno));
            return false;
        }
        *s = c;
        if (!c)
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        driver_error("--out %s: not a directory", dir);
        return false;
    }
    return true;
}

static bool write_results(const nnrt_model_desc *d, const RunArgs *ra, const int64_t *dyn, float loss,
                          const float **outputs) {
    if (!make_dirs(ra->out_dir))
        return false;
    if (d->has_loss) {
        const char *p = xsprintf("%s/loss.npy", ra->out_dir);
        if (nnrt_npy_write(p, NNRT_F32, 0, NULL, &loss) != NNRT_OK) {
            driver_error("%s", nnrt_last_error());
            return false;
        }
    }
    for (int i = 0; i < d->noutputs; i++) {
        int64_t shape[NNRT_MAXRANK];
        out_shape(&d->outputs[i], dyn, shape);
        const char *p = xsprintf("%s/%s.npy", ra->out_dir, d->outputs[i].name);
        if (nnrt_npy_write(p, NNRT_F32, d->outputs[i].rank, shape, outputs[i]) != NNRT_OK) {
            driver_error("%s", nnrt_last_error());
            return false;
        }
    }
    return true;
}

static void print_results(const nnrt_model_desc *d, const int64_t *dyn, float loss, const float **outputs) {
    if (d->has_loss)
        printf("loss = %.6g\n", loss);
    for (int i = 0; i < d->noutputs; i++) {
        int64_t shape[NNRT_MAXRANK];
        int64_t count = out_shape(&d->outputs[i], dyn, shape);
        printf("%s [", d->outputs[i].name);
        for (int ax = 0; ax < d->outputs[i].rank; ax++)
            printf("%s%lld", ax ? ", " : "", (long long)shape[ax]);
        printf("] =");
        for (int64_t j = 0; j < count && j < 8; j++)
            printf(" %.6g", outputs[i][j]);
        printf(count > 8 ? " ... (%lld values)\n" : "\n", (long long)count);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One call of what --repeat times: forward, or with --train a train step. */
static int timed_call(const nnrt_model_desc *d, void *m, const int64_t *dyn, const void *const *in, float *loss,
                      const float **outputs, bool train) {
    return train ? d->train_step(m, dyn, in, loss) : d->forward(m, dyn, in, loss, outputs);
}

/* Runs forward (or train steps) repeat times after one warm-up call;
 * prints the median. */
static bool time_forward(const nnrt_model_desc *d, void *m, const int64_t *dyn, const void *const *in, float *loss,
                         const float **outputs, long repeat, bool train) {
    if (timed_call(d, m, dyn, in, loss, outputs, train) != NNRT_OK) {
        driver_error("%s", nnrt_last_error());
        return false;
    }
    double *t = malloc(sizeof(double) * (size_t)repeat);
    if (!t) {
        driver_error("out of memory");
        return false;
    }
    for (long r = 0; r < repeat; r++) {
        double t0 = nnrt_now_us();
        int rc = timed_call(d, m, dyn, in, loss, outputs, train);
        t[r] = nnrt_now_us() - t0;
        if (rc != NNRT_OK) {
            driver_error("%s", nnrt_last_error());
            free(t);
            return false;
        }
    }
    qsort(t, (size_t)repeat, sizeof *t, cmp_double);
    double med = repeat % 2 ? t[repeat / 2] : (t[repeat / 2 - 1] + t[repeat / 2]) / 2;
    printf("time: median %.1f us per call (%ld calls)\n", med, repeat);
    free(t);
    return true;
}

/* --grads DIR: forward and backward at the current params, then
 * DIR/PARAM.npy for every param (zeros for a frozen one). */
static bool write_grads(const nnrt_model_desc *d, void *m, const RunArgs *ra, const int64_t *dyn,
                        const void *const *in, const float **outputs) {
    float loss = 0;
    if (d->grad(m, dyn, in, &loss, outputs) != NNRT_OK) {
        driver_error("%s", nnrt_last_error());
        return false;
    }
    if (!make_dirs(ra->grads_dir))
        return false;
    for (int i = 0; i < d->nparams; i++) {
        const nnrt_tensor_desc *p = &d->params[i];
        int64_t shape[NNRT_MAXRANK];
        out_shape(p, dyn, shape);
        const char *path = xsprintf("%s/%s.npy", ra->grads_dir, p->name);
        if (nnrt_npy_write(path, NNRT_F32, p->rank, shape, d->grad_data(m, i)) != NNRT_OK) {
            driver_error("%s", nnrt_last_error());
            return false;
        }
    }
    return true;
}

/* Compiles g into a shared object in the temporary directory and returns
 * its descriptor, with the library handle in *handle. */
static const nnrt_model_desc *build_and_load(Graph *g, Graph *train, const RunArgs *ra, const Paths *paths,
                                             void **handle) {
    if (!driver_tmpdir())
        return NULL;
    const char *header = xsprintf("%s.h", g->model);
    const char *c_path = driver_tmp_path(xsprintf("%s.c", g->model));
    const char *h_path = driver_tmp_path(header);
    const char *so_path = driver_tmp_path(xsprintf("%s.so", g->model));
    if (!driver_emit(g, train, c_path, h_path, header, &ra->co, ra->model))
        return NULL;

    /* No runtime on this link line: see the comment at the top. The model
     * runs here and now, so it may use every instruction of this CPU
     * (-march=native: AVX2 for the fused elementwise loops, as PyTorch's
     * kernels pick at run time). */
    const char *inc = xsprintf("-I%s", paths->include_dir);
    const char *argv[] = {driver_backend_cc(&ra->co), "-std=c11", "-O2", "-march=native", "-fPIC", "-shared", inc,
                          c_path, "-o", so_path, NULL};
    if (!driver_spawn((char *const *)argv))
        return NULL;

    *handle = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (!*handle) {
        driver_error("cannot load the compiled model: %s", dlerror());
        return NULL;
    }
    const char *sym = xsprintf("%s_desc", g->model);
    const nnrt_model_desc *d = dlsym(*handle, sym);
    if (!d) {
        driver_error("the compiled model has no symbol '%s'", sym);
        return NULL;
    }
    /* The descriptor's array sizes bound every loop below. */
    NN_ASSERT(d->ndyn >= 0 && d->ndyn <= NNRT_MAXDYN && d->ninputs >= 0 && d->noutputs >= 0);
    return d;
}

int nngc_run(int argc, char **argv) {
    RunArgs ra = {0};
    int rc = parse_run_args(&ra, argc, argv);
    if (rc)
        return rc;
    /* --dump-ir=autodiff shows the train graph, not a pipeline step of F */
    if (ra.dump_ir && strcmp(ra.dump_ir, "autodiff") == 0)
        ra.co.dump_autodiff = true;
    PipelineOptions po;
    if (!driver_pipeline_options(&ra.co, ra.co.dump_autodiff ? NULL : ra.dump_ir, &po))
        return EXIT_USAGE;
    Paths paths;
    driver_locate(&paths);

    Diag diag;
    diag_init(&diag, stderr);
    Graph *train = NULL;
    Graph *g = driver_compile(&diag, ra.model, &ra.co, &paths, &po, ra.co.train_required ? &train : NULL);
    if (!g)
        return EXIT_ERROR;
    if (ra.co.train_required && !train) {
        driver_error("--%s: model %s cannot be trained: %s", ra.grads_dir ? "grads" : "train", g->model,
                     ra.co.no_train ? "--no-train was given"
                     : !g->loss     ? "it has no loss"
                                    : "every param is frozen");
        return EXIT_ERROR;
    }
    if (ra.train > 0 && g->opt.kind == OPT_NONE) {
        driver_error("--train: model %s declares no optimizer: give one with --optimizer=SPEC "
                     "(sgd:lr=0.1, adam, adagrad)", g->model);
        return EXIT_USAGE;
    }

    void *handle = NULL;
    const nnrt_model_desc *d = build_and_load(g, train, &ra, &paths, &handle);
    if (!d)
        return EXIT_ERROR;

    rc = EXIT_ERROR;
    void *m = d->create(ra.seed);
    nnrt_array *arr = xalloc(sizeof(nnrt_array) * (size_t)(d->ninputs ? d->ninputs : 1));
    const void **in = xalloc(sizeof(void *) * (size_t)(d->ninputs ? d->ninputs : 1));
    const float **outputs = xalloc(sizeof(float *) * (size_t)(d->noutputs ? d->noutputs : 1));
    int64_t dyn[NNRT_MAXDYN] = {0};
    bool known[NNRT_MAXDYN] = {0};
    float loss = 0;
    if (!m) {
        driver_error("out of memory creating model %s", d->name);
        goto out;
    }
    if (ra.params) {
        int nloaded = 0;
        unsigned char *missing = xalloc((size_t)d->nparams + 1);
        if (nnrt_load_params_report(d, m, ra.params, missing, &nloaded) != NNRT_OK) {
            driver_error("%s", nnrt_last_error());
            goto out;
        }
        for (int i = 0, n = 0; i < d->nparams; i++) /* one line: the params left at their init */
            if (missing[i])
                fprintf(stderr, "%s%s", n++ ? ", " : "nngc: note: not in the params file, so initialised as declared: ",
                        d->params[i].name);
        if (nloaded < d->nparams)
            fputc('\n', stderr);
        if (ra.verbose)
            fprintf(stderr, "nngc: loaded %d of %d params from %s (the others keep their seeded init)\n", nloaded,
                    d->nparams, ra.params);
    }
    if (!read_inputs(d, &ra, arr) || !dims_from_args(d, &ra, dyn, known) || !infer_dims(d, arr, dyn, known))
        goto out;
    for (int i = 0; i < d->ninputs; i++)
        in[i] = arr[i].data;

    if (ra.grads_dir && !write_grads(d, m, &ra, dyn, (const void *const *)in, outputs))
        goto out;
    for (long s = 0; s < ra.train; s++) {
        float step_loss = 0;
        if (d->train_step(m, dyn, (const void *const *)in, &step_loss) != NNRT_OK) {
            driver_error("train step %ld: %s", s + 1, nnrt_last_error());
            goto out;
        }
        if (ra.verbose)
            fprintf(stderr, "nngc: step %ld: loss %.9g\n", s + 1, step_loss);
    }
    if (ra.repeat > 0 && ra.train > 0) {
        if (!time_forward(d, m, dyn, (const void *const *)in, &loss, outputs, ra.repeat, true))
            goto out;
    }
    if (ra.repeat > 0 && ra.train == 0) {
        if (!time_forward(d, m, dyn, (const void *const *)in, &loss, outputs, ra.repeat, false))
            goto out;
    } else if (d->forward(m, dyn, (const void *const *)in, &loss, outputs) != NNRT_OK) {
        driver_error("%s", nnrt_last_error());
        goto out;
    }
    if (ra.save && nnrt_save_params(d, m, ra.save) != NNRT_OK) {
        driver_error("%s", nnrt_last_error());
        goto out;
    }
    if (ra.out_dir) {
        if (!write_results(d, &ra, dyn, loss, outputs))
            goto out;
    } else {
        print_results(d, dyn, loss, outputs);
    }
    rc = 0;
out:
    for (int i = 0; i < d->ninputs; i++)
        nnrt_array_free(&arr[i]);
    if (m)
        d->destroy(m);
    /* The library is not dlclose'd: the descriptor's strings point into
     * it, and the process ends now anyway. */
    xfree_all();
    fflush(stdout);
    return rc;
}

/* For `nngc train` and `nngc eval` (train.c): build_and_load without a
 * RunArgs. */
const nnrt_model_desc *driver_build_and_load(Graph *g, Graph *train, const CompileOptions *co, const char *model,
                                             const Paths *paths, void **handle) {
    RunArgs ra = {.model = model, .co = *co};
    return build_and_load(g, train, &ra, paths, handle);
}
