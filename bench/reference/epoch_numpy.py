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

from reference import ACT, Adam, log_softmax, xavier  # noqa: E402  (same directory)


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


class Network:
    """reference.py's Mult-DAE / Mult-VAE with its training step (dense batches, dense Adam)."""

    def __init__(self, kind: str, n_items: int, seed: int = 1, lr: float = 1e-3, act: str = "tanh",
                 anneal_steps: int = 200000, anneal_cap: float = 0.2, lam: float | None = None, keep: float = 0.5):
        self.kind, self.keep, self.anneal_steps, self.anneal_cap = kind, keep, anneal_steps, anneal_cap
        self.rng = rng = np.random.default_rng(seed)
        self.f, self.df = ACT[act]
        if kind == "mult-dae":
            self.lam = 0.01 if lam is None else lam
            self.W = [xavier(rng, n_items, 200), xavier(rng, 200, n_items)]
            self.b = [rng.normal(0, 0.001, 200).astype(np.float32), rng.normal(0, 0.001, n_items).astype(np.float32)]
        else:
            self.lam = 0.0 if lam is None else lam
            self.W = [xavier(rng, n_items, 600), xavier(rng, 600, 400), xavier(rng, 200, 600),
                      xavier(rng, 600, n_items)]
            self.b = [rng.normal(0, 0.001, d).astype(np.float32) for d in (600, 400, 600, n_items)]
        self.opt = Adam(self.W + self.b, lr=lr)
        self.updates = 0

    def encode_input(self, X):
        X = X.toarray().astype(np.float32)
        Xn = X / np.maximum(np.sqrt((X * X).sum(axis=1, keepdims=True)), 1e-12)
        Xn = Xn * (self.rng.random(Xn.shape) < self.keep) / self.keep
        return X, Xn.astype(np.float32)

    def step(self, Xs: sp.csr_matrix) -> None:
        W, b, f, df, rng = self.W, self.b, self.f, self.df, self.rng
        X, Xn = self.encode_input(Xs)
        B = X.shape[0]
        lam = self.lam
        if self.kind == "mult-dae":
            z1 = Xn @ W[0] + b[0]
            a1 = f(z1)
            logits = a1 @ W[1] + b[1]
            dlog = (np.exp(log_softmax(logits)) * X.sum(axis=1, keepdims=True) - X) / B
            dW1 = a1.T @ dlog + 2 * lam * W[1]
            da1 = dlog @ W[1].T
            dz1 = da1 * df(z1, a1)
            dW0 = Xn.T @ dz1 + 2 * lam * W[0]
            self.opt.step([dW0, dW1, dz1.sum(0), dlog.sum(0)])
        else:
            beta = min(self.anneal_cap, self.updates / self.anneal_steps) if self.anneal_steps > 0 else self.anneal_cap
            z1 = Xn @ W[0] + b[0]
            a1 = f(z1)
            q = a1 @ W[1] + b[1]
            mu, logvar = q[:, :200], q[:, 200:]
            std = np.exp(0.5 * logvar)
            eps = rng.standard_normal(mu.shape).astype(np.float32)
            z = mu + std * eps
            z2 = z @ W[2] + b[2]
            a2 = np.tanh(z2)
            logits = a2 @ W[3] + b[3]
            dlog = (np.exp(log_softmax(logits)) * X.sum(axis=1, keepdims=True) - X) / B
            dW3 = a2.T @ dlog
            dz2 = (dlog @ W[3].T) * (1 - a2 * a2)
            dW2 = z.T @ dz2
            dz = dz2 @ W[2].T
            dmu = dz + beta * mu / B
            dlv = dz * eps * 0.5 * std + beta * 0.5 * (np.exp(logvar) - 1) / B
            dq = np.concatenate([dmu, dlv], axis=1)
            dW1 = a1.T @ dq
            dz1 = (dq @ W[1].T) * df(z1, a1)
            dW0 = Xn.T @ dz1
            grads = [dW0, dW1, dW2, dW3]
            if lam:
                grads = [g + 2 * lam * w for g, w in zip(grads, W)]
            self.opt.step(grads + [dz1.sum(0), dq.sum(0), dz2.sum(0), dlog.sum(0)])
        self.updates += 1

    def epoch(self, train: sp.csr_matrix, batch: int = 500) -> float:
        """One shuffled pass over the training users (reference.py's loop); returns its seconds."""
        t0 = time.perf_counter()
        perm = self.rng.permutation(train.shape[0])
        for lo in range(0, len(perm), batch):
            self.step(train[np.sort(perm[lo:lo + batch])])
        return time.perf_counter() - t0
