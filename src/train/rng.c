/* xoshiro256** 1.0 and splitmix64, transcribed from the authors' reference code:
 * D. Blackman and S. Vigna, "Scrambled linear pseudorandom number generators",
 * ACM Trans. Math. Softw. 47(4), 2021; https://prng.di.unimi.it/xoshiro256starstar.c
 * and https://prng.di.unimi.it/splitmix64.c (seeding as the authors recommend). */
#include "metaplast/rng.h"

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Four consecutive splitmix64 outputs are never all zero (splitmix64 is a bijection
 * of distinct counters), so every seed gives a valid xoshiro state. */
void mp_rng_seed(mp_rng *rng, uint64_t seed) {
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

static inline uint64_t next(mp_rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t mp_rng_next(mp_rng *rng) { return next(rng); }

static inline double uniform(mp_rng *rng) { return (double)(next(rng) >> 11) * 0x1.0p-53; }

double mp_rng_uniform(mp_rng *rng) { return uniform(rng); }

/* The generator inlined in the loop: a weight initialisation draws ~360,000 of these
 * per episode, and a call per draw cost ~3% of the run. */
void mp_rng_uniform_symmetric(mp_rng *rng, float *out, size_t n, double r) {
    for (size_t i = 0; i < n; i++) out[i] = (float)((2 * uniform(rng) - 1) * r);
}

/* Rejection sampling: the outputs at or above 2^64 mod n are a whole number of copies
 * of [0, n), so x % n on them is exactly uniform; fewer than half the outputs are
 * rejected for any n, and for the small n of task draws almost none. */
uint64_t mp_rng_below(mp_rng *rng, uint64_t n) {
    uint64_t threshold = -n % n; /* 2^64 mod n */
    for (;;) {
        uint64_t x = mp_rng_next(rng);
        if (x >= threshold) return x % n;
    }
}

/* Fisher-Yates from the last element down: a[i] swaps with a[below(i + 1)]. */
void mp_rng_shuffle_int(mp_rng *rng, int *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)mp_rng_below(rng, (uint64_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
