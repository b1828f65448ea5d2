/* What the episode's three files share: the episode's struct, the stored signals of a
 * step, and the functions one file calls in another (episode.c runs an episode; Gram
 * mode is episode_gram.c; the statistics are episode_stats.c). Private to src/model. */
#ifndef METAPLAST_MODEL_EPISODE_INTERNAL_H
#define METAPLAST_MODEL_EPISODE_INTERNAL_H

#include <stddef.h>

#include "model/core.h"
#include "model/fused.h"
#include "model/lowrank.h"
#include "model/real.h"
#include "model/rules.h"

#define L MP_LAYERS

typedef struct {
    real *right[MP_RULE_COUNT], *q[MP_RULE_COUNT], *combined[MP_LEFT_KINDS], *w[MP_LEFT_KINDS], *u[MP_LEFT_KINDS];
} adjoint_scratch;

struct episode_struct {
    mp_arch arch;
    int T_max, NQ_max, n_max;
    size_t woff[L + 2];
    real *W, *Wbar;
    const real *B; /* the caller's B0 during a run (fix mode; never written) */
    /* for finite-difference checks of sym mode: per-step feedback (T weight sets) */
    real *B_steps;
    int record_B_steps;
    int e_lo;   /* lowest layer whose error signal is kept: 0 when a term needs e0 */
    int need_v; /* some term needs v_l = W_l^T y_l (Oja, term 5) */
    int need_g; /* some term needs g_l = W_l^T e_l (terms 7, 8) */
    int need_a; /* some term needs a_l = W_l e_{l-1} (term 9) */
    /* Gram mode (see the top): the inputs' Gram matrix X X^T (T x T), per step the base
     * product W1_0 x_t (forward) or dL/dW1_T x_t (reverse), the update's left vector
     * d_t and the adjoint of z1_t (T x n1 each), the query-input products Xq X^T */
    int gram;
    real *gram_xx, *gram_base, *gram_d, *gram_zbar, *gram_qx;
    real *W_stats; /* Gram mode: W_T for the statistics, which the worker computes */
    mp_job background; /* the caller's job for the worker, for this run */
    void *background_arg;
    /* trajectory: per step, the offsets of y_l, e_l, h_l = B_{l+1}^T e_{l+1},
     * s_l = 1 - exp(-beta y_l), v_l, g_l and a_l */
    real *traj;
    size_t stride, off_y[L + 1], off_e[L + 1], off_h[L + 1], off_s[L + 1], off_v[L + 1], off_g[L + 1],
        off_a[L + 1];
    lowrank Wq[L + 1], Wbar_q[L + 1]; /* W_l and dL/dW_l as base + queued terms */
    fused_split split;                /* large matrices: halves for the worker thread */
    /* the current run */
    const real *x_step; /* inputs, for y_0 of each step */
    int T;              /* steps of the run */
    const double *theta;
    int unwound[L + 1]; /* reverse sweep: W_l already unwound to this step */
    /* per-step scratch */
    real *z, *ybar[L + 1], *ebar[L + 1], *vbar[L + 1], *gbar[L + 1], *abar[L + 1], *zbar[L + 1], *hbar;
    real *ones; /* n_max ones: the broadcast terms' factor */
    /* the rank-one adjoints' scratch: adj[0] for the caller's thread, adj[1] for the
     * input layer's on the worker, which also adds its left adjoints into ebar1_w, ybar1_w */
    adjoint_scratch adj[2];
    real *ebar1_w, *ybar1_w;
    /* the weight updates' scratch (step_right, like adj[].right: for right factors that
     * are computed, not stored) */
    real *step_right[MP_RULE_COUNT], *step_combined[MP_LEFT_KINDS];
    /* query batch: Y[l] is NQ x n_l (Y[0] is the input), Y[L] the softmax rows,
     * S[l] = 1 - exp(-beta Y[l]) */
    real *Y[L + 1], *S[L], *Zbar, *Ybar, *Etmp[2], *Wtmp[2], *D, *F;
    real *memory; /* every array above, in one allocation (see scratch_layout) */
};


/* The dense feedback matrix of layer l at step t (t = -1: after the last step), when it
 * is not W itself (fix mode, or the per-step feedback of a check). */
static inline const real *fixed_B(const episode *ep, int t, int l) {
    if (ep->B_steps && !ep->record_B_steps && t >= 0)
        return ep->B_steps + (size_t)t * ep->woff[L + 1] + ep->woff[l];
    return ep->B + ep->woff[l];
}

static inline int term_on(const episode *ep, int k) { return (int)(ep->arch.terms >> k & 1u); }

/* The stored signals of one step, seen from one layer. */

typedef struct {
    const real *y_in, *y, *e_in, *e; /* y_{l-1}, y_l, e_{l-1}, e_l */
    const real *v, *g, *a;           /* W_l^T y_l, W_l^T e_l, W_l e_{l-1} (W_l before the step) */
    const real *ones;
    int n_in, n_out;
} layer_signals;

static inline real *step_vec(const episode *ep, int t, size_t off) {
    return ep->traj + (size_t)t * ep->stride + off;
}

static inline layer_signals signals_at(const episode *ep, int t, int l) {
    layer_signals s;
    s.n_in = ep->arch.n[l - 1];
    s.n_out = ep->arch.n[l];
    s.y_in = l == 1 ? ep->x_step + (size_t)t * (size_t)ep->arch.n[0] : step_vec(ep, t, ep->off_y[l - 1]);
    s.y = step_vec(ep, t, ep->off_y[l]);
    s.e_in = l - 1 >= ep->e_lo ? step_vec(ep, t, ep->off_e[l - 1]) : NULL;
    s.e = step_vec(ep, t, ep->off_e[l]);
    s.v = ep->need_v ? step_vec(ep, t, ep->off_v[l]) : NULL;
    s.g = ep->need_g ? step_vec(ep, t, ep->off_g[l]) : NULL;
    s.a = ep->need_a ? step_vec(ep, t, ep->off_a[l]) : NULL;
    s.ones = ep->ones;
    return s;
}

static inline const real *left_factor(const layer_signals *s, int kind) {
    switch (kind) {
    case MP_LEFT_E: return s->e;
    case MP_LEFT_Y: return s->y;
    case MP_LEFT_ONES: return s->ones;
    default: return s->a; /* MP_LEFT_W_E_IN */
    }
}

/* ---- Gram mode (episode_gram.c) ------------------------------------------------------ */

/* Step t's update of W1 is d_t x_t^T: stores d_t = sum_k sign_k theta_k left_k. */
void gram_update_vector(episode *ep, int t);
/* z = W1_t x_t, from W1_0 x_t and the earlier steps' d_s (x_s . x_t). */
void gram_forward_product(const episode *ep, int t, real *z);
/* q = dL/dW1_{t+1} x_t, from dL/dW1_T x_t and the later steps' adjoints. */
void gram_reverse_product(const episode *ep, int t, real *q);
/* Before the steps: X X^T and W1_0 X^T (with a worker, one each). */
void gram_start(episode *ep);
/* After the steps: W1_T = W1_0 + sum_t d_t x_t^T, dense, for the query. */
void gram_finish(episode *ep);
/* After the query's backward pass (layer-1 adjoints Zq, NQ x n1): the reverse sweep's
 * base products dL/dW1_T x_t = Zq^T (Xq x_t). */
void gram_reverse_start(episode *ep, const real *xq, int NQ, const real *Zq);

/* ---- the statistics (episode_stats.c) ------------------------------------------------ */

/* E1 and the angles between FA (through B) and BP (through W) query-mean error signals,
 * for the adapted weights W, into out. */
void query_statistics(episode *ep, const real *W, const real *xq, const int *yq, int NQ, mp_episode_out *out);

/* query_statistics as the worker's job (part 1), from ep->W_stats. */
typedef struct {
    episode *ep;
    const real *xq;
    const int *yq;
    int NQ;
    mp_episode_out *out;
} stats_job;
void stats_part(void *arg, int part);

#endif
