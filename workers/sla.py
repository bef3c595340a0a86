"""SLA timing as pure functions: due times from urgency tiers, and when a reminder is due."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

Tiers = tuple[tuple[float, int], ...]

# (urgency strictly above, minutes to respond), most urgent first.
DEFAULT_TIERS: Tiers = ((0.8, 15), (0.5, 120), (-1.0, 24 * 60))


def due_at(created: datetime, urgency: float, *, sla_minutes: int | None = None,
           tiers: Tiers = DEFAULT_TIERS) -> datetime:
    """When a ticket is due: the requester's own SLA if given, else the tier its urgency falls in."""
    if sla_minutes is not None:
        return created + timedelta(minutes=sla_minutes)
    for above, minutes in tiers:
        if urgency > above:
            return created + timedelta(minutes=minutes)
    return created + timedelta(minutes=tiers[-1][1])


@functools.lru_cache(maxsize=8)
def parse_tiers(text: str) -> Tiers:
    """`"0.8:15,0.5:120,*:1440"` -> ((0.8, 15), (0.5, 120), (-1.0, 1440)); ValueError when malformed."""
    tiers: list[tuple[float, int]] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        above, sep, minutes = part.partition(":")
        if not sep:
            raise ValueError(f"SLA tier {part!r}: write <urgency above>:<minutes>, e.g. 0.8:15")
        threshold = -1.0 if above.strip() == "*" else float(above)
        if int(minutes) <= 0:
            raise ValueError(f"SLA tier {part!r}: minutes must be positive")
        tiers.append((threshold, int(minutes)))
    if not tiers:
        raise ValueError("SLA tiers are empty")
    tiers.sort(key=lambda tier: -tier[0])
    if tiers[-1][0] >= 0.0:
        tiers.append((-1.0, tiers[-1][1]))  # everything below the last threshold gets the last window
    return tuple(tiers)


def remind_at(created: datetime, due: datetime, lead: float) -> datetime:
    """The moment a reminder is due: when `lead` (a share) of the window from creation to due is left."""
    return due - (due - created) * lead


def longest_lead(tiers: Tiers, lead: float) -> timedelta:
    """How far before its due time any tier's reminder comes (bounds the reminder query)."""
    return timedelta(minutes=max(minutes for _, minutes in tiers) * lead)
