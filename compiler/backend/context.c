/*
 * context.c - contexts (struct NAME_ctx): one caller's scratch, apart from
 * what threads share (the params and the optimizer state, in struct NAME),
 * so that any number of threads can run forward and grad on one model at
 * once, each with its own context (docs/API.md, "Threads").
 *
 * A context holds the arena (every value of forward and grad, so the
 * outputs too), the gradient buffer and the touched-row lists of sparse
 * gradients. A model owns one built-in context: NAME_forward, NAME_grad
 * and NAME_train_step run in it, as they did before contexts existed.
 * Gradients of two contexts add up (NAME_grad_accumulate), lists of
 * touched rows included, so that a caller can sum the gradients of several
 * threads into one context before one NAME_update.
 */
#include "backend.h"

/* Room for param i's list of touched rows: one call's ids (with repeats),
 * or after NAME_grad_accumulate the union of several lists, each row once,
 * which is at most the table's rows. */
int64_t touched_cap(Ctx *t, int i)
{
    int64_t rows = t->g->params[i].shape.d[0].c, cap = sparse_grad_cap(t, i);
    return cap > rows ? cap : rows;
}

static bool any_sparse(Ctx *x)
{
    for (int i = 0; x->train && i < x->g->nparams; i++)
        if (sparse_grad(x->train, i))
            return true;
    return false;
}

/* The row helpers of NAME_grad_accumulate: sorting a list of rows and
 * dropping repeats, then adding a table's touched rows into another's. */
static void emit_row_helpers(Ctx *x)
{
    const char *M = x->g->model;
    craw(x, "static int %s_cmp_row(const void *a, const void *b)\n{\n", M);
    craw(x, "    int32_t p = *(const int32_t *)a, q = *(const int32_t *)b;\n    return (p > q) - (p < q);\n}\n\n");
    craw(x, "/* Sorts rows[0..*n) and drops repeats. */\n");
    craw(x, "static void %s_unique_rows(int32_t *rows, int64_t *n)\n{\n", M);
    craw(x, "    int64_t k = 0;\n");
    craw(x, "    qsort(rows, (size_t)*n, sizeof *rows, %s_cmp_row);\n", M);
    craw(x, "    for (int64_t i = 0; i < *n; i++)\n");
    craw(x, "        if (k == 0 || rows[i] != rows[k - 1])\n            rows[k++] = rows[i];\n");
    craw(x, "    *n = k;\n}\n\n");
    craw(x, "/* dg += sg on the rows sg's list holds (its other rows are zero); dg's\n");
    craw(x, " * list becomes the union of both, each row once. */\n");
    craw(x, "static void %s_add_rows(float *dg, int32_t *drows, int64_t *dn, const float *sg, int32_t *srows, int64_t *sn,\n",
         M);
    craw(x, "                        int64_t cols)\n{\n");
    craw(x, "    %s_unique_rows(drows, dn);\n    %s_unique_rows(srows, sn);\n", M, M);
    craw(x, "    const int64_t n0 = *dn;\n");
    craw(x, "    for (int64_t k = 0; k < *sn; k++) {\n");
    craw(x, "        const int32_t r = srows[k];\n");
    craw(x, "        for (int64_t j = 0; j < cols; j++)\n");
    craw(x, "            dg[r * cols + j] += sg[r * cols + j];\n");
    craw(x, "        if (!bsearch(&r, drows, (size_t)n0, sizeof *drows, %s_cmp_row))\n", M);
    craw(x, "            drows[(*dn)++] = r;\n    }\n}\n\n");
}

/* NAME_grad_accumulate: every gradient of src added into dst's. */
static void emit_accumulate(Ctx *x)
{
    Graph *g = x->g, *t = x->train->g;
    const char *M = g->model;
    craw(x, "int %s_grad_accumulate(%s_ctx *dst, %s_ctx *src)\n{\n", M, M, M);
    x->indent = 1;
    cline(x, "if (!dst || !src || dst == src || dst->model != src->model)");
    cline(x, "    return nnrt_error(NNRT_ERR_ARG, \"%s_grad_accumulate: needs two contexts of one model\");", M);
    target_hook(x, HOOK_ACCUMULATE);
    for (int i = 0; i < g->nparams; i++) {
        if (!t->grads || !t->grads[i]) /* always zero */
            continue;
        const ParamDecl *p = &g->params[i];
        int64_t off = x->param_off[i], cnt = shape_max_count(g, &p->shape);
        if (sparse_grad(x->train, i)) {
            int64_t rows = p->shape.d[0].c;
            cline(x, "%s_add_rows(dst->grads + %" PRId64 ", dst->touched%d, &dst->ntouched%d, src->grads + %" PRId64
                     ", src->touched%d, &src->ntouched%d, %s); /* %s: the rows src touched */",
                  M, off, i, i, off, i, i, int_lit(cnt / (rows ? rows : 1)), p->name);
        } else {
            cline(x, "for (int64_t k = 0; k < %s; k++) /* %s */", int_lit(cnt), p->name);
            cline(x, "    dst->grads[%" PRId64 " + k] += src->grads[%" PRId64 " + k];", off, off);
        }
    }
    end_function_ok(x, "grad_accumulate");
}

/* NAME_ctx_grad_rows(c, i, &rows): the list of rows sparse gradient i
 * touched (every other row is zero) and its length; -1 for a dense one. */
static void emit_grad_rows(Ctx *x)
{
    Graph *g = x->g;
    const char *M = g->model;
    craw(x, "int64_t %s_ctx_grad_rows(%s_ctx *c, int i, const int32_t **rows)\n{\n", M, M);
    craw(x, "    if (rows)\n        *rows = NULL;\n");
    if (!any_sparse(x)) {
        craw(x, "    (void)c;\n    (void)i;\n    return -1;\n}\n");
    } else {
        craw(x, "    if (!c)\n        return -1;\n    switch (i) {\n");
        for (int i = 0; i < g->nparams; i++)
            if (sparse_grad(x->train, i))
                craw(x, "    case %d: /* %s */\n        if (rows)\n            *rows = c->touched%d;\n"
                        "        return c->ntouched%d;\n", i, g->params[i].name, i, i);
        craw(x, "    default:\n        return -1;\n    }\n}\n");
    }
    craw(x, "/* end function %s_ctx_grad_rows */\n\n", M);
}

/* NAME_ctx_create/destroy (and _clear), NAME_forward and, with training,
 * NAME_grad, NAME_ctx_grad_data, NAME_grad_data, NAME_grad_accumulate:
 * everything about contexts but the bodies of NAME_ctx_forward and
 * NAME_ctx_grad (forward.c) and NAME_update (train.c). */
void emit_ctx_api(Ctx *x)
{
    Graph *g = x->g;
    const char *M = g->model;
    bool train = x->train != NULL;
    if (train) {
        craw(x, "/* No gradient, no touched row. */\n");
        craw(x, "static void %s_ctx_clear(%s_ctx *c)\n{\n    memset(c->grads, 0, %s_PARAMS_BYTES);\n", M, M, M);
        for (int i = 0; i < g->nparams; i++)
            if (sparse_grad(x->train, i))
                craw(x, "    c->ntouched%d = 0;\n", i);
        target_hook(x, HOOK_CTX_CLEAR);
        craw(x, "}\n\n");
    }
    craw(x, "%s_ctx *%s_ctx_create(%s *m)\n{\n", M, M, M);
    craw(x, "    if (!m) {\n        nnrt_error(NNRT_ERR_ARG, \"%s_ctx_create: NULL model\");\n", M);
    craw(x, "        return NULL;\n    }\n");
    craw(x, "    %s_ctx *c = (struct %s_ctx *)calloc(1, sizeof *c);\n", M, M);
    craw(x, "    if (c) {\n        c->model = m;\n        c->params = m->params;\n");
    craw(x, "        c->arena = (float *)aligned_alloc(64, %s_ARENA_BYTES);\n", M);
    if (train)
        craw(x, "        c->grads = (float *)aligned_alloc(64, %s_PARAMS_BYTES);\n", M);
    craw(x, "    }\n");
    c_approx_create(x, 1);
    target_hook(x, HOOK_CTX_CREATE);
    craw(x, "    if (!c || !c->arena%s) {\n", train ? " || !c->grads" : "");
    craw(x, "        %s_ctx_destroy(c);\n", M);
    craw(x, "        nnrt_error(NNRT_ERR_NOMEM, \"%s_ctx_create: out of memory\");\n", M);
    craw(x, "        return NULL;\n    }\n");
    if (train)
        craw(x, "    %s_ctx_clear(c);\n", M);
    craw(x, "    return c;\n}\n/* end function %s_ctx_create */\n\n", M);

    craw(x, "void %s_ctx_destroy(%s_ctx *c)\n{\n    if (!c)\n        return;\n", M, M);
    target_hook(x, HOOK_CTX_DESTROY);
    if (train)
        craw(x, "    free(c->grads);\n");
    craw(x, "    free(c->arena);\n    free(c);\n}\n/* end function %s_ctx_destroy */\n\n", M);

    static const char *const fns[] = {"forward", "grad"};
    for (int k = 0; k < (train ? 2 : 1); k++) {
        craw(x, "int %s_%s(%s *m, const %s_inputs *in, %s_outputs *out)\n{\n", M, fns[k], M, M, M);
        craw(x, "    if (!m)\n        return nnrt_error(NNRT_ERR_ARG, \"%s_%s: NULL model\");\n", M, fns[k]);
        craw(x, "    return %s_ctx_%s(m->ctx, in, out);\n}\n/* end function %s_%s */\n\n", M, fns[k], M, fns[k]);
    }
    if (!train)
        return;

    craw(x, "float *%s_ctx_grad_data(%s_ctx *c, int i)\n{\n", M, M);
    if (g->nparams) {
        craw(x, "    if (!c || i < 0 || i >= %d)\n        return NULL;\n", g->nparams);
        target_hook(x, HOOK_GRADS_HOST);
        craw(x, "    return c->grads + %s_param_off[i];\n}\n", M);
    } else {
        craw(x, "    (void)c;\n    (void)i;\n    return NULL;\n}\n");
    }
    craw(x, "/* end function %s_ctx_grad_data */\n\n", M);
    craw(x, "float *%s_grad_data(%s *m, int i)\n{\n    return m ? %s_ctx_grad_data(m->ctx, i) : NULL;\n}\n", M, M, M);
    craw(x, "/* end function %s_grad_data */\n\n", M);
    emit_grad_rows(x);

    if (any_sparse(x))
        emit_row_helpers(x);
    emit_accumulate(x);
}

/* static int NAME_PREFIXFN_any(void *p, dyn, inputs, loss, outputs): the
 * descriptor's generic NAME_ctx_FN (p a context) or NAME_FN (p a model). */
static void emit_run_any(Ctx *x, const char *fn, bool ctx)
{
    Graph *g = x->g;
    const char *M = g->model, *pre = ctx ? "ctx_" : "";
    craw(x, "static int %s_%s%s_any(void *p, const int64_t *dyn, const void *const *inputs, float *loss,\n", M, pre, fn);
    craw(x, "                       const float **outputs)\n{\n");
    craw(x, "    %s_inputs in;\n    %s_outputs out;\n", M, M);
    craw(x, "    memset(&out, 0, sizeof out); /* (gcc -O3 cannot always see that a failed call returns first) */\n");
    if (g->noutputs)
        craw(x, "    if (!outputs)\n        return nnrt_error(NNRT_ERR_ARG, \"%s: NULL outputs\");\n", M);
    else
        craw(x, "    (void)outputs;\n");
    craw(x, "    int rc = %s_unpack(&in, dyn, inputs);\n    if (rc == NNRT_OK)\n        rc = %s_%s%s((struct %s%s *)p, &in, &out);\n",
         M, M, pre, fn, M, ctx ? "_ctx" : "");
    craw(x, "    if (rc != NNRT_OK)\n        return rc;\n");
    if (g->loss)
        craw(x, "    if (loss)\n        *loss = out.loss;\n");
    else
        craw(x, "    (void)loss;\n");
    for (int i = 0; i < g->noutputs; i++)
        craw(x, "    outputs[%d] = out.%s;\n", i, g->outputs[i].name);
    craw(x, "    return NNRT_OK;\n}\n\n");
}

/* The descriptor's generic forward and grad, and its context functions. */
void emit_ctx_wrappers(Ctx *x)
{
    const char *M = x->g->model;
    for (int k = 0; k < (x->train ? 2 : 1); k++) {
        emit_run_any(x, k ? "grad" : "forward", false);
        emit_run_any(x, k ? "grad" : "forward", true);
    }
    craw(x, "static void *%s_ctx_create_any(void *m)\n{\n    return %s_ctx_create((struct %s *)m);\n}\n\n", M, M, M);
    craw(x, "static void %s_ctx_destroy_any(void *c)\n{\n    %s_ctx_destroy((struct %s_ctx *)c);\n}\n\n", M, M, M);
    if (!x->train)
        return;
    craw(x, "static float *%s_ctx_grad_data_any(void *c, int i)\n{\n    return %s_ctx_grad_data((struct %s_ctx *)c, i);\n}\n\n", M, M, M);
    craw(x, "static int64_t %s_ctx_grad_rows_any(void *c, int i, const int32_t **rows)\n{\n"
             "    return %s_ctx_grad_rows((struct %s_ctx *)c, i, rows);\n}\n\n", M, M, M);
    craw(x, "static int %s_update_any(void *m, void *c)\n{\n    return %s_update((struct %s *)m, (struct %s_ctx *)c);\n}\n\n", M, M, M, M);
    craw(x, "static int %s_grad_accumulate_any(void *dst, void *src)\n{\n    return %s_grad_accumulate((struct %s_ctx *)dst, "
             "(struct %s_ctx *)src);\n}\n\n", M, M, M, M);
}

/* The context entries at the end of NAME_desc. */
void emit_ctx_desc(Ctx *x)
{
    const char *M = x->g->model;
    craw(x, "    %s_ctx_create_any,\n    %s_ctx_destroy_any,\n    %s_ctx_forward_any,\n", M, M, M);
    if (x->train)
        craw(x, "    %s_ctx_grad_any,\n    %s_ctx_grad_data_any,\n    %s_update_any,\n    %s_grad_accumulate_any,\n", M, M,
             M, M);
    else
        craw(x, "    NULL, NULL, NULL, NULL, /* no training */\n");
    if (c_approx_includes(x))
        craw(x, "    %s_set_counts_any,\n", M);
    else
        craw(x, "    NULL, /* no samples */\n");
    craw(x, x->train ? "    %s_ctx_set_grad_ready_any,\n" : "    NULL, /* no training */\n", M);
    craw(x, x->train ? "    %s_ctx_grad_rows_any,\n" : "    NULL, /* no training */\n", M);
}
