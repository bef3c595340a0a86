"""Intake throughput and latency: `POST /v1/tickets` vs a bare aiohttp handler, same run, same load.

    python bench/intake.py                      # embedded: SQLite + in-process worker
    python bench/intake.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
                           --redis redis://127.0.0.1:6379/5

Needs `wrk` (apt-get install wrk). Prints requests/s and p50/p99 latency for the bare handler on
asyncio's default loop (the yardstick the aim is stated against), the same handler on uvloop (the
loop `python -m intake` runs on by default), and Switchboard, the ratios, and checks that every 2xx answer left a committed ticket in the database. In embedded mode
the in-process pipeline yields to intake during the burst (storage.batching.GroupCommitter.lull);
the last line says how many tickets it left waiting and how fast it then works through them.
CPU us/req is the server process's CPU time (user + system) per answered request: steadier than
req/s when the machine is noisy. The steal column is the share of CPU time the hypervisor gave other guests during each run: on a
shared VM, runs with more than a few percent of steal are not comparable with quiet ones.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import count_tickets, cpu_times, free_port, process_cpu, steal_percent, wait_http

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent




def wrk(url: str, *, duration: int, connections: int) -> dict[str, float]:
    before = cpu_times()
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(HERE / "post_ticket.lua"), url],
        capture_output=True, text=True, check=True).stdout
    after = cpu_times()

    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert match, out
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": ms("50"), "p99": ms("99"), "requests": total,
        "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else "",
        "steal": steal_percent(before, after),
    }



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--postgres", help="DATABASE_URL of an EMPTY scratch database (tickets are counted)")
    parser.add_argument("--redis", help="REDIS_URL: Redis mode (workers elsewhere)")
    parser.add_argument("--drain", type=int, default=10, help="embedded: seconds to watch the pipeline catch up")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    tmp = tempfile.mkdtemp()
    database_url = args.postgres or f"sqlite+aiosqlite:///{tmp}/bench.db"
    bare_port, uv_port, port = free_port(), free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "TRIAGE_MODEL": "keyword",
           "LOG_FORMAT": "json", "AGENTS_FILE": "demo"}
    if args.redis:
        env["REDIS_URL"] = args.redis
    bare = subprocess.Popen([sys.executable, str(HERE / "bare_server.py"), str(bare_port)])
    # Switchboard runs on uvloop (EVENT_LOOP=auto); the same bare handler on uvloop is the fair second yardstick.
    bare_uv = subprocess.Popen([sys.executable, str(HERE / "bare_server.py"), str(uv_port), "uvloop"])
    server = subprocess.Popen([sys.executable, "-m", "intake"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        time.sleep(1)
        before = count_tickets(database_url)
        results = {}
        for name, url, process in (("bare aiohttp", f"http://127.0.0.1:{bare_port}/v1/tickets", bare),
                                   ("bare uvloop", f"http://127.0.0.1:{uv_port}/v1/tickets", bare_uv),
                                   ("switchboard", f"http://127.0.0.1:{port}/v1/tickets", server)):
            wrk(url, duration=2, connections=args.connections)  # warm up
            cpu = process_cpu(process.pid)
            results[name] = wrk(url, duration=args.duration, connections=args.connections)
            results[name]["cpu_us"] = 1e6 * (process_cpu(process.pid) - cpu) / max(results[name]["requests"], 1)
        stored = count_tickets(database_url) - before
        if not args.redis:  # the embedded pipeline deferred its work during the burst; how fast it catches up
            waiting = count_tickets(database_url, status="received")
            time.sleep(args.drain)
            drained = waiting - count_tickets(database_url, status="received")
    finally:
        for process in (bare, bare_uv, server):
            process.terminate()
            process.wait()
    mode = ("PostgreSQL" if args.postgres else "SQLite") + (" + Redis" if args.redis else " embedded")
    print(f"mode: {mode}; {args.connections} connections, {args.duration}s, wrk -t2; {os.cpu_count()} cores")
    print(f"{'server':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}{'steal %':>9}{'CPU us/req':>12}")
    for name, r in results.items():
        print(f"{name:<14}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['non2xx']:>9}{r['steal']:>9.1f}"
              f"{r['cpu_us']:>12.0f}")
    sb, base, uv = results["switchboard"], results["bare aiohttp"], results["bare uvloop"]
    print(f"switchboard / bare throughput: {sb['rps'] / base['rps']:.0%} (/ bare on uvloop: {sb['rps'] / uv['rps']:.0%})")
    # The warm-up run's tickets count too; every 2xx must have left a committed row.
    print(f"tickets committed: {stored} (2xx answers in both switchboard runs must not exceed this)")
    if not args.redis:
        print(f"embedded pipeline: {waiting} tickets waited for triage when the load stopped; "
              f"{drained / args.drain:.0f} triaged/s in the {args.drain}s after")


if __name__ == "__main__":
    main()
