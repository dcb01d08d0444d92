/*
 * test/fake_rnnlm.c - a fake rnnlm model for `make check` (see rnnlm.h here).
 *
 * It has the dims of examples/rnnlm.nn but a tiny max length (T max 4) so
 * that windowing is easy to exercise, and it predicts the uniform
 * distribution: the loss of a call is exactly T * ln(V), so the perplexity
 * the application reports must be exactly V. Every call appends "T: ids" to
 * the file named by $FAKE_RNNLM_LOG, which check.sh compares with ids it
 * expects.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "rnnlm.h"

struct rnnlm {
    int unused;
};

static const nnrt_dim_desc dims[] = {
    {"V", 0, 10000, -1}, {"E", 0, 64, -1}, {"H", 0, 128, -1}, {"T", 1, 4, 0}};
const nnrt_model_desc rnnlm_desc = {.name = "rnnlm", .ndims = 4, .dims = dims, .ndyn = 1,
                                    .has_loss = 1};

rnnlm *rnnlm_create(uint64_t seed)
{
    (void)seed;
    return calloc(1, sizeof(rnnlm));
}

void rnnlm_destroy(rnnlm *m) { free(m); }

int rnnlm_load(rnnlm *m, const char *path)
{
    (void)m;
    return nnrt_error(NNRT_ERR_IO, "cannot open %s (fake model)", path);
}

int rnnlm_forward(rnnlm *m, const rnnlm_inputs *in, rnnlm_outputs *out)
{
    (void)m;
    if (in->T < 1 || in->T > 4)
        return nnrt_error(NNRT_ERR_RANGE, "T = %lld out of range [1, 4]", (long long)in->T);
    for (int64_t t = 0; t <= in->T; t++)
        if (in->words[t] < 0 || in->words[t] >= 10000)
            return nnrt_error(NNRT_ERR_RANGE, "id %d out of range", in->words[t]);
    const char *path = getenv("FAKE_RNNLM_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f, "%lld:", (long long)in->T);
        for (int64_t t = 0; t <= in->T; t++)
            fprintf(f, " %d", in->words[t]);
        fputc('\n', f);
        fclose(f);
    }
    out->loss = (float)((double)in->T * log(10000.0));
    return NNRT_OK;
}

/* Training: the fake learns nothing; a step is a forward call (logged the
 * same way), so windowing of training input is checked like scoring. */
int rnnlm_train_step(rnnlm *m, const rnnlm_inputs *in, float *loss)
{
    rnnlm_outputs out;
    int rc = rnnlm_forward(m, in, &out);
    if (rc == NNRT_OK && loss)
        *loss = out.loss;
    return rc;
}

int rnnlm_save(rnnlm *m, const char *path)
{
    (void)m;
    return nnrt_error(NNRT_ERR_IO, "cannot write %s (fake model)", path);
}
