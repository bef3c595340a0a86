"""ML raising mid-batch: the keyword baseline answers, the ticket says `model: "fallback"`, the pipeline moves."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ml import TriageRequest, TriageResult, TriageService
from ml.baseline import keyword_triage
from storage import tickets as store
from tests.conftest import add_agents, make_settings, start_app

MODEL = "fake-minilm"


class FailingMidway:
    """A model that answers its first batch, raises on the next `failures` batches, then answers again."""

    name = MODEL

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.batches = 0
        self._lock = threading.Lock()

    def triage_batch(self, requests: Sequence[TriageRequest]) -> list[TriageResult]:
        with self._lock:
            self.batches += 1
            failing = 1 < self.batches <= 1 + self.failures
        if failing:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")  # any model error
        return [_as_model(keyword_triage(r)) for r in requests]


def _as_model(result: TriageResult) -> TriageResult:
    from dataclasses import replace

    return replace(result, model=MODEL)


async def test_a_model_raising_mid_batch_falls_back_and_every_ticket_is_routed(sqlite_url):
    # Given a model that answers once, then raises for two batches, then recovers
    model = FailingMidway(failures=2)
    service = TriageService(model, max_batch=8, max_wait=0.005)
    app = await start_app(make_settings(sqlite_url), triage=service)
    try:
        await add_agents(app)
        ids: list[str] = []
        # When tickets arrive in waves (each wave one or more forward passes)
        for wave in range(4):
            batch = [{"subject": f"wave {wave}", "body": f"I was charged twice, refund please #{i}"} for i in range(6)]
            response = await app.post("/v1/tickets/batch", batch)
            assert response.status == 202, await response.text()
            ids += [item["id"] for item in (await response.json())["accepted"]]
            await app.drain(limit=60)
        tickets = [await store.get_ticket(app.services.runtime.db, i) for i in ids]
        # Then every ticket left the pipeline (routed), none stuck in received/triaged
        assert {t.status for t in tickets} <= {"assigned", "queued"}
        models = [t.model for t in tickets]
        # And the ones the failing batches held were answered by the baseline, the rest by the model
        assert "fallback" in models and MODEL in models
        assert set(models) == {"fallback", MODEL}
        assert service.fallback_count == models.count("fallback")
        # And each ticket was triaged exactly once
        for ticket_id in ids:
            kinds = [e.type for e in await store.events(app.services.runtime.db, ticket_id)]
            assert kinds.count("triage") == 1, kinds
        # And /metrics reports the fallbacks
        text = await (await app.client.get("/metrics")).text()
        assert f"switchboard_triage_fallbacks {float(service.fallback_count)}" in text
    finally:
        await app.client.close()
