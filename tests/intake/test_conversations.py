"""Streamed transcripts: packets out of order and twice, racing first packets, end -> ticket, late packets."""

from __future__ import annotations

import asyncio

import pytest

from tests.intake.conftest import assert_error, row_counts


def packet(seq: int, speaker: str = "customer", text: str | None = None, **extra):
    return {"seq": seq, "speaker": speaker, "text": text if text is not None else f"line {seq}", **extra}


async def send(app, conv: str, body):
    return await app.client.post(f"/v1/conversations/{conv}/messages", json=body)


async def test_packets_out_of_order_and_twice_make_one_ordered_transcript(app):
    # Given packets arriving out of order, some twice
    order = [
        packet(2, "agent", "Can you tell me the order number?"),
        packet(0, "customer", "Hi, I was charged twice for my order"),
        packet(3, "customer", "It is 4711", ts="2026-11-20T12:00:03Z"),
        packet(1, "agent", "Sorry to hear that"),
        packet(2, "agent", "a different text for a seq already seen"),
        packet(0, "customer", "Hi, I was charged twice for my order"),
    ]
    answers = [await send(app, "chat-1", p) for p in order]
    assert [r.status for r in answers] == [202] * 6
    bodies = [await r.json() for r in answers]
    assert [b["created"] for b in bodies] == [True, False, False, False, False, False]
    assert bodies[4]["duplicates"] == [2] and bodies[4]["accepted"] == []
    assert bodies[-1]["packets"] == 4
    # When the conversation ends (no body needed)
    r = await app.client.post("/v1/conversations/chat-1/end")
    assert r.status == 202, await r.text()
    ticket_id = (await r.json())["ticket_id"]
    # Then its ticket can be read at once, the transcript in seq order, the first text winning a repeat
    r = await app.client.get(f"/v1/tickets/{ticket_id}")
    assert r.status == 200
    ticket = await r.json()
    assert ticket["channel"] == "conversation"
    assert ticket["body"].splitlines() == [
        "customer: Hi, I was charged twice for my order",
        "agent: Sorry to hear that",
        "agent: Can you tell me the order number?",
        "customer: It is 4711",
    ]
    assert ticket["subject"] == "Chat: Hi, I was charged twice for my order"
    assert ticket["metadata"]["conversation"]["packets"] == 4
    assert ticket["metadata"]["conversation"]["missing_seqs"] == []
    # And it is triaged like any ticket
    await app.drain()
    ticket = await (await app.client.get(f"/v1/tickets/{ticket_id}")).json()
    assert ticket["triage"]["category"] == "Billing"
    conversation = await (await app.client.get("/v1/conversations/chat-1")).json()
    assert conversation["status"] == "ticketed" and conversation["ticket_id"] == ticket_id


async def test_five_simultaneous_first_packets_create_one_conversation(app):
    # Given a conversation nobody has seen / When five first packets arrive at the same instant
    answers = await asyncio.gather(*(send(app, "race", packet(seq)) for seq in range(5)))
    # Then all are accepted and exactly one of them created the conversation
    assert [r.status for r in answers] == [202] * 5
    bodies = [await r.json() for r in answers]
    assert sum(b["created"] for b in bodies) == 1
    counts = await row_counts(app)
    assert counts["conversations"] == 1 and counts["conversation_packets"] == 5


async def test_five_simultaneous_copies_of_one_packet_store_it_once(app):
    answers = await asyncio.gather(*(send(app, "same", packet(0)) for _ in range(5)))
    assert [r.status for r in answers] == [202] * 5
    bodies = [await r.json() for r in answers]
    assert sum(b["created"] for b in bodies) == 1
    assert sum(len(b["accepted"]) for b in bodies) == 1
    assert (await row_counts(app))["conversation_packets"] == 1


async def test_packets_after_end_are_refused_and_end_twice_is_the_same_ticket(app):
    await send(app, "done", packet(0, text="my parcel never arrived"))
    first = await app.client.post("/v1/conversations/done/end", json={"kind": "call",
                                                                     "requester": {"id": "c-9", "name": "Ada"}})
    assert first.status == 202
    ticket_id = (await first.json())["ticket_id"]
    await app.drain()
    before = await row_counts(app)
    # When a late packet comes
    r = await send(app, "done", packet(1))
    # Then 409, and nothing is written
    assert r.status == 409
    body = await r.json()
    assert_error(body, "conversation_ended")
    assert body["error"]["details"]["ticket_id"] == ticket_id
    assert await row_counts(app) == before
    # And ending again answers the same ticket with 200
    again = await app.client.post("/v1/conversations/done/end")
    assert again.status == 200 and (await again.json())["ticket_id"] == ticket_id
    ticket = await (await app.client.get(f"/v1/tickets/{ticket_id}")).json()
    assert ticket["subject"].startswith("Call: ") and ticket["requester"]["name"] == "Ada"


async def test_concurrent_ends_make_one_ticket(app):
    await send(app, "twice", [packet(0), packet(1, "agent")])
    answers = await asyncio.gather(*(app.client.post("/v1/conversations/twice/end") for _ in range(3)))
    assert sorted(r.status for r in answers) == [200, 200, 202]
    assert len({(await r.json())["ticket_id"] for r in answers}) == 1
    assert (await row_counts(app))["tickets"] == 1


async def test_a_packet_racing_the_end_is_either_in_the_transcript_or_refused(app):
    await send(app, "edge", packet(0))
    late, ended = await asyncio.gather(send(app, "edge", packet(1, text="last words")),
                                       app.client.post("/v1/conversations/edge/end"))
    ticket = await (await app.client.get(f"/v1/tickets/{(await ended.json())['ticket_id']}")).json()
    if late.status == 202:
        assert "last words" in ticket["body"]
    else:
        assert late.status == 409 and "last words" not in ticket["body"]


async def test_gaps_are_noted(app):
    await send(app, "gappy", [packet(0), packet(3), packet(5)])
    ticket_id = (await (await app.client.post("/v1/conversations/gappy/end")).json())["ticket_id"]
    ticket = await (await app.client.get(f"/v1/tickets/{ticket_id}")).json()
    assert ticket["metadata"]["conversation"]["missing_seqs"] == [1, 2, 4]


BAD = [
    ("post", "/v1/conversations/c/messages", {"json": {"speaker": "a", "text": "no seq"}}, 422, "validation_error"),
    ("post", "/v1/conversations/c/messages", {"json": packet(-1)}, 422, "validation_error"),
    ("post", "/v1/conversations/c/messages", {"json": packet(2**40)}, 422, "validation_error"),
    ("post", "/v1/conversations/c/messages", {"json": {"seq": 1, "speaker": "", "text": "x"}}, 422, "validation_error"),
    ("post", "/v1/conversations/c/messages", {"json": {**packet(1), "extra": True}}, 422, "validation_error"),
    ("post", "/v1/conversations/c/messages", {"json": [packet(1), "nope"]}, 422, "validation_error"),
    ("post", "/v1/conversations/c/messages", {"json": []}, 422, "validation_error"),
    ("post", "/v1/conversations/c/messages", {"json": [packet(i) for i in range(501)]}, 413, "batch_too_large"),
    ("post", "/v1/conversations/c/messages", {"data": b"{bad", "headers": {"Content-Type": "application/json"}},
     400, "malformed_json"),
    ("post", "/v1/conversations/c/messages", {"data": b"seq=1", "headers": {"Content-Type": "text/plain"}},
     415, "unsupported_media_type"),
    ("post", "/v1/conversations/unknown/end", {}, 404, "not_found"),
    ("post", "/v1/conversations/c/end", {"json": {"kind": "fax"}}, 422, "validation_error"),
    ("get", "/v1/conversations/unknown", {}, 404, "not_found"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code"), BAD)
async def test_bad_requests_are_refused_and_write_nothing(app, method, path, kwargs, status, code):
    before = await row_counts(app)
    r = await getattr(app.client, method)(path, **kwargs)
    assert r.status == status, await r.text()
    assert_error(await r.json(), code)
    assert await row_counts(app) == before
