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
    mark_block(&g->top);
    Node **copy = xalloc(sizeof(Node *) * (size_t)(g->ninputs + 1));
    int ndev = 0, nhost = 0;
    int64_t dev_bytes = 0, host_bytes = 0;
    for (int i = 0; i < g->top.n; i++) {
        Node *n = g->top.nodes[i];
        if (n->op != OP_INPUT || copy[n->index] || ir_is_int_scalar(n) || !device_reads(&g->top, n))
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
