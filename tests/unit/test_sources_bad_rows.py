"""Bad rows become RejectedRows naming the column, the rest of the file goes on; non-exports are refused."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from outlay.events import UsageRecord
from outlay.events.usage import MAX_CHARGE_PERIOD, CostKind
from services.ingest.sources.base import NotACostExport, ParsedRow, RejectedRow
from services.ingest.sources.detect import detect_format, parse_export, parser_for

FOCUS_HEADER = [
    "BilledCost",
    "BillingAccountId",
    "BillingCurrency",
    "ChargeCategory",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ProviderName",
    "ServiceName",
    "EffectiveCost",
    "ListCost",
    "ConsumedQuantity",
    "Tags",
]
GOOD_FOCUS = [
    "1.5",
    "acct",
    "USD",
    "Usage",
    "2024-09-01 00:00:00",
    "2024-09-01 01:00:00",
    "AWS",
    "Amazon EC2",
    "1.2",
    "2.0",
    "1",
    '{"team": "web"}',
]

CUR_HEADER = [
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
]
GOOD_CUR = [
    "li-1",
    "2024-01-01T00:00:00Z/2024-01-01T01:00:00Z",
    "111",
    "222",
    "Usage",
    "2024-01-01T00:00:00.000Z",
    "2024-01-01T01:00:00.000Z",
    "AmazonEC2",
    "1",
    "0.5",
    "USD",
]


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> io.BytesIO:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return io.BytesIO(text.getvalue().encode())


def with_cell(good: list[str], header: list[str], column: str, value: str) -> list[str]:
    row = list(good)
    row[header.index(column)] = value
    return row


def parse_between_good_rows(header: list[str], good: list[str], bad: list[str]) -> list[ParsedRow]:
    """The bad row sits between two good ones: both good rows must still come out."""
    parsed = list(parse_export(table(header, [good, bad, good]), uri="bad.csv", kind="csv"))
    assert len(parsed) == 3
    assert isinstance(parsed[0], UsageRecord) and isinstance(parsed[2], UsageRecord)
    return parsed


FOCUS_CASES = [
    ("BillingAccountId", "", "missing value"),
    ("BilledCost", "abc", "not a number"),
    ("BilledCost", "NULL", "missing value"),
    ("EffectiveCost", "1.2.3", "not a number"),
    ("ChargePeriodStart", "yesterday", "not a date-time"),
    ("ChargePeriodEnd", "2024-08-31 00:00:00", "not after"),
    ("BillingCurrency", "XYZ", "unknown currency"),
    ("ConsumedQuantity", "-3", "negative quantity"),
    ("Tags", "{not json", "not a JSON object"),
    ("ServiceName", "  ", "missing value"),
]


@pytest.mark.parametrize(("column", "value", "reason"), FOCUS_CASES, ids=[f"{c}={v!r}" for c, v, _ in FOCUS_CASES])
def test_focus_bad_cell_is_rejected_naming_the_column(column: str, value: str, reason: str) -> None:
    parsed = parse_between_good_rows(FOCUS_HEADER, GOOD_FOCUS, with_cell(GOOD_FOCUS, FOCUS_HEADER, column, value))
    rejected = parsed[1]
    assert isinstance(rejected, RejectedRow)
    assert rejected.row == 2
    assert rejected.field == column
    assert reason in rejected.reason
    assert rejected.raw[column] == (None if value == "NULL" else value)


def test_focus_negative_cost_credit_is_accepted() -> None:
    credit = with_cell(
        with_cell(GOOD_FOCUS, FOCUS_HEADER, "ChargeCategory", "Credit"), FOCUS_HEADER, "BilledCost", "-4"
    )
    (record,) = parse_export(table(FOCUS_HEADER, [credit]), uri="c.csv", kind="csv")
    assert isinstance(record, UsageRecord)
    assert record.billed_cost == -4


def test_focus_negative_quantity_reversal_is_accepted() -> None:
    row = with_cell(with_cell(GOOD_FOCUS, FOCUS_HEADER, "ConsumedQuantity", "-1"), FOCUS_HEADER, "BilledCost", "-1.5")
    (record,) = parse_export(table(FOCUS_HEADER, [row]), uri="r.csv", kind="csv")
    assert isinstance(record, UsageRecord)
    assert record.consumed_quantity == -1


CUR_CASES = [
    ("identity/LineItemId", "", "missing value"),
    ("lineItem/UnblendedCost", "12,5", "not a number"),
    ("lineItem/UsageStartDate", "2024-13-01T00:00:00Z", "not a date-time"),
    ("lineItem/UsageEndDate", "2023-12-31T00:00:00Z", "not after"),
    ("lineItem/CurrencyCode", "DOLLARS", "unknown currency"),
    ("lineItem/UsageAmount", "-2", "negative usage"),
    ("lineItem/UsageAmount", "lots", "not a number"),
    ("bill/PayerAccountId", "", "missing value"),
]


@pytest.mark.parametrize(("column", "value", "reason"), CUR_CASES, ids=[f"{c}={v!r}" for c, v, _ in CUR_CASES])
def test_cur_bad_cell_is_rejected_naming_the_column(column: str, value: str, reason: str) -> None:
    parsed = parse_between_good_rows(CUR_HEADER, GOOD_CUR, with_cell(GOOD_CUR, CUR_HEADER, column, value))
    rejected = parsed[1]
    assert isinstance(rejected, RejectedRow)
    assert rejected.field == column
    assert reason in rejected.reason


def test_cur_refund_may_be_negative() -> None:
    refund = with_cell(
        with_cell(GOOD_CUR, CUR_HEADER, "lineItem/LineItemType", "Refund"),
        CUR_HEADER,
        "lineItem/UnblendedCost",
        "-3.25",
    )
    (record,) = parse_export(table(CUR_HEADER, [refund]), uri="r.csv", kind="csv")
    assert isinstance(record, UsageRecord)
    assert record.billed_cost == Decimal("-3.25")


def test_cur2_bad_map_cell_is_rejected() -> None:
    header = [
        "identity_line_item_id",
        "identity_time_interval",
        "bill_payer_account_id",
        "line_item_usage_account_id",
        "line_item_line_item_type",
        "line_item_usage_start_date",
        "line_item_usage_end_date",
        "line_item_product_code",
        "line_item_unblended_cost",
        "line_item_currency_code",
        "resource_tags",
    ]
    good = [
        "li",
        "i",
        "111",
        "222",
        "Usage",
        "2024-01-01T00:00:00Z",
        "2024-01-01T01:00:00Z",
        "AmazonEC2",
        "1",
        "USD",
        '{"user_team": "web"}',
    ]
    bad = good[:-1] + ['["not", "a", "map"]']
    parsed = list(parse_export(table(header, [good, bad]), uri="m.csv", kind="csv"))
    assert isinstance(parsed[0], UsageRecord) and parsed[0].tags == {"team": "web"}
    assert isinstance(parsed[1], RejectedRow) and parsed[1].field == "resource_tags"


def test_non_export_csv_names_the_missing_columns() -> None:
    with pytest.raises(NotACostExport) as caught:
        parse_export(table(["date", "amount", "BilledCost"], [["2024-01-01", "3"]]), kind="csv")
    message = str(caught.value)
    assert "FOCUS" in message
    for column in ("BillingAccountId", "ChargePeriodStart", "ServiceName"):
        assert column in message
    assert "BilledCost," not in message and not message.endswith("BilledCost")


def test_near_cur_csv_names_missing_columns_in_slash_style() -> None:
    header = [c for c in CUR_HEADER if c != "lineItem/UnblendedCost"]
    with pytest.raises(NotACostExport) as caught:
        parser_for(header)
    assert "AWS CUR" in str(caught.value)
    assert str(caught.value).endswith("missing columns: lineItem/UnblendedCost")


def test_non_export_parquet_names_the_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "metrics.parquet"
    columns = {
        "identity_line_item_id": ["a"],
        "line_item_usage_start_date": ["2024-01-01"],
        "line_item_product_code": ["AmazonEC2"],
        "cpu": [0.5],
    }
    pq.write_table(pa.table(columns), path)
    with pytest.raises(NotACostExport) as caught:
        parse_export(path)
    message = str(caught.value)
    assert "line_item_unblended_cost" in message and "bill_payer_account_id" in message
    assert "identity_line_item_id" not in message


def test_empty_header_is_not_an_export() -> None:
    with pytest.raises(NotACostExport):
        detect_format([])


# --- Record ids of FOCUS files without an Id column --------------------------------------------------


def focus_ids(rows: Sequence[Sequence[str]], uri: str) -> list[str]:
    parsed = list(parse_export(table(FOCUS_HEADER, rows), uri=uri, kind="csv"))
    assert all(isinstance(p, UsageRecord) for p in parsed)
    return [p.record_id for p in parsed if isinstance(p, UsageRecord)]


def test_focus_ids_without_id_column_depend_on_the_file_name_not_its_folder() -> None:
    assert "Id" not in FOCUS_HEADER  # as AWS's own FOCUS exports
    rows = [GOOD_FOCUS, GOOD_FOCUS]  # identical rows: still two records
    local = focus_ids(rows, "/exports/a/focus-00001.csv")
    assert len(set(local)) == 2
    assert focus_ids(rows, "/other/folder/focus-00001.csv") == local
    assert focus_ids(rows, "s3://bucket/prefix/focus-00001.csv") == local
    assert focus_ids(rows, "/exports/a/focus-00002.csv") != local


def test_focus_ids_without_id_column_differ_between_billing_periods_of_the_same_file_name() -> None:
    # AWS writes every month's files under BILLING_PERIOD=YYYY-MM/ with the same names; the ledger
    # drops a repeated id, so October's first row must not take September's id.
    october = with_cell(
        with_cell(GOOD_FOCUS, FOCUS_HEADER, "ChargePeriodStart", "2024-10-01 00:00:00"),
        FOCUS_HEADER,
        "ChargePeriodEnd",
        "2024-10-01 01:00:00",
    )
    september_ids = focus_ids([GOOD_FOCUS], "s3://b/focus/data/BILLING_PERIOD=2024-09/focus-00001.csv")
    october_ids = focus_ids([october], "s3://b/focus/data/BILLING_PERIOD=2024-10/focus-00001.csv")
    assert september_ids != october_ids


# --- Rows whose cell count differs from the header's ------------------------------------------------


@pytest.mark.parametrize(("change", "count"), [(["extra"], 13), ([], 11)], ids=["one extra cell", "one cell short"])
def test_focus_row_with_wrong_cell_count_is_rejected(change: list[str], count: int) -> None:
    bad = (GOOD_FOCUS + change) if change else GOOD_FOCUS[:-1]
    parsed = parse_between_good_rows(FOCUS_HEADER, GOOD_FOCUS, bad)
    rejected = parsed[1]
    assert isinstance(rejected, RejectedRow)
    assert rejected.row == 2
    assert rejected.field is None
    assert rejected.reason == f"row has {count} cells; the header has 12"
    assert rejected.raw["BillingAccountId"] == "acct"  # the cells as written, for the dead letter


def test_cur_row_with_an_extra_cell_is_rejected_not_shifted() -> None:
    # A stray comma inside an unquoted cost ("1,5") shifts every later cell by one.
    bad = GOOD_CUR[:9] + ["1", "5", "USD"]
    parsed = parse_between_good_rows(CUR_HEADER, GOOD_CUR, bad)
    rejected = parsed[1]
    assert isinstance(rejected, RejectedRow)
    assert rejected.field is None
    assert rejected.reason == "row has 12 cells; the header has 11"


# --- Extreme dates and arithmetic -------------------------------------------------------------------

DATE_CASES = [
    ("ChargePeriodEnd", "9999-12-31T23:59:59Z", "out of range"),
    ("ChargePeriodStart", "0001-01-01T00:00:00+01:00", "out of range"),
    ("ChargePeriodEnd", "2025-09-03 00:00:00", "charge period of 367 days is longer than 366 days"),
    ("ChargePeriodEnd", "9999-12-31T23:59:00Z", "is longer than 366 days"),
]


@pytest.mark.parametrize(("column", "value", "reason"), DATE_CASES, ids=[f"{c}={v!r}" for c, v, _ in DATE_CASES])
def test_focus_extreme_dates_are_rejected_and_the_file_goes_on(column: str, value: str, reason: str) -> None:
    parsed = parse_between_good_rows(FOCUS_HEADER, GOOD_FOCUS, with_cell(GOOD_FOCUS, FOCUS_HEADER, column, value))
    rejected = parsed[1]
    assert isinstance(rejected, RejectedRow)
    assert rejected.field == column
    assert reason in rejected.reason


def test_a_period_of_exactly_366_days_is_accepted() -> None:
    row = with_cell(GOOD_FOCUS, FOCUS_HEADER, "ChargePeriodEnd", "2025-09-02 00:00:00")  # 2024-09-01 + 366 d
    (record,) = parse_export(table(FOCUS_HEADER, [row]), uri="y.csv", kind="csv")
    assert isinstance(record, UsageRecord)
    assert record.minutes == 366 * 24 * 60


def test_cur_extreme_end_date_is_rejected_naming_the_column() -> None:
    bad = with_cell(GOOD_CUR, CUR_HEADER, "lineItem/UsageEndDate", "9999-12-31T23:59:59Z")
    rejected = parse_between_good_rows(CUR_HEADER, GOOD_CUR, bad)[1]
    assert isinstance(rejected, RejectedRow)
    assert rejected.field == "lineItem/UsageEndDate"


def test_cur_arithmetic_overflow_rejects_the_row_only() -> None:
    # Amortizing a SavingsPlanRecurringFee subtracts two amounts: at the edge of Decimal's range that
    # raises decimal.Overflow (an ArithmeticError), which must not stop the file.
    header = [*CUR_HEADER, "savingsPlan/TotalCommitmentToDate", "savingsPlan/UsedCommitment"]
    good = [*GOOD_CUR, "", ""]
    bad = with_cell([*GOOD_CUR, "9E+999999", "-9E+999999"], header, "lineItem/LineItemType", "SavingsPlanRecurringFee")
    rejected = parse_between_good_rows(header, good, bad)[1]
    assert isinstance(rejected, RejectedRow)
    assert rejected.row == 2
    assert "Overflow" in rejected.reason


def test_usage_record_refuses_a_period_longer_than_the_maximum() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    fields = {
        "record_id": "r",
        "source": "test",
        "cost_kind": CostKind.BILLED,
        "billing_account_id": "a",
        "service": "s",
        "billed_cost": Decimal(1),
        "effective_cost": Decimal(1),
        "list_cost": Decimal(1),
        "charge_period_start": start,
    }
    assert UsageRecord(**fields, charge_period_end=start + MAX_CHARGE_PERIOD).minutes == 366 * 24 * 60
    with pytest.raises(ValidationError, match="longer than 366 days"):
        UsageRecord(**fields, charge_period_end=start + MAX_CHARGE_PERIOD + timedelta(minutes=1))
