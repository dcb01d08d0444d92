/*
 * compile.c - the stages of one compilation, in order, in one function
 * (driver_compile), the way QBE's main.c lists its passes:
 *
 *   parse        source text -> AST (parser/)
 *   lower        AST -> the forward graph F (parser/lower.c)
 *   vectorize    --batch=B: F over B examples (passes/vectorize.c), so
 *                that T and its gradients are of the batched program
 *   clone        F -> the training graph T (ir/clone.c): the program is
 *                lowered once, T starts as an exact copy
 *   objective    on T, the lowerings that change what is optimized (the
 *                softmax approximations, passes/approx.c); F keeps the
 *                exact softmax for evaluation
 *   autodiff     T gets its backward pass and gradients (passes/autodiff.c)
 *   pipeline     the optimization passes, on F and on T (passes/pipeline.c)
 *   placement    which values live on the device, the host-device copies as
 *                IR ops (--target=cuda, backend/place.c; a no-op for C)
 *   emit         model.c + model.h from F and T; the backend plans the
 *                memory (its arena offsets) as part of this step
 *
 * Every diagnostic goes through one Diag, which holds them and prints them
 * in source order at the end of each stage (diag_flush): a stage that walks
 * a graph backwards (autodiff) still reports top to bottom.
 */
#include "driver.h"
#include "nnrt_approx.h"

#include <stdlib.h>
#include <string.h>

static bool has_trainable_param(const Graph *g) {
    for (int i = 0; i < g->nparams; i++)
        if (!g->params[i].frozen)
            return true;
    return false;
}

/* ---------------------------------------------------------------- stages */

static Graph *lower_stage(Diag *d, int file, const AstList *prog, const CompileOptions *o, const Paths *paths) {
    LowerOptions lo = {
        .dims = o->dims,
        .ndims = o->ndims,
        .dims_dynamic_ok = o->dims_dynamic_ok,
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
    Graph *g = lower_program(d, file, prog, &lo);
    if (!g || d->nerrors > 0)
        return NULL;
    if (o->have_opt)
        g->opt = o->opt;
    return g;
}

/* The lowerings that change the objective (passes/approx.c): on T each
 * softmax approximation becomes its method's loss; on F a sampling
 * method's cross_entropy is the exact one (evaluation). A method without
 * a lowering is an error, at its `with` or naming --softmax: reported on
 * T, or on F when there is no T but files are written (the same program:
 * the methods are rejected whether or not the model trains; only a dump
 * of F without -o shows them as written). */
static bool objective_stage(Diag *d, Graph *f, Graph *t, const CompileOptions *o) {
    /* the counts known now: --counts's (a bad file: none here, its error
     * when the backend reads it) or the vocabulary's */
    int64_t *file = NULL, n = o->nvocab_counts;
    const int64_t *counts = o->vocab_counts;
    if (o->counts) {
        counts = nnrt_counts_read(o->counts, &file, &n) == NNRT_OK ? file : NULL;
    }
    bool ok = !t || approx_lower(t, d, o->softmax, counts, n, true, true);
    ok = approx_lower(f, d, o->softmax, counts, n, false, !t) && ok;
    free(file);
    return ok;
}

/* Autodiff on T. required: a missing gradient rule is an error (the user
 * asked to train); otherwise the model compiles without training and the
 * errors are dropped (*t becomes NULL). */
static bool autodiff_stage(Diag *d, Graph **t, bool required) {
    if (required)
        return autodiff(*t, d) && (*t)->grads;
    /* not asked for: a quiet Diag of the same files, never printed */
    Diag quiet = *d;
    quiet.hold = true;
    quiet.held = NULL;
    quiet.nheld = quiet.capheld = 0;
    if (!autodiff(*t, &quiet) || !(*t)->grads)
        *t = NULL;
    return true;
}

/* Device placement: which values live on the accelerator. The C target
 * runs everything on the host, where every node already is (PLACE_HOST);
 * --target=cuda puts values on the device and makes the copies explicit
 * (backend/place.c). A --dump-ir of the last point shows the graph after
 * it (the pipeline's own dump of the last pass is held back for this). */
static void placement_stage(Graph *g, const CompileOptions *o, const char *dump, const char *what) {
    if (!o->target)
        return;
    place_device(g, o->stats ? stderr : NULL, what);
    if (dump && (!*dump || strcmp(dump, "all") == 0)) {
        ir_number(g);
        ir_print(g, stdout, "after placement");
    }
}

/* ---------------------------------------------------------------- the compilation */

Graph *driver_compile(Diag *d, const char *path, const CompileOptions *o, const Paths *paths,
                      const DriverPipelines *pl, const EmitTarget *out, Graph **train) {
    if (train)
        *train = NULL;
    bool want_train = (out && out->train_api) || o->train_required || o->dump_train;
    d->warnings = o->warnings;

    int file = diag_load_file(d, path, NO_LOC);
    AstList prog = {0};
    bool ok = file >= 0 && parse_file(d, file, &prog);
    diag_flush(d);
    if (!ok)
        return NULL;

    Graph *f = lower_stage(d, file, &prog, o, paths);
    diag_flush(d);
    if (!f)
        return NULL;
    for (int i = 0; i < d->nfiles; i++) /* the model and its imports */
        driver_note_input(d->files[i].path);

    if (o->batch > 1) {
        FILE *rep = o->report && strcmp(o->report, "batch") == 0 ? stderr : NULL;
        ok = vectorize(f, o->batch, o->batch_mean, d, rep);
        diag_flush(d);
        if (!ok)
            return NULL;
    }

    predict_note(f); /* the positions the program as written predicts (NAME_predict) */
    Graph *t = NULL;
    if (want_train && !o->no_train && f->loss && has_trainable_param(f))
        t = ir_clone(f);
    if (o->dump_train && !t) {
        driver_error("--dump-ir=%s: %s", o->dump_ir, o->no_train ? "--no-train was given"
                                                   : !f->loss   ? "the model has no loss to differentiate"
                                                                : "every param of the model is frozen");
        return NULL;
    }

    /* (a dump of F alone shows the methods as written; see objective_stage) */
    ok = !(t || out) || objective_stage(d, f, t, o);
    diag_flush(d);
    if (!ok)
        return NULL;

    /* the program names an optimizer, or the user asked for gradients */
    bool required = o->train_required || o->dump_train || f->opt.kind != OPT_NONE;
    if (t) {
        ok = autodiff_stage(d, &t, required);
        diag_flush(d);
        if (!ok)
            return NULL;
    }

    /* with a placement stage, the dump of the last point is the one after it */
    PipelineOptions pf = pl->forward, pt = pl->train;
    pf.target = pt.target = o->target && strcmp(o->target, "c") != 0 ? o->target : NULL;
    if (o->target && pf.dump && !*pf.dump)
        pf.dump = NULL;
    if (o->target && pt.dump && !*pt.dump)
        pt.dump = NULL;
    if (!run_pipeline(f, &pf) || (t && !run_pipeline(t, &pt)))
        return NULL;

    placement_stage(f, o, pl->forward.dump, "forward");
    if (t)
        placement_stage(t, o, pl->train.dump, "train");
    fflush(stdout); /* the dumps */

    if (out && !driver_emit(d, f, t, out, o))
        return NULL;
    if (train)
        *train = t;
    return f;
}

bool driver_emit(Diag *d, Graph *g, Graph *train, const EmitTarget *out, const CompileOptions *o) {
    char *c_text = NULL, *h_text = NULL;
    size_t c_len = 0, h_len = 0;
    FILE *c = open_memstream(&c_text, &c_len), *h = open_memstream(&h_text, &h_len);
    EmitOptions eo = {.source_name = out->source_name, .line_markers = !o->no_line, .stats = o->stats,
                      .counts_path = o->counts, .target = o->target};
    int64_t *counts = NULL;
    if (o->counts && nnrt_counts_read(o->counts, &counts, &eo.ncounts) != NNRT_OK) {
        driver_error("--counts: %s", nnrt_last_error());
        if (c)
            fclose(c);
        if (h)
            fclose(h);
        free(c_text);
        free(h_text);
        return false;
    }
    eo.counts = counts;
    bool ok = c && h && backend_emit(d, g, train, c, h, out->header_name, &eo);
    free(counts);
    diag_flush(d);
    if (!c || !h)
        driver_error("out of memory");
    if (c)
        fclose(c);
    if (h)
        fclose(h);
    if (ok)
        ok = driver_write_pair(out->h_path, h_text, h_len, out->c_path, c_text, c_len);
    free(c_text);
    free(h_text);
    return ok;
}
