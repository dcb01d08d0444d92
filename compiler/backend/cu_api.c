/*
 * cu_api.c - what --target=cuda adds to the shared API (api.c, context.c,
 * train.c, forward.c) through the Target's hooks, and NAME_update on the
 * device.
 *
 * Where the params live. The device copy (m->dparams, and Adam's or
 * Adagrad's state in m->dopt) is the one forward, grad and update use; it
 * stays on the device between calls. The host copy (m->params, m->opt)
 * exists for the API that hands out host pointers (NAME_param, init,
 * load, save, the descriptor's param and state data). Two flags say which
 * copy is current:
 *
 *   host_ok   m->params holds the current params (else the device's are
 *             newer: NAME_update ran); handing out a host pointer
 *             downloads them first, once
 *   dev_ok    m->dparams holds them (else the host's are newer: init,
 *             load, or a host pointer was handed out and may have been
 *             written); the next call uploads them first, once
 *
 * Gradients likewise: a context's device gradients (m->dgrads) are what
 * NAME_update reads; NAME_grad_data downloads them into the host buffer
 * when asked (grads_host), and a host buffer that may have been written
 * (grad_data, grad_accumulate) is uploaded before the next update
 * (grads_set). A train step (grad, then update) copies no gradient.
 */
#include "backend.h"

static bool is_train(const Ctx *x) { return x->train != NULL; }

/*
 * Sparse gradients on the device. A param whose gradient is a top-level
 * sparse_scatter_add of rows at device ids (a lookup table, the output
 * rows of neg, hier, ...: cu_sparse_grad) keeps, per context, the ids of
 * the rows the last call wrote: dtouchedI (device, the call's ids with
 * their repeats, copied there by the scatter's code) and ntouchedI (host:
 * how many; -1 when any row may be nonzero). Every row not listed is zero.
 * The next call zeroes only the listed rows (nnrt_cuda_zero_rows) before
 * its scatter, and NAME_update runs SGD (clearing the rows it applies: no
 * row left for the next call to zero) or Adagrad on the listed rows alone
 * (a row listed twice is updated once: the runtime's _ids kernels skip an
 * entry whose id came earlier in the list). Dense stays: Adam (every
 * moment decays), and gradients written on the host (NAME_grad_data,
 * NAME_grad_accumulate, NAME_ctx_clear: uploaded whole, then ntouchedI =
 * -1: the next call zeroes the whole table, the update visits every row),
 * and a list that may be as long as the table has rows (hier's paths of
 * every position of a batch: the root in each): the whole table is fewer
 * bytes to zero than the rows of such a list.
 */
bool cu_sparse_grad(Ctx *t, int i)
{
    const Node *v = t->g->grads ? t->g->grads[i] : NULL;
    return v && v->op == OP_SPARSESCATTER && info(v)->grad_of == i && !ir_is_int_scalar(v->in[1]) &&
           v->shape.rank >= 1 && v->shape.d[0].c > 0 &&
           shape_max_count(t->g, &v->in[1]->shape) < v->shape.d[0].c; /* a list shorter than the table */
}

static bool any_sparse(Ctx *x)
{
    for (int i = 0; is_train(x) && i < x->g->nparams; i++)
        if (cu_sparse_grad(x->train, i))
            return true;
    return false;
}

/* Entries of sparse gradient i's list: one call's ids, repeats included. */
static int64_t touched_ids(Ctx *t, int i)
{
    const Node *ids = t->g->grads[i]->in[1];
    int64_t n = shape_max_count(t->g, &ids->shape);
    return n > 0 ? n : 1;
}

/* Bytes of the pinned staging buffer: the larger of one call's uploads
 * and its downloads, each rounded up to 16 as the runtime does. */
static int64_t staging_bytes(Ctx *x)
{
    int64_t best = 64;
    for (Ctx *c = x; c; c = c == x ? x->train : NULL) {
        int64_t up = 0, down = 0;
        for (int i = 0; i < c->nall; i++) {
            const Node *n = c->all[i];
            int64_t b = (shape_max_count(c->g, &n->shape) * 4 + 15) / 16 * 16;
            if (n->op == OP_TODEVICE)
                up += b;
            if (n->op == OP_TOHOST)
                down += b;
        }
        if (up > best)
            best = up;
        if (down > best)
            best = down;
    }
    return best;
}

/* The helpers the hooks call, after the structs. */
void cu_api_prelude(Ctx *x)
{
    const char *M = x->g->model;
    bool t = is_train(x);
    craw(x, "/* The pinned staging buffer of a context: the larger of a call's inputs and its results. */\n");
    craw(x, "#define %s_STAGING_BYTES ((size_t)%" PRId64 ")\n", M, staging_bytes(x));
    /* the tables (api.c) define these after the prelude: the same values */
    int kinds = t && x->train->g->opt.kind == OPT_ADAM ? 2 : t && x->train->g->opt.kind == OPT_ADAGRAD ? 1 : 0;
    craw(x, "#define %s_DPARAMS ((size_t)%" PRId64 " * sizeof(float))\n", M,
         x->params_floats ? x->params_floats : ALIGN_FLOATS);
    craw(x, "#define %s_DARENA ((size_t)%" PRId64 " * sizeof(float))\n", M,
         x->arena_floats ? x->arena_floats : ALIGN_FLOATS);
    if (t)
        craw(x, "#define %s_DOPT ((size_t)%" PRId64 " * sizeof(float))\n", M,
             kinds && x->params_floats ? kinds * x->params_floats : ALIGN_FLOATS);
    craw(x, "\n");
    craw(x, "/* The params on the host, downloaded if the device has newer ones; the\n"
            " * device's count as stale from now on (the caller may write these). */\n");
    craw(x, "static int %s_params_host(%s *m)\n{\n    if (!m->host_ok) {\n", M, M);
    craw(x, "        int rc = nnrt_cuda_get(m->params, m->dparams, %s_DPARAMS);\n", M);
    if (t)
        craw(x, "        if (rc == NNRT_OK)\n            rc = nnrt_cuda_get(m->opt, m->dopt, %s_DOPT);\n", M);
    craw(x, "        if (rc != NNRT_OK)\n            return rc;\n        m->host_ok = 1;\n    }\n");
    craw(x, "    m->dev_ok = 0;\n    return NNRT_OK;\n}\n\n");
    craw(x, "/* The params on the device, uploaded if the host has newer ones. */\n");
    craw(x, "static int %s_params_dev(%s *m)\n{\n    if (!m->dev_ok) {\n", M, M);
    craw(x, "        int rc = nnrt_cuda_put(m->dparams, m->params, %s_DPARAMS);\n", M);
    if (t)
        craw(x, "        if (rc == NNRT_OK)\n            rc = nnrt_cuda_put(m->dopt, m->opt, %s_DOPT);\n", M);
    craw(x, "        if (rc != NNRT_OK)\n            return rc;\n        m->dev_ok = 1;\n    }\n");
    cu_approx_api(x, 1);
    craw(x, "    return NNRT_OK;\n}\n\n");
    craw(x, "/* The device side of a new context (and of its model, the first time):\n"
            " * NNRT_ERR_DEVICE without a CUDA device. */\n");
    craw(x, "static int %s_ctx_dev(%s_ctx *c)\n{\n    %s *m = c->model;\n    int rc = NNRT_OK;\n", M, M, M);
    craw(x, "    if (!m->dparams)\n        rc = nnrt_cuda_alloc((void **)&m->dparams, %s_DPARAMS);\n", M);
    if (t)
        craw(x, "    if (rc == NNRT_OK && !m->dopt)\n        rc = nnrt_cuda_alloc((void **)&m->dopt, %s_DOPT);\n",
             M);
    craw(x, "    if (rc == NNRT_OK)\n        rc = nnrt_cuda_ctx_create(&c->cu, %s_DARENA, %s_STAGING_BYTES);\n", M, M);
    craw(x, "    if (rc == NNRT_OK)\n        c->darena = (float *)nnrt_cuda_arena(c->cu);\n");
    if (t)
        craw(x, "    if (rc == NNRT_OK)\n        rc = nnrt_cuda_alloc((void **)&c->dgrads, %s_DPARAMS);\n", M);
    for (int i = 0; t && i < x->g->nparams; i++)
        if (cu_sparse_grad(x->train, i))
            craw(x, "    if (rc == NNRT_OK) /* %s's rows */\n        rc = nnrt_cuda_alloc((void **)&c->dtouched%d, (size_t)%" PRId64
                    " * 4);\n", x->g->params[i].name, i, touched_ids(x->train, i));
    craw(x, "    return rc;\n}\n\n");
    craw(x, "/* What the last call in m's built-in context did (copies, launches, GEMMs):\n"
            " * not in %s.h, for tests and benchmarks that declare it. */\n", M);
    craw(x, "extern \"C\" nnrt_cuda_stats %s_cuda_stats(const void *model);\n", M);
    craw(x, "nnrt_cuda_stats %s_cuda_stats(const void *model)\n{\n", M);
    craw(x, "    return nnrt_cuda_get_stats(((const struct %s *)model)->ctx->cu);\n}\n\n", M);
    if (!t)
        return;
    craw(x, "/* A context's gradients on the host, downloaded if the device has newer\n"
            " * ones; uploaded again before the next update (the caller may write them). */\n");
    craw(x, "static int %s_grads_host(%s_ctx *c)\n{\n    if (!c->grads_host) {\n", M, M);
    craw(x, "        int rc = nnrt_cuda_get(c->grads, c->dgrads, %s_DPARAMS);\n", M);
    craw(x, "        if (rc != NNRT_OK)\n            return rc;\n        c->grads_host = 1;\n    }\n");
    craw(x, "    c->grads_set = 1;\n    return NNRT_OK;\n}\n\n");
}

/* The end of a call: the gradients into m->dgrads (grad), then every
 * to_host copy and one synchronisation (nnrt_cuda_end). */
static void call_end(Ctx *x)
{
    Graph *g = x->g;
    for (int i = 0; g->grads && i < g->nparams; i++) {
        char *bytes = xsprintf("(size_t)%s * 4", int_lit(shape_max_count(g, &g->params[i].shape)));
        if (g->grads[i] && info(g->grads[i])->grad_of == i) {
            cline(x, "(void)%s; /* %s: computed in place */", vname(g->grads[i]), g->params[i].name);
            continue;
        }
        cu_count_call(x, g->grads[i] ? "nnrt_cuda_copy" : "nnrt_cuda_zero");
        if (!g->grads[i])
            cu_count_bytes(x, shape_max_count(g, &g->params[i].shape) * 4);
        if (g->grads[i])
            cline(x, "if ((rc = nnrt_cuda_copy(m->cu, m->dgrads + %" PRId64 ", %s, %s)) != NNRT_OK) /* %s */",
                  x->param_off[i], vname(g->grads[i]), bytes, g->params[i].name);
        else
            cline(x, "if ((rc = nnrt_cuda_zero(m->cu, m->dgrads + %" PRId64 ", %s)) != NNRT_OK) /* %s: zero */",
                  x->param_off[i], bytes, g->params[i].name);
        cline(x, "    return rc;");
    }
    int n = 0;
    for (int i = 0; i < x->nall; i++)
        n += x->all[i]->op == OP_TOHOST;
    cline(x, "{ /* the results, and one wait for the stream */");
    x->indent++;
    if (n) {
        cline(x, "const nnrt_cuda_xfer xf[%d] = {", n);
        for (int i = 0; i < x->nall; i++) {
            const Node *t = x->all[i];
            if (t->op == OP_TOHOST)
                cline(x, "    {%s, (void *)%s, (size_t)(%s) * 4},", vname(t), vname(t->in[0]), count_c(x, &t->shape, 0));
        }
        cline(x, "};");
    }
    cline(x, "if ((rc = nnrt_cuda_end(m->cu, %s, %d)) != NNRT_OK)", n ? "xf" : "NULL", n);
    cline(x, "    return rc;");
    x->indent--;
    cline(x, "}");
    cu_count_report(x, n + 1); /* the results and the error word */
}

void cu_hook(Ctx *x, Hook where)
{
    const char *M = x->g->model;
    bool t = is_train(x);
    switch (where) {
    case HOOK_MODEL_FIELDS:
        craw(x, "    float *dparams; /* the params on the device (cu_api.c: which copy is current) */\n");
        if (t)
            craw(x, "    float *dopt;    /* the optimizer state on the device */\n");
        craw(x, "    int host_ok, dev_ok; /* params and opt hold the current values; dparams and dopt do */\n");
        cu_approx_api(x, 0);
        break;
    case HOOK_CTX_FIELDS:
        craw(x, "    nnrt_cuda_ctx *cu; /* stream, cuBLAS, the device arena, pinned staging */\n");
        craw(x, "    float *darena;  /* the device arena: every value of a call, at nngc's offsets */\n");
        if (t) {
            craw(x, "    float *dgrads;  /* d loss / d param on the device */\n");
            craw(x, "    int grads_host, grads_set; /* grads is current; grads is newer than dgrads */\n");
            for (int i = 0; i < x->g->nparams; i++)
                if (cu_sparse_grad(x->train, i))
                    craw(x, "    int32_t *dtouched%d; int64_t ntouched%d; /* ids of the rows of d loss / d %s the last call "
                            "wrote (device); -1: any row */\n",
                         i, i, x->g->params[i].name);
        }
        break;
    case HOOK_CTX_CREATE:
        craw(x, "    if (c && c->arena && %s_ctx_dev(c) != NNRT_OK) {\n", M);
        craw(x, "        %s_ctx_destroy(c); /* nnrt_last_error() says why */\n        return NULL;\n    }\n", M);
        break;
    case HOOK_CTX_DESTROY:
        craw(x, "    if (c->cu)\n        nnrt_cuda_ctx_destroy(c->cu);\n");
        if (t)
            craw(x, "    if (c->dgrads)\n        nnrt_cuda_free(c->dgrads);\n");
        for (int i = 0; t && i < x->g->nparams; i++)
            if (cu_sparse_grad(x->train, i))
                craw(x, "    if (c->dtouched%d)\n        nnrt_cuda_free(c->dtouched%d);\n", i, i);
        break;
    case HOOK_DESTROY:
        craw(x, "    if (m->dparams)\n        nnrt_cuda_free(m->dparams);\n");
        if (t)
            craw(x, "    if (m->dopt)\n        nnrt_cuda_free(m->dopt);\n");
        cu_approx_api(x, 2);
        break;
    case HOOK_PARAMS_SET:
        craw(x, "    m->host_ok = 1; /* written below; uploaded by the next call */\n    m->dev_ok = 0;\n");
        break;
    case HOOK_PARAMS_HOST:
        craw(x, "    if (%s_params_host((struct %s *)m) != NNRT_OK)\n        return NULL;\n", M, M);
        break;
    case HOOK_CTX_CLEAR:
        craw(x, "    c->grads_host = 1;\n    c->grads_set = 1;\n");
        if (any_sparse(x)) { /* zeros on the device too (on the stream): no row for the first call to zero */
            craw(x, "    int zeroed = c->cu && nnrt_cuda_zero(c->cu, c->dgrads, %s_DPARAMS) == NNRT_OK;\n", M);
            for (int i = 0; i < x->g->nparams; i++)
                if (cu_sparse_grad(x->train, i))
                    craw(x, "    c->ntouched%d = zeroed ? 0 : -1;\n", i);
        }
        break;
    case HOOK_GRADS_HOST:
        craw(x, "    if (%s_grads_host(c) != NNRT_OK)\n        return NULL;\n", M);
        break;
    case HOOK_ACCUMULATE:
        craw(x, "    {\n        int rc = %s_grads_host(dst);\n        if (rc == NNRT_OK)\n", M);
        craw(x, "            rc = %s_grads_host(src);\n        if (rc != NNRT_OK)\n            return rc;\n    }\n", M);
        break;
    case HOOK_CALL_BEGIN:
        cline(x, "int rc = %s_params_dev(m->model);", M);
        cline(x, "if (rc != NNRT_OK)");
        cline(x, "    return rc;");
        if (x->g->grads)
            cline(x, "m->grads_host = m->grads_set = 0; /* new gradients on the device */");
        cline(x, "nnrt_cuda_begin(m->cu);");
        cu_count_begin(x);
        break;
    case HOOK_CALL_END:
        call_end(x);
        break;
    }
}

/* NAME_update on the device: runtime/cuda's optimizer kernels on m->dparams,
 * m->dopt and c->dgrads, bit for bit runtime/optim.c's rules. */
void cu_emit_update(Ctx *x)
{
    Graph *g = x->g, *t = x->train->g;
    const char *M = g->model;
    const OptimizerDecl *o = &t->opt;
    craw(x, "/* One step of %s on the device, from the gradients in c, a context of m. */\n",
         comment_safe(opt_text(o)));
    craw(x, "int %s_update(%s *m, %s_ctx *c)\n{\n", M, M, M);
    x->indent = 1;
    cline(x, "if (!m || !c || c->model != m)");
    cline(x, "    return nnrt_error(NNRT_ERR_ARG, \"%s_update: needs a model and one of its contexts\");", M);
    emit_lr_check(x);
    cline(x, "int rc = %s_params_dev(m);", M);
    cline(x, "if (rc == NNRT_OK && c->grads_set) { /* written on the host since: dense from now on */");
    cline(x, "    rc = nnrt_cuda_put(c->dgrads, c->grads, %s_PARAMS_BYTES);", M);
    for (int i = 0; i < g->nparams; i++)
        if (cu_sparse_grad(x->train, i))
            cline(x, "    c->ntouched%d = -1;", i);
    cline(x, "}");
    cline(x, "if (rc != NNRT_OK)");
    cline(x, "    return rc;");
    cline(x, "c->grads_set = 0;");
    if (o->kind == OPT_ADAM)
        cline(x, "m->opt_step += 1.0f;");
    cline(x, "nnrt_cuda_begin(c->cu);");
    for (int i = 0; i < g->nparams; i++) {
        if (t->params[i].frozen || !t->grads || !t->grads[i])
            continue;
        int64_t off = x->param_off[i], count = shape_max_count(g, &g->params[i].shape);
        char *cnt = int_lit(count);
        char *w = xsprintf("m->dparams + %" PRId64, off), *gr = xsprintf("c->dgrads + %" PRId64, off);
        const char *name = g->params[i].name;
        if (o->kind != OPT_ADAM && cu_sparse_grad(x->train, i)) { /* the rows the gradient lists */
            int64_t rows = g->params[i].shape.d[0].c;
            char *rc_ = xsprintf("%s, %s, c->dtouched%d, c->ntouched%d", int_lit(rows), int_lit(count / rows), i, i);
            cline(x, "if (c->ntouched%d >= 0) {", i);
            if (o->kind == OPT_ADAGRAD) {
                cline(x, "    rc = rc ? rc : nnrt_cuda_adagrad_update_ids(c->cu, %s, %s, m->dopt + %" PRId64
                         ", %s, m->lr, %s); /* %s: its rows */",
                      w, gr, off, rc_, double_lit(o->eps), name);
            } else {
                cline(x, "    rc = rc ? rc : nnrt_cuda_sgd_update_ids_clear(c->cu, %s, %s, %s, (float)m->lr); /* %s: its "
                         "rows, cleared as applied */",
                      w, gr, rc_, name);
                cline(x, "    c->ntouched%d = rc ? c->ntouched%d : 0; /* no row left to zero */", i, i);
                cline(x, "    c->grads_host = 0;");
            }
            cline(x, "} else {");
            x->indent++;
        }
        if (o->kind == OPT_ADAM)
            cline(x, "rc = rc ? rc : nnrt_cuda_adam_update(c->cu, %s, %s, m->dopt + %" PRId64 ", m->dopt + %" PRId64
                     ", %s, m->lr, %s, %s, %s, (int64_t)m->opt_step); /* %s */",
                  w, gr, off, x->params_floats + off, cnt, double_lit(o->beta1), double_lit(o->beta2),
                  double_lit(o->eps), name);
        else if (o->kind == OPT_ADAGRAD)
            cline(x, "rc = rc ? rc : nnrt_cuda_adagrad_update(c->cu, %s, %s, m->dopt + %" PRId64 ", %s, m->lr, %s); /* %s */",
                  w, gr, off, cnt, double_lit(o->eps), name);
        else
            cline(x, "rc = rc ? rc : nnrt_cuda_sgd_update(c->cu, %s, %s, %s, (float)m->lr); /* %s */", w, gr, cnt, name);
        if (o->kind != OPT_ADAM && cu_sparse_grad(x->train, i)) {
            x->indent--;
            cline(x, "}");
        }
    }
    cline(x, "if (rc == NNRT_OK)");
    cline(x, "    rc = nnrt_cuda_end(c->cu, NULL, 0);");
    cline(x, "if (rc != NNRT_OK)");
    cline(x, "    return rc;");
    cline(x, "m->host_ok = 0; /* the device has the new params */");
    end_function_ok(x, "update");
}
