/* Static-partition parallel-for on pthreads (the toolchain's clang has no OpenMP). */
#include "aek_internal.h"

#include <pthread.h>

typedef struct {
    aek_range_fn fn;
    void *ctx;
    int64_t begin, end;
    int part;
} aek_job;

static void *aek_job_run(void *arg) {
    aek_job *job = (aek_job *)arg;
    job->fn(job->ctx, job->begin, job->end, job->part);
    return NULL;
}

int aek_parallel_parts(int n_threads, int64_t n, int64_t min_per_part) {
    if (n <= 0) return 1;
    int64_t parts = n_threads < 1 ? 1 : n_threads;
    if (min_per_part < 1) min_per_part = 1;
    int64_t cap = n / min_per_part;
    if (cap < 1) cap = 1;
    if (parts > cap) parts = cap;
    if (parts > n) parts = n;
    if (parts > 256) parts = 256;
    return (int)parts;
}

void aek_parallel_for(int parts, int64_t n, aek_range_fn fn, void *ctx) {
    if (n <= 0) return;
    if (parts <= 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    if (parts > 256) parts = 256;
    aek_job jobs[256];
    pthread_t threads[256];
    int started[256];
    for (int p = 0; p < parts; p++) {
        jobs[p].fn = fn;
        jobs[p].ctx = ctx;
        jobs[p].begin = (int64_t)((__int128)n * p / parts);
        jobs[p].end = (int64_t)((__int128)n * (p + 1) / parts);
        jobs[p].part = p;
        started[p] = 0;
    }
    for (int p = 1; p < parts; p++) started[p] = pthread_create(&threads[p], NULL, aek_job_run, &jobs[p]) == 0;
    aek_job_run(&jobs[0]);
    for (int p = 1; p < parts; p++) {
        if (started[p])
            pthread_join(threads[p], NULL);
        else
            aek_job_run(&jobs[p]);
    }
}
