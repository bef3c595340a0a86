"""Dramatiq actors: thin verbs over `workers.pipeline`, taking ids only, safe to run twice.

Intake rings once per batch of tickets, so a message carries a list of ids: one broker round
trip for many tickets, and the triage model sees them together (one forward pass).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import dramatiq

from storage.db import background
from workers import pipeline
from workers.broker import ensure_broker
from workers.runtime import current

ensure_broker()
Actor = Callable[..., Awaitable[None]]

_FAST: dict[str, Any] = {"max_retries": 8, "min_backoff": 500, "max_backoff": 30_000, "time_limit": 120_000}


def _in_background(fn: Actor) -> Actor:
    """The actor's writes are background writes (storage.db.background).

    They wait behind writes a person is waiting on and, in a process that also serves intake
    (embedded mode), the whole step waits for a lull in intake before it starts: a burst of
    tickets is accepted first, while the pipeline still moves about one ticket per 0.2 s
    (GroupCommitter.lull, set as the database's gate; a message for 100 tickets waits its
    turn once, then reads, triages and writes them all).
    """

    @functools.wraps(fn)
    async def run(*args: Any) -> None:
        with background():
            await current().db.admit(len(args[0]) if args and isinstance(args[0], list) else 1)
            await fn(*args)

    return run


@dramatiq.actor(queue_name="ml", **_FAST)
@_in_background
async def triage_tickets(ticket_ids: list[str]) -> None:
    waiting = await pipeline.received(current(), ticket_ids)  # one read for the message's tickets
    # One pass through the model for them all (micro-batched), one transaction for the results.
    if triaged := await pipeline.triage_many(current(), list(waiting.values())):
        route_tickets.send(triaged)


@dramatiq.actor(queue_name="default", **_FAST)
@_in_background
async def route_tickets(ticket_ids: list[str]) -> None:
    # Decided together, each decision counting the slots the earlier ones took; one transaction.
    for ticket_id, routed in await pipeline.route_many(current(), ticket_ids):
        notify_ticket.send(ticket_id, routed.outcome)


@dramatiq.actor(queue_name="default", **_FAST)
@_in_background
async def refill_agent(agent_id: str) -> None:
    for ticket_id in await pipeline.refill(current(), agent_id):
        notify_ticket.send(ticket_id, "assigned")


@dramatiq.actor(queue_name="chat", max_retries=3, min_backoff=500, max_backoff=5_000, time_limit=10_000)
@_in_background
async def notify_ticket(ticket_id: str, kind: str) -> None:
    """Fan out: one message per notifier, so each is retried on its own."""
    for notifier in current().notifiers:
        deliver_notification.send(ticket_id, kind, pipeline.notifier_name(notifier))


@dramatiq.actor(queue_name="chat", max_retries=10, min_backoff=1_000, max_backoff=120_000, time_limit=60_000)
@_in_background
async def deliver_notification(ticket_id: str, kind: str, notifier: str) -> None:
    await pipeline.deliver(current(), ticket_id, kind, notifier)
