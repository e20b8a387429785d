"""Exports in S3 (moto): listing a prefix, downloading to disk, and ingesting into the real broker."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.events.topics import INGEST_DLQ, USAGE
from outlay.kafka.producer import EventProducer
from services.ingest.checkpoints import DONE, CheckpointStore
from services.ingest.locations import NoExportFiles, opened, resolve, s3_client, s3_files
from services.ingest.pipeline import ingest
from services.ingest.report import FileStatus
from tests.integration.ingest_support import expected_cost, focus_export, read_topic, test_readers


@pytest.fixture
def bucket(aws_env: str) -> str:
    name = f"cur-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3(aws_env: str) -> Any:
    return boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")


def upload(s3: Any, bucket: str, key: str, path: Path) -> None:
    s3.upload_file(str(path), bucket, key)


async def test_prefix_listing_skips_side_objects_and_paginates(tmp_path: Path, s3: Any, bucket: str) -> None:
    export = focus_export(tmp_path / "e.csv", 3)
    keys = [f"exports/cur/data/year=2024/month=0{m}/part-0.csv" for m in range(1, 6)]
    for key in keys:
        upload(s3, bucket, key, export)
    for side in (
        "exports/cur/cur-Manifest.json",
        "exports/cur/20240101-20240201/cur-create-table.sql",
        "exports/cur/cost_and_usage_data_status/cost_and_usage_data_status.parquet",
        "exports/cur-old/data/part-0.csv",  # a sibling prefix: `exports/cur` must not match it
    ):
        upload(s3, bucket, side, export)

    files = await resolve(f"s3://{bucket}/exports/cur")
    assert [f.uri for f in files] == [f"s3://{bucket}/{k}" for k in keys]
    assert all(f.is_s3 and f.kind == "csv" and f.size == export.stat().st_size for f in files)
    assert all(f.fingerprint.startswith("etag=") and '"' not in f.fingerprint for f in files)

    paged = s3_files(f"s3://{bucket}/exports/cur/", s3_client(), page_size=2)  # 3+ pages
    assert [f.uri for f in paged] == [f.uri for f in files]

    (single,) = await resolve(f"s3://{bucket}/{keys[0]}")
    assert single.uri == f"s3://{bucket}/{keys[0]}"
    with pytest.raises(NoExportFiles):
        await resolve(f"s3://{bucket}/nothing-here/")


async def test_opened_streams_the_object_to_a_temp_file(tmp_path: Path, s3: Any, bucket: str) -> None:
    export = focus_export(tmp_path / "e.csv.gz", 50)
    upload(s3, bucket, "x/e.csv.gz", export)
    (file,) = await resolve(f"s3://{bucket}/x/")
    async with opened(file) as local:
        assert local.name.endswith(".csv.gz") and local != export
        assert local.read_bytes() == export.read_bytes()
    assert not local.exists()  # removed once read


async def test_ingest_s3_prefix_into_kafka(
    tmp_path: Path, s3: Any, bucket: str, broker: str, engine: AsyncEngine
) -> None:
    upload(s3, bucket, "cur/2024-09/a.csv", focus_export(tmp_path / "a.csv", 25, bad=(0,)))
    upload(s3, bucket, "cur/2024-09/b.csv.gz", focus_export(tmp_path / "b.csv.gz", 15))
    upload(s3, bucket, "cur/2024-09/manifest.json", tmp_path / "a.csv")
    location = f"s3://{bucket}/cur/"

    async with EventProducer(broker, linger_ms=5) as producer:
        report = await ingest(location, producer, engine, readers=test_readers(), chunk_size=8)
        assert [f.status for f in report.files] == [FileStatus.PROCESSED, FileStatus.PROCESSED]
        assert (report.totals.accepted, report.totals.rejected) == (39, 1)
        assert report.totals.cost == {"USD": expected_cost(25, bad=(0,)) + expected_cost(15)}

        usage = await read_topic(broker, USAGE.name)
        assert len(usage) == 39 and len({m["record_id"] for m in usage}) == 39
        dead = await read_topic(broker, INGEST_DLQ.name)
        assert [(m["file"], m["row"]) for m in dead] == [(f"s3://{bucket}/cur/2024-09/a.csv", 1)]
        checkpoint = await CheckpointStore(engine).get(f"s3://{bucket}/cur/2024-09/b.csv.gz")
        assert checkpoint is not None and checkpoint.status == DONE

        again = await ingest(location, producer, engine, readers=test_readers())
        assert [f.status for f in again.files] == [FileStatus.SKIPPED, FileStatus.SKIPPED]

        # The provider rewrites b with new content: new ETag, so b (only b) is sent again.
        upload(s3, bucket, "cur/2024-09/b.csv.gz", focus_export(tmp_path / "b.csv.gz", 16))
        changed = await ingest(location, producer, engine, readers=test_readers())
        assert [f.status for f in changed.files] == [FileStatus.SKIPPED, FileStatus.PROCESSED]
        assert changed.totals.accepted == 16
        assert len(await read_topic(broker, USAGE.name)) == 39 + 16
