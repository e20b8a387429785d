"""FOCUS parser on the FinOps Foundation FOCUS 1.0 sample (CC BY 4.0, 1,000 rows, AWS + Microsoft + Oracle)."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pytest

from outlay.events import UsageRecord
from outlay.money import cents
from services.ingest.sources.base import ParsedRow, RejectedRow
from services.ingest.sources.detect import detect_format, parse_export, parser_for
from services.ingest.sources.tabular import iter_table


def accepted(parsed: Iterable[ParsedRow]) -> list[UsageRecord]:
    items = list(parsed)
    assert all(isinstance(p, UsageRecord) for p in items)
    return [p for p in items if isinstance(p, UsageRecord)]


@pytest.fixture(scope="module")
def focus_file(shared_data: Path) -> Path:
    return shared_data / "focus_sample" / "focus_sample.csv"


@pytest.fixture(scope="module")
def file_rows(focus_file: Path) -> list[dict[str, str]]:
    with focus_file.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def records(focus_file: Path) -> list[UsageRecord]:
    parsed = list(parse_export(focus_file, uri="file:///focus_sample.csv"))
    rejected = [p for p in parsed if isinstance(p, RejectedRow)]
    assert rejected == []
    return [p for p in parsed if isinstance(p, UsageRecord)]


def test_detected_as_focus(focus_file: Path) -> None:
    columns, rows = iter_table(focus_file)
    rows.close()
    assert detect_format(columns) == "focus"
    assert parser_for(columns).format == "focus"


def test_row_count_matches_file(records: list[UsageRecord], file_rows: list[dict[str, str]]) -> None:
    assert len(file_rows) == 1000
    assert len(records) == len(file_rows)


def test_billed_total_per_provider_and_day_matches_file(
    records: list[UsageRecord], file_rows: list[dict[str, str]]
) -> None:
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in file_rows:
        expected[(row["ProviderName"], row["ChargePeriodStart"][:10])] += Decimal(row["BilledCost"])
    actual: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for record in records:
        actual[(record.provider, record.charge_period_start.date().isoformat())] += record.billed_cost
    assert actual.keys() == expected.keys()
    for key, total in expected.items():
        assert cents(actual[key]) == cents(total), key
        assert actual[key] == total, key  # exact, not only to the cent
    assert {provider for provider, _ in expected} == {"AWS", "Microsoft", "Oracle"}


def test_all_providers_and_their_counts(records: list[UsageRecord]) -> None:
    assert Counter(r.provider for r in records) == {"AWS": 942, "Microsoft": 51, "Oracle": 7}


def test_effective_and_list_cost_come_from_their_columns(
    records: list[UsageRecord], file_rows: list[dict[str, str]]
) -> None:
    assert sum(r.effective_cost for r in records) == sum(Decimal(row["EffectiveCost"]) for row in file_rows)
    assert sum(r.list_cost for r in records) == sum(Decimal(row["ListCost"]) for row in file_rows)


def test_fields_of_the_first_row(records: list[UsageRecord]) -> None:
    first = records[0]
    assert first.source == "focus"
    assert first.cost_kind == "billed"
    assert first.provider == "AWS"
    assert first.billing_account_id == "1234567890123"
    assert first.sub_account_id == "51738928782"
    assert first.region == "us-west-2"
    assert first.service == "Amazon Simple Queue Service"
    assert first.service_category == "Integration"
    assert first.charge_category == "Usage"
    assert first.consumed_quantity == Decimal("2")
    assert first.consumed_unit == "Requests"
    assert first.billed_cost == Decimal("0.00000080000")
    assert first.currency == "USD"
    assert first.charge_period_start.isoformat() == "2024-09-18T22:00:00+00:00"
    assert first.minutes == 60  # native hourly period, not split


def test_tags_are_the_json_object(records: list[UsageRecord], file_rows: list[dict[str, str]]) -> None:
    for record, row in zip(records, file_rows, strict=True):
        raw = {} if row["Tags"] == "NULL" else json.loads(row["Tags"])
        expected = {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items() if v is not None}
        assert record.tags == expected
    assert any(record.tags for record in records)


def test_oracle_region_falls_back_to_region_name(records: list[UsageRecord], file_rows: list[dict[str, str]]) -> None:
    oracle = [(r, row) for r, row in zip(records, file_rows, strict=True) if r.provider == "Oracle"]
    assert len(oracle) == 7
    for record, row in oracle:
        assert row["RegionId"] == "NULL"
        assert record.region == row["RegionName"]
    assert {r.region for r, _ in oracle} == {"us-sanjose-1", "us-phoenix-1"}


def test_negative_usage_reversals_are_kept(records: list[UsageRecord]) -> None:
    # Microsoft reverses usage with negative quantity and cost on Usage rows: part of the bill.
    reversals = [r for r in records if r.charge_category == "Usage" and r.billed_cost < 0]
    assert reversals and all(r.provider == "Microsoft" for r in reversals)


def test_ids_unique_and_stable_on_replay(focus_file: Path, records: list[UsageRecord]) -> None:
    ids = [r.record_id for r in records]
    assert len(set(ids)) == len(ids)
    # The sample's Id column is unique, so ids do not depend on where the file is read from.
    again = [p.record_id for p in accepted(parse_export(focus_file, uri="s3://bucket/other/place.csv"))]
    assert again == ids


def test_periods_are_whole_minutes(records: list[UsageRecord]) -> None:
    for record in records:
        assert record.charge_period_start.second == 0 and record.charge_period_end.second == 0
        assert record.charge_period_end > record.charge_period_start


def test_every_record_carries_the_tenant_the_file_is_parsed_for(focus_file: Path, records: list[UsageRecord]) -> None:
    assert {r.tenant_id for r in records} == {"default"}
    acme = accepted(parse_export(focus_file, uri="file:///focus_sample.csv", tenant_id="acme"))
    assert {r.tenant_id for r in acme} == {"acme"}
    # Everything else is the same, ids included: ids are unique within a tenant, the ledger keys on both.
    assert [r.model_copy(update={"tenant_id": "default"}) for r in acme] == records
    assert UsageRecord.model_validate_json(acme[0].model_dump_json()) == acme[0]
    with pytest.raises(ValueError, match="tenant id 'Acme'"):
        next(iter(parse_export(focus_file, tenant_id="Acme")))
