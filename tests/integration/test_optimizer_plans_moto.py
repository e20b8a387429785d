"""Plans against the moto server: recommend, refuse without approval, approve, apply a canary and a batch, verify,
apply again (nothing changes), force a failed check and roll back; each step checked through boto3."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import boto3

from outlay.aws.actions import AwsActions
from services.optimizer.execution import Outcome, PlanExecutor, planned_and_quiet
from services.optimizer.plans import ResourceChange, build_plan
from services.optimizer.recommendations import Kind, Recommendation, Risk

REGION = "us-east-1"


def _client(service: str, url: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url)  # type: ignore[call-overload]


def _resize(instance_id: str, current: str, proposed: str) -> Recommendation:
    return Recommendation(
        Kind.RIGHTSIZE,
        instance_id,
        REGION,
        f"resize {current} to {proposed}",
        Decimal("50"),
        0.9,
        Risk.LOW,
        current=current,
        proposed=proposed,
    )


def test_plan_full_cycle_with_canary_verification_idempotence_and_rollback(aws_env: str) -> None:
    ec2 = _client("ec2", aws_env)
    image = next(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"] if "Platform" not in i)
    run = uuid.uuid4().hex[:8]
    ids = [
        i["InstanceId"]
        for i in ec2.run_instances(
            ImageId=image,
            InstanceType="m5.2xlarge",
            MinCount=3,
            MaxCount=3,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "run", "Value": run}]}],
        )["Instances"]
    ]
    actions = AwsActions(REGION, endpoint_url=aws_env)
    recommendations = [_resize(i, "m5.2xlarge", "m6i.large") for i in ids]
    tags = {ids[0]: {"env": "prod"}}

    def healthy(change: ResourceChange) -> str | None:
        state, instance_type = actions.instance(change.resource_id)
        if state != "running":
            return f"state {state}"
        firing = actions.alarms_firing([f"{change.resource_id}-health"])
        return f"alarm {firing[0]} is in ALARM" if firing else None

    plan = build_plan(recommendations, tags)
    assert plan.requires_approval and any("production" in r for r in plan.approval_reasons)
    assert plan.dry_run()[0].startswith(f"{ids[0]}: instance_type: m5.2xlarge -> m6i.large")
    executor = PlanExecutor(actions, healthy)

    refused = executor.apply(plan, approved=False)
    assert refused.outcome is Outcome.AWAITING_APPROVAL and refused.changed == []
    assert {actions.instance(i)[1] for i in ids} == {"m5.2xlarge"}

    applied = executor.apply(plan, approved=True, canary=1, batch=2)
    assert applied.outcome is Outcome.APPLIED and applied.changed == ids
    assert [actions.instance(i) for i in ids] == [("running", "m6i.large")] * 3
    events = [(e.resource_id, e.event) for e in applied.audit]
    # The canary is verified before the batch is touched.
    assert events.index((ids[0], "verified")) < events.index((ids[1], "step"))

    again = executor.apply(plan, approved=True)
    assert again.outcome is Outcome.APPLIED and again.changed == []
    assert {e.event for e in again.audit} == {"decision", "skipped", "verified"}

    # A second plan whose batch breaks its health alarm: every change it made is undone.
    back = build_plan(
        [_resize(i, "m6i.large", "m5.xlarge") for i in ids], {i: {} for i in ids}, auto_apply_enabled=True
    )
    assert not back.requires_approval
    cloudwatch = _client("cloudwatch", aws_env)
    cloudwatch.put_metric_alarm(
        AlarmName=f"{ids[2]}-health",
        MetricName="StatusCheckFailed",
        Namespace="AWS/EC2",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=f"{ids[2]}-health", StateValue="ALARM", StateReason="forced by the test")
    failed = executor.apply(back, approved=False, canary=1, batch=2)
    assert failed.outcome is Outcome.ROLLED_BACK and ids[2] in failed.reason and "ALARM" in failed.reason
    assert failed.changed == ids
    assert [actions.instance(i) for i in ids] == [("running", "m6i.large")] * 3  # all three restored
    assert sum(1 for e in failed.audit if e.event == "rollback") == 9  # stop, type, start for each


def test_volume_and_address_plans_snapshot_delete_restore_and_release_through_boto3(aws_env: str) -> None:
    ec2 = _client("ec2", aws_env)
    run = uuid.uuid4().hex[:8]
    tags = [{"ResourceType": "volume", "Tags": [{"Key": "run", "Value": run}]}]
    kept = ec2.create_volume(AvailabilityZone=f"{REGION}b", Size=120, VolumeType="gp3", TagSpecifications=tags)
    doomed = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=80, VolumeType="gp2")["VolumeId"]
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    actions = AwsActions(REGION, endpoint_url=aws_env)

    def rec(kind: Kind, resource_id: str) -> Recommendation:
        return Recommendation(kind, resource_id, REGION, kind.value, Decimal("9.60"), 1.0, Risk.LOW)

    # A delete whose check fails: the volume is recreated from its snapshot, same zone, size, type and tags.
    failing = PlanExecutor(actions, lambda change: "forced by the test")
    plan = build_plan([rec(Kind.DELETE_VOLUME, kept["VolumeId"])], {kept["VolumeId"]: {}}, auto_apply_enabled=True)
    result = failing.apply(plan, approved=False)
    assert result.outcome is Outcome.ROLLED_BACK
    assert actions.volume(kept["VolumeId"]) is None
    restored = next(e.detail for e in result.audit if e.event == "rollback").rsplit("(as ", 1)[1].rstrip(")")
    again = ec2.describe_volumes(VolumeIds=[restored])["Volumes"][0]
    assert (again["AvailabilityZone"], again["Size"], again["VolumeType"]) == (f"{REGION}b", 120, "gp3")
    assert {"Key": "run", "Value": run} in again["Tags"] and again["SnapshotId"].startswith("snap-")

    # A delete that passes, and an address released: both gone, the snapshot kept; a second apply changes nothing.
    executor = PlanExecutor(actions, planned_and_quiet(actions))
    delete = build_plan([rec(Kind.DELETE_VOLUME, doomed)], {doomed: {}}, auto_apply_enabled=True)
    assert executor.apply(delete, approved=False).outcome is Outcome.APPLIED
    assert actions.volume(doomed) is None
    snapshots = ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [doomed]}])["Snapshots"]
    assert len(snapshots) == 1
    release = build_plan([rec(Kind.RELEASE_ADDRESS, address)], {address: {}}, auto_apply_enabled=True)
    assert release.requires_approval and "cannot be undone" in release.approval_reasons[0]
    assert executor.apply(release, approved=False).outcome is Outcome.AWAITING_APPROVAL
    assert actions.address_exists(address)
    assert executor.apply(release, approved=True).outcome is Outcome.APPLIED
    assert not actions.address_exists(address)
    assert executor.apply(release, approved=True).changed == []


def test_a_database_resize_is_applied_verified_and_rolled_back_through_boto3(aws_env: str) -> None:
    rds = _client("rds", aws_env)
    name = f"orders-{uuid.uuid4().hex[:8]}"
    arn = rds.create_db_instance(
        DBInstanceIdentifier=name, DBInstanceClass="db.m5.4xlarge", Engine="postgres", MasterUsername="admin",
        MasterUserPassword="not-a-secret-1", AllocatedStorage=100,
    )["DBInstance"]["DBInstanceArn"]  # fmt: skip
    actions = AwsActions(REGION, endpoint_url=aws_env, db_poll_s=0.1, db_wait_s=30)
    shrink = Recommendation(
        Kind.RIGHTSIZE_DATABASE, arn, REGION, "resize db.m5.4xlarge to db.r6g.large", Decimal("900"), 0.9,
        Risk.MEDIUM, current="db.m5.4xlarge", proposed="db.r6g.large",
    )  # fmt: skip
    plan = build_plan([shrink], {arn: {"env": "prod"}})
    assert plan.requires_approval and plan.title == "resize 1 database in us-east-1"
    applied = PlanExecutor(actions, planned_and_quiet(actions)).apply(plan, approved=True)
    assert applied.outcome is Outcome.APPLIED and actions.database(arn) == ("available", "db.r6g.large")

    # An alarm on the database fires after the next resize: it is put back to the class it had.
    back = build_plan([Recommendation(Kind.RIGHTSIZE_DATABASE, arn, REGION, "x", Decimal(1), 0.9, Risk.MEDIUM,
                                      current="db.r6g.large", proposed="db.t4g.large")], {arn: {}})  # fmt: skip
    cloudwatch = _client("cloudwatch", aws_env)
    cloudwatch.put_metric_alarm(
        AlarmName=f"{name}-cpu", MetricName="CPUUtilization", Namespace="AWS/RDS", Statistic="Average", Period=60,
        EvaluationPeriods=1, Threshold=90, ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": name}],
    )  # fmt: skip
    cloudwatch.set_alarm_state(AlarmName=f"{name}-cpu", StateValue="ALARM", StateReason="forced by the test")
    failed = PlanExecutor(actions, planned_and_quiet(actions)).apply(back, approved=True)
    assert failed.outcome is Outcome.ROLLED_BACK and f"{name}-cpu" in failed.reason
    assert actions.database(arn) == ("available", "db.r6g.large")
