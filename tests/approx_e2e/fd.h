/* fd.h - what the tests of one compiled model (class, hier, binary, embed)
 * repeated: run_grad (one NAME_ctx_grad call, exiting on an error), and the
 * finite-difference check of every entry of the params given (common.h's
 * fd_worst, central differences, step 1e-2) as one "ok - " line.
 * FD_MODEL(NAME) defines them for the model NAME, after its header and
 * common.h. */
#define FD_MODEL(M)                                                                                           \
    static float run_grad(M##_ctx *c, const M##_inputs *in)                                                   \
    {                                                                                                         \
        M##_outputs out;                                                                                      \
        if (M##_ctx_grad(c, in, &out) != NNRT_OK) {                                                           \
            fprintf(stderr, #M "_ctx_grad: %s\n", nnrt_last_error());                                         \
            exit(1);                                                                                          \
        }                                                                                                     \
        return out.loss;                                                                                      \
    }                                                                                                         \
    static M##_ctx *fd_ctx;                                                                                   \
    static const M##_inputs *fd_in;                                                                           \
    static double fd_loss(void) { return run_grad(fd_ctx, fd_in); }                                           \
    static const float *fd_grad(int p) { return M##_ctx_grad_data(fd_ctx, p); }                               \
    /* the compiled gradient of params P (sizes floats each) against finite                                   \
     * differences of the compiled loss, within a relative 5e-3 */                                            \
    static void fd_check(M##_ctx *c, const M##_inputs *in, float *const *P, const int *sizes, int np,           \
                         const char *what)                                                                    \
    {                                                                                                         \
        char name[160];                                                                                       \
        if (fd_skipped(what))                                                                                 \
            return;                                                                                           \
        fd_ctx = c;                                                                                           \
        fd_in = in;                                                                                           \
        double worst = fd_worst(P, sizes, np, fd_loss, fd_grad);                                              \
        snprintf(name, sizeof name, "finite differences of %s (max err %.2g)", what, worst);                  \
        check(worst < 5e-3, name);                                                                            \
    }
