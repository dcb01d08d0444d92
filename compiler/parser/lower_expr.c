/*
 * lower_expr.c - expressions: names, arithmetic, indexing, builtin calls
 * (each node typed by the builder, an ill-typed one reported at the token),
 * and the softmax methods of `with`.
 */
#include "lower.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- expressions */


static Node *sym_value(Lower *L, Sym *s, const Ast *a) {
    if (s->leaf)
        return s->leaf;
    if (s->broken)
        return NULL; /* its declaration's error was reported */
    Node *n;
    switch (s->kind) {
    case SYM_PARAM:
        n = ir_new_node(OP_PARAM, 0, NULL, L->g->params[s->index].loc);
        n->index = s->index;
        break;
    case SYM_INPUT:
        n = ir_new_node(OP_INPUT, 0, NULL, L->g->inputs[s->index].loc);
        n->index = s->index;
        break;
    case SYM_DIM: {
        const DimDecl *dd = &L->g->dims[s->index];
        n = ir_new_node(OP_DIM, 0, NULL, dd->loc);
        n->size = dd->dynamic ? size_dyn(dd->dyn) : size_const(dd->value);
        break;
    }
    default:
        diag_error(L->d, a->loc, "'%s' is a def; call it: %s(...)", s->name, s->name);
        return NULL;
    }
    n->name = s->name;
    s->leaf = finish_leaf(L, n);
    return s->leaf;
}

Node *lower_name(Lower *L, Ast *a) {
    Binding *b = lookup(L, a->name, NULL);
    if (b) {
        if (b->val)
            return b->val;
        if (b->zero) /* `loss` read before any `+=` */
            return fconst(L, 0.0, a->loc);
        return NULL; /* poisoned */
    }
    Sym *s = find_sym(L, a->name);
    if (s)
        return sym_value(L, s, a);
    if (!report_undefined(L, a->loc, "name", a->name))
        return NULL;
    for (int i = L->ndropped - 1; i >= 0; i--) {
        if (strcmp(L->dropped[i].name, a->name) == 0) {
            if (L->dropped[i].stack_pending)
                diag_note(L->d, L->dropped[i].loc,
                          "'%s' is written row by row by this loop; it can be read after the loop "
                          "(use a carried value for a recurrence)", a->name);
            else
                diag_note(L->d, L->dropped[i].loc,
                          "'%s' was bound here, inside a loop: names first bound in a loop are local to it",
                          a->name);
            break;
        }
    }
    /* poison it so that later uses stay quiet */
    bind(L->scope, a->name, NULL, a->loc);
    return NULL;
}

/* The binding of node a (or of b) to a name is read through other nodes:
 * no "never used" warning for it. */
static void read_through(Lower *L, const Node *a, const Node *b) {
    for (int i = 0; a && i < L->nbound; i++)
        if (L->bound[i].val == a || (b && L->bound[i].val == b))
            L->bound[i].read = true;
}

static bool is_one(const Node *n) { return n->op == OP_CONST && n->f == 1.0; }

/* a and b are the same value: one node, or the same op of the same values
 * (an expression written twice: exp(W @ h) / sum(exp(W @ h))), not a
 * draw, a loop's or a carry, to a small depth. */
static bool same_value(const Node *a, const Node *b, int depth) {
    if (a == b)
        return true;
    if (depth == 0 || (op_flags[a->op] & OPF_RANDOM) || a->op == OP_LOOP || a->op == OP_LOOPOUT ||
        a->op == OP_INDEX || a->op == OP_CARRY || !ir_same_attrs(a, b))
        return false;
    for (int k = 0; k < a->nin; k++)
        if (!same_value(a->in[k], b->in[k], depth - 1))
            return false;
    return true;
}

/* log(a) in the forms that stay finite where a rounds to 0 or overflows
 * (LANGUAGE.md: "log of a probability"): log(sigmoid(x)) = log_sigmoid(x),
 * log(1 - sigmoid(x)) = log_sigmoid(-x), log(1 + exp(x)) =
 * -log_sigmoid(-x) (softplus) and log(sum(exp(z))) = logsumexp(z) of a
 * vector z, a being the node bound to a name too; NULL for another a.
 * a's nodes stay (dce takes those nothing else reads). */
static Node *stable_log(Lower *L, Node *a, Loc at) {
    bool one0 = a->nin == 2 && is_one(a->in[0]), one1 = a->nin == 2 && is_one(a->in[1]);
    Node *s = a->op == OP_SIGMOID ? a : a->op == OP_SUB && one0 ? a->in[1] : NULL;
    Node *e = a->op == OP_ADD && one0 ? a->in[1] : a->op == OP_ADD && one1 ? a->in[0] : NULL;
    Node *r = NULL;
    if (s == a)
        r = emit1(L, OP_LOGSIGMOID, a->in[0], at);
    else if (s && s->op == OP_SIGMOID && shape_eq(&a->shape, &s->shape))
        r = emit1(L, OP_LOGSIGMOID, emit1(L, OP_NEG, s->in[0], at), at);
    else if (e && e->op == OP_EXP && shape_eq(&a->shape, &e->shape))
        r = emit1(L, OP_NEG, emit1(L, OP_LOGSIGMOID, emit1(L, OP_NEG, e->in[0], at), at), at);
    else if (a->op == OP_SUM && a->in[0]->op == OP_EXP && a->in[0]->shape.rank == 1) {
        e = a->in[0];
        r = emit1(L, OP_LOGSUMEXP, e->in[0], at);
    }
    /* a name bound to a (p = 1 - sigmoid(w); log(p)) or to its sigmoid or
     * exp is read all the same */
    if (r) {
        read_through(L, a, s);
        read_through(L, e, NULL);
    }
    return r;
}

/* A softmax or cross_entropy node the front end writes for a form written
 * out, with --softmax's method as a builtin without `with` gets it. */
static Node *softmax_node(Lower *L, Op op, Node *z, Node *y, Loc at) {
    Node *r = ir_new_node(op, y ? 2 : 1, (Node *[]){z, y}, at);
    if (L->opt->have_default_approx)
        r->approx = L->opt->default_approx;
    return build_put(&L->b, r, at);
}

/* x / y written as a softmax, exp(z) / sum(exp(z)) of a vector z (z
 * written twice, or once): softmax(z), which does not overflow
 * where exp(z) does (inf / inf), and which is one word's log-probability
 * under log (approx.c); or as a sigmoid, 1 / (1 + exp(-v)): sigmoid(v)
 * (1 / (1 + exp(u)) of another u: sigmoid(-u)),
 * whose gradient is not NaN where exp(-v) overflows (0 * inf) and whose
 * log is log_sigmoid(v). NULL for another x / y. */
static Node *written_div(Lower *L, Node *x, Node *y, Loc at) {
    Node *e = y->op == OP_ADD && is_one(y->in[0]) ? y->in[1] : y->op == OP_ADD && is_one(y->in[1]) ? y->in[0] : NULL;
    if (is_one(x) && e && e->op == OP_EXP && shape_eq(&y->shape, &e->shape)) {
        read_through(L, y, e);
        Node *u = e->in[0]; /* 1 / (1 + exp(u)) = sigmoid(-u) */
        return emit1(L, OP_SIGMOID, u->op == OP_NEG ? u->in[0] : emit1(L, OP_NEG, u, at), at);
    }
    if (x->op != OP_EXP || x->shape.rank != 1 || y->op != OP_SUM || y->in[0]->op != OP_EXP ||
        !same_value(y->in[0]->in[0], x->in[0], 8))
        return NULL;
    Node *r = softmax_node(L, OP_SOFTMAX, x->in[0], NULL, at);
    read_through(L, x, y);
    read_through(L, y->in[0], NULL);
    return r;
}

/* x - y written as a cross entropy, logsumexp(z) - z[i] of a vector z (x
 * log(sum(exp(z))), made logsumexp by stable_log) and an int scalar i:
 * cross_entropy(z, i), whose gradient and batching (one product for every
 * step's logits) are the builtin's; NULL for another x - y. */
static Node *written_xent(Lower *L, Node *x, Node *y, Loc at) {
    if (x->op != OP_LOGSUMEXP || x->in[0]->shape.rank != 1 || y->op != OP_ROW ||
        !same_value(y->in[0], x->in[0], 8) || !ir_is_int_scalar(y->in[1]))
        return NULL;
    Node *r = softmax_node(L, OP_XENT, x->in[0], y->in[1], at);
    read_through(L, x, y); /* lse = log(sum(exp(z))); loss += lse - z[y] */
    return r;
}

static Node *lower_binop(Lower *L, Ast *a) {
    Node *x = lower_expr(L, a->a);
    Node *y = lower_expr(L, a->b);
    if (!x || !y)
        return NULL;
    Loc at = best_loc(a);
    char tx[200], ty[200];
    bool xi = x->dtype == DT_I32, yi = y->dtype == DT_I32;
    if (a->op != '@' && a->op != '/' && ir_is_int_scalar(x) && ir_is_int_scalar(y)) {
        if (x->op == OP_ICONST && y->op == OP_ICONST) {
            int64_t r;
            bool ovf = a->op == '+' ? __builtin_add_overflow(x->i, y->i, &r)
                     : a->op == '-' ? __builtin_sub_overflow(x->i, y->i, &r)
                                    : __builtin_mul_overflow(x->i, y->i, &r);
            if (ovf || r > INT32_MAX || r < INT32_MIN) {
                diag_error(L->d, at, "integer overflow in constant expression");
                return NULL;
            }
            return iconst(L, r, a->loc);
        }
        Op op = a->op == '+' ? OP_IADD : a->op == '-' ? OP_ISUB : OP_IMUL;
        return emit2(L, op, x, y, a->loc, at);
    }
    if ((xi && x->shape.rank > 0) || (yi && y->shape.rank > 0)) {
        diag_error(L->d, at, "arithmetic on int tensors is not supported (%s %c %s)",
                   type_str(L, x, tx, sizeof tx), a->op, type_str(L, y, ty, sizeof ty));
        return NULL;
    }
    /* mixed: an integer literal adapts to float; other ints are an error */
    if (xi && x->op == OP_ICONST)
        x = fconst(L, (double)x->i, x->loc), xi = false;
    if (yi && y->op == OP_ICONST)
        y = fconst(L, (double)y->i, y->loc), yi = false;
    if (xi || yi) {
        diag_error(L->d, at, "int/float mismatch in '%c': %s %c %s (int values are ids and indices)", a->op,
                   type_str(L, x, tx, sizeof tx), a->op, type_str(L, y, ty, sizeof ty));
        return NULL;
    }
    switch (a->op) {
    case '+': return emit2(L, OP_ADD, x, y, a->loc, at);
    case '-': {
        Node *xe = written_xent(L, x, y, a->loc);
        return xe ? xe : emit2(L, OP_SUB, x, y, a->loc, at);
    }
    case '*': return emit2(L, OP_MUL, x, y, a->loc, at);
    case '/': {
        Node *sm = written_div(L, x, y, a->loc);
        return sm ? sm : emit2(L, OP_DIV, x, y, a->loc, at);
    }
    case '@': {
        int rx = x->shape.rank, ry = y->shape.rank;
        if (rx == 2 && ry == 1)
            return emit2(L, OP_MATVEC, x, y, a->loc, at);
        if (rx == 2 && ry == 2)
            return emit2(L, OP_MATMUL, x, y, a->loc, at);
        if (rx == 1 && ry == 2) { /* x @ B = B^T x */
            Node *n = ir_new_node(OP_MATVEC, 2, (Node *[]){y, x}, a->loc);
            n->ta = true;
            if (!build_put(&L->b, n, at)) {
                diag_note(L->d, at, "for a vector on the left, x @ B is B^T x");
                return NULL;
            }
            return n;
        }
        if (rx == 1 && ry == 1)
            return emit2(L, OP_DOT, x, y, a->loc, at);
        diag_error(L->d, at, "'@' needs matrices or vectors, got %s @ %s", type_str(L, x, tx, sizeof tx),
                   type_str(L, y, ty, sizeof ty));
        return NULL;
    }
    }
    NN_ASSERT(0);
}

/* The values an int scalar i takes, when it is a constant c, a dim (T,
 * T - 1) or a loop index (t + c), plus or minus a constant: smallest in
 * *lo, largest in *hi; *loop is the index's loop (NULL for the others).
 * False for any other i. */
static bool index_values(const Node *i, Size *lo, Size *hi, const Loop **loop) {
    int64_t c = 0;
    const Node *t = i;
    bool var0 = i->nin == 2 && (i->in[0]->op == OP_INDEX || i->in[0]->op == OP_DIM),
         var1 = i->nin == 2 && (i->in[1]->op == OP_INDEX || i->in[1]->op == OP_DIM);
    if ((i->op == OP_IADD || i->op == OP_ISUB) && var0 && i->in[1]->op == OP_ICONST)
        t = i->in[0], c = i->op == OP_IADD ? i->in[1]->i : -i->in[1]->i;
    else if (i->op == OP_IADD && var1 && i->in[0]->op == OP_ICONST)
        t = i->in[1], c = i->in[0]->i;
    if (t->op == OP_ICONST || t->op == OP_DIM) {
        *lo = *hi = t->op == OP_ICONST ? size_const(t->i) : size_add(t->size, size_const(c));
        *loop = NULL;
        return true;
    }
    if (t->op != OP_INDEX)
        return false;
    *loop = t->loop;
    *lo = size_add(t->loop->lo, size_const(c));
    *hi = size_add(t->loop->hi, size_const(c - 1));
    return true;
}

/* x[i] where i is provably out of x's rows for every value of the dims
 * (a loop that runs at least once reaches it) is an error now, at the
 * place the run-time check would report. */
static bool index_in_range(Lower *L, const Node *x, const Node *i, const Ast *a) {
    Size lo, hi;
    const Loop *loop;
    if (!index_values(i, &lo, &hi, &loop))
        return true;
    if (loop) {
        int64_t min_trip;
        size_max(L->g, size_sub(loop->hi, loop->lo), &min_trip);
        if (min_trip < 1)
            return true;
    }
    Size rows = x->shape.d[0];
    int64_t over_min, under_max = size_max(L->g, lo, NULL);
    size_max(L->g, size_sub(hi, rows), &over_min);
    if (over_min < 0 && under_max >= 0)
        return true;
    char is[96], rs[96], t[200], l0[96], l1[96];
    bool over = over_min >= 0;
    size_str(L->g, over ? hi : lo, is, sizeof is);
    size_str(L->g, rows, rs, sizeof rs);
    type_str(L, x, t, sizeof t);
    if (loop)
        diag_error(L->d, a->loc, "index out of range for every value of the dims: with %s in %s..%s it reaches %s, "
                   "but this %s has %s rows", loop->var, size_str(L->g, loop->lo, l0, sizeof l0),
                   size_str(L->g, loop->hi, l1, sizeof l1), is, t, rs);
    else
        diag_error(L->d, a->loc, "index %s out of range: this %s has %s rows", is, t, rs);
    return false;
}

static Node *lower_index(Lower *L, Ast *a) {
    Node *x = lower_expr(L, a->a);
    Node *i = lower_expr(L, a->b);
    if (!x || !i)
        return NULL;
    Loc at = a->b->loc;
    char t[200];
    if (x->shape.rank == 0) {
        diag_error(L->d, a->op_loc.len > 0 ? a->op_loc : a->a->loc, "cannot index a scalar (%s)",
                   type_str(L, x, t, sizeof t));
        return NULL;
    }
    if (i->dtype != DT_I32) {
        diag_error(L->d, at, "an index must be an int (an id or index expression), got %s",
                   type_str(L, i, t, sizeof t));
        return NULL;
    }
    if (i->shape.rank == 0) {
        if (!index_in_range(L, x, i, a))
            return NULL;
        return emit2(L, OP_ROW, x, i, a->loc, at);
    }
    if (i->shape.rank == 1)
        return emit2(L, OP_GATHER, x, i, a->loc, at);
    diag_error(L->d, at, "ids for a lookup must be a vector, got %s", type_str(L, i, t, sizeof t));
    return NULL;
}

static bool lower_approx(Lower *L, const Ast *ap, Approx *out);

/* Builtin calls. Arity is checked here, types by ir_infer. */
static Node *lower_call(Lower *L, Ast *a) {
    const char *f = a->name;
    Loc at = name_loc(a);
    int n = a->args.n;
    Sym *s = find_sym(L, f);
    bool softmaxy = strcmp(f, "softmax") == 0 || strcmp(f, "log_softmax") == 0 ||
                    strcmp(f, "cross_entropy") == 0;
    if (a->approx && !softmaxy) {
        diag_error(L->d, at,
                   "'with' chooses a softmax approximation: it applies to softmax, log_softmax and "
                   "cross_entropy, not to %s", f);
        return NULL;
    }
    if (strcmp(f, "zeros") == 0 || strcmp(f, "ones") == 0) {
        if (n != 1 || a->args.v[0]->kind != AST_SHAPE) {
            diag_error(L->d, at, "%s takes one shape, e.g. %s([H])", f, f);
            return NULL;
        }
        Shape sh;
        if (!lower_shape(L, &a->args.v[0]->args, a->args.v[0]->loc, true, &sh))
            return NULL;
        return fill(L, sh, f[0] == 'o' ? 1.0 : 0.0, a->loc);
    }
    if (!s && !is_builtin(f)) {
        report_undefined(L, at, "function", f);
        return NULL;
    }
    /* evaluate the arguments (none of the builtins takes a shape) */
    Node *args[16];
    if (n > 16) {
        diag_error(L->d, at, "too many arguments (%d)", n);
        return NULL;
    }
    bool ok = true;
    for (int i = 0; i < n; i++) {
        Ast *arg = a->args.v[i];
        if (arg->kind == AST_SHAPE) {
            diag_error(L->d, arg->loc, "a shape [..] is only allowed in zeros([..]) and ones([..])");
            ok = false;
            args[i] = NULL;
            continue;
        }
        /* sum(x, axis) / mean(x, axis): axis is a literal, kept as ICONST */
        args[i] = lower_expr(L, arg);
        if (!args[i])
            ok = false;
    }
    if (s && s->kind == SYM_DEF)
        return ok ? inline_def(L, s, a, args) : NULL;
    if (s) {
        diag_error(L->d, at, "'%s' is %s, not a function", f, sym_kind_a(s->kind));
        return NULL;
    }
    struct { const char *name; Op op; int nargs; } unary[] = {
        {"tanh", OP_TANH, 1}, {"relu", OP_RELU, 1}, {"sigmoid", OP_SIGMOID, 1},
        {"exp", OP_EXP, 1}, {"log", OP_LOG, 1}, {"sqrt", OP_SQRT, 1}, {"abs", OP_ABS, 1},
        {"transpose", OP_TRANSPOSE, 1}, {"softmax", OP_SOFTMAX, 1}, {"log_softmax", OP_LOGSOFTMAX, 1},
        {"dot", OP_DOT, 2}, {"concat", OP_CONCAT, 2}, {"cross_entropy", OP_XENT, 2},
        {"binary_cross_entropy", OP_BXENT, 2},
    };
    if (strcmp(f, "sum") == 0 || strcmp(f, "mean") == 0) {
        if (n != 1 && n != 2) {
            diag_error(L->d, at, "%s takes 1 or 2 arguments (x, axis), got %d", f, n);
            return NULL;
        }
        if (!ok)
            return NULL;
        Node *x = as_float(L, args[0], a->args.v[0], "the argument of sum/mean");
        if (!x)
            return NULL;
        if (n == 1)
            return emit1(L, f[0] == 's' ? OP_SUM : OP_MEAN, x, at);
        Node *ax = args[1];
        if (ax->op != OP_ICONST) {
            diag_error(L->d, a->args.v[1]->loc, "the axis of %s must be an integer literal", f);
            return NULL;
        }
        int64_t axis = ax->i;
        if (axis < 0)
            axis += x->shape.rank;
        if (axis < 0 || axis >= x->shape.rank) {
            char t[200];
            diag_error(L->d, a->args.v[1]->loc, "axis %lld out of range for %s", (long long)ax->i,
                       type_str(L, x, t, sizeof t));
            return NULL;
        }
        Node *r = ir_new_node(f[0] == 's' ? OP_SUMAXIS : OP_MEANAXIS, 1, (Node *[]){x}, a->loc);
        r->index = (int)axis;
        return build_put(&L->b, r, at);
    }
    for (size_t k = 0; k < sizeof unary / sizeof unary[0]; k++) {
        if (strcmp(unary[k].name, f) != 0)
            continue;
        if (n != unary[k].nargs) {
            diag_error(L->d, at, "%s takes %d argument%s, got %d", f, unary[k].nargs,
                       unary[k].nargs == 1 ? "" : "s", n);
            return NULL;
        }
        if (!ok)
            return NULL;
        Op op = unary[k].op;
        /* float operands; cross_entropy's label stays int; concat takes
         * any element type (both the same: its typing rule says so) */
        for (int i = 0; i < n && op != OP_CONCAT; i++) {
            if (op == OP_XENT && i == 1) {
                if (args[1]->dtype != DT_I32) {
                    char t[200];
                    diag_error(L->d, a->args.v[1]->loc,
                               "the label of cross_entropy must be an int id, got %s",
                               type_str(L, args[1], t, sizeof t));
                    return NULL;
                }
                continue;
            }
            args[i] = as_float(L, args[i], a->args.v[i], "this argument");
            if (!args[i])
                return NULL;
        }
        if (op == OP_TRANSPOSE && args[0]->shape.rank != 2) { /* (the IR's transposes each [M, N] of [B, M, N]) */
            char t[200];
            diag_error(L->d, a->args.v[0]->loc, "transpose takes a matrix [M, N], got %s",
                       type_str(L, args[0], t, sizeof t));
            return NULL;
        }
        Node *r = op == OP_LOG ? stable_log(L, args[0], a->loc) : NULL;
        if (r)
            return r;
        r = ir_new_node(op, n, args, a->loc);
        if (op_flags[op] & OPF_SOFTMAX) {
            if (a->approx) {
                if (!lower_approx(L, a->approx, &r->approx))
                    return NULL;
            } else if (L->opt->have_default_approx) {
                r->approx = L->opt->default_approx;
            }
        }
        return build_put(&L->b, r, at);
    }
    NN_ASSERT(0); /* is_builtin() and the tables above disagree */
}

Node *lower_expr(Lower *L, Ast *a) {
    switch (a->kind) {
    case AST_NUM:
        if (a->is_int) {
            if (a->ival > INT32_MAX || a->ival < INT32_MIN) {
                diag_error(L->d, a->loc, "integer literal %lld does not fit in int32", (long long)a->ival);
                return NULL;
            }
            return iconst(L, a->ival, a->loc);
        }
        return fconst(L, a->num, a->loc);
    case AST_NAME: return lower_name(L, a);
    case AST_BINOP: return lower_binop(L, a);
    case AST_NEG: {
        Node *x = lower_expr(L, a->a);
        if (!x)
            return NULL;
        if (x->op == OP_ICONST)
            return iconst(L, -x->i, a->loc);
        if (x->op == OP_CONST)
            return fconst(L, -x->f, a->loc);
        if (ir_is_int_scalar(x))
            return emit2(L, OP_ISUB, iconst(L, 0, a->loc), x, a->loc, a->loc);
        if (x->dtype == DT_I32) {
            diag_error(L->d, a->loc, "unary minus on an int tensor is not supported");
            return NULL;
        }
        return emit1(L, OP_NEG, x, a->loc);
    }
    case AST_INDEX: return lower_index(L, a);
    case AST_CALL: return lower_call(L, a);
    case AST_SHAPE:
        diag_error(L->d, a->loc, "a shape [..] is only allowed in zeros([..]) and ones([..])");
        return NULL;
    default:
        diag_error(L->d, a->loc, "expected an expression");
        return NULL;
    }
}

/* ---------------------------------------------------------------- softmax methods */

static const struct {
    const char *name;
    ApproxKind kind;
    const char *karg; /* name of the integer argument, or NULL */
    int64_t kdefault;
} approx_table[] = {
    {"full", APPROX_FULL, NULL, 0},     {"sampled", APPROX_SAMPLED, "k", 5},
    {"nce", APPROX_NCE, "k", 5},        {"neg", APPROX_NEG, "k", 5},
    {"class", APPROX_CLASS, "c", 0},    {"hier", APPROX_HIER, NULL, 0},
    {"binary", APPROX_BINARY, "ecc", 0}, {"embed", APPROX_EMBED, NULL, 0},
};

static int find_approx(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof approx_table / sizeof approx_table[0]; i++)
        if (strlen(approx_table[i].name) == len && strncmp(approx_table[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* The argument names of all methods; *given has bit i once approx_args[i]
 * is set, so that none is given twice (a positional one is the method's
 * karg: neg(3, 4) gives k twice), as for an optimizer. */
static const char *const approx_args[] = {"k", "c", "ecc", "hybrid", "share", "power", "lnz", "lambda1", "lambda2", NULL};

/* Applies one argument; err gets a message on failure. */
static bool approx_arg(Approx *ap, int m, unsigned *given, const char *key, const char *val, bool val_is_int,
                       int64_t ival, bool val_is_num, double fval, char *err, size_t errlen) {
    const char *name = key ? key : approx_table[m].karg;
    for (int i = 0; name && approx_args[i]; i++)
        if (strcmp(name, approx_args[i]) == 0) {
            if (*given & (1u << i)) {
                snprintf(err, errlen, "softmax method %s: argument '%s' given twice", approx_table[m].name, name);
                return false;
            }
            *given |= 1u << i;
        }
    if (key && (strcmp(key, "lambda1") == 0 || strcmp(key, "lambda2") == 0) && ap->kind == APPROX_EMBED) {
        if (!val_is_num || !(fval >= 0 && fval <= 1e6)) {
            snprintf(err, errlen, "%s must be a number >= 0", key);
            return false;
        }
        *(key[6] == '1' ? &ap->lambda1 : &ap->lambda2) = fval;
        return true;
    }
    if (key && strcmp(key, "lnz") == 0 && ap->kind == APPROX_NCE) {
        if (!val_is_num || !(fval >= -100 && fval <= 100)) {
            snprintf(err, errlen, "lnz must be a number from -100 to 100");
            return false;
        }
        ap->lnz = fval;
        ap->lnz_set = true;
        return true;
    }
    bool sampling = ap->kind == APPROX_SAMPLED || ap->kind == APPROX_NCE || ap->kind == APPROX_NEG;
    if (key && strcmp(key, "power") == 0 && sampling) {
        if (!val_is_num || !(fval >= 0 && fval <= 16)) {
            snprintf(err, errlen, "power must be a number from 0 (uniform over the seen words) to 16");
            return false;
        }
        ap->power = fval;
        ap->power_set = true;
        return true;
    }
    if (key && strcmp(key, "share") == 0) {
        if (!sampling || !val || strcmp(val, "batch") != 0) {
            snprintf(err, errlen, sampling ? "share must be 'batch'" : "%s has no argument 'share'",
                     approx_table[m].name);
            return false;
        }
        ap->share_batch = true;
        return true;
    }
    if (key && strcmp(key, "hybrid") == 0 && ap->kind == APPROX_BINARY) {
        if (!val_is_int || ival < 0 || ival > 1000000) {
            snprintf(err, errlen, "hybrid must be a non-negative integer");
            return false;
        }
        ap->hybrid = ival;
        return true;
    }
    const char *karg = approx_table[m].karg;
    if (!karg || (key && strcmp(key, karg) != 0)) {
        snprintf(err, errlen, "softmax method %s has no argument '%s'", approx_table[m].name, key ? key : "(positional)");
        return false;
    }
    if (!val_is_int || ival < (ap->kind == APPROX_BINARY ? 0 : 1) || ival > 1000000) {
        snprintf(err, errlen, "%s must be a %s integer", karg, ap->kind == APPROX_BINARY ? "non-negative" : "positive");
        return false;
    }
    ap->k = ival;
    return true;
}

static bool lower_approx(Lower *L, const Ast *ap, Approx *out) {
    int m = find_approx(ap->name, strlen(ap->name));
    if (m < 0) {
        diag_error(L->d, name_loc(ap),
                   "unknown softmax method '%s' (expected full, sampled, nce, neg, class, hier, binary or embed)",
                   ap->name);
        return false;
    }
    memset(out, 0, sizeof *out);
    out->kind = approx_table[m].kind;
    out->k = approx_table[m].kdefault;
    out->lambda2 = 1; /* embed's default: the unregularised loss */
    out->loc = ap->loc;
    unsigned given = 0;
    for (int i = 0; i < ap->args.n; i++) {
        const Ast *kw = ap->args.v[i];
        char err[200];
        const Ast *v = kw->a;
        bool is_int = v->kind == AST_NUM && v->is_int;
        if (!approx_arg(out, m, &given, kw->name, v->kind == AST_NAME ? v->name : NULL, is_int, is_int ? v->ival : 0,
                        v->kind == AST_NUM, v->kind == AST_NUM ? v->num : 0, err, sizeof err)) {
            diag_error(L->d, kw->loc, "%s", err);
            return false;
        }
    }
    return true;
}

bool approx_parse(const char *spec, Approx *out, char *err, size_t errlen) {
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    int m = find_approx(spec, len);
    if (m < 0) {
        snprintf(err, errlen, "unknown softmax method '%.*s' (expected full, sampled, nce, neg, class, hier, binary or embed)",
                 (int)len, spec);
        return false;
    }
    memset(out, 0, sizeof *out);
    out->kind = approx_table[m].kind;
    out->k = approx_table[m].kdefault;
    out->lambda2 = 1; /* embed's default: the unregularised loss */
    out->loc = NO_LOC;
    const char *p = colon ? colon + 1 : NULL;
    unsigned given = 0;
    while (p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0 || *p == '=') { /* neg:  neg:,k=3  neg:k=3,  neg:k=3,,c=2  neg:=3 */
            snprintf(err, errlen, "%s after ':' (the arguments are NAME=VALUE separated by ',', as in neg:k=5,power=1)",
                     n == 0 ? "an empty argument" : "an argument without a name");
            return false;
        }
        char item[128];
        if (n >= sizeof item) {
            snprintf(err, errlen, "argument too long");
            return false;
        }
        memcpy(item, p, n);
        item[n] = 0;
        char *eq = strchr(item, '=');
        const char *key = NULL, *val = item;
        if (eq) {
            *eq = 0;
            key = item;
            val = eq + 1;
        }
        char *end;
        errno = 0;
        long long iv = strtoll(val, &end, 10);
        bool is_int = *val && *end == 0 && errno == 0;
        errno = 0;
        double fv = strtod(val, &end);
        bool is_num = *val && *end == 0 && errno == 0;
        if (!approx_arg(out, m, &given, key, val, is_int, iv, is_num, fv, err, errlen))
            return false;
        p = comma ? comma + 1 : NULL;
    }
    return true;
}
