/* Per-episode statistics (docs/METHOD.md, "Statistics per episode"): E1_1..E1_5 and
 * angle_0..angle_5 against naive double loops written here independently of the core,
 * with T = 0 (initial weights) and T > 0 (adapted weights), fix and sym, double and
 * float; plus hand-checked cases: orthonormal (Hadamard) weights where E1 has a closed
 * form, feedback parallel / antiparallel / orthogonal to the weights, sym = 0 degrees,
 * and a zero mean signal (NaN) reported as 0. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/core.h"
#include "model/rules.h"

#define L MP_LAYERS
#define MAXW 32 /* widest layer of these tests */
#define MAXQ 8  /* most queries of these tests */

/* With B = W the two mean signals are the same vector: the angle is exactly 0. */
#define SYM_ANGLE_TOL 0.0

/* cmocka compares floats only in single precision */
#define assert_near(got, want, tol) near_at((got), (want), (tol), #got, __LINE__)
static void near_at(double got, double want, double tol, const char *what, int line) {
    if (!(fabs(got - want) <= tol)) fail_msg("line %d: %s = %.17g, wanted %.17g (tol %.3g)", line, what, got, want, tol);
}
/* relative for large values, absolute near 0 */
#define assert_close(got, want, rel) near_at((got), (want), (rel) * fmax(1.0, fabs(want)), #got, __LINE__)

/* ---- naive reference: plain double loops over explicit indices ------------------- */

typedef struct {
    double E1[L];
    double angle[L + 1];
} naive_stats;

static double naive_softplus(double z) { return 10 * z > 20 ? z : log(1 + exp(10 * z)) / 10; }

static double naive_angle(const double *a, const double *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int j = 0; j < n; j++) ab += a[j] * b[j], aa += a[j] * a[j], bb += b[j] * b[j];
    if (aa == 0 || bb == 0) return 0; /* the cosine is 0/0 = NaN: reported as 0 */
    double c = ab / sqrt(aa * bb);
    if (c > 1) c = 1;
    if (c < -1) c = -1;
    return acos(c) * (180.0 / M_PI);
}

/* W, B: all five matrices in one buffer (layout of mp_arch_offset); B = W for sym. */
static void naive_statistics(const mp_arch *a, const double *W, const double *B, const double *xq, const int *yq,
                             int NQ, naive_stats *out) {
    const int *n = a->n;
    static double Y[L + 1][MAXQ][MAXW];
    for (int q = 0; q < NQ; q++)
        for (int j = 0; j < n[0]; j++) Y[0][q][j] = xq[q * n[0] + j];
    for (int l = 1; l <= L; l++) {
        const double *Wl = W + mp_arch_offset(a, l);
        for (int q = 0; q < NQ; q++) {
            double z[MAXW];
            for (int i = 0; i < n[l]; i++) {
                z[i] = 0;
                for (int j = 0; j < n[l - 1]; j++) z[i] += Wl[i * n[l - 1] + j] * Y[l - 1][q][j];
            }
            if (l < L) {
                for (int i = 0; i < n[l]; i++) Y[l][q][i] = naive_softplus(z[i]);
            } else {
                double sum = 0;
                for (int i = 0; i < n[l]; i++) sum += exp(z[i]);
                for (int i = 0; i < n[l]; i++) Y[l][q][i] = exp(z[i]) / sum;
            }
        }
    }
    /* E1_l = || Y_{l-1} W^T - Y_l (W W^T) ||_F^2, W W^T formed explicitly */
    for (int l = 1; l <= L; l++) {
        const double *Wl = W + mp_arch_offset(a, l);
        double G[MAXW][MAXW];
        for (int i = 0; i < n[l]; i++)
            for (int k = 0; k < n[l]; k++) {
                G[i][k] = 0;
                for (int j = 0; j < n[l - 1]; j++) G[i][k] += Wl[i * n[l - 1] + j] * Wl[k * n[l - 1] + j];
            }
        double e1 = 0;
        for (int q = 0; q < NQ; q++)
            for (int i = 0; i < n[l]; i++) {
                double lhs = 0, rhs = 0;
                for (int j = 0; j < n[l - 1]; j++) lhs += Y[l - 1][q][j] * Wl[i * n[l - 1] + j];
                for (int k = 0; k < n[l]; k++) rhs += Y[l][q][k] * G[k][i];
                e1 += (lhs - rhs) * (lhs - rhs);
            }
        out->E1[l - 1] = e1;
    }
    /* error signals through B (FA) and through W (BP), per query, then their means */
    static double eB[L + 1][MAXQ][MAXW], eW[L + 1][MAXQ][MAXW];
    for (int q = 0; q < NQ; q++)
        for (int i = 0; i < n[L]; i++) eB[L][q][i] = eW[L][q][i] = Y[L][q][i] - (i == yq[q] ? 1 : 0);
    for (int l = L - 1; l >= 0; l--) {
        const double *Bn = B + mp_arch_offset(a, l + 1), *Wn = W + mp_arch_offset(a, l + 1);
        for (int q = 0; q < NQ; q++)
            for (int j = 0; j < n[l]; j++) {
                double hb = 0, hw = 0;
                for (int i = 0; i < n[l + 1]; i++) {
                    hb += Bn[i * n[l] + j] * eB[l + 1][q][i];
                    hw += Wn[i * n[l] + j] * eW[l + 1][q][i];
                }
                double slope = 1 - exp(-10 * Y[l][q][j]);
                eB[l][q][j] = hb * slope;
                eW[l][q][j] = hw * slope;
            }
    }
    for (int l = 0; l <= L; l++) {
        double mb[MAXW], mw[MAXW];
        for (int j = 0; j < n[l]; j++) {
            mb[j] = mw[j] = 0;
            for (int q = 0; q < NQ; q++) mb[j] += eB[l][q][j] / NQ, mw[j] += eW[l][q][j] / NQ;
        }
        out->angle[l] = naive_angle(mb, mw, n[l]);
    }
    out->angle[L] = 0; /* by construction; the formula would give 0 too */
}

/* ---- inputs ---------------------------------------------------------------------- */

static const int small_widths[L + 1] = {6, 5, 4, 4, 3, 3};

typedef struct {
    mp_arch arch;
    double *W, *B, *x_train, *x_query;
    int y_train[MAXQ], y_query[MAXQ];
    int T, NQ;
} inputs;

/* Generic weights and inputs by formulas (no structure the statistics could exploit). */
static void inputs_make(inputs *g, int sym, int T, int NQ) {
    static const int vec[] = {1, 2};
    for (int l = 0; l <= L; l++) g->arch.n[l] = small_widths[l];
    g->arch.feedback = sym ? MP_FEEDBACK_SYMMETRIC : MP_FEEDBACK_FIXED;
    g->arch.terms = mp_rule_mask(vec, 2);
    g->T = T, g->NQ = NQ;
    size_t nw = mp_arch_weight_count(&g->arch);
    g->W = malloc(nw * sizeof(double));
    g->B = malloc(nw * sizeof(double));
    for (int l = 1; l <= L; l++) {
        const int *n = g->arch.n;
        double r = sqrt(6.0 / (n[l - 1] + n[l]));
        size_t off = mp_arch_offset(&g->arch, l);
        for (int i = 0; i < n[l]; i++)
            for (int j = 0; j < n[l - 1]; j++) {
                size_t k = off + (size_t)i * n[l - 1] + j;
                g->W[k] = r * sin(1.0 + 0.37 * (i + 1) + 0.91 * (j + 1) + 1.3 * l);
                g->B[k] = r * cos(2.0 + 0.53 * (i + 1) + 0.29 * (j + 1) + 0.7 * l);
            }
    }
    int n0 = g->arch.n[0], C = g->arch.n[L];
    g->x_train = malloc((size_t)(T > 0 ? T : 1) * n0 * sizeof(double));
    g->x_query = malloc((size_t)NQ * n0 * sizeof(double));
    for (int t = 0; t < T; t++) {
        for (int k = 0; k < n0; k++) g->x_train[t * n0 + k] = 0.5 + 0.5 * sin(0.71 * (k + 1) * (t + 1) + 0.3 * t);
        g->y_train[t] = (2 * t + 1) % C;
    }
    for (int q = 0; q < NQ; q++) {
        for (int k = 0; k < n0; k++) g->x_query[q * n0 + k] = 0.5 + 0.5 * cos(0.47 * (k + 1) * (q + 2) + 0.5 * q);
        g->y_query[q] = (q + 2) % C;
    }
}

static void inputs_free(inputs *g) { free(g->W), free(g->B), free(g->x_train), free(g->x_query); }

static void compare(const mp_episode_out *got, const naive_stats *want, double e1_rel, double angle_tol,
                    const char *what) {
    for (int l = 0; l < L; l++) {
        double tol = e1_rel * fmax(1.0, fabs(want->E1[l]));
        if (!(fabs(got->E1[l] - want->E1[l]) <= tol))
            fail_msg("%s: E1_%d = %.17g, naive %.17g", what, l + 1, got->E1[l], want->E1[l]);
    }
    for (int l = 0; l <= L; l++)
        if (!(fabs(got->angle[l] - want->angle[l]) <= angle_tol))
            fail_msg("%s: angle_%d = %.17g, naive %.17g", what, l, got->angle[l], want->angle[l]);
}

/* ---- against naive loops --------------------------------------------------------- */

static const double theta_used[MP_THETAS] = {0.1, 0.05, 0.05, 0, 0};

static void check_against_naive(int sym, int T) {
    inputs g;
    inputs_make(&g, sym, T, 4);
    size_t nw = mp_arch_weight_count(&g.arch);
    mp_episode_f64 *ep = mp_episode_new_f64(&g.arch, T > 0 ? T : 1, g.NQ);
    mp_episode_out out, out_grad, out0;
    /* statistics only: the adapted weights stay readable */
    assert_int_equal(mp_episode_run_f64(ep, &(mp_episode_inputs_f64){g.W, sym ? NULL : g.B, theta_used, 0, g.x_train, g.y_train, T, g.x_query, g.y_query, g.NQ}, MP_EPISODE_STATS, &out),
                     0);
    double *Wa = malloc(nw * sizeof(double));
    memcpy(Wa, mp_episode_weights_f64(ep), nw * sizeof(double));
    naive_stats want;
    naive_statistics(&g.arch, Wa, sym ? Wa : g.B, g.x_query, g.y_query, g.NQ, &want);
    char what[64];
    snprintf(what, sizeof what, "%s, T = %d", sym ? "sym" : "fix", T);
    printf("%s: E1 = %.6g %.6g %.6g %.6g %.6g, angle = %.4f %.4f %.4f %.4f %.4f %.4f\n", what, out.E1[0], out.E1[1],
           out.E1[2], out.E1[3], out.E1[4], out.angle[0], out.angle[1], out.angle[2], out.angle[3], out.angle[4],
           out.angle[5]);
    double angle_tol = sym ? fmax(1e-8, SYM_ANGLE_TOL) : 1e-8;
    compare(&out, &want, 1e-11, angle_tol, what);
    assert_true(out.angle[L] == 0);
    if (!sym) /* FA: the angles say something (not all 0, none NaN) */
        for (int l = 0; l < L; l++) assert_true(out.angle[l] > 1e-3 && out.angle[l] <= 180);

    /* the same statistics when the gradient is computed too (they must not see the
     * weights the reverse sweep unwinds) */
    assert_int_equal(mp_episode_run_f64(ep, &(mp_episode_inputs_f64){g.W, sym ? NULL : g.B, theta_used, 0, g.x_train, g.y_train, T, g.x_query, g.y_query, g.NQ}, MP_EPISODE_STATS | MP_EPISODE_GRAD, &out_grad),
                     0);
    compare(&out_grad, &want, 1e-12, angle_tol, "with MP_EPISODE_GRAD");

    if (T > 0) {
        /* the statistics are those of the adapted weights, not of W0 */
        assert_int_equal(mp_episode_run_f64(ep, &(mp_episode_inputs_f64){g.W, sym ? NULL : g.B, theta_used, 0, g.x_train, g.y_train, 0, g.x_query, g.y_query, g.NQ}, MP_EPISODE_STATS, &out0),
                         0);
        double moved = 0;
        for (int l = 0; l < L; l++) moved = fmax(moved, fabs(out0.E1[l] - out.E1[l]) / fmax(1e-300, fabs(out.E1[l])));
        assert_true(moved > 1e-4);
        naive_stats initial;
        naive_statistics(&g.arch, g.W, sym ? g.W : g.B, g.x_query, g.y_query, g.NQ, &initial);
        compare(&out0, &initial, 1e-11, angle_tol, "T = 0 run of the same inputs");
    }
    /* without MP_EPISODE_STATS nothing is claimed: the fields stay 0 */
    assert_int_equal(mp_episode_run_f64(ep, &(mp_episode_inputs_f64){g.W, sym ? NULL : g.B, theta_used, 0, g.x_train, g.y_train, T, g.x_query, g.y_query, g.NQ}, 0, &out0),
                     0);
    for (int l = 0; l < L; l++) assert_true(out0.E1[l] == 0);
    free(Wa);
    mp_episode_free_f64(ep);
    inputs_free(&g);
}

static void test_fix_T0_naive(void **state) { (void)state, check_against_naive(0, 0); }
static void test_fix_T5_naive(void **state) { (void)state, check_against_naive(0, 5); }
static void test_sym_T0_naive(void **state) { (void)state, check_against_naive(1, 0); }
static void test_sym_T5_naive(void **state) { (void)state, check_against_naive(1, 5); }

/* Training computes the statistics in float: same numbers to float accuracy. */
static void test_float_statistics_naive(void **state) {
    (void)state;
    inputs g;
    inputs_make(&g, 0, 5, 4);
    size_t nw = mp_arch_weight_count(&g.arch);
    int n0 = g.arch.n[0];
    float *Wf = malloc(nw * sizeof(float)), *Bf = malloc(nw * sizeof(float));
    float *xt = malloc((size_t)g.T * n0 * sizeof(float)), *xq = malloc((size_t)g.NQ * n0 * sizeof(float));
    for (size_t i = 0; i < nw; i++) Wf[i] = (float)g.W[i], Bf[i] = (float)g.B[i];
    for (int i = 0; i < g.T * n0; i++) xt[i] = (float)g.x_train[i];
    for (int i = 0; i < g.NQ * n0; i++) xq[i] = (float)g.x_query[i];
    mp_episode_f32 *ep = mp_episode_new_f32(&g.arch, g.T, g.NQ);
    mp_episode_out out;
    assert_int_equal(mp_episode_run_f32(ep, &(mp_episode_inputs_f32){Wf, Bf, theta_used, 0, xt, g.y_train, g.T, xq, g.y_query, g.NQ},
                                        MP_EPISODE_STATS, &out),
                     0);
    double *Wa = malloc(nw * sizeof(double)), *Bd = malloc(nw * sizeof(double)), *xqd = malloc((size_t)g.NQ * n0 * sizeof(double));
    const float *wf = mp_episode_weights_f32(ep);
    for (size_t i = 0; i < nw; i++) Wa[i] = wf[i], Bd[i] = Bf[i];
    for (int i = 0; i < g.NQ * n0; i++) xqd[i] = xq[i];
    naive_stats want;
    naive_statistics(&g.arch, Wa, Bd, xqd, g.y_query, g.NQ, &want);
    compare(&out, &want, 1e-4, 1e-2, "float, fix, T = 5");
    free(Wa), free(Bd), free(xqd), free(Wf), free(Bf), free(xt), free(xq);
    mp_episode_free_f32(ep);
    inputs_free(&g);
}

/* ---- hand-checked cases ---------------------------------------------------------- */

/* Sylvester Hadamard matrix H16 / 4: rows orthonormal, every product exact in binary. */
static double hadamard16(int i, int j) { return (__builtin_popcount((unsigned)(i & j)) & 1) ? -0.25 : 0.25; }

/* widths 16-16-16-16-16-16, every W_l = H16 / 4 (W W^T = I exactly, so
 * E1_l = || Z_l - Y_l ||_F^2), every query x = (1, ..., 1). Layer 1: z = (4, 0, ..., 0),
 * y = (4, ln2/10, ..., ln2/10) (4 is on softplus' linear branch), so
 * E1_1 = NQ * 15 * (ln 2 / 10)^2. Further layers keep the pattern (a, b, ..., b):
 * H16 has a first column of +1 and its other rows sum to 0, so z' = ((a + 15 b)/4,
 * (a - b)/4, ..., (a - b)/4). */
static void test_orthonormal_weights_hand(void **state) {
    (void)state;
    enum { N = 16, NQ = 3 };
    mp_arch a = {{N, N, N, N, N, N}, 1, 1u};
    size_t nw = mp_arch_weight_count(&a);
    double *W = malloc(nw * sizeof(double));
    for (int l = 1; l <= L; l++)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) W[mp_arch_offset(&a, l) + (size_t)i * N + j] = hadamard16(i, j);
    double xq[NQ * N];
    for (int i = 0; i < NQ * N; i++) xq[i] = 1;
    int yq[NQ] = {0, 5, 15};
    mp_episode_f64 *ep = mp_episode_new_f64(&a, 1, NQ);
    mp_episode_out out;
    assert_int_equal(mp_episode_run_f64(ep, &(mp_episode_inputs_f64){W, NULL, theta_used, 0, NULL, NULL, 0, xq, yq, NQ}, MP_EPISODE_STATS, &out), 0);

    double s0 = log(2.0) / 10;
    assert_close(out.E1[0], NQ * 15 * s0 * s0, 1e-13); /* 3 * 15 * 0.0048045 */
    assert_near(out.E1[0], 0.216204, 1e-6);
    double ya = 4, yb = s0;
    for (int l = 2; l <= L; l++) {
        double za = (ya + 15 * yb) / 4, zb = (ya - yb) / 4, na, nb;
        if (l < L) {
            na = naive_softplus(za), nb = naive_softplus(zb);
        } else { /* softmax of (za, zb x 15) */
            double sum = exp(za) + 15 * exp(zb);
            na = exp(za) / sum, nb = exp(zb) / sum;
        }
        double want = NQ * ((za - na) * (za - na) + 15 * (zb - nb) * (zb - nb));
        if (!(fabs(out.E1[l - 1] - want) <= 1e-12 * fmax(1, want)))
            fail_msg("E1_%d = %.17g, by hand %.17g", l, out.E1[l - 1], want);
        ya = na, yb = nb;
    }
    /* sym: B = W, the FA and BP signals are the same vectors */
    for (int l = 0; l <= L; l++) assert_near(out.angle[l], 0, SYM_ANGLE_TOL);
    mp_episode_free_f64(ep);
    free(W);
}

/* fix with B built from W: B = 2W (every signal exactly doubled) gives 0 degrees,
 * B5 = -W5 and B_l = W_l below gives 180 degrees at layers 0..4. */
static void test_angle_parallel_antiparallel(void **state) {
    (void)state;
    inputs g;
    inputs_make(&g, 0, 0, 4);
    size_t nw = mp_arch_weight_count(&g.arch);
    double *B = malloc(nw * sizeof(double));
    mp_episode_f64 *ep = mp_episode_new_f64(&g.arch, 1, g.NQ);
    mp_episode_out out;

    for (size_t i = 0; i < nw; i++) B[i] = 2 * g.W[i]; /* FA signal = 2^k BP signal, exactly */
    assert_int_equal(mp_episode_run_f64(ep, &(mp_episode_inputs_f64){g.W, B, theta_used, 0, NULL, NULL, 0, g.x_query, g.y_query, g.NQ},
                                        MP_EPISODE_STATS, &out),
                     0);
    for (int l = 0; l <= L; l++) assert_near(out.angle[l], 0, 1e-5);

    memcpy(B, g.W, nw * sizeof(double));
    size_t off5 = mp_arch_offset(&g.arch, L);
    for (size_t i = off5; i < nw; i++) B[i] = -g.W[i];
    assert_int_equal(mp_episode_run_f64(ep, &(mp_episode_inputs_f64){g.W, B, theta_used, 0, NULL, NULL, 0, g.x_query, g.y_query, g.NQ},
                                        MP_EPISODE_STATS, &out),
                     0);
    for (int l = 0; l < L; l++) assert_near(out.angle[l], 180, 1e-5);
    assert_true(out.angle[L] == 0);
    mp_episode_free_f64(ep);
    free(B);
    inputs_free(&g);
}

/* W5 non-zero only in column 0, B5 only in column 1: W5^T e5 and B5^T e5 live on
 * disjoint coordinates for every query, and so do their means after the elementwise
 * slope: angle_4 is 90 degrees exactly (cosine 0 / nonzero). */
static void test_angle_orthogonal(void **state) {
    (void)state;
    inputs g;
    inputs_make(&g, 0, 0, 4);
    const int *n = g.arch.n;
    size_t off5 = mp_arch_offset(&g.arch, L);
    for (int i = 0; i < n[L]; i++)
        for (int j = 0; j < n[L - 1]; j++) {
            g.W[off5 + (size_t)i * n[L - 1] + j] = j == 0 ? 0.5 + 0.3 * i : 0;
            g.B[off5 + (size_t)i * n[L - 1] + j] = j == 1 ? 0.7 - 0.4 * i : 0;
        }
    mp_episode_f64 *ep = mp_episode_new_f64(&g.arch, 1, g.NQ);
    mp_episode_out out;
    assert_int_equal(mp_episode_run_f64(ep, &(mp_episode_inputs_f64){g.W, g.B, theta_used, 0, NULL, NULL, 0, g.x_query, g.y_query, g.NQ},
                                        MP_EPISODE_STATS, &out),
                     0);
    assert_near(out.angle[L - 1], 90, 1e-9);
    assert_true(out.angle[L] == 0);
    naive_stats want;
    naive_statistics(&g.arch, g.W, g.B, g.x_query, g.y_query, g.NQ, &want);
    compare(&out, &want, 1e-11, 1e-8, "orthogonal case");
    mp_episode_free_f64(ep);
    inputs_free(&g);
}

/* A zero mean signal makes the cosine 0/0: the angle is reported as 0, never NaN.
 * B3 = 0: e_2, e_1, e_0 through B vanish (angles 2, 1, 0 -> 0) while angles 3 and 4
 * are ordinary. B5 = 0: every FA signal vanishes, every angle is 0. */
static void test_angle_nan_is_zero(void **state) {
    (void)state;
    inputs g;
    inputs_make(&g, 0, 0, 4);
    size_t off3 = mp_arch_offset(&g.arch, 3), off4 = mp_arch_offset(&g.arch, 4), nw = mp_arch_weight_count(&g.arch);
    for (size_t i = off3; i < off4; i++) g.B[i] = 0;
    mp_episode_f64 *ep = mp_episode_new_f64(&g.arch, 1, g.NQ);
    mp_episode_out out;
    assert_int_equal(mp_episode_run_f64(ep, &(mp_episode_inputs_f64){g.W, g.B, theta_used, 0, NULL, NULL, 0, g.x_query, g.y_query, g.NQ},
                                        MP_EPISODE_STATS, &out),
                     0);
    for (int l = 0; l <= L; l++) assert_false(isnan(out.angle[l]));
    assert_true(out.angle[0] == 0 && out.angle[1] == 0 && out.angle[2] == 0);
    assert_true(out.angle[3] > 1e-3 && out.angle[4] > 1e-3);
    naive_stats want;
    naive_statistics(&g.arch, g.W, g.B, g.x_query, g.y_query, g.NQ, &want);
    compare(&out, &want, 1e-11, 1e-8, "B3 = 0");

    for (size_t i = mp_arch_offset(&g.arch, L); i < nw; i++) g.B[i] = 0;
    assert_int_equal(mp_episode_run_f64(ep, &(mp_episode_inputs_f64){g.W, g.B, theta_used, 0, NULL, NULL, 0, g.x_query, g.y_query, g.NQ},
                                        MP_EPISODE_STATS, &out),
                     0);
    for (int l = 0; l <= L; l++) assert_true(out.angle[l] == 0);
    for (int l = 0; l < L; l++) assert_true(isfinite(out.E1[l]) && out.E1[l] > 0);
    mp_episode_free_f64(ep);
    inputs_free(&g);
}

/* sym: B = W at the adapted weights, so every angle is 0 after T > 0 steps as well. */
static void test_sym_angles_zero(void **state) {
    (void)state;
    inputs g;
    inputs_make(&g, 1, 5, 4);
    mp_episode_f64 *ep = mp_episode_new_f64(&g.arch, g.T, g.NQ);
    mp_episode_out out;
    const unsigned flag_sets[2] = {MP_EPISODE_STATS, MP_EPISODE_STATS | MP_EPISODE_GRAD};
    for (int f = 0; f < 2; f++) {
        assert_int_equal(mp_episode_run_f64(ep, &(mp_episode_inputs_f64){g.W, NULL, theta_used, 0, g.x_train, g.y_train, g.T, g.x_query, g.y_query, g.NQ}, flag_sets[f], &out),
                         0);
        for (int l = 0; l <= L; l++) assert_near(out.angle[l], 0, SYM_ANGLE_TOL);
    }
    /* the float core too (training's precision) */
    size_t nw = mp_arch_weight_count(&g.arch);
    int n0 = g.arch.n[0];
    float *Wf = malloc(nw * sizeof(float)), *xt = malloc((size_t)g.T * n0 * sizeof(float)),
          *xq = malloc((size_t)g.NQ * n0 * sizeof(float));
    for (size_t i = 0; i < nw; i++) Wf[i] = (float)g.W[i];
    for (int i = 0; i < g.T * n0; i++) xt[i] = (float)g.x_train[i];
    for (int i = 0; i < g.NQ * n0; i++) xq[i] = (float)g.x_query[i];
    mp_episode_f32 *ef = mp_episode_new_f32(&g.arch, g.T, g.NQ);
    assert_int_equal(mp_episode_run_f32(ef, &(mp_episode_inputs_f32){Wf, NULL, theta_used, 0, xt, g.y_train, g.T, xq, g.y_query, g.NQ},
                                        MP_EPISODE_STATS | MP_EPISODE_GRAD, &out),
                     0);
    for (int l = 0; l <= L; l++) assert_near(out.angle[l], 0, 1e-2);
    mp_episode_free_f32(ef);
    free(Wf), free(xt), free(xq);
    mp_episode_free_f64(ep);
    inputs_free(&g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fix_T0_naive),
        cmocka_unit_test(test_fix_T5_naive),
        cmocka_unit_test(test_sym_T0_naive),
        cmocka_unit_test(test_sym_T5_naive),
        cmocka_unit_test(test_float_statistics_naive),
        cmocka_unit_test(test_orthonormal_weights_hand),
        cmocka_unit_test(test_angle_parallel_antiparallel),
        cmocka_unit_test(test_angle_orthogonal),
        cmocka_unit_test(test_angle_nan_is_zero),
        cmocka_unit_test(test_sym_angles_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
