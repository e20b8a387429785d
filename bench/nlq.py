"""`make bench-nlq`: the offline parser on the phrasing set (tests/fixtures/ask/phrasings.yaml).

Prints accuracy per question shape, then one JSON line: `phrasings`, `accuracy` (the share whose structured query
equals the expected one exactly; for "cannot answer" cases, the share refused), per-shape figures, and
`allocated_share_before` / `allocated_share_after`: the share of cost the allocation engine assigns an owner on the
real samples before and after the documented example rules (`outlay.allocation.measure`; null, not zero, when the
shared datasets are absent: nothing was measured).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict

from rich.console import Console
from rich.table import Table

from outlay.allocation.measure import allocated_shares
from tests.fixtures.ask.phrasings import load, matches, run_case


def allocated_share_figures(console: Console) -> dict[str, float | None]:
    try:
        before, after = allocated_shares()
    except FileNotFoundError as exc:
        console.print(f"[yellow]allocation shares not measured[/]: {exc}")
        return {"allocated_share_before": None, "allocated_share_after": None}
    console.print(f"share of cost allocated on the samples: {before:.1%} before the example rules, {after:.1%} after")
    return {"allocated_share_before": round(before, 4), "allocated_share_after": round(after, 4)}


def main() -> None:
    phrasings = load()
    console = Console()
    per_shape: dict[str, list[bool]] = defaultdict(list)
    misses: list[str] = []
    started = time.perf_counter()
    for case in phrasings.cases:
        ok = matches(case, run_case(phrasings, case))
        per_shape[case.shape].append(ok)
        if not ok:
            misses.append(f"{case.shape}: {case.question}")
    seconds = time.perf_counter() - started
    table = Table(title="Offline parser: structured query equal to the expected one")
    for column in ("shape", "phrasings", "exact", "accuracy"):
        table.add_column(column, justify="left" if column == "shape" else "right")
    for shape, results in sorted(per_shape.items()):
        table.add_row(shape, str(len(results)), str(sum(results)), f"{sum(results) / len(results):.1%}")
    console.print(table)
    for miss in misses:
        console.print(f"[red]miss[/] {miss}")
    total = len(phrasings.cases)
    exact = sum(sum(r) for r in per_shape.values())
    console.print(f"{exact}/{total} exact; {seconds * 1000 / max(1, total):.2f} ms a question")
    figures = {
        "phrasings": total,
        "accuracy": round(exact / total, 4),
        "accuracy_by_shape": {shape: round(sum(r) / len(r), 4) for shape, r in sorted(per_shape.items())},
        "ms_per_question": round(seconds * 1000 / max(1, total), 3),
    }
    figures.update(allocated_share_figures(console))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
