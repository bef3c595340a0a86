"""What the hand-written PostgreSQL migrations leave behind (autogenerate compares neither)."""

from __future__ import annotations

import asyncpg


async def test_trigram_indexes_merge_small_pending_lists(pg_database):
    conn = await asyncpg.connect(pg_database.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'ix_tickets_%_trgm'")
    finally:
        await conn.close()
    assert {row["relname"]: row["reloptions"] for row in rows} == {
        "ix_tickets_subject_trgm": ["gin_pending_list_limit=256"],
        "ix_tickets_body_trgm": ["gin_pending_list_limit=256"],
    }
