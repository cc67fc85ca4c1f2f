"""Datasets: interaction files, coordinate arrays and sparse matrices with their id maps.

>>> import aerec
>>> ds = aerec.datasets.load_tsv("../shared/data/ml-100k/ratings.tsv.gz", threshold=3.5)
>>> ds.n_users, ds.n_items
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp

from . import _lib
from ._convert import csr_view, int32_array, strings_array
from ._handle import Handle

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["Dataset", "DataReport", "load_tsv", "read", "from_coo", "from_csr"]


@dataclass(frozen=True)
class DataReport:
    """What reading and filtering did: every row accounted for."""

    lines_read: int
    duplicates_dropped: int
    below_threshold: int
    dropped_by_count_filter: int
    users_dropped: int
    items_dropped: int


def _filter(threshold: Optional[float], min_user_interactions: int, min_item_interactions: int, k_core: bool,
            binarize: bool) -> Optional[_lib.Filter]:
    if threshold is None and not min_user_interactions and not min_item_interactions and not k_core and not binarize:
        return None
    f = _lib.Filter()
    _lib.call("aerec_filter_init", ctypes.byref(f))
    if threshold is not None:
        f.has_threshold = 1
        f.threshold = float(threshold)
    f.min_user_interactions = int(min_user_interactions)
    f.min_item_interactions = int(min_item_interactions)
    f.k_core = int(bool(k_core))
    f.binarize = int(bool(binarize))
    return f


class Dataset(Handle):
    """Interactions (user, item, value[, timestamp]) with dense indices and the external ids.

    Immutable; safe to share between threads. Build one with :func:`load_tsv`, :func:`read`,
    :func:`from_coo` or :func:`from_csr`.
    """

    _free_name = "aerec_dataset_free"

    def __init__(self, handle: int) -> None:
        super().__init__(handle)
        info = _lib.DatasetInfo()
        _lib.call("aerec_dataset_info_get", handle, ctypes.byref(info))
        self.n_users: int = info.users
        self.n_items: int = info.items
        self.n_interactions: int = info.interactions
        self.has_timestamps: bool = bool(info.has_timestamps)
        self.report = DataReport(info.lines_read, info.duplicates_dropped, info.below_threshold,
                                 info.dropped_by_count_filter, info.users_dropped, info.items_dropped)
        self._user_ids: Optional[list[str]] = None
        self._item_ids: Optional[list[str]] = None

    @property
    def user_ids(self) -> list[str]:
        """External id of each user index."""
        if self._user_ids is None:
            self._user_ids = _lib.read_ids("aerec_dataset_ids", self.handle, 0)
        return self._user_ids

    @property
    def item_ids(self) -> list[str]:
        """External id of each item index."""
        if self._item_ids is None:
            self._item_ids = _lib.read_ids("aerec_dataset_ids", self.handle, 1)
        return self._item_ids

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_users, self.n_items)

    def to_csr(self) -> sp.csr_matrix:
        """The users × items matrix (float32; a repeated (user, item) pair keeps its last value)."""
        info = _lib.MatrixInfo()
        _lib.call("aerec_dataset_matrix_info", self.handle, ctypes.byref(info))
        indptr = np.empty(info.n_rows + 1, np.int64)
        indices = np.empty(max(info.nnz, 1), np.int32)
        data = np.empty(max(info.nnz, 1), np.float32)
        _lib.call("aerec_dataset_matrix_copy", self.handle, indptr.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)),
                  indices.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                  data.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return sp.csr_matrix((data[: info.nnz], indices[: info.nnz], indptr), shape=(info.n_rows, info.n_cols))

    def filter(self, threshold: Optional[float] = None, min_user_interactions: int = 0,
               min_item_interactions: int = 0, k_core: bool = False, binarize: bool = False) -> "Dataset":
        """A new dataset: values > threshold kept, then the item and user minimums (repeated with
        k_core), then binarize. Users and items left without interactions are dropped."""
        f = _filter(threshold, min_user_interactions, min_item_interactions, k_core, binarize)
        if f is None:  # nothing to do, but still a new dataset
            f = _lib.Filter()
            _lib.call("aerec_filter_init", ctypes.byref(f))
        return Dataset(_lib.new_handle("aerec_dataset_filter", self.handle, ctypes.byref(f)))

    def __repr__(self) -> str:
        return f"Dataset({self.n_users} users × {self.n_items} items, {self.n_interactions} interactions)"


def read(path: PathLike, format: str = "auto", *, threshold: Optional[float] = None, min_user_interactions: int = 0,
         min_item_interactions: int = 0, k_core: bool = False, binarize: bool = False) -> Dataset:
    """Reads an interaction file: the ../shared/data TSV format ("tsv"), MovieLens u.data
    ("movielens-udata"), ratings.dat ("movielens-dat"), ratings.csv ("movielens-csv"), or
    detected ("auto"); gzip or plain. Filters as in :meth:`Dataset.filter`.

    Raises AERecError (kind "io", "parse" with file:line: field, or "data")."""
    f = _filter(threshold, min_user_interactions, min_item_interactions, k_core, binarize)
    return Dataset(_lib.new_handle("aerec_dataset_read", os.fsencode(path), format.encode(),
                                   None if f is None else ctypes.byref(f)))


def load_tsv(path: PathLike, *, threshold: Optional[float] = None, min_user_interactions: int = 0,
             min_item_interactions: int = 0, k_core: bool = False, binarize: bool = False) -> Dataset:
    """Reads a file in the ../shared/data format: a header, then user<TAB>item<TAB>value[<TAB>timestamp]
    (gzip or plain). ``threshold=3.5`` keeps ratings > 3.5, as Liang et al. (vae_cf) do."""
    return read(path, "auto", threshold=threshold, min_user_interactions=min_user_interactions,
                min_item_interactions=min_item_interactions, k_core=k_core, binarize=binarize)


def from_coo(users: Any, items: Any, values: Any = None, timestamps: Any = None, *, n_users: Optional[int] = None,
             n_items: Optional[int] = None, user_ids: Optional[Sequence[Any]] = None,
             item_ids: Optional[Sequence[Any]] = None) -> Dataset:
    """A dataset from coordinate arrays of dense indices (values default to 1). n_users / n_items
    default to the largest index + 1; user_ids / item_ids default to "0", "1", ..."""
    u = int32_array(users, "users")
    i = int32_array(items, "items")
    assert u is not None and i is not None
    if u.size != i.size:
        raise ValueError(f"users has {u.size} entries, items {i.size}")
    v = None if values is None else np.ascontiguousarray(values, dtype=np.float32).ravel()
    t = None if timestamps is None else np.ascontiguousarray(timestamps, dtype=np.int64).ravel()
    for name, a in (("values", v), ("timestamps", t)):
        if a is not None and a.size != u.size:
            raise ValueError(f"{name} has {a.size} entries, users {u.size}")
    nu = -1 if n_users is None else int(n_users)
    ni = -1 if n_items is None else int(n_items)
    uids = strings_array(user_ids, nu if nu >= 0 else (int(u.max()) + 1 if u.size else 0), "user_ids")
    iids = strings_array(item_ids, ni if ni >= 0 else (int(i.max()) + 1 if i.size else 0), "item_ids")
    P = ctypes.POINTER
    return Dataset(_lib.new_handle(
        "aerec_dataset_from_coo", u.ctypes.data_as(P(ctypes.c_int32)), i.ctypes.data_as(P(ctypes.c_int32)),
        None if v is None else v.ctypes.data_as(P(ctypes.c_float)),
        None if t is None else t.ctypes.data_as(P(ctypes.c_int64)), u.size, nu, ni, uids, iids))


def from_csr(matrix: Any, *, user_ids: Optional[Sequence[Any]] = None,
             item_ids: Optional[Sequence[Any]] = None) -> Dataset:
    """A dataset from a users × items scipy.sparse matrix (or a dense array)."""
    view = csr_view(matrix)
    return Dataset(_lib.new_handle("aerec_dataset_from_csr", view.ref,
                                   strings_array(user_ids, view.shape[0], "user_ids"),
                                   strings_array(item_ids, view.shape[1], "item_ids")))
