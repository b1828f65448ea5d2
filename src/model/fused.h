/* One sweep over a matrix's rows that takes several matrix-vector products at once,
 * so the matrix is read once instead of once per product (the weights, not the
 * arithmetic, are the cost). */
#ifndef METAPLAST_FUSED_H
#define METAPLAST_FUSED_H

#include "sys/worker.h"
#include "model/real.h"

#define FUSED_MAX 4

typedef struct {
    int n_right;                    /* y_right[k] += M x_right[k] (x: cols, y: rows) */
    const real *x_right[FUSED_MAX];
    real *y_right[FUSED_MAX];
    int n_left;                     /* y_left[k] += M^T x_left[k] (x: rows, y: cols) */
    const real *x_left[FUSED_MAX];
    real *y_left[FUSED_MAX];
} fused_ops;

void fused_sweep(const real *M, int rows, int cols, const fused_ops *op);

/* Matrices of at least this many weights (the input layer's) are swept in two halves of
 * rows, one on the worker thread: each core then streams half of the matrix. */
#define FUSED_SPLIT_MIN 65536

typedef struct {
    mp_worker *worker;              /* NULL: the same two halves, one after the other */
    real *partial[FUSED_MAX];       /* the second half's left products (cols_max each) */
    int cols_max;
} fused_split;

void fused_split_init(fused_split *sp, mp_worker *worker, int cols_max);
void fused_split_free(fused_split *sp);
/* fused_sweep, split in two halves of rows when the matrix is large (and sp is not
 * NULL: small matrices need no split work space). A left product
 * sums the halves' contributions in a fixed order, so the result does not depend on
 * whether a worker exists. */
void fused_sweep_split(const fused_split *sp, const real *M, int rows, int cols, const fused_ops *op);
/* fused_sweep_split in two calls, so that the caller can work between them while the
 * worker sweeps its half: begin sweeps the caller's half (or, unsplit, everything);
 * until end returns, op's outputs are incomplete. Work done between them must not
 * touch op's right outputs. */
typedef struct {
    const fused_split *sp; /* NULL: nothing was split */
    const real *M;
    int rows, cols, half;  /* part 0: rows [0, half), part 1: [half, rows) */
    const fused_ops *op;
} fused_split_job;
void fused_split_begin(fused_split_job *job, const fused_split *sp, const real *M, int rows, int cols,
                               const fused_ops *op);
void fused_split_end(const fused_split_job *job);
/* 1 when fused_sweep_split splits a matrix of this shape. */
int fused_is_split(int rows, int cols);

/* Adds a right product y += M x to op; a left product y += M^T x. */
void fused_right(fused_ops *op, const real *x, real *y);
void fused_left(fused_ops *op, const real *x, real *y);

#endif
