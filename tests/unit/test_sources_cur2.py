"""CUR 2.0 parser on the fixture written from AWS's "Cost and Usage Report 2.0 table dictionary"."""

from __future__ import annotations

import csv
import importlib.util
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outlay.allocation.engine import Allocator
from outlay.allocation.rules import AllocationRules
from outlay.events import UsageRecord
from services.ingest.sources.base import RejectedRow
from services.ingest.sources.detect import detect_format, parse_export
from services.ingest.sources.tabular import iter_table

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cur2"
CSV_FILE = FIXTURE / "cur2_sample.csv"
PARQUET_FILE = FIXTURE / "cur2_sample.parquet"


def load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cur2_fixture_build", FIXTURE / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse(path: Path) -> list[UsageRecord]:
    parsed = list(parse_export(path))
    assert not [p for p in parsed if isinstance(p, RejectedRow)]
    return [p for p in parsed if isinstance(p, UsageRecord)]


@pytest.fixture(scope="module", params=[CSV_FILE, PARQUET_FILE], ids=["csv", "parquet"])
def records(request: pytest.FixtureRequest) -> list[UsageRecord]:
    return parse(request.param)


def by_line_type(records: list[UsageRecord]) -> dict[str, UsageRecord]:
    return {r.charge_category: r for r in records if r.charge_category != "Usage"}


def test_fixture_files_are_what_the_builder_writes() -> None:
    builder = load_builder()
    assert CSV_FILE.read_text(encoding="utf-8") == builder.csv_text()
    assert pq.read_table(PARQUET_FILE).equals(builder.arrow_table())


def test_parquet_fixture_has_real_map_columns() -> None:
    schema = pq.read_schema(PARQUET_FILE)
    for name in ("product", "resource_tags", "cost_category", "discount"):
        assert pa.types.is_map(schema.field(name).type), name


@pytest.mark.parametrize("path", [CSV_FILE, PARQUET_FILE], ids=["csv", "parquet"])
def test_detected_as_cur2(path: Path) -> None:
    columns, rows = iter_table(path)
    rows.close()
    assert detect_format(columns) == "cur2"


def test_row_count_and_total_match_the_file(records: list[UsageRecord]) -> None:
    with CSV_FILE.open(newline="", encoding="utf-8") as handle:
        file_rows = list(csv.DictReader(handle))
    assert len(records) == len(file_rows) == 10
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in file_rows:
        key = (row["line_item_usage_account_id"], row["line_item_usage_start_date"][:10])
        expected[key] += Decimal(row["line_item_unblended_cost"])
    actual: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for record in records:
        actual[(record.sub_account_id or "", record.charge_period_start.date().isoformat())] += record.billed_cost
    assert actual == expected
    assert sum(actual.values()) == Decimal("106.7215")


def test_effective_cost_per_line_item_type(records: list[UsageRecord]) -> None:
    lines = by_line_type(records)
    assert lines["DiscountedUsage"].effective_cost == Decimal("0.1083")  # reservation_effective_cost
    assert lines["RIFee"].effective_cost == Decimal("3.75")  # unused upfront 1.25 + unused recurring 2.5
    assert lines["SavingsPlanCoveredUsage"].effective_cost == Decimal("0.0552")
    assert lines["SavingsPlanNegation"].effective_cost == 0
    assert lines["SavingsPlanRecurringFee"].effective_cost == Decimal("1.5")  # 72 committed - 70.5 used
    assert lines["Tax"].effective_cost == Decimal("5.4")
    assert lines["Credit"].effective_cost == Decimal("-10")
    assert lines["Credit"].billed_cost == Decimal("-10")  # credits are negative by design: accepted


def test_list_cost_is_public_on_demand_else_unblended(records: list[UsageRecord]) -> None:
    lines = by_line_type(records)
    assert lines["DiscountedUsage"].list_cost == Decimal("0.17")
    assert lines["Tax"].list_cost == Decimal("5.4")  # no public price: unblended


def test_tags_region_and_periods(records: list[UsageRecord]) -> None:
    ec2 = next(r for r in records if r.resource_id == "i-0a1b2c3d4e5f60001")
    assert ec2.tags == {
        "team": "payments",
        "env": "prod",
        "aws:createdBy": "Root:111122223333",
        "costcategory:Team": "Payments",  # the cost_category map, as the tag allocation rules read
    }
    assert ec2.region == "us-east-1"
    assert ec2.service == "AmazonEC2"
    assert ec2.service_category == "Compute"
    assert ec2.billing_account_id == "111122223333"
    assert ec2.consumed_quantity == 1 and ec2.consumed_unit == "Hrs"
    assert ec2.minutes == 60
    s3 = next(r for r in records if r.service == "AmazonS3" and r.charge_category == "Usage")
    assert s3.region == "eu-west-2"  # only in the product map
    assert s3.minutes == 24 * 60  # daily stays daily
    fee = by_line_type(records)["RIFee"]
    assert fee.charge_period_end.isoformat() == "2024-06-01T00:00:00+00:00"  # 23:59:59 ceiled
    assert all(r.source == "cur2" for r in records)


def test_csv_and_parquet_give_the_same_records() -> None:
    def comparable(record: UsageRecord) -> dict[str, object]:
        return record.model_dump(exclude={"record_id", "source_ref"})

    from_csv = [comparable(r) for r in parse(CSV_FILE)]
    from_parquet = [comparable(r) for r in parse(PARQUET_FILE)]
    assert from_csv == from_parquet


def test_ids_unique(records: list[UsageRecord]) -> None:
    assert len({r.record_id for r in records}) == len(records)


@pytest.mark.parametrize("path", [CSV_FILE, PARQUET_FILE], ids=["csv", "parquet"])
def test_every_record_carries_the_tenant_the_file_is_parsed_for(path: Path) -> None:
    default = parse(path)
    acme = [p for p in parse_export(path, tenant_id="acme") if isinstance(p, UsageRecord)]
    assert {r.tenant_id for r in default} == {"default"} and {r.tenant_id for r in acme} == {"acme"}
    assert [r.model_copy(update={"tenant_id": "default"}) for r in acme] == default
    assert all(UsageRecord.model_validate_json(r.model_dump_json()) == r for r in acme)


def test_cost_categories_reach_allocation(records: list[UsageRecord]) -> None:
    """A `cost_categories` rule allocates by the map CUR 2.0 carries, and only the lines that have the category."""
    rules = AllocationRules.model_validate({"dimensions": {"team": {"cost_categories": {"names": ["team"]}}}})
    allocator = Allocator(rules)
    labels = {r.resource_id: allocator.allocate(r)["team"].label for r in records if r.charge_category == "Usage"}
    assert labels["i-0a1b2c3d4e5f60001"] == "payments"
    assert sum(label == "payments" for label in labels.values()) == sum(
        "costcategory:Team" in r.tags for r in records if r.charge_category == "Usage"
    )
