"""The outbound webhook: ticket events POSTed as signed JSON to OUTBOUND_WEBHOOK_URL (Teams, PagerDuty, ...).

A `Notifier`, so it runs inside the `chat` queue's actor: a failed delivery (network error, 5xx,
408, 429) raises, and Dramatiq retries the message with backoff; the pipeline never waits on it.
A 4xx other than those will not get better by retrying and is only logged. Each delivery carries
an id built from the ticket's version, so a receiver can drop the repeats a retry may bring.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from storage import tickets as store
from storage.config import Settings
from storage.db import Database
from storage.errors import NotFound
from storage.models import Ticket, utcnow
from workers.runtime import current

log = logging.getLogger("switchboard.outbound")

Post = Callable[[str, bytes, dict[str, str]], Awaitable[int]]
QUIET_KINDS = frozenset({"edited"})  # not a state change: no delivery
RETRY_STATUSES = frozenset({408, 425, 429})


class DeliveryFailed(Exception):
    """Raised when the receiver could not take an event now; the chat actor retries it."""


async def aiohttp_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST with a short timeout; the status code (the receiver's body is not read)."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session, \
            session.post(url, data=body, headers=headers) as response:
        return response.status


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(ticket: Ticket, kind: str, *, urgent: bool) -> dict[str, Any]:
    return {
        "id": f"{ticket.id}:{ticket.version}:{kind}",
        "event": kind,
        "ts": utcnow().isoformat(),
        "urgent": urgent,
        "ticket": {
            "id": ticket.id,
            "status": ticket.status,
            "subject": ticket.subject,
            "category": ticket.category,
            "urgency": ticket.urgency,
            "urgency_label": ticket.urgency_label,
            "signals": list(ticket.signals or []),
            "assignee": ticket.assignee_id,
            "requester": {"id": ticket.requester_id, "name": ticket.requester_name},
            "channel": ticket.channel,
            "due_at": ticket.due_at.isoformat() if ticket.due_at else None,
            "url": f"/v1/tickets/{ticket.id}",
        },
    }


class OutboundWebhook:
    """Delivers urgent tickets' events (scope "urgent") or every ticket's (scope "all")."""

    def __init__(self, url: str, *, secret: str | None = None, scope: str = "urgent", threshold: float = 0.8,
                 db: Database | None = None, post: Post = aiohttp_post) -> None:
        if scope not in ("urgent", "all"):
            raise ValueError(f"OUTBOUND_WEBHOOK_SCOPE must be urgent or all, not {scope!r}")
        self.url, self.scope, self.threshold = url, scope, threshold
        self._secret, self._db, self._post = secret, db, post

    def __repr__(self) -> str:  # never the secret
        return f"OutboundWebhook({self.url.split('?')[0]!r}, scope={self.scope!r})"

    async def ticket_event(self, ticket_id: str, kind: str) -> None:
        if kind in QUIET_KINDS:
            return
        try:
            ticket = await store.get_ticket(self._db or current().db, ticket_id)
        except NotFound:
            return
        urgent = (ticket.urgency or 0.0) > self.threshold
        if self.scope == "urgent" and not urgent:
            return
        body = json.dumps(payload(ticket, kind, urgent=urgent)).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Switchboard-Webhook/1",
                   "X-Switchboard-Event": kind}
        if self._secret:
            headers["X-Signature-256"] = sign(self._secret, body)
        try:
            status = await self._post(self.url, body, headers)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryFailed(f"outbound webhook unreachable: {exc.__class__.__name__}") from exc
        if status >= 500 or status in RETRY_STATUSES:
            raise DeliveryFailed(f"outbound webhook answered {status}")
        if status >= 400:
            log.warning("outbound webhook refused %s/%s with %d; not retried", ticket_id, kind, status)


def from_settings(settings: Settings, *, db: Database | None = None) -> OutboundWebhook | None:
    """The outbound notifier when OUTBOUND_WEBHOOK_URL is set."""
    if not settings.outbound_webhook_url:
        return None
    secret = settings.outbound_webhook_secret.get_secret_value() if settings.outbound_webhook_secret else None
    return OutboundWebhook(settings.outbound_webhook_url, secret=secret, scope=settings.outbound_webhook_scope,
                           threshold=settings.alert_threshold, db=db)
