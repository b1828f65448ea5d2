/* The report's figures: the mean across a group's runs as a line and a band of +-1 sd
 * (plot/figure.h's bands), moving-averaged as a run's own plots are (accuracy, loss and
 * angles over --avg_window episodes, theta raw). Accuracy and loss compare the groups
 * (ten a figure, a group in the palette colour of its place in its figure: groups 1, 11,
 * 21, ... in colour 0); theta and the angles,
 * which have several curves of their own, get one figure per group. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/figure.h"
#include "report/report_internal.h"

/* One curve of a figure: the moving averages of mean, mean - sd and mean + sd. */
typedef struct {
    double *x, *y, *lo, *hi;
    int n;
} curve;

static void curve_make(curve *c, const episode_stat *st, long episodes, int window, int band) {
    int n = (int)episodes;
    double *ep = mp_calloc((size_t)n + 1, sizeof *ep), *edge = mp_calloc((size_t)n + 1, sizeof *edge);
    double *scratch_x = mp_calloc((size_t)n + 1, sizeof *scratch_x);
    for (int i = 0; i < n; i++) ep[i] = i + 1;
    c->x = mp_calloc((size_t)n + 1, sizeof *c->x);
    c->y = mp_calloc((size_t)n + 1, sizeof *c->y);
    c->n = mp_moving_average(st->mean, n, window, c->x, c->y, ep);
    c->lo = c->hi = NULL;
    if (band) { /* an sd of NaN (one run at that episode) leaves a gap in the band */
        c->lo = mp_calloc((size_t)n + 1, sizeof *c->lo);
        c->hi = mp_calloc((size_t)n + 1, sizeof *c->hi);
        for (int i = 0; i < n; i++) edge[i] = st->mean[i] - st->sd[i];
        mp_moving_average(edge, n, window, scratch_x, c->lo, ep);
        for (int i = 0; i < n; i++) edge[i] = st->mean[i] + st->sd[i];
        mp_moving_average(edge, n, window, scratch_x, c->hi, ep);
    }
    free(ep);
    free(edge);
    free(scratch_x);
}

static void curve_free(curve *c) {
    free(c->x);
    free(c->y);
    free(c->lo);
    free(c->hi);
}

/* Characters of a subtitle that fit the figure's width (the font's advance is 6 pixels
 * at scale 1, the subtitle is drawn at scale 2). */
enum { SUBTITLE_CHARS = (MP_FIGURE_W - 32) / 12 };

/* The subtitle: what the line is, what the band is, and the averaging; `what` is cut
 * short (with "...") so that the rest always shows. */
static void describe(char *buf, size_t cap, long episodes, int window, int averaged, const char *what) {
    char how[96];
    if (!averaged || window <= 1 || episodes < window)
        snprintf(how, sizeof how, "band +-1 sd, raw values");
    else
        snprintf(how, sizeof how, "band +-1 sd, moving average over %d", window);
    int room = SUBTITLE_CHARS - (int)strlen(how) - 2;
    int len = (int)strlen(what);
    if (room < 4) room = 4;
    if (len <= room)
        snprintf(buf, cap, "%s; %s", what, how);
    else
        snprintf(buf, cap, "%.*s...; %s", room - 3, what, how);
}

static int save(mp_figure *fig, const char *dir, const char *name, mp_err *err) {
    mp_canvas *c = mp_canvas_new(MP_FIGURE_W, MP_FIGURE_H, err);
    if (!c) return -1;
    mp_figure_draw(c, fig, NULL);
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = mp_malloc(len);
    snprintf(path, len, "%s/%s", dir, name);
    int rc = mp_canvas_save_png(c, path, err);
    free(path);
    mp_canvas_free(c);
    return rc;
}

static void set_x_range(mp_figure *fig, long episodes) {
    fig->xmin = 0;
    fig->xmax = episodes <= 1 ? 2 : (double)episodes;
}

void mp_report_figure_title(char *buf, size_t cap, int accuracy, int first, int count, int ngroups) {
    const char *what = accuracy ? "Accuracy" : "Loss";
    if (ngroups <= MP_FIGURE_MAX_SERIES)
        snprintf(buf, cap, "%s across seeds", what);
    else if (count == 1)
        snprintf(buf, cap, "%s across seeds, group %d", what, first + 1);
    else
        snprintf(buf, cap, "%s across seeds, groups %d-%d", what, first + 1, first + count);
}

int mp_report_series_color(int group_index) { return group_index % MP_FIGURE_MAX_SERIES; }

/* accuracy.png or loss.png (and their pages _2, _3, ...: ten groups each) */
static int across_groups(const char *dir, const report_group *groups, int ng, int window, int stat, mp_err *err) {
    const int per = MP_FIGURE_MAX_SERIES;
    int rc = 0;
    for (int first = 0; first < ng && rc == 0; first += per) {
        int count = ng - first < per ? ng - first : per;
        curve curves[MP_FIGURE_MAX_SERIES];
        long longest = 0;
        for (int i = 0; i < count; i++) if (groups[first + i].episodes > longest) longest = groups[first + i].episodes;
        char subtitle[160], title[64], name[64];
        describe(subtitle, sizeof subtitle, longest, window, 1, "mean of each group's runs");
        int acc = stat == STAT_ACCURACY;
        mp_report_figure_title(title, sizeof title, acc, first, count, ng);
        mp_figure fig = {.title = title, .subtitle = subtitle, .ylabel = acc ? "accuracy" : "loss",
                         .ymin = 0, .ymax = acc ? 1 : 5, .ref_y = NAN, .nseries = count};
        set_x_range(&fig, longest);
        for (int i = 0; i < count; i++) {
            const report_group *g = &groups[first + i];
            curve_make(&curves[i], &g->stat[stat], g->episodes, window, g->nmembers > 1);
            fig.series[i] = (mp_series){.name = g->label, .x = curves[i].x, .y = curves[i].y, .n = curves[i].n,
                                        .color = mp_report_series_color(first + i), .lo = curves[i].lo, .hi = curves[i].hi};
        }
        if (first == 0)
            snprintf(name, sizeof name, "%s.png", acc ? "accuracy" : "loss");
        else
            snprintf(name, sizeof name, "%s_%d.png", acc ? "accuracy" : "loss", first / per + 1);
        rc = save(&fig, dir, name, err);
        for (int i = 0; i < count; i++) curve_free(&curves[i]);
    }
    return rc;
}

/* group_<g>_theta.png (one curve per term in use, theta_k in colour k as in a run's
 * meta_params.png) or group_<g>_angle.png (alpha_1..alpha_4) */
static int one_group(const char *dir, const report_group *g, int window, int theta, mp_err *err) {
    curve curves[MP_FIGURE_MAX_SERIES];
    char names[MP_FIGURE_MAX_SERIES][64];
    char title[64], subtitle[400], what[300], name[64];
    snprintf(what, sizeof what, "%s%s%d run%s", g->flags, g->flags[0] ? ", " : "", g->nmembers,
             g->nmembers == 1 ? "" : "s");
    describe(subtitle, sizeof subtitle, g->episodes, window, !theta, what);
    snprintf(title, sizeof title, "%s, group %d", theta ? "Meta parameters" : "Meta angles", g->number);
    mp_figure fig = {.title = title, .subtitle = subtitle, .ylabel = theta ? "theta" : "angle (degrees)",
                     .ymin = 0, .ymax = theta ? 0 : 120, .ref_y = theta ? NAN : 90};
    set_x_range(&fig, g->episodes);
    int n = 0;
    for (int k = 0; k < (theta ? MP_THETAS : 4); k++) {
        if (theta && !(g->terms >> k & 1u)) continue;
        if (theta)
            mp_theta_legend_name(k, names[n], sizeof names[n]);
        else
            snprintf(names[n], sizeof names[n], "alpha_%d", k + 1);
        curve_make(&curves[n], &g->stat[theta ? STAT_THETA0 + k : STAT_ANGLE1 + k], g->episodes,
                   theta ? 1 : window, g->nmembers > 1);
        fig.series[n] = (mp_series){.name = names[n], .x = curves[n].x, .y = curves[n].y, .n = curves[n].n,
                                    .color = theta ? k : n, .lo = curves[n].lo, .hi = curves[n].hi};
        n++;
    }
    fig.nseries = n;
    snprintf(name, sizeof name, "group_%d_%s.png", g->number, theta ? "theta" : "angle");
    int rc = save(&fig, dir, name, err);
    for (int i = 0; i < n; i++) curve_free(&curves[i]);
    return rc;
}

int mp_report_figures(const char *dir, const report_group *groups, int ngroups, int avg_window, mp_err *err) {
    int rc = across_groups(dir, groups, ngroups, avg_window, STAT_ACCURACY, err);
    if (rc == 0) rc = across_groups(dir, groups, ngroups, avg_window, STAT_LOSS, err);
    for (int g = 0; g < ngroups && rc == 0; g++) {
        rc = one_group(dir, &groups[g], avg_window, 1, err);
        if (rc == 0) rc = one_group(dir, &groups[g], avg_window, 0, err);
    }
    return rc;
}
