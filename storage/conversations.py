"""Streamed transcripts: packets stored once per seq, the conversation ended once, then ticketed.

    in_progress --end--> ended --ticket created--> ticketed

The first packets of a new conversation may arrive at the same instant on many connections:
the conversation row is inserted with ON CONFLICT DO NOTHING, so exactly one is created, and
every packet then locks that row, so a packet and an `end` never pass each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.errors import Conflict, NotFound
from storage.models import Conversation, ConversationPacket, utcnow


class ConversationStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    ENDED = "ended"
    TICKETED = "ticketed"


class ConversationEnded(Conflict):
    """Raised when a packet arrives for a conversation that has already ended."""

    code = "conversation_ended"


@dataclass(frozen=True, slots=True)
class Packet:
    """One utterance as the sender numbered it."""

    seq: int
    speaker: str
    text: str
    ts: datetime | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    """What `add_packets` did: whether it started the conversation, and which seqs were new."""

    conversation: Conversation
    created: bool
    new_seqs: tuple[int, ...]
    duplicate_seqs: tuple[int, ...]


def _insert(db: Database, table: Any) -> Any:
    return (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(table)


async def _lock(session: AsyncSession, conversation_id: str) -> Conversation | None:
    stmt = select(Conversation).where(Conversation.id == conversation_id).with_for_update()
    return (await session.scalars(stmt.execution_options(populate_existing=True))).one_or_none()


async def add_packets(db: Database, conversation_id: str, packets: list[Packet], *,
                      now: datetime | None = None) -> Stored:
    """Store packets (in any order, repeats ignored), creating the conversation on its first one."""
    now = now or utcnow()
    async with db.write() as session:
        inserted = await session.execute(
            _insert(db, Conversation)
            .values(id=conversation_id, status=str(ConversationStatus.IN_PROGRESS), packets=0,
                    created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(Conversation.id)
        )
        created = inserted.first() is not None
        conversation = await _lock(session, conversation_id)
        assert conversation is not None  # inserted above or already there; never deleted
        if conversation.status != ConversationStatus.IN_PROGRESS:
            raise ConversationEnded(
                f"conversation {conversation_id} has ended; packets are no longer accepted",
                details={"conversation_id": conversation_id, "status": conversation.status,
                         "ticket_id": conversation.ticket_id},
            )
        new: list[int] = []
        duplicate: list[int] = []
        for packet in packets:
            result = await session.execute(
                _insert(db, ConversationPacket)
                .values(conversation_id=conversation_id, seq=packet.seq, speaker=packet.speaker,
                        text=packet.text, ts=packet.ts, received_at=now)
                .on_conflict_do_nothing(index_elements=["conversation_id", "seq"])
                .returning(ConversationPacket.seq)
            )
            (new if result.first() is not None else duplicate).append(packet.seq)
        if new:
            conversation.packets += len(new)
            conversation.updated_at = now
    return Stored(conversation, created, tuple(new), tuple(duplicate))


async def get(db: Database, conversation_id: str) -> Conversation:
    async with db.read() as session:
        conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found",
                       details={"conversation_id": conversation_id})
    return conversation


async def transcript(db: Database, conversation_id: str) -> list[ConversationPacket]:
    """Every packet of the conversation in seq order."""
    async with db.read() as session:
        rows = await session.scalars(
            select(ConversationPacket).where(ConversationPacket.conversation_id == conversation_id)
            .order_by(ConversationPacket.seq)
        )
        return list(rows)


async def end(db: Database, conversation_id: str, *, now: datetime | None = None) -> tuple[Conversation, bool]:
    """Close the conversation to new packets; True when this call closed it (False: already closed)."""
    now = now or utcnow()
    async with db.write() as session:
        conversation = await _lock(session, conversation_id)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id} not found",
                           details={"conversation_id": conversation_id})
        if conversation.status != ConversationStatus.IN_PROGRESS:
            return conversation, False
        conversation.status = str(ConversationStatus.ENDED)
        conversation.ended_at = now
        conversation.updated_at = now
    return conversation, True


async def mark_ticketed(db: Database, conversation_id: str, ticket_id: str) -> None:
    """Record the ticket made from the transcript (a repeat with the same ticket is harmless)."""
    async with db.write() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id,
                   Conversation.status.in_([str(ConversationStatus.ENDED), str(ConversationStatus.TICKETED)]))
            .values(status=str(ConversationStatus.TICKETED), ticket_id=ticket_id, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
