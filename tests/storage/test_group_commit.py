"""The group committer under a real crowd, on SQLite (one writer) and PostgreSQL (overlapping batches)."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import asyncpg
import pytest
from sqlalchemy import func, select

from storage.batching import MOST_SPACINGS, GroupCommitter
from storage.db import Database
from storage.errors import IdempotencyMismatch
from storage.models import IdempotencyKey, Ticket, TicketEvent
from storage.tickets import Idempotency, NewTicket, create_ticket


async def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)))


@pytest.mark.parametrize("on_loop", [False, True], ids=["writer-thread", "on-loop"])
async def test_a_crowd_of_creations_commits_each_ticket_once_with_its_event(db, on_loop):
    # Given a committer and 400 callers at once: 300 plain tickets, and 20 keys each sent 5 times
    committer = GroupCommitter(db, split_at=8, on_loop=on_loop)
    committer.start()
    try:
        plain = [committer.create(NewTicket(subject=f"s{i}", body=f"plain {i}")) for i in range(300)]
        keyed = [committer.create(NewTicket(subject=f"k{k}", body=f"keyed {k}"),
                                  idempotency=Idempotency("api", f"key-{k}", fingerprint=f"fp-{k}"))
                 for _ in range(5) for k in range(20)]
        answers = await asyncio.gather(*plain, *keyed)
    finally:
        await committer.stop()

    # Then every caller heard back, 320 tickets exist, each with one `created` event
    assert await _count(db, Ticket) == 320
    assert await _count(db, TicketEvent) == 320
    assert await _count(db, IdempotencyKey) == 20
    assert all(created for _, created in answers[:300])
    assert len({receipt.id for receipt, _ in answers[:300]}) == 300
    # and each key names one ticket, created by exactly one of its five callers
    by_key: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for receipt, created in answers[300:]:
        by_key[receipt.subject].append((receipt.id, created))
    assert len(by_key) == 20
    for repeats in by_key.values():
        assert len({ticket_id for ticket_id, _ in repeats}) == 1
        assert sum(created for _, created in repeats) == 1
    # and the crowd was written in far fewer transactions than tickets
    assert committer.batches < 200


async def test_a_key_reused_at_once_for_another_request_is_refused(db):
    committer = GroupCommitter(db)
    committer.start()
    try:
        outcomes = await asyncio.gather(
            *(committer.create(NewTicket(subject=s, body=s), idempotency=Idempotency("api", "k", f"fp-{s}"))
              for s in "abcd"),
            return_exceptions=True)
    finally:
        await committer.stop()
    won = [o for o in outcomes if isinstance(o, tuple)]
    refused = [o for o in outcomes if isinstance(o, IdempotencyMismatch)]
    assert len(won) == 1 and won[0][1] is True
    assert len(refused) == 3
    assert {r.details["ticket_id"] for r in refused} == {won[0][0].id}
    assert await _count(db, Ticket) == 1


async def _stream(committer: GroupCommitter, stop_at: float) -> int:
    """Create tickets one after another until the loop's clock reaches `stop_at`; how many."""
    loop, n = asyncio.get_running_loop(), 0
    while loop.time() < stop_at:
        await committer.create(NewTicket(subject="s", body=f"stream {n}"))
        n += 1
    return n


async def test_background_work_waits_for_a_lull_in_intake_but_is_never_starved(db):
    committer = GroupCommitter(db)
    committer.start()
    loop = asyncio.get_running_loop()
    try:
        # With nothing coming in, background work goes at once
        await asyncio.wait_for(committer.lull(), timeout=0.5)

        # While tickets stream in for a second, a background worker that asks before each step
        stop_at = loop.time() + 1.0

        async def worker() -> list[float]:
            passes = []
            while loop.time() < stop_at:
                await committer.lull(spacing=0.25)
                passes.append(loop.time())
            return passes

        created, passes = await asyncio.gather(_stream(committer, stop_at), worker())
    finally:
        await committer.stop()
    # Then it got a step in every 0.25 s or so (not one per loop turn, and not none at all)
    assert created > 20
    during = [t for t in passes if t < stop_at - 0.05]
    assert 2 <= len(during) <= 6, passes
    assert all(b - a >= 0.24 for a, b in zip(during, during[1:], strict=False)), passes


@pytest.mark.parametrize(("weight", "gap"), [(4, 0.4), (1000, MOST_SPACINGS * 0.02)])
async def test_a_step_for_many_tickets_makes_the_next_wait_longer_in_a_burst(db, weight, gap):
    committer = GroupCommitter(db)
    committer.start()
    loop = asyncio.get_running_loop()
    try:
        # While tickets stream in, a worker whose every step is for `weight` tickets
        stop_at = loop.time() + 1.3

        async def worker() -> list[float]:
            passes = []
            while loop.time() < stop_at:
                await committer.lull(weight, spacing=0.1 if weight < MOST_SPACINGS else 0.02)
                passes.append(loop.time())
            return passes

        _, passes = await asyncio.gather(_stream(committer, stop_at), worker())
    finally:
        await committer.stop()
    # Then its steps were `spacing` apart per ticket (capped at MOST_SPACINGS spacings)
    during = [t for t in passes if t < stop_at - 0.05]
    assert len(during) >= 2, passes
    assert all(gap - 0.01 <= b - a <= gap + 0.25 for a, b in zip(during, during[1:], strict=False)), passes


async def test_many_background_waiters_go_one_at_a_time_in_a_burst_and_all_together_after(db):
    committer = GroupCommitter(db)
    committer.start()
    loop = asyncio.get_running_loop()
    try:
        stop_at = loop.time() + 0.8

        async def waiter() -> float:
            await committer.lull(spacing=0.25)
            return loop.time()

        burst = asyncio.create_task(_stream(committer, stop_at))
        await asyncio.sleep(0.05)
        await committer.lull(spacing=0.25)  # takes the burst's first turn at once
        given_up = asyncio.create_task(committer.lull(spacing=0.25))  # first in line, then cancelled
        await asyncio.sleep(0)
        waiters = [asyncio.create_task(waiter()) for _ in range(20)]
        await asyncio.sleep(0.01)
        given_up.cancel()
        await burst
        released = await asyncio.wait_for(asyncio.gather(*waiters), timeout=2)
    finally:
        await committer.stop()
    during = [t for t in released if t < stop_at]
    # One step per 0.25 s while tickets stream in (the cancelled waiter took no turn from them) ...
    assert 2 <= len(during) <= 3, sorted(released)
    # ... and the rest together once the stream stops
    assert max(released) - stop_at < 0.2, sorted(released)


async def test_a_batched_ticket_reads_back_exactly_like_one_written_through_the_orm(db):
    # Given the same request written once by the ORM path and, alone and in a batch, by the committer
    new = NewTicket(subject="Refund", body="Charged twice", channel="slack", requester_id="c-1",
                    requester_name="Kim", requester_email="kim@example.com", language="de",
                    topics=["billing", "refund"], sensitive=True, budget=12.5, sla_minutes=30,
                    metadata={"plan": "pro", "seats": 3, "nested": {"ok": True}}, actor="U1")
    reference, _ = await create_ticket(db, new)
    committer = GroupCommitter(db)
    committer.start()
    try:
        receipts = await asyncio.gather(*(committer.create(new) for _ in range(5)))
    finally:
        await committer.stop()
    columns = [c.key for c in Ticket.__mapper__.column_attrs if c.key not in ("id", "created_at", "updated_at")]

    async def read(ticket_id: str) -> tuple[dict, list]:  # type: ignore[type-arg]
        async with db.read() as session:
            ticket = await session.get(Ticket, ticket_id)
            events = list(await session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)))
        assert ticket.created_at.tzinfo is not None and ticket.created_at == ticket.updated_at
        return ({c: getattr(ticket, c) for c in columns},
                [(e.type, e.actor, e.channel, e.from_status, e.to_status, e.data, e.ts == ticket.created_at)
                 for e in events])

    # Then every column and the created event read back the same (JSON as JSON, aware timestamps)
    expected = await read(reference.id)
    assert expected[0]["topics"] == ["billing", "refund"] and expected[0]["meta"]["nested"] == {"ok": True}
    for receipt, created in receipts:
        assert created
        assert await read(receipt.id) == expected


@pytest.mark.parametrize("on_loop", [False, True], ids=["writer-thread", "on-loop"])
async def test_a_batch_that_fails_leaves_no_ticket_and_no_event_and_fails_every_caller(db, monkeypatch, on_loop):
    # Given four tickets committed in one batch, two of which would get the same id
    ids = iter(["T-AAAAAAAAAA", "T-SAMESAMESA", "T-SAMESAMESA", "T-BBBBBBBBBB"])
    monkeypatch.setattr("storage.tickets.new_ticket_id", lambda: next(ids))
    committer = GroupCommitter(db, on_loop=on_loop)
    committer.start()
    try:
        outcomes = await asyncio.gather(*(committer.create(NewTicket(subject="s", body=f"b{n}")) for n in range(4)),
                                        return_exceptions=True)
    finally:
        await committer.stop()
    # Then every caller hears the failure, and nothing of the batch was written
    assert committer.batches == 0 and all(isinstance(o, Exception) for o in outcomes), outcomes
    assert await _count(db, Ticket) == 0
    assert await _count(db, TicketEvent) == 0


async def test_connections_the_server_closed_while_idle_are_replaced_not_used(pg_database):
    # Given a PostgreSQL committer whose pooled connections have each written a batch
    db = Database(pg_database)
    committer = GroupCommitter(db, split_at=1)
    committer.start()
    try:
        await asyncio.gather(*(committer.create(NewTicket(subject="s", body=f"warm {i}")) for i in range(40)))
        # When the server closes every other connection to the database (a restart, an idle timeout)
        conn = await asyncpg.connect(pg_database.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            killed = await conn.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        finally:
            await conn.close()
        assert killed >= 1
        await asyncio.sleep(0.2)  # the loop reads the closed sockets
        # Then the next tickets are committed on fresh connections, none refused
        receipts = await asyncio.gather(*(committer.create(NewTicket(subject="s", body=f"after {i}"))
                                          for i in range(10)))
    finally:
        await committer.stop()
        await db.dispose()
    assert all(created for _, created in receipts)


async def test_a_value_too_long_for_its_column_is_refused_not_cut(pg_database):
    # (PostgreSQL: SQLite does not enforce VARCHAR lengths; intake's schemas refuse them before)
    db = Database(pg_database)
    committer = GroupCommitter(db)
    committer.start()
    try:
        with pytest.raises(Exception, match="too long|value"):
            await committer.create(NewTicket(subject="x" * 301, body="b"))
        async with db.read() as session:  # (the database is shared: look for this ticket, cut or whole)
            assert not await session.scalar(select(func.count()).where(Ticket.subject.startswith("x" * 300)))
    finally:
        await committer.stop()
        await db.dispose()
