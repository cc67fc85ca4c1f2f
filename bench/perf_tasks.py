#!/usr/bin/env python3
"""One measurement of the performance suite, run in its own process by bench/perf.py.

    python3 bench/perf_tasks.py TASK [options]      -> one JSON object on the last stdout line

Each task loads its own data (bench/perfdata.py: deterministic variants of gowalla's given split),
so AERec (libaerec.so through the Python package, i.e. ctypes over the C ABI) and the numpy
references never share a process: their OpenBLAS thread pools would otherwise compete. Every
AERec task measures the machine's SGEMM rate (aek_sgemm 2048^3 through libaerec's OpenBLAS, same
thread count) before and after its timed work, so each ratio has its rate beside it.
"""
from __future__ import annotations

import argparse
import ctypes as C
import json
import math
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "reference"))
sys.path.insert(0, str(ROOT / "bindings" / "python"))
os.environ.setdefault("AERECLIB_PATH", str(ROOT / ".build" / "release" / "libaerec.so"))

import perfdata  # noqa: E402

K_TOP = 100


# ------------------------------------------------------------------------------------------- helpers
class Adam(C.Structure):
    """aek_adam (aerec_kernels.h)."""
    _fields_ = [("lr", C.c_float), ("beta1", C.c_float), ("beta2", C.c_float), ("eps", C.c_float),
                ("weight_decay", C.c_float), ("decoupled", C.c_int32), ("step", C.c_int64)]


class Csr(C.Structure):
    """aek_csr (aerec_kernels.h)."""
    _fields_ = [("n_rows", C.c_int64), ("n_cols", C.c_int64), ("indptr", C.c_void_p), ("indices", C.c_void_p),
                ("values", C.c_void_p)]


def aerec_lib() -> C.CDLL:
    lib = C.CDLL(os.environ["AERECLIB_PATH"])
    lib.aek_blas_corename.restype = C.c_char_p
    lib.aek_sgemm.argtypes = [C.c_int, C.c_int, C.c_int64, C.c_int64, C.c_int64, C.c_float, C.c_void_p, C.c_int64,
                              C.c_void_p, C.c_int64, C.c_float, C.c_void_p, C.c_int64]
    lib.aek_blas_set_num_threads.argtypes = [C.c_int]
    return lib


def sgemm_gflops(threads: int, n: int = 2048, repeat: int = 3) -> float:
    """AERec's SGEMM rate (libaerec's OpenBLAS, `threads` threads): median of `repeat` after a warm-up."""
    lib = aerec_lib()
    lib.aek_blas_set_num_threads(threads)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n), dtype=np.float32)
    B = rng.standard_normal((n, n), dtype=np.float32)
    Cm = np.zeros((n, n), np.float32)
    ts = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        lib.aek_sgemm(0, 0, n, n, n, 1.0, A.ctypes.data, n, B.ctypes.data, n, 0.0, Cm.ctypes.data, n)
        if i:
            ts.append(time.perf_counter() - t0)
    return 2 * n ** 3 / statistics.median(ts) / 1e9


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matrix(args) -> sp.csr_matrix:
    return perfdata.variant(args.data, users=args.users, users_factor=args.users_factor,
                            items_factor=args.items_factor)


def topk_lists(S: np.ndarray, seen: sp.csr_matrix, k: int) -> np.ndarray:
    """numpy's top-k with seen items excluded: argpartition + sort (ties: lower item first)."""
    s = np.array(S, copy=True)
    s[np.repeat(np.arange(s.shape[0]), np.diff(seen.indptr)), seen.indices] = -np.inf
    part = np.argpartition(-s, k, axis=1)[:, :k]
    top = np.take_along_axis(s, part, axis=1)
    order = np.argsort(-top, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


# ------------------------------------------------------------------------------------------- epochs
def task_aerec_epoch(args) -> dict:
    import aerec
    X = matrix(args)
    cls = {"mult-dae": aerec.MultDAE, "mult-vae": aerec.MultVAE}[args.model]
    rate0 = sgemm_gflops(args.threads)
    m = cls(epochs=args.epochs, threads=args.threads, seed=args.seed)
    t0 = time.perf_counter()
    m.fit(X, validation=False, progress=False)
    wall = time.perf_counter() - t0
    rate1 = sgemm_gflops(args.threads)
    return {"users": X.shape[0], "items": X.shape[1], "nnz": int(X.nnz),
            "batches": perfdata.batches_per_epoch(X.shape[0]),
            "epoch_seconds": [r.train_seconds for r in m.history_], "fit_wall_seconds": wall,
            "losses": [r.loss for r in m.history_], "sgemm_gflops": [rate0, rate1], "peak_rss_mb": peak_rss_mb()}


def task_numpy_epoch(args) -> dict:
    from epoch_numpy import Network, blas_info
    X = matrix(args)
    net = Network(args.model, X.shape[1], seed=args.seed)
    times = [net.epoch(X) for _ in range(args.epochs)]
    return {"users": X.shape[0], "items": X.shape[1], "nnz": int(X.nnz),
            "batches": perfdata.batches_per_epoch(X.shape[0]), "epoch_seconds": times, "blas": blas_info(),
            "peak_rss_mb": peak_rss_mb()}


# ------------------------------------------------------------------------------------------- EASE
def sample_users(X: sp.csr_matrix, n: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.sort(rng.choice(X.shape[0], min(n, X.shape[0]), replace=False))


def task_aerec_ease(args) -> dict:
    import aerec
    X = matrix(args)
    rate0 = sgemm_gflops(args.threads)
    fits, walls, lists = [], [], None
    for rep in range(args.repeat):
        m = aerec.EASE(lambda_=args.lam, precision=args.precision, threads=args.threads)
        t0 = time.perf_counter()
        m.fit(X, validation=False, progress=False)
        walls.append(time.perf_counter() - t0)
        fits.append(m.history_[0].train_seconds)
        if rep == 0 and args.lists:
            users = sample_users(X, args.sample)
            lists = m.recommend(X[users], k=K_TOP, threads=args.threads).items
            np.save(args.lists, lists)
        del m
    rate1 = sgemm_gflops(args.threads)
    return {"items": X.shape[1], "users": X.shape[0], "nnz": int(X.nnz), "fit_seconds": fits,
            "fit_wall_seconds": walls, "sgemm_gflops": [rate0, rate1], "peak_rss_mb": peak_rss_mb(),
            "weights_mb": X.shape[1] ** 2 * 4 / 2 ** 20}


def compare_lists(S: np.ndarray, want: np.ndarray, got: np.ndarray) -> dict:
    """AERec's top-k lists `got` against the float64 reference lists `want` (scores S)."""
    same = np.all(got == want, axis=1)
    # a differing list is explained by a near-tie when the float64 scores of the two
    # lists agree position by position to 1e-6 of the row's score scale
    sg = np.take_along_axis(S, np.maximum(got, 0).astype(np.int64), axis=1)
    sw = np.take_along_axis(S, want, axis=1)
    scale = np.abs(sw).max(axis=1, keepdims=True) + 1e-30
    tie = np.all(np.abs(sg - sw) <= 1e-6 * scale, axis=1)
    gap = (np.abs(sg - sw) / scale).max(axis=1)  # the largest position-wise score gap of each list
    return {"users": int(len(want)), "identical": int(same.sum()),
            "differing_only_by_near_ties": int((~same & tie).sum()),
            "differing": int((~same & ~tie).sum()),
            "max_relative_score_gap_of_differing": float(gap[~same].max()) if (~same).any() else 0.0,
            "first_differing_positions": [int(np.argmax(g != w)) for g, w in zip(got[~same], want[~same])]}


def task_numpy_ease(args) -> dict:
    """numpy's float64 EASE; with --lists A[,B...] the top-100 lists AERec saved there are compared
    with numpy's (the first file's result is "top100", every file's in "top100_by_file")."""
    from epoch_numpy import blas_info
    from reference import ease
    X = matrix(args)
    fits, by_file = [], {}
    for rep in range(args.repeat):
        t0 = time.perf_counter()
        score = ease(X, args.lam)
        fits.append(time.perf_counter() - t0)
        if rep == 0 and args.lists:
            users = sample_users(X, args.sample)
            Xu = X[users]
            S = score(Xu)  # float64, as the peers score
            want = topk_lists(S, Xu, K_TOP)
            for f in args.lists.split(","):
                by_file[f] = compare_lists(S, want, np.load(f))
        del score
    first = next(iter(by_file.values()), None)
    return {"items": X.shape[1], "users": X.shape[0], "fit_seconds": fits, "top100": first,
            "top100_by_file": by_file, "blas": blas_info(), "peak_rss_mb": peak_rss_mb()}


# ------------------------------------------------------------------------------------------- top-k
def task_topk(args) -> dict:
    """Top-100 of every user over the full catalogue, seen items excluded: aek_topk_rows vs numpy
    argpartition + sort on the same float32 scores (pure-SVD scores X V V^T, rank 64)."""
    from scipy.sparse.linalg import svds

    class CSR(C.Structure):
        _fields_ = [("n_rows", C.c_int64), ("n_cols", C.c_int64), ("indptr", C.c_void_p),
                    ("indices", C.c_void_p), ("values", C.c_void_p)]

    lib = aerec_lib()
    lib.aek_topk_rows.argtypes = [C.c_int64, C.c_int64, C.c_void_p, C.c_int64, C.POINTER(CSR), C.c_int64,
                                  C.c_void_p, C.c_void_p, C.c_void_p, C.c_int]
    X = matrix(args)
    _, _, Vt = svds(X.astype(np.float64), k=64, random_state=0)
    Vt = Vt.astype(np.float32)
    V = np.ascontiguousarray(Vt.T)
    n_users = X.shape[0] if not args.max_users else min(args.max_users, X.shape[0])
    t_np = np.zeros(args.repeat)
    t_ae = np.zeros(args.repeat)
    mismatched_rows = 0
    idx = np.zeros((perfdata.BATCH, K_TOP), np.int32)
    rate0 = sgemm_gflops(args.threads)
    for lo in range(0, n_users, perfdata.BATCH):
        Xb = X[lo:min(lo + perfdata.BATCH, n_users)]
        Xb.sort_indices()
        S = np.ascontiguousarray((Xb @ V) @ Vt, dtype=np.float32)
        r = S.shape[0]
        indptr = Xb.indptr.astype(np.int64)
        indices = Xb.indices.astype(np.int32)
        ex = CSR(r, X.shape[1], indptr.ctypes.data, indices.ctypes.data, None)
        for rep in range(args.repeat):
            t0 = time.perf_counter()
            want = topk_lists(S, Xb, K_TOP)
            t_np[rep] += time.perf_counter() - t0
            t0 = time.perf_counter()
            st = lib.aek_topk_rows(r, X.shape[1], S.ctypes.data, X.shape[1], C.byref(ex), K_TOP, idx.ctypes.data,
                                   None, None, args.threads)
            t_ae[rep] += time.perf_counter() - t0
            assert st == 0
            if rep == 0:
                mismatched_rows += int((~np.all(idx[:r] == want, axis=1)).sum())
    rate1 = sgemm_gflops(args.threads)
    return {"users": n_users, "items": X.shape[1], "k": K_TOP, "numpy_seconds": t_np.tolist(),
            "aerec_seconds": t_ae.tolist(), "rows_with_different_lists": mismatched_rows,
            "sgemm_gflops": [rate0, rate1]}


def task_pyjob(args) -> dict:
    """The Python side of "Python vs CLI on the same job": read, strong split, fit with per-epoch
    validation, evaluate on test, exactly what `aerec train` does (same library calls)."""
    t0 = time.perf_counter()
    import aerec
    ds = aerec.datasets.read(args.data, threshold=args.lam)
    split = aerec.split.strong(ds)
    m = aerec.MultVAE(epochs=args.epochs, threads=args.threads)
    m.fit(split, progress=False)
    res = m.evaluate(split)
    return {"fit_seconds": m.fit_summary_.seconds, "epoch_seconds": [r.train_seconds for r in m.history_],
            "ndcg@100": float(res["ndcg@100"].value), "job_seconds_in_process": time.perf_counter() - t0}


def task_env_ab(args) -> dict:
    """A diagnostic switch on and off in one process, alternating epoch by epoch (the library reads
    AEREC_FUSION and AEREC_GEMM_THREADS at every batch / call), so that both see the same machine
    load. --ab VAR=ON,OFF (default AEREC_FUSION=1,0); per-batch seconds keyed "on" / "off"."""
    import aerec
    X = matrix(args)
    var, values = args.ab.split("=", 1)
    on, off = values.split(",")
    seq = [on, off] * args.repeat
    os.environ[var] = on  # the warm-up epoch
    state = {"i": 0}

    def cb(r):
        state["i"] += 1
        os.environ[var] = seq[(state["i"] - 1) % len(seq)]

    cls = {"mult-dae": aerec.MultDAE, "mult-vae": aerec.MultVAE}[args.model]
    rate0 = sgemm_gflops(args.threads)
    m = cls(epochs=len(seq) + 1, threads=args.threads, seed=args.seed)
    m.fit(X, validation=False, progress=False, callback=cb)
    rate1 = sgemm_gflops(args.threads)
    os.environ.pop(var)
    b = perfdata.batches_per_epoch(X.shape[0])
    per: dict = {"on": [], "off": []}
    for f, r in zip(seq, m.history_[1:]):
        per["on" if f == on else "off"].append(r.train_seconds / b)
    return {"users": X.shape[0], "items": X.shape[1], "per_batch_seconds": per, "sgemm_gflops": [rate0, rate1],
            "switch": args.ab}


def task_adam_kernels(args) -> dict:
    """The input layer's Adam: lazy (the rows of the batch's items) vs dense over all 40,981 x 600."""
    lib = aerec_lib()
    lib.aek_adam_dense.argtypes = [C.c_int64, C.c_void_p, C.c_void_p, C.c_void_p, C.c_void_p, Adam, C.c_int]
    lib.aek_adam_rows.argtypes = [C.c_void_p, C.c_int64, C.c_int64, C.c_int64, C.c_void_p, C.c_void_p, C.c_void_p,
                                  C.c_void_p, C.c_int64, Adam, C.c_int]
    X = matrix(args)
    h = 600
    rng = np.random.default_rng(0)
    users = rng.permutation(X.shape[0])
    touched = [np.unique(X[np.sort(users[lo:lo + perfdata.BATCH])].indices).astype(np.int32)
               for lo in range(0, min(len(users), 20 * perfdata.BATCH), perfdata.BATCH)]
    P = rng.standard_normal((X.shape[1], h), dtype=np.float32)
    G = rng.standard_normal((X.shape[1], h), dtype=np.float32) * 1e-3
    M = np.zeros_like(P)
    V = np.zeros_like(P)
    cfg = Adam(1e-3, 0.9, 0.999, 1e-8, 0.0, 0, 1)
    dense, lazy = [], []
    for rep in range(args.repeat + 1):
        t0 = time.perf_counter()
        lib.aek_adam_dense(P.size, P.ctypes.data, G.ctypes.data, M.ctypes.data, V.ctypes.data, cfg, args.threads)
        t1 = time.perf_counter()
        t = touched[rep % len(touched)]
        lib.aek_adam_rows(t.ctypes.data, len(t), X.shape[1], h, P.ctypes.data, G.ctypes.data, M.ctypes.data,
                          V.ctypes.data, h, cfg, args.threads)
        t2 = time.perf_counter()
        if rep:
            dense.append(t1 - t0)
            lazy.append(t2 - t1)
    return {"rows": X.shape[1], "cols": h, "touched_rows_per_batch": float(np.mean([len(t) for t in touched])),
            "dense_seconds": dense, "lazy_seconds": lazy,
            "dense_gbs": [7 * 4 * P.size / t / 1e9 for t in dense]}


def task_output_layer(args) -> dict:
    """The output layer's training step on real gowalla batches (500 users x 40,981 items, hidden 200
    for Mult-DAE, 600 for Mult-VAE), kernel by kernel, through libaerec's C kernels as the models call
    them: logits product, likelihood, bias gradient, backpropagated product, weight gradient + Adam.
    Two fusions are timed against their separate form, alternating, each as the best of --repeat:
    the bias gradient summed inside the likelihood pass (aek_multinomial_nll_grad_colsum vs
    aek_multinomial_nll_bias + aek_column_sums_row_parts) and the backpropagated product inside the
    weight-gradient + Adam pass (aek_outer_product_adam_da vs aek_sgemm_mt + aek_outer_product_adam).
    The SGEMM rate (aek_sgemm_mt 2048^3) is measured before and after."""
    lib = aerec_lib()
    vp, i64, f32, i32 = C.c_void_p, C.c_int64, C.c_float, C.c_int
    lib.aek_sgemm_mt.argtypes = [i32, i32, i64, i64, i64, f32, vp, i64, vp, i64, f32, vp, i64, i32]
    lib.aek_multinomial_nll_bias.argtypes = [Csr, vp, i64, vp, f32, i32, vp, i32]
    lib.aek_multinomial_nll_grad_colsum.argtypes = [Csr, vp, i64, vp, f32, vp, vp, vp, i64, i32]
    lib.aek_column_sums_row_parts.argtypes = [i64, i64, vp, i64, vp, vp, i64, i32]
    lib.aek_column_sums_scratch_doubles.argtypes = [i64, i64, i32]
    lib.aek_column_sums_scratch_doubles.restype = i64
    lib.aek_outer_product_adam.argtypes = [i64, i64, i64, vp, i64, vp, i64, vp, vp, vp, i64, vp, i64, Adam, i32, i32]
    lib.aek_outer_product_adam_da.argtypes = [i64, i64, i64, vp, i64, vp, i64, vp, vp, vp, i64, vp, i64, vp, i64,
                                              Adam, i32, i32, i32]
    X = matrix(args)
    h = 200 if args.model == "mult-dae" else 600
    B, items, T = perfdata.BATCH, X.shape[1], args.threads
    rng = np.random.default_rng(0)
    users = rng.permutation(X.shape[0])
    batches = [X[np.sort(users[lo:lo + B])] for lo in range(0, 4 * B, B)]
    for b in batches:
        b.sort_indices()
    lim = math.sqrt(6 / (h + items))
    A = rng.standard_normal((B, h), dtype=np.float32)
    W = rng.uniform(-lim, lim, (h, items)).astype(np.float32)
    M, V = np.zeros_like(W), np.zeros_like(W)
    bias = (rng.standard_normal(items) * 1e-3).astype(np.float32)
    Z = np.zeros((B, items), np.float32)
    dA = np.zeros((B, h), np.float32)
    bgrad = np.zeros(items, np.float32)
    block = 614_400 + (T - 1) * B * h
    scratch = np.zeros(block, np.float32)
    nsums = lib.aek_column_sums_scratch_doubles(B, items, T)
    sums = np.zeros(nsums, np.float64)
    loss = C.c_double(0)
    names = ["logits", "likelihood", "bias_gradient", "likelihood_with_bias_gradient", "backprop_product",
             "weight_gradient_adam", "weight_gradient_adam_backprop"]
    best = {n: math.inf for n in names}
    rate0 = sgemm_gflops(T)
    for rep in range(args.repeat):
        xb = batches[rep % len(batches)]
        ip, ix = xb.indptr.astype(np.int64), xb.indices.astype(np.int32)
        csr = Csr(B, items, ip.ctypes.data, ix.ctypes.data, None)
        cfg = Adam(1e-3, 0.9, 0.999, 1e-8, 0.02, 0, rep + 1)

        def timed(name, fn):
            t0 = time.perf_counter()
            st = fn()
            dt = time.perf_counter() - t0
            if st != 0:
                raise RuntimeError(f"{name}: status {st}")
            best[name] = min(best[name], dt)
        # the models' order, separate forms on even steps, fused on odd ones; logits onto zeros
        # (beta = 1) as the fused update leaves them
        Z[:] = 0
        timed("logits", lambda: lib.aek_sgemm_mt(0, 0, B, items, h, 1.0, A.ctypes.data, h, W.ctypes.data, items, 1.0,
                                                 Z.ctypes.data, items, T))
        if rep % 2 == 0:
            timed("likelihood", lambda: lib.aek_multinomial_nll_bias(csr, Z.ctypes.data, items, bias.ctypes.data,
                                                                     1.0 / B, 1, C.byref(loss), T))
            timed("bias_gradient", lambda: lib.aek_column_sums_row_parts(B, items, Z.ctypes.data, items,
                                                                         bgrad.ctypes.data, sums.ctypes.data, nsums, T))
            timed("backprop_product", lambda: lib.aek_sgemm_mt(0, 1, B, h, items, 1.0, Z.ctypes.data, items,
                                                               W.ctypes.data, items, 0.0, dA.ctypes.data, h, T))
            timed("weight_gradient_adam", lambda: lib.aek_outer_product_adam(
                h, items, B, A.ctypes.data, h, Z.ctypes.data, items, W.ctypes.data, M.ctypes.data, V.ctypes.data,
                items, scratch.ctypes.data, 614_400, cfg, 1, T))
        else:  # the two fused forms
            timed("likelihood_with_bias_gradient", lambda: lib.aek_multinomial_nll_grad_colsum(
                csr, Z.ctypes.data, items, bias.ctypes.data, 1.0 / B, C.byref(loss), bgrad.ctypes.data,
                sums.ctypes.data, nsums, T))
            timed("weight_gradient_adam_backprop", lambda: lib.aek_outer_product_adam_da(
                h, items, B, A.ctypes.data, h, Z.ctypes.data, items, W.ctypes.data, M.ctypes.data, V.ctypes.data,
                items, dA.ctypes.data, h, scratch.ctypes.data, block, cfg, 1, 1, T))
    rate1 = sgemm_gflops(T)
    flop = 2.0 * B * h * items
    sep = best["likelihood"] + best["bias_gradient"]
    sep2 = best["backprop_product"] + best["weight_gradient_adam"]
    return {"model": args.model, "batch": B, "hidden": h, "items": items, "threads": T, "repeat": args.repeat,
            "best_seconds": best, "sgemm_gflops": [rate0, rate1],
            "product_gflops": {"logits": flop / best["logits"] / 1e9, "backprop": flop / best["backprop_product"] / 1e9},
            "step_separate_seconds": best["logits"] + sep + sep2,
            "step_fused_seconds": best["logits"] + best["likelihood_with_bias_gradient"]
            + best["weight_gradient_adam_backprop"],
            "bias_gradient_fused_ratio": best["likelihood_with_bias_gradient"] / sep,
            "backprop_fused_ratio": best["weight_gradient_adam_backprop"] / sep2,
            "ideal_step_seconds": 3 * flop / (1e9 * statistics.median([rate0, rate1]))}


def task_sgemm(args) -> dict:
    return {"gflops": [sgemm_gflops(args.threads) for _ in range(args.repeat)], "core":
            aerec_lib().aek_blas_corename().decode()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("task", choices=["aerec-epoch", "numpy-epoch", "aerec-ease", "numpy-ease", "topk", "sgemm", "pyjob", "env-ab", "adam-kernels",
                                     "output-layer"])
    ap.add_argument("--model", default="mult-vae")
    ap.add_argument("--data", default="gowalla")
    ap.add_argument("--users", type=int, default=0, help="users subsample (0: all)")
    ap.add_argument("--users-factor", type=float, default=1)
    ap.add_argument("--items-factor", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lam", type=float, default=200.0)
    ap.add_argument("--lists", default="")
    ap.add_argument("--precision", default="float32", choices=["float32", "float64"])
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--max-users", type=int, default=0)
    ap.add_argument("--ab", default="AEREC_FUSION=1,0", help="env-ab: VAR=ON,OFF")
    args = ap.parse_args()
    fn = {"aerec-epoch": task_aerec_epoch, "numpy-epoch": task_numpy_epoch, "aerec-ease": task_aerec_ease,
          "numpy-ease": task_numpy_ease, "topk": task_topk, "sgemm": task_sgemm, "pyjob": task_pyjob,
          "env-ab": task_env_ab, "adam-kernels": task_adam_kernels,
          "output-layer": task_output_layer}[args.task]
    t0 = time.perf_counter()
    out = fn(args)
    out["task_seconds"] = time.perf_counter() - t0
    out["loadavg"] = os.getloadavg()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
