"""Metrics, computed by AERec's own metric code (the same functions the CLI and the models use).

Ranking metrics take, per user, a ranked list of item indices (best first, seen items removed)
and the set of target items; every metric is over the FULL ranking given (nothing is sampled):

>>> aerec.metrics.ndcg([[3, 1, 2]], [[1]], k=3)          # 1 / log2(3)
>>> aerec.metrics.evaluate(items, split.test.target, ["ndcg@100", "recall@20"])

Definitions (per user, T = targets, rel_i = 1 when the i-th ranked item is in T):
recall@k = hits@k / min(k, |T|) (vae_cf); recall_uncapped@k = hits@k / |T|; ndcg@k = DCG / IDCG;
precision@k = hits@k / k; hit_rate@k; map@k = sum_i P@i rel_i / min(k, |T|); mrr = 1 / rank of the
first relevant item; coverage@k = |union of top-k lists| / item_count. Means over users come with
95 % confidence intervals (x̄ ± 1.96 s/√n).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from collections.abc import Iterator, Mapping
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import _lib
from ._convert import max_column, ragged_view
from ._handle import Handle

__all__ = ["MetricValue", "EvaluationResult", "evaluate", "evaluate_ratings", "recall", "recall_uncapped", "ndcg",
           "precision", "hit_rate", "map", "mean_average_precision", "mrr", "coverage", "rmse", "mae",
           "DEFAULT_RANKING_METRICS"]

#: The CLI's default test metrics for ranking models.
DEFAULT_RANKING_METRICS = ("ndcg@100", "ndcg@20", "recall@20", "recall@50", "recall_uncapped@20", "precision@20",
                           "hit_rate@20", "map@100", "mrr", "coverage@100")


@dataclass(frozen=True)
class MetricValue:
    """One metric over the evaluated users."""

    name: str
    value: float
    #: 95 % confidence interval (low, high), None with fewer than 2 users or for coverage.
    ci: Optional[tuple[float, float]]
    standard_error: Optional[float]
    n: int
    #: Per-user values aligned with EvaluationResult.users (empty for coverage).
    per_user: np.ndarray

    def __float__(self) -> float:
        return self.value

    def __str__(self) -> str:
        if self.ci is None:
            return f"{self.name} = {self.value:.4f} (n = {self.n})"
        return f"{self.name} = {self.value:.4f} ± {(self.ci[1] - self.ci[0]) / 2:.4f} (n = {self.n})"


class EvaluationResult(Mapping[str, MetricValue]):
    """Metric name -> MetricValue, in the requested order, plus the user counts."""

    def __init__(self, handle: int) -> None:
        owner = _ResultHandle(handle)
        info = _lib.ResultInfo()
        _lib.call("aerec_result_info_get", handle, ctypes.byref(info))
        self.users_evaluated: int = info.users_evaluated
        self.users_skipped: int = info.users_skipped
        self.seconds: float = info.seconds
        count = ctypes.c_int64(0)
        users = np.empty(max(1, info.users_evaluated), np.int32)
        _lib.call("aerec_result_users", handle, users.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), users.size,
                  ctypes.byref(count))
        #: Dataset user index (or row) of each evaluated user.
        self.users: np.ndarray = users[: count.value]
        self._values: dict[str, MetricValue] = {}
        for i in range(info.metric_count):
            v = _lib.MetricValueStruct()
            _lib.call("aerec_result_metric", handle, i, ctypes.byref(v))
            per = np.empty(max(1, v.n), np.float64)
            _lib.call("aerec_result_per_user", handle, i, per.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                      per.size, ctypes.byref(count))
            name = v.name.decode()
            self._values[name] = MetricValue(
                name, v.value, (v.ci_low, v.ci_high) if v.has_ci else None,
                None if np.isnan(v.standard_error) else v.standard_error, v.n, per[: count.value].copy())
        owner.close()

    def __getitem__(self, name: str) -> MetricValue:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def to_dict(self) -> dict[str, float]:
        """{name: value}, as `aerec train --json` prints under "metrics"."""
        return {k: v.value for k, v in self._values.items()}

    def __repr__(self) -> str:
        lines = [str(v) for v in self._values.values()]
        lines.append(f"users evaluated {self.users_evaluated}, skipped {self.users_skipped} (empty target)")
        return "\n".join(lines)


class _ResultHandle(Handle):
    _free_name = "aerec_result_free"


def _names(metrics: Union[None, str, Sequence[str]]) -> Optional[bytes]:
    if metrics is None:
        return None
    if isinstance(metrics, str):
        return metrics.encode()
    return ",".join(metrics).encode()


def evaluate(rankings: Any, targets: Any, metrics: Union[None, str, Sequence[str]] = None,
             item_count: Optional[int] = None) -> EvaluationResult:
    """Ranking metrics of given rankings against targets.

    rankings: per user, item indices best first (a list of sequences, or a 2-D array padded with -1
    as ``Recommender.recommend`` returns); targets: per user, the relevant items (a list of
    sequences or a sparse matrix whose stored columns are the targets). item_count: the catalogue
    size (default: the largest index + 1, or the target matrix's width). Users with no target are
    skipped (counted in ``users_skipped``)."""
    n = item_count if item_count is not None else max(max_column(rankings), max_column(targets), 1)
    r = ragged_view(rankings, n, name="rankings")
    t = ragged_view(targets, n, name="targets")
    return EvaluationResult(_lib.new_handle("aerec_metrics_from_rankings", r.ref, t.ref, n, _names(metrics)))


def _one(name: str, rankings: Any, targets: Any, item_count: Optional[int]) -> float:
    return evaluate(rankings, targets, [name], item_count)[name].value


def recall(rankings: Any, targets: Any, k: int, item_count: Optional[int] = None) -> float:
    """Mean recall@k = hits@k / min(k, |T|) (Liang et al.'s form)."""
    return _one(f"recall@{k}", rankings, targets, item_count)


def recall_uncapped(rankings: Any, targets: Any, k: int, item_count: Optional[int] = None) -> float:
    """Mean hits@k / |T| (the LightGCN / RecBole form)."""
    return _one(f"recall_uncapped@{k}", rankings, targets, item_count)


def ndcg(rankings: Any, targets: Any, k: int, item_count: Optional[int] = None) -> float:
    """Mean NDCG@k with binary relevance."""
    return _one(f"ndcg@{k}", rankings, targets, item_count)


def precision(rankings: Any, targets: Any, k: int, item_count: Optional[int] = None) -> float:
    """Mean hits@k / k."""
    return _one(f"precision@{k}", rankings, targets, item_count)


def hit_rate(rankings: Any, targets: Any, k: int, item_count: Optional[int] = None) -> float:
    """Share of users with at least one target in the top k."""
    return _one(f"hit_rate@{k}", rankings, targets, item_count)


def mean_average_precision(rankings: Any, targets: Any, k: int, item_count: Optional[int] = None) -> float:
    """Mean AP@k = sum_{i<=k} P@i rel_i / min(k, |T|)."""
    return _one(f"map@{k}", rankings, targets, item_count)


map = mean_average_precision  # noqa: A001  (the metric's name; aerec.metrics.map)


def mrr(rankings: Any, targets: Any, item_count: Optional[int] = None) -> float:
    """Mean reciprocal rank of the first target item in the given (full) ranking."""
    return _one("mrr", rankings, targets, item_count)


def coverage(rankings: Any, item_count: int, k: int) -> float:
    """|union of the users' top-k lists| / item_count (every user counted)."""
    n = len(rankings)
    return evaluate(rankings, [[0]] * n, [f"coverage@{k}"], item_count)[f"coverage@{k}"].value


def _ratings(x: Any) -> list[np.ndarray]:
    if isinstance(x, np.ndarray) and x.ndim == 1:
        return [x[i: i + 1] for i in range(x.size)]
    return [np.asarray(r, dtype=np.float32).ravel() for r in x]


def evaluate_ratings(predicted: Any, actual: Any, metrics: Union[None, str, Sequence[str]] = None) -> EvaluationResult:
    """rmse / mae of predicted against actual ratings, per user: lists of per-user arrays (or flat
    1-D arrays, one rating per user). The interval treats users as clusters."""
    p, a = _ratings(predicted), _ratings(actual)
    if len(p) != len(a) or any(x.size != y.size for x, y in zip(p, a)):
        raise ValueError("predicted and actual must have the same shape")
    indptr = np.zeros(len(a) + 1, np.int64)
    np.cumsum([x.size for x in a], out=indptr[1:])
    pf = np.ascontiguousarray(np.concatenate(p) if p else np.zeros(0), dtype=np.float32)
    af = np.ascontiguousarray(np.concatenate(a) if a else np.zeros(0), dtype=np.float32)
    P = ctypes.POINTER
    return EvaluationResult(_lib.new_handle(
        "aerec_metrics_from_ratings", len(a), indptr.ctypes.data_as(P(ctypes.c_int64)),
        pf.ctypes.data_as(P(ctypes.c_float)), af.ctypes.data_as(P(ctypes.c_float)), _names(metrics)))


def rmse(predicted: Any, actual: Any) -> float:
    """Root mean squared error pooled over all ratings."""
    return evaluate_ratings(predicted, actual, ["rmse"])["rmse"].value


def mae(predicted: Any, actual: Any) -> float:
    """Mean absolute error pooled over all ratings."""
    return evaluate_ratings(predicted, actual, ["mae"])["mae"].value
