"""Dramatiq actors: thin verbs over `workers.pipeline`, taking ids only, safe to run twice."""

from __future__ import annotations

import dramatiq

from workers import pipeline
from workers.broker import ensure_broker
from workers.runtime import current

ensure_broker()

_FAST = {"max_retries": 8, "min_backoff": 500, "max_backoff": 30_000, "time_limit": 60_000}


@dramatiq.actor(queue_name="ml", **_FAST)
async def triage_ticket(ticket_id: str) -> None:
    if await pipeline.triage(current(), ticket_id):
        route_ticket.send(ticket_id)


@dramatiq.actor(queue_name="default", **_FAST)
async def route_ticket(ticket_id: str) -> None:
    routed = await pipeline.route(current(), ticket_id)
    if routed.changed:
        notify_ticket.send(ticket_id, routed.outcome)


@dramatiq.actor(queue_name="default", **_FAST)
async def refill_agent(agent_id: str) -> None:
    for ticket_id in await pipeline.refill(current(), agent_id):
        notify_ticket.send(ticket_id, "assigned")


@dramatiq.actor(queue_name="chat", max_retries=10, min_backoff=1_000, max_backoff=120_000, time_limit=60_000)
async def notify_ticket(ticket_id: str, kind: str) -> None:
    await pipeline.notify(current(), ticket_id, kind)
