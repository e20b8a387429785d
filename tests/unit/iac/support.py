"""Helpers for the IaC estimator's tests: resources written by hand, and an estimate compared with a golden."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bench.iac_goldens import Match, compare, read_goldens
from outlay.iac.estimate import estimate
from outlay.iac.report import Estimate
from outlay.iac.resources import Resource
from outlay.iac.usage import UsageFile, load_usage, parse_usage


def resource(address: str, attributes: Mapping[str, Any], region: str = "us-east-1") -> Resource:
    """A resource as a source would give it: `aws_instance.web` -> type aws_instance."""
    parts = re.sub(r"\[[^\]]*\]", "", address).split(".")  # (an index may hold dots: name["mysql-5.7"])
    modules = tuple(".".join(parts[: i + 2]) for i in range(0, len(parts) - 2, 2) if parts[i] == "module")
    return Resource(address, parts[-2], attributes, region, modules)


def usage_of(document: Mapping[str, Any] | Path | None) -> UsageFile:
    if document is None:
        return UsageFile()
    if isinstance(document, Path):
        return load_usage(document)
    return parse_usage(document)


def golden_matches(shared_data: Path, test: str, found: Estimate) -> list[Match]:
    """`found` compared with the golden components of `test` (the golden's folder name, e.g. `nat_gateway_test`)
    for the resources it priced."""
    goldens, _ = read_goldens(shared_data)
    addresses = {r.address for r in found.resources}
    return compare([g for g in goldens if g.test == test and g.resource in addresses], found)


def estimate_of(resources: Iterable[Resource], usage: Mapping[str, Any] | Path | None = None) -> Estimate:
    return estimate(list(resources), usage_of(usage))


def misses(matches: list[Match]) -> list[str]:
    """Readable lines for the golden components not matched within 1% (for assertion messages)."""
    return [f"{m.golden.resource} / {m.golden.component}: golden {m.golden.monthly_cost}, outlay {m.outlay_cost}"
            for m in matches if not m.within]  # fmt: skip
