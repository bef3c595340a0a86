"""Discord fixtures: a fake REST API, a signing key, the app wired to both, and signed interaction requests."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from nacl.signing import SigningKey

from bot.discord.interactions import ENDPOINT
from storage.db import Database
from storage.migrate import migrate
from tests.conftest import App, _truncate, make_settings, start_app
from tests.fakes.discord_api import APP_ID, BOT_TOKEN, FakeDiscord

# Discord ids are snowflakes (discord.py parses them as integers)
ANA_ID, BEN_ID, REQ_ID = "810000000000000001", "810000000000000002", "810000000000000003"
STRANGER_ID, LEE_ID, AUTHOR_ID = "810000000000000004", "810000000000000005", "810000000000000006"
GUILD_ID, CHAT_ID = "800000000000000001", "800000000000000002"
URGENT = "the site is down for all customers, we are losing money"
ANA = {"name": "Ana", "skills": ["Technical", "Billing"], "languages": ["en"], "capacity": 3, "tier": "senior",
       "discord_user_id": ANA_ID}
BEN = {"name": "Ben", "skills": ["Technical"], "languages": ["en"], "capacity": 3, "tier": "junior",
       "discord_user_id": BEN_ID}
_ids = itertools.count(1_200_000_000_000_000_001)


def next_id() -> str:
    return str(next(_ids))


def user(user_id: str, name: str | None = None) -> dict[str, Any]:
    return {"id": user_id, "username": name or f"user{user_id[-2:]}", "global_name": name, "discriminator": "0",
            "avatar": None, "public_flags": 0}


def interaction(kind: int, data: dict[str, Any] | None = None, *, user_id: str = REQ_ID, **extra: Any) -> dict[str, Any]:
    """An interaction payload as Discord sends it from a guild channel."""
    payload: dict[str, Any] = {"id": next_id(), "application_id": APP_ID, "type": kind, "token": f"tok-{next_id()}",
                               "version": 1, "guild_id": GUILD_ID, "channel_id": CHAT_ID,
                               "member": {"user": user(user_id), "roles": [], "permissions": "0",
                                          "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False, "mute": False, "flags": 0},
                               "channel": {"id": CHAT_ID, "type": 0, "guild_id": GUILD_ID, "name": "support",
                                           "position": 0, "permission_overwrites": [], "nsfw": False,
                                           "parent_id": None},
                               "attachment_size_limit": 10_485_760, "app_permissions": "0", "entitlements": [],
                               "authorizing_integration_owners": {"0": GUILD_ID}, "context": 0, "locale": "en-US",
                               "guild_locale": "en-US"}
    if data is not None:
        payload["data"] = data
    payload.update(extra)
    return payload


def slash(name: str, user_id: str = REQ_ID, **options: Any) -> dict[str, Any]:
    data = {"id": "cmd1", "name": name, "type": 1,
            "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()]}
    return interaction(2, data, user_id=user_id)


def click(custom_id: str, user_id: str, message_id: str = "1100000000000000999") -> dict[str, Any]:
    return interaction(3, {"custom_id": custom_id, "component_type": 2}, user_id=user_id,
                       message={"id": message_id, "channel_id": "C1"})


def modal_submit(custom_id: str, values: dict[str, str], user_id: str, **extra: Any) -> dict[str, Any]:
    rows = [{"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()]
    return interaction(5, {"custom_id": custom_id, "components": rows}, user_id=user_id, **extra)


class Discord:
    """Signs requests exactly as Discord does: Ed25519 over timestamp + raw body, hex in the headers."""

    def __init__(self, app: App, key: SigningKey, fake: FakeDiscord) -> None:
        self.app, self.key, self.fake = app, key, fake

    def headers(self, body: bytes, *, timestamp: str | None = None) -> dict[str, str]:
        stamp = timestamp or str(int(time.time()))
        signature = self.key.sign(stamp.encode() + body).signature.hex()
        return {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp, "Content-Type": "application/json"}

    async def send_raw(self, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        response = await self.app.client.post("/discord/interactions", data=body, headers=headers)
        return response.status, await response.json()

    async def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload).encode()
        status, answer = await self.send_raw(body, self.headers(body))
        assert status == 200, answer
        return answer  # type: ignore[no-any-return]

    async def agent(self, agent_id: str, body: dict[str, Any]) -> None:
        response = await self.app.client.put(f"/v1/agents/{agent_id}", json=body)
        assert response.status in (200, 201), await response.text()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord().start()
    yield server
    await server.close()


def discord_settings(url: str, fake: FakeDiscord, key: SigningKey, **overrides: Any) -> Any:
    values: dict[str, Any] = {"discord_public_key": key.verify_key.encode().hex(), "discord_application_id": "app1",
                              "discord_bot_token": BOT_TOKEN, "discord_alert_channel_id": "C1",
                              "discord_api_url": fake.url, "triage_model": "keyword"}
    values.update(overrides)
    return make_settings(url, **values)


@pytest.fixture
async def start_discord(fake: FakeDiscord) -> AsyncIterator[Callable[..., Awaitable[Discord]]]:
    """Start the app with Discord on (a fresh key pair) on the given database URL."""
    started: list[App] = []

    async def start(url: str, **overrides: Any) -> Discord:
        database = Database(url)
        await migrate(database)
        await _truncate(database)
        await database.dispose()
        key = SigningKey.generate()
        running = await start_app(discord_settings(url, fake, key, **overrides))
        started.append(running)
        if ENDPOINT in running.client.server.app:
            # A shared 2-core machine can stall a handler past the 2 s deferral deadline; tests that
            # are not about deferring want the direct answer (the deferral tests set 0).
            running.client.server.app[ENDPOINT].deadline = 30.0
        return Discord(running, key, fake)

    yield start
    for running in started:
        await running.client.close()


@pytest.fixture
async def dc(start_discord: Callable[..., Awaitable[Discord]], sqlite_url: str) -> Discord:
    return await start_discord(sqlite_url)
