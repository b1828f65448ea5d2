/* The inputs of the golden episodes (docs/METHOD.md, "Golden episodes"), defined by formulas (indices start at 1 there). */
#ifndef METAPLAST_GOLDEN_INPUTS_H
#define METAPLAST_GOLDEN_INPUTS_H

#include <math.h>
#include <stdlib.h>

#include "model/core.h"
#include "model/rules.h"

static const int golden_widths[MP_LAYERS + 1] = {784, 170, 130, 100, 70, 47};

typedef struct {
    mp_arch arch;
    double *W, *B, *x_train, *x_query;
    int y_train[128], y_query[128];
    int T, NQ;
} golden_inputs;

static inline void golden_inputs_make(golden_inputs *g, int sym, const int *vec, int nvec, int T, int NQ) {
    for (int l = 0; l <= MP_LAYERS; l++) g->arch.n[l] = golden_widths[l];
    g->arch.feedback = sym ? MP_FEEDBACK_SYMMETRIC : MP_FEEDBACK_FIXED;
    g->arch.terms = mp_rule_mask(vec, nvec);
    g->T = T, g->NQ = NQ;
    size_t nw = mp_arch_weight_count(&g->arch);
    g->W = malloc(nw * sizeof(double));
    g->B = malloc(nw * sizeof(double));
    for (int l = 1; l <= MP_LAYERS; l++) {
        const int *n = g->arch.n;
        double r = sqrt(6.0 / (n[l - 1] + n[l]));
        size_t off = mp_arch_offset(&g->arch, l);
        for (int i = 1; i <= n[l]; i++)
            for (int j = 1; j <= n[l - 1]; j++) {
                size_t k = off + (size_t)(i - 1) * n[l - 1] + (j - 1);
                g->W[k] = r * sin(1.0 + 0.37 * i + 0.91 * j + 1.3 * l);
                g->B[k] = r * cos(2.0 + 0.53 * i + 0.29 * j + 0.7 * l);
            }
    }
    int n0 = g->arch.n[0];
    g->x_train = malloc((size_t)T * n0 * sizeof(double));
    g->x_query = malloc((size_t)NQ * n0 * sizeof(double));
    for (int t = 0; t < T; t++) {
        for (int k = 1; k <= n0; k++) g->x_train[(size_t)t * n0 + k - 1] = 0.5 + 0.5 * sin(0.11 * k * (t + 1) + 0.3 * t);
        g->y_train[t] = (7 * t + 3) % 47;
    }
    for (int q = 0; q < NQ; q++) {
        for (int k = 1; k <= n0; k++) g->x_query[(size_t)q * n0 + k - 1] = 0.5 + 0.5 * cos(0.07 * k * (q + 2) + 0.5 * q);
        g->y_query[q] = (11 * q + 5) % 47;
    }
}

static inline void golden_inputs_free(golden_inputs *g) {
    free(g->W), free(g->B), free(g->x_train), free(g->x_query);
}

static inline float *to_float(const double *v, size_t n) {
    float *f = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) f[i] = (float)v[i];
    return f;
}

#endif
