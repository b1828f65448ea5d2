/* The rasteriser behind the figures: anti-aliased strokes by pixel coverage, bitmap
 * text, PNG output through libpng. */
#include "plot/raster.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

mp_canvas *mp_canvas_new(int width, int height, mp_err *err) {
    if (width <= 0 || height <= 0 || (size_t)width > SIZE_MAX / 3 / (size_t)height ||
        width > INT_MAX / 3) {
        mp_errf(err, "canvas size %d x %d is not possible", width, height);
        return NULL;
    }
    mp_canvas *c = mp_malloc(sizeof *c);
    c->width = width;
    c->height = height;
    c->rgb = mp_malloc((size_t)width * height * 3);
    memset(c->rgb, 255, (size_t)width * height * 3);
    mp_canvas_unclip(c);
    return c;
}

void mp_canvas_free(mp_canvas *c) {
    if (!c) return;
    free(c->rgb);
    free(c);
}

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void mp_canvas_clip(mp_canvas *c, int x0, int y0, int x1, int y1) {
    c->clip_x0 = clamp_int(x0, 0, c->width);
    c->clip_y0 = clamp_int(y0, 0, c->height);
    c->clip_x1 = clamp_int(x1, c->clip_x0, c->width);
    c->clip_y1 = clamp_int(y1, c->clip_y0, c->height);
}

void mp_canvas_unclip(mp_canvas *c) { mp_canvas_clip(c, 0, 0, c->width, c->height); }

mp_rgb mp_canvas_pixel(const mp_canvas *c, int x, int y) {
    if (x < 0 || y < 0 || x >= c->width || y >= c->height) return (mp_rgb){255, 255, 255};
    const unsigned char *p = c->rgb + ((size_t)y * c->width + x) * 3;
    return (mp_rgb){p[0], p[1], p[2]};
}

/* Paints `alpha` (0..1) of color over pixel (x, y), which the caller has clipped. */
static void blend(mp_canvas *c, int x, int y, mp_rgb color, double alpha) {
    unsigned char *p = c->rgb + ((size_t)y * c->width + x) * 3;
    const unsigned char src[3] = {color.r, color.g, color.b};
    for (int k = 0; k < 3; k++) p[k] = (unsigned char)lround(p[k] + (src[k] - p[k]) * alpha);
}

void mp_fill_rect(mp_canvas *c, int x0, int y0, int x1, int y1, mp_rgb color) {
    x0 = clamp_int(x0, c->clip_x0, c->clip_x1);
    x1 = clamp_int(x1, x0, c->clip_x1);
    y0 = clamp_int(y0, c->clip_y0, c->clip_y1);
    y1 = clamp_int(y1, y0, c->clip_y1);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) blend(c, x, y, color, 1.0);
}

void mp_stroke_rect(mp_canvas *c, int x0, int y0, int x1, int y1, int thickness, mp_rgb color) {
    mp_fill_rect(c, x0, y0, x1, y0 + thickness, color);
    mp_fill_rect(c, x0, y1 - thickness, x1, y1, color);
    mp_fill_rect(c, x0, y0 + thickness, x0 + thickness, y1 - thickness, color);
    mp_fill_rect(c, x1 - thickness, y0 + thickness, x1, y1 - thickness, color);
}

/* ---- strokes ---------------------------------------------------------------------- */

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

/* floor(v) as an int within [lo, hi]; NaN gives lo, so no out-of-range conversion. */
static int floor_within(double v, int lo, int hi) {
    if (!(v > lo)) return lo;
    if (v >= hi) return hi;
    return (int)floor(v);
}

/* The coverage of one stroke, gathered before it is blended: where the pieces of a
 * polyline or a dashed line overlap (at the joins) a pixel is painted once, not twice. */
typedef struct {
    int x0, y0, x1, y1;   /* the pixels [x0, x1) x [y0, y1) the stroke may touch */
    double pad;           /* half width + 1: how far from its centre line a piece reaches */
    float *cov;
} stroke;

/* A stroke whose pieces lie within the box [xmin, xmax] x [ymin, ymax]; 0 when nothing
 * of it can be visible. */
static int stroke_begin(stroke *s, const mp_canvas *c, double xmin, double ymin, double xmax,
                        double ymax, double half_width) {
    s->pad = half_width + 1;
    s->x0 = floor_within(xmin - s->pad, c->clip_x0, c->clip_x1);
    s->x1 = floor_within(xmax + s->pad + 1, s->x0, c->clip_x1);
    s->y0 = floor_within(ymin - s->pad, c->clip_y0, c->clip_y1);
    s->y1 = floor_within(ymax + s->pad + 1, s->y0, c->clip_y1);
    if (s->x0 == s->x1 || s->y0 == s->y1) return 0;
    s->cov = mp_calloc((size_t)(s->x1 - s->x0) * (s->y1 - s->y0), sizeof *s->cov);
    return 1;
}

static void stroke_end(stroke *s, mp_canvas *c, mp_rgb color) {
    int w = s->x1 - s->x0;
    for (int y = s->y0; y < s->y1; y++)
        for (int x = s->x0; x < s->x1; x++) {
            float a = s->cov[(size_t)(y - s->y0) * w + (x - s->x0)];
            if (a > 0) blend(c, x, y, color, a);
        }
    free(s->cov);
}

/* Liang-Barsky: the parameters [*t0, *t1] of the part of a->b inside the box; 0 when
 * none of it is. Keeps huge coordinates (a curve far off the plot) from costing work. */
static int clip_params(double ax, double ay, double bx, double by, double xmin, double ymin,
                       double xmax, double ymax, double *t0, double *t1) {
    const double p[4] = {ax - bx, bx - ax, ay - by, by - ay};
    const double q[4] = {ax - xmin, xmax - ax, ay - ymin, ymax - ay};
    *t0 = 0;
    *t1 = 1;
    for (int k = 0; k < 4; k++) {
        if (p[k] == 0) {
            if (q[k] < 0) return 0;
            continue;
        }
        double r = q[k] / p[k];
        if (p[k] < 0) {
            if (r > *t1) return 0;
            if (r > *t0) *t0 = r;
        } else {
            if (r < *t0) return 0;
            if (r < *t1) *t1 = r;
        }
    }
    return *t0 <= *t1;
}

/* How much of the pixel centred at (px, py) a stroke piece from a to b covers: one
 * minus the distance beyond its edge, which gives a one-pixel soft edge. Round caps
 * measure to the nearest point of the piece; square caps cut it off at a and b. */
static double piece_coverage(double px, double py, double ax, double ay, double bx, double by,
                             double half_width, int round_caps) {
    double dx = bx - ax, dy = by - ay, len = hypot(dx, dy);
    if (len < 1e-9) return clamp01(half_width + 0.5 - hypot(px - ax, py - ay));
    double ux = dx / len, uy = dy / len;
    double along = (px - ax) * ux + (py - ay) * uy;
    double across = fabs((py - ay) * ux - (px - ax) * uy);
    if (!round_caps)
        return clamp01(half_width + 0.5 - across) * clamp01(along + 0.5) *
               clamp01(len - along + 0.5);
    double beyond = along < 0 ? -along : along > len ? along - len : 0;
    return clamp01(half_width + 0.5 - hypot(beyond, across));
}

static void stroke_piece(stroke *s, double ax, double ay, double bx, double by, double half_width,
                         int round_caps) {
    double t0, t1;
    if (!clip_params(ax, ay, bx, by, s->x0 - s->pad, s->y0 - s->pad, s->x1 + s->pad,
                     s->y1 + s->pad, &t0, &t1))
        return;
    double cx0 = ax + (bx - ax) * t0, cy0 = ay + (by - ay) * t0;
    double cx1 = ax + (bx - ax) * t1, cy1 = ay + (by - ay) * t1;
    if (!isfinite(cx0) || !isfinite(cy0) || !isfinite(cx1) || !isfinite(cy1)) return;
    int x0 = floor_within(fmin(cx0, cx1) - s->pad, s->x0, s->x1);
    int x1 = floor_within(fmax(cx0, cx1) + s->pad + 1, x0, s->x1);
    int y0 = floor_within(fmin(cy0, cy1) - s->pad, s->y0, s->y1);
    int y1 = floor_within(fmax(cy0, cy1) + s->pad + 1, y0, s->y1);
    int w = s->x1 - s->x0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            /* the piece is cut `pad` outside the box: too far for a pixel in it to see
             * the cut ends, and near enough that huge coordinates lose no precision */
            float a = (float)piece_coverage(x + 0.5, y + 0.5, cx0, cy0, cx1, cy1, half_width,
                                            round_caps);
            float *m = &s->cov[(size_t)(y - s->y0) * w + (x - s->x0)];
            if (a > *m) *m = a;
        }
}

void mp_draw_line(mp_canvas *c, double x0, double y0, double x1, double y1, double width,
                  mp_rgb color) {
    mp_draw_polyline(c, (const double[]){x0, x1}, (const double[]){y0, y1}, 2, width, color);
}

static int point_ok(const double *x, const double *y, int i) {
    return isfinite(x[i]) && isfinite(y[i]);
}

void mp_draw_polyline(mp_canvas *c, const double *x, const double *y, int n, double width,
                      mp_rgb color) {
    double hw = width / 2;
    double xmin = INFINITY, ymin = INFINITY, xmax = -INFINITY, ymax = -INFINITY;
    for (int i = 0; i < n; i++)
        if (point_ok(x, y, i)) {
            xmin = fmin(xmin, x[i]), xmax = fmax(xmax, x[i]);
            ymin = fmin(ymin, y[i]), ymax = fmax(ymax, y[i]);
        }
    stroke s;
    if (!(hw > 0) || xmin > xmax || !stroke_begin(&s, c, xmin, ymin, xmax, ymax, hw)) return;
    for (int i = 0; i < n; i++) {
        if (!point_ok(x, y, i)) continue;
        int has_prev = i > 0 && point_ok(x, y, i - 1);
        int has_next = i + 1 < n && point_ok(x, y, i + 1);
        if (has_next)
            stroke_piece(&s, x[i], y[i], x[i + 1], y[i + 1], hw, 1);
        else if (!has_prev)
            stroke_piece(&s, x[i], y[i], x[i], y[i], hw, 1);
    }
    stroke_end(&s, c, color);
}

void mp_draw_dashed_line(mp_canvas *c, double x0, double y0, double x1, double y1,
                         double width, double dash, double gap, mp_rgb color) {
    double hw = width / 2, len = hypot(x1 - x0, y1 - y0);
    stroke s;
    if (!(hw > 0) || !(dash > 0) || !isfinite(len) || len == 0 ||
        !stroke_begin(&s, c, fmin(x0, x1), fmin(y0, y1), fmax(x0, x1), fmax(y0, y1), hw))
        return;
    /* dashes are laid out from (x0, y0) on, but only those in the stroke's box are made;
     * no gap means one piece (abutting pieces would show faint seams) */
    double t0, t1;
    if (!(gap > 0)) dash = len, gap = 0;
    double period = fmax(dash, 0.5) + gap;
    if (clip_params(x0, y0, x1, y1, s.x0 - s.pad, s.y0 - s.pad, s.x1 + s.pad, s.y1 + s.pad,
                    &t0, &t1)) {
        double from = t0 * len, to = t1 * len, ux = (x1 - x0) / len, uy = (y1 - y0) / len;
        for (double k = floor(from / period); k * period < to; k++) {
            double a = fmax(k * period, from), b = fmin(k * period + dash, to);
            if (a < b)
                stroke_piece(&s, x0 + ux * a, y0 + uy * a, x0 + ux * b, y0 + uy * b, hw, 0);
        }
    }
    stroke_end(&s, c, color);
}

/* ---- fills ------------------------------------------------------------------------ */

void mp_fill_between(mp_canvas *c, const double *x, const double *y0, const double *y1, int n, mp_rgb color,
                     double alpha) {
    alpha = clamp01(alpha);
    for (int i = 0; i + 1 < n; i++) {
        const double *ys[2] = {y0, y1};
        int ok = isfinite(x[i]) && isfinite(x[i + 1]);
        for (int k = 0; k < 2; k++) ok = ok && isfinite(ys[k][i]) && isfinite(ys[k][i + 1]);
        if (!ok || !(x[i + 1] > x[i])) continue;
        /* the columns whose centre px + 0.5 lies in [x[i], x[i+1]), the last point's own
         * column too: each column is painted by one piece, never twice */
        int last = i + 2 == n || !isfinite(x[i + 2]);
        int px0 = floor_within(ceil(x[i] - 0.5), c->clip_x0, c->clip_x1);
        int px1 = floor_within(last ? floor(x[i + 1] - 0.5) + 1 : ceil(x[i + 1] - 0.5), px0, c->clip_x1);
        for (int px = px0; px < px1; px++) {
            double t = (px + 0.5 - x[i]) / (x[i + 1] - x[i]);
            double a = y0[i] + (y0[i + 1] - y0[i]) * t, b = y1[i] + (y1[i + 1] - y1[i]) * t;
            double top = fmin(a, b), bottom = fmax(a, b);
            int py0 = floor_within(floor(top), c->clip_y0, c->clip_y1);
            int py1 = floor_within(ceil(bottom), py0, c->clip_y1);
            for (int py = py0; py < py1; py++) {
                double cover = fmin(py + 1, bottom) - fmax(py, top);
                if (cover > 0) blend(c, px, py, color, alpha * clamp01(cover));
            }
        }
    }
}

void mp_draw_disc(mp_canvas *c, double cx, double cy, double radius, mp_rgb color) {
    mp_draw_polyline(c, &cx, &cy, 1, 2 * radius, color);
}

/* ---- text ------------------------------------------------------------------------- */

int mp_text_width(const char *text, int scale) {
    size_t n = strlen(text);
    return n ? (int)(n * MP_FONT_ADVANCE - (MP_FONT_ADVANCE - MP_FONT_W)) * scale : 0;
}

int mp_text_height(int scale) { return MP_FONT_ASCENT * scale; }

void mp_draw_text(mp_canvas *c, int x, int y, const char *text, const mp_text_style *style) {
    int s = style->scale < 1 ? 1 : style->scale;
    int width = mp_text_width(text, s), height = mp_text_height(s);
    /* (u, v): along the text and down across it, from the top left of its first glyph */
    int u0 = style->halign == MP_TEXT_LEFT ? 0 : style->halign == MP_TEXT_CENTER ? width / 2 : width;
    int v0 = style->valign == MP_TEXT_TOP ? 0 : style->valign == MP_TEXT_MIDDLE ? height / 2 : height;
    for (int i = 0; text[i]; i++)
        for (int row = 0; row < MP_FONT_H; row++)
            for (int col = 0; col < MP_FONT_W; col++) {
                if (!mp_font_pixel((unsigned char)text[i], col, row)) continue;
                int u = (i * MP_FONT_ADVANCE + col) * s - u0, v = row * s - v0;
                if (style->rotated) /* u runs up the screen, v to the right */
                    mp_fill_rect(c, x + v, y - u - s, x + v + s, y - u, style->color);
                else
                    mp_fill_rect(c, x + u, y + v, x + u + s, y + v + s, style->color);
            }
}

/* ---- PNG -------------------------------------------------------------------------- */

/* What libpng reported before it jumped back to us. */
typedef struct {
    char msg[256];
    int errnum;   /* errno when it failed: set when a write to the file failed */
} png_failure;

static void on_png_error(png_structp png, png_const_charp msg) {
    png_failure *f = png_get_error_ptr(png);
    f->errnum = errno;
    snprintf(f->msg, sizeof f->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) {
    (void)png, (void)msg;  /* nothing we write can warrant one worth showing */
}

int mp_canvas_write_png(const mp_canvas *c, FILE *f, const char *name, mp_err *err) {
    png_failure failure = {"", 0};
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return mp_errf(err, "cannot write PNG %s: libpng could not start", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return mp_errf(err, "cannot write PNG %s: libpng: %s%s%s", name, failure.msg,
                       failure.errnum ? ": " : "", failure.errnum ? strerror(failure.errnum) : "");
    }
    errno = 0;  /* so an errno seen by on_png_error is from this write */
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)c->width, (png_uint_32)c->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < c->height; y++) png_write_row(png, c->rgb + (size_t)y * c->width * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    /* stdio may still hold the tail: a full disk shows up only now */
    if (fflush(f) != 0 || ferror(f))
        return mp_errf(err, "cannot write PNG %s: %s", name, strerror(errno ? errno : EIO));
    return 0;
}

int mp_canvas_save_png(const mp_canvas *c, const char *path, mp_err *err) {
    char *png = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&png, &len);
    if (!f) return mp_errf(err, "cannot write PNG %s: %s", path, strerror(errno));
    int rc = mp_canvas_write_png(c, f, path, err);
    if (fclose(f) != 0 && rc == 0) rc = mp_errf(err, "cannot write PNG %s: %s", path, strerror(errno));
    /* not durable: a plot lost to a machine crash is drawn again by --resume */
    if (rc == 0 && mp_write_file_atomic(path, png, len, 0, err) != 0) {
        mp_err inner = *err;
        rc = mp_errf(err, "cannot write PNG %s: %s", path, inner.msg);
    }
    free(png);
    return rc;
}
