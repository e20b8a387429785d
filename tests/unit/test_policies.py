"""Policies as data: each kind's rule checks what its evaluating service asks, and bad rules name the field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from outlay.events.policy import PolicyViolation
from outlay.policies import AllowedInstanceFamilies, AutoApply, BudgetCeiling, PolicyIn, RequiredTags, Rule
from outlay.tenancy import tenant_problem
from services.gateway.webhooks.events import EVENT_TYPES, dedupe_key


def test_required_tags_name_what_is_missing_empty_values_included() -> None:
    rule = RequiredTags(keys=["team", "env"])
    assert rule.missing({"team": "checkout", "env": "prod"}) == []
    assert rule.missing({"team": " ", "owner": "x"}) == ["team", "env"]


def test_allowed_families_read_the_family_of_ec2_and_rds_types() -> None:
    rule = AllowedInstanceFamilies(families=["m7g", "r6g"])
    assert rule.allows("m7g.large") and rule.allows("db.r6g.xlarge")
    assert not rule.allows("m5.large") and not rule.allows("m7gd.large")


def test_auto_apply_bounds_risk_saving_and_kinds() -> None:
    rule = AutoApply(max_risk="medium", max_monthly_saving=Decimal("500"), kinds=["stop_instance", "release_eip"])
    assert rule.allows("low", Decimal("100"), {"stop_instance"})
    assert not rule.allows("high", Decimal("100"), {"stop_instance"})
    assert not rule.allows("low", Decimal("501"), {"stop_instance"})
    assert not rule.allows("low", Decimal("1"), {"stop_instance", "rightsize"})
    assert AutoApply().allows("low", Decimal("1e6"), {"anything"}) and not AutoApply().allows(
        "medium", Decimal(1), set()
    )


def test_budget_ceiling() -> None:
    assert BudgetCeiling(max_amount=Decimal("1000")).exceeded_by(Decimal("1000.01"), "USD")
    assert not BudgetCeiling(max_amount=Decimal("1000")).exceeded_by(Decimal("1000"), "USD")
    assert not BudgetCeiling(max_amount=Decimal("1000")).exceeded_by(Decimal("5000"), "JPY")  # another currency


def test_policy_amounts_are_bounded_like_stored_money() -> None:
    for amount in ("1e999999999", "-1", "0.0000000001"):
        with pytest.raises(ValidationError):
            PolicyIn.model_validate({"name": "n", "rule": {"kind": "budget_ceiling", "max_amount": amount}})
    with pytest.raises(ValidationError):
        PolicyIn.model_validate({"name": "bad\x00name", "rule": {"kind": "required_tags", "keys": ["t"]}})


def test_rules_are_one_tagged_union_and_bad_ones_name_the_field() -> None:
    rule = TypeAdapter(Rule).validate_python({"kind": "required_tags", "keys": ["team"]})
    assert isinstance(rule, RequiredTags)
    with pytest.raises(ValidationError) as bad:
        PolicyIn.model_validate({"name": "n", "rule": {"kind": "allowed_instance_families", "families": ["M5!"]}})
    assert "families" in str(bad.value) and "M5!" in str(bad.value)
    with pytest.raises(ValidationError) as unknown:
        PolicyIn.model_validate({"name": "n", "rule": {"kind": "no_such_kind"}})
    assert "kind" in str(unknown.value)
    with pytest.raises(ValidationError):
        PolicyIn.model_validate({"name": "n", "rule": {"kind": "required_tags", "keys": ["team"], "extra": 1}})


def test_tenant_ids_are_checked_whole() -> None:
    assert tenant_problem("acme") is None
    for bad in ("acme\n", "Acme", "-acme", "", "a" * 64, "ac me"):
        assert tenant_problem(bad) is not None, repr(bad)


def test_a_violation_found_again_is_the_same_webhook_delivery() -> None:
    kind = EVENT_TYPES["policy_violation"]
    first = PolicyViolation(
        violation_id="v1", policy_id="p", policy_name="tags", kind="required_tags", subject="ec2-instance:i-1",
        detail="missing tags: team", observed_at=datetime(2026, 11, 30, 6, tzinfo=UTC), evaluated_by="optimizer",
    )  # fmt: skip
    again = first.model_copy(update={"observed_at": datetime(2026, 11, 30, 12, tzinfo=UTC)})
    other = first.model_copy(update={"violation_id": "v2"})
    assert dedupe_key(kind, first) == dedupe_key(kind, again) != dedupe_key(kind, other)
