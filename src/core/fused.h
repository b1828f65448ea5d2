/* One sweep over a matrix's rows that takes several matrix-vector products at once,
 * so the matrix is read once instead of once per product (the weights, not the
 * arithmetic, are the cost). */
#ifndef METAPLAST_FUSED_H
#define METAPLAST_FUSED_H

#include "real.h"

#define FUSED_MAX 4

typedef struct {
    int n_right;                    /* y_right[k] += M x_right[k] (x: cols, y: rows) */
    const real *x_right[FUSED_MAX];
    real *y_right[FUSED_MAX];
    int n_left;                     /* y_left[k] += M^T x_left[k] (x: rows, y: cols) */
    const real *x_left[FUSED_MAX];
    real *y_left[FUSED_MAX];
} fused_ops;

void MP_SFX(fused_sweep)(const real *M, int rows, int cols, const fused_ops *op);
#define fused_sweep MP_SFX(fused_sweep)

/* Adds a right product y += M x to op; a left product y += M^T x. */
void MP_SFX(fused_right)(fused_ops *op, const real *x, real *y);
void MP_SFX(fused_left)(fused_ops *op, const real *x, real *y);
#define fused_right MP_SFX(fused_right)
#define fused_left MP_SFX(fused_left)

#endif
