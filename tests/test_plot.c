/* The figures: moving average against a direct computation; the four PNGs decode at
 * their size and have curves, axes, background and reference line where they belong;
 * meta_params.png shows the thetas of the terms in use, each in its term's colour, and a
 * legend of ten entries stays inside the figure, entries apart, above the plot. */
#include "testutil.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metaplast/plot.h"
#include "model/rules.h"
#include "plot/figure.h"

/* ---- moving average ---------------------------------------------------------------- */

static double noise(unsigned *seed) {
    *seed = *seed * 1103515245u + 12345u;
    return ((*seed >> 8) & 0xffff) / 65535.0 - 0.5;
}

/* cmocka compares floats only in single precision */
#define assert_near(got, want, tol) near_at(got, want, tol, __LINE__)
static void near_at(double got, double want, double tol, int line) {
    if (!(fabs(got - want) <= tol)) fail_msg("line %d: %.17g, wanted %.17g", line, got, want);
}

static void test_moving_average_matches_direct(void **state) {
    (void)state;
    enum { N = 57 };
    double v[N], ep[N], ox[N], oy[N];
    unsigned seed = 3;
    for (int i = 0; i < N; i++) v[i] = 10 * noise(&seed), ep[i] = 101 + 2 * i;
    const int windows[] = {1, 2, 3, 10, N - 1, N};
    for (size_t w = 0; w < sizeof windows / sizeof *windows; w++) {
        int win = windows[w];
        assert_int_equal(mp_moving_average(v, N, win, ox, oy, ep), N - win + 1);
        for (int i = 0; i + win <= N; i++) {
            double sum = 0;
            for (int k = 0; k < win; k++) sum += v[i + k];
            assert_near(oy[i], sum / win, 1e-12);
            assert_near(ox[i], ep[i] + (win - 1), 0);  /* episodes 2 apart: centre */
        }
    }
    /* window 1 is the data itself */
    mp_moving_average(v, N, 1, ox, oy, ep);
    assert_memory_equal(oy, v, sizeof v);
    assert_memory_equal(ox, ep, sizeof ep);
}

static void test_moving_average_centres(void **state) {
    (void)state;
    const double v[] = {1, 2, 3, 4, 5, 6};
    double ox[6], oy[6];
    /* no x: episodes 1..n; an even window centres between two episodes */
    assert_int_equal(mp_moving_average(v, 6, 4, ox, oy, NULL), 3);
    assert_near(ox[0], 2.5, 0);
    assert_near(oy[0], 2.5, 0);
    assert_near(ox[2], 4.5, 0);
    assert_near(oy[2], 4.5, 0);
    assert_int_equal(mp_moving_average(v, 6, 3, ox, oy, NULL), 4);
    assert_near(ox[0], 2, 0);
    assert_near(oy[3], 5, 0);
    /* window = n: one point, the mean, in the middle */
    assert_int_equal(mp_moving_average(v, 6, 6, ox, oy, NULL), 1);
    assert_near(ox[0], 3.5, 0);
    assert_near(oy[0], 3.5, 0);
}

static void test_moving_average_short_runs_are_raw(void **state) {
    (void)state;
    const double v[] = {0.25, 0.5, 0.125}, ep[] = {7, 8, 9};
    double ox[3], oy[3];
    assert_int_equal(mp_moving_average(v, 3, 10, ox, oy, ep), 3);
    assert_memory_equal(oy, v, sizeof v);
    assert_memory_equal(ox, ep, sizeof ep);
    assert_int_equal(mp_moving_average(v, 3, 0, ox, oy, ep), 3);  /* window < 1 counts as 1 */
    assert_memory_equal(oy, v, sizeof v);
    assert_int_equal(mp_moving_average(v, 0, 10, ox, oy, ep), 0);
}

static void test_moving_average_nan_leaves_a_gap(void **state) {
    (void)state;
    const double v[] = {1, 1, NAN, 1, 1, 1, 1};
    double ox[7], oy[7];
    assert_int_equal(mp_moving_average(v, 7, 2, ox, oy, NULL), 6);
    const int gap[] = {0, 1, 1, 0, 0, 0};
    for (int i = 0; i < 6; i++) assert_int_equal(isnan(oy[i]) != 0, gap[i]);
    assert_near(oy[5], 1, 0);
}

/* ---- reading the figures back ------------------------------------------------------ */

typedef struct {
    int w, h;
    unsigned char *rgb;
} image;

static image load_png(const char *path) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path)) fail_msg("cannot decode %s: %s", path, im.message);
    im.format = PNG_FORMAT_RGB;
    image out = {(int)im.width, (int)im.height, malloc(PNG_IMAGE_SIZE(im))};
    assert_true(png_image_finish_read(&im, NULL, out.rgb, 0, NULL));
    return out;
}

static image canvas_image(const mp_canvas *c) { return (image){c->width, c->height, c->rgb}; }

static mp_rgb pixel(const image *im, int x, int y) {
    const unsigned char *p = im->rgb + ((size_t)y * im->w + x) * 3;
    return (mp_rgb){p[0], p[1], p[2]};
}

static int same(mp_rgb a, mp_rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }
static int dark(mp_rgb p) { return p.r < 90 && p.g < 90 && p.b < 90; }
static int white(mp_rgb p) { return p.r == 255 && p.g == 255 && p.b == 255; }

/* The frame around the plot area, found as the columns and rows that are mostly dark:
 * the lines sit on the pixel boundaries left, top, right, bottom (2 pixels each). */
static mp_plot_area find_frame(const image *im) {
    mp_plot_area a = {-1, -1, -1, -1, 0, 0, 0, 0};
    for (int x = 0; x < im->w; x++) {
        int n = 0;
        for (int y = 0; y < im->h; y++) n += dark(pixel(im, x, y));
        if (n > im->h / 2) {
            if (a.left < 0) a.left = x + 1;
            a.right = x;
        }
    }
    for (int y = 0; y < im->h; y++) {
        int n = 0;
        for (int x = 0; x < im->w; x++) n += dark(pixel(im, x, y));
        if (n > im->w / 2) {
            if (a.top < 0) a.top = y + 1;
            a.bottom = y;
        }
    }
    assert_true(a.left > 0 && a.right > a.left + 100 && a.top > 0 && a.bottom > a.top + 100);
    return a;
}

static int inside(const mp_plot_area *a, int x, int y) {
    return x > a->left && x < a->right - 1 && y > a->top && y < a->bottom - 1;
}

/* Pixels of exactly this colour inside the plot area, and below its top edge outside it
 * (above it is the legend, which shows every colour). */
static void count_color(const image *im, const mp_plot_area *a, mp_rgb color, int *in, int *out) {
    *in = *out = 0;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++)
            if (same(pixel(im, x, y), color)) {
                if (inside(a, x, y)) ++*in;
                else if (y >= a->top - 1) ++*out;
            }
}

/* The frame is dark all round, and the margins right of and below it are white apart
 * from tick marks and labels, which stay close to the frame. */
static void check_axes_and_background(const image *im, const mp_plot_area *a) {
    for (int y = a->top - 1; y <= a->bottom; y++)
        for (int x = 0; x < 2; x++) {
            assert_true(dark(pixel(im, a->left - 1 + x, y)));
            assert_true(dark(pixel(im, a->right - 1 + x, y)));
        }
    for (int x = a->left - 1; x <= a->right; x++)
        for (int y = 0; y < 2; y++) {
            assert_true(dark(pixel(im, x, a->top - 1 + y)));
            assert_true(dark(pixel(im, x, a->bottom - 1 + y)));
        }
    for (int y = 0; y < im->h; y++)
        for (int x = a->right + 40; x < im->w; x++) assert_true(white(pixel(im, x, y)));
    for (int x = 0; x < 4; x++)
        for (int y = 0; y < 4; y++) {
            assert_true(white(pixel(im, x, y)));
            assert_true(white(pixel(im, im->w - 1 - x, im->h - 1 - y)));
        }
}

/* ---- the four figures -------------------------------------------------------------- */

/* A run that learns: accuracy rises, loss falls, thetas drift apart, angles 60..100. */
static mp_record *synthetic_run(int n) {
    mp_record *rec = calloc(n ? n : 1, sizeof *rec);
    unsigned seed = 11;
    for (int i = 0; i < n; i++) {
        double t = (double)i / n;
        rec[i].episode = i + 1;
        rec[i].accuracy = 0.2 + 0.6 * (1 - exp(-4 * t)) + 0.3 * noise(&seed);
        rec[i].loss = 1.6 - 0.9 * t + 0.6 * noise(&seed);
        for (int k = 0; k < MP_THETAS; k++) rec[i].theta[k] = 1e-3 * (k + 1) + 1e-4 * i * (k - 2);
        for (int k = 0; k <= MP_LAYERS; k++)
            rec[i].angle[k] = k == 0 || k == MP_LAYERS ? 0 : 100 - 10 * k + 20 * noise(&seed);
    }
    return rec;
}

static const char *const FILES[] = {"meta_accuracy.png", "meta_loss.png", "meta_angle.png",
                                    "meta_params.png"};
/* the release's terms (--vec 1 2): three thetas in meta_params.png */
#define TERMS 0x7u
static const int CURVES[] = {1, 1, 4, 3};

static image load_figure(const char *dir, const char *file) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    image im = load_png(path);
    assert_int_equal(im.w, MP_FIGURE_W);
    assert_int_equal(im.h, MP_FIGURE_H);
    return im;
}

static void test_plot_all_figures(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    assert_non_null(dir);
    mp_record *rec = synthetic_run(600);
    mp_err err = {""};
    assert_int_equal(mp_plot_all(dir, rec, 600, 10, TERMS, &err), 0);
    for (int f = 0; f < 4; f++) {
        image im = load_figure(dir, FILES[f]);
        mp_plot_area a = find_frame(&im);
        check_axes_and_background(&im, &a);
        for (int s = 0; s < CURVES[f]; s++) {
            int in, out;
            count_color(&im, &a, mp_series_color(s), &in, &out);
            if (in < 100) fail_msg("%s: curve %d shows only %d pixels", FILES[f], s, in);
            if (out) fail_msg("%s: curve %d has %d pixels outside the plot", FILES[f], s, out);
        }
        free(im.rgb);
    }
    /* the dashed line at 90 degrees: y range 0..120, so a quarter down from the top */
    image im = load_figure(dir, "meta_angle.png");
    mp_plot_area a = find_frame(&im);
    int row = (int)lround(a.top + (a.bottom - a.top) * 30.0 / 120.0);
    const mp_rgb grey = {128, 128, 128};
    int grey_run = 0, dashes = 0, gaps = 0;
    for (int x = a.left + 1; x < a.right - 1; x++) {
        int on = same(pixel(&im, x, row - 1), grey) && same(pixel(&im, x, row), grey);
        dashes += on && !grey_run;
        gaps += !on && grey_run;
        grey_run = on;
        assert_false(same(pixel(&im, x, row - 3), grey) || same(pixel(&im, x, row + 2), grey));
    }
    assert_true(dashes > 20 && gaps > 20);
    free(im.rgb);
    free(rec);
    tu_rmtree(dir);
    free(dir);
}

/* No episodes, one episode, a constant run: valid figures, a dot for the one episode. */
static void test_plot_all_small_and_flat_runs(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    assert_non_null(dir);
    mp_record *rec = synthetic_run(3);
    mp_err err = {""};
    for (int n = 0; n <= 1; n++) {
        assert_int_equal(mp_plot_all(dir, rec, n, 10, TERMS, &err), 0);
        for (int f = 0; f < 4; f++) {
            image im = load_figure(dir, FILES[f]);
            mp_plot_area a = find_frame(&im);
            check_axes_and_background(&im, &a);
            int in, out;
            count_color(&im, &a, mp_series_color(0), &in, &out);
            assert_int_equal(in > 20, n == 1);
            assert_int_equal(out, 0);
            free(im.rgb);
        }
    }
    /* all thetas zero: a range around zero, the curves across the middle */
    for (int i = 0; i < 3; i++) memset(rec[i].theta, 0, sizeof rec[i].theta);
    assert_int_equal(mp_plot_all(dir, rec, 3, 10, TERMS, &err), 0);
    image im = load_figure(dir, "meta_params.png");
    mp_plot_area a = find_frame(&im);
    int in, out;
    count_color(&im, &a, mp_series_color(2), &in, &out); /* theta_2, the last */
    assert_true(in > 100);
    assert_int_equal(out, 0);
    int middle = (a.top + a.bottom) / 2;
    assert_true(same(pixel(&im, (a.left + a.right) / 2, middle), mp_series_color(2)));
    free(im.rgb);
    free(rec);
    tu_rmtree(dir);
    free(dir);
}

/* Values beyond the y range are cut at the frame; a NaN leaves a gap. */
static void test_figure_clips_and_breaks(void **state) {
    (void)state;
    const double x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    const double y[] = {0.5, 7, -3, 0.5, INFINITY, 0.5, NAN, 0.5, 1e300, -INFINITY};
    const double flat_y[] = {0.5, 0.5, 0.5, 0.5, NAN, 0.5, 0.5, 0.5, 0.5, 0.5};
    mp_figure fig = {.title = "clip", .ylabel = "y", .xmin = 0, .xmax = 11, .ymin = 0, .ymax = 1, .ref_y = NAN,
                     .nseries = 2,
                     .series = {{.name = "wild", .x = x, .y = y, .n = 10},
                                {.name = "flat", .x = x, .y = flat_y, .n = 10}}};
    mp_err err;
    mp_canvas *c = mp_canvas_new(MP_FIGURE_W, MP_FIGURE_H, &err);
    assert_non_null(c);
    mp_plot_area a;
    mp_figure_draw(c, &fig, &a);
    image im = canvas_image(c);
    mp_plot_area found = find_frame(&im);
    assert_int_equal(found.left, a.left);
    assert_int_equal(found.right, a.right);
    assert_int_equal(found.top, a.top);
    assert_int_equal(found.bottom, a.bottom);
    check_axes_and_background(&im, &a);
    /* nothing reddish or bluish outside the frame, below the legend */
    for (int py = a.top - 1; py < im.h; py++)
        for (int px = 0; px < im.w; px++) {
            mp_rgb p = pixel(&im, px, py);
            if (!inside(&a, px, py) && (p.b > p.r + 30 || p.r > p.g + 30))
                fail_msg("curve colour at (%d, %d) outside the plot area", px, py);
        }
    int in, out;
    count_color(&im, &a, mp_series_color(0), &in, &out);
    assert_true(in > 100);
    /* the flat curve: drawn at 0.5 from episode 1 to 4, not at 5 (NaN), again from 6 */
    int row = (int)mp_plot_y(&a, 0.5);
    assert_true(same(pixel(&im, (int)mp_plot_x(&a, 3.5), row), mp_series_color(1)));
    assert_true(white(pixel(&im, (int)mp_plot_x(&a, 5), row)));
    assert_true(same(pixel(&im, (int)mp_plot_x(&a, 8.5), row), mp_series_color(1)));
    mp_canvas_free(c);
}

static void test_plot_all_reports_the_path(void **state) {
    (void)state;
    mp_record *rec = synthetic_run(5);
    mp_err err = {""};
    const char *dir = "/nonexistent-metaplast-dir/run";
    assert_int_equal(mp_plot_all(dir, rec, 5, 10, TERMS, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent-metaplast-dir/run/meta_accuracy.png"));
    free(rec);
}


/* ---- many thetas ------------------------------------------------------------------- */

/* The box of the pixels of exactly this colour above row `below` (the legend's). */
typedef struct { int x0, y0, x1, y1, n; } box;
static box color_box(const image *im, mp_rgb color, int below) {
    box b = {im->w, im->h, -1, -1, 0};
    for (int y = 0; y < below; y++)
        for (int x = 0; x < im->w; x++)
            if (same(pixel(im, x, y), color)) {
                b.n++;
                if (x < b.x0) b.x0 = x;
                if (x > b.x1) b.x1 = x;
                if (y < b.y0) b.y0 = y;
                if (y > b.y1) b.y1 = y;
            }
    return b;
}

/* Legend names: "theta_k" and the term's name (mp_rule_name). */
static void test_theta_legend_names(void **state) {
    (void)state;
    char name[64];
    mp_theta_legend_name(0, name, sizeof name);
    assert_string_equal(name, "theta_0 pseudo_grad");
    mp_theta_legend_name(1, name, sizeof name);
    assert_string_equal(name, "theta_1 eHebb");
    mp_theta_legend_name(2, name, sizeof name);
    assert_string_equal(name, "theta_2 Oja");
    for (int k = 0; k < MP_THETAS; k++) {
        mp_theta_legend_name(k, name, sizeof name);
        char want[64];
        snprintf(want, sizeof want, "theta_%d", k);
        assert_int_equal(strncmp(name, want, strlen(want)), 0);
        if (mp_rule_name(k)) assert_non_null(strstr(name, mp_rule_name(k)));
        printf("  legend entry %d: '%s'\n", k, name);
    }
}

/* meta_params.png with the whole pool: ten curves, ten distinct colours, every legend
 * sample above the plot area and apart from the others, nothing outside the figure. */
static void test_plot_all_ten_thetas(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    assert_non_null(dir);
    enum { N = 200 };
    mp_record *rec = synthetic_run(N);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < MP_THETAS; k++) rec[i].theta[k] = 1e-3 * (k - 4.5) * (1 + 0.004 * i * (k % 3));
    mp_err err = {""};
    assert_int_equal(mp_plot_all(dir, rec, N, 10, 0x3ffu, &err), 0);
    image im = load_figure(dir, "meta_params.png");
    mp_plot_area a = find_frame(&im);
    check_axes_and_background(&im, &a);
    box boxes[MP_THETAS];
    for (int k = 0; k < MP_THETAS; k++) {
        for (int j = 0; j < k; j++) assert_false(same(mp_series_color(j), mp_series_color(k)));
        int in, out;
        count_color(&im, &a, mp_series_color(k), &in, &out);
        if (in < 100 || out) fail_msg("theta_%d: %d pixels in the plot, %d outside", k, in, out);
        boxes[k] = color_box(&im, mp_series_color(k), a.top - 2);
        if (boxes[k].n < 20) fail_msg("theta_%d: no legend sample above the plot", k);
        assert_true(boxes[k].x0 >= 0 && boxes[k].x1 < a.right + 40);
        printf("  theta_%d: %d pixels; legend sample at (%d..%d, %d..%d)\n", k, in, boxes[k].x0, boxes[k].x1,
               boxes[k].y0, boxes[k].y1);
        for (int j = 0; j < k; j++) /* samples apart */
            assert_true(boxes[k].x0 > boxes[j].x1 || boxes[j].x0 > boxes[k].x1 || boxes[k].y0 > boxes[j].y1 ||
                        boxes[j].y0 > boxes[k].y1);
    }
    /* the legend took several rows, so the plot area starts lower than with one */
    int rows = 1;
    for (int k = 1; k < MP_THETAS; k++) rows += boxes[k].y0 > boxes[k - 1].y1;
    printf("  legend of %d rows; plot area from row %d\n", rows, a.top);
    assert_true(rows > 1 && rows <= 5);
    assert_true(a.bottom - a.top > 300);
    free(im.rgb);

    /* a subset: theta_0 and theta_5 only, in colours 0 and 5; no other curve */
    assert_int_equal(mp_plot_all(dir, rec, N, 10, 0x21u, &err), 0);
    im = load_figure(dir, "meta_params.png");
    a = find_frame(&im);
    for (int k = 0; k < MP_THETAS; k++) {
        int in, out;
        count_color(&im, &a, mp_series_color(k), &in, &out);
        if ((k == 0 || k == 5) != (in > 100)) fail_msg("terms 0 and 5: colour %d has %d pixels", k, in);
    }
    free(im.rgb);
    free(rec);
    tu_rmtree(dir);
    free(dir);
}

/* A generic figure with ten long legend entries: the grid stays inside the canvas. */
static void test_figure_legend_grid(void **state) {
    (void)state;
    enum { N = 50 };
    static double x[N], y[MP_FIGURE_MAX_SERIES][N];
    mp_figure fig = {.title = "many", .subtitle = "sub", .ylabel = "y", .xmin = 0, .xmax = N + 1, .ymin = 0, .ymax = 0,
                     .ref_y = NAN, .nseries = MP_FIGURE_MAX_SERIES};
    char names[MP_FIGURE_MAX_SERIES][64];
    for (int s = 0; s < MP_FIGURE_MAX_SERIES; s++) {
        for (int i = 0; i < N; i++) x[i] = i + 1, y[s][i] = s + 0.01 * i;
        snprintf(names[s], sizeof names[s], "series_%d with a long descriptive name", s);
        fig.series[s] = (mp_series){.name = names[s], .x = x, .y = y[s], .n = N};
    }
    mp_err err;
    mp_canvas *c = mp_canvas_new(MP_FIGURE_W, MP_FIGURE_H, &err);
    assert_non_null(c);
    mp_plot_area a;
    mp_figure_draw(c, &fig, &a);
    image im = canvas_image(c);
    check_axes_and_background(&im, &a);
    for (int s = 0; s < MP_FIGURE_MAX_SERIES; s++) {
        box b = color_box(&im, mp_series_color(s), a.top - 2);
        assert_true(b.n > 20 && b.x0 >= 0 && b.x1 < a.right + 40);
    }
    assert_true(a.bottom - a.top > 250);
    mp_canvas_free(c);
}

/* A band (mp_series lo/hi): a translucent tint of the series' colour between its edges,
 * under the line, with a gap where an edge is NaN; the data's y range takes it in. The x
 * label: NULL draws "episode", as before, pixel for pixel; another label other pixels. */
static void test_figure_band_and_xlabel(void **state) {
    (void)state;
    enum { N = 10 };
    double x[N], y[N], lo[N], hi[N];
    for (int i = 0; i < N; i++) x[i] = i + 1, y[i] = 0.5, lo[i] = 0.3, hi[i] = 0.7;
    lo[7] = NAN; /* no band from episode 7 to 9 */
    mp_figure fig = {.title = "band", .ylabel = "y", .xmin = 0, .xmax = 11, .ymin = 0, .ymax = 1, .ref_y = NAN,
                     .nseries = 1, .series = {{.name = "s", .x = x, .y = y, .n = N, .lo = lo, .hi = hi}}};
    mp_err err;
    mp_canvas *c = mp_canvas_new(MP_FIGURE_W, MP_FIGURE_H, &err);
    mp_canvas *plain = mp_canvas_new(MP_FIGURE_W, MP_FIGURE_H, &err);
    assert_non_null(c);
    assert_non_null(plain);
    mp_plot_area a;
    mp_figure_draw(c, &fig, &a);
    image im = canvas_image(c);
    mp_rgb col = mp_series_color(0), tint;
    tint.r = (unsigned char)lround(255 + (col.r - 255) * 0.2);
    tint.g = (unsigned char)lround(255 + (col.g - 255) * 0.2);
    tint.b = (unsigned char)lround(255 + (col.b - 255) * 0.2);
    /* off the grid lines (x ticks every 2 episodes, y every 0.2) */
    assert_true(same(pixel(&im, (int)mp_plot_x(&a, 3.3), (int)mp_plot_y(&a, 0.45)), tint));
    assert_true(same(pixel(&im, (int)mp_plot_x(&a, 3.3), (int)mp_plot_y(&a, 0.62)), tint));
    assert_true(white(pixel(&im, (int)mp_plot_x(&a, 3.3), (int)mp_plot_y(&a, 0.85))));
    assert_true(white(pixel(&im, (int)mp_plot_x(&a, 3.3), (int)mp_plot_y(&a, 0.15))));
    assert_true(white(pixel(&im, (int)mp_plot_x(&a, 7.3), (int)mp_plot_y(&a, 0.45)))); /* the gap */
    assert_true(same(pixel(&im, (int)mp_plot_x(&a, 3.3), (int)mp_plot_y(&a, 0.5)), col)); /* the line on top */
    /* without the band: no tint, and every pixel outside the band's region as with it */
    fig.series[0].lo = fig.series[0].hi = NULL;
    mp_figure_draw(plain, &fig, NULL);
    image pm = canvas_image(plain);
    assert_true(white(pixel(&pm, (int)mp_plot_x(&a, 3.3), (int)mp_plot_y(&a, 0.45))));
    int top = (int)mp_plot_y(&a, 0.7) - 1, bottom = (int)mp_plot_y(&a, 0.3) + 2;
    for (int py = 0; py < im.h; py++)
        for (int px = 0; px < im.w; px++)
            if ((py < top || py > bottom) && !same(pixel(&im, px, py), pixel(&pm, px, py)))
                fail_msg("the band changed pixel (%d, %d), outside its region", px, py);
    /* xlabel NULL is "episode"; another label changes only the bottom margin */
    mp_canvas *labelled = mp_canvas_new(MP_FIGURE_W, MP_FIGURE_H, &err);
    fig.xlabel = "episode";
    mp_figure_draw(labelled, &fig, NULL);
    assert_memory_equal(labelled->rgb, plain->rgb, (size_t)MP_FIGURE_W * MP_FIGURE_H * 3);
    mp_canvas_free(labelled);
    labelled = mp_canvas_new(MP_FIGURE_W, MP_FIGURE_H, &err);
    fig.xlabel = "training samples";
    mp_figure_draw(labelled, &fig, NULL);
    image lm = canvas_image(labelled);
    int differ = 0;
    for (int py = 0; py < im.h; py++)
        for (int px = 0; px < im.w; px++)
            if (!same(pixel(&lm, px, py), pixel(&pm, px, py))) {
                assert_true(py > a.bottom + 30);
                differ++;
            }
    assert_true(differ > 100);
    mp_canvas_free(labelled);
    /* an automatic y range holds the band */
    for (int i = 0; i < N; i++) lo[i] = -2, hi[i] = 3;
    fig.ymin = fig.ymax = 0;
    fig.series[0].lo = lo, fig.series[0].hi = hi;
    mp_figure_draw(c, &fig, &a);
    assert_true(a.ymin <= -2 && a.ymax >= 3);
    mp_canvas_free(c);
    mp_canvas_free(plain);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moving_average_matches_direct),
        cmocka_unit_test(test_moving_average_centres),
        cmocka_unit_test(test_moving_average_short_runs_are_raw),
        cmocka_unit_test(test_moving_average_nan_leaves_a_gap),
        cmocka_unit_test(test_plot_all_figures),
        cmocka_unit_test(test_plot_all_small_and_flat_runs),
        cmocka_unit_test(test_figure_clips_and_breaks),
        cmocka_unit_test(test_plot_all_reports_the_path),
        cmocka_unit_test(test_theta_legend_names),
        cmocka_unit_test(test_plot_all_ten_thetas),
        cmocka_unit_test(test_figure_legend_grid),
        cmocka_unit_test(test_figure_band_and_xlabel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
