"""Discord's rows: first answers to interactions (idempotency_keys) and alert cards (chat_messages)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.models import ChatMessage, IdempotencyKey, Ticket, utcnow

PLATFORM = "discord"
ALERT = "alert"
INTERACTION_SCOPE = "discord-interaction"  # tickets use scope "discord" with the same key (accept())
INTERACTION_TTL = 24 * 3600.0  # seconds an interaction's first answer is kept; Discord gives up after 15 minutes


def _insert(db: Database) -> Any:
    return postgresql.insert if db.dialect == "postgresql" else sqlite.insert


# Interactions: the first request with an id stores its answer; a repeat gets that answer.

async def first_seen(db: Database, interaction_id: str) -> bool:
    """Claim an interaction id; False when another request already holds it."""
    stmt = (_insert(db)(IdempotencyKey)
            .values(scope=INTERACTION_SCOPE, key=interaction_id, created_at=utcnow())
            .on_conflict_do_nothing().returning(IdempotencyKey.key))
    async with db.write() as session:
        return (await session.execute(stmt)).first() is not None


async def remember(db: Database, interaction_id: str, response: dict[str, Any], ticket_id: str | None) -> None:
    """Keep the first answer; the ticket link only when that ticket exists (a button may name a gone one)."""
    existing = select(Ticket.id).where(Ticket.id == ticket_id).scalar_subquery() if ticket_id else None
    async with db.write() as session:
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.scope == INTERACTION_SCOPE, IdempotencyKey.key == interaction_id)
            .values(response=response, ticket_id=existing))


async def recall(db: Database, interaction_id: str) -> dict[str, Any] | None:
    async with db.read() as session:
        return await session.scalar(
            select(IdempotencyKey.response)
            .where(IdempotencyKey.scope == INTERACTION_SCOPE, IdempotencyKey.key == interaction_id))


async def forget(db: Database, interaction_id: str) -> None:
    """Drop an unanswered claim (its handler failed) so Discord's retry runs it afresh."""
    async with db.write() as session:
        await session.execute(
            delete(IdempotencyKey)
            .where(IdempotencyKey.scope == INTERACTION_SCOPE, IdempotencyKey.key == interaction_id,
                   IdempotencyKey.response.is_(None)))


async def prune(db: Database, *, older_than: float = INTERACTION_TTL) -> int:
    """Drop interaction answers older than `older_than` seconds (a token lives 15 minutes); how many went."""
    cutoff = utcnow() - timedelta(seconds=older_than)
    async with db.write() as session:
        result = await session.execute(
            delete(IdempotencyKey)
            .where(IdempotencyKey.scope == INTERACTION_SCOPE, IdempotencyKey.created_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


# Alert cards: one row per ticket; inserting it is the right to post.

async def card(db: Database, ticket_id: str) -> ChatMessage | None:
    async with db.read() as session:
        return await session.get(ChatMessage, (ticket_id, PLATFORM, ALERT))


async def claim_card(db: Database, ticket_id: str, channel_id: str) -> bool:
    """Reserve the ticket's card before posting it; False when someone else holds the reservation."""
    now = utcnow()
    stmt = (_insert(db)(ChatMessage)
            .values(ticket_id=ticket_id, platform=PLATFORM, kind=ALERT, channel_id=channel_id,
                    rendered_version=0, created_at=now, updated_at=now)
            .on_conflict_do_nothing().returning(ChatMessage.ticket_id))
    async with db.write() as session:
        return (await session.execute(stmt)).first() is not None


async def release_card(db: Database, ticket_id: str, *, claimed_at: datetime | None = None) -> None:
    """Give up a reservation that never got a message (post failed, or its poster died)."""
    condition = [ChatMessage.ticket_id == ticket_id, ChatMessage.platform == PLATFORM,
                 ChatMessage.kind == ALERT, ChatMessage.message_id.is_(None)]
    if claimed_at is not None:
        condition.append(ChatMessage.updated_at == claimed_at)
    async with db.write() as session:
        await session.execute(delete(ChatMessage).where(*condition))


async def drop_card(db: Database, ticket_id: str, message_id: str) -> None:
    """Forget a card whose message was deleted in Discord."""
    async with db.write() as session:
        await session.execute(
            delete(ChatMessage).where(ChatMessage.ticket_id == ticket_id, ChatMessage.platform == PLATFORM,
                                      ChatMessage.kind == ALERT, ChatMessage.message_id == message_id))


async def posted(db: Database, ticket_id: str, message_id: str, version: int) -> None:
    async with db.write() as session:
        await session.execute(
            update(ChatMessage)
            .where(ChatMessage.ticket_id == ticket_id, ChatMessage.platform == PLATFORM, ChatMessage.kind == ALERT)
            .values(message_id=message_id, rendered_version=version, updated_at=utcnow()))


async def rendered(db: Database, ticket_id: str, version: int, *, message_id: str | None = None) -> None:
    """Record that the card shows `version` (never moving backwards)."""
    condition = [ChatMessage.ticket_id == ticket_id, ChatMessage.platform == PLATFORM,
                 ChatMessage.kind == ALERT, ChatMessage.rendered_version < version]
    if message_id is not None:
        condition.append(ChatMessage.message_id == message_id)
    async with db.write() as session:
        await session.execute(update(ChatMessage).where(*condition)
                              .values(rendered_version=version, updated_at=utcnow()))


def stale_reservation(row: ChatMessage, *, after: float, now: datetime | None = None) -> bool:
    """A reservation with no message for longer than `after` seconds: its poster died."""
    return row.message_id is None and (now or utcnow()) - row.updated_at > timedelta(seconds=after)
