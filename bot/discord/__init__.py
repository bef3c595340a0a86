"""Discord: HTTP interactions (Ed25519-verified), alert embeds with buttons, optional gateway mode."""

from __future__ import annotations

from aiohttp import web

from storage.config import Settings
from workers.notify import Notifier


def install(app: web.Application, settings: Settings) -> None:
    """Mount `POST /discord/interactions` when Discord is configured (not yet built: see the Discord issue)."""


def notifier(settings: Settings) -> Notifier | None:
    """The Discord notifier for a worker process, or None when Discord is not configured."""
    return None
