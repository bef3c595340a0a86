"""What the benchmark scripts share: a free loopback port, a fake platform server, waiting for a server,
counting tickets, percentiles."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_fake(script: str) -> tuple[subprocess.Popen[str], str]:
    """Run `script --fake` (a bench serving a fake platform API) and return it with the base URL it prints."""
    fake = subprocess.Popen([sys.executable, script, "--fake"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert fake.stdout is not None
    return fake, fake.stdout.readline().strip()


def cpu_times() -> tuple[int, int]:
    """(all, steal) jiffies of the machine so far: steal is time the hypervisor gave our vCPUs to others."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[7]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def steal_percent(before: tuple[int, int], after: tuple[int, int]) -> float:
    return 100 * (after[1] - before[1]) / max(after[0] - before[0], 1)


def wait_http(url: str, seconds: float = 90) -> None:
    """Poll `url` until it answers; exit the bench if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


async def status_counts(db: Any) -> dict[str, int]:
    """How many tickets `db` (a storage.db.Database) holds in each status, in one query."""
    from sqlalchemy import func, select

    from storage.models import Ticket

    async with db.read() as session:
        rows = await session.execute(select(Ticket.status, func.count()).group_by(Ticket.status))
    return {str(status): int(n) for status, n in rows}


def count_tickets(database_url: str, *, status: str | None = None) -> int:
    """How many tickets the database holds (every 2xx must have left one), or how many in `status`."""
    sys.path.insert(0, str(ROOT))
    from storage.db import Database

    async def count() -> int:
        db = Database(database_url)
        try:
            counts = await status_counts(db)
        finally:
            await db.dispose()
        return counts.get(status, 0) if status is not None else sum(counts.values())

    return asyncio.run(count())


def report(kind: str, samples: list[float]) -> str:
    """One line of latency percentiles (samples in seconds, shown in ms)."""
    if len(samples) < 2:
        return f"  {kind:8s} n={len(samples)}"
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100)
    return (f"  {kind:8s} n={len(ms):5d}  p50 {q[49]:6.1f} ms  p90 {q[89]:6.1f} ms  p99 {q[98]:6.1f} ms  "
            f"max {ms[-1]:6.1f} ms")
