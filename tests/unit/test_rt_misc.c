/*
 * test_rt_misc.c - error messages (thread-local), affine sizes and the
 * clock.
 */
#include "rt_testutil.h"

#include <pthread.h>

#include "nngrt.h"

static void *other_thread(void *arg) {
    (*(int *)arg) = nnrt_last_error()[0] == '\0'; /* fresh thread: no message */
    nnrt_error(NNRT_ERR_IO, "from the other thread");
    return NULL;
}

/* Ensure nnrt_error formats the message and returns the code, messages are
 * per thread, and over-long messages are cut, not overflowed. */
static void test_errors(void **state) {
    (void)state;
    assert_int_equal(nnrt_error(NNRT_ERR_RANGE, "id %d out of range", 12), NNRT_ERR_RANGE);
    assert_string_equal(nnrt_last_error(), "id 12 out of range");

    pthread_t th;
    int fresh = 0;
    assert_int_equal(pthread_create(&th, NULL, other_thread, &fresh), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(fresh);
    assert_string_equal(nnrt_last_error(), "id 12 out of range");

    static char big[5000];
    memset(big, 'x', sizeof big - 1);
    nnrt_error(NNRT_ERR_ARG, "%s", big);
    assert_true(strlen(nnrt_last_error()) > 500 && strlen(nnrt_last_error()) < sizeof big - 1);

    assert_string_equal(nnrt_strerror(NNRT_ERR_IO), "io error");
    assert_string_equal(nnrt_strerror(NNRT_ERR_FORMAT), "format error");
    assert_string_equal(nnrt_strerror(NNRT_OK), "ok");
    assert_string_equal(nnrt_strerror(1234), "unknown error");
}

/* Ensure c + sum k[i] * dyn[i], with NULL dyn meaning all zero. */
static void test_size_eval(void **state) {
    (void)state;
    nnrt_size s = {1, {2, 0, -1, 0}};
    const int64_t dyn[4] = {5, 100, 3, 7};
    assert_int_equal(nnrt_size_eval(&s, dyn), 1 + 10 - 3);
    assert_int_equal(nnrt_size_eval(&s, NULL), 1);
}

/* Ensure the clock is monotonic and counts microseconds. */
static void test_clock(void **state) {
    (void)state;
    double t0 = nnrt_now_us();
    usleep(20000);
    double t1 = nnrt_now_us();
    assert_true(t1 - t0 >= 20000 && t1 - t0 < 2e6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_size_eval),
        cmocka_unit_test(test_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
