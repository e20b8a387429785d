"""Resolving local locations into export files: recursion, ordering, side files, fingerprints."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.ingest.locations import NoExportFiles, export_kind, is_export_path, opened, resolve


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_export_kinds_and_side_files() -> None:
    assert export_kind("a.CSV") == "csv"
    assert export_kind("part-0.csv.gz") == "csv.gz"
    assert export_kind("Oct2018-WorkshopCUR-00001.snappy.parquet") == "parquet"
    assert export_kind("cur-Manifest.json") is None
    assert not is_export_path(("20221101-20221201", "cur-create-table.sql"))
    assert not is_export_path(("cost_and_usage_data_status", "cost_and_usage_data_status.parquet"))
    assert not is_export_path((".cache", "a.csv"))
    assert not is_export_path(("_SUCCESS.csv",))
    assert is_export_path(("data", "year=2018", "month=10", "x.snappy.parquet"))


async def test_directory_is_searched_recursively_in_sorted_order(tmp_path: Path) -> None:
    root = tmp_path / "cur"
    wanted = [
        touch(root / "data" / "year=2018" / "month=10" / "Oct.snappy.parquet"),
        touch(root / "data" / "year=2018" / "month=11" / "Nov.csv.gz"),
        touch(root / "data" / "z.csv"),
    ]
    touch(root / "20221101-20221201" / "cur-create-table.sql")
    touch(root / "cost_and_usage_data_status" / "cost_and_usage_data_status.parquet")
    touch(root / "data" / "cur-Manifest.json")
    touch(root / "crawler-cfn.yml")

    files = await resolve(str(root))
    assert [f.uri for f in files] == [str(p) for p in wanted]
    assert [f.kind for f in files] == ["parquet", "csv.gz", "csv"]
    assert all(not f.is_s3 for f in files)


async def test_fingerprint_follows_size_and_mtime(tmp_path: Path) -> None:
    path = touch(tmp_path / "a.csv", "h\n1\n")
    (before,) = await resolve(str(path))
    assert (await resolve(str(path)))[0].fingerprint == before.fingerprint
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    (touched,) = await resolve(str(path))
    assert touched.fingerprint != before.fingerprint
    path.write_text("h\n1\n2\n")
    (grown,) = await resolve(str(path))
    assert grown.size == 6 and grown.fingerprint not in (before.fingerprint, touched.fingerprint)


async def test_single_file_and_missing_paths(tmp_path: Path) -> None:
    notes = touch(tmp_path / "notes.txt")
    (explicit,) = await resolve(str(notes))
    assert explicit.kind == ""  # named explicitly: kept, so the pipeline can say why it refuses it
    async with opened(explicit) as local:
        assert local == notes
    with pytest.raises(NoExportFiles):
        await resolve(str(tmp_path / "nope"))
    with pytest.raises(NoExportFiles):
        await resolve(str(touch(tmp_path / "empty" / "only.json").parent))


async def test_workshop_cur_folder_yields_only_its_data_files(shared_data: Path) -> None:
    root = shared_data / "cur_samples" / "wa_labs_workshop_cur" / "cur"
    files = await resolve(str(root))
    # The Athena DDL (.sql), the CloudFormation crawler and the status parquet are not cost data.
    assert [Path(f.uri).name for f in files] == [
        "Oct2018-WorkshopCUR-00001.snappy.parquet",
        "Nov2018-WorkshopCUR-00001.snappy.parquet",
        "Dec2018-WorkshopCUR-00001.snappy.parquet",
    ]
    assert [f.size for f in files] == [1486391, 1565532, 1118918]  # byte sizes from SOURCE.txt


async def test_relative_paths_resolve_to_absolute_uris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = touch(tmp_path / "sub" / "a.csv")
    monkeypatch.chdir(tmp_path)
    (file,) = await resolve("sub")
    assert file.uri == str(path)  # the checkpoint key does not depend on the working directory
