#include "metaplast/rules.h"

static const char *const rule_names[MP_RULE_COUNT] = {"pseudo_grad", "eHebb", "Oja"};

const char *mp_rule_name(int index) {
    return index >= 0 && index < MP_RULE_COUNT ? rule_names[index] : 0;
}

int mp_rule_is_selectable(int index) { return index >= 1 && index < MP_RULE_COUNT; }

unsigned mp_rule_mask(const int *vec, int nvec) {
    unsigned mask = 1u << MP_RULE_PSEUDO_GRAD;
    for (int i = 0; i < nvec; i++)
        if (mp_rule_is_selectable(vec[i])) mask |= 1u << vec[i];
    return mask;
}
