"""Alert latency: from a ticket's 202 (accepted) to its card arriving on Slack, at a steady urgent rate.

    python bench/alert_latency.py                                   # embedded: SQLite, in-process worker
    python bench/alert_latency.py --postgres postgresql://postgres@127.0.0.1:5432/test \\
                                  --redis redis://127.0.0.1:6379/5  # production layout: + a dramatiq worker

Starts the fake Slack Web API (tests/fakes/slack_api.py) in this process and `python -m intake`
(keyword triage, Slack on, demo agents) as a separate process on loopback; in the production layout
also one `dramatiq intake.worker` process, on a throwaway PostgreSQL database created beside the
one named (dropped at the end) and the Redis named (its db is flushed first). Posts --count urgent
tickets at --rate per second (open loop: each is due at i / rate whether or not earlier ones
answered), optionally with --background routine tickets per second beside them, and times each
urgent ticket from its 202 to its `chat.postMessage` reaching the fake (wall clock, same machine).
Slack allows about one post per second and channel, so above --rate 1 the pacer's delay shows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.intake import free_port, wait_http  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402

CHANNEL = "CALERTS"
URGENT = "URGENT: outage, the site is down for all customers, we are losing money (#{n})"
ROUTINE = "question about invoice {n}, the VAT number is missing"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def post_load(base: str, *, count: int, rate: float, background: float) -> dict[str, float]:
    """Post the urgent tickets (and the routine ones beside them); each urgent id -> wall time of its 202."""
    accepted: dict[str, float] = {}
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:

        async def post(body: str, at: float, urgent: bool) -> None:
            delay = started + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            async with session.post(f"{base}/v1/tickets", json={"body": body}) as response:
                answer = await response.json()
                if urgent and response.status == 202:
                    accepted[answer["id"]] = time.time()

        jobs = [post(URGENT.format(n=i), i / rate, True) for i in range(count)]
        if background:
            jobs += [post(ROUTINE.format(n=i), i / background, False) for i in range(int(count / rate * background))]
        await asyncio.gather(*jobs)
    return accepted


def spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def until(done, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Poll `done()` (what the fake recorded) until true or `seconds` passed."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:  # noqa: ASYNC110 (the fake records calls, no event)
        await asyncio.sleep(0.05)


def card_times(fake: FakeSlack) -> dict[str, float]:
    """Ticket id -> when its card (a top-level post to the alert channel) reached the fake."""
    found: dict[str, float] = {}
    for call in fake.calls:
        if call.method == "chat.postMessage" and call.args.get("channel") == CHANNEL \
                and not call.args.get("thread_ts"):
            match = re.search(r"T-[0-9A-Z]{10}", str(call.args.get("text")))
            if match:
                found.setdefault(match.group(0), call.at)
    return found


async def run(args: argparse.Namespace) -> None:
    fake = await FakeSlack().start()
    port = free_port()
    tmp = tempfile.mkdtemp()
    env = {**os.environ, "PORT": str(port), "TRIAGE_MODEL": "keyword", "LOG_FORMAT": "json", "AGENTS_FILE": "demo",
           "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "bench-signing-secret",
           "SLACK_ALERT_CHANNEL": CHANNEL, "SLACK_API_URL": fake.url,
           "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db"}
    dbname = None
    if args.postgres:
        import asyncpg
        import redis

        dbname = f"sb_bench_alert_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(args.postgres)
        await admin.execute(f'CREATE DATABASE "{dbname}"')
        await admin.close()
        base_dsn = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        env["DATABASE_URL"] = f"{base_dsn}/{dbname}"
        env["REDIS_URL"] = args.redis
        redis.Redis.from_url(args.redis).flushdb()
    processes = [spawn([sys.executable, "-m", "intake"], env)]
    try:
        await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/healthz")
        if args.redis:
            processes.append(spawn([sys.executable, "-m", "dramatiq", "intake.worker", "--processes", "1",
                                    "--threads", "8"], env))
        base = f"http://127.0.0.1:{port}"
        # Warm up: the first tickets pay for imports, pools and the worker's start.
        await post_load(base, count=3, rate=1.0, background=0)
        await until(lambda: len(card_times(fake)) >= 3, seconds=60)
        warm = set(card_times(fake))
        await asyncio.sleep(3.0)  # let the channel pacer's queue from the warm-up drain (one post per second)
        accepted = await post_load(base, count=args.count, rate=args.rate, background=args.background)
        await until(lambda: set(accepted) <= set(card_times(fake)), seconds=120)
        cards = card_times(fake)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()
        await fake.close()
        if dbname:
            import asyncpg

            admin = await asyncpg.connect(args.postgres)
            await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            await admin.close()
    latencies = [(cards[t] - at) * 1000 for t, at in accepted.items() if t in cards and t not in warm]
    posts = [c for c in card_times(fake) if c not in warm]
    mode = "PostgreSQL + Redis + 1 dramatiq worker" if args.postgres else "SQLite embedded"
    print(f"mode: {mode}; {args.count} urgent tickets at {args.rate:g}/s"
          + (f" beside {args.background:g} routine/s" if args.background else "") + f"; {os.cpu_count()} cores")
    print(f"cards: {len(latencies)} of {len(accepted)} accepted urgent tickets; card posts {len(posts)} "
          f"(duplicates: {len(posts) - len(set(posts))})")
    if latencies:
        print(f"accepted -> card on Slack: p50 {statistics.median(latencies):.0f} ms, "
              f"p90 {percentile(latencies, 90):.0f} ms, p99 {percentile(latencies, 99):.0f} ms, "
              f"max {max(latencies):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=60, help="urgent tickets")
    parser.add_argument("--rate", type=float, default=0.5, help="urgent tickets per second")
    parser.add_argument("--background", type=float, default=0.0, help="routine tickets per second beside them")
    parser.add_argument("--postgres", help="server DSN: a throwaway database is created beside it (with --redis)")
    parser.add_argument("--redis", help="REDIS_URL for the production layout (its db is flushed)")
    args = parser.parse_args()
    if bool(args.postgres) != bool(args.redis):
        parser.error("--postgres and --redis go together (the production layout)")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
