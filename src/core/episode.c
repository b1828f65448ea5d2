/* One episode: online plasticity steps, the query loss, and the exact meta-gradient
 * dL/dtheta by reverse mode through all T steps.
 *
 * Reverse mode needs W_t at every step. Instead of storing T weight sets, each step
 * stores only its vectors (activations, error signals, W^T y for Oja); the backward
 * sweep unwinds W_{t+1} -> W_t by subtracting that step's rank-one updates, which are
 * functions of the stored vectors alone. Memory grows with T by vectors only.
 *
 * W and dL/dW change by rank one or two at every step, forward and backward: both are
 * held as a dense base plus queued rank-one terms (lowrank.h), so a step reads each
 * matrix once and the updates reach the base in blocks.
 *
 * The input layer is three quarters of the weights. When every term's right factor
 * there is the input itself (no eHebb, no Oja: the default rule, in fix or sym mode),
 * W1_t = W1_0 + sum_{s<t} d_s x_s^T, so W1_t x_t = W1_0 x_t + sum_{s<t} d_s (x_s . x_t):
 * one matrix product with W1_0 and the inputs' Gram matrix replace every step's pass
 * over W1, and the same holds for dL/dW1 in the reverse sweep ("Gram mode"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h>

#include "metaplast/core.h"
#include "metaplast/rules.h"
#include "metaplast/util.h"
#include "fused.h"
#include "lowrank.h"
#include "real.h"

/* Rank-one terms queued before a matrix-matrix product adds them to the weights. A
 * longer queue makes that product cheaper per term but every product with the matrix
 * dearer; on small matrices the latter weighs more (measured: 16 beats 32 below the
 * input layer's size, 32 beats 16 and 64 there). */
static int queue_capacity(int rows, int cols) { return (long)rows * cols >= FUSED_SPLIT_MIN ? 32 : 16; }

#define L MP_LAYERS

typedef struct MP_SFX(mp_episode) episode;

typedef struct {
    real *right[MP_RULE_COUNT], *q[MP_RULE_COUNT], *combined[MP_LEFT_KINDS], *w[MP_LEFT_KINDS], *u[MP_LEFT_KINDS];
} adjoint_scratch;

struct MP_SFX(mp_episode) {
    mp_arch arch;
    int T_max, NQ_max, n_max;
    size_t woff[L + 2];
    real *W, *Wbar;
    const real *B; /* the caller's B0 during a run (fix mode; never written) */
    /* for finite-difference checks of sym mode: per-step feedback (T weight sets) */
    real *B_steps;
    int record_B_steps;
    int e_lo;   /* lowest layer whose error signal is kept: 0 when a term needs e0 */
    int need_v; /* some term needs v_l = W_l^T y_l */
    /* Gram mode (see the top): the inputs' Gram matrix X X^T (T x T), per step the base
     * product W1_0 x_t (forward) or dL/dW1_T x_t (reverse), the update's left vector
     * d_t and the adjoint of z1_t (T x n1 each), the query-input products Xq X^T */
    int gram;
    real *gram_xx, *gram_base, *gram_d, *gram_zbar, *gram_qx;
    real *W_stats; /* Gram mode: W_T for the statistics, which the worker computes */
    mp_job background; /* the caller's job for the worker, for this run */
    void *background_arg;
    /* trajectory: per step, the offsets of y_l, e_l, h_l = B_{l+1}^T e_{l+1},
     * s_l = 1 - exp(-beta y_l) and v_l */
    real *traj;
    size_t stride, off_y[L + 1], off_e[L + 1], off_h[L + 1], off_s[L + 1], off_v[L + 1];
    lowrank Wq[L + 1], Wbar_q[L + 1]; /* W_l and dL/dW_l as base + queued terms */
    fused_split split;                /* large matrices: halves for the worker thread */
    /* the current run */
    const real *x_step; /* inputs, for y_0 of each step */
    int T;              /* steps of the run */
    const double *theta;
    int unwound[L + 1]; /* reverse sweep: W_l already unwound to this step */
    /* per-step scratch */
    real *z, *ybar[L + 1], *ebar[L + 1], *vbar[L + 1], *zbar[L + 1], *hbar;
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
};

/* The dense feedback matrix of layer l at step t (t = -1: after the last step), when it
 * is not W itself (fix mode, or the per-step feedback of a check). */
static const real *fixed_B(const episode *ep, int t, int l) {
    if (ep->B_steps && !ep->record_B_steps && t >= 0)
        return ep->B_steps + (size_t)t * ep->woff[L + 1] + ep->woff[l];
    return ep->B + ep->woff[l];
}

static int term_on(const episode *ep, int k) { return (int)(ep->arch.terms >> k & 1u); }

episode *MP_SFX(mp_episode_new)(const mp_arch *arch, int T_max, int NQ_max) {
    episode *ep = mp_calloc(1, sizeof *ep);
    ep->arch = *arch;
    ep->T_max = T_max;
    ep->NQ_max = NQ_max;
    for (int l = 0; l <= L; l++)
        if (arch->n[l] > ep->n_max) ep->n_max = arch->n[l];
    for (int l = 1; l <= L + 1; l++) ep->woff[l] = mp_arch_offset(arch, l);
    size_t nw = mp_arch_weight_count(arch);
    ep->W = mp_malloc(nw * sizeof(real));
    ep->Wbar = mp_malloc(nw * sizeof(real));
    fused_split_init(&ep->split, NULL, ep->n_max);
    for (int l = 1; l <= L; l++) {
        int rows = arch->n[l], cols = arch->n[l - 1], cap = queue_capacity(rows, cols);
        lowrank_init(&ep->Wq[l], ep->W + ep->woff[l], rows, cols, cap, &ep->split);
        lowrank_init(&ep->Wbar_q[l], ep->Wbar + ep->woff[l], rows, cols, cap, &ep->split);
    }

    ep->e_lo = mp_arch_uses_right(arch, MP_RIGHT_E_IN) ? 0 : 1;
    ep->need_v = mp_arch_uses_right(arch, MP_RIGHT_OJA_RESIDUAL);
    ep->gram = T_max <= MP_GRAM_T_MAX;
    for (int k = 0; k < MP_RULE_COUNT; k++)
        if (term_on(ep, k) && mp_rule_pool[k].right != MP_RIGHT_Y_IN) ep->gram = 0;
    if (ep->gram) {
        size_t T = (size_t)(T_max > 0 ? T_max : 1), n1 = (size_t)arch->n[1];
        ep->gram_xx = mp_malloc(T * T * sizeof(real));
        ep->gram_base = mp_malloc(T * n1 * sizeof(real));
        ep->gram_d = mp_malloc(T * n1 * sizeof(real));
        ep->gram_zbar = mp_malloc(T * n1 * sizeof(real));
        ep->gram_qx = mp_malloc((size_t)(NQ_max > 0 ? NQ_max : 1) * T * sizeof(real));
        ep->W_stats = mp_malloc(nw * sizeof(real));
    }
    size_t off = 0;
    for (int l = 1; l <= L; l++) ep->off_y[l] = off, off += (size_t)arch->n[l];
    for (int l = ep->e_lo; l <= L; l++) ep->off_e[l] = off, off += (size_t)arch->n[l];
    for (int l = ep->e_lo; l < L; l++) ep->off_h[l] = off, off += (size_t)arch->n[l];
    for (int l = ep->e_lo; l < L; l++) ep->off_s[l] = off, off += (size_t)arch->n[l];
    if (ep->need_v)
        for (int l = 1; l <= L; l++) ep->off_v[l] = off, off += (size_t)arch->n[l - 1];
    ep->stride = off;
    ep->traj = mp_malloc((size_t)(T_max > 0 ? T_max : 1) * off * sizeof(real));

    size_t nm = (size_t)ep->n_max;
    ep->z = mp_malloc(nm * sizeof(real));
    ep->hbar = mp_malloc(nm * sizeof(real));
    for (int l = 0; l <= L; l++) {
        ep->ybar[l] = mp_malloc(nm * sizeof(real));
        ep->ebar[l] = mp_malloc(nm * sizeof(real));
        ep->vbar[l] = mp_malloc(nm * sizeof(real));
        ep->zbar[l] = mp_malloc(nm * sizeof(real));
    }
    for (int a = 0; a < 2; a++) {
        adjoint_scratch *sc = &ep->adj[a];
        for (int k = 0; k < MP_RULE_COUNT; k++) {
            sc->right[k] = mp_malloc(nm * sizeof(real));
            sc->q[k] = mp_malloc(nm * sizeof(real));
        }
        for (int g = 0; g < MP_LEFT_KINDS; g++) {
            sc->combined[g] = mp_malloc(nm * sizeof(real));
            sc->w[g] = mp_malloc(nm * sizeof(real));
            sc->u[g] = mp_malloc(nm * sizeof(real));
        }
    }
    ep->ebar1_w = mp_malloc((size_t)arch->n[1] * sizeof(real));
    ep->ybar1_w = mp_malloc((size_t)arch->n[1] * sizeof(real));
    for (int k = 0; k < MP_RULE_COUNT; k++) ep->step_right[k] = mp_malloc(nm * sizeof(real));
    for (int g = 0; g < MP_LEFT_KINDS; g++) ep->step_combined[g] = mp_malloc(nm * sizeof(real));
    size_t nq = (size_t)(NQ_max > 0 ? NQ_max : 1);
    for (int l = 1; l <= L; l++) ep->Y[l] = mp_malloc(nq * (size_t)arch->n[l] * sizeof(real));
    for (int l = 0; l < L; l++) ep->S[l] = mp_malloc(nq * (size_t)arch->n[l] * sizeof(real));
    ep->Zbar = mp_malloc(nq * nm * sizeof(real));
    ep->Ybar = mp_malloc(nq * nm * sizeof(real));
    for (int i = 0; i < 2; i++) {
        ep->Etmp[i] = mp_malloc(nq * nm * sizeof(real));
        ep->Wtmp[i] = mp_malloc(nq * nm * sizeof(real));
    }
    ep->D = mp_malloc(nq * nm * sizeof(real));
    ep->F = mp_malloc(nq * nm * sizeof(real));
    return ep;
}

void MP_SFX(mp_episode_free)(episode *ep) {
    if (!ep) return;
    free(ep->W), free(ep->Wbar), free(ep->traj);
    free(ep->gram_xx), free(ep->gram_base), free(ep->gram_d), free(ep->gram_zbar), free(ep->gram_qx);
    free(ep->W_stats);
    free(ep->z), free(ep->hbar);
    for (int l = 0; l <= L; l++) free(ep->ybar[l]), free(ep->ebar[l]), free(ep->vbar[l]), free(ep->zbar[l]);
    for (int l = 1; l <= L; l++) lowrank_free(&ep->Wq[l]), lowrank_free(&ep->Wbar_q[l]);
    fused_split_free(&ep->split);
    for (int a = 0; a < 2; a++) {
        adjoint_scratch *sc = &ep->adj[a];
        for (int k = 0; k < MP_RULE_COUNT; k++) free(sc->right[k]), free(sc->q[k]);
        for (int g = 0; g < MP_LEFT_KINDS; g++) free(sc->combined[g]), free(sc->w[g]), free(sc->u[g]);
    }
    free(ep->ebar1_w), free(ep->ybar1_w);
    for (int k = 0; k < MP_RULE_COUNT; k++) free(ep->step_right[k]);
    for (int g = 0; g < MP_LEFT_KINDS; g++) free(ep->step_combined[g]);
    for (int l = 1; l <= L; l++) free(ep->Y[l]);
    for (int l = 0; l < L; l++) free(ep->S[l]);
    free(ep->Zbar), free(ep->Ybar), free(ep->D), free(ep->F);
    for (int i = 0; i < 2; i++) free(ep->Etmp[i]), free(ep->Wtmp[i]);
    free(ep);
}

void MP_SFX(mp_episode_set_worker)(episode *ep, mp_worker *worker) { ep->split.worker = worker; }

void MP_SFX(mp_episode_set_background)(episode *ep, mp_job job, void *arg) {
    ep->background = job;
    ep->background_arg = arg;
}

/* Hands the caller's job to the worker, at a moment the run does not need it. */
static void submit_background(episode *ep) {
    if (!ep->background) return;
    mp_worker_submit(ep->split.worker, ep->background, ep->background_arg);
    ep->background = NULL;
}

const real *MP_SFX(mp_episode_weights)(const episode *ep) { return ep->W; }

void MP_SFX(mp_episode_feedback_steps)(episode *ep, real *B_steps, int record) {
    ep->B_steps = B_steps;
    ep->record_B_steps = record;
}

/* ---- the stored signals of one step, seen from one layer ---------------------- */

typedef struct {
    const real *y_in, *y, *e_in, *e, *v; /* y_{l-1}, y_l, e_{l-1}, e_l, W_l^T y_l */
    int n_in, n_out;
} layer_signals;

static real *step_vec(const episode *ep, int t, size_t off) {
    return ep->traj + (size_t)t * ep->stride + off;
}

static layer_signals signals_at(const episode *ep, int t, int l) {
    layer_signals s;
    s.n_in = ep->arch.n[l - 1];
    s.n_out = ep->arch.n[l];
    s.y_in = l == 1 ? ep->x_step + (size_t)t * (size_t)ep->arch.n[0] : step_vec(ep, t, ep->off_y[l - 1]);
    s.y = step_vec(ep, t, ep->off_y[l]);
    s.e_in = l - 1 >= ep->e_lo ? step_vec(ep, t, ep->off_e[l - 1]) : NULL;
    s.e = step_vec(ep, t, ep->off_e[l]);
    s.v = ep->need_v ? step_vec(ep, t, ep->off_v[l]) : NULL;
    return s;
}

static const real *left_factor(const layer_signals *s, int kind) {
    return kind == MP_LEFT_E ? s->e : s->y;
}

/* A right factor: the stored signal itself, or (Oja's residual) computed into scratch. */
static const real *right_factor(const layer_signals *s, int kind, real *scratch) {
    switch (kind) {
    case MP_RIGHT_Y_IN: return s->y_in;
    case MP_RIGHT_E_IN: return s->e_in;
    default: /* MP_RIGHT_OJA_RESIDUAL */
        for (int j = 0; j < s->n_in; j++) scratch[j] = s->y_in[j] - s->v[j];
        return scratch;
    }
}

/* Does the right factor depend on the weights (so its adjoint must be propagated)?
 * y_0 is the input: at layer 1 a pure y_in factor is a constant. */
static int right_is_live(int kind, int l) { return !(kind == MP_RIGHT_Y_IN && l == 1); }

/* Adds scale * rbar, the adjoint of a right factor, to the adjoints of its signals. */
static void right_adjoint(episode *ep, int kind, int l, const real *rbar, real scale, int n_in) {
    real *ybar_in = l > 1 ? ep->ybar[l - 1] : NULL;
    switch (kind) {
    case MP_RIGHT_Y_IN:
        if (ybar_in) cblas_xaxpy(n_in, scale, rbar, 1, ybar_in, 1);
        break;
    case MP_RIGHT_E_IN: cblas_xaxpy(n_in, scale, rbar, 1, ep->ebar[l - 1], 1); break;
    case MP_RIGHT_OJA_RESIDUAL:
        if (ybar_in) cblas_xaxpy(n_in, scale, rbar, 1, ybar_in, 1);
        cblas_xaxpy(n_in, -scale, rbar, 1, ep->vbar[l], 1);
        break;
    }
}

/* Builds each term's right factor (into right, with scratch space per term), and per
 * left factor kind the combined right vector sum_k sign_k theta_k right_k, so that the
 * step's update of W_l is the sum over kinds of left combined^T (rank <= 2 whatever the
 * number of terms). Returns a bit mask of the kinds in use. */
static unsigned combine_terms(const episode *ep, const layer_signals *s, const double *theta, real *const *scratch,
                              const real **right, real *const *combined) {
    unsigned used = 0;
    for (int k = 0; k < MP_RULE_COUNT; k++) {
        if (!term_on(ep, k)) continue;
        const mp_rule_term *term = &mp_rule_pool[k];
        const real c = (real)(term->sign * theta[k]);
        real *out = combined[term->left];
        right[k] = right_factor(s, term->right, scratch[k]);
        if (used >> term->left & 1u)
            cblas_xaxpy(s->n_in, c, right[k], 1, out, 1);
        else
            for (int j = 0; j < s->n_in; j++) out[j] = c * right[k][j];
        used |= 1u << term->left;
    }
    return used;
}

/* ---- forward: one plasticity step ------------------------------------------------ */

/* dy/dz of y = softplus(z), given y and s = 1 - exp(-beta y): sigmoid(beta z) = s,
 * except on torch's linear branch where it is 1. */
static real softplus_slope(real y, real s) {
    return (real)MP_SOFTPLUS_BETA * y > (real)MP_SOFTPLUS_THRESHOLD ? 1 : s;
}

/* Queues step t's update of W_l (sign +1), or its unwinding (sign -1). A product z
 * += W_l x taken before the update was queued gets the update's share when x is given. */
static void queue_step_update(episode *ep, int t, int l, real sign, const real *x, real *z) {
    layer_signals s = signals_at(ep, t, l);
    const real *right[MP_RULE_COUNT];
    unsigned used = combine_terms(ep, &s, ep->theta, ep->step_right, right, ep->step_combined);
    for (int g = 0; g < MP_LEFT_KINDS; g++) {
        if (!(used >> g & 1u)) continue;
        lowrank_add(&ep->Wq[l], sign, left_factor(&s, g), ep->step_combined[g]);
        if (x) cblas_xaxpy(s.n_out, sign * cblas_xdot(s.n_in, ep->step_combined[g], 1, x, 1), left_factor(&s, g), 1, z, 1);
    }
}

/* y += B_l^T x (left) or y += B_l x (right) with the feedback of step t: W_l itself in
 * sym mode, a fixed matrix otherwise. */
static void feedback_product(episode *ep, int t, int l, int left, const real *x, real *y) {
    fused_ops op = {0};
    if (left)
        fused_left(&op, x, y);
    else
        fused_right(&op, x, y);
    if (ep->arch.sym)
        lowrank_products(&ep->Wq[l], &op);
    else
        fused_sweep_split(&ep->split, fixed_B(ep, t, l), ep->arch.n[l], ep->arch.n[l - 1], &op);
}

/* ---- Gram mode: the input layer without passes over W1 or dL/dW1 ------------------ */

/* Step t's update of W1 is d_t x_t^T, d_t = sum_k sign_k theta_k left_k. */
static void gram_update_vector(episode *ep, int t) {
    const int n1 = ep->arch.n[1];
    layer_signals s = signals_at(ep, t, 1);
    real *d = ep->gram_d + (size_t)t * (size_t)n1;
    memset(d, 0, (size_t)n1 * sizeof(real));
    for (int k = 0; k < MP_RULE_COUNT; k++)
        if (term_on(ep, k))
            cblas_xaxpy(n1, (real)(mp_rule_pool[k].sign * ep->theta[k]), left_factor(&s, mp_rule_pool[k].left), 1, d, 1);
}

/* The sums over earlier (forward) or later (reverse) steps come in blocks of steps: at a
 * block's first step, one matrix product adds every step outside the block to the base
 * products of all the block's steps; each step then sums only over its own block. This
 * reads the stored vectors once per block instead of once per step. */
enum { GRAM_BLOCK = 32 };

/* z = W1_t x_t = W1_0 x_t + sum_{s<t} d_s (x_s . x_t) */
static void gram_forward_product(const episode *ep, int t, real *z) {
    const int n1 = ep->arch.n[1], T = ep->T, t0 = t / GRAM_BLOCK * GRAM_BLOCK;
    const real *xx = ep->gram_xx;
    real *base = ep->gram_base;
    if (t == t0 && t0 > 0) {
        int rows = T - t0 < GRAM_BLOCK ? T - t0 : GRAM_BLOCK;
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n1, t0, 1, xx + (size_t)t0 * T, T, ep->gram_d,
                    n1, 1, base + (size_t)t0 * n1, n1);
    }
    memcpy(z, base + (size_t)t * n1, (size_t)n1 * sizeof(real));
    if (t > t0)
        cblas_xgemv(CblasRowMajor, CblasTrans, t - t0, n1, 1, ep->gram_d + (size_t)t0 * n1, n1,
                    xx + (size_t)t * T + t0, 1, 1, z, 1);
}

/* q = dL/dW1_{t+1} x_t = dL/dW1_T x_t + sum_{s>t} zbar1_s (x_s . x_t) */
static void gram_reverse_product(const episode *ep, int t, real *q) {
    const int n1 = ep->arch.n[1], T = ep->T, t0 = t / GRAM_BLOCK * GRAM_BLOCK;
    const int t_end = T - t0 < GRAM_BLOCK ? T : t0 + GRAM_BLOCK, later = t_end - 1 - t;
    const real *xx = ep->gram_xx;
    real *base = ep->gram_base;
    if (t == t_end - 1 && t_end < T)
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t_end - t0, n1, T - t_end, 1,
                    xx + (size_t)t0 * T + t_end, T, ep->gram_zbar + (size_t)t_end * n1, n1, 1,
                    base + (size_t)t0 * n1, n1);
    memcpy(q, base + (size_t)t * n1, (size_t)n1 * sizeof(real));
    if (later > 0)
        cblas_xgemv(CblasRowMajor, CblasTrans, later, n1, 1, ep->gram_zbar + (size_t)(t + 1) * n1, n1,
                    xx + (size_t)t * T + t + 1, 1, 1, q, 1);
}

/* Before the steps: X X^T (both triangles) and W1_0 x_t for every step, two matrix
 * products independent of each other (with a worker thread, one each). */
static void gram_start_part(void *arg, int part) {
    episode *ep = arg;
    const int T = ep->T, n0 = ep->arch.n[0], n1 = ep->arch.n[1];
    if (part == 0) {
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n1, n0, 1, ep->x_step, n0, ep->W + ep->woff[1], n0,
                    0, ep->gram_base, n1);
        return;
    }
    cblas_xsyrk(CblasRowMajor, CblasLower, CblasNoTrans, T, n0, 1, ep->x_step, n0, 0, ep->gram_xx, T);
    for (int i = 0; i < T; i++)
        for (int j = i + 1; j < T; j++) ep->gram_xx[(size_t)i * T + j] = ep->gram_xx[(size_t)j * T + i];
}

static void gram_start(episode *ep) { mp_worker_split(ep->split.worker, gram_start_part, ep); }

/* After the steps: W1_T = W1_0 + sum_t d_t x_t^T, dense, for the query; in two halves of
 * rows (one on the worker). */
static void gram_finish_part(void *arg, int part) {
    episode *ep = arg;
    const int n0 = ep->arch.n[0], n1 = ep->arch.n[1], half = n1 / 2;
    const int first = part ? half : 0, rows = part ? n1 - half : half;
    cblas_xgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, n0, ep->T, 1, ep->gram_d + first, n1, ep->x_step, n0,
                1, ep->W + ep->woff[1] + (size_t)first * n0, n0);
}

static void gram_finish(episode *ep) { mp_worker_split(ep->split.worker, gram_finish_part, ep); }

/* After the query's backward pass, whose layer-1 adjoints Zq (NQ x n1) would give
 * dL/dW1_T = Zq^T Xq: the reverse sweep's base products dL/dW1_T x_t = Zq^T (Xq x_t). */
static void gram_reverse_start(episode *ep, const real *xq, int NQ, const real *Zq) {
    const int T = ep->T, n0 = ep->arch.n[0], n1 = ep->arch.n[1];
    cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasTrans, NQ, T, n0, 1, xq, n0, ep->x_step, n0, 0, ep->gram_qx, T);
    cblas_xgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, n1, NQ, 1, ep->gram_qx, T, Zq, n1, 0, ep->gram_base, n1);
}

/* Oja's v_l = W_l^T y_l needs y_l, so step t's update of W_l cannot be formed until
 * W_l has been read once more; that read is step t+1's forward product, which takes v_l
 * of step t in the same sweep: step t's update is queued there (or by finish_step). */
static void plasticity_step(episode *ep, int t, int label) {
    const int *n = ep->arch.n;
    const real *x = ep->x_step + (size_t)t * (size_t)n[0];
    /* every signal is computed with the weights of step t, before any changes */
    for (int l = 1; l <= L; l++) {
        const real *y_in = l == 1 ? x : step_vec(ep, t, ep->off_y[l - 1]);
        real *y = step_vec(ep, t, ep->off_y[l]);
        if (l == 1 && ep->gram) {
            if (t > 0) gram_update_vector(ep, t - 1);
            gram_forward_product(ep, t, ep->z);
        } else {
            fused_ops op = {0};
            memset(ep->z, 0, (size_t)n[l] * sizeof(real));
            fused_right(&op, y_in, ep->z);
            if (t > 0 && ep->need_v) {
                real *v_prev = step_vec(ep, t - 1, ep->off_v[l]);
                memset(v_prev, 0, (size_t)n[l - 1] * sizeof(real));
                fused_left(&op, step_vec(ep, t - 1, ep->off_y[l]), v_prev);
            }
            lowrank_products(&ep->Wq[l], &op);
            if (t > 0) queue_step_update(ep, t - 1, l, 1, y_in, ep->z);
        }
        /* a check's record of B_t = W_t, for the layers whose feedback is used */
        if (ep->B_steps && ep->record_B_steps && l > ep->e_lo) {
            lowrank_flush(&ep->Wq[l]);
            memcpy(ep->B_steps + (size_t)t * ep->woff[L + 1] + ep->woff[l], ep->W + ep->woff[l],
                   (ep->woff[l + 1] - ep->woff[l]) * sizeof(real));
        }
        if (l < L)
            MP_SFX(mp_softplus)(ep->z, y, step_vec(ep, t, ep->off_s[l]), n[l]);
        else
            MP_SFX(mp_softmax_xent)(ep->z, y, n[l], label);
    }
    real *e5 = step_vec(ep, t, ep->off_e[L]);
    memcpy(e5, step_vec(ep, t, ep->off_y[L]), (size_t)n[L] * sizeof(real));
    e5[label] -= 1;
    for (int l = L - 1; l >= ep->e_lo; l--) { /* e_l = (B_{l+1}^T e_{l+1}) * s_l */
        real *h = step_vec(ep, t, ep->off_h[l]), *sl = step_vec(ep, t, ep->off_s[l]), *e = step_vec(ep, t, ep->off_e[l]);
        if (l == 0) MP_SFX(mp_feedback_slope)(x, sl, n[0]); /* layers above got theirs from softplus */
        memset(h, 0, (size_t)n[l] * sizeof(real));
        feedback_product(ep, t, l + 1, 1, step_vec(ep, t, ep->off_e[l + 1]), h);
        for (int j = 0; j < n[l]; j++) e[j] = h[j] * sl[j];
    }
}

/* The last step's update, which no next step queues: its own read for v, then the queue. */
static void finish_step(episode *ep, int t) {
    const int *n = ep->arch.n;
    for (int l = 1; l <= L; l++) {
        if (ep->need_v) {
            real *v = step_vec(ep, t, ep->off_v[l]);
            fused_ops op = {0};
            memset(v, 0, (size_t)n[l - 1] * sizeof(real));
            fused_left(&op, step_vec(ep, t, ep->off_y[l]), v);
            lowrank_products(&ep->Wq[l], &op);
        }
        if (l == 1 && ep->gram)
            gram_update_vector(ep, t);
        else
            queue_step_update(ep, t, l, 1, NULL, NULL);
    }
}

/* ---- backward: one step of the reverse sweep -------------------------------------- */

/* W_l as it was at step t: the first time step t reads layer l, its update is unwound.
 * Layers the reverse sweep never reads (W_1, unless Oja or sym's e0 need it) are never
 * unwound. */
static lowrank *W_at_step(episode *ep, int t, int l) {
    if (!ep->unwound[l]) {
        queue_step_update(ep, t, l, -1, NULL, NULL);
        ep->unwound[l] = 1;
    }
    return &ep->Wq[l];
}

/* Step t, layer l: the adjoints of the update's rank-one factors, from G = Wbar_{t+1}.
 * Per left-factor kind g, the update is left_g combined_g^T: left_g's adjoint (added to
 * left_bar[g]) is G combined_g, and when some right factor depends on the weights,
 * w_g = G^T left_g gives both the right factors' adjoints and dL/dtheta_k = sign_k
 * <w_g, right_k>: two products per kind, however many terms share it. Otherwise one
 * product per term, q_k = G right_k, gives dL/dtheta_k = sign_k <left_g, q_k> (so W1's
 * pseudo-gradient needs only one). */
static void rank_one_adjoints(episode *ep, int t, int l, const adjoint_scratch *sc, const fused_split *split,
                              real *const *left_bar, double *grad) {
    const int *n = ep->arch.n;
    const double *theta = ep->theta;
    layer_signals s = signals_at(ep, t, l);
    const real *right[MP_RULE_COUNT];
    unsigned used = combine_terms(ep, &s, theta, sc->right, right, sc->combined);
    int need_w[MP_LEFT_KINDS] = {0};
    fused_ops op = {0};
    for (int g = 0; g < MP_LEFT_KINDS; g++) {
        if (!(used >> g & 1u)) continue;
        for (int k = 0; k < MP_RULE_COUNT; k++)
            need_w[g] |= term_on(ep, k) && mp_rule_pool[k].left == g && right_is_live(mp_rule_pool[k].right, l);
        if (need_w[g]) {
            memset(sc->w[g], 0, (size_t)n[l - 1] * sizeof(real));
            memset(sc->u[g], 0, (size_t)n[l] * sizeof(real));
            fused_left(&op, left_factor(&s, g), sc->w[g]);
            fused_right(&op, sc->combined[g], sc->u[g]);
            continue;
        }
        for (int k = 0; k < MP_RULE_COUNT; k++)
            if (term_on(ep, k) && mp_rule_pool[k].left == g) {
                memset(sc->q[k], 0, (size_t)n[l] * sizeof(real));
                fused_right(&op, right[k], sc->q[k]);
            }
    }
    if (l == 1 && ep->gram) { /* every product is dL/dW1_{t+1} x_t */
        for (int k = 0; k < op.n_right; k++)
            if (k == 0)
                gram_reverse_product(ep, t, op.y_right[0]);
            else
                memcpy(op.y_right[k], op.y_right[0], (size_t)n[1] * sizeof(real));
    } else {
        lowrank_products_split(&ep->Wbar_q[l], &op, split);
    }
    for (int g = 0; g < MP_LEFT_KINDS; g++) {
        if (!(used >> g & 1u)) continue;
        if (need_w[g]) cblas_xaxpy(n[l], 1, sc->u[g], 1, left_bar[g], 1);
        for (int k = 0; k < MP_RULE_COUNT; k++) {
            if (!term_on(ep, k) || mp_rule_pool[k].left != g) continue;
            const mp_rule_term *term = &mp_rule_pool[k];
            real scale = (real)(term->sign * theta[k]);
            if (!need_w[g]) {
                grad[k] += term->sign * (double)cblas_xdot(n[l], left_factor(&s, g), 1, sc->q[k], 1);
                cblas_xaxpy(n[l], scale, sc->q[k], 1, left_bar[g], 1);
                continue;
            }
            grad[k] += term->sign * (double)cblas_xdot(n[l - 1], sc->w[g], 1, right[k], 1);
            if (right_is_live(term->right, l)) right_adjoint(ep, term->right, l, sc->w[g], scale, n[l - 1]);
        }
    }
}

/* v_l = W_l^T y_l: its adjoint reaches y_l through W_t, and W_l. */
static void v_adjoint(episode *ep, int t, int l) {
    if (!ep->need_v) return;
    fused_ops ov = {0};
    fused_right(&ov, ep->vbar[l], ep->ybar[l]);
    lowrank_products(W_at_step(ep, t, l), &ov);
    lowrank_add(&ep->Wbar_q[l], 1, step_vec(ep, t, ep->off_y[l]), ep->vbar[l]);
}

/* The input layer's rank-one adjoints as a worker's job: its own scratch, its left
 * adjoints into ebar1_w and ybar1_w (the caller's layer 2 adds to ebar1 and ybar1
 * meanwhile), its dL/dtheta into its own sums; W1's products unsplit (this is the
 * worker). Its right adjoints go to ebar0 and vbar1, which no other layer touches. */
typedef struct {
    episode *ep;
    int t;
    double *grad;
} layer1_job;

static void layer1_part(void *arg, int part) {
    const layer1_job *j = arg;
    if (part != 1) return;
    real *left_bar[MP_LEFT_KINDS] = {[MP_LEFT_E] = j->ep->ebar1_w, [MP_LEFT_Y] = j->ep->ybar1_w};
    rank_one_adjoints(j->ep, j->t, 1, &j->ep->adj[1], NULL, left_bar, j->grad);
}

/* On entry W = W_{t+1} (the layers the sweep reads) and Wbar = dL/dW_{t+1}; on exit
 * the same one step earlier. dL/dtheta gets this step's contribution in grad. */
static void reverse_step(episode *ep, int t, double *grad) {
    const int *n = ep->arch.n;
    const real beta = (real)MP_SOFTPLUS_BETA;
    for (int l = 0; l <= L; l++) {
        memset(ep->ybar[l], 0, (size_t)n[l] * sizeof(real));
        memset(ep->ebar[l], 0, (size_t)n[l] * sizeof(real));
        if (ep->need_v && l > 0) memset(ep->vbar[l], 0, (size_t)n[l - 1] * sizeof(real));
        ep->unwound[l] = 0;
    }
    /* 1. adjoints of the rank-one factors, layer by layer (rank_one_adjoints); the input
     * layer's, the largest, on the worker while this thread does the others */
    int layer1_apart = !ep->gram && fused_is_split(n[1], n[0]);
    double grad1[MP_THETAS] = {0};
    layer1_job job = {ep, t, grad1};
    if (layer1_apart) {
        memset(ep->ebar1_w, 0, (size_t)n[1] * sizeof(real));
        memset(ep->ybar1_w, 0, (size_t)n[1] * sizeof(real));
        mp_worker_submit(ep->split.worker, layer1_part, &job);
    }
    for (int l = layer1_apart ? 2 : 1; l <= L; l++) {
        real *left_bar[MP_LEFT_KINDS] = {[MP_LEFT_E] = ep->ebar[l], [MP_LEFT_Y] = ep->ybar[l]};
        rank_one_adjoints(ep, t, l, &ep->adj[0], ep->Wbar_q[l].split, left_bar, grad);
        v_adjoint(ep, t, l);
    }
    if (layer1_apart) {
        mp_worker_wait(ep->split.worker);
        for (int j = 0; j < n[1]; j++) ep->ebar[1][j] += ep->ebar1_w[j], ep->ybar[1][j] += ep->ybar1_w[j];
        for (int k = 0; k < MP_THETAS; k++) grad[k] += grad1[k];
        v_adjoint(ep, t, 1);
    }
    /* 2. error chain, bottom up: e_l = h_l * s_l, h_l = B_{l+1}^T e_{l+1}; B constant */
    for (int l = ep->e_lo; l < L; l++) {
        const real *h = step_vec(ep, t, ep->off_h[l]), *sl = step_vec(ep, t, ep->off_s[l]);
        for (int j = 0; j < n[l]; j++) {
            ep->hbar[j] = ep->ebar[l][j] * sl[j];
            if (l > 0) ep->ybar[l][j] += ep->ebar[l][j] * h[j] * beta * (1 - sl[j]); /* ds/dy */
        }
        if (ep->arch.sym) W_at_step(ep, t, l + 1);
        feedback_product(ep, t, l + 1, 0, ep->hbar, ep->ebar[l + 1]);
    }
    /* 3. e5 = p - onehot and y5 = p: through the softmax to z5 */
    const real *p = step_vec(ep, t, ep->off_y[L]);
    real *pbar = ep->ybar[L];
    cblas_xaxpy(n[L], 1, ep->ebar[L], 1, pbar, 1);
    double pp = 0;
    for (int i = 0; i < n[L]; i++) pp += (double)(p[i] * pbar[i]);
    for (int i = 0; i < n[L]; i++) ep->zbar[L][i] = p[i] * (pbar[i] - (real)pp);
    /* 4. forward chain, top down: z_l = W_l y_{l-1} */
    for (int l = L; l >= 1; l--) {
        layer_signals s = signals_at(ep, t, l);
        if (l > 1) {
            const real *s_in = step_vec(ep, t, ep->off_s[l - 1]);
            fused_ops op = {0};
            fused_left(&op, ep->zbar[l], ep->ybar[l - 1]);
            lowrank_products(W_at_step(ep, t, l), &op);
            for (int j = 0; j < n[l - 1]; j++)
                ep->zbar[l - 1][j] = ep->ybar[l - 1][j] * softplus_slope(s.y_in[j], s_in[j]);
        }
        if (l == 1 && ep->gram)
            memcpy(ep->gram_zbar + (size_t)t * (size_t)n[1], ep->zbar[1], (size_t)n[1] * sizeof(real));
        else
            lowrank_add(&ep->Wbar_q[l], 1, ep->zbar[l], s.y_in);
    }
}

/* ---- the query set --------------------------------------------------------------- */

/* Batch forward of the queries through W; returns the summed cross-entropy. */
static double query_forward(episode *ep, const real *xq, const int *yq, int NQ, int *correct) {
    const int *n = ep->arch.n;
    double xent = 0;
    *correct = 0;
    for (int l = 1; l <= L; l++) {
        const real *Yin = l == 1 ? xq : ep->Y[l - 1];
        real *Z = ep->Y[l];
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasTrans, NQ, n[l], n[l - 1], 1, Yin, n[l - 1],
                    ep->W + ep->woff[l], n[l - 1], 0, Z, n[l]);
        for (int q = 0; q < NQ; q++) {
            real *row = Z + (size_t)q * (size_t)n[l];
            if (l < L) {
                MP_SFX(mp_softplus)(row, row, ep->S[l] + (size_t)q * (size_t)n[l], n[l]);
                continue;
            }
            int best = 0;
            for (int i = 1; i < n[l]; i++)
                if (row[i] > row[best]) best = i;
            *correct += best == yq[q];
            xent += MP_SFX(mp_softmax_xent)(row, row, n[l], yq[q]);
        }
    }
    return xent;
}

/* dL/dW_T of the mean cross-entropy (true backprop through W) into Wbar. */
static void query_backward(episode *ep, const real *xq, const int *yq, int NQ) {
    const int *n = ep->arch.n;
    real *Zbar = ep->Zbar;
    for (int q = 0; q < NQ; q++)
        for (int i = 0; i < n[L]; i++)
            Zbar[(size_t)q * n[L] + i] = (ep->Y[L][(size_t)q * n[L] + i] - (i == yq[q])) / (real)NQ;
    for (int l = L; l >= 1; l--) {
        const real *Yin = l == 1 ? xq : ep->Y[l - 1];
        if (l == 1 && ep->gram) {
            if (ep->T > 0) gram_reverse_start(ep, xq, NQ, Zbar);
            break;
        }
        cblas_xgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n[l], n[l - 1], NQ, 1, Zbar, n[l], Yin, n[l - 1], 0,
                    ep->Wbar + ep->woff[l], n[l - 1]);
        if (l == 1) break;
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NQ, n[l - 1], n[l], 1, Zbar, n[l],
                    ep->W + ep->woff[l], n[l - 1], 0, ep->Ybar, n[l - 1]);
        for (size_t i = 0; i < (size_t)NQ * (size_t)n[l - 1]; i++)
            Zbar[i] = ep->Ybar[i] * softplus_slope(Yin[i], ep->S[l - 1][i]);
    }
}

static double angle_degrees(const real *a, const real *b, int n, int NQ) {
    /* angle between the query means of two NQ x n matrices */
    double dot = 0, na = 0, nb = 0;
    for (int j = 0; j < n; j++) {
        double ma = 0, mb = 0;
        for (int q = 0; q < NQ; q++) ma += (double)a[(size_t)q * n + j], mb += (double)b[(size_t)q * n + j];
        dot += ma * mb, na += ma * ma, nb += mb * mb;
    }
    double c = dot / sqrt(na * nb); /* exactly 1 for identical vectors (sym) */
    if (c != c) return 0; /* NaN (a zero mean) becomes 0 */
    return acos(c > 1 ? 1 : c < -1 ? -1 : c) * 180.0 / 3.14159265358979323846;
}

/* E1 and the angles between FA (through B) and BP (through W) query-mean error signals,
 * for the adapted weights W. */
static void query_statistics(episode *ep, const real *W, const real *xq, const int *yq, int NQ, mp_episode_out *out) {
    const int *n = ep->arch.n;
    for (int l = 1; l <= L; l++) {
        const real *Yin = l == 1 ? xq : ep->Y[l - 1];
        const real *Wl = W + ep->woff[l];
        memcpy(ep->D, Yin, (size_t)NQ * n[l - 1] * sizeof(real));
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NQ, n[l - 1], n[l], -1, ep->Y[l], n[l], Wl,
                    n[l - 1], 1, ep->D, n[l - 1]);
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasTrans, NQ, n[l], n[l - 1], 1, ep->D, n[l - 1], Wl, n[l - 1], 0,
                    ep->F, n[l]);
        double e1 = 0;
        for (size_t i = 0; i < (size_t)NQ * n[l]; i++) e1 += (double)ep->F[i] * (double)ep->F[i];
        out->E1[l - 1] = e1;
    }
    real *EB = ep->Etmp[0], *EW = ep->Wtmp[0];
    for (int q = 0; q < NQ; q++)
        for (int i = 0; i < n[L]; i++) {
            size_t k = (size_t)q * n[L] + i;
            EB[k] = EW[k] = ep->Y[L][k] - (i == yq[q]);
        }
    out->angle[L] = 0;
    MP_SFX(mp_feedback_slope)(xq, ep->S[0], NQ * n[0]);
    for (int l = L - 1, cur = 0; l >= 0; l--, cur ^= 1) {
        real *nb = ep->Etmp[cur ^ 1], *nw = ep->Wtmp[cur ^ 1];
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NQ, n[l], n[l + 1], 1, ep->Etmp[cur], n[l + 1],
                    ep->arch.sym ? W + ep->woff[l + 1] : fixed_B(ep, -1, l + 1), n[l], 0, nb, n[l]);
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NQ, n[l], n[l + 1], 1, ep->Wtmp[cur], n[l + 1],
                    W + ep->woff[l + 1], n[l], 0, nw, n[l]);
        for (size_t i = 0; i < (size_t)NQ * n[l]; i++) nb[i] *= ep->S[l][i], nw[i] *= ep->S[l][i];
        out->angle[l] = angle_degrees(nb, nw, n[l], NQ);
    }
}

typedef struct {
    episode *ep;
    const real *xq;
    const int *yq;
    int NQ;
    mp_episode_out *out;
} stats_job;

static void stats_part(void *arg, int part) {
    const stats_job *j = arg;
    if (part == 1) query_statistics(j->ep, j->ep->W_stats, j->xq, j->yq, j->NQ, j->out);
}

static int all_finite(const real *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

int MP_SFX(mp_episode_run)(episode *ep, const real *W0, const real *B0, const double *theta, double lamb,
                           const real *x_train, const int *y_train, int T, const real *x_query,
                           const int *y_query, int NQ, unsigned flags, mp_episode_out *out) {
    size_t nw = mp_arch_weight_count(&ep->arch);
    memset(out, 0, sizeof *out);
    memcpy(ep->W, W0, nw * sizeof(real));
    ep->B = ep->arch.sym ? NULL : B0;
    if (T > ep->T_max || NQ > ep->NQ_max) { /* a caller's bug, never a silently shorter episode */
        fprintf(stderr, "metaplast: mp_episode_run: %d steps and %d queries exceed the work space (%d, %d)\n", T, NQ,
                ep->T_max, ep->NQ_max);
        abort();
    }
    ep->x_step = x_train;
    ep->T = T;
    ep->theta = theta;
    for (int l = 1; l <= L; l++) lowrank_clear(&ep->Wq[l]), lowrank_clear(&ep->Wbar_q[l]);

    /* the worker, when there is one, has the caller's background job while this run
     * does not need it: during the steps in Gram mode (they share nothing), else during
     * the query's forward pass and statistics */
    int gram = ep->gram && T > 0;
    if (gram) gram_start(ep);
    if (gram) submit_background(ep);
    for (int t = 0; t < T; t++) plasticity_step(ep, t, y_train[t]);
    if (T > 0) finish_step(ep, T - 1);
    submit_background(ep);
    if (gram) gram_finish(ep);
    for (int l = 1; l <= L; l++) lowrank_flush(&ep->Wq[l]); /* the query reads W_T dense */

    int correct = 0;
    double xent = query_forward(ep, x_query, y_query, NQ, &correct);
    double l1 = 0;
    for (int k = 0; k < MP_THETAS; k++) l1 += fabs(theta[k]);
    out->loss = xent / NQ + lamb * l1;
    out->accuracy = (double)correct / NQ;
    for (int l = 1; l <= L; l++) {
        double sum = 0;
        for (size_t i = ep->woff[l]; i < ep->woff[l + 1]; i++) sum += (double)ep->W[i];
        out->sum_W[l - 1] = sum;
    }
    int finite = isfinite(out->loss) && all_finite(ep->W, nw);
    /* in Gram mode the reverse sweep shares nothing with the worker: it computes the
     * statistics meanwhile, from a copy of W_T (the sweep unwinds W in place) */
    stats_job stats = {ep, x_query, y_query, NQ, out};
    if (finite && (flags & MP_EPISODE_STATS) && gram && ep->split.worker) {
        memcpy(ep->W_stats, ep->W, nw * sizeof(real));
        mp_worker_submit(ep->split.worker, stats_part, &stats);
    } else if (finite && (flags & MP_EPISODE_STATS)) {
        query_statistics(ep, ep->W, x_query, y_query, NQ, out);
    }

    for (int k = 0; k < MP_THETAS; k++) out->grad[k] = lamb * (theta[k] > 0 ? 1 : theta[k] < 0 ? -1 : 0);
    if (finite && (flags & MP_EPISODE_GRAD)) {
        double g[MP_THETAS] = {0};
        query_backward(ep, x_query, y_query, NQ);
        for (int t = T - 1; t >= 0; t--) reverse_step(ep, t, g);
        for (int k = 0; k < MP_THETAS; k++) {
            out->grad[k] += g[k];
            finite &= isfinite(out->grad[k]);
        }
    }
    mp_worker_wait(ep->split.worker); /* the statistics, and a background job */
    return finite ? 0 : -1;
}
