"""SLA timers over HTTP: `POST /v1/tickets/{id}/snooze` holds a ticket's reminders for a while."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from pydantic import Field

from intake.http import json_response, parse
from intake.schemas import Id, Strict, ticket_json
from intake.state import services
from storage import sla as timers
from storage.models import utcnow


class SnoozeIn(Strict):
    minutes: int = Field(..., ge=1, le=7 * 24 * 60)
    agent_id: Id | None = None


async def snooze(request: web.Request) -> web.Response:
    body = await parse(request, SnoozeIn)
    now = utcnow()
    ticket = await timers.snooze(services(request).runtime.db, request.match_info["id"],
                                 until=now + timedelta(minutes=body.minutes), actor=body.agent_id, now=now)
    return json_response(ticket_json(ticket))


def register(app: web.Application) -> None:
    app.router.add_post("/v1/tickets/{id}/snooze", snooze)
