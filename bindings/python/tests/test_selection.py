"""aerec.select_activation: the Theory layer's selection through the C ABI."""

from __future__ import annotations

import json

import pytest

import aerec


@pytest.fixture(scope="module")
def small_selection(strong_split: aerec.Split) -> aerec.SelectionReport:
    seen: list[aerec.SelectionProgress] = []
    report = aerec.select_activation(
        strong_split, aerec.MultDAE(epochs=3, latent_dim=64), candidates=["sigmoid", "relu"], learning_rates=[1e-3],
        regularizations=[0.01], seeds=[1, 2], probe={"users": 200, "samples": 300, "anchors": 20, "item_probes": 50},
        progress=False, callback=seen.append)
    report._seen = seen  # type: ignore[attr-defined]
    return report


def test_selection_report(small_selection: aerec.SelectionReport) -> None:
    r = small_selection
    assert r.recommended in ("sigmoid", "relu") and r.measured_best in ("sigmoid", "relu")
    assert r.basis in ("theory and measurement", "theory", "measurement", "measurement only")
    assert r.theory_agrees == (r.measured_best == "sigmoid")
    assert r.candidates == 2 and r.runs == 4  # 1 grid point + 1 extra seed, per candidate
    assert r.reason and r.recommended in str(r)
    seen = r._seen  # type: ignore[attr-defined]
    assert [p.completed for p in seen] == [1, 2, 3, 4] and all(p.total == 4 for p in seen)
    assert {p.phase for p in seen} == {"tuning", "final"} and seen[0].line.startswith("[1/4] tuning")


def test_selection_renders(small_selection: aerec.SelectionReport) -> None:
    full = json.loads(small_selection.json())
    assert full["recommendation"]["activation"] == small_selection.recommended
    assert [a["activation"] for a in small_selection.report["activations"]] == ["sigmoid", "relu"]
    assert "sigmoid" in small_selection.markdown()
    assert small_selection.svg().lstrip().startswith("<svg")


def test_selection_errors(strong_split: aerec.Split, ml100k: aerec.Dataset) -> None:
    with pytest.raises(aerec.AERecError) as e:
        aerec.select_activation(strong_split, aerec.EASE(), progress=False)
    assert e.value.kind == "invalid_argument"
    with pytest.raises(aerec.AERecError) as e:
        aerec.select_activation(strong_split, aerec.MultDAE(epochs=1), candidates=["sigmod"], progress=False)
    assert "did you mean" in str(e.value)
    with pytest.raises(aerec.AERecError):
        aerec.select_activation(strong_split, aerec.MultDAE(epochs=1), learning_rates=[-1.0], progress=False)
    no_validation = aerec.split.ratio(ml100k, test_fraction=0.2)
    with pytest.raises(aerec.AERecError) as e:
        aerec.select_activation(no_validation, aerec.MultDAE(epochs=1), candidates=["tanh"], progress=False)
    assert "validation" in str(e.value)
