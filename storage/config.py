"""The one settings object, read once per process from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
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
    triage_model: str = "auto"

    # Pipeline timings (seconds).
    sweep_interval: float = 2.0
    sweep_after: float = 5.0
    max_body_bytes: int = 1024 * 1024

    @field_validator("redis_url", "agents_file", "slack_alert_channel", "outbound_webhook_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def embedded(self) -> bool:
        """No Redis: in-process worker and an in-memory broker."""
        return self.redis_url is None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
