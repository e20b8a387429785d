"""Legacy CUR parser: WorkshopCUR (Athena parquet, snake headers, MIT-0) and the anonymised CUR CSV of
focus_converters (slash headers, MIT)."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from outlay.events import UsageRecord
from outlay.money import cents
from services.ingest.sources.base import ParsedRow, RejectedRow
from services.ingest.sources.columns import canonical_cur_name
from services.ingest.sources.detect import detect_format, parse_export, parser_for
from services.ingest.sources.tabular import iter_table

CUR_CSV = (
    "cur_samples/focus_converters/focus_converter_base/tests/provider_config_tests/aws/"
    "sample-anonymous-aws-export-dataset.csv"
)
WORKSHOP_DIR = "cur_samples/wa_labs_workshop_cur/cur/data"
WORKSHOP_ROWS = {"Oct2018": 119_307, "Nov2018": 124_340, "Dec2018": 91_264}


def money(value: float) -> Decimal:
    """How the test reads a parquet double: its shortest repr, independent of the parser's code."""
    return Decimal(repr(value))


@dataclass
class WorkshopRun:
    """One pass over the three WorkshopCUR files, kept as aggregates (335k records would not fit well)."""

    rows: dict[str, int] = field(default_factory=dict)
    rejected: list[RejectedRow] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    billed: dict[tuple[str, date], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    effective_by_type: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    tagged: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    samples: dict[str, UsageRecord] = field(default_factory=dict)
    revalidated: int = 0  # records checked against the model's full validation
    revalidation_mismatches: list[int] = field(default_factory=list)
    seconds: float = 0.0


def accepted(parsed: Iterable[ParsedRow]) -> list[UsageRecord]:
    items = list(parsed)
    assert all(isinstance(p, UsageRecord) for p in items)
    return [p for p in items if isinstance(p, UsageRecord)]


@pytest.fixture(scope="module")
def workshop_files(shared_data: Path) -> list[Path]:
    files = sorted((shared_data / WORKSHOP_DIR).rglob("*.parquet"))
    assert [f.name[:7] for f in files] == ["Oct2018", "Nov2018", "Dec2018"]
    return files


@pytest.fixture(scope="module")
def workshop(workshop_files: list[Path]) -> WorkshopRun:
    run = WorkshopRun()
    started = time.perf_counter()
    for path in workshop_files:
        count = 0
        for item in parse_export(path, uri=f"s3://cur-bucket/{path.parent.parent.name}/{path.parent.name}/{path.name}"):
            count += 1
            if isinstance(item, RejectedRow):
                run.rejected.append(item)
                continue
            run.ids.add(item.record_id)
            run.billed[(item.sub_account_id or "", item.charge_period_start.date())] += item.billed_cost
            run.effective_by_type[item.charge_category] += item.effective_cost
            for key, value in item.tags.items():
                run.tagged[key][value] += 1
            run.samples.setdefault(item.charge_category, item)
            if count % 50 == 1:  # the parser's fast constructor must give what full validation gives
                run.revalidated += 1
                if UsageRecord.model_validate_json(item.model_dump_json()) != item:
                    run.revalidation_mismatches.append(count)
        run.rows[path.name[:7]] = count
    run.seconds = time.perf_counter() - started
    total = sum(run.rows.values())
    print(f"\nWorkshopCUR: {total} rows parsed in {run.seconds:.2f} s = {total / run.seconds:,.0f} rows/s")
    return run


def test_workshop_detected_as_cur(workshop_files: list[Path]) -> None:
    columns, rows = iter_table(workshop_files[0])
    rows.close()
    assert "line_item_unblended_cost" in columns
    assert detect_format(columns) == "cur"
    assert parser_for(columns).format == "cur"


def test_workshop_row_counts_and_no_rejects(workshop: WorkshopRun) -> None:
    assert workshop.rows == WORKSHOP_ROWS
    assert workshop.rejected == []


def test_workshop_records_survive_full_validation_unchanged(workshop: WorkshopRun) -> None:
    assert workshop.revalidated > 6_000
    assert workshop.revalidation_mismatches == []


def test_workshop_ids_unique_across_all_files(workshop: WorkshopRun) -> None:
    assert len(workshop.ids) == sum(WORKSHOP_ROWS.values())


def test_workshop_billed_per_account_and_day_matches_file(workshop: WorkshopRun, workshop_files: list[Path]) -> None:
    expected: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    columns = ["line_item_usage_account_id", "line_item_usage_start_date", "line_item_unblended_cost"]
    for path in workshop_files:
        table = pq.read_table(path, columns=columns).to_pydict()
        for account, start, cost in zip(*(table[c] for c in columns), strict=True):
            expected[(account, start.date())] += money(cost)
    assert workshop.billed.keys() == expected.keys()
    for key, total in expected.items():
        assert cents(workshop.billed[key]) == cents(total), key
        assert workshop.billed[key] == total, key
    assert len({account for account, _ in expected}) == 2
    grand = sum(expected.values(), Decimal(0))
    assert cents(grand) == Decimal("7978.19")  # 4,064.48 + 3,505.33 + 408.38 as SOURCE.txt states


def test_workshop_effective_cost_follows_the_amortization_rule(
    workshop: WorkshopRun, workshop_files: list[Path]
) -> None:
    columns = [
        "line_item_line_item_type",
        "line_item_unblended_cost",
        "reservation_effective_cost",
        "reservation_unused_amortized_upfront_fee_for_billing_period",
        "reservation_unused_recurring_fee",
    ]
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for path in workshop_files:
        table = pq.read_table(path, columns=columns).to_pydict()
        for line_type, unblended, ri_effective, unused_upfront, unused_recurring in zip(
            *(table[c] for c in columns), strict=True
        ):
            if line_type == "DiscountedUsage":
                expected[line_type] += money(ri_effective)
            elif line_type == "RIFee":
                expected[line_type] += money(unused_upfront) + money(unused_recurring)
            else:
                expected[line_type] += money(unblended)
    assert set(expected) == {"Usage", "DiscountedUsage", "RIFee"}
    assert dict(workshop.effective_by_type) == dict(expected)


def test_workshop_tags_keep_the_key_after_the_prefix(workshop: WorkshopRun) -> None:
    assert workshop.tagged["cost_center"]["Cost001"] > 0
    assert workshop.tagged["environment"]["Production"] > 0
    assert "resource_tags_user_cost_center" not in workshop.tagged
    assert workshop.tagged["aws:created_by"].total() > 0  # AWS-generated tags keep their namespace


def test_workshop_monthly_fee_period_is_minute_aligned(workshop: WorkshopRun) -> None:
    fee = workshop.samples["RIFee"]
    # AWS writes the fee as 00:00:00 .. 23:59:59 of the month's last day: half-open on whole minutes.
    assert fee.charge_period_start.isoformat() == "2018-10-01T00:00:00+00:00"
    assert fee.charge_period_end.isoformat() == "2018-11-01T00:00:00+00:00"
    usage = workshop.samples["Usage"]
    assert usage.minutes == 60  # hourly line items stay hourly


def test_workshop_record_fields(workshop: WorkshopRun) -> None:
    usage = workshop.samples["DiscountedUsage"]
    assert usage.source == "cur"
    assert usage.provider == "AWS"
    assert usage.billing_account_id == "836060457634"
    assert usage.sub_account_id in {"836060457634", "011254002932"}
    assert usage.service and usage.usage_type and usage.region
    assert usage.service_category is not None
    assert usage.charge_category == "DiscountedUsage"
    assert usage.currency == "USD"


@pytest.fixture(scope="module")
def cur_csv(shared_data: Path) -> Path:
    return shared_data / CUR_CSV


def test_slash_csv_totals_count_and_ids(cur_csv: Path) -> None:
    with cur_csv.open(newline="", encoding="utf-8") as handle:
        file_rows = list(csv.DictReader(handle))
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in file_rows:
        key = (row["lineItem/UsageAccountId"], row["lineItem/UsageStartDate"][:10])
        expected[key] += Decimal(row["lineItem/UnblendedCost"])

    parsed = list(parse_export(cur_csv))
    assert len(parsed) == len(file_rows) == 1281
    records = [p for p in parsed if isinstance(p, UsageRecord)]
    assert len(records) == len(parsed)
    actual: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for record in records:
        actual[(record.sub_account_id or "", record.charge_period_start.date().isoformat())] += record.billed_cost
    assert actual == expected
    assert len({r.record_id for r in records}) == len(records)
    assert Counter(r.charge_category for r in records) == {"Usage": 1269, "Tax": 12}
    assert all(r.source == "cur" for r in records)


def test_slash_csv_detected_as_legacy_cur(cur_csv: Path) -> None:
    columns, rows = iter_table(cur_csv)
    rows.close()
    assert "lineItem/UnblendedCost" in columns
    assert detect_format(columns) == "cur"


def test_same_file_replayed_gives_the_same_ids(cur_csv: Path) -> None:
    first = [p.record_id for p in accepted(parse_export(cur_csv, uri="/data/cur/export-00001.csv"))]
    again = [p.record_id for p in accepted(parse_export(cur_csv, uri="s3://bucket/cur/export-00001.csv"))]
    other = [p.record_id for p in accepted(parse_export(cur_csv, uri="s3://bucket/cur/export-00002.csv"))]
    assert first == again  # same file name: same ids wherever it is read from
    assert not set(first) & set(other)  # another partition of the delivery: other ids


SLASH_HEADER = [
    "identity/LineItemId",
    "identity/TimeInterval",
    "bill/PayerAccountId",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/ProductCode",
    "lineItem/UsageAmount",
    "lineItem/UnblendedCost",
    "lineItem/CurrencyCode",
    "resourceTags/user:Team",
    "resourceTags/aws:createdBy",
]


def slash_csv(rows: list[list[str]]) -> io.BytesIO:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(SLASH_HEADER)
    writer.writerows(rows)
    return io.BytesIO(text.getvalue().encode())


def test_repeated_natural_key_gets_distinct_stable_ids() -> None:
    line = [
        "li-1",
        "2024-01-01T00:00:00Z/2024-01-01T01:00:00Z",
        "111",
        "222",
        "Usage",
        "2024-01-01T00:00:00Z",
        "2024-01-01T01:00:00Z",
        "AmazonEC2",
        "1",
        "0.5",
        "USD",
        "web",
        "",
    ]
    twice = [line, line]
    first = [p.record_id for p in accepted(parse_export(slash_csv(twice), uri="x.csv", kind="csv"))]
    again = [p.record_id for p in accepted(parse_export(slash_csv(twice), uri="x.csv", kind="csv"))]
    assert len(set(first)) == 2
    assert first == again


def test_slash_tags_keep_case_and_aws_namespace() -> None:
    line = [
        "li-1",
        "2024-01-01T00:00:00Z/2024-01-01T01:00:00Z",
        "111",
        "222",
        "Usage",
        "2024-01-01T00:00:00Z",
        "2024-01-01T01:00:00Z",
        "AmazonEC2",
        "1",
        "0.5",
        "USD",
        "web",
        "Root",
    ]
    (record,) = parse_export(slash_csv([line]), uri="x.csv", kind="csv")
    assert isinstance(record, UsageRecord)
    assert record.tags == {"Team": "web", "aws:createdBy": "Root"}
    assert record.effective_cost == record.list_cost == record.billed_cost == Decimal("0.5")


def test_cost_category_columns_become_tags() -> None:
    """Legacy CUR writes a column per AWS Cost Category (`costCategory/Team` in CSV, `cost_category_team` in Athena
    parquet): each becomes the tag `costcategory:<Name>`, next to the resource tags; an empty cell is no category."""
    header = [*SLASH_HEADER, "costCategory/Team", "costCategory/Cost Center"]
    line = ["li-1", "2024-01-01T00:00:00Z/2024-01-01T01:00:00Z", "111", "222", "Usage", "2024-01-01T00:00:00Z",
            "2024-01-01T01:00:00Z", "AmazonEC2", "1", "0.5", "USD", "web", "Root", "Payments", ""]  # fmt: skip
    text = io.StringIO()
    csv.writer(text).writerows([header, line])
    (record,) = parse_export(io.BytesIO(text.getvalue().encode()), uri="x.csv", kind="csv")
    assert isinstance(record, UsageRecord)
    assert record.tags == {"Team": "web", "aws:createdBy": "Root", "costcategory:Team": "Payments"}
    snake = [*(canonical_cur_name(c) for c in SLASH_HEADER[:11]), "cost_category_team"]
    text = io.StringIO()
    csv.writer(text).writerows([snake, [*line[:11], "Payments"]])
    (record,) = parse_export(io.BytesIO(text.getvalue().encode()), uri="x.csv", kind="csv")
    assert isinstance(record, UsageRecord)
    assert record.tags == {"costcategory:team": "Payments"}
