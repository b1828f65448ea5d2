/* The rule pool's table (rules.h): each term's sign and factors. */
#include "model/rules.h"

const mp_rule_term mp_rule_pool[MP_RULE_COUNT] = {
    [MP_RULE_PSEUDO_GRAD] = {"pseudo_grad", -1.0, MP_LEFT_E, MP_RIGHT_Y_IN},
    [MP_RULE_EHEBB] = {"eHebb", -1.0, MP_LEFT_E, MP_RIGHT_E_IN},
    [MP_RULE_OJA] = {"Oja", +1.0, MP_LEFT_Y, MP_RIGHT_OJA_RESIDUAL},
    [MP_RULE_POST_Y_PRE_E] = {"postY_preE", -1.0, MP_LEFT_Y, MP_RIGHT_E_IN},
    [MP_RULE_POST_E_ONES] = {"postE_bcast", -1.0, MP_LEFT_E, MP_RIGHT_ONES},
    [MP_RULE_POST_E_WTY] = {"postE_WTy", -1.0, MP_LEFT_E, MP_RIGHT_WT_Y},
    [MP_RULE_ONES_PRE_E] = {"preE_bcast", -1.0, MP_LEFT_ONES, MP_RIGHT_E_IN},
    [MP_RULE_POST_Y_WTE] = {"postY_WTe", -1.0, MP_LEFT_Y, MP_RIGHT_WT_E},
    [MP_RULE_POST_E_WTE] = {"postE_decay", -1.0, MP_LEFT_E, MP_RIGHT_WT_E},
    [MP_RULE_WE_PRE_E] = {"preE_decay", -1.0, MP_LEFT_W_E_IN, MP_RIGHT_E_IN},
};

const char *mp_rule_name(int index) {
    return index >= 0 && index < MP_RULE_COUNT ? mp_rule_pool[index].name : 0;
}

int mp_rule_is_selectable(int index) { return index >= 1 && index < MP_RULE_COUNT; }

unsigned mp_rule_mask(const int *vec, int nvec) {
    unsigned mask = 1u << MP_RULE_PSEUDO_GRAD;
    for (int i = 0; i < nvec; i++)
        if (mp_rule_is_selectable(vec[i])) mask |= 1u << vec[i];
    return mask;
}
