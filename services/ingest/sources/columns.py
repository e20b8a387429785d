"""Column names each export format must have, and the naming rules that relate CUR's two header styles.

Legacy CUR is delivered either with slash-style headers (CSV: `lineItem/UnblendedCost`) or, for Athena
parquet, with the same names in snake case (`line_item_unblended_cost`). Athena's rule puts an
underscore before every capital letter (`reservation/ReservationARN` -> `reservation_reservation_a_r_n`),
so converting slash names with that rule lets one parser read both. CUR 2.0 (Data Exports) uses the
snake names and adds map columns (`product`, `resource_tags`, `cost_category`, `discount`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FOCUS_REQUIRED: tuple[str, ...] = (
    "BilledCost",
    "BillingAccountId",
    "BillingCurrency",
    "ChargeCategory",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ProviderName",
    "ServiceName",
)

# Canonical (snake) names; the slash spelling is what a CSV export shows, used in error messages.
CUR_REQUIRED: dict[str, str] = {
    "identity_line_item_id": "identity/LineItemId",
    "identity_time_interval": "identity/TimeInterval",
    "bill_payer_account_id": "bill/PayerAccountId",
    "line_item_usage_account_id": "lineItem/UsageAccountId",
    "line_item_line_item_type": "lineItem/LineItemType",
    "line_item_usage_start_date": "lineItem/UsageStartDate",
    "line_item_usage_end_date": "lineItem/UsageEndDate",
    "line_item_product_code": "lineItem/ProductCode",
    "line_item_unblended_cost": "lineItem/UnblendedCost",
    "line_item_currency_code": "lineItem/CurrencyCode",
}

# Present only in CUR 2.0 (AWS Data Exports "Cost and Usage Report 2.0 table dictionary"): the map
# columns and the account-name columns legacy CUR never had.
CUR2_MARKERS: frozenset[str] = frozenset(
    {"product", "resource_tags", "cost_category", "discount", "bill_payer_account_name", "line_item_usage_account_name"}
)

SLASH_TAG_PREFIX = "resourceTags/"
SNAKE_TAG_PREFIX = "resource_tags_"
# Legacy CUR writes one column per AWS Cost Category: `costCategory/Team` in CSV, `cost_category_team` in Athena
# parquet. CUR 2.0 has one `cost_category` map column instead.
SLASH_COST_CATEGORY_PREFIX = "costCategory/"
SNAKE_COST_CATEGORY_PREFIX = "cost_category_"

_CAPITAL = re.compile(r"(?<!^)([A-Z])")


def canonical_cur_name(column: str) -> str:
    """The Athena snake-case name of a CUR column (snake names come back unchanged)."""
    if "/" not in column:
        return column.strip().lower()
    return "_".join(_CAPITAL.sub(r"_\1", part.strip()).lower() for part in column.split("/"))


def canonical_cur_columns(columns: Iterable[str]) -> dict[str, str]:
    """canonical name -> the file's own column name (first one wins if two spell the same)."""
    mapping: dict[str, str] = {}
    for column in columns:
        if column.startswith(SLASH_TAG_PREFIX):
            continue  # tag keys are case-sensitive and keep their colon: handled by the tag reader
        mapping.setdefault(canonical_cur_name(column), column)
    return mapping


def cur_tag_key(column: str) -> str | None:
    """The tag key a CUR tag column carries, or None when the column is not a tag.

    User tags keep the key after the prefix (`resourceTags/user:Team` -> `Team`, Athena's
    `resource_tags_user_cost_center` -> `cost_center`); AWS-generated tags keep their `aws:` namespace
    so they cannot collide with a user tag of the same name.
    """
    if column.startswith(SLASH_TAG_PREFIX):
        key = column[len(SLASH_TAG_PREFIX) :]
        return key[len("user:") :] if key.startswith("user:") else key
    if column.startswith(SNAKE_TAG_PREFIX):
        return map_tag_key(column[len(SNAKE_TAG_PREFIX) :])
    return None


def cur_cost_category(column: str) -> str | None:
    """The AWS Cost Category name a legacy CUR column carries, or None (`costCategory/Team` -> `Team`; Athena
    lower-cases names, so `cost_category_team` -> `team`: allocation compares category names case-insensitively)."""
    for prefix in (SLASH_COST_CATEGORY_PREFIX, SNAKE_COST_CATEGORY_PREFIX):
        if column.startswith(prefix) and len(column) > len(prefix):
            return column[len(prefix) :]
    return None


def map_tag_key(key: str) -> str:
    """A tag key as CUR 2.0's `resource_tags` map and Athena name it (`user_team`, `aws_created_by`)."""
    if key.startswith(("user_", "user:")):
        return key[len("user_") :]
    if key.startswith("aws_"):
        return "aws:" + key[len("aws_") :]
    return key
