"""The models: MultDAE, MultVAE, CDAE, AutoRec, EASE and Popularity, mirroring the Swift API.

>>> model = aerec.MultVAE(latent_activation="sigmoid", epochs=50)
>>> model.fit(split)                         # early stopping on the split's validation users
>>> items, scores = model.recommend(split.test.fold_in, k=10)
>>> model.evaluate(split)["ndcg@100"]
>>> model.save("vae.aerec"); same = aerec.load("vae.aerec")

Every hyperparameter left at None takes the library's default (the same as `aerec train`), so the
same configuration, seed and thread count give the same model here, in Swift and on the CLI.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import warnings
from contextlib import contextmanager
from typing import Any, Callable, ClassVar, Iterator, Optional, Sequence, TypeVar, Union

import numpy as np
import scipy.sparse as sp

from . import _lib
from ._convert import CSRView, csr_view, int32_array, int32_ptr, to_csr_matrix
from ._handle import Handle
from .datasets import Dataset, PathLike
from .metrics import EvaluationResult, _names
from .progress import Progress
from .reports import EpochReport, FitSummary, ProbeReport, Recommendations, UserRecommendations
from .split import HeldOut, Split

__all__ = ["Recommender", "MultDAE", "MultVAE", "CDAE", "AutoRec", "EASE", "Popularity", "EpochReport",
           "FitSummary", "ProbeReport", "Recommendations", "UserRecommendations", "load", "KINDS"]

KINDS = ("mult-dae", "mult-vae", "cdae", "autorec-i", "autorec-u", "ease", "pop")

M = TypeVar("M", bound="Recommender")


EpochCallback = Callable[[EpochReport], Any]
Histories = Union[sp.spmatrix, np.ndarray, Sequence[int], int]


@contextmanager
def _sigint_stops(state: dict, stop: Callable[[], None]) -> Iterator[None]:
    """While training on the main thread, Ctrl-C asks training to stop after the current epoch."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if state["interrupted"]:
            raise KeyboardInterrupt  # a second Ctrl-C: caught by the callback, stops all the same
        state["interrupted"] = True
        stop()

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Recommender(Handle):
    """A model behind a libaerec handle. Use a subclass: MultDAE, MultVAE, CDAE, AutoRec, EASE, Popularity.

    recommend / scores / encode / evaluate / save may run from several threads at once; fit needs
    the model alone (AERecError with kind "busy" otherwise)."""

    _free_name = "aerec_model_free"
    kind: ClassVar[int] = -1

    def __init__(self, *, kind: Optional[int] = None, latent_activation: Optional[str] = None,
                 hidden: Optional[int] = None, latent: Optional[int] = None, learning_rate: Optional[float] = None,
                 epochs: Optional[int] = None, batch_size: Optional[int] = None, lambda_: Optional[float] = None,
                 dropout: Optional[float] = None, anneal_steps: Optional[int] = None, patience: Optional[int] = None,
                 seed: int = 98765, threads: int = 2, validation_metric: Optional[str] = None,
                 ease_precision: Optional[str] = None, beta_cap: Optional[float] = None) -> None:
        k = self.kind if kind is None else kind
        c = _lib.ModelConfig()
        _lib.call("aerec_model_config_init", ctypes.byref(c), k)

        def opt(v: Any, cast: Callable[[Any], Any]) -> Any:
            if v is None:
                return -1  # AEREC_DEFAULT: the library's default
            x = cast(v)
            if x == -1:  # would read as AEREC_DEFAULT in C
                raise ValueError(f"{x} is not a valid setting (use None for the default)")
            return x

        self._activation_bytes = None if latent_activation is None else str(latent_activation).encode()
        self._metric_bytes = None if validation_metric is None else str(validation_metric).encode()
        c.latent_activation = self._activation_bytes
        c.hidden, c.latent = opt(hidden, int), opt(latent, int)
        c.learning_rate = opt(learning_rate, float)
        c.epochs, c.batch_size = opt(epochs, int), opt(batch_size, int)
        c.lambda_, c.dropout = opt(lambda_, float), opt(dropout, float)
        c.anneal_steps, c.patience = opt(anneal_steps, int), opt(patience, int)
        c.seed, c.threads = _lib.uint64(seed, "seed"), int(threads)
        c.validation_metric = self._metric_bytes
        precisions = {None: -1, "float32": 32, "float64": 64}
        if ease_precision not in precisions:
            raise ValueError(f"ease_precision must be 'float32' or 'float64', got {ease_precision!r}")
        c.ease_precision = precisions[ease_precision]
        c.beta_cap = opt(beta_cap, float)
        super().__init__(_lib.new_handle("aerec_model_create", ctypes.byref(c)))
        self._config: Optional[_lib.ModelConfig] = c  # the base of select_activation
        self.epochs = epochs
        self.threads = threads
        self.seed = seed
        self._loaded = False
        self._train: Any = None
        self.history_: list[EpochReport] = []
        self.fit_summary_: Optional[FitSummary] = None

    @classmethod
    def _from_handle(cls: type[M], handle: int) -> M:
        self = cls.__new__(cls)
        Handle.__init__(self, handle)
        info = self.info
        self.epochs, self.threads, self.seed = None, 2, None
        self._loaded, self._train, self._config = True, None, None
        self.history_, self.fit_summary_ = [], None
        self._kind_loaded = int(info.kind)
        return self

    # ------------------------------------------------------------------------------ information

    @property
    def info(self) -> _lib.ModelInfo:
        i = _lib.ModelInfo()
        _lib.call("aerec_model_info_get", self.handle, ctypes.byref(i))
        return i

    @property
    def kind_name(self) -> str:
        return KINDS[self.info.kind]

    @property
    def is_fitted(self) -> bool:
        return bool(self.info.is_fitted)

    @property
    def n_items(self) -> int:
        """Items the model scores (0 before fit)."""
        return int(self.info.item_count)

    @property
    def latent_dim(self) -> int:
        """Width of the code (0 for EASE and Popularity)."""
        return int(self.info.latent_dimension)

    @property
    def latent_activation(self) -> Optional[str]:
        """The latent activation's canonical name (None for EASE and Popularity)."""
        a = self.info.latent_activation.decode()
        return a or None

    @property
    def item_ids(self) -> list[str]:
        """External id of each item (column) the model scores."""
        return _lib.read_ids("aerec_model_ids", self.handle, 1)

    @property
    def user_ids(self) -> list[str]:
        """External ids of the training users (row order)."""
        return _lib.read_ids("aerec_model_ids", self.handle, 0)

    def __repr__(self) -> str:
        i = self.info
        act = i.latent_activation.decode()
        state = f"fitted on {i.item_count} items" if i.is_fitted else "not fitted"
        return f"{type(self).__name__}({KINDS[i.kind]}{', ' + act if act else ''}; {state})"

    # ------------------------------------------------------------------------------------- fit

    def fit(self: M, X: Union[Split, Dataset, sp.spmatrix, np.ndarray], validation: Any = None, *,
            callback: Optional[EpochCallback] = None, progress: Any = True,
            checkpoint_dir: Optional[PathLike] = None, checkpoint_every: int = 1,
            resume: Union[bool, str] = False) -> M:
        """Trains from fresh weights and returns self.

        X: a Split (trains on ``X.train`` and validates on ``X.validation`` unless ``validation``
        is given; ``validation=False`` trains without), a users × items matrix (scipy.sparse or
        dense), or a Dataset. validation: a HeldOut, or a (fold_in, target) pair. callback:
        called with an EpochReport after every epoch; a truthy return stops training (the best
        epoch is kept). progress: True (tqdm bar if installed, else one line per epoch),
        "lines", "bar" or False. Ctrl-C stops training after the current epoch and keeps the best
        model so far (a warning says so).

        checkpoint_dir: write ``checkpoint_dir/checkpoint.aerec`` after every ``checkpoint_every``-th
        epoch (atomically; Mult-DAE, Mult-VAE, CDAE, AutoRec). resume: True continues the run saved
        there (it must exist), "auto" continues it when it exists and starts afresh otherwise; the
        continued fit gives the model of an uninterrupted fit with the same data, configuration,
        seed and threads, bit for bit. A completed fit removes the checkpoint; an interrupted one
        (Ctrl-C, callback, request_stop) keeps it."""
        codes = {False: 0, True: 1, "auto": 2}
        if resume not in codes:
            raise ValueError(f"resume must be False, True or 'auto', got {resume!r}")
        if checkpoint_dir is None and resume:
            raise ValueError("resume needs checkpoint_dir")
        _lib.call("aerec_model_set_checkpointing", self.handle,
                  None if checkpoint_dir is None else os.fsencode(os.fspath(checkpoint_dir)),
                  int(checkpoint_every), codes[resume])
        summary = _lib.FitSummary()
        reports: list[EpochReport] = []
        state: dict[str, Any] = {"interrupted": False, "error": None}
        name = type(self).__name__
        bar = Progress(progress, self.epochs, name)

        def on_epoch(report: Any, _user_data: Any) -> int:
            try:
                r = EpochReport._from(report.contents)
                reports.append(r)
                bar.update(r)
                stop = bool(callback(r)) if callback is not None else False
                return 1 if stop or state["interrupted"] else 0
            except KeyboardInterrupt:
                state["interrupted"] = True
                return 1
            except BaseException as e:  # noqa: BLE001  (re-raised after training stops)
                state["error"] = e
                return 1

        cfunc = _lib.EPOCH_CALLBACK(on_epoch)
        handle = self.handle
        lib = _lib.lib()
        with _sigint_stops(state, lambda: lib.aerec_model_request_stop(handle)):
            if isinstance(X, Split) and validation is None:
                status = lib.aerec_model_fit(handle, X.handle, cfunc, None, ctypes.byref(summary))
                train_source: Any = X
            else:
                if isinstance(X, Split):
                    train: Any = X.train
                elif isinstance(X, Dataset):
                    train = X.to_csr()
                else:
                    train = X
                tv = csr_view(train)
                vin = vtg = None
                if validation is not None and validation is not False:
                    if isinstance(validation, HeldOut):
                        f, t = validation.fold_in, validation.target
                    else:
                        f, t = validation
                    vin, vtg = csr_view(f, n_cols=tv.shape[1]), csr_view(t, n_cols=tv.shape[1])
                status = lib.aerec_model_fit_csr(handle, tv.ref, vin.ref if vin else None, vtg.ref if vtg else None,
                                                 cfunc, None, ctypes.byref(summary))
                train_source = tv
        bar.close()
        if state["error"] is not None and status == _lib.OK:
            raise state["error"]
        _lib.check(status)
        self._train = train_source
        self.history_ = reports
        self.fit_summary_ = FitSummary(
            int(summary.epochs_run), int(summary.best_epoch),
            None if np.isnan(summary.best_validation) else float(summary.best_validation),
            bool(summary.stopped_early), bool(summary.stopped_by_callback), bool(state["interrupted"]),
            float(summary.seconds))
        if state["interrupted"]:
            warnings.warn(f"{name}.fit: interrupted after epoch {summary.epochs_run}; keeping the best epoch "
                          f"({summary.best_epoch})", RuntimeWarning, stacklevel=2)
        return self

    def request_stop(self) -> None:
        """Asks a running fit (in another thread) to stop after its current epoch."""
        _lib.call("aerec_model_request_stop", self.handle)

    @property
    def history(self) -> list[EpochReport]:
        """The per-epoch reports of the last fit (from the library)."""
        n = ctypes.c_int64(0)
        _lib.call("aerec_model_history", self.handle, None, 0, ctypes.byref(n))
        buf = (_lib.EpochReportStruct * max(1, n.value))()
        for b in buf:
            b.struct_size = ctypes.sizeof(_lib.EpochReportStruct)
        _lib.call("aerec_model_history", self.handle, buf, n.value, ctypes.byref(n))
        return [EpochReport._from(buf[i]) for i in range(n.value)]

    # ------------------------------------------------------------------------------- inference

    def _histories(self, users: Histories) -> tuple[CSRView, Optional[np.ndarray]]:
        """The input rows and their training rows: user indices select rows of the training matrix."""
        if sp.issparse(users) or (isinstance(users, np.ndarray) and users.ndim == 2) or isinstance(users, CSRView):
            return csr_view(users, n_cols=self.n_items or None), None
        rows = int32_array(np.atleast_1d(np.asarray(users)), "users")
        assert rows is not None
        if self._train is None:
            raise _lib.AERecError("recommend(users=indices) needs the training matrix of a fit in this session; "
                                  "pass the users' histories (a users × items sparse matrix) instead",
                                  _lib.ERR_STATE)
        train = self._train.train if isinstance(self._train, Split) else to_csr_matrix(self._train)
        if rows.size and (rows.min() < 0 or rows.max() >= train.shape[0]):
            raise _lib.AERecError(f"user indices must be training rows in 0..{train.shape[0] - 1}",
                                  _lib.ERR_INVALID_ARGUMENT)
        return csr_view(train[rows]), rows

    def recommend(self, users: Histories, k: int = 10, *, exclude: Any = None, exclude_seen: bool = True,
                  threads: Optional[int] = None) -> Recommendations:
        """Top-k items for each user.

        users: the users' histories (a users × items sparse matrix or dense array: what the model
        sees of each user), or training-row indices (an int or a sequence) of the last fit.
        exclude: more items never to recommend (a sparse matrix aligned with the users, or one
        sequence of items per user). exclude_seen: never recommend an item of the history.
        Returns (items, scores), each n × k, best first; -1 / -inf pad rows with fewer candidates."""
        k = int(k)
        if not 1 <= k < 2**31:
            raise ValueError(f"k must be in 1 .. 2^31-1, got {k}")
        view, train_rows = self._histories(users)
        n = view.shape[0]
        ex = None
        if exclude is not None:
            if sp.issparse(exclude) or isinstance(exclude, np.ndarray):
                ex = csr_view(exclude, n_cols=view.shape[1], implicit=True)
            else:
                rows = [np.unique(np.asarray(r, dtype=np.int64)) for r in exclude]
                if len(rows) != n:
                    raise ValueError(f"exclude has {len(rows)} rows for {n} users")
                indptr = np.zeros(n + 1, np.int64)
                np.cumsum([r.size for r in rows], out=indptr[1:])
                flat = np.concatenate(rows) if rows else np.zeros(0, np.int64)
                ex = CSRView(indptr, flat.astype(np.int32), None, (n, view.shape[1]))
        items = np.empty((n, int(k)), np.int32)
        scores = np.empty((n, int(k)), np.float32)
        _lib.call("aerec_model_recommend", self.handle, view.ref, int32_ptr(train_rows), int(k),
                  1 if exclude_seen else 0, ex.ref if ex is not None else None, -1 if threads is None else threads,
                  items.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                  scores.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return Recommendations(items, scores)

    def recommend_by_id(self, users: Sequence[str], history: Dataset, k: int = 10, *,
                        also_exclude: Optional[Dataset] = None,
                        threads: Optional[int] = None) -> list[UserRecommendations]:
        """Top-k lists for users given by external id, exactly as ``aerec recommend`` (Swift's
        ``SavedModel.recommend(users:history:alsoExclude:k:)``): each user's history is their rows
        in ``history`` (matched to the model's items by external id; unknown items are ignored
        and counted) and is excluded, as is everything they have in ``also_exclude`` (e.g. the
        unfiltered data)."""
        ids = [str(u) for u in ([users] if isinstance(users, str) else users)]
        k = int(k)
        if not 1 <= k < 2**31:
            raise ValueError(f"k must be in 1 .. 2^31-1, got {k}")
        if not ids:
            return []
        n = len(ids)
        arr = (ctypes.c_char_p * n)(*[u.encode() for u in ids])
        items = np.empty((n, k), np.int32)
        scores = np.empty((n, k), np.float32)
        known = np.empty(n, np.int64)
        unknown = np.empty(n, np.int64)
        P = ctypes.POINTER
        _lib.call("aerec_model_recommend_ids", self.handle, history.handle,
                  None if also_exclude is None else also_exclude.handle, arr, n, k,
                  -1 if threads is None else int(threads), items.ctypes.data_as(P(ctypes.c_int32)),
                  scores.ctypes.data_as(P(ctypes.c_float)), known.ctypes.data_as(P(ctypes.c_int64)),
                  unknown.ctypes.data_as(P(ctypes.c_int64)))
        names = self.item_ids
        out = []
        for r, u in enumerate(ids):
            filled = int((items[r] >= 0).sum())
            out.append(UserRecommendations(u, [names[i] for i in items[r, :filled]], scores[r, :filled].copy(),
                                           items[r, :filled].copy(), int(known[r]), int(unknown[r])))
        return out

    def scores(self, users: Histories, *, threads: Optional[int] = None) -> np.ndarray:
        """Every item's score for each user (n × n_items float32; ranking scores, or predicted
        ratings for AutoRec)."""
        view, train_rows = self._histories(users)
        out = np.empty((view.shape[0], self.n_items), np.float32)
        _lib.call("aerec_model_scores", self.handle, view.ref, int32_ptr(train_rows),
                  -1 if threads is None else threads, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    def encode(self, X: Any, *, threads: Optional[int] = None) -> np.ndarray:
        """The latent codes of the rows of X (n × latent_dim float32): Mult-DAE's code layer,
        Mult-VAE's μ, CDAE's hidden layer without the user node, AutoRec's hidden layer."""
        view = csr_view(X)
        out = np.empty((view.shape[0], max(1, self.latent_dim)), np.float32)
        _lib.call("aerec_model_encode", self.handle, view.ref, -1 if threads is None else threads,
                  out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    def evaluate(self, data: Any, metrics: Union[None, str, Sequence[str]] = None, *, on: str = "test",
                 batch_size: Optional[int] = None, threads: Optional[int] = None) -> EvaluationResult:
        """Full-ranking evaluation (exactly the CLI's numbers for the same model and split).

        data: a Split (``on`` = "test" or "validation"), a HeldOut, or (fold_in, target[, train_rows]).
        metrics: names such as ["ndcg@100", "recall@20", "mrr"] (None: the CLI's default set)."""
        b = -1 if batch_size is None else int(batch_size)
        t = -1 if threads is None else int(threads)
        if isinstance(data, Split):
            which = {"test": 3, "validation": 1}.get(on)
            if which is None:
                raise ValueError(f"on must be 'test' or 'validation', got {on!r}")
            return EvaluationResult(_lib.new_handle("aerec_model_evaluate", self.handle, data.handle, which,
                                                    _names(metrics), b, t))
        if isinstance(data, HeldOut):
            f, tg, rows = data.fold_in, data.target, data.train_rows
        else:
            f, tg, *rest = data
            rows = rest[0] if rest else None
        fv, tv = csr_view(f), csr_view(tg)
        r = int32_array(rows, "train_rows", fv.shape[0])
        return EvaluationResult(_lib.new_handle("aerec_model_evaluate_csr", self.handle, fv.ref, tv.ref, int32_ptr(r),
                                                _names(metrics), b, t))

    def probe(self, X: Any = None, *, users: Optional[int] = None, samples: Optional[int] = None,
              anchors: Optional[int] = None, candidates: Optional[int] = None, neighbours: Optional[int] = None,
              item_probes: Optional[int] = None, epsilon: Optional[float] = None, seed: int = 98765,
              threads: Optional[int] = None, input_space: Optional[str] = None,
              min_effective_rank: Optional[float] = None, min_order_preserved: Optional[float] = None,
              max_zero_code_fraction: Optional[float] = None) -> "ProbeReport":
        """Measures Susman's properties P1–P3 (arXiv 2411.04315) of the trained encoder on the rows
        of X (users × items; items × users for I-AutoRec), by default the training matrix of the
        last fit. See ProbeReport; None keeps the library's defaults (1000 users, 2000 triples,
        200 anchors, ε = 1e-6, AERec's pass thresholds). input_space: "normalized-binary",
        "binary" or "values" (default: what the model's encoder sees)."""
        c = _lib.ProbeConfig()
        _lib.call("aerec_probe_config_init", ctypes.byref(c))
        for name, v in (("users", users), ("samples", samples), ("anchors", anchors), ("candidates", candidates),
                        ("neighbours", neighbours), ("item_probes", item_probes), ("threads", threads)):
            if v is not None:
                setattr(c, name, int(v))
        for name, f in (("epsilon", epsilon), ("min_effective_rank", min_effective_rank),
                        ("min_order_preserved", min_order_preserved),
                        ("max_zero_code_fraction", max_zero_code_fraction)):
            if f is not None:
                setattr(c, name, float(f))
        c.seed = _lib.uint64(seed, "seed")
        if input_space is not None:
            spaces = {"normalized-binary": 0, "binary": 1, "values": 2}
            if input_space not in spaces:
                raise ValueError(f"input_space must be one of {sorted(spaces)}, got {input_space!r}")
            c.input_space = spaces[input_space]
        view = None if X is None else csr_view(X)  # None: the library's copy of the last fit's matrix
        handle = _lib.new_handle("aerec_model_probe", self.handle, view.ref if view is not None else None,
                                 ctypes.byref(c))
        return ProbeReport._from_handle(handle)

    # ------------------------------------------------------------------------------ persistence

    def save(self, path: PathLike) -> None:
        """Writes the fitted model (the CLI's model.aerec format), atomically."""
        _lib.call("aerec_model_save", self.handle, os.fsencode(path))


class MultDAE(Recommender):
    """Mult-DAE (Liang et al. 2018): [I-latent_dim-I] with dropout on the normalised input and a
    multinomial likelihood. Defaults: latent_activation "tanh", latent_dim 200, dropout 0.5,
    l2 0.01, learning_rate 1e-3, epochs 100, batch_size 500, patience 20."""

    kind = 0

    def __init__(self, latent_activation: Optional[str] = None, *, latent_dim: Optional[int] = None,
                 dropout: Optional[float] = None, l2: Optional[float] = None, learning_rate: Optional[float] = None,
                 epochs: Optional[int] = None, batch_size: Optional[int] = None, patience: Optional[int] = None,
                 seed: int = 98765, threads: int = 2, validation_metric: Optional[str] = None) -> None:
        super().__init__(latent_activation=latent_activation, latent=latent_dim, dropout=dropout, lambda_=l2,
                         learning_rate=learning_rate, epochs=epochs, batch_size=batch_size, patience=patience,
                         seed=seed, threads=threads, validation_metric=validation_metric)


class MultVAE(Recommender):
    """Mult-VAE (Liang et al. 2018): [I-hidden_dim-latent_dim-hidden_dim-I] with KL annealing; the
    latent activation is the encoder's hidden layer (μ is linear). Defaults: "tanh", hidden_dim
    600, latent_dim 200, dropout 0.5, l2 0, β reaching ``beta_cap`` (0.2) at 80 % of the planned
    updates (or after ``anneal_steps`` updates)."""

    kind = 1

    def __init__(self, latent_activation: Optional[str] = None, *, hidden_dim: Optional[int] = None,
                 latent_dim: Optional[int] = None, dropout: Optional[float] = None, l2: Optional[float] = None,
                 anneal_steps: Optional[int] = None, beta_cap: Optional[float] = None,
                 learning_rate: Optional[float] = None,
                 epochs: Optional[int] = None, batch_size: Optional[int] = None, patience: Optional[int] = None,
                 seed: int = 98765, threads: int = 2, validation_metric: Optional[str] = None) -> None:
        super().__init__(latent_activation=latent_activation, hidden=hidden_dim, latent=latent_dim, dropout=dropout,
                         lambda_=l2, anneal_steps=anneal_steps, learning_rate=learning_rate, epochs=epochs,
                         batch_size=batch_size, patience=patience, seed=seed, threads=threads,
                         validation_metric=validation_metric, beta_cap=beta_cap)


class CDAE(Recommender):
    """CDAE (Wu et al. 2016): a denoising autoencoder with a per-user input node. Defaults:
    latent_activation "sigmoid", hidden_dim 200, corruption 0.5."""

    kind = 2

    def __init__(self, latent_activation: Optional[str] = None, *, hidden_dim: Optional[int] = None,
                 corruption: Optional[float] = None, l2: Optional[float] = None,
                 learning_rate: Optional[float] = None, epochs: Optional[int] = None,
                 batch_size: Optional[int] = None, patience: Optional[int] = None, seed: int = 98765,
                 threads: int = 2, validation_metric: Optional[str] = None) -> None:
        super().__init__(latent_activation=latent_activation, hidden=hidden_dim, dropout=corruption, lambda_=l2,
                         learning_rate=learning_rate, epochs=epochs, batch_size=batch_size, patience=patience,
                         seed=seed, threads=threads, validation_metric=validation_metric)


class AutoRec(Recommender):
    """AutoRec (Sedhain et al. 2015), a rating predictor evaluated with rmse / mae:
    orientation "item" (I-AutoRec) or "user" (U-AutoRec). Defaults: latent_activation "sigmoid"."""

    kind = 3

    def __init__(self, latent_activation: Optional[str] = None, *, orientation: str = "item",
                 hidden_dim: Optional[int] = None, lambda_: Optional[float] = None,
                 learning_rate: Optional[float] = None, epochs: Optional[int] = None,
                 batch_size: Optional[int] = None, patience: Optional[int] = None, seed: int = 98765,
                 threads: int = 2, validation_metric: Optional[str] = None) -> None:
        if orientation not in ("item", "user"):
            raise ValueError(f"orientation must be 'item' or 'user', got {orientation!r}")
        super().__init__(kind=3 if orientation == "item" else 4, latent_activation=latent_activation,
                         hidden=hidden_dim, lambda_=lambda_, learning_rate=learning_rate, epochs=epochs,
                         batch_size=batch_size, patience=patience, seed=seed, threads=threads,
                         validation_metric=validation_metric)
        self.orientation = orientation


class EASE(Recommender):
    """EASE (Steck 2019), the linear closed-form reference. lambda_ default 500.

    precision: "float32" (default: the solve in place in the float32 weights, the fastest) or
    "float64" (a temporary float64 copy, 3 I^2 floats while fitting and about twice the time; the
    weights rounded to float32 once and scores summed in float64: the top-k lists of a float64
    reference such as numpy's)."""

    kind = 5

    def __init__(self, lambda_: Optional[float] = None, *, precision: Optional[str] = None, threads: int = 2,
                 validation_metric: Optional[str] = None) -> None:
        super().__init__(lambda_=lambda_, threads=threads, validation_metric=validation_metric,
                         ease_precision=precision)


class Popularity(Recommender):
    """Every user gets the items ranked by their number of training interactions."""

    kind = 6

    def __init__(self, *, threads: int = 2) -> None:
        super().__init__(threads=threads)


_CLASSES: dict[int, type[Recommender]] = {0: MultDAE, 1: MultVAE, 2: CDAE, 3: AutoRec, 4: AutoRec, 5: EASE,
                                          6: Popularity}


def load(path: PathLike) -> Recommender:
    """Loads any model file written by AERec (the CLI's DIR/model.aerec, Swift, C or Python). The
    model recommends, scores, encodes, evaluates and saves; it cannot be re-trained."""
    handle = _lib.new_handle("aerec_model_load", os.fsencode(path))
    info = _lib.ModelInfo()
    try:
        _lib.call("aerec_model_info_get", handle, ctypes.byref(info))
    except BaseException:
        _lib.lib().aerec_model_free(handle)
        raise
    cls = _CLASSES[int(info.kind)]
    m = cls._from_handle(handle)
    if cls is AutoRec:
        m.orientation = "item" if info.kind == 3 else "user"
    return m
