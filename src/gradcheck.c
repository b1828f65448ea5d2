#include "metaplast/gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metaplast/util.h"

static double rel_error(double a, double b) {
    return fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), 1e-10);
}

int mp_gradcheck(const mp_arch *arch, const double *W0, const double *B0, const double *theta, double lamb,
                 const double *x_train, const int *y_train, int T, const double *x_query, const int *y_query,
                 int NQ, mp_gradcheck_row *rows, double *worst) {
    /* sym's gradient holds each step's feedback B_t = W_t constant: the finite
     * differences must too, so they rerun the episode in fix mode with the B_t
     * recorded from the unperturbed run */
    mp_arch fd_arch = *arch;
    fd_arch.sym = 0;
    double *B_steps = arch->sym ? mp_malloc((size_t)(T > 0 ? T : 1) * mp_arch_weight_count(arch) * sizeof(double)) : NULL;
    mp_episode_f64 *ep = mp_episode_new_f64(&fd_arch, T, NQ);
    mp_episode_out out;
    int nrows = 0;
    *worst = 0;
    mp_episode_f64 *ep_sym = arch->sym ? mp_episode_new_f64(arch, T, NQ) : NULL;
    if (ep_sym) {
        mp_episode_feedback_steps_f64(ep_sym, B_steps, 1);
        mp_episode_feedback_steps_f64(ep, B_steps, 0);
    }
    if (mp_episode_run_f64(ep_sym ? ep_sym : ep, W0, B0 ? B0 : W0, theta, lamb, x_train, y_train, T, x_query,
                           y_query, NQ, MP_EPISODE_GRAD, &out) != 0)
        nrows = -1;
    double analytic[MP_THETAS];
    memcpy(analytic, out.grad, sizeof analytic);
    for (int k = 0; k < MP_THETAS && nrows >= 0; k++) {
        if (!(arch->terms >> k & 1u)) continue;
        /* Central differences D(h) at halving steps, each pair Richardson-extrapolated,
         * (4 D(h/2) - D(h)) / 3, to cancel the h^2 term; the answer is the extrapolation
         * that agrees best with its neighbour, which balances the truncation error (large
         * where the loss bends fast in theta, as with Oja's term) against rounding
         * (1e-16 / h, large where the gradient is small). Steps stay on one side of the
         * |theta| kink unless theta is within them of 0. */
        enum { STEPS = 5 };
        double h = 1e-5, d[STEPS];
        if (theta[k] != 0 && fabs(theta[k]) < 2 * h) h = fabs(theta[k]) / 2;
        for (int i = 0; i < STEPS && nrows >= 0; i++, h /= 2) {
            double tp[MP_THETAS], tm[MP_THETAS];
            memcpy(tp, theta, sizeof tp);
            memcpy(tm, theta, sizeof tm);
            tp[k] += h, tm[k] -= h;
            mp_episode_out op, om;
            if (mp_episode_run_f64(ep, W0, B0 ? B0 : W0, tp, lamb, x_train, y_train, T, x_query, y_query, NQ, 0,
                                   &op) != 0 ||
                mp_episode_run_f64(ep, W0, B0 ? B0 : W0, tm, lamb, x_train, y_train, T, x_query, y_query, NQ, 0,
                                   &om) != 0)
                nrows = -1;
            d[i] = (op.loss - om.loss) / (2 * h);
        }
        if (nrows < 0) break;
        double best = 0, best_gap = INFINITY;
        for (int i = 0; i + 2 < STEPS; i++) {
            double r0 = (4 * d[i + 1] - d[i]) / 3, r1 = (4 * d[i + 2] - d[i + 1]) / 3;
            if (fabs(r1 - r0) < best_gap) best_gap = fabs(r1 - r0), best = r1;
        }
        mp_gradcheck_row *r = &rows[nrows++];
        r->theta = k;
        r->analytic = analytic[k];
        r->numeric = best;
        r->rel_error = rel_error(r->analytic, r->numeric);
        if (r->rel_error > *worst) *worst = r->rel_error;
    }
    mp_episode_free_f64(ep);
    mp_episode_free_f64(ep_sym);
    free(B_steps);
    return nrows;
}
