"""Activation selection: theory (P1–P3, activation families) plus measurement with an equal
tuning budget per candidate, by AERec's Theory layer (``ActivationSelection`` in Swift).

>>> report = aerec.select_activation(split, aerec.MultDAE(epochs=30), candidates=["sigmoid", "tanh", "relu"])
>>> report.recommended, report.basis, report.reason
>>> print(report.markdown())
"""

from __future__ import annotations

import ctypes
import json
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from . import _lib
from .progress import _tqdm
from .reports import _nan_strings
from .split import Split

__all__ = ["SelectionProgress", "SelectionReport", "select_activation"]


@dataclass(frozen=True)
class SelectionProgress:
    """One trained run of the selection."""

    phase: str  # "tuning" or "final"
    activation: str
    learning_rate: float
    regularization: float
    seed: int
    completed: int
    total: int
    validation: float
    seconds: float
    line: str


@dataclass
class SelectionReport:
    """The outcome: the recommended activation and on what basis, and every number behind it."""

    recommended: str
    measured_best: str
    #: "theory and measurement", "theory", "measurement" or "measurement only".
    basis: str
    theory_agrees: bool
    candidates: int
    runs: int
    seconds: float
    _handle: int = field(repr=False)
    _report: Optional[dict] = field(default=None, repr=False)

    def _render(self, fmt: int) -> str:
        needed = ctypes.c_size_t(0)
        _lib.call("aerec_selection_render", self._handle, fmt, None, 0, ctypes.byref(needed))
        buf = ctypes.create_string_buffer(needed.value)
        _lib.call("aerec_selection_render", self._handle, fmt, buf, needed.value, ctypes.byref(needed))
        return buf.value.decode()

    def json(self, per_user_values: bool = True) -> str:
        """The whole report as JSON (the Swift SelectionReport)."""
        return self._render(0 if per_user_values else 1)

    def markdown(self) -> str:
        """Tables: per-activation family, verdict, probes and metrics with intervals, the decision."""
        return self._render(2)

    def svg(self) -> str:
        """A self-contained chart of the candidates' validation and test metrics."""
        return self._render(3)

    @property
    def report(self) -> dict:
        """The report as a dict (per-user values left out)."""
        if self._report is None:
            self._report = _nan_strings(json.loads(self.json(per_user_values=False)))
        return self._report

    @property
    def reason(self) -> str:
        return str(self.report["recommendation"]["reason"])

    def __str__(self) -> str:
        return f"recommended: {self.recommended} ({self.basis}) — {self.reason}"

    def __del__(self) -> None:
        h = getattr(self, "_handle", None)
        if h:
            try:
                _lib.lib().aerec_selection_free(h)
            except Exception:  # interpreter shutdown
                pass
            self._handle = 0


def _csv(items: Optional[Sequence[Any]]) -> Optional[bytes]:
    return None if items is None else ",".join(str(x) for x in items).encode()


def select_activation(split: Split, base: Any, *, candidates: Optional[Sequence[str]] = None,
                      learning_rates: Optional[Sequence[float]] = None,
                      regularizations: Optional[Sequence[float]] = None, seeds: Optional[Sequence[int]] = None,
                      tuning_seed: int = 1, selection_metric: Optional[str] = None,
                      reported_metrics: Optional[Sequence[str]] = None, significance_level: Optional[float] = None,
                      probe: Optional[dict] = None, progress: Any = True,
                      callback: Optional[Callable[[SelectionProgress], Any]] = None) -> SelectionReport:
    """Chooses a latent activation for ``base`` (an unfitted model, e.g. ``aerec.MultDAE(epochs=30)``,
    whose settings every run shares) on ``split`` (it needs validation users).

    For each candidate (default: sigmoid, hard_sigmoid, softsign01, tanh, relu, identity): a
    learning-rate × L2 grid (default lr 0.001, 0.003 and the model's L2 pair) seeded with
    ``tuning_seed`` picks a point on validation, then one run per seed (default 1, 2, 3) is
    evaluated and probed. The recommendation is the best mean validation metric, unless it is not
    sigmoid-like and not significantly better than the best sigmoid-like candidate (paired t-test),
    in which case the theory's choice stands. probe: keyword settings as for ``Recommender.probe``.
    progress: a tqdm bar over the runs (True), plain lines ("lines") or nothing (False); callback
    gets every SelectionProgress. The selection cannot be interrupted midway: a Ctrl-C is raised
    when it returns."""
    config = getattr(base, "_config", None)
    if config is None:
        raise _lib.AERecError("base must be a model created in this session (e.g. aerec.MultDAE(epochs=30)), "
                              "not a loaded one", _lib.ERR_INVALID_ARGUMENT)
    c = _lib.SelectionConfig()
    _lib.call("aerec_selection_config_init", ctypes.byref(c))
    keep = [_csv(candidates), _csv(learning_rates), _csv(regularizations), _csv(seeds),
            None if selection_metric is None else selection_metric.encode(), _csv(reported_metrics)]
    c.candidates, c.learning_rates, c.regularizations, c.seeds, c.selection_metric, c.reported_metrics = keep
    c.tuning_seed = _lib.uint64(tuning_seed, "tuning_seed")
    if significance_level is not None:
        c.significance_level = float(significance_level)
    probe_config = None
    if probe:
        probe_config = _lib.ProbeConfig()
        _lib.call("aerec_probe_config_init", ctypes.byref(probe_config))
        spaces = {"normalized-binary": 0, "binary": 1, "values": 2}
        for k, v in probe.items():
            if not hasattr(probe_config, k) or k == "struct_size":
                raise ValueError(f"unknown probe setting {k!r}")
            setattr(probe_config, k, spaces[v] if k == "input_space" else v)
        c.probe = ctypes.pointer(probe_config)

    state: dict[str, Any] = {"bar": None, "interrupted": False, "error": None}
    tqdm = _tqdm() if progress in (True, "bar") else None

    def on_progress(p: Any, _user_data: Any) -> None:
        try:
            s = p.contents
            r = SelectionProgress("tuning" if s.phase == 0 else "final", s.activation.decode(), s.learning_rate,
                                  s.regularization, int(s.seed), int(s.completed), int(s.total), s.validation,
                                  s.seconds, s.line.decode())
            if tqdm is not None:
                if state["bar"] is None:
                    state["bar"] = tqdm(total=r.total, desc="select_activation", unit="run", file=sys.stderr)
                state["bar"].set_postfix_str(f"{r.activation} {r.phase} {r.validation:.4f}", refresh=False)
                state["bar"].update(1)
            elif progress:
                print(r.line, file=sys.stderr, flush=True)
            if callback is not None:
                callback(r)
        except KeyboardInterrupt:
            state["interrupted"] = True
        except BaseException as e:  # noqa: BLE001  (raised when the selection returns)
            if state["error"] is None:
                state["error"] = e

    cfunc = _lib.SELECTION_CALLBACK(on_progress)
    handle = ctypes.c_void_p()
    status = _lib.lib().aerec_select_activation(split.handle, ctypes.byref(config), ctypes.byref(c), cfunc, None,
                                                ctypes.byref(handle))
    if state["bar"] is not None:
        state["bar"].close()
    _lib.check(status)
    s = _lib.SelectionSummary()
    _lib.call("aerec_selection_summary_get", handle.value, ctypes.byref(s))
    report = SelectionReport(s.recommended.decode(), s.measured_best.decode(), s.basis.decode(),
                             bool(s.theory_agrees), int(s.candidates), int(s.runs), float(s.seconds),
                             handle.value or 0)
    if state["error"] is not None:
        raise state["error"]
    if state["interrupted"]:
        warnings.warn("select_activation: Ctrl-C arrived during the selection, which cannot stop midway",
                      RuntimeWarning, stacklevel=2)
        raise KeyboardInterrupt
    return report
