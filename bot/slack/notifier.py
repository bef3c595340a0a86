"""Slack delivery: one alert card per urgent ticket, edited in place; the requester hears back."""

from __future__ import annotations

import asyncio
import logging
import time

from slack_sdk.web.async_client import AsyncWebClient

from bot import cards
from bot.slack import blocks
from bot.slack import messages as say
from bot.view import TicketView, load_view
from storage.config import Settings
from storage.db import Database
from storage.models import Ticket

log = logging.getLogger("switchboard.slack")
PLATFORM = "slack"
ROUTED = frozenset({"assigned", "queued", "no_candidates"})
MERGE_SECONDS = 1.0  # changes closer together than this become one edit
LONG_DELAY = 5.0


class ChannelPacer:
    """Keeps posts to one channel about a second apart (Slack's chat.postMessage limit)."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}

    async def wait(self, channel: str) -> float:
        now = time.monotonic()
        at = max(now, self._next.get(channel, 0.0))
        self._next[channel] = at + self.interval
        delay = at - now
        if delay > 0:
            if delay >= LONG_DELAY:
                log.warning("slack channel %s is busy: posting %.1fs late", channel, delay)
            await asyncio.sleep(delay)
        return delay


class SlackNotifier:
    """Told of every ticket change; posts or edits the card and tells the requester."""

    name = PLATFORM

    def __init__(self, settings: Settings, client: AsyncWebClient, db_getter) -> None:  # type: ignore[no-untyped-def]
        self.settings = settings
        self.client = client
        self._db = db_getter
        self.pacer = ChannelPacer()
        self._last_edit: dict[str, float] = {}

    @property
    def db(self) -> Database:
        return self._db()

    async def ticket_event(self, ticket_id: str, kind: str) -> None:
        view = await load_view(self.db, ticket_id)
        if view is None:
            return
        card = await cards.get(self.db, ticket_id, PLATFORM)
        if card is None:
            if kind in ROUTED and self._urgent(view):
                await self.post_card(view)
        else:
            await self._merge_window(ticket_id)
            await self.refresh(ticket_id)
            if kind in ("sla_reminder", "sla_escalated", "auto_unclaimed") and card.message_id:
                await self._thread(card.channel_id, card.message_id, kind, view)
        if kind in ("claim", "resolve"):
            await self._tell_requester(ticket_id, kind, view)

    def _urgent(self, view: TicketView) -> bool:
        return (self.settings.slack_alert_channel is not None and view.urgency is not None
                and view.urgency > self.settings.alert_threshold)

    async def post_card(self, view: TicketView) -> None:
        channel = self.settings.slack_alert_channel
        assert channel is not None
        if not await cards.claim(self.db, view.id, PLATFORM, channel):
            return  # another delivery is posting (or posted) this card
        try:
            delay = await self.pacer.wait(channel)
            fresh = await load_view(self.db, view.id) or view
            answer = await self.client.chat_postMessage(channel=channel, text=blocks.summary(fresh),
                                                        blocks=blocks.card(fresh, delayed_seconds=delay))
        except BaseException:
            await cards.release(self.db, view.id, PLATFORM)
            raise
        await cards.posted(self.db, view.id, PLATFORM, str(answer["ts"]), fresh.version)
        self._last_edit[view.id] = time.monotonic()

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
            await self.client.chat_update(channel=card.channel_id, ts=card.message_id, text=blocks.summary(view),
                                          blocks=blocks.card(view))
        except BaseException:
            await cards.give_back_version(self.db, ticket_id, PLATFORM, view.version, before)
            raise
        self._last_edit[ticket_id] = time.monotonic()

    async def _merge_window(self, ticket_id: str) -> None:
        since = time.monotonic() - self._last_edit.get(ticket_id, 0.0)
        if since < MERGE_SECONDS:
            await asyncio.sleep(MERGE_SECONDS - since)

    async def _thread(self, channel: str, ts: str, kind: str, view: TicketView) -> None:
        due = view.due_at.strftime("%H:%M UTC") if view.due_at else "soon"
        text = {"sla_reminder": say.REMINDER.format(id=view.id, due=due),
                "sla_escalated": say.ESCALATED.format(id=view.id, lead=""),
                "auto_unclaimed": say.AUTO_UNCLAIMED.format(id=view.id)}[kind]
        if await cards.once(self.db, "slack-thread", f"{view.id}:{kind}:{view.version}", view.id):
            await self.client.chat_postMessage(channel=channel, thread_ts=ts, text=text)

    async def _tell_requester(self, ticket_id: str, kind: str, view: TicketView) -> None:
        async with self.db.read() as session:
            ticket = await session.get(Ticket, ticket_id)
        slack_meta = (ticket.meta or {}).get("slack") if ticket else None
        user = slack_meta.get("user_id") if isinstance(slack_meta, dict) else None
        if not user or not await cards.once(self.db, "slack-dm", f"{ticket_id}:{kind}:{view.version}", ticket_id):
            return
        if kind == "claim":
            text = say.CLAIMED_FOR_REQUESTER.format(id=view.id, subject=view.subject,
                                                    agent=view.assignee_name or view.assignee_id)
        else:
            note = await _resolution_note(self.db, ticket_id)
            text = say.RESOLVED_FOR_REQUESTER.format(id=view.id, subject=view.subject,
                                                     note=f"\n>{note}" if note else "")
        try:
            opened = await self.client.conversations_open(users=user)
            await self.client.chat_postMessage(channel=opened["channel"]["id"], text=text)
        except BaseException:
            await cards.forget(self.db, "slack-dm", f"{ticket_id}:{kind}:{view.version}")
            raise


async def _resolution_note(db: Database, ticket_id: str) -> str | None:
    from storage.tickets import events

    for event in reversed(await events(db, ticket_id)):
        if event.type == "resolve":
            note = (event.data or {}).get("note")
            return str(note) if note else None
    return None
