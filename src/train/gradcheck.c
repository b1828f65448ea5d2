/* --gradcheck: the analytic meta-gradient against central finite differences, in
 * double, on an episode of the trainer's own draw. */
#include "train/gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metaplast/train.h"
#include "metaplast/util.h"
#include "model/rules.h"
#include "train/trainer.h"

/* |a - b| relative to the larger of |a|, |b| and floor: finite differences resolve a
 * component only to the loss's rounding over the step, so a component far smaller than
 * the episode's largest is measured against a hundredth of that one. */
static double rel_error(double a, double b, double floor) {
    return fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), fmax(floor, 1e-10));
}

int mp_gradcheck(const mp_arch *arch, const mp_episode_inputs_f64 *in, mp_gradcheck_row *rows, double *worst) {
    /* symmetric feedback's gradient holds each step's feedback B_t = W_t constant: the
     * finite differences must too, so they rerun the episode with fixed feedback, the
     * B_t recorded from the unperturbed run */
    const int T = in->T, NQ = in->NQ, sym = arch->feedback == MP_FEEDBACK_SYMMETRIC;
    const double *theta = in->theta;
    mp_arch fd_arch = *arch;
    fd_arch.feedback = MP_FEEDBACK_FIXED;
    double *B_steps = sym ? mp_malloc((size_t)(T > 0 ? T : 1) * mp_arch_weight_count(arch) * sizeof(double)) : NULL;
    mp_episode_f64 *ep = mp_episode_new_f64(&fd_arch, T, NQ);
    mp_episode_out out;
    int nrows = 0;
    *worst = 0;
    mp_episode_f64 *ep_sym = sym ? mp_episode_new_f64(arch, T, NQ) : NULL;
    if (ep_sym) {
        mp_episode_feedback_steps_f64(ep_sym, B_steps, MP_FEEDBACK_STEPS_RECORD);
        mp_episode_feedback_steps_f64(ep, B_steps, MP_FEEDBACK_STEPS_REPLAY);
    }
    mp_episode_inputs_f64 at = *in; /* the inputs with theta moved */
    if (!at.B0) at.B0 = at.W0;      /* the replayed feedback replaces it */
    if (mp_episode_run_f64(ep_sym ? ep_sym : ep, &at, MP_EPISODE_GRAD, &out) != 0)
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
        enum { STEPS = 8 };
        double h = 1e-4, d[STEPS];
        if (theta[k] != 0 && fabs(theta[k]) < 2 * h) h = fabs(theta[k]) / 2;
        for (int i = 0; i < STEPS && nrows >= 0; i++, h /= 2) {
            double tp[MP_THETAS], tm[MP_THETAS];
            memcpy(tp, theta, sizeof tp);
            memcpy(tm, theta, sizeof tm);
            tp[k] += h, tm[k] -= h;
            mp_episode_out op, om;
            at.theta = tp;
            int failed = mp_episode_run_f64(ep, &at, 0, &op) != 0;
            at.theta = tm;
            failed |= mp_episode_run_f64(ep, &at, 0, &om) != 0;
            if (failed) nrows = -1;
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
    }
    double largest = 0;
    for (int r = 0; r < nrows; r++) largest = fmax(largest, fabs(rows[r].analytic));
    for (int r = 0; r < nrows; r++) {
        rows[r].rel_error = rel_error(rows[r].analytic, rows[r].numeric, 1e-2 * largest);
        if (rows[r].rel_error > *worst) *worst = rows[r].rel_error;
    }
    mp_episode_free_f64(ep);
    mp_episode_free_f64(ep_sym);
    free(B_steps);
    return nrows;
}

static double *widen(const float *v, size_t n) {
    double *d = mp_malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = v[i];
    return d;
}

int mp_gradcheck_main(const mp_config *cfg, const mp_dataset *ds, FILE *out) {
    mp_trainer tr;
    mp_trainer_init(&tr, cfg, ds);
    mp_trainer_draw(&tr);
    size_t nw = mp_arch_weight_count(&tr.arch), n0 = (size_t)tr.arch.n[0];
    const mp_draw *d = &tr.draw[tr.cur];
    double *W = widen(d->W0, nw), *B = d->B0 ? widen(d->B0, nw) : NULL;
    double *xt = widen(d->x_train, (size_t)tr.T * n0), *xq = widen(d->x_query, (size_t)tr.NQ * n0);
    /* theta as training starts: (a, 0, ..., 0) */
    mp_gradcheck_row rows[MP_THETAS];
    double worst;
    int nrows = mp_gradcheck(&tr.arch, &(mp_episode_inputs_f64){W, B, tr.theta, cfg->lamb, xt, d->y_train, tr.T, xq, d->y_query, tr.NQ}, rows,
                             &worst);
    int status = 1;
    if (nrows < 0) {
        fprintf(out, "gradcheck: the episode diverged (non-finite loss or weights)\n");
    } else {
        fprintf(out, "gradcheck: fbk %s, T = %d steps, %d queries, double precision, central differences\n",
                cfg->fbk_sym ? "sym" : "fix", tr.T, tr.NQ);
        fprintf(out, "%-8s %-12s %24s %24s %12s\n", "theta", "term", "analytic", "numeric", "rel_error");
        for (int r = 0; r < nrows; r++)
            fprintf(out, "theta%-3d %-12s %24.15e %24.15e %12.3e\n", rows[r].theta, mp_rule_name(rows[r].theta),
                    rows[r].analytic, rows[r].numeric, rows[r].rel_error);
        status = worst <= MP_GRADCHECK_TOLERANCE ? 0 : 1;
        fprintf(out, "worst relative error %.3e, tolerance %.0e: %s\n", worst, MP_GRADCHECK_TOLERANCE,
                status == 0 ? "PASS" : "FAIL");
    }
    free(W), free(B), free(xt), free(xq);
    mp_trainer_free(&tr);
    return status;
}
