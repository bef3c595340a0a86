"""Request validation (pydantic) and the JSON shapes of tickets, agents, customers and events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ml import CATEGORIES
from storage.models import Agent, Customer, Ticket, TicketEvent

LANGUAGE_NAMES = {
    "english": "en", "german": "de", "deutsch": "de", "french": "fr", "français": "fr",
    "spanish": "es", "español": "es", "italian": "it", "portuguese": "pt", "dutch": "nl",
    "polish": "pl", "swedish": "sv", "danish": "da", "norwegian": "no", "finnish": "fi",
    "russian": "ru", "ukrainian": "uk", "turkish": "tr", "arabic": "ar", "hebrew": "he",
    "hindi": "hi", "japanese": "ja", "chinese": "zh", "korean": "ko", "czech": "cs",
    "greek": "el", "hungarian": "hu", "romanian": "ro", "indonesian": "id", "vietnamese": "vi",
    "thai": "th",
}


def language_code(value: str | None) -> str | None:
    """An ISO 639-1 code from a code or an English name; ValueError for anything else."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[text]
    base = text.split("-")[0].split("_")[0]
    if len(base) == 2 and base.isalpha():
        return base
    raise ValueError(f"unknown language {value!r}: use an ISO 639-1 code such as 'en' or a name such as 'German'")


def category_name(value: str | None) -> str | None:
    if value is None:
        return None
    for name in CATEGORIES:
        if name.lower() == value.strip().lower():
            return name
    raise ValueError(f"category must be one of {', '.join(CATEGORIES)}")


Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, str_strip_whitespace=True)


class Requester(Strict):
    id: Id | None = None
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)


class TicketIn(Strict):
    subject: str = Field("", max_length=300)
    body: str = Field(..., min_length=1, max_length=50_000)
    requester: Requester | None = None
    language: str | None = None
    topics: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=20)
    sensitive: bool = False
    budget: float | None = Field(None, ge=0)
    sla_minutes: int | None = Field(None, gt=0, le=60 * 24 * 365)
    metadata: dict[str, Any] = Field(default_factory=dict)

    _language = field_validator("language")(classmethod(lambda cls, v: language_code(v)))


class TicketPatch(Strict):
    # An override is a value: an explicit null is refused (422), leaving the field out changes nothing.
    category: str = Field(None)  # type: ignore[assignment]
    urgency: float = Field(None, ge=0, le=1)  # type: ignore[assignment]
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] | None = Field(None, max_length=50)
    reply_draft: str | None = Field(None, max_length=20_000)
    agent_id: Id | None = None

    _category = field_validator("category")(classmethod(lambda cls, v: category_name(v)))


class ActionIn(Strict):
    agent_id: Id
    note: str | None = Field(None, max_length=5_000)


class AgentIn(Strict):
    name: str = Field(..., min_length=1, max_length=200)
    skills: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=lambda: ["en"])
    capacity: int = Field(5, ge=0, le=10_000)
    clearance: bool = False
    tier: Literal["junior", "senior"] = "junior"
    rate: float | None = Field(None, ge=0)
    slack_user_id: str | None = Field(None, max_length=64)  # the columns hold 64 characters
    discord_user_id: str | None = Field(None, max_length=64)
    active: bool = True

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        return [code for code in (language_code(v) for v in value) if code]


class AgentPatch(Strict):
    # Only rate and the chat user ids may be cleared with null; the other columns always hold a value.
    name: str = Field(None, min_length=1, max_length=200)  # type: ignore[assignment]
    skills: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = None  # type: ignore[assignment]
    languages: list[str] = None  # type: ignore[assignment]
    capacity: int = Field(None, ge=0, le=10_000)  # type: ignore[assignment]
    clearance: bool = None  # type: ignore[assignment]
    tier: Literal["junior", "senior"] = None  # type: ignore[assignment]
    rate: float | None = Field(None, ge=0)
    slack_user_id: str | None = Field(None, max_length=64)
    discord_user_id: str | None = Field(None, max_length=64)
    active: bool = None  # type: ignore[assignment]

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        return [code for code in (language_code(v) for v in value) if code]


class CustomerIn(Strict):
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    tier: Literal["standard", "vip"] = "standard"
    language: str | None = None

    _language = field_validator("language")(classmethod(lambda cls, v: language_code(v)))


class AgentRef(Strict):
    agent_id: Id


class TriageIn(Strict):
    text: str = Field(..., min_length=1, max_length=50_000)
    vip: bool = False
    language: str | None = None

    _language = field_validator("language")(classmethod(lambda cls, v: language_code(v)))


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def ticket_json(t: Ticket) -> dict[str, Any]:
    triage = None
    if t.triaged_at is not None:
        triage = {
            "category": t.category,
            "confidence": t.confidence,
            "needs_review": t.needs_review,
            "urgency": t.urgency,
            "urgency_label": t.urgency_label,
            "sentiment": t.sentiment,
            "language": t.detected_language,
            "signals": list(t.signals or []),
            "suggested_reply": t.suggested_reply,
            "model": t.model,
            "overridden": {
                "category": t.model_category is not None and t.model_category != t.category,
                "urgency": t.model_urgency is not None and t.model_urgency != t.urgency,
            },
        }
    return {
        "id": t.id,
        "status": t.status,
        "channel": t.channel,
        "subject": t.subject,
        "body": t.body,
        "requester": {"id": t.requester_id, "name": t.requester_name, "email": t.requester_email},
        "language": t.language or t.detected_language,
        "topics": list(t.topics or []),
        "sensitive": t.sensitive,
        "budget": t.budget,
        "sla_minutes": t.sla_minutes,
        "metadata": dict(t.meta or {}),
        "tags": list(t.tags or []),
        "reply_draft": t.reply_draft,
        "triage": triage,
        "assignee": t.assignee_id,
        "routing": {"score": t.routing_score, "reason": list(t.routing_reason or [])},
        "due_at": _ts(t.due_at),
        "sla": {"due_at": _ts(t.due_at), "reminded_at": _ts(t.reminded_at), "escalated_at": _ts(t.escalated_at),
                "snoozed_until": _ts(t.snoozed_until)},
        "created_at": _ts(t.created_at),
        "updated_at": _ts(t.updated_at),
        "triaged_at": _ts(t.triaged_at),
        "assigned_at": _ts(t.assigned_at),
        "claimed_at": _ts(t.claimed_at),
        "completed_at": _ts(t.completed_at),
        "resolved_at": _ts(t.resolved_at),
        "version": t.version,
    }


def agent_json(a: Agent) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "skills": list(a.skills or []),
        "languages": list(a.languages or []),
        "capacity": a.capacity,
        "load": a.load,
        "clearance": a.clearance,
        "tier": a.tier,
        "rate": a.rate,
        "slack_user_id": a.slack_user_id,
        "discord_user_id": a.discord_user_id,
        "active": a.active,
    }


def customer_json(c: Customer) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "email": c.email, "tier": c.tier, "language": c.language}


def event_json(e: TicketEvent) -> dict[str, Any]:
    data = dict(e.data or {})
    if e.from_status or e.to_status:
        data.setdefault("from", e.from_status)
        data.setdefault("to", e.to_status)
    if e.channel:
        data.setdefault("channel", e.channel)
    return {"id": e.id, "ts": _ts(e.ts), "type": e.type, "ticket_id": e.ticket_id, "actor": e.actor, "data": data}
