/* A small RGB rasteriser and PNG writer: what the figures (plot.h) are drawn with.
 *
 * Coordinates are continuous: pixel (i, j) covers [i, i+1) x [j, j+1), its centre is
 * (i + 0.5, j + 0.5), y grows downwards. A 2-pixel line along y = 10.0 therefore covers
 * rows 9 and 10 exactly, and a 1-pixel line along y = 10.5 covers row 10. Every drawing
 * call touches only the pixels inside the canvas's clip rectangle. Any finite coordinate
 * is safe; beyond about 1e9 pixels off the canvas a line's position loses precision. */
#ifndef METAPLAST_RASTER_H
#define METAPLAST_RASTER_H

#include <stdio.h>

#include "metaplast/util.h"

typedef struct {
    unsigned char r, g, b;
} mp_rgb;

typedef struct {
    int width, height;
    unsigned char *rgb;             /* width * height * 3 bytes, row by row */
    int clip_x0, clip_y0;           /* drawing is limited to [clip_x0, clip_x1) x */
    int clip_x1, clip_y1;           /* [clip_y0, clip_y1), the whole canvas by default */
} mp_canvas;

/* A white canvas; NULL (with err filled in) when the size is not positive or too large. */
mp_canvas *mp_canvas_new(int width, int height, mp_err *err);
void mp_canvas_free(mp_canvas *c);

/* Limits drawing to the pixels [x0, x1) x [y0, y1) (intersected with the canvas). */
void mp_canvas_clip(mp_canvas *c, int x0, int y0, int x1, int y1);
void mp_canvas_unclip(mp_canvas *c);

/* The colour of pixel (x, y); white outside the canvas. */
mp_rgb mp_canvas_pixel(const mp_canvas *c, int x, int y);

/* Fills the pixels [x0, x1) x [y0, y1). */
void mp_fill_rect(mp_canvas *c, int x0, int y0, int x1, int y1, mp_rgb color);
/* A rectangle outline `thickness` pixels wide, drawn inside [x0, x1) x [y0, y1). */
void mp_stroke_rect(mp_canvas *c, int x0, int y0, int x1, int y1, int thickness, mp_rgb color);

/* Anti-aliased straight line `width` pixels wide (about 0.5 to 4), round ends. */
void mp_draw_line(mp_canvas *c, double x0, double y0, double x1, double y1, double width,
                  mp_rgb color);
/* Anti-aliased connected line through n points, round joins. A point with a non-finite
 * coordinate breaks the line; a point alone between two breaks is drawn as a dot. */
void mp_draw_polyline(mp_canvas *c, const double *x, const double *y, int n, double width,
                      mp_rgb color);
/* Anti-aliased dashed line: `dash` pixels drawn, `gap` pixels left out, square ends. */
void mp_draw_dashed_line(mp_canvas *c, double x0, double y0, double x1, double y1,
                         double width, double dash, double gap, mp_rgb color);
/* Fills, with `alpha` (0..1) of color over what is there, the region between two curves
 * over the same n points: at x[i] from y0[i] to y1[i] (either may be the higher), linear
 * in between. x must not decrease. Each pixel column whose centre lies between two
 * consecutive points takes the span interpolated at its centre, with a soft edge by
 * coverage along y; a point with a non-finite coordinate leaves a gap on both sides. */
void mp_fill_between(mp_canvas *c, const double *x, const double *y0, const double *y1, int n, mp_rgb color,
                     double alpha);
/* Anti-aliased filled disc (a plot marker). */
void mp_draw_disc(mp_canvas *c, double cx, double cy, double radius, mp_rgb color);

/* Text in the built-in bitmap font (ASCII 32..126; other bytes show as '?'). */
typedef enum { MP_TEXT_LEFT, MP_TEXT_CENTER, MP_TEXT_RIGHT } mp_text_halign;
typedef enum { MP_TEXT_TOP, MP_TEXT_MIDDLE, MP_TEXT_BASELINE } mp_text_valign;
typedef struct {
    int scale;                      /* screen pixels per font pixel, >= 1 */
    mp_text_halign halign;          /* where the anchor is along the text */
    mp_text_valign valign;          /* ... and across it: top of capitals, middle, baseline */
    int rotated;                    /* 1: turned 90 degrees, reads bottom to top */
    mp_rgb color;
} mp_text_style;

/* Draws text so that the point of it named by the alignment lands on (x, y). */
void mp_draw_text(mp_canvas *c, int x, int y, const char *text, const mp_text_style *style);
/* Length of the text along its reading direction, in pixels. */
int mp_text_width(const char *text, int scale);
/* Height of capitals (baseline to top) in pixels; descenders go 2 * scale lower. */
int mp_text_height(int scale);

/* The bitmap font (src/plot/font.c): each glyph is MP_FONT_W x MP_FONT_H font pixels, rows
 * 0..MP_FONT_ASCENT-1 above the baseline, the rest for descenders; glyphs are
 * MP_FONT_ADVANCE apart. */
enum { MP_FONT_W = 5, MP_FONT_H = 9, MP_FONT_ASCENT = 7, MP_FONT_ADVANCE = 6 };
/* 1 when font pixel (col, row) of character ch is ink ('?' stands in for ch outside
 * 32..126); 0 outside the glyph cell. */
int mp_font_pixel(int ch, int col, int row);

/* Writes the canvas as an 8-bit RGB PNG to f; `name` is used in error messages. */
int mp_canvas_write_png(const mp_canvas *c, FILE *f, const char *name, mp_err *err);
/* Writes the canvas as a PNG file. The image goes to path.tmp first and is renamed onto
 * path, so a reader (or a run killed meanwhile) never sees a half-written figure. */
int mp_canvas_save_png(const mp_canvas *c, const char *path, mp_err *err);

#endif
