"""iter_table: CSV (plain, gzip, file objects), parquet batches, NULL cells, column projection."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from services.ingest.sources.tabular import iter_table, malformed_reason

CSV_TEXT = 'a,b,c\n1,NULL,"x, y"\n2,,"multi\nline"\n'


def test_csv_rows_with_null_word_as_none(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    columns, rows = iter_table(path)
    assert columns == ["a", "b", "c"]
    assert list(rows) == [{"a": "1", "b": None, "c": "x, y"}, {"a": "2", "b": "", "c": "multi\nline"}]


def test_gzip_csv_by_suffix_and_by_sniffing(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(CSV_TEXT.encode()))
    assert len(list(iter_table(path)[1])) == 2
    assert len(list(iter_table(path, "csv.gz")[1])) == 2
    assert len(list(iter_table(io.BytesIO(path.read_bytes()))[1])) == 2  # no name: magic bytes


def test_csv_with_bom_from_a_file_object() -> None:
    columns, rows = iter_table(io.BytesIO(b"\xef\xbb\xbfa,b\n1,2\n"), "csv")
    assert columns == ["a", "b"]
    assert list(rows) == [{"a": "1", "b": "2"}]


def test_parquet_batches_and_projection(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    count = 10_000
    start = datetime(2024, 1, 1, tzinfo=UTC)
    pq.write_table(
        pa.table(
            {
                "n": pa.array(range(count), pa.int64()),
                "cost": pa.array([i / 8 for i in range(count)], pa.float64()),
                "at": pa.array([start] * count, pa.timestamp("ms", tz="UTC")),
                "tags": pa.array([[("k", str(i))] for i in range(count)], pa.map_(pa.string(), pa.string())),
            }
        ),
        path,
        row_group_size=3_000,
    )
    columns, rows = iter_table(path, batch_size=1_000)
    assert columns == ["n", "cost", "at", "tags"]
    all_rows = list(rows)
    assert len(all_rows) == count
    assert all_rows[9_999]["n"] == 9_999
    assert all_rows[3]["tags"] == [("k", "3")]
    assert all_rows[0]["at"] == start

    columns, rows = iter_table(path, columns=["cost"])
    assert columns == ["n", "cost", "at", "tags"]  # the header still lists every column
    first = next(rows)
    assert first == {"cost": 0.0}
    assert rows.project(["n"]) is False  # too late: reading has started
    rows.close()


def test_unknown_kind_and_unreadable_parquet(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown table kind"):
        iter_table(tmp_path / "x.csv", "xlsx")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(ValueError, match="unreadable parquet"):
        iter_table(broken)


def test_csv_row_with_wrong_cell_count_is_flagged_not_shifted() -> None:
    source = io.BytesIO(b"a,b,c\n1,2,3\n1,2\n1,2,3,4\n4,5,6\n")
    _, rows = iter_table(source, "csv")
    read = list(rows)
    assert [malformed_reason(r) for r in read] == [
        None,
        "row has 2 cells; the header has 3",
        "row has 4 cells; the header has 3",
        None,
    ]
    assert read[0] == {"a": "1", "b": "2", "c": "3"} and read[3] == {"a": "4", "b": "5", "c": "6"}
    assert read[2] == {"a": "1", "b": "2", "c": "3", "#4": "4"}  # every cell kept for the dead letter


def test_csv_projection_flags_a_short_row_instead_of_failing() -> None:
    _, rows = iter_table(io.BytesIO(b"a,b,c\n1,2\n7,8,9\n"), "csv", columns=["c"])
    read = list(rows)
    assert malformed_reason(read[0]) == "row has 2 cells; the header has 3"
    assert read[1] == {"c": "9"}
