/*
 * test_fixture.cpp - a model compiled by nngc --target=cuda against an
 * end-to-end fixture of tests/e2e/cases/CASE: the params it loads
 * (params.safetensors, through NAME_load's path in the runtime), its
 * inputs (in_NAME.npy) and the results NumPy computed in float64 from the
 * language's semantics (expect_NAME.npy, expect_loss.npy): an independent
 * reference. Tolerances as tests/e2e/run.sh's npycmp: rtol 1e-4, atol 1e-5.
 *
 *   test_fixture CASE_DIR        (built with -DGPU_DESC=NAME_desc)
 *
 * Dynamic dims are read off the inputs' shapes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "nngrt.h"

extern "C" const nnrt_model_desc GPU_DESC;

#define STR2(s) #s
#define STR(s) STR2(s)

static int near_enough(float got, float want) { return fabsf(got - want) <= 1e-5f + 1e-4f * fabsf(want); }

/* got[0..n) against the .npy at path; false with a note when it differs */
static void compare(const char *what, const float *got, int64_t n, const char *path) {
    nnrt_array want;
    if (nnrt_npy_read(path, &want) != NNRT_OK) {
        CHECK(0, "%s: %s: %s", STR(GPU_DESC), what, nnrt_last_error());
        return;
    }
    int64_t bad = -1;
    for (int64_t i = 0; i < n && i < want.count && bad < 0; i++)
        if (!near_enough(got[i], ((const float *)want.data)[i]))
            bad = i;
    CHECK(want.count == n && bad < 0, "%s: %s as NumPy's (%lld values)", STR(GPU_DESC), what, (long long)n);
    if (want.count != n)
        NOTE("%lld values, NumPy %lld", (long long)n, (long long)want.count);
    else if (bad >= 0)
        NOTE("[%lld] %.9g, NumPy %.9g", (long long)bad, (double)got[bad], (double)((const float *)want.data)[bad]);
    nnrt_array_free(&want);
}

static int exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_fixture CASE_DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    char path[4096];
    const nnrt_model_desc *d = &GPU_DESC;
    void *m = d->create(1);
    CHECK(m != NULL, "%s: create (%s)", STR(GPU_DESC), m ? "ok" : nnrt_last_error());
    if (!m)
        return 1;
    snprintf(path, sizeof path, "%s/params.safetensors", dir);
    int rc = nnrt_load_params(d, m, path, 1, NULL);
    CHECK(rc == NNRT_OK, "%s: load %s (%s)", STR(GPU_DESC), path, rc ? nnrt_last_error() : "ok");

    nnrt_array in[64];
    const void *ptrs[64];
    int64_t dyn[NNRT_MAXDYN] = {0};
    for (int i = 0; i < d->ninputs && i < 64; i++) {
        snprintf(path, sizeof path, "%s/in_%s.npy", dir, d->inputs[i].name);
        rc = nnrt_npy_read(path, &in[i]);
        if (rc != NNRT_OK) {
            CHECK(0, "%s: read %s: %s", STR(GPU_DESC), path, nnrt_last_error());
            return 1;
        }
        ptrs[i] = in[i].data;
        /* an axis c + k T (one dynamic dim) gives T */
        for (int a = 0; a < d->inputs[i].rank && a < in[i].rank; a++)
            for (int j = 0; j < d->ndyn; j++)
                if (d->inputs[i].shape[a].k[j] > 0)
                    dyn[j] = (in[i].shape[a] - d->inputs[i].shape[a].c) / d->inputs[i].shape[a].k[j];
    }
    float loss = 0.0f;
    const float *out[64];
    rc = d->forward(m, dyn, ptrs, &loss, out);
    CHECK(rc == NNRT_OK, "%s: forward on %s (%s)", STR(GPU_DESC), dir, rc ? nnrt_last_error() : "ok");
    if (rc == NNRT_OK) {
        snprintf(path, sizeof path, "%s/expect_loss.npy", dir);
        if (d->has_loss && exists(path))
            compare("loss", &loss, 1, path);
        for (int i = 0; i < d->noutputs; i++) {
            snprintf(path, sizeof path, "%s/expect_%s.npy", dir, d->outputs[i].name);
            int64_t n = 1;
            for (int a = 0; a < d->outputs[i].rank; a++)
                n *= nnrt_size_eval(&d->outputs[i].shape[a], dyn);
            if (exists(path))
                compare(d->outputs[i].name, out[i], n, path);
        }
    }
    for (int i = 0; i < d->ninputs && i < 64; i++)
        nnrt_array_free(&in[i]);
    d->destroy(m);
    return checks_failed ? 1 : 0;
}
