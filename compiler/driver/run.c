/*
 * run.c - `nngc run`: compile a model, load it into this process and run
 * its forward pass (or train it) on .npy inputs.
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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void run_usage(FILE *out) {
    fputs("usage: nngc run MODEL.nn [--params P.safetensors] [--input NAME=FILE.npy]...\n"
          "                [--out DIR] [--seed N] [--repeat N] [--dim NAME=N]... [-v]\n"
          "                [--grads DIR] [--train N] [--save FILE] [--optimizer=SPEC] [--no-train]\n"
          "                [--predict]\n"
          "                [-I DIR] [-O0|-O1|-O2] [--softmax=SPEC] [--counts=FILE.npy] [--cc=PATH]\n"
          "                [--passes=a,b] [--disable-pass=NAME] [--dump-ir[=[train:]PASS|all]]\n"
          "                [--dump-ir-diff=PASS] [--stats] [--report=batch] [--no-line] [-w|-Werror]\n"
          "Compiles MODEL.nn, runs its forward pass once on the inputs and prints the\n"
          "loss and outputs (or writes DIR/NAME.npy and DIR/loss.npy with --out).\n"
          "--grads DIR writes DIR/PARAM.npy, d loss / d PARAM at the loaded params;\n"
          "--train N runs N train steps first (--repeat then times train steps);\n"
          "--save FILE writes the params and optimizer state afterwards.\n"
          "--predict prints the most likely word of each predicted position (NAME_predict).\n"
          "Compiled models are kept in $NNGC_CACHE_DIR (default ~/.cache/nngc; off: no cache).\n"
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
    bool verbose;
    bool predict;          /* --predict: print NAME_predict's words */
    NamedArg *inputs;
    int ninputs, capinputs;
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
    ra->co.dims_dynamic_ok = true; /* --dim (a compiler option) also gives a dynamic dim's value */
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
        } else if (strcmp(a, "--predict") == 0) {
            ra->predict = true;
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
        } else if (a[0] == '-' && a[1]) {
            driver_unknown_option(a, "nngc run", run_usage);
            return EXIT_USAGE;
        } else if (ra->model) {
            driver_two_models(argv, i, ra->model);
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

/* Sets the dynamic dims from --dim (the compiler option: a static dim's
 * --dim was the compiler's business). Returns false after an error. */
static bool dims_from_args(const nnrt_model_desc *d, const RunArgs *ra, int64_t *dyn, bool *known) {
    for (int a = 0; a < ra->co.ndims; a++) {
        const nnrt_dim_desc *dd = NULL;
        for (int i = 0; i < d->ndims; i++)
            if (strcmp(d->dims[i].name, ra->co.dims[a].name) == 0)
                dd = &d->dims[i];
        if (dd && !dd->dynamic)
            continue;
        if (!dd) { /* the compiler checked the names: not reached */
            driver_error("%s: model %s has no dim named '%s'", ra->co.dims[a].origin, d->name, ra->co.dims[a].name);
            return false;
        }
        NN_ASSERT(dd->dyn_index >= 0 && dd->dyn_index < d->ndyn);
        long long v = ra->co.dims[a].value;
        if (v > dd->value) {
            driver_error("%s: %s must be an integer from 1 to %lld", ra->co.dims[a].origin, dd->name,
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
                /* rest = size - c - (the known terms), checked: an axis of
                 * 2^63 - 1 elements must not wrap around to a small T */
                int64_t rest, term;
                bool over = __builtin_sub_overflow(arr[i].shape[ax], s->c, &rest);
                for (int j = 0; j < d->ndyn; j++) {
                    if (s->k[j] == 0)
                        continue;
                    if (known[j])
                        over |= __builtin_mul_overflow(s->k[j], dyn[j], &term) ||
                                __builtin_sub_overflow(rest, term, &rest);
                    else
                        unknown = j, nunknown++;
                }
                if (nunknown != 1)
                    continue;
                int64_t k = s->k[unknown], max = dyn_max(d, unknown);
                const char *dn = dyn_name(d, unknown);
                if (over || (k == -1 && rest == INT64_MIN)) {
                    driver_error("%s: axis %d has %lld elements, which no %s from 1 to %lld gives (%s is %s)", t->name,
                                 ax, (long long)arr[i].shape[ax], dn, (long long)max, t->name,
                                 t->shape_text ? t->shape_text : "");
                    return false;
                }
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

/* The runtime writes path, unless it is one of the run's inputs. */
static bool write_npy(const char *path, int rank, const int64_t *shape, const float *data) {
    if (!driver_check_output(path))
        return false;
    if (nnrt_npy_write(path, NNRT_F32, rank, shape, data) != NNRT_OK) {
        driver_error("%s", nnrt_last_error());
        return false;
    }
    return true;
}

static bool write_results(const nnrt_model_desc *d, const RunArgs *ra, const int64_t *dyn, float loss,
                          const float **outputs) {
    if (!driver_make_dirs(ra->out_dir, false))
        return false;
    if (d->has_loss) {
        const char *p = xsprintf("%s/loss.npy", ra->out_dir);
        if (!write_npy(p, 0, NULL, &loss))
            return false;
    }
    for (int i = 0; i < d->noutputs; i++) {
        int64_t shape[NNRT_MAXRANK];
        out_shape(&d->outputs[i], dyn, shape);
        const char *p = xsprintf("%s/%s.npy", ra->out_dir, d->outputs[i].name);
        if (!write_npy(p, d->outputs[i].rank, shape, outputs[i]))
            return false;
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

/* --predict: NAME_predict through its generic wrapper (predict.c), every
 * position's word on one line. */
static bool print_predict(void *handle, const nnrt_model_desc *d, void *m, const int64_t *dyn, const void *const *in) {
    typedef int (*predict_fn)(void *, const int64_t *, const void *const *, int32_t *, int64_t, int64_t *);
    predict_fn fn = (predict_fn)dlsym(handle, xsprintf("%s_predict_any", d->name));
    int64_t n = 0;
    if (!fn) {
        driver_error("--predict: model %s has no cross_entropy to predict from (nor one word's log-probability, "
                     "log_softmax(z)[y])", d->name);
        return false;
    }
    int rc = fn(m, dyn, in, NULL, 0, &n); /* the count */
    int32_t *words = xalloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    if ((rc != NNRT_OK && rc != NNRT_ERR_RANGE) || fn(m, dyn, in, words, n, &n) != NNRT_OK) {
        driver_error("--predict: %s", nnrt_last_error());
        return false;
    }
    printf("predict [%lld] =", (long long)n);
    for (int64_t i = 0; i < n; i++)
        printf(" %d", words[i]);
    printf("\n");
    return true;
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
    if (!driver_make_dirs(ra->grads_dir, false))
        return false;
    for (int i = 0; i < d->nparams; i++) {
        const nnrt_tensor_desc *p = &d->params[i];
        int64_t shape[NNRT_MAXRANK];
        out_shape(p, dyn, shape);
        const char *path = xsprintf("%s/%s.npy", ra->grads_dir, p->name);
        if (!write_npy(path, p->rank, shape, d->grad_data(m, i)))
            return false;
    }
    return true;
}

/* The files of the model being built: model.c, .h, .so, then model2.*
 * for a second model in the same process (nngc train --batch loads the
 * one-example and the batched program; dlopen keys on the path). */
static int nbuilt;
static const char *built_c, *built_h;

Graph *driver_compile_to_tmp(Diag *d, const char *model, const CompileOptions *co, const Paths *paths,
                             const DriverPipelines *pl, bool train_api, Graph **train) {
    /* fixed names: the model's name is not known before it is compiled */
    if (!driver_tmpdir())
        return NULL;
    const char *stem = nbuilt ? xsprintf("model%d", nbuilt + 1) : "model";
    const char *h = xsprintf("%s.h", stem);
    built_c = driver_tmp_path(xsprintf("%s.%s", stem, co->target ? "cu" : "c")); /* --target=cuda: run_cuda.c */
    built_h = driver_tmp_path(h);
    EmitTarget out = {.c_path = built_c, .h_path = built_h, .header_name = h, .source_name = model,
                      .train_api = train_api};
    return driver_compile(d, model, co, paths, pl, &out, train);
}

/* builds the model's .so (argv: the C compiler's command; cuda: the
 * CUDA target's build instead), then keeps it in the build cache as entry
 * (none: NULL) */
static bool build_so(bool cuda, const char **argv, const char *c_path, const char *so_path, const char *entry,
                     const Paths *paths) {
    if (cuda ? !driver_build_cuda(c_path, so_path, paths) : !driver_spawn((char *const *)argv))
        return false;
    if (entry)
        cache_store(so_path, entry);
    return true;
}

const nnrt_model_desc *driver_build_and_load(Graph *g, const CompileOptions *co, const Paths *paths,
                                             void **handle) {
    const char *c_path = built_c; /* driver_compile_to_tmp's (and built_h) */
    const char *so_path = driver_tmp_path(nbuilt ? xsprintf("model%d.so", nbuilt + 1) : "model.so");
    nbuilt++;
    /* No runtime on this link line: see the comment at the top. The model
     * runs here and now, so it may use every instruction of this CPU
     * (-march=native: AVX2 for the fused elementwise loops, as PyTorch's
     * kernels pick at run time). libm by name: its expf and log then bind
     * to their current versions, where an unversioned reference binds to
     * the oldest, glibc's SVID wrappers (5% of a hier skip-gram's time;
     * tests/cli "libm calls bind to versioned symbols"). */
    const char *argv[BACKEND_ARGC + 8];
    int n = driver_backend_argv(co, paths, argv);
    if (n < 0)
        return NULL;
    const char *rest[] = {"-march=native", "-shared", c_path, "-o", so_path, "-lm", NULL};
    memcpy(argv + n, rest, sizeof rest);
    /* the build cache (cache.c): the same source built the same way before */
    const char *dir = cache_dir(), *entry = NULL;
    if (dir) {
        uint64_t key = cache_hash_file(cache_hash_file(cache_hash_cpu(cache_key_begin(paths)), c_path), built_h);
        if (co->target)
            key = driver_cuda_key(key, paths);
        else
            for (int i = 0; argv[i]; i++) /* (the paths of the source and the .so are this run's) */
                if (argv[i] != c_path && argv[i] != so_path)
                    key = i ? cache_hash_str(key, argv[i]) : cache_hash_program(key, argv[i]);
        entry = cache_path(dir, key, "model.so");
    }
    bool cached = entry && cache_fetch(entry, so_path);
    if (!cached && !build_so(co->target, argv, c_path, so_path, entry, paths))
        return NULL;
    *handle = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (!*handle && cached) { /* a damaged entry: away with it, and build */
        unlink(entry);
        if (!build_so(co->target, argv, c_path, so_path, entry, paths))
            return NULL;
        *handle = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    }
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
    DriverPipelines pl;
    if (!driver_pipeline_options(&ra.co, &pl))
        return EXIT_USAGE;
    Paths paths;
    driver_locate(&paths);
    /* every file this run reads: no output may replace one; except that
     * --save may update the checkpoint --params resumed from (it was read
     * in full before, and the save replaces it atomically) */
    if (ra.params && !(ra.save && driver_same_file(ra.params, ra.save)))
        driver_note_input(ra.params);
    for (int i = 0; i < ra.ninputs; i++)
        driver_note_input(ra.inputs[i].value);
    driver_note_input(ra.model);
    if (ra.save && !driver_check_output(ra.save))
        return EXIT_USAGE;
    if (ra.save && !driver_check_writable("--save", ra.save))
        return EXIT_ERROR;

    Diag diag;
    diag_init(&diag, stderr);
    diag.hold = true;
    Graph *train = NULL;
    Graph *g = driver_compile_to_tmp(&diag, ra.model, &ra.co, &paths, &pl, ra.co.train_required, &train);
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
    const nnrt_model_desc *d = driver_build_and_load(g, &ra.co, &paths, &handle);
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
    if (!m) { /* --target=cuda: no CUDA device, in the runtime's words */
        if (ra.co.target)
            driver_error("%s", nnrt_last_error());
        else
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
            fprintf(stderr, "nngc: loaded %d of %d params from %s%s\n", nloaded, d->nparams, ra.params,
                    nloaded < d->nparams ? " (the others keep their seeded init)" : "");
    }
    if (ra.verbose) {
        int bt = nnrt_blas_threads();
        fprintf(stderr, "nngc: matrix products: %s; %d BLAS thread%s\n", nnrt_gemm_kernels(), bt, bt == 1 ? "" : "s");
    }
    if (!read_inputs(d, &ra, arr) || !dims_from_args(d, &ra, dyn, known) || !infer_dims(d, arr, dyn, known))
        goto out;
    for (int i = 0; i < d->ninputs; i++)
        in[i] = arr[i].data;

    if (ra.grads_dir && !write_grads(d, m, &ra, dyn, (const void *const *)in, outputs))
        goto out;
    if (ra.grads_dir && ra.co.target && ra.co.stats) /* the grad call's executed counts (run_cuda.c) */
        driver_cuda_stats(handle, d->name, m, "grad");
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
    if (ra.co.target && ra.co.stats) /* the forward's executed copies (run_cuda.c) */
        driver_cuda_stats(handle, d->name, m, "forward");
    if (ra.save) {
        if (!driver_check_output(ra.save)) /* an import, known only now */
            goto out;
        if (nnrt_save_params(d, m, ra.save) != NNRT_OK) {
            driver_error("%s", nnrt_last_error());
            goto out;
        }
    }
    if (ra.out_dir) {
        if (!write_results(d, &ra, dyn, loss, outputs))
            goto out;
    } else {
        print_results(d, dyn, loss, outputs);
    }
    if (ra.predict && !print_predict(handle, d, m, dyn, (const void *const *)in))
        goto out;
    rc = 0;
out:
    for (int i = 0; i < d->ninputs; i++)
        nnrt_array_free(&arr[i]);
    if (m)
        d->destroy(m);
    /* The library is not dlclose'd: the descriptor's strings point into
     * it, and the process ends now anyway. */
    xfree_all();
    if (!driver_flush_stdout())
        rc = EXIT_ERROR;
    return rc;
}
