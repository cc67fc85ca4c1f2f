"""Datasets and split protocols through the C API."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import aerec
from aerec._convert import csr_view


def test_load_tsv_ml100k(ml100k: aerec.Dataset) -> None:
    assert ml100k.n_users == 942 and ml100k.n_items == 1447 and ml100k.n_interactions == 55375
    assert ml100k.report.lines_read == 100000 and ml100k.report.below_threshold == 44625
    assert ml100k.has_timestamps
    assert len(ml100k.user_ids) == 942 and len(set(ml100k.item_ids)) == 1447
    m = ml100k.to_csr()
    assert m.shape == (942, 1447) and m.nnz == 55375 and m.dtype == np.float32
    assert set(np.unique(m.data)) <= {4.0, 5.0}


def test_filter(ml100k: aerec.Dataset) -> None:
    f = ml100k.filter(min_user_interactions=20, min_item_interactions=20, k_core=True, binarize=True)
    m = f.to_csr()
    assert (np.diff(m.indptr) >= 20).all() and (np.bincount(m.indices, minlength=m.shape[1]) >= 20).all()
    assert set(np.unique(m.data)) == {1.0}
    assert f.report.users_dropped > 0


def test_parse_errors_name_file_line_and_field(tmp_path: Path) -> None:
    p = tmp_path / "bad.tsv"
    p.write_text("user\titem\tvalue\n1\t2\t3\n1\t3\tnotanumber\n")
    with pytest.raises(aerec.AERecError) as e:
        aerec.datasets.read(p, "tsv")
    assert e.value.kind == "parse" and f"{p}:3" in str(e.value) and "value" in str(e.value)
    g = tmp_path / "ok.tsv.gz"
    with gzip.open(g, "wt") as f:
        f.write("user\titem\tvalue\nu1\ti1\t1\nu2\ti1\t1\n")
    d = aerec.datasets.read(g)
    assert d.user_ids == ["u1", "u2"] and d.item_ids == ["i1"]
    with pytest.raises(aerec.AERecError) as e:
        aerec.datasets.read(g, "no-such-format")
    assert "did you mean" in str(e.value) or "valid" in str(e.value)


def test_from_coo_and_csr(tiny: sp.csr_matrix) -> None:
    coo = tiny.tocoo()
    d = aerec.datasets.from_coo(coo.row, coo.col, coo.data, n_users=60, n_items=40,
                                user_ids=[f"u{i}" for i in range(60)])
    assert d.shape == (60, 40) and d.user_ids[3] == "u3" and d.item_ids[5] == "5"
    assert (d.to_csr() != tiny).nnz == 0
    d2 = aerec.datasets.from_csr(tiny, item_ids=[f"i{j}" for j in range(40)])
    assert (d2.to_csr() != tiny).nnz == 0 and d2.item_ids[-1] == "i39"
    with pytest.raises(aerec.AERecError, match="finite"):
        aerec.datasets.from_coo([0, 1], [1, 0], [1.0, float("nan")])
    with pytest.raises(aerec.AERecError, match="duplicate"):
        aerec.datasets.from_coo([0, 1], [1, 0], user_ids=["a", "a"])
    with pytest.raises(aerec.AERecError):
        aerec.datasets.from_coo([0, -1], [1, 0])
    with pytest.raises(ValueError):
        aerec.datasets.from_coo([0, 1], [1])


def test_canonical_csr_is_passed_without_copies(tiny: sp.csr_matrix) -> None:
    m = sp.csr_matrix((tiny.data.astype(np.float32), tiny.indices, tiny.indptr), shape=tiny.shape)
    assert m.indices.dtype == np.int32 and m.data.dtype == np.float32
    v = csr_view(m)
    # scipy keeps indptr and indices at one dtype (int32 here): data and indices are shared, the
    # O(users) indptr is widened to the library's int64
    assert np.shares_memory(v.indices, m.indices) and v.data is not None and np.shares_memory(v.data, m.data)
    assert v.indptr.dtype == np.int64 and (v.indptr == m.indptr).all()
    # other dtypes and layouts are converted once
    m32 = sp.csr_matrix(tiny.toarray().astype(np.float64))
    v = csr_view(m32)
    assert v.indptr.dtype == np.int64 and v.indices.dtype == np.int32 and v.data is not None
    assert v.data.dtype == np.float32
    dense = csr_view(tiny.toarray())
    assert (dense.indptr == tiny.indptr).all()
    # unsorted rows are made canonical
    u = tiny.copy()
    u.indices[:2] = u.indices[:2][::-1]
    u.has_sorted_indices = False
    assert (np.diff(csr_view(u).indices[:2]) > 0).all()


def test_strong_split(ml100k: aerec.Dataset, strong_split: aerec.Split) -> None:
    s = strong_split
    assert s.protocol == "strong" and s.seed == 98765
    assert len(s.validation) == 94 and len(s.test) == 94 and s.train.shape[0] == 942 - 188
    assert s.train.shape[1] == s.n_items == len(s.item_ids)
    assert (s.test.train_rows == -1).all()
    assert set(s.train_users).isdisjoint(s.test.users)
    # fold-in and target of a user are disjoint
    f, t = s.test.fold_in, s.test.target
    assert (f.multiply(t)).nnz == 0
    default = aerec.split.strong(ml100k)
    assert len(default.test) == 94  # 10 % of the users, as the CLI


def test_other_protocols(ml100k: aerec.Dataset, tmp_path: Path) -> None:
    r = aerec.split.ratio(ml100k, test_fraction=0.2, validation_fraction=0.1, seed=1)
    assert r.protocol == "ratio" and r.validation is not None and r.train.shape[0] == 942
    loo = aerec.split.leave_one_out(ml100k, validation=True)
    assert loo.test.target.getnnz(axis=1).max() == 1
    e = aerec.split.explicit(ml100k, test_fraction=0.1)
    assert e.protocol == "explicit" and e.validation is None
    # given: the test set is a dataset with the same external ids
    m = ml100k.to_csr().tocoo()
    sel = np.arange(0, m.nnz, 10)
    test = aerec.datasets.from_coo(m.row[sel], m.col[sel], m.data[sel], n_users=942, n_items=1447,
                                   user_ids=ml100k.user_ids, item_ids=ml100k.item_ids)
    g = aerec.split.given(ml100k, test)
    assert g.test.target.nnz == sel.size and g.validation is None
    # ... with a validation share carved from the training part; the test fold-in stays the history
    gv = aerec.split.given(ml100k, test, validation_fraction=0.1, seed=3)
    assert gv.validation is not None
    assert gv.train.nnz + gv.validation.target.nnz == g.train.nnz
    assert (gv.test.fold_in != g.test.fold_in).nnz == 0 and (gv.test.target != g.test.target).nnz == 0
    assert gv.validation.fold_in.multiply(gv.validation.target).nnz == 0
    # export and load give the same split
    r.export(tmp_path / "ratio")
    back = aerec.split.load(tmp_path / "ratio")
    assert (back.train != r.train).nnz == 0 and (back.test.target != r.test.target).nnz == 0
    assert back.item_ids == r.item_ids
    with pytest.raises(aerec.AERecError) as err:
        aerec.split.ratio(ml100k, test_fraction=3.0)
    assert err.value.kind == "invalid_argument"
    # same seed, same split
    r2 = aerec.split.ratio(ml100k, test_fraction=0.2, validation_fraction=0.1, seed=1)
    assert (r2.test.target != r.test.target).nnz == 0


def test_closed_handles_raise(ml100k: aerec.Dataset) -> None:
    d = aerec.datasets.from_coo([0, 1], [0, 1])
    d.close()
    with pytest.raises(aerec.AERecError):
        d.to_csr()
    d.close()  # twice is fine
