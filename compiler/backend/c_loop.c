/*
 * c_loop.c - C for loops (a scan: carries, stacks, sums), carries and
 * loop results.
 */
#include "backend.h"

/* The C names of loop n's buffers (carries, stacks, sums) pointed at their
 * memory; with init, the carries' initial values copied in and the sums
 * zeroed, as the loop's start needs; without, each also marked used (a
 * scope that only reads some of them through loop results). */
void emit_loop_bufs(Ctx *x, Node *n, bool init)
{
    Loop *l = n->loop;
    NodeInfo *ni = info(n);
    int id = n->id;
    for (int r = 0; r < l->ncarry; r++) {
        const Node *c = l->carry[r];
        cline(x, "float *c%d_%d = m->arena + %" PRId64 "; /* carry #%d%s%s */", id, r, ni->carry_off[r], r,
              c->name ? " " : "", c->name ? c->name : "");
        if (!init)
            cline(x, "(void)c%d_%d;", id, r);
    }
    for (int pass = 0; pass < 2; pass++) /* stacks of their own, then those that are others' rows */
        for (int r = 0; r < l->nstack; r++) {
            if ((ni->stack_alias[r] >= 0) != pass)
                continue;
            cline(x, "float *s%d_%d = %s; /* stack of %%%d */", id, r, stack_ptr_c(x, n, r, "m->arena"),
                  l->stack[r]->id);
            if (!init || pass) /* (another's rows: the loop itself never names it) */
                cline(x, "(void)s%d_%d;", id, r);
        }
    for (int r = 0; init && r < l->ncarry; r++) /* the initial values (a carry in its stack: its first row) */
        cline(x, "memcpy(%s, %s, (size_t)%s * sizeof(float));", carry_start_c(x, n, r), vname(n->in[r]),
              count_c(x, &l->carry[r]->shape, 0));
    for (int r = 0; r < l->nsum; r++) {
        if (ni->sum_grad_of && ni->sum_grad_of[r] >= 0)
            cline(x, "float *u%d_%d = m->grads + %" PRId64 "; /* sum of %%%d: d loss / d %s */", id, r,
                  x->param_off[ni->sum_grad_of[r]], l->sum[r]->id, x->g->params[ni->sum_grad_of[r]].name);
        else
            cline(x, "float *u%d_%d = m->arena + %" PRId64 "; /* sum of %%%d */", id, r, ni->sum_off[r],
                  l->sum[r]->id);
        int sp = ni->sum_grad_of ? ni->sum_grad_of[r] : -1;
        if (init && sp >= 0 && loop_sparse_scatter(x, sp) == l->sum[r])
            emit_zero_touched(x, xsprintf("u%d_%d", id, r), sp, count_c(x, &l->sum[r]->shape, 1));
        else if (init)
            cline(x, "memset(u%d_%d, 0, (size_t)%s * sizeof(float));", id, r, count_c(x, &l->sum[r]->shape, 0));
        else
            cline(x, "(void)u%d_%d;", id, r);
    }
}

void emit_loop(Ctx *x, Node *n)
{
    Loop *l = n->loop;
    NodeInfo *ni = info(n);
    int id = n->id;
    NN_ASSERT(l && l->index && l->index->op == OP_INDEX);
    NN_ASSERT(n->nin == l->ncarry);
    /* the loop's buffers live in the scope that holds the loop */
    emit_loop_bufs(x, n, true);
    for (int r = 0; r < l->ncarry; r++) /* carries that point at their next value's memory (place_loops) */
        if (ni->carry_ptr[r])
            cline(x, "const float *p%d_%d = %s;", id, r, carry_start_c(x, n, r));
    const char *t = vname(l->index), *lo = size_c(x, l->lo);
    if (l->reverse) /* a backward scan: the iterations in reverse order */
        cline(x, "for (int64_t %s = %s - 1; %s >= %s; %s--) {", t, size_c(x, l->hi), t, lo, t);
    else
        cline(x, "for (int64_t %s = %s; %s < %s; %s++) {", t, lo, t, size_c(x, l->hi), t);
    x->indent++;
    emit_block(x, &l->body);
    cline(x, "/* end of iteration: stacks, sums, then carries */");
    char *iter = loop_iter_c(x, l);
    for (int r = 0; r < l->nstack; r++) {
        if (stack_in_place(n, r))
            continue;
        char *rowc = count_c(x, &l->stack[r]->shape, 0);
        cline(x, "memcpy(s%d_%d + %s * %s, %s, (size_t)%s * sizeof(float));", id, r, iter, rowc,
              vname(l->stack[r]), rowc);
    }
    for (int r = 0; r < l->nsum; r++) {
        const Node *sv = l->sum[r];
        if (sv->op == OP_SCATTERROWS) {
            int sp = ni->sum_grad_of ? ni->sum_grad_of[r] : -1;
            emit_scatter_rows(x, sv, xsprintf("u%d_%d", id, r), false,
                              sp >= 0 && loop_sparse_scatter(x, sp) == sv ? sp : -1);
            continue;
        }
        cline(x, "for (int64_t i = 0; i < %s; i++)", count_c(x, &sv->shape, 0));
        cline(x, "    u%d_%d[i] += %s[i];", id, r, vname(sv));
    }
    /* next values that read a carry buffer go through temporaries first */
    for (int r = 0; r < l->ncarry; r++)
        if (ni->tmp_off[r] >= 0 && !ni->carry_ptr[r])
            cline(x, "float *x%d_%d = memcpy(m->arena + %" PRId64 ", %s, (size_t)%s * sizeof(float));", id, r,
                  ni->tmp_off[r], vname(l->next[r]), count_c(x, &l->carry[r]->shape, 0));
    for (int r = 0; r < l->ncarry; r++) {
        if (l->next[r] == l->carry[r])
            continue; /* unchanged */
        if (ni->carry_ptr[r]) {
            cline(x, "p%d_%d = %s;", id, r, vname(l->next[r]));
            continue;
        }
        const char *src = ni->tmp_off[r] >= 0 ? xsprintf("x%d_%d", id, r) : vname(l->next[r]);
        cline(x, "memcpy(c%d_%d, %s, (size_t)%s * sizeof(float));", id, r, src,
              count_c(x, &l->carry[r]->shape, 0));
    }
    x->indent--;
    cline(x, "} /* end loop %%%d */", id);
    for (int r = 0; r < l->ncarry; r++) /* the last values, where the loop's results read them */
        if (ni->carry_ptr[r]) {
            cline(x, "if (p%d_%d != c%d_%d)", id, r, id, r);
            cline(x, "    memcpy(c%d_%d, p%d_%d, (size_t)%s * sizeof(float));", id, r, id, r,
                  count_c(x, &l->carry[r]->shape, 0));
        }
}

/* The loops ops (c_target.c's switch sends them here). */
void c_emit_loop(Ctx *x, Node *n, const char *v)
{
    Graph *g = x->g;
    const Node *a = n->nin > 0 ? n->in[0] : NULL, *b = n->nin > 1 ? n->in[1] : NULL;
    const char *va = a ? vname(a) : NULL, *vb = b ? vname(b) : NULL;
    (void)g, (void)va, (void)vb;
    switch (n->op) {
    case OP_CARRY: {
        Loop *l = n->loop;
        NN_ASSERT(l && n->index >= 0 && n->index < l->ncarry);
        cline(x, "const float *%s = %c%d_%d;", v, info(l->node)->carry_ptr[n->index] ? 'p' : 'c', l->node->id,
              n->index);
        break;
    }
    case OP_LOOP:
        if (l_beside_partner(n))
            cline(x, "/* run beside the loop before it, above */");
        else if (n->loop->beside)
            emit_loop_pair(x, n);
        else
            emit_loop(x, n);
        break;
    case OP_LOOPOUT: {
        NN_ASSERT(a && a->op == OP_LOOP);
        Loop *l = a->loop;
        int r = n->index, id = a->id;
        if (r < l->ncarry)
            cline(x, "const float *%s = c%d_%d;", v, id, r);
        else if (r < l->ncarry + l->nstack && n->dtype == DT_I32) /* int rows, 4 bytes as floats */
            cline(x, "const int32_t *%s = (const int32_t *)(const void *)s%d_%d;", v, id, r - l->ncarry);
        else if (r < l->ncarry + l->nstack)
            cline(x, "const float *%s = s%d_%d;", v, id, r - l->ncarry);
        else {
            NN_ASSERT(r < l->ncarry + l->nstack + l->nsum);
            cline(x, "const float *%s = u%d_%d;", v, id, r - l->ncarry - l->nstack);
        }
        break;
    }
    default:
        NN_ASSERT(!"not a loop op");
    }
}
