"""Form webhooks: `POST /v1/webhooks/{source}` (signed JSON or form-encoded) and `GET /v1/webhooks`."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from intake.forms import MISSING, FormSource, as_text, first, load_sources
from intake.http import ApiError, check_storable, decode_json, json_response
from intake.schemas import language_code
from intake.state import SERVICES, services
from intake.tickets import accepted
from storage import tickets as store
from storage.config import environment
from workers import pipeline

JSON_TYPES = ("application/json",)
FORM_TYPE = "application/x-www-form-urlencoded"
LIMITS = {"subject": 300, "body": 50_000, "requester_id": 128, "requester_name": 200,
          "requester_email": 320, "submission_id": 255}


@dataclass
class FormSources:
    """The sources loaded at start (filled once the settings are known)."""

    by_name: dict[str, FormSource] = field(default_factory=dict)


FORMS: web.AppKey[FormSources] = web.AppKey("form_sources", FormSources)


def source_of(request: web.Request) -> FormSource:
    name = request.match_info["source"]
    source = request.app[FORMS].by_name.get(name)
    if source is None or not source.enabled:
        raise ApiError(404, "unknown_source", f"no form source named {name!r}",
                       {"source": name, "known": "GET /v1/webhooks"})
    return source


def verify(source: FormSource, request: web.Request, raw: bytes) -> None:
    """Unsigned or wrongly signed posts are refused; so is every post to a source without a secret."""
    if source.secret is None:
        raise ApiError(403, "source_not_configured",
                       f"form source {source.name!r} has no secret: set {source.secret_env} to accept posts",
                       {"source": source.name, "secret_env": source.secret_env})
    given = request.headers.get(source.signature.header)
    if not given:
        raise ApiError(401, "signature_missing",
                       f"send {source.signature.header}: {source.signature.prefix}<HMAC-SHA256 of the raw body>",
                       {"header": source.signature.header})
    if not source.signature.valid(source.secret, raw, given):
        raise ApiError(401, "bad_signature", "the signature does not match the body",
                       {"header": source.signature.header})


def payload(request: web.Request, raw: bytes) -> dict[str, Any]:
    """The body as a mapping: a JSON object, or form fields (a repeated field becomes a list)."""
    kind = request.content_type
    if kind in JSON_TYPES or kind.endswith("+json"):
        data = decode_json(raw)
        if not isinstance(data, dict):
            raise ApiError(422, "validation_error", "the body must be a JSON object")
        return data
    if kind == FORM_TYPE:
        try:
            fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise ApiError(400, "malformed_form", "the form body is not UTF-8") from exc
        return {name: values[0] if len(values) == 1 else values for name, values in fields.items()}
    raise ApiError(415, "unsupported_media_type", f"send application/json or {FORM_TYPE}",
                   {"content_type": kind})


def mapped(source: FormSource, data: dict[str, Any], raw: bytes) -> tuple[store.NewTicket, str]:
    """The ticket a submission describes and its submission id; 422 naming every missing field."""
    values: dict[str, Any] = {}
    missing = []
    for name, paths in source.fields.items():
        value = first(data, paths)
        if value is MISSING:
            if name in source.required:
                missing.append({"field": name, "paths": list(paths), "message": "not in the submission"})
            continue
        values[name] = value
    if missing:
        raise ApiError(422, "missing_fields", "the submission lacks mapped field(s): "
                       + ", ".join(m["field"] for m in missing), missing)
    text = {name: as_text(value) for name, value in values.items() if name != "topics"}
    for name, limit in LIMITS.items():
        if text.get(name) and len(text[name] or "") > limit:
            if name in ("body", "submission_id"):
                raise ApiError(422, "validation_error", f"{name} is longer than {limit} characters",
                               [{"field": name, "message": "too long"}])
            text[name] = (text[name] or "")[:limit]
    submission_id = text.get("submission_id") or hashlib.sha256(raw).hexdigest()
    try:
        language = language_code(text.get("language"))
    except ValueError:
        language = None  # a free-text answer we cannot read as a language: triage detects it
    topics = values.get("topics")
    topic_list = [t.strip()[:64] for t in (topics if isinstance(topics, list) else str(topics or "").split(","))
                  if isinstance(t, str) and t.strip()][:20]
    extras = {name: first(data, paths) for name, paths in source.metadata.items()}
    metadata = {name: value for name, value in extras.items() if value is not MISSING}
    metadata["form"] = {"source": source.name, "submission_id": submission_id}
    body = text["body"] or ""
    new = store.NewTicket(
        subject=text.get("subject") or body.splitlines()[0][:120],
        body=body,
        channel="webhook",
        requester_id=text.get("requester_id"),
        requester_name=text.get("requester_name"),
        requester_email=text.get("requester_email"),
        language=language,
        topics=topic_list,
        metadata=metadata,
        actor=f"form:{source.name}",
    )
    return new, submission_id


async def receive(request: web.Request) -> web.Response:
    source = source_of(request)
    raw = await request.read()
    verify(source, request, raw)
    data = payload(request, raw)
    check_storable(data)  # a form field can carry %00
    new, submission_id = mapped(source, data, raw)
    ticket, created = await pipeline.accept(
        services(request).runtime, new,
        idempotency=store.Idempotency(scope=f"form:{source.name}", key=submission_id))
    return accepted(request, ticket, created)


async def list_sources(request: web.Request) -> web.Response:
    items = [{"name": s.name, "url": f"/v1/webhooks/{s.name}", "enabled": s.enabled,
              "ready": s.enabled and s.secret is not None, "signature_header": s.signature.header,
              "description": s.description}
             for s in sorted(request.app[FORMS].by_name.values(), key=lambda s: s.name)]
    return json_response({"sources": items})


def register(app: web.Application) -> None:
    holder = FormSources()
    app[FORMS] = holder

    async def load(app: web.Application) -> AsyncIterator[None]:
        settings = app[SERVICES].settings
        holder.by_name = load_sources(settings.form_sources, environment(settings))
        yield

    app.cleanup_ctx.append(load)
    app.router.add_get("/v1/webhooks", list_sources)
    app.router.add_post("/v1/webhooks/{source}", receive)
