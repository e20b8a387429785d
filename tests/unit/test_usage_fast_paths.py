"""The parsers' fast paths give exactly what the model's own constructor and id rule give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from outlay.events import CostKind, UsageRecord
from outlay.events.usage import RecordIds, checked_usage_record, stable_record_id


def fields(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "record_id": "r1",
        "source": "cur",
        "source_ref": "file:///x.parquet#1",
        "cost_kind": CostKind.BILLED,
        "charge_period_start": datetime(2024, 3, 1, 10, tzinfo=UTC),
        "charge_period_end": datetime(2024, 3, 1, 11, tzinfo=UTC),
        "billing_account_id": "111122223333",
        "service": "Amazon Elastic Compute Cloud",
        "consumed_quantity": Decimal("1.5"),
        "billed_cost": Decimal("0.096"),
        "effective_cost": Decimal("0.05"),
        "list_cost": Decimal("0.096"),
        "tags": {"team": "checkout"},
    }
    values.update(overrides)
    return values


def test_checked_record_equals_the_validated_one_and_encodes_the_same() -> None:
    fast = checked_usage_record(**fields())
    slow = UsageRecord(**fields())
    assert fast == slow
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_fields_set == slow.model_fields_set
    assert UsageRecord.model_validate_json(fast.model_dump_json()) == slow


def test_checked_record_fills_defaults_with_a_fresh_tags_dict() -> None:
    base = fields()
    del base["tags"]
    first, second = checked_usage_record(**base), checked_usage_record(**base)
    assert first == UsageRecord(**base)
    assert first.tags == {} and first.tags is not second.tags
    assert first.provider == "AWS" and first.currency == "USD"


@pytest.mark.parametrize(
    "overrides",
    [
        {"charge_period_start": datetime(2024, 3, 1, 10)},  # naive: the model makes it UTC
        {"currency": "usd"},  # the model normalises the code
        {"billed_cost": "0.096"},  # text: the model parses it
    ],
)
def test_anything_unchecked_takes_the_full_validation(overrides: dict[str, Any]) -> None:
    assert checked_usage_record(**fields(**overrides)) == UsageRecord(**fields(**overrides))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"charge_period_end": datetime(2024, 3, 1, 10, tzinfo=UTC)}, "charge_period_end must be after"),
        ({"charge_period_end": datetime(2024, 3, 1, 10, 30, 5, tzinfo=UTC)}, "whole minute"),
        ({"charge_period_end": datetime(2024, 3, 1, 10, tzinfo=UTC) + timedelta(days=400)}, "longer than"),
        ({"currency": "XXQ"}, "unknown currency"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_values_are_refused_as_the_model_refuses_them(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        checked_usage_record(**fields(**overrides))


def test_a_missing_required_field_is_named() -> None:
    values = fields()
    del values["billing_account_id"]
    with pytest.raises(ValidationError, match="billing_account_id"):
        checked_usage_record(**values)


def test_record_ids_with_a_shared_prefix_equal_the_plain_rule() -> None:
    ids = RecordIds("cur", "file-00001.parquet")
    for rest in [("li-1", "2024-03-01T10:00:00Z/2024-03-01T11:00:00Z", 0), ("li-1", None, 1), (7,)]:
        assert ids(*rest) == stable_record_id("cur", "file-00001.parquet", *rest)
    assert ids("a") != ids("b")


def test_a_tenant_is_carried_by_the_fast_path_and_checked_like_the_model_checks_it() -> None:
    fast = checked_usage_record(**fields(tenant_id="acme"))
    assert fast == UsageRecord(**fields(tenant_id="acme")) and fast.tenant_id == "acme"
    assert fast.model_dump_json() == UsageRecord(**fields(tenant_id="acme")).model_dump_json()
    assert list(fast.model_dump())[:2] == ["record_id", "tenant_id"]  # the model's field order, on the wire too
    assert checked_usage_record(**fields()).tenant_id == "default"
    for bad in ("Acme", "", "acme corp", "-acme", "a" * 64):
        with pytest.raises(ValidationError, match="tenant_id"):
            checked_usage_record(**fields(tenant_id=bad))
    with pytest.raises(ValidationError, match="tenant_id"):
        checked_usage_record(**fields(tenant_id=7))
