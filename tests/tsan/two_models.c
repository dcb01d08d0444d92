/* model: examples/rnnlm.nn
 *
 * two_models.c - two rnnlm model objects driven by two threads at once
 * (API.md: "a model object is not thread-safe; use one per thread"): each
 * thread creates its model, trains it 3 steps, runs forward, saves it and
 * loads the file back into a fresh model. Under ThreadSanitizer, any data
 * race between the two (shared state in the runtime or generated code) is a
 * report and a failure; the losses must also equal, bit for bit, those of
 * the same work done first on one thread.
 *
 * Usage: two_models DIR   (DIR: where the two checkpoints go)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "rnnlm.h"

typedef struct Job {
    const char *dir;
    int id;
    float loss[5];
    int ok;
} Job;

static void *work(void *arg) {
    Job *j = arg;
    int32_t words[9] = {1, 5, 7, 2, 9, 3, 11, 4, 8};
    rnnlm_inputs in = {.T = 8, .words = words};
    rnnlm_outputs out;
    char path[4200];
    snprintf(path, sizeof path, "%s/ckpt%d.safetensors", j->dir, j->id);
    rnnlm *m = rnnlm_create(42), *back = rnnlm_create(0);
    j->ok = m && back;
    for (int s = 0; j->ok && s < 3; s++)
        j->ok = rnnlm_train_step(m, &in, &j->loss[s]) == NNRT_OK;
    j->ok = j->ok && rnnlm_forward(m, &in, &out) == NNRT_OK;
    j->loss[3] = out.loss;
    j->ok = j->ok && rnnlm_save(m, path) == NNRT_OK && rnnlm_load(back, path) == NNRT_OK &&
            rnnlm_forward(back, &in, &out) == NNRT_OK;
    j->loss[4] = out.loss;
    if (!j->ok)
        fprintf(stderr, "thread %d: %s\n", j->id, nnrt_last_error());
    rnnlm_destroy(m);
    rnnlm_destroy(back);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    Job ref = {argv[1], 0, {0}, 0}, a = {argv[1], 1, {0}, 0}, b = {argv[1], 2, {0}, 0};
    work(&ref);
    pthread_t ta, tb;
    if (pthread_create(&ta, NULL, work, &a) || pthread_create(&tb, NULL, work, &b))
        return 1;
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    if (!ref.ok || !a.ok || !b.ok)
        return 1;
    for (int i = 0; i < 5; i++)
        if (memcmp(&a.loss[i], &ref.loss[i], sizeof(float)) || memcmp(&b.loss[i], &ref.loss[i], sizeof(float))) {
            fprintf(stderr, "loss %d: %.9g and %.9g on two threads, %.9g on one\n", i, a.loss[i], b.loss[i],
                    ref.loss[i]);
            return 1;
        }
    printf("losses %.6g .. %.6g, equal on one and two threads\n", ref.loss[0], ref.loss[4]);
    return 0;
}
