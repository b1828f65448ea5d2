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
    /* The input as stored (the compressed bytes of a .gz), all of it: its size and zlib
     * crc32. Set once the payload is read (the reader reads to the end of the input). */
    uint64_t file_bytes;
    uint32_t file_crc;
} mp_idx;

/* Reads a .gz or uncompressed IDX file (detected by content). expected_ndims is 3 or 1.
 * The file must be a regular file (a FIFO, device or directory is refused at once).
 * On failure returns -1 with a message naming the file and the problem, and *out zeroed. */
int mp_idx_read_file(const char *path, int expected_ndims, mp_idx *out, mp_err *err);
/* The same on bytes in memory (what the fuzz target drives); name is used in messages.
 * file_bytes and file_crc are those of the n bytes. */
int mp_idx_read_mem(const uint8_t *bytes, size_t n, const char *name, int expected_ndims,
                    mp_idx *out, mp_err *err);

/* mp_idx_read_file in two steps, so that a caller can check what the headers of several
 * files claim before any payload is allocated or inflated. mp_idx_open_file opens path
 * (kept by pointer: it must outlive the reader), reads and checks the header only (a few
 * bytes; for a .gz, the start of the stream is inflated) and fills out's ndims, dims and
 * size, with data NULL. mp_idx_read_payload then reads the payload and checks the end of
 * the file, filling out whole (once per reader). Both return 0, or -1 with a message
 * naming the file and *out zeroed; on failure mp_idx_open_file sets *reader to NULL.
 * mp_idx_close (NULL is fine) closes the file either way. */
typedef struct mp_idx_reader mp_idx_reader;
int mp_idx_open_file(const char *path, int expected_ndims, mp_idx_reader **reader, mp_idx *out,
                     mp_err *err);
int mp_idx_read_payload(mp_idx_reader *reader, mp_idx *out, mp_err *err);
void mp_idx_close(mp_idx_reader *reader);
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

/* Names accepted by --database, NULL-terminated (for validation and the help text). */
extern const char *const mp_database_names[];
/* 1 when name is one of mp_database_names, else 0. */
int mp_database_known(const char *name);

/* Loads --database from --data_dir (with the Fashion-MNIST fallback), resized to --dim.
 * Order: both headers (counts equal, square images, the memory against
 * MP_DATA_MAX_BYTES), then the labels, then --M and --K/--Q against the classes, and
 * only then the images are read and resized.
 * Returns 0 on success; -2 when the command line asks for more than the data has
 * (--M above the number of classes, K+Q above the smallest class: a usage error, exit 2);
 * -1 on every other failure (missing, unreadable, corrupt or oversized files). On failure
 * err says why (naming the file when it is the file's fault) and *ds is zeroed.
 * Missing files: the message lists the expected paths and the command that fetches them. */
int mp_dataset_load(const mp_config *cfg, mp_dataset *ds, mp_err *err);
void mp_dataset_free(mp_dataset *ds);

/* Resizes a src_dim x src_dim image to dst_dim x dst_dim (bilinear when enlarging,
 * area averaging when shrinking). */
void mp_resize_image(const uint8_t *src, int src_dim, uint8_t *dst, int dst_dim);

#endif
