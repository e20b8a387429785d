"""Checks of text people write into Outlay (names, e-mails, descriptions)."""

from __future__ import annotations


def printable(value: str) -> str:
    """A pydantic field check: no control characters (NUL included), which stores refuse or logs mangle."""
    if not value.isprintable():
        raise ValueError("must be printable text (no control characters)")
    return value
