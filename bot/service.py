"""Platform-neutral chat service: file a ticket once per request, act on one, and say why an act was refused.

Slack and Discord handlers call these and only render the outcome; nothing here knows a platform's
payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.view import agent_for
from storage import tickets as store
from storage.agents import get_agent
from storage.errors import AlreadyClaimed, AtCapacity, IllegalTransition, NotFound, NotHolder, StorageError
from storage.models import Ticket
from storage.states import Action
from workers import pipeline
from workers.runtime import Runtime

SUBJECT_MAX = 80


def subject_of(text: str, limit: int = SUBJECT_MAX) -> str:
    """The first line of a text, cut to a subject's length."""
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Filed:
    """A ticket filed from chat; `created` is False when the same request had filed it already."""

    ticket: store.Receipt
    created: bool


async def file_ticket(rt: Runtime, *, platform: str, key: str, body: str, subject: str | None = None,
                      requester_id: str, requester_name: str | None, metadata: dict[str, Any],
                      actor: str) -> Filed:
    """Commit a ticket (once per `key` within `platform`, even when requests race) and ring the pipeline."""
    body = body.strip()
    new = store.NewTicket(subject=(subject or "").strip() or subject_of(body), body=body, channel=platform,
                          requester_id=f"{platform}:{requester_id}", requester_name=requester_name,
                          metadata=metadata, actor=actor)
    ticket, created = await pipeline.accept(rt, new, idempotency=store.Idempotency(scope=platform, key=key))
    return Filed(ticket, created)


class Reason(StrEnum):
    """Why a chat user's action on a ticket did not happen."""

    NOT_AN_AGENT = "not_an_agent"
    ALREADY_CLAIMED = "already_claimed"
    NOT_HOLDER = "not_holder"
    ILLEGAL = "illegal"
    AT_CAPACITY = "at_capacity"
    NOT_FOUND = "not_found"
    BUSY = "busy"


@dataclass(frozen=True, slots=True)
class Refused:
    """A refusal with what the message needs: the holder's name, the ticket's status."""

    reason: Reason
    holder: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class Acted:
    """The outcome of a click: the ticket after the action, or why it was refused (exactly one is set)."""

    ticket: Ticket | None = None
    refused: Refused | None = None
    agent_id: str | None = None


async def holder_name(rt: Runtime, agent_id: str | None) -> str:
    """An agent's display name for a refusal (their id when they are gone)."""
    if not agent_id:
        return "someone else"
    try:
        return (await get_agent(rt.db, agent_id)).name
    except NotFound:
        return agent_id


async def refusal(rt: Runtime, exc: StorageError) -> Refused:
    """Translate a storage conflict into a refusal the chat surfaces can phrase."""
    details = exc.details if isinstance(exc.details, dict) else {}
    status = details.get("status")
    if isinstance(exc, AlreadyClaimed):
        return Refused(Reason.ALREADY_CLAIMED, await holder_name(rt, details.get("claimed_by")), status)
    if isinstance(exc, NotHolder):
        return Refused(Reason.NOT_HOLDER, await holder_name(rt, details.get("claimed_by")), status)
    if isinstance(exc, IllegalTransition):
        return Refused(Reason.ILLEGAL, status=status or "changed")
    if isinstance(exc, AtCapacity):
        return Refused(Reason.AT_CAPACITY)
    if isinstance(exc, NotFound):
        return Refused(Reason.NOT_FOUND)
    return Refused(Reason.BUSY)


async def act(rt: Runtime, ticket_id: str, action: Action, *, platform: str, user_id: str,
              note: str | None = None) -> Acted:
    """Run `action` for the registered agent behind a chat user; refused for anyone else or on a conflict."""
    lookup = {"slack_user_id": user_id} if platform == "slack" else {"discord_user_id": user_id}
    agent = await agent_for(rt.db, **lookup)
    if agent is None:
        return Acted(refused=Refused(Reason.NOT_AN_AGENT))
    try:
        ticket = await pipeline.perform(rt, ticket_id, action, agent_id=agent.id, note=note, channel=platform)
    except StorageError as exc:
        return Acted(refused=await refusal(rt, exc), agent_id=agent.id)
    return Acted(ticket=ticket, agent_id=agent.id)


async def is_agent(rt: Runtime, *, platform: str, user_id: str) -> bool:
    """Whether a chat user may work tickets (checked before opening a form for them)."""
    lookup = {"slack_user_id": user_id} if platform == "slack" else {"discord_user_id": user_id}
    return await agent_for(rt.db, **lookup) is not None
