/* One sweep over a matrix's rows that applies a low-rank update and then takes
 * matrix-vector products with the updated rows, so the matrix is read and written
 * once instead of once per operation (the weights, not the arithmetic, are the cost). */
#ifndef METAPLAST_FUSED_H
#define METAPLAST_FUSED_H

#include "real.h"

#define FUSED_MAX 4

typedef struct {
    int n_update;                   /* M += sum_g scale * u[g] v[g]^T (u: rows, v: cols) */
    real scale;
    const real *u[FUSED_MAX], *v[FUSED_MAX];
    int n_right;                    /* then y_right[k] += M x_right[k] (x: cols, y: rows) */
    const real *x_right[FUSED_MAX];
    real *y_right[FUSED_MAX];
    int n_left;                     /* and y_left[k] += M^T x_left[k] (x: rows, y: cols) */
    const real *x_left[FUSED_MAX];
    real *y_left[FUSED_MAX];
} fused_ops;

void MP_SFX(fused_sweep)(real *M, int rows, int cols, const fused_ops *op);
#define fused_sweep MP_SFX(fused_sweep)

#endif
