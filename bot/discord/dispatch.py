"""Raw interaction payloads to handler calls: the one routing table HTTP and gateway mode share."""

from __future__ import annotations

from typing import Any

from bot.discord import buttons, commands
from bot.discord import messages as msg
from bot.discord.answer import Answer, say
from bot.discord.commands import Caller
from bot.discord.components import Command, Field, InteractionType, Modal, Option, parse_note_modal
from bot.discord.errors import BadInteraction
from storage.states import Action
from workers.runtime import Runtime


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def caller_of(payload: dict[str, Any]) -> Caller:
    """Who sent the interaction (a guild member's user, or the DM user) and where."""
    user = _dict(_dict(payload.get("member")).get("user")) or _dict(payload.get("user"))
    if not payload.get("id") or not user.get("id"):
        raise BadInteraction("an interaction needs an id and a user")
    name = user.get("global_name") or user.get("username") or user["id"]
    channel = payload.get("channel_id") or _dict(payload.get("channel")).get("id")
    return Caller(interaction_id=str(payload["id"]), user_id=str(user["id"]), user_name=str(name),
                  channel_id=str(channel) if channel else None,
                  guild_id=str(payload["guild_id"]) if payload.get("guild_id") else None)


def options(data: dict[str, Any]) -> dict[str, Any]:
    """A slash command's options by name."""
    return {str(o.get("name")): o.get("value") for o in data.get("options") or [] if isinstance(o, dict)}


def modal_values(components: Any) -> dict[str, str]:
    """A submitted modal's text inputs by custom_id (rows of inputs, or labels around them)."""
    values: dict[str, str] = {}
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, dict):
            continue
        if component.get("type") == 1:
            values.update(modal_values(component.get("components")))
        elif component.get("type") == 18:
            values.update(modal_values([component.get("component")]))
        elif component.get("custom_id") is not None:
            values[str(component["custom_id"])] = str(component.get("value") or "")
    return values


async def command(rt: Runtime, caller: Caller, data: dict[str, Any]) -> Answer:
    """A slash command or the "File as ticket" message command."""
    given = options(data)
    name = data.get("name")
    if name == Command.TICKET:
        text = given.get(Option.TEXT)
        return await commands.ticket_command(rt, caller, str(text) if text is not None else None)
    if name == Command.STATUS:
        return await commands.ticket_status(rt, str(given.get(Option.ID) or ""))
    if name == Command.QUEUE:
        return await commands.ticket_queue(rt)
    if name == Command.FILE_MESSAGE:
        messages = _dict(_dict(data.get("resolved")).get("messages"))
        target = _dict(messages.get(str(data.get("target_id"))))
        return await commands.file_message(rt, caller, target) if target else say(msg.NO_TEXT_IN_MESSAGE)
    return say(msg.UNKNOWN_INTERACTION)


async def submit(rt: Runtime, caller: Caller, data: dict[str, Any], *, message_id: str | None = None) -> Answer:
    """A submitted modal: a new ticket, or the note that resolves one."""
    custom_id = str(data.get("custom_id") or "")
    values = modal_values(data.get("components"))
    if custom_id == Modal.NEW_TICKET:
        return await commands.file_ticket(rt, caller, values.get(Field.BODY, ""), subject=values.get(Field.SUBJECT))
    if (ticket_id := parse_note_modal(custom_id)) is not None:
        note = values.get(Field.NOTE, "").strip() or None
        return await buttons.act(rt, caller, ticket_id, Action.RESOLVE, note=note, message_id=message_id)
    return say(msg.UNKNOWN_INTERACTION)


async def respond(rt: Runtime, payload: dict[str, Any]) -> Answer:
    """The answer to any interaction but PING, by its type."""
    caller = caller_of(payload)
    data = _dict(payload.get("data"))
    message_id = _dict(payload.get("message")).get("id")
    message_id = str(message_id) if message_id is not None else None
    kind = payload.get("type")
    if kind == InteractionType.APPLICATION_COMMAND:
        return await command(rt, caller, data)
    if kind == InteractionType.MESSAGE_COMPONENT:
        return await buttons.click(rt, caller, str(data.get("custom_id") or ""), message_id=message_id)
    if kind == InteractionType.MODAL_SUBMIT:
        return await submit(rt, caller, data, message_id=message_id)
    return say(msg.UNKNOWN_INTERACTION)
