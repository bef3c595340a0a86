"""Logging: readable on a terminal, JSON lines elsewhere (structlog renders both); secrets never leave.

Fields passed as `extra={"ticket_id": ...}` become keys of the JSON line. Every configured secret
(tokens, signing secrets, passwords inside URLs) is replaced by `***` in whatever a line carries,
tracebacks included: a defence behind the rule that code never logs them in the first place.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import IO, Any
from urllib.parse import urlsplit

import structlog
from pydantic import SecretStr

from storage.config import Settings, environment

MASK = "***"
SECRET_WORDS = ("SECRET", "TOKEN", "PASSWORD", "PRIVATE_KEY")


def secret_values(settings: Settings, extra: Iterable[str] = ()) -> list[str]:
    """Every secret the settings hold: SecretStr fields, passwords inside URLs, secret-named variables."""
    found = [value.get_secret_value() for value in settings.__dict__.values() if isinstance(value, SecretStr)]
    for url in (settings.database_url, settings.redis_url, settings.outbound_webhook_url):
        if url and (password := urlsplit(url).password):
            found.append(password)
    # Form sources name their own secret variables (FORM_SECRET_<NAME> by default): mask any such variable.
    # (8 characters at least: a flag such as SOME_TOKEN_ENABLED=true is no secret and would mask every "true")
    found += [value for name, value in environment(settings).items()
              if len(value) >= 8 and any(word in name.upper() for word in SECRET_WORDS)]
    found += list(extra)
    # Longest first, so a secret that contains another is masked whole; very short values would mask noise.
    return sorted({s for s in found if s and len(s) >= 4}, key=len, reverse=True)


class Redact:
    """A structlog processor that masks every secret value in every string field of a log line."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = list(secrets)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                if secret in value:
                    value = value.replace(secret, MASK)
            return value
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean(v) for v in value]
        return value

    def __call__(self, logger: Any, name: str, event: dict[str, Any]) -> dict[str, Any]:
        if not self.secrets:
            return event
        return {key: self._clean(value) for key, value in event.items()}


def configure_logging(log_format: str | None = None, level: int = logging.INFO, *,
                      secrets: Iterable[str] = (), stream: IO[str] | None = None) -> None:
    as_json = (log_format or ("text" if sys.stderr.isatty() else "json")) == "json"
    renderer = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    formatter = structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, Redact(secrets), renderer],
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
