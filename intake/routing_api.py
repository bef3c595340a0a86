"""`POST /v1/route`: triage and route one request inside the request, the outcome in the answer."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field, StringConstraints, field_validator

from intake.http import ApiError, json_response, parse
from intake.schemas import Id, Strict, language_code
from intake.state import services
from storage import tickets as store
from storage.agents import find_customer
from workers.dispatch import dispatch


class RouteIn(Strict):
    subject: str = Field("", max_length=300)
    body: str = Field("", max_length=50_000)
    topics: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=20)
    language: str | None = None
    budget: float | None = Field(None, ge=0)
    sensitivity: bool = False
    sla_min: int | None = Field(None, gt=0, le=60 * 24 * 365)
    user_id: Id | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    _language = field_validator("language")(classmethod(lambda cls, v: language_code(v)))


def answer(status: str, *, ticket_id: str | None = None, agent_id: str | None = None,
           score: float | None = None, current_load: int | None = None,
           reason: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    return {"status": status, "ticket_id": ticket_id, "agent_id": agent_id, "score": score,
            "current_load": current_load, "reason": list(reason)}


def text_of(body: RouteIn) -> tuple[str, str]:
    """Subject and body; a request with neither is described by its topics."""
    described = "Routing request" + (f": {', '.join(body.topics)}" if body.topics else "")
    text = body.body.strip() or body.subject.strip() or described
    subject = body.subject.strip() or text.splitlines()[0][:120]
    return subject, text


async def route(request: web.Request) -> web.Response:
    svc = services(request)
    body = await parse(request, RouteIn)
    customer = await find_customer(svc.runtime.db, body.user_id)
    if body.user_id and customer is None:
        return json_response(answer("user_not_found", reason=[f"no customer with id {body.user_id}"]))
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 255:
        raise ApiError(422, "validation_error", "Idempotency-Key is longer than 255 characters")
    idem = None
    if key:
        idem = store.Idempotency(scope="route", key=key,
                                 fingerprint=hashlib.sha256(await request.read()).hexdigest())
    subject, text = text_of(body)
    new = store.NewTicket(
        subject=subject, body=text, channel="route",
        requester_id=body.user_id,
        requester_name=customer.name if customer else None,
        requester_email=customer.email if customer else None,
        language=body.language or (customer.language if customer else None),
        topics=body.topics, sensitive=body.sensitivity, budget=body.budget, sla_minutes=body.sla_min,
        metadata=body.metadata, actor=body.user_id,
    )
    done = await dispatch(svc.runtime, new, idempotency=idem)
    return json_response(answer(done.status, ticket_id=done.ticket.id, agent_id=done.agent_id,
                                score=done.score, current_load=done.current_load, reason=done.reason))


def register(app: web.Application) -> None:
    app.router.add_post("/v1/route", route)
