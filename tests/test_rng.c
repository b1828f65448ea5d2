/* The random generator: reference outputs, ranges, rough uniformity, shuffles. */
#include "testutil.h"

#include <string.h>

#include "metaplast/rng.h"

/* The reference values below come from an independent Python transcription of
 * splitmix64 seeding + xoshiro256** (prng.di.unimi.it), mp_rng_below as rejection of
 * x < 2^64 mod n then x % n, and Fisher-Yates from the last element down. */
static void test_reference_outputs(void **state) {
    (void)state;
    static const struct {
        uint64_t seed;
        uint64_t first[5];
    } ref[] = {
        {1, {0xb3f2af6d0fc710c5u, 0x853b559647364ceau, 0x92f89756082a4514u, 0x642e1c7bc266a3a7u, 0xb27a48e29a233673u}},
        {0, {0x99ec5f36cb75f2b4u, 0xbf6e1f784956452au, 0x1a5f849d4933e6e0u, 0x6aa594f1262d2d2cu, 0xbba5ad4a1f842e59u}},
        {12345, {0xbe6a36374160d49bu, 0x214aaa0637a688c6u, 0xf69d16de9954d388u, 0x0c60048c4e96e033u, 0x8e2076aeed51c648u}},
        {UINT64_MAX, {0x8f5520d52a7ead08u, 0xc476a018caa1802du, 0x81de31c0d260469eu, 0xbf658d7e065f3c2fu, 0x913593fda1bca32au}},
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        mp_rng rng;
        mp_rng_seed(&rng, ref[i].seed);
        for (int k = 0; k < 5; k++) assert_int_equal(mp_rng_next(&rng), ref[i].first[k]);
    }
}

static void test_reference_derived(void **state) {
    (void)state;
    mp_rng rng;
    mp_rng_seed(&rng, 42);
    static const uint64_t below10[] = {2, 2, 9, 3, 6, 4, 4, 7, 8, 5};
    for (int k = 0; k < 10; k++) assert_int_equal(mp_rng_below(&rng, 10), below10[k]);

    mp_rng_seed(&rng, 42);
    static const double uniform[] = {0.08386297105988216, 0.3789802506626686, 0.6800434110281394};
    for (int k = 0; k < 3; k++) assert_true(mp_rng_uniform(&rng) == uniform[k]);

    mp_rng_seed(&rng, 7);
    int a[10], expected[10] = {8, 3, 9, 0, 7, 2, 1, 6, 5, 4};
    for (int k = 0; k < 10; k++) a[k] = k;
    mp_rng_shuffle_int(&rng, a, 10);
    assert_memory_equal(a, expected, sizeof a);
}

static void test_uniform_range_and_mean(void **state) {
    (void)state;
    mp_rng rng;
    mp_rng_seed(&rng, 3);
    enum { N = 100000 };
    double sum = 0;
    for (int k = 0; k < N; k++) {
        double u = mp_rng_uniform(&rng);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
    }
    /* mean 0.5, sd of the mean 0.29/sqrt(N) = 0.0009: 0.005 is over 5 sd */
    assert_true(sum / N > 0.495 && sum / N < 0.505);
}

/* The batched symmetric draw is the same numbers as one mp_rng_uniform per entry, and
 * leaves the stream where those calls would. */
static void test_uniform_symmetric_matches_single_draws(void **state) {
    (void)state;
    enum { N = 1001 };
    float batch[N];
    mp_rng a, b;
    mp_rng_seed(&a, 9);
    mp_rng_seed(&b, 9);
    mp_rng_uniform_symmetric(&a, batch, N, 0.25);
    for (int i = 0; i < N; i++) assert_true(batch[i] == (float)((2 * mp_rng_uniform(&b) - 1) * 0.25));
    assert_true(mp_rng_next(&a) == mp_rng_next(&b));
}

static void test_below_bounds(void **state) {
    (void)state;
    mp_rng rng;
    mp_rng_seed(&rng, 5);
    static const uint64_t ns[] = {1, 2, 3, 7, 1000, (1ull << 32) + 1, (1ull << 63) + 1, 0xaaaaaaaaaaaaaaaau, UINT64_MAX};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int k = 0; k < 2000; k++) assert_true(mp_rng_below(&rng, ns[i]) < ns[i]);
    /* n = 2/3 of 2^64: plain x % n would put 2/3 of the draws in [0, n/2); unbiased, 1/2 */
    const uint64_t n = 0xaaaaaaaaaaaaaaaau;
    int lower = 0;
    for (int k = 0; k < 1000; k++) lower += mp_rng_below(&rng, n) < n / 2;
    assert_true(lower > 420 && lower < 580); /* expected 500, sd 16 */
}

static void test_below_uniform(void **state) {
    (void)state;
    mp_rng rng;
    mp_rng_seed(&rng, 11);
    enum { N = 6, DRAWS = 120000 };
    int count[N] = {0};
    for (int k = 0; k < DRAWS; k++) count[mp_rng_below(&rng, N)]++;
    /* chi-square with 5 degrees of freedom: P(X > 25) < 2e-4 */
    double chi2 = 0, expect = (double)DRAWS / N;
    for (int c = 0; c < N; c++) chi2 += (count[c] - expect) * (count[c] - expect) / expect;
    assert_true(chi2 < 25.0);
}

static void test_shuffle_is_permutation(void **state) {
    (void)state;
    mp_rng rng;
    mp_rng_seed(&rng, 9);
    enum { N = 1000 };
    int a[N], seen[N] = {0}, moved = 0;
    for (int k = 0; k < N; k++) a[k] = k;
    mp_rng_shuffle_int(&rng, a, N);
    for (int k = 0; k < N; k++) {
        assert_true(a[k] >= 0 && a[k] < N);
        seen[a[k]]++;
        moved += a[k] != k;
    }
    for (int k = 0; k < N; k++) assert_int_equal(seen[k], 1);
    assert_true(moved > N / 2);
    /* n = 0 and n = 1 are no-ops */
    int one = 42;
    mp_rng_shuffle_int(&rng, &one, 1);
    mp_rng_shuffle_int(&rng, NULL, 0);
    assert_int_equal(one, 42);
}

static void test_shuffle_uniform(void **state) {
    (void)state;
    mp_rng rng;
    mp_rng_seed(&rng, 13);
    enum { DRAWS = 60000 };
    int count[3][3][3] = {{{0}}};
    for (int k = 0; k < DRAWS; k++) {
        int a[3] = {0, 1, 2};
        mp_rng_shuffle_int(&rng, a, 3);
        count[a[0]][a[1]][a[2]]++;
    }
    /* each of the 6 orders: expected 10000, sd 91 */
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int p = 0; p < 6; p++) {
        int c = count[perms[p][0]][perms[p][1]][perms[p][2]];
        assert_true(c > 9500 && c < 10500);
    }
}

static void test_same_seed_same_stream(void **state) {
    (void)state;
    mp_rng a, b, c;
    mp_rng_seed(&a, 77);
    mp_rng_seed(&b, 77);
    mp_rng_seed(&c, 78);
    int differ = 0;
    for (int k = 0; k < 100; k++) {
        uint64_t x = mp_rng_next(&a);
        assert_int_equal(x, mp_rng_next(&b));
        differ += x != mp_rng_next(&c);
    }
    assert_int_equal(differ, 100);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_outputs),    cmocka_unit_test(test_reference_derived),
        cmocka_unit_test(test_uniform_range_and_mean), cmocka_unit_test(test_below_bounds),
        cmocka_unit_test(test_uniform_symmetric_matches_single_draws),
        cmocka_unit_test(test_below_uniform),        cmocka_unit_test(test_shuffle_is_permutation),
        cmocka_unit_test(test_shuffle_uniform),      cmocka_unit_test(test_same_seed_same_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
