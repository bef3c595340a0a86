"""What the hand-written PostgreSQL migrations leave behind (autogenerate compares neither)."""

from __future__ import annotations

import asyncpg


async def test_search_indexes_skip_received_tickets_and_merge_small_pending_lists(pg_database):
    conn = await asyncpg.connect(pg_database.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT c.relname, c.reloptions, pg_get_expr(i.indpred, i.indrelid) AS predicate "
                                "FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
                                "WHERE c.relname IN ('ix_tickets_subject_search', 'ix_tickets_body_search', "
                                "'ix_tickets_subject_trgm', 'ix_tickets_body_trgm')")
        statistics = await conn.fetchval("SELECT pg_get_statisticsobjdef_expressions(oid) "
                                         "FROM pg_statistic_ext WHERE stxname = 'tickets_search_text'")
    finally:
        await conn.close()
    partial = (["gin_pending_list_limit=256"], "((status)::text <> 'received'::text)")
    assert {row["relname"]: (row["reloptions"], row["predicate"]) for row in rows} == {
        "ix_tickets_subject_search": partial,
        "ix_tickets_body_search": partial,
    }
    assert statistics == ["lower((subject)::text)", "lower(body)"]
