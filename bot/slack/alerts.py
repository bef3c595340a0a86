"""Slack delivery: one alert card per urgent ticket, edited in place; the requester hears back.

(Not named notifier.py: that would shadow `bot.slack.notifier()`, which worker processes call.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import dramatiq
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import cards
from bot.slack import blocks
from bot.slack import messages as say
from bot.slack.client import retry_after
from bot.view import TicketView, load_view
from storage.agents import get_agent
from storage.config import Settings
from storage.db import Database
from storage.errors import NotFound
from storage.models import Ticket
from storage.tickets import events
from workers.metrics import CHAT_DELAY, CHAT_FAILURES, CHAT_POSTS

log = logging.getLogger("switchboard.slack")
PLATFORM = "slack"
ROUTED = frozenset({"assigned", "queued", "no_candidates"})
THREADED = frozenset({"sla_reminder", "sla_escalated", "auto_unclaimed"})
MERGE_SECONDS = 1.0  # changes closer together than this become one edit
PACE_SECONDS = 1.0  # Slack allows about one chat.postMessage per second and channel
LONG_DELAY = 5.0


class ChannelPacer:
    """Keeps posts to one channel about `interval` apart (Slack's chat.postMessage limit)."""

    def __init__(self, interval: float = PACE_SECONDS) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}

    async def wait(self, channel: str) -> float:
        now = time.monotonic()
        at = max(now, self._next.get(channel, 0.0))
        self._next[channel] = at + self.interval
        delay = at - now
        CHAT_DELAY.labels(PLATFORM).observe(delay)
        if delay > 0:
            if delay >= LONG_DELAY:
                log.warning("slack channel %s is busy: posting %.1fs late", channel, delay)
            await asyncio.sleep(delay)
        return delay


class SlackNotifier:
    """Told of every ticket change; posts or edits the card and tells the requester."""

    name = PLATFORM

    def __init__(self, settings: Settings, client: AsyncWebClient, db_getter: Callable[[], Database], *,
                 merge_seconds: float = MERGE_SECONDS, pace_seconds: float = PACE_SECONDS) -> None:
        self.settings = settings
        self.client = client
        self._db = db_getter
        self.merge_seconds = merge_seconds
        self.pacer = ChannelPacer(pace_seconds)
        self._last_edit: dict[str, float] = {}

    @property
    def db(self) -> Database:
        return self._db()

    async def call(self, kind: str, method: str, **kwargs: Any) -> Any:
        """One Web API call, counted; slack-sdk already retried 429s and 5xx before this raises."""
        try:
            answer = await getattr(self.client, method)(**kwargs)
        except (SlackApiError, aiohttp.ClientError, TimeoutError):
            CHAT_FAILURES.labels(PLATFORM).inc()
            raise
        CHAT_POSTS.labels(PLATFORM, kind).inc()
        return answer

    async def ticket_event(self, ticket_id: str, kind: str) -> None:
        try:
            await self._deliver(ticket_id, kind)
        except SlackApiError as exc:
            if (wait := retry_after(exc)) is not None:  # still rate limited: the chat actor tries again later
                raise dramatiq.Retry(f"slack rate limited {ticket_id}/{kind}", delay=int(wait * 1000)) from exc
            raise

    async def _deliver(self, ticket_id: str, kind: str) -> None:
        view = await load_view(self.db, ticket_id)
        if view is None:
            return
        card = await cards.get(self.db, ticket_id, PLATFORM)
        if card is not None and cards.stale(card):  # its poster died before posting: post it now
            await cards.release(self.db, ticket_id, PLATFORM, claimed_at=card.updated_at)
            card = None
        if card is None:
            if kind in ROUTED and self._urgent(view):
                await self.post_card(view)
        else:
            await self.refresh_soon(ticket_id)
            if kind in THREADED and card.message_id:
                await self._thread(card.channel_id, card.message_id, kind, view)
        if kind in ("claim", "resolve"):
            await self._tell_requester(ticket_id, kind, view)

    @property
    def alert_channel(self) -> str | None:
        """Where cards go (the sweeper re-sends lost posts and edits to notifiers that have one)."""
        return self.settings.slack_alert_channel

    def _urgent(self, view: TicketView) -> bool:
        return (self.settings.slack_alert_channel is not None and view.urgency is not None
                and view.urgency > self.settings.alert_threshold)

    async def post_card(self, view: TicketView) -> None:
        channel = self.settings.slack_alert_channel
        assert channel is not None
        # Wait for the channel before reserving: a reservation then lives only as long as one post,
        # so the sweeper's STALE_RESERVATION never mistakes a queue for a dead poster.
        delay = await self.pacer.wait(channel)
        if not await cards.claim(self.db, view.id, PLATFORM, channel):
            return  # another delivery is posting (or posted) this card
        try:
            fresh = await load_view(self.db, view.id) or view
            answer = await self.call("card", "chat_postMessage", channel=channel, text=blocks.summary(fresh),
                                     blocks=blocks.card(fresh, delayed_seconds=delay))
        except BaseException:
            await cards.release(self.db, view.id, PLATFORM)
            raise
        await cards.posted(self.db, view.id, PLATFORM, str(answer["ts"]), fresh.version)
        self._edited(view.id)
        # A change that landed while we were posting found no message to edit: catch up now.
        await self.refresh(view.id)

    async def refresh(self, ticket_id: str) -> bool:
        """Edit the card to show the ticket as it is now, unless it already does; True when edited."""
        view = await load_view(self.db, ticket_id)
        card = await cards.get(self.db, ticket_id, PLATFORM)
        if view is None or card is None or card.message_id is None:
            return False
        before = await cards.take_version(self.db, ticket_id, PLATFORM, view.version)
        if before is None:
            return False
        try:
            await self.call("update", "chat_update", channel=card.channel_id, ts=card.message_id,
                            text=blocks.summary(view), blocks=blocks.card(view))
        except BaseException:
            await cards.give_back_version(self.db, ticket_id, PLATFORM, view.version, before)
            raise
        self._edited(ticket_id)
        return True

    def _edited(self, ticket_id: str) -> None:
        now = time.monotonic()
        self._last_edit[ticket_id] = now
        if len(self._last_edit) > 10_000:  # only edits inside the merge window matter: forget the rest
            self._last_edit = {k: t for k, t in self._last_edit.items() if now - t < self.merge_seconds}

    async def refresh_soon(self, ticket_id: str) -> bool:
        """Refresh now, or once the merge window since the last edit has passed (one edit for a burst)."""
        since = time.monotonic() - self._last_edit.get(ticket_id, 0.0)
        if since < self.merge_seconds:
            await asyncio.sleep(self.merge_seconds - since)
        return await self.refresh(ticket_id)

    async def _thread(self, channel: str, ts: str, kind: str, view: TicketView) -> None:
        due = view.due_at.strftime("%H:%M UTC") if view.due_at else "soon"
        text = {"sla_reminder": say.REMINDER.format(id=view.id, due=due),
                "sla_escalated": say.ESCALATED.format(id=view.id, lead=await self._lead()),
                "auto_unclaimed": say.AUTO_UNCLAIMED.format(id=view.id)}[kind]
        key = f"{view.id}:{kind}:{view.version}"
        if await cards.once(self.db, "slack-thread", key, view.id):
            try:
                await self.call("thread", "chat_postMessage", channel=channel, thread_ts=ts, text=text)
            except BaseException:
                await cards.forget(self.db, "slack-thread", key)
                raise

    async def _lead(self) -> str:
        """" to <@lead>" when the escalation lead is an agent with a Slack user (an escalation should ping)."""
        if not self.settings.sla_escalation_lead:
            return ""
        try:
            lead = await get_agent(self.db, self.settings.sla_escalation_lead)
        except NotFound:
            return ""
        return say.TO_LEAD.format(lead=f"<@{lead.slack_user_id}>" if lead.slack_user_id else lead.name)

    async def _tell_requester(self, ticket_id: str, kind: str, view: TicketView) -> None:
        async with self.db.read() as session:
            ticket = await session.get(Ticket, ticket_id)
        slack_meta = (ticket.meta or {}).get("slack") if ticket else None
        user = slack_meta.get("user_id") if isinstance(slack_meta, dict) else None
        if not user:
            return
        history = [e for e in await events(self.db, ticket_id) if e.type == kind]
        if not history:
            return
        # Keyed by how many such events there were: a retry says nothing twice, a second resolve speaks again.
        key = f"{ticket_id}:{kind}:{len(history)}"
        if not await cards.once(self.db, "slack-dm", key, ticket_id):
            return
        if kind == "claim":
            text = say.CLAIMED_FOR_REQUESTER.format(id=view.id, subject=view.subject,
                                                    agent=view.assignee_name or view.assignee_id)
        else:
            note = (history[-1].data or {}).get("note")
            text = say.RESOLVED_FOR_REQUESTER.format(id=view.id, subject=view.subject,
                                                     note=f"\n>{note}" if note else "")
        try:
            await self.direct_message(user, text)
        except BaseException:
            await cards.forget(self.db, "slack-dm", key)
            raise

    async def direct_message(self, user: str, text: str) -> None:
        opened = await self.call("dm_open", "conversations_open", users=user)
        await self.call("dm", "chat_postMessage", channel=opened["channel"]["id"], text=text)

