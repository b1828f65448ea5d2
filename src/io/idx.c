/* IDX reader: one parser over a byte stream that comes from a file or from memory,
 * gzip-compressed or raw (told apart by the gzip magic bytes 1f 8b), in two steps
 * (header, then payload) so that a caller can check what headers claim before any
 * payload is allocated or inflated. */
#define ZLIB_CONST
#include "io/idx.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* Largest payload accepted: EMNIST's biggest file (byclass train) is 547 MB, so a
 * header asking for more is corrupt, and we must not try to allocate it. */
#define IDX_MAX_BYTES ((size_t)1 << 30)
/* Deflate expands at most 1032:1; the slack covers output inflate holds back. */
#define GZ_MAX_RATIO 1032
#define GZ_PENDING_SLACK ((size_t)1 << 16)
/* Trailing bytes are counted up to this many, so a huge tail does not take forever. */
#define IDX_TRAILING_COUNT_MAX ((size_t)1 << 20)

/* One input being read: a file (opened by mp_idx_open_file) or bytes in memory.
 * Everything taken from the file passes through stream_refill, which counts and
 * checksums it: the fingerprint is of the file as stored (compressed bytes for .gz). */
struct mp_idx_reader {
    const char *name;
    FILE *file;             /* NULL when reading from memory */
    size_t file_left;       /* bytes of the file not read yet; SIZE_MAX when unknown */
    const uint8_t *in;      /* unread input (compressed when gz) */
    size_t avail;
    uint64_t bytes;         /* input bytes read so far (all of them for memory input) */
    uint32_t crc;           /* zlib CRC-32 of those bytes */
    int gz;
    int gz_started;         /* inflateInit2 succeeded, so inflateEnd is due */
    int gz_done;            /* the last gzip member ended and no input follows */
    int gz_cut;             /* the input ended inside a gzip member */
    int have_header;        /* the header was read and the payload not yet */
    int ndims;              /* expected_ndims of the open call */
    mp_idx header;          /* dims and size from the header; no data */
    z_stream zs;
    uint8_t chunk[1 << 16]; /* file input buffer */
};

/* zlib's crc32 takes an unsigned int length; memory input may be longer. */
static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n) {
    while (n > 0) {
        uInt len = n < (1u << 30) ? (uInt)n : (1u << 30);
        crc = (uint32_t)crc32(crc, p, len);
        p += len;
        n -= len;
    }
    return crc;
}

/* Makes s->in non-empty unless the input is exhausted (memory input is one block). */
static int stream_refill(mp_idx_reader *s, mp_err *err) {
    if (s->avail > 0 || !s->file) return 0;
    s->avail = fread(s->chunk, 1, sizeof s->chunk, s->file);
    s->in = s->chunk;
    s->bytes += s->avail;
    s->crc = crc_update(s->crc, s->chunk, s->avail);
    if (s->file_left != SIZE_MAX) s->file_left -= s->avail < s->file_left ? s->avail : s->file_left;
    if (s->avail == 0 && ferror(s->file))
        return mp_errf(err, "%s: read error: %s", s->name, strerror(errno));
    return 0;
}

/* The most content bytes the rest of the input can hold: a header asking for more is
 * reported as truncated without allocating (a 20-byte file may claim 1 GiB). */
static size_t stream_max_left(const mp_idx_reader *s) {
    size_t in = s->file_left > SIZE_MAX - s->avail ? SIZE_MAX : s->avail + s->file_left;
    if (!s->gz) return in;
    return in > (SIZE_MAX - GZ_PENDING_SLACK) / GZ_MAX_RATIO ? SIZE_MAX
                                                               : in * GZ_MAX_RATIO + GZ_PENDING_SLACK;
}

static int stream_open(mp_idx_reader *s, mp_err *err) {
    if (stream_refill(s, err) < 0) return -1;
    s->gz = s->avail >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
    if (s->gz && inflateInit2(&s->zs, 16 + MAX_WBITS) != Z_OK)
        return mp_errf(err, "%s: cannot start gzip decompression", s->name);
    s->gz_started = s->gz;
    return 0;
}

static int read_raw(mp_idx_reader *s, uint8_t *buf, size_t n, size_t *got, mp_err *err) {
    while (*got < n) {
        if (stream_refill(s, err) < 0) return -1;
        if (s->avail == 0) break;
        size_t take = n - *got < s->avail ? n - *got : s->avail;
        memcpy(buf + *got, s->in, take);
        s->in += take;
        s->avail -= take;
        *got += take;
    }
    return 0;
}

static int read_gz(mp_idx_reader *s, uint8_t *buf, size_t n, size_t *got, mp_err *err) {
    while (*got < n && !s->gz_done && !s->gz_cut) {
        if (stream_refill(s, err) < 0) return -1;
        if (s->avail == 0) {
            s->gz_cut = 1;
            break;
        }
        uInt in_len = s->avail < UINT_MAX ? (uInt)s->avail : UINT_MAX;
        uInt out_len = n - *got < UINT_MAX ? (uInt)(n - *got) : UINT_MAX;
        s->zs.next_in = s->in;
        s->zs.avail_in = in_len;
        s->zs.next_out = buf + *got;
        s->zs.avail_out = out_len;
        int rc = inflate(&s->zs, Z_NO_FLUSH);
        s->in += in_len - s->zs.avail_in;
        s->avail -= in_len - s->zs.avail_in;
        *got += out_len - s->zs.avail_out;
        if (rc == Z_STREAM_END) {
            /* A gzip file may hold several members; anything else after one is corrupt. */
            if (stream_refill(s, err) < 0) return -1;
            if (s->avail == 0)
                s->gz_done = 1;
            else if (s->in[0] == 0x1f)
                inflateReset(&s->zs);
            else
                return mp_errf(err, "%s: corrupt gzip: data that is not gzip follows the compressed stream",
                               s->name);
        } else if (rc != Z_OK) {
            return mp_errf(err, "%s: corrupt gzip: %s", s->name,
                           s->zs.msg ? s->zs.msg : "cannot decompress");
        }
    }
    return 0;
}

/* Reads up to n bytes of content; *got < n only when the content ends. */
static int stream_read(mp_idx_reader *s, uint8_t *buf, size_t n, size_t *got, mp_err *err) {
    *got = 0;
    return s->gz ? read_gz(s, buf, n, got, err) : read_raw(s, buf, n, got, err);
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int parse_header(mp_idx_reader *s, int expected_ndims, mp_idx *out, mp_err *err) {
    const uint32_t want = 0x00000800u | (uint32_t)expected_ndims;
    const char *kind = expected_ndims == 3 ? "images" : "labels";
    uint8_t head[4 + 4 * 3];
    size_t head_len = 4 + 4 * (size_t)expected_ndims, got;
    if (stream_read(s, head, head_len, &got, err) < 0) return -1;
    uint32_t magic = got >= 4 ? be32(head) : 0;
    if (got >= 4 && (magic & 0xffffff00u) != 0x00000800u)
        return mp_errf(err, "%s: bad magic number 0x%08x: not an IDX file of unsigned bytes "
                       "(expected 0x%08x for %s)", s->name, magic, want, kind);
    if (got >= 4 && magic != want)
        return mp_errf(err, "%s: wrong number of dimensions: magic 0x%08x says %u, %s need %d (0x%08x)",
                       s->name, magic, magic & 0xffu, kind, expected_ndims, want);
    if (got < head_len)
        return mp_errf(err, "%s: truncated: the IDX header of %s needs %zu bytes, got %zu",
                       s->name, kind, head_len, got);
    size_t size = 1;
    out->ndims = expected_ndims;
    for (int d = 0; d < expected_ndims; d++) {
        out->dims[d] = be32(head + 4 + 4 * d);
        if (out->dims[d] == 0) return mp_errf(err, "%s: dimension %d is zero", s->name, d);
        /* Dividing first keeps the product from overflowing. */
        if (out->dims[d] > IDX_MAX_BYTES / size)
            return mp_errf(err, "%s: dimensions too large: the payload would exceed %zu bytes",
                           s->name, IDX_MAX_BYTES);
        size *= out->dims[d];
    }
    out->size = size;
    return 0;
}

/* After the payload: the content must end here, and a gzip stream must end cleanly
 * (reading to its end is what checks its CRC). */
static int check_end(mp_idx_reader *s, const char *what, mp_err *err) {
    uint8_t scratch[4096];
    size_t extra = 0, got;
    do {
        if (stream_read(s, scratch, sizeof scratch, &got, err) < 0) return -1;
        extra += got;
    } while (got == sizeof scratch && extra < IDX_TRAILING_COUNT_MAX);
    if (extra > 0)
        return mp_errf(err, "%s: oversized: %s%zu extra bytes after the %s the header declares",
                       s->name, got == sizeof scratch ? "at least " : "", extra, what);
    if (s->gz_cut)
        return mp_errf(err, "%s: truncated gzip: the compressed stream ends before its end marker",
                       s->name);
    return 0;
}

static int truncated(const mp_idx_reader *s, size_t want, const char *what, size_t got, mp_err *err) {
    return mp_errf(err, "%s: truncated: expected %zu bytes of %s, got %zu", s->name, want, what, got);
}

/* The first step: the header, and whether the rest of the input can hold what it
 * declares. Reads only the few bytes of the header (inflating just the start of a .gz). */
static int read_header(mp_idx_reader *s, int expected_ndims, mp_idx *out, mp_err *err) {
    memset(out, 0, sizeof *out);
    if (expected_ndims != 1 && expected_ndims != 3)
        return mp_errf(err, "%s: expected_ndims must be 1 or 3, not %d", s->name, expected_ndims);
    const char *what = expected_ndims == 3 ? "pixels" : "labels";
    mp_idx idx = {0};
    if (stream_open(s, err) < 0 || parse_header(s, expected_ndims, &idx, err) < 0) return -1;
    if (idx.size > stream_max_left(s))
        return s->gz ? mp_errf(err, "%s: truncated: expected %zu bytes of %s, but the %zu compressed "
                               "bytes left hold at most %zu", s->name, idx.size, what,
                               s->avail + s->file_left, stream_max_left(s))
                     : truncated(s, idx.size, what, stream_max_left(s), err);
    s->ndims = expected_ndims;
    s->header = idx;
    s->have_header = 1;
    *out = idx;
    return 0;
}

int mp_idx_read_payload(mp_idx_reader *s, mp_idx *out, mp_err *err) {
    memset(out, 0, sizeof *out);
    if (!s->have_header) return mp_errf(err, "%s: no IDX header to read the payload of", s->name);
    s->have_header = 0;
    const char *what = s->ndims == 3 ? "pixels" : "labels";
    mp_idx idx = s->header;
    idx.data = mp_malloc(idx.size);
    size_t got;
    int rc = stream_read(s, idx.data, idx.size, &got, err);
    if (rc == 0 && got < idx.size) rc = truncated(s, idx.size, what, got, err);
    /* check_end reads to the end of the input, so every byte of it is in the fingerprint. */
    if (rc == 0) rc = check_end(s, what, err);
    if (rc < 0) {
        free(idx.data);
        return -1;
    }
    idx.file_bytes = s->bytes;
    idx.file_crc = s->crc;
    *out = idx;
    return 0;
}

void mp_idx_close(mp_idx_reader *s) {
    if (!s) return;
    if (s->gz_started) inflateEnd(&s->zs);
    if (s->file) fclose(s->file);
    free(s);
}

int mp_idx_read_mem(const uint8_t *bytes, size_t n, const char *name, int expected_ndims,
                    mp_idx *out, mp_err *err) {
    mp_idx_reader *s = mp_calloc(1, sizeof *s);
    s->name = name;
    s->in = bytes;
    s->avail = n;
    s->bytes = n;
    s->crc = crc_update((uint32_t)crc32(0L, Z_NULL, 0), bytes, n);
    int rc = read_header(s, expected_ndims, out, err);
    if (rc == 0) rc = mp_idx_read_payload(s, out, err);
    mp_idx_close(s);
    return rc;
}

int mp_idx_open_file(const char *path, int expected_ndims, mp_idx_reader **reader, mp_idx *out,
                     mp_err *err) {
    *reader = NULL;
    memset(out, 0, sizeof *out);
    /* A FIFO, a device or a directory is refused here (fopen would block on a FIFO). */
    FILE *f = mp_fopen_regular(path, "rb", err);
    if (!f) return -1;
    mp_idx_reader *s = mp_calloc(1, sizeof *s);
    s->name = path;
    s->file = f;
    s->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    struct stat st;
    s->file_left = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size : SIZE_MAX;
    if (read_header(s, expected_ndims, out, err) < 0) {
        mp_idx_close(s);
        return -1;
    }
    *reader = s;
    return 0;
}

int mp_idx_read_file(const char *path, int expected_ndims, mp_idx *out, mp_err *err) {
    mp_idx_reader *s;
    int rc = mp_idx_open_file(path, expected_ndims, &s, out, err);
    if (rc == 0) rc = mp_idx_read_payload(s, out, err);
    mp_idx_close(s);
    return rc;
}

void mp_idx_free(mp_idx *idx) {
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}
