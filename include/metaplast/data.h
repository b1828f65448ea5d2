/* Databases as gzip (or raw) IDX files: reading, checking, class index, resize. */
#ifndef METAPLAST_DATA_H
#define METAPLAST_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "metaplast/cli.h"
#include "metaplast/util.h"

/* An IDX file read whole: magic 0x00000803 (images, 3 dims) or 0x00000801 (labels, 1 dim). */
typedef struct {
    int ndims;
    uint32_t dims[3];
    uint8_t *data;      /* prod(dims) bytes */
    size_t size;
} mp_idx;

/* Reads a .gz or uncompressed IDX file (detected by content). expected_ndims is 3 or 1.
 * On failure returns -1 with a message naming the file and the problem. */
int mp_idx_read_file(const char *path, int expected_ndims, mp_idx *out, mp_err *err);
/* The same on bytes in memory (what the fuzz target drives); name is used in messages. */
int mp_idx_read_mem(const uint8_t *bytes, size_t n, const char *name, int expected_ndims,
                    mp_idx *out, mp_err *err);
void mp_idx_free(mp_idx *idx);

typedef struct {
    int count;               /* images */
    int dim;                 /* images are dim x dim (after resizing) */
    int nclasses;            /* C, from the data: max label + 1 */
    uint8_t *pixels;         /* count * dim * dim, one byte per pixel (resized to --dim when it differs) */
    int *labels;             /* count */
    int *class_start;        /* nclasses + 1: images of class c are class_images[class_start[c] .. class_start[c+1]) */
    int *class_images;       /* count image indices grouped by class */
    int smallest_class;      /* fewest images of any class */
    char images_path[4096];
    char labels_path[4096];
} mp_dataset;

/* Names accepted by --database, NULL-terminated (for validation and the help text). */
extern const char *const mp_database_names[];
/* 1 when name is one of mp_database_names, else 0. */
int mp_database_known(const char *name);

/* Loads --database from --data_dir (with the Fashion-MNIST fallback), resized to --dim.
 * Missing files: the message lists the expected paths and the command that fetches them. */
int mp_dataset_load(const mp_config *cfg, mp_dataset *ds, mp_err *err);
void mp_dataset_free(mp_dataset *ds);

/* Resizes a src_dim x src_dim image to dst_dim x dst_dim (bilinear when enlarging,
 * area averaging when shrinking). */
void mp_resize_image(const uint8_t *src, int src_dim, uint8_t *dst, int dst_dim);

#endif
