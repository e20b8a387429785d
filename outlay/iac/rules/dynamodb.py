"""DynamoDB tables: provisioned capacity (WCU and RCU, by the hour) or on-demand requests (WRU and RRU, from
usage), storage, backups, restores and stream reads (usage), and each global-table replica's replicated writes,
priced in the replica's region.

Prices: aws.amazon.com/dynamodb/pricing (on-demand and provisioned pages), in `unit_prices.csv`.
"""

from __future__ import annotations

from decimal import Decimal

from outlay.iac.rules.scaling import is_scaled, scaled_capacity
from outlay.iac.rules.spec import (
    Block,
    Component,
    Free,
    Price,
    ResourceRule,
    Scope,
    UsageKey,
    attribute,
    unit_price,
    usage,
)
from outlay.pricing.catalogue import HOURS_PER_MONTH

ON_DEMAND = "PAY_PER_REQUEST"  # billing_mode; a table without one is PROVISIONED
MILLION = Decimal("0.000001")


def on_demand(scope: Scope) -> bool:
    return scope.resource.attributes.get("billing_mode") == ON_DEMAND


def provisioned(scope: Scope) -> bool:
    return not on_demand(scope)


def per_month(component: str) -> Price:
    """An hourly capacity price as the price of one unit kept for the month (730 hours)."""
    return lambda scope: scope.catalogue.unit_price("dynamodb", component, scope.region).amount * HOURS_PER_MONTH


def pitr(scope: Scope) -> bool:
    """Point-in-time recovery is on, or the usage file says how much it keeps."""
    return (
        bool(scope.block("point_in_time_recovery").get("enabled")) or scope.used("pitr_backup_storage_gb") is not None
    )


# --- global-table replicas (priced in the replica's region) ----------------------------------------------------


def replica_region(scope: Scope) -> str:
    return str(scope.attr("region_name") or scope.region)


def in_replica_region(component: str, hourly: bool = False) -> Price:
    def price(scope: Scope) -> Decimal:
        amount = scope.catalogue.unit_price("dynamodb", component, replica_region(scope)).amount
        return amount * HOURS_PER_MONTH if hourly else amount

    return price


def table_write_capacity(scope: Scope) -> Decimal | None:
    """A replica's block has no capacity of its own: it replicates the table's writes."""
    value = scope.resource.attributes.get("write_capacity")
    return None if value is None else Decimal(str(value))


REPLICA = [
    Component("Replicated write capacity unit (rWCU)", "rWCU", table_write_capacity,
              in_replica_region("replicated_wcu_hour", hourly=True), when=provisioned),
    Component("Replicated write request unit (rWRU)", "1M rWRU", usage("monthly_write_request_units", MILLION),
              in_replica_region("replicated_write_million"), when=on_demand, usage_based=True),
]  # fmt: skip


USAGE = [
    UsageKey("monthly_write_request_units", "write request units a month (on-demand tables)"),
    UsageKey("monthly_read_request_units", "read request units a month (on-demand tables)"),
    UsageKey("storage_gb", "GB the table stores"),
    UsageKey("pitr_backup_storage_gb", "GB of point-in-time recovery backups"),
    UsageKey("on_demand_backup_storage_gb", "GB of on-demand backups"),
    UsageKey("monthly_data_restored_gb", "GB restored from backups a month"),
    UsageKey("monthly_streams_read_request_units", "DynamoDB Streams read request units a month"),
]

WRITE_DIMENSION, READ_DIMENSION = "dynamodb:table:WriteCapacityUnits", "dynamodb:table:ReadCapacityUnits"


def capacity_components(name: str, unit: str, key: str, dimension: str, price: str) -> list[Component]:
    """A provisioned table's capacity: as an autoscaling target keeps it when one scales the table (`scaling.py`),
    else as the table sets it."""
    scaled = is_scaled(dimension)
    return [
        Component(
            f"{name} ({unit})", unit, attribute(key), per_month(price), when=lambda s: provisioned(s) and not scaled(s)
        ),  # fmt: skip
        Component(
            f"{name} ({unit}, autoscaling)",
            unit,
            lambda s: scaled_capacity(s, dimension),
            per_month(price),
            when=lambda s: provisioned(s) and scaled(s),
        ),  # fmt: skip
    ]


RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_dynamodb_table",
        [
            *capacity_components("Write capacity unit", "WCU", "write_capacity", WRITE_DIMENSION, "wcu_hour"),
            *capacity_components("Read capacity unit", "RCU", "read_capacity", READ_DIMENSION, "rcu_hour"),
            Component(
                "Write request unit (WRU)",
                "1M WRUs",
                usage("monthly_write_request_units", MILLION),
                unit_price("dynamodb", "write_request_million"),
                when=on_demand,
                usage_based=True,
            ),
            Component(
                "Read request unit (RRU)",
                "1M RRUs",
                usage("monthly_read_request_units", MILLION),
                unit_price("dynamodb", "read_request_million"),
                when=on_demand,
                usage_based=True,
            ),
            Component(
                "Data storage", "GB", usage("storage_gb"), unit_price("dynamodb", "storage_gb"), usage_based=True
            ),
            Component(
                "Point-In-Time Recovery (PITR) backup storage",
                "GB",
                usage("pitr_backup_storage_gb"),
                unit_price("dynamodb", "pitr_storage_gb"),
                when=pitr,
                usage_based=True,
            ),
            Component(
                "On-demand backup storage",
                "GB",
                usage("on_demand_backup_storage_gb"),
                unit_price("dynamodb", "backup_storage_gb"),
                usage_based=True,
            ),
            Component(
                "Table data restored",
                "GB",
                usage("monthly_data_restored_gb"),
                unit_price("dynamodb", "restore_gb"),
                usage_based=True,
            ),
            Component(
                "Streams read request unit (sRRU)",
                "1M sRRUs",
                usage("monthly_streams_read_request_units", MILLION),
                unit_price("dynamodb", "streams_read_million"),
                usage_based=True,
            ),
        ],  # fmt: skip
        blocks=[Block("replica[{i}]", "replica", REPLICA)],
        usage=USAGE,
    ),
    Free("aws_dynamodb_table_item"),
]
