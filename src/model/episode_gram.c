/* Gram mode: the input layer without passes over W1 or dL/dW1.
 *
 * When every term's right factor at the input layer is the input itself (the default
 * rule, fixed or symmetric feedback), W1_t = W1_0 + sum_{s<t} d_s x_s^T, so
 * W1_t x_t = W1_0 x_t + sum_{s<t} d_s (x_s . x_t): one matrix product with W1_0 and the
 * inputs' Gram matrix X X^T replace every step's pass over W1, and the same holds for
 * dL/dW1 in the reverse sweep. Used up to MP_GRAM_T_MAX steps (core.h says why). */
#include <string.h>

#include "model/episode_internal.h"

/* Step t's update of W1 is d_t x_t^T, d_t = sum_k sign_k theta_k left_k. */
void gram_update_vector(episode *ep, int t) {
    const int n1 = ep->arch.n[1];
    layer_signals s = signals_at(ep, t, 1);
    real *d = ep->gram_d + (size_t)t * (size_t)n1;
    memset(d, 0, (size_t)n1 * sizeof(real));
    for (int k = 0; k < MP_RULE_COUNT; k++)
        if (term_on(ep, k))
            cblas_xaxpy(n1, (real)(mp_rule_pool[k].sign * ep->theta[k]), left_factor(&s, mp_rule_pool[k].left), 1, d, 1);
}

/* The sums over earlier (forward) or later (reverse) steps come in blocks of steps: at a
 * block's first step, one matrix product adds every step outside the block to the base
 * products of all the block's steps; each step then sums only over its own block. This
 * reads the stored vectors once per block instead of once per step. */
enum { GRAM_BLOCK = 32 };

/* z = W1_t x_t = W1_0 x_t + sum_{s<t} d_s (x_s . x_t) */
void gram_forward_product(const episode *ep, int t, real *z) {
    const int n1 = ep->arch.n[1], T = ep->T, t0 = t / GRAM_BLOCK * GRAM_BLOCK;
    const real *xx = ep->gram_xx;
    real *base = ep->gram_base;
    if (t == t0 && t0 > 0) {
        int rows = T - t0 < GRAM_BLOCK ? T - t0 : GRAM_BLOCK;
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n1, t0, 1, xx + (size_t)t0 * T, T, ep->gram_d,
                    n1, 1, base + (size_t)t0 * n1, n1);
    }
    memcpy(z, base + (size_t)t * n1, (size_t)n1 * sizeof(real));
    if (t > t0)
        cblas_xgemv(CblasRowMajor, CblasTrans, t - t0, n1, 1, ep->gram_d + (size_t)t0 * n1, n1,
                    xx + (size_t)t * T + t0, 1, 1, z, 1);
}

/* q = dL/dW1_{t+1} x_t = dL/dW1_T x_t + sum_{s>t} zbar1_s (x_s . x_t) */
void gram_reverse_product(const episode *ep, int t, real *q) {
    const int n1 = ep->arch.n[1], T = ep->T, t0 = t / GRAM_BLOCK * GRAM_BLOCK;
    const int t_end = T - t0 < GRAM_BLOCK ? T : t0 + GRAM_BLOCK, later = t_end - 1 - t;
    const real *xx = ep->gram_xx;
    real *base = ep->gram_base;
    if (t == t_end - 1 && t_end < T)
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t_end - t0, n1, T - t_end, 1,
                    xx + (size_t)t0 * T + t_end, T, ep->gram_zbar + (size_t)t_end * n1, n1, 1,
                    base + (size_t)t0 * n1, n1);
    memcpy(q, base + (size_t)t * n1, (size_t)n1 * sizeof(real));
    if (later > 0)
        cblas_xgemv(CblasRowMajor, CblasTrans, later, n1, 1, ep->gram_zbar + (size_t)(t + 1) * n1, n1,
                    xx + (size_t)t * T + t + 1, 1, 1, q, 1);
}

/* Before the steps: X X^T (both triangles) and W1_0 x_t for every step, two matrix
 * products independent of each other (with a worker thread, one each). */
static void gram_start_part(void *arg, int part) {
    episode *ep = arg;
    const int T = ep->T, n0 = ep->arch.n[0], n1 = ep->arch.n[1];
    if (part == 0) {
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n1, n0, 1, ep->x_step, n0, ep->W + ep->woff[1], n0,
                    0, ep->gram_base, n1);
        return;
    }
    cblas_xsyrk(CblasRowMajor, CblasLower, CblasNoTrans, T, n0, 1, ep->x_step, n0, 0, ep->gram_xx, T);
    for (int i = 0; i < T; i++)
        for (int j = i + 1; j < T; j++) ep->gram_xx[(size_t)i * T + j] = ep->gram_xx[(size_t)j * T + i];
}

void gram_start(episode *ep) { mp_worker_split(ep->split.worker, gram_start_part, ep); }

/* After the steps: W1_T = W1_0 + sum_t d_t x_t^T, dense, for the query; in two halves of
 * rows (one on the worker). */
static void gram_finish_part(void *arg, int part) {
    episode *ep = arg;
    const int n0 = ep->arch.n[0], n1 = ep->arch.n[1], half = n1 / 2;
    const int first = part ? half : 0, rows = part ? n1 - half : half;
    cblas_xgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, n0, ep->T, 1, ep->gram_d + first, n1, ep->x_step, n0,
                1, ep->W + ep->woff[1] + (size_t)first * n0, n0);
}

void gram_finish(episode *ep) { mp_worker_split(ep->split.worker, gram_finish_part, ep); }

/* After the query's backward pass, whose layer-1 adjoints Zq (NQ x n1) would give
 * dL/dW1_T = Zq^T Xq: the reverse sweep's base products dL/dW1_T x_t = Zq^T (Xq x_t). */
void gram_reverse_start(episode *ep, const real *xq, int NQ, const real *Zq) {
    const int T = ep->T, n0 = ep->arch.n[0], n1 = ep->arch.n[1];
    cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasTrans, NQ, T, n0, 1, xq, n0, ep->x_step, n0, 0, ep->gram_qx, T);
    cblas_xgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, n1, NQ, 1, ep->gram_qx, T, Zq, n1, 0, ep->gram_base, n1);
}
