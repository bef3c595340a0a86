"""`python -m intake`: serve the API, the platform endpoints and (embedded mode) the workers."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import logging
import sys

from aiohttp import web
from pydantic import ValidationError

from intake.app import AgentsFileError, DatabaseUnavailable, create_app
from intake.forms import FormConfigError
from intake.logs import configure_logging, secret_values
from storage.config import Settings, get_settings, problems

log = logging.getLogger("switchboard")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> str | None:
    """Why this configuration must not start, or None."""
    if settings.api_token is None and settings.admin_token is None and not is_loopback(settings.host):
        return (f"refusing to listen on {settings.host} without API_TOKEN and ADMIN_TOKEN: "
                "set both, or keep HOST=127.0.0.1")
    return None


async def freeze_heap(_app: web.Application) -> None:
    """Keep the collector off what start-up loaded (models, mappers, the triage model), which lives forever.

    A full collection otherwise walks ~140k long-lived objects and stalls every request in flight
    for ~60 ms: that was the p99 of `bench/intake.py`.
    """
    gc.collect()
    gc.freeze()


def new_event_loop(choice: str) -> asyncio.AbstractEventLoop:
    """The server's loop: uvloop unless `EVENT_LOOP=asyncio` (or it is not installed, with `auto`).

    uvloop, from the authors of asyncpg, runs the same aiohttp app with less CPU per request:
    `bench/intake.py` at 2,946-3,468 vs 2,464-2,844 tickets/s on PostgreSQL + Redis and
    3,930-3,990 vs 3,704-3,705 on SQLite embedded (interleaved pairs, 2026-12-01).
    """
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def main() -> None:
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"switchboard: the configuration is not valid\n{problems(exc)}", file=sys.stderr)
        sys.exit(2)
    configure_logging(settings.log_format, secrets=secret_values(settings))
    if (problem := check_exposure(settings)) is not None:
        log.error(problem)
        sys.exit(2)
    if settings.api_token is None and settings.admin_token is None:
        log.warning("no API_TOKEN/ADMIN_TOKEN set: listening on loopback only, without auth")
    loop = new_event_loop(settings.event_loop)
    mode = "embedded (SQLite or DATABASE_URL, in-process worker)" if settings.embedded else "Redis broker"
    log.info("Switchboard on http://%s:%d  mode: %s  database: %s  loop: %s", settings.host, settings.port, mode,
             settings.database_url.split("@")[-1], type(loop).__module__.split(".")[0])
    log.info("try: curl -s -XPOST localhost:%d/v1/tickets -H 'content-type: application/json' "
             "-d '{\"body\": \"The site is down for all customers!\"}'", settings.port)
    app = create_app(settings)
    app.on_startup.append(freeze_heap)  # after the cleanup contexts that load everything
    try:
        web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None, loop=loop)
    except (AgentsFileError, FormConfigError) as exc:  # a file the operator wrote: say what is wrong, no traceback
        log.error("%s", exc)
        sys.exit(2)
    except (DatabaseUnavailable, OSError) as exc:  # the database, or the port taken: the cause, no traceback
        log.error("could not start: %s", exc)
        sys.exit(1)


if __name__ == "__main__":
    main()
