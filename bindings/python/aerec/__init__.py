"""AERec for Python: autoencoder recommenders with the latent activation as a typed choice.

A thin ctypes layer over libaerec.so (the C ABI of the Swift library): every model, protocol and
metric is AERec's own code, so the same seed and thread count give the same numbers here, in
Swift and on the ``aerec`` command line.

>>> import aerec
>>> ds = aerec.datasets.load_tsv("../shared/data/ml-100k/ratings.tsv.gz", threshold=3.5)
>>> split = aerec.split.strong(ds, held_out_users=94)
>>> model = aerec.MultVAE(latent_activation="sigmoid", epochs=20).fit(split)
>>> model.evaluate(split)["ndcg@100"]
>>> items, scores = model.recommend(split.test.fold_in, k=10)
"""

from __future__ import annotations

from typing import Any

from . import datasets, metrics, split
from ._lib import AERecError
from ._lib import lib as _load_library
from ._lib import library_path
from .datasets import Dataset
from .metrics import EvaluationResult, MetricValue
from .models import (
    CDAE,
    EASE,
    AutoRec,
    EpochReport,
    FitSummary,
    MultDAE,
    MultVAE,
    Popularity,
    ProbeReport,
    Recommendations,
    Recommender,
    UserRecommendations,
    load,
)
from .selection import SelectionProgress, SelectionReport, select_activation
from .split import HeldOut, Split

_load_library()

__version__: str = _load_library().aerec_version().decode()
abi_version: int = _load_library().aerec_abi_version()

__all__ = [
    "AERecError", "AutoRec", "CDAE", "Dataset", "EASE", "EpochReport", "EvaluationResult", "FitSummary", "HeldOut",
    "MetricValue", "MultDAE", "MultVAE", "Popularity", "ProbeReport", "Recommendations", "Recommender",
    "SelectionProgress", "SelectionReport", "Split", "UserRecommendations", "abi_version", "blas_info", "datasets",
    "library_path", "load", "metrics", "select_activation", "split", "__version__",
]


def blas_info() -> dict[str, Any]:
    """The OpenBLAS core libaerec runs on, and whether it is a slow fallback."""
    import ctypes

    from . import _lib

    b = _lib.BLASInfo()
    _lib.call("aerec_blas_info_get", ctypes.byref(b))
    return {"core": b.core.decode(), "threads": b.threads, "is_fallback": bool(b.is_fallback),
            "recommended_coretype": b.recommended_coretype.decode() or None, "simd_level": b.simd_level.decode(),
            "coretype_env": b.coretype_env.decode() or None}
