"""Discord's first answers to interactions (idempotency_keys); alert cards are bot/cards.py's, as for Slack."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.models import IdempotencyKey, Ticket, utcnow

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
