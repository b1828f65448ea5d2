/* Elementwise network kernels: softplus, softmax + cross-entropy, the factor of the
 * error signals. (The matrix products are fused.c's and lowrank.c's.) */
#include <tgmath.h>

#include "model/core.h"
#include "model/real.h"
#include "model/vmath.h"

/* With t = exp(-|beta z|) in (0, 1]: softplus(z) = (max(beta z, 0) + log1p(t)) / beta
 * (no overflow, no cancellation), and 1 - exp(-beta y) = sigmoid(beta z), which is
 * 1 / (1 + t) or t / (1 + t). */
MP_MULTIVERSION
void mp_softplus(const real *z, real *y, real *s, int n) {
    const real beta = (real)MP_SOFTPLUS_BETA;
#pragma omp simd
    for (int i = 0; i < n; i++) {
        real bz = beta * z[i];
        real t = vm_exp(-fabs(bz));
        real soft = ((bz > 0 ? bz : 0) + vm_log1p_unit(t)) / beta;
        s[i] = (bz > 0 ? 1 : t) / (1 + t);
        y[i] = bz > (real)MP_SOFTPLUS_THRESHOLD ? z[i] : soft;
    }
}

double mp_softmax_xent(const real *z, real *p, int n, int label) {
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

MP_MULTIVERSION
void mp_feedback_slope(const real *y, real *s, int n) {
    const real beta = (real)MP_SOFTPLUS_BETA;
#pragma omp simd
    for (int j = 0; j < n; j++) s[j] = -vm_expm1(-beta * y[j]);
}
