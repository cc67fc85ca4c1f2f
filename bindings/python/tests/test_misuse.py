"""The C ABI under misuse (issue 8): misuse_cases.py runs more than 200 hostile calls in a child
process (NULL pointers, wrong struct sizes, freed, foreign and wrong-type handles, NaN and
infinities, out-of-range values, wrong dtypes and shapes through the Python API, 8 threads on one
model). Each must return its documented error (or raise AERecError / ValueError / TypeError); the
child must exit normally, so that a crash fails this test instead of killing pytest."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import aerec

SCRIPT = Path(__file__).resolve().parent / "misuse_cases.py"


def test_misuse_cases_all_return_errors_and_nothing_crashes() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(aerec.__file__).resolve().parent.parent)}
    r = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, f"the child died: exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    last = r.stdout.strip().splitlines()[-1]
    m = re.match(r"misuse cases: (\d+), unexpected: (\d+), by category: (.*)", last)
    assert m, r.stdout[-3000:]
    total, unexpected = int(m.group(1)), int(m.group(2))
    print(last)
    assert unexpected == 0, r.stdout[-5000:]
    assert total >= 200, last
    for category in ("null", "size", "stale", "foreign", "kind", "nan", "range", "dtype", "threads"):
        assert f"'{category}'" in m.group(3), last
