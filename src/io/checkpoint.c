#include "metaplast/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const uint8_t magic[8] = {'M', 'P', 'L', 'A', 'S', 'T', 'C', 'K'};

static uint8_t *put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}

static uint8_t *put_f64(uint8_t *p, double d) {
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    return put_u64(p, v);
}

static uint64_t get_u64(const uint8_t **p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)(*p)[i] << (8 * i);
    *p += 8;
    return v;
}

static uint32_t get_u32(const uint8_t **p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)(*p)[i] << (8 * i);
    *p += 4;
    return v;
}

static double get_f64(const uint8_t **p) {
    uint64_t v = get_u64(p);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

static uint32_t crc_of(const uint8_t *bytes, size_t n) { return (uint32_t)crc32(crc32(0, NULL, 0), bytes, (uInt)n); }

size_t mp_checkpoint_encode(const mp_checkpoint *ck, uint8_t *buf) {
    uint8_t *p = buf;
    memcpy(p, magic, sizeof magic);
    p += sizeof magic;
    p = put_u32(p, MP_CHECKPOINT_VERSION);
    p = put_u32(p, MP_CHECKPOINT_PAYLOAD);
    p = put_u64(p, (uint64_t)ck->episode);
    for (int k = 0; k < MP_THETAS; k++) p = put_f64(p, ck->theta[k]);
    for (int k = 0; k < MP_THETAS; k++) p = put_f64(p, ck->adam_m[k]);
    for (int k = 0; k < MP_THETAS; k++) p = put_f64(p, ck->adam_v[k]);
    p = put_u64(p, (uint64_t)ck->adam_step);
    for (int i = 0; i < 4; i++) p = put_u64(p, ck->rng.s[i]);
    memcpy(p, ck->binding, MP_CHECKPOINT_BINDING);
    p += MP_CHECKPOINT_BINDING;
    p = put_u32(p, crc_of(buf, (size_t)(p - buf)));
    return (size_t)(p - buf);
}

int mp_checkpoint_decode(const uint8_t *bytes, size_t n, const char *name, mp_checkpoint *ck, mp_err *err) {
    if (n < sizeof magic || memcmp(bytes, magic, sizeof magic) != 0)
        return mp_errf(err, "%s: not a metaplast checkpoint (bad magic number)", name);
    if (n < sizeof magic + 8) return mp_errf(err, "%s: damaged checkpoint: truncated to %zu bytes", name, n);
    const uint8_t *p = bytes + sizeof magic;
    uint32_t version = get_u32(&p), length = get_u32(&p);
    if (version == 1 || version == 2) {
        /* metaplast 0.1's layouts: 5 thetas, version 1 without the binding */
        size_t old_payload = 8 + 5 * 8 * 3 + 8 + 4 * 8 + (version == 2 ? MP_CHECKPOINT_BINDING : 0);
        const uint8_t *q = bytes + n - 4;
        if (length != old_payload || n != 8 + 4 + 4 + old_payload + 4 || get_u32(&q) != crc_of(bytes, n - 4))
            return mp_errf(err, "%s: damaged checkpoint: version %u (metaplast 0.1) but not its layout", name,
                           version);
        return mp_errf(err, "%s: checkpoint version %u, %s", name, version, MP_BEFORE_POOL_WHY);
    }
    if (version != MP_CHECKPOINT_VERSION)
        return mp_errf(err, "%s: checkpoint version %u, this metaplast reads version %d", name, version,
                       MP_CHECKPOINT_VERSION);
    if (length != MP_CHECKPOINT_PAYLOAD || n != MP_CHECKPOINT_SIZE)
        return mp_errf(err, "%s: damaged checkpoint: %s%zu bytes, expected %d", name,
                       n > MP_CHECKPOINT_SIZE ? "more than " : "", n > MP_CHECKPOINT_SIZE ? n - 1 : n,
                       MP_CHECKPOINT_SIZE);
    const uint8_t *end = bytes + n - 4, *q = end;
    if (get_u32(&q) != crc_of(bytes, (size_t)(end - bytes)))
        return mp_errf(err, "%s: damaged checkpoint: checksum mismatch", name);
    mp_checkpoint c;
    c.episode = (long)get_u64(&p);
    for (int k = 0; k < MP_THETAS; k++) c.theta[k] = get_f64(&p);
    for (int k = 0; k < MP_THETAS; k++) c.adam_m[k] = get_f64(&p);
    for (int k = 0; k < MP_THETAS; k++) c.adam_v[k] = get_f64(&p);
    c.adam_step = (long)get_u64(&p);
    for (int i = 0; i < 4; i++) c.rng.s[i] = get_u64(&p);
    memcpy(c.binding, p, MP_CHECKPOINT_BINDING);
    size_t len = strnlen(c.binding, MP_CHECKPOINT_BINDING);
    for (size_t i = len; i < MP_CHECKPOINT_BINDING; i++)
        if (c.binding[i] != '\0') len = MP_CHECKPOINT_BINDING;
    if (len == MP_CHECKPOINT_BINDING)
        return mp_errf(err, "%s: damaged checkpoint: its run binding is not a NUL-padded text", name);
    /* every episode takes one Adam step, but one skipped by --diverge skip */
    if (c.episode < 0 || c.adam_step < 0 || c.adam_step > c.episode)
        return mp_errf(err, "%s: damaged checkpoint: %ld episodes but %ld Adam steps", name, c.episode, c.adam_step);
    *ck = c;
    return 0;
}

unsigned mp_checkpoint_peek_version(const uint8_t *bytes, size_t n) {
    if (n < sizeof magic + 4 || memcmp(bytes, magic, sizeof magic) != 0) return 0;
    const uint8_t *p = bytes + sizeof magic;
    return get_u32(&p);
}

int mp_checkpoint_save(const char *run_dir, const mp_checkpoint *ck, int durable, mp_err *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", run_dir, MP_CHECKPOINT_FILE);
    uint8_t buf[MP_CHECKPOINT_SIZE];
    size_t n = mp_checkpoint_encode(ck, buf);
    return mp_write_file_atomic(path, buf, n, durable, err);
}

int mp_checkpoint_load(const char *run_dir, mp_checkpoint *ck, mp_err *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", run_dir, MP_CHECKPOINT_FILE);
    FILE *f = mp_fopen_regular(path, "rb", err);
    if (!f) return -1;
    uint8_t buf[MP_CHECKPOINT_SIZE + 1];
    size_t n = fread(buf, 1, sizeof buf, f); /* one byte more than a checkpoint: too long shows */
    int bad = ferror(f), e = errno;
    fclose(f);
    if (bad) return mp_errf(err, "%s: cannot read: %s", path, strerror(e));
    return mp_checkpoint_decode(buf, n, path, ck, err);
}
