/* IDX reader: round trips (gz and raw, file and memory) and every kind of corrupt input. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io/idx.h"
#include "metaplast/data.h"
#include "testutil.h"

typedef struct {
    char *dir; /* first: tu_dir_fixture_new / tu_dir_fixture_free */
    char path[4096];
} fixture;

static int setup(void **state) {
    fixture *fx = tu_dir_fixture_new(sizeof *fx);
    if (!fx) return -1;
    *state = fx;
    return 0;
}

/* An IDX file of unsigned bytes: header (magic, dims) then payload, as bytes. */
static size_t idx_bytes(uint8_t *out, uint32_t magic, const uint32_t *dims, int ndims,
                        const uint8_t *payload, size_t payload_len) {
    size_t n = 0;
    uint32_t words[4] = {magic};
    for (int d = 0; d < ndims; d++) words[d + 1] = dims[d];
    for (int w = 0; w <= ndims; w++)
        for (int b = 3; b >= 0; b--) out[n++] = (uint8_t)(words[w] >> (8 * b));
    if (payload_len) memcpy(out + n, payload, payload_len);
    return n + payload_len;
}

static void write_file(const char *path, const uint8_t *bytes, size_t n, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, bytes, (unsigned)n), (int)n);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(bytes, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
    }
}

static uint8_t *read_whole(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 20);
    *n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* A 4 x 3 x 2 image file's bytes, payload 0..23. */
static size_t sample_images(uint8_t *out) {
    uint8_t pix[24];
    for (int i = 0; i < 24; i++) pix[i] = (uint8_t)(i * 10);
    const uint32_t dims[3] = {4, 3, 2};
    return idx_bytes(out, 0x803, dims, 3, pix, sizeof pix);
}

static void assert_sample(const mp_idx *idx) {
    assert_int_equal(idx->ndims, 3);
    assert_int_equal(idx->dims[0], 4);
    assert_int_equal(idx->dims[1], 3);
    assert_int_equal(idx->dims[2], 2);
    assert_int_equal(idx->size, 24);
    for (int i = 0; i < 24; i++) assert_int_equal(idx->data[i], i * 10);
}

/* Writes bytes (compressed or not) to a file, reads it back both from the file and
 * from memory, and expects the read to fail with a message naming it and saying what. */
static void expect_failure(fixture *fx, const uint8_t *bytes, size_t n, int gz, int ndims,
                           const char *what) {
    snprintf(fx->path, sizeof fx->path, "%s/bad-%s.idx%s", fx->dir, gz ? "gz" : "raw", gz ? ".gz" : "");
    write_file(fx->path, bytes, n, gz);
    mp_idx idx;
    mp_err err = {{0}};
    assert_int_equal(mp_idx_read_file(fx->path, ndims, &idx, &err), -1);
    assert_null(idx.data);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, fx->path));
    assert_non_null(strstr(err.msg, what));

    size_t file_len;
    uint8_t *file_bytes = read_whole(fx->path, &file_len);
    assert_int_equal(mp_idx_read_mem(file_bytes, file_len, "in-memory", ndims, &idx, &err), -1);
    assert_non_null(strstr(err.msg, "in-memory: "));
    assert_non_null(strstr(err.msg, what));
    free(file_bytes);
}

static void test_round_trip_files(void **state) {
    fixture *fx = *state;
    uint8_t bytes[64];
    size_t n = sample_images(bytes);
    for (int gz = 0; gz <= 1; gz++) {
        snprintf(fx->path, sizeof fx->path, "%s/images%s", fx->dir, gz ? ".gz" : "");
        write_file(fx->path, bytes, n, gz);
        mp_idx idx;
        mp_err err = {{0}};
        assert_int_equal(mp_idx_read_file(fx->path, 3, &idx, &err), 0);
        assert_sample(&idx);
        mp_idx_free(&idx);
        assert_null(idx.data);

        size_t file_len;
        uint8_t *file_bytes = read_whole(fx->path, &file_len);
        assert_int_equal(mp_idx_read_mem(file_bytes, file_len, "mem", 3, &idx, &err), 0);
        assert_sample(&idx);
        mp_idx_free(&idx);
        free(file_bytes);
    }
}

static void test_round_trip_labels(void **state) {
    fixture *fx = *state;
    uint8_t labels[5] = {3, 1, 4, 1, 5}, bytes[32];
    const uint32_t dims[1] = {5};
    size_t n = idx_bytes(bytes, 0x801, dims, 1, labels, sizeof labels);
    snprintf(fx->path, sizeof fx->path, "%s/labels.gz", fx->dir);
    write_file(fx->path, bytes, n, 1);
    mp_idx idx;
    mp_err err;
    assert_int_equal(mp_idx_read_file(fx->path, 1, &idx, &err), 0);
    assert_int_equal(idx.ndims, 1);
    assert_int_equal(idx.dims[0], 5);
    assert_memory_equal(idx.data, labels, 5);
    mp_idx_free(&idx);
}

/* A gzip file may be several members back to back (what `cat a.gz b.gz` makes). */
static void test_gzip_members(void **state) {
    (void)state;
    uint8_t bytes[64], packed[256];
    size_t n = sample_images(bytes), len = 0;
    const size_t cut[3] = {0, 10, n};
    for (int m = 0; m < 2; m++) {
        uLongf out = sizeof packed - len;
        z_stream zs = {0};
        assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
        zs.next_in = bytes + cut[m];
        zs.avail_in = (uInt)(cut[m + 1] - cut[m]);
        zs.next_out = packed + len;
        zs.avail_out = (uInt)out;
        assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
        len += out - zs.avail_out;
        deflateEnd(&zs);
    }
    mp_idx idx;
    mp_err err;
    assert_int_equal(mp_idx_read_mem(packed, len, "members", 3, &idx, &err), 0);
    assert_sample(&idx);
    mp_idx_free(&idx);
}

static void test_bad_magic(void **state) {
    uint8_t bytes[64];
    size_t n = sample_images(bytes);
    bytes[0] = 0x12;
    expect_failure(*state, bytes, n, 1, 3, "bad magic number 0x12000803");
    expect_failure(*state, bytes, n, 0, 3, "bad magic number");
}

static void test_wrong_ndims(void **state) {
    uint8_t bytes[64];
    size_t n = sample_images(bytes);
    expect_failure(*state, bytes, n, 1, 1, "wrong number of dimensions");
    uint8_t labels[16];
    const uint32_t dims[1] = {3};
    n = idx_bytes(labels, 0x801, dims, 1, (const uint8_t *)"abc", 3);
    expect_failure(*state, labels, n, 0, 3, "wrong number of dimensions");
}

static void test_zero_dim(void **state) {
    uint8_t bytes[64];
    const uint32_t dims[3] = {2, 0, 28};
    size_t n = idx_bytes(bytes, 0x803, dims, 3, NULL, 0);
    expect_failure(*state, bytes, n, 1, 3, "dimension 1 is zero");
}

static void test_huge_dims(void **state) {
    uint8_t bytes[64];
    /* The product overflows 32 and 64 bits; and one that is merely over 1 GiB. */
    const uint32_t overflow[3] = {0xffffffffu, 0xffffffffu, 0xffffffffu}, big[3] = {2000000, 28, 28};
    size_t n = idx_bytes(bytes, 0x803, overflow, 3, NULL, 0);
    expect_failure(*state, bytes, n, 0, 3, "dimensions too large");
    n = idx_bytes(bytes, 0x803, big, 3, NULL, 0);
    expect_failure(*state, bytes, n, 1, 3, "dimensions too large");
}

static void test_truncated(void **state) {
    uint8_t bytes[64];
    size_t n = sample_images(bytes);
    expect_failure(*state, bytes, n - 5, 1, 3, "truncated: expected 24 bytes of pixels, got 19");
    expect_failure(*state, bytes, n - 5, 0, 3, "truncated: expected 24 bytes of pixels, got 19");
    expect_failure(*state, bytes, 9, 0, 3, "truncated: the IDX header of images needs 16 bytes, got 9");
    expect_failure(*state, bytes, 0, 0, 3, "truncated");
}

/* A header claiming far more than the file can hold fails before allocating it. */
static void test_truncated_before_allocating(void **state) {
    uint8_t bytes[64];
    const uint32_t dims[3] = {1000000, 28, 28};
    size_t n = idx_bytes(bytes, 0x803, dims, 3, (const uint8_t *)"xyz", 3);
    expect_failure(*state, bytes, n, 0, 3, "truncated: expected 784000000 bytes of pixels, got 3");
    expect_failure(*state, bytes, n, 1, 3, "truncated: expected 784000000 bytes of pixels, but the");
}

static void test_oversized(void **state) {
    uint8_t bytes[64];
    size_t n = sample_images(bytes);
    memcpy(bytes + n, "tail", 4);
    expect_failure(*state, bytes, n + 4, 1, 3, "oversized: 4 extra bytes after the pixels");
    expect_failure(*state, bytes, n + 4, 0, 3, "oversized: 4 extra bytes");
}

static void test_corrupt_gzip(void **state) {
    fixture *fx = *state;
    uint8_t bytes[64];
    size_t n = sample_images(bytes);
    char good[4096];
    snprintf(good, sizeof good, "%s/good.gz", fx->dir);
    write_file(good, bytes, n, 1);
    size_t len;
    uint8_t *gz = read_whole(good, &len);

    /* Flipping a byte of the CRC trailer: the content reads fine, the check fails. */
    gz[len - 6] ^= 0xff;
    expect_failure(fx, gz, len, 0, 3, "corrupt gzip: incorrect data check");
    gz[len - 6] ^= 0xff;
    /* A bad block type right after the 10-byte gzip header. */
    gz[10] |= 0x06;
    expect_failure(fx, gz, len, 0, 3, "corrupt gzip");
    /* Cut inside the trailer: all pixels arrive but the stream never ends. */
    free(gz);
    gz = read_whole(good, &len);
    expect_failure(fx, gz, len - 3, 0, 3, "truncated gzip");
    /* Garbage after the stream. */
    memcpy(gz + len, "junk", 4);
    expect_failure(fx, gz, len + 4, 0, 3, "data that is not gzip follows");
    free(gz);
}

static void test_missing_file(void **state) {
    fixture *fx = *state;
    snprintf(fx->path, sizeof fx->path, "%s/nope.gz", fx->dir);
    mp_idx idx;
    mp_err err;
    assert_int_equal(mp_idx_read_file(fx->path, 3, &idx, &err), -1);
    assert_non_null(strstr(err.msg, fx->path));
    assert_non_null(strstr(err.msg, "cannot open"));
}

/* A FIFO in place of the file is refused at once (fopen would wait for a writer forever);
 * alarm ends the test instead of hanging it if the reader ever blocks again. */
static void test_fifo_refused(void **state) {
    fixture *fx = *state;
    snprintf(fx->path, sizeof fx->path, "%s/fifo.gz", fx->dir);
    assert_int_equal(mkfifo(fx->path, 0644), 0);
    alarm(10);
    mp_idx idx;
    mp_err err = {{0}};
    assert_int_equal(mp_idx_read_file(fx->path, 3, &idx, &err), -1);
    assert_null(idx.data);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, fx->path));
    assert_non_null(strstr(err.msg, "not a regular file (a FIFO)"));
    mp_idx_reader *reader;
    assert_int_equal(mp_idx_open_file(fx->path, 1, &reader, &idx, &err), -1);
    assert_null(reader);
    assert_non_null(strstr(err.msg, "not a regular file (a FIFO)"));
    alarm(0);
}

static void test_directory_refused(void **state) {
    fixture *fx = *state;
    mp_idx idx;
    mp_err err = {{0}};
    assert_int_equal(mp_idx_read_file(fx->dir, 3, &idx, &err), -1);
    assert_non_null(strstr(err.msg, fx->dir));
    assert_non_null(strstr(err.msg, "is a directory"));
}

/* The header alone, then the payload: nothing is allocated before the second step. */
static void test_two_steps(void **state) {
    fixture *fx = *state;
    uint8_t bytes[64];
    size_t n = sample_images(bytes);
    snprintf(fx->path, sizeof fx->path, "%s/images.gz", fx->dir);
    write_file(fx->path, bytes, n, 1);
    mp_idx_reader *reader;
    mp_idx idx;
    mp_err err = {{0}};
    assert_int_equal(mp_idx_open_file(fx->path, 3, &reader, &idx, &err), 0);
    assert_non_null(reader);
    assert_int_equal(idx.ndims, 3);
    assert_int_equal(idx.dims[0], 4);
    assert_int_equal(idx.size, 24);
    assert_null(idx.data);
    assert_int_equal(mp_idx_read_payload(reader, &idx, &err), 0);
    assert_sample(&idx);
    mp_idx_free(&idx);
    mp_idx idx2;
    assert_int_equal(mp_idx_read_payload(reader, &idx2, &err), -1); /* once per reader */
    assert_non_null(strstr(err.msg, fx->path));
    assert_null(idx2.data);
    mp_idx_close(reader);
    mp_idx_close(NULL);
    /* A bad header fails at the first step. */
    bytes[0] = 0x12;
    write_file(fx->path, bytes, n, 0);
    assert_int_equal(mp_idx_open_file(fx->path, 3, &reader, &idx, &err), -1);
    assert_null(reader);
    assert_non_null(strstr(err.msg, "bad magic number"));
}

/* Reads path from the file and from memory and checks the fingerprint against zlib's
 * crc32 of its bytes; returns the CRC. */
static uint32_t check_fingerprint(const char *path, int ndims) {
    size_t len;
    uint8_t *file_bytes = read_whole(path, &len);
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), file_bytes, (uInt)len);
    mp_idx idx;
    mp_err err = {{0}};
    assert_int_equal(mp_idx_read_file(path, ndims, &idx, &err), 0);
    assert_int_equal(idx.file_bytes, len);
    assert_int_equal(idx.file_crc, crc);
    mp_idx_free(&idx);
    assert_int_equal(mp_idx_read_mem(file_bytes, len, "mem", ndims, &idx, &err), 0);
    assert_int_equal(idx.file_bytes, len);
    assert_int_equal(idx.file_crc, crc);
    mp_idx_free(&idx);
    free(file_bytes);
    return crc;
}

/* Size and CRC of the file as stored (compressed bytes for .gz); one byte changed
 * changes the CRC, even a byte of the gzip header that leaves the content alone. */
static void test_fingerprint(void **state) {
    fixture *fx = *state;
    uint8_t bytes[64];
    size_t n = sample_images(bytes);
    for (int gz = 0; gz <= 1; gz++) {
        snprintf(fx->path, sizeof fx->path, "%s/images%s", fx->dir, gz ? ".gz" : "");
        write_file(fx->path, bytes, n, gz);
        uint32_t before = check_fingerprint(fx->path, 3);
        size_t len;
        uint8_t *file_bytes = read_whole(fx->path, &len);
        file_bytes[gz ? 4 : n - 1] ^= 1; /* gzip: the mtime field; raw: the last pixel */
        assert_int_equal(tu_write_file(fx->path, file_bytes, len), 0);
        free(file_bytes);
        assert_int_not_equal(check_fingerprint(fx->path, 3), before);
    }
    /* A file larger than one read buffer (64 KiB) is hashed across its refills. */
    uint8_t *big = malloc(16 + 300000);
    const uint32_t dims[3] = {300000, 1, 1};
    for (size_t i = 0; i < 300000; i++) big[16 + i] = (uint8_t)(i * 7);
    size_t big_len = idx_bytes(big, 0x803, dims, 3, big + 16, 300000);
    for (int gz = 0; gz <= 1; gz++) {
        snprintf(fx->path, sizeof fx->path, "%s/big%s", fx->dir, gz ? ".gz" : "");
        write_file(fx->path, big, big_len, gz);
        check_fingerprint(fx->path, 3);
    }
    free(big);
}

/* What follows the content is either hashed (an empty gzip member: a valid file) or
 * refused as oversized, so a fingerprint never leaves part of a file out. */
static void test_fingerprint_covers_tail(void **state) {
    fixture *fx = *state;
    uint8_t bytes[64];
    size_t n = sample_images(bytes);
    char empty[4096];
    snprintf(empty, sizeof empty, "%s/empty.gz", fx->dir);
    write_file(empty, bytes, 0, 1);
    snprintf(fx->path, sizeof fx->path, "%s/images.gz", fx->dir);
    write_file(fx->path, bytes, n, 1);
    size_t a_len, b_len;
    uint8_t *a = read_whole(fx->path, &a_len), *b = read_whole(empty, &b_len);
    uint8_t *both = malloc(a_len + b_len);
    memcpy(both, a, a_len);
    memcpy(both + a_len, b, b_len);
    assert_int_equal(tu_write_file(fx->path, both, a_len + b_len), 0);
    check_fingerprint(fx->path, 3);
    free(a), free(b), free(both);
    /* A raw file with a tail longer than the trailing bytes counted. */
    size_t tail = ((size_t)2 << 20);
    uint8_t *raw = calloc(1, n + tail);
    memcpy(raw, bytes, n);
    snprintf(fx->path, sizeof fx->path, "%s/images.raw", fx->dir);
    assert_int_equal(tu_write_file(fx->path, raw, n + tail), 0);
    free(raw);
    mp_idx idx;
    mp_err err = {{0}};
    assert_int_equal(mp_idx_read_file(fx->path, 3, &idx, &err), -1);
    assert_non_null(strstr(err.msg, "oversized: at least"));
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, tu_dir_fixture_free)
    const struct CMUnitTest tests[] = {
        T(test_round_trip_files),  T(test_round_trip_labels), T(test_gzip_members),
        T(test_bad_magic),         T(test_wrong_ndims),       T(test_zero_dim),
        T(test_huge_dims),         T(test_truncated),         T(test_truncated_before_allocating),
        T(test_oversized),         T(test_corrupt_gzip),      T(test_missing_file),
        T(test_fifo_refused),      T(test_directory_refused), T(test_two_steps),
        T(test_fingerprint),       T(test_fingerprint_covers_tail),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
