/* Per-row top-k with exclusions.
 *
 * Order: a beats b when a.score > b.score, or the scores are equal and a.col < b.col (NaN counts as
 * -inf). Each candidate becomes one 64-bit key (order-preserving score bits above ~column), so the
 * order is plain unsigned comparison and all keys of a row are distinct.
 *
 * Per row (threshold + buffer, then select): the first `cap` candidates go into a buffer; a
 * selection keeps the best kk = min(k, n_cols) and sets thr to the kk-th best score. Columns are
 * visited in ascending order, so a later column can only matter if its score is strictly greater
 * than thr (on a tie it loses to the earlier column). That "score > thr" test is the hot loop: a
 * 64-bit mask from four 16-float compares (AEK_CLONES), visiting only the set bits; hits are
 * checked against the sorted exclusion list (walked forward alongside the scan) and appended; a
 * full buffer is compacted back to kk, raising thr. Finally the kk best are selected and sorted.
 *
 * Scratch: `cap` keys per part, allocated once per call before any thread starts. */
#include "aek_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A candidate as one sortable key: larger key = better. High half: the score mapped to an unsigned
 * integer with the same order (NaN -> -inf, -0 -> +0 so equal scores give equal halves); low half:
 * ~column, so that on equal scores the lower column is the larger key. Keys of distinct columns are
 * distinct, which makes every selection below unique and its result independent of how it ran. */
static inline uint32_t aek_tk_ord(float s) {
    if (s != s) s = -INFINITY;
    s += 0.0f; /* -0 -> +0 */
    uint32_t u;
    memcpy(&u, &s, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static inline float aek_tk_unord(uint32_t o) {
    uint32_t u = (o & 0x80000000u) ? (o & 0x7fffffffu) : ~o;
    float s;
    memcpy(&s, &u, sizeof s);
    return s;
}

static inline uint64_t aek_tk_key(float s, int64_t c) {
    return ((uint64_t)aek_tk_ord(s) << 32) | (uint64_t)(0xffffffffu - (uint32_t)c);
}

static inline int32_t aek_tk_col(uint64_t key) { return (int32_t)(0xffffffffu - (uint32_t)key); }

static inline void aek_tk_swap(uint64_t *a, uint64_t *b) {
    uint64_t t = *a;
    *a = *b;
    *b = t;
}

/* Branch-free Lomuto partition of a[lo..hi) around a pivot chosen by median of three: on return
 * a[lo..p) > a[p] > a(p..hi). Returns p. */
static int64_t aek_tk_partition(uint64_t *a, int64_t lo, int64_t hi) {
    int64_t mid = lo + (hi - lo) / 2, last = hi - 1;
    if (a[mid] > a[lo]) aek_tk_swap(&a[mid], &a[lo]);
    if (a[last] > a[lo]) aek_tk_swap(&a[last], &a[lo]);
    if (a[last] < a[mid]) aek_tk_swap(&a[last], &a[mid]); /* a[lo] >= a[last] >= a[mid]: median at last */
    uint64_t pivot = a[last];
    int64_t i = lo;
    for (int64_t j = lo; j < last; j++) {
        uint64_t x = a[j];
        a[j] = a[i];
        a[i] = x;
        i += x > pivot;
    }
    a[last] = a[i];
    a[i] = pivot;
    return i;
}

static void aek_tk_insertion_sort(uint64_t *a, int64_t lo, int64_t hi) { /* descending */
    for (int64_t i = lo + 1; i < hi; i++) {
        uint64_t x = a[i];
        int64_t j = i;
        for (; j > lo && a[j - 1] < x; j--) a[j] = a[j - 1];
        a[j] = x;
    }
}

static void aek_tk_heap_sift(uint64_t *a, int64_t n, int64_t i) { /* min-heap */
    uint64_t x = a[i];
    for (;;) {
        int64_t l = 2 * i + 1;
        if (l >= n) break;
        int64_t w = (l + 1 < n && a[l + 1] < a[l]) ? l + 1 : l;
        if (a[w] >= x) break;
        a[i] = a[w];
        i = w;
    }
    a[i] = x;
}

static void aek_tk_heap_sort(uint64_t *a, int64_t n) { /* descending, O(n log n) worst case */
    for (int64_t i = n / 2; i-- > 0;) aek_tk_heap_sift(a, n, i);
    for (int64_t end = n - 1; end > 0; end--) {
        aek_tk_swap(&a[0], &a[end]);
        aek_tk_heap_sift(a, end, 0);
    }
}

static int aek_tk_depth_limit(int64_t n) {
    int d = 8;
    while (n > 1) {
        n >>= 1;
        d += 2;
    }
    return d;
}

/* Descending sort (introsort: quicksort, insertion sort for short ranges, heap sort when too deep). */
static void aek_tk_sort(uint64_t *a, int64_t lo, int64_t hi, int depth) {
    while (hi - lo > 24) {
        if (depth-- <= 0) {
            aek_tk_heap_sort(a + lo, hi - lo);
            return;
        }
        int64_t p = aek_tk_partition(a, lo, hi);
        if (p - lo < hi - p - 1) {
            aek_tk_sort(a, lo, p, depth);
            lo = p + 1;
        } else {
            aek_tk_sort(a, p + 1, hi, depth);
            hi = p;
        }
    }
    aek_tk_insertion_sort(a, lo, hi);
}

/* Moves the kk largest of a[0..n) into a[0..kk) (in no particular order), kk <= n. */
static void aek_tk_select(uint64_t *a, int64_t n, int64_t kk) {
    int64_t lo = 0, hi = n;
    int depth = aek_tk_depth_limit(n);
    while (lo < kk && kk < hi) {
        if (hi - lo <= 24 || depth-- <= 0) {
            aek_tk_sort(a, lo, hi, aek_tk_depth_limit(hi - lo));
            return;
        }
        int64_t p = aek_tk_partition(a, lo, hi);
        if (kk <= p)
            hi = p;
        else
            lo = p + 1;
    }
}

/* Keeps the kk best of buf[0..n) in buf[0..kk) and returns the score a later column must beat. */
static float aek_tk_compact(uint64_t *buf, int64_t n, int64_t kk) {
    aek_tk_select(buf, n, kk);
    uint64_t worst = buf[0];
    for (int64_t i = 1; i < kk; i++) worst = buf[i] < worst ? buf[i] : worst;
    return aek_tk_unord((uint32_t)(worst >> 32));
}

/* Bit i of the result: s[i] > thr, for i < 64 (false for NaN). Four 16-float compares. */
#if defined(__clang__)
typedef float aek_tk_v16f __attribute__((ext_vector_type(16)));
typedef _Bool aek_tk_v16b __attribute__((ext_vector_type(16)));
static inline uint64_t aek_tk_mask64(const float *s, float thr) {
    uint64_t m = 0;
    for (int b = 0; b < 4; b++) {
        aek_tk_v16f x;
        memcpy(&x, s + 16 * b, sizeof x);
        aek_tk_v16b gt = __builtin_convertvector(x > thr, aek_tk_v16b);
        uint16_t bits;
        memcpy(&bits, &gt, sizeof bits);
        m |= (uint64_t)bits << (16 * b);
    }
    return m;
}
#else
static inline uint64_t aek_tk_mask64(const float *s, float thr) {
    uint64_t m = 0;
    for (int i = 0; i < 64; i++) m |= (uint64_t)(s[i] > thr) << i;
    return m;
}
#endif

/* Top-kk of one row into buf (capacity cap > kk), best first; returns the count (<= kk).
 * ex[0..n_ex) is the row's ascending exclusion list. */
AEK_CLONES static int64_t aek_tk_row(const float *restrict s, int64_t n, const int32_t *ex, int64_t n_ex, int64_t kk,
                                     uint64_t *restrict buf, int64_t cap) {
    int64_t e = 0, cnt = 0, c = 0;
    /* Fill: the first `cap` candidates, whatever their scores. */
    for (; c < n && cnt < cap; c++) {
        while (e < n_ex && ex[e] < c) e++;
        if (e < n_ex && ex[e] == c) continue;
        buf[cnt++] = aek_tk_key(s[c], c);
    }
    if (c < n) {
        float thr = aek_tk_compact(buf, cnt, kk);
        cnt = kk;
        /* Hot loop: 64 columns per mask; only the columns above the threshold are visited. Each
         * is tested again, since the threshold may have risen since the mask was formed. */
        for (; c < n; c += 64) {
            uint64_t m;
            if (c + 64 <= n) {
                m = aek_tk_mask64(s + c, thr);
            } else {
                m = 0;
                for (int64_t i = 0; i < n - c; i++) m |= (uint64_t)(s[c + i] > thr) << i;
            }
            while (m) {
                int64_t j = c + __builtin_ctzll(m);
                m &= m - 1;
                float x = s[j];
                if (!(x > thr)) continue;
                while (e < n_ex && ex[e] < j) e++;
                if (e < n_ex && ex[e] == j) continue;
                buf[cnt++] = aek_tk_key(x, j);
                if (cnt == cap) {
                    thr = aek_tk_compact(buf, cnt, kk);
                    cnt = kk;
                }
            }
        }
    }
    if (cnt > kk) {
        aek_tk_select(buf, cnt, kk);
        cnt = kk;
    }
    aek_tk_sort(buf, 0, cnt, aek_tk_depth_limit(cnt));
    return cnt;
}

typedef struct {
    int64_t n_cols, lds, k, kk;
    const float *scores;
    const aek_csr *ex;
    int32_t *out_idx;
    float *out_score;
    int64_t *out_count;
    int64_t cap;
    uint64_t *scratch; /* cap keys per part */
} aek_tk_ctx;

static void aek_tk_range(void *vctx, int64_t begin, int64_t end, int part) {
    const aek_tk_ctx *ctx = (const aek_tk_ctx *)vctx;
    uint64_t *buf = ctx->scratch + (int64_t)part * ctx->cap;
    const float *row_s;
    for (int64_t r = begin; r < end; r++) {
        const int32_t *ex = NULL;
        int64_t n_ex = 0;
        if (ctx->ex) {
            int64_t b = ctx->ex->indptr[r];
            n_ex = ctx->ex->indptr[r + 1] - b;
            ex = n_ex ? ctx->ex->indices + b : NULL;
        }
        row_s = ctx->kk ? ctx->scores + r * ctx->lds : NULL; /* scores may be NULL when n_cols == 0 */
        int64_t cnt = ctx->kk ? aek_tk_row(row_s, ctx->n_cols, ex, n_ex, ctx->kk, buf, ctx->cap) : 0;
        int32_t *oi = ctx->out_idx + r * ctx->k;
        float *os = ctx->out_score ? ctx->out_score + r * ctx->k : NULL;
        for (int64_t j = 0; j < cnt; j++) oi[j] = aek_tk_col(buf[j]);
        for (int64_t j = cnt; j < ctx->k; j++) oi[j] = -1;
        if (os) {
            for (int64_t j = 0; j < cnt; j++) {
                float x = row_s[oi[j]];
                os[j] = x != x ? -INFINITY : x;
            }
            for (int64_t j = cnt; j < ctx->k; j++) os[j] = -INFINITY;
        }
        if (ctx->out_count) ctx->out_count[r] = cnt;
    }
}

int aek_topk_rows(int64_t rows, int64_t n_cols, const float *scores, int64_t lds, const aek_csr *exclude, int64_t k,
                  int32_t *out_idx, float *out_score, int64_t *out_count, int n_threads) {
    AEK_CHECK(rows >= 0 && n_cols >= 0 && n_cols <= INT32_MAX && lds >= n_cols && k >= 0);
    AEK_CHECK(rows == 0 || k <= INT64_MAX / 8 / rows);
    if (rows == 0) return AEK_OK;
    AEK_CHECK(n_cols == 0 || scores != NULL);
    AEK_CHECK(k == 0 || out_idx != NULL);
    if (exclude) {
        AEK_CHECK(exclude->n_rows == rows && exclude->indptr != NULL);
        AEK_CHECK(exclude->indptr[0] >= 0);
        for (int64_t r = 0; r < rows; r++) {
            int64_t b = exclude->indptr[r], e = exclude->indptr[r + 1];
            AEK_CHECK(b <= e);
            if (b == e) continue;
            AEK_CHECK(exclude->indices != NULL);
            const int32_t *ix = exclude->indices;
            AEK_CHECK(ix[b] >= 0 && ix[e - 1] < n_cols);
            for (int64_t j = b + 1; j < e; j++) AEK_CHECK(ix[j - 1] <= ix[j]);
        }
    }
    int64_t kk = k < n_cols ? k : n_cols;
    int64_t min_rows = n_cols > 0 ? 65536 / n_cols + 1 : rows;
    int parts = aek_parallel_parts(n_threads, rows, min_rows);
    /* Buffer: the kk kept plus room for later hits before the next compaction. */
    int64_t cap = kk + (kk > 128 ? kk : 128);
    if (cap > n_cols) cap = n_cols;
    uint64_t *scratch = NULL;
    if (kk > 0) {
        scratch = (uint64_t *)malloc((size_t)parts * (size_t)cap * sizeof(uint64_t));
        if (!scratch) return AEK_ERR_NOMEM;
    }
    aek_tk_ctx ctx = {n_cols, lds, k, kk, scores, exclude, out_idx, out_score, out_count, cap, scratch};
    aek_parallel_for(parts, rows, aek_tk_range, &ctx);
    free(scratch);
    return AEK_OK;
}
