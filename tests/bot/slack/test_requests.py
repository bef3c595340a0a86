"""Signed requests: verification, Slack's retries, /ticket's sub-commands, the form, the shortcut, reactions."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlencode

from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification

from bot.slack import views
from bot.slack.ids import BlockId, Callback
from tests.bot.slack.conftest import SECRET, URGENT, Slack, receipt_id, signed


async def count_tickets(slack: Slack) -> int:
    body = await (await slack.app.client.get("/v1/tickets?limit=100")).json()
    return len(body["items"])


async def test_forged_stale_and_unsigned_requests_are_refused(slack: Slack) -> None:
    # Given a slash command body
    body = slack.command_body("printer on fire")

    # When it is signed with another secret, signed six minutes ago, or not signed at all
    forged = await slack.send(body, secret="not-our-secret")
    stale = await slack.send(body, timestamp=int(time.time()) - 6 * 60)
    unsigned = await slack.app.client.post("/slack/events", data=body,
                                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    tampered = await slack.app.client.post("/slack/events", data=body.replace("printer", "scanner"),
                                           headers=signed(body))

    # Then each is a 401 in the API's error shape, and no ticket was filed
    codes = []
    for response in (forged, stale, unsigned, tampered):
        assert response.status == 401
        codes.append((await response.json())["error"]["code"])
    assert codes == ["invalid_signature", "stale_request", "missing_signature", "invalid_signature"]
    assert await count_tickets(slack) == 0


async def test_signed_garbage_is_a_400_and_an_unknown_action_a_404(slack: Slack) -> None:
    # When a correctly signed body carries a payload that is not JSON
    garbage = await slack.send(urlencode({"payload": "{not json"}))
    # And a signed click names an action id we never registered
    unknown = await slack.click("ticket_explode", "T-X", "UANA")

    # Then both answer in the error shape, not a 500
    assert garbage.status == 400 and (await garbage.json())["error"]["code"] == "malformed_body"
    assert unknown.status == 404 and (await unknown.json())["error"]["code"] == "unhandled_request"


async def test_url_verification_answers_the_challenge(slack: Slack) -> None:
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})
    response = await slack.send(body, content_type="application/json")
    assert response.status == 200
    assert (await response.json())["challenge"].startswith("3eZbrw1")


async def test_retried_slash_command_files_one_ticket(slack: Slack) -> None:
    # Given a slash command Slack believes timed out
    body = slack.command_body(URGENT, trigger_id="13345224609.738474920.8088930838d88f008e0")
    first = await slack.send(body)

    # When Slack resends the same body with X-Slack-Retry-Num, once after and twice at the same time
    retry = await slack.send(body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    racing = await asyncio.gather(*(slack.send(body, headers={"X-Slack-Retry-Num": str(n)}) for n in (2, 3)))
    await slack.settle()

    # Then every answer names the same ticket, the repeats say so, and there is one ticket and one card
    ids = {receipt_id((await r.json())["text"]) for r in (first, retry, *racing)}
    assert len(ids) == 1
    assert "already ticket" in (await retry.json())["text"]
    assert await count_tickets(slack) == 1
    assert len(slack.cards(ids.pop())) == 1


async def test_a_slow_commit_acks_at_once_and_the_receipt_follows(slack: Slack) -> None:
    # Given a database slower than the ack budget (here: no budget at all)
    slack.bot.ack_budget = 0.0

    # When someone files a ticket
    response = await slack.command("The export button does nothing", trigger_id="slow-1")
    await slack.settle()

    # Then the ack says it is being filed, and the receipt with the id arrives through the response_url
    assert (await response.json())["text"].startswith("Filing your ticket")
    [late] = [r for r in slack.fake.responses() if r["key"].startswith("command-")]
    assert late["response_type"] == "ephemeral" and "is filed" in late["text"]
    assert (await slack.ticket(receipt_id(late["text"])))["subject"] == "The export button does nothing"
    assert await count_tickets(slack) == 1


async def test_status_queue_and_usage_answer_ephemerally(slack: Slack) -> None:
    # Given one filed ticket that nobody can take (no agents): it waits in the queue
    ticket_id = receipt_id((await (await slack.command("Refund for order 1234 please")).json())["text"])
    await slack.settle()

    # When the requester asks for its status, the queue, and help
    status = await (await slack.command(f"status {ticket_id.lower()}")).json()
    queue = await (await slack.command("queue")).json()
    usage = await (await slack.command("help")).json()
    missing = await (await slack.command("status T-NOPE")).json()

    # Then each answer is ephemeral and says what was asked
    assert {a["response_type"] for a in (status, queue, usage, missing)} == {"ephemeral"}
    assert status["text"].startswith(f"*{ticket_id}* · queued")
    assert "*1 waiting*" in queue["text"] and ticket_id in queue["text"]
    assert "/ticket status <id>" in usage["text"]
    assert missing["text"] == "There is no ticket T-NOPE."
    # And a ticket whose text merely starts with "status" is filed, not looked up
    filed = await (await slack.command("status page shows 500 errors")).json()
    assert "is filed" in filed["text"]


async def test_bare_command_opens_the_form_and_its_submission_files_a_ticket(slack: Slack) -> None:
    # When someone types /ticket alone
    response = await slack.command("", trigger_id="form-trigger", channel="CHELP")
    await slack.settle()

    # Then the ack is empty and the new-ticket modal opens with the command's trigger_id
    assert response.status == 200
    [opened] = slack.fake.of("views.open")
    assert opened["trigger_id"] == "form-trigger" and opened["view"]["callback_id"] == Callback.NEW_TICKET_MODAL
    assert opened["view"]["private_metadata"] == "CHELP"

    # When they submit it (and Slack delivers the submission twice)
    values = {BlockId.SUBJECT: "VPN drops", BlockId.DESCRIPTION: "The VPN drops every ten minutes.",
              BlockId.URGENCY: {"type": "static_select", "selected_option": {"value": "high"}}}
    first = await slack.submit(Callback.NEW_TICKET_MODAL, values, user="UREQ", metadata="CHELP", view_id="VFORM")
    again = await slack.submit(Callback.NEW_TICKET_MODAL, values, user="UREQ", metadata="CHELP", view_id="VFORM")
    await slack.settle()

    # Then the modal closes, one ticket exists with the form's subject and hint, and the receipt is ephemeral
    assert first.status == again.status == 200
    items = (await (await slack.app.client.get("/v1/tickets")).json())["items"]
    assert len(items) == 1
    ticket = await slack.ticket(items[0]["id"])
    assert ticket["subject"] == "VPN drops" and ticket["metadata"]["slack"]["urgency_hint"] == "high"
    receipts = slack.fake.of("chat.postEphemeral")
    assert receipts and all(r["channel"] == "CHELP" and r["user"] == "UREQ" for r in receipts)
    assert items[0]["id"] in receipts[0]["text"]


async def test_slow_modal_submissions_close_at_once_and_finish_after(slack: Slack, monkeypatch) -> None:
    # Given a database slower than a modal may wait (here: no wait at all)
    monkeypatch.setattr(views, "DEADLINE", 0.0)
    await slack.add_agents()

    # When the new-ticket form is submitted
    form = await slack.submit(Callback.NEW_TICKET_MODAL, {BlockId.SUBJECT: "Slow day", BlockId.DESCRIPTION: "It is slow"},
                              user="UREQ", metadata="CHELP")
    await slack.settle()

    # Then the modal closes at once, and the receipt still comes once the ticket is filed
    assert form.status == 200 and await form.text() == ""
    [receipt] = slack.fake.of("chat.postEphemeral")
    ticket_id = receipt_id(receipt["text"])
    assert (await slack.ticket(ticket_id))["subject"] == "Slow day"

    # And a resolve note submitted the same way resolves the ticket after the modal closed
    note = await slack.submit(Callback.RESOLVE_MODAL, {BlockId.NOTE: "sped up"}, user="UANA", metadata=ticket_id)
    await slack.settle()
    assert note.status == 200 and (await slack.ticket(ticket_id))["status"] == "resolved"


async def test_empty_form_is_refused_in_the_modal(slack: Slack) -> None:
    response = await slack.submit(Callback.NEW_TICKET_MODAL, {BlockId.SUBJECT: "", BlockId.DESCRIPTION: ""},
                                  user="UREQ")
    body = await response.json()
    assert body["response_action"] == "errors" and BlockId.DESCRIPTION in body["errors"]
    assert await count_tickets(slack) == 0


def shortcut_payload(slack: Slack, *, key: str) -> dict[str, object]:
    return {"type": "message_action", "callback_id": Callback.FILE_AS_TICKET, "trigger_id": "shortcut-trigger",
            "team": {"id": "T1"}, "user": {"id": "UAGENT", "name": "agent"}, "channel": {"id": "CSUP"},
            "message_ts": "1700000100.000200", "response_url": slack.fake.response_url(key),
            "message": {"type": "message", "user": "UAUTHOR", "ts": "1700000100.000200",
                        "text": "Our invoices show the wrong VAT rate since Monday"}}


async def test_message_shortcut_files_the_message_for_its_author(slack: Slack) -> None:
    slack.fake.users["UAUTHOR"] = {"id": "UAUTHOR", "real_name": "Alma Author", "profile": {"display_name": "alma"}}

    # When an agent uses "File as ticket" on someone's message
    response = await slack.interact(shortcut_payload(slack, key="shortcut"))
    await slack.settle()

    # Then the shortcut is acked, the message is a ticket whose requester is its author, and the filer hears so
    assert response.status == 200
    [told] = slack.fake.responses("shortcut")
    ticket = await slack.ticket(receipt_id(told["text"]))
    assert ticket["body"] == "Our invoices show the wrong VAT rate since Monday"
    assert ticket["requester"] == {"id": "slack:UAUTHOR", "name": "alma", "email": None}
    assert ticket["metadata"]["slack"]["filed_by"] == "UAGENT" and ticket["metadata"]["slack"]["user_id"] == "UAUTHOR"


async def test_ticket_reaction_files_the_message_once(slack: Slack) -> None:
    # Given a message in a channel
    slack.fake.history[("CSUP", "1700000100.000200")] = {
        "type": "message", "user": "UAUTHOR", "ts": "1700000100.000200",
        "text": "Our invoices show the wrong VAT rate since Monday"}
    event = {"type": "reaction_added", "user": "UREACT", "reaction": "ticket", "item_user": "UAUTHOR",
             "item": {"type": "message", "channel": "CSUP", "ts": "1700000100.000200"}, "event_ts": "1700000200.1"}

    # When someone reacts with :ticket:, Slack retries that event, someone else reacts with :eyes:,
    # and an agent also files the same message with the shortcut
    first = await slack.event(event, event_id="Ev01")
    retried = await slack.event(event, event_id="Ev01", retry=1)
    other = await slack.event({**event, "reaction": "eyes"}, event_id="Ev02")
    await slack.settle()
    await slack.interact(shortcut_payload(slack, key="shortcut"))
    await slack.settle()

    # Then all are acked and there is exactly one ticket, requested by the message's author
    assert first.status == retried.status == other.status == 200
    items = (await (await slack.app.client.get("/v1/tickets")).json())["items"]
    assert len(items) == 1
    assert (await slack.ticket(items[0]["id"]))["requester"]["id"] == "slack:UAUTHOR"
    # And the message was fetched with conversations.history, the reactor told once, the shortcut user told it exists
    [fetched] = slack.fake.of("conversations.history")
    assert (fetched["channel"], fetched["latest"]) == ("CSUP", "1700000100.000200")
    [whisper] = slack.fake.of("chat.postEphemeral")
    assert whisper["user"] == "UREACT" and items[0]["id"] in whisper["text"]
    assert "already ticket" in slack.fake.responses("shortcut")[0]["text"]


async def test_signing_secret_is_never_switched_off(slack: Slack) -> None:
    # The bolt app itself verifies too (a second line behind the handler's own check)
    middleware = slack.bot.bolt._async_middleware_list  # noqa: SLF001
    assert any(isinstance(m, AsyncRequestVerification) for m in middleware)
    assert slack.bot.verifier.signing_secret == SECRET
