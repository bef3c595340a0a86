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
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    raise ValueError(f"unknown category {value!r}; expected one of {', '.join(CATEGORIES)}")


# The priority scales help desks export (Zendesk low/normal/high/urgent, Freshdesk, Jira
# lowest..highest, ServiceNow "1 - Critical".."5 - Planning", P1-P4, SEV1-SEV4) on our four levels.
URGENCY_SYNONYMS = {
    "lowest": "low", "planning": "low", "minor": "low", "trivial": "low",
    "normal": "medium", "moderate": "medium",
    "major": "high",
    "urgent": "critical", "highest": "critical", "blocker": "critical",
    "p1": "critical", "p2": "high", "p3": "medium", "p4": "low", "p5": "low",
    "sev1": "critical", "sev2": "high", "sev3": "medium", "sev4": "low",
}


def _normal_urgency(value: str) -> str:
    value = value.strip().lower()
    value = re.sub(r"^\d+\s*-\s*", "", value)  # ServiceNow's "2 - High"
    value = URGENCY_SYNONYMS.get(value.replace(" ", "").replace("-", ""), value)
    if value and value not in URGENCY_LEVELS:
        raise ValueError(
            f"unknown urgency {value!r}; expected one of {', '.join(URGENCY_LEVELS)} "
            "(or a help desk's: normal, urgent, P1-P4, SEV1-SEV4, ...)"
        )
    return value


def _sentiment(value: object) -> str:
    if value is None or value == "":
        return ""
    try:
        score = float(str(value))
    except ValueError:
        raise ValueError(f"sentiment {value!r} is not a number in [-1, 1]") from None
    if not -1 <= score <= 1:
        raise ValueError(f"sentiment {value!r} is not a number in [-1, 1]")
    return str(value)


# Other names the same columns go by in the files people bring (help desk exports included).
ALIASES = {
    "text": ("body", "message", "description", "content", "ticket"),  # "ticket" last: exports use it for ids
    "subject": ("title", "summary"),
    "category": ("label", "topic"),
    "urgency": ("priority", "severity"),
}


def _column(record: dict[str, object], name: str) -> str:
    for key in (name, *ALIASES.get(name, ())):
        value = record.get(key)
        if value not in (None, ""):
            return str(value)
    return ""


class LabeledFileError(ValueError):
    """A labeled file that cannot be read as a whole: missing, not UTF-8, not CSV/JSON, or bad rows."""


def _records(path: Path) -> list[tuple[str, dict[str, object]]]:
    """(where, record) for each row of a CSV, JSON Lines or JSON-array file; keys lower-cased and stripped."""
    try:
        rows = _read_json(path) if path.suffix in (".jsonl", ".json") else _read_csv(path)
    except UnicodeDecodeError as exc:
        raise LabeledFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    except csv.Error as exc:
        raise LabeledFileError(f"{path}: not valid CSV ({exc})") from None
    except OSError as exc:
        raise LabeledFileError(f"{path}: {exc.strerror or exc}") from None
    if not all(isinstance(record, dict) for _, record in rows):
        raise LabeledFileError(f"{path}: every row must be a JSON object")
    return [(where, {str(k).strip().lower(): v for k, v in record.items() if k is not None}) for where, record in rows]


def _read_csv(path: Path) -> list[tuple[str, Any]]:
    with path.open(newline="", encoding="utf-8-sig") as f:  # utf-8-sig: spreadsheets' exports start with a BOM
        reader = csv.DictReader(f)
        return [(f"line {reader.line_num}", record) for record in reader]


def _read_json(path: Path) -> list[tuple[str, Any]]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".json" and text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LabeledFileError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
        return [(f"item {n}", item) for n, item in enumerate(items, start=1)]
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append((f"line {n}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise LabeledFileError(f"{path}: line {n}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    return rows


def read_examples(path: Path) -> list[Example]:
    """Read a labeled CSV, JSON Lines or JSON file: a text plus any of category, urgency, sentiment, source, split.

    The text is `text` (or body, message, description, content, ticket), after `subject` (or title,
    summary) when there is one, as the pipeline joins a ticket's; category may be called label or
    topic, urgency priority or severity, in any help desk's scale (`URGENCY_SYNONYMS`). Every bad
    row is reported, by line (or item), in one LabeledFileError.
    """
    records = _records(path)
    if records and not any(_column(r, "text") or _column(r, "subject") for _, r in records[:50]):
        columns = ", ".join(records[0][1]) or "none"
        raise LabeledFileError(
            f"{path}: no text column (expected text, body, message, ticket, description or content, "
            f"and/or subject or title); its columns: {columns}"
        )
    examples, errors = [], []
    for where, r in records:
        try:
            subject, text = _column(r, "subject"), _column(r, "text")
            text = f"{subject}\n{text}".strip() if subject else text
            if not text.strip():
                raise ValueError("no text")
            examples.append(
                Example(
                    text=text,
                    category=_normal_category(_column(r, "category")),
                    urgency=_normal_urgency(_column(r, "urgency")),
                    sentiment=_sentiment(r.get("sentiment")),
                    source=str(r.get("source") or path.stem),
                    split=str(r.get("split") or ""),
                )
            )
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
    if errors:
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise LabeledFileError(f"{path}: {len(errors)} bad row(s)\n  " + "\n  ".join(errors[:10]) + more)
    return examples


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
