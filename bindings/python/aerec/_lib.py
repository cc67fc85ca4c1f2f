"""Finding, preparing and loading libaerec.so, and the ctypes view of include/aerec.h.

The library is looked for, in order, at ``$AERECLIB_PATH`` (a file or a directory), next to this
package (where ``pip install`` puts it), and in the repository's ``.build/release``.

Debian's OpenBLAS 0.3.21 falls back to a slow generic core on recent CPUs unless
``OPENBLAS_CORETYPE`` is set before it loads, and it loads with libaerec.so. So before loading,
unless you set the variable yourself, a short-lived child process loads the library, asks it
(``aerec_blas_info_get``) whether its OpenBLAS core is a fallback and which core to use, and the
answer is put into ``os.environ`` (child processes inherit it). If that child fails, the CPU flags
in /proc/cpuinfo decide.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading
import warnings
from ctypes import (
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Any, Optional

ABI_VERSION = 2
LIBRARY_NAMES = ("libaerec.so", "libAERecCABI.so")
DEFAULT = -1

# status codes (include/aerec.h)
OK = 0
ERR_INVALID_ARGUMENT = -1
ERR_IO = -2
ERR_PARSE = -3
ERR_DATA = -4
ERR_MODEL_FILE = -5
ERR_NUMERICAL = -6
ERR_OUT_OF_MEMORY = -7
ERR_CANCELLED = -8
ERR_BUSY = -9
ERR_STALE_HANDLE = -10
ERR_STATE = -11
ERR_UNSUPPORTED = -12
ERR_BUFFER_TOO_SMALL = -13
ERR_INTERNAL = -14

STATUS_NAMES = {
    OK: "ok",
    ERR_INVALID_ARGUMENT: "invalid_argument",
    ERR_IO: "io",
    ERR_PARSE: "parse",
    ERR_DATA: "data",
    ERR_MODEL_FILE: "model_file",
    ERR_NUMERICAL: "numerical",
    ERR_OUT_OF_MEMORY: "out_of_memory",
    ERR_CANCELLED: "cancelled",
    ERR_BUSY: "busy",
    ERR_STALE_HANDLE: "stale_handle",
    ERR_STATE: "state",
    ERR_UNSUPPORTED: "unsupported",
    ERR_BUFFER_TOO_SMALL: "buffer_too_small",
    ERR_INTERNAL: "internal",
}


class AERecError(Exception):
    """An error reported by libaerec, with the library's message.

    ``status`` is the C status code (``aerec.AERecError.BUSY`` ...), ``kind`` its name
    ("invalid_argument", "io", "parse", "data", "model_file", "numerical", "out_of_memory",
    "cancelled", "busy", "stale_handle", "state", "unsupported", "internal").
    """

    INVALID_ARGUMENT = ERR_INVALID_ARGUMENT
    IO = ERR_IO
    PARSE = ERR_PARSE
    DATA = ERR_DATA
    MODEL_FILE = ERR_MODEL_FILE
    NUMERICAL = ERR_NUMERICAL
    OUT_OF_MEMORY = ERR_OUT_OF_MEMORY
    CANCELLED = ERR_CANCELLED
    BUSY = ERR_BUSY
    STALE_HANDLE = ERR_STALE_HANDLE
    STATE = ERR_STATE
    UNSUPPORTED = ERR_UNSUPPORTED
    INTERNAL = ERR_INTERNAL

    def __init__(self, message: str, status: int = ERR_INTERNAL) -> None:
        super().__init__(message)
        self.status = status
        self.kind = STATUS_NAMES.get(status, "unknown")


# ------------------------------------------------------------------------------------- structs


class CSR(Structure):
    _fields_ = [
        ("n_rows", c_int64),
        ("n_cols", c_int64),
        ("indptr", POINTER(c_int64)),
        ("indices", POINTER(c_int32)),
        ("values", POINTER(c_float)),
    ]


class _Sized(Structure):
    """A struct whose first member is struct_size (set on construction)."""

    _fields_: list = []

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.struct_size = ctypes.sizeof(self)


class MatrixInfo(_Sized):
    _fields_ = [("struct_size", c_uint64), ("n_rows", c_int64), ("n_cols", c_int64), ("nnz", c_int64),
                ("has_values", c_int64)]


class Filter(_Sized):
    _fields_ = [("struct_size", c_uint64), ("has_threshold", c_int64), ("threshold", c_double),
                ("min_user_interactions", c_int64), ("min_item_interactions", c_int64), ("k_core", c_int64),
                ("binarize", c_int64)]


class DatasetInfo(_Sized):
    _fields_ = [("struct_size", c_uint64), ("users", c_int64), ("items", c_int64), ("interactions", c_int64),
                ("has_timestamps", c_int64), ("lines_read", c_int64), ("duplicates_dropped", c_int64),
                ("below_threshold", c_int64), ("dropped_by_count_filter", c_int64), ("users_dropped", c_int64),
                ("items_dropped", c_int64)]


class SplitConfig(_Sized):
    _fields_ = [("struct_size", c_uint64), ("protocol", c_int64), ("seed", c_uint64), ("held_out_users", c_int64),
                ("target_fraction", c_double), ("min_items_for_split", c_int64), ("test_fraction", c_double),
                ("validation_fraction", c_double), ("loo_validation", c_int64), ("given_test", c_void_p),
                ("given_test_path", c_char_p), ("given_test_format", c_char_p)]


class SplitInfo(_Sized):
    _fields_ = [("struct_size", c_uint64), ("protocol", c_int64), ("seed", c_uint64), ("users", c_int64),
                ("items", c_int64), ("train_rows", c_int64), ("train_nnz", c_int64), ("has_validation", c_int64),
                ("validation_users", c_int64), ("test_users", c_int64)]


class ModelConfig(_Sized):
    _fields_ = [("struct_size", c_uint64), ("kind", c_int64), ("latent_activation", c_char_p), ("hidden", c_int64),
                ("latent", c_int64), ("optimizer", c_int64), ("learning_rate", c_double), ("epochs", c_int64),
                ("batch_size", c_int64), ("lambda_", c_double), ("dropout", c_double), ("anneal_steps", c_int64),
                ("patience", c_int64), ("seed", c_uint64), ("threads", c_int64), ("validation_metric", c_char_p),
                ("ease_precision", c_int64), ("beta_cap", c_double)]


class EpochReportStruct(_Sized):
    _fields_ = [("struct_size", c_uint64), ("epoch", c_int64), ("loss", c_double), ("validation", c_double),
                ("has_validation", c_int64), ("train_seconds", c_double), ("validation_seconds", c_double),
                ("is_best", c_int64), ("beta", c_double)]


class FitSummary(_Sized):
    _fields_ = [("struct_size", c_uint64), ("epochs_run", c_int64), ("best_epoch", c_int64),
                ("best_validation", c_double), ("stopped_early", c_int64), ("stopped_by_callback", c_int64),
                ("seconds", c_double)]


class ModelInfo(_Sized):
    _fields_ = [("struct_size", c_uint64), ("kind", c_int64), ("is_fitted", c_int64), ("is_autoencoder", c_int64),
                ("predicts_ratings", c_int64), ("item_count", c_int64), ("user_count", c_int64),
                ("latent_dimension", c_int64), ("input_dimension", c_int64), ("epochs_run", c_int64),
                ("latent_activation", c_char * 48)]


class MetricValueStruct(_Sized):
    _fields_ = [("struct_size", c_uint64), ("name", c_char * 40), ("value", c_double), ("ci_low", c_double),
                ("ci_high", c_double), ("standard_error", c_double), ("n", c_int64), ("has_ci", c_int64)]


class ResultInfo(_Sized):
    _fields_ = [("struct_size", c_uint64), ("metric_count", c_int64), ("users_evaluated", c_int64),
                ("users_skipped", c_int64), ("seconds", c_double)]


class BLASInfo(_Sized):
    _fields_ = [("struct_size", c_uint64), ("threads", c_int64), ("is_fallback", c_int64), ("core", c_char * 32),
                ("recommended_coretype", c_char * 32), ("simd_level", c_char * 16), ("coretype_env", c_char * 32)]


class ProbeConfig(_Sized):
    _fields_ = [("struct_size", c_uint64), ("users", c_int64), ("samples", c_int64), ("anchors", c_int64),
                ("candidates", c_int64), ("neighbours", c_int64), ("item_probes", c_int64), ("epsilon", c_double),
                ("seed", c_uint64), ("threads", c_int64), ("input_space", c_int64), ("min_effective_rank", c_double),
                ("min_order_preserved", c_double), ("max_zero_code_fraction", c_double)]


class ProbeScores(_Sized):
    _fields_ = [("struct_size", c_uint64), ("rows_probed", c_int64), ("seconds", c_double), ("family", c_char * 32),
                ("theory_verdict", c_char * 32), ("p1_passed", c_int64), ("latent_dimension", c_int64),
                ("input_dimension", c_int64), ("p1_effective_rank", c_double),
                ("p1_effective_rank_fraction", c_double), ("p2_passed", c_int64), ("p2_triples", c_int64),
                ("p2_order_preserved", c_double), ("p2_order_preserved_low", c_double),
                ("p2_order_preserved_high", c_double), ("p2_kendall_tau", c_double),
                ("p2_neighbour_overlap", c_double), ("p3_passed", c_int64), ("p3_zero_code_users", c_double),
                ("p3_zero_code_items", c_double), ("p3_zero_code_negated_users", c_double),
                ("p3_dead_unit_fraction", c_double), ("p3_constant_unit_fraction", c_double),
                ("p3_zero_maps_to_zero", c_int64)]


class SelectionConfig(_Sized):
    _fields_ = [("struct_size", c_uint64), ("candidates", c_char_p), ("learning_rates", c_char_p),
                ("regularizations", c_char_p), ("seeds", c_char_p), ("tuning_seed", c_uint64),
                ("selection_metric", c_char_p), ("reported_metrics", c_char_p), ("significance_level", c_double),
                ("probe", POINTER(ProbeConfig))]


class SelectionProgressStruct(_Sized):
    _fields_ = [("struct_size", c_uint64), ("phase", c_int64), ("completed", c_int64), ("total", c_int64),
                ("learning_rate", c_double), ("regularization", c_double), ("seed", c_uint64),
                ("validation", c_double), ("seconds", c_double), ("activation", c_char * 48), ("line", c_char * 256)]


class SelectionSummary(_Sized):
    _fields_ = [("struct_size", c_uint64), ("theory_agrees", c_int64), ("candidates", c_int64), ("runs", c_int64),
                ("seconds", c_double), ("recommended", c_char * 48), ("measured_best", c_char * 48),
                ("basis", c_char * 32)]


SELECTION_CALLBACK = ctypes.CFUNCTYPE(None, POINTER(SelectionProgressStruct), c_void_p)

# struct id (aerec_struct_size) -> ctypes class, checked when the library loads
_STRUCT_IDS = {1: CSR, 2: Filter, 3: DatasetInfo, 4: MatrixInfo, 5: SplitConfig, 6: SplitInfo, 7: ModelConfig,
               8: EpochReportStruct, 9: FitSummary, 10: ModelInfo, 11: MetricValueStruct, 12: ResultInfo,
               13: BLASInfo, 14: ProbeConfig, 15: ProbeScores, 16: SelectionConfig, 17: SelectionProgressStruct,
               18: SelectionSummary}

EPOCH_CALLBACK = ctypes.CFUNCTYPE(c_int, POINTER(EpochReportStruct), c_void_p)

_h = c_void_p
_hp = POINTER(c_void_p)
_cp = c_char_p
_i64p = POINTER(c_int64)
_i32p = POINTER(c_int32)
_fp = POINTER(c_float)
_dp = POINTER(c_double)
_csrp = POINTER(CSR)
_strs = POINTER(c_char_p)

# name: (restype, argtypes)
_PROTOTYPES: dict[str, tuple[Any, list]] = {
    "aerec_version": (c_char_p, []),
    "aerec_abi_version": (c_int, []),
    "aerec_last_error": (c_char_p, []),
    "aerec_status_string": (c_char_p, [c_int]),
    "aerec_struct_size": (c_int64, [c_int]),
    "aerec_blas_info_get": (c_int, [POINTER(BLASInfo)]),
    "aerec_filter_init": (c_int, [POINTER(Filter)]),
    "aerec_dataset_read": (c_int, [_cp, _cp, POINTER(Filter), _hp]),
    "aerec_dataset_from_coo": (c_int, [_i32p, _i32p, _fp, _i64p, c_int64, c_int64, c_int64, _strs, _strs, _hp]),
    "aerec_dataset_from_csr": (c_int, [_csrp, _strs, _strs, _hp]),
    "aerec_dataset_filter": (c_int, [_h, POINTER(Filter), _hp]),
    "aerec_dataset_info_get": (c_int, [_h, POINTER(DatasetInfo)]),
    "aerec_dataset_matrix_info": (c_int, [_h, POINTER(MatrixInfo)]),
    "aerec_dataset_matrix_copy": (c_int, [_h, _i64p, _i32p, _fp]),
    "aerec_dataset_ids": (c_int, [_h, c_int, c_void_p, c_size_t, POINTER(c_size_t)]),
    "aerec_dataset_free": (c_int, [_h]),
    "aerec_split_config_init": (c_int, [POINTER(SplitConfig), c_int]),
    "aerec_split_create": (c_int, [_h, POINTER(SplitConfig), _hp]),
    "aerec_split_info_get": (c_int, [_h, POINTER(SplitInfo)]),
    "aerec_split_part_info": (c_int, [_h, c_int, POINTER(MatrixInfo)]),
    "aerec_split_part_copy": (c_int, [_h, c_int, _i64p, _i32p, _fp, _i32p, _i32p]),
    "aerec_split_ids": (c_int, [_h, c_int, c_void_p, c_size_t, POINTER(c_size_t)]),
    "aerec_split_export": (c_int, [_h, _cp]),
    "aerec_split_load": (c_int, [_cp, _hp]),
    "aerec_split_free": (c_int, [_h]),
    "aerec_model_config_init": (c_int, [POINTER(ModelConfig), c_int]),
    "aerec_model_create": (c_int, [POINTER(ModelConfig), _hp]),
    "aerec_model_fit": (c_int, [_h, _h, EPOCH_CALLBACK, c_void_p, POINTER(FitSummary)]),
    "aerec_model_fit_csr": (c_int, [_h, _csrp, _csrp, _csrp, EPOCH_CALLBACK, c_void_p, POINTER(FitSummary)]),
    "aerec_model_request_stop": (c_int, [_h]),
    "aerec_model_set_checkpointing": (c_int, [_h, _cp, c_int64, c_int]),
    "aerec_model_info_get": (c_int, [_h, POINTER(ModelInfo)]),
    "aerec_model_history": (c_int, [_h, POINTER(EpochReportStruct), c_int64, _i64p]),
    "aerec_model_recommend": (c_int, [_h, _csrp, _i32p, c_int64, c_int, _csrp, c_int64, _i32p, _fp]),
    "aerec_model_recommend_ids": (c_int, [_h, _h, _h, _strs, c_int64, c_int64, c_int64, _i32p, _fp, _i64p, _i64p]),
    "aerec_model_scores": (c_int, [_h, _csrp, _i32p, c_int64, _fp]),
    "aerec_model_encode": (c_int, [_h, _csrp, c_int64, _fp]),
    "aerec_model_evaluate": (c_int, [_h, _h, c_int, _cp, c_int64, c_int64, _hp]),
    "aerec_model_evaluate_csr": (c_int, [_h, _csrp, _csrp, _i32p, _cp, c_int64, c_int64, _hp]),
    "aerec_model_save": (c_int, [_h, _cp]),
    "aerec_model_load": (c_int, [_cp, _hp]),
    "aerec_model_ids": (c_int, [_h, c_int, c_void_p, c_size_t, POINTER(c_size_t)]),
    "aerec_model_free": (c_int, [_h]),
    "aerec_result_info_get": (c_int, [_h, POINTER(ResultInfo)]),
    "aerec_result_metric": (c_int, [_h, c_int64, POINTER(MetricValueStruct)]),
    "aerec_result_per_user": (c_int, [_h, c_int64, _dp, c_int64, _i64p]),
    "aerec_result_users": (c_int, [_h, _i32p, c_int64, _i64p]),
    "aerec_result_free": (c_int, [_h]),
    "aerec_metrics_from_rankings": (c_int, [_csrp, _csrp, c_int64, _cp, _hp]),
    "aerec_metrics_from_ratings": (c_int, [c_int64, _i64p, _fp, _fp, _cp, _hp]),
    "aerec_probe_config_init": (c_int, [POINTER(ProbeConfig)]),
    "aerec_model_probe": (c_int, [_h, _csrp, POINTER(ProbeConfig), _hp]),
    "aerec_probe_scores_get": (c_int, [_h, POINTER(ProbeScores)]),
    "aerec_probe_json": (c_int, [_h, c_void_p, c_size_t, POINTER(c_size_t)]),
    "aerec_probe_free": (c_int, [_h]),
    "aerec_selection_config_init": (c_int, [POINTER(SelectionConfig)]),
    "aerec_select_activation": (c_int, [_h, POINTER(ModelConfig), POINTER(SelectionConfig), SELECTION_CALLBACK,
                                        c_void_p, _hp]),
    "aerec_selection_summary_get": (c_int, [_h, POINTER(SelectionSummary)]),
    "aerec_selection_render": (c_int, [_h, c_int, c_void_p, c_size_t, POINTER(c_size_t)]),
    "aerec_selection_free": (c_int, [_h]),
}

# ------------------------------------------------------------------------------------ locating


def _repository_build_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent  # .../bindings/python/aerec
    root = here.parent.parent.parent
    return [root / ".build" / "release"] if (root / "Package.swift").is_file() else []


def library_candidates() -> list[Path]:
    """The paths tried, in order."""
    env = os.environ.get("AERECLIB_PATH")
    if env:
        p = Path(env).expanduser()
        return [p / n for n in LIBRARY_NAMES] if p.is_dir() else [p]
    out = [Path(__file__).resolve().parent / n for n in LIBRARY_NAMES]
    for d in _repository_build_dirs():
        out += [d / n for n in LIBRARY_NAMES]
    return out


def find_library() -> Path:
    """The libaerec.so to load (AERECLIB_PATH, next to the package, the repository's build)."""
    candidates = library_candidates()
    for p in candidates:
        if p.is_file():
            return p
    tried = ", ".join(str(p) for p in candidates)
    if os.environ.get("AERECLIB_PATH"):
        raise ImportError(f"aerec: AERECLIB_PATH={os.environ['AERECLIB_PATH']} does not name libaerec.so (tried {tried})")
    raise ImportError(
        "aerec: libaerec.so not found (tried " + tried + "). Build it with `make lib` in the AERec repository, "
        "install the package with `pip install ./bindings/python`, or set AERECLIB_PATH to the library.")


# --------------------------------------------------------------------------------- OpenBLAS core

_CHILD = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
buf = ctypes.create_string_buffer(136)
ctypes.c_uint64.from_buffer(buf).value = 136
if lib.aerec_blas_info_get(buf) == 0:
    print(buf.raw[24:56].split(b"\0")[0].decode(), buf.raw[56:88].split(b"\0")[0].decode(), sep="\n")
"""


def _openblas_already_loaded() -> bool:
    try:
        with open("/proc/self/maps") as f:
            return any("/libopenblas" in line for line in f)
    except OSError:
        return False


def _coretype_from_cpuinfo() -> Optional[str]:
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return None
    if {"avx512f", "avx512dq", "avx512bw", "avx512vl"} <= set(flags):
        return "SkylakeX"
    if {"avx2", "fma"} <= set(flags):
        return "Haswell"
    return None


def configure_openblas(library: Path) -> Optional[str]:
    """Sets OPENBLAS_CORETYPE when the OpenBLAS core would be a generic fallback on this CPU.

    Never overrides a value the user set. Returns the value set, or None.
    """
    if "OPENBLAS_CORETYPE" in os.environ:
        return None
    if _openblas_already_loaded():
        warnings.warn("aerec: OpenBLAS was loaded before aerec, so its core can no longer be chosen; "
                      "import aerec first or set OPENBLAS_CORETYPE in the environment", RuntimeWarning, stacklevel=3)
        return None
    recommended: Optional[str] = None
    try:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(library)], capture_output=True, text=True,
                             timeout=60, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        lines = out.stdout.splitlines()
        if out.returncode == 0 and len(lines) >= 1:
            recommended = lines[1].strip() if len(lines) > 1 and lines[1].strip() else None
        else:
            recommended = _coretype_from_cpuinfo()
    except (OSError, subprocess.SubprocessError):
        recommended = _coretype_from_cpuinfo()
    if recommended:
        os.environ["OPENBLAS_CORETYPE"] = recommended
    return recommended


# ------------------------------------------------------------------------------------- loading

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_path: Optional[Path] = None


def lib() -> ctypes.CDLL:
    """The loaded library (loaded on first use)."""
    global _lib, _path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        path = find_library()
        configure_openblas(path)
        handle = ctypes.CDLL(str(path))
        for name, (restype, argtypes) in _PROTOTYPES.items():
            try:
                f = getattr(handle, name)
            except AttributeError as e:
                raise ImportError(f"aerec: {path} lacks {name}: an older or foreign library") from e
            f.restype = restype
            f.argtypes = argtypes
        abi = handle.aerec_abi_version()
        if abi != ABI_VERSION:
            raise ImportError(f"aerec: {path} has ABI version {abi}, this package needs {ABI_VERSION}")
        for sid, cls in _STRUCT_IDS.items():
            size = handle.aerec_struct_size(sid)
            if size != ctypes.sizeof(cls):
                raise ImportError(f"aerec: struct {cls.__name__} is {ctypes.sizeof(cls)} bytes here, {size} in {path}")
        _lib, _path = handle, path
        return handle


def library_path() -> Path:
    lib()
    assert _path is not None
    return _path


def last_error() -> str:
    return (lib().aerec_last_error() or b"").decode("utf-8", "replace")


def uint64(value: Any, name: str) -> int:
    """A seed as the library's uint64: refuses (instead of wrapping) negative and too large values."""
    v = int(value)
    if not 0 <= v < 2**64:
        raise ValueError(f"{name} must be in 0 .. 2^64-1, got {v}")
    return v


def check(status: int) -> None:
    """Raises AERecError with the library's message for a failed status."""
    if status != OK:
        message = last_error() or (lib().aerec_status_string(status) or b"error").decode()
        raise AERecError(message, status)


def call(name: str, *args: Any) -> None:
    """Calls a library function and raises on failure."""
    check(getattr(lib(), name)(*args))


def new_handle(name: str, *args: Any) -> int:
    """Calls a constructor whose last argument is the output handle."""
    out = c_void_p()
    call(name, *args, ctypes.byref(out))
    assert out.value is not None
    return out.value


def read_ids(name: str, handle: int, which: int) -> list[str]:
    """Reads an id list written NUL-separated by aerec_*_ids."""
    needed = c_size_t(0)
    call(name, handle, which, None, 0, ctypes.byref(needed))
    buf = ctypes.create_string_buffer(max(1, needed.value))
    call(name, handle, which, buf, needed.value, ctypes.byref(needed))
    raw = buf.raw[: needed.value]
    if not raw:
        return []
    return [s.decode("utf-8", "replace") for s in raw[:-1].split(b"\0")]
