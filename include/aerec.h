/*
 * aerec.h — the C API of AERec (libaerec.so): autoencoder recommenders with the latent activation
 * as a typed choice. Everything the Swift API offers for data, protocols, models, training,
 * evaluation and persistence, behind opaque handles and integer status codes.
 *
 * Build and link:
 *     make lib                       # .build/release/libaerec.so (self-contained, -z nodelete)
 *     cc -std=c11 -Iinclude app.c -L.build/release -laerec -Wl,-rpath,$PWD/.build/release
 *
 * Conventions (they hold for every function unless its comment says otherwise)
 * - Every function returns an int status: AEREC_OK (0) or a negative AEREC_ERR_* code. On failure
 *   aerec_last_error() returns a one-line message for the calling thread; output arguments are left
 *   untouched (output handles are set to NULL).
 * - No call aborts or crashes the process on bad arguments: NULL pointers, negative or inconsistent
 *   sizes, out-of-range indices, unknown enum values, NaN/infinite floats, freed handles, handles of
 *   another type and pointers that never were handles are reported as errors. (The library cannot
 *   check that a non-NULL array really holds the number of elements you say it does.)
 * - Handles are opaque and generation-checked: after aerec_*_free a handle is stale, and every use
 *   of it (including a second free) returns AEREC_ERR_STALE_HANDLE. Handles are never dereferenced
 *   by the caller and stay valid until freed. Freeing NULL is a no-op that returns AEREC_OK.
 * - Input arrays are copied: after a call returns you may free or change them.
 * - Structs that carry a `struct_size` member must have it set to sizeof(the struct) (the *_init
 *   functions do it); the library refuses other sizes (a header/library mismatch).
 * - Integer fields documented as "AEREC_DEFAULT" take the library default when set to -1; float
 *   fields do the same with -1.0. The *_init functions fill every field with its default.
 * - Strings are UTF-8 and NUL-terminated. Functions that return several strings (ids) write them
 *   NUL-separated into a caller buffer (see aerec_dataset_ids).
 * - Thread safety: datasets, splits and results are immutable and may be used from any number of
 *   threads at once. A model may serve recommend/scores/encode/evaluate/save from several threads
 *   at once; aerec_model_fit needs the model to itself and returns AEREC_ERR_BUSY while any other
 *   call is using it (and those calls return AEREC_ERR_BUSY while it trains). The library never
 *   blocks waiting for a model.
 * - The library survives dlclose() + dlopen() (it is linked with -z nodelete, so dlclose leaves it
 *   mapped and a reload returns the same instance).
 *
 * OpenBLAS: Debian's OpenBLAS 0.3.21 silently uses a slow generic core on recent CPUs unless
 * OPENBLAS_CORETYPE is set in the environment before the library is loaded. aerec_blas_info()
 * tells whether that happened and which value to set (the Python package does this for you).
 */
#ifndef AEREC_H
#define AEREC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------ versions */

#define AEREC_VERSION_MAJOR 0
#define AEREC_VERSION_MINOR 1
#define AEREC_VERSION_PATCH 0
#define AEREC_VERSION_STRING "0.1.0"
/* The ABI version: bumped whenever a function signature, a struct layout or an enum value of this
 * header changes incompatibly. Compare with aerec_abi_version() at run time. */
#define AEREC_ABI_VERSION 2 /* 2: aerec_model_config grew ease_precision and beta_cap (144 bytes) */

/* The library's version string, e.g. "0.1.0" (static storage; never fails). */
const char *aerec_version(void);
/* The library's AEREC_ABI_VERSION (never fails). Refuse to run when it differs from the header's. */
int aerec_abi_version(void);

/* ------------------------------------------------------------------------------ status codes */

enum {
    AEREC_OK = 0,
    AEREC_ERR_INVALID_ARGUMENT = -1, /* NULL, bad size, unknown enum or name, NaN, wrong handle type */
    AEREC_ERR_IO = -2,               /* a file could not be opened, read or written */
    AEREC_ERR_PARSE = -3,            /* a data file has a malformed line (file:line: field: what) */
    AEREC_ERR_DATA = -4,             /* the data are unusable (empty, nothing left after filtering...) */
    AEREC_ERR_MODEL_FILE = -5,       /* a model file is corrupt, truncated, or of another version/kind */
    AEREC_ERR_NUMERICAL = -6,        /* training diverged or a factorisation failed */
    AEREC_ERR_OUT_OF_MEMORY = -7,    /* the job needs more memory than the machine has available */
    AEREC_ERR_CANCELLED = -8,        /* the operation was cancelled */
    AEREC_ERR_BUSY = -9,             /* the model is being trained, or (for fit) used by another call */
    AEREC_ERR_STALE_HANDLE = -10,    /* the handle was freed */
    AEREC_ERR_STATE = -11,           /* the object cannot do this now (e.g. the model is not fitted) */
    AEREC_ERR_UNSUPPORTED = -12,     /* this model kind has no such operation (e.g. encode on EASE) */
    AEREC_ERR_BUFFER_TOO_SMALL = -13,/* an output buffer is too small; the needed size was reported */
    AEREC_ERR_INTERNAL = -14         /* a bug in AERec: please report the message */
};

/* The message of the last failed call on the calling thread, or "" when the last call succeeded.
 * Every API call except aerec_last_error, aerec_status_string, aerec_version and aerec_abi_version
 * resets it. The pointer stays valid until the thread's next API call. Never NULL. */
const char *aerec_last_error(void);
/* A short constant description of a status code ("invalid argument", ...). Never NULL. */
const char *aerec_status_string(int status);

/* ---------------------------------------------------------------------------- opaque handles */

typedef struct aerec_dataset aerec_dataset; /* interactions with user and item id maps (immutable) */
typedef struct aerec_split aerec_split;     /* a dataset split under a protocol (immutable) */
typedef struct aerec_model aerec_model;     /* a model, fitted or not */
typedef struct aerec_result aerec_result;   /* an evaluation result (immutable) */
/* (and aerec_probe / aerec_selection, probe and selection reports: see the Theory sections) */

/* Default marker for integer and float configuration fields. */
#define AEREC_DEFAULT (-1)

/* ----------------------------------------------------------------------------- runtime info */

typedef struct aerec_blas_info {
    uint64_t struct_size;
    int64_t threads;                   /* OpenBLAS's thread count */
    int64_t is_fallback;               /* 1: OpenBLAS runs on a generic core that wastes this CPU */
    char core[32];                     /* the OpenBLAS core in use, e.g. "SkylakeX", "Prescott" */
    char recommended_coretype[32];     /* OPENBLAS_CORETYPE to set before loading, or "" if fine */
    char simd_level[16];               /* "avx512", "avx2", "avx", "sse4.2" or "baseline" */
    char coretype_env[32];             /* OPENBLAS_CORETYPE as set in this process, or "" */
} aerec_blas_info;

int aerec_blas_info_get(aerec_blas_info *out);

/* The structs of this header, for bindings that check their own layouts. */
enum {
    AEREC_STRUCT_CSR = 1,
    AEREC_STRUCT_FILTER = 2,
    AEREC_STRUCT_DATASET_INFO = 3,
    AEREC_STRUCT_MATRIX_INFO = 4,
    AEREC_STRUCT_SPLIT_CONFIG = 5,
    AEREC_STRUCT_SPLIT_INFO = 6,
    AEREC_STRUCT_MODEL_CONFIG = 7,
    AEREC_STRUCT_EPOCH_REPORT = 8,
    AEREC_STRUCT_FIT_SUMMARY = 9,
    AEREC_STRUCT_MODEL_INFO = 10,
    AEREC_STRUCT_METRIC_VALUE = 11,
    AEREC_STRUCT_RESULT_INFO = 12,
    AEREC_STRUCT_BLAS_INFO = 13,
    AEREC_STRUCT_PROBE_CONFIG = 14,
    AEREC_STRUCT_PROBE_SCORES = 15,
    AEREC_STRUCT_SELECTION_CONFIG = 16,
    AEREC_STRUCT_SELECTION_PROGRESS = 17,
    AEREC_STRUCT_SELECTION_SUMMARY = 18
};
/* sizeof the struct as this library was built, or 0 for an unknown id (never fails). */
int64_t aerec_struct_size(int which);

/* ---------------------------------------------------------------------------- sparse matrices */

/* A read-only view of a sparse matrix in CSR form, passed to the library (which copies it).
 * indptr has n_rows + 1 non-decreasing entries from 0 to nnz; indices[indptr[r] .. indptr[r+1])
 * are the columns of row r, in 0 .. n_cols-1, and must be strictly ascending within a row where a
 * matrix is expected (rankings in aerec_metrics_from_rankings keep their order instead). values
 * (nnz finite floats) may be NULL: every entry is 1 (implicit feedback). The layout is exactly
 * scipy.sparse.csr_matrix's with int64 indptr, int32 indices and float32 data. */
typedef struct aerec_csr {
    int64_t n_rows;
    int64_t n_cols;
    const int64_t *indptr;
    const int32_t *indices;
    const float *values;
} aerec_csr;

/* The shape of a matrix held by the library, before copying it out. */
typedef struct aerec_matrix_info {
    uint64_t struct_size;
    int64_t n_rows;
    int64_t n_cols;
    int64_t nnz;
    int64_t has_values; /* 0: implicit (every value 1); values are still written as 1 on copy */
} aerec_matrix_info;

/* -------------------------------------------------------------------------------- datasets */

/* Filters applied after reading, in this order: threshold (keep value > threshold, strictly),
 * minimum interactions per item then per user (one pass each, as vae_cf; repeated until stable
 * with k_core), binarize. Users and items left without interactions are dropped. */
typedef struct aerec_filter {
    uint64_t struct_size;
    int64_t has_threshold;          /* 0: keep every value */
    double threshold;               /* finite; used when has_threshold */
    int64_t min_user_interactions;  /* 0: no minimum */
    int64_t min_item_interactions;  /* 0: no minimum */
    int64_t k_core;                 /* 1: repeat the minimums until both hold */
    int64_t binarize;               /* 1: every remaining value becomes 1 */
} aerec_filter;

/* A filter that keeps everything. */
int aerec_filter_init(aerec_filter *filter);

typedef struct aerec_dataset_info {
    uint64_t struct_size;
    int64_t users;
    int64_t items;
    int64_t interactions;
    int64_t has_timestamps;
    /* what reading and filtering did */
    int64_t lines_read;
    int64_t duplicates_dropped;
    int64_t below_threshold;
    int64_t dropped_by_count_filter;
    int64_t users_dropped;
    int64_t items_dropped;
} aerec_dataset_info;

/* Reads an interaction file. format: NULL or "auto" (detect), "tsv" (the ../shared/data format:
 * header, user<TAB>item<TAB>value[<TAB>timestamp]), "movielens-udata", "movielens-dat",
 * "movielens-csv"; gzip is detected from the content. filter may be NULL (keep everything).
 * Errors: AEREC_ERR_IO (missing/unreadable), AEREC_ERR_PARSE (file:line: field: what),
 * AEREC_ERR_DATA (empty, or the filters left nothing). */
int aerec_dataset_read(const char *path, const char *format, const aerec_filter *filter, aerec_dataset **out);

/* A dataset from coordinate arrays: interaction i is (users[i], items[i], values[i]) with dense
 * indices. values NULL: every value 1; timestamps may be NULL. n_users / n_items: the index spaces
 * (AEREC_DEFAULT: max index + 1). user_ids / item_ids: NULL (the ids are "0", "1", ...) or arrays of
 * n_users / n_items distinct strings. count must be >= 1 (AEREC_ERR_DATA for an empty dataset). */
int aerec_dataset_from_coo(const int32_t *users, const int32_t *items, const float *values,
                           const int64_t *timestamps, int64_t count, int64_t n_users, int64_t n_items,
                           const char *const *user_ids, const char *const *item_ids, aerec_dataset **out);

/* A dataset from a users x items CSR matrix (rows = users; column order within a row is free).
 * user_ids / item_ids as for aerec_dataset_from_coo (n_rows / n_cols strings). */
int aerec_dataset_from_csr(const aerec_csr *matrix, const char *const *user_ids, const char *const *item_ids,
                           aerec_dataset **out);

/* A new dataset: `dataset` with `filter` applied (its report counters add to the source's). */
int aerec_dataset_filter(const aerec_dataset *dataset, const aerec_filter *filter, aerec_dataset **out);

int aerec_dataset_info_get(const aerec_dataset *dataset, aerec_dataset_info *out);

/* The users x items matrix (repeated pairs: the last one wins). Call aerec_dataset_matrix_info
 * first and pass arrays of n_rows + 1, nnz and nnz elements; values may be NULL. */
int aerec_dataset_matrix_info(const aerec_dataset *dataset, aerec_matrix_info *out);
int aerec_dataset_matrix_copy(const aerec_dataset *dataset, int64_t *indptr, int32_t *indices, float *values);

/* Which id map: */
enum { AEREC_IDS_USERS = 0, AEREC_IDS_ITEMS = 1 };

/* Writes the external ids of the users or items, in index order, as consecutive NUL-terminated
 * strings into buf. *needed (required) receives the bytes needed; with buf NULL or capacity too
 * small nothing is written and the call returns AEREC_ERR_BUFFER_TOO_SMALL (buf NULL and capacity 0:
 * AEREC_OK, a pure size query). */
int aerec_dataset_ids(const aerec_dataset *dataset, int which, char *buf, size_t capacity, size_t *needed);

int aerec_dataset_free(aerec_dataset *dataset);

/* ---------------------------------------------------------------------------------- splits */

typedef enum aerec_protocol {
    AEREC_PROTOCOL_STRONG = 0,   /* strong generalisation exactly as Liang et al. 2018 (vae_cf) */
    AEREC_PROTOCOL_RATIO = 1,    /* weak generalisation: a share of every user's items held out */
    AEREC_PROTOCOL_LOO = 2,      /* leave the last interaction (by timestamp) out */
    AEREC_PROTOCOL_EXPLICIT = 3, /* random split of rating triples (rating prediction) */
    AEREC_PROTOCOL_GIVEN = 4     /* a supplied test set */
} aerec_protocol;

typedef struct aerec_split_config {
    uint64_t struct_size;
    int64_t protocol;                 /* aerec_protocol */
    uint64_t seed;                    /* default 98765 (the vae_cf notebook's) */
    int64_t held_out_users;           /* strong: validation users and as many test users;
                                         AEREC_DEFAULT: 10 % of the users (at least 1), as the CLI */
    double target_fraction;           /* strong: share of a held-out user's items to rank (0.2) */
    int64_t min_items_for_split;      /* strong: users with fewer items are fold-in only (5) */
    double test_fraction;             /* ratio (0.2) / explicit (0.1): share held out for test */
    double validation_fraction;       /* ratio / explicit: share held out for validation (0);
                                         given: share of each user's training interactions (0) */
    int64_t loo_validation;           /* loo: also hold out the second-to-last interaction (0) */
    const aerec_dataset *given_test;  /* given: the test interactions (ids matched by text), or NULL */
    const char *given_test_path;      /* given: ... or a file to read (when given_test is NULL) */
    const char *given_test_format;    /* given: the file's format (NULL: "auto") */
} aerec_split_config;

/* Fills `config` with the defaults of `protocol`. */
int aerec_split_config_init(aerec_split_config *config, int protocol);

/* Splits `dataset` (deterministic given the seed; identical to the CLI's `aerec split`). */
int aerec_split_create(const aerec_dataset *dataset, const aerec_split_config *config, aerec_split **out);

typedef struct aerec_split_info {
    uint64_t struct_size;
    int64_t protocol;
    uint64_t seed;
    int64_t users;            /* all users of the dataset */
    int64_t items;            /* the split's item space (the model's columns) */
    int64_t train_rows;
    int64_t train_nnz;
    int64_t has_validation;
    int64_t validation_users;
    int64_t test_users;
} aerec_split_info;

int aerec_split_info_get(const aerec_split *split, aerec_split_info *out);

/* The parts of a split (and what evaluation runs on). */
enum {
    AEREC_PART_TRAIN = 0,
    AEREC_PART_VALIDATION_FOLD_IN = 1, /* what the model sees of the validation users */
    AEREC_PART_VALIDATION_TARGET = 2,  /* what it must rank for them */
    AEREC_PART_TEST_FOLD_IN = 3,
    AEREC_PART_TEST_TARGET = 4
};
/* Held-out sets, for aerec_model_evaluate. */
enum { AEREC_HELDOUT_VALIDATION = 1, AEREC_HELDOUT_TEST = 3 };

/* Shape of a part (AEREC_ERR_STATE for the validation parts of a split without validation). */
int aerec_split_part_info(const aerec_split *split, int part, aerec_matrix_info *out);
/* Copies a part: indptr (n_rows + 1), indices (nnz), values (nnz, may be NULL), row_users (n_rows,
 * may be NULL: the dataset user index of each row), train_rows (n_rows, may be NULL: each held-out
 * user's training row or -1; for AEREC_PART_TRAIN the row itself). */
int aerec_split_part_copy(const aerec_split *split, int part, int64_t *indptr, int32_t *indices, float *values,
                          int32_t *row_users, int32_t *train_rows);
/* External ids: AEREC_IDS_USERS (every user of the dataset, by dataset index) or AEREC_IDS_ITEMS
 * (the split's item space, in column order). Same buffer rules as aerec_dataset_ids. */
int aerec_split_ids(const aerec_split *split, int which, char *buf, size_t capacity, size_t *needed);

/* Writes the split as TSV files into `directory` (created if needed), as `aerec split` does. */
int aerec_split_export(const aerec_split *split, const char *directory);
/* Reads a directory written by aerec_split_export (or `aerec split`). */
int aerec_split_load(const char *directory, aerec_split **out);

int aerec_split_free(aerec_split *split);

/* ---------------------------------------------------------------------------------- models */

typedef enum aerec_model_kind {
    AEREC_MODEL_MULT_DAE = 0,
    AEREC_MODEL_MULT_VAE = 1,
    AEREC_MODEL_CDAE = 2,
    AEREC_MODEL_AUTOREC_I = 3, /* item-based AutoRec (rating prediction) */
    AEREC_MODEL_AUTOREC_U = 4, /* user-based AutoRec (rating prediction) */
    AEREC_MODEL_EASE = 5,
    AEREC_MODEL_POPULARITY = 6
} aerec_model_kind;

typedef enum aerec_optimizer {
    AEREC_OPTIMIZER_ADAM = 0 /* Adam (row-sparse "lazy" updates of the input layer), the only one so far */
} aerec_optimizer;

/* How to build and train a model. Every field left at AEREC_DEFAULT / -1.0 / NULL takes the model's
 * default, exactly as the `aerec train` CLI does. */
typedef struct aerec_model_config {
    uint64_t struct_size;
    int64_t kind;                  /* aerec_model_kind */
    const char *latent_activation; /* "sigmoid", "tanh", "relu", "sigmoid:2", ... (NULL: default) */
    int64_t hidden;                /* hidden width (Mult-VAE's 600 layer; CDAE/AutoRec: the code) */
    int64_t latent;                /* code width */
    int64_t optimizer;             /* aerec_optimizer */
    double learning_rate;
    int64_t epochs;                /* maximum epochs (default 100; EASE and popularity: 1) */
    int64_t batch_size;            /* users per mini-batch (500; CDAE 100) */
    double lambda;                 /* EASE's lambda (500), or the L2 penalty of the neural models */
    double dropout;                /* input dropout / corruption probability, in [0, 1) */
    int64_t anneal_steps;          /* Mult-VAE: updates over which beta grows to its cap */
    int64_t patience;              /* early-stopping patience in epochs (20); 0: never stop early */
    uint64_t seed;                 /* every random choice (98765); same seed + threads => same model */
    int64_t threads;               /* kernel and BLAS threads (2) */
    const char *validation_metric; /* early stopping / best epoch (NULL: "ndcg@100"; AutoRec "rmse") */
    int64_t ease_precision;        /* EASE's solve: 32 (float32, the default) or 64 (float64: 3 I^2 floats
                                      while fitting, about twice the time, weights rounded to float32
                                      once, scores summed in float64); AEREC_DEFAULT for the others */
    double beta_cap;               /* Mult-VAE: the KL weight's cap (0.2; reached at 80 % of the planned
                                      updates unless anneal_steps is set); -1.0 for the others */
} aerec_model_config;

/* Fills `config` with the defaults for `kind` (struct_size set, seed 98765, threads 2, the rest
 * AEREC_DEFAULT / NULL). */
int aerec_model_config_init(aerec_model_config *config, int kind);

/* A new, unfitted model. The configuration is checked now (unknown activation, dropout outside
 * [0, 1), NaN...); the weights are allocated by the first fit, when the item count is known. */
int aerec_model_create(const aerec_model_config *config, aerec_model **out);

/* What the per-epoch callback receives. */
typedef struct aerec_epoch_report {
    uint64_t struct_size;
    int64_t epoch;              /* 1-based */
    double loss;                /* mean training loss per user */
    double validation;          /* the validation metric after this epoch, NaN when not validated */
    int64_t has_validation;
    double train_seconds;       /* this epoch's training time */
    double validation_seconds;
    int64_t is_best;            /* 1: the best epoch so far (the one fit keeps) */
    double beta;                /* Mult-VAE's KL weight, NaN for other models */
} aerec_epoch_report;

/* Called after every epoch on the thread that called fit. Return 0 to go on, non-zero to stop:
 * training ends and the model keeps its best epoch so far (fit still returns AEREC_OK and sets
 * stopped_by_callback). The report is valid only during the call. The callback must not call
 * aerec_model_fit on the same model (the model is busy: other calls on it return AEREC_ERR_BUSY). */
typedef int (*aerec_epoch_callback)(const aerec_epoch_report *report, void *user_data);

typedef struct aerec_fit_summary {
    uint64_t struct_size;
    int64_t epochs_run;
    int64_t best_epoch;          /* the epoch whose weights the model holds */
    double best_validation;      /* NaN without validation */
    int64_t stopped_early;       /* early stopping ended the run */
    int64_t stopped_by_callback; /* the callback or aerec_model_request_stop ended it */
    double seconds;
} aerec_fit_summary;

/* Trains on split's training matrix, validating on its validation set (if any) for early stopping
 * and best-epoch selection — the same computation as `aerec train` with the same configuration.
 * Refits from fresh weights when called again. callback and summary may be NULL.
 * AEREC_ERR_BUSY while the model is used by another call; AEREC_ERR_STATE for a loaded model
 * (create a new one to train). */
int aerec_model_fit(aerec_model *model, const aerec_split *split, aerec_epoch_callback callback, void *user_data,
                    aerec_fit_summary *summary);

/* Trains on a users x items matrix. validation_fold_in / validation_target (both or neither; rows
 * aligned, same columns as train) drive early stopping. */
int aerec_model_fit_csr(aerec_model *model, const aerec_csr *train, const aerec_csr *validation_fold_in,
                        const aerec_csr *validation_target, aerec_epoch_callback callback, void *user_data,
                        aerec_fit_summary *summary);

/* Checkpoints for the next fits of `model` (Mult-DAE, Mult-VAE, CDAE, AutoRec): after every
 * `every`-th epoch that the run goes on past, `directory`/checkpoint.aerec (directory created if
 * needed) is replaced atomically with everything the run needs to continue (weights, Adam state,
 * epoch, best epoch, early-stopping counters). resume: 0 start afresh, 1 continue the run saved
 * there (AEREC_ERR_IO when there is none; the configuration, split, seed and threads must be the
 * same, else AEREC_ERR_INVALID_ARGUMENT naming the difference), 2 continue when a checkpoint exists
 * and start afresh otherwise. A continued fit ends with the model an uninterrupted fit gives, bit
 * for bit. A fit that completes removes the checkpoint; one stopped by the callback or
 * aerec_model_request_stop keeps it. directory NULL turns checkpoints off (the default).
 * AEREC_ERR_UNSUPPORTED for EASE and popularity, AEREC_ERR_STATE for a loaded model. */
int aerec_model_set_checkpointing(aerec_model *model, const char *directory, int64_t every, int resume);

/* Asks a running fit to stop after the current epoch (keeping the best epoch). Thread-safe; a
 * no-op when the model is not training. */
int aerec_model_request_stop(aerec_model *model);

typedef struct aerec_model_info {
    uint64_t struct_size;
    int64_t kind;               /* aerec_model_kind */
    int64_t is_fitted;
    int64_t is_autoencoder;     /* has an encoder and a latent activation (encode works) */
    int64_t predicts_ratings;   /* AutoRec: evaluated with rmse / mae */
    int64_t item_count;         /* 0 before the first fit */
    int64_t user_count;         /* training users known to the model (0: none recorded) */
    int64_t latent_dimension;   /* code width (0 for EASE / popularity, or before fit) */
    int64_t input_dimension;
    int64_t epochs_run;         /* of the last fit in this process (0 for a loaded model) */
    char latent_activation[48]; /* "" for EASE / popularity */
} aerec_model_info;

int aerec_model_info_get(const aerec_model *model, aerec_model_info *out);

/* The per-epoch reports of the last fit: writes min(capacity, epochs) reports into `out` (may be
 * NULL with capacity 0) and the number of epochs into *count. The reports are written whole, their
 * struct_size included, so the array need not be initialised (the one output whose struct_size is
 * not checked: compare aerec_abi_version() with AEREC_ABI_VERSION instead). */
int aerec_model_history(const aerec_model *model, aerec_epoch_report *out, int64_t capacity, int64_t *count);

/* Exclusion flags for aerec_model_recommend. */
enum {
    AEREC_EXCLUDE_NONE = 0,
    AEREC_EXCLUDE_HISTORY = 1 /* never recommend an item of the user's input row */
};

/* Top-k items for each row of `histories` (users x the model's items: what the model sees of each
 * user). train_rows (n_rows entries or NULL): each user's row in the training matrix, or -1 (used
 * by models with per-user parameters, CDAE). exclude (NULL, or rows aligned with histories): more
 * items never to recommend. out_items receives n_rows x k item indices (the model's columns) best
 * first; out_scores (may be NULL) their scores. Rows with fewer than k candidates end in -1 /
 * -INFINITY. Ties go to the lower item index; NaN scores rank last. threads: AEREC_DEFAULT (or 0) = the
 * model's. Safe to call from several threads at once. */
int aerec_model_recommend(const aerec_model *model, const aerec_csr *histories, const int32_t *train_rows,
                          int64_t k, int flags, const aerec_csr *exclude, int64_t threads, int32_t *out_items,
                          float *out_scores);

/* Top-k items for users given by external id, exactly as `aerec recommend` does: each user's
 * history is their rows in `history` (a dataset whose item ids are the model's external item ids;
 * history items the model does not know are ignored and counted), and every item they have in
 * `history` or in `also_exclude` (may be NULL; e.g. the unfiltered data) is excluded. out_items:
 * n_users x k item indices (the model's columns; aerec_model_ids names them), out_scores (may be
 * NULL), out_history_items / out_unknown_items (n_users each, may be NULL): the known / ignored
 * history items per user. A user without interactions in `history` is AEREC_ERR_DATA. */
int aerec_model_recommend_ids(const aerec_model *model, const aerec_dataset *history, const aerec_dataset *also_exclude,
                              const char *const *users, int64_t n_users, int64_t k, int64_t threads,
                              int32_t *out_items, float *out_scores, int64_t *out_history_items,
                              int64_t *out_unknown_items);

/* Every item's score for each row of `histories` into out (n_rows x item_count, row-major). */
int aerec_model_scores(const aerec_model *model, const aerec_csr *histories, const int32_t *train_rows,
                       int64_t threads, float *out);

/* The latent codes of the rows of `input` into out (n_rows x latent_dimension, row-major):
 * Mult-DAE's code layer, Mult-VAE's mu, CDAE's hidden layer without the user node, AutoRec's hidden
 * layer (input: users x items for AutoRec-U, items x users for AutoRec-I). Deterministic.
 * AEREC_ERR_UNSUPPORTED for EASE and popularity. */
int aerec_model_encode(const aerec_model *model, const aerec_csr *input, int64_t threads, float *out);

/* Full-ranking evaluation on a held-out set of `split` (AEREC_HELDOUT_TEST or _VALIDATION):
 * metrics is a comma-separated list ("ndcg@100,recall@20,mrr"; NULL: the CLI's default set — the
 * ranking metrics, or rmse,mae for AutoRec). batch_size / threads: AEREC_DEFAULT (or 0) = the model's.
 * Identical to the numbers `aerec train` prints for the same model and split. */
int aerec_model_evaluate(const aerec_model *model, const aerec_split *split, int heldout, const char *metrics,
                         int64_t batch_size, int64_t threads, aerec_result **out);

/* The same on given matrices: fold_in (the input, excluded from the ranking) and target (rows
 * aligned); train_rows as for aerec_model_recommend (NULL: -1 for all). */
int aerec_model_evaluate_csr(const aerec_model *model, const aerec_csr *fold_in, const aerec_csr *target,
                             const int32_t *train_rows, const char *metrics, int64_t batch_size, int64_t threads,
                             aerec_result **out);

/* Writes the fitted model to `path` (atomically; the CLI's model.aerec format, readable by
 * `aerec` and aerec_model_load). */
int aerec_model_save(const aerec_model *model, const char *path);
/* Loads any model file written by AERec (the CLI, Swift, C or Python). The model is fitted and
 * serves recommend/scores/encode/evaluate/save; it cannot be re-trained. */
int aerec_model_load(const char *path, aerec_model **out);

/* External ids of the model's items (columns) or its training users, as aerec_dataset_ids. */
int aerec_model_ids(const aerec_model *model, int which, char *buf, size_t capacity, size_t *needed);

/* Frees the model. A call running on it in another thread finishes normally; a running fit is
 * asked to stop. */
int aerec_model_free(aerec_model *model);

/* ---------------------------------------------------------------------------- results, metrics */

typedef struct aerec_result_info {
    uint64_t struct_size;
    int64_t metric_count;
    int64_t users_evaluated;   /* users with at least one target item */
    int64_t users_skipped;     /* users with an empty target */
    double seconds;
} aerec_result_info;

typedef struct aerec_metric_value {
    uint64_t struct_size;
    char name[40];             /* "ndcg@100", "recall@20", "mrr", "rmse", ... */
    double value;              /* mean over users (pooled for rmse / mae; set level for coverage) */
    double ci_low;             /* 95 % confidence interval, NaN when there is none (n < 2, coverage) */
    double ci_high;
    double standard_error;     /* NaN when there is none */
    int64_t n;                 /* users it was computed over */
    int64_t has_ci;
} aerec_metric_value;

int aerec_result_info_get(const aerec_result *result, aerec_result_info *out);
/* Metric `index` (0 .. metric_count-1), in the requested order. */
int aerec_result_metric(const aerec_result *result, int64_t index, aerec_metric_value *out);
/* Per-user values of metric `index` (aligned with aerec_result_users; none for coverage): writes
 * min(capacity, n) values and sets *count = n. */
int aerec_result_per_user(const aerec_result *result, int64_t index, double *out, int64_t capacity, int64_t *count);
/* The dataset user index (or row) of each evaluated user, same rules. */
int aerec_result_users(const aerec_result *result, int32_t *out, int64_t capacity, int64_t *count);
int aerec_result_free(aerec_result *result);

/* Ranking metrics from given rankings, computed by AERec's own metric code: row u of `rankings`
 * holds user u's ranked items, best first (order kept; seen items already removed), row u of
 * `targets` the relevant items (values ignored). item_count: the catalogue size (for coverage and
 * range checks). metrics as for aerec_model_evaluate (NULL: the default ranking set). */
int aerec_metrics_from_rankings(const aerec_csr *rankings, const aerec_csr *targets, int64_t item_count,
                                const char *metrics, aerec_result **out);

/* rmse / mae from predictions: user u's ratings are entries indptr[u] .. indptr[u+1] of `predicted`
 * and `actual` (finite). metrics NULL: "rmse,mae". */
int aerec_metrics_from_ratings(int64_t n_users, const int64_t *indptr, const float *predicted, const float *actual,
                               const char *metrics, aerec_result **out);

/* --------------------------------------------------------------------- probes P1-P3 (Theory) */
/* Susman's properties of a trained encoder (arXiv 2411.04315), measured by AERec's Theory layer:
 *   P1 dimension reduction: m < n and the codes' participation ratio (effective rank) >= a minimum;
 *   P2 order: input dot products <x,u> <= <x,v> keep their order between the codes (seeded triples,
 *      Kendall tau-b per anchor, top-k neighbour overlap);
 *   P3 non-zero codes: real users, one-hot items and negated users get codes of norm > epsilon;
 *      dead and constant units; enc(0).
 * The pass/fail verdicts use AERec's thresholds (the paper states exact properties). */

typedef struct aerec_probe aerec_probe; /* a probe report (immutable) */

/* The space input dot products are compared in: */
enum {
    AEREC_PROBE_INPUT_NORMALIZED_BINARY = 0, /* x/|x| of the binary history (Mult-DAE, Mult-VAE) */
    AEREC_PROBE_INPUT_BINARY = 1,            /* the 0/1 history (CDAE) */
    AEREC_PROBE_INPUT_VALUES = 2             /* the stored values (AutoRec) */
};

typedef struct aerec_probe_config {
    uint64_t struct_size;
    int64_t users;                 /* real users sampled (1000) */
    int64_t samples;               /* P2 triples (2000) */
    int64_t anchors;               /* anchors for Kendall's tau and the neighbour overlap (200) */
    int64_t candidates;            /* candidate set per anchor for Kendall's tau (100) */
    int64_t neighbours;            /* k of the top-k neighbour overlap (10) */
    int64_t item_probes;           /* one-hot item probes for P3 (1000) */
    double epsilon;                /* a code of norm <= epsilon counts as zero (1e-6) */
    uint64_t seed;                 /* 98765 */
    int64_t threads;               /* 2 */
    int64_t input_space;           /* AEREC_PROBE_INPUT_*; AEREC_DEFAULT: what the model's encoder sees */
    double min_effective_rank;     /* P1 passes at or above (2) */
    double min_order_preserved;    /* P2 passes at or above (0.75) */
    double max_zero_code_fraction; /* P3 passes at or below, for each probe set (0.01) */
} aerec_probe_config;

/* Fills `config` with the defaults (every field AEREC_DEFAULT but struct_size, seed and threads). */
int aerec_probe_config_init(aerec_probe_config *config);

/* The headline numbers of a probe report (the full report: aerec_probe_json). */
typedef struct aerec_probe_scores {
    uint64_t struct_size;
    int64_t rows_probed;
    double seconds;
    char family[32];                    /* the activation's family, e.g. "sigmoid-like" */
    char theory_verdict[32];            /* what theory predicts for the family */
    /* P1 */
    int64_t p1_passed;
    int64_t latent_dimension;           /* m */
    int64_t input_dimension;            /* n */
    double p1_effective_rank;           /* participation ratio of the codes' covariance */
    double p1_effective_rank_fraction;  /* effective rank / min(m, rows - 1) */
    /* P2 */
    int64_t p2_passed;
    int64_t p2_triples;
    double p2_order_preserved;          /* share of non-tied triples whose order is kept */
    double p2_order_preserved_low;      /* its Wilson 95 % interval */
    double p2_order_preserved_high;
    double p2_kendall_tau;              /* mean Kendall tau-b per anchor */
    double p2_neighbour_overlap;        /* mean top-k neighbour overlap per anchor */
    /* P3 */
    int64_t p3_passed;
    double p3_zero_code_users;          /* share of real users with a zero code */
    double p3_zero_code_items;          /* ... of one-hot items */
    double p3_zero_code_negated_users;  /* ... of negated users */
    double p3_dead_unit_fraction;       /* latent units never active */
    double p3_constant_unit_fraction;   /* latent units that never vary */
    int64_t p3_zero_maps_to_zero;       /* enc(0) = 0 */
} aerec_probe_scores;

/* Probes a fitted autoencoder on the rows of `input` (users x items; items x users for I-AutoRec),
 * or on the training matrix of its last fit in this process when input is NULL (AEREC_ERR_STATE
 * for a loaded model). config NULL: the defaults. Deterministic given the seed and thread count.
 * AEREC_ERR_UNSUPPORTED for EASE and popularity. A reader: may run alongside recommend. */
int aerec_model_probe(const aerec_model *model, const aerec_csr *input, const aerec_probe_config *config,
                      aerec_probe **out);
int aerec_probe_scores_get(const aerec_probe *probe, aerec_probe_scores *out);
/* The whole report as one JSON object {"summary": "...", "report": {...}} (NaN as "NaN"), with the
 * buffer rules of aerec_dataset_ids (one NUL-terminated string; *needed counts the NUL). */
int aerec_probe_json(const aerec_probe *probe, char *buf, size_t capacity, size_t *needed);
int aerec_probe_free(aerec_probe *probe);

/* ------------------------------------------------------------------ activation selection (Theory) */
/* Chooses a latent activation for one model on one split with an EQUAL budget per candidate: a
 * learning-rate x L2 grid tuned on the validation users (seeded with tuning_seed), then one run per
 * seed at the chosen point, each evaluated on validation and test users and probed for P1-P3. The
 * recommendation is the best activation by mean validation metric ("measurement"); when that one
 * is not sigmoid-like, a paired t-test on the validation users decides between it and the best
 * sigmoid-like candidate (the theory's choice): without a significant difference the theory's
 * choice stands. Every run trains a model: budget len(candidates) x runs per candidate fits. */

typedef struct aerec_selection aerec_selection; /* a selection report (immutable) */

typedef struct aerec_selection_config {
    uint64_t struct_size;
    const char *candidates;        /* comma-separated activations (NULL: sigmoid,hard_sigmoid,softsign01,tanh,relu,identity) */
    const char *learning_rates;    /* comma-separated (NULL: "0.001,0.003") */
    const char *regularizations;   /* comma-separated L2 grid (NULL: the model's; Mult-DAE "0.001,0.01") */
    const char *seeds;             /* comma-separated seeds of the final runs (NULL: "1,2,3") */
    uint64_t tuning_seed;          /* seed of the grid runs (1) */
    const char *selection_metric;  /* NULL: "ndcg@100" ("rmse" for AutoRec) */
    const char *reported_metrics;  /* NULL: "ndcg@100,recall@20" ("rmse,mae" for AutoRec) */
    double significance_level;     /* -1.0: 0.05 */
    const aerec_probe_config *probe; /* the probes of every final run (NULL: defaults) */
} aerec_selection_config;

/* Fills `config` with the defaults (NULL lists, tuning seed 1, significance AEREC_DEFAULT). */
int aerec_selection_config_init(aerec_selection_config *config);

/* What the progress callback receives after every trained run. */
typedef struct aerec_selection_progress {
    uint64_t struct_size;
    int64_t phase;              /* 0: tuning (grid), 1: final (seeds) */
    int64_t completed;          /* runs finished so far */
    int64_t total;              /* runs in all */
    double learning_rate;
    double regularization;
    uint64_t seed;
    double validation;          /* the run's validation value of the selection metric */
    double seconds;
    char activation[48];
    char line[256];             /* "[7/48] tuning sigmoid lr 0.003 reg 0.01 seed 1: ndcg@100 0.4123 (12.3 s)" */
} aerec_selection_progress;

typedef void (*aerec_selection_callback)(const aerec_selection_progress *progress, void *user_data);

/* Runs the selection on `split` (which needs validation users). base: the model (kind and every
 * setting but the activation, learning rate, L2 and seed, which the selection sets per run); its
 * kind must be an autoencoder. config NULL: the defaults. progress may be NULL; it reports, it
 * cannot stop the selection (the Theory layer's selection has no cancellation). */
int aerec_select_activation(const aerec_split *split, const aerec_model_config *base,
                            const aerec_selection_config *config, aerec_selection_callback progress, void *user_data,
                            aerec_selection **out);

typedef struct aerec_selection_summary {
    uint64_t struct_size;
    int64_t theory_agrees;      /* the measured best is sigmoid-like */
    int64_t candidates;
    int64_t runs;               /* trained runs in all */
    double seconds;
    char recommended[48];       /* the recommended activation */
    char measured_best[48];     /* the best by mean validation metric */
    char basis[32];             /* "theory and measurement", "theory", "measurement", "measurement only" */
} aerec_selection_summary;

int aerec_selection_summary_get(const aerec_selection *selection, aerec_selection_summary *out);

/* Report formats for aerec_selection_render: */
enum {
    AEREC_REPORT_JSON = 0,         /* everything, per-user values included */
    AEREC_REPORT_JSON_COMPACT = 1, /* without per-user values */
    AEREC_REPORT_MARKDOWN = 2,     /* tables for docs/results.md */
    AEREC_REPORT_SVG = 3           /* a self-contained chart */
};
/* The report as one NUL-terminated string, with the buffer rules of aerec_dataset_ids. */
int aerec_selection_render(const aerec_selection *selection, int format, char *buf, size_t capacity, size_t *needed);
int aerec_selection_free(aerec_selection *selection);

/* ------------------------------------------------------------------------------ layout checks */
#if (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L) || (defined(__cplusplus) && __cplusplus >= 201103L)
#ifdef __cplusplus
#define AEREC_STATIC_ASSERT static_assert
#else
#define AEREC_STATIC_ASSERT _Static_assert
#endif
AEREC_STATIC_ASSERT(sizeof(void *) == 8, "AERec needs a 64-bit platform");
AEREC_STATIC_ASSERT(sizeof(aerec_csr) == 40 && offsetof(aerec_csr, values) == 32, "aerec_csr layout");
AEREC_STATIC_ASSERT(sizeof(aerec_matrix_info) == 40 && offsetof(aerec_matrix_info, has_values) == 32, "layout");
AEREC_STATIC_ASSERT(sizeof(aerec_filter) == 56 && offsetof(aerec_filter, binarize) == 48, "aerec_filter layout");
AEREC_STATIC_ASSERT(sizeof(aerec_dataset_info) == 88 && offsetof(aerec_dataset_info, items_dropped) == 80, "layout");
AEREC_STATIC_ASSERT(sizeof(aerec_split_config) == 96 && offsetof(aerec_split_config, given_test) == 72 &&
                    offsetof(aerec_split_config, given_test_format) == 88, "aerec_split_config layout");
AEREC_STATIC_ASSERT(sizeof(aerec_split_info) == 80 && offsetof(aerec_split_info, test_users) == 72, "layout");
AEREC_STATIC_ASSERT(sizeof(aerec_model_config) == 144 && offsetof(aerec_model_config, latent_activation) == 16 &&
                    offsetof(aerec_model_config, learning_rate) == 48 && offsetof(aerec_model_config, seed) == 104 &&
                    offsetof(aerec_model_config, validation_metric) == 120 &&
                    offsetof(aerec_model_config, ease_precision) == 128 &&
                    offsetof(aerec_model_config, beta_cap) == 136, "aerec_model_config layout");
AEREC_STATIC_ASSERT(sizeof(aerec_epoch_report) == 72 && offsetof(aerec_epoch_report, beta) == 64, "layout");
AEREC_STATIC_ASSERT(sizeof(aerec_fit_summary) == 56 && offsetof(aerec_fit_summary, seconds) == 48, "layout");
AEREC_STATIC_ASSERT(sizeof(aerec_model_info) == 128 && offsetof(aerec_model_info, latent_activation) == 80,
                    "aerec_model_info layout");
AEREC_STATIC_ASSERT(sizeof(aerec_result_info) == 40, "aerec_result_info layout");
AEREC_STATIC_ASSERT(sizeof(aerec_metric_value) == 96 && offsetof(aerec_metric_value, value) == 48 &&
                    offsetof(aerec_metric_value, has_ci) == 88, "aerec_metric_value layout");
AEREC_STATIC_ASSERT(sizeof(aerec_blas_info) == 136 && offsetof(aerec_blas_info, core) == 24 &&
                    offsetof(aerec_blas_info, recommended_coretype) == 56 &&
                    offsetof(aerec_blas_info, simd_level) == 88 && offsetof(aerec_blas_info, coretype_env) == 104,
                    "aerec_blas_info layout");
AEREC_STATIC_ASSERT(sizeof(aerec_probe_config) == 112 && offsetof(aerec_probe_config, input_space) == 80 &&
                    offsetof(aerec_probe_config, max_zero_code_fraction) == 104, "aerec_probe_config layout");
AEREC_STATIC_ASSERT(sizeof(aerec_probe_scores) == 240 && offsetof(aerec_probe_scores, theory_verdict) == 56 &&
                    offsetof(aerec_probe_scores, p1_passed) == 88 && offsetof(aerec_probe_scores, p2_passed) == 128 &&
                    offsetof(aerec_probe_scores, p3_passed) == 184 &&
                    offsetof(aerec_probe_scores, p3_zero_maps_to_zero) == 232, "aerec_probe_scores layout");
AEREC_STATIC_ASSERT(sizeof(aerec_selection_config) == 80 && offsetof(aerec_selection_config, tuning_seed) == 40 &&
                    offsetof(aerec_selection_config, probe) == 72, "aerec_selection_config layout");
AEREC_STATIC_ASSERT(sizeof(aerec_selection_progress) == 376 && offsetof(aerec_selection_progress, activation) == 72 &&
                    offsetof(aerec_selection_progress, line) == 120, "aerec_selection_progress layout");
AEREC_STATIC_ASSERT(sizeof(aerec_selection_summary) == 168 && offsetof(aerec_selection_summary, recommended) == 40 &&
                    offsetof(aerec_selection_summary, basis) == 136, "aerec_selection_summary layout");
#undef AEREC_STATIC_ASSERT
#endif

#ifdef __cplusplus
}
#endif
#endif /* AEREC_H */
