"""The metering loop through real boto3 (moto) and the real broker: AWS failures do not end it, and an
unpriced resource is dead-lettered once, not every minute."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from outlay.aws.inventory import AwsInventory
from outlay.aws.resources import MetricQuery, Resource
from outlay.events import DeadLetter, UsageRecord
from outlay.events.topics import INGEST_DLQ, USAGE
from outlay.kafka.producer import EventProducer
from services.ingest.live.runner import LiveStats, run_live

REGION = "us-east-1"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FlakyInventory:
    """The first `failures` passes go to an endpoint nobody listens on (a real EndpointConnectionError from
    botocore), the later ones to moto: an AWS outage that ends."""

    def __init__(self, down: AwsInventory, up: AwsInventory, failures: int) -> None:
        self._down, self._up, self._failures = down, up, failures
        self.calls = 0

    @property
    def regions(self) -> Sequence[str]:
        return self._up.regions

    def discover(self, region: str) -> list[Resource]:
        self.calls += 1
        return (self._down if self.calls <= self._failures else self._up).discover(region)

    def metric_values(
        self, region: str, queries: Sequence[MetricQuery], start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, float]]]:
        return self._up.metric_values(region, queries, start, end)


def _ec2(url: str) -> Any:
    return boto3.client("ec2", region_name=REGION, endpoint_url=url)


def _instance(url: str, windows: bool) -> str:
    ec2 = _ec2(url)
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    image = next(i["ImageId"] for i in images if ("Platform" in i) == windows)
    tags = [{"Key": "run", "Value": uuid.uuid4().hex[:8]}]
    return str(
        ec2.run_instances(
            ImageId=image, InstanceType="m5.large", MinCount=1, MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )["Instances"][0]["InstanceId"]
    )  # fmt: skip


async def _run_metering(broker: str, inventory: Any, minutes: int) -> LiveStats:
    """Metering on a simulated clock (a minute every 0.1 s) until `minutes` passes went by."""
    stop = asyncio.Event()
    stats = LiveStats()
    start = datetime.now(UTC).replace(second=59, microsecond=900000)
    async with EventProducer(broker) as producer:
        task = asyncio.create_task(
            run_live(producer, "metering", stop, clock=lambda: start, speedup=600.0, inventory=inventory,
                     metrics_lag_minutes=0, stats=stats)
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while stats.minutes < minutes:
            assert time.monotonic() < deadline and not task.done(), f"metering loop ended or stuck: {stats}"
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    return stats


async def _read(broker: str, topic: str, at_least: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False)
    await consumer.start()
    values: list[bytes] = []
    try:
        await consumer.topics()
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        deadline = time.monotonic() + 20
        while len(values) < at_least:
            assert time.monotonic() < deadline, f"only {len(values)} of {at_least} on {topic}"
            for messages in (await consumer.getmany(timeout_ms=200)).values():
                values.extend(m.value for m in messages if m.value)
    finally:
        await consumer.stop()
    return values


async def test_aws_errors_are_counted_and_the_loop_carries_on(
    aws_env: str, broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no botocore retries against the dead endpoint: fast test
    instance = _instance(aws_env, windows=False)
    try:
        down = AwsInventory([REGION], endpoint_url=f"http://127.0.0.1:{_closed_port()}")
        inventory = FlakyInventory(down, AwsInventory([REGION], endpoint_url=aws_env), failures=2)
        stats = await _run_metering(broker, inventory, minutes=4)
    finally:
        _ec2(aws_env).terminate_instances(InstanceIds=[instance])
    assert stats.errors == 2
    assert stats.records > 0
    usage = [UsageRecord.model_validate_json(v) for v in await _read(broker, USAGE.name, stats.records)]
    mine = [r for r in usage if r.resource_id == instance]
    assert len(mine) == stats.minutes - 2  # the failed minutes are lost, the later ones priced


async def test_an_unpriced_resource_is_dead_lettered_once(aws_env: str, broker: str) -> None:
    instance = _instance(aws_env, windows=True)
    try:
        stats = await _run_metering(broker, AwsInventory([REGION], endpoint_url=aws_env), minutes=4)
    finally:
        _ec2(aws_env).terminate_instances(InstanceIds=[instance])
    assert stats.errors == 0
    assert stats.unpriced >= stats.minutes >= 4  # counted every minute
    letters = [DeadLetter.model_validate_json(v) for v in await _read(broker, INGEST_DLQ.name, stats.dead_letters)]
    assert len(letters) == stats.dead_letters < stats.unpriced
    mine = [d for d in letters if d.file.endswith(f"/ec2/{instance}")]
    assert len(mine) == 1 and "Windows" in mine[0].reason
