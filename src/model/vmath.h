/* exp, expm1 and log1p for the elementwise kernels, as inline functions without
 * branches or calls so that a loop over them vectorises. In float they are polynomials
 * (within a few units in the last place; libm's scalar log1pf alone took ~8% of an
 * episode); in double, the checks' precision, they are libm's. */
#ifndef METAPLAST_VMATH_H
#define METAPLAST_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "model/real.h"

#ifdef MP_REAL_F64

static inline double vm_exp(double x) { return exp(x); }
static inline double vm_expm1(double x) { return expm1(x); }
static inline double vm_log1p_unit(double t) { return log1p(t); }

#else

/* 2^k for integer k in [-126, 127], built from its exponent bits. */
static inline float vm_pow2i(int32_t k) {
    uint32_t bits = (uint32_t)(k + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* e^x = 2^k e^r, k = round(x / ln 2), |r| <= ln2 / 2, e^r by its Taylor polynomial of
 * degree 7 (remainder < 1e-8 relative); 2^k applied in two halves so that results
 * down to the subnormals and up to the overflow are right. */
static inline float vm_exp(float x) {
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    x = x < -104.0f ? -104.0f : x > 89.0f ? 89.0f : x;
    float t = x * 1.44269504f + shifter, kf = t - shifter;
    float r = x - kf * 0.693145751953125f; /* ln 2 in two parts: the first is exact in k * */
    r = r - kf * 1.42860677e-06f;
    float p = 1.0f / 720 + r * (1.0f / 5040);
    p = 1.0f / 24 + r * (1.0f / 120 + r * p);
    p = 1 + r * (1 + r * (1.0f / 2 + r * (1.0f / 6 + r * p)));
    /* k from t's low mantissa bits, where the shifter left it, not by converting kf: a
     * NaN x (whose p is a NaN anyway) must not reach a float-to-int conversion */
    uint32_t t_bits;
    memcpy(&t_bits, &t, sizeof t_bits);
    int32_t k = (int32_t)(t_bits & 0x7fffffu) - 0x400000, k1 = k / 2;
    return p * vm_pow2i(k1) * vm_pow2i(k - k1);
}

/* e^x - 1: near 0 its own Taylor polynomial (exp(x) - 1 would cancel), else exp - 1. */
static inline float vm_expm1(float x) {
    float small = 1.0f / 720 + x * (1.0f / 5040 + x * (1.0f / 40320));
    small = 1.0f / 24 + x * (1.0f / 120 + x * small);
    small = x * (1 + x * (1.0f / 2 + x * (1.0f / 6 + x * small)));
    return fabsf(x) < 0.34657359f ? small : vm_exp(x) - 1;
}

/* log(1 + t) for t in [0, 1]: 2 atanh(s) with s = t / (2 + t) <= 1/3, by its series up
 * to s^15 (remainder < 2e-9 relative). */
static inline float vm_log1p_unit(float t) {
    float s = t / (2 + t), s2 = s * s;
    float p = 1.0f / 11 + s2 * (1.0f / 13 + s2 * (1.0f / 15));
    p = 1 + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9 + s2 * p))));
    return 2 * s * p;
}

#endif

#endif
