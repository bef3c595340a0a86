"""`python -m intake` as a user starts it: it serves a ticket, on the event loop `EVENT_LOOP` names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from intake.__main__ import new_event_loop
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("choice", "module"), [("auto", "uvloop"), ("uvloop", "uvloop"), ("asyncio", "asyncio")])
def test_the_event_loop_is_the_one_chosen(choice, module):
    loop = new_event_loop(choice)
    try:
        assert type(loop).__module__.split(".")[0] == module
    finally:
        loop.close()


@pytest.mark.parametrize("choice", ["auto", "asyncio"])
def test_python_m_intake_serves_a_ticket_on_its_loop(tmp_path, choice):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/sb.db", "PORT": str(port),
           "TRIAGE_MODEL": "keyword", "LOG_FORMAT": "json", "EVENT_LOOP": choice}
    env.pop("REDIS_URL", None)
    log = tmp_path / "intake.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "intake"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.1)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/tickets", method="POST",
                                         data=json.dumps({"body": "I was charged twice"}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202 and json.loads(response.read())["status"] == "received"
    finally:
        server.terminate()
        server.wait(timeout=30)
    started = next(json.loads(line) for line in log.read_text().splitlines() if "Switchboard on" in line)
    assert started["event"].endswith(f"loop: {'asyncio' if choice == 'asyncio' else 'uvloop'}")
