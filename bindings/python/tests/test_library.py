"""Loading libaerec: where it is found, the OpenBLAS core, ABI and struct checks, errors, reload."""

from __future__ import annotations

import ctypes
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import aerec
from aerec import _lib

PKG_DIR = Path(aerec.__file__).resolve().parent.parent


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "PYTHONPATH": str(PKG_DIR)}
    if env is not None:
        e.update(env)
    e = {k: v for k, v in e.items() if v is not None and v != "<unset>"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=e,
                          timeout=300)


def test_version_and_abi() -> None:
    assert aerec.__version__.count(".") == 2
    header = (Path(__file__).resolve().parents[3] / "include" / "aerec.h").read_text()
    declared = int(re.search(r"#define AEREC_ABI_VERSION (\d+)", header).group(1))
    assert aerec.abi_version == _lib.ABI_VERSION == declared
    assert aerec.library_path().is_file()


def test_struct_layouts_match_the_library() -> None:
    for sid, cls in _lib._STRUCT_IDS.items():
        assert _lib.lib().aerec_struct_size(sid) == ctypes.sizeof(cls), cls.__name__


def test_blas_core_is_not_a_fallback() -> None:
    info = aerec.blas_info()
    assert info["core"]
    assert not info["is_fallback"], info


def test_openblas_core_is_chosen_before_loading_when_unset() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    env["PYTHONPATH"] = str(PKG_DIR)
    r = subprocess.run([sys.executable, "-c", "import aerec, os; i = aerec.blas_info(); "
                        "print(i['is_fallback'], i['core'], os.environ.get('OPENBLAS_CORETYPE'))"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    fallback, core, coretype = r.stdout.split()
    assert fallback == "False", r.stdout
    if coretype != "None":
        assert core == coretype  # the variable set before loading is the core in use


def test_a_users_openblas_coretype_is_never_overridden() -> None:
    r = run_python("import aerec, os; print(os.environ['OPENBLAS_CORETYPE'], aerec.blas_info()['core'])",
                   env={"OPENBLAS_CORETYPE": "Haswell"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["Haswell", "Haswell"]


def test_aereclib_path_is_honoured_and_checked(tmp_path: Path) -> None:
    r = run_python("import aerec; print(aerec.library_path())", env={"AERECLIB_PATH": str(aerec.library_path())})
    assert r.returncode == 0 and r.stdout.strip() == str(aerec.library_path())
    r = run_python("import aerec; print(aerec.library_path())",
                   env={"AERECLIB_PATH": str(aerec.library_path().parent)})
    assert r.returncode == 0, r.stderr
    r = run_python("import aerec", env={"AERECLIB_PATH": str(tmp_path / "nothing.so")})
    assert r.returncode != 0 and "AERECLIB_PATH" in r.stderr


def test_library_candidates_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AERECLIB_PATH", raising=False)
    c = _lib.library_candidates()
    assert c[0].parent == Path(_lib.__file__).resolve().parent  # next to the package first
    monkeypatch.setenv("AERECLIB_PATH", "/x/libaerec.so")
    assert _lib.library_candidates() == [Path("/x/libaerec.so")]


def test_dlclose_and_reload_survive() -> None:
    r = run_python(f"""
        import ctypes, _ctypes
        path = {str(aerec.library_path())!r}
        for i in range(3):
            lib = ctypes.CDLL(path)
            lib.aerec_version.restype = ctypes.c_char_p
            assert lib.aerec_version()
            h = ctypes.c_void_p()
            users = (ctypes.c_int32 * 2)(0, 1); items = (ctypes.c_int32 * 2)(1, 0)
            assert lib.aerec_dataset_from_coo(users, items, None, None, ctypes.c_int64(2), ctypes.c_int64(-1),
                                              ctypes.c_int64(-1), None, None, ctypes.byref(h)) == 0
            assert lib.aerec_dataset_free(h) == 0
            _ctypes.dlclose(lib._handle)
        print("ok")
    """)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_errors_carry_the_library_message() -> None:
    with pytest.raises(aerec.AERecError) as e:
        aerec.datasets.load_tsv("/nonexistent/ratings.tsv")
    assert e.value.kind == "io" and e.value.status == aerec.AERecError.IO
    assert "/nonexistent/ratings.tsv" in str(e.value)
    with pytest.raises(aerec.AERecError) as e:
        aerec.MultVAE("sigmod")
    assert e.value.kind == "invalid_argument" and "did you mean 'sigmoid'" in str(e.value)
    with pytest.raises(aerec.AERecError) as e:
        aerec.MultDAE(dropout=float("nan"))
    assert "dropout" in str(e.value)
    with pytest.raises(aerec.AERecError):
        aerec.MultDAE(threads=0)
    with pytest.raises(aerec.AERecError) as e:
        aerec.MultDAE(validation_metric="ndcg")
    assert "cut-off" in str(e.value)
    with pytest.raises(aerec.AERecError):
        aerec.EASE(lambda_=-3.0)
    with pytest.raises(ValueError):
        aerec.EASE(lambda_=-1.0)  # not silently the default


def test_header_exports_and_bindings_agree() -> None:
    """Every function of include/aerec.h is exported by the library and declared to ctypes."""
    import re
    import shutil

    header = Path(__file__).resolve().parents[3] / "include" / "aerec.h"
    text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.S)  # the TODO section's names are comments
    declared = set(re.findall(r"\b(aerec_[a-z_]+)\s*\(", text))
    assert declared == set(_lib._PROTOTYPES), declared ^ set(_lib._PROTOTYPES)
    if shutil.which("nm"):
        out = subprocess.run(["nm", "-D", "--defined-only", str(aerec.library_path())], capture_output=True,
                             text=True).stdout
        exported = {line.split()[-1] for line in out.splitlines() if " T aerec_" in line}
        assert declared == exported, declared ^ exported


