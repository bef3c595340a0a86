"""Routing policy: table-driven tests of the pure functions, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workers.routing import AgentProfile, Need, best_ticket_for, decide, qualifies


def agent(id: str, *, skills=("billing",), languages=("en",), capacity=3, load=0, clearance=False,
          tier="junior", rate=None, active=True, last=None) -> AgentProfile:
    return AgentProfile(id=id, skills=frozenset(skills), languages=frozenset(languages), capacity=capacity,
                        load=load, clearance=clearance, tier=tier, rate=rate, active=active, last_assigned_at=last)


@pytest.mark.parametrize(
    ("profile", "need", "fits"),
    [
        (agent("a"), Need(category="Billing", language="en"), True),
        (agent("a"), Need(category="Billing", language="de"), False),
        (agent("a"), Need(category="Technical"), False),
        (agent("a"), Need(category="Other"), True),
        (agent("a"), Need(category="Billing", sensitive=True), False),
        (agent("a", clearance=True), Need(category="Billing", sensitive=True), True),
        (agent("a", rate=50), Need(category="Billing", budget=40), False),
        (agent("a", rate=30), Need(category="Billing", budget=40), True),
        (agent("a", active=False), Need(category="Billing"), False),
        (agent("a", skills=("refunds",)), Need(category="Legal", topics=("refunds",)), True),
    ],
)
def test_qualifies(profile, need, fits):
    # Given an agent and a ticket's needs / When we ask / Then eligibility ignores capacity only
    assert (qualifies(profile, need) is not None) is fits


def test_decide_prefers_senior_for_urgent_and_explains():
    # Given a junior and a senior who both fit
    agents = [agent("jun"), agent("sen", tier="senior")]
    # When an urgent ticket comes
    decision = decide(agents, Need(category="Billing", language="en", urgency=0.9))
    # Then the senior wins and the reason says why
    assert decision.outcome == "assigned"
    assert decision.best.agent_id == "sen"
    assert "senior for urgent/VIP" in decision.best.reason
    assert "skills: billing" in decision.best.reason


def test_decide_routine_goes_to_junior():
    agents = [agent("jun"), agent("sen", tier="senior")]
    assert decide(agents, Need(category="Billing", urgency=0.1)).best.agent_id == "jun"


def test_full_agents_mean_queued_and_nobody_means_no_candidates():
    assert decide([agent("a", load=3)], Need(category="Billing")).outcome == "queued"
    decision = decide([agent("a")], Need(category="Billing", language="ja"))
    assert decision.outcome == "no_candidates"
    assert "language ja" in decision.reason[0]


def test_fairness_breaks_ties_least_recently_assigned_first():
    now = datetime.now(UTC)
    agents = [agent("recent", last=now), agent("idle", last=now - timedelta(hours=1))]
    decision = decide(agents, Need(category="Billing"))
    assert decision.best.agent_id == "idle"
    assert "least recently assigned" in decision.best.reason


def test_spare_capacity_counts():
    agents = [agent("busy", load=2), agent("free", load=0)]
    assert decide(agents, Need(category="Billing")).best.agent_id == "free"


def test_best_ticket_for_takes_first_it_may():
    tickets = [("t1", Need(category="Technical")), ("t2", Need(category="Billing")), ("t3", Need(category="Billing"))]
    assert best_ticket_for(agent("a"), tickets) == "t2"
    assert best_ticket_for(agent("a", languages=("fr",)), [("t", Need(language="de"))]) is None
