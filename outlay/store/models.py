"""SQL models of the ledger. Money columns are integer nano-units (see `outlay.money`).

Datetimes are stored naive in UTC so PostgreSQL and SQLite compare them the same way. Rollup key
columns are NOT NULL ('' for "none") so every bucket has one well-defined key. The rollup upsert
finds an existing bucket through `key_hash` (a digest of the key columns, see `rollup_key_hash`)
rather than a unique constraint over all twelve key columns: one 16-byte unique index is far
cheaper to maintain and probe than one spanning long resource ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from outlay.store.exact_decimal import ExactDecimal
from outlay.tenancy import DEFAULT_TENANT

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UsageRow(Base):
    """One usage line as it arrived, with its native charge period."""

    __tablename__ = "usage_records"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True, default=DEFAULT_TENANT)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str] = mapped_column(String(1024), default="")
    cost_kind: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(64))
    charge_period_start: Mapped[datetime] = mapped_column(DateTime())
    charge_period_end: Mapped[datetime] = mapped_column(DateTime())
    billing_account_id: Mapped[str] = mapped_column(String(128))
    sub_account_id: Mapped[str] = mapped_column(String(128), default="")
    region: Mapped[str] = mapped_column(String(64), default="")
    service: Mapped[str] = mapped_column(String(256))
    service_category: Mapped[str] = mapped_column(String(128), default="")
    resource_id: Mapped[str] = mapped_column(String(1024), default="")
    usage_type: Mapped[str] = mapped_column(String(256), default="")
    charge_category: Mapped[str] = mapped_column(String(64), default="Usage")
    consumed_quantity: Mapped[float | None] = mapped_column(Numeric(38, 12, asdecimal=True), nullable=True)
    consumed_unit: Mapped[str] = mapped_column(String(64), default="")
    billed_nanos: Mapped[int] = mapped_column(BigInteger)
    effective_nanos: Mapped[int] = mapped_column(BigInteger)
    list_nanos: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        # No (service, period) index: no query needs one, and each index costs every insert.
        Index("ix_usage_records_period", "charge_period_start", "charge_period_end"),
    )


ROLLUP_KEY = (
    "grain",
    "period_start",
    "tenant_id",
    "cost_kind",
    "provider",
    "billing_account_id",
    "sub_account_id",
    "region",
    "service",
    "resource_id",
    "currency",
    "tags_hash",
)


class RollupKeyHasher:
    """`key_hash` values: a 16-byte digest identifying a rollup bucket.

    `key` holds the ROLLUP_KEY values in order. The digest covers the repr of the ten values
    after (grain, period_start) -- a tuple's repr is unambiguous whatever characters it holds --
    followed by the grain and the ISO period. Those ten values are the same for both grains and
    many buckets of a batch, so their part of the hash is computed once per instance and copied:
    keep one hasher per batch (it holds every distinct prefix it has seen).
    """

    def __init__(self) -> None:
        self._prefixes: dict[tuple[object, ...], Any] = {}

    def __call__(self, key: Sequence[object]) -> bytes:
        return self.digests([key[0]], [key[1]], [tuple(key[2:])])[0]

    def digests(
        self, grains: Sequence[object], starts: Sequence[object], rests: Iterable[tuple[object, ...]]
    ) -> list[bytes]:
        """The digests of many keys given as their (grain, period_start) columns and the rest of each key: a
        column-wise batch's rollups, each (grain, period) suffix encoded once."""
        prefixes = self._prefixes
        suffixes: dict[tuple[object, object], bytes] = {}
        out = []
        for grain, period_start, rest in zip(grains, starts, rests, strict=True):
            prefix = prefixes.get(rest)
            if prefix is None:
                prefix = prefixes[rest] = hashlib.blake2b(repr(rest).encode(), digest_size=16)
            suffix = suffixes.get((grain, period_start))
            if suffix is None:
                if not isinstance(period_start, datetime):
                    raise TypeError(f"rollup key period_start must be a datetime, not {type(period_start).__name__}")
                suffix = suffixes[(grain, period_start)] = f"{grain} {period_start.isoformat()}".encode()
            digest = prefix.copy()
            digest.update(suffix)
            out.append(digest.digest())
        return out


def rollup_key_hash(key: Sequence[object]) -> bytes:
    """The `key_hash` of one rollup key (ROLLUP_KEY values in order); see `RollupKeyHasher`."""
    return RollupKeyHasher()(key)


class CostRollup(Base):
    """Hourly and daily cost per account, service, region, resource and tag set."""

    __tablename__ = "cost_rollups"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    grain: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[datetime] = mapped_column(DateTime())
    tenant_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_TENANT)
    cost_kind: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(64))
    billing_account_id: Mapped[str] = mapped_column(String(128))
    sub_account_id: Mapped[str] = mapped_column(String(128))
    region: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(256))
    resource_id: Mapped[str] = mapped_column(String(1024))
    currency: Mapped[str] = mapped_column(String(3))
    tags_hash: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(16))  # rollup_key_hash(ROLLUP_KEY values)
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    billed_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    effective_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    list_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    records: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("key_hash", name="uq_cost_rollups_key_hash"),
        Index("ix_cost_rollups_tenant_grain_period", "tenant_id", "grain", "period_start"),
    )


# The service-level rollup key: the rollup key without resource and tag set. Queries that neither group nor filter
# by resource or tag (most dashboards' "cost by service / account / region") read these buckets, a thousand times
# fewer than the per-resource ones on a typical account.
SERVICE_ROLLUP_KEY = tuple(k for k in ROLLUP_KEY if k not in ("resource_id", "tags_hash"))


class ServiceRollup(Base):
    """Hourly and daily cost per account, region and service (every resource and tag set summed)."""

    __tablename__ = "cost_rollups_service"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    grain: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[datetime] = mapped_column(DateTime())
    tenant_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_TENANT)
    cost_kind: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(64))
    billing_account_id: Mapped[str] = mapped_column(String(128))
    sub_account_id: Mapped[str] = mapped_column(String(128))
    region: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(256))
    currency: Mapped[str] = mapped_column(String(3))
    billed_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    effective_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    list_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    records: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint(*SERVICE_ROLLUP_KEY, name="uq_cost_rollups_service_key"),
        Index("ix_cost_rollups_service_tenant_grain_period", "tenant_id", "grain", "period_start"),
    )


class IngestCheckpoint(Base):
    """One row per source file or object: a restart neither skips nor repeats a file."""

    __tablename__ = "ingest_checkpoints"

    uri: Mapped[str] = mapped_column(String(2048), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(256), default="")  # size+mtime or S3 ETag
    source: Mapped[str] = mapped_column(String(32), default="")
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="started")  # started | done
    updated_at: Mapped[datetime] = mapped_column(DateTime())


class AnomalyRow(Base):
    """The latest state of one cost anomaly (`outlay.anomalies.v1`), replaced by each update of its incident.

    `feedback` is a person's verdict: the gateway records it when given, and a later update of the
    incident never erases it (the detector's own copy may lag behind).
    """

    __tablename__ = "anomalies"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True, default=DEFAULT_TENANT)
    anomaly_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    series: Mapped[str] = mapped_column(String(1024))
    dimensions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    direction: Mapped[str] = mapped_column(String(8))
    start: Mapped[datetime] = mapped_column(DateTime())
    end: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)
    last_seen: Mapped[datetime] = mapped_column(DateTime())
    expected_nanos: Mapped[int] = mapped_column(BigInteger)
    actual_nanos: Mapped[int] = mapped_column(BigInteger)
    impact_nanos: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    score: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16))
    root_cause: Mapped[list[str]] = mapped_column(JSON, default=list)
    alerted: Mapped[bool] = mapped_column(Boolean)
    feedback: Mapped[str | None] = mapped_column(String(16), nullable=True)
    feedback_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime())

    __table_args__ = (
        # The list is newest first, paged by (start, anomaly_id).
        Index("ix_anomalies_tenant_start", "tenant_id", "start", "anomaly_id"),
    )


class BudgetRow(Base):
    """A budget (`outlay.budgets.Budget`): the gateway writes it, the forecast service reads it for status."""

    __tablename__ = "budgets"

    budget_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_TENANT)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(1024))
    amount_nanos: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(16))
    start: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)
    end: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)
    thresholds: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime())


class PlanRow(Base):
    """The latest state of one action plan (`outlay.events.plan.ActionPlan`); the optimizer alone writes it."""

    __tablename__ = "plans"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True, default=DEFAULT_TENANT)
    plan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    monthly_saving_nanos: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    risk: Mapped[str] = mapped_column(String(8))
    requires_approval: Mapped[bool] = mapped_column(Boolean)
    approval_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(String(4000), default="")
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)
    requested_by: Mapped[str | None] = mapped_column(String(200), nullable=True)  # who asked for approval
    created_at: Mapped[datetime] = mapped_column(DateTime())
    updated_at: Mapped[datetime] = mapped_column(DateTime())

    __table_args__ = (
        # The list is newest first, paged by (updated_at, plan_id), optionally of one status.
        Index("ix_plans_tenant_status", "tenant_id", "status", "updated_at"),
        Index("ix_plans_tenant_updated_at", "tenant_id", "updated_at", "plan_id"),
    )


class RecommendationRow(Base):
    """One finding of the latest scan of its region (`services.optimizer.recommendations.Recommendation`),
    replaced by the next scan; `plan_id` names the plan that carries it, if any."""

    __tablename__ = "recommendations"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True, default=DEFAULT_TENANT)
    recommendation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(256))
    summary: Mapped[str] = mapped_column(String(1000))
    monthly_saving_nanos: Mapped[int] = mapped_column(BigInteger)
    confidence: Mapped[float] = mapped_column(Float)
    risk: Mapped[str] = mapped_column(String(8))
    current: Mapped[str | None] = mapped_column(String(200), nullable=True)
    proposed: Mapped[str | None] = mapped_column(String(200), nullable=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    plan_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    found_at: Mapped[datetime] = mapped_column(DateTime())

    __table_args__ = (Index("ix_recommendations_tenant_region", "tenant_id", "region"),)


class AuditRow(Base):
    """One entry of the audit trail: who or what did what to which subject, when. Append-only, hash-chained."""

    __tablename__ = "audit_events"

    audit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_TENANT)
    at: Mapped[datetime] = mapped_column(DateTime())
    actor: Mapped[str] = mapped_column(String(200))  # "optimizer", or the person / key that decided
    subject: Mapped[str] = mapped_column(String(128))  # e.g. "plan:<id>"
    resource_id: Mapped[str] = mapped_column(String(256), default="")
    event: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(4000), default="")
    entry_hash: Mapped[str] = mapped_column(
        String(64), default=""
    )  # chains it to the entry before (outlay.store.audit)

    __table_args__ = (
        Index("ix_audit_events_tenant", "tenant_id", "audit_id"),
        Index("ix_audit_events_tenant_subject", "tenant_id", "subject", "audit_id"),
    )


class SyncedPriceRow(Base):
    """A price from the AWS Price List API (`outlay pricing sync`), laid over the bundled catalogue."""

    __tablename__ = "synced_prices"

    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    item: Mapped[str] = mapped_column(String(128), primary_key=True)  # instance type, or "class|engine"
    region: Mapped[str] = mapped_column(String(32), primary_key=True)
    usd: Mapped[str] = mapped_column(String(40))  # an exact decimal, as published
    unit: Mapped[str] = mapped_column(String(16))
    attributes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    synced_at: Mapped[datetime] = mapped_column(DateTime())


class UtilizationRow(Base):
    """Five minutes of one resource's metric from `outlay.utilization.v1`, one column per minute (NULL: no sample),
    so a redelivered sample lands on its own minute again instead of being counted twice."""

    __tablename__ = "utilization_5m"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True, default=DEFAULT_TENANT)
    resource_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(DateTime(), primary_key=True)  # start of the five minutes, UTC
    region: Mapped[str] = mapped_column(String(32))
    m0: Mapped[float | None] = mapped_column(Float, nullable=True)
    m1: Mapped[float | None] = mapped_column(Float, nullable=True)
    m2: Mapped[float | None] = mapped_column(Float, nullable=True)
    m3: Mapped[float | None] = mapped_column(Float, nullable=True)
    m4: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (
        Index("ix_utilization_5m_tenant_region_bucket", "tenant_id", "region", "bucket"),
        Index("ix_utilization_5m_bucket", "bucket"),
    )


class ApiKeyRow(Base):
    """An API key: its id, a SHA-256 digest of its secret (the secret itself is shown once, never stored), its
    scopes, and when it expires or was revoked."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_TENANT)
    user_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # a person's key acts with their role
    # Who made it, as the approval rule sees people ("user:<id>", "key:<id>"): a key never approves what its maker
    # asked for, so an admin cannot approve her own request with a key she made (for herself or anyone else).
    created_by_identity: Mapped[str | None] = mapped_column(String(200), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)


class WebhookRow(Base):
    """A webhook subscription: where to POST which events, and the secret deliveries are signed with."""

    __tablename__ = "webhooks"

    webhook_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_TENANT)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(64))  # needed to sign every delivery, so kept (never shown again)
    events: Mapped[list[str]] = mapped_column(JSON)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(String(200), default="")
    format: Mapped[str] = mapped_column(String(16), default="outlay")  # outlay (JSON event) | slack | teams
    created_at: Mapped[datetime] = mapped_column(DateTime())


class WebhookDeliveryRow(Base):
    """One event for one webhook: its body, and how delivering it went (pending → delivered, or dead)."""

    __tablename__ = "webhook_deliveries"

    delivery_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(64))  # the same event update is queued once per webhook
    event_type: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending | sending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)
    # W3C traceparent of the span that queued it (null when tracing is off): its sending continues that trace.
    trace_parent: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        UniqueConstraint("webhook_id", "dedupe_key", name="uq_webhook_deliveries_dedupe"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook", "webhook_id", "delivery_id"),
    )


class TenantRow(Base):
    """An organisation. Every row a tenant owns carries its `tenant_id`; the store confines each query to one."""

    __tablename__ = "tenants"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime())


class UserRow(Base):
    """A person in an organisation, with one role (`services.gateway.permissions.ROLES`)."""

    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)

    # One active person per e-mail in a tenant (a disabled person's row stays, for the audit trail).
    __table_args__ = (
        Index(
            "uq_users_tenant_email_active", "tenant_id", "email", unique=True,
            postgresql_where=text("disabled_at IS NULL"), sqlite_where=text("disabled_at IS NULL"),
        ),
    )  # fmt: skip


class PolicyRow(Base):
    """One policy of a tenant (`outlay.policies`): its rule as JSON, versioned (every change audited)."""

    __tablename__ = "policies"

    policy_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_TENANT)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime())
    updated_at: Mapped[datetime] = mapped_column(DateTime())

    __table_args__ = (Index("ix_policies_tenant_kind", "tenant_id", "kind"),)


class BusinessMetricRow(Base):
    """One business figure (`outlay.business_metrics.v1`) of a tenant for one hour or day: the same id sent again
    replaces its figure, so a replay writes nothing twice. `dimension` and `dimension_value` are '' for the total."""

    __tablename__ = "business_metrics"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True, default=DEFAULT_TENANT)
    metric_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    grain: Mapped[str] = mapped_column(String(8))  # hour | day
    period_start: Mapped[datetime] = mapped_column(DateTime())
    period_end: Mapped[datetime] = mapped_column(DateTime())
    value: Mapped[Any] = mapped_column(ExactDecimal(38, 9))  # exact on SQLite too (no float)
    currency: Mapped[str] = mapped_column(String(3), default="")
    dimension: Mapped[str] = mapped_column(String(16), default="")
    dimension_value: Mapped[str] = mapped_column(String(256), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime())

    # The unit-economics queries read one tenant's figures of one name over a period.
    __table_args__ = (Index("ix_business_metrics_tenant_name_period", "tenant_id", "name", "period_start"),)


class AllocationRulesRow(Base):
    """One version of a tenant's allocation rules (`outlay.allocation.rules`): a change adds a version, never edits
    one, so any period can be re-run under the rules of any day and the trail shows who changed what."""

    __tablename__ = "allocation_rules"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True, default=DEFAULT_TENANT)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime())


class IacEstimateRow(Base):
    """The cost change of one commit of a pull request (or branch), as CI reported it (`POST /v1/iac/estimates`):
    `estimate_id` is a digest of (repository, pull request or ref, commit), so a re-report replaces the row."""

    __tablename__ = "iac_estimates"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True, default=DEFAULT_TENANT)
    estimate_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    repository: Mapped[str] = mapped_column(String(200))
    pull_request: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ref: Mapped[str] = mapped_column(String(255), default="")
    commit_sha: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300), default="")
    url: Mapped[str] = mapped_column(String(2048), default="")
    monthly_cost_before_nanos: Mapped[int] = mapped_column(BigInteger)
    monthly_cost_after_nanos: Mapped[int] = mapped_column(BigInteger)
    monthly_delta_nanos: Mapped[int] = mapped_column(BigInteger)
    resources_changed: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(8))  # passed | failed | none
    reported_at: Mapped[datetime] = mapped_column(DateTime())

    # The list reads one tenant's reports newest first, optionally of one repository.
    __table_args__ = (
        Index("ix_iac_estimates_tenant_reported", "tenant_id", "reported_at"),
        Index("ix_iac_estimates_tenant_repository_reported", "tenant_id", "repository", "reported_at"),
    )


class UserPasswordRow(Base):
    """A person's password, as a salted scrypt hash (`outlay.passwords`): never the password itself. A person without
    a row here signs in with keys only."""

    __tablename__ = "user_passwords"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    set_at: Mapped[datetime] = mapped_column(DateTime())
    # Who issued the token it was set with ("user:<id>", "key:<id>"): they could have set it themselves, so the
    # approval rule treats them as possibly behind this person's sessions (as it does the maker of a key).
    known_to: Mapped[str] = mapped_column(String(200), default="")


class PasswordTokenRow(Base):
    """A one-time token an admin issues so a person sets (or resets) their password: the SHA-256 digest of its secret
    (the secret has 256 random bits, shown once), when it stops working and when it was used."""

    __tablename__ = "password_tokens"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    issued_by: Mapped[str] = mapped_column(String(200), default="")  # the issuer's identity ("user:<id>", "key:<id>")
    created_at: Mapped[datetime] = mapped_column(DateTime())
    expires_at: Mapped[datetime] = mapped_column(DateTime())
    used_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)

    # A new token replaces a person's unused ones: found by person.
    __table_args__ = (Index("ix_password_tokens_tenant_user", "tenant_id", "user_id"),)


class SessionRow(Base):
    """A signed-in browser session: the digest of the cookie's random token (the token itself is never stored), whose
    it is, when it was last used (the idle limit) and when it ends whatever happens (the absolute limit)."""

    __tablename__ = "user_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(32))  # a public id (audit trail, rate limit): not the secret
    tenant_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime())
    expires_at: Mapped[datetime] = mapped_column(DateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)

    # A new password ends a person's sessions: found by person.
    __table_args__ = (Index("ix_user_sessions_tenant_user", "tenant_id", "user_id"),)


class DeploymentRow(Base):
    """A deploy as the pipeline that made it reported it (`POST /v1/deployments`): what cost scope it changed and
    when, so the API can show the step in that scope's cost at the deploy (`outlay.deployments.cost_step`)."""

    __tablename__ = "deployments"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True, default=DEFAULT_TENANT)
    deployment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(1024))  # outlay.scopes: 'service=…', 'tag:app=checkout', …
    version: Mapped[str] = mapped_column(String(200))
    deployed_at: Mapped[datetime] = mapped_column(DateTime())  # naive UTC
    description: Mapped[str] = mapped_column(String(500), default="")
    url: Mapped[str] = mapped_column(String(2048), default="")
    reported_by: Mapped[str] = mapped_column(String(300))
    reported_at: Mapped[datetime] = mapped_column(DateTime())

    # The list reads one tenant's deploys newest first, optionally of one scope.
    __table_args__ = (
        Index("ix_deployments_tenant_deployed", "tenant_id", "deployed_at"),
        Index("ix_deployments_tenant_scope_deployed", "tenant_id", "scope", "deployed_at"),
    )
