"""Models through ctypes: fit, recommend, scores, encode, evaluate, save / load, every kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import aerec

from .conftest import ML100K


def test_fitted_dae(dae: aerec.MultDAE, strong_split: aerec.Split) -> None:
    assert dae.is_fitted and dae.n_items == strong_split.n_items and dae.latent_dim == 200
    assert dae.latent_activation == "sigmoid" and dae.kind_name == "mult-dae"
    assert len(dae.history_) == 3 and dae.fit_summary_ is not None and dae.fit_summary_.epochs_run == 3
    assert [r.epoch for r in dae.history] == [1, 2, 3]
    assert all(r.validation is not None for r in dae.history_)
    assert dae.item_ids == strong_split.item_ids
    assert "sigmoid" in repr(dae)


def test_recommend_excludes_history(dae: aerec.MultDAE, strong_split: aerec.Split) -> None:
    hist = strong_split.test.fold_in
    items, scores = dae.recommend(hist, k=20)
    assert items.shape == (94, 20) and items.dtype == np.int32 and scores.dtype == np.float32
    for u in range(94):
        assert not set(items[u]) & set(hist[u].indices)
        assert (np.diff(scores[u]) <= 0).all()
    # scores agree with the full score matrix
    full = dae.scores(hist)
    assert full.shape == (94, dae.n_items)
    np.testing.assert_array_equal(np.take_along_axis(full, items.astype(np.int64), 1), scores)
    # without exclusion, extra exclusions, k beyond the catalogue
    items_all, _ = dae.recommend(hist, k=5, exclude_seen=False)
    assert items_all.shape == (94, 5)
    top = items[:, :1]
    items2, _ = dae.recommend(hist, k=19, exclude=[list(t) for t in top])
    np.testing.assert_array_equal(items2, items[:, 1:])
    items3, scores3 = dae.recommend(hist[:1], k=dae.n_items + 3)
    n_cand = dae.n_items - hist[0].nnz
    assert (items3[0, :n_cand] >= 0).all() and (items3[0, n_cand:] == -1).all()
    assert np.isneginf(scores3[0, n_cand:]).all()


def test_recommend_by_training_row(dae: aerec.MultDAE, strong_split: aerec.Split) -> None:
    a = dae.recommend([0, 5, 7], k=10)
    b = dae.recommend(strong_split.train[[0, 5, 7]], k=10)
    np.testing.assert_array_equal(a.items, b.items)
    a1 = dae.recommend(5, k=10)
    np.testing.assert_array_equal(a1.items[0], a.items[1])
    with pytest.raises(aerec.AERecError):
        dae.recommend([10**6], k=3)


def test_recommend_argument_errors(dae: aerec.MultDAE, strong_split: aerec.Split) -> None:
    with pytest.raises(ValueError):
        dae.recommend(sp.csr_matrix((2, 5), dtype=np.float32), k=3)
    with pytest.raises(ValueError):
        dae.recommend(strong_split.test.fold_in, k=0)
    with pytest.raises(aerec.AERecError) as e:
        dae.recommend(strong_split.test.fold_in, k=3, exclude=sp.csr_matrix((1, dae.n_items), dtype=np.float32))
    assert e.value.kind == "invalid_argument"
    with pytest.raises(aerec.AERecError):
        dae.recommend(strong_split.test.fold_in, k=3, threads=1000)


def test_encode(dae: aerec.MultDAE, strong_split: aerec.Split) -> None:
    z = dae.encode(strong_split.test.fold_in)
    assert z.shape == (94, 200) and z.dtype == np.float32
    assert ((z > 0) & (z < 1)).all()  # sigmoid codes
    np.testing.assert_array_equal(z, dae.encode(strong_split.test.fold_in.toarray()))


def test_evaluate_forms_agree(dae: aerec.MultDAE, strong_split: aerec.Split) -> None:
    r = dae.evaluate(strong_split)
    assert list(r)[:3] == ["ndcg@100", "ndcg@20", "recall@20"] and len(r) == 10
    v = r["ndcg@100"]
    assert 0 < v.value < 1 and v.ci is not None and v.ci[0] < v.value < v.ci[1] and v.n == 94
    assert abs(v.per_user.mean() - v.value) < 1e-12
    assert r["coverage@100"].ci is None
    r2 = dae.evaluate(strong_split.test, ["ndcg@100", "mrr"])
    r3 = dae.evaluate((strong_split.test.fold_in, strong_split.test.target), "ndcg@100,mrr")
    assert r2["ndcg@100"].value == r3["ndcg@100"].value == v.value
    assert r2["mrr"].value == r["mrr"].value
    rv = dae.evaluate(strong_split, ["ndcg@100"], on="validation")
    assert rv["ndcg@100"].value == pytest.approx(dae.fit_summary_.best_validation, abs=0)  # type: ignore[union-attr]
    with pytest.raises(aerec.AERecError, match="unknown metric"):
        dae.evaluate(strong_split, ["bogus@3"])


def test_save_and_load(dae: aerec.MultDAE, strong_split: aerec.Split, tmp_path: Path) -> None:
    path = tmp_path / "dae.aerec"
    dae.save(path)
    m = aerec.load(path)
    assert isinstance(m, aerec.MultDAE) and m.is_fitted and m.latent_activation == "sigmoid"
    a, b = dae.recommend(strong_split.test.fold_in, k=50), m.recommend(strong_split.test.fold_in, k=50)
    np.testing.assert_array_equal(a.items, b.items)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert m.item_ids == strong_split.item_ids
    assert m.evaluate(strong_split).to_dict() == dae.evaluate(strong_split).to_dict()
    with pytest.raises(aerec.AERecError) as e:
        m.fit(strong_split)
    assert e.value.kind == "state"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(aerec.AERecError) as e:
        aerec.load(path)
    assert e.value.kind == "model_file"
    with pytest.raises(aerec.AERecError) as e:
        aerec.MultDAE().save(tmp_path / "unfitted.aerec")
    assert e.value.kind == "state"


@pytest.mark.parametrize("make", [
    lambda: aerec.MultVAE("relu", epochs=2, hidden_dim=64, latent_dim=16),
    lambda: aerec.CDAE("sigmoid", epochs=2, hidden_dim=32),
    lambda: aerec.EASE(lambda_=50.0),
    lambda: aerec.Popularity(),
], ids=["mult-vae", "cdae", "ease", "pop"])
def test_every_ranking_model(make, strong_split: aerec.Split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    m = make()
    m.fit(strong_split, progress=False)
    r = m.evaluate(strong_split, ["ndcg@100", "recall@20"])
    assert 0 < r["ndcg@100"].value < 1
    items, _ = m.recommend(strong_split.test.fold_in, k=10)
    assert (items >= 0).all()
    m.save(tmp_path / "m.aerec")
    back = aerec.load(tmp_path / "m.aerec")
    assert type(back) is type(m)
    np.testing.assert_array_equal(back.recommend(strong_split.test.fold_in, k=10).items, items)
    if isinstance(m, (aerec.EASE, aerec.Popularity)):
        with pytest.raises(aerec.AERecError) as e:
            m.encode(strong_split.test.fold_in)
        assert e.value.kind == "unsupported"
    else:
        assert m.encode(strong_split.test.fold_in).shape[1] == m.latent_dim


def test_autorec_rating_model(ml100k: aerec.Dataset, tmp_path: Path) -> None:
    raw = aerec.datasets.load_tsv(ML100K)
    s = aerec.split.explicit(raw, test_fraction=0.1, validation_fraction=0.1)
    m = aerec.AutoRec("sigmoid", orientation="user", hidden_dim=32, epochs=3)
    m.fit(s, progress=False)
    r = m.evaluate(s)
    assert list(r) == ["rmse", "mae"] and 0.5 < r["rmse"].value < 2
    m.save(tmp_path / "a.aerec")
    back = aerec.load(tmp_path / "a.aerec")
    assert isinstance(back, aerec.AutoRec) and back.orientation == "user"
    assert back.evaluate(s).to_dict() == r.to_dict()


def test_fit_from_matrices_and_datasets(tiny: sp.csr_matrix) -> None:
    m = aerec.MultDAE("tanh", latent_dim=8, epochs=2, batch_size=16)
    m.fit(tiny, progress=False)
    assert m.n_items == 40 and len(m.history_) == 2 and m.history_[0].validation is None
    m2 = aerec.MultDAE("tanh", latent_dim=8, epochs=2, batch_size=16).fit(tiny.toarray(), progress=False)
    np.testing.assert_array_equal(m.scores(tiny), m2.scores(tiny))
    m3 = aerec.MultDAE("tanh", latent_dim=8, epochs=2, batch_size=16).fit(aerec.datasets.from_csr(tiny),
                                                                          progress=False)
    np.testing.assert_array_equal(m.scores(tiny), m3.scores(tiny))
    # with an explicit validation pair
    m4 = aerec.MultDAE("tanh", latent_dim=8, epochs=2, batch_size=16)
    held = tiny[50:].tocoo()
    first = held.col < 20
    fold_in = sp.csr_matrix((held.data[first], (held.row[first], held.col[first])), shape=held.shape)
    target = sp.csr_matrix((held.data[~first], (held.row[~first], held.col[~first])), shape=held.shape)
    m4.fit(tiny[:50], validation=(fold_in, target), progress=False)
    assert m4.history_[0].validation is not None
    assert m.item_ids == [str(i) for i in range(40)]


def test_mult_vae_beta_cap(tiny: sp.csr_matrix) -> None:
    # anneal_steps=1: beta is at its cap from the second update on, and every epoch report shows it
    m = aerec.MultVAE("tanh", hidden_dim=16, latent_dim=8, epochs=2, batch_size=16, beta_cap=0.5, anneal_steps=1)
    m.fit(tiny, progress=False)
    assert [h.beta for h in m.history_] == [0.5, 0.5]
    d = aerec.MultVAE("tanh", hidden_dim=16, latent_dim=8, epochs=2, batch_size=16, anneal_steps=1).fit(
        tiny, progress=False)
    assert [h.beta for h in d.history_] == [pytest.approx(0.2), pytest.approx(0.2)]
    with pytest.raises(aerec.AERecError) as e:
        aerec.MultVAE(beta_cap=-0.5)
    assert e.value.kind == "invalid_argument" and "beta_cap" in str(e.value)
    with pytest.raises(aerec.AERecError) as e:
        aerec.Recommender(kind=0, beta_cap=0.5)  # Mult-DAE has no beta
    assert "beta_cap" in str(e.value)


def test_unfitted_model_errors() -> None:
    m = aerec.MultVAE()
    assert not m.is_fitted and m.latent_activation == "tanh"
    with pytest.raises(aerec.AERecError) as e:
        m.recommend(sp.csr_matrix((1, 3), dtype=np.float32), k=2)
    assert e.value.kind in ("state", "invalid_argument")
    m.close()
    with pytest.raises(aerec.AERecError):
        m.info


def test_probe(dae: aerec.MultDAE, strong_split: aerec.Split, tmp_path: Path) -> None:
    p = dae.probe(users=300, samples=500, anchors=50, item_probes=200)
    assert p.family and p.theory_verdict and p.rows_probed == 300
    assert p.latent_dimension == 200 and p.input_dimension == strong_split.n_items
    assert 0 <= p.order_preserved <= 1 and p.order_preserved_ci[0] <= p.order_preserved <= p.order_preserved_ci[1]
    assert 0 <= p.zero_code_users <= 1 and p.effective_rank >= 1
    assert p.passed == (p.p1_passed, p.p2_passed, p.p3_passed)
    assert p.p3_passed  # sigmoid codes are never zero
    assert set(p.report) >= {"p1", "p2", "p3", "family", "theoryVerdict"}
    assert p.summary.splitlines()[1].startswith("P1 ")
    # deterministic, and the default input is the training matrix of the fit
    again = dae.probe(strong_split.train, users=300, samples=500, anchors=50, item_probes=200)
    assert again.report["p2"] == p.report["p2"] and again.effective_rank == p.effective_rank
    # a loaded model needs its input
    dae.save(tmp_path / "m.aerec")
    loaded = aerec.load(tmp_path / "m.aerec")
    with pytest.raises(aerec.AERecError) as e:
        loaded.probe()
    assert e.value.kind == "state"
    same = loaded.probe(strong_split.train, users=300, samples=500, anchors=50, item_probes=200)
    assert same.report["p1"] == p.report["p1"]
    with pytest.raises(aerec.AERecError) as e:
        dae.probe(users=1)
    assert e.value.kind == "invalid_argument"
    with pytest.raises(ValueError):
        dae.probe(input_space="cosine")
    with pytest.raises(aerec.AERecError) as e:
        aerec.EASE().fit(strong_split, progress=False).probe()
    assert e.value.kind == "unsupported"


def test_recommend_by_id(dae: aerec.MultDAE, ml100k: aerec.Dataset, strong_split: aerec.Split) -> None:
    users = [ml100k.user_ids[int(u)] for u in strong_split.train_users[:3]]
    lists = dae.recommend_by_id(users, history=ml100k, k=10)
    assert [l.user for l in lists] == users
    for l, u in zip(lists, strong_split.train_users[:3]):
        assert len(l.items) == 10 and (np.diff(l.scores) <= 0).all()
        seen = {ml100k.item_ids[i] for i in ml100k.to_csr()[int(u)].indices}
        assert not seen & set(l.items) and l.history_items + l.unknown_history_items == len(seen)
    # the same as recommend() on the same histories, mapped to ids
    X = ml100k.to_csr()[[int(u) for u in strong_split.train_users[:3]]]
    col = {i: j for j, i in enumerate(dae.item_ids)}
    rows = [[col[ml100k.item_ids[i]] for i in X[r].indices if ml100k.item_ids[i] in col] for r in range(3)]
    import scipy.sparse as sps
    H = sps.csr_matrix((np.ones(sum(map(len, rows)), np.float32),
                        np.concatenate([np.sort(r) for r in rows]).astype(np.int32),
                        np.cumsum([0] + [len(r) for r in rows])), shape=(3, dae.n_items))
    items, scores = dae.recommend(H, k=10)
    assert [[dae.item_ids[i] for i in row] for row in items] == [l.items for l in lists]
    with pytest.raises(aerec.AERecError) as e:
        dae.recommend_by_id(["no-such-user"], history=ml100k)
    assert e.value.kind == "data"


def test_ease_float64_precision(strong_split: aerec.Split, tmp_path: Path) -> None:
    """precision="float64" solves in float64: the same ranking quality as float32 (near-ties aside),
    kept in the model file; a wrong name is a ValueError before any C call."""
    m32 = aerec.EASE(lambda_=50.0).fit(strong_split, progress=False)
    m64 = aerec.EASE(lambda_=50.0, precision="float64").fit(strong_split, progress=False)
    r32 = m32.evaluate(strong_split, ["ndcg@100"])["ndcg@100"].value
    r64 = m64.evaluate(strong_split, ["ndcg@100"])["ndcg@100"].value
    assert abs(r32 - r64) < 1e-3
    i32 = m32.recommend(strong_split.test.fold_in, k=20).items
    i64 = m64.recommend(strong_split.test.fold_in, k=20).items
    assert (i32 == i64).mean() > 0.9
    m64.save(tmp_path / "e64.aerec")
    np.testing.assert_array_equal(aerec.load(tmp_path / "e64.aerec").recommend(strong_split.test.fold_in, k=20).items, i64)
    with pytest.raises(ValueError, match="float32"):
        aerec.EASE(precision="float16")
