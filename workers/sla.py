"""Due times from urgency: the SLA tiers as a pure function."""

from __future__ import annotations

from datetime import datetime, timedelta

# (urgency strictly above, minutes to respond), most urgent first.
DEFAULT_TIERS: tuple[tuple[float, int], ...] = ((0.8, 15), (0.5, 120), (-1.0, 24 * 60))


def due_at(created: datetime, urgency: float, *, sla_minutes: int | None = None,
           tiers: tuple[tuple[float, int], ...] = DEFAULT_TIERS) -> datetime:
    """When a ticket is due: the requester's own SLA if given, else the tier its urgency falls in."""
    if sla_minutes is not None:
        return created + timedelta(minutes=sla_minutes)
    for above, minutes in tiers:
        if urgency > above:
            return created + timedelta(minutes=minutes)
    return created + timedelta(minutes=tiers[-1][1])
