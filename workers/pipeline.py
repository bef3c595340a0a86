"""The pipeline's steps as idempotent service functions: triage, route, refill, pull, sweep."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from ml import TriageRequest
from ml.baseline import FALLBACK
from storage import tickets as store
from storage.agents import get_agent, list_agents
from storage.batching import Placement, act_many, place_many
from storage.errors import AtCapacity, Conflict, NotFound
from storage.models import Agent, Customer, Ticket, utcnow
from storage.states import PIPELINE, Action, TicketStatus
from workers import metrics
from workers.routing import AgentProfile, Decision, Need, best_ticket_for, decide
from workers.runtime import Runtime
from workers.sla import due_at, parse_tiers

log = logging.getLogger("switchboard.pipeline")
VIP_SIGNAL = "vip_requester"


def profile(agent: Agent) -> AgentProfile:
    return AgentProfile(
        id=agent.id,
        skills=frozenset(s.lower() for s in agent.skills),
        languages=frozenset(agent.languages),
        capacity=agent.capacity,
        load=agent.load,
        clearance=agent.clearance,
        tier=agent.tier,
        rate=agent.rate,
        active=agent.active,
        last_assigned_at=agent.last_assigned_at,
    )


def need_of(ticket: Ticket) -> Need:
    return Need(
        category=ticket.category,
        topics=tuple(ticket.topics or ()),
        language=ticket.language or ticket.detected_language,
        sensitive=ticket.sensitive,
        budget=ticket.budget,
        urgency=ticket.urgency or 0.0,
        vip=VIP_SIGNAL in (ticket.signals or ()),
    )


Loaded = tuple[Ticket, Customer | None]


async def received(rt: Runtime, ticket_ids: list[str]) -> dict[str, Loaded]:
    """The tickets among `ticket_ids` still waiting for triage, with their requesters, in one read."""
    async with rt.db.read() as session:
        tickets = list(await session.scalars(
            select(Ticket).where(Ticket.id.in_(ticket_ids), Ticket.status == TicketStatus.RECEIVED)))
        requesters = {t.requester_id for t in tickets if t.requester_id}
        customers = ({c.id: c for c in await session.scalars(select(Customer).where(Customer.id.in_(requesters)))}
                     if requesters else {})
    return {t.id: (t, customers.get(t.requester_id or "")) for t in tickets}


async def triage(rt: Runtime, ticket_id: str, *, loaded: Loaded | None = None) -> bool:
    """Triage a received ticket; False when there was nothing to do (already triaged, gone).

    `loaded`: the ticket and its requester as `received()` read them (a message's tickets are
    read together); without it they are read here, the same way.
    """
    if loaded is None and (loaded := (await received(rt, [ticket_id])).get(ticket_id)) is None:
        return False
    return bool(await triage_many(rt, [loaded]))


async def triage_many(rt: Runtime, loaded: list[Loaded]) -> list[str]:
    """Triage tickets as `received()` read them, all at once; the ids this call moved to `triaged`.

    Every ticket goes to the model at once (so they share its forward passes), and the results
    are written in one transaction (`storage.batching.act_many`): one commit for the lot instead
    of one per ticket, which had capped a worker at ~75 tickets/s whatever the model did. A
    ticket someone else triaged meanwhile (a redelivered message) is left as it is, and one this
    process is already triaging is left to that call (`Runtime.triaging`): under a backlog the
    sweeper re-rings tickets still waiting in a worker, and each used to cost a second pass.
    """
    loaded = [(ticket, customer) for ticket, customer in loaded if ticket.id not in rt.triaging]
    ids = {ticket.id for ticket, _ in loaded}
    rt.triaging |= ids
    try:
        results = await asyncio.gather(*(_triage_one(rt, ticket, customer) for ticket, customer in loaded))
        changes = {ticket.id: change for (ticket, _), change in zip(loaded, results, strict=True)}
        moved = await act_many(rt.db, Action.TRIAGE, changes, actor="triage", channel="pipeline") if changes else []
    finally:
        rt.triaging -= ids
    created = {ticket.id: ticket.created_at for ticket, _ in loaded}
    for ticket_id in moved:
        metrics.PIPELINE_SECONDS.labels("triaged").observe(_since(created[ticket_id]))
        values, _ = changes[ticket_id]
        log.info("ticket triaged", extra={"ticket_id": ticket_id, "category": values["category"],
                                          "urgency": values["urgency"], "model": values["model"]})
    return moved


async def _triage_one(rt: Runtime, ticket: Ticket, customer: Customer | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's answer for one ticket as (values to write, event data)."""
    request = TriageRequest(
        text=f"{ticket.subject}\n{ticket.body}".strip(),
        vip=customer is not None and customer.tier == "vip",
        language=ticket.language or (customer.language if customer else None),
    )
    started = time.perf_counter()
    result = await rt.triage.triage(request)
    metrics.TRIAGE_SECONDS.labels(result.model).observe(time.perf_counter() - started)
    if result.model == FALLBACK and rt.settings.triage_model != "keyword":
        metrics.TRIAGE_FALLBACKS.inc()
    values = {
        "category": result.category,
        "confidence": result.confidence,
        "needs_review": result.needs_review,
        "urgency": result.urgency,
        "urgency_label": result.urgency_label,
        "sentiment": result.sentiment,
        "detected_language": result.language,
        "signals": list(result.signals),
        "suggested_reply": result.suggested_reply,
        "model": result.model,
        "due_at": due_at(ticket.created_at, result.urgency, sla_minutes=ticket.sla_minutes,
                         tiers=parse_tiers(rt.settings.sla_tiers)),
    }
    return values, {"category": result.category, "urgency": result.urgency, "model": result.model}


def _since(moment: datetime) -> float:
    return max((utcnow() - moment).total_seconds(), 0.0)


def _routed(ticket: Ticket, outcome: str, agent_id: str | None = None) -> None:
    """Count and log a routing decision that was committed."""
    metrics.PIPELINE_SECONDS.labels("routed").observe(_since(ticket.created_at))
    log.info("ticket routed", extra={"ticket_id": ticket.id, "outcome": outcome, "agent_id": agent_id})


@dataclass(frozen=True, slots=True)
class Routed:
    """What routing did: `changed` is False when the ticket was already past routing."""

    outcome: str  # assigned | queued | no_candidates | the ticket's status when nothing was done
    agent_id: str | None = None
    score: float | None = None
    reason: tuple[str, ...] = ()
    changed: bool = False


async def _place(rt: Runtime, ticket: Ticket, decision: Decision) -> Routed | None:
    """Assign to the best candidate still free, or None when every one filled up meanwhile."""
    for candidate in decision.ranked:
        try:
            await store.act(rt.db, ticket.id, Action.ASSIGN, agent_id=candidate.agent_id,
                            actor="router", channel="pipeline",
                            values={"routing_score": candidate.score, "routing_reason": list(candidate.reason)},
                            event_data={"score": candidate.score, "reason": list(candidate.reason)})
        except AtCapacity:
            continue  # someone took the last slot since we read the loads
        return Routed("assigned", candidate.agent_id, candidate.score, candidate.reason, changed=True)
    return None


async def route(rt: Runtime, ticket_id: str) -> Routed:
    """Route a triaged (or re-route a queued) ticket: assigned to the best free agent, else queued."""
    async with rt.db.read() as session:
        ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        return Routed("missing")
    if ticket.status not in (TicketStatus.TRIAGED, TicketStatus.QUEUED):
        return Routed(ticket.status, ticket.assignee_id)
    agents = [profile(a) for a in await list_agents(rt.db, active_only=True)]
    decision = decide(agents, need_of(ticket))
    try:
        if decision.outcome == "assigned" and (placed := await _place(rt, ticket, decision)):
            if ticket.status == TicketStatus.TRIAGED:
                _routed(ticket, placed.outcome, placed.agent_id)
            return placed
        reason = decision.reason if decision.outcome != "assigned" else ("all fitting agents became full",)
        outcome = "no_candidates" if decision.outcome == "no_candidates" else "queued"
        if ticket.status != TicketStatus.TRIAGED:
            return Routed(outcome, reason=reason)
        await store.act(rt.db, ticket_id, Action.QUEUE, actor="router", channel="pipeline",
                        values={"routing_reason": list(reason), "routing_score": None},
                        event_data={"reason": list(reason), "outcome": outcome})
        _routed(ticket, outcome)
        return Routed(outcome, reason=reason, changed=True)
    except Conflict:
        fresh = await store.get_ticket(rt.db, ticket_id)
        return Routed(fresh.status, fresh.assignee_id)


def plan_routes(agents: list[Agent], tickets: list[Ticket]) -> list[Placement]:
    """Where each of `tickets` goes, most urgent first, each decision counting the slots the earlier took."""
    profiles = {agent.id: profile(agent) for agent in agents}
    now = utcnow()
    placements = []
    for ticket in sorted(tickets, key=lambda t: (-(t.urgency or 0.0), t.created_at, t.id)):
        decision = decide(profiles.values(), need_of(ticket))
        if decision.outcome == "assigned":
            best = decision.ranked[0]
            chosen = profiles[best.agent_id]
            profiles[best.agent_id] = replace(chosen, load=chosen.load + 1, last_assigned_at=now)
            placements.append(Placement(ticket.id, best.agent_id, best.score, tuple(best.reason), "assigned"))
        else:
            placements.append(Placement(ticket.id, None, None, tuple(decision.reason), decision.outcome))
    return placements


async def route_many(rt: Runtime, ticket_ids: list[str]) -> list[tuple[str, Routed]]:
    """Route the tickets among `ticket_ids` still `triaged`, together; (id, what was done) for each moved.

    The same decisions as `route()` one by one, most urgent first, but the agents are read once
    and every decision is written in one transaction (`storage.batching.place_many`) rather than
    a read and a transaction per ticket, which had routed ~45-80 tickets/s behind the worker's
    triage. Tickets already routed (a redelivered message) are left alone.
    """
    seen: dict[str, Ticket] = {}

    def plan(agents: list[Agent], tickets: list[Ticket]) -> list[Placement]:
        seen.update((ticket.id, ticket) for ticket in tickets)
        return plan_routes(agents, tickets)

    done = []
    for placement in await place_many(rt.db, ticket_ids, plan):
        routed = Routed(placement.outcome, placement.agent_id, placement.score, placement.reason, changed=True)
        _routed(seen[placement.ticket_id], routed.outcome, routed.agent_id)
        done.append((placement.ticket_id, routed))
    return done


async def refill(rt: Runtime, agent_id: str, *, limit: int = 200) -> list[str]:
    """Give `agent_id` the best waiting tickets they may take until they are full."""
    assigned: list[str] = []
    skipped: set[str] = set()
    while True:
        try:
            agent = await get_agent(rt.db, agent_id)
        except NotFound:
            return assigned
        if not agent.active or agent.load >= agent.capacity:
            return assigned
        async with rt.db.read() as session:
            rows = list(await session.scalars(
                select(Ticket).where(Ticket.status == TicketStatus.QUEUED)
                .order_by(Ticket.urgency.desc(), Ticket.created_at.asc(), Ticket.id.asc()).limit(limit)
            ))
        waiting = [(t.id, need_of(t)) for t in rows if t.id not in skipped]
        chosen = best_ticket_for(profile(agent), waiting)
        if chosen is None:
            return assigned
        try:
            await store.act(rt.db, chosen, Action.ASSIGN, agent_id=agent_id, actor="router",
                            channel="pipeline", values={"routing_reason": ["capacity freed"]},
                            event_data={"reason": ["capacity freed"]})
        except AtCapacity:
            return assigned
        except Conflict:
            skipped.add(chosen)
            continue
        assigned.append(chosen)


async def pull_next(rt: Runtime, agent_id: str, *, limit: int = 200) -> Ticket | None:
    """Claim for `agent_id` the most urgent waiting ticket they may take (theirs or unassigned)."""
    agent = await get_agent(rt.db, agent_id)
    skipped: set[str] = set()
    for _ in range(20):
        async with rt.db.read() as session:
            rows = list(await session.scalars(
                select(Ticket).where(or_(
                    Ticket.status == TicketStatus.QUEUED,
                    (Ticket.status == TicketStatus.ASSIGNED) & (Ticket.assignee_id == agent_id),
                )).order_by(Ticket.urgency.desc(), Ticket.created_at.asc(), Ticket.id.asc()).limit(limit)
            ))
        chosen = best_ticket_for(profile(agent), [(t.id, need_of(t)) for t in rows if t.id not in skipped])
        if chosen is None:
            return None
        try:
            outcome = await store.act(rt.db, chosen, Action.CLAIM, agent_id=agent_id, actor=agent_id,
                                      event_data={"via": "queue/next"})
        except AtCapacity:
            raise
        except Conflict:
            skipped.add(chosen)
            continue
        return outcome.ticket
    return None


async def stale(rt: Runtime, *, now: datetime | None = None, limit: int = 500) -> list[tuple[str, str]]:
    """Tickets stuck in a pipeline state: marked swept (so other sweepers skip them) and returned."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=rt.settings.sweep_after)
    condition = (
        Ticket.status.in_([str(s) for s in PIPELINE])
        & (Ticket.updated_at < cutoff)
        & or_(Ticket.swept_at.is_(None), Ticket.swept_at < cutoff)
    )
    async with rt.db.write() as session:
        ids = list(await session.scalars(select(Ticket.id).where(condition).limit(limit)))
        if not ids:
            return []
        rows = await session.execute(
            update(Ticket).where(Ticket.id.in_(ids), condition).values(swept_at=now)
            .returning(Ticket.id, Ticket.status).execution_options(synchronize_session=False)
        )
        return [(row.id, row.status) for row in rows]


def notifier_name(notifier: object) -> str:
    return str(getattr(notifier, "name", type(notifier).__name__))


async def deliver(rt: Runtime, ticket_id: str, kind: str, name: str) -> None:
    """Tell one notifier (by name); its own failure is retried on its own, never re-running the others."""
    for notifier in rt.notifiers:
        if notifier_name(notifier) == name:
            await notifier.ticket_event(ticket_id, kind)
            return
    log.warning("no notifier named %s in this process; %s/%s dropped", name, ticket_id, kind)


async def accept(rt: Runtime, new: store.NewTicket, *,
                 idempotency: store.Idempotency | None = None) -> tuple[store.Receipt, bool]:
    """Commit a ticket, then ring the doorbell; a repeat of an idempotent request rings nothing."""
    if rt.committer is not None:
        receipt, created = await rt.committer.create(new, idempotency=idempotency)
    else:
        ticket, created = await store.create_ticket(rt.db, new, idempotency=idempotency)
        receipt = store.Receipt.of(ticket)
    if created:
        rt.ring(receipt.id)
    return receipt, created


async def perform(rt: Runtime, ticket_id: str, action: Action, *, agent_id: str | None,
                  note: str | None = None, channel: str = "api") -> Ticket:
    """A person's action on a ticket from any surface, and everything that follows from it."""
    outcome = await store.act(rt.db, ticket_id, action, agent_id=agent_id, note=note,
                              actor=agent_id, channel=channel)
    rt.notify(ticket_id, str(action))
    if outcome.freed_agent:
        for other in await refill(rt, outcome.freed_agent):
            rt.notify(other, "assigned")
    if action is Action.REOPEN:
        routed = await route(rt, ticket_id)
        if routed.changed:
            rt.notify(ticket_id, routed.outcome)
    return await store.get_ticket(rt.db, ticket_id)


async def refill_and_notify(rt: Runtime, agent_id: str) -> list[str]:
    """Refill an agent (new, or more capacity) and tell chat about each assignment."""
    assigned = await refill(rt, agent_id)
    for ticket_id in assigned:
        rt.notify(ticket_id, "assigned")
    return assigned
