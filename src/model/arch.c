#include "model/core.h"
#include "model/rules.h"

size_t mp_arch_offset(const mp_arch *arch, int layer) {
    size_t off = 0;
    for (int l = 1; l < layer; l++) off += (size_t)arch->n[l] * (size_t)arch->n[l - 1];
    return off;
}

size_t mp_arch_weight_count(const mp_arch *arch) { return mp_arch_offset(arch, MP_LAYERS + 1); }

int mp_arch_uses_right(const mp_arch *arch, int right_kind) {
    for (int k = 0; k < MP_RULE_COUNT; k++)
        if ((arch->terms >> k & 1u) && mp_rule_pool[k].right == right_kind) return 1;
    return 0;
}

int mp_arch_uses_left(const mp_arch *arch, int left_kind) {
    for (int k = 0; k < MP_RULE_COUNT; k++)
        if ((arch->terms >> k & 1u) && mp_rule_pool[k].left == left_kind) return 1;
    return 0;
}
