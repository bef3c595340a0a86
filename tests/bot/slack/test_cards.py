"""Scenario: /ticket -> urgent ticket -> one card -> signed clicks edit it in place, under races and 429s."""

from __future__ import annotations

import asyncio

from bot.slack.ids import ActionId, BlockId, Callback
from tests.bot.slack.conftest import CHANNEL, URGENT, Slack, buttons, receipt_id


async def file_urgent(slack: Slack, text: str = URGENT) -> str:
    response = await slack.command(text)
    assert response.status == 200, await response.text()
    ticket_id = receipt_id((await response.json())["text"])
    await slack.settle()
    return ticket_id


async def test_slash_command_card_and_claim_click(slack: Slack) -> None:
    # Given two agents with Slack users
    await slack.add_agents()

    # When a requester files an urgent ticket with /ticket
    response = await slack.command(URGENT)

    # Then the ack is the ephemeral receipt naming the ticket, and the ticket is committed
    assert response.status == 200
    receipt = (await response.json())["text"]
    ticket_id = receipt_id(receipt)
    assert ticket_id.startswith("T-") and "/ticket status" in receipt
    await slack.settle()
    ticket = await slack.ticket(ticket_id)
    assert ticket["channel"] == "slack" and ticket["triage"]["urgency"] > 0.8

    # And exactly one card is posted to the alert channel, offering Claim and Resolve
    cards = slack.cards(ticket_id)
    assert len(cards) == 1
    assert cards[0]["channel"] == CHANNEL
    assert buttons(cards[0]) == [ActionId.CLAIM, ActionId.RESOLVE]
    text = str(cards[0]["blocks"])
    assert "outage" in text and "*Requester*\\nureq" in text and "Ana (suggested)" in text

    # When Ben clicks Claim on it
    click = await slack.click(ActionId.CLAIM, ticket_id, "UBEN")
    await slack.settle()

    # Then the click was acked at once, Ben holds the ticket and the same card was edited in place
    assert click.status == 200
    ticket = await slack.ticket(ticket_id)
    assert ticket["status"] == "claimed" and ticket["assignee"] == "ben"
    updates = slack.updates(ticket_id)
    assert updates and all((u["channel"], u["ts"]) == (CHANNEL, cards[0]["_ts"]) for u in updates)
    assert buttons(updates[-1]) == [ActionId.COMPLETE, ActionId.RESOLVE, ActionId.RELEASE]
    assert "Ben (claimed)" in str(updates[-1]["blocks"]) and "<@UBEN>" not in str(updates[-1]["blocks"])
    assert len(slack.cards(ticket_id)) == 1

    # And the requester is told by DM who picked it up
    dms = [m for m in slack.fake.of("chat.postMessage") if m["channel"] == "DUREQ"]
    assert len(dms) == 1 and "picked up by Ben" in dms[0]["text"]


async def test_double_click_is_one_claim_and_one_card(slack: Slack) -> None:
    # Given an urgent ticket with its card
    await slack.add_agents()
    ticket_id = await file_urgent(slack)

    # When Ana double-clicks Claim
    first, second = await asyncio.gather(slack.click(ActionId.CLAIM, ticket_id, "UANA", key="a1"),
                                         slack.click(ActionId.CLAIM, ticket_id, "UANA", key="a2"))
    await slack.settle()

    # Then both are acked, Ana holds it, one of the clicks is told why it did nothing, and there is still one card
    assert first.status == second.status == 200
    assert (await slack.ticket(ticket_id))["assignee"] == "ana"
    told = slack.fake.responses("a1") + slack.fake.responses("a2")
    assert len(told) == 1 and told[0]["response_type"] == "ephemeral" and "Ana" in told[0]["text"]
    assert len(slack.cards(ticket_id)) == 1


async def test_two_agents_claim_at_once_one_wins(slack_on: Slack) -> None:
    slack = slack_on
    # Given an urgent ticket with its card, on SQLite and on PostgreSQL
    await slack.add_agents()
    ticket_id = await file_urgent(slack)

    # When Ana and Ben click Claim at the same moment
    await asyncio.gather(slack.click(ActionId.CLAIM, ticket_id, "UANA", key="ana"),
                         slack.click(ActionId.CLAIM, ticket_id, "UBEN", key="ben"))
    await slack.settle()

    # Then exactly one of them holds it, and the other gets an ephemeral naming the holder
    ticket = await slack.ticket(ticket_id)
    winner = ticket["assignee"]
    loser = "ben" if winner == "ana" else "ana"
    assert ticket["status"] == "claimed" and slack.fake.responses(winner) == []
    lost = slack.fake.responses(loser)
    assert len(lost) == 1 and lost[0]["response_type"] == "ephemeral" and lost[0]["replace_original"] is False
    assert lost[0]["text"] == f"{ticket_id} is already claimed by {winner.title()}."

    # And the single card shows the winner with the claimed buttons
    assert len(slack.cards(ticket_id)) == 1
    last = slack.updates(ticket_id)[-1]
    assert f"{winner.title()} (claimed)" in str(last["blocks"])
    assert buttons(last) == [ActionId.COMPLETE, ActionId.RESOLVE, ActionId.RELEASE]


async def test_click_by_someone_who_is_not_an_agent_is_refused(slack: Slack) -> None:
    # Given an urgent ticket with its card
    await slack.add_agents()
    ticket_id = await file_urgent(slack)
    before = await slack.ticket(ticket_id)

    # When a Slack user who is not in the agent directory clicks Claim, and Resolve
    await slack.click(ActionId.CLAIM, ticket_id, "UNOBODY", key="claim")
    await slack.click(ActionId.RESOLVE, ticket_id, "UNOBODY", key="resolve")
    await slack.settle()

    # Then nothing changes, no modal opens, and each click is told politely why
    after = await slack.ticket(ticket_id)
    assert (after["status"], after["assignee"]) == (before["status"], before["assignee"])
    assert slack.fake.of("views.open") == []
    for key in ("claim", "resolve"):
        [told] = slack.fake.responses(key)
        assert "Only registered agents" in told["text"] and told["response_type"] == "ephemeral"


async def test_complete_by_someone_else_names_the_holder(slack: Slack) -> None:
    # Given a ticket Ana claimed
    await slack.add_agents()
    ticket_id = await file_urgent(slack)
    await slack.click(ActionId.CLAIM, ticket_id, "UANA")
    await slack.settle()

    # When Ben clicks Complete
    await slack.click(ActionId.COMPLETE, ticket_id, "UBEN", key="ben")
    await slack.settle()

    # Then it stays Ana's and Ben hears who holds it
    assert (await slack.ticket(ticket_id))["status"] == "claimed"
    assert slack.fake.responses("ben")[0]["text"] == f"{ticket_id} is held by Ana; only they can do that."


async def test_resolve_opens_note_modal_then_resolves_and_tells_requester(slack: Slack) -> None:
    # Given a claimed urgent ticket
    await slack.add_agents()
    ticket_id = await file_urgent(slack)
    await slack.click(ActionId.CLAIM, ticket_id, "UANA")
    await slack.settle()

    # When Ana clicks Resolve
    await slack.click(ActionId.RESOLVE, ticket_id, "UANA")
    await slack.settle()

    # Then the note modal opens for this ticket (views.open with the click's trigger_id)
    [opened] = slack.fake.of("views.open")
    assert opened["trigger_id"].startswith("click-trigger-")
    assert opened["view"]["callback_id"] == Callback.RESOLVE_MODAL and opened["view"]["private_metadata"] == ticket_id

    # When she submits it with a note
    response = await slack.submit(Callback.RESOLVE_MODAL, {BlockId.NOTE: "Restarted the load balancer."},
                                  user="UANA", metadata=ticket_id)
    await slack.settle()

    # Then the modal closes, the ticket is resolved with the note, the card offers Reopen only,
    # and the requester gets a DM with the note
    assert response.status == 200 and await response.text() == ""
    ticket = await slack.ticket(ticket_id)
    assert ticket["status"] == "resolved"
    events = (await (await slack.app.client.get(f"/v1/tickets/{ticket_id}/events")).json())["events"]
    [resolved] = [e for e in events if e["type"] == "resolve"]
    assert resolved["data"]["note"] == "Restarted the load balancer." and resolved["data"]["channel"] == "slack"
    assert resolved["actor"] == "ana"
    assert buttons(slack.updates(ticket_id)[-1]) == [ActionId.REOPEN]
    dms = [m["text"] for m in slack.fake.of("chat.postMessage") if m["channel"] == "DUREQ"]
    assert any("is resolved" in t and "Restarted the load balancer." in t for t in dms)


async def test_resolve_note_on_a_resolved_ticket_shows_the_reason_in_the_modal(slack: Slack) -> None:
    # Given a ticket already resolved
    await slack.add_agents()
    ticket_id = await file_urgent(slack)
    await slack.submit(Callback.RESOLVE_MODAL, {BlockId.NOTE: "done"}, user="UANA", metadata=ticket_id)
    await slack.settle()

    # When Ben submits a resolve note for it too
    response = await slack.submit(Callback.RESOLVE_MODAL, {BlockId.NOTE: "me too"}, user="UBEN", metadata=ticket_id)

    # Then the modal stays open with the reason under the note field
    body = await response.json()
    assert body["response_action"] == "errors" and "resolved now" in body["errors"][BlockId.NOTE]


async def test_rate_limit_storm_posts_every_card_exactly_once(slack: Slack) -> None:
    # Given Slack answers the next eight chat.postMessage calls with 429 Retry-After: 1
    await slack.add_agents()
    slack.fake.rate_limit["chat.postMessage"] = 8

    # When three urgent tickets arrive at once
    responses = await asyncio.gather(*(slack.command(f"{URGENT} (site {i})") for i in range(3)))
    ids = [receipt_id((await r.json())["text"]) for r in responses]
    await slack.settle()

    # Then every card was eventually posted, each exactly once, after the storm passed
    assert slack.fake.rate_limit["chat.postMessage"] == 0
    for ticket_id in ids:
        assert len(slack.cards(ticket_id)) == 1, ticket_id
    assert len([c for c in slack.fake.of("chat.postMessage") if c["channel"] == "C1"]) == 3
