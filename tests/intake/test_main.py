"""`python -m intake` as a user starts it: it serves a ticket, on the event loop `EVENT_LOOP` names."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from intake.__main__ import new_event_loop
from storage.config import Settings
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


@pytest.mark.parametrize(
    ("variable", "content", "says"),
    [
        ("AGENTS_FILE", "- id: ana\n  name: Ana\n  skills: [billing]\n- id: bo\n  capacity: -3\n  shoe_size: 44\n- name: nobody\n",
         ["2 bad agent(s)", "agent 2 (bo): name: Field required", "capacity: Input should be greater than or equal to 0",
          "shoe_size: Extra inputs are not permitted", "agent 3: needs an id"]),
        ("AGENTS_FILE", "agents:\n  ana: {}\n", ["must be a list of agents"]),
        ("FORM_SOURCES", "sources:\n  x: 3\n", ["forms: source 'x' must be a mapping"]),
    ],
)
def test_python_m_intake_refuses_a_bad_config_file_in_one_line_and_writes_no_agent(tmp_path, variable, content, says):
    # Given a config file with mistakes, and the real model loading (the abort came from exiting while it loaded)
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/sb.db", "PORT": str(free_port()),
           "LOG_FORMAT": "json", variable: str(bad), "MODEL_CACHE_DIR": ""}
    env.pop("REDIS_URL", None)
    # When `python -m intake` starts
    done = subprocess.run([sys.executable, "-m", "intake"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    # Then it exits 2 (not 134, SIGABRT) saying what is wrong, without a traceback
    assert done.returncode == 2, done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "terminate called" not in output
    error = next(json.loads(line) for line in output.splitlines() if '"level": "error"' in line)
    for part in says:
        assert part in error["event"]
    # And not one agent of a half-good roster was stored (the next start would have kept it and ignored the file)
    if variable == "AGENTS_FILE":
        with sqlite3.connect(tmp_path / "sb.db") as conn:
            assert conn.execute("SELECT count(*) FROM agents").fetchone() == (0,)


@pytest.mark.parametrize(
    ("env", "code", "says"),
    [
        ({"TRIAGE_MAX_BATCH": "abc", "DATABASE_URL": "mysql://db/x"}, 2,
         ["the configuration is not valid", "TRIAGE_MAX_BATCH: Input should be a valid integer",
          "DATABASE_URL: Value error, must start with postgresql+asyncpg:// or sqlite+aiosqlite://"]),
        ({"DATABASE_URL": "postgresql://postgres:hunter2@127.0.0.1:{closed}/x"}, 1,
         ["could not start: the database 127.0.0.1:{closed}/x cannot be used", "Connection refused"]),
        ({"PORT": "{taken}"}, 1, ["could not start:", "address already in use"]),
    ],
)
def test_python_m_intake_says_why_it_cannot_start_without_a_traceback(tmp_path, env, code, says):
    # Given a setting that cannot work: not valid, a database nobody listens on, a port already taken
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = {"closed": free_port(), "taken": taken.getsockname()[1]}
        env = {k: v.format(**ports) for k, v in env.items()}
        full = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/sb.db", "PORT": str(free_port()),
                "LOG_FORMAT": "json", "TRIAGE_MODEL": "keyword", **env}
        full.pop("REDIS_URL", None)
        # When `python -m intake` starts
        done = subprocess.run([sys.executable, "-m", "intake"], cwd=ROOT, env=full, capture_output=True, text=True,
                              timeout=60)
    # Then it exits with a code a supervisor can tell apart, saying why, without a traceback or a password
    output = done.stdout + done.stderr
    assert done.returncode == code, output[-3000:]
    assert "Traceback" not in output and "hunter2" not in output
    for part in says:
        assert part.format(**ports) in output


@pytest.mark.parametrize(("given", "used"), [
    ("postgres://u@db/sb", "postgresql+asyncpg://u@db/sb"), ("postgresql://u@db/sb", "postgresql+asyncpg://u@db/sb"),
    ("sqlite:///./sb.db", "sqlite+aiosqlite:///./sb.db"), ("postgresql+asyncpg://u@db/sb", "postgresql+asyncpg://u@db/sb"),
])
def test_plain_database_urls_get_the_async_driver(monkeypatch, given, used):
    monkeypatch.setenv("DATABASE_URL", given)
    assert Settings(_env_file=None).database_url == used
