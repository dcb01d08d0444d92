/* fuzz_npz.c - libFuzzer target: nnrt_npz_read on the input as a file. A
 * success must give arrays whose counts match their shapes, every element
 * readable, names unique. */
#include <string.h>

#include "fuzz_file.h"
#include "nngrt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nnrt_npz z;
    if (nnrt_npz_read(fuzz_file(data, size), &z) == NNRT_OK) {
        volatile uint32_t x = 0; /* read back below: every element must be readable */
        for (int k = 0; k < z.n; k++) {
            const nnrt_array *a = &z.arrays[k];
            int64_t n = 1;
            for (int i = 0; i < a->rank; i++)
                n *= a->shape[i];
            if (n != a->count)
                abort();
            for (int64_t i = 0; i < n; i++)
                x ^= ((const uint32_t *)a->data)[i];
            for (int j = 0; j < k; j++)
                if (strcmp(z.names[j], z.names[k]) == 0)
                    abort();
        }
        (void)x;
        nnrt_npz_free(&z);
    }
    return 0;
}
