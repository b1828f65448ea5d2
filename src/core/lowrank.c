#include "lowrank.h"

#include <stdlib.h>
#include <string.h>

#include "metaplast/util.h"

void lowrank_init(lowrank *m, real *base, int rows, int cols, int cap) {
    m->base = base;
    m->rows = rows, m->cols = cols;
    m->n = 0, m->cap = cap;
    m->U = mp_malloc((size_t)cap * (size_t)rows * sizeof(real));
    m->V = mp_malloc((size_t)cap * (size_t)cols * sizeof(real));
    m->coef = mp_malloc((size_t)cap * sizeof(real));
}

void lowrank_free(lowrank *m) { free(m->U), free(m->V), free(m->coef); }

void lowrank_flush(lowrank *m) {
    if (m->n > 0)
        cblas_xgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m->rows, m->cols, m->n, 1, m->U, m->rows, m->V,
                    m->cols, 1, m->base, m->cols);
    m->n = 0;
}

void lowrank_clear(lowrank *m) { m->n = 0; }

void lowrank_add(lowrank *m, real scale, const real *u, const real *v) {
    if (m->n == m->cap) lowrank_flush(m);
    real *up = m->U + (size_t)m->n * (size_t)m->rows;
    for (int i = 0; i < m->rows; i++) up[i] = scale * u[i];
    memcpy(m->V + (size_t)m->n * (size_t)m->cols, v, (size_t)m->cols * sizeof(real));
    m->n++;
}

void lowrank_products(lowrank *m, const fused_ops *op) {
    fused_sweep(m->base, m->rows, m->cols, op);
    if (m->n == 0) return;
    /* M x = base x + U^T (V x);  M^T x = base^T x + V^T (U x) */
    for (int k = 0; k < op->n_right; k++) {
        cblas_xgemv(CblasRowMajor, CblasNoTrans, m->n, m->cols, 1, m->V, m->cols, op->x_right[k], 1, 0, m->coef, 1);
        cblas_xgemv(CblasRowMajor, CblasTrans, m->n, m->rows, 1, m->U, m->rows, m->coef, 1, 1, op->y_right[k], 1);
    }
    for (int k = 0; k < op->n_left; k++) {
        cblas_xgemv(CblasRowMajor, CblasNoTrans, m->n, m->rows, 1, m->U, m->rows, op->x_left[k], 1, 0, m->coef, 1);
        cblas_xgemv(CblasRowMajor, CblasTrans, m->n, m->cols, 1, m->V, m->cols, m->coef, 1, 1, op->y_left[k], 1);
    }
}
