"""Numbers and explanations from the cost API's bodies: exact sums, rankings, currencies kept apart."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from outlay.ask.answer import explain, figures
from outlay.ask.api import ApiRequest, requests_for
from outlay.ask.model import AskGrain, Filter, Intent, OrderBy, Period, StructuredQuery
from outlay.ask.service import Refused, ask
from outlay.ask.vocabulary import Vocabulary

WEEK = Period(start=date(2026, 11, 23), end=date(2026, 11, 30))
BEFORE = Period(start=date(2026, 11, 16), end=date(2026, 11, 23))


def body(*rows: tuple[str, str, str, str]) -> dict[str, Any]:
    """A GET /v1/costs body grouped by service: (day, service, currency, cost) rows."""
    out = [
        {"period_start": day, "group": {"service": svc, "currency": cur, "cost_kind": "billed"}, "cost": cost}
        for day, svc, cur, cost in rows
    ]
    totals: dict[str, int] = {}
    for _, _, cur, cost in rows:
        totals[cur] = totals.get(cur, 0) + int(cost.replace(".", ""))
    return {
        "rows": out,
        "totals": [
            {"currency": c, "cost_kind": "billed", "cost": f"{n // 10**9}.{n % 10**9:09d}"}
            for c, n in sorted(totals.items())
        ],
    }


NOW_BODY = body(
    ("2026-11-23T00:00:00Z", "EC2", "USD", "1.000000001"),
    ("2026-11-24T00:00:00Z", "EC2", "USD", "2.000000000"),
    ("2026-11-23T00:00:00Z", "S3", "USD", "5.000000000"),
    ("2026-11-23T00:00:00Z", "RDS", "EUR", "4.000000000"),
)
BEFORE_BODY = body(
    ("2026-11-16T00:00:00Z", "EC2", "USD", "1.000000000"),
    ("2026-11-16T00:00:00Z", "S3", "USD", "6.000000000"),
    ("2026-11-16T00:00:00Z", "Lambda", "USD", "0.500000000"),
)


def test_growth_ranking_is_exact_and_keeps_currencies_apart() -> None:
    query = StructuredQuery(period=WEEK, compare_to=BEFORE, group_by=("service",), order_by=OrderBy.CHANGE, limit=3)
    totals, rows = figures(query, NOW_BODY, BEFORE_BODY)
    assert [(t.currency, t.cost, t.previous, t.change) for t in totals] == [
        ("EUR", "4.000000000", "0.000000000", "4.000000000"),
        ("USD", "8.000000001", "7.500000000", "0.500000001"),
    ]
    assert [(r.group["service"], r.change) for r in rows] == [
        ("RDS", "4.000000000"), ("EC2", "2.000000001"), ("Lambda", "-0.500000000"),
    ]  # fmt: skip
    assert rows[1].change_pct == "200.0" and rows[0].change_pct is None  # nothing before: no percentage
    text = explain(query, totals, rows, None)
    assert "8.00 USD" in text and "4.00 EUR" in text and "RDS +4.00 EUR" in text


def test_daily_rows_and_smallest_first() -> None:
    query = StructuredQuery(period=WEEK, group_by=("service",), grain=AskGrain.DAY, descending=False, limit=1)
    _, rows = figures(query, NOW_BODY, None)
    assert [(r.period_start, r.group["service"], r.cost) for r in rows] == [
        ("2026-11-23T00:00:00Z", "EC2", "1.000000001"), ("2026-11-24T00:00:00Z", "EC2", "2.000000000"),
    ]  # fmt: skip


def test_requests_are_the_public_api_parameters() -> None:
    query = StructuredQuery(
        period=WEEK, compare_to=BEFORE, intent=Intent.EXPLAIN_SPIKE, group_by=("service",), order_by=OrderBy.CHANGE,
        filters=(Filter(dimension="tag:team", values=("checkout",)), Filter(dimension="region", values=("us-east-1",))),
    )  # fmt: skip
    now, before, anomalies = requests_for(query)
    assert now.url() == (
        "/v1/costs?start=2026-11-23&end=2026-11-30&granularity=day&metric=billed&group_by=service"
        "&region=us-east-1&tag=team%3Acheckout"
    )
    assert before is not None and before.value("start") == "2026-11-16"
    assert (
        anomalies is not None
        and anomalies.url() == "/v1/anomalies?direction=spike&since=2026-11-23&until=2026-11-30&limit=20"
    )


class Refusing:
    async def vocabulary(self) -> Vocabulary:
        return Vocabulary.of({"service": ["EC2"]}, {})

    async def costs(self, request: ApiRequest) -> dict[str, Any]:
        raise Refused("granularity: too many buckets")

    async def anomalies(self, request: ApiRequest) -> list[dict[str, Any]] | None:
        return None


async def test_a_refused_query_is_a_cannot_answer_without_numbers() -> None:
    answer = await ask("hourly EC2 cost last week", datetime(2026, 11, 30, tzinfo=UTC), Refusing())
    assert not answer.answered and answer.totals == [] and answer.rows == []
    assert "too many buckets" in answer.explanation and answer.understood["grain"] == "hour"


async def test_cannot_answer_carries_no_number() -> None:
    answer = await ask("what was our margin on acme", datetime(2026, 11, 30, tzinfo=UTC), Refusing())
    assert not answer.answered and answer.explanation.startswith("I can't answer that")
    assert answer.totals == [] and answer.query is None and answer.api_calls == []
