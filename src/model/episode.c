/* One episode: online plasticity steps, the query loss, and the exact meta-gradient
 * dL/dtheta by reverse mode through all T steps (docs/METHOD.md). One step of the method is plasticity_step (forward:
 * activations, error signals, the rule's rank-one update queued) and reverse_step
 * (its adjoint); mp_episode_run strings them together with the query.
 *
 * Reverse mode needs W_t at every step. Instead of storing T weight sets, each step
 * stores only its vectors (activations, error signals, W^T y for Oja); the backward
 * sweep unwinds W_{t+1} -> W_t by subtracting that step's rank-one updates, which are
 * functions of the stored vectors alone. Memory grows with T by vectors only.
 *
 * W and dL/dW change by rank one or two at every step, forward and backward: both are
 * held as a dense base plus queued rank-one terms (lowrank.h), so a step reads each
 * matrix once and the updates reach the base in blocks. The input layer, three quarters
 * of the weights, has a cheaper form for the default rule: Gram mode (episode_gram.c).
 *
 * The worker thread's timeline across one mp_episode_run (with no worker, the caller
 * runs each of the worker's parts at the same point, so the numbers never depend on it):
 *
 *   Gram mode (episode_gram.c)
 *     start       caller: W1_0 X^T -> gram_base      worker: X X^T -> gram_xx
 *     T steps     caller: layers 2..5, gram_d        worker: the background job (the
 *                                                    trainer's next draw: its own buffers)
 *     finish      caller: rows [0, n1/2) of W1_T     worker: rows [n1/2, n1) of W1_T
 *     query       caller: forward, backward          worker: -
 *     reverse     caller: the sweep (unwinds W)      worker: statistics, from W_stats,
 *                                                    a copy of W_T taken before the sweep
 *   otherwise
 *     T steps     each sweep of a large matrix (W1, dL/dW1, B1) and each flush of its
 *                 queue in two halves of rows, one each (fused.c, lowrank.c); left
 *                 products go to per-half sums (fused_split.partial), added in a fixed
 *                 order; the caller adds queued-term corrections to right outputs only
 *     query       caller: forward, statistics        worker: the background job
 *     reverse     per step, caller: layers 2..5's    worker: layer 1's (layer1_part):
 *                 rank-one adjoints, with adj[0]     adj[1], ebar1_w, ybar1_w, its own
 *                 and ebar/ybar of layers >= 2       dL/dtheta sums; merged after the wait
 *   end           mp_worker_wait: every job done before mp_episode_run returns */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h>

#include "metaplast/util.h"
#include "model/episode_internal.h"

/* Rank-one terms queued before a matrix-matrix product adds them to the weights. A
 * longer queue makes that product cheaper per term but every product with the matrix
 * dearer; on small matrices the latter weighs more (measured: 16 beats 32 below the
 * input layer's size, 32 beats 16 and 64 there). */
static int queue_capacity(int rows, int cols) { return (long)rows * cols >= FUSED_SPLIT_MIN ? 32 : 16; }
/* The episode's arrays, all from one allocation: the table of what each needs (in
 * reals), in the order they are laid out. Returns the number of slots. */
typedef struct {
    real **at;
    size_t count;
} scratch_slot;

enum { MAX_SLOTS = 192 };

static int scratch_layout(episode *ep, scratch_slot *slot) {
    const int *n = ep->arch.n;
    const size_t nw = ep->woff[L + 1], nm = (size_t)ep->n_max, n1 = (size_t)n[1];
    const size_t T = (size_t)(ep->T_max > 0 ? ep->T_max : 1), nq = (size_t)(ep->NQ_max > 0 ? ep->NQ_max : 1);
    int k = 0;
#define SLOT(ptr, cnt) (slot[k].at = &(ptr), slot[k].count = (cnt), k++)
    SLOT(ep->W, nw);
    SLOT(ep->Wbar, nw);
    SLOT(ep->traj, T * ep->stride); /* per step: y_l, e_l, h_l, s_l, v_l */
    if (ep->gram) {
        SLOT(ep->gram_xx, T * T);
        SLOT(ep->gram_base, T * n1);
        SLOT(ep->gram_d, T * n1);
        SLOT(ep->gram_zbar, T * n1);
        SLOT(ep->gram_qx, nq * T);
        SLOT(ep->W_stats, nw);
    }
    /* one step's vectors */
    SLOT(ep->z, nm);
    SLOT(ep->hbar, nm);
    for (int l = 0; l <= L; l++) {
        SLOT(ep->ybar[l], nm);
        SLOT(ep->ebar[l], nm);
        SLOT(ep->vbar[l], nm);
        SLOT(ep->zbar[l], nm);
        if (ep->need_g) SLOT(ep->gbar[l], nm);
        if (ep->need_a) SLOT(ep->abar[l], nm);
    }
    SLOT(ep->ones, nm);
    for (int a = 0; a < 2; a++) {
        adjoint_scratch *sc = &ep->adj[a];
        for (int r = 0; r < MP_RULE_COUNT; r++) SLOT(sc->right[r], nm), SLOT(sc->q[r], nm);
        for (int g = 0; g < MP_LEFT_KINDS; g++) SLOT(sc->combined[g], nm), SLOT(sc->w[g], nm), SLOT(sc->u[g], nm);
    }
    SLOT(ep->ebar1_w, n1);
    SLOT(ep->ybar1_w, n1);
    for (int r = 0; r < MP_RULE_COUNT; r++) SLOT(ep->step_right[r], nm);
    for (int g = 0; g < MP_LEFT_KINDS; g++) SLOT(ep->step_combined[g], nm);
    /* the query batch */
    for (int l = 1; l <= L; l++) SLOT(ep->Y[l], nq * (size_t)n[l]);
    for (int l = 0; l < L; l++) SLOT(ep->S[l], nq * (size_t)n[l]);
    SLOT(ep->Zbar, nq * nm);
    SLOT(ep->Ybar, nq * nm);
    for (int i = 0; i < 2; i++) SLOT(ep->Etmp[i], nq * nm), SLOT(ep->Wtmp[i], nq * nm);
    SLOT(ep->D, nq * nm);
    SLOT(ep->F, nq * nm);
#undef SLOT
    if (k > MAX_SLOTS) abort(); /* a programming error: slot[] has overflowed already */
    return k;
}

/* Each array starts on a 64-byte boundary (a cache line). */
static size_t aligned_count(size_t count) {
    const size_t per_line = 64 / sizeof(real);
    return (count + per_line - 1) / per_line * per_line;
}

episode *mp_episode_new(const mp_arch *arch, int T_max, int NQ_max) {
    episode *ep = mp_calloc(1, sizeof *ep);
    ep->arch = *arch;
    ep->T_max = T_max;
    ep->NQ_max = NQ_max;
    for (int l = 0; l <= L; l++)
        if (arch->n[l] > ep->n_max) ep->n_max = arch->n[l];
    for (int l = 1; l <= L + 1; l++) ep->woff[l] = mp_arch_offset(arch, l);
    ep->e_lo = mp_arch_uses_right(arch, MP_RIGHT_E_IN) || mp_arch_uses_left(arch, MP_LEFT_W_E_IN) ? 0 : 1;
    ep->need_v = mp_arch_uses_right(arch, MP_RIGHT_OJA_RESIDUAL) || mp_arch_uses_right(arch, MP_RIGHT_WT_Y);
    ep->need_g = mp_arch_uses_right(arch, MP_RIGHT_WT_E);
    ep->need_a = mp_arch_uses_left(arch, MP_LEFT_W_E_IN);
    ep->gram = T_max <= MP_GRAM_T_MAX;
    for (int k = 0; k < MP_RULE_COUNT; k++)
        if (term_on(ep, k) && mp_rule_pool[k].right != MP_RIGHT_Y_IN) ep->gram = 0;
    size_t off = 0; /* one step's record in the trajectory */
    for (int l = 1; l <= L; l++) ep->off_y[l] = off, off += (size_t)arch->n[l];
    for (int l = ep->e_lo; l <= L; l++) ep->off_e[l] = off, off += (size_t)arch->n[l];
    for (int l = ep->e_lo; l < L; l++) ep->off_h[l] = off, off += (size_t)arch->n[l];
    for (int l = ep->e_lo; l < L; l++) ep->off_s[l] = off, off += (size_t)arch->n[l];
    if (ep->need_v)
        for (int l = 1; l <= L; l++) ep->off_v[l] = off, off += (size_t)arch->n[l - 1];
    if (ep->need_g)
        for (int l = 1; l <= L; l++) ep->off_g[l] = off, off += (size_t)arch->n[l - 1];
    if (ep->need_a)
        for (int l = 1; l <= L; l++) ep->off_a[l] = off, off += (size_t)arch->n[l];
    ep->stride = off;

    scratch_slot slot[MAX_SLOTS];
    int nslots = scratch_layout(ep, slot);
    size_t total = 0;
    for (int i = 0; i < nslots; i++) total += aligned_count(slot[i].count);
    if (posix_memalign((void **)&ep->memory, 64, total * sizeof(real)) != 0) {
        fprintf(stderr, "metaplast: out of memory allocating an episode's %zu bytes\n", total * sizeof(real));
        exit(1);
    }
    for (size_t i = 0, at = 0; i < (size_t)nslots; i++) {
        *slot[i].at = ep->memory + at;
        at += aligned_count(slot[i].count);
    }
    for (int j = 0; j < ep->n_max; j++) ep->ones[j] = 1;

    fused_split_init(&ep->split, NULL, ep->n_max);
    for (int l = 1; l <= L; l++) {
        int rows = arch->n[l], cols = arch->n[l - 1], cap = queue_capacity(rows, cols);
        lowrank_init(&ep->Wq[l], ep->W + ep->woff[l], rows, cols, cap, &ep->split);
        lowrank_init(&ep->Wbar_q[l], ep->Wbar + ep->woff[l], rows, cols, cap, &ep->split);
    }
    return ep;
}

void mp_episode_free(episode *ep) {
    if (!ep) return;
    for (int l = 1; l <= L; l++) lowrank_free(&ep->Wq[l]), lowrank_free(&ep->Wbar_q[l]);
    fused_split_free(&ep->split);
    free(ep->memory);
    free(ep);
}

void mp_episode_set_worker(episode *ep, mp_worker *worker) { ep->split.worker = worker; }

void mp_episode_set_background(episode *ep, mp_job job, void *arg) {
    ep->background = job;
    ep->background_arg = arg;
}

/* Hands the caller's job to the worker, at a moment the run does not need it. */
static void submit_background(episode *ep) {
    if (!ep->background) return;
    mp_worker_submit(ep->split.worker, ep->background, ep->background_arg);
    ep->background = NULL;
}

const real *mp_episode_weights(const episode *ep) { return ep->W; }

void mp_episode_feedback_steps(episode *ep, real *B_steps, mp_feedback_steps_mode mode) {
    ep->B_steps = B_steps;
    ep->record_B_steps = mode == MP_FEEDBACK_STEPS_RECORD;
}

/* A right factor: the stored signal itself, or (Oja's residual) computed into scratch. */
static const real *right_factor(const layer_signals *s, int kind, real *scratch) {
    switch (kind) {
    case MP_RIGHT_Y_IN: return s->y_in;
    case MP_RIGHT_E_IN: return s->e_in;
    case MP_RIGHT_ONES: return s->ones;
    case MP_RIGHT_WT_Y: return s->v;
    case MP_RIGHT_WT_E: return s->g;
    default: /* MP_RIGHT_OJA_RESIDUAL */
        for (int j = 0; j < s->n_in; j++) scratch[j] = s->y_in[j] - s->v[j];
        return scratch;
    }
}

/* Does the right factor depend on the weights (so its adjoint must be propagated)?
 * y_0 is the input: at layer 1 a pure y_in factor is a constant; so are the ones. */
static int right_is_live(int kind, int l) { return !(kind == MP_RIGHT_Y_IN && l == 1) && kind != MP_RIGHT_ONES; }

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
    case MP_RIGHT_WT_Y: cblas_xaxpy(n_in, scale, rbar, 1, ep->vbar[l], 1); break;
    case MP_RIGHT_WT_E: cblas_xaxpy(n_in, scale, rbar, 1, ep->gbar[l], 1); break;
    default: break; /* MP_RIGHT_ONES: a constant */
    }
}

/* Builds each term's right factor (into right, with scratch space per term), and per
 * left factor kind the combined right vector sum_k sign_k theta_k right_k, so that the
 * step's update of W_l is the sum over kinds of left combined^T (rank <= MP_LEFT_KINDS
 * whatever the number of terms). Returns a bit mask of the kinds in use. */
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
    if (ep->arch.feedback == MP_FEEDBACK_SYMMETRIC)
        lowrank_products(&ep->Wq[l], &op);
    else
        fused_sweep_split(&ep->split, fixed_B(ep, t, l), ep->arch.n[l], ep->arch.n[l - 1], &op);
}

/* Adds to op the products of W_l (as it is at step t: before step t's update) that step
 * t's terms need: v_l = W_l^T y_l (Oja's residual, term 5), g_l = W_l^T e_l (terms 7
 * and 8), a_l = W_l e_{l-1} (term 9), into the step's record. */
static void weight_factor_products(episode *ep, int t, int l, fused_ops *op) {
    const int *n = ep->arch.n;
    if (ep->need_v) {
        real *v = step_vec(ep, t, ep->off_v[l]);
        memset(v, 0, (size_t)n[l - 1] * sizeof(real));
        fused_left(op, step_vec(ep, t, ep->off_y[l]), v);
    }
    if (ep->need_g) {
        real *g = step_vec(ep, t, ep->off_g[l]);
        memset(g, 0, (size_t)n[l - 1] * sizeof(real));
        fused_left(op, step_vec(ep, t, ep->off_e[l]), g);
    }
    if (ep->need_a) {
        real *a = step_vec(ep, t, ep->off_a[l]);
        memset(a, 0, (size_t)n[l] * sizeof(real));
        fused_right(op, step_vec(ep, t, ep->off_e[l - 1]), a);
    }
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
            if (t > 0) weight_factor_products(ep, t - 1, l, &op);
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
            mp_softplus(ep->z, y, step_vec(ep, t, ep->off_s[l]), n[l]);
        else
            mp_softmax_xent(ep->z, y, n[l], label);
    }
    real *e5 = step_vec(ep, t, ep->off_e[L]);
    memcpy(e5, step_vec(ep, t, ep->off_y[L]), (size_t)n[L] * sizeof(real));
    e5[label] -= 1;
    for (int l = L - 1; l >= ep->e_lo; l--) { /* e_l = (B_{l+1}^T e_{l+1}) * s_l */
        real *h = step_vec(ep, t, ep->off_h[l]), *sl = step_vec(ep, t, ep->off_s[l]), *e = step_vec(ep, t, ep->off_e[l]);
        if (l == 0) mp_feedback_slope(x, sl, n[0]); /* layers above got theirs from softplus */
        memset(h, 0, (size_t)n[l] * sizeof(real));
        feedback_product(ep, t, l + 1, 1, step_vec(ep, t, ep->off_e[l + 1]), h);
        for (int j = 0; j < n[l]; j++) e[j] = h[j] * sl[j];
    }
}

/* The last step's update, which no next step queues: its own read for v, g and a, then
 * the queue. */
static void finish_step(episode *ep, int t) {
    for (int l = 1; l <= L; l++) {
        fused_ops op = {0};
        weight_factor_products(ep, t, l, &op);
        if (op.n_right + op.n_left > 0) lowrank_products(&ep->Wq[l], &op);
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
            fused_left(&op, left_factor(&s, g), sc->w[g]);
            if (left_bar[g]) { /* a left factor that is a constant (the ones) needs no adjoint */
                memset(sc->u[g], 0, (size_t)n[l] * sizeof(real));
                fused_right(&op, sc->combined[g], sc->u[g]);
            }
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
        if (need_w[g] && left_bar[g]) cblas_xaxpy(n[l], 1, sc->u[g], 1, left_bar[g], 1);
        for (int k = 0; k < MP_RULE_COUNT; k++) {
            if (!term_on(ep, k) || mp_rule_pool[k].left != g) continue;
            const mp_rule_term *term = &mp_rule_pool[k];
            real scale = (real)(term->sign * theta[k]);
            if (!need_w[g]) {
                grad[k] += term->sign * (double)cblas_xdot(n[l], left_factor(&s, g), 1, sc->q[k], 1);
                if (left_bar[g]) cblas_xaxpy(n[l], scale, sc->q[k], 1, left_bar[g], 1);
                continue;
            }
            grad[k] += term->sign * (double)cblas_xdot(n[l - 1], sc->w[g], 1, right[k], 1);
            if (right_is_live(term->right, l)) right_adjoint(ep, term->right, l, sc->w[g], scale, n[l - 1]);
        }
    }
}

/* The factors that are products with W_t: v_l = W_l^T y_l, g_l = W_l^T e_l and a_l =
 * W_l e_{l-1}. Their adjoints reach y_l, e_l and e_{l-1} through W_t (one sweep), and
 * dL/dW_l (three rank-one terms). */
static void weight_factor_adjoints(episode *ep, int t, int l) {
    if (!ep->need_v && !ep->need_g && !ep->need_a) return;
    fused_ops op = {0};
    if (ep->need_v) fused_right(&op, ep->vbar[l], ep->ybar[l]);
    if (ep->need_g) fused_right(&op, ep->gbar[l], ep->ebar[l]);
    if (ep->need_a) fused_left(&op, ep->abar[l], ep->ebar[l - 1]);
    lowrank_products(W_at_step(ep, t, l), &op);
    if (ep->need_v) lowrank_add(&ep->Wbar_q[l], 1, step_vec(ep, t, ep->off_y[l]), ep->vbar[l]);
    if (ep->need_g) lowrank_add(&ep->Wbar_q[l], 1, step_vec(ep, t, ep->off_e[l]), ep->gbar[l]);
    if (ep->need_a) lowrank_add(&ep->Wbar_q[l], 1, ep->abar[l], step_vec(ep, t, ep->off_e[l - 1]));
}

/* The input layer's rank-one adjoints as a worker's job: its own scratch, its left
 * adjoints into ebar1_w and ybar1_w (the caller's layer 2 adds to ebar1 and ybar1
 * meanwhile), its dL/dtheta into its own sums; W1's products unsplit (this is the
 * worker). Its right adjoints go to ebar0, vbar1 and gbar1, and its a_1 adjoint to abar1,
 * which no other layer touches. */
typedef struct {
    episode *ep;
    int t;
    double *grad;
} layer1_job;

static void layer1_part(void *arg, int part) {
    const layer1_job *j = arg;
    if (part != 1) return;
    real *left_bar[MP_LEFT_KINDS] = {[MP_LEFT_E] = j->ep->ebar1_w, [MP_LEFT_Y] = j->ep->ybar1_w,
                                     [MP_LEFT_W_E_IN] = j->ep->abar[1]};
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
        if (ep->need_g && l > 0) memset(ep->gbar[l], 0, (size_t)n[l - 1] * sizeof(real));
        if (ep->need_a && l > 0) memset(ep->abar[l], 0, (size_t)n[l] * sizeof(real));
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
        real *left_bar[MP_LEFT_KINDS] = {[MP_LEFT_E] = ep->ebar[l], [MP_LEFT_Y] = ep->ybar[l],
                                         [MP_LEFT_W_E_IN] = ep->abar[l]};
        rank_one_adjoints(ep, t, l, &ep->adj[0], ep->Wbar_q[l].split, left_bar, grad);
        weight_factor_adjoints(ep, t, l);
    }
    if (layer1_apart) {
        mp_worker_wait(ep->split.worker);
        for (int j = 0; j < n[1]; j++) ep->ebar[1][j] += ep->ebar1_w[j], ep->ybar[1][j] += ep->ybar1_w[j];
        for (int k = 0; k < MP_THETAS; k++) grad[k] += grad1[k];
        weight_factor_adjoints(ep, t, 1);
    }
    /* 2. error chain, bottom up: e_l = h_l * s_l, h_l = B_{l+1}^T e_{l+1}; B constant */
    for (int l = ep->e_lo; l < L; l++) {
        const real *h = step_vec(ep, t, ep->off_h[l]), *sl = step_vec(ep, t, ep->off_s[l]);
        for (int j = 0; j < n[l]; j++) {
            ep->hbar[j] = ep->ebar[l][j] * sl[j];
            if (l > 0) ep->ybar[l][j] += ep->ebar[l][j] * h[j] * beta * (1 - sl[j]); /* ds/dy */
        }
        if (ep->arch.feedback == MP_FEEDBACK_SYMMETRIC) W_at_step(ep, t, l + 1);
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
                mp_softplus(row, row, ep->S[l] + (size_t)q * (size_t)n[l], n[l]);
                continue;
            }
            int best = 0;
            for (int i = 1; i < n[l]; i++)
                if (row[i] > row[best]) best = i;
            *correct += best == yq[q];
            xent += mp_softmax_xent(row, row, n[l], yq[q]);
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

static int all_finite(const real *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

int mp_episode_run(episode *ep, const episode_inputs *in, unsigned flags, mp_episode_out *out) {
    const real *x_train = in->x_train, *x_query = in->x_query;
    const int *y_train = in->y_train, *y_query = in->y_query, T = in->T, NQ = in->NQ;
    const double *theta = in->theta, lamb = in->lamb;
    size_t nw = mp_arch_weight_count(&ep->arch);
    memset(out, 0, sizeof *out);
    memcpy(ep->W, in->W0, nw * sizeof(real));
    ep->B = ep->arch.feedback == MP_FEEDBACK_SYMMETRIC ? NULL : in->B0;
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

