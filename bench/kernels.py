#!/usr/bin/env python3
"""Kernel benchmark: every AERec figure as a ratio against a reference measured in the same run.

  SGEMM 2048^3             AERec (aek_sgemm, OpenBLAS fast core) vs numpy's float32 matmul, and vs
                           OpenBLAS forced onto its fallback 'Prescott' core (the trap, in a child process)
  CSR x dense, h = 600     aek_csr_dense_mm on batches of 500 gowalla users vs scipy.sparse CSR @ dense
  sparse^T x dense         aek_csr_transpose_dense_mm (dW rows of present items) vs scipy X.T @ G
  top-100 of 500 x 41k     aek_topk_rows with seen items excluded vs numpy argpartition + sort
  fused activations        GB/s of aek_bias_activation_forward / aek_activation_backward (with A, as
                           training calls it, and with A = NULL) vs memcpy of the same bytes

Run through `make bench` (which builds libaerec.so and sets OPENBLAS_CORETYPE). Writes
bench/results/kernels.json. `--quick` uses fewer repetitions and a smaller top-k problem.
"""
from __future__ import annotations

import argparse
import ctypes as C
import datetime
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
LIB = Path(os.environ.get("AERECLIB_PATH", ROOT / ".build" / "release" / "libaerec.so"))


class CSR(C.Structure):
    _fields_ = [("n_rows", C.c_int64), ("n_cols", C.c_int64), ("indptr", C.c_void_p),
                ("indices", C.c_void_p), ("values", C.c_void_p)]


class Activation(C.Structure):
    _fields_ = [("kind", C.c_int32), ("alpha", C.c_float), ("temperature", C.c_float)]


ACTIVATIONS = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "leaky_relu": 4, "elu": 5, "selu": 6,
               "softplus": 7, "swish": 8, "hard_sigmoid": 9, "softsign01": 10, "atan01": 11, "softsign": 12}


def load_lib() -> C.CDLL:
    if not LIB.exists():
        sys.exit(f"error: {LIB} not found: run `make build` first")
    lib = C.CDLL(str(LIB))
    lib.aek_blas_corename.restype = C.c_char_p
    lib.aek_activation_default.restype = Activation
    lib.aek_activation_default.argtypes = [C.c_int]
    lib.aek_sgemm.argtypes = [C.c_int, C.c_int, C.c_int64, C.c_int64, C.c_int64, C.c_float, C.c_void_p, C.c_int64,
                              C.c_void_p, C.c_int64, C.c_float, C.c_void_p, C.c_int64]
    lib.aek_csr_dense_mm.argtypes = [CSR, C.c_void_p, C.c_int64, C.c_int64, C.c_void_p, C.c_float, C.c_void_p,
                                     C.c_int64, C.c_int]
    lib.aek_csr_transpose_workspace_size.restype = C.c_size_t
    lib.aek_csr_transpose_workspace_size.argtypes = [C.c_int64, C.c_int64]
    lib.aek_csr_transpose_dense_mm.argtypes = [CSR, C.c_void_p, C.c_int64, C.c_int64, C.c_float, C.c_void_p,
                                               C.c_int64, C.c_void_p, C.c_void_p, C.c_void_p, C.c_size_t, C.c_int]
    lib.aek_topk_rows.argtypes = [C.c_int64, C.c_int64, C.c_void_p, C.c_int64, C.POINTER(CSR), C.c_int64,
                                  C.c_void_p, C.c_void_p, C.c_void_p, C.c_int]
    lib.aek_bias_activation_forward.argtypes = [C.c_int64, C.c_int64, C.c_void_p, Activation, C.c_void_p, C.c_int64,
                                                C.c_void_p, C.c_int64, C.c_int]
    lib.aek_activation_backward.argtypes = [C.c_int64, C.c_int64, Activation, C.c_void_p, C.c_int64, C.c_void_p,
                                            C.c_int64, C.c_void_p, C.c_int64, C.c_void_p, C.c_int]
    lib.aek_blas_set_num_threads.argtypes = [C.c_int]
    return lib


def ptr(a: np.ndarray | None) -> int | None:
    return None if a is None else a.ctypes.data


def csr_struct(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray | None, n_cols: int) -> CSR:
    return CSR(len(indptr) - 1, n_cols, ptr(indptr), ptr(indices), ptr(values))


def timeit(fn, repeat: int) -> tuple[float, float]:
    """Median and spread (max - min) in seconds over `repeat` runs after one warm-up."""
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), max(ts) - min(ts)


def load_gowalla() -> sp.csr_matrix:
    path = DATA / "gowalla-lightgcn" / "ratings.tsv.gz"
    with gzip.open(path, "rt") as f:
        f.readline()
        arr = np.loadtxt(f, dtype=np.int64, usecols=(0, 1))
    users, items = arr[:, 0], arr[:, 1]
    X = sp.csr_matrix((np.ones(len(users), np.float32), (users, items)),
                      shape=(users.max() + 1, items.max() + 1), dtype=np.float32)
    X.sort_indices()
    return X


# ---------------------------------------------------------------------------------------------- SGEMM
def sgemm_gflops(lib: C.CDLL, n: int, repeat: int) -> float:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n), dtype=np.float32)
    B = rng.standard_normal((n, n), dtype=np.float32)
    Cm = np.zeros((n, n), np.float32)
    t, _ = timeit(lambda: lib.aek_sgemm(0, 0, n, n, n, 1.0, ptr(A), n, ptr(B), n, 0.0, ptr(Cm), n), repeat)
    assert np.allclose(Cm, A @ B, rtol=1e-3, atol=1e-2)
    return 2 * n ** 3 / t / 1e9


def bench_sgemm(lib: C.CDLL, threads: int, repeat: int) -> dict:
    n = 2048
    lib.aek_blas_set_num_threads(threads)
    ours = sgemm_gflops(lib, n, repeat)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n), dtype=np.float32)
    B = rng.standard_normal((n, n), dtype=np.float32)
    t_np, _ = timeit(lambda: A @ B, repeat)
    numpy_gf = 2 * n ** 3 / t_np / 1e9
    # The trap: the same call with OpenBLAS on its fallback core (a child process, since the core is
    # chosen when the library loads).
    env = dict(os.environ, OPENBLAS_CORETYPE="Prescott")
    child = subprocess.run([sys.executable, __file__, "--sgemm-only", str(threads)], env=env,
                           capture_output=True, text=True, check=True)
    fallback = json.loads(child.stdout.strip().splitlines()[-1])
    return {"n": n, "threads": threads, "core": lib.aek_blas_corename().decode(), "gflops": ours,
            "numpy_gflops": numpy_gf, "ratio_vs_numpy": ours / numpy_gf,
            "fallback_core": fallback["core"], "fallback_gflops": fallback["gflops"],
            "ratio_vs_fallback_core": ours / fallback["gflops"]}


# ---------------------------------------------------------------------------------------------- CSR x dense
def batches(X: sp.csr_matrix, n_batches: int, size: int, seed: int = 0) -> list[sp.csr_matrix]:
    rng = np.random.default_rng(seed)
    perm = rng.permutation(X.shape[0])
    out = []
    for b in range(n_batches):
        Xb = X[np.sort(perm[b * size:(b + 1) * size])]
        Xb.sort_indices()
        Xb.indptr = Xb.indptr.astype(np.int64)
        Xb.indices = Xb.indices.astype(np.int32)
        out.append(Xb)
    return out


def bench_spmm(lib: C.CDLL, X: sp.csr_matrix, repeat: int, n_batches: int) -> dict:
    h, bs = 600, 500
    rng = np.random.default_rng(1)
    W = rng.standard_normal((X.shape[1], h), dtype=np.float32)
    bs_list = batches(X, n_batches, bs)
    for Xb in bs_list:  # explicit values, as the L2-normalised Mult-DAE/VAE input has
        Xb.data = rng.random(Xb.nnz, dtype=np.float32)
    Y = np.zeros((bs, h), np.float32)

    def ours(threads: int, implicit: bool = False):
        def run():
            for Xb in bs_list:
                lib.aek_csr_dense_mm(csr_struct(Xb.indptr, Xb.indices, None if implicit else Xb.data, X.shape[1]),
                                     ptr(W), h, h, None, 0.0, ptr(Y), h, threads)
        return run

    def ref():
        for Xb in bs_list:
            Xb @ W

    # correctness on one batch
    ours(1)()
    assert np.allclose(Y[:bs_list[-1].shape[0]], bs_list[-1] @ W, rtol=1e-4, atol=1e-3)
    t_ref, s_ref = timeit(ref, repeat)
    res = {"h": h, "batch": bs, "batches": n_batches, "nnz_per_batch": float(np.mean([b.nnz for b in bs_list])),
           "scipy_ms_per_batch": 1e3 * t_ref / n_batches, "scipy_spread_ms": 1e3 * s_ref / n_batches}
    for threads in (1, 2):
        t, s = timeit(ours(threads), repeat)
        res[f"aerec_{threads}t_ms_per_batch"] = 1e3 * t / n_batches
        res[f"aerec_{threads}t_spread_ms"] = 1e3 * s / n_batches
        res[f"speedup_{threads}t"] = t_ref / t
    t, _ = timeit(ours(2, implicit=True), repeat)
    res["aerec_2t_implicit_ms_per_batch"] = 1e3 * t / n_batches

    # transpose accumulation: dW (rows of present items) = Xb^T G
    G = rng.standard_normal((bs, h), dtype=np.float32)
    dW = np.zeros((X.shape[1], h), np.float32)
    touched = np.zeros(X.shape[1], np.int32)
    n_touched = np.zeros(1, np.int64)
    ws_bytes = max(lib.aek_csr_transpose_workspace_size(X.shape[1], b.nnz) for b in bs_list)
    ws = np.zeros(ws_bytes, np.uint8)

    def ours_t(threads: int):
        def run():
            for Xb in bs_list:
                lib.aek_csr_transpose_dense_mm(csr_struct(Xb.indptr, Xb.indices, Xb.data, X.shape[1]), ptr(G), h, h,
                                               0.0, ptr(dW), h, ptr(touched), ptr(n_touched), ptr(ws), ws_bytes,
                                               threads)
        return run

    def ref_t():
        for Xb in bs_list:
            Gb = G[:Xb.shape[0]]
            Xb.T @ Gb

    ours_t(1)()
    Xb = bs_list[-1]
    present = np.unique(Xb.indices)
    assert n_touched[0] == len(present) and np.array_equal(touched[:len(present)], present)
    assert np.allclose(dW[present], (Xb.T @ G[:Xb.shape[0]])[present], rtol=1e-4, atol=1e-3)
    t_ref, _ = timeit(ref_t, repeat)
    res["transpose_scipy_ms_per_batch"] = 1e3 * t_ref / n_batches
    for threads in (1, 2):
        t, _ = timeit(ours_t(threads), repeat)
        res[f"transpose_aerec_{threads}t_ms_per_batch"] = 1e3 * t / n_batches
        res[f"transpose_speedup_{threads}t"] = t_ref / t
    return res


# ---------------------------------------------------------------------------------------------- top-k
def bench_topk(lib: C.CDLL, X: sp.csr_matrix, repeat: int, rows: int) -> dict:
    k = 100
    n = X.shape[1]
    Xb = batches(X, 1, rows, seed=2)[0]
    rng = np.random.default_rng(3)
    S = rng.standard_normal((Xb.shape[0], n), dtype=np.float32)
    r = Xb.shape[0]
    idx = np.zeros((r, k), np.int32)
    score = np.zeros((r, k), np.float32)
    ex = csr_struct(Xb.indptr, Xb.indices, None, n)

    def ours(threads: int):
        return lambda: lib.aek_topk_rows(r, n, ptr(S), n, C.byref(ex), k, ptr(idx), ptr(score), None, threads)

    rows_ix = np.repeat(np.arange(r), np.diff(Xb.indptr))

    def ref():
        s = S.copy()
        s[rows_ix, Xb.indices] = -np.inf
        part = np.argpartition(-s, k, axis=1)[:, :k]
        top = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-top, axis=1, kind="stable")
        return np.take_along_axis(part, order, axis=1)

    want = ref()
    ours(1)()
    assert np.array_equal(idx, want), "top-k disagrees with numpy"
    t_ref, s_ref = timeit(ref, repeat)
    res = {"rows": r, "cols": n, "k": k, "excluded_per_row": float(Xb.nnz / r), "numpy_ms": 1e3 * t_ref,
           "numpy_spread_ms": 1e3 * s_ref}
    for threads in (1, 2):
        t, s = timeit(ours(threads), repeat)
        res[f"aerec_{threads}t_ms"] = 1e3 * t
        res[f"aerec_{threads}t_spread_ms"] = 1e3 * s
        res[f"speedup_{threads}t"] = t_ref / t
    return res


# ---------------------------------------------------------------------------------------------- activations
def bench_activations(lib: C.CDLL, repeat: int) -> dict:
    """Per-call times, every series interleaved call by call (memcpy, forward, backward with A, backward
    with A = NULL) so that a change in machine load hits them alike; ratios are of medians.

    Each call gets fresh inputs, restored outside the timed region: the forward runs in place (A == Z)
    on Z0, the backward on G = 1 with Z0 and A = f(Z0). Calling the kernels again on their own output
    measures something else: G *= f'(Z) repeated hundreds of times, or x -> swish(x) iterated, decays
    into subnormal floats, whose microcode assists make any kernel several times slower (the backward
    of tanh/elu/softplus/swish measured 0.15-0.3x memcpy that way, 1.2-1.6x on fresh data).
    """
    rows, cols, inner = 500, 600, 50
    n = rows * cols
    rng = np.random.default_rng(4)
    Z0 = rng.standard_normal((rows, cols), dtype=np.float32) * 3
    Z = Z0.copy()
    A = np.zeros_like(Z)
    G = np.ones_like(Z)
    src = np.ones(2 * n, np.float32)
    dst = np.zeros(2 * n, np.float32)
    memmove, fwd_fn, bwd_fn = C.memmove, lib.aek_bias_activation_forward, lib.aek_activation_backward
    clock = time.perf_counter
    pz, pa, pg, psrc, pdst = ptr(Z), ptr(A), ptr(G), ptr(src), ptr(dst)
    calls = repeat * inner
    res = {"rows": rows, "cols": cols, "calls_per_series": calls, "activations": {}}
    copy1_all, copy2_all = [], []
    for name in ("sigmoid", "tanh", "relu", "hard_sigmoid", "softsign01", "atan01", "elu", "swish", "softplus"):
        act = lib.aek_activation_default(ACTIVATIONS[name])
        fwd_fn(rows, cols, None, act, ptr(Z0), cols, pa, cols, 1)  # A = f(Z0), as the forward leaves it
        ts = np.zeros((5, calls))
        for i in range(-5, calls):  # 5 warm-up rounds
            memmove(pdst, psrc, 4 * n)  # each timed call finds its operands in cache, as the kernels do
            t0 = clock(); memmove(pdst, psrc, 4 * n); t1 = clock()  # n floats read + n written: the forward
            np.copyto(Z, Z0)
            t2 = clock(); fwd_fn(rows, cols, None, act, pz, cols, pz, cols, 1); t3 = clock()
            memmove(pdst, psrc, 8 * n)
            t4 = clock(); memmove(pdst, psrc, 8 * n); t5 = clock()  # 2n read + 2n written: the backward
            G.fill(1)
            t6 = clock(); bwd_fn(rows, cols, act, ptr(Z0), cols, pa, cols, pg, cols, None, 1); t7 = clock()
            G.fill(1)
            t8 = clock(); bwd_fn(rows, cols, act, ptr(Z0), cols, None, 0, pg, cols, None, 1); t9 = clock()
            if i >= 0:
                ts[:, i] = (t1 - t0, t3 - t2, t5 - t4, t7 - t6, t9 - t8)
        c1, f, c2, b, b0 = np.median(ts, axis=1)
        copy1_all.append(c1)
        copy2_all.append(c2)
        res["activations"][name] = {
            "forward_gbs": 2 * 4 * n / f / 1e9, "forward_ratio_vs_memcpy": c1 / f,
            "backward_gbs": 4 * 4 * n / b / 1e9, "backward_ratio_vs_memcpy": c2 / b,
            "backward_no_a_gbs": 4 * 4 * n / b0 / 1e9, "backward_no_a_ratio_vs_memcpy": c2 / b0}
    res["memcpy_gbs"] = 2 * 4 * n / float(np.median(copy1_all)) / 1e9
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, smaller problems")
    ap.add_argument("--sgemm-only", type=int, metavar="THREADS", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "kernels.json"))
    args = ap.parse_args()
    lib = load_lib()
    if args.sgemm_only:
        lib.aek_blas_set_num_threads(args.sgemm_only)
        print(json.dumps({"core": lib.aek_blas_corename().decode(), "gflops": sgemm_gflops(lib, 2048, 3)}))
        return
    repeat = 3 if args.quick else 7
    print(f"AERec kernel benchmark  (BLAS core {lib.aek_blas_corename().decode()}, "
          f"numpy {np.__version__}, scipy {scipy.__version__})", flush=True)
    res: dict = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                 "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                             "python": platform.python_version(), "numpy": np.__version__,
                             "scipy": scipy.__version__},
                 "repeat": repeat}
    try:
        res["git"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                    text=True).stdout.strip()
    except OSError:
        pass
    res["sgemm"] = s = bench_sgemm(lib, 2, repeat)
    print(f"SGEMM 2048^3, 2 threads    {s['gflops']:7.1f} GFLOP/s on {s['core']}   "
          f"numpy {s['numpy_gflops']:.1f} ({s['ratio_vs_numpy']:.2f}x)   "
          f"fallback core {s['fallback_core']} {s['fallback_gflops']:.1f} ({s['ratio_vs_fallback_core']:.2f}x)",
          flush=True)
    X = load_gowalla()
    res["csr_dense"] = m = bench_spmm(lib, X, repeat, 6 if args.quick else 20)
    print(f"CSR x dense h=600, 500 gowalla users: scipy {m['scipy_ms_per_batch']:.2f} ms/batch; AERec "
          f"1t {m['aerec_1t_ms_per_batch']:.2f} ms ({m['speedup_1t']:.2f}x), 2t {m['aerec_2t_ms_per_batch']:.2f} ms "
          f"({m['speedup_2t']:.2f}x)  [target >= 3x]", flush=True)
    print(f"sparse^T x dense (dW rows):           scipy {m['transpose_scipy_ms_per_batch']:.2f} ms/batch; AERec "
          f"1t {m['transpose_aerec_1t_ms_per_batch']:.2f} ms ({m['transpose_speedup_1t']:.2f}x), 2t "
          f"{m['transpose_aerec_2t_ms_per_batch']:.2f} ms ({m['transpose_speedup_2t']:.2f}x)", flush=True)
    res["topk"] = t = bench_topk(lib, X, repeat, 100 if args.quick else 500)
    print(f"top-100 of {t['rows']} x {t['cols']} (seen excluded): numpy {t['numpy_ms']:.1f} ms; AERec 1t "
          f"{t['aerec_1t_ms']:.1f} ms ({t['speedup_1t']:.2f}x), 2t {t['aerec_2t_ms']:.1f} ms "
          f"({t['speedup_2t']:.2f}x)  [target >= 3x]", flush=True)
    res["activations"] = a = bench_activations(lib, repeat)
    print(f"fused activations, 500x600, 1 thread (memcpy {a['memcpy_gbs']:.1f} GB/s)   [target >= 0.5x memcpy]")
    print(f"  {'activation':<14}{'fwd GB/s':>9}{'x memcpy':>9}{'bwd GB/s':>10}{'x memcpy':>9}"
          f"{'bwd A=NULL':>12}{'x memcpy':>9}")
    for name, r in a["activations"].items():
        print(f"  {name:<14}{r['forward_gbs']:9.1f}{r['forward_ratio_vs_memcpy']:9.2f}"
              f"{r['backward_gbs']:10.1f}{r['backward_ratio_vs_memcpy']:9.2f}"
              f"{r['backward_no_a_gbs']:12.1f}{r['backward_no_a_ratio_vs_memcpy']:9.2f}")
    if not args.quick:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
