"""Settings: secrets never leak through redaction or validation errors; a blank API key fails closed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from outlay.settings import Settings, redact_url, to_async_url


@pytest.mark.parametrize("key", ["", "   ", "short-secret-1"])
def test_blank_or_short_api_key_is_refused_without_echoing_it(key: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(OUTLAY_API_KEY=key)
    text = str(refused.value)
    assert "OUTLAY_API_KEY must be at least 16 characters" in text
    if key.strip():
        assert key not in text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:hunter2@db:5432/x", "postgresql://u:***@db:5432/x"),
        ("postgresql://u@db/x?password=hunter2&sslmode=require", "postgresql://u@db/x?password=***&sslmode=require"),
        ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
    ],
)
def test_redact_url_masks_passwords(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redacted_settings_hide_every_secret() -> None:
    settings = Settings(DATABASE_URL="postgresql://u:hunter2@db/x", OUTLAY_API_KEY="k" * 32)
    shown = str(settings.redacted())
    assert "hunter2" not in shown and "k" * 32 not in shown


def test_async_url_and_unsupported_scheme() -> None:
    assert to_async_url("postgres://u@h/d") == "postgresql+asyncpg://u@h/d"
    with pytest.raises(ValueError, match="unsupported scheme"):
        to_async_url("mysql://u:pw@h/d")
