"""Card buttons: a click (or a resolve note) runs the guarded transition and answers for the card."""

from __future__ import annotations

from bot import cards, service
from bot.discord import messages as msg
from bot.discord import render
from bot.discord.answer import Answer, Callback, say
from bot.discord.commands import Caller
from bot.discord.components import parse_button
from bot.service import Reason, Refused
from bot.view import Button, load_view
from storage.states import Action
from workers.runtime import Runtime


def _refusal(refused: Refused, ticket_id: str, action: Action) -> Answer:
    """The ephemeral reason a click lost (the card itself was already updated by the winner)."""
    texts = {
        Reason.NOT_AN_AGENT: msg.NOT_AN_AGENT,
        Reason.ALREADY_CLAIMED: msg.ALREADY_CLAIMED.format(id=ticket_id, holder=refused.holder),
        Reason.NOT_HOLDER: msg.NOT_HOLDER.format(id=ticket_id, holder=refused.holder, action=action),
        Reason.ILLEGAL: msg.ILLEGAL.format(id=ticket_id, status=refused.status or "changed",
                                           done=msg.DONE.get(action, f"{action}ed")),
        Reason.AT_CAPACITY: msg.AT_CAPACITY,
        Reason.NOT_FOUND: msg.GONE.format(id=ticket_id),
    }
    return say(texts.get(refused.reason, msg.BUSY.format(id=ticket_id)), ticket_id=ticket_id)


async def act(rt: Runtime, caller: Caller, ticket_id: str, action: Action, *, note: str | None = None,
              message_id: str | None = None) -> Answer:
    """Run `action` for the agent behind `caller`; update the clicked message, or say why not."""
    acted = await service.act(rt, ticket_id, action, platform="discord", user_id=caller.user_id, note=note)
    if acted.refused is not None:
        return _refusal(acted.refused, ticket_id, action)
    view = await load_view(rt.db, ticket_id)
    if view is None:
        return say(msg.GONE.format(id=ticket_id))
    if message_id is not None:  # the answer renders this version: the notifier need not edit again
        await cards.rendered(rt.db, ticket_id, "discord", view.version, message_id=message_id)
    return Answer(Callback.UPDATE, embed=render.embed(view), view=render.buttons(view), ticket_id=ticket_id)


async def click(rt: Runtime, caller: Caller, custom_id: str, *, message_id: str | None = None) -> Answer:
    """A card button; Resolve first asks for a note (a modal), the others act at once."""
    parsed = parse_button(custom_id)
    if parsed is None:
        return say(msg.UNKNOWN_INTERACTION)
    if parsed.button is Button.RESOLVE:
        if not await service.is_agent(rt, platform="discord", user_id=caller.user_id):
            return say(msg.NOT_AN_AGENT, ticket_id=parsed.ticket_id)
        return Answer(Callback.MODAL, modal=render.resolve_note_modal(parsed.ticket_id), ticket_id=parsed.ticket_id)
    return await act(rt, caller, parsed.ticket_id, parsed.button.action, message_id=message_id)
