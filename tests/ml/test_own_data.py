"""A team's own labeled tickets: `python -m ml train --add FILE --out DIR`, served with TRIAGE_HEADS_DIR=DIR."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ml import TriageRequest, load_service
from ml.__main__ import main
from ml.datasets import Example, first_training_rows
from ml.heads import Heads
from ml.model import ModelTriager
from ml.train import ADDED, fit, train
from storage.config import Settings

# This team files seat renewals of its design tool under Billing; out of the box they read as Feature request.
RENEWALS = [
    "Please renew the Quibbleflux seats for our design team",
    "Quibbleflux seat renewal for the three new hires",
    "Our Quibbleflux licence seats expire next week, renew them",
    "Add two Quibbleflux seats to the yearly renewal",
    "Renewal quote for 40 Quibbleflux seats please",
    "Can you renew Quibbleflux for the marketing seats",
    "Quibbleflux seats: renew on the same card as last year",
    "We need the Quibbleflux renewal invoice for 12 seats",
]
UNSEEN = "Time to renew our Quibbleflux seats again"


@pytest.fixture
def tiny_pool(monkeypatch: pytest.MonkeyPatch) -> list[Example]:
    """The committed pool cut to 8 rows per (source, category), so a fit takes a second."""
    rows = first_training_rows(8)
    monkeypatch.setattr("ml.train.training_pool", lambda: rows)
    return rows


def write_export(path: Path) -> Path:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["Subject", "Description", "Topic", "Priority", "split"])
        for text in RENEWALS:
            out.writerow(["Seats", text, "Billing", "normal", ""])
        out.writerow(["Seats", "Held out: Quibbleflux seat renewal for finance", "Billing", "normal", "test"])
    return path


async def test_a_teams_own_tickets_teach_the_heads_and_are_served_from_triage_heads_dir(
    tmp_path: Path, tiny_pool: list[Example], triager: ModelTriager, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the base heads (fit on the same tiny pool) reading the team's renewals as something else
    base = ModelTriager(triager.encoder, fit(tiny_pool, triager.encoder.encode([r.text for r in tiny_pool]),
                                             triager.encoder.name), triager.macros)
    assert base.triage_batch([TriageRequest(UNSEEN)])[0].category != "Billing"
    # When the team's export is added to training, into a directory of its own
    export = write_export(tmp_path / "export.csv")
    heads = train(triager.encoder, out=tmp_path / "heads", added=[export])
    # Then its rows were trained on (all but the held-out one), as hand labels, and the heads say so
    assert heads.meta["rows"]["category"] == sum(1 for r in tiny_pool if r.category) + len(RENEWALS)
    assert f"{ADDED}export.csv" in heads.meta["sources"] and f"{ADDED}export.csv" in heads.meta["data"]
    assert Heads.load(tmp_path / "heads").meta["version"] == heads.meta["version"]
    # And the service, pointed at them by TRIAGE_HEADS_DIR, serves them and files an unseen renewal under Billing
    monkeypatch.setenv("TRIAGE_HEADS_DIR", str(tmp_path / "heads"))
    service = await load_service(**Settings(_env_file=None).triage_options).start()  # type: ignore[call-arg]
    try:
        assert not service.degraded and service.model_name.endswith(f"heads-{heads.meta['version']}")
        assert (await service.triage(TriageRequest(UNSEEN))).category == "Billing"
    finally:
        await service.close()


async def test_a_heads_dir_without_heads_falls_back_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_HEADS_DIR", str(tmp_path / "nothing-here"))
    service = await load_service(**Settings(_env_file=None).triage_options).start()  # type: ignore[call-arg]
    try:
        assert service.degraded and "nothing-here" in repr(service.load_error)
        assert (await service.triage(TriageRequest("I was charged twice"))).model == "fallback"
    finally:
        await service.close()


def test_train_refuses_a_bad_file_before_loading_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an export with a label the model does not know
    bad = tmp_path / "bad.csv"
    bad.write_text("text,category\nprinter jams,Hardware\n")
    monkeypatch.setattr("ml.encoder.load_encoder", lambda *_: pytest.fail("the encoder was loaded"))
    # When it is added to training / Then it exits 2 naming the row, and writes no heads
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--add", str(bad), "--out", str(tmp_path / "heads")])
    assert exit_.value.code == 2
    assert "line 2: unknown category 'Hardware'" in capsys.readouterr().err
    assert not (tmp_path / "heads").exists()


def test_added_rows_never_overwrite_the_committed_heads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = write_export(tmp_path / "export.csv")
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--add", str(export)])
    assert exit_.value.code == 2 and "--add needs --out DIR" in capsys.readouterr().err
