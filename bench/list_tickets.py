"""`GET /v1/tickets` latency with a million tickets in PostgreSQL: p50/p99 of typical filters and cursor pages.

    python bench/list_tickets.py --postgres postgresql://postgres@127.0.0.1:5432/test [--rows 1000000]

Creates a throwaway database on that server, migrates it to head (or to --revision, to compare
before/after an index migration), bulk-loads --rows tickets with one INSERT ... SELECT over
generate_series (a year of history: ~65% resolved, 20% completed, 5% each queued/assigned/claimed,
a few in the pipeline; 7 categories; 50 agents; 10% of texts mention "refund", 0.1% "chargeback"),
ANALYZEs, then times each request through the real app (aiohttp, one client, sequential) and drops
the database. --keep reuses a database of that name across runs instead (load once, query often);
--explain prints PostgreSQL's plan of the slowest query of each filter.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from intake.app import create_app  # noqa: E402
from ml import load_service  # noqa: E402
from storage.config import Settings  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import migrate  # noqa: E402

LOAD = """
INSERT INTO agents (id, name, skills, languages, capacity, load, clearance, tier, active, created_at, updated_at)
SELECT 'agent-' || lpad(g::text, 3, '0'), 'Agent ' || g, '["Billing", "Technical"]', '["en"]', 10000, 0,
       false, 'junior', true, now(), now()
FROM generate_series(1, 50) g;

INSERT INTO tickets (id, status, version, channel, subject, body, topics, sensitive, metadata, tags,
                     signals, routing_reason, needs_review, category, urgency, urgency_label, model,
                     assignee_id, created_at, updated_at)
SELECT 'T-' || upper(lpad(to_hex(g), 10, '0')),
       CASE WHEN r < 0.001 THEN 'received' WHEN r < 0.002 THEN 'triaged' WHEN r < 0.052 THEN 'queued'
            WHEN r < 0.102 THEN 'assigned' WHEN r < 0.152 THEN 'claimed' WHEN r < 0.352 THEN 'completed'
            ELSE 'resolved' END,
       3, 'api',
       CASE WHEN g % 10 = 0 THEN 'refund for order ' || g WHEN g % 1000 = 7 THEN 'chargeback on card ' || g
            ELSE 'question number ' || g END,
       'Hello, this is ticket ' || g || '. ' || repeat('Some words about the problem. ', (1 + g % 5)::int),
       '[]', false, '{}', '[]', '[]', '[]', false,
       (ARRAY['Billing','Technical','Account','Shipping/Orders','Legal','Feature request','Other'])[1 + g % 7],
       round((((g * 7919) % 1000) / 1000.0)::numeric, 3), 'low', 'bench',
       CASE WHEN r >= 0.052 AND r < 0.352 THEN 'agent-' || lpad((1 + g % 50)::text, 3, '0') END,
       now() - make_interval(secs => (:rows - g) * (31536000.0 / :rows)),
       now() - make_interval(secs => (:rows - g) * (31536000.0 / :rows))
FROM (SELECT g, ((g * 2654435761::bigint) % 1000003) / 1000003.0 AS r FROM generate_series(1::bigint, :rows) g) s;
ANALYZE;
"""

FILTERS: list[tuple[str, str]] = [
    ("newest page, no filter", ""),
    ("status=queued", "status=queued"),
    ("status=received (rare)", "status=received"),
    ("status=assigned,claimed", "status=assigned,claimed"),
    ("category=Billing", "category=Billing"),
    ("min_urgency=0.9", "min_urgency=0.9"),
    ("status=queued&category=Legal&min_urgency=0.8", "status=queued&category=Legal&min_urgency=0.8"),
    ("assignee=agent-007", "assignee=agent-007"),
    ("assignee=agent-007&status=claimed", "assignee=agent-007&status=claimed"),
    ("q=refund (10% of rows)", "q=refund"),
    ("q=chargeback (0.1%)", "q=chargeback"),
    ("q=xyzzy (no match)", "q=xyzzy"),
]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def load(dsn: str, rows: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await conn.execute(LOAD.replace(":rows", str(rows)))
        count = await conn.fetchval("SELECT count(*) FROM tickets")
        print(f"loaded {count:,} tickets in {time.perf_counter() - started:.1f}s")
    finally:
        await conn.close()


async def timed(client: TestClient, query: str, repeat: int) -> tuple[list[float], dict[str, Any]]:
    samples, body = [], {}
    for _ in range(repeat):
        started = time.perf_counter()
        response = await client.get(f"/v1/tickets?{query}")
        body = await response.json()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, body
    return samples, body


def report(name: str, samples: list[float], items: int) -> None:
    print(f"  {name:<48} p50 {statistics.median(samples):8.1f} ms   p99 {percentile(samples, 99):8.1f} ms"
          f"   ({len(samples)} requests, {items} items/page)")


async def measure(url: str, repeat: int, pages: int, explain: bool, only: str = "") -> None:
    settings = Settings(_env_file=None, database_url=url, agents_file=None, triage_model="keyword")  # type: ignore[call-arg]
    app = create_app(settings, triage=load_service("keyword"), start_worker=False, run_sweeper=False)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        await timed(client, "", 5)  # warm the pool and the caches
        for name, query in FILTERS:
            if only not in name:
                continue
            samples, body = await timed(client, query + "&limit=50" if query else "limit=50", repeat)
            report(name, samples, len(body["items"]))
            if explain:
                await explain_query(client, query)
        if only:
            return
        for name, query in (("cursor pages 1..N, no filter", "limit=50"),
                            ("cursor pages 1..N, status=resolved", "status=resolved&limit=50"),
                            ("cursor pages 1..N, category=Legal", "category=Legal&limit=50")):
            samples, cursor = [], None
            for _ in range(pages):
                started = time.perf_counter()
                response = await client.get(f"/v1/tickets?{query}" + (f"&cursor={cursor}" if cursor else ""))
                body = await response.json()
                samples.append((time.perf_counter() - started) * 1000)
                cursor = body["next_cursor"]
            report(f"{name} (N={pages})", samples, len(body["items"]))
        # A cursor deep in history (half a year back): keyset pagination must not slow down with depth.
        deep = await deep_cursor(settings)
        samples, body = await timed(client, f"limit=50&cursor={deep}", repeat)
        report("cursor half a year back, no filter", samples, len(body["items"]))
        samples, body = await timed(client, f"status=queued&limit=50&cursor={deep}", repeat)
        report("cursor half a year back, status=queued", samples, len(body["items"]))
    finally:
        await client.close()


async def deep_cursor(settings: Settings) -> str:
    """The cursor of the ticket in the middle of the history, as a client paging that far would hold."""
    from sqlalchemy import func, select

    from storage.models import Ticket
    from storage.tickets import encode_cursor

    db = Database(settings.database_url)
    try:
        async with db.read() as session:
            half = int(await session.scalar(select(func.count()).select_from(Ticket)) or 0) // 2
            middle = (await session.scalars(select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc())
                                            .offset(half).limit(1))).one()
        return encode_cursor(middle)
    finally:
        await db.dispose()


async def explain_query(client: TestClient, query: str) -> None:
    """PostgreSQL's plan for the list query of one filter (the very statement the app builds)."""
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    from intake.state import SERVICES
    from storage import tickets as store

    params = dict(p.split("=", 1) for p in query.split("&") if p)
    stmt = store.list_statement(statuses=params["status"].split(",") if "status" in params else None,
                                category=params.get("category"), assignee=params.get("assignee"),
                                min_urgency=float(params["min_urgency"]) if "min_urgency" in params else None,
                                q=params.get("q"), limit=50)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    async with client.server.app[SERVICES].runtime.db.read() as session:
        plan = (await session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))).scalars().all()
    print("      " + "\n      ".join(plan[:10]))


async def run(dsn: str, rows: int, repeat: int, pages: int, revision: str, keep: str | None, explain: bool,
              only: str) -> None:
    name = keep or f"sb_bench_list_{os.getpid()}"
    admin = await asyncpg.connect(dsn)
    fresh = True
    try:
        if keep and await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", keep):
            fresh = False
        else:
            await admin.execute(f'CREATE DATABASE "{name}"')
        base = dsn.rsplit("/", 1)[0]
        url = base.replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
        db = Database(url)
        await migrate(db, revision)
        await db.dispose()
        if not fresh:  # a kept database from an earlier run: load it only if that load never finished
            conn = await asyncpg.connect(f"{base}/{name}")
            fresh = not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM tickets)")
            await conn.close()
        if fresh:
            await load(f"{base}/{name}", rows)
        print(f"schema at {revision}; GET /v1/tickets, limit=50:")
        await measure(url, repeat, pages, explain, only)
    finally:
        if not keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="server DSN; a throwaway database is created beside this one")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=100, help="requests per filter")
    parser.add_argument("--pages", type=int, default=50, help="cursor pages walked per filter")
    parser.add_argument("--revision", default="head", help="migrate to this revision (compare indexes)")
    parser.add_argument("--keep", metavar="DBNAME", help="load into / reuse this database and keep it")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--only", default="", help="only the filters whose name contains this (e.g. 'q=')")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
          f"{args.rows:,} tickets")
    asyncio.run(run(args.postgres, args.rows, args.repeat, args.pages, args.revision, args.keep, args.explain,
                    args.only))


if __name__ == "__main__":
    main()
