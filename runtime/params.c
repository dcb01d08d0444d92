/*
 * params.c - saving a model's params as safetensors and loading them from
 * safetensors or .npz, through the model's reflective descriptor
 * (nnrt_model_desc), so it works for any model nngc generates.
 *
 * Params have static shapes (LANGUAGE.md), so their nnrt_size shapes are
 * evaluated with no dynamic dims.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

/* Static shape of param p. Returns 0 if a dim comes out negative, which
 * only a broken descriptor can produce. */
static int param_shape(const nnrt_tensor_desc *p, int64_t shape[NNRT_MAXRANK]) {
    for (int i = 0; i < NNRT_MAXRANK; i++) {
        shape[i] = i < p->rank ? nnrt_size_eval(&p->shape[i], NULL) : 0;
        if (shape[i] < 0)
            return 0;
    }
    return 1;
}

static int check_desc(const nnrt_model_desc *d, void *m, const char *path) {
    if (!d || !m || !path)
        return nnrt_error(NNRT_ERR_ARG, "params: NULL model, descriptor or path");
    if (d->nparams < 0 || (d->nparams > 0 && (!d->params || !d->param_data)))
        return nnrt_error(NNRT_ERR_ARG, "%s: model %s has a broken descriptor", path,
                          d->name ? d->name : "?");
    for (int i = 0; i < d->nparams; i++) {
        const nnrt_tensor_desc *p = &d->params[i];
        if (!p->name || p->dtype != NNRT_F32 || p->rank < 0 || p->rank > NNRT_MAXRANK)
            return nnrt_error(NNRT_ERR_ARG, "%s: model %s: param %d is not an F32 tensor", path,
                              d->name ? d->name : "?", i);
    }
    return NNRT_OK;
}

int nnrt_save_params(const nnrt_model_desc *d, void *m, const char *path) {
    int rc = check_desc(d, m, path);
    if (rc)
        return rc;
    int nstate = d->state_data && d->state ? d->nstate : 0;
    int n = d->nparams + nstate;
    size_t k = n ? (size_t)n : 1;
    const char **names = malloc(k * sizeof *names);
    int *ranks = malloc(k * sizeof *ranks);
    int64_t (*shapes)[NNRT_MAXRANK] = malloc(k * sizeof *shapes);
    const float **data = malloc(k * sizeof *data);
    if (!names || !ranks || !shapes || !data) {
        rc = nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        int is_state = i >= d->nparams;
        const nnrt_tensor_desc *p = is_state ? &d->state[i - d->nparams] : &d->params[i];
        names[i] = p->name;
        ranks[i] = p->rank;
        if (!param_shape(p, shapes[i])) {
            rc = nnrt_error(NNRT_ERR_ARG, "%s: model %s: param '%s' has a negative dim", path,
                            d->name ? d->name : "?", p->name);
            goto done;
        }
        data[i] = is_state ? d->state_data(m, i - d->nparams) : d->param_data(m, i);
    }
    rc = nnrt_st_write(path, n, names, ranks, (const int64_t(*)[NNRT_MAXRANK])shapes, data);
done:
    free(names);
    free(ranks);
    free(shapes);
    free(data);
    return rc;
}

/* Index of the param called name, or -1. */
static int find_param(const nnrt_model_desc *d, const char *name) {
    for (int i = 0; i < d->nparams; i++)
        if (strcmp(d->params[i].name, name) == 0)
            return i;
    return -1;
}

/* Index of the optimizer state tensor called name, or -1. */
static int find_state(const nnrt_model_desc *d, const char *name) {
    if (!d->state || !d->state_data)
        return -1;
    for (int i = 0; i < d->nstate; i++)
        if (strcmp(d->state[i].name, name) == 0)
            return i;
    return -1;
}

#define STATE_PREFIX "__opt__/"

/* Moves the float arrays of a .npz into st (names and data change owner). */
static int npz_as_tensors(const char *path, nnrt_npz *z, nnrt_safetensors *st) {
    char nbuf[80];
    st->n = 0;
    st->t = calloc(z->n ? (size_t)z->n : 1, sizeof *st->t);
    if (!st->t)
        return nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < z->n; i++)
        if (z->arrays[i].dtype != NNRT_F32)
            return nnrt_error(NNRT_ERR_SHAPE, "%s: member '%s.npy' holds int32 data; params are float",
                              path, nnrt_printable(nbuf, sizeof nbuf, z->names[i]));
    for (int i = 0; i < z->n; i++) {
        nnrt_st_tensor *t = &st->t[st->n++];
        t->name = z->names[i];
        t->rank = z->arrays[i].rank;
        memcpy(t->shape, z->arrays[i].shape, sizeof t->shape);
        t->count = z->arrays[i].count;
        t->data = z->arrays[i].data;
        z->names[i] = NULL;
        z->arrays[i].data = NULL;
    }
    return NNRT_OK;
}

/* Reads a params file, safetensors or .npz by its first bytes; a .npy
 * (one array, no names) is refused saying what it is. */
static int read_params_file(const char *path, nnrt_safetensors *st) {
    unsigned char magic[6] = {0};
    st->n = 0;
    st->t = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return nnrt_error(NNRT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    if (got == 6 && memcmp(magic, "\x93NUMPY", 6) == 0)
        return nnrt_error(NNRT_ERR_FORMAT,
                          "%s is a .npy file, not safetensors: a params file holds every param by "
                          "name: safetensors.numpy.save_file({\"W\": W, ...}, PATH) or "
                          "np.savez(PATH, W=W, ...) writes one (docs/API.md)",
                          path);
    if (got >= 4 && memcmp(magic, "PK", 2) == 0 && (magic[2] == 3 || magic[2] == 5)) {
        nnrt_npz z;
        int rc = nnrt_npz_read(path, &z);
        if (!rc)
            rc = npz_as_tensors(path, &z, st);
        nnrt_npz_free(&z);
        if (rc)
            nnrt_st_free(st);
        return rc;
    }
    return nnrt_st_read(path, st);
}

/* Checks every tensor of the file before copying any, so a failed load
 * leaves the model's params exactly as they were. Tensors named
 * "__opt__/..." are optimizer state: restored when the model has them,
 * ignored otherwise (a file saved under another optimizer). param_of[t] is
 * the param index, NPARAMS + the state index, or -1 to skip. require_all:
 * 1 every param must be in the file, 0 only the frozen ones. */
static int load_params(const nnrt_model_desc *d, void *m, const char *path, int require_all,
                       unsigned char *missing, int *nloaded) {
    if (nloaded)
        *nloaded = 0;
    int rc = check_desc(d, m, path);
    if (rc)
        return rc;
    const char *model = d->name ? d->name : "?";
    nnrt_safetensors st;
    if ((rc = read_params_file(path, &st)))
        return rc;
    char nbuf[80], have[96], want[96];
    int *param_of = malloc((st.n ? (size_t)st.n : 1) * sizeof *param_of);
    char *found = calloc(d->nparams ? (size_t)d->nparams : 1, 1);
    if (!param_of || !found) {
        rc = nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int t = 0; t < st.n && !rc; t++) {
        const nnrt_st_tensor *x = &st.t[t];
        int i = find_param(d, x->name);
        if (i < 0 && strncmp(x->name, STATE_PREFIX, strlen(STATE_PREFIX)) == 0) {
            int j = find_state(d, x->name);
            param_of[t] = j < 0 ? -1 : d->nparams + j;
            if (j < 0)
                continue;
            const nnrt_tensor_desc *p = &d->state[j];
            int64_t shape[NNRT_MAXRANK];
            int same = param_shape(p, shape) && p->rank == x->rank;
            for (int a = 0; same && a < x->rank; a++)
                same = shape[a] == x->shape[a];
            if (!same)
                rc = nnrt_error(NNRT_ERR_SHAPE, "%s: optimizer state '%s' has shape %s but model %s expects %s",
                                path, nnrt_printable(nbuf, sizeof nbuf, x->name),
                                nnrt_shape_str(have, sizeof have, x->rank, x->shape), model,
                                nnrt_shape_str(want, sizeof want, p->rank, shape));
            continue;
        }
        if (i < 0) {
            rc = nnrt_error(NNRT_ERR_ARG, "%s: tensor '%s' is not a param of model %s", path,
                            nnrt_printable(nbuf, sizeof nbuf, x->name), model);
            break;
        }
        const nnrt_tensor_desc *p = &d->params[i];
        int64_t shape[NNRT_MAXRANK];
        int same = param_shape(p, shape) && p->rank == x->rank;
        for (int a = 0; same && a < x->rank; a++)
            same = shape[a] == x->shape[a];
        if (!same)
            rc = nnrt_error(NNRT_ERR_SHAPE,
                            "%s: tensor '%s' has shape %s but param '%s' of model %s has shape %s",
                            path, nnrt_printable(nbuf, sizeof nbuf, x->name), nnrt_shape_str(have, sizeof have, x->rank, x->shape),
                            p->name, model, nnrt_shape_str(want, sizeof want, p->rank, shape));
        param_of[t] = i;
        found[i] = 1; /* the file has no duplicate names: nnrt_st_read checks */
    }
    for (int i = 0; i < d->nparams && !rc; i++) {
        int frozen = d->frozen && d->frozen[i];
        if (found[i] || (!require_all && !frozen))
            continue;
        rc = nnrt_error(NNRT_ERR_ARG, "%s: %sparam '%s' of model %s is missing from the file%s",
                        path, frozen ? "frozen " : "", d->params[i].name, model,
                        frozen ? " (a frozen param is never trained: its values must come from "
                                 "the file)"
                               : "");
    }
    int nparams_read = 0;
    for (int t = 0; t < st.n && !rc; t++) {
        if (param_of[t] < 0)
            continue;
        float *dst = param_of[t] >= d->nparams ? d->state_data(m, param_of[t] - d->nparams)
                                               : d->param_data(m, param_of[t]);
        nparams_read += param_of[t] < d->nparams;
        if (st.t[t].count > 0) {
            NNRT_ASSERT(dst);
            memcpy(dst, st.t[t].data, (size_t)st.t[t].count * sizeof(float));
        }
    }
    if (!rc && nloaded)
        *nloaded = nparams_read;
    for (int i = 0; i < d->nparams && !rc && missing; i++)
        missing[i] = !found[i];
done:
    free(param_of);
    free(found);
    nnrt_st_free(&st);
    return rc;
}

int nnrt_load_params(const nnrt_model_desc *d, void *m, const char *path, int require_all,
                     int *nloaded) {
    return load_params(d, m, path, require_all, NULL, nloaded);
}

int nnrt_load_params_report(const nnrt_model_desc *d, void *m, const char *path,
                            unsigned char *missing, int *nloaded) {
    return load_params(d, m, path, 0, missing, nloaded);
}
