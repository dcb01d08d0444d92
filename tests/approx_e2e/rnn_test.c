/*
 * rnn_test.c - an RNN language model (tests/approx_e2e/rnn.nn) compiled
 * with --softmax=METHOD, where -O2 moves the method's output layer out of
 * the recurrence (fission, after the loop, on the stacked h): checks that
 * need no reference of the method, so one test serves class, hier and
 * binary (each method's own float64 reference is checked by its own test):
 *   - central finite differences of the compiled loss against the compiled
 *     gradient, every entry of every param (the method's own too);
 *   - the forward graph's p(w | context) sums to 1 over the vocabulary
 *     (sum over w of exp(-loss) for the one-step sentence (x, w)), for each
 *     first word x.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnnt.h"
#include "common.h"
#include "fd.h"
#include "nnrt_approx.h"

FD_MODEL(rnnt)

#define NV 24

int main(void)
{
    (void)maxrel; /* common.h's, for the tests with a reference */
    rnnt *m = rnnt_create(3);
    rnnt_ctx *c = rnnt_ctx_create(m);
    if (!m || !c)
        return 1;
    const int64_t counts[NV] = {90, 60, 50, 40, 30, 25, 20, 18, 16, 14, 12, 10, 9, 8, 7, 6, 5, 4, 3, 3, 2, 2, 1, 1};
    if (rnnt_desc.set_counts) /* class's classes, hier's tree (binary's codes are by id) */
        check(rnnt_desc.set_counts(m, counts, NV) == NNRT_OK, "set_counts");
    const int32_t words[7] = {0, 5, 2, 23, 7, 1, 12};
    rnnt_inputs in = {.T = 6, .words = words};
    float *P[8];
    int sizes[8], np = rnnt_desc.nparams;
    for (int i = 0; i < np && i < 8; i++) {
        const nnrt_tensor_desc *d = &rnnt_desc.params[i];
        sizes[i] = 1;
        for (int k = 0; k < d->rank; k++)
            sizes[i] *= (int)d->shape[k].c;
        P[i] = rnnt_param(m, d->name);
    }
    fd_check(c, &in, P, sizes, np < 8 ? np : 8, "every entry of every param");
    double worst = 0;
    for (int32_t x = 0; x < NV; x += 5) {
        double sum = 0;
        for (int32_t w = 0; w < NV; w++) {
            int32_t two[2] = {x, w};
            rnnt_inputs one = {.T = 1, .words = two};
            rnnt_outputs out;
            if (rnnt_ctx_forward(c, &one, &out) != NNRT_OK)
                return 1;
            sum += exp(-(double)out.loss);
        }
        worst = fmax(worst, fabs(sum - 1));
    }
    char name[120];
    snprintf(name, sizeof name, "forward: p(w | x) sums to 1 over the %d words (worst error %.2g)", NV, worst);
    check(worst < 1e-5, name);
    rnnt_ctx_destroy(c);
    rnnt_destroy(m);
    return fails != 0;
}
