"""Modal submissions: the new-ticket form, and the resolve note (the modal shows a refusal in place)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp

from bot import service
from bot.slack import filing
from bot.slack import messages as msg
from bot.slack.actions import refusal_text
from bot.slack.app import SlackBot, of
from bot.slack.blocks import modal_value
from bot.slack.ids import BlockId, Callback
from storage.states import Action

VIEWS = (Callback.NEW_TICKET_MODAL, Callback.RESOLVE_MODAL)
PLATFORM = "slack"
Ack = Callable[..., Awaitable[Any]]


async def on_new_ticket(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]) -> None:
    bot = of(context)
    description = (modal_value(view, BlockId.DESCRIPTION) or "").strip()
    subject = (modal_value(view, BlockId.SUBJECT) or "").strip()
    if not description and not subject:
        await ack(response_action="errors", errors={str(BlockId.DESCRIPTION): msg.EMPTY_TICKET})
        return
    filed = await filing.from_form(bot, view, body["user"], subject=subject, description=description or subject,
                                   urgency=modal_value(view, BlockId.URGENCY))
    await ack()
    text = msg.MODAL_RECEIPT.format(id=filed.ticket.id, subject=filed.ticket.subject)
    bot.background.spawn(_receipt(bot, str(body["user"]["id"]), view.get("private_metadata") or None, text),
                         f"form-receipt:{filed.ticket.id}")


async def _receipt(bot: SlackBot, user: str, channel: str | None, text: str) -> None:
    if channel:
        await bot.whisper(channel, user, text)
    else:
        await bot.notifier.direct_message(user, text)


async def on_resolve_note(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]) -> None:
    """Resolve with the note before acking, so a refusal can be shown in the modal itself."""
    bot = of(context)
    ticket_id = str(view.get("private_metadata") or "")
    note = (modal_value(view, BlockId.NOTE) or "").strip() or None
    acted = await service.act(bot.runtime, ticket_id, Action.RESOLVE, platform=PLATFORM,
                              user_id=str(body["user"]["id"]), note=note)
    if acted.refused is not None:
        await ack(response_action="errors", errors={str(BlockId.NOTE): refusal_text(acted.refused, ticket_id)})
        return
    await ack()
    bot.background.spawn(bot.notifier.refresh_soon(ticket_id), f"resolved:{ticket_id}", gated=False)


def register(app: AsyncApp) -> None:
    app.view(str(Callback.NEW_TICKET_MODAL))(on_new_ticket)
    app.view(str(Callback.RESOLVE_MODAL))(on_resolve_note)
