"""The state machine and guarded updates, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage import tickets as store
from storage.agents import get_agent, put_agent
from storage.errors import AlreadyClaimed, AtCapacity, IllegalTransition, NotFound, NotHolder
from storage.models import TicketEvent
from storage.states import TRANSITIONS, Action, TicketStatus, target


def test_every_documented_edge_is_in_the_table():
    # DESIGN.md section 3, edge by edge
    edges = {(str(s), str(to)) for sources, to in TRANSITIONS.values() for s in sources}
    expected = {
        ("received", "triaged"), ("triaged", "assigned"), ("triaged", "queued"), ("queued", "assigned"),
        ("assigned", "claimed"), ("queued", "claimed"), ("claimed", "completed"),
        ("assigned", "resolved"), ("queued", "resolved"), ("claimed", "resolved"), ("completed", "resolved"),
        ("completed", "queued"), ("resolved", "queued"),
    }
    assert expected <= edges


def test_target_names_the_conflict():
    with pytest.raises(AlreadyClaimed) as info:
        target(Action.CLAIM, "claimed", holder="ana")
    assert info.value.details["claimed_by"] == "ana"
    with pytest.raises(IllegalTransition):
        target(Action.COMPLETE, "queued")


async def _ticket_at(db, status: str, agent: str | None = None):
    ticket, _ = await store.create_ticket(db, store.NewTicket(subject="s", body="b"))
    await store.act(db, ticket.id, Action.TRIAGE, values={"category": "Billing", "urgency": 0.5})
    if status == "queued":
        await store.act(db, ticket.id, Action.QUEUE)
    elif status == "assigned":
        await store.act(db, ticket.id, Action.ASSIGN, agent_id=agent)
    return ticket.id


async def test_claim_complete_frees_capacity_and_records_events(db):
    # Given an agent with capacity 1 and a ticket assigned to them
    await put_agent(db, "ana", {"name": "Ana", "capacity": 1})
    ticket_id = await _ticket_at(db, "assigned", "ana")
    assert (await get_agent(db, "ana")).load == 1
    # When they claim and complete it
    await store.act(db, ticket_id, Action.CLAIM, agent_id="ana")
    assert (await get_agent(db, "ana")).load == 1
    outcome = await store.act(db, ticket_id, Action.COMPLETE, agent_id="ana")
    # Then capacity is back and every step is in the audit trail
    assert outcome.ticket.status == "completed"
    assert outcome.freed_agent == "ana"
    assert (await get_agent(db, "ana")).load == 0
    kinds = [e.type for e in await store.events(db, ticket_id)]
    assert kinds == ["created", "triage", "assign", "claim", "complete"]


async def test_claiming_someone_elses_assignment_moves_capacity(db):
    await put_agent(db, "ana", {"name": "Ana", "capacity": 2})
    await put_agent(db, "ben", {"name": "Ben", "capacity": 2})
    ticket_id = await _ticket_at(db, "assigned", "ana")
    await store.act(db, ticket_id, Action.CLAIM, agent_id="ben")
    assert (await get_agent(db, "ana")).load == 0
    assert (await get_agent(db, "ben")).load == 1


async def test_claim_at_capacity_is_refused_and_changes_nothing(db):
    await put_agent(db, "ana", {"name": "Ana", "capacity": 0})
    ticket_id = await _ticket_at(db, "queued")
    with pytest.raises(AtCapacity):
        await store.act(db, ticket_id, Action.CLAIM, agent_id="ana")
    ticket = await store.get_ticket(db, ticket_id)
    assert ticket.status == "queued" and ticket.assignee_id is None
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.type == "claim")) == 0


async def test_only_the_claimer_completes(db):
    await put_agent(db, "ana", {"name": "Ana"})
    await put_agent(db, "ben", {"name": "Ben"})
    ticket_id = await _ticket_at(db, "queued")
    await store.act(db, ticket_id, Action.CLAIM, agent_id="ana")
    with pytest.raises(NotHolder):
        await store.act(db, ticket_id, Action.COMPLETE, agent_id="ben")


async def test_resolve_and_reopen(db):
    await put_agent(db, "ana", {"name": "Ana"})
    ticket_id = await _ticket_at(db, "assigned", "ana")
    await store.act(db, ticket_id, Action.RESOLVE, agent_id="ana", note="fixed")
    assert (await get_agent(db, "ana")).load == 0
    outcome = await store.act(db, ticket_id, Action.REOPEN, agent_id="ana")
    assert outcome.ticket.status == TicketStatus.QUEUED and outcome.ticket.assignee_id is None
    with pytest.raises(IllegalTransition):
        await store.act(db, ticket_id, Action.COMPLETE, agent_id="ana")


async def test_unknown_ids(db):
    with pytest.raises(NotFound):
        await store.act(db, "T-NOPE", Action.CLAIM, agent_id="x")
    ticket_id = await _ticket_at(db, "queued")
    with pytest.raises(NotFound):
        await store.act(db, ticket_id, Action.CLAIM, agent_id="nobody")


async def test_idempotent_create_returns_the_first(db):
    idem = store.Idempotency(scope="api", key="k1", fingerprint="f")
    first, created = await store.create_ticket(db, store.NewTicket(subject="a", body="b"), idempotency=idem)
    again, created_again = await store.create_ticket(db, store.NewTicket(subject="a", body="b"), idempotency=idem)
    assert created and not created_again and first.id == again.id


async def test_list_pages_with_cursor(db):
    for i in range(5):
        await store.create_ticket(db, store.NewTicket(subject=f"s{i}", body="b"))
    page1, cursor = await store.list_tickets(db, limit=2)
    page2, cursor2 = await store.list_tickets(db, limit=2, cursor=cursor)
    page3, cursor3 = await store.list_tickets(db, limit=2, cursor=cursor2)
    ids = [t.id for t in page1 + page2 + page3]
    assert len(ids) == 5 == len(set(ids)) and cursor3 is None
