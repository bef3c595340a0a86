"""Ticket service functions: create (idempotent), read, list, edit, and lifecycle actions."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.exc import IntegrityError

from storage.agents import adjust_loads
from storage.db import Database
from storage.errors import IdempotencyMismatch, Invalid, NotFound, NotHolder, StorageError
from storage.models import Agent, IdempotencyKey, Ticket, TicketEvent, new_ticket_id, utcnow
from storage.states import (
    HOLDS_CAPACITY,
    WAITING,
    Action,
    TicketStatus,
    guarded_update,
    record,
    target,
)


@dataclass(frozen=True, slots=True)
class NewTicket:
    """A validated request for a ticket, from any channel."""

    subject: str
    body: str
    channel: str = "api"
    requester_id: str | None = None
    requester_name: str | None = None
    requester_email: str | None = None
    language: str | None = None
    topics: list[str] = field(default_factory=list)
    sensitive: bool = False
    budget: float | None = None
    sla_minutes: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class Idempotency:
    """Where a repeat of the same request must find the first answer."""

    scope: str
    key: str
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the filer of a ticket hears back: enough to answer, without loading the whole row."""

    id: str
    status: str
    subject: str

    @classmethod
    def of(cls, ticket: Ticket) -> Receipt:
        return cls(ticket.id, ticket.status, ticket.subject)


class _LostRace(StorageError):
    """Raised inside a transaction when a guarded update found the row changed under it."""


def ticket_values(new: NewTicket, now: datetime) -> dict[str, Any]:
    """The new ticket's row as attribute values (the one place a NewTicket becomes a row)."""
    return {
        "id": new_ticket_id(),
        "status": str(TicketStatus.RECEIVED),
        "version": 1,
        "channel": new.channel,
        "subject": new.subject,
        "body": new.body,
        "requester_id": new.requester_id,
        "requester_name": new.requester_name,
        "requester_email": new.requester_email,
        "language": new.language,
        "topics": list(new.topics),
        "sensitive": new.sensitive,
        "budget": new.budget,
        "sla_minutes": new.sla_minutes,
        "meta": dict(new.metadata),
        "tags": [],
        "signals": [],
        "routing_reason": [],
        "needs_review": False,
        "created_at": now,
        "updated_at": now,
    }


def _ticket_row(new: NewTicket, now: datetime) -> Ticket:
    return Ticket(**ticket_values(new, now))


async def _existing(db: Database, idem: Idempotency) -> Ticket | None:
    async with db.read() as session:
        row = await session.get(IdempotencyKey, (idem.scope, idem.key))
        if row is None:
            return None
        if idem.fingerprint and row.fingerprint and row.fingerprint != idem.fingerprint:
            raise IdempotencyMismatch(
                "this idempotency key was used for a different request",
                details={"ticket_id": row.ticket_id},
            )
        return await session.get(Ticket, row.ticket_id)


async def create_ticket(
    db: Database, new: NewTicket, *, idempotency: Idempotency | None = None
) -> tuple[Ticket, bool]:
    """Store a ticket and its `created` event in one transaction; True when it is new.

    With `idempotency`, a repeat (even a concurrent one) returns the first ticket and False.
    """
    if idempotency is not None and (found := await _existing(db, idempotency)) is not None:
        return found, False
    now = utcnow()
    ticket = _ticket_row(new, now)
    try:
        async with db.write() as session:
            session.add(ticket)
            await session.flush()
            if idempotency is not None:
                session.add(
                    IdempotencyKey(
                        scope=idempotency.scope,
                        key=idempotency.key,
                        ticket_id=ticket.id,
                        fingerprint=idempotency.fingerprint,
                        created_at=now,
                    )
                )
            record(session, ticket.id, "created", actor=new.actor, channel=new.channel,
                   to_status=ticket.status, data={"subject": new.subject[:120]}, now=now)
    except IntegrityError:
        # Another request with the same key committed between our look-up and our insert.
        if idempotency is None or (found := await _existing(db, idempotency)) is None:
            raise
        return found, False
    return ticket, True


async def create_many(db: Database, items: list[NewTicket]) -> list[Ticket]:
    """Store several tickets in one transaction (batch intake): all or none."""
    now = utcnow()
    tickets = [_ticket_row(item, now) for item in items]
    async with db.write() as session:
        session.add_all(tickets)
        await session.flush()
        for ticket, item in zip(tickets, items, strict=True):
            record(session, ticket.id, "created", actor=item.actor, channel=item.channel,
                   to_status=ticket.status, data={"subject": item.subject[:120]}, now=now)
    return tickets


async def get_ticket(db: Database, ticket_id: str) -> Ticket:
    async with db.read() as session:
        ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found", details={"ticket_id": ticket_id})
    return ticket


def encode_cursor(ticket: Ticket) -> str:
    raw = json.dumps([ticket.created_at.isoformat(), ticket.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, ticket_id = json.loads(raw)
        moment = datetime.fromisoformat(stamp)
        if moment.tzinfo is not None:
            moment.astimezone(UTC)  # year 1 at +14:00 cannot be stored: OverflowError (fuzzing)
        return moment, str(ticket_id)
    except (ValueError, TypeError, OverflowError) as exc:
        raise Invalid("cursor is not one this server handed out", details={"cursor": cursor}) from exc


async def list_tickets(
    db: Database,
    *,
    statuses: list[str] | None = None,
    category: str | None = None,
    assignee: str | None = None,
    min_urgency: float | None = None,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Ticket], str | None]:
    """Newest first; `cursor` continues where the previous page stopped."""
    stmt = list_statement(statuses=statuses, category=category, assignee=assignee, min_urgency=min_urgency,
                          q=q, limit=limit, cursor=cursor)
    async with db.read() as session:
        rows = list(await session.scalars(stmt))
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _matches(q: str) -> ColumnElement[bool]:
    """Subject or body contains `q`, case-insensitively (`LIKE '%q%'` on the lower-cased text).

    Written as two arms for PostgreSQL's trigram indexes, which leave tickets in `received` out
    (migration 7d0c4e2a9b15): triaged tickets are found through them, the few received ones
    through the status index. The second arm says the same with ILIKE, so the planner cannot
    fold the two arms back into one condition that no index answers.
    """
    pattern = f"%{q.lower()}%"
    received = str(TicketStatus.RECEIVED)
    return or_(
        and_(Ticket.status != received,
             or_(func.lower(Ticket.subject).like(pattern), func.lower(Ticket.body).like(pattern))),
        and_(Ticket.status == received, or_(Ticket.subject.ilike(pattern), Ticket.body.ilike(pattern))),
    )


def list_statement(*, statuses: list[str] | None = None, category: str | None = None,
                   assignee: str | None = None, min_urgency: float | None = None, q: str | None = None,
                   limit: int = 50, cursor: str | None = None) -> Select[Ticket]:
    """The query behind `list_tickets` (one row more than `limit`, to know whether a next page exists)."""
    stmt = select(Ticket)
    if statuses:
        stmt = stmt.where(Ticket.status.in_(statuses))
    if category:
        stmt = stmt.where(func.lower(Ticket.category) == category.lower())
    if assignee:
        stmt = stmt.where(Ticket.assignee_id == assignee)
    if min_urgency is not None:
        stmt = stmt.where(Ticket.urgency >= min_urgency)
    if q:
        stmt = stmt.where(_matches(q))
    if cursor:
        stamp, last_id = decode_cursor(cursor)
        # A row-value comparison, not the equivalent OR: PostgreSQL seeks the (created_at, id) index with it,
        # where the OR form scanned every newer row (page 10,000 cost as much as reading 500,000 tickets).
        stmt = stmt.where(tuple_(Ticket.created_at, Ticket.id) < tuple_(
            literal(stamp, Ticket.created_at.type), literal(last_id, Ticket.id.type)))
    return stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit + 1)


async def waiting(db: Database, *, limit: int = 100) -> tuple[int, list[Ticket]]:
    """Tickets not yet claimed, most urgent first, then oldest; and how many there are."""
    condition = Ticket.status.in_([str(s) for s in WAITING])
    async with db.read() as session:
        size = await session.scalar(select(func.count()).select_from(Ticket).where(condition))
        rows = await session.scalars(
            select(Ticket).where(condition)
            .order_by(Ticket.urgency.desc(), Ticket.created_at.asc(), Ticket.id.asc()).limit(limit)
        )
        return int(size or 0), list(rows)


async def count_by_status(db: Database, statuses: list[str]) -> dict[str, int]:
    """How many tickets are in each of `statuses` (0 for those with none): queue depth for /metrics."""
    async with db.read() as session:
        rows = await session.execute(
            select(Ticket.status, func.count()).where(Ticket.status.in_(statuses)).group_by(Ticket.status))
        found = {status: int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in statuses}


async def events(db: Database, ticket_id: str) -> list[TicketEvent]:
    await get_ticket(db, ticket_id)
    async with db.read() as session:
        rows = await session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        )
        return list(rows)


async def recent_events(db: Database, *, after_id: int = 0, limit: int = 100) -> list[TicketEvent]:
    """Events after `after_id` oldest first, or (with after_id 0) the newest `limit`, oldest first."""
    async with db.read() as session:
        if after_id:
            stmt = select(TicketEvent).where(TicketEvent.id > after_id).order_by(TicketEvent.id).limit(limit)
            return list(await session.scalars(stmt))
        stmt = select(TicketEvent).order_by(TicketEvent.id.desc()).limit(limit)
        return list(reversed(list(await session.scalars(stmt))))


async def edit_ticket(db: Database, ticket_id: str, changes: dict[str, Any], *, actor: str | None,
                      channel: str | None = "api", derived: dict[str, Any] | None = None) -> Ticket:
    """An agent's edits (category/urgency override, tags, reply draft), each recorded as an event.

    `derived` holds values that follow from the edits (an urgency's label) and get no event.
    """
    async with db.write() as session:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} not found", details={"ticket_id": ticket_id})
        now = utcnow()
        for name, value in changes.items():
            before = getattr(ticket, name)
            if before == value:
                continue
            if name == "category" and ticket.model_category is None:
                ticket.model_category = before
            if name == "urgency" and ticket.model_urgency is None:
                ticket.model_urgency = before
            setattr(ticket, name, value)
            record(session, ticket.id, f"{name}_changed", actor=actor, channel=channel,
                   data={"from": before, "to": value}, now=now)
        for name, value in (derived or {}).items():
            setattr(ticket, name, value)
        ticket.version += 1
        ticket.updated_at = now
    return ticket


@dataclass(frozen=True, slots=True)
class Outcome:
    """A lifecycle action that happened: the ticket after it, and whose capacity came free."""

    ticket: Ticket
    previous_status: str
    freed_agent: str | None = None


async def act(
    db: Database,
    ticket_id: str,
    action: Action,
    *,
    agent_id: str | None = None,
    note: str | None = None,
    actor: str | None = None,
    channel: str | None = "api",
    values: dict[str, Any] | None = None,
    event_data: dict[str, Any] | None = None,
) -> Outcome:
    """Take one edge of the lifecycle, with its capacity bookkeeping, in one transaction.

    Concurrent callers race on a guarded update; a loser sees the winner's state and gets
    the conflict it now implies (AlreadyClaimed, IllegalTransition, AtCapacity).
    """
    for _ in range(5):
        try:
            return await _act_once(db, ticket_id, action, agent_id=agent_id, note=note, actor=actor,
                                   channel=channel, values=values or {}, event_data=event_data or {})
        except _LostRace:
            continue
    raise _LostRace("the ticket kept changing; try again")


async def _act_once(db: Database, ticket_id: str, action: Action, *, agent_id: str | None,
                    note: str | None, actor: str | None, channel: str | None,
                    values: dict[str, Any], event_data: dict[str, Any]) -> Outcome:
    async with db.write() as session:
        ticket = await session.get(Ticket, ticket_id, populate_existing=True)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} not found", details={"ticket_id": ticket_id})
        if agent_id is not None and await session.get(Agent, agent_id) is None:
            raise NotFound(f"agent {agent_id} not found", details={"agent_id": agent_id})
        current = ticket.status
        to = target(action, current, holder=ticket.assignee_id)
        values = dict(values)
        if action in (Action.CLAIM, Action.ASSIGN):
            if agent_id is None:
                raise Invalid("agent_id is required", details={"field": "agent_id"})
            values["assignee_id"] = agent_id
        elif action in (Action.COMPLETE, Action.RELEASE) and agent_id is not None and agent_id != ticket.assignee_id:
            raise NotHolder(
                f"only {ticket.assignee_id}, who holds it, can {action} it",
                details={"claimed_by": ticket.assignee_id, "status": current},
            )
        if action in (Action.REOPEN, Action.RELEASE):
            values.setdefault("assignee_id", None)
        # Capacity follows whoever holds the ticket before and after this edge.
        holder = ticket.assignee_id if current in HOLDS_CAPACITY else None
        new_holder = values.get("assignee_id", ticket.assignee_id) if to in HOLDS_CAPACITY else None
        reserve = new_holder if new_holder != holder else None
        freed = holder if holder != new_holder else None
        now = utcnow()
        updated = await guarded_update(session, ticket, to, values, now=now)
        if updated is None:
            raise _LostRace(ticket_id)
        await adjust_loads(session, reserve=reserve, release=[freed] if freed else [], now=now)
        data = dict(event_data)
        if note:
            data["note"] = note
        if agent_id:
            data.setdefault("agent_id", agent_id)
        record(session, ticket_id, str(action), actor=actor or agent_id, channel=channel,
               from_status=current, to_status=str(to), data=data, now=now)
    return Outcome(ticket=updated, previous_status=current, freed_agent=freed)
