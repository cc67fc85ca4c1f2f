"""Data sets for the performance suite (bench/perf.py): gowalla's given split and its variants.

Every variant is a deterministic function of its arguments (numpy Generator seeded), so AERec and
the numpy references see exactly the same matrix, in separate processes.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("AEREC_DATA", ROOT.parent / "shared" / "data"))
CACHE = ROOT / ".build" / "bench-cache"
GOWALLA = DATA / "gowalla-lightgcn"
BATCH = 500


def _read_pairs(path: Path) -> np.ndarray:
    with gzip.open(path, "rt") as f:
        f.readline()
        return np.loadtxt(f, dtype=np.int64, usecols=(0, 1), ndmin=2)


def gowalla_train() -> sp.csr_matrix:
    """Gowalla's `given` split train part (ratings minus test.tsv.gz): 29,858 x 40,981, binary,
    the ids of the files used as row / column indices (they are 0-based and dense)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / "gowalla_train.npz"
    if cached.exists():
        return sp.load_npz(cached).tocsr()
    r = _read_pairs(GOWALLA / "ratings.tsv.gz")
    t = _read_pairs(GOWALLA / "test.tsv.gz")
    shape = (int(r[:, 0].max()) + 1, int(r[:, 1].max()) + 1)
    A = sp.csr_matrix((np.ones(len(r), np.float32), (r[:, 0], r[:, 1])), shape=shape)
    T = sp.csr_matrix((np.ones(len(t), np.float32), (t[:, 0], t[:, 1])), shape=shape)
    X = (A - T).tocsr()
    X.eliminate_zeros()
    X = binary(X)
    sp.save_npz(cached, X)
    return X


def binary(X: sp.spmatrix) -> sp.csr_matrix:
    X = sp.csr_matrix(X, dtype=np.float32)
    X.sum_duplicates()
    X.data[:] = 1
    X.sort_indices()
    return X


def users_subsample(X: sp.csr_matrix, n_users: int, seed: int = 0) -> sp.csr_matrix:
    """n_users distinct users (rows) drawn at random, in their original order; all items kept."""
    if n_users >= X.shape[0]:
        return X
    rng = np.random.default_rng(seed)
    return binary(X[np.sort(rng.choice(X.shape[0], n_users, replace=False))])


def users_resample(X: sp.csr_matrix, factor: float, seed: int = 1) -> sp.csr_matrix:
    """factor x as many users, drawn with replacement from X's users (factor 1 returns X)."""
    if factor == 1:
        return X
    rng = np.random.default_rng(seed)
    return binary(X[rng.integers(0, X.shape[0], int(round(factor * X.shape[0])))])


def items_resample(X: sp.csr_matrix, factor: int, seed: int = 2) -> sp.csr_matrix:
    """factor x as many items with the same interactions: interaction (u, i) moves to item
    i + I * c with c uniform in 0 .. factor-1 (users keep their history lengths, items their
    popularity split evenly between copies)."""
    if factor == 1:
        return X
    rng = np.random.default_rng(seed)
    C = X.tocoo()
    cols = C.col.astype(np.int64) + X.shape[1] * rng.integers(0, factor, C.nnz)
    return binary(sp.csr_matrix((C.data, (C.row, cols)), shape=(X.shape[0], X.shape[1] * factor)))


def items_subsample(X: sp.csr_matrix, n_items: int, seed: int = 3) -> sp.csr_matrix:
    """n_items items drawn at random (columns re-indexed in their original order); users left
    without an interaction are dropped."""
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(X.shape[1], n_items, replace=False))
    Y = binary(X[:, keep])
    return binary(Y[np.diff(Y.indptr) > 0])


def ml_latest_small() -> sp.csr_matrix:
    """ml-latest-small, every rating as a binary interaction: 610 users x 9,724 items."""
    with gzip.open(DATA / "ml-latest-small" / "ratings.tsv.gz", "rt") as f:
        f.readline()
        r = np.loadtxt(f, dtype=np.int64, usecols=(0, 1), ndmin=2)
    _, u = np.unique(r[:, 0], return_inverse=True)
    _, i = np.unique(r[:, 1], return_inverse=True)
    return binary(sp.csr_matrix((np.ones(len(r), np.float32), (u, i)), shape=(u.max() + 1, i.max() + 1)))


def variant(name: str, users: int = 0, users_factor: float = 1, items_factor: int = 1) -> sp.csr_matrix:
    """A named matrix: 'gowalla' (optionally resampled / subsampled), 'ml-latest-small',
    'gowalla-items:N' (an N-item subsample)."""
    if name == "ml-latest-small":
        return ml_latest_small()
    if name.startswith("gowalla-items:"):
        return items_subsample(gowalla_train(), int(name.split(":")[1]))
    if name != "gowalla":
        raise ValueError(name)
    X = gowalla_train()
    X = items_resample(X, items_factor)
    X = users_resample(X, users_factor)
    if users:
        X = users_subsample(X, users)
    return X


def batches_per_epoch(n_users: int, batch: int = BATCH) -> int:
    return -(-n_users // batch)
