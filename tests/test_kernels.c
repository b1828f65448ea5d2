/* Forward and error kernels against naive loops; sym with theta0 alone is online SGD. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/core.h"
#include "model/rules.h"

#define MP_REAL_F64 1 /* the double build of the internal kernels */
#include "model/lowrank.h"

static double fill(int i, double a) { return sin(0.37 * i + a) * 0.8; }

/* The matrix kernels in double: a fused sweep of several products, and a matrix held
 * as a dense base plus queued rank-one terms. */
static void naive_products(const double *M, int rows, int cols, const double *xr, double *yr, const double *xl,
                           double *yl) {
    for (int i = 0; i < rows; i++) {
        double s = 0;
        for (int j = 0; j < cols; j++) s += M[i * cols + j] * xr[j];
        yr[i] = s;
    }
    for (int j = 0; j < cols; j++) {
        double s = 0;
        for (int i = 0; i < rows; i++) s += M[i * cols + j] * xl[i];
        yl[j] = s;
    }
}

static void test_fused_and_lowrank_products(void **state) {
    (void)state;
    enum { NO = 13, NI = 37, TERMS = 11, CAP = 4 }; /* more terms than the queue holds: it flushes */
    double M[NO * NI], dense[NO * NI], u[TERMS][NO], v[TERMS][NI];
    for (int i = 0; i < NO * NI; i++) M[i] = dense[i] = fill(i, 1);
    for (int p = 0; p < TERMS; p++) {
        for (int i = 0; i < NO; i++) u[p][i] = fill(i + 17 * p, 2);
        for (int j = 0; j < NI; j++) v[p][j] = fill(j + 5 * p, 3);
    }
    /* three products of each side: a pair swept together, and one alone */
    double xr[3][NI], xl[3][NO], yr[3][NO], yl[3][NI], want_r[NO], want_l[NI];
    for (int k = 0; k < 3; k++) {
        for (int j = 0; j < NI; j++) xr[k][j] = fill(j, 4 + k);
        for (int i = 0; i < NO; i++) xl[k][i] = fill(i, 7 + k);
    }
    lowrank q;
    lowrank_init(&q, M, NO, NI, CAP, NULL);
    for (int p = 0; p <= TERMS; p++) {
        memset(yr, 0, sizeof yr), memset(yl, 0, sizeof yl);
        fused_ops op = {0};
        for (int k = 0; k < 3; k++) fused_right(&op, xr[k], yr[k]), fused_left(&op, xl[k], yl[k]);
        lowrank_products(&q, &op);
        double worst = 0;
        for (int k = 0; k < 3; k++) {
            naive_products(dense, NO, NI, xr[k], want_r, xl[k], want_l);
            for (int i = 0; i < NO; i++) worst = fmax(worst, fabs(yr[k][i] - want_r[i]));
            for (int j = 0; j < NI; j++) worst = fmax(worst, fabs(yl[k][j] - want_l[j]));
        }
        assert_true(worst < 1e-12);
        if (p == TERMS) break;
        double scale = p % 2 ? -0.5 : 0.25;
        lowrank_add(&q, scale, u[p], v[p]);
        for (int i = 0; i < NO; i++)
            for (int j = 0; j < NI; j++) dense[i * NI + j] += scale * u[p][i] * v[p][j];
    }
    lowrank_flush(&q);
    double worst = 0;
    for (int i = 0; i < NO * NI; i++) worst = fmax(worst, fabs(M[i] - dense[i]));
    printf("products and queued rank-one terms vs naive loops: base after flush off by %.2e\n", worst);
    assert_true(worst < 1e-13);
    lowrank_free(&q);
}

static void test_softplus(void **state) {
    (void)state;
    const double z[] = {-5, -0.3, 0, 0.25, 1.999, 2.0, 2.0001, 7};
    double y[8], sl[8], zz[8];
    mp_softplus_f64(z, y, sl, 8);
    for (int i = 0; i < 8; i++) {
        double want = 10 * z[i] > 20 ? z[i] : log(1 + exp(10 * z[i])) / 10;
        assert_true(fabs(y[i] - want) < 1e-14);
        assert_true(fabs(sl[i] - (1 - exp(-10 * want))) < 1e-15); /* the formula of the error signals */
    }
    assert_true(y[7] == 7.0);       /* linear branch: z itself */
    assert_true(y[0] > 0 && y[0] < 1e-22);
    assert_true(fabs(sl[0] / (10 * y[0]) - 1) < 1e-12); /* accurate where 1 - exp(-beta y) cancels */
    memcpy(zz, z, sizeof zz); /* in place, as the query batch uses it */
    mp_softplus_f64(zz, zz, sl, 8);
    assert_memory_equal(zz, y, sizeof zz);
}

static void test_softmax_xent(void **state) {
    (void)state;
    double z[5] = {0.3, -1.2, 2.5, 0.0, 1.1}, p[5];
    double xent = mp_softmax_xent_f64(z, p, 5, 2);
    double sum = 0;
    for (int i = 0; i < 5; i++) sum += exp(z[i]);
    for (int i = 0; i < 5; i++) assert_true(fabs(p[i] - exp(z[i]) / sum) < 1e-15);
    assert_true(fabs(xent - (log(sum) - z[2])) < 1e-14);
    /* in place, as the query batch uses it */
    double zz[5];
    memcpy(zz, z, sizeof zz);
    assert_true(fabs(mp_softmax_xent_f64(zz, zz, 5, 2) - xent) < 1e-15);
    assert_true(fabs(zz[2] - p[2]) < 1e-15);
}

static void test_feedback_slope(void **state) {
    (void)state;
    const double y[] = {0, 1e-9, 0.05, 0.3, 2.5};
    double sl[5];
    mp_feedback_slope_f64(y, sl, 5);
    for (int j = 0; j < 5; j++) assert_true(fabs(sl[j] - (1 - exp(-10 * y[j]))) < 1e-15);
    assert_true(sl[0] == 0);
}

/* Relative error of a float result against its double reference, in units of float's
 * epsilon (2^-23); below the normal floats, the error relative to the smallest normal. */
static double ulps(float got, double want) {
    return fabs(got - want) / (fmax(fabs(want), FLT_MIN) * FLT_EPSILON);
}

/* The float kernels use their own exp and log1p polynomials (vmath.h): within a few
 * float epsilons of the double formulas everywhere, linear branch and tails included. */
static void test_float_elementwise_accuracy(void **state) {
    (void)state;
    enum { N = 200001 };
    float *z = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float)), *s = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) z[i] = (float)(-12.0 + 24.0 * i / (N - 1)); /* beta z in [-120, 120] */
    z[0] = 0, z[1] = 1e-30f, z[2] = -1e-30f, z[3] = 2.0f, z[4] = nextafterf(2.0f, 3.0f), z[5] = -8.7f;
    mp_softplus_f32(z, y, s, N);
    double worst_y = 0, worst_s = 0;
    for (int i = 0; i < N; i++) {
        double bz = 10.0f * z[i], e = exp(bz); /* beta z rounded to float, as the kernel has it */
        double want_y = bz > 20 ? z[i] : log1p(e) / 10, want_s = e / (1 + e);
        if (bz > 20) want_s = -expm1(-bz);
        worst_y = fmax(worst_y, ulps(y[i], want_y));
        worst_s = fmax(worst_s, ulps(s[i], want_s));
    }
    for (int i = 0; i < N; i++) z[i] = (float)(-8.8 + 18.8 * i / (N - 1)); /* -beta y in [-100, 88] */
    z[0] = 0, z[1] = 1.0f / 255, z[2] = 1e-7f, z[3] = -1e-7f, z[4] = 0.0346f, z[5] = 0.0347f;
    mp_feedback_slope_f32(z, s, N);
    double worst_slope = 0;
    for (int i = 0; i < N; i++) worst_slope = fmax(worst_slope, ulps(s[i], -expm1((double)(-10.0f * z[i]))));
    printf("float softplus: y within %.2f eps, slope within %.2f eps; input slope within %.2f eps\n", worst_y,
           worst_s, worst_slope);
    assert_true(worst_y < 4 && worst_s < 4 && worst_slope < 4);
    free(z), free(y), free(s);
}

/* Naive backprop of the cross-entropy of one sample: dL/dW for every layer. */
static void naive_ce_gradient(const mp_arch *a, const double *W, const double *x, int label, double *grad) {
    const int *n = a->n;
    double y[MP_LAYERS + 1][64], z[MP_LAYERS + 1][64], d[64], dprev[64];
    memcpy(y[0], x, (size_t)n[0] * sizeof(double));
    for (int l = 1; l <= MP_LAYERS; l++) {
        const double *Wl = W + mp_arch_offset(a, l);
        for (int i = 0; i < n[l]; i++) {
            double s = 0;
            for (int j = 0; j < n[l - 1]; j++) s += Wl[i * n[l - 1] + j] * y[l - 1][j];
            z[l][i] = s;
            y[l][i] = log(1 + exp(10 * s)) / 10;
        }
    }
    double m = z[MP_LAYERS][0], sum = 0;
    for (int i = 0; i < n[MP_LAYERS]; i++) m = fmax(m, z[MP_LAYERS][i]);
    for (int i = 0; i < n[MP_LAYERS]; i++) sum += exp(z[MP_LAYERS][i] - m);
    for (int i = 0; i < n[MP_LAYERS]; i++) d[i] = exp(z[MP_LAYERS][i] - m) / sum - (i == label);
    for (int l = MP_LAYERS; l >= 1; l--) {
        const double *Wl = W + mp_arch_offset(a, l);
        double *gl = grad + mp_arch_offset(a, l);
        for (int i = 0; i < n[l]; i++)
            for (int j = 0; j < n[l - 1]; j++) gl[i * n[l - 1] + j] = d[i] * y[l - 1][j];
        if (l == 1) break;
        for (int j = 0; j < n[l - 1]; j++) {
            double s = 0;
            for (int i = 0; i < n[l]; i++) s += Wl[i * n[l - 1] + j] * d[i];
            dprev[j] = s / (1 + exp(-10 * z[l - 1][j])); /* softplus' = sigmoid(beta z) */
        }
        memcpy(d, dprev, sizeof d);
    }
}

/* A NaN (a diverging episode's activation) stays a NaN through the float kernels, with no
 * undefined conversion on the way (UBSan builds run this too). */
static void test_float_nan_propagates(void **state) {
    (void)state;
    float z[3] = {NAN, 1.0f, -INFINITY}, y[3], s[3];
    mp_softplus_f32(z, y, s, 3);
    assert_true(isnan(y[0]) && isnan(s[0]));
    assert_true(isfinite(y[1]) && y[2] == 0);
    float yy[2] = {NAN, 0.5f}, sl[2];
    mp_feedback_slope_f32(yy, sl, 2);
    assert_true(isnan(sl[0]) && isfinite(sl[1]));
}

static void test_sym_theta0_step_is_sgd(void **state) {
    (void)state;
    mp_arch a = {{10, 8, 7, 6, 5, 4}, 1, 1u << MP_RULE_PSEUDO_GRAD};
    size_t nw = mp_arch_weight_count(&a);
    double *W = malloc(nw * sizeof(double)), *grad = malloc(nw * sizeof(double));
    for (size_t i = 0; i < nw; i++) W[i] = fill((int)i, 0.5) * 0.6;
    double x[10], xq[10];
    for (int j = 0; j < 10; j++) x[j] = 0.5 + 0.5 * fill(j, 7), xq[j] = 0.5;
    int label = 2, yq = 1;
    const double theta[MP_THETAS] = {0.1}; /* theta0 alone, the rest 0 */
    mp_episode_f64 *ep = mp_episode_new_f64(&a, 1, 1);
    mp_episode_out out;
    assert_int_equal(mp_episode_run_f64(ep, &(mp_episode_inputs_f64){W, NULL, theta, 0, x, &label, 1, xq, &yq, 1}, 0, &out), 0);
    naive_ce_gradient(&a, W, x, label, grad);
    const double *Wa = mp_episode_weights_f64(ep);
    double worst = 0;
    for (size_t i = 0; i < nw; i++) worst = fmax(worst, fabs(Wa[i] - (W[i] - theta[0] * grad[i])));
    printf("one sym step vs SGD: worst weight difference %.2e\n", worst);
    assert_true(worst < 1e-13);
    mp_episode_free_f64(ep);
    free(W), free(grad);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_and_lowrank_products),
        cmocka_unit_test(test_softplus),
        cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_feedback_slope),
        cmocka_unit_test(test_float_elementwise_accuracy),
        cmocka_unit_test(test_float_nan_propagates),
        cmocka_unit_test(test_sym_theta0_step_is_sgd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
