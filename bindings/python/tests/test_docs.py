"""The Python examples of docs/python.md run as written (from the repository root)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .conftest import ML100K, REPO

DOC = REPO / "docs" / "python.md"


@pytest.mark.skipif(not ML100K.is_file() or ML100K.resolve() != (REPO / "../shared/data/ml-100k/ratings.tsv.gz")
                    .resolve(), reason="the docs use ../shared/data relative to the repository")
def test_python_md_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 8
    monkeypatch.chdir(REPO)
    namespace: dict = {}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{DOC.name} block {i + 1}", "exec"), namespace)
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"docs/python.md block {i + 1} failed: {type(e).__name__}: {e}\n{block}")
