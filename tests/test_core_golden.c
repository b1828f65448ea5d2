/* The core against GOLDEN.md: loss before/after adaptation, dL/dtheta and the adapted
 * weights' sums, for every fix/sym x rule combination, in double and in float. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "golden_cases.h"
#include "golden_inputs.h"

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-300); }

/* Tolerances of GOLDEN.md: double to 1e-9 (loss) and 1e-7 of the largest gradient
 * component; float to 1e-5 and 1e-2. */
static void check_case(const golden_case *c, int use_float) {
    golden_inputs g;
    golden_inputs_make(&g, c->sym, c->vec, c->nvec, GOLDEN_T, GOLDEN_NQ);
    size_t nw = mp_arch_weight_count(&g.arch);
    mp_episode_out out0, out;
    if (use_float) {
        float *W = to_float(g.W, nw), *B = to_float(g.B, nw);
        float *xt = to_float(g.x_train, (size_t)g.T * 784), *xq = to_float(g.x_query, (size_t)g.NQ * 784);
        mp_episode_f32 *ep = mp_episode_new_f32(&g.arch, g.T, g.NQ);
        assert_int_equal(mp_episode_run_f32(ep, W, B, golden_theta, golden_lamb, xt, g.y_train, 0, xq, g.y_query,
                                            g.NQ, 0, &out0), 0);
        assert_int_equal(mp_episode_run_f32(ep, W, B, golden_theta, golden_lamb, xt, g.y_train, g.T, xq,
                                            g.y_query, g.NQ, MP_EPISODE_GRAD, &out), 0);
        mp_episode_free_f32(ep);
        free(W), free(B), free(xt), free(xq);
    } else {
        mp_episode_f64 *ep = mp_episode_new_f64(&g.arch, g.T, g.NQ);
        assert_int_equal(mp_episode_run_f64(ep, g.W, g.B, golden_theta, golden_lamb, g.x_train, g.y_train, 0,
                                            g.x_query, g.y_query, g.NQ, 0, &out0), 0);
        assert_int_equal(mp_episode_run_f64(ep, g.W, g.B, golden_theta, golden_lamb, g.x_train, g.y_train, g.T,
                                            g.x_query, g.y_query, g.NQ, MP_EPISODE_GRAD, &out), 0);
        mp_episode_free_f64(ep);
    }
    double gmax = 0, gerr = 0, serr = 0;
    for (int k = 0; k < 5; k++) {
        gmax = fmax(gmax, fabs(c->grad[k]));
        gerr = fmax(gerr, fabs(out.grad[k] - c->grad[k]));
    }
    gerr /= gmax;
    for (int l = 0; l < 5; l++) serr = fmax(serr, fabs(out.sum_W[l] - c->sum_W[l]) / fmax(1.0, fabs(c->sum_W[l])));
    double tol_loss = use_float ? 1e-5 : 1e-9, tol_grad = use_float ? 1e-2 : 1e-7, tol_sum = use_float ? 1e-3 : 1e-9;
    printf("%s %s vec=[%d%s%d]: loss_initial rel %.2e, loss rel %.2e, grad %.2e of max, sum_W %.2e\n",
           use_float ? "f32" : "f64", c->sym ? "sym" : "fix", c->nvec > 0 ? c->vec[0] : 0, c->nvec > 1 ? " " : "",
           c->nvec > 1 ? c->vec[1] : 0, rel(out0.loss, c->loss_initial), rel(out.loss, c->loss), gerr, serr);
    assert_true(rel(out0.loss, c->loss_initial) < tol_loss);
    assert_true(rel(out.loss, c->loss) < tol_loss);
    assert_true(gerr < tol_grad);
    assert_true(serr < tol_sum);
    golden_inputs_free(&g);
}

static void test_golden_f64(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof golden_cases / sizeof golden_cases[0]; i++) check_case(&golden_cases[i], 0);
}

static void test_golden_f32(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof golden_cases / sizeof golden_cases[0]; i++) check_case(&golden_cases[i], 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_f64),
        cmocka_unit_test(test_golden_f32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
