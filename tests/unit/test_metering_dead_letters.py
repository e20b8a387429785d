"""Metering dead-letters an unpriced resource once per (resource, reason), not once a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from outlay.aws.resources import Ec2Instance
from outlay.events import DeadLetter
from outlay.pricing import PriceCatalogue
from services.ingest.live.metering import DeadLetterOnce, price_minute

MINUTE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _letter(resource: str, reason: str = "no price") -> DeadLetter:
    return DeadLetter(source="metering", file=f"aws://us-east-1/ec2/{resource}", reason=reason)


def test_the_same_unpriced_resource_is_dead_lettered_once_across_minutes() -> None:
    cat = PriceCatalogue.load()
    windows = Ec2Instance("i-win", "m5.large", "us-east-1", "123456789012", "running", platform="windows")
    spot = Ec2Instance("i-spot", "m5.large", "us-east-1", "123456789012", "running", lifecycle="spot")
    once = DeadLetterOnce()
    published = []
    unpriced = 0
    for m in range(1440):
        letters = price_minute([windows, spot], MINUTE + timedelta(minutes=m), cat).dead_letters
        unpriced += len(letters)
        published += once.first_time(letters)
    assert unpriced == 2 * 1440
    assert sorted(d.file for d in published) == ["aws://us-east-1/ec2/i-spot", "aws://us-east-1/ec2/i-win"]


def test_a_new_reason_for_the_same_resource_is_dead_lettered_again() -> None:
    once = DeadLetterOnce()
    assert len(once.first_time([_letter("i-1", "no Windows price")])) == 1
    assert once.first_time([_letter("i-1", "no Windows price")]) == []
    assert len(once.first_time([_letter("i-1", "no Spot price")])) == 1


def test_memory_is_bounded_and_forgets_the_least_recently_seen() -> None:
    once = DeadLetterOnce(capacity=3)
    assert len(once.first_time([_letter(f"i-{n}") for n in range(3)])) == 3
    assert once.first_time([_letter("i-0")]) == []  # seen again: now the most recent
    assert len(once.first_time([_letter("i-3")])) == 1  # evicts i-1, the least recently seen
    assert len(once) == 3
    assert once.first_time([_letter("i-0"), _letter("i-2"), _letter("i-3")]) == []
    assert [d.file for d in once.first_time([_letter("i-1")])] == ["aws://us-east-1/ec2/i-1"]
    with pytest.raises(ValueError):
        DeadLetterOnce(capacity=0)
