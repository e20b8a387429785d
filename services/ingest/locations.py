"""Where exports live: turn a FILE_OR_S3_URL into the export files under it, and open them.

A location is a local file, a local directory (searched recursively) or an `s3://bucket/prefix/`.
Each file carries a fingerprint that changes when its content does (local: size + mtime_ns; S3:
ETag + size), which is what the ingest checkpoints compare against.

S3 objects are opened by streaming them to a temporary file: parquet readers need to seek, and a
multi-hundred-megabyte CUR must never be held in memory whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from outlay.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

# Suffix -> table kind, longest suffix first so `.csv.gz` wins over `.gz`.
EXPORT_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".csv.gz", "csv.gz"),
    (".parquet", "parquet"),
    (".csv", "csv"),
)
# CUR writes a status table next to the data ("is this month final?"); it is not cost data.
SKIPPED_DIRS = frozenset({"cost_and_usage_data_status"})


class NoExportFiles(FileNotFoundError):
    """The location exists (or was listable) but holds no export file, or does not exist at all."""


@dataclass(frozen=True)
class ExportFile:
    """One export file: `uri` names it in records and checkpoints; `kind` is csv | csv.gz | parquet."""

    uri: str
    fingerprint: str
    kind: str  # "" when an explicitly named file has no export suffix (the pipeline refuses it)
    size: int

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")


def export_kind(name: str) -> str | None:
    """The table kind of a file name, or None when it is not an export file (manifest, DDL, …)."""
    lower = name.lower()
    for suffix, kind in EXPORT_SUFFIXES:
        if lower.endswith(suffix):
            return kind
    return None


def is_export_path(parts: Iterable[str]) -> bool:
    """True for a path (as its segments) that names an export data file and not a side file."""
    segments = list(parts)
    if not segments:
        return False
    name = segments[-1]
    if any(seg.startswith(".") for seg in segments) or name.startswith("_"):
        return False  # hidden files, editor droppings, Spark/Hive `_SUCCESS` markers
    if any(seg in SKIPPED_DIRS for seg in segments[:-1]):
        return False
    return export_kind(name) is not None


def split_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix")."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an S3 URL: {url!r}")
    bucket, _, key = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"S3 URL has no bucket: {url!r}")
    return bucket, key


def s3_client(settings: Settings | None = None) -> S3Client:
    """A boto3 S3 client honouring the endpoint override (moto, LocalStack, MinIO)."""
    import boto3  # imported here: local-only ingests should not pay boto3's import time

    # A fresh Settings() rather than the cached one: the endpoint is read when the client is made.
    cfg = settings or Settings()
    return boto3.client("s3", endpoint_url=cfg.aws_endpoint_url, region_name=cfg.aws_region)


def local_files(path: Path) -> list[ExportFile]:
    """Export files at a local path: the file itself, or every export file under a directory."""
    if path.is_file():
        stat = path.stat()
        kind = export_kind(path.name) or ""
        return [ExportFile(str(path), local_fingerprint(stat), kind, stat.st_size)]
    if not path.is_dir():
        raise NoExportFiles(f"no such file or directory: {path}")
    found: list[ExportFile] = []
    for candidate in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = candidate.relative_to(path).parts
        if not is_export_path(relative):
            continue
        stat = candidate.stat()
        kind = export_kind(candidate.name) or ""
        found.append(ExportFile(str(candidate), local_fingerprint(stat), kind, stat.st_size))
    if not found:
        raise NoExportFiles(f"no export files (*.csv, *.csv.gz, *.parquet) under {path}")
    return found


def local_fingerprint(stat: os.stat_result) -> str:
    return f"size={stat.st_size};mtime_ns={stat.st_mtime_ns}"


def s3_fingerprint(etag: str, size: int) -> str:
    return f"etag={etag.strip(chr(34))};size={size}"


def s3_files(url: str, client: S3Client, page_size: int | None = None) -> list[ExportFile]:
    """Export objects at an S3 URL: the object itself, or every export object under the prefix."""
    bucket, key = split_s3_url(url)
    if key and not key.endswith("/"):
        # An exact object name wins; otherwise treat it as a folder, so `s3://b/exports` does not
        # also pick up `s3://b/exports-old/…`.
        from botocore.exceptions import ClientError

        with contextlib.suppress(ClientError):
            head = client.head_object(Bucket=bucket, Key=key)
            kind = export_kind(key) or ""
            size = int(head["ContentLength"])
            return [ExportFile(url, s3_fingerprint(head["ETag"], size), kind, size)]
        key += "/"
    found: list[ExportFile] = []
    paginator = client.get_paginator("list_objects_v2")
    pagination = {"PageSize": page_size} if page_size else {}
    for page in paginator.paginate(Bucket=bucket, Prefix=key, PaginationConfig=pagination):
        for obj in page.get("Contents", []):
            object_key = obj["Key"]
            if object_key.endswith("/"):
                continue  # a "folder" placeholder object
            relative = PurePosixPath(object_key[len(key) :]).parts
            if not is_export_path(relative):
                continue
            size = int(obj["Size"])
            found.append(
                ExportFile(
                    f"s3://{bucket}/{object_key}",
                    s3_fingerprint(obj["ETag"], size),
                    export_kind(object_key) or "",
                    size,
                )
            )
    if not found:
        raise NoExportFiles(f"no export objects (*.csv, *.csv.gz, *.parquet) under {url}")
    return sorted(found, key=lambda f: f.uri)


def resolve_sync(location: str, client: S3Client | None = None) -> list[ExportFile]:
    """Blocking form of `resolve`."""
    if location.startswith("s3://"):
        return s3_files(location, client or s3_client())
    # Absolute, so `./exports` and `/home/me/exports` share checkpoints.
    return local_files(Path(location).expanduser().absolute())


async def resolve(location: str, client: S3Client | None = None) -> list[ExportFile]:
    """The export files at FILE_OR_S3_URL, sorted; raises NoExportFiles when there are none."""
    return await asyncio.to_thread(resolve_sync, location, client)


@contextlib.asynccontextmanager
async def opened(export: ExportFile, client: S3Client | None = None) -> AsyncIterator[Path]:
    """A local path to read `export` from; S3 objects are downloaded to a temp file, removed after."""
    if not export.is_s3:
        yield Path(export.uri)
        return
    bucket, key = split_s3_url(export.uri)
    # Keep the original suffix so anything that sniffs the name (.csv.gz) still sees it.
    suffix = "." + export.kind if export.kind else ""
    fd, name = tempfile.mkstemp(prefix="outlay-s3-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as sink:
            # download_fileobj streams in parts straight to disk; nothing is buffered whole.
            await asyncio.to_thread((client or s3_client()).download_fileobj, bucket, key, sink)
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
