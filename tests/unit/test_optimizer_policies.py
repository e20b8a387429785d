"""The tenant's policies as the optimizer applies them, without I/O: violations found in a scanned inventory,
rightsizing kept to the allowed instance families, and auto-apply decided by the tenant's auto_apply policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from outlay.aws.resources import Ec2Instance, Volume
from outlay.events.policy import violation_id
from outlay.policies import AllowedInstanceFamilies, AutoApply, PolicyKind, RequiredTags, Rule
from outlay.pricing.catalogue import PriceCatalogue
from outlay.store.policies import Policy
from services.optimizer.plans import auto_apply_refusals, build_plan, propose_plans
from services.optimizer.policy_checks import TenantRules, violations
from services.optimizer.recommendations import Kind, Recommendation, Risk
from services.optimizer.rightsizing.percentiles import percentiles
from services.optimizer.rightsizing.recommend import Instance, rightsize, rightsize_databases

CATALOGUE = PriceCatalogue.load()
SAMPLES = 14 * 24 * 12
REGION = "us-east-1"
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def policy(policy_id: str, rule: Rule, enabled: bool = True) -> Policy:
    return Policy(policy_id, f"policy {policy_id}", rule, enabled, 1, NOW, NOW)


def instance(instance_id: str, instance_type: str, state: str = "running", **tags: str) -> Ec2Instance:
    return Ec2Instance(instance_id, instance_type, REGION, "123456789012", state, tags)


def volume(volume_id: str, state: str = "available", **tags: str) -> Volume:
    return Volume(volume_id, "gp3", 20, REGION, "123456789012", state, tags)


TAGS = policy("p-tags", RequiredTags(keys=["team", "env"]))
FAMILIES = policy("p-families", AllowedInstanceFamilies(families=["m6i", "c6i", "r6i"]))


def test_violations_name_the_resource_and_what_it_lacks_and_compliant_resources_have_none() -> None:
    rules = TenantRules.of([TAGS, FAMILIES, policy("p-off", RequiredTags(keys=["owner"]), enabled=False)])
    fleet = [
        instance("i-ok", "m6i.large", team="web", env="dev"),
        instance("i-bare", "m6i.large", env="dev", team="  "),  # an empty value counts as missing
        instance("i-old", "m5.2xlarge", team="data", env="prod"),
        instance("i-parked", "m5.large", state="stopped", team="data"),  # stopped: tags judged, family not
        instance("i-gone", "m5.large", state="terminated"),  # not judged at all
        instance("i-bare", "m6i.large", env="dev"),  # listed twice (one scan): one violation
    ]
    disks = [volume("vol-ok", team="web", env="dev"), volume("vol-bare"), volume("vol-gone", state="deleted")]
    found = violations("acme", fleet, disks, rules, NOW)
    assert [(v.policy_id, v.subject, v.detail) for v in found] == [
        ("p-tags", "ec2-instance:i-bare", "missing tags: team"),
        ("p-tags", "ec2-instance:i-parked", "missing tags: env"),
        ("p-tags", "ebs-volume:vol-bare", "missing tags: team, env"),
        ("p-families", "ec2-instance:i-old", "instance type m5.2xlarge: family m5 is not allowed (allowed: m6i, c6i, r6i)"),
    ]  # fmt: skip
    for v in found:
        assert (v.tenant_id, v.evaluated_by, v.observed_at) == ("acme", "optimizer", NOW)
        assert v.kind == {"p-tags": "required_tags", "p-families": "allowed_instance_families"}[v.policy_id]
        assert v.policy_name == f"policy {v.policy_id}"
        assert v.violation_id == violation_id("acme", v.policy_id, v.subject, v.detail)
    # A rescan finding the same problems gives the same ids (consumers dedupe); another tenant's are its own.
    again = violations("acme", fleet, disks, rules, NOW + timedelta(hours=6))
    assert [v.violation_id for v in again] == [v.violation_id for v in found]
    assert not {v.violation_id for v in violations("other", fleet, disks, rules, NOW)} & {v.violation_id for v in found}
    assert violations("acme", fleet, disks, TenantRules(), NOW) == []


def test_tenant_rules_sort_policies_by_kind_and_combine_family_policies() -> None:
    auto = policy("p-auto", AutoApply(max_risk="medium"))
    narrower = policy("p-narrow", AllowedInstanceFamilies(families=["m6i"]))
    rules = TenantRules.of([TAGS, FAMILIES, narrower, auto, policy("p-auto-off", AutoApply(), enabled=False)])
    assert [p.policy_id for p, _ in rules.required_tags] == ["p-tags"]
    assert [name for name, _ in rules.auto_apply] == ["policy p-auto"]
    assert rules.type_filter is not None
    assert rules.allows_type("m6i.large") and not rules.allows_type("c6i.large")  # every family policy must allow
    assert TenantRules().type_filter is None and TenantRules().allows_type("x8i.large")
    assert {p.kind for p, _ in rules.allowed_families} == {PolicyKind.ALLOWED_INSTANCE_FAMILIES}


def _cpu(level: float) -> np.ndarray:
    return np.full((1, SAMPLES), level, dtype=np.float32)


def test_rightsizing_proposes_only_allowed_families_and_nothing_when_none_fits() -> None:
    cpu, _ = percentiles(_cpu(20.0))
    oversized = [Instance("i-1", "m5.2xlarge", REGION)]
    [free], _ = rightsize(oversized, cpu, None, CATALOGUE)
    allowed = AllowedInstanceFamilies(families=["m6i", "c6i", "r6i"])
    assert free.proposed is not None and not allowed.allows(free.proposed)  # the policy changes the answer
    [kept], skipped = rightsize(oversized, cpu, None, CATALOGUE, allowed=allowed.allows)
    assert kept.proposed is not None and allowed.allows(kept.proposed) and skipped == []
    assert 0 < kept.monthly_saving < free.monthly_saving
    # Only m5 allowed: nothing cheaper of that family keeps the memory, so no recommendation, and the reason.
    none, skipped = rightsize(oversized, cpu, None, CATALOGUE, allowed=AllowedInstanceFamilies(families=["m5"]).allows)
    assert none == [] and [s.reason for s in skipped] == ["a cheaper type fits, but none of an instance family policy allows"]  # fmt: skip
    # RDS classes go through the same rule (db.r6g.large is of family r6g).
    database = [Instance("arn:db", "db.m5.4xlarge", REGION, arch_neutral=True, engine="postgres")]
    db_cpu, _ = percentiles(_cpu(8.0))
    memory, _ = percentiles(_cpu(25.0))
    only = AllowedInstanceFamilies(families=["m6g"]).allows
    [db], _ = rightsize_databases(database, db_cpu, memory, CATALOGUE, allowed=only)
    assert db.proposed is not None and db.proposed.startswith("db.m6g.")


FAMILY_POOL = ["m5", "m6i", "m6a", "m6g", "m7i", "m7g", "c5", "c6i", "c7g", "r5", "r6i", "r6a", "t3", "x8i", "i4i"]
TYPES = ["m5.large", "m5.2xlarge", "c5.4xlarge", "r5.xlarge", "t3.large", "m6g.xlarge", "m6i.4xlarge", "c7g.large"]


@settings(max_examples=120, deadline=None)
@given(
    type_index=st.integers(0, len(TYPES) - 1),
    level=st.floats(0.5, 95),
    memory_level=st.one_of(st.none(), st.floats(1, 99)),
    arch_neutral=st.booleans(),
    families=st.lists(st.sampled_from(FAMILY_POOL), min_size=1, max_size=6, unique=True),
)
def test_rightsizing_never_proposes_a_family_the_policy_does_not_allow(
    type_index: int, level: float, memory_level: float | None, arch_neutral: bool, families: list[str]
) -> None:
    cpu, _ = percentiles(_cpu(level))
    memory = None if memory_level is None else percentiles(_cpu(memory_level))[0]
    subject = [Instance("i-1", TYPES[type_index], REGION, arch_neutral=arch_neutral)]
    allowed = AllowedInstanceFamilies(families=families)
    free, _ = rightsize(subject, cpu, memory, CATALOGUE)
    kept, skipped = rightsize(subject, cpu, memory, CATALOGUE, allowed=allowed.allows)
    for r in kept:
        assert r.proposed is not None and allowed.allows(r.proposed)
    if not free:
        assert kept == [] and skipped == []  # the policy only removes options
    elif free[0].proposed is not None and allowed.allows(free[0].proposed):
        assert kept == free  # the best type is allowed anyway: the same answer
    elif kept:
        assert kept[0].monthly_saving <= free[0].monthly_saving
    else:
        assert [s.resource_id for s in skipped] == ["i-1"]


def resize(instance_id: str, saving: str, risk: Risk = Risk.LOW) -> Recommendation:
    return Recommendation(Kind.RIGHTSIZE, instance_id, REGION, "resize", Decimal(saving), 0.9, risk, "m5.2xlarge",
                          "m6i.large")  # fmt: skip


def stop(instance_id: str, saving: str) -> Recommendation:
    return Recommendation(Kind.STOP_INSTANCE, instance_id, REGION, "stop", Decimal(saving), 0.9, Risk.MEDIUM)


SMALL = ("small changes", AutoApply(max_risk="low", max_monthly_saving=Decimal("100")))


def test_an_auto_apply_policy_lets_a_small_low_risk_plan_run_and_keeps_a_large_one_with_the_reason() -> None:
    tags = {"i-small": {"env": "dev"}, "i-large": {"env": "dev"}, "i-prod": {"env": "prod"}}
    # The deployment's setting is off: the tenant's policy decides instead.
    small = build_plan([resize("i-small", "40.00")], tags, auto_apply_enabled=False, auto_apply_rules=[SMALL])
    assert not small.requires_approval and small.approval_reasons == ()
    large = build_plan([resize("i-large", "210.24")], tags, auto_apply_enabled=False, auto_apply_rules=[SMALL])
    assert large.requires_approval
    assert large.approval_reasons == (
        "above the auto-apply policy's maximum saving (210.24 a month > 100) (policy 'small changes')",
    )
    # The setting on does not lift what the tenant's policy keeps for a person.
    assert build_plan([resize("i-large", "210.24")], tags, auto_apply_enabled=True, auto_apply_rules=[SMALL]).requires_approval  # fmt: skip
    # Production and changes without an undo still need a person, whatever the policy allows.
    prod = build_plan([resize("i-prod", "10")], tags, auto_apply_rules=[SMALL])
    assert prod.requires_approval and prod.approval_reasons == ("production resources (env=prod): i-prod",)
    release = Recommendation(Kind.RELEASE_ADDRESS, "eipalloc-1", REGION, "release", Decimal("3.65"), 1.0, Risk.LOW)
    final = build_plan([release], {"eipalloc-1": {}}, auto_apply_rules=[SMALL])
    assert final.approval_reasons == ("cannot be undone: eipalloc-1",)
    unknown = build_plan([resize("i-unknown", "10")], tags, auto_apply_rules=[SMALL])
    assert unknown.requires_approval and "tags not known" in unknown.approval_reasons[0]


def test_each_refusal_says_what_the_plan_is_over_and_policies_add_up() -> None:
    tags: dict[str, dict[str, str]] = {"i-1": {}, "i-2": {}}
    risky = build_plan([resize("i-1", "50", Risk.MEDIUM)], tags, auto_apply_rules=[SMALL])
    assert risky.approval_reasons == (
        "medium risk is above the auto-apply policy's maximum risk (low) (policy 'small changes')",
    )
    volumes_only = ("volumes", AutoApply(max_risk="high", kinds=["delete_volume"]))
    assert build_plan([resize("i-1", "50")], tags, auto_apply_rules=[volumes_only]).approval_reasons == (
        "rightsize is not among the auto-apply policy's kinds (delete_volume) (policy 'volumes')",
    )
    # Two policies: a plan runs when either allows it; refused by both, it gets both reasons.
    stops = ("idle stops", AutoApply(max_risk="medium", kinds=["stop_instance"]))
    assert not build_plan([stop("i-2", "280.32")], tags, auto_apply_rules=[SMALL, stops]).requires_approval
    both = build_plan([resize("i-1", "500", Risk.MEDIUM)], tags, auto_apply_rules=[SMALL, stops])
    assert len(both.approval_reasons) == 2
    assert "maximum risk (low); above the auto-apply policy's maximum saving" in both.approval_reasons[0]
    assert both.approval_reasons[1].endswith("(stop_instance) (policy 'idle stops')")
    # propose_plans hands the rules to every plan.
    plans = propose_plans([resize("i-1", "40"), stop("i-2", "280.32")], tags, auto_apply_rules=[SMALL])
    assert {p.changes[0].resource_id: p.requires_approval for p in plans} == {"i-1": False, "i-2": True}


@settings(max_examples=200, deadline=None)
@given(
    max_risk=st.sampled_from(["low", "medium", "high"]),
    cap=st.one_of(st.none(), st.decimals(0, 1000, places=2)),
    kinds=st.lists(st.sampled_from([k.value for k in Kind]), max_size=3, unique=True),
    risk=st.sampled_from(list(Risk)),
    saving=st.decimals(0, 2000, places=2),
    kind=st.sampled_from(list(Kind)),
)
def test_a_plan_is_refused_exactly_when_the_rule_does_not_allow_it(
    max_risk: str, cap: Decimal | None, kinds: list[str], risk: Risk, saving: Decimal, kind: Kind
) -> None:
    rule = AutoApply.model_validate({"max_risk": max_risk, "max_monthly_saving": cap, "kinds": kinds})
    refusals = auto_apply_refusals([("p", rule)], risk, saving, {kind})
    assert (refusals == []) == rule.allows(risk.value, saving, {kind.value})
    assert all("not allowed by the auto-apply policy" not in r for r in refusals)  # every refusal names its cause
