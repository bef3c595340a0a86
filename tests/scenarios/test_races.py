"""Races that really run concurrently, on SQLite and PostgreSQL: one winner, no overbooking, no duplicates."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select

from storage.models import Agent, Ticket, TicketEvent
from storage.states import HOLDS_CAPACITY
from tests.conftest import add_agents


async def test_fifty_agents_claim_one_ticket_exactly_one_wins(app):
    # Given 50 agents who could all take a ticket
    await add_agents(app, {f"a{i:02d}": {"name": f"Agent {i}", "skills": ["Technical"], "capacity": 3}
                           for i in range(50)})
    ticket_id = (await (await app.post("/v1/tickets", {"body": "The API returns 500 errors"})).json())["id"]
    await app.drain()
    # When all 50 press Claim at once
    responses = await asyncio.gather(*(
        app.post(f"/v1/tickets/{ticket_id}/claim", {"agent_id": f"a{i:02d}"}) for i in range(50)
    ))
    bodies = [await r.json() for r in responses]
    # Then exactly one 200, and 49 409s that name the winner
    statuses = Counter(r.status for r in responses)
    assert statuses == {200: 1, 409: 49}
    winner = next(b for r, b in zip(responses, bodies, strict=True) if r.status == 200)["assignee"]
    for response, body in zip(responses, bodies, strict=True):
        if response.status == 409:
            assert body["error"]["code"] == "already_claimed"
            assert body["error"]["details"]["claimed_by"] == winner
    # And only the winner's capacity is used, with one claim event
    async with app.services.runtime.db.read() as s:
        loads = {a.id: a.load for a in await s.scalars(select(Agent))}
        claims = await s.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.type == "claim"))
    assert claims == 1
    assert sum(loads.values()) == 1 and loads[winner] == 1


async def test_two_hundred_tickets_over_ten_agents_never_overbook(app):
    # Given 10 agents with 5 slots each (50 in all)
    await add_agents(app, {f"ag{i}": {"name": f"Agent {i}", "skills": ["Technical", "Billing", "Other"],
                                      "capacity": 5} for i in range(10)})
    # When 200 tickets arrive at once and the workers route them concurrently
    bodies = ["site is down", "charged twice on invoice", "question about something"]
    responses = await asyncio.gather(*(app.post("/v1/tickets", {"body": f"{bodies[i % 3]} #{i}"})
                                       for i in range(200)))
    assert all(r.status == 202 for r in responses)
    await app.drain(limit=120)
    # Then exactly 50 are assigned, the rest wait, and each load equals what the agent really holds
    async with app.services.runtime.db.read() as s:
        agents = list(await s.scalars(select(Agent)))
        held = Counter(t.assignee_id for t in await s.scalars(
            select(Ticket).where(Ticket.status.in_([str(x) for x in HOLDS_CAPACITY]))))
        statuses = Counter(t.status for t in await s.scalars(select(Ticket)))
    assert statuses == {"assigned": 50, "queued": 150}
    for agent in agents:
        assert agent.load == held[agent.id] == agent.capacity


async def test_same_idempotency_key_twenty_times_at_once_is_one_ticket(app):
    # Given the embedded app, whose group commits write on its event loop (the database's only writer)
    assert app.services.runtime.committer.on_loop
    # When the same request with the same key is sent 20 times concurrently
    responses = await asyncio.gather(*(
        app.post("/v1/tickets", {"body": "printer on fire"}, headers={"Idempotency-Key": "abc-123"})
        for _ in range(20)
    ))
    bodies = [await r.json() for r in responses]
    # Then one ticket: 202 the first time, 200 after, always the same id
    assert Counter(r.status for r in responses) == {202: 1, 200: 19}
    assert len({b["id"] for b in bodies}) == 1
    async with app.services.runtime.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Ticket)) == 1


async def test_completions_racing_with_routing_keep_loads_exact(app):
    # Given one agent with 2 slots and 6 waiting tickets
    await add_agents(app, {"solo": {"name": "Solo", "skills": ["Technical"], "capacity": 2}})
    for i in range(6):
        await app.post("/v1/tickets", {"body": f"bug number {i}"})
    await app.drain()
    # When the agent claims and completes as fast as possible while refills race
    for _ in range(3):
        queue = await (await app.client.get("/v1/tickets?assignee=solo&status=assigned")).json()
        ids = [t["id"] for t in queue["items"]]
        await asyncio.gather(*(app.post(f"/v1/tickets/{i}/claim", {"agent_id": "solo"}) for i in ids))
        await asyncio.gather(*(app.post(f"/v1/tickets/{i}/complete", {"agent_id": "solo"}) for i in ids))
    await app.drain()
    # Then every ticket was worked once and the load matches reality
    async with app.services.runtime.db.read() as s:
        statuses = Counter(t.status for t in await s.scalars(select(Ticket)))
        agent = await s.get(Agent, "solo")
    assert statuses == {"completed": 6}
    assert agent.load == 0
