#include "model/lowrank.h"

#include <stdlib.h>
#include <string.h>

#include "metaplast/util.h"

void lowrank_init(lowrank *m, real *base, int rows, int cols, int cap, const fused_split *split) {
    m->base = base;
    m->split = split;
    m->rows = rows, m->cols = cols;
    m->n = 0, m->cap = cap;
    m->U = mp_malloc((size_t)cap * (size_t)rows * sizeof(real));
    m->V = mp_malloc((size_t)cap * (size_t)cols * sizeof(real));
    m->coef = mp_malloc(2 * FUSED_MAX * (size_t)cap * sizeof(real)); /* per product */
}

void lowrank_free(lowrank *m) { free(m->U), free(m->V), free(m->coef); }

/* base += U^T V on rows [first, first + count) */
static void add_queue(const lowrank *m, int first, int count) {
    cblas_xgemm(CblasRowMajor, CblasTrans, CblasNoTrans, count, m->cols, m->n, 1, m->U + first, m->rows, m->V,
                m->cols, 1, m->base + (size_t)first * (size_t)m->cols, m->cols);
}

static void add_queue_part(void *arg, int part) {
    const lowrank *m = arg;
    int half = m->rows / 2;
    if (part == 0)
        add_queue(m, 0, half);
    else
        add_queue(m, half, m->rows - half);
}

void lowrank_flush(lowrank *m) {
    if (m->n > 0) {
        if (m->split && fused_is_split(m->rows, m->cols))
            mp_worker_split(m->split->worker, add_queue_part, m); /* rows are independent */
        else
            add_queue(m, 0, m->rows);
    }
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

void lowrank_products(lowrank *m, const fused_ops *op) { lowrank_products_split(m, op, m->split); }

void lowrank_products_split(lowrank *m, const fused_ops *op, const fused_split *split) {
    fused_split_job job;
    fused_split_begin(&job, split, m->base, m->rows, m->cols, op);
    if (m->n == 0) {
        fused_split_end(&job);
        return;
    }
    /* M x = base x + U^T (V x) and M^T x = base^T x + V^T (U x), with U and V (n rows
     * each) swept like any matrix: three small sweeps instead of two BLAS calls per
     * product, whose call overhead dominated at these sizes. The first two run while the
     * worker sweeps its half of the base (they add to left outputs only, which the worker
     * does not touch); the third adds to the right outputs, after it. */
    fused_ops on_u = {0}, on_v = {0}, back_u = {0};
    for (int k = 0; k < op->n_left; k++) {
        real *d = m->coef + (size_t)k * (size_t)m->cap;
        memset(d, 0, (size_t)m->n * sizeof(real));
        fused_right(&on_u, op->x_left[k], d);
        fused_left(&on_v, d, op->y_left[k]);
    }
    for (int k = 0; k < op->n_right; k++) {
        real *c = m->coef + (size_t)(FUSED_MAX + k) * (size_t)m->cap;
        memset(c, 0, (size_t)m->n * sizeof(real));
        fused_right(&on_v, op->x_right[k], c);
        fused_left(&back_u, c, op->y_right[k]);
    }
    fused_sweep(m->U, m->n, m->rows, &on_u);
    fused_sweep(m->V, m->n, m->cols, &on_v);
    fused_split_end(&job);
    fused_sweep(m->U, m->n, m->rows, &back_u);
}
