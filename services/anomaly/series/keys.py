"""Which series a usage record feeds, at which granularity, and how it splits for root cause.

Series: the total, each (account, service), each value of the configured tag keys (team, project), and each
resource that is a top spender of its (account, service) (`top_spenders`), all per tenant: a record feeds only
its own tenant's series (`tenants`: another tenant's series names are prefixed with it).
A series' granularity follows its data: minute lines (live metering) feed minute series, hourly export
lines hourly series, daily lines daily series; the granularity is part of the series identity, so live
estimates and billed exports of the same service never mix. Lines longer than a day (monthly fees,
yearly commitments) are one-off charges, not a rate, and feed no series.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from outlay.events.trusted import check_trustable, trusted_instance
from outlay.events.usage import UsageRecord
from services.anomaly.series.tenants import qualified
from services.anomaly.series.top_spenders import TopSpenders

GRANULARITIES: tuple[tuple[timedelta, str], ...] = (
    (timedelta(minutes=1), "minute"),
    (timedelta(hours=1), "hour"),
    (timedelta(days=1), "day"),
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SeriesSettings:
    tag_keys: tuple[str, ...] = ("team", "project")
    # Dimensions whose values can explain an anomaly (tags are added as `tag:<key>`).
    cause_dimensions: tuple[str, ...] = ("service", "region", "billing_account_id", "usage_type", "resource_id")


class SeriesContribution(BaseModel):
    """What one batch of usage adds to one bucket of one series: the message between the worker's two stages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    series: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    granularity_s: int
    bucket: datetime
    # Plain Decimal, not the events' Money: this message stays inside the worker, and pydantic's own
    # Decimal-to-text is native code where Money's fixed-point formatting is a Python call per amount (a
    # backfill sends millions of breakdown amounts). Both round-trip exactly.
    amount: Decimal
    currency: str = "USD"
    record_ids: list[str] = Field(description="The usage lines summed in, so a replayed line is not counted twice.")
    # Floats: the breakdown only ranks causes by share, and binary floats parse and add natively.
    breakdown: dict[str, float] = Field(default_factory=dict, description="'dimension=value' → amount")


_ALL_FIELDS = set(SeriesContribution.model_fields)
check_trustable(SeriesContribution)


def granularity_of(record: UsageRecord) -> tuple[timedelta, str] | None:
    length = record.charge_period_end - record.charge_period_start
    for step, name in GRANULARITIES:
        if length <= step:
            return step, name
    return None


def bucket_of(at: datetime, step: timedelta) -> datetime:
    return at - (at - _EPOCH) % step


@dataclass(frozen=True)
class LineKey:
    """Where a usage line falls in its tenant's time: what the split stage paces and judges lateness by."""

    tenant: str
    granularity_s: int
    bucket: datetime


def line_key(record: UsageRecord) -> LineKey | None:
    """None for a line that feeds no series (longer than a day)."""
    granularity = granularity_of(record)
    if granularity is None:
        return None
    step = granularity[0]
    return LineKey(record.tenant_id, int(step.total_seconds()), bucket_of(record.charge_period_start, step))


def series_of(
    record: UsageRecord, settings: SeriesSettings, own_series: bool = False
) -> list[tuple[str, dict[str, str]]]:
    """The series (identity, dimensions) this record feeds, granularity and tenant not included; `own_series`:
    its resource is a top spender and has a series of its own."""
    series: list[tuple[str, dict[str, str]]] = [("total", {})]
    dims = {"billing_account_id": record.billing_account_id, "service": record.service}
    series.append((_identity(dims), dims))
    for key in settings.tag_keys:
        value = record.tags.get(key)
        if value:
            tag = {f"tag:{key}": value}
            series.append((_identity(tag), tag))
    if own_series and record.resource_id:
        resource = {"resource_id": record.resource_id}
        series.append((_identity(resource), resource))
    return series


def fed_by_one_partition(dimensions: dict[str, str]) -> bool:
    """Whether a series' lines all come from one usage partition: its dimensions fix the usage key (account and
    service, `UsageRecord.key`), so it sees its lines in their partition's order. Other series (total, tags,
    resources) take lines from several partitions and close their buckets by the partitions' watermark
    (`watermarks`)."""
    return "billing_account_id" in dimensions and "service" in dimensions


def causes_of(record: UsageRecord, settings: SeriesSettings) -> dict[str, str]:
    values = {d: getattr(record, d) for d in settings.cause_dimensions}
    values.update({f"tag:{k}": record.tags.get(k) for k in settings.tag_keys})
    return {d: v for d, v in values.items() if v}


def _identity(dims: dict[str, str]) -> str:
    return "|".join(f"{k}={v}" for k, v in dims.items())


@dataclass
class _Partial:
    dimensions: dict[str, str]
    currency: str
    amount: Decimal = Decimal(0)
    record_ids: list[str] = field(default_factory=list)
    # Cost per breakdown-label list: the records of one plan share one list, so each adds once here and
    # the labels are expanded once per bucket (`breakdown`), not once per record.
    by_labels: dict[int, tuple[list[str], float]] = field(default_factory=dict)

    def add(self, record_id: str, cost: Decimal, cost_float: float, labels: list[str]) -> None:
        self.amount += cost
        self.record_ids.append(record_id)
        entry = self.by_labels.get(id(labels))
        self.by_labels[id(labels)] = (labels, cost_float if entry is None else entry[1] + cost_float)

    def breakdown(self) -> dict[str, float]:
        # Most buckets of a backfill hold one plan's records: that first entry is one C-level fromkeys.
        entries = iter(self.by_labels.values())
        labels, cost = next(entries)
        out = dict.fromkeys(labels, cost)
        for labels, cost in entries:
            for label in labels:
                known = out.get(label)
                out[label] = cost if known is None else known + cost
        return out


# Per series a record feeds: (series name with granularity, its dimensions, the breakdown labels
# 'dimension=value' of the record's cause dimensions that are not the series' own, whether the series is fed by
# one usage partition only)
_Plan = list[tuple[str, dict[str, str], list[str], bool]]


class _BatchPlans:
    """`series_of` and `causes_of` worked out once per distinct combination in a batch: a batch repeats a
    few accounts, services, tags and resources thousands of times, and building their dicts and labels
    per record was most of the split stage's cost."""

    def __init__(self, settings: SeriesSettings, top: TopSpenders | None) -> None:
        self._settings = settings
        self._top = top
        self._plans: dict[tuple[object, ...], _Plan] = {}

    def plan(self, record: UsageRecord, granularity: str) -> _Plan:
        settings = self._settings
        own = self._top is not None and self._top.is_top(record)
        tags = record.tags
        key = (  # everything series_of and causes_of read, and the tenant that owns the series
            record.tenant_id,
            granularity,
            own,
            record.billing_account_id,
            record.service,
            record.resource_id,
            *(getattr(record, d) for d in settings.cause_dimensions),
            *(tags.get(k) for k in settings.tag_keys),
        )
        found = self._plans.get(key)
        if found is None:
            causes = causes_of(record, settings)
            found = self._plans[key] = [
                (
                    qualified(record.tenant_id, f"{granularity}|{identity}"),
                    dims,
                    [f"{d}={v}" for d, v in causes.items() if d not in dims],
                    fed_by_one_partition(dims),
                )
                for identity, dims in series_of(record, settings, own)
            ]
        return found


def contributions(
    records: Iterable[UsageRecord],
    settings: SeriesSettings,
    top: TopSpenders | None = None,
    late: Collection[tuple[str, str]] = (),
) -> list[SeriesContribution]:
    """Sum a batch of records into one contribution per (series, bucket). Records must be checked first
    (`usage_problem`). With `top`, the batch first updates the ranking, then top spenders get their series.
    Records in `late` ((tenant, record id): late within their usage partition, `watermarks.PartitionReads`) feed
    only the series fed by their partition alone: a series fed by several has closed their bucket already, or
    would have, had the partitions been read in another order."""
    # First occurrence of each line: at-least-once delivery can put one line in a batch twice (a rebalance
    # re-fetches what was already buffered), and a contribution's ids cannot tell its amount apart. Record ids
    # are unique within a tenant only: two tenants' identical lines are two lines.
    unique: dict[tuple[str, str], UsageRecord] = {}
    for record in records:
        unique.setdefault((record.tenant_id, record.record_id), record)
    records = list(unique.values())
    if top is not None:
        top.observe(records)
    plans = _BatchPlans(settings, top)
    partials: dict[tuple[str, int, datetime], _Partial] = {}
    for record in records:
        granularity = granularity_of(record)
        if granularity is None:
            continue
        step, name = granularity
        seconds = int(step.total_seconds())
        bucket = bucket_of(record.charge_period_start, step)
        cost = record.effective_cost
        cost_float = float(cost)
        record_id = record.record_id
        pinned_only = bool(late) and (record.tenant_id, record_id) in late
        for series, dims, labels, pinned in plans.plan(record, name):
            if pinned_only and not pinned:
                continue
            key = (series, seconds, bucket)
            partial = partials.get(key)
            if partial is None:
                partial = partials[key] = _Partial(dims, record.currency)
            partial.add(record_id, cost, cost_float, labels)
    # Built from values made here, already of the fields' types and in field order: no validation needed
    # (a backfill batch makes about one contribution per line).
    return [
        trusted_instance(
            SeriesContribution,
            {
                "series": series,
                "dimensions": p.dimensions,
                "granularity_s": seconds,
                "bucket": bucket,
                "amount": p.amount,
                "currency": p.currency,
                "record_ids": p.record_ids,
                "breakdown": p.breakdown(),
            },
            _ALL_FIELDS,
        )
        for (series, seconds, bucket), p in partials.items()
    ]


def usage_problem(record: UsageRecord) -> tuple[str, str] | None:
    """(field, reason) when a record must not be learnt: a detector fed a NaN or a negative cost
    (credits, refunds) would learn a baseline that is not spend."""
    cost = record.effective_cost
    if cost.is_nan():
        return "effective_cost", "is NaN"
    if cost < 0:
        return "effective_cost", f"is negative ({cost}): credits and refunds are not learnt as spend"
    return None
