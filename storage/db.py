"""Engines and sessions: SQLite (WAL, one writer at a time) or PostgreSQL through asyncpg."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

T = TypeVar("T")
_BACKGROUND = contextvars.ContextVar("switchboard_background_writes", default=False)
_ADMITTED = contextvars.ContextVar("switchboard_background_admitted", default=False)


@contextlib.contextmanager
def background() -> Iterator[None]:
    """Writes made inside (the pipeline's, the sweeper's) wait behind writes a person is waiting on.

    They also wait for `Database.background_gate` first, when one is set (intake sets its
    committer's lull there), so a burst of tickets is accepted before the pipeline writes.
    """
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


def _asks_ahead(ahead: bool | None) -> bool:
    """Whether a write goes ahead of background ones: as asked, else unless inside `background()`."""
    return not _BACKGROUND.get() if ahead is None else ahead


def _sqlite_engine(url: str, *, begin: str) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": 30})
    _configure_sqlite(engine.sync_engine, begin=begin)
    return engine


def _configure_sqlite(engine: Engine, *, begin: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below) so writers can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a 202 means the ticket survives a power cut, not only a crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


def _drop_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout: a connection whose server went away while it sat idle is replaced, not handed out.

    asyncpg sees the server close an idle socket (a restart, an idle timeout) as soon as the loop
    reads it; a silent network loss still fails the first statement, as it would after a ping.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("connection closed while idle")


class WriterLock:
    """SQLite's one writer, handed out in arrival order, except that writers asking `ahead` go first.

    Intake's group commits ask ahead: a client is waiting on each of them, while the pipeline's
    writes (triage, routing) only delay work nobody is watching. With a plain FIFO lock a burst
    of tickets queued each commit behind every pipeline write already waiting.
    """

    def __init__(self) -> None:
        self._held = False
        self._ahead: collections.deque[asyncio.Future[None]] = collections.deque()
        self._in_turn: collections.deque[asyncio.Future[None]] = collections.deque()

    @asynccontextmanager
    async def hold(self, *, ahead: bool | None = None) -> AsyncIterator[None]:
        """Hold the lock; `ahead` by default for any writer outside `background()`."""
        await self._acquire(_asks_ahead(ahead))
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, ahead: bool) -> None:
        if not self._held and not self._ahead and not self._in_turn:
            self._held = True
            return
        waiter = asyncio.get_running_loop().create_future()
        queue = self._ahead if ahead else self._in_turn
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed the lock as we were cancelled: pass it on
                self._release()
            else:
                with contextlib.suppress(ValueError):
                    queue.remove(waiter)
            raise

    def _release(self) -> None:
        for queue in (self._ahead, self._in_turn):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the lock passes straight to this waiter
                    return
        self._held = False


class Database:
    """The engines of one process; `write()` and `read()` hand out transactional sessions."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        if self.is_sqlite:
            # Writers take the lock at BEGIN (no deadlock on upgrade); readers never block.
            self.write_engine = _sqlite_engine(url, begin="BEGIN IMMEDIATE")
            self.read_engine = _sqlite_engine(url, begin="BEGIN")
            # `run_write` works on a plain sqlite3 connection in a thread: one hop per transaction
            # instead of one per statement through aiosqlite's thread.
            self._sync_write_engine: Engine | None = create_engine(
                make_url(url).set(drivername="sqlite"), connect_args={"timeout": 30, "check_same_thread": False})
            _configure_sqlite(self._sync_write_engine, begin="BEGIN IMMEDIATE")
            self._alone_engine: AsyncEngine | None = None
        else:
            self.write_engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self.read_engine = self.write_engine
            self._sync_write_engine = None
            # `run_alone`: statements that are their own transaction, in one round trip each: no
            # BEGIN/COMMIT, and instead of a pre-ping (three round trips on asyncpg) a look at the
            # socket when a connection is checked out (`_drop_closed`).
            self._alone_engine = create_async_engine(url, pool_size=4, max_overflow=4, isolation_level="AUTOCOMMIT")
            event.listen(self._alone_engine.sync_engine, "checkout", _drop_closed)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        # SQLite has one writer: queue writers here instead of in SQLite's sleeping busy handler.
        self._write_lock = WriterLock() if self.is_sqlite else None
        # Awaited by each background write before it asks for the writer (see `background()`),
        # with the number of tickets the work is for.
        self.background_gate: Callable[[int], Awaitable[None]] | None = None

    async def admit(self, weight: int = 1) -> None:
        """Inside `background()`: pass the gate once now, for work on `weight` tickets.

        The rest of the calling task (and the tasks it starts) then writes without asking again:
        a pipeline message reads, computes and writes in one turn, so during a burst of intake
        none of that runs before its turn comes (rather than only its writes waiting).
        """
        if not _BACKGROUND.get() or _ADMITTED.get():
            return
        if self.background_gate is not None:
            await self.background_gate(weight)
        _ADMITTED.set(True)

    @asynccontextmanager
    async def _turn(self, ahead: bool | None) -> AsyncIterator[None]:
        """A writer's turn: background writes first pass the gate; on SQLite, the writer lock is held."""
        if not _asks_ahead(ahead) and not _ADMITTED.get() and self.background_gate is not None:
            await self.background_gate(1)
        if self._write_lock is None:
            yield
            return
        async with self._write_lock.hold(ahead=ahead):
            yield

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def write(self, *, ahead: bool | None = None) -> AsyncIterator[AsyncSession]:
        """A session inside one write transaction, committed on success, rolled back on error.

        On SQLite, writes someone is waiting on (`ahead`; by default any write outside
        `background()`) go before the background writes queued for the lock.
        """
        async with self._turn(ahead), self._write_sessions() as session, session.begin():
            yield session

    async def run_write(
        self, work: Callable[[Connection], T], *, ahead: bool | None = None, on_loop: bool = False
    ) -> T:
        """Run `work(connection)` inside one write transaction (Core statements), committed if it returns.

        On SQLite the whole transaction runs in a worker thread, so a busy event loop costs one
        wake-up per transaction rather than one per statement, or, with `on_loop`, right here on
        the loop (see `GroupCommitter`); on PostgreSQL it runs on the async engine through `run_sync`.
        """
        async with self._turn(ahead):
            if self._sync_write_engine is None:
                async with self.write_engine.begin() as conn:
                    return await conn.run_sync(work)
            if on_loop:
                return self._run_sync_write(work)
            return await asyncio.to_thread(self._run_sync_write, work)

    async def run_alone(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """PostgreSQL: one statement, its own transaction, in one round trip; its rows."""
        if self._alone_engine is None:
            raise RuntimeError("run_alone is for PostgreSQL")
        async with self._alone_engine.connect() as conn:
            result = await conn.exec_driver_sql(sql, params)
            return list(result.all())

    def _run_sync_write(self, work: Callable[[Connection], T]) -> T:
        assert self._sync_write_engine is not None
        with self._sync_write_engine.begin() as conn:
            return work(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._sync_write_engine is not None:
            self._sync_write_engine.dispose()
        await self.write_engine.dispose()
        if self._alone_engine is not None:
            await self._alone_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
