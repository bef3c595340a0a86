"""Observability: /metrics shows the pipeline, queue depth and SLA breaches; JSON logs carry ids, never secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from intake.logs import configure_logging, secret_values
from storage.models import utcnow
from tests.conftest import add_agents, make_settings, start_app
from workers.escalation import check_once


async def scrape(app) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    response = await app.client.get("/metrics")
    assert response.status == 200
    samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_show_queue_depth_triage_latency_and_sla_breaches(sqlite_url):
    # Given the app with one agent who takes Billing only, and a scrape before anything happens
    app = await start_app(make_settings(sqlite_url))
    try:
        await add_agents(app, {"ana": {"name": "Ana", "skills": ["Billing"], "capacity": 1}})
        before = await scrape(app)
        # When three billing tickets and one shipping ticket go through the pipeline
        for body in ("charged twice, refund please", "invoice is wrong, refund", "refund my payment",
                     "where is my parcel? tracking has not moved"):
            assert (await app.post("/v1/tickets", {"body": body, "sla_minutes": 1})).status == 202
        await app.drain()
        after = await scrape(app)
        # Then queue depth comes from the database: one assigned (capacity 1), three queued, none in the pipeline
        assert value(after, "switchboard_tickets", status="assigned") == 1
        assert value(after, "switchboard_tickets", status="queued") == 3
        assert value(after, "switchboard_tickets", status="received") == 0
        assert value(after, "switchboard_broker_messages", queue="ml") == 0
        # And every triage and routing was timed
        def grew(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        # (a sweeper re-ring racing a slow first delivery may triage twice; only one commits)
        assert grew("switchboard_triage_seconds_count", model="fallback") >= 4
        assert grew("switchboard_pipeline_seconds_count", step="triaged") == 4
        assert grew("switchboard_pipeline_seconds_count", step="routed") == 4
        # When their one-minute SLA runs out
        report = await check_once(app.services.runtime, now=utcnow() + timedelta(minutes=2))
        assert len(report.escalated) == 4
        # Then the breaches are counted by the status they were found in
        late = await scrape(app)
        assert value(late, "switchboard_sla_breaches_total", status="queued") - \
            value(after, "switchboard_sla_breaches_total", status="queued") == 3
        assert value(late, "switchboard_sla_breaches_total", status="assigned") - \
            value(after, "switchboard_sla_breaches_total", status="assigned") == 1
        # And the HTTP and chat families are there too
        assert value(late, "switchboard_http_requests_total", method="POST", route="/v1/tickets", status="202") >= 4
        assert any(name == "switchboard_triage_fallbacks" for name, _ in late)
    finally:
        await app.client.close()


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Route the root logger through our JSON configuration into a buffer, then put pytest's handlers back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)


SECRETS = {
    "api_token": "api-tok-5f1e9c2b7a",
    "admin_token": "adm-tok-93be77d0c4",
    "slack_bot_token": "xoxb-secret-0d8a2f",
    "slack_signing_secret": "slack-sign-6c51aa",
    "outbound_webhook_secret": "hook-secret-e2b4c1",
}


async def test_json_logs_carry_ticket_ids_and_no_secret(sqlite_url, json_logs, monkeypatch):
    # Given every secret configured (a form secret in the environment too) and JSON logs
    monkeypatch.setenv("FORM_SECRET_GENERIC", "form-secret-7a7a7a")
    settings = make_settings(sqlite_url, outbound_webhook_url="http://127.0.0.1:9/hook", **SECRETS)
    configure_logging("json", secrets=secret_values(settings), stream=json_logs)
    app = await start_app(settings)
    try:
        auth = {"Authorization": f"Bearer {SECRETS['api_token']}"}
        # When a ticket is created with the token, a wrong token is tried, and the pipeline runs
        response = await app.client.post("/v1/tickets", json={"body": "The site is down for all customers!"},
                                         headers=auth)
        ticket_id = (await response.json())["id"]
        assert (await app.client.get("/v1/tickets", headers={"Authorization": "Bearer nope"})).status == 401
        await app.drain()
        # (and careless code logs a secret: the redaction behind the rule masks it)
        logging.getLogger("switchboard.test").warning("token was %s", SECRETS["admin_token"])
    finally:
        await app.client.close()
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line.strip()]
    text = json_logs.getvalue()
    # Then every line is JSON, and no secret value appears anywhere
    assert lines
    for secret in [*SECRETS.values(), "form-secret-7a7a7a"]:
        assert secret not in text
    assert any(line.get("event") == "token was ***" for line in lines)
    # And the pipeline's lines name the ticket as a field of their own
    about = [line for line in lines if line.get("ticket_id") == ticket_id]
    assert {line["event"] for line in about} >= {"ticket triaged", "ticket routed"}
    assert all(line["level"] and line["timestamp"] for line in about)
