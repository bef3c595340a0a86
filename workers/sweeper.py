"""Re-ring the doorbell for work a broker or a killed worker lost: stuck tickets, missing or stale alert cards."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import SQLAlchemyError

from storage.db import background
from storage.models import ChatMessage, Ticket, utcnow
from storage.states import TicketStatus
from workers import pipeline
from workers.doorbell import Doorbell
from workers.runtime import Runtime

log = logging.getLogger("switchboard.sweeper")

ALERT_SWEEP_EVERY = 30.0  # seconds between looks for lost card posts and edits (a heavier query)
ALERT_GRACE = 30.0  # a change younger than this may still be on its way to chat
STALE_RESERVATION = 120.0  # a card reserved this long without a message: its poster died (bot/ agrees)
ALERT_HORIZON = timedelta(days=1)  # older tickets are not looked at again
OPEN = (TicketStatus.ASSIGNED, TicketStatus.QUEUED, TicketStatus.CLAIMED)
SHOWN = (*OPEN, TicketStatus.COMPLETED, TicketStatus.RESOLVED)


async def sweep_once(rt: Runtime, doorbell: Doorbell) -> int:
    """Ring once for every stale ticket; how many there were."""
    found = await pipeline.stale(rt)
    for ticket_id, status in found:
        doorbell.ring(ticket_id, status)
    if found:
        log.info("sweeper re-enqueued %d stale ticket(s)", len(found))
    return len(found)


def alert_platforms(rt: Runtime) -> list[str]:
    """Names of the notifiers that keep an alert card per urgent ticket (Slack, Discord)."""
    return [str(n.name) for n in rt.notifiers if getattr(n, "alert_channel", None)]  # type: ignore[attr-defined]


async def lost_alerts(rt: Runtime, platforms: Sequence[str], *, now: datetime | None = None,
                      limit: int = 200) -> list[tuple[str, str, str]]:
    """(ticket id, platform, kind) for urgent tickets whose card was never posted or lags the ticket.

    A card is missing when its chat message was lost with a Redis restart or a worker killed between
    reserving and posting it (the reservation then goes stale); it lags when an edit was lost. Kind
    "assigned" makes a notifier post a missing card, "refresh" edit a lagging one.
    """
    now = now or utcnow()
    settled, stale = now - timedelta(seconds=ALERT_GRACE), now - timedelta(seconds=STALE_RESERVATION)
    urgent = and_(Ticket.urgency > rt.settings.alert_threshold, Ticket.created_at > now - ALERT_HORIZON,
                  Ticket.updated_at < settled)
    found: list[tuple[str, str, str]] = []
    async with rt.db.read() as session:
        for platform in platforms:
            card = and_(ChatMessage.ticket_id == Ticket.id, ChatMessage.platform == platform,
                        ChatMessage.kind == "alert")
            live = and_(card, or_(ChatMessage.message_id.is_not(None), ChatMessage.updated_at > stale))
            missing = await session.scalars(
                select(Ticket.id).where(urgent, Ticket.status.in_(OPEN), ~exists().where(live)).limit(limit))
            found += [(ticket_id, platform, "assigned") for ticket_id in missing]
            lagging = await session.scalars(
                select(Ticket.id).join(ChatMessage, card)
                .where(urgent, Ticket.status.in_(SHOWN), ChatMessage.message_id.is_not(None),
                       ChatMessage.rendered_version < Ticket.version).limit(limit))
            found += [(ticket_id, platform, "refresh") for ticket_id in lagging]
    return found


async def sweep_alerts(rt: Runtime, doorbell: Doorbell, *, now: datetime | None = None) -> int:
    """Send each lost card post or edit again, to its own platform only; how many were sent."""
    from workers import actors

    found = await lost_alerts(rt, alert_platforms(rt), now=now)
    for ticket_id, platform, kind in found:
        doorbell.ring_now(actors.deliver_notification, ticket_id, kind, platform)
    if found:
        log.info("sweeper re-sent %d lost alert card post(s) or edit(s)", len(found))
    return len(found)


async def run(rt: Runtime, doorbell: Doorbell) -> None:
    """Sweep every `sweep_interval` seconds until cancelled; a database hiccup only skips a round."""
    last_alert_sweep = time.monotonic()
    with background():
        while True:
            await asyncio.sleep(rt.settings.sweep_interval)
            try:
                await sweep_once(rt, doorbell)
                if time.monotonic() - last_alert_sweep >= ALERT_SWEEP_EVERY:
                    last_alert_sweep = time.monotonic()
                    await sweep_alerts(rt, doorbell)
            except (SQLAlchemyError, OSError):
                log.warning("sweep skipped: database unavailable", exc_info=True)
