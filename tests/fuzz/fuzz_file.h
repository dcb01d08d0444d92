/*
 * fuzz_file.h - for the file-reader fuzz targets: the input bytes as a
 * file the runtime can open by path. A memfd (an anonymous in-memory
 * regular file) opened through /proc/self/fd: no disk, no cleanup.
 */
#ifndef FUZZ_FILE_H
#define FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of a reader's result: a violation aborts with the condition
 * and its line, so that a finding says what was wrong, not only where. */
#define FUZZ_REQUIRE(cond)                                                          \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: violated: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                \
        }                                                                           \
    } while (0)

/* Path of a file holding exactly data[0..size). */
static const char *fuzz_file(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz_file");
        abort();
    }
    return path;
}

#endif
