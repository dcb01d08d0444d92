/*
 * forward.c - NAME_forward and NAME_grad: argument and size checks, then
 * one statement group per IR node (c_target.c), then the outputs.
 */
#include "backend.h"


/* Sizes that can be negative for some legal dims (T - 3 with T = 1) are
 * checked before anything runs: a negative extent would be a huge memcpy. */
static void emit_size_checks(Ctx *x)
{
    Size *seen = NULL;
    int nseen = 0, capseen = 0;
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        Shape s = n->shape;
        if (n->op == OP_LOOP)
            continue;
        for (int k = 0; k < s.rank; k++) {
            Size d = s.d[k];
            if (size_lo(x->g, d) >= 0)
                continue;
            bool dup = false;
            for (int j = 0; j < nseen && !dup; j++)
                dup = size_eq(seen[j], d);
            if (dup)
                continue;
            VEC_PUSH(seen, nseen, capseen, d);
            char buf[128];
            char *e = size_c(x, d);
            cline(x, "if (%s < 0)", e);
            cline(x, "    return nnrt_error(NNRT_ERR_RANGE, \"%s: size %s = %%lld is negative\", (long long)%s);",
                  loc_fmt(x, n->loc), c_escape(size_str(x->g, d, buf, sizeof buf), true), e);
        }
    }
}

/* NAME_ctx_forward from the forward graph, or NAME_ctx_grad from the train
 * graph (which ends by copying each gradient into m->grads). Their context
 * is called m (backend.h): the bodies read m->params, m->arena, m->grads. */
void emit_forward(Ctx *x, bool grad)
{
    Graph *g = x->g;
    const char *M = g->model, *fn = grad ? "ctx_grad" : "ctx_forward";
    emit_tasks(x, fn);
    craw(x, "int %s_%s(%s_ctx *m, const %s_inputs *in, %s_outputs *out)\n{\n", M, fn, M, M, M);
    x->indent = 1;
    cline(x, "if (!m || !in || !out)");
    cline(x, "    return nnrt_error(NNRT_ERR_ARG, \"%s_%s: NULL argument\");", M, fn);
    for (int i = 0; i < g->ndims; i++) {
        DimDecl *d = &g->dims[i];
        if (!d->dynamic)
            continue;
        cline(x, "const int64_t d_%s = in->%s;", d->name, d->name);
        cline(x, "if (d_%s < 1 || d_%s > %" PRId64 ")", d->name, d->name, d->value);
        cline(x, "    return nnrt_error(NNRT_ERR_RANGE, \"%s: dim %s = %%lld out of range [1, %" PRId64 "]\", (long long)d_%s);",
              M, d->name, d->value, d->name);
    }
    for (int i = 0; i < g->ninputs; i++) {
        InputDecl *in = &g->inputs[i];
        if (in->shape.rank == 0)
            continue;
        cline(x, "if (!in->%s)", in->name);
        cline(x, "    return nnrt_error(NNRT_ERR_ARG, \"%s: input %s is NULL\");", M, in->name);
    }
    emit_size_checks(x);
    if (grad && c_uses_samples(x))
        cline(x, "m->step++; /* new samples (c_approx.c) */");
    target_hook(x, HOOK_CALL_BEGIN);
    craw(x, "\n");
    if (grad)
        emit_grad_nodes(x); /* with the gradients as they finish (train.c) */
    else {
        predict_wrap(x, true); /* NAME_ctx_predict's decoding after its node (predict.c) */
        emit_block(x, &g->top);
        predict_wrap(x, false);
    }
    line_reset(x);
    craw(x, "\n");
    target_hook(x, HOOK_CALL_END);
    if (g->loss)
        cline(x, "out->loss = %s[0];", vname(g->loss));
    for (int i = 0; i < g->noutputs; i++) {
        const Node *v = g->outputs[i].value;
        if (v->op == OP_INPUT && v->shape.rank == 0) { /* not &in->s: *in may be gone (walk.c) */
            cline(x, "m->in_out[%d] = %s[0];", i, vname(v));
            cline(x, "out->%s = &m->in_out[%d];", g->outputs[i].name, i);
        } else {
            cline(x, "out->%s = %s;", g->outputs[i].name, vname(v));
        }
    }
    if (grad)
        emit_grad_rest(x);
    end_function_ok(x, fn);
}

