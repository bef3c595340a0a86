"""Discord rendering of the shared TicketView: an Embed plus a row of buttons, and our modals."""

from __future__ import annotations

from typing import Any

import discord
from discord import ui

from bot.discord import messages as msg
from bot.discord.components import Field, Modal, button_id, note_modal_id
from bot.view import Button, TicketView

STYLES = {
    Button.CLAIM: discord.ButtonStyle.primary,
    Button.COMPLETE: discord.ButtonStyle.success,
    Button.RESOLVE: discord.ButtonStyle.success,
    Button.RELEASE: discord.ButtonStyle.secondary,
    Button.REOPEN: discord.ButtonStyle.secondary,
}
STATUS_COLOURS = {"claimed": 0x5865F2, "completed": 0x1ABC9C, "resolved": 0x57F287}


def colour(view: TicketView) -> int:
    if view.status in STATUS_COLOURS:
        return STATUS_COLOURS[view.status]
    urgency = view.urgency or 0.0
    return 0xED4245 if urgency > 0.8 else 0xFEE75C if urgency > 0.5 else 0x99AAB5


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _assignee(view: TicketView) -> str:
    if view.assignee_discord_id:  # a mention in an embed shows a name and pings nobody
        return f"<@{view.assignee_discord_id}>"
    return view.assignee_name or view.assignee_id or msg.NOBODY


def status_line(view: TicketView) -> str:
    line = msg.STATUS_LINES.get(view.status, view.status)
    return line.format(assignee=_assignee(view))


def urgency_line(view: TicketView) -> str:
    if view.urgency is None:
        return "not scored yet"
    label = f" {view.urgency_label}" if view.urgency_label else ""
    signals = f"\n{', '.join(s.replace('_', ' ') for s in view.signals)}" if view.signals else ""
    return f"**{view.urgency:.2f}**{label}{signals}"


def embed(view: TicketView) -> discord.Embed:
    """The card: what it is, how urgent and why, who asked, who has it."""
    card = discord.Embed(title=_clip(f"{view.id} · {view.subject or '(no subject)'}", 256),
                         description=_clip(view.excerpt, 4000) or None, colour=colour(view))
    card.add_field(name=msg.FIELD_STATUS, value=status_line(view), inline=True)
    category = view.category or "—"
    if view.needs_review:
        category += f" ({msg.NEEDS_REVIEW})"
    card.add_field(name=msg.FIELD_CATEGORY, value=category, inline=True)
    card.add_field(name=msg.FIELD_URGENCY, value=_clip(urgency_line(view), 1024), inline=True)
    if view.requester:
        card.add_field(name=msg.FIELD_REQUESTER, value=_clip(view.requester, 1024), inline=True)
    if view.due_at is not None and view.status not in ("completed", "resolved"):
        card.add_field(name=msg.FIELD_DUE, value=f"<t:{int(view.due_at.timestamp())}:R>", inline=True)
    if view.suggested_reply:
        card.add_field(name=msg.FIELD_SUGGESTED_REPLY, value=_clip(view.suggested_reply, 1024), inline=False)
    card.set_footer(text=f"{view.id} · v{view.version}")
    return card


def buttons(view: TicketView) -> ui.View:
    """The buttons the ticket's status allows, each with custom_id `ticket:<action>:<id>`."""
    row = ui.View(timeout=None)
    for button in view.buttons:
        row.add_item(ui.Button(label=msg.BUTTON_LABELS[button], style=STYLES[button],
                               custom_id=button_id(button, view.id)))
    return row


def card_message(view: TicketView) -> dict[str, Any]:
    """The REST body of an alert post or edit."""
    return {"embeds": [embed(view).to_dict()], "components": buttons(view).to_components(),
            "allowed_mentions": {"parse": []}}


def new_ticket_modal() -> ui.Modal:
    modal = ui.Modal(title=msg.MODAL_NEW_TITLE, custom_id=Modal.NEW_TICKET, timeout=None)
    modal.add_item(ui.TextInput(label=msg.MODAL_SUBJECT, custom_id=Field.SUBJECT, placeholder=msg.MODAL_SUBJECT_HINT,
                                max_length=200))
    modal.add_item(ui.TextInput(label=msg.MODAL_BODY, custom_id=Field.BODY, placeholder=msg.MODAL_BODY_HINT,
                                style=discord.TextStyle.paragraph, max_length=4000))
    return modal


def resolve_note_modal(ticket_id: str) -> ui.Modal:
    modal = ui.Modal(title=_clip(msg.MODAL_NOTE_TITLE.format(id=ticket_id), 45),
                     custom_id=note_modal_id(ticket_id), timeout=None)
    modal.add_item(ui.TextInput(label=msg.MODAL_NOTE, custom_id=Field.NOTE, placeholder=msg.MODAL_NOTE_HINT,
                                style=discord.TextStyle.paragraph, required=False, max_length=1000))
    return modal
