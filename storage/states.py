"""The ticket lifecycle: statuses, the legal edges, and the guarded update that takes one."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import AlreadyClaimed, IllegalTransition
from storage.models import Ticket, TicketEvent, utcnow


class TicketStatus(StrEnum):
    RECEIVED = "received"
    TRIAGED = "triaged"
    ASSIGNED = "assigned"
    QUEUED = "queued"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    RESOLVED = "resolved"


class Action(StrEnum):
    TRIAGE = "triage"
    ASSIGN = "assign"
    QUEUE = "queue"
    CLAIM = "claim"
    COMPLETE = "complete"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    RELEASE = "release"


S = TicketStatus

# action -> (statuses it may start from, status it ends in)
TRANSITIONS: dict[Action, tuple[frozenset[TicketStatus], TicketStatus]] = {
    Action.TRIAGE: (frozenset({S.RECEIVED}), S.TRIAGED),
    Action.ASSIGN: (frozenset({S.TRIAGED, S.QUEUED}), S.ASSIGNED),
    Action.QUEUE: (frozenset({S.TRIAGED}), S.QUEUED),
    Action.CLAIM: (frozenset({S.ASSIGNED, S.QUEUED}), S.CLAIMED),
    Action.COMPLETE: (frozenset({S.CLAIMED}), S.COMPLETED),
    Action.RESOLVE: (frozenset({S.ASSIGNED, S.QUEUED, S.CLAIMED, S.COMPLETED}), S.RESOLVED),
    Action.REOPEN: (frozenset({S.COMPLETED, S.RESOLVED}), S.QUEUED),
    Action.RELEASE: (frozenset({S.ASSIGNED, S.CLAIMED}), S.QUEUED),
}

# While a ticket is in one of these, its assignee's load counts it.
HOLDS_CAPACITY = frozenset({S.ASSIGNED, S.CLAIMED})
PIPELINE = frozenset({S.RECEIVED, S.TRIAGED})
WAITING = frozenset({S.QUEUED, S.ASSIGNED})

_TIMESTAMP = {
    S.TRIAGED: "triaged_at",
    S.ASSIGNED: "assigned_at",
    S.CLAIMED: "claimed_at",
    S.COMPLETED: "completed_at",
    S.RESOLVED: "resolved_at",
}


def target(action: Action, current: str, *, holder: str | None = None) -> TicketStatus:
    """The status `action` leads to from `current`, or the conflict that forbids it."""
    sources, to = TRANSITIONS[action]
    if current in sources:
        return to
    if action is Action.CLAIM and current == S.CLAIMED:
        raise AlreadyClaimed(
            f"already claimed by {holder}", details={"claimed_by": holder, "status": current}
        )
    raise IllegalTransition(
        f"cannot {action} a ticket that is {current}",
        details={"status": current, "action": str(action), "allowed_from": sorted(sources)},
    )


def transition_values(to: TicketStatus, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What moving a ticket to `to` writes besides `values`: the status, `updated_at`, the status's own stamp."""
    values = {"status": str(to), "updated_at": now, **values}
    if (stamp := _TIMESTAMP.get(to)) and stamp not in values:
        values[stamp] = now
    return values


async def guarded_update(
    session: AsyncSession,
    ticket: Ticket,
    to: TicketStatus,
    values: dict[str, Any],
    *,
    now: datetime | None = None,
) -> Ticket | None:
    """Move `ticket` to `to` only if nobody changed it since it was read; None if someone did."""
    stmt = (
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.version == ticket.version, Ticket.status == ticket.status)
        .values(version=Ticket.version + 1, **transition_values(to, values, now or utcnow()))
        .returning(Ticket)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return (await session.scalars(stmt)).one_or_none()


def record(
    session: AsyncSession,
    ticket_id: str,
    type_: str,
    *,
    actor: str | None = None,
    channel: str | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> TicketEvent:
    """Append one audit event in the caller's transaction."""
    event = TicketEvent(
        ticket_id=ticket_id,
        type=type_,
        actor=actor,
        channel=channel,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
        ts=now or utcnow(),
    )
    session.add(event)
    return event
