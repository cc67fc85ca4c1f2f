/* Adam / AdamW, dense and row-sparse (lazy).
 *
 * Per parameter, with t = cfg.step (1-based), b1 = beta1, b2 = beta2, wd = weight_decay:
 *   g  = grad (+ wd * p when decoupled == 0: L2 folded into the gradient)
 *   m  = b1 m + (1 - b1) g
 *   v  = b2 v + (1 - b2) g^2
 *   p -= lr * wd * p                                  (decoupled == 1: AdamW, on the old p)
 *   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * computed as p -= a * m / (sqrt(v) * c + eps) with a = lr / (1 - b1^t), c = 1 / sqrt(1 - b2^t)
 * (the bias corrections are formed in double once per call). */
#include "aek_internal.h"

#include <math.h>

/* No fused multiply-adds: the AVX-512, AVX2 and baseline clones then round identically, so an
 * update is bit-for-bit the same on every x86-64 machine (the loop is memory-bound anyway). */
#pragma STDC FP_CONTRACT OFF

/* sqrtf without the errno side effect (math-errno blocks vectorisation; v >= 0 here anyway). */
#if defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_sqrt)
#define AEK_SQRTF(x) __builtin_elementwise_sqrt(x)
#endif
#endif
#ifndef AEK_SQRTF
#define AEK_SQRTF(x) sqrtf(x)
#endif

typedef struct {
    float b1, omb1, b2, omb2; /* beta and 1 - beta */
    float a;                  /* lr / (1 - b1^t) */
    float c;                  /* 1 / sqrt(1 - b2^t) */
    float eps;
    float l2;                 /* wd when decoupled == 0, else 0 */
    float decay;              /* 1 - lr * wd when decoupled == 1, else 1 */
} aek_adam_coef;

static int aek_adam_prepare(aek_adam cfg, aek_adam_coef *k) {
    if (cfg.step < 1) return AEK_ERR_ARG;
    if (!isfinite(cfg.lr) || !isfinite(cfg.eps) || !(cfg.eps >= 0.0f)) return AEK_ERR_ARG;
    if (!(cfg.beta1 >= 0.0f && cfg.beta1 < 1.0f) || !(cfg.beta2 >= 0.0f && cfg.beta2 < 1.0f)) return AEK_ERR_ARG;
    if (!isfinite(cfg.weight_decay)) return AEK_ERR_ARG;
    if (cfg.decoupled != 0 && cfg.decoupled != 1) return AEK_ERR_ARG;
    double t = (double)cfg.step;
    double bc1 = 1.0 - pow((double)cfg.beta1, t);
    double bc2 = 1.0 - pow((double)cfg.beta2, t);
    /* beta < 1 and t >= 1 give bc > 0, except when beta^t rounds to 1 (beta within 1 ulp of 1). */
    if (!(bc1 > 0.0) || !(bc2 > 0.0)) return AEK_ERR_ARG;
    k->b1 = cfg.beta1;
    k->omb1 = (float)(1.0 - (double)cfg.beta1);
    k->b2 = cfg.beta2;
    k->omb2 = (float)(1.0 - (double)cfg.beta2);
    k->a = (float)((double)cfg.lr / bc1);
    k->c = (float)(1.0 / sqrt(bc2));
    k->eps = cfg.eps;
    k->l2 = cfg.decoupled ? 0.0f : cfg.weight_decay;
    k->decay = cfg.decoupled ? (float)(1.0 - (double)cfg.lr * (double)cfg.weight_decay) : 1.0f;
    return AEK_OK;
}

/* The one update loop both entry points use, so dense and row-sparse results agree bit for bit. */
AEK_CLONES static void aek_adam_span(int64_t n, float *restrict p, const float *restrict g, float *restrict m,
                                     float *restrict v, aek_adam_coef k) {
    for (int64_t i = 0; i < n; i++) {
        float pi = p[i];
        float gi = g[i] + k.l2 * pi;
        float mi = k.b1 * m[i] + k.omb1 * gi;
        float vi = k.b2 * v[i] + k.omb2 * (gi * gi);
        m[i] = mi;
        v[i] = vi;
        p[i] = pi * k.decay - k.a * mi / (AEK_SQRTF(vi) * k.c + k.eps);
    }
}

typedef struct {
    float *param, *m, *v;
    const float *grad;
    aek_adam_coef k;
} aek_adam_dense_ctx;

static void aek_adam_dense_range(void *vctx, int64_t begin, int64_t end, int part) {
    (void)part;
    const aek_adam_dense_ctx *ctx = (const aek_adam_dense_ctx *)vctx;
    aek_adam_span(end - begin, ctx->param + begin, ctx->grad + begin, ctx->m + begin, ctx->v + begin, ctx->k);
}

int aek_adam_dense(int64_t n, float *param, const float *grad, float *m, float *v, aek_adam cfg, int n_threads) {
    AEK_CHECK(n >= 0);
    aek_adam_coef k;
    int st = aek_adam_prepare(cfg, &k);
    if (st != AEK_OK) return st;
    if (n == 0) return AEK_OK;
    AEK_CHECK(param != NULL && grad != NULL && m != NULL && v != NULL);
    aek_adam_dense_ctx ctx = {param, m, v, grad, k};
    aek_parallel_for(aek_parallel_parts(n_threads, n, 1 << 16), n, aek_adam_dense_range, &ctx);
    return AEK_OK;
}

typedef struct {
    const int32_t *rows;
    int64_t row_len, ld;
    float *param, *m, *v;
    const float *grad;
    aek_adam_coef k;
} aek_adam_rows_ctx;

static void aek_adam_rows_range(void *vctx, int64_t begin, int64_t end, int part) {
    (void)part;
    const aek_adam_rows_ctx *ctx = (const aek_adam_rows_ctx *)vctx;
    for (int64_t j = begin; j < end; j++) {
        int64_t off = (int64_t)ctx->rows[j] * ctx->ld;
        aek_adam_span(ctx->row_len, ctx->param + off, ctx->grad + off, ctx->m + off, ctx->v + off, ctx->k);
    }
}

int aek_adam_rows(const int32_t *rows, int64_t n_rows, int64_t n_param_rows, int64_t row_len, float *param,
                  const float *grad, float *m, float *v, int64_t ld, aek_adam cfg, int n_threads) {
    AEK_CHECK(n_rows >= 0 && n_param_rows >= 0 && row_len >= 0 && ld >= row_len);
    aek_adam_coef k;
    int st = aek_adam_prepare(cfg, &k);
    if (st != AEK_OK) return st;
    if (n_rows == 0) return AEK_OK;
    AEK_CHECK(rows != NULL);
    for (int64_t j = 0; j < n_rows; j++) {
        AEK_CHECK(rows[j] >= 0 && rows[j] < n_param_rows);
        AEK_CHECK(j == 0 || rows[j] > rows[j - 1]);
    }
    if (row_len == 0) return AEK_OK;
    AEK_CHECK(param != NULL && grad != NULL && m != NULL && v != NULL);
    aek_adam_rows_ctx ctx = {rows, row_len, ld, param, m, v, grad, k};
    int64_t min_rows = (1 << 16) / row_len + 1;
    aek_parallel_for(aek_parallel_parts(n_threads, n_rows, min_rows), n_rows, aek_adam_rows_range, &ctx);
    return AEK_OK;
}

typedef struct {
    int64_t cols, ld, ldg;
    float *param, *m, *v;
    const float *grad;
    aek_adam_coef k;
} aek_adam_block_ctx;

static void aek_adam_block_range(void *vctx, int64_t begin, int64_t end, int part) {
    (void)part;
    const aek_adam_block_ctx *ctx = (const aek_adam_block_ctx *)vctx;
    for (int64_t r = begin; r < end; r++)
        aek_adam_span(ctx->cols, ctx->param + r * ctx->ld, ctx->grad + r * ctx->ldg, ctx->m + r * ctx->ld,
                      ctx->v + r * ctx->ld, ctx->k);
}

int aek_adam_block(int64_t rows, int64_t cols, float *param, float *m, float *v, int64_t ld, const float *grad,
                   int64_t ldg, aek_adam cfg, int n_threads) {
    AEK_CHECK(rows >= 0 && cols >= 0 && ld >= cols && ldg >= cols);
    aek_adam_coef k;
    int st = aek_adam_prepare(cfg, &k);
    if (st != AEK_OK) return st;
    if (rows == 0 || cols == 0) return AEK_OK;
    AEK_CHECK(param != NULL && grad != NULL && m != NULL && v != NULL);
    aek_adam_block_ctx ctx = {cols, ld, ldg, param, m, v, grad, k};
    int64_t min_rows = (1 << 16) / cols + 1;
    aek_parallel_for(aek_parallel_parts(n_threads, rows, min_rows), rows, aek_adam_block_range, &ctx);
    return AEK_OK;
}

/* ------------------------------------------------------------- gradient product fused with Adam */
#include <cblas.h>
#include <string.h>

typedef struct {
    int64_t rows, cols, n, lda, ldg, ld, ldda, per_part, width;
    const float *a;
    float *g, *param, *m, *v, *da, *scratch, *partials;
    aek_adam_coef k;
    int update, clear;
} aek_outer_adam_ctx;

/* Columns [begin, end) of the parameter, `width` columns at a time, on one thread. Per block:
 * (da) this part's partial da (+)= g_block param_block^T with the parameter before the step (part 0
 * into da, the others into their slice of `partials`); (update) the block of a^T g in the part's
 * scratch slice and Adam on it; (clear) the block's columns of g set to zero. */
static void aek_outer_adam_range(void *vctx, int64_t begin, int64_t end, int part) {
    const aek_outer_adam_ctx *c = (const aek_outer_adam_ctx *)vctx;
    float *s = c->scratch + (int64_t)part * c->per_part;
    float *dap = part == 0 ? c->da : c->partials + (int64_t)(part - 1) * c->n * c->rows;
    const int64_t ldp = part == 0 ? c->ldda : c->rows;
    int first = 1;
    for (int64_t c0 = begin; c0 < end; c0 += c->width) {
        int64_t w = end - c0 < c->width ? end - c0 : c->width;
        if (c->da)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)c->n, (int)c->rows, (int)w, 1.0f, c->g + c0,
                        (int)c->ldg, c->param + c0, (int)c->ld, first ? 0.0f : 1.0f, dap, (int)ldp);
        first = 0;
        if (c->update) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c->rows, (int)w, (int)c->n, 1.0f, c->a,
                        (int)c->lda, c->g + c0, (int)c->ldg, 0.0f, s, (int)w);
            for (int64_t r = 0; r < c->rows; r++)
                aek_adam_span(w, c->param + r * c->ld + c0, s + r * w, c->m + r * c->ld + c0, c->v + r * c->ld + c0,
                              c->k);
        }
        if (c->clear)
            for (int64_t i = 0; i < c->n; i++) memset(c->g + i * c->ldg + c0, 0, (size_t)w * sizeof(float));
    }
}

/* The column partition and blocks, from the sizes, the scratch and the thread count only (so the
 * da-only call of the unfused path blocks exactly as the fused one): parts of at least 256 columns,
 * the da partials of parts 1.. first in the scratch, then one slice per part of at least one column. */
static int aek_outer_plan(int64_t rows, int64_t cols, int64_t n, int with_da, int64_t scratch_floats, int n_threads,
                          int *parts_out, int64_t *per_part, int64_t *width) {
    int parts = aek_parallel_parts(n_threads, cols, 256);
    for (;; parts--) {
        int64_t partials = with_da ? (int64_t)(parts - 1) * n * rows : 0;
        int64_t left = scratch_floats - partials;
        if (left >= (int64_t)parts * rows) {
            *per_part = left / parts;
            break;
        }
        if (parts == 1) return AEK_ERR_ARG;
    }
    *parts_out = parts;
    *width = *per_part / rows;
    return AEK_OK;
}

int aek_outer_product_adam_da(int64_t rows, int64_t cols, int64_t n, const float *a, int64_t lda, float *g,
                              int64_t ldg, float *param, float *m, float *v, int64_t ld, float *da, int64_t ldda,
                              float *scratch, int64_t scratch_floats, aek_adam cfg, int update, int clear_g,
                              int n_threads) {
    AEK_CHECK(rows >= 0 && cols >= 0 && n >= 0 && ld >= cols && ldg >= cols);
    AEK_CHECK(rows <= INT32_MAX && cols <= INT32_MAX && n <= INT32_MAX && ldg <= INT32_MAX && ld <= INT32_MAX);
    AEK_CHECK(update == 0 || update == 1);
    AEK_CHECK(da == NULL || (ldda >= rows && ldda <= INT32_MAX));
    AEK_CHECK(update || da != NULL);
    aek_adam_coef k = {0};
    if (update) {
        AEK_CHECK(lda >= rows && lda <= INT32_MAX);
        int st = aek_adam_prepare(cfg, &k);
        if (st != AEK_OK) return st;
    }
    if (rows == 0) return AEK_OK;
    if (cols == 0) {
        /* no columns: da = 0 (an empty sum) */
        if (da)
            for (int64_t i = 0; i < n; i++) memset(da + i * ldda, 0, (size_t)rows * sizeof(float));
        return AEK_OK;
    }
    AEK_CHECK(param != NULL && scratch != NULL && (!update || (m != NULL && v != NULL)) &&
              (n == 0 || g != NULL) && (n == 0 || !update || a != NULL));
    if (n == 0) {
        if (!update) return AEK_OK;
        /* a zero gradient: Adam still moves (momentum); the product is all zeros */
        AEK_CHECK(scratch_floats >= cols);
        memset(scratch, 0, (size_t)cols * sizeof(float));
        for (int64_t r = 0; r < rows; r++)
            aek_adam_span(cols, param + r * ld, scratch, m + r * ld, v + r * ld, k);
        return AEK_OK;
    }
    int parts;
    int64_t per_part, width;
    if (aek_outer_plan(rows, cols, n, da != NULL, scratch_floats, n_threads, &parts, &per_part, &width) != AEK_OK)
        return AEK_ERR_ARG;
    int64_t partials = da ? (int64_t)(parts - 1) * n * rows : 0;
    aek_outer_adam_ctx ctx = {rows, cols, n, lda, ldg, ld, ldda, per_part, width, a, g, param, m, v, da,
                              scratch + partials, scratch, k, update, clear_g != 0};
    int prev = openblas_get_num_threads();
    if (prev != 1) openblas_set_num_threads(1);
    aek_parallel_for(parts, cols, aek_outer_adam_range, &ctx);
    if (prev != 1) openblas_set_num_threads(prev);
    /* da = the parts' partial sums in part order (part 0 wrote da) */
    if (da)
        for (int p = 1; p < parts; p++) {
            const float *dp = scratch + (int64_t)(p - 1) * n * rows;
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < rows; j++) da[i * ldda + j] += dp[i * rows + j];
        }
    return AEK_OK;
}

int aek_outer_product_adam(int64_t rows, int64_t cols, int64_t n, const float *a, int64_t lda, float *g, int64_t ldg,
                           float *param, float *m, float *v, int64_t ld, float *scratch, int64_t scratch_floats,
                           aek_adam cfg, int clear_g, int n_threads) {
    return aek_outer_product_adam_da(rows, cols, n, a, lda, g, ldg, param, m, v, ld, NULL, 0, scratch, scratch_floats,
                                     cfg, 1, clear_g, n_threads);
}
