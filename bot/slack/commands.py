"""`/ticket` listeners: file a ticket and ack with the receipt, open the form, a ticket's status, the queue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp

from bot.slack import blocks, filing
from bot.slack import messages as msg
from bot.slack.app import SlackBot, of
from bot.slack.ids import COMMAND

COMMANDS = (COMMAND,)


async def on_ticket(ack: Callable[..., Awaitable[Any]], command: dict[str, Any], context: dict[str, Any]) -> None:
    """Ticket creation takes milliseconds (group commit), so the receipt is the ack itself."""
    bot = of(context)

    async def answer(reply: str) -> None:
        await ack(text=reply, response_type="ephemeral")

    text = str(command.get("text") or "").strip()
    word, _, rest = text.partition(" ")
    rest = rest.strip()
    if not text:
        await ack()
        bot.background.spawn(_open_form(bot, command), "open-form")
    elif word.lower() == "status" and rest and " " not in rest:
        await answer(await filing.status_text(bot, rest))
    elif word.lower() == "status" and not rest:
        await answer(msg.USAGE)
    elif word.lower() == "queue" and not rest:
        await answer(await filing.queue_text(bot))
    elif word.lower() in ("help", "usage") and not rest:
        await answer(msg.USAGE)
    else:
        await answer(await filing.from_command(bot, command, text))


async def _open_form(bot: SlackBot, command: dict[str, Any]) -> None:
    await bot.notifier.call("modal", "views_open", trigger_id=command["trigger_id"],
                            view=blocks.new_ticket_modal(command.get("channel_id")))


def register(app: AsyncApp) -> None:
    for name in COMMANDS:
        app.command(name)(on_ticket)
