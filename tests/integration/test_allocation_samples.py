"""Allocation on real tags: the public samples in ../shared/data (skipped with a message when absent), before and
after the documented example rules; and `outlay allocation` on a local store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outlay.allocation import UNALLOCATED, Allocator
from outlay.allocation.measure import SAMPLES, allocated_shares, example_rules, measure_all, month_lines, sample_records
from outlay.cli.main import app as cli
from outlay.settings import get_settings
from outlay.store.engine import make_engine
from tests.integration.gateway_fixtures import record, write_ledger

EXAMPLE = Path(__file__).parents[2] / "examples" / "allocation-rules.yaml"


def test_the_example_rules_allocate_most_of_each_sample(shared_data: Path) -> None:
    measured = {s.name: s for s in measure_all(shared_data)}
    assert set(measured) == {s.name for s in SAMPLES}
    for sample in measured.values():
        # measure_sample has already checked that owners + (unallocated) reconcile exactly with the file's total.
        assert sample.after > sample.before, sample.name
        assert sample.after >= 0.9, sample.name
        values = sample.after_totals.values
        assert UNALLOCATED in values  # what is left is shown, even when it is nothing
    workshop = measured["workshop_cur"]
    # WorkshopCUR's `department` tag covers under a tenth of its cost; the Glue endpoints, the production databases
    # and the RI fees carry most of the rest once rules name them.
    assert 0.05 < workshop.before < 0.15
    owners = workshop.after_totals.values
    assert {"analytics", "central-it", "sales"} <= set(owners)  # `CentralIT` became `central-it` through an alias
    assert "centralit" not in owners
    assert owners["central-it"].shared.get("commitments", 0) > 0  # RI fees followed EC2 usage
    assert measured["focus_converters_cur"].before == 0.0  # no tags at all: only the account map allocates it
    before, after = allocated_shares(shared_data)
    assert 0 < before < after <= 1


def test_messy_real_tag_keys_are_one_key(shared_data: Path) -> None:
    focus = next(s for s in SAMPLES if s.name == "focus_sample")
    lines = month_lines(sample_records(shared_data, focus))
    raw_keys = {k for line in lines for k, _ in line.key.tags}
    assert {"org", " org"} <= raw_keys  # the sample really spells one key two ways
    allocator = Allocator(example_rules())
    # `Cost department` (an Azure tag) is read as `cost-department`, one of the example's team keys.
    marketing = [line for line in lines if dict(line.key.tags).get("Cost department") == "Marketing"]
    assert marketing and {allocator.assign("team", line.key).label for line in marketing} == {"marketing"}


async def test_the_cli_stores_rules_and_shows_the_allocation(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(sqlite_url)
    await write_ledger(engine, [
        record("c1", "AmazonEC2", "2026-11-01T00:00", "2026-11-01T01:00", "4", tags={"department": "Sales"}),
        record("c2", "AmazonEC2", "2026-11-01T00:00", "2026-11-01T01:00", "1"),
    ])  # fmt: skip
    await engine.dispose()
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        stored = await asyncio.to_thread(runner.invoke, cli, ["allocation", "rules", "--set", str(EXAMPLE)])
        assert stored.exit_code == 0 and "stored version 1" in stored.output, stored.output
        shown = await asyncio.to_thread(runner.invoke, cli, ["allocation", "rules"])
        assert shown.exit_code == 0 and "# version 1" in shown.output and "central-it" in shown.output
        args = [
            "allocation",
            "show",
            "--by",
            "team",
            "--start",
            "2026-11-01",
            "--end",
            "2026-11-02",
            "--format",
            "json",
        ]
        report = await asyncio.to_thread(runner.invoke, cli, args)
        assert report.exit_code == 0, report.output
        (totals,) = json.loads(report.output)["totals"]
        assert {v["value"]: v["total"] for v in totals["values"]} == {
            "sales": "4.000000000",
            UNALLOCATED: "1.000000000",
        }
        table = await asyncio.to_thread(runner.invoke, cli, args[:-2])
        assert table.exit_code == 0 and "allocated share 80.0%" in table.output
        unknown = await asyncio.to_thread(runner.invoke, cli, ["allocation", "show", "--by", "product"])
        assert unknown.exit_code == 2 and "known: team" in unknown.output
        bad = Path(sqlite_url.split("///", 1)[1]).parent / "bad.yaml"
        bad.write_text("dimensions: {team: {resources: [{pattern: '(', value: x}]}}\n")
        refused = await asyncio.to_thread(runner.invoke, cli, ["allocation", "rules", "--set", str(bad)])
        assert refused.exit_code == 2 and "dimensions.team.resources.0.pattern" in refused.output
    finally:
        get_settings.cache_clear()
