"""The one settings object, read once per process from the environment and `.env`."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of Switchboard; secrets are `SecretStr` so they never show in a repr or a log."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    database_url: str = "sqlite+aiosqlite:///./switchboard.db"
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    api_token: SecretStr | None = None
    admin_token: SecretStr | None = None
    alert_threshold: float = Field(0.8, ge=0.0, le=1.0)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_alert_channel: str | None = None
    slack_api_url: str = "https://slack.com/api/"

    discord_public_key: str | None = None
    discord_application_id: str | None = None
    discord_bot_token: SecretStr | None = None
    discord_alert_channel_id: str | None = None
    discord_mode: str = "http"
    discord_api_url: str = "https://discord.com/api/v10"

    form_sources: str = "forms.yaml"
    outbound_webhook_url: str | None = None
    agents_file: str | None = "demo"
    log_format: str | None = None
    # `python -m intake`'s event loop: uvloop where installed (all but Windows), else asyncio's.
    event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"
    triage_model: str = "auto"
    # Micro-batching of the triage model: up to this many concurrent texts share a forward pass,
    # gathered for at most this long after the first (1 = one text per pass, no wait).
    triage_max_batch: int = Field(default=32, ge=1, le=256)
    triage_max_wait_ms: float = Field(default=10.0, ge=0.0, le=1000.0)
    # Where the quantized triage model is kept between starts: unset = the user's cache directory, "" = nowhere.
    model_cache_dir: str | None = None
    # The triage heads served: unset = the committed ml/heads; a directory `python -m ml train --out` wrote.
    triage_heads_dir: str | None = None

    # Pipeline timings (seconds).
    sweep_interval: float = 2.0
    sweep_after: float = 5.0
    worker_metrics_port: int | None = None  # dramatiq worker processes serve /metrics on 127.0.0.1 from here up
    # Longest a dramatiq worker's idle Redis consumer sleeps between polls (Dramatiq's own default is 1000 ms,
    # paid once per queue hop: triage -> route -> notify -> deliver added up to ~2 s to an alert).
    worker_idle_poll_ms: int = Field(default=100, ge=10, le=10_000)
    max_body_bytes: int = 1024 * 1024

    # SLA timers. Tiers: "above:minutes" pairs, most urgent first; "*" is everything else.
    sla_tiers: str = "0.8:15,0.5:120,*:1440"
    sla_interval: float = Field(default=15.0, gt=0)  # seconds between SLA checks
    sla_reminder_lead: float = Field(default=0.25, ge=0.0, le=1.0)  # remind when this share of the window is left
    auto_unclaim_after: float = Field(default=4 * 3600.0, ge=0.0)  # seconds idle before a claim is handed back; 0 = never
    sla_escalation_lead: str | None = None  # agent id of the team lead mentioned on escalation

    outbound_webhook_secret: SecretStr | None = None
    outbound_webhook_scope: str = "urgent"  # urgent: tickets with S above ALERT_THRESHOLD; all: every ticket

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """The two databases we run on, with their async drivers; plain postgres:// and sqlite:// mean those."""
        for plain, driver in (("postgres://", "postgresql+asyncpg://"), ("postgresql://", "postgresql+asyncpg://"),
                              ("sqlite://", "sqlite+aiosqlite://")):
            if value.startswith(plain):
                return driver + value.removeprefix(plain)
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("must start with postgresql+asyncpg:// or sqlite+aiosqlite:// "
                             "(postgres:// and sqlite:// are taken as those)")
        return value

    @field_validator("redis_url", "agents_file", "slack_alert_channel", "outbound_webhook_url",
                     "outbound_webhook_secret", "sla_escalation_lead", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def embedded(self) -> bool:
        """No Redis: in-process worker and an in-memory broker."""
        return self.redis_url is None

    @property
    def triage_options(self) -> dict[str, Any]:
        """`ml.load_service` arguments for the triage model these settings ask for."""
        return {"kind": self.triage_model, "max_batch": self.triage_max_batch,
                "max_wait": self.triage_max_wait_ms / 1000, "cache_dir": self.model_cache_dir,
                "heads_dir": self.triage_heads_dir}

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def environment(settings: Settings) -> dict[str, str]:
    """Variables named only in config files (a form source's `secret_env`): `.env`, the process over it.

    Read once at start by whoever needs them, so no other module reads `os.environ` itself.
    """
    values: dict[str, str] = {}
    env_file = settings.model_config.get("env_file")
    if isinstance(env_file, str) and os.path.exists(env_file):
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def problems(exc: ValidationError) -> str:
    """A settings error as the operator wrote it: one line per environment variable, values not echoed (secrets)."""
    return "\n".join(f"  {'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
