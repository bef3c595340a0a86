"""Ack latency of signed Slack requests (slash commands and button clicks) under load, against `python -m intake`.

    python bench/slack_ack.py                          # 50 clients flat out, 3000 requests (half commands, half clicks)
    python bench/slack_ack.py --rate 200               # the same clients, paced to 200 requests/s in total
    python bench/slack_ack.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/<empty db> \\
                              --redis redis://127.0.0.1:6379/5   # production layout, one worker process

Starts the fake Slack Web API (tests/fakes/slack_api.py) and `python -m intake` (SQLite, in-process worker,
keyword triage, Slack on) as separate processes on loopback, files warm-up tickets, then sends every
request signed exactly as Slack signs it and times each until its answer (the ack). Commands file a ticket
before acking (the receipt is the ack); clicks ack first and work after. Prints p50/p90/p99/max per kind,
and checks that every command filed exactly one ticket.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from benchlib import count_tickets, free_port, report, spawn_fake, wait_http
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"
AGENTS = [f"a{i}" for i in range(8)]
TEXTS = ["the site is down for all customers, we are losing money", "refund for order {n} please",
         "cannot log in since this morning, password reset mail never arrives", "please add dark mode ({n})",
         "invoice {n} shows the wrong VAT rate", "the checkout page times out for some users"]




async def serve_fake() -> None:
    """`--fake`: run the fake Web API until killed, printing its base URL."""
    sys.path.insert(0, str(ROOT))
    from tests.fakes.slack_api import FakeSlack

    fake = await FakeSlack().start()
    print(fake.url, flush=True)
    while True:  # keep only what the bench reads back (response_url posts), so memory stays flat
        await asyncio.sleep(1)
        fake.calls[:] = [c for c in fake.calls if c.method == "respond"]


class Load:
    """Builds signed Slack bodies; each command has its own trigger_id (so each files one ticket)."""

    def __init__(self, respond_url: str) -> None:
        self.verifier = SignatureVerifier(SECRET)
        self.respond = respond_url
        self.n = 0

    def headers(self, body: str) -> dict[str, str]:
        ts = str(int(time.time()))
        return {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": self.verifier.generate_signature(timestamp=ts, body=body)}

    def command(self) -> tuple[str, str]:
        """A /ticket body, and the key of its response_url."""
        self.n += 1
        user = f"UREQ{self.n % 40}"
        return urlencode({"team_id": "T1", "channel_id": "CGEN", "user_id": user, "user_name": user.lower(),
                          "command": "/ticket", "text": random.choice(TEXTS).format(n=self.n),
                          "response_url": f"{self.respond}c{self.n}", "trigger_id": f"bench-{os.getpid()}-{self.n}"}
                         ), f"c{self.n}"

    def click(self, ticket_id: str) -> str:
        self.n += 1
        action = random.choice(["ticket_claim", "ticket_claim", "ticket_release", "ticket_complete"])
        user = f"U{random.choice(AGENTS).upper()}"
        return urlencode({"payload": json.dumps({
            "type": "block_actions", "team": {"id": "T1"}, "user": {"id": user, "name": user.lower()},
            "api_app_id": "A1", "trigger_id": f"click-{self.n}", "channel": {"id": "C1"},
            "container": {"type": "message", "channel_id": "C1", "message_ts": "1.1"},
            "response_url": f"{self.respond}k{self.n}",
            "actions": [{"type": "button", "action_id": action, "value": ticket_id, "block_id": f"actions:{ticket_id}",
                         "action_ts": str(time.time())}]})})


async def arrivals(fake_url: str) -> dict[str, tuple[float, str]]:
    """When each response_url post reached the fake Slack (wall clock), and its text, by key."""
    async with aiohttp.ClientSession() as session, \
            session.get(fake_url.replace("/api/", "/_recorded/respond")) as response:
        return {c["args"]["key"]: (c["at"], c["args"].get("text", "")) for c in await response.json()}


async def run_load(base: str, load: Load, fake_url: str, *, total: int, clients: int, rate: float | None,
                   tickets: list[str], commands_only: bool = False, clicks: float = 0.5) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"command": [], "click": [], "receipt": []}
    deferred: list[tuple[str, float]] = []
    statuses: dict[int, int] = {}
    todo = iter(range(total))
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            for i in todo:
                if rate:  # open loop: request i is due at i / rate, whether or not earlier ones answered
                    delay = started + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                kind = "command" if commands_only or random.random() >= clicks else "click"
                body, key = load.command() if kind == "command" else (load.click(random.choice(tickets)), "")
                headers = load.headers(body)
                t0, wall = time.perf_counter(), time.time()
                async with session.post(f"{base}/slack/events", data=body, headers=headers) as response:
                    text = await response.read()
                times[kind].append(time.perf_counter() - t0)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if kind != "command" or response.status != 200:
                    continue
                answer = json.loads(text)["text"]
                if answer.startswith("Filing"):  # the receipt comes through response_url
                    deferred.append((key, wall))
                else:
                    times["receipt"].append(times[kind][-1])
                    if commands_only:
                        tickets.append(answer.split("*")[1])

        await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    arrived: dict[str, tuple[float, str]] = {}
    for _ in range(60):  # the deferred receipts still on their way
        arrived = await arrivals(fake_url)
        if all(key in arrived for key, _ in deferred):
            break
        await asyncio.sleep(0.5)
    times["receipt"] += [arrived[key][0] - wall for key, wall in deferred if key in arrived]
    if commands_only:
        tickets += [arrived[key][1].split("*")[1] for key, _ in deferred if key in arrived]
    missing = sum(key not in arrived for key, _ in deferred)
    failed = sum("could not be filed" in arrived[key][1] for key, _ in deferred if key in arrived)
    print(f"  {total} requests in {elapsed:.1f}s = {total / elapsed:.0f}/s; statuses {statuses}; "
          f"receipts deferred to response_url: {len(deferred)} (never arrived: {missing}, "
          f"'could not be filed': {failed})")
    times["failed"] = [0.0] * failed
    return times



async def measure(base: str, args: argparse.Namespace) -> int:
    """Warm up (commands that file the tickets the clicks aim at), then the measured run; commands sent."""
    fake_url = args.fake_url
    load = Load(fake_url.replace("/api/", "/respond/"))
    tickets: list[str] = []
    print(f"warm-up: {args.warmup} commands (they file the tickets the clicks aim at)")
    await run_load(base, load, fake_url, total=args.warmup, clients=args.clients, rate=None, tickets=tickets,
                   commands_only=True)
    paced = f"paced to {args.rate:.0f}/s" if args.rate else "flat out"
    print(f"measured: {args.requests} requests from {args.clients} concurrent clients, {paced}")
    times = await run_load(base, load, fake_url, total=args.requests, clients=args.clients, rate=args.rate,
                           tickets=tickets, clicks=args.clicks)
    print("  ack latency (request sent -> HTTP answer):")
    for kind in ("command", "click"):
        print(report(kind, times[kind]))
    print(report("all", times["command"] + times["click"]))
    print("  receipt latency (command sent -> ticket id in front of the user, in the ack or via response_url):")
    print(report("receipt", times["receipt"]))
    return args.warmup + len(times["command"]) - len(times["failed"])


def main(args: argparse.Namespace) -> None:
    fake, fake_url = spawn_fake(__file__)
    work = Path(tempfile.mkdtemp(prefix="slack-ack-"))
    agents = work / "agents.yaml"
    agents.write_text("".join(f"- id: {a}\n  name: Agent {a}\n  skills: [Technical, Billing, Account, Other]\n"
                              f"  languages: [en]\n  capacity: 50\n  slack_user_id: U{a.upper()}\n" for a in AGENTS))
    port = free_port()
    database = args.postgres or f"sqlite+aiosqlite:///{work}/bench.db"
    env = {**os.environ, "DATABASE_URL": database, "PORT": str(port), "HOST": "127.0.0.1",
           "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_ALERT_CHANNEL": "C1",
           "SLACK_API_URL": fake_url, "TRIAGE_MODEL": "keyword", "AGENTS_FILE": str(agents), "LOG_FORMAT": "json",
           "REDIS_URL": args.redis or "", "API_TOKEN": "", "ADMIN_TOKEN": ""}
    mode = "PostgreSQL" if args.postgres else "SQLite"
    mode += " + Redis, one `dramatiq intake.worker` process beside it" if args.redis else \
        ", embedded (the pipeline runs in the server process)"
    print(f"server: python -m intake, {mode}")
    with open(work / "server.log", "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "intake"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=log)
        worker = subprocess.Popen([sys.executable, "-m", "dramatiq", "intake.worker", "--processes", "1",
                                   "--threads", "8", "--queues", "ml", "default", "chat"],
                                  env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log) if args.redis else None
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz")
        args.fake_url = fake_url
        expected = asyncio.run(measure(base, args))
        time.sleep(1)
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        for line in metrics.splitlines():
            if line.startswith(("switchboard_chat_posts_total{", "switchboard_chat_failures_total{")) \
                    and "slack" in line:
                print("  " + line)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        fake.terminate()
        fake.wait(timeout=10)
    report_tickets(database, expected)


def report_tickets(database_url: str, expected: int) -> None:
    n = count_tickets(database_url)
    print(f"  tickets in the database: {n} (one per command: {'yes' if n == expected else 'NO'})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fake", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--clicks", type=float, default=0.5, help="share of button clicks among the requests")
    parser.add_argument("--rate", type=float, default=None, help="total requests/s (open loop); default flat out")
    parser.add_argument("--postgres", help="an EMPTY PostgreSQL database URL (postgresql+asyncpg://...)")
    parser.add_argument("--redis", help="Redis URL: intake enqueues there; the bench starts one worker process")
    arguments = parser.parse_args()
    if arguments.fake:
        asyncio.run(serve_fake())
    else:
        main(arguments)
