"""The periodic SLA check: remind before the due time, escalate past it, hand back idle claims.

Runs beside the sweeper in every intake process; the database decides who does each step (see
`storage.sla`), so any number of processes, restarted at any time, fire each step once. Pass
`now` to drive it with a test clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from storage import sla as timers
from storage import tickets as store
from storage.agents import list_agents
from storage.db import background
from storage.errors import AtCapacity, Conflict, StorageError
from storage.models import utcnow
from storage.states import Action, TicketStatus
from workers import metrics, pipeline
from workers.routing import decide
from workers.runtime import Runtime
from workers.sla import longest_lead, parse_tiers, remind_at

log = logging.getLogger("switchboard.sla")
PAGE = 500  # tickets read per query; every candidate due within the horizon is looked at each pass


@dataclass
class Report:
    """What one check did, ticket ids per step."""

    reminded: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    unclaimed: list[str] = field(default_factory=list)
    reassigned: dict[str, str] = field(default_factory=dict)  # ticket id -> the agent it went to

    def __bool__(self) -> bool:
        return bool(self.reminded or self.escalated or self.unclaimed)


async def hand_on(rt: Runtime, ticket_id: str, *, exclude: set[str | None], senior: bool = False,
                  reason: str) -> str | None:
    """Give a waiting or assigned ticket to the best eligible agent other than `exclude`; who got it."""
    ticket = await store.get_ticket(rt.db, ticket_id)
    if ticket.status not in (TicketStatus.ASSIGNED, TicketStatus.QUEUED):
        return None
    need = pipeline.need_of(ticket)
    if senior:
        need = dataclasses.replace(need, urgency=1.0)  # overdue work goes to seniors first
    agents = [pipeline.profile(a) for a in await list_agents(rt.db, active_only=True) if a.id not in exclude]
    decision = decide(agents, need)
    for candidate in decision.ranked:
        try:
            if ticket.status == TicketStatus.ASSIGNED:
                assert ticket.assignee_id is not None
                moved = await timers.reassign(rt.db, ticket_id, from_agent=ticket.assignee_id,
                                              to_agent=candidate.agent_id, reason=reason)
            else:
                await store.act(rt.db, ticket_id, Action.ASSIGN, agent_id=candidate.agent_id, actor="sla",
                                channel="sla", values={"routing_score": candidate.score,
                                                       "routing_reason": [reason, *candidate.reason]},
                                event_data={"score": candidate.score, "reason": [reason, *candidate.reason]})
                moved = True
        except AtCapacity:
            continue  # filled up since we read the loads
        except Conflict:
            return None  # the ticket moved meanwhile: whoever moved it decided
        if not moved:
            return None
        rt.notify(ticket_id, "assigned")
        return candidate.agent_id
    return None


async def _escalate(rt: Runtime, now: datetime, report: Report) -> None:
    for timer in await timers.overdue(rt.db, now=now):
        taken = await timers.mark_escalated(rt.db, timer.id, now=now, lead=rt.settings.sla_escalation_lead)
        if taken is None:
            continue
        report.escalated.append(timer.id)
        metrics.SLA_BREACHES.labels(taken.status).inc()
        rt.notify(timer.id, "sla_escalated")
        if taken.status == TicketStatus.CLAIMED:
            continue  # someone is on it: the lead hears, nobody's work is taken away
        if (to := await hand_on(rt, timer.id, exclude={taken.assignee_id}, senior=True,
                                reason="sla escalated")) is not None:
            report.reassigned[timer.id] = to


async def _remind(rt: Runtime, now: datetime, report: Report) -> None:
    lead = rt.settings.sla_reminder_lead
    if lead <= 0:
        return
    horizon = longest_lead(parse_tiers(rt.settings.sla_tiers), lead)
    after: tuple[datetime, str] | None = None
    while page := await timers.reminder_candidates(rt.db, now=now, horizon=horizon, after=after, limit=PAGE):
        for timer in page:
            # A long custom SLA is reminded at most `horizon` ahead, like the longest tier.
            ripe = max(remind_at(timer.created_at, timer.due_at, lead), timer.due_at - horizon)
            if now >= ripe and await timers.mark_reminded(rt.db, timer.id, now=now):
                report.reminded.append(timer.id)
                metrics.SLA_REMINDERS.inc()
                rt.notify(timer.id, "sla_reminder")
        if len(page) < PAGE:
            return
        after = (page[-1].due_at, page[-1].id)


async def _unclaim(rt: Runtime, now: datetime, report: Report) -> None:
    after = rt.settings.auto_unclaim_after
    if after <= 0:
        return
    before = now - timedelta(seconds=after)
    for timer in await timers.idle_claims(rt.db, before=before):
        holder = await timers.release_idle(rt.db, timer.id, idle_before=before, now=now)
        if holder is None:
            continue
        report.unclaimed.append(timer.id)
        metrics.SLA_AUTO_UNCLAIMS.inc()
        rt.notify(timer.id, "auto_unclaimed")
        if (to := await hand_on(rt, timer.id, exclude={holder}, reason="auto-unclaimed")) is not None:
            report.reassigned[timer.id] = to
        for other in await pipeline.refill(rt, holder):
            rt.notify(other, "assigned")


async def check_once(rt: Runtime, *, now: datetime | None = None) -> Report:
    """One pass: escalations first (a ticket already past due gets no late reminder), then the rest."""
    now = now or utcnow()
    report = Report()
    for step in (_escalate, _remind, _unclaim):
        try:
            await step(rt, now, report)
        except StorageError:
            log.exception("SLA step %s failed; the next pass retries", step.__name__)
    if report:
        log.info("sla: %d reminded, %d escalated, %d auto-unclaimed, %d reassigned", len(report.reminded),
                 len(report.escalated), len(report.unclaimed), len(report.reassigned))
    return report


def start(rt: Runtime) -> asyncio.Task[None]:
    """Start the periodic check; a malformed SLA_TIERS fails here, at start, not at the first check."""
    parse_tiers(rt.settings.sla_tiers)
    return asyncio.create_task(run(rt), name="sla")


async def run(rt: Runtime) -> None:
    """Check every `sla_interval` seconds until cancelled; a database hiccup only skips a round."""
    with background():
        while True:
            await asyncio.sleep(rt.settings.sla_interval)
            try:
                await check_once(rt)
            except (SQLAlchemyError, OSError):
                log.warning("SLA check skipped: database unavailable", exc_info=True)
