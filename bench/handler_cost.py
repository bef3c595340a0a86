"""What one `POST /v1/tickets` costs inside the app (router, middlewares, handler), without sockets or storage.

    python bench/handler_cost.py               # microseconds per request (process time, best of 6 rounds)
    python bench/handler_cost.py --callgrind   # instructions per request: exact and repeatable (apt-get install valgrind)

Requests are built in memory and the ticket write is replaced by a receipt (bench/intake.py
measures the whole path, storage included), so what is left is our own layer: routing, the
middlewares, JSON decoding, validation and the JSON answer. The bare aiohttp handler that
bench/intake.py uses as its yardstick goes through the same harness. On this shared VM wall time
moved ±20% between runs of the same code; instruction counts do not move, so a change to the hot
path is judged by them.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[0] = str(HERE.parent)  # not bench/, whose intake.py would hide the intake package

BODY = re.search(rb"wrk.body = '(.*)'", (HERE / "post_ticket.lua").read_bytes()).group(1)  # type: ignore[union-attr]
TOGGLE = "starmap_next"  # the C function the measured loop runs under; callgrind counts only inside it


class _Protocol:
    """Just enough of aiohttp's protocol for a StreamReader fed in advance."""

    transport = None
    _reading_paused = False

    def pause_reading(self, **_: Any) -> None: ...

    def resume_reading(self, **_: Any) -> None: ...


def _switchboard_app() -> Any:
    os.environ.update(DATABASE_URL=f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/cost.db",
                      TRIAGE_MODEL="keyword", AGENTS_FILE="demo")
    from intake.app import create_app
    from storage import tickets as store
    from storage.config import get_settings
    from storage.models import new_ticket_id
    from workers import pipeline

    async def accept(_rt: Any, new: store.NewTicket, **_: Any) -> tuple[store.Receipt, bool]:
        return store.Receipt(new_ticket_id(), "received", new.subject), True

    pipeline.accept = accept  # type: ignore[assignment]  # no storage: bench/intake.py measures that
    return create_app(get_settings(), start_worker=False, run_sweeper=False)


def _bare_app() -> Any:
    from aiohttp import web

    spec = importlib.util.spec_from_file_location("bare_server", HERE / "bare_server.py")
    assert spec is not None and spec.loader is not None
    bare_server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bare_server)
    app = web.Application()
    app.router.add_post("/v1/tickets", bare_server.create)
    return app


async def measure(which: str, count: int, *, callgrind: bool) -> float:
    """Process microseconds per request (best of 6 rounds); under callgrind, one counted round."""
    from aiohttp import streams, web
    from aiohttp.test_utils import make_mocked_request

    app = _switchboard_app() if which == "switchboard" else _bare_app()
    runner = web.AppRunner(app)
    await runner.setup()
    loop = asyncio.get_running_loop()

    def request() -> web.Request:
        payload = streams.StreamReader(_Protocol(), 2**16, loop=loop)  # type: ignore[arg-type]
        payload.feed_data(BODY)
        payload.feed_eof()
        return make_mocked_request("POST", "/v1/tickets", app=app, payload=payload,
                                   headers={"Content-Type": "application/json", "Content-Length": str(len(BODY))})

    handle: Callable[[web.Request], Coroutine[Any, Any, web.StreamResponse]] = app._handle

    def run(req: web.Request) -> None:  # the handler never waits here, so one send() finishes it
        step = handle(req)
        try:
            step.send(None)
        except StopIteration as done:
            assert done.value.status == 202, done.value.text
            return
        raise RuntimeError("the handler waited: something in it now does I/O")

    for req in [request() for _ in range(500)]:  # warm-up: caches, first-call compilation
        run(req)
    rounds = 1 if callgrind else 6
    best = float("inf")
    for _ in range(rounds):
        batch = [(request(),) for _ in range(count)]
        if callgrind:
            subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], check=True, capture_output=True)  # noqa: ASYNC221
        started = time.process_time()
        list(itertools.starmap(run, batch))
        best = min(best, (time.process_time() - started) / count * 1e6)
    await runner.cleanup()
    return best


def instructions(which: str, count: int) -> int:
    """Instructions per request, counted by callgrind in a child process of this script."""
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no",
         f"--toggle-collect={TOGGLE}", "--callgrind-out-file=/dev/null",
         sys.executable, __file__, "--child", which, "--count", str(count)],
        capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}, check=True).stderr
    collected = re.search(r"Collected : (\d+)", out)
    assert collected, out[-2000:]
    return int(collected.group(1)) // count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callgrind", action="store_true", help="count instructions (slow: ~1 min)")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(measure(args.child, args.count, callgrind=True))
        return
    for which in ("bare aiohttp", "switchboard"):
        key = which.split()[0]
        if args.callgrind:
            print(f"{which:<14}{instructions(key, min(args.count, 400)):>10,} instructions per request")
        else:
            print(f"{which:<14}{asyncio.run(measure(key, args.count, callgrind=False)):>10.1f} us per request")


if __name__ == "__main__":
    main()
