"""The Discord notifier: one card per urgent ticket, 429s honoured, 500s retried, SLA replies on the card."""

from __future__ import annotations

import dramatiq
import pytest
from sqlalchemy import delete

from bot import cards
from bot.discord.notifier import DiscordNotifier
from bot.discord.rest import RestClient
from storage.models import ChatMessage
from tests.bot.discord.conftest import ANA, LEE_ID, URGENT, Discord, slash
from tests.fakes.discord_api import BOT_TOKEN
from workers.metrics import CHAT_RATE_LIMITED


def cards_posted(dc: Discord) -> list[dict]:
    return [c.json for c in dc.fake.of("create_message") if c.params["channel"] == "C1"]


async def urgent_ticket(dc: Discord) -> str:
    await dc.agent("ana", ANA)
    receipt = await dc.send(slash("ticket", text=URGENT))
    return str(receipt["data"]["content"].split("**")[1])


def rate_limited() -> float:
    return CHAT_RATE_LIMITED.labels("discord")._value.get()


async def test_a_short_429_is_waited_out_and_the_card_posted_once(dc):
    # Given Discord answers the next card post with 429 retry_after 0.3 s
    dc.fake.rate_limit["create_message"] = [0.3]
    before = rate_limited()
    # When an urgent ticket is filed and the pipeline runs
    await urgent_ticket(dc)
    await dc.app.drain()
    # Then the post was retried after the wait and exactly one card exists; the 429 was counted
    assert dc.fake.refused == [("create_message", 429)]
    assert len(cards_posted(dc)) == 1
    assert rate_limited() == before + 1


async def test_a_long_429_becomes_a_dramatiq_retry_after_retry_after(dc):
    # Given a ticket and Discord rate-limiting card posts for 30 s
    ticket_id = await urgent_ticket(dc)
    await dc.app.drain()  # the app's own notifier posts the card first; forget it so this one posts again
    runtime = dc.app.services.runtime
    async with runtime.db.write() as session:
        await session.execute(delete(ChatMessage))
    dc.fake.rate_limit["create_message"] = [30.0]
    notifier = DiscordNotifier(dc.app.services.settings, db_getter=lambda: runtime.db,
                               rest=RestClient(dc.fake.url, BOT_TOKEN, dc.app.client.session))
    # When this notifier is told the ticket was assigned
    with pytest.raises(dramatiq.Retry) as raised:
        await notifier.ticket_event(ticket_id, "assigned")
    # Then it asks Dramatiq to retry after Discord's retry_after, and gave the card reservation back
    assert raised.value.delay is not None and 30_000 <= raised.value.delay < 31_000
    assert await cards.get(runtime.db, ticket_id, "discord") is None


async def test_a_429_longer_than_the_client_waits_is_retried_by_the_actor(dc):
    # Given Discord answers the card post with 429 retry_after 2.5 s (longer than the client sleeps itself)
    dc.fake.rate_limit["create_message"] = [2.5]
    # When an urgent ticket goes through the pipeline
    await urgent_ticket(dc)
    await dc.app.drain()
    # Then the chat actor retried it after the delay and one card was posted
    assert dc.fake.refused == [("create_message", 429)]
    assert len(cards_posted(dc)) == 1


async def test_a_500_is_retried_and_posts_once(dc):
    # Given Discord fails the next card post with 500
    dc.fake.fail["create_message"] = 1
    # When an urgent ticket goes through the pipeline
    await urgent_ticket(dc)
    await dc.app.drain()
    # Then the delivery was retried and exactly one card exists
    assert dc.fake.refused == [("create_message", 500)]
    assert len(cards_posted(dc)) == 1


async def test_not_urgent_tickets_get_no_card(dc):
    # Given a calm ticket
    await dc.agent("ana", ANA)
    await dc.send(slash("ticket", text="how do I change my avatar"))
    # When the pipeline runs
    await dc.app.drain()
    # Then nothing was posted to the alert channel
    assert cards_posted(dc) == []


async def test_sla_messages_are_replies_to_the_card_and_only_escalation_pings_the_lead(start_discord, sqlite_url):
    # Given a lead with a Discord id and an urgent ticket with its card
    dc = await start_discord(sqlite_url, sla_escalation_lead="lee")
    await dc.agent("lee", {**ANA, "name": "Lee", "discord_user_id": LEE_ID, "skills": ["Legal"]})
    ticket_id = await urgent_ticket(dc)
    await dc.app.drain()
    card_id = next(m["id"] for m in dc.fake.messages.values() if m["channel_id"] == "C1")
    notifier = next(n for n in dc.app.services.runtime.notifiers if getattr(n, "name", "") == "discord")
    # When the SLA timers fire a reminder and an escalation (twice each, as a redelivery would)
    for kind in ("sla_reminder", "sla_escalated", "sla_reminder", "sla_escalated"):
        await notifier.ticket_event(ticket_id, kind)
    # Then each is one reply to the card; the reminder pings nobody, the escalation only the lead
    replies = [c.json for c in dc.fake.of("create_message") if "message_reference" in (c.json or {})]
    assert [r["message_reference"]["message_id"] for r in replies] == [card_id, card_id]
    assert replies[0]["allowed_mentions"] == {"parse": []} and "due" in replies[0]["content"]
    assert replies[1]["allowed_mentions"] == {"parse": [], "users": [LEE_ID]} and f"<@{LEE_ID}>" in replies[1]["content"]


async def test_a_worker_process_builds_its_own_notifier_and_session(dc):
    # Given the settings a `dramatiq intake.worker` process reads, and no bot token elsewhere
    from bot import discord as discord_bot

    settings = dc.app.services.settings
    assert discord_bot.notifier(settings.model_copy(update={"discord_bot_token": None})) is None
    worker_notifier = discord_bot.notifier(settings)
    assert worker_notifier is not None and getattr(worker_notifier, "name", None) == "discord"
    # When it is told about an urgent ticket (its REST session is made on first use, on this loop)
    ticket_id = await urgent_ticket(dc)
    await dc.app.drain()
    runtime = dc.app.services.runtime
    async with runtime.db.write() as session:
        await session.execute(delete(ChatMessage))
    try:
        await worker_notifier.ticket_event(ticket_id, "assigned")
    finally:
        await worker_notifier.close()  # type: ignore[attr-defined]
    # Then it posted a card with the bot token
    assert len(cards_posted(dc)) == 2 and all(c.authorized for c in dc.fake.of("create_message"))


async def test_a_change_made_elsewhere_edits_the_card_in_place(dc):
    # Given an urgent ticket with its card
    ticket_id = await urgent_ticket(dc)
    await dc.app.drain()
    card_id = next(m["id"] for m in dc.fake.messages.values() if m["channel_id"] == "C1")
    # When Ana claims it through the HTTP API (not Discord)
    response = await dc.app.post(f"/v1/tickets/{ticket_id}/claim", {"agent_id": "ana"})
    assert response.status == 200
    await dc.app.drain()
    # Then the same message was edited to the claimed card; no second card was posted
    edits = [c for c in dc.fake.of("edit_message") if c.params["message"] == card_id]
    assert edits and [b["label"] for row in edits[-1].json["components"] for b in row["components"]] == [
        "Complete", "Resolve", "Release"]
    assert len(cards_posted(dc)) == 1
