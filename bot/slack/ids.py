"""Every id Slack and our code must agree on: the command, callback ids, action ids."""

from __future__ import annotations

from enum import StrEnum

from bot.view import Button

COMMAND = "/ticket"


class Callback(StrEnum):
    NEW_TICKET_MODAL = "ticket_new"
    RESOLVE_MODAL = "ticket_resolve_note"
    FILE_AS_TICKET = "file_as_ticket"  # the message shortcut


class ActionId(StrEnum):
    CLAIM = "ticket_claim"
    COMPLETE = "ticket_complete"
    RESOLVE = "ticket_resolve"
    RELEASE = "ticket_release"
    REOPEN = "ticket_reopen"

    @classmethod
    def of(cls, button: Button) -> ActionId:
        return cls(f"ticket_{button.value}")

    @property
    def button(self) -> Button:
        return Button(self.value.removeprefix("ticket_"))


class BlockId(StrEnum):
    SUBJECT = "subject"
    DESCRIPTION = "description"
    URGENCY = "urgency"
    NOTE = "note"


REACTION = "ticket"  # :ticket: turns a message into a ticket
