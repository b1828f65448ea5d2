/* Databases: where each one's IDX pair lives, loading and checking it, the class
 * index, and resizing to --dim. */
#include "metaplast/data.h"

#include "io/idx.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

enum { DB_EMNIST, DB_EMNIST_BYMERGE, DB_FASHION_MNIST, DB_IDX, DB_COUNT };

const char *const mp_database_names[DB_COUNT + 1] = {
    [DB_EMNIST] = "emnist",
    [DB_EMNIST_BYMERGE] = "emnist_bymerge",
    [DB_FASHION_MNIST] = "fashion_mnist",
    [DB_IDX] = "idx", /* a user's pair, --images and --labels */
    [DB_COUNT] = NULL,
};

typedef struct {
    const char *subdir;       /* under --data_dir */
    const char *images;
    const char *labels;
    int max_classes;          /* labels must lie in 0 .. max_classes-1 */
    const char *system_dir;   /* tried when --data_dir lacks the files, or NULL */
    const char *how_to_get;   /* completes "Get them with ..." */
} database;

static const database databases[DB_COUNT] = {
    [DB_EMNIST] = {"emnist", "emnist-balanced-test-images-idx3-ubyte.gz",
                   "emnist-balanced-test-labels-idx1-ubyte.gz", 47, NULL, NULL},
    [DB_EMNIST_BYMERGE] = {"emnist", "emnist-bymerge-test-images-idx3-ubyte.gz",
                           "emnist-bymerge-test-labels-idx1-ubyte.gz", 47, NULL, NULL},
    [DB_FASHION_MNIST] = {"fashion-mnist", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                          10, "/usr/share/datasets/fashion-mnist",
                          "`apt-get install dataset-fashion-mnist`"},
    [DB_IDX] = {NULL, NULL, NULL, MP_MAX_CLASSES, NULL, NULL},
};

static int database_index(const char *name) {
    for (int i = 0; i < DB_COUNT; i++)
        if (strcmp(mp_database_names[i], name) == 0) return i;
    return -1;
}

int mp_database_known(const char *name) { return name && database_index(name) >= 0; }

/* 1 when path can be read; else 0, noting the first failure's path and reason. */
static int readable(const char *path, char *first_missing, size_t cap, int *first_errno) {
    if (access(path, R_OK) == 0) return 1;
    if (!*first_errno) {
        *first_errno = errno;
        snprintf(first_missing, cap, "%s", path);
    }
    return 0;
}

/* Fills ds's two paths with the first location that has both files. */
static int locate_files(const char *name, const database *db, const char *data_dir, mp_dataset *ds,
                        mp_err *err) {
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", data_dir, db->subdir) >= sizeof dir)
        return mp_errf(err, "--data_dir is too long: %s", data_dir);
    const char *dirs[2] = {dir, db->system_dir};
    char missing[sizeof ds->images_path] = "";
    int why = 0;
    for (int i = 0; i < 2 && dirs[i]; i++) {
        snprintf(ds->images_path, sizeof ds->images_path, "%s/%s", dirs[i], db->images);
        snprintf(ds->labels_path, sizeof ds->labels_path, "%s/%s", dirs[i], db->labels);
        if (readable(ds->images_path, missing, sizeof missing, &why) &&
            readable(ds->labels_path, missing, sizeof missing, &why))
            return 0;
    }
    char how[4096 + 128];
    if (db->how_to_get)
        snprintf(how, sizeof how, "%s", db->how_to_get);
    else if (strcmp(data_dir, "data") == 0)
        snprintf(how, sizeof how, "`data/fetch-emnist.sh` (it downloads the NIST archive into data/emnist/), "
                 "or point --data_dir at a directory that has emnist/");
    else
        snprintf(how, sizeof how, "`data/fetch-emnist.sh --dest %s`", dir);
    char also[4096 + 64] = "";
    if (db->system_dir) snprintf(also, sizeof also, ", or both in %s/", db->system_dir);
    return mp_errf(err, "database %s not found (%s: %s): expected %s/%s and %s/%s%s. Get them with %s", name,
                   missing, strerror(why), dir, db->images, dir, db->labels, also, how);
}

static void class_index(mp_dataset *ds) {
    ds->class_start = mp_calloc((size_t)ds->nclasses + 1, sizeof *ds->class_start);
    ds->class_images = mp_malloc((size_t)ds->count * sizeof *ds->class_images);
    for (int i = 0; i < ds->count; i++) ds->class_start[ds->labels[i] + 1]++;
    for (int c = 0; c < ds->nclasses; c++) ds->class_start[c + 1] += ds->class_start[c];
    int *next = mp_malloc((size_t)ds->nclasses * sizeof *next);
    memcpy(next, ds->class_start, (size_t)ds->nclasses * sizeof *next);
    for (int i = 0; i < ds->count; i++) ds->class_images[next[ds->labels[i]]++] = i;
    free(next);
}

/* Labels in range, and every class from 0 to the largest label has images. */
static int check_labels(mp_dataset *ds, const uint8_t *raw, int max_classes, mp_err *err) {
    int largest = 0;
    for (int i = 0; i < ds->count; i++) {
        if (raw[i] >= max_classes)
            return mp_errf(err, "%s: label %d at index %d is out of range 0..%d", ds->labels_path, raw[i],
                           i, max_classes - 1);
        if (raw[i] > largest) largest = raw[i];
    }
    ds->nclasses = largest + 1;
    ds->labels = mp_malloc((size_t)ds->count * sizeof *ds->labels);
    for (int i = 0; i < ds->count; i++) ds->labels[i] = raw[i];
    class_index(ds);
    ds->smallest_class = ds->count;
    for (int c = 0; c < ds->nclasses; c++) {
        int n = ds->class_start[c + 1] - ds->class_start[c];
        if (n == 0)
            return mp_errf(err, "%s: class %d has no images (labels go up to %d)", ds->labels_path, c,
                           largest);
        if (n < ds->smallest_class) ds->smallest_class = n;
    }
    return 0;
}

/* What the two headers claim, checked before any payload is allocated or inflated. */
static int check_headers(const mp_data_request *cfg, const mp_dataset *ds, const mp_idx *images,
                         const mp_idx *labels, mp_err *err) {
    if (images->dims[0] != labels->dims[0])
        return mp_errf(err, "image and label counts differ: %s has %u images, %s has %u labels",
                       ds->images_path, images->dims[0], ds->labels_path, labels->dims[0]);
    if (images->dims[1] != images->dims[2])
        return mp_errf(err, "%s: images are %ux%u, expected square images", ds->images_path,
                       images->dims[1], images->dims[2]);
    if (images->dims[0] > INT_MAX)
        return mp_errf(err, "%s: the header claims %u images, more than the %d a dataset can index",
                       ds->images_path, images->dims[0], INT_MAX);
    /* src is at most 2^30 (the IDX reader's cap) and dst below 2^62, so per_image cannot
     * overflow; dividing the limit keeps the product from overflowing. */
    uint64_t count = images->dims[0], src = (uint64_t)images->dims[1] * images->dims[2];
    uint64_t dst = images->dims[1] == (uint32_t)cfg->dim ? 0 : (uint64_t)cfg->dim * (uint64_t)cfg->dim;
    uint64_t per_image = src + dst + 1 + 2 * sizeof(int);
    if (per_image > MP_DATA_MAX_BYTES / count) {
        char resized[64] = "";
        if (dst) snprintf(resized, sizeof resized, " and resized to --dim %d", cfg->dim);
        return mp_errf(err, "%s: the header claims %u images of %ux%u (and %s claims %u labels); loaded%s "
                       "they would take %.1f GiB of memory, more than the %.0f GiB limit for a dataset: "
                       "the file is corrupt or not a database metaplast can hold",
                       ds->images_path, images->dims[0], images->dims[1], images->dims[2],
                       ds->labels_path, labels->dims[0], resized,
                       (double)count * (double)per_image / (double)(1u << 30),
                       (double)MP_DATA_MAX_BYTES / (double)(1u << 30));
    }
    return 0;
}

/* The pool tasks draw from (ds->pool): classes, or every class. -2 when the list names a
 * class the database lacks. */
static int class_pool(const char *classes, mp_dataset *ds, mp_err *err) {
    unsigned char mask[MP_MAX_CLASSES];
    if (classes && classes[0]) {
        mp_err e;
        if (mp_classes_parse(classes, mask, &e) < 0) {
            mp_errf(err, "%s", e.msg);
            return -2;
        }
        for (int c = ds->nclasses; c < MP_MAX_CLASSES; c++)
            if (mask[c]) {
                mp_errf(err, "--classes %s: class %d is not in the database (%s has labels 0 to %d)", classes, c,
                        ds->labels_path, ds->nclasses - 1);
                return -2;
            }
    } else {
        memset(mask, 1, sizeof mask);
    }
    free(ds->pool);
    ds->pool = mp_malloc((size_t)ds->nclasses * sizeof *ds->pool);
    ds->npool = 0;
    ds->pool_smallest = ds->count;
    for (int c = 0; c < ds->nclasses; c++)
        if (mask[c]) {
            ds->pool[ds->npool++] = c;
            int n = ds->class_start[c + 1] - ds->class_start[c];
            if (n < ds->pool_smallest) ds->pool_smallest = n;
        }
    return 0;
}

int mp_dataset_use_classes(mp_dataset *ds, const char *classes, int M, int per_class, mp_err *err) {
    int rc = class_pool(classes, ds, err);
    if (rc != 0) return rc;
    int subset = classes && classes[0];
    if (M > ds->npool) {
        if (subset)
            mp_errf(err, "--classes %s: %d class%s of %s, fewer than the %d of a task (--M)", classes, ds->npool,
                    ds->npool == 1 ? "" : "es", ds->labels_path, M);
        else
            mp_errf(err, "--M: %d classes per task, but the database has only %d classes", M, ds->nclasses);
        return -2;
    }
    if (per_class > ds->pool_smallest) {
        mp_errf(err, "--K/--Q: K+Q = %d images per class, but the smallest class of %s%s has only %d images",
                per_class, subset ? "--classes " : "the database", subset ? classes : "", ds->pool_smallest);
        return -2;
    }
    return 0;
}

/* The command line against the classes (labels known, images not read yet): -2. */
static int check_task(const mp_data_request *cfg, mp_dataset *ds, mp_err *err) {
    return mp_dataset_use_classes(ds, cfg->classes, cfg->M, cfg->per_class, err);
}

/* Both headers first, then the labels (small) and what they bound on the command line,
 * and only then the images (the bulk of the time and memory), resized last. */
static int load_checked(const mp_data_request *cfg, const database *db, mp_dataset *ds, mp_err *err) {
    if (cfg->dim < 1) return mp_errf(err, "--dim must be at least 1, not %d", cfg->dim);
    mp_idx_reader *labels_in = NULL, *images_in = NULL;
    mp_idx labels, images = {0};
    int rc = mp_idx_open_file(ds->labels_path, 1, &labels_in, &labels, err);
    if (rc == 0) rc = mp_idx_open_file(ds->images_path, 3, &images_in, &images, err);
    if (rc == 0) rc = check_headers(cfg, ds, &images, &labels, err);
    if (rc == 0) rc = mp_idx_read_payload(labels_in, &labels, err);
    mp_idx_close(labels_in);
    if (rc == 0) {
        /* check_headers has bounded the count by INT_MAX. */
        ds->count = (int)labels.dims[0];
        ds->labels_bytes = labels.file_bytes;
        ds->labels_crc = labels.file_crc;
        rc = check_labels(ds, labels.data, db->max_classes, err);
    }
    mp_idx_free(&labels);
    if (rc == 0) rc = check_task(cfg, ds, err);
    if (rc == 0) rc = mp_idx_read_payload(images_in, &images, err);
    mp_idx_close(images_in);
    if (rc != 0) return rc;
    ds->dim = ds->native_dim = (int)images.dims[1];
    ds->pixels = images.data;
    ds->images_bytes = images.file_bytes;
    ds->images_crc = images.file_crc;
    if (cfg->dim != ds->dim) {
        /* check_headers has bounded count * dim^2 by MP_DATA_MAX_BYTES. */
        size_t dst_pixels = (size_t)cfg->dim * (size_t)cfg->dim;
        uint8_t *resized = mp_malloc((size_t)ds->count * dst_pixels);
        size_t src_pixels = (size_t)ds->dim * (size_t)ds->dim;
        for (int i = 0; i < ds->count; i++)
            mp_resize_image(ds->pixels + i * src_pixels, ds->dim, resized + i * dst_pixels, cfg->dim);
        free(ds->pixels);
        ds->pixels = resized;
        ds->dim = cfg->dim;
    }
    return 0;
}

/* A user's pair: both paths given, each a readable regular file. */
static int locate_pair(const mp_data_request *cfg, mp_dataset *ds, mp_err *err) {
    if (!cfg->images || !cfg->images[0] || !cfg->labels || !cfg->labels[0])
        return mp_errf(err, "--database idx reads a user's IDX pair: give both --images FILE and --labels FILE");
    if (strlen(cfg->images) >= sizeof ds->images_path || strlen(cfg->labels) >= sizeof ds->labels_path)
        return mp_errf(err, "--images/--labels: the path is too long");
    snprintf(ds->images_path, sizeof ds->images_path, "%s", cfg->images);
    snprintf(ds->labels_path, sizeof ds->labels_path, "%s", cfg->labels);
    const char *paths[2] = {ds->images_path, ds->labels_path}, *names[2] = {"images", "labels"};
    for (int i = 0; i < 2; i++)
        if (access(paths[i], R_OK) != 0)
            return mp_errf(err, "--%s %s: cannot read it: %s", names[i], paths[i], strerror(errno));
    return 0;
}

int mp_dataset_load(const mp_data_request *cfg, mp_dataset *ds, mp_err *err) {
    memset(ds, 0, sizeof *ds);
    int index = database_index(cfg->database);
    if (index < 0) {
        char known[256] = "";
        for (int i = 0; i < DB_COUNT; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                     mp_database_names[i]);
        return mp_errf(err, "unknown database '%s' (known: %s)", cfg->database, known);
    }
    const database *db = &databases[index];
    int rc = index == DB_IDX ? locate_pair(cfg, ds, err) : locate_files(cfg->database, db, cfg->data_dir, ds, err);
    if (rc == 0) rc = load_checked(cfg, db, ds, err);
    if (rc != 0) {
        mp_dataset_free(ds);
        return rc;
    }
    return 0;
}

/* ---- --classes lists ---------------------------------------------------------------- */

static int parse_label(const char *text, const char **end, const char *all, mp_err *err) {
    if (*text < '0' || *text > '9')
        return mp_errf(err, "--classes: '%s' is not a list of labels like 0-35 or 0-9,20-29", all);
    long v = 0;
    while (*text >= '0' && *text <= '9') {
        v = v * 10 + (*text++ - '0');
        if (v >= MP_MAX_CLASSES)
            return mp_errf(err, "--classes: '%s': labels go from 0 to %d (an IDX label is a byte)", all,
                           MP_MAX_CLASSES - 1);
    }
    *end = text;
    return (int)v;
}

int mp_classes_parse(const char *text, unsigned char mask[MP_MAX_CLASSES], mp_err *err) {
    memset(mask, 0, MP_MAX_CLASSES);
    int count = 0;
    const char *p = text;
    if (!*p) return mp_errf(err, "--classes: the list is empty");
    for (;;) {
        int lo = parse_label(p, &p, text, err), hi = lo;
        if (lo < 0) return -1;
        if (*p == '-') {
            hi = parse_label(p + 1, &p, text, err);
            if (hi < 0) return -1;
            if (hi < lo) return mp_errf(err, "--classes: '%s': the range %d-%d is backwards", text, lo, hi);
        }
        for (int c = lo; c <= hi; c++) {
            if (mask[c]) return mp_errf(err, "--classes: '%s': class %d is listed twice", text, c);
            mask[c] = 1;
            count++;
        }
        if (!*p) return count;
        if (*p != ',' || !p[1])
            return mp_errf(err, "--classes: '%s' is not a list of labels like 0-35 or 0-9,20-29", text);
        p++;
    }
}

void mp_classes_format(const unsigned char mask[MP_MAX_CLASSES], char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    for (int c = 0; c < MP_MAX_CLASSES && n < cap; c++) {
        if (!mask[c]) continue;
        int hi = c;
        while (hi + 1 < MP_MAX_CLASSES && mask[hi + 1]) hi++;
        if (hi > c)
            n += (size_t)snprintf(buf + n, cap - n, "%s%d-%d", n ? "," : "", c, hi);
        else
            n += (size_t)snprintf(buf + n, cap - n, "%s%d", n ? "," : "", c);
        c = hi;
    }
}

void mp_dataset_free(mp_dataset *ds) {
    free(ds->pixels);
    free(ds->labels);
    free(ds->class_start);
    free(ds->class_images);
    free(ds->pool);
    memset(ds, 0, sizeof *ds);
}

static uint8_t round_pixel(double v) {
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5);
}

/* Shrinking: each destination pixel is the mean of the source area it covers, with
 * partly covered source pixels weighted by their overlap. Coordinates are in units of
 * 1/(s*d) of the image side, so every overlap is an exact integer. */
static void resize_area(const uint8_t *src, int s, uint8_t *dst, int d) {
    for (int y = 0; y < d; y++) {
        long y0 = (long)y * s, y1 = (long)(y + 1) * s;
        for (int x = 0; x < d; x++) {
            long x0 = (long)x * s, x1 = (long)(x + 1) * s;
            unsigned long long sum = 0;
            for (long r = y0 / d; r * d < y1; r++) {
                long wr = (r + 1) * d < y1 ? (r + 1) * d : y1;
                wr -= r * d > y0 ? r * d : y0;
                for (long c = x0 / d; c * d < x1; c++) {
                    long wc = (c + 1) * d < x1 ? (c + 1) * d : x1;
                    wc -= c * d > x0 ? c * d : x0;
                    sum += (unsigned long long)(wr * wc) * src[r * s + c];
                }
            }
            unsigned long long area = (unsigned long long)s * s;
            dst[y * d + x] = (uint8_t)((sum + area / 2) / area);
        }
    }
}

/* Enlarging: bilinear with pixel centres aligned (OpenCV / PyTorch align_corners=False). */
static void resize_bilinear(const uint8_t *src, int s, uint8_t *dst, int d) {
    for (int y = 0; y < d; y++) {
        double sy = (y + 0.5) * s / d - 0.5;
        sy = sy < 0 ? 0 : sy > s - 1 ? s - 1 : sy;
        int r0 = (int)sy, r1 = r0 + 1 < s ? r0 + 1 : r0;
        double fy = sy - r0;
        for (int x = 0; x < d; x++) {
            double sx = (x + 0.5) * s / d - 0.5;
            sx = sx < 0 ? 0 : sx > s - 1 ? s - 1 : sx;
            int c0 = (int)sx, c1 = c0 + 1 < s ? c0 + 1 : c0;
            double fx = sx - c0;
            double top = src[r0 * s + c0] * (1 - fx) + src[r0 * s + c1] * fx;
            double bottom = src[r1 * s + c0] * (1 - fx) + src[r1 * s + c1] * fx;
            dst[y * d + x] = round_pixel(top * (1 - fy) + bottom * fy);
        }
    }
}

void mp_resize_image(const uint8_t *src, int src_dim, uint8_t *dst, int dst_dim) {
    if (dst_dim < src_dim)
        resize_area(src, src_dim, dst, dst_dim);
    else if (dst_dim > src_dim)
        resize_bilinear(src, src_dim, dst, dst_dim);
    else
        memcpy(dst, src, (size_t)src_dim * (size_t)src_dim);
}
