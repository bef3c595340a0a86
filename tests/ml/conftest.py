"""Fixtures for ml tests: the real model, loaded once per session, and small fake triagers."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from ml.baseline import keyword_triage
from ml.model import ModelTriager, load_triager
from ml.result import TriageRequest, TriageResult


@pytest.fixture(scope="session")
def triager() -> ModelTriager:
    """The served model (int8 ONNX MiniLM + committed heads), loaded from installed packages only."""
    return load_triager("onnx")


class EchoTriager:
    """Answers each request with its own text as the suggested reply, and records batch sizes."""

    name = "echo"

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.lock = threading.Lock()

    def triage_batch(self, requests: Sequence[TriageRequest]) -> list[TriageResult]:
        with self.lock:
            self.batches.append(len(requests))
        out = []
        for r in requests:
            base = keyword_triage(r)
            out.append(
                TriageResult(
                    base.category,
                    base.confidence,
                    base.needs_review,
                    base.urgency,
                    base.urgency_label,
                    base.sentiment,
                    base.language,
                    base.signals,
                    suggested_reply=r.text,
                    model=self.name,
                )
            )
        return out


class BrokenTriager:
    """A model that raises on every call, `failures` times (forever when None)."""

    name = "broken"

    def __init__(self, failures: int | None = None) -> None:
        self.failures = failures
        self.echo = EchoTriager()

    def triage_batch(self, requests: Sequence[TriageRequest]) -> list[TriageResult]:
        if self.failures is None or self.failures > 0:
            if self.failures is not None:
                self.failures -= 1
            raise RuntimeError("model exploded")
        return self.echo.triage_batch(requests)


class SlowTriager:
    """A model that hangs until released (for the timeout path)."""

    name = "slow"

    def __init__(self) -> None:
        self.release = threading.Event()

    def triage_batch(self, requests: Sequence[TriageRequest]) -> list[TriageResult]:
        self.release.wait(10)
        return EchoTriager().triage_batch(requests)
