/*
 * seq_check.c - one train step on each of three sentences, a, b, a
 * (tests/train). Built against tests/train/models/skipgram.nn compiled
 * with the optimizer under test; run.sh compares the params it saves with
 * PyTorch's (gen_fixtures.py, seq_OPT.safetensors). b shares no centre
 * word with a, so the rows of Ww that a touches get no gradient at the
 * second step: dense Adam decays their moments and moves them anyway,
 * lazy Adam (torch.optim.SparseAdam) leaves them; SGD and Adagrad give the
 * same numbers either way.
 *
 *   seq_check PARAMS.safetensors OUT.safetensors
 */
#include <stdio.h>

#include "skipgram.h"

enum { T = 6 };

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: seq_check PARAMS OUT\n");
        return 2;
    }
    static const int32_t sent[3][T + 4] = {
        {0, 0, 1, 2, 4, 5, 6, 7, 0, 0}, {0, 0, 3, 8, 3, 9, 3, 10, 0, 0}, {0, 0, 1, 2, 4, 5, 6, 7, 0, 0}};
    skipgram *m = skipgram_create(1);
    if (!m || skipgram_load(m, argv[1]) != NNRT_OK) {
        fprintf(stderr, "seq_check: cannot load %s\n", argv[1]);
        return 1;
    }
    for (int s = 0; s < 3; s++) {
        skipgram_inputs in = {.T = T, .sent = sent[s]};
        float loss;
        if (skipgram_train_step(m, &in, &loss) != NNRT_OK) {
            fprintf(stderr, "seq_check: step %d failed\n", s);
            return 1;
        }
    }
    int rc = skipgram_save(m, argv[2]) == NNRT_OK ? 0 : 1;
    skipgram_destroy(m);
    return rc;
}
