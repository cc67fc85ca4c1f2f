"""Training control from Python: callbacks, progress, Ctrl-C, busy models, concurrent readers."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import aerec
from aerec.progress import Progress

from .conftest import ML100K


def test_callback_sees_every_epoch_and_can_stop(strong_split: aerec.Split) -> None:
    seen: list[aerec.EpochReport] = []

    def cb(r: aerec.EpochReport) -> bool:
        seen.append(r)
        return r.epoch == 2

    m = aerec.MultDAE("sigmoid", epochs=10).fit(strong_split, callback=cb, progress=False)
    assert [r.epoch for r in seen] == [1, 2]
    s = m.fit_summary_
    assert s is not None and s.epochs_run == 2 and s.stopped_by_callback and not s.interrupted
    assert s.best_epoch in (1, 2) and s.best_validation == max(r.validation for r in seen)  # type: ignore[type-var]
    assert seen[0].loss > 0 and seen[0].train_seconds > 0 and seen[0].beta is None


def test_callback_exception_propagates_after_training_stops(strong_split: aerec.Split) -> None:
    def cb(r: aerec.EpochReport) -> None:
        raise ValueError("boom")

    m = aerec.MultDAE(epochs=5)
    with pytest.raises(ValueError, match="boom"):
        m.fit(strong_split, callback=cb, progress=False)


def test_keyboard_interrupt_keeps_the_best_model(strong_split: aerec.Split) -> None:
    def cb(r: aerec.EpochReport) -> None:
        if r.epoch == 2:
            raise KeyboardInterrupt

    m = aerec.MultDAE("sigmoid", epochs=10)
    with pytest.warns(RuntimeWarning, match="interrupted after epoch 2"):
        m.fit(strong_split, callback=cb, progress=False)
    assert m.is_fitted and m.fit_summary_ is not None and m.fit_summary_.interrupted
    assert m.fit_summary_.epochs_run == 2


def test_sigint_during_fit_stops_cleanly(strong_split: aerec.Split) -> None:
    def cb(r: aerec.EpochReport) -> None:
        if r.epoch == 2:
            signal.raise_signal(signal.SIGINT)

    m = aerec.MultDAE("sigmoid", epochs=10)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        m.fit(strong_split, callback=cb, progress=False)
    assert m.fit_summary_ is not None and m.fit_summary_.epochs_run == 2 and m.fit_summary_.interrupted
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


@pytest.mark.skipif(not ML100K.is_file(), reason="ml-100k not present")
def test_ctrl_c_from_outside(tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT to the process) in the middle of a long fit: training stops after the
    current epoch, the best model is kept and can be saved; the process exits normally."""
    out = tmp_path / "model.aerec"
    code = textwrap.dedent(f"""
        import sys, aerec
        ds = aerec.datasets.load_tsv({str(ML100K)!r}, threshold=3.5)
        s = aerec.split.strong(ds, held_out_users=94)
        m = aerec.MultVAE(epochs=100000, patience=0)
        print("start", flush=True)
        m.fit(s, progress="lines")
        m.save({str(out)!r})
        print("saved", m.fit_summary_.epochs_run, m.fit_summary_.interrupted, flush=True)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(aerec.__file__).resolve().parent.parent)}
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env)
    assert p.stderr is not None
    for line in p.stderr:  # progress lines go to stderr
        if "epoch 2 " in line:
            break
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 0, stderr
    last = stdout.strip().splitlines()[-1].split()
    assert last[0] == "saved" and int(last[1]) >= 2 and last[2] == "True"
    assert "interrupted" in stderr
    assert aerec.load(out).is_fitted


def test_busy_while_training(strong_split: aerec.Split, dae: aerec.MultDAE) -> None:
    m = aerec.MultDAE("sigmoid", epochs=3)
    m.fit(strong_split, progress=False)
    in_epoch, tried = threading.Event(), threading.Event()

    def cb(r: aerec.EpochReport) -> None:
        if r.epoch == 1:
            in_epoch.set()
            tried.wait(60)

    errors: list[BaseException] = []

    def train() -> None:
        try:
            m.fit(strong_split, callback=cb, progress=False)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=train)
    t.start()
    assert in_epoch.wait(60)
    try:
        with pytest.raises(aerec.AERecError) as e:
            m.recommend(strong_split.test.fold_in, k=5)
        assert e.value.kind == "busy"
        with pytest.raises(aerec.AERecError) as e:
            m.fit(strong_split, progress=False)
        assert e.value.kind == "busy"
        dae.recommend(strong_split.test.fold_in, k=5)  # other models are unaffected
    finally:
        tried.set()
        t.join(120)
    assert not errors and m.fit_summary_ is not None and m.fit_summary_.epochs_run == 3
    m.recommend(strong_split.test.fold_in, k=5)  # usable again


def test_request_stop_from_another_thread(strong_split: aerec.Split) -> None:
    m = aerec.MultDAE(epochs=1000, patience=0)
    started = threading.Event()

    def cb(r: aerec.EpochReport) -> None:
        started.set()

    t = threading.Thread(target=lambda: m.fit(strong_split, callback=cb, progress=False))
    t.start()
    assert started.wait(60)
    m.request_stop()
    t.join(120)
    assert not t.is_alive() and m.fit_summary_ is not None and m.fit_summary_.stopped_by_callback
    assert m.fit_summary_.epochs_run < 1000


def test_concurrent_readers_agree(dae: aerec.MultDAE, strong_split: aerec.Split) -> None:
    hist = strong_split.test.fold_in
    expected = dae.recommend(hist, k=20).items
    results: list[np.ndarray] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(5):
            r = dae.recommend(hist, k=20).items
            dae.encode(hist)
            with lock:
                results.append(r)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 40 and all((r == expected).all() for r in results)


def test_progress_lines_and_bar(strong_split: aerec.Split) -> None:
    buf = io.StringIO()
    p = Progress("lines", 2, "MultDAE", stream=buf)
    r = aerec.EpochReport(1, 2.5, 0.25, 0.1, 0.01, True, None)
    p.update(r)
    p.close()
    assert buf.getvalue().startswith("MultDAE: epoch 1  loss 2.5000  val 0.2500 *")
    pytest.importorskip("tqdm")
    buf = io.StringIO()
    p = Progress(True, 2, "MultDAE", stream=buf)
    p.update(r)
    p.update(aerec.EpochReport(2, 2.0, 0.2, 0.1, 0.01, False, None))
    p.close()
    assert "2/2" in buf.getvalue()
    silent = io.StringIO()
    q = Progress(False, 2, "x", stream=silent)
    q.update(r)
    q.close()
    assert silent.getvalue() == ""


def test_fit_and_readers_race_cleanly(tiny) -> None:  # type: ignore[no-untyped-def]
    """Readers hammer one model while fits are attempted: every call either works or reports
    busy; the model stays usable and consistent."""
    m = aerec.MultDAE("tanh", latent_dim=8, epochs=2, batch_size=16).fit(tiny, progress=False)
    stop = threading.Event()
    outcomes = {"ok": 0, "busy": 0, "other": []}
    lock = threading.Lock()

    def reader() -> None:
        while not stop.is_set():
            try:
                m.recommend(tiny, k=5)
                key = "ok"
            except aerec.AERecError as e:
                key = "busy" if e.kind == "busy" else "other"
                if key == "other":
                    with lock:
                        outcomes["other"].append(e)
            with lock:
                if key != "other":
                    outcomes[key] += 1  # type: ignore[operator]

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    fits = {"ok": 0, "busy": 0}
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            m.fit(tiny, progress=False)
            fits["ok"] += 1
        except aerec.AERecError as e:
            assert e.kind == "busy", e
            fits["busy"] += 1
    stop.set()
    for t in threads:
        t.join()
    assert not outcomes["other"], outcomes["other"][:3]
    assert outcomes["ok"] > 0 and fits["ok"] + fits["busy"] > 0
    assert fits["busy"] > 0 or outcomes["busy"] > 0  # they did meet
    expected = aerec.MultDAE("tanh", latent_dim=8, epochs=2, batch_size=16).fit(tiny, progress=False)
    np.testing.assert_array_equal(m.scores(tiny), expected.scores(tiny))  # same seed: same model after all
