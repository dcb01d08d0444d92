/* hook.h - forced into a model's .cu by tests/cuda/run.sh (-include) for
 * tests/approx_e2e's programs: every sample's ids go to the test, as
 * tests/approx_e2e/hook.h does for the C target (with C linkage here: the
 * .cu is C++, the test C). */
#include <stdint.h>
extern "C" void test_sample_hook(int site, const int32_t *ids, int64_t n);
#define NNGC_SAMPLE_HOOK test_sample_hook
