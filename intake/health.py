"""Liveness, readiness (database, broker, model) and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from intake.http import json_response
from intake.state import Services, services
from storage import tickets as store
from storage.states import TicketStatus
from workers.broker import QUEUES
from workers.metrics import BROKER_MESSAGES, TICKETS

FALLBACKS = Gauge("switchboard_triage_fallbacks", "Triage calls answered by the keyword baseline after a model error")
DOORBELL_FAILURES = Gauge("switchboard_broker_send_failures", "Messages the broker refused (the sweeper recovers them)")


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    svc = services(request)
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(svc.runtime.db.ping(), timeout=2)
        checks["database"] = "ok"
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        checks["database"] = f"unavailable: {exc.__class__.__name__}"
    if svc.settings.embedded:
        checks["broker"] = "ok (in-process)"
    else:
        client = getattr(svc.broker, "client", None)
        try:
            await asyncio.wait_for(asyncio.to_thread(client.ping), timeout=2)  # type: ignore[union-attr]
            checks["broker"] = "ok"
        except Exception as exc:  # any failure to reach Redis means not ready; the reason is reported
            checks["broker"] = f"unavailable: {exc.__class__.__name__}"
    triage = svc.runtime.triage
    checks["model"] = "fallback (keyword baseline)" if triage.degraded else f"ok ({triage.model_name})"
    ready = checks["database"] == "ok" and checks["broker"].startswith("ok")
    return json_response({"status": "ready" if ready else "not_ready", "checks": checks},
                         status=200 if ready else 503)


DEPTH_STATUSES = [str(s) for s in (TicketStatus.RECEIVED, TicketStatus.TRIAGED, TicketStatus.QUEUED,
                                    TicketStatus.ASSIGNED, TicketStatus.CLAIMED)]


async def _queue_depth(svc: Services) -> None:
    """Refresh the depth gauges; while the database or broker is away the last figures stay (readyz says why)."""
    try:
        counts = await asyncio.wait_for(store.count_by_status(svc.runtime.db, DEPTH_STATUSES), timeout=2)
    except (SQLAlchemyError, OSError, TimeoutError):
        pass
    else:
        for status, n in counts.items():
            TICKETS.labels(status).set(n)
    client = getattr(svc.broker, "client", None)
    if svc.settings.embedded or client is None:
        sizes: dict[str, int] = {}
        for name, pending in svc.broker.queues.items():  # "ml" and its delay queue "ml.DQ" count together
            queue = name.removesuffix(".DQ")
            sizes[queue] = sizes.get(queue, 0) + int(getattr(pending, "unfinished_tasks", 0))
        for queue, n in sizes.items():
            BROKER_MESSAGES.labels(queue).set(n)
        return
    try:
        sizes = await asyncio.wait_for(asyncio.to_thread(_redis_sizes, client), timeout=2)
    except (RedisError, OSError, TimeoutError):
        return
    for queue, n in sizes.items():
        BROKER_MESSAGES.labels(queue).set(n)


def _redis_sizes(client: Any) -> dict[str, int]:
    """Messages per queue, waiting or in progress, delayed ones included (Dramatiq keeps each in `.msgs`)."""
    pipe = client.pipeline(transaction=False)
    for queue in QUEUES:
        pipe.hlen(f"dramatiq:{queue}.msgs")
        pipe.hlen(f"dramatiq:{queue}.DQ.msgs")
    counts = pipe.execute()
    return {queue: int(counts[2 * i]) + int(counts[2 * i + 1]) for i, queue in enumerate(QUEUES)}


async def metrics(request: web.Request) -> web.Response:
    svc = services(request)
    FALLBACKS.set(svc.runtime.triage.fallback_count)
    DOORBELL_FAILURES.set(svc.doorbell.failures)
    await _queue_depth(svc)
    response = web.Response(body=generate_latest(REGISTRY))
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


def register(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
