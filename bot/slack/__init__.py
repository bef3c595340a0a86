"""Slack: `/ticket`, shortcuts, reactions and alert cards (slack-bolt AsyncApp behind aiohttp)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from storage.config import Settings
from workers.notify import Notifier


def configured(settings: Settings) -> bool:
    """Slack is on when both the bot token and the signing secret are set."""
    return settings.slack_bot_token is not None and settings.slack_signing_secret is not None


def install(app: web.Application, settings: Settings) -> None:
    """Mount `POST /slack/events` when Slack is configured; the bot starts after the runtime does."""
    if not configured(settings):
        return
    from bot.slack.alerts import SlackNotifier
    from bot.slack.app import MOUNT, PATH, Mount, build, handle
    from bot.slack.client import TIMEOUT, make_client
    from workers.runtime import current

    mount = Mount()
    app[MOUNT] = mount
    app.router.add_post(PATH, handle)

    async def context(app: web.Application) -> AsyncIterator[None]:
        runtime = current()  # built by create_app's `resources` context, which runs before this one
        # Everything Slack in this process runs on this loop (the embedded worker's actors too): one pool.
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))
        client = make_client(settings, session=http)
        notifier = SlackNotifier(settings, client, lambda: runtime.db)
        runtime.notifiers.append(notifier)
        mount.bot = build(settings, runtime, client, notifier, http)
        try:
            yield
        finally:
            await mount.bot.background.close()
            mount.bot = None
            if notifier in runtime.notifiers:
                runtime.notifiers.remove(notifier)
            await http.close()

    app.cleanup_ctx.append(context)


def notifier(settings: Settings) -> Notifier | None:
    """The Slack notifier for a worker process, or None when Slack is not configured."""
    if settings.slack_bot_token is None:
        return None
    from bot.slack.alerts import SlackNotifier
    from bot.slack.client import make_client
    from workers.runtime import current

    return SlackNotifier(settings, make_client(settings), lambda: current().db)
