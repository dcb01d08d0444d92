/*
 * walk.c - the emission order, use counts and where gradients are
 * computed (m->grads).
 */
#include "backend.h"

void collect_block(Ctx *x, Block *b)
{
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        n->aux = xalloc(sizeof(NodeInfo));
        info(n)->off = -1;
        info(n)->grad_of = -1;
        info(n)->pp_off = -1;
        VEC_PUSH(x->all, x->nall, x->capall, n);
        if (n->op == OP_LOOP) {
            NN_ASSERT(n->loop && n->loop->node == n);
            collect_block(x, &n->loop->body);
        }
    }
}

void count_uses(Ctx *x)
{
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        for (int j = 0; j < n->nin; j++)
            info(n->in[j])->uses++;
        if (n->op == OP_LOOP) {
            Loop *l = n->loop;
            for (int r = 0; r < l->ncarry; r++)
                if (l->next[r] != l->carry[r]) /* c = c: nothing is copied, nothing read */
                    info(l->next[r])->uses++;
            for (int r = 0; r < l->nstack; r++)
                info(l->stack[r])->uses++;
            for (int r = 0; r < l->nsum; r++)
                info(l->sum[r])->uses++;
        }
    }
    for (int i = 0; i < x->g->noutputs; i++)
        info(x->g->outputs[i].value)->uses++;
    if (x->g->loss)
        info(x->g->loss)->uses++;
    for (int i = 0; x->g->grads && i < x->g->nparams; i++)
        if (x->g->grads[i])
            info(x->g->grads[i])->uses++;
}

/* Is v one of g's outputs (the caller reads it after the call)? */
bool is_output(const Graph *g, const Node *v)
{
    for (int k = 0; k < g->noutputs; k++)
        if (g->outputs[k].value == v)
            return true;
    return false;
}

/* Is some output of x's graphs a float scalar input? Its value lives in the
 * caller's inputs struct (`&in->s`, often a temporary: the descriptor's
 * forward builds one on its stack), so the output is a copy in the
 * context's in_out[] instead (forward.c). */
bool output_is_scalar_input(const Ctx *x)
{
    for (const Ctx *c = x; c; c = c == x ? x->train : NULL)
        for (int k = 0; k < c->g->noutputs; k++)
            if (c->g->outputs[k].value->op == OP_INPUT && c->g->outputs[k].value->shape.rank == 0)
                return true;
    return false;
}

/* In the train graph, a gradient that has a buffer of its own (or is the
 * sum of a loop) is computed right into the param's slot of m->grads,
 * instead of the arena and a copy. Not when the value is also the loss or
 * an output (those must outlive the call as they are), nor for the second
 * param of two with the same gradient node. */
void place_grads(Ctx *x)
{
    Graph *g = x->g;
    for (int i = 0; g->grads && i < g->nparams; i++) {
        Node *v = g->grads[i];
        if (!v || v == g->loss || info(v)->grad_of >= 0)
            continue;
        if (is_output(g, v))
            continue;
        if (has_buffer(v) && v->dtype == DT_F32) {
            info(v)->grad_of = i;
        } else if (v->op == OP_LOOPOUT) {
            Loop *l = v->in[0]->loop;
            int r = v->index - l->ncarry - l->nstack;
            if (r < 0)
                continue;
            NodeInfo *li = info(v->in[0]);
            if (!li->sum_grad_of) {
                li->sum_grad_of = xalloc(sizeof(int) * (size_t)(l->nsum + 1));
                for (int k = 0; k < l->nsum; k++)
                    li->sum_grad_of[k] = -1;
            }
            if (li->sum_grad_of[r] < 0) {
                li->sum_grad_of[r] = i;
                info(v)->grad_of = i;
            }
        }
    }
}

/* The scatter_rows a top-level loop sums into param i's gradient (computed
 * in place in m->grads: place_grads), or NULL: an RNN LM's output rows
 * under hier or neg, a batched skip-gram's context rows, where the rows
 * of every iteration add into the gradient. */
const Node *loop_sparse_scatter(Ctx *t, int i)
{
    const Node *v = t->g->grads ? t->g->grads[i] : NULL;
    if (!v || t->target->hook || v->op != OP_LOOPOUT || info(v)->grad_of != i)
        return NULL;
    const Loop *l = v->in[0]->loop;
    int r = v->index - l->ncarry - l->nstack;
    if (r < 0 || l->node->parent != &t->g->top)
        return NULL;
    const Node *s = l->sum[r];
    return s->op == OP_SCATTERROWS && s->parent == &l->body && s->in[1]->dtype == DT_I32 ? s : NULL;
}

/* Is param i's gradient (in train context t) a sparse_scatter_add (the
 * select pass) computed in place in m->grads, or a loop's sum of
 * scatter_rows (loop_sparse_scatter)? Then the model
 * keeps the list of rows it touched (touchedI, ntouchedI): the next call
 * zeroes only those, and SGD updates only those, as PyTorch's sparse
 * embedding gradients do, instead of a pass over the whole table. */
bool sparse_grad(Ctx *t, int i)
{
    const Node *v = t->g->grads ? t->g->grads[i] : NULL;
    if (t->target->hook) /* a device target: dense on the device (cu_target.c) */
        return false;
    return v && ((v->op == OP_SPARSESCATTER && info(v)->grad_of == i) || loop_sparse_scatter(t, i));
}

/* The most rows sparse gradient i's scatter may touch per call. */
int64_t sparse_grad_cap(Ctx *t, int i)
{
    const Node *s = loop_sparse_scatter(t, i), *sc = s ? s : t->g->grads[i];
    int64_t per = 0;
    for (int k = 1; k < sc->nin; k += sc->nin == 2 ? 2 : 3) { /* every segment's ids (the rows pass's segments) */
        const Node *ids = sc->in[k];
        per += ir_is_int_scalar(ids) ? 1 : shape_max_count(t->g, &ids->shape);
    }
    if (s) { /* every iteration's rows */
        const Loop *l = s->parent->loop;
        Shape trip = {.rank = 1, .d = {size_sub(l->hi, l->lo)}};
        per *= shape_max_count(t->g, &trip);
    }
    return per;
}


/* ---------------------------------------------------------------- loop values in place */

/* Is v an output or the loss (their memory outlives the call)? */
static bool is_result(Ctx *x, const Node *v)
{
    return is_output(x->g, v) || v == x->g->loss;
}

/* The node whose memory v's value is in: v, or for a product in its
 * addend's memory (place_addends), the addend's (a row view: not
 * placeable, its memory is another's). */
static Node *mem_of(Node *v)
{
    while (info(v)->in_addend)
        v = v->in[2];
    return v;
}

/* Can body value v of loop l be computed straight into loop memory (a
 * stack's row, or one of two buffers)? A float or int value of the body
 * itself with a buffer of its own in the arena, not a gradient, an
 * output or a copy between host and device. */
static bool placeable(Ctx *x, const Loop *l, const Node *v)
{
    return v->parent == &l->body && has_buffer(v) && info(v)->grad_of < 0 && !info(v)->slot_loop &&
           !info(v)->in_addend && v->op != OP_TOHOST && v->op != OP_TODEVICE && !is_result(x, v);
}

/* Whether c, a row of a buffer, is the only read of that row: its index
 * is the index of the loop whose body holds it (plus or minus a constant:
 * step t reads row t, a row no other step reads), and the buffer is
 * computed just outside that loop (no loop around it runs the steps
 * again: `for k { for t { ... row t ... } }` reads each row once per k). */
static bool row_read_once(const Node *c)
{
    const Loop *l = c->parent->loop;
    const Node *i = c->in[1];
    if ((i->op == OP_IADD || i->op == OP_ISUB) && (i->in[1]->op == OP_ICONST || i->in[1]->op == OP_DIM))
        i = i->in[0];
    return l && i->op == OP_INDEX && i->loop == l && c->in[0]->parent == l->node->parent;
}

/* A product `matmul A, B, C` (the fuse pass's bias into GEMM) first
 * copies C into its output, then accumulates. When nothing else reads C
 * (a value of its own, or a row of a buffer nothing else reads: an RNN's
 * input projection, computed for every step before the loop, row t read
 * by step t's product only: row_read_once), the product accumulates in
 * C's memory instead: no copy (a kernel launch per word on a GPU), no
 * buffer. */
static void place_addends(Ctx *x)
{
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        if ((n->op != OP_MATMUL && n->op != OP_MATVEC) || n->nin != 3 || !has_buffer(n) || info(n)->grad_of >= 0 ||
            is_result(x, n))
            continue;
        /* the addend itself, or the buffer it is a row of, read by nothing else */
        const Node *c = n->in[2], *root = c->op == OP_ROW ? c->in[0] : c;
        if (c->parent != n->parent || !shape_eq(&c->shape, &n->shape) || info(c)->uses != 1 ||
            !has_buffer(root) || info(root)->uses != 1 || info(root)->grad_of >= 0 || root->dtype != DT_F32 ||
            root->op == OP_TODEVICE || root->op == OP_TOHOST || is_result(x, root) || (c != root && !row_read_once(c)))
            continue;
        info(n)->in_addend = true;
    }
}

static void put_in_stack(const Loop *l, Node *v, int s)
{
    info(v)->slot_loop = l->node;
    info(v)->slot_stack = s;
}

/* The copies at the end of an iteration, made pointer moves (the
 * lecture's "don't move data", for loops): a stacked value is computed in
 * its stack's row; a carry that is stacked lives in its stack (its next
 * value goes into the row of the next iteration); any other carry points
 * at its next value's memory, a stack row or one of two buffers that the
 * iterations take in turn. On a GPU each copy is a launch per word; on a
 * CPU a pass over the value. Run before the memory plan. */
void place_loops(Ctx *x)
{
    place_addends(x);
    for (int i = 0; i < x->nall; i++) {
        Node *n = x->all[i];
        if (n->op != OP_LOOP)
            continue;
        Loop *l = n->loop;
        NodeInfo *ni = info(n);
        ni->carry_ptr = xalloc(sizeof(bool) * (size_t)(l->ncarry + 1));
        ni->carry_stack = xalloc(sizeof(int) * (size_t)(l->ncarry + 1));
        bool *held = xalloc(sizeof(bool) * (size_t)(l->nstack + 1)); /* stack s holds a carry */
        ni->stack_alias = xalloc(sizeof(int) * (size_t)(l->nstack + 1));
        for (int s = 0; s < l->nstack; s++)
            ni->stack_alias[s] = -1;
        for (int r = 0; r < l->ncarry; r++) {
            ni->carry_stack[r] = -1;
            Node *v = l->next[r];
            if (v == l->carry[r] || v->dtype != DT_F32 || !placeable(x, l, mem_of(v)))
                continue;
            for (int s = 0; s < l->nstack; s++)
                if (l->stack[s] == l->carry[r] && !held[s]) {
                    held[s] = true;
                    ni->carry_stack[r] = s;
                    put_in_stack(l, mem_of(v), s); /* the row after (before) */
                    /* a stack of the next value itself (`hs[t] = h` of h's
                     * update) is the carry's stack one row on (forward
                     * loops: autodiff's reverse ones stack no such pair) */
                    for (int s2 = 0; !l->reverse && s2 < l->nstack; s2++)
                        if (l->stack[s2] == v && !held[s2] && ni->stack_alias[s2] < 0) {
                            held[s2] = true;
                            ni->stack_alias[s2] = s;
                        }
                    break;
                }
        }
        for (int s = 0; s < l->nstack; s++)
            if (!held[s] && placeable(x, l, mem_of(l->stack[s])))
                put_in_stack(l, mem_of(l->stack[s]), s);
        for (int r = 0; r < l->ncarry; r++) {
            Node *v = l->next[r], *mv = mem_of(v);
            if (v == l->carry[r] || v->dtype != DT_F32 || v->parent != &l->body)
                continue;
            if (info(mv)->slot_loop == n) {
                ni->carry_ptr[r] = true;
            } else if (placeable(x, l, mv)) {
                ni->carry_ptr[r] = true;
                info(mv)->pingpong = true; /* pp_off: the memory plan's */
            }
        }
    }
}

/* The C expression of iteration t's row in l's stacks: t - lo. */
char *loop_iter_c(Ctx *x, const Loop *l)
{
    const char *t = vname(l->index);
    return size_is_const(l->lo) && l->lo.c == 0 ? xstrdup(t) : xsprintf("(%s - %s)", t, size_c(x, l->lo));
}

/* Where value v is, for its declaration: base + its offset, or (placed by
 * place_loops) its row of a stack, or the buffer of this iteration's
 * parity. base: "m->arena", "m->darena". */
char *value_ptr_c(Ctx *x, const Node *v, const char *base)
{
    const NodeInfo *ni = info(v);
    if (ni->in_addend) /* (place_addends) */
        return xsprintf("(float *)%s", vname(v->in[2]));
    if (ni->slot_loop) {
        const Loop *l = ni->slot_loop->loop;
        char *it = loop_iter_c(x, l);
        if (stack_holds_carry(ni->slot_loop, ni->slot_stack)) /* a next value: the carry's row of the next iteration */
            it = xsprintf("(%s %c 1)", it, l->reverse ? '-' : '+');
        return xsprintf("s%d_%d + %s * %s", ni->slot_loop->id, ni->slot_stack, it, count_c(x, &v->shape, 0));
    }
    if (ni->pingpong) {
        const Loop *l = v->parent->loop;
        return xsprintf("(%s & 1 ? %s + %" PRId64 " : %s + %" PRId64 ")", loop_iter_c(x, l), base, ni->pp_off, base,
                        ni->off);
    }
    return xsprintf("%s + %" PRId64, base, ni->off);
}

/* The stack of loop n that holds carry r (place_loops), or -1. */
int carry_stack(const Node *n, int r)
{
    const NodeInfo *ni = info(n);
    return ni->carry_stack ? ni->carry_stack[r] : -1;
}

/* Does stack r of loop n hold one of its carries (one row more)? */
bool stack_holds_carry(const Node *n, int r)
{
    for (int c = 0; c < n->loop->ncarry; c++)
        if (carry_stack(n, c) == r)
            return true;
    return false;
}

/* Is stack r of loop n written in place: by its value (computed in its
 * row), by the carry it holds, or as another stack's rows? Then no copy
 * at the end of an iteration. */
bool stack_in_place(const Node *n, int r)
{
    const NodeInfo *vi = info(mem_of(n->loop->stack[r]));
    return (info(n)->stack_alias && info(n)->stack_alias[r] >= 0) || (vi->slot_loop == n && vi->slot_stack == r) ||
           stack_holds_carry(n, r);
}

/* The C expression of stack r of loop n, base: "m->arena", "m->darena".
 * A stack with memory of its own: base + its offset (a reverse loop's
 * stack that holds a carry has its extra row in front, for the value after
 * the last iteration: + a row); one that is another's rows one further on
 * (stack_alias): that stack's variable + a row. */
char *stack_ptr_c(Ctx *x, const Node *n, int r, const char *base)
{
    const NodeInfo *ni = info(n);
    const Loop *l = n->loop;
    char *row = count_c(x, &l->stack[r]->shape, 0);
    int a = ni->stack_alias ? ni->stack_alias[r] : -1;
    if (a >= 0)
        return xsprintf("s%d_%d + %s", n->id, a, row);
    if (l->reverse && stack_holds_carry(n, r))
        return xsprintf("%s + %" PRId64 " + %s", base, ni->stack_off[r], row);
    return xsprintf("%s + %" PRId64, base, ni->stack_off[r]);
}

/* Where carry r of loop n is at the first iteration, where its initial
 * value is copied: its buffer c, or when its stack holds it the stack's
 * row of the first iteration (0, or the last row for a reverse loop). */
char *carry_start_c(Ctx *x, const Node *n, int r)
{
    const Loop *l = n->loop;
    int s = carry_stack(n, r);
    if (s < 0)
        return xsprintf("c%d_%d", n->id, r);
    if (!l->reverse)
        return xsprintf("s%d_%d", n->id, s);
    return xsprintf("s%d_%d + (%s - 1) * %s", n->id, s, size_c(x, size_sub(l->hi, l->lo)),
                    count_c(x, &l->stack[s]->shape, 0));
}
