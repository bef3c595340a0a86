"""search indexes leave received tickets out

The trigram indexes of `31e03c50198b` were written by every new ticket, inside the group commit a
202 waits for: PostgreSQL extracted and inserted some 170 trigrams for each body while the
client waited. As partial indexes (`WHERE status <> 'received'`) a new ticket writes nothing to them;
its row enters them when triage moves it on (a background transaction), and search finds the
few tickets still in `received` through the status index (`storage.tickets._matches`).
bench/intake.py, PostgreSQL + Redis, 50 connections, three interleaved pairs (2026-12-03): 5,062-5,148
tickets/s, p99 16.8-17.2 ms before; 6,611-6,987 tickets/s, p99 11.3-12.7 ms after. The price is
paid by search while tickets wait for triage: with a million tickets of which 1,000 sit in
`received`, a rare term took 9.9 ms instead of 5.8 and a term matching nothing 4.7 instead of 2.3
(bench/list_tickets.py), the received ones being read from the table.

The planner takes no statistics from a partial index's expressions, and without them guessed
16 times too many matches for a rare term and scanned the table by date instead of using the
index (336 ms for a term matching nothing, 300,000 tickets); extended statistics on the two
expressions (PostgreSQL 14+) give it what the full indexes used to: 1.9 ms.

On a large live database, create the two new indexes CONCURRENTLY by hand first (the statements
below with CONCURRENTLY); the migration then only drops the old ones.

Revision ID: 7d0c4e2a9b15
Revises: 1af64fb41e92
Create Date: 2026-12-03 17:30:00.000000
"""

from alembic import op
from sqlalchemy import text

revision = '7d0c4e2a9b15'
down_revision = '1af64fb41e92'
branch_labels = None
depends_on = None

# New name -> (old name, indexed expression).
INDEXES = {
    "ix_tickets_subject_search": ("ix_tickets_subject_trgm", "lower(subject)"),
    "ix_tickets_body_search": ("ix_tickets_body_trgm", "lower(body)"),
}
STATISTICS = "tickets_search_text"


def _has_trigrams(bind) -> bool:
    """pg_trgm is there (`31e03c50198b` skipped the indexes where it could not be created)."""
    return bool(bind.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _has_trigrams(bind):
        return
    for name, (old, expression) in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON tickets USING gin ({expression} gin_trgm_ops) "
                   "WITH (gin_pending_list_limit = 256) WHERE status <> 'received'")
        op.execute(f"DROP INDEX IF EXISTS {old}")
    if (bind.dialect.server_version_info or ()) >= (14,):
        op.execute(f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} ON "
                   f"{', '.join(f'({expression})' for _, expression in INDEXES.values())} FROM tickets")
    if bind.scalar(text("SELECT EXISTS (SELECT 1 FROM tickets)")):  # not on an empty table: see 31e03c50198b
        op.execute("ANALYZE tickets")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _has_trigrams(bind):
        return
    op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
    for name, (old, expression) in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {old} ON tickets USING gin ({expression} gin_trgm_ops) "
                   "WITH (gin_pending_list_limit = 256)")
        op.execute(f"DROP INDEX IF EXISTS {name}")
