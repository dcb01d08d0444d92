/*
 * size.c - sizes (affine in the dynamic dims) and shapes: arithmetic, bounds, text forms.
 */
#include "nngc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ================================================================ sizes */

/* Sizes wrap around instead of overflowing (signed overflow is undefined
 * behaviour); the front end rejects sizes that large before they matter. */
static int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static int64_t wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static int64_t wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

Size size_const(int64_t c) {
    return (Size){.c = c};
}

Size size_dyn(int dyn) {
    NN_ASSERT(dyn >= 0 && dyn < NN_MAXDYN);
    Size s = {0};
    s.k[dyn] = 1;
    return s;
}

Size size_add(Size a, Size b) {
    Size r = {.c = wrap_add(a.c, b.c)};
    for (int i = 0; i < NN_MAXDYN; i++)
        r.k[i] = wrap_add(a.k[i], b.k[i]);
    return r;
}

Size size_sub(Size a, Size b) {
    Size r = {.c = wrap_sub(a.c, b.c)};
    for (int i = 0; i < NN_MAXDYN; i++)
        r.k[i] = wrap_sub(a.k[i], b.k[i]);
    return r;
}

/* Multiplies every term of a by the constant c. */
static Size size_scale(Size a, int64_t c) {
    Size r = {.c = wrap_mul(a.c, c)};
    for (int i = 0; i < NN_MAXDYN; i++)
        r.k[i] = wrap_mul(a.k[i], c);
    return r;
}

bool size_mul(Size a, Size b, Size *out) {
    if (size_is_const(a)) {
        *out = size_scale(b, a.c);
        return true;
    }
    if (size_is_const(b)) {
        *out = size_scale(a, b.c);
        return true;
    }
    return false; /* (k*T + c) * (m*S + d) has a T*S term: not affine */
}

bool size_eq(Size a, Size b) {
    if (a.c != b.c)
        return false;
    for (int i = 0; i < NN_MAXDYN; i++)
        if (a.k[i] != b.k[i])
            return false;
    return true;
}

bool size_is_const(Size a) {
    for (int i = 0; i < NN_MAXDYN; i++)
        if (a.k[i] != 0)
            return false;
    return true;
}

/* The declaration of dynamic dim number dyn, or NULL. */
static const DimDecl *dyn_decl(const Graph *g, int dyn) {
    if (!g)
        return NULL;
    for (int i = 0; i < g->ndims; i++)
        if (g->dims[i].dynamic && g->dims[i].dyn == dyn)
            return &g->dims[i];
    return NULL;
}

/* A size is affine, so over the box 1 <= dyn_i <= max_i its extremes sit at
 * the corners: each term on its own is largest at max_i when k > 0 and at 1
 * when k < 0. For the usual sizes (k >= 0) the maximum is simply the value
 * with every dim at its max. */
int64_t size_max(const Graph *g, Size a, int64_t *min) {
    int64_t hi = a.c, lo = a.c;
    for (int i = 0; i < NN_MAXDYN; i++) {
        if (a.k[i] == 0)
            continue;
        const DimDecl *d = dyn_decl(g, i);
        NN_ASSERT(d != NULL); /* a size names a dynamic dim the graph lacks */
        int64_t at1 = a.k[i], atmax = wrap_mul(a.k[i], d->value);
        hi = wrap_add(hi, at1 > atmax ? at1 : atmax);
        lo = wrap_add(lo, at1 < atmax ? at1 : atmax);
    }
    if (min)
        *min = lo;
    return hi;
}

/* snprintf that appends at *pos and never runs past n (output is cut). */
static void bufcat(char *buf, size_t n, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void bufcat(char *buf, size_t n, size_t *pos, const char *fmt, ...) {
    if (*pos >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *pos, n - *pos, fmt, ap);
    va_end(ap);
    if (k > 0)
        *pos += (size_t)k;
    if (*pos >= n)
        *pos = n; /* truncated; buf is still NUL-terminated by vsnprintf */
}

/* |v| as an unsigned number, correct for INT64_MIN too. */
static uint64_t uabs64(int64_t v) {
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* Terms in dynamic-dim order, then the constant: "2*T + S - 1". A dim the
 * graph does not declare prints as "dyn<i>" so a broken graph still prints. */
char *size_str(const Graph *g, Size a, char *buf, size_t n) {
    size_t pos = 0;
    if (n == 0)
        return buf;
    buf[0] = '\0';
    bool first = true;
    for (int i = 0; i < NN_MAXDYN; i++) {
        int64_t k = a.k[i];
        if (k == 0)
            continue;
        const DimDecl *d = dyn_decl(g, i);
        char dname[16];
        snprintf(dname, sizeof dname, "dyn%d", i);
        if (first)
            bufcat(buf, n, &pos, "%s", k < 0 ? "-" : "");
        else
            bufcat(buf, n, &pos, " %c ", k < 0 ? '-' : '+');
        if (uabs64(k) != 1)
            bufcat(buf, n, &pos, "%" PRIu64 "*", uabs64(k));
        bufcat(buf, n, &pos, "%s", d ? d->name : dname);
        first = false;
    }
    if (first)
        bufcat(buf, n, &pos, "%" PRId64, a.c);
    else if (a.c != 0)
        bufcat(buf, n, &pos, " %c %" PRIu64, a.c < 0 ? '-' : '+', uabs64(a.c));
    return buf;
}

/* ================================================================ shapes */

bool shape_eq(const Shape *a, const Shape *b) {
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (!size_eq(a->d[i], b->d[i]))
            return false;
    return true;
}

char *shape_str(const Graph *g, const Shape *s, char *buf, size_t n) {
    size_t pos = 0;
    if (n == 0)
        return buf;
    buf[0] = '\0';
    bufcat(buf, n, &pos, "[");
    int rank = s->rank < 0 ? 0 : s->rank > NN_MAXRANK ? NN_MAXRANK : s->rank;
    for (int i = 0; i < rank; i++) {
        char one[96];
        bufcat(buf, n, &pos, "%s%s", i ? ", " : "", size_str(g, s->d[i], one, sizeof one));
    }
    bufcat(buf, n, &pos, "]");
    return buf;
}

int64_t shape_max_count(const Graph *g, const Shape *s) {
    int64_t count = 1;
    for (int i = 0; i < s->rank; i++)
        count = wrap_mul(count, size_max(g, s->d[i], NULL));
    return count;
}

/* "f32[128, 64]", "i32[T + 1]"; a scalar is just "f32" or "i32". */
char *ir_type_str(const Graph *g, DType dt, const Shape *s, char *buf, size_t n) {
    char sh[256];
    snprintf(buf, n, "%s%s", dt == DT_I32 ? "i32" : "f32", s->rank == 0 ? "" : shape_str(g, s, sh, sizeof sh));
    return buf;
}

