/* The rule pool: the plasticity terms, which --vec selects, and their shape.
 * Every term is rank one, dW_l += sign * theta_k * left right^T, with the left factor
 * an output-side signal and the right factor an input-side one. A new term is one
 * table entry here (plus a new factor kind in the core if it needs a new signal). */
#ifndef METAPLAST_RULES_H
#define METAPLAST_RULES_H

/* Terms of the pool, by --vec index; the index is also the theta it is scaled by.
 * For layer l: y_{l-1}, y_l the activity in and out (y_5 = p), e_{l-1}, e_l the error
 * signals in and out (e_0 through B_1), W = W_l before the step, 1 a vector of ones. */
enum {
    MP_RULE_PSEUDO_GRAD = 0, /* -theta0 e_l y_{l-1}^T, always on */
    MP_RULE_EHEBB = 1,       /* -theta1 e_l e_{l-1}^T, --vec 1 */
    MP_RULE_OJA = 2,         /* +theta2 y_l (y_{l-1} - W^T y_l)^T, --vec 2 */
    MP_RULE_POST_Y_PRE_E = 3,  /* -theta3 y_l e_{l-1}^T */
    MP_RULE_POST_E_ONES = 4,   /* -theta4 e_l 1^T */
    MP_RULE_POST_E_WTY = 5,    /* -theta5 e_l (W^T y_l)^T */
    MP_RULE_ONES_PRE_E = 6,    /* -theta6 1 e_{l-1}^T */
    MP_RULE_POST_Y_WTE = 7,    /* -theta7 y_l (W^T e_l)^T */
    MP_RULE_POST_E_WTE = 8,    /* -theta8 e_l (W^T e_l)^T */
    MP_RULE_WE_PRE_E = 9,      /* -theta9 (W e_{l-1}) e_{l-1}^T */
    MP_RULE_COUNT
};

/* Output-side (left) factors. */
enum { MP_LEFT_E, MP_LEFT_Y, MP_LEFT_ONES, MP_LEFT_W_E_IN /* W e_{l-1} */, MP_LEFT_KINDS };
/* Input-side (right) factors. */
enum {
    MP_RIGHT_Y_IN,
    MP_RIGHT_E_IN,
    MP_RIGHT_OJA_RESIDUAL, /* y_{l-1} - W^T y_l */
    MP_RIGHT_ONES,
    MP_RIGHT_WT_Y,         /* W^T y_l */
    MP_RIGHT_WT_E,         /* W^T e_l */
};

typedef struct {
    const char *name;
    double sign;
    int left;
    int right;
} mp_rule_term;

extern const mp_rule_term mp_rule_pool[MP_RULE_COUNT];

/* Name of a term ("pseudo_grad", "eHebb", "Oja", ...), NULL if index is not in the pool. */
const char *mp_rule_name(int index);
/* 1 when `--vec index` names a term that can be switched on (1..MP_RULE_COUNT-1). */
int mp_rule_is_selectable(int index);
/* Bit mask of the terms in use: the pseudo-gradient plus every --vec entry. */
unsigned mp_rule_mask(const int *vec, int nvec);

#endif
