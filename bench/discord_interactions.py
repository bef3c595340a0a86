"""Answer latency of signed Discord interactions (/ticket and Claim clicks) under load, against `python -m intake`.

    python bench/discord_interactions.py                       # 50 clients flat out, 2000 requests, half clicks
    python bench/discord_interactions.py --clients 5 --requests 1000
    python bench/discord_interactions.py --database postgresql+asyncpg://postgres@127.0.0.1:5432/<empty db>

Starts the fake Discord REST API (tests/fakes/discord_api.py) and `python -m intake` (SQLite, in-process
worker, keyword triage, Discord on with a fresh key pair) as separate processes on loopback, files
warm-up tickets, then sends interactions signed exactly as Discord signs them (Ed25519 over timestamp +
body) and times each until its HTTP answer. Discord drops an interaction not answered within 3 s; the
app defers (type 5/6) after 2 s, so the report counts deferred answers too.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from benchlib import free_port, report, spawn_fake, wait_http
from nacl.signing import SigningKey

ROOT = Path(__file__).resolve().parent.parent
AGENTS = {f"a{i}": str(810_000_000_000_000_100 + i) for i in range(8)}
TEXTS = ["the site is down for all customers, we are losing money #{n}", "refund for order {n} please",
         "cannot log in since this morning, password reset mail never arrives ({n})",
         "invoice {n} shows the wrong VAT rate", "the checkout page times out for some users ({n})"]
_ids = itertools.count(1_300_000_000_000_000_001)




async def serve_fake() -> None:
    """`--fake`: run the fake Discord REST API until killed, printing its base URL."""
    sys.path.insert(0, str(ROOT))
    from tests.fakes.discord_api import FakeDiscord

    fake = await FakeDiscord().start()
    print(fake.url, flush=True)
    while True:  # keep memory flat: the bench reads nothing back
        await asyncio.sleep(1)
        fake.calls.clear()
        fake.messages.clear()


def interaction(kind: int, data: dict, user_id: str) -> dict:
    member = {"user": {"id": user_id, "username": f"u{user_id[-3:]}", "avatar": None, "discriminator": "0"}}
    return {"id": str(next(_ids)), "application_id": "1100000000000000042", "type": kind,
            "token": f"tok-{next(_ids)}", "version": 1, "guild_id": "800000000000000001",
            "channel_id": "800000000000000002", "member": member, "data": data}


def command(n: int) -> dict:
    text = random.choice(TEXTS).format(n=n)
    return interaction(2, {"id": "1", "name": "ticket", "type": 1,
                           "options": [{"name": "text", "type": 3, "value": text}]}, f"8200000000000{n % 40:05d}")


def click(ticket_id: str) -> dict:
    return interaction(3, {"custom_id": f"ticket:claim:{ticket_id}", "component_type": 2},
                       random.choice(list(AGENTS.values())))


async def run_load(base: str, key: SigningKey, *, total: int, clients: int, clicks: float,
                   tickets: list[str]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"command": [], "click": []}
    answers: dict[str, int] = {}
    todo = iter(range(total))
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:

        async def client() -> None:
            for n in todo:
                kind = "click" if tickets and random.random() < clicks else "command"
                body = json.dumps(click(random.choice(tickets)) if kind == "click" else command(n)).encode()
                stamp = str(int(time.time()))
                headers = {"Content-Type": "application/json", "X-Signature-Timestamp": stamp,
                           "X-Signature-Ed25519": key.sign(stamp.encode() + body).signature.hex()}
                t0 = time.perf_counter()
                async with session.post(f"{base}/discord/interactions", data=body, headers=headers) as response:
                    answer = await response.json() if response.status == 200 else {"type": response.status}
                times[kind].append(time.perf_counter() - t0)
                label = f"{kind}:{answer.get('type')}"
                answers[label] = answers.get(label, 0) + 1
                if kind == "command" and answer.get("type") == 4:
                    tickets.append(answer["data"]["content"].split("**")[1])

        await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    print(f"  {total} requests in {elapsed:.1f}s = {total / elapsed:.0f}/s; answers by kind:type {answers}")
    return times



async def measure(base: str, key: SigningKey, args: argparse.Namespace) -> None:
    tickets: list[str] = []
    print(f"warm-up: {args.warmup} /ticket commands (they file the tickets the clicks aim at)")
    await run_load(base, key, total=args.warmup, clients=args.clients, clicks=0.0, tickets=tickets)
    print(f"measured: {args.requests} requests from {args.clients} concurrent clients, {args.clicks:.0%} clicks")
    times = await run_load(base, key, total=args.requests, clients=args.clients, clicks=args.clicks, tickets=tickets)
    print("  answer latency (request sent -> HTTP answer):")
    for kind in ("command", "click"):
        print(report(kind, times[kind]))
    print(report("all", times["command"] + times["click"]))


def main(args: argparse.Namespace) -> None:
    fake, fake_url = spawn_fake(__file__)
    work = Path(tempfile.mkdtemp(prefix="discord-bench-"))
    agents = work / "agents.yaml"
    agents.write_text("".join(
        f"- {{id: {a}, name: Agent {a}, skills: [Technical, Billing, Account, Other], languages: [en], "
        f"capacity: 10000, discord_user_id: '{d}'}}\n" for a, d in AGENTS.items()))
    key = SigningKey.generate()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": args.database or f"sqlite+aiosqlite:///{work}/bench.db", "PORT": str(port),
           "HOST": "127.0.0.1", "TRIAGE_MODEL": "keyword", "AGENTS_FILE": str(agents), "LOG_FORMAT": "json",
           "DISCORD_PUBLIC_KEY": key.verify_key.encode().hex(), "DISCORD_APPLICATION_ID": "1100000000000000042",
           "DISCORD_BOT_TOKEN": "bot-test", "DISCORD_ALERT_CHANNEL_ID": "C1", "DISCORD_API_URL": fake_url}
    server = subprocess.Popen([sys.executable, "-m", "intake"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        asyncio.run(measure(f"http://127.0.0.1:{port}", key, args))
    finally:
        server.terminate()
        server.wait(30)
        fake.terminate()


if __name__ == "__main__":
    if "--fake" in sys.argv:
        asyncio.run(serve_fake())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--database", help="DATABASE_URL of an empty database (default: a fresh SQLite file)")
    parser.add_argument("--clicks", type=float, default=0.5, help="share of requests that are Claim clicks")
    main(parser.parse_args())
