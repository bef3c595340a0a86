"""A message's tickets are read together, and a stale read never triages or routes a ticket twice."""

from __future__ import annotations

from sqlalchemy import func, select

from ml import load_service
from storage import tickets as store
from storage.agents import put_customer
from storage.models import TicketEvent
from storage.states import Action, TicketStatus
from tests.conftest import make_settings
from workers import pipeline
from workers.runtime import Runtime


async def _events(db, ticket_id: str, type_: str) -> int:  # type: ignore[no-untyped-def]
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(TicketEvent).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.type == type_)))


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

    # When routing works from tickets read before a person acted on one of them
    assert await pipeline.triage(rt, plain, loaded=waiting[plain])
    read = await pipeline.read_tickets(rt, [vip, plain])
    await store.act(db, plain, Action.QUEUE, actor="someone", channel="api")
    routed = await pipeline.route(rt, plain, ticket=read[plain])
    # Then the stale copy is noticed: no second routing decision is written
    assert not routed.changed
    assert await _events(db, plain, "queue") == 1
