/* The scientific core (docs/METHOD.md): the network, its error signals, the plasticity
 * rule, one episode's online adaptation, the query loss and the exact meta-gradient
 * dL/dtheta, plus the per-episode statistics.
 *
 * The same source is compiled twice: in float (suffix _f32, what training uses) and in
 * double (suffix _f64, what --gradcheck and the exactness tests use); both are declared
 * here one after the other, and model/real.h maps the sources' plain names to them. */
#ifndef METAPLAST_MODEL_CORE_H
#define METAPLAST_MODEL_CORE_H

#include <stddef.h>

#include "metaplast/record.h"
#include "sys/worker.h"

#define MP_SOFTPLUS_BETA 10.0
#define MP_SOFTPLUS_THRESHOLD 20.0 /* softplus is z itself where beta*z > 20, as torch */

/* When every term's right factor at the input layer is the input (the default rule),
 * an episode object made for at most this many steps keeps the inputs' T x T Gram
 * matrix (1.4 MB in float at the limit) and never sweeps W1; beyond it, W1 is held like
 * the other layers. Both give the same numbers up to rounding. The Gram matrix costs
 * T^2 n0 / 2 multiply-adds: measured (A/B medians, tests/bench/ab.sh), Gram mode is 14%
 * faster at T = 500 and the queued W1 10% faster at T = 750, 16% at T = 1000. */
#define MP_GRAM_T_MAX 600

/* Where an episode's error signals come from. */
typedef enum {
    MP_FEEDBACK_FIXED = 0,     /* --fbk fix: fixed random matrices B (feedback alignment) */
    MP_FEEDBACK_SYMMETRIC = 1, /* --fbk sym: B_l = W_l, the current weights (backprop) */
} mp_feedback;

/* Shape of the network and of its rule: precision independent. */
typedef struct {
    int n[MP_LAYERS + 1]; /* widths n0..n5; W_l is n[l] x n[l-1], row-major, row = output unit */
    mp_feedback feedback;
    unsigned terms;       /* mp_rule_mask(): bit k set = term k of the pool is on */
} mp_arch;

/* All weight matrices live in one buffer, W1 first; this is where W_l starts. */
size_t mp_arch_offset(const mp_arch *arch, int layer);
size_t mp_arch_weight_count(const mp_arch *arch);
/* 1 when a term in use has this kind of right factor (rules.h): MP_RIGHT_E_IN needs e0, the
 * error signal at the input (a pass over B1); MP_RIGHT_OJA_RESIDUAL and MP_RIGHT_WT_Y need
 * W_l^T y_l, MP_RIGHT_WT_E needs W_l^T e_l. */
int mp_arch_uses_right(const mp_arch *arch, int right_kind);
/* 1 when a term in use has this kind of left factor (MP_LEFT_W_E_IN needs W_l e_{l-1}). */
int mp_arch_uses_left(const mp_arch *arch, int left_kind);

/* What one episode produces. */
typedef struct {
    double loss;                  /* mean cross-entropy on the query set + lamb * sum|theta| */
    double accuracy;              /* fraction of queries with argmax z5 == label */
    double grad[MP_THETAS];       /* dL/dtheta (when asked for) */
    double E1[MP_LAYERS];         /* orthonormality errors (when statistics are asked for) */
    double angle[MP_LAYERS + 1];  /* degrees between FA and BP query-mean error signals */
    double sum_W[MP_LAYERS];      /* sum of each adapted weight matrix (a cheap fingerprint) */
} mp_episode_out;

/* What mp_episode_run computes besides the loss and the accuracy. */
enum {
    MP_EPISODE_GRAD = 1 << 0,  /* dL/dtheta */
    MP_EPISODE_STATS = 1 << 1, /* E1 and the angles */
};

/* For finite-difference checks of symmetric feedback, which holds B = W_t constant. */
typedef enum {
    MP_FEEDBACK_STEPS_RECORD, /* a symmetric run copies each step's W_t into the buffer */
    MP_FEEDBACK_STEPS_REPLAY, /* a fixed run uses the buffer's step t as step t's feedback */
} mp_feedback_steps_mode;

/* ---- the episode, in float (training) and in double (checks) ----------------------- */

/* One episode's inputs: initial weights W0 and feedback B0 (both mp_arch_weight_count
 * long; B0 is not read with symmetric feedback, and is read in place during the run),
 * the rule's coefficients theta (MP_THETAS) and L1 weight lamb, T training samples (x:
 * T rows of n0 inputs in [0, 1], one plasticity step each, in order) and NQ queries. */
typedef struct {
    const float *W0, *B0;
    const double *theta;
    double lamb;
    const float *x_train;
    const int *y_train;
    int T;
    const float *x_query;
    const int *y_query;
    int NQ;
} mp_episode_inputs_f32;

typedef struct {
    const double *W0, *B0;
    const double *theta;
    double lamb;
    const double *x_train;
    const int *y_train;
    int T;
    const double *x_query;
    const int *y_query;
    int NQ;
} mp_episode_inputs_f64;

/* Work space for episodes of one architecture, with room for up to T_max training
 * samples and NQ_max queries. Memory grows with T only by vectors, never by weights. */
typedef struct mp_episode_f32 mp_episode_f32;
typedef struct mp_episode_f64 mp_episode_f64;

mp_episode_f32 *mp_episode_new_f32(const mp_arch *arch, int T_max, int NQ_max);
mp_episode_f64 *mp_episode_new_f64(const mp_arch *arch, int T_max, int NQ_max);
void mp_episode_free_f32(mp_episode_f32 *ep);
void mp_episode_free_f64(mp_episode_f64 *ep);

/* Shares the input layer's matrix products with a worker thread (NULL: none, the
 * default). The numbers are the same either way. The worker must outlive ep's runs. */
void mp_episode_set_worker_f32(mp_episode_f32 *ep, mp_worker *worker);
void mp_episode_set_worker_f64(mp_episode_f64 *ep, mp_worker *worker);

/* A job for the worker to run during the next mp_episode_run, at a moment the run does
 * not need the worker (the trainer draws the next episode meanwhile); the run returns
 * after it is done. Without a worker it runs in the caller, at that moment. */
void mp_episode_set_background_f32(mp_episode_f32 *ep, mp_job job, void *arg);
void mp_episode_set_background_f64(mp_episode_f64 *ep, mp_job job, void *arg);

/* One episode: start from in->W0, apply one plasticity step per training sample in
 * order, then evaluate the query set and, as flags ask, the meta-gradient through all
 * T steps and the statistics. Returns 0, or -1 when the loss, a weight or the gradient
 * is not finite (out is filled as far as it got). */
int mp_episode_run_f32(mp_episode_f32 *ep, const mp_episode_inputs_f32 *in, unsigned flags, mp_episode_out *out);
int mp_episode_run_f64(mp_episode_f64 *ep, const mp_episode_inputs_f64 *in, unsigned flags, mp_episode_out *out);

/* The adapted weights of the last run, valid until the next run and only when it did
 * not compute the gradient (the reverse sweep unwinds them in place). */
const float *mp_episode_weights_f32(const mp_episode_f32 *ep);
const double *mp_episode_weights_f64(const mp_episode_f64 *ep);

/* Per-step feedback for the finite-difference checks of symmetric feedback (T weight
 * sets in B_steps, see mp_feedback_steps_mode); NULL switches it off. */
void mp_episode_feedback_steps_f32(mp_episode_f32 *ep, float *B_steps, mp_feedback_steps_mode mode);
void mp_episode_feedback_steps_f64(mp_episode_f64 *ep, double *B_steps, mp_feedback_steps_mode mode);

/* ---- elementwise kernels on raw arrays (net.c; exposed for the tests) --------------- */

/* y = softplus_beta(z), with torch's linear branch, and s = 1 - exp(-beta y), the
 * factor of the error signals (y may be z). */
void mp_softplus_f32(const float *z, float *y, float *s, int n);
void mp_softplus_f64(const double *z, double *y, double *s, int n);
/* p = softmax(z) (p may be z); returns the cross-entropy -log p[label]. */
double mp_softmax_xent_f32(const float *z, float *p, int n, int label);
double mp_softmax_xent_f64(const double *z, double *p, int n, int label);
/* s = 1 - exp(-beta y) for a y that is not a softplus output (the input layer's). */
void mp_feedback_slope_f32(const float *y, float *s, int n);
void mp_feedback_slope_f64(const double *y, double *s, int n);

#endif
