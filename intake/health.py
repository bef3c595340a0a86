"""Liveness, readiness (database, broker, model) and Prometheus metrics."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from intake.state import services

FALLBACKS = Gauge("switchboard_triage_fallbacks", "Triage calls answered by the keyword baseline after a model error")
DOORBELL_FAILURES = Gauge("switchboard_broker_send_failures", "Messages the broker refused (the sweeper recovers them)")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


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
    return web.json_response({"status": "ready" if ready else "not_ready", "checks": checks},
                             status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    svc = services(request)
    FALLBACKS.set(svc.runtime.triage.fallback_count)
    DOORBELL_FAILURES.set(svc.doorbell.failures)
    response = web.Response(body=generate_latest(REGISTRY))
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


def register(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
