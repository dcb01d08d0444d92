/* fuzz_params.c - libFuzzer target: nnrt_load_params_report, the params
 * loader of nngc run and NAME_load (file kind by magic: safetensors, .npz,
 * .npy refused), into a hand-made descriptor of four params, one frozen,
 * with Adam-like optimizer state. On failure no param may have changed; on
 * success the missing list must agree with the frozen rule. */
#include <string.h>

#include "fuzz_file.h"
#include "nngrt.h"

typedef struct Toy {
    float W[12], b[3], s[1], e[4], m[12], step[1];
} Toy;

static float *param(void *m, int i) {
    Toy *t = m;
    float *p[4] = {t->W, t->b, t->s, t->e};
    return p[i];
}
static float *state(void *m, int i) {
    Toy *t = m;
    return i == 0 ? t->m : t->step;
}

static const nnrt_tensor_desc params[4] = {
    {"W", NNRT_F32, 2, {{3, {0}}, {4, {0}}}, "[3, 4]"},
    {"b", NNRT_F32, 1, {{3, {0}}}, "[3]"},
    {"s", NNRT_F32, 0, {{0, {0}}}, "[]"},
    {"e", NNRT_F32, 2, {{2, {0}}, {2, {0}}}, "[2, 2]"},
};
static const nnrt_tensor_desc states[2] = {
    {"__opt__/W/m", NNRT_F32, 2, {{3, {0}}, {4, {0}}}, "[3, 4]"},
    {"__opt__/step", NNRT_F32, 0, {{0, {0}}}, "[]"},
};
static const unsigned char frozen[4] = {0, 0, 0, 1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nnrt_model_desc d = {.name = "toy", .nparams = 4, .params = params, .param_data = param,
                         .nstate = 2, .state = states, .state_data = state, .frozen = frozen};
    Toy t, before;
    memset(&t, 0x7f, sizeof t);
    before = t;
    unsigned char missing[4];
    int n = -1;
    if (nnrt_load_params_report(&d, &t, fuzz_file(data, size), missing, &n) != NNRT_OK) {
        if (memcmp(&t, &before, sizeof t) != 0)
            abort(); /* a failed load changed a param */
    } else {
        if (missing[3] || n != 4 - missing[0] - missing[1] - missing[2])
            abort();
    }
    return 0;
}
