"""Triage throughput: the service alone (one caller vs many), a forward-pass sweep, or end to end through the worker.

    python bench/triage.py [--kind auto|torch] [--tickets 1000] [--callers 64] [--threads N]
    python bench/triage.py --sweep             # what one forward pass over B tickets would cost
    python bench/triage.py --worker [--postgres URL] [--redis URL] [--processes 1]
                                               # end to end: intake -> Redis -> `dramatiq intake.worker`

Texts are the committed hand-labeled tickets and banking77 queries, paired up to ticket length
(~25-30 words). One run measures, in order: load time, batch 1 (a single caller awaiting each
ticket, with the default 10 ms gather window and with none; then N concurrent callers with one
ticket per forward pass), batched (N concurrent callers), then the process's peak RSS. Results
also go to bench/results/triage.json (not committed).

`--sweep` answers a narrower question: how much cheaper a ticket gets when B tickets share one
forward pass of the encoder on one thread (all texts sorted by length first, so passes pad
little). The service sorts only within a gathered batch and passes `OnnxEncoder.sub_batch` at a
time over one thread per core.

`--worker` measures the production path instead: `python -m intake` in Redis mode takes 1,000
tickets over HTTP (50 at a time) while a `dramatiq intake.worker` process with the model loaded
triages and routes them (its chat queue is left unconsumed: there is no platform to post to
here), once with TRIAGE_MAX_BATCH=1 (one ticket per forward pass, no wait) and once with the
default micro-batching, alternating `--rounds` times. It reports tickets per second from the
first POST until every ticket is triaged and until every ticket is routed, the worker
processes' peak RSS, and, measured just before each run, the encoder alone in the bench process
(one ticket per pass, one thread, ms per ticket): the host's speed that minute, which moves ~1.7x
between hours on this VM; results go to bench/results/triage_worker.json. The database is a fresh
SQLite file per run unless `--postgres` names an EMPTY scratch database (its schema is dropped
and rebuilt between runs); the Redis database (`--redis`, default db 13) is flushed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import cpu_times, free_port, status_counts, steal_percent, wait_http  # noqa: E402

from ml import TriageRequest, TriageService, load_service  # noqa: E402
from ml.datasets import DATA, read_examples  # noqa: E402
from ml.service import MAX_BATCH, MAX_WAIT  # noqa: E402


def ticket_texts(count: int) -> list[str]:
    """`count` ticket-length texts: two committed examples joined, as a subject line and a body."""
    pool = [
        r.text for r in read_examples(DATA / "labeled_tickets.csv") + read_examples(DATA / "banking77.csv")
    ]
    rng = random.Random(7)
    return [f"{rng.choice(pool)}\n{rng.choice(pool)}" for _ in range(count)]


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    with open("/proc/self/statm") as f:
        current = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return current, peak


async def one_at_a_time(service: TriageService, texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        await service.triage(TriageRequest(text))
    return len(texts) / (time.perf_counter() - started)


async def concurrent(service: TriageService, texts: list[str], callers: int) -> float:
    queue = list(reversed(texts))

    async def caller() -> None:
        while queue:
            await service.triage(TriageRequest(queue.pop()))

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return len(texts) / (time.perf_counter() - started)


async def run(args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    service = load_service(args.kind, threads=args.threads, max_wait=args.max_wait)
    await service.start()
    if service.degraded:
        raise SystemExit(f"the model did not load ({service.load_error!r}); nothing to measure")
    load_s = time.perf_counter() - started
    texts = ticket_texts(args.tickets)
    await concurrent(service, texts[:64], 32)  # warm-up: first calls allocate arenas
    batch1 = await one_at_a_time(service, texts[: args.single])
    eager = TriageService(service.triager, max_wait=0.0)  # same model, no gather window
    batch1_no_wait = await one_at_a_time(eager, texts[: args.single])
    await eager.close()
    single = TriageService(service.triager, max_batch=1)  # same model and load, one ticket per pass
    batch1_loaded = await concurrent(single, texts[: args.single * 2], args.callers)
    await single.close()
    batcher = service.batcher
    assert batcher is not None
    passes_before = batcher.batches
    before = cpu_times()
    batched = await concurrent(service, texts, args.callers)
    steal = steal_percent(before, cpu_times())
    passes = batcher.batches - passes_before
    current, peak = rss_mb()
    await service.close()
    return {
        "model": service.model_name,
        "max_wait_ms": args.max_wait * 1000,
        "tickets": len(texts),
        "mean_words": round(sum(len(t.split()) for t in texts) / len(texts), 1),
        "load_s": round(load_s, 2),
        "batch1_per_s": round(batch1, 1),
        "batch1_no_wait_per_s": round(batch1_no_wait, 1),
        "batch1_64_callers_per_s": round(batch1_loaded, 1),
        "batched_per_s": round(batched, 1),
        "callers": args.callers,
        "mean_batch": round(len(texts) / max(passes, 1), 1),
        "speedup_vs_batch1": round(batched / batch1, 2),
        "speedup_vs_batch1_no_wait": round(batched / batch1_no_wait, 2),
        "speedup_vs_batch1_64_callers": round(batched / batch1_loaded, 2),
        "rss_mb": round(current),
        "peak_rss_mb": round(peak),
        "cpus": os.cpu_count(),
        "steal_pct_batched": round(steal, 1),
        "python": platform.python_version(),
        "fallbacks": service.fallback_count,
    }


def _encoder(kind: str) -> Any:
    from ml.encoder import OnnxEncoder, TorchEncoder

    return (TorchEncoder if kind == "torch" else OnnxEncoder)(threads=1)


def _ms_per_ticket(encoder: Any, texts: list[str], size: int) -> float:
    """Encoder milliseconds per ticket over `texts`, `size` tickets to a forward pass, on one thread."""
    started = time.perf_counter()
    for start in range(0, len(texts), size):
        encoder._chunk(texts[start:start + size])  # one forward pass, whatever sub_batch says
    return round((time.perf_counter() - started) / len(texts) * 1000, 2)


def sweep(kind: str, sizes: tuple[int, ...] = (1, 2, 4, 8, 16, 32), count: int = 256) -> dict[str, object]:
    """Encoder milliseconds per ticket when `size` tickets share one forward pass, on one thread."""
    encoder = _encoder(kind)
    texts = sorted(ticket_texts(count), key=len)
    _ms_per_ticket(encoder, texts, sizes[0])  # warms the arenas up
    per_ticket = {f"batch_{size}_ms_per_ticket": _ms_per_ticket(encoder, texts, size) for size in sizes}
    return {"model": encoder.name, "threads": 1, "tickets": count, **per_ticket}


def _peak_rss_mb(pid: int) -> float:
    """VmHWM of process `pid` in MB (0 if it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


async def _post_all(url: str, texts: list[str], connections: int = 50) -> None:
    import aiohttp

    queue = list(enumerate(texts))
    async with aiohttp.ClientSession() as http:

        async def client() -> None:
            while queue:
                i, text = queue.pop()
                subject, _, body = text.partition("\n")
                if len(subject) > 300:  # the API's limit: the rest of a long first line opens the body
                    head = subject[:300].rsplit(" ", 1)[0]
                    subject, body = head, f"{subject[len(head):].strip()}\n{body}"
                async with http.post(url, json={"subject": subject, "body": body,
                                                "requester": {"id": f"c-{i % 200}"}}) as response:
                    if response.status != 202:
                        raise SystemExit(f"POST answered {response.status}: {await response.text()}")

        await asyncio.gather(*(client() for _ in range(connections)))


async def _until_routed(database_url: str, total: int, started: float) -> tuple[float, float]:
    """Seconds from `started` until no ticket waits for triage, and until none waits for routing.

    Polls every 50 ms through one connection pool, so the watching costs the machine little."""
    from storage.db import Database  # not at the top: the service bench's RSS would count SQLAlchemy

    db = Database(database_url)
    triaged_s = None
    try:
        while True:
            counts = await status_counts(db)
            if sum(counts.values()) < total:
                raise SystemExit(f"only {sum(counts.values())} of {total} tickets stored")
            now = time.perf_counter() - started
            if triaged_s is None and counts.get("received", 0) == 0:
                triaged_s = now
            if triaged_s is not None and counts.get("triaged", 0) == 0:
                return triaged_s, now
            if now > 600:
                raise SystemExit(f"tickets still waiting after 10 minutes: {counts}")
            await asyncio.sleep(0.05)
    finally:
        await db.dispose()


def _reset_postgres(database_url: str) -> None:
    from sqlalchemy import text

    from storage.db import Database

    async def drop() -> None:
        db = Database(database_url)
        async with db.write_engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await db.dispose()

    asyncio.run(drop())


def worker_run(args: argparse.Namespace, max_batch: int, texts: list[str]) -> dict[str, object]:
    """One end-to-end run through `dramatiq intake.worker` with TRIAGE_MAX_BATCH=`max_batch`."""
    import redis

    root = Path(__file__).resolve().parents[1]
    tmp = tempfile.mkdtemp(prefix="tw-")
    database_url = args.postgres or f"sqlite+aiosqlite:///{tmp}/bench.db"
    if args.postgres:
        _reset_postgres(database_url)
    redis.Redis.from_url(args.redis).flushdb()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": args.redis, "PORT": str(port),
           "LOG_FORMAT": "json", "AGENTS_FILE": "demo", "TRIAGE_MAX_BATCH": str(max_batch),
           "TRIAGE_MAX_WAIT_MS": str(args.max_wait * 1000), "HF_HUB_OFFLINE": "1"}
    intake = subprocess.Popen([sys.executable, "-m", "intake"], cwd=root, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env={**env, "TRIAGE_MODEL": "keyword"})
    worker_log = Path(tmp) / "worker.log"
    with worker_log.open("w") as log_file:
        worker = subprocess.Popen(
            [sys.executable, "-m", "dramatiq", "intake.worker", "--processes", str(args.processes),
             "--threads", "8", "--queues", "ml", "default"],
            cwd=root, stdout=log_file, stderr=subprocess.STDOUT, env={**env, "TRIAGE_MODEL": args.kind})
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        deadline = time.monotonic() + 120
        while worker_log.read_text().count("triage model") < args.processes:  # loaded (or failed) in each
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"the worker did not load the model:\n{worker_log.read_text()[-2000:]}")
            time.sleep(0.2)
        if "failed to load" in worker_log.read_text():
            raise SystemExit(f"the model did not load in the worker:\n{worker_log.read_text()[-2000:]}")
        before = cpu_times()
        started = time.perf_counter()
        asyncio.run(_post_all(f"http://127.0.0.1:{port}/v1/tickets", texts))
        posted = time.perf_counter() - started
        triaged_s, routed_s = asyncio.run(_until_routed(database_url, len(texts), started))
        steal = steal_percent(before, cpu_times())
        rss = max(_peak_rss_mb(pid) for pid in _children(worker.pid))
        fallbacks = worker_log.read_text().count('"model": "fallback"')
    finally:
        for process in (worker, intake):
            process.terminate()
        for process in (worker, intake):
            process.wait(timeout=60)
    return {"max_batch": max_batch, "posted_s": round(posted, 2), "triaged_per_s": round(len(texts) / triaged_s, 1),
            "routed_per_s": round(len(texts) / routed_s, 1), "worker_peak_rss_mb": round(rss),
            "steal_pct": round(steal, 1), "fallback_log_lines": fallbacks}


def worker_bench(args: argparse.Namespace) -> dict[str, object]:
    texts = ticket_texts(args.tickets)
    # How fast the host is just before each run, by the one figure that does not depend on our code
    # around the model: the encoder alone, one ticket per pass, one thread, on an idle machine. This
    # VM's figure moves ~1.7x from hour to hour; runs are comparable only beside it.
    encoder, probe = _encoder(args.kind), texts[:128]
    _ms_per_ticket(encoder, probe, 1)
    runs = []
    for _ in range(args.rounds):
        for max_batch in (1, args.max_batch):
            host = _ms_per_ticket(encoder, probe, 1)
            runs.append({**worker_run(args, max_batch, texts), "encoder_alone_ms_per_ticket": host})
            print(json.dumps(runs[-1]), flush=True)
    single = [r["triaged_per_s"] for r in runs if r["max_batch"] == 1]
    batched = [r["triaged_per_s"] for r in runs if r["max_batch"] != 1]
    return {"mode": f"{'PostgreSQL' if args.postgres else 'SQLite'} + Redis, {args.processes} worker process(es)",
            "tickets": len(texts), "processes": args.processes, "cpus": os.cpu_count(),
            "batch1_triaged_per_s": single, "batched_triaged_per_s": batched,
            "speedup": [round(b / s, 2) for s, b in zip(single, batched, strict=True)],
            "worker_peak_rss_mb": max(int(r["worker_peak_rss_mb"]) for r in runs),  # type: ignore[call-overload]
            "encoder_alone_ms_per_ticket": [r["encoder_alone_ms_per_ticket"] for r in runs],
            "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="auto", choices=("auto", "onnx", "torch"))
    parser.add_argument("--tickets", type=int, default=1000, help="tickets in the concurrent run")
    parser.add_argument("--single", type=int, default=200, help="tickets in each one-at-a-time run")
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="model threads (default: all cores)")
    parser.add_argument("--max-wait", type=float, default=MAX_WAIT, help="gather window in seconds")
    parser.add_argument("--sweep", action="store_true", help="encoder cost per ticket by forward-pass size")
    parser.add_argument("--worker", action="store_true", help="end to end through `dramatiq intake.worker`")
    parser.add_argument("--postgres", help="--worker: DATABASE_URL of an EMPTY scratch database (default: SQLite)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="--worker: a scratch Redis db (flushed)")
    parser.add_argument("--processes", type=int, default=1, help="--worker: dramatiq worker processes")
    parser.add_argument("--max-batch", type=int, default=MAX_BATCH, help="--worker: the batched run's TRIAGE_MAX_BATCH")
    parser.add_argument("--rounds", type=int, default=2, help="--worker: batch-1 / batched pairs, interleaved")
    args = parser.parse_args()
    if args.worker:
        result, name = worker_bench(args), "triage_worker.json"
    elif args.sweep:
        result, name = sweep(args.kind), "triage_sweep.json"
    else:
        result, name = asyncio.run(run(args)), "triage.json"
    for key, value in result.items():
        if key != "runs":
            print(f"{key:>28}: {value}")
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
