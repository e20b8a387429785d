"""Validation of /v1/costs parameters, and the JSON shape of answers (no I/O)."""

from __future__ import annotations

from datetime import datetime

import pytest

from outlay.spread import Grain
from services.gateway.query import (
    CostQuery,
    Filters,
    GroupKey,
    Metric,
    QueryError,
    TimeRange,
    build_query,
    parse_group_by,
    parse_instant,
    parse_range,
)
from services.gateway.report import CostReport, CostRow, KindAmounts, ReconciliationReport

NOW = datetime(2024, 5, 10, 13, 37, 12)


def query(**overrides: object) -> CostQuery:
    params: dict[str, object] = {
        "start": None,
        "end": None,
        "granularity": None,
        "group_by": [],
        "dimension_filters": {},
        "tag_filters": [],
        "metric": None,
        "now": NOW,
    }
    params.update(overrides)
    return build_query(**params)  # type: ignore[arg-type]


def fields(exc: pytest.ExceptionInfo[QueryError]) -> list[str]:
    return [e.field for e in exc.value.errors]


def test_instants_are_naive_utc() -> None:
    assert parse_instant("2024-05-01", "start") == datetime(2024, 5, 1)
    assert parse_instant("2024-05-01T10:00:00Z", "start") == datetime(2024, 5, 1, 10)
    assert parse_instant("2024-05-01T12:00:00+02:00", "start") == datetime(2024, 5, 1, 10)
    with pytest.raises(QueryError) as exc:
        parse_instant("01/05/2024", "end")
    assert fields(exc) == ["end"]


def test_default_ranges_end_with_the_current_bucket() -> None:
    assert parse_range(None, None, Grain.DAY, NOW) == TimeRange(datetime(2024, 4, 11), datetime(2024, 5, 11))
    assert parse_range(None, None, Grain.MINUTE, NOW) == TimeRange(
        datetime(2024, 5, 10, 12, 38), datetime(2024, 5, 10, 13, 38)
    )
    assert parse_range("2024-05-01", None, Grain.DAY, NOW).end == datetime(2024, 5, 31)


def test_bounds_must_be_aligned_and_ordered() -> None:
    with pytest.raises(QueryError) as exc:
        parse_range("2024-05-01T10:30", "2024-05-01T11:15", Grain.HOUR)
    assert fields(exc) == ["start", "end"]
    with pytest.raises(QueryError) as exc:
        parse_range("2024-05-02", "2024-05-02", Grain.DAY)
    assert fields(exc) == ["end"]


def test_group_by_accepts_lists_and_tags_and_adds_implicit_groups() -> None:
    keys = parse_group_by(["service,tag:team", "region", "service"])
    assert [k.label for k in keys] == ["service", "tag:team", "region", "currency", "cost_kind"]
    assert parse_group_by(["cost_kind"])[0] == GroupKey("cost_kind")
    with pytest.raises(QueryError) as exc:
        parse_group_by(["colour", "tag: "])
    assert fields(exc) == ["group_by", "group_by"]


def test_filters_and_errors_are_collected() -> None:
    q = query(
        dimension_filters={"service": ["A", "B", "A"], "region": []},
        tag_filters=["team:x", "team:y", "env:p"],
    )
    assert q.filters == Filters(dimensions={"service": ("A", "B")}, tags={"team": ("x", "y"), "env": ("p",)})
    assert q.metric is Metric.BILLED and q.grain is Grain.DAY
    with pytest.raises(QueryError) as exc:
        query(granularity="week", start="x", tag_filters=["nocolon"], metric="amortized")
    assert sorted(fields(exc)) == ["granularity", "metric", "start", "tag"]


def test_bucket_cap_names_granularity() -> None:
    with pytest.raises(QueryError) as exc:
        query(granularity="minute", start="2024-01-01", end="2024-02-01", max_cells=20_000)
    assert fields(exc) == ["granularity"]
    assert "44640 minute buckets" in str(exc.value)


def test_report_totals_never_mix_currencies_or_kinds() -> None:
    q = query(start="2024-05-01", end="2024-05-02", group_by=["service"])
    rows = [
        CostRow(datetime(2024, 5, 1), ("EC2", "USD", "billed"), 1_500_000_000),
        CostRow(datetime(2024, 5, 1), ("EC2", "USD", "billed"), 1),
    ]
    body = CostReport(q, rows).to_json()
    assert (body["currency"], body["cost_kind"], body["total"]) == ("USD", "billed", "1.500000001")
    assert body["rows"][0] == {
        "period_start": "2024-05-01T00:00:00Z",
        "group": {"service": "EC2", "currency": "USD", "cost_kind": "billed"},
        "cost": "1.500000000",
    }
    mixed = CostReport(q, [*rows, CostRow(datetime(2024, 5, 1), ("EC2", "EUR", "billed"), 2)]).to_json()
    assert mixed["total"] is None and mixed["currency"] is None and len(mixed["totals"]) == 2
    assert CostReport(q, []).to_json()["total"] == "0.000000000"


def test_reconciliation_differences() -> None:
    day = datetime(2024, 5, 1)
    report = ReconciliationReport(
        day, datetime(2024, 5, 2), "billed", {(day, "EC2", "USD"): KindAmounts(estimated=3, billed=4)}
    )
    body = report.to_json()
    assert body["rows"][0]["difference"] == "0.000000001" and body["rows"][0]["difference_pct"] == "33.33"
    assert body["totals"][0]["billed"] == "0.000000004"
