"""`POST /v1/route`: triage and routing inside the request; the four outcomes, loads under concurrency."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import add_agents
from tests.intake.conftest import assert_error, row_counts

BILLING_TEAM = {
    "sam": {"name": "Sam", "skills": ["Billing"], "languages": ["en"], "capacity": 3},
    "kai": {"name": "Kai", "skills": ["Billing"], "languages": ["en"], "capacity": 4},
    "lee": {"name": "Lee", "skills": ["Billing"], "languages": ["en", "fr"], "capacity": 5, "tier": "senior"},
}


async def route(app, body, **kwargs):
    r = await app.client.post("/v1/route", json=body, **kwargs)
    assert r.status == 200, await r.text()
    return await r.json()


async def loads(app) -> dict[str, tuple[int, int]]:
    agents = (await (await app.client.get("/v1/agents")).json())["items"]
    return {a["id"]: (a["load"], a["capacity"]) for a in agents}


async def test_assigned_with_score_load_and_reason(app):
    await add_agents(app)
    answer = await route(app, {"subject": "Refund", "body": "I was charged twice", "topics": ["Billing"],
                               "language": "English"})
    assert answer["status"] == "assigned"
    assert answer["agent_id"] == "ana" and answer["current_load"] == 1
    assert 0 < answer["score"] <= 1
    assert "speaks en" in answer["reason"] and any(r.startswith("skills:") for r in answer["reason"])
    # The ticket is there, already routed: the pipeline has nothing left to do
    ticket = await (await app.client.get(f"/v1/tickets/{answer['ticket_id']}")).json()
    assert ticket["status"] == "assigned" and ticket["channel"] == "route" and ticket["triage"] is not None
    await app.drain()
    assert (await (await app.client.get(f"/v1/tickets/{answer['ticket_id']}")).json())["version"] == ticket["version"]
    assert (answer["ticket_id"], "assigned") in app.notifier.calls


async def test_unknown_user_is_user_not_found_and_writes_nothing(app):
    await add_agents(app)
    before = await row_counts(app)
    answer = await route(app, {"topics": ["Billing"], "user_id": "nobody"})
    assert answer == {"status": "user_not_found", "ticket_id": None, "agent_id": None, "score": None,
                      "current_load": None, "reason": ["no customer with id nobody"]}
    assert await row_counts(app) == before


async def test_a_language_nobody_speaks_is_no_candidates(app):
    await add_agents(app)
    answer = await route(app, {"body": "Rechnung falsch", "topics": ["Billing"], "language": "ja"})
    assert answer["status"] == "no_candidates"
    assert answer["agent_id"] is None and answer["ticket_id"]
    assert "language ja" in answer["reason"][0]


async def test_fit_but_full_is_queued(app):
    await add_agents(app, {"solo": {"name": "Solo", "skills": ["Billing"], "capacity": 1}})
    assert (await route(app, {"topics": ["Billing"]}))["status"] == "assigned"
    answer = await route(app, {"topics": ["Billing"]})
    assert answer["status"] == "queued" and answer["agent_id"] is None
    assert "at capacity" in answer["reason"][0]


async def test_twenty_concurrent_routes_never_exceed_capacity(app):
    # Given three agents with 12 places between them
    await add_agents(app, BILLING_TEAM)
    # When 20 requests are routed at the same instant
    answers = await asyncio.gather(*(route(app, {"body": f"invoice question {i}", "topics": ["Billing"], "language": "en"})
                                     for i in range(20)))
    # Then 12 are assigned, 8 queued, loads add up, nobody is over capacity
    statuses = [a["status"] for a in answers]
    assert statuses.count("assigned") == 12 and statuses.count("queued") == 8
    now = await loads(app)
    assert all(load <= capacity for load, capacity in now.values())
    assert sum(load for load, _ in now.values()) == 12
    per_agent = {agent_id: sum(1 for a in answers if a["agent_id"] == agent_id) for agent_id in now}
    assert per_agent == {agent_id: load for agent_id, (load, _) in now.items()}
    # And each answer's current_load was a real load at that moment
    assert all(1 <= a["current_load"] <= now[a["agent_id"]][1] for a in answers if a["agent_id"])
    await app.drain()


async def test_complete_frees_capacity_and_the_best_queued_ticket_moves_there(app):
    await add_agents(app, {"solo": {"name": "Solo", "skills": ["Technical"], "capacity": 1}})
    held = await route(app, {"body": "small typo on the settings page", "topics": ["Technical"]})
    routine = await route(app, {"body": "the dark mode colours look odd", "topics": ["Technical"]})
    urgent = await route(app, {"body": "outage: the site is down for all customers, urgent!",
                               "topics": ["Technical"]})
    assert [held["status"], routine["status"], urgent["status"]] == ["assigned", "queued", "queued"]
    # When the agent completes what they hold
    for action in ("claim", "complete"):
        r = await app.client.post(f"/v1/tickets/{held['ticket_id']}/{action}", json={"agent_id": "solo"})
        assert r.status == 200, await r.text()
    # Then the most urgent waiting ticket (not the oldest) is theirs, and the load is back to 1
    ticket = await (await app.client.get(f"/v1/tickets/{urgent['ticket_id']}")).json()
    assert ticket["status"] == "assigned" and ticket["assignee"] == "solo"
    assert (await (await app.client.get(f"/v1/tickets/{routine['ticket_id']}")).json())["status"] == "queued"
    assert (await loads(app))["solo"] == (1, 1)


async def test_vip_customer_goes_to_a_senior(app):
    await add_agents(app, {
        "jun": {"name": "Jun", "skills": ["Billing"], "capacity": 5, "tier": "junior"},
        "sen": {"name": "Sen", "skills": ["Billing"], "capacity": 5, "tier": "senior"},
    })
    await app.client.put("/v1/customers/big", json={"name": "Big Co", "tier": "vip", "language": "en"})
    await app.client.put("/v1/customers/small", json={"name": "Small Co", "tier": "standard"})
    vip = await route(app, {"body": "question about my invoice", "topics": ["Billing"], "user_id": "big"})
    plain = await route(app, {"body": "question about my invoice", "topics": ["Billing"], "user_id": "small"})
    assert vip["agent_id"] == "sen" and "senior for urgent/VIP" in vip["reason"]
    assert plain["agent_id"] == "jun"
    vip_ticket = await (await app.client.get(f"/v1/tickets/{vip['ticket_id']}")).json()
    plain_ticket = await (await app.client.get(f"/v1/tickets/{plain['ticket_id']}")).json()
    assert "vip_requester" in vip_ticket["triage"]["signals"]
    assert vip_ticket["triage"]["urgency"] > plain_ticket["triage"]["urgency"]
    assert vip_ticket["requester"]["name"] == "Big Co"


async def test_seed_style_fields_reach_the_ticket(app):
    await add_agents(app)
    answer = await route(app, {"topics": ["Account"], "language": "es", "budget": 80, "sensitivity": True,
                               "sla_min": 30})
    ticket = await (await app.client.get(f"/v1/tickets/{answer['ticket_id']}")).json()
    assert ticket["sensitive"] is True and ticket["budget"] == 80 and ticket["sla_minutes"] == 30
    assert ticket["language"] == "es" and ticket["topics"] == ["Account"]
    assert answer["status"] == "assigned" and answer["agent_id"] == "ana"  # the only one with clearance


async def test_same_idempotency_key_is_the_same_ticket(app):
    await add_agents(app)
    body = {"body": "charged twice", "topics": ["Billing"]}
    first = await route(app, body, headers={"Idempotency-Key": "r-1"})
    again = await route(app, body, headers={"Idempotency-Key": "r-1"})
    assert again == first
    assert (await row_counts(app))["tickets"] == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"topics": "Billing"}, 422, "validation_error"),
        ({"sensitivity": "perhaps"}, 422, "validation_error"),
        ({"language": "Klingon"}, 422, "validation_error"),
        ({"budget": -5}, 422, "validation_error"),
        ({"sla_min": 0}, 422, "validation_error"),
        ({"priority": "high"}, 422, "validation_error"),
        (["not", "an", "object"], 422, "validation_error"),
    ],
)
async def test_bad_requests_write_nothing(app, body, status, code):
    before = await row_counts(app)
    r = await app.client.post("/v1/route", json=body)
    assert r.status == status
    assert_error(await r.json(), code)
    assert await row_counts(app) == before
