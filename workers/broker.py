"""Dramatiq brokers: Redis in production, in-memory inside `python -m intake` (embedded mode)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import dramatiq
from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO, Middleware

QUEUES = ("ml", "default", "chat")


class _HostLoopThread(EventLoopThread):
    """Dramatiq's event-loop thread, but running coroutines on a loop that already runs (intake's)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, logger: Any) -> None:
        threading.Thread.__init__(self, daemon=True)
        self.loop = loop
        self.logger = logger
        self.interrupt_check_ival = 0.1

    def run_coroutine(self, coro: Any) -> Any:
        if not self.loop.is_running():  # intake is shutting down: the sweeper rings for this ticket later
            coro.close()  # (Dramatiq would raise without closing it: "coroutine was never awaited")
            raise RuntimeError("the host event loop is not running")
        return super().run_coroutine(coro)


class HostLoop(Middleware):
    """Run async actors on the given loop, so the embedded worker shares intake's engine and locks."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.logger = logging.getLogger("switchboard.worker")

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        set_event_loop_thread(_HostLoopThread(self.loop, self.logger))

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        set_event_loop_thread(None)


class IdlePoll(Middleware):
    """Cap how long an idle Redis consumer sleeps between polls (Dramatiq's `worker_timeout`, 1 s by default).

    An idle consumer backs off up to that long before it looks again, and a ticket crosses four queues
    (triage -> route -> notify -> deliver): at a trickle of urgent tickets that added ~1.3 s to every
    alert (bench/alert_latency.py). The `dramatiq` CLI has no flag for it, so the worker sets it at boot.
    """

    def __init__(self, milliseconds: int) -> None:
        self.milliseconds = milliseconds

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        worker.worker_timeout = self.milliseconds  # the consumer threads are made after this hook


def _declare_queues(broker: dramatiq.Broker) -> dramatiq.Broker:
    for queue in QUEUES:
        broker.declare_queue(queue)
    return broker


def redis_broker(url: str, loop: asyncio.AbstractEventLoop | None = None) -> dramatiq.Broker:
    """The production broker; `dramatiq` CLI workers run our async actors on AsyncIO's loop thread.

    With `loop`, actors run on that (already running) loop instead: tests use it to drive a Redis
    worker in-process.
    """
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=url)
    broker.add_middleware(HostLoop(loop) if loop is not None else AsyncIO())
    return _declare_queues(broker)


def memory_broker(loop: asyncio.AbstractEventLoop | None = None) -> StubBroker:
    """The embedded broker: messages live in memory; the sweeper recovers any a crash loses."""
    broker = StubBroker(fail_fast_default=False)
    broker.add_middleware(HostLoop(loop) if loop is not None else AsyncIO())
    return _declare_queues(broker)  # type: ignore[return-value]


def use(broker: dramatiq.Broker) -> dramatiq.Broker:
    """Make `broker` the global one and re-bind every actor already declared to it."""
    old = dramatiq.get_broker() if _has_broker() else None
    dramatiq.set_broker(broker)
    if old is not None and old is not broker:
        for name in list(old.get_declared_actors()):
            actor = old.get_actor(name)
            actor.broker = broker
            broker.declare_actor(actor)
    return broker


def _has_broker() -> bool:
    from dramatiq import broker as module

    return module.global_broker is not None


def ensure_broker() -> dramatiq.Broker:
    """A broker to declare actors on before the process picks its real one."""
    if not _has_broker():
        dramatiq.set_broker(memory_broker())
    return dramatiq.get_broker()


def join(broker: StubBroker, *, timeout: float = 30.0) -> None:
    """Block until every queue of an in-memory broker is empty (tests, benchmarks, shutdown)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = False
        for name in list(broker.queues):
            queue = broker.queues[name]
            if queue.unfinished_tasks:
                busy = True
                broker.join(name, timeout=int(max(deadline - time.monotonic(), 0.1) * 1000))
        if not busy:
            return
    raise TimeoutError("queues did not drain")
