"""A rollup answer rendered as JSON by PostgreSQL, for answers too large to walk row by row in Python.

`report.CostReport.to_json` is the reference: the same rows in the same order, the same money and instant texts,
the same totals (tests compare the two on the same data). PostgreSQL builds the rows' JSON text and the totals in
one statement over the grouped cells (a CTE, computed once); the gateway wraps them in the answer's head without
parsing the rows. SQLite, and minute answers (spread in Python), use the reference.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Numeric, Select, Text, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from services.gateway.query import CostQuery, too_many_cells
from services.gateway.report import answer

ISO = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'  # naive UTC bucket starts, whole seconds: as `report.iso` writes them
EMPTY: ColumnElement[Any] = literal_column("'[]'::json")


def money_text(nanos: ColumnElement[Any]) -> ColumnElement[str]:
    """`report.money` in SQL. A product with a scale-9 numeric is exact and has scale 9, so its text always has nine
    places (and a minus sign for negatives); one multiplication is far cheaper than splitting units and fraction.
    (A division would not do: PostgreSQL rounds a quotient to about 16 significant digits.)"""
    return cast(cast(nanos, Numeric) * literal_column("0.000000001"), Text)


def json_statement(cells_stmt: Select[Any], query: CostQuery) -> Select[Any]:
    """(cell count, rows JSON, totals JSON) of the grouped cells `cells_stmt` selects: (period_start, one column
    per group key, the summed nanos)."""
    # Python's order: by bucket, then each group value with missing values last (where ascending order puts NULLs
    # in PostgreSQL), compared by code point (the "C" collation). Sorted in the CTE rather than by string_agg's own
    # ORDER BY, which sorts the aggregate's input a second time (a quarter of a large answer's time in PostgreSQL
    # 15); a plain aggregate over a materialized CTE's scan reads the rows in the order they were stored.
    sorted_cells = cells_stmt.order_by(None).order_by(
        *(col.collate("C") if i else col for i, col in enumerate(cells_stmt.selected_columns[:-1]))
    )
    cells = sorted_cells.cte("cells")
    columns = list(cells.c)
    period, groups, nanos = columns[0], columns[1:-1], columns[-1]
    labels = [key.label for key in query.group_by]
    # Rows as text built by concatenation: several times cheaper in PostgreSQL than json_build_object per row.
    # Values are escaped by to_json; keys by Python (they are the answer's labels, tag keys included).
    fields: list[Any] = ['{"period_start":"', func.to_char(period, ISO), '","group":{']
    for i, (label, g) in enumerate(zip(labels, groups, strict=True)):
        fields += [
            ("," if i else "") + json.dumps(label, ensure_ascii=False) + ":",
            func.coalesce(cast(func.to_json(g), Text), "null"),
        ]
    fields += ['},"cost":"', money_text(nanos), '"}']
    joined = func.string_agg(func.concat(*fields), literal_column("','"))
    rows = select(func.concat("[", func.coalesce(joined, ""), "]")).select_from(cells)
    currency, kind = groups[labels.index("currency")], groups[labels.index("cost_kind")]
    per_kind = (  # (currency and cost_kind are never missing in the rollups)
        select(currency.label("c"), kind.label("k"), func.sum(nanos).label("n")).group_by(currency, kind).subquery()
    )
    total = func.json_build_object(
        "currency", per_kind.c.c, "cost_kind", per_kind.c.k, "cost", money_text(per_kind.c.n)
    )
    totals = select(
        func.coalesce(
            func.json_agg(aggregate_order_by(total, per_kind.c.c.collate("C"), per_kind.c.k.collate("C"))), EMPTY
        )
    ).select_from(per_kind)
    count = select(func.count()).select_from(cells)
    # Totals as text: the driver would decode json values into Python objects.
    return select(count.scalar_subquery(), rows.scalar_subquery(), cast(totals.scalar_subquery(), Text))


def body(query: CostQuery, cells: int, rows_json: str, totals_json: str) -> bytes:
    """The answer's bytes around the rows PostgreSQL rendered (embedded as they are)."""
    if cells > query.max_cells:
        raise too_many_cells(query)
    return orjson.dumps(answer(query, orjson.Fragment(rows_json), orjson.loads(totals_json)))
