"""Ticket endpoints: create (idempotent), batch, read, list, edit, lifecycle actions, queue, triage."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from intake.http import ApiError, _validation_details, json_response, parse, query_float, query_int, read_json
from intake.schemas import ActionIn, AgentRef, TicketIn, TicketPatch, TriageIn, event_json, ticket_json
from intake.state import services
from ml import TriageRequest, urgency_label
from storage import tickets as store
from storage.states import Action, TicketStatus
from workers import pipeline

BATCH_LIMIT = 500
STATUSES = {str(s) for s in TicketStatus}


def new_ticket(body: TicketIn, *, channel: str = "api", actor: str | None = None) -> store.NewTicket:
    requester = body.requester
    subject = body.subject or body.body.strip().splitlines()[0][:120]
    return store.NewTicket(
        subject=subject,
        body=body.body,
        channel=channel,
        requester_id=requester.id if requester else None,
        requester_name=requester.name if requester else None,
        requester_email=requester.email if requester else None,
        language=body.language,
        topics=body.topics,
        sensitive=body.sensitive,
        budget=body.budget,
        sla_minutes=body.sla_minutes,
        metadata=body.metadata,
        actor=actor or (requester.id if requester else None),
    )


def accepted(request: web.Request, ticket: Any, created: bool) -> web.Response:
    body = {"id": ticket.id, "status": ticket.status, "status_url": f"/v1/tickets/{ticket.id}"}
    return json_response(body, status=202 if created else 200,
                         headers={"Location": f"/v1/tickets/{ticket.id}"})


async def create(request: web.Request) -> web.Response:
    svc = services(request)
    body = await parse(request, TicketIn)
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 255:
        raise ApiError(422, "validation_error", "Idempotency-Key is longer than 255 characters")
    idem = None
    if key:
        fingerprint = hashlib.sha256(await request.read()).hexdigest()
        idem = store.Idempotency(scope="api", key=key, fingerprint=fingerprint)
    ticket, created = await pipeline.accept(svc.runtime, new_ticket(body), idempotency=idem)
    return accepted(request, ticket, created)


async def create_batch(request: web.Request) -> web.Response:
    svc = services(request)
    data = await read_json(request)
    if not isinstance(data, list):
        raise ApiError(422, "validation_error", "the body must be a JSON array of tickets")
    if not data:
        raise ApiError(422, "validation_error", "the batch is empty")
    if len(data) > BATCH_LIMIT:
        raise ApiError(413, "batch_too_large", f"at most {BATCH_LIMIT} tickets per batch",
                       {"limit": BATCH_LIMIT, "given": len(data)})
    good: list[tuple[int, store.NewTicket]] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(data):
        try:
            if not isinstance(item, dict):
                raise ApiError(422, "validation_error", "each item must be a JSON object")
            good.append((index, new_ticket(TicketIn.model_validate(item))))
        except ValidationError as exc:
            rejected.append({"index": index, "error": {"code": "validation_error", "message": "not valid",
                                                       "details": _validation_details(exc)}})
        except ApiError as exc:
            rejected.append({"index": index, "error": {"code": exc.code, "message": exc.message,
                                                       "details": exc.details}})
    created = await store.create_many(svc.runtime.db, [t for _, t in good]) if good else []
    for ticket in created:
        svc.runtime.ring(ticket.id)
    accepted_items = [{"index": index, "id": t.id, "status": t.status}
                      for (index, _), t in zip(good, created, strict=True)]
    return json_response({"accepted": accepted_items, "rejected": rejected}, status=202)


async def get(request: web.Request) -> web.Response:
    ticket = await store.get_ticket(services(request).runtime.db, request.match_info["id"])
    return json_response(ticket_json(ticket))


async def list_(request: web.Request) -> web.Response:
    statuses = [s for s in request.query.get("status", "").split(",") if s]
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise ApiError(422, "validation_error", f"unknown status {unknown[0]!r}",
                       [{"field": "status", "message": f"one of {', '.join(sorted(STATUSES))}"}])
    items, cursor = await store.list_tickets(
        services(request).runtime.db,
        statuses=statuses or None,
        category=request.query.get("category") or None,
        assignee=request.query.get("assignee") or None,
        min_urgency=query_float(request, "min_urgency", lo=0.0, hi=1.0),
        q=request.query.get("q") or None,
        limit=query_int(request, "limit", default=50, lo=1, hi=200),
        cursor=request.query.get("cursor") or None,
    )
    return json_response({"items": [ticket_json(t) for t in items], "next_cursor": cursor})


async def patch(request: web.Request) -> web.Response:
    svc = services(request)
    body = await parse(request, TicketPatch)
    changes = body.model_dump(exclude_unset=True, exclude={"agent_id"})
    if not changes:
        raise ApiError(422, "validation_error", "nothing to change: send category, urgency, tags or reply_draft")
    derived = {"urgency_label": urgency_label(changes["urgency"])} if "urgency" in changes else None
    ticket = await store.edit_ticket(svc.runtime.db, request.match_info["id"], changes,
                                     actor=body.agent_id, derived=derived)
    svc.runtime.notify(ticket.id, "edited")
    return json_response(ticket_json(ticket))


def action_handler(action: Action) -> Any:
    async def handler(request: web.Request) -> web.Response:
        body = await parse(request, ActionIn)
        ticket = await pipeline.perform(services(request).runtime, request.match_info["id"], action,
                                        agent_id=body.agent_id, note=body.note)
        return json_response(ticket_json(ticket))

    handler.__name__ = f"{action}_ticket"
    return handler


async def events(request: web.Request) -> web.Response:
    rows = await store.events(services(request).runtime.db, request.match_info["id"])
    return json_response({"events": [event_json(e) for e in rows]})


async def queue(request: web.Request) -> web.Response:
    size, items = await store.waiting(services(request).runtime.db,
                                      limit=query_int(request, "limit", default=100, lo=1, hi=500))
    return json_response({"size": size, "items": [ticket_json(t) for t in items]})


async def queue_next(request: web.Request) -> web.Response:
    svc = services(request)
    body = await parse(request, AgentRef)
    ticket = await pipeline.pull_next(svc.runtime, body.agent_id)
    if ticket is None:
        return web.Response(status=204)
    svc.runtime.notify(ticket.id, "claim")
    return json_response(ticket_json(ticket))


async def triage(request: web.Request) -> web.Response:
    body = await parse(request, TriageIn)
    result = await services(request).runtime.triage.triage(
        TriageRequest(text=body.text, vip=body.vip, language=body.language))
    return json_response(result.as_dict())


def register(app: web.Application) -> None:
    app.router.add_post("/v1/tickets", create)
    app.router.add_post("/v1/tickets/batch", create_batch)
    app.router.add_get("/v1/tickets", list_)
    app.router.add_get("/v1/tickets/{id}", get)
    app.router.add_patch("/v1/tickets/{id}", patch)
    app.router.add_get("/v1/tickets/{id}/events", events)
    for action in (Action.CLAIM, Action.COMPLETE, Action.RESOLVE, Action.REOPEN):
        app.router.add_post(f"/v1/tickets/{{id}}/{action}", action_handler(action))
    app.router.add_get("/v1/queue", queue)
    app.router.add_post("/v1/queue/next", queue_next)
    app.router.add_post("/v1/triage", triage)
