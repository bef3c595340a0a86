"""trigram indexes for ticket search

`GET /v1/tickets?q=` matches `lower(subject)` and `lower(body)` with LIKE '%term%'. On PostgreSQL
with a million tickets a rare or absent term scanned the table (100-450 ms, bench/list_tickets.py);
GIN trigram indexes on those two expressions answer it from the index. PostgreSQL only (SQLite keeps
scanning, fine at SQLite sizes). pg_trgm is a trusted extension (PostgreSQL 13+): the database owner
may create it; where it cannot be created the indexes are skipped and search still works, slower.

On a large existing database this takes a while and holds writes to `tickets` meanwhile: create the
two indexes CONCURRENTLY by hand first (the same statements with CONCURRENTLY), and this is a no-op.

Revision ID: 31e03c50198b
Revises: e9dc057964c4
Create Date: 2026-11-30 18:49:32.129621
"""

import logging

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision = '31e03c50198b'
down_revision = 'e9dc057964c4'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
INDEXES = {"ix_tickets_subject_trgm": "lower(subject)", "ix_tickets_body_trgm": "lower(body)"}


def _trigrams_available(bind) -> bool:
    if bind.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")):
        return True
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except DBAPIError:
        log.warning("pg_trgm could not be created (ask the database owner to run CREATE EXTENSION pg_trgm); "
                    "ticket search will scan instead of using trigram indexes")
        return False
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _trigrams_available(bind):
        return
    for name, expression in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON tickets USING gin ({expression} gin_trgm_ops)")
    # Statistics on the indexed expressions: without them the planner keeps scanning (measured: 1.7 s vs 2.5 ms).
    # Not on an empty table: its statistics would say "empty" until autovacuum came by, and every
    # foreign-key check against tickets (one per event row) scanned the table meanwhile (measured:
    # 0.4 ms of PostgreSQL CPU per ticket after 10 s of bench/intake.py on a fresh database).
    if bind.scalar(text("SELECT EXISTS (SELECT 1 FROM tickets)")):
        op.execute("ANALYZE tickets")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
