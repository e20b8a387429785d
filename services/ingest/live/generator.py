"""A deterministic generator of realistic usage for a made-up company (demo data and labelled test data).

Pure: no I/O, no wall clock, no global random state. Every value is a function of (profile seed, series,
absolute minute), so a record is the same whichever window asked for it, and a restart replays the same
record ids.

A *series* is one workload of one service in one account and region (e.g. the prod web autoscaling group
in eu-west-1). Its cost per minute is

    base $/hr x growth x daily cycle x weekly cycle x deploy level x anomaly x noise

- daily cycle: a cosine peaking at the spec's local `peak_hour` (business hours for web, night for batch);
- weekly cycle: weekends drop by `weekend` and have half the daily swing;
- deploys: on some weekdays, at a business-hours minute, the level steps to a new value near 1.0 (not
  cumulative, so the series never wanders off);
- anomalies (labelled): `spike` (x2.5-6 for 10-90 min), `drop` (x0.05-0.4 for 30-180 min), `drift`
  (a linear ramp to x1.4-2.2 over 6-36 h, then fixed);
- noise: multiplicative, sigma `noise` per minute and sigma/sqrt(n) for an n-minute record.

Granularity: live data is one record per series per minute; history (the backfill) is cheaper as one record
per series per hour (`CompanyProfile.history_minutes`), ~26 series x 720 h = 19k records for 30 days
instead of 1.1M. An hourly record averages the deploy/anomaly factors exactly over its minutes.
"""

from __future__ import annotations

import hashlib
import math
import struct
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from outlay.events import CostKind, UsageRecord
from outlay.events.usage import stable_record_id
from outlay.tenancy import DEFAULT_TENANT, checked_tenant

NANO = Decimal("1e-9")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTES_PER_DAY = 1440
# Longest anomaly (a drift) lasts 36 h and the last deploy can be up to this many days back.
_ANOMALY_LOOKBACK_DAYS = 2
_DEPLOY_LOOKBACK_DAYS = 21


class AnomalyKind(StrEnum):
    SPIKE = "spike"
    DROP = "drop"
    DRIFT = "drift"


@dataclass(frozen=True)
class ServiceSpec:
    """One workload: what it is, who owns it, what it costs, and how its usage moves."""

    name: str  # workload name, also the `workload` tag
    service: str  # FOCUS ServiceName
    service_category: str
    usage_type: str
    unit: str  # consumed unit ("Hrs", "GB-Mo", ...)
    base_usd_hr: Decimal  # cost per hour at level 1 (one series)
    account: str  # sub-account (linked account) id
    team: str
    project: str
    env: str
    unit_price: Decimal | None = None  # USD per unit: consumed_quantity = cost / unit_price
    regions: tuple[str, ...] = ("us-east-1",)
    resources: int = 1  # series per region (e.g. two autoscaling groups)
    resource_template: str = "{name}-{index}"  # fields: name, index, region, account, hex
    diurnal: float = 0.3  # amplitude of the daily cycle (0 = flat)
    peak_hour: float = 14.0  # local hour of the daily peak
    weekend: float = 0.2  # fraction by which weekend usage drops
    growth_per_30d: float = 0.02
    noise: float = 0.04
    anomalies: bool = True
    deploys: bool = True


@dataclass(frozen=True)
class CompanyProfile:
    name: str
    seed: int
    billing_account_id: str
    services: tuple[ServiceSpec, ...]
    utc_offset_hours: float = -5.0  # where the company's business hours are
    anomalies_per_series_30d: float = 1.0
    deploys_per_series_week: float = 1.0
    anchor: datetime = datetime(2026, 1, 1, tzinfo=UTC)  # growth is measured from here
    live_minutes: int = 1  # record length of live data
    history_minutes: int = 60  # record length of backfilled history

    def series(self) -> list[Series]:
        out = []
        for spec in self.services:
            for region in spec.regions:
                for index in range(spec.resources):
                    sid = f"{spec.account}/{region}/{spec.name}/{index}"
                    hexid = hashlib.blake2b(f"{self.seed}/{sid}".encode(), digest_size=9).hexdigest()[:17]
                    resource = spec.resource_template.format(
                        name=spec.name, index=index, region=region, account=spec.account, hex=hexid
                    )
                    out.append(Series(sid, spec, region, resource))
        return out


@dataclass(frozen=True)
class Series:
    series_id: str
    spec: ServiceSpec
    region: str
    resource_id: str

    @property
    def tags(self) -> dict[str, str]:
        return {
            "team": self.spec.team,
            "project": self.spec.project,
            "env": self.spec.env,
            "workload": self.spec.name,
        }


@dataclass(frozen=True)
class AnomalyLabel:
    """Ground truth for scoring the anomaly service: which series, what, when, how big."""

    series_id: str
    kind: AnomalyKind
    start: datetime
    end: datetime
    magnitude: float  # the factor applied (peak factor for a drift)
    billing_account_id: str
    sub_account_id: str
    service: str
    region: str
    resource_id: str
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "series_id": self.series_id,
            "kind": self.kind.value,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "magnitude": self.magnitude,
            "billing_account_id": self.billing_account_id,
            "sub_account_id": self.sub_account_id,
            "service": self.service,
            "region": self.region,
            "resource_id": self.resource_id,
            "tags": dict(self.tags),
        }


# --- deterministic randomness ---------------------------------------------------------------------


def _uniforms(*parts: object) -> tuple[float, float]:
    """Two independent uniforms in [0, 1) from a hash of `parts` (no shared random state)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).digest()
    a, b = struct.unpack("<QQ", digest)
    return a / 2**64, b / 2**64


def _normal(*parts: object) -> float:
    u1, u2 = _uniforms(*parts)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


# --- events (deploys, anomalies) ------------------------------------------------------------------


@dataclass(frozen=True)
class _Anomaly:
    kind: AnomalyKind
    start: int  # absolute minute
    end: int
    magnitude: float

    def factor(self, minute: int) -> float:
        if not self.start <= minute < self.end:
            return 1.0
        if self.kind is AnomalyKind.DRIFT:
            return 1.0 + (self.magnitude - 1.0) * (minute - self.start + 1) / (self.end - self.start)
        return self.magnitude


def _anomaly_on(profile: CompanyProfile, series: Series, day: int) -> _Anomaly | None:
    if not series.spec.anomalies:
        return None
    hit, where = _uniforms(profile.seed, series.series_id, "anomaly", day)
    if hit >= profile.anomalies_per_series_30d / 30.0:
        return None
    pick, size = _uniforms(profile.seed, series.series_id, "anomaly-shape", day)
    start = day * MINUTES_PER_DAY + int(where * MINUTES_PER_DAY)
    if pick < 0.45:
        return _Anomaly(AnomalyKind.SPIKE, start, start + 10 + int(size * 80), round(2.5 + 3.5 * size, 3))
    if pick < 0.70:
        return _Anomaly(AnomalyKind.DROP, start, start + 30 + int(size * 150), round(0.05 + 0.35 * size, 3))
    return _Anomaly(AnomalyKind.DRIFT, start, start + 360 + int(size * 1800), round(1.4 + 0.8 * size, 3))


def _deploy_on(profile: CompanyProfile, series: Series, day: int) -> tuple[int, float] | None:
    """(minute, new level) of the deploy on this local weekday, if any."""
    if not series.spec.deploys or _weekday(day) >= 5:
        return None
    hit, when = _uniforms(profile.seed, series.series_id, "deploy", day)
    if hit >= profile.deploys_per_series_week / 5.0:
        return None
    local_minute = 600 + int(when * 420)  # 10:00-17:00 local
    minute = day * MINUTES_PER_DAY + local_minute - int(profile.utc_offset_hours * 60)
    level = math.exp(0.08 * _normal(profile.seed, series.series_id, "deploy-level", day))
    return minute, min(1.3, max(0.75, level))


def _weekday(day: int) -> int:
    return (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0


# --- the series model -----------------------------------------------------------------------------


class _SeriesModel:
    """Evaluates one series over a window, with its deploys and anomalies found once."""

    def __init__(self, profile: CompanyProfile, series: Series, first: int, last: int) -> None:
        self.profile = profile
        self.series = series
        spec = series.spec
        self.offset = int(profile.utc_offset_hours * 60)
        self.anchor = _minute(profile.anchor)
        self.growth = math.log1p(spec.growth_per_30d) / (30 * MINUTES_PER_DAY)
        day0, day1 = first // MINUTES_PER_DAY, last // MINUTES_PER_DAY + 1
        deploys = [_deploy_on(profile, series, d) for d in range(day0 - _DEPLOY_LOOKBACK_DAYS, day1 + 1)]
        found = sorted(d for d in deploys if d is not None)
        self.deploy_minutes = [m for m, _ in found]
        self.deploy_levels = [lvl for _, lvl in found]
        anomalies = [_anomaly_on(profile, series, d) for d in range(day0 - _ANOMALY_LOOKBACK_DAYS, day1 + 1)]
        self.anomalies = [a for a in anomalies if a is not None and a.end > first and a.start <= last]

    def smooth(self, minute: float) -> float:
        spec = self.series.spec
        local = minute + self.offset
        weekend = _weekday(int(local // MINUTES_PER_DAY)) >= 5
        hour = (local % MINUTES_PER_DAY) / 60.0
        amplitude = spec.diurnal * (0.5 if weekend else 1.0)
        daily = 1.0 + amplitude * math.cos(2.0 * math.pi * (hour - spec.peak_hour) / 24.0)
        weekly = 1.0 - spec.weekend if weekend else 1.0
        return math.exp(self.growth * (minute - self.anchor)) * daily * weekly

    def events(self, minute: int) -> float:
        i = bisect_right(self.deploy_minutes, minute)
        level = self.deploy_levels[i - 1] if i else 1.0
        for anomaly in self.anomalies:
            level *= anomaly.factor(minute)
        return level

    def events_mean(self, start: int, minutes: int) -> float:
        """Mean deploy x anomaly factor over [start, start+minutes): exact, minute by minute when needed."""
        end = start + minutes
        crossing = any(start < m < end for m in self.deploy_minutes) or any(
            a.start < end and a.end > start for a in self.anomalies
        )
        if minutes == 1 or not crossing:
            return self.events(start)
        return sum(self.events(m) for m in range(start, end)) / minutes

    def shape(self, start: int, minutes: int) -> float:
        noise = _normal(self.profile.seed, self.series.series_id, "noise", start, minutes)
        jitter = max(0.0, 1.0 + self.series.spec.noise * noise / math.sqrt(minutes))
        return self.smooth(start + minutes / 2.0) * self.events_mean(start, minutes) * jitter


def _minute(when: datetime) -> int:
    return int((when - EPOCH).total_seconds() // 60)


def _at(minute: int) -> datetime:
    return EPOCH + timedelta(minutes=minute)


def _aligned(start: datetime, end: datetime, minutes: int) -> tuple[int, int]:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware (UTC)")
    first, last = _minute(start), _minute(end)
    first += -first % minutes  # round up to the grid: records never start before `start`
    return first, last


def generate(
    profile: CompanyProfile,
    start: datetime,
    end: datetime,
    granularity_minutes: int | None = None,
    tenant_id: str = DEFAULT_TENANT,
) -> Iterator[UsageRecord]:
    """Records of every series for the whole buckets in [start, end), in time order, all of `tenant_id`.

    `granularity_minutes` defaults to the profile's live granularity (1); the backfill passes
    `profile.history_minutes`. Buckets are aligned to the UTC grid of that size. Record ids do not depend on
    the tenant (they are unique within one), so two tenants' demo companies with one seed have the same ids.
    """
    checked_tenant(tenant_id)
    minutes = granularity_minutes or profile.live_minutes
    if minutes <= 0 or MINUTES_PER_DAY % minutes:
        raise ValueError(f"granularity must divide a day, got {minutes} minutes")
    first, last = _aligned(start, end, minutes)
    if last - first < minutes:
        return
    models = [_SeriesModel(profile, s, first, last) for s in profile.series()]
    for bucket in range(first, last - minutes + 1, minutes):
        for model in models:
            yield _record(profile, model, bucket, minutes, tenant_id)


def _record(profile: CompanyProfile, model: _SeriesModel, bucket: int, minutes: int, tenant_id: str) -> UsageRecord:
    series, spec = model.series, model.series.spec
    shape = Decimal(f"{model.shape(bucket, minutes):.9f}")
    cost = (spec.base_usd_hr * shape * minutes / 60).quantize(NANO)
    quantity = (cost / spec.unit_price).quantize(NANO) if spec.unit_price else None
    begin = _at(bucket)
    return UsageRecord(
        record_id=stable_record_id("generator", profile.seed, series.series_id, begin.isoformat(), minutes),
        tenant_id=tenant_id,
        source="generator",
        source_ref=f"generator:{profile.name}",
        cost_kind=CostKind.ESTIMATED,
        charge_period_start=begin,
        charge_period_end=begin + timedelta(minutes=minutes),
        billing_account_id=profile.billing_account_id,
        sub_account_id=spec.account,
        region=series.region,
        service=spec.service,
        service_category=spec.service_category,
        resource_id=series.resource_id,
        usage_type=spec.usage_type,
        consumed_quantity=quantity,
        consumed_unit=spec.unit if quantity is not None else None,
        billed_cost=cost,
        effective_cost=cost,
        list_cost=cost,
        tags=series.tags,
    )


@dataclass(frozen=True)
class DeployLabel:
    """A deploy the generator made: a step in one series' level, as the company's CD pipeline would report it."""

    series_id: str
    at: datetime
    level: float  # the series' level from then on (1.0 = its base)
    workload: str
    resource_id: str

    @property
    def scope(self) -> str:
        """The cost scope it changes (`outlay.scopes`): the workload, by its tag."""
        return f"tag:workload={self.workload}"

    @property
    def version(self) -> str:
        return f"{self.workload}@{self.at:%Y%m%d.%H%M}"


def deploys(profile: CompanyProfile, start: datetime, end: datetime) -> list[DeployLabel]:
    """The deploys of every series in [start, end), by time."""
    first, last = _aligned(start, end, 1)
    out = []
    for series in profile.series():
        model = _SeriesModel(profile, series, first, last)
        for minute, level in zip(model.deploy_minutes, model.deploy_levels, strict=True):
            if first <= minute < last:
                out.append(DeployLabel(series.series_id, _at(minute), level, series.spec.name, series.resource_id))
    return sorted(out, key=lambda d: (d.at, d.series_id))


def labels(profile: CompanyProfile, start: datetime, end: datetime) -> list[AnomalyLabel]:
    """The anomalies injected into any series that overlap [start, end), by start time."""
    first, last = _aligned(start, end, 1)
    out = []
    for series in profile.series():
        model = _SeriesModel(profile, series, first, last)
        for a in model.anomalies:
            if a.start < last and a.end > first:
                out.append(
                    AnomalyLabel(
                        series_id=series.series_id,
                        kind=a.kind,
                        start=_at(a.start),
                        end=_at(a.end),
                        magnitude=a.magnitude,
                        billing_account_id=profile.billing_account_id,
                        sub_account_id=series.spec.account,
                        service=series.spec.service,
                        region=series.region,
                        resource_id=series.resource_id,
                        tags=series.tags,
                    )
                )
    return sorted(out, key=lambda label: (label.start, label.series_id))
