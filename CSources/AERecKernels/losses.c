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
/* Targets of a group of four rows whose column sums the fused likelihood re-forms from saved values
 * (a stack buffer of doubles; groups with more take a separate scaling pass). */
#define AEK_SAVED_TARGETS 1024

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

/* The row parts of a loss over rows x cols: every loss and the column sums split rows this way (the
 * fused likelihood's sums and aek_column_sums_row_parts must agree on it for their bits). */
static int loss_parts(int n_threads, int64_t rows, int64_t cols) {
    return aek_parallel_parts(n_threads, rows, min_rows_per_part(cols));
}

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

/* sum_j exp(z[j] - m) in float64; if store, z[j] <- exp(z[j] - m). next (or NULL): a row of n floats
 * that is prefetched into L2 meanwhile (the caller's next row: its first pass then reads from L2). */
AEK_INLINE double row_sumexp(float *restrict z, int64_t n, float m, int store, const float *next) {
    double acc[AEK_LANES];
    for (int k = 0; k < AEK_LANES; k++) acc[k] = 0.0;
    float buf[AEK_BLOCK];
    const int64_t nl = n - n % AEK_LANES;
    for (int64_t j0 = 0; j0 < nl; j0 += AEK_BLOCK) {
        const int64_t b = nl - j0 < AEK_BLOCK ? nl - j0 : AEK_BLOCK;
        float *restrict zb = z + j0;
        if (next)
            for (int64_t i = 0; i < b; i += 16) __builtin_prefetch(next + j0 + i, 1, 2);
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
    double *colsum;    /* multinomial only: per-part column sums of the gradient (parts x n_cols), or NULL */
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

/* The targets' part of the gradient: z_k -= scale x_k, in CSR order (duplicates one after the other). */
AEK_INLINE void mnll_fix_targets(float *z, const int32_t *ind, const float *val, int64_t k0, int64_t k1, float scale) {
    for (int64_t k = k0; k < k1; k++) z[ind[k]] -= (float)((double)scale * target_value(val, k));
}

/* A row's gradient from its exponentials: z_j *= c, then the targets' fix (mnll_row's last two steps). */
AEK_INLINE void mnll_scale_fix(float *restrict z, int64_t n, float c, const int32_t *ind, const float *val, int64_t k0,
                               int64_t k1, float scale) {
    for (int64_t j = 0; j < n; j++) z[j] *= c;
    mnll_fix_targets(z, ind, val, k0, k1, scale);
}

/* One row: loss_r = sum_k x_k (m - z_k) + n_r log S with m = max z, S = sum_j e^(z_j - m),
 * i.e. -sum_k x_k log_softmax(z)_k without forming log(softmax). Gradient (in place):
 * z_j <- e^(z_j - m) * (scale n_r / S), then z_k -= scale x_k at the targets. next: see row_sumexp.
 * defer (write_grad only, or NULL): the last two steps are left to the caller, which gets the factor
 * c = scale n_r / S in *defer (z holds e^(z_j - m)); a row without targets gets its zeros and c = 1. */
AEK_CLONES static double mnll_row(float *restrict z, int64_t n, const float *restrict bias, const int32_t *ind,
                                  const float *val, int64_t k0, int64_t k1, float scale, int write_grad,
                                  const float *next, float *defer) {
    if (n == 0) return 0.0;
    if (k1 == k0) { /* no targets: n_r = 0, loss 0, gradient 0 */
        if (write_grad)
            for (int64_t j = 0; j < n; j++) z[j] = 0.0f;
        else if (bias)
            for (int64_t j = 0; j < n; j++) z[j] += bias[j];
        if (defer) *defer = 1.0f;
        return 0.0;
    }
    float m = bias ? row_add_max(z, bias, n) : row_max(z, n);
    double nr = 0.0, dot = 0.0;
    for (int64_t k = k0; k < k1; k++) {
        double xv = target_value(val, k);
        nr += xv;
        dot += xv * ((double)m - (double)z[ind[k]]);
    }
    double S = row_sumexp(z, n, m, write_grad, next);
    double loss = dot + nr * log(S);
    if (write_grad) {
        float c = (float)((double)scale * nr / S);
        if (defer) {
            *defer = c;
            return loss;
        }
        mnll_scale_fix(z, n, c, ind, val, k0, k1, scale);
    }
    return loss;
}

/* Column sums over row parts: part p adds its rows in row order into acc_p (float64, from 0), and
 * the column's sum is acc_0 + acc_1 + ... in part order, rounded once. The fused likelihood and the
 * separate aek_column_sums_row_parts share these two helpers, hence their bits. */
AEK_CLONES static void colsum_add_row(double *restrict acc, const float *restrict g, int64_t n) {
    for (int64_t j = 0; j < n; j++) acc[j] += (double)g[j];
}

/* The nr rows (1 <= nr <= 4) at g0, g0 + ld, ... added to acc in row order,
 * (((acc + g0) + g1) + g2) + g3: the sums colsum_add_row gives row by row, with one pass over acc
 * for four rows instead of four (acc is n doubles, twice a row's bytes). */
AEK_CLONES static void colsum_add_rows(double *restrict acc, const float *g0, int64_t ld, int64_t nr, int64_t n) {
    if (nr == 4) {
        const float *restrict a0 = g0, *restrict a1 = g0 + ld, *restrict a2 = g0 + 2 * ld, *restrict a3 = g0 + 3 * ld;
        for (int64_t j = 0; j < n; j++)
            acc[j] = (((acc[j] + (double)a0[j]) + (double)a1[j]) + (double)a2[j]) + (double)a3[j];
    } else {
        for (int64_t i = 0; i < nr; i++) colsum_add_row(acc, g0 + i * ld, n);
    }
}

/* The gradient of the nr rows (1 <= nr <= 4) at z0, z0 + ld, ... from their exponentials and factors
 * c[i] (mnll_row's defer) and their sums into acc, in one pass over the rows and acc instead of a
 * scaling pass per row and then colsum_add_rows: g = z c, then the targets' fix, summed in row order.
 * The pass adds the unfixed values; the targets' columns are then summed again from acc's values
 * saved before the pass, with the fixed gradient, so acc gets colsum_add_rows's bits and the rows
 * mnll_row's. Rows with more than `cap` targets in all take a scaling pass each, their fix and then
 * colsum_add_rows (the same bits). */
AEK_CLONES static void mnll_scale_colsum_rows(double *restrict acc, float *z0, int64_t ld, int64_t nr, int64_t n,
                                              const float *c, const aek_csr *x, int64_t r0, float scale,
                                              double *saved, int64_t cap) {
    const int64_t t0 = x->indptr[r0], t1 = x->indptr[r0 + nr];
    if (t1 - t0 > cap) {
        for (int64_t i = 0; i < nr; i++)
            mnll_scale_fix(z0 + i * ld, n, c[i], x->indices, x->values, x->indptr[r0 + i], x->indptr[r0 + i + 1], scale);
        colsum_add_rows(acc, z0, ld, nr, n);
        return;
    }
    for (int64_t k = t0; k < t1; k++) saved[k - t0] = acc[x->indices[k]];
    if (nr == 4) {
        float *restrict a0 = z0, *restrict a1 = z0 + ld, *restrict a2 = z0 + 2 * ld, *restrict a3 = z0 + 3 * ld;
        const float c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
        for (int64_t j = 0; j < n; j++) {
            const float g0 = a0[j] * c0, g1 = a1[j] * c1, g2 = a2[j] * c2, g3 = a3[j] * c3;
            a0[j] = g0;
            a1[j] = g1;
            a2[j] = g2;
            a3[j] = g3;
            acc[j] = (((acc[j] + (double)g0) + (double)g1) + (double)g2) + (double)g3;
        }
    } else {
        for (int64_t i = 0; i < nr; i++) {
            float *restrict a = z0 + i * ld;
            const float ci = c[i];
            for (int64_t j = 0; j < n; j++) {
                const float g = a[j] * ci;
                a[j] = g;
                acc[j] += (double)g;
            }
        }
    }
    for (int64_t i = 0; i < nr; i++)
        mnll_fix_targets(z0 + i * ld, x->indices, x->values, x->indptr[r0 + i], x->indptr[r0 + i + 1], scale);
    for (int64_t k = t0; k < t1; k++) {
        const int64_t j = x->indices[k];
        double v = saved[k - t0];
        for (int64_t i = 0; i < nr; i++) v += (double)z0[i * ld + j];
        acc[j] = v;
    }
}

static void colsum_combine(const double *acc, int parts, int64_t n, float *out) {
    for (int64_t j = 0; j < n; j++) {
        double s = acc[j];
        for (int p = 1; p < parts; p++) s += acc[(int64_t)p * n + j];
        out[j] = (float)s;
    }
}

static void mnll_range(void *vctx, int64_t r0, int64_t r1, int part) {
    mnll_ctx *c = (mnll_ctx *)vctx;
    double s = 0.0;
    double *acc = c->colsum ? c->colsum + (int64_t)part * c->x.n_cols : NULL;
    if (acc)
        for (int64_t j = 0; j < c->x.n_cols; j++) acc[j] = 0.0;
    /* rows in groups of four; with column sums, each group's gradient is scaled, fixed and added to acc
     * in one pass while the group is in cache */
    double saved[AEK_SAVED_TARGETS];
    for (int64_t g = r0; g < r1; g += 4) {
        const int64_t nr = r1 - g < 4 ? r1 - g : 4;
        float factor[4] = {1.0f, 1.0f, 1.0f, 1.0f};
        for (int64_t r = g; r < g + nr; r++)
            s += mnll_row(c->Z + r * c->ldz, c->x.n_cols, c->bias, c->x.indices, c->x.values, c->x.indptr[r],
                          c->x.indptr[r + 1], c->scale, c->write_grad, r + 1 < r1 ? c->Z + (r + 1) * c->ldz : NULL,
                          acc ? &factor[r - g] : NULL);
        if (acc)
            mnll_scale_colsum_rows(acc, c->Z + g * c->ldz, c->ldz, nr, c->x.n_cols, factor, &c->x, g, c->scale, saved,
                                   AEK_SAVED_TARGETS);
    }
    c->partial[part] = s;
}

/* The likelihood over `parts` row ranges (and, with colsum, each part's column sums of the
 * gradient); *loss += scale * the row losses summed in row order per part, parts in order. */
static void mnll_run(aek_csr x, float *Z, int64_t ldz, const float *bias, float scale, int write_grad,
                     double *colsum, int parts, double *loss) {
    mnll_ctx c;
    c.x = x;
    c.Z = Z;
    c.ldz = ldz;
    c.bias = bias;
    c.scale = scale;
    c.write_grad = write_grad;
    c.colsum = colsum;
    aek_parallel_for(parts, x.n_rows, mnll_range, &c);
    double total = 0.0;
    for (int p = 0; p < parts; p++) total += c.partial[p];
    *loss += (double)scale * total;
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
    mnll_run(x, Z, ldz, bias, scale, write_grad != 0, NULL,
             loss_parts(n_threads, x.n_rows, x.n_cols), loss);
    return AEK_OK;
}

int64_t aek_column_sums_scratch_doubles(int64_t rows, int64_t cols, int n_threads) {
    if (rows < 0 || cols < 0) return -1;
    return (int64_t)loss_parts(n_threads, rows, cols) * cols;
}

int aek_multinomial_nll_grad_colsum(aek_csr x, float *Z, int64_t ldz, const float *bias, float scale, double *loss,
                                    float *col_sums, double *scratch, int64_t scratch_doubles, int n_threads) {
    AEK_CHECK(loss != NULL);
    AEK_CHECK(csr_ok(&x, 1));
    AEK_CHECK(block_ok(x.n_rows, x.n_cols, Z, ldz));
    if (x.n_cols == 0) return AEK_OK;
    AEK_CHECK(col_sums != NULL);
    if (x.n_rows == 0) {
        for (int64_t j = 0; j < x.n_cols; j++) col_sums[j] = 0.0f;
        return AEK_OK;
    }
    int parts = loss_parts(n_threads, x.n_rows, x.n_cols);
    AEK_CHECK(scratch != NULL && scratch_doubles >= (int64_t)parts * x.n_cols);
    mnll_run(x, Z, ldz, bias, scale, 1, scratch, parts, loss);
    colsum_combine(scratch, parts, x.n_cols, col_sums);
    return AEK_OK;
}

typedef struct {
    const float *G;
    int64_t ldg, cols;
    double *acc;
} colsum_ctx;

static void colsum_range(void *vctx, int64_t r0, int64_t r1, int part) {
    const colsum_ctx *c = (const colsum_ctx *)vctx;
    double *acc = c->acc + (int64_t)part * c->cols;
    for (int64_t j = 0; j < c->cols; j++) acc[j] = 0.0;
    for (int64_t r = r0; r < r1; r += 4) colsum_add_rows(acc, c->G + r * c->ldg, c->ldg, r1 - r < 4 ? r1 - r : 4, c->cols);
}

int aek_column_sums_row_parts(int64_t rows, int64_t cols, const float *G, int64_t ldg, float *out, double *scratch,
                              int64_t scratch_doubles, int n_threads) {
    AEK_CHECK(block_ok(rows, cols, G, ldg));
    if (cols == 0) return AEK_OK;
    AEK_CHECK(out != NULL);
    if (rows == 0) {
        for (int64_t j = 0; j < cols; j++) out[j] = 0.0f;
        return AEK_OK;
    }
    int parts = loss_parts(n_threads, rows, cols);
    AEK_CHECK(scratch != NULL && scratch_doubles >= (int64_t)parts * cols);
    colsum_ctx c = {G, ldg, cols, scratch};
    aek_parallel_for(parts, rows, colsum_range, &c);
    colsum_combine(scratch, parts, cols, out);
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
    int parts = loss_parts(n_threads, y.n_rows, y.n_cols);
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
    int parts = loss_parts(n_threads, y.n_rows, y.n_cols);
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
