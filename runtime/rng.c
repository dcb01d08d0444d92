/*
 * rng.c - the random numbers behind parameter initialisation.
 *
 * xoshiro256** (Blackman & Vigna, https://prng.di.unimi.it/) seeded through
 * splitmix64, as its authors recommend: any 64-bit seed, 0 included, gives a
 * well-mixed non-zero state. Only integer arithmetic feeds the stream, so a
 * seed gives the same params on every platform; the float conversions below
 * are exact or correctly rounded libm calls. The generator itself is
 * nnrt_hd.h's, which the CUDA runtime's device code runs too.
 */
#include <math.h>

#include "nnrt_hd.h"
#include "rt_internal.h"

/* M_PI is POSIX, not C11. */
#define TWO_PI 6.28318530717958647692528676655900577

void nnrt_rng_seed(nnrt_rng *r, uint64_t seed) { nnrt_hd_seed(r->s, seed); }

uint64_t nnrt_rng_next(nnrt_rng *r) { return nnrt_hd_next(r->s); }

/* The top 53 bits scaled by 2^-53: every value k/2^53 in [0, 1), exactly. */
double nnrt_rng_double(nnrt_rng *r) { return (double)(nnrt_rng_next(r) >> 11) * 0x1.0p-53; }

float nnrt_rng_uniform(nnrt_rng *r, float a, float b) {
    float x = (float)(a + (b - (double)a) * nnrt_rng_double(r));
    /* Rounding to float can land on b itself (say u = 1 - 2^-53); keep the
     * promised half-open range. */
    if (x >= b && b > a)
        x = nextafterf(b, a);
    return x;
}

/* Box-Muller. It makes two normals per pair of uniforms; we keep only the
 * cosine one because nnrt_rng has no room to cache the other, and a
 * stateless draw keeps the stream easy to reproduce. */
float nnrt_rng_normal(nnrt_rng *r, float mean, float std) {
    double u1 = 1.0 - nnrt_rng_double(r); /* (0, 1]: log(u1) is finite */
    double u2 = nnrt_rng_double(r);
    double z = sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2);
    return (float)(mean + std * z);
}

void nnrt_init_fill(float *x, int64_t n, float v) {
    for (int64_t i = 0; i < n; i++)
        x[i] = v;
}

void nnrt_init_uniform(nnrt_rng *r, float *x, int64_t n, float a, float b) {
    for (int64_t i = 0; i < n; i++)
        x[i] = nnrt_rng_uniform(r, a, b);
}

void nnrt_init_normal(nnrt_rng *r, float *x, int64_t n, float mean, float std) {
    for (int64_t i = 0; i < n; i++)
        x[i] = nnrt_rng_normal(r, mean, std);
}

/* Glorot/Xavier uniform: U(-l, l) with l = sqrt(6 / (fan_in + fan_out)),
 * which keeps the activation variance roughly constant across layers. */
void nnrt_init_glorot(nnrt_rng *r, float *x, int64_t fan_out, int64_t fan_in) {
    if (fan_out <= 0 || fan_in <= 0)
        return; /* an empty tensor: nothing to fill */
    NNRT_ASSERT(fan_out <= INT64_MAX / fan_in);
    float limit = (float)sqrt(6.0 / ((double)fan_in + (double)fan_out));
    nnrt_init_uniform(r, x, fan_out * fan_in, -limit, limit);
}
