"""Parity with the CLI: a model trained and saved by `aerec train` loads here and recommends
identically; the same seed and threads give identical metrics from the CLI and from Python."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import aerec

from .conftest import ML100K, cli_path

CLI = cli_path()
pytestmark = pytest.mark.skipif(CLI is None or not CLI.is_file() or not ML100K.is_file(),
                                reason="the aerec CLI (.build/release/aerec) or ml-100k is missing")

CASES = {
    "mult-dae": (["--model", "mult-dae", "--activation", "sigmoid", "--epochs", "3"],
                 lambda: aerec.MultDAE("sigmoid", epochs=3)),
    "mult-vae": (["--model", "mult-vae", "--activation", "relu", "--epochs", "3", "--hidden", "128",
                  "--latent", "32"],
                 lambda: aerec.MultVAE("relu", epochs=3, hidden_dim=128, latent_dim=32)),
    "cdae": (["--model", "cdae", "--activation", "tanh", "--epochs", "2", "--hidden", "50"],
             lambda: aerec.CDAE("tanh", epochs=2, hidden_dim=50)),  # CDAE's own default batch (100)
    "ease": (["--model", "ease", "--lambda", "100"], lambda: aerec.EASE(lambda_=100.0)),
}


def train_cli(args: list[str], out: Path) -> dict:
    assert CLI is not None
    cmd = [str(CLI), "train", "--data", str(ML100K), "--threshold", "3.5", "--heldout-users", "94", "--threads", "2",
           "--seed", "98765", "--json", "--quiet", "--out", str(out), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=os.environ.copy())
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", list(CASES))
def test_cli_and_python_agree(name: str, tmp_path: Path, ml100k: aerec.Dataset,
                              strong_split: aerec.Split) -> None:
    args, make = CASES[name]
    cli = train_cli(args, tmp_path)

    # the same job in Python: same data, filter, split, configuration, seed and threads
    model = make().fit(strong_split, progress=False)
    result = model.evaluate(strong_split)
    assert result.to_dict() == cli["metrics"]  # bit-identical, every metric
    for k, (lo, hi) in cli["metrics_ci"].items():
        assert result[k].ci == (lo, hi)
    assert cli["epochs_run"] == model.fit_summary_.epochs_run  # type: ignore[union-attr]
    assert cli["best_epoch"] == model.fit_summary_.best_epoch  # type: ignore[union-attr]
    assert result.users_evaluated == cli["users_evaluated"]

    # the CLI's model file loads here and recommends exactly as the Python-trained model
    loaded = aerec.load(tmp_path / "model.aerec")
    assert type(loaded) is type(model)
    assert loaded.item_ids == strong_split.item_ids
    hist = strong_split.test.fold_in
    a, b = loaded.recommend(hist, k=100), model.recommend(hist, k=100)
    np.testing.assert_array_equal(a.items, b.items)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(loaded.scores(hist), model.scores(hist))
    assert loaded.evaluate(strong_split).to_dict() == cli["metrics"]
    if loaded.latent_dim:
        np.testing.assert_array_equal(loaded.encode(hist), model.encode(hist))

    # `aerec recommend` on the CLI's model file and recommend_by_id here give the same lists
    users = ml100k.user_ids[:5] + [ml100k.user_ids[int(u)] for u in strong_split.test.users[:5]]
    assert CLI is not None
    r = subprocess.run([str(CLI), "recommend", str(tmp_path / "model.aerec"), "--data", str(ML100K), "--threshold",
                        "3.5", "--users", ",".join(users), "-k", "20", "--threads", "2", "--json", "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    cli_lists = json.loads(r.stdout.strip().splitlines()[-1])["users"]
    raw = aerec.datasets.load_tsv(ML100K)  # every item a user has in the file is excluded, low ratings too
    mine = loaded.recommend_by_id(users, history=ml100k, also_exclude=raw, k=20)
    for c, p in zip(cli_lists, mine):
        assert c["user"] == p.user and c["history_items"] == p.history_items
        assert [e["item"] for e in c["items"]] == p.items
        # the CLI prints each float32 score as its shortest decimal: read back, bit-identical
        np.testing.assert_array_equal(np.array([e["score"] for e in c["items"]], np.float32), p.scores)
