"""RDS: DB instances (with their storage, backups, Extended Support, Performance Insights and CPU credits), Aurora
clusters (storage, I/O, backups, Backtrack, exports, Serverless v1) and Aurora cluster instances (Serverless v2 too).

Prices: open-source engines' instance hours from the catalogue's RDS table; Aurora, Oracle and SQL Server editions and
newer classes from `rds_extra.csv`; storage and usage from `unit_prices.csv` (rows `rds,*` and `aurora,*`). A Multi-AZ
deployment runs a standby in a second zone, and AWS lists its instance and storage prices at twice Single-AZ's.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from outlay.iac.rules.spec import (
    HOURS,
    Component,
    Condition,
    Free,
    Price,
    ResourceRule,
    RuleError,
    Scope,
    UsageKey,
    has,
    unit_price,
    usage,
)
from outlay.pricing.catalogue import HOURS_PER_MONTH, UnknownPrice

OPEN_ENGINES = ("mysql", "postgres", "mariadb")  # priced from the catalogue's RDS table; no license model
AURORA_ENGINES = {"aurora": "aurora-mysql", "aurora-mysql": "aurora-mysql", "aurora-postgresql": "aurora-postgresql"}
# Oracle editions AWS sells only bring-your-own-license (Enterprise, and the retired Standard); the others default to
# license-included, and SQL Server is always license-included on RDS.
ORACLE_BYOL_ONLY = ("oracle-ee", "oracle-ee-cdb", "oracle-se")
DEFAULT_STORAGE_GB = 20  # what a plan shows when allocated_storage is unknown (a replica inherits its source's)
IO_MIN_GB, IO_MIN_IOPS = 100, 1000  # RDS's smallest io1/io2 volume and IOPS
GP3_BASELINE = ((400, 12000), (0, 3000))  # gp3 volumes of at least this many GB include this many IOPS
STORAGE_NAMES = {
    "gp2": "general purpose SSD, gp2",
    "gp3": "general purpose SSD, gp3",
    "io1": "provisioned IOPS SSD, io1",
    "io2": "provisioned IOPS SSD, io2",
}
BURSTABLE_UNLIMITED = ("db.t3", "db.t4g")  # RDS runs T3/T4g in unlimited mode (T2 in standard mode: no surplus)
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600

# Extended Support: majors past the end of standard support, and when it ended. AWS charges years 1-2 and year 3
# after that date at different prices, so the year is counted as of the date the prices were curated.
PRICES_AS_OF = date(2026, 11, 30)
END_OF_STANDARD_SUPPORT = {
    ("mysql", "5.7"): date(2024, 2, 29),
    ("mysql", "8.0"): date(2026, 7, 31),
    ("postgres", "11"): date(2024, 2, 29),
    ("postgres", "12"): date(2025, 2, 28),
    ("postgres", "13"): date(2026, 2, 28),
    ("aurora-mysql", "5.7"): date(2024, 10, 31),
    ("aurora-postgresql", "11"): date(2024, 2, 29),
    ("aurora-postgresql", "12"): date(2025, 2, 28),
    ("aurora-postgresql", "13"): date(2026, 2, 28),
}


# --- what the resource is ----------------------------------------------------------------------------------


def engine(scope: Scope) -> str:
    """The API's engine name; a replica (`replicate_source_db`) without one is its source's: MySQL by default."""
    return str(scope.attr("engine", "mysql")).lower()


def aurora_engine(scope: Scope) -> str | None:
    return AURORA_ENGINES.get(engine(scope))


def is_aurora(scope: Scope) -> bool:
    return aurora_engine(scope) is not None


def instance_class(scope: Scope) -> str:
    return str(scope.attr("instance_class", ""))


def multi_az(scope: Scope) -> bool:
    return bool(scope.attr("multi_az")) and not is_aurora(scope)


def az_factor(scope: Scope) -> Decimal:
    return Decimal(2) if multi_az(scope) else Decimal(1)


def license_model(scope: Scope) -> str:
    name = engine(scope)
    if name in OPEN_ENGINES or is_aurora(scope):
        return ""
    if name in ORACLE_BYOL_ONLY:
        return "bring-your-own-license"
    return str(scope.attr("license_model", "license-included"))


def vcpus(scope: Scope) -> Decimal:
    shape = scope.catalogue.rds_instance(instance_class(scope))
    if shape.vcpu is None:
        raise UnknownPrice(f"the vCPUs of RDS class {instance_class(scope)!r} are not known")
    return Decimal(shape.vcpu)


# --- instance hours ----------------------------------------------------------------------------------------


def single_az_hour(scope: Scope) -> Decimal:
    """The class's Single-AZ on-demand price for this engine and license model."""
    cls, name, region = instance_class(scope), aurora_engine(scope) or engine(scope), scope.region
    if name in OPEN_ENGINES:
        try:
            return scope.catalogue.rds_hourly(cls, name, region)
        except UnknownPrice:
            pass  # a class newer than the catalogue's table: rds_extra.csv may list it
    license = license_model(scope)
    try:
        return scope.catalogue.node_hourly("rds", f"{cls}|{name}|{license}", region)
    except UnknownPrice:
        if name.startswith("oracle") and license == "bring-your-own-license":
            # AWS lists Oracle BYOL instances at the open-source engines' rate for the class (db.t3.medium $0.068).
            return scope.catalogue.rds_hourly(cls, "mysql", region)
        raise UnknownPrice(
            f"no RDS price for {cls!r} engine {name!r} ({license or 'no license'}) in {region}"
        ) from None


def instance_hour(scope: Scope) -> Decimal:
    return single_az_hour(scope) * az_factor(scope)


def instance_label(scope: Scope) -> str:
    deployment = "Multi-AZ" if multi_az(scope) else "Single-AZ"
    return f"Database instance (on-demand, {deployment}, {instance_class(scope)})"


# --- storage -----------------------------------------------------------------------------------------------


def storage_type(scope: Scope) -> str:
    """Terraform's default: io1 when IOPS are set, gp2 otherwise."""
    return str(scope.attr("storage_type") or ("io1" if scope.attr("iops") else "gp2"))


def storage_label(scope: Scope) -> str:
    kind = storage_type(scope)
    return "Storage (magnetic)" if kind == "standard" else f"Storage ({STORAGE_NAMES.get(kind, kind)})"


def provisioned_iops(scope: Scope) -> bool:
    return storage_type(scope) in ("io1", "io2")


def storage_gb(scope: Scope) -> Decimal | None:
    size = scope.number("allocated_storage", DEFAULT_STORAGE_GB)
    if size is not None and provisioned_iops(scope):
        size = max(size, Decimal(IO_MIN_GB))
    return size


def rds_price(component: str | None = None) -> Price:
    """A `unit_prices.csv` row of service "rds" (named after the storage type when `component` is None, or with
    "{type}" filled in), doubled for Multi-AZ."""

    def price(scope: Scope) -> Decimal:
        name = (component or "storage_{type}").format(type=storage_type(scope))
        return scope.catalogue.unit_price("rds", name, scope.region).amount * az_factor(scope)

    return price


def io_iops(scope: Scope) -> Decimal | None:
    iops = scope.number("iops", IO_MIN_IOPS)
    return None if iops is None else max(iops, Decimal(IO_MIN_IOPS))


def gp3_included_iops(scope: Scope) -> int:
    """IOPS a gp3 volume includes: 12,000 from 400 GB (200 GB for Oracle), 3,000 below (always for SQL Server)."""
    size = scope.number("allocated_storage", DEFAULT_STORAGE_GB) or Decimal(0)
    if engine(scope).startswith("sqlserver"):
        return 3000
    threshold = 200 if engine(scope).startswith("oracle") else 400
    return 12000 if size >= threshold else 3000


def gp3_extra_iops(scope: Scope) -> Decimal | None:
    iops = scope.number("iops")
    return None if iops is None else iops - gp3_included_iops(scope)


def gp3_iops_label(scope: Scope) -> str:
    return f"Provisioned GP3 IOPS (above {gp3_included_iops(scope):,})"


def gp3_above_baseline(scope: Scope) -> bool:
    return storage_type(scope) == "gp3" and (gp3_extra_iops(scope) or 0) > 0


def backup_price(scope: Scope) -> Decimal:
    service = "aurora" if is_aurora(scope) else "rds"
    return scope.catalogue.unit_price(service, "backup_storage", scope.region).amount


def shows_backups(key: str) -> Condition:
    """Backups are listed when they are kept (a retention period) or their size is given."""
    return lambda scope: bool(scope.number("backup_retention_period", 0)) or scope.used(key) is not None


# --- Extended Support, CPU credits, Performance Insights ---------------------------------------------------


def major_version(scope: Scope) -> str:
    """ "5.7.44" -> "5.7" for MySQL-family engines, "11.22" -> "11" for PostgreSQL-family ones."""
    parts = str(scope.attr("engine_version", "")).split(".")
    mysql_family = (aurora_engine(scope) or engine(scope)) in ("mysql", "aurora-mysql", "mariadb")
    return ".".join(parts[:2]) if mysql_family else parts[0]


def support_year(scope: Scope) -> int | None:
    """The Extended Support year the major is in as of PRICES_AS_OF; None while standard support lasts."""
    ended = END_OF_STANDARD_SUPPORT.get((aurora_engine(scope) or engine(scope), major_version(scope)))
    if ended is None or ended >= PRICES_AS_OF:
        return None
    months = (PRICES_AS_OF.year - ended.year) * 12 + PRICES_AS_OF.month - ended.month
    return months // 12 + 1


def in_extended_support(scope: Scope) -> bool:
    return support_year(scope) is not None


def extended_support_label(scope: Scope) -> str:
    return f"Extended support (year {support_year(scope)})"


def extended_support_vcpu_hours(scope: Scope) -> Decimal | None:
    return vcpus(scope) * HOURS_PER_MONTH * az_factor(scope)


def extended_support_price(scope: Scope) -> Decimal:
    tier = "extended_support_year_1_2" if (support_year(scope) or 1) <= 2 else "extended_support_year_3"
    return scope.catalogue.unit_price("rds", tier, scope.region).amount


def burstable(scope: Scope) -> bool:
    return instance_class(scope).rsplit(".", 1)[0] in BURSTABLE_UNLIMITED


def credit_vcpu_hours(scope: Scope) -> Decimal | None:
    hours = scope.used("monthly_cpu_credit_hrs")
    if hours is None:
        return None
    return hours * (scope.used("vcpu_count") or vcpus(scope))


def cpu_credit_price(scope: Scope) -> Decimal:
    service = "aurora" if is_aurora(scope) else "rds"
    return scope.catalogue.unit_price(service, "cpu_credit_vcpu_hour", scope.region).amount


def shared_components() -> list[Component]:
    """What a DB instance and an Aurora cluster instance both pay besides their hours (Aurora's Extended Support
    is priced as RDS's)."""
    return [
        Component(extended_support_label, "vCPU-hours", extended_support_vcpu_hours, extended_support_price,
                  when=in_extended_support),
        Component("Performance Insights API", "1000 requests",
                  usage("monthly_additional_performance_insights_requests", Decimal("0.001")),
                  unit_price("rds", "performance_insights_api_1k"), when=has("performance_insights_enabled"),
                  usage_based=True),
        Component("CPU credits", "vCPU-hours", credit_vcpu_hours, cpu_credit_price, when=burstable, usage_based=True),
    ]  # fmt: skip


SHARED_USAGE = [
    UsageKey("monthly_cpu_credit_hrs", "hours a month a T3/T4g instance runs above its baseline"),
    UsageKey("vcpu_count", "vCPUs those credit hours are counted on (default: the class's)"),
    UsageKey(
        "monthly_additional_performance_insights_requests", "Performance Insights API requests beyond the free 1M"
    ),
]


# --- Aurora clusters ---------------------------------------------------------------------------------------


def serverless_v1(scope: Scope) -> bool:
    return scope.attr("engine_mode") == "serverless"


def io_optimized(scope: Scope) -> bool:
    return scope.attr("storage_type") == "aurora-iopt1"


def io_requests_millions(scope: Scope) -> Decimal | None:
    writes, reads = scope.used("write_requests_per_sec"), scope.used("read_requests_per_sec")
    if writes is None and reads is None:
        return None
    return ((writes or Decimal(0)) + (reads or Decimal(0))) * SECONDS_PER_MONTH / 1_000_000


def billed_backup_gb(scope: Scope) -> Decimal | None:
    """Daily snapshots kept beyond the first: AWS includes backups up to the cluster's own size (one snapshot)."""
    size = scope.used("backup_snapshot_size_gb")
    if size is None:
        return None
    days = scope.number("backup_retention_period", 1) or Decimal(1)
    return size * max(days - 1, Decimal(0))


def backtrack_change_records(scope: Scope) -> Decimal | None:
    """Millions of change-record-hours: records an hour x the hours kept, stored through the month's hours."""
    statements, per_statement = scope.used("average_statements_per_hr"), scope.used("change_records_per_statement")
    window = scope.used("backtrack_window_hrs")
    if statements is None or per_statement is None or window is None:
        return None
    return statements * per_statement * window * HOURS_PER_MONTH / 1_000_000


def aurora_mysql_provisioned(scope: Scope) -> bool:
    """Backtrack exists for Aurora MySQL provisioned clusters only."""
    return aurora_engine(scope) == "aurora-mysql" and not serverless_v1(scope)


def of_cluster(name: str) -> Price:
    return unit_price("aurora", name)


def cluster_components() -> list[Component]:
    return [
        Component("Aurora serverless", "ACU-hours", usage("capacity_units_per_hr", HOURS_PER_MONTH),
                  of_cluster("serverless_v1_acu_hour"), when=serverless_v1, usage_based=True),
        Component("Storage", "GB", usage("storage_gb"), of_cluster("storage"),
                  when=lambda s: not io_optimized(s), usage_based=True),
        Component("Storage (I/O-optimized)", "GB", usage("storage_gb"), of_cluster("storage_io_optimized"),
                  when=io_optimized, usage_based=True),
        # I/O-Optimized clusters pay no I/O requests: that is what the higher storage price buys.
        Component("I/O requests", "1M requests", io_requests_millions, of_cluster("io_million"),
                  when=lambda s: not io_optimized(s), usage_based=True),
        Component("Backup storage", "GB", billed_backup_gb, of_cluster("backup_storage"),
                  when=lambda s: (s.number("backup_retention_period", 1) or 1) > 1, usage_based=True),
        Component("Backtrack", "1M change-records", backtrack_change_records, of_cluster("backtrack_million"),
                  when=aurora_mysql_provisioned, usage_based=True),
        Component("Snapshot export", "GB", usage("snapshot_export_size_gb"), of_cluster("snapshot_export"),
                  usage_based=True),
    ]  # fmt: skip


CLUSTER_USAGE = [
    UsageKey("capacity_units_per_hr", "Aurora Serverless v1 ACUs in use on average"),
    UsageKey("storage_gb", "GB the cluster stores"),
    UsageKey("write_requests_per_sec", "write I/O requests a second on average"),
    UsageKey("read_requests_per_sec", "read I/O requests a second on average"),
    UsageKey("backup_snapshot_size_gb", "GB of one daily snapshot (kept for backup_retention_period days)"),
    UsageKey("average_statements_per_hr", "statements an hour that change data (Backtrack)"),
    UsageKey("change_records_per_statement", "change records each statement writes (Backtrack)"),
    UsageKey("backtrack_window_hrs", "hours Backtrack keeps"),
    UsageKey("snapshot_export_size_gb", "GB of snapshots exported to S3 a month"),
]


# --- Aurora cluster instances ------------------------------------------------------------------------------


def serverless_v2(scope: Scope) -> bool:
    return instance_class(scope) == "db.serverless"


def cluster_instance_label(scope: Scope) -> str:
    return f"Database instance (on-demand, {instance_class(scope)})"


def cluster_instance_hour(scope: Scope) -> Decimal:
    if not is_aurora(scope):
        raise RuleError(f"engine: expected an Aurora engine for a cluster instance, got {engine(scope)!r}")
    return single_az_hour(scope)


# --- the rules ---------------------------------------------------------------------------------------------

RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_db_instance",
        [
            Component(instance_label, "hours", HOURS, instance_hour),
            Component(storage_label, "GB", storage_gb, rds_price()),
            Component("Provisioned IOPS", "IOPS", io_iops, rds_price("{type}_iops"), when=provisioned_iops),
            Component(gp3_iops_label, "IOPS", gp3_extra_iops, rds_price("gp3_iops"), when=gp3_above_baseline),
            Component(
                "I/O requests",
                "1M requests",
                usage("monthly_standard_io_requests", Decimal("0.000001")),
                rds_price("standard_io_million"),
                when=lambda s: storage_type(s) == "standard",
                usage_based=True,
            ),
            Component(
                "Additional backup storage",
                "GB",
                usage("additional_backup_storage_gb"),
                backup_price,
                when=shows_backups("additional_backup_storage_gb"),
                usage_based=True,
            ),
            *shared_components(),
        ],
        usage=[
            UsageKey("additional_backup_storage_gb", "GB of backups beyond the free 100% of provisioned storage"),
            UsageKey("monthly_standard_io_requests", "I/O requests a month on magnetic storage"),
            *SHARED_USAGE,
        ],
    ),  # fmt: skip
    ResourceRule("aws_rds_cluster", cluster_components(), usage=CLUSTER_USAGE),
    ResourceRule(
        "aws_rds_cluster_instance",
        [
            Component(
                cluster_instance_label, "hours", HOURS, cluster_instance_hour, when=lambda s: not serverless_v2(s)
            ),
            Component(
                "Aurora serverless v2",
                "ACU-hours",
                usage("capacity_units_per_hr", HOURS_PER_MONTH),
                unit_price("aurora", "serverless_v2_acu_hour"),
                when=serverless_v2,
                usage_based=True,
            ),
            *shared_components(),
        ],
        usage=[UsageKey("capacity_units_per_hr", "Aurora Serverless v2 ACUs in use on average"), *SHARED_USAGE],
    ),  # fmt: skip
    Free("aws_db_subnet_group"),
    Free("aws_db_parameter_group"),
    Free("aws_db_option_group", "options with a license or instance of their own are billed there"),
    Free("aws_rds_cluster_parameter_group"),
    Free("aws_iam_role"),
    Free("aws_iam_role_policy_attachment"),
    Free("aws_iam_policy"),
    Free("aws_default_vpc"),
    Free("aws_vpc"),
    Free("aws_subnet"),
]
