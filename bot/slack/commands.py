"""`/ticket` listeners: file a ticket and ack with the receipt, open the form, a ticket's status, the queue."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond as Respond

from bot.slack import blocks, filing
from bot.slack import messages as msg
from bot.slack.app import SlackBot, of
from bot.slack.ids import COMMAND

COMMANDS = (COMMAND,)


async def on_ticket(ack: Callable[..., Awaitable[Any]], command: dict[str, Any], respond: Respond,
                    context: dict[str, Any]) -> None:
    """`/ticket ...`: every branch acks well within Slack's 3 s, most with the whole answer."""
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
        await _file(bot, command, text, answer, respond)


async def _file(bot: SlackBot, command: dict[str, Any], text: str, answer: Callable[[str], Awaitable[None]],
                respond: Respond) -> None:
    """The receipt is the ack when the commit lands within the ack budget (it takes milliseconds when the
    database keeps up); otherwise ack "filing" now and send the receipt through response_url once committed."""
    filing_task = asyncio.ensure_future(filing.from_command(bot, command, text))
    try:
        receipt = await asyncio.wait_for(asyncio.shield(filing_task), bot.ack_budget)
    except TimeoutError:
        await answer(msg.FILING)
        bot.background.spawn(_late_receipt(bot, filing_task, respond), "late-receipt", gated=False)
        return
    await answer(receipt)


async def _late_receipt(bot: SlackBot, filing_task: asyncio.Future[str], respond: Respond) -> None:
    try:
        receipt = await filing_task
    except BaseException:
        await bot.tell(respond, msg.FILING_FAILED)
        raise
    await bot.tell(respond, receipt)


async def _open_form(bot: SlackBot, command: dict[str, Any]) -> None:
    await bot.notifier.call("modal", "views_open", trigger_id=command["trigger_id"],
                            view=blocks.new_ticket_modal(command.get("channel_id")))


def register(app: AsyncApp) -> None:
    for name in COMMANDS:
        app.command(name)(on_ticket)
