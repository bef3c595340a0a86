"""Cursor pages are a row-value seek on (created_at, id): ties on created_at are split by id, none lost or repeated."""

from __future__ import annotations

from storage import tickets as store


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
