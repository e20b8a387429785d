"""`make bench-iac`: Outlay's IaC estimates against a peer's goldens, component by component, and their speed.

Accuracy: every golden in `shared/data/iac_infracost` (4 Terraform plans, 27 per-resource Terraform tests with their
usage files) is estimated by Outlay from the same input, and each priced golden component is matched with
Outlay's component of the same resource and name (`bench/iac_goldens.py`): within 1% or not. Plan totals are
compared within 2%. Goal (issue 7): >= 95% of priced golden components within 1%, every plan total within 2%.

Speed: a plan of 2,000 resources (the sample plans' resources repeated under new addresses) read and estimated;
baseline: `json.loads` of the same plan in the same run (the least any tool reading it must do).

Last line: JSON with `components_total`, `components_within_1pct` (a fraction), `plans_within_2pct` (a fraction
of the four plan goldens), `resource_types_priced`, `seconds_2000_resources`, and the misses by golden.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.iac_goldens import Match, compare, read_goldens
from outlay.iac.estimate import estimate
from outlay.iac.report import Estimate
from outlay.iac.resources import InputError
from outlay.iac.rules import RULEBOOK
from outlay.iac.sources import read
from outlay.iac.usage import load_usage

SHARED = Path(os.environ.get("OUTLAY_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
IAC = SHARED / "iac_infracost"
TESTDATA = IAC / "cmd/infracost/testdata"
PER_RESOURCE = IAC / "internal/providers/terraform/aws/testdata"
PLANS = {  # golden -> (plan, usage file)
    "breakdown_terraform_v0_12": (TESTDATA / "terraform_v0.12_plan.json", None),
    "breakdown_terraform_v0_14": (TESTDATA / "terraform_v0.14_plan.json", None),
    "breakdown_with_target": (TESTDATA / "plan_with_target.json", None),
    "breakdown_terraform_plan_json": (TESTDATA / "example_plan.json", TESTDATA / "example_usage.yml"),
}
PLAN_TOLERANCE = Decimal("0.02")
LARGE_PLAN = 2000
console = Console()


def inputs() -> dict[str, tuple[Path, Path | None]]:
    found = dict(PLANS)
    for folder in sorted(p for p in PER_RESOURCE.iterdir() if p.is_dir()):
        usage = folder / f"{folder.name}.usage.yml"
        found[folder.name] = (folder, usage if usage.exists() else None)
    return found


def estimate_input(path: Path, usage: Path | None) -> Estimate:
    found = read(path, region="us-east-1")
    return estimate(found.resources, load_usage(usage), source=str(path), problems=found.problems)


def large_plan(count: int) -> dict[str, Any]:
    """The sample plans' managed resources repeated under new addresses until there are `count`."""
    template = json.loads((TESTDATA / "example_plan.json").read_text())
    samples = []
    for path, _ in PLANS.values():
        plan = json.loads(path.read_text())
        samples += [r for r in plan["planned_values"]["root_module"].get("resources", []) if r["mode"] == "managed"]
    resources = []
    for i in range(count):
        entry = copy.deepcopy(samples[i % len(samples)])
        entry["address"] = f"{entry['type']}.copy_{i}"
        entry["name"] = f"copy_{i}"
        resources.append(entry)
    template["planned_values"] = {"root_module": {"resources": resources}}
    template["resource_changes"] = []
    return template


def time_large_plan() -> tuple[float, float, int]:
    """(seconds to read and estimate, seconds to json.loads it, resources priced): medians of 5 runs."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        path.write_text(json.dumps(large_plan(LARGE_PLAN)))
        estimate_input(path, None)  # warm: the catalogue loads once per process
        ours, baseline = [], []
        priced = 0
        for _ in range(5):
            t0 = time.perf_counter()
            result = estimate_input(path, None)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            json.loads(path.read_text())
            baseline.append(time.perf_counter() - t0)
            priced = len(result.of_status("priced"))
    return statistics.median(ours), statistics.median(baseline), priced


def main() -> None:
    if not IAC.is_dir():
        raise SystemExit(f"shared data not found at {SHARED} (set OUTLAY_SHARED_DATA)")
    goldens, totals = read_goldens(SHARED)
    by_test: dict[str, list[Any]] = defaultdict(list)
    for golden in goldens:
        by_test[golden.test].append(golden)
    matches: list[Match] = []
    rows = []
    plan_totals: dict[str, tuple[Decimal, Decimal]] = {}
    failures: dict[str, str] = {}
    for test, (path, usage) in inputs().items():
        try:
            result = estimate_input(path, usage)
        except (InputError, ImportError) as exc:
            failures[test] = str(exc)
            result = Estimate([])
        found = compare(by_test.get(test, []), result)
        matches += found
        ours = result.monthly_cost
        if test in PLANS:
            plan_totals[test] = (ours, totals[test])
        rows.append((test, sum(m.within for m in found), len(found), ours, totals.get(test, Decimal(0))))
    seconds, baseline, priced = time_large_plan()

    table = Table("golden", "within 1%", "components", "Outlay total", "golden total",
                  title="bench-iac: Outlay vs the peer's goldens")  # fmt: skip
    for test, ok, n, ours, theirs in rows:
        table.add_row(test, str(ok), str(n), f"${ours:,.2f}", f"${theirs:,.2f}")
    console.print(table)
    missed = Counter(m.golden.test for m in matches if not m.within)
    for test, reason in failures.items():
        console.print(f"[red]{test}: not estimated: {reason}[/]")
    within_plans = [t for t, (ours, theirs) in plan_totals.items() if abs(ours - theirs) <= theirs * PLAN_TOLERANCE]
    figures = {
        "components_total": len(matches),
        "components_within_1pct": round(sum(m.within for m in matches) / max(1, len(matches)), 4),
        "plans_within_2pct": round(len(within_plans) / len(PLANS), 4),
        "plan_totals": {t: [str(ours.quantize(Decimal("0.01"))), str(theirs)] for t, (ours, theirs) in plan_totals.items()},
        "resource_types_priced": len(RULEBOOK.priced),
        "resource_types_free": len(RULEBOOK.free),
        "seconds_2000_resources": round(seconds, 4),
        "baseline_json_load_seconds": round(baseline, 4),
        "ratio_to_json_load": round(seconds / baseline, 2),
        "resources_priced_in_large_plan": priced,
        "misses_by_golden": dict(missed.most_common()),
        "not_estimated": failures,
    }  # fmt: skip
    console.print(
        f"{figures['components_within_1pct']:.1%} of {len(matches)} priced golden components within 1% "
        f"(goal >= 95%); plan totals within 2%: {len(within_plans)}/{len(PLANS)}; {LARGE_PLAN} resources in "
        f"{seconds * 1000:.0f} ms (json.loads alone {baseline * 1000:.0f} ms; goal < 1 s)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
