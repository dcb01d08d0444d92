/*
 * replay.c - runs a fuzz target's LLVMFuzzerTestOneInput once on each file
 * named on the command line, without libFuzzer: how the normal test suite
 * (tests/fuzz/run.sh, any compiler, the sanitizer builds too) replays the
 * seed corpora and every crash fuzzing ever found.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        size_t cap = 1 << 16, len = 0, got;
        uint8_t *buf = malloc(cap);
        while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0)
            if ((len += got) == cap)
                buf = realloc(buf, cap *= 2);
        fclose(f);
        if (!buf)
            return 1;
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
    }
    return 0;
}
