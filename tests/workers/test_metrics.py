"""A worker process serves its own metrics on loopback; the next process takes the next free port."""

from __future__ import annotations

import urllib.request

from tests.conftest import free_port
from workers import metrics


def test_worker_metrics_are_served_on_loopback_at_the_first_free_port():
    # Given a port taken by someone else
    first = free_port()
    taken = metrics.serve(first)
    assert taken == first
    # When another process (here: another call) asks for the same start port
    second = metrics.serve(first)
    # Then it gets the next free one (usually first + 1; a client socket of this very suite may hold
    # that one for a moment), and both answer with the pipeline's families
    assert first < second <= first + 10
    for port in (first, second):
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert "switchboard_triage_seconds" in body and "switchboard_pipeline_seconds" in body
