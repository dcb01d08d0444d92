/*
 * c_task.c - two loops at the same time: a pair of top-level loops that the
 * pass par made neighbours and marked (the first `beside`) becomes two
 * static functions, the tasks, that NAME_ctx_forward (or _grad) hands to
 * the runtime's nnrt_par2 in place of the two loops.
 *
 * A task is the loop's code as emit_loop writes it, in a function of its
 * own: int NAME_ctx_forward_loopID(void *m, const void *in). What the loop
 * reads from before it is declared again at the top of the task: a value
 * with a buffer as a pointer to that buffer (it was computed before the
 * call), and the values that are only C expressions (params, inputs,
 * dims, int arithmetic, rows, other loops' results) by their own code
 * once more, which is cheap and has no side effects. The memory plan
 * (memplan.c) keeps every buffer of the pair's span apart, so the two
 * tasks never write the same memory.
 */
#include "backend.h"

/* The top-level loop right after a loop marked beside: its task partner. */
bool l_beside_partner(const Node *n)
{
    const Block *top = n->parent;
    if (n->op != OP_LOOP || top->outer)
        return false;
    for (int i = 1; i < top->n; i++)
        if (top->nodes[i] == n)
            return top->nodes[i - 1]->op == OP_LOOP && top->nodes[i - 1]->loop->beside;
    return false;
}

typedef struct Free {
    Node **v;
    int n, cap;
} Free;

/* Adds v to f unless it is there already; true when it was not. */
static bool add_once(Free *f, Node *v)
{
    for (int i = 0; i < f->n; i++)
        if (f->v[i] == v)
            return false;
    VEC_PUSH(f->v, f->n, f->cap, v);
    return true;
}

static void add_free(Free *f, Node *v)
{
    if (!add_once(f, v))
        return;
    if (has_buffer(v)) {
        if (info(v)->in_addend) /* its memory is its addend's (place_addends) */
            add_free(f, v->in[2]);
        return;
    }
    /* an expression: its operands too (a LOOPOUT's loop: its buffers) */
    if (v->op != OP_LOOPOUT)
        for (int j = 0; j < v->nin; j++)
            add_free(f, v->in[j]);
}

/* v, when it is a value of the enclosing blocks of loop l. */
static void add_outside(Free *f, Node *v, const Loop *l)
{
    if (v && !ir_block_in_loop(v->parent, l))
        add_free(f, v);
}

/* The values of the enclosing blocks of loop l that loop in (l or a loop
 * in its body) reads: its body's operands, and its results too, which can
 * be such values (a carry's next that the passes moved out of the loop,
 * a zero fill: the loop copies it into the carry at each iteration). */
static void collect_free(Free *f, const Loop *in, const Loop *l)
{
    const Block *b = &in->body;
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        for (int j = 0; j < n->nin; j++)
            add_outside(f, n->in[j], l);
        if (n->op == OP_LOOP)
            collect_free(f, n->loop, l);
    }
    for (int r = 0; r < in->ncarry; r++)
        add_outside(f, in->next[r], l);
    for (int s = 0; s < in->nstack; s++)
        add_outside(f, in->stack[s], l);
    for (int s = 0; s < in->nsum; s++)
        add_outside(f, in->sum[s], l);
}

static int by_pos(const void *a, const void *b)
{
    int p = info(*(Node *const *)a)->pos, q = info(*(Node *const *)b)->pos;
    return (p > q) - (p < q);
}

static char *task_name(Ctx *x, const Node *loop)
{
    return xsprintf("%s_%s_loop%d", x->g->model, x->fn, loop->id);
}

/* What loop reads from before it, in emission order. */
static Free free_values(Node *loop)
{
    Free f = {0};
    for (int r = 0; r < loop->nin; r++) /* the carries' initial values */
        add_free(&f, loop->in[r]);
    collect_free(&f, loop->loop, loop->loop);
    qsort(f.v, (size_t)f.n, sizeof *f.v, by_pos);
    return f;
}

/* The task of one loop: its free values, then the loop. */
static void emit_task(Ctx *x, Node *loop)
{
    Graph *g = x->g;
    const char *M = g->model;
    Free f = free_values(loop);
    Free loops = {0}; /* the loops whose buffers are named: once each, however many of their results are read */

    craw(x, "/* the loop %%%d of %s_%s, a task of nnrt_par2 (pass par) */\n", loop->id, M, x->fn);
    craw(x, "static int %s(void *mv, const void *inv)\n{\n", task_name(x, loop));
    x->indent = 1;
    cline(x, "%s_ctx *m = mv;", M);
    cline(x, "const %s_inputs *in = inv;", M);
    cline(x, "(void)m, (void)in;");
    for (int i = 0; i < g->ndims; i++)
        if (g->dims[i].dynamic)
            cline(x, "const int64_t d_%s = in->%s; (void)d_%s;", g->dims[i].name, g->dims[i].name, g->dims[i].name);
    for (int i = 0; i < f.n; i++) {
        Node *v = f.v[i];
        if (has_buffer(v)) {
            c_decl_buffer(x, v);
            cline(x, "(void)%s;", vname(v));
            continue;
        }
        if (v->op == OP_LOOPOUT && add_once(&loops, v->in[0]))
            emit_loop_bufs(x, v->in[0], false);
        x->target->emit_node(x, v);
    }
    emit_loop(x, loop);
    line_reset(x);
    cline(x, "return NNRT_OK;");
    x->indent = 0;
    craw(x, "}\n\n");
}

/* Before NAME_<fn>: the tasks of every pair of its top block. */
void emit_tasks(Ctx *x, const char *fn)
{
    Block *top = &x->g->top;
    x->fn = fn;
    for (int i = 0; i + 1 < top->n; i++) {
        Node *n = top->nodes[i];
        if (n->op != OP_LOOP || !n->loop->beside)
            continue;
        NN_ASSERT(top->nodes[i + 1]->op == OP_LOOP);
        emit_task(x, n);
        emit_task(x, top->nodes[i + 1]);
    }
}

/* In NAME_<fn>, at the first loop of a pair: both loops' buffers named for
 * the loop results that follow, then the two tasks at the same time. */
void emit_loop_pair(Ctx *x, Node *n)
{
    const Block *top = n->parent;
    int i = 0;
    while (top->nodes[i] != n)
        i++;
    Node *l2 = top->nodes[i + 1];
    cline(x, "/* with the loop %%%d on a second thread (pass par) */", l2->id);
    emit_loop_bufs(x, n, false);
    emit_loop_bufs(x, l2, false);
    cline(x, "{");
    cline(x, "    const int rc = nnrt_par2(%s, %s, m, in);", task_name(x, n), task_name(x, l2));
    cline(x, "    if (rc != NNRT_OK)");
    cline(x, "        return rc;");
    cline(x, "}");
    /* values only the tasks read would be unused variables here */
    for (int k = 0; k < 2; k++) {
        Free f = free_values(k ? l2 : n);
        for (int j = 0; j < f.n; j++)
            cline(x, "(void)%s;", vname(f.v[j]));
    }
}
