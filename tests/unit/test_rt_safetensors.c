/*
 * test_rt_safetensors.c - the safetensors reader and writer.
 *
 * The reader is checked on a file from an independent Python writer
 * (tests/data/make_st_fixtures.py; values restated here as formulas) and on
 * a catalogue of hostile headers built here, each of which must be refused
 * with NNRT_ERR_FORMAT and no crash or leak (run this binary under
 * valgrind to check the latter). The writer is checked by round trip and
 * by the layout of its header.
 */
#include "rt_testutil.h"

#include "nngrt.h"


/* Writes a safetensors file: the 8-byte length field n, then hlen bytes of
 * header, then ndata bytes of data (the floats 0, 1, 2, ... as far as they
 * go). */
static void write_st_raw(const char *path, uint64_t n, const char *header, size_t hlen,
                         size_t ndata) {
    size_t total = 8 + hlen + ndata;
    unsigned char *b = calloc(1, total);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(n >> (8 * i));
    memcpy(b + 8, header, hlen);
    for (size_t i = 0; i + 4 <= ndata; i += 4) {
        float v = (float)(i / 4);
        memcpy(b + 8 + hlen + i, &v, 4);
    }
    write_bytes(path, b, total);
    free(b);
}

static void write_st(const char *path, const char *header, size_t ndata) {
    write_st_raw(path, strlen(header), header, strlen(header), ndata);
}

/* Ensure the independent writer's file reads back: names (one non-ASCII,
 * given as \u00e9), shapes, a scalar, exact values, data order unlike key
 * order, and __metadata__ ignored. */
static void test_read_reference(void **state) {
    (void)state;
    nnrt_safetensors st;
    assert_int_equal(nnrt_st_read(data_path("safetensors/ref.safetensors"), &st), NNRT_OK);
    assert_int_equal(st.n, 4);

    const nnrt_st_tensor *W = nnrt_st_find(&st, "W");
    assert_non_null(W);
    assert_true(W->rank == 2 && W->shape[0] == 3 && W->shape[1] == 4 && W->count == 12);
    for (int i = 0; i < 12; i++) /* arange(12) * 0.25 */
        assert_true(W->data[i] == i * 0.25f);

    const nnrt_st_tensor *b = nnrt_st_find(&st, "b");
    assert_non_null(b);
    assert_true(b->rank == 1 && b->shape[0] == 3);
    assert_true(b->data[0] == 1.5f && b->data[1] == -2.0f && b->data[2] == 3.0f);

    const nnrt_st_tensor *s = nnrt_st_find(&st, "s");
    assert_non_null(s);
    assert_true(s->rank == 0 && s->count == 1 && s->data[0] == 7.0f);

    const nnrt_st_tensor *e = nnrt_st_find(&st, "emb\xc3\xa9"); /* UTF-8 of "embé" */
    assert_non_null(e);
    assert_true(e->rank == 2 && e->shape[0] == 2 && e->shape[1] == 2);
    for (int i = 0; i < 4; i++)
        assert_true(e->data[i] == (float)-i);

    assert_null(nnrt_st_find(&st, "__metadata__"));
    assert_null(nnrt_st_find(&st, "w"));
    nnrt_st_free(&st);
    assert_int_equal(st.n, 0);
}

/* Ensure JSON details a valid header may use: escapes of every kind,
 * surrogate pairs, whitespace, an empty object, empty and scalar tensors. */
static void test_read_json_details(void **state) {
    (void)state;
    const char *p = tmp_path("ok.safetensors");
    nnrt_safetensors st;
    write_st(p,
             "\r\n\t {\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\" : { \"shape\" : [ 2 ] "
             ", \"data_offsets\" : [ 0 , 8 ] , \"dtype\" : \"F32\" } ,"
             "\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[8,8]},"
             "\"__metadata__\":{}}   ",
             8);
    assert_int_equal(nnrt_st_read(p, &st), NNRT_OK);
    assert_int_equal(st.n, 2);
    const nnrt_st_tensor *t = nnrt_st_find(&st, "a\"b\\c/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
    assert_non_null(t);
    assert_true(t->data[0] == 0.0f && t->data[1] == 1.0f);
    t = nnrt_st_find(&st, "z");
    assert_non_null(t);
    assert_true(t->count == 0 && t->rank == 2 && t->shape[1] == 5);
    nnrt_st_free(&st);

    write_st(p, "{}      ", 0);
    assert_int_equal(nnrt_st_read(p, &st), NNRT_OK);
    assert_int_equal(st.n, 0);
    nnrt_st_free(&st);
}

#define T(name, body) "{\"" name "\":{" body "}}"
#define OK_ENTRY "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]"

/* Ensure every hostile header in the catalogue is refused as a format
 * error, with the path and a hint of the problem in the message. */
static void test_read_hostile(void **state) {
    (void)state;
    static char deep[10001];
    memset(deep, '[', 10000);
    deep[10000] = '\0';
    static char deep_shape[10100];
    snprintf(deep_shape, sizeof deep_shape, "{\"a\":{\"dtype\":\"F32\",\"shape\":%s", deep);

    static const struct {
        const char *header;
        size_t ndata;
        const char *msg;
    } cases[] = {
        {"{\"a\":", 8, "expected '{'"},                          /* invalid JSON */
        {"{\"a", 8, "unterminated string"},                      /* unterminated string */
        {"{\"a\":{\"dtype\":\"F32", 8, "unterminated string"},   /* ... inside an entry */
        {NULL /* deep */, 0, "not a JSON object"},               /* 10000 '[' */
        {NULL /* deep_shape */, 0, "expected an integer"},       /* '[' nested in shape */
        {"{\"a\":{" OK_ENTRY "},\"a\":{" OK_ENTRY "}}", 8, "appears twice"}, /* duplicate */
        {T("a", "\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]"), 8,
         "duplicate key \"dtype\""},
        {"{\"a\":{" OK_ENTRY "},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         12, "overlap"},
        {T("a", "\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]"), 8, "< begin"},
        {T("a", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]"), 8,
         "needs bytes 8..16 but data has 8"},
        {T("a", "\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]"), 8, "dtype 'F16'"},
        {T("a", "\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]"), 8, "negative dim"},
        {T("a", "\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,8]"), 8,
         "too large"},
        {T("a", "\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]"), 8, "want 12"},
        {"[]", 0, "not a JSON object"},
        {"\"a\"", 0, "not a JSON object"},
        {"{} x", 0, "garbage after"},
        {"{}{}", 0, "garbage after"},
        {T("a\\u0000b", OK_ENTRY), 8, "\\u0000"},
        {T("a\\x", OK_ENTRY), 8, "bad escape"},
        {T("a\\u12G4", OK_ENTRY), 8, "bad \\u escape"},
        {T("a\\ud800", OK_ENTRY), 8, "surrogate"},
        {T("a\\udc00x", OK_ENTRY), 8, "surrogate"},
        {T("a\xff", OK_ENTRY), 8, "invalid UTF-8"},
        {T("a\xc0\xaf", OK_ENTRY), 8, "invalid UTF-8"}, /* overlong '/' */
        {T("a\xed\xa0\x80", OK_ENTRY), 8, "invalid UTF-8"}, /* encoded surrogate */
        {T("a\n", OK_ENTRY), 8, "control character"},
        {T("a", OK_ENTRY ",\"extra\":1"), 8, "unknown key"},
        {T("a", "\"dtype\":\"F32\",\"shape\":[2]"), 8, "lacks \"data_offsets\""},
        {T("a", "\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]"), 8,
         "more than 4 dims"},
        {T("a", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.0]"), 8, "not an integer"},
        {T("a", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,1e3]"), 8, "not an integer"},
        {T("a", "\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]"), 8, "leading zero"},
        {T("a", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999]"), 8,
         "too large"},
        {T("a", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]"), 8, "expected ']'"},
        {T("a", "\"dtype\":\"F32\",\"shape\":[2,],\"data_offsets\":[0,8]"), 8, "expected an integer"},
        {"{\"a\":{" OK_ENTRY "},}", 8, "expected a string"}, /* trailing comma */
        {"{\"a\":{" OK_ENTRY "}", 8, "expected ',' or '}'"},
        {"{\"__metadata__\":{\"k\":1}}", 0, "expected a string"},
        {"{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", 0, "duplicate key"},
        {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate key"},
        {T("a", "\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]"), 8, "expected a string"},
        {"{\"a\":[]}", 0, "expected '{'"},
        {"", 0, "not a JSON object"},
        {"     ", 0, "not a JSON object"},
    };
    const char *p = tmp_path("bad.safetensors");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *h = cases[i].header ? cases[i].header : i == 3 ? deep : deep_shape;
        write_st(p, h, cases[i].ndata);
        nnrt_safetensors st = {7, (nnrt_st_tensor *)&st}; /* garbage: must be reset */
        int rc = nnrt_st_read(p, &st);
        if (rc != NNRT_ERR_FORMAT)
            fail_msg("case %zu: rc %d (%s), want a format error", i, rc, nnrt_last_error());
        if (!strstr(nnrt_last_error(), p) || !strstr(nnrt_last_error(), cases[i].msg))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, nnrt_last_error(),
                     cases[i].msg);
        assert_true(st.n == 0 && st.t == NULL);
    }
}

/* Ensure bad length fields and short files are refused: N past the end of
 * the file, N = 2^63 and 2^64 - 1, a file shorter than the length field,
 * and a missing file or a directory (I/O errors). */
static void test_read_bad_length(void **state) {
    (void)state;
    const char *p = tmp_path("len.safetensors");
    nnrt_safetensors st;
    const char *h = "{}      ";
    const uint64_t lens[] = {9, 1000, 1ull << 63, UINT64_MAX, (1ull << 32) + 8};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        write_st_raw(p, lens[i], h, 8, 0);
        assert_int_equal(nnrt_st_read(p, &st), NNRT_ERR_FORMAT);
        assert_error_contains("truncated: header length");
    }
    write_bytes(p, "\x02\0\0\0", 4);
    assert_int_equal(nnrt_st_read(p, &st), NNRT_ERR_FORMAT);
    assert_error_contains("not a safetensors file");
    /* another file given as params (a vocabulary, an ELF program): its
     * first 8 bytes as a length run past the end, but it is no cut
     * safetensors file: no JSON object follows them */
    static const char vocab[] = "nngc-vocab 1 words 2 labels 0\n<s>\t1\n<unk>\t0\n";
    write_bytes(p, vocab, sizeof vocab - 1);
    assert_int_equal(nnrt_st_read(p, &st), NNRT_ERR_FORMAT);
    assert_error_contains("not a safetensors file (no JSON header after its first 8 bytes)");
    write_bytes(p, "\x7f" "ELF\x02\x01\x01\0\0\0\0\0", 12);
    assert_int_equal(nnrt_st_read(p, &st), NNRT_ERR_FORMAT);
    assert_error_contains("not a safetensors file (no JSON header");

    assert_int_equal(nnrt_st_read(tmp_path("missing.safetensors"), &st), NNRT_ERR_IO);
    assert_error_contains("missing.safetensors");
    assert_int_equal(nnrt_st_read(tmp_dir(), &st), NNRT_ERR_IO);
    assert_int_equal(nnrt_st_read(NULL, &st), NNRT_ERR_ARG);
}

/* Ensure write then read gives back names, order-independent lookup,
 * shapes and exact values, and that the header is space-padded to a
 * multiple of 8 bytes with tensors laid out in the given order. */
static void test_roundtrip(void **state) {
    (void)state;
    const char *p = tmp_path("rt.safetensors");
    float w[6] = {1, 2, 3, 4, 5, -6.5f}, s = 0.125f, v[3] = {-1, 0, 1e-30f};
    const char *names[4] = {"zeta", "alpha", "quote\"and\\slash\n", "empty"};
    const int ranks[4] = {2, 0, 1, 2};
    const int64_t shapes[4][NNRT_MAXRANK] = {{2, 3}, {0}, {3}, {0, 4}};
    const float *data[4] = {w, &s, v, NULL};
    assert_int_equal(nnrt_st_write(p, 4, names, ranks, shapes, data), NNRT_OK);

    size_t n;
    unsigned char *raw = read_bytes(p, &n);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | raw[i];
    assert_int_equal(hl % 8, 0);
    assert_int_equal(n, 8 + hl + (6 + 1 + 3) * 4);
    /* first tensor's data right after the header: w in the given order */
    assert_memory_equal(raw + 8 + hl, w, sizeof w);
    free(raw);

    nnrt_safetensors st;
    assert_int_equal(nnrt_st_read(p, &st), NNRT_OK);
    assert_int_equal(st.n, 4);
    const nnrt_st_tensor *t = nnrt_st_find(&st, "zeta");
    assert_true(t && t->rank == 2 && t->shape[0] == 2 && t->shape[1] == 3);
    assert_memory_equal(t->data, w, sizeof w);
    t = nnrt_st_find(&st, "alpha");
    assert_true(t && t->rank == 0 && t->count == 1 && t->data[0] == s);
    t = nnrt_st_find(&st, "quote\"and\\slash\n");
    assert_true(t && t->rank == 1 && t->count == 3);
    assert_memory_equal(t->data, v, sizeof v);
    t = nnrt_st_find(&st, "empty");
    assert_true(t && t->count == 0);
    nnrt_st_free(&st);
}

/* Ensure the writer refuses what it could not read back: duplicate, NULL,
 * non-UTF-8 and reserved names, bad ranks and shapes, NULL data. */
static void test_write_rejects(void **state) {
    (void)state;
    const char *p = tmp_path("bad.safetensors");
    float x[2] = {1, 2};
    const float *data[2] = {x, x};
    const int ranks[2] = {1, 1}, bad_rank[2] = {1, 5};
    const int64_t shapes[2][NNRT_MAXRANK] = {{2}, {2}}, neg[2][NNRT_MAXRANK] = {{2}, {-2}};
    const char *dup[2] = {"a", "a"}, *null[2] = {"a", NULL}, *bad8[2] = {"a", "\xff"},
               *meta[2] = {"a", "__metadata__"}, *ok[2] = {"a", "b"};
    const char **names[] = {dup, null, bad8, meta};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(nnrt_st_write(p, 2, names[i], ranks, shapes, data), NNRT_ERR_ARG);
    assert_int_equal(nnrt_st_write(p, 2, ok, bad_rank, shapes, data), NNRT_ERR_ARG);
    assert_int_equal(nnrt_st_write(p, 2, ok, ranks, neg, data), NNRT_ERR_ARG);
    const float *nodata[2] = {x, NULL};
    assert_int_equal(nnrt_st_write(p, 2, ok, ranks, shapes, nodata), NNRT_ERR_ARG);
    assert_int_equal(nnrt_st_write(p, -1, ok, ranks, shapes, data), NNRT_ERR_ARG);
    assert_int_equal(count_entries(tmp_dir()), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_reference),
        cmocka_unit_test_setup_teardown(test_read_json_details, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_read_hostile, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_read_bad_length, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_write_rejects, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
