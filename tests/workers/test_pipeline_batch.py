"""A message's tickets are read, triaged and written together, and nothing is triaged or routed twice."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest
from sqlalchemy import func, select

from ml import TriageRequest, TriageResult, TriageService, load_service
from storage import tickets as store
from storage.agents import put_agent, put_customer
from storage.batching import act_many
from storage.models import Agent, Ticket, TicketEvent
from storage.states import Action, TicketStatus
from tests.conftest import make_settings
from tests.ml.conftest import EchoTriager
from workers import pipeline
from workers.runtime import Runtime


async def _events(db, ticket_id: str, type_: str, *, source: str | None = None) -> int:  # type: ignore[no-untyped-def]
    """How many `type_` events the ticket has (only those leaving status `source`, when given)."""
    query = select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket_id,
                                                                TicketEvent.type == type_)
    if source is not None:
        query = query.where(TicketEvent.from_status == source)
    async with db.read() as session:
        return int(await session.scalar(query))


async def test_received_reads_only_waiting_tickets_with_their_requesters_and_a_stale_read_is_harmless(db):
    rt = Runtime(settings=make_settings(db.url), db=db, triage=load_service("keyword"))
    await put_customer(db, "c-vip", {"tier": "vip", "language": "de"})
    new = [store.NewTicket(subject="Charged twice", body="refund please", requester_id=r) for r in ("c-vip", None, None)]
    vip, plain, done = [t.id for t in await store.create_many(db, new)]
    assert await pipeline.triage(rt, done)  # triaged before the message is read

    # When the message's tickets are read together (one of them unknown)
    waiting = await pipeline.received(rt, [vip, plain, done, "T-NOSUCHTICKT"])

    # Then only the two still waiting come back, each with its requester
    assert set(waiting) == {vip, plain}
    assert waiting[vip][1] is not None and waiting[vip][1].tier == "vip" and waiting[plain][1] is None
    # And triaging from that read uses the requester (VIP, the customer's language) ...
    assert await pipeline.triage(rt, vip, loaded=waiting[vip])
    ticket = await store.get_ticket(db, vip)
    assert ticket.status == TicketStatus.TRIAGED and "vip_requester" in ticket.signals
    assert ticket.detected_language == "de"
    # ... while the same read used again (a redelivered message) changes nothing
    assert not await pipeline.triage(rt, vip, loaded=waiting[vip])
    assert await _events(db, vip, "triage") == 1


class GatedEcho(EchoTriager):
    """EchoTriager that records every text it was given and holds its first pass until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def triage_batch(self, requests: Sequence[TriageRequest]) -> list[TriageResult]:
        self.texts += [r.text for r in requests]
        self.entered.set()
        self.release.wait(10)
        return super().triage_batch(requests)


async def _new_tickets(db, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    new = [store.NewTicket(subject=f"Invoice {i} is wrong", body="I was charged twice") for i in range(count)]
    return [t.id for t in await store.create_many(db, new)]


async def test_act_many_moves_only_tickets_still_waiting_with_one_event_each(db):
    first, second, third = await _new_tickets(db, 3)
    await store.act(db, second, Action.TRIAGE, actor="someone", values={"category": "Billing"})
    changes = {i: ({"category": "Technical", "urgency": 0.9}, {"model": "m"})
               for i in (first, second, third, "T-NOSUCHTICKT")}

    # When a batch of triage results is written, one ticket already triaged and one unknown
    moved = await act_many(db, Action.TRIAGE, changes, actor="triage", channel="pipeline")

    # Then only the two waiting ones moved, each with its values, stamps and one event
    assert moved == sorted([first, third])
    for ticket_id in (first, third):
        ticket = await store.get_ticket(db, ticket_id)
        assert (ticket.status, ticket.category, ticket.urgency, ticket.version) == ("triaged", "Technical", 0.9, 2)
        assert ticket.triaged_at is not None and ticket.updated_at == ticket.triaged_at
        assert await _events(db, ticket_id, "triage") == 1
    assert (await store.get_ticket(db, second)).category == "Billing"
    # And the same batch again (a redelivered message) changes nothing
    assert await act_many(db, Action.TRIAGE, changes, actor="triage", channel="pipeline") == []
    assert [await _events(db, i, "triage") for i in (first, second, third)] == [1, 1, 1]
    # And edges that move capacity are not batched here
    with pytest.raises(ValueError, match="not a batchable edge"):
        await act_many(db, Action.ASSIGN, {}, actor="router", channel="pipeline")


async def test_overlapping_messages_in_different_processes_triage_each_ticket_once(db):
    # Given 60 tickets and four workers (own runtimes, as separate processes) with overlapping messages
    ids = await _new_tickets(db, 60)
    runtimes = [Runtime(settings=make_settings(db.url), db=db, triage=load_service("keyword")) for _ in range(4)]
    messages = [ids[0:40], ids[20:60], ids[::-1], ids[10:50]]

    async def work(rt: Runtime, message: list[str]) -> list[str]:
        return await pipeline.triage_many(rt, list((await pipeline.received(rt, message)).values()))

    # When they all triage at once (PostgreSQL: concurrent transactions; SQLite: one writer)
    moved = await asyncio.gather(*(work(rt, m) for rt, m in zip(runtimes, messages, strict=True)))

    # Then every ticket was moved by exactly one of them, with exactly one triage event
    assert sorted(i for batch in moved for i in batch) == sorted(ids)
    assert [await _events(db, i, "triage") for i in ids] == [1] * 60


async def test_a_ticket_this_process_is_already_triaging_is_not_sent_to_the_model_again(db):
    first, second, third, fourth = await _new_tickets(db, 4)
    model = GatedEcho()
    rt = Runtime(settings=make_settings(db.url), db=db, triage=TriageService(model, max_wait=0.0))
    # Given a message whose three tickets are inside the model
    one = asyncio.create_task(pipeline.triage_many(rt, list((await pipeline.received(rt, [first, second, third])).values())))
    assert await asyncio.to_thread(model.entered.wait, 10)
    # When the sweeper's second message for two of them (and a new one) comes in meanwhile
    again = asyncio.create_task(pipeline.triage_many(rt, list((await pipeline.received(rt, [second, third, fourth])).values())))
    await asyncio.sleep(0.05)
    model.release.set()
    # Then the model saw each ticket once, and each message moved its own
    assert await one == sorted([first, second, third]) and await again == [fourth]
    assert sorted(model.texts) == sorted(f"Invoice {i} is wrong\nI was charged twice" for i in range(4))
    assert not rt.triaging
    await rt.triage.close()


async def _triaged(db, urgencies: list[float], category: str = "Billing") -> list[str]:  # type: ignore[no-untyped-def]
    ids = await _new_tickets(db, len(urgencies))
    changes = {i: ({"category": category, "urgency": u, "detected_language": "en"}, {}) for i, u in zip(ids, urgencies, strict=True)}
    assert await act_many(db, Action.TRIAGE, changes, actor="triage", channel="pipeline") == sorted(ids)
    return ids


async def _loads(db) -> dict[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    """agent id -> (load column, tickets it actually holds)."""
    async with db.read() as session:
        agents = {a.id: a.load for a in await session.scalars(select(Agent))}
        held = dict((await session.execute(select(Ticket.assignee_id, func.count()).where(
            Ticket.status.in_(["assigned", "claimed"])).group_by(Ticket.assignee_id))).all())
    return {agent_id: (load, held.get(agent_id, 0)) for agent_id, load in agents.items()}


async def test_route_many_takes_the_most_urgent_first_and_counts_the_slots_it_hands_out(db):
    # Given two fitting agents with one slot each, and a third agent who does not fit
    for agent_id in ("ana", "bea"):
        await put_agent(db, agent_id, {"name": agent_id, "skills": ["Billing"], "languages": ["en"], "capacity": 1})
    await put_agent(db, "tom", {"name": "Tom", "skills": ["Technical"], "languages": ["en"], "capacity": 5})
    low, high, mid = await _triaged(db, [0.2, 0.9, 0.5])
    rt = Runtime(settings=make_settings(db.url), db=db, triage=load_service("keyword"))

    # When one message routes all three, and then again (a redelivery)
    routed = dict(await pipeline.route_many(rt, [low, high, mid, "T-NOSUCHTICKT"]))
    again = await pipeline.route_many(rt, [low, high, mid])

    # Then the two most urgent took the two slots, one each, and the last was queued saying why
    assert {routed[high].agent_id, routed[mid].agent_id} == {"ana", "bea"}
    assert routed[high].outcome == routed[mid].outcome == "assigned"
    assert routed[low].outcome == "queued" and routed[low].reason == ("2 agent(s) fit, all at capacity",)
    assert again == []
    assert await _loads(db) == {"ana": (1, 1), "bea": (1, 1), "tom": (0, 0)}
    ticket = await store.get_ticket(db, high)
    assert ticket.status == "assigned" and ticket.assigned_at is not None and ticket.routing_reason
    assert (await store.get_ticket(db, low)).status == "queued"
    assert [await _events(db, high, "assign"), await _events(db, mid, "assign"), await _events(db, low, "queue")] == [1, 1, 1]


async def test_concurrent_routing_and_releases_keep_every_load_true(db):
    # Given ten agents with three slots each, some already holding tickets, and 80 triaged tickets
    for n in range(10):
        await put_agent(db, f"agent-{n}", {"name": f"A{n}", "skills": ["Billing"], "languages": ["en"], "capacity": 3})
    held = await _triaged(db, [0.5] * 10)
    for n, ticket_id in enumerate(held):
        await store.act(db, ticket_id, Action.ASSIGN, agent_id=f"agent-{n}", actor="router")
    ids = await _triaged(db, [i / 80 for i in range(80)])
    runtimes = [Runtime(settings=make_settings(db.url), db=db, triage=load_service("keyword")) for _ in range(4)]
    messages = [ids[0:50], ids[30:80], ids[::-1], ids[20:60]]

    async def release(ticket_id: str) -> None:
        await store.act(db, ticket_id, Action.RELEASE, actor="someone")

    # When four workers route overlapping messages while people hand tickets back, and /v1/route
    # (one ticket at a time: the ticket's row, then its agent's) routes ten of the same tickets
    results = await asyncio.gather(*(pipeline.route_many(rt, m) for rt, m in zip(runtimes, messages, strict=True)),
                                   *(release(t) for t in held[:5]),
                                   *(pipeline.route(runtimes[0], t) for t in ids[35:45]))

    # Then each ticket left `triaged` once, into the 20 free slots and those the releases freed in time
    # (a ticket a batch queued may then be assigned by the single route, to a slot a release freed:
    # that is a queued ticket getting freed capacity, not a second routing),
    routed = {ticket_id: r for batch in results[:4] for ticket_id, r in batch}  # type: ignore[union-attr]
    assert len(routed) == sum(len(batch) for batch in results[:4])  # type: ignore[arg-type]
    singles = [(t, r) for t, r in zip(ids[35:45], results[9:], strict=True) if r.changed]  # type: ignore[union-attr]
    rerouted = [t for t, r in singles if t in routed]
    assert all(routed[t].outcome == "queued" for t in rerouted)
    assert all(r.outcome == "assigned" for t, r in singles if t in rerouted)
    assert set(routed) | {t for t, _ in singles} == set(ids)
    assigned = sum(1 for batch in results[:4] for _, r in batch if r.outcome == "assigned")  # type: ignore[union-attr]
    assigned += sum(1 for _, r in singles if r.outcome == "assigned")  # type: ignore[union-attr]
    assert 20 <= assigned <= 25
    # and every agent's load is what they hold, never over capacity
    loads = await _loads(db)
    for agent_id, (load, holding) in loads.items():
        assert load == holding <= 3, agent_id
    assert sum(load for load, _ in loads.values()) == assigned + 5
    assert [await _events(db, i, "assign", source="triaged") + await _events(db, i, "queue", source="triaged")
            for i in ids] == [1] * 80
    assert [i for i in ids if i in rerouted] == [i for i in ids if await _events(db, i, "assign", source="queued")]
