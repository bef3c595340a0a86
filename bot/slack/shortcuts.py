"""The message shortcut "File as ticket": the message becomes a ticket, its author the requester."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond as Respond

from bot.slack import filing
from bot.slack.app import SlackBot, of
from bot.slack.ids import Callback

SHORTCUTS = (Callback.FILE_AS_TICKET,)


async def on_file_message(ack: Callable[..., Awaitable[Any]], body: dict[str, Any], respond: Respond,
                          context: dict[str, Any]) -> None:
    await ack()
    bot = of(context)
    bot.background.spawn(_file(bot, body, respond), f"shortcut:{body.get('message_ts', '')}")


async def _file(bot: SlackBot, body: dict[str, Any], respond: Respond) -> None:
    channel = str((body.get("channel") or {}).get("id", ""))
    receipt = await filing.from_message(bot, channel=channel, message=body.get("message") or {},
                                        filed_by=str(body["user"]["id"]), team_id=(body.get("team") or {}).get("id"))
    await bot.tell(respond, receipt)


def register(app: AsyncApp) -> None:
    for callback_id in SHORTCUTS:
        app.shortcut(str(callback_id))(on_file_message)
