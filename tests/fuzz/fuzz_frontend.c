/*
 * fuzz_frontend.c - libFuzzer target for the compiler: the input is a .nn
 * program, run through what `nngc model.nn` does: parse, lower, the train
 * graph (lowered again, autodiff, passes) when the program has a loss and
 * a trainable param, the -O2 pass pipeline, and the C emitter (into memory
 * streams). Errors in the input are expected; a crash, an NN_ASSERT, a
 * sanitizer report or a leak is a finding. `import "nn"` finds the
 * standard library when run from the repository root (tests/fuzz/fuzz.sh
 * does).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/driver.h"
#include "nngc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* diag_load_file refuses NUL bytes: the compiler never sees them */
    if (size > 1 << 16 || memchr(data, '\0', size))
        return 0;
    FILE *devnull = fopen("/dev/null", "w");
    if (!devnull)
        return 0;
    Diag d;
    diag_init(&d, devnull);
    char *text = xalloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    int file = diag_add_file(&d, "fuzz.nn", text, size);
    AstList prog = {0};
    LowerOptions lo = {.stdlib_dir = "stdlib"};
    CompileOptions co;
    compile_options_init(&co);
    PipelineOptions po;
    Graph *g = NULL, *t = NULL;
    if (driver_pipeline_options(&co, NULL, &po) && parse_file(&d, file, &prog))
        g = lower_program(&d, file, &prog, &lo);
    if (g && d.nerrors == 0) {
        int trainable = 0;
        for (int i = 0; i < g->nparams; i++)
            trainable |= !g->params[i].frozen;
        if (g->loss && trainable) {
            t = lower_program(&d, file, &prog, &lo);
            if (t && !(autodiff(t, &d) && t->grads && run_pipeline(t, &po)))
                t = NULL;
        }
        if (run_pipeline(g, &po)) {
            char *cbuf = NULL, *hbuf = NULL;
            size_t clen = 0, hlen = 0;
            FILE *c = open_memstream(&cbuf, &clen), *h = open_memstream(&hbuf, &hlen);
            EmitOptions eo = {.source_name = "fuzz.nn", .line_markers = true};
            if (c && h)
                emit_c(g, t, c, h, "model.h", &eo);
            if (c)
                fclose(c);
            if (h)
                fclose(h);
            free(cbuf);
            free(hbuf);
        }
    }
    fclose(devnull);
    xfree_all();
    return 0;
}
