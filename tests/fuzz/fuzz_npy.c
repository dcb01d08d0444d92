/* fuzz_npy.c - libFuzzer target: nnrt_npy_read on the input as a file.
 * Any result is fine but a crash, a sanitizer report or a leak; a success
 * must describe an array whose element count matches its shape. */
#include "fuzz_file.h"
#include "nngrt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nnrt_array a;
    if (nnrt_npy_read(fuzz_file(data, size), &a) == NNRT_OK) {
        int64_t n = 1;
        for (int i = 0; i < a.rank; i++)
            n *= a.shape[i];
        if (n != a.count || (a.count && !a.data))
            abort();
        /* touch every element: the buffer must be as long as count says */
        volatile uint32_t x = 0; /* read back below: every element must be readable */
        for (int64_t i = 0; i < a.count; i++)
            x ^= ((const uint32_t *)a.data)[i];
        (void)x;
        nnrt_array_free(&a);
    }
    return 0;
}
