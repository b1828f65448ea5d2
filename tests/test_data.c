/* Databases: loading a fake one written here, each way it can be wrong, resizing,
 * and the real bymerge and Fashion-MNIST files when this machine has them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metaplast/data.h"
#include "testutil.h"

typedef struct {
    char *dir; /* first: tu_dir_fixture_new / tu_dir_fixture_free */
    mp_config cfg;
    char images[8192], labels[8192];
} fixture;

/* The fake database: bymerge file names, 4x4 images, pixel value = image index. */
enum { FAKE_DIM = 4 };

static int setup(void **state) {
    fixture *fx = tu_dir_fixture_new(sizeof *fx);
    if (!fx) return -1;
    snprintf(fx->cfg.database, sizeof fx->cfg.database, "emnist_bymerge");
    snprintf(fx->cfg.data_dir, sizeof fx->cfg.data_dir, "%s", fx->dir);
    fx->cfg.dim = FAKE_DIM;
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/emnist", fx->dir);
    if (mkdir(sub, 0755) != 0) return -1;
    snprintf(fx->images, sizeof fx->images, "%s/emnist-bymerge-test-images-idx3-ubyte.gz", sub);
    snprintf(fx->labels, sizeof fx->labels, "%s/emnist-bymerge-test-labels-idx1-ubyte.gz", sub);
    *state = fx;
    return 0;
}

static void write_labels(const char *path, const uint8_t *labels, int n) {
    const uint32_t dims[1] = {(uint32_t)n};
    assert_int_equal(tu_write_idx(path, 1, dims, labels, 1), 0);
}

/* Image i has every pixel equal to i. */
static void write_images(const char *path, int n, int rows, int cols) {
    const uint32_t dims[3] = {(uint32_t)n, (uint32_t)rows, (uint32_t)cols};
    uint8_t *pixels = malloc((size_t)n * rows * cols);
    for (int i = 0; i < n * rows * cols; i++) pixels[i] = (uint8_t)(i / (rows * cols));
    assert_int_equal(tu_write_idx(path, 3, dims, pixels, 1), 0);
    free(pixels);
}

static void write_fake(fixture *fx, const uint8_t *labels, int n) {
    write_labels(fx->labels, labels, n);
    write_images(fx->images, n, FAKE_DIM, FAKE_DIM);
}

static void expect_load_failure(fixture *fx, const char *what1, const char *what2) {
    mp_dataset ds;
    mp_err err = {{0}};
    assert_int_equal(mp_dataset_load(&fx->cfg, &ds, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, what1));
    if (what2) assert_non_null(strstr(err.msg, what2));
    assert_null(ds.pixels);
    assert_null(ds.class_start);
}

static void test_load_fake(void **state) {
    fixture *fx = *state;
    const uint8_t labels[7] = {2, 0, 1, 2, 0, 2, 2};
    write_fake(fx, labels, 7);
    mp_dataset ds;
    mp_err err = {{0}};
    assert_int_equal(mp_dataset_load(&fx->cfg, &ds, &err), 0);
    assert_int_equal(ds.count, 7);
    assert_int_equal(ds.dim, FAKE_DIM);
    assert_int_equal(ds.nclasses, 3);
    assert_int_equal(ds.smallest_class, 1);
    assert_string_equal(ds.images_path, fx->images);
    assert_string_equal(ds.labels_path, fx->labels);
    const int start[4] = {0, 2, 3, 7}, grouped[7] = {1, 4, 2, 0, 3, 5, 6};
    assert_memory_equal(ds.class_start, start, sizeof start);
    assert_memory_equal(ds.class_images, grouped, sizeof grouped);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(ds.labels[i], labels[i]);
        assert_int_equal(ds.pixels[i * FAKE_DIM * FAKE_DIM + 5], i);
    }
    mp_dataset_free(&ds);
    assert_null(ds.pixels);
}

/* --dim other than the files' size: every image resized at load. */
static void test_load_resized(void **state) {
    fixture *fx = *state;
    const uint8_t labels[3] = {0, 1, 0};
    write_fake(fx, labels, 3);
    fx->cfg.dim = 2;
    mp_dataset ds;
    mp_err err;
    assert_int_equal(mp_dataset_load(&fx->cfg, &ds, &err), 0);
    assert_int_equal(ds.dim, 2);
    for (int i = 0; i < 3 * 4; i++) assert_int_equal(ds.pixels[i], i / 4);
    mp_dataset_free(&ds);
}

static void test_count_mismatch(void **state) {
    fixture *fx = *state;
    const uint8_t labels[3] = {0, 1, 0};
    write_labels(fx->labels, labels, 3);
    write_images(fx->images, 4, FAKE_DIM, FAKE_DIM);
    expect_load_failure(fx, "image and label counts differ", fx->images);
    expect_load_failure(fx, "has 4 images", fx->labels);
}

static void test_label_out_of_range(void **state) {
    fixture *fx = *state;
    const uint8_t labels[4] = {0, 1, 47, 0};
    write_fake(fx, labels, 4);
    expect_load_failure(fx, fx->labels, "label 47 at index 2 is out of range 0..46");
}

static void test_empty_class(void **state) {
    fixture *fx = *state;
    const uint8_t labels[4] = {0, 3, 3, 0};
    write_fake(fx, labels, 4);
    expect_load_failure(fx, fx->labels, "class 1 has no images");
}

static void test_not_square(void **state) {
    fixture *fx = *state;
    const uint8_t labels[2] = {0, 0};
    write_labels(fx->labels, labels, 2);
    write_images(fx->images, 2, 4, 3);
    expect_load_failure(fx, fx->images, "4x3");
}

static void test_corrupt_file_named(void **state) {
    fixture *fx = *state;
    const uint8_t labels[2] = {0, 0};
    write_fake(fx, labels, 2);
    FILE *f = fopen(fx->images, "wb");
    assert_non_null(f);
    fputs("not an idx file at all", f);
    fclose(f);
    expect_load_failure(fx, fx->images, "bad magic number");
}

static void test_missing_files(void **state) {
    fixture *fx = *state;
    expect_load_failure(fx, fx->images, fx->labels);
    expect_load_failure(fx, "data/fetch-emnist.sh --dest ", "/emnist");
    /* The default --data_dir: the plain command, which fills data/emnist/. */
    snprintf(fx->cfg.data_dir, sizeof fx->cfg.data_dir, "data");
    snprintf(fx->cfg.database, sizeof fx->cfg.database, "emnist");
    if (access("data/emnist/emnist-balanced-test-images-idx3-ubyte.gz", F_OK) == 0) return;
    expect_load_failure(fx, "data/emnist/emnist-balanced-test-images-idx3-ubyte.gz",
                        "data/emnist/emnist-balanced-test-labels-idx1-ubyte.gz");
    expect_load_failure(fx, "`data/fetch-emnist.sh`", "--data_dir");
}

static void test_fashion_missing(void **state) {
    fixture *fx = *state;
    snprintf(fx->cfg.database, sizeof fx->cfg.database, "fashion_mnist");
    if (access("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", F_OK) == 0) {
        printf("SKIPPED: /usr/share/datasets/fashion-mnist is installed, so nothing is missing\n");
        skip();
    }
    expect_load_failure(fx, "fashion-mnist/t10k-images-idx3-ubyte.gz", "/usr/share/datasets/fashion-mnist");
    expect_load_failure(fx, "apt-get install dataset-fashion-mnist", NULL);
}

static void test_unknown_database(void **state) {
    fixture *fx = *state;
    snprintf(fx->cfg.database, sizeof fx->cfg.database, "mnist");
    expect_load_failure(fx, "unknown database 'mnist'", "emnist, emnist_bymerge, fashion_mnist");
}

static void test_database_names(void **state) {
    (void)state;
    int n = 0;
    for (; mp_database_names[n]; n++) assert_true(mp_database_known(mp_database_names[n]));
    assert_int_equal(n, 3);
    assert_string_equal(mp_database_names[0], "emnist");
    assert_false(mp_database_known("mnist"));
    assert_false(mp_database_known(""));
    assert_false(mp_database_known(NULL));
}

static void test_resize_constant(void **state) {
    (void)state;
    const int sizes[] = {1, 2, 7, 10, 14, 28, 40, 56, 100};
    uint8_t src[28 * 28], dst[100 * 100];
    memset(src, 173, sizeof src);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        int d = sizes[k];
        mp_resize_image(src, 28, dst, d);
        for (int i = 0; i < d * d; i++) assert_int_equal(dst[i], 173);
    }
}

static void test_resize_area(void **state) {
    (void)state;
    const uint8_t two[4] = {10, 20, 30, 41};
    uint8_t one;
    mp_resize_image(two, 2, &one, 1);
    assert_int_equal(one, 25); /* 101 / 4 = 25.25 */
    /* 3 -> 2: each output pixel covers 1.5 x 1.5 source pixels, so the source pixels
     * it touches weigh 1 x 1, 1 x 0.5 or 0.5 x 0.5 (of its area 2.25). */
    const uint8_t three[9] = {0, 0, 90, 0, 0, 90, 90, 90, 90};
    uint8_t out[4];
    mp_resize_image(three, 3, out, 2);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 60); /* 90 * (0.5 + 0.5 * 0.5) / 2.25 */
    assert_int_equal(out[2], 60);
    assert_int_equal(out[3], 80); /* 90 * (0.5 + 0.5 + 1) / 2.25 */
}

static void test_resize_bilinear(void **state) {
    (void)state;
    const uint8_t src[4] = {0, 200, 0, 200};
    uint8_t dst[16];
    mp_resize_image(src, 2, dst, 4);
    const uint8_t row[4] = {0, 50, 150, 200};
    for (int r = 0; r < 4; r++) assert_memory_equal(dst + 4 * r, row, 4);
    uint8_t same[4];
    mp_resize_image(src, 2, same, 2);
    assert_memory_equal(same, src, 4);
}

/* The real bymerge test split from ../shared/data (read-only, byte-identical to NIST's). */
static void test_shared_bymerge(void **state) {
    (void)state;
    const char *shared = tu_shared_dir();
    char images[4096];
    snprintf(images, sizeof images, "%s/data/emnist/emnist-bymerge-test-images-idx3-ubyte.gz",
             shared ? shared : "../shared");
    if (!shared || access(images, R_OK) != 0) {
        printf("SKIPPED: %s not found\n", images);
        skip();
    }
    mp_config cfg = {0};
    snprintf(cfg.database, sizeof cfg.database, "emnist_bymerge");
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s/data", shared);
    cfg.dim = 28;
    mp_dataset ds;
    mp_err err = {{0}};
    assert_int_equal(mp_dataset_load(&cfg, &ds, &err), 0);
    assert_int_equal(ds.count, 116323);
    assert_int_equal(ds.nclasses, 47);
    assert_int_equal(ds.dim, 28);
    assert_int_equal(ds.smallest_class, 415);
    assert_int_equal(ds.class_start[27] - ds.class_start[26], 415);
    int largest = 0;
    for (int c = 0; c < 47; c++) {
        int n = ds.class_start[c + 1] - ds.class_start[c];
        if (n > largest) largest = n;
    }
    assert_int_equal(largest, 6400);
    assert_int_equal(ds.class_start[47], 116323);
    mp_dataset_free(&ds);
}

static void test_fashion_mnist(void **state) {
    fixture *fx = *state;
    const char *system_dir = "/usr/share/datasets/fashion-mnist";
    if (access(system_dir, R_OK) != 0) {
        printf("SKIPPED: %s not found (apt-get install dataset-fashion-mnist)\n", system_dir);
        skip();
    }
    /* fx->dir has no fashion-mnist/, so the system copy is used. */
    snprintf(fx->cfg.database, sizeof fx->cfg.database, "fashion_mnist");
    fx->cfg.dim = 28;
    mp_dataset ds;
    mp_err err = {{0}};
    assert_int_equal(mp_dataset_load(&fx->cfg, &ds, &err), 0);
    assert_int_equal(ds.count, 10000);
    assert_int_equal(ds.nclasses, 10);
    assert_int_equal(ds.smallest_class, 1000);
    assert_non_null(strstr(ds.images_path, system_dir));
    mp_dataset_free(&ds);
}

/* Files under --data_dir come before the system copy. */
static void test_fashion_data_dir_first(void **state) {
    fixture *fx = *state;
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/fashion-mnist", fx->dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(fx->images, sizeof fx->images, "%s/t10k-images-idx3-ubyte.gz", sub);
    snprintf(fx->labels, sizeof fx->labels, "%s/t10k-labels-idx1-ubyte.gz", sub);
    const uint8_t labels[3] = {1, 0, 9};
    write_labels(fx->labels, labels, 3);
    write_images(fx->images, 3, FAKE_DIM, FAKE_DIM);
    snprintf(fx->cfg.database, sizeof fx->cfg.database, "fashion_mnist");
    expect_load_failure(fx, fx->labels, "class 2 has no images");
    const uint8_t too_big[3] = {1, 0, 10};
    write_labels(fx->labels, too_big, 3);
    expect_load_failure(fx, fx->labels, "label 10 at index 2 is out of range 0..9");
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, tu_dir_fixture_free)
    const struct CMUnitTest tests[] = {
        T(test_load_fake),          T(test_load_resized),       T(test_count_mismatch),
        T(test_label_out_of_range), T(test_empty_class),        T(test_not_square),
        T(test_corrupt_file_named), T(test_missing_files),      T(test_fashion_missing),
        T(test_unknown_database),   T(test_database_names),     T(test_resize_constant),
        T(test_resize_area),        T(test_resize_bilinear),    T(test_shared_bymerge),
        T(test_fashion_mnist),      T(test_fashion_data_dir_first),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
