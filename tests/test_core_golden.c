/* The core against the golden episodes (docs/METHOD.md): loss before/after adaptation, dL/dtheta and the adapted
 * weights' sums, for every fix/sym x rule combination, in double and in float, with
 * the input layer in Gram mode or queued, with and without a worker thread. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "golden_cases.h"
#include "golden_inputs.h"
#include "golden_pool_cases.h"

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-300); }

/* How the episode object is made: as the trainer makes it, for more steps than Gram
 * mode keeps (so W1 is held as a queued matrix even for the default rule), or with a
 * worker thread for the input layer. */
enum { AS_TRAINER, WITHOUT_GRAM, WITH_WORKER, VARIANTS };
static const char *const variant_names[] = {"", " (W1 queued)", " (worker)"};

static int run_case(const golden_inputs *g, const double *theta, int use_float, int variant, mp_episode_out *out0,
                    mp_episode_out *out) {
    size_t nw = mp_arch_weight_count(&g->arch);
    int T_max = variant == WITHOUT_GRAM ? MP_GRAM_T_MAX + 1 : g->T, rc = 0;
    mp_worker *worker = variant == WITH_WORKER ? mp_worker_start() : NULL;
    assert_true(variant != WITH_WORKER || worker);
    if (use_float) {
        float *W = to_float(g->W, nw), *B = to_float(g->B, nw);
        float *xt = to_float(g->x_train, (size_t)g->T * 784), *xq = to_float(g->x_query, (size_t)g->NQ * 784);
        mp_episode_f32 *ep = mp_episode_new_f32(&g->arch, T_max, g->NQ);
        mp_episode_set_worker_f32(ep, worker);
        rc |= mp_episode_run_f32(ep, &(mp_episode_inputs_f32){W, B, theta, golden_lamb, xt, g->y_train, 0, xq, g->y_query, g->NQ}, 0,
                                 out0);
        rc |= mp_episode_run_f32(ep, &(mp_episode_inputs_f32){W, B, theta, golden_lamb, xt, g->y_train, g->T, xq, g->y_query, g->NQ},
                                 MP_EPISODE_GRAD | MP_EPISODE_STATS, out);
        mp_episode_free_f32(ep);
        free(W), free(B), free(xt), free(xq);
    } else {
        mp_episode_f64 *ep = mp_episode_new_f64(&g->arch, T_max, g->NQ);
        mp_episode_set_worker_f64(ep, worker);
        rc |= mp_episode_run_f64(ep, &(mp_episode_inputs_f64){g->W, g->B, theta, golden_lamb, g->x_train, g->y_train, 0, g->x_query, g->y_query, g->NQ}, 0, out0);
        rc |= mp_episode_run_f64(ep, &(mp_episode_inputs_f64){g->W, g->B, theta, golden_lamb, g->x_train, g->y_train, g->T, g->x_query, g->y_query, g->NQ}, MP_EPISODE_GRAD | MP_EPISODE_STATS, out);
        mp_episode_free_f64(ep);
    }
    mp_worker_stop(worker);
    return rc;
}

/* The gradient's worst error relative to want's largest |component| (ngrad of them) and
 * the adapted weights' sums' worst error relative to max(1, |sum|). */
static void errors_against(const mp_episode_out *out, const double *grad, int ngrad, const double *sum_W, double *gerr,
                           double *serr) {
    double gmax = 0;
    *gerr = *serr = 0;
    for (int k = 0; k < ngrad; k++) {
        gmax = fmax(gmax, fabs(grad[k]));
        *gerr = fmax(*gerr, fabs(out->grad[k] - grad[k]));
    }
    *gerr /= gmax;
    for (int l = 0; l < 5; l++) *serr = fmax(*serr, fabs(out->sum_W[l] - sum_W[l]) / fmax(1.0, fabs(sum_W[l])));
}

/* The worker changes no number at all: the same episode without one, bit for bit. */
static void assert_same_alone(const golden_inputs *g, const double *theta, int use_float, const mp_episode_out *out0,
                              const mp_episode_out *out) {
    mp_episode_out alone0, alone;
    assert_int_equal(run_case(g, theta, use_float, AS_TRAINER, &alone0, &alone), 0);
    assert_memory_equal(out0, &alone0, sizeof *out0);
    assert_memory_equal(out, &alone, sizeof *out);
}

/* Tolerances of the golden episodes: double to 1e-9 (loss) and 1e-7 of the largest gradient
 * component; float to 1e-5 and 1e-2. */
static void check_case(const golden_case *c, int use_float, int variant) {
    golden_inputs g;
    golden_inputs_make(&g, c->sym, c->vec, c->nvec, GOLDEN_T, GOLDEN_NQ);
    mp_episode_out out0, out;
    assert_int_equal(run_case(&g, golden_theta, use_float, variant, &out0, &out), 0);
    double gerr, serr;
    errors_against(&out, c->grad, 5, c->sum_W, &gerr, &serr);
    double tol_loss = use_float ? 1e-5 : 1e-9, tol_grad = use_float ? 1e-2 : 1e-7, tol_sum = use_float ? 1e-3 : 1e-9;
    printf("%s %s vec=[%d%s%d]%s: loss_initial rel %.2e, loss rel %.2e, grad %.2e of max, sum_W %.2e\n",
           use_float ? "f32" : "f64", c->sym ? "sym" : "fix", c->nvec > 0 ? c->vec[0] : 0, c->nvec > 1 ? " " : "",
           c->nvec > 1 ? c->vec[1] : 0, variant_names[variant], rel(out0.loss, c->loss_initial),
           rel(out.loss, c->loss), gerr, serr);
    assert_true(rel(out0.loss, c->loss_initial) < tol_loss);
    assert_true(rel(out.loss, c->loss) < tol_loss);
    assert_true(gerr < tol_grad);
    assert_true(serr < tol_sum);
    if (variant == WITH_WORKER) assert_same_alone(&g, golden_theta, use_float, &out0, &out);
    golden_inputs_free(&g);
}

static void test_golden_f64(void **state) {
    (void)state;
    for (int v = 0; v < VARIANTS; v++)
        for (size_t i = 0; i < sizeof golden_cases / sizeof golden_cases[0]; i++) check_case(&golden_cases[i], 0, v);
}

static void test_golden_f32(void **state) {
    (void)state;
    for (int v = 0; v < VARIANTS; v++)
        for (size_t i = 0; i < sizeof golden_cases / sizeof golden_cases[0]; i++) check_case(&golden_cases[i], 1, v);
}

/* The rule pool's golden episodes: double to 1e-9 (loss) and 1e-7 of the largest gradient
 * component, float to 1e-5 and 1e-3; W1 is queued for every pool rule (no Gram mode), so
 * the variants are as the trainer makes the episode and with a worker (no bit changes). */
static void check_pool_case(const pool_case *c, int use_float, int variant, double *worst_loss, double *worst_grad) {
    golden_inputs g;
    golden_inputs_make(&g, c->sym, NULL, 0, GOLDEN_T, GOLDEN_NQ);
    g.arch.terms = c->terms;
    mp_episode_out out0, out;
    assert_int_equal(run_case(&g, pool_theta, use_float, variant, &out0, &out), 0);
    double gerr, serr;
    errors_against(&out, c->grad, 10, c->sum_W, &gerr, &serr);
    double tol_loss = use_float ? 1e-5 : 1e-9, tol_grad = use_float ? 1e-3 : 1e-7, tol_sum = use_float ? 1e-3 : 1e-9;
    printf("%s %s pool terms=0x%03x%s: loss rel %.2e, grad %.2e of max, sum_W %.2e\n", use_float ? "f32" : "f64",
           c->sym ? "sym" : "fix", c->terms, variant_names[variant], rel(out.loss, c->loss), gerr, serr);
    *worst_loss = fmax(*worst_loss, rel(out.loss, c->loss));
    *worst_grad = fmax(*worst_grad, gerr);
    assert_true(rel(out.loss, c->loss) < tol_loss);
    assert_true(gerr < tol_grad);
    assert_true(serr < tol_sum);
    if (variant == WITH_WORKER) assert_same_alone(&g, pool_theta, use_float, &out0, &out);
    golden_inputs_free(&g);
}

static void test_pool(int use_float) {
    double worst_loss = 0, worst_grad = 0;
    for (int v = AS_TRAINER; v < VARIANTS; v += WITH_WORKER - AS_TRAINER)
        for (size_t i = 0; i < sizeof pool_cases / sizeof pool_cases[0]; i++)
            check_pool_case(&pool_cases[i], use_float, v, &worst_loss, &worst_grad);
    printf("WORST %s pool: loss rel %.2e, grad %.2e of max\n", use_float ? "f32" : "f64", worst_loss, worst_grad);
}

static void test_pool_f64(void **state) {
    (void)state;
    test_pool(0);
}

static void test_pool_f32(void **state) {
    (void)state;
    test_pool(1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_f64),
        cmocka_unit_test(test_golden_f32),
        cmocka_unit_test(test_pool_f64),
        cmocka_unit_test(test_pool_f32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
