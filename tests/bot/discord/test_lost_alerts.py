"""Scenario: a Discord card post lost on the way (Redis emptied, worker killed) is sent again by the sweeper."""

from __future__ import annotations

from datetime import timedelta

from bot.discord.notifier import DiscordNotifier
from storage.models import ChatMessage, utcnow
from tests.bot.discord.conftest import ANA, URGENT, Discord
from workers import sweeper


def cards_posted(dc: Discord, ticket_id: str) -> list[dict]:
    return [c.json for c in dc.fake.of("create_message")
            if c.params["channel"] == "C1" and ticket_id in str(c.json)]


async def test_a_dead_posters_card_is_posted_once_by_the_sweeper(start_discord, db_url):
    dc = await start_discord(db_url)
    await dc.agent("ana", ANA)
    runtime = dc.app.services.runtime
    notifier = next(n for n in runtime.notifiers if isinstance(n, DiscordNotifier))
    # Given an urgent ticket whose card a killed worker reserved three minutes ago and never posted
    runtime.notifiers.remove(notifier)
    try:
        response = await dc.app.post("/v1/tickets", {"subject": "Outage", "body": URGENT})
        ticket_id = (await response.json())["id"]
        await dc.app.drain()
    finally:
        runtime.notifiers.append(notifier)
    long_ago = utcnow() - timedelta(minutes=3)
    async with runtime.db.write() as session:
        session.add(ChatMessage(ticket_id=ticket_id, platform="discord", kind="alert", channel_id="C1",
                                rendered_version=0, created_at=long_ago, updated_at=long_ago))
    assert cards_posted(dc, ticket_id) == []

    # When the sweeper looks a minute later, twice
    svc = dc.app.services
    first = await sweeper.sweep_alerts(svc.runtime, svc.doorbell, now=utcnow() + timedelta(minutes=1))
    await dc.app.drain()
    second = await sweeper.sweep_alerts(svc.runtime, svc.doorbell, now=utcnow() + timedelta(minutes=1))
    await dc.app.drain()

    # Then the card is posted exactly once, and nothing is left to re-send
    assert (first, second) == (1, 0)
    assert len(cards_posted(dc, ticket_id)) == 1
