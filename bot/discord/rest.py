"""A small client for the few Discord REST calls we make, with 429s waited out or handed back."""

from __future__ import annotations

import asyncio
import json as json_module
import logging
from typing import Any

import aiohttp
import discord

from bot.discord.errors import DiscordUnavailable, MessageGone, RateLimited, RequestRefused
from workers.metrics import CHAT_DELAY, CHAT_FAILURES, CHAT_POSTS, CHAT_RATE_LIMITED

log = logging.getLogger("switchboard.discord.rest")
DEFAULT_API = "https://discord.com/api/v10"
PLATFORM = "discord"
USER_AGENT = "DiscordBot (https://github.com/switchboard, 0.1) Switchboard"


def use_api_base(url: str) -> None:
    """Point discord.py's own calls (Webhook.partial follow-ups, the gateway client) at DISCORD_API_URL.

    discord.py keeps its REST base on a class attribute; tests and proxies need another one.
    """
    discord.http.Route.BASE = url.rstrip("/")


def retry_after(headers: Any, body: Any) -> float:
    """Seconds to wait after a 429: the JSON `retry_after`, else the `Retry-After` header, else 1."""
    if isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
        return max(float(body["retry_after"]), 0.0)
    try:
        return max(float(headers.get("Retry-After", "1")), 0.0)
    except ValueError:
        return 1.0


def _decode(raw: bytes) -> Any:
    """The JSON body, or the text when it is not JSON (a proxy's error page), or None when empty."""
    if not raw:
        return None
    try:
        return json_module.loads(raw)
    except ValueError:
        return raw[:200].decode("utf-8", "replace")


class RestClient:
    """Bot-token REST calls; a 429 shorter than `max_wait` is slept out (asyncio), longer raises RateLimited."""

    def __init__(self, base_url: str, token: str | None, session: aiohttp.ClientSession, *,
                 max_wait: float = 2.0, attempts: int = 3) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._session = session
        self.max_wait = max_wait
        self.attempts = attempts

    def __repr__(self) -> str:  # never the token
        return f"RestClient({self.base_url!r})"

    async def request(self, method: str, path: str, *, json: Any = None, auth: bool = True,
                      kind: str | None = None) -> Any:
        """One call; `kind` names it in the chat metrics (card, edit, dm, reply, followup, register)."""
        waited = 0.0
        headers = {"User-Agent": USER_AGENT}
        if auth and self._token:
            headers["Authorization"] = f"Bot {self._token}"
        for attempt in range(1, self.attempts + 1):
            try:
                async with self._session.request(method, self.base_url + path, json=json, headers=headers,
                                                 timeout=aiohttp.ClientTimeout(total=10)) as response:
                    raw = await response.read()
                    status, response_headers = response.status, response.headers
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                CHAT_FAILURES.labels(PLATFORM).inc()
                raise DiscordUnavailable(f"{method} {path}: {exc.__class__.__name__}") from exc
            body = _decode(raw)
            if status < 300:
                if kind is not None:
                    CHAT_POSTS.labels(PLATFORM, kind).inc()
                    if kind == "card":
                        CHAT_DELAY.labels(PLATFORM).observe(waited)
                return body
            if status == 429:
                CHAT_RATE_LIMITED.labels(PLATFORM).inc()
                wait = retry_after(response_headers, body)
                scope = response_headers.get("X-RateLimit-Scope")
                if wait > self.max_wait or attempt == self.attempts:
                    CHAT_FAILURES.labels(PLATFORM).inc()
                    raise RateLimited(wait, scope=scope)
                log.info("Discord rate limit on %s %s; waiting %.2fs", method, path, wait)
                await asyncio.sleep(wait)
                waited += wait
                continue
            CHAT_FAILURES.labels(PLATFORM).inc()
            if status >= 500:
                raise DiscordUnavailable(f"{method} {path} answered {status}")
            if status == 404:
                raise MessageGone(status, body)
            raise RequestRefused(status, body)
        raise AssertionError("unreachable")

    async def create_message(self, channel_id: str, body: dict[str, Any], *, kind: str = "card") -> dict[str, Any]:
        return await self.request(  # type: ignore[no-any-return]
            "POST", f"/channels/{channel_id}/messages", json=body, kind=kind)

    async def edit_message(self, channel_id: str, message_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.request(  # type: ignore[no-any-return]
            "PATCH", f"/channels/{channel_id}/messages/{message_id}", json=body, kind="edit")

    async def dm_channel(self, user_id: str) -> str:
        channel = await self.request("POST", "/users/@me/channels", json={"recipient_id": user_id})
        return str(channel["id"])

    async def edit_original(self, application_id: str, token: str, body: dict[str, Any]) -> Any:
        """Edit the message a deferred component interaction (type 6) was about, through its webhook."""
        return await self.request("PATCH", f"/webhooks/{application_id}/{token}/messages/@original", json=body,
                                  auth=False, kind="followup")

    async def overwrite_commands(self, application_id: str, commands: list[dict[str, Any]], *,
                                 guild_id: str | None = None) -> list[dict[str, Any]]:
        """Replace the application's commands (globally, or in one guild for instant testing)."""
        path = (f"/applications/{application_id}/guilds/{guild_id}/commands" if guild_id
                else f"/applications/{application_id}/commands")
        return await self.request("PUT", path, json=commands, kind="register")  # type: ignore[no-any-return]
