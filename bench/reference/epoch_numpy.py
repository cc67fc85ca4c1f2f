#!/usr/bin/env python3
"""Epoch time of the numpy references of Mult-DAE and Mult-VAE (the performance suite's baseline).

The training step is reference.py's `train_network` step, unchanged: each batch is densified
(X[batch].toarray(), as the Python peers do), L2-normalised, dropped out with a dense mask, pushed
through float32 numpy matrix products, and every parameter gets a dense numpy Adam step. Only the
epoch loop is factored out so that a given number of epochs over a given matrix can be timed.

numpy's BLAS threads come from OPENBLAS_NUM_THREADS, set by the caller before this module loads
(bench/perf.py sets it to AERec's thread count); `blas_info()` reports what numpy's OpenBLAS uses.
"""
from __future__ import annotations

import ctypes
import glob
import os
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

import reference  # noqa: E402  (same directory)


def blas_info() -> dict:
    """numpy's bundled OpenBLAS: core and thread count (through its prefixed C symbols)."""
    out: dict = {"numpy": np.__version__}
    libs = glob.glob(str(Path(np.__file__).parent.parent / "numpy.libs" / "libscipy_openblas*.so"))
    if libs:
        lib = ctypes.CDLL(libs[0])
        for sym in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads"):
            if hasattr(lib, sym):
                out["threads"] = int(getattr(lib, sym)())
                break
        for sym in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename"):
            if hasattr(lib, sym):
                f = getattr(lib, sym)
                f.restype = ctypes.c_char_p
                out["core"] = f().decode()
                break
    out["OPENBLAS_NUM_THREADS"] = os.environ.get("OPENBLAS_NUM_THREADS")
    return out


class Network(reference.Network):
    """reference.py's network with a timed epoch."""

    def epoch(self, train: sp.csr_matrix, batch: int = 500) -> float:
        """One shuffled pass over the training users (reference.py's loop); returns its seconds."""
        t0 = time.perf_counter()
        perm = self.rng.permutation(train.shape[0])
        for lo in range(0, len(perm), batch):
            self.step(train[np.sort(perm[lo:lo + batch])])
        return time.perf_counter() - t0
