/*
 * sttool.c - small helpers for tests/train/run.sh, built by it against
 * build/libnngrt.a (so the tests need no Python):
 *
 *   sttool cmp A.safetensors B.safetensors [--rtol R] [--atol A] [--rows NAME=R1,R2,...]
 *       every tensor of B (the reference) must be in A with the same shape
 *       and |a - b| <= atol + rtol |b| (defaults 1e-3, 1e-5); with --rows,
 *       only those rows of tensor NAME are compared. 0 close, 1 not.
 *   sttool perturb IN.safetensors OUT.safetensors NAME INDEX DELTA
 *       a copy of IN with element INDEX (flat) of NAME plus DELTA
 *   sttool get FILE.npy INDEX
 *       prints element INDEX (flat) of a float32 .npy file, "%.9g"
 *
 * Exit status 2 for bad usage or an unreadable file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nngrt.h"

static int fail(const char *what) {
    fprintf(stderr, "sttool: %s: %s\n", what, nnrt_last_error());
    return 2;
}

static int cmp(int argc, char **argv) {
    double rtol = 1e-3, atol = 1e-5;
    const char *rows_name = NULL, *rows = NULL;
    if (argc < 2)
        return 2;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rtol") == 0)
            rtol = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--atol") == 0)
            atol = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--rows") == 0) {
            char *eq = strchr(argv[i + 1], '=');
            if (!eq)
                return 2;
            *eq = 0;
            rows_name = argv[i + 1];
            rows = eq + 1;
        } else
            return 2;
    }
    nnrt_safetensors a, b;
    if (nnrt_st_read(argv[0], &a))
        return fail(argv[0]);
    if (nnrt_st_read(argv[1], &b))
        return fail(argv[1]);
    int bad = 0;
    for (int t = 0; t < b.n; t++) {
        const nnrt_st_tensor *y = &b.t[t], *x = nnrt_st_find(&a, y->name);
        if (rows_name && strcmp(y->name, rows_name) != 0)
            continue;
        if (!x || x->rank != y->rank || x->count != y->count) {
            printf("%s: %s in %s\n", y->name, x ? "another shape" : "missing", argv[0]);
            bad++;
            continue;
        }
        int64_t cols = y->rank ? y->count / (y->shape[0] ? y->shape[0] : 1) : 1;
        for (int64_t i = 0; i < y->count; i++) {
            if (rows) {
                int64_t r = i / cols;
                int hit = 0;
                for (const char *p = rows; *p && !hit; p = strchr(p, ',') ? strchr(p, ',') + 1 : "")
                    hit = atoll(p) == r;
                if (!hit)
                    continue;
            }
            double u = x->data[i], v = y->data[i];
            int ok = rtol == 0 && atol == 0 ? memcmp(&x->data[i], &y->data[i], sizeof(float)) == 0
                                            : fabs(u - v) <= atol + rtol * fabs(v);
            if (!ok && bad++ < 10)
                printf("%s[%lld]: %.9g, expected %.9g\n", y->name, (long long)i, u, v);
        }
    }
    nnrt_st_free(&a);
    nnrt_st_free(&b);
    return bad ? 1 : 0;
}

static int perturb(int argc, char **argv) {
    if (argc != 5)
        return 2;
    nnrt_safetensors st;
    if (nnrt_st_read(argv[0], &st))
        return fail(argv[0]);
    nnrt_st_tensor *t = (nnrt_st_tensor *)nnrt_st_find(&st, argv[2]);
    long long k = atoll(argv[3]);
    if (!t || k < 0 || k >= t->count) {
        fprintf(stderr, "sttool: no element %s[%lld]\n", argv[2], k);
        return 2;
    }
    t->data[k] = (float)((double)t->data[k] + atof(argv[4]));
    const char **names = malloc(sizeof(char *) * (size_t)st.n);
    int *ranks = malloc(sizeof(int) * (size_t)st.n);
    int64_t(*shapes)[NNRT_MAXRANK] = malloc(sizeof *shapes * (size_t)st.n);
    const float **data = malloc(sizeof(float *) * (size_t)st.n);
    for (int i = 0; i < st.n; i++) {
        names[i] = st.t[i].name;
        ranks[i] = st.t[i].rank;
        memcpy(shapes[i], st.t[i].shape, sizeof shapes[i]);
        data[i] = st.t[i].data;
    }
    int rc = nnrt_st_write(argv[1], st.n, names, ranks, (const int64_t(*)[NNRT_MAXRANK])shapes, data);
    free(names), free(ranks), free(shapes), free(data);
    nnrt_st_free(&st);
    return rc ? fail(argv[1]) : 0;
}

static int get(int argc, char **argv) {
    if (argc != 2)
        return 2;
    nnrt_array a;
    if (nnrt_npy_read(argv[0], &a))
        return fail(argv[0]);
    long long k = atoll(argv[1]);
    if (a.dtype != NNRT_F32 || k < 0 || k >= a.count)
        return 2;
    printf("%.9g\n", (double)((float *)a.data)[k]);
    nnrt_array_free(&a);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "cmp") == 0)
        return cmp(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "perturb") == 0)
        return perturb(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "get") == 0)
        return get(argc - 2, argv + 2);
    fprintf(stderr, "usage: sttool cmp|perturb|get ... (see tests/train/sttool.c)\n");
    return 2;
}
