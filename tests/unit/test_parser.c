/*
 * test_parser.c - unit tests of compiler/parser/parser.y: the AST built for
 * every program of LANGUAGE.md, precedence, `with`, locations, and the
 * syntax errors (message, line:col, count) of malformed programs.
 *
 * Trees are compared as ast_print S-expressions written by hand from the
 * source (the form is documented at the top of compiler/parser/ast.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nngc.h"

typedef struct Parsed {
    bool ok;
    AstList items;
    int nerrors;
    char *diag; /* diagnostics as printed */
    char *tree; /* ast_print output */
} Parsed;

static Parsed *parse_opts(const char *src, size_t len, int max_errors) {
    Parsed *r = calloc(1, sizeof *r);
    size_t n;
    FILE *out = open_memstream(&r->diag, &n);
    Diag d;
    diag_init(&d, out);
    d.max_errors = max_errors;
    int file = diag_add_file(&d, "t.nn", src, len);
    r->ok = parse_file(&d, file, &r->items);
    fclose(out);
    r->nerrors = d.nerrors;
    FILE *tree = open_memstream(&r->tree, &n);
    ast_print(&r->items, tree);
    fclose(tree);
    return r;
}

static Parsed *parse(const char *src) { return parse_opts(src, strlen(src), 0); }

static void free_parsed(Parsed *r) {
    free(r->diag);
    free(r->tree);
    free(r);
}

/* src parses without any diagnostic into exactly the tree `want`. */
static void check_tree(const char *src, const char *want) {
    Parsed *r = parse(src);
    if (!r->ok || r->nerrors || strcmp(r->diag, "") != 0)
        fail_msg("unexpected diagnostics for:\n%s\n%s", src, r->diag);
    if (strcmp(r->tree, want) != 0)
        fail_msg("tree of:\n%s\ngot:\n%s\nwant:\n%s", src, r->tree, want);
    free_parsed(r);
}

/* src fails with nerrors errors, and each of the `msgs` (NULL-ended) is
 * in the diagnostics. */
static void check_errors(const char *src, int nerrors, ...) {
    Parsed *r = parse(src);
    if (r->ok || r->nerrors != nerrors)
        fail_msg("for:\n%s\nok=%d with %d errors, want %d:\n%s", src, r->ok, r->nerrors, nerrors, r->diag);
    va_list ap;
    va_start(ap, nerrors);
    for (const char *m; (m = va_arg(ap, const char *));)
        if (!strstr(r->diag, m))
            fail_msg("for:\n%s\nmissing \"%s\" in:\n%s", src, m, r->diag);
    va_end(ap);
    free_parsed(r);
}

/* ---------------------------------------------------------------- LANGUAGE.md programs */

/* The slow-impl example: nested for, +=, dot of a product and an index. */
static void test_slowimpl(void **state) {
    (void)state;
    check_tree("model slowimpl\n"
               "dim N = 10\n"
               "dim D = 100\n"
               "param W : [D, D]\n"
               "input xs : [N, D]\n"
               "input ys : [N, D]\n"
               "optimizer sgd(lr = 0.1)\n"
               "for i in 0..N {\n"
               "  for j in 0..N {\n"
               "    loss += dot(W @ xs[i], ys[j])\n"
               "  }\n"
               "}\n",
               "(model slowimpl)\n"
               "(dim N 10)\n"
               "(dim D 100)\n"
               "(param W (float [D D]))\n"
               "(input xs (float [N D]))\n"
               "(input ys (float [N D]))\n"
               "(optimizer sgd (kw lr 0.1))\n"
               "(for i 0 N (for j 0 N (accum loss (call dot (@ W (index xs i)) (index ys j)))))\n");
}

/* The skip-gram example: comments, int[T + 4], a range with arithmetic. */
static void test_skipgram(void **state) {
    (void)state;
    check_tree("model skipgram\n"
               "dim V = 10000\n"
               "dim D = 128\n"
               "dim T max 200\n"
               "param Ww : [V, D]              # word (centre) embeddings\n"
               "param Wc : [V, D]              # context embeddings\n"
               "input sent : int[T + 4]\n"
               "optimizer sgd(lr = 0.1)\n"
               "for i in 2..T + 2 {\n"
               "  e = Ww[sent[i]]\n"
               "  loss += cross_entropy(Wc @ e, sent[i - 2])\n"
               "  loss += cross_entropy(Wc @ e, sent[i - 1])\n"
               "  loss += cross_entropy(Wc @ e, sent[i + 1])\n"
               "  loss += cross_entropy(Wc @ e, sent[i + 2])\n"
               "}\n",
               "(model skipgram)\n"
               "(dim V 10000)\n"
               "(dim D 128)\n"
               "(dim T max 200)\n"
               "(param Ww (float [V D]))\n"
               "(param Wc (float [V D]))\n"
               "(input sent (int [(+ T 4)]))\n"
               "(optimizer sgd (kw lr 0.1))\n"
               "(for i 2 (+ T 2) (bind e (index Ww (index sent i)))"
               " (accum loss (call cross_entropy (@ Wc e) (index sent (- i 2))))"
               " (accum loss (call cross_entropy (@ Wc e) (index sent (- i 1))))"
               " (accum loss (call cross_entropy (@ Wc e) (index sent (+ i 1))))"
               " (accum loss (call cross_entropy (@ Wc e) (index sent (+ i 2)))))\n");
}

/* The Elman RNN example: init zeros, zeros([H]), a rebinding in a loop. */
static void test_rnnlm(void **state) {
    (void)state;
    check_tree("model rnnlm\n"
               "dim V = 10000\n"
               "dim E = 64\n"
               "dim H = 128\n"
               "dim T max 100\n"
               "param emb : [V, E]\n"
               "param Wx : [H, E]\n"
               "param Wh : [H, H]\n"
               "param bh : [H] init zeros\n"
               "param Wo : [V, H]\n"
               "param bo : [V] init zeros\n"
               "input words : int[T + 1]\n"
               "optimizer adam(lr = 0.001)\n"
               "h = zeros([H])\n"
               "for t in 0..T {\n"
               "  h = tanh(Wx @ emb[words[t]] + Wh @ h + bh)\n"
               "  loss += cross_entropy(Wo @ h + bo, words[t + 1])\n"
               "}\n",
               "(model rnnlm)\n"
               "(dim V 10000)\n"
               "(dim E 64)\n"
               "(dim H 128)\n"
               "(dim T max 100)\n"
               "(param emb (float [V E]))\n"
               "(param Wx (float [H E]))\n"
               "(param Wh (float [H H]))\n"
               "(param bh (float [H]) (init zeros))\n"
               "(param Wo (float [V H]))\n"
               "(param bo (float [V]) (init zeros))\n"
               "(input words (int [(+ T 1)]))\n"
               "(optimizer adam (kw lr 0.001))\n"
               "(bind h (call zeros (shape H)))\n"
               "(for t 0 T (bind h (call tanh (+ (+ (@ Wx (index emb (index words t))) (@ Wh h)) bh)))"
               " (accum loss (call cross_entropy (+ (@ Wo h) bo) (index words (+ t 1)))))\n");
}

/* The declaration forms of LANGUAGE.md, with their trailing comments. */
static void test_declarations(void **state) {
    (void)state;
    check_tree("model NAME                     # first line\n"
               "import \"nn\"                    # inlines stdlib/nn.nn\n"
               "dim V = 10000                  # a static size\n"
               "dim T max 128                  # a dynamic size\n"
               "param W : [H, E] init glorot   # trainable\n"
               "param E : [V, D] frozen        # never changed\n"
               "input x : [E]                  # float32 input\n"
               "input words : int[T]           # int32 input\n"
               "input y : int                  # a scalar int input\n"
               "output h                       # a value the forward pass returns\n"
               "optimizer sgd(lr = 0.1)        # or adam(lr, beta1, beta2, eps)\n"
               "param U : [H, E] init uniform(-0.1, 0.1) frozen\n"
               "param N : [H] frozen init normal(0, 1e-2)\n"
               "input s : float\n"
               "input f : float[2 * T, 3]\n"
               "output h, c\n"
               "optimizer adam(lr = 0.001, beta1 = 0.9, 0.999)\n"
               "optimizer adagrad                # every argument its default\n",
               "(model NAME)\n"
               "(import \"nn\")\n"
               "(dim V 10000)\n"
               "(dim T max 128)\n"
               "(param W (float [H E]) (init glorot))\n"
               "(param E (float [V D]) frozen)\n"
               "(input x (float [E]))\n"
               "(input words (int [T]))\n"
               "(input y (int))\n"
               "(output h)\n"
               "(optimizer sgd (kw lr 0.1))\n"
               "(param U (float [H E]) (init (call uniform (neg 0.1) 0.1)) frozen)\n"
               "(param N (float [H]) (init (call normal 0 0.01)) frozen)\n"
               "(input s (float))\n"
               "(input f (float [(* 2 T) 3]))\n"
               "(output h c)\n"
               "(optimizer adam (kw lr 0.001) (kw beta1 0.9) 0.999)\n"
               "(optimizer adagrad)\n");
}

/* An open dim (nngc's extension, docs/LANGUAGE.md "Open dims"): `dim V`
 * with no size, between the other forms. */
static void test_open_dim(void **state) {
    (void)state;
    check_tree("dim V\n"
               "dim E = 64\n"
               "dim W # sized by --dim W=N\n"
               "dim T max 10\n"
               "param emb : [V, E]\n",
               "(dim V open)\n"
               "(dim E 64)\n"
               "(dim W open)\n"
               "(dim T max 10)\n"
               "(param emb (float [V E]))\n");
}

/* Statements: bind, +=, a row write, def with ';' and return. */
static void test_statements(void **state) {
    (void)state;
    check_tree("y = x\n"
               "loss += sum(y)\n"
               "for t in 0..T { hs[t] = h }\n"
               "def affine(W, b, x) { return W @ x + b }\n"
               "def f(a, b) { c = a * b; return c }\n"
               "def g() { return 1 }\n",
               "(bind y x)\n"
               "(accum loss (call sum y))\n"
               "(for t 0 T (setrow hs t h))\n"
               "(def affine (W b x) (return (+ (@ W x) b)))\n"
               "(def f (a b) (bind c (* a b)) (return c))\n"
               "(def g () (return 1))\n");
}

/* Precedence high to low: index/call, unary -, @, * /, + -; left-assoc. */
static void test_precedence(void **state) {
    (void)state;
    check_tree("x = a + b @ c * d\n"
               "x = -a @ b\n"
               "x = a - b - c\n"
               "x = a / b * c\n"
               "x = -x[i]\n"
               "x = (a + b) * c\n"
               "x = W @ x @ y\n"
               "x = a * -b + f(c)[2]\n"
               "x = - - a\n"
               "x = a * b @ c\n"
               "x = a - b * c\n",
               "(bind x (+ a (* (@ b c) d)))\n"
               "(bind x (@ (neg a) b))\n"
               "(bind x (- (- a b) c))\n"
               "(bind x (* (/ a b) c))\n"
               "(bind x (neg (index x i)))\n"
               "(bind x (* (+ a b) c))\n"
               "(bind x (@ (@ W x) y))\n"
               "(bind x (+ (* a (neg b)) (index (call f c) 2)))\n"
               "(bind x (neg (neg a)))\n"
               "(bind x (* a (@ b c)))\n"
               "(bind x (- a (* b c)))\n");
}

/* `with` attaches to the call it follows, even inside a larger expression. */
static void test_with(void **state) {
    (void)state;
    check_tree("loss += cross_entropy(Wc @ e, c) with neg(k = 3)\n"
               "z = softmax(W @ h) with hier + 1\n"
               "p = log_softmax(f(W @ h)) with neg(k = 3, share = batch)\n"
               "q = softmax(z) with sampled(5)\n",
               "(accum loss (call cross_entropy (@ Wc e) c (with neg (kw k 3))))\n"
               "(bind z (+ (call softmax (@ W h) (with hier)) 1))\n"
               "(bind p (call log_softmax (call f (@ W h)) (with neg (kw k 3) (kw share batch))))\n"
               "(bind q (call softmax z (with sampled 5)))\n");
}

/* Expressions may span lines inside ( [ and after an operator or ','. */
static void test_multiline(void **state) {
    (void)state;
    check_tree("h = tanh(Wx @ x +\n"
               "         Wh @ h\n"
               "         + b)\n"
               "y = a +\n"
               "    b; z = [1,\n"
               "2]\n",
               "(bind h (call tanh (+ (+ (@ Wx x) (@ Wh h)) b)))\n"
               "(bind y (+ a b))\n"
               "(bind z (shape 1 2))\n");
}

/* An empty file (or only comments) is a successful parse of no items. */
static void test_empty(void **state) {
    (void)state;
    check_tree("", "");
    check_tree("# nothing\n\n   \n# here", "");
    Parsed *r = parse("\n\n");
    assert_true(r->ok);
    assert_int_equal(r->items.n, 0);
    free_parsed(r);
}

/* ---------------------------------------------------------------- locations */

/* loc covers the whole construct; op_loc is the operator token. */
static void test_locations(void **state) {
    (void)state;
    Parsed *r = parse("x = a + b @ c\n"
                      "y = f(a) with neg(k = 3)\n"
                      "for t in 0..T {\n  h = e[t]\n}\n"
                      "param W : [H, E] init glorot\n");
    assert_true(r->ok);
    assert_int_equal(r->items.n, 4);
    const Ast *bind = r->items.v[0];
    assert_int_equal(bind->loc.off, 0);
    assert_int_equal(bind->loc.len, 13);
    const Ast *plus = bind->a;
    assert_int_equal(plus->loc.off, 4);
    assert_int_equal(plus->loc.len, 9);
    assert_int_equal(plus->loc.col, 5);
    assert_int_equal(plus->op_loc.off, 6);
    assert_int_equal(plus->op_loc.len, 1);
    assert_int_equal(plus->b->op_loc.col, 11);
    assert_int_equal(plus->b->loc.off, 8);
    assert_int_equal(plus->b->loc.len, 5);

    const Ast *call = r->items.v[1]->a; /* line 2 starts at offset 14 */
    assert_int_equal(call->kind, AST_CALL);
    assert_int_equal(call->loc.line, 2);
    assert_int_equal(call->loc.col, 5);
    assert_int_equal(call->loc.off, 18);
    assert_int_equal(call->loc.len, 20);
    assert_int_equal(call->approx->loc.off, 28);
    assert_int_equal(call->approx->loc.len, 10);
    assert_int_equal(call->approx->args.v[0]->loc.off, 32);
    assert_int_equal(call->approx->args.v[0]->loc.len, 5);

    const Ast *f = r->items.v[2]; /* line 3 starts at offset 39 */
    assert_int_equal(f->kind, AST_FOR);
    assert_int_equal(f->loc.off, 39);
    assert_int_equal(f->loc.len, 28); /* up to and including the '}' */
    assert_int_equal(f->op_loc.off, 39);
    assert_int_equal(f->op_loc.len, 3);
    const Ast *idx = f->body.v[0]->a;
    assert_int_equal(idx->kind, AST_INDEX);
    assert_int_equal(idx->loc.line, 4);
    assert_int_equal(idx->loc.col, 7);
    assert_int_equal(idx->loc.len, 4);
    assert_int_equal(idx->op_loc.col, 8);

    const Ast *p = r->items.v[3]; /* line 6 starts at offset 68 */
    assert_int_equal(p->loc.off, 68);
    assert_int_equal(p->loc.len, 28);
    assert_int_equal(p->type->loc.off, 78);
    assert_int_equal(p->type->loc.len, 6);
    free_parsed(r);
}

/* ---------------------------------------------------------------- errors */

/* An unclosed '(' is named where the next line's token is found; the parse
 * resynchronises and later statements are still checked. */
static void test_error_unclosed_paren(void **state) {
    (void)state;
    check_errors("model m\nh = tanh(x + b\nloss += 1\ny = = 2\n", 2,
                 "t.nn:3:1: error: expected ')' to close '(' at 2:9, found identifier 'loss'\n"
                 "loss += 1\n"
                 "^^^^\n",
                 "t.nn:4:5: error: unexpected '='", NULL);
}

/* Several errors in one file are all reported, and good lines survive. */
static void test_error_recovery(void **state) {
    (void)state;
    Parsed *r = parse("x = f(a b)\ny = = 3\nz = 1\n");
    assert_false(r->ok);
    assert_int_equal(r->nerrors, 2);
    assert_non_null(strstr(r->diag, "t.nn:1:9: error: unexpected identifier 'b'\nx = f(a b)\n        ^\n"));
    assert_non_null(strstr(r->diag, "t.nn:2:5: error: unexpected '='"));
    assert_string_equal(r->tree, "(bind z 1)\n");
    free_parsed(r);
}

/* An unterminated for/def block is reported at the end, with its '{'. */
static void test_error_unterminated_block(void **state) {
    (void)state;
    check_errors("for t in 0..T {\n  h = 1\n", 1,
                 "t.nn:2:8: error: unterminated 'for' block: expected '}' to close '{' at 1:15\n"
                 "  h = 1\n"
                 "       ^\n",
                 "t.nn:1:15: note: '{' opened here\nfor t in 0..T {\n              ^\n", NULL);
    check_errors("def f(a) {\n  return a", 1,
                 "t.nn:2:11: error: unterminated 'def' block: expected '}' to close '{' at 1:10", NULL);
    check_errors("x = (1 + 2\n", 1, "t.nn:1:11: error: expected ')' to close '(' at 1:5", NULL);
}

/* '=' vs '+=' misuse gets a targeted message. */
static void test_error_pluseq(void **state) {
    (void)state;
    check_errors("for t in 0..T {\n  hs[t] += h\n}\n", 1,
                 "t.nn:2:9: error: '+=' only adds to a plain name such as 'loss'; write a row with 'hs[...] = ...'",
                 NULL);
    check_errors("dim V += 3\n", 1, "t.nn:1:7: error: expected '=' here, not '+='", NULL);
    check_errors("x = a += 3\n", 1, "t.nn:1:7: error: unexpected '+=': only a plain name can be updated", NULL);
}

/* Declarations written with '=' instead of ':'. */
static void test_error_colon(void **state) {
    (void)state;
    check_errors("param W = [H, E]\ninput x = [E]\n", 2,
                 "t.nn:1:9: error: expected ':' before the type, as in 'param W : [H, E]', found '='",
                 "t.nn:2:9: error: expected ':' before the type", NULL);
}

/* `with` after something that is not a call. */
static void test_error_with(void **state) {
    (void)state;
    check_errors("x = a with neg\n", 1, "t.nn:1:7: error: 'with' must follow a call", NULL);
    check_errors("x = f(a)[1] with neg\n", 1, "t.nn:1:13: error: 'with' must follow a call", NULL);
}

/* A bad for header: the body is still parsed and its errors found. */
static void test_error_for_header(void **state) {
    (void)state;
    check_errors("for t in T {\n x = = 1\n}\ny = = 2\n", 3,
                 "t.nn:1:12: error: expected '..' in the range, as in 'for t in 0..T', found '{'",
                 "t.nn:2:6: error: unexpected '='", "t.nn:4:5: error: unexpected '='", NULL);
    check_errors("for t in 0..T\n{\n x = 1\n}\n", 1,
                 "t.nn:1:14: error: expected '{' on the same line, found end of line", NULL);
}

/* Wrong, stray and missing closers. */
static void test_error_closers(void **state) {
    (void)state;
    check_errors("x = a[1)\n", 1, "t.nn:1:8: error: expected ']' to close '[' at 1:6, found ')'", NULL);
    check_errors("x = 1 )\ny = 2 }\n", 2, "t.nn:1:7: error: unmatched ')'", "t.nn:2:7: error: unmatched '}'", NULL);
    check_errors("for t in 0..T {\n  h = tanh(x\n}\n", 1,
                 "t.nn:3:1: error: expected ')' to close '(' at 2:11, found '}'", NULL);
}

/* One error for one mistake: a broken line that opens a block has the
 * block parsed whole, and the closers of a broken statement are part of
 * its error (each of these gave a second error: "unexpected '}'", "expected
 * ')' to close '('" at the block's or the bracket's end, or a statement
 * after the block read as part of the broken line). */
static void test_error_no_follow_on(void **state) {
    (void)state;
    check_errors("(for t in 0..T {\n  h = h + 1\n}\nz = 2\n", 1, "t.nn:1:1: error: unexpected '('", NULL);
    check_errors("for i in 0..N {\n  for t in 0..(T {\n    h = 1\n  }\n}\nz = 2\n", 1, "t.nn:2:18: error: unexpected '{'",
                 NULL);
    check_errors("param W : [(V, D]\ninput x : [D]\n", 1, "t.nn:1:14: error: unexpected ','", NULL);
    check_errors("x = f(a, (b c]]\ny = 2\n", 1, "t.nn:1:13: error: unexpected identifier 'c'", NULL);
    /* an extra closer, the right one later on the line: it is the error
     * (it was taken as a mistyped ')' and the real ')' was "unmatched") */
    check_errors("x = dot(W @ xs[i]], ys[i])\n", 1, "t.nn:1:18: error: unmatched ']'", NULL);
    check_errors("x = a[1)\n", 1, "t.nn:1:8: error: expected ']' to close '[' at 1:6, found ')'", NULL);
    /* a '{' typed inside an expression opens no block: one error, the
     * line's rest parsed (it was also "expected '}' to close '{'" at the
     * end of the file) */
    check_errors("h = tanh(W @ { x)\ny = 2\n", 1,
                 "t.nn:1:14: error: unexpected '{' inside '(' (a '{' only opens a block)", NULL);
    check_errors("y = x[0..2]\n", 1, "t.nn:1:8: error: unexpected '..': there are no slices (a[i] is one row; a loop, "
                                    "or a[ids] with a vector of ids, takes several)", NULL);
    /* no power operator: said, and taken as '*' so the line parses */
    check_errors("y = x ** 2\nz = x ^ 3\n", 2, "t.nn:1:7: error: no '**' (power) operator: write x * x, or exp(p * log(x))",
                 "t.nn:2:7: error: no '^' (power) operator: write x * x, or exp(p * log(x))", NULL);
    check_errors("h = a[{ 1]\ny = 2 +\n", 2, "t.nn:1:7: error: unexpected '{' inside '[' (a '{' only opens a block)",
                 "t.nn:3:1: error: unexpected end of file", NULL);
}

/* A call used as a statement, a missing operand, an empty output list. */
static void test_error_misc(void **state) {
    (void)state;
    check_errors("tanh(x)\n", 1, "t.nn:1:5: error: unexpected '(', expecting '+=' or '=' or '['", NULL);
    check_errors("x = a +\n", 1, "t.nn:2:1: error: unexpected end of file", NULL);
    check_errors("output\n", 1, "t.nn:1:7: error: unexpected end of line, expecting identifier", NULL);
    check_errors("model\n", 1, "t.nn:1:6: error: unexpected end of line, expecting identifier", NULL);
    check_errors("x = 1 2\n", 1, "t.nn:1:7: error: unexpected number '2'", NULL);
    check_errors("param W : [H] init glorot init zeros\n", 1, "t.nn:1:27: error: duplicate 'init' for a param",
                 NULL);
    /* a lexer error is not followed by a syntax error about the same spot */
    check_errors("x = $\n", 1, "t.nn:1:5: error: unexpected character '$'", NULL);
}

/* Deep nesting is an error, reported once and quickly, not a crash. */
static void test_error_deep_nesting(void **state) {
    (void)state;
    enum { N = 100000 };
    static const char *const kinds[] = {"(", "[", "-", "-(", "{"};
    for (int k = 0; k < 5; k++) {
        size_t w = strlen(kinds[k]);
        char *src = malloc(N * w + 16);
        memcpy(src, "x = ", 4);
        for (int i = 0; i < N; i++)
            memcpy(src + 4 + (size_t)i * w, kinds[k], w);
        strcpy(src + 4 + (size_t)N * w, "1\n");
        clock_t t0 = clock();
        Parsed *r = parse_opts(src, strlen(src), 0);
        double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        assert_false(r->ok);
        assert_true(secs < 2.0);
        if (!strstr(r->diag, "too deeply nested (more than 200 levels") &&
            !strstr(r->diag, "too deeply nested (more than 200 '-' in a row)"))
            fail_msg("kind %s: %s", kinds[k], r->diag);
        free_parsed(r);
        free(src);
    }
    /* 200 nested for loops are fine; 201 are not */
    for (int depth = 200; depth <= 201; depth++) {
        size_t cap = (size_t)depth * 24 + 32, n = 0;
        char *src = malloc(cap);
        for (int i = 0; i < depth; i++)
            n += (size_t)snprintf(src + n, cap - n, "for i in 0..T {\n");
        n += (size_t)snprintf(src + n, cap - n, "x = 1\n");
        for (int i = 0; i < depth; i++)
            n += (size_t)snprintf(src + n, cap - n, "}\n");
        Parsed *r = parse_opts(src, n, 0);
        assert_int_equal(r->ok, depth == 200);
        assert_int_equal(r->nerrors, depth == 200 ? 0 : 1);
        free_parsed(r);
        free(src);
    }
    /* a very long operator chain is cut off too (later passes recurse) */
    size_t n = 4 + 2 * 5000 + 2;
    char *src = malloc(n + 1);
    memcpy(src, "x = ", 4);
    for (int i = 0; i < 5000; i++)
        memcpy(src + 4 + 2 * i, "a+", 2);
    strcpy(src + 4 + 2 * 5000, "a\n");
    Parsed *r = parse_opts(src, strlen(src), 0);
    assert_int_equal(r->nerrors, 1);
    assert_non_null(strstr(r->diag, "t.nn:1:2006: error: statement too long (more than 1000 operators)"));
    free_parsed(r);
    free(src);
}

/* After max_errors errors (0 = 100), one "too many errors" line, then quiet. */
static void test_error_limit(void **state) {
    (void)state;
    char *src = malloc(150 * 10 + 1);
    for (int i = 0; i < 150; i++)
        memcpy(src + i * 10, "x = = 1;\n\n", 10);
    src[1500] = '\0';
    Parsed *r = parse(src);
    assert_int_equal(r->nerrors, 150);
    int shown = 0;
    for (const char *p = r->diag; (p = strstr(p, ": error: ")); p++)
        shown++;
    assert_int_equal(shown, 100);
    assert_non_null(strstr(r->diag, "nngc: too many errors (more than 100)"));
    assert_non_null(strstr(r->diag, "t.nn:199:5: error:")); /* the 100th, on line 199 */
    assert_null(strstr(r->diag, "t.nn:201:5: error:"));
    free_parsed(r);

    r = parse_opts(src, 50, 2); /* the first 10 lines: 5 errors, limit 2 */
    assert_int_equal(r->nerrors, 5);
    assert_non_null(strstr(r->diag, "t.nn:3:5: error:"));
    assert_null(strstr(r->diag, "t.nn:5:5: error:"));
    assert_non_null(strstr(r->diag, "nngc: too many errors (more than 2)"));
    free_parsed(r);
    free(src);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slowimpl),
        cmocka_unit_test(test_skipgram),
        cmocka_unit_test(test_rnnlm),
        cmocka_unit_test(test_declarations),
        cmocka_unit_test(test_open_dim),
        cmocka_unit_test(test_statements),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_with),
        cmocka_unit_test(test_multiline),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_locations),
        cmocka_unit_test(test_error_unclosed_paren),
        cmocka_unit_test(test_error_recovery),
        cmocka_unit_test(test_error_unterminated_block),
        cmocka_unit_test(test_error_pluseq),
        cmocka_unit_test(test_error_colon),
        cmocka_unit_test(test_error_with),
        cmocka_unit_test(test_error_for_header),
        cmocka_unit_test(test_error_closers),
        cmocka_unit_test(test_error_no_follow_on),
        cmocka_unit_test(test_error_misc),
        cmocka_unit_test(test_error_deep_nesting),
        cmocka_unit_test(test_error_limit),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xfree_all();
    return rc;
}
