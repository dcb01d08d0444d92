/*
 * clf_test.c - NAME_predict on a classifier (tests/predict/clf.nn): the
 * predicted class is the argmax of the model's own output probs =
 * softmax(z), for 200 random inputs.
 */
#include <stdio.h>
#include <stdlib.h>

#include "clf.h"

int main(void) {
    clf *m = clf_create(7);
    if (!m)
        return 1;
    int bad = 0;
    srand(3);
    for (int k = 0; k < 200; k++) {
        float x[6];
        for (int i = 0; i < 6; i++)
            x[i] = (float)rand() / (float)RAND_MAX * 4.0f - 2.0f;
        clf_inputs in = {.x = x, .label = 0};
        clf_outputs out;
        int32_t word = -1;
        int64_t n = 0;
        if (clf_predict(m, &in, &word, 1, &n) != NNRT_OK || n != 1 || clf_forward(m, &in, &out) != NNRT_OK) {
            printf("not ok - predict: %s\n", nnrt_last_error());
            clf_destroy(m);
            return 1;
        }
        int best = 0;
        for (int c = 1; c < 10; c++)
            if (out.probs[c] > out.probs[best])
                best = c;
        bad += word != best;
    }
    printf("%s - the predicted class is the argmax of probs (%d of 200 differ)\n", bad ? "not ok" : "ok", bad);
    clf_destroy(m);
    return bad != 0;
}
