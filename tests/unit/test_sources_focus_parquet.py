"""FOCUS as parquet, the way exporters write it: typed timestamps, decimal costs, Tags as a map column.

The FOCUS sample ships as CSV only, so the test converts it to parquet with native types and checks the
parsed totals against the CSV's own, per provider and per day.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from outlay.events import UsageRecord
from services.ingest.sources.detect import parse_export

MONEY = pa.decimal128(38, 12)
TYPED = {
    "BilledCost": MONEY,
    "EffectiveCost": MONEY,
    "ListCost": MONEY,
    "ContractedCost": MONEY,
    "ConsumedQuantity": MONEY,
    "ChargePeriodStart": pa.timestamp("us", tz="UTC"),
    "ChargePeriodEnd": pa.timestamp("us", tz="UTC"),
    "BillingPeriodStart": pa.timestamp("us", tz="UTC"),
    "BillingPeriodEnd": pa.timestamp("us", tz="UTC"),
    "Tags": pa.map_(pa.string(), pa.string()),
}


def _cell(column: str, text: str | None) -> object:
    if text is None or text == "NULL":
        return None
    kind = TYPED.get(column)
    if kind == MONEY:
        return Decimal(text).quantize(Decimal("1e-12"))
    if isinstance(kind, pa.TimestampType):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    if column == "Tags":
        return list(json.loads(text).items())
    return text


def _to_parquet(csv_path: Path, out: Path) -> list[dict[str, str]]:
    with csv_path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    columns = list(rows[0])
    arrays = [pa.array([_cell(c, r[c]) for r in rows], type=TYPED.get(c, pa.string())) for c in columns]
    pq.write_table(pa.Table.from_arrays(arrays, names=columns), out)
    return rows


def test_focus_parquet_totals_match_the_csv(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "focus.parquet"
    rows = _to_parquet(shared_data / "focus_sample" / "focus_sample.csv", out)
    parsed = list(parse_export(out))
    records = [p for p in parsed if isinstance(p, UsageRecord)]
    assert len(records) == len(parsed) == len(rows) == 1000
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        expected[(r["ProviderName"], r["ChargePeriodStart"][:10])] += Decimal(r["BilledCost"])
    actual: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for rec in records:
        actual[(rec.provider, rec.charge_period_start.date().isoformat())] += rec.billed_cost
    assert actual.keys() == expected.keys()
    for key, amount in expected.items():
        assert abs(actual[key] - amount) < Decimal("0.000000001"), key
    tagged = [r for r in records if r.tags]
    assert tagged and all(isinstance(v, str) for r in tagged for v in r.tags.values())
