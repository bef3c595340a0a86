"""Slack: `/ticket`, shortcuts, reactions and alert cards (slack-bolt AsyncApp behind aiohttp)."""

from __future__ import annotations

from aiohttp import web

from storage.config import Settings
from workers.notify import Notifier


def install(app: web.Application, settings: Settings) -> None:
    """Mount `POST /slack/events` when Slack is configured (not yet built: see the Slack issue)."""


def notifier(settings: Settings) -> Notifier | None:
    """The Slack notifier for a worker process, or None when Slack is not configured."""
    return None
