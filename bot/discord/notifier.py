"""Discord delivery: one alert embed per urgent ticket, edited in place; SLA replies; the requester hears back."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import dramatiq

from bot import cards
from bot.discord import messages as msg
from bot.discord import render
from bot.discord.errors import MessageGone, RateLimited
from bot.discord.rest import RestClient
from bot.view import TicketView, load_view
from storage import tickets
from storage.agents import get_agent
from storage.config import Settings
from storage.db import Database
from storage.errors import NotFound
from storage.models import Ticket
from workers.runtime import current

log = logging.getLogger("switchboard.discord")
PLATFORM = "discord"
ROUTED = frozenset({"assigned", "queued", "no_candidates"})
SLA_KINDS = frozenset({"sla_reminder", "sla_escalated", "auto_unclaimed"})
TELL_REQUESTER = frozenset({"claim", "resolve"})
MERGE_SECONDS = 1.0  # changes closer together than this become one edit
STALE_RESERVATION = cards.STALE_RESERVATION  # seconds a reservation may wait for its message


class DiscordNotifier:
    """Told of every ticket change (through the `chat` queue); posts or edits the card and tells the requester."""

    name = PLATFORM

    def __init__(self, settings: Settings, *, rest: RestClient | None = None,
                 db_getter: Callable[[], Database] | None = None) -> None:
        self.settings = settings
        self._rest = rest
        self._session: aiohttp.ClientSession | None = None
        self._db = db_getter or (lambda: current().db)
        self._last_edit: dict[str, float] = {}

    @property
    def db(self) -> Database:
        return self._db()

    @property
    def rest(self) -> RestClient:
        """The REST client; a worker process makes its own session on first use, inside its event loop."""
        if self._rest is None:
            self._session = aiohttp.ClientSession()
            token = self.settings.discord_bot_token
            self._rest = RestClient(self.settings.discord_api_url, token.get_secret_value() if token else None,
                                    self._session)
        return self._rest

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def ticket_event(self, ticket_id: str, kind: str) -> None:
        """Bring Discord up to date with a change; a long 429 becomes a Dramatiq retry after `retry_after`."""
        try:
            await self._deliver(ticket_id, kind)
        except RateLimited as exc:
            raise dramatiq.Retry(str(exc), delay=int(exc.retry_after * 1000) + 50) from exc

    async def _deliver(self, ticket_id: str, kind: str) -> None:
        view = await load_view(self.db, ticket_id)
        if view is None:
            return
        card = await cards.get(self.db, ticket_id, PLATFORM)
        if card is not None and cards.stale(card, after=STALE_RESERVATION):
            await cards.release(self.db, ticket_id, PLATFORM, claimed_at=card.updated_at)
            card = None
        if card is None:
            if kind in ROUTED and self._urgent(view):
                await self.post_card(view)
        elif card.message_id is not None:
            await self._merge_window(ticket_id)
            await self.refresh(ticket_id)
            if kind in SLA_KINDS:
                await self._reply(card.channel_id, card.message_id, kind, view)
        if kind in TELL_REQUESTER:
            await self._tell_requester(ticket_id, kind, view)

    @property
    def alert_channel(self) -> str | None:
        """Where cards go (the sweeper re-sends lost posts and edits to notifiers that have one)."""
        return self.settings.discord_alert_channel_id or None

    def _urgent(self, view: TicketView) -> bool:
        return (bool(self.settings.discord_alert_channel_id) and view.urgency is not None
                and view.urgency > self.settings.alert_threshold)

    async def post_card(self, view: TicketView) -> None:
        """Post the ticket's one card (the reservation row makes a second delivery a no-op)."""
        channel = self.settings.discord_alert_channel_id
        assert channel is not None
        if not await cards.claim(self.db, view.id, PLATFORM, channel):
            return
        try:
            fresh = await load_view(self.db, view.id) or view
            message = await self.rest.create_message(channel, render.card_message(fresh))
        except BaseException:
            await cards.release(self.db, view.id, PLATFORM)
            raise
        await cards.posted(self.db, view.id, PLATFORM, str(message["id"]), fresh.version)
        self._last_edit[view.id] = time.monotonic()
        await self.refresh(view.id)  # a change that landed while we posted was skipped by its own delivery

    async def refresh(self, ticket_id: str) -> None:
        """Edit the card to show the ticket as it is now, unless it already does."""
        view = await load_view(self.db, ticket_id)
        card = await cards.get(self.db, ticket_id, PLATFORM)
        if view is None or card is None or card.message_id is None:
            return
        before = await cards.take_version(self.db, ticket_id, PLATFORM, view.version)
        if before is None:
            return
        try:
            await self.rest.edit_message(card.channel_id, card.message_id, render.card_message(view))
        except MessageGone:
            log.warning("the Discord card of %s was deleted; it will not be edited again", ticket_id)
            await cards.drop(self.db, ticket_id, PLATFORM, card.message_id)
            return
        except BaseException:
            await cards.give_back_version(self.db, ticket_id, PLATFORM, view.version, before)
            raise
        self._last_edit[ticket_id] = time.monotonic()

    async def _merge_window(self, ticket_id: str) -> None:
        since = time.monotonic() - self._last_edit.get(ticket_id, 0.0)
        if since < MERGE_SECONDS:
            await asyncio.sleep(MERGE_SECONDS - since)

    async def _reply(self, channel_id: str, message_id: str, kind: str, view: TicketView) -> None:
        """An SLA message as a reply to the card; only an escalation pings anyone (the lead)."""
        key = f"{view.id}:{kind}:{view.version}"
        if not await cards.once(self.db, "discord-reply", key, view.id):
            return
        mentions: dict[str, Any] = {"parse": []}
        if kind == "sla_reminder":
            due = f"<t:{int(view.due_at.timestamp())}:R>" if view.due_at else "soon"
            text = msg.SLA_REMINDER.format(id=view.id, due=due)
        elif kind == "sla_escalated":
            lead = await self._lead()
            text = msg.SLA_ESCALATED.format(id=view.id, lead=msg.ESCALATION_LEAD.format(lead=lead[0]) if lead else "")
            if lead and lead[1]:
                mentions["users"] = [lead[1]]
        else:
            text = msg.AUTO_UNCLAIMED.format(id=view.id)
        body = {"content": text, "allowed_mentions": mentions,
                "message_reference": {"message_id": message_id, "fail_if_not_exists": False}}
        try:
            await self.rest.create_message(channel_id, body, kind="reply")
        except BaseException:
            await cards.forget(self.db, "discord-reply", key)
            raise

    async def _lead(self) -> tuple[str, str | None] | None:
        """How to name the team lead on an escalation (a mention when they have a Discord id)."""
        if not self.settings.sla_escalation_lead:
            return None
        try:
            lead = await get_agent(self.db, self.settings.sla_escalation_lead)
        except NotFound:
            return (self.settings.sla_escalation_lead, None)
        if lead.discord_user_id:
            return (f"<@{lead.discord_user_id}>", lead.discord_user_id)
        return (lead.name, None)

    async def _tell_requester(self, ticket_id: str, kind: str, view: TicketView) -> None:
        """A DM to the Discord user who filed the ticket, once per claim or resolve."""
        async with self.db.read() as session:
            ticket = await session.get(Ticket, ticket_id)
        meta = (ticket.meta or {}).get("discord") if ticket else None
        user = meta.get("user_id") if isinstance(meta, dict) else None
        key = f"{ticket_id}:{kind}:{view.version}"
        if not user or not await cards.once(self.db, "discord-dm", key, ticket_id):
            return
        if kind == "claim":
            text = msg.REQUESTER_CLAIMED.format(id=view.id, subject=view.subject,
                                                agent=view.assignee_name or view.assignee_id)
        else:
            note = await _resolution_note(self.db, ticket_id)
            text = msg.REQUESTER_RESOLVED.format(id=view.id, subject=view.subject,
                                                 note=msg.REQUESTER_NOTE.format(note=note) if note else "")
        try:
            channel = await self.rest.dm_channel(str(user))
            await self.rest.create_message(channel, {"content": text, "allowed_mentions": {"parse": []}}, kind="dm")
        except BaseException:
            await cards.forget(self.db, "discord-dm", key)
            raise


async def _resolution_note(db: Database, ticket_id: str) -> str | None:
    for event in reversed(await tickets.events(db, ticket_id)):
        if event.type == "resolve":
            note = (event.data or {}).get("note")
            return str(note) if note else None
    return None
