/* The one random generator behind every draw: xoshiro256** (Blackman & Vigna),
 * seeded through splitmix64. Same seed, same stream, on every machine. */
#ifndef METAPLAST_RNG_H
#define METAPLAST_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} mp_rng;

void mp_rng_seed(mp_rng *rng, uint64_t seed);
uint64_t mp_rng_next(mp_rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
double mp_rng_uniform(mp_rng *rng);
/* out[i] = (float)((2 u_i - 1) r), u_i = mp_rng_uniform(): uniform in (-r, r), the same
 * numbers as n calls of mp_rng_uniform would give. */
void mp_rng_uniform_symmetric(mp_rng *rng, float *out, size_t n, double r);
/* Uniform integer in [0, n), unbiased; n >= 1. */
uint64_t mp_rng_below(mp_rng *rng, uint64_t n);
/* Fisher-Yates shuffle. */
void mp_rng_shuffle_int(mp_rng *rng, int *a, int n);

#endif
