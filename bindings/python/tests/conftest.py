"""Shared fixtures: the ml-100k data of ../shared/data, small splits, the CLI binary."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

REPO = Path(__file__).resolve().parents[3]
DATA_DIR = Path(os.environ.get("AEREC_DATA_DIR", REPO.parent / "shared" / "data"))
ML100K = DATA_DIR / "ml-100k" / "ratings.tsv.gz"

import aerec  # noqa: E402  (after the paths, so a failure to load says where it looked)


def cli_path() -> Path | None:
    """The aerec CLI: $AEREC_CLI, or the repository's .build/release/aerec."""
    p = os.environ.get("AEREC_CLI")
    if p:
        return Path(p)
    candidate = REPO / ".build" / "release" / "aerec"
    if candidate.is_file():
        return candidate
    found = shutil.which("aerec")
    return Path(found) if found else None


@pytest.fixture(scope="session")
def ml100k() -> aerec.Dataset:
    if not ML100K.is_file():
        pytest.skip(f"{ML100K} not present")
    return aerec.datasets.load_tsv(ML100K, threshold=3.5)


@pytest.fixture(scope="session")
def strong_split(ml100k: aerec.Dataset) -> aerec.Split:
    return aerec.split.strong(ml100k, held_out_users=94)


@pytest.fixture(scope="session")
def dae(strong_split: aerec.Split) -> aerec.MultDAE:
    """A Mult-DAE trained 3 epochs (sigmoid) on the strong split."""
    return aerec.MultDAE("sigmoid", epochs=3).fit(strong_split, progress=False)


@pytest.fixture()
def tiny() -> sp.csr_matrix:
    """A random 60 users × 40 items implicit matrix, every user with 4-12 items."""
    rng = np.random.default_rng(7)
    rows = []
    for _ in range(60):
        rows.append(np.sort(rng.choice(40, size=rng.integers(4, 13), replace=False)))
    indptr = np.zeros(61, np.int64)
    np.cumsum([len(r) for r in rows], out=indptr[1:])
    return sp.csr_matrix((np.ones(indptr[-1], np.float32), np.concatenate(rows).astype(np.int32), indptr),
                         shape=(60, 40))
