/* A naive reference of docs/METHOD.md: one episode of online
 * plasticity and its exact meta-gradient, in double, with dense matrices and plain
 * loops, one function per step of the algorithm. It shares no code with src/: it is
 * the executable description the optimised core is checked against.
 *
 * Layout (the core's too): all weight matrices in one buffer, W1 first; W_l is
 * n[l] x n[l-1], row-major, row = output unit. */
#ifndef METAPLAST_REF_EPISODE_H
#define METAPLAST_REF_EPISODE_H

#include <stddef.h>

#define REF_LAYERS 5
#define REF_THETAS 10      /* the rule pool's terms 0..9 (the project's candidate pool; the model has 0..2) */
#define REF_BETA 10.0      /* softplus_b */
#define REF_THRESHOLD 20.0 /* softplus(z) = z where b z > 20, as torch */

typedef struct {
    int n[REF_LAYERS + 1]; /* widths n0..n5 */
    int sym;               /* 1: B_l = W_l of the current step; 0: B fixed */
    unsigned terms;        /* bit k: term k is on (bit 0, the pseudo-gradient, always is) */
} ref_net;

/* The signals of one sample, index = layer 0..5. Also used for their adjoints (dL/d.). */
typedef struct {
    double *z[REF_LAYERS + 1];  /* z_l = W_l y_{l-1}, l = 1..5 (z_5: logits) */
    double *y[REF_LAYERS + 1];  /* y_0 = x, y_l = softplus(z_l), y_5 = p = softmax(z_5) */
    double *fb[REF_LAYERS + 1]; /* fb_l = B_{l+1}^T e_{l+1}, l = 0..4 */
    double *e[REF_LAYERS + 1];  /* e_5 = p - onehot, e_l = fb_l * (1 - exp(-b y_l)) */
} ref_signals;

typedef struct {
    double loss;     /* mean query cross-entropy + lamb * sum |theta_k| */
    double accuracy; /* fraction of queries with argmax z_5 == label */
    double grad[REF_THETAS];
    double sum_W[REF_LAYERS]; /* sum of each adapted W_l */
} ref_out;

/* Where W_l starts in the buffer; ref_offset(net, REF_LAYERS + 1) is its length. */
size_t ref_offset(const ref_net *net, int l);
void ref_signals_alloc(const ref_net *net, ref_signals *s); /* zero-filled */
void ref_signals_free(ref_signals *s);

/* One sample x through all layers: s->z, s->y. */
void ref_forward(const ref_net *net, const double *W, const double *x, ref_signals *s);
/* After ref_forward: s->fb and s->e from feedback B (sym: the current W), e_0 included. */
void ref_error_signals(const ref_net *net, const double *B, int label, ref_signals *s);
/* Term k of the pool at layer l as the rank-one pair u (n_l) v (n_{l-1}), F_k = u v^T;
 * W is the whole buffer before the step. Returns the term's sign. */
double ref_term(const ref_net *net, int k, int l, const double *W, const ref_signals *s, double *u, double *v);
/* W_next = W + sum_l sum_{k on} sign_k theta_k u v^T, every signal from W (and s). */
void ref_update(const ref_net *net, const double *W, const double *theta, const ref_signals *s, double *W_next);
/* Query loss with weights W (with the L1 term) and accuracy; when Wbar is not NULL,
 * dL/dW (the cross-entropy part) is added to it. */
double ref_query_loss(const ref_net *net, const double *W, const double *theta, double lamb, const double *x,
                      const int *labels, int NQ, double *accuracy, double *Wbar);
/* The reverse of one plasticity step W -> W_next on sample (x, label), feedback B:
 * G = dL/dW_next on entry, dL/dW on return; dL/dtheta_k of this step added to grad. */
void ref_step_reverse(const ref_net *net, const double *W, const double *B, const double *theta, const double *x,
                      int label, double *G, double grad[REF_THETAS]);
/* The whole episode: T plasticity steps from W0 (B0 ignored when sym), the query loss
 * and, when want_grad, dL/dtheta through all T steps (B held constant) plus the L1
 * term's derivative (0 at theta_k = 0). theta has REF_THETAS entries. Returns 0, or -1
 * when the loss is not finite. */
int ref_episode(const ref_net *net, const double *W0, const double *B0, const double *theta, double lamb,
                const double *x_train, const int *y_train, int T, const double *x_query, const int *y_query, int NQ,
                int want_grad, ref_out *out);

#endif
