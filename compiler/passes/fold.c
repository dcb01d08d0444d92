/*
 * fold.c - constant folding, conservative for floats.
 *
 * Integer scalar arithmetic on constants is folded (unless it overflows
 * int32: then the run-time code keeps its own behaviour, which is the same
 * wrap-free int64 arithmetic, and the check stays visible). A DIM whose
 * value is static becomes an ICONST. Float arithmetic on scalar constants
 * is folded in float32, the precision the generated code uses, and only
 * when the result is finite and non-zero (as Lua's constfolding: no NaN,
 * no infinities, no -0.0 surprises). x * 1, x / 1 and -(-x) become x.
 *
 * Requires: a verified graph. Folded nodes are rewritten in place into
 * constants; bypassed ones are left for dce.
 */
#include "nngc.h"

#include <math.h>

static bool is_const(const Node *n, double *v) {
    if (n->op != OP_CONST)
        return false;
    *v = n->f;
    return true;
}

static void make_const(Node *n, double v) {
    n->op = OP_CONST;
    n->nin = 0;
    n->f = v;
}

static void make_iconst(Node *n, int64_t v) {
    n->op = OP_ICONST;
    n->nin = 0;
    n->i = v;
}

static int fold_block(Graph *g, Block *b) {
    int changed = 0;
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        double x, y;
        if (n->op == OP_LOOP) {
            changed += fold_block(g, &n->loop->body);
            continue;
        }
        if (op_flags[n->op] & OPF_RANDOM) /* a draw is never a constant */
            continue;
        switch (n->op) {
        case OP_DIM:
            if (size_is_const(n->size)) {
                make_iconst(n, n->size.c);
                changed++;
            }
            break;
        case OP_IADD:
        case OP_ISUB:
        case OP_IMUL: {
            if (n->in[0]->op != OP_ICONST || n->in[1]->op != OP_ICONST)
                break;
            int64_t a = n->in[0]->i, c = n->in[1]->i, r;
            bool ovf = n->op == OP_IADD ? __builtin_add_overflow(a, c, &r)
                     : n->op == OP_ISUB ? __builtin_sub_overflow(a, c, &r)
                                        : __builtin_mul_overflow(a, c, &r);
            if (!ovf && r >= INT32_MIN && r <= INT32_MAX) {
                make_iconst(n, r);
                changed++;
            }
            break;
        }
        case OP_NEG:
            if (is_const(n->in[0], &x) && x != 0) {
                make_const(n, -x);
                changed++;
            } else if (n->in[0]->op == OP_NEG) {
                ir_replace_uses(g, n, n->in[0]->in[0]);
                changed++;
            }
            break;
        case OP_ADD:
        case OP_SUB:
        case OP_MUL:
        case OP_DIV:
            if (is_const(n->in[0], &x) && is_const(n->in[1], &y)) {
                float fx = (float)x, fy = (float)y, r;
                r = n->op == OP_ADD ? fx + fy : n->op == OP_SUB ? fx - fy : n->op == OP_MUL ? fx * fy : fx / fy;
                if (isfinite(r) && r != 0.0f) {
                    make_const(n, (double)r);
                    changed++;
                }
                break;
            }
            /* x * 1, 1 * x, x / 1 where the result has x's shape */
            for (int k = 0; k < 2; k++) {
                Node *one = n->in[k], *other = n->in[1 - k];
                if (n->op == OP_DIV && k == 0)
                    continue;
                if ((n->op == OP_MUL || n->op == OP_DIV) && is_const(one, &x) && x == 1.0 &&
                    shape_eq(&other->shape, &n->shape)) {
                    ir_replace_uses(g, n, other);
                    changed++;
                    break;
                }
            }
            break;
        default: break;
        }
    }
    return changed;
}

void pass_fold(PassCtx *pc) { fold_block(pc->g, &pc->g->top); }
