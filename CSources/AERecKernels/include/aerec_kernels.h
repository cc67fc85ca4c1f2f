/*
 * aerec_kernels.h — the C kernel library under AERec.
 *
 * Conventions (every function):
 *   - C11, float32 data, float64 accumulation for long sums (losses, bias gradients).
 *   - Dense matrices are row-major with an explicit leading dimension (ld >= cols).
 *   - Sparse blocks are CSR (`aek_csr`): row r holds entries k in [indptr[r], indptr[r+1]);
 *     indptr[0] need not be 0. `values == NULL` means every stored value is 1 (implicit data).
 *     Arrays aligned with the entries (values, out_values, pred, grad) are indexed by the same k
 *     as `indices`.
 *   - No global state, no allocation inside hot loops. Functions that may fail return an
 *     `AEK_*` status (0 = ok); they validate sizes and pointers first and touch nothing on error.
 *   - `n_threads`: rows (or columns) are split into n_threads static contiguous ranges run on
 *     pthreads; values <= 1 run on the calling thread. Results depend only on the inputs and the
 *     thread count, never on scheduling.
 */
#ifndef AEREC_KERNELS_H
#define AEREC_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ status codes */
enum {
    AEK_OK = 0,
    AEK_ERR_ARG = -1,     /* null pointer, negative size, ld too small, index out of range */
    AEK_ERR_NOMEM = -2,   /* an allocation outside the hot loop failed */
    AEK_ERR_NUMERIC = -3, /* non-finite input where a finite one is required, or a failed factorisation */
    AEK_ERR_THREAD = -4,  /* thread creation failed (the work is then done serially; reserved) */
    AEK_ERR_IO = -5,      /* a file could not be opened, read or written */
    AEK_ERR_FORMAT = -6   /* a file's content is malformed (e.g. a truncated gzip stream) */
};

/* Human-readable name of a status code (static string). */
const char *aek_status_string(int status);

/* ------------------------------------------------------------------ sparse blocks */
typedef struct aek_csr {
    int64_t n_rows;
    int64_t n_cols;
    const int64_t *indptr;  /* n_rows + 1 entries, non-decreasing */
    const int32_t *indices; /* column of entry k, in [0, n_cols) */
    const float *values;    /* value of entry k, or NULL for implicit ones */
} aek_csr;

/* Checks the invariants above (and, if `require_sorted`, strictly ascending columns per row).
 * Returns AEK_OK or AEK_ERR_ARG. O(nnz). */
int aek_csr_validate(aek_csr x, int require_sorted);

/* ------------------------------------------------------------------ activations */
typedef enum aek_activation_kind {
    AEK_ACT_IDENTITY = 0,
    AEK_ACT_SIGMOID = 1,      /* 1 / (1 + e^-x) */
    AEK_ACT_TANH = 2,
    AEK_ACT_RELU = 3,
    AEK_ACT_LEAKY_RELU = 4,   /* x >= 0 ? x : alpha x            (alpha default 0.01) */
    AEK_ACT_ELU = 5,          /* x >= 0 ? x : alpha (e^x - 1)    (alpha default 1) */
    AEK_ACT_SELU = 6,         /* lambda * (x >= 0 ? x : a (e^x - 1)), lambda=1.0507009873554805, a=1.6732632423543772 */
    AEK_ACT_SOFTPLUS = 7,     /* log(1 + e^x) */
    AEK_ACT_SWISH = 8,        /* x * sigmoid(x)  (SiLU) */
    AEK_ACT_HARD_SIGMOID = 9, /* clamp(x / 6 + 1/2, 0, 1)   (PyTorch's hardsigmoid) */
    AEK_ACT_SOFTSIGN01 = 10,  /* (x / (1 + |x|) + 1) / 2 */
    AEK_ACT_ATAN01 = 11,      /* atan(x) / pi + 1/2 */
    AEK_ACT_SOFTSIGN = 12,    /* x / (1 + |x|) */
    AEK_ACT_COUNT = 13
} aek_activation_kind;

/* An activation f applied as f(x / temperature). temperature must be > 0 (1 = plain f). */
typedef struct aek_activation {
    int32_t kind;      /* aek_activation_kind */
    float alpha;       /* leaky relu slope / elu alpha; ignored by the others */
    float temperature; /* input scale, > 0 */
} aek_activation;

/* The activation with its default parameters (alpha 0.01 leaky relu, 1 elu; temperature 1). */
aek_activation aek_activation_default(aek_activation_kind kind);
/* Static lower-case name ("sigmoid", "hard_sigmoid", "softsign01", ...) or NULL. */
const char *aek_activation_name(int32_t kind);
/* AEK_OK when kind is known, temperature finite and >= FLT_MIN (so 1/temperature is finite), alpha finite. */
int aek_activation_validate(aek_activation act);

/* Scalar reference values (same math as the fused kernels). */
float aek_activation_value(aek_activation act, float x);
float aek_activation_derivative(aek_activation act, float x);

/* Forward: Z[r,c] += bias[c] (bias may be NULL), then A[r,c] = f(Z[r,c]).
 * A may equal Z (in place, with lda == ldz; the pre-activation is then lost, so backward needs another copy). */
int aek_bias_activation_forward(int64_t rows, int64_t cols, const float *bias, aek_activation act,
                                float *Z, int64_t ldz, float *A, int64_t lda, int n_threads);

/* Backward: G holds dL/dA on entry and dL/dZ = dL/dA * f'(Z) on return. Z is the pre-activation
 * (after bias) and A = f(Z), both as left by the forward call (A may be NULL; it is then
 * recomputed where needed). If dbias is non-NULL, dbias[c] += sum_r dL/dZ[r,c] (float64 sums). */
int aek_activation_backward(int64_t rows, int64_t cols, aek_activation act, const float *Z, int64_t ldz,
                            const float *A, int64_t lda, float *G, int64_t ldg, float *dbias, int n_threads);

/* ------------------------------------------------------------------ sparse x dense */
/* Y[r,:] = beta * Y[r,:] + sum_k v_k W[indices[k], :] + bias  for the h columns of Y.
 * beta == 0 overwrites Y (Y may hold garbage). bias may be NULL. */
int aek_csr_dense_mm(aek_csr x, const float *W, int64_t ldw, int64_t h, const float *bias, float beta,
                     float *Y, int64_t ldy, int n_threads);

/* Y[r,:] = sum_k v_k W[indices[k], :] with the sums in float64 (entry order, rounded to float once):
 * the scores of a float64 EASE. work holds max(n_threads, 1) * h doubles. The result does not
 * depend on the thread count. */
int aek_csr_dense_mm_f64(aek_csr x, const float *W, int64_t ldw, int64_t h, float *Y, int64_t ldy, double *work,
                         int n_threads);

/* Bytes of scratch that aek_csr_transpose_dense_mm needs for a block with n_cols columns and nnz entries. */
size_t aek_csr_transpose_workspace_size(int64_t n_cols, int64_t nnz);

/* Gradient accumulation through the sparse first layer: for every column i present in the block,
 *   dW[i,:] = beta * dW[i,:] + sum_{r : x[r,i] stored} x[r,i] * G[r,:]      (h columns)
 * Rows of dW for absent columns are neither read nor written. The present columns are written to
 * touched[0 .. *n_touched) in ascending order (touched must hold min(n_cols, nnz) entries).
 * Sums run over r in ascending order. workspace: aek_csr_transpose_workspace_size bytes, any content. */
int aek_csr_transpose_dense_mm(aek_csr x, const float *G, int64_t ldg, int64_t h, float beta, float *dW,
                               int64_t ldw, int32_t *touched, int64_t *n_touched, void *workspace,
                               size_t workspace_bytes, int n_threads);

/* Sampled dense-dense product: out[k] = <A[r,:], B[indices[k],:]> (+ bias[indices[k]] if bias)
 * for every stored entry k of row r (h columns). */
int aek_csr_sddmm(aek_csr x, const float *A, int64_t lda, const float *B, int64_t ldb, int64_t h,
                  const float *bias, float *out, int n_threads);

/* out_values[k] = v_k / ||row||_2 ; rows with norm <= eps get zeros. out_values may equal x.values. */
int aek_csr_row_l2_normalize(aek_csr x, float eps, float *out_values);

/* Dense rows scaled to unit L2 norm (rows with norm <= eps are left as they are).
 * norms (nullable) receives the norms. Norms are summed in float64. */
int aek_dense_row_l2_normalize(int64_t rows, int64_t cols, float *A, int64_t lda, float eps, float *norms,
                               int n_threads);

/* ------------------------------------------------------------------ counter-based randomness */
/* A stateless 64-bit hash of (seed, stream, counter): equal inputs give equal outputs on every
 * thread and platform. Uniform floats are in [0, 1) with 24 random bits. */
uint64_t aek_hash64(uint64_t seed, uint64_t stream, uint64_t counter);
float aek_uniform(uint64_t seed, uint64_t stream, uint64_t counter);
/* Standard normal (Box-Muller on two hashed uniforms). */
float aek_normal(uint64_t seed, uint64_t stream, uint64_t counter);

/* Inverted dropout on a dense block: A[r,c] = keep ? A[r,c] / (1 - p) : 0, where keep is decided
 * by aek_uniform(seed, stream, key_r * cols + c) >= p and key_r = row_keys ? row_keys[r] : r.
 * Calling it again on the gradient with the same arguments applies the same mask (backward).
 * p in [0, 1); p == 0 is a no-op. */
int aek_dropout_dense(int64_t rows, int64_t cols, float *A, int64_t lda, float p, uint64_t seed, uint64_t stream,
                      const int64_t *row_keys, int n_threads);

/* Inverted dropout on the stored entries of a CSR block: out_values[k] = keep ? v_k / (1 - p) : 0,
 * keep decided by aek_uniform(seed, stream, key_r * x.n_cols + indices[k]) >= p. Dropped entries
 * stay stored with value 0. out_values may equal x.values. */
int aek_dropout_csr(aek_csr x, float p, uint64_t seed, uint64_t stream, const int64_t *row_keys,
                    float *out_values);

/* out[r,c] = aek_normal(seed, stream, key_r * cols + c). */
int aek_normal_fill(int64_t rows, int64_t cols, float *out, int64_t ld, uint64_t seed, uint64_t stream,
                    const int64_t *row_keys, int n_threads);

/* ------------------------------------------------------------------ losses */
/* Multinomial log-likelihood fused with a row-wise log-softmax (never log(softmax)).
 * Z: rows x n_cols logits (rows = x.n_rows), x: the target counts of the same rows.
 *   loss_r = - sum_i x[r,i] * log_softmax(Z[r,:])_i
 *   *loss  += scale * sum_r loss_r      (float64)
 * If write_grad, Z is overwritten in place with scale * (n_r * softmax(Z[r,:]) - x[r,:]),
 * n_r = sum_i x[r,i]: no extra n_cols-wide buffer. */
int aek_multinomial_nll(aek_csr x, float *Z, int64_t ldz, float scale, int write_grad, double *loss,
                        int n_threads);
/* The same with an output bias fused in: the logits are Z[r,i] + bias[i] (bias may be NULL: no bias).
 * Z receives the gradient as above (write_grad), or the biased logits (write_grad == 0). Bit-identical
 * to adding the bias in a separate pass first, without that pass over the rows x n_cols block. */
int aek_multinomial_nll_bias(aek_csr x, float *Z, int64_t ldz, const float *bias, float scale, int write_grad,
                             double *loss, int n_threads);
/* aek_multinomial_nll_bias with write_grad = 1 and the gradient's column sums (the output bias's
 * gradient) formed in the same pass while each row is in cache: col_sums[j] = sum_r G[r,j]. The rows
 * are split into the same parts as the likelihood's (n_threads); each part sums its rows in row order
 * in float64 into its own scratch row, and the parts are added in part order, rounded once, exactly
 * as aek_column_sums_row_parts does on the finished gradient (the same bits). scratch:
 * aek_column_sums_scratch_doubles(x.n_rows, x.n_cols, n_threads) doubles. */
int aek_multinomial_nll_grad_colsum(aek_csr x, float *Z, int64_t ldz, const float *bias, float scale, double *loss,
                                    float *col_sums, double *scratch, int64_t scratch_doubles, int n_threads);
/* out[j] = sum_r G[r,j] over rows x cols (leading dimension ldg), with the row parts and float64
 * sums of aek_multinomial_nll_grad_colsum. */
int aek_column_sums_row_parts(int64_t rows, int64_t cols, const float *G, int64_t ldg, float *out, double *scratch,
                              int64_t scratch_doubles, int n_threads);
/* Doubles of scratch the two functions above need (-1 for negative sizes). */
int64_t aek_column_sums_scratch_doubles(int64_t rows, int64_t cols, int n_threads);

/* Sigmoid cross-entropy over every entry of Z (rows x x.n_cols); targets y[r,i] = stored value
 * (or 1 for implicit), 0 where absent.
 *   loss += scale * sum_{r,i} [softplus(z) - y z]  ;  if write_grad: Z <- scale * (sigmoid(z) - y). */
int aek_sigmoid_bce(aek_csr y, float *Z, int64_t ldz, float scale, int write_grad, double *loss, int n_threads);

/* Squared error on observed entries only, predictions aligned with the entries:
 *   loss += scale * sum_k (pred[k] - y_k)^2 ; grad[k] = 2 scale (pred[k] - y_k) (grad nullable, may equal pred). */
int aek_masked_squared_error(aek_csr y, const float *pred, float scale, float *grad, double *loss);

/* Same with dense predictions Z (rows x y.n_cols): if write_grad, Z becomes the dense gradient,
 * 2 scale (z - y) on observed entries and 0 elsewhere. */
int aek_masked_squared_error_dense(aek_csr y, float *Z, int64_t ldz, float scale, int write_grad, double *loss,
                                   int n_threads);

/* KL(N(mu, exp(logvar)) || N(0, 1)) summed over a rows x cols block:
 *   loss += scale * sum -0.5 (1 + logvar - mu^2 - exp(logvar))
 * If dmu/dlogvar are non-NULL they receive (+=) scale * mu and scale * 0.5 (exp(logvar) - 1). */
int aek_gaussian_kl(int64_t rows, int64_t cols, const float *mu, int64_t ldmu, const float *logvar, int64_t ldlv,
                    float scale, float *dmu, int64_t lddmu, float *dlogvar, int64_t lddlv, double *loss);

/* ------------------------------------------------------------------ optimisers */
typedef struct aek_adam {
    float lr;
    float beta1;
    float beta2;
    float eps;
    float weight_decay; /* L2 (decoupled == 0: added to the gradient) or AdamW decay (decoupled == 1) */
    int32_t decoupled;
    int64_t step;       /* 1-based step for bias correction */
} aek_adam;

/* Dense Adam/AdamW over n parameters. */
int aek_adam_dense(int64_t n, float *param, const float *grad, float *m, float *v, aek_adam cfg, int n_threads);

/* Row-sparse (lazy) Adam: only rows[j] (j < n_rows) of the row_len-wide matrices param/grad/m/v
 * (n_param_rows rows each, leading dimension ld) are updated, with the global step for bias
 * correction; weight decay applies to those rows only. rows must be strictly ascending and in
 * [0, n_param_rows) (as aek_csr_transpose_dense_mm's `touched` list is), else AEK_ERR_ARG. */
int aek_adam_rows(const int32_t *rows, int64_t n_rows, int64_t n_param_rows, int64_t row_len, float *param,
                  const float *grad, float *m, float *v, int64_t ld, aek_adam cfg, int n_threads);

/* Adam on a rows x cols block of param/m/v (leading dimension ld) with the gradient in its own
 * buffer (leading dimension ldg): the update of aek_adam_dense, element for element (bit-identical),
 * for a gradient computed block by block (a decoder's weights, a column chunk at a time). */
int aek_adam_block(int64_t rows, int64_t cols, float *param, float *m, float *v, int64_t ld, const float *grad,
                   int64_t ldg, aek_adam cfg, int n_threads);

/* Adam on a rows x cols parameter with the gradient a^T g (a: n x rows, g: n x cols) formed a block
 * of columns at a time in `scratch` (scratch_floats floats, at least rows): the update of
 * aek_sgemm(1, 0, ...) into a gradient buffer followed by aek_adam_block, without the rows x cols
 * gradient. The columns are split among n_threads threads, each with its own slice of scratch and a
 * single-threaded cblas_sgemm (OpenBLAS's thread count is 1 during the call, restored after it).
 * clear_g != 0 sets g to zero as its blocks are consumed. n == 0: a zero gradient. */
int aek_outer_product_adam(int64_t rows, int64_t cols, int64_t n, const float *a, int64_t lda, float *g, int64_t ldg,
                           float *param, float *m, float *v, int64_t ld, float *scratch, int64_t scratch_floats,
                           aek_adam cfg, int clear_g, int n_threads);
/* aek_outer_product_adam with the backpropagated product fused in: per column block, before Adam
 * steps the block, da (+)= g_block param_block^T (da: n x rows, leading dimension ldda), so da =
 * g param^T with the parameter before the step, while the block of g is in cache. Each thread sums
 * its own columns' blocks into a partial (part 0 into da, the others in the scratch), and the
 * partials are added in part order: the same bits for the same sizes, scratch size and thread count.
 * update = 0 computes da alone (a, m, v unused; param unchanged): the unfused path's product with
 * the same blocks and sums, hence the same bits as update = 1. da == NULL (update = 1): exactly
 * aek_outer_product_adam. The scratch holds (parts - 1) * n * rows floats of partials, then one
 * slice per part of at least `rows` floats (parts of at least 256 columns, as many as n_threads
 * allows and the scratch holds); too small a scratch for one part is AEK_ERR_ARG. */
int aek_outer_product_adam_da(int64_t rows, int64_t cols, int64_t n, const float *a, int64_t lda, float *g,
                              int64_t ldg, float *param, float *m, float *v, int64_t ld, float *da, int64_t ldda,
                              float *scratch, int64_t scratch_floats, aek_adam cfg, int update, int clear_g,
                              int n_threads);

/* ------------------------------------------------------------------ ranking */
/* Per-row top-k: for each row r of scores (rows x n_cols, leading dimension lds) the k highest
 * scoring columns not listed in row r of exclude (nullable; columns must be ascending per row,
 * duplicates allowed; exclude->n_rows == rows), best first, ties broken by the lower column.
 * NaN scores rank as -inf (and are reported as -INFINITY in out_score). Every non-excluded column is a
 * candidate, whatever its score. out_idx[r * k + j] / out_score[r * k + j] (out_score nullable); when a
 * row has fewer than k candidates the remaining slots get -1 / -INFINITY. out_count (nullable)
 * receives the number of filled slots per row. k may exceed n_cols. */
int aek_topk_rows(int64_t rows, int64_t n_cols, const float *scores, int64_t lds, const aek_csr *exclude, int64_t k,
                  int32_t *out_idx, float *out_score, int64_t *out_count, int n_threads);

/* ------------------------------------------------------------------ dense BLAS and the BLAS core */
/* Row-major C = alpha op(A) op(B) + beta C through cblas_sgemm. op(A) is m x k, op(B) is k x n. */
int aek_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *A, int64_t lda,
              const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* The same product on n_threads threads of AERec's own, each calling a single-threaded cblas_sgemm on
 * a slice of C (columns when n >= m, else rows); OpenBLAS's thread count is set to 1 for the call
 * and restored after it. Each element of C is computed by one thread of a fixed partition, so the
 * result does not depend on thread scheduling (it may differ in the last bits from OpenBLAS's own
 * threaded call, which picks other kernels for some shapes); small products use one thread. Training uses this
 * instead of OpenBLAS's threads: no OpenBLAS worker spins (sched_yield) while AERec's kernels run. */
int aek_sgemm_mt(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *A, int64_t lda,
                 const float *B, int64_t ldb, float beta, float *C, int64_t ldc, int n_threads);

/* Name of the OpenBLAS core the library runs on (e.g. "SkylakeX", "Prescott"). */
const char *aek_blas_corename(void);
/* OpenBLAS build configuration string. */
const char *aek_blas_config(void);
int aek_blas_get_num_threads(void);
void aek_blas_set_num_threads(int n);

typedef struct aek_cpu_features {
    int32_t sse4_2, avx, avx2, fma, avx512f, avx512dq, avx512bw, avx512vl, avx512_bf16;
} aek_cpu_features;

/* Features of the CPU this process runs on. */
aek_cpu_features aek_cpu_detect(void);
/* Best SIMD level name: "avx512", "avx2", "avx", "sse4.2" or "baseline". */
const char *aek_cpu_simd_level(aek_cpu_features cpu);

/* 1 if `corename` is a fallback core that does not use what `cpu` offers (e.g. "Prescott" on an
 * AVX-512 machine), 0 otherwise. Pure function of its inputs. */
int aek_blas_core_is_fallback(const char *corename, aek_cpu_features cpu);
/* The OPENBLAS_CORETYPE value that makes OpenBLAS use a core matching `cpu` ("SkylakeX",
 * "Haswell", "Sandybridge", "Nehalem") or NULL when `corename` already fits. Pure function. */
const char *aek_blas_recommended_coretype(const char *corename, aek_cpu_features cpu);

/* ------------------------------------------------------------------ closed-form linear models (EASE) */
/* G[i, j] (+)= sum_u x[u,i] x[u,j] over the users u of the block: the item-item Gram matrix X^T X,
 * dense n_cols x n_cols with leading dimension ldg, computed from x (users x items, CSR) and xt (its
 * transpose, items x users, CSR). beta == 0 overwrites G, 1 accumulates. Work: sum_u nnz(u)^2.
 * Rows of G are split between threads; float32 sums over users in ascending order. */
int aek_csr_gram(aek_csr x, aek_csr xt, float *G, int64_t ldg, float beta, int n_threads);

/* EASE's closed form in place (Steck 2019): on entry A holds G = X^T X (n x n, symmetric); on exit
 * A holds B = I - P diag(1/diag P) with P = (G + lambda I)^-1 and diag(B) = 0, i.e.
 * B[i,j] = -P[i,j] / P[j,j] for i != j. Uses LAPACK's Cholesky (spotrf + spotri) in OpenBLAS: no
 * second n x n buffer. Returns AEK_ERR_NUMERIC if G + lambda I is not positive definite. */
int aek_ease_solve(float *A, int64_t n, int64_t lda, float lambda);

/* The same closed form computed in float64 (dpotrf + dpotri), for weights within half a float32 ulp
 * of the exact solution: on entry A holds G = X^T X in float32 (exact for counts below 2^24), on exit B rounded
 * to float32 once. `work` is the caller's n x n float64 buffer (leading dimension n; twice A's
 * bytes). About twice the time of aek_ease_solve on this machine's OpenBLAS. */
int aek_ease_solve_f64(float *A, int64_t n, int64_t lda, float lambda, double *work);

/* ------------------------------------------------------------------ files */
/* Reads a whole file into a new buffer, decompressing it if it is gzip (detected from the magic
 * bytes, so plain files work too). On success *out (free with aek_free) and *out_len receive the
 * bytes; a NUL is appended after them (not counted). On failure *out is NULL and a one-line message
 * (naming the path) is written to err (err_len bytes, always NUL-terminated): AEK_ERR_IO when the
 * file cannot be opened or read, AEK_ERR_FORMAT for a corrupt or truncated gzip stream,
 * AEK_ERR_NOMEM when the content does not fit in memory. */
int aek_read_file(const char *path, uint8_t **out, size_t *out_len, char *err, size_t err_len);
void aek_free(void *p);

/* CRC-32 (zlib's polynomial) of n bytes, continuing from crc (start with 0). */
uint32_t aek_crc32(uint32_t crc, const void *data, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* AEREC_KERNELS_H */
