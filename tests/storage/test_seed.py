"""Synthetic data: a varied roster, customers and tickets; the same seed gives the same data."""

from __future__ import annotations

import random
import subprocess
import sys

from sqlalchemy import func, select

from storage.models import Agent, Customer, Ticket
from storage.seed import CATEGORIES, TEMPLATES, agent_rows, seed, ticket_of


async def test_seed_writes_a_varied_roster_and_received_tickets(db):
    # When a small world is seeded
    done = await seed(db, agents=12, customers=40, tickets=300, seed_value=3)
    assert (done.agents, done.customers, done.tickets) == (12, 40, 300)
    async with db.read() as s:
        agents = list(await s.scalars(select(Agent)))
        tickets = list(await s.scalars(select(Ticket)))
        vip = await s.scalar(select(func.count()).select_from(Customer).where(Customer.tier == "vip"))
    # Then agents differ in skills, languages, tiers; every one can work
    assert len({tuple(a.skills) for a in agents}) > 6
    assert {"junior", "senior"} <= {a.tier for a in agents} or len(agents) < 4
    assert all(a.capacity > 0 and a.languages and a.load == 0 for a in agents)
    # And tickets wait for triage, spread over channels, languages and requesters
    assert {t.status for t in tickets} == {"received"}
    assert len({t.channel for t in tickets}) >= 4
    assert len({t.language for t in tickets if t.language}) >= 3
    assert sum(1 for t in tickets if t.requester_id) > 150
    assert sum(1 for t in tickets if t.body.startswith(("URGENT", "Production", "We are", "ASAP", "DRINGEND",
                                                         "Alles", "Tout", "URGENTE", "¡Todo"))) > 20
    assert vip and vip < 40


async def test_a_rerun_refreshes_the_roster_instead_of_duplicating_it(db):
    await seed(db, agents=5, customers=5, seed_value=1)
    await seed(db, agents=5, customers=5, seed_value=2)
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Agent)) == 5
        assert await s.scalar(select(func.count()).select_from(Customer)) == 5


def test_the_same_seed_is_the_same_data():
    assert agent_rows(random.Random(9), 5) == agent_rows(random.Random(9), 5)
    a, b = random.Random(4), random.Random(4)
    assert [ticket_of(a, []) for _ in range(20)] == [ticket_of(b, []) for _ in range(20)]


def test_every_category_has_english_templates():
    assert set(TEMPLATES) == set(CATEGORIES)
    assert all("en" in by_language for by_language in TEMPLATES.values())


def test_categories_match_triage():
    from ml import CATEGORIES as TRIAGE_CATEGORIES

    assert set(CATEGORIES) == set(TRIAGE_CATEGORIES)


def test_command_line(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/seed.db"
    out = subprocess.run([sys.executable, "-m", "storage", "--database-url", url, "seed", "--agents", "3",
                          "--customers", "4", "--tickets", "25"], capture_output=True, text=True, check=True)
    assert "seeded 3 agents, 4 customers, 25 received tickets" in out.stdout
