"""Modal submissions: the new-ticket form, and the resolve note (the modal shows a refusal in place)."""

from __future__ import annotations

import asyncio
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
DEADLINE = 2.0  # seconds a modal submission may wait for the database before it is acked anyway
Ack = Callable[..., Awaitable[Any]]


async def on_new_ticket(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]) -> None:
    bot = of(context)
    description = (modal_value(view, BlockId.DESCRIPTION) or "").strip()
    subject = (modal_value(view, BlockId.SUBJECT) or "").strip()
    if not description and not subject:
        await ack(response_action="errors", errors={str(BlockId.DESCRIPTION): msg.EMPTY_TICKET})
        return
    user = str(body["user"]["id"])
    channel = view.get("private_metadata") or None
    work = asyncio.ensure_future(filing.from_form(bot, view, body["user"], subject=subject,
                                                  description=description or subject,
                                                  urgency=modal_value(view, BlockId.URGENCY)))
    try:  # Slack closes the modal with an error after 3 s: never wait that long
        await asyncio.wait_for(asyncio.shield(work), DEADLINE)
    except TimeoutError:
        pass  # still being filed: the receipt follows when it is
    await ack()
    bot.background.spawn(_form_receipt(bot, work, user, channel), "form-receipt", gated=False)


async def _form_receipt(bot: SlackBot, work: asyncio.Future[service.Filed], user: str, channel: str | None) -> None:
    filed = await work
    await _receipt(bot, user, channel, msg.MODAL_RECEIPT.format(id=filed.ticket.id, subject=filed.ticket.subject))


async def _receipt(bot: SlackBot, user: str, channel: str | None, text: str) -> None:
    if channel:
        await bot.whisper(channel, user, text)
    else:
        await bot.notifier.direct_message(user, text)


async def on_resolve_note(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]) -> None:
    """Resolve with the note before acking, so a refusal can be shown in the modal itself (unless the
    database is too slow for Slack's 3 s: then the modal closes and a refusal comes as an ephemeral)."""
    bot = of(context)
    ticket_id = str(view.get("private_metadata") or "")
    note = (modal_value(view, BlockId.NOTE) or "").strip() or None
    user = str(body["user"]["id"])
    work = asyncio.ensure_future(service.act(bot.runtime, ticket_id, Action.RESOLVE, platform=PLATFORM,
                                             user_id=user, note=note))
    try:
        acted = await asyncio.wait_for(asyncio.shield(work), DEADLINE)
    except TimeoutError:
        await ack()
        bot.background.spawn(_resolved_late(bot, work, ticket_id, user), f"resolve:{ticket_id}", gated=False)
        return
    if acted.refused is not None:
        await ack(response_action="errors", errors={str(BlockId.NOTE): refusal_text(acted.refused, ticket_id)})
        return
    await ack()
    bot.background.spawn(bot.notifier.refresh_soon(ticket_id), f"resolved:{ticket_id}", gated=False)


async def _resolved_late(bot: SlackBot, work: asyncio.Future[service.Acted], ticket_id: str, user: str) -> None:
    acted = await work
    if acted.refused is not None and bot.settings.slack_alert_channel:
        await bot.whisper(bot.settings.slack_alert_channel, user, refusal_text(acted.refused, ticket_id))
    elif acted.refused is None:
        await bot.notifier.refresh_soon(ticket_id)


def register(app: AsyncApp) -> None:
    app.view(str(Callback.NEW_TICKET_MODAL))(on_new_ticket)
    app.view(str(Callback.RESOLVE_MODAL))(on_resolve_note)
