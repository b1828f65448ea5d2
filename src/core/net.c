/* Elementwise network kernels: softplus, softmax + cross-entropy, the factor of the
 * error signals. (The matrix products are fused.c's and lowrank.c's.) */
#include <tgmath.h>

#include "metaplast/core.h"
#include "real.h"

void MP_SFX(mp_softplus)(const real *z, real *y, real *s, int n) {
    const real beta = (real)MP_SOFTPLUS_BETA;
    for (int i = 0; i < n; i++) {
        real bz = beta * z[i];
        if (bz > (real)MP_SOFTPLUS_THRESHOLD) {
            y[i] = z[i];
            s[i] = -expm1(-bz);
            continue;
        }
        /* 1 - exp(-beta y) with y = log1p(e) / beta is e / (1 + e): the exp already
         * taken serves both, and there is no cancellation for small y */
        real e = exp(bz);
        y[i] = log1p(e) / beta;
        s[i] = e / (1 + e);
    }
}

double MP_SFX(mp_softmax_xent)(const real *z, real *p, int n, int label) {
    real zmax = z[0];
    for (int i = 1; i < n; i++)
        if (z[i] > zmax) zmax = z[i];
    double sum = 0;
    for (int i = 0; i < n; i++) sum += exp((double)(z[i] - zmax));
    double log_sum = log(sum);
    double xent = log_sum - (double)(z[label] - zmax); /* before p overwrites z (p may be z) */
    for (int i = 0; i < n; i++) p[i] = (real)exp((double)(z[i] - zmax) - log_sum);
    return xent;
}

void MP_SFX(mp_feedback_slope)(const real *y, real *s, int n) {
    const real beta = (real)MP_SOFTPLUS_BETA;
    for (int j = 0; j < n; j++) s[j] = -expm1(-beta * y[j]);
}
