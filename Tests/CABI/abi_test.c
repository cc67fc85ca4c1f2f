/*
 * abi_test.c — proves the C ABI of libaerec.so from plain C: compiled against include/aerec.h only
 * and linked to the library (see the Makefile's test-c target).
 *
 *     abi_test DATA.tsv.gz     (e.g. ../shared/data/ml-100k/ratings.tsv.gz)
 *
 * Prints one line per failed check and ends with "abi_test: N passed, M failed".
 */
#define _GNU_SOURCE
#include "aerec.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        if (cond) {                                                                                          \
            passed++;                                                                                        \
        } else {                                                                                             \
            failed++;                                                                                        \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                  \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fprintf(stderr, " (last error: %s)\n", aerec_last_error());                                      \
        }                                                                                                    \
    } while (0)

/* A call that must succeed. */
#define OK(call) CHECK((call) == AEREC_OK, "%s", #call)

/* A call that must fail with `status` and leave a non-empty message. */
#define FAILS(call, status)                                                                                  \
    do {                                                                                                     \
        int s_ = (call);                                                                                     \
        CHECK(s_ == (status), "%s returned %d (%s), expected %d", #call, s_, aerec_status_string(s_), status); \
        CHECK(aerec_last_error()[0] != '\0', "%s left no message", #call);                                 \
    } while (0)

/* ------------------------------------------------------------------------- helpers */

/* A copied-out CSR matrix. */
typedef struct {
    int64_t rows, cols, nnz;
    int64_t *indptr;
    int32_t *indices;
    float *values;
    int32_t *row_users, *train_rows;
} matrix;

static matrix copy_part(const aerec_split *split, int part) {
    matrix m = {0};
    aerec_matrix_info info = {.struct_size = sizeof info};
    if (aerec_split_part_info(split, part, &info) != AEREC_OK) return m;
    m.rows = info.n_rows;
    m.cols = info.n_cols;
    m.nnz = info.nnz;
    m.indptr = malloc((size_t)(m.rows + 1) * sizeof *m.indptr);
    m.indices = malloc((size_t)(m.nnz + 1) * sizeof *m.indices);
    m.values = malloc((size_t)(m.nnz + 1) * sizeof *m.values);
    m.row_users = malloc((size_t)(m.rows + 1) * sizeof *m.row_users);
    m.train_rows = malloc((size_t)(m.rows + 1) * sizeof *m.train_rows);
    OK(aerec_split_part_copy(split, part, m.indptr, m.indices, m.values, m.row_users, m.train_rows));
    return m;
}

static aerec_csr view(const matrix *m) {
    aerec_csr v = {m->rows, m->cols, m->indptr, m->indices, NULL};
    return v;
}

static void free_matrix(matrix *m) {
    free(m->indptr);
    free(m->indices);
    free(m->values);
    free(m->row_users);
    free(m->train_rows);
}

/* ------------------------------------------------------------------------- the epoch callback */

typedef struct {
    int calls;
    int stop_after;
    int64_t last_epoch;
    double last_loss;
    aerec_model *model;       /* the model being trained, for the re-entrancy checks */
    const aerec_csr *probe;   /* histories to try recommending from inside the callback */
    int busy_recommend;       /* recommend from inside the callback returned AEREC_ERR_BUSY */
    int busy_fit;             /* fit from inside the callback returned AEREC_ERR_BUSY */
    const aerec_split *split;
} callback_state;

static int on_epoch(const aerec_epoch_report *r, void *user_data) {
    callback_state *s = user_data;
    s->calls++;
    s->last_epoch = r->epoch;
    s->last_loss = r->loss;
    if (s->model && s->probe) {
        int32_t items[5];
        if (aerec_model_recommend(s->model, s->probe, NULL, 5, AEREC_EXCLUDE_HISTORY, NULL, 1, items, NULL) ==
            AEREC_ERR_BUSY)
            s->busy_recommend = 1;
        if (aerec_model_fit(s->model, s->split, NULL, NULL, NULL) == AEREC_ERR_BUSY) s->busy_fit = 1;
    }
    return s->calls >= s->stop_after;
}

static void on_selection_progress(const aerec_selection_progress *p, void *user_data) {
    int *calls = user_data;
    (*calls)++;
    if (p->completed != *calls || p->line[0] != '[') *calls = -1000; /* checked by the caller */
}

/* ------------------------------------------------------------------------- threads */

typedef struct {
    const aerec_model *model;
    const aerec_csr *histories;
    int32_t *items;
    int64_t k;
    int status;
} recommend_job;

static void *recommend_thread(void *arg) {
    recommend_job *j = arg;
    for (int rep = 0; rep < 3 && j->status == AEREC_OK; rep++)
        j->status = aerec_model_recommend(j->model, j->histories, NULL, j->k, AEREC_EXCLUDE_HISTORY, NULL, 1,
                                          j->items, NULL);
    return NULL;
}

typedef struct {
    int own_error_seen;
    int clean_at_start;
} error_job;

static void *error_thread(void *arg) {
    error_job *j = arg;
    /* a fresh thread has no message, whatever other threads did */
    j->clean_at_start = aerec_last_error()[0] == '\0';
    aerec_dataset *d = NULL;
    int s = aerec_dataset_read("/nonexistent/thread.tsv", NULL, NULL, &d);
    j->own_error_seen = s == AEREC_ERR_IO && strstr(aerec_last_error(), "/nonexistent/thread.tsv") != NULL;
    return NULL;
}

/* ------------------------------------------------------------------------- test groups */

static void test_versions(void) {
    CHECK(strcmp(aerec_version(), AEREC_VERSION_STRING) == 0, "version %s vs header %s", aerec_version(),
          AEREC_VERSION_STRING);
    CHECK(aerec_abi_version() == AEREC_ABI_VERSION, "abi %d", aerec_abi_version());
    CHECK(strcmp(aerec_status_string(AEREC_ERR_BUSY), "busy") == 0, "%s", aerec_status_string(AEREC_ERR_BUSY));
    CHECK(strcmp(aerec_status_string(12345), "unknown status") == 0, "unknown status string");
    CHECK(aerec_struct_size(AEREC_STRUCT_MODEL_CONFIG) == (int64_t)sizeof(aerec_model_config), "config size");
    CHECK(aerec_struct_size(AEREC_STRUCT_BLAS_INFO) == (int64_t)sizeof(aerec_blas_info), "blas size");
    CHECK(aerec_struct_size(AEREC_STRUCT_CSR) == (int64_t)sizeof(aerec_csr), "csr size");
    CHECK(aerec_struct_size(AEREC_STRUCT_PROBE_SCORES) == (int64_t)sizeof(aerec_probe_scores), "probe scores size");
    CHECK(aerec_struct_size(999) == 0, "unknown struct");
    aerec_blas_info b = {.struct_size = sizeof b};
    OK(aerec_blas_info_get(&b));
    CHECK(b.core[0] != '\0' && b.threads >= 1, "blas core '%s' threads %lld", b.core, (long long)b.threads);
    printf("abi_test: OpenBLAS core %s (%s), recommended OPENBLAS_CORETYPE '%s'\n", b.core, b.simd_level,
           b.recommended_coretype);
}

static void test_argument_errors(void) {
    aerec_dataset *d = (aerec_dataset *)0x1;
    FAILS(aerec_dataset_read(NULL, NULL, NULL, &d), AEREC_ERR_INVALID_ARGUMENT);
    CHECK(d == NULL, "output handle must be cleared on failure");
    CHECK(strstr(aerec_last_error(), "path") != NULL, "message names the argument: %s", aerec_last_error());
    FAILS(aerec_dataset_read("x.tsv", NULL, NULL, NULL), AEREC_ERR_INVALID_ARGUMENT);
    FAILS(aerec_dataset_read("/nonexistent/ratings.tsv", NULL, NULL, &d), AEREC_ERR_IO);
    FAILS(aerec_dataset_read("/nonexistent/ratings.tsv", "no-such-format", NULL, &d), AEREC_ERR_INVALID_ARGUMENT);

    /* a successful call clears the message */
    CHECK(aerec_last_error()[0] != '\0', "message kept until the next call");
    aerec_filter f;
    OK(aerec_filter_init(&f));
    CHECK(aerec_last_error()[0] == '\0', "success clears the message");

    /* bad enums, sizes and floats */
    aerec_model_config c;
    FAILS(aerec_model_config_init(&c, 42), AEREC_ERR_INVALID_ARGUMENT);
    FAILS(aerec_model_config_init(&c, -1), AEREC_ERR_INVALID_ARGUMENT);
    FAILS(aerec_model_config_init(NULL, AEREC_MODEL_MULT_DAE), AEREC_ERR_INVALID_ARGUMENT);
    OK(aerec_model_config_init(&c, AEREC_MODEL_MULT_DAE));
    aerec_model *m = NULL;
    c.dropout = NAN;
    FAILS(aerec_model_create(&c, &m), AEREC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(aerec_last_error(), "dropout") != NULL, "%s", aerec_last_error());
    c.dropout = 1.5;
    FAILS(aerec_model_create(&c, &m), AEREC_ERR_INVALID_ARGUMENT);
    c.dropout = AEREC_DEFAULT;
    c.learning_rate = INFINITY;
    FAILS(aerec_model_create(&c, &m), AEREC_ERR_INVALID_ARGUMENT);
    c.learning_rate = AEREC_DEFAULT;
    c.latent_activation = "sigmod";
    FAILS(aerec_model_create(&c, &m), AEREC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(aerec_last_error(), "did you mean 'sigmoid'") != NULL, "%s", aerec_last_error());
    c.latent_activation = NULL;
    c.kind = 77;
    FAILS(aerec_model_create(&c, &m), AEREC_ERR_INVALID_ARGUMENT);
    c.kind = AEREC_MODEL_MULT_DAE;
    c.optimizer = 5;
    FAILS(aerec_model_create(&c, &m), AEREC_ERR_INVALID_ARGUMENT);
    c.optimizer = AEREC_OPTIMIZER_ADAM;
    c.threads = 100000;
    FAILS(aerec_model_create(&c, &m), AEREC_ERR_INVALID_ARGUMENT);
    c.threads = 2;
    c.struct_size = 12;
    FAILS(aerec_model_create(&c, &m), AEREC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(aerec_last_error(), "struct_size") != NULL, "%s", aerec_last_error());
    c.struct_size = sizeof c;
    c.validation_metric = "ndcg";
    FAILS(aerec_model_create(&c, &m), AEREC_ERR_INVALID_ARGUMENT);
    c.validation_metric = NULL;
    OK(aerec_model_create(&c, &m));

    /* an unfitted model */
    aerec_model_info mi = {.struct_size = sizeof mi};
    OK(aerec_model_info_get(m, &mi));
    CHECK(mi.is_fitted == 0 && mi.kind == AEREC_MODEL_MULT_DAE && mi.is_autoencoder == 1, "info of a new model");
    CHECK(strcmp(mi.latent_activation, "tanh") == 0, "default activation '%s'", mi.latent_activation);
    int64_t ip[2] = {0, 1};
    int32_t ix[1] = {0};
    aerec_csr one = {1, 1, ip, ix, NULL};
    int32_t items[1];
    FAILS(aerec_model_recommend(m, &one, NULL, 1, AEREC_EXCLUDE_NONE, NULL, 1, items, NULL), AEREC_ERR_STATE);
    FAILS(aerec_model_save(m, "/tmp/never.aerec"), AEREC_ERR_STATE);

    /* COO / CSR validation */
    int32_t users[3] = {0, 1, 1}, its[3] = {0, 1, 2};
    float vals[3] = {1, NAN, 1};
    FAILS(aerec_dataset_from_coo(users, its, vals, NULL, 3, AEREC_DEFAULT, AEREC_DEFAULT, NULL, NULL, &d),
          AEREC_ERR_INVALID_ARGUMENT);
    FAILS(aerec_dataset_from_coo(users, its, NULL, NULL, -3, AEREC_DEFAULT, AEREC_DEFAULT, NULL, NULL, &d),
          AEREC_ERR_INVALID_ARGUMENT);
    FAILS(aerec_dataset_from_coo(users, its, NULL, NULL, 0, AEREC_DEFAULT, AEREC_DEFAULT, NULL, NULL, &d),
          AEREC_ERR_DATA);
    FAILS(aerec_dataset_from_coo(users, its, NULL, NULL, 3, 1, AEREC_DEFAULT, NULL, NULL, &d),
          AEREC_ERR_INVALID_ARGUMENT);
    FAILS(aerec_dataset_from_coo(NULL, its, NULL, NULL, 3, AEREC_DEFAULT, AEREC_DEFAULT, NULL, NULL, &d),
          AEREC_ERR_INVALID_ARGUMENT);
    const char *dup_ids[2] = {"a", "a"};
    FAILS(aerec_dataset_from_coo(users, its, NULL, NULL, 3, AEREC_DEFAULT, AEREC_DEFAULT, dup_ids, NULL, &d),
          AEREC_ERR_INVALID_ARGUMENT);
    int64_t bad_ptr[3] = {0, 2, 1};
    aerec_csr bad = {2, 3, bad_ptr, its, NULL};
    FAILS(aerec_dataset_from_csr(&bad, NULL, NULL, &d), AEREC_ERR_INVALID_ARGUMENT);
    int64_t ptr2[3] = {0, 2, 3};
    int32_t out_of_range[3] = {0, 5, 1};
    aerec_csr bad2 = {2, 3, ptr2, out_of_range, NULL};
    FAILS(aerec_dataset_from_csr(&bad2, NULL, NULL, &d), AEREC_ERR_INVALID_ARGUMENT);
    aerec_csr bad3 = {-1, 3, ptr2, its, NULL};
    FAILS(aerec_dataset_from_csr(&bad3, NULL, NULL, &d), AEREC_ERR_INVALID_ARGUMENT);

    /* handles: freed, double-freed, foreign, of another type */
    OK(aerec_dataset_from_coo(users, its, NULL, NULL, 3, AEREC_DEFAULT, AEREC_DEFAULT, NULL, NULL, &d));
    aerec_dataset_info di = {.struct_size = sizeof di};
    OK(aerec_dataset_info_get(d, &di));
    CHECK(di.users == 2 && di.items == 3 && di.interactions == 3, "coo dataset %lld x %lld", (long long)di.users,
          (long long)di.items);
    FAILS(aerec_model_info_get((aerec_model *)d, &mi), AEREC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(aerec_last_error(), "dataset handle") != NULL, "%s", aerec_last_error());
    OK(aerec_dataset_free(d));
    FAILS(aerec_dataset_info_get(d, &di), AEREC_ERR_STALE_HANDLE);
    FAILS(aerec_dataset_free(d), AEREC_ERR_STALE_HANDLE);
    int on_stack = 0;
    FAILS(aerec_dataset_info_get((aerec_dataset *)&on_stack, &di), AEREC_ERR_INVALID_ARGUMENT);
    FAILS(aerec_dataset_info_get((aerec_dataset *)(uintptr_t)0xdeadbeef, &di), AEREC_ERR_INVALID_ARGUMENT);
    FAILS(aerec_model_free((aerec_model *)malloc(16)), AEREC_ERR_INVALID_ARGUMENT); /* leaks 16 bytes */
    OK(aerec_dataset_free(NULL));
    OK(aerec_model_free(m));
    FAILS(aerec_model_info_get(m, &mi), AEREC_ERR_STALE_HANDLE);
    FAILS(aerec_model_free(m), AEREC_ERR_STALE_HANDLE);

    /* a slot reused by another object still rejects the old handle */
    aerec_dataset *d2 = NULL;
    OK(aerec_dataset_from_coo(users, its, NULL, NULL, 3, AEREC_DEFAULT, AEREC_DEFAULT, NULL, NULL, &d2));
    FAILS(aerec_dataset_info_get(d, &di), AEREC_ERR_STALE_HANDLE);
    OK(aerec_dataset_info_get(d2, &di));

    /* ids: NUL-separated, size query, too-small buffer */
    size_t needed = 0;
    OK(aerec_dataset_ids(d2, AEREC_IDS_ITEMS, NULL, 0, &needed));
    CHECK(needed == 6, "needed %zu", needed); /* "0\0" "1\0" "2\0" */
    char small[3];
    FAILS(aerec_dataset_ids(d2, AEREC_IDS_ITEMS, small, sizeof small, &needed), AEREC_ERR_BUFFER_TOO_SMALL);
    char buf[16];
    OK(aerec_dataset_ids(d2, AEREC_IDS_ITEMS, buf, sizeof buf, &needed));
    CHECK(strcmp(buf, "0") == 0 && strcmp(buf + 2, "1") == 0 && strcmp(buf + 4, "2") == 0, "ids");
    FAILS(aerec_dataset_ids(d2, 7, buf, sizeof buf, &needed), AEREC_ERR_INVALID_ARGUMENT);
    OK(aerec_dataset_free(d2));

    /* thread-local messages */
    FAILS(aerec_dataset_read(NULL, NULL, NULL, &d), AEREC_ERR_INVALID_ARGUMENT);
    pthread_t t;
    error_job job = {0};
    pthread_create(&t, NULL, error_thread, &job);
    pthread_join(t, NULL);
    CHECK(job.clean_at_start, "a new thread starts without a message");
    CHECK(job.own_error_seen, "the thread sees its own message");
    CHECK(strstr(aerec_last_error(), "path") != NULL, "this thread keeps its own message: %s", aerec_last_error());
}

static void test_metrics_without_model(void) {
    /* one user: ranking [0, 1, 2], target {1}: ndcg@3 = 1/log2(3), recall@1 = 0, mrr = 1/2 */
    int64_t rp[2] = {0, 3}, tp[2] = {0, 1};
    int32_t ranked[3] = {0, 1, 2}, target[1] = {1};
    aerec_csr rankings = {1, 3, rp, ranked, NULL}, targets = {1, 3, tp, target, NULL};
    aerec_result *r = NULL;
    OK(aerec_metrics_from_rankings(&rankings, &targets, 3, "ndcg@3, recall@1,mrr", &r));
    aerec_result_info ri = {.struct_size = sizeof ri};
    OK(aerec_result_info_get(r, &ri));
    CHECK(ri.metric_count == 3 && ri.users_evaluated == 1, "result info");
    aerec_metric_value v = {.struct_size = sizeof v};
    OK(aerec_result_metric(r, 0, &v));
    CHECK(strcmp(v.name, "ndcg@3") == 0 && fabs(v.value - 1.0 / log2(3.0)) < 1e-12, "%s = %g", v.name, v.value);
    CHECK(v.has_ci == 0 && isnan(v.ci_low), "no CI with one user");
    OK(aerec_result_metric(r, 1, &v));
    CHECK(strcmp(v.name, "recall@1") == 0 && v.value == 0, "%s = %g", v.name, v.value);
    OK(aerec_result_metric(r, 2, &v));
    CHECK(strcmp(v.name, "mrr") == 0 && fabs(v.value - 0.5) < 1e-12, "%s = %g", v.name, v.value);
    FAILS(aerec_result_metric(r, 3, &v), AEREC_ERR_INVALID_ARGUMENT);
    OK(aerec_result_free(r));
    FAILS(aerec_metrics_from_rankings(&rankings, &targets, 3, "ndgc@3", &r), AEREC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(aerec_last_error(), "ndcg") != NULL, "did-you-mean: %s", aerec_last_error());

    /* ratings: errors 1 and -1 -> rmse 1, mae 1 */
    int64_t p[3] = {0, 1, 2};
    float pred[2] = {4, 2}, act[2] = {3, 3};
    OK(aerec_metrics_from_ratings(2, p, pred, act, NULL, &r));
    OK(aerec_result_metric(r, 0, &v));
    CHECK(strcmp(v.name, "rmse") == 0 && fabs(v.value - 1) < 1e-12, "%s = %g", v.name, v.value);
    OK(aerec_result_free(r));
    pred[0] = NAN;
    FAILS(aerec_metrics_from_ratings(2, p, pred, act, NULL, &r), AEREC_ERR_INVALID_ARGUMENT);
}

static void test_training(const char *data_path) {
    char dir[] = "/tmp/aerec_abi_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");

    aerec_filter f;
    OK(aerec_filter_init(&f));
    f.has_threshold = 1;
    f.threshold = 3.5;
    aerec_dataset *d = NULL;
    OK(aerec_dataset_read(data_path, "auto", &f, &d));
    aerec_dataset_info di = {.struct_size = sizeof di};
    OK(aerec_dataset_info_get(d, &di));
    CHECK(di.users > 900 && di.items > 1000 && di.interactions > 50000 && di.below_threshold > 0,
          "ml-100k > 3.5: %lld users, %lld items, %lld interactions", (long long)di.users, (long long)di.items,
          (long long)di.interactions);
    f.threshold = NAN;
    aerec_dataset *bad = NULL;
    FAILS(aerec_dataset_read(data_path, "auto", &f, &bad), AEREC_ERR_INVALID_ARGUMENT);

    /* split */
    aerec_split_config sc;
    FAILS(aerec_split_config_init(&sc, 9), AEREC_ERR_INVALID_ARGUMENT);
    OK(aerec_split_config_init(&sc, AEREC_PROTOCOL_STRONG));
    sc.held_out_users = 94;
    sc.target_fraction = 7;
    aerec_split *s = NULL;
    FAILS(aerec_split_create(d, &sc, &s), AEREC_ERR_INVALID_ARGUMENT);
    sc.target_fraction = AEREC_DEFAULT;
    OK(aerec_split_create(d, &sc, &s));
    aerec_split_info si = {.struct_size = sizeof si};
    OK(aerec_split_info_get(s, &si));
    CHECK(si.protocol == AEREC_PROTOCOL_STRONG && si.validation_users == 94 && si.test_users == 94 &&
              si.has_validation && si.train_rows == di.users - 188,
          "split: %lld train rows, %lld validation, %lld test", (long long)si.train_rows,
          (long long)si.validation_users, (long long)si.test_users);
    char split_dir[256];
    snprintf(split_dir, sizeof split_dir, "%s/split", dir);
    OK(aerec_split_export(s, split_dir));
    aerec_split *s2 = NULL;
    OK(aerec_split_load(split_dir, &s2));
    aerec_split_info si2 = {.struct_size = sizeof si2};
    OK(aerec_split_info_get(s2, &si2));
    CHECK(si2.train_nnz == si.train_nnz && si2.items == si.items, "exported split reads back");
    OK(aerec_split_free(s2));
    FAILS(aerec_split_load("/nonexistent/split", &s2), AEREC_ERR_IO);

    matrix test_in = copy_part(s, AEREC_PART_TEST_FOLD_IN);
    CHECK(test_in.rows == 94 && test_in.cols == si.items, "test fold-in %lld x %lld", (long long)test_in.rows,
          (long long)test_in.cols);
    aerec_csr histories = view(&test_in);

    /* model: 10 epochs planned, the callback stops after 2 */
    aerec_model_config c;
    OK(aerec_model_config_init(&c, AEREC_MODEL_MULT_DAE));
    c.latent_activation = "sigmoid";
    c.epochs = 10;
    c.threads = 2;
    aerec_model *m = NULL;
    OK(aerec_model_create(&c, &m));
    callback_state cb = {.stop_after = 2, .model = m, .probe = &histories, .split = s};
    aerec_fit_summary sum = {.struct_size = sizeof sum};
    OK(aerec_model_fit(m, s, on_epoch, &cb, &sum));
    CHECK(cb.calls == 2 && cb.last_epoch == 2, "callback calls %d, last epoch %lld", cb.calls,
          (long long)cb.last_epoch);
    CHECK(sum.epochs_run == 2 && sum.stopped_by_callback == 1 && sum.best_epoch >= 1 && sum.best_epoch <= 2,
          "summary: %lld epochs, best %lld, stopped %lld", (long long)sum.epochs_run, (long long)sum.best_epoch,
          (long long)sum.stopped_by_callback);
    CHECK(sum.best_validation > 0 && sum.best_validation < 1, "best validation %g", sum.best_validation);
    CHECK(isfinite(cb.last_loss) && cb.last_loss > 0, "loss %g", cb.last_loss);
    CHECK(cb.busy_recommend, "recommend during fit is refused as busy");
    CHECK(cb.busy_fit, "a second fit during fit is refused as busy");

    aerec_epoch_report reports[8];
    int64_t n = 0;
    OK(aerec_model_history(m, reports, 8, &n));
    CHECK(n == 2 && reports[1].epoch == 2 && reports[0].has_validation && isnan(reports[0].beta), "history");
    aerec_model_info mi = {.struct_size = sizeof mi};
    OK(aerec_model_info_get(m, &mi));
    CHECK(mi.is_fitted && mi.item_count == si.items && mi.latent_dimension == 200 &&
              strcmp(mi.latent_activation, "sigmoid") == 0,
          "fitted info: items %lld, latent %lld, %s", (long long)mi.item_count, (long long)mi.latent_dimension,
          mi.latent_activation);

    /* evaluate */
    aerec_result *r = NULL;
    FAILS(aerec_model_evaluate(m, s, 2, NULL, AEREC_DEFAULT, AEREC_DEFAULT, &r), AEREC_ERR_INVALID_ARGUMENT);
    OK(aerec_model_evaluate(m, s, AEREC_HELDOUT_TEST, "ndcg@100,recall@20,coverage@100", AEREC_DEFAULT,
                            AEREC_DEFAULT, &r));
    aerec_result_info ri = {.struct_size = sizeof ri};
    OK(aerec_result_info_get(r, &ri));
    CHECK(ri.metric_count == 3 && ri.users_evaluated > 0 && ri.users_evaluated + ri.users_skipped == 94,
          "evaluated %lld, skipped %lld", (long long)ri.users_evaluated, (long long)ri.users_skipped);
    aerec_metric_value v = {.struct_size = sizeof v};
    OK(aerec_result_metric(r, 0, &v));
    CHECK(strcmp(v.name, "ndcg@100") == 0 && v.value > 0 && v.value < 1 && v.has_ci && v.ci_low < v.value &&
              v.value < v.ci_high,
          "%s = %g [%g, %g]", v.name, v.value, v.ci_low, v.ci_high);
    double ndcg = v.value;
    OK(aerec_result_metric(r, 2, &v));
    CHECK(strcmp(v.name, "coverage@100") == 0 && !v.has_ci, "coverage has no CI");
    double per_user[200];
    int64_t count = 0;
    OK(aerec_result_per_user(r, 0, per_user, 200, &count));
    double mean = 0;
    for (int64_t i = 0; i < count; i++) mean += per_user[i];
    mean /= (double)count;
    CHECK(count == ri.users_evaluated && fabs(mean - ndcg) < 1e-12, "per-user mean %g vs %g", mean, ndcg);
    OK(aerec_result_free(r));
    OK(aerec_model_evaluate(m, s, AEREC_HELDOUT_TEST, NULL, AEREC_DEFAULT, AEREC_DEFAULT, &r));
    OK(aerec_result_info_get(r, &ri));
    CHECK(ri.metric_count == 10, "the CLI's default metric set has 10 metrics, got %lld", (long long)ri.metric_count);
    OK(aerec_result_free(r));

    /* recommend, with the history excluded */
    const int64_t k = 10;
    int32_t *items = malloc((size_t)(test_in.rows * k) * sizeof *items);
    float *scores = malloc((size_t)(test_in.rows * k) * sizeof *scores);
    OK(aerec_model_recommend(m, &histories, NULL, k, AEREC_EXCLUDE_HISTORY, NULL, AEREC_DEFAULT, items, scores));
    int seen = 0, ordered = 1, valid = 1;
    for (int64_t u = 0; u < test_in.rows; u++) {
        for (int64_t j = 0; j < k; j++) {
            int32_t it = items[u * k + j];
            if (it < 0 || it >= si.items) valid = 0;
            for (int64_t p = test_in.indptr[u]; p < test_in.indptr[u + 1]; p++)
                if (test_in.indices[p] == it) seen = 1;
            if (j > 0 && scores[u * k + j] > scores[u * k + j - 1]) ordered = 0;
        }
    }
    CHECK(valid && !seen && ordered, "valid %d, history excluded %d, ordered %d", valid, !seen, ordered);
    FAILS(aerec_model_recommend(m, &histories, NULL, 0, AEREC_EXCLUDE_HISTORY, NULL, 1, items, NULL),
          AEREC_ERR_INVALID_ARGUMENT);
    FAILS(aerec_model_recommend(m, &histories, NULL, k, 4, NULL, 1, items, NULL), AEREC_ERR_INVALID_ARGUMENT);
    FAILS(aerec_model_recommend(m, &histories, NULL, k, 1, NULL, 1, NULL, NULL), AEREC_ERR_INVALID_ARGUMENT);
    aerec_csr wrong = histories;
    wrong.n_cols = 5;
    FAILS(aerec_model_recommend(m, &wrong, NULL, k, 1, NULL, 1, items, NULL), AEREC_ERR_INVALID_ARGUMENT);
    int32_t rows_bad[94];
    for (int i = 0; i < 94; i++) rows_bad[i] = 100000;
    FAILS(aerec_model_recommend(m, &histories, rows_bad, k, 1, NULL, 1, items, NULL), AEREC_ERR_INVALID_ARGUMENT);

    /* an extra exclusion: the first recommendation of every user */
    int64_t *ex_ptr = malloc((size_t)(test_in.rows + 1) * sizeof *ex_ptr);
    int32_t *ex_idx = malloc((size_t)test_in.rows * sizeof *ex_idx);
    ex_ptr[0] = 0;
    for (int64_t u = 0; u < test_in.rows; u++) {
        ex_idx[u] = items[u * k];
        ex_ptr[u + 1] = u + 1;
    }
    aerec_csr exclude = {test_in.rows, test_in.cols, ex_ptr, ex_idx, NULL};
    int32_t *items2 = malloc((size_t)(test_in.rows * k) * sizeof *items2);
    OK(aerec_model_recommend(m, &histories, NULL, k, AEREC_EXCLUDE_HISTORY, &exclude, 1, items2, NULL));
    int shifted = 1;
    for (int64_t u = 0; u < test_in.rows; u++)
        if (items2[u * k] != items[u * k + 1]) shifted = 0;
    CHECK(shifted, "excluding each user's top item shifts the lists by one");

    /* k beyond the catalogue pads with -1 */
    int64_t big_k = si.items + 5;
    int32_t *padded = malloc((size_t)big_k * sizeof *padded);
    aerec_csr first = {1, histories.n_cols, test_in.indptr, test_in.indices, NULL};
    OK(aerec_model_recommend(m, &first, NULL, big_k, AEREC_EXCLUDE_HISTORY, NULL, 1, padded, NULL));
    int64_t hist = test_in.indptr[1];
    CHECK(padded[si.items - hist - 1] >= 0 && padded[si.items - hist] == -1 && padded[big_k - 1] == -1,
          "padding after %lld candidates", (long long)(si.items - hist));

    /* concurrent recommend on one model gives the serial answer */
    enum { T = 4 };
    recommend_job jobs[T];
    pthread_t threads[T];
    for (int i = 0; i < T; i++) {
        jobs[i] = (recommend_job){m, &histories, malloc((size_t)(test_in.rows * k) * sizeof(int32_t)), k, AEREC_OK};
        pthread_create(&threads[i], NULL, recommend_thread, &jobs[i]);
    }
    for (int i = 0; i < T; i++) pthread_join(threads[i], NULL);
    int same = 1;
    for (int i = 0; i < T; i++) {
        if (jobs[i].status != AEREC_OK || memcmp(jobs[i].items, items, (size_t)(test_in.rows * k) * sizeof(int32_t)))
            same = 0;
        free(jobs[i].items);
    }
    CHECK(same, "4 concurrent recommend calls agree with the serial one");

    /* encode: sigmoid codes lie in (0, 1) */
    float *codes = malloc((size_t)(test_in.rows * 200) * sizeof *codes);
    OK(aerec_model_encode(m, &histories, AEREC_DEFAULT, codes));
    int in_range = 1;
    for (int64_t i = 0; i < test_in.rows * 200; i++)
        if (!(codes[i] > 0 && codes[i] < 1)) in_range = 0;
    CHECK(in_range, "sigmoid codes in (0, 1)");

    /* save / load: the loaded model recommends the same items with the same scores */
    char path[256];
    snprintf(path, sizeof path, "%s/model.aerec", dir);
    OK(aerec_model_save(m, path));
    aerec_model *loaded = NULL;
    OK(aerec_model_load(path, &loaded));
    OK(aerec_model_info_get(loaded, &mi));
    CHECK(mi.is_fitted && mi.kind == AEREC_MODEL_MULT_DAE && strcmp(mi.latent_activation, "sigmoid") == 0,
          "loaded info");
    float *scores3 = malloc((size_t)(test_in.rows * k) * sizeof *scores3);
    int32_t *items3 = malloc((size_t)(test_in.rows * k) * sizeof *items3);
    OK(aerec_model_recommend(loaded, &histories, NULL, k, AEREC_EXCLUDE_HISTORY, NULL, AEREC_DEFAULT, items3,
                             scores3));
    CHECK(memcmp(items, items3, (size_t)(test_in.rows * k) * sizeof *items) == 0 &&
              memcmp(scores, scores3, (size_t)(test_in.rows * k) * sizeof *scores) == 0,
          "loaded model recommends identically");
    size_t needed = 0;
    OK(aerec_model_ids(loaded, AEREC_IDS_ITEMS, NULL, 0, &needed));
    char *ids = malloc(needed);
    OK(aerec_model_ids(loaded, AEREC_IDS_ITEMS, ids, needed, &needed));
    size_t split_needed = 0;
    OK(aerec_split_ids(s, AEREC_IDS_ITEMS, NULL, 0, &split_needed));
    char *split_ids = malloc(split_needed);
    OK(aerec_split_ids(s, AEREC_IDS_ITEMS, split_ids, split_needed, &split_needed));
    CHECK(needed == split_needed && memcmp(ids, split_ids, needed) == 0, "the model file keeps the split's item ids");
    /* by external ids, as `aerec recommend`: the first dataset users' histories from the dataset */
    size_t user_bytes = 0;
    OK(aerec_dataset_ids(d, AEREC_IDS_USERS, NULL, 0, &user_bytes));
    char *user_buf = malloc(user_bytes);
    OK(aerec_dataset_ids(d, AEREC_IDS_USERS, user_buf, user_bytes, &user_bytes));
    const char *two_users[2] = {user_buf, user_buf + strlen(user_buf) + 1};
    int32_t by_id[2 * 10];
    float by_id_scores[2 * 10];
    int64_t known[2], unknown[2];
    OK(aerec_model_recommend_ids(loaded, d, NULL, two_users, 2, 10, AEREC_DEFAULT, by_id, by_id_scores, known, unknown));
    CHECK(by_id[0] >= 0 && by_id[19] >= 0 && known[0] > 0 && unknown[0] >= 0 && by_id_scores[0] >= by_id_scores[9],
          "recommend by id: first item %d, %lld known history items", by_id[0], (long long)known[0]);
    const char *nobody[1] = {"no-such-user"};
    FAILS(aerec_model_recommend_ids(loaded, d, NULL, nobody, 1, 10, 1, by_id, NULL, NULL, NULL), AEREC_ERR_DATA);
    FAILS(aerec_model_recommend_ids(loaded, d, NULL, NULL, 1, 10, 1, by_id, NULL, NULL, NULL),
          AEREC_ERR_INVALID_ARGUMENT);
    FAILS(aerec_model_recommend_ids(loaded, (aerec_dataset *)s, NULL, two_users, 2, 10, 1, by_id, NULL, NULL, NULL),
          AEREC_ERR_INVALID_ARGUMENT);
    free(user_buf);
    FAILS(aerec_model_fit(loaded, s, NULL, NULL, NULL), AEREC_ERR_STATE);
    aerec_probe *no_input = NULL;
    FAILS(aerec_model_probe(loaded, NULL, NULL, &no_input), AEREC_ERR_STATE);
    FAILS(aerec_model_load("/nonexistent/model.aerec", &loaded), AEREC_ERR_IO);
    FILE *junk = fopen(path, "r+b");
    if (junk) {
        fseek(junk, 100, SEEK_SET);
        fputc(0x5a, junk);
        fclose(junk);
    }
    aerec_model *corrupt = NULL;
    FAILS(aerec_model_load(path, &corrupt), AEREC_ERR_MODEL_FILE);
    OK(aerec_model_free(loaded));

    /* probes P1-P3 on the training matrix of the fit (input NULL) */
    aerec_probe_config pc;
    OK(aerec_probe_config_init(&pc));
    pc.users = 300;
    pc.samples = 500;
    pc.anchors = 50;
    pc.item_probes = 200;
    aerec_probe *probe = NULL;
    OK(aerec_model_probe(m, NULL, &pc, &probe));
    aerec_probe_scores ps = {.struct_size = sizeof ps};
    OK(aerec_probe_scores_get(probe, &ps));
    CHECK(ps.rows_probed == 300 && ps.latent_dimension == 200 && ps.input_dimension == si.items &&
              ps.p2_order_preserved >= 0 && ps.p2_order_preserved <= 1 && ps.p3_passed == 1 && ps.family[0] != '\0',
          "probe: %lld rows, order preserved %g, P3 %lld, family %s", (long long)ps.rows_probed,
          ps.p2_order_preserved, (long long)ps.p3_passed, ps.family);
    size_t json_needed = 0;
    OK(aerec_probe_json(probe, NULL, 0, &json_needed));
    char *json = malloc(json_needed);
    OK(aerec_probe_json(probe, json, json_needed, &json_needed));
    CHECK(json[0] == '{' && strstr(json, "\"summary\"") && strlen(json) + 1 == json_needed, "probe json");
    free(json);
    aerec_probe *probe2 = NULL;
    OK(aerec_model_probe(m, &histories, NULL, &probe2)); /* the test users, default settings */
    OK(aerec_probe_free(probe2));
    FAILS(aerec_probe_scores_get(probe2, &ps), AEREC_ERR_STALE_HANDLE);
    FAILS(aerec_probe_scores_get((aerec_probe *)m, &ps), AEREC_ERR_INVALID_ARGUMENT);
    pc.input_space = 9;
    FAILS(aerec_model_probe(m, NULL, &pc, &probe2), AEREC_ERR_INVALID_ARGUMENT);
    pc.input_space = AEREC_DEFAULT;
    pc.epsilon = NAN;
    FAILS(aerec_model_probe(m, NULL, &pc, &probe2), AEREC_ERR_INVALID_ARGUMENT);
    OK(aerec_probe_free(probe));

    /* activation selection: 2 candidates x (1 grid point, seed 1 reused) = 2 runs */
    aerec_selection_config sel;
    OK(aerec_selection_config_init(&sel));
    sel.candidates = "sigmoid, tanh";
    sel.learning_rates = "0.001";
    sel.regularizations = "0.01";
    sel.seeds = "1";
    aerec_probe_config spc;
    OK(aerec_probe_config_init(&spc));
    spc.users = 100;
    spc.samples = 100;
    spc.anchors = 10;
    spc.item_probes = 20;
    sel.probe = &spc;
    aerec_model_config base;
    OK(aerec_model_config_init(&base, AEREC_MODEL_MULT_DAE));
    base.epochs = 2;
    base.latent = 32;
    int progress_calls = 0;
    aerec_selection *sr = NULL;
    OK(aerec_select_activation(s, &base, &sel, on_selection_progress, &progress_calls, &sr));
    aerec_selection_summary ss = {.struct_size = sizeof ss};
    OK(aerec_selection_summary_get(sr, &ss));
    CHECK(ss.candidates == 2 && ss.runs == 2 && progress_calls == 2 &&
              (strcmp(ss.recommended, "sigmoid") == 0 || strcmp(ss.recommended, "tanh") == 0) && ss.basis[0] != '\0',
          "selection: %lld candidates, %lld runs, %d progress calls, recommended %s (%s)", (long long)ss.candidates,
          (long long)ss.runs, progress_calls, ss.recommended, ss.basis);
    size_t md_needed = 0;
    OK(aerec_selection_render(sr, AEREC_REPORT_MARKDOWN, NULL, 0, &md_needed));
    char *md = malloc(md_needed);
    OK(aerec_selection_render(sr, AEREC_REPORT_MARKDOWN, md, md_needed, &md_needed));
    CHECK(strstr(md, "sigmoid") != NULL && strstr(md, "tanh") != NULL, "markdown names the candidates");
    free(md);
    FAILS(aerec_selection_render(sr, 7, NULL, 0, &md_needed), AEREC_ERR_INVALID_ARGUMENT);
    aerec_selection *bad_sel = NULL;
    sel.candidates = "sigmod";
    FAILS(aerec_select_activation(s, &base, &sel, NULL, NULL, &bad_sel), AEREC_ERR_INVALID_ARGUMENT);
    sel.candidates = "sigmoid,,tanh";
    FAILS(aerec_select_activation(s, &base, &sel, NULL, NULL, &bad_sel), AEREC_ERR_INVALID_ARGUMENT);
    sel.candidates = "sigmoid";
    sel.learning_rates = "nan";
    FAILS(aerec_select_activation(s, &base, &sel, NULL, NULL, &bad_sel), AEREC_ERR_INVALID_ARGUMENT);
    sel.learning_rates = "0.001";
    sel.significance_level = 3;
    FAILS(aerec_select_activation(s, &base, &sel, NULL, NULL, &bad_sel), AEREC_ERR_INVALID_ARGUMENT);
    sel.significance_level = AEREC_DEFAULT;
    base.kind = AEREC_MODEL_EASE;
    FAILS(aerec_select_activation(s, &base, &sel, NULL, NULL, &bad_sel), AEREC_ERR_INVALID_ARGUMENT);
    OK(aerec_selection_free(sr));
    FAILS(aerec_selection_summary_get(sr, &ss), AEREC_ERR_STALE_HANDLE);

    /* EASE: no encoder */
    aerec_model_config ec;
    OK(aerec_model_config_init(&ec, AEREC_MODEL_EASE));
    ec.lambda = 200;
    aerec_model *ease = NULL;
    OK(aerec_model_create(&ec, &ease));
    ec.latent_activation = "relu";
    aerec_model *ease_bad = NULL;
    FAILS(aerec_model_create(&ec, &ease_bad), AEREC_ERR_INVALID_ARGUMENT);
    OK(aerec_model_fit(ease, s, NULL, NULL, NULL));
    FAILS(aerec_model_encode(ease, &histories, 1, codes), AEREC_ERR_UNSUPPORTED);
    FAILS(aerec_model_probe(ease, NULL, NULL, &probe2), AEREC_ERR_UNSUPPORTED);
    OK(aerec_model_recommend(ease, &histories, NULL, k, AEREC_EXCLUDE_HISTORY, NULL, 1, items3, NULL));
    OK(aerec_model_free(ease));
    /* the float64 solve: accepted for EASE, ranks as the float32 one does; other values and
     * other models refused */
    ec.latent_activation = NULL;
    CHECK(ec.ease_precision == AEREC_DEFAULT, "ease_precision defaults to AEREC_DEFAULT");
    ec.ease_precision = 64;
    aerec_model *ease64 = NULL;
    OK(aerec_model_create(&ec, &ease64));
    OK(aerec_model_fit(ease64, s, NULL, NULL, NULL));
    int32_t *items64 = malloc((size_t)(test_in.rows * k) * sizeof *items64);
    OK(aerec_model_recommend(ease64, &histories, NULL, k, AEREC_EXCLUDE_HISTORY, NULL, 1, items64, NULL));
    int64_t equal64 = 0;
    for (int64_t i = 0; i < test_in.rows * k; i++) equal64 += items64[i] == items3[i];
    /* the two solves agree to ~1e-6 of the scale: only near-ties may swap */
    CHECK(equal64 >= test_in.rows * k * 9 / 10, "float64 EASE ranks like float32 (%lld of %lld equal)",
          (long long)equal64, (long long)(test_in.rows * k));
    free(items64);
    OK(aerec_model_free(ease64));
    ec.ease_precision = 48;
    FAILS(aerec_model_create(&ec, &ease_bad), AEREC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(aerec_last_error(), "ease_precision") != NULL, "the error names ease_precision");
    aerec_model_config dc;
    OK(aerec_model_config_init(&dc, AEREC_MODEL_MULT_DAE));
    dc.ease_precision = 64;
    FAILS(aerec_model_create(&dc, &ease_bad), AEREC_ERR_INVALID_ARGUMENT);
    /* beta_cap: Mult-VAE only, >= 0 */
    dc.ease_precision = AEREC_DEFAULT;
    CHECK(dc.beta_cap == -1.0, "beta_cap defaults to -1.0");
    dc.beta_cap = 0.5;
    FAILS(aerec_model_create(&dc, &ease_bad), AEREC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(aerec_last_error(), "beta_cap") != NULL, "the error names beta_cap");
    aerec_model_config vc;
    OK(aerec_model_config_init(&vc, AEREC_MODEL_MULT_VAE));
    vc.beta_cap = -2.0;
    FAILS(aerec_model_create(&vc, &ease_bad), AEREC_ERR_INVALID_ARGUMENT);
    vc.beta_cap = 0.5;
    aerec_model *vae_beta = NULL;
    OK(aerec_model_create(&vc, &vae_beta));
    OK(aerec_model_free(vae_beta));

    /* fit_csr: train on the split's training matrix with its validation set */
    matrix train = copy_part(s, AEREC_PART_TRAIN);
    matrix vin = copy_part(s, AEREC_PART_VALIDATION_FOLD_IN), vtg = copy_part(s, AEREC_PART_VALIDATION_TARGET);
    aerec_csr tv = view(&train), vi = view(&vin), vt = view(&vtg);
    aerec_model *m2 = NULL;
    c.epochs = 2;
    OK(aerec_model_create(&c, &m2));
    OK(aerec_model_fit_csr(m2, &tv, &vi, &vt, NULL, NULL, &sum));
    CHECK(sum.epochs_run == 2 && !sum.stopped_by_callback, "fit_csr ran 2 epochs");
    FAILS(aerec_model_fit_csr(m2, &tv, &vi, NULL, NULL, NULL, &sum), AEREC_ERR_INVALID_ARGUMENT);
    /* same seed, same threads, same data: the same model as fit on the split */
    OK(aerec_model_recommend(m2, &histories, NULL, k, AEREC_EXCLUDE_HISTORY, NULL, 1, items3, scores3));
    CHECK(memcmp(items, items3, (size_t)(test_in.rows * k) * sizeof *items) == 0 &&
              memcmp(scores, scores3, (size_t)(test_in.rows * k) * sizeof *scores) == 0,
          "fit_csr and fit on the split give the same model");
    /* unsorted columns in a row are refused with a hint */
    if (train.indptr[1] >= 2) {
        int32_t tmp = train.indices[0];
        train.indices[0] = train.indices[1];
        train.indices[1] = tmp;
        tv = view(&train);
        FAILS(aerec_model_fit_csr(m2, &tv, NULL, NULL, NULL, NULL, NULL), AEREC_ERR_INVALID_ARGUMENT);
    }
    OK(aerec_model_request_stop(m2));
    OK(aerec_model_free(m2));

    free(items);
    free(items2);
    free(items3);
    free(scores);
    free(scores3);
    free(padded);
    free(codes);
    free(ids);
    free(split_ids);
    free(ex_ptr);
    free(ex_idx);
    free_matrix(&test_in);
    free_matrix(&train);
    free_matrix(&vin);
    free_matrix(&vtg);
    OK(aerec_model_free(m));
    OK(aerec_split_free(s));
    OK(aerec_dataset_free(d));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA.tsv.gz\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_versions();
    test_argument_errors();
    test_metrics_without_model();
    test_training(argv[1]);
    printf("abi_test: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
