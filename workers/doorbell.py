"""Ring the broker after a commit without making the request wait on, or fail with, the broker."""

from __future__ import annotations

import asyncio
import logging

import dramatiq
from dramatiq.errors import DramatiqError
from redis.exceptions import RedisError

from storage.states import TicketStatus
from workers import actors

log = logging.getLogger("switchboard.doorbell")
BROKER_ERRORS = (DramatiqError, RedisError, OSError)


CHUNK = 100  # ids per message


def _actor_for(status: str) -> dramatiq.Actor | None:
    if status == TicketStatus.RECEIVED:
        return actors.triage_tickets
    if status == TicketStatus.TRIAGED:
        return actors.route_tickets
    return None


class Doorbell:
    """Queues (ticket id, stage) pairs and sends them to the broker from a background task.

    A send that fails is only logged: the ticket is committed, and the sweeper rings again.
    """

    def __init__(self, *, in_thread: bool) -> None:
        self._pending: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._in_thread = in_thread  # the Redis client blocks; the in-memory broker does not
        self._task: asyncio.Task[None] | None = None
        self.failures = 0

    def ring(self, ticket_id: str, status: str = TicketStatus.RECEIVED) -> None:
        self._pending.put_nowait((ticket_id, status))

    def ring_now(self, actor: dramatiq.Actor, *args: str) -> None:
        """Send one message straight away (small, rare messages such as notifications)."""
        try:
            actor.send(*args)
        except BROKER_ERRORS:
            self.failures += 1
            log.warning("broker unreachable; %s%r not sent", actor.actor_name, args)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="doorbell")

    async def stop(self) -> None:
        if self._task is not None:
            await self._drain_once()
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            first = await self._pending.get()
            batch = [first]
            while not self._pending.empty() and len(batch) < 500:
                batch.append(self._pending.get_nowait())
            await self._send(batch)

    async def _drain_once(self) -> None:
        batch = []
        while not self._pending.empty():
            batch.append(self._pending.get_nowait())
        if batch:
            await self._send(batch)

    async def _send(self, batch: list[tuple[str, str]]) -> None:
        if self._in_thread:
            await asyncio.to_thread(self._send_sync, batch)
        else:
            self._send_sync(batch)

    def _send_sync(self, batch: list[tuple[str, str]]) -> None:
        by_stage: dict[str, list[str]] = {}
        for ticket_id, status in batch:
            by_stage.setdefault(status, []).append(ticket_id)
        for status, ids in by_stage.items():
            actor = _actor_for(status)
            if actor is None:
                continue
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start:start + CHUNK]
                try:
                    actor.send(chunk)
                except BROKER_ERRORS:
                    self.failures += 1
                    log.warning("broker unreachable; %d ticket(s) wait for the sweeper", len(chunk))
