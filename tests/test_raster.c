/* The rasteriser: pixels where strokes and glyphs should be, clipping, PNG output. */
#include "testutil.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot/raster.h"

static const mp_rgb RED = {200, 0, 0};
static const mp_rgb WHITE = {255, 255, 255};

static int same(mp_rgb a, mp_rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

static mp_canvas *canvas(int w, int h) {
    mp_err err;
    mp_canvas *c = mp_canvas_new(w, h, &err);
    assert_non_null(c);
    return c;
}

/* Number of pixels that are not white outside [x0, x1) x [y0, y1). */
static int painted_outside(const mp_canvas *c, int x0, int y0, int x1, int y1) {
    int count = 0;
    for (int y = 0; y < c->height; y++)
        for (int x = 0; x < c->width; x++)
            if ((x < x0 || x >= x1 || y < y0 || y >= y1) && !same(mp_canvas_pixel(c, x, y), WHITE))
                count++;
    return count;
}

static void test_canvas_starts_white(void **state) {
    (void)state;
    mp_canvas *c = canvas(7, 5);
    assert_int_equal(painted_outside(c, 0, 0, 0, 0), 0);
    assert_true(same(mp_canvas_pixel(c, -1, 99), WHITE));
    mp_canvas_free(c);
    mp_err err;
    assert_null(mp_canvas_new(0, 5, &err));
    assert_non_null(strstr(err.msg, "0 x 5"));
}

static void test_fill_rect_respects_clip(void **state) {
    (void)state;
    mp_canvas *c = canvas(10, 10);
    mp_fill_rect(c, 2, 1, 5, 3, RED);
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 10; x++)
            assert_int_equal(same(mp_canvas_pixel(c, x, y), RED), x >= 2 && x < 5 && y >= 1 && y < 3);
    mp_canvas_clip(c, 6, 6, 8, 7);
    mp_fill_rect(c, -100, -100, 100, 100, RED);
    mp_canvas_unclip(c);
    assert_int_equal(painted_outside(c, 0, 0, 0, 0), 3 * 2 + 2 * 1);
    assert_true(same(mp_canvas_pixel(c, 7, 6), RED));
    assert_true(same(mp_canvas_pixel(c, 8, 6), WHITE));
    mp_canvas_free(c);
}

/* A 2-pixel line on a pixel boundary is crisp; a slanted one has partly covered pixels. */
static void test_lines_are_antialiased(void **state) {
    (void)state;
    mp_canvas *c = canvas(60, 60);
    mp_draw_line(c, 5, 10, 40, 10, 2, RED);
    for (int x = 6; x < 40; x++) {
        assert_true(same(mp_canvas_pixel(c, x, 9), RED));
        assert_true(same(mp_canvas_pixel(c, x, 10), RED));
        assert_true(same(mp_canvas_pixel(c, x, 8), WHITE));
        assert_true(same(mp_canvas_pixel(c, x, 11), WHITE));
    }
    mp_draw_line(c, 5, 20, 55, 50, 1.5, RED);
    int full = 0, partial = 0;
    for (int y = 15; y < 60; y++)
        for (int x = 0; x < 60; x++) {
            mp_rgb p = mp_canvas_pixel(c, x, y);
            full += same(p, RED);
            partial += !same(p, RED) && !same(p, WHITE);
        }
    assert_true(full > 15);
    assert_true(partial > 50);
    /* far from the line nothing is touched */
    assert_true(same(mp_canvas_pixel(c, 50, 25), WHITE));
    assert_true(same(mp_canvas_pixel(c, 10, 50), WHITE));
    mp_canvas_free(c);
}

static void test_polyline_breaks_at_nan_and_dots_lone_points(void **state) {
    (void)state;
    mp_canvas *c = canvas(120, 30);
    const double x[] = {10, 40, 50, 60.5, NAN, 80, 110};
    const double y[] = {10.5, 10.5, NAN, 10.5, 10.5, 10.5, 10.5};
    mp_draw_polyline(c, x, y, 7, 1, RED);
    assert_true(same(mp_canvas_pixel(c, 25, 10), RED));     /* 10..40 drawn */
    assert_true(same(mp_canvas_pixel(c, 45, 10), WHITE));   /* no bridge over the NaN */
    assert_true(same(mp_canvas_pixel(c, 60, 10), RED));     /* 60 stands alone: a dot */
    assert_true(same(mp_canvas_pixel(c, 70, 10), WHITE));
    assert_true(same(mp_canvas_pixel(c, 95, 10), RED));     /* 80..110 drawn */
    mp_draw_disc(c, 60, 20, 4, RED);
    assert_true(same(mp_canvas_pixel(c, 60, 20), RED));
    assert_true(same(mp_canvas_pixel(c, 66, 20), WHITE));
    mp_canvas_free(c);
}

/* Strokes, even with absurd coordinates, never paint outside the clip rectangle. */
static void test_strokes_stay_inside_clip(void **state) {
    (void)state;
    mp_canvas *c = canvas(40, 40);
    mp_canvas_clip(c, 10, 10, 30, 30);
    mp_draw_line(c, -1e9, 20, 1e9, 20, 3, RED);
    assert_true(same(mp_canvas_pixel(c, 12, 20), RED));
    mp_draw_line(c, -1e300, 20, 1e300, 20, 3, RED);
    mp_draw_line(c, -1e300, -1e300, 1e300, 1e300, 2, RED);
    const double x[] = {0, 20, 1e308, INFINITY, 15, -1e200};
    const double y[] = {0, 1e305, 15, 12, -INFINITY, 25};
    mp_draw_polyline(c, x, y, 6, 3, RED);
    mp_draw_dashed_line(c, 20, -1e9, 20, 1e9, 2, 4, 4, RED);
    mp_draw_disc(c, 20, 20, 100, RED);
    mp_canvas_unclip(c);
    assert_int_equal(painted_outside(c, 10, 10, 30, 30), 0);
    mp_canvas_free(c);
}

static void test_dashed_line_pattern(void **state) {
    (void)state;
    mp_canvas *c = canvas(100, 30);
    mp_draw_dashed_line(c, 0, 20, 100, 20, 2, 10, 6, RED);
    for (int x = 0; x < 100; x++) {
        int in_dash = x % 16 < 10;
        assert_int_equal(same(mp_canvas_pixel(c, x, 19), RED), in_dash);
        assert_int_equal(same(mp_canvas_pixel(c, x, 20), RED), in_dash);
        assert_true(same(mp_canvas_pixel(c, x, 18), WHITE));
        assert_true(same(mp_canvas_pixel(c, x, 21), WHITE));
    }
    mp_canvas_free(c);
}

static mp_text_style text_style(int scale, mp_text_halign h, mp_text_valign v, int rotated) {
    return (mp_text_style){scale, h, v, rotated, RED};
}

/* Each ink font pixel becomes a scale x scale block of colour, everything else stays white. */
static void test_text_puts_ink_where_the_glyph_is(void **state) {
    (void)state;
    mp_canvas *c = canvas(60, 40);
    mp_text_style st = text_style(2, MP_TEXT_LEFT, MP_TEXT_TOP, 0);
    mp_draw_text(c, 10, 5, "Ag", &st);
    int ink = 0;
    for (int i = 0; i < 2; i++)
        for (int row = 0; row < MP_FONT_H; row++)
            for (int col = 0; col < MP_FONT_ADVANCE; col++) {
                int want = mp_font_pixel("Ag"[i], col, row);
                ink += want;
                int x = 10 + (i * MP_FONT_ADVANCE + col) * 2, y = 5 + row * 2;
                for (int k = 0; k < 4; k++)
                    assert_int_equal(same(mp_canvas_pixel(c, x + k % 2, y + k / 2), RED), want);
            }
    assert_true(ink > 20);
    assert_int_equal(painted_outside(c, 10, 5, 10 + mp_text_width("Ag", 2), 5 + MP_FONT_H * 2), 0);
    mp_canvas_free(c);
}

/* Bounding box of the painted pixels. */
static void ink_box(const mp_canvas *c, int *x0, int *y0, int *x1, int *y1) {
    *x0 = *y0 = 1 << 30, *x1 = *y1 = -1;
    for (int y = 0; y < c->height; y++)
        for (int x = 0; x < c->width; x++)
            if (!same(mp_canvas_pixel(c, x, y), WHITE)) {
                if (x < *x0) *x0 = x;
                if (y < *y0) *y0 = y;
                if (x + 1 > *x1) *x1 = x + 1;
                if (y + 1 > *y1) *y1 = y + 1;
            }
}

static void test_text_alignment_and_rotation(void **state) {
    (void)state;
    int x0, y0, x1, y1;
    mp_canvas *c = canvas(100, 100);
    mp_text_style st = text_style(2, MP_TEXT_RIGHT, MP_TEXT_BASELINE, 0);
    mp_draw_text(c, 80, 50, "HE", &st);  /* H and E reach all four edges of their cells */
    ink_box(c, &x0, &y0, &x1, &y1);
    assert_int_equal(x1, 80);
    assert_int_equal(x0, 80 - mp_text_width("HE", 2));
    assert_int_equal(y1, 50);
    assert_int_equal(y0, 50 - mp_text_height(2));
    mp_canvas_free(c);

    c = canvas(100, 100);
    st = text_style(2, MP_TEXT_CENTER, MP_TEXT_MIDDLE, 0);
    mp_draw_text(c, 50, 50, "HH", &st);
    ink_box(c, &x0, &y0, &x1, &y1);
    assert_true(abs((x0 + x1) - 100) <= 1 && abs((y0 + y1) - 100) <= 1);
    mp_canvas_free(c);

    /* turned: reads upwards, so "HE" has its H at the bottom, capitals' tops to the left */
    c = canvas(100, 100);
    st = text_style(2, MP_TEXT_LEFT, MP_TEXT_TOP, 1);
    mp_draw_text(c, 20, 80, "HE", &st);
    ink_box(c, &x0, &y0, &x1, &y1);
    assert_int_equal(x0, 20);
    assert_int_equal(x1, 20 + mp_text_height(2));
    assert_int_equal(y1, 80);
    assert_int_equal(y0, 80 - mp_text_width("HE", 2));
    for (int row = 0; row < MP_FONT_ASCENT; row++)
        for (int col = 0; col < MP_FONT_W; col++) {
            /* font pixel (col, row) of the H: right of x by row, above y by col */
            int x = 20 + row * 2, y = 80 - (col + 1) * 2;
            assert_int_equal(same(mp_canvas_pixel(c, x, y), RED), mp_font_pixel('H', col, row));
        }
    mp_canvas_free(c);
}

static void glyph_bits(int ch, char *bits) {
    for (int i = 0; i < MP_FONT_W * MP_FONT_H; i++)
        bits[i] = (char)mp_font_pixel(ch, i % MP_FONT_W, i / MP_FONT_W);
}

static void test_font_covers_printable_ascii(void **state) {
    (void)state;
    char a[MP_FONT_W * MP_FONT_H], b[MP_FONT_W * MP_FONT_H];
    for (int ch = 32; ch <= 126; ch++) {
        glyph_bits(ch, a);
        assert_int_equal(memchr(a, 1, sizeof a) != NULL, ch != ' ');
        for (int other = 32; other < ch; other++) {
            glyph_bits(other, b);
            if (memcmp(a, b, sizeof a) == 0) fail_msg("glyphs '%c' and '%c' are the same", ch, other);
        }
    }
    glyph_bits('?', a);
    glyph_bits(200, b);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(mp_font_pixel('H', -1, 0) + mp_font_pixel('H', MP_FONT_W, 0), 0);
    /* descenders below the baseline; capitals stand on it */
    assert_int_equal(mp_font_pixel('g', 1, MP_FONT_ASCENT + 1), 1);
    assert_int_equal(mp_font_pixel('H', 0, MP_FONT_ASCENT - 1), 1);
    assert_int_equal(mp_font_pixel('H', 0, MP_FONT_ASCENT), 0);
}

static void test_png_round_trip(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    assert_non_null(dir);
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/x.png", dir);
    mp_canvas *c = canvas(13, 7);
    mp_fill_rect(c, 3, 2, 5, 6, RED);
    mp_fill_rect(c, 12, 6, 13, 7, (mp_rgb){1, 2, 3});
    mp_err err = {""};
    assert_int_equal(mp_canvas_save_png(c, path, &err), 0);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1);  /* renamed onto path */

    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&im, path));
    assert_int_equal(im.width, 13);
    assert_int_equal(im.height, 7);
    im.format = PNG_FORMAT_RGB;
    unsigned char *rgb = malloc(PNG_IMAGE_SIZE(im));
    assert_true(png_image_finish_read(&im, NULL, rgb, 0, NULL));
    assert_memory_equal(rgb, c->rgb, 13 * 7 * 3);
    free(rgb);
    mp_canvas_free(c);
    tu_rmtree(dir);
    free(dir);
}

static void test_png_errors_name_the_path(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    assert_non_null(dir);
    mp_canvas *c = canvas(300, 200);
    mp_err err = {""};
    char path[4096];

    snprintf(path, sizeof path, "%s/no/such/dir/x.png", dir);
    assert_int_equal(mp_canvas_save_png(c, path, &err), -1);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "No such file"));

    /* a directory in the way: the rename fails, and the temporary file goes away */
    snprintf(path, sizeof path, "%s/sub", dir);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir '%s'", path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(mp_canvas_save_png(c, path, &err), -1);
    assert_non_null(strstr(err.msg, path));
    snprintf(cmd, sizeof cmd, "%s.tmp", path);
    assert_int_equal(access(cmd, F_OK), -1);

    /* a full disk, met by the final flush (a small white image fits stdio's buffer) and,
     * with noise that does not compress, by libpng's own writes */
    for (int noisy = 0; noisy < 2; noisy++) {
        unsigned seed = 1;
        for (int i = 0; noisy && i < c->width * c->height * 3; i++)
            c->rgb[i] = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 16);
        FILE *f = fopen("/dev/full", "wb");
        if (!f) skip();
        assert_int_equal(mp_canvas_write_png(c, f, "/dev/full", &err), -1);
        assert_non_null(strstr(err.msg, "/dev/full"));
        assert_non_null(strstr(err.msg, "No space left"));
        assert_int_equal(noisy, strstr(err.msg, "libpng") != NULL);
        fclose(f);
    }
    mp_canvas_free(c);
    tu_rmtree(dir);
    free(dir);
}

/* mp_fill_between: the columns whose centres lie between the first and the last point,
 * the span between the edges (either may be the higher), soft at a fractional edge,
 * blended at alpha; a NaN leaves a gap; the clip holds. */
static void test_fill_between(void **state) {
    (void)state;
    mp_canvas *c = canvas(20, 30);
    mp_fill_between(c, (const double[]){2, 12}, (const double[]){15, 15}, (const double[]){5, 5}, 2, RED, 1.0);
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 20; x++)
            assert_int_equal(same(mp_canvas_pixel(c, x, y), RED), x >= 2 && x < 12 && y >= 5 && y < 15);
    mp_canvas_free(c);
    /* half alpha, and a half-covered top row */
    c = canvas(20, 30);
    mp_fill_between(c, (const double[]){0, 20}, (const double[]){5.5, 5.5}, (const double[]){10, 10}, 2, RED, 0.5);
    mp_rgb half = mp_canvas_pixel(c, 7, 7), quarter = mp_canvas_pixel(c, 7, 5);
    assert_int_equal(half.r, 228);
    assert_int_equal(half.g, 128);
    assert_int_equal(quarter.g, 191); /* 255 - 255 * 0.25, rounded */
    assert_true(same(mp_canvas_pixel(c, 7, 4), WHITE) && same(mp_canvas_pixel(c, 7, 10), WHITE));
    mp_canvas_free(c);
    /* a NaN edge at the third point: only the first piece is drawn */
    c = canvas(20, 30);
    mp_fill_between(c, (const double[]){0, 5, 10, 15}, (const double[]){2, 2, NAN, 2},
                    (const double[]){8, 8, 8, 8}, 4, RED, 1.0);
    assert_int_equal(painted_outside(c, 0, 2, 5, 8), 0);
    assert_true(same(mp_canvas_pixel(c, 4, 4), RED));
    mp_canvas_free(c);
    /* the clip, and coordinates far off the canvas */
    c = canvas(20, 30);
    mp_canvas_clip(c, 3, 3, 6, 6);
    mp_fill_between(c, (const double[]){-1e6, 1e6}, (const double[]){-1e6, -1e6}, (const double[]){1e6, 1e6}, 2, RED,
                    1.0);
    mp_canvas_unclip(c);
    assert_int_equal(painted_outside(c, 3, 3, 6, 6), 0);
    assert_true(same(mp_canvas_pixel(c, 5, 5), RED));
    mp_canvas_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canvas_starts_white),
        cmocka_unit_test(test_fill_rect_respects_clip),
        cmocka_unit_test(test_lines_are_antialiased),
        cmocka_unit_test(test_polyline_breaks_at_nan_and_dots_lone_points),
        cmocka_unit_test(test_strokes_stay_inside_clip),
        cmocka_unit_test(test_dashed_line_pattern),
        cmocka_unit_test(test_text_puts_ink_where_the_glyph_is),
        cmocka_unit_test(test_text_alignment_and_rotation),
        cmocka_unit_test(test_font_covers_printable_ascii),
        cmocka_unit_test(test_png_round_trip),
        cmocka_unit_test(test_png_errors_name_the_path),
        cmocka_unit_test(test_fill_between),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
