/*
 * lower_stmt.c - statements: bindings, accumulations, stacked rows, loops
 * (carried values, accumulators, stacks) and def inlining.
 */
#include "lower.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- statements */


/* ---------------------------------------------------------------- inlining */

typedef struct InlineMemo {
    const Ast *def;
    int nargs;
    Node **args;
    Node *result; /* NULL after an error in the body */
} InlineMemo;

static uint64_t memo_hash(const Ast *def, int nargs, Node *const *args) {
    uint64_t h = (uint64_t)(uintptr_t)def * 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < nargs; i++)
        h = (h ^ (uint64_t)(uintptr_t)args[i]) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 29);
}

/* The memo slot of (def, args): an entry's index + 1, or the free slot. */
static int *memo_slot(Lower *L, const Ast *def, int nargs, Node *const *args) {
    uint64_t mask = (uint64_t)L->nmemoslot - 1;
    for (uint64_t i = memo_hash(def, nargs, args) & mask;; i = (i + 1) & mask) {
        int *slot = &L->memoslot[i];
        if (*slot == 0)
            return slot;
        const InlineMemo *m = &L->memo[*slot - 1];
        if (m->def == def && m->nargs == nargs && memcmp(m->args, args, sizeof(Node *) * (size_t)nargs) == 0)
            return slot;
    }
}

static void memo_add(Lower *L, const Ast *def, int nargs, Node *const *args, Node *result) {
    if (2 * (L->nmemo + 1) > L->nmemoslot) {
        int old = L->nmemoslot;
        L->nmemoslot = old ? 2 * old : 64;
        L->memoslot = xalloc(sizeof(int) * (size_t)L->nmemoslot);
        for (int i = 0; i < L->nmemo; i++) {
            InlineMemo *m = &L->memo[i];
            *memo_slot(L, m->def, m->nargs, m->args) = i + 1;
        }
    }
    InlineMemo m = {.def = def, .nargs = nargs, .result = result};
    m.args = xalloc(sizeof(Node *) * (size_t)(nargs + 1));
    memcpy(m.args, args, sizeof(Node *) * (size_t)nargs);
    int *slot = memo_slot(L, def, nargs, args);
    VEC_PUSH(L->memo, L->nmemo, L->capmemo, m);
    *slot = L->nmemo;
}

/* Is x visible in block b (defined in b or a block around it)? */
static bool visible_in(const Node *x, const Block *b) {
    for (; b; b = b->outer)
        if (x->parent == b)
            return true;
    return false;
}

Node *inline_def(Lower *L, Sym *s, Ast *call, Node **args) {
    Ast *def = s->def;
    Loc at = name_loc(call);
    for (int i = 0; i < L->ninline; i++) {
        if (L->inline_stack[i] == def) {
            diag_error(L->d, at, "recursive def '%s': defs are inlined, so they cannot call themselves", s->name);
            for (int j = i; j < L->ninline; j++)
                diag_note(L->d, L->inline_stack[j]->loc, "'%s' is being inlined here", L->inline_stack[j]->name);
            return NULL;
        }
    }
    if (L->ninline >= MAX_INLINE_DEPTH) {
        diag_error(L->d, at, "defs nested more than %d deep", MAX_INLINE_DEPTH);
        return NULL;
    }
    if (call->args.n != def->args.n) {
        diag_error(L->d, at, "%s takes %d argument%s, got %d", s->name, def->args.n, def->args.n == 1 ? "" : "s",
                   call->args.n);
        diag_note(L->d, def->loc, "'%s' is defined here", s->name);
        return NULL;
    }
    if (L->over_budget)
        return NULL;
    int *slot = L->nmemoslot ? memo_slot(L, def, def->args.n, args) : NULL;
    if (slot && *slot) {
        Node *r = L->memo[*slot - 1].result;
        if (!r || visible_in(r, L->b.block))
            return r;
    }
    L->inlined += def->body.n;
    if (L->inlined > MAX_INLINED_STATEMENTS) {
        diag_error(L->d, at, "inlining '%s' here would inline more than %d def statements in all: the defs grow "
                   "the program exponentially", s->name, MAX_INLINED_STATEMENTS);
        for (int j = L->ninline - 1; j >= 0; j--)
            diag_note(L->d, L->inline_stack[j]->loc, "inside def '%s', being inlined", L->inline_stack[j]->name);
        L->over_budget = true;
        return NULL;
    }
    Ast **stack = xalloc(sizeof(Ast *) * (size_t)(L->ninline + 1));
    if (L->ninline)
        memcpy(stack, L->inline_stack, sizeof(Ast *) * (size_t)L->ninline);
    stack[L->ninline] = def;
    Ast **saved = L->inline_stack;
    L->inline_stack = stack;
    L->ninline++;
    push_scope(L, true);
    for (int i = 0; i < def->args.n; i++)
        bind(L->scope, def->args.v[i]->name, args[i], def->args.v[i]->loc);
    Node *result = NULL;
    bool returned = false;
    for (int i = 0; i < def->body.n; i++) {
        Ast *st = def->body.v[i];
        if (returned) {
            diag_error(L->d, st->loc, "statement after return");
            break;
        }
        if (st->kind == AST_RETURN) {
            result = lower_expr(L, st->a);
            returned = true;
        } else if (st->kind == AST_BIND) {
            AstList one = {.v = &def->body.v[i], .n = 1, .cap = 1};
            lower_stmts(L, &one);
        } else {
            diag_error(L->d, st->loc, "a def body may only bind names and return a value");
        }
    }
    if (!returned)
        diag_error(L->d, def->loc, "def '%s' has no return", s->name);
    pop_scope(L);
    L->ninline--;
    L->inline_stack = saved;
    memo_add(L, def, def->args.n, args, result);
    return result;
}

/* Names a loop body assigns (bind or +=, at any depth) and names it reads. */
typedef struct NameUse {
    const char *name;
    bool assigned, plain_assign, read;
    Loc loc;
} NameUse;

typedef struct NameUses {
    NameUse *v;
    int n, cap;
    NameIndex ix; /* name -> index in v */
} NameUses;

static NameUse *use_of(NameUses *u, const char *name, Loc loc) {
    int i = name_get(&u->ix, name);
    if (i >= 0)
        return &u->v[i];
    name_put(&u->ix, name, u->n);
    NameUse nu = {.name = name, .loc = loc};
    VEC_PUSH(u->v, u->n, u->cap, nu);
    return &u->v[u->n - 1];
}

static void scan_expr(NameUses *u, const Ast *a) {
    if (!a)
        return;
    if (a->kind == AST_NAME)
        use_of(u, a->name, a->loc)->read = true;
    scan_expr(u, a->a);
    scan_expr(u, a->b);
    if (a->kind == AST_CALL || a->kind == AST_SHAPE)
        for (int i = 0; i < a->args.n; i++)
            scan_expr(u, a->args.v[i]);
}

static void scan_body(NameUses *u, const AstList *body) {
    for (int i = 0; i < body->n; i++) {
        const Ast *st = body->v[i];
        switch (st->kind) {
        case AST_BIND:
            scan_expr(u, st->a);
            use_of(u, st->name, st->loc)->assigned = true;
            use_of(u, st->name, st->loc)->plain_assign = true;
            break;
        case AST_ACCUM:
            scan_expr(u, st->a);
            use_of(u, st->name, st->loc)->assigned = true;
            break;
        case AST_SETROW:
            scan_expr(u, st->a);
            scan_expr(u, st->b);
            break;
        case AST_FOR:
            scan_expr(u, st->a);
            scan_expr(u, st->b);
            scan_body(u, &st->body);
            break;
        default: break;
        }
    }
}

static void drop_locals(Lower *L, Scope *s) {
    for (int i = 0; i < s->n; i++) {
        Dropped d = {.name = s->v[i].name, .loc = s->v[i].loc};
        VEC_PUSH(L->dropped, L->ndropped, L->capdropped, d);
    }
}

/* A loop that could not be lowered (an error was reported): the tensors its
 * body stacks (hs[i] = e) are poisoned after it, so that their uses stay
 * quiet instead of saying "undefined name". */
static void poison_stacked(Lower *L, const Ast *st) {
    for (int i = 0; i < st->body.n; i++) {
        const Ast *s = st->body.v[i];
        if (s->kind == AST_SETROW && !lookup(L, s->name, NULL) && !find_sym(L, s->name))
            bind(L->scope, s->name, NULL, s->loc);
    }
}

static void lower_for(Lower *L, Ast *st) {
    Size lo, hi;
    bool ok = lower_size(L, st->a, &lo);
    ok = lower_size(L, st->b, &hi) && ok;
    Size trip;
    if (ok && !sz_add(hi, lo, true, &trip)) {
        diag_error(L->d, st->loc, "integer overflow in loop range");
        ok = false;
    }
    ok = ok && check_size_min(L, trip, 0, loc_merge(st->a->loc, st->b->loc), "the trip count");
    if (ok && (lookup(L, st->name, NULL) || find_sym(L, st->name))) {
        diag_error(L->d, st->op_loc.file >= 0 ? st->op_loc : st->loc,
                   "loop variable '%s' hides another name of that name", st->name);
        ok = false;
    }
    if (!ok) {
        poison_stacked(L, st);
        return;
    }
    Loop *loop = ir_new_loop(L->b.block, st->name, lo, hi, st->loc);
    LoopCtx ctx = {.loop = loop, .up = L->loop};
    push_scope(L, false);
    Scope *body_scope = L->scope;
    body_scope->loop = &ctx;
    ctx.scope = body_scope;
    bind(body_scope, st->name, loop->index, st->loc);
    loop->index->name = st->name;

    /* carried values and accumulators */
    NameUses u = {0};
    scan_body(&u, &st->body);
    Scope *saved_scope = L->scope;
    L->scope = body_scope->up; /* resolve names as seen before the loop */
    for (int i = 0; i < u.n; i++) {
        NameUse *nu = &u.v[i];
        if (!nu->assigned)
            continue;
        Binding *outer = lookup(L, nu->name, NULL);
        if (!outer)
            continue; /* first bound inside: local to the loop */
        if (!nu->plain_assign && !nu->read) {
            Binding *b = bind(body_scope, nu->name, NULL, outer->loc);
            b->zero = true;
            VEC_PUSH(ctx.acc_names, ctx.nacc, ctx.capacc, nu->name);
            continue;
        }
        Node *init = outer->val;
        if (!init && outer->zero)
            init = fconst(L, 0.0, outer->loc);
        if (!init) { /* poisoned */
            bind(body_scope, nu->name, NULL, outer->loc);
            continue;
        }
        if (init->dtype == DT_I32) {
            diag_error(L->d, nu->loc, "'%s' is an int value re-bound in a loop: loop-carried int values are not supported",
                       nu->name);
            bind(body_scope, nu->name, NULL, outer->loc);
            continue;
        }
        Node *c = ir_loop_add_carry(loop, init, nu->name);
        c->loc = outer->loc;
        bind(body_scope, nu->name, c, outer->loc);
        VEC_PUSH(ctx.carry_names, ctx.ncarry, ctx.capcarry, nu->name);
    }
    L->scope = saved_scope;

    Builder saved_b = L->b;
    LoopCtx *saved_loop = L->loop;
    L->b.block = &loop->body;
    L->loop = &ctx;
    lower_stmts(L, &st->body);
    L->b = saved_b;
    L->loop = saved_loop;

    /* next values of the carries */
    for (int r = 0; r < ctx.ncarry; r++) {
        Binding *b = lookup_in(body_scope, ctx.carry_names[r]);
        Node *c = loop->carry[r];
        Node *next = b->val ? b->val : c;
        if (!shape_eq(&next->shape, &c->shape) || next->dtype != c->dtype) {
            char t1[200], t2[200];
            diag_error(L->d, b->loc,
                       "'%s' is carried across loop iterations with type %s, but is re-bound to %s here "
                       "(a loop-carried value keeps its shape)",
                       ctx.carry_names[r], type_str(L, c, t1, sizeof t1), type_str(L, next, t2, sizeof t2));
            next = c;
        }
        loop->next[r] = next;
    }
    /* summed and stacked results: LOOPOUT r = ncarry + stack s, then
     * ncarry + nstack + sum s (the order of the add calls) */
    const char **sum_names = xalloc(sizeof(char *) * (size_t)(ctx.nacc + 1));
    int nsums = 0;
    for (int i = 0; i < ctx.nacc; i++) {
        Binding *b = lookup_in(body_scope, ctx.acc_names[i]);
        if (!b->val)
            continue; /* never incremented (or poisoned) */
        ir_loop_add_sum(loop, b->val);
        sum_names[nsums++] = ctx.acc_names[i];
    }
    for (int i = 0; i < ctx.nstack; i++)
        ir_loop_add_stack(loop, ctx.stacks[i].val);

    pop_scope(L);
    drop_locals(L, body_scope);

    /* the loop node and its results, after the body */
    Builder at = build_at(L->g, L->b.block, -1, BUILD_ASSERT, "lower");
    build_put(&at, loop->node, loop->node->loc); /* a LOOP has no type to reject */
    for (int r = 0; r < ctx.ncarry; r++) {
        Scope *where = NULL;
        Binding *outer = lookup(L, ctx.carry_names[r], &where);
        NN_ASSERT(outer);
        bind(where, ctx.carry_names[r], ir_loop_result(loop, r, ctx.carry_names[r]), outer->loc);
    }
    for (int i = 0; i < ctx.nstack; i++) {
        StackWrite *sw = &ctx.stacks[i];
        Node *out = ir_loop_result(loop, loop->ncarry + i, sw->name);
        if (!size_is_const(lo) || lo.c != 0) {
            /* rows before the range start are zero: hs[t] is row t */
            Shape pad = out->shape;
            pad.d[0] = lo;
            out = emit2(L, OP_CONCAT, fill(L, pad, 0.0, sw->loc), out, sw->loc, sw->loc);
        }
        bind(L->scope, sw->name, out, sw->loc);
    }
    for (int i = 0; i < nsums; i++) {
        Scope *where = NULL;
        Binding *outer = lookup(L, sum_names[i], &where);
        NN_ASSERT(outer);
        Node *sum = ir_loop_result(loop, loop->ncarry + loop->nstack + i, sum_names[i]);
        Node *v = sum;
        if (!outer->zero) {
            v = outer->val ? emit2(L, OP_ADD, outer->val, sum, st->loc, st->loc) : NULL;
            if (v && !shape_eq(&v->shape, &outer->val->shape)) {
                char t1[200], t2[200];
                diag_error(L->d, st->loc, "accumulating into '%s' in this loop would change its shape from %s to %s",
                           sum_names[i], type_str(L, outer->val, t1, sizeof t1), type_str(L, v, t2, sizeof t2));
                v = NULL;
            }
        }
        bind(where, sum_names[i], v, outer->loc);
    }
}

void lower_stmts(Lower *L, AstList *body) {
    for (int i = 0; i < body->n; i++) {
        Ast *st = body->v[i];
        switch (st->kind) {
        case AST_BIND: {
            Scope *where = NULL;
            Binding *b = lookup(L, st->name, &where);
            Sym *s = find_sym(L, st->name);
            if (!b && s) {
                diag_error(L->d, name_loc(st), "cannot assign to %s '%s'", sym_kind_name(s->kind), st->name);
                bind(L->scope, st->name, NULL, st->loc); /* poisoned: later uses stay quiet */
                continue;
            }
            if (b && L->loop && b->val && b->val->op == OP_INDEX && where && where->loop &&
                b->val == where->loop->loop->index) {
                diag_error(L->d, name_loc(st), "cannot assign to the loop variable '%s'", st->name);
                continue;
            }
            if (strcmp(st->name, "loss") == 0) {
                diag_error(L->d, name_loc(st), "'loss' can only be accumulated: loss += expr");
                continue;
            }
            Node *v = lower_expr(L, st->a);
            /* rebinding: in the scope that holds it (carry/accumulator
             * bindings live in the loop body's scope), else here */
            bind(b ? where : L->scope, st->name, v, st->loc);
            if (v && L->ninline == 0 && st->loc.file == L->main_file) {
                struct Bound bv = {.name = st->name, .loc = name_loc(st), .val = v};
                VEC_PUSH(L->bound, L->nbound, L->capbound, bv);
            }
            break;
        }
        case AST_ACCUM: {
            Scope *where = NULL;
            Binding *b = lookup(L, st->name, &where);
            Loc at = best_loc(st);
            if (!b) {
                Sym *s = find_sym(L, st->name);
                if (s)
                    diag_error(L->d, name_loc(st), "cannot assign to %s '%s'", sym_kind_name(s->kind), st->name);
                else
                    diag_error(L->d, name_loc(st), "undefined name '%s' ('%s += e' needs a previous value)",
                               st->name, st->name);
                bind(L->scope, st->name, NULL, st->loc); /* poisoned: later uses stay quiet */
                continue;
            }
            Node *e = lower_expr(L, st->a);
            if (!e) {
                continue;
            }
            e = as_float(L, e, st->a, "an accumulated value");
            if (!e)
                continue;
            bool is_loss = strcmp(st->name, "loss") == 0;
            if (is_loss && e->shape.rank != 0) {
                char t[200];
                diag_error(L->d, at, "loss must be a scalar, got %s (use sum(...))",
                           type_str(L, e, t, sizeof t));
                continue;
            }
            if (is_loss)
                L->nloss_acc++;
            Node *nv;
            if (b->zero) { /* the first increment: the accumulator takes e's shape */
                nv = e;
            } else if (!b->val) {
                continue; /* poisoned */
            } else {
                nv = emit2(L, OP_ADD, b->val, e, st->loc, at);
                if (nv && !shape_eq(&nv->shape, &b->val->shape)) {
                    char t1[200], t2[200];
                    diag_error(L->d, at, "'%s += e' would change the shape of %s from %s to %s", st->name, st->name,
                               type_str(L, b->val, t1, sizeof t1), type_str(L, nv, t2, sizeof t2));
                    nv = NULL;
                }
            }
            bind(where, st->name, nv, st->loc);
            break;
        }
        case AST_SETROW: {
            LoopCtx *lc = L->loop;
            if (!lc || st->b->kind != AST_NAME || strcmp(st->b->name, lc->loop->var) != 0) {
                diag_error(L->d, st->b->loc,
                           "'%s[i] = e' must be written directly in the body of 'for i', with i that loop's variable",
                           st->name);
                /* poisoned, outside every loop around it (where the
                 * stacked tensor would be bound): later uses stay quiet */
                Scope *out = L->scope;
                while (out->loop && out->up && !out->barrier)
                    out = out->up;
                if (!lookup(L, st->name, NULL))
                    bind(out, st->name, NULL, st->loc);
                continue;
            }
            if (lookup(L, st->name, NULL) || find_sym(L, st->name)) {
                diag_error(L->d, name_loc(st), "'%s' is already bound: an indexed write '%s[%s] = e' builds a new tensor",
                           st->name, st->name, st->b->name);
                continue;
            }
            bool dup = false;
            for (int k = 0; k < lc->nstack; k++)
                if (strcmp(lc->stacks[k].name, st->name) == 0)
                    dup = true;
            if (dup) {
                diag_error(L->d, name_loc(st), "'%s' is written twice in one iteration", st->name);
                continue;
            }
            Node *v = lower_expr(L, st->a);
            if (v)
                v = as_float(L, v, st->a, "a stacked value");
            if (v && v->shape.rank + 1 > NN_TENSOR_MAXRANK) {
                diag_error(L->d, st->a->loc, "stacking would make a tensor with more than %d axes",
                           NN_TENSOR_MAXRANK);
                v = NULL;
            }
            if (!v) { /* poisoned where the stacked tensor would be bound */
                bind(lc->scope->up, st->name, NULL, st->loc);
                continue;
            }
            StackWrite sw = {.name = st->name, .val = v, .loc = st->loc};
            VEC_PUSH(lc->stacks, lc->nstack, lc->capstack, sw);
            Dropped d = {.name = st->name, .loc = st->loc, .stack_pending = true};
            VEC_PUSH(L->dropped, L->ndropped, L->capdropped, d);
            break;
        }
        case AST_FOR: lower_for(L, st); break;
        case AST_RETURN: diag_error(L->d, st->loc, "return outside a def"); break;
        case AST_OUTPUT:
        case AST_MODEL:
        case AST_IMPORT:
        case AST_DIM:
        case AST_PARAM:
        case AST_INPUT:
        case AST_OPTIMIZER:
        case AST_DEF:
            if (L->loop || L->ninline)
                diag_error(L->d, st->loc, "declarations are only allowed at the top level");
            break;
        default:
            diag_error(L->d, st->loc, "expected a statement");
            break;
        }
    }
}
