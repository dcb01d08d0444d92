/*
 * ast.c - building the syntax tree, and printing it as S-expressions.
 *
 * The parser (parser/parser.y) makes nodes with ast_new and lists with
 * ast_push; which fields a node uses depends on its kind (see AstKind in
 * nngc.h). ast_print writes a tree in a compact, stable text form that the
 * parser tests compare against hand-written expectations:
 *
 *   h = tanh(Wx @ x + b)   ->   (bind h (call tanh (+ (@ Wx x) b)))
 *
 * Forms: numbers as written in value (12, 0.001, 1.0 for a float literal
 * with an integral value), names bare, (op a b) for binary operators,
 * (neg a), (index a i), (call f args... [(with method kwargs...)]),
 * (shape d...), (kw name value) for a named argument, statements as
 * (bind|accum name e), (setrow name i e), (for i lo hi body...),
 * (return e), declarations as (model m), (import "nn"), (dim V e) or
 * (dim T max e), (param W TYPE [(init X)] [frozen]), (input x TYPE),
 * (output a b...), (optimizer name kwargs...), (def f (params...) body...),
 * and types as (float) (int) (float [d...]) (int [d...]).
 */
#include "nngc.h"

#include <stdlib.h>
#include <string.h>

Ast *ast_new(AstKind kind, Loc loc) {
    Ast *a = xalloc(sizeof *a);
    a->kind = kind;
    a->loc = loc;
    a->op_loc = NO_LOC;
    return a;
}

void ast_push(AstList *l, Ast *x) { VEC_PUSH(l->v, l->n, l->cap, x); }

/* The shortest "%g" form that reads back as the same double. */
static void print_number(const Ast *a, FILE *out) {
    if (a->is_int) {
        fprintf(out, "%lld", (long long)a->ival);
        return;
    }
    char buf[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, a->num);
        if (strtod(buf, NULL) == a->num)
            break;
    }
    /* Keep float literals apart from integer ones: 1.0 prints as 1.0. */
    if (!strpbrk(buf, ".eEn"))
        strcat(buf, ".0");
    fputs(buf, out);
}

static void print_node(const Ast *a, FILE *out);

static void print_list(const AstList *l, FILE *out) {
    for (int i = 0; i < l->n; i++) {
        fputc(' ', out);
        print_node(l->v[i], out);
    }
}

static void print_node(const Ast *a, FILE *out) {
    if (!a) {
        fputs("null", out);
        return;
    }
    switch (a->kind) {
    case AST_NUM: print_number(a, out); break;
    case AST_NAME: fputs(a->name, out); break;
    case AST_BINOP:
        fprintf(out, "(%c ", a->op);
        print_node(a->a, out);
        fputc(' ', out);
        print_node(a->b, out);
        fputc(')', out);
        break;
    case AST_NEG:
        fputs("(neg ", out);
        print_node(a->a, out);
        fputc(')', out);
        break;
    case AST_INDEX:
        fputs("(index ", out);
        print_node(a->a, out);
        fputc(' ', out);
        print_node(a->b, out);
        fputc(')', out);
        break;
    case AST_CALL:
        fprintf(out, "(call %s", a->name);
        print_list(&a->args, out);
        if (a->approx) {
            fputc(' ', out);
            print_node(a->approx, out);
        }
        fputc(')', out);
        break;
    case AST_SHAPE:
        fputs("(shape", out);
        print_list(&a->args, out);
        fputc(')', out);
        break;
    case AST_APPROX:
        fprintf(out, "(with %s", a->name);
        print_list(&a->args, out);
        fputc(')', out);
        break;
    case AST_KWARG:
        if (a->name) {
            fprintf(out, "(kw %s ", a->name);
            print_node(a->a, out);
            fputc(')', out);
        } else {
            print_node(a->a, out);
        }
        break;
    case AST_BIND:
    case AST_ACCUM:
        fprintf(out, "(%s %s ", a->kind == AST_BIND ? "bind" : "accum", a->name);
        print_node(a->a, out);
        fputc(')', out);
        break;
    case AST_SETROW:
        fprintf(out, "(setrow %s ", a->name);
        print_node(a->b, out);
        fputc(' ', out);
        print_node(a->a, out);
        fputc(')', out);
        break;
    case AST_FOR:
        fprintf(out, "(for %s ", a->name);
        print_node(a->a, out);
        fputc(' ', out);
        print_node(a->b, out);
        print_list(&a->body, out);
        fputc(')', out);
        break;
    case AST_RETURN:
        fputs("(return ", out);
        print_node(a->a, out);
        fputc(')', out);
        break;
    case AST_MODEL: fprintf(out, "(model %s)", a->name); break;
    case AST_IMPORT: fprintf(out, "(import \"%s\")", a->name); break;
    case AST_DIM:
        fprintf(out, "(dim %s%s", a->name, !a->a ? " open" : a->is_max ? " max " : " ");
        if (a->a)
            print_node(a->a, out);
        fputc(')', out);
        break;
    case AST_PARAM:
        fprintf(out, "(param %s ", a->name);
        print_node(a->type, out);
        if (a->a) {
            fputs(" (init ", out);
            print_node(a->a, out);
            fputc(')', out);
        }
        if (a->frozen)
            fputs(" frozen", out);
        fputc(')', out);
        break;
    case AST_INPUT:
        fprintf(out, "(input %s ", a->name);
        print_node(a->type, out);
        fputc(')', out);
        break;
    case AST_OUTPUT:
        fputs("(output", out);
        print_list(&a->args, out);
        fputc(')', out);
        break;
    case AST_OPTIMIZER:
        fprintf(out, "(optimizer %s", a->name);
        print_list(&a->args, out);
        fputc(')', out);
        break;
    case AST_DEF:
        fprintf(out, "(def %s (", a->name);
        for (int i = 0; i < a->args.n; i++)
            fprintf(out, "%s%s", i ? " " : "", a->args.v[i]->name);
        fputc(')', out);
        print_list(&a->body, out);
        fputc(')', out);
        break;
    case AST_TYPE:
        fputs(a->is_int ? "(int" : "(float", out);
        if (a->has_shape) {
            fputs(" [", out);
            for (int i = 0; i < a->args.n; i++) {
                if (i)
                    fputc(' ', out);
                print_node(a->args.v[i], out);
            }
            fputc(']', out);
        }
        fputc(')', out);
        break;
    default: NN_ASSERT(!"unknown AST kind");
    }
}

void ast_print(const AstList *l, FILE *out) {
    for (int i = 0; i < l->n; i++) {
        print_node(l->v[i], out);
        fputc('\n', out);
    }
}
