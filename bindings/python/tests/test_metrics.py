"""aerec.metrics: the library's metric code on given rankings, cross-checked by hand and against
model evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest

import aerec
from aerec import metrics


def test_hand_computed() -> None:
    rankings = [[0, 1, 2, 3], [3, 2, 1, 0]]
    targets = [[1], [3, 0]]
    # user 0: DCG 1/log2(3), IDCG 1; user 1: DCG 1, IDCG 1 + 1/log2(3)
    assert metrics.ndcg(rankings, targets, k=3) == pytest.approx((1 / math.log2(3) + 1 / (1 + 1 / math.log2(3))) / 2)
    assert metrics.recall(rankings, targets, k=1) == pytest.approx((0 + 1) / 2)
    assert metrics.recall_uncapped(rankings, targets, k=1) == pytest.approx((0 + 0.5) / 2)
    assert metrics.precision(rankings, targets, k=2) == pytest.approx((0.5 + 0.5) / 2)
    assert metrics.hit_rate(rankings, targets, k=1) == pytest.approx(0.5)
    assert metrics.mrr(rankings, targets) == pytest.approx((0.5 + 1) / 2)
    assert metrics.map(rankings, targets, k=4) == pytest.approx((0.5 + (1 + 2 / 4) / 2) / 2)
    assert metrics.coverage(rankings, item_count=10, k=2) == pytest.approx(4 / 10)


def test_result_object() -> None:
    r = metrics.evaluate([[0, 1], [1, 0], [2, 3]], [[0], [0], []], ["ndcg@2", "hit_rate@1"], item_count=4)
    assert r.users_evaluated == 2 and r.users_skipped == 1
    assert list(r.users) == [0, 1]
    v = r["ndcg@2"]
    assert v.n == 2 and v.ci is not None and len(v.per_user) == 2
    assert r.to_dict() == {"ndcg@2": v.value, "hit_rate@1": 0.5}
    assert "ndcg@2" in repr(r)
    with pytest.raises(aerec.AERecError, match="ranked twice"):
        metrics.evaluate([[0, 0]], [[0]], ["ndcg@2"])
    with pytest.raises(aerec.AERecError, match="unknown metric"):
        metrics.evaluate([[0]], [[0]], ["ndgc@2"])


def test_padded_arrays_and_sparse_targets(dae: aerec.MultDAE, strong_split: aerec.Split) -> None:
    # top-100 lists from recommend, scored by aerec.metrics, equal the model's own evaluation
    items, _ = dae.recommend(strong_split.test.fold_in, k=100)
    names = ["ndcg@100", "ndcg@20", "recall@20", "recall@50", "precision@20", "hit_rate@20", "map@100",
             "coverage@100"]
    from_lists = metrics.evaluate(items, strong_split.test.target, names, item_count=dae.n_items)
    from_model = dae.evaluate(strong_split, names)
    for n in names:
        assert from_lists[n].value == from_model[n].value, n


def test_rating_metrics() -> None:
    assert metrics.rmse(np.array([4.0, 2.0]), np.array([3.0, 3.0])) == pytest.approx(1.0)
    assert metrics.mae([[4.0, 2.0], [3.0]], [[3.0, 3.0], [3.0]]) == pytest.approx(2 / 3)
    r = metrics.evaluate_ratings([[4.0], [1.0, 2.0]], [[3.0], [1.0, 4.0]])
    assert list(r) == ["rmse", "mae"] and r["rmse"].value == pytest.approx(math.sqrt(5 / 3))
    with pytest.raises(aerec.AERecError, match="finite"):
        metrics.rmse(np.array([np.nan]), np.array([1.0]))
