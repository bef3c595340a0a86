"""Group commit: concurrent ticket creations share one transaction, so one fsync answers many 202s.

Every caller still waits for the commit that holds its row: "202 means committed" is kept. A
batch that fails fails all its callers (nothing of it was committed), so each can retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.errors import IdempotencyMismatch
from storage.models import IdempotencyKey, Ticket, TicketEvent, utcnow
from storage.tickets import Idempotency, NewTicket, _existing, ticket_values

log = logging.getLogger("switchboard.storage.batching")

# Attribute name -> column name, for the few attributes not named like their column.
_COLUMN_OF = {attr.key: attr.columns[0].name for attr in Ticket.__mapper__.column_attrs}


@dataclass
class _Pending:
    new: NewTicket
    idempotency: Idempotency | None
    future: asyncio.Future[tuple[Ticket, bool]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def _as_row(values: dict[str, object]) -> dict[str, object]:
    return {_COLUMN_OF[key]: value for key, value in values.items()}


class GroupCommitter:
    """Collects `create()` calls made while a commit is under way and writes them in the next one."""

    def __init__(self, db: Database, *, max_batch: int = 500) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while not self._queue.empty():
            self._queue.get_nowait().future.set_exception(RuntimeError("shutting down"))

    async def create(self, new: NewTicket, *, idempotency: Idempotency | None = None) -> tuple[Ticket, bool]:
        """Like `storage.tickets.create_ticket`, batched with whoever else is creating right now."""
        if idempotency is not None and (found := await _existing(self.db, idempotency)) is not None:
            return found, False
        pending = _Pending(new, idempotency)
        self._queue.put_nowait(pending)
        return await pending.future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < self.max_batch:
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            except Exception as exc:  # handed to every caller of the failed batch; none was committed
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)

    async def _write(self, batch: list[_Pending]) -> None:
        now = utcnow()
        leaders: dict[tuple[str, str], _Pending] = {}
        followers: list[tuple[_Pending, _Pending]] = []
        writes: list[tuple[_Pending, dict[str, object]]] = []
        for item in batch:
            if item.idempotency is not None:
                key = (item.idempotency.scope, item.idempotency.key)
                if key in leaders:  # the same key twice in one batch: the second gets the first's answer
                    followers.append((item, leaders[key]))
                    continue
                leaders[key] = item
            writes.append((item, ticket_values(item.new, now)))
        results: dict[int, tuple[Ticket, bool] | BaseException] = {}
        async with self.db.write() as session:
            # Core insert of plain rows: no ORM objects on the hot path.
            table = Ticket.__table__
            await session.execute(insert(table), [_as_row(values) for _, values in writes])  # type: ignore[arg-type]
            keyed = [(item, t) for item, t in writes if item.idempotency is not None]
            lost: set[str] = set()
            if keyed:
                won = await self._claim_keys(session, keyed, now)
                for item, ticket in keyed:
                    if (item.idempotency.scope, item.idempotency.key) not in won:  # type: ignore[union-attr]
                        lost.add(str(ticket["id"]))
                if lost:  # a concurrent request committed the key first: our row never existed
                    await session.execute(delete(Ticket).where(Ticket.id.in_(lost)))
            events = [
                {"ticket_id": t["id"], "ts": now, "type": "created", "actor": item.new.actor,
                 "channel": item.new.channel, "from_status": None, "to_status": t["status"],
                 "data": {"subject": item.new.subject[:120]}}
                for item, t in writes if t["id"] not in lost
            ]
            if events:
                await session.execute(insert(TicketEvent), events)
            for item, values in writes:
                if values["id"] not in lost:
                    results[id(item)] = (Ticket(**values), True)
        self.batches += 1
        for item, values in writes:
            if values["id"] in lost:
                try:
                    found = await _existing(self.db, item.idempotency)  # type: ignore[arg-type]
                    results[id(item)] = (found, False) if found else RuntimeError("idempotency key vanished")
                except IdempotencyMismatch as exc:
                    results[id(item)] = exc
        for item, _ in writes:
            self._settle(item, results[id(item)])
        for item, leader in followers:
            outcome = results[id(leader)]
            if isinstance(outcome, BaseException):
                self._settle(item, outcome)
            elif (item.idempotency.fingerprint and leader.idempotency.fingerprint  # type: ignore[union-attr]
                  and item.idempotency.fingerprint != leader.idempotency.fingerprint):  # type: ignore[union-attr]
                self._settle(item, IdempotencyMismatch("this idempotency key was used for a different request",
                                                       details={"ticket_id": outcome[0].id}))
            else:
                self._settle(item, (outcome[0], False))

    async def _claim_keys(self, session, keyed: list[tuple[_Pending, dict[str, object]]], now) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
        """Insert the idempotency keys; the ones that were free (ours now) come back."""
        dialect_insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        rows = [{"scope": item.idempotency.scope, "key": item.idempotency.key,  # type: ignore[union-attr]
                 "ticket_id": ticket["id"], "fingerprint": item.idempotency.fingerprint,  # type: ignore[union-attr]
                 "created_at": now} for item, ticket in keyed]
        stmt = (dialect_insert(IdempotencyKey).values(rows).on_conflict_do_nothing()
                .returning(IdempotencyKey.scope, IdempotencyKey.key))
        won = {(row.scope, row.key) for row in await session.execute(stmt)}
        if len(won) < len(rows):  # keep the look-up honest on dialects that return nothing on conflict
            keys = [(r["scope"], r["key"]) for r in rows]
            owned = await session.execute(
                select(IdempotencyKey.scope, IdempotencyKey.key, IdempotencyKey.ticket_id)
                .where(tuple_(IdempotencyKey.scope, IdempotencyKey.key).in_(keys)))
            mine = {t["id"] for _, t in keyed}
            won = {(row.scope, row.key) for row in owned if row.ticket_id in mine}
        return won

    @staticmethod
    def _settle(item: _Pending, outcome: tuple[Ticket, bool] | BaseException) -> None:
        if item.future.done():
            return
        if isinstance(outcome, BaseException):
            item.future.set_exception(outcome)
        else:
            item.future.set_result(outcome)
