/* common.h - what neg_test.c and hier_test.c share: TAP-style checks,
 * relative errors, and the finite-difference check of a compiled model's
 * gradient. Included once per test program (static functions). */
#include <math.h>
#include <stdio.h>
#include <string.h>

static int fails;

static void check(int ok, const char *what)
{
    printf("%s - %s\n", ok ? "ok" : "not ok", what);
    fails += !ok;
}

static double relerr(double a, double b) { return fabs(a - b) / (fabs(b) > 1.0 ? fabs(b) : 1.0); }

static double maxrel(const float *got, const double *want, int n)
{
    double e = 0;
    for (int i = 0; i < n; i++)
        if (relerr(got[i], want[i]) > e)
            e = relerr(got[i], want[i]);
    return e;
}

/* NO_FD (tests/cuda/run.sh, the same programs on the CUDA target): the
 * finite differences write params through a host pointer kept across
 * calls, which the device's copy never sees, so there they cannot pass;
 * fd_skipped then prints a "# not run - " line for the check, and the
 * test does not spend its time (most of it, on the emulation) computing it. */
static int fd_skipped(const char *what)
{
#ifdef NO_FD
    printf("# not run - finite differences of %s (NO_FD: params written on the host)\n", what);
    return 1;
#else
    (void)what;
    return 0;
#endif
}

/* The largest error between the gradient and central differences (step
 * 1e-2) of loss() over every entry of np params P[p] (sizes[p] floats;
 * grad(p) the compiled gradient after a call of loss()). */
static double fd_worst(float *const *P, const int *sizes, int np, double (*loss)(void), const float *(*grad)(int))
{
    double worst = 0;
    for (int p = 0; p < np; p++) {
        loss();
        float *g = malloc(sizeof(float) * (size_t)sizes[p]);
        if (!g)
            exit(1);
        memcpy(g, grad(p), sizeof(float) * (size_t)sizes[p]);
        for (int i = 0; i < sizes[p]; i++) {
            const float eps = 1e-2f, keep = P[p][i];
            P[p][i] = keep + eps;
            double lp = loss();
            P[p][i] = keep - eps;
            double lm = loss();
            P[p][i] = keep;
            double fd = (lp - lm) / (2 * eps), e = fabs(fd - g[i]) / (fabs(fd) > 1 ? fabs(fd) : 1);
            if (e > worst)
                worst = e;
        }
        free(g);
    }
    return worst;
}
