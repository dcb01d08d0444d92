/*
 * test/rnnlm.h - a stand-in for the header nngc generates from ../rnnlm.nn,
 * with the same declarations rnnlm_app.c uses (docs/API.md). It lets
 * `make check` test the application's own logic (vocabulary, ids, windows,
 * totals) without the compiler, against values worked out by hand.
 */
#ifndef FAKE_RNNLM_H
#define FAKE_RNNLM_H
#include "nngrt.h"

typedef struct rnnlm rnnlm;
typedef struct rnnlm_inputs {
    int64_t T;
    const int32_t *words;
} rnnlm_inputs;
typedef struct rnnlm_outputs {
    float loss;
} rnnlm_outputs;

rnnlm *rnnlm_create(uint64_t seed);
void rnnlm_destroy(rnnlm *m);
int rnnlm_forward(rnnlm *m, const rnnlm_inputs *in, rnnlm_outputs *out);
int rnnlm_load(rnnlm *m, const char *path);
int rnnlm_train_step(rnnlm *m, const rnnlm_inputs *in, float *loss);
int rnnlm_save(rnnlm *m, const char *path);
extern const nnrt_model_desc rnnlm_desc;
#endif
