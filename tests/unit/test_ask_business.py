"""Unit-cost, gross-margin, correlation and allocation questions: the query kinds, their checks against the tenant's
vocabulary, the requests they make, and the answers built from those routes' bodies (no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from outlay.ask.api import ApiRequest, business_request
from outlay.ask.business_answer import allocation_totals, ratio_text, unit_lines
from outlay.ask.model import AskGrain, Filter, Period, QueryKind, StructuredQuery
from outlay.ask.parser import CannotAnswer, parse, understand
from outlay.ask.service import Refused, ask
from outlay.ask.validate import problems
from outlay.ask.vocabulary import Vocabulary
from tests.fixtures.ask.phrasings import load

NOW = datetime(2026, 11, 30, 15, tzinfo=UTC)
OCTOBER = Period(start=date(2026, 10, 1), end=date(2026, 11, 1))
VOCAB = Vocabulary.of(
    {"service": ["AmazonEC2"]},
    {"customer": ["acme", "globex"], "team": ["checkout"]},
    {"requests": {"customer": ["acme", "initech"]}, "revenue": {"customer": ["acme"]}},
    ["product", "team"],
)
ACME = Filter(dimension="tag:customer", values=("acme",))


def unit(**kw: Any) -> StructuredQuery:
    return StructuredQuery.model_validate({"kind": "unit_cost", "period": OCTOBER, **kw})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "cost", "business_metric": "requests"}, "not for kind cost"),
        ({"group_by": ["service"]}, "groups only by tag:customer or tag:feature"),
        ({"group_by": ["tag:customer"], "filters": [{"dimension": "service", "values": ["x"]}]}, "filters only"),
        ({"compare_to": {"start": "2026-09-01", "end": "2026-10-01"}}, "one period"),
        ({"shared_by_usage": True}, "needs group_by"),
        ({"kind": "gross_margin", "business_metric": "orders"}, "business_metric and per must be null"),
        ({"kind": "correlation", "group_by": ["tag:customer"]}, "no group_by"),
        ({"kind": "correlation", "limit": 3}, "no groups to limit"),
        ({"kind": "allocation"}, "needs allocate_by"),
        ({"kind": "allocation", "allocate_by": "team", "grain": "day"}, "grain total"),
        ({"allocate_by": "team"}, "only for kind allocation"),
        ({"business_metric": "Not A Name"}, "pattern"),
        ({"per": 0}, "greater than or equal to 1"),
    ],
)
def test_the_model_refuses_what_the_routes_cannot_answer(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        unit(**fields)


def test_metrics_values_and_dimensions_must_be_the_tenants() -> None:
    assert problems(unit(business_metric="requests", per=1000, group_by=["tag:customer"], filters=[ACME]), VOCAB) == []
    # A customer known only from its figures (no cost tagged yet) may be asked about.
    initech = Filter(dimension="tag:customer", values=("initech",))
    assert problems(unit(group_by=["tag:customer"], filters=[initech]), VOCAB) == []
    (signups,) = problems(unit(business_metric="signups"), VOCAB)
    assert "'signups' is not a business metric you have posted" in signups and "requests, revenue" in signups
    (other,) = problems(unit(group_by=["tag:customer"], filters=[Filter(dimension="tag:customer", values=("umbrella",))]), VOCAB)  # fmt: skip
    assert other == "'umbrella' not among your customer values"
    assert problems(StructuredQuery(kind=QueryKind.CORRELATION, period=OCTOBER, business_metric="orders"), VOCAB)
    assert problems(StructuredQuery(kind=QueryKind.CORRELATION, period=OCTOBER), VOCAB) == []  # revenue is posted
    no_revenue = Vocabulary.of({}, {}, {"requests": {}})
    (margin,) = problems(StructuredQuery(kind=QueryKind.GROSS_MARGIN, period=OCTOBER), no_revenue)
    assert "'revenue'" in margin
    allocation = StructuredQuery(kind=QueryKind.ALLOCATION, period=OCTOBER, allocate_by="region")
    assert problems(allocation, VOCAB) == [
        "the allocation rules define no dimension 'region' (they define: product, team)"
    ]
    assert problems(allocation, Vocabulary()) == ["there are no allocation rules yet (PUT /v1/allocation/rules)"]
    # Without a named figure, unit_cost divides by requests when there are any: nothing to refuse.
    assert problems(unit(), Vocabulary()) == []


def test_each_kind_is_one_request_to_its_route() -> None:
    q = unit(business_metric="requests", per=1000, group_by=["tag:customer"], filters=[ACME], shared_by_usage=True)
    assert business_request(q).url() == (
        "/v1/unit-costs?metric=requests&per=1000&by=customer&start=2026-10-01&end=2026-11-01&grain=day"
        "&cost_metric=billed&shared=by_usage"
    )
    assert business_request(unit(grain=AskGrain.HOUR)).url() == (
        "/v1/unit-costs?metric=requests&by=none&start=2026-10-01&end=2026-11-01&grain=hour&cost_metric=billed"
    )
    margin = StructuredQuery(kind=QueryKind.GROSS_MARGIN, period=OCTOBER, metric="effective")
    assert business_request(margin).value("metric") == "revenue" and business_request(margin).value("per") == "1"
    assert business_request(margin).value("cost_metric") == "effective"
    corr = StructuredQuery(kind=QueryKind.CORRELATION, period=OCTOBER)
    assert business_request(corr).url() == (
        "/v1/unit-economics/correlation?driver=revenue&start=2026-10-01&end=2026-11-01&cost_metric=billed"
    )
    alloc = StructuredQuery(kind=QueryKind.ALLOCATION, period=OCTOBER, allocate_by="team")
    assert business_request(alloc).url() == (
        "/v1/allocation?by=team&start=2026-10-01&end=2026-11-01&grain=day&metric=billed"
    )
    with pytest.raises(ValueError, match="GET /v1/costs"):
        business_request(StructuredQuery(period=OCTOBER))


def line(kind: str, group: str | None, cost: str, unit_cost: str | None, margin: str | None = None) -> dict[str, Any]:
    return {
        "kind": kind, "group": group, "currency": "USD", "cost": cost, "driver": "1000" if unit_cost else None,
        "unit_cost": unit_cost, "revenue": None, "gross_margin": margin, "gross_margin_pct": None,
        "shared_cost": "0.000000000",
        "periods": [{"period_start": "2026-10-01T00:00:00Z", "cost": cost, "driver": None, "unit_cost": unit_cost,
                     "revenue": None, "gross_margin": margin, "gross_margin_pct": None, "shared_cost": None}],
    }  # fmt: skip


UNIT_BODY = {
    "metric": "requests",
    "per": "1000",
    "lines": [
        line("group", "globex", "50.000000000", "0.500000000", "-5.000000000"),
        line("group", "acme", "30.000000000", "3.000000000", "70.000000000"),
        line("group", "initech", "20.000000000", None),
        line("unallocated", None, "10.000000000", "0.100000000"),
        line("total", None, "110.000000000", "1.100000000"),
    ],
    "notes": ["a note of the route's"],
}


def test_unit_lines_rank_filter_and_keep_the_unallocated_line() -> None:
    # No figure named: groups by their cost, as the route orders them; unallocated and total follow.
    by_cost = unit_lines(unit(group_by=["tag:customer"]), UNIT_BODY)
    assert [(u.kind, u.group) for u in by_cost] == [
        ("group", "globex"), ("group", "acme"), ("group", "initech"), ("unallocated", None), ("total", None),
    ]  # fmt: skip
    # A figure named: by unit cost, a line without one last; top 1.
    top = unit_lines(unit(group_by=["tag:customer"], business_metric="requests", per=1000, limit=1), UNIT_BODY)
    assert [(u.group, u.unit_cost) for u in top[:1]] == [("acme", "3.000000000")] and len(top) == 3
    cheapest = unit_lines(unit(group_by=["tag:customer"], business_metric="requests", descending=False), UNIT_BODY)
    assert [u.group for u in cheapest if u.kind == "group"] == ["globex", "acme", "initech"]
    # A customer named: its line only, per day when asked.
    acme = unit_lines(unit(group_by=["tag:customer"], filters=[ACME], grain=AskGrain.DAY), UNIT_BODY)
    assert [(u.group, u.period_start, u.cost) for u in acme] == [
        ("acme", None, "30.000000000"), ("acme", "2026-10-01T00:00:00Z", "30.000000000"),
    ]  # fmt: skip
    margins = unit_lines(
        StructuredQuery(kind=QueryKind.GROSS_MARGIN, period=OCTOBER, group_by=["tag:customer"]), UNIT_BODY
    )
    assert [u.group for u in margins if u.kind == "group"] == ["acme", "globex", "initech"]


def test_allocation_totals_cut_owners_but_never_the_unallocated_value() -> None:
    body = {
        "dimension": "team", "rules_version": 2, "unallocated_value": "(unallocated)",
        "totals": [{
            "currency": "USD", "cost_kind": "billed", "total": "100.000000000", "allocated": "75.000000000",
            "unallocated": "25.000000000", "allocated_share": 0.75,
            "values": [
                {"value": "checkout", "direct": "40.000000000", "shared": {"support": "5.000000001"}, "total": "45.000000001"},
                {"value": "search", "direct": "29.999999999", "shared": {}, "total": "29.999999999"},
                {"value": "(unallocated)", "direct": "25.000000000", "shared": {}, "total": "25.000000000"},
            ],
        }],
    }  # fmt: skip
    query = StructuredQuery(kind=QueryKind.ALLOCATION, period=OCTOBER, allocate_by="team", limit=1)
    (total,) = allocation_totals(query, body)
    assert [(v.value, v.shared, v.total) for v in total.values] == [
        ("checkout", "5.000000001", "45.000000001"), ("(unallocated)", "0.000000000", "25.000000000"),
    ]  # fmt: skip
    assert total.allocated_share == 0.75 and total.unallocated == "25.000000000" and total.rules_version == 2


def test_small_unit_costs_keep_their_digits() -> None:
    assert ratio_text("0.000123456", "USD") == "0.0001235 USD"
    assert ratio_text("1234.5", "USD") == "1,234.50 USD"
    assert ratio_text(None, "USD") == "n/a"


class Api:
    """The ask service's ports over fixed bodies; `refuse` makes the business route refuse."""

    def __init__(self, body: dict[str, Any], refuse: str | None = None) -> None:
        self.body, self.refuse = body, refuse
        self.seen: list[str] = []

    async def vocabulary(self) -> Vocabulary:
        return VOCAB

    async def costs(self, request: ApiRequest) -> dict[str, Any]:
        raise AssertionError("a business question must not read GET /v1/costs")

    async def anomalies(self, request: ApiRequest) -> list[dict[str, Any]] | None:
        raise AssertionError("a business question must not read anomalies")

    async def business(self, request: ApiRequest) -> dict[str, Any]:
        self.seen.append(request.url())
        if self.refuse:
            raise Refused(self.refuse)
        return self.body


async def test_a_unit_question_answers_with_the_routes_numbers() -> None:
    api = Api(UNIT_BODY)
    answer = await ask("cost per 1,000 requests for acme in October", NOW, api)
    assert answer.answered and answer.query is not None and answer.query.kind is QueryKind.UNIT_COST
    assert api.seen == [answer.api_calls[0]] and answer.api_calls[0].startswith("/v1/unit-costs?metric=requests")
    assert [(u.group, u.unit_cost) for u in answer.unit_lines] == [("acme", "3.000000000")]
    assert "acme: 30.00 USD, 3.00 USD per 1,000 requests (1,000 requests)" in answer.explanation
    assert "a note of the route's" in answer.explanation
    assert answer.totals == [] and answer.rows == []


async def test_correlation_and_allocation_answers() -> None:
    corr = {
        "driver": "revenue", "currency": "USD", "days": 30, "pearson": 0.91, "elasticity": 0.42,
        "fixed_cost_per_day": "12.500000000", "fixed_share": 0.4, "mean_daily_cost": "31.250000000",
        "explanation": "about 12.50 a day does not move with revenue", "points": [],
    }  # fmt: skip
    answer = await ask("how does cost move with revenue in October?", NOW, Api(corr))
    assert answer.correlation is not None and answer.correlation.elasticity == 0.42
    assert (
        "Elasticity 0.42" in answer.explanation and "12.50 USD a day (40% of the mean daily cost)" in answer.explanation
    )
    refused = await ask("what share of cost is unallocated in October?", NOW, Api({}, refuse="by: no rules"))
    assert not refused.answered and "the API refused the query (by: no rules)" in refused.explanation
    assert refused.allocation == [] and refused.understood["kind"] == "allocation"


def test_the_parser_names_an_unposted_metric_and_an_unknown_customer() -> None:
    result = parse("cost per 1,000 signups last month", NOW, VOCAB)
    assert isinstance(result, CannotAnswer) and "'signups' is not a business metric you have posted" in result.reason
    unknown = parse("cost per 1,000 requests for umbrella last month", NOW, VOCAB)
    assert isinstance(unknown, CannotAnswer) and "umbrella" in unknown.reason
    no_rules = parse("what share of cost is unallocated", NOW, Vocabulary.of({}, {}))
    assert isinstance(no_rules, CannotAnswer) and "no allocation rules yet" in no_rules.reason
    result, notes = understand("unallocated cost last month", NOW, VOCAB)
    assert isinstance(result, StructuredQuery) and result.allocate_by == "team"
    assert any("your rules define product, team" in n for n in notes)


def test_cost_per_customer_stays_a_cost_grouping_where_unit_costs_cannot_answer() -> None:
    # GET /v1/unit-costs reads the tag `customer` exactly: a tenant tagging `Customer` gets the cost grouped by it.
    capital = Vocabulary.of({}, {"Customer": ["acme"]})
    result = parse("cost per customer last month", NOW, capital)
    assert isinstance(result, StructuredQuery) and result.kind is QueryKind.COST
    assert result.group_by == ("tag:Customer",)
    # With a figure named, the question is about unit costs and cannot be answered without the `customer` tag.
    refused = parse(
        "cost per 1,000 requests per customer last month", NOW, Vocabulary.of({}, {"Customer": ["a"]}, {"requests": {}})
    )
    assert isinstance(refused, CannotAnswer) and "tag:customer" in refused.reason


PHRASINGS = load()
PHRASE_WORDS = sorted({w for case in PHRASINGS.cases for w in case.question.split()})


@given(st.lists(st.sampled_from(PHRASE_WORDS), min_size=1, max_size=12).map(" ".join))
@settings(max_examples=400, deadline=None)
def test_any_mix_of_question_words_parses_to_a_query_the_vocabulary_allows_or_a_refusal(question: str) -> None:
    result = parse(question, PHRASINGS.now, PHRASINGS.vocabulary)
    if isinstance(result, CannotAnswer):
        assert result.reason
    else:  # the parser checks as it reads: what it emits passes the same check an LLM's query gets
        assert problems(result, PHRASINGS.vocabulary) == [], (question, result)


@pytest.mark.parametrize(
    ("words", "per"),
    [("per 1,000", 1000), ("per 1000", 1000), ("per 1k", 1000), ("per 1.5k", 1500), ("per a thousand", 1000),
     ("per million", 10**6), ("per", 1), ("per 1,000,000,000,000", 10**12)],
)  # fmt: skip
def test_per_n(words: str, per: int) -> None:
    result = parse(f"cost {words} requests last month", NOW, VOCAB)
    assert isinstance(result, StructuredQuery) and result.per == per and result.business_metric == "requests"


@pytest.mark.parametrize("words", ["per 0", "per 0.5", "per 10,000,000,000,000", "per " + "9" * 40])
def test_per_n_out_of_range_is_refused_by_name(words: str) -> None:
    result = parse(f"cost {words} requests last month", NOW, VOCAB)
    assert isinstance(result, CannotAnswer) and f"'{words}' needs a whole number" in result.reason
