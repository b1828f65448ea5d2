/* Adam on theta (Kingma & Ba), as torch.optim.Adam: bias-corrected, no weight decay. */
#ifndef METAPLAST_ADAM_H
#define METAPLAST_ADAM_H

#include "metaplast/record.h"

typedef struct {
    double lr, beta1, beta2, eps;
    double m[MP_THETAS], v[MP_THETAS]; /* first and second moments */
    long step;                          /* steps taken */
} mp_adam;

void mp_adam_init(mp_adam *adam, double lr);
void mp_adam_step(mp_adam *adam, double *theta, const double *grad);

#endif
