/* The state that carries a run from one episode to the next, saved after every episode
 * so that --resume continues exactly where the run stopped.
 *
 * File format (all integers little-endian): 8-byte magic "MPLASTCK", u32 version,
 * u32 payload length, the payload, u32 CRC-32 (zlib) of everything before it.
 * Payload, version 2: i64 episodes finished, 5 f64 theta, 5 f64 Adam m, 5 f64 Adam v,
 * i64 Adam step, 4 u64 generator state, and the run binding: MP_CHECKPOINT_BINDING bytes
 * of NUL-padded text, the "name : value" lines of every flag that changes a number and
 * the fingerprints of the data files (what --resume checks the run against). Version 1
 * (the same without the binding) is still read; its binding is empty. */
#ifndef METAPLAST_CHECKPOINT_H
#define METAPLAST_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "metaplast/record.h"
#include "metaplast/rng.h"
#include "metaplast/util.h"

#define MP_CHECKPOINT_FILE "checkpoint.bin"
#define MP_CHECKPOINT_VERSION 2
#define MP_CHECKPOINT_BINDING 1024

typedef struct {
    long episode;                 /* episodes finished */
    double theta[MP_THETAS];
    double adam_m[MP_THETAS], adam_v[MP_THETAS];
    long adam_step;
    mp_rng rng;
    char binding[MP_CHECKPOINT_BINDING]; /* "" when unknown (version 1) */
} mp_checkpoint;

/* Writes run_dir/checkpoint.bin atomically: a temporary file renamed over the old one,
 * so a kill of the process at any instant leaves the old or the new checkpoint. With
 * durable, the file and the rename are also fsync'd, so they survive a crash of the
 * machine (that costs ~1 ms, 5% of an episode: the trainer asks for it every few
 * seconds, not every episode). */
int mp_checkpoint_save(const char *run_dir, const mp_checkpoint *ck, int durable, mp_err *err);
/* Reads run_dir/checkpoint.bin; a damaged file is refused with a message naming it. */
int mp_checkpoint_load(const char *run_dir, mp_checkpoint *ck, mp_err *err);
/* Decodes a checkpoint held in memory (what the fuzz target drives); name is for messages. */
int mp_checkpoint_decode(const uint8_t *bytes, size_t n, const char *name, mp_checkpoint *ck, mp_err *err);
/* Encodes into buf (at least MP_CHECKPOINT_SIZE bytes); returns the length. */
size_t mp_checkpoint_encode(const mp_checkpoint *ck, uint8_t *buf);

enum { MP_CHECKPOINT_PAYLOAD = 8 + 5 * 8 * 3 + 8 + 4 * 8 + MP_CHECKPOINT_BINDING, MP_CHECKPOINT_SIZE = 8 + 4 + 4 + MP_CHECKPOINT_PAYLOAD + 4 };

#endif
