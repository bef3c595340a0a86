"""What actors need at run time (database, triage, notifiers), installed once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ml import TriageService
from storage.config import Settings
from storage.db import Database
from workers.notify import LogNotifier, Notifier

if TYPE_CHECKING:
    from storage.batching import GroupCommitter
    from workers.doorbell import Doorbell


@dataclass
class Runtime:
    settings: Settings
    db: Database
    triage: TriageService
    notifiers: list[Notifier] = field(default_factory=lambda: [LogNotifier()])
    doorbell: Doorbell | None = None  # set where tickets are accepted (intake); workers send directly
    committer: GroupCommitter | None = None  # batches concurrent ticket creations (intake)
    # Tickets this process is triaging right now: a second message for one of them (the sweeper
    # re-rang it while it waited for the model) leaves it to the first instead of triaging it again.
    triaging: set[str] = field(default_factory=set)

    def ring(self, ticket_id: str, status: str = "received") -> None:
        """Wake the pipeline for a committed ticket (never fails the caller)."""
        if self.doorbell is not None:
            self.doorbell.ring(ticket_id, status)

    def notify(self, ticket_id: str, kind: str) -> None:
        """Tell chat about a change through the `chat` queue (never fails the caller)."""
        from workers import actors

        if self.doorbell is not None:
            self.doorbell.ring_now(actors.notify_ticket, ticket_id, kind)
        else:
            actors.notify_ticket.send(ticket_id, kind)


_current: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("workers.runtime.install() was not called in this process")
    return _current
