/* The release's four figures of a run, drawn into PNG files (src/plot/). */
#ifndef METAPLAST_PLOT_H
#define METAPLAST_PLOT_H

#include "metaplast/record.h"
#include "metaplast/util.h"

/* The file name of figure i of the four a run writes (0..3), NULL past the last. */
const char *mp_plot_file(int i);

/* Writes meta_accuracy.png, meta_loss.png, meta_angle.png, meta_params.png into run_dir
 * from the first n records. terms: the mask of the terms in use (mp_config_terms);
 * meta_params.png shows their thetas (and no other), each named "theta_k <term name>"
 * and drawn in palette colour k whatever else is on. */
int mp_plot_all(const char *run_dir, const mp_record *rec, int n, int avg_window, unsigned terms, mp_err *err);

/* The meta-test's learning curves (eval_curve.png at path): for each of nrules rules
 * (names[r] in the legend; at most 10 are drawn, the first ones), the mean query accuracy
 * mean[r * npoints + j] after samples[j] training samples, with its 95% interval lo..hi
 * as a band; a dashed line at chance (1 / M). */
int mp_plot_eval_curve(const char *path, int nrules, const char *const *names, const int *samples, int npoints,
                       const double *mean, const double *lo, const double *hi, int M, const char *subtitle,
                       mp_err *err);

#endif
