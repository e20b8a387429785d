"""The tenant's policies on a real scan: moto (EC2 instances with and without tags, of allowed and other families, an
oversized one with CPU, unattached and attached volumes), the policies in PostgreSQL, violations on the real broker,
and the plans the auto-apply policy lets run applied through boto3."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3

from outlay.aws.actions import AwsActions
from outlay.aws.inventory import AwsInventory
from outlay.events.plan import ActionPlan, PlanStatus
from outlay.events.policy import PolicyViolation, violation_id
from outlay.events.topics import POLICY_VIOLATIONS
from outlay.kafka.producer import EventProducer
from outlay.policies import AllowedInstanceFamilies, AutoApply, PolicyIn, RequiredTags
from outlay.pricing import PriceCatalogue
from outlay.store.audit import AuditLog
from outlay.store.engine import make_engine
from outlay.store.plans import PlanStore, RecommendationStore
from outlay.store.policies import PolicyStore
from services.optimizer.execution import PlanExecutor, planned_and_quiet
from services.optimizer.policy_checks import TenantRules
from services.optimizer.recommendations import Kind
from services.optimizer.rightsizing.recommend import RightsizingSettings
from services.optimizer.scan import ScanResult, scan_region
from services.optimizer.service import Optimizer, Policy
from tests.integration.ingest_support import read_topic
from tests.integration.test_optimizer_scan_moto import _put_cpu

# Its own region: moto's CloudWatch slows down with every series a region holds (here: one).
REGION = "ca-central-1"
TENANT = "acme"
FAMILIES = ["c6i", "m6i", "r6i"]


def _client(service: str, url: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url)  # type: ignore[call-overload]


async def test_policies_give_violations_keep_rightsizing_to_allowed_families_and_decide_auto_apply(
    aws_env: str, store_url: str, broker: str
) -> None:
    run = uuid.uuid4().hex[:8]
    ec2 = _client("ec2", aws_env)
    image = next(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"] if "Platform" not in i)

    def launch(instance_type: str, **tags: str) -> str:
        pairs = [{"Key": "run", "Value": run}, *({"Key": k, "Value": v} for k, v in tags.items())]
        reply = ec2.run_instances(
            ImageId=image, InstanceType=instance_type, MinCount=1, MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": pairs}],
        )  # fmt: skip
        return str(reply["Instances"][0]["InstanceId"])

    compliant = launch("c6i.large", team="web", env="dev")
    untagged = launch("m6i.large", env="dev")  # no team
    oversized = launch("m5.2xlarge", team="data", env="dev")  # a family the policy does not list; 20% CPU
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    _put_cpu(_client("cloudwatch", aws_env), oversized, 20.0, now)
    loose = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=10, VolumeType="gp2")["VolumeId"]
    volume_tags = [
        {"ResourceType": "volume", "Tags": [{"Key": "team", "Value": "web"}, {"Key": "env", "Value": "dev"}]}
    ]
    kept = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=10, VolumeType="gp2", TagSpecifications=volume_tags)
    ec2.attach_volume(VolumeId=kept["VolumeId"], InstanceId=compliant, Device="/dev/sdf")  # in use: not deleted

    engine = make_engine(store_url)
    try:
        policies = PolicyStore(engine)
        acme = policies.for_tenant(TENANT)
        tags_policy = await acme.create(PolicyIn(name="tagged", rule=RequiredTags(keys=["team", "env"])))
        families_policy = await acme.create(PolicyIn(name="families", rule=AllowedInstanceFamilies(families=FAMILIES)))
        await acme.create(PolicyIn(name="small", rule=AutoApply(max_risk="low", max_monthly_saving=Decimal("50"))))
        await acme.create(PolicyIn(name="owners", rule=RequiredTags(keys=["owner"]), enabled=False))
        await policies.create(PolicyIn(name="theirs", rule=RequiredTags(keys=["cost-centre"])))  # default tenant's

        # Without the families policy the oversized instance would go to a type of another family.
        inventory = AwsInventory([REGION], endpoint_url=aws_env)
        catalogue = PriceCatalogue.load()
        free = scan_region(inventory, REGION, catalogue, now)
        unfiltered = next(r for r in free.recommendations if r.resource_id == oversized)
        assert unfiltered.proposed is not None and unfiltered.proposed.split(".")[0] not in FAMILIES

        clock = iter(now + timedelta(seconds=k) for k in range(10_000))

        async def scanner(region: str, at: datetime, rules: TenantRules) -> ScanResult:
            return await asyncio.to_thread(
                scan_region, inventory, region, catalogue, at, RightsizingSettings(), "env", rules.type_filter
            )

        def executor_for(region: str) -> PlanExecutor:
            actions = AwsActions(region, endpoint_url=aws_env)
            return PlanExecutor(actions, planned_and_quiet(actions))

        published: list[ActionPlan] = []

        async def publish(plans: Sequence[ActionPlan]) -> None:
            published.extend(plans)

        async with EventProducer(broker) as producer:

            async def report(violations: Sequence[PolicyViolation]) -> None:
                await producer.send_many(violations)

            optimizer = Optimizer(
                PlanStore(engine).for_tenant(TENANT), RecommendationStore(engine).for_tenant(TENANT),
                AuditLog(engine).for_tenant(TENANT), publish, scanner, executor_for,
                Policy(auto_apply=False),  # the deployment's setting is off: the tenant's policy decides
                lambda: next(clock), policies=acme, report=report,
            )  # fmt: skip
            plans = {p.changes[0].kind: p for p in await optimizer.scan(REGION)}
            first = await read_topic(broker, POLICY_VIOLATIONS.name)

            # The resize stays within the allowed families, and is above the auto-apply policy's saving: a person
            # decides. The volume's delete is small and low risk: applied at once, through boto3.
            resize = plans[Kind.RIGHTSIZE]
            [change] = [c for c in resize.changes if c.resource_id == oversized]
            assert change.proposed is not None and change.proposed.split(".")[0] in FAMILIES
            assert resize.monthly_saving > 50 and resize.requires_approval
            assert resize.approval_reasons == [
                f"above the auto-apply policy's maximum saving ({resize.monthly_saving} a month > 50) (policy 'small')"
            ]
            stored_resize = await PlanStore(engine).for_tenant(TENANT).get(resize.plan_id)
            assert stored_resize is not None and stored_resize.status is PlanStatus.PROPOSED
            described = ec2.describe_instances(InstanceIds=[oversized])["Reservations"][0]["Instances"][0]
            assert described["InstanceType"] == "m5.2xlarge"
            delete = plans[Kind.DELETE_VOLUME]
            assert [c.resource_id for c in delete.changes] == [loose] and not delete.requires_approval
            applied = await PlanStore(engine).for_tenant(TENANT).get(delete.plan_id)
            assert applied is not None and applied.status is PlanStatus.APPLIED
            assert not ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [loose]}])["Volumes"]
            assert {p.status for p in published if p.plan_id == delete.plan_id} >= {PlanStatus.APPLIED}

            # A rescan: the same problems again, with the same ids (the deleted volume has none any more).
            await optimizer.scan(REGION)
            both = await read_topic(broker, POLICY_VIOLATIONS.name)
    finally:
        await engine.dispose()

    mine = {f"ec2-instance:{i}" for i in (compliant, untagged, oversized)} | {f"ebs-volume:{v}" for v in (loose, kept["VolumeId"])}  # fmt: skip
    found = {(v["subject"], v["detail"]): v for v in first if v["subject"] in mine}
    family_detail = f"instance type m5.2xlarge: family m5 is not allowed (allowed: {', '.join(FAMILIES)})"
    assert set(found) == {
        (f"ec2-instance:{untagged}", "missing tags: team"),
        (f"ebs-volume:{loose}", "missing tags: team, env"),
        (f"ec2-instance:{oversized}", family_detail),
    }  # nothing for the compliant instance and the tagged volume, nothing of a disabled or another tenant's policy
    policy_of = {
        "missing tags: team": tags_policy,
        "missing tags: team, env": tags_policy,
        family_detail: families_policy,
    }
    for (subject, detail), v in found.items():
        policy = policy_of[detail]
        assert (v["tenant_id"], v["evaluated_by"], v["policy_id"], v["kind"]) == (
            TENANT, "optimizer", policy.policy_id, policy.kind.value
        )  # fmt: skip
        assert v["violation_id"] == violation_id(TENANT, policy.policy_id, subject, detail)
    assert all(v["tenant_id"] == TENANT and "cost-centre" not in v["detail"] for v in both)
    assert not any("owner" in v["detail"] for v in both)
    # Once per scan each: two scans, twice each, under one id; the volume deleted after the first, once.
    counts = Counter(v["violation_id"] for v in both if v["subject"] in mine)
    assert counts == {
        found[(f"ec2-instance:{untagged}", "missing tags: team")]["violation_id"]: 2,
        found[(f"ec2-instance:{oversized}", family_detail)]["violation_id"]: 2,
        found[(f"ebs-volume:{loose}", "missing tags: team, env")]["violation_id"]: 1,
    }
    assert len({v["violation_id"] for v in first}) == len(first)  # no duplicates within a scan
