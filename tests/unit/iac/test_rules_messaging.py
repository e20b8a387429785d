"""SQS and Kinesis price rules, against the peer's sqs_queue_test and kinesis_stream_test goldens and by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.unit.iac.support import estimate_of, golden_matches, misses, resource

TESTDATA = "iac_infracost/internal/providers/terraform/aws/testdata"


def test_sqs_matches_the_golden(shared_data: Path) -> None:
    queues = [resource(f"aws_sqs_queue.{name}", {"fifo_queue": fifo}) for name, fifo in (
        ("standard_sqs_queue", False), ("fifo_sqs_queue", True), ("standard_sqs_queue_withUsage", False),
        ("fifo_sqs_queue_withUsage", True))]  # fmt: skip
    found = estimate_of(queues, shared_data / TESTDATA / "sqs_queue_test/sqs_queue_test.usage.yml")
    assert not found.problems, found.problems
    matches = golden_matches(shared_data, "sqs_queue_test", found)
    assert len(matches) == 2
    assert all(m.within for m in matches), misses(matches)


def test_sqs_bills_each_64_kb_chunk_as_a_request() -> None:
    # 3M requests of 100 KB: two chunks each = 6M requests at $0.40 per million
    usage = {"resource_usage": {"aws_sqs_queue.q": {"monthly_requests": 3000000, "request_size_kb": 100}}}
    found = estimate_of([resource("aws_sqs_queue.q", {"fifo_queue": False})], usage)
    [requests] = found.resources[0].components
    assert (requests.monthly_quantity, requests.monthly_cost) == (Decimal("6.000000"), Decimal("2.40000000"))


def stream(name: str, mode: str, shards: int | None, region: str):  # noqa: ANN201
    attributes: dict[str, object] = {"name": name, "stream_mode_details": [{"stream_mode": mode}]}
    if shards is not None:
        attributes["shard_count"] = shards
    return resource(f"aws_kinesis_stream.{name}", attributes, region)


def test_kinesis_matches_the_golden(shared_data: Path) -> None:
    streams = [
        stream(f"{prefix}test_stream_{kind}", mode, shards, region)
        for prefix, region in (("", "us-east-1"), ("use2_", "us-east-2"))
        for kind, mode, shards in (("on_demand", "ON_DEMAND", None), ("on_demand_with_usage", "ON_DEMAND", None),
                                   ("provisioned", "PROVISIONED", 1), ("provisioned_with_usage", "PROVISIONED", 4))
    ]  # fmt: skip
    found = estimate_of(streams, shared_data / TESTDATA / "kinesis_stream_test/kinesis_stream_test.usage.yml")
    assert not found.problems, found.problems
    matches = golden_matches(shared_data, "kinesis_stream_test", found)
    assert len(matches) == 30  # the priced ones: 52 less 22 that depend on usage
    assert sum(m.within for m in matches) == len(matches), misses(matches)


def test_kinesis_prices_shards_or_the_stream_by_mode() -> None:
    found = estimate_of([stream("p", "PROVISIONED", 3, "us-east-1"), stream("o", "ON_DEMAND", None, "us-east-1")])
    provisioned, on_demand = ({c.name: c.monthly_cost for c in r.components} for r in found.resources)
    assert provisioned["PROVISIONED"] == Decimal("32.850")  # 3 shards x 730 h x $0.015
    assert "ON_DEMAND" not in provisioned and "Data ingested" not in provisioned
    assert on_demand["ON_DEMAND"] == Decimal("29.20")  # 730 h x $0.04
    assert on_demand["Data ingested"] is None
