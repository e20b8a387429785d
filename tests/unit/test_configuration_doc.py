"""docs/configuration.md is generated from Settings: it cannot go stale, and it never prints a secret."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from outlay.settings import Settings
from outlay.settings_doc import LIBRARY_ENV, REGENERATE, default_text, env_names, render

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"


def test_committed_doc_matches_the_settings() -> None:
    assert DOC.read_text() == render(), f"docs/configuration.md is stale; regenerate it: {REGENERATE}"


def test_every_setting_has_a_row_and_a_description() -> None:
    text = render()
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} has no description= (the doc's description column)"
        for variable in env_names(field):
            assert f"`{variable}`" in text, variable


def test_secret_defaults_are_never_printed() -> None:
    row = next(line for line in render().splitlines() if line.startswith("| `OUTLAY_API_KEY`"))
    assert "*(secret: not shown)*" in row
    # Even a secret that had a default would not show it.
    field = FieldInfo(annotation=SecretStr | None, default=SecretStr("hunter2-hunter2-hunter2"))  # type: ignore[arg-type]
    assert "hunter2" not in default_text(field)


def test_url_defaults_are_redacted() -> None:
    field = FieldInfo(annotation=str, default="postgresql://u:hunter2@db/x")
    assert default_text(field) == "`postgresql://u:***@db/x`"


def test_rows_are_one_line_with_four_cells() -> None:
    settings_table = render().split("\n## ", 1)[0]
    rows = [line for line in settings_table.splitlines() if line.startswith("| `")]
    assert len(rows) == len(Settings.model_fields)
    for line in rows:
        assert line.replace("\\|", "").count("|") == 5, line


def test_tracing_variables_outside_settings_are_listed() -> None:
    text = render()
    for name in LIBRARY_ENV:
        assert f"| `{name}` |" in text
