#!/usr/bin/env python3
"""AERec's performance suite (issue 7): `make bench` -> bench/results/report.md + bench/results/*.json.

Every figure is a ratio against a reference measured in the same run on the same machine, as the
median of several runs with the spread (min..max), with the machine's SGEMM rate (aek_sgemm
2048^3, AERec's OpenBLAS, the same threads) measured beside it and the load average recorded.

  epoch     Mult-DAE / Mult-VAE epoch time on gowalla (given split, 40,981 items) vs the numpy
            reference that densifies each batch (bench/reference/epoch_numpy.py), same BLAS threads;
            decoder efficiency = the epoch's dense FLOPs / (epoch time x SGEMM rate), taken per full
            batch of 500 (its FLOPs / its time), since the epoch is extrapolated from full batches
  ease      EASE fit vs numpy's float64 inverse (bench/reference/reference.py) at ml-latest-small's
            item count and at 20k gowalla items, with the top-100 lists compared; AERec alone at
            40,981 items (fit time, peak memory; numpy's estimate printed, not run)
  topk      top-100 of every gowalla user, seen items excluded: aek_topk_rows vs numpy argpartition + sort
  memory    peak RSS of `aerec train` (Mult-VAE, gowalla) vs the analytic minimum
  scaling   epoch time at 1x / 2x / 4x users and items -> log-log slopes
  python    the same training job through Python (ctypes) and through the Swift CLI

Epoch times are measured on a fixed random subsample of gowalla's users (all 40,981 items, the
same users for AERec and numpy) and reported per full epoch (per-batch time x 60 batches), after
one warm-up epoch. Each measurement runs in its own process (bench/perf_tasks.py).

    python3 bench/perf.py [--quick] [--only epoch,ease,...] [--threads 2]
BENCH_QUICK=1 (or --quick) runs smaller problems with fewer repetitions (a few minutes).
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import perfdata  # noqa: E402

OUT = HERE / "results"
AEREC = ROOT / ".build" / "release" / "aerec"
SECTIONS = ["epoch", "ease", "topk", "memory", "scaling", "python", "techniques"]
FULL_USERS = 29858
FULL_BATCHES = perfdata.batches_per_epoch(FULL_USERS)


# ------------------------------------------------------------------------------------------- running
def log(msg: str) -> None:
    print(msg, flush=True)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def study_running() -> bool:
    try:
        return subprocess.run(["pgrep", "-f", "study run"], capture_output=True).returncode == 0
    except OSError:
        return False


def task(name: str, *args: str, threads: int, env_extra: dict | None = None) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), **(env_extra or {}))
    cmd = [sys.executable, str(HERE / "perf_tasks.py"), name, "--threads", str(threads), *args]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def med(xs):
    return statistics.median(xs)


def stat(xs: list[float]) -> dict:
    return {"median": med(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def spread(s: dict, fmt: str = "{:.3g}") -> str:
    return f"{fmt.format(s['median'])} [{fmt.format(s['min'])}–{fmt.format(s['max'])}]"


# ------------------------------------------------------------------------------------------- sections
def dense_flops_per_user(model: str, items: int) -> dict:
    """Dense matrix-product FLOPs per training user (forward + both backward products)."""
    if model == "mult-dae":
        d = 200
        aerec = 6 * d * items                          # decoder: logits, dW, dA
        numpy = aerec + 4 * items * d                  # + dense X W0 and Xn^T dZ1
    else:
        h, d = 600, 200
        hidden = 6 * (h * 2 * d + d * h)               # h -> [mu|logvar], z -> h
        aerec = 6 * h * items + hidden
        numpy = aerec + 4 * items * h
    return {"aerec": aerec, "numpy": numpy}


def section_epoch(q: bool, th: int) -> dict:
    users = 1000 if q else 2000
    ae_epochs, np_epochs = (3, 2) if q else (6, 3)  # the first is a warm-up
    out = {"users_subsample": users, "items": 40981, "threads": th, "models": {}}
    for model in ("mult-dae", "mult-vae"):
        runs = []
        common = ["--model", model, "--users", str(users)]
        # AERec before and after numpy, and once more (its epochs are short: more samples of a machine
        # whose memory bandwidth other tenants share, which the compute-bound SGEMM rate does not see)
        a1 = task("aerec-epoch", *common, "--epochs", str(ae_epochs), threads=th)
        n1 = task("numpy-epoch", *common, "--epochs", str(np_epochs), threads=th)
        a2 = task("aerec-epoch", *common, "--epochs", str(ae_epochs), threads=th)
        a3 = task("aerec-epoch", *common, "--epochs", str(ae_epochs), threads=th)
        runs = [a1, n1, a2, a3]
        aes = [a1, a2, a3]
        b = a1["batches"]
        ae = [t / b for r in aes for t in r["epoch_seconds"][1:]]
        nb = [t / b for t in n1["epoch_seconds"][1:]]
        rates = [x for r in aes for x in r["sgemm_gflops"]]
        fl = dense_flops_per_user(model, 40981)
        ae_epoch = [x * FULL_BATCHES for x in ae]
        np_epoch = [x * FULL_BATCHES for x in nb]
        # per-run ratio: each AERec epoch against the numpy median of the same run
        ratios = [x / med(np_epoch) for x in ae_epoch]
        # per full batch: its dense FLOPs over its time (the extrapolated epoch is FULL_BATCHES full batches,
        # so its FLOPs are those of FULL_BATCHES x BATCH users, not of the FULL_USERS the real epoch has)
        eff = [fl["aerec"] * perfdata.BATCH / (x * 1e9 * med(rates)) for x in ae]
        res = {"aerec_epoch_seconds": stat(ae_epoch), "numpy_epoch_seconds": stat(np_epoch),
               "ratio": stat(ratios), "ratio_of_medians": med(ae_epoch) / med(np_epoch),
               "sgemm_gflops": stat(rates), "sgemm_samples": rates, "dense_gflop_per_epoch": fl["aerec"] * FULL_USERS / 1e9,
               "numpy_dense_gflop_per_epoch": fl["numpy"] * FULL_USERS / 1e9,
               "decoder_efficiency": stat(eff),
               "numpy_blas": n1["blas"], "loadavg": [r["loadavg"] for r in runs],
               "runs": runs}
        out["models"][model] = res
        log(f"  {model}: AERec {spread(res['aerec_epoch_seconds'])} s/epoch, numpy "
            f"{spread(res['numpy_epoch_seconds'])} s/epoch -> {res['ratio_of_medians']:.3f}x; efficiency "
            f"{spread(res['decoder_efficiency'], '{:.2f}')} at SGEMM {res['sgemm_gflops']['median']:.0f} GFLOP/s")
    return out


def numpy_ease_bytes(n: int) -> int:
    # G (float64 n x n) + np.linalg.inv's copy of G and its identity right-hand side / result
    # (gesv overwrites both) + B = P / -diag(P): four n x n float64 arrays at the peak
    return 4 * 8 * n * n


def section_ease(q: bool, th: int) -> dict:
    out = {"threads": th, "cases": {}}
    cases = [("ml-latest-small", "ml-latest-small", 200.0, 3 if not q else 2, 3 if not q else 1),
             ("gowalla 20k items" if not q else "gowalla 5k items", "gowalla-items:20000" if not q else
              "gowalla-items:5000", 500.0, 3 if not q else 2, 1 if not q else 1)]
    with tempfile.TemporaryDirectory() as tmp:
        for label, data, lam, ae_rep, np_rep in cases:
            lists = str(Path(tmp) / "lists.npy")
            lists64 = str(Path(tmp) / "lists64.npy")
            a = task("aerec-ease", "--data", data, "--lam", str(lam), "--repeat", str(ae_rep), "--lists", lists,
                     threads=th)
            # the float64 solve (EASE(precision="float64")): fewer repeats, it takes about twice as long
            a64 = task("aerec-ease", "--data", data, "--lam", str(lam), "--repeat", str(max(1, ae_rep - 1)),
                       "--lists", lists64, "--precision", "float64", threads=th)
            n = task("numpy-ease", "--data", data, "--lam", str(lam), "--repeat", str(np_rep), "--lists",
                     lists + "," + lists64, threads=th)
            ratios = [x / med(n["fit_seconds"]) for x in a["fit_seconds"]]
            res = {"items": a["items"], "users": a["users"], "aerec_fit_seconds": stat(a["fit_seconds"]),
                   "numpy_fit_seconds": stat(n["fit_seconds"]), "ratio": stat(ratios),
                   "sgemm_gflops": stat(a["sgemm_gflops"] + a64["sgemm_gflops"]),
                   "sgemm_samples": a["sgemm_gflops"] + a64["sgemm_gflops"], "top100": n["top100_by_file"][lists],
                   "aerec_peak_rss_mb": a["peak_rss_mb"], "numpy_peak_rss_mb": n["peak_rss_mb"], "numpy_blas": n["blas"],
                   "loadavg": [a["loadavg"], a64["loadavg"], n["loadavg"]],
                   "float64": {"aerec_fit_seconds": stat(a64["fit_seconds"]),
                               "ratio": stat([x / med(n["fit_seconds"]) for x in a64["fit_seconds"]]),
                               "top100": n["top100_by_file"][lists64], "aerec_peak_rss_mb": a64["peak_rss_mb"]}}
            out["cases"][label] = res
            for name, r_ in (("float32", res), ("float64", res["float64"])):
                t = r_["top100"]
                log(f"  {label} ({a['items']} items), {name}: AERec {spread(r_['aerec_fit_seconds'])} s, numpy "
                    f"{spread(res['numpy_fit_seconds'])} s -> {r_['ratio']['median']:.3f}x; top-100 identical "
                    f"{t['identical']}/{t['users']} (+{t['differing_only_by_near_ties']} near-ties)")
    n = 40981
    est = numpy_ease_bytes(n)
    out["full"] = {"items": n, "numpy_float64_estimate_gib": est / 2 ** 30,
                   "aerec_float32_weights_gib": n * n * 4 / 2 ** 30}
    log(f"  gowalla {n} items: numpy's float64 path needs ~{est / 2 ** 30:.1f} GiB (4 x n^2 x 8 B) > 24 GiB: not run")
    if q:
        out["full"]["skipped"] = "quick mode"
        log("  (quick mode: AERec's 40,981-item fit skipped)")
    else:
        a = task("aerec-ease", "--data", "gowalla", "--lam", "500", "--repeat", "1", threads=th)
        out["full"].update({"aerec_fit_seconds": a["fit_seconds"][0], "aerec_peak_rss_mb": a["peak_rss_mb"],
                            "sgemm_gflops": stat(a["sgemm_gflops"]), "sgemm_samples": a["sgemm_gflops"],
                            "loadavg": a["loadavg"],
                            "solve_gflop": n ** 3 / 1e9})
        log(f"  AERec at {n} items: fit {a['fit_seconds'][0]:.0f} s, peak RSS {a['peak_rss_mb'] / 1024:.2f} GiB")
    return out


def section_topk(q: bool, th: int) -> dict:
    args = ["--repeat", "2" if q else "3"] + (["--max-users", "5000"] if q else [])
    r = task("topk", *args, threads=th)
    sp = [n / a for n, a in zip(r["numpy_seconds"], r["aerec_seconds"])]
    res = {**r, "speedup": stat(sp), "aerec": stat(r["aerec_seconds"]), "numpy": stat(r["numpy_seconds"]),
           "sgemm_gflops": stat(r["sgemm_gflops"]), "sgemm_samples": r["sgemm_gflops"]}
    log(f"  {r['users']} users x {r['items']} items: AERec {spread(res['aerec'])} s, numpy {spread(res['numpy'])} s"
        f" -> {res['speedup']['median']:.1f}x; rows with different lists: {r['rows_with_different_lists']}")
    return res


def vae_minimum_bytes(users: int, items: int, nnz: int, batch: int = 500, h: int = 600, d: int = 200) -> dict:
    params = items * h + h + h * 2 * d + 2 * d + d * h + h + h * items + items
    acts = batch * items + batch * (6 * h + 2 * 2 * d + 3 * d)  # logits; z1 a1 da1 z2 a2 da2; q dq; eps z dz
    csr = (users + 1) * 8 + nnz * 4
    return {"parameters": 4 * params, "adam_moments": 8 * params, "gradients": 4 * params, "csr": csr,
            "activations": 4 * acts,
            "minimum": 4 * params + 8 * params + csr + 4 * acts}


def max_rss_kb(stderr: str) -> int:
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    return int(m.group(1)) if m else 0


def section_memory(q: bool, th: int) -> dict:
    g = perfdata.GOWALLA
    with tempfile.TemporaryDirectory() as tmp:
        if q:  # a quarter of the users (same catalogue, same model size)
            import numpy as np
            X = perfdata.users_subsample(perfdata.gowalla_train(), FULL_USERS // 4, seed=5)
            C = X.tocoo()
            data = Path(tmp) / "train.tsv"
            with open(data, "w") as f:
                f.write("user\titem\tvalue\n")
                np.savetxt(f, np.c_[C.row, C.col, np.ones(C.nnz, int)], fmt="%d", delimiter="\t")
            cmd_data = ["--data", str(data), "--split", "ratio", "--test-fraction", "0.2"]
            users, nnz = X.shape[0], int(0.8 * X.nnz)
        else:
            cmd_data = ["--data", str(g / "ratings.tsv.gz"), "--split", "given", "--test", str(g / "test.tsv.gz")]
            X = perfdata.gowalla_train()
            users, nnz = X.shape[0], X.nnz
        cmd = ["/usr/bin/time", "-v", str(AEREC), "train", *cmd_data, "--model", "mult-vae", "--epochs", "1",
               "--threads", str(th), "--json", "--quiet"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(p.stderr[-3000:])
    j = json.loads(p.stdout.strip().splitlines()[-1])
    rss = max_rss_kb(p.stderr) * 1024
    m = vae_minimum_bytes(users, 40981, nnz)
    res = {"command": " ".join(cmd[2:]), "peak_rss_mb": rss / 2 ** 20,
           "analytic": {k: v / 2 ** 20 for k, v in m.items()}, "ratio": rss / m["minimum"],
           "ratio_with_gradients": rss / (m["minimum"] + m["gradients"]), "epoch_seconds": j["epoch_seconds"],
           "loadavg": loadavg()}
    log(f"  peak RSS {rss / 2 ** 20:.0f} MiB vs minimum {m['minimum'] / 2 ** 20:.0f} MiB -> {res['ratio']:.2f}x "
        f"({res['ratio_with_gradients']:.2f}x of the minimum with a dense gradient per parameter)")
    return res


def slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def section_scaling(q: bool, th: int) -> dict:
    n0 = 1000 if q else 2000
    # per axis, each size runs twice in the order 1, 2, 4, 4, 2, 1, so that a drift of the shared machine's
    # speed over the axis's runs cancels instead of bending the slope (one pass 1, 2, 4 once gave 1.14 where
    # the same sizes alternated differ by 3-5 %)
    epochs = 2 if q else 3  # 1 or 2 timed epochs per run, two runs per size
    out = {"model": "mult-vae", "base_users": n0, "factors": [1, 2, 4], "threads": th, "order": "1,2,4,4,2,1"}
    for axis in ("users", "items"):
        runs: dict[int, list] = {1: [], 2: [], 4: []}
        for f in (1, 2, 4, 4, 2, 1):
            size = ["--users", str(n0 * f), "--users-factor", str(f)] if axis == "users" else \
                ["--users", str(n0), "--items-factor", str(f)]
            runs[f].append(task("aerec-epoch", "--model", "mult-vae", *size, "--epochs", str(epochs), threads=th))
        times = [med([t for r in runs[f] for t in r["epoch_seconds"][1:]]) for f in (1, 2, 4)]
        s = slope([1, 2, 4], times)
        # per pass (forward: the first run of each size; backward: the second) and timed epoch, for the spread
        per = [slope([1, 2, 4], [runs[f][p]["epoch_seconds"][1 + k] for f in (1, 2, 4)])
               for p in (0, 1) for k in range(epochs - 1)]
        every = [r for f in (1, 2, 4) for r in runs[f]]
        out[axis] = {"epoch_seconds": times, "shape": [[runs[f][0]["users"], runs[f][0]["items"]] for f in (1, 2, 4)],
                     "slope": s, "slope_runs": per,
                     "sgemm_gflops": stat([g for r in every for g in r["sgemm_gflops"]]),
                     "sgemm_samples": [g for r in every for g in r["sgemm_gflops"]],
                     "loadavg": [r["loadavg"] for r in every]}
        log(f"  {axis}: epoch s {', '.join(f'{t:.2f}' for t in times)} -> slope {s:.3f}")
    return out


def section_python(q: bool, th: int) -> dict:
    data = perfdata.DATA / "ml-latest-small" / "ratings.tsv.gz"
    epochs = 10 if q else 30
    reps = 2 if q else 5  # 3 pairs were too few: one suite run measured +9.5 %, two reruns +2.3 % and -2.0 %
    cli, py = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        p = subprocess.run([str(AEREC), "train", "--data", str(data), "--threshold", "3.5", "--model", "mult-vae",
                            "--epochs", str(epochs), "--threads", str(th), "--json", "--quiet"],
                           capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t0
        j = json.loads(p.stdout.strip().splitlines()[-1])
        cli.append({"wall": wall, "fit": j["train_seconds"], "ndcg@100": j["metrics"]["ndcg@100"]})
        t0 = time.perf_counter()
        r = task("pyjob", "--data", str(data), "--lam", "3.5", "--epochs", str(epochs), threads=th)
        wall = time.perf_counter() - t0
        py.append({"wall": wall, "fit": r["fit_seconds"], "job": r["job_seconds_in_process"], "ndcg@100": r["ndcg@100"]})
    fit_ratio = [p["fit"] / c["fit"] for p, c in zip(py, cli)]
    wall_ratio = [p["wall"] / c["wall"] for p, c in zip(py, cli)]
    job_ratio = [p["job"] / c["wall"] for p, c in zip(py, cli)]
    res = {"job": f"ml-latest-small (> 3.5), strong split, Mult-VAE {epochs} epochs with validation, test evaluation",
           "cli": cli, "python": py, "fit_overhead": stat([x - 1 for x in fit_ratio]),
           "wall_overhead": stat([x - 1 for x in wall_ratio]), "job_overhead": stat([x - 1 for x in job_ratio]),
           "same_result": all(p["ndcg@100"] == c["ndcg@100"] for p, c in zip(py, cli)), "loadavg": loadavg()}
    log(f"  fit overhead {100 * res['fit_overhead']['median']:+.1f} %, job {100 * res['job_overhead']['median']:+.1f} %"
        f", with the interpreter's start-up {100 * res['wall_overhead']['median']:+.1f} %"
        f", identical NDCG@100: {res['same_result']}")
    return res


def switch_ab(model: str, var: str, on: str, off: str, users: int, rounds: int, th: int) -> dict:
    """A diagnostic switch of the library (an environment variable it reads at every batch) on and off:
    per-batch time interleaved epoch by epoch in one process (perf_tasks env-ab), then one short
    run per setting in its own process for the bits (equal losses) and the peak memory."""
    ab = task("env-ab", "--model", model, "--users", str(users), "--repeat", str(rounds), "--ab", f"{var}={on},{off}",
              threads=th)
    a, b = ab["per_batch_seconds"]["on"], ab["per_batch_seconds"]["off"]
    runs = [task("aerec-epoch", "--model", model, "--users", "1000", "--epochs", "2", threads=th,
                 env_extra={var: v}) for v in (on, off)]
    return {"on_per_batch": stat(a), "off_per_batch": stat(b), "time_ratio": med(a) / med(b),
            "identical_losses": runs[0]["losses"] == runs[1]["losses"],
            "peak_rss_mb": {"on": runs[0]["peak_rss_mb"], "off": runs[1]["peak_rss_mb"]},
            "sgemm_samples": ab["sgemm_gflops"]}


def section_techniques(q: bool, th: int) -> dict:
    """What individual techniques gain, each against its own switch in the same run."""
    out: dict = {}
    users = 1000 if q else 2000
    rounds = 2 if q else 3
    for model in ("mult-vae", "mult-dae"):
        # the fused output layer vs the unfused path (AEREC_FUSION), and the dense products on AERec's
        # own threads vs OpenBLAS's pool (AEREC_GEMM_THREADS)
        for key, var, on, off, what in (("fusion", "AEREC_FUSION", "1", "0", "fusion"),
                                        ("gemm_threads", "AEREC_GEMM_THREADS", "own", "openblas",
                                         "products on AERec's threads vs OpenBLAS's pool")):
            x = out[f"{key}_{model}"] = switch_ab(model, var, on, off, users, rounds, th)
            log(f"  {model} {what}: {x['on_per_batch']['median']:.3f} vs {x['off_per_batch']['median']:.3f} s/batch "
                f"({x['time_ratio']:.3f}x), peak RSS {x['peak_rss_mb']['on']:.0f} vs {x['peak_rss_mb']['off']:.0f} "
                f"MiB, same bits: {x['identical_losses']}")
        # the output layer's step kernel by kernel, and its two in-pass fusions against their separate form
        o = out[f"output_layer_{model}"] = task("output-layer", "--model", model, "--repeat", "6" if q else "16",
                                                threads=th)
        log(f"  {model} output layer: bias gradient inside the likelihood x{o['bias_gradient_fused_ratio']:.3f}, "
            f"backprop product inside gradient + Adam x{o['backprop_fused_ratio']:.3f}; step "
            f"{1e3 * o['step_fused_seconds']:.0f} ms vs {1e3 * o['ideal_step_seconds']:.0f} ms at the SGEMM rate")
    # threads: 1 vs 2 for the kernels and OpenBLAS together
    per = {}
    for t in (2, 1, 2, 1):
        r = task("aerec-epoch", "--model", "mult-vae", "--users", str(users), "--epochs", "2", threads=t)
        per.setdefault(t, []).append(r["epoch_seconds"][1] / r["batches"])
    out["threads"] = {"per_batch_1": stat(per[1]), "per_batch_2": stat(per[2]), "speedup_2_over_1":
                      med(per[1]) / med(per[2])}
    log(f"  Mult-VAE threads: 1 -> {med(per[1]):.3f} s/batch, 2 -> {med(per[2]):.3f} s/batch "
        f"({out['threads']['speedup_2_over_1']:.2f}x)")
    a = task("adam-kernels", "--repeat", "3" if q else "5", threads=th)
    out["adam"] = {"touched_rows_per_batch": a["touched_rows_per_batch"], "dense": stat(a["dense_seconds"]),
                   "lazy": stat(a["lazy_seconds"]), "dense_gbs": stat(a["dense_gbs"]),
                   "lazy_speedup": med(a["dense_seconds"]) / med(a["lazy_seconds"])}
    log(f"  input-layer Adam per batch: dense {1e3 * med(a['dense_seconds']):.0f} ms "
        f"({med(a['dense_gbs']):.1f} GB/s), lazy over {a['touched_rows_per_batch']:.0f} rows "
        f"{1e3 * med(a['lazy_seconds']):.1f} ms ({out['adam']['lazy_speedup']:.0f}x)")
    return out


# ------------------------------------------------------------------------------------------- report
def pct(x: float) -> str:
    return f"{100 * x:+.1f} %"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def switch_row(label: str, x: dict, memory: bool) -> str:
    """One techniques-table row for a switch_ab result: per-batch time on and off, the ratio, the bits
    (and with `memory`, peak RSS on and off)."""
    on = f"{spread(x['on_per_batch'])} s/batch"
    off = f"{spread(x['off_per_batch'])} s/batch"
    effect = f"time ×{x['time_ratio']:.3f}"
    if memory:
        rss = x["peak_rss_mb"]
        on += f", peak RSS {rss['on']:.0f} MiB"
        off += f", {rss['off']:.0f} MiB"
        effect += f", memory {rss['on'] - rss['off']:+.0f} MiB"
    return f"| {label} | {on} | {off} | {effect}, bit-identical: {x['identical_losses']} |"


def report(r: dict) -> str:
    L = ["# AERec performance report", "",
         f"Generated by `make bench` ({'BENCH_QUICK=1, ' if r['quick'] else ''}bench/perf.py) on {r['date']}, git "
         f"{r.get('git', '?')}. {r['machine']['cores']} cores, OpenBLAS core {r['sgemm']['core']}, "
         f"{r['threads']} threads for AERec's kernels and OpenBLAS and for numpy's OpenBLAS.", "",
         f"Machine SGEMM rate (aek_sgemm 2048³, {r['threads']} threads), measured beside every figure: median "
         f"**{r['sgemm_all']['median']:.0f} GFLOP/s** [{r['sgemm_all']['min']:.0f}–{r['sgemm_all']['max']:.0f}] over "
         f"{r['sgemm_all']['n']} measurements. Load average at start {r['load_start']}, at end {r['load_end']}"
         f"{'; the activation study (two single-threaded workers) was running' if r['study_running'] else ''}.", "",
         "Figures are medians with [min–max] over the repeated runs; ratios are AERec / reference measured in the "
         "same `make bench` run.", ""]
    dates = {k: (v.get("date"), v.get("git")) for k, v in r["sections"].items()}
    if any(d != (r["date"], r.get("git")) for d in dates.values()):
        L += ["Sections measured in different runs (`bench/perf.py --merge`): " + "; ".join(
            f"{k} on {d} (git {g})" for k, (d, g) in dates.items()) + ".", ""]
    L += [
         "| # | figure | value | target | |", "|---|---|---|---|---|"]
    s = r["sections"]
    rows = []
    if "epoch" in s:
        for m, e in s["epoch"]["models"].items():
            rows.append(("1", f"{m} epoch time vs numpy (gowalla)",
                         f"{e['ratio']['median']:.3f} [{e['ratio']['min']:.3f}–{e['ratio']['max']:.3f}] "
                         f"({e['aerec_epoch_seconds']['median']:.1f} s vs {e['numpy_epoch_seconds']['median']:.0f} s)",
                         "≤ 0.4", e["ratio"]["median"] <= 0.4))
        for m, e in s["epoch"]["models"].items():
            rows.append(("2", f"{m} decoder efficiency", f"{spread(e['decoder_efficiency'], '{:.2f}')} "
                         f"(SGEMM {e['sgemm_gflops']['median']:.0f} GFLOP/s)", "≥ 0.7",
                         e["decoder_efficiency"]["median"] >= 0.7))
    if "ease" in s:
        for label, c in s["ease"]["cases"].items():
            for name, x in (("float32", c), ("float64", c.get("float64"))):
                if x is None:
                    continue
                t = x["top100"]
                rows.append(("3", f"EASE fit ({name} solve) vs numpy float64, {label} ({c['items']} items)",
                             f"{spread(x['ratio'], '{:.3f}')} ({x['aerec_fit_seconds']['median']:.1f} s vs "
                             f"{c['numpy_fit_seconds']['median']:.1f} s); top-100 identical {t['identical']}/{t['users']}"
                             + (f", {t['differing_only_by_near_ties']} differ only at near-ties" if
                                t['differing_only_by_near_ties'] else ""),
                             "≤ 0.5", x["ratio"]["median"] <= 0.5 and t["differing"] == 0))
        f = s["ease"]["full"]
        if "aerec_fit_seconds" in f:
            rows.append(("3", f"EASE at {f['items']} items (AERec alone)",
                         f"fit {f['aerec_fit_seconds']:.0f} s, peak RSS {f['aerec_peak_rss_mb'] / 1024:.2f} GiB "
                         f"(numpy float64 would need ~{f['numpy_float64_estimate_gib']:.0f} GiB)", "runs in 24 GiB",
                         True))
    if "topk" in s:
        t = s["topk"]
        rows.append(("4", f"top-100 of {t['users']} users × {t['items']} items vs numpy",
                     f"{spread(t['speedup'], '{:.1f}')}× ({t['aerec']['median']:.2f} s vs {t['numpy']['median']:.1f} s)",
                     "≥ 3×", t["speedup"]["median"] >= 3))
    if "memory" in s:
        m = s["memory"]
        rows.append(("5", "Mult-VAE training peak RSS / analytic minimum",
                     f"{m['ratio']:.2f} ({m['peak_rss_mb']:.0f} MiB vs {m['analytic']['minimum']:.0f} MiB)",
                     "≤ 1.3", m["ratio"] <= 1.3))
    if "scaling" in s:
        for axis in ("users", "items"):
            a = s["scaling"][axis]
            rows.append(("6", f"epoch time slope vs {axis} (1×, 2×, 4×)",
                         f"{a['slope']:.3f} (per run {', '.join(f'{x:.3f}' for x in a['slope_runs'])})",
                         "0.9–1.1", 0.9 <= a["slope"] <= 1.1))
    if "python" in s:
        p = s["python"]
        rows.append(("7", "Python (ctypes) vs Swift CLI, same job", f"fit {pct(p['fit_overhead']['median'])} "
                     f"[{pct(p['fit_overhead']['min'])}, {pct(p['fit_overhead']['max'])}]; whole job "
                     f"{pct(p['job_overhead']['median'])} [{pct(p['job_overhead']['min'])}, "
                     f"{pct(p['job_overhead']['max'])}] (+ Python's own start-up: {pct(p['wall_overhead']['median'])})",
                     "≤ +5 %", max(p["fit_overhead"]["median"], p["job_overhead"]["median"]) <= 0.05))
    for n, name, val, tgt, ok in rows:
        L.append(f"| {n} | {name} | {val} | {tgt} | {verdict(ok)} |")
    L.append("")
    if "epoch" in s:
        e = s["epoch"]
        L += ["## 1–2. Epoch time and decoder efficiency", "",
              f"Per-batch times on {e['users_subsample']} gowalla users (batches of 500, all {e['items']} items, "
              f"warm-up epoch dropped) × {FULL_BATCHES} batches = one epoch of the {FULL_USERS} training users. "
              "AERec runs three times (before the numpy reference, after it, and once more), each in its own "
              "process; its SGEMM rate is measured before and after each run. The efficiency is per batch: a full "
              "batch's dense FLOPs / (its time × the median SGEMM rate of the section); the epoch column is "
              f"{FULL_BATCHES} such batches (the real epoch's last batch is partial, so it overstates the epoch a little). "
              "The numpy reference densifies each batch (X[batch].toarray()), as the Python peers do.", "",
              "| model | AERec s/epoch | numpy s/epoch | ratio | AERec dense GFLOP/epoch | numpy dense GFLOP/epoch | "
              "efficiency | SGEMM GFLOP/s | numpy BLAS |", "|---|---|---|---|---|---|---|---|---|"]
        for m, x in e["models"].items():
            b = x["numpy_blas"]
            L.append(f"| {m} | {spread(x['aerec_epoch_seconds'])} | {spread(x['numpy_epoch_seconds'])} | "
                     f"{spread(x['ratio'], '{:.3f}')} | {x['dense_gflop_per_epoch']:.0f} | "
                     f"{x['numpy_dense_gflop_per_epoch']:.0f} | {spread(x['decoder_efficiency'], '{:.2f}')} | "
                     f"{spread(x['sgemm_gflops'], '{:.0f}')} | {b.get('core')} × {b.get('threads')} |")
        L.append("")
        for m, x in e["models"].items():
            per_run = [(r["epoch_seconds"][1:], r["batches"], r.get("sgemm_gflops")) for r in x["runs"]
                       if "sgemm_gflops" in r]
            L.append(f"- {m}, AERec per run (ms per batch over the timed epochs; SGEMM GFLOP/s before, after): " + "; ".join(
                f"{', '.join(f'{1e3 * t / nb:.0f}' for t in ts)} ({rr[0]:.0f}, {rr[1]:.0f})" for ts, nb, rr in per_run))
        L.append("")
    if "ease" in s:
        L += ["## 3. EASE", "", "| data | items | users | AERec fit s | numpy float64 s | ratio | top-100 lists | "
              "AERec peak RSS MiB | numpy peak RSS MiB |", "|---|---|---|---|---|---|---|---|---|"]
        for label, c in s["ease"]["cases"].items():
            for name, x in (("float32", c), ("float64", c.get("float64"))):
                if x is None:
                    continue
                t = x["top100"]
                L.append(f"| {label}, {name} solve | {c['items']} | {c['users']} | {spread(x['aerec_fit_seconds'])} | "
                         f"{spread(c['numpy_fit_seconds'])} | {spread(x['ratio'], '{:.3f}')} | {t['identical']}/{t['users']} "
                         f"identical, {t['differing_only_by_near_ties']} near-tie, {t['differing']} other | "
                         f"{x['aerec_peak_rss_mb']:.0f} | {c['numpy_peak_rss_mb']:.0f} |")
        f = s["ease"]["full"]
        L.append("")
        L.append(f"At gowalla's {f['items']} items numpy's float64 path needs about "
                 f"{f['numpy_float64_estimate_gib']:.1f} GiB (G, inv's working copy, its result, B: 4 × n² × 8 B) "
                 f"on a 24 GiB machine, so it is not run. AERec's float32 weights take {f['aerec_float32_weights_gib']:.2f} GiB"
                 + (f"; its fit took {f['aerec_fit_seconds']:.0f} s ({f['solve_gflop']:.0f} GFLOP of Cholesky "
                    f"inverse ≈ {f['solve_gflop'] / f['aerec_fit_seconds']:.0f} GFLOP/s) with a peak RSS of "
                    f"{f['aerec_peak_rss_mb'] / 1024:.2f} GiB." if "aerec_fit_seconds" in f else " (not run in quick mode)."))
        L.append("")
    if "topk" in s:
        t = s["topk"]
        L += ["## 4. Top-100", "", f"{t['users']} users × {t['items']} items, seen items excluded, scores of a rank-64 "
              f"pure-SVD model (float32), batches of 500: AERec `aek_topk_rows` {spread(t['aerec'])} s vs numpy "
              f"argpartition + sort {spread(t['numpy'])} s → {spread(t['speedup'], '{:.1f}')}×. Rows whose lists "
              f"differ: {t['rows_with_different_lists']}.", ""]
    if "memory" in s:
        m = s["memory"]
        a = m["analytic"]
        L += ["## 5. Memory", "", f"`{m['command']}`: peak RSS {m['peak_rss_mb']:.0f} MiB (`/usr/bin/time -v`).", "",
              f"Analytic minimum {a['minimum']:.0f} MiB = parameters {a['parameters']:.0f} + Adam moments "
              f"{a['adam_moments']:.0f} + training CSR {a['csr']:.1f} + one batch of activations {a['activations']:.0f} "
              f"→ ratio **{m['ratio']:.2f}** (with one dense gradient per parameter, {a['gradients']:.0f} MiB more, "
              f"{m['ratio_with_gradients']:.2f}).", ""]
    if "scaling" in s:
        c = s["scaling"]
        L += ["## 6. Scaling", "", f"Mult-VAE epochs (warm-up dropped) on {c['base_users']} gowalla users × 40,981 "
              "items (1×), with the users resampled (2×, 4× as many users) or the catalogue resampled (each "
              "interaction moved to one of 2 or 4 copies of its item), slopes of log(epoch time) against log(size). "
              "Each size runs twice, in the order 1×, 2×, 4×, 4×, 2×, 1×, so that a drift of the machine's speed "
              "cancels; epoch s is the median of both runs' timed epochs, the per-run slopes pair the forward and "
              "the backward pass's epochs.", "",
              "| axis | shapes | epoch s | slope |", "|---|---|---|---|"]
        for axis in ("users", "items"):
            a = c[axis]
            L.append(f"| {axis} | {', '.join(f'{u}×{i}' for u, i in a['shape'])} | "
                     f"{', '.join(f'{t:.2f}' for t in a['epoch_seconds'])} | {a['slope']:.3f} |")
        L.append("")
    if "python" in s:
        p = s["python"]
        L += ["## 7. Python vs CLI", "", f"Job: {p['job']}. Identical test NDCG@100 in both: {p['same_result']}.", "",
              "CLI job = the `aerec train` process's wall time; Python job = read + split + fit + evaluate inside "
              "the Python process (after `import numpy, scipy`, including `import aerec`); Python process = the "
              "whole `python3` run, the interpreter's own start-up and numpy/scipy imports included (≈ 0.9 s here).",
              "", "| run | CLI fit s | Python fit s | CLI job s | Python job s | Python process s |",
              "|---|---|---|---|---|---|"]
        for i, (c, q) in enumerate(zip(p["cli"], p["python"])):
            L.append(f"| {i + 1} | {c['fit']:.2f} | {q['fit']:.2f} | {c['wall']:.2f} | {q['job']:.2f} | {q['wall']:.2f} |")
        L.append("")
    if "techniques" in s:
        t = s["techniques"]
        L += ["## Techniques, each against its switch in the same run", "",
              "| technique | with | without | effect |", "|---|---|---|---|"]
        for model in ("mult-vae", "mult-dae"):
            x = t.get(f"fusion_{model}")
            if x:
                L.append(switch_row(f"{model}: fused output layer (bias and its gradient in the likelihood kernel, "
                                    "logits onto zeros, gradient + Adam + backprop product in 2.4 MB blocks)", x,
                                    memory=True))
            o = t.get(f"output_layer_{model}")
            if o:
                b = o["best_seconds"]
                L.append(f"| {model}: output bias gradient summed inside the likelihood pass (best of "
                         f"{o.get('repeat', '')} batches) | {1e3 * b['likelihood_with_bias_gradient']:.1f} ms | "
                         f"{1e3 * (b['likelihood'] + b['bias_gradient']):.1f} ms | ×{o['bias_gradient_fused_ratio']:.3f} |")
                L.append(f"| {model}: backpropagated product inside the weight-gradient + Adam pass | "
                         f"{1e3 * b['weight_gradient_adam_backprop']:.1f} ms | "
                         f"{1e3 * (b['backprop_product'] + b['weight_gradient_adam']):.1f} ms | "
                         f"×{o['backprop_fused_ratio']:.3f} |")
        for model in ("mult-vae", "mult-dae"):
            x = t.get(f"gemm_threads_{model}")
            if x:
                L.append(switch_row(f"{model}: dense products on AERec's threads (a single-threaded OpenBLAS call "
                                    "per thread on a slice; output-layer gradient + Adam per thread, no barrier) vs "
                                    "OpenBLAS's pool", x, memory=False))
        th_ = t["threads"]
        L.append(f"| 2 threads (kernels and OpenBLAS) vs 1, Mult-VAE | {spread(th_['per_batch_2'])} s/batch | "
                 f"{spread(th_['per_batch_1'])} s/batch | ×{th_['speedup_2_over_1']:.2f} faster |")
        a_ = t["adam"]
        L.append(f"| lazy Adam on the 40,981 × 600 input layer ({a_['touched_rows_per_batch']:.0f} rows per batch) "
                 f"vs dense | {1e3 * a_['lazy']['median']:.1f} ms/batch | {1e3 * a_['dense']['median']:.0f} ms/batch "
                 f"({a_['dense_gbs']['median']:.1f} GB/s) | ×{a_['lazy_speedup']:.0f} faster |")
        L.append("")
        rows_ = [(m, t[f"output_layer_{m}"]) for m in ("mult-dae", "mult-vae") if f"output_layer_{m}" in t]
        if rows_:
            L += ["### The output layer's training step, kernel by kernel", "",
                  "One step on real gowalla batches (500 users × 40,981 items), best of the repeated steps, "
                  "through the C kernels as the models call them (`bench/perf_tasks.py output-layer`). *Ideal*: the "
                  "step's three products (2 · 500 · hidden · 40,981 FLOPs each) at the SGEMM rate measured around "
                  "it; the step's share of that ideal is the decoder efficiency the output layer alone allows.", "",
                  "| model | logits product | likelihood + bias gradient | weight gradient + Adam + backprop product | "
                  "step | ideal | ideal / step | SGEMM GFLOP/s |", "|---|---|---|---|---|---|---|---|"]
            for m, o in rows_:
                b = o["best_seconds"]
                L.append(f"| {m} (hidden {o['hidden']}) | {1e3 * b['logits']:.1f} ms "
                         f"({o['product_gflops']['logits']:.0f} GFLOP/s) | {1e3 * b['likelihood_with_bias_gradient']:.1f} ms | "
                         f"{1e3 * b['weight_gradient_adam_backprop']:.1f} ms | {1e3 * o['step_fused_seconds']:.1f} ms | "
                         f"{1e3 * o['ideal_step_seconds']:.1f} ms | {o['ideal_step_seconds'] / o['step_fused_seconds']:.2f} | "
                         f"{o['sgemm_gflops'][0]:.0f}, {o['sgemm_gflops'][1]:.0f} |")
            L.append("")
    L.append(f"Suite time: {r['seconds'] / 60:.1f} min.")
    return "\n".join(L) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") not in ("", "0"))
    ap.add_argument("--only", default=",".join(SECTIONS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--merge", action="store_true",
                    help="keep the other sections of the existing perf.json (each keeps its own date and git) "
                         "and replace only the sections run now; the report lists every section's date")
    args = ap.parse_args()
    if not AEREC.exists():
        sys.exit(f"error: {AEREC} not found: run `make build` first")
    t0 = time.perf_counter()
    r = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "quick": args.quick,
         "threads": args.threads, "load_start": loadavg(), "study_running": study_running(),
         "machine": {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
                     "python": platform.python_version()}, "sections": {}}
    r["git"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
    log(f"AERec performance suite ({'quick' if args.quick else 'full'}), load {r['load_start']}"
        f"{', study running' if r['study_running'] else ''}")
    r["sgemm"] = task("sgemm", "--repeat", "3", threads=args.threads)
    log(f"  SGEMM {', '.join(f'{g:.0f}' for g in r['sgemm']['gflops'])} GFLOP/s on {r['sgemm']['core']}")
    OUT.mkdir(parents=True, exist_ok=True)
    fns = {"epoch": section_epoch, "ease": section_ease, "topk": section_topk, "memory": section_memory,
           "scaling": section_scaling, "python": section_python, "techniques": section_techniques}
    for name in [x for x in args.only.split(",") if x]:
        log(f"[{name}]")
        ts = time.perf_counter()
        res = fns[name](args.quick, args.threads)
        res["seconds"] = time.perf_counter() - ts
        res["date"], res["git"] = r["date"], r["git"]
        r["sections"][name] = res
        (OUT / f"{name}.json").write_text(json.dumps(res, indent=1) + "\n")
    if args.merge and (OUT / "perf.json").exists():
        old = json.loads((OUT / "perf.json").read_text())
        for name, sec in old.get("sections", {}).items():
            if name not in r["sections"]:
                sec.setdefault("date", old.get("date"))
                sec.setdefault("git", old.get("git"))
                r["sections"][name] = sec
        r["sections"] = {k: r["sections"][k] for k in SECTIONS if k in r["sections"]}
    # every SGEMM rate measured in this run (and in the merged sections)
    rates = list(r["sgemm"]["gflops"])

    def collect(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k == "sgemm_samples":
                    rates.extend(v)
                else:
                    collect(v)
        elif isinstance(x, list):
            for v in x:
                collect(v)
    collect(r["sections"])
    r["sgemm_all"] = stat(rates)
    r["load_end"] = loadavg()
    r["seconds"] = time.perf_counter() - t0
    (OUT / "perf.json").write_text(json.dumps(r, indent=1) + "\n")
    (OUT / "report.md").write_text(report(r))
    log(f"wrote {OUT / 'report.md'} and {OUT}/*.json in {r['seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
