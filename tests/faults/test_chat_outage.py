"""A chat platform answering 500 and 429 for a while: deliveries are retried and each lands once."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import add_agents, make_settings, start_app
from tests.fakes.slack_api import FakeSlack
from tests.scenarios.test_durability import wait_for


class FlakyPlatform:
    """A chat endpoint that answers 500 and 429 (Retry-After: 1) in turn for `outage` seconds from its first call."""

    def __init__(self, outage: float) -> None:
        self.outage = outage
        self.until: float | None = None
        self.refused: Counter[int] = Counter()
        self.delivered: Counter[str] = Counter()  # delivery id -> times accepted
        self.server: TestServer | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self._receive)
        self.server = TestServer(app)
        await self.server.start_server()
        return str(self.server.make_url("/hook"))

    async def _receive(self, request: web.Request) -> web.Response:
        event = json.loads(await request.read())
        if self.until is None:
            self.until = time.monotonic() + self.outage
        if time.monotonic() < self.until:
            status = 429 if sum(self.refused.values()) % 2 else 500
            self.refused[status] += 1
            return web.Response(status=status, headers={"Retry-After": "1"} if status == 429 else None)
        self.delivered[event["id"]] += 1
        return web.Response(status=200)


async def test_deliveries_refused_for_a_while_are_retried_and_each_lands_once(sqlite_url):
    # Given a chat platform that refuses everything (500, then 429, ...) for 2 seconds from the first call
    platform = FlakyPlatform(outage=2.0)
    url = await platform.start()
    app = await start_app(make_settings(sqlite_url, outbound_webhook_url=url, outbound_webhook_scope="all"))
    try:
        await add_agents(app)
        # When ten tickets are routed during the outage
        batch = [{"body": f"I was charged twice for order {i}, refund please"} for i in range(10)]
        ids = [a["id"] for a in (await (await app.post("/v1/tickets/batch", batch)).json())["accepted"]]

        async def all_heard() -> bool:
            return len(platform.delivered) >= len(ids)

        # Then the pipeline does not wait for the platform: every ticket is routed
        await app.drain(limit=60)
        # And every delivery lands after the outage, each exactly once
        await wait_for(all_heard, seconds=60)
        await asyncio.sleep(1.0)  # room for a duplicate to show up
        assert platform.refused[500] >= 1 and platform.refused[429] >= 1
        assert set(platform.delivered.values()) == {1}
        assert {d.split(":")[0] for d in platform.delivered} == set(ids)
        # And the other notifier heard each routing exactly once (a failing one is retried alone)
        routed = Counter(t for t, kind in app.notifier.calls if kind in ("assigned", "queued"))
        assert set(routed) == set(ids) and set(routed.values()) == {1}
    finally:
        await app.client.close()
        assert platform.server is not None
        await platform.server.close()


async def test_slack_answering_500_and_429_for_a_while_still_gets_one_card_per_urgent_ticket(sqlite_url):
    # Given Slack on, with its Web API refusing the next card posts: 429 (Retry-After: 1) four times, then 500 four times
    slack = await FakeSlack().start()
    slack.rate_limit["chat.postMessage"] = 4
    slack.fail["chat.postMessage"] = 4
    app = await start_app(make_settings(sqlite_url, slack_bot_token="xoxb-test", slack_signing_secret="s3cret-sign",
                                        slack_alert_channel="CALERTS", slack_api_url=slack.url))
    try:
        await add_agents(app)
        # When five urgent tickets are routed during the trouble
        batch = [{"body": f"URGENT: outage, the site is down for all customers, we are losing money ({i})"}
                 for i in range(5)]
        ids = [a["id"] for a in (await (await app.post("/v1/tickets/batch", batch)).json())["accepted"]]

        def cards() -> Counter[str]:
            return Counter(c["channel"] + ":" + c["text"].split("ticket ")[1].split(":")[0]
                           for c in slack.of("chat.postMessage") if c.get("channel") == "CALERTS"
                           and not c.get("thread_ts"))

        async def all_carded() -> bool:
            return len(cards()) == len(ids)

        # Then every urgent ticket gets its card once the API answers again, and none twice
        await wait_for(all_carded, seconds=90)
        await app.drain(limit=60)
        await asyncio.sleep(1.0)
        assert slack.rate_limit["chat.postMessage"] == 0 and slack.fail["chat.postMessage"] == 0
        assert {key.split(":")[1] for key in cards()} == set(ids)
        assert set(cards().values()) == {1}
    finally:
        await app.client.close()
        await slack.close()
