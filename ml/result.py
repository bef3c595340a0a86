"""The triage contract: what goes into a triager and what comes out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

CATEGORIES: tuple[str, ...] = (
    "Billing",
    "Technical",
    "Account",
    "Shipping/Orders",
    "Legal",
    "Feature request",
    "Other",
)

# Lower bounds of each urgency label, highest first.
URGENCY_LABELS: tuple[tuple[float, str], ...] = (
    (0.8, "critical"),
    (0.6, "high"),
    (0.3, "medium"),
    (0.0, "low"),
)


def urgency_label(score: float) -> str:
    """Name the band an urgency score falls in."""
    for bound, label in URGENCY_LABELS:
        if score >= bound:
            return label
    return "low"


@dataclass(frozen=True, slots=True)
class TriageRequest:
    """One text to triage, with what the caller already knows about it."""

    text: str
    vip: bool = False
    language: str | None = None


@dataclass(frozen=True, slots=True)
class TriageResult:
    """What triage says about one ticket; `model` is "fallback" when the baseline answered."""

    category: str
    confidence: float
    needs_review: bool
    urgency: float
    urgency_label: str
    sentiment: float
    language: str
    signals: tuple[str, ...] = field(default_factory=tuple)
    suggested_reply: str | None = None
    model: str = "fallback"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["signals"] = list(self.signals)
        return data


class Triager(Protocol):
    """Anything that triages a batch of requests synchronously (CPU work, never on an event loop)."""

    name: str

    def triage_batch(self, requests: Sequence[TriageRequest]) -> list[TriageResult]: ...
