/*
 * select.c - the backend's choices as IR ops (docs/IR.md, "Ops chosen for
 * the backend"). Runs last, at every level, on the forward and the train
 * graph, so that a backend only maps ops to code:
 *
 *   logsumexp(matmul(X, W tb [+ b]))  -> linear_logsumexp(X, W [, b])
 *   pick(that matmul, y)              -> linear_pick(X, W, y [, b])
 *       when the logits are read by nothing else (one logsumexp, any picks,
 *       all in the matmul's block): inference with a cross-entropy or a
 *       log-probability never stores them;
 *   sum_axis/mean_axis(gather(T, ids), axis 0) -> gather_sum/gather_mean(T, ids)
 *       when the sum is the gather's one reader (a bag of embeddings: the
 *       rows are added from the table in place);
 *   sum_axis(mul(a, b), k)            -> mul_sum(a, b) axis=k
 *       when the sum is the product's one reader (the batch pass's
 *       row-wise dots and per-row matvecs, e.g. neg's logits: the
 *       [T, k+1, D] product is never stored);
 *   scatter_add in a loop body whose one reader is a sum of its loop
 *                                     -> scatter_rows
 *       (its rows go straight into the sum's buffer: a [V, D] table per
 *       iteration would cost O(V D) where the rows cost O(n D));
 *   a param's gradient that is one scatter_add of the top block with int
 *   ids, and is not the loss, an output or another param's gradient
 *                                     -> sparse_scatter_add
 *       (the backend keeps the list of rows it wrote: the next call zeroes
 *       only those, and SGD updates only those).
 *
 * Each rewrite keeps the node (its number, name and users) and changes its
 * op and operands; a matmul or gather left without readers is removed.
 * Preconditions: none (a graph without these patterns is left as it is).
 * Node.mark holds use counts while the pass runs and is reset to 0.
 */
#include "nngc.h"

#include <string.h>

/* Takes n (read by nothing now) out of its block. */
static void unlink_node(Node *n)
{
    Block *b = n->parent;
    for (int i = 0; i < b->n; i++)
        if (b->nodes[i] == n) {
            memmove(&b->nodes[i], &b->nodes[i + 1], sizeof(Node *) * (size_t)(b->n - i - 1));
            b->n--;
            return;
        }
    NN_ASSERT(!"node not in its block");
}

/* The logsumexp and picks of logits z = X W^T [+ b] that nothing else reads. */
static void select_linear(Block *b, Node *z)
{
    if (z->op != OP_MATMUL || z->ta || !z->tb || z->parent != b || z->shape.rank != 2)
        return;
    if (z->nin == 3 && !(z->in[2]->shape.rank == 1 && size_eq(z->in[2]->shape.d[0], z->shape.d[1])))
        return;
    int lse = 0, picks = 0;
    for (int i = 0; i < b->n; i++) {
        Node *u = b->nodes[i];
        if (u->nin > 0 && u->in[0] == z) {
            lse += u->op == OP_LOGSUMEXP;
            picks += u->op == OP_PICK;
        }
    }
    if (lse != 1 || lse + picks != z->mark)
        return;
    Node *x = z->in[0], *w = z->in[1], *bias = z->nin == 3 ? z->in[2] : NULL;
    for (int i = 0; i < b->n; i++) {
        Node *u = b->nodes[i];
        if (u->nin == 0 || u->in[0] != z)
            continue;
        if (u->op == OP_LOGSUMEXP)
            ir_rewrite(u, OP_LINEARLSE, bias ? 3 : 2, (Node *[]){x, w, bias});
        else
            ir_rewrite(u, OP_LINEARPICK, bias ? 4 : 3, (Node *[]){x, w, u->in[1], bias});
    }
    unlink_node(z);
}

static void select_block(Graph *g, Block *b, bool linear)
{
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op == OP_LOOP) {
            Loop *l = n->loop;
            select_block(g, &l->body, linear);
            for (int r = 0; r < l->nsum; r++) {
                Node *v = l->sum[r];
                if (v->op == OP_SCATTERADD && v->parent == &l->body && v->mark == 1)
                    v->op = OP_SCATTERROWS;
            }
        }
    }
    /* logits first: a rewrite removes the matmul, so walk a copy */
    int n0 = b->n;
    Node **nodes = xalloc(sizeof(Node *) * (size_t)(n0 + 1));
    if (n0 > 0)
        memcpy(nodes, b->nodes, sizeof(Node *) * (size_t)n0);
    for (int i = 0; i < n0 && linear; i++)
        select_linear(b, nodes[i]);
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i], *a = n->nin > 0 ? n->in[0] : NULL;
        if (n->op == OP_SUMAXIS && a->op == OP_MUL && a->parent == b && a->mark == 1) {
            int axis = n->index;
            ir_rewrite(n, OP_MULSUM, 2, (Node *[]){a->in[0], a->in[1]});
            n->index = axis;
            unlink_node(a);
            i = -1;
            continue;
        }
        if ((n->op == OP_SUMAXIS || n->op == OP_MEANAXIS) && n->index == 0 && a->op == OP_GATHER &&
            a->dtype == DT_F32 && a->parent == b && a->mark == 1 && a->in[1]->shape.rank == 1) {
            /* (the rows at a vector of ids; at a matrix of them, [steps, B]
             * under --batch, the sum is of each column's rows: as it is) */
            ir_rewrite(n, n->op == OP_SUMAXIS ? OP_GATHERSUM : OP_GATHERMEAN, 2, (Node *[]){a->in[0], a->in[1]});
            n->loc = a->loc; /* its index check is the gather's */
            unlink_node(a);
            i = -1; /* the block changed: start over (rare, and blocks are short) */
        }
    }
}

/* The gradients that are one scatter of rows, kept sparse. */
static void select_sparse_grads(Graph *g)
{
    for (int i = 0; g->grads && i < g->nparams; i++) {
        Node *v = g->grads[i];
        if (!v || v->op != OP_SCATTERADD || v->parent != &g->top || v->in[1]->dtype != DT_I32 || v == g->loss)
            continue;
        bool other = false;
        for (int k = 0; k < g->noutputs; k++)
            other = other || g->outputs[k].value == v;
        for (int k = 0; k < g->nparams; k++)
            other = other || (k != i && g->grads[k] == v);
        if (!other)
            v->op = OP_SPARSESCATTER;
    }
}

static void select_graph(Graph *g, bool linear)
{
    ir_count_uses(g); /* n->mark = its readers */
    select_block(g, &g->top, linear);
    select_sparse_grads(g);
    ir_clear_marks(&g->top);
}

/* --target=cuda keeps the logits: one GEMM, then the row kernels (a
 * fused linear + logsumexp would be a slow kernel on the device). */
void pass_select(PassCtx *pc) { select_graph(pc->g, pc->target == NULL); }
