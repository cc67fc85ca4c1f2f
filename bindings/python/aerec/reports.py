"""The values the models hand back: per-epoch reports, fit summaries, top-k lists, probe reports."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional

import numpy as np

from . import _lib

__all__ = ["EpochReport", "FitSummary", "Recommendations", "UserRecommendations", "ProbeReport"]


@dataclass(frozen=True)
class EpochReport:
    """What the per-epoch callback receives."""

    epoch: int
    loss: float
    #: The validation metric after this epoch (None when not validated).
    validation: Optional[float]
    train_seconds: float
    validation_seconds: float
    #: True when this is the best epoch so far (the one fit keeps).
    is_best: bool
    #: Mult-VAE's KL weight (None for the other models).
    beta: Optional[float]

    @staticmethod
    def _from(s: _lib.EpochReportStruct) -> "EpochReport":
        return EpochReport(int(s.epoch), float(s.loss), float(s.validation) if s.has_validation else None,
                           float(s.train_seconds), float(s.validation_seconds), bool(s.is_best),
                           None if np.isnan(s.beta) else float(s.beta))


@dataclass(frozen=True)
class FitSummary:
    epochs_run: int
    #: The epoch whose weights the model holds.
    best_epoch: int
    best_validation: Optional[float]
    stopped_early: bool
    #: The callback (or Ctrl-C, or request_stop) ended training.
    stopped_by_callback: bool
    #: Ctrl-C ended training (the best model so far was kept).
    interrupted: bool
    seconds: float


def _nan_strings(x: Any) -> Any:
    """The library writes NaN / ±inf as strings in JSON; back to floats."""
    if isinstance(x, dict):
        return {k: _nan_strings(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_nan_strings(v) for v in x]
    if x in ("NaN", "Infinity", "-Infinity"):
        return float(x.replace("Infinity", "inf"))
    return x


@dataclass(frozen=True)
class ProbeReport:
    """Susman's properties of a trained encoder, as AERec's Theory layer measured them.

    P1 dimension reduction (m < n, effective rank), P2 order preservation of input dot products,
    P3 non-zero codes. ``report`` holds every number (the Swift ProbeReport as a dict)."""

    summary: str
    family: str
    theory_verdict: str
    rows_probed: int
    p1_passed: bool
    p2_passed: bool
    p3_passed: bool
    latent_dimension: int
    input_dimension: int
    effective_rank: float
    effective_rank_fraction: float
    triples: int
    order_preserved: float
    order_preserved_ci: tuple[float, float]
    kendall_tau: float
    neighbour_overlap: float
    zero_code_users: float
    zero_code_items: float
    zero_code_negated_users: float
    dead_unit_fraction: float
    constant_unit_fraction: float
    zero_maps_to_zero: bool
    seconds: float
    report: dict

    @property
    def passed(self) -> tuple[bool, bool, bool]:
        """(P1, P2, P3) verdicts."""
        return (self.p1_passed, self.p2_passed, self.p3_passed)

    def __str__(self) -> str:
        return self.summary

    @staticmethod
    def _from_handle(handle: int) -> "ProbeReport":
        import json

        try:
            s = _lib.ProbeScores()
            _lib.call("aerec_probe_scores_get", handle, ctypes.byref(s))
            needed = ctypes.c_size_t(0)
            _lib.call("aerec_probe_json", handle, None, 0, ctypes.byref(needed))
            buf = ctypes.create_string_buffer(needed.value)
            _lib.call("aerec_probe_json", handle, buf, needed.value, ctypes.byref(needed))
            doc = _nan_strings(json.loads(buf.value.decode()))
        finally:
            _lib.lib().aerec_probe_free(handle)
        return ProbeReport(
            doc["summary"], s.family.decode(), s.theory_verdict.decode(), int(s.rows_probed), bool(s.p1_passed),
            bool(s.p2_passed), bool(s.p3_passed), int(s.latent_dimension), int(s.input_dimension),
            float(s.p1_effective_rank), float(s.p1_effective_rank_fraction), int(s.p2_triples),
            float(s.p2_order_preserved), (float(s.p2_order_preserved_low), float(s.p2_order_preserved_high)),
            float(s.p2_kendall_tau), float(s.p2_neighbour_overlap), float(s.p3_zero_code_users),
            float(s.p3_zero_code_items), float(s.p3_zero_code_negated_users), float(s.p3_dead_unit_fraction),
            float(s.p3_constant_unit_fraction), bool(s.p3_zero_maps_to_zero), float(s.seconds), doc["report"])


@dataclass(frozen=True)
class UserRecommendations:
    """One user's top-k list by external ids (Swift's UserRecommendations)."""

    user: str
    #: External item ids, best first (shorter than k when fewer candidates exist).
    items: list[str]
    scores: np.ndarray
    #: The model's item indices of ``items``.
    indices: np.ndarray
    #: History items the model knows (its input, excluded from the list).
    history_items: int
    #: History items outside the model's item space (ignored).
    unknown_history_items: int


class Recommendations(NamedTuple):
    """Top-k lists: ``items`` (n × k item indices, best first, -1 padding) and their ``scores``."""

    items: np.ndarray
    scores: np.ndarray
