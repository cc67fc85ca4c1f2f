"""The C ABI under misuse, driven from Python: run as a child process by test_misuse.py (a crash
kills this process, not pytest). Every case calls the library (raw ctypes or the Python API) with
something wrong and checks the documented status or exception; the last line of output is

    misuse cases: N, unexpected: U, by category: {...}

Categories: null (NULL pointers), size (wrong struct_size), stale (freed handles, double frees),
foreign (integers and pointers that never were handles), kind (a live handle of another type),
nan (NaN and infinities), range (out-of-range enums, counts, indices), dtype (wrong dtypes and
shapes through the Python API), threads (8 threads on one model: concurrent recommend is safe, fit
while in use is busy).
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import tempfile
import threading
from collections import Counter
from typing import Any, Callable, Iterable

import numpy as np
import scipy.sparse as sp

import aerec
from aerec import _lib

L = _lib.lib()
byref = ctypes.byref
OK, INV, IO, PARSE, DATA, MF = _lib.OK, _lib.ERR_INVALID_ARGUMENT, _lib.ERR_IO, _lib.ERR_PARSE, _lib.ERR_DATA, _lib.ERR_MODEL_FILE
OOM, BUSY, STALE, STATE, UNSUP, SMALL = (_lib.ERR_OUT_OF_MEMORY, _lib.ERR_BUSY, _lib.ERR_STALE_HANDLE, _lib.ERR_STATE,
                                         _lib.ERR_UNSUPPORTED, _lib.ERR_BUFFER_TOO_SMALL)

counts: Counter = Counter()
unexpected: list[str] = []
lock = threading.Lock()


def record(category: str, label: str, ok: bool, detail: str = "") -> None:
    with lock:
        counts[category] += 1
        if not ok:
            unexpected.append(f"[{category}] {label}: {detail}")


def status(category: str, label: str, f: Callable[[], int], *allowed: int) -> None:
    """A raw call: its status must be one of `allowed`; a failure must come with a message."""
    try:
        s = f()
    except (ctypes.ArgumentError, TypeError, ValueError, OverflowError) as e:
        # ctypes refused the argument before the call: not a library case, but not a crash either
        record(category, label, False, f"ctypes refused the arguments: {e}")
        return
    msg = (L.aerec_last_error() or b"").decode(errors="replace")
    ok = s in allowed and (s == OK or msg != "")
    record(category, label, ok, f"status {s} ({msg!r}), expected {allowed}")


def raises(category: str, label: str, f: Callable[[], Any], kinds: Iterable[str] = (),
           exceptions: tuple = (aerec.AERecError, ValueError, TypeError)) -> None:
    """A Python API call that must raise one of `exceptions` (AERecError of one of `kinds` if given)."""
    try:
        f()
    except exceptions as e:
        kinds = tuple(kinds)
        if kinds and isinstance(e, aerec.AERecError) and e.kind not in kinds:
            record(category, label, False, f"AERecError {e.kind}: {e}; expected {kinds}")
        else:
            record(category, label, bool(str(e)), f"empty message from {type(e).__name__}")
        return
    except BaseException as e:  # noqa: BLE001
        record(category, label, False, f"{type(e).__name__}: {e}")
        return
    record(category, label, False, "no error")


# ------------------------------------------------------------------------------------- fixtures

rng = np.random.default_rng(3)
rows, cols = [], []
for u in range(80):
    items = rng.choice(50, size=int(rng.integers(5, 14)), replace=False)
    rows += [u] * len(items)
    cols += list(items)
values = rng.integers(1, 6, size=len(rows)).astype(np.float32)
ds = aerec.datasets.from_coo(np.array(rows), np.array(cols), values)
split = aerec.split.ratio(ds, test_fraction=0.2, validation_fraction=0.1, seed=5)
model = aerec.MultDAE("sigmoid", latent_dim=8, epochs=2, batch_size=20).fit(split, progress=False)
hist = split.test.fold_in
tmp = tempfile.mkdtemp(prefix="aerec-misuse-")
model_path = os.path.join(tmp, "m.aerec")
model.save(model_path)

# a selection report (the smallest: one candidate, one seed, one grid point)
selection = aerec.select_activation(split, aerec.MultDAE(latent_dim=8, epochs=1, batch_size=20),
                                    candidates=["sigmoid"], learning_rates=[1e-3], regularizations=[0.01], seeds=[1],
                                    progress=False)

H: dict[str, int] = {"dataset": ds.handle, "split": split.handle, "model": model.handle,
                     "selection": selection._handle}


def new(kind: str) -> int:
    """A fresh handle of `kind` (freed later by the caller)."""
    out = ctypes.c_void_p()
    if kind == "dataset":
        u = (ctypes.c_int32 * 2)(0, 1)
        assert L.aerec_dataset_from_coo(u, u, None, None, 2, -1, -1, None, None, byref(out)) == OK
    elif kind == "split":
        c = _lib.SplitConfig()
        L.aerec_split_config_init(byref(c), 1)
        assert L.aerec_split_create(ds.handle, byref(c), byref(out)) == OK
    elif kind == "model":
        c = _lib.ModelConfig()
        L.aerec_model_config_init(byref(c), 0)
        assert L.aerec_model_create(byref(c), byref(out)) == OK
    elif kind == "result":
        assert L.aerec_model_evaluate(model.handle, split.handle, 3, b"ndcg@10", -1, -1, byref(out)) == OK
    elif kind == "probe":
        c = _lib.ProbeConfig()
        L.aerec_probe_config_init(byref(c))
        c.users, c.samples, c.anchors, c.item_probes = 20, 50, 10, 20
        assert L.aerec_model_probe(model.handle, None, byref(c), byref(out)) == OK, L.aerec_last_error()
    return int(out.value)


H["result"] = new("result")
H["probe"] = new("probe")

FREE = {"dataset": "aerec_dataset_free", "split": "aerec_split_free", "model": "aerec_model_free",
        "result": "aerec_result_free", "probe": "aerec_probe_free", "selection": "aerec_selection_free"}

# buffers big enough for any call below
BIG = 1 << 16
i64buf = (ctypes.c_int64 * BIG)()
i32buf = (ctypes.c_int32 * BIG)()
i32buf2 = (ctypes.c_int32 * BIG)()
f32buf = (ctypes.c_float * (BIG * 64))()
f64buf = (ctypes.c_double * BIG)()
charbuf = ctypes.create_string_buffer(1 << 20)
n_size = ctypes.c_size_t()
n_i64 = ctypes.c_int64()
out_h = ctypes.c_void_p()
hv = aerec._convert.csr_view(hist)
tv = aerec._convert.csr_view(split.test.target, n_cols=hv.shape[1])
users_arr = (ctypes.c_char_p * 1)(ds.user_ids[0].encode())
mcfg = _lib.ModelConfig()
L.aerec_model_config_init(byref(mcfg), 0)
scfg = _lib.SelectionConfig()
L.aerec_selection_config_init(byref(scfg))
splcfg = _lib.SplitConfig()
L.aerec_split_config_init(byref(splcfg), 1)
flt = _lib.Filter()
L.aerec_filter_init(byref(flt))
pcfg = _lib.ProbeConfig()
L.aerec_probe_config_init(byref(pcfg))


def S(cls: type) -> Any:
    return byref(cls())


# Every function taking an input handle: (name, kind of the handle argument, argument builder with
# the handle in place of X). Outputs are valid buffers, so only the handle can be wrong.
X = object()
HANDLE_CALLS: list[tuple[str, str, Callable[[Any], tuple]]] = [
    ("aerec_dataset_info_get", "dataset", lambda h: (h, S(_lib.DatasetInfo))),
    ("aerec_dataset_matrix_info", "dataset", lambda h: (h, S(_lib.MatrixInfo))),
    ("aerec_dataset_matrix_copy", "dataset", lambda h: (h, i64buf, i32buf, f32buf)),
    ("aerec_dataset_ids", "dataset", lambda h: (h, 0, charbuf, len(charbuf), byref(n_size))),
    ("aerec_dataset_filter", "dataset", lambda h: (h, byref(flt), byref(out_h))),
    ("aerec_split_create", "dataset", lambda h: (h, byref(splcfg), byref(out_h))),
    ("aerec_split_info_get", "split", lambda h: (h, S(_lib.SplitInfo))),
    ("aerec_split_part_info", "split", lambda h: (h, 0, S(_lib.MatrixInfo))),
    ("aerec_split_part_copy", "split", lambda h: (h, 0, i64buf, i32buf, f32buf, i32buf2, None)),
    ("aerec_split_ids", "split", lambda h: (h, 1, charbuf, len(charbuf), byref(n_size))),
    ("aerec_split_export", "split", lambda h: (h, os.path.join(tmp, "exported").encode())),
    ("aerec_model_fit", "split", lambda h: (H["model"], h, _lib.EPOCH_CALLBACK(), None, None)),
    ("aerec_model_evaluate", "split", lambda h: (H["model"], h, 3, None, -1, -1, byref(out_h))),
    ("aerec_select_activation", "split", lambda h: (h, byref(mcfg), byref(scfg), _lib.SELECTION_CALLBACK(), None,
                                                    byref(out_h))),
    ("aerec_model_info_get", "model", lambda h: (h, S(_lib.ModelInfo))),
    ("aerec_model_history", "model", lambda h: (h, None, 0, byref(n_i64))),
    ("aerec_model_recommend", "model", lambda h: (h, hv.ref, None, 5, 1, None, -1, i32buf, f32buf)),
    ("aerec_model_recommend_ids", "model", lambda h: (h, H["dataset"], None, users_arr, 1, 5, -1, i32buf, None, None,
                                                      None)),
    ("aerec_model_scores", "model", lambda h: (h, hv.ref, None, -1, f32buf)),
    ("aerec_model_encode", "model", lambda h: (h, hv.ref, -1, f32buf)),
    ("aerec_model_evaluate(model)", "model", lambda h: (h, H["split"], 3, None, -1, -1, byref(out_h))),
    ("aerec_model_evaluate_csr", "model", lambda h: (h, hv.ref, tv.ref, None, None, -1, -1, byref(out_h))),
    ("aerec_model_save", "model", lambda h: (h, os.path.join(tmp, "never.aerec").encode())),
    ("aerec_model_ids", "model", lambda h: (h, 1, charbuf, len(charbuf), byref(n_size))),
    ("aerec_model_fit(model)", "model", lambda h: (h, H["split"], _lib.EPOCH_CALLBACK(), None, None)),
    ("aerec_model_fit_csr", "model", lambda h: (h, hv.ref, None, None, _lib.EPOCH_CALLBACK(), None, None)),
    ("aerec_model_request_stop", "model", lambda h: (h,)),
    ("aerec_model_set_checkpointing", "model", lambda h: (h, None, 1, 0)),
    ("aerec_model_probe", "model", lambda h: (h, None, None, byref(out_h))),
    ("aerec_result_info_get", "result", lambda h: (h, S(_lib.ResultInfo))),
    ("aerec_result_metric", "result", lambda h: (h, 0, S(_lib.MetricValueStruct))),
    ("aerec_result_per_user", "result", lambda h: (h, 0, f64buf, BIG, byref(n_i64))),
    ("aerec_result_users", "result", lambda h: (h, i32buf, BIG, byref(n_i64))),
    ("aerec_probe_scores_get", "probe", lambda h: (h, S(_lib.ProbeScores))),
    ("aerec_probe_json", "probe", lambda h: (h, charbuf, len(charbuf), byref(n_size))),
    ("aerec_selection_summary_get", "selection", lambda h: (h, S(_lib.SelectionSummary))),
    ("aerec_selection_render", "selection", lambda h: (h, 0, charbuf, len(charbuf), byref(n_size))),
]
for kind, free_name in FREE.items():
    HANDLE_CALLS.append((free_name, kind, lambda h: (h,)))


def fn(name: str) -> Any:
    return getattr(L, name.split("(")[0])


# ------------------------------------------------------------------ stale, foreign, kind, NULL

freed = {}
for kind in FREE:
    if kind == "selection":
        out = ctypes.c_void_p()
        c = _lib.SelectionConfig()
        L.aerec_selection_config_init(byref(c))
        c.candidates, c.learning_rates, c.regularizations, c.seeds = b"sigmoid", b"0.001", b"0.01", b"1"
        base = _lib.ModelConfig()
        L.aerec_model_config_init(byref(base), 0)
        base.latent, base.epochs, base.batch_size = 8, 1, 20
        assert L.aerec_select_activation(split.handle, byref(base), byref(c), _lib.SELECTION_CALLBACK(), None,
                                         byref(out)) == OK, L.aerec_last_error()
        h = int(out.value)
    else:
        h = new(kind)
    assert getattr(L, FREE[kind])(h) == OK
    freed[kind] = h

info_struct = _lib.DatasetInfo()
FOREIGN = {"one": 1, "deadbeef": 0xDEADBEEF, "int64max": 2**63 - 1, "struct address": ctypes.addressof(info_struct)}
other_kind = {"dataset": "split", "split": "model", "model": "dataset", "result": "probe", "probe": "selection",
              "selection": "result"}

for name, kind, build in HANDLE_CALLS:
    f = fn(name)
    is_free = name.endswith("_free")
    status("stale", f"{name} on a freed {kind}", lambda: f(*build(freed[kind])), STALE)
    for label, v in FOREIGN.items():
        allowed = (INV, STALE) if label == "struct address" else (INV,)
        status("foreign", f"{name} on {label}", lambda v=v: f(*build(v)), *allowed)
    status("kind", f"{name} on a {other_kind[kind]} handle", lambda: f(*build(H[other_kind[kind]])), INV)
    status("null", f"{name} with a NULL {kind}", lambda: f(*build(None)), OK if is_free else INV)

# handles still work after all that, and a double free of every kind is stale
status("stale", "model still usable", lambda: L.aerec_model_info_get(H["model"], S(_lib.ModelInfo)), OK)
for kind, h in freed.items():
    status("stale", f"second free of a {kind}", lambda h=h, kind=kind: getattr(L, FREE[kind])(h), STALE)

# ---------------------------------------------------------------------------- NULL arguments

NULL_CASES: list[tuple[str, Callable[[], int], tuple]] = [
    ("blas_info_get(NULL)", lambda: L.aerec_blas_info_get(None), (INV,)),
    ("filter_init(NULL)", lambda: L.aerec_filter_init(None), (INV,)),
    ("dataset_read(NULL path)", lambda: L.aerec_dataset_read(None, None, None, byref(out_h)), (INV,)),
    ("dataset_read(NULL out)", lambda: L.aerec_dataset_read(model_path.encode(), None, None, None), (INV,)),
    ("dataset_from_coo(NULL users)", lambda: L.aerec_dataset_from_coo(None, i32buf, None, None, 3, -1, -1, None, None,
                                                                     byref(out_h)), (INV,)),
    ("dataset_from_coo(NULL items)", lambda: L.aerec_dataset_from_coo(i32buf, None, None, None, 3, -1, -1, None, None,
                                                                     byref(out_h)), (INV,)),
    ("dataset_from_coo(NULL out)", lambda: L.aerec_dataset_from_coo(i32buf, i32buf, None, None, 3, -1, -1, None, None,
                                                                   None), (INV,)),
    ("dataset_from_csr(NULL matrix)", lambda: L.aerec_dataset_from_csr(None, None, None, byref(out_h)), (INV,)),
    ("dataset_from_csr(NULL indptr)", lambda: L.aerec_dataset_from_csr(byref(_lib.CSR(2, 2, None, None, None)), None,
                                                                      None, byref(out_h)), (INV,)),
    ("dataset_filter(NULL filter)", lambda: L.aerec_dataset_filter(H["dataset"], None, byref(out_h)), (INV,)),
    ("dataset_filter(NULL out)", lambda: L.aerec_dataset_filter(H["dataset"], byref(flt), None), (INV,)),
    ("dataset_info_get(NULL out)", lambda: L.aerec_dataset_info_get(H["dataset"], None), (INV,)),
    ("dataset_matrix_info(NULL out)", lambda: L.aerec_dataset_matrix_info(H["dataset"], None), (INV,)),
    ("dataset_matrix_copy(NULL indptr)", lambda: L.aerec_dataset_matrix_copy(H["dataset"], None, i32buf, f32buf), (INV,)),
    ("dataset_matrix_copy(NULL indices)", lambda: L.aerec_dataset_matrix_copy(H["dataset"], i64buf, None, f32buf), (INV,)),
    ("dataset_ids(NULL needed)", lambda: L.aerec_dataset_ids(H["dataset"], 0, charbuf, len(charbuf), None), (INV,)),
    ("dataset_ids(NULL buf, capacity 10)", lambda: L.aerec_dataset_ids(H["dataset"], 0, None, 10, byref(n_size)),
     (INV, SMALL)),
    ("split_config_init(NULL)", lambda: L.aerec_split_config_init(None, 0), (INV,)),
    ("split_create(NULL config)", lambda: L.aerec_split_create(H["dataset"], None, byref(out_h)), (INV,)),
    ("split_create(NULL out)", lambda: L.aerec_split_create(H["dataset"], byref(splcfg), None), (INV,)),
    ("split_info_get(NULL out)", lambda: L.aerec_split_info_get(H["split"], None), (INV,)),
    ("split_part_info(NULL out)", lambda: L.aerec_split_part_info(H["split"], 0, None), (INV,)),
    ("split_part_copy(NULL indptr)", lambda: L.aerec_split_part_copy(H["split"], 0, None, i32buf, None, None, None),
     (INV,)),
    ("split_export(NULL dir)", lambda: L.aerec_split_export(H["split"], None), (INV,)),
    ("split_load(NULL dir)", lambda: L.aerec_split_load(None, byref(out_h)), (INV,)),
    ("split_load(NULL out)", lambda: L.aerec_split_load(tmp.encode(), None), (INV,)),
    ("model_config_init(NULL)", lambda: L.aerec_model_config_init(None, 0), (INV,)),
    ("model_create(NULL config)", lambda: L.aerec_model_create(None, byref(out_h)), (INV,)),
    ("model_create(NULL out)", lambda: L.aerec_model_create(byref(mcfg), None), (INV,)),
    ("model_fit_csr(NULL train)", lambda: L.aerec_model_fit_csr(H["model"], None, None, None, _lib.EPOCH_CALLBACK(),
                                                                None, None), (INV,)),
    ("model_fit_csr(fold-in without target)", lambda: L.aerec_model_fit_csr(H["model"], hv.ref, hv.ref, None,
                                                                            _lib.EPOCH_CALLBACK(), None, None),
     (INV, STATE)),
    ("model_info_get(NULL out)", lambda: L.aerec_model_info_get(H["model"], None), (INV,)),
    ("model_history(NULL count)", lambda: L.aerec_model_history(H["model"], None, 0, None), (INV,)),
    ("model_recommend(NULL histories)", lambda: L.aerec_model_recommend(H["model"], None, None, 5, 1, None, -1, i32buf,
                                                                        None), (INV,)),
    ("model_recommend(NULL out_items)", lambda: L.aerec_model_recommend(H["model"], hv.ref, None, 5, 1, None, -1, None,
                                                                        None), (INV,)),
    ("model_recommend_ids(NULL history)", lambda: L.aerec_model_recommend_ids(H["model"], None, None, users_arr, 1, 5,
                                                                              -1, i32buf, None, None, None), (INV,)),
    ("model_recommend_ids(NULL users)", lambda: L.aerec_model_recommend_ids(H["model"], H["dataset"], None, None, 1, 5,
                                                                            -1, i32buf, None, None, None), (INV,)),
    ("model_recommend_ids(NULL user string)", lambda: L.aerec_model_recommend_ids(
        H["model"], H["dataset"], None, (ctypes.c_char_p * 1)(None), 1, 5, -1, i32buf, None, None, None), (INV,)),
    ("model_scores(NULL out)", lambda: L.aerec_model_scores(H["model"], hv.ref, None, -1, None), (INV,)),
    ("model_encode(NULL input)", lambda: L.aerec_model_encode(H["model"], None, -1, f32buf), (INV,)),
    ("model_encode(NULL out)", lambda: L.aerec_model_encode(H["model"], hv.ref, -1, None), (INV,)),
    ("model_evaluate(NULL out)", lambda: L.aerec_model_evaluate(H["model"], H["split"], 3, None, -1, -1, None), (INV,)),
    ("model_evaluate_csr(NULL target)", lambda: L.aerec_model_evaluate_csr(H["model"], hv.ref, None, None, None, -1, -1,
                                                                           byref(out_h)), (INV,)),
    ("model_save(NULL path)", lambda: L.aerec_model_save(H["model"], None), (INV,)),
    ("model_load(NULL path)", lambda: L.aerec_model_load(None, byref(out_h)), (INV,)),
    ("model_load(NULL out)", lambda: L.aerec_model_load(model_path.encode(), None), (INV,)),
    ("model_ids(NULL needed)", lambda: L.aerec_model_ids(H["model"], 1, charbuf, len(charbuf), None), (INV,)),
    ("result_info_get(NULL out)", lambda: L.aerec_result_info_get(H["result"], None), (INV,)),
    ("result_metric(NULL out)", lambda: L.aerec_result_metric(H["result"], 0, None), (INV,)),
    ("result_per_user(NULL count)", lambda: L.aerec_result_per_user(H["result"], 0, f64buf, BIG, None), (INV,)),
    ("result_per_user(NULL out, capacity 5)", lambda: L.aerec_result_per_user(H["result"], 0, None, 5, byref(n_i64)),
     (INV,)),
    ("result_users(NULL count)", lambda: L.aerec_result_users(H["result"], i32buf, BIG, None), (INV,)),
    ("metrics_from_rankings(NULL rankings)", lambda: L.aerec_metrics_from_rankings(None, tv.ref, 50, None, byref(out_h)),
     (INV,)),
    ("metrics_from_rankings(NULL out)", lambda: L.aerec_metrics_from_rankings(tv.ref, tv.ref, 50, None, None), (INV,)),
    ("metrics_from_ratings(NULL indptr)", lambda: L.aerec_metrics_from_ratings(2, None, f32buf, f32buf, None,
                                                                                byref(out_h)), (INV,)),
    ("metrics_from_ratings(NULL predicted)", lambda: L.aerec_metrics_from_ratings(
        1, (ctypes.c_int64 * 2)(0, 1), None, f32buf, None, byref(out_h)), (INV,)),
    ("probe_config_init(NULL)", lambda: L.aerec_probe_config_init(None), (INV,)),
    ("model_probe(NULL out)", lambda: L.aerec_model_probe(H["model"], None, None, None), (INV,)),
    ("probe_scores_get(NULL out)", lambda: L.aerec_probe_scores_get(H["probe"], None), (INV,)),
    ("probe_json(NULL needed)", lambda: L.aerec_probe_json(H["probe"], charbuf, len(charbuf), None), (INV,)),
    ("selection_config_init(NULL)", lambda: L.aerec_selection_config_init(None), (INV,)),
    ("select_activation(NULL base)", lambda: L.aerec_select_activation(H["split"], None, byref(scfg),
                                                                        _lib.SELECTION_CALLBACK(), None, byref(out_h)),
     (INV,)),
    ("select_activation(NULL out)", lambda: L.aerec_select_activation(H["split"], byref(mcfg), byref(scfg),
                                                                       _lib.SELECTION_CALLBACK(), None, None), (INV,)),
    ("selection_summary_get(NULL out)", lambda: L.aerec_selection_summary_get(H["selection"], None), (INV,)),
    ("selection_render(NULL needed)", lambda: L.aerec_selection_render(H["selection"], 0, charbuf, len(charbuf), None),
     (INV,)),
    ("status_string(-99)", lambda: 0 if L.aerec_status_string(-99) == b"unknown status" else 1, (OK,)),
]
for label, f, allowed in NULL_CASES:
    status("null", label, f, *allowed)

# ----------------------------------------------------------------------- wrong struct sizes


def sized(cls: type, size: int) -> Any:
    s = cls()
    s.struct_size = size
    return s


def inited(cls: type, init: str, *args: Any) -> Callable[[int], Any]:
    def make(size: int) -> Any:
        s = cls()
        getattr(L, init)(byref(s), *args)
        s.struct_size = size
        return s
    return make


SIZE_CASES: list[tuple[str, type, Callable[[Any], int]]] = [
    ("blas_info_get", _lib.BLASInfo, lambda s: L.aerec_blas_info_get(byref(s))),
    ("dataset_info_get", _lib.DatasetInfo, lambda s: L.aerec_dataset_info_get(H["dataset"], byref(s))),
    ("dataset_matrix_info", _lib.MatrixInfo, lambda s: L.aerec_dataset_matrix_info(H["dataset"], byref(s))),
    ("split_info_get", _lib.SplitInfo, lambda s: L.aerec_split_info_get(H["split"], byref(s))),
    ("split_part_info", _lib.MatrixInfo, lambda s: L.aerec_split_part_info(H["split"], 0, byref(s))),
    ("model_info_get", _lib.ModelInfo, lambda s: L.aerec_model_info_get(H["model"], byref(s))),
    ("result_info_get", _lib.ResultInfo, lambda s: L.aerec_result_info_get(H["result"], byref(s))),
    ("result_metric", _lib.MetricValueStruct, lambda s: L.aerec_result_metric(H["result"], 0, byref(s))),
    ("probe_scores_get", _lib.ProbeScores, lambda s: L.aerec_probe_scores_get(H["probe"], byref(s))),
    ("selection_summary_get", _lib.SelectionSummary, lambda s: L.aerec_selection_summary_get(H["selection"], byref(s))),
]
INPUT_SIZE_CASES: list[tuple[str, Callable[[int], Any], Callable[[Any], int]]] = [
    ("dataset_read(filter)", inited(_lib.Filter, "aerec_filter_init"),
     lambda s: L.aerec_dataset_read(b"/nonexistent.tsv", None, byref(s), byref(out_h))),
    ("dataset_filter(filter)", inited(_lib.Filter, "aerec_filter_init"),
     lambda s: L.aerec_dataset_filter(H["dataset"], byref(s), byref(out_h))),
    ("split_create(config)", inited(_lib.SplitConfig, "aerec_split_config_init", 1),
     lambda s: L.aerec_split_create(H["dataset"], byref(s), byref(out_h))),
    ("model_create(config)", inited(_lib.ModelConfig, "aerec_model_config_init", 0),
     lambda s: L.aerec_model_create(byref(s), byref(out_h))),
    ("model_probe(config)", inited(_lib.ProbeConfig, "aerec_probe_config_init"),
     lambda s: L.aerec_model_probe(H["model"], None, byref(s), byref(out_h))),
    ("select_activation(config)", inited(_lib.SelectionConfig, "aerec_selection_config_init"),
     lambda s: L.aerec_select_activation(H["split"], byref(mcfg), byref(s), _lib.SELECTION_CALLBACK(), None,
                                         byref(out_h))),
    ("select_activation(base)", inited(_lib.ModelConfig, "aerec_model_config_init", 0),
     lambda s: L.aerec_select_activation(H["split"], byref(s), byref(scfg), _lib.SELECTION_CALLBACK(), None,
                                         byref(out_h))),
]
# documented exception: aerec_model_history writes whole reports (struct_size included)
for bad in (0, 8, 2**63):
    status("size", f"model_history overwrites struct_size {bad}", lambda bad=bad: L.aerec_model_history(
        H["model"], byref(sized(_lib.EpochReportStruct, bad)), 1, byref(n_i64)), OK)
for name, cls, call in SIZE_CASES:
    size = ctypes.sizeof(cls)
    for bad in (0, 8, size - 8, size + 8, 2**63):
        status("size", f"{name} with struct_size {bad}", lambda bad=bad: call(sized(cls, bad)), INV)
for name, make, call in INPUT_SIZE_CASES:
    size = ctypes.sizeof(_lib.ModelConfig)  # placeholder; the real size comes from the made struct
    s0 = make(0)
    size = ctypes.sizeof(s0)
    for bad in (0, 8, size - 8, size + 8, 2**63):
        status("size", f"{name} with struct_size {bad}", lambda bad=bad: call(make(bad)), INV)

# ----------------------------------------------------------------------------- NaN, ±inf


def model_config(**fields: Any) -> Any:
    c = _lib.ModelConfig()
    L.aerec_model_config_init(byref(c), 0)
    for k, v in fields.items():
        setattr(c, k, v)
    return c


for field in ("learning_rate", "lambda_", "dropout"):
    for v in (math.nan, math.inf, -math.inf):
        status("nan", f"model_create {field}={v}", lambda f=field, v=v: L.aerec_model_create(byref(model_config(**{f: v})),
                                                                                             byref(out_h)), INV)
for v in (math.nan, math.inf, -math.inf):
    f_ = _lib.Filter()
    L.aerec_filter_init(byref(f_))
    f_.has_threshold, f_.threshold = 1, v
    status("nan", f"dataset_filter threshold={v}", lambda f_=f_: L.aerec_dataset_filter(H["dataset"], byref(f_),
                                                                                         byref(out_h)), INV)
for field in ("target_fraction", "test_fraction", "validation_fraction"):
    for v in (math.nan, math.inf):
        c = _lib.SplitConfig()
        L.aerec_split_config_init(byref(c), 0 if field == "target_fraction" else 1)
        setattr(c, field, v)
        status("nan", f"split_create {field}={v}", lambda c=c: L.aerec_split_create(H["dataset"], byref(c),
                                                                                    byref(out_h)), INV)
for field in ("epsilon", "min_effective_rank", "min_order_preserved", "max_zero_code_fraction"):
    c = _lib.ProbeConfig()
    L.aerec_probe_config_init(byref(c))
    setattr(c, field, math.nan)
    status("nan", f"model_probe {field}=nan", lambda c=c: L.aerec_model_probe(H["model"], None, byref(c), byref(out_h)),
           INV)
c = _lib.SelectionConfig()
L.aerec_selection_config_init(byref(c))
c.significance_level = math.nan
status("nan", "select_activation significance=nan", lambda: L.aerec_select_activation(
    H["split"], byref(mcfg), byref(c), _lib.SELECTION_CALLBACK(), None, byref(out_h)), INV)
ip = (ctypes.c_int64 * 2)(0, 2)
for which in ("predicted", "actual"):
    bad = (ctypes.c_float * 2)(1.0, math.nan)
    good = (ctypes.c_float * 2)(1.0, 2.0)
    args = (bad, good) if which == "predicted" else (good, bad)
    status("nan", f"metrics_from_ratings NaN {which}", lambda args=args: L.aerec_metrics_from_ratings(
        1, ip, args[0], args[1], None, byref(out_h)), INV)
nan_hist = hist.copy().astype(np.float32)
nan_hist.data[:] = np.nan
nv = aerec._convert.csr_view(nan_hist)
status("nan", "dataset_from_csr NaN values", lambda: L.aerec_dataset_from_csr(nv.ref, None, None, byref(out_h)), INV)
status("nan", "model_fit_csr NaN values", lambda: L.aerec_model_fit_csr(new("model"), nv.ref, None, None,
                                                                        _lib.EPOCH_CALLBACK(), None, None), INV)
inf_hist = hist.copy().astype(np.float32)
inf_hist.data[:] = np.inf
iv = aerec._convert.csr_view(inf_hist)
status("nan", "dataset_from_csr inf values", lambda: L.aerec_dataset_from_csr(iv.ref, None, None, byref(out_h)), INV)
status("nan", "model_scores inf history", lambda: L.aerec_model_scores(H["model"], iv.ref, None, -1, f32buf), INV, OK)
raises("nan", "Dataset.filter(threshold=nan)", lambda: ds.filter(threshold=float("nan")))
raises("nan", "MultDAE(learning_rate=nan)", lambda: aerec.MultDAE(learning_rate=float("nan")))
raises("nan", "MultVAE(dropout=inf)", lambda: aerec.MultVAE(dropout=float("inf")))
raises("nan", "split.ratio(test_fraction=nan)", lambda: aerec.split.ratio(ds, test_fraction=float("nan")))
raises("nan", "from_coo NaN values", lambda: aerec.datasets.from_coo([0, 1], [0, 1], [1.0, float("nan")]))

# ------------------------------------------------------------------------- out of range

RANGE_CASES: list[tuple[str, Callable[[], int], tuple]] = [
    ("model_config_init kind 99", lambda: L.aerec_model_config_init(byref(_lib.ModelConfig()), 99), (INV,)),
    ("model_config_init kind -1", lambda: L.aerec_model_config_init(byref(_lib.ModelConfig()), -1), (INV,)),
    ("model_create kind 7", lambda: L.aerec_model_create(byref(model_config(kind=7)), byref(out_h)), (INV,)),
    ("model_create threads 0", lambda: L.aerec_model_create(byref(model_config(threads=0)), byref(out_h)), (INV,)),
    ("model_create threads 257", lambda: L.aerec_model_create(byref(model_config(threads=257)), byref(out_h)), (INV,)),
    ("model_create latent 0", lambda: L.aerec_model_create(byref(model_config(latent=0)), byref(out_h)), (INV,)),
    ("model_create latent -2", lambda: L.aerec_model_create(byref(model_config(latent=-2)), byref(out_h)), (INV,)),
    ("model_create batch 0", lambda: L.aerec_model_create(byref(model_config(batch_size=0)), byref(out_h)), (INV,)),
    ("model_create epochs -3", lambda: L.aerec_model_create(byref(model_config(epochs=-3)), byref(out_h)), (INV,)),
    ("model_create optimizer 4", lambda: L.aerec_model_create(byref(model_config(optimizer=4)), byref(out_h)), (INV,)),
    ("model_create activation 'tahn'", lambda: L.aerec_model_create(byref(model_config(latent_activation=b"tahn")),
                                                                    byref(out_h)), (INV,)),
    ("model_create metric 'ndcg@0'", lambda: L.aerec_model_create(byref(model_config(validation_metric=b"ndcg@0")),
                                                                  byref(out_h)), (INV,)),
    ("split_config_init protocol 9", lambda: L.aerec_split_config_init(byref(_lib.SplitConfig()), 9), (INV,)),
    ("split_part_info part 77", lambda: L.aerec_split_part_info(H["split"], 77, S(_lib.MatrixInfo)), (INV,)),
    ("split_part_info part -1", lambda: L.aerec_split_part_info(H["split"], -1, S(_lib.MatrixInfo)), (INV,)),
    ("dataset_ids which 5", lambda: L.aerec_dataset_ids(H["dataset"], 5, charbuf, len(charbuf), byref(n_size)), (INV,)),
    ("dataset_ids capacity 1", lambda: L.aerec_dataset_ids(H["dataset"], 0, charbuf, 1, byref(n_size)), (SMALL,)),
    ("model_ids which -1", lambda: L.aerec_model_ids(H["model"], -1, charbuf, len(charbuf), byref(n_size)), (INV,)),
    ("model_recommend k 0", lambda: L.aerec_model_recommend(H["model"], hv.ref, None, 0, 1, None, -1, i32buf, None),
     (INV,)),
    ("model_recommend k -5", lambda: L.aerec_model_recommend(H["model"], hv.ref, None, -5, 1, None, -1, i32buf, None),
     (INV,)),
    ("model_recommend k 2^40", lambda: L.aerec_model_recommend(H["model"], hv.ref, None, 2**40, 1, None, -1, i32buf,
                                                              None), (INV, OOM)),
    ("model_recommend flags 8", lambda: L.aerec_model_recommend(H["model"], hv.ref, None, 5, 8, None, -1, i32buf, None),
     (INV,)),
    ("model_recommend threads 0 (documented: the model's)", lambda: L.aerec_model_recommend(
        H["model"], hv.ref, None, 5, 1, None, 0, i32buf, None), (OK,)),
    ("model_recommend threads -7", lambda: L.aerec_model_recommend(H["model"], hv.ref, None, 5, 1, None, -7, i32buf,
                                                                  None), (INV,)),
    ("model_recommend threads 100000", lambda: L.aerec_model_recommend(H["model"], hv.ref, None, 5, 1, None, 100000,
                                                                      i32buf, None), (INV,)),
    ("model_recommend_ids n_users -1", lambda: L.aerec_model_recommend_ids(H["model"], H["dataset"], None, users_arr, -1,
                                                                           5, -1, i32buf, None, None, None), (INV,)),
    ("model_recommend_ids unknown user", lambda: L.aerec_model_recommend_ids(
        H["model"], H["dataset"], None, (ctypes.c_char_p * 1)(b"nobody"), 1, 5, -1, i32buf, None, None, None), (DATA,)),
    ("model_evaluate heldout 2", lambda: L.aerec_model_evaluate(H["model"], H["split"], 2, None, -1, -1, byref(out_h)),
     (INV,)),
    ("model_evaluate batch 0 (documented: the model's)", lambda: L.aerec_model_evaluate(
        H["model"], H["split"], 3, None, 0, -1, byref(out_h)), (OK,)),
    ("model_evaluate batch -2", lambda: L.aerec_model_evaluate(H["model"], H["split"], 3, None, -2, -1, byref(out_h)),
     (INV,)),
    ("model_evaluate metric 'bogus@5'", lambda: L.aerec_model_evaluate(H["model"], H["split"], 3, b"bogus@5", -1, -1,
                                                                      byref(out_h)), (INV,)),
    ("model_history capacity -1", lambda: L.aerec_model_history(H["model"], None, -1, byref(n_i64)), (INV,)),
    ("result_metric index -1", lambda: L.aerec_result_metric(H["result"], -1, S(_lib.MetricValueStruct)), (INV,)),
    ("result_metric index 2^40", lambda: L.aerec_result_metric(H["result"], 2**40, S(_lib.MetricValueStruct)), (INV,)),
    ("result_per_user capacity -3", lambda: L.aerec_result_per_user(H["result"], 0, f64buf, -3, byref(n_i64)), (INV,)),
    ("selection_render format 9", lambda: L.aerec_selection_render(H["selection"], 9, charbuf, len(charbuf),
                                                                   byref(n_size)), (INV,)),
    ("set_checkpointing every 0", lambda: L.aerec_model_set_checkpointing(new("model"), tmp.encode(), 0, 0), (INV,)),
    ("set_checkpointing resume 3", lambda: L.aerec_model_set_checkpointing(new("model"), tmp.encode(), 1, 3), (INV,)),
    ("set_checkpointing on a loaded model", lambda: L.aerec_model_set_checkpointing(
        aerec.load(model_path)._handle_keep(), tmp.encode(), 1, 0), (STATE,)),
    ("dataset_from_coo count 2^62", lambda: L.aerec_dataset_from_coo(i32buf, i32buf, None, None, 2**62, -1, -1, None,
                                                                     None, byref(out_h)), (INV, OOM)),
    ("dataset_from_coo negative index", lambda: L.aerec_dataset_from_coo((ctypes.c_int32 * 2)(0, -4), i32buf, None, None,
                                                                         2, -1, -1, None, None, byref(out_h)), (INV,)),
    ("dataset_from_coo index ≥ n_users", lambda: L.aerec_dataset_from_coo((ctypes.c_int32 * 2)(0, 9), i32buf, None,
                                                                          None, 2, 5, -1, None, None, byref(out_h)),
     (INV,)),
    ("dataset_from_csr indptr not monotone", lambda: L.aerec_dataset_from_csr(byref(_lib.CSR(
        2, 5, (ctypes.c_int64 * 3)(0, 3, 1), i32buf, None)), None, None, byref(out_h)), (INV,)),
    ("dataset_from_csr column out of range", lambda: L.aerec_dataset_from_csr(byref(_lib.CSR(
        1, 5, (ctypes.c_int64 * 2)(0, 1), (ctypes.c_int32 * 1)(7), None)), None, None, byref(out_h)), (INV,)),
    ("model_recommend wrong column count", lambda: L.aerec_model_recommend(H["model"], byref(_lib.CSR(
        1, 3, (ctypes.c_int64 * 2)(0, 1), (ctypes.c_int32 * 1)(0), None)), None, 5, 1, None, -1, i32buf, None), (INV,)),
    ("model_recommend train_rows out of range", lambda: L.aerec_model_recommend(
        H["model"], hv.ref, (ctypes.c_int32 * hv.shape[0])(*([10**8] * hv.shape[0])), 5, 1, None, -1, i32buf, None),
     (INV, OK)),
    ("model_load a directory", lambda: L.aerec_model_load(tmp.encode(), byref(out_h)), (IO,)),
    ("model_load a data file", lambda: L.aerec_model_load(os.path.join(tmp, "data.tsv").encode(), byref(out_h)), (MF, IO)),
    ("dataset_read a model file", lambda: L.aerec_dataset_read(model_path.encode(), None, None, byref(out_h)),
     (PARSE, DATA, IO)),
    ("model_save into a missing directory", lambda: L.aerec_model_save(H["model"], b"/nonexistent/dir/m.aerec"), (IO,)),
    ("encode on EASE", lambda: L.aerec_model_encode(aerec.EASE(lambda_=10.0).fit(split, progress=False)._handle_keep(),
                                                    hv.ref, -1, f32buf), (UNSUP,)),
    ("recommend on an unfitted model", lambda: L.aerec_model_recommend(new("model"), hv.ref, None, 5, 1, None, -1,
                                                                       i32buf, None), (STATE,)),
    ("fit: latent width ≥ items", lambda: L.aerec_model_fit(
        L_model_with(latent=60), H["split"], _lib.EPOCH_CALLBACK(), None, None), (INV,)),
    ("fit: memory estimate above the machine's", lambda: L.aerec_model_fit(
        L_model_with(kind=1, hidden=1 << 24, latent=8), H["split"], _lib.EPOCH_CALLBACK(), None, None), (OOM, INV)),
]


def L_model_with(**fields: Any) -> int:
    out = ctypes.c_void_p()
    assert L.aerec_model_create(byref(model_config(**fields)), byref(out)) == OK, L.aerec_last_error()
    return int(out.value)


with open(os.path.join(tmp, "data.tsv"), "w") as fh:
    fh.write("user\titem\tvalue\n1\t2\t3\n")


def _keep(self: Any) -> int:
    """The raw handle, kept alive for the rest of the script."""
    _kept.append(self)
    return self.handle


_kept: list = []
aerec.Recommender._handle_keep = _keep  # type: ignore[attr-defined]
for label, f, allowed in RANGE_CASES:
    status("range", label, f, *allowed)

# ---------------------------------------------------------- wrong dtypes through the Python API

DTYPE_CASES: list[tuple[str, Callable[[], Any]]] = [
    ("recommend(string)", lambda: model.recommend("alice", k=3)),
    ("recommend(float user indices)", lambda: model.recommend([0.5, 1.5], k=3)),
    ("recommend(object array)", lambda: model.recommend(np.array([object(), object()]), k=3)),
    ("recommend(3-D array)", lambda: model.recommend(np.zeros((2, 3, 4)), k=3)),
    ("recommend(complex matrix)", lambda: model.recommend(np.ones((1, hist.shape[1]), np.complex64) * 1j, k=3)),
    ("recommend(wrong column count)", lambda: model.recommend(sp.csr_matrix((2, 7), dtype=np.float32), k=3)),
    ("recommend(k=0)", lambda: model.recommend(hist, k=0)),
    ("recommend(k=-1)", lambda: model.recommend(hist, k=-1)),
    ("recommend(k='10')", lambda: model.recommend(hist, k="ten")),
    ("recommend(k=2**31)", lambda: model.recommend(hist, k=2**31)),
    ("recommend(user index 10**9)", lambda: model.recommend([10**9], k=3)),
    ("recommend(negative user index)", lambda: model.recommend([-3], k=3)),
    ("recommend(exclude ragged, wrong length)", lambda: model.recommend(hist[:2], k=3, exclude=[[1]])),
    ("scores(string matrix)", lambda: model.scores(np.array([["a", "b"]]))),
    ("encode(wrong width)", lambda: model.encode(np.ones((2, 3), np.float32))),
    ("evaluate(metric 5)", lambda: model.evaluate(split, metrics=[5])),
    ("evaluate('ndcg@0')", lambda: model.evaluate(split, metrics="ndcg@0")),
    ("from_coo(float users)", lambda: aerec.datasets.from_coo([0.5, 1.5], [0, 1])),
    ("from_coo(string items)", lambda: aerec.datasets.from_coo([0, 1], ["a", "b"])),
    ("from_coo(length mismatch)", lambda: aerec.datasets.from_coo([0, 1, 2], [0, 1])),
    ("from_coo(negative users)", lambda: aerec.datasets.from_coo([0, -1], [0, 1])),
    ("from_coo(users 2**40)", lambda: aerec.datasets.from_coo([0, 2**40], [0, 1])),
    ("from_coo(empty)", lambda: aerec.datasets.from_coo([], [])),
    ("from_coo(2-D users)", lambda: aerec.datasets.from_coo(np.zeros((2, 2), int), np.zeros((2, 2), int))),
    ("from_csr(a string)", lambda: aerec.datasets.from_csr("not a matrix")),
    ("read(None)", lambda: aerec.datasets.read(None)),  # type: ignore[arg-type]
    ("read(missing file)", lambda: aerec.datasets.read(os.path.join(tmp, "missing.tsv"))),
    ("read(format 'xml')", lambda: aerec.datasets.read(os.path.join(tmp, "data.tsv"), format="xml")),
    ("load(123)", lambda: aerec.load(123)),  # type: ignore[arg-type]
    ("load(a data file)", lambda: aerec.load(os.path.join(tmp, "data.tsv"))),
    ("load(a directory)", lambda: aerec.load(tmp)),
    ("MultDAE(latent_activation=5)", lambda: aerec.MultDAE(latent_activation=5)),  # type: ignore[arg-type]
    ("MultDAE(epochs='x')", lambda: aerec.MultDAE(epochs="x")),  # type: ignore[arg-type]
    ("MultDAE(threads=0)", lambda: aerec.MultDAE(threads=0)),
    ("MultDAE(seed=-1)", lambda: aerec.MultDAE(seed=-1)),
    ("MultDAE(seed=2**70)", lambda: aerec.MultDAE(seed=2**70)),
    ("MultDAE(latent_dim=-1)", lambda: aerec.MultDAE(latent_dim=-1)),
    ("EASE(lambda_=-1)", lambda: aerec.EASE(lambda_=-1.0)),
    ("fit(a string)", lambda: aerec.MultDAE(latent_dim=4, epochs=1).fit("data.tsv", progress=False)),
    ("fit(validation of another width)", lambda: aerec.MultDAE(latent_dim=4, epochs=1).fit(
        split.train, validation=(np.ones((2, 3)), np.ones((2, 3))), progress=False)),
    ("fit(resume without checkpoint_dir)", lambda: aerec.MultDAE(latent_dim=4, epochs=1).fit(split, resume=True,
                                                                                             progress=False)),
    ("fit(resume='maybe')", lambda: aerec.MultDAE(latent_dim=4, epochs=1).fit(split, checkpoint_dir=tmp,
                                                                              resume="maybe", progress=False)),
    ("fit(checkpoint_every=0)", lambda: aerec.MultDAE(latent_dim=4, epochs=1).fit(split, checkpoint_dir=tmp,
                                                                                  checkpoint_every=0, progress=False)),
    ("fit(resume=True, no checkpoint there)", lambda: aerec.MultDAE(latent_dim=4, epochs=1).fit(
        split, checkpoint_dir=os.path.join(tmp, "empty"), resume=True, progress=False)),
    ("split.strong(held_out_users='ten')", lambda: aerec.split.strong(ds, held_out_users="ten")),  # type: ignore
    ("split.given(unknown ids)", lambda: aerec.split.given(ds, aerec.datasets.from_coo([0], [0], user_ids=["zz"],
                                                                                        item_ids=["yy"]))),
    ("metrics.evaluate(ragged garbage)", lambda: aerec.metrics.evaluate([[0, "x"]], [[0]], ["ndcg@1"], item_count=3)),
    ("metrics.evaluate(item out of range)", lambda: aerec.metrics.evaluate([[5]], [[0]], ["ndcg@1"], item_count=3)),
    ("recommend_by_id(unknown user)", lambda: model.recommend_by_id(["nobody"], ds, k=3)),
    ("recommend_by_id(k=0)", lambda: model.recommend_by_id([ds.user_ids[0]], ds, k=0)),
    ("save(into a missing directory)", lambda: model.save("/nonexistent/dir/m.aerec")),
    ("closed model", lambda: (lambda m: (m.close(), m.recommend(hist, k=3)))(
        aerec.MultDAE(latent_dim=4, epochs=1).fit(split, progress=False))),
]
for label, f in DTYPE_CASES:
    raises("dtype", label, f)

# ------------------------------------------------------------------- 8 threads on one model

reference = model.recommend(hist, k=10)
barrier = threading.Barrier(8)
results: list[Any] = [None] * 8


def reader(i: int) -> None:
    try:
        barrier.wait(30)
        same = True
        for _ in range(25):
            r = model.recommend(hist, k=10)
            same = same and np.array_equal(r.items, reference.items) and np.array_equal(r.scores, reference.scores)
        results[i] = same
    except BaseException as e:  # noqa: BLE001
        results[i] = e


ts = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
for t in ts:
    t.start()
for t in ts:
    t.join(300)
for i, r in enumerate(results):
    record("threads", f"reader {i} of 8 concurrent recommends", r is True, repr(r))

# fit while 8 threads use the model: every fit attempt is busy or works; readers see ok or busy
busy_model = aerec.MultDAE("sigmoid", latent_dim=8, epochs=2, batch_size=20).fit(split, progress=False)
stop = threading.Event()
outcomes: Counter = Counter()


def mixed_reader(i: int) -> None:
    ops = [lambda: busy_model.recommend(hist, k=5), lambda: busy_model.scores(hist[:3]),
           lambda: busy_model.encode(hist[:3]), lambda: busy_model.evaluate(split, metrics="ndcg@10"),
           lambda: busy_model.info, lambda: busy_model.save(os.path.join(tmp, f"t{i}.aerec"))]
    k = 0
    while not stop.is_set():
        try:
            ops[(i + k) % len(ops)]()
            with lock:
                outcomes["read ok"] += 1
        except aerec.AERecError as e:
            with lock:
                outcomes["read " + e.kind] += 1
        except BaseException as e:  # noqa: BLE001
            with lock:
                outcomes[f"read {type(e).__name__}"] += 1
        k += 1


ts = [threading.Thread(target=mixed_reader, args=(i,)) for i in range(8)]
for t in ts:
    t.start()
fit_outcomes: Counter = Counter()
for _ in range(20):
    try:
        busy_model.fit(split, progress=False)
        fit_outcomes["ok"] += 1
    except aerec.AERecError as e:
        fit_outcomes[e.kind] += 1
stop.set()
for t in ts:
    t.join(300)
record("threads", "fit while 8 threads read: busy or ok, nothing else", set(fit_outcomes) <= {"ok", "busy"},
       repr(fit_outcomes))
record("threads", "fit while 8 threads read: at least one busy", fit_outcomes["busy"] >= 1, repr(fit_outcomes))
record("threads", "readers during fits: ok or busy only", set(outcomes) <= {"read ok", "read busy"}, repr(outcomes))
record("threads", "the model works after the storm", busy_model.recommend(hist, k=5).items.shape == (hist.shape[0], 5))

# a raw fit on a model that 8 threads are recommending with: AEREC_ERR_BUSY, not a wait
in_use = threading.Event()
release = threading.Event()


hold_errors: Counter = Counter()


def hold() -> None:
    # a recommend that cannot finish before we tried fit: hold the model through a Python loop of calls.
    # A raw fit that got the model first makes a recommend busy; the holder keeps going (a holder that
    # died on it left the model free for every later fit, and the BUSY case below failed 1 run in 10)
    while not release.is_set():
        try:
            busy_model.recommend(hist, k=5)
        except aerec.AERecError as e:
            hold_errors[e.kind] += 1
            continue
        in_use.set()


holders = [threading.Thread(target=hold) for _ in range(8)]
for t in holders:
    t.start()
in_use.wait(30)
busy_seen = False
for _ in range(200):
    s = L.aerec_model_fit(busy_model.handle, split.handle, _lib.EPOCH_CALLBACK(), None, None)
    if s == BUSY:
        busy_seen = True
        break
release.set()
for t in holders:
    t.join(120)
record("threads", "raw fit on a model in use returns AEREC_ERR_BUSY", busy_seen)
record("threads", "recommends during raw fits: ok or busy only", set(hold_errors) <= {"busy"}, repr(hold_errors))

# free while other threads use the model: their calls finish or report a stale handle
victim = aerec.MultDAE("sigmoid", latent_dim=8, epochs=1, batch_size=20).fit(split, progress=False)
vh = victim.handle
victim._handle = None  # the raw handle is freed below, not by the wrapper
vout: Counter = Counter()
go = threading.Barrier(9)


def use_victim() -> None:
    go.wait(30)
    items = (ctypes.c_int32 * (hv.shape[0] * 5))()
    for _ in range(50):
        s = L.aerec_model_recommend(vh, hv.ref, None, 5, 1, None, -1, items, None)
        with lock:
            vout[s] += 1


ts = [threading.Thread(target=use_victim) for _ in range(8)]
for t in ts:
    t.start()
go.wait(30)
free_status = L.aerec_model_free(vh)
for t in ts:
    t.join(120)
record("threads", "free during 8 concurrent recommends", free_status == OK and set(vout) <= {OK, STALE}, repr(vout))
record("threads", "the freed handle is stale afterwards",
       L.aerec_model_recommend(vh, hv.ref, None, 5, 1, None, -1, i32buf, None) == STALE)

total = sum(counts.values())
for u in unexpected:
    print("UNEXPECTED", u)
print(f"misuse cases: {total}, unexpected: {len(unexpected)}, by category: {dict(sorted(counts.items()))}", flush=True)
