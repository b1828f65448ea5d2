/* Network kernels on raw arrays: forward pass, softplus, softmax + cross-entropy,
 * error signals through the feedback matrices. */
#include <tgmath.h>

#include "metaplast/core.h"
#include "real.h"

void MP_SFX(mp_linear_forward)(const real *W, const real *y, real *z, int n_out, int n_in) {
    cblas_xgemv(CblasRowMajor, CblasNoTrans, n_out, n_in, 1, W, n_in, y, 1, 0, z, 1);
}

void MP_SFX(mp_softplus)(const real *z, real *y, int n) {
    const real beta = (real)MP_SOFTPLUS_BETA;
    for (int i = 0; i < n; i++) {
        real bz = beta * z[i];
        y[i] = bz > (real)MP_SOFTPLUS_THRESHOLD ? z[i] : log1p(exp(bz)) / beta;
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

void MP_SFX(mp_error_backward)(const real *B, const real *e_out, const real *s_in, real *e_in, real *h, int n_out,
                               int n_in) {
    real *hv = h ? h : e_in;
    cblas_xgemv(CblasRowMajor, CblasTrans, n_out, n_in, 1, B, n_in, e_out, 1, 0, hv, 1);
    for (int j = 0; j < n_in; j++) e_in[j] = hv[j] * s_in[j];
}
