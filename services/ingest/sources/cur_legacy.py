"""Legacy AWS Cost and Usage Reports → `UsageRecord`s, in both header styles.

- CSV with slash headers (`lineItem/UnblendedCost`, tags as `resourceTags/user:Team`);
- Athena parquet with snake headers (`line_item_unblended_cost`, tags as `resource_tags_user_team`).

Column names are reduced to the snake spelling (see `columns.canonical_cur_name`), so one mapping reads
both. `CurParser` is also the base of the CUR 2.0 parser, which differs only in tags and region.

Field mapping: billing account = payer account; sub account = usage account; service = the product
name ("Amazon Elastic Compute Cloud", as FOCUS ServiceName and AWS's own FOCUS export spell it, so CUR, FOCUS
and live series share one name), else the line item product code; charge category =
the line item type as AWS writes it (Usage, DiscountedUsage, RIFee, Tax, …); billed cost = unblended
cost; list cost = public on-demand cost, else unblended; effective cost = amortized cost (below).

Value rules (per line item type): costs may be negative on any line. Credit-like types (Credit,
Refund, Discount, BundledDiscount, SavingsPlanNegation, …) are negative by design, and reversals of
usage exist in real bills (the FOCUS sample has negative Usage rows): rejecting them would make totals
disagree with the invoice. A negative usage amount on a usage line (Usage, DiscountedUsage,
SavingsPlanCoveredUsage) is accepted only as such a reversal; with a positive cost it is rejected.

Record ids: `identity/LineItemId` is only unique within one partition file of a delivery (AWS CUR user
guide, "Identity details"), and one file may in principle repeat a (LineItemId, TimeInterval) pair (the
two samples here do not). The id is therefore format + file name + line item id + time interval + how
many times that pair came before in this file: replaying the same file (from disk or from S3) gives the
same ids, other partitions of the same delivery get other ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from outlay.events import UsageRecord
from outlay.events.usage import COST_CATEGORY_TAG_PREFIX, CostKind, checked_usage_record
from outlay.tenancy import DEFAULT_TENANT
from services.ingest.sources.aws_categories import service_category
from services.ingest.sources.base import ParsedRow
from services.ingest.sources.cells import (
    CellError,
    PeriodCache,
    currency,
    decimal,
    required_decimal,
    required_text,
    text,
)
from services.ingest.sources.columns import CUR_REQUIRED, canonical_cur_columns, cur_cost_category, cur_tag_key
from services.ingest.sources.rowloop import FileScope, parse_rows

_ZERO = Decimal(0)

# Canonical names read besides the required ones.
_OPTIONAL = (
    "product_product_name",
    "product_region",
    "product_region_code",
    "line_item_resource_id",
    "line_item_usage_type",
    "line_item_usage_amount",
    "pricing_unit",
    "pricing_public_on_demand_cost",
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "reservation_reservation_a_r_n",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
)
_USAGE_LINES = frozenset({"Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"})

_MODEL_TO_CANONICAL = {
    "charge_period_start": "line_item_usage_start_date",
    "charge_period_end": "line_item_usage_end_date",
    "billing_account_id": "bill_payer_account_id",
    "sub_account_id": "line_item_usage_account_id",
    "service": "line_item_product_code",
    "currency": "line_item_currency_code",
    "billed_cost": "line_item_unblended_cost",
    "effective_cost": "line_item_unblended_cost",
    "list_cost": "pricing_public_on_demand_cost",
    "consumed_quantity": "line_item_usage_amount",
}


class CurParser:
    format = "cur"

    def __init__(self, columns: Sequence[str]) -> None:
        by_canonical = canonical_cur_columns(columns)
        # The file's own column name for each canonical name, or None (row.get(None) is None).
        self._col: dict[str, str | None] = {
            name: by_canonical.get(name) for name in (*CUR_REQUIRED, *_OPTIONAL, *self._extra_canonical())
        }
        # Resource tags and cost categories (`costcategory:<Name>`, see COST_CATEGORY_TAG_PREFIX) both become tags.
        self._tag_columns: tuple[tuple[str, str], ...] = tuple(
            (column, key) for column in columns if (key := cur_tag_key(column)) is not None
        ) + tuple(
            (column, COST_CATEGORY_TAG_PREFIX + name) for column in columns if (name := cur_cost_category(column))
        )
        wanted = [c for c in self._col.values() if c is not None] + [c for c, _ in self._tag_columns]
        self.columns_needed: tuple[str, ...] = tuple(dict.fromkeys(wanted))
        n = self._name
        self._keys = (
            n("line_item_line_item_type"),
            n("identity_line_item_id"),
            n("identity_time_interval"),
            n("line_item_usage_start_date"),
            n("line_item_usage_end_date"),
            n("line_item_unblended_cost"),
            n("line_item_usage_amount"),
            n("line_item_product_code"),
            n("bill_payer_account_id"),
            n("line_item_usage_account_id"),
            n("line_item_resource_id"),
            n("line_item_usage_type"),
            n("pricing_unit"),
            n("line_item_currency_code"),
            n("pricing_public_on_demand_cost"),
        )
        self._periods = PeriodCache(n("line_item_usage_start_date"), n("line_item_usage_end_date"))

    def _extra_canonical(self) -> tuple[str, ...]:
        return ()

    def parse(
        self, table_rows: Iterator[dict[str, object]], uri: str, tenant_id: str = DEFAULT_TENANT
    ) -> Iterator[ParsedRow]:
        return parse_rows(self, table_rows, uri, tenant_id)

    def source_column(self, model_field: str) -> str | None:
        canonical = _MODEL_TO_CANONICAL.get(model_field)
        return None if canonical is None else self._name(canonical)

    def _name(self, canonical: str) -> str:
        """The column name as the file spells it (for messages), or the canonical one when absent."""
        return self._col.get(canonical) or canonical

    def _get(self, row: Mapping[str, object], canonical: str) -> object:
        return row.get(self._col[canonical])  # type: ignore[arg-type]  # None key: absent column

    def record(self, row: Mapping[str, object], number: int, scope: FileScope) -> UsageRecord:
        # Hot path (335k rows for WorkshopCUR): names are resolved once in __init__; absent optional
        # columns are looked up under their canonical name, which no row has, so they read as None.
        get = row.get
        (k_type, k_id, k_interval, k_start, k_end, k_cost, k_qty, k_code, k_payer, k_account,
         k_resource, k_usage_type, k_unit, k_currency, k_public) = self._keys  # fmt: skip
        line_type = required_text(get(k_type), k_type)
        line_item_id = required_text(get(k_id), k_id)
        interval = required_text(get(k_interval), k_interval)
        start, end = self._periods.period(get(k_start), get(k_end))
        unblended = required_decimal(get(k_cost), k_cost)
        quantity = decimal(get(k_qty), k_qty)
        if quantity is not None and quantity < 0 and unblended > 0 and line_type in _USAGE_LINES:
            raise CellError(k_qty, f"negative usage {quantity} with a positive cost on a {line_type} line")
        public_cost = decimal(get(k_public), k_public)
        service, category = self.service_of(row)

        occurrence = scope.occurrence(f"{line_item_id}\x1f{interval}")
        return checked_usage_record(
            record_id=scope.ids(line_item_id, interval, occurrence),
            tenant_id=scope.tenant_id,
            source=self.format,
            source_ref=scope.ref(number),
            cost_kind=CostKind.BILLED,
            provider="AWS",
            charge_period_start=start,
            charge_period_end=end,
            billing_account_id=required_text(get(k_payer), k_payer),
            sub_account_id=text(get(k_account)),
            region=self._region(row),
            service=service,
            service_category=category,
            resource_id=text(get(k_resource)),
            usage_type=text(get(k_usage_type)),
            charge_category=line_type,
            consumed_quantity=quantity,
            consumed_unit=text(get(k_unit)),
            billed_cost=unblended,
            effective_cost=self._effective_cost(row, line_type, unblended),
            list_cost=unblended if public_cost is None else public_cost,
            currency=currency(get(k_currency), k_currency),
            tags=self._tags(row),
        )

    def service_of(self, row: Mapping[str, object]) -> tuple[str, str | None]:
        """The row's service (the product name, else the product code) and its FOCUS category."""
        code_column = self._name("line_item_product_code")
        product_code = text(row.get(code_column))
        service = self._service(row) or product_code
        if service is None:
            raise CellError(code_column, "missing value")
        return service, service_category(product_code or service)

    # The row rules the column-wise mapper (`cur_columnar`) applies to distinct cell combinations.
    def region_of(self, row: Mapping[str, object]) -> str | None:
        return self._region(row)

    def tags_of(self, row: Mapping[str, object]) -> dict[str, str]:
        return self._tags(row)

    def period(self, start: object, end: object) -> tuple[datetime, datetime]:
        """The whole-minute charge period of a row's start and end cells (see `cells.charge_period`)."""
        return self._periods.period(start, end)

    def _service(self, row: Mapping[str, object]) -> str | None:
        return text(self._get(row, "product_product_name"))

    def _region(self, row: Mapping[str, object]) -> str | None:
        return text(self._get(row, "product_region")) or text(self._get(row, "product_region_code"))

    def _tags(self, row: Mapping[str, object]) -> dict[str, str]:
        tags: dict[str, str] = {}
        get = row.get
        for column, key in self._tag_columns:
            cleaned = tag_value(get(column))
            if cleaned is not None:
                tags[key] = cleaned
        return tags

    def _effective_cost(self, row: Mapping[str, object], line_type: str, unblended: Decimal) -> Decimal:
        """Amortized cost: `EFFECTIVE_COST_RULES` applied to this row."""
        rule = EFFECTIVE_COST_RULES.get(line_type)
        if rule is None:
            return unblended
        return rule.apply(unblended, lambda name: self._get(row, name), self._name)

    @property
    def tag_columns(self) -> tuple[tuple[str, str], ...]:
        """(file column, tag key) of every tag the parser reads, in the order tags are written."""
        return self._tag_columns

    def column(self, canonical: str) -> str | None:
        """The file's own name of a canonical column, or None when the file has no such column."""
        return self._col.get(canonical)

    def name(self, canonical: str) -> str:
        """The column name as the file spells it (for messages), or the canonical one when absent."""
        return self._name(canonical)


def tag_value(value: object) -> str | None:
    """A tag cell's value, or None when the row does not carry that tag."""
    if value is None or value == "":  # most cells of a tag column are empty: skip them cheaply
        return None
    return text(value)


def _first(amount: Decimal | None) -> Decimal | None:
    return amount


def _unused_commitment(total: Decimal | None, used: Decimal | None) -> Decimal | None:
    return None if total is None or used is None else total - used


def _unused_reservation(upfront: Decimal | None, recurring: Decimal | None) -> Decimal | None:
    return None if upfront is None and recurring is None else (upfront or _ZERO) + (recurring or _ZERO)


def _zero() -> Decimal:
    return _ZERO


@dataclass(frozen=True)
class EffectiveCostRule:
    """How one line item type's amortized cost is computed from its row.

    `amounts` are the canonical columns read as amounts, in the order `amortized` takes them (and in which
    their cell errors are raised); `only_with_text` makes the rule apply only when that column has text (else
    the unblended cost stands). When `amortized` gives None (the export did not carry the amortization), the
    unblended cost stands too.
    """

    amounts: tuple[str, ...]
    amortized: Callable[..., Decimal | None]
    only_with_text: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Every canonical column the rule reads."""
        gate = () if self.only_with_text is None else (self.only_with_text,)
        return gate + self.amounts

    def apply(self, unblended: Decimal, cell: Callable[[str], object], name: Callable[[str], str]) -> Decimal:
        """The effective cost of a row of this type: `cell(canonical)` is the row's raw cell, `name(canonical)`
        the column name a cell error names."""
        if self.only_with_text is not None and not text(cell(self.only_with_text)):
            return unblended
        value = self.amortized(*(decimal(cell(column), name(column)) for column in self.amounts))
        return unblended if value is None else value


# Amortized cost, per AWS's documented rule, by line item type; any other type's is its unblended cost.
#
# Source: AWS CUR Query Library (Well-Architected Labs, "CUR Query Library Helpers — Amortized cost") and
# AWS's own CUR→FOCUS EffectiveCost mapping, which state per line item type: SavingsPlanCoveredUsage →
# savingsPlan/SavingsPlanEffectiveCost; SavingsPlanRecurringFee → TotalCommitmentToDate − UsedCommitment (the
# unused commitment); SavingsPlanNegation and SavingsPlanUpfrontFee → 0; DiscountedUsage →
# reservation/EffectiveCost; RIFee → UnusedAmortizedUpfrontFeeForBillingPeriod + UnusedRecurringFee; a Fee
# with a reservation ARN (the RI upfront payment) → 0. When the columns a rule needs are absent or empty, the
# unblended cost stands (the export did not carry the amortization). The row mapper (`CurParser`) and the
# column-wise one (`cur_columnar`) both read this one table.
EFFECTIVE_COST_RULES: dict[str, EffectiveCostRule] = {
    "SavingsPlanCoveredUsage": EffectiveCostRule(("savings_plan_savings_plan_effective_cost",), _first),
    "DiscountedUsage": EffectiveCostRule(("reservation_effective_cost",), _first),
    "SavingsPlanRecurringFee": EffectiveCostRule(
        ("savings_plan_total_commitment_to_date", "savings_plan_used_commitment"), _unused_commitment
    ),
    "SavingsPlanNegation": EffectiveCostRule((), _zero),
    "SavingsPlanUpfrontFee": EffectiveCostRule((), _zero),
    "RIFee": EffectiveCostRule(
        (
            "reservation_unused_amortized_upfront_fee_for_billing_period",
            "reservation_unused_recurring_fee",
        ),
        _unused_reservation,
    ),
    "Fee": EffectiveCostRule((), _zero, only_with_text="reservation_reservation_a_r_n"),
}
