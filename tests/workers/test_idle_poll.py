"""A worker's idle consumers poll at most `worker_idle_poll_ms` apart (Dramatiq's default is a second per hop)."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.stub import StubBroker

from workers.broker import IdlePoll


def test_idle_poll_sets_the_timeout_every_consumer_is_made_with():
    # Given a broker with the middleware, and queues declared before the worker starts (as the actors do)
    broker = StubBroker()
    broker.add_middleware(IdlePoll(70))
    for queue in ("ml", "default", "chat"):
        broker.declare_queue(queue)
    worker = dramatiq.Worker(broker, worker_threads=1)
    # When the worker boots
    worker.start()
    try:
        # Then each consumer (delay queues too) waits at most 70 ms between polls
        assert worker.worker_timeout == 70
        assert len(worker.consumers) == 6
        assert {consumer.worker_timeout for consumer in worker.consumers.values()} == {70}
    finally:
        worker.stop()
