"""The offline parser's conventions and refusals beyond the phrasing set."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from outlay.ask.dates import Unit, find_dates, previous
from outlay.ask.model import Period, StructuredQuery
from outlay.ask.parser import CannotAnswer, parse, understand
from outlay.ask.validate import problems
from outlay.ask.vocabulary import Vocabulary

WEDNESDAY = datetime(2026, 3, 4, 23, 59, tzinfo=UTC)
VOCAB = Vocabulary.of(
    {"service": ["Amazon Elastic Compute Cloud", "AmazonEC2", "AmazonS3"], "region": ["us-east-1"]},
    {"team": ["checkout", "web"], "project": ["web"]},
)


def period(question: str, now: datetime = WEDNESDAY) -> Period:
    result = parse(question, now, VOCAB)
    assert isinstance(result, StructuredQuery), result
    return result.period


def test_weeks_start_on_monday_and_days_are_utc() -> None:
    assert period("cost last week") == Period(start=date(2026, 2, 23), end=date(2026, 3, 2))
    assert period("cost this week") == Period(start=date(2026, 3, 2), end=date(2026, 3, 5))
    # 23:30 at UTC-5 on the 3rd is already the 4th in UTC: "today" is the UTC day.
    late = datetime(2026, 3, 3, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert period("cost today", late) == Period(start=date(2026, 3, 4), end=date(2026, 3, 5))


def test_a_month_without_a_year_is_the_latest_that_has_begun() -> None:
    assert period("spend in October") == Period(start=date(2025, 10, 1), end=date(2025, 11, 1))
    assert period("spend in March") == Period(start=date(2026, 3, 1), end=date(2026, 4, 1))
    assert period("Q3") == Period(start=date(2025, 7, 1), end=date(2025, 10, 1))


def test_the_period_before_a_running_month_has_as_many_days() -> None:
    this_month = Period(start=date(2026, 3, 1), end=date(2026, 3, 5))
    assert previous(this_month, Unit.MONTH) == Period(start=date(2026, 2, 1), end=date(2026, 2, 5))
    whole = Period(start=date(2026, 3, 1), end=date(2026, 4, 1))
    assert previous(whole, Unit.MONTH) == Period(start=date(2026, 2, 1), end=date(2026, 3, 1))


def test_may_the_verb_is_not_a_month() -> None:
    assert find_dates("what may happen", date(2026, 3, 4)) == []
    assert find_dates("in may", date(2026, 3, 4))[0].period == Period(start=date(2025, 5, 1), end=date(2025, 6, 1))


def test_a_value_two_tag_keys_hold_is_ambiguous_and_named() -> None:
    result = parse("what did web spend last week", WEDNESDAY, VOCAB)
    assert isinstance(result, CannotAnswer)
    assert "ambiguous" in result.reason and "tag:team" in result.reason and "tag:project" in result.reason
    keyed = parse("what did team web spend last week", WEDNESDAY, VOCAB)
    assert isinstance(keyed, StructuredQuery) and keyed.filters[0].dimension == "tag:team"


def test_refusals_say_what_was_understood() -> None:
    result = parse("what did team payments spend on EC2 last week", WEDNESDAY, VOCAB)
    assert isinstance(result, CannotAnswer)
    assert "payments" in result.reason
    assert result.understood["period"] == {"start": "2026-02-23", "end": "2026-03-02"}


@pytest.mark.parametrize(
    "question",
    ["what is our revenue per customer", "forecast next month", "how much will we spend tomorrow", "hello there",
     "cost in us-west-1", "x" * 501],
)  # fmt: skip
def test_questions_it_cannot_answer(question: str) -> None:
    assert isinstance(parse(question, WEDNESDAY, VOCAB), CannotAnswer)


def test_defaults_are_reported() -> None:
    result, notes = understand("how much did we spend", WEDNESDAY, VOCAB)
    assert isinstance(result, StructuredQuery)
    assert notes == ["no period given: the last 30 days"]


def test_an_alias_resolves_to_every_stored_spelling_the_tenant_has() -> None:
    result = parse("EC2 spend yesterday", WEDNESDAY, VOCAB)
    assert isinstance(result, StructuredQuery)
    assert result.filters[0].values == ("Amazon Elastic Compute Cloud", "AmazonEC2")
    assert problems(result, VOCAB) == []
    other = Vocabulary.of({"service": ["AmazonS3"]}, {})
    assert isinstance(parse("EC2 spend yesterday", WEDNESDAY, other), CannotAnswer)
