"""Recent activity: `/v1/activity` and its WebSocket live feed, both read from `ticket_events`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSMsgType, web
from sqlalchemy.exc import SQLAlchemyError

from intake.http import json_response, query_int
from intake.schemas import event_json
from intake.state import SERVICES, services
from storage import tickets as store

log = logging.getLogger("switchboard.activity")
POLL_SECONDS = 0.25
# PostgreSQL hands out ids before commit, so a lower id can appear after a higher one: look back.
LOOK_BACK = 500
MAX_EVENT_ID = 2**31 - 1  # ticket_events.id is a 32-bit integer; a larger `after` was a 500 on PostgreSQL


class Hub:
    """Polls new events while anyone listens and fans them out; works across processes via the DB."""

    def __init__(self) -> None:
        self.listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self._seen: deque[int] = deque(maxlen=4 * LOOK_BACK)
        self._seen_set: set[int] = set()
        self.last_id = 0
        self.started = False  # False: the next poll only notes where "now" is

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self.listeners.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.listeners.discard(queue)

    def _remember(self, event_id: int) -> bool:
        if event_id in self._seen_set:
            return False
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(event_id)
        self._seen_set.add(event_id)
        return True

    async def poll_once(self, app: web.Application) -> None:
        db = app[SERVICES].runtime.db
        if not self.started:
            latest = await store.recent_events(db, limit=1)
            self.last_id = latest[-1].id if latest else 0
            for event in latest:
                self._remember(event.id)
            self.started = True
            return
        rows = await store.recent_events(db, after_id=max(self.last_id - LOOK_BACK, 0) or -1, limit=1000)
        for row in rows:
            if not self._remember(row.id):
                continue
            self.last_id = max(self.last_id, row.id)
            item = event_json(row)
            for queue in list(self.listeners):
                with contextlib.suppress(asyncio.QueueFull):  # a stuck reader loses events, not the hub
                    queue.put_nowait(item)

    async def run(self, app: web.Application) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if not self.listeners:
                self.started = False
                continue
            try:
                await self.poll_once(app)
            except SQLAlchemyError:
                log.warning("activity poll skipped: database unavailable")


HUB: web.AppKey[Hub] = web.AppKey("activity_hub", Hub)


async def hub_context(app: web.Application) -> AsyncIterator[None]:
    hub = Hub()
    app[HUB] = hub
    task = asyncio.create_task(hub.run(app), name="activity-hub")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def recent(request: web.Request) -> web.Response:
    rows = await store.recent_events(services(request).runtime.db,
                                     after_id=query_int(request, "after", default=0, lo=0, hi=MAX_EVENT_ID),
                                     limit=query_int(request, "limit", default=100, lo=1, hi=1000))
    return json_response({"events": [event_json(e) for e in rows]})


async def stream(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    hub = request.app[HUB]
    queue = hub.subscribe()

    async def pump() -> None:
        while True:
            await ws.send_json(await queue.get())

    sender = asyncio.create_task(pump())
    try:
        async for message in ws:
            if message.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    finally:
        sender.cancel()
        hub.unsubscribe(queue)
    return ws


def register(app: web.Application) -> None:
    app.router.add_get("/v1/activity", recent)
    app.router.add_get("/v1/activity/stream", stream)
