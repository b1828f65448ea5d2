/* Databases as gzip (or raw) IDX files: reading, checking, class index, resize. */
#ifndef METAPLAST_DATA_H
#define METAPLAST_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "metaplast/util.h"

typedef struct {
    int count;               /* images */
    int dim;                 /* images are dim x dim (after resizing) */
    int nclasses;            /* C, from the data: max label + 1 */
    uint8_t *pixels;         /* count * dim * dim, one byte per pixel (resized to --dim when it differs) */
    int *labels;             /* count */
    int *class_start;        /* nclasses + 1: images of class c are class_images[class_start[c] .. class_start[c+1]) */
    int *class_images;       /* count image indices grouped by class */
    int smallest_class;      /* fewest images of any class */
    int native_dim;          /* the images' side in the file, before resizing */
    /* The classes tasks are drawn from (--classes; every class when it is not given),
     * ascending, and the fewest images of any of them. */
    int *pool;
    int npool, pool_smallest;
    char images_path[4096];
    char labels_path[4096];
    /* Fingerprint of the two files as stored on disk (the compressed bytes of a .gz):
     * size in bytes and zlib crc32 of the whole file, computed while it was read. */
    uint64_t images_bytes, labels_bytes;
    uint32_t images_crc, labels_crc;
} mp_dataset;

/* The most memory a loaded dataset may take, counted from the two headers before any
 * payload is read: the pixels at the file's size, the pixels resized to --dim (both are
 * held while resizing), the labels as read (1 byte each) and the label and class-index
 * arrays (an int each). A header claiming more is refused, naming the file, instead of
 * allocating until the machine swaps or the OOM killer ends the run silently: a 2 MB
 * gzip file can claim 2^30 images. The largest database here, emnist_bymerge (116323
 * images), takes 2.0 GB at the largest --dim (128); 8 GiB leaves room for a split 4x as
 * large, and one fixed number refuses the same files on every machine. */
#define MP_DATA_MAX_BYTES ((uint64_t)8 << 30)

/* What to load and what the episodes will ask of it: M classes per task (at most the
 * database's classes) and per_class = K + Q images of each (at most the smallest
 * class), both checked on the labels, before the images are read. */
typedef struct {
    const char *database; /* one of mp_database_names; "idx": the pair images, labels */
    const char *data_dir;
    int dim;              /* images resized to dim x dim */
    int M;
    int per_class;
    const char *images, *labels;  /* --images, --labels: a user's IDX pair (database "idx") */
    const char *classes;  /* --classes: the labels tasks are drawn from ("" or NULL: all) */
} mp_data_request;

/* Labels of an IDX label file are bytes: at most this many classes. */
#define MP_MAX_CLASSES 256

/* A --classes list, "0-35" or "0-9,20-29" (by label, ascending or not, no repeats):
 * mask[c] = 1 for every class in it. Returns the number of classes, or -1 with a message
 * naming the text and what is wrong. */
int mp_classes_parse(const char *text, unsigned char mask[MP_MAX_CLASSES], mp_err *err);
/* The canonical text of a mask: ascending ranges, "0-9,20-29" ("" for an empty mask). */
void mp_classes_format(const unsigned char mask[MP_MAX_CLASSES], char *buf, size_t cap);

/* Names accepted by --database, NULL-terminated (for validation and the help text). */
extern const char *const mp_database_names[];
/* 1 when name is one of mp_database_names, else 0. */
int mp_database_known(const char *name);

/* Loads req->database from req->data_dir (with the Fashion-MNIST fallback), or the pair
 * req->images, req->labels (database "idx"), resized to req->dim.
 * Order: both headers (counts equal, square images, the memory against
 * MP_DATA_MAX_BYTES), then the labels, then --M and --K/--Q against the classes, and
 * only then the images are read and resized.
 * Returns 0 on success; -2 when the command line asks for more than the data has
 * (--M above the number of classes, K+Q above the smallest class, --classes naming a
 * class the database lacks: a usage error, exit 2);
 * -1 on every other failure (missing, unreadable, corrupt or oversized files). On failure
 * err says why (naming the file when it is the file's fault) and *ds is zeroed.
 * Missing files: the message lists the expected paths and the command that fetches them. */
int mp_dataset_load(const mp_data_request *req, mp_dataset *ds, mp_err *err);
void mp_dataset_free(mp_dataset *ds);

/* Sets the pool tasks draw from to classes ("" or NULL: every class) and checks M and
 * per_class = K + Q against it. Returns 0, or -2 (a usage error) with a message naming
 * the list when it names a class the data lacks, has fewer than M classes, or one smaller
 * than per_class. */
int mp_dataset_use_classes(mp_dataset *ds, const char *classes, int M, int per_class, mp_err *err);

/* Resizes a src_dim x src_dim image to dst_dim x dst_dim (bilinear when enlarging,
 * area averaging when shrinking). */
void mp_resize_image(const uint8_t *src, int src_dim, uint8_t *dst, int dst_dim);

#endif
