/*
 * cu_loop.c - loops for --target=cuda: the scan runs on the host, its
 * body's kernels and copies are queued on the context's stream per
 * iteration (no synchronisation inside a call). The loop's buffers
 * (carries, stacks, sums, temporaries) are in the device arena at the
 * memory plan's offsets, as c_loop.c puts them in the host arena; the
 * index is a host int64_t, a kernel argument where the body reads it.
 */
#include "backend.h"


static char *bytes_of(Ctx *x, const Shape *s) { return xsprintf("(size_t)(%s) * 4", count_c(x, s, 0)); }

void cu_emit_loop(Ctx *x, Node *n)
{
    Loop *l = n->loop;
    NodeInfo *ni = info(n);
    int id = n->id;
    const char *M = x->g->model;
    NN_ASSERT(l && l->index && l->index->op == OP_INDEX && n->nin == l->ncarry);
    for (int r = 0; r < l->ncarry; r++)
        cline(x, "float *c%d_%d = m->darena + %" PRId64 "; /* carry #%d */", id, r, ni->carry_off[r], r);
    for (int pass = 0; pass < 2; pass++) /* stacks of their own, then those that are others' rows */
        for (int r = 0; r < l->nstack; r++)
            if ((ni->stack_alias[r] >= 0) == pass)
                cline(x, "%sfloat *s%d_%d = %s; /* stack of %%%d */", pass ? "[[maybe_unused]] " : "", id, r,
                      stack_ptr_c(x, n, r, "m->darena"), l->stack[r]->id);
    for (int r = 0; r < l->ncarry; r++) /* the initial values (a carry in its stack: its first row) */
        cu_call(x, "nnrt_cuda_copy(m->cu, %s, %s, %s)", carry_start_c(x, n, r), vname(n->in[r]),
                bytes_of(x, &l->carry[r]->shape));
    for (int r = 0; r < l->ncarry; r++) /* carries that point at their next value's memory (place_loops) */
        if (ni->carry_ptr[r])
            cline(x, "const float *p%d_%d = %s;", id, r, carry_start_c(x, n, r));
    for (int r = 0; r < l->nsum; r++) {
        if (ni->sum_grad_of && ni->sum_grad_of[r] >= 0)
            cline(x, "float *u%d_%d = m->dgrads + %" PRId64 "; /* sum of %%%d: d loss / d %s */", id, r,
                  x->param_off[ni->sum_grad_of[r]], l->sum[r]->id, x->g->params[ni->sum_grad_of[r]].name);
        else
            cline(x, "float *u%d_%d = m->darena + %" PRId64 "; /* sum of %%%d */", id, r, ni->sum_off[r],
                  l->sum[r]->id);
        cu_call(x, "nnrt_cuda_zero(m->cu, u%d_%d, %s)", id, r, bytes_of(x, &l->sum[r]->shape));
        cu_count_bytes(x, shape_max_count(x->g, &l->sum[r]->shape) * 4);
    }
    const char *t = vname(l->index), *lo = size_c(x, l->lo);
    if (l->reverse)
        cline(x, "for (int64_t %s = %s - 1; %s >= %s; %s--) {", t, size_c(x, l->hi), t, lo, t);
    else
        cline(x, "for (int64_t %s = %s; %s < %s; %s++) {", t, lo, t, size_c(x, l->hi), t);
    x->indent++;
    cu_count_loop(x, id);
    emit_block(x, &l->body);
    cline(x, "/* end of iteration: stacks, sums, then carries (on the stream, in order) */");
    char *iter = loop_iter_c(x, l);
    for (int r = 0; r < l->nstack; r++)
        if (!stack_in_place(n, r))
            cu_call(x, "nnrt_cuda_copy(m->cu, s%d_%d + %s * %s, %s, %s)", id, r, iter,
                count_c(x, &l->stack[r]->shape, 0), vname(l->stack[r]), bytes_of(x, &l->stack[r]->shape));
    for (int r = 0; r < l->nsum; r++) {
        const Node *sv = l->sum[r];
        if (sv->op == OP_SCATTERROWS && !ir_is_int_scalar(sv->in[1])) { /* rows of a at ids on the device (a sample's) */
            const Node *ids = sv->in[1];
            cu_call(x, "nnrt_cuda_scatter_add_rows(m->cu, u%d_%d, %s, %s, %s, %s, %s, 0)", id, r,
                    size_c(x, sv->shape.d[0]), count_c(x, &sv->shape, 1), vname(ids), count_c(x, &ids->shape, 0),
                    vname(sv->in[0]));
            continue;
        }
        if (sv->op == OP_SCATTERROWS) { /* row a added at row id (a host scalar) */
            char *rowc = count_c(x, &sv->shape, 1);
            emit_index_check(x, sv, vname(sv->in[1]), size_c(x, sv->shape.d[0]));
            cu_count_call(x, "NNRT_LAUNCH");
            cline(x, "NNRT_LAUNCH(m->cu, %s_add_into, nnrt_grid(%s, NNRT_BLOCK), NNRT_BLOCK, 0, u%d_%d + %s * %s, %s, "
                     "(int64_t)(%s));",
                  M, rowc, id, r, vname(sv->in[1]), rowc, vname(sv->in[0]), rowc);
            continue;
        }
        char *cnt = count_c(x, &l->sum[r]->shape, 0);
        cu_count_call(x, "NNRT_LAUNCH");
        cline(x, "NNRT_LAUNCH(m->cu, %s_add_into, nnrt_grid(%s, NNRT_BLOCK), NNRT_BLOCK, 0, u%d_%d, %s, (int64_t)(%s));",
              M, cnt, id, r, vname(l->sum[r]), cnt);
    }
    for (int r = 0; r < l->ncarry; r++)
        if (ni->tmp_off[r] >= 0 && !ni->carry_ptr[r]) {
            cline(x, "float *x%d_%d = m->darena + %" PRId64 ";", id, r, ni->tmp_off[r]);
            cu_call(x, "nnrt_cuda_copy(m->cu, x%d_%d, %s, %s)", id, r, vname(l->next[r]),
                    bytes_of(x, &l->carry[r]->shape));
        }
    for (int r = 0; r < l->ncarry; r++) {
        if (l->next[r] == l->carry[r])
            continue;
        if (ni->carry_ptr[r]) {
            cline(x, "p%d_%d = %s;", id, r, vname(l->next[r]));
            continue;
        }
        const char *src = ni->tmp_off[r] >= 0 ? xsprintf("x%d_%d", id, r) : vname(l->next[r]);
        cu_call(x, "nnrt_cuda_copy(m->cu, c%d_%d, %s, %s)", id, r, src, bytes_of(x, &l->carry[r]->shape));
    }
    cu_count_loop(x, -1);
    x->indent--;
    cline(x, "} /* end loop %%%d */", id);
    for (int r = 0; r < l->ncarry; r++) /* the last values, where the loop's results read them */
        if (ni->carry_ptr[r]) {
            cline(x, "if (p%d_%d != c%d_%d) {", id, r, id, r);
            x->indent++;
            cu_call(x, "nnrt_cuda_copy(m->cu, c%d_%d, p%d_%d, %s)", id, r, id, r, bytes_of(x, &l->carry[r]->shape));
            x->indent--;
            cline(x, "}");
        }
}

/* The kernel that adds a body value into a loop's sum. */
void cu_loop_prelude(Ctx *x)
{
    craw(x, "/* dst += src, a loop's sum per iteration */\n");
    craw(x, "extern \"C\" __global__ void __launch_bounds__(NNRT_BLOCK)\n");
    craw(x, "    %s_add_into(float *dst, const float *src, int64_t n)\n{\n", x->g->model);
    craw(x, "    NNRT_FOR_GRID(i, n)\n        dst[i] += src[i];\n}\n\n");
}
