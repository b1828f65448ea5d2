/* Forward and error kernels against naive loops; sym with theta0 alone is online SGD. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metaplast/core.h"
#include "metaplast/rules.h"

static double fill(int i, double a) { return sin(0.37 * i + a) * 0.8; }

static void test_linear_forward(void **state) {
    (void)state;
    enum { NO = 7, NI = 11 };
    double W[NO * NI], y[NI], z[NO];
    for (int i = 0; i < NO * NI; i++) W[i] = fill(i, 1);
    for (int j = 0; j < NI; j++) y[j] = fill(j, 2);
    mp_linear_forward_f64(W, y, z, NO, NI);
    for (int i = 0; i < NO; i++) {
        double s = 0;
        for (int j = 0; j < NI; j++) s += W[i * NI + j] * y[j];
        assert_true(fabs(z[i] - s) < 1e-14);
    }
}

static void test_softplus(void **state) {
    (void)state;
    const double z[] = {-5, -0.3, 0, 0.25, 1.999, 2.0, 2.0001, 7};
    double y[8];
    mp_softplus_f64(z, y, 8);
    for (int i = 0; i < 8; i++) {
        double want = 10 * z[i] > 20 ? z[i] : log(1 + exp(10 * z[i])) / 10;
        assert_true(fabs(y[i] - want) < 1e-14);
    }
    assert_true(y[7] == 7.0);       /* linear branch: z itself */
    assert_true(y[0] > 0 && y[0] < 1e-22);
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

static void test_error_backward(void **state) {
    (void)state;
    enum { NO = 6, NI = 9 };
    double B[NO * NI], e_out[NO], y_in[NI], s_in[NI], e_in[NI], h[NI];
    for (int i = 0; i < NO * NI; i++) B[i] = fill(i, 3);
    for (int i = 0; i < NO; i++) e_out[i] = fill(i, 4);
    for (int j = 0; j < NI; j++) y_in[j] = fabs(fill(j, 5));
    mp_feedback_slope_f64(y_in, s_in, NI);
    mp_error_backward_f64(B, e_out, s_in, e_in, h, NO, NI);
    for (int j = 0; j < NI; j++) {
        double s = 0;
        for (int i = 0; i < NO; i++) s += B[i * NI + j] * e_out[i];
        assert_true(fabs(h[j] - s) < 1e-14);
        assert_true(fabs(e_in[j] - s * (1 - exp(-10 * y_in[j]))) < 1e-14);
    }
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

static void test_sym_theta0_step_is_sgd(void **state) {
    (void)state;
    mp_arch a = {{10, 8, 7, 6, 5, 4}, 1, 1u << MP_RULE_PSEUDO_GRAD};
    size_t nw = mp_arch_weight_count(&a);
    double *W = malloc(nw * sizeof(double)), *grad = malloc(nw * sizeof(double));
    for (size_t i = 0; i < nw; i++) W[i] = fill((int)i, 0.5) * 0.6;
    double x[10], xq[10];
    for (int j = 0; j < 10; j++) x[j] = 0.5 + 0.5 * fill(j, 7), xq[j] = 0.5;
    int label = 2, yq = 1;
    const double theta[5] = {0.1, 0, 0, 0, 0};
    mp_episode_f64 *ep = mp_episode_new_f64(&a, 1, 1);
    mp_episode_out out;
    assert_int_equal(mp_episode_run_f64(ep, W, NULL, theta, 0, x, &label, 1, xq, &yq, 1, 0, &out), 0);
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
        cmocka_unit_test(test_linear_forward),
        cmocka_unit_test(test_softplus),
        cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_error_backward),
        cmocka_unit_test(test_sym_theta0_step_is_sgd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
