"""PostgreSQL's rendering of a cost answer is the Python reference's, row for row and character for character."""

from __future__ import annotations

import json

import pytest

from outlay.store.engine import make_engine
from services.gateway.costs_query import CostStore
from services.gateway.query import QueryError, build_query
from tests.integration.gateway_fixtures import SCENARIO, record, write_ledger

EXTRA = [
    record("credit", "AmazonEC2", "2024-05-01T10:00", "2024-05-01T11:00", "-0.250000003", tags={"team": "checkout"}),
    record("zeta", "Zeta ünïcode", "2024-05-01T10:00", "2024-05-01T11:00", "0.1", tags={"team": "Ärger"}),
    record("odd", 'Odd "svc" \\ name', "2024-05-01T12:00", "2024-05-01T13:00", "0.2", tags={"team": 'q"\\t\x01'}),
    record("big", "AmazonEC2", "2024-05-02T05:00", "2024-05-02T06:00", "123456789.123456789", resource="i-0abc"),
]
QUERIES = [
    {"granularity": "day", "group_by": ["service"]},
    {"granularity": "hour", "group_by": ["service", "region"]},
    {"granularity": "hour", "group_by": ["tag:team"]},  # missing tags: null, sorted last
    {"granularity": "day", "group_by": ["resource_id", "tag:team"], "metric": "effective"},
    {"granularity": "day", "group_by": [], "dimension_filters": {"currency": ["EUR"]}},
    {"granularity": "hour", "group_by": ["service"], "tag_filters": ["team:checkout"]},
    {"granularity": "day", "group_by": ["service"], "dimension_filters": {"service": ["Nothing"]}},  # empty
]


@pytest.mark.parametrize("params", QUERIES, ids=[str(i) for i in range(len(QUERIES))])
async def test_postgresql_renders_what_python_renders(store_url: str, params: dict[str, object]) -> None:
    engine = make_engine(store_url)
    try:
        await write_ledger(engine, [*SCENARIO, *EXTRA])
        query = build_query(
            start="2024-05-01", end="2024-05-03", granularity=params["granularity"],  # type: ignore[arg-type]
            group_by=params["group_by"], dimension_filters=params.get("dimension_filters", {}),  # type: ignore[arg-type]
            tag_filters=params.get("tag_filters", []), metric=params.get("metric"),  # type: ignore[arg-type]
        )  # fmt: skip
        store = CostStore(engine)
        reference = (await store.costs(query)).to_json()
        rendered = json.loads(await store.costs_body(query))
    finally:
        await engine.dispose()
    assert rendered == reference
    assert rendered["rows"] or params.get("dimension_filters", {}).get("service") == ["Nothing"]  # type: ignore[union-attr]


async def test_too_many_cells_is_refused_the_same_way(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        await write_ledger(engine, SCENARIO)
        query = build_query(start="2024-05-01", end="2024-05-03", granularity="day", group_by=["service"],
                            dimension_filters={}, tag_filters=[], metric=None, max_cells=2)  # fmt: skip
        with pytest.raises(QueryError) as rendered:
            await CostStore(engine).costs_body(query)
        with pytest.raises(QueryError) as reference:
            await CostStore(engine).costs(query)
    finally:
        await engine.dispose()
    assert str(rendered.value) == str(reference.value)
