/*
 * error.c - the runtime's error reporting: one message per thread.
 *
 * Every failing nnrt_ function returns a code and leaves a sentence in a
 * thread-local buffer, so threads running different models do not overwrite
 * each other's messages and no allocation is needed to report one (not even
 * when the error is NNRT_ERR_NOMEM).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "rt_internal.h"

/* Long enough for a path plus a sentence; longer messages are cut. */
static _Thread_local char last_error[1024];

const char *nnrt_last_error(void) { return last_error; }

int nnrt_error(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

const char *nnrt_strerror(int code) {
    switch (code) {
    case NNRT_OK: return "ok";
    case NNRT_ERR_IO: return "io error";
    case NNRT_ERR_FORMAT: return "format error";
    case NNRT_ERR_SHAPE: return "shape error";
    case NNRT_ERR_RANGE: return "range error";
    case NNRT_ERR_NOMEM: return "out of memory";
    case NNRT_ERR_ARG: return "bad argument";
    case NNRT_ERR_DEVICE: return "device error";
    }
    return "unknown error";
}

_Noreturn void nnrt_internal_error(const char *file, int line, const char *what) {
    fprintf(stderr, "libnngrt: internal error at %s:%d: %s\n", file, line, what);
    abort();
}
