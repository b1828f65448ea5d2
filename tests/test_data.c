/* Databases: loading a fake one written here, each way it can be wrong, resizing,
 * and the real bymerge and Fashion-MNIST files when this machine has them. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "metaplast/cli.h"
#include "metaplast/data.h"
#include "testutil.h"
#include "io/idx.h"

/* mp_dataset_load with what a configuration asks for. */
static int load_cfg(const mp_config *c, mp_dataset *ds, mp_err *e) {
    mp_data_request r = mp_config_data_request(c);
    return mp_dataset_load(&r, ds, e);
}

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
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), -1);
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
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), 0);
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
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), 0);
    assert_int_equal(ds.dim, 2);
    for (int i = 0; i < 3 * 4; i++) assert_int_equal(ds.pixels[i], i / 4);
    mp_dataset_free(&ds);
}

/* --classes: the pool tasks draw from, its smallest class, another pool of the same data;
 * a list that names a missing class or leaves fewer than M is a usage error (-2). */
static void test_class_pool(void **state) {
    fixture *fx = *state;
    /* classes 0..4 with 2, 3, 2, 4, 3 images */
    const uint8_t labels[14] = {0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4};
    write_fake(fx, labels, 14);
    fx->cfg.M = 2;
    fx->cfg.K = 1, fx->cfg.Q = 1;
    snprintf(fx->cfg.classes, sizeof fx->cfg.classes, "0-1,3");
    mp_dataset ds;
    mp_err err;
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), 0);
    assert_int_equal(ds.npool, 3);
    const int pool[3] = {0, 1, 3};
    assert_memory_equal(ds.pool, pool, sizeof pool);
    assert_int_equal(ds.pool_smallest, 2);
    assert_int_equal(ds.smallest_class, 2); /* of the whole database */
    mp_dataset_free(&ds);
    /* another pool of the same data: 2 and 4 */
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), 0);
    assert_int_equal(mp_dataset_use_classes(&ds, "2,4", 2, 2, &err), 0);
    const int rest[2] = {2, 4};
    assert_int_equal(ds.npool, 2);
    assert_memory_equal(ds.pool, rest, sizeof rest);
    assert_int_equal(ds.pool_smallest, 2);
    mp_dataset_free(&ds);
    /* K+Q = 3 is more than class 0 has (2), though the database's largest class has 4 */
    fx->cfg.K = 2;
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), -2);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "--classes 0-1,3"));
    assert_non_null(strstr(err.msg, "only 2 images"));
    fx->cfg.K = 1;
    fx->cfg.M = 4;
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), -2);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "3 classes"));
    assert_non_null(strstr(err.msg, "--M"));
    fx->cfg.M = 2;
    snprintf(fx->cfg.classes, sizeof fx->cfg.classes, "0-5");
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), -2);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "class 5 is not in the database"));
    assert_null(ds.pixels);
}

/* --images/--labels: any IDX pair by path, raw or gzip, with the named databases' checks. */
static void test_idx_pair(void **state) {
    fixture *fx = *state;
    char images[4000], labels[4000];
    snprintf(images, sizeof images, "%s/my-images.idx3", fx->dir);
    snprintf(labels, sizeof labels, "%s/my-labels.idx1.gz", fx->dir);
    const uint8_t y[4] = {1, 0, 1, 0};
    const uint32_t ldims[1] = {4}, idims[3] = {4, 3, 3};
    uint8_t px[36];
    for (int i = 0; i < 36; i++) px[i] = (uint8_t)i;
    assert_int_equal(tu_write_idx(images, 3, idims, px, 0), 0); /* raw */
    assert_int_equal(tu_write_idx(labels, 1, ldims, y, 1), 0);  /* gzip */
    mp_config c;
    mp_config_defaults(&c);
    snprintf(c.database, sizeof c.database, "idx");
    snprintf(c.images, sizeof c.images, "%s", images);
    snprintf(c.labels, sizeof c.labels, "%s", labels);
    c.dim = 3, c.M = 2, c.K = 1, c.Q = 1;
    mp_dataset ds;
    mp_err err;
    assert_int_equal(load_cfg(&c, &ds, &err), 0);
    assert_int_equal(ds.count, 4);
    assert_int_equal(ds.nclasses, 2);
    assert_int_equal(ds.native_dim, 3);
    assert_string_equal(ds.images_path, images);
    assert_int_equal(ds.pixels[9], 9);
    mp_dataset_free(&ds);
    /* resized to --dim; native_dim remembers the file's */
    c.dim = 6;
    assert_int_equal(load_cfg(&c, &ds, &err), 0);
    assert_int_equal(ds.dim, 6);
    assert_int_equal(ds.native_dim, 3);
    mp_dataset_free(&ds);
    /* the same checks: more images than labels, named */
    const uint32_t ldims3[1] = {3};
    assert_int_equal(tu_write_idx(labels, 1, ldims3, y, 1), 0);
    assert_int_equal(load_cfg(&c, &ds, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, images));
    /* a missing file, named with its flag */
    snprintf(c.labels, sizeof c.labels, "%s/nothing.gz", fx->dir);
    assert_int_equal(load_cfg(&c, &ds, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "--labels"));
    assert_non_null(strstr(err.msg, "nothing.gz"));
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
    assert_int_equal(n, 4);
    assert_string_equal(mp_database_names[0], "emnist");
    assert_string_equal(mp_database_names[3], "idx"); /* a user's pair: --images, --labels */
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
    assert_int_equal(load_cfg(&cfg, &ds, &err), 0);
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
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), 0);
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

/* Deflates n bytes with flush into out (which is large enough), returns the length. */
static size_t deflate_some(z_stream *zs, const uint8_t *in, size_t n, int flush, uint8_t *out, size_t cap) {
    zs->next_in = (Bytef *)in;
    zs->avail_in = (uInt)n;
    zs->next_out = out;
    zs->avail_out = (uInt)cap;
    int rc = deflate(zs, flush);
    assert_true(rc == (flush == Z_FINISH ? Z_STREAM_END : Z_OK));
    assert_int_equal(zs->avail_in, 0);
    assert_true(zs->avail_out > 0);
    return cap - zs->avail_out;
}

/* A valid gzip file of an IDX header then `mib` MiB of zero bytes, written in
 * milliseconds whatever its size: 1 MiB of zeros is deflated once after a full flush
 * (so its blocks refer to nothing before them) and those bytes are repeated. About
 * 1 KB of file per MiB claimed: a gzip bomb. */
static void write_zero_bomb(const char *path, const uint8_t *head, size_t head_len, size_t mib) {
    enum { MIB = 1 << 20, CAP = 1 << 16 };
    uint8_t *zeros = calloc(1, MIB), *first = malloc(CAP), *block = malloc(CAP), *last = malloc(CAP);
    z_stream zs = {0};
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t first_len = deflate_some(&zs, head, head_len, Z_FULL_FLUSH, first, CAP);
    size_t block_len = deflate_some(&zs, zeros, MIB, Z_FULL_FLUSH, block, CAP);
    size_t last_len = deflate_some(&zs, NULL, 0, Z_FINISH, last, CAP);
    deflateEnd(&zs);
    uLong crc = crc32(0L, head, (uInt)head_len), zeros_crc = crc32(0L, zeros, MIB);
    for (size_t i = 0; i < mib; i++) crc = crc32_combine(crc, zeros_crc, MIB);
    uint32_t isize = (uint32_t)(head_len + mib * MIB); /* modulo 2^32, as gzip stores it */
    uint8_t trailer[8];
    for (int b = 0; b < 4; b++) {
        trailer[b] = (uint8_t)(crc >> (8 * b));
        trailer[4 + b] = (uint8_t)(isize >> (8 * b));
    }
    const uint8_t gz_header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3};
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(gz_header, 1, 10, f), 10);
    assert_int_equal(fwrite(first, 1, first_len, f), first_len);
    for (size_t i = 0; i < mib; i++) assert_int_equal(fwrite(block, 1, block_len, f), block_len);
    assert_int_equal(fwrite(last, 1, last_len, f), last_len);
    assert_int_equal(fwrite(trailer, 1, 8, f), 8);
    assert_int_equal(fclose(f), 0);
    free(zeros), free(first), free(block), free(last);
}

/* The IDX header of count images of 1x1 and of count labels, as bytes. */
static void write_bomb_pair(fixture *fx, uint32_t count, size_t mib) {
    uint8_t head[16] = {0, 0, 8, 3};
    const uint32_t words[3] = {count, 1, 1};
    for (int w = 0; w < 3; w++)
        for (int b = 0; b < 4; b++) head[4 + 4 * w + b] = (uint8_t)(words[w] >> (24 - 8 * b));
    write_zero_bomb(fx->images, head, 16, mib);
    head[3] = 1;
    write_zero_bomb(fx->labels, head, 8, mib);
}

static long max_rss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Issue 10 item 6: a 2 MB gzip pair claiming 2^30 images of 1x1 and 2^30 labels (each
 * file valid to its last byte) is refused from the headers, naming the file, at once and
 * without allocating: the old code took 14 s and 10.5 GB, then died of out of memory. */
static void test_gzip_bomb(void **state) {
    fixture *fx = *state;
    write_bomb_pair(fx, 1u << 30, 1024);
    struct stat st;
    assert_int_equal(stat(fx->images, &st), 0);
    printf("  the images file: %lld bytes claiming 2^30\n", (long long)st.st_size);
    assert_true(st.st_size < (3 << 20));
    const int dims[2] = {28, 1}; /* resized as by default, and at the file's own size */
    for (int i = 0; i < 2; i++) {
        fx->cfg.dim = dims[i];
        long rss_before = max_rss_kib();
        double t0 = tu_now();
        expect_load_failure(fx, fx->images, "claims 1073741824 images of 1x1");
        double seconds = tu_now() - t0;
        long rss_grown = max_rss_kib() - rss_before;
        printf("  refused in %.3f s, peak memory grown by %ld KiB\n", seconds, rss_grown);
        mp_dataset ds;
        mp_err err = {{0}};
        assert_int_equal(load_cfg(&fx->cfg, &ds, &err), -1);
        assert_non_null(strstr(err.msg, "more than the 8 GiB limit"));
        assert_non_null(strstr(err.msg, fx->labels));
        assert_true((strstr(err.msg, "resized to --dim 28") != NULL) == (dims[i] == 28));
        assert_true(seconds < 0.5);
        assert_true(rss_grown < 64 * 1024);
    }
}

/* The limit counts the images as resized to --dim: 2^20 images of 1x1 (10 MiB loaded)
 * are fine at --dim 1 but take 16 GiB at --dim 128. */
static void test_limit_counts_resize(void **state) {
    fixture *fx = *state;
    write_bomb_pair(fx, 1u << 20, 1);
    fx->cfg.dim = 1;
    mp_dataset ds;
    mp_err err = {{0}};
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), 0);
    assert_int_equal(ds.count, 1 << 20);
    assert_int_equal(ds.nclasses, 1);
    mp_dataset_free(&ds);
    fx->cfg.dim = 128;
    expect_load_failure(fx, fx->images, "resized to --dim 128 they would take 16.0 GiB");
}

/* Issue 10 item 7: a FIFO as either file fails at once, naming it, instead of hanging in
 * fopen (alarm ends the test rather than hanging it should that come back). */
static void test_fifo(void **state) {
    fixture *fx = *state;
    const uint8_t labels[3] = {0, 1, 0};
    for (int which = 0; which < 2; which++) {
        write_fake(fx, labels, 3);
        const char *fifo = which ? fx->labels : fx->images;
        assert_int_equal(unlink(fifo), 0);
        assert_int_equal(mkfifo(fifo, 0644), 0);
        alarm(10);
        double t0 = tu_now();
        expect_load_failure(fx, fifo, "not a regular file (a FIFO)");
        alarm(0);
        assert_true(tu_now() - t0 < 1);
        assert_int_equal(unlink(fifo), 0);
    }
}

static void expect_usage_failure(fixture *fx, const char *what) {
    mp_dataset ds;
    mp_err err = {{0}};
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), -2);
    printf("  %s\n", err.msg);
    assert_string_equal(err.msg, what);
    assert_null(ds.pixels);
    assert_null(ds.labels);
    assert_null(ds.class_start);
}

/* Issue 10 item 8: --M and --K/--Q against the classes are checked from the labels, before
 * the images are read: with an images file whose gzip stream is cut short (its header is
 * fine), the error is the command line's (-2), not the file's. */
static void test_task_checked_before_images(void **state) {
    fixture *fx = *state;
    const uint8_t labels[7] = {2, 0, 1, 2, 0, 2, 2}; /* 3 classes, the smallest has 1 image */
    write_fake(fx, labels, 7);
    size_t len;
    char *gz = tu_read_file(fx->images, &len);
    assert_non_null(gz);
    assert_int_equal(tu_write_file(fx->images, gz, len - 4), 0); /* cut into the trailer */
    fx->cfg.M = 4;
    expect_usage_failure(fx, "--M: 4 classes per task, but the database has only 3 classes");
    fx->cfg.M = 3;
    fx->cfg.K = 1;
    fx->cfg.Q = 1;
    expect_usage_failure(fx, "--K/--Q: K+Q = 2 images per class, but the smallest class of the "
                             "database has only 1 images");
    /* Within both limits the images are read, and the cut is found. */
    fx->cfg.Q = 0;
    expect_load_failure(fx, fx->images, "truncated gzip");
    /* Both limits reached exactly load. */
    assert_int_equal(tu_write_file(fx->images, gz, len), 0);
    free(gz);
    mp_dataset ds;
    mp_err err = {{0}};
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), 0);
    mp_dataset_free(&ds);
}

/* Every other failure is -1, a file's fault or not. */
static void test_other_failures_minus_one(void **state) {
    fixture *fx = *state;
    mp_dataset ds;
    mp_err err = {{0}};
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), -1); /* missing files */
    const uint8_t labels[3] = {0, 1, 0};
    write_fake(fx, labels, 3);
    fx->cfg.dim = 0;
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), -1);
    assert_non_null(strstr(err.msg, "--dim must be at least 1"));
}

static uint32_t file_crc(const char *path, uint64_t *size) {
    size_t len;
    char *bytes = tu_read_file(path, &len);
    assert_non_null(bytes);
    *size = len;
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)bytes, (uInt)len);
    free(bytes);
    return crc;
}

/* The fingerprint of each file as stored: its size and zlib crc32 of its (compressed) bytes. */
static void test_fingerprint(void **state) {
    fixture *fx = *state;
    const uint8_t labels[7] = {2, 0, 1, 2, 0, 2, 2};
    write_fake(fx, labels, 7);
    uint64_t images_size, labels_size;
    uint32_t images_crc = file_crc(fx->images, &images_size), labels_crc = file_crc(fx->labels, &labels_size);
    fx->cfg.dim = 2; /* resizing does not change what the files were */
    mp_dataset ds;
    mp_err err = {{0}};
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), 0);
    assert_int_equal(ds.images_bytes, images_size);
    assert_int_equal(ds.images_crc, images_crc);
    assert_int_equal(ds.labels_bytes, labels_size);
    assert_int_equal(ds.labels_crc, labels_crc);
    assert_int_not_equal(ds.images_crc, ds.labels_crc);
    mp_dataset_free(&ds);
    /* One pixel changed: the images' CRC changes, the labels' does not. */
    const uint32_t dims[3] = {7, FAKE_DIM, FAKE_DIM};
    uint8_t pixels[7 * FAKE_DIM * FAKE_DIM];
    for (int i = 0; i < 7 * FAKE_DIM * FAKE_DIM; i++) pixels[i] = (uint8_t)(i / (FAKE_DIM * FAKE_DIM));
    pixels[40] ^= 1;
    assert_int_equal(tu_write_idx(fx->images, 3, dims, pixels, 1), 0);
    assert_int_equal(load_cfg(&fx->cfg, &ds, &err), 0);
    assert_int_not_equal(ds.images_crc, images_crc);
    assert_int_equal(ds.images_crc, file_crc(fx->images, &images_size));
    assert_int_equal(ds.labels_crc, labels_crc);
    mp_dataset_free(&ds);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, tu_dir_fixture_free)
    const struct CMUnitTest tests[] = {
        T(test_load_fake),          T(test_load_resized),       T(test_count_mismatch),
        T(test_label_out_of_range), T(test_empty_class),        T(test_not_square),
        T(test_corrupt_file_named), T(test_missing_files),      T(test_fashion_missing),
        T(test_unknown_database), T(test_class_pool), T(test_idx_pair),   T(test_database_names),     T(test_resize_constant),
        T(test_resize_area),        T(test_resize_bilinear),    T(test_shared_bymerge),
        T(test_fashion_mnist),      T(test_fashion_data_dir_first), T(test_gzip_bomb),
        T(test_limit_counts_resize), T(test_fifo),              T(test_task_checked_before_images),
        T(test_other_failures_minus_one), T(test_fingerprint),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
