"""SQLite's writer lock: writers someone waits on go first, and no cancellation leaves it held."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from storage.db import WriterLock, background


async def _writer(lock: WriterLock, name: str, order: list[str], *, ahead: bool) -> None:
    async with lock.hold(ahead=ahead):
        order.append(name)
        await asyncio.sleep(0)


async def test_writers_asking_ahead_pass_the_ones_waiting_in_turn():
    # Given the lock held, and two background writers queued before an intake commit
    lock, order = WriterLock(), []
    async with lock.hold():
        waiting = [asyncio.create_task(_writer(lock, name, order, ahead=False)) for name in ("triage", "route")]
        await asyncio.sleep(0)
        waiting.append(asyncio.create_task(_writer(lock, "intake", order, ahead=True)))
        await asyncio.sleep(0)
    await asyncio.gather(*waiting)
    # Then the intake commit went next, and the others kept their order
    assert order == ["intake", "triage", "route"]


async def test_a_cancelled_waiter_does_not_keep_the_lock():
    lock, order = WriterLock(), []
    async with lock.hold():
        gone = asyncio.create_task(_writer(lock, "gone", order, ahead=False))
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
    # The lock is free again: the next writer gets it at once
    await asyncio.wait_for(_writer(lock, "next", order, ahead=False), timeout=1)
    assert order == ["next"]


async def test_a_waiter_cancelled_just_as_it_was_handed_the_lock_passes_it_on():
    lock, order = WriterLock(), []
    held = lock.hold()
    await held.__aenter__()
    handed = asyncio.create_task(_writer(lock, "handed", order, ahead=False))
    after = asyncio.create_task(_writer(lock, "after", order, ahead=False))
    await asyncio.sleep(0)
    await held.__aexit__(None, None, None)  # the lock now belongs to `handed`, which has not run yet
    handed.cancel()
    await asyncio.wait_for(after, timeout=1)
    assert order == ["after"]


async def test_background_writes_wait_for_the_gate_and_writes_someone_waits_on_do_not(db):
    # Given a gate that stays shut (intake busy), as intake installs its committer's lull
    opened = asyncio.Event()
    db.background_gate = lambda _weight: opened.wait()
    with background():  # the task copies the context: its writes are background writes
        pipeline_write = asyncio.create_task(db.run_write(lambda conn: conn.execute(text("SELECT 1"))))
        session_write = asyncio.create_task(_session_write(db))
    await asyncio.sleep(0.05)
    assert not pipeline_write.done() and not session_write.done()
    # Then a write someone waits on goes straight through, both ways of writing
    await asyncio.wait_for(db.run_write(lambda conn: conn.execute(text("SELECT 1"))), timeout=2)
    await asyncio.wait_for(_session_write(db), timeout=2)
    # And the background writes go once the gate opens
    opened.set()
    await asyncio.wait_for(asyncio.gather(pipeline_write, session_write), timeout=2)


async def _session_write(db) -> None:  # type: ignore[no-untyped-def]
    async with db.write() as session:
        await session.execute(text("SELECT 1"))


async def test_an_admitted_step_passes_the_gate_once_for_its_weight_and_then_writes_freely(db):
    # Given a gate that records what it is asked for
    asked: list[int] = []

    async def gate(weight: int) -> None:
        asked.append(weight)

    db.background_gate = gate

    async def step() -> None:  # a pipeline message for seven tickets: admitted once, then two writes
        await db.admit(7)
        await db.run_write(lambda conn: conn.execute(text("SELECT 1")))
        await _session_write(db)

    with background():
        await asyncio.create_task(step())
        # A background write outside an admitted step still asks, once per write
        await asyncio.create_task(db.run_write(lambda conn: conn.execute(text("SELECT 1"))))
    # And work outside background() (someone is waiting on it) never asks
    await db.admit(3)
    assert asked == [7, 1]
