"""Ids Discord hands back to us: command names, component and modal custom_ids, and their parsing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from bot.view import Button

PREFIX = "ticket"


class Command(StrEnum):
    """Application command names, as registered and as Discord sends them back."""

    TICKET = "ticket"
    STATUS = "ticket-status"
    QUEUE = "ticket-queue"
    FILE_MESSAGE = "File as ticket"


class Option(StrEnum):
    TEXT = "text"
    ID = "id"


class Modal(StrEnum):
    """Modal custom_ids (a resolve note carries the ticket id after the prefix)."""

    NEW_TICKET = "ticket-new"
    RESOLVE_NOTE = "ticket-note"


class Field(StrEnum):
    SUBJECT = "subject"
    BODY = "body"
    NOTE = "note"


class InteractionType(IntEnum):
    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class CommandType(IntEnum):
    CHAT_INPUT = 1
    USER = 2
    MESSAGE = 3


@dataclass(frozen=True, slots=True)
class ButtonId:
    """A parsed `ticket:<action>:<id>` custom_id."""

    button: Button
    ticket_id: str


def button_id(button: Button, ticket_id: str) -> str:
    return f"{PREFIX}:{button}:{ticket_id}"


def parse_button(custom_id: str) -> ButtonId | None:
    """The button behind a custom_id, or None when it is not one of ours."""
    prefix, _, rest = custom_id.partition(":")
    action, _, ticket_id = rest.partition(":")
    if prefix != PREFIX or not ticket_id or action not in Button.__members__.values():
        return None
    return ButtonId(Button(action), ticket_id)


def note_modal_id(ticket_id: str) -> str:
    return f"{Modal.RESOLVE_NOTE}:{ticket_id}"


def parse_note_modal(custom_id: str) -> str | None:
    """The ticket id of a resolve-note modal, or None."""
    prefix, _, ticket_id = custom_id.partition(":")
    return ticket_id if prefix == Modal.RESOLVE_NOTE and ticket_id else None
