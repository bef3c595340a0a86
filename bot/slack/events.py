"""Events API listeners: a :ticket: reaction turns the message into a ticket (requester = its author)."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp

from bot import cards
from bot.slack import filing
from bot.slack.app import SlackBot, of
from bot.slack.ids import REACTION

EVENTS = ("reaction_added",)


async def on_reaction(body: dict[str, Any], event: dict[str, Any], context: dict[str, Any]) -> None:
    """Acked by bolt when this returns; the work runs after."""
    item = event.get("item") or {}
    if event.get("reaction") != REACTION or item.get("type") != "message":
        return
    bot = of(context)
    bot.background.spawn(_file(bot, str(body.get("event_id", "")), event), f"reaction:{item.get('ts')}")


async def _file(bot: SlackBot, event_id: str, event: dict[str, Any]) -> None:
    # Slack resends an event it thinks we missed (X-Slack-Retry-Num) with the same event_id.
    if event_id and not await cards.once(bot.runtime.db, "slack-event", event_id):
        return
    try:
        item = event["item"]
        channel, ts, reactor = str(item["channel"]), str(item["ts"]), str(event["user"])
        found = await bot.notifier.call("history", "conversations_history", channel=channel, latest=ts,
                                        inclusive=True, limit=1)
        message = next((m for m in found.get("messages") or [] if str(m.get("ts")) == ts), None)
        if message is None or message.get("bot_id"):
            return  # gone, in a thread we cannot read this way, or one of our own cards
        receipt = await filing.from_message(bot, channel=channel, message=message, filed_by=reactor,
                                            team_id=event.get("team") or None)
        await bot.whisper(channel, reactor, receipt)
    except BaseException:
        if event_id:
            await cards.forget(bot.runtime.db, "slack-event", event_id)  # let Slack's retry do it again
        raise


def register(app: AsyncApp) -> None:
    for name in EVENTS:
        app.event(name)(on_reaction)
