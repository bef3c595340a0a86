"""Synchronous triage and routing of one request (`POST /v1/route`), with the pipeline's own steps.

The ticket is committed without ringing the doorbell, then triaged and routed right here, so the
caller hears the outcome in the same request; should this process die half-way, the sweeper
finds the ticket in a pipeline state and finishes the work.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import tickets as store
from storage.agents import get_agent, list_agents
from storage.errors import NotFound
from storage.models import Ticket
from storage.states import TicketStatus
from workers import pipeline
from workers.routing import decide
from workers.runtime import Runtime

# Statuses of a ticket that routing gave to someone (later steps keep the assignee).
HANDED_OUT = frozenset({TicketStatus.ASSIGNED, TicketStatus.CLAIMED, TicketStatus.COMPLETED,
                        TicketStatus.RESOLVED})


@dataclass(frozen=True, slots=True)
class Dispatched:
    """The answer of /v1/route: `status` is assigned | queued | no_candidates."""

    ticket: Ticket
    status: str
    agent_id: str | None
    score: float | None
    current_load: int | None
    reason: tuple[str, ...]
    created: bool


async def outcome_of(rt: Runtime, ticket: Ticket) -> pipeline.Routed:
    """Where an already routed ticket stands (a repeated request, or the worker got there first)."""
    if ticket.assignee_id and ticket.status in HANDED_OUT:
        return pipeline.Routed("assigned", ticket.assignee_id, ticket.routing_score,
                               tuple(ticket.routing_reason or ()))
    agents = [pipeline.profile(a) for a in await list_agents(rt.db, active_only=True)]
    decision = decide(agents, pipeline.need_of(ticket))
    outcome = "no_candidates" if decision.outcome == "no_candidates" else "queued"
    return pipeline.Routed(outcome, reason=tuple(ticket.routing_reason or ()) or decision.reason)


async def dispatch(rt: Runtime, new: store.NewTicket, *,
                   idempotency: store.Idempotency | None = None) -> Dispatched:
    """Create, triage and route one ticket now; a repeat of an idempotent request reports where it stands."""
    ticket, created = await store.create_ticket(rt.db, new, idempotency=idempotency)
    await pipeline.triage(rt, ticket.id)
    routed = await pipeline.route(rt, ticket.id)
    if routed.changed:
        rt.notify(ticket.id, routed.outcome)
    ticket = await store.get_ticket(rt.db, ticket.id)
    if not routed.changed:
        routed = await outcome_of(rt, ticket)
    load = None
    if routed.agent_id:
        try:
            load = (await get_agent(rt.db, routed.agent_id)).load
        except NotFound:
            load = None
    return Dispatched(ticket=ticket, status=routed.outcome, agent_id=routed.agent_id, score=routed.score,
                      current_load=load, reason=routed.reason, created=created)
