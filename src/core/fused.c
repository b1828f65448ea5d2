#include "fused.h"

#include <string.h>

/* Compiled for AVX2+FMA as well as the baseline; the loader picks what the CPU has. */
#if defined(__x86_64__) && defined(__GNUC__)
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MULTIVERSION
#endif

/* 32-byte vectors (AVX; two SSE registers on the baseline), loaded unaligned. */
typedef real vec __attribute__((vector_size(32)));
enum { VL = 32 / sizeof(real) };

static inline vec load(const real *p) {
    vec v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Dot product with four independent vector sums: a single running sum would make
 * every addition wait for the previous one. */
static inline real dot(const real *a, const real *b, int n) {
    vec s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    int j = 0;
    for (; j + 4 * VL <= n; j += 4 * VL) {
        s0 += load(a + j) * load(b + j);
        s1 += load(a + j + VL) * load(b + j + VL);
        s2 += load(a + j + 2 * VL) * load(b + j + 2 * VL);
        s3 += load(a + j + 3 * VL) * load(b + j + 3 * VL);
    }
    for (; j + VL <= n; j += VL) s0 += load(a + j) * load(b + j);
    vec s = (s0 + s1) + (s2 + s3);
    real r = 0;
    for (int k = 0; k < VL; k++) r += s[k];
    for (; j < n; j++) r += a[j] * b[j];
    return r;
}

/* Row by row: every product while the row is in L1. */
MULTIVERSION
void MP_SFX(fused_sweep)(const real *M, int rows, int cols, const fused_ops *op) {
    for (int i = 0; i < rows; i++) {
        const real *row = M + (size_t)i * (size_t)cols;
        for (int k = 0; k < op->n_right; k++) op->y_right[k][i] += dot(row, op->x_right[k], cols);
        for (int k = 0; k < op->n_left; k++) {
            const real a = op->x_left[k][i];
            real *y = op->y_left[k];
#pragma omp simd
            for (int j = 0; j < cols; j++) y[j] += a * row[j];
        }
    }
}

void MP_SFX(fused_right)(fused_ops *op, const real *x, real *y) {
    op->x_right[op->n_right] = x;
    op->y_right[op->n_right++] = y;
}

void MP_SFX(fused_left)(fused_ops *op, const real *x, real *y) {
    op->x_left[op->n_left] = x;
    op->y_left[op->n_left++] = y;
}
