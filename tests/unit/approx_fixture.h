/*
 * approx_fixture.h - reading the fixtures of tests/approx/fixtures/ (made
 * by tests/approx/gen_fixtures.py) into double arrays, and the comparison
 * the approximation tests use. Shared by test_rt_approx*.c.
 */
#ifndef APPROX_FIXTURE_H
#define APPROX_FIXTURE_H

#include <math.h>

#include "nngrt.h"
#include "nnrt_approx.h"
#include "rt_testutil.h"

#define FIX_DIR "tests/approx/fixtures/"

/* The fixture NAME.npy as doubles (malloc'd); *count gets its size, shape
 * (if not NULL) its shape. Fails the test if it cannot be read. */
static inline double *fix_load(const char *name, int64_t *count, int64_t *shape) {
    char path[256];
    snprintf(path, sizeof path, FIX_DIR "%s.npy", name);
    nnrt_array a;
    if (nnrt_npy_read(path, &a) != NNRT_OK)
        fail_msg("%s", nnrt_last_error());
    double *d = malloc((size_t)(a.count > 0 ? a.count : 1) * sizeof *d);
    assert_non_null(d);
    for (int64_t i = 0; i < a.count; i++)
        d[i] = a.dtype == NNRT_F32 ? (double)((float *)a.data)[i] : (double)((int32_t *)a.data)[i];
    if (count)
        *count = a.count;
    if (shape)
        for (int r = 0; r < NNRT_MAXRANK; r++)
            shape[r] = r < a.rank ? a.shape[r] : 1;
    nnrt_array_free(&a);
    return d;
}

/* The fixture as int32 (an integer array). */
static inline int32_t *fix_load_int(const char *name, int64_t *count, int64_t *shape) {
    int64_t n;
    double *d = fix_load(name, &n, shape);
    int32_t *out = malloc((size_t)(n > 0 ? n : 1) * sizeof *out);
    assert_non_null(out);
    for (int64_t i = 0; i < n; i++)
        out[i] = (int32_t)d[i];
    free(d);
    if (count)
        *count = n;
    return out;
}

/* The fixtures are float64 results rounded to float32 by the reader:
 * agreement to a relative 1e-6 (float32's rounding is 6e-8). */
static inline void assert_close_rel(const char *what, int64_t i, double got, double want) {
    if (!(fabs(got - want) <= 1e-6 * fabs(want) + 1e-12))
        fail_msg("%s[%lld]: got %.17g, want %.9g", what, (long long)i, got, want);
}

static inline void assert_close_abs(const char *what, int64_t i, double got, double want, double tol) {
    if (!(fabs(got - want) <= tol))
        fail_msg("%s[%lld]: got %.17g, want %.17g (tolerance %g)", what, (long long)i, got, want, tol);
}

#endif /* APPROX_FIXTURE_H */
