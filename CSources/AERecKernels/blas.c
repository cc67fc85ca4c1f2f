/* Dense products through OpenBLAS, the BLAS core in use, CPU features, and the decision logic for
 * the "OpenBLAS trap": Debian 12's OpenBLAS 0.3.21 does not recognise recent CPUs and falls back to
 * its slowest core (Prescott) unless OPENBLAS_CORETYPE is set before the library loads. */
#include "aek_internal.h"

#include <cblas.h>
#include <string.h>
#include <strings.h>

const char *aek_status_string(int status) {
    switch (status) {
    case AEK_OK: return "ok";
    case AEK_ERR_ARG: return "invalid argument";
    case AEK_ERR_NOMEM: return "out of memory";
    case AEK_ERR_NUMERIC: return "numerical failure";
    case AEK_ERR_THREAD: return "thread creation failed";
    default: return "unknown status";
    }
}

/* The argument checks of aek_sgemm / aek_sgemm_mt; AEK_OK, or 1 when there is nothing to multiply
 * (m, n or k is 0: C has been handled), or an error. */
static int aek_sgemm_check(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *A, int64_t lda,
                           const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (m < 0 || n < 0 || k < 0) return AEK_ERR_ARG;
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) return AEK_ERR_ARG;
    if (m == 0 || n == 0) return 1;
    if (!C || ldc < n || ldc > INT32_MAX) return AEK_ERR_ARG;
    if (k > 0) {
        int64_t a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
        if (!A || !B || lda < a_cols || ldb < b_cols || lda > INT32_MAX || ldb > INT32_MAX) return AEK_ERR_ARG;
        return AEK_OK;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return 1;
}

typedef struct {
    int trans_a, trans_b, split_columns;
    int64_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
} aek_gemm_ctx;

/* One part of a split product: columns [begin, end) of C (and of op(B)), or rows (and rows of op(A)). */
static void aek_gemm_range(void *vctx, int64_t begin, int64_t end, int part) {
    (void)part;
    const aek_gemm_ctx *c = (const aek_gemm_ctx *)vctx;
    const float *A = c->A, *B = c->B;
    float *C = c->C;
    int64_t m = c->m, n = c->n;
    if (c->split_columns) {
        B += c->trans_b ? begin * c->ldb : begin;
        C += begin;
        n = end - begin;
    } else {
        A += c->trans_a ? begin : begin * c->lda;
        C += begin * c->ldc;
        m = end - begin;
    }
    cblas_sgemm(CblasRowMajor, c->trans_a ? CblasTrans : CblasNoTrans, c->trans_b ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)c->k, c->alpha, A, (int)c->lda, B, (int)c->ldb, c->beta, C, (int)c->ldc);
}

int aek_sgemm_mt(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *A, int64_t lda,
                 const float *B, int64_t ldb, float beta, float *C, int64_t ldc, int n_threads) {
    int st = aek_sgemm_check(trans_a, trans_b, m, n, k, A, lda, B, ldb, beta, C, ldc);
    if (st != AEK_OK) return st == 1 ? AEK_OK : st;
    aek_gemm_ctx ctx = {trans_a, trans_b, n >= m, m, n, k, lda, ldb, ldc, alpha, beta, A, B, C};
    /* parts of at least 64 columns (rows) and 2^21 multiply-adds: below that one thread does it */
    int64_t span = n >= m ? n : m, other = (n >= m ? m : n) * k;
    int64_t min_span = (int64_t)1 << 21;
    min_span = other > 0 ? min_span / other + 1 : span;
    if (min_span < 64) min_span = 64;
    int parts = aek_parallel_parts(n_threads, span, min_span);
    int prev = openblas_get_num_threads();
    if (prev != 1) openblas_set_num_threads(1);
    aek_parallel_for(parts, span, aek_gemm_range, &ctx);
    if (prev != 1) openblas_set_num_threads(prev);
    return AEK_OK;
}

int aek_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *A, int64_t lda,
              const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (m < 0 || n < 0 || k < 0) return AEK_ERR_ARG;
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) return AEK_ERR_ARG; /* cblas takes int (LP64 build) */
    if (m == 0 || n == 0) return AEK_OK;
    if (!C || ldc < n || ldc > INT32_MAX) return AEK_ERR_ARG;
    if (k > 0) {
        /* row-major: A is m x k (or k x m when transposed), B is k x n (or n x k) */
        int64_t a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
        if (!A || !B || lda < a_cols || ldb < b_cols || lda > INT32_MAX || ldb > INT32_MAX) return AEK_ERR_ARG;
    }
    if (k == 0) {
        /* C = beta C (BLAS may not touch C when k == 0 and beta == 1; make the semantics explicit) */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return AEK_OK;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)k, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
    return AEK_OK;
}

const char *aek_blas_corename(void) {
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}

const char *aek_blas_config(void) {
    const char *cfg = openblas_get_config();
    return cfg ? cfg : "unknown";
}

int aek_blas_get_num_threads(void) { return openblas_get_num_threads(); }

void aek_blas_set_num_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

aek_cpu_features aek_cpu_detect(void) {
    aek_cpu_features f;
    memset(&f, 0, sizeof f);
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    /* __builtin_cpu_supports also requires the OS to save the wide registers (XGETBV). */
    f.sse4_2 = __builtin_cpu_supports("sse4.2") != 0;
    f.avx = __builtin_cpu_supports("avx") != 0;
    f.avx2 = __builtin_cpu_supports("avx2") != 0;
    f.fma = __builtin_cpu_supports("fma") != 0;
    f.avx512f = __builtin_cpu_supports("avx512f") != 0;
    f.avx512dq = __builtin_cpu_supports("avx512dq") != 0;
    f.avx512bw = __builtin_cpu_supports("avx512bw") != 0;
    f.avx512vl = __builtin_cpu_supports("avx512vl") != 0;
    f.avx512_bf16 = __builtin_cpu_supports("avx512bf16") != 0;
#endif
    return f;
}

/* SIMD tiers: 0 baseline, 1 SSE4.2, 2 AVX, 3 AVX2+FMA, 4 AVX-512 (F, DQ, BW, VL: what SkylakeX kernels use). */
static int cpu_tier(aek_cpu_features c) {
    if (c.avx512f && c.avx512dq && c.avx512bw && c.avx512vl && c.avx2 && c.fma) return 4;
    if (c.avx2 && c.fma) return 3;
    if (c.avx) return 2;
    if (c.sse4_2) return 1;
    return 0;
}

const char *aek_cpu_simd_level(aek_cpu_features cpu) {
    static const char *names[] = {"baseline", "sse4.2", "avx", "avx2", "avx512"};
    return names[cpu_tier(cpu)];
}

/* The tier of the kernels an OpenBLAS (DYNAMIC_ARCH, x86_64) core uses; -1 for a name we do not know. */
static int core_tier(const char *core) {
    static const struct {
        const char *name;
        int tier;
    } cores[] = {
        {"Katmai", 0},       {"Coppermine", 0},  {"Northwood", 0},  {"Prescott", 0},   {"Banias", 0},
        {"Atom", 0},         {"Core2", 0},       {"Penryn", 0},     {"Dunnington", 0}, {"Opteron", 0},
        {"Opteron(SSE3)", 0}, {"Athlon", 0},     {"Nano", 0},       {"Bobcat", 0},     {"Barcelona", 0},
        {"Nehalem", 1},      {"Sandybridge", 2}, {"Bulldozer", 2},  {"Piledriver", 2}, {"Steamroller", 2},
        {"Excavator", 2},    {"Haswell", 3},     {"Zen", 3},        {"SkylakeX", 4},   {"Cooperlake", 4},
        {"SapphireRapids", 4},
    };
    if (!core) return -1;
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++)
        if (strcasecmp(core, cores[i].name) == 0) return cores[i].tier;
    return -1;
}

int aek_blas_core_is_fallback(const char *corename, aek_cpu_features cpu) {
    int have = core_tier(corename);
    if (have < 0) return 0; /* an unknown (newer, or non-x86) core: trust OpenBLAS */
    return have < cpu_tier(cpu);
}

const char *aek_blas_recommended_coretype(const char *corename, aek_cpu_features cpu) {
    if (!aek_blas_core_is_fallback(corename, cpu)) return NULL;
    switch (cpu_tier(cpu)) {
    case 4: return "SkylakeX";
    case 3: return "Haswell";
    case 2: return "Sandybridge";
    case 1: return "Nehalem";
    default: return NULL;
    }
}
