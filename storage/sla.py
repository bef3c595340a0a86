"""SLA state in the database: reminders, escalations, snoozes and hand-backs, each taken once.

Every step is a conditional update (`... WHERE reminded_at IS NULL ...`), so many processes may
run the SLA check at once, and one restarted later, without a reminder or escalation firing twice.
The timers' columns never touch `updated_at`: that is the ticket's last activity, which decides
when a claim is handed back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from storage.agents import adjust_loads
from storage.db import Database
from storage.errors import Conflict, NotFound
from storage.models import Ticket, utcnow
from storage.states import TicketStatus, guarded_update, record

S = TicketStatus
# Tickets whose clock runs: someone still has to act on them.
OPEN = (S.TRIAGED, S.ASSIGNED, S.QUEUED, S.CLAIMED)
_OPEN = [str(s) for s in OPEN]


class NoTimer(Conflict):
    """Raised when a ticket has no running SLA timer (not triaged yet, or already done)."""

    code = "no_sla_timer"


@dataclass(frozen=True, slots=True)
class Timer:
    """What a check needs to know about one ticket."""

    id: str
    status: str
    assignee_id: str | None
    created_at: datetime
    due_at: datetime
    updated_at: datetime
    claimed_at: datetime | None


def _timer(t: Ticket) -> Timer:
    assert t.due_at is not None
    return Timer(t.id, t.status, t.assignee_id, t.created_at, t.due_at, t.updated_at, t.claimed_at)


async def reminder_candidates(db: Database, *, now: datetime, horizon: timedelta, limit: int = 500,
                              after: tuple[datetime, str] | None = None) -> list[Timer]:
    """Open tickets due within `horizon`, not yet reminded and not snoozed (the caller picks the ripe ones).

    By due time then id; pass the last one's `(due_at, id)` as `after` for the next page.
    """
    stmt = (
        select(Ticket)
        .where(Ticket.status.in_(_OPEN), Ticket.reminded_at.is_(None), Ticket.due_at.is_not(None),
               Ticket.due_at > now, Ticket.due_at <= now + horizon,
               or_(Ticket.snoozed_until.is_(None), Ticket.snoozed_until <= now))
        .order_by(Ticket.due_at, Ticket.id).limit(limit)
    )
    if after is not None:
        stmt = stmt.where(or_(Ticket.due_at > after[0], and_(Ticket.due_at == after[0], Ticket.id > after[1])))
    async with db.read() as session:
        return [_timer(t) for t in await session.scalars(stmt)]


async def overdue(db: Database, *, now: datetime, limit: int = 500) -> list[Timer]:
    """Open tickets past their due time and not yet escalated, most overdue first."""
    stmt = (
        select(Ticket)
        .where(Ticket.status.in_(_OPEN), Ticket.escalated_at.is_(None), Ticket.due_at.is_not(None),
               Ticket.due_at <= now)
        .order_by(Ticket.due_at).limit(limit)
    )
    async with db.read() as session:
        return [_timer(t) for t in await session.scalars(stmt)]


async def idle_claims(db: Database, *, before: datetime, limit: int = 500) -> list[Timer]:
    """Claimed tickets nobody touched since `before`."""
    stmt = (
        select(Ticket)
        .where(Ticket.status == str(S.CLAIMED), Ticket.updated_at < before, Ticket.due_at.is_not(None))
        .order_by(Ticket.updated_at).limit(limit)
    )
    async with db.read() as session:
        return [_timer(t) for t in await session.scalars(stmt)]


async def mark_reminded(db: Database, ticket_id: str, *, now: datetime) -> bool:
    """Take the reminder for this ticket; False when someone else took it (or it no longer applies)."""
    async with db.write() as session:
        row = (await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.reminded_at.is_(None), Ticket.status.in_(_OPEN),
                   Ticket.due_at > now, or_(Ticket.snoozed_until.is_(None), Ticket.snoozed_until <= now))
            .values(reminded_at=now)
            .returning(Ticket.due_at, Ticket.assignee_id)
            .execution_options(synchronize_session=False)
        )).first()
        if row is None:
            return False
        record(session, ticket_id, "sla_reminder", actor="sla", channel="sla", now=now,
               data={"due_at": row.due_at.isoformat(), "assignee": row.assignee_id,
                     "minutes_left": round((row.due_at - now).total_seconds() / 60, 1)})
    return True


async def mark_escalated(db: Database, ticket_id: str, *, now: datetime, lead: str | None) -> Timer | None:
    """Take the escalation for this ticket; the ticket as it was, or None when someone else took it."""
    async with db.write() as session:
        ticket = (await session.scalars(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.escalated_at.is_(None), Ticket.status.in_(_OPEN),
                   Ticket.due_at <= now)
            .values(escalated_at=now)
            .returning(Ticket)
            .execution_options(synchronize_session=False, populate_existing=True)
        )).one_or_none()
        if ticket is None:
            return None
        timer = _timer(ticket)
        record(session, ticket_id, "sla_escalated", actor="sla", channel="sla", now=now,
               data={"due_at": timer.due_at.isoformat(), "status": timer.status, "assignee": timer.assignee_id,
                     "lead": lead, "minutes_overdue": round((now - timer.due_at).total_seconds() / 60, 1)})
    return timer


async def release_idle(db: Database, ticket_id: str, *, idle_before: datetime, now: datetime) -> str | None:
    """Hand a claim nobody worked on since `idle_before` back to the queue; the agent who held it, or None.

    The idleness is checked in the same transaction as the release, guarded by the ticket's version,
    so an agent acting at that very moment keeps the ticket.
    """
    async with db.write() as session:
        ticket = await session.get(Ticket, ticket_id, populate_existing=True)
        if ticket is None or ticket.status != S.CLAIMED or ticket.updated_at >= idle_before:
            return None
        holder = ticket.assignee_id
        idle = (now - ticket.updated_at).total_seconds()
        if await guarded_update(session, ticket, S.QUEUED, {"assignee_id": None}, now=now) is None:
            return None
        await adjust_loads(session, release=[holder] if holder else [], now=now)
        record(session, ticket_id, "auto_unclaimed", actor="sla", channel="sla", from_status=str(S.CLAIMED),
               to_status=str(S.QUEUED), now=now, data={"agent_id": holder, "idle_minutes": round(idle / 60, 1)})
    return holder


async def reassign(db: Database, ticket_id: str, *, from_agent: str, to_agent: str, reason: str,
                   now: datetime | None = None) -> bool:
    """Move an assigned (not yet claimed) ticket from one agent to another in one transaction.

    Not a status change (assigned stays assigned), so it is not an edge of the lifecycle table;
    the capacity moves with it. False when the ticket moved meanwhile; AtCapacity when `to_agent` is full.
    """
    now = now or utcnow()
    async with db.write() as session:
        ticket = await session.get(Ticket, ticket_id, populate_existing=True)
        if ticket is None or ticket.status != S.ASSIGNED or ticket.assignee_id != from_agent:
            return False
        if await guarded_update(session, ticket, S.ASSIGNED, {"assignee_id": to_agent,
                                                              "routing_reason": [reason]}, now=now) is None:
            return False
        await adjust_loads(session, reserve=to_agent, release=[from_agent], now=now)
        record(session, ticket_id, "reassign", actor="sla", channel="sla", from_status=str(S.ASSIGNED),
               to_status=str(S.ASSIGNED), now=now, data={"from": from_agent, "to": to_agent, "reason": reason})
    return True


async def snooze(db: Database, ticket_id: str, *, until: datetime, actor: str | None,
                 now: datetime | None = None) -> Ticket:
    """Hold reminders until `until`; a reminder already sent comes again then (escalation is not held)."""
    now = now or utcnow()
    async with db.write() as session:
        ticket = await session.get(Ticket, ticket_id, populate_existing=True)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} not found", details={"ticket_id": ticket_id})
        if ticket.status not in _OPEN or ticket.due_at is None:
            raise NoTimer(f"a {ticket.status} ticket has no running SLA timer to snooze",
                           details={"status": ticket.status})
        ticket.snoozed_until = until
        ticket.reminded_at = None
        ticket.updated_at = now  # snoozing is someone working on it
        record(session, ticket_id, "sla_snoozed", actor=actor, channel="api", now=now,
               data={"until": until.isoformat(), "due_at": ticket.due_at.isoformat()})
    return ticket
