/* Central finite differences of the episode loss against the analytic dL/dtheta, in double. */
#ifndef METAPLAST_GRADCHECK_H
#define METAPLAST_GRADCHECK_H

#include "metaplast/core.h"

/* Relative error |analytic - numeric| / max(|analytic|, |numeric|, 1e-10). */
#define MP_GRADCHECK_TOLERANCE 1e-6

typedef struct {
    int theta;        /* which theta */
    double analytic;  /* dL/dtheta by the reverse sweep */
    double numeric;   /* central differences, Richardson-extrapolated */
    double rel_error;
} mp_gradcheck_row;

/* Checks every theta whose term is on in arch; fills rows (MP_THETAS at most), returns
 * their number, and the worst relative error in *worst. Returns -1 if an episode diverged. */
int mp_gradcheck(const mp_arch *arch, const double *W0, const double *B0, const double *theta, double lamb,
                 const double *x_train, const int *y_train, int T, const double *x_query, const int *y_query,
                 int NQ, mp_gradcheck_row *rows, double *worst);

#endif
