"""Batched writes: concurrent ticket creations share one transaction (group commit), and so do a
pipeline message's transitions (`act_many`), so one fsync answers many tickets.

Every caller still waits for the commit that holds its row: "202 means committed" is kept. A
batch that fails fails all its callers (nothing of it was committed), so each can retry.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Select, Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from storage.db import Database
from storage.errors import AtCapacity, IdempotencyMismatch
from storage.models import Agent, IdempotencyKey, Ticket, TicketEvent, utcnow
from storage.states import HOLDS_CAPACITY, TRANSITIONS, Action, TicketStatus, transition_values
from storage.tickets import Idempotency, NewTicket, Receipt, _existing, ticket_values

log = logging.getLogger("switchboard.storage.batching")

TICKETS: Table = Ticket.__table__  # type: ignore[assignment]
EVENTS: Table = TicketEvent.__table__  # type: ignore[assignment]
AGENTS: Table = Agent.__table__  # type: ignore[assignment]
KEYS: Table = IdempotencyKey.__table__  # type: ignore[assignment]
# A background step for many tickets makes the next wait this many lull spacings at the most
# (one per ticket below that), so other background work (sweeper, SLA clock) still gets a turn
# every few seconds of a long burst.
MOST_SPACINGS = 25
# Attribute name -> column name, for the few attributes not named like their column.
_COLUMN_OF = {attr.key: attr.columns[0].name for attr in Ticket.__mapper__.column_attrs}


class _Pending:
    """One caller's ticket, waiting in the queue for the commit that will hold it."""

    __slots__ = ("new", "idempotency", "future")

    def __init__(self, new: NewTicket, idempotency: Idempotency | None) -> None:
        self.new = new
        self.idempotency = idempotency
        self.future: asyncio.Future[tuple[Receipt, bool]] = asyncio.get_running_loop().create_future()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _as_row(values: dict[str, object]) -> dict[str, object]:
    return {_COLUMN_OF[key]: value for key, value in values.items()}


_Plan = tuple[str, tuple[str, ...], list[Callable[[Any], Any] | None]]


@functools.lru_cache(maxsize=32)
def _plan(table: Table, dialect: Dialect, keys: frozenset[str]) -> _Plan:
    """The INSERT of columns `keys` compiled once for `dialect`: SQL, bind order, each column's bind processor."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    columns = tuple(compiled.positiontup or ())
    if set(columns) != keys:  # a column default would need a value we do not pass
        raise RuntimeError(f"INSERT INTO {table.name} binds {columns}, not {sorted(keys)}")
    return compiled.string, columns, [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                                      for name in columns]


# The columns a group commit writes besides the ticket's own (see `_at_once_plan`).
_KEY_COLUMNS = ("scope", "key", "ticket_id", "fingerprint", "created_at")
_EVENT_COLUMNS = ("ticket_id", "ts", "type", "actor", "channel", "from_status", "to_status", "data")


@functools.lru_cache(maxsize=8)
def _at_once_plan(dialect: Dialect, ticket_columns: tuple[str, ...]) -> _Plan:
    """PostgreSQL: a batch's keys, tickets and events as one statement over column arrays.

    Keys go in first (ON CONFLICT DO NOTHING); a keyed ticket is written only if its key went in,
    an event only if its ticket did; the statement returns the ids of the tickets written. The
    foreign keys between the three are checked at the end of the statement, when all are in.
    Returns the SQL, the column names in bind order and each column's bind processor.
    """
    columns: list[tuple[Table, str]] = []

    def unnest(table: Table, names: tuple[str, ...]) -> str:
        arrays = []
        for name in names:
            columns.append((table, name))
            # Unsized casts: an explicit cast to VARCHAR(n) would cut a long value instead of refusing it.
            element = re.sub(r"\(\d+\)", "", table.c[name].type.compile(dialect=dialect))
            arrays.append(f"${len(columns)}::{element}[]")
        return (f"INSERT INTO {table.name} ({', '.join(names)}) "
                f"SELECT * FROM unnest({', '.join(arrays)}) AS u({', '.join(names)})")

    keyed_ids = f"${_KEY_COLUMNS.index('ticket_id') + 1}::VARCHAR[]"
    sql = (f"WITH k AS ({unnest(KEYS, _KEY_COLUMNS)} ON CONFLICT DO NOTHING RETURNING ticket_id), "
           f"t AS ({unnest(TICKETS, ticket_columns)} "
           f"WHERE u.id <> ALL({keyed_ids}) OR u.id IN (SELECT ticket_id FROM k) RETURNING id) "
           f"{unnest(EVENTS, _EVENT_COLUMNS)} WHERE u.ticket_id IN (SELECT id FROM t) RETURNING ticket_id")
    return sql, tuple(name for _, name in columns), [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for table, name in columns]


def _converted(values: list[object], process: Callable[[Any], Any] | None) -> list[object]:
    """`process` applied to each value, once for each run of equal values.

    A batch's rows mostly repeat their typed values (the same timestamp, empty JSON lists), and
    SQLAlchemy converting each of them again (JSON encoding, timestamp formatting) was a quarter
    of the intake process's busy time under load (py-spy, bench/intake.py).
    """
    if process is None:
        return values
    out: list[object] = []
    last: tuple[object, object] | None = None
    for value in values:
        if last is None or type(last[0]) is not type(value) or last[0] != value:
            last = (value, process(value))
        out.append(last[1])
    return out


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, object]]) -> None:
    """`conn.execute(insert(table), rows)`, each column's values converted by `_converted`. Rows share their keys."""
    sql, columns, processors = _plan(table, conn.dialect, frozenset(rows[0]))
    converted = [_converted([row[name] for row in rows], process)
                 for name, process in zip(columns, processors, strict=True)]
    conn.exec_driver_sql(sql, list(zip(*converted, strict=True)))


class GroupCommitter:
    """Collects `create()` calls made while commits are under way and writes them in the next one.

    With nothing committing, a lone ticket is written at once. While commits are under way the
    queue grows into the next batch; on PostgreSQL, whose transactions overlap, another batch
    starts beside them (up to `in_flight`) once `split_at` tickets wait, so batches stay big
    enough to pay for their round trips. SQLite has one writer: one batch at a time.

    `on_loop` (SQLite only): write each batch on the event loop instead of in a thread. For a
    process that is the database's only writer (embedded mode), where the loop would otherwise
    hand every batch to a thread and back, and the thread's Python competed with the loop for
    the GIL: with 50 clients, 5,812-6,632 vs 4,592-5,776 tickets/s, p99 17.8-20.1 vs 18.7-24.5 ms
    (six interleaved pairs, 2026-12-01). The loop stands still for each batch's inserts and
    fsync (~1 ms for 25 tickets here), and would also wait out another process holding SQLite's
    write lock, so processes that share the file (workers elsewhere) keep the thread.
    """

    def __init__(self, db: Database, *, max_batch: int = 500, in_flight: int | None = None,
                 split_at: int = 16, on_loop: bool = False) -> None:
        self.db = db
        self.on_loop = on_loop
        self.max_batch = max_batch
        self.in_flight = in_flight or (1 if db.is_sqlite else 4)
        self.split_at = split_at
        self._queue: collections.deque[_Pending] = collections.deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._commits: set[asyncio.Task[None]] = set()
        self._last_create = 0.0
        self._next_pass = 0.0
        self._lull_waiters: collections.deque[tuple[asyncio.Future[None], int]] = collections.deque()
        self._watcher: asyncio.TimerHandle | None = None
        self.batches = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._commits:  # let the batches already writing finish: their callers wait for them
            await asyncio.wait(self._commits)
        while self._queue:
            self._queue.popleft().future.set_exception(RuntimeError("shutting down"))
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        while self._lull_waiters:  # nothing is coming in any more
            _resolve(self._lull_waiters.popleft()[0])

    async def create(self, new: NewTicket, *, idempotency: Idempotency | None = None) -> tuple[Receipt, bool]:
        """Like `storage.tickets.create_ticket`, batched with whoever else is creating right now."""
        if idempotency is not None and (found := await _existing(self.db, idempotency)) is not None:
            return Receipt.of(found), False
        pending = _Pending(new, idempotency)
        self._last_create = asyncio.get_running_loop().time()
        self._queue.append(pending)
        self._wake.set()
        return await pending.future

    async def lull(self, weight: int = 1, *, gap: float = 0.02, spacing: float = 0.2) -> None:
        """Return once no ticket has come in for `gap` seconds and nothing is committing.

        Background work in the same process (the embedded pipeline) waits here, so a burst of
        tickets is accepted first and triaged after. During a long burst that work still keeps
        moving, a step at a time: a step for `weight` tickets (a pipeline message's) goes, and
        the next waits `spacing` seconds per ticket of it (at most `MOST_SPACINGS` spacings), so
        the pipeline moves about one ticket per `spacing` however its work is batched. Waiters
        sleep on their own future; one timer looks for the lull for all of them.
        """
        loop = asyncio.get_running_loop()
        if self._quiet(loop.time(), gap) or self._take_pass(loop.time(), spacing, weight):
            return
        waiter: asyncio.Future[None] = loop.create_future()
        self._lull_waiters.append((waiter, weight))
        if self._watcher is None:
            self._watcher = loop.call_later(gap, self._watch, gap, spacing)
        await waiter

    def _quiet(self, now: float, gap: float) -> bool:
        return not (self._queue or self._commits or now - self._last_create < gap)

    def _take_pass(self, now: float, spacing: float, weight: int) -> bool:
        if now < self._next_pass:
            return False
        self._next_pass = now + spacing * min(max(weight, 1), MOST_SPACINGS)
        return True

    def _watch(self, gap: float, spacing: float) -> None:
        """Every `gap` while anyone waits: release them all in a lull, else the first when its pass is due."""
        self._watcher = None
        waiters = self._lull_waiters
        while waiters and waiters[0][0].done():  # cancelled while waiting
            waiters.popleft()
        if not waiters:
            return
        now = asyncio.get_running_loop().time()
        if self._quiet(now, gap):
            while waiters:
                _resolve(waiters.popleft()[0])
            return
        if self._take_pass(now, spacing, waiters[0][1]):
            _resolve(waiters.popleft()[0])
        self._watcher = asyncio.get_running_loop().call_later(gap, self._watch, gap, spacing)

    def _ready(self) -> bool:
        if not self._queue or len(self._commits) >= self.in_flight:
            return False
        return not self._commits or len(self._queue) >= self.split_at

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._ready():
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))]
                commit = asyncio.create_task(self._commit(batch))
                self._commits.add(commit)
                commit.add_done_callback(self._finished)

    def _finished(self, commit: asyncio.Task[None]) -> None:
        self._commits.discard(commit)
        self._wake.set()

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            await self._write(batch)
        except BaseException as exc:  # handed to every caller of the failed batch; none was committed
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("shutting down"))
            if not isinstance(exc, Exception):
                raise

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
        if self.db.dialect == "postgresql":
            lost = await self._insert_at_once(writes, now)
        else:
            lost = await self.db.run_write(functools.partial(self._insert, writes, now), ahead=True,
                                           on_loop=self.on_loop)
        self.batches += 1
        results: dict[int, tuple[Receipt, bool] | BaseException] = {}
        for item, values in writes:
            if values["id"] not in lost:
                results[id(item)] = (Receipt(values["id"], values["status"], item.new.subject), True)  # type: ignore[arg-type]
                continue
            try:  # a concurrent request committed the key first: our row never existed
                found = await _existing(self.db, item.idempotency)  # type: ignore[arg-type]
                results[id(item)] = (Receipt.of(found), False) if found else RuntimeError("idempotency key vanished")
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

    @staticmethod
    def _key_rows(writes: list[tuple[_Pending, dict[str, object]]], now: datetime) -> list[dict[str, object]]:
        """The batch's idempotency keys, in key order.

        Two overlapping batches that both held a key the other wanted deadlocked (PostgreSQL,
        tests/storage/test_group_commit.py); taken in one order, one simply waits.
        """
        rows = [{"scope": item.idempotency.scope, "key": item.idempotency.key, "ticket_id": ticket["id"],
                 "fingerprint": item.idempotency.fingerprint, "created_at": now}
                for item, ticket in writes if item.idempotency is not None]
        return sorted(rows, key=lambda row: (row["scope"], row["key"]))  # type: ignore[return-value]

    @staticmethod
    def _event_rows(writes: list[tuple[_Pending, dict[str, object]]], now: datetime,
                    lost: Collection[str] = ()) -> list[dict[str, object]]:
        return [{"ticket_id": t["id"], "ts": now, "type": "created", "actor": item.new.actor,
                 "channel": item.new.channel, "from_status": None, "to_status": t["status"],
                 "data": {"subject": item.new.subject[:120]}}
                for item, t in writes if t["id"] not in lost]

    def _insert(self, writes: list[tuple[_Pending, dict[str, object]]], now: datetime, conn: Connection) -> set[str]:
        """SQLite: the batch's one transaction (Core statements, no ORM objects); returns the ids given up."""
        _insert_many(conn, TICKETS, [_as_row(values) for _, values in writes])
        lost: set[str] = set()
        if keys := self._key_rows(writes, now):
            stmt = sqlite.insert(KEYS).values(keys).on_conflict_do_nothing().returning(KEYS.c.ticket_id)
            won = set(conn.scalars(stmt))
            lost = {str(key["ticket_id"]) for key in keys} - won
            if lost:
                conn.execute(delete(TICKETS).where(TICKETS.c.id.in_(lost)))
        if events := self._event_rows(writes, now, lost):
            _insert_many(conn, EVENTS, events)
        return lost

    async def _insert_at_once(self, writes: list[tuple[_Pending, dict[str, object]]], now: datetime) -> set[str]:
        """PostgreSQL: the batch as one statement (`_at_once_plan`), in one round trip; returns the ids given up.

        The transaction path (pool pre-ping, BEGIN, a statement per table, COMMIT) was seven round
        trips, each waiting for a turn of a busy event loop: 2,090-2,417 vs 2,534-3,055 tickets/s,
        p99 32-36 vs 25-31 ms, through bench/intake.py (PostgreSQL + Redis, four interleaved pairs,
        2026-12-01).
        """
        tickets = [_as_row(values) for _, values in writes]
        sql, _, processors = _at_once_plan(self.db.write_engine.dialect, tuple(tickets[0]))
        keys, events = self._key_rows(writes, now), self._event_rows(writes, now)
        arrays = ([[row[name] for row in keys] for name in _KEY_COLUMNS]
                  + [[row[name] for row in tickets] for name in tickets[0]]
                  + [[row[name] for row in events] for name in _EVENT_COLUMNS])
        params = tuple(_converted(values, process) for values, process in zip(arrays, processors, strict=True))
        written = {row[0] for row in await self.db.run_alone(sql, params)}
        return {str(t["id"]) for _, t in writes} - written

    @staticmethod
    def _settle(item: _Pending, outcome: tuple[Receipt, bool] | BaseException) -> None:
        if item.future.done():
            return
        if isinstance(outcome, BaseException):
            item.future.set_exception(outcome)
        else:
            item.future.set_result(outcome)


def _move_many(conn: Connection, source: TicketStatus, to: TicketStatus, changes: dict[str, dict[str, Any]],
               now: datetime) -> None:
    """Move tickets that are in `source` to `to`, each with its values: one executemany per set of columns.

    The caller has made sure they are in `source` and stay there (rows locked on PostgreSQL,
    SQLite's one writer); the status is still in the WHERE clause as a second guard.
    """
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for ticket_id, values in changes.items():
        row = _as_row(transition_values(to, values, now))
        groups.setdefault(frozenset(row), []).append({"b_id": ticket_id, **{f"b_{k}": v for k, v in row.items()}})
    for columns, rows in groups.items():
        stmt = (update(TICKETS).where(TICKETS.c.id == bindparam("b_id"), TICKETS.c.status == str(source))
                .values(version=TICKETS.c.version + 1, **{name: bindparam(f"b_{name}") for name in columns}))
        conn.execute(stmt, rows)


def _held(conn: Connection, query: Select[Any]) -> Select[Any]:
    """`query` taking row locks on PostgreSQL (SQLite's one writer holds everything already)."""
    return query.with_for_update() if conn.dialect.name == "postgresql" else query


def _in_status(conn: Connection, ticket_ids: Iterable[str], status: TicketStatus) -> list[str]:
    """Those of `ticket_ids` in `status`, in id order; on PostgreSQL their rows stay locked until commit."""
    query = select(TICKETS.c.id).where(TICKETS.c.id.in_(list(ticket_ids)), TICKETS.c.status == str(status))
    return [row.id for row in conn.execute(_held(conn, query.order_by(TICKETS.c.id)))]


def _event(ticket_id: str, action: Action, source: TicketStatus, to: TicketStatus, *, actor: str,
           channel: str, data: dict[str, Any], now: datetime) -> dict[str, object]:
    return {"ticket_id": ticket_id, "ts": now, "type": str(action), "actor": actor, "channel": channel,
            "from_status": str(source), "to_status": str(to), "data": data}


async def act_many(db: Database, action: Action, changes: dict[str, tuple[dict[str, Any], dict[str, Any]]], *,
                   actor: str, channel: str) -> list[str]:
    """Take `action` on many tickets in one transaction; the ids it moved, in id order.

    `changes` maps a ticket id to (values to write, event data). Each ticket moves only if it is
    still in the action's source status (a guarded update, as in `storage.tickets.act`); the
    others (a redelivered message, someone faster) are left alone and get no event. Only edges
    with one source status and no capacity to account for are taken here (triage, queue), so no
    agent row is touched. Tickets are locked in id order first (PostgreSQL), so two overlapping
    batches wait for each other instead of deadlocking, and then all written in one executemany.
    """
    sources, to = TRANSITIONS[action]
    if len(sources) != 1 or to in HOLDS_CAPACITY or sources & HOLDS_CAPACITY:
        raise ValueError(f"{action} is not a batchable edge")
    (source,) = sources

    def work(conn: Connection) -> list[str]:
        now = utcnow()
        moved = _in_status(conn, changes, source)  # locked in id order: overlapping batches take turns
        if moved:
            _move_many(conn, source, to, {ticket_id: changes[ticket_id][0] for ticket_id in moved}, now)
            _insert_many(conn, EVENTS, [_event(ticket_id, action, source, to, actor=actor, channel=channel,
                                               data=changes[ticket_id][1], now=now) for ticket_id in moved])
        return moved

    return await db.run_write(work)


@dataclass(frozen=True, slots=True)
class Placement:
    """One routing decision for a triaged ticket: assign it to `agent_id`, or queue it (`agent_id` None)."""

    ticket_id: str
    agent_id: str | None
    score: float | None
    reason: tuple[str, ...]
    outcome: str  # assigned | queued | no_candidates

    @property
    def values(self) -> dict[str, Any]:
        """The ticket's routing columns."""
        return {"routing_score": self.score, "routing_reason": list(self.reason)}

    @property
    def event(self) -> dict[str, Any]:
        """The assign or queue event's data."""
        if self.agent_id:
            return {"score": self.score, "reason": list(self.reason), "agent_id": self.agent_id}
        return {"reason": list(self.reason), "outcome": self.outcome}


Planner = Callable[[list[Agent], list[Ticket]], list[Placement]]


async def place_many(db: Database, ticket_ids: list[str], plan: Planner) -> list[Placement]:
    """Route many triaged tickets in one transaction; the placements written, in `plan`'s order.

    `plan` gets the active agents and those of `ticket_ids` still `triaged`, both read inside the
    transaction, and decides for all of them at once (counting the slots it hands out itself).
    On PostgreSQL those rows are locked as they are read, tickets then agents, each in id order
    (as `storage.tickets.act` takes a ticket and then its agents), so the loads `plan` sees are
    the loads it writes over: routing transactions take turns, and a claim or release waits the
    few milliseconds one takes. SQLite has one writer anyway. A ticket still moves only from
    `triaged`, and a reservation is still a guarded increment: one that fails (it cannot while
    the rows are held) rolls the batch back.
    """

    def work(conn: Connection) -> list[Placement]:
        now = utcnow()
        tickets = select(Ticket).where(Ticket.id.in_(ticket_ids), Ticket.status == TicketStatus.TRIAGED)
        agents = select(Agent).where(Agent.active.is_(True))
        with Session(conn) as session:
            # Tickets, then agents, each in id order: the order `storage.tickets.act` takes them in.
            found = list(session.scalars(_held(conn, tickets.order_by(Ticket.id))))
            team = list(session.scalars(_held(conn, agents.order_by(Agent.id))))
            placements = plan(team, found)
        placed = [p.ticket_id for p in placements]
        if len(set(placed)) != len(placed) or not set(placed) <= {t.id for t in found}:
            raise ValueError("a routing plan must place each ticket it was given at most once")
        assigned = {p.ticket_id: {**p.values, "assignee_id": p.agent_id} for p in placements if p.agent_id}
        queued = {p.ticket_id: p.values for p in placements if not p.agent_id}
        for to, changes in ((TicketStatus.ASSIGNED, assigned), (TicketStatus.QUEUED, queued)):
            if changes:
                _move_many(conn, TicketStatus.TRIAGED, to, changes, now)
        taken = collections.Counter(p.agent_id for p in placements if p.agent_id)
        for agent_id, slots in sorted(taken.items()):
            reserved = conn.execute(
                update(AGENTS).where(AGENTS.c.id == agent_id, AGENTS.c.active.is_(True),
                                     AGENTS.c.load + slots <= AGENTS.c.capacity)
                .values(load=AGENTS.c.load + slots, last_assigned_at=now))
            if reserved.rowcount != 1:  # cannot happen while the rows are held: roll everything back
                raise AtCapacity(f"agent {agent_id} has no spare capacity", details={"agent_id": agent_id})
        events = []
        for placement in placements:
            action = Action.ASSIGN if placement.agent_id else Action.QUEUE
            events.append(_event(placement.ticket_id, action, TicketStatus.TRIAGED, TRANSITIONS[action][1],
                                 actor="router", channel="pipeline", data=placement.event, now=now))
        if events:
            _insert_many(conn, EVENTS, events)
        return placements

    return await db.run_write(work)
