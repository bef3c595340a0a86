"""Agents and customers: the directory, and capacity as guarded increments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.errors import AtCapacity, NotFound
from storage.models import Agent, Customer, utcnow

AGENT_FIELDS = (
    "name", "skills", "languages", "capacity", "clearance", "tier", "rate",
    "slack_user_id", "discord_user_id", "active",
)
CUSTOMER_FIELDS = ("name", "email", "tier", "language")


async def get_agent(db: Database, agent_id: str) -> Agent:
    async with db.read() as session:
        agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id} not found", details={"agent_id": agent_id})
    return agent


async def list_agents(db: Database, *, active_only: bool = False) -> list[Agent]:
    stmt = select(Agent).order_by(Agent.id)
    if active_only:
        stmt = stmt.where(Agent.active.is_(True))
    async with db.read() as session:
        return list(await session.scalars(stmt))


async def find_agent_by_platform(db: Database, *, slack_user_id: str | None = None,
                                 discord_user_id: str | None = None) -> Agent | None:
    """The active agent behind a Slack or Discord user, if any."""
    stmt = select(Agent).where(Agent.active.is_(True))
    if slack_user_id is not None:
        stmt = stmt.where(Agent.slack_user_id == slack_user_id)
    elif discord_user_id is not None:
        stmt = stmt.where(Agent.discord_user_id == discord_user_id)
    else:
        return None
    async with db.read() as session:
        return (await session.scalars(stmt.limit(1))).first()


async def put_agent(db: Database, agent_id: str, fields: dict[str, Any]) -> tuple[Agent, bool]:
    """Create or replace an agent (its live load is kept); True when it was created."""
    async with db.write() as session:
        return await _put(session, agent_id, fields)


async def put_agents(db: Database, roster: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """`put_agent` for each (id, fields) of `roster`, in one transaction: all of them or none."""
    async with db.write() as session:
        for agent_id, fields in roster:
            await _put(session, agent_id, fields)


async def _put(session: AsyncSession, agent_id: str, fields: dict[str, Any]) -> tuple[Agent, bool]:
    agent = await session.get(Agent, agent_id)
    created = agent is None
    if agent is None:
        agent = Agent(id=agent_id, load=0)
        session.add(agent)
    for name in AGENT_FIELDS:
        if name in fields:
            setattr(agent, name, fields[name])
    agent.updated_at = utcnow()
    return agent, created


async def patch_agent(db: Database, agent_id: str, fields: dict[str, Any]) -> Agent:
    async with db.write() as session:
        agent = await session.get(Agent, agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} not found", details={"agent_id": agent_id})
        for name, value in fields.items():
            if name in AGENT_FIELDS:
                setattr(agent, name, value)
        agent.updated_at = utcnow()
    return agent


async def count_agents(db: Database) -> int:
    async with db.read() as session:
        return len(list(await session.scalars(select(Agent.id))))


async def adjust_loads(
    session: AsyncSession,
    *,
    reserve: str | None = None,
    release: Iterable[str] = (),
    now: datetime | None = None,
) -> None:
    """Take one unit of `reserve`'s capacity and give back one unit to each of `release`.

    Rows are touched in id order so two transactions never wait on each other in a circle.
    Raises AtCapacity (the caller's transaction then rolls back) when `reserve` is full.
    """
    changes = [(agent_id, -1) for agent_id in release if agent_id and agent_id != reserve]
    if reserve is not None:
        changes.append((reserve, +1))
    for agent_id, delta in sorted(changes):
        if delta > 0:
            result = await session.execute(
                update(Agent)
                .where(Agent.id == agent_id, Agent.active.is_(True), Agent.load < Agent.capacity)
                .values(load=Agent.load + 1, last_assigned_at=now or utcnow())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise AtCapacity(
                    f"agent {agent_id} has no spare capacity", details={"agent_id": agent_id}
                )
        else:
            await session.execute(
                update(Agent)
                .where(Agent.id == agent_id, Agent.load > 0)
                .values(load=Agent.load - 1)
                .execution_options(synchronize_session=False)
            )


async def get_customer(db: Database, customer_id: str) -> Customer:
    async with db.read() as session:
        customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found", details={"customer_id": customer_id})
    return customer


async def find_customer(db: Database, customer_id: str | None) -> Customer | None:
    if not customer_id:
        return None
    async with db.read() as session:
        return await session.get(Customer, customer_id)


async def put_customer(db: Database, customer_id: str, fields: dict[str, Any]) -> tuple[Customer, bool]:
    async with db.write() as session:
        customer = await session.get(Customer, customer_id)
        created = customer is None
        if customer is None:
            customer = Customer(id=customer_id)
            session.add(customer)
        for name in CUSTOMER_FIELDS:
            if name in fields:
                setattr(customer, name, fields[name])
        customer.updated_at = utcnow()
    return customer, created
