#include "model/fused.h"

#include <stdlib.h>
#include <string.h>

#include "metaplast/util.h"

/* 32-byte vectors (AVX; two SSE registers on the baseline), loaded unaligned. */
typedef real vec __attribute__((vector_size(32)));
enum { VL = 32 / sizeof(real) };

static inline vec load(const real *p) {
    vec v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store(real *p, vec v) { memcpy(p, &v, sizeof v); }

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

enum { BLOCK = 4 }; /* rows per block: each load of x or y serves four rows */

/* y_i += row_i . x for the BLOCK rows at M (stride cols). */
static inline void right_block(const real *M, int cols, const real *x, real *y) {
    const real *r0 = M, *r1 = M + cols, *r2 = M + 2 * (size_t)cols, *r3 = M + 3 * (size_t)cols;
    vec s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    int j = 0;
    for (; j + VL <= cols; j += VL) {
        vec xv = load(x + j);
        s0 += load(r0 + j) * xv, s1 += load(r1 + j) * xv;
        s2 += load(r2 + j) * xv, s3 += load(r3 + j) * xv;
    }
    real t[BLOCK] = {0};
    for (int e = 0; e < VL; e++) t[0] += s0[e], t[1] += s1[e], t[2] += s2[e], t[3] += s3[e];
    for (; j < cols; j++) t[0] += r0[j] * x[j], t[1] += r1[j] * x[j], t[2] += r2[j] * x[j], t[3] += r3[j] * x[j];
    for (int b = 0; b < BLOCK; b++) y[b] += t[b];
}

/* y += sum_b a_b row_b over the BLOCK rows at M. */
static inline void left_block(const real *M, int cols, const real *a, real *y) {
    const real *r0 = M, *r1 = M + cols, *r2 = M + 2 * (size_t)cols, *r3 = M + 3 * (size_t)cols;
    const real a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    int j = 0;
    for (; j + VL <= cols; j += VL) {
        vec yv = load(y + j);
        yv += a0 * load(r0 + j) + a1 * load(r1 + j) + a2 * load(r2 + j) + a3 * load(r3 + j);
        store(y + j, yv);
    }
    for (; j < cols; j++) y[j] += a0 * r0[j] + a1 * r1[j] + a2 * r2[j] + a3 * r3[j];
}

/* Two right products at once: eight independent sums instead of four. */
static inline void right_block2(const real *M, int cols, const real *x, real *y, const real *xx, real *yy) {
    const real *r0 = M, *r1 = M + cols, *r2 = M + 2 * (size_t)cols, *r3 = M + 3 * (size_t)cols;
    vec s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, u0 = {0}, u1 = {0}, u2 = {0}, u3 = {0};
    int j = 0;
    for (; j + VL <= cols; j += VL) {
        vec a = load(r0 + j), b = load(r1 + j), c = load(r2 + j), d = load(r3 + j);
        vec xv = load(x + j), xw = load(xx + j);
        s0 += a * xv, s1 += b * xv, s2 += c * xv, s3 += d * xv;
        u0 += a * xw, u1 += b * xw, u2 += c * xw, u3 += d * xw;
    }
    real t[BLOCK] = {0}, w[BLOCK] = {0};
    for (int e = 0; e < VL; e++) {
        t[0] += s0[e], t[1] += s1[e], t[2] += s2[e], t[3] += s3[e];
        w[0] += u0[e], w[1] += u1[e], w[2] += u2[e], w[3] += u3[e];
    }
    for (; j < cols; j++) {
        t[0] += r0[j] * x[j], t[1] += r1[j] * x[j], t[2] += r2[j] * x[j], t[3] += r3[j] * x[j];
        w[0] += r0[j] * xx[j], w[1] += r1[j] * xx[j], w[2] += r2[j] * xx[j], w[3] += r3[j] * xx[j];
    }
    for (int k = 0; k < BLOCK; k++) y[k] += t[k], yy[k] += w[k];
}

/* Two left products at once: each row is loaded once for both. */
static inline void left_block2(const real *M, int cols, const real *a, real *y, const real *aa, real *yy) {
    const real *r0 = M, *r1 = M + cols, *r2 = M + 2 * (size_t)cols, *r3 = M + 3 * (size_t)cols;
    const real a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], b0 = aa[0], b1 = aa[1], b2 = aa[2], b3 = aa[3];
    int j = 0;
    for (; j + VL <= cols; j += VL) {
        vec p = load(r0 + j), q = load(r1 + j), r = load(r2 + j), s = load(r3 + j);
        store(y + j, load(y + j) + ((a0 * p + a1 * q) + (a2 * r + a3 * s)));
        store(yy + j, load(yy + j) + ((b0 * p + b1 * q) + (b2 * r + b3 * s)));
    }
    for (; j < cols; j++) {
        y[j] += a0 * r0[j] + a1 * r1[j] + a2 * r2[j] + a3 * r3[j];
        yy[j] += b0 * r0[j] + b1 * r1[j] + b2 * r2[j] + b3 * r3[j];
    }
}

/* A right and a left product at once: each row loaded once for both. */
static inline void right_left_block(const real *M, int cols, const real *x, real *y, const real *a, real *yl) {
    const real *r0 = M, *r1 = M + cols, *r2 = M + 2 * (size_t)cols, *r3 = M + 3 * (size_t)cols;
    const real a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    vec s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    int j = 0;
    for (; j + VL <= cols; j += VL) {
        vec p = load(r0 + j), q = load(r1 + j), r = load(r2 + j), s = load(r3 + j), xv = load(x + j);
        s0 += p * xv, s1 += q * xv, s2 += r * xv, s3 += s * xv;
        store(yl + j, load(yl + j) + ((a0 * p + a1 * q) + (a2 * r + a3 * s)));
    }
    real t[BLOCK] = {0};
    for (int e = 0; e < VL; e++) t[0] += s0[e], t[1] += s1[e], t[2] += s2[e], t[3] += s3[e];
    for (; j < cols; j++) {
        t[0] += r0[j] * x[j], t[1] += r1[j] * x[j], t[2] += r2[j] * x[j], t[3] += r3[j] * x[j];
        yl[j] += a0 * r0[j] + a1 * r1[j] + a2 * r2[j] + a3 * r3[j];
    }
    for (int b = 0; b < BLOCK; b++) y[b] += t[b];
}

/* Four rows at a time, every product while they are in L1, two at once where it can
 * (two of a side, or one of each); then the last rows one by one. */
MP_MULTIVERSION
void fused_sweep(const real *M, int rows, int cols, const fused_ops *op) {
    int i = 0;
    for (; i + BLOCK <= rows; i += BLOCK) {
        const real *rows4 = M + (size_t)i * (size_t)cols;
        int r = 0, l = 0;
        for (; r + 2 <= op->n_right; r += 2)
            right_block2(rows4, cols, op->x_right[r], op->y_right[r] + i, op->x_right[r + 1], op->y_right[r + 1] + i);
        for (; l + 2 <= op->n_left; l += 2)
            left_block2(rows4, cols, op->x_left[l] + i, op->y_left[l], op->x_left[l + 1] + i, op->y_left[l + 1]);
        if (r < op->n_right && l < op->n_left) {
            right_left_block(rows4, cols, op->x_right[r], op->y_right[r] + i, op->x_left[l] + i, op->y_left[l]);
            r++, l++;
        }
        for (; r < op->n_right; r++) right_block(rows4, cols, op->x_right[r], op->y_right[r] + i);
        for (; l < op->n_left; l++) left_block(rows4, cols, op->x_left[l] + i, op->y_left[l]);
    }
    for (; i < rows; i++) {
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

void fused_right(fused_ops *op, const real *x, real *y) {
    if (op->n_right == FUSED_MAX) abort(); /* a programming error: more products than a sweep holds */
    op->x_right[op->n_right] = x;
    op->y_right[op->n_right++] = y;
}

void fused_left(fused_ops *op, const real *x, real *y) {
    if (op->n_left == FUSED_MAX) abort(); /* a programming error: more products than a sweep holds */
    op->x_left[op->n_left] = x;
    op->y_left[op->n_left++] = y;
}

void fused_split_init(fused_split *sp, mp_worker *worker, int cols_max) {
    sp->worker = worker;
    sp->cols_max = cols_max;
    for (int k = 0; k < FUSED_MAX; k++) sp->partial[k] = mp_malloc((size_t)cols_max * sizeof(real));
}

void fused_split_free(fused_split *sp) {
    for (int k = 0; k < FUSED_MAX; k++) free(sp->partial[k]);
}

int fused_is_split(int rows, int cols) { return (long)rows * cols >= FUSED_SPLIT_MIN && rows >= 2 * BLOCK; }

static void sweep_part(void *arg, int part) {
    const fused_split_job *j = arg;
    if (part == 0) {
        fused_sweep(j->M, j->half, j->cols, j->op);
        return;
    }
    fused_ops op = *j->op;
    for (int k = 0; k < op.n_right; k++) op.y_right[k] += j->half;
    for (int k = 0; k < op.n_left; k++) {
        op.x_left[k] += j->half;
        op.y_left[k] = j->sp->partial[k];
        memset(op.y_left[k], 0, (size_t)j->cols * sizeof(real));
    }
    fused_sweep(j->M + (size_t)j->half * (size_t)j->cols, j->rows - j->half, j->cols, &op);
}

void fused_split_begin(fused_split_job *job, const fused_split *sp, const real *M, int rows, int cols,
                               const fused_ops *op) {
    if (!sp || !fused_is_split(rows, cols)) {
        fused_sweep(M, rows, cols, op);
        job->sp = NULL;
        return;
    }
    if (cols > sp->cols_max) abort(); /* a caller's bug: the work space is too small */
    *job = (fused_split_job){sp, M, rows, cols, (rows / 2 + BLOCK - 1) / BLOCK * BLOCK, op};
    mp_worker_submit(sp->worker, sweep_part, job);
    sweep_part(job, 0);
}

void fused_split_end(const fused_split_job *job) {
    if (!job->sp) return;
    mp_worker_wait(job->sp->worker);
    for (int k = 0; k < job->op->n_left; k++) {
        real *y = job->op->y_left[k];
        const real *p = job->sp->partial[k];
#pragma omp simd
        for (int c = 0; c < job->cols; c++) y[c] += p[c];
    }
}

void fused_sweep_split(const fused_split *sp, const real *M, int rows, int cols, const fused_ops *op) {
    fused_split_job job;
    fused_split_begin(&job, sp, M, rows, cols, op);
    fused_split_end(&job);
}
