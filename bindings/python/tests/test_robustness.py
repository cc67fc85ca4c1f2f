"""Hostile and extreme arguments never crash the host: each call either works or raises
AERecError / ValueError. Runs in a child process so that a crash fails the test instead of
killing pytest."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import aerec

from .conftest import ML100K

SCRIPT = r'''
import ctypes, math, sys
import numpy as np, scipy.sparse as sp
import aerec
from aerec import _lib

outcomes = {"ok": 0, "error": 0}
def attempt(label, f):
    try:
        f()
        outcomes["ok"] += 1
    except (aerec.AERecError, ValueError) as e:
        outcomes["error"] += 1
        assert str(e), label

ds = aerec.datasets.load_tsv(sys.argv[1], threshold=3.5)
small = aerec.datasets.from_coo(np.arange(40) % 8, np.arange(40) % 5)

# extreme split parameters
for held in (1, 400, 471, 1000, 10**9):
    attempt(f"strong {held}", lambda: aerec.split.strong(ds, held_out_users=held))
for tf in (0.0, 1e-12, 0.999999, 1.0):
    attempt(f"target {tf}", lambda: aerec.split.strong(ds, held_out_users=10, target_fraction=tf, min_items_for_split=0))
    attempt(f"ratio {tf}", lambda: aerec.split.ratio(ds, test_fraction=tf, validation_fraction=1.0 - tf))
    attempt(f"explicit {tf}", lambda: aerec.split.explicit(ds, test_fraction=tf, validation_fraction=1.0))
for bad in (float("nan"), float("inf"), -0.5, 2.0):
    attempt(f"ratio {bad}", lambda: aerec.split.ratio(ds, test_fraction=bad))
attempt("loo without timestamps", lambda: aerec.split.leave_one_out(small, validation=True))
attempt("given unknown ids", lambda: aerec.split.given(ds, small))
attempt("given missing file", lambda: aerec.split.given(ds, "/nonexistent.tsv"))
attempt("filter everything away", lambda: ds.filter(threshold=10.0))
attempt("k-core huge", lambda: ds.filter(min_user_interactions=10**6, k_core=True))

# extreme model configurations
s = aerec.split.strong(ds, held_out_users=20)
for kw in (dict(latent_dim=1 << 24), dict(latent_dim=0), dict(batch_size=2**31 - 1), dict(epochs=-5),
           dict(learning_rate=1e5), dict(l2=1e29), dict(dropout=0.999999), dict(latent_activation="sigmoid:0"),
           dict(latent_activation="sigmoid:1e-30"), dict(latent_activation=""), dict(seed=2**64 - 1),
           dict(patience=0), dict(validation_metric="ndcg@2000000000")):
    def run(kw=kw):
        m = aerec.MultDAE(**{"epochs": 1, **kw})
        m.fit(s, progress=False)
        m.recommend(s.test.fold_in[:2], k=3)
    attempt(f"dae {kw}", run)
for kw in (dict(hidden_dim=1 << 24), dict(hidden_dim=1 << 24, latent_dim=1 << 24), dict(anneal_steps=2**31 - 1)):
    attempt(f"vae {kw}", lambda kw=kw: aerec.MultVAE(epochs=1, **kw).fit(s, progress=False))
attempt("ease negative", lambda: aerec.EASE(lambda_=-2.0))
attempt("ease minus one", lambda: aerec.EASE(lambda_=-1.0))
attempt("ease zero lambda", lambda: aerec.EASE(lambda_=0.0).fit(small, progress=False))

m = aerec.MultDAE(epochs=1).fit(s, progress=False)
h = s.test.fold_in
for k in (1, 10**6, 2**31 - 1):
    def rec(k=k):
        if k * h[:1].shape[0] > 10**7:
            raise ValueError("too large to allocate here")
        m.recommend(h[:1], k=k)
    attempt(f"k {k}", rec)
attempt("k > int32", lambda: m.recommend(h[:1], k=2**40))
attempt("threads 256", lambda: m.recommend(h, k=5, threads=256))
attempt("threads -7", lambda: m.recommend(h, k=5, threads=-7))
attempt("empty histories", lambda: m.recommend(sp.csr_matrix((0, m.n_items), dtype=np.float32), k=5))
attempt("empty rows", lambda: m.recommend(sp.csr_matrix((3, m.n_items), dtype=np.float32), k=5))
attempt("NaN history values", lambda: m.recommend(sp.csr_matrix(np.full((1, m.n_items), np.nan, np.float32)), k=5))
attempt("bad train rows", lambda: m.evaluate((h, s.test.target, np.full(h.shape[0], 10**8))))
attempt("metric k huge", lambda: m.evaluate(s, ["ndcg@2000000000", "coverage@2000000000"]))
attempt("metrics item_count huge", lambda: aerec.metrics.evaluate([[0]], [[0]], ["ndcg@1"], item_count=2**31 - 1))
attempt("rankings out of range", lambda: aerec.metrics.evaluate([[5]], [[0]], ["ndcg@1"], item_count=3))

# raw C calls with hostile pointers and sizes
lib = _lib.lib()
out = ctypes.c_void_p()
info = _lib.DatasetInfo()
for bogus in (1, 0xdeadbeef, 2**63 - 1, ctypes.addressof(info)):
    assert lib.aerec_dataset_info_get(bogus, ctypes.byref(info)) == _lib.ERR_INVALID_ARGUMENT
    assert lib.aerec_model_free(bogus) == _lib.ERR_INVALID_ARGUMENT
assert lib.aerec_dataset_info_get(m.handle, ctypes.byref(info)) == _lib.ERR_INVALID_ARGUMENT  # a model handle
bad = _lib.CSR(-1, 5, None, None, None)
assert lib.aerec_dataset_from_csr(ctypes.byref(bad), None, None, ctypes.byref(out)) == _lib.ERR_INVALID_ARGUMENT
bad = _lib.CSR(2, 2**40, None, None, None)
assert lib.aerec_dataset_from_csr(ctypes.byref(bad), None, None, ctypes.byref(out)) == _lib.ERR_INVALID_ARGUMENT
ip = (ctypes.c_int64 * 3)(0, -4, 2)
bad = _lib.CSR(2, 5, ip, None, None)
assert lib.aerec_dataset_from_csr(ctypes.byref(bad), None, None, ctypes.byref(out)) == _lib.ERR_INVALID_ARGUMENT
assert lib.aerec_dataset_from_coo(None, None, None, None, 2**62, -1, -1, None, None, ctypes.byref(out)) != 0
u = (ctypes.c_int32 * 1)(0)
assert lib.aerec_dataset_from_coo(u, u, None, None, 1, 2**31 - 1, -1, None, None, ctypes.byref(out)) != 0
cfg = _lib.ModelConfig()
lib.aerec_model_config_init(ctypes.byref(cfg), 0)
cfg.struct_size = 2**63
assert lib.aerec_model_create(ctypes.byref(cfg), ctypes.byref(out)) == _lib.ERR_INVALID_ARGUMENT
assert lib.aerec_model_config_init(ctypes.byref(cfg), 2**31 - 1) == _lib.ERR_INVALID_ARGUMENT
res = ctypes.c_void_p()
assert lib.aerec_model_evaluate(m.handle, s.handle, 77, None, -1, -1, ctypes.byref(res)) == _lib.ERR_INVALID_ARGUMENT
n = ctypes.c_int64()
assert lib.aerec_model_history(m.handle, None, 5, ctypes.byref(n)) == _lib.ERR_INVALID_ARGUMENT
assert lib.aerec_model_history(m.handle, None, -1, ctypes.byref(n)) == _lib.ERR_INVALID_ARGUMENT
assert lib.aerec_status_string(-99) == b"unknown status"
print("survived", outcomes["ok"], outcomes["error"])
'''


def test_hostile_arguments_never_crash(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(aerec.__file__).resolve().parent.parent)}
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(ML100K)], capture_output=True, text=True, env=env,
                       timeout=900)
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    assert r.stdout.strip().splitlines()[-1].startswith("survived"), r.stdout
