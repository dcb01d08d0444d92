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
    nnrt_task_fn fn; /* the posted task, NULL when none */
    void *m;
    const void *in;
    int rc;
    char msg[1024]; /* nnrt_last_error() of a failed task */
    bool finished;
} Worker;

static Worker worker = {.mu = PTHREAD_MUTEX_INITIALIZER, .go = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};
static pthread_mutex_t claim = PTHREAD_MUTEX_INITIALIZER; /* held by the caller using the worker */
static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static bool started;
static atomic_int op_threads = -1; /* -1: not decided yet */

static void *work(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&worker.mu);
    for (;;) {
        while (!worker.fn)
            pthread_cond_wait(&worker.go, &worker.mu);
        nnrt_task_fn fn = worker.fn;
        pthread_mutex_unlock(&worker.mu);
        int rc = fn(worker.m, worker.in);
        pthread_mutex_lock(&worker.mu);
        worker.rc = rc;
        if (rc != NNRT_OK)
            snprintf(worker.msg, sizeof worker.msg, "%s", nnrt_last_error());
        worker.fn = NULL;
        worker.finished = true;
        pthread_cond_signal(&worker.done);
    }
    return NULL;
}

static void start(void)
{
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
    pthread_mutex_lock(&worker.mu);
    worker.fn = f2;
    worker.m = m;
    worker.in = in;
    worker.finished = false;
    pthread_cond_signal(&worker.go);
    pthread_mutex_unlock(&worker.mu);

    int r1 = f1(m, in);

    pthread_mutex_lock(&worker.mu);
    while (!worker.finished)
        pthread_cond_wait(&worker.done, &worker.mu);
    int r2 = worker.rc;
    char msg[sizeof worker.msg];
    memcpy(msg, worker.msg, sizeof msg);
    pthread_mutex_unlock(&worker.mu);
    pthread_mutex_unlock(&claim);
    if (r1 != NNRT_OK)
        return r1;
    if (r2 != NNRT_OK)
        return nnrt_error(r2, "%s", msg);
    return NNRT_OK;
}
