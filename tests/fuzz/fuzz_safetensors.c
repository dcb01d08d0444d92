/* fuzz_safetensors.c - libFuzzer target: nnrt_st_read on the input as a
 * file. A success must give tensors whose counts match their shapes, with
 * every element readable and distinct names (nnrt_st_find finds each). */
#include <string.h>

#include "fuzz_file.h"
#include "nngrt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nnrt_safetensors st;
    if (nnrt_st_read(fuzz_file(data, size), &st) == NNRT_OK) {
        volatile uint32_t x = 0; /* read back below: every element must be readable */
        for (int t = 0; t < st.n; t++) {
            int64_t n = 1;
            for (int i = 0; i < st.t[t].rank; i++)
                n *= st.t[t].shape[i];
            if (n != st.t[t].count || nnrt_st_find(&st, st.t[t].name) != &st.t[t])
                abort();
            for (int64_t i = 0; i < n; i++)
                x ^= ((const uint32_t *)st.t[t].data)[i];
        }
        (void)x;
        nnrt_st_free(&st);
    }
    return 0;
}
