"""Rightsizing and commitments without I/O: percentiles, the headroom property, skip reasons, exact optima."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outlay.aws.resources import ElasticAddress, LoadBalancer, Volume
from outlay.pricing.catalogue import PriceCatalogue
from services.optimizer.commitments import brute_force_commitment, net_saving, optimal_commitment
from services.optimizer.execution import Outcome, PlanExecutor
from services.optimizer.idle import idle_addresses, idle_instances, idle_load_balancers, idle_volumes
from services.optimizer.plans import NotPlannable, build_plan
from services.optimizer.portfolio import RISK_SCORE, pareto_front
from services.optimizer.recommendations import Kind, Recommendation, Risk, monthly
from services.optimizer.rightsizing.percentiles import percentiles
from services.optimizer.rightsizing.recommend import Instance, RightsizingSettings, rightsize
from services.optimizer.schedules import ScheduledInstance, off_hours
from tests.unit.optimizer_support import FakeEc2

CATALOGUE = PriceCatalogue.load()
SAMPLES = 14 * 24 * 12
TYPES = ["m5.large", "m5.2xlarge", "c5.4xlarge", "r5.xlarge", "t3.large", "m6g.xlarge", "g4dn.xlarge", "c7g.large"]


def flat(value: float, samples: int = SAMPLES) -> np.ndarray:
    return np.full((1, samples), value, dtype=np.float32)


def test_percentiles_match_numpy_and_ignore_missing_samples() -> None:
    rng = np.random.default_rng(2)
    samples = rng.uniform(0, 100, (50, 500)).astype(np.float32)
    samples[::3, :100] = np.nan
    samples[7] = np.nan
    found, p90 = percentiles(samples, extra=90.0)
    expected = np.nanpercentile(samples[np.arange(50) != 7], [50, 95, 99, 100, 90], axis=1)
    keep = np.arange(50) != 7
    for row, values in zip(expected, (found.p50, found.p95, found.p99, found.max, p90), strict=True):
        assert values is not None
        assert np.allclose(values[keep], row, atol=1e-4)
        assert np.isnan(values[7])
    assert found.samples[0] == 400 and found.samples[1] == 500 and found.samples[7] == 0


@settings(max_examples=150, deadline=None)
@given(
    type_index=st.integers(0, len(TYPES) - 1),
    level=st.floats(0.5, 95),
    spread=st.floats(0, 40),
    memory_level=st.one_of(st.none(), st.floats(1, 99)),
    arch_neutral=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_a_recommendation_never_breaks_the_headroom_on_the_observed_data(
    type_index: int, level: float, spread: float, memory_level: float | None, arch_neutral: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    cpu = np.clip(level + rng.normal(0, spread + 1e-9, (1, SAMPLES)), 0, 100).astype(np.float32)
    memory = None if memory_level is None else np.clip(memory_level + rng.normal(0, 2, (1, SAMPLES)), 0, 100)
    instance = Instance("i-1", TYPES[type_index], "us-east-1", arch_neutral=arch_neutral)
    rules = RightsizingSettings()
    cpu_p, _ = percentiles(cpu)
    memory_p = None if memory is None else percentiles(memory.astype(np.float32))[0]
    recommendations, skipped = rightsize([instance], cpu_p, memory_p, CATALOGUE, rules)
    assert not skipped
    for r in recommendations:
        assert r.current is not None and r.proposed is not None
        old, new = CATALOGUE.ec2_instance(r.current), CATALOGUE.ec2_instance(r.proposed)
        assert old.vcpu and new.vcpu and old.memory_gib and new.memory_gib
        assert cpu_p.p95[0] * old.vcpu / new.vcpu <= rules.target_pct + 1e-9  # CPU headroom on observed data
        if memory_p is None:
            assert new.memory_gib >= old.memory_gib  # unmeasured memory is never shrunk
        else:
            assert memory_p.p95[0] * float(old.memory_gib) / float(new.memory_gib) <= rules.target_pct + 1e-9
        assert Decimal(str(r.evidence["proposed_hourly"])) < Decimal(str(r.evidence["current_hourly"]))
        assert r.monthly_saving > 0
        assert new.gpu_count == old.gpu_count
        if not arch_neutral:
            assert new.arch == old.arch
        if not old.family.startswith("t"):
            assert not new.family.startswith("t")


def test_an_idle_m5_2xlarge_goes_down_and_its_saving_is_priced() -> None:
    cpu, _ = percentiles(flat(5.0))
    [r], _ = rightsize([Instance("i-1", "m5.2xlarge", "us-east-1")], cpu, None, CATALOGUE)
    assert r.proposed != "m5.2xlarge" and r.summary == f"resize m5.2xlarge to {r.proposed}"
    expected = (Decimal(str(r.evidence["current_hourly"])) - Decimal(str(r.evidence["proposed_hourly"]))) * 730
    assert r.monthly_saving == expected.quantize(r.monthly_saving)
    assert r.risk is Risk.LOW and r.confidence == pytest.approx(0.8)  # memory unmeasured


def test_a_busy_instance_gets_nothing() -> None:
    cpu, _ = percentiles(flat(90.0))
    recommendations, skipped = rightsize([Instance("i-1", "c5.large", "us-east-1")], cpu, None, CATALOGUE)
    assert recommendations == [] and skipped == []


@pytest.mark.parametrize(
    ("instance", "samples", "reason"),
    [
        (Instance("i-1", "m99.huge", "us-east-1"), flat(5.0), "unknown EC2 instance type 'm99.huge'"),
        (Instance("i-1", "m5.large", "mars-north-1"), flat(5.0), "region 'mars-north-1'"),
        (Instance("i-1", "p3.2xlarge", "us-east-1"), flat(5.0), "the shape of p3.2xlarge is not known"),
        (
            Instance("i-1", "m5.large", "us-east-1"),
            np.full((1, SAMPLES), np.nan, dtype=np.float32),
            "no CPUUtilization",
        ),
        (Instance("i-1", "m5.large", "us-east-1"), flat(5.0, SAMPLES // 2), "only 50% of the 14-day lookback"),
    ],
)
def test_what_cannot_be_judged_is_skipped_with_the_reason(instance: Instance, samples: np.ndarray, reason: str) -> None:
    cpu, _ = percentiles(samples)
    recommendations, skipped = rightsize([instance], cpu, None, CATALOGUE)
    assert recommendations == []
    assert len(skipped) == 1 and reason in skipped[0].reason


@settings(max_examples=100, deadline=None)
@given(
    usage=st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=60),
    discount=st.floats(0.05, 0.9),
    decline=st.floats(0, 0.5),
)
def test_the_commitment_is_the_exact_optimum(usage: list[float], discount: float, decline: float) -> None:
    profile = np.array(usage)
    best = optimal_commitment(profile, discount)
    grid = brute_force_commitment(profile, discount, steps=2001)
    assert best.net_saving >= grid.net_saving - 1e-6 * max(1.0, abs(grid.net_saving))
    for covered in (*profile, 0.0):  # no observed kink does better
        assert best.net_saving >= net_saving(profile, float(covered), discount) - 1e-6
    cautious = optimal_commitment(profile, discount, decline=decline)
    declined = profile * (1 - decline)  # planning for a decline: the optimum for the declined profile
    for covered in (*declined, 0.0):
        assert net_saving(declined, cautious.covered, discount) >= net_saving(declined, float(covered), discount) - 1e-6


@pytest.mark.parametrize(
    ("usage", "discount", "decline", "field"),
    [
        (np.array([]), 0.3, 0.0, "usage"),
        (np.array([1.0, -2.0]), 0.3, 0.0, "usage"),
        (np.array([1.0]), 1.5, 0.0, "discount"),
        (np.array([1.0]), 0.3, 1.0, "decline"),
    ],
)
def test_bad_commitment_input_names_the_field(usage: np.ndarray, discount: float, decline: float, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        optimal_commitment(usage, discount, decline)


def test_idle_resources_are_found_priced_and_explained() -> None:
    volumes = [
        Volume("vol-free", "gp3", 100, "us-east-1", "1", "available", iops=6000),
        Volume("vol-used", "gp3", 100, "us-east-1", "1", "in-use", attached_instance="i-running"),
        Volume("vol-parked", "gp2", 50, "us-east-1", "1", "in-use", attached_instance="i-parked"),
        Volume("vol-nowhere", "gp3", 10, "mars-north-1", "1", "available"),
    ]
    found, skipped = idle_volumes(volumes, {"i-parked"}, CATALOGUE)
    by_id = {r.resource_id: r for r in found}
    assert set(by_id) == {"vol-free", "vol-parked"}
    # 100 GiB x 0.08 + 3,000 extra IOPS x 0.005 - a 50 GiB snapshot x 0.05
    assert by_id["vol-free"].monthly_saving == Decimal("20.50") and by_id["vol-free"].kind is Kind.DELETE_VOLUME
    assert by_id["vol-parked"].kind is Kind.DELETE_STOPPED_VOLUMES
    assert [s.resource_id for s in skipped] == ["vol-nowhere"] and "mars-north-1" in skipped[0].reason

    [address], _ = idle_addresses(
        [
            ElasticAddress("eipalloc-1", "3.3.3.3", "us-east-1", "1", False),
            ElasticAddress("eipalloc-2", "4.4.4.4", "us-east-1", "1", True),
        ],
        CATALOGUE,
    )
    assert address.resource_id == "eipalloc-1" and address.monthly_saving == Decimal("3.65")  # 0.005 x 730

    since = datetime(2026, 11, 1, tzinfo=UTC)
    old = datetime(2026, 1, 1, tzinfo=UTC)
    lbs = [
        LoadBalancer("arn:idle", "idle", "application", "us-east-1", "1", old),
        LoadBalancer("arn:busy", "busy", "network", "us-east-1", "1", old),
        LoadBalancer("arn:quiet", "quiet", "application", "us-east-1", "1", old),  # no datapoints: no traffic
        LoadBalancer("arn:blind", "blind", "application", "us-east-1", "1", datetime(2026, 11, 10, tzinfo=UTC)),
    ]
    [lb, quiet], [blind] = idle_load_balancers(lbs, {"arn:idle": 0.0, "arn:busy": 1e6}, CATALOGUE, since)
    assert quiet.resource_id == "arn:quiet"
    assert lb.resource_id == "arn:idle" and lb.monthly_saving == Decimal("16.42")  # 0.0225 x 730 = 16.425, half to even
    assert blind.resource_id == "arn:blind" and "too new to judge" in blind.reason

    cpu, _ = percentiles(np.vstack([flat(1.0), flat(40.0), np.full((1, SAMPLES), np.nan, dtype=np.float32)]))
    fleet = [Instance(i, "m5.large", "us-east-1") for i in ("i-idle", "i-busy", "i-blind")]
    stop, no_data = idle_instances(fleet, cpu, CATALOGUE)
    assert [r.resource_id for r in stop] == ["i-idle"] and stop[0].monthly_saving == Decimal("70.08")
    assert [s.resource_id for s in no_data] == ["i-blind"]


def office_hours_cpu(weeks: int, zone: str) -> tuple[np.ndarray, datetime]:
    """Hourly CPU: 40% on weekdays 09:00-18:00 local time, 2% otherwise."""
    first = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
    local = ZoneInfo(zone)
    values = []
    for h in range(weeks * 168):
        at = (first + timedelta(hours=h)).astimezone(local)
        values.append(40.0 if at.weekday() < 5 and 9 <= at.hour < 18 else 2.0)
    return np.array([values]), first


def test_office_hours_give_a_time_zone_aware_schedule_for_dev_only() -> None:
    cpu, first = office_hours_cpu(3, "Europe/Paris")
    dev = ScheduledInstance("i-dev", "m5.large", "us-east-1", {"env": "dev", "outlay:timezone": "Europe/Paris"})
    [r], skipped = off_hours([dev], cpu, first, CATALOGUE)
    assert not skipped and r.kind is Kind.SCHEDULE_INSTANCE
    assert "mon 08:00-19:00" in r.summary and "sat" not in r.summary and "Europe/Paris" in r.summary
    off = 1 - 5 * 11 / 168
    assert r.monthly_saving == (Decimal("0.096") * 730 * Decimal(repr(off))).quantize(Decimal("0.01"))
    prod = ScheduledInstance("i-prod", "m5.large", "us-east-1", {"env": "prod"})
    assert off_hours([prod], cpu, first, CATALOGUE) == ([], [])
    short, _ = office_hours_cpu(1, "UTC")
    _, [too_short] = off_hours([dev], short, first, CATALOGUE)
    assert "needs 2" in too_short.reason
    bad_zone = ScheduledInstance("i-x", "m5.large", "us-east-1", {"env": "test", "outlay:timezone": "Mars/Olympus"})
    _, [unknown] = off_hours([bad_zone], cpu, first, CATALOGUE)
    assert "Mars/Olympus" in unknown.reason


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(1, 50_000), st.sampled_from(list(Risk))), min_size=1, max_size=3),
        min_size=1,
        max_size=6,
    )
)
def test_the_pareto_front_is_exact(resources: list[list[tuple[int, Risk]]]) -> None:
    recommendations = [
        Recommendation(Kind.RIGHTSIZE, f"r{i}", "us-east-1", "x", Decimal(cents) / 100, 1.0, risk)
        for i, options in enumerate(resources)
        for cents, risk in options
    ]
    front = pareto_front(recommendations)
    # Every combination (one option or none per resource), by enumeration.
    best_at: dict[int, Decimal] = {}
    for combo in product(*[[None, *options] for options in resources]):
        risk = sum(RISK_SCORE[o[1]] for o in combo if o is not None)
        saving = sum((Decimal(o[0]) / 100 for o in combo if o is not None), Decimal(0))
        best_at[risk] = max(best_at.get(risk, Decimal(-1)), saving)
    for point in front.points:
        plan = front.plan(point)
        assert sum(RISK_SCORE[c.risk] for c in plan) <= point.risk
        assert sum((c.monthly_saving for c in plan), Decimal(0)) == point.monthly_saving
        assert len({c.resource_id for c in plan}) == len(plan)  # one option per resource
        assert point.monthly_saving == max(s for r, s in best_at.items() if r <= point.risk)
    for budget in range(0, max(best_at) + 1):
        reachable = max(s for r, s in best_at.items() if r <= budget)
        assert front.best_within(budget).monthly_saving == reachable


def test_plans_say_what_changes_and_what_needs_approval() -> None:
    resize = Recommendation(
        Kind.RIGHTSIZE, "i-1", "us-east-1", "x", Decimal(40), 0.9, Risk.LOW, "m5.xlarge", "m6i.large"
    )
    stop = Recommendation(Kind.STOP_INSTANCE, "i-2", "us-east-1", "x", Decimal(60), 0.7, Risk.HIGH, "m5.large")
    plan = build_plan([resize, stop], {"i-1": {}, "i-2": {"env": "dev"}}, auto_apply_enabled=True)
    assert not plan.requires_approval and plan.monthly_saving == Decimal(100) and plan.risk is Risk.HIGH
    assert [s.describe() for s in plan.changes[0].steps] == [
        "stop_instances i-1",
        "modify_instance_attribute i-1 InstanceType=m6i.large",
        "start_instances i-1",
    ]
    assert plan.changes[0].rollback[1].params == {"InstanceType": "m5.xlarge"}
    assert build_plan([stop, resize], {}, auto_apply_enabled=True).plan_id == plan.plan_id  # order-free, stable
    unknown = build_plan([resize], {}, auto_apply_enabled=True)
    assert unknown.requires_approval and "tags not known" in unknown.approval_reasons[0]
    prod = build_plan([resize], {"i-1": {"env": "Production"}}, auto_apply_enabled=True)
    assert prod.requires_approval and "i-1" in prod.approval_reasons[0]
    with pytest.raises(NotPlannable, match="^kind: delete_load_balancer"):
        build_plan(
            [Recommendation(Kind.DELETE_LOAD_BALANCER, "arn:lb", "us-east-1", "x", Decimal(1), 1.0, Risk.LOW)], {}
        )
    release = Recommendation(Kind.RELEASE_ADDRESS, "eipalloc-1", "us-east-1", "x", Decimal(3.65), 1.0, Risk.LOW)
    final = build_plan([release], {"eipalloc-1": {}}, auto_apply_enabled=True)
    assert final.requires_approval and final.approval_reasons == ("cannot be undone: eipalloc-1",)
    assert final.title == "release 1 unused Elastic IP in us-east-1" and final.changes[0].rollback == ()
    with pytest.raises(ValueError, match="^recommendations:"):
        build_plan([resize, resize], {})
    with pytest.raises(ValueError, match="^recommendations:"):
        build_plan([], {})


def test_a_dev_instance_busy_around_the_clock_gets_no_schedule() -> None:
    first = datetime(2026, 11, 2, tzinfo=UTC)
    cpu = np.full((1, 3 * 168), 60.0)
    dev = ScheduledInstance("i-dev", "m5.large", "us-east-1", {"env": "dev"})
    assert off_hours([dev], cpu, first, CATALOGUE) == ([], [])


def test_a_failing_step_rolls_back_every_change_instead_of_half_applying() -> None:
    ec2 = FakeEc2({"i-1": "m5.xlarge", "i-2": "m5.xlarge"}, refuse_start_of="c7i.large")
    recs = [
        Recommendation(Kind.RIGHTSIZE, "i-1", "us-east-1", "x", Decimal(1), 1.0, Risk.LOW, "m5.xlarge", "m6i.large"),
        Recommendation(Kind.RIGHTSIZE, "i-2", "us-east-1", "x", Decimal(1), 1.0, Risk.LOW, "m5.xlarge", "c7i.large"),
    ]
    plan = build_plan(recs, {"i-1": {}, "i-2": {}}, auto_apply_enabled=True)
    result = PlanExecutor(ec2, lambda change: None).apply(plan, approved=False, canary=1, batch=5)
    assert result.outcome is Outcome.ROLLED_BACK and "InsufficientInstanceCapacity" in result.reason
    assert ec2.instance("i-1") == ("running", "m5.xlarge") and ec2.instance("i-2") == ("running", "m5.xlarge")
    assert [e.event for e in result.audit].count("step_failed") == 1


def test_scans_group_plans_by_region_kind_risk_and_production_and_round_trip_as_events() -> None:
    from datetime import UTC, datetime

    from outlay.events.plan import ActionPlan, PlanStatus
    from services.optimizer.plan_events import plan_event, plan_of
    from services.optimizer.plans import propose_plans

    def rec(rid: str, kind: Kind, risk: Risk) -> Recommendation:
        proposed = "m6i.large" if kind is Kind.RIGHTSIZE else None
        return Recommendation(kind, rid, "us-east-1", "x", Decimal("10"), 0.9, risk, "m5.xlarge", proposed)

    recs = [
        rec("i-3", Kind.RIGHTSIZE, Risk.LOW),
        rec("i-1", Kind.RIGHTSIZE, Risk.LOW),
        rec("i-2", Kind.RIGHTSIZE, Risk.LOW),  # production: its own plan
        rec("i-4", Kind.RIGHTSIZE, Risk.HIGH),
        rec("i-5", Kind.STOP_INSTANCE, Risk.LOW),
        rec("vol-1", Kind.DELETE_VOLUME, Risk.LOW),  # tags unknown: its own plan, held for a person
        rec("arn:lb", Kind.DELETE_LOAD_BALANCER, Risk.LOW),  # not plannable yet: stays a recommendation
    ]
    tags = {"i-1": {"env": "dev"}, "i-2": {"env": "Prod"}, "i-3": {"env": "dev"}, "i-4": {}, "i-5": {}}
    plans = propose_plans(recs, tags, auto_apply_enabled=True)
    groups = sorted([c.resource_id for c in p.changes] for p in plans)
    assert groups == [["i-1", "i-3"], ["i-2"], ["i-4"], ["i-5"], ["vol-1"]]
    auto = {p.changes[0].resource_id: not p.requires_approval for p in plans}
    assert auto == {"i-1": True, "i-2": False, "i-4": True, "i-5": True, "vol-1": False}
    assert next(p for p in plans if len(p.changes) == 2).title == "rightsize 2 instances in us-east-1"
    assert propose_plans(list(reversed(recs)), tags, True)[0].plan_id in {p.plan_id for p in plans}  # order-free
    at = datetime(2026, 11, 30, tzinfo=UTC)
    for p in plans:
        event = ActionPlan.model_validate_json(plan_event(p, PlanStatus.PROPOSED, at, at).model_dump_json())
        assert plan_of(event) == p


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"aws:autoscaling:groupName": "web-asg"}, "Auto Scaling group web-asg"),
        ({"eks:nodegroup-name": "general"}, "EKS node group general"),
        ({"role": "gitlab_runner"}, "role=gitlab_runner: a gitlab-runner workload"),
        ({"Name": "nightly-batch-7"}, "Name=nightly-batch-7: a batch workload"),
        ({"outlay:interruptible": "true", "role": "redis"}, "tagged outlay:interruptible=true"),
        ({"role": "redis", "aws:autoscaling:groupName": "cache"}, None),  # stateful, whatever the group
        ({"outlay:interruptible": "false", "aws:autoscaling:groupName": "web"}, None),
        ({"Name": "jenkins-master"}, None),
        ({"team": "web"}, None),  # no evidence: utilization alone says nothing about interruptions
    ],
)
def test_only_workloads_that_survive_interruptions_are_spot_candidates(
    tags: dict[str, str], expected: str | None
) -> None:
    from services.optimizer.spot import why_interruptible

    found = why_interruptible(tags)
    assert (found[0] if found else None) == expected


def test_spot_savings_come_from_the_spot_price_and_production_singletons_are_refused() -> None:
    from services.optimizer.rightsizing.recommend import Instance
    from services.optimizer.spot import spot_candidates

    catalogue = PriceCatalogue.load()
    on_demand = catalogue.ec2_hourly("m5.large")
    instances = [
        Instance("i-asg", "m5.large", "us-east-1", tags={"aws:autoscaling:groupName": "web", "env": "prod"}),
        Instance("i-ci", "m5.large", "us-east-1", tags={"role": "ci"}),
        Instance("i-prod-batch", "m5.large", "us-east-1", tags={"role": "batch", "env": "prod"}),
        Instance("i-nope", "m5.large", "us-east-1", tags={"role": "worker"}),  # Spot barely cheaper: not worth it
        Instance("i-none", "c5.large", "us-east-1", tags={"role": "worker"}),  # no Spot price known
    ]
    spot = {"m5.large": (on_demand * Decimal("0.35")).quantize(Decimal("1e-6"))}
    found, skipped = spot_candidates(instances[:3] + instances[4:], spot, catalogue)
    by_id = {r.resource_id: r for r in found}
    assert set(by_id) == {"i-asg", "i-ci"}
    assert by_id["i-asg"].risk is Risk.HIGH and by_id["i-ci"].risk is Risk.MEDIUM
    assert by_id["i-ci"].monthly_saving == monthly(on_demand - spot["m5.large"])
    assert {s.resource_id: s.reason for s in skipped} == {
        "i-prod-batch": "role=batch: a batch workload, but production and not in a group: not for Spot",
        "i-none": "no Spot price for c5.large in us-east-1",
    }
    found, skipped = spot_candidates([instances[3]], {"m5.large": on_demand * Decimal("0.95")}, catalogue)
    assert found == [] and skipped == []


def test_databases_resize_within_their_engine_and_multi_az_doubles_the_saving() -> None:
    from services.optimizer.rightsizing.recommend import rightsize_databases

    cpu, _ = percentiles(np.vstack([flat(8.0), flat(8.0), flat(8.0)]))
    memory, _ = percentiles(np.vstack([flat(25.0), flat(25.0), flat(25.0)]))
    databases = [
        Instance("db-1", "db.m5.4xlarge", "us-east-1", arch_neutral=True, engine="postgres"),
        Instance("db-2", "db.m5.4xlarge", "us-east-1", arch_neutral=True, engine="postgres", multi_az=True),
        Instance("db-3", "db.z9.large", "us-east-1", arch_neutral=True, engine="postgres"),
    ]
    found, skipped = rightsize_databases(databases, cpu, memory, CATALOGUE)
    single, multi = found
    assert single.kind is Kind.RIGHTSIZE_DATABASE and single.proposed == multi.proposed
    assert single.proposed in CATALOGUE.rds_classes("postgres", "us-east-1")
    assert multi.monthly_saving == 2 * single.monthly_saving
    assert single.risk is Risk.MEDIUM and multi.risk is Risk.LOW  # a standby takes over during the resize
    shape = CATALOGUE.rds_instance(single.proposed or "")
    assert shape.vcpu is not None and shape.vcpu * 0.8 >= 16 * 0.08 and float(shape.memory_gib or 0) >= 16
    assert [(s.resource_id, s.reason) for s in skipped] == [
        ("db-3", "the shape of RDS class 'db.z9.large' is not known")
    ]


def test_volumes_are_snapshotted_before_deletion_restored_on_failure_and_addresses_released_once() -> None:
    from services.optimizer.execution import planned_and_quiet
    from tests.unit.optimizer_support import FakeEc2

    ec2 = FakeEc2({})
    ec2.volumes = {"vol-1": {"VolumeType": "gp3", "Size": 100}, "vol-2": {"VolumeType": "io2", "Size": 50}}
    ec2.addresses = {"eipalloc-1"}

    def delete(volume_id: str) -> Recommendation:
        return Recommendation(
            Kind.DELETE_VOLUME, volume_id, "us-east-1", "delete", Decimal(8), 1.0, Risk.LOW, "available"
        )

    plan = build_plan([delete("vol-1"), delete("vol-2")], {"vol-1": {}, "vol-2": {}}, auto_apply_enabled=True)
    assert not plan.requires_approval and plan.title == "snapshot and delete 2 unattached volumes in us-east-1"
    checks = iter([None, "the backup job still reads it"])  # the canary passes, the batch fails its check
    result = PlanExecutor(ec2, lambda change: next(checks)).apply(plan, approved=False, canary=1, batch=5)
    assert result.outcome is Outcome.ROLLED_BACK and "backup job" in result.reason
    assert set(ec2.snapshots.values()) == {"vol-1", "vol-2"}  # a snapshot before every delete
    assert set(ec2.volumes) == {"vol-restored-snap-1", "vol-restored-snap-2"}  # both back, shaped as before
    assert ec2.volumes["vol-restored-snap-2"] == {"VolumeType": "io2", "Size": 50}
    assert [e.detail for e in result.audit if e.event == "rollback"] == [
        "create_volume vol-2 (as vol-restored-snap-2)",
        "create_volume vol-1 (as vol-restored-snap-1)",
    ]

    release = Recommendation(Kind.RELEASE_ADDRESS, "eipalloc-1", "us-east-1", "x", Decimal(3.65), 1.0, Risk.LOW)
    final = build_plan([release], {"eipalloc-1": {}})
    executor = PlanExecutor(ec2, planned_and_quiet(ec2))
    assert executor.apply(final, approved=True).outcome is Outcome.APPLIED and ec2.addresses == set()
    again = executor.apply(final, approved=True)
    assert again.outcome is Outcome.APPLIED and [e.event for e in again.audit] == ["decision", "skipped", "verified"]
