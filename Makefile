# AERec — build, test, demo, bench.
#
#   make demo    the main job on the built-in dataset
#   make test    every test (Swift kernels + library, C ABI, Python, CLI end-to-end, a 60 s fuzz smoke run)
#   make fuzz    the libFuzzer harness on the data readers and the model-file loader, FUZZ_SECONDS each
#   make test-sanitize   the Swift test suite under AddressSanitizer and UndefinedBehaviorSanitizer
#   make bench   kernel micro-benchmarks (bench/results/kernels.json) and the performance suite
#                (bench/results/report.md + *.json); BENCH_QUICK=1: a few minutes
#
# OpenBLAS trap: Debian's OpenBLAS 0.3.21 falls back to a slow generic core on recent CPUs unless
# OPENBLAS_CORETYPE is set before it loads. The aerec CLI re-executes itself with the right value;
# every other program started here (swift test, python) gets it from `aerec doctor --export`.

SWIFT        ?= swift
PYTHON       ?= python3
RELEASE_DIR  := .build/release
# Build-only flags (kept out of Package.swift so the package stays usable as a URL dependency):
# a self-contained libaerec.so / aerec carrying their own Swift runtime, and -z nodelete so the
# library survives dlclose + reload inside a Python process.
RELEASE_FLAGS := -c release -Xswiftc -static-stdlib -Xlinker -z -Xlinker nodelete
AEREC        := $(RELEASE_DIR)/aerec
BLAS_ENV      = eval "$$($(AEREC) doctor --export)"

.PHONY: all build lib demo test test-swift test-c test-python test-pip test-example bench bench-kernels bench-engine doctor clean \
        fuzz fuzz-build fuzz-smoke test-sanitize

all: build

build:
	$(SWIFT) build $(RELEASE_FLAGS)
	ln -sf libAERecCABI.so $(RELEASE_DIR)/libaerec.so

lib: build

doctor: build
	$(AEREC) doctor

demo: build
	$(AEREC) doctor
	$(AEREC) demo

test: build test-swift test-c test-python test-pip test-example fuzz-smoke

test-swift:
	$(BLAS_ENV); $(SWIFT) test --parallel

# The C ABI from plain C: the header compiles with -Werror, every call and error path is exercised,
# and the library survives dlopen/dlclose/dlopen.
CABI_TEST_DIR := .build/cabi-test
DATA_DIR      ?= ../shared/data

test-c: build
	mkdir -p $(CABI_TEST_DIR)
	$(CC) -std=c11 -Wall -Wextra -Werror -O1 -Iinclude Tests/CABI/abi_test.c -o $(CABI_TEST_DIR)/abi_test \
	    -L$(RELEASE_DIR) -laerec -Wl,-rpath,$(CURDIR)/$(RELEASE_DIR) -lpthread -lm
	$(CC) -std=c11 -Wall -Wextra -Werror -O1 -Iinclude Tests/CABI/dlopen_test.c -o $(CABI_TEST_DIR)/dlopen_test -ldl
	$(BLAS_ENV); $(CABI_TEST_DIR)/abi_test $(DATA_DIR)/ml-100k/ratings.tsv.gz
	$(BLAS_ENV); $(CABI_TEST_DIR)/dlopen_test $(CURDIR)/$(RELEASE_DIR)/libaerec.so
	$(CC) -std=c11 -Wall -Wextra -Werror -Iinclude examples/quickstart.c -o $(CABI_TEST_DIR)/quickstart \
	    -L$(RELEASE_DIR) -laerec -Wl,-rpath,$(CURDIR)/$(RELEASE_DIR)
	$(BLAS_ENV); $(CABI_TEST_DIR)/quickstart $(DATA_DIR)/ml-100k/ratings.tsv.gz

# The Python package (ctypes over libaerec.so): pytest suite with CLI parity and the headless run of
# examples/quickstart.ipynb (nbclient, ipykernel, matplotlib, tqdm from .ci/run's pip line).
test-python: build
	$(BLAS_ENV); cd bindings/python && AEREC_REQUIRE_NOTEBOOK=1 $(PYTHON) -m pytest -q tests

# `pip install ./bindings/python` into a fresh virtualenv (it runs swift build and packages the
# library), then import it from outside the repository.
PIP_VENV := .build/pip-venv
test-pip: build
	rm -rf $(PIP_VENV) && $(PYTHON) -m venv --system-site-packages $(PIP_VENV)
	$(PIP_VENV)/bin/python -m pip install -q --disable-pip-version-check ./bindings/python
	cd / && env -u AERECLIB_PATH $(CURDIR)/$(PIP_VENV)/bin/python -c "import aerec, pathlib; \
	    p = aerec.library_path(); assert 'site-packages' in str(p), p; \
	    print('pip-installed aerec', aerec.__version__, 'loads', p, 'core', aerec.blas_info()['core'])"

# AERec used as a SwiftPM package dependency (examples/SwiftQuickstart depends on it by path):
# proves the package builds for consumers (no unsafe flags) and runs the README's Swift example.
test-example: build
	cd examples/SwiftQuickstart && $(SWIFT) build -c release
	cd examples/SwiftQuickstart && .build/release/SwiftQuickstart

# The performance suite (issue 7, docs/performance.md): every figure a ratio against a reference
# measured in the same run (numpy epochs, numpy float64 EASE, numpy top-k, the analytic memory
# minimum, the CLI), with the SGEMM rate and load average beside it. BENCH_QUICK=1: smaller problems.
bench: build
	$(BLAS_ENV); $(PYTHON) bench/kernels.py $(if $(BENCH_QUICK),--quick,)
	$(BLAS_ENV); $(PYTHON) bench/perf.py

# Kernel micro-benchmarks (SGEMM, CSR x dense, top-k, activations) -> bench/results/kernels.json
bench-kernels: build
	$(BLAS_ENV); $(PYTHON) bench/kernels.py

# AERec against numpy references on the same exported splits -> bench/results/engine.{json,md}
bench-engine: build
	$(BLAS_ENV); $(PYTHON) bench/engine.py

clean:
	rm -rf .build

# The activation study (issue 4): every dataset × model × latent activation with an equal tuning
# budget and 5 seeds, probed for P1–P3; writes docs/results.md and docs/figures/*.svg from
# bench/study/results/*.json. Two single-threaded workers share the cells; an interrupted study
# resumes (STUDY_FORCE=1 reruns every cell, STUDY_CELLS=ml-100k runs one dataset's cells).
# About 2 h on an idle 2-core machine (see docs/results.md for the measured time).
.PHONY: study
study:
	bench/study/run.sh

# Fuzzing (issue 8; docs/reliability.md): one libFuzzer harness (Tests/Fuzz/Harness, built with
# -sanitize=fuzzer,address; --disable-dead-strip keeps its coverage counters) with two targets,
# the data readers (every format, gzip) and the model-file loader. `make fuzz` runs each for
# FUZZ_SECONDS (FUZZ_RUNS caps the executions); `make test` runs a 60 s smoke of each. Seeds:
# Tests/Fuzz/corpus (Tests/Fuzz/make_seeds.sh); found inputs: .build-fuzz/corpus; crashes:
# .build-fuzz/artifacts. Results of the long campaigns: bench/results/fuzz.md.
FUZZ_SECONDS ?= 600
FUZZ_RUNS    ?= -1

# SwiftPM's `--sanitize=fuzzer --sanitize=address` passes `-sanitize=fuzzer -sanitize=address` to
# swiftc in an order that changes from run to run (a full rebuild each time), and swiftc 6.3 keeps
# only the last of the two: in one order, no coverage counters in the Swift code. So SwiftPM gets
# --sanitize=fuzzer alone (it then links libFuzzer's main), and swiftc the combined flag after it,
# which wins. (gold warns once per ASan helper symbol that it "cannot export local symbol":
# harmless, filtered.)
FUZZ_FLAGS := --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address -Xcc -fno-omit-frame-pointer \
              -Xswiftc -DAEREC_FUZZING --disable-dead-strip

fuzz-build:
	bash -o pipefail -c '$(SWIFT) build -c release --product AERecFuzz $(FUZZ_FLAGS) --scratch-path .build-fuzz 2>&1 \
	    | grep -v "Cannot export local symbol"'
	@readelf -S -W .build-fuzz/release/AERec.build/Readers.swift.o | grep -q __sancov_cntrs \
	    || { echo "fuzz-build: the Swift code has no coverage counters (see FUZZ_FLAGS)" >&2; exit 1; }

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS) Tests/Fuzz/run.sh

fuzz-smoke: fuzz-build
	FUZZ_SECONDS=60 FUZZ_RUNS=-1 Tests/Fuzz/run.sh

# The Swift test suite (kernels, library, CLI end-to-end: the CLI tests run the sanitized aerec built
# beside the tests) under AddressSanitizer with LeakSanitizer, then UndefinedBehaviorSanitizer, each
# in its own build folder. Not part of `make test` (about 2 × the time of test-swift plus two builds).
# Tests/Sanitizers/lsan.supp: leaks of XCTest and swift-argument-parser at exit, nothing of AERec's.
# swiftc has no -sanitize=undefined on Linux (Swift traps on overflow and out-of-bounds itself), so
# UBSan instruments the C kernels, aborting on the first report, and clang links its runtime.
UBSAN_FLAGS := -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined -Xcc -fno-omit-frame-pointer \
               -Xswiftc -Xclang-linker -Xswiftc -fsanitize=undefined

test-sanitize: build
	$(BLAS_ENV); ASAN_OPTIONS=detect_leaks=1:check_initialization_order=1 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Sanitizers/lsan.supp:print_suppressions=0 \
	    $(SWIFT) test --sanitize=address --scratch-path .build-asan
	$(BLAS_ENV); UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $(SWIFT) test $(UBSAN_FLAGS) --scratch-path .build-ubsan
