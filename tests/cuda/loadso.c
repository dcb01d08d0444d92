/*
 * loadso.c - loads a model built by `nngc --target=cuda --shared` and
 * creates it: prints "created NAME" (exit 0), or the runtime's error, e.g.
 * "no CUDA device: ..." without a GPU (exit 1).
 *
 *   loadso LIB.so NAME_desc
 */
#include <dlfcn.h>
#include <stdio.h>

#include "nngrt.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: loadso LIB.so NAME_desc\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) {
        printf("dlopen: %s\n", dlerror());
        return 2;
    }
    const nnrt_model_desc *d = (const nnrt_model_desc *)dlsym(h, argv[2]);
    const char *(*last_error)(void) = (const char *(*)(void))dlsym(h, "nnrt_last_error");
    if (!d || !last_error) {
        printf("no %s or nnrt_last_error in %s\n", argv[2], argv[1]);
        return 2;
    }
    void *m = d->create(1);
    if (!m) {
        printf("create: %s\n", last_error());
        return 1;
    }
    printf("created %s\n", d->name);
    d->destroy(m);
    return 0;
}
