/*
 * verify.c - the IR verifier (ir_verify), run after lowering and after every pass: structure, operand order and scoping, loop results, and every node's type against ir_infer.
 */
#include "nngc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ================================================================ verifier */

/* Scope states kept in Node.mark during the walk (old marks are restored). */
enum { V_UNSEEN, V_LIVE, V_DEAD };

typedef struct Verifier {
    Graph *g;
    const char *after;
    FILE *err;
    Node **all; /* every node held by a block, sorted by address */
    int nall, capall;
} Verifier;

/* Reports the first problem found; always returns false. */
static bool vfail(Verifier *V, const Node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool vfail(Verifier *V, const Node *n, const char *fmt, ...) {
    fprintf(V->err, "nngc: internal error: IR verifier (after %s): ", V->after ? V->after : "?");
    if (n)
        fprintf(V->err, "%%%d %s: ", n->id, ir_opname(n->op));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(V->err, fmt, ap);
    va_end(ap);
    fputc('\n', V->err);
    return false;
}

/* Compares pointers as integers: relational operators on pointers into
 * different objects are undefined. */
static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (Node *const *)a, y = (uintptr_t) * (Node *const *)b;
    return x < y ? -1 : x > y;
}

static bool in_graph(const Verifier *V, const Node *n) {
    return bsearch(&n, V->all, (size_t)V->nall, sizeof(Node *), cmp_ptr) != NULL;
}

/* Phase 1: every block's nodes point back at it and loops are well formed
 * enough to walk; collects all nodes. */
static bool collect(Verifier *V, Block *b, int depth) {
    if (depth > MAX_LOOP_DEPTH)
        return vfail(V, NULL, "loops nested more than %d deep (a cycle of blocks?)", MAX_LOOP_DEPTH);
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (!n)
            return vfail(V, NULL, "a block holds a NULL node at position %d", i);
        if (n->op < 0 || n->op >= OP_COUNT)
            return vfail(V, n, "unknown op %d", (int)n->op);
        if (n->parent != b)
            return vfail(V, n, "its parent is not the block that holds it");
        VEC_PUSH(V->all, V->nall, V->capall, n);
        if (n->op != OP_LOOP)
            continue;
        Loop *l = n->loop;
        if (!l)
            return vfail(V, n, "has no Loop");
        if (l->node != n)
            return vfail(V, n, "its Loop belongs to another node");
        if (l->body.outer != b || l->body.loop != l)
            return vfail(V, n, "its body is not linked to the block holding the loop");
        if (!collect(V, &l->body, depth + 1))
            return false;
    }
    return true;
}

/* Whether operand x (of n, number i) is in scope at n. */
static bool check_operand(Verifier *V, const Node *n, int i, const Node *x) {
    if (!x)
        return vfail(V, n, "operand %d is missing", i);
    if (!in_graph(V, x))
        return vfail(V, n, "operand %d (%%%d %s) is not in the graph", i, x->id, ir_opname(x->op));
    if (x->mark == V_UNSEEN)
        return vfail(V, n, "operand %d (%%%d %s) is used before its definition", i, x->id, ir_opname(x->op));
    if (x->mark == V_DEAD)
        return vfail(V, n, "operand %d (%%%d %s) is defined inside a loop body this node is not in", i, x->id,
                     ir_opname(x->op));
    return true;
}

/* Loop results may be body values or outer values defined before the loop:
 * exactly the LIVE nodes at the end of the body. */
static bool check_result(Verifier *V, const Node *ln, const char *kind, int k, const Node *v) {
    if (!v)
        return vfail(V, ln, "%s %d has no value", kind, k);
    if (!in_graph(V, v))
        return vfail(V, ln, "%s %d (%%%d %s) is not in the graph", kind, k, v->id, ir_opname(v->op));
    if (v->mark != V_LIVE)
        return vfail(V, ln, "%s %d (%%%d %s) is not in scope at the end of the body", kind, k, v->id,
                     ir_opname(v->op));
    if (v->op == OP_LOOP)
        return vfail(V, ln, "%s %d is a loop, which has no value", kind, k);
    return true;
}

static bool check_node(Verifier *V, Node *n) {
    const Graph *g = V->g;
    int arity = op_arity[n->op];
    if (n->nin < 0 || (arity >= 0 && n->nin != arity))
        return vfail(V, n, "has %d operands, its op takes %d", n->nin, arity);
    if (n->nin > 0 && !n->in)
        return vfail(V, n, "has no operand array");
    for (int i = 0; i < n->nin; i++) {
        if (!check_operand(V, n, i, n->in[i]))
            return false;
        if (n->in[i]->op == OP_LOOP && n->op != OP_LOOPOUT)
            return vfail(V, n, "operand %d (%%%d) is a loop, which has no value", i, n->in[i]->id);
        if (n->in[i]->op == OP_SCATTERROWS)
            return vfail(V, n, "operand %d (%%%d) is a scatter_rows, which only a sum of its loop reads", i,
                         n->in[i]->id);
    }

    switch (n->op) {
    case OP_INDEX:
    case OP_CARRY: {
        Loop *l = n->loop;
        if (!l || n->parent != &l->body)
            return vfail(V, n, "is not in the body of its own loop");
        if (n->op == OP_INDEX && l->index != n)
            return vfail(V, n, "is not its loop's index node");
        if (n->op == OP_CARRY && (n->index < 0 || n->index >= l->ncarry || l->carry[n->index] != n))
            return vfail(V, n, "is not carry %d of its loop", n->index);
        break;
    }
    case OP_LOOP: {
        Loop *l = n->loop;
        if (n->nin != l->ncarry)
            return vfail(V, n, "has %d initial values for %d carries", n->nin, l->ncarry);
        if (!l->index)
            return vfail(V, n, "has no index node");
        for (int r = 0; r < l->ncarry; r++)
            if (!l->carry[r])
                return vfail(V, n, "carry %d has no CARRY node", r);
        break;
    }
    case OP_FUSED: {
        /* the body: ARG k has operand k's type; the others are elementwise
         * ops on earlier body nodes */
        const Block *fb = n->fused;
        if (!fb || fb->n == 0)
            return vfail(V, n, "has no body");
        NodeIndex pos = {0}; /* body node -> its first position (a body may be 10k nodes long) */
        for (int i = 0; i < fb->n; i++)
            if (node_index_get(&pos, fb->nodes[i]) < 0)
                node_index_put(&pos, fb->nodes[i], i);
        for (int i = 0; i < fb->n; i++) {
            const Node *b = fb->nodes[i];
            if (b->op == OP_ARG) {
                if (b->index < 0 || b->index >= n->nin)
                    return vfail(V, n, "body node %%%d reads operand %d of %d", b->id, b->index, n->nin);
                if (!shape_eq(&b->shape, &n->in[b->index]->shape) || b->dtype != n->in[b->index]->dtype)
                    return vfail(V, n, "body node %%%d has another type than operand %d", b->id, b->index);
                if (!b->ta && b->dtype != DT_F32)
                    return vfail(V, n, "body node %%%d: an element ARG must be f32", b->id);
                continue;
            }
            /* row ops (expand, pick_grad) read row ARGs, elementwise ops
             * never do */
            bool row = b->op == OP_PICKGRAD || b->op == OP_EXPAND;
            if (!row && !(op_flags[b->op] & OPF_ELEMWISE))
                return vfail(V, n, "body node %%%d %s is not elementwise", b->id, ir_opname(b->op));
            if (row && !ir_row_op(b, &n->shape))
                return vfail(V, n, "body node %%%d %s is not a row op of the fused shape", b->id, ir_opname(b->op));
            for (int k = 0; k < b->nin; k++) {
                int j = node_index_get(&pos, b->in[k]);
                if (j < 0 || j >= i)
                    return vfail(V, n, "body node %%%d reads a value defined after it or outside the body", b->id);
                if ((b->in[k]->op == OP_ARG && b->in[k]->ta) != row)
                    return vfail(V, n, "body node %%%d: %s reads %s", b->id, ir_opname(b->op),
                                 row ? "a value that is not a row ARG" : "a row ARG");
            }
        }
        break;
    }
    case OP_LOOPOUT: {
        const Node *ln = n->in[0];
        if (ln->op != OP_LOOP)
            return vfail(V, n, "reads %%%d %s, not a loop", ln->id, ir_opname(ln->op));
        int nres = ln->loop->ncarry + ln->loop->nstack + ln->loop->nsum;
        if (n->index < 0 || n->index >= nres)
            return vfail(V, n, "result %d out of range: %%%d has %d results", n->index, ln->id, nres);
        break;
    }
    default:
        break;
    }

    /* The stored type must be the one its operands give it. */
    Node copy = *n;
    char err[512], t1[300], t2[300];
    if (!ir_infer(g, &copy, err, sizeof err))
        return vfail(V, n, "does not type-check: %s", err);
    if (copy.dtype != n->dtype || !shape_eq(&copy.shape, &n->shape))
        return vfail(V, n, "stored type %s, but its operands give %s", ir_type_str(g, n->dtype, &n->shape, t1, sizeof t1),
                     ir_type_str(g, copy.dtype, &copy.shape, t2, sizeof t2));
    return true;
}

static void kill_block(Block *b) {
    for (int i = 0; i < b->n; i++)
        b->nodes[i]->mark = V_DEAD;
}

/* Phase 2: walk in order; a node is LIVE from its definition to the end of
 * its block, and DEAD once the loop body holding it has ended. */
static bool walk(Verifier *V, Block *b) {
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (!check_node(V, n))
            return false;
        if (n->op == OP_LOOP) {
            Loop *l = n->loop;
            if (!walk(V, &l->body))
                return false;
            char t1[300], t2[300];
            for (int r = 0; r < l->ncarry; r++) {
                if (!check_result(V, n, "next value", r, l->next[r]))
                    return false;
                const Node *c = l->carry[r], *x = l->next[r];
                if (c->dtype != x->dtype || !shape_eq(&c->shape, &x->shape))
                    return vfail(V, n, "next value %d (%%%d) is %s, but the carry is %s", r, x->id,
                                 ir_type_str(V->g, x->dtype, &x->shape, t1, sizeof t1),
                                 ir_type_str(V->g, c->dtype, &c->shape, t2, sizeof t2));
            }
            for (int r = 0; r < l->ncarry; r++)
                if (l->next[r]->op == OP_SCATTERROWS)
                    return vfail(V, n, "next value %d is a scatter_rows, which only a sum of its loop reads", r);
            for (int s = 0; s < l->nstack; s++) {
                if (!check_result(V, n, "stacked value", s, l->stack[s]))
                    return false;
                if (l->stack[s]->op == OP_SCATTERROWS)
                    return vfail(V, n, "stacked value %d is a scatter_rows, which only a sum of its loop reads", s);
            }
            for (int s = 0; s < l->nsum; s++) {
                if (!check_result(V, n, "summed value", s, l->sum[s]))
                    return false;
                if (l->sum[s]->op == OP_SCATTERROWS && l->sum[s]->parent != &l->body)
                    return vfail(V, n, "summed value %d is a scatter_rows of another block", s);
            }
            kill_block(&l->body);
        }
        /* A LOOP becomes usable (by LOOPOUT) only after its body. */
        n->mark = V_LIVE;
    }
    return true;
}

static bool check_results(Verifier *V) {
    Graph *g = V->g;
    for (int i = 0; i < g->noutputs; i++) {
        const Node *v = g->outputs[i].value;
        const char *name = g->outputs[i].name ? g->outputs[i].name : "?";
        if (!v)
            return vfail(V, NULL, "output '%s' has no value", name);
        if (!in_graph(V, v) || v->parent != &g->top)
            return vfail(V, v, "is output '%s' but is not in the top block", name);
        if (v->op == OP_LOOP || v->op == OP_SCATTERROWS)
            return vfail(V, v, "is output '%s' but a %s has no stored value", name, ir_opname(v->op));
    }
    for (int i = 0; g->grads && i < g->nparams; i++) {
        const Node *v = g->grads[i];
        if (!v)
            continue;
        if (!in_graph(V, v) || v->parent != &g->top || v->op == OP_SCATTERROWS)
            return vfail(V, v, "is the gradient of param '%s' but is not a stored value of the top block",
                         g->params[i].name);
        if (v->dtype != DT_F32 || !shape_eq(&v->shape, &g->params[i].shape)) {
            char t1[300], t2[300];
            return vfail(V, v, "is the gradient of param '%s' %s but is %s", g->params[i].name,
                         ir_type_str(g, DT_F32, &g->params[i].shape, t1, sizeof t1),
                         ir_type_str(g, v->dtype, &v->shape, t2, sizeof t2));
        }
    }
    if (g->loss) {
        const Node *v = g->loss;
        if (!in_graph(V, v) || v->parent != &g->top)
            return vfail(V, v, "is the loss but is not in the top block");
        if (v->op == OP_LOOP || v->dtype != DT_F32 || v->shape.rank != 0) {
            char t[300];
            return vfail(V, v, "is the loss but is %s, not a float scalar",
                         ir_type_str(g, v->dtype, &v->shape, t, sizeof t));
        }
    }
    return true;
}

bool ir_verify(Graph *g, const char *after, FILE *err) {
    ir_number(g); /* so that messages name nodes as a dump would */
    Verifier V = {.g = g, .after = after, .err = err ? err : stderr};
    if (!collect(&V, &g->top, 0))
        return false;
    if (V.nall > 1) /* V.all is NULL for an empty graph: qsort must not get it */
        qsort(V.all, (size_t)V.nall, sizeof(Node *), cmp_ptr);
    for (int i = 1; i < V.nall; i++)
        if (V.all[i] == V.all[i - 1])
            return vfail(&V, V.all[i], "appears more than once in the graph");

    /* Node.mark is scratch space for passes: borrow it and give it back. */
    int *saved = xalloc(sizeof(int) * (size_t)(V.nall + 1));
    for (int i = 0; i < V.nall; i++) {
        saved[i] = V.all[i]->mark;
        V.all[i]->mark = V_UNSEEN;
    }
    bool ok = walk(&V, &g->top) && check_results(&V);
    for (int i = 0; i < V.nall; i++)
        V.all[i]->mark = saved[i];
    return ok;
}
