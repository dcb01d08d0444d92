/*
 * check.h - the TAP-like lines of the CUDA test programs: each check prints
 * "ok - WHAT" or "not ok - WHAT"; tests/cuda/run.sh counts them. The
 * programs exit 1 if any check failed.
 */
#ifndef NNRT_CUDA_TEST_CHECK_H
#define NNRT_CUDA_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int checks_failed;

#define CHECK(cond, ...)                                   \
    do {                                                   \
        int ok_ = (cond) ? 1 : 0;                          \
        checks_failed += !ok_;                             \
        printf(ok_ ? "ok - " : "not ok - ");               \
        printf(__VA_ARGS__);                               \
        printf("\n");                                      \
        fflush(stdout);                                    \
    } while (0)

/* a note under a failed check */
#define NOTE(...)                                          \
    do {                                                   \
        printf("#   ");                                    \
        printf(__VA_ARGS__);                               \
        printf("\n");                                      \
    } while (0)

/* same float, bit for bit (NaNs of any payload are equal) */
static inline int same_bits(float a, float b) {
    if (a != a && b != b)
        return 1;
    return memcmp(&a, &b, sizeof a) == 0;
}

/* close_to's scale of a difference from b: max(1, |b|) */
static inline float close_scale(float b) { return fabsf(b) > 1.0f ? fabsf(b) : 1.0f; }

/* a within rel * max(1, |b|) of b; NaN and infinities must match exactly */
static inline int close_to(float a, float b, float rel) {
    if (a != a || b != b)
        return a != a && b != b;
    if (isinf(a) || isinf(b))
        return a == b;
    return fabsf(a - b) <= rel * close_scale(b);
}

/* index of the first element of got that is not close_to want (rel), or -1 */
static inline long first_far(const float *got, const float *want, long n, float rel) {
    for (long i = 0; i < n; i++)
        if (!close_to(got[i], want[i], rel))
            return i;
    return -1;
}

/* index of the first element that differs in its bits, or -1 */
static inline long first_diff(const float *got, const float *want, long n) {
    for (long i = 0; i < n; i++)
        if (!same_bits(got[i], want[i]))
            return i;
    return -1;
}

#endif
