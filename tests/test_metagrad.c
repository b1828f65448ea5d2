/* The analytic meta-gradient against central finite differences, for every
 * fbk x rule x lamb combination, on a small network and on the real one. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "golden_inputs.h"
#include "train/gradcheck.h"

/* The rules checked: the release's ({}, {1}, {2}, {1, 2}), each of the pool's terms 3..9
 * alone (with the pseudo-gradient), and the whole pool. */
enum { NRULES = 4 + 7 + 1 };
static const int vecs[NRULES][9] = {{0}, {1}, {2}, {1, 2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
static const int nvecs[NRULES] = {0, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 9};

/* Inputs by formula on widths n (like the golden episodes', other constants). */
static void make_inputs(golden_inputs *g, const int *n, int sym, int v, int T, int NQ) {
    for (int l = 0; l <= MP_LAYERS; l++) g->arch.n[l] = n[l];
    g->arch.feedback = sym ? MP_FEEDBACK_SYMMETRIC : MP_FEEDBACK_FIXED;
    g->arch.terms = mp_rule_mask(vecs[v], nvecs[v]);
    g->T = T, g->NQ = NQ;
    size_t nw = mp_arch_weight_count(&g->arch);
    g->W = malloc(nw * sizeof(double));
    g->B = malloc(nw * sizeof(double));
    for (int l = 1; l <= MP_LAYERS; l++) {
        double r = sqrt(6.0 / (n[l - 1] + n[l]));
        size_t off = mp_arch_offset(&g->arch, l);
        for (int i = 0; i < n[l]; i++)
            for (int j = 0; j < n[l - 1]; j++) {
                g->W[off + (size_t)i * n[l - 1] + j] = r * sin(0.3 + 0.71 * i + 1.37 * j + 0.9 * l);
                g->B[off + (size_t)i * n[l - 1] + j] = r * cos(1.1 + 0.43 * i + 0.67 * j + 0.5 * l);
            }
    }
    g->x_train = malloc((size_t)T * n[0] * sizeof(double));
    g->x_query = malloc((size_t)NQ * n[0] * sizeof(double));
    for (int t = 0; t < T; t++) {
        for (int k = 0; k < n[0]; k++) g->x_train[(size_t)t * n[0] + k] = 0.5 + 0.5 * sin(0.23 * (k + 1) * (t + 2) + t);
        g->y_train[t] = (3 * t + 1) % n[MP_LAYERS];
    }
    for (int q = 0; q < NQ; q++) {
        for (int k = 0; k < n[0]; k++) g->x_query[(size_t)q * n[0] + k] = 0.5 + 0.5 * cos(0.17 * (k + 1) * (q + 1) + q);
        g->y_query[q] = (5 * q + 2) % n[MP_LAYERS];
    }
}

static void check_all(const int *n, int T, int NQ, const double *theta, double tol) {
    double worst_all = 0;
    for (int sym = 0; sym <= 1; sym++)
        for (int v = 0; v < NRULES; v++)
            for (int li = 0; li < 2; li++) {
                double lamb = li ? 0.01 : 0.0;
                golden_inputs g;
                make_inputs(&g, n, sym, v, T, NQ);
                mp_gradcheck_row rows[MP_THETAS];
                double worst;
                int nrows = mp_gradcheck(&g.arch, &(mp_episode_inputs_f64){g.W, g.B, theta, lamb, g.x_train, g.y_train, T, g.x_query, g.y_query, NQ}, rows, &worst);
                assert_int_equal(nrows, 1 + nvecs[v]);
                printf("%s vec=%s lamb=%.2f:", sym ? "sym" : "fix",
                       nvecs[v] == 9 ? "1..9" : nvecs[v] == 2 ? "1 2 " : v == 0 ? "-   " : (const char *[]){"1   ", "2   ", "3   ", "4   ", "5   ", "6   ", "7   ", "8   ", "9   "}[vecs[v][0] - 1], lamb);
                for (int r = 0; r < nrows; r++)
                    printf("  theta%d %+.6e vs %+.6e (rel %.1e)", rows[r].theta, rows[r].analytic, rows[r].numeric,
                           rows[r].rel_error);
                printf("\n");
                fflush(stdout);
                if (worst > worst_all) worst_all = worst;
                assert_true(worst < tol);
                golden_inputs_free(&g);
            }
    printf("worst relative error %.2e (tolerance %.0e)\n", worst_all, tol);
}

static void test_small_network(void **state) {
    (void)state;
    static const int n[6] = {12, 9, 8, 7, 6, 5};
    static const double theta[MP_THETAS] = {0.05, 0.02, 0.03, 0.02, 0.001, 0.02, 0.001, 0.02, 0.02, 0.02};
    check_all(n, 15, 6, theta, MP_GRADCHECK_TOLERANCE);
}

static void test_real_network(void **state) {
    (void)state;
    static const double theta[MP_THETAS] = {0.02, 0.003, 0.004, 0.002, 0.0001, 0.002, 0.0001, 0.002, 0.002, 0.002};
    check_all(golden_widths, 6, 5, theta, MP_GRADCHECK_TOLERANCE);
}

/* An episode long enough to cross the blocks of Gram mode's sums (32 steps, the last
 * block partial) and many flushes of the queued matrices (16 or 32 terms). */
static void test_long_episode(void **state) {
    (void)state;
    static const int n[6] = {12, 9, 8, 7, 6, 5};
    static const double theta[MP_THETAS] = {0.02, 0.01, 0.01, 0.01, 0.0005, 0.01, 0.0005, 0.01, 0.01, 0.01};
    check_all(n, 100, 6, theta, MP_GRADCHECK_TOLERANCE);
}

/* A theta that is in use but 0 (as theta1, theta2 at the start of training) still gets
 * its gradient, and with lamb the L1 term's derivative there is 0. */
static void test_zero_theta_in_use(void **state) {
    (void)state;
    static const int n[6] = {12, 9, 8, 7, 6, 5};
    static const double theta[MP_THETAS] = {0.05};
    golden_inputs g;
    make_inputs(&g, n, 0, 3, 10, 4);
    mp_gradcheck_row rows[MP_THETAS];
    double worst;
    assert_int_equal(mp_gradcheck(&g.arch, &(mp_episode_inputs_f64){g.W, g.B, theta, 0.01, g.x_train, g.y_train, 10, g.x_query, g.y_query, 4},
                                  rows, &worst), 3);
    assert_true(worst < MP_GRADCHECK_TOLERANCE);
    assert_true(fabs(rows[1].analytic) > 1e-8 && fabs(rows[2].analytic) > 1e-8);
    golden_inputs_free(&g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_network),
        cmocka_unit_test(test_real_network),
        cmocka_unit_test(test_long_episode),
        cmocka_unit_test(test_zero_theta_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
