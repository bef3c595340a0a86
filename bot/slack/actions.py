"""Card button listeners: ack at once, then run the guarded transition and edit the card (or say why not)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond as Respond

from bot import service
from bot.slack import blocks
from bot.slack import messages as msg
from bot.slack.app import SlackBot, of
from bot.slack.ids import ActionId
from bot.view import Button, load_view
from storage.states import Action

ACTIONS = tuple(ActionId)
PLATFORM = "slack"


def refusal_text(refused: service.Refused, ticket_id: str) -> str:
    """The ephemeral reason a click did nothing (the winner's click already updated the card)."""
    match refused.reason:
        case service.Reason.NOT_AN_AGENT:
            return msg.NOT_AN_AGENT
        case service.Reason.ALREADY_CLAIMED:
            return msg.ALREADY_CLAIMED.format(id=ticket_id, holder=refused.holder)
        case service.Reason.NOT_HOLDER:
            return msg.NOT_HOLDER.format(id=ticket_id, holder=refused.holder)
        case service.Reason.ILLEGAL:
            return msg.ILLEGAL.format(id=ticket_id, status=refused.status)
        case service.Reason.AT_CAPACITY:
            return msg.AT_CAPACITY.format(id=ticket_id)
        case service.Reason.NOT_FOUND:
            return msg.NOT_FOUND.format(id=ticket_id)
    return msg.BUSY.format(id=ticket_id)


async def on_button(ack: Callable[..., Awaitable[Any]], body: dict[str, Any], action: dict[str, Any],
                    respond: Respond, context: dict[str, Any]) -> None:
    await ack()
    bot = of(context)
    button = ActionId(action["action_id"]).button
    ticket_id, user = str(action.get("value", "")), str(body["user"]["id"])
    if button is Button.RESOLVE:  # asks for a note first; the trigger_id is good for 3 s
        bot.background.spawn(_ask_note(bot, ticket_id, user, str(body.get("trigger_id", "")), respond),
                             f"resolve-form:{ticket_id}")
    else:
        bot.background.spawn(click(bot, ticket_id, button.action, user, respond), f"{button}:{ticket_id}")


async def click(bot: SlackBot, ticket_id: str, action: Action, user: str, respond: Respond) -> None:
    acted = await service.act(bot.runtime, ticket_id, action, platform=PLATFORM, user_id=user)
    if acted.refused is not None:
        await bot.tell(respond, refusal_text(acted.refused, ticket_id))
        return
    # The merge window may sleep up to a second: not while holding one of the database job slots.
    bot.background.spawn(bot.notifier.refresh_soon(ticket_id), f"refresh:{ticket_id}", gated=False)


async def _ask_note(bot: SlackBot, ticket_id: str, user: str, trigger_id: str, respond: Respond) -> None:
    if not await service.is_agent(bot.runtime, platform=PLATFORM, user_id=user):
        await bot.tell(respond, msg.NOT_AN_AGENT)
        return
    view = await load_view(bot.runtime.db, ticket_id)
    if view is None:
        await bot.tell(respond, msg.NOT_FOUND.format(id=ticket_id))
    elif Button.RESOLVE not in view.buttons:
        await bot.tell(respond, msg.ILLEGAL.format(id=ticket_id, status=view.status))
    else:
        await bot.notifier.call("modal", "views_open", trigger_id=trigger_id, view=blocks.resolve_modal(ticket_id))


def register(app: AsyncApp) -> None:
    for action_id in ACTIONS:
        app.action(str(action_id))(on_button)
