/*
 * par.c - operation-wise parallelism: two independent loops at the top of
 * the graph run at the same time, the second on another thread.
 *
 * The lecture's "parallelism across operations": the two directions of a
 * bidirectional RNN (and, in the train graph, their two reverse loops) do
 * not read each other's values, so nothing orders them. The pass finds, at
 * the top block, a loop L1 and the next loop L2 that does not depend on L1
 * (no path from L1 to L2 through the values in between), moves the nodes
 * between them so that they become neighbours (those L2 needs go before
 * L1, those that need L1 after L2: both moves keep every operand before its
 * user), and marks L1 `beside`: the backend runs L1 and L2 as two tasks
 * (runtime nnrt_par2) and joins before the next node. The memory plan keeps
 * every buffer used anywhere in the pair apart from every other.
 *
 * Which loops: the body must hold real work (a matrix product or an inner
 * loop: a fork and join costs a few microseconds), no random draw (the draw
 * order would depend on the threads) and no sparse gradient (it appends to
 * the model's touched-row list). Only the C target has tasks.
 *
 * It runs last at -O2, after select. --report=par lists the pairs and the
 * loops left alone, with the reason. Uses Node.mark (cleared here).
 */
#include "nngc.h"

#include <string.h>

/* Does block b (or a block inside it) hold work worth a second thread?
 * why: the reason it cannot run beside another loop, or NULL. */
static bool scan_body(const Block *b, const char **why)
{
    bool work = false;
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        if (op_flags[n->op] & OPF_RANDOM)
            *why = "draws random numbers";
        else if (n->op == OP_SPARSESCATTER)
            *why = "writes a sparse gradient";
        if (n->op == OP_MATVEC || n->op == OP_MATMUL || n->op == OP_BMM)
            work = true;
        if (n->op == OP_LOOP) {
            work = true;
            scan_body(&n->loop->body, why);
        }
    }
    return work;
}

static const char *unfit(const Node *loop)
{
    const char *why = NULL;
    bool work = scan_body(&loop->loop->body, &why);
    if (!why && !work)
        why = "no matrix product or inner loop in its body";
    return why;
}

static bool marked_outside(const Node *v, const Loop *l) { return v->mark && !ir_block_in_loop(v->parent, l); }

/* Does loop lp (l itself or a loop in its body) read a marked value of the
 * blocks enclosing l? Through an operand of a body node, or as one of lp's
 * results: a value summed, stacked or carried over can be an outer value
 * itself (a loop-invariant gradient term summed by a reverse loop). */
static bool loop_reads_marked(const Loop *lp, const Loop *l)
{
    for (int r = 0; r < lp->ncarry; r++)
        if (marked_outside(lp->next[r], l))
            return true;
    for (int r = 0; r < lp->nstack; r++)
        if (marked_outside(lp->stack[r], l))
            return true;
    for (int r = 0; r < lp->nsum; r++)
        if (marked_outside(lp->sum[r], l))
            return true;
    const Block *b = &lp->body;
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        for (int j = 0; j < n->nin; j++)
            if (marked_outside(n->in[j], l))
                return true;
        if (n->op == OP_LOOP && loop_reads_marked(n->loop, l))
            return true;
    }
    return false;
}

/* Node.mark = 0 for the top block's nodes at positions [from, end): only
 * they are marked (the nodes of loop bodies never are). */
static void clear_from(Block *top, int from, int end)
{
    for (int i = from; i < end; i++)
        top->nodes[i]->mark = 0;
}

/* Marks n when it depends on a marked node (a marked operand, or a loop
 * whose body reads one); says whether it does. */
static bool mark_if_dependent(Node *n)
{
    bool dep = false;
    for (int j = 0; j < n->nin && !dep; j++)
        dep = n->in[j]->mark != 0;
    if (!dep && n->op == OP_LOOP)
        dep = loop_reads_marked(n->loop, n->loop);
    n->mark = dep;
    return dep;
}

/* Marks, from position from of the top block on, every node that depends
 * on top->nodes[from], up to the first loop that does not and could run
 * beside it; returns that loop's position, or -1: none, or a loop that
 * depends on it is in chained (then no later loop can be independent of
 * it). *end: the position after the last node marked or not (for
 * clear_from). Stopping there, and clearing only what was marked, keeps a
 * loop from walking the whole graph (many loops in a row). */
static int mark_until_partner(Block *top, int from, const NodeIndex *chained, int *end)
{
    top->nodes[from]->mark = 1;
    for (int i = from + 1; i < top->n; i++) {
        Node *n = top->nodes[i];
        bool dep = mark_if_dependent(n);
        if (n->op == OP_LOOP && (dep ? node_index_get(chained, n) > 0 : !unfit(n))) {
            *end = i + 1;
            return dep ? -1 : i;
        }
    }
    *end = top->n;
    return -1;
}

/* The loops of the top block that could run beside another and that each
 * such loop after them depends on, through a chain: the next one depends
 * on it and is in the chain too (the last one is, with none after it). A
 * loop that depends on one of them has no partner after it. Found from the
 * end, each loop marking only up to the next one: loops in a row, each
 * reading the one before (every forward and reverse loop of a trained
 * RNN), are found without a walk to the end per loop. */
static void find_chained(Block *top, NodeIndex *chained)
{
    int next = -1; /* the next loop that could run beside another */
    bool next_chained = false;
    for (int i = top->n - 1; i >= 0; i--) {
        Node *n = top->nodes[i];
        if (n->op != OP_LOOP || unfit(n))
            continue;
        bool ch = next < 0;
        if (next >= 0 && next_chained) {
            n->mark = 1;
            for (int k = i + 1; k <= next; k++)
                mark_if_dependent(top->nodes[k]);
            ch = top->nodes[next]->mark != 0;
            clear_from(top, i, next + 1);
        }
        if (ch)
            node_index_put(chained, n, 1);
        next = i;
        next_chained = ch;
    }
}

/* Moves the nodes strictly between positions a (L1) and b (L2): the
 * unmarked ones (independent of L1) before L1, the marked ones after L2. */
static void make_neighbours(Block *top, int a, int b)
{
    int n = b - a + 1;
    Node **tmp = xalloc(sizeof(Node *) * (size_t)n);
    int k = 0;
    for (int i = a + 1; i < b; i++)
        if (!top->nodes[i]->mark)
            tmp[k++] = top->nodes[i];
    tmp[k++] = top->nodes[a];
    tmp[k++] = top->nodes[b];
    for (int i = a + 1; i < b; i++)
        if (top->nodes[i]->mark)
            tmp[k++] = top->nodes[i];
    NN_ASSERT(k == n);
    memcpy(&top->nodes[a], tmp, sizeof(Node *) * (size_t)n);
}

void pass_par(PassCtx *pc)
{
    if (pc->target) /* only the C target runs tasks (--target=cuda: loops stay apart) */
        return;
    Block *top = &pc->g->top;
    ir_clear_marks(top);
    NodeIndex chained = {0};
    find_chained(top, &chained);
    for (int i = 0; i < top->n; i++) {
        Node *l1 = top->nodes[i];
        if (l1->op != OP_LOOP)
            continue;
        const char *why = unfit(l1);
        if (why) {
            if (pc->report)
                fprintf(pc->report, "par: loop %s at line %d stays alone: it %s\n", l1->loop->var, l1->loc.line, why);
            continue;
        }
        int end;
        int j = mark_until_partner(top, i, &chained, &end);
        if (j < 0) {
            clear_from(top, i, end);
            if (pc->report)
                fprintf(pc->report, "par: loop %s at line %d: no later independent loop to run beside\n",
                        l1->loop->var, l1->loc.line);
            continue;
        }
        Node *l2 = top->nodes[j];
        make_neighbours(top, i, j);
        clear_from(top, i, end); /* the same nodes, in another order */
        l1->loop->beside = true;
        if (pc->report)
            fprintf(pc->report, "par: loop %s at line %d runs beside loop %s at line %d\n", l1->loop->var,
                    l1->loc.line, l2->loop->var, l2->loc.line);
        /* continue after the pair (L2 moved back, behind what went before L1) */
        while (top->nodes[i] != l2)
            i++;
    }
    ir_clear_marks(top);
}
