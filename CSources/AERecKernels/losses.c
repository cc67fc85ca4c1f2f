/*
 * losses.c — reconstruction losses and the Gaussian KL term, each fused with its gradient.
 *
 * Every function validates its arguments first (sizes, pointers, leading dimensions, the CSR
 * row pointers, and the column indices wherever they address dense memory) and returns
 * AEK_ERR_ARG before reading or writing anything else.
 *
 * Sums: long sums run in float64. Inside a row, the dense sums use AEK_LOSS_LANES independent
 * float64 accumulators (element j goes to lane j % AEK_LANES) combined in lane order, so the
 * vectorized loops have a fixed, compiler-independent summation order. Row losses are summed in
 * row order within each thread's contiguous range of rows and the per-thread partial sums are
 * combined in part order: the loss is deterministic for a given thread count (and the gradients,
 * written elementwise, are identical for every thread count).
 *
 * Duplicate column indices within a row act additively (as if their values were summed), in the
 * loss and in the gradient.
 */
#include "aek_internal.h"
#include "aek_vecmath.h"

#include <math.h>
#include <stdlib.h>

#define AEK_LANES 16
/* Minimum elements per thread before another thread is worth creating. */
#define AEK_LOSS_MIN_WORK 65536

/* ------------------------------------------------------------------ argument checks */

/* CSR row pointers (and, if check_indices, columns in [0, n_cols)). O(n_rows [+ nnz]). */
static int csr_ok(const aek_csr *x, int check_indices) {
    if (x->n_rows < 0 || x->n_cols < 0 || x->indptr == NULL) return 0;
    if (x->indptr[0] < 0) return 0;
    for (int64_t r = 0; r < x->n_rows; r++)
        if (x->indptr[r + 1] < x->indptr[r]) return 0;
    int64_t k0 = x->indptr[0], k1 = x->indptr[x->n_rows];
    if (k1 > k0 && x->indices == NULL) return 0;
    if (check_indices) {
        const int32_t *ind = x->indices;
        int64_t nc = x->n_cols;
        for (int64_t k = k0; k < k1; k++)
            if (ind[k] < 0 || (int64_t)ind[k] >= nc) return 0;
    }
    return 1;
}

static int block_ok(int64_t rows, int64_t cols, const void *p, int64_t ld) {
    if (rows < 0 || cols < 0) return 0;
    if (rows == 0 || cols == 0) return 1;
    if (p == NULL || ld < cols) return 0;
    if (ld > INT64_MAX / rows) return 0;
    return 1;
}

static int64_t min_rows_per_part(int64_t cols) {
    int64_t m = cols > 0 ? AEK_LOSS_MIN_WORK / cols : 1;
    return m < 1 ? 1 : m;
}

AEK_INLINE double target_value(const float *values, int64_t k) { return values ? (double)values[k] : 1.0; }

/* ------------------------------------------------------------------ row primitives */

/* max over z[0..n), n >= 1 */
AEK_INLINE float row_max(const float *restrict z, int64_t n) {
    float mx[AEK_LANES];
    for (int k = 0; k < AEK_LANES; k++) mx[k] = -INFINITY;
    int64_t j = 0;
    for (; j + AEK_LANES <= n; j += AEK_LANES)
        for (int k = 0; k < AEK_LANES; k++) mx[k] = z[j + k] > mx[k] ? z[j + k] : mx[k];
    float m = -INFINITY;
    for (; j < n; j++) m = z[j] > m ? z[j] : m;
    for (int k = 0; k < AEK_LANES; k++) m = mx[k] > m ? mx[k] : m;
    return m;
}

AEK_INLINE double lanes_total(const double *acc, double tail) {
    double s = 0.0;
    for (int k = 0; k < AEK_LANES; k++) s += acc[k];
    return s + tail;
}

/* The dense float64 sums: element j goes to lane j % AEK_LANES, lanes combined in order. A block
 * of values is first computed by a plain (loop-vectorized, full-width) loop into z or a stack
 * buffer, then added to the lanes; the final n % AEK_LANES elements go to `tail`. */
#define AEK_BLOCK 512 /* multiple of AEK_LANES */

AEK_INLINE void lanes_add(double *restrict acc, const float *restrict v, int64_t b) {
    for (int64_t i = 0; i < b; i += AEK_LANES)
        for (int k = 0; k < AEK_LANES; k++) acc[k] += (double)v[i + k];
}

/* sum_j exp(z[j] - m) in float64; if store, z[j] <- exp(z[j] - m). */
AEK_INLINE double row_sumexp(float *restrict z, int64_t n, float m, int store) {
    double acc[AEK_LANES];
    for (int k = 0; k < AEK_LANES; k++) acc[k] = 0.0;
    float buf[AEK_BLOCK];
    const int64_t nl = n - n % AEK_LANES;
    for (int64_t j0 = 0; j0 < nl; j0 += AEK_BLOCK) {
        const int64_t b = nl - j0 < AEK_BLOCK ? nl - j0 : AEK_BLOCK;
        float *restrict zb = z + j0;
        if (store) {
            for (int64_t i = 0; i < b; i++) zb[i] = aek_vm_exp_neg(zb[i] - m);
            lanes_add(acc, zb, b);
        } else {
            for (int64_t i = 0; i < b; i++) buf[i] = aek_vm_exp_neg(zb[i] - m);
            lanes_add(acc, buf, b);
        }
    }
    double tail = 0.0;
    for (int64_t j = nl; j < n; j++) {
        float e = aek_vm_exp_neg(z[j] - m);
        if (store) z[j] = e;
        tail += (double)e;
    }
    return lanes_total(acc, tail);
}

/* ------------------------------------------------------------------ multinomial NLL */

typedef struct {
    aek_csr x;
    float *Z;
    int64_t ldz;
    const float *bias; /* multinomial only */
    float scale;
    int write_grad;
    double partial[256];
} mnll_ctx;

/* z[j] += b[j] and the max of the result (row_max's lanes and comparisons, so the same max), n >= 1. */
AEK_INLINE float row_add_max(float *restrict z, const float *restrict b, int64_t n) {
    float mx[AEK_LANES];
    for (int k = 0; k < AEK_LANES; k++) mx[k] = -INFINITY;
    int64_t j = 0;
    for (; j + AEK_LANES <= n; j += AEK_LANES)
        for (int k = 0; k < AEK_LANES; k++) {
            float v = z[j + k] + b[j + k];
            z[j + k] = v;
            mx[k] = v > mx[k] ? v : mx[k];
        }
    float m = -INFINITY;
    for (; j < n; j++) {
        float v = z[j] + b[j];
        z[j] = v;
        m = v > m ? v : m;
    }
    for (int k = 0; k < AEK_LANES; k++) m = mx[k] > m ? mx[k] : m;
    return m;
}

/* One row: loss_r = sum_k x_k (m - z_k) + n_r log S with m = max z, S = sum_j e^(z_j - m),
 * i.e. -sum_k x_k log_softmax(z)_k without forming log(softmax). Gradient (in place):
 * z_j <- e^(z_j - m) * (scale n_r / S), then z_k -= scale x_k at the targets. */
AEK_CLONES static double mnll_row(float *restrict z, int64_t n, const float *restrict bias, const int32_t *ind,
                                  const float *val, int64_t k0, int64_t k1, float scale, int write_grad) {
    if (n == 0) return 0.0;
    if (k1 == k0) { /* no targets: n_r = 0, loss 0, gradient 0 */
        if (write_grad)
            for (int64_t j = 0; j < n; j++) z[j] = 0.0f;
        else if (bias)
            for (int64_t j = 0; j < n; j++) z[j] += bias[j];
        return 0.0;
    }
    float m = bias ? row_add_max(z, bias, n) : row_max(z, n);
    double nr = 0.0, dot = 0.0;
    for (int64_t k = k0; k < k1; k++) {
        double xv = target_value(val, k);
        nr += xv;
        dot += xv * ((double)m - (double)z[ind[k]]);
    }
    double S = row_sumexp(z, n, m, write_grad);
    double loss = dot + nr * log(S);
    if (write_grad) {
        float c = (float)((double)scale * nr / S);
        for (int64_t j = 0; j < n; j++) z[j] *= c;
        for (int64_t k = k0; k < k1; k++) z[ind[k]] -= (float)((double)scale * target_value(val, k));
    }
    return loss;
}

static void mnll_range(void *vctx, int64_t r0, int64_t r1, int part) {
    mnll_ctx *c = (mnll_ctx *)vctx;
    double s = 0.0;
    for (int64_t r = r0; r < r1; r++)
        s += mnll_row(c->Z + r * c->ldz, c->x.n_cols, c->bias, c->x.indices, c->x.values, c->x.indptr[r],
                      c->x.indptr[r + 1], c->scale, c->write_grad);
    c->partial[part] = s;
}

int aek_multinomial_nll(aek_csr x, float *Z, int64_t ldz, float scale, int write_grad, double *loss,
                        int n_threads) {
    return aek_multinomial_nll_bias(x, Z, ldz, NULL, scale, write_grad, loss, n_threads);
}

int aek_multinomial_nll_bias(aek_csr x, float *Z, int64_t ldz, const float *bias, float scale, int write_grad,
                             double *loss, int n_threads) {
    AEK_CHECK(loss != NULL);
    AEK_CHECK(csr_ok(&x, 1));
    AEK_CHECK(block_ok(x.n_rows, x.n_cols, Z, ldz));
    if (x.n_rows == 0 || x.n_cols == 0) return AEK_OK;
    mnll_ctx c;
    c.x = x;
    c.Z = Z;
    c.ldz = ldz;
    c.bias = bias;
    c.scale = scale;
    c.write_grad = write_grad != 0;
    int parts = aek_parallel_parts(n_threads, x.n_rows, min_rows_per_part(x.n_cols));
    aek_parallel_for(parts, x.n_rows, mnll_range, &c);
    double total = 0.0;
    for (int p = 0; p < parts; p++) total += c.partial[p];
    *loss += (double)scale * total;
    return AEK_OK;
}

/* ------------------------------------------------------------------ sigmoid BCE */

typedef mnll_ctx bce_ctx;

/* buf[i] = softplus(z[i]); if write_grad, z[i] <- scale sigmoid(z[i]) (one shared exp). */
AEK_INLINE void bce_block(float *restrict z, int64_t b, float *restrict buf, float scale, int write_grad) {
    if (write_grad) {
        for (int64_t i = 0; i < b; i++) {
            float u = z[i];
            float e = aek_vm_exp_neg(-aek_vm_abs(u));
            buf[i] = (u > 0.0f ? u : 0.0f) + aek_vm_log1p01(e);
            z[i] = scale * ((u >= 0.0f ? 1.0f : e) / (1.0f + e));
        }
    } else {
        for (int64_t i = 0; i < b; i++) buf[i] = aek_vm_softplus(z[i]);
    }
}

/* One row: loss_r = sum_j softplus(z_j) - sum_k y_k z_k; gradient scale (sigmoid(z) - y).
 * The target dot product reads z before the dense pass overwrites it. */
AEK_CLONES static double bce_row(float *restrict z, int64_t n, const int32_t *ind, const float *val, int64_t k0,
                                 int64_t k1, float scale, int write_grad) {
    double dot = 0.0, tail = 0.0;
    for (int64_t k = k0; k < k1; k++) dot += target_value(val, k) * (double)z[ind[k]];
    double acc[AEK_LANES];
    for (int k = 0; k < AEK_LANES; k++) acc[k] = 0.0;
    float buf[AEK_BLOCK];
    const int64_t nl = n - n % AEK_LANES;
    for (int64_t j0 = 0; j0 < nl; j0 += AEK_BLOCK) {
        const int64_t b = nl - j0 < AEK_BLOCK ? nl - j0 : AEK_BLOCK;
        bce_block(z + j0, b, buf, scale, write_grad);
        lanes_add(acc, buf, b);
    }
    if (n > nl) {
        bce_block(z + nl, n - nl, buf, scale, write_grad);
        for (int64_t i = 0; i < n - nl; i++) tail += (double)buf[i];
    }
    double loss = lanes_total(acc, tail) - dot;
    if (write_grad)
        for (int64_t k = k0; k < k1; k++) z[ind[k]] -= (float)((double)scale * target_value(val, k));
    return loss;
}

static void bce_range(void *vctx, int64_t r0, int64_t r1, int part) {
    bce_ctx *c = (bce_ctx *)vctx;
    double s = 0.0;
    for (int64_t r = r0; r < r1; r++)
        s += bce_row(c->Z + r * c->ldz, c->x.n_cols, c->x.indices, c->x.values, c->x.indptr[r], c->x.indptr[r + 1],
                     c->scale, c->write_grad);
    c->partial[part] = s;
}

int aek_sigmoid_bce(aek_csr y, float *Z, int64_t ldz, float scale, int write_grad, double *loss, int n_threads) {
    AEK_CHECK(loss != NULL);
    AEK_CHECK(csr_ok(&y, 1));
    AEK_CHECK(block_ok(y.n_rows, y.n_cols, Z, ldz));
    if (y.n_rows == 0 || y.n_cols == 0) return AEK_OK;
    bce_ctx c;
    c.x = y;
    c.Z = Z;
    c.ldz = ldz;
    c.scale = scale;
    c.write_grad = write_grad != 0;
    int parts = aek_parallel_parts(n_threads, y.n_rows, min_rows_per_part(y.n_cols));
    aek_parallel_for(parts, y.n_rows, bce_range, &c);
    double total = 0.0;
    for (int p = 0; p < parts; p++) total += c.partial[p];
    *loss += (double)scale * total;
    return AEK_OK;
}

/* ------------------------------------------------------------------ masked squared error */

int aek_masked_squared_error(aek_csr y, const float *pred, float scale, float *grad, double *loss) {
    AEK_CHECK(loss != NULL);
    AEK_CHECK(csr_ok(&y, 0)); /* pred is aligned with the entries: columns are not dereferenced */
    if (y.n_rows == 0) return AEK_OK;
    int64_t k0 = y.indptr[0], k1 = y.indptr[y.n_rows];
    if (k1 == k0) return AEK_OK;
    AEK_CHECK(pred != NULL);
    const double s2 = 2.0 * (double)scale;
    double total = 0.0;
    for (int64_t k = k0; k < k1; k++) {
        double d = (double)pred[k] - target_value(y.values, k);
        total += d * d;
        if (grad) grad[k] = (float)(s2 * d); /* pred[k] is read first, so grad may equal pred */
    }
    *loss += (double)scale * total;
    return AEK_OK;
}

typedef struct {
    aek_csr y;
    float *Z;
    int64_t ldz;
    float scale;
    int write_grad;
    float *scratch;       /* per part, max_row_nnz floats each; NULL when every row is strictly ascending */
    int64_t scratch_len;  /* floats per part */
    double partial[256];
} mse_ctx;

static int row_strictly_ascending(const int32_t *ind, int64_t k0, int64_t k1) {
    for (int64_t k = k0 + 1; k < k1; k++)
        if (ind[k] <= ind[k - 1]) return 0;
    return 1;
}

static double mse_row(float *z, int64_t n, const int32_t *ind, const float *val, int64_t k0, int64_t k1,
                      float scale, int write_grad, float *scratch) {
    const double s2 = 2.0 * (double)scale;
    double loss = 0.0;
    if (!write_grad) {
        for (int64_t k = k0; k < k1; k++) {
            double d = (double)z[ind[k]] - target_value(val, k);
            loss += d * d;
        }
        return loss;
    }
    if (row_strictly_ascending(ind, k0, k1)) {
        /* merge walk: zero the gaps, write the gradient at the observed columns */
        int64_t next = 0;
        for (int64_t k = k0; k < k1; k++) {
            int64_t i = ind[k];
            for (int64_t j = next; j < i; j++) z[j] = 0.0f;
            double d = (double)z[i] - target_value(val, k);
            loss += d * d;
            z[i] = (float)(s2 * d);
            next = i + 1;
        }
        for (int64_t j = next; j < n; j++) z[j] = 0.0f;
        return loss;
    }
    /* unsorted or duplicated columns: keep the per-entry gradients aside, then zero and scatter */
    for (int64_t k = k0; k < k1; k++) {
        double d = (double)z[ind[k]] - target_value(val, k);
        loss += d * d;
        scratch[k - k0] = (float)(s2 * d);
    }
    for (int64_t j = 0; j < n; j++) z[j] = 0.0f;
    for (int64_t k = k0; k < k1; k++) z[ind[k]] += scratch[k - k0];
    return loss;
}

static void mse_range(void *vctx, int64_t r0, int64_t r1, int part) {
    mse_ctx *c = (mse_ctx *)vctx;
    float *scratch = c->scratch ? c->scratch + (int64_t)part * c->scratch_len : NULL;
    double s = 0.0;
    for (int64_t r = r0; r < r1; r++)
        s += mse_row(c->Z + r * c->ldz, c->y.n_cols, c->y.indices, c->y.values, c->y.indptr[r], c->y.indptr[r + 1],
                     c->scale, c->write_grad, scratch);
    c->partial[part] = s;
}

int aek_masked_squared_error_dense(aek_csr y, float *Z, int64_t ldz, float scale, int write_grad, double *loss,
                                   int n_threads) {
    AEK_CHECK(loss != NULL);
    AEK_CHECK(csr_ok(&y, 1));
    AEK_CHECK(block_ok(y.n_rows, y.n_cols, Z, ldz));
    if (y.n_rows == 0 || y.n_cols == 0) return AEK_OK;
    mse_ctx c;
    c.y = y;
    c.Z = Z;
    c.ldz = ldz;
    c.scale = scale;
    c.write_grad = write_grad != 0;
    c.scratch = NULL;
    c.scratch_len = 0;
    int parts = aek_parallel_parts(n_threads, y.n_rows, min_rows_per_part(y.n_cols));
    if (c.write_grad) {
        int64_t need = 0; /* longest row that is not strictly ascending */
        for (int64_t r = 0; r < y.n_rows; r++) {
            int64_t k0 = y.indptr[r], k1 = y.indptr[r + 1];
            if (k1 - k0 > need && !row_strictly_ascending(y.indices, k0, k1)) need = k1 - k0;
        }
        if (need > 0) {
            c.scratch = (float *)malloc((size_t)need * (size_t)parts * sizeof(float));
            if (c.scratch == NULL) return AEK_ERR_NOMEM;
            c.scratch_len = need;
        }
    }
    aek_parallel_for(parts, y.n_rows, mse_range, &c);
    free(c.scratch);
    double total = 0.0;
    for (int p = 0; p < parts; p++) total += c.partial[p];
    *loss += (double)scale * total;
    return AEK_OK;
}

/* ------------------------------------------------------------------ Gaussian KL */

/* buf[i] = mu^2 + (e^lv - 1) - lv, formed in float64 (each term is >= 0; expm1 keeps
 * e^lv - 1 - lv accurate near lv = 0). */
AEK_INLINE void kl_block(const float *restrict mu, const float *restrict lv, int64_t b, double *restrict buf) {
    for (int64_t i = 0; i < b; i++) {
        double m = (double)mu[i];
        buf[i] = m * m + ((double)aek_vm_expm1(lv[i]) - (double)lv[i]);
    }
}

AEK_CLONES static double kl_row(const float *restrict mu, const float *restrict lv, int64_t n) {
    double acc[AEK_LANES];
    for (int k = 0; k < AEK_LANES; k++) acc[k] = 0.0;
    double buf[AEK_BLOCK];
    double tail = 0.0;
    const int64_t nl = n - n % AEK_LANES;
    for (int64_t j0 = 0; j0 < nl; j0 += AEK_BLOCK) {
        const int64_t b = nl - j0 < AEK_BLOCK ? nl - j0 : AEK_BLOCK;
        kl_block(mu + j0, lv + j0, b, buf);
        for (int64_t i = 0; i < b; i += AEK_LANES)
            for (int k = 0; k < AEK_LANES; k++) acc[k] += buf[i + k];
    }
    if (n > nl) {
        kl_block(mu + nl, lv + nl, n - nl, buf);
        for (int64_t i = 0; i < n - nl; i++) tail += buf[i];
    }
    return lanes_total(acc, tail);
}

AEK_CLONES static void kl_grad_row(const float *restrict mu, const float *restrict lv, int64_t n, float scale,
                                   float *restrict dmu, float *restrict dlv) {
    if (dmu)
        for (int64_t j = 0; j < n; j++) dmu[j] += scale * mu[j];
    if (dlv) {
        const float h = 0.5f * scale;
        for (int64_t j = 0; j < n; j++) dlv[j] += h * aek_vm_expm1(lv[j]);
    }
}

int aek_gaussian_kl(int64_t rows, int64_t cols, const float *mu, int64_t ldmu, const float *logvar, int64_t ldlv,
                    float scale, float *dmu, int64_t lddmu, float *dlogvar, int64_t lddlv, double *loss) {
    AEK_CHECK(loss != NULL);
    AEK_CHECK(block_ok(rows, cols, mu, ldmu));
    AEK_CHECK(block_ok(rows, cols, logvar, ldlv));
    if (dmu != NULL) AEK_CHECK(block_ok(rows, cols, dmu, lddmu));
    if (dlogvar != NULL) AEK_CHECK(block_ok(rows, cols, dlogvar, lddlv));
    if (rows == 0 || cols == 0) return AEK_OK;
    double total = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        const float *m = mu + r * ldmu, *lv = logvar + r * ldlv;
        total += kl_row(m, lv, cols);
        if (dmu || dlogvar)
            kl_grad_row(m, lv, cols, scale, dmu ? dmu + r * lddmu : NULL, dlogvar ? dlogvar + r * lddlv : NULL);
    }
    *loss += (double)scale * 0.5 * total;
    return AEK_OK;
}

/* ------------------------------------------------------------------ softmax output layer, blocked */
#include <cblas.h>
#include <string.h>

/* Logits per column block: 2^19 floats (2 MiB, this machine class's L2), in columns of 16. */
#define AEK_OUT_BLOCK_FLOATS ((int64_t)1 << 19)
#define AEK_OUT_MIN_PART_COLS 256

static int64_t out_block_width(int64_t rows) {
    int64_t w = AEK_OUT_BLOCK_FLOATS / (rows > 0 ? rows : 1);
    w -= w % 16;
    return w < 64 ? 64 : (w > 4096 ? 4096 : w);
}

/* Per-part scratch layout, in floats (every section a multiple of 16 floats: 64-byte aligned when
 * the scratch is): the extended weight-gradient block ((hidden + 1) x width: a^T G and, last row, the
 * bias gradient), the scaled activations [f_r a_r | f_r] (rows x (hidden + 1)), the block's product
 * E W^T (rows x hidden), the da partial (rows x hidden; part 0 writes da itself but keeps the
 * layout), block maxima (rows x max_blocks), row max, row sum of exponentials and target dot (rows
 * doubles each), one gradient row (width). Then a global section: per-row max and coefficient. */
typedef struct {
    int64_t width, max_blocks, dw, af, t, dap, bmax, rmax, rsum, rdot, grow, per_part, global;
} out_layout;

static int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }

static out_layout out_plan(int64_t rows, int64_t cols, int64_t hidden, int parts) {
    out_layout L;
    L.width = out_block_width(rows);
    int64_t part_cols = (cols + parts - 1) / parts;
    if (L.width > part_cols) L.width = round16(part_cols);
    L.max_blocks = (part_cols + L.width - 1) / L.width;
    if (L.max_blocks < 1) L.max_blocks = 1;
    L.dw = 0;
    L.af = L.dw + round16((hidden + 1) * L.width);
    L.t = L.af + round16(rows * (hidden + 1));
    L.dap = L.t + round16(rows * hidden);
    L.bmax = L.dap + round16(rows * hidden);
    L.rmax = L.bmax + round16(rows * L.max_blocks);
    L.rsum = L.rmax + round16(2 * rows);
    L.rdot = L.rsum + round16(2 * rows);
    L.grow = L.rdot + round16(2 * rows);
    L.per_part = L.grow + round16(L.width);
    L.global = round16(4 * rows);
    return L;
}

static int out_parts(int n_threads, int64_t cols) {
    return aek_parallel_parts(n_threads, cols, AEK_OUT_MIN_PART_COLS);
}

int64_t aek_softmax_output_scratch_floats(int64_t rows, int64_t cols, int64_t hidden, int n_threads) {
    if (rows < 0 || cols < 0 || hidden < 0) return -1;
    int parts = out_parts(n_threads, cols);
    out_layout L = out_plan(rows, cols, hidden, parts);
    return parts * L.per_part + L.global;
}

typedef struct {
    aek_csr x;
    int64_t rows, cols, hidden, lda, ldw, ldz, ldda;
    const float *a, *bias;
    float *W, *m, *v, *Z, *da, *bias_grad, *scratch;
    float scale;
    aek_adam_coef k;
    out_layout L;
    const double *row_max, *row_coef; /* global: merged max and scale n_r / S_r */
} out_ctx;

/* Targets of row r inside columns [c0, c0 + w): calls body(j - c0, x_k). */
#define AEK_FOR_TARGETS_IN(c, r, c0, w, BODY)                                                           \
    for (int64_t k_ = (c)->x.indptr[r]; k_ < (c)->x.indptr[(r) + 1]; k_++) {                           \
        int64_t j_ = (int64_t)(c)->x.indices[k_] - (c0);                                                \
        if (j_ >= 0 && j_ < (w)) {                                                                      \
            const int64_t jj = j_;                                                                      \
            const double xv = target_value((c)->x.values, k_);                                          \
            BODY;                                                                                       \
        }                                                                                               \
    }

/* Pass 1 on one part's columns: per block, logits = a W[:, block] (+ bias), each row's block max m_b,
 * the dot of the row's targets with its logits, and Z <- exp(logit - m_b) with its float64 sum,
 * merged into the part's running (max, sum) per row. */
AEK_CLONES static void out_pass1(void *vctx, int64_t begin, int64_t end, int part) {
    const out_ctx *c = (const out_ctx *)vctx;
    const out_layout *L = &c->L;
    float *s = c->scratch + (int64_t)part * L->per_part;
    float *bmax = s + L->bmax;
    double *rmax = (double *)(s + L->rmax), *rsum = (double *)(s + L->rsum), *rdot = (double *)(s + L->rdot);
    for (int64_t r = 0; r < c->rows; r++) {
        rmax[r] = -INFINITY;
        rsum[r] = 0.0;
        rdot[r] = 0.0;
    }
    int64_t blk = 0;
    for (int64_t c0 = begin; c0 < end; c0 += L->width, blk++) {
        const int64_t w = end - c0 < L->width ? end - c0 : L->width;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->rows, (int)w, (int)c->hidden, 1.0f, c->a,
                    (int)c->lda, c->W + c0, (int)c->ldw, 0.0f, c->Z + c0, (int)c->ldz);
        for (int64_t r = 0; r < c->rows; r++) {
            float *restrict z = c->Z + r * c->ldz + c0;
            const float mb = c->bias ? row_add_max(z, c->bias + c0, w) : row_max(z, w);
            double dot = 0.0;
            AEK_FOR_TARGETS_IN(c, r, c0, w, dot += xv * (double)z[jj]);
            rdot[r] += dot;
            const double sb = row_sumexp(z, w, mb, 1);
            bmax[r * L->max_blocks + blk] = mb;
            const double M = rmax[r];
            if (!((double)mb > M)) {
                rsum[r] += sb * exp((double)mb - M);
            } else {
                rsum[r] = (M == -INFINITY ? 0.0 : rsum[r] * exp(M - (double)mb)) + sb;
                rmax[r] = (double)mb;
            }
        }
    }
}

/* The largest |scale x / f| folded into an exponential (see out_pass2); beyond it the row's block
 * takes the explicit path. */
#define AEK_OUT_FOLD_MAX 1e30

/* Pass 2 on one part's columns, per block, with E the block's exponentials exp(logit - m_b) and
 * f_r = scale n_r exp(m_b - M_r) / S_r, so that the gradient is G = diag(f) E - scale X:
 *   - each target's -scale x is folded into E as E[r,j] -= scale x / f_r (exact up to one rounding of
 *     the target's gradient: f_r times it gives f_r E - scale x), so no pass rewrites the block;
 *   - [dW | bias gradient] = [diag(f) a | f]^T E       (one product, the bias gradient its last row)
 *   - da (+)= diag(f) (E W[:, block]^T)               (with the weights before the step)
 *   - Adam on W[:, block] with dW.
 * A row whose f_r is 0 or too small to fold a target into (|scale x / f| > AEK_OUT_FOLD_MAX: a block
 * whose logits sit ~ 70 below the row's maximum) gets a zero row in the scaled activations and its
 * gradient row formed explicitly, added by rank-1 updates. */
AEK_CLONES static void out_pass2(void *vctx, int64_t begin, int64_t end, int part) {
    const out_ctx *c = (const out_ctx *)vctx;
    const out_layout *L = &c->L;
    const int64_t h = c->hidden, h1 = h + 1;
    float *s = c->scratch + (int64_t)part * L->per_part;
    float *dw = s + L->dw, *af = s + L->af, *T = s + L->t, *bmax = s + L->bmax, *grow = s + L->grow;
    float *dap = part == 0 ? c->da : s + L->dap;
    const int64_t ldp = part == 0 ? c->ldda : h;
    int64_t blk = 0;
    for (int64_t c0 = begin; c0 < end; c0 += L->width, blk++) {
        const int64_t w = end - c0 < L->width ? end - c0 : L->width;
        float *E = c->Z + c0;
        for (int64_t r = 0; r < c->rows; r++) {
            const double fd = c->row_coef[r] * exp((double)bmax[r * L->max_blocks + blk] - c->row_max[r]);
            const float f = (float)fd;
            float *z = E + r * c->ldz;
            int fold = f > 0.0f;
            AEK_FOR_TARGETS_IN(c, r, c0, w, if (!((double)c->scale * xv / (double)f <= AEK_OUT_FOLD_MAX)) fold = 0);
            float *ar = af + r * h1;
            const float *a = c->a + r * c->lda;
            if (fold) {
                AEK_FOR_TARGETS_IN(c, r, c0, w, z[jj] = (float)((double)z[jj] - (double)c->scale * xv / (double)f));
                for (int64_t i = 0; i < h; i++) ar[i] = f * a[i];
                ar[h] = f;
            } else {
                for (int64_t i = 0; i < h1; i++) ar[i] = 0.0f;
            }
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)h1, (int)w, (int)c->rows, 1.0f, af, (int)h1, E,
                    (int)c->ldz, 0.0f, dw, (int)w);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)c->rows, (int)h, (int)w, 1.0f, E, (int)c->ldz,
                    c->W + c0, (int)c->ldw, 0.0f, T, (int)h);
        for (int64_t r = 0; r < c->rows; r++) {
            const float f = af[r * h1 + h];
            float *d = dap + r * ldp;
            const float *t = T + r * h;
            if (f != 0.0f) {
                if (blk == 0)
                    for (int64_t i = 0; i < h; i++) d[i] = f * t[i];
                else
                    for (int64_t i = 0; i < h; i++) d[i] += f * t[i];
            } else if (blk == 0) {
                for (int64_t i = 0; i < h; i++) d[i] = 0.0f;
            }
            if (f != 0.0f) continue;
            /* explicit row: g = f E_row - scale x_row (E unmodified for this row) */
            const float fr = (float)(c->row_coef[r] * exp((double)bmax[r * L->max_blocks + blk] - c->row_max[r]));
            const float *z = E + r * c->ldz;
            int any = 0;
            for (int64_t j = 0; j < w; j++) grow[j] = fr * z[j];
            AEK_FOR_TARGETS_IN(c, r, c0, w, { grow[jj] -= (float)((double)c->scale * xv); any = 1; });
            if (!any && fr == 0.0f) continue;
            const float *a = c->a + r * c->lda;
            for (int64_t i = 0; i < h; i++)
                for (int64_t j = 0; j < w; j++) dw[i * w + j] += a[i] * grow[j];
            for (int64_t j = 0; j < w; j++) dw[h * w + j] += grow[j];
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)h, (int)w, 1.0f, c->W + c0, (int)c->ldw, grow, 1, 1.0f, d, 1);
        }
        for (int64_t j = 0; j < w; j++) c->bias_grad[c0 + j] = dw[h * w + j];
        for (int64_t r = 0; r < h; r++)
            aek_adam_span(w, c->W + r * c->ldw + c0, dw + r * w, c->m + r * c->ldw + c0, c->v + r * c->ldw + c0,
                          c->k);
    }
}

int aek_softmax_output_train(aek_csr x, int64_t hidden, const float *a, int64_t lda, float *W, float *m, float *v,
                             int64_t ldw, const float *bias, float *Z, int64_t ldz, float *da, int64_t ldda,
                             float *bias_grad, float scale, aek_adam cfg, float *scratch, int64_t scratch_floats,
                             double *loss, int n_threads) {
    AEK_CHECK(loss != NULL && hidden >= 1);
    AEK_CHECK(csr_ok(&x, 1));
    const int64_t rows = x.n_rows, cols = x.n_cols;
    AEK_CHECK(rows <= INT32_MAX && cols <= INT32_MAX && hidden <= INT32_MAX);
    AEK_CHECK(lda <= INT32_MAX && ldw <= INT32_MAX && ldz <= INT32_MAX && ldda <= INT32_MAX);
    AEK_CHECK(block_ok(rows, hidden, a, lda) && block_ok(hidden, cols, W, ldw) && block_ok(hidden, cols, m, ldw) &&
              block_ok(hidden, cols, v, ldw) && block_ok(rows, cols, Z, ldz) && block_ok(rows, hidden, da, ldda));
    aek_adam_coef k;
    int st = aek_adam_prepare(cfg, &k);
    if (st != AEK_OK) return st;
    if (rows == 0 || cols == 0) {
        /* no gradient through this layer: da = 0, a zero bias gradient; Adam still steps (momentum) */
        for (int64_t r = 0; r < rows; r++) memset(da + r * ldda, 0, (size_t)hidden * sizeof(float));
        if (cols > 0) {
            AEK_CHECK(bias_grad != NULL && scratch != NULL && scratch_floats >= cols);
            memset(bias_grad, 0, (size_t)cols * sizeof(float));
            memset(scratch, 0, (size_t)cols * sizeof(float));
            for (int64_t r = 0; r < hidden; r++) aek_adam_span(cols, W + r * ldw, scratch, m + r * ldw, v + r * ldw, k);
        }
        return AEK_OK;
    }
    AEK_CHECK(bias_grad != NULL && scratch != NULL);
    const int parts = out_parts(n_threads, cols);
    out_ctx c;
    c.L = out_plan(rows, cols, hidden, parts);
    AEK_CHECK(scratch_floats >= parts * c.L.per_part + c.L.global);
    c.x = x;
    c.rows = rows;
    c.cols = cols;
    c.hidden = hidden;
    c.lda = lda;
    c.ldw = ldw;
    c.ldz = ldz;
    c.ldda = ldda;
    c.a = a;
    c.bias = bias;
    c.W = W;
    c.m = m;
    c.v = v;
    c.Z = Z;
    c.da = da;
    c.bias_grad = bias_grad;
    c.scratch = scratch;
    c.scale = scale;
    c.k = k;
    double *gmax = (double *)(scratch + parts * c.L.per_part), *gcoef = gmax + rows;
    c.row_max = gmax;
    c.row_coef = gcoef;

    int prev = openblas_get_num_threads();
    if (prev != 1) openblas_set_num_threads(1);
    aek_parallel_for(parts, cols, out_pass1, &c);
    /* merge the parts' row statistics in part order; the loss in row order */
    double total = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        double M = -INFINITY;
        for (int p = 0; p < parts; p++) {
            const double pm = ((const double *)(scratch + p * c.L.per_part + c.L.rmax))[r];
            M = pm > M ? pm : M;
        }
        double S = 0.0, dot = 0.0;
        for (int p = 0; p < parts; p++) {
            const float *s = scratch + p * c.L.per_part;
            const double pm = ((const double *)(s + c.L.rmax))[r];
            if (pm != -INFINITY) S += ((const double *)(s + c.L.rsum))[r] * exp(pm - M);
            dot += ((const double *)(s + c.L.rdot))[r];
        }
        double nr = 0.0;
        for (int64_t kk = x.indptr[r]; kk < x.indptr[r + 1]; kk++) nr += target_value(x.values, kk);
        gmax[r] = M;
        if (x.indptr[r + 1] == x.indptr[r]) {
            gcoef[r] = 0.0; /* no targets: n_r = 0, loss 0, gradient 0 */
        } else {
            total += nr * M - dot + nr * log(S);
            gcoef[r] = (double)scale * nr / S;
        }
    }
    aek_parallel_for(parts, cols, out_pass2, &c);
    if (prev != 1) openblas_set_num_threads(prev);
    /* da = the parts' partial products, summed in part order (part 0 wrote da) */
    for (int p = 1; p < parts; p++) {
        const float *dp = scratch + p * c.L.per_part + c.L.dap;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < hidden; j++) da[r * ldda + j] += dp[r * hidden + j];
    }
    *loss += (double)scale * total;
    return AEK_OK;
}
