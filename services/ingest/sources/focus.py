"""FOCUS 1.0–1.2 cost exports (any provider: AWS, Microsoft, Oracle, Google …) → `UsageRecord`s.

Columns are the FOCUS spec's own names. Rows keep their native charge period (hourly, daily, monthly);
spreading over minutes happens downstream.

Value rules (decided per ChargeCategory, FOCUS 1.0 §ChargeCategory / §ChargeClass):
- costs may be negative in every category: credits, adjustments and corrections are, and real exports
  also carry negative Usage rows (the sample's Microsoft rows 955, 960, … reverse earlier usage with a
  negative quantity and a negative cost, and have no ChargeClass). Rejecting them would make the
  ingested total disagree with the invoice;
- on a Usage row a negative ConsumedQuantity is only accepted as such a reversal: with a positive
  BilledCost it contradicts itself and the row is rejected;
- EffectiveCost / ListCost fall back to BilledCost when the cell is empty, but a present, unparsable
  value rejects the row.

Record ids: the FOCUS sample carries a unique `Id` column (checked: 1,000 distinct values in 1,000
rows), so when a file has it the id is derived from provider + billing account + Id (+ how often that
Id came before in this file, should an export ever repeat one). AWS's own FOCUS exports have no `Id`:
then the id is the file *name* (not its folder, so the same file read from disk or from S3 gets the
same ids, as for CUR) + row number, unique within the file. The row's provider, billing account and
charge period start join the key because AWS writes every month's files under
`BILLING_PERIOD=YYYY-MM/` with the same names: without them, row 1 of October would take row 1 of
September's id and the ledger, which keeps the first row per id, would drop it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from outlay.events import UsageRecord
from outlay.events.usage import CostKind, checked_usage_record, stable_record_id
from outlay.tenancy import DEFAULT_TENANT
from services.ingest.sources.base import ParsedRow
from services.ingest.sources.cells import (
    CellError,
    charge_period,
    currency,
    decimal,
    key_values,
    required_decimal,
    required_text,
    text,
    timestamp,
)
from services.ingest.sources.columns import FOCUS_REQUIRED
from services.ingest.sources.rowloop import FileScope, parse_rows

_OPTIONAL = (
    "EffectiveCost",
    "ListCost",
    "SubAccountId",
    "RegionId",
    "RegionName",
    "ServiceCategory",
    "ResourceId",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ChargeClass",
    "Tags",
    "Id",
    "x_UsageType",  # AWS "FOCUS with AWS columns" exports
)
_USAGE_CATEGORIES = frozenset({"Usage"})

_MODEL_TO_COLUMN = {
    "charge_period_start": "ChargePeriodStart",
    "charge_period_end": "ChargePeriodEnd",
    "billing_account_id": "BillingAccountId",
    "sub_account_id": "SubAccountId",
    "service": "ServiceName",
    "currency": "BillingCurrency",
    "billed_cost": "BilledCost",
    "effective_cost": "EffectiveCost",
    "list_cost": "ListCost",
    "consumed_quantity": "ConsumedQuantity",
    "tags": "Tags",
    "provider": "ProviderName",
}


class FocusParser:
    format = "focus"

    def __init__(self, columns: Sequence[str]) -> None:
        present = set(columns)
        self.columns_needed: tuple[str, ...] = tuple(c for c in (*FOCUS_REQUIRED, *_OPTIONAL) if c in present)
        self._has_id = "Id" in present

    def parse(
        self, table_rows: Iterator[dict[str, object]], uri: str, tenant_id: str = DEFAULT_TENANT
    ) -> Iterator[ParsedRow]:
        return parse_rows(self, table_rows, uri, tenant_id)

    def source_column(self, model_field: str) -> str | None:
        return _MODEL_TO_COLUMN.get(model_field)

    def record(self, row: Mapping[str, object], number: int, scope: FileScope) -> UsageRecord:
        category = required_text(row.get("ChargeCategory"), "ChargeCategory")
        provider = required_text(row.get("ProviderName"), "ProviderName")
        billing_account = required_text(row.get("BillingAccountId"), "BillingAccountId")
        start, end = charge_period(
            timestamp(row.get("ChargePeriodStart"), "ChargePeriodStart"),
            timestamp(row.get("ChargePeriodEnd"), "ChargePeriodEnd"),
            "ChargePeriodStart",
            "ChargePeriodEnd",
        )
        billed = required_decimal(row.get("BilledCost"), "BilledCost")
        quantity = decimal(row.get("ConsumedQuantity"), "ConsumedQuantity")
        if quantity is not None and quantity < 0 and billed > 0 and category in _USAGE_CATEGORIES:
            raise CellError(
                "ConsumedQuantity", f"negative quantity {quantity} with a positive cost on a {category} row"
            )
        effective = decimal(row.get("EffectiveCost"), "EffectiveCost")
        listed = decimal(row.get("ListCost"), "ListCost")

        natural_id = text(row.get("Id")) if self._has_id else None
        if natural_id is not None:
            key = f"{provider}\x1f{billing_account}\x1f{natural_id}"
            record_id = stable_record_id(self.format, provider, billing_account, natural_id, scope.occurrence(key))
        else:
            record_id = scope.ids(number, provider, billing_account, start)

        return checked_usage_record(
            record_id=record_id,
            tenant_id=scope.tenant_id,
            source=self.format,
            source_ref=scope.ref(number),
            cost_kind=CostKind.BILLED,
            provider=provider,
            charge_period_start=start,
            charge_period_end=end,
            billing_account_id=billing_account,
            sub_account_id=text(row.get("SubAccountId")),
            region=text(row.get("RegionId")) or text(row.get("RegionName")),
            service=required_text(row.get("ServiceName"), "ServiceName"),
            service_category=text(row.get("ServiceCategory")),
            resource_id=text(row.get("ResourceId")),
            usage_type=text(row.get("x_UsageType")),
            charge_category=category,
            consumed_quantity=quantity,
            consumed_unit=text(row.get("ConsumedUnit")),
            billed_cost=billed,
            effective_cost=billed if effective is None else effective,
            list_cost=billed if listed is None else listed,
            currency=currency(row.get("BillingCurrency"), "BillingCurrency"),
            tags=key_values(row.get("Tags"), "Tags"),
        )
