"""`python -m ml evaluate` and its metrics; the keyword baseline on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml.__main__ import main
from ml.baseline import detect_language, keyword_triage
from ml.evaluate import category_report, urgency_report
from ml.model import ModelTriager
from ml.result import TriageRequest


def test_category_report_counts_macro_f1_over_gold_classes() -> None:
    report = category_report(["Billing", "Billing", "Legal", "Other"], ["Billing", "Legal", "Legal", "Other"])
    assert report["recall[Billing]"] == 0.5 and report["recall[Legal]"] == 1.0
    assert report["accuracy"] == 0.75
    assert report["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)


def test_urgency_report_auroc_and_bands() -> None:
    report = urgency_report(["low", "medium", "high", "critical"], [0.1, 0.4, 0.7, 0.9])
    assert report["auroc"] == 1.0 and report["band_accuracy"] == 1.0 and report["high_recall"] == 1.0


def test_evaluate_cli_reads_jsonl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], triager: ModelTriager
) -> None:
    # Given a small labeled JSONL file
    rows = [
        {"text": "I was charged twice", "category": "Billing", "urgency": "high"},
        {"text": "site is down for all customers", "category": "Technical", "urgency": "critical"},
        {"text": "please add a dark mode", "category": "Feature request", "urgency": "low"},
        {"text": "Do you ship to Canada?", "category": "shipping/orders", "urgency": "low"},
    ]
    path = tmp_path / "tickets.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    # When evaluated with the baselines
    assert main(["evaluate", str(path)]) == 0
    out = capsys.readouterr().out
    # Then every triager reports macro-F1, per-class recall and urgency AUROC
    for name in (triager.name, "tf-idf + logreg", "keyword baseline"):
        assert f"[{name}]" in out
    assert "macro_f1=" in out and "recall[Legal]" not in out and "recall[Billing]" in out
    assert out.count("auroc=") == 3


def test_keyword_baseline_answers_clear_cases() -> None:
    result = keyword_triage(TriageRequest("site is down for all customers", vip=True))
    assert result.model == "fallback" and result.category == "Technical"
    assert {"outage", "vip_requester"} <= set(result.signals) and result.urgency >= 0.6
    calm = keyword_triage(TriageRequest("Not urgent: the footer link is broken"))
    assert "not_urgent_hint" in calm.signals and calm.urgency < 0.3
    assert detect_language("Hallo, meine Bestellung ist noch nicht angekommen") == "de"
