/* The per-episode statistics on the query set (docs/METHOD.md): E1_l, the orthonormality
 * error of each layer, and angle_l, the angle between the query-mean error signal
 * through the feedback B and through W itself (the backprop signal). */
#include <string.h>
#include <tgmath.h>

#include "model/episode_internal.h"

static double angle_degrees(const real *a, const real *b, int n, int NQ) {
    /* angle between the query means of two NQ x n matrices */
    double dot = 0, na = 0, nb = 0;
    for (int j = 0; j < n; j++) {
        double ma = 0, mb = 0;
        for (int q = 0; q < NQ; q++) ma += (double)a[(size_t)q * n + j], mb += (double)b[(size_t)q * n + j];
        dot += ma * mb, na += ma * ma, nb += mb * mb;
    }
    double c = dot / sqrt(na * nb); /* exactly 1 for identical vectors (sym) */
    if (c != c) return 0; /* NaN (a zero mean) becomes 0 */
    return acos(c > 1 ? 1 : c < -1 ? -1 : c) * 180.0 / 3.14159265358979323846;
}

/* E1 and the angles between FA (through B) and BP (through W) query-mean error signals,
 * for the adapted weights W. */
void query_statistics(episode *ep, const real *W, const real *xq, const int *yq, int NQ, mp_episode_out *out) {
    const int *n = ep->arch.n;
    for (int l = 1; l <= L; l++) {
        const real *Yin = l == 1 ? xq : ep->Y[l - 1];
        const real *Wl = W + ep->woff[l];
        memcpy(ep->D, Yin, (size_t)NQ * n[l - 1] * sizeof(real));
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NQ, n[l - 1], n[l], -1, ep->Y[l], n[l], Wl,
                    n[l - 1], 1, ep->D, n[l - 1]);
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasTrans, NQ, n[l], n[l - 1], 1, ep->D, n[l - 1], Wl, n[l - 1], 0,
                    ep->F, n[l]);
        double e1 = 0;
        for (size_t i = 0; i < (size_t)NQ * n[l]; i++) e1 += (double)ep->F[i] * (double)ep->F[i];
        out->E1[l - 1] = e1;
    }
    real *EB = ep->Etmp[0], *EW = ep->Wtmp[0];
    for (int q = 0; q < NQ; q++)
        for (int i = 0; i < n[L]; i++) {
            size_t k = (size_t)q * n[L] + i;
            EB[k] = EW[k] = ep->Y[L][k] - (i == yq[q]);
        }
    out->angle[L] = 0;
    mp_feedback_slope(xq, ep->S[0], NQ * n[0]);
    for (int l = L - 1, cur = 0; l >= 0; l--, cur ^= 1) {
        real *nb = ep->Etmp[cur ^ 1], *nw = ep->Wtmp[cur ^ 1];
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NQ, n[l], n[l + 1], 1, ep->Etmp[cur], n[l + 1],
                    ep->arch.feedback == MP_FEEDBACK_SYMMETRIC ? W + ep->woff[l + 1] : fixed_B(ep, -1, l + 1), n[l], 0, nb, n[l]);
        cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NQ, n[l], n[l + 1], 1, ep->Wtmp[cur], n[l + 1],
                    W + ep->woff[l + 1], n[l], 0, nw, n[l]);
        for (size_t i = 0; i < (size_t)NQ * n[l]; i++) nb[i] *= ep->S[l][i], nw[i] *= ep->S[l][i];
        out->angle[l] = angle_degrees(nb, nw, n[l], NQ);
    }
}

void stats_part(void *arg, int part) {
    const stats_job *j = arg;
    if (part == 1) query_statistics(j->ep, j->ep->W_stats, j->xq, j->yq, j->NQ, j->out);
}
