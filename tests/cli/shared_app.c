/*
 * shared_app.c - a user program linked against the shared library that
 * `nngc tiny.nn --shared -o DIR/tiny.so` builds (tests/cli/run.sh). It uses
 * only the generated header and the .so: the runtime must be inside it.
 * Prints the loss and y for the inputs of data/make_data.py.
 */
#include "tiny.h"

#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    tiny *m = tiny_create(0);
    if (!m || tiny_load(m, argv[1]) != NNRT_OK) {
        fprintf(stderr, "shared_app: %s\n", nnrt_last_error());
        return 1;
    }
    int32_t words[4] = {0, 2, 3, 1};
    float x[2] = {1, -1};
    tiny_inputs in = {.T = 3, .words = words, .x = x, .c = 0};
    tiny_outputs out;
    if (tiny_forward(m, &in, &out) != NNRT_OK) {
        fprintf(stderr, "shared_app: %s\n", nnrt_last_error());
        return 1;
    }
    printf("%.4f %.4f %.4f\n", out.loss, out.y[0], out.y[1]);
    tiny_destroy(m);
    return 0;
}
