/* The generic figure the four plots are made from, and the moving average they show;
 * drawn by our own rasteriser (plot/raster.h). Private to the library. */
#ifndef METAPLAST_PLOT_FIGURE_H
#define METAPLAST_PLOT_FIGURE_H

#include <stddef.h>

#include "plot/raster.h"

/* Moving average over `window` episodes at the window's centre, as the release draws it:
 * out has n - window + 1 points, x at the centre of each window. When n < window the raw
 * values are returned (n points). Returns the number of points written.
 * x holds the n episode numbers (NULL: 1..n); the centre of a window is the mean of its
 * first and last x. A NaN in a window makes its average NaN (a gap in the curve); a
 * window < 1 counts as 1. */
int mp_moving_average(const double *v, int n, int window, double *out_x, double *out_y,
                      const double *x);

/* ---- the generic figure the four are made from ----------------------------------- */

/* Up to ten series: every theta of the rule pool in one figure. */
enum { MP_FIGURE_W = 960, MP_FIGURE_H = 720, MP_FIGURE_MAX_SERIES = 10 };

/* A band (lo and hi given) is a light translucent fill of the series' colour between
 * lo[i] and hi[i] at x[i] (a spread: mean +- sd across runs, an interval), drawn under
 * every series' line; where lo or hi is NaN, or the points are not finite, the band has
 * a gap. The y range from the data includes the bands. lo = hi = NULL: no band, and the
 * figure is what it was before bands existed, pixel for pixel. */
typedef struct {
    const char *name;          /* legend entry, e.g. "theta_1 eHebb" */
    const double *x, *y;       /* n points; a NaN y breaks the line, one point is a dot */
    int n;
    int color;                 /* its palette entry (mp_series_color); 0: the series' position */
    const double *lo, *hi;     /* the band's edges at the n points x, or both NULL: no band */
} mp_series;

typedef struct {
    const char *title;
    const char *subtitle;      /* a smaller grey line under the title, or NULL */
    const char *ylabel;
    const char *xlabel;        /* the x axis' label; NULL: "episode" */
    double xmin, xmax;         /* the span of the x axis (episodes, unless xlabel says else) */
    double ymin, ymax;         /* y range; ymin >= ymax: the data's range plus a margin */
    double ref_y;              /* a dashed grey horizontal line at this y; NaN: none */
    int nseries;
    mp_series series[MP_FIGURE_MAX_SERIES];
} mp_figure;

/* Where the data went: the frame around the plot area lies on these pixel boundaries
 * (see raster.h), xmin/ymin map to left/bottom and xmax/ymax to right/top. */
typedef struct {
    int left, top, right, bottom;
    double xmin, xmax, ymin, ymax;
} mp_plot_area;

/* Draws fig on c (white, meant to be MP_FIGURE_W x MP_FIGURE_H) and says where its plot
 * area is (area may be NULL). The legend is one row above the plot area when it fits,
 * else a grid of aligned columns, as many rows as it needs (the plot area starts lower). */
void mp_figure_draw(mp_canvas *c, const mp_figure *fig, mp_plot_area *area);
/* The pixel coordinate of data x / y in the plot area. */
double mp_plot_x(const mp_plot_area *a, double x);
double mp_plot_y(const mp_plot_area *a, double y);
/* The legend entry of theta_k in meta_params.png: "theta_k <mp_rule_name(k)>"
 * ("theta_k" alone for an index the pool does not name). */
void mp_theta_legend_name(int k, char *buf, size_t cap);
/* Palette entry i (of MP_FIGURE_MAX_SERIES distinct colours: matplotlib's tab10). */
mp_rgb mp_series_color(int i);

#endif
