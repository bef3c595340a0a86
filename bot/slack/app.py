"""The Slack app: a bolt AsyncApp with our listeners, served at `POST /slack/events` of the intake app."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.alerts import PLATFORM, SlackNotifier
from storage.config import Settings
from workers.metrics import CHAT_FAILURES, CHAT_POSTS
from workers.runtime import Runtime

log = logging.getLogger("switchboard.slack")
PATH = "/slack/events"
MAX_AGE = 5 * 60  # seconds: older signed requests are refused (replays)
BOT = "switchboard"  # the key under which listeners find the SlackBot in bolt's context
BACKGROUND_LIMIT = 8  # concurrent post-ack jobs (the database pool is 10 + 10 on PostgreSQL)
# Seconds a slash command waits for its ticket's commit before acking without the receipt. Slack
# does not retry a slash command, so an ack sent before the commit would be the only trace of a
# ticket a crash then lost: wait for the commit as long as Slack's 3 s allow, with a margin.
ACK_BUDGET = 2.0


class Background:
    """Work that runs after the ack: tracked, so shutdown and tests can wait for it.

    At most `limit` jobs touch the database at once, so a burst of clicks queues here instead of
    holding every pooled connection while ticket commits wait behind them.
    """

    def __init__(self, limit: int = BACKGROUND_LIMIT) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._gate = asyncio.Semaphore(limit)

    async def _gated(self, work: Coroutine[Any, Any, Any]) -> Any:
        async with self._gate:
            return await work

    def spawn(self, work: Coroutine[Any, Any, Any], what: str, *, gated: bool = True) -> None:
        task = asyncio.create_task(self._gated(work) if gated else work, name=f"slack:{what}")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # The edge of work Slack already got its ack for: nobody is left to raise to.
            CHAT_FAILURES.labels(PLATFORM).inc()
            log.error("slack %s failed", task.get_name(), exc_info=exc)

    async def wait(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace: float = 5.0) -> None:
        try:
            await asyncio.wait_for(self.wait(), grace)
        except TimeoutError:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


@dataclass
class SlackBot:
    """What every listener needs: settings, the runtime, the Web API client, the card notifier."""

    settings: Settings
    runtime: Runtime
    client: AsyncWebClient
    notifier: SlackNotifier
    bolt: AsyncApp
    verifier: SignatureVerifier
    http: aiohttp.ClientSession  # one pooled session for the process: Web API calls and response_url posts
    background: Background = field(default_factory=Background)
    ack_budget: float = ACK_BUDGET

    async def tell(self, respond: AsyncRespond, text: str) -> None:
        """An ephemeral answer to the person who acted, POSTed to the interaction's response_url."""
        if not respond.response_url:
            log.warning("slack interaction without a response_url; answer dropped: %s", text[:80])
            return
        message = {"text": text, "response_type": "ephemeral", "replace_original": False}
        try:
            async with self.http.post(respond.response_url, json=message) as answer:
                status = answer.status
        except (aiohttp.ClientError, TimeoutError):
            CHAT_FAILURES.labels(PLATFORM).inc()
            raise
        if status >= 400:  # an expired response_url (30 min, 5 uses): nothing else to answer through
            CHAT_FAILURES.labels(PLATFORM).inc()
            log.warning("slack response_url answered %s", status)
            return
        CHAT_POSTS.labels(PLATFORM, "ephemeral").inc()

    async def whisper(self, channel: str, user: str, text: str) -> None:
        """An ephemeral message in a channel when there is no response_url (events, modals)."""
        await self.notifier.call("ephemeral", "chat_postEphemeral", channel=channel, user=user, text=text)


def of(context: dict[str, Any]) -> SlackBot:
    """The SlackBot a listener runs for (set on every request by `build`'s middleware)."""
    bot: SlackBot = context[BOT]
    return bot


def build(settings: Settings, runtime: Runtime, client: AsyncWebClient, notifier: SlackNotifier,
          http: aiohttp.ClientSession) -> SlackBot:
    """The bolt app with every listener registered; signatures are verified by bolt as well as by `handle`."""
    from bot.slack import actions, commands, events, shortcuts, views

    assert settings.slack_signing_secret is not None
    secret = settings.slack_signing_secret.get_secret_value()
    bolt = AsyncApp(client=client, signing_secret=secret, request_verification_enabled=True,
                    process_before_response=True, name="switchboard", logger=log)
    bot = SlackBot(settings, runtime, client, notifier, bolt, SignatureVerifier(secret), http)

    async def attach(context: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:  # noqa: A002
        context[BOT] = bot
        await next()

    bolt.use(attach)
    for listeners in (commands, actions, views, shortcuts, events):
        listeners.register(bolt)
    return bot


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, "details": None}}, status=status)


def check_signature(verifier: SignatureVerifier, body: str, headers: Any, *, now: float | None = None
                    ) -> web.Response | None:
    """None when the request is signed with our secret within the last five minutes, else the 401."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp or not signature:
        return _error(401, "missing_signature", "send X-Slack-Signature and X-Slack-Request-Timestamp")
    if not timestamp.isdigit():
        return _error(401, "invalid_signature", "X-Slack-Request-Timestamp is not a Unix time")
    if abs((now or time.time()) - int(timestamp)) > MAX_AGE:
        return _error(401, "stale_request", "the request timestamp is more than 5 minutes away from now")
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        return _error(401, "invalid_signature", "the signature does not match this app's signing secret")
    return None


@dataclass
class Mount:
    """Filled when the app starts (the runtime exists only then); handlers read the bot from it."""

    bot: SlackBot | None = None


MOUNT: web.AppKey[Mount] = web.AppKey("slack", Mount)


async def handle(request: web.Request) -> web.StreamResponse:
    """POST /slack/events: verify, hand to bolt, answer what the listener acked."""
    bot = request.app[MOUNT].bot
    if bot is None:
        return _error(503, "unavailable", "Slack is starting; try again shortly")
    body = await request.text()
    if (refused := check_signature(bot.verifier, body, request.headers)) is not None:
        return refused
    try:
        bolt_request = await to_bolt_request(request)
    except ValueError as exc:
        return _error(400, "malformed_body", f"the Slack payload does not parse: {exc.__class__.__name__}")
    response = await bot.bolt.async_dispatch(bolt_request)
    if response.status == 401:
        return _error(401, "invalid_signature", "the request is not signed with this app's signing secret")
    if response.status == 404:
        return _error(404, "unhandled_request", "no listener handles this Slack request")
    if response.status >= 500:  # a listener raised (bolt logged it): a bug, not bad input
        return _error(500, "internal_error", "the Slack listener failed; see the server log")
    return await to_aiohttp_response(response)
