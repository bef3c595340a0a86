"""SQLAlchemy 2.0 models: tickets, agents, customers, ticket events, idempotency keys, conversations."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_ticket_id() -> str:
    """A short, unguessable, easy-to-read ticket id such as `T-7K3QX9M2PD` (50 random bits)."""
    bits = int.from_bytes(secrets.token_bytes(7), "big") >> 6
    return "T-" + "".join(_ALPHABET[(bits >> shift) & 31] for shift in range(45, -1, -5))


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC on the way out, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: Json, list[str]: Json, list[Any]: Json}


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_ticket_id)
    status: Mapped[str] = mapped_column(String(16), default="received")
    version: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(32), default="api")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    requester_id: Mapped[str | None] = mapped_column(String(128))
    requester_name: Mapped[str | None] = mapped_column(String(200))
    requester_email: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str | None] = mapped_column(String(8))
    topics: Mapped[list[str]] = mapped_column(default=list)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    budget: Mapped[float | None] = mapped_column(Float)
    sla_minutes: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    tags: Mapped[list[str]] = mapped_column(default=list)
    reply_draft: Mapped[str | None] = mapped_column(Text)

    # Triage as it stands (an agent's override wins); ordering and filters read these.
    category: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    urgency: Mapped[float | None] = mapped_column(Float)
    urgency_label: Mapped[str | None] = mapped_column(String(16))
    sentiment: Mapped[float | None] = mapped_column(Float)
    detected_language: Mapped[str | None] = mapped_column(String(8))
    signals: Mapped[list[str]] = mapped_column(default=list)
    suggested_reply: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(64))
    # What the model said, kept when an agent overrides `category` / `urgency` by PATCH.
    model_category: Mapped[str | None] = mapped_column(String(32))
    model_urgency: Mapped[float | None] = mapped_column(Float)

    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    routing_score: Mapped[float | None] = mapped_column(Float)
    routing_reason: Mapped[list[str]] = mapped_column(default=list)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column()
    triaged_at: Mapped[datetime | None] = mapped_column()
    assigned_at: Mapped[datetime | None] = mapped_column()
    claimed_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    # When a sweeper last re-rang the doorbell for this ticket (so many sweepers share the work).
    swept_at: Mapped[datetime | None] = mapped_column()
    # SLA timers: each fires once (a conditional update sets it), kept here so a restart forgets nothing.
    reminded_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    snoozed_until: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_tickets_status_urgency", "status", "urgency", "created_at"),
        Index("ix_tickets_created", "created_at", "id"),
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
        Index("ix_tickets_category", "category"),
        Index("ix_tickets_due", "due_at"),
    )


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    skills: Mapped[list[str]] = mapped_column(default=list)
    languages: Mapped[list[str]] = mapped_column(default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=5)
    load: Mapped[int] = mapped_column(Integer, default=0)
    clearance: Mapped[bool] = mapped_column(Boolean, default=False)
    tier: Mapped[str] = mapped_column(String(16), default="junior")
    rate: Mapped[float | None] = mapped_column(Float)
    slack_user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    discord_user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_assigned_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    tier: Mapped[str] = mapped_column(String(16), default="standard")
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketEvent(Base):
    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    type: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str | None] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class IdempotencyKey(Base):
    """A request already seen (API key, Slack retry, Discord interaction, form submission)."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    ticket_id: Mapped[str | None] = mapped_column(ForeignKey("tickets.id"))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    # The first answer, for surfaces that must repeat it (a Discord interaction seen twice).
    response: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatMessage(Base):
    """A message we posted about a ticket (the alert card), so later changes edit it in place."""

    __tablename__ = "chat_messages"

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)  # slack | discord
    kind: Mapped[str] = mapped_column(String(16), primary_key=True, default="alert")
    channel_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(64))  # Slack ts / Discord message id
    thread_id: Mapped[str | None] = mapped_column(String(64))
    rendered_version: Mapped[int] = mapped_column(Integer, default=0)  # ticket.version last shown
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    """A streamed chat or call transcript: in_progress -> ended -> ticketed (its ticket created)."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="in_progress")
    packets: Mapped[int] = mapped_column(Integer, default=0)
    ticket_id: Mapped[str | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()


class ConversationPacket(Base):
    """One utterance of a transcript; (conversation, seq) is unique, so a repeat is a no-op."""

    __tablename__ = "conversation_packets"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    speaker: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    ts: Mapped[datetime | None] = mapped_column()  # when it was said, by the sender's clock
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
