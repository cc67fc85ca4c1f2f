/* Sparse first-layer kernels: CSR validation, CSR x dense (forward), CSR^T x dense restricted to
 * the columns present in the block (backward into the item embedding), sampled dense-dense
 * products, and row L2 normalisation.
 *
 * Design notes
 *   - The inner routines work on 16-float chunks (GCC/clang vector extensions), so the x86-64-v4
 *     clone uses one zmm register per chunk, the v3 clone two ymm, the baseline four xmm. Every
 *     output element is produced by the same sequence of operations in the vector body and in the
 *     scalar tail (y + v0 w0 + v1 w1 + ... left to right, each term one fused multiply-add where
 *     the clone has FMA), so the way nonzeros are grouped never changes a bit and the result is a
 *     function of the inputs only (for a given clone).
 *   - CSR x dense processes the nonzeros of a row in groups of four: the output row is loaded and
 *     stored once per group, not once per nonzero. The W rows of the nonzeros a fixed distance
 *     ahead (in the flat entry array, so across row boundaries too) are software-prefetched chunk
 *     by chunk while the current group is processed: a W row is a short 2-3 KB stream at a random
 *     address, too short for the hardware prefetcher to ramp up.
 *   - Threads get contiguous row ranges of about equal cost (nonzeros + one per row), found by
 *     binary search on indptr; each output row is computed by exactly one thread in the same
 *     order, so the bits do not depend on the thread count.
 *   - The transpose kernel counting-sorts the block by column into the caller's workspace (no
 *     allocation) and then runs the same grouped accumulation per present column, in parallel
 *     over contiguous ranges of the present columns (again balanced by entry count).
 */
#include "aek_internal.h"

#include <math.h>
#include <string.h>

typedef float aek_f16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef float aek_f8 __attribute__((vector_size(32), aligned(4), may_alias));
typedef float aek_f4 __attribute__((vector_size(16), aligned(4), may_alias));
typedef double aek_d8 __attribute__((vector_size(64), aligned(8), may_alias));

#define AEK_AI static inline __attribute__((always_inline))
#define AEK_LD16(p) (*(const aek_f16 *)(const void *)(p))
#define AEK_ST16(p, v) (*(aek_f16 *)(void *)(p) = (v))
#define AEK_LD8(p) (*(const aek_f8 *)(const void *)(p))

/* Prefetch distance in nonzeros (W / B rows are prefetched this many entries ahead). */
#ifndef AEK_SPARSE_PF_DIST
#define AEK_SPARSE_PF_DIST 8
#endif
#ifndef AEK_PF_LOCALITY
#define AEK_PF_LOCALITY 3
#endif
#ifdef AEK_NO_PF
#define AEK_PREFETCH(p) ((void)(p))
#else
#define AEK_PREFETCH(p) __builtin_prefetch((p), 0, AEK_PF_LOCALITY)
#endif
#ifdef AEK_NO_PFW
#define AEK_PREFETCH_W(p) AEK_PREFETCH(p)
#else
#define AEK_PREFETCH_W(p) __builtin_prefetch((p), 1, AEK_PF_LOCALITY)
#endif
/* dW rows are prefetched this many present columns ahead in the transpose kernel. */
#ifndef AEK_SPMMT_PF_COLS
#define AEK_SPMMT_PF_COLS 2
#endif
/* Cost of one output row in "nonzero" units for the nnz-balanced row split. */
#define AEK_ROW_COST 1
/* Minimum work (floats moved, ~ (nnz + rows) * h) per thread before a second thread is used. */
#define AEK_MIN_WORK_PER_PART ((int64_t)1 << 16)

/* ------------------------------------------------------------------ validation */

/* Structural check of a CSR block; O(nnz). On success *nnz_out = indptr[n_rows] - indptr[0]. */
static int aek_csr_check(aek_csr x, int require_sorted, int64_t *nnz_out) {
    if (x.n_rows < 0 || x.n_cols < 0 || !x.indptr) return AEK_ERR_ARG;
    const int64_t *ip = x.indptr;
    if (ip[0] < 0) return AEK_ERR_ARG;
    for (int64_t r = 0; r < x.n_rows; r++)
        if (ip[r + 1] < ip[r]) return AEK_ERR_ARG;
    int64_t nnz = ip[x.n_rows] - ip[0];
    if (nnz > 0 && !x.indices) return AEK_ERR_ARG;
    const int32_t *ix = x.indices;
    const int64_t nc = x.n_cols;
    if (require_sorted) {
        for (int64_t r = 0; r < x.n_rows; r++) {
            int64_t prev = -1;
            for (int64_t k = ip[r]; k < ip[r + 1]; k++) {
                int64_t c = ix[k];
                if (c <= prev || c >= nc) return AEK_ERR_ARG;
                prev = c;
            }
        }
    } else {
        /* branch-free range check over the flat entry array */
        uint32_t bad = 0;
        const int32_t *p = ix + ip[0];
        for (int64_t k = 0; k < nnz; k++) bad |= (uint32_t)(p[k] < 0) | (uint32_t)((int64_t)p[k] >= nc);
        if (bad) return AEK_ERR_ARG;
    }
    *nnz_out = nnz;
    return AEK_OK;
}

int aek_csr_validate(aek_csr x, int require_sorted) {
    int64_t nnz;
    return aek_csr_check(x, require_sorted, &nnz);
}

/* ------------------------------------------------------------------ partitioning */

/* cost(r) = (indptr[r] - indptr[0]) + AEK_ROW_COST * r, strictly increasing in r. */
static inline int64_t aek_row_cost(const int64_t *ip, int64_t r) { return (ip[r] - ip[0]) + AEK_ROW_COST * r; }

/* First row of part p of `parts` (p == parts gives n_rows): the smallest r with
 * cost(r) >= total * p / parts. A pure function of (indptr, n_rows, parts, p). */
static int64_t aek_row_split(const int64_t *ip, int64_t n_rows, int parts, int p) {
    if (p <= 0) return 0;
    if (p >= parts) return n_rows;
    int64_t total = aek_row_cost(ip, n_rows);
    int64_t target = (int64_t)((__int128)total * p / parts);
    int64_t lo = 0, hi = n_rows; /* answer in [lo, hi] */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (aek_row_cost(ip, mid) >= target)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int aek_work_parts(int n_threads, int64_t units, int64_t h, int64_t max_parts) {
    int64_t work = units;
    if (h > 0) work = work <= INT64_MAX / h ? work * h : INT64_MAX;
    int parts = aek_parallel_parts(n_threads, work, AEK_MIN_WORK_PER_PART);
    if (parts > max_parts) parts = (int)(max_parts < 1 ? 1 : max_parts);
    return parts;
}

/* ------------------------------------------------------------------ inner routines */

/* y[0:h] = y[0:h] + v0 w0 + v1 w1 + ... (N terms, left to right; implicit: all v = 1, plain adds,
 * which equal fma(1, w, y) bit for bit). zero: start from +0 instead of loading y (the same bits as
 * zeroing y first). While streaming, the rows p0..p3 are prefetched chunk by chunk (pass duplicates
 * when fewer are wanted); p0 with write intent if pw0. */
AEK_AI void aek_axpy_group(float *restrict y, int64_t h, const int N, const int implicit, const int zero,
                           const int pw0, const float *w0, const float *w1, const float *w2, const float *w3, float v0,
                           float v1, float v2, float v3, const float *p0, const float *p1, const float *p2,
                           const float *p3) {
    int64_t c = 0;
    for (; c + 16 <= h; c += 16) {
        aek_f16 a = zero ? (aek_f16){0} : AEK_LD16(y + c);
        if (implicit) {
            a = a + AEK_LD16(w0 + c);
            if (N > 1) a = a + AEK_LD16(w1 + c);
            if (N > 2) a = a + AEK_LD16(w2 + c);
            if (N > 3) a = a + AEK_LD16(w3 + c);
        } else {
            a = a + v0 * AEK_LD16(w0 + c);
            if (N > 1) a = a + v1 * AEK_LD16(w1 + c);
            if (N > 2) a = a + v2 * AEK_LD16(w2 + c);
            if (N > 3) a = a + v3 * AEK_LD16(w3 + c);
        }
        AEK_ST16(y + c, a);
        if (pw0)
            AEK_PREFETCH_W(p0 + c);
        else
            AEK_PREFETCH(p0 + c);
        AEK_PREFETCH(p1 + c);
        AEK_PREFETCH(p2 + c);
        AEK_PREFETCH(p3 + c);
    }
    for (; c < h; c++) {
        float a = zero ? 0.0f : y[c];
        if (implicit) {
            a = a + w0[c];
            if (N > 1) a = a + w1[c];
            if (N > 2) a = a + w2[c];
            if (N > 3) a = a + w3[c];
        } else {
            a = a + v0 * w0[c];
            if (N > 1) a = a + v1 * w1[c];
            if (N > 2) a = a + v2 * w2[c];
            if (N > 3) a = a + v3 * w3[c];
        }
        y[c] = a;
    }
    if (h > 0) {
        if (pw0)
            AEK_PREFETCH_W(p0 + h - 1);
        else
            AEK_PREFETCH(p0 + h - 1);
        AEK_PREFETCH(p1 + h - 1);
        AEK_PREFETCH(p2 + h - 1);
        AEK_PREFETCH(p3 + h - 1);
    }
}

/* aek_axpy_group for n = 1..4 entries given as arrays (unused slots may hold anything valid). */
AEK_AI void aek_axpy_n(float *restrict y, int64_t h, int n, const int implicit, const int zero, const int pw0,
                       const float *const *w, const float *v, const float *const *p) {
    switch (n) {
    case 4:
        aek_axpy_group(y, h, 4, implicit, zero, pw0, w[0], w[1], w[2], w[3], v[0], v[1], v[2], v[3], p[0], p[1], p[2],
                       p[3]);
        break;
    case 3:
        aek_axpy_group(y, h, 3, implicit, zero, pw0, w[0], w[1], w[2], w[2], v[0], v[1], v[2], 0.0f, p[0], p[1], p[2],
                       p[3]);
        break;
    case 2:
        aek_axpy_group(y, h, 2, implicit, zero, pw0, w[0], w[1], w[1], w[1], v[0], v[1], 0.0f, 0.0f, p[0], p[1], p[2],
                       p[3]);
        break;
    default:
        aek_axpy_group(y, h, 1, implicit, zero, pw0, w[0], w[0], w[0], w[0], v[0], 0.0f, 0.0f, 0.0f, p[0], p[1], p[2],
                       p[3]);
        break;
    }
}

/* y = beta * y (beta == 0: y = 0, whatever y held). */
AEK_AI void aek_scale_row(float *restrict y, int64_t h, float beta) {
    if (beta == 1.0f) return;
    if (beta == 0.0f) {
        for (int64_t c = 0; c < h; c++) y[c] = 0.0f;
    } else {
        for (int64_t c = 0; c < h; c++) y[c] = beta * y[c];
    }
}

AEK_AI void aek_add_row(float *restrict y, int64_t h, const float *restrict b) {
    for (int64_t c = 0; c < h; c++) y[c] = y[c] + b[c];
}

/* Tree sum of the 16 lanes (a fixed order). */
AEK_AI float aek_hsum16(const aek_f16 *pv) {
    const aek_f16 v = *pv;
    aek_f8 lo = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
    aek_f8 hi = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    aek_f8 s8 = lo + hi;
    aek_f4 s4 = __builtin_shufflevector(s8, s8, 0, 1, 2, 3) + __builtin_shufflevector(s8, s8, 4, 5, 6, 7);
    float s2a = s4[0] + s4[2], s2b = s4[1] + s4[3];
    return s2a + s2b;
}

/* s_j = <a, b_j> for N rows b_j (16-lane partial sums, tree-reduced, then the tail in order). */
AEK_AI void aek_dot_group(const float *restrict a, int64_t h, const int N, const float *b0, const float *b1,
                          const float *b2, const float *b3, float *s, const float *p0, const float *p1,
                          const float *p2, const float *p3) {
    aek_f16 z = {0};
    aek_f16 s0 = z, s1 = z, s2 = z, s3 = z;
    int64_t c = 0;
    for (; c + 16 <= h; c += 16) {
        aek_f16 av = AEK_LD16(a + c);
        s0 = s0 + av * AEK_LD16(b0 + c);
        if (N > 1) s1 = s1 + av * AEK_LD16(b1 + c);
        if (N > 2) s2 = s2 + av * AEK_LD16(b2 + c);
        if (N > 3) s3 = s3 + av * AEK_LD16(b3 + c);
        AEK_PREFETCH(p0 + c);
        AEK_PREFETCH(p1 + c);
        AEK_PREFETCH(p2 + c);
        AEK_PREFETCH(p3 + c);
    }
    float t0 = aek_hsum16(&s0), t1 = 0, t2 = 0, t3 = 0;
    if (N > 1) t1 = aek_hsum16(&s1);
    if (N > 2) t2 = aek_hsum16(&s2);
    if (N > 3) t3 = aek_hsum16(&s3);
    for (; c < h; c++) {
        float av = a[c];
        t0 = t0 + av * b0[c];
        if (N > 1) t1 = t1 + av * b1[c];
        if (N > 2) t2 = t2 + av * b2[c];
        if (N > 3) t3 = t3 + av * b3[c];
    }
    s[0] = t0;
    if (N > 1) s[1] = t1;
    if (N > 2) s[2] = t2;
    if (N > 3) s[3] = t3;
    if (h > 0) {
        AEK_PREFETCH(p0 + h - 1);
        AEK_PREFETCH(p1 + h - 1);
        AEK_PREFETCH(p2 + h - 1);
        AEK_PREFETCH(p3 + h - 1);
    }
}

/* ------------------------------------------------------------------ CSR x dense */

typedef struct {
    const int64_t *indptr;
    const int32_t *indices;
    const float *values;
    int64_t n_rows;
    const float *W;
    int64_t ldw, h;
    const float *bias;
    float beta;
    float *Y;
    int64_t ldy;
    int parts;
} aek_spmm_ctx;

/* Accumulates the entries [k, kend) (kend > k) into y in groups of four; with zero_first the first
 * group starts from 0 instead of y. Prefetching looks at entries up to kpf_last. */
AEK_AI void aek_spmm_row(float *restrict y, int64_t h, const float *W, int64_t ldw, const int32_t *ix,
                         const float *vx, int64_t k, int64_t kend, int64_t kpf_last, int zero_first,
                         const int implicit) {
    while (k < kend) {
        const int n = kend - k >= 4 ? 4 : (int)(kend - k);
        const float *w[4], *p[4];
        float v[4];
        for (int j = 0; j < 4; j++) {
            const int64_t kk = k + (j < n ? j : n - 1);
            const int64_t kq = k + AEK_SPARSE_PF_DIST + j;
            w[j] = W + (int64_t)ix[kk] * ldw;
            v[j] = implicit ? 1.0f : vx[kk];
            p[j] = W + (int64_t)ix[kq < kpf_last ? kq : kpf_last] * ldw;
        }
        if (zero_first)
            aek_axpy_n(y, h, n, implicit, 1, 0, w, v, p);
        else
            aek_axpy_n(y, h, n, implicit, 0, 0, w, v, p);
        zero_first = 0;
        k += n;
    }
}

AEK_CLONES
static void aek_spmm_rows(const aek_spmm_ctx *cx, int64_t r0, int64_t r1) {
    const int64_t *ip = cx->indptr;
    const int64_t h = cx->h;
    if (r0 >= r1) return;
    const int64_t kpf_last = ip[r1] > ip[r0] ? ip[r1] - 1 : ip[r0];
    for (int64_t r = r0; r < r1; r++) {
        float *y = cx->Y + r * cx->ldy;
        const int zero = cx->beta == 0.0f;
        if (ip[r + 1] > ip[r]) {
            if (!zero) aek_scale_row(y, h, cx->beta);
            if (cx->values)
                aek_spmm_row(y, h, cx->W, cx->ldw, cx->indices, cx->values, ip[r], ip[r + 1], kpf_last, zero, 0);
            else
                aek_spmm_row(y, h, cx->W, cx->ldw, cx->indices, NULL, ip[r], ip[r + 1], kpf_last, zero, 1);
        } else {
            aek_scale_row(y, h, cx->beta);
        }
        if (cx->bias) aek_add_row(y, h, cx->bias);
    }
}

static void aek_spmm_part(void *ctx, int64_t begin, int64_t end, int part) {
    (void)part;
    const aek_spmm_ctx *cx = (const aek_spmm_ctx *)ctx;
    for (int64_t p = begin; p < end; p++)
        aek_spmm_rows(cx, aek_row_split(cx->indptr, cx->n_rows, cx->parts, (int)p),
                      aek_row_split(cx->indptr, cx->n_rows, cx->parts, (int)p + 1));
}

int aek_csr_dense_mm(aek_csr x, const float *W, int64_t ldw, int64_t h, const float *bias, float beta, float *Y,
                     int64_t ldy, int n_threads) {
    int64_t nnz;
    if (aek_csr_check(x, 0, &nnz) != AEK_OK) return AEK_ERR_ARG;
    if (h < 0 || ldw < h || ldy < h) return AEK_ERR_ARG;
    if (h == 0 || x.n_rows == 0) return AEK_OK;
    if (!Y) return AEK_ERR_ARG;
    if (nnz > 0 && !W) return AEK_ERR_ARG;

    aek_spmm_ctx cx = {x.indptr, x.indices, x.values, x.n_rows, W, ldw, h, bias, beta, Y, ldy, 1};
    cx.parts = aek_work_parts(n_threads, nnz + x.n_rows, h, x.n_rows);
    aek_parallel_for(cx.parts, cx.parts, aek_spmm_part, &cx);
    return AEK_OK;
}

/* ------------------------------------------------------------------ CSR x dense, float64 sums */

typedef struct {
    aek_csr x;
    const float *W;
    int64_t ldw, h, ldy;
    float *Y;
    double *work;
} aek_spmm64_ctx;

AEK_CLONES
static void aek_spmm64_rows(const aek_spmm64_ctx *c, int64_t r0, int64_t r1, double *restrict acc) {
    const int64_t h = c->h;
    for (int64_t r = r0; r < r1; r++) {
        for (int64_t j = 0; j < h; j++) acc[j] = 0.0;
        for (int64_t k = c->x.indptr[r]; k < c->x.indptr[r + 1]; k++) {
            const double v = c->x.values ? (double)c->x.values[k] : 1.0;
            const float *restrict w = c->W + (int64_t)c->x.indices[k] * c->ldw;
            for (int64_t j = 0; j < h; j++) acc[j] += v * (double)w[j];
        }
        float *restrict y = c->Y + r * c->ldy;
        for (int64_t j = 0; j < h; j++) y[j] = (float)acc[j];
    }
}

static void aek_spmm64_part(void *ctx, int64_t begin, int64_t end, int part) {
    const aek_spmm64_ctx *c = (const aek_spmm64_ctx *)ctx;
    aek_spmm64_rows(c, begin, end, c->work + (int64_t)part * c->h);
}

int aek_csr_dense_mm_f64(aek_csr x, const float *W, int64_t ldw, int64_t h, float *Y, int64_t ldy, double *work,
                         int n_threads) {
    int64_t nnz;
    if (aek_csr_check(x, 0, &nnz) != AEK_OK) return AEK_ERR_ARG;
    if (h < 0 || ldw < h || ldy < h) return AEK_ERR_ARG;
    if (h == 0 || x.n_rows == 0) return AEK_OK;
    if (!Y || !work) return AEK_ERR_ARG;
    if (nnz > 0 && !W) return AEK_ERR_ARG;
    aek_spmm64_ctx c = {x, W, ldw, h, ldy, Y, work};
    int parts = aek_parallel_parts(n_threads < 1 ? 1 : n_threads, x.n_rows, 1);
    aek_parallel_for(parts, x.n_rows, aek_spmm64_part, &c);
    return AEK_OK;
}

/* ------------------------------------------------------------------ CSR^T x dense */

/* Workspace layout (from the first 64-byte boundary at or after `workspace`):
 *   int64_t  col_pos[n_cols]          per-column entry counts, then the start of each present
 *                                     column's run in the column-sorted entry arrays, then (after
 *                                     the scatter) its end; present column touched[t] owns
 *                                     [t ? col_pos[touched[t-1]] : 0, col_pos[touched[t]])
 *   uint64_t present[ceil(n_cols/64)] bitmap of the present columns
 *   int64_t  entry_row[nnz]           block row r of each entry, column-major order, r ascending
 *   float    entry_val[nnz]           its value (not written for implicit blocks)
 * Everything is rebuilt on every call: one O(n_cols) memset, a walk over the n_cols/64 bitmap
 * words and two O(nnz) passes. Entries of absent columns are never read. */
#define AEK_WS_ALIGN 64

size_t aek_csr_transpose_workspace_size(int64_t n_cols, int64_t nnz) {
    if (n_cols < 0 || nnz < 0) return 0;
    const uint64_t lim = (uint64_t)1 << 58;
    if ((uint64_t)n_cols >= lim || (uint64_t)nnz >= lim) return SIZE_MAX;
    const uint64_t words = ((uint64_t)n_cols + 63) / 64;
    uint64_t bytes = AEK_WS_ALIGN + 8 * (uint64_t)n_cols + 8 * words + 8 * (uint64_t)nnz + 4 * (uint64_t)nnz;
    bytes = (bytes + 63) & ~(uint64_t)63;
    if (bytes > SIZE_MAX) return SIZE_MAX;
    return (size_t)bytes;
}

typedef struct {
    const int64_t *col_pos;
    const int64_t *erow;
    const float *evals; /* NULL for implicit */
    const int32_t *touched;
    int64_t n_touched;
    const float *G;
    int64_t ldg, h;
    float beta;
    float *dW;
    int64_t ldw;
    int parts;
} aek_spmmt_ctx;

/* Start of the run of present column number t (t <= n_touched; t == n_touched gives nnz). */
static inline int64_t aek_run_begin(const aek_spmmt_ctx *cx, int64_t t) {
    return t ? cx->col_pos[cx->touched[t - 1]] : 0;
}

/* cost(t) = entries of touched[0..t) + AEK_ROW_COST * t. */
static inline int64_t aek_touched_cost(const aek_spmmt_ctx *cx, int64_t t) {
    return aek_run_begin(cx, t) + AEK_ROW_COST * t;
}

static int64_t aek_touched_split(const aek_spmmt_ctx *cx, int p) {
    if (p <= 0) return 0;
    if (p >= cx->parts) return cx->n_touched;
    int64_t total = aek_touched_cost(cx, cx->n_touched);
    int64_t target = (int64_t)((__int128)total * p / cx->parts);
    int64_t lo = 0, hi = cx->n_touched;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (aek_touched_cost(cx, mid) >= target)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* dW row y += the entries [e, eend) (eend > e) of one column, groups of four, rows ascending; with
 * zero_first the first group starts from 0. pw (the dW row of an upcoming column) is prefetched for
 * writing, the G rows of the entries AEK_SPARSE_PF_DIST ahead (up to epf_last) for reading. */
AEK_AI void aek_spmmt_col(float *restrict y, int64_t h, const float *G, int64_t ldg, const int64_t *er,
                          const float *ev, int64_t e, int64_t eend, int64_t epf_last, const float *pw,
                          int zero_first, const int implicit) {
    while (e < eend) {
        const int n = eend - e >= 4 ? 4 : (int)(eend - e);
        const float *w[4], *p[4];
        float v[4];
        p[0] = pw;
        for (int j = 0; j < 4; j++) {
            const int64_t ee = e + (j < n ? j : n - 1);
            w[j] = G + er[ee] * ldg;
            v[j] = implicit ? 1.0f : ev[ee];
        }
        for (int j = 1; j < 4; j++) {
            const int64_t eq = e + AEK_SPARSE_PF_DIST + j - 1;
            p[j] = G + er[eq < epf_last ? eq : epf_last] * ldg;
        }
        if (zero_first)
            aek_axpy_n(y, h, n, implicit, 1, 1, w, v, p);
        else
            aek_axpy_n(y, h, n, implicit, 0, 1, w, v, p);
        zero_first = 0;
        e += n;
    }
}

AEK_CLONES
static void aek_spmmt_cols(const aek_spmmt_ctx *cx, int64_t t0, int64_t t1) {
    const int64_t h = cx->h;
    if (t0 >= t1) return;
    const int64_t epf_last = aek_run_begin(cx, t1) - 1;
    int64_t e = aek_run_begin(cx, t0);
    for (int64_t t = t0; t < t1; t++) {
        const int32_t c = cx->touched[t];
        const int64_t eend = cx->col_pos[c];
        float *y = cx->dW + (int64_t)c * cx->ldw;
        /* the dW row AEK_SPMMT_PF_COLS columns ahead is prefetched while this one is accumulated */
        const int64_t tp = t + AEK_SPMMT_PF_COLS < t1 ? t + AEK_SPMMT_PF_COLS : t1 - 1;
        const float *pw = cx->dW + (int64_t)cx->touched[tp] * cx->ldw;
        const int zero = cx->beta == 0.0f;
        if (!zero) aek_scale_row(y, h, cx->beta);
        if (cx->evals)
            aek_spmmt_col(y, h, cx->G, cx->ldg, cx->erow, cx->evals, e, eend, epf_last, pw, zero, 0);
        else
            aek_spmmt_col(y, h, cx->G, cx->ldg, cx->erow, NULL, e, eend, epf_last, pw, zero, 1);
        e = eend;
    }
}

static void aek_spmmt_part(void *ctx, int64_t begin, int64_t end, int part) {
    (void)part;
    const aek_spmmt_ctx *cx = (const aek_spmmt_ctx *)ctx;
    for (int64_t p = begin; p < end; p++)
        aek_spmmt_cols(cx, aek_touched_split(cx, (int)p), aek_touched_split(cx, (int)p + 1));
}

int aek_csr_transpose_dense_mm(aek_csr x, const float *G, int64_t ldg, int64_t h, float beta, float *dW,
                               int64_t ldw, int32_t *touched, int64_t *n_touched, void *workspace,
                               size_t workspace_bytes, int n_threads) {
    int64_t nnz;
    if (aek_csr_check(x, 0, &nnz) != AEK_OK) return AEK_ERR_ARG;
    if (h < 0 || ldg < h || ldw < h || !n_touched) return AEK_ERR_ARG;
    size_t need = aek_csr_transpose_workspace_size(x.n_cols, nnz);
    if (!workspace || workspace_bytes < need) return AEK_ERR_ARG;
    if (nnz > 0 && (!touched || (h > 0 && (!G || !dW)))) return AEK_ERR_ARG;

    const int64_t nc = x.n_cols, nr = x.n_rows;
    const int64_t *ip = x.indptr;
    const int32_t *ix = x.indices;
    const float *vx = x.values;
    uintptr_t base = ((uintptr_t)workspace + (AEK_WS_ALIGN - 1)) & ~(uintptr_t)(AEK_WS_ALIGN - 1);
    int64_t *restrict col_pos = (int64_t *)base;
    const int64_t n_words = (nc + 63) / 64;
    uint64_t *restrict present = (uint64_t *)(col_pos + nc);
    int64_t *restrict erow = (int64_t *)(present + n_words);
    float *restrict evals = (float *)(erow + nnz);

    /* per-column counts and the bitmap of present columns */
    memset(col_pos, 0, (size_t)nc * sizeof(int64_t));
    memset(present, 0, (size_t)n_words * sizeof(uint64_t));
    if (nnz > 0) {
        const int32_t *restrict ixb = ix + ip[0];
        for (int64_t k = 0; k < nnz; k++) {
            const uint32_t c = (uint32_t)ixb[k];
            col_pos[c]++;
            present[c >> 6] |= (uint64_t)1 << (c & 63);
        }
    }
    /* present columns in ascending order (set bits of the bitmap, lowest first) and the start of
     * each one's run (exclusive prefix sums over the present columns only) */
    int64_t nt = 0, run = 0;
    for (int64_t w = 0; w < n_words; w++) {
        uint64_t bitsw = present[w];
        while (bitsw) {
            const int64_t c = w * 64 + __builtin_ctzll(bitsw);
            bitsw &= bitsw - 1;
            touched[nt++] = (int32_t)c;
            const int64_t cnt = col_pos[c];
            col_pos[c] = run;
            run += cnt;
        }
    }
    /* scatter, rows ascending, so every column's run is in ascending row order (and stored order
     * within a row); afterwards col_pos[c] is the end of column c's run */
    for (int64_t r = 0; r < nr; r++) {
        const int64_t k0 = ip[r], k1 = ip[r + 1];
        if (vx) {
            for (int64_t k = k0; k < k1; k++) {
                const int64_t pos = col_pos[ix[k]]++;
                erow[pos] = r;
                evals[pos] = vx[k];
            }
        } else {
            for (int64_t k = k0; k < k1; k++) erow[col_pos[ix[k]]++] = r;
        }
    }
    *n_touched = nt;
    if (h == 0 || nt == 0) return AEK_OK;

    aek_spmmt_ctx cx = {col_pos, erow, vx ? evals : NULL, touched, nt, G, ldg, h, beta, dW, ldw, 1};
    cx.parts = aek_work_parts(n_threads, nnz + nt, h, nt);
    aek_parallel_for(cx.parts, cx.parts, aek_spmmt_part, &cx);
    return AEK_OK;
}

/* ------------------------------------------------------------------ SDDMM */

typedef struct {
    const int64_t *indptr;
    const int32_t *indices;
    int64_t n_rows;
    const float *A;
    int64_t lda;
    const float *B;
    int64_t ldb, h;
    const float *bias;
    float *out;
    int parts;
} aek_sddmm_ctx;

AEK_CLONES
static void aek_sddmm_rows(const aek_sddmm_ctx *cx, int64_t r0, int64_t r1) {
    const int64_t *ip = cx->indptr;
    const int32_t *ix = cx->indices;
    const int64_t h = cx->h, ldb = cx->ldb;
    const float *B = cx->B;
    const float *bias = cx->bias;
    float *out = cx->out;
    if (r0 >= r1 || ip[r1] == ip[r0]) return;
    const int64_t kpf_last = ip[r1] - 1;
#define AEK_B(kk) (B + (int64_t)ix[kk] * ldb)
#define AEK_PF(kk) (B + (int64_t)ix[(kk) < kpf_last ? (kk) : kpf_last] * ldb)
    for (int64_t r = r0; r < r1; r++) {
        const float *a = cx->A + r * cx->lda;
        int64_t k = ip[r];
        const int64_t kend = ip[r + 1];
        float s[4];
        for (; k + 4 <= kend; k += 4) {
            const int64_t q = k + AEK_SPARSE_PF_DIST;
            aek_dot_group(a, h, 4, AEK_B(k), AEK_B(k + 1), AEK_B(k + 2), AEK_B(k + 3), s, AEK_PF(q), AEK_PF(q + 1),
                          AEK_PF(q + 2), AEK_PF(q + 3));
            for (int j = 0; j < 4; j++) out[k + j] = bias ? s[j] + bias[ix[k + j]] : s[j];
        }
        const int64_t q = k + AEK_SPARSE_PF_DIST;
        int rem = (int)(kend - k);
        if (rem == 3)
            aek_dot_group(a, h, 3, AEK_B(k), AEK_B(k + 1), AEK_B(k + 2), AEK_B(k + 2), s, AEK_PF(q), AEK_PF(q + 1),
                          AEK_PF(q + 2), AEK_PF(q + 2));
        else if (rem == 2)
            aek_dot_group(a, h, 2, AEK_B(k), AEK_B(k + 1), AEK_B(k + 1), AEK_B(k + 1), s, AEK_PF(q), AEK_PF(q + 1),
                          AEK_PF(q + 1), AEK_PF(q + 1));
        else if (rem == 1)
            aek_dot_group(a, h, 1, AEK_B(k), AEK_B(k), AEK_B(k), AEK_B(k), s, AEK_PF(q), AEK_PF(q), AEK_PF(q),
                          AEK_PF(q));
        for (int j = 0; j < rem; j++) out[k + j] = bias ? s[j] + bias[ix[k + j]] : s[j];
    }
#undef AEK_B
#undef AEK_PF
}

static void aek_sddmm_part(void *ctx, int64_t begin, int64_t end, int part) {
    (void)part;
    const aek_sddmm_ctx *cx = (const aek_sddmm_ctx *)ctx;
    for (int64_t p = begin; p < end; p++)
        aek_sddmm_rows(cx, aek_row_split(cx->indptr, cx->n_rows, cx->parts, (int)p),
                       aek_row_split(cx->indptr, cx->n_rows, cx->parts, (int)p + 1));
}

int aek_csr_sddmm(aek_csr x, const float *A, int64_t lda, const float *B, int64_t ldb, int64_t h, const float *bias,
                  float *out, int n_threads) {
    int64_t nnz;
    if (aek_csr_check(x, 0, &nnz) != AEK_OK) return AEK_ERR_ARG;
    if (h < 0 || lda < h || ldb < h) return AEK_ERR_ARG;
    if (nnz == 0) return AEK_OK;
    if (!out || (h > 0 && (!A || !B))) return AEK_ERR_ARG;
    if (h == 0) { /* empty dot products (A and B may be NULL) */
        for (int64_t k = x.indptr[0]; k < x.indptr[x.n_rows]; k++) out[k] = bias ? bias[x.indices[k]] : 0.0f;
        return AEK_OK;
    }

    aek_sddmm_ctx cx = {x.indptr, x.indices, x.n_rows, A, lda, B, ldb, h, bias, out, 1};
    cx.parts = aek_work_parts(n_threads, nnz + x.n_rows, h, x.n_rows);
    aek_parallel_for(cx.parts, cx.parts, aek_sddmm_part, &cx);
    return AEK_OK;
}

/* ------------------------------------------------------------------ L2 normalisation */

int aek_csr_row_l2_normalize(aek_csr x, float eps, float *out_values) {
    int64_t nnz;
    if (aek_csr_check(x, 0, &nnz) != AEK_OK) return AEK_ERR_ARG;
    if (nnz > 0 && !out_values) return AEK_ERR_ARG;
    const int64_t *ip = x.indptr;
    const float *v = x.values;
    for (int64_t r = 0; r < x.n_rows; r++) {
        const int64_t k0 = ip[r], k1 = ip[r + 1];
        if (k0 == k1) continue;
        double s = 0.0;
        if (v) {
            for (int64_t k = k0; k < k1; k++) s += (double)v[k] * (double)v[k];
        } else {
            s = (double)(k1 - k0);
        }
        const double norm = sqrt(s);
        if (norm <= (double)eps) { /* (a NaN norm propagates through the division below) */
            for (int64_t k = k0; k < k1; k++) out_values[k] = 0.0f;
        } else if (v) {
            for (int64_t k = k0; k < k1; k++) out_values[k] = (float)((double)v[k] / norm);
        } else {
            const float u = (float)(1.0 / norm);
            for (int64_t k = k0; k < k1; k++) out_values[k] = u;
        }
    }
    return AEK_OK;
}

typedef struct {
    int64_t cols;
    float *A;
    int64_t lda;
    float eps;
    float *norms;
} aek_dnorm_ctx;

AEK_CLONES
static void aek_dnorm_rows(void *ctx, int64_t r0, int64_t r1, int part) {
    (void)part;
    const aek_dnorm_ctx *cx = (const aek_dnorm_ctx *)ctx;
    const int64_t cols = cx->cols;
    for (int64_t r = r0; r < r1; r++) {
        float *restrict a = cx->A + r * cx->lda;
        aek_d8 acc = {0};
        int64_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            aek_d8 d = __builtin_convertvector(AEK_LD8(a + c), aek_d8);
            acc = acc + d * d;
        }
        double s = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
        for (; c < cols; c++) s = s + (double)a[c] * (double)a[c];
        const double norm = sqrt(s);
        if (cx->norms) cx->norms[r] = (float)norm;
        if (norm > (double)cx->eps) {
            const double inv = 1.0 / norm;
            for (int64_t j = 0; j < cols; j++) a[j] = (float)((double)a[j] * inv);
        }
    }
}

int aek_dense_row_l2_normalize(int64_t rows, int64_t cols, float *A, int64_t lda, float eps, float *norms,
                               int n_threads) {
    if (rows < 0 || cols < 0 || lda < cols) return AEK_ERR_ARG;
    if (rows == 0) return AEK_OK;
    if ((cols > 0 && !A)) return AEK_ERR_ARG;
    if (cols == 0) {
        if (norms)
            for (int64_t r = 0; r < rows; r++) norms[r] = 0.0f;
        return AEK_OK;
    }
    aek_dnorm_ctx cx = {cols, A, lda, eps, norms};
    int parts = aek_work_parts(n_threads, rows, cols, rows);
    aek_parallel_for(parts, rows, aek_dnorm_rows, &cx);
    return AEK_OK;
}
