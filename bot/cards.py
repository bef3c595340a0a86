"""The cards we posted about tickets, one per ticket and platform, so later changes edit them in place."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import ChatMessage, IdempotencyKey, utcnow

ALERT = "alert"
STALE_RESERVATION = 120.0  # seconds; workers/sweeper.py re-sends posts of reservations this old


def _insert(db: Database) -> Any:
    return postgresql.insert if db.dialect == "postgresql" else sqlite.insert


async def get(db: Database, ticket_id: str, platform: str) -> ChatMessage | None:
    async with db.read() as session:
        return await session.get(ChatMessage, (ticket_id, platform, ALERT))


async def claim(db: Database, ticket_id: str, platform: str, channel_id: str) -> bool:
    """Reserve the right to post the card; False when another delivery already holds it."""
    now = utcnow()
    stmt = (_insert(db)(ChatMessage)
            .values(ticket_id=ticket_id, platform=platform, kind=ALERT, channel_id=channel_id,
                    rendered_version=0, created_at=now, updated_at=now)
            .on_conflict_do_nothing().returning(ChatMessage.ticket_id))
    async with db.write() as session:
        return (await session.execute(stmt)).first() is not None


async def posted(db: Database, ticket_id: str, platform: str, message_id: str, version: int) -> None:
    async with db.write() as session:
        await session.execute(
            update(ChatMessage).where(ChatMessage.ticket_id == ticket_id, ChatMessage.platform == platform,
                                      ChatMessage.kind == ALERT)
            .values(message_id=message_id, rendered_version=version, updated_at=utcnow()))


async def rendered(db: Database, ticket_id: str, platform: str, version: int, *,
                   message_id: str | None = None) -> None:
    """Record that the card shows `version` (never moving backwards), e.g. after an in-place interaction answer."""
    condition = [ChatMessage.ticket_id == ticket_id, ChatMessage.platform == platform,
                 ChatMessage.kind == ALERT, ChatMessage.rendered_version < version]
    if message_id is not None:
        condition.append(ChatMessage.message_id == message_id)
    async with db.write() as session:
        await session.execute(update(ChatMessage).where(*condition)
                              .values(rendered_version=version, updated_at=utcnow()))


async def drop(db: Database, ticket_id: str, platform: str, message_id: str) -> None:
    """Forget a card whose message was deleted on the platform (the next change posts a new one)."""
    async with db.write() as session:
        await session.execute(
            delete(ChatMessage).where(ChatMessage.ticket_id == ticket_id, ChatMessage.platform == platform,
                                      ChatMessage.kind == ALERT, ChatMessage.message_id == message_id))


async def release(db: Database, ticket_id: str, platform: str, *, claimed_at: datetime | None = None) -> None:
    """Give up a claim whose post failed (or, given `claimed_at`, whose poster died), so a retry can post."""
    condition = [ChatMessage.ticket_id == ticket_id, ChatMessage.platform == platform, ChatMessage.kind == ALERT,
                 ChatMessage.message_id.is_(None)]
    if claimed_at is not None:  # only that reservation, not a newer one another delivery just made
        condition.append(ChatMessage.updated_at == claimed_at)
    async with db.write() as session:
        await session.execute(delete(ChatMessage).where(*condition))


def stale(card: ChatMessage, *, after: float = STALE_RESERVATION) -> bool:
    """A reservation with no message for longer than `after` seconds: its poster died."""
    return card.message_id is None and utcnow() - card.updated_at > timedelta(seconds=after)


async def take_version(db: Database, ticket_id: str, platform: str, version: int) -> int | None:
    """Claim the job of showing `version`; the version shown before, or None if it is already shown."""
    async with db.write() as session:
        row = await session.get(ChatMessage, (ticket_id, platform, ALERT), populate_existing=True)
        if row is None or row.message_id is None or row.rendered_version >= version:
            return None
        before = row.rendered_version
        result = await session.execute(
            update(ChatMessage).where(ChatMessage.ticket_id == ticket_id, ChatMessage.platform == platform,
                                      ChatMessage.kind == ALERT, ChatMessage.rendered_version == before)
            .values(rendered_version=version, updated_at=utcnow()))
        return before if result.rowcount == 1 else None  # type: ignore[attr-defined]


async def give_back_version(db: Database, ticket_id: str, platform: str, version: int, before: int) -> None:
    """An edit failed: mark `version` as not shown so the retry edits again."""
    async with db.write() as session:
        await session.execute(
            update(ChatMessage).where(ChatMessage.ticket_id == ticket_id, ChatMessage.platform == platform,
                                      ChatMessage.kind == ALERT, ChatMessage.rendered_version == version)
            .values(rendered_version=before))


async def once(db: Database, scope: str, key: str, ticket_id: str | None = None) -> bool:
    """True the first time (scope, key) is seen: for messages that must not be sent twice."""
    try:
        async with db.write() as session:
            session.add(IdempotencyKey(scope=scope, key=key, ticket_id=ticket_id))
    except IntegrityError:
        return False
    return True


async def forget(db: Database, scope: str, key: str) -> None:
    async with db.write() as session:
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key))


async def all_cards(db: Database, platform: str) -> list[ChatMessage]:
    async with db.read() as session:
        return list(await session.scalars(select(ChatMessage).where(ChatMessage.platform == platform)))
