/* examples/quickstart.c — AERec from C: read MovieLens 100K, split it (strong generalisation),
 * train Mult-DAE with a sigmoid code for a few epochs, evaluate, recommend, save.
 *
 *   make lib
 *   cc -std=c11 -Iinclude examples/quickstart.c -L.build/release -laerec \
 *      -Wl,-rpath,$PWD/.build/release -o /tmp/quickstart
 *   /tmp/quickstart ../shared/data/ml-100k/ratings.tsv.gz
 */
#include "aerec.h"

#include <stdio.h>
#include <stdlib.h>

/* Prints the library's message and exits when a call fails. */
#define TRY(call)                                                                                  \
    do {                                                                                           \
        int status_ = (call);                                                                      \
        if (status_ != AEREC_OK) {                                                                 \
            fprintf(stderr, "%s failed: %s (%s)\n", #call, aerec_last_error(),                     \
                    aerec_status_string(status_));                                                 \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static int on_epoch(const aerec_epoch_report *r, void *user_data) {
    (void)user_data;
    printf("epoch %lld  loss %.4f  validation ndcg@100 %.4f%s\n", (long long)r->epoch, r->loss, r->validation,
           r->is_best ? " *" : "");
    return 0; /* non-zero would stop training (keeping the best epoch) */
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "../shared/data/ml-100k/ratings.tsv.gz";
    if (aerec_abi_version() != AEREC_ABI_VERSION) {
        fprintf(stderr, "libaerec ABI %d, header %d\n", aerec_abi_version(), AEREC_ABI_VERSION);
        return 1;
    }

    /* data: ratings > 3.5, as vae_cf */
    aerec_filter filter;
    TRY(aerec_filter_init(&filter));
    filter.has_threshold = 1;
    filter.threshold = 3.5;
    aerec_dataset *data = NULL;
    TRY(aerec_dataset_read(path, "auto", &filter, &data));

    /* protocol: 94 validation and 94 test users, unseen in training */
    aerec_split_config sc;
    TRY(aerec_split_config_init(&sc, AEREC_PROTOCOL_STRONG));
    sc.held_out_users = 94;
    aerec_split *split = NULL;
    TRY(aerec_split_create(data, &sc, &split));

    /* model: Mult-DAE, sigmoid code, 5 epochs; the rest at the library's defaults */
    aerec_model_config mc;
    TRY(aerec_model_config_init(&mc, AEREC_MODEL_MULT_DAE));
    mc.latent_activation = "sigmoid";
    mc.epochs = 5;
    aerec_model *model = NULL;
    TRY(aerec_model_create(&mc, &model));
    aerec_fit_summary summary = {.struct_size = sizeof summary};
    TRY(aerec_model_fit(model, split, on_epoch, NULL, &summary));
    printf("best epoch %lld of %lld\n", (long long)summary.best_epoch, (long long)summary.epochs_run);

    /* test metrics with 95 % confidence intervals */
    aerec_result *result = NULL;
    TRY(aerec_model_evaluate(model, split, AEREC_HELDOUT_TEST, "ndcg@100,recall@20,mrr", AEREC_DEFAULT,
                             AEREC_DEFAULT, &result));
    aerec_result_info ri = {.struct_size = sizeof ri};
    TRY(aerec_result_info_get(result, &ri));
    for (int64_t i = 0; i < ri.metric_count; i++) {
        aerec_metric_value v = {.struct_size = sizeof v};
        TRY(aerec_result_metric(result, i, &v));
        printf("%-10s %.4f  [%.4f, %.4f]\n", v.name, v.value, v.ci_low, v.ci_high);
    }
    TRY(aerec_result_free(result));

    /* top-5 for the first test user, seen items excluded */
    aerec_matrix_info mi = {.struct_size = sizeof mi};
    TRY(aerec_split_part_info(split, AEREC_PART_TEST_FOLD_IN, &mi));
    int64_t *indptr = malloc((size_t)(mi.n_rows + 1) * sizeof *indptr);
    int32_t *indices = malloc((size_t)mi.nnz * sizeof *indices);
    TRY(aerec_split_part_copy(split, AEREC_PART_TEST_FOLD_IN, indptr, indices, NULL, NULL, NULL));
    aerec_csr first_user = {1, mi.n_cols, indptr, indices, NULL};
    int32_t items[5];
    float scores[5];
    TRY(aerec_model_recommend(model, &first_user, NULL, 5, AEREC_EXCLUDE_HISTORY, NULL, AEREC_DEFAULT, items, scores));
    printf("top-5 items:");
    for (int j = 0; j < 5; j++) printf(" %d (%.3f)", items[j], scores[j]);
    printf("\n");

    TRY(aerec_model_save(model, "/tmp/aerec_quickstart_model.aerec"));
    printf("saved /tmp/aerec_quickstart_model.aerec\n");

    free(indptr);
    free(indices);
    aerec_model_free(model);
    aerec_split_free(split);
    aerec_dataset_free(data);
    return 0;
}
