"""Helpers for the ingest pipeline tests: small FOCUS exports written on the fly, and topic readers.

The export files are FOCUS 1.0 CSVs with the full column set (the same header as the FinOps
Foundation sample) so the real parsers in `services.ingest.sources` accept them.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.ingest.pipeline import Readers, default_readers

_FOCUS_HEADER = (
    "AvailabilityZone,BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,BillingPeriodEnd,"
    "BillingPeriodStart,ChargeCategory,ChargeClass,ChargeDescription,ChargeFrequency,ChargePeriodEnd,"
    "ChargePeriodStart,CommitmentDiscountCategory,CommitmentDiscountId,CommitmentDiscountName,"
    "CommitmentDiscountStatus,CommitmentDiscountType,ConsumedQuantity,ConsumedUnit,ContractedCost,"
    "ContractedUnitPrice,EffectiveCost,InvoiceIssuerName,ListCost,ListUnitPrice,PricingCategory,"
    "PricingQuantity,PricingUnit,ProviderName,PublisherName,RegionId,RegionName,ResourceId,ResourceName,"
    "ResourceType,ServiceCategory,Id,ServiceName,SkuId,SkuPriceId,SubAccountId,SubAccountName,Tags"
)
FOCUS_COLUMNS = tuple(_FOCUS_HEADER.split(","))
SENTINEL_PREFIX = b'{"__sentinel__": '
START = datetime(2024, 9, 1, tzinfo=UTC)


def focus_row(i: int, cost: str | None = None, account: str = "111122223333", tag: str = "") -> dict[str, str]:
    """One hourly FOCUS line; `cost` overrides BilledCost (e.g. "oops" to make a bad row).

    `tag` makes the line's FOCUS `Id` unique across files (ids are unique across a whole export).
    """
    start = START + timedelta(hours=i)
    amount = cost if cost is not None else f"{Decimal(i + 1) / 100:.2f}"
    row = {column: "" for column in FOCUS_COLUMNS}
    row.update(
        BilledCost=amount,
        EffectiveCost=amount,
        ListCost=amount,
        ContractedCost=amount,
        BillingAccountId=account,
        BillingAccountName="Test",
        BillingCurrency="USD",
        BillingPeriodStart="2024-09-01 00:00:00",
        BillingPeriodEnd="2024-10-01 00:00:00",
        ChargeCategory="Usage",
        ChargeFrequency="Usage-Based",
        ChargeDescription="test usage",
        ChargePeriodStart=start.strftime("%Y-%m-%d %H:%M:%S"),
        ChargePeriodEnd=(start + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
        ConsumedQuantity="1",
        ConsumedUnit="Hrs",
        InvoiceIssuerName="Amazon Web Services, Inc.",
        PricingCategory="Standard",
        PricingQuantity="1",
        PricingUnit="Hrs",
        ProviderName="AWS",
        PublisherName="Amazon Web Services, Inc.",
        RegionId="us-east-1",
        RegionName="US East (N. Virginia)",
        ResourceId=f"i-{i:08x}",
        ServiceCategory="Compute",
        Id=f"{tag}{i}",
        ServiceName=["Amazon Elastic Compute Cloud", "Amazon Simple Storage Service"][i % 2],
        SkuId="SKU",
        SkuPriceId="SKU.PRICE",
        SubAccountId=account,
        SubAccountName="Test",
    )
    return row


def write_csv(path: Path, rows: Sequence[dict[str, str]], columns: Sequence[str] = FOCUS_COLUMNS) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    data = buffer.getvalue().encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def focus_export(path: Path, n: int, bad: Sequence[int] = ()) -> Path:
    """A FOCUS CSV of `n` rows; rows whose index is in `bad` carry an unparseable BilledCost."""
    tag = path.name.split(".")[0] + "-"
    return write_csv(path, [focus_row(i, cost="oops" if i in bad else None, tag=tag) for i in range(n)])


def expected_cost(n: int, bad: Sequence[int] = ()) -> Decimal:
    return sum((Decimal(i + 1) / 100 for i in range(n) if i not in bad), Decimal(0))


def test_readers() -> Readers:
    """The real sources package (tabular + detect); one place to swap it should a test need to."""
    return default_readers()


test_readers.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test


# --- reading topics ------------------------------------------------------------------------------


async def read_topic(bootstrap: str, topic: str, wait_s: float = 30.0) -> list[dict[str, Any]]:
    """Every message on `topic`, exactly: no fewer (we wait) and no more (we know where the end is).

    A sentinel is appended to each partition first; once every partition's sentinel has been read,
    everything produced before it has been read too (per-partition order), with no sleeping and no
    reliance on the broker's "latest" offsets.
    """
    # A fresh sentinel per call: earlier calls' sentinels are still on the topic and must not count.
    sentinel = SENTINEL_PREFIX + json.dumps(uuid.uuid4().hex).encode() + b"}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(topic))
        await asyncio.gather(*[await producer.send(topic, sentinel, partition=p) for p in partitions])
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        messages: list[dict[str, Any]] = []
        seen: set[int] = set()
        deadline = asyncio.get_running_loop().time() + wait_s
        while len(seen) < len(partitions):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{topic}: sentinels on {sorted(seen)} of {partitions} after {wait_s}s")
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for tp, records in batches.items():
                for record in records:
                    if record.value == sentinel:
                        seen.add(tp.partition)
                    elif record.value is not None and not record.value.startswith(SENTINEL_PREFIX):
                        messages.append(json.loads(record.value))
        return messages
    finally:
        await consumer.stop()
