/*
 * activations.c — activation functions: scalar reference, fused bias + forward, backward + dbias.
 *
 * An activation is applied as f(x / T) with temperature T; the kernels compute the scaled input
 * as u = x * (1/T) (1/T rounded once to float, exact for T = 1 and powers of two), and the
 * derivative with respect to x as f'(u) * (1/T).
 *
 * Derivative conventions at points where f is not differentiable (the left derivative is used,
 * i.e. every "x > 0" test is strict):
 *   relu          f'(0) = 0
 *   leaky_relu    f'(0) = alpha
 *   elu / selu    f'(0) = alpha e^0 = alpha (resp. lambda a); continuous for elu with alpha = 1
 *   hard_sigmoid  f'(x) = 1/6 on the open interval (-3, 3) and 0 elsewhere, including x = +-3
 *
 * Numerics (all in float32, through aek_vecmath.h):
 *   sigmoid(u)  = (u >= 0 ? 1 : e) / (1 + e), e = exp(-|u|)   — no overflow, relative-accurate tails
 *   sigmoid'(u) = e / (1 + e)^2                                  — not s (1 - s), which is 0 for u > 17
 *   tanh'(u)    = 4 e / (1 + e)^2, e = exp(-2|u|)               — not 1 - tanh^2
 *   softplus(u) = max(u, 0) + log1p(exp(-|u|))
 *   swish(u)    = u sigmoid(u), swish'(u) = s + u s s~ with s~ = sigmoid(-u) from the same e
 *   elu / selu  use expm1 (accurate for small negative u), derivative alpha exp(u)
 *   softsign01  = x >= 0 ? 1 - 1/(2(1+|u|)) : 1/(2(1+|u|))   — no cancellation for u -> -inf
 *   atan01      = atan(u)/pi + 1/2 with exact base constants (relative-accurate for u -> -inf)
 * The derivative is always recomputed from Z (the pre-activation), never from A: A-based forms
 * such as s (1 - s) or 1 - a^2 lose all precision in the saturated tails.
 *
 * Threading: the forward pass and the backward pass without dbias split rows; the backward pass
 * with dbias splits columns, and each column's sum runs over the rows in ascending order into a
 * float64 accumulator that is added to dbias once. Results are therefore bit-identical for every
 * thread count.
 */
#include "aek_internal.h"
#include "aek_vecmath.h"

#include <math.h>

#define AEK_SELU_LAMBDA 1.0507009873554805f
#define AEK_SELU_LA 1.7580993408473766f /* lambda * a, a = 1.6732632423543772 */
#define AEK_INV_PI 0.31830988618379067f

/* Minimum elements per thread before another thread is worth creating (~20-40 us of work). */
#define AEK_ACT_MIN_WORK 65536

/* ------------------------------------------------------------------ per-element math */

/* f(u) for a compile-time-constant kind inside the hot loops (the switch folds away). */
AEK_INLINE float act_value_u(int kind, float u, float alpha) {
    switch (kind) {
    case AEK_ACT_IDENTITY: return u;
    case AEK_ACT_SIGMOID: return aek_vm_sigmoid(u);
    case AEK_ACT_TANH: return aek_vm_tanh(u);
    case AEK_ACT_RELU: return u > 0.0f ? u : 0.0f;
    case AEK_ACT_LEAKY_RELU: return u >= 0.0f ? u : alpha * u;
    case AEK_ACT_ELU: { /* max(u, 0) + alpha expm1(min(u, 0)): expm1(0) is exactly 0, so no select */
        float em1 = aek_vm_expm1_neg(u < 0.0f ? u : 0.0f);
        return alpha * em1 + (u > 0.0f ? u : 0.0f);
    }
    case AEK_ACT_SELU: {
        float em1 = aek_vm_expm1_neg(u < 0.0f ? u : 0.0f);
        return AEK_SELU_LA * em1 + AEK_SELU_LAMBDA * (u > 0.0f ? u : 0.0f);
    }
    case AEK_ACT_SOFTPLUS: return aek_vm_softplus_nodiv(u);
    case AEK_ACT_SWISH: return aek_vm_swish(u);
    case AEK_ACT_HARD_SIGMOID: {
        float h = (u + 3.0f) * 0.16666667f;
        h = h > 0.0f ? h : 0.0f;
        return h < 1.0f ? h : 1.0f;
    }
    case AEK_ACT_SOFTSIGN01: {
        float q = 0.5f / (1.0f + aek_vm_abs(u));
        return u >= 0.0f ? 1.0f - q : q;
    }
    case AEK_ACT_ATAN01: return aek_vm_atan01(u);
    case AEK_ACT_SOFTSIGN: { /* clamped so that u = +-inf gives +-1, not inf / inf */
        float uc = u > 3.40282347e38f ? 3.40282347e38f : (u < -3.40282347e38f ? -3.40282347e38f : u);
        return uc / (1.0f + aek_vm_abs(uc));
    }
    default: return u;
    }
}

/* df/du (the caller multiplies by 1/T). */
AEK_INLINE float act_deriv_u(int kind, float u, float alpha) {
    switch (kind) {
    case AEK_ACT_IDENTITY: return 1.0f;
    case AEK_ACT_SIGMOID: {
        float e = aek_vm_exp_neg(-aek_vm_abs(u));
        float d = 1.0f + e;
        return e / (d * d);
    }
    case AEK_ACT_TANH: {
        float e = aek_vm_exp_neg(-2.0f * aek_vm_abs(u));
        float d = 1.0f + e;
        return (4.0f * e) / (d * d);
    }
    case AEK_ACT_RELU: return u > 0.0f ? 1.0f : 0.0f;
    case AEK_ACT_LEAKY_RELU: return u > 0.0f ? 1.0f : alpha;
    case AEK_ACT_ELU: {
        float e = aek_vm_exp_neg(u < 0.0f ? u : 0.0f);
        return u > 0.0f ? 1.0f : alpha * e;
    }
    case AEK_ACT_SELU: {
        float e = aek_vm_exp_neg(u < 0.0f ? u : 0.0f);
        return u > 0.0f ? AEK_SELU_LAMBDA : AEK_SELU_LA * e;
    }
    case AEK_ACT_SOFTPLUS: return aek_vm_sigmoid(u);
    case AEK_ACT_SWISH: {
        float e = aek_vm_exp_neg(-aek_vm_abs(u));
        float inv = 1.0f / (1.0f + e);
        float sp = u >= 0.0f ? inv : e * inv; /* sigmoid(u)  */
        float sn = u >= 0.0f ? e * inv : inv; /* sigmoid(-u) */
        float uc = u > 200.0f ? 200.0f : (u < -200.0f ? -200.0f : u); /* sp * sn == 0 beyond +-104 */
        return sp + uc * (sp * sn);
    }
    case AEK_ACT_HARD_SIGMOID: return (u > -3.0f && u < 3.0f) ? 0.16666667f : 0.0f;
    case AEK_ACT_SOFTSIGN01: {
        float d = 1.0f + aek_vm_abs(u);
        return 0.5f / (d * d);
    }
    case AEK_ACT_ATAN01: return AEK_INV_PI / (1.0f + u * u);
    case AEK_ACT_SOFTSIGN: {
        float d = 1.0f + aek_vm_abs(u);
        return 1.0f / (d * d);
    }
    default: return 1.0f;
    }
}

/* ------------------------------------------------------------------ parameters */

aek_activation aek_activation_default(aek_activation_kind kind) {
    aek_activation a;
    a.kind = (int32_t)kind;
    a.alpha = kind == AEK_ACT_LEAKY_RELU ? 0.01f : 1.0f;
    a.temperature = 1.0f;
    return a;
}

const char *aek_activation_name(int32_t kind) {
    switch (kind) {
    case AEK_ACT_IDENTITY: return "identity";
    case AEK_ACT_SIGMOID: return "sigmoid";
    case AEK_ACT_TANH: return "tanh";
    case AEK_ACT_RELU: return "relu";
    case AEK_ACT_LEAKY_RELU: return "leaky_relu";
    case AEK_ACT_ELU: return "elu";
    case AEK_ACT_SELU: return "selu";
    case AEK_ACT_SOFTPLUS: return "softplus";
    case AEK_ACT_SWISH: return "swish";
    case AEK_ACT_HARD_SIGMOID: return "hard_sigmoid";
    case AEK_ACT_SOFTSIGN01: return "softsign01";
    case AEK_ACT_ATAN01: return "atan01";
    case AEK_ACT_SOFTSIGN: return "softsign";
    default: return NULL;
    }
}

int aek_activation_validate(aek_activation act) {
    if (act.kind < 0 || act.kind >= AEK_ACT_COUNT) return AEK_ERR_ARG;
    /* temperature must be a positive normal float so that 1/T is finite */
    if (!(act.temperature >= 1.17549435e-38f) || !isfinite(act.temperature)) return AEK_ERR_ARG;
    if (!isfinite(act.alpha)) return AEK_ERR_ARG;
    return AEK_OK;
}

AEK_INLINE float act_inv_temperature(aek_activation act) { return 1.0f / act.temperature; }

/* The scalar references are cloned like the kernels so that, on a given CPU, they use the same
 * instructions (FMA contraction included) and agree with the kernels bit for bit. */
AEK_CLONES float aek_activation_value(aek_activation act, float x) {
    if (aek_activation_validate(act) != AEK_OK) return NAN;
    float u = x * act_inv_temperature(act);
    return act_value_u(act.kind, u, act.alpha);
}

AEK_CLONES float aek_activation_derivative(aek_activation act, float x) {
    if (aek_activation_validate(act) != AEK_OK) return NAN;
    float invT = act_inv_temperature(act);
    float u = x * invT;
    return act_deriv_u(act.kind, u, act.alpha) * invT;
}

/* ------------------------------------------------------------------ argument checks */

/* rows x cols block with leading dimension ld: ld >= cols and rows * ld representable. */
static int block_ok(int64_t rows, int64_t cols, const void *p, int64_t ld) {
    if (rows < 0 || cols < 0) return 0;
    if (rows == 0 || cols == 0) return 1;
    if (p == NULL || ld < cols) return 0;
    if (ld > INT64_MAX / rows) return 0;
    return 1;
}

/* ------------------------------------------------------------------ forward */

typedef struct {
    const float *bias;
    float *Z;
    float *A;
    int64_t ldz, lda, cols;
    float invT, alpha;
    int kind;
} fwd_ctx;

/* u = v * (1/T), or v itself when 1/T == 1 (the same value: v * 1 == v), which saves a multiply per
 * element in the common case T = 1. Each loop is instantiated for both. */
#define AEK_SCALE_T(v) ((v) * invT)
#define AEK_SCALE_1(v) (v)

/* One cloned row-range function per kind. Inner loops: restrict-qualified, one per aliasing and
 * bias case, so each vectorizes without runtime alias checks (A == Z included). */
#define AEK_FWD_ROWS(KIND, SCALE)                                                                         \
    for (int64_t r = r0; r < r1; r++) {                                                                   \
        float *zr = c->Z + r * c->ldz;                                                                    \
        float *ar = c->A + r * c->lda;                                                                    \
        if (zr == ar) {                                                                                   \
            float *restrict z = zr;                                                                       \
            if (b) {                                                                                      \
                for (int64_t j = 0; j < n; j++) z[j] = act_value_u(KIND, SCALE(z[j] + b[j]), alpha);       \
            } else {                                                                                      \
                for (int64_t j = 0; j < n; j++) z[j] = act_value_u(KIND, SCALE(z[j]), alpha);              \
            }                                                                                             \
        } else {                                                                                          \
            float *restrict z = zr;                                                                       \
            float *restrict a = ar;                                                                       \
            if (b) {                                                                                      \
                for (int64_t j = 0; j < n; j++) {                                                         \
                    float v = z[j] + b[j];                                                                \
                    z[j] = v;                                                                             \
                    a[j] = act_value_u(KIND, SCALE(v), alpha);                                            \
                }                                                                                         \
            } else {                                                                                      \
                for (int64_t j = 0; j < n; j++) a[j] = act_value_u(KIND, SCALE(z[j]), alpha);              \
            }                                                                                             \
        }                                                                                                 \
    }

#define AEK_DEF_FWD(KIND)                                                                                 \
    AEK_CLONES static void fwd_rows_##KIND(const fwd_ctx *c, int64_t r0, int64_t r1) {                  \
        const int64_t n = c->cols;                                                                        \
        const float invT = c->invT, alpha = c->alpha;                                                     \
        const float *restrict b = c->bias;                                                                \
        (void)alpha;                                                                                      \
        if (invT == 1.0f) {                                                                               \
            AEK_FWD_ROWS(KIND, AEK_SCALE_1)                                                               \
        } else {                                                                                          \
            AEK_FWD_ROWS(KIND, AEK_SCALE_T)                                                               \
        }                                                                                                 \
    }

AEK_DEF_FWD(0)
AEK_DEF_FWD(1)
AEK_DEF_FWD(2)
AEK_DEF_FWD(3)
AEK_DEF_FWD(4)
AEK_DEF_FWD(5)
AEK_DEF_FWD(6)
AEK_DEF_FWD(7)
AEK_DEF_FWD(8)
AEK_DEF_FWD(9)
AEK_DEF_FWD(10)
AEK_DEF_FWD(11)
AEK_DEF_FWD(12)

static void fwd_range(void *vctx, int64_t r0, int64_t r1, int part) {
    (void)part;
    const fwd_ctx *c = (const fwd_ctx *)vctx;
    switch (c->kind) {
    case 0: fwd_rows_0(c, r0, r1); break;
    case 1: fwd_rows_1(c, r0, r1); break;
    case 2: fwd_rows_2(c, r0, r1); break;
    case 3: fwd_rows_3(c, r0, r1); break;
    case 4: fwd_rows_4(c, r0, r1); break;
    case 5: fwd_rows_5(c, r0, r1); break;
    case 6: fwd_rows_6(c, r0, r1); break;
    case 7: fwd_rows_7(c, r0, r1); break;
    case 8: fwd_rows_8(c, r0, r1); break;
    case 9: fwd_rows_9(c, r0, r1); break;
    case 10: fwd_rows_10(c, r0, r1); break;
    case 11: fwd_rows_11(c, r0, r1); break;
    case 12: fwd_rows_12(c, r0, r1); break;
    default: break;
    }
}

static int64_t min_rows_per_part(int64_t cols) {
    int64_t m = cols > 0 ? AEK_ACT_MIN_WORK / cols : 1;
    return m < 1 ? 1 : m;
}

int aek_bias_activation_forward(int64_t rows, int64_t cols, const float *bias, aek_activation act, float *Z,
                                int64_t ldz, float *A, int64_t lda, int n_threads) {
    AEK_CHECK(aek_activation_validate(act) == AEK_OK);
    AEK_CHECK(block_ok(rows, cols, Z, ldz));
    AEK_CHECK(block_ok(rows, cols, A, lda));
    if (rows == 0 || cols == 0) return AEK_OK;
    /* in place means the same layout: otherwise rows of A would overwrite unread rows of Z */
    AEK_CHECK(A != Z || lda == ldz);
    fwd_ctx c = {bias, Z, A, ldz, lda, cols, act_inv_temperature(act), act.alpha, act.kind};
    int parts = aek_parallel_parts(n_threads, rows, min_rows_per_part(cols));
    aek_parallel_for(parts, rows, fwd_range, &c);
    return AEK_OK;
}

/* ------------------------------------------------------------------ backward */

typedef struct {
    const float *Z;
    float *G;
    float *dbias;
    int64_t ldz, ldg, rows, cols;
    float invT, alpha;
    int kind;
} bwd_ctx;

/* Columns per float64 accumulator block of the dbias path (4 KiB of stack). */
#define AEK_BWD_COLS 512

/* Without dbias: rows [r0, r1), all columns. With dbias (acc != NULL): all rows, columns
 * [c0, c1) with c1 - c0 <= AEK_BWD_COLS, each column summed over rows in ascending order. */
/* g * f'(z (1/T)) (1/T); for 1/T == 1 the same value without the two multiplies. */
#define AEK_BWD_ELEM(KIND, SCALE) g[j] = g[j] * SCALE(act_deriv_u(KIND, SCALE(z[j]), alpha))
#define AEK_DEF_BWD(KIND)                                                                                 \
    AEK_CLONES static void bwd_rows_##KIND(const bwd_ctx *c, int64_t r0, int64_t r1) {                  \
        const int64_t n = c->cols;                                                                        \
        const float invT = c->invT, alpha = c->alpha;                                                     \
        (void)alpha;                                                                                      \
        for (int64_t r = r0; r < r1; r++) {                                                               \
            const float *restrict z = c->Z + r * c->ldz;                                                  \
            float *restrict g = c->G + r * c->ldg;                                                        \
            if (invT == 1.0f) {                                                                           \
                for (int64_t j = 0; j < n; j++) AEK_BWD_ELEM(KIND, AEK_SCALE_1);                          \
            } else {                                                                                      \
                for (int64_t j = 0; j < n; j++) AEK_BWD_ELEM(KIND, AEK_SCALE_T);                          \
            }                                                                                             \
        }                                                                                                 \
    }                                                                                                     \
    AEK_CLONES static void bwd_cols_##KIND(const bwd_ctx *c, int64_t c0, int64_t c1, double *restrict acc) { \
        const int64_t n = c1 - c0, rows = c->rows;                                                        \
        const float invT = c->invT, alpha = c->alpha;                                                     \
        (void)alpha;                                                                                      \
        for (int64_t j = 0; j < n; j++) acc[j] = 0.0;                                                     \
        /* Rows in groups of 4: first the derivative products (full vector width: fused with the      \
         * float64 accumulation the loop would run at half width), then one pass adding the 4 rows    \
         * to acc in row order, ((acc + g0) + g1) + ..., the same sums as row by row. */              \
        int64_t r = 0;                                                                                    \
        for (; r < rows; r += 4) {                                                                        \
            const int64_t nr = rows - r < 4 ? rows - r : 4;                                               \
            for (int64_t i = 0; i < nr; i++) {                                                            \
                const float *restrict z = c->Z + (r + i) * c->ldz + c0;                                   \
                float *restrict g = c->G + (r + i) * c->ldg + c0;                                         \
                if (invT == 1.0f) {                                                                       \
                    for (int64_t j = 0; j < n; j++) AEK_BWD_ELEM(KIND, AEK_SCALE_1);                      \
                } else {                                                                                  \
                    for (int64_t j = 0; j < n; j++) AEK_BWD_ELEM(KIND, AEK_SCALE_T);                      \
                }                                                                                         \
            }                                                                                             \
            const float *g0 = c->G + r * c->ldg + c0;                                                     \
            if (nr == 4) {                                                                                \
                const float *restrict a0 = g0, *restrict a1 = g0 + c->ldg, *restrict a2 = g0 + 2 * c->ldg; \
                const float *restrict a3 = g0 + 3 * c->ldg;                                               \
                for (int64_t j = 0; j < n; j++)                                                           \
                    acc[j] = (((acc[j] + (double)a0[j]) + (double)a1[j]) + (double)a2[j]) + (double)a3[j]; \
            } else {                                                                                      \
                for (int64_t i = 0; i < nr; i++) {                                                        \
                    const float *restrict a = g0 + i * c->ldg;                                            \
                    for (int64_t j = 0; j < n; j++) acc[j] += (double)a[j];                               \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }

AEK_DEF_BWD(0)
AEK_DEF_BWD(1)
AEK_DEF_BWD(2)
AEK_DEF_BWD(3)
AEK_DEF_BWD(4)
AEK_DEF_BWD(5)
AEK_DEF_BWD(6)
AEK_DEF_BWD(7)
AEK_DEF_BWD(8)
AEK_DEF_BWD(9)
AEK_DEF_BWD(10)
AEK_DEF_BWD(11)
AEK_DEF_BWD(12)

static void bwd_row_range(void *vctx, int64_t r0, int64_t r1, int part) {
    (void)part;
    const bwd_ctx *c = (const bwd_ctx *)vctx;
    switch (c->kind) {
    case 0: bwd_rows_0(c, r0, r1); break;
    case 1: bwd_rows_1(c, r0, r1); break;
    case 2: bwd_rows_2(c, r0, r1); break;
    case 3: bwd_rows_3(c, r0, r1); break;
    case 4: bwd_rows_4(c, r0, r1); break;
    case 5: bwd_rows_5(c, r0, r1); break;
    case 6: bwd_rows_6(c, r0, r1); break;
    case 7: bwd_rows_7(c, r0, r1); break;
    case 8: bwd_rows_8(c, r0, r1); break;
    case 9: bwd_rows_9(c, r0, r1); break;
    case 10: bwd_rows_10(c, r0, r1); break;
    case 11: bwd_rows_11(c, r0, r1); break;
    case 12: bwd_rows_12(c, r0, r1); break;
    default: break;
    }
}

static void bwd_col_range(void *vctx, int64_t col0, int64_t col1, int part) {
    (void)part;
    const bwd_ctx *c = (const bwd_ctx *)vctx;
    double acc[AEK_BWD_COLS];
    /* equal blocks (multiples of 16 columns) rather than 512 + a short remainder */
    const int64_t w = col1 - col0, nblocks = (w + AEK_BWD_COLS - 1) / AEK_BWD_COLS;
    int64_t bw = (w + nblocks - 1) / nblocks;
    bw = (bw + 15) / 16 * 16;
    if (bw > AEK_BWD_COLS) bw = AEK_BWD_COLS;
    for (int64_t c0 = col0; c0 < col1; c0 += bw) {
        int64_t c1 = col1 - c0 > bw ? c0 + bw : col1;
        switch (c->kind) {
        case 0: bwd_cols_0(c, c0, c1, acc); break;
        case 1: bwd_cols_1(c, c0, c1, acc); break;
        case 2: bwd_cols_2(c, c0, c1, acc); break;
        case 3: bwd_cols_3(c, c0, c1, acc); break;
        case 4: bwd_cols_4(c, c0, c1, acc); break;
        case 5: bwd_cols_5(c, c0, c1, acc); break;
        case 6: bwd_cols_6(c, c0, c1, acc); break;
        case 7: bwd_cols_7(c, c0, c1, acc); break;
        case 8: bwd_cols_8(c, c0, c1, acc); break;
        case 9: bwd_cols_9(c, c0, c1, acc); break;
        case 10: bwd_cols_10(c, c0, c1, acc); break;
        case 11: bwd_cols_11(c, c0, c1, acc); break;
        case 12: bwd_cols_12(c, c0, c1, acc); break;
        default: break;
        }
        float *db = c->dbias + c0;
        for (int64_t j = 0; j < c1 - c0; j++) db[j] = (float)((double)db[j] + acc[j]);
    }
}

int aek_activation_backward(int64_t rows, int64_t cols, aek_activation act, const float *Z, int64_t ldz,
                            const float *A, int64_t lda, float *G, int64_t ldg, float *dbias, int n_threads) {
    AEK_CHECK(aek_activation_validate(act) == AEK_OK);
    AEK_CHECK(block_ok(rows, cols, Z, ldz));
    AEK_CHECK(block_ok(rows, cols, G, ldg));
    if (A != NULL) AEK_CHECK(block_ok(rows, cols, A, lda)); /* A is accepted but not needed: see top */
    if (rows == 0 || cols == 0) return AEK_OK;
    bwd_ctx c = {Z, G, dbias, ldz, ldg, rows, cols, act_inv_temperature(act), act.alpha, act.kind};
    if (dbias == NULL) {
        int parts = aek_parallel_parts(n_threads, rows, min_rows_per_part(cols));
        aek_parallel_for(parts, rows, bwd_row_range, &c);
    } else {
        int64_t min_cols = AEK_ACT_MIN_WORK / rows;
        if (min_cols < 16) min_cols = 16;
        int parts = aek_parallel_parts(n_threads, cols, min_cols);
        aek_parallel_for(parts, cols, bwd_col_range, &c);
    }
    return AEK_OK;
}
