/*
 * place.c - the placement stage of --target=cuda: where each value lives,
 * and the copies between host and device as IR ops (docs/CUDA.md).
 *
 * After the pass pipeline, on F and on T (driver/compile.c calls it):
 *
 *   host     inputs (the caller's memory), int scalars (dims, int
 *            constants, loop indexes, an int scalar input, a row of an
 *            int vector: kernel arguments, never copied)
 *   device   everything else: params (resident: put on the device at
 *            init or load, never per call), and every value computed
 *
 * An int scalar that the passes read as a row of an int vector they
 * computed (a batched id) is first computed again from host values
 * (host_rows below), so that it stays a kernel argument.
 *
 * Then the copies are made explicit, the lecture's "move copies early":
 *
 *   to_device  one per input that a device op reads, placed right after
 *              the input, in the top block: once per call, before any
 *              loop, never per iteration; device ops read the copy
 *   to_host    one per output and for the loss, at the end of the top
 *              block: results come back once, at the end of the call
 *
 * A gradient stays on the device (NAME_update runs there); NAME_grad_data
 * downloads it when asked. The copies are counted for --stats.
 */
#include "emit.h"

#include <inttypes.h>

/* Is n a host value (see the top of the file)? */
static bool on_host(const Node *n)
{
    return n->op == OP_INPUT || n->op == OP_TOHOST || ir_is_int_scalar(n);
}

/* Can x[r], for x an int vector computed from host values (a host input,
 * a range, a gather of one at the other, their int sums and products),
 * be computed on the host as an int scalar? The passes may have batched
 * an id read in a loop (ids[t] for t in 1..T: gather(ids, range 1), then
 * its row t - 1) while its reader stays in the loop and wants a host id. */
static bool host_int_row(const Node *x)
{
    if (x->dtype != DT_I32 || x->shape.rank != 1)
        return false;
    switch (x->op) {
    case OP_INPUT: case OP_RANGE:
        return true;
    case OP_TODEVICE:
        return host_int_row(x->in[0]);
    case OP_GATHER:
        return x->in[0]->shape.rank == 1 && host_int_row(x->in[0]) && host_int_row(x->in[1]);
    case OP_IADD: case OP_ISUB: case OP_IMUL:
        for (int j = 0; j < 2; j++)
            if (!ir_is_int_scalar(x->in[j]) &&
                !(shape_eq(&x->in[j]->shape, &x->shape) && host_int_row(x->in[j])))
                return false;
        return true;
    default:
        return false;
    }
}

/* x[r] on the host (host_int_row(x) said it can), built at b; loc: the
 * row's, where a check of an id fails. */
static Node *host_int_at(Builder *b, Node *x, Node *r, Loc loc)
{
    switch (x->op) {
    case OP_INPUT:
        return build_op2(b, OP_ROW, x, r, loc);
    case OP_RANGE: /* lo + r */
        if (size_is_const(x->size) && x->size.c == 0)
            return r;
        return build_op2(b, OP_IADD, build_leaf(b, ir_size_node(x->size, loc), true), r, loc);
    case OP_TODEVICE:
        return host_int_at(b, x->in[0], r, loc);
    case OP_GATHER: /* table[ids[r]], checked as the gather checks ids */
        return host_int_at(b, x->in[0], host_int_at(b, x->in[1], r, loc), loc);
    default: { /* IADD, ISUB, IMUL */
        Node *in[2];
        for (int j = 0; j < 2; j++)
            in[j] = ir_is_int_scalar(x->in[j]) ? x->in[j] : host_int_at(b, x->in[j], r, loc);
        return build_op(b, x->op, 2, in, loc);
    }
    }
}

/* Every int scalar read from a row of an int vector computed on the
 * device, computed on the host instead; returns how many. The rows are
 * listed first: building may put leaves at the head of the top block. */
static void list_rows(Block *blk, Node ***rows, int *n, int *cap)
{
    for (int i = 0; i < blk->n; i++) {
        Node *x = blk->nodes[i];
        if (x->op == OP_LOOP)
            list_rows(&x->loop->body, rows, n, cap);
        if (x->op == OP_ROW && ir_is_int_scalar(x) && x->in[0]->op != OP_INPUT && host_int_row(x->in[0]))
            VEC_PUSH(*rows, *n, *cap, x);
    }
}

static int host_rows(Graph *g)
{
    Node **rows = NULL;
    int n = 0, cap = 0;
    list_rows(&g->top, &rows, &n, &cap);
    for (int k = 0; k < n; k++) {
        Block *blk = rows[k]->parent;
        int i = 0;
        while (blk->nodes[i] != rows[k])
            i++;
        Builder b = build_at(g, blk, i, BUILD_ASSERT, "placement");
        ir_replace_uses(g, rows[k], host_int_at(&b, rows[k]->in[0], rows[k]->in[1], rows[k]->loc));
    }
    return n;
}

/* Marks every node of b (loop bodies too; a fused body is part of its
 * node's kernel and keeps no place of its own). */
static void mark_block(Block *b)
{
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        n->place = on_host(n) ? PLACE_HOST : PLACE_DEVICE;
        if (n->op == OP_LOOP) {
            n->loop->beside = false; /* (pass par) the device runs loops one after another on its stream */
            mark_block(&n->loop->body);
        }
    }
}

/* Device ops of b read copy[k] instead of input k. */
static void use_copies(Block *b, Node **copy)
{
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->place == PLACE_DEVICE && n->op != OP_TODEVICE)
            for (int j = 0; j < n->nin; j++)
                if (n->in[j]->op == OP_INPUT && copy[n->in[j]->index])
                    n->in[j] = copy[n->in[j]->index];
        if (n->op == OP_LOOP)
            use_copies(&n->loop->body, copy);
    }
}

/* Does a device op of b read input node in? */
static bool device_reads(const Block *b, const Node *in)
{
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        for (int j = 0; n->place == PLACE_DEVICE && j < n->nin; j++)
            if (n->in[j] == in)
                return true;
        if (n->op == OP_LOOP && device_reads(&n->loop->body, in))
            return true;
    }
    return false;
}

/* Is input node in a gradient as it is (loss += dot(x, V): d loss / d V
 * is x)? Gradients live on the device, so it is read there too. */
static bool is_grad(const Graph *g, const Node *in)
{
    for (int i = 0; g->grads && i < g->nparams; i++)
        if (g->grads[i] == in)
            return true;
    return false;
}

static int64_t bytes_of(const Graph *g, const Node *n)
{
    return shape_max_count(g, &n->shape) * 4; /* f32 and i32 */
}

/* A to_host copy of v at the end of the top block (one per value). */
static Node *download(Graph *g, Node *v)
{
    if (v->place == PLACE_HOST)
        return v;
    for (int i = 0; i < g->top.n; i++)
        if (g->top.nodes[i]->op == OP_TOHOST && g->top.nodes[i]->in[0] == v)
            return g->top.nodes[i];
    Builder b = build_at(g, &g->top, -1, BUILD_ASSERT, "placement");
    Node *c = build_op1(&b, OP_TOHOST, v, v->loc);
    c->name = v->name;
    c->place = PLACE_HOST;
    return c;
}

void place_device(Graph *g, FILE *stats, const char *what)
{
    if (host_rows(g))
        pass_dce(&(PassCtx){.g = g}); /* the device's int vectors no longer read */
    mark_block(&g->top);
    Node **copy = xalloc(sizeof(Node *) * (size_t)(g->ninputs + 1));
    int ndev = 0, nhost = 0;
    int64_t dev_bytes = 0, host_bytes = 0;
    for (int i = 0; i < g->top.n; i++) {
        Node *n = g->top.nodes[i];
        if (n->op != OP_INPUT || copy[n->index] || ir_is_int_scalar(n) ||
            !(device_reads(&g->top, n) || is_grad(g, n)))
            continue;
        Builder b = build_at(g, &g->top, i + 1, BUILD_ASSERT, "placement");
        Node *c = build_op1(&b, OP_TODEVICE, n, n->loc);
        c->name = n->name;
        c->place = PLACE_DEVICE;
        copy[n->index] = c;
        ndev++;
        dev_bytes += bytes_of(g, n);
        i++; /* past the copy */
    }
    use_copies(&g->top, copy);
    for (int i = 0; g->grads && i < g->nparams; i++)
        if (g->grads[i] && g->grads[i]->op == OP_INPUT && copy[g->grads[i]->index])
            g->grads[i] = copy[g->grads[i]->index];
    int before = g->top.n;
    if (g->loss)
        g->loss = download(g, g->loss);
    for (int i = 0; i < g->noutputs; i++)
        g->outputs[i].value = download(g, g->outputs[i].value);
    for (int i = before; i < g->top.n; i++) {
        nhost++;
        host_bytes += bytes_of(g, g->top.nodes[i]->in[0]);
    }
    if (!stats)
        return;
    int64_t params = 0;
    for (int i = 0; i < g->nparams; i++)
        params += shape_max_count(g, &g->params[i].shape) * 4;
    fprintf(stats,
            "placement (%s): copies per call: %d to device (%" PRId64 " bytes%s), %d to host (%" PRId64
            " bytes); params resident on the device (%" PRId64 " bytes)%s\n",
            what, ndev, dev_bytes, g->ndyn ? " at most" : "", nhost, host_bytes, params,
            g->grads ? "; gradients stay on the device" : "");
}
