/*
 * c_gather.c - C for rows, gathers, scatter-adds, pick_grad, concat and
 * slice, rows_dot and rows_wsum, with their index checks.
 */
#include "backend.h"

/* Is idx surely in [0, rows)? True for the counter of a loop whose range
 * lies inside [0, rows) for every legal dim (xs[t] with t in 0..T): such a
 * check could never fail, and would only clutter the code. */
static bool index_in_range(const Graph *g, const Node *idx, Size rows)
{
    if (idx->op != OP_INDEX || !idx->loop)
        return false;
    Size over = size_sub(idx->loop->hi, rows); /* hi - rows <= 0 is needed */
    return size_lo(g, idx->loop->lo) >= 0 && size_is_const(over) && over.c <= 0;
}

/* return nnrt_error(RANGE, "file:l:c: index %lld out of range [0, %lld)") if !(0 <= idx < bound) */
void emit_index_check(Ctx *x, const Node *n, const char *idx, const char *bound)
{
    emit_index_check_of(x, n, idx, bound, NULL);
}

/* emit_index_check, the message naming the example too when example (C:
 * its number) is not NULL: "... out of range [0, %lld) (example %lld)" */
void emit_index_check_of(Ctx *x, const Node *n, const char *idx, const char *bound, const char *example)
{
    /* nothing is in range [0, 0) (the rows of an empty loop's stack): no
     * test, whose two halves would overlap (a clang warning) */
    bool empty = strcmp(bound, "0") == 0;
    if (!empty)
        cline(x, "if (%s < 0 || %s >= %s)", idx, idx, bound);
    cline(x, "%sreturn nnrt_error(NNRT_ERR_RANGE, \"%s: index %%lld out of range [0, %%lld)%s\",", empty ? "" : "    ",
          loc_fmt(x, n->loc), example ? " (example %lld)" : "");
    cline(x, "%s                  (long long)%s, (long long)%s%s);", empty ? "" : "    ", idx, bound,
          example ? xsprintf(", (long long)(%s)", example) : "");
}

/* Are hier's paths (pad id pad, c_path_pad) surely row ids of a table of
 * rows rows? Their ids are the tree's inner nodes, 0 .. pad - 1 (the tree
 * over the model's one vocabulary of pad + 1 words: c_approx.c), and pad. */
static bool paths_in_range(int64_t pad, Size rows)
{
    return size_is_const(rows) && rows.c > pad;
}

/* Ids that need no check against rows: hier's paths surely in range. */
static bool ids_checked(const Node *ids, Size rows)
{
    int64_t pad = c_path_pad(ids);
    return pad >= 0 && paths_in_range(pad, rows);
}

/* "ids, N, n, pad": the arguments of rows_path.c's loops for ids (hier's
 * paths or class's ranges, groups of n along the last axis). */
static char *path_args(Ctx *x, const Node *ids)
{
    return xsprintf("%s, %s, %s, %s", vname(ids), count_c(x, &ids->shape, 0),
                    size_c(x, ids->shape.d[ids->shape.rank - 1]), c_pad_text(c_path_pad(ids)));
}

/* Does scatter segment (g, ids, h) give each id its own row of h ([P...,
 * n, H], the rows pass's plain rows: infer.c), not one per group of n? */
static bool rows_per_entry(const Node *ids, const Node *h)
{
    return h->shape.rank == ids->shape.rank + 1;
}

/* path_args for a scatter segment's ids with rows h: plain ids (pad -1,
 * never an id) in groups of 1 where each has its own row. */
static char *seg_args(Ctx *x, const Node *ids, const Node *h)
{
    if (!rows_per_entry(ids, h))
        return path_args(x, ids);
    return xsprintf("%s, %s, 1, -1", vname(ids), count_c(x, &ids->shape, 0));
}

/* The number of segments of scatter n (g1, ids, h1, g2, ids, h2, ...)
 * when they all share one node of hier's paths, surely in range, as ids
 * (word2vec's skip-gram: the contexts predict the one centre word); else 0. */
static int shared_path_segs(const Node *n)
{
    if (n->nin < 6 || n->nin % 3 != 0 || n->nin / 3 > 64 /* NNRT_PATH_SEG_MAX */ ||
        !ids_checked(n->in[1], n->shape.d[0]))
        return 0;
    for (int k = 4; k < n->nin; k += 3)
        if (n->in[k] != n->in[1])
            return 0;
    for (int k = 0; k < n->nin; k += 3) /* (one h per path: not each entry its own row) */
        if (rows_per_entry(n->in[k + 1], n->in[k + 2]))
            return 0;
    return n->nin / 3;
}

/* "(const float *const[]){v_a, v_b, ...}": operands at, at + 3, ... of n. */
static char *seg_list(const Node *n, int at)
{
    char *s = xsprintf("(const float *const[]){%s", vname(n->in[at]));
    for (int k = at + 3; k < n->nin; k += 3)
        s = xsprintf("%s, %s", s, vname(n->in[k]));
    return xsprintf("%s}", s);
}

/* d loss / d param i (a sparse gradient: sparse_grad) in dst, rows of
 * rowc floats: zero only the rows the last call touched (the rest is zero
 * already), and start this call's list. */
void emit_zero_touched(Ctx *x, const char *dst, int i, const char *rowc)
{
    cline(x, "for (int64_t k = 0; k < m->ntouched%d; k++)", i);
    cline(x, "    memset(%s + m->touched%d[k] * %s, 0, (size_t)%s * sizeof(float));", dst, i, rowc, rowc);
    cline(x, "m->ntouched%d = 0;", i);
}

/* Opens `for (r < count(ids)) { const int64_t id = ids[r];` and checks id
 * against rows (n's location in the message); the caller adds its body
 * and closes the loop with emit_ids_close. */
static void emit_ids_open(Ctx *x, const Node *n, const Node *ids, Size rows)
{
    cline(x, "for (int64_t r = 0; r < %s; r++) {", ir_is_int_scalar(ids) ? "1" : count_c(x, &ids->shape, 0));
    x->indent++;
    cline(x, "const int64_t id = %s;", ir_is_int_scalar(ids) ? vname(ids) : xsprintf("%s[r]", vname(ids)));
    emit_index_check(x, n, "id", size_c(x, rows));
}

static void emit_ids_close(Ctx *x)
{
    x->indent--;
    cline(x, "}");
}

/* emit_scatter_rows's loop over the ids of segment a, b (operands in[0],
 * in[1] of a plain scatter, or a segment's g and ids): each checked,
 * listed (list >= 0; on paths, path_scatter lists them), and with two
 * operands its row added (a pad's skipped). */
static void emit_scatter_ids(Ctx *x, const Node *n, const Node *a, const Node *b, const char *dst, int list,
                             int64_t pad)
{
    char *rowc = count_c(x, &n->shape, 1);
    emit_ids_open(x, n, b, n->shape.d[0]);
    if (pad >= 0 && n->nin == 2)
        cline(x, "if (id == %" PRId64 ")", pad);
    if (pad >= 0 && n->nin == 2)
        cline(x, "    continue;");
    if (list >= 0 && !(pad != -1 && n->nin >= 3))
        cline(x, "m->touched%d[m->ntouched%d++] = (int32_t)id;", list, list);
    if (n->nin == 2) {
        cline(x, "for (int64_t j = 0; j < %s; j++)", rowc);
        cline(x, "    %s[id * %s + j] += %s[r * %s + j];", dst, rowc, vname(a), rowc);
    }
    emit_ids_close(x);
}

/* ---------------------------------------------------------------- SGD in the scatter
 *
 * NAME_train_step is NAME_grad, then NAME_update. With plain SGD a sparse
 * gradient's scatter and the update that follows can be one pass over the
 * rows (runtime/rows.c, nnrt_rows_scatter_sgd: the same bits, no gradient
 * row written for an id that comes once, none read back): the train graph's
 * last top-level nodes, when they are such scatters, each of a table no
 * later node reads, take that path during NAME_train_step (m->sgd_fused,
 * set there when no grad-ready hook is set); NAME_grad and NAME_ctx_grad
 * keep the gradient. */

/* Param j when n is a top-level sparse_scatter_add giving param j's whole
 * gradient from values of the call (no operand is a param's memory); -1. */
static int fusable_scatter(Ctx *t, const Node *n)
{
    if (n->op != OP_SPARSESCATTER || !n->aux)
        return -1;
    int j = info(n)->grad_of;
    if (j < 0 || t->g->grads[j] != n || !sparse_grad(t, j))
        return -1;
    for (int k = 0; k < n->nin; k++)
        if (view_root(n->in[k])->op == OP_PARAM)
            return -1;
    return j;
}

/* The first of the top-level nodes that end the train graph and are all
 * fusable scatters (top.n: none). After them nothing reads a param. */
static int fused_from(Ctx *t)
{
    const Block *top = &t->g->top;
    int k = top->n;
    if (!t->g->grads || t->target->hook || t->g->opt.kind != OPT_SGD)
        return k;
    while (k > 0 && fusable_scatter(t, top->nodes[k - 1]) >= 0)
        k--;
    return k;
}

bool sgd_in_scatter(Ctx *t, int i)
{
    const Block *top = &t->g->top;
    for (int k = fused_from(t); k < top->n; k++)
        if (fusable_scatter(t, top->nodes[k]) == i)
            return true;
    return false;
}

/* The fused branch of sparse scatter n, param i's gradient in dst: the ids
 * of every fused scatter checked at the first (no param moves before all
 * are known good: an error leaves the params as NAME_grad would), then
 * the rows applied. */
static void emit_scatter_sgd(Ctx *x, const Node *n, const char *dst, int i)
{
    const Block *top = &x->g->top;
    int from = fused_from(x);
    if (top->nodes[from] == n)
        for (int k = from; k < top->n; k++) {
            const Node *s = top->nodes[k];
            for (int j = 1; j < s->nin; j += s->nin == 2 ? 2 : 3)
                if (!ids_checked(s->in[j], s->shape.d[0])) {
                    emit_ids_open(x, s, s->in[j], s->shape.d[0]);
                    emit_ids_close(x);
                }
        }
    char *rowc = count_c(x, &n->shape, 1), *w = xsprintf("m->model->params + %" PRId64, x->param_off[i]);
    if (n->nin > 3 || (n->nin == 3 && c_path_pad(n->in[1]) != -1)) {
        /* segments, paths (ranges): the counts of all segments first (plain ids: paths that never end) */
        const int shared = shared_path_segs(n);
        for (int k = 0; k < (shared ? 1 : n->nin); k += 3) /* (shared paths: the rows' visits) */
            cline(x, "nnrt_path_count(%s, m->left%d);", seg_args(x, n->in[k + 1], n->in[k + 2]), i);
        if (shared) { /* one visit of each path row for all segments */
            cline(x, "nnrt_path_scatter_sgd_m(%s, %s, %s, %s, %d, %s, %s, m->left%d, (float)m->model->lr);", w, dst,
                  rowc, path_args(x, n->in[1]), shared, seg_list(n, 0), seg_list(n, 2), i);
            return;
        }
        for (int k = 0; k < n->nin; k += 3)
            cline(x, "nnrt_path_scatter_sgd(%s, %s, %s, %s, %s, %s, m->left%d, (float)m->model->lr);", w, dst, rowc,
                  seg_args(x, n->in[k + 1], n->in[k + 2]), vname(n->in[k]), vname(n->in[k + 2]), i);
        return;
    }
    const Node *ids = n->in[1];
    char *N = ir_is_int_scalar(ids) ? "1" : count_c(x, &ids->shape, 0);
    char *ids_c = ir_is_int_scalar(ids) ? xsprintf("&(int32_t){(int32_t)%s}", vname(ids)) : (char *)vname(ids);
    if (n->nin == 3)
        cline(x, "nnrt_rows_scatter_sgd(%s, %s, %s, %s, %s, %s, %s, %s, m->left%d, (float)m->model->lr);", w, dst, rowc,
              ids_c, N, size_c(x, ids->shape.d[ids->shape.rank - 1]), vname(n->in[0]), vname(n->in[2]), i);
    else
        cline(x, "nnrt_rows_scatter_sgd(%s, %s, %s, %s, %s, 1, NULL, %s, m->left%d, (float)m->model->lr);", w, dst, rowc,
              ids_c, N, vname(n->in[0]), i);
}

static void emit_scatter_list(Ctx *x, const Node *n, const char *dst, int list, const char *rowc);

/* SCATTERADD (or SCATTERROWS, SPARSESCATTER) n's rows added into dst (n's shape [V, ...]): row r of
 * operand a goes to row ids[r], each id checked. A sparse_scatter_add
 * (or, list >= 0, a loop's scatter_rows summed into the sparse gradient
 * of param list) lists its rows, after their check, for the next call
 * and the sparse update. */
void emit_scatter_rows(Ctx *x, const Node *n, const char *dst, bool zero_first, int list)
{
    NN_ASSERT(n->shape.rank >= 1 && n->in[1]->dtype == DT_I32);
    char *rowc = count_c(x, &n->shape, 1);
    int sparse = info(n)->grad_of >= 0 && sparse_grad(x, info(n)->grad_of) ? info(n)->grad_of : -1;
    if (sparse >= 0) {
        emit_zero_touched(x, dst, sparse, rowc);
        list = sparse;
        if (sgd_in_scatter(x, sparse)) {
            cline(x, "if (m->sgd_fused) { /* %s_train_step: the SGD step in the scatter */", x->g->model);
            x->indent++;
            emit_scatter_sgd(x, n, dst, sparse);
            x->indent--;
            cline(x, "} else {");
            x->indent++;
            emit_scatter_list(x, n, dst, list, rowc);
            x->indent--;
            cline(x, "}");
            return;
        }
    } else if (zero_first) {
        cline(x, "memset(%s, 0, (size_t)%s * sizeof(float));", dst, count_c(x, &n->shape, 0));
    }
    emit_scatter_list(x, n, dst, list, rowc);
}

/* The rows of scatter n added into dst, each id checked (not hier's
 * paths, surely in range), listed in m->touched<list> when list >= 0;
 * on hier's paths and class's ranges path_scatter adds and lists them. */
static void emit_scatter_list(Ctx *x, const Node *n, const char *dst, int list, const char *rowc)
{
    if (n->nin == 2) {
        emit_scatter_ids(x, n, n->in[0], n->in[1], dst, list, c_path_pad(n->in[1]));
        return;
    }
    const int shared = shared_path_segs(n);
    if (shared) { /* paths (surely in range) shared by every segment: one visit of each row */
        cline(x, "nnrt_path_scatter_m(%s, %s, %s, %d, %s, %s, %s);", dst, rowc, path_args(x, n->in[1]), shared,
              seg_list(n, 0), seg_list(n, 2),
              list >= 0 ? xsprintf("m->touched%d, &m->ntouched%d", list, list) : "NULL, &(int64_t){0}");
        return;
    }
    for (int k = 0; k < n->nin; k += 3) { /* each segment g, ids, h in turn */
        const Node *a = n->in[k], *b = n->in[k + 1], *h = n->in[k + 2];
        int64_t pad = c_path_pad(b); /* hier's paths: their pad rows add nothing (c_approx.c) */
        /* on paths surely in range, path_scatter alone: no id to check, and it lists the rows */
        if (!ids_checked(b, n->shape.d[0]))
            emit_scatter_ids(x, n, a, b, dst, list, pad);
        if (pad != -1) /* (runtime/rows_path.c: it lists the rows; each entry its own row: seg_args) */
            cline(x, "nnrt_path_scatter(%s, %s, %s, %s, %s, %s);", dst, rowc, seg_args(x, b, h), vname(a), vname(h),
                  list >= 0 ? xsprintf("m->touched%d, &m->ntouched%d", list, list) : "NULL, &(int64_t){0}");
        else /* the rows a[r] h[r / n] (h[r]: rows_per_entry), each added as it is computed (runtime/rows.c) */
            cline(x, "nnrt_rows_scatter(%s, %s, %s, %s, %s, %s, %s);", dst, rowc, vname(b), count_c(x, &b->shape, 0),
                  rows_per_entry(b, h) ? "1" : size_c(x, b->shape.d[b->shape.rank - 1]), vname(a), vname(h));
    }
}

/* ROWSDOT, ROWSWSUM: every id checked, then the runtime's loop over the
 * rows in place (runtime/rows.c). */
static void emit_rows(Ctx *x, const Node *n, const char *v)
{
    const Node *W = n->in[0], *ids = n->in[1], *y = n->in[2];
    char *count = count_c(x, &ids->shape, 0);
    if (!ids_checked(ids, W->shape.d[0])) {
        emit_ids_open(x, n, ids, W->shape.d[0]);
        emit_ids_close(x);
    }
    if (c_path_pad(ids) != -1) /* hier's paths (class's ranges), each to its first pad (runtime/rows_path.c) */
        cline(x, "nnrt_path_%s(%s, %s, %s, %s, %s);", n->op == OP_ROWSDOT ? "dot" : "wsum", vname(W),
              size_c(x, W->shape.d[1]), path_args(x, ids), vname(y), v);
    else
        cline(x, "nnrt_%s(%s, %s, %s, %s, %s, %s, %s);", op_name[n->op], vname(W), size_c(x, W->shape.d[1]),
              vname(ids), count, size_c(x, ids->shape.d[ids->shape.rank - 1]), vname(y), v);
}

/* The rows, gathers, scatters and copies ops (c_target.c's switch sends them here). */
void c_emit_gather(Ctx *x, Node *n, const char *v)
{
    Graph *g = x->g;
    const Node *a = n->nin > 0 ? n->in[0] : NULL, *b = n->nin > 1 ? n->in[1] : NULL;
    const char *va = a ? vname(a) : NULL, *vb = b ? vname(b) : NULL;
    (void)g, (void)va, (void)vb;
    switch (n->op) {
    case OP_ROW: {
        NN_ASSERT(a->shape.rank >= 1 && ir_is_int_scalar(b));
        if (!index_in_range(g, b, a->shape.d[0]))
            emit_index_check(x, n, vb, size_c(x, a->shape.d[0]));
        char *rowc = count_c(x, &a->shape, 1);
        if (ir_is_int_scalar(n))
            cline(x, "const int64_t %s = %s[%s];", v, va, vb);
        else if (n->dtype == DT_I32)
            cline(x, "const int32_t *%s = %s + %s * %s;", v, va, vb, rowc);
        else
            cline(x, "const float *%s = %s + %s * %s;", v, va, vb, rowc);
        break;
    }
    case OP_GATHER: {
        NN_ASSERT(a->shape.rank >= 1 && is_int_tensor(b));
        char *rowc = count_c(x, &a->shape, 1);
        const char *ty = n->dtype == DT_I32 ? "int32_t" : "float";
        cline(x, "for (int64_t r = 0; r < %s; r++) {", count_c(x, &b->shape, 0));
        x->indent++;
        cline(x, "const int64_t id = %s[r];", vb);
        emit_index_check(x, n, "id", size_c(x, a->shape.d[0]));
        cline(x, "memcpy(%s + r * %s, %s + id * %s, (size_t)%s * sizeof(%s));", v, rowc, va, rowc, rowc, ty);
        x->indent--;
        cline(x, "}");
        break;
    }
    case OP_CONCAT: {
        char *na = count_c(x, &a->shape, 0);
        const char *elem = n->dtype == DT_I32 ? "int32_t" : "float"; /* any element type */
        if (n->index > 0) { /* along a later axis: the two operands' blocks alternate */
            Shape outer = n->shape;
            outer.rank = n->index;
            char *ca = count_c(x, &a->shape, n->index), *cb = count_c(x, &b->shape, n->index);
            cline(x, "for (int64_t r = 0; r < %s; r++) {", count_c(x, &outer, 0));
            cline(x, "    memcpy(%s + r * (%s + %s), %s + r * %s, (size_t)%s * sizeof(%s));", v, ca, cb, va, ca, ca, elem);
            cline(x, "    memcpy(%s + r * (%s + %s) + %s, %s + r * %s, (size_t)%s * sizeof(%s));", v, ca, cb, ca, vb, cb,
                  cb, elem);
            cline(x, "}");
            break;
        }
        cline(x, "memcpy(%s, %s, (size_t)%s * sizeof(%s));", v, va, na, elem);
        cline(x, "memcpy(%s + %s, %s, (size_t)%s * sizeof(%s));", v, na, vb, count_c(x, &b->shape, 0), elem);
        break;
    }
    case OP_SLICE: {
        char *rowc = count_c(x, &a->shape, 1);
        cline(x, "memcpy(%s, %s + %s * %s, (size_t)%s * sizeof(float));", v, va, size_c(x, n->size), rowc,
              count_c(x, &n->shape, 0));
        break;
    }
    case OP_RESHAPE: /* f32 or i32: 4 bytes an element either way */
        cline(x, "memcpy(%s, %s, (size_t)%s * 4);", v, va, count_c(x, &n->shape, 0));
        break;
    case OP_SCATTERADD:
    case OP_SPARSESCATTER:
        emit_scatter_rows(x, n, v, true, -1);
        break;
    case OP_SCATTERROWS:
        break; /* its loop adds its rows into the sum (c_loop.c) */
    case OP_ROWSDOT:
    case OP_ROWSWSUM:
        emit_rows(x, n, v);
        break;
    case OP_GATHERSUM:
    case OP_GATHERMEAN: {
        /* a bag of embeddings: the table's rows added in place into the
         * result, which vectorizes over j, each id checked */
        char *rowc = count_c(x, &a->shape, 1), *len = count_c(x, &b->shape, 0);
        cline(x, "for (int64_t j = 0; j < %s; j++)", rowc);
        cline(x, "    %s[j] = 0.0f;", v);
        cline(x, "for (int64_t l = 0; l < %s; l++) {", len);
        x->indent++;
        cline(x, "const int64_t id = %s[l];", vb);
        emit_index_check(x, n, "id", size_c(x, a->shape.d[0]));
        cline(x, "const float *src = %s + id * %s;", va, rowc);
        cline(x, "for (int64_t j = 0; j < %s; j++)", rowc);
        cline(x, "    %s[j] += src[j];", v);
        x->indent--;
        cline(x, "}");
        if (n->op == OP_GATHERMEAN) {
            cline(x, "for (int64_t j = 0; j < %s; j++)", rowc);
            cline(x, "    %s[j] = (float)((double)%s[j] / (double)%s);", v, v, len);
        }
        break;
    }
    case OP_PICKGRAD: {
        NN_ASSERT(n->shape.rank >= 1);
        char *len = size_c(x, n->shape.d[n->shape.rank - 1]);
        cline(x, "memset(%s, 0, (size_t)%s * sizeof(float));", v, count_c(x, &n->shape, 0));
        emit_label_rows(x, n, count_c(x, &a->shape, 0), b, len, xsprintf("%s[r * %s + y] = %s[r];", v, len, va));
        break;
    }
    default:
        NN_ASSERT(!"not a gather op");
    }
}
