/* libFuzzer target: any bytes, decoded as a checkpoint (mp_checkpoint_decode), must either
 * decode to a consistent checkpoint that encodes back to exactly the same bytes, or be
 * refused with a message naming the input; never a crash.
 *
 * Each input is decoded twice: as given, and with its last 4 bytes replaced by the right
 * CRC-32 of the rest, so that the fuzzer also reaches the checks behind the checksum
 * (random bytes almost never carry a valid CRC). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "metaplast/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t n);

static void fuzz_checkpoint_decode_one(const uint8_t *copy, size_t n) {
    mp_checkpoint ck;
    mp_err err;
    err.msg[0] = '\0';
    if (mp_checkpoint_decode(copy, n, "fuzz-input", &ck, &err) == 0) {
        /* accepted: the only valid files are the encoder's own output */
        uint8_t again[MP_CHECKPOINT_SIZE];
        if (n != MP_CHECKPOINT_SIZE || ck.episode < 0 || ck.adam_step < 0 || ck.adam_step > ck.episode) abort();
        if (mp_checkpoint_encode(&ck, again) != n || memcmp(again, copy, n) != 0) abort();
    } else if (strncmp(err.msg, "fuzz-input: ", 12) != 0 || strlen(err.msg) < 20) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t n) {
    /* a heap copy of exactly n bytes, so ASan sees any read past the end */
    uint8_t *copy = calloc(n ? n : 1, 1);
    if (!copy) return 0;
    if (n) memcpy(copy, bytes, n);
    fuzz_checkpoint_decode_one(copy, n);
    if (n >= 4) {
        uint32_t crc = (uint32_t)crc32(crc32(0, NULL, 0), copy, (uInt)(n - 4));
        for (int i = 0; i < 4; i++) copy[n - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
        fuzz_checkpoint_decode_one(copy, n);
    }
    free(copy);
    return 0;
}
