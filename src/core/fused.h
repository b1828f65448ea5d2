/* One sweep over a matrix's rows that takes several matrix-vector products at once,
 * so the matrix is read once instead of once per product (the weights, not the
 * arithmetic, are the cost). */
#ifndef METAPLAST_FUSED_H
#define METAPLAST_FUSED_H

#include "metaplast/worker.h"
#include "real.h"

#define FUSED_MAX 4

/* Column spans [lo, hi) that hold a vector's nonzeros, in whole 32-byte vectors: a
 * product restricted to them skips the other columns. The input images are two-thirds
 * zeros, and so are the input layer's signals that vanish with them. */
typedef struct {
    int n;
    int *bounds; /* lo_0, hi_0, lo_1, hi_1, ... */
} fused_spans;

/* Room for the spans of any vector of len entries. */
void MP_SFX(fused_spans_init)(fused_spans *sp, int len);
void MP_SFX(fused_spans_free)(fused_spans *sp);
/* The spans of x's nonzeros (x of len entries). */
void MP_SFX(fused_spans_of)(fused_spans *sp, const real *x, int len);
#define fused_spans_init MP_SFX(fused_spans_init)
#define fused_spans_free MP_SFX(fused_spans_free)
#define fused_spans_of MP_SFX(fused_spans_of)

typedef struct {
    int n_right;                    /* y_right[k] += M x_right[k] (x: cols, y: rows) */
    const real *x_right[FUSED_MAX];
    real *y_right[FUSED_MAX];
    const fused_spans *on_right[FUSED_MAX]; /* NULL, or x_right[k] is zero off these */
    int n_left;                     /* y_left[k] += M^T x_left[k] (x: rows, y: cols) */
    const real *x_left[FUSED_MAX];
    real *y_left[FUSED_MAX];
    const fused_spans *on_left[FUSED_MAX]; /* NULL, or only these columns of y_left[k]
                                              are wanted (the others may change or not) */
} fused_ops;

void MP_SFX(fused_sweep)(const real *M, int rows, int cols, const fused_ops *op);
#define fused_sweep MP_SFX(fused_sweep)

/* Matrices of at least this many weights (the input layer's) are swept in two halves of
 * rows, one on the worker thread: each core then streams half of the matrix. */
#define FUSED_SPLIT_MIN 65536

typedef struct {
    mp_worker *worker;              /* NULL: the same two halves, one after the other */
    real *partial[FUSED_MAX];       /* the second half's left products (cols_max each) */
    int cols_max;
} fused_split;

void MP_SFX(fused_split_init)(fused_split *sp, mp_worker *worker, int cols_max);
void MP_SFX(fused_split_free)(fused_split *sp);
/* fused_sweep, split in two halves of rows when the matrix is large (and sp is not
 * NULL: small matrices need no split work space). A left product
 * sums the halves' contributions in a fixed order, so the result does not depend on
 * whether a worker exists. */
void MP_SFX(fused_sweep_split)(const fused_split *sp, const real *M, int rows, int cols, const fused_ops *op);
/* 1 when fused_sweep_split splits a matrix of this shape. */
int MP_SFX(fused_is_split)(int rows, int cols);
#define fused_split_init MP_SFX(fused_split_init)
#define fused_split_free MP_SFX(fused_split_free)
#define fused_sweep_split MP_SFX(fused_sweep_split)
#define fused_is_split MP_SFX(fused_is_split)

/* Adds a right product y += M x to op; a left product y += M^T x; restricted to spans
 * when spans is not NULL (see fused_ops). */
void MP_SFX(fused_right)(fused_ops *op, const real *x, real *y);
void MP_SFX(fused_left)(fused_ops *op, const real *x, real *y);
void MP_SFX(fused_right_on)(fused_ops *op, const real *x, real *y, const fused_spans *spans);
void MP_SFX(fused_left_on)(fused_ops *op, const real *x, real *y, const fused_spans *spans);
#define fused_right_on MP_SFX(fused_right_on)
#define fused_left_on MP_SFX(fused_left_on)
#define fused_right MP_SFX(fused_right)
#define fused_left MP_SFX(fused_left)

#endif
