/*
 * dlopen_test.c — libaerec.so must survive dlopen, use, dlclose and dlopen again in one process
 * (a Python session re-importing, a plugin host reloading). Not linked to the library.
 *
 *     dlopen_test PATH/libaerec.so
 *
 * Ends with "dlopen_test: N passed, M failed".
 */
#define _GNU_SOURCE
#include "aerec.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;
#define CHECK(cond, what)                                                                                    \
    do {                                                                                                     \
        if (cond) passed++;                                                                                  \
        else {                                                                                               \
            failed++;                                                                                        \
            fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond);                       \
        }                                                                                                    \
    } while (0)

typedef const char *(*version_fn)(void);
typedef int (*coo_fn)(const int32_t *, const int32_t *, const float *, const int64_t *, int64_t, int64_t,
                      int64_t, const char *const *, const char *const *, aerec_dataset **);
typedef int (*info_fn)(const aerec_dataset *, aerec_dataset_info *);
typedef int (*free_fn)(aerec_dataset *);
typedef const char *(*error_fn)(void);

/* Loads the library, uses it, and returns the dataset handle it created (not freed, to check that a
 * handle survives the reload too when the library stays mapped). */
static aerec_dataset *round_trip(const char *path, int round, aerec_dataset *earlier) {
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECK(lib != NULL, dlerror());
    if (!lib) return NULL;
    version_fn version = (version_fn)dlsym(lib, "aerec_version");
    coo_fn from_coo = (coo_fn)dlsym(lib, "aerec_dataset_from_coo");
    info_fn info = (info_fn)dlsym(lib, "aerec_dataset_info_get");
    free_fn dfree = (free_fn)dlsym(lib, "aerec_dataset_free");
    error_fn last_error = (error_fn)dlsym(lib, "aerec_last_error");
    CHECK(version && from_coo && info && dfree && last_error, "symbols resolve");
    if (!(version && from_coo && info && dfree && last_error)) return NULL;
    CHECK(strcmp(version(), AEREC_VERSION_STRING) == 0, "version");
    int32_t users[4] = {0, 0, 1, 2}, items[4] = {0, 1, 1, 2};
    aerec_dataset *d = NULL;
    CHECK(from_coo(users, items, NULL, NULL, 4, AEREC_DEFAULT, AEREC_DEFAULT, NULL, NULL, &d) == AEREC_OK,
          "dataset from COO");
    aerec_dataset_info di = {.struct_size = sizeof di};
    CHECK(info(d, &di) == AEREC_OK && di.users == 3 && di.interactions == 4, "dataset info");
    if (earlier) {
        CHECK(info(earlier, &di) == AEREC_OK, "a handle from before the reload still works");
        CHECK(dfree(earlier) == AEREC_OK, "free it");
        CHECK(info(earlier, &di) == AEREC_ERR_STALE_HANDLE, "then it is stale");
    }
    CHECK(info(NULL, &di) == AEREC_ERR_INVALID_ARGUMENT && last_error()[0] != '\0', "errors after reload");
    printf("dlopen_test: round %d ok\n", round);
    CHECK(dlclose(lib) == 0, "dlclose");
    return d;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH/libaerec.so\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    aerec_dataset *d = NULL;
    for (int round = 1; round <= 3; round++) d = round_trip(argv[1], round, d);
    printf("dlopen_test: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
