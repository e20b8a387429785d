"""Which export format a table is, from its header alone, and the parser for it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from outlay.tenancy import DEFAULT_TENANT
from services.ingest.sources.base import ExportParser, NotACostExport, ParsedRow
from services.ingest.sources.columns import (
    CUR2_MARKERS,
    CUR_REQUIRED,
    FOCUS_REQUIRED,
    canonical_cur_columns,
)
from services.ingest.sources.cur2 import Cur2Parser
from services.ingest.sources.cur_legacy import CurParser
from services.ingest.sources.focus import FocusParser
from services.ingest.sources.tabular import iter_table


def detect_format(columns: Sequence[str]) -> str:
    """ "focus" | "cur" (legacy, slash or snake headers) | "cur2"; raises NotACostExport otherwise.

    The error names the required columns missing for the closest format (the one missing the
    smallest share of its required columns), in that format's own spelling.
    """
    present = {c.strip() for c in columns}
    focus_missing = [c for c in FOCUS_REQUIRED if c not in present]
    if not focus_missing:
        return "focus"
    canonical = canonical_cur_columns(present)
    cur_missing = [name for name in CUR_REQUIRED if name not in canonical]
    slash_style = any("/" in c for c in present)
    if not cur_missing:
        if not slash_style and CUR2_MARKERS & canonical.keys():
            return "cur2"
        return "cur"
    if slash_style:
        cur_missing = [CUR_REQUIRED[name] for name in cur_missing]
    candidates = [
        (len(focus_missing) / len(FOCUS_REQUIRED), "FOCUS", focus_missing),
        (len(cur_missing) / len(CUR_REQUIRED), "AWS CUR", cur_missing),
    ]
    _, closest, missing = min(candidates, key=lambda c: c[0])
    raise NotACostExport(f"not a cost export: closest format is {closest}, missing columns: {', '.join(missing)}")


def parser_for(columns: Sequence[str]) -> ExportParser:
    """The parser for a table with these columns (raises NotACostExport, see `detect_format`)."""
    fmt = detect_format(columns)
    if fmt == "focus":
        return FocusParser(columns)
    if fmt == "cur2":
        return Cur2Parser(columns)
    return CurParser(columns)


def parse_export(
    source: Path | str | BinaryIO, uri: str | None = None, kind: str = "auto", tenant_id: str = DEFAULT_TENANT
) -> Iterator[ParsedRow]:
    """Open, detect and parse one export file for `tenant_id`: the one-call path (raises NotACostExport up
    front)."""
    columns, rows = iter_table(source, kind)
    try:
        parser = parser_for(columns)
    except NotACostExport:
        rows.close()
        raise
    return parser.parse(rows, uri if uri is not None else str(source), tenant_id)
