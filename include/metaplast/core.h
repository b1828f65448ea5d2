/* The scientific core (ALGORITHM.md): the network, its error signals, the plasticity
 * rule, one episode's online adaptation, the query loss and the exact meta-gradient
 * dL/dtheta, plus the per-episode statistics.
 *
 * The same code is compiled twice: in float (suffix _f32, what training uses) and in
 * double (suffix _f64, what --gradcheck and the exactness tests use). */
#ifndef METAPLAST_CORE_H
#define METAPLAST_CORE_H

#include <stddef.h>

#include "metaplast/record.h"
#include "metaplast/worker.h"

#define MP_SOFTPLUS_BETA 10.0
#define MP_SOFTPLUS_THRESHOLD 20.0 /* softplus is z itself where beta*z > 20, as torch */

/* When every term's right factor at the input layer is the input (the default rule),
 * an episode object made for at most this many steps keeps the inputs' T x T Gram
 * matrix (1.4 MB in float at the limit) and never sweeps W1; beyond it, W1 is held like
 * the other layers. Both give the same numbers up to rounding. The Gram matrix costs
 * T^2 n0 / 2 multiply-adds: measured (A/B medians, tests/bench/ab.sh), Gram mode is 14%
 * faster at T = 500 and the queued W1 10% faster at T = 750, 16% at T = 1000. */
#define MP_GRAM_T_MAX 600

/* Shape of the network and of its rule: precision independent. */
typedef struct {
    int n[MP_LAYERS + 1]; /* widths n0..n5; W_l is n[l] x n[l-1], row-major, row = output unit */
    int sym;              /* 1: feedback B_l = W_l (backprop); 0: fixed random B (feedback alignment) */
    unsigned terms;       /* mp_rule_mask(): bit k set = term k of the pool is on */
} mp_arch;

/* All weight matrices live in one buffer, W1 first; this is where W_l starts. */
size_t mp_arch_offset(const mp_arch *arch, int layer);
size_t mp_arch_weight_count(const mp_arch *arch);
/* 1 when a term in use has this kind of right factor (rules.h): MP_RIGHT_E_IN needs e0, the
 * error signal at the input (a pass over B1); MP_RIGHT_OJA_RESIDUAL needs W_l^T y_l. */
int mp_arch_uses_right(const mp_arch *arch, int right_kind);

/* What one episode produces. */
typedef struct {
    double loss;                  /* mean cross-entropy on the query set + lamb * sum|theta| */
    double accuracy;              /* fraction of queries with argmax z5 == label */
    double grad[MP_THETAS];       /* dL/dtheta (when asked for) */
    double E1[MP_LAYERS];         /* orthonormality errors (when statistics are asked for) */
    double angle[MP_LAYERS + 1];  /* degrees between FA and BP query-mean error signals */
    double sum_W[MP_LAYERS];      /* sum of each adapted weight matrix (a cheap fingerprint) */
} mp_episode_out;

enum {
    MP_EPISODE_GRAD = 1 << 0,  /* compute dL/dtheta */
    MP_EPISODE_STATS = 1 << 1, /* compute E1 and the angles */
};

#define MP_REAL float
#define MP_SFX(name) name##_f32
#include "metaplast/core_api.inc"
#undef MP_REAL
#undef MP_SFX

#define MP_REAL double
#define MP_SFX(name) name##_f64
#include "metaplast/core_api.inc"
#undef MP_REAL
#undef MP_SFX

#endif
