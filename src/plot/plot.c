/* The release's four figures: one generic figure routine (mp_figure_draw) fed by a
 * small description per figure (the table in mp_plot_all). */
#include "metaplast/plot.h"
#include "model/rules.h"
#include "plot/figure.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mp_moving_average(const double *v, int n, int window, double *out_x, double *out_y,
                      const double *x) {
    if (n <= 0) return 0;
    if (window < 1 || n < window) window = 1;
    int m = n - window + 1;
    for (int i = 0; i < m; i++) {
        /* summed afresh for every window: a running sum would carry the rounding of one
         * huge value (a diverging loss) into all later windows; n * window stays small */
        double sum = 0;
        for (int k = i; k < i + window; k++) sum += v[k];
        out_y[i] = sum / window;
        out_x[i] = x ? (x[i] + x[i + window - 1]) / 2 : i + 1 + (window - 1) / 2.0;
    }
    return m;
}

/* ---- the generic figure ----------------------------------------------------------- */

static const mp_rgb INK = {34, 34, 34};
static const mp_rgb SOFT_INK = {110, 110, 110};
static const mp_rgb GRID = {232, 232, 232};
static const mp_rgb REF_GREY = {128, 128, 128};
/* matplotlib's tab10: distinct, and what readers of the release's figures know */
static const mp_rgb PALETTE[MP_FIGURE_MAX_SERIES] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
};

/* Layout in pixels; the left margin also depends on the widest y tick label. */
enum {
    TITLE_SCALE = 3, TEXT_SCALE = 2,
    TITLE_TOP = 14, SUBTITLE_TOP = 46, LEGEND_MIDDLE = 80, PLOT_TOP = 106,
    MARGIN = 16,            /* between the canvas edge and the outermost text */
    BOTTOM_MARGIN = 80, RIGHT_MARGIN = 48,  /* room for half the last x label */
    TICK_LEN = 6, TICK_GAP = 6, LABEL_GAP = 12,
    FRAME = 2,              /* frame and tick thickness */
    LEGEND_SAMPLE = 30, LEGEND_TEXT_GAP = 8, LEGEND_SPACING = 30,
    LEGEND_ROW = 26,        /* between the rows of a legend in a grid */
    Y_TICKS = 6, X_TICKS = 7,
};
static const double CURVE_WIDTH = 2.0, DOT_RADIUS = 5, REF_WIDTH = 2.0, REF_DASH = 10,
                    REF_GAP = 7;
/* a band: this much of its series' colour over the white, light enough for the lines
 * and other bands to show through */
static const double BAND_ALPHA = 0.2;
/* Pixel coordinates are kept within this, so a wild value cannot overflow the drawing. */
static const double FAR_PX = 1e6;

mp_rgb mp_series_color(int i) {
    return PALETTE[((i % MP_FIGURE_MAX_SERIES) + MP_FIGURE_MAX_SERIES) % MP_FIGURE_MAX_SERIES];
}

/* The palette entry of series s: its own, or its position. */
static int series_color(const mp_figure *fig, int s) { return fig->series[s].color ? fig->series[s].color : s; }

static double clamp_px(double p) { return p < -FAR_PX ? -FAR_PX : p > FAR_PX ? FAR_PX : p; }

double mp_plot_x(const mp_plot_area *a, double x) {
    return clamp_px(a->left + (x - a->xmin) / (a->xmax - a->xmin) * (a->right - a->left));
}

double mp_plot_y(const mp_plot_area *a, double y) {
    return clamp_px(a->bottom - (y - a->ymin) / (a->ymax - a->ymin) * (a->bottom - a->top));
}

/* Round tick values k * step (step 1, 2 or 5 times a power of ten) within [lo, hi]. */
typedef struct {
    double step;
    double k0;        /* the first tick is k0 * step */
    int count;
    int scientific;   /* labels with %g: values too large or too tiny for %f */
    int precision;    /* decimals for %f, significant digits for %g */
} ticks;

static ticks nice_ticks(double lo, double hi, int target, double min_step) {
    ticks t = {0, 0, 0, 0, 0};
    double raw = (hi - lo) / target;
    if (!(raw > 0) || !isfinite(raw)) return t;
    double mag = pow(10, floor(log10(raw)));
    double norm = raw / mag;
    t.step = fmax((norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag, min_step);
    t.k0 = ceil(lo / t.step - 1e-9);
    t.count = (int)(floor(hi / t.step + 1e-9) - t.k0) + 1;
    /* far from zero compared with the step, k * step is no longer exact: no ticks */
    if (t.count > 2 * target + 2) t.count = 0;
    int exponent = (int)floor(log10(t.step) + 1e-9);
    double largest = fmax(fabs(lo), fabs(hi));
    t.scientific = exponent < -6 || largest >= 1e6;
    /* enough digits to tell neighbouring ticks apart */
    t.precision = t.scientific ? (int)ceil(log10(largest / t.step)) + 1
                               : exponent < 0 ? -exponent : 0;
    if (t.precision > 17) t.precision = 17;
    return t;
}

static double tick_value(const ticks *t, int i) { return (t->k0 + i) * t->step; }

static void tick_label(char *buf, size_t cap, const ticks *t, int i) {
    double v = tick_value(t, i);
    if (fabs(v) < t->step * 1e-6) v = 0;  /* no "-0.0" */
    snprintf(buf, cap, t->scientific ? "%.*g" : "%.*f", t->precision, v);
}

static int widest_label(const ticks *t) {
    char label[64];
    int widest = 0;
    for (int i = 0; i < t->count; i++) {
        tick_label(label, sizeof label, t, i);
        int w = mp_text_width(label, TEXT_SCALE);
        if (w > widest) widest = w;
    }
    return widest;
}

/* The y range for data without a fixed one: its finite values plus 5%, and a range
 * around a constant (or an empty) series, so the mapping never divides by zero. */
static void data_range(const mp_figure *fig, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int s = 0; s < fig->nseries; s++) {
        const mp_series *se = &fig->series[s];
        const double *edges[3] = {se->y, se->lo && se->hi ? se->lo : NULL, se->lo && se->hi ? se->hi : NULL};
        for (int e = 0; e < 3; e++)
            for (int i = 0; edges[e] && i < se->n; i++) {
                double y = edges[e][i];
                if (!isfinite(y)) continue;
                /* beyond 1e300 the span would overflow; such values are clipped anyway */
                *lo = fmin(*lo, fmax(y, -1e300));
                *hi = fmax(*hi, fmin(y, 1e300));
            }
    }
    if (*lo > *hi) {
        *lo = 0, *hi = 1;
        return;
    }
    double pad = *hi > *lo ? 0.05 * (*hi - *lo) : 0.1 * fabs(*lo);
    *lo -= pad;
    *hi += pad;
    if (!(*hi > *lo)) { /* zero, or too tiny to pad */
        *lo -= 1;
        *hi += 1;
    }
}

static mp_text_style style(int scale, mp_text_halign h, mp_text_valign v, mp_rgb color) {
    return (mp_text_style){scale, h, v, 0, color};
}

static void draw_text(mp_canvas *c, int x, int y, const char *s, mp_text_style st) {
    mp_draw_text(c, x, y, s, &st);
}

/* Where the legend's entries go: one row of natural widths centred over the plot area
 * when they fit in its width (the release's figures), else a grid of `cols` aligned
 * columns of the widest entry's width, filled row by row, centred on the canvas and as
 * wide as it is (less the margins). */
typedef struct {
    int entries, rows, cols, col_width;
    int one_row_width;
} legend_layout;

static const char *legend_name(const mp_figure *fig, int s, char *ref_name, size_t cap) {
    if (s < fig->nseries) return fig->series[s].name;
    snprintf(ref_name, cap, "%g", fig->ref_y);
    return ref_name;
}

static int entry_width(const char *name) { return LEGEND_SAMPLE + LEGEND_TEXT_GAP + mp_text_width(name, TEXT_SCALE); }

static legend_layout layout_legend(const mp_figure *fig, int width, int grid_width) {
    legend_layout L = {fig->nseries + !isnan(fig->ref_y), 1, 0, 0, 0};
    char ref_name[64];
    for (int s = 0; s < L.entries; s++) {
        int w = entry_width(legend_name(fig, s, ref_name, sizeof ref_name));
        L.one_row_width += w + (s ? LEGEND_SPACING : 0);
        if (w > L.col_width) L.col_width = w;
    }
    L.cols = L.entries;
    if (L.one_row_width > width && L.entries > 1) {
        L.cols = (grid_width + LEGEND_SPACING) / (L.col_width + LEGEND_SPACING);
        if (L.cols < 1) L.cols = 1;
        if (L.cols > L.entries) L.cols = L.entries;
        L.rows = (L.entries + L.cols - 1) / L.cols;
    }
    return L;
}

static void draw_legend(mp_canvas *c, const mp_figure *fig, const mp_plot_area *a, const legend_layout *L) {
    char ref_name[64];
    int grid = L->rows > 1;
    int total = grid ? L->cols * L->col_width + (L->cols - 1) * LEGEND_SPACING : L->one_row_width;
    int x0 = ((grid ? c->width : a->left + a->right) - total) / 2, x = x0;
    for (int s = 0; s < L->entries; s++) {
        const char *name = legend_name(fig, s, ref_name, sizeof ref_name);
        int y = LEGEND_MIDDLE + (grid ? s / L->cols : 0) * LEGEND_ROW;
        if (grid) x = x0 + (s % L->cols) * (L->col_width + LEGEND_SPACING);
        if (s < fig->nseries)
            mp_draw_line(c, x, y, x + LEGEND_SAMPLE, y, CURVE_WIDTH + 1, mp_series_color(series_color(fig, s)));
        else
            mp_draw_dashed_line(c, x, y, x + LEGEND_SAMPLE, y, REF_WIDTH, REF_DASH, REF_GAP,
                                REF_GREY);
        draw_text(c, x + LEGEND_SAMPLE + LEGEND_TEXT_GAP, y, name,
                  style(TEXT_SCALE, MP_TEXT_LEFT, MP_TEXT_MIDDLE, INK));
        x += entry_width(name) + LEGEND_SPACING;
    }
}

/* Light grid lines, tick marks and tick labels of one axis. */
static void draw_axis_ticks(mp_canvas *c, const mp_plot_area *a, const ticks *t, int vertical) {
    char label[64];
    for (int i = 0; i < t->count; i++) {
        double v = tick_value(t, i);
        tick_label(label, sizeof label, t, i);
        if (vertical) {
            int y = (int)lround(mp_plot_y(a, v));
            mp_fill_rect(c, a->left + 1, y, a->right - 1, y + 1, GRID);
            mp_fill_rect(c, a->left - FRAME / 2 - TICK_LEN, y - 1, a->left - 1, y + 1, INK);
            draw_text(c, a->left - FRAME / 2 - TICK_LEN - TICK_GAP, y, label,
                      style(TEXT_SCALE, MP_TEXT_RIGHT, MP_TEXT_MIDDLE, INK));
        } else {
            int x = (int)lround(mp_plot_x(a, v));
            mp_fill_rect(c, x, a->top + 1, x + 1, a->bottom - 1, GRID);
            mp_fill_rect(c, x - 1, a->bottom + 1, x + 1, a->bottom + 1 + TICK_LEN, INK);
            draw_text(c, x, a->bottom + 1 + TICK_LEN + TICK_GAP, label,
                      style(TEXT_SCALE, MP_TEXT_CENTER, MP_TEXT_TOP, INK));
        }
    }
}

static void draw_band(mp_canvas *c, const mp_plot_area *a, const mp_series *s, mp_rgb color) {
    double *px = mp_calloc(s->n, sizeof *px), *lo = mp_calloc(s->n, sizeof *lo), *hi = mp_calloc(s->n, sizeof *hi);
    for (int i = 0; i < s->n; i++) {
        px[i] = mp_plot_x(a, s->x[i]);
        /* NaN stays NaN (mp_plot_y keeps it): a gap */
        lo[i] = mp_plot_y(a, s->lo[i]);
        hi[i] = mp_plot_y(a, s->hi[i]);
    }
    mp_fill_between(c, px, lo, hi, s->n, color, BAND_ALPHA);
    free(px);
    free(lo);
    free(hi);
}

static void draw_series(mp_canvas *c, const mp_plot_area *a, const mp_series *s, mp_rgb color) {
    double *px = mp_calloc(s->n, sizeof *px), *py = mp_calloc(s->n, sizeof *py);
    for (int i = 0; i < s->n; i++) {
        px[i] = mp_plot_x(a, s->x[i]);
        py[i] = mp_plot_y(a, s->y[i]);
    }
    if (s->n == 1)
        mp_draw_disc(c, px[0], py[0], DOT_RADIUS, color);
    else
        mp_draw_polyline(c, px, py, s->n, CURVE_WIDTH, color);
    free(px);
    free(py);
}

void mp_figure_draw(mp_canvas *c, const mp_figure *fig, mp_plot_area *area) {
    mp_plot_area a = {0, PLOT_TOP, c->width - RIGHT_MARGIN, c->height - BOTTOM_MARGIN,
                      fig->xmin, fig->xmax, fig->ymin, fig->ymax};
    if (!(a.xmax > a.xmin)) a.xmax = a.xmin + 1;
    if (!(fig->ymax > fig->ymin)) data_range(fig, &a.ymin, &a.ymax);

    /* the left margin holds the y label (turned, descenders included) and tick labels */
    ticks yt = nice_ticks(a.ymin, a.ymax, Y_TICKS, 0);
    int ylabel_thickness = MP_FONT_H * TEXT_SCALE;
    a.left = MARGIN + ylabel_thickness + LABEL_GAP + widest_label(&yt) + TICK_GAP + TICK_LEN +
             FRAME / 2;
    /* a legend of several rows pushes the plot area down */
    legend_layout legend = layout_legend(fig, a.right - a.left, c->width - 2 * MARGIN);
    a.top = PLOT_TOP + (legend.rows - 1) * LEGEND_ROW;
    /* fewer x ticks while their labels would run into each other (long runs) */
    ticks xt;
    for (int target = X_TICKS;; target--) {
        xt = nice_ticks(a.xmin, a.xmax, target, 1);
        double spacing = xt.step / (a.xmax - a.xmin) * (a.right - a.left);
        if (target <= 2 || widest_label(&xt) + 2 * LABEL_GAP <= spacing) break;
    }

    draw_axis_ticks(c, &a, &yt, 1);
    draw_axis_ticks(c, &a, &xt, 0);

    /* data (and the reference line) only inside the frame */
    mp_canvas_clip(c, a.left + 1, a.top + 1, a.right - 1, a.bottom - 1);
    if (!isnan(fig->ref_y)) {
        double y = round(mp_plot_y(&a, fig->ref_y));  /* on a pixel boundary: crisp */
        mp_draw_dashed_line(c, a.left, y, a.right, y, REF_WIDTH, REF_DASH, REF_GAP, REF_GREY);
    }
    /* every band under every line */
    for (int s = 0; s < fig->nseries; s++)
        if (fig->series[s].lo && fig->series[s].hi)
            draw_band(c, &a, &fig->series[s], mp_series_color(series_color(fig, s)));
    int points = 0;
    for (int s = 0; s < fig->nseries; s++) {
        draw_series(c, &a, &fig->series[s], mp_series_color(series_color(fig, s)));
        points += fig->series[s].n;
    }
    mp_canvas_unclip(c);
    if (points == 0)
        draw_text(c, (a.left + a.right) / 2, (a.top + a.bottom) / 2, "no data",
                  style(TEXT_SCALE, MP_TEXT_CENTER, MP_TEXT_MIDDLE, SOFT_INK));
    mp_stroke_rect(c, a.left - FRAME / 2, a.top - FRAME / 2, a.right + FRAME / 2,
                   a.bottom + FRAME / 2, FRAME, INK);

    int centre = (a.left + a.right) / 2;
    draw_text(c, centre, TITLE_TOP, fig->title, style(TITLE_SCALE, MP_TEXT_CENTER, MP_TEXT_TOP, INK));
    if (fig->subtitle)
        draw_text(c, centre, SUBTITLE_TOP, fig->subtitle,
                  style(TEXT_SCALE, MP_TEXT_CENTER, MP_TEXT_TOP, SOFT_INK));
    draw_text(c, centre, c->height - MARGIN, fig->xlabel ? fig->xlabel : "episode",
              style(TEXT_SCALE, MP_TEXT_CENTER, MP_TEXT_BASELINE, INK));
    mp_text_style turned = style(TEXT_SCALE, MP_TEXT_CENTER, MP_TEXT_TOP, INK);
    turned.rotated = 1;
    mp_draw_text(c, MARGIN, (a.top + a.bottom) / 2, fig->ylabel, &turned);
    draw_legend(c, fig, &a, &legend);
    if (area) *area = a;
}

/* ---- the four figures of the release ---------------------------------------------- */

static double accuracy_of(const mp_record *r, int curve) { (void)curve; return r->accuracy; }
static double loss_of(const mp_record *r, int curve) { (void)curve; return r->loss; }
/* the figure shows alpha_1..alpha_4 = angle_1..angle_4 (angle_0 and angle_5 say nothing) */
static double alpha_of(const mp_record *r, int curve) { return r->angle[1 + curve]; }
static double theta_of(const mp_record *r, int curve) { return r->theta[curve]; }

/* What one figure shows: ncurves curves named by names, or (per_term) one curve per term
 * in use, curve k the value for term k. */
typedef struct {
    const char *file, *title, *ylabel;
    double ymin, ymax;          /* ymin == ymax: from the data */
    double ref_y;               /* NaN: no reference line */
    int averaged;
    int ncurves;
    double (*value)(const mp_record *r, int curve);
    const char *names[MP_FIGURE_MAX_SERIES];
    int per_term;
} figure_spec;

static const figure_spec FIGURES[] = {
    {.file = "meta_accuracy.png", .title = "Meta accuracy", .ylabel = "accuracy",
     .ymin = 0, .ymax = 1, .ref_y = NAN, .averaged = 1,
     .ncurves = 1, .value = accuracy_of, .names = {"accuracy"}},
    {.file = "meta_loss.png", .title = "Meta loss", .ylabel = "loss",
     .ymin = 0, .ymax = 5, .ref_y = NAN, .averaged = 1,
     .ncurves = 1, .value = loss_of, .names = {"loss"}},
    {.file = "meta_angle.png", .title = "Meta angles", .ylabel = "angle (degrees)",
     .ymin = 0, .ymax = 120, .ref_y = 90, .averaged = 1,
     .ncurves = 4, .value = alpha_of, .names = {"alpha_1", "alpha_2", "alpha_3", "alpha_4"}},
    {.file = "meta_params.png", .title = "Meta parameters", .ylabel = "theta",
     .ymin = 0, .ymax = 0, .ref_y = NAN, .averaged = 0,
     .value = theta_of, .per_term = 1},
};

enum { NFIGURES = sizeof FIGURES / sizeof FIGURES[0] };

const char *mp_plot_file(int i) { return i >= 0 && i < NFIGURES ? FIGURES[i].file : NULL; }

static void describe_values(char *buf, size_t cap, int n, int window, int averaged) {
    if (n == 0)
        snprintf(buf, cap, "no episodes yet");
    else if (!averaged || window <= 1)
        snprintf(buf, cap, "%d episode%s, raw values", n, n == 1 ? "" : "s");
    else if (n < window)
        snprintf(buf, cap, "%d episode%s, raw values (fewer than the %d-episode average window)",
                 n, n == 1 ? "" : "s", window);
    else
        snprintf(buf, cap, "%d episodes, moving average over %d", n, window);
}

_Static_assert(MP_THETAS <= MP_FIGURE_MAX_SERIES, "meta_params.png must hold every theta");

void mp_theta_legend_name(int k, char *buf, size_t cap) {
    const char *term = mp_rule_name(k);
    snprintf(buf, cap, "theta_%d%s%s", k, term ? " " : "", term ? term : "");
}

static int plot_one(const char *run_dir, const figure_spec *spec, const mp_record *rec, int n,
                    int window, unsigned terms, const double *episode, double *scratch, mp_err *err) {
    char subtitle[128];
    describe_values(subtitle, sizeof subtitle, n, window, spec->averaged);
    mp_figure fig = {.title = spec->title, .subtitle = subtitle, .ylabel = spec->ylabel,
                     .xmin = 0, .xmax = 1, .ymin = spec->ymin, .ymax = spec->ymax,
                     .ref_y = spec->ref_y};
    if (n > 0) { /* the axis starts before the first episode; one episode sits in the middle */
        fig.xmin = episode[0] - 1;
        fig.xmax = n == 1 ? episode[0] + 1 : episode[n - 1];
    }
    /* the curves: the spec's, or one per term in use (theta_k in colour k) */
    int which[MP_FIGURE_MAX_SERIES], ncurves = 0;
    char names[MP_FIGURE_MAX_SERIES][64];
    if (spec->per_term) {
        for (int k = 0; k < MP_THETAS; k++)
            if (terms >> k & 1u) {
                mp_theta_legend_name(k, names[ncurves], sizeof names[ncurves]);
                which[ncurves++] = k;
            }
    } else {
        for (int k = 0; k < spec->ncurves; k++) {
            snprintf(names[k], sizeof names[k], "%s", spec->names[k]);
            which[ncurves++] = k;
        }
    }
    fig.nseries = ncurves;
    /* scratch: the raw values, then x and y of every curve */
    double *raw = scratch;
    for (int c = 0; c < ncurves; c++) {
        double *x = scratch + (size_t)n * (1 + 2 * c), *y = x + n;
        for (int r = 0; r < n; r++) raw[r] = spec->value(&rec[r], which[c]);
        fig.series[c] = (mp_series){.name = names[c], .x = x, .y = y,
                                    .n = mp_moving_average(raw, n, spec->averaged ? window : 1, x, y, episode),
                                    .color = spec->per_term ? which[c] : c};
    }
    mp_canvas *c = mp_canvas_new(MP_FIGURE_W, MP_FIGURE_H, err);
    if (!c) return -1;
    mp_figure_draw(c, &fig, NULL);
    size_t len = strlen(run_dir) + strlen(spec->file) + 2;
    char *path = mp_malloc(len);
    snprintf(path, len, "%s/%s", run_dir, spec->file);
    int rc = mp_canvas_save_png(c, path, err);
    free(path);
    mp_canvas_free(c);
    return rc;
}

int mp_plot_all(const char *run_dir, const mp_record *rec, int n, int avg_window, unsigned terms, mp_err *err) {
    if (n < 0) n = 0;
    double *episode = mp_calloc(n, sizeof *episode);
    for (int r = 0; r < n; r++) episode[r] = (double)rec[r].episode;
    double *scratch = mp_calloc((size_t)n * (1 + 2 * MP_FIGURE_MAX_SERIES), sizeof *scratch);
    int rc = 0;
    for (size_t f = 0; f < sizeof FIGURES / sizeof FIGURES[0] && rc == 0; f++)
        rc = plot_one(run_dir, &FIGURES[f], rec, n, avg_window, terms, episode, scratch, err);
    free(scratch);
    free(episode);
    return rc;
}
