"""Cursor pages are a row-value seek on (created_at, id): ties on created_at are split by id, none lost or repeated."""

from __future__ import annotations

from sqlalchemy import select, text

from storage import tickets as store
from storage.db import Database
from storage.models import Ticket
from storage.states import Action


async def test_cursor_pages_through_tickets_that_share_a_timestamp(db):
    # Given 7 tickets committed together (one group commit: the very same created_at) and 3 more after
    together = await store.create_many(db, [store.NewTicket(subject=f"s{i}", body="b") for i in range(7)])
    later = [(await store.create_ticket(db, store.NewTicket(subject=f"l{i}", body="b")))[0] for i in range(3)]
    assert len({t.created_at for t in together}) == 1
    # When a client walks the list three at a time
    seen, cursor = [], None
    while True:
        page, cursor = await store.list_tickets(db, limit=3, cursor=cursor)
        seen += [t.id for t in page]
        if cursor is None:
            break
    # Then it sees each ticket exactly once, newest first, ties in descending id order
    assert len(seen) == 10 == len(set(seen))
    assert seen[:3] == [t.id for t in reversed(later)]
    assert seen[3:] == sorted((t.id for t in together), reverse=True)


async def test_search_finds_tickets_before_and_after_triage(db):
    # Given two tickets that mention a refund, one still in `received` (outside the PostgreSQL
    # search indexes) and one triaged (inside them), and one that does not
    waiting, _ = await store.create_ticket(db, store.NewTicket(subject="Where is my REFUND?", body="b"))
    triaged, _ = await store.create_ticket(db, store.NewTicket(subject="s", body="I want a refund now"))
    await store.create_ticket(db, store.NewTicket(subject="s", body="nothing to see"))
    await store.act(db, triaged.id, Action.TRIAGE, values={"category": "Billing", "urgency": 0.5})
    # When a client searches, in any case
    found, _ = await store.list_tickets(db, q="Refund")
    # Then both are found, newest first
    assert [t.id for t in found] == [triaged.id, waiting.id]


async def test_search_is_answered_from_indexes_on_postgres(pg_database):
    # The query keeps its two arms apart: folded into one condition (as `status <> 'received' OR
    # status = 'received'` would be), no partial index could answer it and a search scans the table.
    db = Database(pg_database)
    try:
        query = select(Ticket.id).where(store._matches("refund"))
        sql = str(query.compile(dialect=db.write_engine.dialect, compile_kwargs={"literal_binds": True}))
        async with db.read() as session:
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            await session.execute(text("SET LOCAL enable_indexscan = off"))
            plan = "\n".join(row[0] for row in await session.execute(text(f"EXPLAIN {sql}")))
    finally:
        await db.dispose()
    assert "Seq Scan" not in plan, plan
    for index in ("ix_tickets_subject_search", "ix_tickets_body_search", "ix_tickets_status_urgency"):
        assert index in plan, plan
