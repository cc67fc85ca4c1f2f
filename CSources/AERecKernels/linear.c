/* Closed-form linear models: the item-item Gram matrix from sparse data and EASE's solve through
 * LAPACK's Cholesky in OpenBLAS. */
#include "aek_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS exports the LAPACK Fortran symbols (its own C implementations for potrf). */
extern void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info);
extern void spotri_(const char *uplo, const int *n, float *a, const int *lda, int *info);
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
extern void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info);

typedef struct {
    aek_csr x, xt;
    float *G;
    int64_t ldg;
    float beta;
} gram_ctx;

AEK_CLONES static void gram_row(const aek_csr *x, const aek_csr *xt, int64_t i, float *g) {
    for (int64_t a = xt->indptr[i]; a < xt->indptr[i + 1]; a++) {
        int64_t u = xt->indices[a];
        float xu = xt->values ? xt->values[a] : 1.0f;
        int64_t lo = x->indptr[u], hi = x->indptr[u + 1];
        const int32_t *idx = x->indices;
        if (x->values) {
            const float *v = x->values;
            for (int64_t b = lo; b < hi; b++) g[idx[b]] += xu * v[b];
        } else {
            for (int64_t b = lo; b < hi; b++) g[idx[b]] += xu;
        }
    }
}

static void gram_range(void *vctx, int64_t begin, int64_t end, int part) {
    (void)part;
    gram_ctx *c = (gram_ctx *)vctx;
    int64_t n = c->x.n_cols;
    for (int64_t i = begin; i < end; i++) {
        float *g = c->G + i * c->ldg;
        if (c->beta == 0.0f) memset(g, 0, (size_t)n * sizeof(float));
        else if (c->beta != 1.0f)
            for (int64_t j = 0; j < n; j++) g[j] *= c->beta;
        gram_row(&c->x, &c->xt, i, g);
    }
}

int aek_csr_gram(aek_csr x, aek_csr xt, float *G, int64_t ldg, float beta, int n_threads) {
    if (!G || x.n_rows < 0 || x.n_cols < 0 || ldg < x.n_cols) return AEK_ERR_ARG;
    if (xt.n_rows != x.n_cols || xt.n_cols != x.n_rows) return AEK_ERR_ARG;
    if (aek_csr_validate(x, 0) != AEK_OK || aek_csr_validate(xt, 0) != AEK_OK) return AEK_ERR_ARG;
    if (x.indptr[x.n_rows] - x.indptr[0] != xt.indptr[xt.n_rows] - xt.indptr[0]) return AEK_ERR_ARG;
    gram_ctx c = {x, xt, G, ldg, beta};
    /* rows of G differ in cost (popular items are expensive), but a static partition keeps results
     * independent of scheduling; rows are interleaved through their order only. */
    aek_parallel_for(aek_parallel_parts(n_threads, x.n_cols, 64), x.n_cols, gram_range, &c);
    return AEK_OK;
}

int aek_ease_solve(float *A, int64_t n, int64_t lda, float lambda) {
    if (!A || n < 0 || lda < n || n > INT32_MAX || lda > INT32_MAX || !isfinite(lambda)) return AEK_ERR_ARG;
    if (n == 0) return AEK_OK;
    for (int64_t i = 0; i < n; i++) A[i * lda + i] += lambda;
    int ni = (int)n, ld = (int)lda, info = 0;
    /* Row-major lower == column-major upper: for a symmetric matrix either triangle works. */
    spotrf_("L", &ni, A, &ld, &info);
    if (info != 0) return AEK_ERR_NUMERIC;
    spotri_("L", &ni, A, &ld, &info);
    if (info != 0) return AEK_ERR_NUMERIC;
    /* spotri filled the column-major lower triangle = row-major upper (j >= i): mirror it. */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < i; j++) A[i * lda + j] = A[j * lda + i];
    /* B[i,j] = -P[i,j] / P[j,j], diag 0. */
    float *neg_inv = malloc((size_t)n * sizeof(float));
    if (!neg_inv) return AEK_ERR_NOMEM;
    for (int64_t j = 0; j < n; j++) {
        float d = A[j * lda + j];
        if (!(d > 0.0f) || !isfinite(d)) {
            free(neg_inv);
            return AEK_ERR_NUMERIC;
        }
        neg_inv[j] = -1.0f / d;
    }
    for (int64_t i = 0; i < n; i++) {
        float *row = A + i * lda;
        for (int64_t j = 0; j < n; j++) row[j] *= neg_inv[j];
        row[i] = 0.0f;
    }
    free(neg_inv);
    return AEK_OK;
}

int aek_ease_solve_f64(float *A, int64_t n, int64_t lda, float lambda, double *work) {
    if (!A || !work || n < 0 || lda < n || n > INT32_MAX || lda > INT32_MAX || !isfinite(lambda)) return AEK_ERR_ARG;
    if (n == 0) return AEK_OK;
    if ((uint64_t)n > SIZE_MAX / sizeof(double) / (uint64_t)n) return AEK_ERR_ARG;
    double *neg_inv = malloc((size_t)n * sizeof(double));
    if (!neg_inv) return AEK_ERR_NOMEM;
    /* G (float32: exact for counts below 2^24) -> float64, plus lambda on the diagonal */
    for (int64_t i = 0; i < n; i++) {
        const float *g = A + i * lda;
        double *w = work + i * n;
        for (int64_t j = 0; j < n; j++) w[j] = (double)g[j];
        w[i] += (double)lambda;
    }
    int ni = (int)n, info = 0;
    dpotrf_("L", &ni, work, &ni, &info);
    if (info != 0) { free(neg_inv); return AEK_ERR_NUMERIC; }
    dpotri_("L", &ni, work, &ni, &info);
    if (info != 0) { free(neg_inv); return AEK_ERR_NUMERIC; }
    /* the row-major upper triangle (j >= i) holds P */
    for (int64_t j = 0; j < n; j++) {
        double d = work[j * n + j];
        if (!(d > 0.0) || !isfinite(d)) { free(neg_inv); return AEK_ERR_NUMERIC; }
        neg_inv[j] = -1.0 / d;
    }
    for (int64_t i = 0; i < n; i++) {
        float *row = A + i * lda;
        for (int64_t j = 0; j < n; j++) {
            double p = j >= i ? work[i * n + j] : work[j * n + i];
            row[j] = (float)(p * neg_inv[j]);
        }
        row[i] = 0.0f;
    }
    free(neg_inv);
    return AEK_OK;
}
