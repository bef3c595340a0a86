"""`python -m ml evaluate` and its metrics; the keyword baseline on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml.__main__ import main
from ml.baseline import detect_language, keyword_triage
from ml.datasets import LabeledFileError, read_examples
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


def test_help_desk_exports_are_read_as_they_come(tmp_path: Path) -> None:
    # Given a spreadsheet's CSV export (BOM, capitalised headers, a ticket number) with Zendesk, ServiceNow,
    # P- and SEV- priorities
    export = tmp_path / "zendesk.csv"
    export.write_text(
        "Ticket,Subject,Description,Topic,Priority\n"
        "101,Refund,I was charged twice,billing,Urgent\n"
        "102,Login,cannot log in,Account,normal\n"
        "103,Outage,site is down,Technical,1 - Critical\n"
        "104,Parcel,where is it,Shipping/Orders,P3\n"
        "105,,dark mode please,Feature request,SEV 4\n",
        encoding="utf-8-sig",
    )
    # When read
    rows = read_examples(export)
    # Then the subject leads the text as the pipeline joins a ticket's, and every scale maps onto ours
    assert [r.text for r in rows][:2] == ["Refund\nI was charged twice", "Login\ncannot log in"]
    assert rows[4].text == "dark mode please"
    assert [r.category for r in rows] == ["Billing", "Account", "Technical", "Shipping/Orders", "Feature request"]
    assert [r.urgency for r in rows] == ["critical", "medium", "critical", "medium", "low"]
    assert {r.source for r in rows} == {"zendesk"}


def test_a_json_array_with_titles_is_read(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([
        {"title": "Invoice", "body": "wrong VAT on my invoice", "label": "Billing", "severity": "major", "sentiment": -0.5},
        {"text": "thanks, all good now", "sentiment": "0.8"},
    ], indent=2))
    rows = read_examples(path)
    assert [(r.text, r.category, r.urgency, r.sentiment) for r in rows] == [
        ("Invoice\nwrong VAT on my invoice", "Billing", "high", "-0.5"),
        ("thanks, all good now", "", "", "0.8"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.csv", "text,category,priority,sentiment\nok,Billing,low,0\nx,Hardware,low,\n,Billing,high,\n"
         "y,Other,whenever,\nz,Other,low,very\n",
         ["4 bad row(s)", "line 3: unknown category 'Hardware'", "line 4: no text",
          "line 5: unknown urgency 'whenever'", "line 6: sentiment 'very' is not a number"]),
        ("cols.csv", "id,comment_count\n1,2\n", ["no text column", "its columns: id, comment_count"]),
        ("bad.jsonl", '{"text": "a"}\n\n{"text": "b",\n', ["line 3: not valid JSON"]),
        ("list.json", '[{"text": "a"}, 3]', ["every row must be a JSON object"]),
        ("latin1.csv", "text\ncaf\xe9 ferm\xe9\n", ["not UTF-8 text", "save it as UTF-8"]),
        ("missing.csv", None, ["No such file"]),
    ],
)
def test_evaluate_refuses_a_bad_file_with_every_reason_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str | None, expected: list[str]
) -> None:
    # Given a file that cannot be evaluated as it stands
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content.encode("latin-1" if name.startswith("latin1") else "utf-8"))
    # When evaluated
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", str(path)])
    # Then it exits 2 saying why, line by line, before any model is loaded or anything reported
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("python -m ml evaluate: error: ") and "Traceback" not in err
    for part in expected:
        assert part in err


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    suffix=st.sampled_from([".csv", ".jsonl", ".json"]),
    content=st.one_of(
        st.binary(max_size=300),
        st.lists(st.lists(st.sampled_from(["text", "Subject", "priority", "category", "sentiment", "split", "",
                                           "Billing", "urgent", "P1", "nan", "2", "-3", '"', ",", "\n", "{", "[",
                                           '{"text": "a"}', "é", "\x00"]), max_size=6), max_size=6)
        .map(lambda rows: "\n".join(",".join(r) for r in rows).encode()),
    ),
)
def test_reading_any_file_gives_rows_or_a_labeled_file_error(tmp_path: Path, suffix: str, content: bytes) -> None:
    path = tmp_path / f"any{suffix}"
    path.write_bytes(content)
    try:
        rows = read_examples(path)
    except LabeledFileError:
        return
    assert all(r.text.strip() for r in rows)
