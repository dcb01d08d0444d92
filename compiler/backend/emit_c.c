/*
 * emit_c.c - the C backend's entry point: walks both graphs (forward and
 * train), checks them, plans their memory, then writes model.h and model.c
 * (the file list and the layout of the generated code are in backend.h).
 */
#include "backend.h"


static char *c_name_of(const char *header_name, const char *ext)
{
    size_t n = strlen(header_name);
    if (n > 2 && strcmp(header_name + n - 2, ".h") == 0)
        return xsprintf("%.*s%s", (int)(n - 2), header_name, ext);
    return xsprintf("%s%s", header_name, ext);
}

/* The targets: a new one adds its Target (and its per-op files) here. */
static const Target *const targets[] = {&target_c, &target_cuda, NULL};

static const Target *find_target(const char *name)
{
    for (int i = 0; targets[i]; i++)
        if (strcmp(targets[i]->name, name) == 0)
            return targets[i];
    return NULL;
}

static const char *target_names(void)
{
    char *s = NULL;
    for (int i = 0; targets[i]; i++)
        s = s ? xsprintf("%s, %s", s, targets[i]->name) : xstrdup(targets[i]->name);
    return s;
}

/* Walks, checks and plans g and train (may be NULL) in x and *tctx: what
 * every target does before writing code. False after an error (reported). */
static bool prepare(Ctx *x, Ctx *tctx, Diag *d, Graph *g, Graph *train, const EmitOptions *opt)
{
    Ctx *t = NULL;
    x->g = g;
    x->diag = d;
    x->ok = true;
    x->target = find_target(opt && opt->target ? opt->target : "c");
    if (!x->target) {
        diag_error(d, NO_LOC, "unknown target '%s' (targets: %s)", opt->target, target_names());
        return x->ok = false;
    }
    x->src_name = opt && opt->source_name ? opt->source_name : g->source_path ? g->source_path : "model.nn";
    x->line_markers = opt ? opt->line_markers : true;
    if (opt) {
        x->counts = opt->counts;
        x->ncounts = opt->ncounts;
        x->counts_path = opt->counts_path;
        x->stats = opt->stats ? (opt->stats_out ? opt->stats_out : stderr) : NULL;
    }

    ir_number(g);
    collect_block(x, &g->top);
    count_uses(x);
    check_graph(x);
    if (train) {
        /* the train graph: its own walk and memory plan, the same params */
        NN_ASSERT(train != g && train->nparams == g->nparams && train->grads);
        *tctx = *x;
        t = tctx;
        t->g = train;
        t->all = NULL;
        t->nall = t->capall = 0;
        x->train = t;
        ir_number(train);
        collect_block(t, &train->top);
        count_uses(t);
        /* the train graph holds the forward ops too: checked only when the
         * forward graph passed, so that each error is reported once */
        if (x->ok)
            check_graph(t);
        x->ok = x->ok && t->ok;
    }
    c_approx_check(x);
    if (!x->ok)
        return false;
    place_loops(x);
    plan_memory(x);
    if (t) {
        place_grads(t); /* gradients in m->grads take no arena */
        place_loops(t);
        plan_memory(t);
        x->ok = x->ok && t->ok;
        for (int i = 0; x->ok && i < g->nparams; i++)
            NN_ASSERT(t->param_off[i] == x->param_off[i]);
    }
    return x->ok;
}

/* Forgets what the backend kept in the graphs' nodes. */
static void finish(Ctx *x)
{
    for (int i = 0; i < x->nall; i++)
        x->all[i]->aux = NULL;
    for (int i = 0; x->train && i < x->train->nall; i++)
        x->train->all[i]->aux = NULL;
}

static void fill_stats(const Ctx *x, MemStats *s)
{
    const MemPlan *mp = &x->plan;
    memset(s, 0, sizeof *s);
    s->params_bytes = x->params_floats * (int64_t)sizeof(float);
    s->scratch_bytes = x->arena_floats * (int64_t)sizeof(float);
    s->unshared_bytes = mp->unshared_floats * (int64_t)sizeof(float);
    s->peak_bytes = mp->peak_floats * (int64_t)sizeof(float);
    s->nregions = mp->nbufs;
    s->regions = xalloc(sizeof(MemRegion) * (size_t)(mp->nbufs + 1));
    for (int i = 0; i < mp->nbufs; i++) {
        const MemBuf *b = &mp->bufs[i];
        s->regions[i] = (MemRegion){b->off * (int64_t)sizeof(float), b->len * (int64_t)sizeof(float), b->start, b->end};
    }
}

bool backend_plan(Diag *d, Graph *g, Graph *train, MemStats *fwd, MemStats *trn)
{
    NN_ASSERT(d && g && fwd && (!train || trn));
    Ctx ctx = {0}, tctx = {0};
    bool ok = prepare(&ctx, &tctx, d, g, train, NULL);
    if (ok) {
        fill_stats(&ctx, fwd);
        if (train)
            fill_stats(&tctx, trn);
    }
    finish(&ctx);
    return ok;
}

bool backend_emit(Diag *d, Graph *g, Graph *train, FILE *c_out, FILE *h_out, const char *header_name,
                  const EmitOptions *opt)
{
    NN_ASSERT(d && g && c_out && h_out && header_name);
    Ctx ctx = {0}, tctx = {0}, *x = &ctx, *t = train ? &tctx : NULL;
    x->c = c_out;
    x->h = h_out;
    x->header_name = header_name;
    x->c_name = c_name_of(header_name, opt && opt->target && strcmp(opt->target, "cuda") == 0 ? ".cu" : ".c");
    if (!prepare(x, &tctx, d, g, train, opt))
        goto out;
    if (opt && opt->stats) {
        FILE *so = opt->stats_out ? opt->stats_out : stderr;
        plan_report(x, so, xsprintf("%s_forward", g->model));
        if (t)
            plan_report(t, so, xsprintf("%s_grad", g->model));
    }
    /* one arena serves both entry points */
    if (t && t->arena_floats > x->arena_floats)
        x->arena_floats = t->arena_floats;
    if (!x->ok)
        goto out;

    emit_header(x);

    craw(x, "/*\n * %s - generated by nngc %s from %s; do not edit.\n */\n", comment_safe(x->c_name), NNGC_VERSION,
         comment_safe(x->src_name));
    /* the model's header (the application API, nngrt.h), then the target's runtime ABI */
    craw(x, "#include \"%s\"\n#include \"%s\"\n\n#include <math.h>\n#include <stdlib.h>\n#include <string.h>\n\n",
         c_escape(header_name, false), x->target->abi_header);
    if (c_approx_header(x)) /* the structures' types, the code functions (c_approx.c) */
        craw(x, "#include \"nnrt_approx.h\"\n\n");
    emit_model_struct(x);
    x->target->emit_prelude(x);
    emit_tables(x);
    if (t) {
        int kinds = train->opt.kind == OPT_ADAM ? 2 : train->opt.kind == OPT_ADAGRAD ? 1 : 0;
        craw(x, "#define %s_OPT_BYTES ((size_t)%" PRId64 " * sizeof(float))\n\n", g->model,
             kinds && x->params_floats ? kinds * x->params_floats : ALIGN_FLOATS);
        emit_state_tables(x);
    }
    emit_forward(x, false);
    if (t) {
        t->c_lines = x->c_lines;
        emit_forward(t, true);
        x->c_lines = t->c_lines;
        x->ok = x->ok && t->ok;
    }
    emit_api(x);

    fflush(c_out);
    fflush(h_out);
    if (ferror(c_out) || ferror(h_out)) {
        emit_error(x, NO_LOC, "cannot write the generated C files");
    }
out:
    finish(x);
    return x->ok;
}
