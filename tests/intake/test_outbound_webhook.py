"""The outbound webhook end to end: a failing receiver is retried with backoff, the pipeline never waits."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import add_agents


async def test_urgent_ticket_reaches_a_receiver_that_first_fails(app_with):
    # Given a receiver that answers 503 once, then 200
    seen: list[tuple[bytes, str]] = []
    answers = [503]

    async def receive(request: web.Request) -> web.Response:
        seen.append((await request.read(), request.headers.get("X-Signature-256", "")))
        return web.Response(status=answers.pop(0) if answers else 200)

    receiver = web.Application()
    receiver.router.add_post("/hook", receive)
    server = TestServer(receiver)
    await server.start_server()
    try:
        app = await app_with(outbound_webhook_url=str(server.make_url("/hook")), outbound_webhook_secret="k")
        await add_agents(app)
        # When an urgent ticket comes in
        r = await app.post("/v1/tickets", {"body": "URGENT: outage, the site is down for all customers, "
                                                   "we are losing money", "language": "en"})
        ticket_id = (await r.json())["id"]
        # Then the pipeline routes it without waiting for the receiver
        await app.drain()
        ticket = await (await app.client.get(f"/v1/tickets/{ticket_id}")).json()
        assert ticket["triage"]["urgency"] > 0.8 and ticket["status"] in ("assigned", "queued")
        # And the event arrives after a retry, signed
        for _ in range(100):
            if len(seen) >= 2:
                break
            await asyncio.sleep(0.1)
        assert len(seen) >= 2
        body, signature = seen[-1]
        assert signature == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
        event = json.loads(body)
        assert event["ticket"]["id"] == ticket_id and event["urgent"] is True
        assert event["event"] in ("assigned", "queued")
    finally:
        await server.close()
