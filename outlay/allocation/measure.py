"""How much of the public samples' cost is allocated, before and after the example rules (`make bench-nlq` prints
`allocated_share_before` / `allocated_share_after` from `allocated_shares`).

"Before" is what the raw data gives on its own: the cost of lines that carry the sample's ownership tag under its
exact key with a non-empty value (what `group_by=tag:<key>` shows). "After" is the share allocated on `team` by
`examples/allocation-rules.yaml`, shared parts included. Both are shares of gross cost (each line's amount regardless
of sign, so a credit is cost to account for like any other), per file, over calendar-month buckets. The samples are parsed in process with the ingest parsers, no
broker or store involved.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import yaml

from outlay.allocation.engine import Allocator, CostLine, LineKey, line_key_of
from outlay.allocation.periods import ReportGrain
from outlay.allocation.report import Totals, build_report
from outlay.allocation.rules import AllocationRules
from outlay.events import UsageRecord
from outlay.money import to_nanos
from outlay.spread import spread, to_naive_utc

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_RULES = ROOT / "examples" / "allocation-rules.yaml"
DIMENSION = "team"


@dataclass(frozen=True)
class Sample:
    name: str
    files: tuple[str, ...]  # relative to the shared data directory
    ownership_tag: str | None  # the raw tag key that names an owner, None when the sample has no tags


SAMPLES = (
    Sample(
        "workshop_cur",
        tuple(
            f"cur_samples/wa_labs_workshop_cur/cur/data/year=2018/month={m}/{n}2018-WorkshopCUR-00001.snappy.parquet"
            for m, n in (("10", "Oct"), ("11", "Nov"), ("12", "Dec"))
        ),
        "department",
    ),
    Sample("focus_sample", ("focus_sample/focus_sample.csv",), "business_unit"),
    Sample(
        "focus_converters_cur",
        (
            "cur_samples/focus_converters/focus_converter_base/tests/provider_config_tests/aws/"
            "sample-anonymous-aws-export-dataset.csv",
        ),
        None,
    ),
)


@dataclass(frozen=True)
class SampleShares:
    name: str
    total_nanos: int
    before: float
    after: float
    after_totals: Totals


def shared_data_dir() -> Path:
    """../shared/data next to the checkout, or OUTLAY_SHARED_DATA (as the tests find it)."""
    return Path(os.environ.get("OUTLAY_SHARED_DATA", ROOT.parent / "shared" / "data"))


def example_rules(path: Path = EXAMPLE_RULES) -> AllocationRules:
    return AllocationRules.model_validate(yaml.safe_load(path.read_text()))


def sample_records(data: Path, sample: Sample) -> Iterator[UsageRecord]:
    # Imported here: the ingest parsers are an adapter; the rest of this package needs none of them.
    from services.ingest.sources.detect import parse_export

    for relative in sample.files:
        for parsed in parse_export(data / relative):
            if isinstance(parsed, UsageRecord):  # rejected rows are not cost
                yield parsed


def month_lines(records: Iterable[UsageRecord]) -> list[CostLine]:
    """Billed cost per (month, line key), spread like the ledger spreads it."""
    sums: dict[tuple[datetime, LineKey], int] = {}
    keys: dict[LineKey, LineKey] = {}  # one instance per distinct key: later hashing and memo lookups reuse it
    for rec in records:
        key = line_key_of(rec)
        key = keys.setdefault(key, key)
        start, end = to_naive_utc(rec.charge_period_start), to_naive_utc(rec.charge_period_end)
        for day, share in spread(to_nanos(rec.billed_cost), start, end, ReportGrain.MONTH.source):
            at = (ReportGrain.MONTH.bucket(day), key)
            sums[at] = sums.get(at, 0) + share
    return [CostLine(bucket, key, nanos) for (bucket, key), nanos in sums.items()]


def raw_tag_share(lines: Iterable[CostLine], raw_tag: str | None) -> float:
    """The share of gross cost on lines carrying `raw_tag` (exact key) with a non-blank value."""
    gross = tagged = 0
    for line in lines:
        gross += abs(line.nanos)
        if raw_tag is not None and dict(line.key.tags).get(raw_tag, "").strip():
            tagged += abs(line.nanos)
    return tagged / gross if gross else 0.0


def measure_sample(data: Path, sample: Sample, rules: AllocationRules) -> SampleShares:
    lines = month_lines(sample_records(data, sample))
    total = sum(line.nanos for line in lines)
    first = min(line.period_start for line in lines)
    last = max(line.period_start for line in lines)
    report = build_report(lines, rules, 0, DIMENSION, first, last, ReportGrain.MONTH, "billed")
    (totals,) = report.totals  # every sample is one currency and one cost kind
    if totals.total != total:
        raise AssertionError(f"{sample.name}: allocation does not reconcile ({totals.total} != {total})")
    after = totals.allocated_share
    if after is None:
        raise AssertionError(f"{sample.name}: no cost")
    return SampleShares(sample.name, total, raw_tag_share(lines, sample.ownership_tag), after, totals)


@cache
def measure_all(data: Path | None = None) -> tuple[SampleShares, ...]:
    """Every sample's shares (cached: parsing WorkshopCUR takes ~15 s). Raises FileNotFoundError without data."""
    where = data or shared_data_dir()
    if not where.is_dir():
        raise FileNotFoundError(f"shared datasets not found at {where} (set OUTLAY_SHARED_DATA)")
    rules = example_rules()
    Allocator(rules)  # fail on a broken example before the slow parse
    return tuple(measure_sample(where, sample, rules) for sample in SAMPLES)


def allocated_shares(data: Path | None = None) -> tuple[float, float]:
    """(before, after): the mean over the samples of the share of cost allocated with the raw ownership tag only,
    and with the example rules. Each sample counts once, whatever its size (WorkshopCUR is 400 times the others)."""
    measured = measure_all(data)
    before = sum(s.before for s in measured) / len(measured)
    after = sum(s.after for s in measured) / len(measured)
    return round(before, 4), round(after, 4)


if __name__ == "__main__":  # python -m outlay.allocation.measure: the per-sample figures docs/allocation.md quotes
    for s in measure_all():
        print(f"{s.name:24} total {s.total_nanos / 1e9:12.2f}  before {s.before:.4f}  after {s.after:.4f}")
    print("mean", allocated_shares())
