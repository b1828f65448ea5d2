/* The naive reference episode (ref_episode.c) against the golden episodes, and the
 * optimised core in double against the reference: on the golden episodes and on random
 * small networks (every width, rule and feedback mode, T = 0 and 1 included). Each
 * group prints its worst difference. */
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_cases.h"
#include "golden_inputs.h"
#include "golden_pool_cases.h"
#include "model/core.h"
#include "ref_episode.h"

/* --- the one call into the optimised core (its API is being reshaped: adapt here) ---
 * One episode in double with the meta-gradient; theta has REF_THETAS entries, of which
 * the core reads its own MP_THETAS (the tests keep the rest 0). */
static int core_episode(const ref_net *net, const double *W0, const double *B0, const double *theta, double lamb,
                        const double *x_train, const int *y_train, int T, const double *x_query, const int *y_query,
                        int NQ, ref_out *out) {
    mp_arch arch;
    for (int l = 0; l <= MP_LAYERS; l++) arch.n[l] = net->n[l];
    arch.feedback = net->sym ? MP_FEEDBACK_SYMMETRIC : MP_FEEDBACK_FIXED;
    arch.terms = net->terms;
    mp_episode_f64 *ep = mp_episode_new_f64(&arch, T > 0 ? T : 1, NQ);
    assert_non_null(ep);
    mp_episode_out o;
    mp_episode_inputs_f64 in = {W0, B0, theta, lamb, x_train, y_train, T, x_query, y_query, NQ};
    int rc = mp_episode_run_f64(ep, &in, MP_EPISODE_GRAD, &o);
    mp_episode_free_f64(ep);
    memset(out, 0, sizeof *out);
    out->loss = o.loss, out->accuracy = o.accuracy;
    for (int k = 0; k < MP_THETAS && k < REF_THETAS; k++) out->grad[k] = o.grad[k];
    for (int l = 0; l < REF_LAYERS; l++) out->sum_W[l] = o.sum_W[l];
    return rc;
}

/* --- differences --------------------------------------------------------------------- */
typedef struct { double loss, grad, sum_W; } diff;

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-300); }

/* loss: relative; gradient: largest component difference over the largest |component| of
 * want; sums of the adapted weights: relative to max(1, |sum|). */
static diff compare(const ref_out *got, const ref_out *want) {
    diff d = {rel(got->loss, want->loss), 0, 0};
    double gmax = 0;
    for (int k = 0; k < REF_THETAS; k++) {
        gmax = fmax(gmax, fabs(want->grad[k]));
        d.grad = fmax(d.grad, fabs(got->grad[k] - want->grad[k]));
    }
    if (gmax > 0) d.grad /= gmax;
    for (int l = 0; l < REF_LAYERS; l++)
        d.sum_W = fmax(d.sum_W, fabs(got->sum_W[l] - want->sum_W[l]) / fmax(1.0, fabs(want->sum_W[l])));
    return d;
}
static void worst_of(diff *worst, diff d) {
    worst->loss = fmax(worst->loss, d.loss), worst->grad = fmax(worst->grad, d.grad);
    worst->sum_W = fmax(worst->sum_W, d.sum_W);
}

/* --- the golden episodes --------------------------------------------------------------- */
static unsigned mask_of(const int *vec, int nvec) {
    unsigned m = 1; /* the pseudo-gradient */
    for (int i = 0; i < nvec; i++) m |= 1u << vec[i];
    return m;
}
static ref_net golden_net(int sym, unsigned terms) {
    ref_net net = {.sym = sym, .terms = terms};
    for (int l = 0; l <= REF_LAYERS; l++) net.n[l] = golden_widths[l];
    return net;
}
static void golden_theta10(double theta[REF_THETAS]) {
    for (int k = 0; k < REF_THETAS; k++) theta[k] = k < 5 ? golden_theta[k] : 0;
}
static void ref_golden(const ref_net *net, const golden_inputs *g, const double *theta, double lamb, int T,
                       ref_out *out) {
    assert_int_equal(ref_episode(net, g->W, g->B, theta, lamb, g->x_train, g->y_train, T, g->x_query, g->y_query,
                                 g->NQ, 1, out),
                     0);
}

/* 1. The reference itself against the golden episodes (their tolerances). */
static void test_reference_vs_golden(void **state) {
    (void)state;
    diff worst = {0, 0, 0};
    double theta[REF_THETAS];
    golden_theta10(theta);
    for (size_t i = 0; i < sizeof golden_cases / sizeof golden_cases[0]; i++) {
        const golden_case *c = &golden_cases[i];
        golden_inputs g;
        golden_inputs_make(&g, c->sym, c->vec, c->nvec, GOLDEN_T, GOLDEN_NQ);
        ref_net net = golden_net(c->sym, mask_of(c->vec, c->nvec));
        ref_out r0, r, want = {.loss = c->loss};
        ref_golden(&net, &g, theta, golden_lamb, 0, &r0);
        ref_golden(&net, &g, theta, golden_lamb, GOLDEN_T, &r);
        memcpy(want.grad, c->grad, sizeof c->grad), memcpy(want.sum_W, c->sum_W, sizeof c->sum_W);
        diff d = compare(&r, &want);
        d.loss = fmax(d.loss, rel(r0.loss, c->loss_initial));
        printf("reference vs golden %s terms=0x%x: loss %.2e, grad %.2e of max, sum_W %.2e\n", c->sym ? "sym" : "fix",
               net.terms, d.loss, d.grad, d.sum_W);
        worst_of(&worst, d);
        golden_inputs_free(&g);
    }
    printf("WORST reference vs golden: loss %.2e, grad %.2e, sum_W %.2e\n", worst.loss, worst.grad, worst.sum_W);
    assert_true(worst.loss < 1e-9);
    assert_true(worst.grad < 1e-7);
    assert_true(worst.sum_W < 1e-9);
}

/* 1b. The reference against the pool's golden episodes: each of terms 3..9 with the
 * pseudo-gradient, and all ten at once. */

static void test_reference_vs_golden_pool(void **state) {
    (void)state;
    diff worst = {0, 0, 0};
    for (size_t i = 0; i < sizeof pool_cases / sizeof pool_cases[0]; i++) {
        const pool_case *c = &pool_cases[i];
        golden_inputs g;
        golden_inputs_make(&g, c->sym, NULL, 0, GOLDEN_T, GOLDEN_NQ);
        ref_net net = golden_net(c->sym, c->terms);
        ref_out r, want = {.loss = c->loss};
        ref_golden(&net, &g, pool_theta, golden_lamb, GOLDEN_T, &r);
        memcpy(want.grad, c->grad, sizeof c->grad), memcpy(want.sum_W, c->sum_W, sizeof c->sum_W);
        diff d = compare(&r, &want);
        printf("reference vs golden_pool %s terms=0x%03x: loss %.2e, grad %.2e of max, sum_W %.2e\n",
               c->sym ? "sym" : "fix", c->terms, d.loss, d.grad, d.sum_W);
        worst_of(&worst, d);
        golden_inputs_free(&g);
    }
    printf("WORST reference vs golden_pool.json: loss %.2e, grad %.2e, sum_W %.2e\n", worst.loss, worst.grad,
           worst.sum_W);
    assert_true(worst.loss < 1e-9);
    assert_true(worst.grad < 1e-7);
    assert_true(worst.sum_W < 1e-9);
}

/* Core against reference: 1e-12 on every measure, and the same accuracy. */
#define CORE_TOL 1e-12

/* 2. The core in double against the reference on the golden episodes. */
static void test_core_vs_reference_golden(void **state) {
    (void)state;
    diff worst = {0, 0, 0};
    double theta[REF_THETAS];
    golden_theta10(theta);
    for (size_t i = 0; i < sizeof golden_cases / sizeof golden_cases[0]; i++) {
        const golden_case *c = &golden_cases[i];
        golden_inputs g;
        golden_inputs_make(&g, c->sym, c->vec, c->nvec, GOLDEN_T, GOLDEN_NQ);
        ref_net net = golden_net(c->sym, mask_of(c->vec, c->nvec));
        ref_out r, got;
        ref_golden(&net, &g, theta, golden_lamb, GOLDEN_T, &r);
        assert_int_equal(core_episode(&net, g.W, g.B, theta, golden_lamb, g.x_train, g.y_train, GOLDEN_T, g.x_query,
                                      g.y_query, GOLDEN_NQ, &got),
                         0);
        diff d = compare(&got, &r);
        printf("core vs reference golden %s terms=0x%x: loss %.2e, grad %.2e of max, sum_W %.2e\n",
               c->sym ? "sym" : "fix", net.terms, d.loss, d.grad, d.sum_W);
        assert_true(got.accuracy == r.accuracy);
        worst_of(&worst, d);
        golden_inputs_free(&g);
    }
    printf("WORST core vs reference, golden inputs: loss %.2e, grad %.2e, sum_W %.2e\n", worst.loss, worst.grad,
           worst.sum_W);
    assert_true(worst.loss < CORE_TOL);
    assert_true(worst.grad < CORE_TOL);
    assert_true(worst.sum_W < CORE_TOL);
}

/* 2b. The core against the reference on the pool's golden episodes. */
static void test_core_vs_reference_pool(void **state) {
    (void)state;
    diff worst = {0, 0, 0};
    for (size_t i = 0; i < sizeof pool_cases / sizeof pool_cases[0]; i++) {
        const pool_case *c = &pool_cases[i];
        golden_inputs g;
        golden_inputs_make(&g, c->sym, NULL, 0, GOLDEN_T, GOLDEN_NQ);
        ref_net net = golden_net(c->sym, c->terms);
        ref_out r, got;
        ref_golden(&net, &g, pool_theta, golden_lamb, GOLDEN_T, &r);
        assert_int_equal(core_episode(&net, g.W, g.B, pool_theta, golden_lamb, g.x_train, g.y_train, GOLDEN_T,
                                      g.x_query, g.y_query, GOLDEN_NQ, &got),
                         0);
        diff d = compare(&got, &r);
        printf("core vs reference pool %s terms=0x%03x: loss %.2e, grad %.2e of max, sum_W %.2e\n",
               c->sym ? "sym" : "fix", c->terms, d.loss, d.grad, d.sum_W);
        assert_true(got.accuracy == r.accuracy);
        worst_of(&worst, d);
        golden_inputs_free(&g);
    }
    printf("WORST core vs reference, pool golden inputs: loss %.2e, grad %.2e, sum_W %.2e\n", worst.loss,
           worst.grad, worst.sum_W);
    assert_true(worst.loss < CORE_TOL);
    assert_true(worst.grad < CORE_TOL);
    assert_true(worst.sum_W < CORE_TOL);
}

/* --- 3. random small networks ------------------------------------------------------------
 * splitmix64: fixed seed, the same cases on every machine. */
static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double uniform(uint64_t *s, double lo, double hi) { return lo + (hi - lo) * (double)(next_u64(s) >> 11) * 0x1.0p-53; }
static int uniform_int(uint64_t *s, int lo, int hi) { return lo + (int)(next_u64(s) % (uint64_t)(hi - lo + 1)); }

enum { RELEASE_CASES = 16, RANDOM_CASES = 64 };

static void test_core_vs_reference_random(void **state) {
    (void)state;
    /* the release's rules (vec {}, {1}, {2}, {1,2}), then random subsets of the pool and
     * the whole pool */
    static const unsigned masks[4] = {0x1, 0x3, 0x5, 0x7};
    uint64_t seed = 20231805;
    diff worst = {0, 0, 0};
    for (int c = 0; c < RANDOM_CASES; c++) {
        unsigned terms = c < 2 * RELEASE_CASES ? masks[(c >> 1) & 3]
                         : c >= RANDOM_CASES - 2 ? 0x3ffu
                                                 : 1u | ((unsigned)next_u64(&seed) & 0x3feu);
        ref_net net = {.sym = c & 1, .terms = terms};
        net.n[0] = uniform_int(&seed, 5, 40);
        for (int l = 1; l < REF_LAYERS; l++) net.n[l] = uniform_int(&seed, 3, 20);
        net.n[REF_LAYERS] = uniform_int(&seed, 2, 10);
        int T = c == 0 ? 0 : c == 1 ? 1 : uniform_int(&seed, 0, 40), NQ = uniform_int(&seed, 1, 8);
        int n0 = net.n[0], C = net.n[REF_LAYERS];
        double lamb = (c >> 3) & 1 ? 0.01 : 0, theta[REF_THETAS] = {0};
        theta[0] = uniform(&seed, -0.05, 0.05);
        for (int k = 1; k < REF_THETAS; k++)
            theta[k] = uniform_int(&seed, 0, 3) == 0 ? 0 : uniform(&seed, -0.01, 0.01);
        size_t nw = ref_offset(&net, REF_LAYERS + 1);
        double *W = malloc(nw * sizeof(double)), *B = malloc(nw * sizeof(double));
        for (int l = 1; l <= REF_LAYERS; l++) { /* Xavier uniform */
            double r = sqrt(6.0 / (net.n[l - 1] + net.n[l]));
            for (size_t i = ref_offset(&net, l); i < ref_offset(&net, l + 1); i++)
                W[i] = uniform(&seed, -r, r), B[i] = uniform(&seed, -r, r);
        }
        double *xt = malloc(((size_t)T * n0 + 1) * sizeof(double)), *xq = malloc((size_t)NQ * n0 * sizeof(double));
        int *yt = malloc(((size_t)T + 1) * sizeof(int)), *yq = malloc((size_t)NQ * sizeof(int));
        for (int t = 0; t < T; t++) {
            for (int k = 0; k < n0; k++) xt[(size_t)t * n0 + k] = uniform(&seed, 0, 1);
            yt[t] = uniform_int(&seed, 0, C - 1);
        }
        for (int q = 0; q < NQ; q++) {
            for (int k = 0; k < n0; k++) xq[(size_t)q * n0 + k] = uniform(&seed, 0, 1);
            yq[q] = uniform_int(&seed, 0, C - 1);
        }
        ref_out r, got;
        assert_int_equal(ref_episode(&net, W, B, theta, lamb, xt, yt, T, xq, yq, NQ, 1, &r), 0);
        assert_int_equal(core_episode(&net, W, B, theta, lamb, xt, yt, T, xq, yq, NQ, &got), 0);
        diff d = compare(&got, &r);
        printf("random %2d: n %d-%d-%d-%d-%d-%d %s terms=0x%x T=%d NQ=%d lamb=%g: loss %.2e, grad %.2e, sum_W %.2e\n", c,
               net.n[0], net.n[1], net.n[2], net.n[3], net.n[4], net.n[5], net.sym ? "sym" : "fix", net.terms, T, NQ,
               lamb, d.loss, d.grad, d.sum_W);
        assert_true(got.accuracy == r.accuracy);
        worst_of(&worst, d);
        free(W), free(B), free(xt), free(xq), free(yt), free(yq);
    }
    printf("WORST core vs reference, %d random cases: loss %.2e, grad %.2e, sum_W %.2e\n", RANDOM_CASES, worst.loss,
           worst.grad, worst.sum_W);
    assert_true(worst.loss < CORE_TOL);
    assert_true(worst.grad < CORE_TOL);
    assert_true(worst.sum_W < CORE_TOL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_vs_golden),
        cmocka_unit_test(test_reference_vs_golden_pool),
        cmocka_unit_test(test_core_vs_reference_golden),
        cmocka_unit_test(test_core_vs_reference_pool),
        cmocka_unit_test(test_core_vs_reference_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
