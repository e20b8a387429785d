"""Route 53 price rules, against the peer's route53_zone_test golden and by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.unit.iac.support import estimate_of, golden_matches, misses, resource


def test_zone_matches_the_golden(shared_data: Path) -> None:
    found = estimate_of([resource("aws_route53_zone.zone1", {"name": "example.com"})])
    matches = golden_matches(shared_data, "route53_zone_test", found)
    assert len(matches) == 1
    assert all(m.within for m in matches), misses(matches)


def test_record_queries_are_tiered_and_alias_records_free() -> None:
    # 1.5B standard queries: 1,000M at $0.40 per million, 500M at $0.20
    usage = {"resource_usage": {"aws_route53_record.www": {"monthly_standard_queries": 1_500_000_000}}}
    found = estimate_of([resource("aws_route53_record.www", {"type": "A"}),
                         resource("aws_route53_record.alias", {"alias": [{"name": "lb"}]})], usage)  # fmt: skip
    www, alias = found.resources
    assert {c.name: c.monthly_cost for c in www.components} == {
        "Standard queries (first 1B)": Decimal("400.000000"),
        "Standard queries (over 1B)": Decimal("100.000000"),
    }
    assert alias.components == []
    zone = estimate_of([resource("aws_route53_zone.z", {})]).resources[0].components
    assert [(c.name, c.monthly_cost) for c in zone] == [("Hosted zone", Decimal("0.50"))]
