"""Evaluation protocols: split a dataset into training users and held-out users.

>>> tr = aerec.split.strong(ds, held_out_users=94)      # vae_cf's strong generalisation
>>> tr.train, tr.validation.fold_in, tr.test.target      # scipy.sparse CSR matrices

Every protocol is deterministic given the seed and identical to ``aerec split`` / ``aerec train``.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import scipy.sparse as sp

from . import _lib
from ._handle import Handle
from .datasets import Dataset, PathLike

__all__ = ["Split", "HeldOut", "strong", "ratio", "leave_one_out", "loo", "explicit", "given", "load", "PROTOCOLS"]

PROTOCOLS = ("strong", "ratio", "loo", "explicit", "given")
_TRAIN, _VAL_IN, _VAL_TARGET, _TEST_IN, _TEST_TARGET = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class HeldOut:
    """Held-out users: what the model sees of them (fold_in) and what it must rank (target).

    Rows are aligned; ``users`` holds each row's dataset user index, ``train_rows`` each user's
    training row (-1 when none, e.g. strong generalisation)."""

    fold_in: sp.csr_matrix
    target: sp.csr_matrix
    users: np.ndarray
    train_rows: np.ndarray

    def __len__(self) -> int:
        return self.fold_in.shape[0]


class Split(Handle):
    """A dataset split under one protocol (immutable). Parts are copied out as scipy CSR matrices
    on first access."""

    _free_name = "aerec_split_free"

    def __init__(self, handle: int) -> None:
        super().__init__(handle)
        info = _lib.SplitInfo()
        _lib.call("aerec_split_info_get", handle, ctypes.byref(info))
        self.protocol: str = PROTOCOLS[info.protocol]
        self.seed: int = info.seed
        self.n_users: int = info.users
        self.n_items: int = info.items
        self.has_validation: bool = bool(info.has_validation)
        self._parts: dict[int, tuple[sp.csr_matrix, np.ndarray, np.ndarray]] = {}
        self._ids: dict[int, list[str]] = {}

    def _part(self, part: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        if part not in self._parts:
            info = _lib.MatrixInfo()
            _lib.call("aerec_split_part_info", self.handle, part, ctypes.byref(info))
            indptr = np.empty(info.n_rows + 1, np.int64)
            indices = np.empty(max(info.nnz, 1), np.int32)
            data = np.empty(max(info.nnz, 1), np.float32)
            users = np.empty(max(info.n_rows, 1), np.int32)
            rows = np.empty(max(info.n_rows, 1), np.int32)
            P = ctypes.POINTER
            _lib.call("aerec_split_part_copy", self.handle, part, indptr.ctypes.data_as(P(ctypes.c_int64)),
                      indices.ctypes.data_as(P(ctypes.c_int32)), data.ctypes.data_as(P(ctypes.c_float)),
                      users.ctypes.data_as(P(ctypes.c_int32)), rows.ctypes.data_as(P(ctypes.c_int32)))
            m = sp.csr_matrix((data[: info.nnz], indices[: info.nnz], indptr), shape=(info.n_rows, info.n_cols))
            self._parts[part] = (m, users[: info.n_rows], rows[: info.n_rows])
        return self._parts[part]

    @property
    def train(self) -> sp.csr_matrix:
        """Training interactions: one row per training user, columns = the split's item space."""
        return self._part(_TRAIN)[0]

    @property
    def train_users(self) -> np.ndarray:
        """Dataset user index of each training row."""
        return self._part(_TRAIN)[1]

    def _held_out(self, fold_in: int, target: int) -> HeldOut:
        f, users, rows = self._part(fold_in)
        t = self._part(target)[0]
        return HeldOut(f, t, users, rows)

    @property
    def validation(self) -> Optional[HeldOut]:
        """The validation users, or None when the protocol made none."""
        return self._held_out(_VAL_IN, _VAL_TARGET) if self.has_validation else None

    @property
    def test(self) -> HeldOut:
        return self._held_out(_TEST_IN, _TEST_TARGET)

    @property
    def user_ids(self) -> list[str]:
        """External id of every dataset user (by dataset user index)."""
        if 0 not in self._ids:
            self._ids[0] = _lib.read_ids("aerec_split_ids", self.handle, 0)
        return self._ids[0]

    @property
    def item_ids(self) -> list[str]:
        """External id of each column of the split's item space."""
        if 1 not in self._ids:
            self._ids[1] = _lib.read_ids("aerec_split_ids", self.handle, 1)
        return self._ids[1]

    def export(self, directory: PathLike) -> None:
        """Writes the split as TSV files (train.tsv, test_fold_in.tsv, items.tsv, ...), as `aerec split`."""
        _lib.call("aerec_split_export", self.handle, os.fsencode(directory))

    def __repr__(self) -> str:
        v = len(self.validation) if self.validation is not None else 0
        return (f"Split({self.protocol}, seed {self.seed}: {self.train.shape[0]} train users × {self.n_items} items, "
                f"{v} validation, {len(self.test)} test users)")


def _config(protocol: int, seed: int) -> _lib.SplitConfig:
    c = _lib.SplitConfig()
    _lib.call("aerec_split_config_init", ctypes.byref(c), protocol)
    c.seed = _lib.uint64(seed, "seed")
    return c


def _make(dataset: Dataset, c: _lib.SplitConfig) -> Split:
    return Split(_lib.new_handle("aerec_split_create", dataset.handle, ctypes.byref(c)))


def strong(dataset: Dataset, held_out_users: Optional[int] = None, target_fraction: float = 0.2,
           min_items_for_split: int = 5, seed: int = 98765) -> Split:
    """Strong generalisation exactly as Liang et al. 2018 (vae_cf): ``held_out_users`` users for
    validation and as many for test (default 10 % of the users each, as the CLI), unseen in
    training; each held-out user's items split into fold-in and a ``target_fraction`` target."""
    c = _config(0, seed)
    c.held_out_users = -1 if held_out_users is None else int(held_out_users)
    c.target_fraction = float(target_fraction)
    c.min_items_for_split = int(min_items_for_split)
    return _make(dataset, c)


def ratio(dataset: Dataset, test_fraction: float = 0.2, validation_fraction: float = 0.0,
          seed: int = 98765) -> Split:
    """Weak generalisation: a random ``test_fraction`` of every user's items held out for test
    (and ``validation_fraction`` for validation); every user trains."""
    c = _config(1, seed)
    c.test_fraction = float(test_fraction)
    c.validation_fraction = float(validation_fraction)
    return _make(dataset, c)


def leave_one_out(dataset: Dataset, validation: bool = False, seed: int = 98765) -> Split:
    """Each user's last interaction (by timestamp) is the test target; with ``validation`` the
    second-to-last is the validation target. Needs timestamps."""
    c = _config(2, seed)
    c.loo_validation = int(bool(validation))
    return _make(dataset, c)


loo = leave_one_out


def explicit(dataset: Dataset, test_fraction: float = 0.1, validation_fraction: float = 0.0,
             seed: int = 98765) -> Split:
    """A random split of the rating triples, for rating prediction (AutoRec, RMSE)."""
    c = _config(3, seed)
    c.test_fraction = float(test_fraction)
    c.validation_fraction = float(validation_fraction)
    return _make(dataset, c)


def given(dataset: Dataset, test: Union[Dataset, PathLike], format: str = "auto", seed: int = 98765,
          validation_fraction: float = 0.0) -> Split:
    """A supplied test set (a Dataset or a file): train = the data minus the test pairs. Test users
    and items are matched to the dataset by external id; unknown ones are an error.

    ``validation_fraction`` > 0 carves a validation set out of each user's training interactions
    (seeded); the test users keep their whole history (training + validation) as input."""
    c = _config(4, seed)
    c.validation_fraction = float(validation_fraction)
    keep = None
    if isinstance(test, Dataset):
        c.given_test = test.handle
        keep = test
    else:
        path = os.fsencode(test)
        fmt = format.encode()
        c.given_test_path = path
        c.given_test_format = fmt
    s = _make(dataset, c)
    del keep
    return s


def load(directory: PathLike) -> Split:
    """Reads a split written by :meth:`Split.export` or ``aerec split``."""
    return Split(_lib.new_handle("aerec_split_load", os.fsencode(directory)))
