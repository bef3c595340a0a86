"""Block Kit from a TicketView: the alert card, and the two modals."""

from __future__ import annotations

from typing import Any

from bot.slack import messages as say
from bot.slack.ids import ActionId, BlockId, Callback
from bot.view import Button, TicketView

_STYLE = {Button.CLAIM: "primary", Button.RESOLVE: "primary", Button.REOPEN: "danger"}
_LABEL = {Button.CLAIM: "Claim", Button.COMPLETE: "Complete", Button.RESOLVE: "Resolve",
          Button.RELEASE: "Release", Button.REOPEN: "Reopen"}
_ICON = {"critical": ":rotating_light:", "high": ":warning:", "medium": ":large_yellow_circle:", "low": ":white_circle:"}


def summary(view: TicketView) -> str:
    """The plain-text fallback (notifications, screen readers)."""
    return f"{view.urgency_label or 'new'} {view.category or ''} ticket {view.id}: {view.subject}".strip()


def _holder(view: TicketView) -> str:
    if view.assignee_id is None:
        return "nobody yet"
    # Show the name, never an @mention: the person who just acted is not pinged.
    name = view.assignee_name or view.assignee_id
    return f"{name} ({'claimed' if view.held else 'suggested'})" if view.status in ("assigned", "claimed") else name


def card(view: TicketView, *, delayed_seconds: float = 0.0) -> list[dict[str, Any]]:
    """The alert card: what it is, how urgent and why, who has it, and the buttons that apply now."""
    icon = _ICON.get(view.urgency_label or "", ":ticket:")
    urgency = "–" if view.urgency is None else f"{view.urgency:.2f} ({view.urgency_label})"
    signals = ", ".join(s.replace("_", " ") for s in view.signals) or "none"
    category = (view.category or "untriaged") + (" · needs review" if view.needs_review else "")
    body = "" if view.excerpt.strip() == view.subject.strip() else f"\n{view.excerpt}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{view.id} · {category}"[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} *{view.subject}*{body}"[:3000]}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Urgency*\nS {urgency}"},
            {"type": "mrkdwn", "text": f"*Signals*\n{signals}"},
            {"type": "mrkdwn", "text": f"*Requester*\n{view.requester or 'unknown'}"},
            {"type": "mrkdwn", "text": f"*Language*\n{view.language or '–'}"},
            {"type": "mrkdwn", "text": f"*Status*\n{view.status}"},
            {"type": "mrkdwn", "text": f"*Assignee*\n{_holder(view)}"},
        ]},
    ]
    if view.suggested_reply:
        reply = view.suggested_reply if len(view.suggested_reply) <= 180 else view.suggested_reply[:177] + "..."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"*Suggested reply:* {reply}"}]})
    if delayed_seconds >= 5:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn",
                                                        "text": say.DELAYED.format(seconds=delayed_seconds)}]})
    if view.buttons:
        blocks.append({"type": "actions", "block_id": f"actions:{view.id}", "elements": [
            {"type": "button", "action_id": str(ActionId.of(b)), "value": view.id,
             "text": {"type": "plain_text", "text": _LABEL[b]}, **({"style": _STYLE[b]} if b in _STYLE else {})}
            for b in view.buttons
        ]})
    return blocks


def _input(block_id: BlockId, label: str, *, multiline: bool = False, optional: bool = False) -> dict[str, Any]:
    return {"type": "input", "block_id": str(block_id), "optional": optional,
            "label": {"type": "plain_text", "text": label},
            "element": {"type": "plain_text_input", "action_id": "value", "multiline": multiline}}


def new_ticket_modal(channel_id: str | None) -> dict[str, Any]:
    urgency = {
        "type": "input", "block_id": str(BlockId.URGENCY), "optional": True,
        "label": {"type": "plain_text", "text": "How urgent is it for you?"},
        "element": {"type": "static_select", "action_id": "value", "options": [
            {"text": {"type": "plain_text", "text": label}, "value": value}
            for value, label in say.URGENCY_HINTS.items()
        ]},
    }
    return {
        "type": "modal", "callback_id": str(Callback.NEW_TICKET_MODAL), "private_metadata": channel_id or "",
        "title": {"type": "plain_text", "text": say.NEW_TICKET_TITLE},
        "submit": {"type": "plain_text", "text": "File it"},
        "blocks": [_input(BlockId.SUBJECT, "Subject"), _input(BlockId.DESCRIPTION, "What is wrong?", multiline=True),
                   urgency],
    }


def resolve_modal(ticket_id: str) -> dict[str, Any]:
    return {
        "type": "modal", "callback_id": str(Callback.RESOLVE_MODAL), "private_metadata": ticket_id,
        "title": {"type": "plain_text", "text": say.RESOLVE_TITLE.format(id=ticket_id)[:24]},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "blocks": [_input(BlockId.NOTE, "Resolution note (the requester sees it)", multiline=True, optional=True)],
    }


def modal_value(view: dict[str, Any], block_id: BlockId) -> str | None:
    """The value a user entered in one input of a submitted modal."""
    element = view.get("state", {}).get("values", {}).get(str(block_id), {}).get("value", {})
    if "selected_option" in element:
        return (element.get("selected_option") or {}).get("value")
    return element.get("value")
