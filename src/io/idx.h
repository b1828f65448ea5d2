/* The IDX reader: gzip or raw IDX files of unsigned bytes, every header and size
 * checked, in one pass or in two steps (header, then payload). Private to src/io. */
#ifndef METAPLAST_IO_IDX_H
#define METAPLAST_IO_IDX_H

#include <stddef.h>
#include <stdint.h>

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

#endif
