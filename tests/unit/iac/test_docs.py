"""The usage-key reference (docs/iac-usage.md) is generated from the price rules and must be current."""

from __future__ import annotations

from pathlib import Path

from outlay.iac.rules import RULEBOOK
from outlay.iac.usage_reference import render

DOC = Path(__file__).resolve().parents[3] / "docs" / "iac-usage.md"


def test_usage_reference_is_current() -> None:
    assert DOC.read_text() == render(), "regenerate: python -m outlay.iac.usage_reference > docs/iac-usage.md"
    for name, rule in [*RULEBOOK.priced.items(), *((n, f) for n, f in RULEBOOK.free.items() if f.usage)]:
        assert f"## `{name}`" in DOC.read_text()
        for key in rule.usage:
            assert f"`{key.name}`" in DOC.read_text()
