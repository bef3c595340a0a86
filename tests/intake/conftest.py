"""Intake fixtures beyond the shared ones: an app started with chosen settings and environment."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.migrate import migrate
from storage.models import Conversation, ConversationPacket, IdempotencyKey, Ticket, TicketEvent
from tests.conftest import App, _truncate, make_settings, start_app


@pytest.fixture
async def app_with(db_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callable[..., Awaitable[App]]]:
    """Start the app on a clean database with extra environment variables and settings."""
    started: list[App] = []

    async def start(env: dict[str, str] | None = None, **overrides: Any) -> App:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        database = Database(db_url)
        await migrate(database)
        await _truncate(database)
        await database.dispose()
        running = await start_app(make_settings(db_url, **overrides))
        started.append(running)
        return running

    yield start
    for running in started:
        await running.client.close()


async def row_counts(app: App) -> dict[str, int]:
    """How many rows the tables a rejected request must not touch hold."""
    out = {}
    async with app.services.runtime.db.read() as s:
        for model in (Ticket, TicketEvent, IdempotencyKey, Conversation, ConversationPacket):
            out[model.__tablename__] = int(await s.scalar(select(func.count()).select_from(model)) or 0)
    return out


def assert_error(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"error"}
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "details" in body["error"]
