"""smaller GIN pending lists for the trigram indexes

A GIN index with fastupdate (the default) collects new entries in a pending list and merges the
list into the index when it outgrows `gin_pending_list_limit` (4 MB by default); the insert that
crosses the limit does the merge while its transaction waits. Under a steady stream of tickets
that made every few-hundredth group commit slow: 50 writers through storage.batching.GroupCommitter
on PostgreSQL saw p99 38-39 ms per ticket with the default, 16-18 ms at 256 kB, at the same
3,700-4,100 tickets/s (64-1,024 kB tried; fastupdate off: 1,000-1,400 tickets/s, p99 95-128 ms).

Revision ID: 1af64fb41e92
Revises: 31e03c50198b
Create Date: 2026-12-01 08:40:00.000000
"""

from alembic import op
from sqlalchemy import text

revision = '1af64fb41e92'
down_revision = '31e03c50198b'
branch_labels = None
depends_on = None

INDEXES = ("ix_tickets_subject_trgm", "ix_tickets_body_trgm")


def _existing(bind) -> list[str]:
    rows = bind.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'tickets' "
                             "AND indexname = ANY(:names)"), {"names": list(INDEXES)})
    return [row.indexname for row in rows]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for name in _existing(bind):  # absent where pg_trgm could not be created
        op.execute(f"ALTER INDEX {name} SET (gin_pending_list_limit = 256)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for name in _existing(bind):
        op.execute(f"ALTER INDEX {name} RESET (gin_pending_list_limit)")
