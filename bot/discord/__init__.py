"""Discord: HTTP interactions (Ed25519-verified), alert embeds with buttons, optional gateway mode."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

# Submodules are imported before `notifier()` is defined below: importing `bot.discord.notifier`
# later would otherwise replace the function with the module of the same name.
from bot.discord import gateway as gateway_mode
from bot.discord import interactions, rest, store
from bot.discord.notifier import DiscordNotifier
from bot.discord.verify import Verifier
from storage.config import Settings
from workers.notify import Notifier
from workers.runtime import Runtime, current

log = logging.getLogger("switchboard.discord")
MODES = ("http", "gateway")
PRUNE_EVERY = 3600.0  # seconds between sweeps of old interaction answers


def _token(settings: Settings) -> str | None:
    return settings.discord_bot_token.get_secret_value() if settings.discord_bot_token else None


def install(app: web.Application, settings: Settings) -> None:
    """Mount `POST /discord/interactions` when DISCORD_PUBLIC_KEY is set; start gateway mode when asked.

    Call after the app's `resources` context is appended: ours adds the Discord notifier to the runtime.
    """
    if settings.discord_mode not in MODES:
        raise ValueError(f"DISCORD_MODE must be one of {', '.join(MODES)}, not {settings.discord_mode!r}")
    gateway = settings.discord_mode == "gateway" and bool(_token(settings))
    if not settings.discord_public_key and not _token(settings):
        return
    endpoint = None
    if settings.discord_public_key:
        endpoint = interactions.Endpoint(settings, Verifier(settings.discord_public_key))
        app[interactions.ENDPOINT] = endpoint
        app.router.add_post(interactions.ROUTE, interactions.handle)

    session_box: list[aiohttp.ClientSession] = []

    async def context(app: web.Application) -> AsyncIterator[None]:
        rest.use_api_base(settings.discord_api_url)
        session = aiohttp.ClientSession()
        session_box.append(session)
        client = rest.RestClient(settings.discord_api_url, _token(settings), session)
        if endpoint is not None:
            endpoint.session, endpoint.rest = session, client
        runtime = current()
        if _token(settings):
            runtime.notifiers.append(DiscordNotifier(settings, rest=client, db_getter=lambda: runtime.db))
        running = await gateway_mode.start(_token(settings) or "", settings.discord_api_url) if gateway else None
        pruning = asyncio.create_task(_prune_forever(runtime)) if endpoint is not None else None
        try:
            yield
        finally:
            if pruning is not None:
                pruning.cancel()
                await asyncio.gather(pruning, return_exceptions=True)
            if running is not None:
                await gateway_mode.stop(*running)
            if endpoint is not None:
                await endpoint.close()

    async def close_session(app: web.Application) -> None:
        # on_cleanup runs after every cleanup_ctx, so deliveries the embedded worker finishes while
        # it stops (in `resources`) still have an open session.
        for session in session_box:
            await session.close()

    app.cleanup_ctx.append(context)
    app.on_cleanup.append(close_session)


async def _prune_forever(runtime: Runtime, every: float = PRUNE_EVERY) -> None:
    """Forget old interaction answers now and then (every intake process may; the delete is idempotent)."""
    while True:
        try:
            await store.prune(runtime.db)
        except (OSError, SQLAlchemyError) as exc:  # the database is down for a moment: try next round
            log.warning("could not prune old Discord interactions: %s", exc.__class__.__name__)
        await asyncio.sleep(every)


def notifier(settings: Settings) -> Notifier | None:
    """The Discord notifier for a worker process, or None when Discord has no bot token to post with."""
    if not _token(settings):
        return None
    rest.use_api_base(settings.discord_api_url)
    return DiscordNotifier(settings)
