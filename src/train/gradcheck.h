/* Central finite differences of the episode loss against the analytic dL/dtheta, in double. */
#ifndef METAPLAST_GRADCHECK_H
#define METAPLAST_GRADCHECK_H

#include "model/core.h"

/* Relative error |analytic - numeric| / max(|analytic|, |numeric|, 1e-2 of the largest
 * |analytic| of the episode's thetas in use): finite differences resolve a component only
 * to the loss's rounding over their step, which a component a thousand times smaller
 * than the others would not survive. */
#define MP_GRADCHECK_TOLERANCE 1e-6

typedef struct {
    int theta;        /* which theta */
    double analytic;  /* dL/dtheta by the reverse sweep */
    double numeric;   /* central differences, Richardson-extrapolated */
    double rel_error;
} mp_gradcheck_row;

/* Checks every theta whose term is on in arch; fills rows (MP_THETAS at most), returns
 * their number, and the worst relative error in *worst. Returns -1 if an episode diverged. */
int mp_gradcheck(const mp_arch *arch, const mp_episode_inputs_f64 *in, mp_gradcheck_row *rows, double *worst);

#endif
