"""Production layout for real: intake in Redis mode and a separate `dramatiq intake.worker` process on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from storage import tickets as store
from tests.conftest import _truncate, make_settings, start_app
from tests.scenarios.test_durability import wait_for


async def test_dramatiq_cli_worker_processes_tickets(pg_database, redis_url):
    # Given an empty database, intake without an in-process worker, and the ordinary dramatiq CLI
    from storage.db import Database

    database = Database(pg_database)
    await _truncate(database)
    await database.dispose()
    app = await start_app(make_settings(pg_database, redis_url=redis_url))
    env = {**os.environ, "DATABASE_URL": pg_database, "REDIS_URL": redis_url, "TRIAGE_MODEL": "keyword",
           "AGENTS_FILE": "", "LOG_FORMAT": "json"}
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dramatiq", "intake.worker", "--processes", "1", "--threads", "4",
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await app.client.put("/v1/agents/ops", json={"name": "Ops", "skills": ["Technical"], "capacity": 10})
        # When tickets arrive
        ids = [(await (await app.post("/v1/tickets", {"body": f"the API is down #{i}"})).json())["id"]
               for i in range(10)]

        async def all_assigned() -> bool:
            rows = [await store.get_ticket(app.services.runtime.db, i) for i in ids]
            return all(t.status == "assigned" for t in rows)

        # Then the separate worker process triages and routes every one of them
        await wait_for(all_assigned, seconds=60)
    finally:
        worker.terminate()
        try:
            _, err = await asyncio.wait_for(worker.communicate(), timeout=30)
        except TimeoutError:
            worker.kill()
            _, err = await worker.communicate()
        await app.client.close()
    assert b"Traceback" not in err, err.decode()[-3000:]

