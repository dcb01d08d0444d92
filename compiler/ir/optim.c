/*
 * optim.c - the optimizers a program or the command line can name (sgd,
 * adam, adagrad): their arguments, PyTorch's defaults, and the one check
 * of the values, shared by the `optimizer` declaration (parser/lower.c)
 * and `--optimizer=SPEC` (driver/options.c), so both accept exactly the
 * same things.
 */
#include "nngc.h"

#include <math.h>
#include <string.h>

static const char *const sgd_args[] = {"lr", NULL};
static const char *const adam_args[] = {"lr", "beta1", "beta2", "eps", "lazy", NULL};
static const char *const adagrad_args[] = {"lr", "eps", NULL};

const char *const *optim_args(OptKind k) {
    switch (k) {
    case OPT_SGD: return sgd_args;
    case OPT_ADAM: return adam_args;
    case OPT_ADAGRAD: return adagrad_args;
    default: return NULL;
    }
}

static const char *optim_name(OptKind k) {
    return k == OPT_SGD ? "sgd" : k == OPT_ADAM ? "adam" : "adagrad";
}

bool optim_start(OptimizerDecl *o, const char *name, size_t len) {
    static const struct {
        const char *name;
        OptKind kind;
        double lr, beta1, beta2, eps;
    } known[] = {
        /* lr NAN: required (PyTorch's SGD had no default for years) */
        {"sgd", OPT_SGD, NAN, 0, 0, 0},
        {"adam", OPT_ADAM, 0.001, 0.9, 0.999, 1e-8},
        {"adagrad", OPT_ADAGRAD, 0.01, 0, 0, 1e-10},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i].name) == len && strncmp(known[i].name, name, len) == 0) {
            Loc loc = o->loc;
            memset(o, 0, sizeof *o);
            o->loc = loc;
            o->kind = known[i].kind;
            o->lr = known[i].lr, o->beta1 = known[i].beta1, o->beta2 = known[i].beta2, o->eps = known[i].eps;
            return true;
        }
    return false;
}

int optim_arg_index(OptKind k, const char *name, size_t len) {
    const char *const *names = optim_args(k);
    for (int i = 0; names && names[i]; i++)
        if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0)
            return i;
    return -1;
}

double *optim_arg(OptimizerDecl *o, int i) {
    const char *const *names = optim_args(o->kind);
    NN_ASSERT(names && i >= 0);
    for (int j = 0; j < i; j++)
        NN_ASSERT(names[j]);
    const char *n = names[i];
    NN_ASSERT(n);
    if (strcmp(n, "lr") == 0)
        return &o->lr;
    if (strcmp(n, "beta1") == 0)
        return &o->beta1;
    if (strcmp(n, "beta2") == 0)
        return &o->beta2;
    if (strcmp(n, "lazy") == 0)
        return &o->lazy;
    return &o->eps;
}

/* PyTorch's checks (torch/optim/adam.py, adagrad.py, sgd.py): lr >= 0,
 * eps >= 0, 0 <= beta < 1; every value a finite number; adam's lazy 0 or 1. */
bool optim_check(const OptimizerDecl *o, char *err, size_t errlen) {
    if (o->kind == OPT_SGD && isnan(o->lr)) {
        snprintf(err, errlen, "sgd needs a learning rate (lr = 0.1, say)");
        return false;
    }
    const char *const *names = optim_args(o->kind);
    for (int i = 0; names && names[i]; i++) {
        double v = *optim_arg((OptimizerDecl *)o, i);
        if (strcmp(names[i], "lazy") == 0) {
            if (v != 0 && v != 1) {
                snprintf(err, errlen, "%s lazy = %g: it must be 0 (the dense update) or 1 (only the touched rows)",
                         optim_name(o->kind), v);
                return false;
            }
            continue;
        }
        bool beta = names[i][0] == 'b';
        if (!isfinite(v) || v < 0 || (beta && v >= 1)) {
            snprintf(err, errlen, "%s %s = %g is out of range: it must be %s", optim_name(o->kind), names[i], v,
                     beta ? "at least 0 and less than 1" : "a finite number >= 0");
            return false;
        }
    }
    return true;
}
