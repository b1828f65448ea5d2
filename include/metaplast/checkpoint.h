/* The state that carries a run from one episode to the next, saved after every episode
 * so that --resume continues exactly where the run stopped.
 *
 * File format (all integers little-endian): 8-byte magic "MPLASTCK", u32 version,
 * u32 payload length, the payload, u32 CRC-32 (zlib) of everything before it.
 * Payload, version 3: i64 episodes finished, 10 f64 theta, 10 f64 Adam m, 10 f64 Adam v,
 * i64 Adam steps taken (the episodes finished less those skipped by --diverge skip),
 * 4 u64 generator state, and the run binding: MP_CHECKPOINT_BINDING bytes of NUL-padded
 * text, the "name : value" lines of every flag that changes a number and the
 * fingerprints of the data files (what --resume checks the run against).
 * Versions 1 and 2 (metaplast 0.1: 5 thetas, version 1 without the binding) are
 * refused with MP_BEFORE_POOL_WHY: their runs' metrics.csv has the old columns too. */
#ifndef METAPLAST_CHECKPOINT_H
#define METAPLAST_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "metaplast/record.h"
#include "metaplast/rng.h"
#include "metaplast/util.h"

#define MP_CHECKPOINT_FILE "checkpoint.bin"
#define MP_CHECKPOINT_VERSION 3
#define MP_CHECKPOINT_BINDING 1024

typedef struct {
    long episode;                 /* episodes finished */
    double theta[MP_THETAS];
    double adam_m[MP_THETAS], adam_v[MP_THETAS];
    long adam_step;               /* Adam steps taken: <= episode (skipped episodes take none) */
    mp_rng rng;
    char binding[MP_CHECKPOINT_BINDING];
} mp_checkpoint;

/* Writes run_dir/checkpoint.bin atomically: a temporary file renamed over the old one,
 * so a kill of the process at any instant leaves the old or the new checkpoint. With
 * durable, the file and the rename are also fsync'd, so they survive a crash of the
 * machine (that costs ~1 ms, 5% of an episode: the trainer asks for it every few
 * seconds, not every episode). */
int mp_checkpoint_save(const char *run_dir, const mp_checkpoint *ck, int durable, mp_err *err);
/* Reads run_dir/checkpoint.bin; a damaged file, or one of metaplast 0.1, is refused with
 * a message naming it. */
int mp_checkpoint_load(const char *run_dir, mp_checkpoint *ck, mp_err *err);
/* Decodes a checkpoint held in memory (what the fuzz target drives); name is for messages. */
int mp_checkpoint_decode(const uint8_t *bytes, size_t n, const char *name, mp_checkpoint *ck, mp_err *err);
/* Encodes into buf (at least MP_CHECKPOINT_SIZE bytes); returns the length. */
size_t mp_checkpoint_encode(const mp_checkpoint *ck, uint8_t *buf);

enum {
    MP_CHECKPOINT_PAYLOAD = 8 + MP_THETAS * 8 * 3 + 8 + 4 * 8 + MP_CHECKPOINT_BINDING,
    MP_CHECKPOINT_SIZE = 8 + 4 + 4 + MP_CHECKPOINT_PAYLOAD + 4
};

/* The version of a checkpoint file's header (0 when bytes are not a checkpoint's): lets
 * --resume tell a run of metaplast 0.1 before reading anything else. */
unsigned mp_checkpoint_peek_version(const uint8_t *bytes, size_t n);

#endif
