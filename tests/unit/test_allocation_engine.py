"""The allocation engine over cost lines: shared splits (even, proportional, weights), exact reconciliation with the
total in integer nano-units, deterministic remainders, and unallocated cost always shown."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import pytest

from outlay.allocation import UNALLOCATED, AllocationRules, Allocator, CostLine, LineKey, allocate_lines
from outlay.allocation.engine import BucketAllocation
from outlay.allocation.periods import ReportGrain
from outlay.allocation.report import build_report
from outlay.allocation.split import split_by_weights

DAY = datetime(2026, 11, 2)


def line(nanos: int, tags: dict[str, str] | None = None, *, service: str = "EC2", charge: str = "Usage",
         currency: str = "USD", day: datetime = DAY) -> CostLine:  # fmt: skip
    key = LineKey("111", "", "us-east-1", service, "", tuple(sorted((tags or {}).items())), currency=currency,
                  charge_category=charge)  # fmt: skip
    return CostLine(day, key, nanos)


def allocate(dimension_rules: dict[str, Any], lines: list[CostLine]) -> list[BucketAllocation]:
    rules = AllocationRules.model_validate({"dimensions": {"team": dimension_rules}})
    return allocate_lines(lines, Allocator(rules), "team")


def totals(bucket: BucketAllocation) -> dict[str, int]:
    return {value: amounts.total for value, amounts in bucket.values.items()}


TAGS = {"tags": {"keys": ["team"]}}


def test_split_by_weights_is_exact_and_deterministic() -> None:
    assert split_by_weights(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    assert split_by_weights(-10, {"a": 1, "b": 1, "c": 1}) == {"a": -4, "b": -3, "c": -3}
    assert split_by_weights(7, {"b": 1, "a": 1}) == {"a": 4, "b": 3}  # the tie goes to the name sorting first
    assert split_by_weights(100, {"x": 3, "y": 1}) == {"x": 75, "y": 25}
    assert split_by_weights(2, {"big": 2, "small": 1}) == {"big": 1, "small": 1}  # 1.33 / 0.67: largest remainder
    rng = random.Random(7)
    for _ in range(500):
        weights = {f"v{i}": rng.randint(1, 10**12) for i in range(rng.randint(1, 12))}
        total = rng.randint(-(10**15), 10**15)
        parts = split_by_weights(total, weights)
        assert sum(parts.values()) == total
        assert all(abs(p - total * weights[v] / sum(weights.values())) < 1 for v, p in parts.items())
    with pytest.raises(ValueError):
        split_by_weights(1, {"a": 0})


def test_even_split_across_owners_with_direct_cost() -> None:
    rules = {**TAGS, "shared": [{"name": "support", "match": {"services": ["Support"]}, "split": "even"}]}
    (bucket,) = allocate(
        rules, [line(600, {"team": "a"}), line(300, {"team": "b"}), line(100), line(10, service="Support")]
    )
    assert totals(bucket) == {"a": 605, "b": 305, UNALLOCATED: 100}
    assert bucket.values["a"].shared == {"support": 5} and bucket.values["a"].direct == 600
    assert bucket.total == 1010 == sum(totals(bucket).values())


def test_proportional_split_follows_direct_cost_and_its_basis() -> None:
    rules = {**TAGS, "shared": [
        {"name": "ri", "match": {"charge_categories": ["RIFee"]}, "split": "proportional"},
        {"name": "transfer", "match": {"services": ["Data Transfer"]}, "split": "proportional",
         "basis": {"services": ["EC2"]}},
    ]}  # fmt: skip
    lines = [
        line(3_000, {"team": "a"}),
        line(1_000, {"team": "b"}),
        line(5_000, {"team": "b"}, service="S3"),
        line(1_001, charge="RIFee"),
        line(400, service="Data Transfer"),
    ]
    (bucket,) = allocate(rules, lines)
    # RI fees by all direct cost (a 3000, b 6000); transfer by EC2 direct cost only (a 3000, b 1000).
    assert bucket.values["a"].shared == {"ri": 334, "transfer": 300}
    assert bucket.values["b"].shared == {"ri": 667, "transfer": 100}
    assert sum(totals(bucket).values()) == sum(x.nanos for x in lines)


def test_fixed_weights_and_among() -> None:
    rules = {**TAGS, "shared": [
        {"name": "support", "match": {"services": ["Support"]}, "split": "weights",
         "weights": {"Checkout": "2.5", "search": "0.5"}},
        {"name": "bi", "match": {"services": ["QuickSight"]}, "split": "even", "among": ["Analytics"]},
    ]}  # fmt: skip
    (bucket,) = allocate(
        rules, [line(1_000, service="Support"), line(77, service="QuickSight"), line(5, {"team": "x"})]
    )
    assert totals(bucket) == {"checkout": 833, "search": 167, "analytics": 77, "x": 5, UNALLOCATED: 0}


def test_a_pool_with_nobody_to_carry_it_stays_unallocated_and_visible() -> None:
    rules = {**TAGS, "shared": [{"name": "ri", "match": {"charge_categories": ["RIFee"]}, "split": "proportional"}]}
    (bucket,) = allocate(rules, [line(50, charge="RIFee"), line(20)])
    assert bucket.values[UNALLOCATED].shared == {"ri": 50} and bucket.values[UNALLOCATED].total == 70
    assert bucket.unallocated_gross == bucket.gross == 70


def test_credits_do_not_give_anyone_a_negative_weight() -> None:
    rules = {**TAGS, "shared": [{"name": "support", "match": {"services": ["Support"]}, "split": "proportional"}]}
    (bucket,) = allocate(rules, [line(100, {"team": "a"}), line(-40, {"team": "b"}), line(9, service="Support")])
    assert totals(bucket) == {"a": 109, "b": -40, UNALLOCATED: 0}  # shown even when nothing is left


def test_currencies_and_days_are_never_added_together() -> None:
    lines = [line(5, {"team": "a"}), line(7, {"team": "a"}, currency="EUR"),
             line(11, {"team": "a"}, day=datetime(2026, 11, 3))]  # fmt: skip
    buckets = allocate(TAGS, lines)
    assert [(b.period_start.day, b.currency, b.total) for b in buckets] == [
        (2, "EUR", 7),
        (2, "USD", 5),
        (3, "USD", 11),
    ]


def test_random_lines_always_reconcile_and_repeat_exactly() -> None:
    rng = random.Random(11)
    rules = {**TAGS, "accounts": {"111": "fallback"}, "order": ["tags"], "shared": [
        {"name": "p", "match": {"services": ["P"]}, "split": "proportional"},
        {"name": "e", "match": {"services": ["E"]}, "split": "even"},
        {"name": "w", "match": {"services": ["W"]}, "split": "weights", "weights": {"a": 1, "zz": 3}},
    ]}  # fmt: skip
    for _ in range(50):
        lines = [
            line(rng.randint(-10**9, 10**12), {"team": rng.choice("abc")} if rng.random() < 0.6 else None,
                 service=rng.choice(["EC2", "P", "E", "W"]), day=datetime(2026, 11, rng.randint(1, 3)))
            for _ in range(rng.randint(1, 60))
        ]  # fmt: skip
        first = allocate(rules, lines)
        rng.shuffle(lines)
        assert allocate(rules, lines) == first  # the order lines arrive in changes nothing
        for bucket in first:
            assert sum(totals(bucket).values()) == bucket.total
        assert sum(b.total for b in first) == sum(x.nanos for x in lines)


def test_report_totals_and_share() -> None:
    rules = AllocationRules.model_validate({"dimensions": {"team": TAGS}})
    lines = [line(300, {"team": "a"}), line(-100), line(100, {"team": "b"}, day=datetime(2026, 11, 3))]
    report = build_report(
        lines, rules, 4, "team", datetime(2026, 11, 1), datetime(2026, 12, 1), ReportGrain.DAY, "billed"
    )
    (summary,) = report.totals
    assert (summary.total, summary.allocated, summary.unallocated) == (300, 400, -100)
    assert summary.allocated_share == pytest.approx(400 / 500)  # gross: the $100 credit is cost to account for
    body = report.to_json()
    assert body["totals"][0]["values"][-1]["value"] == UNALLOCATED  # always listed, last
    assert body["totals"][0]["total"] == "0.000000300" and body["rules_version"] == 4


def test_a_pattern_that_backtracks_without_end_fails_the_report_instead_of_hanging() -> None:
    from outlay.allocation.engine import PatternTooSlow

    key = LineKey("111", "", "us-east-1", "EC2", "a" * 60 + "!", ())
    rules = {"resources": [{"pattern": "^(a|aa)+$", "value": "x"}]}
    with pytest.raises(PatternTooSlow, match="took too long"):
        allocate(rules, [CostLine(DAY, key, 1_000)])
    # The same kind of rule, written without nested repetition, allocates the line.
    allocated = totals(allocate({"resources": [{"pattern": "^a+!$", "value": "x"}]}, [CostLine(DAY, key, 1_000)])[0])
    assert allocated["x"] == 1_000 and allocated[UNALLOCATED] == 0
