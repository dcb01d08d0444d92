/*
 * batch_test.c - NAME_predict of the batched program (nngc --batch=2):
 * compiled twice by run.sh, plain and with -DBATCH against the model
 * compiled with --batch=2; each prints the words predicted for two
 * sentences (6 and 4 words) of the same params, one line per sentence:
 * plain, one call per sentence; batched, one call for both, word t of
 * sentence b at words[t * 2 + b] (time-major), the padding's words left
 * out. run.sh compares the two outputs.
 */
#include <stdio.h>

#include "rnnt.h"

int main(void) {
    const int64_t counts[24] = {90, 60, 50, 40, 30, 25, 20, 18, 16, 14, 12, 10, 9, 8, 7, 6, 5, 4, 3, 3, 2, 2, 1, 1};
    const int32_t s0[7] = {0, 5, 2, 23, 7, 1, 12}, s1[5] = {3, 9, 14, 0, 21};
    const int len[2] = {6, 4};
    rnnt *m = rnnt_create(3);
    if (!m || (rnnt_desc.set_counts && rnnt_desc.set_counts(m, counts, 24) != NNRT_OK))
        return 1;
    int32_t got[12];
    int64_t n = 0;
#ifdef BATCH
    int32_t words[14] = {0}, lens[2] = {6, 4};
    for (int t = 0; t < 7; t++) {
        words[t * 2] = s0[t];
        words[t * 2 + 1] = t < 5 ? s1[t] : 0; /* padding */
    }
    rnnt_inputs in = {.T = 6, .words = words, .T_len = lens};
    if (rnnt_predict(m, &in, got, 12, &n) != NNRT_OK || n != 12)
        return 1;
    for (int b = 0; b < 2; b++) {
        for (int t = 0; t < len[b]; t++)
            printf(" %d", got[t * 2 + b]);
        printf("\n");
    }
#else
    for (int b = 0; b < 2; b++) {
        rnnt_inputs in = {.T = len[b], .words = b ? s1 : s0};
        if (rnnt_predict(m, &in, got, 12, &n) != NNRT_OK || n != len[b])
            return 1;
        for (int t = 0; t < len[b]; t++)
            printf(" %d", got[t]);
        printf("\n");
    }
#endif
    rnnt_destroy(m);
    return 0;
}
