"""Scenario: a card post or edit lost on the way (Redis emptied, worker killed) is sent again by the sweeper."""

from __future__ import annotations

from datetime import timedelta

from bot.slack.alerts import SlackNotifier
from storage.models import ChatMessage, utcnow
from tests.bot.slack.conftest import CHANNEL, URGENT, Slack
from workers import sweeper


def slack_notifier(slack: Slack) -> SlackNotifier:
    runtime = slack.app.services.runtime
    return next(n for n in runtime.notifiers if isinstance(n, SlackNotifier))


async def file_while_chat_is_lost(slack: Slack) -> str:
    """File an urgent ticket while the Slack notifier hears nothing (its chat messages are lost)."""
    runtime = slack.app.services.runtime
    notifier = slack_notifier(slack)
    runtime.notifiers.remove(notifier)
    try:
        response = await slack.app.post("/v1/tickets", {"subject": "Outage", "body": URGENT})
        ticket_id = (await response.json())["id"]
        await slack.settle()
    finally:
        runtime.notifiers.append(notifier)
    return ticket_id


async def sweep_later(slack: Slack) -> int:
    """One alert sweep as it would run a minute from now, then wait for what it sent."""
    svc = slack.app.services
    sent = await sweeper.sweep_alerts(svc.runtime, svc.doorbell, now=utcnow() + timedelta(minutes=1))
    await slack.settle()
    return sent


async def test_a_lost_card_post_is_posted_once_by_the_sweeper(slack_on: Slack) -> None:
    slack = slack_on
    await slack.add_agents()
    # Given an urgent ticket whose "post the card" message was lost
    ticket_id = await file_while_chat_is_lost(slack)
    assert slack.cards(ticket_id) == []

    # When the sweeper looks (twice)
    first = await sweep_later(slack)
    second = await sweep_later(slack)

    # Then the card is posted exactly once, and the second look finds nothing to do
    assert first == 1 and second == 0
    cards = slack.cards(ticket_id)
    assert len(cards) == 1 and cards[0]["channel"] == CHANNEL


async def test_a_dead_posters_reservation_is_taken_over(slack_on: Slack) -> None:
    slack = slack_on
    await slack.add_agents()
    # Given an urgent ticket whose card a killed worker reserved three minutes ago and never posted
    ticket_id = await file_while_chat_is_lost(slack)
    long_ago = utcnow() - timedelta(minutes=3)
    async with slack.app.services.runtime.db.write() as session:
        session.add(ChatMessage(ticket_id=ticket_id, platform="slack", kind="alert", channel_id=CHANNEL,
                                rendered_version=0, created_at=long_ago, updated_at=long_ago))

    # When the sweeper looks
    assert await sweep_later(slack) == 1

    # Then the stale reservation is released and the card posted once
    assert len(slack.cards(ticket_id)) == 1
    assert await sweep_later(slack) == 0


async def test_a_fresh_reservation_is_left_to_its_poster(slack: Slack) -> None:
    await slack.add_agents()
    # Given a card reserved a moment ago (its poster is at work)
    ticket_id = await file_while_chat_is_lost(slack)
    async with slack.app.services.runtime.db.write() as session:
        session.add(ChatMessage(ticket_id=ticket_id, platform="slack", kind="alert", channel_id=CHANNEL,
                                rendered_version=0, created_at=utcnow(), updated_at=utcnow()))
    # When the sweeper looks within the reservation's lifetime / Then it sends nothing
    svc = slack.app.services
    assert await sweeper.lost_alerts(svc.runtime, ["slack"], now=utcnow() + timedelta(seconds=31)) == []


async def test_a_lost_card_edit_is_made_by_the_sweeper(slack: Slack) -> None:
    await slack.add_agents()
    # Given a posted card
    response = await slack.app.post("/v1/tickets", {"subject": "Outage", "body": URGENT})
    ticket_id = (await response.json())["id"]
    await slack.settle()
    assert len(slack.cards(ticket_id)) == 1
    # And a claim whose "edit the card" message was lost
    runtime = slack.app.services.runtime
    notifier = slack_notifier(slack)
    runtime.notifiers.remove(notifier)
    try:
        claimed = await slack.app.post(f"/v1/tickets/{ticket_id}/claim", {"agent_id": "ana"})
        assert claimed.status == 200
        await slack.settle()
    finally:
        runtime.notifiers.append(notifier)
    edits_before = len(slack.updates(ticket_id))

    # When the sweeper looks
    assert await sweep_later(slack) == 1

    # Then the card is edited to show the claim, once
    updates = slack.updates(ticket_id)
    assert len(updates) == edits_before + 1 and "Ana (claimed)" in str(updates[-1]["blocks"])
    assert await sweep_later(slack) == 0
