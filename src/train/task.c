/* Task draws. The order of the random draws is fixed, so a seed fixes the task:
 *   1. the M classes: a partial Fisher-Yates over the class ids of the pool, ascending
 *      (every class 0..C-1 unless --classes names some; step i swaps position i with
 *      i + below(P - i) for a pool of P);
 *   2. for each chosen class in that order, its K+Q images: a partial Fisher-Yates over
 *      a copy of the class's image list (same step rule), the first K to train and
 *      the next Q to query;
 *   3. the M*K training indices: mp_rng_shuffle_int.
 * A draw depends only on the generator's state and the dataset, never on earlier
 * draws' leftovers, so a run resumed from a saved generator state draws the same tasks. */
#include "train/task.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "metaplast/util.h"

void mp_task_init(mp_task *task, int M, int K, int Q) {
    task->M = M;
    task->K = K;
    task->Q = Q;
    task->classes = mp_calloc((size_t)M, sizeof *task->classes);
    task->train = mp_calloc((size_t)M * (size_t)K, sizeof *task->train);
    task->query = mp_calloc((size_t)M * (size_t)Q, sizeof *task->query);
}

void mp_task_free(mp_task *task) {
    free(task->classes);
    free(task->train);
    free(task->query);
    task->classes = task->train = task->query = NULL;
}

/* Moves a uniformly random choice of k of the n entries of a into a[0..k), in random
 * order: k steps of Fisher-Yates. */
static void partial_shuffle(mp_rng *rng, int *a, int n, int k) {
    for (int i = 0; i < k; i++) {
        int j = i + (int)mp_rng_below(rng, (uint64_t)(n - i));
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static int largest_class(const mp_dataset *ds) {
    int largest = 0;
    for (int c = 0; c < ds->nclasses; c++) {
        int size = ds->class_start[c + 1] - ds->class_start[c];
        if (size > largest) largest = size;
    }
    return largest;
}

void mp_task_draw(mp_task *task, const mp_dataset *ds, mp_rng *rng) {
    const int M = task->M, K = task->K, Q = task->Q;
    /* The classes come from the pool (--classes; without one, every class). */
    const int npool = ds->pool ? ds->npool : ds->nclasses;
    /* mp_dataset_load has established these (M <= classes, K+Q <= smallest class). */
    assert(M <= npool && K + Q <= (ds->pool ? ds->pool_smallest : ds->smallest_class));

    /* One scratch buffer, large enough for the class ids and for any class's images. */
    int largest = largest_class(ds);
    int *scratch = mp_malloc(sizeof *scratch * (size_t)(largest > ds->nclasses ? largest : ds->nclasses));

    for (int c = 0; c < npool; c++) scratch[c] = ds->pool ? ds->pool[c] : c;
    partial_shuffle(rng, scratch, npool, M);
    memcpy(task->classes, scratch, sizeof *scratch * (size_t)M);

    for (int i = 0; i < M; i++) {
        int c = task->classes[i];
        int start = ds->class_start[c], size = ds->class_start[c + 1] - start;
        memcpy(scratch, ds->class_images + start, sizeof *scratch * (size_t)size);
        partial_shuffle(rng, scratch, size, K + Q);
        memcpy(task->train + (size_t)i * K, scratch, sizeof *scratch * (size_t)K);
        memcpy(task->query + (size_t)i * Q, scratch + K, sizeof *scratch * (size_t)Q);
    }

    mp_rng_shuffle_int(rng, task->train, M * K);
    free(scratch);
}
