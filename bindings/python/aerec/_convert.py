"""Turning numpy arrays and scipy.sparse matrices into the library's aerec_csr views.

The library takes int64 indptr, int32 indices and float32 data (and copies what it keeps). Arrays
already in that dtype are passed as they are: for a canonical (sorted, duplicate-free) scipy CSR
matrix with float32 data, ``data`` and ``indices`` are shared, not copied. scipy keeps ``indptr``
and ``indices`` at one dtype, so its int32 ``indptr`` is widened (O(rows), not O(nnz)); a matrix
scipy stores with int64 indices has them narrowed once. Anything else (dense arrays, COO/CSC,
float64 data, unsorted rows) is converted once.
"""

from __future__ import annotations

import ctypes
from typing import Any, Iterable, Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp

from ._lib import CSR

MatrixLike = Union[sp.spmatrix, "sp.sparray", np.ndarray]


def _ptr(a: np.ndarray, ctype: Any) -> Any:
    return a.ctypes.data_as(ctypes.POINTER(ctype))


class CSRView:
    """An aerec_csr over arrays that this object keeps alive."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: Optional[np.ndarray], shape: tuple[int, int]):
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(indices, dtype=np.int32)
        self.data = None if data is None else np.ascontiguousarray(data, dtype=np.float32)
        self.shape = (int(shape[0]), int(shape[1]))
        self.struct = CSR(self.shape[0], self.shape[1], _ptr(self.indptr, ctypes.c_int64),
                          _ptr(self.indices, ctypes.c_int32),
                          None if self.data is None else _ptr(self.data, ctypes.c_float))

    @property
    def ref(self) -> Any:
        return ctypes.byref(self.struct)

    @property
    def n_rows(self) -> int:
        return self.shape[0]

    def shares_memory_with(self, m: sp.csr_matrix) -> bool:
        """True when no array was copied (for tests)."""
        return (np.shares_memory(self.indptr, m.indptr) and np.shares_memory(self.indices, m.indices)
                and (self.data is None or np.shares_memory(self.data, m.data)))


def to_csr_matrix(x: Any, n_cols: Optional[int] = None) -> sp.csr_matrix:
    """A canonical scipy CSR matrix (no copy when x already is one with the right dtypes)."""
    if isinstance(x, CSRView):
        return sp.csr_matrix((x.data if x.data is not None else np.ones(len(x.indices), np.float32), x.indices,
                              x.indptr), shape=x.shape)
    if sp.issparse(x):
        if x.dtype.kind not in "biuf":
            raise TypeError(f"expected a real-valued matrix, got dtype {x.dtype}")
        m = x if x.format == "csr" else x.tocsr()
    else:
        a = np.asarray(x)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"expected a real-valued array, got dtype {a.dtype}")
        if a.ndim == 1:
            a = a[None, :]
        if a.ndim != 2:
            raise ValueError(f"expected a 2-D array or sparse matrix, got shape {a.shape}")
        m = sp.csr_matrix(a.astype(np.float32, copy=False))
    if not m.has_canonical_format:
        m = m.copy()
        m.sum_duplicates()
    if n_cols is not None and m.shape[1] != n_cols:
        raise ValueError(f"the matrix has {m.shape[1]} columns, {n_cols} expected")
    return m


def csr_view(x: Any, n_cols: Optional[int] = None, implicit: bool = False) -> CSRView:
    """An aerec_csr view of a matrix-like (rows = users). implicit: pass no values (all ones)."""
    if isinstance(x, CSRView):
        return x
    m = to_csr_matrix(x, n_cols)
    data = None if implicit else m.data
    if data is not None and data.dtype != np.float32:
        data = data.astype(np.float32)
    return CSRView(m.indptr, m.indices, data, m.shape)


def ragged_view(rows: Any, n_cols: int, *, name: str) -> CSRView:
    """A CSR view of ragged integer rows, order kept (rankings), from a list of sequences, a 2-D
    array padded with -1 (as recommend returns), or a sparse matrix (its stored columns)."""
    if sp.issparse(rows):
        m = to_csr_matrix(rows)
        return CSRView(m.indptr, m.indices, None, (m.shape[0], max(n_cols, m.shape[1])))
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        keep = rows >= 0
        counts = keep.sum(axis=1)
        indptr = np.zeros(rows.shape[0] + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        return CSRView(indptr, rows[keep].astype(np.int32), None, (rows.shape[0], n_cols))
    seqs = [np.asarray(r, dtype=np.int64).ravel() for r in rows]
    indptr = np.zeros(len(seqs) + 1, np.int64)
    np.cumsum([len(s) for s in seqs], out=indptr[1:])
    flat = np.concatenate(seqs) if seqs else np.zeros(0, np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= 2**31):
        raise ValueError(f"{name}: item indices must be in 0 .. 2^31-1")
    return CSRView(indptr, flat.astype(np.int32), None, (len(seqs), n_cols))


def max_column(rows: Any) -> int:
    """1 + the largest item index in ragged rows / a padded array / a sparse matrix (0 when empty)."""
    if sp.issparse(rows):
        return int(rows.shape[1])
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        return int(rows.max()) + 1 if rows.size else 0
    best = -1
    for r in rows:
        a = np.asarray(r)
        if a.size:
            best = max(best, int(a.max()))
    return best + 1


def int32_array(x: Optional[Iterable[int]], name: str, length: Optional[int] = None) -> Optional[np.ndarray]:
    """A 1-D int32 array of indices: integer dtypes, or floats with integral values; anything else
    (fractions, NaN, strings, objects, complex, booleans, more dimensions) is refused, not cast."""
    if x is None:
        return None
    raw = np.asarray(x)
    if raw.ndim > 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {raw.shape}")
    if raw.size == 0:
        raw = raw.astype(np.int64)
    elif raw.dtype.kind == "f":
        if not np.all(np.isfinite(raw)) or np.any(raw != np.floor(raw)):
            raise ValueError(f"{name} must hold integers, got non-integral values")
        if raw.min() < -(2**31) or raw.max() >= 2**31:
            raise ValueError(f"{name} does not fit 32-bit integers")
    elif raw.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, got dtype {raw.dtype}")
    elif raw.min() < -(2**31) or raw.max() >= 2**31:
        raise ValueError(f"{name} does not fit 32-bit integers")
    a = np.ascontiguousarray(raw.astype(np.int64).ravel())
    a = a.astype(np.int32)
    if length is not None and a.size != length:
        raise ValueError(f"{name} has {a.size} entries, {length} expected")
    return a


def int32_ptr(a: Optional[np.ndarray]) -> Any:
    return None if a is None else _ptr(a, ctypes.c_int32)


def strings_array(ids: Optional[Sequence[Any]], length: int, name: str) -> Any:
    """A NULL or a char*[] of `length` UTF-8 strings (kept alive by the returned object)."""
    if ids is None:
        return None
    ids = [str(s) for s in ids]
    if len(ids) != length:
        raise ValueError(f"{name} has {len(ids)} ids, {length} expected")
    arr = (ctypes.c_char_p * length)(*[s.encode("utf-8") for s in ids])
    return arr
