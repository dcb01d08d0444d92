/*
 * par.c - two tasks at the same time: the caller runs the first, one
 * worker thread the second (operation-wise parallelism, the compiler's
 * pass `par`: two independent loops of one call).
 *
 * One worker for the process, started at the first call and kept. A call
 * that finds it busy (another context on another thread got there first)
 * runs both tasks itself, one after the other: the same results, since
 * the two tasks never touch the same memory. So do calls after
 * nnrt_set_op_threads(1) (nngc train does that when its own threads take
 * the cores) or with NNRT_OP_THREADS=1 in the environment, and calls on a
 * machine with one core.
 *
 * The worker's error message (thread-local in error.c) is copied to the
 * caller's, so nnrt_last_error() after a failed call says what failed.
 *
 * The hand-off: the caller publishes a task by bumping an atomic sequence
 * number; the worker, after each task, may spin on it for a while
 * (NNRT_SPIN_US microseconds, default 0) before it sleeps on a condition
 * variable, and the caller, its own task done, spins the same way on the
 * worker's "done" number before it sleeps. A wake-up through the kernel
 * costs tens of microseconds; the two loops of a train step come a few
 * hundred apart. Off by default: on a loaded 2-core machine spinning made
 * the forward call faster (bench/par_bench.sh: 1.41-1.45x one thread,
 * against 0.99-1.18x sleeping) but the train step slower in 2 runs of 3
 * (0.88-0.91x against 1.00x); docs/PERFORMANCE.md has the numbers and the
 * command to decide on a quiet machine. The spinning never takes a core that is not ours: the
 * worker exists only with two op threads (nnrt_set_op_threads(1), as
 * nngc train does when its own threads or ranks take the cores, means no
 * worker and no spin), and it sleeps after NNRT_SPIN_US without work
 * (0: never spins). Whoever sleeps says so in an atomic flag, read by the
 * other side after its sequence store (both sequentially consistent: one
 * of the two sees the other), so no wake-up is lost.
 */
#include "rt_internal.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct Worker {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    /* the task: written by the caller before it bumps posted */
    nnrt_task_fn fn;
    void *m;
    const void *in;
    /* the result: written by the worker before it bumps finished */
    int rc;
    char msg[1024]; /* nnrt_last_error() of a failed task */
    atomic_uint posted, finished;   /* task numbers */
    atomic_bool worker_asleep, caller_asleep;
} Worker;

static Worker worker = {.mu = PTHREAD_MUTEX_INITIALIZER, .go = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};
static pthread_mutex_t claim = PTHREAD_MUTEX_INITIALIZER; /* held by the caller using the worker */
static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static bool started;
static atomic_int op_threads = -1; /* -1: not decided yet */
static double spin_us = 0;         /* NNRT_SPIN_US, read by start(); 0: no spin (see above) */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Spins until *seq != old or spin_us have passed; true when it changed. */
static bool spin_until(atomic_uint *seq, unsigned old)
{
    if (spin_us <= 0)
        return atomic_load(seq) != old;
    double t0 = nnrt_now_us();
    for (int k = 0;; k++) {
        if (atomic_load_explicit(seq, memory_order_acquire) != old)
            return true;
        if ((k & 63) == 63 && nnrt_now_us() - t0 > spin_us)
            return false;
        cpu_relax();
    }
}

/* Sleeps until *seq != old: asleep says so to the other side, which
 * signals cv under mu after changing seq. */
static void sleep_until(atomic_uint *seq, unsigned old, atomic_bool *asleep, pthread_cond_t *cv)
{
    pthread_mutex_lock(&worker.mu);
    atomic_store(asleep, true);
    while (atomic_load(seq) == old)
        pthread_cond_wait(cv, &worker.mu);
    atomic_store(asleep, false);
    pthread_mutex_unlock(&worker.mu);
}

/* After *seq changed: wakes the other side if it sleeps. */
static void wake(atomic_bool *asleep, pthread_cond_t *cv)
{
    if (atomic_load(asleep)) {
        pthread_mutex_lock(&worker.mu);
        pthread_cond_signal(cv);
        pthread_mutex_unlock(&worker.mu);
    }
}

static void *work(void *arg)
{
    (void)arg;
    unsigned seen = 0;
    for (;;) {
        if (!spin_until(&worker.posted, seen))
            sleep_until(&worker.posted, seen, &worker.worker_asleep, &worker.go);
        seen = atomic_load_explicit(&worker.posted, memory_order_acquire);
        int rc = worker.fn(worker.m, worker.in);
        worker.rc = rc;
        if (rc != NNRT_OK)
            snprintf(worker.msg, sizeof worker.msg, "%s", nnrt_last_error());
        atomic_store(&worker.finished, seen); /* seq_cst: before the read of caller_asleep */
        wake(&worker.caller_asleep, &worker.done);
    }
    return NULL;
}

static void start(void)
{
    const char *e = getenv("NNRT_SPIN_US");
    if (e && *e)
        spin_us = atof(e);
    pthread_t t;
    pthread_attr_t a;
    if (pthread_attr_init(&a) != 0)
        return;
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    started = pthread_create(&t, &a, work, NULL) == 0;
    pthread_attr_destroy(&a);
}

void nnrt_set_op_threads(int n)
{
    atomic_store(&op_threads, n < 1 ? 1 : n);
}

int nnrt_get_op_threads(void)
{
    int n = atomic_load(&op_threads);
    if (n < 0) {
        const char *e = getenv("NNRT_OP_THREADS");
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = e && *e ? atoi(e) : (cores >= 2 ? 2 : 1);
        n = n < 1 ? 1 : n;
        atomic_store(&op_threads, n);
    }
    return n;
}

int nnrt_par2(nnrt_task_fn f1, nnrt_task_fn f2, void *m, const void *in)
{
    if (nnrt_get_op_threads() < 2 || pthread_mutex_trylock(&claim) != 0) {
        int r1 = f1(m, in);
        return r1 != NNRT_OK ? r1 : f2(m, in);
    }
    pthread_once(&start_once, start);
    if (!started) {
        pthread_mutex_unlock(&claim);
        int r1 = f1(m, in);
        return r1 != NNRT_OK ? r1 : f2(m, in);
    }
    /* the worker is idle (claim): the task's fields are ours to write */
    worker.fn = f2;
    worker.m = m;
    worker.in = in;
    unsigned task = atomic_load(&worker.posted) + 1;
    atomic_store(&worker.posted, task); /* seq_cst: before the read of worker_asleep */
    wake(&worker.worker_asleep, &worker.go);

    int r1 = f1(m, in);

    if (!spin_until(&worker.finished, task - 1))
        sleep_until(&worker.finished, task - 1, &worker.caller_asleep, &worker.done);
    int r2 = worker.rc;
    char msg[sizeof worker.msg];
    if (r2 != NNRT_OK)
        memcpy(msg, worker.msg, sizeof msg);
    pthread_mutex_unlock(&claim);
    if (r1 != NNRT_OK)
        return r1;
    if (r2 != NNRT_OK)
        return nnrt_error(r2, "%s", msg);
    return NNRT_OK;
}
