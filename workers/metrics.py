"""Prometheus metrics of the pipeline and of chat delivery, shared by every process that does the work.

intake serves them on `/metrics`; a Redis-mode worker process counts its own (see README).
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger("switchboard.metrics")

CHAT_POSTS = Counter("switchboard_chat_posts_total", "Chat calls that succeeded", ["platform", "kind"])
CHAT_RATE_LIMITED = Counter("switchboard_chat_rate_limited_total", "429 answers from a chat platform", ["platform"])
CHAT_FAILURES = Counter("switchboard_chat_failures_total", "Chat calls that failed (retried by the actor)",
                        ["platform"])
CHAT_DELAY = Histogram("switchboard_chat_post_delay_seconds", "Time a card waited for its channel's rate limit",
                       ["platform"], buckets=(0.0, 0.1, 0.5, 1, 2, 5, 10, 30, 60))

# The pipeline. Counted in the process that does the step: intake in embedded mode, each
# `dramatiq intake.worker` process in Redis mode (served on WORKER_METRICS_PORT, see README).
TRIAGE_SECONDS = Histogram("switchboard_triage_seconds", "Time one ticket's triage call took, by who answered",
                           ["model"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
PIPELINE_SECONDS = Histogram("switchboard_pipeline_seconds", "From a ticket's acceptance to the commit of a step",
                             ["step"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900))
TRIAGE_FALLBACKS = Counter("switchboard_triage_fallback_answers_total",
                           "Tickets triaged by the keyword baseline while a model was configured")

# SLA timers (the periodic check runs in every intake process; the database makes each step fire once).
SLA_BREACHES = Counter("switchboard_sla_breaches_total", "Tickets found past their SLA due time (escalated)",
                       ["status"])
SLA_REMINDERS = Counter("switchboard_sla_reminders_total", "SLA reminders sent before the due time")
SLA_AUTO_UNCLAIMS = Counter("switchboard_sla_auto_unclaims_total", "Idle claims handed back to the queue")

# Queue depth, read from the database (the source of truth, whichever process holds the work) at scrape time.
TICKETS = Gauge("switchboard_tickets", "Tickets in a pipeline or waiting status, counted at scrape time",
                ["status"])
BROKER_MESSAGES = Gauge("switchboard_broker_messages", "Messages in a broker queue, waiting or in progress "
                        "(Redis mode; counted at scrape time)", ["queue"])


def serve(first_port: int, *, tries: int = 32) -> int | None:
    """Serve this process's metrics on 127.0.0.1 at the first free port from `first_port`; which one, or None.

    Each `dramatiq intake.worker` process calls it, so N processes take N consecutive ports.
    """
    for port in range(first_port, first_port + tries):
        try:
            start_http_server(port, addr="127.0.0.1")
        except OSError:
            continue
        log.info("worker metrics on http://127.0.0.1:%d/metrics", port)
        return port
    log.warning("no free port in %d-%d for worker metrics", first_port, first_port + tries - 1)
    return None
