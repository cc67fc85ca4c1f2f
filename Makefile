# AERec — build, test, demo, bench.
#
#   make demo    the main job on the built-in dataset
#   make test    every test (Swift kernels + library, C ABI, Python, CLI end-to-end)
#   make bench   kernel benchmark -> bench/results/kernels.json
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

.PHONY: all build lib demo test test-swift bench doctor clean

all: build

build:
	$(SWIFT) build $(RELEASE_FLAGS)
	ln -sf libAERecCABI.so $(RELEASE_DIR)/libaerec.so

lib: build

doctor: build
	$(AEREC) doctor

demo: build
	$(AEREC) doctor
	$(BLAS_ENV); $(PYTHON) bench/kernels.py --quick

test: build test-swift

test-swift:
	$(BLAS_ENV); $(SWIFT) test --parallel

bench: build
	$(BLAS_ENV); $(PYTHON) bench/kernels.py

clean:
	rm -rf .build
