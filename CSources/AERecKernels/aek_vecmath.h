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
 *   aek_vm_softplus_nodiv         2.21 ulp   (the activation kernels; degree-8 log1p(t)/t, no division)
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

/* ---------------------------------------------------------------- activation forms (single path)
 * The functions below serve the fused activation kernels, whose forward pass should run at a good
 * fraction of memory speed: one exponential or one division at most, no blend of two computed
 * paths, no select to flush underflow (an exponent bias makes the scale overflow to +inf instead). */

/* 2^B e^-x as p * 2^(k+B), e^-x = 2^k e^r, |r| <= ln2/2. sh = AEK_VM_SHIFTER + 127 + B: the low bits
 * of t are then k + 127 + B, and shifting them into the exponent field gives 2^(k+B) directly. The
 * caller keeps k + 127 + B in [1, 255]: 2^(k+B) is a normal float, or +inf for k + 127 + B = 255. */
AEK_INLINE float aek_vm_exp_neg_biased(float x, float sh) {
    float t = x * -AEK_VM_LOG2E + sh;
    float kf = t - sh;
    float r = -x - kf * AEK_VM_LN2_HI;
    r = r - kf * AEK_VM_LN2_LO;
    float s = aek_vm_as_f32(aek_vm_as_u32(t) << 23);
    return aek_vm_exp_poly(r) * s;
}

/* 1 + e^-x for x in [-87.3, 88], computed as 1 + (4 e^-x) / 4: 4 e^-x overflows to +inf exactly
 * when k = 126, i.e. for x <= -86.99 (e^-x >= 2^125.5), so 1 / (1 + e^-x) is then exactly 0 rather
 * than a value below 1.5 FLT_MIN; otherwise every intermediate is a normal float. */
#define AEK_VM_SIG_LO (-87.3f)
#define AEK_VM_SIG_HI 88.0f
AEK_INLINE float aek_vm_one_plus_exp_neg_flush2(float xc) {
    return aek_vm_exp_neg_biased(xc, AEK_VM_SHIFTER + 129.0f) * 0.25f + 1.0f;
}

/* sigmoid(x) = 1 / (1 + e^-x) (relative error as the exponential's: no cancellation for x -> -inf,
 * where 1 + e^-x is large). Exactly 0 below x = -86.99, exactly 1 above x = 17.33. */
AEK_INLINE float aek_vm_sigmoid(float x) {
    float xc = x < AEK_VM_SIG_LO ? AEK_VM_SIG_LO : x;
    xc = xc > AEK_VM_SIG_HI ? AEK_VM_SIG_HI : xc;
    return 1.0f / aek_vm_one_plus_exp_neg_flush2(xc);
}

/* swish(x) = x / (1 + e^-x). The bias here is 2^1: 2 e^-x overflows (the result is then -0) only
 * for x <= -87.68, where |swish| < 7.7e-37 = 88 FLT_MIN / 1.35; between -87.68 and -87.3, where
 * sigmoid(x) alone would be subnormal, x / (1 + e^-x) is still a normal float. The numerator is
 * clamped too so that x = -inf gives -0, not -inf / inf. */
#define AEK_VM_SWISH_LO (-88.3f)
AEK_INLINE float aek_vm_swish(float x) {
    float xl = x < AEK_VM_SWISH_LO ? AEK_VM_SWISH_LO : x;
    float xc = xl > AEK_VM_SIG_HI ? AEK_VM_SIG_HI : xl;
    float den = aek_vm_exp_neg_biased(xc, AEK_VM_SHIFTER + 128.0f) * 0.5f + 1.0f;
    return xl / den;
}

/* tanh(x) = E / (E + 2), E = expm1(2|x|), with the sign of x: one exponential, one division, no
 * cancellation anywhere (E is relative-accurate near 0, and E / (E + 2) <= 1 exactly). |x| is
 * clamped to 10, where E + 2 rounds to E and the result is exactly 1. 2|x| = k ln2 + 2h with
 * |h| <= ln2/4; expm1(2h) = h P2(h) (the coefficients of aek_vm_exp_P scaled by 2^(i+1), exact). */
AEK_INLINE float aek_vm_tanh(float x) {
    float a = aek_vm_abs(x);
    a = a < 10.0f ? a : 10.0f;
    const float sh = AEK_VM_SHIFTER + 127.0f;
    float t = a * (2.0f * AEK_VM_LOG2E) + sh; /* k in [0, 29] */
    float kf = t - sh;
    float h = a - kf * 0.3465735903f; /* ln2 / 2 rounded: the error, k 1e-9 <= 3e-8, is damped by 2 / (E + 2) */
    float P = 8.888878673e-02f;
    P = P * h + 2.678113282e-01f;
    P = P * h + 6.666741967e-01f;
    P = P * h + 1.333320498e+00f;
    P = P * h + 1.999999881e+00f;
    P = P * h + 2.0f;
    float pm1 = h * P;
    float s = aek_vm_as_f32(aek_vm_as_u32(t) << 23); /* 2^k */
    float E = s * pm1 + (s - 1.0f);
    return aek_vm_with_sign_of(E / (E + 2.0f), x);
}

/* softplus(x) = max(x, 0) + e h(e), e = e^-|x|, h(t) = log1p(t) / t as a degree-8 polynomial on
 * [0, 1] with h(0) = 1 exactly (relative error 3.9e-8 with these float coefficients, 2.2 ulp for the
 * whole function): no division, no log reduction. The loop is bound by vector-port throughput, so
 * every operation counts: degree 9 (8.5e-9, 1.9 ulp) ran 7 % slower; the atanh form
 * 2 atanh(e / (2 + e)) needs fewer multiplies but a division, which on 512-bit vectors is three
 * micro-ops and a long latency, and measured slower than either polynomial.
 * |x| is clamped to 87.3 so that e stays a normal float (e >= 2^-126: the result there is below
 * 1.2e-38, within FLT_MIN of the exact value). */
AEK_INLINE float aek_vm_softplus_nodiv(float x) {
    float a = aek_vm_abs(x);
    a = a < 87.3f ? a : 87.3f;
    float e = aek_vm_exp_neg_biased(a, AEK_VM_SHIFTER + 127.0f);
    float H = 5.364824552e-03f;
    H = H * e + -3.006579168e-02f;
    H = H * e + 7.920453697e-02f;
    H = H * e + -1.375380307e-01f;
    H = H * e + 1.915365458e-01f;
    H = H * e + -2.485716343e-01f;
    H = H * e + 3.332132399e-01f;
    H = H * e + -4.999964833e-01f;
    H = H * e + 1.0f;
    float pos = x > 0.0f ? x : 0.0f;
    return e * H + pos;
}

/* e^x - 1 for x <= 0 as above (aek_vm_expm1_neg), for the ELU family. */

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

/* atan(x) / pi + 1/2 in [0, 1] with one division and no blend of paths:
 *   |x| <= 1: u = x,      result = 1/2 + atan(u)/pi
 *   |x| >  1: u = -1/x,   result = (x > 0 ? 1 : 0) + atan(u)/pi      (atan x = +-pi/2 - atan(1/x))
 * u = n / d with n = +-|x| or -+1 and d = max(|x|, 1); atan(u)/pi = u A(u^2), A of degree 8 on [0, 1]
 * (relative error 4.4e-8 with these float coefficients). The base (1/2, 1 or 0) is exact, so for
 * x -> -inf the result u A(u^2) = atan(1/|x|)/pi keeps its relative accuracy. */
AEK_INLINE float aek_vm_atan01(float x) {
    float a = aek_vm_abs(x);
    int big = a > 1.0f;
    float n = big ? -1.0f : a;
    float d = big ? a : 1.0f;
    float u = aek_vm_as_f32(aek_vm_as_u32(n) ^ (aek_vm_as_u32(x) & 0x80000000u)) / d;
    float w = u * u;
    float A = 9.071473032e-04f;
    A = A * w + -5.114800762e-03f;
    A = A * w + 1.358912885e-02f;
    A = A * w + -2.388690971e-02f;
    A = A * w + 3.387114778e-02f;
    A = A * w + -4.521160945e-02f;
    A = A * w + 6.363848597e-02f;
    A = A * w + -1.061024666e-01f;
    A = A * w + 3.183098733e-01f;
    float base = big ? (x > 0.0f ? 1.0f : 0.0f) : 0.5f;
    return u * A + base;
}

#endif
