/*
 * fuzz_frontend.c - libFuzzer target for the compiler: the input is a .nn
 * program, run through exactly what `nngc model.nn -o model.c` does
 * (driver_compile: parse, lower F, clone into T, objective, autodiff, the
 * -O2 pipelines, placement, emit; again with --batch=3 when the first
 * byte is odd; under a --softmax method chosen by the input's size,
 * none for one size in two), with the program in a memfd and the C
 * written to /dev/null. Errors in the input are expected; a crash, an
 * NN_ASSERT, a sanitizer report or a leak is a finding. `import "nn"`
 * finds the standard library when run from the repository root
 * (tests/fuzz/fuzz.sh does).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "driver/driver.h"
#include "nngc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* diag_load_file refuses NUL bytes: the compiler never sees them */
    if (size > 1 << 16 || memchr(data, '\0', size))
        return 0;
    FILE *devnull = fopen("/dev/null", "w");
    int fd = memfd_create("fuzz.nn", 0);
    if (!devnull || fd < 0 || write(fd, data, size) != (ssize_t)size) {
        if (devnull)
            fclose(devnull);
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    Paths paths = {.include_dir = "runtime", .libnngrt = "build/libnngrt.a", .stdlib_dir = "stdlib"};
    EmitTarget out = {.c_path = "/dev/null", .h_path = "/dev/null", .header_name = "model.h",
                      .source_name = "fuzz.nn", .train_api = true};
    /* as written; then, when the first byte is odd ('m' of "model", '#'),
     * with --batch=3 too (the batch stage, vectorize.c: its refusals are
     * errors, never crashes) */
    for (int64_t batch = 0; batch <= ((size > 0 && (data[0] & 1)) ? 3 : 0); batch += 3) {
        CompileOptions co;
        compile_options_init(&co);
        co.batch = batch;
        /* (every method's lowering, batched or not, on any program) */
        static const char *const method[16] = {"neg:k=2", "class:c=3", "hier",        "binary",
                                               "embed",   "sampled:k=2", "nce:k=2", "binary:ecc=2"};
        co.softmax = method[size % 16];
        DriverPipelines pl;
        Graph *t = NULL;
        Diag d;
        diag_init(&d, devnull);
        if (driver_pipeline_options(&co, &pl))
            driver_compile(&d, path, &co, &paths, &pl, &out, &t);
    }
    close(fd);
    fclose(devnull);
    xfree_all();
    return 0;
}
