/* Counter-based randomness: every value is a pure function of (seed, stream, counter), so masks and
 * initialisations never depend on thread count, scheduling or batch composition.
 *
 * aek_hash64(seed, stream, counter):
 *   k1 = mix_a(mix_a(seed + G) ^ (stream * G2 + G3))        (seed and stream absorbed, full avalanche)
 *   k2 = mix_b(k1 + G3)
 *   h  = mix_b(mix_a(counter * G + k1) ^ k2)
 * mix_a is the SplitMix64 finaliser (Stafford variant 13), mix_b the MurmurHash3 fmix64 finaliser.
 * The first round on counter * G + k1 is the SplitMix64 sequence at a (seed, stream)-dependent offset;
 * the second, keyed round removes the remaining structure between neighbouring streams.
 * Per element only two finaliser rounds run: the keys are computed once per call. */
#include "aek_internal.h"

#include <math.h>

#define AEK_G 0x9e3779b97f4a7c15ULL
#define AEK_G2 0xd1b54a32d192ed03ULL
#define AEK_G3 0x8cb92ba72f3d8dd7ULL

static inline uint64_t aek_mix_a(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t aek_mix_b(uint64_t z) {
    z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
    z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ULL;
    return z ^ (z >> 33);
}

typedef struct {
    uint64_t k1, k2;
} aek_rkey;

static inline aek_rkey aek_rkey_make(uint64_t seed, uint64_t stream) {
    aek_rkey k;
    k.k1 = aek_mix_a(aek_mix_a(seed + AEK_G) ^ (stream * AEK_G2 + AEK_G3));
    k.k2 = aek_mix_b(k.k1 + AEK_G3);
    return k;
}

static inline uint64_t aek_rkey_hash(aek_rkey k, uint64_t counter) {
    return aek_mix_b(aek_mix_a(counter * AEK_G + k.k1) ^ k.k2);
}

/* 24-bit integer behind aek_uniform: u = bits24 * 2^-24. */
static inline uint32_t aek_bits24(uint64_t h) { return (uint32_t)(h >> 40); }

static inline float aek_normal_from_hash(uint64_t h) {
    /* Two 32-bit uniforms from the two halves of one hash: u1 in (0, 1) (never 0, so log is finite),
     * u2 in [0, 1). */
    double u1 = ((double)(h >> 32) + 0.5) * (1.0 / 4294967296.0);
    double u2 = (double)(h & 0xffffffffULL) * (1.0 / 4294967296.0);
    double r = sqrt(-2.0 * log(u1));
    return (float)(r * cos(6.283185307179586 * u2));
}

uint64_t aek_hash64(uint64_t seed, uint64_t stream, uint64_t counter) {
    return aek_rkey_hash(aek_rkey_make(seed, stream), counter);
}

float aek_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
    return (float)aek_bits24(aek_hash64(seed, stream, counter)) * (1.0f / 16777216.0f);
}

float aek_normal(uint64_t seed, uint64_t stream, uint64_t counter) {
    return aek_normal_from_hash(aek_hash64(seed, stream, counter));
}

/* keep <=> bits24 * 2^-24 >= p <=> bits24 >= ceil(p * 2^24) (exact: p * 2^24 is exact in double). */
static inline uint32_t aek_keep_threshold(float p) { return (uint32_t)ceil((double)p * 16777216.0); }

static int aek_p_valid(float p) { return p >= 0.0f && p < 1.0f; } /* false for NaN */

/* ------------------------------------------------------------------ dense dropout */
typedef struct {
    int64_t cols, lda;
    float *A;
    float denom;
    uint32_t thr;
    aek_rkey key;
    const int64_t *row_keys;
} aek_dropout_ctx;

AEK_CLONES static void aek_dropout_row(float *restrict a, int64_t cols, uint64_t base, aek_rkey key, uint32_t thr,
                                       float denom) {
    for (int64_t c = 0; c < cols; c++) {
        uint32_t bits = aek_bits24(aek_rkey_hash(key, base + (uint64_t)c));
        float x = a[c] / denom;
        a[c] = bits >= thr ? x : 0.0f;
    }
}

static void aek_dropout_range(void *vctx, int64_t begin, int64_t end, int part) {
    (void)part;
    const aek_dropout_ctx *ctx = (const aek_dropout_ctx *)vctx;
    for (int64_t r = begin; r < end; r++) {
        uint64_t kr = (uint64_t)(ctx->row_keys ? ctx->row_keys[r] : r);
        aek_dropout_row(ctx->A + r * ctx->lda, ctx->cols, kr * (uint64_t)ctx->cols, ctx->key, ctx->thr, ctx->denom);
    }
}

int aek_dropout_dense(int64_t rows, int64_t cols, float *A, int64_t lda, float p, uint64_t seed, uint64_t stream,
                      const int64_t *row_keys, int n_threads) {
    AEK_CHECK(rows >= 0 && cols >= 0 && lda >= cols);
    AEK_CHECK(aek_p_valid(p));
    if (rows == 0 || cols == 0) return AEK_OK;
    AEK_CHECK(A != NULL);
    if (p == 0.0f) return AEK_OK;
    aek_dropout_ctx ctx = {cols, lda, A, 1.0f - p, aek_keep_threshold(p), aek_rkey_make(seed, stream), row_keys};
    int64_t min_rows = 32768 / cols + 1;
    aek_parallel_for(aek_parallel_parts(n_threads, rows, min_rows), rows, aek_dropout_range, &ctx);
    return AEK_OK;
}

/* ------------------------------------------------------------------ CSR dropout */
AEK_CLONES static void aek_dropout_csr_row(const int32_t *restrict idx, const float *vals, float *out, int64_t n,
                                           uint64_t base, aek_rkey key, uint32_t thr, float denom) {
    if (vals) {
        for (int64_t j = 0; j < n; j++) {
            uint32_t bits = aek_bits24(aek_rkey_hash(key, base + (uint64_t)(uint32_t)idx[j]));
            float x = vals[j] / denom;
            out[j] = bits >= thr ? x : 0.0f;
        }
    } else {
        float one = 1.0f / denom;
        for (int64_t j = 0; j < n; j++) {
            uint32_t bits = aek_bits24(aek_rkey_hash(key, base + (uint64_t)(uint32_t)idx[j]));
            out[j] = bits >= thr ? one : 0.0f;
        }
    }
}

int aek_dropout_csr(aek_csr x, float p, uint64_t seed, uint64_t stream, const int64_t *row_keys,
                    float *out_values) {
    AEK_CHECK(x.n_rows >= 0 && x.n_cols >= 0 && x.n_cols <= INT32_MAX);
    AEK_CHECK(aek_p_valid(p));
    if (x.n_rows == 0) return AEK_OK;
    AEK_CHECK(x.indptr != NULL);
    for (int64_t r = 0; r < x.n_rows; r++) AEK_CHECK(x.indptr[r] <= x.indptr[r + 1]);
    AEK_CHECK(x.indptr[0] >= 0);
    int64_t lo = x.indptr[0], hi = x.indptr[x.n_rows];
    if (hi == lo) return AEK_OK;
    AEK_CHECK(x.indices != NULL && out_values != NULL);
    for (int64_t k = lo; k < hi; k++) AEK_CHECK(x.indices[k] >= 0 && x.indices[k] < x.n_cols);

    aek_rkey key = aek_rkey_make(seed, stream);
    uint32_t thr = aek_keep_threshold(p); /* p == 0: thr == 0, every entry kept and divided by 1 */
    float denom = 1.0f - p;
    for (int64_t r = 0; r < x.n_rows; r++) {
        int64_t b = x.indptr[r], e = x.indptr[r + 1];
        if (b == e) continue;
        uint64_t kr = (uint64_t)(row_keys ? row_keys[r] : r);
        aek_dropout_csr_row(x.indices + b, x.values ? x.values + b : NULL, out_values + b, e - b,
                            kr * (uint64_t)x.n_cols, key, thr, denom);
    }
    return AEK_OK;
}

/* ------------------------------------------------------------------ normal fill */
typedef struct {
    int64_t cols, ld;
    float *out;
    aek_rkey key;
    const int64_t *row_keys;
} aek_normal_ctx;

static void aek_normal_range(void *vctx, int64_t begin, int64_t end, int part) {
    (void)part;
    const aek_normal_ctx *ctx = (const aek_normal_ctx *)vctx;
    for (int64_t r = begin; r < end; r++) {
        uint64_t base = (uint64_t)(ctx->row_keys ? ctx->row_keys[r] : r) * (uint64_t)ctx->cols;
        float *o = ctx->out + r * ctx->ld;
        for (int64_t c = 0; c < ctx->cols; c++) o[c] = aek_normal_from_hash(aek_rkey_hash(ctx->key, base + (uint64_t)c));
    }
}

int aek_normal_fill(int64_t rows, int64_t cols, float *out, int64_t ld, uint64_t seed, uint64_t stream,
                    const int64_t *row_keys, int n_threads) {
    AEK_CHECK(rows >= 0 && cols >= 0 && ld >= cols);
    if (rows == 0 || cols == 0) return AEK_OK;
    AEK_CHECK(out != NULL);
    aek_normal_ctx ctx = {cols, ld, out, aek_rkey_make(seed, stream), row_keys};
    int64_t min_rows = 8192 / cols + 1;
    aek_parallel_for(aek_parallel_parts(n_threads, rows, min_rows), rows, aek_normal_range, &ctx);
    return AEK_OK;
}
