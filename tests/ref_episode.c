/* The naive reference of docs/METHOD.md (see ref_episode.h): plain loops, no BLAS, no
 * shortcuts. Every step W_t -> W_{t+1} is kept, and the meta-gradient is the plain
 * reverse recursion over them. Notation: n_l widths, b = REF_BETA, W_l and B_l the
 * matrices of layer l, adjoints written xbar = dL/dx. */
#include "ref_episode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- dense helpers on an A of rows x cols, row-major ------------------------------- */
static void mv(const double *A, int rows, int cols, double alpha, const double *x, double *y) { /* y += a A x */
    for (int i = 0; i < rows; i++) {
        double acc = 0;
        for (int j = 0; j < cols; j++) acc += A[(size_t)i * cols + j] * x[j];
        y[i] += alpha * acc;
    }
}
static void mtv(const double *A, int rows, int cols, double alpha, const double *x, double *y) { /* y += a A^T x */
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) y[j] += alpha * A[(size_t)i * cols + j] * x[i];
}
static void outer(double *A, int rows, int cols, double alpha, const double *u, const double *v) { /* A += a u v^T */
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) A[(size_t)i * cols + j] += alpha * u[i] * v[j];
}
static void copy(double *dst, const double *src, int n) { memcpy(dst, src, (size_t)n * sizeof(double)); }
static void fill(double *dst, double value, int n) {
    for (int i = 0; i < n; i++) dst[i] = value;
}
static void add(double *dst, const double *src, int n) {
    for (int i = 0; i < n; i++) dst[i] += src[i];
}
static int widest(const ref_net *net) {
    int m = 1;
    for (int l = 0; l <= REF_LAYERS; l++) m = net->n[l] > m ? net->n[l] : m;
    return m;
}

/* --- the nonlinearities -------------------------------------------------------------- */
static double softplus(double z) { /* log(1 + exp(b z)) / b; z itself where b z > 20 */
    double bz = REF_BETA * z;
    return bz > REF_THRESHOLD ? z : log1p(exp(bz)) / REF_BETA;
}
static double softplus_slope(double z) { /* dy/dz: sigmoid(b z), 1 on the linear branch */
    double bz = REF_BETA * z;
    return bz > REF_THRESHOLD ? 1 : 1 / (1 + exp(-bz));
}
static double feedback_factor(double y) { return -expm1(-REF_BETA * y); } /* 1 - exp(-b y) */

size_t ref_offset(const ref_net *net, int l) {
    size_t off = 0;
    for (int i = 1; i < l; i++) off += (size_t)net->n[i] * (size_t)net->n[i - 1];
    return off;
}

static size_t signals_length(const ref_net *net) {
    size_t total = 0;
    for (int l = 0; l <= REF_LAYERS; l++) total += (size_t)net->n[l];
    return 4 * total;
}
void ref_signals_alloc(const ref_net *net, ref_signals *s) {
    double *p = calloc(signals_length(net), sizeof(double)); /* s->z[0] is the block */
    for (int l = 0; l <= REF_LAYERS; l++) {
        s->z[l] = p, p += net->n[l];
        s->y[l] = p, p += net->n[l];
        s->fb[l] = p, p += net->n[l];
        s->e[l] = p, p += net->n[l];
    }
}
static void signals_zero(const ref_net *net, ref_signals *s) { fill(s->z[0], 0, (int)signals_length(net)); }
void ref_signals_free(ref_signals *s) { free(s->z[0]); }

/* --- one sample forward: z_l = W_l y_{l-1}, y_l = softplus(z_l), p = softmax(z_5) ---- */
void ref_forward(const ref_net *net, const double *W, const double *x, ref_signals *s) {
    const int *n = net->n;
    copy(s->y[0], x, n[0]);
    for (int l = 1; l <= REF_LAYERS; l++) {
        fill(s->z[l], 0, n[l]);
        mv(W + ref_offset(net, l), n[l], n[l - 1], 1, s->y[l - 1], s->z[l]);
        if (l < REF_LAYERS)
            for (int i = 0; i < n[l]; i++) s->y[l][i] = softplus(s->z[l][i]);
    }
    const double *z = s->z[REF_LAYERS];
    double *p = s->y[REF_LAYERS], zmax = z[0], sum = 0;
    for (int i = 1; i < n[REF_LAYERS]; i++) zmax = fmax(zmax, z[i]);
    for (int i = 0; i < n[REF_LAYERS]; i++) sum += exp(z[i] - zmax);
    for (int i = 0; i < n[REF_LAYERS]; i++) p[i] = exp(z[i] - zmax) / sum;
}

/* --- error signals: e_5 = p - onehot, e_l = (B_{l+1}^T e_{l+1}) * (1 - exp(-b y_l)) -- */
void ref_error_signals(const ref_net *net, const double *B, int label, ref_signals *s) {
    const int *n = net->n;
    copy(s->e[REF_LAYERS], s->y[REF_LAYERS], n[REF_LAYERS]);
    s->e[REF_LAYERS][label] -= 1;
    for (int l = REF_LAYERS - 1; l >= 0; l--) {
        fill(s->fb[l], 0, n[l]);
        mtv(B + ref_offset(net, l + 1), n[l + 1], n[l], 1, s->e[l + 1], s->fb[l]);
        for (int j = 0; j < n[l]; j++) s->e[l][j] = s->fb[l][j] * feedback_factor(s->y[l][j]);
    }
}

/* --- the rule pool: term k at layer l as u v^T (docs/METHOD.md's table; terms 3..9 are the project's candidate pool) ----------------
 * post = y_l (y_5 = p), pre = y_{l-1}, epost = e_l, epre = e_{l-1}, W = W_l. */
double ref_term(const ref_net *net, int k, int l, const double *W, const ref_signals *s, double *u, double *v) {
    int no = net->n[l], ni = net->n[l - 1];
    const double *Wl = W + ref_offset(net, l);
    const double *post = s->y[l], *pre = s->y[l - 1], *epost = s->e[l], *epre = s->e[l - 1];
    fill(u, 0, no), fill(v, 0, ni);
    switch (k) {
    case 0: copy(u, epost, no), copy(v, pre, ni); return -1;          /* pseudo-gradient */
    case 1: copy(u, epost, no), copy(v, epre, ni); return -1;         /* eHebb */
    case 2:                                                            /* Oja */
        copy(u, post, no), copy(v, pre, ni), mtv(Wl, no, ni, -1, post, v); return +1;
    case 3: copy(u, post, no), copy(v, epre, ni); return -1;          /* post activity x pre error */
    case 4: copy(u, epost, no), fill(v, 1, ni); return -1;            /* post error, broadcast */
    case 5: copy(u, epost, no), mtv(Wl, no, ni, 1, post, v); return -1;   /* e_l (W^T y_l)^T */
    case 6: fill(u, 1, no), copy(v, epre, ni); return -1;             /* pre error, broadcast */
    case 7: copy(u, post, no), mtv(Wl, no, ni, 1, epost, v); return -1;   /* y_l (W^T e_l)^T */
    case 8: copy(u, epost, no), mtv(Wl, no, ni, 1, epost, v); return -1;  /* e_l (W^T e_l)^T */
    case 9: mv(Wl, no, ni, 1, epre, u), copy(v, epre, ni); return -1;     /* (W e_{l-1}) e_{l-1}^T */
    }
    return 0;
}

/* The reverse of ref_term: from ubar = dL/du and vbar = dL/dv, adds to the signals'
 * adjoints a and, for the terms that contain W_l, to D_l = dL/dW_l. */
static void term_reverse(const ref_net *net, int k, int l, const double *W, const ref_signals *s,
                         const double *ubar, const double *vbar, ref_signals *a, double *D) {
    int no = net->n[l], ni = net->n[l - 1];
    const double *Wl = W + ref_offset(net, l);
    double *Dl = D + ref_offset(net, l);
    switch (k) {
    case 0: add(a->e[l], ubar, no), add(a->y[l - 1], vbar, ni); break;
    case 1: add(a->e[l], ubar, no), add(a->e[l - 1], vbar, ni); break;
    case 2: /* v = y_{l-1} - W^T y_l */
        add(a->y[l], ubar, no), add(a->y[l - 1], vbar, ni);
        mv(Wl, no, ni, -1, vbar, a->y[l]), outer(Dl, no, ni, -1, s->y[l], vbar); break;
    case 3: add(a->y[l], ubar, no), add(a->e[l - 1], vbar, ni); break;
    case 4: add(a->e[l], ubar, no); break;
    case 5: add(a->e[l], ubar, no), mv(Wl, no, ni, 1, vbar, a->y[l]), outer(Dl, no, ni, 1, s->y[l], vbar); break;
    case 6: add(a->e[l - 1], vbar, ni); break;
    case 7: add(a->y[l], ubar, no), mv(Wl, no, ni, 1, vbar, a->e[l]), outer(Dl, no, ni, 1, s->e[l], vbar); break;
    case 8: add(a->e[l], ubar, no), mv(Wl, no, ni, 1, vbar, a->e[l]), outer(Dl, no, ni, 1, s->e[l], vbar); break;
    case 9: /* u = W e_{l-1} */
        mtv(Wl, no, ni, 1, ubar, a->e[l - 1]), outer(Dl, no, ni, 1, ubar, s->e[l - 1]);
        add(a->e[l - 1], vbar, ni); break;
    }
}

/* --- one plasticity step: W_next = W + sum_l sum_k sign_k theta_k u v^T --------------- */
void ref_update(const ref_net *net, const double *W, const double *theta, const ref_signals *s, double *W_next) {
    memcpy(W_next, W, ref_offset(net, REF_LAYERS + 1) * sizeof(double));
    double *u = malloc((size_t)widest(net) * sizeof(double)), *v = malloc((size_t)widest(net) * sizeof(double));
    for (int l = 1; l <= REF_LAYERS; l++)
        for (int k = 0; k < REF_THETAS; k++)
            if (net->terms & 1u << k) {
                double sign = ref_term(net, k, l, W, s, u, v); /* from W, not W_next */
                outer(W_next + ref_offset(net, l), net->n[l], net->n[l - 1], sign * theta[k], u, v);
            }
    free(u), free(v);
}

/* The reverse of ref_forward: from dL/dz_5 in a->z[5] and the adjoints a->y[1..4] of
 * the activations (from elsewhere), adds dL/dW_l = zbar_l y_{l-1}^T to D. */
static void forward_reverse(const ref_net *net, const double *W, const ref_signals *s, ref_signals *a, double *D) {
    const int *n = net->n;
    for (int l = REF_LAYERS; l >= 1; l--) {
        outer(D + ref_offset(net, l), n[l], n[l - 1], 1, a->z[l], s->y[l - 1]);
        if (l == 1) break;
        mtv(W + ref_offset(net, l), n[l], n[l - 1], 1, a->z[l], a->y[l - 1]);
        for (int j = 0; j < n[l - 1]; j++) a->z[l - 1][j] = a->y[l - 1][j] * softplus_slope(s->z[l - 1][j]);
    }
}

/* --- query: mean cross-entropy + lamb * sum|theta_k|, accuracy, dL/dW ---------------- */
double ref_query_loss(const ref_net *net, const double *W, const double *theta, double lamb, const double *x,
                      const int *labels, int NQ, double *accuracy, double *Wbar) {
    const int C = net->n[REF_LAYERS];
    ref_signals s, a;
    ref_signals_alloc(net, &s), ref_signals_alloc(net, &a);
    double xent = 0, l1 = 0;
    int hits = 0;
    for (int q = 0; q < NQ; q++) {
        ref_forward(net, W, x + (size_t)q * net->n[0], &s);
        const double *z = s.z[REF_LAYERS];
        int c = labels[q], best = 0;
        for (int i = 1; i < C; i++)
            if (z[i] > z[best]) best = i;
        double sum = 0;
        for (int i = 0; i < C; i++) sum += exp(z[i] - z[best]);
        xent += log(sum) - (z[c] - z[best]);
        hits += best == c;
        if (Wbar) { /* dL/dz_5 = (p - onehot) / NQ */
            signals_zero(net, &a);
            for (int i = 0; i < C; i++) a.z[REF_LAYERS][i] = (s.y[REF_LAYERS][i] - (i == c)) / NQ;
            forward_reverse(net, W, &s, &a, Wbar);
        }
    }
    for (int k = 0; k < REF_THETAS; k++) l1 += fabs(theta[k]);
    ref_signals_free(&s), ref_signals_free(&a);
    *accuracy = NQ > 0 ? (double)hits / NQ : 0;
    return xent / NQ + lamb * l1;
}

/* The reverse of ref_error_signals, B constant: a->e[0..4] -> a->fb -> a->e above and
 * a->y (through the factor 1 - exp(-b y), whose derivative is b exp(-b y)); a->e[5]
 * -> a->y[5] (= dL/dp). The input y_0 = x is a constant. */
static void error_reverse(const ref_net *net, const double *B, const ref_signals *s, ref_signals *a) {
    const int *n = net->n;
    for (int l = 0; l < REF_LAYERS; l++) {
        for (int j = 0; j < n[l]; j++) {
            a->fb[l][j] = a->e[l][j] * feedback_factor(s->y[l][j]);
            if (l > 0) a->y[l][j] += a->e[l][j] * s->fb[l][j] * REF_BETA * exp(-REF_BETA * s->y[l][j]);
        }
        mv(B + ref_offset(net, l + 1), n[l + 1], n[l], 1, a->fb[l], a->e[l + 1]);
    }
    add(a->y[REF_LAYERS], a->e[REF_LAYERS], n[REF_LAYERS]);
}

/* --- the reverse of one step: G = dL/dW_{t+1} -> dL/dW_t, dL/dtheta ------------------
 * dL/dW_t = G + D, D collecting every path through step t's signals and W_t's factors. */
void ref_step_reverse(const ref_net *net, const double *W, const double *B, const double *theta, const double *x,
                      int label, double *G, double grad[REF_THETAS]) {
    const int *n = net->n, C = n[REF_LAYERS];
    size_t len = ref_offset(net, REF_LAYERS + 1), m = (size_t)widest(net);
    ref_signals s, a;
    ref_signals_alloc(net, &s), ref_signals_alloc(net, &a);
    ref_forward(net, W, x, &s); /* the step's signals again, from W_t */
    ref_error_signals(net, B, label, &s);
    double *D = calloc(len, sizeof(double)), *u = malloc(m * sizeof(double)), *v = malloc(m * sizeof(double));
    double *ubar = malloc(m * sizeof(double)), *vbar = malloc(m * sizeof(double));
    for (int l = 1; l <= REF_LAYERS; l++) {
        const double *Gl = G + ref_offset(net, l);
        for (int k = 0; k < REF_THETAS; k++) {
            if (!(net->terms & 1u << k)) continue;
            double sign = ref_term(net, k, l, W, &s, u, v), c = sign * theta[k], uGv = 0;
            fill(ubar, 0, n[l]), fill(vbar, 0, n[l - 1]);
            mv(Gl, n[l], n[l - 1], 1, v, ubar); /* G v */
            for (int i = 0; i < n[l]; i++) uGv += u[i] * ubar[i], ubar[i] *= c;
            grad[k] += sign * uGv;              /* d<G, sign theta_k u v^T> / dtheta_k */
            mtv(Gl, n[l], n[l - 1], c, u, vbar); /* vbar = c G^T u, ubar = c G v */
            term_reverse(net, k, l, W, &s, ubar, vbar, &a, D);
        }
    }
    error_reverse(net, B, &s, &a);
    const double *p = s.y[REF_LAYERS], *pbar = a.y[REF_LAYERS];
    double dot = 0; /* softmax: zbar_5 = p * (pbar - <p, pbar>) */
    for (int i = 0; i < C; i++) dot += p[i] * pbar[i];
    for (int i = 0; i < C; i++) a.z[REF_LAYERS][i] = p[i] * (pbar[i] - dot);
    forward_reverse(net, W, &s, &a, D);
    add(G, D, (int)len);
    free(D), free(u), free(v), free(ubar), free(vbar);
    ref_signals_free(&s), ref_signals_free(&a);
}

/* --- the episode: T steps (every W_t kept), the query, the reverse sweep ------------- */
int ref_episode(const ref_net *net, const double *W0, const double *B0, const double *theta, double lamb,
                const double *x_train, const int *y_train, int T, const double *x_query, const int *y_query, int NQ,
                int want_grad, ref_out *out) {
    size_t len = ref_offset(net, REF_LAYERS + 1), n0 = (size_t)net->n[0];
    double *Ws = malloc((size_t)(T + 1) * len * sizeof(double)); /* W_t = Ws + t len, t = 0..T */
    memcpy(Ws, W0, len * sizeof(double));
    ref_signals s;
    ref_signals_alloc(net, &s);
    for (int t = 0; t < T; t++) {
        const double *W = Ws + (size_t)t * len;
        ref_forward(net, W, x_train + (size_t)t * n0, &s);
        ref_error_signals(net, net->sym ? W : B0, y_train[t], &s); /* all signals first */
        ref_update(net, W, theta, &s, Ws + (size_t)(t + 1) * len);
    }
    ref_signals_free(&s);
    const double *WT = Ws + (size_t)T * len;
    double *G = want_grad ? calloc(len, sizeof(double)) : NULL; /* dL/dW_T, then dL/dW_t */
    out->loss = ref_query_loss(net, WT, theta, lamb, x_query, y_query, NQ, &out->accuracy, G);
    for (int l = 1; l <= REF_LAYERS; l++) {
        size_t off = ref_offset(net, l), cnt = (size_t)net->n[l] * (size_t)net->n[l - 1];
        out->sum_W[l - 1] = 0;
        for (size_t i = 0; i < cnt; i++) out->sum_W[l - 1] += WT[off + i];
    }
    memset(out->grad, 0, sizeof out->grad);
    if (want_grad) {
        for (int t = T - 1; t >= 0; t--) {
            const double *W = Ws + (size_t)t * len;
            ref_step_reverse(net, W, net->sym ? W : B0, theta, x_train + (size_t)t * n0, y_train[t], G, out->grad);
        }
        for (int k = 0; k < REF_THETAS; k++) /* the L1 term; its derivative at 0 is 0 */
            out->grad[k] += lamb * (theta[k] > 0 ? 1 : theta[k] < 0 ? -1 : 0);
    }
    free(G), free(Ws);
    return isfinite(out->loss) ? 0 : -1;
}
