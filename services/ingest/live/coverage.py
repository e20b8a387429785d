"""Which generator time is emitted as minute records and which as history buckets, kept across restarts.

The generator emits history as hourly records and live data as minute records, with different record ids.
The ledger dedupes on record id only, so if one run streamed 10:00-12:45 as minutes and the next run
backfilled those hours as hourly records, the cost would be counted twice. To prevent that, the choice of
granularity must be a function of persisted state, and that state may only change for time that was never
emitted at all.

`Coverage` is that state: a few disjoint *minute spans*, aligned to the history grid (an hour by default).
Time inside a span is always emitted as minute records; any other time is always emitted as history
buckets. Rules that keep every (series, minute) counted exactly once across any sequence of runs:

- Hourly records are only ever emitted below the start of the span a run opens or extends, so every hour
  at or after the end of the last span is virgin (nothing emitted there yet).
- Spans only grow into virgin time: the last span is extended (write-ahead, persisted *before* any minute
  record goes out) a whole bucket at a time, or a new span is opened after a long outage.
- `done` is a lower bound of what was emitted: all span time before it went out. It is persisted after
  sending, so a crash only makes the next run re-send records it already sent (same ids, deduplicated).

On a restart at time T:
- outage up to `max_gap` (2 days by default): the last span is extended to cover T and the missed minutes
  [done, T) are caught up as minute records (bounded: at most ~max_gap of minutes);
- longer outage: the last span stays as it is (its unsent tail is caught up), the hours between it and T's
  hour become history (emitted hourly by the backfill, as far back as `backfill_days` reaches; older
  outage time is left empty, exactly as a first start leaves time before its backfill window empty), and a
  new span starts at T's hour.
A clock that went backwards (or a sped-up demo clock restarted at real time) can land on time that is
history under this state: those minutes are skipped, the hour record stands for them.

Pure except `load` and `save` at the bottom (one small JSON file, replaced atomically).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from outlay.tenancy import DEFAULT_TENANT, checked_tenant
from services.ingest.live.generator import EPOCH

DEFAULT_MAX_GAP = timedelta(days=2)
_VERSION = 1

Span = tuple[datetime, datetime]


def floor_to(when: datetime, step_minutes: int) -> datetime:
    """`when` rounded down to the UTC grid of `step_minutes` (the grid `generate` aligns buckets to)."""
    minutes = int((when - EPOCH).total_seconds() // 60)
    return EPOCH + timedelta(minutes=minutes - minutes % step_minutes)


@dataclass(frozen=True)
class Coverage:
    spans: tuple[Span, ...]  # sorted, disjoint, aligned to the history grid
    done: datetime  # every span minute before this has been emitted

    @property
    def end(self) -> datetime:
        return self.spans[-1][1]

    def is_minute(self, minute: datetime) -> bool:
        return any(a <= minute < b for a, b in self.spans)

    def minute_windows(self, start: datetime, end: datetime) -> list[Span]:
        """The parts of [start, end) emitted as minute records."""
        out = []
        for a, b in self.spans:
            lo, hi = max(a, start), min(b, end)
            if lo < hi:
                out.append((lo, hi))
        return out

    def history_windows(self, start: datetime, end: datetime) -> list[Span]:
        """The parts of [start, end) emitted as history buckets (start and end on the history grid)."""
        out = []
        cursor = start
        for a, b in self.spans:
            if a > cursor and cursor < end:
                out.append((cursor, min(a, end)))
            cursor = max(cursor, b)
        if cursor < end:
            out.append((cursor, end))
        return out

    def cover(self, minute: datetime, step_minutes: int) -> Coverage:
        """The state that lets `minute` be emitted as a minute record: the last span extended to the end of
        `minute`'s bucket if `minute` is past it (virgin time). Unchanged if `minute` is already in a span
        or is history (then it must not be emitted as a minute: see `is_minute`)."""
        if minute < self.end:
            return self
        a, _ = self.spans[-1]
        return replace(
            self, spans=(*self.spans[:-1], (a, floor_to(minute, step_minutes) + timedelta(minutes=step_minutes)))
        )

    def emitted(self, start: datetime, end: datetime) -> Coverage:
        """After the minute records of [start, end) went out: `done` moves to `end` only if nothing between
        `done` and `start` is still unsent span time (history between spans has no minutes to send), so it
        stays a lower bound."""
        if end <= self.done or self.minute_windows(self.done, start):
            return self
        return replace(self, done=end)


def at_start(
    previous: Coverage | None, now_minute: datetime, step_minutes: int, max_gap: timedelta = DEFAULT_MAX_GAP
) -> Coverage:
    """The state a run starting at `now_minute` works with (see the module docstring for the rules)."""
    bucket = floor_to(now_minute, step_minutes)
    step = timedelta(minutes=step_minutes)
    if previous is None:
        return Coverage(spans=((bucket, bucket + step),), done=bucket)
    if bucket - previous.end > max_gap:
        return replace(previous, spans=(*previous.spans, (bucket, bucket + step)))
    return previous.cover(now_minute, step_minutes)


class Window(NamedTuple):
    start: datetime
    end: datetime
    minutes: int  # record length: the history step, or 1 for minute records
    catch_up: bool  # minute records of a span: once sent, `done` moves to `end`


def backfill_windows(
    cov: Coverage, now_minute: datetime, days: int, step_minutes: int, live_minutes: int = 1
) -> list[Window]:
    """What a run sends before going live, in order: history buckets for the last `days` outside the spans
    (the same records on every restart, so deduplicated), then span minutes from `done` up to now, a bucket
    at a time so that progress can be persisted as it goes."""
    step = timedelta(minutes=step_minutes)
    boundary = floor_to(now_minute, step_minutes)
    out = []
    if days > 0:
        for a, b in cov.history_windows(boundary - timedelta(days=days), boundary):
            out.append(Window(a, b, step_minutes, catch_up=False))
    for a, b in cov.minute_windows(cov.done, now_minute):
        while a < b:
            out.append(Window(a, min(a + step, b), live_minutes, catch_up=True))
            a += step
    return out


# --- persistence ----------------------------------------------------------------------------------


def state_file(state_dir: Path, seed: int, tenant_id: str = DEFAULT_TENANT) -> Path:
    """One file per profile seed and tenant: the seed is part of every record id, so with the tenant it names the
    id space (the default tenant's file keeps its name from before tenants)."""
    if tenant_id == DEFAULT_TENANT:
        return state_dir / f"generator-{seed}.anchor"
    return state_dir / f"generator-{checked_tenant(tenant_id)}-{seed}.anchor"


def dumps(coverage: Coverage) -> str:
    return json.dumps(
        {
            "version": _VERSION,
            "spans": [[a.isoformat(), b.isoformat()] for a, b in coverage.spans],
            "done": coverage.done.isoformat(),
        }
    )


def loads(text: str) -> Coverage:
    data = json.loads(text)
    if data.get("version") != _VERSION:
        raise ValueError(f"unsupported generator state version {data.get('version')!r}")
    spans = tuple((datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in data["spans"])
    if not spans or any(a.tzinfo is None or a >= b for a, b in spans):
        raise ValueError("generator state has no valid minute spans")
    if any(spans[i][1] > spans[i + 1][0] for i in range(len(spans) - 1)):
        raise ValueError("generator state spans overlap or are out of order")
    return Coverage(spans=spans, done=datetime.fromisoformat(data["done"]))


def load(path: Path) -> Coverage | None:
    """The persisted state, None if there is none yet. A corrupt file is an error, not a fresh start:
    starting afresh would re-emit streamed hours as hourly records (the double count this file prevents)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return loads(text)


class CoverageFile:
    """Where a run keeps its state: a file in the state directory, or (no directory) memory only, which
    behaves like a first start on every run."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._saved: Coverage | None = None

    def load(self) -> Coverage | None:
        self._saved = load(self.path) if self.path else None
        return self._saved

    def put(self, coverage: Coverage) -> Coverage:
        if coverage != self._saved:
            if self.path:
                save(self.path, coverage)
            self._saved = coverage
        return coverage


def save(path: Path, coverage: Coverage) -> None:
    """Replace the file atomically, so a crash leaves the old state or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(coverage))
    os.replace(tmp, path)
