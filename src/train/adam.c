#include "train/adam.h"

#include <math.h>
#include <string.h>

void mp_adam_init(mp_adam *adam, double lr) {
    memset(adam, 0, sizeof *adam);
    adam->lr = lr;
    adam->beta1 = 0.9;
    adam->beta2 = 0.999;
    adam->eps = 1e-8;
}

void mp_adam_step(mp_adam *adam, double *theta, const double *grad) {
    adam->step++;
    double c1 = 1 - pow(adam->beta1, (double)adam->step);
    double c2 = 1 - pow(adam->beta2, (double)adam->step);
    for (int k = 0; k < MP_THETAS; k++) {
        adam->m[k] = adam->beta1 * adam->m[k] + (1 - adam->beta1) * grad[k];
        adam->v[k] = adam->beta2 * adam->v[k] + (1 - adam->beta2) * grad[k] * grad[k];
        /* torch's form: lr / c1 * m / (sqrt(v) / sqrt(c2) + eps) */
        theta[k] -= adam->lr / c1 * adam->m[k] / (sqrt(adam->v[k]) / sqrt(c2) + adam->eps);
    }
}
