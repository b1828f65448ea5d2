/* eval_curve.png, the meta-test's figure (src/train/eval.c): one line and one band per
 * judged rule, accuracy against training samples within an episode. */
#include <math.h>
#include <stdlib.h>

#include "metaplast/plot.h"
#include "plot/figure.h"

int mp_plot_eval_curve(const char *path, int nrules, const char *const *names, const int *samples, int npoints,
                       const double *mean, const double *lo, const double *hi, int M, const char *subtitle,
                       mp_err *err) {
    if (nrules > MP_FIGURE_MAX_SERIES) nrules = MP_FIGURE_MAX_SERIES;
    double *x = mp_malloc((size_t)npoints * sizeof *x);
    for (int j = 0; j < npoints; j++) x[j] = samples[j];
    mp_figure fig = {.title = "Meta-test: accuracy within an episode", .subtitle = subtitle,
                     .ylabel = "query accuracy", .xlabel = "training samples", .xmin = 0,
                     .xmax = npoints > 1 ? samples[npoints - 1] : 1, .ymin = 0, .ymax = 1,
                     .ref_y = M > 0 ? 1.0 / M : NAN, .nseries = nrules};
    for (int r = 0; r < nrules; r++)
        fig.series[r] = (mp_series){.name = names[r], .x = x, .y = mean + (size_t)r * npoints, .n = npoints,
                                    .color = r, .lo = lo + (size_t)r * npoints, .hi = hi + (size_t)r * npoints};
    mp_canvas *c = mp_canvas_new(MP_FIGURE_W, MP_FIGURE_H, err);
    int rc = -1;
    if (c) {
        mp_figure_draw(c, &fig, NULL);
        rc = mp_canvas_save_png(c, path, err);
        mp_canvas_free(c);
    }
    free(x);
    return rc;
}
