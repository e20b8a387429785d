"""Rightsizing EC2 instances: the cheapest type whose capacity keeps the observed load under the headroom target.

For each instance, from its lookback's percentiles (default p95 over 14 days, as AWS Compute Optimizer looks
back 14 days):
- the vCPUs it needs: current vCPUs x p95 CPU% / target% (CPU work is taken to scale with vCPUs; a newer
  generation's faster cores only add margin);
- the memory it needs: current GiB x p95 memory% / target% when memory is measured (the CloudWatch agent),
  else all of the current memory (never shrink what was not measured);
- a candidate type: at least both, the same GPUs, an architecture the workload runs on (arm64 Graviton only for
  an instance marked arch-neutral), burstable (t*) only for an instance that is burstable already (credits make
  a t-type's vCPUs a different thing), and cheaper in the instance's region. The cheapest wins.

Nothing is guessed: an unknown type, a region without prices, too few samples or no CPU metric skip the
instance with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from outlay.pricing.catalogue import PriceCatalogue, UnknownPrice
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
    instance_type: str
    region: str
    arch_neutral: bool = False  # the workload runs on arm64 and x86 alike (tag outlay:arch=any)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Candidates:
    types: list[str]
    vcpu: npt.NDArray[np.float64]
    memory: npt.NDArray[np.float64]
    arm: npt.NDArray[np.bool_]
    gpus: npt.NDArray[np.int64]
    burstable: npt.NDArray[np.bool_]
    hourly: npt.NDArray[np.float64]  # NaN where the region has no price


def _is_burstable(family: str) -> bool:
    return family.startswith("t") and family[1:2].isdigit()


def _candidates(catalogue: PriceCatalogue, region: str) -> _Candidates:
    specs = [s for s in catalogue.ec2_instance_types() if s.vcpu is not None and s.memory_gib is not None and s.arch]
    hourly = []
    for spec in specs:
        try:
            hourly.append(float(catalogue.ec2_hourly(spec.instance_type, region)))
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
    )


def rightsize(
    instances: list[Instance],
    cpu: Percentiles,
    memory: Percentiles | None,
    catalogue: PriceCatalogue,
    settings: RightsizingSettings = RightsizingSettings(),
) -> tuple[list[Recommendation], list[Skipped]]:
    """Recommendations and skipped instances. `cpu` and `memory` rows follow `instances` (memory may be None,
    or NaN rows, where the CloudWatch agent does not report it)."""
    expected = settings.lookback_days * 24 * 60 // settings.sample_minutes
    recommendations: list[Recommendation] = []
    skipped: list[Skipped] = []
    tables: dict[str, _Candidates] = {}
    for region in sorted({i.region for i in instances}):
        tables[region] = _candidates(catalogue, region)
    level = settings.percentile
    for row, instance in enumerate(instances):
        table = tables[instance.region]
        try:
            spec = catalogue.ec2_instance(instance.instance_type)
            current = float(catalogue.ec2_hourly(instance.instance_type, instance.region))
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
        new_hourly = catalogue.ec2_hourly(table.types[best], instance.region)
        old_hourly = catalogue.ec2_hourly(instance.instance_type, instance.region)
        evidence: dict[str, float | str] = {f"{name}_cpu": float(cpu.at(q)[row]) for name, q in _NAMED}
        evidence |= projected | {"samples": float(cpu.samples[row]), "lookback_days": float(settings.lookback_days)}
        evidence |= {"current_hourly": str(old_hourly), "proposed_hourly": str(new_hourly)}
        if measured_memory:
            evidence["memory_pct"] = memory_load
            evidence["projected_memory_pct"] = memory_load * float(spec.memory_gib) / table.memory[best]
        recommendations.append(
            Recommendation(
                kind=Kind.RIGHTSIZE,
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
