"""Policies as data: each kind's rule checks what its evaluating service asks, and bad rules name the field."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from outlay.policies import AllowedInstanceFamilies, AutoApply, BudgetCeiling, PolicyIn, RequiredTags, Rule


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
