/*
 * aek_vecmath.h — branch-free float32 elementary functions for the elementwise kernels (internal).
 *
 * Every function here is `static inline` (always_inline), uses only +, -, *, /, comparisons with selects and
 * integer bit manipulation (no libm call, no table lookup, no data-dependent branch), so a loop
 * calling them is auto-vectorized by clang: each target_clones clone (AVX-512, AVX2, SSE2) gets
 * its own vector code. Rounding to an integer uses the 1.5 * 2^23 "shifter" trick, which SSE2
 * supports too (no floorf/roundf, which would be libm calls without SSE4.1).
 *
 * Polynomial coefficients were fitted for this file (near-minimax, Lawson-reweighted least squares
 * on the reduced intervals, then rounded to float32). Maximum error against a float64 reference,
 * measured on every 53rd float of the range (AVX-512 code), in ulps of the exact result:
 *   aek_vm_exp_neg / aek_vm_exp   0.91 ulp   (results below FLT_MIN are flushed to +0)
 *   aek_vm_expm1_neg              1.28 ulp
 *   aek_vm_expm1                  1.90 ulp
 *   aek_vm_log                    1.92 ulp
 *   aek_vm_log1p01                1.57 ulp   (t in [0, 1])
 *   aek_vm_softplus               2.29 ulp   (max relative error 2.1e-7)
 *   aek_vm_sigmoid                2.29 ulp   (1.8e-7)
 *   aek_vm_tanh                   1.50 ulp   (odd polynomial below |x| = 0.55; the single-path
 *                                             -expm1(-2|x|) / (2 + expm1(-2|x|)) is ~15% faster
 *                                             but 2.5 ulp near 0.23, so it is not used)
 *   aek_vm_atan                   2.04 ulp
 *   aek_vm_atan01                 1.76 ulp   (relative-accurate down to x -> -inf)
 *
 * Limits: no function produces NaN or Inf for a finite argument (exp/expm1 clamp at the largest
 * finite result, log clamps its argument to [FLT_MIN, FLT_MAX]); +-Inf arguments give the limits.
 * Underflow: exp results below FLT_MIN (x < ln FLT_MIN ~ -87.34) are returned as exactly 0 rather
 * than as subnormals, so hot loops never hit subnormal-result microcode assists.
 */
#ifndef AEK_VECMATH_H
#define AEK_VECMATH_H

#include <stdint.h>
#include <string.h>

/* Forced inlining: a helper that is not inlined into an AEK_CLONES function is compiled once for
 * the baseline target, so the clone would call scalar SSE2 code instead of vectorizing it. */
#if defined(__GNUC__) || defined(__clang__)
#define AEK_INLINE static inline __attribute__((always_inline))
#else
#define AEK_INLINE static inline
#endif

AEK_INLINE uint32_t aek_vm_as_u32(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

AEK_INLINE float aek_vm_as_f32(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

AEK_INLINE float aek_vm_abs(float x) { return aek_vm_as_f32(aek_vm_as_u32(x) & 0x7fffffffu); }

/* |m| with the sign bit of s (m must be >= 0 or -0). */
AEK_INLINE float aek_vm_with_sign_of(float m, float s) {
    return aek_vm_as_f32(aek_vm_as_u32(m) | (aek_vm_as_u32(s) & 0x80000000u));
}

#define AEK_VM_LOG2E 1.44269504088896341f
#define AEK_VM_LN2_HI 0.693145751953125f     /* 15 significant bits: k * LN2_HI is exact for |k| < 2^9 */
#define AEK_VM_LN2_LO 1.42860682030941723e-6f /* ln 2 - LN2_HI */
#define AEK_VM_SHIFTER 12582912.0f            /* 1.5 * 2^23: x + SHIFTER rounds x to an integer */
#define AEK_VM_EXP_LO (-87.33654f)            /* ~ ln(FLT_MIN): below it exp is flushed to 0 */
#define AEK_VM_EXP_HI 88.72283f               /* < ln(FLT_MAX) = 88.7228391: largest safe argument */

/* Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2 (+ a hair). Returns r; *k receives k as an
 * integer. The caller has clamped x into [EXP_LO, EXP_HI]. */
AEK_INLINE float aek_vm_exp_reduce(float x, int32_t *k) {
    float t = x * AEK_VM_LOG2E + AEK_VM_SHIFTER;
    *k = (int32_t)(aek_vm_as_u32(t) - aek_vm_as_u32(AEK_VM_SHIFTER));
    float kf = t - AEK_VM_SHIFTER;
    return (x - kf * AEK_VM_LN2_HI) - kf * AEK_VM_LN2_LO;
}

/* P(r) = (e^r - 1) / r on |r| <= ln2/2, degree 5 (Horner, 5 FMAs), fitted for the relative error
 * of e^r - 1 = r P(r) (<= 1.1e-8); then e^r = 1 + r P(r) has relative error <= 3.2e-9. */
AEK_INLINE float aek_vm_exp_P(float r) {
    float P = 1.3888872927054763e-3f;
    P = P * r + 8.369104005396366e-3f;
    P = P * r + 4.1667137295007706e-2f;
    P = P * r + 1.6666506230831146e-1f;
    P = P * r + 0.4999999701976776f;
    return P * r + 1.0f;
}

AEK_INLINE float aek_vm_exp_poly(float r) { return 1.0f + r * aek_vm_exp_P(r); }
AEK_INLINE float aek_vm_expm1_poly(float r) { return r * aek_vm_exp_P(r); }

/* 2^k for k in [-126, 127] (a normal float). */
AEK_INLINE float aek_vm_pow2i(int32_t k) { return aek_vm_as_f32((uint32_t)(k + 127) << 23); }

/* e^x for x <= 0 (the caller guarantees it). Results below FLT_MIN are flushed to 0. No clamp:
 * for x < EXP_LO the reduction produces garbage that the final select discards, and for
 * x in [EXP_LO, 0] the result is normal, so 2^k is applied by adding k to the exponent field. */
AEK_INLINE float aek_vm_exp_neg(float x) {
    float t = x * AEK_VM_LOG2E + AEK_VM_SHIFTER;
    uint32_t k = aek_vm_as_u32(t) - aek_vm_as_u32(AEK_VM_SHIFTER); /* k mod 2^32 */
    float kf = t - AEK_VM_SHIFTER;
    float r = (x - kf * AEK_VM_LN2_HI) - kf * AEK_VM_LN2_LO;
    float y = aek_vm_as_f32(aek_vm_as_u32(aek_vm_exp_poly(r)) + (k << 23));
    return x < AEK_VM_EXP_LO ? 0.0f : y;
}

/* e^x for any x: flushed to 0 below ln FLT_MIN, clamped to e^88.72283 ~ 3.4028e38 above (finite). */
AEK_INLINE float aek_vm_exp(float x) {
    float xc = x < AEK_VM_EXP_LO ? AEK_VM_EXP_LO : x;
    xc = xc > AEK_VM_EXP_HI ? AEK_VM_EXP_HI : xc;
    int32_t k;
    float p = aek_vm_exp_poly(aek_vm_exp_reduce(xc, &k)); /* k in [-126, 128]: two normal factors */
    int32_t k1 = ((k + 256) >> 1) - 128;                 /* floor(k / 2) without shifting a negative value */
    int32_t k2 = k - k1;
    float y = (p * aek_vm_pow2i(k1)) * aek_vm_pow2i(k2);
    return x < AEK_VM_EXP_LO ? 0.0f : y;
}

/* e^x - 1 for x <= 0, accurate near 0 (no cancellation): 2^k expm1(r) + (2^k - 1). */
AEK_INLINE float aek_vm_expm1_neg(float x) {
    float xc = x < AEK_VM_EXP_LO ? AEK_VM_EXP_LO : x;
    int32_t k;
    float pm1 = aek_vm_expm1_poly(aek_vm_exp_reduce(xc, &k));
    float s = aek_vm_pow2i(k);
    return s * pm1 + (s - 1.0f);
}

/* e^x - 1 for any x (clamped to a finite ~3.4e38 above), accurate near 0. With 2^k = 2^k1 2^k2:
 * 2^k pm1 + 2^k - 1 = 2^k1 (2^k2 pm1 + (2^k2 - 2^-k1)), every factor a normal float. */
AEK_INLINE float aek_vm_expm1(float x) {
    float xc = x < AEK_VM_EXP_LO ? AEK_VM_EXP_LO : x;
    xc = xc > AEK_VM_EXP_HI ? AEK_VM_EXP_HI : xc;
    int32_t k;
    float pm1 = aek_vm_expm1_poly(aek_vm_exp_reduce(xc, &k));
    int32_t k1 = ((k + 256) >> 1) - 128;
    int32_t k2 = k - k1;
    float s2 = aek_vm_pow2i(k2);
    return aek_vm_pow2i(k1) * (s2 * pm1 + (s2 - aek_vm_pow2i(-k1)));
}

/* 2 atanh(s) - 2 s = s^3 R(s^2); R fitted on s^2 in [0, 1/9] (|s| <= 1/3, i.e. log1p on [0, 1]). */
AEK_INLINE float aek_vm_log1p01_R(float w) {
    float R = 0.2428978830575943f;
    R = R * w + 0.21430684626102448f;
    R = R * w + 0.2861660122871399f;
    R = R * w + 0.39998888969421387f;
    R = R * w + 0.6666667461395264f;
    return R;
}

/* log(1 + t) for t in [0, 1] (e.g. t = e^-|x|): s = t / (2 + t), log1p(t) = 2 atanh(s). */
AEK_INLINE float aek_vm_log1p01(float t) {
    float d = 2.0f + t;
    float dlo = t - (d - 2.0f); /* exact rounding error of 2 + t (Fast2Sum) */
    float s0 = t / d;
    /* t / (d + dlo) ~ s0 (1 - dlo / d); 1/d only needs a few bits: 1/(2+t) ~ 1/2 - t/6 (4%) */
    float s = s0 - (s0 * dlo) * (0.5f - t * 0.16666667f);
    float w = s * s;
    return 2.0f * s + (s * w) * aek_vm_log1p01_R(w);
}

/* Natural log. The argument is clamped to [FLT_MIN, FLT_MAX] (so log(0) = log(FLT_MIN) ~ -87.34,
 * never -Inf or NaN). x = 2^k m, m in [sqrt(1/2), sqrt(2)), log m = 2 atanh((m - 1) / (m + 1)). */
AEK_INLINE float aek_vm_log(float x) {
    float xc = x < 1.17549435e-38f ? 1.17549435e-38f : x;
    xc = xc > 3.40282347e38f ? 3.40282347e38f : xc;
    uint32_t ix = aek_vm_as_u32(xc);
    /* k + 128 = floor((ix - bits(sqrt(1/2))) / 2^23) + 128, computed on non-negative values */
    uint32_t t = ix - 0x3f3504f3u + 0x40000000u;
    int32_t k = (int32_t)(t >> 23) - 128;
    float m = aek_vm_as_f32(ix - ((uint32_t)k << 23));
    float f = m - 1.0f;
    float s = f / (2.0f + f);
    float w = s * s;
    float R = 0.23582330346107483f;
    R = R * w + 0.2853730022907257f;
    R = R * w + 0.4000033438205719f;
    R = R * w + 0.6666666269302368f;
    float kf = (float)k;
    float lm = 2.0f * s + (s * w) * R;
    return kf * AEK_VM_LN2_HI + (kf * AEK_VM_LN2_LO + lm);
}

/* log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow, accurate for x -> -inf. */
AEK_INLINE float aek_vm_softplus(float x) {
    float e = aek_vm_exp_neg(-aek_vm_abs(x));
    float pos = x > 0.0f ? x : 0.0f;
    return pos + aek_vm_log1p01(e);
}

/* 1 / (1 + e^-x) through e = e^-|x|: x >= 0 -> 1 / (1 + e), x < 0 -> e / (1 + e). */
AEK_INLINE float aek_vm_sigmoid(float x) {
    float e = aek_vm_exp_neg(-aek_vm_abs(x));
    float num = x >= 0.0f ? 1.0f : e;
    return num / (1.0f + e);
}

/* tanh: odd polynomial x + x^3 T(x^2) for |x| < 0.55, (1 - e) / (1 + e) with e = e^-2|x| above
 * (no cancellation there since e <= 1/3). Both are computed and one is selected. */
AEK_INLINE float aek_vm_tanh(float x) {
    float a = aek_vm_abs(x);
    float w = a * a;
    float T = -6.2741730362176895e-3f;
    T = T * w + 2.107163518667221e-2f;
    T = T * w + -5.3852301090955734e-2f;
    T = T * w + 1.3332585990428925e-1f;
    T = T * w + -3.3333316445350647e-1f;
    float small = a + (a * w) * T;
    float e = aek_vm_exp_neg(-2.0f * a);
    float large = (1.0f - e) / (1.0f + e);
    float r = a < 0.55f ? small : large;
    return aek_vm_with_sign_of(r, x);
}

/* atan(|x|) = k pi/4 + atan(u) with |u| <= tan(pi/8):
 *   |x| <= tan(pi/8): u = |x|, k = 0;  |x| <= tan(3pi/8): u = (|x| - 1) / (|x| + 1), k = 1;
 *   otherwise u = -1 / |x|, k = 2.
 * Returns atan(u) and sets *k (as a float 0, 1, 2). One division. */
AEK_INLINE float aek_vm_atan_reduced(float a, float *k) {
    int big = a > 2.41421356f;
    int mid = a > 0.41421356f;
    float num = big ? -1.0f : (mid ? a - 1.0f : a);
    float den = big ? a : (mid ? a + 1.0f : 1.0f);
    *k = big ? 2.0f : (mid ? 1.0f : 0.0f);
    float u = num / den;
    float w = u * u;
    float P = -6.078135967254639e-2f;
    P = P * w + 1.0593781620264053e-1f;
    P = P * w + -1.4243529736995697e-1f;
    P = P * w + 1.9998471438884735e-1f;
    P = P * w + -3.3333316445350647e-1f;
    return u + (u * w) * P;
}

#define AEK_VM_PI4_HI 0.7853981852531433f
#define AEK_VM_PI4_LO (-2.1855695000931213e-8f)
#define AEK_VM_INVPI_HI 0.31830987334251404f
#define AEK_VM_INVPI_LO 1.284127663345183e-8f

AEK_INLINE float aek_vm_atan(float x) {
    float k;
    float au = aek_vm_atan_reduced(aek_vm_abs(x), &k);
    float r = k * AEK_VM_PI4_HI + (k * AEK_VM_PI4_LO + au);
    return aek_vm_with_sign_of(r, x);
}

/* atan(x) / pi + 1/2 in [0, 1]. With atan|x| = k pi/4 + au:
 *   x >= 0: (1/2 + k/4) + au/pi;   x < 0: (1/2 - k/4) - au/pi
 * The base constants are exact, so for x -> -inf (k = 2, base 0) the result is -au/pi =
 * atan(1/|x|)/pi with full relative accuracy instead of a cancellation 1/2 - 0.49999... */
AEK_INLINE float aek_vm_atan01(float x) {
    float k;
    float au = aek_vm_atan_reduced(aek_vm_abs(x), &k);
    float t = au * AEK_VM_INVPI_HI + au * AEK_VM_INVPI_LO;
    int neg = x < 0.0f;
    float base = neg ? 0.5f - 0.25f * k : 0.5f + 0.25f * k;
    float st = neg ? -t : t;
    return base + st;
}

#endif
