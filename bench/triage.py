"""Triage throughput through `TriageService`: one caller at a time vs many concurrent callers, and peak RSS.

    python bench/triage.py [--kind auto|torch] [--tickets 1000] [--callers 64] [--threads N]
    python bench/triage.py --sweep             # what one forward pass over B tickets would cost

Texts are the committed hand-labeled tickets and banking77 queries, paired up to ticket length
(~25-30 words). One run measures, in order: load time, batch 1 (a single caller awaiting each
ticket, with the default 10 ms gather window and with none; then N concurrent callers with one
ticket per forward pass), batched (N concurrent callers), then the process's peak RSS. Results
also go to bench/results/triage.json (not committed).

`--sweep` answers a narrower question: how much cheaper a ticket gets when B tickets share one
forward pass of the encoder on one thread (all texts sorted by length first, so passes pad
little). The service sorts only within a gathered batch and passes `OnnxEncoder.sub_batch` at a
time over one thread per core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import cpu_times, steal_percent  # noqa: E402

from ml import TriageRequest, TriageService, load_service  # noqa: E402
from ml.datasets import DATA, read_examples  # noqa: E402
from ml.service import MAX_WAIT  # noqa: E402


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


def sweep(kind: str, sizes: tuple[int, ...] = (1, 2, 4, 8, 16, 32), count: int = 256) -> dict[str, object]:
    """Encoder milliseconds per ticket when `size` tickets share one forward pass, on one thread."""
    from ml.encoder import OnnxEncoder, TorchEncoder

    encoder = (TorchEncoder if kind == "torch" else OnnxEncoder)(threads=1)
    texts = sorted(ticket_texts(count), key=len)
    per_ticket = {}
    for size in (sizes[0], *sizes):  # the first size twice: its first round warms the arenas up
        started = time.perf_counter()
        for start in range(0, count, size):
            encoder._chunk(texts[start:start + size])  # one forward pass, whatever sub_batch says
        per_ticket[f"batch_{size}_ms_per_ticket"] = round((time.perf_counter() - started) / count * 1000, 2)
    return {"model": encoder.name, "threads": 1, "tickets": count, **per_ticket}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="auto", choices=("auto", "onnx", "torch"))
    parser.add_argument("--tickets", type=int, default=1000, help="tickets in the concurrent run")
    parser.add_argument("--single", type=int, default=200, help="tickets in each one-at-a-time run")
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="model threads (default: all cores)")
    parser.add_argument("--max-wait", type=float, default=MAX_WAIT, help="gather window in seconds")
    parser.add_argument("--sweep", action="store_true", help="encoder cost per ticket by forward-pass size")
    args = parser.parse_args()
    result = sweep(args.kind) if args.sweep else asyncio.run(run(args))
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / ("triage_sweep.json" if args.sweep else "triage.json")).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
