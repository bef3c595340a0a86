"""The seam to chat: workers tell a `Notifier` what happened; `bot/` implements the real ones."""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger("switchboard.notify")


class Notifier(Protocol):
    """Told after a ticket changed; `kind` is the event type (created, assigned, claimed, alert, ...)."""

    async def ticket_event(self, ticket_id: str, kind: str) -> None: ...


class LogNotifier:
    """Writes each notification to the log: the default until a chat platform is configured."""

    async def ticket_event(self, ticket_id: str, kind: str) -> None:
        log.info("ticket %s: %s", ticket_id, kind, extra={"ticket_id": ticket_id, "kind": kind})


class RecordingNotifier:
    """Keeps every notification in memory (tests and the in-process demo)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def ticket_event(self, ticket_id: str, kind: str) -> None:
        self.calls.append((ticket_id, kind))
