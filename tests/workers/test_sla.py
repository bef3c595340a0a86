"""SLA timers with a test clock: reminder, escalation and auto-unclaim fire once, on time, across restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from storage import sla as timers
from storage.db import Database
from storage.models import Ticket
from tests.conftest import add_agents
from workers.escalation import check_once
from workers.runtime import Runtime
from workers.sla import DEFAULT_TIERS, due_at, longest_lead, parse_tiers, remind_at

SECOND = timedelta(seconds=1)
TEAM = {
    "jo": {"name": "Jo", "skills": ["Billing"], "capacity": 3, "tier": "junior"},
    "max": {"name": "Max", "skills": ["Billing"], "capacity": 3, "tier": "senior"},
}


# --- pure timing -------------------------------------------------------------------------------


@pytest.mark.parametrize(("urgency", "minutes"), [(0.95, 15), (0.81, 15), (0.8, 120), (0.6, 120), (0.5, 1440), (0.0, 1440)])
def test_default_tiers(urgency, minutes):
    created = datetime(2026, 1, 1, tzinfo=UTC)
    assert due_at(created, urgency) == created + timedelta(minutes=minutes)


def test_parse_tiers_sorts_and_adds_a_floor():
    assert parse_tiers("0.8:15,0.5:120,*:1440") == DEFAULT_TIERS
    assert parse_tiers("0.5:60, 0.9:5") == ((0.9, 5), (0.5, 60), (-1.0, 60))
    for bad in ("", "0.8", "x:5", "0.5:0"):
        with pytest.raises(ValueError):
            parse_tiers(bad)


def test_reminder_comes_when_the_lead_share_of_the_window_is_left():
    created = datetime(2026, 1, 1, tzinfo=UTC)
    assert remind_at(created, created + timedelta(minutes=15), 0.2) == created + timedelta(minutes=12)
    assert longest_lead(DEFAULT_TIERS, 0.25) == timedelta(hours=6)


# --- the periodic check against the database ---------------------------------------------------


async def new_ticket(app, body: str = "question about my invoice", **fields) -> dict:
    ticket_id = (await (await app.post("/v1/tickets", {"body": body, **fields})).json())["id"]
    await app.drain()
    return await (await app.client.get(f"/v1/tickets/{ticket_id}")).json()


def stamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


def restarted(app) -> Runtime:
    """A fresh runtime on the same database, as a restarted worker would build (no memory kept)."""
    rt = app.services.runtime
    return Runtime(settings=rt.settings, db=Database(rt.settings.database_url), triage=rt.triage,
                   notifiers=rt.notifiers)


async def event_types(app, ticket_id: str) -> list[str]:
    events = (await (await app.client.get(f"/v1/tickets/{ticket_id}/events")).json())["events"]
    return [e["type"] for e in events]


async def test_reminder_then_escalation_fire_once_each_on_time_and_survive_a_restart(app):
    # Given two billing agents and a routine ticket assigned to the junior
    await add_agents(app, TEAM)
    ticket = await new_ticket(app)
    assert ticket["assignee"] == "jo"
    rt = app.services.runtime
    created, due = stamp(ticket["created_at"]), stamp(ticket["due_at"])
    remind = remind_at(created, due, rt.settings.sla_reminder_lead)
    # When the clock is just before the reminder / Then nothing fires
    assert not await check_once(rt, now=remind - SECOND)
    # When it passes the reminder time / Then the reminder fires once
    assert (await check_once(rt, now=remind + SECOND)).reminded == [ticket["id"]]
    assert not await check_once(rt, now=remind + 2 * SECOND)
    # And a restarted worker remembers it (the state is in the database)
    fresh = restarted(app)
    try:
        assert not await check_once(fresh, now=remind + 3 * SECOND)
        assert not await check_once(fresh, now=due - SECOND)
        # When the due time passes / Then it escalates once, to the senior
        report = await check_once(fresh, now=due + SECOND)
        assert report.escalated == [ticket["id"]] and report.reassigned == {ticket["id"]: "max"}
        assert not await check_once(fresh, now=due + 2 * SECOND)
    finally:
        await fresh.db.dispose()
    assert not await check_once(rt, now=due + timedelta(hours=1))
    # Then the audit trail, the activity feed and chat each heard it once
    types = await event_types(app, ticket["id"])
    assert types.count("sla_reminder") == 1 and types.count("sla_escalated") == 1 and "reassign" in types
    activity = (await (await app.client.get("/v1/activity?limit=50")).json())["events"]
    escalated = [e for e in activity if e["type"] == "sla_escalated"]
    assert len(escalated) == 1 and escalated[0]["data"]["assignee"] == "jo"
    await app.drain()
    kinds = [kind for tid, kind in app.notifier.calls if tid == ticket["id"]]
    assert kinds.count("sla_reminder") == 1 and kinds.count("sla_escalated") == 1
    # And the capacity moved with the ticket
    agents = {a["id"]: a["load"] for a in (await (await app.client.get("/v1/agents")).json())["items"]}
    assert agents == {"jo": 0, "max": 1}
    assert (await (await app.client.get(f"/v1/tickets/{ticket['id']}")).json())["assignee"] == "max"


async def test_two_checkers_at_the_same_instant_fire_once(app):
    await add_agents(app, TEAM)
    ticket = await new_ticket(app)
    due = stamp(ticket["due_at"])
    other = restarted(app)
    try:
        reports = await asyncio.gather(check_once(app.services.runtime, now=due + SECOND),
                                       check_once(other, now=due + SECOND))
    finally:
        await other.db.dispose()
    assert sum(len(r.escalated) for r in reports) == 1
    assert (await event_types(app, ticket["id"])).count("sla_escalated") == 1


async def test_a_ticket_first_seen_past_due_is_escalated_without_a_late_reminder(app):
    await add_agents(app, TEAM)
    ticket = await new_ticket(app)
    report = await check_once(app.services.runtime, now=stamp(ticket["due_at"]) + timedelta(minutes=5))
    assert report.escalated == [ticket["id"]] and report.reminded == []


async def test_escalating_a_claimed_ticket_tells_the_lead_and_takes_nothing_away(app):
    await add_agents(app, TEAM)
    ticket = await new_ticket(app, sla_minutes=30)  # due well before the claim could count as idle
    await app.post(f"/v1/tickets/{ticket['id']}/claim", {"agent_id": "jo"})
    rt = app.services.runtime
    report = await check_once(rt, now=stamp(ticket["due_at"]) + SECOND)
    assert report.escalated == [ticket["id"]] and report.reassigned == {}
    now = await (await app.client.get(f"/v1/tickets/{ticket['id']}")).json()
    assert now["status"] == "claimed" and now["assignee"] == "jo"


async def test_auto_unclaim_hands_an_idle_claim_to_the_next_agent_once(app):
    # Given a ticket claimed by Jo
    await add_agents(app, TEAM)
    ticket = await new_ticket(app)
    claimed = await (await app.post(f"/v1/tickets/{ticket['id']}/claim", {"agent_id": "jo"})).json()
    rt = app.services.runtime
    idle_until = stamp(claimed["updated_at"]) + timedelta(seconds=rt.settings.auto_unclaim_after)
    # When Jo does nothing, just short of the limit / Then it stays
    assert not (await check_once(rt, now=idle_until - SECOND)).unclaimed
    # When the limit passes / Then it is handed back once and given to the other agent
    report = await check_once(rt, now=idle_until + SECOND)
    assert report.unclaimed == [ticket["id"]] and report.reassigned == {ticket["id"]: "max"}
    fresh = restarted(app)
    try:
        assert not (await check_once(fresh, now=idle_until + 2 * SECOND)).unclaimed
    finally:
        await fresh.db.dispose()
    now = await (await app.client.get(f"/v1/tickets/{ticket['id']}")).json()
    assert now["status"] == "assigned" and now["assignee"] == "max"
    types = await event_types(app, ticket["id"])
    assert types.count("auto_unclaimed") == 1
    agents = {a["id"]: a["load"] for a in (await (await app.client.get("/v1/agents")).json())["items"]}
    assert agents == {"jo": 0, "max": 1}
    await app.drain()
    assert (ticket["id"], "auto_unclaimed") in app.notifier.calls


async def test_activity_keeps_a_claim(app):
    await add_agents(app, TEAM)
    ticket = await new_ticket(app)
    await app.post(f"/v1/tickets/{ticket['id']}/claim", {"agent_id": "jo"})
    rt = app.services.runtime
    after = timedelta(seconds=rt.settings.auto_unclaim_after)
    # When Jo edits the ticket later (activity), the idle time counts from then
    edited = await (await app.client.patch(f"/v1/tickets/{ticket['id']}", json={"tags": ["x"]})).json()
    real_edit = stamp(edited["updated_at"])
    async with rt.db.write() as session:  # move the edit forward on the test clock
        row = await session.get(Ticket, ticket["id"])
        row.updated_at = real_edit + timedelta(hours=1)
    assert not (await check_once(rt, now=real_edit + after + SECOND)).unclaimed
    assert (await check_once(rt, now=real_edit + timedelta(hours=1) + after + SECOND)).unclaimed == [ticket["id"]]


async def test_snooze_holds_reminders_and_a_sent_one_comes_again_after_it(app):
    await add_agents(app, TEAM)
    ticket = await new_ticket(app)
    rt = app.services.runtime
    created, due = stamp(ticket["created_at"]), stamp(ticket["due_at"])
    remind = remind_at(created, due, rt.settings.sla_reminder_lead)
    # Given a snooze that covers the reminder time
    await timers.snooze(rt.db, ticket["id"], until=remind + timedelta(minutes=30), actor="jo", now=remind - SECOND)
    assert not (await check_once(rt, now=remind + SECOND)).reminded
    # Then the reminder comes when the snooze ends
    assert (await check_once(rt, now=remind + timedelta(minutes=30, seconds=1))).reminded == [ticket["id"]]
    # And snoozing after a reminder brings it back once the snooze is over
    await timers.snooze(rt.db, ticket["id"], until=remind + timedelta(hours=1), actor="jo",
                        now=remind + timedelta(minutes=31))
    assert not (await check_once(rt, now=remind + timedelta(minutes=59))).reminded
    assert (await check_once(rt, now=remind + timedelta(hours=1, seconds=1))).reminded == [ticket["id"]]
    # But a snooze never holds the escalation
    await timers.snooze(rt.db, ticket["id"], until=due + timedelta(days=1), actor="jo", now=due - SECOND)
    assert (await check_once(rt, now=due + SECOND)).escalated == [ticket["id"]]
    assert (await event_types(app, ticket["id"])).count("sla_reminder") == 2


async def test_snooze_endpoint(app):
    await add_agents(app, TEAM)
    ticket = await new_ticket(app)
    r = await app.post(f"/v1/tickets/{ticket['id']}/snooze", {"minutes": 30, "agent_id": "jo"})
    assert r.status == 200, await r.text()
    body = await r.json()
    until = stamp(body["sla"]["snoozed_until"])
    assert timedelta(minutes=29) < until - datetime.now(UTC) <= timedelta(minutes=30)
    assert "sla_snoozed" in await event_types(app, ticket["id"])
    assert (await app.post(f"/v1/tickets/{ticket['id']}/snooze", {"minutes": 0})).status == 422
    assert (await app.post("/v1/tickets/T-NOPE/snooze", {"minutes": 5})).status == 404
    await app.post(f"/v1/tickets/{ticket['id']}/resolve", {"agent_id": "jo"})
    r = await app.post(f"/v1/tickets/{ticket['id']}/snooze", {"minutes": 5})
    assert r.status == 409 and (await r.json())["error"]["code"] == "no_sla_timer"


async def test_done_tickets_have_no_timers(app):
    await add_agents(app, TEAM)
    ticket = await new_ticket(app)
    await app.post(f"/v1/tickets/{ticket['id']}/resolve", {"agent_id": "jo"})
    assert not await check_once(app.services.runtime, now=stamp(ticket["due_at"]) + timedelta(days=2))


async def test_ripe_reminders_are_found_behind_many_that_are_not(app, monkeypatch):
    from workers import escalation

    monkeypatch.setattr(escalation, "PAGE", 2)
    await add_agents(app, TEAM)
    # Given three fresh 15-minute tickets (not ripe yet) and an old day-long one due after them (ripe)
    fast = [await new_ticket(app, sla_minutes=15) for _ in range(3)]
    slow = await new_ticket(app)
    now = stamp(fast[-1]["created_at"]) + timedelta(minutes=1)
    async with app.services.runtime.db.write() as session:
        row = await session.get(Ticket, slow["id"])
        row.created_at, row.due_at = now - timedelta(hours=23), now + timedelta(hours=1)
    # When the check runs, one page holding only unripe ones / Then the ripe one is still found
    assert (await check_once(app.services.runtime, now=now)).reminded == [slow["id"]]
