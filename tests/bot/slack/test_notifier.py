"""The Slack notifier: SLA messages in the card's thread, counted calls, and when Slack is on at all."""

from __future__ import annotations

from prometheus_client import REGISTRY

import bot.slack
from bot.slack.alerts import SlackNotifier
from bot.slack.ids import ActionId
from tests.bot.slack.conftest import CHANNEL, SECRET, TOKEN, Slack
from tests.bot.slack.test_cards import file_urgent
from tests.conftest import make_settings, start_app


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"platform": "slack", **labels}) or 0.0


async def test_sla_reminder_and_escalation_go_to_the_cards_thread_once(slack: Slack) -> None:
    # Given an urgent ticket with its card, and a team lead who is a Slack user
    await slack.add_agents()
    ticket_id = await file_urgent(slack)
    [card] = slack.cards(ticket_id)

    # When the SLA timers report a reminder (twice: a redelivered message) and then an escalation
    notifier = slack.bot.notifier
    await notifier.ticket_event(ticket_id, "sla_reminder")
    await notifier.ticket_event(ticket_id, "sla_reminder")
    await notifier.ticket_event(ticket_id, "sla_escalated")

    # Then each is one message in the card's thread, and the card itself is not posted again
    threaded = [m for m in slack.fake.of("chat.postMessage") if m.get("thread_ts") == card["_ts"]]
    assert [m["channel"] for m in threaded] == [CHANNEL, CHANNEL]
    assert "is due" in threaded[0]["text"] and "escalated" in threaded[1]["text"]
    assert len(slack.cards(ticket_id)) == 1


async def test_calls_and_rate_limits_are_counted(slack: Slack) -> None:
    # Given the counters before
    cards, updates = counted("switchboard_chat_posts_total", kind="card"), counted(
        "switchboard_chat_posts_total", kind="update")
    limited = counted("switchboard_chat_rate_limited_total")
    await slack.add_agents()
    slack.fake.rate_limit["chat.postMessage"] = 1

    # When a card is posted through one 429 and then edited by a click
    ticket_id = await file_urgent(slack)
    await slack.click(ActionId.CLAIM, ticket_id, "UANA")
    await slack.settle()

    # Then the counters moved by what happened
    assert counted("switchboard_chat_posts_total", kind="card") == cards + 1
    assert counted("switchboard_chat_posts_total", kind="update") >= updates + 1
    assert counted("switchboard_chat_rate_limited_total") == limited + 1


async def test_a_server_error_is_retried_and_the_card_still_updates(slack: Slack) -> None:
    # Given a card, and Slack answering the next chat.update with a 500
    await slack.add_agents()
    ticket_id = await file_urgent(slack)
    slack.fake.fail["chat.update"] = 1

    # When an agent claims it
    await slack.click(ActionId.CLAIM, ticket_id, "UBEN")
    await slack.settle()

    # Then slack-sdk's server-error handler retried, and the card shows the claim
    assert slack.fake.fail["chat.update"] == 0
    assert "Ben (claimed)" in str(slack.updates(ticket_id)[-1]["blocks"])


async def test_slack_is_off_without_token_and_secret(sqlite_url: str) -> None:
    # Given settings without a signing secret
    settings = make_settings(sqlite_url, slack_bot_token=TOKEN)

    # Then no endpoint is mounted, and a worker process gets the notifier only when a token is set
    app = await start_app(settings)
    try:
        response = await app.client.post("/slack/events", data="x")
        assert response.status in (404, 405)
    finally:
        await app.client.close()
    assert isinstance(bot.slack.notifier(make_settings(sqlite_url, slack_bot_token=TOKEN,
                                                       slack_signing_secret=SECRET)), SlackNotifier)
    assert bot.slack.notifier(make_settings(sqlite_url)) is None
    assert bot.slack.notifier(settings).name == "slack"  # type: ignore[union-attr]
