/* The checkpoint file: the documented byte layout (version 3, ten thetas), encode/decode
 * and save/load round trips, every kind of damage refused with a message naming the file
 * (bad magic, other version, wrong length, truncation at every length, an extra byte,
 * every single-bit flip, an empty file), metaplast 0.1's versions 1 and 2 refused with
 * the reason, fewer Adam steps than episodes (skipped episodes) accepted, a leftover
 * checkpoint.bin.tmp that does not matter, and save errors that name the path and leave
 * the previous checkpoint as it was. */
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "metaplast/checkpoint.h"

static mp_checkpoint sample(long episode) {
    mp_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    ck.episode = episode;
    for (int k = 0; k < MP_THETAS; k++) {
        ck.theta[k] = 0.001 * (k + 1) - 0.0025 + 1e-17 * k; /* not round numbers */
        ck.adam_m[k] = -0.125 * k + 3.0e-9;
        ck.adam_v[k] = 1.0 / (k + 3);
    }
    ck.adam_step = episode;
    mp_rng_seed(&ck.rng, 12345);
    for (long i = 0; i < episode; i++) mp_rng_next(&ck.rng);
    snprintf(ck.binding, sizeof ck.binding, "seed : 1\nK : %ld\nimages : 123 bytes, crc32 0000abcd\n", episode);
    return ck;
}

static void assert_same(const mp_checkpoint *a, const mp_checkpoint *b) {
    assert_int_equal(a->episode, b->episode);
    assert_int_equal(a->adam_step, b->adam_step);
    assert_memory_equal(a->theta, b->theta, sizeof a->theta);
    assert_memory_equal(a->adam_m, b->adam_m, sizeof a->adam_m);
    assert_memory_equal(a->adam_v, b->adam_v, sizeof a->adam_v);
    assert_memory_equal(a->rng.s, b->rng.s, sizeof a->rng.s);
    assert_memory_equal(a->binding, b->binding, sizeof a->binding);
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites the trailing CRC so that only the damage under test is wrong. */
static void fix_crc(uint8_t *buf, size_t n) {
    put_le32(buf + n - 4, (uint32_t)crc32(crc32(0, NULL, 0), buf, (uInt)(n - 4)));
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* Decoding must fail, with a message that starts with the name and contains `what`. */
static void assert_refused(const uint8_t *buf, size_t n, const char *what) {
    mp_checkpoint ck = sample(99), before = ck;
    mp_err err;
    err.msg[0] = '\0';
    assert_int_equal(mp_checkpoint_decode(buf, n, "run/checkpoint.bin", &ck, &err), -1);
    if (strncmp(err.msg, "run/checkpoint.bin: ", 20) != 0 || (what && !strstr(err.msg, what)))
        fail_msg("message '%s' should name run/checkpoint.bin and say '%s'", err.msg, what ? what : "");
    assert_same(&ck, &before); /* a refused file leaves the output alone */
}

static void test_layout_and_round_trip(void **state) {
    (void)state;
    for (long episode = 0; episode <= 1000; episode += 250) {
        mp_checkpoint ck = sample(episode), back;
        uint8_t buf[MP_CHECKPOINT_SIZE];
        size_t n = mp_checkpoint_encode(&ck, buf);
        assert_int_equal(n, MP_CHECKPOINT_SIZE);
        /* 1332: the header's layout, 10 thetas, 10 Adam m, 10 Adam v */
        assert_int_equal(n, 8 + 4 + 4 + (8 + 30 * 8 + 8 + 32 + 1024) + 4);
        assert_int_equal(n, 1332);
        assert_int_equal(le32(buf + 8), 3);
        assert_memory_equal(buf, "MPLASTCK", 8);
        assert_int_equal(le32(buf + 8), MP_CHECKPOINT_VERSION);
        assert_int_equal(le32(buf + 12), MP_CHECKPOINT_PAYLOAD);
        assert_int_equal(le32(buf + 16), (uint32_t)episode); /* i64 episodes, little-endian */
        assert_int_equal(le32(buf + n - 4), (uint32_t)crc32(crc32(0, NULL, 0), buf, (uInt)(n - 4)));
        mp_err err;
        assert_int_equal(mp_checkpoint_decode(buf, n, "x", &back, &err), 0);
        assert_same(&ck, &back);
    }
    /* NaN, infinities and signed zeros keep their bits */
    mp_checkpoint ck = sample(3), back;
    ck.theta[1] = -0.0;
    ck.adam_m[2] = INFINITY;
    ck.adam_v[4] = 4.9e-324;
    ck.theta[9] = -INFINITY;
    ck.adam_m[9] = NAN;
    uint8_t buf[MP_CHECKPOINT_SIZE];
    mp_err err;
    assert_int_equal(mp_checkpoint_decode(buf, mp_checkpoint_encode(&ck, buf), "x", &back, &err), 0);
    assert_same(&ck, &back);

    /* save/load through a directory */
    char *dir = tu_mkdtemp(), path[4200];
    assert_non_null(dir);
    ck = sample(42);
    assert_int_equal(mp_checkpoint_save(dir, &ck, 1, &err), 0);
    assert_int_equal(mp_checkpoint_load(dir, &back, &err), 0);
    assert_same(&ck, &back);
    snprintf(path, sizeof path, "%s/%s", dir, MP_CHECKPOINT_FILE);
    uint8_t file[2048];
    assert_int_equal(read_file(path, file, sizeof file), MP_CHECKPOINT_SIZE);
    assert_memory_equal(file, buf, 8);
    snprintf(path, sizeof path, "%s/%s.tmp", dir, MP_CHECKPOINT_FILE);
    assert_false(tu_exists(path));
    /* saving again replaces it */
    ck = sample(43);
    assert_int_equal(mp_checkpoint_save(dir, &ck, 1, &err), 0);
    assert_int_equal(mp_checkpoint_load(dir, &back, &err), 0);
    assert_same(&ck, &back);
    tu_rmtree(dir);
    free(dir);
}

static void test_damage_refused(void **state) {
    (void)state;
    mp_checkpoint ck = sample(17);
    uint8_t good[MP_CHECKPOINT_SIZE], buf[MP_CHECKPOINT_SIZE + 8];
    size_t n = mp_checkpoint_encode(&ck, good);

    memcpy(buf, good, n);
    buf[0] = 'X';
    assert_refused(buf, n, "bad magic");
    memcpy(buf, good, n);
    memcpy(buf, "\x89PNG\r\n\x1a\n", 8); /* some other file */
    fix_crc(buf, n);
    assert_refused(buf, n, "not a metaplast checkpoint");

    memcpy(buf, good, n);
    put_le32(buf + 8, 4);
    fix_crc(buf, n);
    assert_refused(buf, n, "version 4");
    put_le32(buf + 8, 0);
    fix_crc(buf, n);
    assert_refused(buf, n, "version 0");

    memcpy(buf, good, n);
    put_le32(buf + 12, MP_CHECKPOINT_PAYLOAD + 8);
    fix_crc(buf, n);
    assert_refused(buf, n, "damaged");
    put_le32(buf + 12, 0xFFFFFFFFu);
    fix_crc(buf, n);
    assert_refused(buf, n, "damaged");

    /* truncated at every length, down to nothing */
    for (size_t len = 0; len < n; len++) assert_refused(good, len, NULL);
    assert_refused(good, 0, "bad magic");
    assert_refused(good, n - 1, "damaged");
    /* one byte too many */
    memcpy(buf, good, n);
    buf[n] = 0;
    assert_refused(buf, n + 1, "damaged");

    /* every single-bit flip: the CRC (or, in the header, the magic/version/length check) catches it */
    int flips = 0;
    for (size_t byte = 0; byte < n; byte++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(buf, good, n);
            buf[byte] ^= (uint8_t)(1u << bit);
            assert_refused(buf, n, byte >= 16 ? "damaged" : NULL);
            flips++;
        }
    assert_int_equal(flips, 8 * MP_CHECKPOINT_SIZE);

    /* consistent CRC, inconsistent contents: more Adam steps than episodes, fewer than
     * none, negative episodes */
    mp_checkpoint odd = ck;
    odd.adam_step = ck.episode + 1;
    mp_checkpoint_encode(&odd, buf);
    assert_refused(buf, n, "Adam steps");
    odd.adam_step = -1;
    mp_checkpoint_encode(&odd, buf);
    assert_refused(buf, n, "Adam steps");
    odd = ck;
    odd.episode = odd.adam_step = -5;
    mp_checkpoint_encode(&odd, buf);
    assert_refused(buf, n, "damaged");
    /* a binding that is not NUL-padded text */
    memcpy(buf, good, n);
    buf[n - 5] = 'x';
    fix_crc(buf, n);
    assert_refused(buf, n, "binding");
}

/* Fewer Adam steps than episodes: the episodes that --diverge skip skipped took none. */
static void test_skipped_episodes(void **state) {
    (void)state;
    mp_checkpoint ck = sample(20), back;
    ck.adam_step = 13;
    uint8_t buf[MP_CHECKPOINT_SIZE];
    mp_err err;
    assert_int_equal(mp_checkpoint_decode(buf, mp_checkpoint_encode(&ck, buf), "x", &back, &err), 0);
    assert_same(&ck, &back);
    ck.adam_step = 0;
    assert_int_equal(mp_checkpoint_decode(buf, mp_checkpoint_encode(&ck, buf), "x", &back, &err), 0);
    assert_same(&ck, &back);
}

/* metaplast 0.1's layout, version 1 (no binding) or 2: 5 thetas, Adam steps = episodes. */
static size_t encode_before_pool(const mp_checkpoint *ck, int version, uint8_t *buf) {
    uint8_t *p = buf;
    memcpy(p, "MPLASTCK", 8);
    p += 8;
    size_t payload = 8 + 5 * 8 * 3 + 8 + 4 * 8 + (version == 2 ? MP_CHECKPOINT_BINDING : 0);
    put_le32(p, (uint32_t)version), put_le32(p + 4, (uint32_t)payload);
    p += 8;
    uint64_t words[1 + 15 + 1 + 4];
    int w = 0;
    words[w++] = (uint64_t)ck->episode;
    const double *arrays[3] = {ck->theta, ck->adam_m, ck->adam_v};
    for (int a = 0; a < 3; a++)
        for (int k = 0; k < 5; k++) memcpy(&words[w++], &arrays[a][k], 8);
    words[w++] = (uint64_t)ck->adam_step;
    for (int i = 0; i < 4; i++) words[w++] = ck->rng.s[i];
    for (int i = 0; i < w; i++, p += 8)
        for (int b = 0; b < 8; b++) p[b] = (uint8_t)(words[i] >> (8 * b));
    if (version == 2) {
        memcpy(p, ck->binding, MP_CHECKPOINT_BINDING);
        p += MP_CHECKPOINT_BINDING;
    }
    size_t n = (size_t)(p - buf) + 4;
    fix_crc(buf, n);
    return n;
}

/* Versions 1 and 2 (metaplast 0.1, five thetas) are refused, saying why and what to do;
 * the same bytes damaged are refused as damaged. */
static void test_before_pool_refused(void **state) {
    (void)state;
    mp_checkpoint ck = sample(9);
    uint8_t buf[MP_CHECKPOINT_SIZE + 8];
    for (int version = 1; version <= 2; version++) {
        size_t n = encode_before_pool(&ck, version, buf);
        assert_int_equal(n, version == 1 ? 188 : 1212);
        assert_int_equal(mp_checkpoint_peek_version(buf, n), (unsigned)version);
        mp_err err = {""};
        mp_checkpoint back;
        assert_int_equal(mp_checkpoint_decode(buf, n, "run/checkpoint.bin", &back, &err), -1);
        printf("  version %d: %s\n", version, err.msg);
        assert_refused(buf, n, "before the rule pool");
        assert_non_null(strstr(err.msg, "version"));
        assert_non_null(strstr(err.msg, "finish it with the metaplast that started it"));
        /* damaged: one byte more, a bit flipped */
        assert_refused(buf, n + 1, "damaged");
        buf[40] ^= 4;
        assert_refused(buf, n, "damaged");
    }
    assert_int_equal(mp_checkpoint_peek_version((const uint8_t *)"MPLASTCK\3\0\0\0", 12), 3);
    assert_int_equal(mp_checkpoint_peek_version((const uint8_t *)"NOTACKPT\3\0\0\0", 12), 0);
    assert_int_equal(mp_checkpoint_peek_version((const uint8_t *)"MPLASTCK", 8), 0);
}

/* The same refusals through mp_checkpoint_load: the message names the file's path. */
static void test_damaged_files(void **state) {
    (void)state;
    char *dir = tu_mkdtemp(), path[4200];
    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/%s", dir, MP_CHECKPOINT_FILE);
    mp_checkpoint ck = sample(5), back;
    uint8_t good[MP_CHECKPOINT_SIZE], buf[MP_CHECKPOINT_SIZE + 64];
    size_t n = mp_checkpoint_encode(&ck, good);
    mp_err err;

    /* no file at all */
    assert_int_equal(mp_checkpoint_load(dir, &back, &err), -1);
    if (!strstr(err.msg, path) || !strstr(err.msg, strerror(ENOENT))) fail_msg("message: %s", err.msg);

    struct {
        const char *what;
        size_t len;
        int byte, bit;
        const char *expect;
    } cases[] = {
        {"empty file", 0, -1, 0, "bad magic"},
        {"magic only", 8, -1, 0, "truncated"},
        {"truncated header", 15, -1, 0, "truncated"},
        {"truncated payload", 100, -1, 0, "damaged"},
        {"last byte missing", MP_CHECKPOINT_SIZE - 1, -1, 0, "damaged"},
        {"trailing garbage", MP_CHECKPOINT_SIZE + 64, -1, 0, "damaged"},
        {"flipped magic bit", MP_CHECKPOINT_SIZE, 3, 5, "bad magic"},
        {"flipped payload bit", MP_CHECKPOINT_SIZE, 60, 1, "checksum"},
        {"flipped CRC bit", MP_CHECKPOINT_SIZE, MP_CHECKPOINT_SIZE - 1, 7, "checksum"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memset(buf, 0xA5, sizeof buf);
        memcpy(buf, good, n);
        if (cases[c].byte >= 0) buf[cases[c].byte] ^= (uint8_t)(1u << cases[c].bit);
        assert_int_equal(tu_write_file(path, buf, cases[c].len), 0);
        err.msg[0] = '\0';
        assert_int_equal(mp_checkpoint_load(dir, &back, &err), -1);
        printf("  %-20s -> %s\n", cases[c].what, err.msg);
        if (strncmp(err.msg, path, strlen(path)) != 0 || !strstr(err.msg, cases[c].expect))
            fail_msg("%s: message '%s' should name %s and say '%s'", cases[c].what, err.msg, path, cases[c].expect);
    }
    /* a directory where the file should be */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    err.msg[0] = '\0';
    assert_int_equal(mp_checkpoint_load(dir, &back, &err), -1);
    printf("  %-20s -> %s\n", "a directory", err.msg);
    assert_non_null(strstr(err.msg, path));
    tu_rmtree(dir);
    free(dir);
}

/* A kill between creating checkpoint.bin.tmp and renaming it leaves the temporary file
 * behind: loading ignores it and the next save overwrites it. */
static void test_leftover_tmp(void **state) {
    (void)state;
    char *dir = tu_mkdtemp(), tmp[4200];
    assert_non_null(dir);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, MP_CHECKPOINT_FILE);
    mp_checkpoint old = sample(8), next = sample(9), back;
    mp_err err;
    assert_int_equal(mp_checkpoint_save(dir, &old, 0, &err), 0);

    /* a torn temporary file (half of a newer checkpoint, then garbage) */
    uint8_t buf[MP_CHECKPOINT_SIZE * 2];
    memset(buf, 0xEE, sizeof buf);
    mp_checkpoint_encode(&next, buf);
    assert_int_equal(tu_write_file(tmp, buf, MP_CHECKPOINT_SIZE / 2), 0);
    assert_int_equal(mp_checkpoint_load(dir, &back, &err), 0);
    assert_same(&old, &back);
    /* a longer one: O_TRUNC, so no stale tail survives the next save */
    assert_int_equal(tu_write_file(tmp, buf, sizeof buf), 0);
    assert_int_equal(mp_checkpoint_save(dir, &next, 1, &err), 0);
    assert_false(tu_exists(tmp));
    assert_int_equal(mp_checkpoint_load(dir, &back, &err), 0);
    assert_same(&next, &back);
    tu_rmtree(dir);
    free(dir);
}

static void expect_save_error(const char *dir, const char *expect_path, const char *expect_error) {
    mp_checkpoint ck = sample(1);
    mp_err err;
    err.msg[0] = '\0';
    assert_int_equal(mp_checkpoint_save(dir, &ck, 1, &err), -1);
    printf("  save into %s -> %s\n", dir, err.msg);
    if (!strstr(err.msg, expect_path) || !strstr(err.msg, expect_error))
        fail_msg("message '%s' should name %s and say '%s'", err.msg, expect_path, expect_error);
}

static void test_save_errors(void **state) {
    (void)state;
    char *base = tu_mkdtemp(), dir[4200], tmp[4300], file[4400], path[4300];
    assert_non_null(base);
    mp_err err;

    /* a missing directory */
    snprintf(dir, sizeof dir, "%s/no/such/dir", base);
    expect_save_error(dir, dir, strerror(ENOENT));
    /* a file where the run directory should be (tests run as root: permission bits
     * would not stop the write) */
    snprintf(file, sizeof file, "%s/a-file", base);
    assert_int_equal(tu_write_file(file, "x", 1), 0);
    expect_save_error(file, file, strerror(ENOTDIR));
    /* a directory nobody may create files in, even root */
    expect_save_error("/proc", "/proc/checkpoint.bin.tmp", "");

    /* a full disk: the temporary file is /dev/full. The previous checkpoint stays as it
     * was, and the temporary name is cleaned up. */
    snprintf(dir, sizeof dir, "%s/run", base);
    assert_int_equal(mkdir(dir, 0755), 0);
    mp_checkpoint old = sample(4), back;
    assert_int_equal(mp_checkpoint_save(dir, &old, 0, &err), 0);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, MP_CHECKPOINT_FILE);
    snprintf(path, sizeof path, "%s/%s", dir, MP_CHECKPOINT_FILE);
    uint8_t before[512], after[512];
    size_t nb = read_file(path, before, sizeof before);
    if (symlink("/dev/full", tmp) != 0) {
        printf("  skipping the /dev/full case: symlink: %s\n", strerror(errno));
    } else {
        expect_save_error(dir, tmp, strerror(ENOSPC));
        assert_int_equal(read_file(path, after, sizeof after), nb);
        assert_memory_equal(before, after, nb);
        assert_int_equal(mp_checkpoint_load(dir, &back, &err), 0);
        assert_same(&old, &back);
        assert_false(tu_exists(tmp));
    }
    /* checkpoint.bin is a directory: the rename fails, naming it; nothing is left behind */
    snprintf(dir, sizeof dir, "%s/run2", base);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/%s", dir, MP_CHECKPOINT_FILE);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(file, sizeof file, "%s/x", path);
    assert_int_equal(tu_write_file(file, "x", 1), 0); /* non-empty, so rename cannot replace it */
    expect_save_error(dir, path, "");
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, MP_CHECKPOINT_FILE);
    assert_false(tu_exists(tmp));
    tu_rmtree(base);
    free(base);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_and_round_trip), cmocka_unit_test(test_damage_refused),
        cmocka_unit_test(test_skipped_episodes),      cmocka_unit_test(test_before_pool_refused),
        cmocka_unit_test(test_damaged_files),         cmocka_unit_test(test_leftover_tmp),
        cmocka_unit_test(test_save_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
