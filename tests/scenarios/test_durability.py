"""Nothing accepted is lost: tickets accepted while Redis is down, or never enqueued, still get triaged."""

from __future__ import annotations

import asyncio
import time

import dramatiq

from storage import tickets as store
from storage.models import Ticket
from tests.conftest import make_settings, start_app
from workers import broker as brokers


async def wait_for(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_tickets_accepted_while_redis_is_down_are_triaged_when_it_is_back(db_url, private_redis):
    # Given intake in Redis mode (no in-process worker) and Redis then going away
    from storage.db import Database
    from storage.migrate import migrate
    from tests.conftest import _truncate

    database = Database(db_url)
    await migrate(database)
    await _truncate(database)
    await database.dispose()
    broker = brokers.redis_broker(private_redis.url, loop=asyncio.get_running_loop())
    app = await start_app(make_settings(db_url, redis_url=private_redis.url, sweep_after=0.5), broker=broker)
    try:
        private_redis.stop()
        # When tickets arrive during the outage
        responses = [await app.post("/v1/tickets", {"body": f"site is down #{i}"}) for i in range(20)]
        # Then every one is accepted (committed), and readiness says the broker is missing
        assert all(r.status == 202 for r in responses)
        ids = [(await r.json())["id"] for r in responses]
        assert (await app.client.get("/readyz")).status == 503
        await asyncio.sleep(0.3)
        assert {(await store.get_ticket(app.services.runtime.db, i)).status for i in ids} == {"received"}
        # When Redis is back (empty: whatever it held is gone) and a worker runs
        private_redis.start()
        worker = dramatiq.Worker(broker, worker_threads=4, worker_timeout=100)
        worker.start()
        try:
            async def all_routed() -> bool:
                async with app.services.runtime.db.read() as s:
                    rows = [await s.get(Ticket, i, populate_existing=True) for i in ids]
                return all(t.status in ("assigned", "queued") for t in rows)

            # Then the sweeper re-rings and every ticket is triaged and routed, exactly once
            await wait_for(all_routed)
            for ticket_id in ids:
                kinds = [e.type for e in await store.events(app.services.runtime.db, ticket_id)]
                assert kinds.count("triage") == 1 and (kinds.count("queue") + kinds.count("assign")) == 1
            assert (await app.client.get("/readyz")).status == 200
        finally:
            await asyncio.to_thread(worker.stop)
    finally:
        await app.client.close()


async def test_ticket_committed_but_never_enqueued_is_swept(app):
    # Given a ticket committed by a process that died before ringing the doorbell
    ticket, _ = await store.create_ticket(app.services.runtime.db, store.NewTicket(subject="s", body="refund please"))
    # When the sweeper runs (it looks for tickets stuck longer than sweep_after)
    async def routed() -> bool:
        return (await store.get_ticket(app.services.runtime.db, ticket.id)).status in ("assigned", "queued")

    # Then the ticket is triaged and routed anyway
    await wait_for(routed, seconds=15)
