"""`dramatiq intake.worker`: a Redis-mode worker process running the same actors as embedded mode.

    dramatiq intake.worker --processes 2 --threads 8 --queues ml default chat

This module is the worker's composition root (like `python -m intake` is the server's): it
picks the broker, then builds the runtime (database, triage model, chat notifiers) once the
worker boots, so each forked process has its own engine and model.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.middleware import Middleware
from pydantic import ValidationError

from bot import discord, slack
from intake.logs import configure_logging, secret_values
from ml import load_service
from storage.config import get_settings, problems
from storage.db import Database
from workers import broker as brokers
from workers import metrics, outbound
from workers.notify import LogNotifier, Notifier
from workers.runtime import Runtime, install

try:
    settings = get_settings()
except ValidationError as exc:
    raise SystemExit(f"switchboard worker: the configuration is not valid\n{problems(exc)}") from None
configure_logging(settings.log_format, secrets=secret_values(settings))
if settings.redis_url is None:
    raise SystemExit("REDIS_URL is not set: without Redis, `python -m intake` runs the workers itself")

broker = brokers.use(brokers.redis_broker(settings.redis_url))
from workers import actors  # noqa: E402,F401  (declares the actors on the broker set just above)

log = logging.getLogger("switchboard.worker")


class BootRuntime(Middleware):
    """Build the runtime in each worker process before it takes its first message."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        notifiers: list[Notifier] = [LogNotifier()]
        notifiers += [n for n in (slack.notifier(settings), discord.notifier(settings)) if n is not None]
        if (hook := outbound.from_settings(settings)) is not None:
            notifiers.append(hook)
        install(Runtime(settings=settings, db=Database(settings.database_url),
                        triage=load_service(**settings.triage_options), notifiers=notifiers))
        log.info("worker runtime ready: %d notifier(s)", len(notifiers))
        if settings.worker_metrics_port:
            metrics.serve(settings.worker_metrics_port)


broker.add_middleware(BootRuntime())
broker.add_middleware(brokers.IdlePoll(settings.worker_idle_poll_ms))
