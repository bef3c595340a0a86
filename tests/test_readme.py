"""The README's configuration table names every setting the code reads."""

from __future__ import annotations

from pathlib import Path

from storage.config import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    # Given the README / When each Settings field is looked up as its environment variable
    text = README.read_text()
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in text]
    # Then none is missing
    assert missing == []
