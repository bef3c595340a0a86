"""Apply Alembic migrations to the configured database (at start and from the command line)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from storage.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_KEY = 0x5B0A  # any constant shared by every Switchboard process


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Any, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def migrate(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision`; concurrent starters on PostgreSQL take turns."""
    async with db.write_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        await conn.run_sync(_upgrade, revision)


async def make_revision(db: Database, message: str) -> None:
    """Autogenerate a revision from the models (developers only)."""

    def _revision(connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)

    async with db.write_engine.begin() as conn:
        await conn.run_sync(_revision)
