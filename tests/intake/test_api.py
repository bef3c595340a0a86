"""The /v1 API: happy paths, the error shape for every kind of bad input, and auth."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from storage.models import IdempotencyKey, Ticket, TicketEvent
from tests.conftest import AGENTS, add_agents, make_settings, start_app


async def counts(app) -> tuple[int, int, int]:
    async with app.services.runtime.db.read() as s:
        return (
            await s.scalar(select(func.count()).select_from(Ticket)),
            await s.scalar(select(func.count()).select_from(TicketEvent)),
            await s.scalar(select(func.count()).select_from(IdempotencyKey)),
        )


def assert_error(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "details" in body["error"]


async def test_ticket_is_triaged_routed_and_worked_end_to_end(app):
    # Given two agents
    await add_agents(app)
    # When a billing ticket arrives
    r = await app.post("/v1/tickets", {"subject": "Charged twice", "body": "I was charged twice, refund please",
                                       "requester": {"id": 7, "name": "Kim"}, "language": "English"})
    assert r.status == 202
    created = await r.json()
    assert created["status"] == "received" and created["status_url"] == f"/v1/tickets/{created['id']}"
    await app.drain()
    # Then it is triaged and assigned to the billing agent, with its reason
    ticket = await (await app.client.get(created["status_url"])).json()
    assert ticket["status"] == "assigned"
    assert ticket["assignee"] == "ana"
    assert ticket["triage"]["category"] == "Billing"
    assert ticket["requester"]["id"] == "7"
    assert any("skills: billing" in r for r in ticket["routing"]["reason"])
    # And claim / complete / resolve / reopen move it, each an event
    for action, status in [("claim", "claimed"), ("complete", "completed"), ("resolve", "resolved")]:
        r = await app.post(f"/v1/tickets/{ticket['id']}/{action}", {"agent_id": "ana", "note": "done"})
        assert r.status == 200, await r.text()
        assert (await r.json())["status"] == status
    r = await app.post(f"/v1/tickets/{ticket['id']}/reopen", {"agent_id": "ana"})
    assert (await r.json())["status"] in ("queued", "assigned")
    events = (await (await app.client.get(f"/v1/tickets/{ticket['id']}/events")).json())["events"]
    assert [e["type"] for e in events][:7] == ["created", "triage", "assign", "claim", "complete", "resolve", "reopen"]
    await app.drain()
    assert ("claim" in {kind for _, kind in app.notifier.calls})


async def test_list_filters_and_queue(app):
    await add_agents(app, {"solo": {"name": "Solo", "skills": ["Technical"], "capacity": 1}})
    for body in ["The site is down for all customers", "Our API returns 500 errors", "App crashes on start"]:
        await app.post("/v1/tickets", {"body": body})
    await app.drain()
    page = await (await app.client.get("/v1/tickets?status=queued,assigned&category=technical&limit=2")).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await (await app.client.get(f"/v1/tickets?status=queued,assigned&limit=2&cursor={page['next_cursor']}")).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    queue = await (await app.client.get("/v1/queue")).json()
    assert queue["size"] == 3
    urgencies = [t["triage"]["urgency"] for t in queue["items"]]
    assert urgencies == sorted(urgencies, reverse=True)
    found = await (await app.client.get("/v1/tickets?q=CRASHES")).json()
    assert [t["body"] for t in found["items"]] == ["App crashes on start"]


async def test_queue_next_claims_most_urgent_then_204(app):
    await add_agents(app, {"solo": {"name": "Solo", "skills": ["Technical"], "capacity": 5}})
    # Given waiting tickets nobody was free to take (capacity 0 while they arrive)
    await app.client.patch("/v1/agents/solo", json={"capacity": 0})
    await app.post("/v1/tickets", {"body": "small bug in settings page"})
    await app.post("/v1/tickets", {"body": "site is down for all customers, outage now!"})
    await app.drain()
    r = await app.post("/v1/queue/next", {"agent_id": "solo"})
    assert r.status == 409 and (await r.json())["error"]["code"] == "agent_at_capacity"
    # When the agent gets room (which assigns the waiting tickets to them at once) and pulls
    agent = await (await app.client.patch("/v1/agents/solo", json={"capacity": 5})).json()
    assert agent["load"] == 2
    r = await app.post("/v1/queue/next", {"agent_id": "solo"})
    # Then the outage comes first, then the bug, then nothing
    assert r.status == 200 and "down" in (await r.json())["body"]
    r = await app.post("/v1/queue/next", {"agent_id": "solo"})
    assert r.status == 200 and "bug" in (await r.json())["body"]
    assert (await app.post("/v1/queue/next", {"agent_id": "solo"})).status == 204


async def test_patch_overrides_show_in_triage_and_events(app):
    r = await app.post("/v1/tickets", {"body": "please add dark mode"})
    ticket_id = (await r.json())["id"]
    await app.drain()
    r = await app.client.patch(f"/v1/tickets/{ticket_id}", json={"category": "billing", "urgency": 0.9,
                                                                  "tags": ["vip"], "agent_id": "ana"})
    body = await r.json()
    assert r.status == 200
    assert body["triage"]["category"] == "Billing" and body["triage"]["urgency"] == 0.9
    assert body["triage"]["urgency_label"] == "critical" and body["triage"]["overridden"]["category"]
    events = (await (await app.client.get(f"/v1/tickets/{ticket_id}/events")).json())["events"]
    assert {"category_changed", "urgency_changed", "tags_changed"} <= {e["type"] for e in events}


async def test_batch_accepts_good_items_and_rejects_bad_ones(app):
    r = await app.post("/v1/tickets/batch", [{"body": "one"}, {"subject": "no body"}, "nope", {"body": "two"}])
    assert r.status == 202
    body = await r.json()
    assert [a["index"] for a in body["accepted"]] == [0, 3]
    assert [x["index"] for x in body["rejected"]] == [1, 2]
    assert body["rejected"][0]["error"]["code"] == "validation_error"
    assert (await counts(app))[0] == 2


async def test_agents_and_customers_directory(app):
    r = await app.client.put("/v1/agents/42", json={"name": "Zed", "languages": ["German"], "skills": ["Legal"]})
    assert r.status == 201
    agent = await r.json()
    assert agent == {**agent, "id": "42", "languages": ["de"], "load": 0, "capacity": 5, "active": True}
    assert (await app.client.put("/v1/agents/42", json={"name": "Zed"})).status == 200
    assert (await (await app.client.delete("/v1/agents/42")).json())["active"] is False
    r = await app.client.put("/v1/customers/c1", json={"name": "Acme", "tier": "vip", "language": "fr"})
    assert r.status == 201 and (await r.json())["tier"] == "vip"
    assert (await (await app.client.get("/v1/customers/c1")).json())["language"] == "fr"


async def test_triage_endpoint_stores_nothing(app):
    before = await counts(app)
    r = await app.post("/v1/triage", {"text": "I was charged twice"})
    assert r.status == 200
    result = await r.json()
    assert result["category"] == "Billing" and 0 <= result["urgency"] <= 1 and result["model"]
    assert await counts(app) == before


async def test_json_answers_carry_what_was_stored_even_integers_beyond_64_bits(app):
    # Answers are encoded with orjson, which refuses integers past 64 bits; JSON itself does not.
    metadata = {"order": 2**70 + 1, "ratio": 0.5, "nested": {"ok": True}}
    created = await app.post("/v1/tickets", {"body": "a big order number", "metadata": metadata})
    assert created.status == 202, await created.text()
    ticket = await app.client.get(f"/v1/tickets/{(await created.json())['id']}")
    assert ticket.status == 200, await ticket.text()
    assert (await ticket.json())["metadata"] == metadata


BAD_REQUESTS = [
    # (method, path, kwargs, status, code)
    ("post", "/v1/tickets", {"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "malformed_json"),
    ("post", "/v1/tickets", {"data": b"body=hi", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type"),
    ("post", "/v1/tickets", {"json": {"subject": "no body"}}, 422, "validation_error"),
    ("post", "/v1/tickets", {"json": {"body": "x", "language": "Klingon"}}, 422, "validation_error"),
    ("post", "/v1/tickets", {"json": {"body": "x", "budget": -1}}, 422, "validation_error"),
    ("post", "/v1/tickets", {"json": {"body": "x", "surprise": 1}}, 422, "validation_error"),
    ("post", "/v1/tickets", {"json": ["not", "an", "object"]}, 422, "validation_error"),
    ("post", "/v1/tickets", {"json": {"body": "x" * (1024 * 1024 + 10)}}, 413, "payload_too_large"),
    ("post", "/v1/tickets/batch", {"json": [{"body": "x"}] * 501}, 413, "batch_too_large"),
    ("post", "/v1/tickets/batch", {"json": {"body": "x"}}, 422, "validation_error"),
    ("get", "/v1/tickets/T-NOPE", {}, 404, "not_found"),
    ("get", "/v1/tickets?status=bogus", {}, 422, "validation_error"),
    ("get", "/v1/tickets?min_urgency=2", {}, 422, "validation_error"),
    ("get", "/v1/tickets?limit=abc", {}, 422, "validation_error"),
    ("get", "/v1/tickets?cursor=%%%", {}, 422, "invalid"),
    ("post", "/v1/tickets/T-NOPE/claim", {"json": {"agent_id": "ana"}}, 404, "not_found"),
    ("patch", "/v1/tickets/T-NOPE", {"json": {"tags": ["x"]}}, 404, "not_found"),
    ("get", "/v1/agents/nobody", {}, 404, "not_found"),
    ("put", "/v1/agents/x", {"json": {"name": "X", "tier": "boss"}}, 422, "validation_error"),
    ("get", "/v1/nowhere", {}, 404, "not_found"),
    ("delete", "/v1/tickets", {}, 405, "method_not_allowed"),
    ("post", "/v1/queue/next", {"json": {}}, 422, "validation_error"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code"), BAD_REQUESTS)
async def test_bad_input_gets_clear_error_and_writes_nothing(app, method, path, kwargs, status, code):
    before = await counts(app)
    response = await getattr(app.client, method)(path, **kwargs)
    assert response.status == status, await response.text()
    assert_error(await response.json(), code)
    assert await counts(app) == before


async def test_illegal_transitions_answer_409_with_current_state(app):
    await add_agents(app)
    ticket_id = (await (await app.post("/v1/tickets", {"body": "invoice wrong"})).json())["id"]
    await app.drain()
    before = await counts(app)
    r = await app.post(f"/v1/tickets/{ticket_id}/complete", {"agent_id": "ana"})
    assert r.status == 409
    body = await r.json()
    assert_error(body, "illegal_transition")
    assert body["error"]["details"]["status"] == "assigned"
    assert (await app.post(f"/v1/tickets/{ticket_id}/claim", {"agent_id": "nobody"})).status == 404
    assert await counts(app) == before


async def test_same_key_with_a_different_body_is_refused(app):
    headers = {"Idempotency-Key": "k-1"}
    assert (await app.post("/v1/tickets", {"body": "one"}, headers=headers)).status == 202
    r = await app.post("/v1/tickets", {"body": "two"}, headers=headers)
    assert r.status == 409
    assert_error(await r.json(), "idempotency_key_reused")


@pytest.fixture
async def secured(sqlite_url):
    running = await start_app(make_settings(sqlite_url, api_token="user-token", admin_token="admin-token"))
    yield running
    await running.client.close()


@pytest.mark.parametrize(
    ("method", "path", "token", "status"),
    [
        ("get", "/v1/tickets", None, 401),
        ("get", "/v1/tickets", "wrong", 401),
        ("get", "/v1/tickets", "user-token", 200),
        ("get", "/v1/tickets", "admin-token", 200),
        ("get", "/v1/agents", "user-token", 200),
        ("put", "/v1/agents/x", "user-token", 403),
        ("put", "/v1/agents/x", "admin-token", 201),
        ("put", "/v1/customers/c", "user-token", 403),
        ("get", "/healthz", None, 200),
        ("get", "/metrics", None, 200),
    ],
)
async def test_tokens(secured, method, path, token, status):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if method == "put":
        kwargs["json"] = AGENTS["ana"] if "agents" in path else {"name": "C"}
    response = await getattr(secured.client, method)(path, **kwargs)
    assert response.status == status
    if status >= 400:
        assert_error(await response.json(), {401: "unauthorized", 403: "forbidden"}[status])


def test_refuses_to_listen_off_loopback_without_tokens():
    from intake.__main__ import check_exposure

    assert check_exposure(make_settings("sqlite+aiosqlite://", host="0.0.0.0")) is not None
    assert check_exposure(make_settings("sqlite+aiosqlite://", host="127.0.0.1")) is None
    assert check_exposure(make_settings("sqlite+aiosqlite://", host="0.0.0.0", api_token="a", admin_token="b")) is None


async def test_health_ready_metrics(app):
    assert (await app.client.get("/healthz")).status == 200
    ready = await (await app.client.get("/readyz")).json()
    assert ready["status"] == "ready" and ready["checks"]["database"] == "ok"
    await app.post("/v1/tickets", {"body": "x"})
    metrics = await (await app.client.get("/metrics")).text()
    assert "switchboard_http_requests_total" in metrics


@pytest.mark.parametrize("sqlstate", ["57P03", "08006"])
async def test_a_postgresql_refusing_connections_is_a_503_not_a_500(app, monkeypatch, sqlstate):
    # Given PostgreSQL answering a new connection with "the database system is shutting down"
    # (asyncpg's CannotConnectNowError, 57P03), or a connection failure (08006): SQLAlchemy hands
    # these over as a plain DBAPIError, not an OperationalError, when no connection was open yet
    import asyncpg
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
    from sqlalchemy.exc import DBAPIError

    orig = asyncpg.exceptions.PostgresError.new({"C": sqlstate, "M": "the database system is shutting down"})
    translated = AsyncAdapt_asyncpg_dbapi(asyncpg)._asyncpg_error_translate[asyncpg.exceptions.PostgresError](
        str(orig), orig)

    async def refused(*_: Any, **__: Any) -> None:
        raise DBAPIError("SELECT", {}, translated)

    monkeypatch.setattr("storage.tickets.get_ticket", refused)
    # When a request needs the database / Then a clear 503 in the error shape, with Retry-After
    response = await app.client.get("/v1/tickets/T-AAAAAAAAAA")
    assert response.status == 503 and response.headers["Retry-After"] == "2"
    assert (await response.json())["error"]["code"] == "unavailable"
