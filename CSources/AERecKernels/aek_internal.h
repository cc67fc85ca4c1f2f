/* Internal helpers shared by the kernel files (not part of the public header). */
#ifndef AEK_INTERNAL_H
#define AEK_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include "aerec_kernels.h"

/* Multiversioned hot loops: AVX-512 / AVX2 / baseline clones chosen at load time (ifunc), so the
 * package needs no -march flag (SwiftPM forbids unsafeFlags for URL dependencies). */
#if defined(__x86_64__) && defined(__linux__) && defined(__clang__) && !defined(AEK_NO_CLONES)
#define AEK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define AEK_CLONES
#endif

/* A contiguous range [begin, end) of a static partition; `part` is its 0-based number. */
typedef void (*aek_range_fn)(void *ctx, int64_t begin, int64_t end, int part);

/* Number of parts aek_parallel_for will use for n units of work: min(max(n_threads,1), n, n / min_per_part). */
__attribute__((visibility("hidden"))) int aek_parallel_parts(int n_threads, int64_t n, int64_t min_per_part);

/* Splits [0, n) into `parts` contiguous equal ranges (part p: [n*p/parts, n*(p+1)/parts)) and runs
 * fn on each, parts 1.. on pthreads and part 0 on the calling thread. If a thread cannot be
 * created its range runs on the calling thread, so the result never changes. */
__attribute__((visibility("hidden"))) void aek_parallel_for(int parts, int64_t n, aek_range_fn fn, void *ctx);

#define AEK_CHECK(cond)                                                                                    \
    do {                                                                                                   \
        if (!(cond)) return AEK_ERR_ARG;                                                                   \
    } while (0)

#endif
