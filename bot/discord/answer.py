"""What a handler answers, platform-neutral enough for HTTP mode (JSON) and gateway mode (discord.py)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import discord
from discord import ui

EPHEMERAL = 64  # message flag: only the person who acted sees it
NO_PINGS: dict[str, Any] = {"parse": []}  # never @mention anyone from a card or a reply


class Callback(IntEnum):
    """Interaction callback types (the `type` of our response)."""

    PONG = 1
    MESSAGE = 4
    DEFERRED_MESSAGE = 5
    DEFERRED_UPDATE = 6
    UPDATE = 7
    MODAL = 9


@dataclass(frozen=True, slots=True)
class Answer:
    """One response to an interaction: a message, an in-place update, a modal, or a deferral."""

    type: Callback
    content: str | None = None
    embed: discord.Embed | None = None
    view: ui.View | None = None
    modal: ui.Modal | None = None
    ephemeral: bool = False
    ticket_id: str | None = None  # the ticket this answer is about (kept with the stored answer)

    def message(self) -> dict[str, Any]:
        """The message body (for callbacks, follow-ups and channel posts)."""
        data: dict[str, Any] = {"allowed_mentions": NO_PINGS}
        if self.content is not None:
            data["content"] = self.content
        if self.embed is not None:
            data["embeds"] = [self.embed.to_dict()]
        if self.view is not None:
            data["components"] = self.view.to_components()
        elif self.type is Callback.UPDATE:
            data["components"] = []
        if self.ephemeral:
            data["flags"] = EPHEMERAL
        return data

    def payload(self) -> dict[str, Any]:
        """The interaction response as Discord expects it in HTTP mode."""
        if self.type is Callback.MODAL and self.modal is not None:
            return {"type": int(self.type), "data": self.modal.to_dict()}
        if self.type is Callback.DEFERRED_UPDATE:
            return {"type": int(self.type)}
        if self.type is Callback.DEFERRED_MESSAGE:
            return {"type": int(self.type), "data": {"flags": EPHEMERAL} if self.ephemeral else {}}
        return {"type": int(self.type), "data": self.message()}


def say(content: str, *, ticket_id: str | None = None) -> Answer:
    """An ephemeral reply to the person who acted."""
    return Answer(Callback.MESSAGE, content=content, ephemeral=True, ticket_id=ticket_id)
