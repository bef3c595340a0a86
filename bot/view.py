"""One view model of a ticket for every chat surface; Slack and Discord only render it differently."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from storage.agents import find_agent_by_platform
from storage.db import Database
from storage.models import Agent, Ticket
from storage.states import Action, TicketStatus


class Button(StrEnum):
    """The buttons a card can carry; the value is the lifecycle action it runs."""

    CLAIM = "claim"
    COMPLETE = "complete"
    RESOLVE = "resolve"
    RELEASE = "release"
    REOPEN = "reopen"

    @property
    def action(self) -> Action:
        return Action(self.value)


# Which buttons a card shows in each status (DESIGN.md section 7).
BUTTONS: dict[str, tuple[Button, ...]] = {
    TicketStatus.RECEIVED: (Button.CLAIM, Button.RESOLVE),
    TicketStatus.TRIAGED: (Button.CLAIM, Button.RESOLVE),
    TicketStatus.ASSIGNED: (Button.CLAIM, Button.RESOLVE),
    TicketStatus.QUEUED: (Button.CLAIM, Button.RESOLVE),
    TicketStatus.CLAIMED: (Button.COMPLETE, Button.RESOLVE, Button.RELEASE),
    TicketStatus.COMPLETED: (Button.RESOLVE, Button.REOPEN),
    TicketStatus.RESOLVED: (Button.REOPEN,),
}


@dataclass(frozen=True, slots=True)
class TicketView:
    """Everything a card shows, already decided; renderers only lay it out."""

    id: str
    version: int
    subject: str
    excerpt: str
    status: str
    category: str | None
    needs_review: bool
    urgency: float | None
    urgency_label: str | None
    signals: tuple[str, ...]
    sentiment: float | None
    language: str | None
    requester: str | None
    assignee_id: str | None
    assignee_name: str | None
    assignee_slack_id: str | None
    assignee_discord_id: str | None
    suggested_reply: str | None
    model: str | None
    due_at: datetime | None
    buttons: tuple[Button, ...]

    @property
    def held(self) -> bool:
        return self.status == TicketStatus.CLAIMED


def build_view(ticket: Ticket, assignee: Agent | None) -> TicketView:
    excerpt = ticket.body if len(ticket.body) <= 280 else ticket.body[:277].rstrip() + "..."
    return TicketView(
        id=ticket.id,
        version=ticket.version,
        subject=ticket.subject,
        excerpt=excerpt,
        status=ticket.status,
        category=ticket.category,
        needs_review=ticket.needs_review,
        urgency=ticket.urgency,
        urgency_label=ticket.urgency_label,
        signals=tuple(ticket.signals or ()),
        sentiment=ticket.sentiment,
        language=ticket.language or ticket.detected_language,
        requester=ticket.requester_name or ticket.requester_email or ticket.requester_id,
        assignee_id=ticket.assignee_id,
        assignee_name=assignee.name if assignee else None,
        assignee_slack_id=assignee.slack_user_id if assignee else None,
        assignee_discord_id=assignee.discord_user_id if assignee else None,
        suggested_reply=ticket.suggested_reply,
        model=ticket.model,
        due_at=ticket.due_at,
        buttons=BUTTONS.get(ticket.status, ()),
    )


async def load_view(db: Database, ticket_id: str) -> TicketView | None:
    """The view of a ticket as it is now, or None if it does not exist."""
    async with db.read() as session:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None:
            return None
        assignee = await session.get(Agent, ticket.assignee_id) if ticket.assignee_id else None
        return build_view(ticket, assignee)


async def agent_for(db: Database, *, slack_user_id: str | None = None,
                    discord_user_id: str | None = None) -> Agent | None:
    """The registered, active agent behind a chat user; None means the click is refused."""
    return await find_agent_by_platform(db, slack_user_id=slack_user_id, discord_user_id=discord_user_id)
