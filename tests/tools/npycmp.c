/*
 * npycmp.c - compares two .npy arrays within a tolerance, for the
 * end-to-end tests:
 *
 *     npycmp A.npy B.npy [--rtol R] [--atol A]
 *
 * B is the reference: every element must satisfy |a - b| <= atol + rtol*|b|
 * (numpy.allclose's rule; defaults rtol 1e-4, atol 1e-5). Equal infinities
 * match; a NaN never does. Shapes must be equal; F32 and I32 arrays may be
 * compared with each other (both are read as numbers).
 *
 * Exit status: 0 all close, 1 a shape or value mismatch (the first few are
 * printed), 2 bad usage or a file that cannot be read.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nngrt.h"

#define MAX_SHOWN 10

static int usage(void) {
    fprintf(stderr, "usage: npycmp A.npy B.npy [--rtol R] [--atol A]\n");
    return 2;
}

/* Parses a non-negative tolerance; 0 on success. */
static int parse_tol(const char *s, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0) || isinf(v))
        return 1;
    *out = v;
    return 0;
}

static double value(const nnrt_array *a, int64_t i) {
    return a->dtype == NNRT_F32 ? (double)((const float *)a->data)[i]
                                : (double)((const int32_t *)a->data)[i];
}

/* Writes the multi-index of flat index i, like "[1, 2]", into buf. */
static const char *index_str(char *buf, size_t size, const nnrt_array *a, int64_t i) {
    int64_t idx[NNRT_MAXRANK];
    for (int d = a->rank - 1; d >= 0; d--) {
        idx[d] = a->shape[d] ? i % a->shape[d] : 0;
        i = a->shape[d] ? i / a->shape[d] : 0;
    }
    size_t o = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < a->rank && o < size; d++)
        o += (size_t)snprintf(buf + o, size - o, "%s%" PRId64, d ? ", " : "", idx[d]);
    if (o < size)
        snprintf(buf + o, size - o, "]");
    return buf;
}

static void print_shape(FILE *f, const nnrt_array *a) {
    fputc('[', f);
    for (int d = 0; d < a->rank; d++)
        fprintf(f, "%s%" PRId64, d ? ", " : "", a->shape[d]);
    fputc(']', f);
}

int main(int argc, char **argv) {
    const char *files[2] = {NULL, NULL};
    int nfiles = 0;
    double rtol = 1e-4, atol = 1e-5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rtol") == 0 || strcmp(argv[i], "--atol") == 0) {
            if (i + 1 >= argc || parse_tol(argv[i + 1], argv[i][2] == 'r' ? &rtol : &atol)) {
                fprintf(stderr, "npycmp: %s needs a non-negative number\n", argv[i]);
                return 2;
            }
            i++;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "npycmp: unknown option %s\n", argv[i]);
            return usage();
        } else if (nfiles < 2) {
            files[nfiles++] = argv[i];
        } else {
            return usage();
        }
    }
    if (nfiles != 2)
        return usage();

    nnrt_array a, b;
    if (nnrt_npy_read(files[0], &a) != NNRT_OK) {
        fprintf(stderr, "npycmp: %s\n", nnrt_last_error());
        return 2;
    }
    if (nnrt_npy_read(files[1], &b) != NNRT_OK) {
        fprintf(stderr, "npycmp: %s\n", nnrt_last_error());
        nnrt_array_free(&a);
        return 2;
    }

    int status = 0;
    int same_shape = a.rank == b.rank;
    for (int d = 0; same_shape && d < a.rank; d++)
        same_shape = a.shape[d] == b.shape[d];
    if (!same_shape) {
        printf("npycmp: shapes differ: %s has ", files[0]);
        print_shape(stdout, &a);
        printf(", %s has ", files[1]);
        print_shape(stdout, &b);
        printf("\n");
        status = 1;
    } else {
        int64_t bad = 0, worst_at = -1;
        double worst = 0;
        char ibuf[128];
        for (int64_t i = 0; i < a.count; i++) {
            double x = value(&a, i), y = value(&b, i), err = fabs(x - y);
            if (err > worst || (isnan(err) && !isnan(worst)))
                worst = err, worst_at = i;
            if (x == y || err <= atol + rtol * fabs(y))
                continue;
            if (bad++ < MAX_SHOWN)
                printf("  at %s: %s = %.10g, %s = %.10g, |diff| = %.3g\n",
                       index_str(ibuf, sizeof ibuf, &a, i), files[0], x, files[1], y, err);
        }
        if (bad) {
            printf("npycmp: %" PRId64 " of %" PRId64 " elements differ (rtol %g, atol %g);"
                   " max abs err %.3g at %s\n",
                   bad, a.count, rtol, atol, worst, index_str(ibuf, sizeof ibuf, &a, worst_at));
            status = 1;
        }
    }
    nnrt_array_free(&a);
    nnrt_array_free(&b);
    return status;
}
