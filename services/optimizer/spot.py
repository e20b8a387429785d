"""Spot suitability: on-demand instances whose workload survives an interruption, moved to Spot capacity.

Spot capacity can be reclaimed with two minutes' notice, so only workloads that lose nothing when an instance
goes are candidates, and the evidence must say so; nothing is inferred from utilization alone:

- members of an Auto Scaling group, or Kubernetes nodes (EKS node groups, Karpenter): the group replaces a
  reclaimed instance by itself;
- batch, CI and queue-worker instances, recognised by their workload tags (`workload`, `role`, `app`, `component`,
  `Name`): work is retried or re-queued;
- an explicit `outlay:interruptible=true` tag (and `false` rules an instance out whatever else it says).

A workload tag that names something stateful (a database, Kafka, ZooKeeper, Redis, Elasticsearch, etcd, ...) rules
the instance out. Production instances outside a group are never proposed. The saving is the on-demand price
minus the Spot price in effect now (median over the region's zones), for 730 hours; under 10% is not worth the
interruptions. Risk: medium (a group or retried work absorbs interruptions), high for production. Recommendations
only: moving a group to Spot is a launch template / mixed-instances change, not a step this version applies.
"""

from __future__ import annotations

import re
from decimal import Decimal

from outlay.pricing.catalogue import PriceCatalogue, UnknownPrice
from services.optimizer.plans import PRODUCTION
from services.optimizer.recommendations import Kind, Recommendation, Risk, Skipped, monthly
from services.optimizer.rightsizing.recommend import Instance

INTERRUPTIBLE_TAG = "outlay:interruptible"
GROUP_TAGS = {
    "aws:autoscaling:groupName": "Auto Scaling group {}",
    "eks:nodegroup-name": "EKS node group {}",
    "karpenter.sh/nodepool": "Karpenter node pool {}",
}
WORKLOAD_TAGS = ("workload", "role", "app", "component", "Name")
_RETRIED = re.compile(r"\b(batch|ci|runners?|build|jenkins|gitlab-runner|buildkite|workers?|queue|spark|render)\b")
_STATEFUL = re.compile(
    r"\b(db|database|postgres(ql)?|mysql|mariadb|mongo(db)?|oracle|sql-?server|kafka|zookeeper|redis|memcached"
    r"|elasticsearch|opensearch|cassandra|etcd|consul|vault|stateful|primary|master)\b"
)
MIN_SAVING_SHARE = Decimal("0.10")


def _words(tags: dict[str, str]) -> dict[str, str]:
    """The workload tags, lower-cased, with underscores read as hyphens ("ci_runner" is "ci-runner")."""
    return {k: tags[k].lower().replace("_", "-") for k in WORKLOAD_TAGS if tags.get(k)}


def why_interruptible(tags: dict[str, str]) -> tuple[str, float] | None:
    """The evidence that this workload tolerates interruptions and how strong it is, or None."""
    explicit = tags.get(INTERRUPTIBLE_TAG, "").lower()
    if explicit == "false":
        return None
    words = _words(tags)
    if explicit != "true" and any(_STATEFUL.search(v) for v in words.values()):
        return None
    if explicit == "true":
        return f"tagged {INTERRUPTIBLE_TAG}=true", 0.9
    for key, label in GROUP_TAGS.items():
        if tags.get(key):
            return label.format(tags[key]), 0.8
    for key, value in words.items():
        found = _RETRIED.search(value)
        if found is not None:
            return f"{key}={tags[key]}: a {found.group(1)} workload", 0.6
    return None


def spot_candidates(
    instances: list[Instance], spot_prices: dict[str, Decimal], catalogue: PriceCatalogue, env_tag: str = "env"
) -> tuple[list[Recommendation], list[Skipped]]:
    found: list[Recommendation] = []
    skipped: list[Skipped] = []
    for inst in instances:
        evidence = why_interruptible(inst.tags)
        if evidence is None:
            continue
        reason, confidence = evidence
        production = inst.tags.get(env_tag, "").lower() in PRODUCTION
        grouped = any(inst.tags.get(k) for k in GROUP_TAGS)
        if production and not grouped:
            skipped.append(Skipped(inst.resource_id, f"{reason}, but production and not in a group: not for Spot"))
            continue
        spot = spot_prices.get(inst.instance_type)
        if spot is None:
            skipped.append(Skipped(inst.resource_id, f"no Spot price for {inst.instance_type} in {inst.region}"))
            continue
        try:
            on_demand = catalogue.ec2_hourly(inst.instance_type, inst.region)
        except UnknownPrice as exc:
            skipped.append(Skipped(inst.resource_id, str(exc)))
            continue
        if on_demand <= 0 or (on_demand - spot) / on_demand < MIN_SAVING_SHARE:
            continue
        share = (on_demand - spot) / on_demand
        found.append(
            Recommendation(
                kind=Kind.USE_SPOT,
                resource_id=inst.resource_id,
                region=inst.region,
                summary=f"run {inst.instance_type} on Spot ({reason}): {share:.0%} cheaper",
                monthly_saving=monthly(on_demand - spot),
                confidence=confidence,
                risk=Risk.HIGH if production else Risk.MEDIUM,
                current="on-demand",
                proposed="spot",
                evidence={
                    "why": reason,
                    "on_demand_usd_hr": str(on_demand),
                    "spot_usd_hr": str(spot),
                    "saving_share": round(float(share), 4),
                },
            )
        )
    return found, skipped
