"""The quantized encoder is built once, kept in MODEL_CACHE_DIR, checked on every start, and rebuilt when damaged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml import encoder as enc

TEXTS = ["I was charged twice for my subscription", "the site is down for all customers"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory after one real first start."""
    cache = tmp_path_factory.mktemp("model-cache")
    enc.OnnxEncoder(1, cache)
    return cache


def _files(cache: Path) -> tuple[Path, Path]:
    (model,) = cache.glob("*.onnx")
    (digest,) = cache.glob("*.sha256")
    return model, digest


def _spy_on_quantizing(monkeypatch: pytest.MonkeyPatch, model: bytes) -> list[int]:
    """`_quantized` answering with `model` (known good bytes) and counting its calls."""
    calls: list[int] = []

    def quantized(_source: Path) -> bytes:
        calls.append(1)
        return model

    monkeypatch.setattr(enc, "_quantized", quantized)
    return calls


def test_first_start_keeps_the_quantized_model_and_later_starts_load_it(built, triager, monkeypatch):
    # Given the cache a first start left: the model, its digest, and no temporary files
    model, digest = _files(built)
    assert sorted(p.name for p in built.iterdir()) == sorted([model.name, digest.name])
    assert digest.read_text().strip() == enc._sha256(model)
    # When the encoder starts again
    calls = _spy_on_quantizing(monkeypatch, b"not used")
    again = enc.OnnxEncoder(1, built)
    # Then it loaded the kept file instead of quantizing, and its vectors are the served model's, bit for bit
    assert calls == []
    assert np.array_equal(again.encode(TEXTS), triager.encoder.encode(TEXTS))


def test_a_damaged_cache_file_is_rebuilt(built, triager, monkeypatch, tmp_path):
    # Given a copy of the cache whose model file lost its last bytes (a full disk, a bad block)
    model, digest = _files(built)
    good = model.read_bytes()
    (tmp_path / digest.name).write_bytes(digest.read_bytes())
    (tmp_path / model.name).write_bytes(good[:-100])
    # When the encoder starts
    calls = _spy_on_quantizing(monkeypatch, good)
    again = enc.OnnxEncoder(1, tmp_path)
    # Then it quantized afresh, replaced the damaged file, and serves the same vectors
    assert calls == [1]
    assert (tmp_path / model.name).read_bytes() == good
    assert np.array_equal(again.encode(TEXTS), triager.encoder.encode(TEXTS))


def test_a_cache_that_cannot_be_written_still_loads_the_model(built, triager, monkeypatch, tmp_path):
    # Given a cache path that cannot be a directory (a file is in the way)
    (tmp_path / "blocked").write_text("a file")
    calls = _spy_on_quantizing(monkeypatch, _files(built)[0].read_bytes())
    # When the encoder starts
    again = enc.OnnxEncoder(1, tmp_path / "blocked" / "cache")
    # Then it quantized in memory and serves the same vectors
    assert calls == [1]
    assert np.array_equal(again.encode(TEXTS), triager.encoder.encode(TEXTS))


def test_the_cache_setting_unset_means_the_user_cache_and_empty_means_none(tmp_path):
    assert enc.model_cache_dir(None) is not None and enc.model_cache_dir(None).name == "switchboard"
    assert enc.model_cache_dir("") is None
    assert enc.model_cache_dir(str(tmp_path)) == tmp_path
