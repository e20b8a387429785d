"""The column-wise legacy CUR path gives, byte for byte, the messages, rejections and report of the row path."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outlay.events import UsageRecord
from outlay.events.usage import RecordIds, stable_record_id
from services.ingest.report import FileReport, FileStatus
from services.ingest.sources import cur_columnar
from services.ingest.sources.base import RejectedRow
from services.ingest.sources.columns import CUR_REQUIRED
from services.ingest.sources.cur_columnar import EncodedBatch, columnar_cur, encode_batches
from services.ingest.sources.cur_legacy import EFFECTIVE_COST_RULES, CurParser
from services.ingest.sources.detect import parser_for
from services.ingest.sources.tabular import iter_table

WORKSHOP_DIR = "cur_samples/wa_labs_workshop_cur/cur/data"


@dataclass
class Run:
    messages: list[tuple[bytes, bytes]] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    report: FileReport = field(default_factory=lambda: FileReport("x", FileStatus.PROCESSED))


def row_path(path: Path, uri: str, tenant: str = "default") -> Iterator[UsageRecord | RejectedRow]:
    columns, rows = iter_table(path)
    return parser_for(columns).parse(rows, uri, tenant)


def fast_batches(path: Path, uri: str, tenant: str = "default", batch_size: int = 8192) -> Iterator[EncodedBatch]:
    columns, rows = iter_table(path)
    parser = columnar_cur(parser_for(columns))
    assert parser is not None
    rows.project(parser.columns_needed)
    batches = rows.record_batches(batch_size)
    assert batches is not None
    return encode_batches(parser, batches, uri, tenant)


def row_run(path: Path, uri: str, tenant: str = "default") -> Run:
    run = Run()
    for item in row_path(path, uri, tenant):
        if isinstance(item, UsageRecord):
            run.messages.append((item.key, item.model_dump_json().encode()))
            run.report.count_record(item)
        else:
            run.rejected.append(item)
            run.report.count_rejected(item)
    return run


def fast_run(path: Path, uri: str, tenant: str = "default", batch_size: int = 8192) -> Run:
    run = Run()
    for batch in fast_batches(path, uri, tenant, batch_size):
        assert batch.rows == len(batch.messages) + len(batch.rejected)
        run.messages.extend(batch.messages)
        run.rejected.extend(batch.rejected)
        run.report.count_encoded(batch.costs)
        for item in batch.rejected:
            run.report.count_rejected(item)
    return run


# --- WorkshopCUR ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("month", ["Dec2018"])  # the three months share one schema; each took 17 s here
def test_workshop_cur_messages_are_the_row_paths_byte_for_byte(
    shared_data: Path, month: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (path,) = (shared_data / WORKSHOP_DIR).rglob(f"{month}-WorkshopCUR-*.parquet")
    uri = path.as_uri()
    slow_rows: list[int] = []
    row_path_of_encoder = cur_columnar._Encoder.row_path

    def spy(self: Any, row: dict[str, object], number: int) -> Any:
        slow_rows.append(number)
        return row_path_of_encoder(self, row, number)

    monkeypatch.setattr(cur_columnar._Encoder, "row_path", spy)
    # Lockstep, batch by batch: 120k messages of each path at once would take a lot of memory for nothing.
    rows = row_path(path, uri)
    expected, got = FileReport(uri, FileStatus.PROCESSED), FileReport(uri, FileStatus.PROCESSED)
    compared = 0
    for batch in fast_batches(path, uri):
        messages: list[tuple[bytes, bytes]] = []
        rejected: list[RejectedRow] = []
        for _ in range(batch.rows):
            item = next(rows)
            if isinstance(item, UsageRecord):
                messages.append((item.key, item.model_dump_json().encode()))
                expected.count_record(item)
            else:
                rejected.append(item)
                expected.count_rejected(item)
        assert batch.messages == messages
        assert batch.rejected == rejected
        got.count_encoded(batch.costs)
        for item in batch.rejected:
            got.count_rejected(item)
        compared += batch.rows
    assert next(rows, None) is None
    assert compared > 90_000
    assert got.as_dict() == expected.as_dict() and got.cost == expected.cost
    assert slow_rows == []  # a clean export: every row went column-wise


# --- synthetic files ------------------------------------------------------------------------------------

SNAKE_TO_SLASH = {
    **CUR_REQUIRED,
    "product_product_name": "product/ProductName",
    "product_region": "product/region",
    "line_item_resource_id": "lineItem/ResourceId",
    "line_item_usage_type": "lineItem/UsageType",
    "line_item_usage_amount": "lineItem/UsageAmount",
    "pricing_unit": "pricing/unit",
    "pricing_public_on_demand_cost": "pricing/publicOnDemandCost",
    "reservation_effective_cost": "reservation/EffectiveCost",
    "reservation_unused_amortized_upfront_fee_for_billing_period": (
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod"
    ),
    "reservation_unused_recurring_fee": "reservation/UnusedRecurringFee",
    "reservation_reservation_a_r_n": "reservation/ReservationARN",
    "savings_plan_savings_plan_effective_cost": "savingsPlan/SavingsPlanEffectiveCost",
    "savings_plan_total_commitment_to_date": "savingsPlan/TotalCommitmentToDate",
    "savings_plan_used_commitment": "savingsPlan/UsedCommitment",
    "resource_tags_user_team": "resourceTags/user:Team",
    "resource_tags_aws_created_by": "resourceTags/aws:createdBy",
    "cost_category_business_unit": "costCategory/BusinessUnit",
}
FLOATS = (
    "line_item_unblended_cost",
    "line_item_usage_amount",
    "pricing_public_on_demand_cost",
    "reservation_effective_cost",
    "reservation_unused_recurring_fee",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
)  # the upfront fee column stays text: amounts written as text ("", "x", "1.5") take the same rules
TIMESTAMPS = ("line_item_usage_start_date", "line_item_usage_end_date")
H0, H1 = datetime(2024, 3, 1, 10, tzinfo=UTC), datetime(2024, 3, 1, 11, tzinfo=UTC)
ARN = "arn:aws:ec2:us-east-1:111122223333:reserved-instances/abc"


def base_row(n: int) -> dict[str, Any]:
    return {
        "identity_line_item_id": f"li-{n}",
        "identity_time_interval": "2024-03-01T10:00:00Z/2024-03-01T11:00:00Z",
        "bill_payer_account_id": "111122223333",
        "line_item_usage_account_id": "444455556666",
        "line_item_line_item_type": "Usage",
        "line_item_usage_start_date": H0,
        "line_item_usage_end_date": H1,
        "line_item_product_code": "AmazonEC2",
        "line_item_unblended_cost": 0.096,
        "line_item_currency_code": "USD",
        "product_product_name": "Amazon Elastic Compute Cloud",
        "product_region": "us-east-1",
        "line_item_resource_id": "i-0abc",
        "line_item_usage_type": "BoxUsage:m5.large",
        "line_item_usage_amount": 1.0,
        "pricing_unit": "Hrs",
        "pricing_public_on_demand_cost": 0.096,
        "reservation_effective_cost": None,
        "reservation_unused_amortized_upfront_fee_for_billing_period": None,
        "reservation_unused_recurring_fee": None,
        "reservation_reservation_a_r_n": "",
        "savings_plan_savings_plan_effective_cost": None,
        "savings_plan_total_commitment_to_date": None,
        "savings_plan_used_commitment": None,
        "resource_tags_user_team": "payments",
        "resource_tags_aws_created_by": "",
        "cost_category_business_unit": "Retail",
    }


# (overrides, rejected?) — every row the row path treats in its own way.
CASES: list[tuple[dict[str, Any], bool]] = [
    ({}, False),
    # cells needing a strip (kept exact by the column-wise path too), whitespace-only cells
    ({"bill_payer_account_id": " 111122223333 ", "product_region": "\tus-east-1", "pricing_unit": "  "}, False),
    ({"product_product_name": "Amazon EC2 ", "resource_tags_user_team": " payments\n"}, False),
    (
        {"line_item_line_item_type": " Usage", "identity_time_interval": "2024-03-01T10:00:00Z/2024-03-01T11:00:00Z "},
        False,
    ),
    # quotes, backslashes, newlines, control characters and non-ASCII in values
    ({"line_item_resource_id": 'i-"quoted"\\back\nslash', "line_item_usage_type": "a\x01b\x7fc"}, False),
    ({"resource_tags_user_team": 'team "α"\\\u2028', "cost_category_business_unit": "Ré\ttail"}, False),
    ({"identity_line_item_id": 'li-"q"\\x'}, False),
    # null / missing required cells
    ({"identity_line_item_id": None}, True),
    ({"bill_payer_account_id": None}, True),
    ({"line_item_line_item_type": "   "}, True),
    ({"line_item_unblended_cost": None}, True),
    ({"line_item_currency_code": None}, True),
    ({"line_item_usage_start_date": None}, True),
    ({"product_product_name": None, "line_item_product_code": None}, True),
    ({"product_product_name": None}, False),  # the product code stands in
    ({"product_product_name": "", "line_item_product_code": "AmazonS3"}, False),
    # unparsable / infinite amounts
    ({"line_item_unblended_cost": math.inf}, True),
    ({"line_item_unblended_cost": math.nan}, True),
    ({"pricing_public_on_demand_cost": -math.inf}, True),
    ({"line_item_usage_amount": math.nan}, True),
    ({"line_item_line_item_type": "DiscountedUsage", "reservation_effective_cost": math.inf}, True),
    ({"line_item_usage_amount": None, "pricing_public_on_demand_cost": None}, False),
    ({"line_item_unblended_cost": -0.0, "line_item_usage_amount": -0.0}, False),
    ({"line_item_unblended_cost": 1e20, "pricing_public_on_demand_cost": 1e-7}, False),
    ({"line_item_unblended_cost": 123456789.12345679, "line_item_usage_amount": 5e-324}, False),
    # negative usage: rejected with a positive cost on a usage line, accepted otherwise
    ({"line_item_usage_amount": -1.0, "line_item_unblended_cost": 0.5}, True),
    ({"line_item_usage_amount": -1.0, "line_item_unblended_cost": -0.5}, False),
    ({"line_item_usage_amount": -1.0, "line_item_line_item_type": "Credit", "line_item_unblended_cost": 0.5}, False),
    # every effective-cost rule, with and without its columns
    ({"line_item_line_item_type": "SavingsPlanCoveredUsage", "savings_plan_savings_plan_effective_cost": 0.05}, False),
    ({"line_item_line_item_type": "SavingsPlanCoveredUsage"}, False),
    ({"line_item_line_item_type": "DiscountedUsage", "reservation_effective_cost": 0.031}, False),
    ({"line_item_line_item_type": "DiscountedUsage", "reservation_effective_cost": 0.0}, False),
    (
        {
            "line_item_line_item_type": "SavingsPlanRecurringFee",
            "savings_plan_total_commitment_to_date": 10.0,
            "savings_plan_used_commitment": 7.25,
        },
        False,
    ),
    ({"line_item_line_item_type": "SavingsPlanRecurringFee", "savings_plan_total_commitment_to_date": 10.0}, False),
    ({"line_item_line_item_type": "SavingsPlanNegation", "line_item_unblended_cost": -0.05}, False),
    ({"line_item_line_item_type": "SavingsPlanUpfrontFee", "line_item_unblended_cost": 100.0}, False),
    (
        {
            "line_item_line_item_type": "RIFee",
            "reservation_unused_amortized_upfront_fee_for_billing_period": "",
            "reservation_unused_recurring_fee": 3.5,
        },
        False,
    ),
    (
        {
            "line_item_line_item_type": "RIFee",
            "reservation_unused_amortized_upfront_fee_for_billing_period": "0.0",
            "reservation_unused_recurring_fee": 0.0,
        },
        False,
    ),
    (
        {
            "line_item_line_item_type": "RIFee",
            "reservation_unused_amortized_upfront_fee_for_billing_period": "1.5",
            "reservation_unused_recurring_fee": 2.25,
        },
        False,
    ),
    ({"line_item_line_item_type": "RIFee", "reservation_unused_amortized_upfront_fee_for_billing_period": "x"}, True),
    (
        {"line_item_line_item_type": "Fee", "reservation_reservation_a_r_n": ARN, "line_item_unblended_cost": 500.0},
        False,
    ),
    (
        {"line_item_line_item_type": "Fee", "reservation_reservation_a_r_n": "  ", "line_item_unblended_cost": 5.0},
        False,
    ),
    ({"line_item_line_item_type": "Fee", "line_item_unblended_cost": 5.0}, False),
    ({"line_item_line_item_type": "Tax", "line_item_unblended_cost": 1.2}, False),
    # monthly periods with seconds; bad periods
    (
        {
            "line_item_usage_start_date": datetime(2024, 3, 9, 21, 40, 47, tzinfo=UTC),
            "line_item_usage_end_date": datetime(2024, 3, 31, 23, 59, 59, tzinfo=UTC),
            "line_item_line_item_type": "RIFee",
        },
        False,
    ),
    ({"line_item_usage_end_date": H0}, True),
    ({"line_item_usage_end_date": datetime(2026, 3, 1, tzinfo=UTC)}, True),
    # repeated (line item id, interval) pairs, one of them mapped by the row path (negative usage)
    ({"identity_line_item_id": "dup"}, False),
    ({"identity_line_item_id": "dup", "line_item_usage_amount": -2.0, "line_item_unblended_cost": -1.0}, False),
    ({"identity_line_item_id": "dup"}, False),
    ({"identity_line_item_id": "dup ", "bill_payer_account_id": None}, True),
    ({"identity_line_item_id": "dup"}, False),
    # tags: empty, whitespace-only and null values are not tags
    ({"resource_tags_user_team": "", "resource_tags_aws_created_by": "  ", "cost_category_business_unit": None}, False),
    ({"resource_tags_aws_created_by": "IAMUser:alice", "cost_category_business_unit": ""}, False),
    # currencies: another one, a lower-case one, an unknown one
    ({"line_item_currency_code": "EUR", "line_item_unblended_cost": 3.3}, False),
    ({"line_item_currency_code": "usd"}, False),
    ({"line_item_currency_code": "XXQ"}, True),
]


def write_cases(path: Path, repeat: int = 1, slash: bool = False) -> list[dict[str, Any]]:
    rows = []
    for copy in range(repeat):
        for n, (overrides, _) in enumerate(CASES):
            row = base_row(copy * len(CASES) + n)
            row.update(overrides)
            rows.append(row)
    fields = []
    for name in base_row(0):
        kind = pa.timestamp("ms", tz="UTC") if name in TIMESTAMPS else pa.float64() if name in FLOATS else pa.string()
        fields.append(pa.field(SNAKE_TO_SLASH[name] if slash else name, kind))
    columns = {name: [row[name] for row in rows] for name in base_row(0)}
    table = pa.table(
        [pa.array(columns[name], f.type) for name, f in zip(base_row(0), fields, strict=True)], schema=pa.schema(fields)
    )
    pq.write_table(table, path)
    return rows


def assert_same(path: Path, tenant: str = "default", batch_size: int = 8192) -> Run:
    uri = f"s3://bucket/cur/{path.name}"
    expected = row_run(path, uri, tenant)
    got = fast_run(path, uri, tenant, batch_size)
    assert got.messages == expected.messages
    assert got.rejected == expected.rejected
    assert got.report.as_dict() == expected.report.as_dict()
    assert got.report.cost == expected.report.cost
    return got


@pytest.mark.parametrize("slash", [False, True], ids=["snake", "slash"])
@pytest.mark.parametrize("batch_size", [7, 8192])
def test_synthetic_rows_map_exactly_as_the_row_path(
    tmp_path: Path, slash: bool, batch_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cases.parquet"
    write_cases(path, repeat=2, slash=slash)
    slow: list[int] = []
    original = cur_columnar._Encoder.row_path

    def spy(self: Any, row: dict[str, object], number: int) -> Any:
        slow.append(number)
        return original(self, row, number)

    monkeypatch.setattr(cur_columnar._Encoder, "row_path", spy)
    got = assert_same(path, batch_size=batch_size)

    rejected_cases = sum(1 for _, rejected in CASES if rejected)
    assert len(got.rejected) == 2 * rejected_cases
    assert len(got.messages) == 2 * (len(CASES) - rejected_cases)
    assert set(got.report.cost) == {"USD", "EUR"}
    # Only rows the column-wise path cannot prove go through the row mapper: rejections and negative usage.
    negative = [n for n, (o, _) in enumerate(CASES, start=1) if (o.get("line_item_usage_amount") or 0) < 0]
    expected_slow = sorted({n for n, (_, bad) in enumerate(CASES, start=1) if bad} | set(negative))
    assert slow == expected_slow + [n + len(CASES) for n in expected_slow]


def test_synthetic_messages_carry_the_rules_results(tmp_path: Path) -> None:
    path = tmp_path / "cases.parquet"
    write_cases(path)
    got = assert_same(path)
    values = [message for _, message in got.messages]
    assert any(b'"effective_cost":"0.05"' in v and b'"SavingsPlanCoveredUsage"' in v for v in values)
    assert any(b'"effective_cost":"2.75"' in v for v in values)  # SavingsPlanRecurringFee: 10.0 - 7.25
    assert any(b'"charge_category":"RIFee"' in v and b'"effective_cost":"0"' in v for v in values)
    assert any(
        b'"charge_period_start":"2024-03-09T21:40:00Z","charge_period_end":"2024-04-01T00:00:00Z"' in v for v in values
    )
    assert any(
        b'"tags":{"team":"team \\"\xce\xb1\\"\\\\\xe2\x80\xa8","costcategory:business_unit":"R\xc3\xa9\\ttail"}' in v
        for v in values
    )
    assert any(b'"tags":{}' in v for v in values)
    assert b"111122223333|Amazon EC2" in [key for key, _ in got.messages]


def test_a_non_default_tenant_and_odd_uri(tmp_path: Path) -> None:
    path = tmp_path / "cases.parquet"
    write_cases(path)
    uri = 's3://bucket/a "quoted" \\ dir/é.parquet'
    expected = row_run(path, uri, "acme")
    got = fast_run(path, uri, "acme", 5)
    assert got.messages == expected.messages and got.rejected == expected.rejected
    assert b'"tenant_id":"acme"' in got.messages[0][1]


def test_unsupported_column_types_fall_back_to_the_row_path(tmp_path: Path) -> None:
    path = tmp_path / "cases.parquet"
    rows = write_cases(path)
    table = pq.read_table(path)
    flags = pa.array([n % 2 == 0 for n in range(len(rows))])
    table = table.set_column(table.schema.get_field_index("resource_tags_user_team"), "resource_tags_user_team", flags)
    pq.write_table(table, path)
    assert_same(path, batch_size=9)


def test_columnar_only_for_legacy_cur_with_distinct_tag_keys() -> None:
    columns = list(base_row(0))
    assert columnar_cur(parser_for(columns)) is not None
    assert columnar_cur(parser_for([*columns, "product", "resource_tags"])) is None  # CUR 2.0
    assert columnar_cur(parser_for([*columns, "resourceTags/user:team"])) is None  # two columns, one key
    assert isinstance(parser_for(columns), CurParser)


def test_effective_cost_rules_read_only_columns_the_parser_reads() -> None:
    parser = CurParser(list(base_row(0)))
    for rule in EFFECTIVE_COST_RULES.values():
        assert all(parser.column(name) is not None for name in rule.columns)


def test_count_encoded_adds_in_row_order_like_count_record() -> None:
    # 28 significant digits: the order of the additions decides the rounding.
    amounts = [Decimal("1E+27"), Decimal("0.6"), Decimal("-1E+27"), Decimal("0.25")]
    by_record = FileReport("x", FileStatus.PROCESSED)
    for n, amount in enumerate(amounts):
        by_record.count_record(
            UsageRecord(
                record_id=str(n),
                source="cur",
                cost_kind="billed",
                charge_period_start=H0,
                charge_period_end=H1,
                billing_account_id="1",
                service="s",
                billed_cost=amount,
                effective_cost=amount,
                list_cost=amount,
            )
        )
    encoded = FileReport("x", FileStatus.PROCESSED)
    encoded.count_encoded({"USD": amounts[:2]})
    encoded.count_encoded({"USD": amounts[2:]})
    assert encoded.cost == by_record.cost and encoded.accepted == 4
    assert encoded.cost["USD"] != sum(sorted(amounts), Decimal(0))  # the test can tell orders apart


def test_record_batches_only_for_parquet_not_yet_read(tmp_path: Path) -> None:
    path = tmp_path / "cases.parquet"
    write_cases(path)
    _, rows = iter_table(path)
    rows.project(["line_item_unblended_cost", "identity_line_item_id"])
    batches = rows.record_batches(5)
    assert batches is not None
    first = next(batches)
    assert first.schema.names == ["identity_line_item_id", "line_item_unblended_cost"]  # file order
    assert first.num_rows == 5
    assert sum(batch.num_rows for batch in batches) == len(CASES) - 5
    assert list(rows) == []  # taken as batches: no rows follow
    assert rows.record_batches() is None

    _, started = iter_table(path)
    next(started)
    assert started.record_batches() is None
    csv_path = tmp_path / "a.csv"
    csv_path.write_text("a,b\n1,2\n")
    _, csv_rows = iter_table(csv_path)
    assert csv_rows.record_batches() is None


def test_record_ids_of_joined_parts_are_the_ids_of_the_parts() -> None:
    ids = RecordIds("cur", "file.parquet")
    assert ids.of_joined("li-é\x1f2024-03-01T10:00:00Z/2024-03-01T11:00:00Z\x1f2".encode()) == ids(
        "li-é", "2024-03-01T10:00:00Z/2024-03-01T11:00:00Z", 2
    )
    assert ids("a", "b", 0) == stable_record_id("cur", "file.parquet", "a", "b", 0)
