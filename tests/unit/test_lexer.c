/*
 * test_lexer.c - unit tests of compiler/parser/lexer.l: tokens, their
 * locations, and when a newline is a statement end.
 *
 * The scanner is driven directly (yylex with a ParseCtx, as parser.y does)
 * and every expectation is written by hand from the source text: kinds,
 * 1-based line/col, byte offset and length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nngc.h"
#include "parser.h"
#include "lexer.h"

typedef struct Tok {
    int kind; /* TOK_* or a char; 0 = end */
    Loc loc;
    const char *str; /* NAME, STRING */
    Ast *num;        /* NUMBER */
} Tok;

enum { MAXTOK = 256 };

typedef struct Lexed {
    Tok t[MAXTOK];
    int n;
    int nerrors;
    char *diag; /* everything printed to Diag.out */
} Lexed;

/* Lexes src to the end (at most MAXTOK tokens) and captures diagnostics. */
static Lexed *lex(const char *src) {
    Lexed *r = calloc(1, sizeof *r);
    size_t diaglen;
    FILE *out = open_memstream(&r->diag, &diaglen);
    Diag d;
    diag_init(&d, out);
    int file = diag_add_file(&d, "t.nn", src, strlen(src));
    ParseCtx ctx;
    parse_ctx_init(&ctx, &d, file);
    yyscan_t sc;
    assert_int_equal(yylex_init_extra(&ctx, &sc), 0);
    YY_BUFFER_STATE buf = yy_scan_bytes(src, (int)strlen(src), sc);
    for (;;) {
        YYSTYPE v = {0};
        Loc loc;
        int k = yylex(&v, &loc, sc);
        assert_true(r->n < MAXTOK);
        Tok *t = &r->t[r->n++];
        t->kind = k;
        t->loc = loc;
        if (k == TOK_NAME || k == TOK_STRING)
            t->str = v.str;
        if (k == TOK_NUMBER)
            t->num = v.ast;
        if (k == 0)
            break;
    }
    yy_delete_buffer(buf, sc);
    yylex_destroy(sc);
    fclose(out);
    r->nerrors = d.nerrors;
    return r;
}

static void free_lexed(Lexed *r) {
    free(r->diag);
    free(r);
}

/* Token i has this kind and starts at line:col, off, with length len. */
static void check_tok(const Lexed *r, int i, int kind, int line, int col, int off, int len) {
    assert_true(i < r->n);
    const Tok *t = &r->t[i];
    if (t->kind != kind)
        fail_msg("token %d: kind %d, want %d", i, t->kind, kind);
    if (t->loc.line != line || t->loc.col != col || t->loc.off != off || t->loc.len != len)
        fail_msg("token %d: at %d:%d off %d len %d, want %d:%d off %d len %d", i, t->loc.line, t->loc.col,
                 t->loc.off, t->loc.len, line, col, off, len);
    assert_int_equal(t->loc.file, 0);
}

static void check_kinds(const Lexed *r, const int *kinds, int n) {
    for (int i = 0; i < n; i++)
        if (i >= r->n || r->t[i].kind != kinds[i])
            fail_msg("token %d: kind %d, want %d", i, i < r->n ? r->t[i].kind : -1, kinds[i]);
    assert_int_equal(r->n, n);
}

/* "0..T" is 0, '..', T and not "0." followed by ".T". */
static void test_range(void **state) {
    (void)state;
    Lexed *r = lex("for t in 0..T {");
    check_tok(r, 0, TOK_FOR, 1, 1, 0, 3);
    check_tok(r, 1, TOK_NAME, 1, 5, 4, 1);
    assert_string_equal(r->t[1].str, "t");
    check_tok(r, 2, TOK_IN, 1, 7, 6, 2);
    check_tok(r, 3, TOK_NUMBER, 1, 10, 9, 1);
    assert_true(r->t[3].num->is_int);
    assert_int_equal(r->t[3].num->ival, 0);
    check_tok(r, 4, TOK_DOTDOT, 1, 11, 10, 2);
    check_tok(r, 5, TOK_NAME, 1, 13, 12, 1);
    check_tok(r, 6, '{', 1, 15, 14, 1);
    /* the '{' stays open at the end of input: one error, then the end */
    assert_int_equal(r->nerrors, 1);
    assert_non_null(strstr(r->diag, "expected '}' to close '{' at 1:15"));
    free_lexed(r);

    r = lex("2..T + 2\n");
    check_tok(r, 0, TOK_NUMBER, 1, 1, 0, 1);
    check_tok(r, 1, TOK_DOTDOT, 1, 2, 1, 2);
    check_tok(r, 2, TOK_NAME, 1, 4, 3, 1);
    check_tok(r, 3, '+', 1, 6, 5, 1);
    check_tok(r, 4, TOK_NUMBER, 1, 8, 7, 1);
    check_tok(r, 5, TOK_SEP, 1, 9, 8, 1);
    check_tok(r, 6, 0, 2, 1, 9, 0);
    assert_int_equal(r->nerrors, 0);
    free_lexed(r);
}

/* Integer and float literals; a leading '-' is a separate token. */
static void test_numbers(void **state) {
    (void)state;
    Lexed *r = lex("12 0.1 1e-3 .5 2.5E+2 -0.5 9223372036854775807");
    check_tok(r, 0, TOK_NUMBER, 1, 1, 0, 2);
    assert_true(r->t[0].num->is_int);
    assert_int_equal(r->t[0].num->ival, 12);
    check_tok(r, 1, TOK_NUMBER, 1, 4, 3, 3);
    assert_false(r->t[1].num->is_int);
    assert_float_equal(r->t[1].num->num, 0.1, 0);
    check_tok(r, 2, TOK_NUMBER, 1, 8, 7, 4);
    assert_false(r->t[2].num->is_int);
    assert_float_equal(r->t[2].num->num, 0.001, 0);
    check_tok(r, 3, TOK_NUMBER, 1, 13, 12, 2);
    assert_float_equal(r->t[3].num->num, 0.5, 0);
    check_tok(r, 4, TOK_NUMBER, 1, 16, 15, 6);
    assert_float_equal(r->t[4].num->num, 250.0, 0);
    check_tok(r, 5, '-', 1, 23, 22, 1);
    check_tok(r, 6, TOK_NUMBER, 1, 24, 23, 3);
    assert_float_equal(r->t[6].num->num, 0.5, 0);
    check_tok(r, 7, TOK_NUMBER, 1, 28, 27, 19);
    assert_true(r->t[7].num->ival == INT64_MAX);
    check_tok(r, 8, TOK_SEP, 1, 47, 46, 0);
    check_tok(r, 9, 0, 1, 47, 46, 0);
    assert_int_equal(r->nerrors, 0);
    free_lexed(r);
}

/* Out-of-range and malformed numbers are errors at their location. */
static void test_bad_numbers(void **state) {
    (void)state;
    Lexed *r = lex("x = 99999999999999999999\ny = 12abc\nz = 1.\n");
    assert_int_equal(r->nerrors, 3);
    assert_non_null(strstr(r->diag, "t.nn:1:5: error: integer literal overflow (it does not fit in 64 bits)\n"
                                    "x = 99999999999999999999\n"
                                    "    ^^^^^^^^^^^^^^^^^^^^\n"));
    assert_non_null(strstr(r->diag, "t.nn:2:5: error: invalid number '12abc'"));
    assert_non_null(strstr(r->diag, "t.nn:3:5: error: invalid number '1.'"));
    /* each stays one NUMBER token, so the statements stay whole */
    static const int kinds[] = {TOK_NAME, '=', TOK_NUMBER, TOK_SEP, TOK_NAME, '=', TOK_NUMBER, TOK_SEP,
                                TOK_NAME, '=', TOK_NUMBER, TOK_SEP, 0};
    check_kinds(r, kinds, 13);
    free_lexed(r);
}

/* Keywords are whole words: "fork", "inputs", "maxi", "int8" are names. */
static void test_keywords(void **state) {
    (void)state;
    Lexed *r = lex("model dim param input output import def return for in init frozen optimizer with max int "
                   "float fork inputs maxi int8 frozen_ _x Model");
    static const int kinds[] = {TOK_MODEL, TOK_DIM, TOK_PARAM, TOK_INPUT, TOK_OUTPUT, TOK_IMPORT, TOK_DEF,
                                TOK_RETURN, TOK_FOR, TOK_IN, TOK_INIT, TOK_FROZEN, TOK_OPTIMIZER, TOK_WITH,
                                TOK_MAX, TOK_INT, TOK_FLOAT, TOK_NAME, TOK_NAME, TOK_NAME, TOK_NAME,
                                TOK_NAME, TOK_NAME, TOK_NAME, TOK_SEP, 0};
    check_kinds(r, kinds, 26);
    assert_string_equal(r->t[17].str, "fork");
    assert_string_equal(r->t[20].str, "int8");
    assert_string_equal(r->t[23].str, "Model");
    free_lexed(r);
}

/* Comments vanish; blank and comment lines give no extra SEP; lines count. */
static void test_comments_and_lines(void **state) {
    (void)state;
    Lexed *r = lex("# head\n\nx = 1 # one\n\n   # only a comment\n\ty += 2;; z\n");
    check_tok(r, 0, TOK_NAME, 3, 1, 8, 1);
    check_tok(r, 1, '=', 3, 3, 10, 1);
    check_tok(r, 2, TOK_NUMBER, 3, 5, 12, 1);
    check_tok(r, 3, TOK_SEP, 3, 12, 19, 1);      /* the newline after the comment */
    check_tok(r, 4, TOK_NAME, 6, 2, 42, 1);      /* a tab is one byte column */
    check_tok(r, 5, TOK_PLUSEQ, 6, 4, 44, 2);
    check_tok(r, 6, TOK_NUMBER, 6, 7, 47, 1);
    check_tok(r, 7, TOK_SEP, 6, 8, 48, 1);       /* ';' */
    check_tok(r, 8, TOK_NAME, 6, 11, 51, 1);     /* the second ';' gave nothing */
    check_tok(r, 9, TOK_SEP, 6, 12, 52, 1);
    check_tok(r, 10, 0, 7, 1, 53, 0);
    assert_int_equal(r->n, 11);
    assert_int_equal(r->nerrors, 0);
    free_lexed(r);
}

/* Inside ( and [ and after a binary operator or ',', a newline is space. */
static void test_newlines_in_parens(void **state) {
    (void)state;
    Lexed *r = lex("y = f(a,\n  b[1\n])\nz = a +\n  b\n");
    static const int kinds[] = {TOK_NAME, '=', TOK_NAME, '(', TOK_NAME, ',', TOK_NAME, '[', TOK_NUMBER, ']',
                                ')', TOK_SEP, TOK_NAME, '=', TOK_NAME, '+', TOK_NAME, TOK_SEP, 0};
    check_kinds(r, kinds, 19);
    check_tok(r, 6, TOK_NAME, 2, 3, 11, 1);
    check_tok(r, 9, ']', 3, 1, 15, 1);
    check_tok(r, 11, TOK_SEP, 3, 3, 17, 1);
    check_tok(r, 16, TOK_NAME, 5, 3, 28, 1);
    assert_int_equal(r->nerrors, 0);
    free_lexed(r);

    /* inside { } a newline ends a statement, but not right after the '{' */
    r = lex("for t in 0..T {\n  h = 1\n}\n");
    static const int kinds2[] = {TOK_FOR, TOK_NAME, TOK_IN, TOK_NUMBER, TOK_DOTDOT, TOK_NAME, '{', TOK_NAME,
                                 '=', TOK_NUMBER, TOK_SEP, '}', TOK_SEP, 0};
    check_kinds(r, kinds2, 14);
    free_lexed(r);
}

/* import strings, operators, and the SEP added at the end of input. */
static void test_strings_and_operators(void **state) {
    (void)state;
    Lexed *r = lex("import \"nn\"\na@b*c/d-e+=f:g");
    check_tok(r, 0, TOK_IMPORT, 1, 1, 0, 6);
    check_tok(r, 1, TOK_STRING, 1, 8, 7, 4);
    assert_string_equal(r->t[1].str, "nn");
    static const int kinds[] = {TOK_IMPORT, TOK_STRING, TOK_SEP, TOK_NAME, '@', TOK_NAME, '*', TOK_NAME, '/',
                                TOK_NAME, '-', TOK_NAME, TOK_PLUSEQ, TOK_NAME, ':', TOK_NAME, TOK_SEP, 0};
    check_kinds(r, kinds, 18);
    check_tok(r, 12, TOK_PLUSEQ, 2, 10, 21, 2);
    free_lexed(r);
}

/* A bad character is reported where it is, and lexing goes on. */
static void test_bad_characters(void **state) {
    (void)state;
    Lexed *r = lex("x = $ + 1\ny = \xc3\xa9 \x01 \xff 2\ns = \"abc\n");
    assert_int_equal(r->nerrors, 5);
    assert_non_null(strstr(r->diag, "t.nn:1:5: error: unexpected character '$'\nx = $ + 1\n    ^\n"));
    assert_non_null(strstr(r->diag, "t.nn:2:5: error: unexpected character '\xc3\xa9'"));
    assert_non_null(strstr(r->diag, "t.nn:2:8: error: unexpected control character 0x01"));
    assert_non_null(strstr(r->diag, "t.nn:2:10: error: invalid UTF-8 byte 0xff"));
    assert_non_null(strstr(r->diag, "t.nn:3:5: error: unterminated string"));
    /* the source line shows bad bytes as '?', and the caret counts é as one column */
    assert_non_null(strstr(r->diag, "y = \xc3\xa9 ? ? 2\n        ^\n"));
    static const int kinds[] = {TOK_NAME, '=', '+', TOK_NUMBER, TOK_SEP, TOK_NAME, '=', TOK_NUMBER, TOK_SEP,
                                TOK_NAME, '=', TOK_STRING, TOK_SEP, 0};
    check_kinds(r, kinds, 14);
    free_lexed(r);
}

/* Closers: a stray one is skipped, a mistyped one replaced, a missing inner
 * one inserted (a zero-length token) before the outer closer. */
static void test_delimiters(void **state) {
    (void)state;
    Lexed *r = lex("a)\nb[1)\n{ f(x }");
    assert_int_equal(r->nerrors, 3);
    assert_non_null(strstr(r->diag, "t.nn:1:2: error: unmatched ')'"));
    assert_non_null(strstr(r->diag, "t.nn:2:4: error: expected ']' to close '[' at 2:2, found ')'"));
    assert_non_null(strstr(r->diag, "t.nn:3:7: error: expected ')' to close '(' at 3:4, found '}'"));
    static const int kinds[] = {TOK_NAME, TOK_SEP, TOK_NAME, '[', TOK_NUMBER, ']', TOK_SEP, '{', TOK_NAME,
                                '(', TOK_NAME, ')', '}', TOK_SEP, 0};
    check_kinds(r, kinds, 15);
    check_tok(r, 5, ']', 2, 4, 6, 1);
    check_tok(r, 11, ')', 3, 7, 14, 0);
    check_tok(r, 12, '}', 3, 7, 14, 1);
    free_lexed(r);
}

/* More than NN_MAX_NESTING open delimiters ends the input with one error. */
static void test_nesting_limit(void **state) {
    (void)state;
    char *src = malloc(100010);
    memset(src, '[', 100000);
    strcpy(src + 100000, "1");
    Lexed *r = lex(src);
    assert_int_equal(r->nerrors, 1);
    assert_non_null(strstr(r->diag, "t.nn:1:201: error: too deeply nested (more than 200 levels"));
    assert_int_equal(r->n, NN_MAX_NESTING + 1); /* 200 '[' then the end */
    free_lexed(r);
    free(src);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_bad_numbers),
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_comments_and_lines),
        cmocka_unit_test(test_newlines_in_parens),
        cmocka_unit_test(test_strings_and_operators),
        cmocka_unit_test(test_bad_characters),
        cmocka_unit_test(test_delimiters),
        cmocka_unit_test(test_nesting_limit),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xfree_all();
    return rc;
}
