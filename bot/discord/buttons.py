"""Card buttons: a click (or a resolve note) runs the guarded transition and answers for the card."""

from __future__ import annotations

from bot.discord import messages as msg
from bot.discord import render, store
from bot.discord.answer import Answer, Callback, say
from bot.discord.commands import Caller
from bot.discord.components import parse_button
from bot.view import Button, agent_for, load_view
from storage.agents import find_agent_by_platform, get_agent
from storage.errors import AlreadyClaimed, AtCapacity, IllegalTransition, NotFound, NotHolder, StorageError
from storage.states import Action
from workers import pipeline
from workers.runtime import Runtime


async def _holder_name(rt: Runtime, agent_id: str | None) -> str:
    if not agent_id:
        return "someone else"
    try:
        return (await get_agent(rt.db, agent_id)).name
    except NotFound:
        return agent_id


async def _refusal(rt: Runtime, exc: StorageError, ticket_id: str, action: Action) -> Answer:
    """The ephemeral reason a click lost (the card itself was already updated by the winner)."""
    details = exc.details if isinstance(exc.details, dict) else {}
    if isinstance(exc, AlreadyClaimed):
        text = msg.ALREADY_CLAIMED.format(id=ticket_id, holder=await _holder_name(rt, details.get("claimed_by")))
    elif isinstance(exc, NotHolder):
        text = msg.NOT_HOLDER.format(id=ticket_id, holder=await _holder_name(rt, details.get("claimed_by")),
                                     action=action)
    elif isinstance(exc, IllegalTransition):
        text = msg.ILLEGAL.format(id=ticket_id, status=details.get("status", "changed"),
                                  done=msg.DONE.get(action, f"{action}ed"))
    elif isinstance(exc, AtCapacity):
        text = msg.AT_CAPACITY
    elif isinstance(exc, NotFound):
        text = msg.GONE.format(id=ticket_id)
    else:
        text = msg.BUSY.format(id=ticket_id)
    return say(text, ticket_id=ticket_id)


async def act(rt: Runtime, caller: Caller, ticket_id: str, action: Action, *, note: str | None = None,
              message_id: str | None = None) -> Answer:
    """Run `action` for the agent behind `caller`; update the clicked message, or say why not."""
    agent = await agent_for(rt.db, discord_user_id=caller.user_id)
    if agent is None:
        return say(msg.NOT_AN_AGENT, ticket_id=ticket_id)
    try:
        await pipeline.perform(rt, ticket_id, action, agent_id=agent.id, note=note, channel="discord")
    except StorageError as exc:
        return await _refusal(rt, exc, ticket_id, action)
    view = await load_view(rt.db, ticket_id)
    if view is None:
        return say(msg.GONE.format(id=ticket_id))
    if message_id is not None:  # the answer renders this version: the notifier need not edit again
        await store.rendered(rt.db, ticket_id, view.version, message_id=message_id)
    return Answer(Callback.UPDATE, embed=render.embed(view), view=render.buttons(view), ticket_id=ticket_id)


async def click(rt: Runtime, caller: Caller, custom_id: str, *, message_id: str | None = None) -> Answer:
    """A card button; Resolve first asks for a note (a modal), the others act at once."""
    parsed = parse_button(custom_id)
    if parsed is None:
        return say(msg.UNKNOWN_INTERACTION)
    if parsed.button is Button.RESOLVE:
        if await find_agent_by_platform(rt.db, discord_user_id=caller.user_id) is None:
            return say(msg.NOT_AN_AGENT, ticket_id=parsed.ticket_id)
        return Answer(Callback.MODAL, modal=render.resolve_note_modal(parsed.ticket_id), ticket_id=parsed.ticket_id)
    return await act(rt, caller, parsed.ticket_id, parsed.button.action, message_id=message_id)
