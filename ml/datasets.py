"""Labeled data: building the small committed subsets from shared/data, and reading labeled files.

`python -m ml prepare [SHARED_DATA_DIR]` rewrites ml/data/{bitext,banking77,it_tickets}.csv from the
public sources (sampled with a fixed seed); ml/data/labeled_tickets.csv is hand-labeled and is
never regenerated. Every file has the columns text, category, urgency, sentiment, source, split
(urgency/sentiment empty where the source has none).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ml.result import CATEGORIES

DATA = Path(__file__).with_name("data")
PROTOTYPES = Path(__file__).with_name("prototypes.yaml")
FIELDS = ("text", "category", "urgency", "sentiment", "source", "split")
URGENCY_LEVELS = ("low", "medium", "high", "critical")
HIGH_PRIORITY = frozenset({"high", "critical"})

BITEXT = {
    "ACCOUNT": "Account",
    "ORDER": "Shipping/Orders",
    "DELIVERY": "Shipping/Orders",
    "SHIPPING_ADDRESS": "Shipping/Orders",
    "REFUND": "Billing",
    "INVOICE": "Billing",
    "PAYMENT": "Billing",
    "CANCELLATION_FEE": "Billing",
    "CONTACT": "Other",
    "FEEDBACK": "Other",
    "NEWSLETTER": "Other",
}

# banking77 intents whose meaning maps cleanly onto one of ours; ambiguous ones are left out.
BANKING77 = {
    "Billing": (
        "card_payment_fee_charged",
        "extra_charge_on_statement",
        "transaction_charged_twice",
        "request_refund",
        "Refund_not_showing_up",
        "transfer_fee_charged",
        "top_up_by_card_charge",
        "top_up_by_bank_transfer_charge",
        "cash_withdrawal_charge",
        "exchange_charge",
        "card_payment_wrong_exchange_rate",
        "direct_debit_payment_not_recognised",
        "card_payment_not_recognised",
    ),
    "Account": (
        "passcode_forgotten",
        "pin_blocked",
        "change_pin",
        "edit_personal_details",
        "why_verify_identity",
        "unable_to_verify_identity",
        "verify_my_identity",
        "terminate_account",
        "lost_or_stolen_phone",
    ),
    "Technical": (
        "card_not_working",
        "contactless_not_working",
        "virtual_card_not_working",
        "top_up_failed",
        "declined_card_payment",
        "declined_transfer",
        "failed_transfer",
        "card_swallowed",
        "balance_not_updated_after_bank_transfer",
        "top_up_reverted",
    ),
    "Shipping/Orders": (
        "card_arrival",
        "card_delivery_estimate",
        "order_physical_card",
        "get_physical_card",
        "getting_spare_card",
    ),
    "Other": (
        "exchange_rate",
        "country_support",
        "fiat_currency_support",
        "supported_cards_and_currencies",
        "visa_or_mastercard",
        "atm_support",
        "age_limit",
        "card_acceptance",
    ),
}
# Weak urgency from the intent's meaning (money gone, card stolen, fraud): a prior, not ground truth.
BANKING77_URGENCY = {
    "high": (
        "transaction_charged_twice",
        "card_payment_not_recognised",
        "direct_debit_payment_not_recognised",
        "lost_or_stolen_phone",
        "card_swallowed",
    ),
    "low": (
        "exchange_rate",
        "country_support",
        "fiat_currency_support",
        "supported_cards_and_currencies",
        "visa_or_mastercard",
        "atm_support",
        "age_limit",
        "card_acceptance",
        "card_delivery_estimate",
        "order_physical_card",
        "get_physical_card",
        "getting_spare_card",
        "change_pin",
        "edit_personal_details",
        "why_verify_identity",
    ),
}

# The cross-source set: IT helpdesk tickets, never used for training.
IT_TICKETS = {
    "Hardware": "Technical",
    "Storage": "Technical",
    "Access": "Account",
    "Administrative rights": "Account",
    "Miscellaneous": "Other",
}


@dataclass(frozen=True, slots=True)
class Example:
    """One labeled text; empty strings where a label is unknown."""

    text: str
    category: str = ""
    urgency: str = ""
    sentiment: str = ""
    source: str = ""
    split: str = ""


def _bucket(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest(), 16) % 10


def _sample(groups: dict[str, list[Example]], per_group: int, rng: random.Random) -> list[Example]:
    out: list[Example] = []
    for key in sorted(groups):
        rows = groups[key]
        out += rng.sample(rows, min(per_group, len(rows)))
    return out


def _write(path: Path, rows: list[Example]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(FIELDS)
        writer.writerows([getattr(r, name) for name in FIELDS] for r in rows)


def prepare(shared: Path) -> dict[str, int]:
    """Sample the public sources in `shared` into ml/data/ (deterministic); return rows per file."""
    rng = random.Random(20240611)
    bitext_dir = shared / "bitext"
    rows: list[Example] = []
    for name, split, per_intent in (("Training", "train", 30), ("Testing", "test", 8)):
        groups: dict[str, list[Example]] = defaultdict(list)
        with (bitext_dir / f"Bitext_Sample_Customer_Service_{name}_Dataset.csv").open() as f:
            for r in csv.DictReader(f):
                urgency = "low" if r["category"] in ("CONTACT", "NEWSLETTER", "FEEDBACK") else ""
                groups[r["intent"]].append(
                    Example(r["utterance"].strip(), BITEXT[r["category"]], urgency, "", "bitext", split)
                )
        rows += _sample(groups, per_intent, rng)
    _write(DATA / "bitext.csv", rows)
    counts = {"bitext.csv": len(rows)}

    intent_category = {i: c for c, intents in BANKING77.items() for i in intents}
    intent_urgency = {i: u for u, intents in BANKING77_URGENCY.items() for i in intents}
    splits: dict[str, dict[str, list[Example]]] = {"train": defaultdict(list), "test": defaultdict(list)}
    with (shared / "banking77" / "train.csv").open() as f:
        for r in csv.DictReader(f):
            if r["category"] not in intent_category:
                continue
            split = "test" if _bucket(r["text"]) < 2 else "train"
            splits[split][r["category"]].append(
                Example(
                    r["text"].strip(),
                    intent_category[r["category"]],
                    intent_urgency.get(r["category"], ""),
                    "",
                    "banking77",
                    split,
                )
            )
    rows = _sample(splits["train"], 25, rng) + _sample(splits["test"], 8, rng)
    _write(DATA / "banking77.csv", rows)
    counts["banking77.csv"] = len(rows)

    groups = defaultdict(list)
    with (shared / "it_service_tickets" / "all_tickets_processed_improved_v3.csv").open() as f:
        for r in csv.DictReader(f):
            if r["Topic_group"] in IT_TICKETS and len(r["Document"].split()) >= 5:
                text = " ".join(r["Document"].split()[:60])
                groups[r["Topic_group"]].append(
                    Example(text, IT_TICKETS[r["Topic_group"]], "", "", "it_tickets", "cross")
                )
    rows = _sample(groups, 200, rng)
    _write(DATA / "it_tickets.csv", rows)
    counts["it_tickets.csv"] = len(rows)
    return counts


def _normal_category(value: str) -> str:
    if not value:
        return ""
    for name in CATEGORIES:
        if value.strip().lower() == name.lower():
            return name
    raise ValueError(f"unknown category {value!r}; expected one of {CATEGORIES}")


def _normal_urgency(value: str) -> str:
    value = value.strip().lower()
    if value and value not in URGENCY_LEVELS:
        raise ValueError(f"unknown urgency {value!r}; expected one of {URGENCY_LEVELS}")
    return value


# Other names the same columns go by in files people bring.
ALIASES = {"text": ("body", "message", "ticket"), "category": ("label",), "urgency": ("priority",)}


def _column(record: dict[str, object], name: str) -> str:
    for key in (name, *ALIASES.get(name, ())):
        value = record.get(key)
        if value not in (None, ""):
            return str(value)
    return ""


def read_examples(path: Path) -> list[Example]:
    """Read a labeled CSV or JSONL file: `text` plus any of category, urgency, sentiment, source, split."""
    if path.suffix in (".jsonl", ".json"):
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    else:
        with path.open(newline="") as f:
            records = list(csv.DictReader(f))
    if records and not _column(records[0], "text"):
        raise ValueError(f"{path}: no text column (expected one of text, body, message, ticket)")
    return [
        Example(
            text=_column(r, "text"),
            category=_normal_category(_column(r, "category")),
            urgency=_normal_urgency(_column(r, "urgency")),
            sentiment=str(r.get("sentiment") if r.get("sentiment") is not None else ""),
            source=str(r.get("source") or path.stem),
            split=str(r.get("split") or ""),
        )
        for r in records
    ]


def prototypes() -> list[Example]:
    """The category descriptions in ml/prototypes.yaml, as training rows."""
    import yaml

    entries = yaml.safe_load(PROTOTYPES.read_text())
    return [
        Example(text, _normal_category(category), source="prototypes", split="train")
        for category, texts in entries.items()
        for text in texts
    ]


def training_pool() -> list[Example]:
    """Every committed row used for training or held-out evaluation (not the cross-source set)."""
    return (
        prototypes()
        + read_examples(DATA / "labeled_tickets.csv")
        + read_examples(DATA / "bitext.csv")
        + read_examples(DATA / "banking77.csv")
    )


def first_training_rows(per_group: int) -> list[Example]:
    """The first `per_group` training rows of each (source, category): every source and category, no held-out row.

    The int8 encoder's activation ranges are measured on 12 of each (`python -m ml calibrate`);
    the heads' reproducibility test fits on 8 of each.
    """
    taken: dict[tuple[str, str], int] = {}
    rows = []
    for row in training_pool():
        key = (row.source, row.category)
        if row.split == "train" and taken.get(key, 0) < per_group:
            taken[key] = taken.get(key, 0) + 1
            rows.append(row)
    return rows


def write_examples(path: Path, rows: list[Example]) -> None:
    """Write rows in the committed CSV layout (used to export the held-out file)."""
    _write(path, rows)
