"""The Slack Web API client: base URL from settings, 429s retried after Retry-After, 5xx retried, counted."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from storage.config import Settings
from workers.metrics import CHAT_RATE_LIMITED

log = logging.getLogger("switchboard.slack")
PLATFORM = "slack"
RATE_LIMIT_RETRIES = 3  # then the chat actor retries the whole delivery after Retry-After
SERVER_ERROR_RETRIES = 2
TIMEOUT = 10  # seconds per Web API call


class CountingRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack-sdk's 429 handler (waits Retry-After, then retries), counting each 429 it sees."""

    async def prepare_for_next_attempt_async(self, **kwargs: Any) -> None:
        CHAT_RATE_LIMITED.labels(PLATFORM).inc()
        response = kwargs.get("response")
        wait = next((v for k, v in (response.headers if response else {}).items() if k.lower() == "retry-after"), "?")
        wait = wait[0] if isinstance(wait, list) and wait else wait
        request = kwargs.get("request")
        log.warning("slack rate limited %s: retrying after %s s", getattr(request, "url", "?"), wait)
        await super().prepare_for_next_attempt_async(**kwargs)


def retry_handlers() -> list[AsyncRetryHandler]:
    return [AsyncConnectionErrorRetryHandler(max_retry_count=2),
            CountingRateLimitHandler(max_retry_count=RATE_LIMIT_RETRIES),
            AsyncServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES)]


def make_client(settings: Settings, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """A Web API client for the bot token: on `session` (pooled, one event loop), or a session per call."""
    assert settings.slack_bot_token is not None
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return AsyncWebClient(token=settings.slack_bot_token.get_secret_value(), base_url=base_url, timeout=TIMEOUT,
                          retry_handlers=retry_handlers(), session=session)


def retry_after(exc: SlackApiError) -> float | None:
    """Seconds Slack asked us to wait, when the error is a 429 (after the client's own retries ran out)."""
    if getattr(exc.response, "status_code", None) != 429:
        return None
    CHAT_RATE_LIMITED.labels(PLATFORM).inc()
    headers = getattr(exc.response, "headers", {}) or {}
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), "1")
    value = raw[0] if isinstance(raw, list) else raw
    try:
        return max(float(value), 1.0)
    except ValueError:
        return 1.0
