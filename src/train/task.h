/* A task: M distinct classes, K training and Q query images of each, disjoint. */
#ifndef METAPLAST_TASK_H
#define METAPLAST_TASK_H

#include "metaplast/data.h"
#include "metaplast/rng.h"

typedef struct {
    int M, K, Q;
    int *classes;     /* M distinct class ids */
    int *train;       /* M*K image indices, shuffled (the order of the online steps) */
    int *query;       /* M*Q image indices, class by class */
} mp_task;

void mp_task_init(mp_task *task, int M, int K, int Q);
void mp_task_free(mp_task *task);
/* Draws a task from ds using rng: classes, then each class's K+Q images, then the shuffle. */
void mp_task_draw(mp_task *task, const mp_dataset *ds, mp_rng *rng);

#endif
