"""Routing policy as pure functions: agents and a ticket's needs in, a decision with its reason out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

GENERAL = frozenset({"other", ""})
SENIOR_URGENCY = 0.6  # from here on, or for a VIP, a senior agent is the better fit

# Weights of the score's parts; they add up to 1.
W_SKILL, W_FIT, W_SPARE = 0.5, 0.25, 0.25


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """What routing needs to know about an agent."""

    id: str
    skills: frozenset[str]
    languages: frozenset[str]
    capacity: int
    load: int
    clearance: bool = False
    tier: str = "junior"
    rate: float | None = None
    active: bool = True
    last_assigned_at: datetime | None = None

    @property
    def spare(self) -> int:
        return max(self.capacity - self.load, 0)


@dataclass(frozen=True, slots=True)
class Need:
    """What a ticket asks of whoever takes it."""

    category: str | None = None
    topics: tuple[str, ...] = ()
    language: str | None = None
    sensitive: bool = False
    budget: float | None = None
    urgency: float = 0.0
    vip: bool = False

    @property
    def skills(self) -> frozenset[str]:
        wanted = {t.strip().lower() for t in (self.category or "", *self.topics)}
        return frozenset(wanted - GENERAL)


@dataclass(frozen=True, slots=True)
class Candidate:
    agent_id: str
    score: float
    reason: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """`assigned` names the best candidate first; `queued` means fit but full; `no_candidates` means nobody fits."""

    outcome: Literal["assigned", "queued", "no_candidates"]
    ranked: tuple[Candidate, ...] = ()
    reason: tuple[str, ...] = field(default_factory=tuple)

    @property
    def best(self) -> Candidate | None:
        return self.ranked[0] if self.ranked else None


def qualifies(agent: AgentProfile, need: Need) -> tuple[str, ...] | None:
    """The reasons `agent` may take the ticket (ignoring capacity), or None if they may not."""
    if not agent.active:
        return None
    reasons: list[str] = []
    if need.language:
        if need.language not in agent.languages:
            return None
        reasons.append(f"speaks {need.language}")
    wanted = need.skills
    if wanted:
        matched = sorted(wanted & agent.skills)
        if not matched:
            return None
        reasons.append("skills: " + ", ".join(matched))
    if need.sensitive:
        if not agent.clearance:
            return None
        reasons.append("has clearance")
    if need.budget is not None and agent.rate is not None:
        if agent.rate > need.budget:
            return None
        reasons.append(f"rate {agent.rate:g} within budget {need.budget:g}")
    return tuple(reasons)


def score(agent: AgentProfile, need: Need) -> tuple[float, tuple[str, ...]]:
    """How well `agent` fits, in [0, 1], with the parts that earned it."""
    wanted = need.skills
    overlap = len(wanted & agent.skills) / len(wanted) if wanted else 1.0
    wants_senior = need.urgency >= SENIOR_URGENCY or need.vip
    is_senior = agent.tier == "senior"
    if wants_senior:
        fit, why = (1.0, "senior for urgent/VIP") if is_senior else (0.0, None)
    else:
        # Keep seniors free for what only they should take.
        fit, why = (1.0, "junior for routine work") if not is_senior else (0.5, None)
    spare = agent.spare / agent.capacity if agent.capacity > 0 else 0.0
    total = W_SKILL * overlap + W_FIT * fit + W_SPARE * spare
    parts = [f"spare {agent.spare}/{agent.capacity}"]
    if why:
        parts.insert(0, why)
    return round(total, 4), tuple(parts)


def _fairness_key(agent: AgentProfile) -> tuple[int, float, str]:
    # Never-assigned first, then the longest idle, then by id so the order is total.
    if agent.last_assigned_at is None:
        return (0, 0.0, agent.id)
    return (1, agent.last_assigned_at.timestamp(), agent.id)


def decide(agents: Iterable[AgentProfile], need: Need) -> Decision:
    """Rank every agent who may and can take the ticket now; best first, fairness breaks ties."""
    eligible: list[tuple[AgentProfile, tuple[str, ...]]] = []
    for agent in agents:
        reasons = qualifies(agent, need)
        if reasons is not None:
            eligible.append((agent, reasons))
    if not eligible:
        return Decision("no_candidates", reason=(_nobody(need),))
    free = [(a, r) for a, r in eligible if a.load < a.capacity]
    if not free:
        return Decision("queued", reason=(f"{len(eligible)} agent(s) fit, all at capacity",))
    scored = []
    for agent, reasons in free:
        value, parts = score(agent, need)
        scored.append((-value, _fairness_key(agent), Candidate(agent.id, value, reasons + parts)))
    scored.sort(key=lambda item: (item[0], item[1]))
    ranked = tuple(candidate for _, _, candidate in scored)
    if len(ranked) > 1 and ranked[0].score == ranked[1].score:
        first = ranked[0]
        ranked = (Candidate(first.agent_id, first.score, first.reason + ("least recently assigned",)),
                  *ranked[1:])
    return Decision("assigned", ranked=ranked, reason=ranked[0].reason)


def _nobody(need: Need) -> str:
    parts = []
    if need.language:
        parts.append(f"language {need.language}")
    if need.skills:
        parts.append("skills " + ", ".join(sorted(need.skills)))
    if need.sensitive:
        parts.append("clearance")
    if need.budget is not None:
        parts.append(f"budget {need.budget:g}")
    return "no active agent has " + (" + ".join(parts) if parts else "the requirements")


def best_ticket_for(agent: AgentProfile, tickets: Sequence[tuple[str, Need]]) -> str | None:
    """The first ticket (callers pass them most urgent first) that `agent` may take."""
    for ticket_id, need in tickets:
        if qualifies(agent, need) is not None:
            return ticket_id
    return None
