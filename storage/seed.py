"""Synthetic data for demos and benchmarks: a roster, customers and a stream of received tickets.

`python -m storage seed --agents 20 --customers 200 --tickets 1000 [--seed 7]`. Agents and
customers are upserted by id (a rerun refreshes them); tickets are added as `received`, so a
running intake's sweeper triages and routes them like any other. The same seed gives the same data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from storage.db import Database
from storage.models import Agent, Customer, utcnow
from storage.tickets import NewTicket, create_many

# The categories triage knows (ml.CATEGORIES; spelled here so storage imports nothing of ours).
CATEGORIES = ("Billing", "Technical", "Account", "Shipping/Orders", "Legal", "Feature request", "Other")
TOPICS = {
    "Billing": ["refunds", "invoices", "subscriptions", "payments"],
    "Technical": ["api", "mobile", "integrations", "performance"],
    "Account": ["sso", "login", "permissions", "gdpr"],
    "Shipping/Orders": ["delivery", "returns", "tracking"],
    "Legal": ["contracts", "gdpr", "compliance"],
    "Feature request": ["reporting", "integrations", "ui"],
    "Other": [],
}
LANGUAGES = [("en", 0.62), ("de", 0.12), ("fr", 0.1), ("es", 0.1), ("pt", 0.03), ("ja", 0.03)]
CHANNELS = [("api", 0.35), ("slack", 0.25), ("webhook", 0.2), ("discord", 0.1), ("conversation", 0.1)]
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Esra", "Femi", "Greta", "Hiro", "Inés", "Jonas", "Kaia", "Lars",
         "Maya", "Nikhil", "Olu", "Priya", "Quentin", "Rosa", "Sven", "Tomás", "Uma", "Viktor", "Wen", "Yara"]
LAST = ["Almeida", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hansen", "Ito", "Jansen",
        "Kowalski", "López", "Müller", "Nakamura", "Okafor", "Petrov", "Rossi", "Schmidt", "Tanaka", "Weber"]
COMPANY = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Cyberdyne",
           "Soylent", "Wonka", "Gringotts", "Oscorp", "Aperture", "Black Mesa", "Massive Dynamic", "Pied Piper"]
SUFFIX = ["GmbH", "Ltd", "Inc", "SA", "BV", "AB", "Co"]

# (subject, body) per category and language; {n} is an order/invoice number, {d} a number of days.
TEMPLATES: dict[str, dict[str, list[tuple[str, str]]]] = {
    "Billing": {
        "en": [("Charged twice", "I was charged twice for invoice {n}. Please refund the duplicate payment."),
               ("Wrong invoice amount", "Invoice {n} bills 12 seats but we only have 10."),
               ("Refund still missing", "The refund you promised {d} days ago has not arrived.")],
        "de": [("Doppelt abgebucht", "Die Rechnung {n} wurde zweimal abgebucht. Bitte erstatten Sie den Betrag.")],
        "fr": [("Facture erronée", "La facture {n} est incorrecte, nous avons été débités deux fois.")],
        "es": [("Cobro duplicado", "Me cobraron dos veces la factura {n}. Necesito el reembolso.")],
    },
    "Technical": {
        "en": [("API returns 500", "Since this morning every call to /orders returns HTTP 500."),
               ("App crashes on start", "The mobile app crashes right after the splash screen on Android."),
               ("Slow dashboard", "The dashboard takes {d} seconds to load for our team.")],
        "de": [("Fehler beim Login", "Die App stürzt ab, sobald ich mich anmelde. Fehlercode {n}.")],
        "fr": [("Erreur 500", "L'API renvoie une erreur 500 depuis ce matin sur toutes les requêtes.")],
        "ja": [("アプリが起動しない", "アプリが起動直後にクラッシュします。注文番号 {n}。")],
    },
    "Account": {
        "en": [("Cannot log in", "I cannot log in since the password reset; SSO says my account is locked."),
               ("Delete my data", "Please delete my account and all personal data under GDPR."),
               ("Add a teammate", "How do I give a new teammate admin permissions?")],
        "es": [("No puedo entrar", "No puedo iniciar sesión desde ayer, mi cuenta está bloqueada.")],
        "pt": [("Conta bloqueada", "Minha conta foi bloqueada depois de trocar a senha.")],
    },
    "Shipping/Orders": {
        "en": [("Parcel lost", "Order {n} has not moved in tracking for {d} days."),
               ("Wrong item", "I received the wrong item in order {n}; how do I return it?")],
        "de": [("Paket fehlt", "Meine Bestellung {n} ist seit {d} Tagen nicht angekommen.")],
        "fr": [("Colis perdu", "Ma commande {n} n'est toujours pas arrivée après {d} jours.")],
    },
    "Legal": {
        "en": [("Contract breach", "Your outage breaches our SLA contract; our lawyer will be in touch."),
               ("DPA request", "Please send the signed data processing agreement for our compliance audit.")],
        "de": [("Vertragsverletzung", "Wir prüfen rechtliche Schritte wegen der Vertragsverletzung.")],
    },
    "Feature request": {
        "en": [("Dark mode", "It would be great to have a dark mode in the web app."),
               ("Export to CSV", "Please add a CSV export to the reports page.")],
        "fr": [("Export CSV", "Pourriez-vous ajouter un export CSV des rapports ?")],
    },
    "Other": {
        "en": [("Question", "Who should I talk to about a partnership?"),
               ("Thanks", "Just wanted to say the support last week was great.")],
    },
}
URGENT = {
    "en": ["URGENT: ", "Production is down! ", "We are losing money every minute. ", "ASAP please: "],
    "de": ["DRINGEND: ", "Alles steht still! "],
    "fr": ["URGENT : ", "Tout est bloqué ! "],
    "es": ["URGENTE: ", "¡Todo está caído! "],
}
CATEGORY_WEIGHTS = [0.28, 0.27, 0.16, 0.12, 0.05, 0.08, 0.04]


@dataclass(frozen=True, slots=True)
class Seeded:
    agents: int
    customers: int
    tickets: int


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def agent_rows(rng: random.Random, count: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(1, count + 1):
        categories = rng.sample(CATEGORIES[:6], k=rng.choice([1, 1, 2, 2, 3]))
        topics = [t for c in categories for t in TOPICS[c] if rng.random() < 0.35]
        languages = ["en"] if rng.random() < 0.85 else []
        languages += [code for code, _ in LANGUAGES[1:] if rng.random() < 0.15 and code not in languages]
        rows.append({
            "id": f"agent-{i:03d}",
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "skills": categories + topics,
            "languages": languages or [_pick(rng, LANGUAGES)],
            "capacity": rng.randint(3, 8),
            "clearance": rng.random() < 0.2 or "Legal" in categories,
            "tier": "senior" if rng.random() < 0.25 else "junior",
            "rate": float(rng.randrange(20, 95, 5)),
        })
    return rows


def customer_rows(rng: random.Random, count: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(1, count + 1):
        company = f"{rng.choice(COMPANY)} {rng.choice(SUFFIX)}"
        slug = company.lower().replace(" ", "")
        rows.append({"id": f"cust-{i:04d}", "name": company, "email": f"support@{slug}{i}.example",
                     "tier": "vip" if rng.random() < 0.1 else "standard", "language": _pick(rng, LANGUAGES)})
    return rows


def ticket_of(rng: random.Random, customers: list[dict[str, Any]]) -> NewTicket:
    category = rng.choices(CATEGORIES, weights=CATEGORY_WEIGHTS)[0]
    customer = rng.choice(customers) if customers and rng.random() < 0.7 else None
    by_language = TEMPLATES[category]
    wanted = customer["language"] if customer else _pick(rng, LANGUAGES)
    language = wanted if wanted in by_language else "en"
    subject, body = rng.choice(by_language[language])
    values = {"n": rng.randint(10_000, 99_999), "d": rng.randint(2, 20)}
    subject, body = subject.format(**values), body.format(**values)
    if rng.random() < 0.18:  # about one in six is urgent
        body = rng.choice(URGENT.get(language, URGENT["en"])) + body
    topics = [t for t in TOPICS[category] if rng.random() < 0.2]
    return NewTicket(
        subject=subject,
        body=body,
        channel=_pick(rng, CHANNELS),
        requester_id=customer["id"] if customer else None,
        requester_name=customer["name"] if customer else f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        requester_email=customer["email"] if customer else None,
        language=language if rng.random() < 0.5 else None,  # else triage detects it
        topics=topics,
        sensitive=category in ("Legal", "Account") and rng.random() < 0.3,
        budget=float(rng.randrange(30, 100, 10)) if rng.random() < 0.15 else None,
        sla_minutes=rng.choice([30, 60, 240]) if rng.random() < 0.1 else None,
        metadata={"seeded": True},
        actor=customer["id"] if customer else None,
    )


async def _upsert(db: Database, model: type[Agent] | type[Customer], rows: list[dict[str, Any]]) -> None:
    now = utcnow()
    async with db.write() as session:
        for row in rows:
            existing: Agent | Customer | None = await session.get(model, row["id"])
            if existing is None:
                session.add(model(**row, created_at=now, updated_at=now,
                                  **({"load": 0} if model is Agent else {})))
                continue
            for name, value in row.items():
                setattr(existing, name, value)
            existing.updated_at = now


async def seed(db: Database, *, agents: int = 0, customers: int = 0, tickets: int = 0,
               seed_value: int = 7, chunk: int = 500) -> Seeded:
    """Write the synthetic roster, customers and tickets; counts of each written."""
    rng = random.Random(seed_value)
    agent_list = agent_rows(rng, agents)
    customer_list = customer_rows(rng, customers)
    if agent_list:
        await _upsert(db, Agent, agent_list)
    if customer_list:
        await _upsert(db, Customer, customer_list)
    written = 0
    while written < tickets:
        batch = [ticket_of(rng, customer_list) for _ in range(min(chunk, tickets - written))]
        written += len(await create_many(db, batch))
    return Seeded(len(agent_list), len(customer_list), written)
