/*
 * print.c - numbering (ir_number), the text form of docs/IR.md (ir_print) and the Graphviz dump (ir_dot). Both printers survive broken graphs: they are what one reaches for when a pass breaks one.
 */
#include "nngc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ================================================================ numbering */

static void number_block(Block *b, int *next, int depth) {
    if (depth > MAX_LOOP_DEPTH)
        return;
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (!n)
            continue;
        n->id = (*next)++;
        if (n->op == OP_LOOP && n->loop)
            number_block(&n->loop->body, next, depth + 1);
        if (n->op == OP_FUSED && n->fused)
            number_block(n->fused, next, depth + 1);
    }
}

void ir_number(Graph *g) {
    int next = 0;
    number_block(&g->top, &next, 0);
}

/* ================================================================ text form */

#define LOC_COLUMN 48 /* where "@line:col" starts, when the line is shorter */

/* A FILE plus the current column, so that location markers line up. */
typedef struct Printer {
    FILE *out;
    const Graph *g;
    int col;
} Printer;

static void pr(Printer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pr(Printer *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vfprintf(p->out, fmt, ap);
    va_end(ap);
    if (k > 0)
        p->col += k;
}

static void pr_newline(Printer *p) {
    fputc('\n', p->out);
    p->col = 0;
}

static void pr_ref(Printer *p, const Node *x) {
    if (x)
        pr(p, "%%%d", x->id);
    else
        pr(p, "%%?");
}

static void pr_size(Printer *p, Size s) {
    char buf[96];
    pr(p, "%s", size_str(p->g, s, buf, sizeof buf));
}

static void pr_type(Printer *p, DType dt, const Shape *s) {
    char buf[300];
    pr(p, "%s", ir_type_str(p->g, dt, s, buf, sizeof buf));
}

static void pr_loc(Printer *p, Loc loc) {
    if (loc.line <= 0)
        return;
    pr(p, "%*s", p->col < LOC_COLUMN ? LOC_COLUMN - p->col : 1, "");
    pr(p, "@%d:%d", loc.line, loc.col);
}

static void pr_approx(Printer *p, const Approx *a) {
    if (a->kind == APPROX_FULL && !a->share_batch)
        return;
    const char *name = (unsigned)a->kind <= APPROX_EMBED ? approx_name[a->kind] : "?";
    pr(p, " with %s", name);
    const char *sep = "(";
    switch (a->kind) {
    case APPROX_SAMPLED: case APPROX_NCE: case APPROX_NEG:
        pr(p, "%sk=%" PRId64, sep, a->k), sep = ", ";
        if (a->lnz_set)
            pr(p, "%slnz=%g", sep, a->lnz);
        if (a->power_set)
            pr(p, "%spower=%g", sep, a->power);
        break;
    case APPROX_CLASS:
        pr(p, "%sc=%" PRId64, sep, a->k), sep = ", ";
        break;
    case APPROX_BINARY:
        if (a->k > 0)
            pr(p, "%secc=%" PRId64, sep, a->k), sep = ", ";
        if (a->hybrid > 0)
            pr(p, "%shybrid=%" PRId64, sep, a->hybrid), sep = ", ";
        break;
    case APPROX_EMBED:
        if (a->lambda1 != 0 || a->lambda2 != 1)
            pr(p, "%slambda1=%g, lambda2=%g", sep, a->lambda1, a->lambda2), sep = ", ";
        break;
    default:
        break;
    }
    if (a->share_batch)
        pr(p, "%sshare=batch", sep), sep = ", ";
    if (sep[0] == ',')
        pr(p, ")");
}

static void pr_indent(Printer *p, int depth) {
    pr(p, "%*s", 2 * depth, "");
}

static void print_block(Printer *p, const Block *b, int depth);

/* One node: "%id = op operands attributes : type "name"   @line:col". */
static void print_node(Printer *p, const Node *n, int depth) {
    const Graph *g = p->g;
    pr_indent(p, depth);
    pr(p, "%%%d = %s", n->id, ir_opname(n->op));
    switch (n->op) { /* leaf attributes come first, like operands */
    case OP_CONST:
    case OP_FILL:
        pr(p, " %g", n->f);
        break;
    case OP_ICONST:
        pr(p, " %" PRId64, n->i);
        break;
    case OP_PARAM:
    case OP_INPUT: { /* the declaration's name; its number if out of range (broken graphs print too) */
        bool param = n->op == OP_PARAM;
        int count = !g ? 0 : param ? g->nparams : g->ninputs;
        if (n->index >= 0 && n->index < count)
            pr(p, " %s", param ? g->params[n->index].name : g->inputs[n->index].name);
        else
            pr(p, " #%d", n->index);
        break;
    }
    case OP_DIM:
    case OP_RANGE: /* the first value */
        pr(p, " ");
        pr_size(p, n->size);
        break;
    case OP_INDEX:
        pr(p, " %s", n->loop && n->loop->var ? n->loop->var : "?");
        break;
    case OP_CARRY:
        pr(p, " %d", n->index);
        break;
    case OP_ARG:
        pr(p, " %d%s", n->index, n->ta ? " row" : "");
        break;
    default:
        break;
    }
    if (n->op == OP_LOOPOUT) {
        pr(p, " ");
        pr_ref(p, n->nin > 0 && n->in ? n->in[0] : NULL);
        pr(p, ".%d", n->index);
    } else if (n->op != OP_LOOP) {
        for (int i = 0; i < n->nin; i++) {
            pr(p, i ? ", " : " ");
            pr_ref(p, n->in ? n->in[i] : NULL);
        }
    }
    if ((n->op == OP_MATVEC || n->op == OP_MATMUL || n->op == OP_BMM) && n->ta)
        pr(p, " ta");
    if ((n->op == OP_MATMUL || n->op == OP_BMM) && n->tb)
        pr(p, " tb");
    if (n->op == OP_SUMAXIS || n->op == OP_MEANAXIS || n->op == OP_EXPAND || n->op == OP_MULSUM ||
        (n->op == OP_CONCAT && n->index))
        pr(p, " axis=%d", n->index);
    if (n->op == OP_HIERPATH || n->op == OP_HIERLABEL) {
        pr(p, " len=%" PRId64 " of=", n->i);
        pr_size(p, n->size);
    }
    if (n->op == OP_NEGLOSS || n->op == OP_NEGLOSSGRAD || n->op == OP_NCELOSS || n->op == OP_NCEGRAD ||
        n->op == OP_SAMPLEDLOSS || n->op == OP_SAMPLEDGRAD)
        pr(p, " at=%d len=%" PRId64, n->index, n->i);
    if (n->op == OP_CLASSIDS) {
        pr(p, " len=%" PRId64 " c=%d of=", n->i, n->index);
        pr_size(p, n->size);
    }
    if (n->op == OP_CLASSLOSS || n->op == OP_CLASSGRAD)
        pr(p, " level=%s", n->index ? "words" : "classes");
    if (n->op == OP_BINCODE) {
        pr(p, " len=%" PRId64 " hybrid=%d of=", n->i, n->index);
        pr_size(p, n->size);
    }
    if (n->op == OP_BINSLOT)
        pr(p, " hybrid=%d", n->index);
    if (n->op == OP_BINLOGZ)
        pr(p, " bits=%" PRId64 " hybrid=%d", n->i, n->index);
    if ((n->op == OP_VMFLOSS || n->op == OP_VMFGRAD) && (n->approx.lambda1 != 0 || n->approx.lambda2 != 1))
        pr(p, " lambda1=%g lambda2=%g", n->approx.lambda1, n->approx.lambda2);
    if (n->op == OP_SAMPLE) {
        pr(p, " k=%" PRId64 " site=%d of=", n->i, n->index);
        pr_size(p, n->size);
        if (n->f != NN_NOISE_POWER)
            pr(p, " power=%g", n->f);
    }
    if (n->op == OP_SLICE) {
        pr(p, " from=");
        pr_size(p, n->size);
    }
    if (n->op >= 0 && n->op < OP_COUNT && (op_flags[n->op] & OPF_SOFTMAX))
        pr_approx(p, &n->approx);

    if (n->op == OP_LOOP) {
        Loop *l = n->loop;
        if (!l) {
            pr(p, " <no loop>");
            pr_newline(p);
            return;
        }
        pr(p, " %s in ", l->var ? l->var : "?");
        pr_size(p, l->lo);
        pr(p, "..");
        pr_size(p, l->hi);
        if (l->reverse)
            pr(p, " reverse");
        if (l->beside)
            pr(p, " beside");
        if (n->nin > 0) {
            pr(p, " carry(");
            for (int i = 0; i < n->nin; i++) {
                pr(p, i ? ", " : "");
                pr_ref(p, n->in ? n->in[i] : NULL);
            }
            pr(p, ")");
        }
        pr(p, " {");
        pr_loc(p, n->loc);
        pr_newline(p);
        print_block(p, &l->body, depth + 1);
        for (int r = 0; r < l->ncarry; r++) {
            pr_indent(p, depth + 1);
            pr(p, "next ");
            pr_ref(p, l->carry[r]);
            pr(p, " <- ");
            pr_ref(p, l->next[r]);
            pr_newline(p);
        }
        for (int s = 0; s < l->nstack; s++) {
            pr_indent(p, depth + 1);
            pr(p, "stack ");
            pr_ref(p, l->stack[s]);
            pr_newline(p);
        }
        for (int s = 0; s < l->nsum; s++) {
            pr_indent(p, depth + 1);
            pr(p, "sum ");
            pr_ref(p, l->sum[s]);
            pr_newline(p);
        }
        pr_indent(p, depth);
        pr(p, "}");
        pr_newline(p);
        return;
    }

    pr(p, " : ");
    pr_type(p, n->dtype, &n->shape);
    if (n->place == PLACE_DEVICE) /* --target=cuda's placement (backend/place.c) */
        pr(p, " device");
    if (n->name)
        pr(p, " \"%s\"", n->name);
    if (n->op == OP_FUSED && n->fused) {
        pr(p, " {");
        pr_loc(p, n->loc);
        pr_newline(p);
        print_block(p, n->fused, depth + 1);
        pr_indent(p, depth);
        pr(p, "}");
        pr_newline(p);
        return;
    }
    pr_loc(p, n->loc);
    pr_newline(p);
}

static void print_block(Printer *p, const Block *b, int depth) {
    if (depth > MAX_LOOP_DEPTH) {
        pr_indent(p, depth);
        pr(p, "; ... nested too deep");
        pr_newline(p);
        return;
    }
    for (int i = 0; i < b->n; i++) {
        if (b->nodes[i]) {
            print_node(p, b->nodes[i], depth);
        } else {
            pr_indent(p, depth);
            pr(p, "; <null node>");
            pr_newline(p);
        }
    }
}

static const char *init_text(const ParamDecl *pd, char *buf, size_t n) {
    switch (pd->init) {
    case INIT_DEFAULT: return "default";
    case INIT_ZEROS: return "zeros";
    case INIT_ONES: return "ones";
    case INIT_GLOROT: return "glorot";
    case INIT_UNIFORM: snprintf(buf, n, "uniform(%g, %g)", pd->a, pd->b); return buf;
    case INIT_NORMAL: snprintf(buf, n, "normal(%g, %g)", pd->a, pd->b); return buf;
    }
    return "?";
}

/* The declarations: what the graph's leaves and results refer to. */
static void print_decls(Printer *p, const Graph *g) {
    pr(p, "model %s", g->model ? g->model : "?");
    pr_newline(p);
    for (int i = 0; i < g->ndims; i++) {
        const DimDecl *d = &g->dims[i];
        pr(p, "dim %s %s %" PRId64, d->name, d->dynamic ? "max" : "=", d->value);
        pr_newline(p);
    }
    for (int i = 0; i < g->nparams; i++) {
        const ParamDecl *pd = &g->params[i];
        char buf[96];
        pr(p, "param %s : ", pd->name);
        pr_type(p, DT_F32, &pd->shape);
        pr(p, " init %s%s", init_text(pd, buf, sizeof buf), pd->frozen ? " frozen" : "");
        pr_newline(p);
    }
    for (int i = 0; i < g->ninputs; i++) {
        const InputDecl *in = &g->inputs[i];
        pr(p, "input %s : ", in->name);
        pr_type(p, in->dtype, &in->shape);
        pr_newline(p);
    }
    for (int i = 0; i < g->noutputs; i++) {
        pr(p, "output %s = ", g->outputs[i].name);
        pr_ref(p, g->outputs[i].value);
        pr_newline(p);
    }
    if (g->loss) {
        pr(p, "loss = ");
        pr_ref(p, g->loss);
        pr_newline(p);
    }
    for (int i = 0; g->grads && i < g->nparams; i++) {
        if (!g->grads[i])
            continue;
        pr(p, "grad %s = ", g->params[i].name);
        pr_ref(p, g->grads[i]);
        pr_newline(p);
    }
    const OptimizerDecl *o = &g->opt;
    switch (o->kind) {
    case OPT_NONE:
        break;
    case OPT_SGD:
        pr(p, "optimizer sgd lr=%g", o->lr);
        pr_newline(p);
        break;
    case OPT_ADAM:
        pr(p, "optimizer adam lr=%g beta1=%g beta2=%g eps=%g%s", o->lr, o->beta1, o->beta2, o->eps,
           o->lazy ? " lazy=1" : "");
        pr_newline(p);
        break;
    case OPT_ADAGRAD:
        pr(p, "optimizer adagrad lr=%g eps=%g", o->lr, o->eps);
        pr_newline(p);
        break;
    }
}

void ir_print(Graph *g, FILE *out, const char *header) {
    ir_number(g);
    Printer p = {out, g, 0};
    pr(&p, "; ---- IR dump %s ----", header ? header : "");
    pr_newline(&p);
    print_decls(&p, g);
    pr_newline(&p);
    print_block(&p, &g->top, 0);
}

/* ================================================================ Graphviz */

/* Writes s as the inside of a DOT string (quotes and backslashes escaped). */
static void dot_escaped(FILE *out, const char *s) {
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s == '\n' ? ' ' : *s, out);
    }
}

static void dot_block(FILE *out, const Graph *g, const Block *b, int depth) {
    if (depth > MAX_LOOP_DEPTH)
        return;
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        if (!n)
            continue;
        char ty[300];
        fprintf(out, "%*sn%d [label=\"%%%d %s ", 2 * depth + 2, "", n->id, n->id, ir_opname(n->op));
        dot_escaped(out, ir_type_str(g, n->dtype, &n->shape, ty, sizeof ty));
        fprintf(out, "\"];\n");
        if (n->op != OP_LOOP || !n->loop)
            continue;
        const Loop *l = n->loop;
        char lo[96], hi[96];
        fprintf(out, "%*ssubgraph cluster_n%d {\n", 2 * depth + 2, "", n->id);
        fprintf(out, "%*slabel=\"", 2 * depth + 4, "");
        dot_escaped(out, l->var ? l->var : "?");
        fprintf(out, " in %s..%s%s\";\n", size_str(g, l->lo, lo, sizeof lo), size_str(g, l->hi, hi, sizeof hi),
                l->reverse ? " reverse" : "");
        dot_block(out, g, &l->body, depth + 1);
        fprintf(out, "%*s}\n", 2 * depth + 2, "");
    }
}

/* Data edges operand -> user; a loop's results as dashed edges into the
 * carry they feed (next) or into the LOOP node (stack, sum). */
static void dot_edges(FILE *out, const Block *b, int depth) {
    if (depth > MAX_LOOP_DEPTH)
        return;
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        if (!n)
            continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in && n->in[j])
                fprintf(out, "  n%d -> n%d;\n", n->in[j]->id, n->id);
        if (n->op != OP_LOOP || !n->loop)
            continue;
        const Loop *l = n->loop;
        dot_edges(out, &l->body, depth + 1);
        for (int r = 0; r < l->ncarry; r++)
            if (l->next[r] && l->carry[r])
                fprintf(out, "  n%d -> n%d [style=dashed, label=\"next\"];\n", l->next[r]->id, l->carry[r]->id);
        for (int s = 0; s < l->nstack; s++)
            if (l->stack[s])
                fprintf(out, "  n%d -> n%d [style=dashed, label=\"stack\"];\n", l->stack[s]->id, n->id);
        for (int s = 0; s < l->nsum; s++)
            if (l->sum[s])
                fprintf(out, "  n%d -> n%d [style=dashed, label=\"sum\"];\n", l->sum[s]->id, n->id);
    }
}

void ir_dot(Graph *g, FILE *out) {
    ir_number(g);
    fprintf(out, "digraph \"");
    dot_escaped(out, g->model ? g->model : "model");
    fprintf(out, "\" {\n  node [shape=box, fontname=\"monospace\"];\n");
    dot_block(out, g, &g->top, 0);
    dot_edges(out, &g->top, 0);
    for (int i = 0; i < g->noutputs; i++) {
        if (!g->outputs[i].value)
            continue;
        fprintf(out, "  out%d [shape=ellipse, label=\"output ", i);
        dot_escaped(out, g->outputs[i].name ? g->outputs[i].name : "?");
        fprintf(out, "\"];\n  n%d -> out%d;\n", g->outputs[i].value->id, i);
    }
    if (g->loss)
        fprintf(out, "  loss [shape=ellipse, label=\"loss\"];\n  n%d -> loss;\n", g->loss->id);
    fprintf(out, "}\n");
}

