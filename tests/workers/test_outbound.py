"""The outbound webhook notifier: what it sends, how it signs, when it asks to be retried."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from storage import tickets as store
from storage.config import Settings
from workers.outbound import DeliveryFailed, OutboundWebhook, from_settings


class Receiver:
    """A fake transport: records each POST and answers the next status in line."""

    def __init__(self, *statuses: int | Exception) -> None:
        self.statuses = list(statuses) or [200]
        self.posts: list[tuple[str, bytes, dict[str, str]]] = []

    async def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.posts.append((url, body, headers))
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if isinstance(status, Exception):
            raise status
        return status


async def ticket_with(db, urgency: float) -> str:
    ticket, _ = await store.create_ticket(db, store.NewTicket(subject="Site down", body="All customers see 500"))
    await store.edit_ticket(db, ticket.id, {"urgency": urgency}, actor="test")
    return ticket.id


async def test_urgent_event_is_posted_signed(db):
    # Given an urgent ticket and a webhook with a secret
    ticket_id = await ticket_with(db, 0.93)
    receiver = Receiver(200)
    hook = OutboundWebhook("https://hooks.example/x", secret="topsecret", db=db, post=receiver)
    # When a state change is told
    await hook.ticket_event(ticket_id, "assigned")
    # Then one JSON POST went out, signed over its exact bytes
    [(url, body, headers)] = receiver.posts
    assert url == "https://hooks.example/x" and headers["Content-Type"] == "application/json"
    expected = "sha256=" + hmac.new(b"topsecret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Signature-256"], expected)
    sent = json.loads(body)
    assert sent["event"] == "assigned" and sent["urgent"] is True
    assert sent["ticket"]["id"] == ticket_id and sent["ticket"]["urgency"] == 0.93
    assert sent["id"].startswith(f"{ticket_id}:")


async def test_scope_urgent_skips_routine_tickets_and_all_sends_them(db):
    ticket_id = await ticket_with(db, 0.2)
    quiet, loud = Receiver(), Receiver()
    await OutboundWebhook("http://h", db=db, post=quiet).ticket_event(ticket_id, "assigned")
    await OutboundWebhook("http://h", db=db, post=loud, scope="all").ticket_event(ticket_id, "assigned")
    assert quiet.posts == [] and len(loud.posts) == 1
    assert "X-Signature-256" not in loud.posts[0][2]  # no secret, no signature


async def test_edits_and_missing_tickets_send_nothing(db):
    ticket_id = await ticket_with(db, 0.95)
    receiver = Receiver()
    hook = OutboundWebhook("http://h", db=db, post=receiver, scope="all")
    await hook.ticket_event(ticket_id, "edited")
    await hook.ticket_event("T-GONE", "assigned")
    assert receiver.posts == []


@pytest.mark.parametrize("answer", [500, 503, 429, 408, ConnectionRefusedError("down"), TimeoutError()])
async def test_failures_raise_so_the_chat_actor_retries(db, answer):
    ticket_id = await ticket_with(db, 0.95)
    hook = OutboundWebhook("http://h", db=db, post=Receiver(answer))
    with pytest.raises(DeliveryFailed):
        await hook.ticket_event(ticket_id, "sla_escalated")


async def test_a_refusal_is_not_retried(db):
    ticket_id = await ticket_with(db, 0.95)
    receiver = Receiver(400)
    await OutboundWebhook("http://h", db=db, post=receiver).ticket_event(ticket_id, "claim")
    assert len(receiver.posts) == 1


def test_from_settings():
    assert from_settings(Settings(_env_file=None)) is None  # type: ignore[call-arg]
    hook = from_settings(Settings(_env_file=None, outbound_webhook_url="http://h?token=abc",  # type: ignore[call-arg]
                                  outbound_webhook_secret="s", outbound_webhook_scope="all"))
    assert hook is not None and hook.scope == "all" and "abc" not in repr(hook) and "'s'" not in repr(hook)
    with pytest.raises(ValueError):
        from_settings(Settings(_env_file=None, outbound_webhook_url="http://h",  # type: ignore[call-arg]
                               outbound_webhook_scope="some"))
