/*
 * test_rt_vocab.c - the text data layer (runtime/nnrt_data.h): vocabulary
 * order, <unk>, min count and size cut, labels, text -> ids, the layouts,
 * the vocabulary file, word2vec export, and the errors on malformed text.
 * Every expected id below is worked out by hand in the comments.
 */
#include "rt_testutil.h"

#include "nnrt_data.h"

#define dir tmp_dir() /* the scratch directory of rt_testutil.h */

/* Writes text to dir/name; returns the path (static buffer per call site). */
/* Writes len bytes of text (len 0: up to its NUL) to dir/name. */
static const char *put_bytes(const char *name, const char *text, size_t len) {
    static char paths[8][4096];
    static int k;
    char *p = paths[k++ % 8];
    snprintf(p, 4096, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fwrite(text, 1, len ? len : strlen(text), f);
    fclose(f);
    return p;
}

static const char *put(const char *name, const char *text) {
    return put_bytes(name, text, 0);
}

/* b a c a / a b / (empty) / d <unk> b
 * counts a 3, b 3, c 1, d 1; first occurrence b, a, c, d; 3 lines with words. */
static const char *TEXT = "b a c a\na b\n\n d\t<unk>  b \n";

static void build(const char *path, int64_t min_count, int64_t max_size, nnrt_vocab *v) {
    nnrt_vocab raw;
    nnrt_vocab_init(&raw);
    nnrt_text_stats st;
    assert_int_equal(nnrt_text_count(path, &raw, NULL, &st), NNRT_OK);
    assert_int_equal(st.lines, 4);
    assert_int_equal(st.tokens, 9);
    assert_int_equal(nnrt_vocab_finish(&raw, min_count, max_size, 1, v), NNRT_OK);
    nnrt_vocab_free(&raw);
}

static void expect_vocab(const nnrt_vocab *v, int n, const char *const *words, const int64_t *counts) {
    assert_int_equal(v->n, n);
    for (int i = 0; i < n; i++) {
        assert_string_equal(v->word[i], words[i]);
        assert_int_equal(v->count[i], counts[i]);
        assert_int_equal(nnrt_vocab_find(v, words[i], strlen(words[i])), i);
    }
}

/* Ensure ids are <s>, <unk>, then by descending count with ties in order of
 * first occurrence, and that min count and the size cut move counts to <unk>. */
static void test_vocab_order(void **state) {
    (void)state;
    const char *path = put("a.txt", TEXT);
    nnrt_vocab v;
    build(path, 1, 0, &v);
    /* b and a tie at 3: b came first; c and d tie at 1: c first */
    static const char *const w1[] = {"<s>", "<unk>", "b", "a", "c", "d"};
    static const int64_t c1[] = {3, 1, 3, 3, 1, 1};
    expect_vocab(&v, 6, w1, c1);
    assert_int_equal(nnrt_vocab_find(&v, "e", 1), -1);
    assert_int_equal(nnrt_vocab_find(&v, "ab", 1), 3); /* only "a" of "ab" */
    nnrt_vocab_free(&v);

    build(path, 2, 0, &v); /* c, d under 2: <unk> 1 + 1 + 1 */
    static const char *const w2[] = {"<s>", "<unk>", "b", "a"};
    static const int64_t c2[] = {3, 3, 3, 3};
    expect_vocab(&v, 4, w2, c2);
    nnrt_vocab_free(&v);

    build(path, 1, 3, &v); /* room for b only: <unk> 1 + 3 + 1 + 1 */
    static const char *const w3[] = {"<s>", "<unk>", "b"};
    static const int64_t c3[] = {3, 6, 3};
    expect_vocab(&v, 3, w3, c3);
    nnrt_vocab_free(&v);

    /* a UTF-8 byte order mark before the first word is not part of it */
    char bom_text[64];
    snprintf(bom_text, sizeof bom_text, "%s%s", NNRT_UTF8_BOM, TEXT);
    build(put("bom.txt", bom_text), 1, 0, &v);
    expect_vocab(&v, 6, w1, c1);
    nnrt_vocab_free(&v);
}

/* Ensure lines become the ids of the vocabulary, empty lines and lines
 * over the limit are skipped and counted, and unknown words are <unk>. */
static void test_corpus_ids(void **state) {
    (void)state;
    const char *path = put("a.txt", TEXT);
    nnrt_vocab v;
    build(path, 2, 0, &v); /* <s> 0, <unk> 1, b 2, a 3 */
    nnrt_corpus c;
    assert_int_equal(nnrt_corpus_read(path, &v, NULL, 0, &c), NNRT_OK);
    assert_int_equal(c.n, 3);
    /* "b a c a" -> 2 3 1 3; "a b" -> 3 2; "d <unk> b" -> 1 1 2 */
    static const int32_t ids[] = {2, 3, 1, 3, 3, 2, 1, 1, 2};
    static const int64_t start[] = {0, 4, 6, 9}, line[] = {1, 2, 4};
    for (int i = 0; i < 9; i++)
        assert_int_equal(c.id[i], ids[i]);
    for (int i = 0; i < 4; i++)
        assert_int_equal(c.start[i], start[i]);
    for (int i = 0; i < 3; i++)
        assert_int_equal(c.line[i], line[i]);
    assert_null(c.label);
    assert_int_equal(c.empty, 1);
    assert_int_equal(c.unknown, 3); /* c, d and the token <unk> */
    assert_int_equal(c.too_long, 0);
    nnrt_corpus_free(&c);

    assert_int_equal(nnrt_corpus_read(path, &v, NULL, 3, &c), NNRT_OK);
    assert_int_equal(c.n, 2); /* line 1 has 4 words */
    assert_int_equal(c.too_long, 1);
    assert_int_equal(c.first_too_long, 1);
    assert_int_equal(c.line[0], 2);
    nnrt_corpus_free(&c);
    nnrt_vocab_free(&v);
}

/* Ensure the layouts put <s> (0) where docs/TRAIN.md says. */
static void test_layouts(void **state) {
    (void)state;
    const int32_t w[] = {7, 8};
    int32_t out[8];
    assert_int_equal(nnrt_layout_fill(NNRT_LAYOUT_LM, 1, w, 2, out), 3); /* <s> 7 8 <s>: T + 1 = 4 */
    assert_true(out[0] == 0 && out[1] == 7 && out[2] == 8 && out[3] == 0);
    assert_int_equal(nnrt_layout_fill(NNRT_LAYOUT_LM, 2, w, 2, out), 3); /* <s> <s> 7 8 <s> */
    assert_true(out[0] == 0 && out[1] == 0 && out[2] == 7 && out[3] == 8 && out[4] == 0);
    assert_int_equal(nnrt_layout_fill(NNRT_LAYOUT_WINDOW, 4, w, 2, out), 2); /* <s> <s> 7 8 <s> <s> */
    assert_true(out[0] == 0 && out[1] == 0 && out[2] == 7 && out[3] == 8 && out[4] == 0 && out[5] == 0);
    assert_int_equal(nnrt_layout_fill(NNRT_LAYOUT_PLAIN, 0, w, 2, out), 2);
    assert_true(out[0] == 7 && out[1] == 8);
    assert_int_equal(nnrt_layout_T(NNRT_LAYOUT_WINDOW, 3, 2), -1);
    assert_int_equal(nnrt_layout_T(NNRT_LAYOUT_LM, 0, 2), -1);
    assert_int_equal(nnrt_layout_T(NNRT_LAYOUT_PLAIN, 1, 2), -1);
}

/* Ensure labels get their own ids (by count) and every line needs exactly
 * one known label. */
static void test_labels(void **state) {
    (void)state;
    const char *path = put("l.txt", "__label__pos good film\nbad __label__neg film\n__label__pos great\n");
    nnrt_vocab raw, rawl, v, l;
    nnrt_vocab_init(&raw);
    nnrt_vocab_init(&rawl);
    assert_int_equal(nnrt_text_count(path, &raw, &rawl, NULL), NNRT_OK);
    assert_int_equal(nnrt_vocab_finish(&raw, 1, 0, 1, &v), NNRT_OK);
    assert_int_equal(nnrt_vocab_finish(&rawl, 1, 0, 0, &l), NNRT_OK);
    /* film 2, then good, bad, great (1 each, in order) */
    static const char *const w[] = {"<s>", "<unk>", "film", "good", "bad", "great"};
    static const int64_t wc[] = {3, 0, 2, 1, 1, 1};
    expect_vocab(&v, 6, w, wc);
    static const char *const lw[] = {"pos", "neg"};
    static const int64_t lc[] = {2, 1};
    expect_vocab(&l, 2, lw, lc);
    nnrt_corpus c;
    assert_int_equal(nnrt_corpus_read(path, &v, &l, 0, &c), NNRT_OK);
    assert_int_equal(c.n, 3);
    static const int32_t ids[] = {3, 2, 4, 2, 5};
    for (int i = 0; i < 5; i++)
        assert_int_equal(c.id[i], ids[i]);
    assert_true(c.label[0] == 0 && c.label[1] == 1 && c.label[2] == 0);
    nnrt_corpus_free(&c);

    /* without labels asked for, __label__pos is a word */
    assert_int_equal(nnrt_corpus_read(path, &v, NULL, 0, &c), NNRT_OK);
    assert_int_equal(c.id[0], 1);
    nnrt_corpus_free(&c);

    struct {
        const char *text, *msg;
        size_t len; /* 0: up to the text's NUL */
    } bad[] = {
        {"__label__pos a\nno label here\n", "bad.txt:2: no label", 0},
        {"__label__pos a __label__neg\n", "bad.txt:1: two labels", 0},
        {"a __label__zzz\n", "bad.txt:1: label '__label__zzz' is not one of the 2 labels", 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = put("bad.txt", bad[i].text);
        assert_int_equal(nnrt_corpus_read(p, &v, &l, 0, &c), NNRT_ERR_FORMAT);
        assert_error_contains((bad[i].msg));
        assert_int_equal(c.n, 0);
    }
    nnrt_vocab_free(&raw);
    nnrt_vocab_free(&rawl);
    nnrt_vocab_free(&v);
    nnrt_vocab_free(&l);
}

/* Ensure invalid UTF-8 is an error naming file:line:column, for reading
 * and counting alike, and that valid multi-byte text is accepted. */
static void test_utf8(void **state) {
    (void)state;
    assert_int_equal(nnrt_utf8_invalid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e", 14), -1);
    assert_int_equal(nnrt_utf8_invalid("ab\xc0\xaf", 4), 2);         /* overlong '/' */
    assert_int_equal(nnrt_utf8_invalid("\xed\xa0\x80", 3), 0);       /* a surrogate */
    assert_int_equal(nnrt_utf8_invalid("x\xe2\x82", 3), 1);          /* cut short */
    assert_int_equal(nnrt_utf8_invalid("\xf4\x90\x80\x80", 4), 0);   /* over U+10FFFF */
    assert_int_equal(nnrt_utf8_invalid("a\x80", 2), 1);              /* stray continuation */
    assert_int_equal(nnrt_utf8_invalid("a\0b", 3), 1);               /* NUL */
    assert_int_equal(nnrt_utf8_invalid("\xe2\x82\xac", 3), -1);

    const char *p = put("u.txt", "fine words\nbad w\xfford\n");
    nnrt_vocab raw, v;
    nnrt_vocab_init(&raw);
    assert_int_equal(nnrt_text_count(p, &raw, NULL, NULL), NNRT_ERR_FORMAT);
    assert_error_contains(("u.txt:2:6: byte 0xff is not valid UTF-8"));
    nnrt_vocab_free(&raw);
    nnrt_vocab_init(&raw);
    const char *ok = put("ok.txt", "fine words\n");
    assert_int_equal(nnrt_text_count(ok, &raw, NULL, NULL), NNRT_OK);
    assert_int_equal(nnrt_vocab_finish(&raw, 1, 0, 1, &v), NNRT_OK);
    nnrt_corpus c;
    assert_int_equal(nnrt_corpus_read(p, &v, NULL, 0, &c), NNRT_ERR_FORMAT);
    assert_error_contains(("u.txt:2:6:"));
    assert_int_equal(nnrt_corpus_read("/nonexistent/x.txt", &v, NULL, 0, &c), NNRT_ERR_IO);
    nnrt_vocab_free(&raw);
    nnrt_vocab_free(&v);
}

/* Ensure the vocabulary file round-trips, is rejected with file:line when
 * broken, and that word2vec export writes the header and rows exactly. */
static void test_vocab_file(void **state) {
    (void)state;
    const char *path = put("l.txt", "__label__pos good film\nbad __label__neg film\n");
    nnrt_vocab raw, rawl, v, l, v2, l2;
    nnrt_vocab_init(&raw);
    nnrt_vocab_init(&rawl);
    assert_int_equal(nnrt_text_count(path, &raw, &rawl, NULL), NNRT_OK);
    assert_int_equal(nnrt_vocab_finish(&raw, 1, 0, 1, &v), NNRT_OK);
    assert_int_equal(nnrt_vocab_finish(&rawl, 1, 0, 0, &l), NNRT_OK);
    char vp[4200];
    snprintf(vp, sizeof vp, "%s/v.vocab", dir);
    assert_int_equal(nnrt_vocab_save(vp, &v, &l), NNRT_OK);
    char buf[512] = {0};
    FILE *f = fopen(vp, "rb");
    assert_int_equal(fread(buf, 1, sizeof buf - 1, f) > 0, 1);
    fclose(f);
    assert_string_equal(buf, "nngc-vocab 1 words 5 labels 2\n<s>\t2\n<unk>\t0\nfilm\t2\ngood\t1\nbad\t1\npos\t1\nneg\t1\n");
    assert_int_equal(nnrt_vocab_load(vp, &v2, &l2), NNRT_OK);
    assert_int_equal(v2.n, 5);
    assert_int_equal(l2.n, 2);
    assert_string_equal(v2.word[4], "bad");
    assert_int_equal(nnrt_vocab_find(&l2, "neg", 3), 1);
    nnrt_vocab_free(&v2);
    nnrt_vocab_free(&l2);

    /* a byte order mark before the header is skipped; columns count it */
    const char *bom = put("bom.vocab", NNRT_UTF8_BOM "nngc-vocab 1 words 2 labels 0\n<s>\t2\n<unk>\t0\n");
    assert_int_equal(nnrt_vocab_load(bom, &v2, &l2), NNRT_OK);
    assert_int_equal(v2.n, 2);
    nnrt_vocab_free(&v2);
    nnrt_vocab_free(&l2);
    bom = put("bom.vocab", NNRT_UTF8_BOM "nngc-vocab 1 words +2 labels 0\n<s>\t2\n<unk>\t0\n");
    assert_int_equal(nnrt_vocab_load(bom, &v2, &l2), NNRT_ERR_FORMAT);
    assert_error_contains("bom.vocab:1:20: bad vocabulary header");
    assert_error_contains("(columns counted after the byte order mark)");

    /* "\r\n" line ends (a file edited on Windows) read as "\n" */
    const char *crlf = put("crlf.vocab", "nngc-vocab 1 words 3 labels 1\r\n<s>\t2\r\n<unk>\t0\r\nfilm\t7\r\npos\t1\r\n");
    assert_int_equal(nnrt_vocab_load(crlf, &v2, &l2), NNRT_OK);
    assert_int_equal(v2.n, 3);
    assert_string_equal(v2.word[2], "film");
    assert_int_equal(v2.count[2], 7);
    assert_string_equal(l2.word[0], "pos");
    assert_int_equal(l2.count[0], 1);
    nnrt_vocab_free(&v2);
    nnrt_vocab_free(&l2);

    struct {
        const char *text, *msg;
        size_t len; /* 0: up to the text's NUL */
    } bad[] = {
        {"vocab 1 words 2 labels 0\n", "b.vocab:1: not a vocabulary file", 0},
        {"nngc-vocab 1 words 3 labels 0\n<s>\t1\n<unk>\t0\n", "b.vocab:4: the file ends after 2 of 3", 0},
        {"nngc-vocab 1 words 3 labels 0\n<s>\t1\n<unk>\t0\n<s>\t4\n", "b.vocab:4: '<s>' is listed twice", 0},
        {"nngc-vocab 1 words 2 labels 0\n<s>\t1\n<unk>\t-3\n", "b.vocab:3:7: the count is not a number", 0},
        {"nngc-vocab 1 words 2 labels 0\n<unk>\t1\n<s>\t0\n", "words 0 and 1 must be <s> and <unk>", 0},
        {"nngc-vocab 1 words 2 labels 0\n<s>\t1\n<unk>\t0\nextra\t1\n", "b.vocab:4: more lines", 0},
        /* the header exactly: single spaces, digits only */
        {"nngc-vocab 1words 2 labels 0\n<s>\t1\n<unk>\t0\n", "b.vocab:1:13: bad vocabulary header: expected", 0},
        {"nngc-vocab 1 words  2 labels 0\n<s>\t1\n<unk>\t0\n", "b.vocab:1:20: bad vocabulary header", 0},
        {"nngc-vocab 1 words +2 labels 0\n<s>\t1\n<unk>\t0\n", "b.vocab:1:20: bad vocabulary header", 0},
        {"nngc-vocab 1 words 2 labels 0 \n<s>\t1\n<unk>\t0\n", "b.vocab:1:30: bad vocabulary header", 0},
        {"nngc-vocab 1 words 3 labels 00\n<s>\t1\n<unk>\t0\nlast\t1\n", "b.vocab:1:29: bad vocabulary header: the label "
                                                                      "count with a leading zero", 0},
        {"nngc-vocab 1 words 02 labels 0\n<s>\t1\n<unk>\t0\n", "b.vocab:1:20: bad vocabulary header: the word count",
         0},
        {"nngc-vocab 1 words 1 labels 0\n<s>\t1\n", "b.vocab:1:20: 1 words: a vocabulary has at least <s>", 0},
        {"nngc-vocab 1 words 99999999999 labels 0\n", "b.vocab:1:20: the word count over", 0},
        {"nngc-vocab 3 words 2 labels 0\n", "b.vocab:1:12: a vocabulary file of version 3", 0},
        {"", "b.vocab:1: not a vocabulary file (it is empty)", 0},
        {"\x7f" "ELF\x02\x01", "b.vocab:1: not a vocabulary file (expected a first line", 0},
        /* a count is decimal digits: no sign, no space, no overflow */
        {"nngc-vocab 1 words 2 labels 0\n<s>\t+3\n<unk>\t0\n", "b.vocab:2:5: the count is not a number >= 0", 0},
        {"nngc-vocab 1 words 2 labels 0\n<s>\t 3\n<unk>\t0\n", "b.vocab:2:5: the count is not a number", 0},
        {"nngc-vocab 1 words 2 labels 0\n<s>\t3 \n<unk>\t0\n", "b.vocab:2:6: the count is not a number", 0},
        {"nngc-vocab 1 words 2 labels 0\n<s>\t\n<unk>\t0\n", "b.vocab:2:5: the count is not a number", 0},
        {"nngc-vocab 1 words 2 labels 0\n<s>\t9223372036854775808\n<unk>\t0\n", "b.vocab:2:5: the count is over", 0},
        /* "\r\n" ends a line; a lone "\r" at the end does not */
        {"nngc-vocab 1 words 2 labels 0\r\n<s>\t1\r\n<unk>\t0\r", "b.vocab:3:8: a carriage return without a line", 0},
        {"nngc-vocab 1 words 2 labels 0\n<s>\t1\n<unk>\t0\n\r\n", "b.vocab:4: more lines", 0},
        {"nngc-vocab 1 words 2 labels 0\n<s>\t1\n<un\rk>\t0\n", "b.vocab:3:4: a word with white space", 0},
        {"nngc-vocab 1 words 3 labels 0\n<s>\t1\n<unk>\t0\nw\0x\t2\n", "b.vocab:4:2: not UTF-8", 50},
        {"nngc-vocab 1 words 2 labels 0\n<s>\t1\nunk\t0\n", "b.vocab:3: word 1 is 'unk': words 0 and 1 must be", 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = put_bytes("b.vocab", bad[i].text, bad[i].len);
        assert_int_equal(nnrt_vocab_load(p, &v2, &l2), NNRT_ERR_FORMAT);
        assert_error_contains((bad[i].msg));
    }
    /* a directory is a read error, not an empty file */
    assert_int_equal(nnrt_vocab_load(dir, &v2, &l2), NNRT_ERR_IO);
    assert_error_contains(":1: Is a directory");
    assert_int_equal(v2.n, 0);

    char wp[4200];
    snprintf(wp, sizeof wp, "%s/w.txt", dir);
    float table[6 * 2] = {0.5f, -1, 0.25f, 2, 1, 3, -0.5f, 0, 7, 8, 9, 10};
    assert_int_equal(nnrt_vocab_write_vectors(wp, &v, table, 6, 2), NNRT_OK);
    memset(buf, 0, sizeof buf);
    f = fopen(wp, "rb");
    assert_int_equal(fread(buf, 1, sizeof buf - 1, f) > 0, 1);
    fclose(f);
    assert_string_equal(buf, "5 2\n<s> 0.5 -1\n<unk> 0.25 2\nfilm 1 3\ngood -0.5 0\nbad 7 8\n");
    assert_int_equal(nnrt_vocab_write_vectors(wp, &v, table, 4, 2), NNRT_ERR_SHAPE);
    nnrt_vocab_free(&raw);
    nnrt_vocab_free(&rawl);
    nnrt_vocab_free(&v);
    nnrt_vocab_free(&l);
}

/* Ensure the hash table keeps every word findable as it grows. */
static void test_many_words(void **state) {
    (void)state;
    nnrt_vocab v;
    nnrt_vocab_init(&v);
    char w[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(w, sizeof w, "w%d", i);
        assert_int_equal(nnrt_vocab_add(&v, w, (size_t)n, i), i);
    }
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(w, sizeof w, "w%d", i);
        assert_int_equal(nnrt_vocab_find(&v, w, (size_t)n), i);
        assert_int_equal(nnrt_vocab_add(&v, w, (size_t)n, 1), i);
        assert_int_equal(v.count[i], i + 1);
    }
    assert_int_equal(v.n, 5000);
    nnrt_vocab_free(&v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vocab_order, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_corpus_ids, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_layouts),
        cmocka_unit_test_setup_teardown(test_labels, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_utf8, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_vocab_file, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_many_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
