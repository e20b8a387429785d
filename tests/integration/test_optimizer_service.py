"""The optimizer service end to end: moto (EC2, CloudWatch) → scan → plans in PostgreSQL and on `outlay.plans.v1`
→ the gateway lists them → a person approves or rejects over REST → `outlay.plan_decisions.v1` → the optimizer
applies (canary, checks, rollback) → each instance's real state read back through boto3, the audit trail and the
savings through the API, and plan updates over WebSocket. The tenant's policies in the store are read at each scan:
violations on `outlay.policy_violations.v1`, and the resize kept to the allowed instance families."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import httpx
import pytest

from outlay.events.topics import POLICY_VIOLATIONS
from outlay.events.utilization import UtilizationSample
from outlay.kafka.embedded_broker import free_port
from outlay.kafka.producer import EventProducer
from outlay.policies import AllowedInstanceFamilies, PolicyIn, RequiredTags
from outlay.settings import Settings
from outlay.store.engine import make_engine
from outlay.store.policies import PolicyStore
from outlay.store.utilization import UtilizationStore
from services.gateway.app import create_app
from services.gateway.main import serving
from services.optimizer.main import run as run_optimizer
from tests.integration.gateway_fixtures import client, receive_until
from tests.integration.ingest_support import read_topic

pytestmark = pytest.mark.e2e
REGION = "ap-southeast-2"  # no other test launches instances here: the scan sees only this test's fleet
DAYS = 14
WITHIN = 180.0  # an upper bound for a failure, not a wait: a loaded CI machine took over 90 s
FAMILIES = ["c6i", "m6i", "r6i"]


def _client(service: str, url: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url)  # type: ignore[call-overload]


def _put_cpu(cloudwatch: Any, instance_id: str, level: float, now: datetime) -> None:
    points = [
        {
            "MetricName": "CPUUtilization",
            "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
            "Timestamp": now - timedelta(minutes=5 * k + 2),
            "Value": level + (k % 7) * 0.1,
            "Unit": "Percent",
        }
        for k in range(DAYS * 288 - 10)
    ]
    for i in range(0, len(points), 1000):
        cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=points[i : i + 1000])


async def _until(http: httpx.AsyncClient, path: str, accept: Any, what: str) -> Any:
    """GET `path` until `accept(body)` is true; the body."""
    async with asyncio.timeout(WITHIN):
        while True:
            reply = await http.get(path)
            if reply.status_code == 200 and accept(reply.json()):
                return reply.json()
            await asyncio.sleep(0.1)


async def test_scan_approve_apply_reject_and_roll_back_through_the_api(
    aws_env: str, store_url: str, broker: str
) -> None:
    run = uuid.uuid4().hex[:8]
    ec2 = _client("ec2", aws_env)
    image = next(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"] if "Platform" not in i)

    def launch(env: str) -> str:
        tags = [{"ResourceType": "instance", "Tags": [{"Key": "suite", "Value": run}, {"Key": "env", "Value": env}]}]
        reply = ec2.run_instances(
            ImageId=image, InstanceType="m5.2xlarge", MinCount=1, MaxCount=1, TagSpecifications=tags
        )
        return str(reply["Instances"][0]["InstanceId"])

    idle_dev, idle_prod, oversized = launch("dev"), launch("prod"), launch("prod")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    cloudwatch = _client("cloudwatch", aws_env)
    for instance_id, level in ((idle_dev, 1.0), (idle_prod, 1.0), (oversized, 20.0)):
        _put_cpu(cloudwatch, instance_id, level, now)

    # The tenant's policies, read by the service at each scan: the instances lack `team` and are of a family the
    # policy does not list (violations on the topic), and the resize stays within the allowed families.
    engine = make_engine(store_url)
    try:
        policies = PolicyStore(engine)
        team = await policies.create(PolicyIn(name="team tag", rule=RequiredTags(keys=["team"])))
        await policies.create(PolicyIn(name="families", rule=AllowedInstanceFamilies(families=FAMILIES)))
    finally:
        await engine.dispose()

    settings = Settings(
        DATABASE_URL=store_url,
        KAFKA_BOOTSTRAP_SERVERS=broker,
        AWS_ENDPOINT_URL=aws_env,
        OUTLAY_OPTIMIZER_REGIONS=REGION,
        OUTLAY_OPTIMIZER_GROUP=f"optimizer-{run}",
    )
    app = create_app(settings)
    port = free_port()
    stop = asyncio.Event()
    async with (
        serving(app, port, within=WITHIN),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
        client(f"ws://127.0.0.1:{port}/v1/stream") as ws,
    ):
        await ws.send(json.dumps({"subscribe": "plans", "filters": {"region": REGION}}))
        await receive_until(ws, lambda m: m["type"] == "subscribed")
        optimizer = asyncio.create_task(run_optimizer(settings, stop))
        try:
            await _scenario(http, ws, ec2, cloudwatch, idle_dev, idle_prod, oversized)
            await _keeps_metering_samples(broker, store_url, now)
            violations = await read_topic(broker, POLICY_VIOLATIONS.name)
            instances = {f"ec2-instance:{i}" for i in (idle_dev, idle_prod, oversized)}
            found = {(v["subject"], v["policy_id"], v["detail"]) for v in violations if v["subject"] in instances}
            family = "instance type m5.2xlarge: family m5 is not allowed (allowed: c6i, m6i, r6i)"
            assert {(s, d) for s, _, d in found} == {(s, d) for s in instances for d in ("missing tags: team", family)}
            assert {p for _, p, d in found if d == "missing tags: team"} == {team.policy_id}
            assert all(v["evaluated_by"] == "optimizer" for v in violations)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(optimizer, WITHIN)


async def _keeps_metering_samples(broker: str, store_url: str, now: datetime) -> None:
    """Live metering's samples on `outlay.utilization.v1` are kept for the next scans."""
    now -= timedelta(minutes=now.minute % 5)  # ten minutes from a five-minute boundary: two rows
    samples = [
        UtilizationSample(
            record_id=f"metered-{m}",
            timestamp=now + timedelta(minutes=m),
            account_id="1",
            region=REGION,
            resource_type="ec2-instance",
            resource_id="i-metered",
            metric="CPUUtilization",
            value=float(m),
        )  # fmt: skip
        for m in range(10)
    ]
    async with EventProducer(broker) as producer:
        await producer.send_many(samples)
    engine = make_engine(store_url)
    try:
        store = UtilizationStore(engine)
        async with asyncio.timeout(WITHIN):
            while True:
                series = await store.series(REGION, now, now + timedelta(hours=1))
                if len(series.get(("i-metered", "CPUUtilization"), [])) == 2:
                    break
                await asyncio.sleep(0.1)
        assert [v for _, v in series[("i-metered", "CPUUtilization")]] == [2.0, 7.0]
    finally:
        await engine.dispose()


async def _scenario(
    http: httpx.AsyncClient, ws: Any, ec2: Any, cloudwatch: Any, idle_dev: str, idle_prod: str, oversized: str
) -> None:
    def state(instance_id: str) -> tuple[str, str]:
        found = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        return found["State"]["Name"], found["InstanceType"]

    body = await _until(http, "/v1/plans?status=proposed", lambda b: len(b["plans"]) == 3, "three proposed plans")
    by_resource = {c["resource_id"]: p for p in body["plans"] for c in p["changes"]}
    assert set(by_resource) == {idle_dev, idle_prod, oversized}
    resize, stop_dev, stop_prod = by_resource[oversized], by_resource[idle_dev], by_resource[idle_prod]
    assert resize["changes"][0]["kind"] == "rightsize" and resize["changes"][0]["current"] == "m5.2xlarge"
    assert resize["changes"][0]["proposed"].split(".")[0] in FAMILIES
    assert stop_dev["changes"][0]["kind"] == stop_prod["changes"][0]["kind"] == "stop_instance"
    assert all(p["requires_approval"] for p in body["plans"])  # auto-apply is off, and two are production
    assert any("production" in r for r in resize["approval_reasons"])
    proposed, _ = await receive_until(ws, lambda m: m["type"] == "plan" and m["plan"]["status"] == "proposed")
    assert proposed["plan"]["plan_id"] in {resize["plan_id"], stop_dev["plan_id"], stop_prod["plan_id"]}

    found = (await http.get("/v1/recommendations", params={"region": REGION})).json()
    assert {r["resource_id"] for r in found["recommendations"]} == {idle_dev, idle_prod, oversized}
    assert Decimal(found["total_monthly_saving"]) == sum(Decimal(p["monthly_saving"]) for p in body["plans"])

    # Approve the resize: it is applied, verified, and the instance really changed type.
    reply = await http.post(f"/v1/plans/{resize['plan_id']}/approve", json={"comment": "fine by the owners"})
    assert reply.status_code == 202 and reply.json()["decision"] == "approve"
    done = await _until(http, f"/v1/plans/{resize['plan_id']}", lambda b: b["status"] == "applied", "applied")
    assert done["decided_by"] == "local (no key configured) (key local)"
    assert state(oversized) == ("running", resize["changes"][0]["proposed"])
    audit = (await http.get(f"/v1/plans/{resize['plan_id']}/audit")).json()["entries"]
    events = [e["event"] for e in audit]
    assert events[:2] == ["proposed", "approve_requested"]
    assert {"approved", "applying", "step", "verified", "applied"} <= set(events)
    assert events.index("verified") > events.index("step") and events[-1] == "applied"
    assert audit[1]["detail"] == "fine by the owners"

    # Reject the production stop: nothing happens to the instance, and it cannot be decided again.
    assert (await http.post(f"/v1/plans/{stop_prod['plan_id']}/reject")).status_code == 202
    await _until(http, f"/v1/plans/{stop_prod['plan_id']}", lambda b: b["status"] == "rejected", "rejected")
    assert state(idle_prod) == ("running", "m5.2xlarge")
    again = await http.post(f"/v1/plans/{stop_prod['plan_id']}/approve")
    assert again.status_code == 409 and "rejected" in again.json()["detail"]

    # Approve the dev stop while a health alarm on it fires: the check fails and the stop is undone.
    cloudwatch.put_metric_alarm(
        AlarmName=f"{idle_dev}-health",
        MetricName="StatusCheckFailed",
        Namespace="AWS/EC2",
        Dimensions=[{"Name": "InstanceId", "Value": idle_dev}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=f"{idle_dev}-health", StateValue="ALARM", StateReason="forced by the test")
    assert (await http.post(f"/v1/plans/{stop_dev['plan_id']}/approve")).status_code == 202
    failed = await _until(
        http, f"/v1/plans/{stop_dev['plan_id']}", lambda b: b["status"] == "rolled_back", "rolled back"
    )
    assert "ALARM" in failed["reason"] and idle_dev in failed["reason"]
    assert state(idle_dev) == ("running", "m5.2xlarge")
    rolled, _ = await receive_until(
        ws, lambda m: m["type"] == "plan" and m["plan"]["plan_id"] == stop_dev["plan_id"]
        and m["plan"]["status"] == "rolled_back"
    )  # fmt: skip
    assert rolled["plan"]["reason"] == failed["reason"]

    savings = (await http.get("/v1/savings")).json()
    assert Decimal(savings["achieved_monthly"]) == Decimal(resize["monthly_saving"])
    assert savings["applied_plans"] == 1 and savings["available_plans"] == 0
    bad = await http.get("/v1/plans", params={"status": "bogus", "limit": "0", "cursor": "!"})
    assert bad.status_code == 422 and sorted(e["field"] for e in bad.json()["errors"]) == ["cursor", "limit", "status"]
    assert (await http.post("/v1/plans/nope/approve")).status_code == 404
