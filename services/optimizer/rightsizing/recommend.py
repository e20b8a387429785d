"""Rightsizing EC2 instances and RDS databases: the cheapest type (or class) whose capacity keeps the observed load
under the headroom target.

For each instance, from its lookback's percentiles (default p95 over 14 days, as AWS Compute Optimizer looks
back 14 days):
- the vCPUs it needs: current vCPUs x p95 CPU% / target% (CPU work is taken to scale with vCPUs; a newer
  generation's faster cores only add margin);
- the memory it needs: current GiB x p95 memory% / target% when memory is measured (the CloudWatch agent),
  else all of the current memory (never shrink what was not measured);
- a candidate type: at least both, the same GPUs, an architecture the workload runs on (arm64 Graviton only for
  an instance marked arch-neutral), burstable (t*) only for an instance that is burstable already (credits make
  a t-type's vCPUs a different thing), and cheaper in the instance's region. The cheapest wins.

Where the tenant's `allowed_instance_families` policies restrict types, only types (and RDS classes) they allow are
candidates (`allowed`): the cheapest allowed one that fits is proposed, and an instance for which a cheaper type
fits but none of an allowed family is skipped with that reason.

Nothing is guessed: an unknown type, a region without prices, too few samples or no CPU metric skip the
instance with the reason.

RDS (`rightsize_databases`): the same rule over the classes priced for the database's engine in its region, with
each class's shape taken from the EC2 type it runs on (db.m5.large is an m5.large) and its price from the RDS table
(twice the Single-AZ price for Multi-AZ: a standby of the same class). Memory is measured for every database
(FreeableMemory), so the memory it needs comes from the p95 of memory in use. Resizing a database restarts it
(Multi-AZ: a fail-over), so a Single-AZ database's resize is never less than medium risk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from outlay.pricing.catalogue import Ec2InstanceType, PriceCatalogue, UnknownPrice
from services.optimizer.recommendations import Kind, Recommendation, Risk, Skipped, monthly
from services.optimizer.rightsizing.percentiles import Percentiles


@dataclass(frozen=True)
class RightsizingSettings:
    percentile: float = 95.0
    target_pct: float = 80.0  # the new type must run the percentile load at or under this utilisation
    lookback_days: int = 14
    min_coverage: float = 0.8  # share of the lookback's samples an instance must have
    sample_minutes: int = 5


@dataclass(frozen=True)
class Instance:
    resource_id: str
    instance_type: str  # an RDS database's instance class (db.m5.large)
    region: str
    arch_neutral: bool = False  # the workload runs on arm64 and x86 alike (tag outlay:arch=any)
    tags: dict[str, str] = field(default_factory=dict)
    engine: str | None = None  # RDS only: the database engine ("postgres")
    multi_az: bool = False  # RDS only: a standby of the same class runs (and is billed) beside it


class Ec2Sizing:
    """EC2 types: shapes and Linux on-demand prices from the catalogue."""

    kind = Kind.RIGHTSIZE

    def __init__(self, catalogue: PriceCatalogue) -> None:
        self._catalogue = catalogue

    def key(self, instance: Instance) -> tuple[str, ...]:
        return (instance.region,)

    def spec(self, instance_type: str) -> Ec2InstanceType:
        return self._catalogue.ec2_instance(instance_type)

    def hourly(self, instance: Instance, instance_type: str) -> Decimal:
        return self._catalogue.ec2_hourly(instance_type, instance.region)

    def types(self, instance: Instance) -> list[Ec2InstanceType]:
        return self._catalogue.ec2_instance_types()


class RdsSizing:
    """RDS classes of one engine: shapes of their EC2 twins, prices from the RDS table (x2 for Multi-AZ)."""

    kind = Kind.RIGHTSIZE_DATABASE

    def __init__(self, catalogue: PriceCatalogue) -> None:
        self._catalogue = catalogue

    def key(self, instance: Instance) -> tuple[str, ...]:
        return (instance.region, instance.engine or "", str(instance.multi_az))

    def spec(self, instance_type: str) -> Ec2InstanceType:
        return self._catalogue.rds_instance(instance_type)

    def hourly(self, instance: Instance, instance_type: str) -> Decimal:
        single = self._catalogue.rds_hourly(instance_type, instance.engine or "", instance.region)
        return single * 2 if instance.multi_az else single

    def types(self, instance: Instance) -> list[Ec2InstanceType]:
        specs = []
        for instance_class in self._catalogue.rds_classes(instance.engine or "", instance.region):
            try:
                specs.append(self._catalogue.rds_instance(instance_class))
            except UnknownPrice:
                continue  # a class whose EC2 twin the catalogue lacks cannot be compared
        return specs


Sizing = Ec2Sizing | RdsSizing


@dataclass(frozen=True)
class _Candidates:
    types: list[str]
    vcpu: npt.NDArray[np.float64]
    memory: npt.NDArray[np.float64]
    arm: npt.NDArray[np.bool_]
    gpus: npt.NDArray[np.int64]
    burstable: npt.NDArray[np.bool_]
    hourly: npt.NDArray[np.float64]  # NaN where the region has no price
    allowed: npt.NDArray[np.bool_]  # of a family the tenant's policies allow (all true without such a policy)


def _is_burstable(family: str) -> bool:
    return family.startswith("t") and family[1:2].isdigit()


def _candidates(sizing: Sizing, instance: Instance, allowed: Callable[[str], bool] | None) -> _Candidates:
    specs = [s for s in sizing.types(instance) if s.vcpu is not None and s.memory_gib is not None and s.arch]
    hourly = []
    for spec in specs:
        try:
            hourly.append(float(sizing.hourly(instance, spec.instance_type)))
        except UnknownPrice:
            hourly.append(np.nan)
    return _Candidates(
        types=[s.instance_type for s in specs],
        vcpu=np.array([s.vcpu for s in specs], dtype=np.float64),
        memory=np.array([float(s.memory_gib or 0) for s in specs]),
        arm=np.array([s.arch == "arm64" for s in specs]),
        gpus=np.array([s.gpu_count for s in specs], dtype=np.int64),
        burstable=np.array([_is_burstable(s.family) for s in specs]),
        hourly=np.array(hourly),
        allowed=np.array([allowed is None or allowed(s.instance_type) for s in specs], dtype=np.bool_),
    )


def rightsize(
    instances: list[Instance],
    cpu: Percentiles,
    memory: Percentiles | None,
    catalogue: PriceCatalogue,
    settings: RightsizingSettings = RightsizingSettings(),
    allowed: Callable[[str], bool] | None = None,
) -> tuple[list[Recommendation], list[Skipped]]:
    """Recommendations and skipped instances. `cpu` and `memory` rows follow `instances` (memory may be None,
    or NaN rows, where the CloudWatch agent does not report it). `allowed`: the types policy lets it propose
    (None: every type)."""
    return _rightsize(instances, cpu, memory, Ec2Sizing(catalogue), settings, allowed)


def rightsize_databases(
    databases: list[Instance],
    cpu: Percentiles,
    memory: Percentiles | None,
    catalogue: PriceCatalogue,
    settings: RightsizingSettings = RightsizingSettings(),
    allowed: Callable[[str], bool] | None = None,
) -> tuple[list[Recommendation], list[Skipped]]:
    """RDS databases (`engine` set); `memory` rows are the share of the class's memory in use (100 x (1 -
    FreeableMemory / memory)). `allowed`: the classes policy lets it propose (None: every class)."""
    return _rightsize(databases, cpu, memory, RdsSizing(catalogue), settings, allowed)


def _rightsize(
    instances: list[Instance],
    cpu: Percentiles,
    memory: Percentiles | None,
    sizing: Sizing,
    settings: RightsizingSettings,
    allowed: Callable[[str], bool] | None = None,
) -> tuple[list[Recommendation], list[Skipped]]:
    expected = settings.lookback_days * 24 * 60 // settings.sample_minutes
    recommendations: list[Recommendation] = []
    skipped: list[Skipped] = []
    tables: dict[tuple[str, ...], _Candidates] = {}
    level = settings.percentile
    for row, instance in enumerate(instances):
        key = sizing.key(instance)
        if key not in tables:
            tables[key] = _candidates(sizing, instance, allowed)
        table = tables[key]
        try:
            spec = sizing.spec(instance.instance_type)
            current = float(sizing.hourly(instance, instance.instance_type))
        except UnknownPrice as exc:
            skipped.append(Skipped(instance.resource_id, str(exc)))
            continue
        if spec.vcpu is None or spec.memory_gib is None or spec.arch is None:
            skipped.append(Skipped(instance.resource_id, f"the shape of {instance.instance_type} is not known"))
            continue
        coverage = cpu.samples[row] / expected
        if cpu.samples[row] == 0:
            skipped.append(Skipped(instance.resource_id, "no CPUUtilization samples in the lookback"))
            continue
        if coverage < settings.min_coverage:
            skipped.append(
                Skipped(
                    instance.resource_id,
                    f"only {coverage:.0%} of the {settings.lookback_days}-day lookback observed "
                    f"(needs {settings.min_coverage:.0%})",
                )
            )
            continue
        cpu_load = float(cpu.at(level)[row])
        need_vcpu = spec.vcpu * cpu_load / settings.target_pct
        memory_load = float(memory.at(level)[row]) if memory is not None else float("nan")
        measured_memory = not np.isnan(memory_load)
        need_memory = float(spec.memory_gib) * (memory_load / settings.target_pct if measured_memory else 1.0)
        arch_ok = instance.arch_neutral | (table.arm == (spec.arch == "arm64"))  # same arch unless neutral
        fits = (
            (table.vcpu >= need_vcpu)
            & (table.memory >= need_memory)
            & arch_ok
            & (table.gpus == spec.gpu_count)
            & (~table.burstable | _is_burstable(spec.family))
            & (table.hourly < current)
        )
        if fits.any() and not (fits & table.allowed).any():
            skipped.append(
                Skipped(instance.resource_id, "a cheaper type fits, but none of an instance family policy allows")
            )
            continue
        fits &= table.allowed
        if not fits.any():
            continue  # already the cheapest type that fits: nothing to recommend
        best = int(np.flatnonzero(fits)[np.argmin(table.hourly[fits])])
        new_vcpu = table.vcpu[best]
        projected = {f"projected_{name}_cpu": float(cpu.at(q)[row]) * spec.vcpu / new_vcpu for name, q in _NAMED}
        risk = (
            Risk.LOW
            if projected["projected_max_cpu"] <= 100
            else Risk.MEDIUM
            if projected["projected_p99_cpu"] <= 100
            else Risk.HIGH
        )
        if sizing.kind is Kind.RIGHTSIZE_DATABASE and not instance.multi_az and risk is Risk.LOW:
            risk = Risk.MEDIUM  # the resize restarts a database that has no standby to fail over to
        new_hourly = sizing.hourly(instance, table.types[best])
        old_hourly = sizing.hourly(instance, instance.instance_type)
        evidence: dict[str, float | str] = {f"{name}_cpu": float(cpu.at(q)[row]) for name, q in _NAMED}
        evidence |= projected | {"samples": float(cpu.samples[row]), "lookback_days": float(settings.lookback_days)}
        evidence |= {"current_hourly": str(old_hourly), "proposed_hourly": str(new_hourly)}
        if measured_memory:
            evidence["memory_pct"] = memory_load
            evidence["projected_memory_pct"] = memory_load * float(spec.memory_gib) / table.memory[best]
        recommendations.append(
            Recommendation(
                kind=sizing.kind,
                resource_id=instance.resource_id,
                region=instance.region,
                summary=f"resize {instance.instance_type} to {table.types[best]}",
                monthly_saving=monthly(old_hourly - new_hourly),
                confidence=round(min(1.0, float(coverage)) * (1.0 if measured_memory else 0.8), 3),
                risk=risk,
                current=instance.instance_type,
                proposed=table.types[best],
                evidence=evidence,
            )
        )
    return recommendations, skipped


_NAMED = (("p50", 50.0), ("p95", 95.0), ("p99", 99.0), ("max", 100.0))
