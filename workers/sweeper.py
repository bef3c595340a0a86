"""Re-ring the doorbell for tickets stuck in a pipeline state (broker down, worker killed)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError

from workers import pipeline
from workers.doorbell import Doorbell
from workers.runtime import Runtime

log = logging.getLogger("switchboard.sweeper")


async def sweep_once(rt: Runtime, doorbell: Doorbell) -> int:
    """Ring once for every stale ticket; how many there were."""
    found = await pipeline.stale(rt)
    for ticket_id, status in found:
        doorbell.ring(ticket_id, status)
    if found:
        log.info("sweeper re-enqueued %d stale ticket(s)", len(found))
    return len(found)


async def run(rt: Runtime, doorbell: Doorbell) -> None:
    """Sweep every `sweep_interval` seconds until cancelled; a database hiccup only skips a round."""
    while True:
        await asyncio.sleep(rt.settings.sweep_interval)
        try:
            await sweep_once(rt, doorbell)
        except (SQLAlchemyError, OSError):
            log.warning("sweep skipped: database unavailable", exc_info=True)
