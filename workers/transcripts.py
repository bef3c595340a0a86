"""A streamed conversation becomes a ticket: its packets in seq order, triaged like any other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storage import conversations as convs
from storage import tickets as store
from storage.models import ConversationPacket
from workers import pipeline
from workers.runtime import Runtime

CUSTOMER_SPEAKERS = frozenset({"customer", "user", "caller", "client", "requester", "visitor", "guest"})
SUBJECT_CHARS = 120


@dataclass(frozen=True, slots=True)
class Closing:
    """What the caller knows about the conversation when it ends (all optional)."""

    kind: str = "chat"  # chat | call
    subject: str | None = None
    requester_id: str | None = None
    requester_name: str | None = None
    requester_email: str | None = None
    language: str | None = None
    topics: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


def missing_seqs(seqs: list[int], limit: int = 100) -> list[int]:
    """The first `limit` gaps between the first and last seq received (a packet lost on the way).

    Walks the gaps, not the whole range: seqs 0 and 2**31-1 once held the event loop for a minute.
    """
    ordered = sorted(set(seqs))
    missing: list[int] = []
    for low, high in zip(ordered, ordered[1:], strict=False):
        missing.extend(range(low + 1, min(high, low + 1 + limit - len(missing))))
        if len(missing) >= limit:
            break
    return missing


def render(packets: list[ConversationPacket]) -> str:
    return "\n".join(f"{p.speaker}: {p.text}" for p in packets)


def subject_of(packets: list[ConversationPacket], closing: Closing) -> str:
    if closing.subject:
        return closing.subject[:300]
    said = [p for p in packets if p.speaker.strip().lower() in CUSTOMER_SPEAKERS] or packets
    first = next((p.text.strip() for p in said if p.text.strip()), "")
    label = "Call" if closing.kind == "call" else "Chat"
    line = first.splitlines()[0] if first else "(empty transcript)"
    return f"{label}: {line[:SUBJECT_CHARS]}"


async def finish(rt: Runtime, conversation_id: str, closing: Closing) -> tuple[store.Receipt, bool]:
    """End the conversation and make its ticket; a repeat (or a crash half-way) gets the same ticket."""
    conversation, _ = await convs.end(rt.db, conversation_id)
    packets = await convs.transcript(rt.db, conversation_id)
    seqs = [p.seq for p in packets]
    metadata = {
        **closing.metadata,
        "conversation": {"id": conversation_id, "kind": closing.kind, "packets": len(packets),
                         "missing_seqs": missing_seqs(seqs),
                         "started_at": conversation.created_at.isoformat(),
                         "ended_at": conversation.ended_at.isoformat() if conversation.ended_at else None},
    }
    new = store.NewTicket(
        subject=subject_of(packets, closing),
        body=render(packets) or "(empty transcript)",
        channel="conversation",
        requester_id=closing.requester_id,
        requester_name=closing.requester_name,
        requester_email=closing.requester_email,
        language=closing.language,
        topics=list(closing.topics),
        metadata=metadata,
        actor=closing.requester_id,
    )
    ticket, created = await pipeline.accept(
        rt, new, idempotency=store.Idempotency(scope="conversation", key=conversation_id))
    await convs.mark_ticketed(rt.db, conversation_id, ticket.id)
    return ticket, created
