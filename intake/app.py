"""The aiohttp application factory: wires storage, workers, ML and the chat adapters together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import dramatiq
import yaml
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from bot import discord, slack
from intake import (
    activity,
    conversations,
    dashboard,
    directory,
    docs,
    health,
    routing_api,
    tickets,
    timers,
    webhooks,
)
from intake.http import auth_middleware, error_middleware, metrics_middleware
from intake.schemas import AgentIn
from intake.state import SERVICES, Services
from ml import TriageService, load_service
from storage.agents import count_agents, put_agents
from storage.batching import GroupCommitter
from storage.config import Settings
from storage.db import Database
from storage.migrate import migrate
from workers import broker as brokers
from workers import escalation, outbound, sweeper
from workers.doorbell import Doorbell
from workers.notify import LogNotifier, Notifier
from workers.runtime import Runtime, install

log = logging.getLogger("switchboard.intake")
DEMO_AGENTS = Path(__file__).with_name("demo_agents.yaml")


class DatabaseUnavailable(RuntimeError):
    """DATABASE_URL cannot be reached or used at start (refused, unknown database, wrong password)."""


class AgentsFileError(ValueError):
    """AGENTS_FILE cannot be loaded; the message names every bad entry."""


def read_roster(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(id, fields) of every agent in a roster file, each checked as `PUT /v1/agents/{id}` checks it."""
    try:
        entries = yaml.safe_load(path.read_text()) or []
    except OSError as exc:
        raise AgentsFileError(f"AGENTS_FILE {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise AgentsFileError(f"AGENTS_FILE {path}: not valid YAML ({exc})") from None
    if not isinstance(entries, list):
        raise AgentsFileError(f"AGENTS_FILE {path}: must be a list of agents (- id: alice, name: ..., skills: [...])")
    roster: list[tuple[str, dict[str, Any]]] = []
    errors, seen = [], set()
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or entry.get("id") in (None, ""):
            errors.append(f"agent {n}: needs an id")
            continue
        fields = {k: v for k, v in entry.items() if k != "id"}
        agent_id = str(entry["id"])
        if agent_id in seen:
            errors.append(f"agent {n}: id {agent_id!r} appears twice")
        seen.add(agent_id)
        try:
            roster.append((agent_id, AgentIn.model_validate(fields).model_dump()))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors())
            errors.append(f"agent {n} ({agent_id}): {problems}")
    if errors:
        raise AgentsFileError(f"AGENTS_FILE {path}: {len(errors)} bad agent(s)\n  " + "\n  ".join(errors))
    return roster


async def load_agents(db: Database, source: str | None) -> int:
    """Load the roster from AGENTS_FILE (or the demo one) when no agent exists yet: all of it, or none."""
    if not source or await count_agents(db) > 0:
        return 0
    path = DEMO_AGENTS if source == "demo" else Path(source)
    roster = read_roster(path)
    await put_agents(db, roster)
    log.info("loaded %d agents from %s", len(roster), path)
    return len(roster)


def create_app(
    settings: Settings,
    *,
    triage: TriageService | None = None,
    notifiers: list[Notifier] | None = None,
    broker: dramatiq.Broker | None = None,
    start_worker: bool = True,
    run_sweeper: bool = True,
) -> web.Application:
    """Build the app; resources start in `cleanup_ctx` so tests and `python -m intake` share one path."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[metrics_middleware, error_middleware, auth_middleware(settings)],
    )

    async def resources(app: web.Application) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        try:
            await migrate(db)
        except (OSError, SQLAlchemyError) as exc:
            await db.dispose()
            where = settings.database_url.split("@")[-1]  # no credentials in the message
            raise DatabaseUnavailable(f"the database {where} cannot be used: {exc}") from exc
        await load_agents(db, settings.agents_file)
        service = triage or await asyncio.to_thread(load_service, **settings.triage_options)
        runtime = Runtime(settings=settings, db=db, triage=service,
                          notifiers=notifiers if notifiers is not None else [LogNotifier()])
        if (webhook := outbound.from_settings(settings, db=db)) is not None:
            runtime.notifiers.append(webhook)
        install(runtime)
        loop = asyncio.get_running_loop()
        chosen = broker or (brokers.redis_broker(settings.redis_url) if settings.redis_url
                            else brokers.memory_broker(loop))
        brokers.use(chosen)
        worker = None
        if start_worker and settings.embedded:
            # A short poll keeps shutdown quick; an idle poll of the in-memory queue costs nothing.
            worker = dramatiq.Worker(chosen, worker_threads=8, worker_timeout=100)
            worker.start()
        doorbell = Doorbell(in_thread=not settings.embedded)
        doorbell.start()
        runtime.doorbell = doorbell
        committer = GroupCommitter(db, on_loop=settings.embedded)  # the only writer: no thread hop
        committer.start()
        runtime.committer = committer
        db.background_gate = committer.lull  # the pipeline, sweeper and SLA clock write in intake's lulls
        svc = Services(settings=settings, runtime=runtime, doorbell=doorbell, broker=chosen, worker=worker)
        app[SERVICES] = svc
        sweep_task = asyncio.create_task(sweeper.run(runtime, doorbell)) if run_sweeper else None
        sla_task = escalation.start(runtime) if run_sweeper else None
        try:
            yield
        finally:
            if sweep_task is not None:
                sweep_task.cancel()
            if sla_task is not None:
                sla_task.cancel()
            db.background_gate = None
            await committer.stop()
            await doorbell.stop()
            if worker is not None:
                await asyncio.to_thread(worker.stop)
            await service.close()
            await db.dispose()
            install(None)

    app.cleanup_ctx.append(resources)
    app.cleanup_ctx.append(activity.hub_context)
    # After `resources`: their own contexts may use workers.runtime.current() and add notifiers.
    slack.install(app, settings)
    discord.install(app, settings)
    tickets.register(app)
    directory.register(app)
    activity.register(app)
    health.register(app)
    webhooks.register(app)
    conversations.register(app)
    routing_api.register(app)
    timers.register(app)
    docs.register(app)
    dashboard.register(app)
    return app

