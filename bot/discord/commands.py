"""Slash and context commands, shared by HTTP and gateway mode: file a ticket, its status, the queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import discord

from bot import service
from bot.discord import messages as msg
from bot.discord import render
from bot.discord.answer import Answer, Callback, say
from bot.discord.components import Command, CommandType, Option
from bot.view import load_view
from storage import tickets as store
from workers.runtime import Runtime

QUEUE_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Caller:
    """Who acted, where, and through which interaction (the id is the idempotency key)."""

    interaction_id: str
    user_id: str
    user_name: str
    channel_id: str | None = None
    guild_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {"discord": {"user_id": self.user_id, "channel_id": self.channel_id, "guild_id": self.guild_id,
                            "interaction_id": self.interaction_id, **self.extra}}


async def file_ticket(rt: Runtime, caller: Caller, body: str, *, subject: str | None = None,
                      requester: tuple[str, str] | None = None) -> Answer:
    """Create a ticket (once per interaction id) and answer with an ephemeral receipt."""
    body = body.strip()
    if not body:
        return say(msg.EMPTY_TICKET)
    requester_id, requester_name = requester or (caller.user_id, caller.user_name)
    metadata = caller.metadata()
    metadata["discord"]["user_id"] = requester_id  # who hears back on claim and resolve
    filed = await service.file_ticket(rt, platform="discord", key=caller.interaction_id, body=body,
                                      subject=subject, requester_id=requester_id, requester_name=requester_name,
                                      metadata=metadata, actor=f"discord:{caller.user_id}")
    text = msg.RECEIPT if filed.created else msg.RECEIPT_REPEAT
    return say(text.format(id=filed.ticket.id, subject=filed.ticket.subject), ticket_id=filed.ticket.id)


async def file_message(rt: Runtime, caller: Caller, message: dict[str, Any]) -> Answer:
    """The "File as ticket" message command: the message's author is the requester."""
    content = str(message.get("content") or "").strip()
    if not content:
        return say(msg.NO_TEXT_IN_MESSAGE)
    author = message.get("author") or {}
    message_id, channel_id = str(message.get("id", "")), str(message.get("channel_id") or caller.channel_id)
    where = caller.guild_id or "@me"
    filed = Caller(caller.interaction_id, caller.user_id, caller.user_name, caller.channel_id, caller.guild_id,
                   extra={"message_id": message_id, "filed_by": caller.user_id,
                          "message_url": f"https://discord.com/channels/{where}/{channel_id}/{message_id}"})
    name = author.get("global_name") or author.get("username") or str(author.get("id", caller.user_name))
    return await file_ticket(rt, filed, content, requester=(str(author.get("id", caller.user_id)), name))


async def ticket_status(rt: Runtime, ticket_id: str) -> Answer:
    view = await load_view(rt.db, ticket_id.strip().upper())
    if view is None:
        return say(msg.TICKET_NOT_FOUND.format(id=ticket_id.strip()))
    return Answer(Callback.MESSAGE, embed=render.embed(view), ephemeral=True, ticket_id=view.id)


async def ticket_queue(rt: Runtime) -> Answer:
    size, items = await store.waiting(rt.db, limit=QUEUE_SHOWN)
    if not size:
        return say(msg.QUEUE_EMPTY)
    lines = [msg.QUEUE_LINE.format(id=t.id, urgency=f"{t.urgency:.2f}" if t.urgency is not None else "–",
                                   status=t.status, subject=render._clip(t.subject or "(no subject)", 80))
             for t in items]
    if size > len(items):
        lines.append(msg.QUEUE_MORE.format(more=size - len(items)))
    card = discord.Embed(title=msg.QUEUE_TITLE.format(size=size), description="\n".join(lines), colour=0x5865F2)
    return Answer(Callback.MESSAGE, embed=card, ephemeral=True)


def new_ticket_form() -> Answer:
    return Answer(Callback.MODAL, modal=render.new_ticket_modal())


async def ticket_command(rt: Runtime, caller: Caller, text: str | None) -> Answer:
    """`/ticket text:...` files a ticket; `/ticket` alone opens the form."""
    if text is None or not text.strip():
        return new_ticket_form()
    return await file_ticket(rt, caller, text)


# What `python -m bot discord-register` sends (PUT /applications/{id}/commands); gateway mode
# registers the same names through discord.py's CommandTree.
COMMANDS: list[dict[str, Any]] = [
    {"name": Command.TICKET, "type": CommandType.CHAT_INPUT, "description": msg.DESCRIBE_TICKET,
     "options": [{"type": 3, "name": Option.TEXT, "description": msg.DESCRIBE_TEXT,
                  "required": False, "max_length": 4000}]},
    {"name": Command.STATUS, "type": CommandType.CHAT_INPUT, "description": msg.DESCRIBE_STATUS,
     "options": [{"type": 3, "name": Option.ID, "description": msg.DESCRIBE_ID, "required": True}]},
    {"name": Command.QUEUE, "type": CommandType.CHAT_INPUT, "description": msg.DESCRIBE_QUEUE},
    {"name": Command.FILE_MESSAGE, "type": CommandType.MESSAGE},
]
