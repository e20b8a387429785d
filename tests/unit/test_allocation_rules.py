"""Allocation rules: validation that names the field, normalisation of messy tags, and how each direct rule assigns a
line (the part of allocation that depends on the line's key alone)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from outlay.allocation import UNALLOCATED, AllocationRules, Allocator, AssignmentKind, LineKey
from outlay.allocation.normalise import normalise_key, normalise_value
from outlay.events import CostKind, UsageRecord


def key(
    tags: dict[str, str] | None = None,
    *,
    account: str = "111111111111",
    sub: str = "",
    service: str = "Amazon Elastic Compute Cloud",
    resource: str = "",
    usage_type: str = "",
    charge: str = "",
) -> LineKey:
    return LineKey(account, sub, "us-east-1", service, resource, tuple(sorted((tags or {}).items())),
                   usage_type=usage_type, charge_category=charge)  # fmt: skip


def team_of(rules: dict[str, Any], line: LineKey) -> str:
    assignment = Allocator(AllocationRules.model_validate({"dimensions": {"team": rules}})).assign("team", line)
    return assignment.label


@pytest.mark.parametrize("raw", ["Team", "team", "TEAM", " team ", "user:Team", "tEaM"])
def test_tag_keys_in_any_case_or_spacing_are_one_key(raw: str) -> None:
    assert normalise_key(raw) == "team"
    assert team_of({"tags": {"keys": ["team"]}}, key({raw: "checkout"})) == "checkout"


@pytest.mark.parametrize("raw", ["Checkout", "checkout ", " CHECKOUT", "checkout"])
def test_tag_values_are_normalised(raw: str) -> None:
    assert normalise_value(raw) == "checkout"
    assert team_of({"tags": {"keys": ["team"]}}, key({"team": raw})) == "checkout"


def test_separators_collapse_and_aliases_rename() -> None:
    assert normalise_key("owner_team") == normalise_key("Owner Team") == normalise_key("owner--team") == "owner-team"
    assert normalise_value("Base Load") == normalise_value("base_load") == "base-load"
    rules = {"tags": {"keys": ["team", "owner-team"], "aliases": {"CentralIT": "Central IT", "chk": "checkout"}}}
    assert team_of(rules, key({"owner_team": "CentralIT"})) == "central-it"
    assert team_of(rules, key({"Team": "chk"})) == "checkout"


def test_the_first_listed_key_wins_and_placeholders_are_nobody() -> None:
    rules = {"tags": {"keys": ["team", "owner-team"]}}
    assert team_of(rules, key({"owner-team": "search", "team": "checkout"})) == "checkout"
    # A placeholder value on the first key falls through to the next key, then to nobody.
    assert team_of(rules, key({"team": "N/A", "owner-team": "search"})) == "search"
    assert team_of(rules, key({"team": "untagged"})) == UNALLOCATED
    assert team_of(rules, key({"team": "  "})) == UNALLOCATED
    assert team_of(rules, key({"team": "(unallocated)"})) == UNALLOCATED  # cannot pose as the unallocated row
    assert team_of({**rules, "ignore_values": []}, key({"team": "unknown"})) == "unknown"


def test_the_same_key_spelt_twice_resolves_the_same_way_every_time() -> None:
    rules = {"tags": {"keys": ["team"]}}
    line = key({"Team": "Checkout", "team": "search"})
    assert {team_of(rules, line) for _ in range(3)} == {"checkout"}  # sorted raw keys: "Team" < "team"


def test_accounts_resources_and_cost_categories() -> None:
    rules = {
        "accounts": {"222222222222": "Payments", "111111111111": "platform"},
        "resources": [{"pattern": r"^arn:aws:rds:.*:db:checkout-", "value": "checkout"}],
        "cost_categories": {"names": ["Team"]},
    }
    assert team_of(rules, key()) == "platform"  # the payer account
    assert team_of(rules, key(sub="222222222222")) == "payments"  # the linked account first
    rds = "arn:aws:rds:eu-west-1:1:db:checkout-main"
    assert team_of(rules, key(resource=rds, sub="222222222222")) == "checkout"
    assert team_of(rules, key({"costcategory:Team": "Search"}, resource=rds)) == "search"


def test_order_decides_between_rules_that_disagree() -> None:
    rules: dict[str, Any] = {"tags": {"keys": ["team"]}, "accounts": {"111111111111": "platform"}}
    tagged = key({"team": "checkout"})
    assert team_of(rules, tagged) == "checkout"
    assert team_of({**rules, "order": ["accounts", "tags"]}, tagged) == "platform"
    assert team_of({**rules, "order": ["tags"]}, key()) == UNALLOCATED  # accounts not consulted


def test_shared_rules_take_a_line_before_its_tags() -> None:
    rules = {
        "tags": {"keys": ["team"]},
        "shared": [
            {"name": "ri-fees", "match": {"charge_categories": ["RIFee"]}, "split": "proportional"},
            {"name": "transfer", "match": {"usage_types": ["DataTransfer"]}, "split": "even"},
        ],
    }
    assert team_of(rules, key({"team": "checkout"}, charge="RIFee")) == "shared:ri-fees"
    assert team_of(rules, key(usage_type="USE1-DataTransfer-Out-Bytes", charge="Usage")) == "shared:transfer"
    assert team_of(rules, key({"team": "checkout"}, charge="Usage")) == "checkout"
    assert AllocationRules.model_validate({"dimensions": {"team": rules}}).needs_record_fields


def test_record_level_allocation_for_stream_consumers() -> None:
    rules = AllocationRules.model_validate({"dimensions": {
        "team": {"tags": {"keys": ["team"]}, "shared": [
            {"name": "support", "match": {"services": ["AWS Support (Business)"]}, "split": "even"}]},
        "env": {"tags": {"keys": ["environment", "env"]}},
    }})  # fmt: skip
    now = datetime(2026, 11, 1, tzinfo=UTC)

    def rec(service: str, tags: dict[str, str]) -> UsageRecord:
        return UsageRecord(record_id="r", source="test", cost_kind=CostKind.BILLED, charge_period_start=now,
                           charge_period_end=now.replace(hour=1), billing_account_id="1", service=service,
                           billed_cost=Decimal("1"), effective_cost=Decimal("1"), list_cost=Decimal("1"), tags=tags)  # fmt: skip

    allocator = Allocator(rules)
    got = allocator.allocate(rec("Amazon EC2", {"Team": "Checkout ", "Env": "PROD"}))
    assert {d: a.label for d, a in got.items()} == {"team": "checkout", "env": "prod"}
    support = allocator.allocate(rec("AWS Support (Business)", {"team": "checkout"}))
    assert support["team"].kind is AssignmentKind.SHARED and support["team"].value == "support"
    assert support["env"].kind is AssignmentKind.UNALLOCATED


def errors_of(document: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        AllocationRules.model_validate(document)
    return [".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in caught.value.errors()]


def test_validation_names_the_field() -> None:
    (bad_regex,) = errors_of({"dimensions": {"team": {"resources": [{"pattern": "(", "value": "x"}]}}})
    assert bad_regex.startswith("dimensions.team.resources.0.pattern") and "regular expression" in bad_regex
    (no_weights,) = errors_of(
        {"dimensions": {"team": {"shared": [{"name": "s", "match": {"services": ["x"]}, "split": "weights"}]}}}
    )
    assert no_weights.startswith("dimensions.team.shared.0") and "weights" in no_weights
    (empty_match,) = errors_of({"dimensions": {"team": {"shared": [{"name": "s", "match": {}, "split": "even"}]}}})
    assert "match" in empty_match
    (negative,) = errors_of({"dimensions": {"team": {"shared": [
        {"name": "s", "match": {"services": ["x"]}, "split": "weights", "weights": {"a": "-1"}}]}}})  # fmt: skip
    assert negative.startswith("dimensions.team.shared.0.weights.a")
    (dup_keys,) = errors_of({"dimensions": {"team": {"tags": {"keys": ["Team", "team "]}}}})
    assert dup_keys.startswith("dimensions.team.tags.keys")
    (unknown,) = errors_of({"dimensions": {"team": {"tag": {"keys": ["team"]}}}})
    assert unknown.startswith("dimensions.team.tag")
    (name,) = errors_of({"dimensions": {"Team Name": {}}})
    assert name.startswith("dimensions") and "Team Name" in name
    (split,) = errors_of({"dimensions": {"t": {"shared": [{"name": "s", "match": {"services": ["x"]}, "split": "x"}]}}})
    assert split.startswith("dimensions.t.shared.0.split")


def test_rules_cannot_name_nobody_or_the_unallocated_row_as_an_owner() -> None:
    (blank,) = errors_of({"dimensions": {"team": {"accounts": {"1": " - _ "}}}})
    assert blank.startswith("dimensions.team.accounts.1") and "owner" in blank
    (posing,) = errors_of({"dimensions": {"team": {"shared": [
        {"name": "s", "match": {"services": ["x"]}, "split": "even", "among": ["(Unallocated)"]}]}}})  # fmt: skip
    assert posing.startswith("dimensions.team.shared.0.among.0") and "(unallocated)" in posing
    (twice,) = errors_of({"dimensions": {"team": {"shared": [
        {"name": "s", "match": {"services": ["x"]}, "split": "weights", "weights": {"Ops": 1, "ops ": 2}}]}}})  # fmt: skip
    assert twice.startswith("dimensions.team.shared.0") and "weights" in twice
