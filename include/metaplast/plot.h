/* The release's four figures, drawn by our own rasteriser (raster.h) into PNG. */
#ifndef METAPLAST_PLOT_H
#define METAPLAST_PLOT_H

#include "metaplast/record.h"
#include "metaplast/util.h"

/* Moving average over `window` episodes at the window's centre, as ALGORITHM.md says:
 * out has n - window + 1 points, x at the centre of each window. When n < window the raw
 * values are returned (n points). Returns the number of points written. */
int mp_moving_average(const double *v, int n, int window, double *out_x, double *out_y,
                      const double *x);

/* Writes meta_accuracy.png, meta_loss.png, meta_angle.png, meta_params.png into run_dir
 * from the first n records. */
int mp_plot_all(const char *run_dir, const mp_record *rec, int n, int avg_window, mp_err *err);

#endif
