/* A matrix held as a dense base plus queued rank-one terms, M = base + sum_p u_p v_p^T.
 * The plasticity steps change every weight at every step, but by rank one: queueing the
 * terms and adding them to the base a block at a time, with one matrix-matrix product,
 * lets each step read the weights instead of rewriting them. */
#ifndef METAPLAST_LOWRANK_H
#define METAPLAST_LOWRANK_H

#include "model/fused.h"
#include "model/real.h"

typedef struct {
    real *base;      /* rows x cols, row-major (not owned) */
    int rows, cols;
    real *U, *V;     /* queued terms: row p of U is u_p (rows), of V is v_p (cols) */
    int n, cap;
    real *coef;      /* scratch: cap values per product of a sweep */
    const fused_split *split; /* how large bases are shared with the worker (NULL: not) */
} lowrank;

void lowrank_init(lowrank *m, real *base, int rows, int cols, int cap, const fused_split *split);
void lowrank_free(lowrank *m);
/* Queues M += scale * u v^T (adding the queue to the base first when it is full). */
void lowrank_add(lowrank *m, real scale, const real *u, const real *v);
/* Adds the queued terms to the base: afterwards base is M. */
void lowrank_flush(lowrank *m);
/* Forgets the queue: for a base that has just been overwritten. */
void lowrank_clear(lowrank *m);
/* Every product of op with M: one sweep over the base plus the queued terms. */
void lowrank_products(lowrank *m, const fused_ops *op);
/* The same, shared with split's worker instead of m's (NULL: all in the caller). */
void lowrank_products_split(lowrank *m, const fused_ops *op, const fused_split *split);


#endif
