/* hook.h - forced into model.c by tests/approx_e2e/run.sh (-include): every
 * sample's ids go to the test (neg_test.c). */
#include <stdint.h>
void test_sample_hook(int site, const int32_t *ids, int64_t n);
#define NNGC_SAMPLE_HOOK test_sample_hook
