"""The heads are reproducible from `python -m ml train` and the committed data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml.datasets import DATA, Example, first_training_rows
from ml.encoder import CALIBRATION, calibrate
from ml.heads import Heads
from ml.model import ModelTriager
from ml.train import _data_digest, fit, train

# Written by `python -m tests.ml.test_train` (rerun it only when the training code changes on purpose).
REFERENCE = Path(__file__).with_name("data") / "tiny_heads"


def tiny_subset() -> list[Example]:
    """A fixed, small training set: the first 8 training rows of each (source, category)."""
    return first_training_rows(8)


def assert_same_heads(a: Heads, b: Heads, atol: float) -> None:
    for name in ("category_w", "category_b", "urgency_w", "urgency_b", "sentiment_w"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=atol, err_msg=name)
    assert a.sentiment_b == pytest.approx(b.sentiment_b, abs=atol)


def test_tiny_fit_is_deterministic_and_matches_the_committed_reference(triager: ModelTriager) -> None:
    # Given a fixed tiny subset embedded by the served encoder
    rows = tiny_subset()
    vectors = triager.encoder.encode([r.text for r in rows])
    # When the heads are fit twice
    first, second = fit(rows, vectors, triager.encoder.name), fit(rows, vectors, triager.encoder.name)
    # Then both fits are identical, and match the reference fit committed beside this test
    assert_same_heads(first, second, atol=0.0)
    assert first.meta["version"] == second.meta["version"]
    assert_same_heads(first, Heads.load(REFERENCE), atol=1e-4)


def test_committed_heads_were_trained_on_the_committed_data(triager: ModelTriager) -> None:
    meta = triager.heads.meta
    assert meta["data"] == _data_digest(DATA)
    assert meta["encoder"] == triager.encoder.name
    assert "it_tickets" not in meta["sources"]  # the cross-source set stays unseen


def test_calibration_is_reproducible_from_the_committed_rows(tmp_path: Path) -> None:
    # When `python -m ml calibrate` measures the activation ranges again / Then it writes the committed file
    rebuilt = calibrate([r.text for r in first_training_rows(12)], out=tmp_path / "calibration.json")
    ranges, committed = _ranges(rebuilt), _ranges(CALIBRATION)
    assert ranges.keys() == committed.keys() and ranges  # every tensor a quantized MatMul reads or writes
    # fp32 runs measure them, so another CPU's kernels may move the last bits; the file is what serves
    np.testing.assert_allclose([ranges[k] for k in sorted(ranges)], [committed[k] for k in sorted(committed)], rtol=1e-5)


def _ranges(path: Path) -> dict[str, tuple[float, float]]:
    data = json.loads(path.read_text())["data"]
    return {name: (t["lowest"]["data"][0], t["highest"]["data"][0]) for name, t in data.items()}


@pytest.mark.slow
def test_full_retrain_reproduces_the_committed_heads(tmp_path: Path, triager: ModelTriager) -> None:
    # When `python -m ml train` runs again on the committed data / Then it rebuilds the committed heads
    rebuilt = train(triager.encoder, out=tmp_path)
    assert rebuilt.meta["version"] == triager.heads.meta["version"]
    # The solvers reach the optimum itself: another CPU's BLAS moves weights by ~1e-6, not more.
    assert_same_heads(rebuilt, triager.heads, atol=1e-4)


if __name__ == "__main__":
    from ml.model import load_triager

    encoder = load_triager("onnx").encoder
    subset = tiny_subset()
    fit(subset, encoder.encode([r.text for r in subset]), encoder.name).save(REFERENCE)
    print(f"reference tiny heads written to {REFERENCE}")
