"""HTTP interactions end to end: signed requests through the app, Discord's REST API faked."""

from __future__ import annotations

import asyncio
import json
import time

from sqlalchemy import func, select

from storage.models import Ticket, TicketEvent
from tests.bot.discord.conftest import (
    ANA,
    ANA_ID,
    APP_ID,
    AUTHOR_ID,
    CHAT_ID,
    REQ_ID,
    STRANGER_ID,
    URGENT,
    Discord,
    click,
    interaction,
    modal_submit,
    slash,
)


async def ticket_count(dc: Discord) -> int:
    async with dc.app.services.runtime.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)


async def get_ticket(dc: Discord, ticket_id: str) -> Ticket:
    async with dc.app.services.runtime.db.read() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


def ticket_id_of(answer: dict) -> str:
    content = answer["data"]["content"]
    return content.split("**")[1]


def labels(components: list[dict]) -> list[str]:
    return [b["label"] for row in components for b in row["components"]]


async def file_urgent(dc: Discord) -> tuple[str, dict]:
    """An agent with a Discord id, an urgent /ticket, and the alert card it led to (with its message id)."""
    await dc.agent("ana", ANA)
    answer = await dc.send(slash("ticket", text=URGENT))
    ticket_id = ticket_id_of(answer)
    await dc.app.drain()
    posts = [c for c in dc.fake.of("create_message") if c.params["channel"] == "C1"]
    assert len(posts) == 1, dc.fake.calls
    card_id = next(m["id"] for m in dc.fake.messages.values() if m["channel_id"] == "C1")
    return ticket_id, {**posts[0].json, "id": card_id}


async def test_ping_gets_pong(dc):
    # Given a signed PING, as Discord sends when the endpoint URL is saved
    # When it arrives
    answer = await dc.send({"id": "1", "type": 1, "application_id": "app1", "token": "t", "version": 1})
    # Then the answer is PONG
    assert answer == {"type": 1}


async def test_bad_missing_and_stale_signatures_are_refused_before_parsing(dc):
    # Given a body signed by another key, an unsigned one, a stale one and a garbage body with a bad signature
    body = json.dumps({"id": "1", "type": 1}).encode()
    forged = dict(dc.headers(body))
    forged["X-Signature-Ed25519"] = "00" * 64
    stale = dc.headers(body, timestamp=str(int(time.time()) - 3600))
    tampered = dc.headers(body)
    # When each is sent
    results = [await dc.send_raw(body, forged), await dc.send_raw(body, {"Content-Type": "application/json"}),
               await dc.send_raw(body, stale), await dc.send_raw(b"not json{", tampered),
               await dc.send_raw(body + b" ", tampered)]
    # Then every one is 401 with the JSON error shape
    for status, answer in results:
        assert status == 401
        assert answer["error"]["code"] == "invalid_signature"


async def test_signed_but_malformed_payloads_are_400(dc):
    # Given validly signed bodies that are not interactions
    for body in (b"not json", b"[1, 2]", json.dumps({"type": 2, "id": "5"}).encode()):
        # When each is sent
        status, answer = await dc.send_raw(body, dc.headers(body))
        # Then it is a 400 with the error shape, never a 500
        assert status == 400, answer
        assert answer["error"]["code"] == "bad_request"


async def test_ticket_text_creates_a_ticket_with_an_ephemeral_receipt(dc):
    # Given a /ticket with text
    # When it is sent
    answer = await dc.send(slash("ticket", text="printer on floor 3 is jammed"))
    # Then the answer is an ephemeral message naming the new ticket
    assert answer["type"] == 4 and answer["data"]["flags"] == 64
    ticket = await get_ticket(dc, ticket_id_of(answer))
    assert ticket.channel == "discord" and ticket.requester_id == f"discord:{REQ_ID}"
    assert ticket.meta["discord"]["user_id"] == REQ_ID


async def test_ticket_alone_opens_the_form_and_its_submit_files_a_ticket(dc):
    # Given /ticket with no text
    answer = await dc.send(slash("ticket"))
    # Then a modal (type 9) with subject and body fields comes back
    assert answer["type"] == 9 and answer["data"]["custom_id"] == "ticket-new"
    # When the form is submitted
    receipt = await dc.send(modal_submit("ticket-new", {"subject": "VPN", "body": "VPN drops every hour"}, REQ_ID))
    # Then the ticket exists with that subject and body
    ticket = await get_ticket(dc, ticket_id_of(receipt))
    assert (ticket.subject, ticket.body) == ("VPN", "VPN drops every hour")


async def test_urgent_ticket_alert_claim_click_updates_the_card(dc):
    # Given an urgent ticket filed with /ticket and an agent with a Discord id
    ticket_id, card = await file_urgent(dc)
    # Then its alert embed carries Claim and Resolve buttons with ticket:<action>:<id> ids
    ids = [b["custom_id"] for row in card["components"] for b in row["components"]]
    assert ids == [f"ticket:claim:{ticket_id}", f"ticket:resolve:{ticket_id}"]
    assert ticket_id in card["embeds"][0]["title"] and card["allowed_mentions"] == {"parse": []}
    # When the agent presses Claim
    answer = await dc.send(click(f"ticket:claim:{ticket_id}", ANA_ID, card["id"]))
    # Then the message is updated in place with the claimed card, and the ticket is claimed by Ana
    assert answer["type"] == 7
    assert labels(answer["data"]["components"]) == ["Complete", "Resolve", "Release"]
    assert "Claimed by" in json.dumps(answer["data"]["embeds"])
    ticket = await get_ticket(dc, ticket_id)
    assert (ticket.status, ticket.assignee_id) == ("claimed", "ana")
    # And the requester hears about it by DM
    await dc.app.drain()
    dms = [c for c in dc.fake.of("create_message") if c.params["channel"] == f"dm-{REQ_ID}"]
    assert len(dms) == 1 and "Ana" in dms[0].json["content"]


async def test_non_agents_are_refused(dc):
    # Given an urgent ticket and its card
    ticket_id, _ = await file_urgent(dc)
    # When someone who is not an agent presses Claim
    answer = await dc.send(click(f"ticket:claim:{ticket_id}", STRANGER_ID))
    # Then they get an ephemeral refusal and nothing changed
    assert answer["type"] == 4 and answer["data"]["flags"] == 64
    assert "registered agents" in answer["data"]["content"]
    assert (await get_ticket(dc, ticket_id)).status == "assigned"


async def test_repeated_interaction_id_has_one_effect_and_the_same_answer(dc):
    # Given one /ticket interaction
    payload = slash("ticket", text="printer on floor 3 is jammed")
    # When Discord (or a replay) sends it three times, two of them at once
    first = await dc.send(payload)
    again = await asyncio.gather(dc.send(payload), dc.send(payload))
    # Then there is one ticket, and each repeat got the first answer
    assert await ticket_count(dc) == 1
    assert again[0] == first and again[1] == first


async def test_repeated_click_claims_once(dc):
    # Given an urgent ticket and Ana's Claim click
    ticket_id, _ = await file_urgent(dc)
    payload = click(f"ticket:claim:{ticket_id}", ANA_ID)
    # When the same click interaction arrives twice
    first = await dc.send(payload)
    second = await dc.send(payload)
    # Then one claim event was written and both answers are the same update
    assert first == second and first["type"] == 7
    async with dc.app.services.runtime.db.read() as session:
        claims = await session.scalar(select(func.count()).select_from(TicketEvent)
                                      .where(TicketEvent.ticket_id == ticket_id, TicketEvent.type == "claim"))
    assert claims == 1


async def test_resolve_opens_a_note_modal_and_its_submit_resolves(dc):
    # Given a ticket Ana claimed
    ticket_id, card = await file_urgent(dc)
    await dc.send(click(f"ticket:claim:{ticket_id}", ANA_ID, card["id"]))
    # When she presses Resolve
    modal = await dc.send(click(f"ticket:resolve:{ticket_id}", ANA_ID))
    # Then a note modal opens
    assert modal["type"] == 9 and modal["data"]["custom_id"] == f"ticket-note:{ticket_id}"
    # When she submits it with a note (from the card's message)
    answer = await dc.send(modal_submit(f"ticket-note:{ticket_id}", {"note": "restarted the cache"}, ANA_ID,
                                        message={"id": card["id"], "channel_id": "C1"}))
    # Then the card is updated to resolved with only Reopen, and the note is on the resolve event
    assert answer["type"] == 7 and labels(answer["data"]["components"]) == ["Reopen"]
    assert (await get_ticket(dc, ticket_id)).status == "resolved"
    await dc.app.drain()
    dms = [c.json["content"] for c in dc.fake.of("create_message") if c.params["channel"] == f"dm-{REQ_ID}"]
    assert any("resolved" in text and "restarted the cache" in text for text in dms)


async def test_status_queue_and_file_as_ticket(dc):
    # Given a ticket filed from a chat message by another user ("File as ticket")
    message = {"id": "777", "channel_id": CHAT_ID, "content": "Billing page shows the wrong VAT",
               "author": {"id": AUTHOR_ID, "username": "carol", "global_name": "Carol"}}
    filed = await dc.send(interaction(2, {"id": "cmd4", "name": "File as ticket", "type": 3, "target_id": "777",
                                          "resolved": {"messages": {"777": message}}}))
    ticket_id = ticket_id_of(filed)
    ticket = await get_ticket(dc, ticket_id)
    assert (ticket.requester_id, ticket.requester_name) == (f"discord:{AUTHOR_ID}", "Carol")
    assert ticket.meta["discord"]["filed_by"] == REQ_ID
    await dc.app.drain()
    # When someone asks for its status and for the queue
    status = await dc.send(slash("ticket-status", id=ticket_id.lower()))
    queue = await dc.send(slash("ticket-queue"))
    # Then both answer ephemerally: the status as the card's embed, the queue as a list
    assert status["data"]["flags"] == 64 and ticket_id in status["data"]["embeds"][0]["title"]
    assert queue["data"]["flags"] == 64 and "waiting" in queue["data"]["embeds"][0]["title"]


async def test_slow_handler_defers_and_follows_up_through_the_webhook(dc):
    # Given an endpoint whose deadline has already passed when a handler starts (as if the database were slow)
    from bot.discord.interactions import ENDPOINT

    dc.app.client.server.app[ENDPOINT].deadline = 0.0
    payload = slash("ticket", text="printer on floor 3 is jammed")
    # When /ticket is sent
    answer = await dc.send(payload)
    # Then Discord gets a deferred ephemeral answer (type 5) at once...
    assert answer == {"type": 5, "data": {"flags": 64}}
    # ...and the receipt follows through the interaction webhook (POST /webhooks/{app_id}/{token})
    for _ in range(100):
        if dc.fake.of("followup"):
            break
        await asyncio.sleep(0.02)
    [followup] = dc.fake.of("followup")
    assert followup.params == {"app": APP_ID, "token": payload["token"]}
    assert "created" in followup.json["content"] and followup.json["flags"] == 64
    assert await ticket_count(dc) == 1


async def test_a_repeat_while_the_first_is_in_flight_says_still_working(dc, monkeypatch):
    # Given a handler that is still busy with the first delivery of an interaction
    from bot.discord import dispatch

    release = asyncio.Event()
    real = dispatch.respond

    async def slow(rt, payload):
        await release.wait()
        return await real(rt, payload)

    monkeypatch.setattr(dispatch, "respond", slow)
    payload = slash("ticket", text="printer on floor 3 is jammed")
    first = asyncio.create_task(dc.send(payload))
    await asyncio.sleep(0.2)
    # When the same interaction id arrives again meanwhile
    repeat = await dc.send(payload)
    # Then the repeat is told to wait, ephemerally, and runs nothing
    assert repeat["type"] == 4 and repeat["data"]["flags"] == 64 and "Still working" in repeat["data"]["content"]
    release.set()
    answer = await first
    # And afterwards the first answer is what a repeat gets; one ticket in all
    assert "created" in answer["data"]["content"]
    assert await dc.send(payload) == answer
    assert await ticket_count(dc) == 1


async def test_a_slow_click_defers_the_update_and_edits_the_card_through_the_webhook(dc):
    # Given an urgent ticket's card and an endpoint whose deadline has passed when a handler starts
    from bot.discord.interactions import ENDPOINT

    ticket_id, card = await file_urgent(dc)
    dc.app.client.server.app[ENDPOINT].deadline = 0.0
    payload = click(f"ticket:claim:{ticket_id}", ANA_ID, card["id"])
    # When Ana presses Claim
    answer = await dc.send(payload)
    # Then Discord gets a deferred update (type 6) at once, and the card is edited through the webhook
    assert answer == {"type": 6}
    for _ in range(100):
        if dc.fake.of("edit_original"):
            break
        await asyncio.sleep(0.02)
    [edit] = dc.fake.of("edit_original")
    assert edit.params == {"app": APP_ID, "token": payload["token"], "message": "@original"}
    assert labels(edit.json["components"]) == ["Complete", "Resolve", "Release"]
    assert (await get_ticket(dc, ticket_id)).status == "claimed"


async def test_without_a_public_key_the_endpoint_is_not_mounted(start_discord, sqlite_url):
    # Given Discord configured without DISCORD_PUBLIC_KEY
    dc = await start_discord(sqlite_url, discord_public_key=None)
    # When something posts to the interactions URL
    response = await dc.app.client.post("/discord/interactions", data=b"{}")
    # Then there is no such endpoint (JSON 404), and nothing is read as an interaction
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"
