"""Routing decisions per second: the pure policy (`workers.routing.decide`) and `pipeline.route` end to end.

    python bench/routing.py                                    # decide() + route() on a temporary SQLite file
    python bench/routing.py --postgres postgresql://postgres@127.0.0.1:5432/test   # route() on PostgreSQL

`decide()` is timed over rosters of 10, 50 and 200 agents with random skills, languages, tiers and
loads (best of 3 runs of --decisions calls). `route()` routes one ticket (what `/v1/route` and a
reopened ticket use): read the ticket, read the active roster, decide, and commit the assignment
(guarded update, capacity increment and audit event in one transaction). It is timed one ticket
at a time and with --concurrency routes in flight. `route_many()` is what the `route_tickets`
actor runs for a message: its tickets decided together and written in one transaction; it is
timed over messages of 100 ids, one message at a time. Each phase routes --tickets triaged
tickets over 50 agents, in a throwaway database dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml import load_service  # noqa: E402
from storage.agents import put_agent  # noqa: E402
from storage.config import Settings  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import migrate  # noqa: E402
from storage.models import Ticket, TicketEvent, utcnow  # noqa: E402
from storage.tickets import NewTicket, ticket_values  # noqa: E402
from workers import pipeline  # noqa: E402
from workers.routing import AgentProfile, Need, decide  # noqa: E402
from workers.runtime import Runtime  # noqa: E402

CATEGORIES = ("Billing", "Technical", "Account", "Shipping/Orders", "Legal", "Feature request")
TOPICS = ("refunds", "api", "sso", "invoices", "gdpr", "mobile", "integrations", "returns")
LANGUAGES = ("en", "de", "es", "fr")


def roster(size: int, rng: random.Random) -> list[AgentProfile]:
    now = utcnow()
    return [
        AgentProfile(
            id=f"agent-{i:03d}",
            skills=frozenset(s.lower() for s in rng.sample(CATEGORIES, 2) + rng.sample(TOPICS, 2)),
            languages=frozenset({"en", *rng.sample(LANGUAGES, 1)}),
            capacity=(cap := rng.randint(3, 10)),
            load=rng.randint(0, cap),
            clearance=rng.random() < 0.3,
            tier=rng.choice(("junior", "junior", "senior")),
            rate=rng.choice((None, 20.0, 40.0, 60.0)),
            last_assigned_at=now - timedelta(seconds=rng.randint(0, 3600)),
        )
        for i in range(size)
    ]


def need(rng: random.Random) -> Need:
    return Need(category=rng.choice(CATEGORIES), topics=tuple(rng.sample(TOPICS, rng.randint(0, 1))),
                language=rng.choice(LANGUAGES), sensitive=rng.random() < 0.1,
                budget=rng.choice((None, None, 50.0)), urgency=rng.random(), vip=rng.random() < 0.05)


def bench_decide(decisions: int) -> None:
    rng = random.Random(7)
    needs = [need(rng) for _ in range(decisions)]
    for size in (10, 50, 200):
        agents = roster(size, rng)
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            for item in needs:
                decide(agents, item)
            runs.append(decisions / (time.perf_counter() - started))
        outcomes = {o: sum(decide(agents, n).outcome == o for n in needs[:2000]) for o in
                    ("assigned", "queued", "no_candidates")}
        print(f"decide(), {size:>3} agents: {max(runs):>9,.0f} decisions/s (best of 3; "
              f"median {statistics.median(runs):,.0f}); outcomes of 2,000: {outcomes}")


async def seed(db: Database, tickets: int, rng: random.Random) -> list[str]:
    """50 agents and `tickets` triaged tickets (inserted as rows, as the pipeline leaves them)."""
    for profile in roster(50, rng):
        await put_agent(db, profile.id, {"name": profile.id, "skills": sorted(profile.skills),
                                         "languages": sorted(profile.languages), "capacity": 10_000,
                                         "clearance": profile.clearance, "tier": profile.tier,
                                         "rate": profile.rate})
    now = utcnow()
    rows, ids = [], []
    for i in range(tickets):
        values = ticket_values(NewTicket(subject=f"bench {i}", body="routing benchmark"), now)
        item = need(rng)
        values.update(status="triaged", category=item.category, topics=list(item.topics),
                      detected_language=item.language, sensitive=item.sensitive, budget=item.budget,
                      urgency=item.urgency, urgency_label="low", confidence=0.9, model="bench", triaged_at=now)
        rows.append(values)
        ids.append(values["id"])
    async with db.write() as session:
        session.add_all([Ticket(**values) for values in rows])
        session.add_all([TicketEvent(ticket_id=i, type="triage", ts=now, data={}) for i in ids])
    return ids


async def bench_route(url: str, tickets: int, concurrency: int) -> None:
    db = Database(url)
    await migrate(db)
    settings = Settings(_env_file=None, database_url=url, agents_file=None, triage_model="keyword")  # type: ignore[call-arg]
    rt = Runtime(settings=settings, db=db, triage=load_service("keyword"))
    rng = random.Random(11)
    try:
        ids = await seed(db, tickets * 3, rng)
        one, many, batched = ids[:tickets], ids[tickets:2 * tickets], ids[2 * tickets:]
        started = time.perf_counter()
        outcomes = [await pipeline.route(rt, i) for i in one]
        sequential = len(one) / (time.perf_counter() - started)
        gate = asyncio.Semaphore(concurrency)

        async def routed(ticket_id: str) -> pipeline.Routed:
            async with gate:
                return await pipeline.route(rt, ticket_id)

        started = time.perf_counter()
        outcomes += await asyncio.gather(*(routed(i) for i in many))
        parallel = len(many) / (time.perf_counter() - started)
        started = time.perf_counter()
        for start in range(0, len(batched), 100):
            outcomes += [r for _, r in await pipeline.route_many(rt, batched[start:start + 100])]
        together = len(batched) / (time.perf_counter() - started)
        counts = {o: sum(r.outcome == o for r in outcomes) for o in ("assigned", "queued", "no_candidates")}
        assert sum(r.changed for r in outcomes) == len(ids), "every ticket routed exactly once"
        print(f"route() on {db.dialect}, 50 agents: {sequential:,.0f} tickets/s one at a time, "
              f"{parallel:,.0f} tickets/s with {concurrency} in flight; route_many(): {together:,.0f} tickets/s "
              f"in messages of 100; outcomes: {counts}")
    finally:
        await db.dispose()


async def with_postgres(dsn: str, tickets: int, concurrency: int) -> None:
    import asyncpg

    name = f"sb_bench_routing_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        await bench_route(f"{base}/{name}", tickets, concurrency)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--tickets", type=int, default=1_000, help="tickets per route() phase")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--postgres", help="server DSN to create a throwaway database on (default: SQLite)")
    parser.add_argument("--skip-decide", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}")
    if not args.skip_decide:
        bench_decide(args.decisions)
    if args.postgres:
        asyncio.run(with_postgres(args.postgres, args.tickets, args.concurrency))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(bench_route(f"sqlite+aiosqlite:///{tmp}/bench.db", args.tickets, args.concurrency))


if __name__ == "__main__":
    main()
