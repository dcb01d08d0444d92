/*
 * parser.y - the grammar of the nn language (docs: /LANGUAGE.md), producing
 * the AST of nngc.h.
 *
 * A pure (reentrant) bison parser: all state lives in a ParseCtx, shared with
 * the flex scanner of lexer.l, so several files (a program and its imports)
 * can be parsed one after another with no globals.
 *
 * Layout of a file: items (declarations and statements) separated by SEP,
 * which the lexer makes from ';' and from the newlines that end a statement.
 * Inside ( and [ newlines are whitespace, and a line ending in a binary
 * operator or ',' continues on the next, so an expression can span lines
 * only where nothing else could be meant (see lexer.l).
 *
 * Errors: every syntax error of a file is reported. The `error` productions
 * resynchronise at the next SEP or '}' (item level) and, for a bad `for` or
 * `def` header, at its '{' so the body is still checked. Messages are built by
 * yyreport_syntax_error below, which adds targeted hints (unclosed
 * delimiters, '=' vs '+=', ':' in declarations). Limits on nesting are
 * enforced by the lexer, which ends the parse with one error instead of
 * letting a hostile input overflow the parser stack.
 */

%code requires {
#include "nngc.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* An open ( [ or {, remembered by the lexer to match its closer and to say
 * where an unclosed one was opened. */
typedef struct Delim {
    char ch;       /* '(', '[' or '{' */
    Loc loc;
    const char *owner; /* '{' only: "for" or "def" when it opens their body, else NULL */
    bool stray;        /* '{' only: a syntax error already named it ("unexpected '{'") */
} Delim;

/* State shared by the lexer and the parser of one file. */
typedef struct ParseCtx {
    Diag *d;
    int file;
    AstList items;   /* the result: top-level items in source order */
    /* lexer position (1-based line/col, byte offset) of the next byte */
    int line, col, off;
    int nl_col;      /* column of the last newline seen */
    Delim delims[NN_MAX_NESTING];
    int ndelims;
    int minus_run;   /* consecutive '-' tokens: unary minus chains nest */
    int stmt_ops;    /* operators since the last statement boundary */
    int last_tok;    /* last token returned (0 before the first) */
    const char *owner; /* "for"/"def" seen in this statement, for its '{' */
    Loc owner_loc;
    bool fatal;      /* a limit was hit: the lexer returns end of file */
    bool recovering; /* after a syntax error: the next newline ends the statement */
    bool eof_done;   /* end of input reached and handled */
    bool suppress_next;  /* the lexer reported an error: ... */
    int suppress_off;    /* ... so no syntax error at this token offset */
} ParseCtx;

void parse_ctx_init(ParseCtx *ctx, Diag *d, int file);
}

%code provides {
/* Limit on the operators of one statement: keeps expression trees shallow
 * enough for the recursive passes that walk them. */
#define NN_MAX_STMT_OPS 1000
}

%code {
#include "lexer.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Locations: the span from the first to the last symbol of a rule; an empty
 * rule gets an empty span just after the symbol before it. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                           \
    do {                                                                      \
        if (N) {                                                              \
            (Cur) = loc_merge(YYRHSLOC(Rhs, 1), YYRHSLOC(Rhs, N));            \
        } else {                                                              \
            (Cur) = YYRHSLOC(Rhs, 0);                                         \
            (Cur).off += (Cur).len;                                           \
            (Cur).len = 0;                                                    \
        }                                                                     \
    } while (0)

/* The parser stack only grows with nesting, which the lexer caps, so this
 * is never reached by a legal program; it is a last line of defence. */
#define YYMAXDEPTH 20000

static void yyerror(Loc *loc, ParseCtx *ctx, yyscan_t scanner, const char *msg);

static Ast *binop(int op, Ast *a, Ast *b, Loc loc, Loc op_loc) {
    Ast *n = ast_new(AST_BINOP, loc);
    n->op = op;
    n->a = a;
    n->b = b;
    n->op_loc = op_loc;
    return n;
}

static Ast *named(AstKind kind, Loc loc, const char *name) {
    Ast *n = ast_new(kind, loc);
    n->name = name;
    return n;
}

static AstList list1(Ast *x) {
    AstList l = {0};
    if (x)
        ast_push(&l, x);
    return l;
}

static AstList list_add(AstList l, Ast *x) {
    if (x)
        ast_push(&l, x);
    return l;
}
}

%define api.pure full
%define api.location.type {Loc}
%define api.token.prefix {TOK_}
%define parse.error custom
%define parse.lac full
%locations
%parse-param {ParseCtx *ctx} {yyscan_t scanner}
%lex-param {yyscan_t scanner}

/* Instead of raising this, find a way to use precedence to resolve
 * shift-reduce conflicts (as jq's parser.y says). */
%expect 0

%initial-action { @$ = (Loc){ctx->file, 1, 1, 0, 0}; }

%union {
    Ast *ast;
    AstList list;
    const char *str;
}

%token <str> NAME "identifier"
%token <ast> NUMBER "number"
%token <str> STRING "string"
%token SEP "end of line"
%token PLUSEQ "+="
%token DOTDOT ".."
%token MODEL "model" DIM "dim" PARAM "param" INPUT "input" OUTPUT "output"
%token IMPORT "import" DEF "def" RETURN "return" FOR "for" IN "in"
%token INIT "init" FROZEN "frozen" OPTIMIZER "optimizer" WITH "with"
%token MAX "max" INT "int" FLOAT "float"

%type <ast> item decl stmt expr primary call approx kwarg type init_spec param_attrs name
%type <list> stmts stmt_list block exprs args kwargs names params

/* Precedence, low to high: + -, * /, @, unary minus; indexing and calls bind
 * tightest because they are part of `primary`. All binary operators are
 * left-associative. */
%left '+' '-'
%left '*' '/'
%left '@'
%precedence NEG

%%

program:
    stmts                       { ctx->items = $1; }
;

/* Items separated by SEP, with an optional trailing SEP. The lexer never
 * sends a SEP first, twice in a row, or right after '{'. */
stmts:
    %empty                      { $$ = (AstList){0}; }
|   stmt_list                   { $$ = $1; }
|   stmt_list sep               { $$ = $1; }
;

stmt_list:
    item                        { $$ = list1($1); }
|   stmt_list sep item          { $$ = list_add($1, $3); }
;

/* A statement boundary also ends error recovery, so an error on the next
 * line is reported even within bison's default three-token wait. (Not in
 * `item: error` itself: that is reduced before the bad lookahead is
 * dropped, and would report it again and again.) */
sep:
    SEP                         { yyerrok; }
;

/* Declarations are accepted everywhere here; lowering says where they may
 * appear, with a better message than a syntax error could give. */
item:
    decl
|   stmt
|   error                       { $$ = NULL; }
    /* a broken line that opens a block ("(for t in 0..T {"): parse the
     * block, so its '}' is not a second error */
|   error block                 { $$ = NULL; }
;

block:
    '{' stmts '}'               { $$ = $2; }
;

decl:
    MODEL NAME                  { $$ = named(AST_MODEL, @$, $2); }
|   IMPORT STRING               { $$ = named(AST_IMPORT, @$, $2); }
|   DIM NAME '=' expr           { $$ = named(AST_DIM, @$, $2); $$->a = $4; }
|   DIM NAME MAX expr           { $$ = named(AST_DIM, @$, $2); $$->a = $4; $$->is_max = true; }
|   DIM NAME                    { $$ = named(AST_DIM, @$, $2); } /* open: --dim or the vocabulary */
|   PARAM NAME ':' type param_attrs {
                                  $$ = $5;
                                  $$->loc = @$;
                                  $$->name = $2;
                                  $$->type = $4;
                                }
|   INPUT NAME ':' type         { $$ = named(AST_INPUT, @$, $2); $$->type = $4; }
|   OUTPUT names                { $$ = ast_new(AST_OUTPUT, @$); $$->args = $2; }
|   OPTIMIZER NAME '(' kwargs ')' { $$ = named(AST_OPTIMIZER, @$, $2); $$->args = $4; }
|   OPTIMIZER NAME              { $$ = named(AST_OPTIMIZER, @$, $2); } /* every argument its default */
|   DEF NAME '(' params ')' block {
                                  $$ = named(AST_DEF, @$, $2);
                                  $$->args = $4;
                                  $$->body = $6;
                                }
    /* a broken header: still parse the body, so its errors are found too */
|   DEF error block             { $$ = NULL; }
;

/* `init X` and `frozen`, in either order; builds the AST_PARAM node that
 * the decl rule above completes. */
param_attrs:
    %empty                      { $$ = ast_new(AST_PARAM, @$); }
|   param_attrs INIT init_spec  {
                                  $$ = $1;
                                  if ($$->a)
                                      diag_error(ctx->d, @2, "duplicate 'init' for a param");
                                  $$->a = $3;
                                }
|   param_attrs FROZEN          {
                                  $$ = $1;
                                  if ($$->frozen)
                                      diag_error(ctx->d, @2, "duplicate 'frozen' for a param");
                                  $$->frozen = true;
                                }
;

init_spec:
    NAME                        { $$ = named(AST_NAME, @$, $1); }
|   NAME '(' args ')'           { $$ = named(AST_CALL, @$, $1); $$->args = $3; }
;

type:
    '[' exprs ']'               { $$ = ast_new(AST_TYPE, @$); $$->has_shape = true; $$->args = $2; }
|   FLOAT                       { $$ = ast_new(AST_TYPE, @$); }
|   INT                         { $$ = ast_new(AST_TYPE, @$); $$->is_int = true; }
|   FLOAT '[' exprs ']'         { $$ = ast_new(AST_TYPE, @$); $$->has_shape = true; $$->args = $3; }
|   INT '[' exprs ']'           {
                                  $$ = ast_new(AST_TYPE, @$);
                                  $$->is_int = true;
                                  $$->has_shape = true;
                                  $$->args = $3;
                                }
;

name:
    NAME                        { $$ = named(AST_NAME, @$, $1); }
;

names:
    name                        { $$ = list1($1); }
|   names ',' name              { $$ = list_add($1, $3); }
;

params:
    %empty                      { $$ = (AstList){0}; }
|   names                       { $$ = $1; }
;

stmt:
    NAME '=' expr               { $$ = named(AST_BIND, @$, $1); $$->a = $3; }
|   NAME PLUSEQ expr            { $$ = named(AST_ACCUM, @$, $1); $$->a = $3; $$->op_loc = @2; }
|   NAME '[' expr ']' '=' expr  { $$ = named(AST_SETROW, @$, $1); $$->b = $3; $$->a = $6; }
|   NAME '[' expr ']' PLUSEQ expr {
                                  diag_error(ctx->d, @5,
                                             "'+=' only adds to a plain name such as 'loss'; "
                                             "write a row with '%s[...] = ...'", $1);
                                  $$ = NULL;
                                }
|   FOR NAME IN expr DOTDOT expr block {
                                  $$ = named(AST_FOR, @$, $2);
                                  $$->op_loc = @1;
                                  $$->a = $4;
                                  $$->b = $6;
                                  $$->body = $7;
                                }
    /* a broken header: still parse the body, so its errors are found too */
|   FOR error block             { $$ = NULL; }
|   RETURN expr                 { $$ = ast_new(AST_RETURN, @$); $$->a = $2; }
;

expr:
    primary
|   '-' expr %prec NEG          { $$ = ast_new(AST_NEG, @$); $$->a = $2; }
|   expr '+' expr               { $$ = binop('+', $1, $3, @$, @2); }
|   expr '-' expr               { $$ = binop('-', $1, $3, @$, @2); }
|   expr '*' expr               { $$ = binop('*', $1, $3, @$, @2); }
|   expr '/' expr               { $$ = binop('/', $1, $3, @$, @2); }
|   expr '@' expr               { $$ = binop('@', $1, $3, @$, @2); }
;

primary:
    NUMBER
|   NAME                        { $$ = named(AST_NAME, @$, $1); }
|   call
|   '(' expr ')'                { $$ = $2; }
|   '[' exprs ']'               { $$ = ast_new(AST_SHAPE, @$); $$->args = $2; }
|   primary '[' expr ']'        {
                                  $$ = ast_new(AST_INDEX, @$);
                                  $$->a = $1;
                                  $$->b = $3;
                                  $$->op_loc = @2;
                                }
;

/* `with` belongs to the call it follows (the softmax node it configures). */
call:
    NAME '(' args ')'           { $$ = named(AST_CALL, @$, $1); $$->args = $3; }
|   NAME '(' args ')' WITH approx {
                                  $$ = named(AST_CALL, @$, $1);
                                  $$->args = $3;
                                  $$->approx = $6;
                                }
;

approx:
    NAME                        { $$ = named(AST_APPROX, @$, $1); }
|   NAME '(' kwargs ')'         { $$ = named(AST_APPROX, @$, $1); $$->args = $3; }
;

args:
    %empty                      { $$ = (AstList){0}; }
|   exprs                       { $$ = $1; }
;

exprs:
    expr                        { $$ = list1($1); }
|   exprs ',' expr              { $$ = list_add($1, $3); }
;

kwargs:
    %empty                      { $$ = (AstList){0}; }
|   kwarg                       { $$ = list1($1); }
|   kwargs ',' kwarg            { $$ = list_add($1, $3); }
;

kwarg:
    NAME '=' expr               { $$ = named(AST_KWARG, @$, $1); $$->a = $3; }
|   expr                        { $$ = ast_new(AST_KWARG, @$); $$->a = $1; }
;

%%

void parse_ctx_init(ParseCtx *ctx, Diag *d, int file) {
    memset(ctx, 0, sizeof *ctx);
    ctx->d = d;
    ctx->file = file;
    ctx->line = 1;
    ctx->col = 1;
    ctx->suppress_off = -1;
}

/* Only "memory exhausted" (the parser stack) reaches here; parse.error
 * custom sends syntax errors to yyreport_syntax_error. */
static void yyerror(Loc *loc, ParseCtx *ctx, yyscan_t scanner, const char *msg) {
    (void)scanner;
    if (!ctx->fatal)
        diag_error(ctx->d, *loc, "program nested too deeply for the parser (%s)", msg);
    ctx->fatal = true;
}

/* How a token is named in a message: identifiers and numbers with their
 * text, a SEP as what it was written as. */
static void describe(ParseCtx *ctx, yysymbol_kind_t sym, Loc loc, char *buf, size_t n) {
    const SourceFile *f = &ctx->d->files[ctx->file];
    const char *text = loc.off >= 0 && (size_t)loc.off < f->len ? f->text + loc.off : "";
    switch (sym) {
    case YYSYMBOL_YYEOF: snprintf(buf, n, "end of file"); break;
    case YYSYMBOL_SEP: /* the one the lexer adds at the end has no text */
        snprintf(buf, n, loc.len == 0 ? "end of file" : *text == ';' ? "';'" : "end of line");
        break;
    case YYSYMBOL_NAME: snprintf(buf, n, "identifier '%.*s'", loc.len > 40 ? 40 : loc.len, text); break;
    case YYSYMBOL_NUMBER: snprintf(buf, n, "number '%.*s'", loc.len > 40 ? 40 : loc.len, text); break;
    case YYSYMBOL_STRING: snprintf(buf, n, "string %.*s", loc.len > 40 ? 40 : loc.len, text); break;
    default: {
        /* char tokens are named "'+'" already; aliases come as "\"for\"" or "for" */
        const char *s = yysymbol_name(sym);
        size_t len = strlen(s);
        if (s[0] == '"' && len >= 2)
            snprintf(buf, n, "'%.*s'", (int)len - 2, s + 1);
        else if (s[0] == '\'')
            snprintf(buf, n, "%s", s);
        else
            snprintf(buf, n, "'%s'", s);
    }
    }
}

static bool expects(const yysymbol_kind_t *exp, int n, yysymbol_kind_t sym) {
    for (int i = 0; i < n; i++)
        if (exp[i] == sym)
            return true;
    return false;
}

/* Bison numbers char tokens by order of appearance (YYSYMBOL_4_ ...), so
 * they are recognised by name instead. */
static bool is_char(yysymbol_kind_t sym, char c) {
    const char *s = yysymbol_name(sym);
    return s[0] == '\'' && s[1] == c && s[2] == '\'' && s[3] == '\0';
}

static bool expects_char(const yysymbol_kind_t *exp, int n, char c) {
    for (int i = 0; i < n; i++)
        if (is_char(exp[i], c))
            return true;
    return false;
}

static int yyreport_syntax_error(const yypcontext_t *pc, ParseCtx *ctx, yyscan_t scanner) {
    (void)scanner;
    if (ctx->fatal)
        return 0;
    /* The lexer ends a broken statement at the next newline even inside ( ). */
    ctx->recovering = true;
    /* ... and a '{' that is the bad token opens a block parsed whole
     * (`item: error block`): the ( and [ before it end there, so that its
     * '}' does not leave them open (lexer.l's open_delim, for a later '{') */
    if (ctx->last_tok == '{' && ctx->ndelims > 0) {
        Delim top = ctx->delims[--ctx->ndelims];
        while (ctx->ndelims > 0 && ctx->delims[ctx->ndelims - 1].ch != '{')
            ctx->ndelims--;
        top.stray = true;
        ctx->delims[ctx->ndelims++] = top;
    }
    yysymbol_kind_t tok = yypcontext_token(pc);
    Loc loc = *yypcontext_location(pc);
    if (loc.off == ctx->suppress_off)
        return 0; /* the lexer already reported the problem here */

    yysymbol_kind_t exp[YYNTOKENS];
    int nexp = yypcontext_expected_tokens(pc, exp, YYNTOKENS);
    if (nexp < 0)
        nexp = 0;
    char found[80];
    describe(ctx, tok, loc, found, sizeof found);

    /* Innermost delimiter opened before the offending token. */
    const Delim *open = NULL;
    for (int i = ctx->ndelims - 1; i >= 0; i--) {
        if (ctx->delims[i].loc.off < loc.off) {
            open = &ctx->delims[i];
            break;
        }
    }
    if (open && open->ch != '{') {
        char closer = open->ch == '(' ? ')' : ']';
        if (expects_char(exp, nexp, closer) && (tok == YYSYMBOL_SEP || loc.line > open->loc.line)) {
            diag_error(ctx->d, loc, "expected '%c' to close '%c' at %d:%d, found %s",
                       closer, open->ch, open->loc.line, open->loc.col, found);
            return 0;
        }
    }
    if (tok == YYSYMBOL_WITH) {
        diag_error(ctx->d, loc, "'with' must follow a call, as in 'cross_entropy(W @ h, y) with neg(k = 3)'");
        return 0;
    }
    if (tok == YYSYMBOL_PLUSEQ) {
        if (expects_char(exp, nexp, '='))
            diag_error(ctx->d, loc, "expected '=' here, not '+='");
        else
            diag_error(ctx->d, loc, "unexpected '+=': only a plain name can be updated, as in 'loss += e'");
        return 0;
    }
    if (is_char(tok, '=') && expects_char(exp, nexp, ':')) {
        diag_error(ctx->d, loc, "expected ':' before the type, as in 'param W : [H, E]', found '='");
        return 0;
    }
    if (tok == YYSYMBOL_SEP && expects_char(exp, nexp, '{') && strcmp(found, "end of line") == 0) {
        diag_error(ctx->d, loc, "expected '{' on the same line, found end of line");
        return 0;
    }
    if (tok == YYSYMBOL_DOTDOT && open && open->ch == '[') {
        diag_error(ctx->d, loc, "unexpected '..': there are no slices (a[i] is one row; a loop, or a[ids] with a "
                                "vector of ids, takes several)");
        return 0;
    }
    if (is_char(tok, '{') && expects(exp, nexp, YYSYMBOL_DOTDOT)) {
        diag_error(ctx->d, loc, "expected '..' in the range, as in 'for t in 0..T', found '{'");
        return 0;
    }

    char msg[400];
    int len = snprintf(msg, sizeof msg, "unexpected %s", found);
    if (nexp > 0 && nexp <= 4) {
        for (int i = 0; i < nexp && len < (int)sizeof msg; i++) {
            char e[80];
            describe(ctx, exp[i], NO_LOC, e, sizeof e);
            if (exp[i] == YYSYMBOL_NAME)
                snprintf(e, sizeof e, "identifier");
            else if (exp[i] == YYSYMBOL_NUMBER)
                snprintf(e, sizeof e, "number");
            else if (exp[i] == YYSYMBOL_STRING)
                snprintf(e, sizeof e, "string");
            else if (exp[i] == YYSYMBOL_SEP)
                snprintf(e, sizeof e, "end of line");
            len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s", i == 0 ? ", expecting " : " or ", e);
        }
    }
    diag_error(ctx->d, loc, "%s", msg);
    return 0;
}

bool parse_file(Diag *d, int file, AstList *out) {
    NN_ASSERT(d && out && file >= 0 && file < d->nfiles);
    const SourceFile *f = &d->files[file];
    *out = (AstList){0};
    if (f->len > (size_t)INT_MAX / 2) {
        diag_error(d, NO_LOC, "%s: file too large", f->path);
        return false;
    }
    ParseCtx ctx;
    parse_ctx_init(&ctx, d, file);
    yyscan_t scanner;
    if (yylex_init_extra(&ctx, &scanner) != 0) {
        diag_error(d, NO_LOC, "cannot start the lexer: %s", strerror(errno));
        return false;
    }
    YY_BUFFER_STATE buf = yy_scan_bytes(f->text, (int)f->len, scanner);
    int errors_before = d->nerrors;
    int rc = yyparse(&ctx, scanner);
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
    *out = ctx.items;
    return rc == 0 && d->nerrors == errors_before;
}
