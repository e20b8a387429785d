"""S3 buckets: storage, requests, retrievals, S3 Select and early deletes, by storage class, all from usage keyed
by class (`standard.storage_gb`, `glacier_deep_archive.monthly_tier_1_requests`). A class is listed when the usage
file gives any of its values; Standard always is (it is where objects land). The bucket's configuration resources
(ACLs, policies, versioning, ...) cost nothing of their own.

Prices: aws.amazon.com/s3/pricing, in `unit_prices.csv` (service `s3`); storage at the first tier's rate.
"""

from __future__ import annotations

from decimal import Decimal

from outlay.iac.rules.spec import Component, Condition, Free, ResourceRule, UsageKey, unit_price, usage
from outlay.iac.rules.tiers import any_used, usage_block

THOUSAND = Decimal("0.001")
# (component name, unit, usage key within the class, scale, price component in unit_prices.csv): one row each.
Row = tuple[str, str, str, Decimal | int, str]

STANDARD: list[Row] = [
    ("Storage", "GB", "storage_gb", 1, "standard_gb"),
    ("PUT, COPY, POST, LIST requests", "1k requests", "monthly_tier_1_requests", THOUSAND, "put_requests_thousand"),
    ("GET, SELECT, and all other requests", "1k requests", "monthly_tier_2_requests", THOUSAND,
     "get_requests_thousand"),
    ("Select data scanned", "GB", "monthly_select_data_scanned_gb", 1, "standard_select_scanned_gb"),
    ("Select data returned", "GB", "monthly_select_data_returned_gb", 1, "standard_select_returned_gb"),
]  # fmt: skip
INTELLIGENT_TIERING: list[Row] = [
    ("Storage (frequent access)", "GB", "frequent_access_storage_gb", 1, "intelligent_tiering_frequent_gb"),
    ("Storage (infrequent access)", "GB", "infrequent_access_storage_gb", 1, "intelligent_tiering_infrequent_gb"),
    ("Storage (archive access)", "GB", "archive_access_storage_gb", 1, "intelligent_tiering_archive_gb"),
    ("Storage (deep archive access)", "GB", "deep_archive_access_storage_gb", 1,
     "intelligent_tiering_deep_archive_gb"),
    ("Monitoring and automation", "1k objects", "monitored_objects", THOUSAND,
     "intelligent_tiering_monitoring_thousand"),
    ("PUT, COPY, POST, LIST requests", "1k requests", "monthly_tier_1_requests", THOUSAND, "put_requests_thousand"),
    ("GET, SELECT, and all other requests", "1k requests", "monthly_tier_2_requests", THOUSAND,
     "get_requests_thousand"),
    ("Lifecycle transition", "1k requests", "monthly_lifecycle_transition_requests", THOUSAND,
     "intelligent_tiering_lifecycle_thousand"),
    ("Select data scanned", "GB", "monthly_select_data_scanned_gb", 1, "standard_select_scanned_gb"),
    ("Select data returned", "GB", "monthly_select_data_returned_gb", 1, "standard_select_returned_gb"),
    # No early delete: AWS dropped Intelligent-Tiering's 30-day minimum storage duration in September 2021 (the
    # peer still charges "Early delete (within 30 days)"); its usage key is read, and costs nothing.
]  # fmt: skip


def infrequent_access(prefix: str) -> list[Row]:
    """Standard-IA and One Zone-IA: the same components at their own prices."""
    return [
        ("Storage", "GB", "storage_gb", 1, f"{prefix}_gb"),
        ("PUT, COPY, POST, LIST requests", "1k requests", "monthly_tier_1_requests", THOUSAND, f"{prefix}_put_thousand"),
        ("GET, SELECT, and all other requests", "1k requests", "monthly_tier_2_requests", THOUSAND,
         f"{prefix}_get_thousand"),
        ("Lifecycle transition", "1k requests", "monthly_lifecycle_transition_requests", THOUSAND,
         f"{prefix}_lifecycle_thousand"),
        ("Retrievals", "GB", "monthly_data_retrieval_gb", 1, f"{prefix}_retrieval_gb"),
        ("Select data scanned", "GB", "monthly_select_data_scanned_gb", 1, f"{prefix}_select_scanned_gb"),
        ("Select data returned", "GB", "monthly_select_data_returned_gb", 1, f"{prefix}_select_returned_gb"),
    ]  # fmt: skip


GLACIER_FLEXIBLE: list[Row] = [
    ("Storage", "GB", "storage_gb", 1, "glacier_flexible_gb"),
    ("PUT, COPY, POST, LIST requests", "1k requests", "monthly_tier_1_requests", THOUSAND,
     "glacier_flexible_put_thousand"),
    ("GET, SELECT, and all other requests", "1k requests", "monthly_tier_2_requests", THOUSAND,
     "glacier_flexible_get_thousand"),
    ("Lifecycle transition", "1k requests", "monthly_lifecycle_transition_requests", THOUSAND,
     "glacier_flexible_lifecycle_thousand"),
    # Standard retrieval requests: AWS lists $0.05 per 1,000 (the peer's golden has $0.03).
    ("Retrieval requests (standard)", "1k requests", "monthly_standard_data_retrieval_requests", THOUSAND,
     "glacier_flexible_standard_requests_thousand"),
    ("Retrievals (standard)", "GB", "monthly_standard_data_retrieval_gb", 1, "glacier_flexible_standard_retrieval_gb"),
    ("Select data scanned (standard)", "GB", "monthly_standard_select_data_scanned_gb", 1,
     "glacier_select_standard_scanned_gb"),
    ("Select data returned (standard)", "GB", "monthly_standard_select_data_returned_gb", 1,
     "glacier_select_standard_returned_gb"),
    ("Retrieval requests (expedited)", "1k requests", "monthly_expedited_data_retrieval_requests", THOUSAND,
     "glacier_flexible_expedited_requests_thousand"),
    ("Retrievals (expedited)", "GB", "monthly_expedited_data_retrieval_gb", 1,
     "glacier_flexible_expedited_retrieval_gb"),
    ("Select data scanned (expedited)", "GB", "monthly_expedited_select_data_scanned_gb", 1,
     "glacier_select_expedited_scanned_gb"),
    ("Select data returned (expedited)", "GB", "monthly_expedited_select_data_returned_gb", 1,
     "glacier_select_expedited_returned_gb"),
    ("Select data scanned (bulk)", "GB", "monthly_bulk_select_data_scanned_gb", 1, "glacier_select_bulk_scanned_gb"),
    ("Select data returned (bulk)", "GB", "monthly_bulk_select_data_returned_gb", 1,
     "glacier_select_bulk_returned_gb"),
    # Deleted before 90 days: the storage of the days left is charged.
    ("Early delete (within 90 days)", "GB", "early_delete_gb", 1, "glacier_flexible_gb"),
]  # fmt: skip
GLACIER_DEEP_ARCHIVE: list[Row] = [
    ("Storage", "GB", "storage_gb", 1, "glacier_deep_archive_gb"),
    ("PUT, COPY, POST, LIST requests", "1k requests", "monthly_tier_1_requests", THOUSAND,
     "glacier_deep_archive_put_thousand"),
    ("GET, SELECT, and all other requests", "1k requests", "monthly_tier_2_requests", THOUSAND,
     "glacier_deep_archive_get_thousand"),
    ("Lifecycle transition", "1k requests", "monthly_lifecycle_transition_requests", THOUSAND,
     "glacier_deep_archive_lifecycle_thousand"),
    ("Retrieval requests (standard)", "1k requests", "monthly_standard_data_retrieval_requests", THOUSAND,
     "glacier_deep_archive_standard_requests_thousand"),
    ("Retrievals (standard)", "GB", "monthly_standard_data_retrieval_gb", 1,
     "glacier_deep_archive_standard_retrieval_gb"),
    ("Retrieval requests (bulk)", "1k requests", "monthly_bulk_data_retrieval_requests", THOUSAND,
     "glacier_deep_archive_bulk_requests_thousand"),
    ("Retrievals (bulk)", "GB", "monthly_bulk_data_retrieval_gb", 1, "glacier_deep_archive_bulk_retrieval_gb"),
    # Deleted before 180 days: the storage of the days left is charged.
    ("Early delete (within 180 days)", "GB", "early_delete_gb", 1, "glacier_deep_archive_gb"),
]  # fmt: skip

# Storage classes: the heading, the usage file's key, their components, and usage keys read at no charge.
CLASSES: list[tuple[str, str, list[Row], tuple[str, ...]]] = [
    ("Standard", "standard", STANDARD, ()),
    ("Intelligent tiering", "intelligent_tiering", INTELLIGENT_TIERING, ("early_delete_gb",)),
    ("Standard - infrequent access", "standard_infrequent_access", infrequent_access("standard_ia"), ()),
    ("One zone - infrequent access", "one_zone_infrequent_access", infrequent_access("one_zone_ia"), ()),
    ("Glacier flexible retrieval", "glacier_flexible_retrieval", GLACIER_FLEXIBLE, ()),
    ("Glacier deep archive", "glacier_deep_archive", GLACIER_DEEP_ARCHIVE, ()),
]


def in_use(prefix: str, rows: list[Row]) -> Condition:
    """The class is listed when the usage file gives any of its values; Standard always is."""
    if prefix == "standard":
        return lambda scope: True
    return any_used(*(f"{prefix}.{key}" for _, _, key, _, _ in rows))


def class_components(prefix: str, rows: list[Row]) -> list[Component]:
    listed = in_use(prefix, rows)
    return [Component(name, unit, usage(f"{prefix}.{key}", scale), unit_price("s3", price), when=listed,
                      usage_based=True) for name, unit, key, scale, price in rows]  # fmt: skip


def class_usage(prefix: str, rows: list[Row], free: tuple[str, ...]) -> list[UsageKey]:
    keys = [UsageKey(f"{prefix}.{key}", f"{name} ({unit} a month)") for name, unit, key, _, _ in rows]
    return keys + [UsageKey(f"{prefix}.{key}", "read for compatibility: AWS no longer charges it") for key in free]


RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_s3_bucket",
        [],
        blocks=[usage_block(label, class_components(prefix, rows)) for label, prefix, rows, _ in CLASSES],
        usage=[key for _, prefix, rows, free in CLASSES for key in class_usage(prefix, rows, free)],
    ),
    Free("aws_s3_bucket_acl", "bucket configuration"),
    Free("aws_s3_bucket_policy", "bucket configuration"),
    Free("aws_s3_bucket_versioning", "bucket configuration (versions are priced as storage of the bucket)"),
    Free("aws_s3_bucket_public_access_block", "bucket configuration"),
    Free("aws_s3_bucket_server_side_encryption_configuration", "bucket configuration"),
    Free("aws_s3_bucket_lifecycle_configuration", "bucket configuration (transitions are priced on the bucket)"),
]
