"""Fixtures: SQLite and real PostgreSQL databases, Redis, and the running intake app."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from storage.config import Settings
from storage.db import Database
from storage.migrate import migrate
from storage.models import Base
from workers import broker as brokers
from workers.notify import RecordingNotifier

PG_DSN = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = bool(os.environ.get("CI"))


def unavailable(what: str, exc: BaseException) -> None:
    """Skip on a laptop without the service; under CI a missing service is a failure."""
    message = f"{what} is not reachable: {exc}"
    if IN_CI:
        pytest.fail(message + " (CI must run against the real server)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database with the schema applied, dropped at the end."""
    name = f"sb_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(PG_DSN, timeout=5)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(PG_DSN, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    try:
        asyncio.run(create())
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"

    async def prepare() -> None:
        db = Database(url)
        await migrate(db)
        await db.dispose()

    asyncio.run(prepare())
    yield url
    asyncio.run(drop())


async def _truncate(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with db.write() as session:
        if db.is_sqlite:
            for table in tables:
                await session.execute(text(f"DELETE FROM {table}"))
        else:
            await session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """Each storage-level test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/switchboard.db"
    return request.getfixturevalue("pg_database")


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/switchboard.db"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await migrate(database)
    await _truncate(database)
    yield database
    await database.dispose()


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


def make_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "agents_file": None,
        "sweep_interval": 0.2,
        "sweep_after": 1.0,
        "triage_model": "keyword",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class App:
    """A running intake app for a test: its HTTP client, notifications, and a way to wait."""

    def __init__(self, client: TestClient, notifier: RecordingNotifier) -> None:
        self.client = client
        self.notifier = notifier

    @property
    def services(self) -> Any:
        from intake.state import SERVICES

        return self.client.server.app[SERVICES]

    async def drain(self, limit: float = 30.0) -> None:
        """Wait until the doorbell and every broker queue are empty (the pipeline is idle)."""
        svc = self.services
        for _ in range(50):
            await asyncio.sleep(0.02)
            if not svc.doorbell._pending.empty():
                continue
            await asyncio.to_thread(brokers.join, svc.broker, timeout=limit)
            await asyncio.sleep(0.02)
            if svc.doorbell._pending.empty() and not any(q.unfinished_tasks for q in svc.broker.queues.values()):
                return

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return await self.client.post(path, json=body, **kwargs)


async def start_app(settings: Settings, **kwargs: Any) -> App:
    from intake.app import create_app

    notifier = RecordingNotifier()
    app = create_app(settings, notifiers=[notifier], **kwargs)
    client = TestClient(TestServer(app))
    await client.start_server()
    return App(client, notifier)


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[App]:
    """The whole intake app in embedded mode (in-process worker), on SQLite and on PostgreSQL."""
    database = Database(db_url)
    await migrate(database)
    await _truncate(database)
    await database.dispose()
    running = await start_app(make_settings(db_url))
    yield running
    await running.client.close()


AGENTS = {
    "ana": {"name": "Ana", "skills": ["Billing", "Account"], "languages": ["en", "es"], "capacity": 2,
            "tier": "senior", "clearance": True},
    "ben": {"name": "Ben", "skills": ["Technical"], "languages": ["en", "de"], "capacity": 2, "tier": "junior"},
}


async def add_agents(app: App, agents: dict[str, dict[str, Any]] | None = None) -> None:
    for agent_id, body in (agents or AGENTS).items():
        response = await app.client.put(f"/v1/agents/{agent_id}", json=body)
        assert response.status in (200, 201), await response.text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own on a spare port, so the test can stop and restart it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server on a spare port, to stop and restart at will (never the shared one on 6379)."""
    server = PrivateRedis(free_port())
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        unavailable("redis-server", exc)
    yield server
    server.stop()
