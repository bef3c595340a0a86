"""Errors of the Discord adapter, one tree so each edge translates them once.

    DiscordError
    ├── RateLimited        (429: retry after `retry_after` seconds)
    ├── DiscordUnavailable (5xx, network: retry with backoff)
    ├── RequestRefused     (another 4xx: retrying will not help)
    │   └── MessageGone    (404: the message or channel no longer exists)
    └── BadInteraction     (an inbound interaction we cannot read: answered 400)
"""

from __future__ import annotations

from typing import Any


class DiscordError(Exception):
    """Raised when a call to Discord's REST API did not succeed; the base of the tree."""


class RateLimited(DiscordError):
    """Raised when Discord answered 429 and the wait is longer than the caller may sleep."""

    def __init__(self, retry_after: float, *, scope: str | None = None) -> None:
        super().__init__(f"rate limited by Discord for {retry_after:.2f}s")
        self.retry_after = retry_after
        self.scope = scope


class DiscordUnavailable(DiscordError):
    """Raised when Discord answered 5xx or could not be reached; a later try may succeed."""


class RequestRefused(DiscordError):
    """Raised when Discord refused a request with a 4xx other than 429."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"Discord refused the request with {status}: {body!r}"[:300])
        self.status = status
        self.body = body


class MessageGone(RequestRefused):
    """Raised when the message (or its channel) to edit no longer exists."""


class BadInteraction(DiscordError):
    """Raised when a signed interaction payload is not JSON or lacks the fields we need."""
