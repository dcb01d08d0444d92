/*
 * train.c - the training API: NAME_train_step (NAME_grad, then the
 * optimizer's update per param through runtime/optim.c), NAME_set_lr,
 * NAME_grad_data, the optimizer state tables and the descriptor's
 * training entry points.
 */
#include "backend.h"

/* The optimizer as text for comments: "adam(lr = 0.001, beta1 = 0.9, ...)".
 * A program without `optimizer` trains with sgd(lr = 0.01). */
char *opt_text(const OptimizerDecl *o)
{
    switch (o->kind) {
    case OPT_ADAM:
        return xsprintf("adam(lr = %g, beta1 = %g, beta2 = %g, eps = %g%s)", o->lr, o->beta1, o->beta2, o->eps,
                        o->lazy ? ", lazy = 1" : "");
    case OPT_ADAGRAD:
        return xsprintf("adagrad(lr = %g, eps = %g)", o->lr, o->eps);
    case OPT_SGD:
        return xsprintf("sgd(lr = %g)", o->lr);
    case OPT_NONE:
        break;
    }
    return xstrdup("sgd(lr = 0.01), the default");
}

/* A double constant, exactly (hex), with its decimal value alongside: the
 * optimizers' betas and eps, which PyTorch keeps as Python floats. */
char *double_lit(double v)
{
    char *dec = xsprintf("%.15g", v);
    if (strtod(dec, NULL) != v) /* the shortest of 15 and 17 digits that reads back */
        dec = xsprintf("%.17g", v);
    return xsprintf("%a /* %s */", v, dec);
}

double opt_lr(const OptimizerDecl *o)
{
    return o->kind == OPT_NONE ? 0.01 : o->lr;
}

/* Does the optimizer update param i (trainable, and the loss depends on it)? */
static bool updated(const Graph *t, int i)
{
    return !t->params[i].frozen && t->grads && t->grads[i];
}

/* Is param i read by rows (E[id], E[ids]): a lookup table, whose SGD update
 * skips the rows no id touched? */
static bool is_table(Ctx *t, int i)
{
    for (int k = 0; k < t->nall; k++) {
        Node *n = t->all[k];
        bool rows = n->op == OP_ROW || n->op == OP_GATHER || n->op == OP_GATHERSUM || n->op == OP_GATHERMEAN ||
                    n->op == OP_ROWSDOT || n->op == OP_ROWSWSUM;
        if (rows && n->in[0]->op == OP_PARAM && n->in[0]->index == i)
            return t->g->params[i].shape.rank >= 2;
    }
    return false;
}

int state_tensors(Ctx *x, StateTensor **out)
{
    Graph *t = x->train->g;
    StateTensor *v = NULL;
    int n = 0, cap = 0;
    static const char *const adam[] = {"m", "v", NULL}, *const adagrad[] = {"sum", NULL};
    const char *const *kinds = t->opt.kind == OPT_ADAM ? adam : t->opt.kind == OPT_ADAGRAD ? adagrad : NULL;
    for (int k = 0; kinds && kinds[k]; k++)
        for (int i = 0; i < t->nparams; i++)
            if (updated(t, i)) {
                StateTensor st = {xsprintf("__opt__/%s/%s", t->params[i].name, kinds[k]), i,
                                  k * x->params_floats + x->param_off[i]};
                VEC_PUSH(v, n, cap, st);
            }
    if (t->opt.kind == OPT_ADAM) {
        StateTensor st = {xstrdup("__opt__/step"), -1, -1};
        VEC_PUSH(v, n, cap, st);
    }
    *out = v;
    return n;
}

void emit_state_tables(Ctx *x)
{
    Graph *g = x->g;
    const char *M = g->model;
    char buf[256];
    StateTensor *st;
    int n = state_tensors(x, &st);
    if (!n)
        return;
    craw(x, "/* Optimizer state, saved with the params under reserved names. */\n");
    craw(x, "static const nnrt_tensor_desc %s_state[%d] = {\n", M, n);
    x->indent++;
    for (int i = 0; i < n; i++) {
        Shape sc = {0};
        const Shape *s = st[i].param >= 0 ? &g->params[st[i].param].shape : &sc;
        emit_tensor_desc(x, st[i].name, DT_F32, s, shape_str(g, s, buf, sizeof buf));
    }
    x->indent--;
    craw(x, "};\n");
    craw(x, "static const int64_t %s_state_off[%d] = {", M, n);
    for (int i = 0; i < n; i++)
        craw(x, "%s%" PRId64, i ? ", " : "", st[i].off);
    craw(x, "};\n\n");
}

static void emit_host_update(Ctx *x);

/* NAME_update's test of the rate NAME_set_lr stored: a finite float >= 0,
 * as optim_check asks of the program's (NaN would turn every param into
 * NaN in one step). Both targets, before any param changes. */
void emit_lr_check(Ctx *x)
{
    const char *M = x->g->model;
    cline(x, "if (!(m->lr >= 0 && m->lr <= 3.4028234663852886e+38)) /* NaN, infinite or negative */");
    cline(x, "    return nnrt_error(NNRT_ERR_ARG, \"%s_update: learning rate %%g (from %s_set_lr) is not a finite "
             "number >= 0\", m->lr);",
          M, M);
}

/* NAME_update, NAME_train_step, NAME_set_lr. */
void emit_train_api(Ctx *x)
{
    Graph *g = x->g, *t = x->train->g;
    const char *M = g->model;
    const OptimizerDecl *o = &t->opt;
    if (x->target->emit_update)
        x->target->emit_update(x);
    else
        emit_host_update(x);
    (void)o;
    craw(x, "/* %s_grad, then %s_update, in the built-in context. */\n", M, M);
    craw(x, "int %s_train_step(%s *m, const %s_inputs *in, float *loss)\n{\n", M, M, M);
    bool fused = false; /* SGD steps in the scatters, the same bits (c_gather.c) */
    for (int i = 0; i < g->nparams; i++)
        fused |= sgd_in_scatter(x->train, i);
    craw(x, "    %s_outputs out;\n", M);
    if (fused)
        craw(x, "    m->ctx->sgd_fused = m->ctx->grad_ready == NULL;\n");
    craw(x, "    int rc = %s_grad(m, in, &out);\n", M);
    if (fused)
        craw(x, "    m->ctx->sgd_fused = 0;\n");
    craw(x, "    if (rc != NNRT_OK)\n        return rc;\n    if (loss)\n        *loss = out.loss;\n");
    craw(x, "    return %s_update(m, m->ctx);\n}\n/* end function %s_train_step */\n\n", M, M);

    craw(x, "void %s_set_lr(%s *m, float lr)\n{\n    if (m)\n        m->lr = lr;\n}\n/* end function %s_set_lr */\n\n",
         M, M, M);
}

/* NAME_update on the host: runtime/optim.c per param. */
static void emit_host_update(Ctx *x)
{
    Graph *g = x->g, *t = x->train->g;
    const char *M = g->model;
    const OptimizerDecl *o = &t->opt;
    craw(x, "/* One step of %s from the gradients in c, a context of m. */\n", comment_safe(opt_text(o)));
    craw(x, "int %s_update(%s *m, %s_ctx *c)\n{\n", M, M, M);
    x->indent = 1;
    cline(x, "if (!m || !c || c->model != m)");
    cline(x, "    return nnrt_error(NNRT_ERR_ARG, \"%s_update: needs a model and one of its contexts\");", M);
    emit_lr_check(x);
    if (o->kind == OPT_ADAM)
        cline(x, "m->opt_step += 1.0f;");
    for (int i = 0; i < g->nparams; i++) {
        if (!updated(t, i))
            continue;
        const ParamDecl *p = &g->params[i];
        int64_t off = x->param_off[i], cnt = shape_max_count(g, &p->shape);
        char *w = xsprintf("m->params + %" PRId64, off), *gr = xsprintf("c->grads + %" PRId64, off);
        int64_t rows = p->shape.rank ? p->shape.d[0].c : 1;
        char *cols = int_lit(cnt / (rows ? rows : 1));
        /* which rows: those the sparse gradient lists, those of a lookup
         * table whose gradient is not zero, or all (SGD and Adagrad give
         * the dense update's numbers on the rows alone; lazy Adam is
         * torch.optim.SparseAdam) */
        enum { DENSE, IDS, ROWS } how = sparse_grad(x->train, i) ? IDS : is_table(x->train, i) ? ROWS : DENSE;
        if (o->kind == OPT_ADAM && !o->lazy)
            how = DENSE; /* torch.optim.Adam: every moment decays */
        const char *kind = o->kind == OPT_ADAM ? "adam_lazy" : o->kind == OPT_ADAGRAD ? "adagrad" : "sgd";
        const char *why = how == IDS ? "the rows the gradient touched" : "only the rows ids touched";
        char *rowsarg = how == IDS ? xsprintf("%s, c->touched%d, c->ntouched%d", cols, i, i)
                                   : xsprintf("%s, %s", int_lit(rows), cols);
        char *state = o->kind == OPT_ADAM      ? xsprintf("m->opt + %" PRId64 ", m->opt + %" PRId64 ", ", off,
                                                          x->params_floats + off)
                      : o->kind == OPT_ADAGRAD ? xsprintf("m->opt + %" PRId64 ", ", off)
                                               : "";
        char *args = o->kind == OPT_ADAM ? xsprintf("m->lr, %s, %s, %s, (int64_t)m->opt_step", double_lit(o->beta1),
                                                    double_lit(o->beta2), double_lit(o->eps))
                     : o->kind == OPT_ADAGRAD ? xsprintf("m->lr, %s", double_lit(o->eps))
                                              : "(float)m->lr";
        if (how == IDS && o->kind != OPT_ADAM && o->kind != OPT_ADAGRAD) {
            /* SGD zeroes each gradient row as it applies it: no row left
             * for the next call to zero, a repeated id finds a zero row */
            cline(x, "nnrt_sgd_update_ids_clear(%s, %s, %s, %s); /* %s: the rows the gradient touched, cleared as "
                     "applied */",
                  w, gr, rowsarg, args, p->name);
            cline(x, "c->ntouched%d = 0; /* no row left to zero */", i);
        } else if (how != DENSE) {
            cline(x, "nnrt_%s_update_%s(%s, %s, %s%s, %s); /* %s: %s */", kind, how == IDS ? "ids" : "rows", w, gr,
                  state, rowsarg, args, p->name, why);
        } else if (o->kind == OPT_ADAM || o->kind == OPT_ADAGRAD) {
            cline(x, "nnrt_%s_update(%s, %s, %s%s, %s); /* %s */", o->kind == OPT_ADAM ? "adam" : "adagrad", w, gr,
                  state, int_lit(cnt), args, p->name);
        } else {
            cline(x, "nnrt_sgd_update(%s, %s, %s, %s); /* %s */", w, gr, int_lit(cnt), args, p->name);
        }
    }
    end_function_ok(x, "update");
}

/* The descriptor's training entry points. */
void emit_train_wrappers(Ctx *x)
{
    Graph *g = x->g;
    const char *M = g->model;
    craw(x, "static int %s_train_step_any(void *m, const int64_t *dyn, const void *const *inputs, float *loss)\n{\n", M);
    craw(x, "    %s_inputs in;\n", M);
    craw(x, "    int rc = %s_unpack(&in, dyn, inputs);\n", M);
    craw(x, "    return rc != NNRT_OK ? rc : %s_train_step((struct %s *)m, &in, loss);\n}\n\n", M, M);
    craw(x, "static float *%s_grad_data_any(void *m, int i)\n{\n    return m ? %s_grad_data((struct %s *)m, i) : NULL;\n}\n\n", M, M, M);
    craw(x, "static void %s_set_lr_any(void *m, float lr)\n{\n    %s_set_lr((struct %s *)m, lr);\n}\n\n", M, M, M);
    emit_grad_ready_api(x);

    StateTensor *st;
    int nst = state_tensors(x, &st);
    craw(x, "static float *%s_state_data_any(void *m, int i)\n{\n", M);
    if (nst) {
        craw(x, "    if (!m || i < 0 || i >= %d)\n        return NULL;\n", nst);
        target_hook(x, HOOK_PARAMS_HOST);
        craw(x, "    if (%s_state_off[i] < 0)\n        return &((%s *)m)->opt_step;\n", M, M);
        craw(x, "    return ((%s *)m)->opt + %s_state_off[i];\n}\n\n", M, M);
    } else {
        craw(x, "    (void)m;\n    (void)i;\n    return NULL;\n}\n\n");
    }
}


/* ---------------------------------------------------------------- gradients as they finish */

/*
 * NAME_ctx_set_grad_ready(c, fn, user): during NAME_ctx_grad on c, fn(user,
 * i) for every param i as soon as its gradient is final, so that a caller
 * can start sending it (the MPI trainer's allreduce overlaps the rest of
 * the backward pass: compiler/driver/train_mpi.c). On the C target the call
 * follows the top-level statement that computes the gradient (a gradient
 * kept in the arena is copied into c->grads right there instead of at the
 * end); the gradients nothing computes (zeros) come last. A device target
 * has its gradients at the end of the call: every call comes then.
 */

void emit_grad_ready_fields(Ctx *x)
{
    craw(x, "    void (*grad_ready)(void *, int); /* %s_ctx_set_grad_ready */\n    void *grad_ready_user;\n", x->g->model);
}

void emit_grad_ready_decl(Ctx *x)
{
    const char *M = x->g->model;
    hline(x, "/* during each later %s_ctx_grad on ctx: fn(user, i) once per param i, as soon as its gradient is final */\n",
          M);
    hline(x, "void %s_ctx_set_grad_ready(%s_ctx *ctx, void (*fn)(void *user, int i), void *user);\n", M, M);
}

void emit_grad_ready_api(Ctx *x)
{
    const char *M = x->g->model;
    craw(x, "void %s_ctx_set_grad_ready(%s_ctx *c, void (*fn)(void *user, int i), void *user)\n{\n", M, M);
    craw(x, "    if (c) {\n        c->grad_ready = fn;\n        c->grad_ready_user = user;\n    }\n}\n");
    craw(x, "/* end function %s_ctx_set_grad_ready */\n\n", M);
    craw(x, "static void %s_ctx_set_grad_ready_any(void *c, void (*fn)(void *user, int i), void *user)\n{\n", M);
    craw(x, "    %s_ctx_set_grad_ready((struct %s_ctx *)c, fn, user);\n}\n\n", M, M);
}

/* Where param i's gradient ends up in c->grads, and the hook. */
static void emit_grad_final(Ctx *x, int i)
{
    Graph *g = x->g;
    Node *v = g->grads ? g->grads[i] : NULL;
    char *cnt = int_lit(shape_max_count(g, &g->params[i].shape));
    if (x->target->hook)
        ; /* a device target's gradients: HOOK_CALL_END */
    else if (v && info(v)->grad_of == i)
        cline(x, "(void)%s; /* %s: computed in place */", vname(v), g->params[i].name);
    else if (v)
        cline(x, "memcpy(m->grads + %" PRId64 ", %s, (size_t)%s * sizeof(float)); /* d loss / d %s */", x->param_off[i],
              vname(v), cnt, g->params[i].name);
    else
        cline(x, "memset(m->grads + %" PRId64 ", 0, (size_t)%s * sizeof(float)); /* %s: zeros (frozen, or not used by "
                 "the loss) */", x->param_off[i], cnt, g->params[i].name);
    cline(x, "if (m->grad_ready)");
    cline(x, "    m->grad_ready(m->grad_ready_user, %d); /* d loss / d %s is final */", i, g->params[i].name);
}

/* The top-level position of each param's gradient node; -1: at the end
 * (found through an index of the top block: a program may have thousands
 * of params). */
static int *grad_positions(Ctx *x)
{
    const Graph *g = x->g;
    int *pos = xalloc(sizeof(int) * (size_t)(g->nparams + 1));
    NodeIndex at = {0};
    for (int k = 0; g->grads && !x->target->hook && k < g->top.n; k++)
        if (node_index_get(&at, g->top.nodes[k]) < 0)
            node_index_put(&at, g->top.nodes[k], k);
    for (int i = 0; i < g->nparams; i++)
        pos[i] = g->grads && g->grads[i] ? node_index_get(&at, g->grads[i]) : -1;
    return pos;
}

/* The body of NAME_ctx_grad: each top-level node, then the gradients it
 * finished (in the order of the params). */
void emit_grad_nodes(Ctx *x)
{
    Graph *g = x->g;
    int *pos = grad_positions(x);
    /* params by position: next[i] follows i at the same one */
    int *first = xalloc(sizeof(int) * (size_t)(g->top.n + 1)), *next = xalloc(sizeof(int) * (size_t)(g->nparams + 1));
    for (int k = 0; k < g->top.n; k++)
        first[k] = -1;
    for (int i = g->nparams - 1; i >= 0; i--)
        if (pos[i] >= 0) {
            next[i] = first[pos[i]];
            first[pos[i]] = i;
        }
    for (int k = 0; k < g->top.n; k++) {
        x->target->emit_node(x, g->top.nodes[k]);
        for (int i = first[k]; i >= 0; i = next[i])
            emit_grad_final(x, i);
    }
}

/* After the outputs of NAME_ctx_grad: the gradients not finished above. */
void emit_grad_rest(Ctx *x)
{
    Graph *g = x->g;
    int *pos = grad_positions(x);
    cline(x, "/* d loss / d param, one buffer per param: the ones not done above */");
    for (int i = 0; i < g->nparams; i++)
        if (pos[i] < 0)
            emit_grad_final(x, i);
}
