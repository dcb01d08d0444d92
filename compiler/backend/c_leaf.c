/*
 * c_leaf.c - C for leaves (int constants, params, inputs, dims, ranges)
 * and int arithmetic.
 */
#include "backend.h"

/* Operand o of int arithmetic n, at n's flat element i: "" for a scalar
 * (the variable is the value), else its broadcast element's "[...]"
 * (cu_kernels.c's kernels read their operands the same way). */
char *int_operand_at(Ctx *x, const Node *o, const Node *n)
{
    if (ir_is_int_scalar(o))
        return "";
    return xsprintf("[%s]", shape_eq(&o->shape, &n->shape) ? "i" : bcast_expr(x, &o->shape, &n->shape, true));
}

/* The leaves, views and int arithmetic ops (c_target.c's switch sends them here). */
void c_emit_leaf(Ctx *x, Node *n, const char *v)
{
    Graph *g = x->g;
    const Node *a = n->nin > 0 ? n->in[0] : NULL, *b = n->nin > 1 ? n->in[1] : NULL;
    const char *va = a ? vname(a) : NULL, *vb = b ? vname(b) : NULL;
    (void)g, (void)va, (void)vb;
    switch (n->op) {
    case OP_ICONST:
        cline(x, "const int64_t %s = %s;", v, int_lit(n->i));
        break;
    case OP_PARAM:
        NN_ASSERT(n->index >= 0 && n->index < g->nparams);
        cline(x, "const float *%s = m->params + %" PRId64 "; /* %s */", v, x->param_off[n->index],
              g->params[n->index].name);
        break;
    case OP_INPUT: {
        NN_ASSERT(n->index >= 0 && n->index < g->ninputs);
        const char *name = g->inputs[n->index].name;
        if (ir_is_int_scalar(n))
            cline(x, "const int64_t %s = in->%s;", v, name);
        else if (n->dtype == DT_I32)
            cline(x, "const int32_t *%s = in->%s;", v, name);
        else if (n->shape.rank == 0)
            cline(x, "const float *%s = &in->%s;", v, name);
        else
            cline(x, "const float *%s = in->%s;", v, name);
        break;
    }
    case OP_DIM:
        cline(x, "const int64_t %s = %s;", v, size_c(x, n->size));
        break;
    case OP_INDEX:
        break; /* the loop's counter: declared by the for of emit_loop */
    case OP_IADD:
    case OP_ISUB:
    case OP_IMUL: {
        const char *op = n->op == OP_IADD ? "+" : n->op == OP_ISUB ? "-" : "*";
        if (ir_is_int_scalar(n)) {
            cline(x, "const int64_t %s = %s %s %s;", v, va, op, vb);
            break;
        }
        /* int tensors (batched index arithmetic), broadcast: a scalar, or
         * the element at i's position in the operand (small tables, once
         * per call: the flat index's divisions do not matter) */
        cline(x, "for (int64_t i = 0; i < %s; i++)", count_c(x, &n->shape, 0));
        cline(x, "    %s[i] = (int32_t)((int64_t)%s%s %s (int64_t)%s%s);", v, va, int_operand_at(x, a, n), op, vb,
              int_operand_at(x, b, n));
        break;
    }
    case OP_CHECKIDX: /* i, each checked against its bound (broadcast); the last axis's position is the example */
        if (ir_is_int_scalar(n)) {
            emit_index_check(x, n, va, vb);
            cline(x, "const int64_t %s = %s;", v, va);
            break;
        }
        cline(x, "for (int64_t i = 0; i < %s; i++) {", count_c(x, &n->shape, 0));
        x->indent++;
        cline(x, "const int64_t y = %s%s, hi = %s%s;", va, int_operand_at(x, a, n), vb, int_operand_at(x, b, n));
        emit_index_check_of(x, n, "y", "hi", xsprintf("i %% (%s)", size_c(x, n->shape.d[n->shape.rank - 1])));
        cline(x, "%s[i] = (int32_t)y;", v);
        x->indent--;
        cline(x, "}");
        break;
    case OP_RANGE:
        cline(x, "for (int64_t i = 0; i < %s; i++)", count_c(x, &n->shape, 0));
        cline(x, "    %s[i] = (int32_t)(%s + i);", v, size_c(x, n->size));
        break;
    default:
        NN_ASSERT(!"not a leaf op");
    }
}
