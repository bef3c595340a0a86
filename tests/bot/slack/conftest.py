"""Slack fixtures: the fake Web API, the running app with Slack on, and requests signed as Slack signs them."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.slack.app import MOUNT, SlackBot
from storage.db import Database
from storage.migrate import migrate
from tests.conftest import App, _truncate, make_settings, start_app
from tests.fakes.slack_api import FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test"
CHANNEL = "C1"
URGENT = "the site is down for all customers, we are losing money"
AGENTS = {
    "ana": {"name": "Ana", "skills": ["Technical", "Billing"], "languages": ["en"], "capacity": 3,
            "tier": "senior", "slack_user_id": "UANA"},
    "ben": {"name": "Ben", "skills": ["Technical"], "languages": ["en"], "capacity": 3, "slack_user_id": "UBEN"},
}


def signed(body: str, *, secret: str = SECRET, timestamp: int | None = None,
           content_type: str = "application/x-www-form-urlencoded") -> dict[str, str]:
    """The headers Slack sends with `body`: signature over v0:<timestamp>:<body> with the signing secret."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"X-Slack-Request-Timestamp": ts, "Content-Type": content_type,
            "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)}


class Slack:
    """The app with Slack on, the fake Web API behind it, and Slack's side of the conversation."""

    def __init__(self, app: App, fake: FakeSlack) -> None:
        self.app, self.fake = app, fake
        self._n = 0

    @property
    def bot(self) -> SlackBot:
        bot = self.app.client.server.app[MOUNT].bot
        assert bot is not None
        return bot

    def _next(self) -> int:
        self._n += 1
        return self._n

    async def send(self, body: str, *, headers: dict[str, str] | None = None, **sign: Any) -> Any:
        return await self.app.client.post("/slack/events", data=body.encode(), headers={**signed(body, **sign),
                                                                                        **(headers or {})})

    def command_body(self, text: str, *, user: str = "UREQ", trigger_id: str | None = None,
                     channel: str = "CGEN") -> str:
        n = self._next()
        return urlencode({
            "token": "legacy", "team_id": "T1", "team_domain": "acme", "channel_id": channel,
            "channel_name": "general", "user_id": user, "user_name": user.lower(), "command": "/ticket",
            "text": text, "api_app_id": "A1", "is_enterprise_install": "false",
            "response_url": self.fake.response_url(f"command-{n}"), "trigger_id": trigger_id or f"trigger-{n}"})

    async def command(self, text: str, **kwargs: Any) -> Any:
        return await self.send(self.command_body(text, **kwargs))

    async def interact(self, payload: dict[str, Any], **sign: Any) -> Any:
        return await self.send(urlencode({"payload": json.dumps(payload)}), **sign)

    def click_payload(self, action_id: str, ticket_id: str, user: str, *, key: str | None = None) -> dict[str, Any]:
        n = self._next()
        return {
            "type": "block_actions", "team": {"id": "T1", "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T1"},
            "api_app_id": "A1", "token": "legacy", "trigger_id": f"click-trigger-{n}",
            "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": CHANNEL},
            "channel": {"id": CHANNEL, "name": "alerts"},
            "message": {"type": "message", "ts": "1700000000.000001", "text": "card"},
            "response_url": self.fake.response_url(key or f"click-{n}"),
            "actions": [{"type": "button", "action_id": action_id, "block_id": f"actions:{ticket_id}",
                         "value": ticket_id, "action_ts": str(time.time())}],
        }

    async def click(self, action_id: str, ticket_id: str, user: str, *, key: str | None = None) -> Any:
        return await self.interact(self.click_payload(action_id, ticket_id, user, key=key))

    async def submit(self, callback_id: str, values: dict[str, Any], *, user: str, metadata: str = "",
                     view_id: str | None = None) -> Any:
        state = {block: {"value": value if isinstance(value, dict) else {"type": "plain_text_input",
                                                                           "value": value}}
                 for block, value in values.items()}
        return await self.interact({
            "type": "view_submission", "team": {"id": "T1"}, "api_app_id": "A1", "token": "legacy",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T1"},
            "trigger_id": f"view-trigger-{self._next()}",
            "view": {"id": view_id or f"V{self._next()}", "type": "modal", "callback_id": callback_id,
                     "private_metadata": metadata, "state": {"values": state}, "hash": "h"},
        })

    async def event(self, event: dict[str, Any], *, event_id: str, retry: int | None = None) -> Any:
        body = json.dumps({"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                           "event_id": event_id, "event_time": int(time.time()), "event": event,
                           "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}]})
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return await self.send(body, headers=headers, content_type="application/json")

    async def settle(self) -> None:
        """Wait for the work done after acks and for the pipeline (triage, routing, cards) to go idle."""
        for _ in range(3):
            await self.bot.background.wait()
            await self.app.drain()
        await self.bot.background.wait()

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        response = await self.app.client.get(f"/v1/tickets/{ticket_id}")
        assert response.status == 200, await response.text()
        return dict(await response.json())

    async def add_agents(self, agents: dict[str, dict[str, Any]] | None = None) -> None:
        for agent_id, body in (agents or AGENTS).items():
            response = await self.app.client.put(f"/v1/agents/{agent_id}", json=body)
            assert response.status in (200, 201), await response.text()

    def cards(self, ticket_id: str) -> list[dict[str, Any]]:
        """Every card posted about a ticket (each chat.postMessage carrying its actions block)."""
        return [c for c in self.fake.of("chat.postMessage")
                if any(b.get("block_id") == f"actions:{ticket_id}" for b in c.get("blocks") or [])]

    def updates(self, ticket_id: str) -> list[dict[str, Any]]:
        return [c for c in self.fake.of("chat.update")
                if f"{ticket_id} ·" in json.dumps(c.get("blocks") or [], ensure_ascii=False)]


def buttons(message: dict[str, Any]) -> list[str]:
    """The action ids of a card's buttons, in order."""
    return [e["action_id"] for b in message.get("blocks") or [] if b.get("type") == "actions"
            for e in b["elements"]]


def receipt_id(text: str) -> str:
    """The ticket id in a receipt ("Ticket *T-...* is filed")."""
    return text.split("*")[1]


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    yield fake
    await fake.close()


async def start_slack(url: str, fake: FakeSlack, **overrides: Any) -> Slack:
    database = Database(url)
    await migrate(database)
    await _truncate(database)
    await database.dispose()
    values: dict[str, Any] = {"slack_bot_token": TOKEN, "slack_signing_secret": SECRET,
                              "slack_alert_channel": CHANNEL, "slack_api_url": fake.url, "triage_model": "keyword"}
    app = await start_app(make_settings(url, **{**values, **overrides}))
    slack = Slack(app, fake)
    slack.bot.notifier.merge_seconds = 0.05  # the production window is a second; tests need not wait it out
    slack.bot.notifier.pacer.interval = 0.05
    return slack


@pytest.fixture
async def slack(sqlite_url: str, fake_slack: FakeSlack) -> AsyncIterator[Slack]:
    running = await start_slack(sqlite_url, fake_slack)
    yield running
    await running.app.client.close()


@pytest.fixture
async def slack_on(db_url: str, fake_slack: FakeSlack) -> AsyncIterator[Slack]:
    """The same, on SQLite and on PostgreSQL."""
    running = await start_slack(db_url, fake_slack)
    yield running
    await running.app.client.close()
