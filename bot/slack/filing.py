"""Turning Slack input into tickets: a slash command's text, the form, or someone's message."""

from __future__ import annotations

import hashlib
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import service
from bot.slack import messages as msg
from bot.slack.app import SlackBot
from bot.view import load_view
from storage import tickets as store

PLATFORM = "slack"
QUEUE_SHOWN = 10


def command_key(command: dict[str, Any]) -> str:
    """What stays the same when Slack retries a slash command: its trigger_id (the body is resent as is)."""
    if trigger := command.get("trigger_id"):
        return f"command:{trigger}"
    raw = "|".join(str(command.get(k, "")) for k in ("team_id", "channel_id", "user_id", "text", "response_url"))
    return "command:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _slack_meta(user_id: str, channel_id: str | None, team_id: str | None, **extra: Any) -> dict[str, Any]:
    return {"slack": {"user_id": user_id, "channel_id": channel_id, "team_id": team_id, **extra}}


async def from_command(bot: SlackBot, command: dict[str, Any], text: str) -> str:
    """File `/ticket <text>` (once per command, even when Slack retries it); the ephemeral receipt."""
    user = str(command.get("user_id", ""))
    filed = await service.file_ticket(
        bot.runtime, platform=PLATFORM, key=command_key(command), body=text,
        requester_id=user, requester_name=command.get("user_name") or user,
        metadata=_slack_meta(user, command.get("channel_id"), command.get("team_id")), actor=f"slack:{user}")
    return _receipt(filed)


def _receipt(filed: service.Filed) -> str:
    if filed.created:
        return msg.RECEIPT.format(id=filed.ticket.id)
    return msg.RECEIPT_AGAIN.format(id=filed.ticket.id, status=filed.ticket.status)


async def from_form(bot: SlackBot, view: dict[str, Any], user: dict[str, Any], *, subject: str,
                    description: str, urgency: str | None) -> service.Filed:
    """File the new-ticket form; a resubmitted view (same view id) files nothing new."""
    user_id = str(user.get("id", ""))
    channel = view.get("private_metadata") or None
    extra = {"urgency_hint": urgency} if urgency else {}
    return await service.file_ticket(
        bot.runtime, platform=PLATFORM, key=f"view:{view.get('id')}", body=description, subject=subject,
        requester_id=user_id, requester_name=user.get("name") or user.get("username") or user_id,
        metadata=_slack_meta(user_id, channel, (user.get("team_id")), **extra), actor=f"slack:{user_id}")


async def display_name(bot: SlackBot, user_id: str) -> str:
    """A Slack user's name for the ticket (users.info); their id when Slack will not say."""
    try:
        answer = await bot.client.users_info(user=user_id)
    except SlackApiError:
        return user_id
    user = answer.get("user") or {}
    profile = user.get("profile") or {}
    return str(profile.get("display_name") or user.get("real_name") or user.get("name") or user_id)


async def from_message(bot: SlackBot, *, channel: str, message: dict[str, Any], filed_by: str,
                       team_id: str | None) -> str:
    """File someone's message (shortcut or :ticket: reaction): its author is the requester; the receipt."""
    text = str(message.get("text") or "").strip()
    if not text:
        return msg.NO_TEXT_IN_MESSAGE
    ts = str(message.get("ts", ""))
    author = str(message.get("user") or filed_by)
    # One ticket per message, however it is filed and however often Slack retries the event.
    filed = await service.file_ticket(
        bot.runtime, platform=PLATFORM, key=f"message:{channel}:{ts}", body=text,
        requester_id=author, requester_name=await display_name(bot, author),
        metadata=_slack_meta(author, channel, team_id, message_ts=ts, filed_by=filed_by),
        actor=f"slack:{filed_by}")
    if filed.created:
        return msg.SHORTCUT_RECEIPT.format(id=filed.ticket.id)
    return msg.ALREADY_FILED.format(id=filed.ticket.id, status=filed.ticket.status)


async def status_text(bot: SlackBot, ticket_id: str) -> str:
    view = await load_view(bot.runtime.db, ticket_id.strip().upper())
    if view is None:
        return msg.NOT_FOUND.format(id=ticket_id.strip())
    urgency = f"{view.urgency:.2f}" if view.urgency is not None else "–"
    assignee = f" · {view.assignee_name or view.assignee_id}" if view.assignee_id else ""
    return msg.STATUS.format(id=view.id, status=view.status, category=view.category or "untriaged",
                             urgency=urgency, assignee=assignee, subject=view.subject)


async def queue_text(bot: SlackBot) -> str:
    size, items = await store.waiting(bot.runtime.db, limit=QUEUE_SHOWN)
    if not size:
        return msg.QUEUE_EMPTY
    lines = [msg.QUEUE_HEAD.format(size=size)]
    lines += [msg.QUEUE_LINE.format(id=t.id, urgency=f"{t.urgency:.2f}" if t.urgency is not None else "–",
                                    category=t.category or "untriaged", subject=t.subject) for t in items]
    return "\n".join(lines)
